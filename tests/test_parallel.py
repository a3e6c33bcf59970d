"""Sharded stages and the process pool give the same scan as one process."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dedup import Document, ScanConfig, scan_documents
from dedup.clean import count_line_keys, frequent_lines
from dedup.errors import ConfigError, InputError
from dedup.normalize import TextProcessor, surfaces, tokenize
from dedup.parallel import InProcessBackend, ProcessPoolBackend, resolve_jobs
from dedup.read import iter_documents
from dedup.stages import (
    Workspace,
    fingerprint_shard,
    frequent_line_keys,
    join_fingerprints,
    line_counts_shard,
    verify_shard,
)

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = [str(ROOT / "fixtures" / "seeds"), str(ROOT / "fixtures" / "reuters")]


def _docs() -> list[Document]:
    return [d for d in iter_documents(FIXTURES) if isinstance(d, Document)]


def _outcome(result):
    return ([(p.a, p.b, p.relation) for p in result.pairs], [(c.id, c.members) for c in result.clusters])


@pytest.fixture(scope="module")
def docs():
    return _docs()


@pytest.fixture(scope="module")
def single(docs):
    return scan_documents(docs, jobs=1)


def test_fixtures_are_405_documents(docs):
    assert len(docs) == 405


def test_shard_size_does_not_change_the_result(docs, single):
    sharded = scan_documents(docs, jobs=1, shard_size=37)
    assert _outcome(sharded) == _outcome(single)
    assert sharded.stats["candidates"] == single.stats["candidates"]
    assert sharded.stats["passages"] == single.stats["passages"]


def test_two_processes_give_the_same_result(docs, single):
    pooled = scan_documents(docs, jobs=2, shard_size=60)
    assert pooled.stats["workers"] == 2
    assert _outcome(pooled) == _outcome(single)
    assert pooled.stats["candidates"] == single.stats["candidates"]


def test_stages_in_a_loop_are_the_scan(docs, single):
    config = ScanConfig().to_dict()  # what crosses process boundaries
    shards = [(lo, docs[lo : lo + 100]) for lo in range(0, len(docs), 100)]
    frequent = frequent_line_keys([line_counts_shard([d.text for d in s]) for _, s in shards], len(docs), config)
    prints = [fingerprint_shard(s, config, frequent, start=lo) for lo, s in shards]
    candidates, idf = join_fingerprints(prints[::-1], config, len(docs))  # any order of arrival
    pairs = verify_shard(candidates, dict(enumerate(docs)), config, frequent, idf)
    assert len(candidates) == single.stats["candidates"]
    assert sorted((p.a, p.b, p.relation) for p in pairs) == _outcome(single)[0]
    # verifying from the features stage 2 computed is verifying the documents themselves
    features = dict(enumerate(f for part in prints for f in part.features))
    from_features = verify_shard(candidates, features, config, frequent, idf)
    assert [p.to_dict() for p in from_features] == [p.to_dict() for p in pairs]


def test_text_features_survive_their_encoding(docs):
    import numpy as np

    from dedup.stages import Fingerprinter
    from dedup.verify import TextFeatures

    fp = Fingerprinter(ScanConfig())
    for doc in docs[:40] + [Document("empty", ""), Document("é", "« Guillemets » et chiffres : 12 et 15 000.\nFin.")]:
        f = fp.features(fp.prepare(doc))
        back = TextFeatures.from_bytes(f.to_bytes())
        assert (back.id, back.language, back.texts, back.figures) == (f.id, f.language, f.texts, f.figures)
        for name in ("words", "bounds", "spans", "lengths", "shingles"):
            assert np.array_equal(getattr(back, name), getattr(f, name)), name


def test_line_counts_reduce_to_the_whole_corpus_counts(docs):
    texts = [d.text for d in docs]
    parts = [line_counts_shard(texts[k : k + 50]) for k in range(0, len(texts), 50)]
    assert frequent_line_keys(parts, len(texts)) == frequent_lines(count_line_keys(texts), len(texts))


def test_workspace_keeps_at_most_max_docs(docs):
    ws = Workspace(max_docs=10)
    fingerprint_shard(docs[:30], ScanConfig(), frozenset(), start=0, run="r", workspace=ws)
    assert ws.get(("r", 0)) is None and ws.get(("r", 29)) is not None
    ws.forget("r")
    assert ws.get(("r", 29)) is None


def test_backends_yield_results_in_task_order():
    tasks = [(([f"line {k}"] * k,), {}) for k in range(1, 8)]
    expected = [line_counts_shard(*args) for args, _ in tasks]
    with InProcessBackend() as backend:
        assert list(backend.map(line_counts_shard, tasks)) == expected
    with ProcessPoolBackend(2) as backend:
        assert list(backend.map(line_counts_shard, tasks)) == expected


def test_jobs_and_shard_size_are_validated():
    assert resolve_jobs(0) == resolve_jobs(None) >= 1
    with pytest.raises(ConfigError, match="jobs must be"):
        scan_documents([Document("a", "x")], jobs=-1)
    with pytest.raises(ConfigError, match="shard_size must be"):
        scan_documents([Document("a", "x")], shard_size=0)
    with pytest.raises(ConfigError, match="backend must be"):
        scan_documents([Document("a", "x")], backend="spark")
    with pytest.raises(InputError, match="repeated: a"):
        scan_documents([Document("a", "x"), Document("a", "y")], jobs=2)


def test_empty_collection():
    result = scan_documents([], jobs=2)
    assert (result.pairs, result.clusters, result.stats["candidates"]) == ((), (), 0)


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200))
def test_surfaces_fast_path_matches_tokens(text):
    assert surfaces(text) == [t.surface for t in tokenize(text)]
    assert TextProcessor().surfaces(text, 1, len(text) - 1) == [t.surface for t in tokenize(text, 1, len(text) - 1)]


def test_content_forms_of_surfaces_match_tokens():
    toks = tokenize("Les soldats nord-coréens ont été tués au combat le 12 mai")
    tp = TextProcessor()
    assert tp.content_forms_of([t.surface for t in toks], "fr") == TextProcessor().content_forms(toks, "fr")


def test_a_temporary_folder_that_cannot_be_written_is_a_clear_scan_error(docs, tmp_path, monkeypatch):
    import tempfile

    from dedup import ScanError

    missing = tmp_path / "no-such-folder"
    monkeypatch.setattr(tempfile, "tempdir", str(missing))
    with pytest.raises(ScanError, match="TMPDIR"):
        scan_documents(docs[:50])


def test_a_large_scan_keeps_its_documents_in_a_temporary_file(docs, single, monkeypatch):
    """Past KEEP_IN_MEMORY documents, texts wait in a temporary file; nothing else changes."""
    import dedup.scan
    from dedup.spill import SpilledDocuments

    monkeypatch.setattr(dedup.scan, "KEEP_IN_MEMORY", 100)
    spilled = scan_documents(iter(docs), jobs=2, shard_size=60)  # an iterator, read once
    assert isinstance(spilled.documents, SpilledDocuments) and isinstance(single.documents, tuple)
    assert _outcome(spilled) == _outcome(single)
    assert spilled.stats["candidates"] == single.stats["candidates"]
    assert spilled.documents == single.documents == tuple(docs)
    assert spilled.documents[-1] == docs[-1] and spilled.documents[10:13] == tuple(docs[10:13])
    drop_stats = [{k: v for k, v in r.to_dict().items() if k != "stats"} for r in (spilled, single)]
    assert drop_stats[0] == drop_stats[1]


def test_documents_are_read_as_the_scan_goes(docs):
    """A generator is consumed shard by shard, and a repeated id stops the scan where it is read."""
    read = []

    def stream():
        for k, d in enumerate(docs):
            read.append(k)
            yield Document(docs[0].id, "a repeated id") if k == 120 else d

    with pytest.raises(InputError, match=f"repeated: {docs[0].id}"):
        scan_documents(stream(), jobs=1, shard_size=50)
    assert len(read) == 150  # the third shard (100-149) holds the repeat: nothing after it is read


def test_skipped_inputs_listed_after_streamed_reading(tmp_path):
    from dedup.scan import scan_paths

    (tmp_path / "a.txt").write_text("Le chat dort sur le canapé du salon depuis ce matin.", encoding="utf-8")
    (tmp_path / "b.txt").write_text("Le chat dort sur le canapé du salon depuis ce matin.", encoding="utf-8")
    (tmp_path / "c.txt").write_bytes(b"")
    result = scan_paths([str(tmp_path)])
    assert [(p.a, p.b) for p in result.pairs] == [("a.txt", "b.txt")]
    assert [Path(s.path).name for s in result.skipped] == ["c.txt"] and result.skipped[0].reason


@given(st.lists(st.dictionaries(st.integers(0, 2**64 - 1) | st.sampled_from([1, 2, 3]), st.integers(1, 5),
                                max_size=6), max_size=12),
       st.integers(2, 6))
def test_line_counts_in_arrays_sum_like_dicts(parts, min_docs):
    from dedup.stages import LineCounts

    total: dict[int, int] = {}
    for part in parts:
        for key, n in part.items():
            total[key] = total.get(key, 0) + n
    counts = LineCounts(compact_at=3)  # compacts often
    for part in parts:
        counts.add(part)
    config = {"boilerplate_min_docs": min_docs}
    assert counts.frequent(50, config) == frequent_lines(total, 50, min_docs=min_docs)


def test_documents_cross_process_boundaries_with_their_metadata():
    import pickle

    doc = Document("a", "Some text.", path="a.txt", title="T", url="https://x.org/a", date="2025-12-31",
                   source="AFP", meta={"lang": "fr", "tags": ["x"]})
    back = pickle.loads(pickle.dumps(doc))
    assert back == doc and dict(back.meta) == {"lang": "fr", "tags": ["x"]}
    assert isinstance(back.meta, type(doc.meta))  # still a read-only view


class _Marker:
    """Kept in a worker's workspace; closing it leaves a file behind."""

    def __init__(self, path: str) -> None:
        self.path = path

    def close(self) -> None:
        Path(self.path).write_text("closed", encoding="utf-8")


def _keep_marker(path: str, *, workspace) -> int:  # type: ignore[no-untyped-def]
    workspace.kept(("marker", path), lambda: _Marker(path))
    return 1


def test_what_a_workspace_keeps_is_closed_when_its_backend_or_worker_ends(tmp_path):
    """A worker's kept handles (query_many's index handles) are closed when the pool ends,
    not dropped with the process; the in-process backend closes them on close()."""
    for name, backend in (("in-process", InProcessBackend()), ("pool", ProcessPoolBackend(1))):
        marker = tmp_path / name
        with backend:
            assert list(backend.map(_keep_marker, [((str(marker),), {})] * 3)) == [1, 1, 1]
            assert not marker.exists()  # kept while the backend runs
        assert marker.read_text(encoding="utf-8") == "closed", name
