"""A persistent, incremental syndication index for crawlers, kept in one SQLite file.

A crawler sees articles one at a time, for months, in several processes, and restarts often.
:class:`SyndicationIndex` answers "have I seen this text, or a rewrite of it, and where?" at
crawl speed and keeps the answer across restarts::

    from dedup.store import open_index

    with open_index("crawl/index.db") as index:      # created on first use
        verdict = index.check(Document(url, text, url=url, title=title))
        if verdict.status in ("duplicate", "syndicated"):
            ...                                      # verdict.matches[0].id is the earlier copy

How it works: documents are prepared and fingerprinted exactly as ``dedup scan`` does
(:class:`~dedup.scan.Fingerprinter`); their LSH band keys are stored, so a query looks up
the documents sharing a band key with it (whole-text keys: any shared key; passage keys: at
least ``config.passage_min_hits`` distinct shared keys; as in a scan, a passage key held by
more than ``config.passage_max_bucket`` stored documents links the query to one of them only,
the newest, and one held by ``config.max_bucket`` or more is ignored: see
:func:`passage_hits`) and verifies each candidate as a scan does
(:class:`dedup.verify.Verifier`), from the verification features stored with each document
(:class:`~dedup.verify.TextFeatures`: no stored text is prepared again), or, with
``verify="shingles"``, by their word n-gram hashes alone
(:func:`~dedup.verify.shingle_verification`: copies and syndicated versions, no rewrites;
4-5 times faster on a whole-text-only index). IDF weights come
from document frequencies kept in the index (per language, by word id), counted as if the
queried document were part of the indexed corpus: the same weights a scan of the index plus
the query would use. The file keeps them as a table plus a log of the documents added or
removed since it was last updated (one appended row per document, folded into the table
every :data:`DF_FOLD` documents), and a handle keeps what it has read of both
(:class:`FrequencyCache`). Band keys likewise: the newest documents' keys are appended to a
small table, which each handle searches in memory, and merged into the key tables in bulk, in
key order, every :data:`dedup.recent.RECENT_KEYS` keys (:mod:`dedup.recent`): adding a
document writes a few pages, not one per key. The key tables are levels of growing size (a
log-structured merge: see ``_KEY_LEVELS``), so that a merge rewrites a bounded table, not
most pages of one that reaches gigabytes at a million documents. The whole-text keys have a
filter (:mod:`dedup.keyfilter`, 25-50 MB at a million whole-text-only articles), which a
handle holds in memory within its ``cache_mb``: a lookup reads the key table's random pages
only for the keys some stored document may hold, about a quarter of them for a sample of
new articles, half of them edited copies. What a scan does and an
index does not:
corpus-level boilerplate lines (a site header repeated on many pages) are not learnt; each
page's own chrome is still removed.

Guarantees of the SQLite backend:

- **configuration**: the :class:`~dedup.config.ScanConfig` and a format version are stored in
  the file. Reopening under a configuration that changes fingerprints or verification raises
  :class:`~dedup.errors.IncompatibleIndexError` naming the fields; ``config=None`` uses the
  stored one. ``max_bucket``, ``passage_min_hits`` and ``boilerplate_min_docs`` only steer
  lookups and may differ per handle.
- **several processes, one host**: WAL mode, every write in ``BEGIN IMMEDIATE``, a busy
  timeout and a retry with backoff on ``SQLITE_BUSY``; readers see whole batches only. A
  batch of shingle checks on whole-text keys is queried in a read snapshot first; under the
  write lock each check adds what was added since and drops what was removed since.
- **crash safety**: a batch is one transaction; a process killed mid-batch leaves the index
  with every committed batch and nothing of the interrupted one. ``synchronous=NORMAL``:
  durable against a killed process, while a power cut may lose the last commits (never
  corrupt the file).
- **unique ids**: adding a document whose id is already stored *replaces* it (a crawler that
  re-fetches an updated page keeps the newest version), key lookups and frequencies
  included.

The Redis backend (:mod:`dedup.redis_store`) has the same API for a fleet of crawlers on
several hosts; :func:`open_index` picks the backend from the path or URL.
"""

from __future__ import annotations

import importlib
import json
import logging
import numbers
import os
import random
import sqlite3
import struct
import threading
import time
import zlib
from abc import ABC, abstractmethod
from collections import Counter, deque
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from functools import partial
from itertools import chain
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import numpy as np

from dedup import __version__, keyfilter
from dedup import recent as recent_mod
from dedup.arrays import distinct
from dedup.config import ScanConfig
from dedup.errors import ConfigError, IncompatibleIndexError, StoreError
from dedup.index import band_keys
from dedup.parallel import Task, make_backend, resolve_jobs
from dedup.prepare import Prepared
from dedup.recent import (
    PACKED_KEY_BYTES,
    ConnectionCache,
    RecentKeys,
    SortedCounts,
    SortedPairs,
    packed_keys,
    unpacked_keys,
)
from dedup.scan import Fingerprinter
from dedup.stages import Workspace
from dedup.types import Document
from dedup.verify import (
    RELATIONS,
    IdfTable,
    Relation,
    TextFeatures,
    Verification,
    Verifier,
    shingle_verification,
)

if TYPE_CHECKING:
    from dedup.redis_store import RedisSyndicationIndex

__all__ = [
    "FORMAT_VERSION",
    "BaseSyndicationIndex",
    "Match",
    "Status",
    "SyndicationIndex",
    "Verdict",
    "open_index",
]

log = logging.getLogger(__name__)

#: Version of the SQLite layout; an index written under another version is refused, except
#: those of :data:`_UPGRADABLE`.
#: 10: a filter of the whole-text keys (:mod:`dedup.keyfilter`), read before their table so
#: that a lookup reads its pages only for keys some document may hold; the table renamed
#: from ``doc_keys`` to ``text_keys``, so that a handle of an older version, which would
#: merge keys without their bits (lookups would then miss them), fails on the file instead.
#: 9: the removal of a document still in the ``recent`` table is logged in ``recent_removed``,
#: which handles read like new rows, instead of making every handle read the table again (a
#: re-fetched page replaced soon after it was added cost ~1,000 times what a check costs).
#: 8: a body keeps its word n-gram hashes ahead of its zlib stream (:func:`encode_body`);
#: bodies of format 7 (one zlib stream) stay readable, so the upgrade only marks the file.
#: 7: passage keys in levels of key tables (a log-structured merge, see ``_KEY_LEVELS``); the
#: last level renamed, so that a handle of an older version fails instead of writing there (6:
#: intermediate layouts of the same day, refused).
#: 5: the newest documents' band keys in the ``recent`` table, merged into the key tables in
#: bulk (:mod:`dedup.recent`); rowids never reused.
#: 4: document frequencies as a folded table plus a log of added and removed documents.
#: 3: the text and its verification features (:class:`~dedup.verify.TextFeatures`) in one
#: zlib-compressed blob, document frequencies keyed by word id (version 2 stored prepared
#: sentences as JSON and words as text; version 1 plain text, JSON and full 64-bit keys).
FORMAT_VERSION = 10
#: Formats this version upgrades in place when it opens them, once the configuration is
#: accepted (version 5 lacks the key levels: its passage-key table becomes the last level,
#: the others start empty; version 7 bodies are read as they are; versions before 9 gain an
#: empty ``recent_removed`` table; all gain an empty key filter, built at the next merge).
_UPGRADABLE = {"5", "7", "8", "9"}
#: Documents logged (added or removed) before their word counts are folded into the ``df``
#: table; a reader keeps the summed log in memory (~300 words per document).
DF_FOLD = 5000
#: ``PRAGMA application_id`` of a dedup index file ("ddup").
APPLICATION_ID = 0x64647570
#: Config fields that only steer candidate lookup at query time (nothing stored depends on them).
QUERY_TIME_FIELDS = frozenset({"max_bucket", "passage_max_bucket", "passage_min_hits", "boilerplate_min_docs"})

Status = Literal["new", "duplicate", "syndicated", "rewrite", "partial"]
#: How a query verifies its candidates (``verify=``): ``"full"`` compares their sentences as a
#: scan does (every relation, scores and evidence); ``"shingles"`` compares their word n-gram
#: hashes only (:func:`~dedup.verify.shingle_verification`: copies and syndicated versions, no
#: rewrites).
Verify = Literal["full", "shingles"]
VERIFY_MODES: tuple[Verify, ...] = ("full", "shingles")
#: ``progress(stage, done, total)``, as in :mod:`dedup.scan`.
Progress = Callable[[str, int, int], None]
T = TypeVar("T")

_RELATION_RANK = {r: i for i, r in enumerate(RELATIONS)}
_SQL_CHUNK = 2000  # documents per eviction transaction: their key rows are deleted in key order
_FOLD_CHUNK = 50_000  # words per statement when the frequency log is folded
# bound parameters per IN (...) list: SQLite >= 3.32 allows 32766, older ones 999
_IN_CHUNK = 8000 if sqlite3.sqlite_version_info >= (3, 32, 0) else 900
# band keys kept in the SQLite file: SQLite stores an integer below 2**47 in 6 bytes instead of
# 8; at a million documents (~7e8 stored keys) a query key meets a stray stored key with
# probability ~5e-6, and a stray candidate is only verified and dropped
_KEY_MASK = (1 << 47) - 1
_BUSY_CODES = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


# ---------------------------------------------------------------------------------------
# Values


@dataclass(frozen=True, slots=True)
class Match:
    """A stored document related to the queried one: how, the scores and why.

    ``evidence`` spans: ``a`` indexes the queried text, ``b`` the stored text.
    ``alignment`` is :func:`dedup.align.alignment_summary` of the queried text against the
    stored one (verdict, reason, coverage, counts) when asked for and :mod:`dedup.align` is
    installed.
    """

    id: str
    relation: Relation
    scores: Mapping[str, float]
    reason: str
    added: float
    url: str | None = None
    title: str | None = None
    date: str | None = None
    source: str | None = None
    evidence: tuple[Mapping[str, Any], ...] = ()
    alignment: Any = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "scores", MappingProxyType(dict(self.scores)))

    def __reduce__(self) -> tuple[type[Match], tuple[Any, ...]]:
        # a read-only mapping does not pickle: the scores cross processes as a dict
        return Match, tuple(dict(self.scores) if f.name == "scores" else getattr(self, f.name) for f in fields(self))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "relation": self.relation, "scores": dict(self.scores),
                               "reason": self.reason, "added": self.added}
        for key in ("url", "title", "date", "source"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        out["evidence"] = [dict(e) for e in self.evidence]
        if self.alignment is not None:
            out["alignment"] = self.alignment
        return out


@dataclass(frozen=True, slots=True)
class Verdict:
    """What :meth:`BaseSyndicationIndex.check` found before adding a document.

    ``status`` is ``"new"`` without a match, else the strongest relation found
    (duplicate > syndicated > rewrite > partial); ``matches`` are strongest first.
    """

    status: Status
    matches: tuple[Match, ...] = ()

    @classmethod
    def from_matches(cls, matches: Sequence[Match]) -> Verdict:
        if not matches:
            return cls("new", ())
        return cls(matches[0].relation, tuple(matches))

    @property
    def best(self) -> Match | None:
        return self.matches[0] if self.matches else None

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "matches": [m.to_dict() for m in self.matches]}


@dataclass(frozen=True, slots=True)
class Entry:
    """A document made ready to store or query: prepared text, verification features, band
    keys and content words.

    Keys are the uint64 LSH band keys viewed as int64 (SQLite integers are signed), distinct;
    ``words`` the distinct :func:`~dedup.verify.word_id` of its content words, sorted.
    ``prepared`` is None in entries prepared by a worker process (storing and verifying read
    the features only; the prepared text is what is large to send; ``align=True`` prepares
    the text again).
    """

    doc: Document
    prepared: Prepared | None
    features: TextFeatures
    doc_keys: np.ndarray
    passage_keys: np.ndarray
    words: np.ndarray
    added: float
    payload: Any = None  # what a backend encoded ahead of its write transaction

    @property
    def language(self) -> str | None:
        return self.features.language


@dataclass(frozen=True, slots=True)
class Stored:
    """A document loaded back from an index: the document and what verification reads of it."""

    doc: Document
    features: TextFeatures
    added: float


@dataclass(frozen=True, slots=True)
class StoredShingles:
    """A document loaded back for ``verify="shingles"``: what a match tells of it and its word
    n-gram hashes (:attr:`~dedup.verify.TextFeatures.shingles`); its text and other features
    are left encoded."""

    id: str
    shingles: np.ndarray
    added: float
    url: str | None = None
    title: str | None = None
    date: str | None = None
    source: str | None = None


# ---------------------------------------------------------------------------------------
# Encoding shared by the backends (JSON and plain strings: no pickle in files users keep)


def word_ids(features: TextFeatures) -> np.ndarray:
    """Distinct word ids of a document's content words, sorted (what document frequency counts)."""
    return distinct(features.words)


def keys_to_bytes(keys: np.ndarray) -> bytes:
    return np.asarray(keys, dtype="<i8").tobytes()


def keys_from_bytes(blob: bytes | None) -> np.ndarray:
    return np.frombuffer(blob or b"", dtype="<i8").astype(np.int64)


