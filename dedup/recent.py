"""The band keys of an index's newest documents, searched in memory until they are merged.

Band keys are random numbers: once the key B-trees of an SQLite index outgrow its page cache,
each key a document adds dirties a page of its own (a single-document commit of the default
configuration wrote ~550 pages, and at a million documents a batch of 500 whole-text-only
documents rewrites some 10,000 pages). So :class:`~dedup.store.SyndicationIndex` appends the
keys of each new document to a small table instead, ``recent`` (one row per document: its
packed keys), and merges them into the B-trees in key order, many documents at once, when
that table holds :data:`RECENT_KEYS` keys: a merge touches each B-tree page once for all of
its keys.

Each handle keeps what it has read of ``recent`` in memory (:class:`RecentKeys`): the keys
and their documents as sorted arrays in levels of growing size (:class:`SortedPairs`),
searched with binary search, catching up with other writers by reading only the rows added
since. The removal of a document still in ``recent`` (a re-fetched page replaced, an eviction)
is logged in the table ``recent_removed``: handles read the removals logged since, with the
new rows, and leave the removed documents out of their answers. A merge
empties both tables and bumps a generation counter in the file, and handles read ``recent``
again. Memory per handle is bounded by :data:`RECENT_KEYS` (16 bytes a key), plus the
removed documents' numbers.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import numpy as np

__all__ = ["PACKED_KEY_BYTES", "RECENT_KEYS", "ConnectionCache", "RecentKeys", "SortedCounts", "SortedPairs",
           "packed_keys", "unpacked_keys"]

#: Keys (whole-text and passage keys together) kept in the ``recent`` table before they are
#: merged into the key B-trees: ~80,000 whole-text-only documents or ~3,400 documents of the
#: default configuration; 32 MB of arrays per handle.
RECENT_KEYS = 2_000_000
_LEVEL, _RATIO = 4096, 8  # pairs in the smallest level of SortedPairs/SortedCounts; growth per level
_EMPTY = np.empty(0, np.int64)


#: Bytes per key in :func:`packed_keys`.
PACKED_KEY_BYTES = 6


def packed_keys(keys: np.ndarray) -> bytes:
    """Stored (47-bit, non-negative) keys as :data:`PACKED_KEY_BYTES` little-endian bytes each.

    >>> unpacked_keys(packed_keys(np.array([1, 2**40 + 5])))
    array([            1, 1099511627781])
    """
    return np.asarray(keys, dtype="<i8").view(np.uint8).reshape(-1, 8)[:, :PACKED_KEY_BYTES].tobytes()


def unpacked_keys(blob: bytes | None) -> np.ndarray:
    """The keys of :func:`packed_keys` (of several blobs joined, too)."""
    raw = np.frombuffer(blob or b"", dtype=np.uint8).reshape(-1, PACKED_KEY_BYTES)
    wide = np.zeros((len(raw), 8), dtype=np.uint8)
    wide[:, :PACKED_KEY_BYTES] = raw
    return wide.view("<i8").ravel().astype(np.int64)


def _sorted(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs sorted by key (stable), left as they are when they already are."""
    if len(keys) > 1 and not (keys[1:] >= keys[:-1]).all():
        order = np.argsort(keys, kind="stable")
        return keys[order], values[order]
    return keys, values


