"""How passage banding changes what a scan finds: related pairs per hash draw.

MinHash-LSH finds a pair by chance: which passages of two rewrites share a band key depends
on the hash functions drawn (``ScanConfig.seed``). This runs the scan of one folder of
articles under several passage bandings ``(bands, rows)`` and minimum shared keys
(``passage_min_hits``), each with ``--draws`` seeds, and
reports how many pairs it finds on average, the fewest, how often it finds all of those the
union of every run finds, candidates per run and passage band keys per article (what a
persistent index stores, see ``dedup.store``).

Usage::

    python benchmarks/banding.py fixtures/seeds [--draws 40] [--bandings 16x4/2,9x3/2,14x3/3]

The seed articles are real rewrites of one story (AFP and Al Jazeera lines) whose passages
keep little wording: the hard case for passage LSH. Recall on a labelled corpus is
``quality.py --set passage_num_perm=N`` (passage_num_perm = bands x rows gives that banding
as the optimum, or set passage_lsh=[bands,rows]).
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path
from typing import Any


def measure(folder: Path, bandings: list[tuple[int, int, int]], draws: int) -> list[dict[str, Any]]:
    """``bandings``: ``(bands, rows, min_hits)`` each."""
    from dedup import ScanConfig, scan_paths

    paths = sorted(p for p in folder.iterdir() if p.is_file())
    runs: dict[tuple[int, int, int], list[Any]] = {}
    for bands, rows, hits in bandings:
        runs[(bands, rows, hits)] = [
            scan_paths(paths, ScanConfig(seed=seed, passage_num_perm=bands * rows, passage_lsh=(bands, rows),
                                         passage_min_hits=hits))
            for seed in range(1, draws + 1)
        ]
    union = {(p.a, p.b) for results in runs.values() for r in results for p in r.pairs}
    out = []
    for (bands, rows, hits), results in runs.items():
        found = [len({(p.a, p.b) for p in r.pairs} & union) for r in results]
        out.append({
            "bands": bands, "rows": rows, "min_hits": hits, "pairs_known": len(union),
            "mean_pairs": round(statistics.mean(found), 3), "min_pairs": min(found),
            "all_found": sum(f == len(union) for f in found), "draws": draws,
            "mean_candidates": round(statistics.mean(r.stats["candidates"] for r in results), 1),
            "passage_keys_per_doc": round(statistics.mean(r.stats["passages"] for r in results) * bands / len(paths)),
        })
    return out


DEFAULT_BANDINGS = "16x4/2,8x4/2,8x3/2,9x3/2,10x3/2,11x3/3,12x3/3,13x3/3,14x3/3,16x3/3"


def parse_banding(text: str) -> tuple[int, int, int]:
    """``"14x3/3"`` -> ``(14, 3, 3)``; ``"14x3"`` -> ``(14, 3, 2)``."""
    shape, _, hits = text.strip().partition("/")
    bands, _, rows = shape.partition("x")
    return int(bands), int(rows), int(hits or 2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="folder of articles (text files)")
    parser.add_argument("--draws", type=int, default=40, help="hash seeds per banding (default 40)")
    parser.add_argument("--bandings", default=DEFAULT_BANDINGS,
                        help=f"BANDSxROWS/MIN_HITS, comma-separated (default {DEFAULT_BANDINGS})")
    args = parser.parse_args(argv)
    bandings = [parse_banding(b) for b in args.bandings.split(",") if b.strip()]
    rows = measure(args.folder, bandings, args.draws)
    print(f"{args.folder}: related pairs found per hash draw ({args.draws} draws)\n")
    print("| bands x rows | min hits | mean pairs | fewest | draws finding all | candidates | passage keys/article |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['bands']} x {r['rows']} | {r['min_hits']} | {r['mean_pairs']} of {r['pairs_known']} | "
              f"{r['min_pairs']} | {r['all_found']}/{r['draws']} | {r['mean_candidates']} | "
              f"{r['passage_keys_per_doc']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
