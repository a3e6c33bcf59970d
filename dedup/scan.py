"""Find related articles in a collection: the library core behind ``dedup scan``.

>>> from dedup import Document, scan_documents
>>> result = scan_documents([Document("a", "Le chat dort sur le canapé du salon depuis ce matin."),
...                          Document("b", "Le chat dort sur le canapé du salon depuis ce matin.")])
>>> [(p.a, p.b, p.relation) for p in result.pairs]
[('a', 'b', 'duplicate')]
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import chain, islice
from types import MappingProxyType
from typing import Any

from dedup import stages
from dedup.arrays import distinct
from dedup.config import ScanConfig
from dedup.errors import ConfigError, InputError
from dedup.parallel import Backend, Task, make_backend, resolve_jobs
from dedup.spill import SpilledBlobs, SpilledDocuments
from dedup.stage_files import StageWriter, check_stage_dir
from dedup.stages import Cluster, Fingerprinter, Fingerprints, Pair
from dedup.types import Document, Skipped

__all__ = ["Cluster", "Fingerprinter", "Fingerprints", "Pair", "Progress", "ScanResult", "scan_documents",
           "scan_paths"]

log = logging.getLogger(__name__)

#: ``progress(stage, done, total)`` is called as work advances (the CLI draws bars with it).
Progress = Callable[[str, int, int], None]


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


@dataclass(frozen=True, slots=True)
class ScanResult:
    """Everything a scan found; ``to_dict()`` is the JSON contract of ``dedup scan``.

    ``documents`` are the scanned documents in input order: a tuple, or past
    ``KEEP_IN_MEMORY`` (10,000) documents a read-only sequence backed by a temporary file
    (:class:`~dedup.spill.SpilledDocuments`), so a large scan does not hold every text.
    """

    documents: Sequence[Document]
    pairs: tuple[Pair, ...]
    clusters: tuple[Cluster, ...]
    skipped: tuple[Skipped, ...] = ()
    stats: Mapping[str, Any] = field(default_factory=dict)
    config: ScanConfig = field(default_factory=ScanConfig)

    def __post_init__(self) -> None:
        object.__setattr__(self, "stats", MappingProxyType(dict(self.stats)))

    def cluster_of(self, doc_id: str) -> Cluster | None:
        return next((c for c in self.clusters if doc_id in c.members), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "documents": [d.to_dict() for d in self.documents],
            "pairs": [p.to_dict() for p in self.pairs],
            "clusters": [c.to_dict() for c in self.clusters],
            "skipped": [s.to_dict() for s in self.skipped],
            "stats": dict(self.stats),
            "config": self.config.to_dict(),
        }


def scan_documents(
    documents: Iterable[Document],
    config: ScanConfig | None = None,
    *,
    skipped: Iterable[Skipped] = (),
    progress: Progress | None = None,
    jobs: int | None = 1,
    backend: str | Backend | None = None,
    scheduler: str | None = None,
    shard_size: int = 1000,
    stage_dir: str | os.PathLike[str] | None = None,
) -> ScanResult:
    """Find related pairs and clusters among ``documents``.

    Stages (see :mod:`dedup.stages`): corpus boilerplate lines, prepare (clean, segment,
    normalize) and fingerprint (MinHash, LSH bands) by shards of ``shard_size`` documents,
    candidates (band keys grouped by sorting), verify (sentence matching) by shards of
    candidate pairs, cluster (union-find). ``stats`` reports the time of each stage (``read``:
    reading the documents, with the boilerplate line counts done meanwhile) and the counts.

    ``documents`` are read as the scan goes (an iterator is consumed once; the scan keeps
    them in a temporary file past ``KEEP_IN_MEMORY``); ``skipped`` is read after them, so
    a reader may still append to it while ``documents`` are consumed.

    ``jobs`` worker processes share the work (1: in this process; 0 or None: every core);
    ``backend="dask"`` runs the shards on a Dask cluster instead (``scheduler`` is its
    address, or None for a local cluster of ``jobs`` workers, every core if ``jobs`` is
    0, 1 or None; ``pip install "dedup[dask]"``).
    The result is the same whatever runs it; a collection smaller than ``shard_size`` is
    scanned in this process. Worker processes start with ``forkserver`` or ``spawn``: a
    script that uses ``jobs > 1`` needs an ``if __name__ == "__main__":`` guard.

    With ``stage_dir``, each stage's output (documents, band keys, document frequencies,
    candidates, pairs, clusters) is also written there as Parquet files, shard by shard as
    the backend returns them, and a ``manifest.json`` last (see :mod:`dedup.stage_files`;
    needs pyarrow, ``pip install "dedup[parquet]"``). The result does not change.
    """
    config = config or ScanConfig()
    if not isinstance(shard_size, int) or shard_size < 1:
        raise ConfigError(f"shard_size must be an integer >= 1, got {shard_size!r}")
    resolve_jobs(jobs)  # validated whatever runs the scan
    if stage_dir is not None:
        check_stage_dir(stage_dir)
    stream = iter(documents)
    first = list(islice(stream, shard_size))
    writer = StageWriter(stage_dir, config, shard_size=shard_size) if stage_dir is not None else None
    owned = not (backend is not None and not isinstance(backend, str))
    runner: Backend
    if backend is None or backend == "local":
        # a collection smaller than one shard is not worth starting worker processes for
        runner = make_backend(1 if len(first) < shard_size else resolve_jobs(jobs))
    elif backend == "dask":
        from dedup.dask_backend import DaskBackend

        runner = DaskBackend(scheduler, jobs=None if jobs in (None, 0, 1) else jobs)
    elif isinstance(backend, str):
        raise ConfigError(f"backend must be 'local' or 'dask', got {backend!r}")
    else:
        runner = backend
    try:
        return _scan(chain(first, stream), config, runner, skipped, progress or _no_progress, shard_size, writer)
    finally:
        if owned:
            runner.close()


def _scan(docs: Iterator[Document], config: ScanConfig, backend: Backend, skipped: Iterable[Skipped],
          report: Progress, shard_size: int, writer: StageWriter | None = None) -> ScanResult:
    cfg = config.to_dict()
    run = uuid.uuid4().hex
    timings: dict[str, float] = {}

    # pass 1, while the documents are read: count lines for the boilerplate rule and keep
    # the documents (in a temporary file past KEEP_IN_MEMORY) for pass 2 and the result
    t0 = time.perf_counter()
    store = _DocumentStore(KEEP_IN_MEMORY)
    line_counts = stages.LineCounts()
    for part in backend.map(stages.line_counts_shard, _line_tasks(docs, store, shard_size)):
        line_counts.add(part)
        report("read", len(store), 0)
    n = len(store)
    frequent = line_counts.frequent(n, config)
    del line_counts
    timings["read"] = time.perf_counter() - t0  # reading, with the boilerplate line counts

    # pass 2: prepare and fingerprint shard by shard; band keys go to the join as shards come
    # back, and what verification reads of each document (its encoded features, computed
    # once here: no document is prepared twice) waits in a temporary file
    t0 = time.perf_counter()
    join = stages.CandidateJoin(config)
    features = SpilledBlobs("feature")
    worker = {"prepare": 0.0, "fingerprint": 0.0}
    report("prepare", 0, n)

    def fingerprint_tasks() -> Iterator[Task]:
        for lo in range(0, n, shard_size):
            yield ([(d.id, d.text) for d in store[lo : lo + shard_size]], cfg, frequent), {"start": lo}

    for out in backend.map(stages.fingerprint_shard, fingerprint_tasks()):
        features.extend(out.features)
        out = replace(out, features=())
        join.add(out)
        for key in worker:
            worker[key] += out.seconds[key]
        if writer is not None:
            writer.shard(out, store[out.start : out.start + len(out)])
        report("prepare", out.start + len(out), n)
    wall = time.perf_counter() - t0
    share = worker["prepare"] / (sum(worker.values()) or 1.0)
    timings["prepare"] = wall * share
    timings["fingerprint"] = wall * (1 - share)

    t0 = time.perf_counter()
    passages = join.passages
    candidates, idf = join.finish(n)
    del join
    if writer is not None:
        writer.candidates(candidates)
    timings["candidates"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    size = _verify_shard_size(len(candidates), backend.workers)
    bounds = [(lo, min(lo + size, len(candidates))) for lo in range(0, len(candidates), size)]

    def verify_tasks() -> Iterator[Task]:
        for lo, hi in bounds:
            chunk = candidates[lo:hi]
            needed = distinct(chunk).tolist()
            yield (chunk.tolist(), {i: features[i] for i in needed}, cfg, frequent, idf), {"run": run}

    pairs: list[Pair] = []
    report("verify", 0, len(candidates))
    for (_, hi), found in zip(bounds, backend.map(stages.verify_shard, verify_tasks()), strict=True):
        pairs.extend(found)
        report("verify", hi, len(candidates))
    backend.finish(run)
    features.close()
    pairs.sort(key=lambda p: (p.a, p.b))
    timings["verify"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    clusters = stages.cluster_pairs(pairs, config)
    timings["cluster"] = time.perf_counter() - t0
    if writer is not None:
        writer.pairs(pairs)
        writer.clusters(clusters)
        log.info("wrote stage files and %s", writer.close())

    stats: dict[str, Any] = {
        "documents": n,
        "passages": passages,
        "boilerplate_lines": len(frequent),
        "candidates": len(candidates),
        "pairs": len(pairs),
        "clusters": len(clusters),
        "workers": backend.workers,
        "seconds": {k: round(v, 4) for k, v in timings.items()},
    }
    log.info("scanned %d documents: %d candidates, %d pairs", n, len(candidates), len(pairs))
    return ScanResult(store.documents(), tuple(pairs), clusters, tuple(skipped), stats, config)


def _line_tasks(docs: Iterator[Document], store: _DocumentStore, shard_size: int) -> Iterator[Task]:
    """Line-count tasks over ``docs``, shard by shard, each shard stored as it goes; a
    repeated id is an :class:`InputError` (raised while reading, before any later stage)."""
    seen: set[str] = set()
    while shard := list(islice(docs, shard_size)):
        repeated = set()
        for d in shard:
            if d.id in seen:
                repeated.add(d.id)
            seen.add(d.id)
        if repeated:
            raise InputError(f"document ids must be unique, repeated: {', '.join(sorted(repeated)[:5])}")
        store.extend(shard)
        yield (tuple(d.text for d in shard),), {}


#: Documents a scan keeps in memory; past this, they go to a temporary file
#: (:class:`~dedup.spill.SpilledDocuments`) and the result lists them from there.
KEEP_IN_MEMORY = 10_000


class _DocumentStore:
    """A scan's documents, in order: a list, moved to a temporary file when it outgrows
    ``limit`` documents (so memory stays bounded by the index, not by the corpus)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._list: list[Document] = []
        self._spill: SpilledDocuments | None = None

    def __len__(self) -> int:
        return len(self._spill) if self._spill is not None else len(self._list)

    def extend(self, docs: list[Document]) -> None:
        if self._spill is None and len(self._list) + len(docs) > self.limit:
            self._spill = SpilledDocuments()
            self._spill.extend(self._list)
            self._list = []
        if self._spill is not None:
            self._spill.extend(docs)
        else:
            self._list.extend(docs)

    def __getitem__(self, part: slice) -> Sequence[Document]:
        return self._spill[part] if self._spill is not None else self._list[part]

    def documents(self) -> Sequence[Document]:
        return self._spill if self._spill is not None else tuple(self._list)


