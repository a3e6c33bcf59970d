"""The key filter (dedup.keyfilter): no stored key missed, across merges, rebuilds, other
writers and upgrades; absent keys let through at the rate its design says."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
from test_store import _drop_key_filter, _scores, synthetic_docs

from dedup import Document, ScanConfig, keyfilter, recent, store
from dedup.store import SyndicationIndex


def _held(index: SyndicationIndex) -> keyfilter.KeyFilter:
    """The handle's filter, caught up with the file."""
    index._transaction(index._sync_filter, write=False)
    return index._filter


def _table_keys(path) -> np.ndarray:
    with sqlite3.connect(path) as conn:
        return np.array([k for (k,) in conn.execute("SELECT key FROM text_keys")], dtype=np.int64)


def _counts(path) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        return dict(conn.execute("SELECT name, n FROM counts WHERE name LIKE 'filter%'"))


def test_every_stored_key_passes_the_filter_across_merges_rebuilds_and_removals(tmp_path, monkeypatch):
    """The filter is rebuilt in steps, a few keys per write transaction: meanwhile the one in
    use (none before the first is built) still holds every key of the table."""
    monkeypatch.setattr(recent, "RECENT_KEYS", 200)  # a merge every ~8 documents
    monkeypatch.setattr(store, "MOVE_STEP", 40)
    monkeypatch.setattr(store, "MOVE_PACE", 0)
    path = tmp_path / "i.db"
    docs = synthetic_docs("k", 400, 3)
    generations, building = [], []
    with SyndicationIndex(path) as index:
        for at in range(0, 300, 5):
            index.add_many(docs[at:at + 5], batch_size=2)
            keys = _table_keys(path)
            held = _held(index).may_hold(keys)
            counts = _counts(path)
            assert (held is None and not generations) or held.all()
            if held is not None:
                generations.append(counts["filter_generation"])
            building.append(counts["filter_next_words"] > 0)
        for doc in docs[:100]:
            index.remove(doc.id)
        index.add_many([Document(d.id, t.text) for d, t in zip(docs[100:150], docs[300:350], strict=True)])
        index.merge()
        keys = _table_keys(path)
        assert _held(index).may_hold(keys).all()
        counts = _counts(path)
    assert generations == sorted(generations) and len(set(generations)) > 5
    assert sum(building) > 5 and counts["filter_next_words"] == 0  # builds took several transactions; merge() ends one
    # rebuilt as the table grew: sized for twice the keys it held then, 8 to 16 bits a key
    assert counts["filter_words"] > keyfilter.BLOCK_WORDS
    assert 64 * counts["filter_words"] >= keyfilter.BITS_PER_KEY * counts["filter_keys"]


#: Whole-text keys only: no passage key finds what the filter would hide.
WHOLE_TEXT = ScanConfig(passage_lsh=(0, 1))


@pytest.mark.parametrize("config", [None, WHOLE_TEXT], ids=["default", "whole-text"])
def test_the_filter_skips_most_keys_of_unseen_texts_and_answers_do_not_change(tmp_path, monkeypatch, config):
    """Two handles on one file, one holding the filter, one not (a limit of 0 bytes): the
    same answers, for stored documents, edited copies and unseen texts; the filter lets
    through every key of the stored copies and few of the unseen texts'."""
    monkeypatch.setattr(recent, "RECENT_KEYS", 300)
    path = tmp_path / "i.db"
    docs = synthetic_docs("f", 160, 5)
    with SyndicationIndex(path, config) as index:
        index.add_many(docs[:120])
        index.merge()
    edited = [Document(f"e{i}", d.text.rsplit(".", 2)[0] + ".") for i, d in enumerate(docs[:20])]
    unseen = docs[120:]
    with SyndicationIndex(path) as filtered, SyndicationIndex(path) as plain:
        plain._filter.limit = 0
        assert _held(plain).may_hold(np.arange(3)) is None
        held = _held(filtered)
        answers = [_scores(filtered.query(doc.text)) for doc in [*docs[:20], *edited, *unseen]]
        assert answers == [_scores(plain.query(doc.text)) for doc in [*docs[:20], *edited, *unseen]]
        assert [a[0][0] for a in answers[:20]] == [d.id for d in docs[:20]]
        stored = np.concatenate([filtered._encode(filtered._entries([d])[0]).doc_keys for d in docs[:20]])
        assert held.may_hold(stored).all()
        fresh = np.concatenate([filtered._encode(filtered._entries([d])[0]).doc_keys for d in unseen])
        passed = held.may_hold(fresh).mean()
    assert passed < 0.1