def _merged(keys: np.ndarray, values: np.ndarray, more_keys: np.ndarray, more_values: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """Two runs of pairs sorted by key as one, the second's after the first's pairs of equal
    keys: placed where binary search puts them (a copy, no sort; what ``np.insert`` does, at
    half its cost for a few keys, paid on every check).

    >>> _merged(np.array([1, 3, 3, 9]), np.array([0, 1, 2, 3]), np.array([3, 10]), np.array([7, 8]))
    (array([ 1,  3,  3,  3,  9, 10]), array([0, 1, 2, 7, 3, 8]))
    """
    if not len(more_keys):
        return keys, values
    if not len(keys):
        return more_keys, more_values
    size = len(keys) + len(more_keys)
    new = np.searchsorted(keys, more_keys, "right") + np.arange(len(more_keys))  # where the second's go
    old = np.ones(size, dtype=bool)
    old[new] = False
    out_keys, out_values = np.empty(size, keys.dtype), np.empty(size, values.dtype)
    out_keys[new], out_values[new] = more_keys, more_values
    out_keys[old], out_values[old] = keys, values
    return out_keys, out_values


def _summed(keys: np.ndarray, values: np.ndarray, more_keys: np.ndarray, more_values: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """Two runs of distinct sorted keys with values as one: values of keys in both summed."""
    if not len(keys):
        return more_keys, more_values.copy()  # summed into in place later: not the caller's
    at = np.searchsorted(keys, more_keys)
    held = at < len(keys)
    held[held] = keys[at[held]] == more_keys[held]
    values[at[held]] += more_values[held]
    if held.all():
        return keys, values
    return np.insert(keys, at[~held], more_keys[~held]), np.insert(values, at[~held], more_values[~held])


def _find(keys: np.ndarray, docs: np.ndarray, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if not len(keys):
        return _EMPTY, _EMPTY
    lo = keys.searchsorted(query, "left")
    held = keys.take(lo, mode="clip") == query
    if not held.any():  # most queried keys: one binary search each
        return _EMPTY, _EMPTY
    lo = lo[held]
    n = keys.searchsorted(query[held], "right") - lo
    total = int(n.sum())
    if not total:
        return _EMPTY, _EMPTY
    at = np.repeat(lo - (np.cumsum(n) - n), n) + np.arange(total)
    return keys[at], docs[at]


class _Levels:
    """Pairs sorted by key in levels of growing size (a log-structured merge): level ``i``
    holds at most ``_LEVEL * _RATIO**i`` pairs (the last one any number). New pairs are
    merged into level 0; a level that overflows is merged into the next one and emptied. So
    adding a document's keys copies a few thousand pairs, not all of them, and each pair is
    copied about ``_RATIO`` times per level; a lookup searches every level (a handful)."""

    _merge = staticmethod(_merged)

    def __init__(self) -> None:
        self._levels: list[tuple[np.ndarray, np.ndarray]] = []

    def __len__(self) -> int:
        return sum(len(keys) for keys, _ in self._levels)

    def add(self, keys: np.ndarray, values: np.ndarray) -> None:
        keys, values = _sorted(np.asarray(keys, dtype=np.int64), np.asarray(values, dtype=np.int64))
        if not len(keys):
            return
        for i, (level_keys, level_values) in enumerate(self._levels):
            keys, values = self._merge(level_keys, level_values, keys, values)
            if len(keys) <= _LEVEL * _RATIO**i:
                self._levels[i] = (keys, values)
                return
            self._levels[i] = (_EMPTY, _EMPTY)
        self._levels.append((keys, values))


class SortedPairs(_Levels):
    """``(key, doc)`` pairs sorted by key (a key may have several), searched by binary search.

    >>> pairs = SortedPairs()
    >>> pairs.add(np.array([7, 3]), np.array([1, 1]))
    >>> pairs.add(np.array([3]), np.array([2]))
    >>> pairs.find(np.array([3, 5]))
    (array([3, 3]), array([1, 2]))
    """

    def sums(self, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(held, sums)``: for each key of ``query`` (sorted, distinct), whether some pair has
        it, and the sum of those pairs' values.

        >>> pairs = SortedPairs()
        >>> pairs.add(np.array([7, 3, 7]), np.array([1, 1, 5]))
        >>> pairs.sums(np.array([3, 5, 7]))
        (array([ True, False,  True]), array([1, 0, 6]))
        """
        held = np.zeros(len(query), dtype=bool)
        sums = np.zeros(len(query), dtype=np.int64)
        for keys, values in self._levels:
            if not len(keys):
                continue
            at = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
            found = keys[at] == query
            if not found.any():
                continue
            held |= found
            first = at[found]
            after = first + 1
            if ((after < len(keys)) & (keys[np.minimum(after, len(keys) - 1)] == query[found])).any():
                # some key has several pairs in this level: find them all
                found_keys, found_values = _find(keys, values, query)
                sums += np.bincount(np.searchsorted(query, found_keys), weights=found_values,
                                    minlength=len(query)).astype(np.int64)
            else:  # one pair per key (as FrequencyCache keeps them): no second search
                sums[found] += values[first]
        return held, sums

    def find(self, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(keys, docs)`` of the pairs whose key is in ``query`` (sorted, distinct)."""
        found = [f for f in (_find(keys, docs, query) for keys, docs in self._levels) if len(f[0])]
        if len(found) < 2:
            return found[0] if found else (_EMPTY, _EMPTY)
        return np.concatenate([k for k, _ in found]), np.concatenate([d for _, d in found])


class SortedCounts(_Levels):
    """A count per key: the counts added for one key are summed (each level holds a key once).

    >>> counts = SortedCounts()
    >>> counts.add(np.array([3, 7]), np.array([1, 1]))
    >>> counts.add(np.array([5, 7]), np.array([2, -1]))
    >>> counts.get(np.array([3, 4, 5, 7]))
    array([1, 0, 2, 0])
    """

    _merge = staticmethod(_summed)

    def add(self, keys: np.ndarray, counts: np.ndarray) -> None:
        """Add ``counts[i]`` to the count of ``keys[i]`` (``keys`` distinct)."""
        super().add(keys, counts)

    def get(self, query: np.ndarray) -> np.ndarray:
        """The count of each key of ``query`` (sorted; 0 for keys never added)."""
        out = np.zeros(len(query), np.int64)
        for keys, counts in self._levels:
            if len(keys):
                at = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
                out += np.where(keys[at] == query, counts[at], 0)
        return out


class ConnectionCache:
    """What one connection keeps of an index file between its transactions (base class).

    :meth:`changed`, called inside a transaction before its own writes, says whether the file
    may differ from what was read: ``PRAGMA data_version`` tells whether another connection
    committed, :meth:`touch` that this one wrote. In a write transaction (:meth:`begin` with
    ``locked``), no other connection can commit: the version is asked once, not by each check
    of a batch.
    """

    def __init__(self) -> None:
        self._version: int | None = None
        self._stale = True
        self._asked = self._locked = False  # asked in this transaction; a write transaction

    def begin(self, *, locked: bool) -> None:
        """A transaction begins; ``locked``: a write transaction (``BEGIN IMMEDIATE``), whose
        snapshot no other connection's commit can change until it ends."""
        self._asked = False
        self._locked = locked

    def touch(self) -> None:
        """This connection wrote (or tried to): the next :meth:`changed` says so."""
        self._stale = True

    def changed(self, conn: sqlite3.Connection) -> bool:
        if self._asked and not self._stale:
            return False
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        self._asked = self._locked
        if version == self._version and not self._stale:
            return False
        self._version, self._stale = version, False
        return True


def _unpacked(blobs: list[bytes]) -> tuple[np.ndarray, list[int]]:
    """The keys of several :func:`packed_keys` blobs, unpacked at once, and how many each holds."""
    return unpacked_keys(b"".join(blobs)), [len(b) // PACKED_KEY_BYTES for b in blobs]


def _joined(arrays: Sequence[np.ndarray]) -> tuple[np.ndarray, list[int]]:
    """Several arrays of keys as one, and how many each holds."""
    counts = [len(a) for a in arrays]
    return (arrays[0] if len(arrays) == 1 else np.concatenate(arrays) if arrays else _EMPTY), counts


class RecentKeys(ConnectionCache):
    """What one connection has read of an index's ``recent`` table, between its transactions.

    :meth:`sync` catches up inside a transaction, before the transaction's own writes: nothing
    to read when the file did not change (:meth:`ConnectionCache.changed`); the rows added and
    removals logged since otherwise; the whole table again after a merge (``recent_generation``
    changed).
    """

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        super().__init__()
        self._generation: int | None = None
        self._start()

    def _start(self) -> None:
        self._last = self._last_removal = 0
        self._doc = SortedPairs()
        self._passage = SortedPairs()
        self._removed: set[int] = set()  # documents whose pairs are left out of answers

    def __len__(self) -> int:
        return len(self._doc) + len(self._passage)

    @property
    def generation(self) -> int | None:
        """The file's ``recent_generation`` as of the last :meth:`sync` (None before one)."""
        return self._generation

    def sync(self, conn: sqlite3.Connection) -> None:
        if not self.changed(conn):
            return
        generation = conn.execute("SELECT n FROM counts WHERE name = 'recent_generation'").fetchone()[0]
        if generation != self._generation:
            self._start()
            self._generation = generation
        # removals as rows without whole-text keys (NULL)
        self._take(conn.execute("SELECT doc, doc_keys, passage_keys FROM recent WHERE doc > ? UNION ALL "
                                "SELECT seq, NULL, docs FROM recent_removed WHERE seq > ?",
                                (self._last, self._last_removal)).fetchall())

    def extend(self, docs: Sequence[int], doc_keys: Sequence[np.ndarray], passage_keys: Sequence[np.ndarray]
               ) -> None:
        """Take the rows this connection has just added to the ``recent`` table (documents
        and their keys, as arrays) as read, instead of reading them back: only right after
        :meth:`sync` in the same write transaction, with nothing else written to the table in
        between (a rolled-back transaction must :meth:`clear` the cache)."""
        self._add(np.asarray(docs, dtype=np.int64), _joined(doc_keys), _joined(passage_keys))

    def _take(self, rows: Sequence[tuple[int, bytes | None, bytes]]) -> None:
        """Rows of the recent table, and removals as ``(seq, None, packed documents)``."""
        if removals := [(seq, docs) for seq, keys, docs in rows if keys is None]:
            self._last_removal = max(seq for seq, _ in removals)
            self._removed.update(unpacked_keys(b"".join(docs for _, docs in removals)).tolist())
        if added := [(doc, keys, passage) for doc, keys, passage in rows if keys is not None]:
            self._add(np.asarray([doc for doc, _, _ in added], dtype=np.int64),
                      _unpacked([keys for _, keys, _ in added]), _unpacked([passage for _, _, passage in added]))

    def _add(self, docs: np.ndarray, doc_keys: tuple[np.ndarray, list[int]],
             passage_keys: tuple[np.ndarray, list[int]]) -> None:
        """Documents with their keys, each kind as ``(all keys, how many each document has)``."""
        if not len(docs):
            return
        self._last = max(self._last, int(docs.max()))
        for pairs, (keys, counts) in ((self._doc, doc_keys), (self._passage, passage_keys)):
            if len(keys):
                pairs.add(keys, np.repeat(docs, counts))

    def _live(self, found: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        keys, docs = found
        if self._removed and len(docs):  # a few pairs: a set lookup each
            removed = self._removed
            kept = np.fromiter((d not in removed for d in docs.tolist()), dtype=bool, count=len(docs))
            return keys[kept], docs[kept]
        return found

    def doc_pairs(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(keys, docs)``: recent documents holding whole-text keys among ``keys``."""
        return self._live(self._doc.find(keys))

    def passage_pairs(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(keys, docs)``: recent documents holding passage keys among ``keys``."""
        return self._live(self._passage.find(keys))
