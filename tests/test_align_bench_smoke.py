"""Smoke test of benchmarks/align_bench.py on a tiny generated corpus."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import align_bench  # noqa: E402
import corpus  # noqa: E402

pytestmark = pytest.mark.skipif(
    not list(Path(corpus.DEFAULT_REUTERS_DIR).glob("reut2-*.sgm")),
    reason="Reuters-21578 not available",
)


def test_align_bench_generates_a_corpus_and_reports_every_kind(tmp_path, capsys):
    folder, out = tmp_path / "corpus", tmp_path / "align.json"
    code = align_bench.main([str(folder), "--generate-docs", "300", "--seed", "7", "--pairs", "3",
                             "--repeat", "1", "--no-cold", "--no-pin", "--json", str(out)])
    assert code == 0
    assert (folder / "docs.jsonl").exists() and (folder / "truth.json").exists()
    m = json.loads(out.read_text(encoding="utf-8"))
    assert set(m["kinds"]) == set(align_bench.KINDS)
    for kind, row in m["kinds"].items():
        assert row["pairs"] == 3
        assert row["align_pairs_per_s"] > 0 and row["end_to_end_pairs_per_s"] > 0
        assert "cold_pairs_per_s" not in row
        assert sum(row["verdicts"].values()) == 3
        assert row["expected"] == align_bench.EXPECTED[kind]
    assert m["kinds"]["reprint"]["verdicts"] == {"verbatim": 3}
    assert m["kinds"]["unrelated"]["verdicts"] == {"unrelated": 3}
    assert m["overall"]["pairs"] == 3 * len(align_bench.KINDS)
    table = capsys.readouterr().out
    assert "| reprint | 3 |" in table and "| **all** | 21 |" in table
