"""MinHash signatures of shingle sets, many at a time, identical to datasketch's.

:class:`MinHasher` uses datasketch's ``affine32`` scheme (permutations ``a*h + b mod 2**32``
drawn from ``numpy.random.RandomState(seed)``) and a seeded xxhash of each shingle, so a
signature row equals ``datasketch.MinHash(num_perm, seed, hashfunc=..., scheme="affine32")``
fed the same shingles, and is the same in every process (no salted ``hash()``). The work is
vectorized over a whole batch of sets with NumPy.

>>> from dedup.sign import MinHasher
>>> mh = MinHasher(num_perm=16)
>>> sigs = mh.signatures([["a b", "b c"], ["a b", "b c"]])
>>> bool((sigs[0] == sigs[1]).all())
True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xxhash
from datasketch import MinHash
from datasketch.minhash import _fmix  # the scheme's pre-mix: keeps us identical to datasketch

from dedup.errors import ConfigError

# hashes x permutations computed at once: 512 KiB of uint32 stays in the CPU cache and below
# malloc's mmap threshold (16 MiB chunks were 3x slower, and slower still on Dask workers,
# whose MALLOC_TRIM_THRESHOLD_ makes every large temporary go back to the OS)
_CHUNK_CELLS = 1 << 17
# distinct shingles a memo holds before it starts over (~100 bytes each)
_MEMO_LIMIT = 1 << 20


def shingle_hash(shingle: str, seed: int = 1) -> int:
    """32-bit xxhash of a shingle, stable across processes and platforms."""
    return xxhash.xxh32_intdigest(shingle.encode("utf-8"), seed)


class MinHasher:
    """Computes MinHash signatures (uint32) for batches of shingle sets."""

    def __init__(self, num_perm: int = 128, seed: int = 1) -> None:
        if num_perm < 2:
            raise ConfigError(f"num_perm must be >= 2, got {num_perm}")
        self.num_perm = num_perm
        self.seed = seed
        a, b = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
        self._a = np.asarray(a, dtype=np.uint32)
        self._b = np.asarray(b, dtype=np.uint32)

    def hash_shingles(self, shingles: Sequence[str], *, memo: dict[str, int] | None = None) -> np.ndarray:
        """Pre-mixed 32-bit hashes of ``shingles``. ``memo`` (a dict the caller owns) keeps the
        hash of each distinct shingle: worth it where shingles repeat (the content words of
        overlapping passages), not for word n-grams."""
        seed = self.seed
        if memo is None:
            raw = np.fromiter((xxhash.xxh32_intdigest(s.encode("utf-8"), seed) for s in shingles),
                              dtype=np.uint32, count=len(shingles))
        else:
            if len(memo) > _MEMO_LIMIT:
                memo.clear()
            get, h32 = memo.get, xxhash.xxh32_intdigest
            values = []
            for s in shingles:
                v = get(s)
                if v is None:
                    v = memo[s] = h32(s.encode("utf-8"), seed)
                values.append(v)
            raw = np.asarray(values, dtype=np.uint32)
        with np.errstate(over="ignore"):
            return _fmix(raw, 32)

    def signatures_of_hashes(self, raw: Sequence[np.ndarray]) -> np.ndarray:
        """:meth:`signatures` of sets given by their shingles' raw hashes (:func:`shingle_hash`
        with this hasher's seed), one uint32 array per set: the same rows."""
        lengths = np.fromiter((len(r) for r in raw), dtype=np.int64, count=len(raw))
        flat = np.concatenate(raw).astype(np.uint32, copy=False) if len(raw) else np.empty(0, np.uint32)
        with np.errstate(over="ignore"):
            return self._signatures(_fmix(flat, 32), lengths)

    def datasketch(self, shingles: Sequence[str]) -> MinHash:
        """The equivalent datasketch MinHash (for checks and interoperability)."""
        m = MinHash(num_perm=self.num_perm, seed=self.seed, scheme="affine32",
                    hashfunc=lambda b: xxhash.xxh32_intdigest(b, self.seed))
        m.update_batch([s.encode("utf-8") for s in shingles])
        return m

    def signatures(self, sets: Sequence[Sequence[str]], *, memo: dict[str, int] | None = None) -> np.ndarray:
        """One signature row per shingle set; an empty set gives a row of 2**32-1 (``memo``:
        see :meth:`hash_shingles`)."""
        lengths = np.fromiter((len(s) for s in sets), dtype=np.int64, count=len(sets))
        return self._signatures(self.hash_shingles([sh for s in sets for sh in s], memo=memo), lengths)

    def _signatures(self, hashes: np.ndarray, all_lengths: np.ndarray) -> np.ndarray:
        """Signatures of consecutive runs of pre-mixed ``hashes``, ``all_lengths`` per set."""
        out = np.full((len(all_lengths), self.num_perm), np.iinfo(np.uint32).max, dtype=np.uint32)
        nonempty = np.flatnonzero(all_lengths)
        if not len(nonempty):
            return out
        lengths = all_lengths[nonempty]
        rows_per_chunk = max(1, _CHUNK_CELLS // self.num_perm)
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        # Process whole sets per chunk so each reduceat group lies inside one chunk.
        first = 0
        while first < len(nonempty):
            last = first
            cells = 0
            while last < len(nonempty) and (cells == 0 or cells + lengths[last] <= rows_per_chunk):
                cells += int(lengths[last])
                last += 1
            lo = int(starts[first])
            hi = lo + cells
            h = hashes[lo:hi, None]
            with np.errstate(over="ignore"):
                permuted = h * self._a[None, :] + self._b[None, :]
            offsets = starts[first:last] - lo
            out[nonempty[first:last]] = np.minimum.reduceat(permuted, offsets, axis=0)
            first = last
        return out


def jaccard_estimate(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """Share of equal signature positions: an unbiased estimate of Jaccard similarity."""
    return float(np.count_nonzero(sig_a == sig_b)) / len(sig_a)
