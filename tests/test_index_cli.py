"""``dedup index``: add, query, check, stats and evict through click's CliRunner."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from dedup.cli.index import index, parse_duration
from dedup.store import FORMAT_VERSION, SyndicationIndex

SEEDS = Path(__file__).resolve().parent.parent / "fixtures" / "seeds"


def seed_path(prefix: str) -> Path:
    return next(SEEDS.glob(f"{prefix}_*.txt"))


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    for prefix in ("001", "002", "003"):
        path = seed_path(prefix)
        (folder / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "broken.txt").write_bytes(b"\x00\x01binary\x00")
    return folder


def test_add_reports_added_and_skipped(runner, tmp_path, corpus):
    db = str(tmp_path / "i.db")
    result = runner.invoke(index, ["add", "--db", db, str(corpus)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"Added 3 document(s) to {db} (3 in the index), 1 skipped"
    assert lines[2] == "Skipped"
    assert "broken.txt" in result.output and "binary" in result.output
    with SyndicationIndex(db) as idx:
        assert sorted(idx.ids()) == sorted(p.name for p in corpus.glob("00*.txt"))


def test_add_json(runner, tmp_path, corpus):
    db = str(tmp_path / "i.db")
    result = runner.invoke(index, ["add", "--db", db, str(corpus), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["added"] == 3 and data["documents"] == 3
    assert [s["path"].rsplit("/", 1)[-1] for s in data["skipped"]] == ["broken.txt"]


def test_query_json_and_table(runner, tmp_path, corpus):
    db = str(tmp_path / "i.db")
    runner.invoke(index, ["add", "--db", db, str(corpus)])
    args = ["query", "--db", db, str(seed_path("000")), str(seed_path("004"))]
    data = json.loads(runner.invoke(index, [*args, "--format", "json"]).output)
    first, other = data["results"]
    assert {seed_path("003").name, seed_path("002").name} <= {m["id"] for m in first["matches"]}
    assert first["status"] in {"rewrite", "partial"}
    assert other == {"id": str(seed_path("004")), "path": str(seed_path("004")), "status": "new", "matches": []}
    result = runner.invoke(index, args)
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == f"2 article(s) queried, 1 with a match in {db}"
    assert lines[2].split() == ["article", "status", "match", "relation", "coverage", "why"]
    assert any(line.startswith(str(seed_path("004"))) and line.split()[1:3] == ["new", "-"] for line in lines)
    # --candidates 1: one stored article verified per query, so one match at most
    data = json.loads(runner.invoke(index, [*args, "--format", "json", "--candidates", "1"]).output)
    assert len(data["results"][0]["matches"]) == 1
    assert runner.invoke(index, [*args, "--candidates", "0"]).exit_code == 2


def test_query_on_worker_processes_answers_alike(runner, tmp_path, corpus):
    db = str(tmp_path / "i.db")
    runner.invoke(index, ["add", "--db", db, str(corpus)])
    args = ["query", "--db", db, str(seed_path("000")), str(seed_path("004")), str(corpus), "--format", "json"]
    one = json.loads(runner.invoke(index, args).output)
    two = runner.invoke(index, [*args, "--jobs", "2", "--batch-size", "2"])
    assert two.exit_code == 0, two.output
    assert json.loads(two.output) == one
    assert len(one["results"]) == 5 and len(one["skipped"]) == 1
    # a stored article matches itself: queried as a text
    assert [r["matches"][0]["id"] for r in one["results"][2:]] == [r["id"] for r in one["results"][2:]]


def test_verify_shingles_in_query_and_check(runner, tmp_path, corpus):
    db = str(tmp_path / "i.db")
    runner.invoke(index, ["add", "--db", db, str(corpus)])
    copy = tmp_path / "copy.txt"
    copy.write_text(seed_path("003").read_text(encoding="utf-8") + "\n\nUne ligne de plus.", encoding="utf-8")
    args = ["query", "--db", db, str(seed_path("000")), str(copy), "--verify", "shingles"]
    rewrite, reprint = json.loads(runner.invoke(index, [*args, "--format", "json"]).output)["results"]
    assert rewrite["status"] == "new"  # a rewrite shares too few n-grams: found by --verify full only
    assert reprint["status"] == "duplicate" and reprint["matches"][0]["id"] == seed_path("003").name
    assert set(reprint["matches"][0]["scores"]) == {"jaccard", "containment"} and not reprint["matches"][0]["evidence"]
    table = runner.invoke(index, args).output.splitlines()
    row = next(line for line in table if line.startswith(str(copy)))
    assert row.split()[1:5] == ["duplicate", seed_path("003").name, "duplicate", "-"]
    checked = runner.invoke(index, ["check", "--db", db, str(copy), "--verify", "shingles", "-f", "json"])
    assert json.loads(checked.output)["results"][0]["status"] == "duplicate"
    refused = runner.invoke(index, [*args, "--align"])
    assert refused.exit_code == 2 and "align=True needs verify='full'" in refused.output
    assert runner.invoke(index, [*args, "--verify", "fast"]).exit_code == 2


def test_check_checks_in_order_then_adds(runner, tmp_path, corpus):
    db = str(tmp_path / "i.db")
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "reprint.txt").write_text(seed_path("003").read_text(encoding="utf-8"), encoding="utf-8")
    result = runner.invoke(index, ["check", "--db", db, str(corpus), str(copy), "--format", "json", "--jobs", "2"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    by_id = {r["id"]: r for r in data["results"]}
    assert by_id[seed_path("001").name]["status"] == "new"  # the first one met nothing
    reprint = by_id["reprint.txt"]  # ids in a folder are relative to it
    assert reprint["status"] == "duplicate" and reprint["matches"][0]["id"] == seed_path("003").name
    assert data["documents"] == 4 and [s["path"] for s in data["skipped"]] == [str(corpus / "broken.txt")]
    # checked again: each article is replaced, so it does not meet itself, only the others
    again = runner.invoke(index, ["check", "--db", db, str(copy)])
    assert again.exit_code == 0, again.output
    lines = again.output.splitlines()
    assert lines[0] == f"1 article(s) checked and added, 1 with a match in {db}"
    assert any(line.split()[1:4] == ["duplicate", seed_path("003").name, "duplicate"] for line in lines)
    with SyndicationIndex(db) as idx:
        assert len(idx) == 4
    assert runner.invoke(index, ["check", "--db", db, str(copy), "--limit", "0"]).exit_code == 2


def test_stats(runner, tmp_path, corpus):
    db = str(tmp_path / "i.db")
    runner.invoke(index, ["add", "--db", db, str(corpus)])
    data = json.loads(runner.invoke(index, ["stats", "--db", db, "-f", "json"]).output)
    assert data["documents"] == 3 and data["languages"] == {"fr": 3} and data["config"]["ngram"] == 5
    table = runner.invoke(index, ["stats", "--db", db]).output.splitlines()
    assert table[0].split() == ["documents", "3"]
    # three articles are far from a merge: all their keys are still in the recent table
    assert data["recent_keys"] == data["doc_keys"] + data["passage_keys"] > 0
    rows = [line.split() for line in table]
    assert ["keys", "not", "yet", "merged", str(data["recent_keys"])] in rows
    assert data["key_levels"] == [0, 0, 0] and ["passage", "keys", "per", "level", "0", "/", "0", "/", "0"] in rows
    assert "Configuration" in table
    with SyndicationIndex(db) as idx:  # merged: the passage keys go to the first level
        idx.merge()
    data = json.loads(runner.invoke(index, ["stats", "--db", db, "-f", "json"]).output)
    assert data["recent_keys"] == 0 and data["key_levels"] == [data["passage_keys"], 0, 0]
    # and merge() built the whole-text keys' filter: one block of 500 words
    assert data["key_filter_bytes"] == 4000
    table = runner.invoke(index, ["stats", "--db", db]).output.splitlines()
    assert ["whole-text", "key", "filter", "0.0", "MB"] in [line.split() for line in table]


def test_whole_text_only_index(runner, tmp_path, corpus):
    db = str(tmp_path / "i.db")
    result = runner.invoke(index, ["add", "--db", db, str(corpus), "--whole-text-only"])
    assert result.exit_code == 0, result.output
    data = json.loads(runner.invoke(index, ["stats", "--db", db, "-f", "json"]).output)
    assert data["passage_keys"] == 0 and data["doc_keys"] > 0 and data["config"]["passage_lsh"] == [0, 1]
    # later adds keep the stored configuration; asking for passages on it is a clean error
    assert runner.invoke(index, ["add", "--db", db, str(seed_path("000"))]).exit_code == 0
    other = str(tmp_path / "full.db")
    assert runner.invoke(index, ["add", "--db", other, str(seed_path("000"))]).exit_code == 0
    refused = runner.invoke(index, ["add", "--db", other, str(seed_path("001")), "--whole-text-only"])
    assert refused.exit_code == 2 and "passage_lsh" in refused.output


def test_evict_by_duration(runner, tmp_path, corpus):
    db = str(tmp_path / "i.db")
    runner.invoke(index, ["add", "--db", db, str(corpus)])
    with SyndicationIndex(db) as idx:
        idx.add_many(idx.get(i) for i in [seed_path("003").name])  # re-added now
        old = idx.get(seed_path("002").name)
        idx.add(old, added=time.time() - 40 * 86400)
    result = runner.invoke(index, ["evict", "--db", db, "--older-than", "30d", "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["evicted"] == 1 and data["documents"] == 2
    result = runner.invoke(index, ["evict", "--db", db, "--older-than", "12h"])
    assert result.output.startswith("Evicted 0 document(s) added before ") and result.output.endswith("(2 left)\n")


def test_bad_duration_and_missing_index(runner, tmp_path):
    result = runner.invoke(index, ["evict", "--db", str(tmp_path / "i.db"), "--older-than", "soon"])
    assert result.exit_code == 2 and "duration must be" in result.output
    result = runner.invoke(index, ["stats", "--db", str(tmp_path / "none.db")])
    assert result.exit_code == 2
    assert result.output == f"Error: no index at {tmp_path / 'none.db'}\n"
    assert not (tmp_path / "none.db").exists()


def test_other_format_version_is_a_clean_error(runner, tmp_path):
    import sqlite3

    db = tmp_path / "i.db"
    SyndicationIndex(db).close()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'format'")  # the layout before 2
    result = runner.invoke(index, ["query", "--db", str(db), str(seed_path("000"))])
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: {db} has index format version '1'")
    assert f"reads version {FORMAT_VERSION} only" in result.output


def test_parse_duration():
    assert parse_duration("30d") == 30 * 86400
    assert parse_duration("12h") == 12 * 3600
    assert parse_duration("90m") == 5400
    assert parse_duration("1d12h") == 1.5 * 86400
    assert parse_duration("45s") == 45
    for bad in ("", "30", "d", "3y", "-1d", "1d x"):
        with pytest.raises(ValueError, match="duration must be"):
            parse_duration(bad)


def test_every_command_help_ends_with_an_example(runner):
    for name in [None, *index.commands]:
        args = [name, "--help"] if name else ["--help"]
        text = runner.invoke(index, args).output
        doc = (index.commands[name].help if name else index.help) or ""
        assert "Example" in text, name
        assert doc.rstrip().splitlines()[-2].strip() == "Example:", name


def test_add_on_worker_processes(runner, tmp_path, corpus):
    db = str(tmp_path / "i.db")
    result = runner.invoke(index, ["add", "--db", db, str(corpus), "--jobs", "2", "--batch-size", "1",
                                   "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["added"] == 3 and len(data["skipped"]) == 1
    with SyndicationIndex(db) as idx:
        assert sorted(idx.ids()) == sorted(p.name for p in corpus.glob("00*.txt"))