def test_a_handle_reads_the_filter_again_after_another_writers_merge(tmp_path, monkeypatch):
    """A handle holding the filter must see keys another handle merged since: a stale filter
    would miss them."""
    monkeypatch.setattr(recent, "RECENT_KEYS", 150)
    path = tmp_path / "i.db"
    docs = synthetic_docs("w", 60, 9)
    with SyndicationIndex(path, WHOLE_TEXT) as reader, SyndicationIndex(path) as writer:
        writer.add_many(docs[:20])
        writer.merge()
        assert reader.query(docs[3].text)[0].id == docs[3].id
        before = _counts(path)["filter_generation"]
        writer.add_many(docs[20:60], batch_size=5)  # merges: the filter gains their keys
        writer.merge()
        assert _counts(path)["filter_generation"] > before
        with sqlite3.connect(path) as conn:
            assert conn.execute("SELECT count(*) FROM recent").fetchone()[0] == 0
        for doc in docs[20:60]:
            assert [m.id for m in reader.query(doc.text)][:1] == [doc.id]


def test_the_filter_takes_its_bytes_from_the_page_cache_and_stays_out_when_too_large(tmp_path, monkeypatch):
    monkeypatch.setattr(recent, "RECENT_KEYS", 200)
    path = tmp_path / "i.db"
    with SyndicationIndex(path) as index:
        index.add_many(synthetic_docs("c", 40, 2))
        index.merge()
    with SyndicationIndex(path, cache_mb=2) as index:
        assert index.preload() > 0
        nbytes = index._filter.nbytes
        assert nbytes == 8 * _counts(path)["filter_words"] > 0
        pages = index._connection().execute("PRAGMA cache_size").fetchone()[0]
        assert pages == -(2 * 1024 - nbytes // 1024)
    with SyndicationIndex(path, cache_mb=1) as index:
        index._filter.limit = nbytes - 1
        index.preload()
        assert index._filter.nbytes == 0
        assert index._connection().execute("PRAGMA cache_size").fetchone()[0] == -1024


def test_a_format_9_file_is_upgraded_and_merge_builds_its_filter(tmp_path, monkeypatch):
    monkeypatch.setattr(recent, "RECENT_KEYS", 200)
    path = tmp_path / "v9.db"
    docs = synthetic_docs("u", 30, 4)
    with SyndicationIndex(path) as index:
        index.add_many(docs[:25])
        index.merge()
        before = [_scores(index.query(d)) for d in docs]
    with sqlite3.connect(path) as conn:
        _drop_key_filter(conn)
        conn.execute("UPDATE meta SET value = '9' WHERE key = 'format'")
    with SyndicationIndex(path) as index:
        counts = _counts(path)
        assert counts["filter_words"] == counts["filter_next_words"] == counts["filter_generation"] == 0
        assert _held(index).nbytes == 0  # no filter yet: every key looked up
        assert [_scores(index.query(d)) for d in docs] == before
        index.merge()
        assert _held(index).may_hold(_table_keys(path)).all()
        assert [_scores(index.query(d)) for d in docs] == before
    with sqlite3.connect(path) as conn:  # renamed: a handle of format 9 fails instead of skipping the filter
        with pytest.raises(sqlite3.OperationalError, match="no such table"):
            conn.execute("SELECT 1 FROM doc_keys")


@pytest.mark.parametrize("bits_per_key", [keyfilter.BITS_PER_KEY, 2 * keyfilter.BITS_PER_KEY])
def test_absent_keys_pass_at_the_rate_the_design_gives(tmp_path, bits_per_key):
    rng = np.random.default_rng(11)
    keys = rng.integers(0, 2**47, 100_000)
    conn = sqlite3.connect(tmp_path / "f.db", isolation_level=None)
    conn.execute("CREATE TABLE counts (name TEXT PRIMARY KEY, n INTEGER NOT NULL)")
    conn.execute("CREATE TABLE text_keys (key INTEGER NOT NULL, doc INTEGER NOT NULL, PRIMARY KEY (key, doc)) "
                 "WITHOUT ROWID")
    for statement in keyfilter.FILTER_SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO text_keys VALUES (?, 1)", ((k,) for k in keys.tolist()))
    words = keyfilter.rebuild(conn)  # built at 2 * BITS_PER_KEY bits a key
    if bits_per_key == keyfilter.BITS_PER_KEY:  # as full as it gets: as many keys again
        more = rng.integers(0, 2**47, len(keys))
        keyfilter.add_keys(conn, more, words)
        keys = np.concatenate((keys, more))
    held = keyfilter.KeyFilter(2**30)
    held.sync(conn)
    assert held.may_hold(keys).all()
    absent = rng.integers(0, 2**47, 200_000)
    rate = held.may_hold(absent).mean()
    expected = keyfilter.false_positive_rate(64 * words / len(keys))
    assert 0.8 * expected < rate < 1.2 * expected
