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
import tempfile
import time
import uuid
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from dedup import stages
from dedup.config import ScanConfig
from dedup.errors import ConfigError, InputError, ScanError
from dedup.parallel import Backend, make_backend, resolve_jobs
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
    """Everything a scan found; ``to_dict()`` is the JSON contract of ``dedup scan``."""

    documents: tuple[Document, ...]
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
    candidate pairs, cluster (union-find). ``stats`` reports the time of each stage and the
    counts.

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
    docs = list(documents)
    ids = [d.id for d in docs]
    if len(set(ids)) != len(ids):
        dupes = sorted(i for i, c in Counter(ids).items() if c > 1)[:5]
        raise InputError(f"document ids must be unique, repeated: {', '.join(dupes)}")
    writer = StageWriter(stage_dir, config, shard_size=shard_size) if stage_dir is not None else None
    owned = not (backend is not None and not isinstance(backend, str))
    runner: Backend
    if backend is None or backend == "local":
        # a collection smaller than one shard is not worth starting worker processes for
        runner = make_backend(1 if len(docs) < shard_size else resolve_jobs(jobs))
    elif backend == "dask":
        from dedup.dask_backend import DaskBackend

        runner = DaskBackend(scheduler, jobs=None if jobs in (None, 0, 1) else jobs)
    elif isinstance(backend, str):
        raise ConfigError(f"backend must be 'local' or 'dask', got {backend!r}")
    else:
        runner = backend
    try:
        return _scan(docs, config, runner, tuple(skipped), progress or _no_progress, shard_size, writer)
    finally:
        if owned:
            runner.close()


def _scan(docs: list[Document], config: ScanConfig, backend: Backend, skipped: tuple[Skipped, ...],
          report: Progress, shard_size: int, writer: StageWriter | None = None) -> ScanResult:
    n = len(docs)
    cfg = config.to_dict()
    run = uuid.uuid4().hex
    stats: dict[str, Any] = {"documents": n}
    timings: dict[str, float] = {}
    # only (id, text) crosses process boundaries: all the stages read
    shards = [(lo, [(d.id, d.text) for d in docs[lo : lo + shard_size]]) for lo in range(0, n, shard_size)]

    t0 = time.perf_counter()
    counts = []
    for k, part in enumerate(backend.map(stages.line_counts_shard,
                                         (((tuple(text for _, text in shard),), {}) for _, shard in shards))):
        counts.append(part)
        report("lines", min((k + 1) * shard_size, n), n)
    frequent = stages.frequent_line_keys(counts, n, config)
    del counts
    timings["boilerplate"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    prints: list[stages.ShardFingerprints] = []
    # what verification reads of each document, computed once here: verify tasks carry it,
    # so no document is prepared twice and workers keep no cache of prepared documents
    features = _SpilledFeatures()
    report("prepare", 0, n)
    tasks = (((shard, cfg, frequent), {"start": lo}) for lo, shard in shards)
    for out in backend.map(stages.fingerprint_shard, tasks):
        features.extend(out.features)
        out = replace(out, features=())  # held once, in ``features``
        prints.append(out)
        if writer is not None:
            writer.shard(out, docs[out.start : out.start + len(out)])
        report("prepare", out.start + len(out), n)
    wall = time.perf_counter() - t0
    worker = {k: sum(p.seconds[k] for p in prints) for k in ("prepare", "fingerprint")}
    share = worker["prepare"] / (sum(worker.values()) or 1.0)
    timings["prepare"] = wall * share
    timings["fingerprint"] = wall * (1 - share)

    t0 = time.perf_counter()
    candidates, idf = stages.join_fingerprints(prints, config, n)
    passages = sum(int(p.passage_keys.shape[0]) for p in prints)
    del prints
    if writer is not None:
        writer.candidates(candidates)
    timings["candidates"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    size = _verify_shard_size(len(candidates), backend.workers)
    chunks = [candidates[k : k + size] for k in range(0, len(candidates), size)]

    def verify_tasks() -> Iterable[tuple[tuple[Any, ...], dict[str, Any]]]:
        for chunk in chunks:
            needed = sorted({x for pair in chunk for x in pair})
            yield (chunk, {i: features[i] for i in needed}, cfg, frequent, idf), {"run": run}

    pairs: list[Pair] = []
    done = 0
    report("verify", 0, len(candidates))
    for chunk, found in zip(chunks, backend.map(stages.verify_shard, verify_tasks()), strict=True):
        pairs.extend(found)
        done += len(chunk)
        report("verify", done, len(candidates))
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

    stats.update(
        passages=passages,
        boilerplate_lines=len(frequent),
        candidates=len(candidates),
        pairs=len(pairs),
        clusters=len(clusters),
        workers=backend.workers,
        seconds={k: round(v, 4) for k, v in timings.items()},
    )
    log.info("scanned %d documents: %d candidates, %d pairs", n, len(candidates), len(pairs))
    return ScanResult(tuple(docs), tuple(pairs), clusters, skipped, stats, config)


class _SpilledFeatures:
    """The encoded :class:`~dedup.verify.TextFeatures` of a scan's documents, in order, kept
    in an unnamed temporary file (``TMPDIR``; ~10 KB per document, gone when closed or
    collected): the driver holds 16 bytes per document instead, and the operating system's
    page cache keeps the file's pages while memory allows."""

    def __init__(self) -> None:
        try:
            self._file = tempfile.TemporaryFile()
        except OSError as exc:
            raise self._error(exc) from exc
        self._offsets = array("q")
        self._lengths = array("q")
        self._end = 0

    @staticmethod
    def _error(exc: OSError) -> ScanError:
        return ScanError(f"cannot write the scan's temporary feature file in {tempfile.gettempdir()} "
                         f"({exc.strerror or exc}); it needs ~10 KB per document: set TMPDIR to a "
                         "folder with room")

    def extend(self, blobs: Iterable[bytes]) -> None:
        try:
            self._file.seek(self._end)
            for blob in blobs:
                self._file.write(blob)
                self._offsets.append(self._end)
                self._lengths.append(len(blob))
                self._end += len(blob)
            self._file.flush()
        except OSError as exc:
            raise self._error(exc) from exc

    def __getitem__(self, i: int) -> bytes:
        self._file.seek(self._offsets[i])
        return self._file.read(self._lengths[i])

    def close(self) -> None:
        self._file.close()


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

    docs: list[Document] = []
    skipped: list[Skipped] = []
    for item in iter_documents(list(paths)):
        (docs if isinstance(item, Document) else skipped).append(item)  # type: ignore[arg-type]
        if (len(docs) + len(skipped)) % 500 == 0:
            (progress or _no_progress)("read", len(docs) + len(skipped), 0)
    return scan_documents(docs, config, skipped=skipped, progress=progress, jobs=jobs,
                          backend=backend, scheduler=scheduler, stage_dir=stage_dir)
