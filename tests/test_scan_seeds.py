"""End to end on the seed articles: the four versions of one story cluster, 004 stays out."""

from __future__ import annotations

from pathlib import Path

import pytest

from dedup import ScanConfig, scan_paths

SEEDS = Path(__file__).resolve().parent.parent / "fixtures" / "seeds"
STORY = {f.name for f in SEEDS.glob("00[0-3]_*.txt")}
OTHER = next(f.name for f in SEEDS.glob("004_*.txt"))


@pytest.fixture(scope="module")
def result():
    return scan_paths([str(SEEDS)])


def test_story_is_one_cluster_without_004(result):
    assert len(STORY) == 4
    clusters = [set(c.members) for c in result.clusters]
    assert STORY in clusters
    assert all(OTHER not in c for c in clusters)


def test_no_pair_involves_004(result):
    assert not [p for p in result.pairs if OTHER in (p.a, p.b)]


def test_every_pair_says_why(result):
    for pair in result.pairs:
        assert pair.relation in {"duplicate", "syndicated", "rewrite", "partial"}
        assert "matching sentence" in pair.reason
        assert pair.evidence, pair
        doc = {d.id: d for d in result.documents}
        for ev in pair.evidence:
            a_text = doc[pair.a].text[ev["a"]["start"] : ev["a"]["end"]]
            b_text = doc[pair.b].text[ev["b"]["start"] : ev["b"]["end"]]
            assert a_text.strip() and b_text.strip()


def test_stricter_config_can_drop_pairs():
    strict = scan_paths([str(SEEDS)], ScanConfig(min_matches=50, doc_threshold=1.0))
    assert strict.pairs == ()
