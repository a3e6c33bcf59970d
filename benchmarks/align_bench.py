"""Passage alignment speed: aligned article pairs per second, per kind of derivative, on one core.

Takes a corpus from ``corpus.py`` (``docs.jsonl`` and ``truth.json`` in one folder; generated
there when missing) and aligns ``--pairs`` source -> derived pairs of each truth kind
(``reprint``, ``trimmed``, ``light_edit``, ``heavy_rewrite``, ``partial``, ``same_topic``)
plus as many random pairs of unrelated filler documents. Three timings per kind:

- ``align``: :func:`dedup.align.align_prepared` on documents prepared beforehand, with one IDF
  table built from every document of the sample (what ``dedup scan --align`` does: each
  document is prepared once, whatever its number of pairs);
- ``end to end``: :func:`dedup.align.align` on the two raw documents (cleaning, splitting,
  stemming both, an IDF table from the pair, alignment), one stem cache shared by all pairs;
- ``cold``: the same with a fresh stem cache per pair, as one ``dedup compare`` run does.

The process is pinned to one CPU and BLAS to one thread (RapidFuzz ``cdist`` is called with
``workers=1`` by :mod:`dedup.align`). Each timing is the best of ``--repeat`` runs (the
machine may be shared). The verdicts of the ``align`` run are counted per kind, next to the
verdict the kind should get, as a sanity check of quality.

Usage::

    python benchmarks/align_bench.py benchmarks/out/c20k [--pairs 200] [--repeat 3] [--json out.json]
"""

from __future__ import annotations

import os

# one core: BLAS must not start threads of its own (set before numpy is imported)
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from output import emit  # noqa: E402

#: truth kinds, then random pairs of unrelated filler documents
KINDS = ("reprint", "trimmed", "light_edit", "heavy_rewrite", "partial", "same_topic", "unrelated")
#: the verdict each kind should get
EXPECTED = {
    "reprint": "verbatim",
    "trimmed": "verbatim",
    "light_edit": "light_edit",
    "heavy_rewrite": "rewrite",
    "partial": "partial",
    "same_topic": "unrelated",
    "unrelated": "unrelated",
}
VERDICTS = ("verbatim", "light_edit", "rewrite", "partial", "unrelated")


def ensure_corpus(folder: Path, docs: int, seed: int) -> None:
    """Generate a corpus into ``folder`` with corpus.py unless it holds one already."""
    if (folder / "docs.jsonl").exists() and (folder / "truth.json").exists():
        return
    sys.path.insert(0, str(HERE))
    import corpus

    print(f"no corpus in {folder}: generating {docs} documents (seed {seed})", file=sys.stderr)
    corpus.generate(corpus.CorpusConfig(docs=docs, seed=seed), folder)


def choose_pairs(truth: dict[str, Any], per_kind: int, seed: int) -> dict[str, list[tuple[str, str]]]:
    """Up to ``per_kind`` ``(source, derived)`` pairs of each kind, sampled with ``seed``."""
    rng = random.Random(seed)
    by_kind: dict[str, list[tuple[str, str]]] = {k: [] for k in KINDS}
    for p in truth["pairs"]:
        if p["kind"] in by_kind:
            by_kind[p["kind"]].append((p["a"], p["b"]))
    out = {k: rng.sample(v, min(per_kind, len(v))) for k, v in by_kind.items() if k != "unrelated"}
    filler = sorted(d["id"] for d in truth["documents"] if d.get("role") == "unrelated")
    unrelated: list[tuple[str, str]] = []
    if len(filler) >= 2:
        unrelated = [(a, b) for a, b in (rng.sample(filler, 2) for _ in range(per_kind))]
    out["unrelated"] = unrelated
    return {k: v for k, v in out.items() if v}


def read_docs(path: Path, wanted: set[str]) -> dict[str, Any]:
    from dedup.types import Document

    out = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            r = json.loads(line)
            if r["id"] in wanted:
                out[r["id"]] = Document(r["id"], r["text"], title=r.get("title"), date=r.get("date"),
                                        source=r.get("source"))
                if len(out) == len(wanted):
                    break
    return out


