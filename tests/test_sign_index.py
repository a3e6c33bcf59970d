import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.errors import ConfigError
from dedup.index import band_keys, candidate_pairs, lsh_params
from dedup.sign import MinHasher, jaccard_estimate

words = st.text(alphabet="abcdefgh", min_size=1, max_size=4)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(words, max_size=30), min_size=1, max_size=6), st.integers(0, 2**32 - 1))
def test_signatures_equal_datasketch_minhash(sets, seed):
    hasher = MinHasher(num_perm=32, seed=seed)
    sigs = hasher.signatures(sets)
    for row, shingles in zip(sigs, sets, strict=True):
        if shingles:
            assert np.array_equal(row, hasher.datasketch(shingles).hashvalues.astype(np.uint32))
        else:
            assert (row == np.iinfo(np.uint32).max).all()


@settings(max_examples=30, deadline=None)
@given(st.sets(st.integers(0, 400), min_size=20, max_size=200), st.sets(st.integers(0, 400), min_size=20, max_size=200))
def test_estimate_stays_near_exact_jaccard(a, b):
    hasher = MinHasher(num_perm=256, seed=3)
    sa, sb = hasher.signatures([[str(x) for x in a], [str(x) for x in b]])
    exact = len(a & b) / len(a | b)
    # 256 permutations: standard error <= 0.031; 5 sigma keeps the test meaningful, not flaky
    assert abs(jaccard_estimate(sa, sb) - exact) <= 0.16


def test_signatures_do_not_depend_on_the_process():
    code = (
        "from dedup.sign import MinHasher;"
        "print(MinHasher(16, seed=9).signatures([['kim jong un', 'new year message']])[0].tolist())"
    )
    runs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={"PYTHONHASHSEED": str(seed), "PATH": ""}).stdout
        for seed in (1, 2)
    }
    assert len(runs) == 1
    here = MinHasher(16, seed=9).signatures([["kim jong un", "new year message"]])[0].tolist()
    assert runs.pop().strip() == str(here)


def test_large_batches_are_chunked_identically():
    hasher = MinHasher(num_perm=64)
    sets = [[f"w{i}-{j}" for j in range(300)] for i in range(500)]
    whole = hasher.signatures(sets)
    assert np.array_equal(whole[:10], hasher.signatures(sets[:10]))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.text(min_size=1, max_size=6), max_size=30), min_size=1, max_size=6),
       st.integers(0, 2**31))
def test_signatures_of_raw_hashes_are_the_signatures(sets, seed):
    from dedup.sign import shingle_hash

    mh = MinHasher(32, seed)
    raw = [np.unique(np.array([shingle_hash(x, seed) for x in s], dtype=np.uint32)) for s in sets]
    assert (mh.signatures_of_hashes(raw) == mh.signatures(sets)).all()


def test_lsh_params_follow_datasketch():
    b, r = lsh_params(0.5, 128)
    assert b * r <= 128 and r >= 2
    with pytest.raises(ValueError, match="threshold must be in"):
        lsh_params(0.0, 128)


def test_band_keys_mix_each_band_as_stored_indexes_expect():
    # stored indexes hold these keys: the mixing is a file format, checked here against
    # plain integer arithmetic, one band and one row at a time
    mask = (1 << 64) - 1
    mix, mix2 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9

    def reference(sig: list[int], bands: int, rows: int) -> list[int]:
        out = []
        for band in range(bands):
            key = ((band + 1) * mix) & mask
            for value in sig[band * rows:(band + 1) * rows]:
                key = ((key ^ value) * mix2) & mask
                key ^= key >> 31
            out.append(key)
        return out

    rng = np.random.default_rng(11)
    sigs = rng.integers(0, 2**32, size=(7, 20), dtype=np.uint64).astype(np.uint32)
    for bands, rows in ((4, 5), (3, 2), (1, 20), (20, 1)):
        keys = band_keys(sigs, bands, rows)
        assert keys.shape == (7, bands) and keys.dtype == np.uint64
        assert [row.tolist() for row in keys] == [reference([int(v) for v in s], bands, rows) for s in sigs]
    assert band_keys(sigs, 0, 1).shape == (7, 0)
    assert band_keys(sigs[:0], 4, 5).shape == (0, 4)
    with pytest.raises(ConfigError, match="bands x rows"):
        band_keys(sigs, 5, 5)


