"""``dedup compare`` through click's CliRunner: exit codes, the JSON contract, table and HTML."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dedup.cli import _Group
from dedup.cli.compare import CompareError, compare
from dedup.errors import DedupError

SEEDS = Path(__file__).resolve().parent.parent / "fixtures" / "seeds"
S000 = str(next(SEEDS.glob("000_*.txt")))
S003 = str(next(SEEDS.glob("003_*.txt")))
S004 = str(next(SEEDS.glob("004_*.txt")))

# the command as the dedup group runs it: DedupError -> message and exit code 2
GROUP = _Group(commands={"compare": compare})


def run(*args: str):
    return CliRunner().invoke(GROUP, ["compare", *args])


def test_json_contract():
    result = run(S003, S000, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["source"] == S003 and data["derived"] == S000
    assert data["verdict"] in ("partial", "rewrite")
    assert set(data["coverage"]) == {"copied", "edited", "paraphrased", "added"}
    assert abs(sum(data["coverage"].values()) - 1.0) < 1e-9
    texts = {S003: Path(S003).read_text("utf-8"), S000: Path(S000).read_text("utf-8")}
    kinds = set()
    for p in data["passages"]:
        assert {"kind", "derived", "source", "score"} <= set(p)
        assert 0.0 <= p["score"] <= 1.0
        kinds.add(p["kind"])
        for side, doc_id in (("derived", S000), ("source", S003)):
            span = p[side]
            if span is None:
                continue
            assert set(span) == {"start", "end"}
            assert texts[doc_id][span["start"] : span["end"]] == p[f"{side}_text"]
        assert (p["source"] is None) == (p["kind"] == "added")
        assert (p["derived"] is None) == (p["kind"] == "omitted")
    assert {"edited", "paraphrased", "added", "omitted"} <= kinds


def test_unrelated_pair_exits_zero():
    result = run(S003, S004, "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.output)["verdict"] == "unrelated"


def test_table_output():
    result = run(S003, S000)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"derived: {S000}"
    assert lines[1] == f"source:  {S003}"
    assert lines[2].startswith("verdict: ")
    assert lines[3].startswith("coverage of the derived text: copied ")
    header = next(line for line in lines if line.startswith("kind"))
    assert header.split() == ["kind", "score", "derived", "source", "changes"]
    assert "Dans son message, publié vendredi par" in result.output and "→ Selon" in result.output
    for kind in ("edited", "paraphrased", "added", "omitted"):
        assert any(line.startswith(kind) for line in lines)


def test_same_file_twice_is_verbatim():
    result = run(S000, S000, "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["verdict"] == "verbatim" and data["coverage"]["copied"] == 1.0


def test_html_output_file(tmp_path):
    out = tmp_path / "pair.html"
    result = run(S003, S000, "--format", "html", "--output", str(out))
    assert result.exit_code == 0, result.output
    assert result.output == f"Wrote html report to {out}\n"
    page = out.read_text("utf-8")
    assert page.startswith("<!DOCTYPE html>") and "k-edited" in page


def test_missing_file_is_a_usage_error(tmp_path):
    result = run(str(tmp_path / "nope.txt"), S000)
    assert result.exit_code == 2
    assert "does not exist" in result.output
    assert "Traceback" not in result.output


def test_binary_file_is_a_clean_error(tmp_path):
    binary = tmp_path / "blob.txt"
    binary.write_bytes(b"\x00\x01\x02 not text \x00" * 10)
    result = run(str(binary), S000)
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: cannot compare {binary}: binary file")
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("name, content, reason", [
    ("empty.txt", b"  \n", "empty file"),
    ("data.bin", b"hello", "unsupported file type"),
])
def test_unreadable_inputs(tmp_path, name, content, reason):
    bad = tmp_path / name
    bad.write_bytes(content)
    result = run(S000, str(bad))
    assert result.exit_code == 2
    assert reason in result.output
    assert "Traceback" not in result.output


def test_command_alone_raises_a_dedup_error(tmp_path):
    binary = tmp_path / "blob.txt"
    binary.write_bytes(b"\x00" * 20)
    result = CliRunner().invoke(compare, [str(binary), S000])
    assert result.exit_code != 0
    assert isinstance(result.exception, CompareError)
    assert isinstance(result.exception, DedupError)


def test_first_record_of_jsonl(tmp_path):
    records = tmp_path / "two.jsonl"
    text = Path(S000).read_text("utf-8")
    records.write_text(json.dumps({"id": "x", "text": text}) + "\n" + json.dumps({"id": "y", "text": "Autre."}) + "\n",
                       encoding="utf-8")
    result = run(S000, str(records), "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.output)["verdict"] == "verbatim"


def test_help_ends_with_an_example():
    result = run("--help")
    assert result.exit_code == 0
    last = [line for line in result.output.splitlines() if line.strip()][-1]
    assert last.strip().startswith("dedup compare ")
    assert "Examples:" in result.output
