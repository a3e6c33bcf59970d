"""Score predicted duplicate pairs and clusters against a generated corpus's truth.

Usage::

    python benchmarks/evaluate.py --truth benchmarks/out/c20k/truth.json \\
        --pred baseline-0.5.json --name "datasketch 0.5" \\
        --pred baseline-0.8.json --name "datasketch 0.8" [--json scores.json] \\
        [--docs benchmarks/out/c20k/docs.jsonl]

``--truth`` is the ``truth.json`` written by ``corpus.py`` (or its folder). ``--pred`` is a
result in the ``dedup scan`` contract: ``pairs`` of ``{"a", "b"}`` and ``clusters`` of
``{"id", "members"}`` (clusters are derived from the pairs if missing).

Metrics:

- pair precision: share of predicted pairs whose two documents are in the same truth cluster
  (a truth cluster is a source and its derivatives, ``same_topic`` negatives excluded);
- recall per kind: share of truth ``source -> derived`` pairs found directly (as a predicted
  pair) and through the clusters (both documents in one predicted cluster);
- ``same_topic`` negatives flagged (directly or through clusters), and false pairs split into
  those touching a ``same_topic`` negative, those between two unrelated filler documents, and
  the rest;
- cluster pair precision/recall and the adjusted Rand index of the predicted clustering against
  the truth clustering over all documents, singletons included;
- with ``--docs DOCS.jsonl``: how many false pairs share 2+ identical sentences (split and
  normalized as ``corpus.sentence_keys`` does), and how many share at least one
  *near-identical* sentence (digit-masked word 4-grams overlapping by at least half of the
  shorter sentence's, ``corpus.near_identical``), i.e. whether a "false" pair is really reuse
  that the truth does not record (a generator artefact) rather than a tool error. The
  generator keeps both near zero by construction.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tabulate import tabulate

NEGATIVE_KIND = "same_topic"
SHARED_SENTENCES = 2  # a false pair sharing this many identical sentences is reported apart


def _pairs2(n: int) -> int:
    return n * (n - 1) // 2


def adjusted_rand_index(
    truth_clusters: Iterable[Iterable[str]], pred_clusters: Iterable[Iterable[str]], n: int
) -> float:
    """Adjusted Rand index of two clusterings of ``n`` items by the pair-counting formula.

    Each argument lists the non-singleton clusters; every item not listed is a singleton.
    ``ARI = (sum_ij C(n_ij,2) - E) / (0.5 (sum_i C(a_i,2) + sum_j C(b_j,2)) - E)`` with
    ``E = sum_i C(a_i,2) * sum_j C(b_j,2) / C(n,2)``.

    >>> adjusted_rand_index([["a", "b"], ["c", "d"]], [["a", "b"]], 4)
    0.5714285714285714
    """
    label: dict[str, int] = {}
    sum_a = 0
    for i, cluster in enumerate(truth_clusters):
        members = list(cluster)
        sum_a += _pairs2(len(members))
        for item in members:
            label[item] = i
    sum_b = 0
    cells: Counter[tuple[int, int]] = Counter()
    for j, cluster in enumerate(pred_clusters):
        members = list(cluster)
        sum_b += _pairs2(len(members))
        for item in members:
            if item in label:
                cells[label[item], j] += 1
    index = sum(_pairs2(c) for c in cells.values())
    total = _pairs2(n)
    # The formula times 2 * C(n,2): all integers, so the one division rounds once.
    numerator = 2 * (index * total - sum_a * sum_b)
    denominator = (sum_a + sum_b) * total - 2 * sum_a * sum_b
    if denominator == 0:  # both all-singletons, or both one cluster of everything
        return 1.0
    return numerator / denominator


def _clusters_from_pairs(pairs: Iterable[tuple[str, str]]) -> list[list[str]]:
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[str, list[str]] = {}
    for x in list(parent):
        groups.setdefault(find(x), []).append(x)
    return [sorted(g) for g in groups.values() if len(g) > 1]


def load_truth(path: str) -> dict[str, Any]:
    """Read ``truth.json`` (or the ``truth.json`` inside a folder)."""
    if os.path.isdir(path):
        path = os.path.join(path, "truth.json")
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _corpus_module() -> Any:
    """``benchmarks/corpus.py``, imported on demand (it lives next to this file)."""
    here = os.path.dirname(os.path.abspath(__file__))
    if here not in sys.path:
        sys.path.insert(0, here)
    return importlib.import_module("corpus")


def _texts(
    wanted: set[str], docs: str | os.PathLike[str] | Mapping[str, str]
) -> dict[str, str]:
    if isinstance(docs, Mapping):
        return {doc: docs[doc] for doc in wanted & set(docs)}
    texts: dict[str, str] = {}
    with open(docs, encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            record = json.loads(line)
            if record["id"] in wanted:
                texts[record["id"]] = record["text"]
    return texts


def shared_sentence_counts(
    pairs: Iterable[tuple[str, str]], docs: str | os.PathLike[str] | Mapping[str, str]
) -> dict[tuple[str, str], int]:
    """Number of identical sentences each pair's two documents share.

    ``docs`` is a ``docs.jsonl`` path (read once, keeping only the documents the pairs name) or
    a mapping from id to text.
    """
    return {pair: shared for pair, (shared, _) in sentence_sharing(pairs, docs).items()}


def sentence_sharing(
    pairs: Iterable[tuple[str, str]], docs: str | os.PathLike[str] | Mapping[str, str]
) -> dict[tuple[str, str], tuple[int, int]]:
    """``(identical, near_identical)`` sentences each pair's two documents share.

    ``identical`` counts sentences with the same ``corpus.sentence_keys`` key;
    ``near_identical`` counts the sentences of the first document that have a near-identical
    counterpart (``corpus.near_identical`` on digit-masked word 4-grams, identical ones
    included) in the second.
    """
    corpus = _corpus_module()
    pairs = list(pairs)
    texts = _texts({d for pair in pairs for d in pair}, docs)
    keys: dict[str, set[str]] = {}
    grams: dict[str, list[set[str]]] = {}
    for doc, text in texts.items():
        sentences = corpus.document_sentences(text)
        keys[doc] = {corpus._norm_key(s) for s in sentences}
        grams[doc] = [g for g in (corpus.masked_ngrams(s, 4) for s in sentences) if g]
    out: dict[tuple[str, str], tuple[int, int]] = {}
    for a, b in pairs:
        identical = len(keys.get(a, set()) & keys.get(b, set()))
        theirs = grams.get(b, [])
        index: dict[str, list[int]] = {}
        for j, g in enumerate(theirs):
            for gram in g:
                index.setdefault(gram, []).append(j)
        near = 0
        for g in grams.get(a, []):
            candidates = {j for gram in g for j in index.get(gram, ())}
            near += any(corpus.near_identical(g, theirs[j]) for j in candidates)
        out[a, b] = (identical, near)
    return out


LONG_RUN = 10  # words: a verbatim run this long shared by two articles is reused text


def _word_runs(text: str, n: int = LONG_RUN) -> set[int]:
    words = re.findall(r"\w+", text.lower())
    return {hash(tuple(words[i : i + n])) for i in range(len(words) - n + 1)}


def run_sharing(
    pairs: Iterable[tuple[str, str]], docs: str | os.PathLike[str] | Mapping[str, str]
) -> dict[tuple[str, str], bool]:
    """Whether each pair's two documents share a verbatim run of ``LONG_RUN`` words or more
    (punctuation and case ignored): text reused across clusters, e.g. the same half of two
    spliced sentences, whatever the generator's sentence keys say."""
    pairs = list(pairs)
    texts = _texts({d for pair in pairs for d in pair}, docs)
    runs = {doc: _word_runs(text) for doc, text in texts.items()}
    return {(a, b): bool(runs.get(a, set()) & runs.get(b, set())) for a, b in pairs}


