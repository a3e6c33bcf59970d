"""Tests of dedup.attribute: origins, families, directions and the tree, on the seeds and on
synthetic cases kept as data in tests/data/attribute/."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from dedup.attribute import (
    AttributeConfig,
    Attribution,
    attribute,
    decide_direction,
    document_origin,
    render_tree,
    translation_hints,
)
from dedup.credits import extract_credits, load_agency_table
from dedup.errors import ConfigError, DedupError
from dedup.scan import ScanResult, scan_documents, scan_paths
from dedup.types import Document

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data" / "attribute"

S000 = "000_737f3747a9db65a5.txt"
S001 = "001_3503557c23b23be1.txt"
S002 = "002_bf7529996fc2e022.txt"
S003 = "003_19e94b5d51f8bfbe.txt"
S004 = "004_8afae5d1ef3306d5.txt"


def _load(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


@cache
def _seeds() -> tuple[ScanResult, Attribution]:
    result = scan_paths([str(ROOT / "fixtures" / "seeds")])
    return result, attribute(result)


def _text(sentences: dict[str, str], paragraphs: list[list[str]]) -> str:
    return "\n\n".join("".join(sentences.get(piece, piece) for piece in para) for para in paragraphs)


@cache
def _families() -> tuple[ScanResult, Attribution]:
    data = _load("families.json")
    docs = [Document(d["id"], _text(data["sentences"], d["paragraphs"])) for d in data["documents"]]
    result = scan_documents(docs)
    return result, attribute(result)


# --------------------------------------------------------------------------- seeds


def test_seed_origins_come_from_text_and_link_credits_never_photo() -> None:
    _, at = _seeds()
    d003 = at.documents[S003]
    assert d003.origin == "AFP"
    assert d003.family == "AFP-derived"
    assert any("by rule: France Télévisions publishes unsigned AFP" in line for line in d003.evidence)
    assert any("photo credit alone never decides" in line for line in d003.evidence)
    d002 = at.documents[S002]
    assert d002.origin == "Al Jazeera"
    assert d002.family == "Al Jazeera-derived"
    assert any(line.startswith("origin: Al Jazeera, from its link credit") and "aljazeera.com" in line
               for line in d002.evidence)


def test_seed_photo_credit_alone_does_not_make_003_afp() -> None:
    """Without the republisher rule, the photo credit "(KCNA VIA KNS / AFP)" gives no origin."""
    result, _ = _seeds()
    text = next(d.text for d in result.documents if d.id == S003)
    table = load_agency_table()
    credits = extract_credits(text, table=table)
    assert ("AFP", "photo") in {(c.name, c.kind) for c in credits}
    assert document_origin(credits, table, AttributeConfig(republishers={})) is None


def test_seed_000_is_mixed_with_passages_from_both_origins() -> None:
    result, at = _seeds()
    d000 = at.documents[S000]
    assert d000.family == "mixed"
    assert d000.origin is None
    assert set(d000.derived_from) == {S002, S003}
    text = next(d.text for d in result.documents if d.id == S000)
    second_paragraph = text.index("Selon KCNA")
    details = text.index("Détails du soutien")
    afp = [p for p in d000.passages if p.exclusive and p.families == ("AFP",)]
    aj = [p for p in d000.passages if p.exclusive and p.families == ("Al Jazeera",)]
    assert any(p.source == S003 and p.span.start == second_paragraph for p in afp)
    assert aj and all(p.source == S002 and p.span.start > details for p in aj)
    assert d000.evidence[0].startswith("family: mixed, substantial passages from AFP and Al Jazeera")
    assert any(line.startswith("passage (AFP)") and "Selon KCNA" in line for line in d000.evidence)


def test_seed_001_is_al_jazeera_derived_despite_its_pair_with_003() -> None:
    result, at = _seeds()
    assert any({p.a, p.b} == {S001, S003} for p in result.pairs)  # the KCNA quotes both origins carry
    d001 = at.documents[S001]
    assert d001.family == "Al Jazeera-derived"
    assert d001.derived_from == (S002,)
    assert any(line.startswith("passage (Al Jazeera)") for line in d001.evidence)
    assert any(line.startswith("passage (shared by AFP and Al Jazeera)") for line in d001.evidence)


def test_seed_004_has_no_family_but_keeps_its_photo_credit() -> None:
    _, at = _seeds()
    d004 = at.documents[S004]
    assert d004.family is None and d004.origin is None and d004.derived_from == ()
    assert ("AFP", "photo") in {(c.name, c.kind) for c in d004.credits}
    as_json = at.document_dict(S004)
    assert as_json["family"] is None
    assert {"name": "AFP", "kind": "photo"}.items() <= as_json["credits"][0].items()


SEED_DIRECTIONS = [
    (S000, S003, S003, ["date: 003_19e94b5d51f8bfbe.txt published 2025-12-27T14:01, 000_737f3747a9db65a5.txt undated",
                        "coverage: 69% of 003_19e94b5d51f8bfbe.txt found in 000_737f3747a9db65a5.txt vs 52%"]),
    (S000, S002, S002, ["credits: 002_bf7529996fc2e022.txt is credited to Al Jazeera"]),
    (S001, S002, S002, ["family: 001_3503557c23b23be1.txt's Al Jazeera passages align with 002"]),
    (S002, S003, None, ["direction: none, different origins"]),
    (S001, S003, None, ["direction: none, different origins"]),
    (S000, S001, None, ["direction: none, siblings"]),
]


@pytest.mark.parametrize(("a", "b", "source", "says"), SEED_DIRECTIONS, ids=lambda v: str(v)[:3])
def test_seed_directions(a: str, b: str, source: str | None, says: list[str]) -> None:
    _, at = _seeds()
    pair = at.pair(a, b)
    assert pair is not None
    if source is None:
        assert pair.direction is None
        assert at.direction_dict(a, b) is None
    else:
        assert pair.direction is not None
        assert pair.direction.source == source
        assert pair.direction.derived == (b if source == a else a)
        assert 0.5 < pair.direction.confidence <= 1.0
        assert at.direction_dict(b, a) == pair.direction.to_dict()
    for fragment in says:
        assert any(line.startswith(fragment) for line in pair.evidence), (fragment, pair.evidence)


def test_seed_tree() -> None:
    result, at = _seeds()
    lines = render_tree(at, result).splitlines()
    assert lines[0] == "c1  Al Jazeera-derived / AFP-derived  (4 documents)"
    assert lines[1] == f"  {S002}  origin: Al Jazeera (link credit)"
    assert lines[2].startswith(f"  ├─ {S000}  mixed  ") and lines[2].endswith(f"of its text reused from {S002}")
    assert lines[3].startswith(f"  └─ {S001}  Al Jazeera-derived  ")
    assert lines[4] == (f"  {S003}  origin: AFP (France Télévisions, republisher rule)  "
                        "published 2025-12-27T14:01")
    assert lines[5].startswith(f"  └─ {S000}  mixed  ")
    assert len(lines) == 6
    tree = at.tree("c1")
    assert tree is not None and tree.origins == (S002, S003) and tree.unattached == ()


def test_seed_json_contract() -> None:
    result, at = _seeds()
    doc = at.document_dict(S000)
    assert {"family", "derived_from", "credits"} <= doc.keys()
    assert doc["derived_from"] == list(at.documents[S000].derived_from)
    for credit in at.document_dict(S002)["credits"]:
        assert {"name", "kind", "evidence"} <= credit.keys()
        assert credit["kind"] in ("text", "photo", "link", "byline", "quoted", "publisher")
    direction = at.direction_dict(S000, S003)
    assert direction is not None and (direction["source"], direction["derived"]) == (S003, S000)
    pair = at.pair_dict(S002, S003)
    assert pair["direction"] is None and pair["direction_evidence"]
    json.dumps(at.to_dict())
    json.dumps([at.document_dict(d.id) for d in result.documents])


def test_seed_translation_hint_is_evidence_only() -> None:
    _, at = _seeds()
    hints = [line for line in at.documents[S002].evidence if line.startswith("translation hint")]
    assert hints == ["translation hint: “Kursk” (English spelling; French “Koursk”) suggests a source "
                     "translated from English",
                     "translation hints agree with its English-language origin (Al Jazeera)"]
    assert not any(line.startswith("translation hint") for line in at.documents[S003].evidence)
    assert at.documents[S002].origin == "Al Jazeera"  # from the link credit, not from the hint


# --------------------------------------------------------------------------- synthetic families


def test_synthetic_families() -> None:
    result, at = _families()
    expect = _load("families.json")["expect"]
    for doc_id, want in expect["documents"].items():
        got = at.documents[doc_id]
        assert got.family == want["family"], (doc_id, got.evidence)
        assert got.origin == want["origin"], doc_id
        if "derived_from" in want:
            assert set(got.derived_from) == set(want["derived_from"]), doc_id


def test_synthetic_directions() -> None:
    _, at = _families()
    for key, source in _load("families.json")["expect"]["directions"].items():
        a, b = key.split()
        pair = at.pair(a, b)
        assert pair is not None, key
        got = pair.direction.source if pair.direction else None
        assert got == source, (key, pair.evidence)


def test_photo_credit_never_anchors_a_family() -> None:
    result, at = _families()
    photo = at.documents["strike_photo"]
    assert ("AFP", "photo") in {(c.name, c.kind) for c in photo.credits}
    assert photo.origin is None
    assert photo.family == "unknown" and at.documents["strike_quoted"].family == "unknown"
    cluster = result.cluster_of("strike_photo")
    assert cluster is not None
    tree = at.tree(cluster.id)
    assert tree is not None and tree.origins == () and tree.families == ()


def test_quoted_agency_never_anchors_a_family() -> None:
    _, at = _families()
    quoted = at.documents["strike_quoted"]
    assert ("Reuters", "quoted") in {(c.name, c.kind) for c in quoted.credits}
    assert quoted.origin is None
    assert any(line.startswith("quoted source (not the origin): Reuters") for line in quoted.evidence)


def test_synthetic_tree_lists_mixed_under_both_origins() -> None:
    result, at = _families()
    text = render_tree(at, result)
    assert "  afp_origin  origin: AFP (text credit)" in text
    assert "  aj_origin  origin: Al Jazeera (link credit)" in text
    assert text.count("mixed  mixed  42% of its text reused from") == 2
    assert "  chess_a  unknown  (no origin found)" in text


# --------------------------------------------------------------------------- direction cases


@pytest.mark.parametrize("case", _load("direction.json")["cases"], ids=lambda c: c["name"])
def test_direction_cases(case: dict[str, Any]) -> None:
    sentences = _load("families.json")["sentences"]
    base = ["A1", "A2", "A3", "A4", "A5", "A6"]

    def paragraphs(keys: list[str]) -> list[list[str]]:
        return [[keys[i], " ", keys[i + 1]] if i + 1 < len(keys) else [keys[i]] for i in range(0, len(keys), 2)]

    docs = [
        Document("a", _text(sentences, paragraphs(base)), date=case["a_date"]),
        Document("b", _text(sentences, paragraphs(case["b"])), date=case["b_date"]),
    ]
    result = scan_documents(docs)
    at = attribute(result)
    pair = at.pair("a", "b")
    assert pair is not None
    got = pair.direction.source if pair.direction else None
    assert got == case["source"], pair.evidence
    assert any(case["says"] in line for line in pair.evidence), pair.evidence
    if pair.direction is not None:
        assert pair.direction.evidence == pair.evidence
        assert at.documents[pair.direction.derived].derived_from == (pair.direction.source,)


def test_dates_raise_confidence() -> None:
    sentences = _load("families.json")["sentences"]
    a = _text(sentences, [["A1", " ", "A2"], ["A3", " ", "A4"], ["A5", " ", "A6"]])
    added = [["D1", " ", "E1"], ["M1", " ", "B6"]]
    b = _text(sentences, [["A1", " ", "A2"], ["A3", " ", "A4"], ["A5", " ", "A6"], *added])
    undated = attribute(scan_documents([Document("a", a), Document("b", b)])).direction("a", "b")
    dated = attribute(scan_documents([Document("a", a, date="2025-03-04"), Document("b", b, date="2025-03-05")]))
    assert undated is not None and dated.direction("a", "b") is not None
    assert dated.direction("a", "b").confidence > undated.confidence  # type: ignore[union-attr]


def test_dated_chain_derives_from_the_nearest_copy() -> None:
    """c copies b which copies a: c derives from b, not from both."""
    sentences = _load("families.json")["sentences"]
    a = [["A1", " ", "A2"], ["A3", " ", "A4"]]
    b = [*a, ["D1", " ", "E1"]]
    c = [*b, ["M1", " ", "B6"]]
    docs = [Document(name, _text(sentences, paras), date=f"2025-03-0{n + 4}")
            for n, (name, paras) in enumerate([("a", a), ("b", b), ("c", c)])]
    result = scan_documents(docs)
    at = attribute(result)
    assert {(d.source, d.derived) for p in result.pairs if (d := at.direction(p.a, p.b))} == {
        ("a", "b"), ("a", "c"), ("b", "c")}
    assert at.documents["b"].derived_from == ("a",)
    assert at.documents["c"].derived_from == ("b",)
    assert render_tree(at, result).splitlines()[1:] == [
        "  a  source  unknown  published 2025-03-04",
        "  └─ b  unknown  71% of its text reused from a",
        "     └─ c  unknown  78% of its text reused from b",
    ]


DECISIONS = [
    ("agree", [(1.5, "date"), (1.0, "coverage")], None, "a", "direction: b derives from a"),
    ("reverse", [(-1.0, "credits"), (0.2, "coverage")], None, "b", "direction: a derives from b"),
    ("conflict", [(1.5, "date"), (-1.0, "coverage")], None, None, "conflicting evidence"),
    ("weak", [(0.3, "coverage")], None, None, "evidence too weak"),
    ("none", [(0.0, "date: a and b undated")], None, None, "no evidence either way"),
    ("veto", [(1.5, "date")], "different origins", None, "direction: none, different origins"),
]


@pytest.mark.parametrize(("name", "signals", "veto", "source", "says"), DECISIONS, ids=[d[0] for d in DECISIONS])
def test_decide_direction(name: str, signals: list[tuple[float, str]], veto: str | None, source: str | None,
                          says: str) -> None:
    direction, lines = decide_direction("a", "b", signals, veto=veto)
    assert (direction.source if direction else None) == source
    assert says in lines[-1]
    if direction is not None:
        assert 0.0 < direction.confidence <= 1.0
        assert direction.evidence == lines
    assert len(lines) == len(signals) + 1


# --------------------------------------------------------------------------- origins and hints


@pytest.mark.parametrize("case", _load("origins.json")["cases"], ids=lambda c: c["name"])
def test_document_origin_cases(case: dict[str, Any]) -> None:
    table = load_agency_table()
    credits = extract_credits(case["text"], url=case.get("url"), table=table)
    origin = document_origin(credits, table)
    if case["origin"] is None:
        assert origin is None
    else:
        assert origin is not None
        assert list(origin.names) == case["origin"]
        assert origin.by_rule == case["by_rule"]
        assert origin.evidence and all(line.startswith(("origin: ", "agrees: ")) for line in origin.evidence)


@pytest.mark.parametrize("case", _load("hints.json")["cases"], ids=lambda c: c["text"][:30])
def test_translation_hints(case: dict[str, Any]) -> None:
    lines = translation_hints(case["text"], case["language"])
    assert len(lines) == len(case["found"])
    for name, line in zip(case["found"], lines, strict=True):
        assert line.startswith(f"translation hint: “{name}”")


def test_republishers_can_be_configured() -> None:
    table = load_agency_table()
    credits = extract_credits("Le Monde\nLe fleuve est sorti de son lit.", table=table)
    origin = document_origin(credits, table, AttributeConfig(republishers={"Le Monde": ["AFP", "Reuters"]}))
    assert origin is not None and origin.names == ("AFP", "Reuters") and origin.by_rule


@pytest.mark.parametrize(
    "overrides",
    [{"passage_threshold": 1.5}, {"mixed_share": -0.1}, {"date_weight": 0}, {"lean_ratio": 0.5},
     {"republishers": {"France Télévisions": "AFP"}}, {"exonyms": (("Koursk",),)}],
    ids=lambda o: next(iter(o)),
)
def test_config_rejects_bad_values(overrides: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as info:
        AttributeConfig(**overrides)
    assert isinstance(info.value, DedupError)
    assert next(iter(overrides)) in str(info.value)


def test_config_to_dict_is_json() -> None:
    json.dumps(AttributeConfig().to_dict())
