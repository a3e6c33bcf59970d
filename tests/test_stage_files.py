"""Stage outputs as Parquet: written as the scan goes, read back into what the driver holds."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

pa = pytest.importorskip("pyarrow", reason='pyarrow not installed (pip install "dedup[parquet]")')
pq = pytest.importorskip("pyarrow.parquet")

from dedup import Document, ScanConfig, __version__, scan_documents, scan_paths  # noqa: E402
from dedup.cli import cli  # noqa: E402
from dedup.errors import ConfigError, InputError  # noqa: E402
from dedup.read import iter_documents  # noqa: E402
from dedup.stage_files import STAGES, read_manifest, read_shards, read_stage  # noqa: E402
from dedup.stages import fingerprint_shard, frequent_line_keys, join_fingerprints, line_counts_shard  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = [str(ROOT / "fixtures" / "seeds"), str(ROOT / "fixtures" / "reuters")]
SHARD = 60


@pytest.fixture(scope="module")
def docs():
    return [d for d in iter_documents(FIXTURES) if isinstance(d, Document)]


@pytest.fixture(scope="module")
def plain(docs):
    return scan_documents(docs, jobs=1, shard_size=SHARD)


@pytest.fixture(scope="module")
def staged(docs, tmp_path_factory):
    out = tmp_path_factory.mktemp("stages")
    seen = []

    def progress(stage, done, total):
        if stage == "prepare" and done:
            # the shard that just arrived is on disk already: writing streams
            seen.append(len(list((out / "documents").glob("part-*.parquet"))) == -(-done // SHARD))

    result = scan_documents(docs, jobs=1, shard_size=SHARD, stage_dir=out, progress=progress)
    assert seen and all(seen)
    return out, result


def _outcome(result):
    # not the evidence: its order among equal-scored sentence matches is not stable across processes
    return [(p.a, p.b, p.relation, dict(p.scores), p.reason) for p in result.pairs], result.clusters


def test_writing_does_not_change_the_result(plain, staged):
    _, result = staged
    assert _outcome(result) == _outcome(plain)
    assert result.stats["candidates"] == plain.stats["candidates"]


def test_pairs_and_clusters_read_back_equal_the_scan(staged):
    out, result = staged
    assert read_stage(out, "pairs") == result.pairs
    assert read_stage(out, "clusters") == result.clusters
    assert len(result.pairs) > 10


def test_candidates_recomputed_from_parquet_fingerprints_equal_the_scan(docs, staged):
    out, result = staged
    manifest = read_manifest(out)
    shards = read_shards(out)
    assert len(shards) == -(-len(docs) // SHARD)
    candidates, idf = join_fingerprints(shards, manifest["config"], len(docs))
    assert candidates == read_stage(out, "candidates")
    assert len(candidates) == result.stats["candidates"]
    assert idf == read_stage(out, "df")


def test_band_keys_round_trip_exactly(docs, staged):
    out, _ = staged
    texts = [d.text for d in docs]
    frequent = frequent_line_keys([line_counts_shard(texts)], len(docs), ScanConfig())
    whole = fingerprint_shard(docs, ScanConfig(), frequent)
    assert whole.doc_keys.dtype == np.uint64 and (whole.doc_keys >= 2**63).any()  # the bit-cast matters
    keys = read_stage(out, "fingerprints")
    assert keys.dtype == np.uint64 and np.array_equal(keys, whole.doc_keys)
    passage_keys, owners = read_stage(out, "passages")
    assert np.array_equal(passage_keys, whole.passage_keys)
    assert np.array_equal(owners, whole.passage_owner)
    assert read_stage(out, "df") == (whole.df, whole.totals)


def test_files_are_spark_friendly_and_documented_in_the_manifest(docs, staged):
    out, result = staged
    manifest = read_manifest(out)
    assert manifest["format_version"] == 1 and manifest["dedup_version"] == __version__
    assert manifest["config"] == ScanConfig().to_dict()
    assert manifest["stages"] == list(STAGES)
    assert manifest["rows"]["documents"] == len(docs)
    assert manifest["rows"]["pairs"] == len(result.pairs)
    assert manifest["rows"]["passages"] == result.stats["passages"]
    for stage in STAGES:
        for f in manifest["files"][stage]:
            schema = pq.read_schema(out / f["path"])
            for field in schema:
                t = field.type.value_type if pa.types.is_list(field.type) else field.type
                assert t in (pa.int64(), pa.float64(), pa.string()), (stage, field)
    raw = pq.read_table(out / "fingerprints" / "part-00000.parquet")
    first = np.asarray(raw.column("band_keys")[0].as_py(), dtype=np.int64)
    assert np.array_equal(first.view(np.uint64), read_stage(out, "fingerprints")[0])
    pairs = pq.read_table(out / "pairs.parquet")
    assert {"a", "b", "relation", "score_jaccard", "score_containment", "reason", "evidence"} <= set(pairs.column_names)
    assert json.loads(pairs.column("evidence")[0].as_py()) == [dict(e) for e in result.pairs[0].evidence]


def test_document_metadata_is_kept(tmp_path):
    text = "Le chat dort sur le canapé du salon depuis ce matin, dit le voisin."
    docs = [Document("a", text, url="https://example.org/a", title="Chat"), Document("b", text, source="AFP")]
    scan_documents(docs, stage_dir=tmp_path)
    rows = read_stage(tmp_path, "documents")
    assert rows == [
        {"index": 0, "id": "a", "path": "", "title": "Chat", "url": "https://example.org/a", "chars": len(text)},
        {"index": 1, "id": "b", "path": "", "source": "AFP", "chars": len(text)},
    ]


def test_process_pool_writes_the_same_files(docs, staged, tmp_path):
    out, result = staged
    pooled = scan_documents(docs, jobs=2, shard_size=SHARD, stage_dir=tmp_path)
    assert _outcome(pooled) == _outcome(result)
    assert read_stage(tmp_path, "pairs") == pooled.pairs
    assert read_stage(tmp_path, "candidates") == read_stage(out, "candidates")
    assert np.array_equal(read_stage(tmp_path, "fingerprints"), read_stage(out, "fingerprints"))


def test_dask_backend_writes_the_same_files(docs, staged, tmp_path):
    distributed = pytest.importorskip("distributed")
    from dedup.dask_backend import DaskBackend

    out, result = staged
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    try:
        with distributed.Client(cluster) as client, DaskBackend(client=client) as backend:
            on_dask = scan_documents(docs, backend=backend, shard_size=SHARD, stage_dir=tmp_path)
    finally:
        cluster.close()
    assert _outcome(on_dask) == _outcome(result)
    assert read_stage(tmp_path, "pairs") == on_dask.pairs
    assert read_stage(tmp_path, "candidates") == read_stage(out, "candidates")


def test_a_new_scan_replaces_the_files_of_the_last(docs, tmp_path):
    scan_documents(docs[:200], shard_size=50, stage_dir=tmp_path)
    (tmp_path / "notes.txt").write_text("mine")
    scan_documents(docs[:100], shard_size=50, stage_dir=tmp_path)
    assert len(list((tmp_path / "documents").glob("*.parquet"))) == 2
    assert read_manifest(tmp_path)["rows"]["documents"] == 100
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_empty_collection(tmp_path):
    result = scan_documents([], stage_dir=tmp_path)
    assert result.pairs == () and read_stage(tmp_path, "pairs") == ()
    assert read_stage(tmp_path, "candidates") == []
    assert read_stage(tmp_path, "fingerprints").shape == (0, read_manifest(tmp_path)["bands"]["documents"])
    assert read_shards(tmp_path) == []


def test_without_pyarrow_stage_dir_fails_before_any_work(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)

    def no_reading(paths):
        raise AssertionError("read before checking pyarrow")

    monkeypatch.setattr("dedup.read.iter_documents", no_reading)
    with pytest.raises(ConfigError, match=r"dedup\[parquet\]"):
        scan_paths(FIXTURES, stage_dir=tmp_path / "s")
    with pytest.raises(ConfigError, match=r"dedup\[parquet\]"):
        scan_documents([Document("a", "x")], stage_dir=tmp_path / "s")
    result = CliRunner().invoke(cli, ["scan", FIXTURES[0], "--stage-dir", str(tmp_path / "s")])
    assert result.exit_code == 2
    assert 'pip install "dedup[parquet]"' in result.output
    assert not (tmp_path / "s").exists()
    assert scan_documents([Document("a", "x")]).pairs == ()  # without stage_dir nothing changes


def test_bad_stage_dir_and_reads(tmp_path):
    afile = tmp_path / "file"
    afile.write_text("")
    with pytest.raises(ConfigError, match="must be a directory"):
        scan_documents([Document("a", "x")], stage_dir=afile)
    with pytest.raises(InputError, match="no manifest.json"):
        read_stage(tmp_path, "pairs")
    scan_documents([Document("a", "x")], stage_dir=tmp_path / "ok")
    with pytest.raises(ConfigError, match="stage must be one of"):
        read_stage(tmp_path / "ok", "bands")


def test_cli_stage_dir(tmp_path):
    out = tmp_path / "stages"
    result = CliRunner().invoke(cli, ["scan", FIXTURES[0], "--format", "json", "--stage-dir", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [(p.a, p.b, p.relation) for p in read_stage(out, "pairs")] == [
        (p["a"], p["b"], p["relation"]) for p in data["pairs"]]
    assert read_manifest(out)["rows"]["documents"] == len(data["documents"])
