"""Queries of a syndication burst against the persistent index: a few stories stored in many
copies, as an agency dispatch republished by hundreds of sites reaches a crawler.

The first ``--background`` documents of DOCS are added (the stories among them), then
``--copies`` copies of each of the first ``--stories`` of them, each copy ending in its own
line (so that no two copies are the same text and each is verified: identical copies are
verified once per query), then the keys are merged. Then ten new copies of each story
(another last line) are queried, once per ``--candidates`` value (``default``: the index's
budget, ``max(4 x limit, max_bucket)``). Rates are store-only (the queried articles are
prepared beforehand, as in index_bench.py).

Usage::

    python benchmarks/burst_bench.py benchmarks/out/c20k/docs.jsonl [--copies 50] [--stories 3]
        [--background 2000] [--candidates default,10,4] [--set passage_lsh=[0,1]] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from output import emit  # noqa: E402
from overrides import add_set_option, parse_overrides  # noqa: E402


def _read(path: str, n: int) -> list[Any]:
    from dedup import Document

    docs = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if len(docs) >= n:
                break
            r = json.loads(line)
            docs.append(Document(r["id"], r["text"]))
    return docs


def measure(path: str, *, copies: int, stories: int, background: int, budgets: list[int | None],
            overrides: dict[str, Any], workdir: str, limit: int = 10) -> dict[str, Any]:
    from dedup import Document, ScanConfig
    from dedup.store import SyndicationIndex

    docs = _read(path, max(background, stories))
    if len(docs) < stories:
        raise SystemExit(f"{path} has {len(docs)} documents, fewer than --stories {stories}")
    told = docs[:stories]
    burst = [Document(f"{s.id}-copy{k}", f"{s.text}\n\nRepublished by site number {k} of the network.")
             for s in told for k in range(copies)]
    db = os.path.join(workdir, "burst.db")
    out: dict[str, Any] = {"copies": copies, "stories": stories, "background": len(docs), "limit": limit,
                           "config": overrides, "runs": []}
    with SyndicationIndex(db, ScanConfig.from_dict(overrides)) as index:
        start = time.perf_counter()
        index.add_many(docs + burst)
        index.merge()
        out["add_seconds"] = round(time.perf_counter() - start, 2)
        queries = [Document(f"q-{s.id}-{r}", f"{s.text}\n\nSeen on crawl {r}.") for s in told for r in range(10)]
        story_of = [s.id for s in told for _ in range(10)]
        entries = index._entries(queries)  # noqa: SLF001 - store-only rates: prepared beforehand
        for e in entries:  # untimed: the handle's caches (frequency log, recent keys) read once
            index._transaction(lambda c, e=e: index._lookup(c, e), write=False)  # noqa: SLF001
        for budget in budgets:
            start = time.perf_counter()
            found = [index._transaction(  # noqa: SLF001
                lambda c, e=e, b=budget: index._matches(c, e, limit=limit, align=False,  # noqa: SLF001
                                                        exclude=e.doc.id, candidates=b, verify="full"),
                write=False)
                for e in entries]
            seconds = time.perf_counter() - start
            copies_found = sum(m.id.startswith(f"{story}-copy") for story, ms in zip(story_of, found, strict=True)
                               for m in ms)
            out["runs"].append({"candidates": budget, "queries": len(entries), "seconds": round(seconds, 3),
                                "per_s": round(len(entries) / seconds, 1),
                                "matches": sum(map(len, found)), "copies_among_matches": copies_found})
    return out


def render(m: dict[str, Any]) -> str:
    total = m["background"] + m["stories"] * m["copies"]
    lines = [f"{m['stories']} stories, each stored as its original and {m['copies']} copies; {total:,} articles in "
             f"all ({m['machine']}, "
             f"{m['date']}, {', '.join(f'{k}={v}' for k, v in m['config'].items()) or 'default configuration'}; "
             f"adds and merge {m['add_seconds']} s)", "",
             "| candidates | queries | seconds | queries/s (store-only) | matches | of them burst copies |",
             "|---|---|---|---|---|---|"]
    for r in m["runs"]:
        budget = "default" if r["candidates"] is None else r["candidates"]
        lines.append(f"| {budget} | {r['queries']} | {r['seconds']} | {r['per_s']} | {r['matches']} | "
                     f"{r['copies_among_matches']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("docs", help="JSON Lines corpus with id and text (benchmarks/corpus.py output)")
    parser.add_argument("--copies", type=int, default=50, help="copies stored per story (default 50)")
    parser.add_argument("--stories", type=int, default=3, help="stories (default 3)")
    parser.add_argument("--background", type=int, default=2000, help="other articles stored (default 2000)")
    parser.add_argument("--candidates", default="default,10,4",
                        help="verification budgets to query with, comma-separated (default: default,10,4)")
    parser.add_argument("--json", dest="json_out", help="also write the measurement as JSON")
    add_set_option(parser, "the index")
    args = parser.parse_args(argv)
    from dedup.store import check_candidates

    budgets = [None if b.strip() == "default" else check_candidates(int(b)) for b in args.candidates.split(",")
               if b.strip()]
    with tempfile.TemporaryDirectory(prefix="burst-bench-") as workdir:
        m = measure(args.docs, copies=args.copies, stories=args.stories, background=args.background,
                    budgets=budgets, overrides=parse_overrides(args.overrides), workdir=workdir)
    m["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    m["date"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return emit(m, render(m), args.json_out)


if __name__ == "__main__":
    raise SystemExit(main())
