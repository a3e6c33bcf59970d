import json

import pytest

from dedup import ConfigError, DedupError, ScanConfig
from dedup.cluster import clusters_from_pairs
from dedup.index import lsh_params, passage_banding


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("doc_threshold", 1.5, r"doc_threshold must be in \(0.0, 1.0\], got 1.5"),
        ("passage_threshold", 0.0, "passage_threshold must be in"),
        ("ngram", 0, "ngram must be an integer >= 1, got 0"),
        ("min_matches", "2", "min_matches must be an integer"),
        ("seed", -1, "seed must be an integer in"),
        ("edited_ratio", 0.95, "edited_ratio must not exceed verbatim_ratio"),
        ("passage_lsh", (16, 8), r"bands x rows <= passage_num_perm \(42\), got \(16, 8\)"),
        ("passage_lsh", (1, 0), "passage_lsh must be None or"),
        ("passage_lsh", [4, 4], "passage_lsh must be None or"),
    ],
)
def test_config_errors_state_the_rule_and_the_value(field, value, message):
    with pytest.raises(ConfigError, match=message):
        ScanConfig(**{field: value})


def test_config_errors_are_dedup_errors_and_replace_validates():
    assert issubclass(ConfigError, DedupError)
    with pytest.raises(ConfigError, match="unknown ScanConfig field"):
        ScanConfig().replace(nope=1)
    cfg = ScanConfig().replace(ngram=3)
    assert cfg.ngram == 3 and ScanConfig.from_dict(cfg.to_dict()) == cfg
    lean = ScanConfig(passage_lsh=(4, 4))
    assert ScanConfig.from_dict(json.loads(json.dumps(lean.to_dict()))) == lean


def test_passage_lsh_chooses_the_passage_bands():
    assert passage_banding(ScanConfig()) == lsh_params(0.4, 42) == (14, 3)
    assert passage_banding(ScanConfig(passage_lsh=(4, 4), passage_num_perm=16)) == (4, 4)


def test_zero_passage_bands_leave_whole_text_candidates_only():
    from pathlib import Path

    from dedup import Document, scan_documents

    seeds = sorted((Path(__file__).resolve().parent.parent / "fixtures" / "seeds").glob("*.txt"))
    docs = [Document(p.name[:3], p.read_text(encoding="utf-8")) for p in seeds]
    docs.append(Document("copy", docs[3].text + "\n\nOne more line at the end."))
    full = scan_documents(docs)
    lean = scan_documents(docs, ScanConfig(passage_lsh=(0, 3)))
    assert {(p.a, p.b) for p in lean.pairs} == {("003", "copy")}  # the rewrites need passage keys
    assert {("003", "copy"), ("000", "002")} <= {(p.a, p.b) for p in full.pairs}


def test_clusters_are_connected_components():
    pairs = [("b", "c"), ("a", "b"), ("x", "y"), ("c", "a")]
    assert clusters_from_pairs(pairs) == [("a", "b", "c"), ("x", "y")]
    assert clusters_from_pairs([]) == []


def test_long_chains_stay_one_cluster():
    pairs = [(f"d{i:04d}", f"d{i + 1:04d}") for i in range(2000)]
    (cluster,) = clusters_from_pairs(pairs)
    assert len(cluster) == 2001
