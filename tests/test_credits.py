"""Tests of dedup.credits: credit and date evidence.

Most cases live as data in tests/data/credits/ (one JSON object per line), each saying what
it expects and what it forbids, so a known failure stays visible.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.credits import (
    Agency,
    AgencyTable,
    Credit,
    DateMention,
    extract_credits,
    extract_dates,
    load_agency_table,
    publication_date,
)
from dedup.errors import ConfigError, DedupError
from dedup.types import Span

DATA = Path(__file__).parent / "data" / "credits"
SEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "seeds"


def _load_jsonl(name: str) -> list[dict]:
    with open(DATA / name, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


CREDIT_CASES = _load_jsonl("cases.jsonl")
DATE_CASES = _load_jsonl("dates.jsonl")


def _seed(prefix: str) -> str:
    (path,) = SEEDS.glob(f"{prefix}_*.txt")
    return path.read_text(encoding="utf-8")


def _pairs(credits: tuple[Credit, ...]) -> set[tuple[str, str]]:
    return {(c.name, c.kind) for c in credits}


def _forbidden(credit: Credit, rule: dict) -> bool:
    return all(getattr(credit, key) == value for key, value in rule.items())


def _assert_spans_exact(text: str, credits: tuple[Credit, ...]) -> None:
    for credit in credits:
        if credit.span is not None:
            assert 0 <= credit.span.start <= credit.span.end <= len(text)
            assert text[credit.span.start : credit.span.end] == credit.evidence
            assert credit.evidence == credit.evidence.strip()


# ----------------------------------------------------------------------------- data cases


def test_case_files_are_big_enough_and_ids_unique():
    assert len(CREDIT_CASES) >= 40
    ids = [c["id"] for c in CREDIT_CASES] + [c["id"] for c in DATE_CASES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("case", CREDIT_CASES, ids=[c["id"] for c in CREDIT_CASES])
def test_credit_case(case):
    credits = extract_credits(case["text"])
    found = _pairs(credits)
    for want in case["expect"]:
        assert (want["name"], want["kind"]) in found, (case["note"], credits)
    for rule in case["forbid"]:
        bad = [c for c in credits if _forbidden(c, rule)]
        assert not bad, (case["note"], bad)
    _assert_spans_exact(case["text"], credits)


@pytest.mark.parametrize("case", DATE_CASES, ids=[c["id"] for c in DATE_CASES])
def test_date_case(case):
    mentions = extract_dates(case["text"], date=case["date"])
    found = [(m.value, m.kind) for m in mentions]
    expected = [(e["value"], e["kind"]) for e in case["expect"]]
    if case["exhaustive"]:
        assert found == expected, case["note"]
    else:
        for want in expected:
            assert want in found, (case["note"], found)
    values = {m.value for m in mentions}
    assert not values & set(case["forbid"]), case["note"]
    assert publication_date(case["text"], date=case["date"]) == case["publication"]
    for m in mentions:
        if m.span is not None:
            assert case["text"][m.span.start : m.span.end] == m.evidence


# ----------------------------------------------------------------------------- seeds


def test_seed_003_photo_and_publisher_but_no_text_credit():
    text = _seed("003")
    found = _pairs(extract_credits(text))
    assert ("AFP", "photo") in found
    assert ("France Télévisions", "publisher") in found
    assert ("AFP", "text") not in found  # the real situation: only the photo says AFP
    assert ("KCNA", "quoted") in found


def test_seed_003_publication_date():
    text = _seed("003")
    assert publication_date(text) == "2025-12-27T14:01"
    kinds = {(m.value, m.kind) for m in extract_dates(text)}
    assert ("2025-12-27T14:07", "updated") in kinds
    assert ("2025-12-26", "mentioned") in kinds  # "vendredi 26 décembre", year from publication


def test_seed_002_link_byline_and_quoted_sources():
    credits = extract_credits(_seed("002"))
    found = _pairs(credits)
    assert {("Al Jazeera", "link"), ("Sara", "byline"), ("KCNA", "quoted"), ("Yonhap", "quoted")} <= found
    assert ("KCNA", "text") not in found
    assert ("Yonhap", "text") not in found


def test_seed_004_photo_is_not_text():
    found = _pairs(extract_credits(_seed("004")))
    assert ("AFP", "photo") in found
    assert ("AFP", "text") not in found
    assert ("KCNA", "quoted") in found
    assert ("Guy Birchall", "byline") in found


def test_seeds_000_001_have_no_origin_credit():
    for prefix in ("000", "001"):
        credits = extract_credits(_seed(prefix))
        assert not [c for c in credits if c.kind in ("text", "photo", "link")]
    assert ("The Korea Times", "quoted") in _pairs(extract_credits(_seed("000")))


def test_all_seed_spans_exact():
    for path in sorted(SEEDS.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        _assert_spans_exact(text, extract_credits(text))


# ----------------------------------------------------------------------------- properties

CREDIT_LINES = [
    ("PARIS (AFP) - Le président a parlé.", ("AFP", "text")),
    ("SEOUL, Dec 27 (Reuters) - Kim spoke.", ("Reuters", "text")),
    ("Avec AFP", ("AFP", "text")),
    ("Source : AFP", ("AFP", "text")),
    ("© Reuters 2025", ("Reuters", "text")),
    ("source:https://www.aljazeera.com/news/2025/12/27/x", ("Al Jazeera", "link")),
    ("Photo: YEKATERINA SHTUKINA/POOL/AFP via Getty Images", ("AFP", "photo")),
    ("Kim à Pyongyang. (KCNA VIA KNS / AFP)", ("AFP", "photo")),
    ("par Sara", ("Sara", "byline")),
    ("France Télévisions", ("France Télévisions", "publisher")),
    ("Le bilan, selon l'agence sud-coréenne Yonhap, est lourd.", ("Yonhap", "quoted")),
]
# Filler that cannot itself form a credit: lowercase words, digits, spaces, some punctuation.
FILLER = st.text(alphabet="abcdefghijklmnopqrstuvwxyz éèà0123456789,.", max_size=80)


@settings(max_examples=150, deadline=None)
@given(
    line=st.sampled_from(CREDIT_LINES),
    before=st.lists(FILLER, max_size=3),
    after=st.lists(FILLER, max_size=3),
)
def test_credit_line_survives_surrounding_text_with_exact_spans(line, before, after):
    credit_line, expected = line
    prefix = "".join(b + "\n" for b in before)
    text = prefix + credit_line + "".join("\n" + a for a in after)
    credits = extract_credits(text)
    _assert_spans_exact(text, credits)
    hits = [c for c in credits if (c.name, c.kind) == expected]
    assert hits, credits
    for c in hits:
        assert c.span is not None
        assert len(prefix) <= c.span.start and c.span.end <= len(prefix) + len(credit_line)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_gives_exact_spans(text):
    credits = extract_credits(text)
    _assert_spans_exact(text, credits)
    keys = [(c.name, c.kind, c.evidence) for c in credits]
    assert len(keys) == len(set(keys))
    for m in extract_dates(text):
        assert m.span is not None and text[m.span.start : m.span.end] == m.evidence


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.sampled_from([c[0] for c in CREDIT_LINES] + ["Le texte.", "(AFP)", "Par Jean Dupont"]),
        max_size=6,
    )
)
def test_credits_come_in_text_order_without_duplicates(lines):
    text = "\n".join(lines)
    credits = extract_credits(text)
    starts = [c.span.start for c in credits if c.span is not None]
    assert starts == sorted(starts)
    keys = [(c.name, c.kind, c.evidence) for c in credits]
    assert len(keys) == len(set(keys))


# ----------------------------------------------------------------------------- API details


def test_repeated_credit_keeps_distinct_evidences_once():
    text = "PARIS (AFP) - Début.\nAvec AFP\nAvec AFP"
    credits = [c for c in extract_credits(text) if c.name == "AFP"]
    assert [c.evidence for c in credits] == ["PARIS (AFP) -", "Avec AFP"]


def test_metadata_credits_come_first_without_span():
    credits = extract_credits(
        "PARIS (AFP) - Le texte.",
        url="https://www.francetvinfo.fr/monde/article.html",
        source="https://www.aljazeera.com/news/x",
    )
    assert credits[0] == Credit(
        "France Télévisions", "publisher", "https://www.francetvinfo.fr/monde/article.html", None
    )
    assert credits[1].name == "Al Jazeera" and credits[1].kind == "link"
    assert credits[1].span is None
    assert ("AFP", "text") in _pairs(credits)


def test_metadata_source_name_and_unknown_url():
    credits = extract_credits("", url="https://news.example.com/a", source="Le Monde")
    assert [(c.name, c.kind) for c in credits] == [
        ("news.example.com", "publisher"),
        ("Le Monde", "publisher"),
    ]


def test_credit_to_dict():
    credit = Credit("AFP", "text", "(AFP)", Span(6, 11))
    assert credit.to_dict() == {"name": "AFP", "kind": "text", "evidence": "(AFP)", "start": 6, "end": 11}
    assert Credit("AFP", "publisher", "afp.com", None).to_dict() == {
        "name": "AFP",
        "kind": "publisher",
        "evidence": "afp.com",
    }


def test_date_mention_to_dict():
    mention = DateMention("2025-12-26", "26 décembre 2025", Span(0, 16), "mentioned")
    assert mention.to_dict() == {
        "value": "2025-12-26",
        "kind": "mentioned",
        "evidence": "26 décembre 2025",
        "start": 0,
        "end": 16,
    }


def test_value_types_are_frozen_and_checked():
    credit = Credit("AFP", "text", "(AFP)", None)
    with pytest.raises(AttributeError):
        credit.name = "Reuters"  # type: ignore[misc]
    with pytest.raises(ValueError, match="credit kind"):
        Credit("AFP", "wire", "(AFP)", None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="date kind"):
        DateMention("2025-12-26", "x", None, "someday")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- agency table


def test_packaged_table_has_required_agencies():
    table = load_agency_table()
    required = [
        "AFP", "Reuters", "AP", "Al Jazeera", "DPA", "EFE", "ANSA", "Xinhua", "Kyodo", "Yonhap",
        "KCNA", "TASS", "RIA Novosti", "Belga", "Keystone-ATS", "Bloomberg", "BBC", "CNN",
        "The Guardian", "Le Monde", "Le Figaro", "France Télévisions", "The Korea Times",
        "The New York Times", "Getty Images", "EPA",
    ]  # fmt: skip
    for name in required:
        assert table.get(name) is not None, name
    assert table.get("Getty Images").kind == "photo_agency"
    assert table.lookup("Agence France-Presse").name == "AFP"
    assert table.lookup("al-jazeera").name == "Al Jazeera"
    assert table.lookup("afp") is None  # short acronyms are case-sensitive


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://www.aljazeera.com/news/2025/12/27/x", "Al Jazeera"),
        ("https://www.reuters.com/world/", "Reuters"),
        ("https://www.afp.com/fr", "AFP"),
        ("https://apnews.com/article/x", "AP"),
        ("https://www.francetvinfo.fr/monde/", "France Télévisions"),
        ("https://www.lemonde.fr/international/", "Le Monde"),
        ("https://www.bbc.co.uk/news", "BBC"),
        ("https://www.bbc.com/news", "BBC"),
        ("https://www.theguardian.com/world", "The Guardian"),
        ("https://www.nytimes.com/2025/12/27/world/asia/x.html", "The New York Times"),
        ("https://edition.cnn.com/2025/12/27/asia/x", "CNN"),
        ("https://en.yna.co.kr/view/AEN2025", "Yonhap"),
        ("http://kcna.kp/en/article/q/x.kcmsf", "KCNA"),
        ("https://www.koreatimes.co.kr/www/nation/x.html", "The Korea Times"),
        ("koreatimes.co.kr", "The Korea Times"),
    ],
)
def test_domains_map_to_outlets(url, name):
    agency = load_agency_table().for_url(url)
    assert agency is not None and agency.name == name


def test_domain_suffix_is_not_a_parent_domain():
    table = load_agency_table()
    assert table.for_url("https://notafp.com/x") is None
    assert table.for_url("https://afp.com.evil.example/x") is None


def test_user_table_extends_and_overrides(tmp_path):
    path = tmp_path / "mine.json"
    path.write_text(
        json.dumps(
            [
                {
                    "name": "Ouest-France",
                    "kind": "outlet",
                    "aliases": ["Ouest-France", "Ouest France"],
                    "domains": ["ouest-france.fr"],
                },
                {"name": "AFP", "kind": "wire", "aliases": ["AFP", "Agence"], "domains": ["afp.fr"]},
            ]
        ),
        encoding="utf-8",
    )
    table = load_agency_table(path)
    assert table.get("Reuters") is not None  # packaged entries kept
    assert table.for_url("https://www.ouest-france.fr/monde/x").name == "Ouest-France"
    assert table.for_url("https://www.afp.fr/x").name == "AFP"
    assert table.for_url("https://www.afp.com/x") is None  # AFP replaced whole
    credits = extract_credits("RENNES (Ouest France) - Le texte.\nOuest-France", table=table)
    assert {("Ouest-France", "text"), ("Ouest-France", "publisher")} <= _pairs(credits)
    only = load_agency_table(path, extend=False)
    assert sorted(a.name for a in only) == ["AFP", "Ouest-France"]


def test_two_tables_do_not_share_state(tmp_path):
    path = tmp_path / "mine.json"
    path.write_text('[{"name": "Nikkei", "kind": "outlet", "aliases": ["Nikkei Asia"]}]')
    mine = load_agency_table(path)
    text = "TOKYO (Nikkei Asia) - Le texte."
    assert ("Nikkei", "text") in _pairs(extract_credits(text, table=mine))
    assert not extract_credits(text)
    assert load_agency_table().get("Nikkei") is None


def test_table_can_be_built_in_code():
    table = AgencyTable((Agency("Nikkei", "outlet", ("Nikkei Asia",), ("asia.nikkei.com",)),))
    assert len(table) == 1
    assert table.lookup("NIKKEI ASIA").name == "Nikkei"
    assert table.to_dict()["agencies"][0]["aliases"] == ["Nikkei", "Nikkei Asia"]


BAD_TABLES = [
    ("[{", "invalid JSON"),
    ('{"name": "AFP"}', "must be a JSON list"),
    ('["AFP"]', "entry 0: must be an object"),
    ('[{"kind": "wire", "aliases": []}]', "missing required key 'name'"),
    ('[{"name": "X", "kind": "blog", "aliases": []}]', "'kind' must be one of"),
    ('[{"name": "X", "kind": "wire", "aliases": "X"}]', "'aliases' must be a list"),
    ('[{"name": "X", "kind": "wire", "aliases": [""]}]', "non-empty strings"),
    ('[{"name": "X", "kind": "wire", "domains": ["http://x.com/"]}]', "'domains' must be"),
    ('[{"name": "X", "kind": "wire", "alias": ["X"]}]', "unknown key(s) ['alias']"),
    ('[{"name": "X", "kind": "wire", "case_sensitive": "yes"}]', "'case_sensitive'"),
    ('[{"name": "Foo", "kind": "wire", "aliases": ["AFP"]}]', "already an alias of 'AFP'"),
]


@pytest.mark.parametrize(("content", "problem"), BAD_TABLES, ids=[p for _, p in BAD_TABLES])
def test_bad_agency_file_names_file_and_problem(tmp_path, content, problem):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_agency_table(path)
    assert str(path) in str(info.value)
    assert problem in str(info.value)
    assert isinstance(info.value, DedupError)


def test_missing_agency_file(tmp_path):
    path = tmp_path / "nope.json"
    with pytest.raises(ConfigError, match="cannot read"):
        load_agency_table(path)


def test_agency_table_is_frozen():
    table = load_agency_table()
    with pytest.raises(AttributeError):
        table.agencies = ()  # type: ignore[misc]
