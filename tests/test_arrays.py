"""NumPy helpers (dedup.arrays)."""

from __future__ import annotations

import numpy as np
import pytest

from dedup.arrays import distinct


@pytest.mark.parametrize("dtype", [np.int64, np.uint32])
@pytest.mark.parametrize("size", [0, 1, 2, 25, 700, 5000])
def test_distinct_is_what_np_unique_returns(dtype, size):
    rng = np.random.default_rng(size)
    values = rng.integers(0, max(2, size // 2), size=size).astype(dtype)  # repeats
    got = distinct(values)
    assert got.dtype == values.dtype and np.array_equal(got, np.unique(values))
    assert np.array_equal(distinct(values.reshape(-1, 1)), np.unique(values))  # flattened, as np.unique


def test_distinct_leaves_its_argument_alone():
    values = np.array([3, 1, 3, 2])
    assert distinct(values).tolist() == [1, 2, 3] and values.tolist() == [3, 1, 3, 2]
