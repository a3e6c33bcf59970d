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

from functools import lru_cache

import numpy as np
from datasketch.lsh import _optimal_param

from dedup.errors import ConfigError

_MIX = np.uint64(0x9E3779B97F4A7C15)
_MIX2 = np.uint64(0xBF58476D1CE4E5B9)


@lru_cache(maxsize=64)
def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """``(bands, rows)`` minimizing weighted false positives and negatives (datasketch)."""
    if not 0.0 < threshold <= 1.0:
        raise ConfigError(f"threshold must be in (0.0, 1.0], got {threshold}")
    b, r = _optimal_param(threshold, num_perm, 0.5, 0.5)
    return int(b), int(r)


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """``(n, bands)`` uint64 keys: each band's rows mixed into one 64-bit value.

    Band ``i`` is salted with ``i`` so equal rows in different bands never collide.
    """
    if bands * rows > signatures.shape[1]:
        raise ConfigError(f"bands x rows must be <= num_perm, got {bands}x{rows} > {signatures.shape[1]}")
    n = signatures.shape[0]
    keys = np.empty((n, bands), dtype=np.uint64)
    sig = signatures.astype(np.uint64)
    with np.errstate(over="ignore"):
        for band in range(bands):
            key = np.full(n, np.uint64(band + 1) * _MIX, dtype=np.uint64)
            for col in range(band * rows, (band + 1) * rows):
                key = (key ^ sig[:, col]) * _MIX2
                key ^= key >> np.uint64(31)
            keys[:, band] = key
    return keys


def candidate_pairs(
    keys: np.ndarray, owners: np.ndarray, *, max_bucket: int = 64, min_hits: int = 1
) -> set[tuple[int, int]]:
    """Pairs ``(i, j)``, ``i < j``, of owners sharing band keys at least ``min_hits`` times.

    ``owners[k]`` is the document that item ``k`` belongs to (a document has several
    passage items; each shared bucket counts once per pair). Buckets with more than
    ``max_bucket`` distinct owners are skipped: a key shared by that many documents is
    common vocabulary, not copying.
    """
    hits: dict[tuple[int, int], int] = {}
    if keys.size == 0:
        return set()
    for band in range(keys.shape[1]):
        col = keys[:, band]
        order = np.argsort(col, kind="stable")
        sorted_keys = col[order]
        boundaries = np.flatnonzero(sorted_keys[1:] != sorted_keys[:-1]) + 1
        starts = np.concatenate(([0], boundaries))
        ends = np.concatenate((boundaries, [len(col)]))
        multi = np.flatnonzero(ends - starts > 1)
        for g in multi:
            members = np.unique(owners[order[starts[g] : ends[g]]])
            if len(members) < 2 or len(members) > max_bucket:
                continue
            m = members.tolist()
            for x in range(len(m)):
                for y in range(x + 1, len(m)):
                    pair = (m[x], m[y])
                    hits[pair] = hits.get(pair, 0) + 1
    return {pair for pair, n in hits.items() if n >= min_hits}
