"""The two ways an index query verifies its candidates, side by side on a corpus with known
reuse: ``verify="full"`` (the sentences of each candidate compared with the queried text's:
every relation, scores, evidence) and ``verify="shingles"`` (the stored word n-gram hashes
only: exact Jaccard and containment; duplicates and syndicated copies, no rewrites or
partial reuse).

For each index configuration (``--configs``: ``whole-text`` is ``passage_lsh=(0, 1)``, no
passage keys; ``default`` is ``ScanConfig()``, passage keys too), all documents of the corpus
(or the first ``--limit-docs``) are added with ``add_many`` (batches of ``--batch-size`` on
``--jobs`` processes) and the recent keys merged. Then every document that is the ``b`` of a
truth pair (both of its documents indexed) is queried as ``Document(b_id, b_text)`` (so it
never matches itself), ``limit=10``, once per verify mode, and for each mode:

- per truth kind: the pairs, the recall (``a`` among ``b``'s matches) and the relations the
  found pairs were given; ``same_topic`` pairs (same topic, no shared text) found are false
  alarms (*flagged*);
- matches outside the truth (*unlisted*): ``b`` matched to a document that is neither the
  ``a`` nor the ``b`` of a truth pair with it, split into those of the same truth cluster
  (two copies of one source: related, only not listed as a pair) and the others;
- the status of each query (the relation of its first match, or ``new``);
- store-only queries/s: the queried documents are prepared beforehand (cleaning, MinHash,
  band keys: the same for both modes, timed apart as "prepare", as in index_bench.py), after
  an untimed pass of band-key look-ups (the handle's caches read once, as in
  burst_bench.py); each query is timed alone, the two modes and the look-ups alone in turns
  query by query (on a shared machine each meets the same load), so the rate is also given
  for the queries that got a match and those that got none, and for those that had
  candidates (other stored documents sharing band keys) and those that had none;
- the band-key look-ups alone (what both modes do before verifying);
- end to end: ``query_many`` of the same documents (preparation included, ``--many-jobs``
  processes), and whether it gave the same answers as the store-only queries.

Then the agreement of the modes: the queries with the same status in both, the table of
statuses (full by shingles), the pairs found by one mode only and the pairs whose relations
differ, per kind, with a few example ids.

Usage::

    python benchmarks/verify_modes.py benchmarks/out/c20k [--configs whole-text,default] \\
        [--limit-docs N] [--batch-size 500] [--jobs 2] [--many-jobs 1] [--no-query-many] \\
        [--workdir DIR] [--json out.json]

CORPUS_DIR is a benchmarks/corpus.py output folder: ``docs.jsonl`` (id, text, ...),
``truth.jsonl`` (pairs: a, b, kind) and, if there, ``truth.json`` (its clusters tell the
unlisted matches within a cluster from the others). The index files go to ``--workdir``
(kept) or to a temporary folder (deleted afterwards).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import sqlite3
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from output import emit, working_dir  # noqa: E402
from overrides import add_set_option, parse_overrides  # noqa: E402

#: the index configurations by name: ScanConfig fields
CONFIGS: dict[str, dict[str, Any]] = {"whole-text": {"passage_lsh": [0, 1]}, "default": {}}
#: the verify modes, the first the reference the second is compared with
MODES: tuple[Literal["full", "shingles"], ...] = ("full", "shingles")
#: truth kinds in report order; same_topic pairs are negatives
KINDS = ("reprint", "trimmed", "light_edit", "heavy_rewrite", "partial", "same_topic")
LIMIT = 10
EXAMPLES = 3


def _records(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def load_corpus(folder: str, limit_docs: int | None = None
                ) -> tuple[list[Any], list[dict[str, Any]], dict[str, str]]:
    """``(documents, pairs, cluster_of)``: the first ``limit_docs`` documents (all if None),
    the truth pairs with both documents among them, and each clustered document's cluster id."""
    from dedup import Document

    root = Path(folder)
    docs = []
    for r in _records(root / "docs.jsonl"):
        if limit_docs is not None and len(docs) >= limit_docs:
            break
        docs.append(Document(r["id"], r["text"], title=r.get("title"), date=r.get("date"), source=r.get("source")))
    ids = {d.id for d in docs}
    pairs = [p for p in _records(root / "truth.jsonl") if p["a"] in ids and p["b"] in ids]
    cluster_of: dict[str, str] = {}
    if (root / "truth.json").exists():
        truth = json.loads((root / "truth.json").read_text(encoding="utf-8"))
        cluster_of = {m: c["id"] for c in truth.get("clusters", []) for m in c["members"]}
    return docs, pairs, cluster_of


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else float("inf")


