"""How scan shards are dispatched: in this process, or on a pool of worker processes.

A backend runs a stage function (see :mod:`dedup.stages`) over a stream of tasks and yields
the results in task order. Every backend hands the function a :class:`~dedup.stages.Workspace`
that lives as long as the worker (a stem cache and recently prepared documents); results never
depend on it. Only picklable values cross process boundaries: the configuration as a dict,
documents, frozensets of line keys, NumPy arrays of band keys, counters and :class:`Pair` objects.

>>> from dedup.stages import line_counts_shard
>>> with InProcessBackend() as backend:
...     list(backend.map(line_counts_shard, [((["a line"],), {})])) == [line_counts_shard(["a line"])]
True
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.util
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from types import TracebackType
from typing import Any, Protocol

from dedup.errors import ConfigError
from dedup.stages import Workspace

#: A task: positional and keyword arguments of one call of a stage function.
Task = tuple[tuple[Any, ...], dict[str, Any]]

#: Prepared documents a worker's workspace keeps for stages given documents and a run name
#: (a scan passes encoded features to verification instead, and caches nothing).
DEFAULT_CACHE_DOCS = 50_000

_local = threading.local()


def worker_workspace(max_docs: int = DEFAULT_CACHE_DOCS) -> Workspace:
    """The workspace of the calling worker thread, made on first use."""
    ws = getattr(_local, "workspace", None)
    if ws is None:
        ws = _local.workspace = Workspace(max_docs=max_docs)
        # a pool's worker ends through multiprocessing, which skips atexit but runs these:
        # the index handles it opened are closed, not dropped with the process
        multiprocessing.util.Finalize(ws, ws.close, exitpriority=10)
    return ws


def call_in_worker(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Run one task with this worker's workspace (what pool and cluster workers execute)."""
    return fn(*args, workspace=worker_workspace(), **kwargs)


def forget_run(run: str) -> None:
    """Drop a finished run's prepared documents from this worker's workspace."""
    ws = getattr(_local, "workspace", None)
    if ws is not None:
        ws.forget(run)


def cached_documents() -> int:
    """How many prepared documents this worker thread's workspace holds."""
    ws = getattr(_local, "workspace", None)
    return 0 if ws is None else len(ws)


class Backend(Protocol):
    """Runs stage functions over tasks; ``workers`` is how many run at once."""

    workers: int

    def map(self, fn: Callable[..., Any], tasks: Iterable[Task]) -> Iterator[Any]: ...

    def finish(self, run: str) -> None: ...

    def close(self) -> None: ...


class InProcessBackend:
    """Runs every task in this process, one after the other (``--jobs 1``)."""

    workers = 1

    def __init__(self, max_docs: int = DEFAULT_CACHE_DOCS) -> None:
        self.workspace = Workspace(max_docs=max_docs)

    def map(self, fn: Callable[..., Any], tasks: Iterable[Task]) -> Iterator[Any]:
        for args, kwargs in tasks:
            yield fn(*args, workspace=self.workspace, **kwargs)

    def finish(self, run: str) -> None:
        self.workspace.forget(run)

    def close(self) -> None:
        self.workspace.close()
        self.workspace = Workspace(max_docs=self.workspace.max_docs)

    def __enter__(self) -> InProcessBackend:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _start_method() -> str:
    # fork would copy a parent that may hold NumPy/BLAS threads (and can hang); forkserver
    # starts workers from a clean server process, spawn from a fresh interpreter.
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


class ProcessPoolBackend:
    """Runs tasks on ``jobs`` worker processes, at most ``2 * jobs`` in flight (bounded memory)."""

    def __init__(self, jobs: int, *, start_method: str | None = None) -> None:
        if jobs < 1:
            raise ConfigError(f"jobs must be >= 1, got {jobs}")
        self.workers = jobs
        ctx = multiprocessing.get_context(start_method or _start_method())
        self._pool = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx)

    def map(self, fn: Callable[..., Any], tasks: Iterable[Task]) -> Iterator[Any]:
        pending: deque[Future[Any]] = deque()
        try:
            for args, kwargs in tasks:
                pending.append(self._pool.submit(call_in_worker, fn, args, kwargs))
                if len(pending) >= 2 * self.workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for f in pending:
                f.cancel()

    def finish(self, run: str) -> None:
        return None  # the pool ends with the scan; nothing to drop

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> ProcessPoolBackend:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def resolve_jobs(jobs: int | None) -> int:
    """``None`` or 0 mean every core (``os.cpu_count()``)."""
    if jobs is None or jobs == 0:
        return os.cpu_count() or 1
    if not isinstance(jobs, int) or jobs < 0:
        raise ConfigError(f"jobs must be an integer >= 0 (0 = every core), got {jobs!r}")
    return jobs


def make_backend(jobs: int | None = 1) -> InProcessBackend | ProcessPoolBackend:
    """In-process for one job, else a process pool."""
    n = resolve_jobs(jobs)
    return InProcessBackend() if n == 1 else ProcessPoolBackend(n)
