"""The SQLite syndication index: persistence, configuration, concurrency, crashes, eviction."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import zlib
from functools import partial
from pathlib import Path

import numpy as np
import pytest

import dedup.store as store
from dedup import ConfigError, Document, IncompatibleIndexError, ScanConfig, StoreError
from dedup.store import _KEY_LEVELS, FORMAT_VERSION, Match, SyndicationIndex, Verdict, _feature_sizes, open_index
from dedup.verify import shingle_verification

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "fixtures" / "seeds"


def seed(prefix: str) -> Document:
    path = next(SEEDS.glob(f"{prefix}_*.txt"))
    return Document(path.name, path.read_text(encoding="utf-8"), url=f"https://example.org/{prefix}")


def vocabulary(size: int = 3000) -> list[str]:
    rng = random.Random(7)
    syllables = "ka lo mi ren tu sa vel dor pi nek ba zu ri mon te gal fe sor lin ak".split()
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def synthetic(rng: random.Random, words: list[str], sentences: int = 3) -> str:
    out = []
    for _ in range(sentences):
        s = [rng.choice(words) for _ in range(rng.randint(8, 12))]
        out.append(" ".join(s).capitalize() + ".")
    return " ".join(out)


def synthetic_docs(prefix: str, n: int, seed_value: int) -> list[Document]:
    rng = random.Random(seed_value)
    words = vocabulary()
    return [Document(f"{prefix}-{i}", synthetic(rng, words)) for i in range(n)]


def test_seeds_query_finds_the_story_not_the_other_event(tmp_path):
    with SyndicationIndex(tmp_path / "i.db") as index:
        index.add_many([seed("001"), seed("002"), seed("003")])
        found = {m.id: m for m in index.query(seed("000"))}
        assert {seed("003").id, seed("002").id} <= set(found)
        assert index.query(seed("004")) == []
        best = found[seed("003").id]
        assert best.relation in {"rewrite", "syndicated", "partial", "duplicate"}
        assert best.url == "https://example.org/003"
        assert "matching sentence" in best.reason
        assert best.evidence and all(set(e) >= {"kind", "score", "a", "b"} for e in best.evidence)


def test_query_takes_text_and_documents_never_match_themselves(tmp_path):
    doc = seed("003")
    with SyndicationIndex(tmp_path / "i.db") as index:
        index.add(doc)
        assert [m.id for m in index.query(doc.text)] == [doc.id]
        assert index.query(doc.text)[0].relation == "duplicate"
        assert index.query(doc) == []  # same id: itself is not a match


def test_stored_copies_of_one_text_are_verified_once_and_match_alike(tmp_path, monkeypatch):
    """A syndicated story stored many times: one verification serves every copy, and the
    matches are those that verifying each copy gives."""
    import importlib

    verify_module = importlib.import_module("dedup.verify")
    story, other = seed("003"), seed("002")
    copies = [Document(f"copy-{k}", story.text, url=f"https://example.org/copy-{k}") for k in range(6)]
    calls: list[str] = []
    original = verify_module.Verifier.verify
    monkeypatch.setattr(verify_module.Verifier, "verify", lambda self, a, b: calls.append(b.id) or original(self, a, b))
    with SyndicationIndex(tmp_path / "i.db") as index:
        index.add_many([*copies, other], added=500.0)
        once = index.query(seed("000"), limit=20)
        assert len(calls) == len(set(calls)) == 2  # the story once (any copy), the other article once
        assert {m.id for m in once} >= {c.id for c in copies}
        # digests are taken only of candidates whose feature sizes another candidate shares
        digested: list[str] = []
        digest = verify_module.TextFeatures.digest
        monkeypatch.setattr(verify_module.TextFeatures, "digest", lambda self: digested.append(self.id) or digest(self))
        calls.clear()
        assert [m.to_dict() for m in index.query(seed("000"), limit=20)] == [m.to_dict() for m in once]
        assert sorted(digested) == sorted(c.id for c in copies) and len(calls) == 2
        # a text of the same sizes with other words is verified on its own
        variant = Document("variant", story.text.replace("déminer", "zorblatt", 1))
        sizes = [_feature_sizes(index._entries([d])[0].features) for d in (variant, copies[0])]
        assert sizes[0] == sizes[1] and variant.text != story.text
        index.add(variant, added=400.0)
        calls.clear()
        assert "variant" in {m.id for m in index.query(seed("000"), limit=20)}
        assert sorted(calls)[-1] == "variant" and len(calls) == 3
        index.remove("variant")
        calls.clear()
        monkeypatch.setattr(verify_module.TextFeatures, "digest", lambda self: self.id.encode())  # no two alike
        each = index.query(seed("000"), limit=20)
        assert len(calls) == len(copies) + 1
        assert [m.to_dict() for m in once] == [m.to_dict() for m in each]


def test_restart_keeps_documents_and_configuration(tmp_path):
    path = tmp_path / "i.db"
    config = ScanConfig(min_matches=3)
    with SyndicationIndex(path, config) as index:
        index.add_many([seed("002"), seed("003")])
    with SyndicationIndex(path) as index:  # config=None: the stored one
        assert index.config == config
        assert len(index) == 2
        assert seed("003").id in index
        assert index.query(seed("003").text)[0].id == seed("003").id
        stats = index.stats()
        assert stats["documents"] == 2 and stats["config"] == config.to_dict()
        assert stats["format"] == FORMAT_VERSION and stats["size_bytes"] > 0


def test_memory_map_is_set_on_every_connection_and_changes_no_answer(tmp_path):
    # reads go through a memory map of the file (SQLite's mmap_size) when asked for; a handle
    # that writes with the map and one that reads without it see the same index
    path = tmp_path / "i.db"
    with SyndicationIndex(path, mmap_size=1 << 30) as mapped, SyndicationIndex(path) as plain:
        assert mapped._connection().execute("PRAGMA mmap_size").fetchone()[0] > 0
        assert plain._connection().execute("PRAGMA mmap_size").fetchone()[0] == 0
        mapped.add_many([seed("002"), seed("003")])
        found = [m.to_dict() for m in mapped.query(seed("003").text)]
        assert found and found == [m.to_dict() for m in plain.query(seed("003").text)]
    for bad in (-1, 1.5, True, "2G"):
        with pytest.raises(ConfigError, match="mmap_size"):
            SyndicationIndex(path, mmap_size=bad)


def test_page_cache_size_is_set_on_every_connection_and_preload_reads_every_stored_key(tmp_path):
    """``cache_mb`` is the handle's SQLite page cache (its worker processes' too); ``preload``
    reads the key tables through it and changes no answer."""
    path = tmp_path / "i.db"
    with SyndicationIndex(path, cache_mb=3) as small, SyndicationIndex(path) as plain:
        assert small._connection().execute("PRAGMA cache_size").fetchone()[0] == -3 * 1024
        assert plain._connection().execute("PRAGMA cache_size").fetchone()[0] == -128 * 1024
        assert plain._connection().execute("PRAGMA secure_delete").fetchone()[0] == 2  # FAST, whatever the build
        assert ("cache_mb", 3) in small._reader_spec().options
        small.add_many([seed("001"), seed("002"), seed("003")])
        before = [m.to_dict() for m in small.query(seed("000"))]
        assert small.preload() == 0  # every key still in the recent table
        small.merge()
        stats = small.stats()
        assert small.preload() == stats["doc_keys"] + stats["passage_keys"] > 0
        assert before and [m.to_dict() for m in small.query(seed("000"))] == before
        assert [m.to_dict() for m in plain.query(seed("000"))] == before
    for bad in (0, -1, 1.5, True, "1G"):
        with pytest.raises(ConfigError, match="cache_mb"):
            SyndicationIndex(path, cache_mb=bad)


def _count_loads(index: SyndicationIndex, method: str, loaded: list[int]) -> None:
    """Record in ``loaded`` how many stored documents each call of ``index.<method>`` loads."""
    load = getattr(index, method)

    def counted(reader, handles):  # type: ignore[no-untyped-def]
        loaded.append(len(handles))
        return load(reader, handles)

    setattr(index, method, counted)


def test_candidates_bounds_the_stored_documents_verified(tmp_path):
    # a story stored under 12 ids: every copy shares every key, so the newest come first; a
    # query verifies max(4 x limit, max_bucket) of them by default, `candidates` of them if given
    story = seed("002")
    loaded: list[int] = []
    with SyndicationIndex(tmp_path / "i.db") as index:
        index.add_many([Document(f"c{i:02d}", story.text) for i in range(12)])
        _count_loads(index, "_load", loaded)
        assert len(index.query(story.text)) == 10 and loaded[-1] == 12
        # ranked as ever among those verified: same relation and coverage, same time, ids in order
        assert [m.id for m in index.query(story.text, candidates=3)] == ["c09", "c10", "c11"]
        assert loaded[-1] == 3
        assert [m.id for m in index.query(story.text, limit=2, candidates=1)] == ["c11"]
        verdict = index.check(Document("new", story.text), candidates=2)
        assert verdict.status == "duplicate" and [m.id for m in verdict.matches] == ["c10", "c11"]
        assert loaded[-1] == 3 and "new" in index  # one more loaded in case it is the queried document
        # a stored page fetched again: its own stored version takes no place in the budget
        again = Document("new", story.text)  # the newest stored document: first among the candidates
        assert [m.id for m in index.query(again, limit=1, candidates=1)] == ["c11"]
        assert index.check(again, limit=1, candidates=1).status == "duplicate"
        for bad in (0, -1, 1.5, True, "3"):
            with pytest.raises(ConfigError, match="candidates"):
                index.query(story.text, candidates=bad)
            with pytest.raises(ConfigError, match="candidates"):
                index.check(Document("x", story.text), candidates=bad)
        assert "x" not in index


def test_incompatible_configuration_is_refused_with_the_fields(tmp_path):
    path = tmp_path / "i.db"
    SyndicationIndex(path).close()
    with pytest.raises(IncompatibleIndexError, match=r"ngram \(index 5, given 3\)"):
        SyndicationIndex(path, ScanConfig(ngram=3))
    with pytest.raises(IncompatibleIndexError, match="match_threshold"):
        SyndicationIndex(path, ScanConfig(match_threshold=0.9))
    # lookup-only settings may differ per handle
    with SyndicationIndex(path, ScanConfig(max_bucket=8, passage_min_hits=3)) as index:
        assert index.config.max_bucket == 8
    with SyndicationIndex(path) as index:
        assert index.config.max_bucket == ScanConfig().max_bucket


def test_unknown_format_version_is_refused(tmp_path):
    path = tmp_path / "i.db"
    SyndicationIndex(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'format'")
    with pytest.raises(IncompatibleIndexError, match="format version '99'"):
        SyndicationIndex(path)


def test_files_that_are_not_an_index_are_refused(tmp_path):
    with pytest.raises(StoreError, match="no index"):
        SyndicationIndex(tmp_path / "missing.db", create=False)
    assert not (tmp_path / "missing.db").exists()
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    with pytest.raises(StoreError, match="not a dedup index"):
        SyndicationIndex(other)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError):
        SyndicationIndex(junk)


def test_adding_an_existing_id_replaces_it(tmp_path):
    a, b = seed("003"), seed("004")
    with SyndicationIndex(tmp_path / "i.db") as index:
        index.add(Document("x", a.text))
        index.add(Document("x", b.text, title="second"))
        assert len(index) == 1
        assert index.get("x").title == "second"
        assert index.query(a.text) == []
        assert [m.id for m in index.query(b.text)] == ["x"]
        # a batch with one id twice keeps the last
        index.add_many([Document("y", a.text), Document("y", b.text)])
        assert len(index) == 2 and index.get("y").text == b.text


def test_remove_leaves_nothing_behind(tmp_path):
    path = tmp_path / "i.db"
    with SyndicationIndex(path) as index:
        index.add_many([seed("002"), seed("003")])
        assert index.remove(seed("002").id) is True
        assert index.remove(seed("002").id) is False
        assert seed("002").id not in index and len(index) == 1
        assert [m.id for m in index.query(seed("002").text)] != [seed("002").id]
        index.remove(seed("003").id)
        stats = index.stats()
    assert (stats["documents"], stats["doc_keys"], stats["passage_keys"], stats["words"]) == (0, 0, 0, 0)
    assert stats["languages"] == {}


def test_evict_by_age_or_timestamp(tmp_path):
    docs = synthetic_docs("e", 3, 1)
    with SyndicationIndex(tmp_path / "i.db") as index:
        for doc, when in zip(docs, (100.0, 200.0, 300.0), strict=True):
            index.add(doc, added=when)
        assert index.evict(before=250.0) == 2
        assert index.ids() == ["e-2"]
        assert index.evict(older_than_seconds=150, now=400.0) == 0
        assert index.evict(older_than_seconds=50, now=400.0) == 1
        assert len(index) == 0
        with pytest.raises(ConfigError, match="exactly one"):
            index.evict(10, before=5.0)
        with pytest.raises(ConfigError, match="exactly one"):
            index.evict()


def test_check_adds_and_reports_the_earlier_copy(tmp_path):
    story = seed("003")
    with SyndicationIndex(tmp_path / "i.db") as index:
        first = index.check(Document("first", story.text))
        assert first == Verdict("new", ())
        again = index.check(Document("reprint", story.text, url="https://other.example/x"))
        assert again.status == "duplicate"
        assert again.best is not None and again.best.id == "first"
        assert len(index) == 2
        data = again.to_dict()
        assert data["status"] == "duplicate" and data["matches"][0]["id"] == "first"
        json.dumps(data)


def test_align_is_optional(tmp_path):
    with SyndicationIndex(tmp_path / "i.db") as index:
        index.add(seed("003"))
        matches = index.query(seed("003").text, align=True)
        assert matches and isinstance(matches[0], Match)
        try:
            import dedup.align  # noqa: F401
        except ImportError:
            assert matches[0].alignment is None
        else:
            assert matches[0].alignment["verdict"] == "verbatim"
            assert "alignment" in matches[0].to_dict()


def test_closed_index_refuses_work(tmp_path):
    index = SyndicationIndex(tmp_path / "i.db")
    index.close()
    with pytest.raises(StoreError, match="closed"):
        len(index)


def test_open_index_picks_sqlite_for_paths(tmp_path):
    with open_index(tmp_path / "i.db") as index:
        assert isinstance(index, SyndicationIndex)


def test_bad_arguments(tmp_path):
    with SyndicationIndex(tmp_path / "i.db") as index:
        with pytest.raises(ConfigError, match="batch_size"):
            index.add_many(synthetic_docs("b", 2, 1), batch_size=0)
        with pytest.raises(ConfigError, match="limit"):
            index.query("some text here", limit=0)
        with pytest.raises(TypeError):
            index.add("not a document")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------
# Several processes on one index


def _worker(path: str, worker: int, n: int, batch: int) -> tuple[int, int, int]:
    docs = synthetic_docs(f"w{worker}", n, 1000 + worker)
    answered = found = 0
    with SyndicationIndex(path) as index:
        for start in range(0, n, batch):
            index.add_many(docs[start:start + batch], batch_size=batch)
            probe = docs[start]
            matches = index.query(probe.text, limit=3)
            answered += 1
            found += any(m.id == probe.id for m in matches)
    return worker, answered, found


def test_several_processes_add_and_query_at_once(tmp_path):
    path = str(tmp_path / "shared.db")
    SyndicationIndex(path).close()
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    ctx = multiprocessing.get_context(method)
    workers, n, batch = 4, 1000, 50
    started = time.monotonic()
    with ctx.Pool(workers) as pool:
        results = pool.starmap(_worker, [(path, w, n, batch) for w in range(workers)])
    assert time.monotonic() - started < 60
    assert sorted(r[0] for r in results) == list(range(workers))
    for _, answered, found in results:
        assert answered == n // batch
        assert found == answered
    with SyndicationIndex(path) as index:
        assert len(index) == workers * n
        ids = set(index.ids())
        assert ids == {f"w{w}-{i}" for w in range(workers) for i in range(n)}
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _batch_writer(path: str, batches: int, size: int) -> None:
    with SyndicationIndex(path) as index:
        for b in range(batches):
            index.add_many(synthetic_docs(f"h{b}", size, b), batch_size=size)


def test_readers_never_see_half_a_batch(tmp_path):
    path = str(tmp_path / "shared.db")
    SyndicationIndex(path).close()
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    writer = multiprocessing.get_context(method).Process(target=_batch_writer, args=(path, 10, 100))
    writer.start()
    seen = set()
    with SyndicationIndex(path) as index:
        while writer.is_alive() or not seen:
            seen.add(len(index))
        writer.join()
        seen.add(len(index))
    assert writer.exitcode == 0
    assert all(n % 100 == 0 for n in seen), sorted(seen)
    assert max(seen) == 1000 and len(seen) > 2


def _checker(path: str, text: str, worker: int, verify: str, barrier) -> str:  # type: ignore[no-untyped-def]
    with SyndicationIndex(path) as index:
        barrier.wait()
        return index.check(Document(f"copy-{worker}", text), verify=verify).status  # type: ignore[arg-type]


@pytest.mark.parametrize("config, verify", [(ScanConfig(), "full"), (ScanConfig(passage_lsh=(0, 3)), "shingles")],
                         ids=["default-full", "whole-text-shingles"])
def test_concurrent_checks_of_one_story_find_one_new(tmp_path, config, verify):
    # whole-text shingle checks query before taking the write lock: the check under the lock
    # still sees the copies the others committed meanwhile
    path = str(tmp_path / "shared.db")
    SyndicationIndex(path, config).close()
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    ctx = multiprocessing.get_context(method)
    with ctx.Manager() as manager:
        barrier = manager.Barrier(4)
        with ctx.Pool(4) as pool:
            statuses = pool.starmap(_checker, [(path, seed("003").text, w, verify, barrier) for w in range(4)])
    assert sorted(statuses) == ["duplicate", "duplicate", "duplicate", "new"]


# ---------------------------------------------------------------------------------------
# Crash safety

_KILLED_WRITER = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {tests!r})
    from test_store import synthetic_docs
    from dedup.store import SyndicationIndex

    path, batches, size, stop = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])

    class SlowIndex(SyndicationIndex):
        def _insert(self, conn, entries):
            super()._insert(conn, entries)
            if entries[0].doc.id.startswith(f"b{{stop}}-"):
                print("inside", stop, flush=True)  # rows written, transaction still open
                time.sleep(120)

    index = SlowIndex(path)
    for b in range(batches):
        index.add_many(synthetic_docs(f"b{{b}}", size, b), batch_size=size)
        print("committed", b, flush=True)
""")