def test_candidate_pairs_need_shared_band_and_respect_min_hits_and_bucket_cap():
    sigs = np.array([[1, 2, 3, 4], [1, 2, 9, 9], [5, 6, 7, 8], [5, 6, 7, 8]], dtype=np.uint32)
    keys = band_keys(sigs, 2, 2)
    owners = np.array([0, 1, 2, 3])
    assert candidate_pairs(keys, owners) == {(0, 1), (2, 3)}
    assert candidate_pairs(keys, owners, min_hits=2) == {(2, 3)}
    # items of one owner never pair with themselves
    assert candidate_pairs(keys, np.array([0, 0, 1, 1])) == set()
    many = np.tile(sigs[:1], (5, 1))
    # a bucket over max_bucket only chains its owners; over chain_limit, it is skipped
    assert candidate_pairs(band_keys(many, 2, 2), np.arange(5), max_bucket=4) == {(0, 1), (1, 2), (2, 3), (3, 4)}
    assert candidate_pairs(band_keys(many, 2, 2), np.arange(5), max_bucket=5) == {
        (i, j) for i in range(5) for j in range(i + 1, 5)}
    assert candidate_pairs(band_keys(many, 2, 2), np.arange(5), max_bucket=2, chain_limit=4) == set()


def test_candidate_pairs_read_row_blocks_like_the_stacked_array():
    rng = np.random.default_rng(3)
    keys = rng.integers(0, 6, size=(200, 4)).astype(np.uint64)  # many shared keys
    owners = np.sort(rng.integers(0, 60, size=200))
    whole = candidate_pairs(keys, owners, max_bucket=5, min_hits=2)
    assert whole and candidate_pairs([keys[:70], keys[70:71], keys[71:]], owners, max_bucket=5, min_hits=2) == whole


def test_bands_are_salted():
    sigs = np.array([[1, 1, 2, 2], [2, 2, 1, 1]], dtype=np.uint32)
    assert candidate_pairs(band_keys(sigs, 2, 2), np.array([0, 1])) == set()


@pytest.mark.parametrize("min_hits", [1, 2, 3])
def test_pair_hits_counted_in_partitions_on_disk_like_in_memory(monkeypatch, min_hits):
    """A large join counts pair hits partition by partition in a temporary file: same pairs."""
    import dedup.index
    from dedup.index import candidate_array
    from dedup.spill import SpilledBands

    rng = np.random.default_rng(min_hits)
    keys = rng.integers(0, 9, size=(400, 6)).astype(np.uint64)
    owners = np.sort(rng.integers(0, 120, size=400))
    in_memory = candidate_array(keys, owners, max_bucket=6, min_hits=min_hits)
    monkeypatch.setattr(dedup.index, "PAIRS_PER_PART", 300)  # 400 x 6 / 300 = 8 partitions
    columns = SpilledBands(6)
    columns.append(keys[:150])
    columns.append(keys[150:])
    partitioned = candidate_array(columns, owners, max_bucket=6, min_hits=min_hits)
    assert len(in_memory) > 10 and partitioned.tolist() == in_memory.tolist()
    expected = sorted(candidate_pairs(keys, owners, max_bucket=6, min_hits=min_hits))
    assert [tuple(p) for p in in_memory.tolist()] == expected


@given(st.lists(st.sampled_from(["a", "b", "élysée", "2025"]), max_size=12), st.integers(1, 6))
def test_word_shingles_are_the_n_grams_of_the_words(words, n):
    from dedup.shingle import word_shingles

    expected = [" ".join(words[i:i + n]) for i in range(len(words) - n + 1)] if len(words) > n else (
        [" ".join(words)] if words else [])
    assert word_shingles(words, n) == expected
    with pytest.raises(ConfigError, match="n must be"):
        word_shingles(words, 0)
