"""NumPy helpers the stages share."""

from __future__ import annotations

import numpy as np

__all__ = ["distinct"]


def distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values of an array, flattened and sorted: what ``np.unique`` returns.

    By a sort: NumPy 2.3 and later find them with a hash table, several times slower on the
    arrays dedup handles (NumPy 2.4.6 here: 65 µs against 5 for an article's 700 shingle
    hashes, 2.1 s against 0.1 s for 2 million pair codes).

    >>> distinct(np.array([5, 3, 5, 1]))
    array([1, 3, 5])
    """
    out = np.sort(values, axis=None)  # a copy
    if len(out) > 1:
        keep = np.empty(len(out), dtype=bool)
        keep[0] = True
        np.not_equal(out[1:], out[:-1], out=keep[1:])
        out = out[keep]
    return out
