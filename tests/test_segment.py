from hypothesis import given
from hypothesis import strategies as st

from dedup.clean import iter_lines
from dedup.segment import paragraphs, sentences, split_sentences


def _split(text):
    return [text[s.start : s.end] for s in split_sentences(text, 0, len(text))]


def test_french_abbreviations_and_guillemets():
    text = "M. Dupont a dit « oui. » Puis il est parti. Le 3.5 % reste."
    assert _split(text) == ["M. Dupont a dit « oui. »", "Puis il est parti.", "Le 3.5 % reste."]
    text = "Il a dit : « Nous irons. Nous vaincrons. » Le président est parti."
    assert _split(text) == ["Il a dit : « Nous irons. Nous vaincrons. »", "Le président est parti."]


def test_english_initials_and_quotes():
    text = 'He said "no." Then U.S. officials left. J. Smith came.'
    assert _split(text) == ['He said "no."', "Then U.S. officials left.", "J. Smith came."]


def test_hard_wrapped_newswire_is_joined_into_paragraphs():
    text = (
        "Showers continued throughout the week in\n"
        "the Bahia cocoa zone, alleviating the drought since early\n"
        "January and improving prospects for the coming temporao.\n"
        "    The dry period means the temporao will be late this year,\n"
        "dealers said on Thursday after the weekly review was out.\n"
        "    Arrivals for the week ended February 22 were 155,221 bags\n"
        "of 60 kilos making a cumulative total for the season.\n"
    )
    lines = list(iter_lines(text))
    paras = paragraphs(text, lines)
    assert len(paras) == 3
    first = sentences(text, lines)[0][1]
    assert text[first.start : first.end].startswith("Showers") and text[first.start : first.end].endswith("temporao.")


def test_web_text_keeps_one_paragraph_per_line():
    text = "Un titre sans point\nPremière phrase. Deuxième phrase.\n- un élément de liste\n"
    lines = list(iter_lines(text))
    assert len(paragraphs(text, lines)) == 3
    assert [p for p, _ in sentences(text, lines)] == [0, 1, 1, 2]


@given(st.text(alphabet=st.sampled_from("abc DEF.!?«»\"\n 12"), max_size=200))
def test_sentences_are_ordered_disjoint_spans_inside_the_text(text):
    spans = split_sentences(text, 0, len(text))
    prev_end = 0
    for s in spans:
        assert prev_end <= s.start < s.end <= len(text)
        prev_end = s.end


def test_number_sign_is_not_a_sentence_end():
    text = "Texaco owns the LeBlanc No. 1 well, Vermillion Parish, La. It plans a second one. Nos. 4 and 5 are dry."
    got = [text[s.start:s.end] for s in split_sentences(text, 0, len(text))]
    assert got == ["Texaco owns the LeBlanc No. 1 well, Vermillion Parish, La.", "It plans a second one.",
                   "Nos. 4 and 5 are dry."]


def test_abbreviations_far_into_a_long_sentence_and_after_long_words():
    text = "Le ministre " + "très " * 60 + "a reçu M. Dupont. Puis il est parti."
    assert _split(text) == [text[: text.index(" Puis")], "Puis il est parti."]
    long_word = "x" * 80 + "Dr. Smith left. Then J. Doe came."
    assert _split(long_word) == ["x" * 80 + "Dr.", "Smith left.", "Then J. Doe came."]


_PIECES = ["5.", "000", "1,", "234", "\u00a0", "\u202f", " ", "\n", "\n\n", "  ", "«", "»", '"', "No.", "U.S.",
           "J.", "Le", "chat", "dort", ".", "!", "?", "…", "1.000", "15 000", "3,5", "Il", "rêve", "(", ")", "-",
           "—", "L’Élysée", "2025", "Publié le 27/12/2025", "www.x.com", ":", "A", "12", "de", "ß", "ﬁ", "\t", "’"]


@given(st.lists(st.sampled_from(_PIECES), max_size=60).map("".join))
def test_sentence_words_are_the_tokens_of_the_sentence_alone(text):
    # preparation tokenizes each kept line once and hands every sentence the tokens inside
    # its span: the same words as tokenizing the sentence on its own, and every word of the
    # kept lines lands in exactly one sentence
    from dedup.clean import sort_lines
    from dedup.normalize import surfaces
    from dedup.prepare import prepare
    from dedup.types import Document

    p = prepare(Document("x", text))
    for s in p.sentences:
        assert list(s.surfaces) == surfaces(text, s.span.start, s.span.end)
    assert [w for s in p.sentences for w in s.surfaces] == sort_lines(text).words