def _timing(times: Sequence[float]) -> dict[str, Any]:
    total = sum(times)
    return {"count": len(times), "seconds": round(total, 3), "per_s": _rate(len(times), total)}


def _status(matches: Sequence[Any]) -> str:
    return matches[0].relation if matches else "new"


def score_mode(answers: dict[str, list[Any]], pairs: Sequence[dict[str, Any]], cluster_of: dict[str, str]
               ) -> dict[str, Any]:
    """Recall and relations per kind, flagged negatives, unlisted matches and statuses of one
    mode's answers (``b`` id -> its matches)."""
    listed = {frozenset((p["a"], p["b"])) for p in pairs}
    kinds: dict[str, dict[str, Any]] = {}
    for p in pairs:
        k = kinds.setdefault(p["kind"], {"pairs": 0, "found": 0, "relations": Counter()})
        k["pairs"] += 1
        match = next((m for m in answers[p["b"]] if m.id == p["a"]), None)
        if match is not None:
            k["found"] += 1
            k["relations"][match.relation] += 1
    for k in kinds.values():
        k["recall"] = round(k["found"] / k["pairs"], 4) if k["pairs"] else 0.0
        k["relations"] = dict(k["relations"].most_common())
    unlisted = {"same_cluster": 0, "other": 0, "relations": Counter(), "examples": []}
    for b, matches in answers.items():
        for m in matches:
            if frozenset((b, m.id)) in listed:
                continue
            cluster = cluster_of.get(b)
            if cluster is not None and cluster == cluster_of.get(m.id):
                unlisted["same_cluster"] += 1
            else:
                unlisted["other"] += 1
                unlisted["relations"][m.relation] += 1
                if len(unlisted["examples"]) < EXAMPLES:
                    unlisted["examples"].append({"query": b, "match": m.id, "relation": m.relation,
                                                 "scores": dict(m.scores)})
    unlisted["all"] = unlisted["same_cluster"] + unlisted["other"]
    unlisted["relations"] = dict(unlisted["relations"].most_common())
    return {
        "kinds": {k: kinds[k] for k in [*KINDS, *sorted(set(kinds) - set(KINDS))] if k in kinds},
        "queries_with_match": sum(bool(m) for m in answers.values()),
        "matches": sum(map(len, answers.values())),
        "statuses": dict(Counter(_status(m) for m in answers.values()).most_common()),
        "unlisted": unlisted,
    }


