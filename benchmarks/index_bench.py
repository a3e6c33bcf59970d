"""Add, query and check rates, reopen time and size on disk of the persistent index (dedup.store),
next to datasketch's in-memory ``MinHashLSH``, measured in the same run.

For each size N, two child processes (so that each peak RSS is its own):

- **dedup index** (SQLite): the first N documents of the corpus are added with ``add_many``
  in batches; then a query sample (half documents already indexed, each with its last
  paragraph cut and a new id; half documents not indexed) is queried with ``query``, the same
  sample is looked up by band keys only (no verification), and checked with ``check`` (query
  then add, atomically); a larger sample drawn the same way (``--batch-sample``, 5,000)
  goes through ``query_many`` and ``check_many`` (batches of 100, prepared in this process or
  on 2 worker processes while this one answers; the documents check_many added are removed
  again before the checks one at a time), and its batches are also checked store-only in both
  verification modes (each batch prepared untimed, then checked in one write transaction, as
  ``check_many`` does); two more samples of texts no run met are checked so in shingles
  mode, each by a process of its own: one with the default page cache, one whose handle has
  ``--cached-mb`` (512) MiB of it and was ``preload()``-ed (the key tables read into it);
  fresh samples (none of the queries met before) are also answered
  store-only by 1, then 2, reader processes at once, each with its own handle, warmed by an
  untimed pass of as many other fresh queries, in both verification modes; the index is
  closed and reopened. The queries start
  after an untimed pass of band-key lookups over the sample (the handle's caches and the page
  cache warm, as in a long-running crawler). Every rate is split into the time
  spent *preparing* documents (cleaning, tokenizing, stemming, MinHash, band keys: the
  ``dedup.stages.Fingerprinter`` work, the same for any store) and the time spent in the
  *store* (SQL, encoding, decoding, and for queries IDF look-ups and verification of the
  candidates). The add includes a final ``merge()`` of the keys still in the index's recent
  table (so that every added document's keys reached the key tables, as in a long-running
  index). Size on disk is taken after a WAL checkpoint; the fingerprint part is the band-key
  tables, the whole-text keys' filter and the recent table plus each document's key list (kept to
  delete its key rows).
- **datasketch** ``MinHashLSH(threshold=0.5, num_perm=128)``: lowercased word 5-grams,
  ``MinHash.update_batch``, inserted in an ``insertion_session``; the same query sample
  (``lsh.query`` returns candidates, nothing is verified).

Usage::

    python benchmarks/index_bench.py benchmarks/out/c100k/docs.jsonl --sizes 10000,100000 \\
        --absent benchmarks/out/c20k/docs.jsonl [--sample 1000] [--batch-size 500] [--jobs 1] \\
        [--cached-mb 512] [--workdir /tmp/index-bench] [--json out.json]

Queries of "absent" documents come from the corpus after the first N documents, or from
``--absent`` when the corpus has too few (documents of another corpus built from the same
newswire sentences may share sentences with indexed ones, as unseen crawled articles do).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import random
import resource
import sqlite3
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from queue import Empty
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from output import emit, working_dir  # noqa: E402
from overrides import add_set_option, parse_overrides  # noqa: E402


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _rss_parts_mb() -> dict[str, float]:
    """The resident memory now, in its two parts: anonymous (the process's own) and file pages
    (shared libraries, and the index's pages when it is memory-mapped: the page cache's);
    empty off Linux."""
    out: dict[str, float] = {}
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                name, _, value = line.partition(":")
                if name in ("RssAnon", "RssFile"):
                    out["anon_mb" if name == "RssAnon" else "file_mb"] = round(int(value.split()[0]) / 1024.0, 1)
    except OSError:
        pass
    return out


def _records(path: str) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def _cut_last_paragraph(text: str) -> str:
    """A lightly edited copy: the last paragraph (or last sentence) dropped."""
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    if len(paragraphs) > 1:
        return "\n\n".join(paragraphs[:-1])
    return text.rsplit(". ", 1)[0] + "."


def query_sample(path: str, absent_path: str | None, n: int, sample: int, seed: int = 0, skip_absent: int = 0
                 ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """``(present, absent)``: ``(id, text)`` pairs; present ones are edited copies of indexed
    documents (their original id is the id minus the ``q-`` prefix), absent ones the documents
    after the first N (after ``skip_absent`` more of them)."""
    rng = random.Random(seed)
    half = sample // 2
    wanted = set(rng.sample(range(n), half))
    present: list[tuple[str, str]] = []
    absent: list[tuple[str, str]] = []
    skip = skip_absent
    for i, r in enumerate(_records(path)):
        if i < n:
            if i in wanted:
                present.append((f"q-{r['id']}", _cut_last_paragraph(r["text"])))
        elif skip:
            skip -= 1
        elif len(absent) < half:
            absent.append((f"a-{r['id']}", r["text"]))
        else:
            break
    if len(present) < half:
        raise SystemExit(f"{path} has fewer than {n} documents")
    if len(absent) < half:
        if absent_path is None:
            raise SystemExit(f"{path} has fewer than {n} + {half} documents: give --absent CORPUS")
        # ids are prefixed: another corpus may reuse the ids of this one for other texts
        for r in _records(absent_path):
            if len(absent) >= half:
                break
            if skip:
                skip -= 1
                continue
            absent.append((f"a-{r['id']}", r["text"]))
    return present, absent


class _Clock:
    """Seconds spent in wrapped functions, per name."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
        return timed

    def take(self) -> dict[str, float]:
        out, self.seconds = self.seconds, {}
        return out


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else float("inf")


def _split(count: int, total: float, parts: dict[str, float]) -> dict[str, Any]:
    prep = parts.pop("prepare", 0.0)
    store = total - prep
    out: dict[str, Any] = {
        "count": count, "seconds": round(total, 2), "per_s": _rate(count, total),
        "prepare_seconds": round(prep, 2), "store_seconds": round(store, 2), "store_per_s": _rate(count, store),
    }
    out.update({f"{k}_seconds": round(v, 2) for k, v in sorted(parts.items())})
    return out


def _disk(db: str, n: int) -> dict[str, Any]:
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        total = os.path.getsize(db)
        try:
            tables = dict(conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall())
        except sqlite3.Error:  # SQLite built without dbstat
            tables = {}
        key_lists = conn.execute("SELECT coalesce(sum(length(doc_keys) + length(passage_keys)), 0), "
                                 "coalesce(sum(length(doc_keys)), 0) FROM docs").fetchone()
    out: dict[str, Any] = {"total_bytes": total, "bytes_per_doc": round(total / n)}
    if tables:
        # the passage-key levels: passage_keys_1, passage_keys_2, passage_keys (format 6)
        passage = sum(size for name, size in tables.items() if name.startswith("passage_keys"))
        # the whole-text keys (doc_keys before format 10) and their filter
        doc_level = tables.get("text_keys", tables.get("doc_keys", 0)) + tables.get("key_filter", 0)
        lookup = doc_level + passage + tables.get("recent", 0)
        out["tables_bytes"] = tables
        out["fingerprint_bytes_per_doc"] = round((lookup + key_lists[0]) / n)
        out["doc_level_fingerprint_bytes_per_doc"] = round((doc_level + key_lists[1]) / n)
        out["passage_fingerprint_bytes_per_doc"] = round((passage + key_lists[0] - key_lists[1]) / n)
    return out


#: batches of query_many and check_many, and the jobs they run with: several batches per
#: sample, so that workers prepare one while this process answers another
_MANY_BATCH, _MANY_JOBS = 100, (1, 2)
#: the query_many runs: (jobs, verify); each mode's first run gives the answers its others are compared to
_MANY_RUNS = ((1, "full"), (2, "full"), (2, "shingles"))


#: ``cache_mb`` of the handle that checks again with its key tables preloaded (room for the
#: 412 MB of whole-text keys of a million articles)
CACHED_MB = 512

#: reader processes answering queries at once (each its own handle and fresh queries)
_READERS = (1, 2)


def _read_queries(db: str, warm: list[tuple[str, str]], docs: list[tuple[str, str]], verify: str, start: Any,
                  queue: Any) -> None:
    """One reader of the concurrent-query runs: its queries prepared, ``warm`` answered untimed
    (the handle and page caches as other traffic leaves them in a long-running crawler), then
    ``docs`` answered store-only (a read transaction each, as ``query`` does) once ``start`` is set."""
    from dedup import Document
    from dedup.store import SyndicationIndex

    with SyndicationIndex(db, create=False) as index:
        def answer(entries: list[Any]) -> list[list[Any]]:
            return [index._read(partial(index._matches, entry=e, limit=10, align=False,  # noqa: SLF001
                                        exclude=e.doc.id, verify=verify)) for e in entries]

        answer(index._entries([Document(i, t) for i, t in warm]))  # noqa: SLF001 - store-only timing
        entries = index._entries([Document(i, t) for i, t in docs])  # noqa: SLF001
        queue.put({"ready": True})
        start.wait()
        began = time.monotonic()
        answers = answer(entries)
        ended = time.monotonic()
    found = sum(any(m.id == i[2:] for m in a) for (i, _), a in zip(docs, answers, strict=True) if i.startswith("q-"))
    queue.put({"began": began, "ended": ended, "count": len(entries), "present_found_original": found})


def _check_at_once(db: str, warm: list[tuple[str, str]], docs: list[tuple[str, str]], verify: str, start: Any,
                   queue: Any) -> None:
    """One checker of the concurrent-check runs: ``warm`` queried untimed, then ``docs``
    checked store-only in ``check_many``'s batches once ``start`` is set (each batch one write
    transaction: the checkers take turns at the write lock), then removed again."""
    from dedup import Document
    from dedup.store import SyndicationIndex

    with SyndicationIndex(db, create=False) as index:
        for e in index._entries([Document(i, t) for i, t in warm]):  # noqa: SLF001 - store-only timing
            index._read(partial(index._matches, entry=e, limit=10, align=False,  # noqa: SLF001
                                exclude=e.doc.id, verify=verify))
        prepared = _check_batches(index, [Document(i, t) for i, t in docs])
        queue.put({"ready": True})
        start.wait()
        began = time.monotonic()
        _, relations = _checks_store_only(index, prepared, verify)
        ended = time.monotonic()
        assert sum(relations.values()) == len(docs)
        for i, _ in docs:
            index.remove(i)
    queue.put({"began": began, "ended": ended, "count": len(docs),
               "present_found_original": relations["duplicate"] + relations["syndicated"]})


def _concurrent(target: Callable[..., None], db: str, chunks: list[tuple[list[tuple[str, str]], list[tuple[str, str]]]],
                verify: str) -> dict[str, Any]:
    """Each ``(warm, timed)`` chunk run by ``target`` (:func:`_read_queries` or
    :func:`_check_at_once`) in its own process, the timed parts all starting at once: the rate
    of all of them over the time from the first start to the last end."""
    ctx = mp.get_context("spawn")
    queue, start = ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=_guarded, args=(target, db, warm, timed, verify, start, queue))
             for warm, timed in chunks]
    for proc in procs:
        proc.start()
    try:
        for _ in procs:
            if "error" in (ready := queue.get(timeout=600)):
                raise SystemExit(f"a {target.__name__} process failed:\n{ready['error']}")
        start.set()
        done = [queue.get(timeout=600) for _ in procs]
    finally:
        start.set()
        for proc in procs:
            proc.join()
    if errors := [d["error"] for d in done if "error" in d]:
        raise SystemExit(f"a {target.__name__} process failed:\n{errors[0]}")
    count = sum(d["count"] for d in done)
    seconds = max(d["ended"] for d in done) - min(d["began"] for d in done)
    out = {"readers": len(chunks), "verify": verify, "count": count, "seconds": round(seconds, 3),
           "store_per_s": _rate(count, seconds), "per_reader_per_s": [_rate(d["count"], d["ended"] - d["began"])
                                                                       for d in done],
           "present_found_original": sum(d["present_found_original"] for d in done)}
    return out