def _ratio(num: int, den: int, empty: float = 1.0) -> float:
    return num / den if den else empty


def evaluate(
    truth: dict[str, Any],
    pred: dict[str, Any],
    docs: str | os.PathLike[str] | Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Score a scan result ``pred`` against a corpus ``truth``; every rate is in [0, 1].

    With ``docs`` (a ``docs.jsonl`` path or id -> text), ``false_pairs_sharing_sentences``
    counts the false pairs, by category, whose documents share 2+ identical sentences,
    ``false_pairs_sharing_near_identical`` those sharing at least one near-identical sentence,
    ``false_pairs_sharing_long_run`` those sharing a verbatim run of ``LONG_RUN`` words
    (generator artefacts rather than tool errors); else all three are ``None``.

    The documents scored are those of the truth that ``pred["documents"]`` lists (all of the
    truth's if ``pred`` has no ``documents``), so a run over the first N documents
    (``baseline.py --limit N``) is scored on those N; pairs and clusters are restricted to them.
    """
    truth_pairs = truth.get("pairs", [])
    if "documents" in truth:
        roles = {d["id"]: d.get("role", "unrelated") for d in truth["documents"]}
    else:
        roles = {d["id"]: "unrelated" for d in pred.get("documents", [])}
        for p in truth_pairs:
            roles.setdefault(p["a"], "source")
            roles.setdefault(p["b"], p["kind"])
    if pred.get("documents"):
        scored = {d["id"] for d in pred["documents"]}
        roles = {doc: role for doc, role in roles.items() if doc in scored}
    truth_clusters = truth.get("clusters")
    if truth_clusters is None:
        truth_member_lists = _clusters_from_pairs(
            (p["a"], p["b"]) for p in truth_pairs if p["kind"] != NEGATIVE_KIND
        )
    else:
        truth_member_lists = [list(c["members"]) for c in truth_clusters]
    truth_member_lists = [
        kept for kept in ([m for m in ms if m in roles] for ms in truth_member_lists)
        if len(kept) > 1
    ]
    truth_of: dict[str, int] = {}
    for i, members in enumerate(truth_member_lists):
        for doc in members:
            truth_of[doc] = i

    predicted: set[tuple[str, str]] = set()
    for p in pred.get("pairs", []):
        a, b = p["a"], p["b"]
        if a != b and a in roles and b in roles:
            predicted.add((a, b) if a < b else (b, a))
    if pred.get("clusters") is not None:
        pred_member_lists = [
            [m for m in c["members"] if m in roles] for c in pred["clusters"]
        ]
    else:
        pred_member_lists = _clusters_from_pairs(predicted)
    pred_member_lists = [m for m in pred_member_lists if len(m) > 1]
    pred_of: dict[str, int] = {}
    for j, members in enumerate(pred_member_lists):
        for doc in members:
            pred_of.setdefault(doc, j)

    # A same_topic negative is false wherever it lands in its source's cluster.
    negative_of: dict[str, int] = {}
    for p in truth_pairs:
        if p["kind"] == NEGATIVE_KIND and p["a"] in truth_of:
            negative_of[p["b"]] = truth_of[p["a"]]

    correct = 0
    false_pairs = Counter({"same_topic": 0, "unrelated": 0, "other": 0})
    false_category: dict[tuple[str, str], str] = {}
    for a, b in sorted(predicted):
        ta = truth_of.get(a)
        if ta is not None and ta == truth_of.get(b):
            correct += 1
            continue
        if (a in negative_of and negative_of[a] == truth_of.get(b)) or (
            b in negative_of and negative_of[b] == truth_of.get(a)
        ):
            category = "same_topic"
        elif roles.get(a) == "unrelated" and roles.get(b) == "unrelated":
            category = "unrelated"
        else:
            category = "other"
        false_pairs[category] += 1
        false_category[a, b] = category
    sharing: dict[str, int] | None = None
    near_sharing: dict[str, int] | None = None
    run_shared: dict[str, int] | None = None
    if docs is not None:
        sharing = {"all": 0, "same_topic": 0, "unrelated": 0, "other": 0}
        near_sharing = dict(sharing)
        run_shared = dict(sharing)
        for pair, shares_run in run_sharing(false_category, docs).items():
            if shares_run:
                run_shared["all"] += 1
                run_shared[false_category[pair]] += 1
        for pair, (shared, near) in sentence_sharing(false_category, docs).items():
            if shared >= SHARED_SENTENCES:
                sharing["all"] += 1
                sharing[false_category[pair]] += 1
            if near >= 1:
                near_sharing["all"] += 1
                near_sharing[false_category[pair]] += 1

    def found(a: str, b: str) -> tuple[bool, bool]:
        direct = ((a, b) if a < b else (b, a)) in predicted
        ca = pred_of.get(a)
        return direct, ca is not None and ca == pred_of.get(b)

    per_kind: dict[str, dict[str, Any]] = {}
    for p in truth_pairs:
        if p["a"] not in roles or p["b"] not in roles:
            continue
        direct, clustered = found(p["a"], p["b"])
        row = per_kind.setdefault(p["kind"], {"pairs": 0, "direct": 0, "cluster": 0})
        row["pairs"] += 1
        row["direct"] += direct
        row["cluster"] += clustered
    recall: dict[str, dict[str, Any]] = {}
    all_pos = {"pairs": 0, "direct": 0, "cluster": 0}
    for kind in sorted(per_kind):
        row = per_kind[kind]
        if kind == NEGATIVE_KIND:
            continue
        for key in all_pos:
            all_pos[key] += row[key]
        recall[kind] = {
            "pairs": row["pairs"],
            "direct": _ratio(row["direct"], row["pairs"], 0.0),
            "cluster": _ratio(row["cluster"], row["pairs"], 0.0),
        }
    recall["all"] = {
        "pairs": all_pos["pairs"],
        "direct": _ratio(all_pos["direct"], all_pos["pairs"], 0.0),
        "cluster": _ratio(all_pos["cluster"], all_pos["pairs"], 0.0),
    }
    neg = per_kind.get(NEGATIVE_KIND, {"pairs": 0, "direct": 0, "cluster": 0})

    # Pair counts implied by the clusterings (for cluster precision/recall and ARI).
    cells: Counter[tuple[int, int]] = Counter()
    for doc, j in pred_of.items():
        i = truth_of.get(doc)
        if i is not None:
            cells[i, j] += 1
    same_both = sum(_pairs2(c) for c in cells.values())
    truth_pair_total = sum(_pairs2(len(m)) for m in truth_member_lists)
    pred_pair_total = sum(_pairs2(len(m)) for m in pred_member_lists)
    n_unrelated = sum(1 for r in roles.values() if r == "unrelated")

    return {
        "docs": len(roles),
        "predicted_pairs": len(predicted),
        "correct_pairs": correct,
        "pair_precision": _ratio(correct, len(predicted)),
        "recall": recall,
        "same_topic": {
            "pairs": neg["pairs"],
            "flagged_direct": _ratio(neg["direct"], neg["pairs"], 0.0),
            "flagged_cluster": _ratio(neg["cluster"], neg["pairs"], 0.0),
        },
        "false_pairs": dict(false_pairs),
        "false_unrelated_pair_rate": _ratio(false_pairs["unrelated"], _pairs2(n_unrelated), 0.0),
        "false_pairs_sharing_sentences": sharing,
        "false_pairs_sharing_near_identical": near_sharing,
        "false_pairs_sharing_long_run": run_shared,
        "predicted_clusters": len(pred_member_lists),
        "truth_clusters": len(truth_member_lists),
        "cluster_pair_precision": _ratio(same_both, pred_pair_total),
        "cluster_pair_recall": _ratio(same_both, truth_pair_total),
        "ari": adjusted_rand_index(truth_member_lists, pred_member_lists, len(roles)),
        "stats": pred.get("stats", {}),
    }


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def render_tables(results: Sequence[tuple[str, dict[str, Any]]]) -> str:
    """Two plain-text tables: overall scores per prediction, and recall per kind."""
    summary = []
    with_sharing = any(r.get("false_pairs_sharing_sentences") is not None for _, r in results)
    for name, r in results:
        stats = r.get("stats", {})
        row = [
            name, r["predicted_pairs"], _pct(r["pair_precision"]),
            _pct(r["recall"]["all"]["direct"]), _pct(r["recall"]["all"]["cluster"]),
            f"{r['ari']:.4f}", _pct(r["cluster_pair_precision"]),
            r["false_pairs"]["same_topic"], r["false_pairs"]["unrelated"],
            r["false_pairs"]["other"],
        ]
        if with_sharing:
            sharing = r.get("false_pairs_sharing_sentences")
            near = r.get("false_pairs_sharing_near_identical")
            row.append("" if sharing is None else sharing["all"])
            row.append("" if near is None else near["all"])
            runs = r.get("false_pairs_sharing_long_run")
            row.append("" if runs is None else runs["all"])
        summary.append(row + [stats.get("docs_per_s", ""), stats.get("peak_rss_mb", "")])
    head = ["prediction", "pairs", "precision %", "recall %", "recall % (clusters)", "ARI",
            "cluster precision %", "false: same_topic", "false: unrelated", "false: other"]
    if with_sharing:
        head.append(f"false sharing {SHARED_SENTENCES}+ sentences")
        head.append("false sharing a near-identical sentence")
        head.append(f"false sharing a {LONG_RUN}+ word run")
    head += ["docs/s", "peak RSS MB"]
    kinds = [k for k in results[0][1]["recall"] if k != "all"] + ["all"] if results else []
    recall_rows = []
    for kind in kinds:
        row: list[Any] = [kind, results[0][1]["recall"][kind]["pairs"]]
        for _, r in results:
            rec = r["recall"].get(kind, {"direct": 0.0, "cluster": 0.0})
            row.append(f"{_pct(rec['direct'])} / {_pct(rec['cluster'])}")
        recall_rows.append(row)
    neg_row: list[Any] = ["same_topic (flagged, lower is better)",
                          results[0][1]["same_topic"]["pairs"] if results else 0]
    for _, r in results:
        flagged = r["same_topic"]
        neg_row.append(f"{_pct(flagged['flagged_direct'])} / {_pct(flagged['flagged_cluster'])}")
    recall_rows.append(neg_row)
    recall_head = ["kind", "truth pairs"] + [f"{name}: direct / cluster %" for name, _ in results]
    return (
        tabulate(summary, head, tablefmt="github")
        + "\n\n"
        + tabulate(recall_rows, recall_head, tablefmt="github")
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Score scan results against a generated corpus's truth.",
        epilog="example: python benchmarks/evaluate.py --truth benchmarks/out/c20k/truth.json "
        "--pred pred.json --name baseline",
    )
    parser.add_argument("--truth", required=True, help="truth.json (or its folder)")
    parser.add_argument("--pred", action="append", required=True, help="scan result JSON")
    parser.add_argument("--name", action="append", default=[], help="label for each --pred")
    parser.add_argument("--json", help="write all scores as JSON here")
    parser.add_argument(
        "--docs", help=f"docs.jsonl of the corpus: count false pairs sharing {SHARED_SENTENCES}+ "
        "identical sentences or a near-identical one (optional)",
    )
    args = parser.parse_args(argv)
    if args.name and len(args.name) != len(args.pred):
        parser.error(f"give one --name per --pred ({len(args.pred)}), got {len(args.name)}")
    names = args.name or [os.path.basename(p) for p in args.pred]
    truth = load_truth(args.truth)
    results = []
    for name, path in zip(names, args.pred, strict=True):
        with open(path, encoding="utf-8") as fh:
            results.append((name, evaluate(truth, json.load(fh), args.docs)))
    print(render_tables(results))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({name: r for name, r in results}, fh, indent=2)
            fh.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
