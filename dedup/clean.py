"""Boilerplate removal: which lines of a document are article text.

A line is dropped, with a named reason, when it is page chrome rather than text: image
paths and bare URLs, "Publié le …"/"Published …" stamps, reading-time notes, share and
comment prompts, tag lists, table rules, lines without letters, a line repeated earlier in
the same page, or a line that recurs across many documents of the corpus (site chrome).
Nothing is rewritten: the result is a list of line spans into the original text.

>>> from dedup.clean import split_lines
>>> kept, removed = split_lines("Temps de lecture : 1min\\nLe texte.\\n")
>>> [r.reason for r in removed]
['reading-time']
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import xxhash

from dedup.normalize import located_surfaces, surfaces
from dedup.types import Span

_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in (
        ("image-path", r"^[\s(]*\S*\.(?:png|jpe?g|gif|webp|svg|avif)(?:\?\S*)?\)?\s*$"),
        ("url", r"^\s*(?:https?://|www\.)\S+\s*$"),
        ("path", r"^\s*/[\w\-./%]+\)?\s*$"),
        (
            "date-stamp",
            r"^\s*(?:publi[ée]e?|mis à jour|mise à jour|modifi[ée]|published|updated|posted|"
            r"last updated|first published)(?: le| on| at)?\b.{0,60}\d.{0,40}$",
        ),
        ("reading-time", r"^\s*(?:temps de lecture|lecture\s*:|reading time|\d+\s*min(?:ute)?s? (?:read|de lecture))"),
        (
            "prompt",
            r"^\s*(?:laisse[rz] un commentaire|leave a (?:comment|reply)|cela pourrait vous intéresser|"
            r"vous aimerez aussi|you may also like|you might also like|sign up (?:for|to)|"
            r"subscribe to|abonnez-vous|inscrivez-vous|suivez-nous|follow us on|"
            r"articles actuels de l.auteur|plus d.articles de|more from|copier le lien|copy link|"
            r"share this (?:article|story|page)|partager (?:cet|l.)article|partagez cet article)"
            r"[^.!?]{0,60}$",
        ),
        (
            "prompt",
            r"^\s*(?:partager|partagez|share|tweet|commentaires?|comments?|\d+ comments?|"
            r"recommended|related(?: articles| stories)?|advertisement|publicité|exclusif|"
            r"exclusive|en direct|live|imprimer|print|écouter|listen|newsletter|accueil|home|"
            r"menu|search|rechercher|top stories|à la une)\s*[:.!]*\s*$",
        ),
        ("prompt", r"^\s*(?:à lire aussi|lire aussi|read more|lire la suite|voir aussi|see also|related)\s*[:>\-]"),
        ("breadcrumb", r"^\s*(?:accueil|home)\s*(?:[>»/|›]|actualit|news)"),
        ("photo-credit", r"^\s*(?:photo|photos|crédits? photos?|credits?|image|illustration|©)\s*[:©/]"),
        (
            "copyright",
            r"^\s*(?:©|\([cC]\)\s|copyright\b)[^.!?]{0,120}$|^.{0,120}\b(?:all rights reserved|"
            r"tous droits réservés|droits de reproduction réservés|todos los derechos reservados|"
            r"alle rechte vorbehalten)\b.{0,40}$",
        ),
        ("table-rule", r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$"),
    )
)
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_TAG_SEPARATORS = re.compile(r"\s*[,|•·/]\s*")
_TERMINAL = re.compile(r"[.!?…:;»\"”)]\s*$")


@dataclass(frozen=True, slots=True)
class RemovedLine:
    """A line dropped as boilerplate, with the rule that dropped it."""

    span: Span
    reason: str

    def to_dict(self) -> dict[str, object]:
        return {"start": self.span.start, "end": self.span.end, "reason": self.reason}


def iter_lines(text: str) -> Iterator[Span]:
    """Spans of the non-blank lines of ``text``, without line terminators and outer spaces."""
    pos = 0
    n = len(text)
    while pos < n:
        nl = text.find("\n", pos)
        end = n if nl < 0 else nl
        start = pos
        while start < end and text[start].isspace():
            start += 1
        stop = end
        while stop > start and text[stop - 1].isspace():
            stop -= 1
        if stop > start:
            yield Span(start, stop)
        pos = end + 1


def line_key(line: str) -> int:
    """A stable 64-bit key of a line's words (case, accents, quotes and punctuation ignored)."""
    return _words_key(surfaces(line))