def resolve_config(stored: Mapping[str, Any], given: ScanConfig | None, where: str) -> ScanConfig:
    """The configuration to use with an index that stores ``stored``.

    ``given=None`` means the stored one. Otherwise every field that changes fingerprints or
    verification must agree; fields in :data:`QUERY_TIME_FIELDS` are taken from ``given``.
    """
    try:
        kept = ScanConfig.from_dict(dict(stored))
    except (ConfigError, TypeError) as exc:
        raise IncompatibleIndexError(f"{where}: stored configuration is not valid here: {exc}") from exc
    if given is None:
        return kept
    diffs = [
        f"{f.name} (index {getattr(kept, f.name)!r}, given {getattr(given, f.name)!r})"
        for f in fields(ScanConfig)
        if f.name not in QUERY_TIME_FIELDS and getattr(kept, f.name) != getattr(given, f.name)
    ]
    if diffs:
        raise IncompatibleIndexError(
            f"{where} was built with another configuration: {', '.join(diffs)}; open it with "
            f"config=None to use the stored configuration, or build a new index"
        )
    return given


def check_format(value: Any, where: str, version: int = FORMAT_VERSION) -> None:
    """Refuse an index whose stored format ``value`` is not ``version``."""
    if str(value) != str(version):
        raise IncompatibleIndexError(
            f"{where} has index format version {value!r}; this dedup {__version__} reads version "
            f"{version} only"
        )


def _alignment_summary(source: Prepared, derived: Prepared, config: ScanConfig, idf: IdfTable) -> Any:
    """:func:`dedup.align.alignment_summary` of ``derived`` (the queried text) against ``source``
    (the stored, earlier one), or None when :mod:`dedup.align` is not installed.

    Imported lazily: alignment is optional for the index.
    """
    try:
        module = importlib.import_module("dedup.align")
    except ImportError as exc:
        if exc.name not in ("dedup.align", "dedup"):
            raise
        log.debug("dedup.align is not available: alignment skipped")
        return None
    align_prepared = getattr(module, "align_prepared", None)
    summary = getattr(module, "alignment_summary", None)
    if align_prepared is None or summary is None:
        log.debug("dedup.align has no align_prepared()/alignment_summary(): alignment skipped")
        return None
    return summary(align_prepared(source, derived, config=config, idf=idf))


# ---------------------------------------------------------------------------------------
# The shared core


class BaseSyndicationIndex(ABC):
    """The API both backends share; the SQLite one is :class:`SyndicationIndex`.

    A subclass stores entries and answers three questions for :meth:`query`: which stored
    documents share band keys with an entry (:meth:`_lookup`), what they are (:meth:`_load`)
    and how many documents contain some words (:meth:`_frequencies`). Everything else
    (preparation, keys, verification, ranking) happens here, once.
    """

    config: ScanConfig

    def _init_core(self, config: ScanConfig) -> None:
        self.config = config
        self._fingerprinter = Fingerprinter(config)

    # -- what a backend provides ------------------------------------------------------

    @abstractmethod
    def _lookup(self, reader: Any, entry: Entry) -> dict[Any, list[int]]:
        """``{handle: [doc-key hits, passage-key hits]}`` of stored documents sharing keys.

        Passage keys count as :func:`passage_hits` says. A handle is whatever :meth:`_load`
        takes; larger handles are newer, preferred on ties.
        """

    @abstractmethod
    def _load(self, reader: Any, handles: Sequence[Any]) -> list[Stored]:
        """The stored documents of ``handles`` (missing ones left out)."""

    @abstractmethod
    def _load_shingles(self, reader: Any, handles: Sequence[Any]) -> list[StoredShingles]:
        """:meth:`_load` with the word n-gram hashes of the features only (``verify="shingles"``)."""

    @abstractmethod
    def _frequencies(self, reader: Any, needed: Mapping[str | None, np.ndarray]
                     ) -> tuple[dict[str | None, np.ndarray], dict[str | None, int]]:
        """``(df, totals)``: per language, how many documents contain each needed word (the
        distinct sorted word ids of ``needed[language]``; an array of the same length), and
        how many documents there are."""

    @abstractmethod
    def add_many(self, documents: Iterable[Document], batch_size: int = 500, *, added: float | None = None,
                 progress: Progress | None = None, jobs: int | None = 1) -> int:
        """Add documents, one transaction per batch (prepared on ``jobs`` processes); return
        how many were given."""

    @abstractmethod
    def _read(self, work: Callable[[Any], T]) -> T:
        """Run ``work(reader)`` on one consistent view of the index (what :meth:`_lookup`,
        :meth:`_load` and :meth:`_frequencies` take as ``reader``)."""

    @abstractmethod
    def _check_entries(self, entries: Sequence[Entry], *, limit: int, align: bool,
                       candidates: int | None, verify: Verify) -> list[list[Match]]:
        """Query, then add, each entry in order (each sees the ones before it), each as one
        atomic step against other writers; the matches of each."""

    def query(self, text_or_document: str | Document, *, limit: int = 10, align: bool = False,
              candidates: int | None = None, verify: Verify = "full") -> list[Match]:
        """Stored documents related to a text or document, strongest first (nothing is added).

        A :class:`~dedup.types.Document` never matches its own id. With ``align=True`` each
        match carries the passage alignment of :mod:`dedup.align` when that module is installed.

        ``candidates``: how many stored documents are verified at most, those sharing the most
        band keys with the text first (newest first on ties; a queried document's own stored
        version takes no place); default ``max(4 * limit, config.max_bucket)``. Verifying is
        most of a query's cost where many stored documents share keys with the text (a story
        syndicated hundreds of times): fewer is faster, and the matches are then the
        strongest among those verified.

        ``verify``: ``"full"`` (default) compares the sentences of each candidate with the text's,
        as ``dedup scan`` does; ``"shingles"`` compares their word n-gram hashes only
        (:func:`~dedup.verify.shingle_verification`): 4-5 times faster per query on a
        whole-text-only index (~1.6 times with passage keys, whose lookup
        dominates), it tells duplicates and syndicated copies, not rewrites or partial reuse,
        and gives Jaccard and containment scores without evidence; ``align`` needs ``"full"``.
        """
        candidates = check_candidates(candidates)
        check_limit(limit)
        check_verify(verify, align)
        document, own_id = self._as_document(text_or_document)
        entry = self._entries([document])[0]
        return self._read(lambda reader: self._matches(reader, entry, limit=limit, align=align, exclude=own_id,
                                                       candidates=candidates, verify=verify))

    def check(self, document: Document, *, limit: int = 10, align: bool = False,
              added: float | None = None, candidates: int | None = None, verify: Verify = "full") -> Verdict:
        """Query, then add ``document``, as one atomic step against other writers: two crawlers
        checking copies of one story at the same moment cannot both get ``new``.

        ``added`` (unix seconds, default now) is the time eviction goes by; ``candidates`` and
        ``verify``: see :meth:`query`.
        """
        candidates = check_candidates(candidates)
        check_limit(limit)
        check_verify(verify, align)
        entry = self._entries([document], added, store=True)[0]
        return Verdict.from_matches(self._check_entries([entry], limit=limit, align=align,
                                                        candidates=candidates, verify=verify)[0])

    def query_many(self, items: Iterable[str | Document], *, limit: int = 10, align: bool = False,
                   candidates: int | None = None, verify: Verify = "full", batch_size: int = 500,
                   jobs: int | None = 1, progress: Progress | None = None) -> list[list[Match]]:
        """:meth:`query` for many texts or documents: the matches of each, in order.

        With ``jobs`` > 1 (0 or None: one per core), batches of ``batch_size`` are answered on
        that many worker processes, each with its own handle on the index (worker processes
        take about a second to start: worth it for thousands of queries). Each batch is
        answered from one snapshot of the SQLite index (a read transaction); Redis has none.
        An index a worker cannot open by itself (an in-memory SQLite database) has its batches
        prepared on the workers and answered in this process. Each worker's handle keeps its
        own caches (SQLite: up to 128 MiB of pages and the recent keys), and an index gone
        since this handle was opened raises from the first batch.
        """
        candidates = check_candidates(candidates)
        check_limit(limit)
        check_verify(verify, align)
        _refuse_one_text(items, "query_many")
        own_ids: deque[str | None] = deque()

        def documents() -> Iterator[Document]:
            for item in items:
                document, own_id = self._as_document(item)
                own_ids.append(own_id)
                yield document

        options: dict[str, Any] = {"limit": limit, "align": align, "candidates": candidates, "verify": verify}
        out: list[list[Match]] = []

        def collect(answered: Iterable[list[list[Match]]]) -> None:
            for answers in answered:
                out.extend(answers)
                if progress is not None:
                    progress("query", len(out), 0)

        workers = resolve_jobs(jobs)
        spec = self._reader_spec() if workers > 1 else None
        if spec is None:
            collect(self._read(partial(self._answer, entries=entries,
                                       excludes=[own_ids.popleft() for _ in entries], **options))
                    for entries in self._prepared_batches(documents(), batch_size, None, jobs, store=False))
        else:
            tasks: Iterator[Task] = (((batch, [own_ids.popleft() for _ in batch], spec, options), {})
                                     for batch in batches(documents(), batch_size))
            with make_backend(workers) as backend:
                collect(backend.map(answers_shard, tasks))
        return out

    def _answer(self, reader: Any, *, entries: Sequence[Entry], excludes: Sequence[str | None], limit: int,
                align: bool, candidates: int | None, verify: Verify) -> list[list[Match]]:
        """The matches of each of a batch of entries, from one view of the index."""
        return [self._matches(reader, e, limit=limit, align=align, exclude=x, candidates=candidates, verify=verify)
                for e, x in zip(entries, excludes, strict=True)]

    def _reader_spec(self) -> ReaderSpec | None:
        """How another process opens this index to query it (None if it cannot)."""
        return None

    def check_many(self, documents: Iterable[Document], *, limit: int = 10, align: bool = False,
                   added: float | None = None, candidates: int | None = None, verify: Verify = "full",
                   batch_size: int = 500, jobs: int | None = 1, progress: Progress | None = None) -> list[Verdict]:
        """:meth:`check` for many documents, in order: the verdict of each, as if checked one
        after the other (a document matches the ones before it, in the index or in ``documents``).

        Batches of ``batch_size`` are prepared on ``jobs`` worker processes (as in
        :meth:`query_many`) while this one checks the batch before, each document atomically
        against other writers. The SQLite index checks a whole batch in one write transaction:
        other writers wait for it (up to their ``timeout``), so on a file shared with busy
        crawlers smaller batches keep their waits short; and an error rolls the batch back
        (the batches before it stay). With ``verify="shingles"`` on a whole-text-only index, it
        first queries the batch in a read transaction, without the write lock, and under the
        lock looks only at what changed since, with the same answers: two processes checking
        at once do not wait for each other's lookups. The Redis index adds each document as it is checked.
        Either way the verdicts of a call that raises are lost with it.
        """
        candidates = check_candidates(candidates)
        check_limit(limit)
        check_verify(verify, align)
        _refuse_one_text(documents, "check_many")
        out: list[Verdict] = []
        for entries in self._prepared_batches(documents, batch_size, added, jobs):
            out += [Verdict.from_matches(m) for m in
                    self._check_entries(entries, limit=limit, align=align, candidates=candidates, verify=verify)]
            if progress is not None:
                progress("check", len(out), 0)
        return out

    @abstractmethod
    def remove(self, doc_id: str) -> bool:
        """Remove a document; False if it was not there."""

    @abstractmethod
    def evict(self, older_than_seconds: float | None = None, *, before: float | None = None,
              now: float | None = None) -> int:
        """Remove documents added before a time; return how many."""

    @abstractmethod
    def get(self, doc_id: str) -> Document | None:
        """The stored document of an id, or None."""

    @abstractmethod
    def stats(self) -> dict[str, Any]:
        """Counts, size and configuration of the index."""

    @abstractmethod
    def close(self) -> None:
        """Release the storage; the object is unusable afterwards."""

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def __contains__(self, doc_id: object) -> bool: ...

    # -- shared behaviour -------------------------------------------------------------

    def add(self, document: Document, *, added: float | None = None) -> None:
        """Add one document (replacing a stored document with the same id)."""
        self.add_many([document], added=added)

    def __enter__(self) -> BaseSyndicationIndex:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _entries(self, documents: Sequence[Document], added: float | None = None, *, store: bool = False
                 ) -> list[Entry]:
        """Prepare and fingerprint a batch (signatures computed in bulk); ``store``: to be added,
        so the backend encodes them now (:meth:`_encode`), outside its write lock."""
        entries = make_entries(self._fingerprinter, documents, added)
        return [self._encode(e) for e in entries] if store else entries

    def _prepared_batches(self, documents: Iterable[Document], batch_size: int, added: float | None,
                          jobs: int | None, *, store: bool = True) -> Iterator[list[Entry]]:
        """The entries of ``documents``, batch by batch, encoded to be stored (:meth:`_encode`)
        unless ``store`` is false: prepared here, or on ``jobs`` worker processes (0 or None:
        one per core) while this process works on the previous batches."""
        workers = resolve_jobs(jobs)
        if workers == 1:
            for batch in batches(documents, batch_size):
                yield self._entries(batch, added, store=store)
            return
        config = self.config.to_dict()
        tasks: Iterator[Task] = (((batch, config, added), {}) for batch in batches(documents, batch_size))
        with make_backend(workers) as backend:
            for entries in backend.map(entries_shard, tasks):
                yield [self._encode(e) for e in entries] if store else entries

    def _encode(self, entry: Entry) -> Entry:
        """``entry`` with what the backend stores encoded ahead of time (outside any lock)."""
        return entry

    def _matches(self, reader: Any, entry: Entry, *, limit: int, align: bool,
                 exclude: str | None, candidates: int | None = None, verify: Verify) -> list[Match]:
        """Candidates by band keys, verified against the stored documents, strongest first."""
        check_limit(limit)
        cap = max(4 * limit, self.config.max_bucket) if candidates is None else candidates
        wanted = self._wanted(self._lookup(reader, entry), cap, exclude)
        if verify == "shingles":
            return self._shingle_matches(reader, entry, wanted, limit=limit, exclude=exclude, cap=cap)
        stored = [s for s in self._load(reader, wanted) if s.doc.id != exclude][:cap]
        if not stored:
            return []
        idf = self._idf(reader, entry, stored)
        # one verifier for the whole query: the queried document's features are computed once
        verifier = Verifier(idf, self.config)
        related: list[tuple[Relation, Verification, Stored]] = []
        # stored copies of one text are verified once: told by a digest of their features,
        # computed only where the sizes of two candidates' features leave it possible
        sizes = Counter(_feature_sizes(s.features) for s in stored)
        verified: dict[bytes, Verification] = {}
        for s in stored:
            if sizes[_feature_sizes(s.features)] > 1:
                digest = s.features.digest()
                result = verified.get(digest)
                if result is None:
                    result = verified[digest] = verifier.verify(entry.features, s.features)
            else:
                result = verifier.verify(entry.features, s.features)
            if result.related and result.relation is not None:
                related.append((result.relation, result, s))
        # strongest first; the evidence (sentence spans) only of those kept
        related.sort(key=lambda rs: (_RELATION_RANK[rs[0]],
                                     -max(rs[1].scores.get("coverage_a", 0.0), rs[1].scores.get("coverage_b", 0.0)),
                                     -rs[2].added, rs[2].doc.id))
        found = [(Match(s.doc.id, relation, result.scores, result.reason, s.added, s.doc.url, s.doc.title,
                        s.doc.date, s.doc.source, tuple(result.evidence(entry.features, s.features))), s)
                 for relation, result, s in related[:limit]]
        if align:
            # alignment reads prepared sentences: the stored text is prepared again (only here)
            derived = entry.prepared if entry.prepared is not None else self._fingerprinter.prepare(entry.doc)
            found = [(_with_alignment(m, self._fingerprinter.prepare(s.doc), derived, self.config, idf), s)
                     for m, s in found]
        return [m for m, _ in found]

    def _wanted(self, hits: Mapping[Any, Sequence[int]], cap: int, exclude: str | None) -> list[Any]:
        """The candidates to verify of band-key ``hits`` (handle -> whole-text, passage hits)."""
        min_hits = self.config.passage_min_hits
        # most shared keys first, larger (newer) handles first on ties; verifying is the costly
        # part, so it is capped
        keep = sorted((h for h, (d, p) in hits.items() if d > 0 or p >= min_hits), reverse=True)
        keep.sort(key=lambda h: (-hits[h][0], -hits[h][1]))
        # the queried document's own stored version (a re-fetched page) is no candidate: it is
        # loaded, if among the first, in one more place and dropped, so that it takes no slot
        return keep[:cap + 1] if exclude is not None else keep[:cap]

    def _shingle_matches(self, reader: Any, entry: Entry, wanted: Sequence[Any], *, limit: int,
                         exclude: str | None, cap: int) -> list[Match]:
        """``verify="shingles"``: the candidates verified by their word n-gram hashes alone."""
        return _shingle_ranked([(s, shingle_verification(entry.features.shingles, s.shingles, self.config))
                               for s in [s for s in self._load_shingles(reader, wanted) if s.id != exclude][:cap]],
                              limit)

    def _idf(self, reader: Any, entry: Entry, stored: Sequence[Stored]) -> IdfTable:
        """IDF over the stored corpus plus the queried document, for the words verification needs."""
        parts: dict[str | None, list[np.ndarray]] = {entry.language: [entry.words]}
        for s in stored:
            parts.setdefault(s.features.language, []).append(s.features.words)
        needed = {lang: distinct(np.concatenate(arrays)) for lang, arrays in parts.items()}
        df, totals = self._frequencies(reader, needed)
        ids = needed[entry.language]
        own = df[entry.language] = df[entry.language].copy()
        own[np.searchsorted(ids, entry.words)] += 1  # the queried document counts too
        totals[entry.language] = totals.get(entry.language, 0) + 1
        return IdfTable.from_id_counts({lang: (needed[lang], counts) for lang, counts in df.items()}, totals)

    def _as_document(self, text_or_document: str | Document) -> tuple[Document, str | None]:
        if isinstance(text_or_document, Document):
            return text_or_document, text_or_document.id
        if isinstance(text_or_document, str):
            return Document("<query>", text_or_document), None
        raise TypeError(f"expected a str or dedup.Document, got {type(text_or_document).__name__}")


