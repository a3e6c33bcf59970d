from hypothesis import given
from hypothesis import strategies as st

from dedup.normalize import TextProcessor, detect_language, fold, normalize_text, stop_words, tokenize


@given(st.text())
def test_normalize_text_is_idempotent(text):
    once = normalize_text(text)
    assert normalize_text(once) == once


@given(st.text())
def test_token_spans_stay_inside_the_text(text):
    for tok in tokenize(text):
        assert 0 <= tok.start < tok.end <= len(text)
        assert text[tok.start : tok.end].strip()


def test_quotes_dashes_and_case_have_one_form():
    assert normalize_text("L’«  Élysée »—Paris") == "l'\" élysée \"-paris"
    assert fold("Élysée") == "elysee"


def test_numbers_keep_thousands_together():
    surfaces = [t.surface for t in tokenize("11.000 soldats, 15 000 autres, 1,234,567 et 5,93 mln")]
    assert surfaces == ["11000", "soldats", "15000", "autres", "1234567", "et", "5.93", "mln"]


def test_language_detection_and_stop_words():
    fr = [t.surface for t in tokenize("Le dirigeant a dit que la guerre et les soldats sont dans la région.")]
    en = [t.surface for t in tokenize("The leader said that the war and the soldiers are in the region.")]
    assert detect_language(fr) == "fr"
    assert detect_language(en) == "en"
    assert detect_language([]) is None
    assert "le" in stop_words("fr") and "the" in stop_words("en")


def test_content_forms_stem_and_drop_stop_words():
    tp = TextProcessor()
    toks = tokenize("Les soldats nord-coréens ont été tués au combat")
    assert tp.content_forms(toks, "fr") == ["soldat", "nord", "coreen", "tu", "combat"]
    # same stems for singular and plural: light rewording keeps the content form
    assert tp.content_form("soldat", "fr") == tp.content_form("soldats", "fr")


def test_stem_cache_is_bounded_and_changes_no_form(monkeypatch):
    import dedup.normalize as normalize

    words = [f"mot{i}s" for i in range(40)] + ["déclarations", "the", "rapports"] * 3
    expected = TextProcessor().content_forms_of(words, "fr")
    monkeypatch.setattr(normalize, "STEM_LIMIT", 5)
    tp = TextProcessor()
    got = [form for w in words for form in tp.content_forms_of([w], "fr")]
    assert got == expected
    assert tp.content_form("rapports", "fr") == expected[-1]
    assert 0 < len(tp._stems["fr"]) <= 6
