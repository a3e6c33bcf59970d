"""``dedup scan`` through click's CliRunner: exit codes, formats, bad inputs, the JSON contract."""

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from dedup.cli import cli

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "fixtures" / "seeds"
REUTERS = ROOT / "fixtures" / "reuters"


@pytest.fixture()
def runner():
    return CliRunner()


def test_scan_table_names_the_cluster_and_pairs(runner):
    result = runner.invoke(cli, ["scan", str(SEEDS)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith("5 document(s), 6 related pair(s), 1 cluster(s)\n")
    assert "Clusters" in out and "Related pairs" in out
    assert "004_8afae5d1ef3306d5.txt" not in out


def test_scan_json_contract(runner):
    result = runner.invoke(cli, ["scan", str(SEEDS), "--format", "json"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert {"documents", "pairs", "clusters", "skipped"} <= set(data)
    assert all({"id", "path"} <= set(d) for d in data["documents"])
    for pair in data["pairs"]:
        assert {"a", "b", "relation", "scores"} <= set(pair)
        assert pair["relation"] in {"duplicate", "syndicated", "rewrite", "partial"}
        assert all(0.0 <= v <= 1.0 for k, v in pair["scores"].items() if not k.endswith("sentences"))
    assert [len(c["members"]) for c in data["clusters"]] == [4]
    assert data["skipped"] == []


def test_scan_jsonl_and_output_file(runner, tmp_path):
    out = tmp_path / "report.jsonl"
    result = runner.invoke(cli, ["scan", str(SEEDS), "-f", "jsonl", "-o", str(out)])
    assert result.exit_code == 0
    records = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    kinds = [r["type"] for r in records]
    assert kinds.count("document") == 5 and kinds.count("pair") == 6 and kinds[-1] == "stats"


def test_bad_files_are_skipped_and_listed(runner, tmp_path):
    folder = tmp_path / "in"
    shutil.copytree(SEEDS, folder)
    (folder / "empty.txt").write_text("")
    (folder / "blob.txt").write_bytes(b"\x00\x01\x02binary")
    (folder / "bad.json").write_text("{not json")
    (folder / "latin.txt").write_bytes("Le président a été réélu à l’unanimité, a déclaré l’armée.".encode("cp1252"))
    result = runner.invoke(cli, ["scan", str(folder), "-f", "json"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    reasons = {Path(s["path"]).name: s["reason"] for s in data["skipped"]}
    assert set(reasons) == {"empty.txt", "blob.txt", "bad.json"}
    assert "binary" in reasons["blob.txt"] and "empty" in reasons["empty.txt"] and "JSON" in reasons["bad.json"]
    assert [len(c["members"]) for c in data["clusters"]] == [4]
    assert "latin.txt" in {d["id"] for d in data["documents"]}


def test_seeds_mixed_into_newswire_keep_their_cluster(runner):
    result = runner.invoke(cli, ["scan", str(SEEDS), str(REUTERS), "-f", "json", "-q"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert len(data["documents"]) == 405
    story = {p.name for p in SEEDS.glob("00[0-3]_*.txt")}
    assert story in [set(c["members"]) for c in data["clusters"]]
    seed_ids = {p.name for p in SEEDS.glob("*.txt")}
    for pair in data["pairs"]:
        # no pair between a seed (French) and a newswire story (English)
        assert (pair["a"] in seed_ids) == (pair["b"] in seed_ids)


def test_config_errors_exit_2_without_traceback(runner):
    result = runner.invoke(cli, ["scan", str(SEEDS), "--doc-threshold", "3"])
    assert result.exit_code == 2
    assert "doc_threshold must be in (0.0, 1.0], got 3.0" in result.output
    assert "Traceback" not in result.output


def test_missing_path_is_a_usage_error(runner, tmp_path):
    result = runner.invoke(cli, ["scan", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_every_command_is_documented_with_an_example(runner):
    for name in cli.commands:
        help_text = runner.invoke(cli, [name, "--help"]).output
        assert "Example" in help_text, name
        assert name in (ROOT / "README.md").read_text("utf-8"), f"{name} missing from README"