def _shingle_ranked(verified: Iterable[tuple[StoredShingles, Verification]], limit: int) -> list[Match]:
    """The related ones of shingle-verified candidates as matches, strongest first: relation,
    then the share of the shorter text, then the closest copy."""
    related = [(result.relation, result, s) for s, result in verified if result.relation is not None]
    related.sort(key=lambda rs: (_RELATION_RANK[rs[0]], -rs[1].scores["containment"], -rs[1].scores["jaccard"],
                                 -rs[2].added, rs[2].id))
    return [Match(s.id, relation, result.scores, result.reason, s.added, s.url, s.title, s.date, s.source)
            for relation, result, s in related[:limit]]


def _feature_sizes(features: TextFeatures) -> tuple[str | None, int, int, int]:
    """What two texts with the same :meth:`~dedup.verify.TextFeatures.digest` share, cheaply."""
    return features.language, len(features.texts), len(features.words), len(features.shingles)


def make_entries(fp: Fingerprinter, documents: Sequence[Document], added: float | None = None) -> list[Entry]:
    """Prepare and fingerprint a batch of documents (signatures computed in bulk); ``added``
    (unix seconds) defaults to now."""
    for d in documents:
        if not isinstance(d, Document):
            raise TypeError(f"expected dedup.Document, got {type(d).__name__}")
    when = time.time() if added is None else float(added)
    prepared = [fp.prepare(d) for d in documents]
    features = [fp.features(p) for p in prepared]
    prints = fp.fingerprints(prepared, features)
    doc_keys = band_keys(prints.doc, *fp.doc_bands).view(np.int64)
    passage_keys = band_keys(prints.passages, *fp.passage_bands).view(np.int64)
    bounds = np.searchsorted(prints.passage_owner, np.arange(len(documents) + 1))
    out = []
    for i, (d, p, f) in enumerate(zip(documents, prepared, features, strict=True)):
        # a text without sentences has no whole-text signature worth a bucket
        dk = distinct(doc_keys[i]) if p.sentences else np.empty(0, np.int64)
        pk = distinct(passage_keys[bounds[i]:bounds[i + 1]])
        out.append(Entry(d, p, f, dk, pk, word_ids(f), when))
    return out


def entries_shard(documents: Sequence[Document], config: Mapping[str, Any], added: float | None, *,
                  workspace: Workspace) -> list[Entry]:
    """What a worker process runs for ``add_many``, ``query_many`` and ``check_many`` with
    ``jobs=N``: :func:`make_entries` without the prepared texts (storing and verifying read
    the features only)."""
    fp = workspace.fingerprinter(ScanConfig.from_dict(dict(config)))
    return [Entry(e.doc, None, e.features, e.doc_keys, e.passage_keys, e.words, e.added)
            for e in make_entries(fp, documents, added)]


@dataclass(frozen=True, slots=True)
class ReaderSpec:
    """How a worker process opens an index to query it: :func:`open_index` of ``target`` with
    the configuration (JSON) of the handle it stands for and ``options``."""

    target: str = field(repr=False)  # a Redis URL may hold a password
    config: str
    options: tuple[tuple[str, Any], ...]

    def open(self) -> BaseSyndicationIndex:
        return open_index(self.target, ScanConfig.from_dict(json.loads(self.config)), **dict(self.options))


def answers_shard(documents: Sequence[Document], excludes: Sequence[str | None], spec: ReaderSpec,
                  options: Mapping[str, Any], *, workspace: Workspace) -> list[list[Match]]:
    """What a worker process runs for ``query_many`` with ``jobs=N``: one batch prepared and
    answered on the worker's own handle on the index (opened once, kept in ``workspace``)."""
    index = workspace.kept(("index", spec), spec.open)
    entries = index._entries(list(documents))
    return index._read(partial(index._answer, entries=entries, excludes=list(excludes), **options))


def _with_alignment(match: Match, source: Prepared, derived: Prepared, config: ScanConfig, idf: IdfTable
                    ) -> Match:
    summary = _alignment_summary(source, derived, config, idf)
    if summary is None:
        return match
    return Match(match.id, match.relation, match.scores, match.reason, match.added, match.url, match.title,
                 match.date, match.source, match.evidence, summary)


def passage_hits(buckets: Iterable[Collection[Any]], config: ScanConfig, hits: dict[Any, list[int]]) -> None:
    """Count passage-key hits in ``hits`` (``[doc-key hits, passage-key hits]`` per handle)
    from the stored documents of each bucket (the handles holding one passage key).

    As a scan pairs the documents of a passage bucket (:func:`dedup.index.candidate_pairs`):
    a bucket of at most ``config.passage_max_bucket`` documents gives each a hit; a larger
    one, common vocabulary or a widely reprinted text, gives a hit to its largest handle only
    (SQLite: the newest document; Redis: the largest id), the one a chain links the query to (a reprinted text shares
    every key with its copies, so that copy still collects hits from every band); a bucket of
    ``config.max_bucket`` documents or more gives none.

    >>> hits = {}
    >>> passage_hits([[3, 1], list(range(20)), list(range(100))], ScanConfig(), hits)
    >>> hits
    {3: [0, 1], 1: [0, 1], 19: [0, 1]}
    """
    for bucket in buckets:
        n = len(bucket)
        if n > config.passage_max_bucket:
            if n >= config.max_bucket:
                continue
            bucket = [max(bucket)]
        for handle in bucket:
            hits.setdefault(handle, [0, 0])[1] += 1


