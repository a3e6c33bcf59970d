"""Throughput of ``dedup scan`` next to the plain datasketch pipeline, measured in the same run.

Each measurement runs in its own child process, so its peak RSS is its own. The dedup side
is timed end to end (reading the JSON Lines file included) and per stage; the datasketch
side (word 5-grams, ``MinHash.update`` per shingle, ``MinHashLSH``; see baseline.py) runs on
the first ``--baseline-limit`` documents, since it is slow, and its docs/s are compared.

Usage::

    python benchmarks/throughput.py benchmarks/out/c20k/docs.jsonl [--limit N] \\
        [--baseline-limit 5000] [--jobs 1] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import resource
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from queue import Empty
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from output import emit  # noqa: E402


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _records(path: str, limit: int | None) -> Iterator[dict[str, Any]]:
    """The corpus's records, read as they are consumed (a scan streams them)."""
    count = 0
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if limit is not None and count >= limit:
                return
            if line.strip():
                count += 1
                yield json.loads(line)


def _read(path: str, limit: int | None) -> list[dict[str, Any]]:
    return list(_records(path, limit))


def _tree_rss_mb(pid: int) -> dict[int, float]:
    """Resident memory of ``pid`` and of each of its descendants (Linux /proc), in MB.

    Descendants, not only children: with ``forkserver`` the pool's workers are children of
    the fork server, itself a child of this process.
    """
    parent: dict[int, int] = {}
    rss: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        child = int(stat.parent.name)
        parent[child] = int(fields[1])  # parent pid
        rss[child] = int(fields[21])  # resident pages
    out = {}
    for proc, pages in rss.items():
        node = proc
        while node not in (pid, 0, 1) and node in parent:
            node = parent[node]
        if node == pid:
            out[proc] = pages * resource.getpagesize() / 2**20
    return out


class _TreeRssSampler(threading.Thread):
    """Samples the RSS of this process and its workers twice a second: the peak of their sum
    (``peak``) and the largest peak of one process other than this one (``worker_peak``)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0.0
        self.worker_peak = 0.0
        self._stop_event = threading.Event()

    def run(self) -> None:
        pid = os.getpid()
        while not self._stop_event.wait(0.5):
            sizes = _tree_rss_mb(pid)
            self.peak = max(self.peak, sum(sizes.values()))
            self.worker_peak = max([self.worker_peak, *(mb for p, mb in sizes.items() if p != pid)])

    def stop(self) -> float:
        self._stop_event.set()
        self.join()
        return self.peak


def _run_dedup(path: str, limit: int | None, jobs: int, queue: Any) -> None:
    from dedup import Document, scan_documents

    sampler = _TreeRssSampler()
    sampler.start()
    start = time.perf_counter()
    # streamed: the scan reads the file as it goes (its "read" time includes counting lines)
    docs = (Document(r["id"], r["text"], title=r.get("title"), date=r.get("date"), source=r.get("source"))
            for r in _records(path, limit))
    kwargs = {"jobs": jobs} if jobs != 1 else {}
    result = scan_documents(docs, **kwargs)
    total = time.perf_counter() - start
    n = int(result.stats["documents"])
    stats = dict(result.stats)
    tree_peak = sampler.stop()
    queue.put({
        "docs": n, "seconds": round(total, 2), "docs_per_s": round(n / total, 1),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        # worker processes (sampled: children or the fork server's children), and the sampled
        # peak of all processes together
        "worker_peak_rss_mb": round(sampler.worker_peak, 1),
        "all_processes_peak_rss_mb": round(max(tree_peak, _peak_rss_mb()), 1),
        "stats": stats,
    })


def _run_baseline(path: str, limit: int, queue: Any) -> None:
    sys.path.insert(0, str(HERE))
    from baseline import run_baseline

    records = _read(path, limit)
    start = time.perf_counter()
    out = run_baseline([(r["id"], r["text"]) for r in records], threshold=0.5)
    total = time.perf_counter() - start
    queue.put({"docs": len(records), "seconds": round(total, 2), "docs_per_s": round(len(records) / total, 1),
               "peak_rss_mb": round(_peak_rss_mb(), 1), "pairs": len(out["pairs"])})


def _child(target: Any, *args: Any) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, queue))
    proc.start()
    while True:  # a child that dies without a result (an exception, the OOM killer) says so
        try:
            result: dict[str, Any] = queue.get(timeout=2.0)
            break
        except Empty:
            if not proc.is_alive():
                raise RuntimeError(f"the measurement process exited with code {proc.exitcode} "
                                   "and no result (its error is printed above)") from None
    proc.join()
    return result


def measure(path: str, *, limit: int | None, baseline_limit: int, jobs: int) -> dict[str, Any]:
    dedup = _child(_run_dedup, path, limit, jobs)
    baseline = _child(_run_baseline, path, min(baseline_limit, dedup["docs"]))
    return {
        "corpus": path,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {mp.cpu_count()} cores, Python {platform.python_version()}",
        "jobs": jobs,
        "dedup": dedup,
        "datasketch_baseline": baseline,
        "speed_ratio": round(dedup["docs_per_s"] / baseline["docs_per_s"], 2),
    }


def render(m: dict[str, Any]) -> str:
    d, b = m["dedup"], m["datasketch_baseline"]
    stages = ", ".join(f"{k} {v:.1f}s" for k, v in d["stats"]["seconds"].items())
    return "\n".join([
        f"corpus {m['corpus']} ({m['machine']}, {m['date']}, jobs={m['jobs']})",
        "",
        "| pipeline | docs | seconds | docs/s | peak RSS MB (all processes; main, largest worker) |",
        "|---|---|---|---|---|",
        f"| dedup scan | {d['docs']:,} | {d['seconds']} | {d['docs_per_s']} | "
        f"{d['all_processes_peak_rss_mb']} ({d['peak_rss_mb']}, {d['worker_peak_rss_mb']}) |",
        f"| plain datasketch (5-grams, t=0.5) | {b['docs']:,} | {b['seconds']} | {b['docs_per_s']} | "
        f"{b['peak_rss_mb']} |",
        "",
        f"dedup stages: {stages}; candidates {d['stats']['candidates']:,}, pairs {d['stats']['pairs']:,}; "
        f"speed ratio dedup/datasketch: {m['speed_ratio']}",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("docs", help="JSON Lines corpus (benchmarks/corpus.py output)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N documents")
    parser.add_argument("--baseline-limit", type=int, default=5000,
                        help="documents for the (slow) datasketch pipeline (default 5000)")
    parser.add_argument("--jobs", type=int, default=1, help="dedup worker processes (default 1)")
    parser.add_argument("--json", dest="json_out", help="also write the measurement as JSON")
    args = parser.parse_args(argv)
    m = measure(args.docs, limit=args.limit, baseline_limit=args.baseline_limit, jobs=args.jobs)
    return emit(m, render(m), args.json_out)


if __name__ == "__main__":
    raise SystemExit(main())
