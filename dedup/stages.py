"""The stages of a scan, as plain functions over shards of documents.

Each stage takes a shard (a list of documents, or of candidate pairs) and returns a compact,
picklable result, so the same code runs in a loop, on a process pool (:mod:`dedup.parallel`)
or on a Dask cluster (:mod:`dedup.dask_backend`); the backends differ only in how shards are
dispatched and joined (datatrove's model):

1. :func:`line_counts_shard` (map) and :func:`frequent_line_keys` (reduce): lines that recur
   across the corpus (site chrome);
2. :func:`fingerprint_shard`: prepare, MinHash and LSH band keys of a shard, with the
   per-language document frequencies of content words (:class:`ShardFingerprints`);
3. :func:`join_fingerprints`: candidate pairs from all band keys (grouped by sorting) and the
   merged IDF counts;
4. :func:`verify_shard`: verify a shard of candidate pairs from the documents'
   :class:`~dedup.verify.TextFeatures` that stage 2 computed (given documents instead, it
   prepares them again, preparation being deterministic, unless the :class:`Workspace` of
   the process still holds them);
5. :func:`cluster_pairs`: union-find over related pairs, in the driver.

>>> from dedup.types import Document
>>> text = "Le chat dort sur le canapé du salon depuis ce matin."
>>> shard = fingerprint_shard([Document("a", text), Document("b", text)], ScanConfig(), frozenset())
>>> candidates, idf = join_fingerprints([shard], ScanConfig(), 2)
>>> candidates
[(0, 1)]
>>> [(p.a, p.b, p.relation) for p in verify_shard(candidates, {0: Document("a", text), 1: Document("b", text)},
...                                               ScanConfig(), frozenset(), idf)]
[('a', 'b', 'duplicate')]
"""

from __future__ import annotations

import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from dedup.clean import count_line_keys, frequent_lines
from dedup.cluster import clusters_from_pairs
from dedup.config import ScanConfig
from dedup.index import band_keys, candidate_array, candidate_pairs, doc_banding, merge_pairs, passage_banding
from dedup.normalize import TextProcessor
from dedup.prepare import Prepared, prepare
from dedup.shingle import passage_sets, word_shingles
from dedup.sign import MinHasher
from dedup.spill import SpilledBands
from dedup.types import Document
from dedup.verify import IdfTable, Relation, TextFeatures, Verifier

#: ``(counts[language][word], totals[language])``: what :meth:`IdfTable.from_counts` takes.
IdfCounts = tuple[dict[str | None, Counter[str]], dict[str | None, int]]


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


#: Words a :class:`Fingerprinter` keeps hashes of (per cache) before it empties the cache.
MEMO_LIMIT = 200_000


class Fingerprinter:
    """Prepares documents and computes their MinHash signatures under one configuration."""

    def __init__(self, config: ScanConfig | None = None, processor: TextProcessor | None = None) -> None:
        self.config = config or ScanConfig()
        self.processor = processor or TextProcessor()
        self.doc_hasher = MinHasher(self.config.doc_num_perm, self.config.seed)
        self.passage_hasher = MinHasher(self.config.passage_num_perm, self.config.seed + 1)
        self.doc_bands = doc_banding(self.config)
        self.passage_bands = passage_banding(self.config)
        # caches: passage shingles are words, each hashed once; the verifier's word ids likewise.
        # Emptied when they reach MEMO_LIMIT words, so a long-lived index handle stays bounded
        self._word_hashes: dict[str, int] = {}
        self._word_ids: dict[str, int] = {}

    def prepare(self, doc: Document, frequent: frozenset[int] = frozenset()) -> Prepared:
        return prepare(doc, self.processor, frequent_lines=frequent)

    def fingerprints(self, prepared: Sequence[Prepared],
                     features: Sequence[TextFeatures] | None = None) -> Fingerprints:
        """Signatures of ``prepared``; with their ``features`` (:meth:`features`), the
        whole-document ones come from the shingle hashes already there."""
        cfg = self.config
        if features is not None:
            doc_signatures = self.doc_hasher.signatures_of_hashes([f.shingles for f in features])
        else:
            doc_signatures = self.doc_hasher.signatures([word_shingles(p.surfaces, cfg.ngram) for p in prepared])
        if len(self._word_hashes) > MEMO_LIMIT:
            self._word_hashes.clear()
        owners: list[int] = []
        sets: list[tuple[str, ...]] = []
        for i, p in enumerate(prepared if self.passage_bands[0] else ()):  # 0 bands: no passage keys
            for passage in passage_sets(p, min_words=cfg.passage_min_words):
                owners.append(i)
                sets.append(passage.words)
        return Fingerprints(
            doc_signatures,
            self.passage_hasher.signatures(sets, memo=self._word_hashes),
            np.asarray(owners, dtype=np.int64),
        )

    def features(self, prepared: Prepared) -> TextFeatures:
        """What verification reads of a prepared document (see :class:`TextFeatures`)."""
        if len(self._word_ids) > MEMO_LIMIT:
            self._word_ids.clear()
        return TextFeatures.of(prepared, self.config, self._word_ids)

    def candidates(self, fp: Fingerprints, n_docs: int) -> set[tuple[int, int]]:
        cfg = self.config
        doc_keys = band_keys(fp.doc, *self.doc_bands)
        pairs = candidate_pairs(doc_keys, np.arange(n_docs), max_bucket=cfg.max_bucket)
        passage_keys = band_keys(fp.passages, *self.passage_bands)
        pairs |= candidate_pairs(passage_keys, fp.passage_owner, max_bucket=cfg.passage_max_bucket,
                                 min_hits=cfg.passage_min_hits)
        return pairs


