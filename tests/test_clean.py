import pytest

from dedup.clean import count_line_keys, frequent_lines, line_key, line_reason, split_lines


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("/2025/12/27/000-87vq9we-694fd7f3ad2fe518671886.jpg)", "image-path"),
        ("https://example.com/news/article-123", "url"),
        ("Publié le 27/12/2025 14:01 Mis à jour le 27/12/2025 14:07", "date-stamp"),
        ("Published on March 3, 2025 at 10:00", "date-stamp"),
        ("Temps de lecture : 1min", "reading-time"),
        ("5 min read", "reading-time"),
        ("Laisser un commentaire", "prompt"),
        ("Cela pourrait vous intéresser", "prompt"),
        ("Share this article", "prompt"),
        ("Lire aussi : Le sommet de l'APEC", "prompt"),
        ("Accueil ActualitéKim Jong Un célèbre l’alliance", "breadcrumb"),
        ("Corée du Nord,Russie,Ukraine,Corée du Sud,États-Unis", "tag-list"),
        ("Photo: YEKATERINA SHTUKINA/POOL/AFP via Getty Images", "photo-credit"),
        ("© 1987 Energy Report Weekly | All rights reserved", "copyright"),
        ("Copyright 2025 Reuters. All rights reserved.", "copyright"),
        ("Le Monde - Tous droits réservés", "copyright"),
        ("|---|---|---|", "no-letters"),
        ("12 345", "no-letters"),
    ],
)
def test_boilerplate_lines_are_named(line, reason):
    assert line_reason(line) == reason


@pytest.mark.parametrize(
    "line",
    [
        "Le dirigeant nord-coréen Kim Jong Un a affirmé que les liens s'étaient renforcés.",
        "Home prices rose 3 pct in March, the survey said.",
        "Les Implications pour le Conflit en Ukraine",
        "| Troupes au combat | Milliers de soldats déployés | Renfort dans les zones chaudes |",
        "Live cattle futures ended higher on Tuesday.",
        "The court said all rights reserved under the 1987 contract stayed with the two partners "
        "and their successors until the dispute over the licence fees was settled in full.",
    ],
)
def test_article_text_is_kept(line):
    assert line_reason(line) is None


def test_split_lines_keeps_offsets_and_drops_repeats():
    text = "Titre\nUne phrase ici.\n\nUne phrase ici.\nTemps de lecture : 2 min\n"
    kept, removed = split_lines(text)
    assert [text[s.start : s.end] for s in kept] == ["Titre", "Une phrase ici."]
    assert [(text[r.span.start : r.span.end], r.reason) for r in removed] == [
        ("Une phrase ici.", "repeated-in-page"),
        ("Temps de lecture : 2 min", "reading-time"),
    ]


def test_lines_frequent_across_the_corpus_are_boilerplate():
    footer = "Suivez toute l'actualité de notre rédaction chaque jour"
    texts = [f"Article {i} sur un sujet précis numéro {i}.\n{footer}\n" for i in range(12)]
    counts = count_line_keys(texts)
    frequent = frequent_lines(counts, len(texts))
    assert line_key(footer) in frequent
    kept, removed = split_lines(texts[0], frequent=frequent)
    assert [r.reason for r in removed] == ["corpus-repeated"]
    # a story syndicated a few times is not chrome
    assert frequent_lines(count_line_keys(texts[:5]), 5) == frozenset()


def test_line_key_ignores_case_and_quote_style():
    assert line_key("L’armée « avance »") == line_key("l'armée \"avance\"")