def test_sigkill_during_a_batch_keeps_exactly_the_committed_batches(tmp_path):
    path = tmp_path / "crash.db"
    size, stop = 200, 3
    script = tmp_path / "writer.py"
    script.write_text(_KILLED_WRITER.format(tests=str(Path(__file__).parent)), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, str(script), str(path), "10", str(size), str(stop)],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line.strip())
            if line.startswith("inside"):
                break
        assert lines == [f"committed {b}" for b in range(stop)] + [f"inside {stop}"]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with SyndicationIndex(path) as index:
        assert len(index) == stop * size
        assert set(index.ids()) == {f"b{b}-{i}" for b in range(stop) for i in range(size)}
        assert f"b{stop}-0" not in index
        probe = synthetic_docs(f"b{stop - 1}", size, stop - 1)[5]
        assert [m.id for m in index.query(probe.text)] == [probe.id]
        index.add_many(synthetic_docs(f"b{stop}", size, stop))  # the index is writable again
        assert len(index) == (stop + 1) * size


def _key_rows(path: Path) -> tuple[list[tuple[str, int, int]], list[tuple[str, int, int]]]:
    """``(held, own)``: the ``(kind, key, doc)`` rows the key tables and the recent table hold,
    and those the stored documents' own rows list; sorted."""
    from dedup.recent import unpacked_keys

    def listed(rows: list[tuple[int, bytes, bytes]]) -> list[tuple[str, int, int]]:
        return [(kind, k, doc) for doc, dk, pk in rows
                for kind, blob in (("doc", dk), ("passage", pk)) for k in unpacked_keys(blob).tolist()]

    held = []
    with sqlite3.connect(path) as conn:
        held += [("doc", k, d) for k, d in conn.execute("SELECT key, doc FROM text_keys")]
        for table in _KEY_LEVELS:
            held += [("passage", k, d) for k, d in conn.execute(f"SELECT key, doc FROM {table}")]
        held += listed(conn.execute("SELECT doc, doc_keys, passage_keys FROM recent").fetchall())
        own = listed(conn.execute("SELECT rowid, doc_keys, passage_keys FROM docs").fetchall())
    assert _levels_in_order(path)
    return sorted(held), sorted(own)