_T = TypeVar("_T")


class Workspace:
    """What one process keeps between shards: a text processor (its stem cache) and the last
    prepared documents, keyed by ``(run, index)``. Caches only: results never depend on it.

    ``max_docs`` bounds the prepared documents kept (least recently used go first).
    """

    def __init__(self, max_docs: int = 20_000) -> None:
        self.processor = TextProcessor()
        self.max_docs = max_docs
        self._prepared: OrderedDict[tuple[str, int], Prepared] = OrderedDict()
        self._fingerprinters: dict[ScanConfig, Fingerprinter] = {}
        self._verifiers: dict[str, Verifier] = {}
        self._kept: dict[Hashable, Any] = {}

    def kept(self, key: Hashable, make: Callable[[], _T]) -> _T:
        """What ``make()`` returns, made once per ``key`` and kept as long as this workspace
        (a worker process's open index, for the batches of one call)."""
        if key not in self._kept:
            self._kept[key] = make()
        value: _T = self._kept[key]
        return value

    def close(self) -> None:
        """Close what :meth:`kept` holds that can be closed (a worker's index handles) and
        forget it; the rest of the workspace stays usable."""
        kept, self._kept = self._kept, {}
        for value in kept.values():
            close = getattr(value, "close", None)
            if callable(close):
                close()

    def fingerprinter(self, config: ScanConfig) -> Fingerprinter:
        fp = self._fingerprinters.get(config)
        if fp is None:
            fp = self._fingerprinters[config] = Fingerprinter(config, self.processor)
        return fp

    def __len__(self) -> int:
        return len(self._prepared)

    def get(self, key: tuple[str, int]) -> Prepared | None:
        p = self._prepared.get(key)
        if p is not None:
            self._prepared.move_to_end(key)
        return p

    def put(self, key: tuple[str, int], prepared: Prepared) -> None:
        if self.max_docs <= 0:
            return
        self._prepared[key] = prepared
        self._prepared.move_to_end(key)
        while len(self._prepared) > self.max_docs:
            (old_run, _), old = self._prepared.popitem(last=False)
            verifier = self._verifiers.get(old_run)
            if verifier is not None:
                verifier.forget(old)

    def verifier(self, run: str | None, config: ScanConfig, idf: IdfCounts | IdfTable) -> Verifier:
        """The run's verifier (its per-document features are reused across shards), made on first use."""
        verifier = self._verifiers.get(run) if run is not None else None
        if verifier is None:
            table = idf if isinstance(idf, IdfTable) else IdfTable.from_counts(*idf)
            verifier = Verifier(table, config)
            if run is not None:
                self._verifiers[run] = verifier
        return verifier

    def forget(self, run: str) -> None:
        """Drop the prepared documents and verifier of one run."""
        for key in [k for k in self._prepared if k[0] == run]:
            del self._prepared[key]
        self._verifiers.pop(run, None)


