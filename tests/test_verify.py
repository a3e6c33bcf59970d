from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dedup import Document, ScanConfig, prepare, verify
from dedup.verify import IdfTable, TextFeatures, Verifier, sentence_scores

SEEDS = Path(__file__).resolve().parent.parent / "fixtures" / "seeds"


def _seed(prefix):
    path = next(SEEDS.glob(f"{prefix}_*.txt"))
    return prepare(Document(prefix, path.read_text("utf-8")))


@pytest.fixture(scope="module")
def seeds():
    docs = {p: _seed(p) for p in ("000", "001", "002", "003", "004")}
    return docs, IdfTable.from_documents(docs.values())


@pytest.mark.parametrize(("a", "b"), [("000", "001"), ("000", "002"), ("000", "003"), ("001", "002"), ("002", "003")])
def test_same_story_pairs_are_related(seeds, a, b):
    docs, idf = seeds
    result = verify(docs[a], docs[b], idf)
    assert result.related, result.reason
    assert result.scores["matched_sentences"] >= 2


@pytest.mark.parametrize("other", ["000", "001", "002", "003"])
def test_different_event_is_not_related(seeds, other):
    docs, idf = seeds
    result = verify(docs[other], docs["004"], idf)
    assert not result.related, result.reason
    assert result.relation is None


BASE = (
    "The central bank cut its key interest rate by half a point to 4.5 pct on Tuesday. "
    "Governor Anna Berg said inflation had fallen faster than expected in the third quarter. "
    "Analysts at Nordbank had forecast a quarter point cut after weak retail sales data. "
    "The currency fell 0.8 pct against the euro after the announcement in Stockholm. "
    "Berg said the bank would watch wage talks closely before deciding on further moves."
)


def _pair(a_text, b_text):
    a, b = prepare(Document("a", a_text)), prepare(Document("b", b_text))
    return verify(a, b, IdfTable.from_documents([a, b]))


def test_identical_texts_are_duplicates():
    assert _pair(BASE, BASE).relation == "duplicate"


def test_copy_with_added_paragraph_is_syndicated():
    extra = (" Shares in Swedish banks rose in early trading. Economists expect two more cuts next year. "
             "Mortgage lenders said they would pass on the cut to customers within days.")
    result = _pair(BASE, "By Staff Writer\n" + BASE.replace("Tuesday", "Tuesday morning") + extra)
    assert result.relation == "syndicated", result.reason


def test_reworded_copy_is_a_rewrite():
    rewrite = (
        "On Tuesday the central bank lowered its main interest rate by half a point, to 4.5 pct. "
        "Inflation had dropped more quickly than expected in the third quarter, governor Anna Berg said. "
        "Before deciding on any further move, the bank will monitor wage negotiations, Berg said."
    )
    result = _pair(BASE, rewrite)
    assert result.related, result.reason
    assert result.relation == "rewrite"


def test_templates_with_other_figures_are_not_copies():
    a = "Shr 47 cts vs 40 cts\nNet 1,234,000 vs 1,100,000\nRevs 44.5 mln vs 35.7 mln\nAvg shrs 2,212,000 vs 1,482,000"
    b = "Shr 22 cts vs 94 cts\nNet 5,678,000 vs 9,900,000\nRevs 92.6 mln vs 77.1 mln\nAvg shrs 9,589,000 vs 9,348,000"
    assert not _pair(a, b).related


def test_empty_documents_are_not_related():
    assert not _pair("", BASE).related


def test_stricter_config_changes_the_verdict(seeds):
    docs, idf = seeds
    assert not verify(docs["000"], docs["002"], idf, ScanConfig(min_matches=10)).related


OTHER = (
    "Copper prices climbed in London as Chilean miners extended their strike into a second week. "
    "Traders said stocks in exchange warehouses had fallen to their lowest level since March. "
    "The union rejected a new wage offer on Sunday and said talks would resume on Thursday. "
    "Smelters in China bought more concentrate than expected, a Shanghai dealer said."
)
SHORT_SHARED = "The plant employs 300 people."
LONG_SHARED = ("The finance ministry said the new rules on foreign holdings of treasury bills would "
               "take effect at the start of April.")
PARAPHRASE_A = "Analysts at Nordbank had forecast a quarter point cut after weak retail sales data in Stockholm."
PARAPHRASE_B = "Weak retail sales data in Stockholm had led Nordbank analysts to forecast a cut of a quarter point."


def test_paraphrase_level_matches_alone_are_not_partial_reuse():
    # A shared fact in other words and a short shared line, inside otherwise different
    # articles: same topic (or site chrome), not reuse.
    result = _pair(BASE + " " + PARAPHRASE_A + " " + SHORT_SHARED, OTHER + " " + PARAPHRASE_B + " " + SHORT_SHARED)
    assert not result.related, result.reason
    assert "partial reuse needs" in result.reason


