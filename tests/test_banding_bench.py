"""Smoke test of benchmarks/banding.py on the seed articles (no corpus needed)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import banding  # noqa: E402
from overrides import parse_overrides  # noqa: E402


def test_banding_counts_pairs_per_draw():
    assert banding.parse_banding("14x3/3") == (14, 3, 3) and banding.parse_banding("9x3") == (9, 3, 2)
    rows = banding.measure(ROOT / "fixtures" / "seeds", [(9, 3, 2), (2, 3, 2)], draws=2)
    wide, narrow = rows
    assert wide["pairs_known"] == 6  # the four articles of the story, all pairs, over every run
    assert 0 <= narrow["mean_pairs"] <= wide["mean_pairs"] <= 6
    assert wide["passage_keys_per_doc"] == 9 * 305 // 5  # 305 passages in the five seeds
    assert narrow["passage_keys_per_doc"] == 2 * 305 // 5


def test_set_options_parse_json_values():
    assert parse_overrides(["passage_lsh=[6,3]", "seed=2", "name=x"]) == {
        "passage_lsh": [6, 3], "seed": 2, "name": "x"}