def _levels_in_order(path: Path) -> list[int]:
    """Passage-key rows per level after checking that each level holds the documents of its
    rowid range (older ones further down, the recent ones newest) and that the counts and
    ``stats()`` say so."""
    with sqlite3.connect(path) as conn:
        counts = dict(conn.execute("SELECT name, n FROM counts"))
        bounds = [float("inf"), *(counts[f"level_{i}_upto"] for i in range(2, len(_KEY_LEVELS) + 1)), 0]
        recent_docs = [d for (d,) in conn.execute("SELECT doc FROM recent")]
        assert all(d > bounds[1] for d in recent_docs)
        sizes = []
        for i, table in enumerate(_KEY_LEVELS):
            rows = conn.execute(f"SELECT key, doc FROM {table}").fetchall()
            for key, doc in rows:
                # mid-move, the moving level still holds the not yet moved keys of the documents
                # counted in the next level already
                moving = counts["moving"] == i + 1 and key > counts["moved_key"]
                assert bounds[i + 2 if moving else i + 1] < doc <= bounds[i], (i, key, doc, bounds, counts)
            assert not recent_docs or not rows or max(d for _, d in rows) < min(recent_docs)
            sizes.append(len(rows))
            if i + 1 < len(_KEY_LEVELS):
                assert counts[f"level_{i + 1}"] == len(rows)
    with SyndicationIndex(path) as index:
        assert index.stats()["key_levels"] == sizes
    return sizes


@pytest.mark.parametrize("recent_keys, ratio, step", [(None, 8, None), (150, 8, None), (150, 1, None), (150, 1, 30)])
def test_replace_remove_and_evict_keep_key_rows_and_counts_exact(tmp_path, monkeypatch, recent_keys, ratio, step):
    from dedup import recent

    if recent_keys is not None:  # merged into the key tables every few documents
        monkeypatch.setattr(recent, "RECENT_KEYS", recent_keys)
    monkeypatch.setattr(store, "KEY_LEVEL_RATIO", ratio)  # 1: levels moved down at every merge or so
    if step is not None:  # and in steps of 30 keys, one per add: removals meet levels mid-move
        monkeypatch.setattr(store, "MOVE_STEP", step)
        monkeypatch.setattr(store, "MOVE_PACE", 0)
    path = tmp_path / "i.db"
    docs = synthetic_docs("k", 30, 11)
    with SyndicationIndex(path) as index:
        index.add_many(docs[:20], batch_size=7, added=100.0)
        index.add_many(docs[10:], batch_size=6, added=200.0)  # 10 replaced
        index.add(Document(docs[0].id, docs[25].text), added=300.0)  # replaced by another text
        assert index.remove(docs[1].id) and not index.remove(docs[1].id)
        assert index.evict(before=150.0) == 8
        stats = index.stats()
        assert stats["documents"] == len(index) == 21
    held, own = _key_rows(path)
    assert held == own and len(set(held)) == len(held)  # each key row once, in one place
    assert stats["doc_keys"] == sum(kind == "doc" for kind, _, _ in held)
    assert stats["passage_keys"] == sum(kind == "passage" for kind, _, _ in held)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM docs").fetchone()[0] == 21
        in_recent = conn.execute("SELECT coalesce(sum(length(doc_keys) + length(passage_keys)), 0) / 6 "
                                 "FROM recent").fetchone()[0]
        assert stats["recent_keys"] == in_recent
        merged = [conn.execute(f"SELECT count(*), max(key) FROM {table}").fetchone() for table in _KEY_LEVELS]
        assert (sum(n for n, _ in merged) > 0) == (recent_keys is not None)
        assert (merged[-1][0] > 0) == (ratio == 1 and step is None)
        # in steps, a move was still going on when the documents were removed and evicted
        assert (conn.execute("SELECT n FROM counts WHERE name = 'moving'").fetchone()[0] > 0) == (step is not None)
        assert all(top is None or top < 2**47 for _, top in merged)
    with SyndicationIndex(path) as index:  # the replaced text is found under its id, the old one is not
        assert [m.id for m in index.query(docs[25].text)] == sorted([docs[0].id, docs[25].id])
        assert index.query(docs[2].text) == []
        pending = index.stats()["recent_keys"]
        assert index.merge() == pending and index.stats()["recent_keys"] == 0 and index.merge() == 0
        assert [m.id for m in index.query(docs[25].text)] == sorted([docs[0].id, docs[25].id])
    assert _key_rows(path) == (held, own)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM recent").fetchone()[0] == 0