def _words_key(words: list[str]) -> int:
    return xxhash.xxh3_64_intdigest(" ".join(words).encode("utf-8"))


def _is_tag_list(line: str) -> bool:
    if _TERMINAL.search(line) or len(line) > 200 or line.lstrip().startswith("|"):
        return False
    items = [i for i in _TAG_SEPARATORS.split(line) if i]
    if len(items) < 3:
        return False
    return all(len(i.split()) <= 4 and i[:1].isupper() for i in items)


def line_reason(line: str) -> str | None:
    """Why this line is boilerplate, or None if it may be article text."""
    if not _LETTER.search(line):
        return "no-letters"
    for name, pattern in _RULES:
        if pattern.search(line):
            return name
    if _is_tag_list(line):
        return "tag-list"
    return None


@dataclass(frozen=True, slots=True)
class Lines:
    """The lines of a text sorted out: ``kept`` line spans, ``removed`` lines with their
    reasons, and the tokens of the kept lines, in order: their ``starts`` (offsets into the
    text) and ``words`` (surface forms, :func:`dedup.normalize.surfaces`)."""

    kept: list[Span]
    removed: list[RemovedLine]
    starts: list[int]
    words: list[str]


def split_lines(
    text: str, *, frequent: frozenset[int] | set[int] = frozenset()
) -> tuple[list[Span], list[RemovedLine]]:
    """Split ``text`` into kept line spans and removed lines (with reasons).

    ``frequent`` holds :func:`line_key` values of lines that recur across many documents of
    the corpus; such lines are dropped as ``corpus-repeated``. A line already seen earlier in
    the same document is dropped as ``repeated-in-page``.
    """
    lines = sort_lines(text, frequent=frequent)
    return lines.kept, lines.removed


def sort_lines(text: str, *, frequent: frozenset[int] | set[int] = frozenset()) -> Lines:
    """:func:`split_lines` with the tokens of the kept lines: each line is tokenized once,
    for its key and for the sentences cut from it later (no token spans two lines)."""
    kept: list[Span] = []
    removed: list[RemovedLine] = []
    starts: list[int] = []
    words: list[str] = []
    seen: set[int] = set()
    for span in iter_lines(text):
        line = text[span.start : span.end]
        reason = line_reason(line)
        if reason is None:
            at, line_words = located_surfaces(text, span.start, span.end)
            key = _words_key(line_words)
            if key in frequent:
                reason = "corpus-repeated"
            elif key in seen:
                reason = "repeated-in-page"
            seen.add(key)
        if reason is None:
            kept.append(span)
            starts += at
            words += line_words
        else:
            removed.append(RemovedLine(span, reason))
    return Lines(kept, removed, starts, words)


def count_line_keys(texts: Iterable[str], *, max_words: int = 40) -> dict[int, int]:
    """Document frequency of each short line across ``texts`` (for corpus boilerplate)."""
    counts: dict[int, int] = {}
    for text in texts:
        keys = set()
        for span in iter_lines(text):
            line = text[span.start : span.end]
            if len(line.split()) <= max_words:
                keys.add(line_key(line))
        for key in keys:
            counts[key] = counts.get(key, 0) + 1
    return counts


def frequent_lines(counts: dict[int, int], n_docs: int, *, min_docs: int | None = None) -> frozenset[int]:
    """Keys of lines present in at least ``min_docs`` documents.

    The default, ``max(10, 0.2 % of the corpus)``, is above the number of copies a
    syndicated story usually has in a small collection, so shared article text is not
    taken for chrome, while a site's header or footer, repeated on every page, is.
    """
    if min_docs is None:
        min_docs = max(10, int(0.002 * n_docs))
    return frozenset(k for k, c in counts.items() if c >= min_docs)
