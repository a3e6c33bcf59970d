"""Add, query and check rates and Redis memory of the Redis syndication index (dedup.redis_store),
next to datasketch's ``MinHashLSH`` with its Redis storage, on the same server in the same run.

For each size N, one child process per backend (so that each peak RSS is its own):

- **dedup** ``RedisSyndicationIndex`` (a fresh namespace, cleared afterwards): the first N
  documents are added with ``add_many`` (one ``MULTI``/``EXEC`` per batch); a query sample (half
  indexed documents with their last paragraph cut and a new id, half unseen ones, as in
  index_bench.py) goes through ``query`` one at a time, then ``query_many`` (batches of 100,
  jobs 1; its answers compared with ``query``'s), the sample again with ``verify="shingles"``
  (``query``, then ``check`` under other ids, removed afterwards), then ``check`` (query, then
  add under ``WATCH``) under new ids. Each rate is split into *preparing* (the ``Fingerprinter`` work,
  the same for any store) and *store* time (the rest: round trips, encoding, decoding, and for
  queries the verification of candidates, itemised as lookup, load, df and verify).
- **datasketch** ``MinHashLSH(threshold=0.5, num_perm=128)``, storage type ``redis`` under its
  own key prefix (deleted afterwards), MinHash of lowercased word 5-grams: N inserted in an
  ``insertion_session`` (commands buffered, but each insert first asks Redis whether its key
  exists); the same sample through ``lsh.query`` (candidates only, nothing verified; one
  ``SMEMBERS`` round trip per band); check-then-insert: ``lsh.query`` then ``lsh.insert``.

Memory: Redis ``used_memory`` (``INFO memory``) and ``DBSIZE`` before and after each backend's
adds. Without ``--url``, a ``redis-server`` is started on a free port of 127.0.0.1 with
persistence off (``--save "" --appendonly no``: no snapshot or AOF writes are timed) and
stopped at the end; a server given with ``--url`` runs as configured (the output says how).

Usage::

    python benchmarks/redis_bench.py benchmarks/out/c20k/docs.jsonl [--sizes 10000] [--absent OTHER.jsonl] \\
        [--sample 1000] [--batch-size 500] [--no-datasketch] [--url redis://127.0.0.1:6379/0] \\
        [--set passage_lsh=[6,3]] [--json out.json]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from index_bench import _child, _Clock, _peak_rss_mb, _records, _split, query_sample  # noqa: E402
from output import emit  # noqa: E402
from overrides import add_set_option, parse_overrides  # noqa: E402

#: query_many's batches, prepared in the answering process
_MANY_BATCH = 100


@contextmanager
def redis_server(url: str | None) -> Iterator[str]:
    """The URL of ``url``'s server, or of a ``redis-server`` started here (stopped on exit)."""
    try:
        import redis
    except ImportError:
        raise SystemExit("the redis package is not installed: pip install 'dedup[redis]'") from None
    if url:
        yield url
        return
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server not found on PATH (apt-get install redis-server), or give --url redis://...")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="redis-bench-") as workdir:
        log_path = Path(workdir) / "redis.log"
        with open(log_path, "wb") as log_file:
            proc = subprocess.Popen([binary, "--port", str(port), "--save", "", "--appendonly", "no", "--bind",
                                     "127.0.0.1", "--dir", workdir], stdout=log_file, stderr=subprocess.STDOUT)
        url, deadline = f"redis://127.0.0.1:{port}/0", time.monotonic() + 10
        try:
            with redis.Redis.from_url(url) as client:
                while True:
                    with suppress(redis.exceptions.ConnectionError):
                        if client.ping():
                            break
                    if proc.poll() is not None or time.monotonic() > deadline:
                        tail = log_path.read_text(errors="replace")[-500:]
                        raise SystemExit(f"redis-server did not answer PING on port {port} within 10 s: {tail}")
                    time.sleep(0.05)
            yield url
        finally:
            proc.terminate()
            with suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
            proc.kill()  # nothing when it has ended
            proc.wait()


def _memory(client: Any) -> tuple[int, int]:
    """``(used_memory bytes, keys)`` of the server's database."""
    return int(client.info("memory")["used_memory"]), int(client.dbsize())