def _check_batches(index: Any, documents: list[Any]) -> list[list[Any]]:
    """``documents`` prepared as ``check_many`` does, in batches of :data:`_MANY_BATCH`."""
    from dedup.store import batches

    return [index._entries(batch, store=True) for batch in batches(documents, _MANY_BATCH)]  # noqa: SLF001


def _checks_store_only(index: Any, prepared: list[list[Any]], verify: str) -> tuple[float, Counter[str]]:
    """Batches of :func:`_check_batches` checked as ``check_many`` does, each in one write
    transaction: the seconds in those transactions, and the relation of each first match
    (``new`` when none)."""
    relations: Counter[str] = Counter()
    total = 0.0
    for entries in prepared:
        start = time.perf_counter()
        for matches in index._check_entries(entries, limit=10, align=False,  # noqa: SLF001 - the store's steps
                                             candidates=None, verify=verify):
            relations[matches[0].relation if matches else "new"] += 1
        total += time.perf_counter() - start
    return total, relations


def _fresh_checks(db: str, docs: list[tuple[str, str]], cache_mb: int | None, queue: Any) -> None:
    """check_many's store-only shingles checks of texts no run met before, on a handle of its
    own in a process of its own (its own peak RSS): with the default page cache
    (``cache_mb=None``), or with ``cache_mb`` MiB and :meth:`~dedup.store.SyndicationIndex.preload`
    (timed apart): what a crawler that gives its handle room for the key tables gets. The
    documents are removed again."""
    from dedup import Document
    from dedup.store import SyndicationIndex

    options = {} if cache_mb is None else {"cache_mb": cache_mb}
    with SyndicationIndex(db, create=False, **options) as index:
        start = time.perf_counter()
        rows = index.preload() if cache_mb is not None else 0
        preload_seconds = time.perf_counter() - start
        total, relations = _checks_store_only(index, _check_batches(index, [Document(i, t) for i, t in docs]),
                                              "shingles")
        for i, _ in docs:
            index.remove(i)
    queue.put({"verify": "shingles", "batch": _MANY_BATCH, "cache_mb": cache_mb, "preload_rows": rows,
               "preload_seconds": round(preload_seconds, 2), "count": len(docs), "seconds": round(total, 2),
               "store_per_s": _rate(len(docs), total), "statuses": dict(relations),
               "peak_rss_mb": round(_peak_rss_mb(), 1)})