def agreement(first: dict[str, list[Any]], second: dict[str, list[Any]], pairs: Sequence[dict[str, Any]]
              ) -> dict[str, Any]:
    """How two modes' answers (``b`` id -> matches) agree: statuses, and truth pairs found by
    one only or given other relations, per kind, with examples."""
    confusion: dict[str, Counter[str]] = defaultdict(Counter)
    for b, matches in first.items():
        confusion[_status(matches)][_status(second[b])] += 1
    same = sum(confusion[s][s] for s in confusion)
    per_kind: dict[str, dict[str, Any]] = {}
    for p in pairs:
        k = per_kind.setdefault(p["kind"], {"first_only": 0, "second_only": 0, "relation_differs": 0,
                                            "relation_changes": Counter(), "examples": []})
        m1 = next((m for m in first[p["b"]] if m.id == p["a"]), None)
        m2 = next((m for m in second[p["b"]] if m.id == p["a"]), None)
        what = None
        if m1 is not None and m2 is None:
            k["first_only"] += 1
            what = "first only"
        elif m2 is not None and m1 is None:
            k["second_only"] += 1
            what = "second only"
        elif m1 is not None and m2 is not None and m1.relation != m2.relation:
            k["relation_differs"] += 1
            k["relation_changes"][f"{m1.relation} -> {m2.relation}"] += 1
            what = "relation differs"
        if what is not None and sum(e["what"] == what for e in k["examples"]) < EXAMPLES:
            k["examples"].append({"what": what, "a": p["a"], "b": p["b"],
                                  "first": None if m1 is None else {"relation": m1.relation, "scores": dict(m1.scores)},
                                  "second": None if m2 is None else {"relation": m2.relation,
                                                                     "scores": dict(m2.scores)}})
    for k in per_kind.values():
        k["relation_changes"] = dict(k["relation_changes"].most_common())
    statuses = sorted({s for row in confusion.values() for s in row} | set(confusion))
    return {
        "queries": len(first), "same_status": same, "same_status_rate": round(same / len(first), 4) if first else 1.0,
        "confusion": {s: {t: confusion[s][t] for t in statuses if confusion[s][t]} for s in statuses if s in confusion},
        "pairs": {k: per_kind[k] for k in [*KINDS, *sorted(set(per_kind) - set(KINDS))] if k in per_kind},
    }


def _candidates(index: Any, conn: sqlite3.Connection, entry: Any) -> int:
    """How many stored documents other than the queried one itself share enough band keys
    with it to be verified (before the cap of ``_matches``)."""
    hits = index._lookup(conn, entry)  # noqa: SLF001
    own = conn.execute("SELECT rowid FROM docs WHERE id = ?", (entry.doc.id,)).fetchone()
    min_hits = index.config.passage_min_hits
    return sum(1 for h, (d, p) in hits.items() if (d > 0 or p >= min_hits) and (own is None or h != own[0]))


