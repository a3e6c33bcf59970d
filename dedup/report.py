"""Render scan results: a readable table, JSON or JSON Lines.

The JSON shape is a contract other tools read: ``documents``, ``pairs`` (``a``, ``b``,
``relation``, ``scores``), ``clusters`` (``id``, ``members``) and ``skipped`` (``path``,
``reason``) keep their names; fields may be added.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from tabulate import tabulate

from dedup.scan import ScanResult

if TYPE_CHECKING:
    from dedup.align import Alignment
    from dedup.attribute import Attribution

Alignments = Mapping[tuple[str, str], "Alignment"]

FORMATS = ("table", "json", "jsonl")


def _snip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _result_dict(result: ScanResult, alignments: Alignments | None,
                 attribution: Attribution | None = None) -> dict[str, Any]:
    data = result.to_dict()
    if attribution is not None:
        for doc in data["documents"]:
            doc["attribution"] = attribution.document_dict(doc["id"])
        for pair in data["pairs"]:
            pair.update(attribution.pair_dict(pair["a"], pair["b"]))
        data["families"] = [tree.to_dict() for tree in attribution.trees]
    if alignments:
        from dedup.align import alignment_summary

        for pair in data["pairs"]:
            al = alignments.get((pair["a"], pair["b"]))
            if al is not None:
                pair["alignment"] = alignment_summary(al)
    return data


def render_table(result: ScanResult, *, width: int = 60, alignments: Alignments | None = None,
                 attribution: Attribution | None = None) -> str:
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
    if attribution is not None and attribution.trees:
        from dedup.attribute import render_tree

        out += ["", "Who copied whom", render_tree(attribution, result)]
    if alignments:
        align_rows = [
            [al.derived_id, al.source_id, al.verdict]
            + [f"{al.coverage.get(k, 0.0):.2f}" for k in ("copied", "edited", "paraphrased", "added")]
            for al in alignments.values()
        ]
        headers = ["derived", "source", "verdict", "copied", "edited", "paraphrased", "added"]
        out += ["", "Alignments", tabulate(align_rows, headers=headers, tablefmt="simple")]
    if result.skipped:
        rows = [[s.path, s.reason] for s in result.skipped]
        out += ["", "Skipped", tabulate(rows, headers=["path", "reason"], tablefmt="simple")]
    return "\n".join(out) + "\n"


def render_json(result: ScanResult, *, alignments: Alignments | None = None,
                attribution: Attribution | None = None) -> str:
    return json.dumps(_result_dict(result, alignments, attribution), ensure_ascii=False, indent=2) + "\n"


def iter_jsonl(result: ScanResult, *, alignments: Alignments | None = None,
               attribution: Attribution | None = None) -> Iterator[dict[str, Any]]:
    """One record per line, each tagged with ``type``: document, pair, cluster, family, skipped, stats."""
    data = _result_dict(result, alignments, attribution)
    for key, kind in (("documents", "document"), ("pairs", "pair"), ("clusters", "cluster"),
                      ("families", "family"), ("skipped", "skipped")):
        for item in data.get(key, ()):
            yield {"type": kind, **item}
    yield {"type": "stats", **data["stats"]}


def render_jsonl(result: ScanResult, *, alignments: Alignments | None = None,
                 attribution: Attribution | None = None) -> str:
    records = iter_jsonl(result, alignments=alignments, attribution=attribution)
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def render(result: ScanResult, fmt: str, *, alignments: Alignments | None = None,
           attribution: Attribution | None = None) -> str:
    """The report in ``fmt`` ("table", "json" or "jsonl"), with pair alignments and
    attribution (credits, families, direction) when given."""
    if fmt == "json":
        return render_json(result, alignments=alignments, attribution=attribution)
    if fmt == "jsonl":
        return render_jsonl(result, alignments=alignments, attribution=attribution)
    return render_table(result, alignments=alignments, attribution=attribution)