def _run_index(path: str, absent_path: str | None, n: int, sample: int, batch_size: int, workdir: str,
               overrides: dict[str, Any], jobs: int, batch_sample: int, cached_mb: int, queue: Any) -> None:
    from dedup import Document, ScanConfig
    from dedup.store import SyndicationIndex

    present, absent = query_sample(path, absent_path, n, sample)
    db = os.path.join(workdir, f"index-{n}.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    clock = _Clock()

    def instrument(index: SyndicationIndex) -> None:
        # the store's own steps, timed in place (instance attributes shadow the methods)
        for name, attr in (("prepare", "_entries"), ("lookup", "_lookup"), ("load", "_load"),
                           ("frequencies", "_frequencies"), ("insert", "_insert")):
            setattr(index, attr, clock.wrap(name, getattr(index, attr)))

    index = SyndicationIndex(db, ScanConfig.from_dict(overrides))
    instrument(index)
    read_seconds = 0.0

    def documents() -> Iterator[Document]:
        nonlocal read_seconds
        records = _records(path)
        for _ in range(n):
            start = time.perf_counter()
            r = next(records)
            doc = Document(r["id"], r["text"], title=r.get("title"), date=r.get("date"), source=r.get("source"))
            read_seconds += time.perf_counter() - start
            yield doc

    out: dict[str, Any] = {"docs": n, "batch_size": batch_size, "jobs": jobs, "config": overrides}
    start = time.perf_counter()
    index.add_many(documents(), batch_size=batch_size, jobs=jobs)
    # the keys still in the recent table are merged now, and counted in the add: the rate is
    # that of documents whose keys all reached the key tables (their steady state)
    merge_start = time.perf_counter()
    merged = index.merge()
    merge_seconds = time.perf_counter() - merge_start
    total = time.perf_counter() - start - read_seconds
    parts = clock.take()
    if jobs != 1:
        # workers prepare; this process encodes and writes: the store's part is the writing,
        # the rest of the time went to waiting for prepared batches
        parts["prepare"] = total - parts["insert"] - merge_seconds
    out["add"] = _split(n, total, parts)
    out["add"]["read_seconds"] = round(read_seconds, 2)
    out["add"]["final_merge"] = {"keys": merged, "seconds": round(merge_seconds, 2)}
    stats = index.stats()
    out["keys_per_doc"] = {"doc": round(stats["doc_keys"] / n, 1), "passage": round(stats["passage_keys"] / n, 1)}
    out["rss_after_add_mb"] = round(_peak_rss_mb(), 1)

    queries = [Document(i, t) for i, t in present + absent]
    is_present = [True] * len(present) + [False] * len(absent)
    # an untimed pass of band-key lookups over the sample first, as a long-running crawler's
    # handle would have read them: otherwise the first timed mode pays for the cold page cache
    # (at 1M, ~1,900 lookups/s on the first pass against ~8,500 on the next)
    warm_start = time.perf_counter()
    for e in index._entries(queries):  # noqa: SLF001 - the benchmark times the store's steps
        index._read(partial(SyndicationIndex._lookup, index, entry=e))  # noqa: SLF001
    out["warm_up_seconds"] = round(time.perf_counter() - warm_start, 2)
    clock.take()
    statuses_by_mode = {}
    for key, verify in (("query", "full"), ("query_shingles", "shingles")):
        found = {"present_found_original": 0, "present_with_match": 0, "absent_with_match": 0}
        results: list[Any] = []
        halves = []
        start = time.perf_counter()
        for part in (queries[:len(present)], queries[len(present):]):  # edited copies, then unseen
            part_start, prepare_before = time.perf_counter(), clock.seconds.get("prepare", 0.0)
            results += [index.query(q, limit=10, verify=verify) for q in part]
            prepared = clock.seconds.get("prepare", 0.0) - prepare_before
            halves.append((len(part), time.perf_counter() - part_start - prepared))
        total = time.perf_counter() - start
        parts = clock.take()
        parts["verify"] = total - sum(parts.values())  # the rest: IDF table, verification, ranking
        out[key] = _split(len(queries), total, parts)
        out[key]["verify_mode"] = verify
        # store-only rates of the two halves of the sample
        out[key]["store_per_s_edited_copies"] = _rate(*halves[0])
        out[key]["store_per_s_unseen"] = _rate(*halves[1])
        for q, here, matches in zip(queries, is_present, results, strict=True):
            if here:
                found["present_with_match"] += bool(matches)
                found["present_found_original"] += any(m.id == q.id[2:] for m in matches)
            else:
                found["absent_with_match"] += bool(matches)
        out[key].update(found)
        statuses_by_mode[verify] = [matches[0].relation if matches else "new" for matches in results]
    out["query_shingles"]["same_status_as_full"] = sum(
        a == b for a, b in zip(statuses_by_mode["full"], statuses_by_mode["shingles"], strict=True))

    # concurrent readers, each its own process and handle, on queries none of the runs met
    # before, after an untimed pass of as many other ones (a long-running crawler's caches hold
    # what other traffic read, not these queries' keys): 1 then 2 readers, in each mode
    half = sample // 2
    parts = 2 * 2 * sum(_READERS)  # modes x (warm, timed) x readers
    fresh_present, fresh_absent = query_sample(path, absent_path, n, parts * sample, seed=2,
                                               skip_absent=max(sample, batch_sample) // 2)
    unseen_taken = max(sample, batch_sample) // 2 + parts * sample // 2  # by the samples so far
    for part in (fresh_present, fresh_absent):  # in corpus order otherwise: each chunk its own range
        random.Random(2).shuffle(part)
    chunks = iter([fresh_present[i * half:(i + 1) * half] + fresh_absent[i * half:(i + 1) * half]
                   for i in range(parts)])
    out["concurrent_queries"] = [_concurrent(_read_queries, db, [(next(chunks), next(chunks)) for _ in range(readers)],
                                             verify)
                                 for verify in ("full", "shingles") for readers in _READERS]

    # query_many over a larger sample (worker processes take ~1 s to start): batches prepared
    # here (jobs 1) or on worker processes while this one answers the batch before (jobs 2)
    many_present, many_absent = query_sample(path, absent_path, n, batch_sample, seed=1)
    many = [Document(i, t) for i, t in many_present + many_absent]
    out["query_many"] = []
    first: dict[str, list[list[tuple[str, str]]]] = {}  # per verify mode, the first run's answers
    for batch_jobs, verify in _MANY_RUNS:
        start = time.perf_counter()
        answers = index.query_many(many, limit=10, batch_size=_MANY_BATCH, jobs=batch_jobs, verify=verify)
        total = time.perf_counter() - start
        clock.take()
        found = [[(m.id, m.relation) for m in r] for r in answers]
        out["query_many"].append({
            "jobs": batch_jobs, "verify": verify, "count": len(many), "seconds": round(total, 2),
            "per_s": _rate(len(many), total),
            "present_found_original": sum(any(m == q.id[2:] for m, _ in f) for q, f in zip(many, found, strict=True)
                                          if q.id.startswith("q-")),
            "same_answers": found == first.setdefault(verify, found)})

    # band-key look-up only (what an LSH query returns: candidates, nothing verified)
    entries = index._entries(queries)  # noqa: SLF001 - the benchmark times the store's steps
    clock.take()
    conn = index._conn  # noqa: SLF001
    assert conn is not None
    start = time.perf_counter()
    candidates = 0
    for e in entries:
        conn.execute("BEGIN")
        candidates += len(SyndicationIndex._lookup(index, conn, e))
        conn.execute("COMMIT")
    total = time.perf_counter() - start
    out["lookup_only"] = {"count": len(entries), "seconds": round(total, 3), "per_s": _rate(len(entries), total),
                          "mean_candidates": round(candidates / len(entries), 1)}

    checks = [Document("c-" + q.id, q.text) for q in queries]
    # check_many of the larger sample, its documents removed again after each run: the checks
    # one at a time below meet the same documents as the queries (the removals leave their
    # traces: frequency log rows, a fold perhaps)
    out["check_many"] = []
    for batch_jobs in _MANY_JOBS:
        to_check = [Document("m-" + q.id, q.text) for q in many]
        start = time.perf_counter()
        verdicts = index.check_many(to_check, limit=10, batch_size=_MANY_BATCH, jobs=batch_jobs)
        total = time.perf_counter() - start
        for c in to_check:
            index.remove(c.id)
        clock.take()
        out["check_many"].append({
            "jobs": batch_jobs, "count": len(to_check), "seconds": round(total, 2),
            "per_s": _rate(len(to_check), total), "statuses": dict(Counter(v.status for v in verdicts))})
    # the store's part of check_many: the batches prepared beforehand (untimed), then each
    # checked in one write transaction, every document atomically against other writers
    out["check_many_store"] = []
    for verify in ("full", "shingles"):
        to_check = [Document(f"b{verify[0]}-" + q.id, q.text) for q in many]
        total, relations = _checks_store_only(index, _check_batches(index, to_check), verify)
        clock.take()
        for c in to_check:
            index.remove(c.id)
        clock.take()
        out["check_many_store"].append({"verify": verify, "batch": _MANY_BATCH, "count": len(to_check),
                                        "seconds": round(total, 2), "store_per_s": _rate(len(to_check), total),
                                        "statuses": dict(relations)})
    if cached_mb:
        # texts none of the runs met (the samples above: after the first N + 8,500 unseen
        # ones), half checked by a handle with the default cache, half by one with cached_mb
        # and preload(), each in a process of its own
        fresh = query_sample(path, absent_path, n, 2 * batch_sample, seed=3,
                             skip_absent=unseen_taken)
        out["check_many_store_fresh"] = [
            _child(_fresh_checks, db, [(f"f{k}-" + i, t) for part in fresh for i, t in part[k::2]], mb)
            for k, mb in enumerate((None, cached_mb))]
        # fresh texts again, checked store-only by 1, then 2, processes at once (default
        # cache), each after an untimed pass of queries (a sixth of its texts): crawlers in
        # several processes take turns at the write lock
        more = query_sample(path, absent_path, n, sum(_READERS) * batch_sample * 6 // 10, seed=4,
                            skip_absent=unseen_taken + batch_sample)
        mixed = sorted(((f"m{k}-" + i, t) for k, part in enumerate(more) for i, t in part),
                       key=lambda d: random.Random(d[0]).random())  # edited copies and unseen mixed
        size = len(mixed) // sum(_READERS)
        slots = iter([(mixed[k * size:k * size + size // 6], mixed[k * size + size // 6:(k + 1) * size])
                      for k in range(sum(_READERS))])
        out["concurrent_checks"] = [_concurrent(_check_at_once, db, [next(slots) for _ in range(checkers)],
                                                "shingles")
                                    for checkers in _READERS]
        clock.take()
    # checks verified by shingles, their documents removed again afterwards
    shingle_checks = [Document("s-" + q.id, q.text) for q in queries]
    counted: Counter[str] = Counter()
    start = time.perf_counter()
    for c in shingle_checks:
        counted[index.check(c, limit=10, verify="shingles").status] += 1
    total = time.perf_counter() - start
    out["check_shingles"] = _split(len(shingle_checks), total, clock.take())
    out["check_shingles"]["statuses"] = dict(counted)
    # re-fetched pages: the same ids checked again with a line added, one at a time (prepared
    # untimed), each replacing its stored version, which the recent table still holds
    refetched = index._entries([Document(c.id, c.text + "\n\nUpdated.") for c in shingle_checks],  # noqa: SLF001
                               store=True)
    counted = Counter()
    start = time.perf_counter()
    for entry in refetched:
        matches = index._check_entries([entry], limit=10, align=False, candidates=None,  # noqa: SLF001
                                       verify="shingles")[0]
        counted[matches[0].relation if matches else "new"] += 1
    total = time.perf_counter() - start
    clock.take()
    out["check_refetched_store"] = {"verify": "shingles", "count": len(refetched), "seconds": round(total, 3),
                                    "store_per_s": _rate(len(refetched), total), "statuses": dict(counted)}
    for c in shingle_checks:
        index.remove(c.id)
    clock.take()
    statuses: dict[str, int] = {}
    start = time.perf_counter()
    for c in checks:
        status = index.check(c, limit=10).status
        statuses[status] = statuses.get(status, 0) + 1
    total = time.perf_counter() - start
    parts = clock.take()
    out["check"] = _split(len(checks), total, parts)
    out["check"]["statuses"] = statuses
    out["rss_after_checks"] = _rss_parts_mb()
    index.close()

    out["disk"] = _disk(db, n + len(checks))
    start = time.perf_counter()
    with SyndicationIndex(db) as reopened:
        count = len(reopened)
    out["reopen_seconds"] = round(time.perf_counter() - start, 4)
    out["reopen_documents"] = count
    with sqlite3.connect(db) as conn:  # the oldest ~10 % by stored time (whole batches share a time)
        row = conn.execute("SELECT added FROM docs ORDER BY added, rowid LIMIT 1 OFFSET ?",
                           (max(n // 10, batch_size),)).fetchone()
    with SyndicationIndex(db) as reopened:  # a crawler's sliding window: the oldest tenth goes
        start = time.perf_counter()
        evicted = reopened.evict(before=row[0]) if row is not None else 0
        seconds = time.perf_counter() - start
    out["evict"] = {"count": evicted, "seconds": round(seconds, 2), "per_s": _rate(evicted, seconds)}
    out["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    queue.put(out)


def _run_datasketch(path: str, absent_path: str | None, n: int, sample: int, queue: Any) -> None:
    from baseline import shingles
    from datasketch import MinHash, MinHashLSH

    present, absent = query_sample(path, absent_path, n, sample)

    def minhash(text: str) -> MinHash:
        m = MinHash(num_perm=128)
        m.update_batch([s.encode("utf-8") for s in shingles(text)])
        return m

    lsh = MinHashLSH(threshold=0.5, num_perm=128)
    prep = insert = 0.0
    records = _records(path)
    with lsh.insertion_session() as session:
        for _ in range(n):
            r = next(records)
            t0 = time.perf_counter()
            m = minhash(r["text"])
            t1 = time.perf_counter()
            session.insert(r["id"], m)
            insert += time.perf_counter() - t1
            prep += t1 - t0
    out: dict[str, Any] = {"docs": n}
    total = prep + insert
    out["add"] = {"count": n, "seconds": round(total, 2), "per_s": _rate(n, total), "prepare_seconds": round(prep, 2),
                  "store_seconds": round(insert, 2), "store_per_s": _rate(n, insert)}
    prep = look = 0.0
    hits = {"present_found_original": 0, "absent_with_match": 0}
    for qid, text in present + absent:
        t0 = time.perf_counter()
        m = minhash(text)
        t1 = time.perf_counter()
        found = lsh.query(m)
        look += time.perf_counter() - t1
        prep += t1 - t0
        if qid.startswith("q-"):
            hits["present_found_original"] += qid[2:] in found
        else:
            hits["absent_with_match"] += bool(found)
    count = len(present) + len(absent)
    out["query"] = {"count": count, "seconds": round(prep + look, 2), "per_s": _rate(count, prep + look),
                    "prepare_seconds": round(prep, 2), "store_seconds": round(look, 3),
                    "store_per_s": _rate(count, look), **hits}
    out["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    queue.put(out)


def _guarded(target: Callable[..., None], *args: Any) -> None:
    """``target(*args)`` in a child; a failure is sent back instead of leaving the parent waiting."""
    try:
        target(*args)
    except BaseException:
        args[-1].put({"error": traceback.format_exc()})


def _child(target: Any, *args: Any) -> dict[str, Any]:
    """``target(*args, queue)`` run in a child process (its own peak RSS): what it puts on the
    queue, or SystemExit with its traceback if it failed."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_guarded, args=(target, *args, queue))
    proc.start()
    while True:
        try:
            result = queue.get(timeout=5)
            break
        except Empty:
            if not proc.is_alive():  # killed (out of memory, a signal) before it could report
                raise SystemExit(f"{target.__name__}: its process died with exit code {proc.exitcode}") from None
    proc.join()
    if "error" in result:
        raise SystemExit(f"{target.__name__} failed in its process:\n{result['error']}")
    return result


def measure(path: str, sizes: list[int], *, absent: str | None, sample: int, batch_size: int, workdir: str,
            datasketch: bool = True, overrides: dict[str, Any] | None = None, jobs: int = 1,
            batch_sample: int = 5000, cached_mb: int = CACHED_MB, log: Callable[[str], None] = print
            ) -> dict[str, Any]:
    os.makedirs(workdir, exist_ok=True)
    runs = []
    for n in sizes:
        log(f"dedup index, {n:,} documents ...")
        run: dict[str, Any] = {"size": n, "dedup": _child(_run_index, path, absent, n, sample, batch_size, workdir,
                                                          overrides or {}, jobs, batch_sample, cached_mb)}
        if datasketch:
            log(f"datasketch MinHashLSH, {n:,} documents ...")
            run["datasketch"] = _child(_run_datasketch, path, absent, n, sample)
        runs.append(run)
    return {
        "corpus": path,
        "absent": absent,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {mp.cpu_count()} cores, Python {platform.python_version()}, "
                   f"SQLite {sqlite3.sqlite_version}",
        "sample": sample,
        "batch_sample": batch_sample,
        "cached_mb": cached_mb,
        "config": overrides or {},
        "runs": runs,
    }


def _final_merge(add: dict[str, Any]) -> str:
    merge = add.get("final_merge")
    return f"; final merge of {merge['keys']:,} keys {merge['seconds']}s, included" if merge else ""


def render(m: dict[str, Any]) -> str:
    config = ", ".join(f"{k}={v}" for k, v in m.get("config", {}).items()) or "default configuration"
    lines = [f"corpus {m['corpus']} ({m['machine']}, {m['date']}, query sample {m['sample']}, {config})", ""]
    lines += ["| docs | what | total/s | prepare s | store s | store-only /s | notes |",
              "|---|---|---|---|---|---|---|"]
    for run in m["runs"]:
        n, d = run["size"], run["dedup"]
        a, q, c = d["add"], d["query"], d["check"]
        keys = d.get("keys_per_doc", {})
        how = f"batch {d['batch_size']}" + (f", jobs {d['jobs']}" if d.get("jobs", 1) != 1 else "")
        lines.append(f"| {n:,} | dedup add_many ({how}) | {a['per_s']} | {a['prepare_seconds']} | "
                     f"{a['store_seconds']} | {a['store_per_s']} | {keys.get('doc')} + {keys.get('passage')} "
                     f"band keys/doc{_final_merge(a)} |")
        lines.append(f"| {n:,} | dedup query | {q['per_s']} | {q['prepare_seconds']} | {q['store_seconds']} | "
                     f"{q['store_per_s']} | lookup {q.get('lookup_seconds', 0)}s, load {q.get('load_seconds', 0)}s, "
                     f"df {q.get('frequencies_seconds', 0)}s, verify {q.get('verify_seconds', 0)}s; "
                     f"{q['present_found_original']}/{m['sample'] // 2} edited copies found, "
                     f"{q['absent_with_match']}/{m['sample'] // 2} unseen matched |")
        many = m.get("batch_sample", 0)
        if "query_shingles" in d:
            qs = d["query_shingles"]
            lines.append(f"| {n:,} | dedup query, verify shingles | {qs['per_s']} | {qs['prepare_seconds']} | "
                         f"{qs['store_seconds']} | {qs['store_per_s']} | store-only {qs['store_per_s_edited_copies']}/s"
                         f" edited copies, {qs['store_per_s_unseen']}/s unseen (full: "
                         f"{q['store_per_s_edited_copies']} and {q['store_per_s_unseen']}); "
                         f"{qs['present_found_original']}/{m['sample'] // 2} edited copies found, "
                         f"{qs['absent_with_match']}/{m['sample'] // 2} unseen matched; "
                         f"{qs['same_status_as_full']}/{m['sample']} statuses as full's |")
        for qm in d.get("query_many", []):
            verify = qm.get("verify", "full")
            same = "" if verify != "full" else (
                f"; answers {'the same as' if qm['same_answers'] else 'DIFFERENT from'} jobs 1's")
            lines.append(f"| {n:,} | dedup query_many (batch {_MANY_BATCH}, jobs {qm['jobs']}, verify {verify}) | "
                         f"{qm['per_s']} | | | | {qm['count']:,} queries; {qm['present_found_original']}/{many // 2} "
                         f"edited copies found{same} |")
        for cq in d.get("concurrent_queries", []):
            lines.append(f"| {n:,} | dedup query, {cq['readers']} reader process(es) at once, verify {cq['verify']}"
                         f" | | | {cq['seconds']} | {cq['store_per_s']} | fresh queries; per reader "
                         f"{cq['per_reader_per_s']}/s; {cq['present_found_original']}/{cq['count'] // 2} "
                         f"edited copies found |")
        lines.append(f"| {n:,} | dedup band-key lookup only | | | {d['lookup_only']['seconds']} | "
                     f"{d['lookup_only']['per_s']} | {d['lookup_only']['mean_candidates']} candidates/query |")
        lines.append(f"| {n:,} | dedup check | {c['per_s']} | {c['prepare_seconds']} | {c['store_seconds']} | "
                     f"{c['store_per_s']} | {c['statuses']} |")
        if "check_shingles" in d:
            cs = d["check_shingles"]
            lines.append(f"| {n:,} | dedup check, verify shingles | {cs['per_s']} | {cs['prepare_seconds']} | "
                         f"{cs['store_seconds']} | {cs['store_per_s']} | {cs['statuses']} |")
        if "check_refetched_store" in d:
            cr = d["check_refetched_store"]
            lines.append(f"| {n:,} | dedup check of re-fetched pages, store only (verify {cr['verify']}) | | | "
                         f"{cr['seconds']} | {cr['store_per_s']} | ids checked again, each replacing a recent "
                         f"document: {cr['statuses']} |")
        for cm in d.get("check_many", []):
            lines.append(f"| {n:,} | dedup check_many (batch {_MANY_BATCH}, jobs {cm['jobs']}) | {cm['per_s']} | | | | "
                         f"{cm['count']:,} checks: {cm['statuses']} |")
        for cm in d.get("check_many_store", []):
            lines.append(f"| {n:,} | dedup check_many, store only (batch {cm['batch']}, verify {cm['verify']}) | | | "
                         f"{cm['seconds']} | {cm['store_per_s']} | {cm['count']:,} checks: {cm['statuses']} |")
        for cc in d.get("concurrent_checks", []):
            lines.append(f"| {n:,} | dedup check_many of fresh texts, store only (batch {_MANY_BATCH}, verify "
                         f"{cc['verify']}), {cc['readers']} process(es) at once | | | {cc['seconds']} | "
                         f"{cc['store_per_s']} | per process {cc['per_reader_per_s']}/s; "
                         f"{cc['present_found_original']}/{cc['count']} matched |")
        for cf in d.get("check_many_store_fresh", []):
            cache = (f"cache_mb={cf['cache_mb']} and preload() of {cf['preload_rows']:,} key rows in "
                     f"{cf['preload_seconds']}s (untimed)" if cf["cache_mb"] else "default cache")
            lines.append(f"| {n:,} | dedup check_many of fresh texts, store only (batch {cf['batch']}, verify "
                         f"{cf['verify']}), {cache} | | | {cf['seconds']} | {cf['store_per_s']} | {cf['count']:,} "
                         f"checks: {cf['statuses']}; its process's peak RSS {cf['peak_rss_mb']} MB |")
        if "evict" in d:
            e = d["evict"]
            lines.append(f"| {n:,} | dedup evict (oldest tenth) | | | {e['seconds']} | {e['per_s']} | "
                         f"{e['count']:,} documents removed |")
        if "datasketch" in run:
            x = run["datasketch"]
            lines.append(f"| {n:,} | datasketch insert | {x['add']['per_s']} | {x['add']['prepare_seconds']} | "
                         f"{x['add']['store_seconds']} | {x['add']['store_per_s']} | |")
            xq = x["query"]
            lines.append(f"| {n:,} | datasketch query | {xq['per_s']} | {xq['prepare_seconds']} | "
                         f"{xq['store_seconds']} | {xq['store_per_s']} | {xq['present_found_original']}/"
                         f"{m['sample'] // 2} edited copies found, {xq['absent_with_match']}/{m['sample'] // 2} "
                         f"unseen matched; candidates only |")
    lines += ["", "| docs | dedup reopen s | dedup disk B/doc | fingerprint B/doc (doc-level + passage) | "
                  "dedup peak RSS MB (after add; after the checks) | datasketch peak RSS MB |",
              "|---|---|---|---|---|---|"]
    for run in m["runs"]:
        d, disk = run["dedup"], run["dedup"]["disk"]
        fp = (f"{disk['fingerprint_bytes_per_doc']} ({disk['doc_level_fingerprint_bytes_per_doc']} + "
              f"{disk['passage_fingerprint_bytes_per_doc']})" if "fingerprint_bytes_per_doc" in disk else "n/a")
        ds = run.get("datasketch", {}).get("peak_rss_mb", "")
        parts = d.get("rss_after_checks") or {}
        now = (f"; after the checks {parts.get('anon_mb')} anonymous + {parts.get('file_mb')} file"
               if parts else "")
        lines.append(f"| {run['size']:,} | {d['reopen_seconds']} | {disk['bytes_per_doc']} | {fp} | "
                     f"{d['peak_rss_mb']} ({d['rss_after_add_mb']}{now}) | {ds} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("docs", help="JSON Lines corpus with id and text (benchmarks/corpus.py output)")
    parser.add_argument("--sizes", default="10000,100000", help="index sizes, comma-separated (default 10000,100000)")
    parser.add_argument("--absent", default=None, help="corpus to take unseen query documents from when DOCS has "
                                                       "too few beyond the largest size")
    parser.add_argument("--sample", type=int, default=1000, help="queries and checks per size (default 1000)")
    parser.add_argument("--batch-size", type=int, default=500, help="add_many batch size (default 500)")
    parser.add_argument("--batch-sample", type=int, default=5000,
                        help="queries and checks through query_many and check_many, drawn as the sample is "
                             "(default 5000: worker processes take about a second to start)")
    parser.add_argument("--jobs", type=int, default=1, help="add_many jobs: processes preparing documents (default "
                                                            "1: this one; then store-only = time in the write "
                                                            "transactions)")
    parser.add_argument("--workdir", default=None, help="where the index files go (default: a temporary folder, "
                                                        "deleted afterwards)")
    parser.add_argument("--cached-mb", type=int, default=CACHED_MB,
                        help=f"cache_mb of a handle that checks fresh texts after preload(), next to one with "
                             f"the default cache, each in a process of its own (default {CACHED_MB}; 0 skips "
                             f"both runs)")
    parser.add_argument("--no-datasketch", action="store_true", help="skip the datasketch MinHashLSH runs")
    parser.add_argument("--json", dest="json_out", help="also write the measurement as JSON")
    add_set_option(parser, "the index")
    args = parser.parse_args(argv)
    overrides = parse_overrides(args.overrides)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    with working_dir(args.workdir, "index-bench-") as workdir:
        m = measure(args.docs, sizes, absent=args.absent, sample=args.sample, batch_size=args.batch_size,
                    workdir=workdir, datasketch=not args.no_datasketch, overrides=overrides, jobs=args.jobs,
                    batch_sample=args.batch_sample, cached_mb=args.cached_mb,
                    log=lambda s: print(s, file=sys.stderr, flush=True))
    return emit(m, render(m), args.json_out)


if __name__ == "__main__":
    raise SystemExit(main())
