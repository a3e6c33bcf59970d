"""Render scan results: a readable table, JSON or JSON Lines.

The JSON shape is a contract other tools read: ``documents``, ``pairs`` (``a``, ``b``,
``relation``, ``scores``), ``clusters`` (``id``, ``members``) and ``skipped`` (``path``,
``reason``) keep their names; fields may be added.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from tabulate import tabulate

from dedup.scan import ScanResult

FORMATS = ("table", "json", "jsonl")


def _snip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def render_table(result: ScanResult, *, width: int = 60) -> str:
    """Clusters, then related pairs with relation, scores and reason, then skipped inputs."""
    out: list[str] = []
    docs = len(result.documents)
    out.append(
        f"{docs} document(s), {len(result.pairs)} related pair(s), {len(result.clusters)} cluster(s)"
        + (f", {len(result.skipped)} skipped" if result.skipped else "")
    )
    if result.clusters:
        rows = [[c.id, len(c.members), "\n".join(c.members)] for c in result.clusters]
        out += ["", "Clusters", tabulate(rows, headers=["cluster", "size", "members"], tablefmt="simple")]
    if result.pairs:
        rows = [
            [
                p.a,
                p.b,
                p.relation,
                f"{p.scores.get('matched_sentences', 0):.0f}",
                f"{max(p.scores.get('coverage_a', 0), p.scores.get('coverage_b', 0)):.2f}",
                f"{p.scores.get('jaccard', 0):.2f}",
                _snip(p.reason, width),
            ]
            for p in result.pairs
        ]
        headers = ["a", "b", "relation", "matches", "coverage", "jaccard", "why"]
        out += ["", "Related pairs", tabulate(rows, headers=headers, tablefmt="simple")]
    if result.skipped:
        rows = [[s.path, s.reason] for s in result.skipped]
        out += ["", "Skipped", tabulate(rows, headers=["path", "reason"], tablefmt="simple")]
    return "\n".join(out) + "\n"


def render_json(result: ScanResult) -> str:
    return json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n"


def iter_jsonl(result: ScanResult) -> Iterator[dict[str, Any]]:
    """One record per line, each tagged with ``type``: document, pair, cluster, skipped, stats."""
    data = result.to_dict()
    for key, kind in (("documents", "document"), ("pairs", "pair"), ("clusters", "cluster"),
                      ("skipped", "skipped")):
        for item in data[key]:
            yield {"type": kind, **item}
    yield {"type": "stats", **data["stats"]}


def render_jsonl(result: ScanResult) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in iter_jsonl(result))


def render(result: ScanResult, fmt: str) -> str:
    if fmt == "json":
        return render_json(result)
    if fmt == "jsonl":
        return render_jsonl(result)
    return render_table(result)
