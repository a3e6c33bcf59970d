"""LSH banding over MinHash signatures and candidate pairs, in bulk.

Each signature is cut into ``b`` bands of ``r`` rows (datasketch's optimal parameters for a
threshold); each band is reduced to one 64-bit key. Items whose keys agree in any band are
candidates. Keys live in NumPy arrays and are grouped by sorting, as large pipelines do,
instead of Python dicts of lists: memory stays proportional to ``items x bands x 8`` bytes.

>>> import numpy as np
>>> keys = band_keys(np.array([[1, 2, 3, 4], [1, 2, 9, 9], [5, 6, 7, 8]], dtype=np.uint32), 2, 2)
>>> sorted(candidate_pairs(keys, np.array([0, 1, 2])))
[(0, 1)]
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from typing import Protocol

import numpy as np
from datasketch.lsh import _optimal_param

from dedup.arrays import distinct
from dedup.config import ScanConfig
from dedup.errors import ConfigError
from dedup.spill import SpilledBlobs

_MIX = np.uint64(0x9E3779B97F4A7C15)
_MIX2 = np.uint64(0xBF58476D1CE4E5B9)


@lru_cache(maxsize=64)
def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """``(bands, rows)`` minimizing weighted false positives and negatives (datasketch)."""
    if not 0.0 < threshold <= 1.0:
        raise ConfigError(f"threshold must be in (0.0, 1.0], got {threshold}")
    b, r = _optimal_param(threshold, num_perm, 0.5, 0.5)
    return int(b), int(r)


def passage_banding(config: ScanConfig) -> tuple[int, int]:
    """``(bands, rows)`` of passage signatures: ``config.passage_lsh``, or the optimum for
    ``config.passage_threshold`` (:func:`lsh_params`)."""
    if config.passage_lsh is not None:
        return config.passage_lsh
    return lsh_params(config.passage_threshold, config.passage_num_perm)


def doc_banding(config: ScanConfig) -> tuple[int, int]:
    """``(bands, rows)`` of whole-document signatures (:func:`lsh_params`)."""
    return lsh_params(config.doc_threshold, config.doc_num_perm)


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """``(n, bands)`` uint64 keys: each band's rows mixed into one 64-bit value.

    Band ``i`` is salted with ``i`` so equal rows in different bands never collide.
    """
    if bands * rows > signatures.shape[1]:
        raise ConfigError(f"bands x rows must be <= num_perm, got {bands}x{rows} > {signatures.shape[1]}")
    n = signatures.shape[0]
    # all bands at once: ``rows`` steps over an (n, bands) array rather than bands x rows
    # steps over a column (a single document's keys cost ~20 NumPy calls instead of ~400)
    sig = signatures[:, :bands * rows].astype(np.uint64).reshape(n, bands, rows)
    with np.errstate(over="ignore"):
        keys = np.repeat((np.arange(1, bands + 1, dtype=np.uint64) * _MIX)[None, :], n, axis=0)
        for col in range(rows):
            keys = (keys ^ sig[:, :, col]) * _MIX2
            keys ^= keys >> np.uint64(31)
    return keys


#: Buckets larger than this yield no pairs at all, not even a chain.
CHAIN_LIMIT = 1024


class BandColumns(Protocol):
    """Band keys read one band at a time (e.g. from a file): ``bands`` columns of one
    uint64 key per item each."""

    @property
    def bands(self) -> int: ...

    def column(self, band: int) -> np.ndarray: ...


#: Band keys: an ``(items, bands)`` array, consecutive row blocks of one, or columns.
Keys = np.ndarray | Sequence[np.ndarray] | BandColumns


def candidate_pairs(
    keys: Keys, owners: np.ndarray, *, max_bucket: int = 64, min_hits: int = 1,
    chain_limit: int = CHAIN_LIMIT,
) -> set[tuple[int, int]]:
    """Pairs ``(i, j)``, ``i < j``, of owners sharing band keys at least ``min_hits`` times.

    ``keys`` is an ``(items, bands)`` array, or a sequence of such arrays (consecutive row
    blocks, e.g. one per shard: they are read one band at a time, never stacked whole), or
    :class:`BandColumns`. :func:`candidate_array` gives the same pairs as a NumPy array.

    ``owners[k]`` is the document that item ``k`` belongs to (a document has several
    passage items; each shared bucket counts once per pair). A bucket of up to
    ``max_bucket`` distinct owners pairs all of them; a larger one only chains them (each
    owner with the next, in owner order), up to ``chain_limit`` owners, beyond which it is
    skipped. A key shared by many documents is either common vocabulary, where all pairs
    would grow with the square of the corpus and a chain costs one pair per member, or a
    widely reprinted text, whose copies share every band key: the same chain pairs then
    come back from every band and the chain still connects all of them.

    >>> many = np.zeros((5, 1), dtype=np.uint64)  # five owners in one bucket
    >>> sorted(candidate_pairs(many, np.arange(5), max_bucket=4))
    [(0, 1), (1, 2), (2, 3), (3, 4)]
    >>> candidate_pairs(many, np.arange(5), max_bucket=2, chain_limit=4)
    set()
    """
    found = candidate_array(keys, owners, max_bucket=max_bucket, min_hits=min_hits, chain_limit=chain_limit)
    return set(zip(found[:, 0].tolist(), found[:, 1].tolist(), strict=True))


def candidate_array(
    keys: Keys, owners: np.ndarray, *, max_bucket: int = 64, min_hits: int = 1,
    chain_limit: int = CHAIN_LIMIT,
) -> np.ndarray:
    """:func:`candidate_pairs` as an ``(m, 2)`` int64 array, sorted, one row per pair
    (16 bytes a pair instead of a Python tuple's ~120).

    >>> candidate_array(np.zeros((3, 1), dtype=np.uint64), np.array([4, 2, 9])).tolist()
    [[2, 4], [2, 9], [4, 9]]
    """
    owners = np.asarray(owners, dtype=np.int64)
    columns = _columns(keys)
    if columns is None or owners.size == 0:
        return np.empty((0, 2), np.int64)
    bands, column = columns
    n_owners = int(owners.max()) + 1
    # each bucket contributes a pair once; a pair's hits are the buckets (over all bands) it
    # is in, counted partition by partition (on disk when large: see _PairHits)
    hits = _PairHits(max(1, owners.size * bands // PAIRS_PER_PART))
    try:
        for band in range(bands):
            hits.add(_band_pairs(column(band), owners, max_bucket, chain_limit))
        codes = hits.at_least(min_hits)
    finally:
        hits.close()
    return np.stack(np.divmod(codes, n_owners), axis=1)


#: Band keys per partition when counting pair hits (:class:`_PairHits`): a partition's pair
#: codes (and np.unique's working copies of them, ~4x), about 250 MB at most, are what a join
#: holds at once besides one band's keys.
PAIRS_PER_PART = 1 << 23


class _PairHits:
    """Pair codes from every band, counted. With several ``parts``, each band's codes are
    split by ``code % parts`` into a temporary file as they come, and each partition is
    counted on its own: memory holds one band's codes or one partition's, never all."""

    def __init__(self, parts: int) -> None:
        self.parts = parts
        self._memory: list[np.ndarray] = []
        self._blobs = SpilledBlobs("pair") if parts > 1 else None
        self._where: list[list[int]] = [[] for _ in range(parts)]

    def add(self, codes: np.ndarray) -> None:
        if self._blobs is None:
            self._memory.append(codes)
            return
        part = codes % self.parts
        order = np.argsort(part, kind="stable")
        codes, bounds = codes[order], np.searchsorted(part[order], np.arange(self.parts + 1))
        for p in range(self.parts):
            if bounds[p + 1] > bounds[p]:
                self._where[p].append(len(self._blobs))
                self._blobs.extend([codes[bounds[p] : bounds[p + 1]].tobytes()])

    def _partitions(self) -> Iterator[np.ndarray]:
        if self._blobs is None:
            yield np.concatenate(self._memory) if self._memory else np.empty(0, np.int64)
            return
        for where in self._where:
            yield (np.concatenate([np.frombuffer(self._blobs[i], dtype=np.int64) for i in where]) if where
                   else np.empty(0, np.int64))

    def at_least(self, min_hits: int) -> np.ndarray:
        """Sorted distinct codes seen at least ``min_hits`` times."""
        kept = []
        for codes in self._partitions():
            codes, hits = np.unique(codes, return_counts=True)
            kept.append(codes[hits >= min_hits])
        return np.sort(np.concatenate(kept)) if kept else np.empty(0, np.int64)

    def close(self) -> None:
        self._memory.clear()
        if self._blobs is not None:
            self._blobs.close()


def _columns(keys: Keys) -> tuple[int, Callable[[int], np.ndarray]] | None:
    """``(bands, column)`` of any form of band keys; None when there are no keys."""
    if isinstance(keys, np.ndarray):
        return (keys.shape[1], lambda band: keys[:, band]) if keys.size else None
    if not isinstance(keys, Sequence):
        return (keys.bands, keys.column) if keys.bands else None
    blocks = [k for k in keys if k.size]
    if not blocks:
        return None
    if len(blocks) == 1:
        return _columns(blocks[0])
    return blocks[0].shape[1], lambda band: np.concatenate([k[:, band] for k in blocks])


def merge_pairs(*arrays: np.ndarray) -> np.ndarray:
    """The sorted union of ``(m, 2)`` pair arrays.

    >>> merge_pairs(np.array([[0, 1], [2, 3]]), np.array([[0, 1], [1, 2]])).tolist()
    [[0, 1], [1, 2], [2, 3]]
    """
    parts = [a for a in arrays if a.size]
    if not parts:
        return np.empty((0, 2), np.int64)
    both = np.concatenate(parts).astype(np.int64)
    n = int(both.max()) + 1
    codes = distinct(both[:, 0] * n + both[:, 1])
    return np.stack(np.divmod(codes, n), axis=1)


def _band_pairs(col: np.ndarray, owners: np.ndarray, max_bucket: int, chain_limit: int) -> np.ndarray:
    """Codes ``i * n + j`` of owner pairs ``i < j`` sharing a bucket of one band, one per bucket
    (all pairs of a bucket of at most ``max_bucket`` owners; a chain in a larger one of at most
    ``chain_limit``)."""
    n = int(owners.max()) + 1
    # distinct (key, owner) entries, sorted by key then owner
    order = np.lexsort((owners, col))
    k, o = col[order], owners[order]
    keep = np.ones(len(k), dtype=bool)
    keep[1:] = (k[1:] != k[:-1]) | (o[1:] != o[:-1])
    k, o = k[keep], o[keep]
    if len(k) < 2:
        return np.empty(0, np.int64)
    boundaries = np.flatnonzero(k[1:] != k[:-1]) + 1
    starts = np.concatenate(([0], boundaries))
    sizes = np.diff(np.concatenate((starts, [len(k)])))
    out = []
    chained = (sizes > max_bucket) & (sizes <= chain_limit)
    if chained.any():
        out.append(_offset_pairs(o, n, starts[chained], sizes[chained], 1))
    ok = (sizes >= 2) & (sizes <= max_bucket)
    starts, sizes = starts[ok], sizes[ok]
    # pairs (x, y), x < y, inside each bucket: for offset d = 1..s-1, member x with member x + d
    for d in range(1, int(sizes.max()) if len(sizes) else 1):
        out.append(_offset_pairs(o, n, starts[sizes > d], sizes[sizes > d], d))
    return np.concatenate(out) if out else np.empty(0, np.int64)


def _offset_pairs(o: np.ndarray, n: int, starts: np.ndarray, sizes: np.ndarray, d: int) -> np.ndarray:
    """Codes of (member x, member x + d) in each bucket (``starts``, ``sizes``) of ``o``."""
    counts = sizes - d
    base = np.repeat(starts, counts) + (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
    return o[base] * n + o[base + d]
