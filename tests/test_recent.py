"""In-memory search of the newest documents' band keys (dedup.recent)."""

from __future__ import annotations

import numpy as np
import pytest

from dedup import recent
from dedup.recent import SortedCounts, SortedPairs, packed_keys, unpacked_keys


@pytest.mark.parametrize("level", [2, 4096])
def test_sorted_pairs_find_what_a_scan_of_all_pairs_finds(monkeypatch, level):
    monkeypatch.setattr(recent, "_LEVEL", level)  # 2: levels overflow into the next ones often
    rng = np.random.default_rng(3)
    pairs = SortedPairs()
    added: list[tuple[int, int]] = []
    for doc in range(60):
        keys = np.unique(rng.integers(0, 200, size=rng.integers(0, 12)))
        if doc % 2:  # pairs come sorted (a document's keys) or not (several documents' keys)
            keys = rng.permutation(keys)
        pairs.add(keys, np.full(len(keys), doc, dtype=np.int64))
        added += [(k, doc) for k in keys.tolist()]
        query = np.unique(rng.integers(0, 200, size=15))
        keys_found, docs_found = pairs.find(query)
        wanted = set(query.tolist())
        assert sorted(zip(keys_found.tolist(), docs_found.tolist(), strict=True)) == \
            sorted(p for p in added if p[0] in wanted)
        assert len(pairs) == len(added)


@pytest.mark.parametrize("level", [2, 4096])
@pytest.mark.parametrize("distinct", [True, False])
def test_sorted_pairs_sum_what_a_scan_of_all_pairs_sums(monkeypatch, level, distinct):
    monkeypatch.setattr(recent, "_LEVEL", level)
    rng = np.random.default_rng(5)
    pairs = SortedPairs()
    totals: dict[int, int] = {}
    for _ in range(60):
        # distinct: each key added once (as FrequencyCache adds them); else keys repeat
        pool = np.setdiff1d(np.arange(400), list(totals)) if distinct else np.arange(100)
        keys = rng.permutation(np.unique(rng.choice(pool, size=min(len(pool), rng.integers(0, 12)))))
        values = rng.integers(1, 50, size=len(keys))
        pairs.add(keys, values)
        for k, v in zip(keys.tolist(), values.tolist(), strict=True):
            totals[k] = totals.get(k, 0) + v
        query = np.unique(rng.integers(0, 400, size=20))
        held, sums = pairs.sums(query)
        assert held.tolist() == [k in totals for k in query.tolist()]
        assert sums.tolist() == [totals.get(k, 0) for k in query.tolist()]


def test_packed_keys_keep_47_bits():
    keys = np.array([0, 1, 2**47 - 1, 123456789012345], dtype=np.int64)
    blob = packed_keys(keys)
    assert len(blob) == 6 * len(keys)
    assert np.array_equal(unpacked_keys(blob), keys)
    assert np.array_equal(unpacked_keys(blob + packed_keys(keys[:2])), np.concatenate((keys, keys[:2])))
    assert unpacked_keys(None).size == 0


@pytest.mark.parametrize("max_bucket,passage_max_bucket", [(64, 8), (5, 8), (9, 3)])
def test_passage_hit_counts_in_arrays_count_as_passage_hits_on_buckets(max_bucket, passage_max_bucket):
    """The SQLite backend counts passage-key hits in arrays, the Redis one from buckets: the
    same rule (dedup.store.passage_hits)."""
    from dedup import ScanConfig
    from dedup.store import passage_hit_counts, passage_hits

    config = ScanConfig(max_bucket=max_bucket, passage_max_bucket=passage_max_bucket)
    rng = np.random.default_rng(5)
    for _ in range(30):
        buckets = [sorted(set(rng.integers(0, 40, size=rng.integers(1, 14)).tolist())) for _ in range(25)]
        hits: dict[int, list[int]] = {}
        passage_hits(buckets, config, hits)
        keys = np.repeat(np.arange(len(buckets)), [len(b) for b in buckets])
        docs = np.asarray([d for b in buckets for d in b], dtype=np.int64)
        order = rng.permutation(len(keys))  # pairs come in any order
        handles, counts = passage_hit_counts(keys[order], docs[order], config)
        expected = {h: p for h, (_, p) in hits.items()}
        assert dict(zip(handles.tolist(), counts.tolist(), strict=True)) == expected
        # as the SQLite backend reads the key table: a bucket larger than passage_max_bucket
        # given as its newest document weighing the bucket's size, some of its documents
        # (unmerged ones) given one by one
        part_keys, part_docs, weights = [], [], []
        for key, bucket in enumerate(buckets):
            merged, unmerged = bucket[: len(bucket) // 2 + 1], bucket[len(bucket) // 2 + 1 :]
            if len(merged) > passage_max_bucket:
                merged_pairs = [(max(merged), len(merged))]
            else:
                merged_pairs = [(d, 1) for d in merged]
            for d, w in merged_pairs + [(d, 1) for d in unmerged]:
                part_keys.append(key)
                part_docs.append(d)
                weights.append(w)
        handles, counts = passage_hit_counts(np.array(part_keys), np.array(part_docs), config, np.array(weights))
        assert dict(zip(handles.tolist(), counts.tolist(), strict=True)) == expected


@pytest.mark.parametrize("level", [2, 4096])
def test_sorted_counts_sum_what_a_counter_sums(monkeypatch, level):
    """The frequency cache's log part: one count per word, summed as documents come and go."""
    from collections import Counter

    monkeypatch.setattr(recent, "_LEVEL", level)
    rng = np.random.default_rng(8)
    counts = SortedCounts()
    truth: Counter[int] = Counter()
    for _ in range(80):
        keys = np.unique(rng.integers(-50, 50, size=rng.integers(0, 20)))
        changes = rng.integers(-2, 3, size=len(keys))
        counts.add(keys, changes)
        truth.update(dict(zip(keys.tolist(), changes.tolist(), strict=True)))
        query = np.unique(rng.integers(-60, 60, size=25))
        assert counts.get(query).tolist() == [truth[k] for k in query.tolist()]
        for keys, _ in counts._levels:  # a key once per level, however often it was added
            assert (np.diff(keys) > 0).all()


def test_connection_cache_asks_the_data_version_once_per_write_transaction(tmp_path):
    import sqlite3

    asked: list[str] = []
    conn = sqlite3.connect(tmp_path / "v.db")
    conn.set_trace_callback(lambda sql: asked.append(sql) if "data_version" in sql else None)
    other = sqlite3.connect(tmp_path / "v.db")
    other.execute("CREATE TABLE t (x)")
    other.commit()
    cache = recent.ConnectionCache()
    cache.begin(locked=True)  # a write transaction: no other connection commits until it ends
    assert cache.changed(conn) and not cache.changed(conn) and not cache.changed(conn)
    assert len(asked) == 1
    cache.touch()  # its own writes still count
    assert cache.changed(conn) and len(asked) == 2
    assert not cache.changed(conn) and len(asked) == 2
    for locked in (False, True):  # a new transaction asks again, and sees another's commit
        other.execute("INSERT INTO t VALUES (1)")
        other.commit()
        cache.begin(locked=locked)
        assert cache.changed(conn)
        assert not cache.changed(conn)
    assert len(asked) == 2 + 3  # a read transaction asks every time: its snapshot may start later
