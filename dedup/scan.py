"""Find related articles in a collection: the library core behind ``dedup scan``.

>>> from dedup import Document, scan_documents
>>> result = scan_documents([Document("a", "Le chat dort sur le canapé du salon depuis ce matin."),
...                          Document("b", "Le chat dort sur le canapé du salon depuis ce matin.")])
>>> [(p.a, p.b, p.relation) for p in result.pairs]
[('a', 'b', 'duplicate')]
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from dedup.clean import count_line_keys, frequent_lines
from dedup.cluster import clusters_from_pairs
from dedup.config import ScanConfig
from dedup.index import band_keys, candidate_pairs, lsh_params
from dedup.normalize import TextProcessor
from dedup.prepare import Prepared, prepare
from dedup.shingle import passage_sets, word_shingles
from dedup.sign import MinHasher
from dedup.types import Document, Skipped
from dedup.verify import IdfTable, Relation, Verifier

log = logging.getLogger(__name__)

#: ``progress(stage, done, total)`` is called as work advances (the CLI draws bars with it).
Progress = Callable[[str, int, int], None]


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Pair:
    """Two related documents, how they are related, the scores and why."""

    a: str
    b: str
    relation: Relation
    scores: Mapping[str, float]
    reason: str
    evidence: tuple[Mapping[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "relation": self.relation,
            "scores": dict(self.scores),
            "reason": self.reason,
            "evidence": [dict(e) for e in self.evidence],
        }


@dataclass(frozen=True, slots=True)
class Cluster:
    """Documents connected by related pairs."""

    id: str
    members: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "members": list(self.members), "size": len(self.members)}


@dataclass(frozen=True, slots=True)
class Fingerprints:
    """MinHash signatures of a batch of prepared documents, at both granularities.

    ``doc[i]`` is document ``i``'s whole-text signature; ``passages[k]`` the signature of a
    passage of document ``passage_owner[k]``.
    """

    doc: np.ndarray
    passages: np.ndarray
    passage_owner: np.ndarray


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


class Fingerprinter:
    """Prepares documents and computes their MinHash signatures under one configuration."""

    def __init__(self, config: ScanConfig | None = None) -> None:
        self.config = config or ScanConfig()
        self.processor = TextProcessor()
        self.doc_hasher = MinHasher(self.config.doc_num_perm, self.config.seed)
        self.passage_hasher = MinHasher(self.config.passage_num_perm, self.config.seed + 1)
        self.doc_bands = lsh_params(self.config.doc_threshold, self.config.doc_num_perm)
        self.passage_bands = lsh_params(self.config.passage_threshold, self.config.passage_num_perm)

    def prepare(self, doc: Document, frequent: frozenset[int] = frozenset()) -> Prepared:
        return prepare(doc, self.processor, frequent_lines=frequent)

    def fingerprints(self, prepared: Sequence[Prepared]) -> Fingerprints:
        cfg = self.config
        doc_sets = [word_shingles(p.surfaces, cfg.ngram) for p in prepared]
        owners: list[int] = []
        sets: list[tuple[str, ...]] = []
        for i, p in enumerate(prepared):
            for passage in passage_sets(p, min_words=cfg.passage_min_words):
                owners.append(i)
                sets.append(passage.words)
        return Fingerprints(
            self.doc_hasher.signatures(doc_sets),
            self.passage_hasher.signatures(sets),
            np.asarray(owners, dtype=np.int64),
        )

    def candidates(self, fp: Fingerprints, n_docs: int) -> set[tuple[int, int]]:
        cfg = self.config
        doc_keys = band_keys(fp.doc, *self.doc_bands)
        pairs = candidate_pairs(doc_keys, np.arange(n_docs), max_bucket=cfg.max_bucket)
        passage_keys = band_keys(fp.passages, *self.passage_bands)
        pairs |= candidate_pairs(passage_keys, fp.passage_owner, max_bucket=cfg.max_bucket,
                                 min_hits=cfg.passage_min_hits)
        return pairs


def scan_documents(
    documents: Iterable[Document],
    config: ScanConfig | None = None,
    *,
    skipped: Iterable[Skipped] = (),
    progress: Progress | None = None,
) -> ScanResult:
    """Find related pairs and clusters among ``documents``.

    Stages: corpus boilerplate lines, prepare (clean, segment, normalize), fingerprint
    (MinHash), candidates (LSH bands), verify (sentence matching), cluster (union-find).
    ``stats`` reports the time of each stage and the counts.
    """
    config = config or ScanConfig()
    report = progress or _no_progress
    docs = list(documents)
    stats: dict[str, Any] = {"documents": len(docs)}
    timings: dict[str, float] = {}
    ids = [d.id for d in docs]
    if len(set(ids)) != len(ids):
        dupes = sorted({i for i in ids if ids.count(i) > 1})[:5]
        from dedup.errors import InputError

        raise InputError(f"document ids must be unique, repeated: {', '.join(dupes)}")

    t0 = time.perf_counter()
    counts = count_line_keys(d.text for d in docs)
    frequent = frequent_lines(counts, len(docs), min_docs=config.boilerplate_min_docs)
    timings["boilerplate"] = time.perf_counter() - t0

    fingerprinter = Fingerprinter(config)
    t0 = time.perf_counter()
    prepared = []
    for i, d in enumerate(docs):
        prepared.append(fingerprinter.prepare(d, frequent))
        if i % 200 == 0:
            report("prepare", i, len(docs))
    report("prepare", len(docs), len(docs))
    timings["prepare"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    fp = fingerprinter.fingerprints(prepared)
    timings["fingerprint"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    candidates = sorted(fingerprinter.candidates(fp, len(docs)))
    timings["candidates"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    verifier = Verifier(IdfTable.from_documents(prepared), config)
    pairs: list[Pair] = []
    for k, (i, j) in enumerate(candidates):
        a, b = prepared[i], prepared[j]
        if a.id > b.id:
            a, b = b, a
        result = verifier.verify(a, b)
        if result.related and result.relation is not None:
            pairs.append(Pair(a.id, b.id, result.relation, result.scores, result.reason,
                              tuple(result.evidence(a, b))))
        if k % 100 == 0:
            report("verify", k, len(candidates))
    report("verify", len(candidates), len(candidates))
    pairs.sort(key=lambda p: (p.a, p.b))
    timings["verify"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    groups = clusters_from_pairs((p.a, p.b) for p in pairs if p.relation in config.cluster_relations)
    clusters = tuple(Cluster(f"c{n + 1}", g) for n, g in enumerate(groups))
    timings["cluster"] = time.perf_counter() - t0

    stats.update(
        passages=int(fp.passages.shape[0]),
        boilerplate_lines=len(frequent),
        candidates=len(candidates),
        pairs=len(pairs),
        clusters=len(clusters),
        seconds={k: round(v, 4) for k, v in timings.items()},
    )
    log.info("scanned %d documents: %d candidates, %d pairs", len(docs), len(candidates), len(pairs))
    return ScanResult(tuple(docs), tuple(pairs), clusters, tuple(skipped), stats, config)


def scan_paths(paths: Iterable[str], config: ScanConfig | None = None, *,
               progress: Progress | None = None) -> ScanResult:
    """Read files and folders (see :func:`dedup.read.iter_documents`) and scan them."""
    from dedup.read import iter_documents

    docs: list[Document] = []
    skipped: list[Skipped] = []
    for item in iter_documents(list(paths)):
        (docs if isinstance(item, Document) else skipped).append(item)  # type: ignore[arg-type]
        if (len(docs) + len(skipped)) % 500 == 0:
            (progress or _no_progress)("read", len(docs) + len(skipped), 0)
    return scan_documents(docs, config, skipped=skipped, progress=progress)