@dataclass(frozen=True, slots=True)
class ShardFingerprints:
    """What :func:`fingerprint_shard` returns: compact arrays, no prepared documents.

    ``doc_keys[i]`` are the whole-text LSH band keys of document ``start + i``;
    ``passage_keys[k]`` those of a passage of document ``passage_owner[k]`` (a global index);
    ``df[language][word]`` counts the shard's documents containing a content word and
    ``totals[language]`` its documents of that language. ``seconds`` splits the shard's time
    into ``prepare`` and ``fingerprint``. ``features[i]`` are document ``start + i``'s
    :class:`TextFeatures`, encoded (:meth:`TextFeatures.to_bytes`, ~10 KB each: what
    :func:`verify_shard` reads; a scan keeps them in a temporary file until then); empty
    when read back from stage files, which do not keep them.
    """

    start: int
    doc_keys: np.ndarray
    passage_keys: np.ndarray
    passage_owner: np.ndarray
    df: dict[str | None, Counter[str]]
    totals: dict[str | None, int]
    seconds: dict[str, float]
    features: tuple[bytes, ...] = ()

    def __len__(self) -> int:
        return int(self.doc_keys.shape[0])


def as_config(config: ScanConfig | Mapping[str, Any] | None) -> ScanConfig:
    """A :class:`ScanConfig` from itself, its ``to_dict()`` (what crosses process boundaries) or None."""
    if config is None:
        return ScanConfig()
    if isinstance(config, ScanConfig):
        return config
    return ScanConfig.from_dict(dict(config))


#: A document as it crosses process boundaries: a :class:`Document`, or just ``(id, text)``
#: (all that preparation and verification read: less to send than a whole document).
DocLike = Document | tuple[str, str]


def as_document(doc: DocLike) -> Document:
    return doc if isinstance(doc, Document) else Document(doc[0], doc[1])


def line_counts_shard(texts: Iterable[str], *, workspace: Workspace | None = None) -> dict[int, int]:
    """Stage 1, map: in how many of ``texts`` each short line occurs (see :func:`count_line_keys`).

    ``workspace`` is accepted, like every stage's, and not needed."""
    return count_line_keys(texts)


def frequent_line_keys(parts: Iterable[Mapping[int, int]], n_docs: int,
                       config: ScanConfig | Mapping[str, Any] | None = None) -> frozenset[int]:
    """Stage 1, reduce: sum the per-shard counts and keep the lines frequent across the corpus."""
    counts = LineCounts()
    for part in parts:
        counts.add(part)
    return counts.frequent(n_docs, config)


class LineCounts:
    """Stage 1's reduce, as shards arrive: line keys and their document counts in NumPy
    arrays (16 bytes a distinct line, against ~100 in a dict of ints), compacted as they grow.

    >>> counts = LineCounts()
    >>> counts.add({7: 2, 9: 1}); counts.add({7: 1})
    >>> sorted(counts.frequent(100, {"boilerplate_min_docs": 3}))
    [7]
    """

    def __init__(self, compact_at: int = 1_000_000) -> None:
        self.compact_at = compact_at
        self._keys: list[np.ndarray] = []
        self._counts: list[np.ndarray] = []
        self._pending = 0
        self._compacted = 0

    def add(self, part: Mapping[int, int]) -> None:
        if not part:
            return
        self._keys.append(np.fromiter(part.keys(), dtype=np.uint64, count=len(part)))
        self._counts.append(np.fromiter(part.values(), dtype=np.int64, count=len(part)))
        self._pending += len(part)
        if self._pending > max(self.compact_at, self._compacted):
            self._compact()

    def _compact(self) -> None:
        if len(self._keys) > 1:
            keys, where = np.unique(np.concatenate(self._keys), return_inverse=True)
            counts = np.bincount(where, weights=np.concatenate(self._counts)).astype(np.int64)
            self._keys, self._counts = [keys], [counts]
        self._compacted = int(self._keys[0].size) if self._keys else 0
        self._pending = 0

    def frequent(self, n_docs: int, config: ScanConfig | Mapping[str, Any] | None = None) -> frozenset[int]:
        """Keys of the lines frequent across ``n_docs`` documents (:func:`dedup.clean.frequent_lines`)."""
        min_docs = as_config(config).boilerplate_min_docs
        self._compact()
        if not self._keys:
            return frequent_lines({}, n_docs, min_docs=min_docs)
        keys, counts = self._keys[0], self._counts[0]
        keep = counts >= 2  # the rule needs at least 2 documents (ScanConfig checks it)
        return frequent_lines(dict(zip(keys[keep].tolist(), counts[keep].tolist(), strict=True)),
                              n_docs, min_docs=min_docs)