def _best_time(run: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def measure(folder: Path, *, per_kind: int, repeat: int, seed: int, cold: bool = True) -> dict[str, Any]:
    from dedup.align import align, align_prepared
    from dedup.normalize import TextProcessor
    from dedup.prepare import prepare
    from dedup.verify import IdfTable

    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    pairs = choose_pairs(truth, per_kind, seed)
    wanted = {x for ps in pairs.values() for pair in ps for x in pair}
    docs = read_docs(folder / "docs.jsonl", wanted)

    processor = TextProcessor()
    start = time.perf_counter()
    prepared = {doc_id: prepare(doc, processor) for doc_id, doc in docs.items()}
    prepare_seconds = time.perf_counter() - start  # stem cache cold at first, as for a new corpus
    idf = IdfTable.from_documents(prepared.values())

    kinds: dict[str, dict[str, Any]] = {}
    for kind, ps in pairs.items():
        words = [len(docs[x].text.split()) for pair in ps for x in pair]

        def aligned(ps: Sequence[tuple[str, str]] = ps) -> list[str]:
            return [align_prepared(prepared[a], prepared[b], idf=idf).verdict for a, b in ps]

        def end_to_end(ps: Sequence[tuple[str, str]] = ps) -> list[str]:
            return [align(docs[a], docs[b], processor=processor).verdict for a, b in ps]

        def one_shot(ps: Sequence[tuple[str, str]] = ps) -> list[str]:
            return [align(docs[a], docs[b]).verdict for a, b in ps]

        t_align, verdicts = _best_time(aligned, repeat)
        t_e2e, _ = _best_time(end_to_end, repeat)
        row: dict[str, Any] = {
            "pairs": len(ps),
            "mean_words": round(sum(words) / len(words), 1),
            "align_seconds": round(t_align, 4),
            "align_pairs_per_s": round(len(ps) / t_align, 1),
            "end_to_end_seconds": round(t_e2e, 4),
            "end_to_end_pairs_per_s": round(len(ps) / t_e2e, 1),
        }
        if cold:
            t_cold, _ = _best_time(one_shot, repeat)
            row["cold_seconds"] = round(t_cold, 4)
            row["cold_pairs_per_s"] = round(len(ps) / t_cold, 1)
        found = Counter(verdicts)
        row["verdicts"] = {v: found[v] for v in VERDICTS if found[v]}
        row["expected"] = EXPECTED[kind]
        row["as_expected"] = round(found[EXPECTED[kind]] / len(ps), 3)
        kinds[kind] = row

    n = sum(r["pairs"] for r in kinds.values())
    overall: dict[str, Any] = {"pairs": n}
    for mode in ("align", "end_to_end", "cold"):
        seconds = sum(r.get(f"{mode}_seconds", 0.0) for r in kinds.values())
        if seconds:
            overall[f"{mode}_pairs_per_s"] = round(n / seconds, 1)
    all_words = [len(docs[x].text.split()) for ps in pairs.values() for pair in ps for x in pair]
    overall["mean_words"] = round(sum(all_words) / len(all_words), 1)
    return {
        "corpus": str(folder),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "cpus_used": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "repeat": repeat,
        "seed": seed,
        "documents": len(docs),
        "prepare_ms_per_doc": round(1000 * prepare_seconds / max(1, len(docs)), 2),
        "kinds": kinds,
        "overall": overall,
    }


def render(m: dict[str, Any]) -> str:
    cold = "cold_pairs_per_s" in m["overall"]
    head = "| kind | pairs | words/article | align pairs/s | end-to-end pairs/s |"
    head += " cold pairs/s |" if cold else ""
    head += " verdicts | expected | as expected |"
    lines = [
        f"corpus {m['corpus']} ({m['machine']}, CPUs used {m['cpus_used']}, {m['date']}, "
        f"best of {m['repeat']})",
        "",
        head,
        "|" + "---|" * (head.count("|") - 1),
    ]
    for kind, r in m["kinds"].items():
        verdicts = ", ".join(f"{v} {c}" for v, c in r["verdicts"].items())
        row = (f"| {kind} | {r['pairs']} | {r['mean_words']} | {r['align_pairs_per_s']} | "
               f"{r['end_to_end_pairs_per_s']} |")
        row += f" {r['cold_pairs_per_s']} |" if cold else ""
        row += f" {verdicts} | {r['expected']} | {r['as_expected']:.1%} |"
        lines.append(row)
    o = m["overall"]
    row = f"| **all** | {o['pairs']} | {o['mean_words']} | {o['align_pairs_per_s']} | {o['end_to_end_pairs_per_s']} |"
    row += f" {o['cold_pairs_per_s']} |" if cold else ""
    lines.append(row + " | | |")
    lines += ["", f"prepare: {m['prepare_ms_per_doc']} ms per document ({m['documents']} documents, "
              "stem cache shared)"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", nargs="?", default=str(HERE / "out" / "c20k"),
                        help="folder with docs.jsonl and truth.json (default benchmarks/out/c20k)")
    parser.add_argument("--pairs", type=int, default=200, help="pairs per kind (default 200)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing, the best is kept (default 3)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the pair sample (default 1)")
    parser.add_argument("--no-cold", action="store_true", help="skip the fresh-stem-cache timing")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the process to one CPU")
    parser.add_argument("--generate-docs", type=int, default=20000,
                        help="documents to generate if the corpus folder is empty (default 20000)")
    parser.add_argument("--json", dest="json_out", help="also write the measurement as JSON")
    args = parser.parse_args(argv)
    if args.pairs < 1 or args.repeat < 1:
        parser.error("--pairs and --repeat must be at least 1")
    folder = Path(args.corpus)
    ensure_corpus(folder, args.generate_docs, args.seed)
    pinned = None
    if not args.no_pin and hasattr(os, "sched_setaffinity"):
        pinned = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {min(pinned)})
    try:
        m = measure(folder, per_kind=args.pairs, repeat=args.repeat, seed=args.seed, cold=not args.no_cold)
    finally:
        if pinned is not None:
            os.sched_setaffinity(0, pinned)
    return emit(m, render(m), args.json_out)


if __name__ == "__main__":
    raise SystemExit(main())
