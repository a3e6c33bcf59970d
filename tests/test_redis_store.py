"""The Redis syndication index, against a real ``redis-server`` started for these tests."""

from __future__ import annotations

import multiprocessing
import shutil
import socket
import subprocess
import time
import zlib

import pytest
from test_store import _batch_inputs, _scores, _verdicts, seed, synthetic_docs

from dedup import ConfigError, Document, IncompatibleIndexError, ScanConfig, StoreError
from dedup.store import SyndicationIndex, decode_body, open_index

redis = pytest.importorskip("redis", reason="the redis package is not installed (pip install 'dedup[redis]')")

from dedup.redis_store import FORMAT_VERSION, RedisSyndicationIndex  # noqa: E402


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server binary not found (apt-get install redis-server): Redis tests not run")
    port = _free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen([binary, "--port", str(port), "--save", "", "--appendonly", "no",
                             "--bind", "127.0.0.1", "--dir", str(workdir)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    try:
        while True:
            try:
                if client.ping():
                    break
            except redis.exceptions.ConnectionError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
                pytest.skip(f"redis-server did not start on port {port}: {out[-500:]}")
            time.sleep(0.05)
        yield url
    finally:
        client.close()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _drop(url: str, prefix: str) -> None:
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=prefix + "*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def namespace(request, redis_url):
    name = "t-" + request.node.name[:40]
    _drop(redis_url, name)
    yield name
    _drop(redis_url, name)


def test_seeds_query_finds_the_story_not_the_other_event(redis_url, namespace):
    with RedisSyndicationIndex(redis_url, namespace=namespace) as index:
        index.add_many([seed("001"), seed("002"), seed("003")])
        found = {m.id: m for m in index.query(seed("000"))}
        assert {seed("003").id, seed("002").id} <= set(found)
        assert found[seed("003").id].url == "https://example.org/003"
        assert index.query(seed("004")) == []


def test_open_index_picks_redis_for_urls(redis_url, namespace):
    with open_index(redis_url, namespace=namespace) as index:
        assert isinstance(index, RedisSyndicationIndex)


def test_restart_keeps_documents_and_configuration(redis_url, namespace):
    config = ScanConfig(min_matches=3)
    with RedisSyndicationIndex(redis_url, config, namespace=namespace) as index:
        # prepared on worker processes, under the index's configuration
        assert index.add_many([seed("002"), seed("003")], batch_size=1, jobs=2) == 2
    with RedisSyndicationIndex(redis_url, namespace=namespace) as index:
        assert index.config == config
        assert len(index) == 2 and seed("002").id in index
        assert index.query(seed("003").text)[0].id == seed("003").id
        assert index.get(seed("003").id).text == seed("003").text
        stats = index.stats()
        assert stats["documents"] == 2 and stats["config"] == config.to_dict()
        assert stats["languages"] == {"fr": 2}


def test_incompatible_configuration_and_format_are_refused(redis_url, namespace):
    RedisSyndicationIndex(redis_url, namespace=namespace).close()
    with pytest.raises(IncompatibleIndexError, match=r"ngram \(index 5, given 4\)"):
        RedisSyndicationIndex(redis_url, ScanConfig(ngram=4), namespace=namespace)
    RedisSyndicationIndex(redis_url, ScanConfig(max_bucket=10), namespace=namespace).close()
    client = redis.Redis.from_url(redis_url)
    client.hset(f"{namespace}:meta", "format", "99")
    client.close()
    with pytest.raises(IncompatibleIndexError, match="format version '99'"):
        RedisSyndicationIndex(redis_url, namespace=namespace)


def test_a_layout_3_namespace_is_marked_4_and_answers_alike(redis_url, namespace):
    """Layout 3 bodies are one zlib stream (format 7 of the SQLite index): a namespace of that
    layout opens, is marked 4 once its configuration is accepted, and answers as before."""
    docs = [seed("001"), seed("002"), seed("003")]
    with RedisSyndicationIndex(redis_url, namespace=namespace) as index:
        index.add_many(docs[:2])
        before = {v: [_scores(index.query(d, verify=v)) for d in docs] for v in ("full", "shingles")}
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"{namespace}:doc:*"):
        text, features = decode_body(client.hget(key, "body"))
        raw = text.encode("utf-8")
        client.hset(key, "body", zlib.compress(len(raw).to_bytes(4, "little") + raw + features.to_bytes(), 1))
    client.hset(f"{namespace}:meta", "format", "3")
    with pytest.raises(IncompatibleIndexError, match="ngram"):
        RedisSyndicationIndex(redis_url, ScanConfig(ngram=4), namespace=namespace)
    assert client.hget(f"{namespace}:meta", "format") == b"3"
    with RedisSyndicationIndex(redis_url, namespace=namespace) as index:
        assert client.hget(f"{namespace}:meta", "format") == str(FORMAT_VERSION).encode() == b"4"
        assert {v: [_scores(index.query(d, verify=v)) for d in docs] for v in ("full", "shingles")} == before
        assert index.get(docs[0].id).text == docs[0].text
    client.close()


def test_missing_index_and_unreachable_server(redis_url, namespace):
    with pytest.raises(StoreError, match="no index"):
        RedisSyndicationIndex(redis_url, namespace=namespace + "-none", create=False)
    with pytest.raises(StoreError, match="cannot reach Redis"):
        RedisSyndicationIndex(f"redis://:secret@127.0.0.1:{_free_port()}/0", namespace=namespace)
    try:
        RedisSyndicationIndex(f"redis://:secret@127.0.0.1:{_free_port()}/0", namespace=namespace)
    except StoreError as exc:
        assert "secret" not in str(exc)


def test_namespaces_are_separate(redis_url, namespace):
    with RedisSyndicationIndex(redis_url, namespace=namespace) as a, \
            RedisSyndicationIndex(redis_url, namespace=namespace + "-b") as b:
        try:
            a.add(seed("003"))
            assert len(b) == 0 and b.query(seed("003").text) == []
        finally:
            b.clear()


def test_replace_remove_and_evict_leave_nothing_behind(redis_url, namespace):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    with RedisSyndicationIndex(redis_url, namespace=namespace) as index:
        index.add(Document("x", seed("003").text))
        index.add(Document("x", seed("004").text, title="second"))
        assert len(index) == 1 and index.get("x").title == "second"
        assert index.query(seed("003").text) == []
        for doc, when in zip(synthetic_docs("e", 3, 1), (100.0, 200.0, 300.0), strict=True):
            index.add(doc, added=when)
        assert index.evict(before=250.0) == 2
        assert set(index.ids()) == {"e-2", "x"}
        assert index.evict(older_than_seconds=50, now=400.0) == 1
        assert index.remove("x") is True and index.remove("x") is False
        with pytest.raises(ConfigError, match="exactly one"):
            index.evict()
        stats = index.stats()
        assert (stats["documents"], stats["doc_keys"], stats["passage_keys"], stats["words"]) == (0, 0, 0, 0)
    left = sorted(client.scan_iter(match=f"{namespace}:*"))
    client.close()
    assert left == [f"{namespace}:counts", f"{namespace}:meta"]


def test_whole_text_only_and_empty_documents_remove_replace_evict_and_check(redis_url, namespace):
    """Documents without passage keys (a whole-text-only index) or without any key (an empty
    text) are replaced, removed, evicted and checked like the others, and leave nothing."""
    client = redis.Redis.from_url(redis_url)
    story = seed("003").text
    with RedisSyndicationIndex(redis_url, ScanConfig(passage_lsh=(0, 1)), namespace=namespace) as index:
        index.add(Document("a", story), added=10.0)
        assert index.check(Document("a", story), added=20.0).status == "new"  # its own id: no match
        assert index.check(Document("b", story), added=30.0).status == "duplicate"
        assert index.check(Document("e", ""), added=40.0).status == "new"
        assert index.check(Document("e", ""), added=50.0).status == "new"
        assert len(index) == 3 and index.get("e").text == ""
        stats = index.stats()
        assert (stats["doc_keys"], stats["passage_keys"]) == (2 * 25, 0)
        assert index.remove("b") is True and index.evict(before=45.0) == 1
        assert index.ids() == ["e"] and index.stats()["doc_keys"] == 0
        assert index.evict(before=60.0) == 1 and len(index) == 0
    left = sorted(client.scan_iter(match=f"{namespace}:*"))
    client.close()
    assert left == [f"{namespace}:counts".encode(), f"{namespace}:meta".encode()]


def test_namespaces_with_a_colon_are_refused_and_a_closed_index_refuses(redis_url, namespace):
    with pytest.raises(StoreError, match="without spaces or ':'"):
        RedisSyndicationIndex(redis_url, namespace="news:fr")
    index = RedisSyndicationIndex(redis_url, namespace=namespace)
    index.close()
    for call in (lambda: len(index), lambda: index.query("a text"), lambda: index.add(seed("003")),
                 lambda: index.query_many(["a text"], jobs=2)):
        with pytest.raises(StoreError, match="closed"):
            call()


def test_query_many_workers_reconnect_with_the_handles_settings(redis_url, namespace):
    """Workers of query_many(jobs=2) open the namespace themselves, under this handle's
    query-time settings; the spec they get never shows a password."""
    docs, queries = _batch_inputs()
    with RedisSyndicationIndex(redis_url, namespace=namespace) as index:
        index.add_many(docs, added=50.0)
    strict = ScanConfig(passage_min_hits=50)
    with RedisSyndicationIndex(redis_url, strict, namespace=namespace) as index, \
            RedisSyndicationIndex(redis_url, namespace=namespace) as default:
        answers = index.query_many(queries, batch_size=2, jobs=2)
        assert [_scores(m) for m in answers] == [_scores(index.query(q)) for q in queries]
        assert [_scores(m) for m in answers] != [_scores(m) for m in default.query_many(queries, jobs=2)]
    url = redis_url.replace("redis://", "redis://:s3cret@")
    from dedup.store import ReaderSpec

    assert "s3cret" not in repr(ReaderSpec(url, "{}", (("namespace", namespace),)))


def test_check_adds_and_reports_the_earlier_copy(redis_url, namespace):
    with RedisSyndicationIndex(redis_url, namespace=namespace) as index:
        assert index.check(Document("first", seed("003").text)).status == "new"
        verdict = index.check(Document("reprint", seed("003").text))
        assert verdict.status == "duplicate" and verdict.best.id == "first"
        assert len(index) == 2


def test_candidates_bounds_the_documents_verified(redis_url, namespace):
    story = seed("002")
    with RedisSyndicationIndex(redis_url, namespace=namespace) as index:
        index.add_many([Document(f"c{i}", story.text) for i in range(6)])
        assert len(index.query(story.text)) == 6
        assert len(index.query(story.text, candidates=2)) == 2
        verdict = index.check(Document("new", story.text), candidates=1)
        assert verdict.status == "duplicate" and len(verdict.matches) == 1
        with pytest.raises(ConfigError, match="candidates"):
            index.query(story.text, candidates=0)
        with pytest.raises(ConfigError, match="candidates"):
            index.check(Document("x", story.text), candidates=-2)
        assert len(index) == 7


def test_check_many_and_query_many_answer_as_one_at_a_time(redis_url, namespace):
    docs, queries = _batch_inputs()
    # both namespaces start with the fixture's, which drops every key under it afterwards
    with RedisSyndicationIndex(redis_url, namespace=namespace + "-one") as one, \
            RedisSyndicationIndex(redis_url, namespace=namespace) as many:
        expected = [one.check(d, added=50.0) for d in docs]
        got = many.check_many(docs, added=50.0, batch_size=4)
        assert _verdicts(got) == _verdicts(expected)
        assert got[-1].status == "duplicate" and {m.id for m in got[-1].matches} >= {"copy-1", "copy-2"}
        answers = many.query_many(queries, batch_size=4, jobs=2)
        assert [_scores(m) for m in answers] == [_scores(one.query(q)) for q in queries]
        assert "copy-2" not in [m.id for m in answers[2]]


def test_shingles_mode_answers_as_sqlite_does(redis_url, namespace, tmp_path):
    docs, queries = _batch_inputs()
    with RedisSyndicationIndex(redis_url, namespace=namespace) as index, \
            SyndicationIndex(tmp_path / "i.db") as local:
        got = index.check_many(docs, added=50.0, batch_size=4, verify="shingles")
        expected = local.check_many(docs, added=50.0, batch_size=4, verify="shingles")
        assert _verdicts(got) == _verdicts(expected)
        assert got[-1].status == "duplicate" and not got[-1].matches[0].evidence
        answers = index.query_many(queries, verify="shingles", jobs=2)
        assert [_scores(m) for m in answers] == [_scores(local.query(q, verify="shingles")) for q in queries]
        assert answers[0] and all(set(m.scores) == {"jaccard", "containment"} for m in answers[0])


def test_a_passage_bucket_counts_as_its_size_says(redis_url, namespace):
    """One script reads every key of a query and counts as dedup.store.passage_hits does: a
    passage set of at most passage_max_bucket documents gives each a hit, a larger one its
    largest handle (the newest document) only, one of max_bucket or more none; whole-text sets
    give every member a hit, whatever their size."""
    from dedup.store import passage_hits

    text = synthetic_docs("c", 1, 9)[0].text
    names = ["Zeta", "alpha", "étoile", "Étoile", "b", "B", "0", "~x", "ä", "z z", "日本", "É2", "a\"q"]
    for max_bucket, passage_max_bucket in ((10, 8), (4, 8)):
        config = ScanConfig(max_bucket=max_bucket, passage_max_bucket=passage_max_bucket)
        for n in (3, 5, 8, 9, 10, 13):
            ids = names[:n]
            with RedisSyndicationIndex(redis_url, config, namespace=f"{namespace}-{max_bucket}-{n}") as index:
                index.add_many([Document(i, text) for i in ids])
                handles = [int(index._redis.hget(index._key("ids"), i)) for i in ids]
                assert handles == sorted(handles)  # in the order they were added
                entry = index._entries([Document("q", text)])[0]
                hits = index._lookup(index._redis, entry)
                assert {doc: d for doc, (d, _) in hits.items()} == dict.fromkeys(handles, len(entry.doc_keys))
                expected: dict[int, list[int]] = {}
                passage_hits([handles], config, expected)
                assert {doc: p for doc, (_, p) in hits.items() if p} == {
                    doc: p * len(entry.passage_keys) for doc, (_, p) in expected.items()}, (max_bucket, n)
                empty = index._entries([Document("e", "")])[0]
                assert index._lookup(index._redis, empty) == {}
    # ids come back as they were given, whatever they hold
    odd = 'https://example.org/a b/"quoted"\\é\n日本'
    with RedisSyndicationIndex(redis_url, namespace=f"{namespace}-odd") as index:
        index.add(Document(odd, text))
        assert [m.id for m in index.query(text)] == [odd]


def test_a_check_raced_by_a_related_add_runs_again_and_sees_it(redis_url, namespace):
    """A check adds under WATCH of its keys: a copy of the story added between its query and
    its add sends it round again, and the second query finds the copy."""
    story = seed("003").text
    with RedisSyndicationIndex(redis_url, namespace=namespace) as index, \
            RedisSyndicationIndex(redis_url, namespace=namespace) as other:
        lookup = index._lookup
        seen: list[set[str]] = []
        rivals = [Document("rival", story)]

        def racing(reader, entry):  # type: ignore[no-untyped-def]
            hits = lookup(reader, entry)
            if rivals:
                other.add(rivals.pop())  # after the query's lookup, before its add
            seen.append({s.doc.id for s in index._load(reader, list(hits))})
            return hits

        index._lookup = racing  # type: ignore[method-assign]
        verdict = index.check(Document("mine", story))
        assert seen == [set(), {"rival"}]
        assert verdict.status == "duplicate" and verdict.best is not None and verdict.best.id == "rival"
        assert sorted(index.ids()) == ["mine", "rival"]
        seen.clear()
        assert index.check(Document("third", story)).status == "duplicate" and seen == [{"mine", "rival"}]


def _redis_worker(url: str, namespace: str, worker: int, n: int) -> tuple[int, int]:
    docs = synthetic_docs(f"w{worker}", n, 1000 + worker)
    found = 0
    with RedisSyndicationIndex(url, namespace=namespace) as index:
        for start in range(0, n, 50):
            index.add_many(docs[start:start + 50])
            found += any(m.id == docs[start].id for m in index.query(docs[start].text, limit=3))
    return worker, found


def _redis_checker(url: str, namespace: str, text: str, worker: int, barrier) -> str:  # type: ignore[no-untyped-def]
    with RedisSyndicationIndex(url, namespace=namespace) as index:
        barrier.wait()
        return index.check(Document(f"copy-{worker}", text)).status


def _context():
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    return multiprocessing.get_context(method)


def test_several_processes_add_and_query(redis_url, namespace):
    ctx = _context()
    with ctx.Pool(4) as pool:
        results = pool.starmap(_redis_worker, [(redis_url, namespace, w, 250) for w in range(4)])
    assert all(found == 5 for _, found in results)
    with RedisSyndicationIndex(redis_url, namespace=namespace) as index:
        assert set(index.ids()) == {f"w{w}-{i}" for w in range(4) for i in range(250)}


def test_concurrent_checks_of_one_story_find_one_new(redis_url, namespace):
    ctx = _context()
    with ctx.Manager() as manager:
        barrier = manager.Barrier(4)
        with ctx.Pool(4) as pool:
            statuses = pool.starmap(_redis_checker,
                                    [(redis_url, namespace, seed("003").text, w, barrier) for w in range(4)])
    assert sorted(statuses) == ["duplicate", "duplicate", "duplicate", "new"]