def fingerprint_shard(
    docs: Sequence[DocLike],
    config: ScanConfig | Mapping[str, Any] | None,
    frequent: frozenset[int],
    *,
    start: int = 0,
    run: str | None = None,
    workspace: Workspace | None = None,
) -> ShardFingerprints:
    """Stage 2: prepare documents ``start .. start + len(docs) - 1``, sign and band them,
    and compute what verification will read of them (:class:`TextFeatures`).

    With a ``workspace`` and a ``run`` name, the prepared documents are kept there for
    :func:`verify_shard` in the same process.
    """
    cfg = as_config(config)
    ws = workspace if workspace is not None else Workspace(max_docs=0)
    fp = ws.fingerprinter(cfg)
    t0 = time.perf_counter()
    prepared = [fp.prepare(as_document(d), frequent) for d in docs]
    df: dict[str | None, Counter[str]] = {}
    totals: dict[str | None, int] = {}
    for p in prepared:
        df.setdefault(p.language, Counter()).update(set(p.content))
        totals[p.language] = totals.get(p.language, 0) + 1
    t1 = time.perf_counter()
    features = tuple(fp.features(p) for p in prepared)
    prints = fp.fingerprints(prepared, features)
    out = ShardFingerprints(
        start=start,
        doc_keys=band_keys(prints.doc, *fp.doc_bands),
        passage_keys=band_keys(prints.passages, *fp.passage_bands),
        passage_owner=prints.passage_owner + start,
        df=df,
        totals=totals,
        seconds={"prepare": t1 - t0, "fingerprint": time.perf_counter() - t1},
        features=tuple(f.to_bytes() for f in features),
    )
    if run is not None:
        for i, p in enumerate(prepared):
            ws.put((run, start + i), p)
    return out


class CandidateJoin:
    """Stage 3, as shards arrive (in any order): band keys and document frequencies are
    gathered shard by shard, then :meth:`finish` groups the keys by sorting, band by band.

    Whole-text band keys stay in memory (``bands x 8`` bytes a document); passage band
    keys (~6 KB a document) go to a temporary file (:class:`~dedup.spill.SpilledBands`)
    and come back one band at a time, so a join holds one band of the corpus at once.
    Counts are merged on arrival; shards are not kept.
    """

    def __init__(self, config: ScanConfig | Mapping[str, Any] | None) -> None:
        self.config = as_config(config)
        self._doc_bands = doc_banding(self.config)[0]
        self._doc_keys: list[np.ndarray] = []
        self._doc_owners: list[np.ndarray] = []
        self._passage_keys = SpilledBands(passage_banding(self.config)[0])
        self._passage_owners: list[np.ndarray] = []
        self.df: dict[str | None, Counter[str]] = {}
        self.totals: dict[str | None, int] = {}
        self.documents = 0
        self.passages = 0

    def add(self, shard: ShardFingerprints) -> None:
        n = len(shard)
        self._doc_keys.append(shard.doc_keys)
        self._doc_owners.append(np.arange(shard.start, shard.start + n, dtype=np.int64))
        if shard.passage_keys.size:
            self._passage_keys.append(shard.passage_keys)
            self._passage_owners.append(np.asarray(shard.passage_owner, dtype=np.int64))
        for lang, counts in shard.df.items():
            self.df.setdefault(lang, Counter()).update(counts)
        for lang, count in shard.totals.items():
            self.totals[lang] = self.totals.get(lang, 0) + count
        self.documents += n
        self.passages += int(shard.passage_keys.shape[0])

    def finish(self, n_docs: int) -> tuple[np.ndarray, IdfCounts]:
        """Candidate pairs as a sorted ``(m, 2)`` int64 array of indices ``i < j``, and the
        merged document frequencies (for :meth:`IdfTable.from_counts`). Closes the join."""
        cfg = self.config
        if self.documents != n_docs:
            raise ValueError(f"shards cover {self.documents} documents, expected {n_docs}")
        try:
            doc_keys = _stack(self._doc_keys, self._doc_bands)
            owners = np.concatenate(self._doc_owners) if self._doc_owners else np.empty(0, np.int64)
            self._doc_keys.clear()
            whole = candidate_array(doc_keys, owners, max_bucket=cfg.max_bucket)
            del doc_keys, owners
            passage_owners = (np.concatenate(self._passage_owners) if self._passage_owners
                              else np.empty(0, np.int64))
            self._passage_owners.clear()
            passages = candidate_array(self._passage_keys, passage_owners, max_bucket=cfg.passage_max_bucket,
                                       min_hits=cfg.passage_min_hits)
        finally:
            self._passage_keys.close()
        return merge_pairs(whole, passages), (self.df, self.totals)