def test_merge_finishes_moves_in_steps_that_each_leave_a_consistent_index(tmp_path, monkeypatch):
    """merge() merges the recent keys, then finishes level moves one write transaction of
    MERGE_STEP keys at a time (other writers wait for a step, not a whole level): every step
    leaves the key rows and counts exact, and the last leaves no move going on or due."""
    from dedup import recent

    monkeypatch.setattr(recent, "RECENT_KEYS", 150)
    monkeypatch.setattr(store, "KEY_LEVEL_RATIO", 1)
    monkeypatch.setattr(store, "MOVE_STEP", 10**9)  # adds move nothing: merge() does it all
    monkeypatch.setattr(store, "MOVE_PACE", 0)
    monkeypatch.setattr(store, "MERGE_STEP", 40)
    path = tmp_path / "i.db"
    docs = synthetic_docs("s", 30, 13)
    steps: list[bool] = []
    step = store._merge_step

    def counted(conn: sqlite3.Connection) -> bool:
        held, own = _key_rows(path)  # what the step before committed, read by another connection
        assert held == own and len(set(held)) == len(held)
        due = step(conn)
        steps.append(due)
        return due

    monkeypatch.setattr(store, "_merge_step", counted)
    with SyndicationIndex(path) as index:
        index.add_many(docs, batch_size=3)
        before = [_scores(index.query(d.text)) for d in docs]
        index.merge()
        assert [_scores(index.query(d.text)) for d in docs] == before
    assert len(steps) > 3 and steps[-1] is False and all(steps[:-1])
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT n FROM counts WHERE name = 'moving'").fetchone()[0] == 0
        assert store._levels_over(conn) == []


def test_merging_recent_keys_changes_no_lookup(tmp_path, monkeypatch):
    """The newest documents' keys are searched in memory until merged into the key tables:
    wherever the merges fall, two handles of the file must find exactly what a file that never
    merges finds, after other writers' changes and their own."""
    from dedup import recent

    docs = synthetic_docs("m", 24, 5)
    seeds = [seed(p) for p in ("001", "002", "003")]
    probes = [Document(f"q{i}", d.text + "\n\n" + docs[(i + 7) % len(docs)].text) for i, d in enumerate(docs)]
    probes += [seed("000"), Document("q-seeds", seeds[0].text + "\n\n" + seeds[2].text)]
    steps = [
        lambda a, b: a.add_many(docs[:10], batch_size=3, added=100.0),
        lambda a, b: b.add(docs[10], added=100.0),
        lambda a, b: a.add(Document(docs[0].id, docs[11].text), added=300.0),  # replaced
        lambda a, b: b.remove(docs[1].id),
        lambda a, b: a.add_many(docs[12:20], batch_size=5, added=200.0),
        lambda a, b: b.check(docs[20], added=250.0),
        lambda a, b: a.evict(before=150.0),
        lambda a, b: b.remove(docs[20].id),  # the newest document
        lambda a, b: a.add_many([*seeds, *docs[21:]], added=400.0),
    ]

    merges: list[int] = []
    merge = SyndicationIndex._merge_recent

    def counted(conn: sqlite3.Connection, more: list[tuple[int, bytes, bytes]] | None = None) -> None:
        merges.append(1)
        merge(conn, more or [])

    monkeypatch.setattr(SyndicationIndex, "_merge_recent", staticmethod(counted))

    def run(path: Path, limit: int, ratio: int = store.KEY_LEVEL_RATIO, step: int | None = None) -> list[object]:
        monkeypatch.setattr(recent, "RECENT_KEYS", limit)
        monkeypatch.setattr(store, "KEY_LEVEL_RATIO", ratio)
        if step is not None:  # moves of levels in steps of that many keys, one per add
            monkeypatch.setattr(store, "MOVE_STEP", step)
            monkeypatch.setattr(store, "MOVE_PACE", 0)
        answers: list[object] = []
        with SyndicationIndex(path) as a, SyndicationIndex(path) as b:
            entries = a._entries(probes)
            for step in steps:
                step(a, b)
                levels.append(_levels_in_order(path))
                with sqlite3.connect(path) as conn:
                    moving.append(conn.execute("SELECT n FROM counts WHERE name = 'moving'").fetchone()[0])
                for handle in (a, b):
                    for e in entries:
                        hits = handle._transaction(partial(handle._lookup, entry=e), write=False)
                        answers.append(sorted(hits.items()))
                    answers.append([(m.id, m.relation) for m in handle.query(probes[-1])])
        assert _key_rows(path)[0] == _key_rows(path)[1]
        return answers

    levels: list[list[int]] = []
    moving: list[int] = []
    never = run(tmp_path / "never.db", 10**12)
    assert not merges and not any(any(sizes) for sizes in levels)
    often = run(tmp_path / "often.db", 400)
    assert often == never
    assert len(merges) >= 4  # merged several times along the way, by both handles
    assert any(hits for hits in never)
    # levels bounded at 200 keys: keys moved down to the last level, held at each level on the way
    levels.clear()
    assert run(tmp_path / "levels.db", 200, ratio=2) == never
    assert all(any(sizes[i] for sizes in levels) for i in range(len(_KEY_LEVELS)))
    # moves in steps of 120 keys, one per add: lookups mid-move find what they find without moves
    levels.clear()
    moving.clear()
    assert run(tmp_path / "steps.db", 200, ratio=1, step=120) == never
    assert all(any(sizes[i] for sizes in levels) for i in range(len(_KEY_LEVELS)))
    assert 1 in moving and 2 in moving  # steps left each level mid-move at times


def test_a_common_passage_is_left_out_whether_its_keys_are_merged_or_recent(tmp_path, monkeypatch):
    """A passage key held by max_bucket documents or more links nothing: the count spans the
    key tables and the recent documents."""
    from dedup import recent

    config = ScanConfig(max_bucket=10)
    copies = [Document(f"c{i}", synthetic_docs("c", 1, 9)[0].text) for i in range(12)]
    probe = Document("q", copies[0].text)
    answers = []
    for limit in (10**12, None):
        with SyndicationIndex(tmp_path / f"{limit}.db", config) as index:
            index.add(copies[0])
            keys = index.stats()["recent_keys"]
            # None: the first ten copies merged into the key tables, the last two recent
            monkeypatch.setattr(recent, "RECENT_KEYS", limit or 10 * keys)
            index.add_many(copies[1:10])
            index.add_many(copies[10:])
            assert index.stats()["recent_keys"] == (12 * keys if limit else 2 * keys)
            entry = index._entries([probe])[0]
            hits = index._transaction(partial(index._lookup, entry=entry), write=False)
            answers.append(sorted(hits.items()))
    assert answers[0] == answers[1]
    assert all(p == 0 for _, (_, p) in answers[0])  # every passage key is common here


def test_a_merged_bucket_is_sized_up_to_max_bucket_only_and_decides_alike(tmp_path, monkeypatch):
    """The key tables tell a passage bucket's size up to max_bucket rows: a bucket of 9
    documents (over passage_max_bucket, under max_bucket) links its newest document only, one
    of max_bucket and one of more link nothing, all merged into the key tables."""
    from dedup import recent

    config = ScanConfig(max_bucket=10)
    text = synthetic_docs("c", 1, 9)[0].text
    monkeypatch.setattr(recent, "RECENT_KEYS", 1)  # every add merges its keys at once
    for n in (9, 10, 13):
        with SyndicationIndex(tmp_path / f"{n}.db", config) as index:
            index.add_many([Document(f"c{i}", text) for i in range(n)], batch_size=1)
            assert index.stats()["recent_keys"] == 0
            entry = index._entries([Document("q", text)])[0]
            hits = index._transaction(partial(index._lookup, entry=entry), write=False)
            passage = {doc: p for doc, (_, p) in hits.items() if p}
            newest = max(hits)
            assert passage == ({newest: len(entry.passage_keys)} if n == 9 else {}), n


def _as_format_5(path: Path) -> None:
    """Turn an index file into what format 5 kept: every merged passage key in one table,
    ``passage_keys``, no levels."""
    with sqlite3.connect(path) as conn:
        for table in _KEY_LEVELS[:-1]:
            conn.execute(f"INSERT INTO {_KEY_LEVELS[-1]} SELECT * FROM {table}")
            conn.execute(f"DROP TABLE {table}")
        conn.execute(f"ALTER TABLE {_KEY_LEVELS[-1]} RENAME TO passage_keys")
        conn.execute("DELETE FROM counts WHERE name LIKE 'level%' OR name LIKE 'mov%'")
        conn.execute("DROP TABLE recent_removed")
        _drop_key_filter(conn)
        conn.execute("UPDATE meta SET value = '5' WHERE key = 'format'")


def _drop_key_filter(conn: sqlite3.Connection) -> None:
    """What format 10 added: the key filter, and the whole-text keys' table renamed."""
    conn.execute("ALTER TABLE text_keys RENAME TO doc_keys")
    conn.execute("DROP TABLE key_filter")
    conn.execute("DROP TABLE key_filter_next")
    conn.execute("DELETE FROM counts WHERE name LIKE 'filter%'")