def run_config(name: str, overrides: dict[str, Any], docs: Sequence[Any], pairs: Sequence[dict[str, Any]],
               cluster_of: dict[str, str], workdir: str, *, batch_size: int, jobs: int, many_jobs: int,
               query_many: bool, log: Callable[[str], None]) -> dict[str, Any]:
    from dedup import Document, ScanConfig
    from dedup.store import SyndicationIndex

    config = ScanConfig.from_dict(overrides)
    db = os.path.join(workdir, f"verify-modes-{name}.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    out: dict[str, Any] = {"name": name, "config": overrides, "docs": len(docs)}
    text_of = {d.id: d.text for d in docs}
    b_ids = list(dict.fromkeys(p["b"] for p in pairs))
    queries = [Document(b, text_of[b]) for b in b_ids]
    with SyndicationIndex(db, config) as index:
        log(f"{name}: adding {len(docs):,} documents (batch {batch_size}, jobs {jobs}) ...")
        start = time.perf_counter()
        index.add_many(docs, batch_size=batch_size, jobs=jobs)
        merged = index.merge()
        seconds = time.perf_counter() - start
        stats = index.stats()
        out["build"] = {"seconds": round(seconds, 1), "per_s": _rate(len(docs), seconds), "batch_size": batch_size,
                        "jobs": jobs, "final_merge_keys": merged,
                        "keys_per_doc": {"doc": round(stats["doc_keys"] / len(docs), 1),
                                         "passage": round(stats["passage_keys"] / len(docs), 1)}}
        log(f"{name}: preparing {len(queries):,} queries ...")
        start = time.perf_counter()
        entries = index._entries(queries)  # noqa: SLF001 - store-only rates: prepared beforehand
        seconds = time.perf_counter() - start
        out["queries"] = len(entries)
        out["prepare"] = {"seconds": round(seconds, 2), "per_s": _rate(len(entries), seconds)}
        # untimed: the handle's caches (frequency log, recent keys) read once; the candidates
        # each query has (what both modes verify, up to their cap) counted on the way
        candidates = {e.doc.id: index._read(lambda c, e=e: _candidates(index, c, e)) for e in entries}  # noqa: SLF001
        with_candidates = sum(n > 0 for n in candidates.values())
        out["candidates"] = {"queries_with": with_candidates, "queries_without": len(entries) - with_candidates,
                             "mean": round(sum(candidates.values()) / len(entries), 1)}
        # the modes and the look-ups alone timed query by query, interleaved (the modes in
        # turns first): on a machine shared with other work, each meets the same load, and
        # neither always finds the candidates' pages read by the other
        log(f"{name}: {len(entries):,} queries, verify={' and '.join(map(repr, MODES))} in turns ...")
        answers: dict[str, dict[str, list[Any]]] = {mode: {} for mode in MODES}
        times = {mode: {True: [], False: []} for mode in MODES}  # by whether a match was found
        by_candidates = {mode: {True: [], False: []} for mode in MODES}
        lookups: list[float] = []
        for i, e in enumerate(entries):
            for mode in MODES if i % 2 == 0 else MODES[::-1]:
                t0 = time.perf_counter()
                matches = index._read(lambda c, e=e, mode=mode: index._matches(  # noqa: SLF001
                    c, e, limit=LIMIT, align=False, exclude=e.doc.id, verify=mode))
                seconds = time.perf_counter() - t0
                times[mode][bool(matches)].append(seconds)
                by_candidates[mode][candidates[e.doc.id] > 0].append(seconds)
                answers[mode][e.doc.id] = matches
            t0 = time.perf_counter()
            index._read(lambda c, e=e: index._lookup(c, e))  # noqa: SLF001
            lookups.append(time.perf_counter() - t0)
        out["lookup_only"] = _timing(lookups)
        out["modes"] = {}
        for mode in MODES:
            found = answers[mode]
            result = score_mode(found, pairs, cluster_of)
            result["store"] = {**_timing(times[mode][True] + times[mode][False]),
                               "with_match": _timing(times[mode][True]), "without_match": _timing(times[mode][False]),
                               "with_candidates": _timing(by_candidates[mode][True]),
                               "without_candidates": _timing(by_candidates[mode][False])}
            if query_many:
                log(f"{name}: query_many, verify={mode!r}, jobs {many_jobs} ...")
                start = time.perf_counter()
                many = index.query_many(queries, limit=LIMIT, verify=mode, batch_size=batch_size, jobs=many_jobs)
                seconds = time.perf_counter() - start
                same = all([(m.id, m.relation) for m in got] == [(m.id, m.relation) for m in found[q.id]]
                           for q, got in zip(queries, many, strict=True))
                result["query_many"] = {"count": len(queries), "jobs": many_jobs, "batch_size": batch_size,
                                        "seconds": round(seconds, 2), "per_s": _rate(len(queries), seconds),
                                        "same_answers": same}
            out["modes"][mode] = result
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            out.setdefault("index_bytes", 0)
            out["index_bytes"] += os.path.getsize(db + suffix)
    out["agreement"] = agreement(answers[MODES[0]], answers[MODES[1]], pairs)
    return out


def _sources_digest() -> str:
    """A digest of the ``dedup`` package's source files as this process imported them (the
    work tree may change under a long run: a commit and a "dirty" flag do not tell which
    version answered)."""
    import hashlib

    import dedup

    digest = hashlib.sha1()
    for path in sorted(Path(dedup.__file__).parent.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _git() -> dict[str, Any]:
    """The commit of the work tree and whether it had changes (None outside a git checkout)."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=HERE, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=HERE,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": bool(dirty)}


def measure(folder: str, configs: Sequence[str], *, limit_docs: int | None = None, workdir: str,
            overrides: dict[str, Any] | None = None, batch_size: int = 500, jobs: int = 2, many_jobs: int = 1,
            query_many: bool = True, log: Callable[[str], None] = print) -> dict[str, Any]:
    docs, pairs, cluster_of = load_corpus(folder, limit_docs)
    if not pairs:
        raise SystemExit(f"{folder}: no truth pair has both documents among the {len(docs):,} read")
    os.makedirs(workdir, exist_ok=True)
    sources, git, load = _sources_digest(), _git(), os.getloadavg() if hasattr(os, "getloadavg") else None
    started = time.perf_counter()
    runs = [run_config(name, {**CONFIGS[name], **(overrides or {})}, docs, pairs, cluster_of, workdir,
                       batch_size=batch_size, jobs=jobs, many_jobs=many_jobs, query_many=query_many, log=log)
            for name in configs]
    return {
        "corpus": folder,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {mp.cpu_count()} cores, Python {platform.python_version()}, "
                   f"SQLite {sqlite3.sqlite_version}",
        "load_average": {"start": None if load is None else [round(x, 2) for x in load],
                         "end": list(os.getloadavg()) if load is not None else None},
        **git,
        "dedup_sources_sha1": sources,
        "docs": len(docs),
        "pairs": len(pairs),
        "limit": LIMIT,
        "overrides": overrides or {},
        "wall_seconds": round(time.perf_counter() - started, 1),
        "runs": runs,
    }


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def _counts(c: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in c.items()) or "-"


def _load(m: dict[str, Any]) -> str:
    load = m.get("load_average") or {}
    if not load.get("start"):
        return ""
    return f", load average {load['start'][0]} at the start, {round(load['end'][0], 2)} at the end"


def render(m: dict[str, Any]) -> str:
    from tabulate import tabulate

    extra = ", ".join(f"{k}={v}" for k, v in m["overrides"].items())
    commit = (m["commit"] or "?")[:10] + (" (with changes)" if m.get("dirty") else "")
    out = [f"corpus {m['corpus']}: {m['docs']:,} documents, {m['pairs']:,} truth pairs ({m['machine']}, {m['date']}, "
           f"commit {commit}, {m['wall_seconds']} s in all{_load(m)}{'; ' + extra if extra else ''})"]
    for r in m["runs"]:
        b, keys = r["build"], r["build"]["keys_per_doc"]
        out += ["", f"## {r['name']} ({', '.join(f'{k}={v}' for k, v in r['config'].items()) or 'ScanConfig()'}): "
                    f"built in {b['seconds']} s ({b['per_s']} docs/s, jobs {b['jobs']}; {keys['doc']} + "
                    f"{keys['passage']} band keys/doc); {r['queries']:,} queries prepared in "
                    f"{r['prepare']['seconds']} s ({r['prepare']['per_s']}/s), limit {m['limit']}; "
                    f"{r['candidates']['queries_with']:,} queries with candidates (other than themselves), "
                    f"{r['candidates']['mean']} per query on average; band-key look-ups alone "
                    f"{r['lookup_only']['per_s']} q/s", ""]
        rows = []
        for kind in r["modes"][MODES[0]]["kinds"]:
            row: list[Any] = [kind + (" (flagged: false alarms)" if kind == "same_topic" else ""),
                              r["modes"][MODES[0]]["kinds"][kind]["pairs"]]
            for mode in MODES:
                k = r["modes"][mode]["kinds"].get(kind, {"found": 0, "recall": 0.0, "relations": {}})
                row += [f"{k['found']} ({_pct(k['recall'])} %)", _counts(k["relations"])]
            rows.append(row)
        head = ["kind", "pairs"] + [h for mode in MODES for h in (f"{mode}: found", f"{mode}: relations")]
        out.append(tabulate(rows, head, tablefmt="github"))
        rows = []
        for mode in MODES:
            x = r["modes"][mode]
            s, u = x["store"], x["unlisted"]
            many = x.get("query_many")
            rows.append([mode, s["per_s"], f"{s['with_match']['per_s']} ({s['with_match']['count']:,})",
                         f"{s['without_match']['per_s']} ({s['without_match']['count']:,})",
                         f"{s['with_candidates']['per_s']} / {s['without_candidates']['per_s']}",
                         "" if many is None else f"{many['per_s']}{'' if many['same_answers'] else ' DIFFERENT'}",
                         x["queries_with_match"], x["matches"], f"{u['same_cluster']} / {u['other']}",
                         _counts(x["statuses"])])
        head = ["verify", "store-only q/s", "with a match q/s (n)", "without q/s (n)",
                "with / without candidates q/s", "query_many q/s",
                "queries matched", "matches", "unlisted: same cluster / other", "statuses (first match)"]
        out += ["", tabulate(rows, head, tablefmt="github")]
        a = r["agreement"]
        statuses = sorted({t for row in a["confusion"].values() for t in row} | set(a["confusion"]))
        rows = [[f"{MODES[0]}: {s}"] + [a["confusion"].get(s, {}).get(t, 0) for t in statuses] for s in statuses]
        out += ["", f"same status in both modes: {a['same_status']:,} of {a['queries']:,} queries "
                    f"({_pct(a['same_status_rate'])} %)", "",
                tabulate(rows, [f"{MODES[0]} \\ {MODES[1]}"] + statuses, tablefmt="github")]
        rows = [[kind, p["first_only"], p["second_only"], p["relation_differs"], _counts(p["relation_changes"]),
                 "; ".join(f"{e['a']}/{e['b']} ({e['what']})" for e in p["examples"][:2]) or "-"]
                for kind, p in a["pairs"].items()]
        head = ["kind", f"{MODES[0]} only", f"{MODES[1]} only", "relation differs",
                f"{MODES[0]} -> {MODES[1]}", "examples a/b"]
        out += ["", tabulate(rows, head, tablefmt="github")]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", help="benchmarks/corpus.py output folder (docs.jsonl, truth.jsonl)")
    parser.add_argument("--configs", default="whole-text,default",
                        help=f"index configurations, comma-separated, of {', '.join(CONFIGS)} "
                             "(default whole-text,default)")
    parser.add_argument("--limit-docs", type=int, default=None, help="index the first N documents only")
    parser.add_argument("--batch-size", type=int, default=500, help="add_many and query_many batch size (default 500)")
    parser.add_argument("--jobs", type=int, default=2, help="add_many jobs: processes preparing documents (default 2)")
    parser.add_argument("--many-jobs", type=int, default=1, help="query_many jobs (default 1)")
    parser.add_argument("--no-query-many", action="store_true", help="skip the end-to-end query_many runs")
    parser.add_argument("--workdir", default=None, help="where the index files go, kept (default: a temporary "
                                                        "folder, deleted afterwards)")
    parser.add_argument("--json", dest="json_out", help="also write the measurement as JSON")
    add_set_option(parser, "both configurations")
    args = parser.parse_args(argv)
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = [c for c in configs if c not in CONFIGS]
    if unknown or not configs:
        raise SystemExit(f"--configs: expected names among {', '.join(CONFIGS)}, got {args.configs!r}")
    if args.limit_docs is not None and args.limit_docs < 1:
        raise SystemExit(f"--limit-docs must be at least 1, got {args.limit_docs}")
    with working_dir(args.workdir, "verify-modes-") as workdir:
        m = measure(args.corpus, configs, limit_docs=args.limit_docs, workdir=workdir,
                    overrides=parse_overrides(args.overrides), batch_size=args.batch_size, jobs=args.jobs,
                    many_jobs=args.many_jobs, query_many=not args.no_query_many,
                    log=lambda s: print(s, file=sys.stderr, flush=True))
    return emit(m, render(m), args.json_out)


if __name__ == "__main__":
    raise SystemExit(main())
