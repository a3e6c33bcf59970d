"""Run a scan's shards on a Dask cluster (``pip install "dedup[dask]"``).

The stage functions of :mod:`dedup.stages` run unchanged on the workers; shards are sent
with ``client.submit`` and results gathered in order (the band keys of all shards are joined
in the driver, by sorting, as on one machine). With no scheduler address a
:class:`distributed.LocalCluster` of one single-threaded worker process per core is started
for the scan and closed after it.

>>> from dedup import scan_paths
>>> result = scan_paths(["articles/"], backend="dask", scheduler="tcp://scheduler:8786")  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any

from dedup.errors import ConfigError
from dedup.parallel import Task, call_in_worker, forget_run


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ConfigError('the Dask backend needs dask.distributed: pip install "dedup[dask]"') from exc
    return distributed


class DaskBackend:
    """Dispatches stage tasks to a Dask cluster: ``scheduler`` is an address such as
    ``tcp://host:8786``; None starts a local cluster of ``jobs`` workers (default: every core).
    An existing ``client`` may be given instead; it is left open.
    """

    def __init__(self, scheduler: str | None = None, *, jobs: int | None = None, client: Any = None,
                 in_flight: int = 4) -> None:
        distributed = _import_distributed()
        self._cluster = None
        self._own_client = client is None
        if client is None:
            if scheduler:
                client = distributed.Client(scheduler)
            else:
                self._cluster = distributed.LocalCluster(
                    n_workers=jobs or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                    dashboard_address=None, silence_logs=logging.WARNING,
                )
                client = distributed.Client(self._cluster)
        self.client = client
        threads = sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values())
        self.workers = max(1, threads)
        self._in_flight = in_flight

    def map(self, fn: Callable[..., Any], tasks: Iterable[Task]) -> Iterator[Any]:
        """Submit tasks (at most ``in_flight`` per worker thread at once) and yield results in order."""
        pending: deque[Any] = deque()
        limit = self._in_flight * self.workers
        try:
            for args, kwargs in tasks:
                pending.append(self.client.submit(call_in_worker, fn, args, kwargs, pure=False))
                if len(pending) >= limit:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for f in pending:
                f.cancel()

    def finish(self, run: str) -> None:
        """Drop the run's prepared documents from every worker."""
        self.client.run(forget_run, run)

    def close(self) -> None:
        if self._own_client:
            self.client.close()
        if self._cluster is not None:
            self._cluster.close()

    def __enter__(self) -> DaskBackend:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