def test_a_long_reused_sentence_is_partial_reuse():
    result = _pair(BASE + " " + PARAPHRASE_A + " " + LONG_SHARED, OTHER + " " + PARAPHRASE_B + " " + LONG_SHARED)
    assert result.related, result.reason
    assert result.relation == "partial"


def test_spelled_out_numbers_are_figures():
    # Two car bombs on different days: alike in words, not in figures ("six" is 6).
    a = ("A car bomb exploded outside the Education Ministry in central Baghdad on Tuesday, killing at "
         "least six people and wounding about eight, the Interior Ministry said.")
    b = ("A car bomb exploded near a police patrol in central Baghdad on Thursday, killing 17 people and "
         "wounding 20, the Interior Ministry said.")
    c = a.replace("six", "6").replace("eight", "8").replace("Tuesday", "Tuesday morning")
    pa, pb, pc = (prepare(Document(i, t)) for i, t in (("a", a), ("b", b), ("c", c)))
    overlap, _, _ = sentence_scores(pa, pb, IdfTable.from_documents([pa, pb, pc]))
    assert overlap[0, 0] == 0.0
    overlap, _, _ = sentence_scores(pa, pc, IdfTable.from_documents([pa, pb, pc]))
    assert overlap[0, 0] > 0.5


def test_feature_digest_tells_texts_apart_by_what_verification_reads():
    from dedup.verify import TextFeatures

    config = ScanConfig()

    def features(doc_id: str, text: str) -> TextFeatures:
        return TextFeatures.of(prepare(Document(doc_id, text)), config)

    base = "Shares of Acme rose 12 pct to 45 dlrs on Monday. The company said profits doubled."
    same = features("b", base)
    assert features("a", base).digest() == same.digest()  # the id is not read
    others = [
        base.replace("12 pct", "13 pct"),  # a figure
        base.replace("Monday", "Tuesday"),  # a word
        base.replace("doubled.", "doubled. It hired staff."),  # a sentence more
        base.replace(". The", "; the"),  # the same words, other sentences
    ]
    digests = {features("x", t).digest() for t in others}
    assert len(digests) == len(others) and same.digest() not in digests


@given(st.lists(st.sampled_from(["6", "1987", "2025", "20", "19", "six", "douze", "dozen", "a", "elysee", "²",
                                 "5.93", "15000", "un", "", "ten", "tens"]), max_size=12))
def test_figure_parts_are_the_digits_and_spelled_numbers_of_the_words(words):
    from dedup.prepare import Sentence
    from dedup.types import Span
    from dedup.verify import _NUMBER_WORDS, figure_parts

    sentence = Sentence(Span(0, 1), 0, tuple(words), ())
    digits = {w for w in words if w[:1].isdigit() and not (len(w) == 4 and w[:2] in ("19", "20"))}
    assert figure_parts(sentence) == (frozenset(digits), frozenset(_NUMBER_WORDS[w] for w in words
                                                                    if w in _NUMBER_WORDS))


def test_scores_without_the_full_ratio_equal_the_full_ones_where_verification_reads_them():
    a = prepare(Document("a", BASE + " Revenue rose to 44.5 mln crowns from 35.7 mln a year earlier."))
    b = prepare(Document("b", BASE.replace("Tuesday", "Wednesday") + " Revenue rose to 92.6 mln crowns "
                         "from 77.1 mln a year earlier. The central bank cut its key rate by 4.5 pct."))
    verifier = Verifier(IdfTable.from_documents([a, b]))
    overlap, ratio, shared = verifier.scores(a, b)
    part_overlap, part_ratio, part_shared = verifier.scores(a, b, full=False)
    assert (part_overlap == overlap).all() and (part_shared == shared).all()
    assert (part_ratio == np.where(overlap >= 0.5, ratio, 0.0)).all()
    assert overlap[-1, -2] == 0.0 < shared[-1, -2]  # other figures: no content overlap


@pytest.mark.parametrize("text", ["", "Un mot.", None])
def test_shingles_are_read_from_an_encoding_without_decoding_the_rest(seeds, text):
    doc = seeds[0]["003"] if text is None else prepare(Document("e", text))
    features = TextFeatures.of(doc, ScanConfig())
    blob = b"xyz" + features.to_bytes()
    read = TextFeatures.shingles_from_bytes(blob, 3)
    assert read.dtype == np.uint32 and read.tolist() == features.shingles.tolist()
    assert TextFeatures.from_bytes(blob[3:]).shingles.tolist() == read.tolist()