def join_fingerprints(
    shards: Iterable[ShardFingerprints], config: ScanConfig | Mapping[str, Any] | None, n_docs: int
) -> tuple[list[tuple[int, int]], IdfCounts]:
    """Stage 3: sorted candidate pairs ``(i, j)``, ``i < j``, over all shards' band keys, and
    the merged document frequencies (for :meth:`IdfTable.from_counts`); see :class:`CandidateJoin`."""
    join = CandidateJoin(config)
    for shard in shards:
        join.add(shard)
    pairs, idf = join.finish(n_docs)
    return list(zip(pairs[:, 0].tolist(), pairs[:, 1].tolist(), strict=True)), idf


def _stack(arrays: list[np.ndarray], width: int) -> np.ndarray:
    return np.concatenate(arrays) if arrays else np.empty((0, width), dtype=np.uint64)


def verify_shard(
    pairs: Sequence[tuple[int, int]],
    docs: Mapping[int, DocLike | TextFeatures | bytes],
    config: ScanConfig | Mapping[str, Any] | None,
    frequent: frozenset[int],
    idf: IdfCounts | IdfTable,
    *,
    run: str | None = None,
    workspace: Workspace | None = None,
) -> list[Pair]:
    """Stage 4: verify candidate pairs (global indices into ``docs``); the related ones, as
    :class:`Pair` objects with ``a < b`` by id.

    ``docs`` maps an index to the document's :class:`TextFeatures`, or their encoding (what
    :func:`fingerprint_shard` returned: nothing is prepared again), or to the document
    itself (prepared here, or taken from the workspace).

    With a ``run`` name, the ``workspace`` keeps the run's verifier (the IDF table ``idf``
    of the first call, and per-document features) and prepared documents for later shards."""
    cfg = as_config(config)
    ws = workspace if workspace is not None else Workspace(max_docs=0)
    fp = ws.fingerprinter(cfg)
    verifier = ws.verifier(run, cfg, idf)
    local: dict[int, Prepared | TextFeatures] = {}

    def prepared(i: int) -> Prepared | TextFeatures:
        p = local.get(i)
        if p is None:
            given = docs[i]
            if isinstance(given, bytes):
                p = TextFeatures.from_bytes(given)
            elif isinstance(given, TextFeatures):
                p = given
            else:
                p = ws.get((run, i)) if run is not None else None
                if p is None:
                    p = fp.prepare(as_document(given), frequent)
                    if run is not None:
                        ws.put((run, i), p)
            local[i] = p
        return p

    out: list[Pair] = []
    for i, j in pairs:
        a, b = prepared(i), prepared(j)
        if a.id > b.id:
            a, b = b, a
        result = verifier.verify(a, b)
        if result.related and result.relation is not None:
            out.append(Pair(a.id, b.id, result.relation, result.scores, result.reason,
                            tuple(result.evidence(a, b))))
    for p in local.values():
        if isinstance(p, TextFeatures):  # this task's copies: the verifier must not keep them
            verifier.forget(p)
    return out


def cluster_pairs(pairs: Iterable[Pair], config: ScanConfig | Mapping[str, Any] | None) -> tuple[Cluster, ...]:
    """Stage 5: clusters of the pairs whose relation is in ``config.cluster_relations``."""
    relations = as_config(config).cluster_relations
    groups = clusters_from_pairs((p.a, p.b) for p in pairs if p.relation in relations)
    return tuple(Cluster(f"c{n + 1}", g) for n, g in enumerate(groups))
