"""Passage alignment: seed expectations, cases as data, and invariants under random edits."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedup import ScanConfig, scan_documents, scan_paths
from dedup.align import (
    COVERAGE_KINDS,
    KINDS,
    AlignedPassage,
    Alignment,
    align,
    align_pairs,
    alignment_report,
    alignment_summary,
)
from dedup.normalize import tokenize
from dedup.prepare import prepare
from dedup.read import read_file
from dedup.types import Document, Span
from dedup.verify import IdfTable

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "fixtures" / "seeds"
CASES = json.loads((Path(__file__).parent / "data" / "align" / "cases.json").read_text("utf-8"))
REUSE = {"copied", "edited", "paraphrased"}


def _seed(number: int) -> Document:
    path = next(SEEDS.glob(f"{number:03d}_*.txt"))
    doc = read_file(path)[0]
    assert isinstance(doc, Document)
    return doc


@pytest.fixture(scope="module")
def seeds() -> dict[int, Document]:
    return {n: _seed(n) for n in range(5)}


def _surfaces(text: str, span: Span) -> list[str]:
    return [t.surface for t in tokenize(text, span.start, span.end)]


def check_invariants(al: Alignment, source: Document, derived: Document) -> None:
    """What every alignment guarantees, whatever the texts."""
    assert set(al.coverage) == set(COVERAGE_KINDS)
    assert all(0.0 <= v <= 1.0 for v in al.coverage.values())
    assert abs(sum(al.coverage.values()) - 1.0) < 1e-9
    for p in al.passages:
        assert p.kind in KINDS
        assert 0.0 <= p.score <= 1.0
        assert (p.derived is None) == (p.kind == "omitted")
        assert (p.source is None) == (p.kind == "added")
        if p.derived is not None:
            assert 0 <= p.derived.start < p.derived.end <= len(derived.text)
            assert derived.text[p.derived.start : p.derived.end].strip()
        if p.source is not None:
            assert 0 <= p.source.start < p.source.end <= len(source.text)
            assert source.text[p.source.start : p.source.end].strip()
        if p.kind == "copied":
            assert _surfaces(derived.text, p.derived) == _surfaces(source.text, p.source)
        for op in p.diff:
            assert op.op in ("replace", "delete", "insert")
            assert op.source_text == source.text[op.source.start : op.source.end]
            assert op.derived_text == derived.text[op.derived.start : op.derived.end]
    # derived passages are in text order, do not overlap, and partition the article sentences
    spans = [p.derived for p in al.passages if p.derived is not None]
    assert all(a.end <= b.start for a, b in zip(spans, spans[1:], strict=False))
    sentences = [s.span for s in prepare(derived).sentences]
    for s in sentences:
        covered = sum(max(0, min(s.end, d.end) - max(s.start, d.start)) for d in spans)
        assert covered == len(s)
    in_sentence = set()
    for s in sentences:
        in_sentence.update(range(s.start, s.end))
    for d in spans:
        assert all(derived.text[k].isspace() for k in range(d.start, d.end) if k not in in_sentence)
    # omitted source passages are not used by any derived passage
    used = [p.source for p in al.passages if p.source is not None and p.derived is not None]
    for p in al.passages:
        if p.kind == "omitted":
            assert not any(u.start < p.source.end and p.source.start < u.end for u in used)


# ---------------------------------------------------------------------------------------
# The seed articles


def test_003_to_000_second_paragraph_comes_from_003(seeds):
    source, derived = seeds[3], seeds[0]
    al = align(source, derived)
    check_invariants(al, source, derived)
    assert al.verdict in ("partial", "rewrite")
    start = derived.text.index("Selon KCNA, Kim Jong Un a déclaré")
    end = derived.text.index("Détails du soutien")
    second = [p for p in al.passages if p.derived is not None and start <= p.derived.start < end]
    assert second and all(p.kind in REUSE for p in second)
    kcna = next(p for p in second if p.derived.start == start)
    assert kcna.kind in ("copied", "edited")
    assert "KCNA, Kim Jong-un a déclaré que 2025" in source.text[kcna.source.start : kcna.source.end]
    # one derived sentence condenses three sentences of the source
    condensed = next(p for p in second if p.derived.start > start)
    assert source.text[condensed.source.start : condensed.source.end].count(". ") >= 2


def test_003_to_000_quote_reused_inside_new_sentence(seeds):
    source, derived = seeds[3], seeds[0]
    al = align(source, derived)
    first_paragraph_end = derived.text.index("\n")
    quotes = [p for p in al.passages if p.kind == "copied" and p.derived.end <= first_paragraph_end]
    assert quotes
    text = derived.text[quotes[0].derived.start : quotes[0].derived.end]
    assert text.startswith("« partagé le sang, la vie et la mort dans la même tranchée »")


def test_002_to_001_is_a_rewrite_or_partial(seeds):
    al = align(seeds[2], seeds[1])
    check_invariants(al, seeds[2], seeds[1])
    assert al.verdict in ("rewrite", "partial")
    assert al.coverage["paraphrased"] > 0


@pytest.mark.parametrize("other", [0, 1, 2, 3])
def test_pairs_with_004_are_unrelated(seeds, other):
    for source, derived in ((seeds[other], seeds[4]), (seeds[4], seeds[other])):
        al = align(source, derived)
        check_invariants(al, source, derived)
        assert al.verdict == "unrelated", al.reason
        assert al.coverage["added"] == 1.0


def test_unrelated_with_a_corpus_idf(seeds):
    idf = IdfTable.from_documents([prepare(d) for d in seeds.values()])
    assert align(seeds[2], seeds[4], idf=idf).verdict == "unrelated"
    assert align(seeds[3], seeds[0], idf=idf).verdict in ("partial", "rewrite")


@pytest.mark.parametrize("number", range(5))
def test_an_article_against_itself_is_verbatim(seeds, number):
    doc = seeds[number]
    al = align(doc, doc)
    check_invariants(al, doc, doc)
    assert al.verdict == "verbatim"
    assert al.coverage["copied"] == 1.0
    assert al.counts["omitted"] == 0
    # a repeated sentence matches its own copy: reading order wins ties
    assert all(p.derived == p.source for p in al.passages)


@pytest.mark.parametrize("number", range(5))
def test_shuffled_sentences_are_all_copied(seeds, number):
    doc = seeds[number]
    sentences = [doc.text[s.span.start : s.span.end] for s in prepare(doc).sentences]
    random.Random(number).shuffle(sentences)
    shuffled = Document("shuffled", "\n".join(sentences))
    al = align(doc, shuffled)
    check_invariants(al, doc, shuffled)
    assert al.verdict == "verbatim"
    assert {p.kind for p in al.passages if p.derived is not None} == {"copied"}


def test_speed_is_not_quadratic_in_python(seeds):
    """Sanity, not a benchmark: the longest seed against itself stays well under a second."""
    import time

    doc = seeds[1]
    t0 = time.perf_counter()
    align(doc, doc)
    assert time.perf_counter() - t0 < 2.0


# ---------------------------------------------------------------------------------------
# Single behaviours


SOURCE = (
    "Le gouvernement a présenté mardi un projet de loi sur la réforme des retraites. "
    "Le texte prévoit un report de l'âge légal à 64 ans d'ici 2030. "
    "Les syndicats ont appelé à une journée de grève nationale le 19 janvier."
)


def test_edited_sentence_diff_shows_the_changed_words():
    derived = SOURCE.replace("a présenté mardi", "a dévoilé mardi").replace("nationale le", "le")
    source_doc, derived_doc = Document("s", SOURCE), Document("d", derived)
    al = align(source_doc, derived_doc)
    check_invariants(al, source_doc, derived_doc)
    edited = [p for p in al.passages if p.kind == "edited"]
    assert len(edited) == 2
    changes = {(op.op, op.source_text, op.derived_text) for p in edited for op in p.diff}
    assert changes == {("replace", "présenté", "dévoilé"), ("delete", "nationale", "")}
    assert al.verdict == "light_edit"


def test_merged_sentences_align_to_the_run_of_two():
    derived = SOURCE.replace("retraites. Le texte", "retraites, et le texte")
    source_doc, derived_doc = Document("s", SOURCE), Document("d", derived)
    al = align(source_doc, derived_doc)
    check_invariants(al, source_doc, derived_doc)
    merged = al.passages[0]
    assert merged.kind == "edited"
    assert SOURCE[merged.source.start : merged.source.end] == SOURCE[: SOURCE.index(" Les syndicats")]
    assert [(op.op, op.derived_text) for op in merged.diff] == [("insert", "et")]


def test_quote_inside_new_sentence_is_copied_alone():
    source = SOURCE + " « Cette réforme est indispensable pour sauver notre système », a dit le ministre."
    derived = (
        "Les éditorialistes retiennent une formule, « cette réforme est indispensable pour sauver notre "
        "système », jugée maladroite. Les syndicats ont appelé à une journée de grève nationale le 19 janvier."
    )
    source_doc, derived_doc = Document("s", source), Document("d", derived)
    al = align(source_doc, derived_doc)
    check_invariants(al, source_doc, derived_doc)
    first = derived.index(" Les syndicats")
    quote = next(p for p in al.passages if p.kind == "copied" and p.derived.start < first)
    assert derived[quote.derived.start : quote.derived.end] == (
        "« cette réforme est indispensable pour sauver notre système »"
    )
    assert source[quote.source.start : quote.source.end] == "Cette réforme est indispensable pour sauver notre système"
    assert [p.kind for p in al.passages if p.derived is not None and p.derived.start < first] == [
        "added", "copied", "added"]
    assert derived[al.passages[2].derived.start : al.passages[2].derived.end] == ", jugée maladroite."


def test_reordered_paragraphs_are_found():
    paragraphs = [
        "Le gouvernement a présenté mardi un projet de loi sur la réforme des retraites.",
        "Le texte prévoit un report de l'âge légal à 64 ans d'ici 2030.",
        "Les syndicats ont appelé à une journée de grève nationale le 19 janvier.",
        "La Première ministre a défendu devant les députés un texte d'équilibre et de justice.",
    ]
    source = "\n\n".join(paragraphs)
    derived = "\n\n".join(paragraphs[2:] + paragraphs[:2])
    al = align(Document("s", source), Document("d", derived))
    assert al.verdict == "verbatim"
    for p in al.passages:
        assert derived[p.derived.start : p.derived.end] == source[p.source.start : p.source.end]


def test_empty_article_text():
    al = align(Document("s", SOURCE), Document("d", "Publié le 27/12/2025 14:01"))
    assert al.verdict == "unrelated"
    assert al.coverage["added"] == 1.0
    assert al.counts["omitted"] == 3


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_cases(case):
    source, derived = Document("source", case["source"]), Document("derived", case["derived"])
    al = align(source, derived)
    check_invariants(al, source, derived)
    assert al.verdict in case["verdict"], al.reason
    assert {p.kind for p in al.passages if p.derived is not None} == set(case["kinds"])
    for want in case.get("expect", []):
        found = [p for p in al.passages if p.kind == want["kind"] and _matches(p, want, source, derived)]
        assert found, f"no {want} in {[p.to_dict() for p in al.passages]}"


def _matches(p: AlignedPassage, want: dict, source: Document, derived: Document) -> bool:
    if "derived_text" in want and derived.text[p.derived.start : p.derived.end].strip() != want["derived_text"]:
        return False
    if "source_text" in want and source.text[p.source.start : p.source.end].strip() != want["source_text"]:
        return False
    changed_src = {w for op in p.diff for w in op.source_text.split()}
    changed_der = {w for op in p.diff for w in op.derived_text.split()}
    return set(want.get("changed_source_words", [])) <= changed_src and set(
        want.get("changed_derived_words", [])) <= changed_der


# ---------------------------------------------------------------------------------------
# Values, JSON and pairs of a scan


def test_to_dict_keeps_the_contract(seeds):
    al = align(seeds[3], seeds[0])
    data = json.loads(json.dumps(al.to_dict()))
    assert {"source", "derived", "verdict", "coverage", "passages"} <= set(data)
    assert set(data["coverage"]) == {"copied", "edited", "paraphrased", "added"}
    for p in data["passages"]:
        assert {"kind", "derived", "source", "score"} <= set(p)
        for side in ("derived", "source"):
            assert p[side] is None or set(p[side]) == {"start", "end"}
    report = alignment_report(al, seeds[3], seeds[0])
    first = report["passages"][0]
    assert first["derived_text"] == seeds[0].text[first["derived"]["start"] : first["derived"]["end"]]
    summary = alignment_summary(al)
    assert summary["verdict"] == al.verdict and summary["counts"] == al.counts
    assert "passages" not in summary


def test_value_types_validate():
    with pytest.raises(ValueError, match="kind must be one of"):
        AlignedPassage("stolen", Span(0, 1), None, 0.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"score must be in \[0.0, 1.0\]"):
        AlignedPassage("copied", Span(0, 1), Span(0, 1), 1.5)
    with pytest.raises(ValueError, match="source span is required"):
        AlignedPassage("copied", Span(0, 1), None, 1.0)
    with pytest.raises(ValueError, match="verdict must be one of"):
        Alignment("a", "b", "stolen", {}, ())  # type: ignore[arg-type]


def test_align_pairs_on_the_seed_scan():
    result = scan_paths([str(SEEDS)])
    alignments = align_pairs(result)
    assert set(alignments) == {(p.a, p.b) for p in result.pairs}
    for (a, b), al in alignments.items():
        assert {al.source_id, al.derived_id} == {a, b}
        assert al.verdict != "verbatim"
    some = next(iter(alignments))
    assert set(align_pairs(result, only=[some[::-1]])) == {some}


def test_align_pairs_takes_the_older_document_as_source(seeds):
    newer = Document("a-newer", seeds[3].text, date="2025-12-28T09:00:00")
    older = Document("b-older", seeds[3].text, date="2025-12-27")
    result = scan_documents([newer, older], ScanConfig())
    (al,) = align_pairs(result).values()
    assert (al.source_id, al.derived_id) == ("b-older", "a-newer")
    undated = scan_documents([Document("a", seeds[3].text), Document("b", seeds[3].text, date="2020-01-01")])
    (al,) = align_pairs(undated).values()
    assert al.source_id == "a"


# ---------------------------------------------------------------------------------------
# Invariants under random edits


def _base_sentences() -> list[str]:
    out = []
    for n in (0, 2, 3):
        doc = _seed(n)
        out += [doc.text[s.span.start : s.span.end] for s in prepare(doc).sentences]
    return out


BASE = _base_sentences()
WORDS = ["hier", "Moscou", "selon", "des", "soldats", "« vraiment »", "2026", "Koursk", "le", "nouveau"]


@st.composite
def edited_pair(draw):
    picks = draw(st.lists(st.integers(0, len(BASE) - 1), min_size=1, max_size=8))
    source_sentences = [BASE[i] for i in picks]
    derived_sentences = []
    for sentence in source_sentences:
        action = draw(st.sampled_from(["keep", "drop", "edit", "edit", "new"]))
        if action == "drop":
            continue
        if action == "new":
            derived_sentences.append(" ".join(draw(st.lists(st.sampled_from(WORDS), min_size=3, max_size=12))) + ".")
        words = sentence.split()
        if action == "edit":
            for _ in range(draw(st.integers(1, 4))):
                op = draw(st.sampled_from(["delete", "insert", "substitute"]))
                at = draw(st.integers(0, max(len(words) - 1, 0)))
                if op == "delete" and len(words) > 1:
                    del words[at]
                elif op == "insert":
                    words.insert(at, draw(st.sampled_from(WORDS)))
                else:
                    words[at] = draw(st.sampled_from(WORDS))
        derived_sentences.append(" ".join(words))
    if draw(st.booleans()):
        derived_sentences = draw(st.permutations(derived_sentences))
    sep = draw(st.sampled_from([" ", "\n", "\n\n"]))
    return " ".join(source_sentences), sep.join(derived_sentences) or "Rien."


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edited_pair())
def test_invariants_under_random_edits(pair):
    source_text, derived_text = pair
    source, derived = Document("s", source_text), Document("d", derived_text)
    al = align(source, derived)
    check_invariants(al, source, derived)
    if source_text == derived_text:
        assert al.verdict == "verbatim"


# ---------------------------------------------------------------------------------------
# The fast run scorer against the reference (verify's sentence scores on run views)


def _check_run_scorer(source: Document, derived: Document) -> None:
    import numpy as np

    from dedup.align import _run_view, _runs, _RunScorer
    from dedup.verify import sentence_scores

    src, der = prepare(source), prepare(derived)
    if not src.sentences or not der.sentences:
        return
    idf = IdfTable.from_documents([src, der])
    scorer = _RunScorer(der, src, idf)
    d_runs, s_runs = _runs(der), _runs(src)
    fast = scorer.scores(d_runs, s_runs)
    slow = sentence_scores(_run_view(der, d_runs), _run_view(src, s_runs), idf)
    for got, want in zip(fast, slow, strict=True):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("a,b", [(0, 3), (3, 0), (2, 1), (1, 1), (0, 4)])
def test_run_scorer_matches_verify_on_seeds(seeds, a, b):
    _check_run_scorer(seeds[a], seeds[b])


def test_run_scorer_counts_a_runs_spelled_numbers_like_one_sentence():
    # found by hypothesis: "deux capitales" alone is incidental, but in a run with a
    # sentence stating "26" or "15 000" the run states figures, and both scorers must agree
    text = ("Kim Jong Un et Moscou : un partenariat renforcé après les vœux du Nouvel An (26 décembre 2025). "
            "Des chiffres avancés par The Korea Times estiment qu'environ 15 000 soldats nord-coréens ont été "
            "envoyés pour soutenir la guerre. "
            "Ce ton solennel souligne une proximité croissante entre les deux capitales, au moment même où "
            "leurs interactions militaires suscitent des inquiétudes internationales.")
    _check_run_scorer(Document("s", text), Document("d", text.replace(". ", ".\n")))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edited_pair())
def test_run_scorer_matches_verify_under_random_edits(pair):
    source_text, derived_text = pair
    _check_run_scorer(Document("s", source_text), Document("d", derived_text))


def test_a_shared_processor_gives_the_same_alignment(seeds):
    from dedup.normalize import TextProcessor

    processor = TextProcessor()
    for a, b in ((0, 3), (2, 1)):
        assert align(seeds[a], seeds[b], processor=processor).to_dict() == align(seeds[a], seeds[b]).to_dict()