def test_a_format_5_file_is_upgraded_in_place_and_answers_alike(tmp_path, monkeypatch):
    """Format 5 kept every merged key in ``doc_keys`` and ``passage_keys``: opened, the file
    gains empty key levels above them, answers as before, and its documents' keys are found
    where they are when removed, replaced or evicted. Its passage-key table is renamed: a
    handle of an older dedup fails on it instead of writing keys where no lookup reads them."""
    from dedup import recent

    monkeypatch.setattr(recent, "RECENT_KEYS", 300)
    docs = synthetic_docs("u", 20, 7)
    path = tmp_path / "v5.db"
    with SyndicationIndex(path) as index:
        index.add_many(docs[:15], batch_size=4, added=100.0)
        before = [_scores(index.query(d)) for d in docs]
    _as_format_5(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM passage_keys").fetchone()[0] > 0
        assert conn.execute("SELECT count(*) FROM recent").fetchone()[0] > 0
    with SyndicationIndex(path) as index:
        assert index.stats()["format"] == FORMAT_VERSION
        assert [_scores(index.query(d)) for d in docs] == before
        assert index.remove(docs[0].id) and index.remove(docs[14].id)  # a merged one, a recent one
        index.add_many([Document(docs[1].id, docs[16].text), *docs[15:]], batch_size=2, added=200.0)
        assert index.evict(before=150.0) == 12
        assert len(index) == 6
    held, own = _key_rows(path)
    assert held == own and len(set(held)) == len(held)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()[0] == str(FORMAT_VERSION)
        with pytest.raises(sqlite3.OperationalError, match="no such table"):
            conn.execute("SELECT 1 FROM passage_keys")


def test_a_format_5_file_opened_under_another_configuration_is_refused_and_left_as_it_was(tmp_path):
    path = tmp_path / "v5.db"
    with SyndicationIndex(path) as index:
        index.add_many(synthetic_docs("u", 3, 7))
    _as_format_5(path)
    with pytest.raises(IncompatibleIndexError, match="ngram"):
        SyndicationIndex(path, ScanConfig(ngram=4))
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()[0] == "5"
    with SyndicationIndex(path) as index:  # upgraded once accepted
        assert index.stats()["format"] == FORMAT_VERSION and len(index) == 3


def _format_7_body(body: bytes) -> bytes:
    """A body as format 7 wrote it: the text and all features in one zlib stream."""
    text, features = store.decode_body(body)
    raw = text.encode("utf-8")
    return zlib.compress(len(raw).to_bytes(4, "little") + raw + features.to_bytes(), 1)


def test_a_body_keeps_its_shingles_ahead_of_the_zlib_stream_and_format_7_bodies_stay_readable():
    doc = seed("001")
    with SyndicationIndex(":memory:") as index:
        features = index._entries([doc])[0].features
    body = store.encode_body(doc.text, features)
    text, decoded = store.decode_body(body)
    assert text == doc.text and decoded.digest() == features.digest()
    assert np.array_equal(store.decode_shingles(body), features.shingles)
    # the hashes are read without decompressing: a body whose stream is cut still gives them
    assert np.array_equal(store.decode_shingles(body[:5 + 4 * len(features.shingles)]), features.shingles)
    old = _format_7_body(body)
    assert old[0] == 0x78 and np.array_equal(store.decode_shingles(old), features.shingles)
    text, decoded = store.decode_body(old)
    assert text == doc.text and decoded.digest() == features.digest()


def test_a_format_7_file_is_upgraded_and_answers_alike(tmp_path):
    """Format 7 bodies are one zlib stream: a file of that format opens, answers both
    verification modes as before, and takes new documents in the new layout beside the old."""
    docs = [seed("000"), seed("001"), seed("002"), seed("003")]
    path = tmp_path / "v7.db"
    with SyndicationIndex(path) as index:
        index.add_many(docs[:3])
        before = {v: [_scores(index.query(d, verify=v)) for d in docs] for v in ("full", "shingles")}
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT rowid, body FROM docs").fetchall()
        conn.executemany("UPDATE docs SET body = ? WHERE rowid = ?", [(_format_7_body(b), r) for r, b in rows])
        conn.execute("DROP TABLE recent_removed")
        _drop_key_filter(conn)
        conn.execute("UPDATE meta SET value = '7' WHERE key = 'format'")
    with SyndicationIndex(path) as index:
        assert index.stats()["format"] == FORMAT_VERSION == 10
        assert {v: [_scores(index.query(d, verify=v)) for d in docs] for v in ("full", "shingles")} == before
        assert index.get(docs[1].id).text == docs[1].text
        assert index.check(docs[3]).status != "new"  # a rewrite of the stored story, verified on old bodies
        assert index.remove(docs[0].id)
    with sqlite3.connect(path) as conn:
        firsts = sorted(b[0] for (b,) in conn.execute("SELECT body FROM docs"))
    assert firsts == [1, 0x78, 0x78]


def test_removing_a_recent_document_is_logged_not_read_again_and_format_8_files_gain_the_log(tmp_path):
    """Format 9 logs the removal of a document still in the recent table (a re-fetched page
    replaced) instead of making every handle read the whole table again: handles leave the
    removed documents out, and a format 8 file (no log) is upgraded in place."""
    docs = synthetic_docs("g", 8, 41)
    path = tmp_path / "v8.db"
    with SyndicationIndex(path) as index:
        index.add_many(docs[:6])
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE recent_removed")
        _drop_key_filter(conn)
        conn.execute("UPDATE meta SET value = '8' WHERE key = 'format'")
    with SyndicationIndex(path) as a, SyndicationIndex(path) as b:
        assert a.stats()["format"] == FORMAT_VERSION
        before = [_scores(b.query(d.text)) for d in docs]
        assert [m[0] for m in before[1]] == [docs[1].id] and before[7] == []
        a.remove(docs[1].id)
        a.add(Document(docs[2].id, docs[7].text))  # a re-fetched page with new text replaces a recent one
        b.check(Document("new", docs[3].text))
        with sqlite3.connect(path) as conn:
            assert conn.execute("SELECT n FROM counts WHERE name = 'recent_generation'").fetchone()[0] == 0
            logged = [store.unpacked_keys(blob).tolist() for (blob,) in conn.execute("SELECT docs FROM recent_removed")]
        assert logged == [[2], [3]]  # the rowids of docs[1] and docs[2]'s first version
        for handle in (a, b):
            answers = [_scores(handle.query(d.text)) for d in docs]
            assert answers[1] == [] and [m[0] for m in answers[7]] == [docs[2].id]
            assert [m[0] for m in answers[3]] == ["new", docs[3].id]
            with SyndicationIndex(path) as fresh:
                assert answers == [_scores(fresh.query(d.text)) for d in docs]
        a.merge()  # the merge empties the log with the recent table
        with sqlite3.connect(path) as conn:
            assert conn.execute("SELECT count(*) FROM recent_removed").fetchone()[0] == 0
        assert [_scores(b.query(d.text)) for d in docs] == answers


def test_a_batch_of_checks_moves_keys_once_at_its_end(tmp_path, monkeypatch):
    """A move step per write transaction: check_many checks a batch in one transaction, so it
    takes one step sized by the whole batch, not one per document."""
    calls: list[int | None] = []
    move = store._move_levels

    def counted(conn: sqlite3.Connection, budget: int | None) -> None:
        calls.append(budget)
        move(conn, budget)

    monkeypatch.setattr(store, "_move_levels", counted)
    monkeypatch.setattr(store, "MOVE_STEP", 1)
    docs = synthetic_docs("p", 12, 3)
    with SyndicationIndex(tmp_path / "i.db") as index:
        index.check_many(docs, batch_size=6)
        keys = index.stats()
    assert len(calls) == 2
    assert sum(calls) == store.MOVE_PACE * (keys["doc_keys"] + keys["passage_keys"])


@pytest.mark.parametrize("version", ["1", "6"])
def test_an_older_format_is_refused_with_the_version_named(tmp_path, version):
    """Format 6 was an intermediate layout of format 7's day (whole-text keys in levels, or no
    move counts)."""
    path = tmp_path / "old.db"
    SyndicationIndex(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'format'", (version,))
    with pytest.raises(IncompatibleIndexError,
                       match=f"format version '{version}'.*reads version {FORMAT_VERSION} only"):
        SyndicationIndex(path)


def _scores(matches: list[Match]) -> list[tuple[str, str, dict[str, float]]]:
    return [(m.id, m.relation, dict(m.scores)) for m in matches]


def test_frequency_cache_follows_other_writers_and_own_writes(tmp_path):
    """A handle keeps document frequencies between queries; what it answers must stay what a
    fresh handle answers after another process's writes and after its own."""
    path = tmp_path / "i.db"
    other = [Document(f"x-{i}", seed("004").text + f"\n\nUpdate {i}.") for i in range(3)]
    with SyndicationIndex(path) as a, SyndicationIndex(path) as b:
        a.add_many([seed("001"), seed("002"), seed("003")])
        before = _scores(a.query(seed("000")))
        assert before
        b.add_many(other)  # another connection: df of shared words changes
        after = _scores(a.query(seed("000")))
        with SyndicationIndex(path) as fresh:
            assert after == _scores(fresh.query(seed("000")))
        assert after != before  # the weights did move
        a.add(Document("y", seed("001").text + "\n\nA new last line."))  # own write
        a.remove("x-0")
        own = _scores(a.query(seed("000")))
        with SyndicationIndex(path) as fresh:
            assert own == _scores(fresh.query(seed("000")))
            assert len(fresh) == len(a) == 6


@pytest.mark.parametrize("recent_keys", [None, 120])
def test_recent_keys_a_check_takes_as_written_stay_what_the_file_holds(tmp_path, monkeypatch, recent_keys):
    """A check's handle takes the recent-table rows it writes as read (no read back): checks
    from two handles, interleaved, replacing ids and (with 120) merging the recent keys every
    few documents, answer as a fresh handle does after each step."""
    from dedup import recent

    if recent_keys is not None:
        monkeypatch.setattr(recent, "RECENT_KEYS", recent_keys)
    path = tmp_path / "i.db"
    story = [Document(f"s-{i}", seed("003").text + f"\n\nUpdate {i}.") for i in range(6)]
    docs = synthetic_docs("r", 12, 31)
    with SyndicationIndex(path) as a, SyndicationIndex(path) as b:
        steps = [(a, story[0]), (b, story[1]), (a, story[2]), (a, docs[0]), (b, Document("s-0", story[3].text)),
                 (a, story[4]), (b, docs[1]), (a, Document("s-2", docs[2].text)), (a, story[5])]
        for i, (handle, doc) in enumerate(steps):
            handle.check(doc, added=float(i))
            for other in (a, b):
                with SyndicationIndex(path) as fresh:
                    for q in (story[5].text, docs[2].text, docs[0].text):
                        assert _scores(other.query(q)) == _scores(fresh.query(q))
        a.check_many(docs[3:], batch_size=4)
        with SyndicationIndex(path) as fresh:
            for q in (story[0].text, docs[5].text, docs[11].text):
                assert _scores(a.query(q)) == _scores(b.query(q)) == _scores(fresh.query(q))
            assert len(fresh) == 16  # s-0, s-1, s-2, s-4, s-5 and r-0..r-11 but r-2 (its text is s-2's)
    with sqlite3.connect(path) as conn:
        merged = conn.execute("SELECT count(*) FROM text_keys").fetchone()[0]
    assert (merged > 0) == (recent_keys is not None)


def test_whole_text_only_index_finds_copies_not_rewrites(tmp_path):
    lean = ScanConfig(passage_lsh=(0, 3))
    with SyndicationIndex(tmp_path / "i.db", lean) as index:
        index.add_many([seed("001"), seed("002"), seed("003")])
        assert index.stats()["passage_keys"] == 0 and index.stats()["doc_keys"] > 0
        copy = Document("copy", seed("003").text + "\n\nOne more line at the end.")
        assert [m.id for m in index.query(copy)] == [seed("003").id]
        assert index.query(seed("000")) == []  # a rewrite: found by passage keys only
    with pytest.raises(IncompatibleIndexError, match="passage_lsh"):
        SyndicationIndex(tmp_path / "i.db", ScanConfig())


def test_frequency_cache_forgets_a_rolled_back_batch(tmp_path):
    path = tmp_path / "i.db"
    with SyndicationIndex(path) as index:
        index.add_many([seed("001"), seed("002"), seed("003")])
        with sqlite3.connect(path) as conn:  # a batch of f-* documents fails after its counts were staged
            conn.execute("CREATE TRIGGER fail BEFORE INSERT ON languages "
                         "WHEN (SELECT count(*) FROM docs WHERE id LIKE 'f-%') > 0 "
                         "BEGIN SELECT RAISE(ABORT, 'boom'); END")
        index.query(seed("000"))  # fills the cache (after the trigger: no other writer since)
        with pytest.raises(StoreError, match="boom"):
            index.add_many([Document(f"f-{i}", seed("001").text + f"\n\nVariant {i}.") for i in range(3)])
        index.add(Document("z", seed("004").text))  # commits: a stale staged count would land now
        with SyndicationIndex(path) as fresh:
            assert _scores(index.query(seed("000"))) == _scores(fresh.query(seed("000")))
            assert len(index) == len(fresh) == 4


def _true_frequencies(path: Path) -> dict[tuple[str, int], int]:
    """Document frequencies counted from the stored documents themselves."""
    from dedup.store import decode_body, word_ids

    counts: dict[tuple[str, int], int] = {}
    with sqlite3.connect(path) as conn:
        for language, body in conn.execute("SELECT language, body FROM docs"):
            for w in word_ids(decode_body(body)[1]).tolist():
                counts[(language, w)] = counts.get((language, w), 0) + 1
    return counts


def _answered_frequencies(index: SyndicationIndex, words: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
    """What ``index`` answers for ``words`` (its cache and the file, as a query reads them)."""
    import numpy as np

    def work(conn: sqlite3.Connection) -> dict[tuple[str, int], int]:
        index._cache.sync(conn)
        out = {}
        for language in sorted({lang for lang, _ in words}):
            ids = np.unique(np.array([w for lang, w in words if lang == language], dtype=np.int64))
            out.update(zip(((language, w) for w in ids.tolist()),
                           index._cache.frequencies(conn, language, ids).tolist(), strict=True))
        return out

    return index._transaction(work, write=False)


def test_document_frequency_log_folds_exactly(tmp_path, monkeypatch):
    """Counts live in a table plus a log of added and removed documents, folded in batches:
    whatever the fold points, two handles must answer the counts of the stored documents."""
    from dedup import store

    monkeypatch.setattr(store, "DF_FOLD", 4)
    path = tmp_path / "i.db"
    docs = synthetic_docs("f", 24, 5)
    with SyndicationIndex(path) as a, SyndicationIndex(path) as b:
        seen: set[tuple[str, int]] = set()
        steps = [
            lambda: a.add_many(docs[:10], batch_size=3, added=100.0),
            lambda: b.add(docs[10], added=100.0),
            lambda: a.add(Document(docs[0].id, docs[11].text), added=300.0),  # replaced
            lambda: b.remove(docs[1].id),
            lambda: a.add_many(docs[12:20], batch_size=5, added=200.0),
            lambda: b.evict(before=150.0),
            lambda: a.add_many([seed("001"), seed("003")], added=400.0),  # another language
        ]
        generations = set()
        for step in steps:
            step()
            truth = _true_frequencies(path)
            seen |= set(truth)
            for handle in (a, b):
                answered = _answered_frequencies(handle, sorted(seen))
                assert answered == {w: truth.get(w, 0) for w in sorted(seen)}
                assert handle.stats()["words"] == len(truth)
            with sqlite3.connect(path) as conn:
                generations.add(conn.execute("SELECT n FROM counts WHERE name = 'df_generation'").fetchone()[0])
        assert len(generations) > 2  # the log was folded several times along the way


def test_add_many_on_worker_processes_stores_what_one_process_stores(tmp_path):
    docs = [seed(p) for p in ("001", "002", "003", "004")] + synthetic_docs("w", 9, 3)
    stored = {}
    for jobs in (1, 2):
        path = tmp_path / f"jobs{jobs}.db"
        progress: list[int] = []
        with SyndicationIndex(path) as index:
            given = index.add_many(docs, batch_size=3, added=50.0, jobs=jobs,
                                   progress=lambda stage, done, total, seen=progress: seen.append(done))
            stats = index.stats()
            matches = _scores(index.query(seed("000"))), _scores(index.query(docs[7].text))
        with sqlite3.connect(path) as conn:
            rows = conn.execute("SELECT id, added, language, body, doc_keys, passage_keys FROM docs "
                                "ORDER BY rowid").fetchall()
        assert given == len(docs) and progress == [3, 6, 9, 12, 13]
        stored[jobs] = (rows, {k: stats[k] for k in ("documents", "doc_keys", "passage_keys", "words", "languages")},
                        matches, _true_frequencies(path))
    assert stored[2] == stored[1]
    assert stored[1][2][0]  # the seeds' story is found


def _batch_inputs() -> tuple[list[Document], list[str | Document]]:
    """Documents to check (copies of one story among them, and an id given twice) and
    queries (texts, and documents whose id is stored)."""
    story = seed("003")
    docs = [seed("001"), Document("copy-1", story.text), *synthetic_docs("m", 5, 11), seed("002"),
            Document("copy-2", story.text + " Une phrase de plus a la fin."), seed("004"),
            Document("m-2", seed("000").text), Document("copy-3", story.text)]
    queries: list[str | Document] = [story.text, seed("000"), Document("copy-2", story.text), docs[3].text,
                                     "Rien a voir avec quoi que ce soit.", seed("004")]
    return docs, queries


def _verdicts(verdicts: list[Verdict]) -> list[dict]:
    return [v.to_dict() for v in verdicts]


@pytest.mark.parametrize("jobs", [1, 2])
def test_check_many_and_query_many_answer_as_one_at_a_time(tmp_path, jobs):
    docs, queries = _batch_inputs()
    with SyndicationIndex(tmp_path / "one.db") as one, SyndicationIndex(tmp_path / "many.db") as many:
        expected = [one.check(d, added=50.0) for d in docs]
        seen: list[tuple[str, int]] = []
        got = many.check_many(docs, added=50.0, batch_size=4, jobs=jobs,
                              progress=lambda stage, done, total: seen.append((stage, done)))
        assert _verdicts(got) == _verdicts(expected)
        assert seen == [("check", 4), ("check", 8), ("check", 12)]
        # copies of one story in one batch find each other; a repeated id replaced the first
        assert [v.status for v in got].count("new") < len(docs) - 3
        assert got[-1].status == "duplicate" and {m.id for m in got[-1].matches} >= {"copy-1", "copy-2"}
        assert len(many) == len(one) == len(docs) - 1
        for limit, candidates in ((10, None), (1, 1)):
            answers = many.query_many(queries, limit=limit, candidates=candidates, batch_size=4, jobs=jobs)
            assert [_scores(m) for m in answers] == [
                _scores(one.query(q, limit=limit, candidates=candidates)) for q in queries]
        answers = many.query_many(queries, jobs=jobs)
        assert "copy-2" not in [m.id for m in answers[2]]  # a stored id never matches itself
        assert {m.id for m in answers[2] if m.relation == "duplicate"} == {"copy-1", "copy-3"}
        assert answers[4] == []
        assert many.query_many([], jobs=jobs) == [] and many.check_many([], jobs=jobs) == []


def _relations(answers: list[list[Match]]) -> list[list[tuple[str, str]]]:
    return [[(m.id, m.relation) for m in matches] for matches in answers]


def test_query_many_workers_open_the_file_with_the_handles_settings(tmp_path, monkeypatch):
    """With jobs=2 each worker opens the index itself: the same file after the caller changed
    directory, under the handle's query-time settings (not the stored ones), aligning there."""
    docs, queries = _batch_inputs()
    monkeypatch.chdir(tmp_path)
    with SyndicationIndex("rel.db") as index:
        index.add_many(docs, added=50.0)
    strict = ScanConfig(passage_min_hits=50)  # rewrites found by passages alone are then missed
    with SyndicationIndex("rel.db", strict) as index, SyndicationIndex("rel.db") as default:
        os.mkdir("elsewhere")
        monkeypatch.chdir("elsewhere")
        answers = index.query_many(queries, batch_size=2, jobs=2)
        assert _relations(answers) == _relations([index.query(q) for q in queries])
        assert _relations(answers) != _relations(default.query_many(queries, jobs=2))
        aligned = default.query_many(queries[:2], align=True, jobs=2)
        assert [[m.to_dict() for m in a] for a in aligned] == [
            [m.to_dict() for m in default.query(q, align=True)] for q in queries[:2]]
        assert all(m.alignment is not None for m in aligned[0])


_OTHER_BLAS = """
import json, os, sys
from click.testing import CliRunner
from dedup.cli.index import index

def main():
    db, folder, *others = sys.argv[1:]
    runner = CliRunner()
    assert runner.invoke(index, ["add", "--db", db, folder]).exit_code == 0
    query = ["query", "--db", db, *others, folder, "--format", "json"]
    here = json.loads(runner.invoke(index, query).output)
    os.environ["OPENBLAS_NUM_THREADS"] = "1"  # the workers' BLAS adds up in one thread
    workers = json.loads(runner.invoke(index, [*query, "--jobs", "2", "--batch-size", "2"]).output)
    print(json.dumps([here == workers, sum(len(r["matches"]) for r in here["results"])]))

if __name__ == "__main__":
    main()
"""


def test_workers_with_another_blas_thread_count_answer_alike(tmp_path):
    """Word weights lie on a grid where float64 sums are exact: a pair verifies to the same bits
    whatever order BLAS adds in (its thread count, the CPU's kernel), so worker processes
    (or hosts) set up otherwise than this one answer alike. Run in a fresh interpreter: this
    one's BLAS and worker server may be set up already."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    for prefix in ("001", "002", "003"):
        doc = seed(prefix)
        (folder / doc.id).write_text(doc.text, encoding="utf-8")
    others = [str(p) for p in sorted(SEEDS.glob("00[04]_*.txt"))]
    if (os.cpu_count() or 1) < 2:
        pytest.skip("one CPU: BLAS would add up in one thread here too, so the test could not fail")
    script = tmp_path / "other_blas.py"
    script.write_text(_OTHER_BLAS, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    env["OPENBLAS_NUM_THREADS"] = "2"  # here; the script's workers get 1
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(ROOT), env.get("PYTHONPATH"))))  # this checkout
    done = subprocess.run([sys.executable, str(script), str(tmp_path / "i.db"), str(folder), *others], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    same, matches = json.loads(done.stdout)
    assert matches > 5 and same


def test_query_many_on_an_index_workers_cannot_open(tmp_path):
    """An in-memory index is answered in this process (its batches prepared on the workers);
    a file gone since the handle was opened is an error of the call, not a hang."""
    docs, queries = _batch_inputs()
    with SyndicationIndex(":memory:") as memory, SyndicationIndex(tmp_path / "f.db") as on_file:
        memory.add_many(docs, added=50.0)
        on_file.add_many(docs, added=50.0)
        assert _relations(memory.query_many(queries, batch_size=2, jobs=2)) == _relations(
            on_file.query_many(queries, batch_size=2, jobs=2))
        for name in os.listdir(tmp_path):
            os.remove(tmp_path / name)
        with pytest.raises(StoreError, match="no index at"):
            on_file.query_many(queries, jobs=2)
    with pytest.raises(StoreError, match="closed"):
        on_file.query_many(queries, jobs=2)


def test_matches_and_verdicts_pickle():
    """Answers cross process boundaries (query_many on workers): scores come back read-only."""
    import pickle

    match = Match("a", "rewrite", {"jaccard": 0.5}, "why", 12.0, url="u", evidence=({"kind": "copied"},),
                  alignment={"verdict": "rewrite"})
    again = pickle.loads(pickle.dumps(match))
    assert again == match and again.to_dict() == match.to_dict()
    with pytest.raises(TypeError):
        again.scores["jaccard"] = 1.0  # type: ignore[index]
    verdict = Verdict.from_matches([match])
    assert pickle.loads(pickle.dumps(verdict)) == verdict


def test_a_failed_batch_of_checks_leaves_no_trace_in_the_handle(tmp_path, monkeypatch):
    """A batch of checks is one transaction, each check reading the rows of those before it:
    when it fails, the handle forgets what it read, and finds what is committed afterwards."""
    story = seed("003").text
    docs = synthetic_docs("f", 5, 21)
    with SyndicationIndex(tmp_path / "i.db") as index:
        insert = index._insert
        calls = []

        def failing(conn, entries, **options):  # type: ignore[no-untyped-def]
            calls.append(len(entries))
            if len(calls) == 3:
                raise OSError("disk gone")
            insert(conn, entries, **options)

        monkeypatch.setattr(index, "_insert", failing)
        with pytest.raises(OSError):
            index.check_many(docs)
        monkeypatch.setattr(index, "_insert", insert)
        assert len(index) == 0
        assert index.check(Document("s1", story)).status == "new"
        assert [m.id for m in index.query(story)] == ["s1"]
        assert index.check_many([Document("s2", story)])[0].best.id == "s1"
        with SyndicationIndex(tmp_path / "i.db") as fresh:
            assert [m.id for m in fresh.query(story)] == ["s2", "s1"]


def test_batch_calls_refuse_bad_arguments_before_preparing_anything(tmp_path):
    docs = synthetic_docs("b", 3, 5)
    with SyndicationIndex(tmp_path / "i.db") as index:
        for call in (index.query_many, index.check_many):
            with pytest.raises(ConfigError, match="limit"):
                call(docs, limit=0)
            with pytest.raises(ConfigError, match="candidates"):
                call(docs, candidates=0)
            with pytest.raises(ConfigError, match="batch_size"):
                call(docs, batch_size=0)
        with pytest.raises(TypeError, match="not one str"):
            index.query_many("one text, not a list of them")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="not one Document"):
            index.check_many(docs[0])  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            index.query_many([3])  # type: ignore[list-item]
        with pytest.raises(TypeError):
            index.check_many(["a text, not a document"])  # type: ignore[list-item]
        assert len(index) == 0


def test_summed_log_sums_the_signs_of_the_rows_holding_each_word():
    """The document-frequency log folded into the table: +1 per added document holding a
    word, -1 per removed one, words whose changes cancel out left out."""
    from collections import Counter

    import numpy as np

    from dedup.store import summed_log

    rng = np.random.default_rng(11)
    for _ in range(20):
        rows = [(int(rng.choice([1, -1])), np.unique(rng.integers(-30, 30, size=rng.integers(0, 15))))
                for _ in range(rng.integers(0, 12))]
        truth: Counter[int] = Counter()
        for sign, ids in rows:
            for w in ids.tolist():
                truth[w] += sign
        words, changes = summed_log(rows)
        assert words.tolist() == sorted(w for w, n in truth.items() if n)
        assert changes.tolist() == [truth[w] for w in words.tolist()]


# -- verify="shingles" -----------------------------------------------------------------


def _trimmed(doc: Document, new_id: str) -> Document:
    """The document without its last two sentences (a trimmed syndicated copy)."""
    return Document(new_id, doc.text.rsplit(". ", 2)[0] + ".")


def test_shingle_verification_follows_the_document_level_rules():
    config = ScanConfig()
    verify = shingle_verification
    a = np.arange(100, dtype=np.uint32)
    assert verify(a, np.arange(80, dtype=np.uint32), config).relation == "duplicate"  # Jaccard 0.8
    assert verify(a, np.arange(79, dtype=np.uint32), config).relation == "syndicated"  # containment 1
    shifted = verify(a, np.arange(40, 140, dtype=np.uint32), config)  # 60 shared: Jaccard 0.43
    assert shifted.relation == "syndicated" and shifted.scores == {"jaccard": 0.4286, "containment": 0.6}
    # Jaccard from doc_threshold with containment under 0.6 (only a doc_threshold under ~0.43
    # leaves room for it): partial
    assert verify(a, np.arange(42, 142, dtype=np.uint32), ScanConfig(doc_threshold=0.4)).relation == "partial"
    assert verify(a, np.arange(42, 142, dtype=np.uint32), ScanConfig(doc_threshold=0.45)).relation is None
    unrelated = verify(a, np.arange(50, 160, dtype=np.uint32), config)
    assert not unrelated.related and unrelated.reason.startswith("not related: shingle Jaccard 0.31, containment 0.50")
    assert verify(a, np.empty(0, np.uint32), config).relation is None
    assert verify(a, a, config).matches == ()


def test_shingles_mode_matches_copies_as_full_mode_does_with_its_scores(tmp_path):
    story = seed("003")
    with SyndicationIndex(tmp_path / "i.db") as index:
        index.add_many([seed("001"), seed("002"), story, seed("004")])
        for query in (Document("copy", story.text + "\n\nOne more line."), _trimmed(story, "trim")):
            full = index.query(query)
            quick = index.query(query, verify="shingles")
            # full also finds the story's rewrites (001, 002), after the copy
            assert [m.id for m in quick] == [story.id] == [m.id for m in full[:1]]
            assert quick[0].relation == full[0].relation
            # the same Jaccard and containment, computed from the stored n-gram hashes alone
            assert dict(quick[0].scores) == {k: full[0].scores[k] for k in ("jaccard", "containment")}
            assert quick[0].evidence == () and "sentences not compared" in quick[0].reason
            assert quick[0].url == story.url and quick[0].added == full[0].added
        assert index.query(story, verify="shingles") == []  # its own id
        assert index.query("Rien a voir.", verify="shingles") == []


def test_shingles_mode_misses_the_rewrites_full_mode_finds(tmp_path):
    with SyndicationIndex(tmp_path / "i.db") as index:
        index.add_many([seed("001"), seed("002"), seed("003")])
        rewrites = {m.id for m in index.query(seed("000")) if m.relation in ("rewrite", "partial")}
        assert rewrites  # the passage keys bring the story's other versions...
        quick = {m.id for m in index.query(seed("000"), verify="shingles")}
        assert not rewrites & quick  # ...which share too few n-grams to pass on n-grams alone


def test_check_and_batches_with_shingles_answer_as_one_at_a_time(tmp_path):
    docs, queries = _batch_inputs()
    with SyndicationIndex(tmp_path / "one.db") as one, SyndicationIndex(tmp_path / "many.db") as many:
        expected = [one.check(d, added=50.0, verify="shingles") for d in docs]
        got = many.check_many(docs, added=50.0, batch_size=4, verify="shingles")
        assert _verdicts(got) == _verdicts(expected)
        assert got[-1].status == "duplicate" and {m.id for m in got[-1].matches} >= {"copy-1", "copy-2"}
        assert len(many) == len(docs) - 1
        for jobs in (1, 2):
            answers = many.query_many(queries, verify="shingles", batch_size=4, jobs=jobs)
            assert [_scores(m) for m in answers] == [_scores(one.query(q, verify="shingles")) for q in queries]
        # full and shingles agree on what both see: copies of one story
        assert {m.id for m in many.query(queries[0], verify="shingles")} >= {"copy-1", "copy-2", "copy-3"}


def test_verify_is_checked_before_any_work(tmp_path):
    docs = synthetic_docs("v", 2, 3)
    with SyndicationIndex(tmp_path / "i.db") as index:
        for call in (index.query, index.check):
            with pytest.raises(ConfigError, match="verify must be one of 'full', 'shingles'"):
                call(docs[0], verify="fast")  # type: ignore[arg-type]
            with pytest.raises(ConfigError, match="align=True needs verify='full'"):
                call(docs[0], align=True, verify="shingles")
        for many in (index.query_many, index.check_many):
            with pytest.raises(ConfigError, match="verify"):
                many(docs, verify=None)  # type: ignore[arg-type]
        assert len(index) == 0


def test_shingles_mode_bounds_candidates_and_ranks_by_share(tmp_path):
    rng = random.Random(3)
    words = vocabulary()
    base = [synthetic(rng, words, 1) for _ in range(40)]
    extra = [synthetic(rng, words, 1) for _ in range(40)]
    query = Document("q", " ".join(base))
    with SyndicationIndex(tmp_path / "i.db") as index:
        # all three hold most of the query's text, so all are syndicated: the one holding more
        # of it first, then the closer copy (higher Jaccard) before the newer one
        index.add(Document("more", " ".join(base + extra[:20])), added=10.0)
        index.add(Document("larger", " ".join(base + extra)), added=20.0)
        index.add(Document("less", " ".join(base[:34] + extra[20:26])), added=30.0)
        found = index.query(query, verify="shingles")
        assert [(m.id, m.relation) for m in found] == [("more", "syndicated"), ("larger", "syndicated"),
                                                         ("less", "syndicated")]
        assert found[0].scores["containment"] == found[1].scores["containment"] == 1.0
        assert found[0].scores["jaccard"] > found[1].scores["jaccard"]
        assert found[1].scores["containment"] > found[2].scores["containment"]
    story = seed("002")
    loaded: list[int] = []
    with SyndicationIndex(tmp_path / "copies.db") as index:
        index.add_many([Document(f"c{i:02d}", story.text) for i in range(6)])
        _count_loads(index, "_load_shingles", loaded)
        assert [m.id for m in index.query(story.text, candidates=2, verify="shingles")] == ["c04", "c05"]
        assert loaded[-1] == 2
        # its own stored version (the newest) is loaded in one more place and takes no slot
        again = Document("c05", story.text)
        assert [m.id for m in index.query(again, candidates=2, verify="shingles")] == ["c03", "c04"]
        assert loaded[-1] == 3
        other = Document("other", story.text)  # not stored: three loaded, two verified
        assert [m.id for m in index.query(other, candidates=2, verify="shingles")] == ["c04", "c05"]


def test_shingles_mode_needs_a_verbatim_runs_worth_of_shared_text(tmp_path):
    line = "Abonnez-vous gratuitement à notre lettre quotidienne d'information."  # 8 words: 4 n-grams
    quote = ("Le dirigeant nord-coréen a adressé ses vœux au président russe pour la nouvelle année, "
             "saluant une alliance invincible entre les deux pays.")  # one 22-word sentence
    with SyndicationIndex(tmp_path / "i.db") as index:
        index.add_many([Document("brief", line), Document("quote", quote)])
        article = Document("q", seed("004").text + "\n\n" + line + "\n\n" + quote)
        quick = {m.id: m for m in index.query(article, verify="shingles")}
        assert "brief" not in quick  # contained whole, but too short to call the article a copy
        assert quick["quote"].relation == "syndicated" and quick["quote"].scores["containment"] == 1.0
        assert {m.id: m.relation for m in index.query(article)}.get("brief") is None  # nor does full mode