def passage_hit_counts(keys: np.ndarray, docs: np.ndarray, config: ScanConfig,
                       weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`passage_hits` on ``(key, doc)`` pairs (each pair once), in arrays: ``(docs,
    hits)``, the documents that collect passage-key hits and how many.

    ``weights[i]``: how many stored documents pair ``i`` stands for (1 when None). A large
    bucket can be given as its newest document alone, weighing the bucket's size: only that
    document can collect its hit.

    >>> passage_hit_counts(np.array([5, 5, 6] + [7] * 20), np.array([3, 1, 1] + list(range(20))), ScanConfig())
    (array([ 1,  3, 19]), array([2, 1, 1]))
    >>> passage_hit_counts(np.array([5, 5, 6, 7]), np.array([3, 1, 1, 19]), ScanConfig(), np.array([1, 1, 1, 20]))
    (array([ 1,  3, 19]), array([2, 1, 1]))
    """
    if not len(keys):
        return np.empty(0, np.int64), np.empty(0, np.int64)
    order = np.lexsort((docs, keys))
    keys, docs = keys[order], docs[order]
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    counts = np.diff(np.append(starts, len(keys)))
    sizes = counts if weights is None else np.add.reduceat(np.asarray(weights, dtype=np.int64)[order], starts)
    size = np.repeat(sizes, counts)
    newest = np.zeros(len(keys), dtype=bool)
    newest[np.append(starts[1:], len(keys)) - 1] = True  # the largest handle of each bucket
    keep = (size <= config.passage_max_bucket) | ((size < config.max_bucket) & newest)
    return np.unique(docs[keep], return_counts=True)


def _refuse_one_text(items: Any, name: str) -> None:
    """A str is iterable: given where many items are expected, it would be read character by
    character."""
    if isinstance(items, str | bytes | Document):
        raise TypeError(f"{name} takes an iterable of texts or documents, not one {type(items).__name__}: "
                        f"wrap it in a list")


def check_limit(limit: Any) -> None:
    """:class:`ConfigError` unless ``limit`` (matches per query) is an integer >= 1."""
    if isinstance(limit, bool) or not isinstance(limit, numbers.Integral) or limit < 1:
        raise ConfigError(f"limit must be an integer >= 1, got {limit!r}")


def check_verify(verify: Any, align: bool = False) -> None:
    """:class:`ConfigError` unless ``verify`` is one of :data:`VERIFY_MODES` (and ``"full"``
    where an alignment is asked for: it reads the sentences that ``"shingles"`` skips)."""
    if verify not in VERIFY_MODES:
        raise ConfigError(f"verify must be one of {', '.join(map(repr, VERIFY_MODES))}, got {verify!r}")
    if align and verify != "full":
        raise ConfigError(f"align=True needs verify='full' (an alignment compares sentences), got verify={verify!r}")


def check_candidates(candidates: Any) -> int | None:
    """``candidates`` as given to a query (None or an integer >= 1), or :class:`ConfigError`."""
    if candidates is not None and (isinstance(candidates, bool) or not isinstance(candidates, int)
                                   or candidates < 1):
        raise ConfigError(f"candidates must be an integer >= 1 or None, got {candidates!r}")
    return candidates


def unique_by_id(entries: Sequence[Entry]) -> list[Entry]:
    """The last entry of each id, in order of those last occurrences (a batch replaces too)."""
    last = {e.doc.id: i for i, e in enumerate(entries)}
    return [e for i, e in enumerate(entries) if last[e.doc.id] == i]


def batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    if not isinstance(size, int) or size < 1:
        raise ConfigError(f"batch_size must be an integer >= 1, got {size!r}")
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def eviction_cutoff(older_than_seconds: float | None, before: float | None, now: float | None) -> float:
    if (older_than_seconds is None) == (before is None):
        raise ConfigError("evict needs exactly one of older_than_seconds or before")
    if before is not None:
        return float(before)
    assert older_than_seconds is not None
    if older_than_seconds < 0:
        raise ConfigError(f"older_than_seconds must be >= 0, got {older_than_seconds!r}")
    return (time.time() if now is None else now) - older_than_seconds


# ---------------------------------------------------------------------------------------
# SQLite backend

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE docs (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    added REAL NOT NULL,
    date TEXT, url TEXT, title TEXT, source TEXT, path TEXT NOT NULL DEFAULT '',
    language TEXT NOT NULL,         -- '' when not detected
    body BLOB NOT NULL,             -- encode_body(): shingle hashes, zlib of text and TextFeatures
    doc_keys BLOB NOT NULL,         -- packed_keys(): stored keys, to delete key rows
    passage_keys BLOB NOT NULL
);
CREATE INDEX docs_added ON docs (added);
CREATE TABLE recent (              -- keys of documents not yet merged into the key levels
    doc INTEGER PRIMARY KEY,        -- docs.rowid
    doc_keys BLOB NOT NULL,
    passage_keys BLOB NOT NULL
);
CREATE TABLE text_keys (key INTEGER NOT NULL, doc INTEGER NOT NULL, PRIMARY KEY (key, doc)) WITHOUT ROWID;
CREATE TABLE df (language TEXT NOT NULL, word INTEGER NOT NULL, n INTEGER NOT NULL,
                 PRIMARY KEY (language, word)) WITHOUT ROWID;
CREATE TABLE df_log (
    seq INTEGER PRIMARY KEY,
    language TEXT NOT NULL,
    sign INTEGER NOT NULL,          -- 1: a document added, -1: removed
    words BLOB NOT NULL             -- its distinct word ids, int64 little-endian
);
CREATE TABLE languages (language TEXT PRIMARY KEY, n INTEGER NOT NULL);
CREATE TABLE counts (name TEXT PRIMARY KEY, n INTEGER NOT NULL);
INSERT INTO counts (name, n) VALUES ('doc_keys', 0), ('passage_keys', 0), ('df_log', 0), ('df_generation', 0),
    ('recent_keys', 0), ('recent_generation', 0), ('rowid', 0);
"""

#: Passage-key tables, newest keys first (format 7): the ``recent`` table's passage keys are
#: merged into the first; a level holding more than ``RECENT_KEYS * KEY_LEVEL_RATIO**i`` keys
#: (``i`` from 1) is moved into the next one; the last has no bound. Each level holds the
#: keys of a range of rowids, older ones further down (the ``level_i_upto`` counts: the
#: largest rowid moved into level ``i`` or below). A level is written in key order, into a
#: B-tree of bounded size, so a merge rewrites tens of MB, not most pages of a table that
#: grows to ~9 GB at a million articles (a log-structured merge of B-trees); a lookup searches
#: each level. Whole-text keys (25 per article) stay in one table, ``text_keys`` (whose
#: filter, :mod:`dedup.keyfilter`, a lookup reads first).
#:
#: A move goes in steps, by key range, one per write transaction that adds keys (the
#: ``moving`` count: the level being moved, 0 for none; ``moved_key``: keys up to it are
#: moved; ``moving_upto``: the newest document moved), so that no transaction holds the
#: write lock for minutes while other crawlers wait. Mid-move, every key still has all its
#: moving rows in one of the two levels, and the newer level's documents are all newer.
_KEY_LEVELS = ("passage_keys_1", "passage_keys_2", "passage_keys_3")
#: Size ratio of consecutive key levels.
KEY_LEVEL_RATIO = 8
#: Keys a write transaction moves at least while a level is being moved; it moves
#: ``MOVE_PACE`` times the keys it adds when that is more: as many as a level's bound ratio, so
#: that the level above (which waits) grows by about one bound meanwhile.
MOVE_STEP = 100_000
MOVE_PACE = KEY_LEVEL_RATIO
#: Keys :meth:`SyndicationIndex.merge` moves per write transaction while it finishes moves:
#: other writers wait for one such step (seconds), not for a whole level (minutes at 1M).
MERGE_STEP = 2_000_000
_KEY_TABLE = "CREATE TABLE {} (key INTEGER NOT NULL, doc INTEGER NOT NULL, PRIMARY KEY (key, doc)) WITHOUT ROWID;\n"
#: What format 7 adds to format 5, the last level apart.
_LEVELS_SCHEMA = "".join(_KEY_TABLE.format(table) for table in _KEY_LEVELS[:-1]) + (
    "INSERT INTO counts (name, n) VALUES ('moving', 0), ('moved_key', -1), ('moving_upto', 0), "
    + ", ".join(f"('level_{i}', 0), ('level_{i + 1}_upto', 0)" for i in range(1, len(_KEY_LEVELS))) + ";\n")
#: What format 9 adds: the recent documents removed since the ``recent`` table was last merged
#: (:class:`~dedup.recent.RecentKeys`).
_REMOVED_SCHEMA = """
CREATE TABLE recent_removed (
    seq INTEGER PRIMARY KEY,        -- growing until the next merge empties the table
    docs BLOB NOT NULL              -- the docs.rowid of the removed documents, packed_keys()
);
"""
_NO_KEY = 2**63 - 1  # above every stored key
_NO_KEYS = np.empty(0, np.int64)

_DOC_COLUMNS = "rowid, id, added, date, url, title, source, path, language, body"
_META_COLUMNS = "rowid, id, added, date, url, title, source"  # all before the body: on the row's first page
_OLD_COLUMNS = "rowid, language, body, doc_keys, passage_keys"


_TEXT_LENGTH = struct.Struct("<I")
#: First byte of a format-8 body; a format-7 body is a zlib stream, whose first byte is 0x78.
_BODY_SPLIT = 1
_SHINGLE_COUNT = struct.Struct("<BI")  # _BODY_SPLIT, number of shingle hashes
_NO_SHINGLES = np.empty(0, np.uint32)


def encode_body(text: str, features: TextFeatures) -> bytes:
    """The text and its verification features (:meth:`~dedup.verify.TextFeatures.to_bytes`).

    Laid out (format 8) as a byte 1, the number of word n-gram hashes (uint32), the hashes
    (uint32 little-endian, sorted), then the text and the other features zlib-compressed
    together (the features repeat the words of the text). The hashes are random numbers, which
    zlib does not shrink: kept out of the stream, they cost no more room, and ``verify="shingles"``
    reads them without decompressing anything (:func:`decode_shingles`).

    Stored rather than derived at query time: preparing an article (clean, segment, stem)
    costs milliseconds, several times the cost of verifying it, and a query verifies up to
    dozens of stored documents; decoding costs tens of microseconds. The text is kept
    because evidence spans index it. Level 1 costs ~0.1 ms to write.
    """
    raw = text.encode("utf-8")
    shingles = np.ascontiguousarray(features.shingles, dtype="<u4")
    rest = replace(features, shingles=_NO_SHINGLES).to_bytes()
    return b"".join((_SHINGLE_COUNT.pack(_BODY_SPLIT, len(shingles)), shingles.tobytes(),
                     zlib.compress(b"".join((_TEXT_LENGTH.pack(len(raw)), raw, rest)), 1)))


def decode_body(body: bytes) -> tuple[str, TextFeatures]:
    """The text and features of an :func:`encode_body` body (of format 8, or 7: one zlib stream)."""
    if body[0] != _BODY_SPLIT:
        return _split_text(zlib.decompress(body))
    shingles = decode_shingles(body)
    text, features = _split_text(zlib.decompress(memoryview(body)[_SHINGLE_COUNT.size + shingles.nbytes:]))
    return text, replace(features, shingles=shingles)


def _split_text(raw: bytes) -> tuple[str, TextFeatures]:
    (n,) = _TEXT_LENGTH.unpack_from(raw)
    at = _TEXT_LENGTH.size
    return raw[at:at + n].decode("utf-8"), TextFeatures.from_bytes(raw[at + n:])


def decode_shingles(body: bytes) -> np.ndarray:
    """The word n-gram hashes of an :func:`encode_body` body, nothing else decoded (a format-7
    body is decompressed)."""
    if body[0] != _BODY_SPLIT:
        raw = zlib.decompress(body)
        (n,) = _TEXT_LENGTH.unpack_from(raw)
        return TextFeatures.shingles_from_bytes(raw, _TEXT_LENGTH.size + n)
    _, count = _SHINGLE_COUNT.unpack_from(body)
    return np.frombuffer(body, dtype="<u4", count=count, offset=_SHINGLE_COUNT.size)


def summed_log(rows: Sequence[tuple[int, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """``(words, changes)``: the distinct word ids of ``(sign, word ids)`` log rows, sorted,
    and the sum of the signs of the rows holding each (zero sums left out).

    >>> summed_log([(1, np.array([5, 7])), (1, np.array([7])), (-1, np.array([5]))])
    (array([7]), array([2]))
    """
    # rows of one sign counted together (np.unique's counts: a sort, no inverse permutation)
    by_sign: dict[int, list[np.ndarray]] = {}
    for sign, ids in rows:
        by_sign.setdefault(int(sign), []).append(ids)
    counted = [(sign, *np.unique(np.concatenate(parts).astype(np.int64), return_counts=True))
               for sign, parts in by_sign.items()]
    if not counted:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    words = counted[0][1] if len(counted) == 1 else np.unique(np.concatenate([w for _, w, _ in counted]))
    changes = np.zeros(len(words), np.int64)
    for sign, ids, counts in counted:
        changes[np.searchsorted(words, ids)] += sign * counts
    keep = changes != 0
    return words[keep], changes[keep]


def table_frequencies(conn: sqlite3.Connection, language: str, words: Sequence[int]) -> list[int]:
    """The ``df`` table's count of each word (0 when absent), without the unfolded log."""
    out: list[int] = []
    for chunk in _chunks(words):
        sql = f"SELECT word, n FROM df WHERE language = ? AND word IN ({_marks(len(chunk))})"
        found = dict(conn.execute(sql, (language, *chunk)).fetchall())
        out += [found.get(w, 0) for w in chunk]
    return out


def _summed_log_of(conn: sqlite3.Connection) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """:func:`summed_log` of the file's ``df_log``, per language."""
    parts: dict[str, list[tuple[int, np.ndarray]]] = {}
    for language, sign, blob in conn.execute("SELECT language, sign, words FROM df_log"):
        parts.setdefault(language, []).append((sign, np.frombuffer(blob, dtype="<i8")))
    return {language: summed_log(parts[language]) for language in sorted(parts)}


def stored_keys(keys: np.ndarray) -> np.ndarray:
    """Band keys as the SQLite backend keeps them: cut to 47 bits, distinct, sorted."""
    if not len(keys):
        return _NO_KEYS
    cut = np.asarray(keys, dtype=np.int64) & _KEY_MASK  # a new array, sorted in place
    cut.sort()
    if (cut[1:] == cut[:-1]).any():  # keys equal in their low 47 bits: rare
        return distinct(cut)
    return cut


def _write_keys(conn: sqlite3.Connection, sql: str, parts: Sequence[tuple[np.ndarray, int]]) -> int:
    """Insert or delete ``(key, doc)`` rows, ``parts`` being ``(keys, doc)``, in key order;
    return how many rows changed.

    Keys are random: in key order, consecutive rows land on the same or the next B-tree page,
    instead of a random page each.
    """
    if not parts:
        return 0
    keys = np.concatenate([k for k, _ in parts])
    docs = np.repeat(np.asarray([d for _, d in parts], dtype=np.int64), [len(k) for k, _ in parts])
    order = np.lexsort((docs, keys))
    keys, docs = keys[order], docs[order]
    changed = 0
    for at in range(0, len(keys), _FOLD_CHUNK):  # in slices: few Python ints at a time
        part = slice(at, at + _FOLD_CHUNK)
        changed += conn.executemany(sql, zip(keys[part].tolist(), docs[part].tolist(), strict=True)).rowcount
    return changed


def _execute_script(conn: sqlite3.Connection, script: str) -> None:
    """Run ``;``-separated statements inside the caller's transaction (``executescript()``
    would COMMIT first)."""
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _upgrade(conn: sqlite3.Connection, version: str) -> None:
    """Bring a file of format ``version`` (one of :data:`_UPGRADABLE`) to the current one."""
    assert version in _UPGRADABLE
    if version == "5":
        conn.execute(f"ALTER TABLE passage_keys RENAME TO {_KEY_LEVELS[-1]}")
        _execute_script(conn, _LEVELS_SCHEMA)
        # format 5 kept every merged key in the last level
        upto = _newest_merged(conn)
        conn.executemany("UPDATE counts SET n = ? WHERE name = ?",
                         ((upto, f"level_{i}_upto") for i in range(2, len(_KEY_LEVELS) + 1)))
    if version != "9":
        _execute_script(conn, _REMOVED_SCHEMA)
    conn.execute("ALTER TABLE doc_keys RENAME TO text_keys")
    _execute_script(conn, keyfilter.FILTER_SCHEMA)
    conn.execute("UPDATE meta SET value = ? WHERE key = 'format'", (str(FORMAT_VERSION),))


def _newest_merged(conn: sqlite3.Connection) -> int:
    """The newest document whose keys are merged: the one before the first recent one."""
    return int(conn.execute("SELECT coalesce(min(doc) - 1, (SELECT n FROM counts WHERE name = 'rowid')) "
                            "FROM recent").fetchone()[0])


def _move_budget(added: int) -> int:
    """Keys to move in a write transaction that adds ``added`` keys (while a move is due)."""
    return max(MOVE_STEP, MOVE_PACE * added)


def _count(conn: sqlite3.Connection, name: str) -> int:
    return int(conn.execute("SELECT n FROM counts WHERE name = ?", (name,)).fetchone()[0])


def _filter_keys(conn: sqlite3.Connection, parts: Sequence[np.ndarray]) -> None:
    """Give the key filter the keys just written into ``text_keys`` (:func:`dedup.keyfilter.add_keys`)."""
    if sum(len(k) for k in parts):
        keyfilter.add_keys(conn, np.concatenate(parts), _count(conn, "doc_keys"))


def _move_levels(conn: sqlite3.Connection, budget: int) -> None:
    """Go on moving passage-key levels down (``_KEY_LEVELS``): one step of about ``budget``
    keys. A move starts once a level is over its bound and takes that level's documents as
    they are then (newer ones stay)."""
    level = _count(conn, "moving")
    if not level:
        over = _levels_over(conn)
        if not over:
            return
        level = over[-1]  # the deepest first: the level above waits, growing by a ratio's share
        # the newest document in the level: of the first, the newest merged one
        newest = _count(conn, f"level_{level}_upto") if level > 1 else _newest_merged(conn)
        # its documents count as the next level's at once: a removal mid-move looks in both
        conn.executemany("UPDATE counts SET n = ? WHERE name = ?",
                         ((level, "moving"), (-1, "moved_key"), (newest, "moving_upto"),
                          (newest, f"level_{level + 1}_upto")))
        log.debug("moving key level %d (%d keys) into level %d", level, _count(conn, f"level_{level}"), level + 1)
    table, below = _KEY_LEVELS[level - 1], _KEY_LEVELS[level]
    after, upto = _count(conn, "moved_key"), _count(conn, "moving_upto")
    # the key range of this step: about budget rows
    row = conn.execute(f"SELECT key FROM {table} WHERE key > ? ORDER BY key LIMIT 1 OFFSET ?",
                       (after, max(budget - 1, 0))).fetchone()
    last = None if row is None else row[0]
    span = (after, _NO_KEY if last is None else last, upto)
    # rows in key order (a table without rowid is scanned so): sorted runs into the B-tree
    moved = conn.execute(f"INSERT INTO {below} SELECT key, doc FROM {table} "
                         "WHERE key > ? AND key <= ? AND doc <= ?", span).rowcount
    conn.execute(f"DELETE FROM {table} WHERE key > ? AND key <= ? AND doc <= ?", span)
    changes = [(-moved, f"level_{level}")]
    if level + 1 < len(_KEY_LEVELS):
        changes.append((moved, f"level_{level + 1}"))
    conn.executemany("UPDATE counts SET n = n + ? WHERE name = ?", changes)
    if last is None:
        conn.executemany("UPDATE counts SET n = ? WHERE name = ?", ((0, "moving"), (-1, "moved_key")))
        log.debug("moved key level %d into level %d", level, level + 1)
    else:
        conn.execute("UPDATE counts SET n = ? WHERE name = 'moved_key'", (last,))


def _background_steps(conn: sqlite3.Connection, budget: int) -> bool:
    """A step of a level's move (:func:`_move_levels`) and of a key filter's build
    (:func:`dedup.keyfilter.rebuild_step`), of ``budget`` keys each, if due; whether either is
    still going on or due."""
    _move_levels(conn, budget)
    building = keyfilter.rebuild_step(conn, budget)
    return bool(_count(conn, "moving") or _levels_over(conn) or building)


def _merge_step(conn: sqlite3.Connection) -> bool:
    """A step of :meth:`SyndicationIndex.merge` (:data:`MERGE_STEP` keys moved, and read into
    a key filter being built, at most); whether a move or a build is still going on or due."""
    return _background_steps(conn, MERGE_STEP)


def _levels_over(conn: sqlite3.Connection) -> list[int]:
    """The key levels holding more keys than their bound (a move of each is due)."""
    return [i for i in range(1, len(_KEY_LEVELS))
            if _count(conn, f"level_{i}") > recent_mod.RECENT_KEYS * KEY_LEVEL_RATIO**i]


def _is_busy(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in _BUSY_CODES
    return "locked" in str(exc) or "busy" in str(exc)


def _chunks(values: Sequence[T], size: int = _IN_CHUNK) -> Iterator[Sequence[T]]:
    for i in range(0, len(values), size):
        yield values[i:i + size]


def _values(n: int) -> str:
    return ",".join(["(?)"] * n)


def _marks(n: int) -> str:
    return ",".join("?" * n)


def _numbered(n: int) -> str:
    """``?1,...,?n``: parameters that one statement can use more than once."""
    return ",".join([f"?{i}" for i in range(1, n + 1)])


class FrequencyCache(ConnectionCache):
    """Document frequencies as one connection reads them, kept between its transactions.

    The file keeps them in two parts (see :class:`SyndicationIndex`): the ``df`` table, which
    changes only when the log is folded into it (``df_generation`` counts the folds), and
    ``df_log``, one row per document added (+1) or removed (-1) since, appended in ``seq``
    order. This cache keeps the table counts it has read, valid until the next fold, and the
    sum of the log rows it has read, as sorted arrays (:class:`SortedPairs`,
    :class:`SortedCounts`); :meth:`sync` reads what changed since (nothing when the file did
    not change, :meth:`ConnectionCache.changed`): new log rows only, or everything again
    after a fold. Other writers' documents therefore cost a reader one small read each, not
    its whole cache. So a query reads exactly the counts it would read from the file.
    Bounded: emptied past ``limit`` table words (the log part is bounded by the fold size).
    """

    def __init__(self, limit: int = 500_000) -> None:
        self.limit = limit
        self.clear()

    def clear(self) -> None:
        super().__init__()
        self._generation: int | None = None
        self._seq = 0
        self._table: dict[str, SortedPairs] = {}
        self._log: dict[str, SortedCounts] = {}
        self._totals: dict[str, int] = {}
        self._size = 0

    def sync(self, conn: sqlite3.Connection) -> None:
        """Catch up with the file, inside a transaction and before its own writes (its snapshot
        is what the counts then describe)."""
        if not self.changed(conn) and self._size <= self.limit:
            return
        generation = conn.execute("SELECT n FROM counts WHERE name = 'df_generation'").fetchone()[0]
        if generation != self._generation or self._size > self.limit:
            self._table, self._log, self._seq, self._size = {}, {}, 0, 0
            self._generation = generation
        rows = conn.execute("SELECT seq, language, sign, words FROM df_log WHERE seq > ? ORDER BY seq",
                            (self._seq,)).fetchall()
        if rows:
            parts: dict[str, list[tuple[int, np.ndarray]]] = {}
            for _, language, sign, blob in rows:
                parts.setdefault(language, []).append((sign, np.frombuffer(blob, dtype="<i8")))
            for language, signed in parts.items():
                self._log.setdefault(language, SortedCounts()).add(*summed_log(signed))
            self._seq = rows[-1][0]
        self._totals = dict(conn.execute("SELECT language, n FROM languages").fetchall())

    def frequencies(self, conn: sqlite3.Connection, language: str, ids: np.ndarray) -> np.ndarray:
        """Documents of ``language`` containing each of the distinct, sorted word ``ids``."""
        table = self._table.setdefault(language, SortedPairs())
        held, counts = table.sums(ids)
        if not held.all():
            missing = ids[~held]
            read = np.asarray(table_frequencies(conn, language, missing.tolist()), dtype=np.int64)
            table.add(missing, read)
            counts[~held] = read
            self._size += len(missing)
        log = self._log.get(language)
        if log is not None:
            counts += log.get(ids)
        return counts

    def totals(self) -> dict[str, int]:
        return dict(self._totals)


@dataclass(frozen=True, slots=True)
class _Ahead:
    """What a batch of checks found in one read snapshot, before taking the write lock
    (:meth:`SyndicationIndex._ahead`): the recent table's generation then, and for each entry
    its hits in the whole-text key table and its candidates among them verified by shingles."""

    generation: int | None
    hits: list[dict[Any, list[int]]]
    verified: list[dict[int, tuple[StoredShingles, Verification]]]


class _Deferred:
    """The writes of a write transaction that can wait for its end, or for a statement that
    reads them: the counts (read once, kept with the changes not yet written), the languages,
    the recent rows and the frequency log. A batch of checks adds one document at a time, and
    at a million documents each small statement (5-20 µs) is a good share of a check."""

    def __init__(self, log_words: Callable[[sqlite3.Connection, Sequence[tuple[str, int, bytes]], int],
                                           list[tuple[int, str]]]) -> None:
        self._log_words = log_words
        self._held: dict[str, int] | None = None
        self.changes: Counter[str] = Counter()
        self.languages: Counter[str] = Counter()
        self.recent: list[tuple[int, bytes, bytes]] = []
        self.logged: list[tuple[str, int, bytes]] = []

    def count(self, conn: sqlite3.Connection, name: str) -> int:
        """A count of the ``counts`` table (``rowid``, ``recent_keys`` or ``df_log``) with the
        changes still waiting."""
        if self._held is None:
            self._held = dict(conn.execute(
                "SELECT name, n FROM counts WHERE name IN ('rowid', 'recent_keys', 'df_log')"))
        return self._held[name] + self.changes[name]

    def flush(self, conn: sqlite3.Connection) -> None:
        """Write what waits; the counts are read again when next needed."""
        if self.recent:
            conn.executemany("INSERT INTO recent (doc, doc_keys, passage_keys) VALUES (?, ?, ?)", self.recent)
        if self.languages:
            conn.executemany("INSERT INTO languages (language, n) VALUES (?, ?) "
                             "ON CONFLICT (language) DO UPDATE SET n = n + excluded.n", self.languages.items())
        if self.logged:
            for n, name in self._log_words(conn, self.logged, self.count(conn, "df_log")):
                self.changes[name] += n
        if changes := [(n, name) for name, n in self.changes.items() if n]:
            conn.executemany("UPDATE counts SET n = n + ? WHERE name = ?", changes)
        self._held = None
        self.changes, self.languages, self.recent, self.logged = Counter(), Counter(), [], []


class SyndicationIndex(BaseSyndicationIndex):
    """A syndication index in one SQLite file (created on first use unless ``create=False``).

    >>> with SyndicationIndex("index.db") as index:                          # doctest: +SKIP
    ...     index.add(Document("a", "Le chat dort sur le canapé du salon depuis ce matin. ..."))
    ...     index.check(Document("b", "Le chat dort sur le canapé du salon depuis ce matin. ...")).status
    'duplicate'

    ``timeout`` bounds how long a write waits for other writers (seconds). One object may be
    used from several threads (calls are serialized); after ``fork()`` the child reconnects.

    ``mmap_size`` (bytes; 0, the default, for none) maps the first ``mmap_size`` bytes of the
    file into memory, so that reads go straight to the pages the operating system caches
    instead of a system call and a copy per page (SQLite's ``PRAGMA mmap_size``, capped at
    2 GiB by common builds). A query reads hundreds of key-table pages at random: at 100k
    default articles, ``2**31 - 2**16`` gave 11 % more queries per second, but the mapped
    pages then count in the process's resident size (1.6 GB instead of 0.4 GB there), though
    they are the page cache's (shared, dropped under memory pressure).

    ``cache_mb`` (default 128) bounds the pages a handle keeps in its own memory (SQLite's
    ``PRAGMA cache_size``), whatever the index size. The whole-text keys' filter
    (:mod:`dedup.keyfilter`) is held in memory when it takes at most half of that, and the
    page cache gets the rest (a filter too large for it is not used: every key is looked up).
    A new text's band keys fall on random pages of the key tables (412 MB of whole-text keys
    at a million articles): where those pages have left the operating system's cache, a
    lookup waits on the disk. A handle given
    room for its key tables and :meth:`preload`-ed keeps them in its own memory: at 1M
    whole-text-only articles, with ``cache_mb=640``, lookups of 25 new keys took ~85 µs
    against 130-380 µs with the default cache, on a machine that had dropped most of the file
    from its cache; whole queries of new texts, which also read the bodies of their
    candidates, gained 15 % on one process and lost 12 % on two in one run (noise). Checks
    gained more (each also writes pages, which can push key pages out of a small cache):
    ``check_many`` of fresh texts at 1M with ``cache_mb=512`` and :meth:`preload` (0.5 s) ran
    2,045 and 1,973 checks/s in batches of 100 against 1,711 and 1,816 with the default
    cache, in the same two benchmark runs (peak RSS 710 MB against 538).
    """

    def __init__(self, path: str | os.PathLike[str], config: ScanConfig | None = None, *,
                 create: bool = True, timeout: float = 30.0, mmap_size: int = 0, cache_mb: int = 128) -> None:
        self.path = os.fspath(path)
        # what worker processes open (query_many): the same file whatever the cwd is by then
        self._file = None if self.path in ("", ":memory:") else os.path.abspath(self.path)
        self._timeout = float(timeout)
        if isinstance(mmap_size, bool) or not isinstance(mmap_size, int) or mmap_size < 0:
            raise ConfigError(f"mmap_size must be an integer >= 0 (bytes), got {mmap_size!r}")
        self._mmap_size = mmap_size
        if isinstance(cache_mb, bool) or not isinstance(cache_mb, int) or cache_mb < 1:
            raise ConfigError(f"cache_mb must be an integer >= 1 (MiB), got {cache_mb!r}")
        self._cache_mb = cache_mb
        self._lock = threading.RLock()
        self._rng = random.Random()
        self._cache = FrequencyCache()
        self._recent = RecentKeys()
        # the key filter, held when it takes at most half of cache_mb (SQLite's cache the rest)
        self._filter = keyfilter.KeyFilter(cache_mb * 2**20 // 2)
        self._filter_held = 0  # bytes of it the page cache was shrunk by
        self._conn: sqlite3.Connection | None = None
        if not create and not os.path.exists(self.path):
            raise StoreError(f"no index at {self.path}")
        self._pid = os.getpid()
        self._conn = self._connect()
        try:
            found = self._transaction(lambda c: self._setup(c, config, create=create, write=False), write=False)
            if found is None:
                found = self._transaction(lambda c: self._setup(c, config, create=create, write=True), write=True)
            assert found is not None
            stored, version = found
            self._init_core(resolve_config(stored, config, self.path))
            if version != str(FORMAT_VERSION):  # one this version upgrades, now the configuration is accepted
                self._transaction(self._upgrade_file, write=True)
        except BaseException:
            self.close()
            raise

    # -- connection and transactions ----------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None,
                                   check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open index {self.path}: {exc}") from exc
        try:
            self._retry(lambda: conn.execute("PRAGMA journal_mode=WAL").fetchone())
            conn.execute("PRAGMA synchronous=NORMAL")
            # band keys are random, so each add touches many B-tree pages: a larger page cache
            # (fixed, whatever the index size) and fewer checkpoints cut the cost of each write
            conn.execute(f"PRAGMA cache_size=-{self._cache_mb * 1024}")
            conn.execute("PRAGMA temp_store=MEMORY")
            conn.execute("PRAGMA wal_autocheckpoint=10000")
            conn.execute("PRAGMA journal_size_limit=67108864")
            # deleted rows are zeroed only on pages written anyway (Debian builds SQLite with
            # secure_delete on: emptying the frequency log rewrote ~12 MB of freed pages)
            conn.execute("PRAGMA secure_delete=FAST")
            conn.execute(f"PRAGMA mmap_size={self._mmap_size}")
        except (sqlite3.Error, StoreError) as exc:
            conn.close()
            raise StoreError(f"cannot open index {self.path}: {exc}") from exc
        return conn

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"index {self.path} is closed")
        if os.getpid() != self._pid:  # a connection must not cross fork(): open our own
            self._pid = os.getpid()
            self._conn = self._connect()
            self._cache.clear()
            self._recent.clear()
            self._filter.clear()
            self._filter_held = 0
        return self._conn

    def _retry(self, step: Callable[[], T]) -> T:
        """Run ``step``, retrying with jittered backoff while SQLite reports busy."""
        deadline = time.monotonic() + self._timeout
        delay = 0.005
        while True:
            try:
                return step()
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() > deadline:
                    raise
                log.debug("index %s busy (%s), retrying in %.3fs", self.path, exc, delay)
                time.sleep(delay * (1 + self._rng.random()))
                delay = min(delay * 2, 0.25)

    def _transaction(self, work: Callable[[sqlite3.Connection], T], *, write: bool) -> T:
        """Run ``work`` in one transaction (``BEGIN IMMEDIATE`` for writes), retried when busy.

        A read transaction is one snapshot: a reader never sees half of a batch.
        """
        with self._lock:
            conn = self._connection()

            def attempt() -> T:
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                self._recent.begin(locked=write)
                self._cache.begin(locked=write)
                self._filter.begin(locked=write)
                try:
                    result = work(conn)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    # a batch of checks lets the caches read the transaction's own rows (each
                    # check syncs after the inserts before it), and a cache that failed while
                    # catching up (busy) has taken the file's version without its rows: read
                    # them again
                    self._recent.clear()
                    self._cache.clear()
                    self._filter.clear()
                    raise
                return result

            try:
                return self._retry(attempt)
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"index {self.path}: {exc}") from exc

    def _setup(self, conn: sqlite3.Connection, config: ScanConfig | None, *, create: bool, write: bool
               ) -> tuple[dict[str, Any], str] | None:
        """The stored configuration and format, after checking that this version reads or
        upgrades it; None if the schema must be created first and this is a read transaction
        (created when ``write``)."""
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "meta" not in tables:
            if tables:
                raise StoreError(f"{self.path} is an SQLite database but not a dedup index")
            if not create:
                raise StoreError(f"no index at {self.path}")
            if not write:
                return None
            _execute_script(conn, _SCHEMA + _KEY_TABLE.format(_KEY_LEVELS[-1]) + _LEVELS_SCHEMA + _REMOVED_SCHEMA
                            + keyfilter.FILTER_SCHEMA)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            values = {"format": str(FORMAT_VERSION), "config": json.dumps((config or ScanConfig()).to_dict()),
                      "created": repr(time.time()), "dedup_version": __version__}
            conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", values.items())
            log.info("created index %s", self.path)
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("format") not in _UPGRADABLE:
            check_format(meta.get("format"), self.path)
        try:
            stored = json.loads(meta["config"])
        except (KeyError, ValueError) as exc:
            raise StoreError(f"{self.path}: stored configuration is missing or unreadable") from exc
        if not isinstance(stored, dict):
            raise StoreError(f"{self.path}: stored configuration is not an object")
        return stored, meta["format"]

    def _upgrade_file(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()[0]
        if version in _UPGRADABLE:  # unless another process did it meanwhile
            _upgrade(conn, version)
            log.info("upgraded index %s from format %s to %d", self.path, version, FORMAT_VERSION)

    # -- writing -------------------------------------------------------------------------

    def _encode(self, entry: Entry) -> Entry:
        # compressing is the costly part of a row: done before the write lock is taken
        body = encode_body(entry.doc.text, entry.features)
        return Entry(entry.doc, entry.prepared, entry.features, stored_keys(entry.doc_keys),
                     stored_keys(entry.passage_keys), entry.words, entry.added, body)

    def _insert(self, conn: sqlite3.Connection, entries: Sequence[Entry], *, move: bool = True,
                synced: bool = False, deferred: _Deferred | None = None) -> None:
        """Store ``entries`` (replacing stored documents of the same ids). ``synced``: this
        handle's recent keys were read in this transaction (a check's query), so it takes the
        new rows as they are written instead of reading them back. ``deferred``: the writes that
        can wait (counts, languages, recent rows, frequency log) join those of the checks before
        in the transaction, written by its :meth:`_Deferred.flush` (otherwise here)."""
        entries = unique_by_id(entries)
        ids = [e.doc.id for e in entries]
        old = []
        for chunk in _chunks(ids):
            old += conn.execute(f"SELECT {_OLD_COLUMNS} FROM docs WHERE id IN ({_marks(len(chunk))})",
                                chunk).fetchall()
        pending = deferred if deferred is not None else _Deferred(self._log_words)
        if old:
            log.debug("replacing %d stored document(s)", len(old))
            pending.flush(conn)  # the deletion reads and writes the counts and the recent table
            self._delete(conn, old)
        # rowids are assigned here, under the write lock, and never reused: a handle tells the
        # documents it has read from the recent table by rowid
        first = pending.count(conn, "rowid") + 1
        rows = []
        recent = []
        stored = []
        n_doc = n_passage = 0
        for rowid, e in enumerate(entries, first):
            if not isinstance(e.payload, bytes):  # not encoded ahead (outside the lock)
                e = self._encode(e)
            stored.append(e)
            d, body, dk, pk = e.doc, e.payload, e.doc_keys, e.passage_keys
            lang = e.language or ""
            packed = packed_keys(dk), packed_keys(pk)
            rows.append((rowid, d.id, e.added, d.date, d.url, d.title, d.source, d.path, lang, body, *packed))
            recent.append((rowid, *packed))
            n_doc += len(dk)
            n_passage += len(pk)
            pending.logged.append((lang, 1, keys_to_bytes(e.words)))
            pending.languages[lang] += 1
        conn.executemany("INSERT INTO docs (rowid, id, added, date, url, title, source, path, language, body, "
                         "doc_keys, passage_keys) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        pending.changes.update({"doc_keys": n_doc, "passage_keys": n_passage, "rowid": len(entries)})
        merged = pending.count(conn, "recent_keys") + n_doc + n_passage >= recent_mod.RECENT_KEYS
        if merged:  # merged with the recent keys, straight into the key tables
            pending.flush(conn)  # the recent rows of the checks before first
            self._merge_recent(conn, recent)
            self._filter.touch()
        else:  # the keys go to the end of the recent table, not all over the key B-trees
            pending.recent += recent
            pending.changes["recent_keys"] += n_doc + n_passage
        if deferred is None:
            pending.flush(conn)
        if move:  # a step of a level's move and of a filter's build, if due (a batch of checks: at its end)
            _background_steps(conn, _move_budget(n_doc + n_passage))
            self._filter.touch()  # a build may have ended: the next sync asks
        if synced and not old and not merged:
            # the handle read the recent table in this transaction and only these rows came after
            self._recent.extend([r[0] for r in recent], [e.doc_keys for e in stored], [e.passage_keys for e in stored])
        else:  # read back at the next sync: the rows must be in the table by then
            pending.flush(conn)
            self._recent.touch()

    @staticmethod
    def _merge_recent(conn: sqlite3.Connection, more: Sequence[tuple[int, bytes, bytes]] = ()) -> None:
        """Move the keys of the recent table, and ``more`` ``(doc, doc_keys, passage_keys)``
        rows not stored there, into the first key level, in key order; empty the recent table;
        the moves of levels go on after (:func:`_move_levels`)."""
        rows = conn.execute("SELECT doc, doc_keys, passage_keys FROM recent").fetchall() + list(more)
        doc_parts = [(unpacked_keys(r[1]), r[0]) for r in rows]
        _write_keys(conn, "INSERT INTO text_keys (key, doc) VALUES (?, ?)", doc_parts)
        _filter_keys(conn, [k for k, _ in doc_parts])
        passage_parts = [(unpacked_keys(r[2]), r[0]) for r in rows]
        _write_keys(conn, f"INSERT INTO {_KEY_LEVELS[0]} (key, doc) VALUES (?, ?)", passage_parts)
        moved = sum(len(k) for k, _ in passage_parts)
        conn.execute("DELETE FROM recent")
        conn.execute("DELETE FROM recent_removed")
        conn.execute("UPDATE counts SET n = 0 WHERE name = 'recent_keys'")
        conn.execute("UPDATE counts SET n = n + 1 WHERE name = 'recent_generation'")
        conn.execute("UPDATE counts SET n = n + ? WHERE name = 'level_1'", (moved,))
        log.debug("merged the keys of %d recent document(s)", len(rows))

    def _delete(self, conn: sqlite3.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        """Delete documents given ``(rowid, language, body, doc_keys, passage_keys)`` rows."""
        if not rows:
            return
        recent: set[int] = set()
        for chunk in _chunks([r[0] for r in rows]):
            recent.update(d for (d,) in conn.execute(f"SELECT doc FROM recent WHERE doc IN ({_marks(len(chunk))})",
                                                     chunk))
        languages: Counter[str] = Counter()
        logged = []
        # the passage-key level of each merged document, told by its rowid (_KEY_LEVELS)
        uptos = [_count(conn, f"level_{i}_upto") for i in range(2, len(_KEY_LEVELS) + 1)]
        moving = _count(conn, "moving")  # its documents may still be in that level or already below
        doc_parts: list[tuple[np.ndarray, int]] = []
        passage_parts: list[list[tuple[np.ndarray, int]]] = [[] for _ in _KEY_LEVELS]
        n_doc = n_passage = n_recent = 0
        for rowid, lang, body, dkeys, pkeys in rows:
            dk, pk = unpacked_keys(dkeys), unpacked_keys(pkeys)
            n_doc += len(dk)
            n_passage += len(pk)
            if rowid in recent:  # its keys are in the recent table only
                n_recent += len(dk) + len(pk)
            else:
                doc_parts.append((dk, rowid))
                passage_parts[sum(rowid <= upto for upto in uptos)].append((pk, rowid))
            _, features = decode_body(body)
            logged.append((lang, -1, keys_to_bytes(word_ids(features))))
            languages[lang] += 1
        _write_keys(conn, "DELETE FROM text_keys WHERE key = ? AND doc = ?", doc_parts)
        if moving:
            passage_parts[moving - 1] += passage_parts[moving]
        for i, (table, parts) in enumerate(zip(_KEY_LEVELS, passage_parts, strict=True), 1):
            deleted = _write_keys(conn, f"DELETE FROM {table} WHERE key = ? AND doc = ?", parts)
            if i < len(_KEY_LEVELS):
                conn.execute("UPDATE counts SET n = n - ? WHERE name = ?", (deleted, f"level_{i}"))
        if recent:
            removed = sorted(recent)
            conn.executemany("DELETE FROM recent WHERE doc = ?", ((d,) for d in removed))
            # logged for the handles that hold their keys: they leave them out of their answers
            conn.execute("INSERT INTO recent_removed (docs) VALUES (?)", (packed_keys(np.array(removed)),))
        conn.executemany("UPDATE counts SET n = n - ? WHERE name = ?",
                         ((n_doc, "doc_keys"), (n_passage, "passage_keys"), (n_recent, "recent_keys")))
        conn.executemany("DELETE FROM docs WHERE rowid = ?", ((r[0],) for r in rows))
        conn.executemany("UPDATE languages SET n = n - ? WHERE language = ?",
                         ((n, lang) for lang, n in languages.items()))
        conn.execute("DELETE FROM languages WHERE n <= 0")
        conn.executemany("UPDATE counts SET n = n + ? WHERE name = ?", self._log_words(conn, logged))
        self._recent.touch()

    def _log_words(self, conn: sqlite3.Connection, rows: Sequence[tuple[str, int, bytes]], logged: int | None = None
                   ) -> list[tuple[int, str]]:
        """Append ``(language, sign, word ids)`` rows to the document-frequency log, folding
        the log into the ``df`` table once it holds :data:`DF_FOLD` documents. ``logged``: the
        rows the log held (read here when not given). Returns the change of the log's count
        for the caller to write (``[(n, "df_log")]``, empty after a fold).

        One row per document: a commit appends to the end of one table instead of updating
        the counts of some 300 words spread over the whole ``df`` table (which made a
        single-document commit write ~160 pages). The fold updates each word once, in key
        order, for thousands of documents.
        """
        self._cache.touch()
        if not rows:
            return []
        conn.executemany("INSERT INTO df_log (language, sign, words) VALUES (?, ?, ?)", rows)
        if logged is None:
            logged = conn.execute("SELECT n FROM counts WHERE name = 'df_log'").fetchone()[0]
        if logged + len(rows) >= DF_FOLD:
            self._fold(conn)  # sets the count to 0
            return []
        return [(len(rows), "df_log")]

    @staticmethod
    def _fold(conn: sqlite3.Connection) -> None:
        """Add the summed log to the ``df`` table and empty the log (a new generation)."""
        for language, (words, counts) in _summed_log_of(conn).items():
            for at in range(0, len(words), _FOLD_CHUNK):  # in slices: few Python ints at a time
                part = slice(at, at + _FOLD_CHUNK)
                conn.executemany("INSERT INTO df (language, word, n) VALUES (?, ?, ?) "
                                 "ON CONFLICT (language, word) DO UPDATE SET n = n + excluded.n",
                                 ((language, w, n) for w, n in zip(words[part].tolist(), counts[part].tolist(),
                                                                   strict=True)))
            fell = words[counts < 0].tolist()
            conn.executemany("DELETE FROM df WHERE language = ? AND word = ? AND n <= 0",
                             ((language, w) for w in fell))
        conn.execute("DELETE FROM df_log")
        conn.execute("UPDATE counts SET n = 0 WHERE name = 'df_log'")
        conn.execute("UPDATE counts SET n = n + 1 WHERE name = 'df_generation'")
        log.debug("document-frequency log folded")

    def add_many(self, documents: Iterable[Document], batch_size: int = 500, *, added: float | None = None,
                 progress: Progress | None = None, jobs: int | None = 1) -> int:
        """Add documents in batches of ``batch_size``, one transaction per batch.

        A stored document with the same id is replaced (within a batch, the last one wins).
        ``added`` (unix seconds, default now) is the time eviction goes by. ``jobs`` > 1 (0:
        one per core) prepares batches on that many worker processes while this one writes:
        for bulk loads, where preparing articles is most of the time. Returns the number of
        documents given.
        """
        count = 0
        # preparing is the slow part: done outside the write lock
        for entries in self._prepared_batches(documents, batch_size, added, jobs):
            self._transaction(partial(self._insert, entries=entries), write=True)
            count += len(entries)
            if progress is not None:
                progress("add", count, 0)
        return count

    def merge(self) -> int:
        """Merge the newest documents' band keys into the key tables now (otherwise done once
        they number :data:`dedup.recent.RECENT_KEYS`), and finish moving key levels (otherwise
        done a step per add); return how many keys were merged.

        Never needed for correctness: before measuring the steady-state size of an index, or
        to have every reader drop the keys it holds in memory. The recent keys are merged in
        one transaction; moves, and the build of a key filter (:mod:`dedup.keyfilter`), are
        finished in transactions of :data:`MERGE_STEP` keys, so that other writers wait for one
        step at a time (each step leaves a consistent index). A file upgraded from format 9
        gets its first key filter here, if no merge started one yet.
        """
        def work(conn: sqlite3.Connection) -> int:
            pending = int(conn.execute("SELECT n FROM counts WHERE name = 'recent_keys'").fetchone()[0])
            if conn.execute("SELECT 1 FROM recent LIMIT 1").fetchone() is not None:
                self._merge_recent(conn)
                self._recent.touch()
            if not _count(conn, "filter_words") and not _count(conn, "filter_next_words") \
                    and conn.execute("SELECT 1 FROM text_keys LIMIT 1").fetchone():
                log.info("building the key filter of %s", self.path)
                keyfilter.start_rebuild(conn, _count(conn, "doc_keys"))
            return pending

        pending = self._transaction(work, write=True)
        while self._transaction(_merge_step, write=True):
            pass
        self._filter.touch()  # its own commits: no other connection's version to tell
        return pending

    def remove(self, doc_id: str) -> bool:
        def work(conn: sqlite3.Connection) -> bool:
            rows = conn.execute(f"SELECT {_OLD_COLUMNS} FROM docs WHERE id = ?", (doc_id,)).fetchall()
            self._delete(conn, rows)
            return bool(rows)

        return self._transaction(work, write=True)

    def evict(self, older_than_seconds: float | None = None, *, before: float | None = None,
              now: float | None = None) -> int:
        """Remove the documents added before ``before``, or more than ``older_than_seconds`` ago.

        News duplicates arrive close together in time, so a crawler keeps a window of weeks.
        Deleted in transactions of 2,000 documents (key rows in key order: a transaction
        touches each page of the key tables about once); returns how many were removed.
        """
        cutoff = eviction_cutoff(older_than_seconds, before, now)

        def work(conn: sqlite3.Connection) -> int:
            rows = conn.execute(f"SELECT {_OLD_COLUMNS} FROM docs WHERE added < ? ORDER BY added LIMIT ?",
                                (cutoff, _SQL_CHUNK)).fetchall()
            self._delete(conn, rows)
            return len(rows)

        removed = 0
        while n := self._transaction(work, write=True):
            removed += n
        log.info("evicted %d document(s) added before %s from %s", removed, cutoff, self.path)
        return removed

    # -- reading -------------------------------------------------------------------------

    def _lookup(self, reader: Any, entry: Entry) -> dict[Any, list[int]]:
        conn: sqlite3.Connection = reader
        entry = self._encode_keys(entry)
        self._recent.sync(conn)
        hits = self._text_key_hits(conn, entry.doc_keys)
        self._recent_text_hits(entry.doc_keys, hits)
        if len(entry.passage_keys):
            self._passage_hits(conn, entry.passage_keys, hits)
        return hits

    def _text_key_hits(self, conn: sqlite3.Connection, keys: np.ndarray) -> dict[Any, list[int]]:
        """The documents of the whole-text key table holding (stored) ``keys``, with how many."""
        hits: dict[Any, list[int]] = {}
        if len(keys):  # only those the filter may hold: most keys of a new text are in no document
            self._sync_filter(conn)
            held = self._filter.may_hold(keys)
            if held is not None:
                keys = keys[held]
        for chunk in _chunks(keys.tolist()):
            # counted by SQLite: a stored copy shares all of a text's keys, one row each
            for doc, n in conn.execute(
                    f"SELECT doc, count(*) FROM text_keys WHERE key IN ({_marks(len(chunk))}) GROUP BY doc", chunk):
                hits.setdefault(doc, [0, 0])[0] += n
        return hits

    def _recent_text_hits(self, keys: np.ndarray, hits: dict[Any, list[int]]) -> None:
        """Count the recent documents holding (stored) whole-text ``keys`` into ``hits``."""
        recent_docs = self._recent.doc_pairs(keys)[1]
        if len(recent_docs):  # a recent copy shares all of a text's keys: counted per document
            for doc, n in zip(*(a.tolist() for a in np.unique(recent_docs, return_counts=True)), strict=True):
                hits.setdefault(doc, [0, 0])[0] += n

    def _sync_filter(self, conn: sqlite3.Connection) -> None:
        """Catch up with the file's key filter; give SQLite's page cache what the filter
        does not take of ``cache_mb``."""
        self._filter.sync(conn)
        if self._filter.nbytes != self._filter_held:
            self._filter_held = self._filter.nbytes
            conn.execute(f"PRAGMA cache_size=-{self._cache_mb * 1024 - self._filter_held // 1024}")

    def _passage_hits(self, conn: sqlite3.Connection, passage_keys: np.ndarray, hits: dict[Any, list[int]]) -> None:
        """Count the passage-key hits of stored documents into ``hits`` (:func:`passage_hits`)."""
        # a bucket of more than passage_max_bucket documents can only give its newest one a hit,
        # and one of max_bucket or more none: the key table tells each bucket's newest document
        # (one seek) and its size up to max_bucket (at most that many rows read, however large
        # common passages' buckets grow), then the documents of small buckets
        cap = self.config.max_bucket
        found: list[np.ndarray] = []
        small: list[int] = []
        tables = _KEY_LEVELS
        # a level's documents are all newer than those of the levels below: the newest document
        # of a key is that of the first level holding it
        newest = ", ".join(f"(SELECT max(doc) FROM {table} p WHERE p.key = q.key)" for table in tables)
        held = " UNION ALL ".join(f"SELECT 1 FROM {table} p WHERE p.key = q.key" for table in tables)
        for chunk in _chunks(passage_keys.tolist()):
            # keys absent from the tables come back with no document and a size of 0 (a WHERE
            # on the size would run its subquery twice)
            rows = [row for row in conn.execute(
                f"WITH q(key) AS (VALUES {_values(len(chunk))}) SELECT key, coalesce({newest}),"
                f" (SELECT count(*) FROM ({held} LIMIT {cap})) FROM q", chunk) if row[2]]
            grouped = np.fromiter(chain.from_iterable(rows), dtype=np.int64, count=3 * len(rows)).reshape(-1, 3)
            is_small = (grouped[:, 2] > 1) & (grouped[:, 2] <= self.config.passage_max_bucket)
            small += grouped[is_small, 0].tolist()
            found.append(grouped[~is_small])
        for chunk in _chunks(small):
            sql = " UNION ALL ".join(f"SELECT key, doc, 1 FROM {table} WHERE key IN ({_numbered(len(chunk))})"
                                     for table in tables)
            rows = conn.execute(sql, chunk).fetchall()
            found.append(np.fromiter(chain.from_iterable(rows), dtype=np.int64, count=3 * len(rows)).reshape(-1, 3))
        table = np.concatenate(found) if found else np.empty((0, 3), np.int64)
        keys, docs = self._recent.passage_pairs(passage_keys)
        handles, counts = passage_hit_counts(np.concatenate((table[:, 0], keys)), np.concatenate((table[:, 1], docs)),
                                             self.config, np.concatenate((table[:, 2], np.ones(len(keys), np.int64))))
        for doc, n in zip(handles.tolist(), counts.tolist(), strict=True):
            hits.setdefault(doc, [0, 0])[1] = n

    @staticmethod
    def _encode_keys(entry: Entry) -> Entry:
        """``entry`` with its keys as stored (already so when it went through :meth:`_encode`)."""
        if isinstance(entry.payload, bytes):
            return entry
        return Entry(entry.doc, entry.prepared, entry.features, stored_keys(entry.doc_keys),
                     stored_keys(entry.passage_keys), entry.words, entry.added, entry.payload)

    def _load(self, reader: Any, handles: Sequence[Any]) -> list[Stored]:
        return self._rows(reader, handles, _stored_from_row)

    def _load_shingles(self, reader: Any, handles: Sequence[Any]) -> list[StoredShingles]:
        found = self._shingles_by_handle(reader, handles)
        return [found[h] for h in handles if h in found]

    def _shingles_by_handle(self, conn: sqlite3.Connection, handles: Sequence[int]) -> dict[int, StoredShingles]:
        # the columns before the body, then the body's first bytes through incremental blob
        # I/O: its hashes lie in the row's first overflow page, so the pages of the rest of the
        # body (~8 KB an article) are not read (at 1M articles, where most bodies come from the
        # disk: ~125 µs a candidate against ~185 for the whole row)
        return {row[0]: StoredShingles(row[1], _blob_shingles(conn, row[0]), float(row[2]), row[4], row[5], row[3],
                                       row[6])
                for row in self._rows(conn, handles, tuple, _META_COLUMNS)}

    @staticmethod
    def _rows(conn: sqlite3.Connection, handles: Sequence[Any], decode: Callable[[Sequence[Any]], T],
              columns: str = _DOC_COLUMNS) -> list[T]:
        """``decode`` of the ``docs`` rows of ``handles`` (``columns``, the rowid first), in
        their order (missing ones left out)."""
        rows: dict[Any, T] = {}
        for chunk in _chunks(list(handles)):
            for row in conn.execute(f"SELECT {columns} FROM docs WHERE rowid IN ({_marks(len(chunk))})", chunk):
                rows[row[0]] = decode(row)
        return [rows[h] for h in handles if h in rows]

    def _frequencies(self, reader: Any, needed: Mapping[str | None, np.ndarray]
                     ) -> tuple[dict[str | None, np.ndarray], dict[str | None, int]]:
        conn: sqlite3.Connection = reader
        self._cache.sync(conn)
        df = {lang: self._cache.frequencies(conn, lang or "", ids) for lang, ids in needed.items()}
        totals = {(lang or None): n for lang, n in self._cache.totals().items()}
        return df, totals

    def _read(self, work: Callable[[Any], T]) -> T:
        return self._transaction(work, write=False)

    def _reader_spec(self) -> ReaderSpec | None:
        self._connection()  # a closed handle refuses, as when it answers itself
        if self._file is None:
            return None
        options = (("create", False), ("mmap_size", self._mmap_size), ("timeout", self._timeout),
                   ("cache_mb", self._cache_mb))
        return ReaderSpec(self._file, json.dumps(self.config.to_dict()), options)

    def _check_entries(self, entries: Sequence[Entry], *, limit: int, align: bool,
                       candidates: int | None, verify: Verify) -> list[list[Match]]:
        """All of ``entries`` in one write transaction: each is queried, then added.

        With ``verify="shingles"`` on whole-text keys (no passage keys), the entries are first
        queried in one read transaction, without the write lock (:meth:`_ahead`: another
        process's batch can be written meanwhile); under the lock, each check then looks only
        at what changed since (:meth:`_matches_since`), with the same answers."""
        cap = max(4 * limit, self.config.max_bucket) if candidates is None else candidates
        ahead = (self._ahead(entries, cap) if verify == "shingles" and not any(len(e.passage_keys) for e in entries)
                 else None)

        def work(conn: sqlite3.Connection) -> list[list[Match]]:
            out = []
            pending = _Deferred(self._log_words)
            for i, entry in enumerate(entries):
                if verify == "full":  # full verification reads the frequency log and languages
                    pending.flush(conn)
                found = None if ahead is None else self._matches_since(conn, entry, ahead, i, limit=limit, cap=cap)
                out.append(found if found is not None else self._matches(
                    conn, entry, limit=limit, align=align, exclude=entry.doc.id, candidates=candidates, verify=verify))
                self._insert(conn, [entry], move=False, synced=True, deferred=pending)
            pending.flush(conn)
            _background_steps(conn, _move_budget(sum(len(e.doc_keys) + len(e.passage_keys) for e in entries)))
            self._filter.touch()
            return out

        return self._transaction(work, write=True)

    def _ahead(self, entries: Sequence[Entry], cap: int) -> _Ahead:
        """Each entry's hits in the whole-text key table and its candidates among them,
        verified by shingles, in one read snapshot."""
        def work(conn: sqlite3.Connection) -> _Ahead:
            self._recent.sync(conn)
            hits, verified = [], []
            for entry in entries:
                found = self._text_key_hits(conn, self._encode_keys(entry).doc_keys)
                loaded = self._shingles_by_handle(conn, self._wanted(found, cap, entry.doc.id))
                hits.append(found)
                verified.append({h: (s, shingle_verification(entry.features.shingles, s.shingles, self.config))
                                 for h, s in loaded.items()})
            return _Ahead(self._recent.generation, hits, verified)

        return self._transaction(work, write=False)

    def _matches_since(self, conn: sqlite3.Connection, entry: Entry, ahead: _Ahead, i: int, *, limit: int,
                       cap: int) -> list[Match] | None:
        """The shingle matches of ``entries[i]`` of :meth:`_ahead`, in the write transaction:
        its snapshot's key-table hits, less the documents removed since, plus the recent
        documents (searched in memory: those added since the snapshot are there too), so the
        answer is the one a lookup now would give. None when the recent table was merged
        since (its documents then went to the key table: look up again)."""
        self._recent.sync(conn)
        if self._recent.generation != ahead.generation:
            return None
        before = ahead.hits[i]
        hits = {doc: list(n) for doc, n in before.items()}
        self._recent_text_hits(self._encode_keys(entry).doc_keys, hits)
        exclude = entry.doc.id
        asked: set[int] = set()
        while True:  # the snapshot's candidates removed since (replaced, evicted) are none
            wanted = self._wanted(hits, cap, exclude)
            unasked = [h for h in wanted if h in before and h not in asked]
            if not unasked:
                break
            asked.update(unasked)
            stored = {row[0] for chunk in _chunks(unasked) for row in conn.execute(
                f"SELECT rowid FROM docs WHERE rowid IN ({_marks(len(chunk))})", chunk)}
            for h in unasked:
                if h not in stored:
                    del hits[h]
        verified = ahead.verified[i]
        loaded = self._shingles_by_handle(conn, [h for h in wanted if h not in verified])
        results = [verified[h] if h in verified else
                   (loaded[h], shingle_verification(entry.features.shingles, loaded[h].shingles, self.config))
                   for h in wanted if h in verified or h in loaded]
        return _shingle_ranked([r for r in results if r[0].id != exclude][:cap], limit)

    def get(self, doc_id: str) -> Document | None:
        row = self._transaction(
            lambda c: c.execute(f"SELECT {_DOC_COLUMNS} FROM docs WHERE id = ?", (doc_id,)).fetchone(), write=False)
        return None if row is None else _stored_from_row(row).doc

    def ids(self) -> list[str]:
        """Stored ids, oldest first."""
        rows = self._transaction(lambda c: c.execute("SELECT id FROM docs ORDER BY added, rowid").fetchall(),
                                 write=False)
        return [r[0] for r in rows]

    def __len__(self) -> int:
        return int(self._transaction(
            lambda c: c.execute("SELECT coalesce(sum(n), 0) FROM languages").fetchone()[0], write=False))

    def __contains__(self, doc_id: object) -> bool:
        if not isinstance(doc_id, str):
            return False
        return self._transaction(
            lambda c: c.execute("SELECT 1 FROM docs WHERE id = ?", (doc_id,)).fetchone() is not None, write=False)

    def preload(self) -> int:
        """Read the band-key tables through this handle's page cache (up to ``cache_mb``; see
        the class), so that a long-running handle's lookups find their pages in memory; return
        how many key rows were read (~1.5 s for 25 million whole-text keys). The key filter is
        read into memory first (when it takes at most half of ``cache_mb``)."""
        def work(conn: sqlite3.Connection) -> int:
            self._sync_filter(conn)
            return sum(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("text_keys", *_KEY_LEVELS))

        return self._transaction(work, write=False)

    def stats(self) -> dict[str, Any]:
        """Documents, stored band keys, languages, time range, size on disk and configuration."""
        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            documents = conn.execute("SELECT coalesce(sum(n), 0) FROM languages").fetchone()[0]
            oldest, newest = conn.execute("SELECT min(added), max(added) FROM docs").fetchone()
            counts = dict(conn.execute("SELECT name, n FROM counts"))
            return {
                "backend": "sqlite",
                "path": self.path,
                "format": FORMAT_VERSION,
                "documents": documents,
                "doc_keys": counts.get("doc_keys", 0),
                "passage_keys": counts.get("passage_keys", 0),
                "recent_keys": counts.get("recent_keys", 0),
                "key_filter_bytes": 8 * counts.get("filter_words", 0),
                "key_levels": _level_sizes(conn, counts),
                "words": self._word_count(conn),
                "languages": {(lang or "unknown"): n for lang, n in
                              conn.execute("SELECT language, n FROM languages ORDER BY language")},
                "oldest": oldest,
                "newest": newest,
            }

        out = self._transaction(work, write=False)
        out["size_bytes"] = sum(os.path.getsize(p) for p in (self.path, self.path + "-wal", self.path + "-shm")
                                if os.path.exists(p))
        out["config"] = self.config.to_dict()
        return out

    def _word_count(self, conn: sqlite3.Connection) -> int:
        """Distinct (language, word) pairs some stored document holds: the ``df`` table's
        rows, corrected by the unfolded log (read here, not through the handle's cache)."""
        count = int(conn.execute("SELECT count(*) FROM df").fetchone()[0])
        for language, (words, changes) in _summed_log_of(conn).items():
            before = np.asarray(table_frequencies(conn, language, words.tolist()), dtype=np.int64)
            after = before + changes
            count += int(np.count_nonzero((before <= 0) & (after > 0)) - np.count_nonzero((before > 0) & (after <= 0)))
        return count

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and os.getpid() == self._pid:
                self._conn.close()
            self._conn = None

    def __repr__(self) -> str:
        return f"SyndicationIndex({self.path!r})"


def _level_sizes(conn: sqlite3.Connection, counts: Mapping[str, int]) -> list[int]:
    """Merged passage keys per key level, newest first (``_KEY_LEVELS``): the bounded levels
    are counted in ``counts``, the last one is what the recent table does not hold."""
    sizes = [counts.get(f"level_{i}", 0) for i in range(1, len(_KEY_LEVELS))]
    blob_bytes = conn.execute("SELECT coalesce(sum(length(passage_keys)), 0) FROM recent").fetchone()[0]
    merged = counts.get("passage_keys", 0) - blob_bytes // PACKED_KEY_BYTES
    return [*sizes, merged - sum(sizes)]


def _stored_from_row(row: Sequence[Any]) -> Stored:
    text, features = decode_body(row[-1])
    return Stored(_document_of_row(row, text), features, float(row[2]))


def _blob_shingles(conn: sqlite3.Connection, rowid: int) -> np.ndarray:
    """The word n-gram hashes of a stored body, read through incremental blob I/O: its first
    bytes only (all of a format-7 body)."""
    with conn.blobopen("docs", "body", rowid, readonly=True) as blob:
        head = blob.read(_SHINGLE_COUNT.size)
        if head[0] != _BODY_SPLIT:
            return decode_shingles(head + blob.read())
        _, count = _SHINGLE_COUNT.unpack(head)
        return np.frombuffer(blob.read(4 * count), dtype="<u4")


def _document_of_row(row: Sequence[Any], text: str) -> Document:
    _, doc_id, _added, date, url, title, source, path, _language, _body = row
    return Document(doc_id, text, path=path or "", title=title, url=url, date=date, source=source)


def open_index(path_or_url: str | os.PathLike[str], config: ScanConfig | None = None, **options: Any
               ) -> SyndicationIndex | RedisSyndicationIndex:
    """The index at a path (SQLite) or a ``redis://``, ``rediss://`` or ``unix://`` URL (Redis).

    ``options`` go to the backend (``create``, ``timeout`` for SQLite; ``namespace`` for Redis).

    >>> index = open_index("crawl/index.db")                                # doctest: +SKIP
    >>> index = open_index("redis://localhost:6379/0", namespace="news")    # doctest: +SKIP
    """
    target = os.fspath(path_or_url)
    if target.startswith(("redis://", "rediss://", "unix://")):
        from dedup.redis_store import RedisSyndicationIndex

        return RedisSyndicationIndex(target, config, **options)
    return SyndicationIndex(target, config, **options)