def _verify_shard_size(candidates: int, workers: int) -> int:
    """Pairs per verify task: large enough to share a task's fixed costs (the IDF counts
    travel with it; a document's features are decoded once per task), small enough that
    every worker gets several tasks (the last ones do not leave workers idle for long)."""
    if workers <= 1:
        return 2000
    return max(100, min(2000, -(-candidates // (8 * workers))))


def scan_paths(paths: Iterable[str], config: ScanConfig | None = None, *,
               progress: Progress | None = None, jobs: int | None = 1,
               backend: str | Backend | None = None, scheduler: str | None = None,
               stage_dir: str | os.PathLike[str] | None = None) -> ScanResult:
    """Read files and folders (see :func:`dedup.read.iter_documents`) and scan them
    (the options are :func:`scan_documents`'s)."""
    from dedup.read import iter_documents

    if stage_dir is not None:
        check_stage_dir(stage_dir)  # before reading anything

    skipped: list[Skipped] = []

    def documents() -> Iterator[Document]:
        # read as the scan consumes them; ``skipped`` is complete once they are all read
        for item in iter_documents(list(paths)):
            if isinstance(item, Document):
                yield item
            else:
                skipped.append(item)

    return scan_documents(documents(), config, skipped=skipped, progress=progress, jobs=jobs,
                          backend=backend, scheduler=scheduler, stage_dir=stage_dir)
