"""The plain datasketch pipeline, as web-scale dedup does it: the reference to beat.

Lowercased words, word 5-gram shingles, ``datasketch.MinHash(num_perm=128)`` updated one
shingle at a time (deliberately the plain, slow way), ``datasketch.MinHashLSH`` at a Jaccard
threshold, every document queried for candidates, candidates kept as duplicate pairs without
verification, clusters by union-find.

Usage::

    python benchmarks/baseline.py benchmarks/out/c20k/docs.jsonl --threshold 0.5 \\
        --out benchmarks/out/c20k/baseline-0.5.json [--limit N]

Output follows the ``dedup scan`` JSON contract::

    {"documents": [{"id"}], "pairs": [{"a", "b", "relation": "duplicate", "scores": {...}}],
     "clusters": [{"id", "members"}], "skipped": [],
     "stats": {"docs", "seconds", "docs_per_s", "peak_rss_mb", ...}}

``scores`` holds ``minhash_jaccard``, the MinHash estimate for the pair (not used to filter).
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import sys
import time
from collections.abc import Iterable, Sequence
from typing import Any

from datasketch import MinHash, MinHashLSH

SHINGLE_WORDS = 5
_WORD_RE = re.compile(r"\w+")


def shingles(text: str, size: int = SHINGLE_WORDS) -> set[str]:
    """Word ``size``-grams of the lowercased text; a shorter text is one shingle."""
    words = _WORD_RE.findall(text.lower())
    if len(words) <= size:
        return {" ".join(words)}
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        parent = self.parent
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while x != root:
            parent[x], x = root, parent.get(x, x)
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            # The smaller id becomes the root, so cluster roots do not depend on pair order.
            if rb < ra:
                ra, rb = rb, ra
            self.parent[rb] = ra


def run_baseline(
    texts: Sequence[tuple[str, str]], threshold: float, num_perm: int = 128
) -> dict[str, Any]:
    """MinHash-LSH over ``(id, text)`` pairs; return the scan-contract result dict.

    >>> result = run_baseline([("a", "one two three four five six"),
    ...                        ("b", "one two three four five six")], threshold=0.5)
    >>> [(p["a"], p["b"]) for p in result["pairs"]]
    [('a', 'b')]
    """
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be in [0.0, 1.0], got {threshold}")
    ids = [doc_id for doc_id, _ in texts]
    if len(set(ids)) != len(ids):
        raise ValueError("document ids must be unique")
    started = time.perf_counter()
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    signatures: dict[str, MinHash] = {}
    for doc_id, text in texts:
        m = MinHash(num_perm=num_perm)
        for shingle in shingles(text):
            m.update(shingle.encode("utf-8"))
        signatures[doc_id] = m
        lsh.insert(doc_id, m)
    sign_seconds = time.perf_counter() - started

    found: set[tuple[str, str]] = set()
    for doc_id, m in signatures.items():
        for other in lsh.query(m):
            if other != doc_id:
                found.add((doc_id, other) if doc_id < other else (other, doc_id))
    pairs = [
        {"a": a, "b": b, "relation": "duplicate",
         "scores": {"minhash_jaccard": round(float(signatures[a].jaccard(signatures[b])), 4)}}
        for a, b in sorted(found)
    ]

    uf = _UnionFind()
    for a, b in found:
        uf.union(a, b)
    groups: dict[str, list[str]] = {}
    for doc_id in ids:
        groups.setdefault(uf.find(doc_id), []).append(doc_id)
    members = sorted((sorted(g) for g in groups.values() if len(g) > 1), key=lambda g: g[0])
    clusters = [{"id": f"c{i}", "members": g} for i, g in enumerate(members)]

    seconds = time.perf_counter() - started
    return {
        "documents": [{"id": doc_id} for doc_id in ids],
        "pairs": pairs,
        "clusters": clusters,
        "skipped": [],
        "stats": {
            "docs": len(ids),
            "seconds": round(seconds, 3),
            "docs_per_s": round(len(ids) / seconds, 1) if seconds > 0 else 0.0,
            "peak_rss_mb": round(_peak_rss_mb(), 1),
            "sign_seconds": round(sign_seconds, 3),
            "threshold": threshold,
            "num_perm": num_perm,
            "pairs": len(pairs),
            "clusters": len(clusters),
        },
    }


def read_jsonl(path: str, limit: int | None = None) -> list[tuple[str, str]]:
    """``(id, text)`` for the first ``limit`` records of a JSON Lines file."""
    out: list[tuple[str, str]] = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if limit is not None and len(out) >= limit:
                break
            if line.strip():
                record = json.loads(line)
                out.append((str(record["id"]), record["text"]))
    return out


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Plain datasketch MinHash-LSH near-duplicate baseline.",
        epilog="example: python benchmarks/baseline.py benchmarks/out/c20k/docs.jsonl "
        "--threshold 0.5 --out pred.json",
    )
    parser.add_argument("docs", help="JSON Lines file with id and text per record")
    parser.add_argument("--threshold", type=float, default=0.5, help="LSH Jaccard threshold")
    parser.add_argument("--num-perm", type=int, default=128)
    parser.add_argument("--out", required=True, help="where to write the result JSON")
    parser.add_argument("--limit", type=int, default=None, help="read only the first N docs")
    args = parser.parse_args(list(argv) if argv is not None else None)
    texts = read_jsonl(args.docs, args.limit)
    try:
        result = run_baseline(texts, args.threshold, args.num_perm)
    except ValueError as exc:
        parser.error(str(exc))
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(result, fh, ensure_ascii=False)
        fh.write("\n")
    print(json.dumps(result["stats"]), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