def _footprint(before: tuple[int, int], after: tuple[int, int], n: int) -> dict[str, Any]:
    return {"used_memory_before": before[0], "used_memory_after": after[0],
            "bytes_per_doc": round((after[0] - before[0]) / n), "dbsize_before": before[1], "dbsize_after": after[1],
            "keys_per_doc": round((after[1] - before[1]) / n, 1)}


def _run_dedup(path: str, absent_path: str | None, n: int, sample: int, batch_size: int, url: str,
               overrides: dict[str, Any], queue: Any) -> None:
    import redis

    from dedup import Document, ScanConfig
    from dedup.redis_store import RedisSyndicationIndex

    present, absent = query_sample(path, absent_path, n, sample)
    queries = [Document(i, t) for i, t in present + absent]
    client = redis.Redis.from_url(url)
    namespace = f"redis-bench-{uuid.uuid4().hex[:12]}"
    index = RedisSyndicationIndex(url, ScanConfig.from_dict(overrides), namespace=namespace)
    clock = _Clock()
    for name, attr in (("prepare", "_entries"), ("lookup", "_lookup"), ("load", "_load"), ("load", "_load_shingles"),
                       ("df", "_frequencies")):
        setattr(index, attr, clock.wrap(name, getattr(index, attr)))  # instance attributes shadow the methods
    out: dict[str, Any] = {"docs": n, "batch_size": batch_size, "namespace": index.namespace, "config": overrides}
    try:
        records = _records(path)
        read = clock.wrap("read", lambda: next(records))
        before = _memory(client)
        start = time.perf_counter()
        index.add_many((Document(r["id"], r["text"], title=r.get("title"), date=r.get("date"), source=r.get("source"))
                        for r in (read() for _ in range(n))), batch_size=batch_size)
        out["add"] = _timed(n, time.perf_counter() - start, clock)
        out["memory"] = _footprint(before, _memory(client), n)
        stats = index.stats()
        out["stored"] = len(index)
        out["keys_per_doc"] = {"doc": round(stats["doc_keys"] / n, 1), "passage": round(stats["passage_keys"] / n, 1)}
        start = time.perf_counter()
        results = [index.query(q, limit=10) for q in queries]
        out["query"] = _timed(len(queries), time.perf_counter() - start, clock, "verify")
        found = [any(m.id == q.id[2:] for m in r) for q, r in zip(queries, results, strict=True)]
        out["query"].update(present_found_original=sum(found[:len(present)]),
                            absent_with_match=sum(bool(r) for r in results[len(present):]))
        start = time.perf_counter()
        answers = index.query_many(queries, limit=10, batch_size=_MANY_BATCH, jobs=1)
        out["query_many"] = _timed(len(queries), time.perf_counter() - start, clock, "verify")
        out["query_many"]["same_answers"] = ([[(m.id, m.relation) for m in r] for r in answers]
                                             == [[(m.id, m.relation) for m in r] for r in results])
        start = time.perf_counter()
        quick = [index.query(q, limit=10, verify="shingles") for q in queries]
        out["query_shingles"] = _timed(len(queries), time.perf_counter() - start, clock, "verify")
        out["query_shingles"].update(
            present_found_original=sum(any(m.id == q.id[2:] for m in r) for q, r in zip(queries, quick, strict=True)),
            absent_with_match=sum(bool(r) for r in quick[len(present):]))
        # checks verified by shingles, their documents removed again afterwards
        start = time.perf_counter()
        verdicts = [index.check(Document("s-" + q.id, q.text), limit=10, verify="shingles") for q in queries]
        out["check_shingles"] = _timed(len(queries), time.perf_counter() - start, clock, "verify_and_add")
        out["check_shingles"]["statuses"] = dict(Counter(v.status for v in verdicts))
        for q in queries:
            index.remove("s-" + q.id)
        clock.take()
        start = time.perf_counter()
        verdicts = [index.check(Document("c-" + q.id, q.text), limit=10) for q in queries]
        out["check"] = _timed(len(queries), time.perf_counter() - start, clock, "verify_and_add")
        out["check"]["statuses"] = dict(Counter(v.status for v in verdicts))
        out["stored_after_checks"] = len(index)
        out["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    finally:
        out["cleared_keys"] = index.clear()
        index.close()
        client.close()
    queue.put(out)


def _timed(count: int, total: float, clock: _Clock, rest: str | None = None) -> dict[str, Any]:
    """``_split`` of the clock's parts, reading the corpus left out; ``rest``: the name of the time
    no part took (IDF table, verification, ranking, and a check's add)."""
    parts = clock.take()
    if rest:
        parts[rest] = total - sum(parts.values())
    return _split(count, total - parts.get("read", 0.0), parts)


def _run_datasketch(path: str, absent_path: str | None, n: int, sample: int, url: str, queue: Any) -> None:
    import redis
    from baseline import shingles
    from datasketch import MinHash, MinHashLSH

    present, absent = query_sample(path, absent_path, n, sample)
    client = redis.Redis.from_url(url)
    basename = f"redis-bench-ds-{uuid.uuid4().hex[:12]}".encode()
    where = urlsplit(url)
    params = {"host": where.hostname or "127.0.0.1", "port": where.port or 6379,
              "db": int(where.path.lstrip("/") or 0), "username": where.username, "password": where.password}
    clock = _Clock()

    def minhash(text: str) -> MinHash:
        m = MinHash(num_perm=128)
        m.update_batch([s.encode("utf-8") for s in shingles(text)])
        return m

    prepare = clock.wrap("prepare", minhash)
    before = _memory(client)
    lsh = MinHashLSH(threshold=0.5, num_perm=128,
                     storage_config={"type": "redis", "basename": basename, "redis": params})
    out: dict[str, Any] = {"docs": n, "basename": basename.decode(), "bands": lsh.b, "rows": lsh.r}
    try:
        records = _records(path)
        read = clock.wrap("read", lambda: next(records))
        start = time.perf_counter()
        with lsh.insertion_session() as session:
            for r in (read() for _ in range(n)):
                session.insert(r["id"], prepare(r["text"]))
        out["add"] = _timed(n, time.perf_counter() - start, clock)
        out["memory"] = _footprint(before, _memory(client), n)
        start = time.perf_counter()
        found = [lsh.query(prepare(text)) for _, text in present + absent]
        out["query"] = _timed(len(found), time.perf_counter() - start, clock)
        hits = [q[2:] in f for (q, _), f in zip(present, found, strict=False)]
        out["query"].update(present_found_original=sum(hits), absent_with_match=sum(map(bool, found[len(present):])))
        matched = 0
        start = time.perf_counter()
        for qid, text in present + absent:
            m = prepare(text)
            matched += bool(lsh.query(m))
            lsh.insert("c-" + qid, m)
        out["check"] = _timed(len(found), time.perf_counter() - start, clock)
        out["check"]["with_candidates"] = matched
        out["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    finally:
        keys = list(client.scan_iter(match=basename + b"*", count=1000))
        for i in range(0, len(keys), 1000):
            client.delete(*keys[i:i + 1000])
        out["cleared_keys"] = len(keys)
        client.close()
    queue.put(out)


def measure(path: str, sizes: list[int], *, absent: str | None, sample: int, batch_size: int, url: str,
            datasketch: bool = True, overrides: dict[str, Any] | None = None,
            log: Callable[[str], None] = print) -> dict[str, Any]:
    import redis

    with redis.Redis.from_url(url) as client:
        server = client.info("server")
        try:
            config = client.config_get("save") | client.config_get("appendonly")
            persistence = f"save {config.get('save')!r}, appendonly {config.get('appendonly')}"
        except redis.exceptions.ResponseError:  # CONFIG refused (a managed server)
            persistence = "unknown (CONFIG refused)"
    where = urlsplit(url)
    runs = []
    for n in sizes:
        log(f"dedup RedisSyndicationIndex, {n:,} documents ...")
        run: dict[str, Any] = {"size": n, "dedup": _child(_run_dedup, path, absent, n, sample, batch_size, url,
                                                        overrides or {})}
        if datasketch:
            log(f"datasketch MinHashLSH on Redis, {n:,} documents ...")
            run["datasketch"] = _child(_run_datasketch, path, absent, n, sample, url)
        runs.append(run)
    return {"corpus": path, "absent": absent, "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": f"{platform.machine()}, {mp.cpu_count()} cores, Python {platform.python_version()}",
            "redis": {"version": server.get("redis_version"), "url": f"{where.hostname}:{where.port}{where.path}",
                      "persistence": persistence},
            "sample": sample, "config": overrides or {}, "runs": runs}


def _row(n: int, what: str, r: dict[str, Any], notes: str) -> str:
    return (f"| {n:,} | {what} | {r['per_s']} | {r['prepare_seconds']} | {r['store_seconds']} | "
            f"{r['store_per_s']} | {notes} |")


def _found(q: dict[str, Any], half: int) -> str:
    return f"{q['present_found_original']}/{half} edited copies found, {q['absent_with_match']}/{half} unseen matched"


def render(m: dict[str, Any]) -> str:
    config = ", ".join(f"{k}={v}" for k, v in m["config"].items()) or "default configuration"
    rs, half = m["redis"], m["sample"] // 2
    lines = [f"corpus {m['corpus']} ({m['machine']}, {m['date']}, query sample {m['sample']}, {config})",
             f"Redis {rs['version']} at {rs['url']}, persistence: {rs['persistence']}", "",
             "| docs | what | total/s | prepare s | store s | store-only /s | notes |", "|---|---|---|---|---|---|---|"]
    for run in m["runs"]:
        n, d = run["size"], run["dedup"]
        q, keys = d["query"], d["keys_per_doc"]
        lines.append(_row(n, f"dedup add_many (batch {d['batch_size']})", d["add"],
                          f"{keys['doc']} + {keys['passage']} band keys/doc; {d['stored']:,} stored"))
        lines.append(_row(n, "dedup query", q, f"lookup {q.get('lookup_seconds', 0)}s, load "
                          f"{q.get('load_seconds', 0)}s, df {q.get('df_seconds', 0)}s, verify {q['verify_seconds']}s; "
                          f"{_found(q, half)}"))
        qm = d["query_many"]
        lines.append(_row(n, f"dedup query_many (batch {_MANY_BATCH}, jobs 1)", qm,
                          f"answers {'the same as' if qm['same_answers'] else 'DIFFERENT from'} query's"))
        lines.append(_row(n, "dedup check", d["check"], str(d["check"]["statuses"])))
        if "query_shingles" in d:
            quick = d["query_shingles"]
            lines.append(_row(n, "dedup query, verify shingles", quick, _found(quick, half)))
            lines.append(_row(n, "dedup check, verify shingles", d["check_shingles"],
                              str(d["check_shingles"]["statuses"])))
        if "datasketch" in run:
            x = run["datasketch"]
            lines.append(_row(n, "datasketch insert (insertion_session)", x["add"],
                              f"{x['bands']} bands x {x['rows']} rows"))
            lines.append(_row(n, "datasketch query", x["query"], f"{_found(x['query'], half)}; candidates only"))
            lines.append(_row(n, "datasketch check-then-insert", x["check"],
                              f"{x['check']['with_candidates']}/{m['sample']} with candidates"))
    lines.append("")
    for run in m["runs"]:
        each = [f"{name} {run[name]['memory']['bytes_per_doc']:,} B/doc ({run[name]['memory']['keys_per_doc']} "
                f"keys/doc, client peak RSS {run[name]['peak_rss_mb']} MB)" for name in ("dedup", "datasketch")
                if name in run]
        lines.append(f"{run['size']:,} docs, Redis used_memory after the adds: {'; '.join(each)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("docs", help="JSON Lines corpus with id and text (benchmarks/corpus.py output)")
    parser.add_argument("--sizes", default="10000", help="index sizes, comma-separated (default 10000)")
    parser.add_argument("--absent", help="corpus of unseen query documents, when DOCS has too few beyond a size")
    parser.add_argument("--sample", type=int, default=1000, help="queries and checks per size (default 1000)")
    parser.add_argument("--batch-size", type=int, default=500, help="add_many batch size (default 500)")
    parser.add_argument("--url", help="a running Redis server, redis://HOST:PORT/DB (default: start one, unsaved)")
    parser.add_argument("--no-datasketch", action="store_true", help="skip datasketch's MinHashLSH on Redis")
    parser.add_argument("--json", dest="json_out", help="also write the measurement as JSON")
    add_set_option(parser, "the index")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    with redis_server(args.url) as url:
        m = measure(args.docs, sizes, absent=args.absent, sample=args.sample, batch_size=args.batch_size, url=url,
                    datasketch=not args.no_datasketch, overrides=parse_overrides(args.overrides),
                    log=lambda s: print(s, file=sys.stderr, flush=True))
    return emit(m, render(m), args.json_out)


if __name__ == "__main__":
    raise SystemExit(main())
