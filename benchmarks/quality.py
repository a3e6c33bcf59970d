"""Quality of ``dedup scan`` against a labelled corpus, next to the plain datasketch pipeline.

Runs dedup (library call, same defaults as the CLI) and the datasketch baseline at Jaccard
thresholds 0.5 and 0.8 on the same documents, then scores all three with evaluate.py: pair
precision, recall per kind, false pairs on same-topic negatives and unrelated documents,
adjusted Rand index of the clusters.

Usage::

    python benchmarks/quality.py benchmarks/out/c20k [--limit N] [--jobs N] [--json scores.json] \
        [--set passage_lsh=[6,4] ...]

``--set FIELD=VALUE`` changes one :class:`dedup.ScanConfig` field (VALUE in JSON).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from baseline import run_baseline  # noqa: E402
from evaluate import evaluate, load_truth, render_tables  # noqa: E402
from output import emit  # noqa: E402
from overrides import add_set_option, parse_overrides  # noqa: E402


def _records(folder: Path, limit: int | None) -> list[dict[str, Any]]:
    out = []
    with open(folder / "docs.jsonl", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                out.append(json.loads(line))
                if limit is not None and len(out) >= limit:
                    break
    return out


def run_dedup(records: list[dict[str, Any]], jobs: int = 1, overrides: dict[str, Any] | None = None
              ) -> dict[str, Any]:
    from dedup import Document, ScanConfig, scan_documents

    docs = [Document(r["id"], r["text"], title=r.get("title"), date=r.get("date"), source=r.get("source"))
            for r in records]
    start = time.perf_counter()
    config = ScanConfig.from_dict(overrides or {})
    result = scan_documents(docs, config, jobs=jobs).to_dict()
    seconds = time.perf_counter() - start
    result["stats"]["docs_per_s"] = round(len(docs) / seconds, 1)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path, help="folder with docs.jsonl and truth.json (corpus.py output)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N documents")
    parser.add_argument("--jobs", type=int, default=1, help="dedup worker processes (default 1)")
    parser.add_argument("--no-baseline", action="store_true", help="score dedup only")
    parser.add_argument("--json", dest="json_out", help="also write the scores as JSON")
    parser.add_argument("--pairs-out", help="also write dedup's scan result (JSON) here")
    add_set_option(parser)
    args = parser.parse_args(argv)
    overrides = parse_overrides(args.overrides)
    truth = load_truth(str(args.corpus))
    records = _records(args.corpus, args.limit)
    runs = [("dedup", run_dedup(records, args.jobs, overrides))]
    if not args.no_baseline:
        texts = [(r["id"], r["text"]) for r in records]
        for threshold in (0.5, 0.8):
            runs.append((f"datasketch t={threshold}", run_baseline(texts, threshold=threshold)))
    texts_by_id = {r["id"]: r["text"] for r in records}
    scored = [(name, evaluate(truth, pred, texts_by_id)) for name, pred in runs]
    if args.pairs_out:
        Path(args.pairs_out).write_text(json.dumps(runs[0][1]) + "\n", encoding="utf-8")
    return emit(dict(scored), render_tables(scored), args.json_out)


if __name__ == "__main__":
    raise SystemExit(main())
