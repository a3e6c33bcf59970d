"""Text normalization and tokenization, with offsets kept into the original text.

Two forms of each word are produced:

- the *surface* form: NFKC, one form for quotes, apostrophes and dashes, case-folded and
  stripped of diacritics. Word n-grams over surface forms catch reprints and light edits.
- the *content* form: the surface form of a non-stop word, stemmed with the Snowball
  stemmer of the document's language. Sets of content forms catch rewrites, which keep
  names, numbers and rare words but little of the wording.

Tokens are found in the original text, so every token keeps its exact character span.

>>> from dedup.normalize import TextProcessor
>>> tp = TextProcessor()
>>> [t.surface for t in tp.tokens("L’Élysée a dit « non »")]
['l', 'elysee', 'a', 'dit', 'non']
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

import snowballstemmer

#: Languages with a shipped stop-word list (Snowball stemmer names in values).
LANGUAGES: dict[str, str] = {"en": "english", "fr": "french"}

_QUOTES = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u02bc": "'",
    "\u00b4": "'", "`": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2033": '"', "\u2039": "'", "\u203a": "'",
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
    "\u2212": "-",
}
_QUOTE_TABLE = str.maketrans(_QUOTES)
_SPACES = re.compile(r"\s+")
# A number with thousands groups ("11.000", "15 000", "1,234,567") or a decimal ("5.93"),
# else a run of letters/digits. Apostrophes and hyphens split words ("l'agence", "nord-coréen").
_TOKEN = re.compile(r"\d{1,3}(?:[.,\u00a0\u202f ]\d{3})+(?![\d])|\d+(?:[.,]\d+)?|[^\W\d_]+|\d+", re.UNICODE)
_THOUSANDS_SEP = re.compile(r"[.,\u00a0\u202f ]")


def normalize_text(text: str) -> str:
    """Return ``text`` in one canonical form: NFKC, plain quotes and dashes, case-folded,
    whitespace collapsed. Idempotent: ``normalize_text(normalize_text(s)) == normalize_text(s)``.

    >>> normalize_text("L’«  Élysée »—Paris")
    'l\\'" élysée "-paris'
    """
    text = unicodedata.normalize("NFKC", text).translate(_QUOTE_TABLE).casefold()
    # casefold can produce new non-NFKC sequences (e.g. "ß" -> "ss" is fine, but some
    # compatibility characters re-appear); a second pass makes the function idempotent.
    text = unicodedata.normalize("NFKC", text).translate(_QUOTE_TABLE)
    return _SPACES.sub(" ", text).strip()


def strip_accents(text: str) -> str:
    """Remove combining marks after canonical decomposition ("Koursk" stays, "é" -> "e")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=1 << 17)
def _fold_word(word: str) -> str:
    return strip_accents(normalize_text(word))


def fold(word: str) -> str:
    """Surface form of one word: normalized, case-folded, without diacritics."""
    return _fold_word(word)


@cache
def stop_words(language: str) -> frozenset[str]:
    """The shipped stop words of ``language`` ("en", "fr"), in folded form."""
    if language not in LANGUAGES:
        return frozenset()
    text = resources.files("dedup.data").joinpath(f"stopwords/{language}.txt").read_text("utf-8")
    words = (line.strip() for line in text.splitlines())
    return frozenset(fold(w) for w in words if w and not w.startswith("#"))


@dataclass(frozen=True, slots=True)
class Token:
    """One word of a text: its span in the original text and its surface form."""

    start: int
    end: int
    surface: str

    @property
    def is_number(self) -> bool:
        return self.surface[:1].isdigit()


@lru_cache(maxsize=1 << 18)
def _surface(raw: str) -> str:
    # cached per distinct raw word: a corpus repeats a few hundred thousand words millions of times
    if raw[:1].isdigit():
        parts = _THOUSANDS_SEP.split(raw)
        if len(parts) > 1 and all(len(p) == 3 for p in parts[1:]):
            return "".join(parts)
        return raw.replace(",", ".")
    return fold(raw)


def tokenize(text: str, start: int = 0, end: int | None = None) -> list[Token]:
    """Tokens of ``text[start:end]`` with offsets into ``text``."""
    end = len(text) if end is None else end
    surface = _surface
    return [Token(m.start(), m.end(), surface(m.group())) for m in _TOKEN.finditer(text, start, end)]


def surfaces(text: str, start: int = 0, end: int | None = None) -> list[str]:
    """Surface forms of the tokens of ``text[start:end]``: ``[t.surface for t in tokenize(...)]``,
    without building :class:`Token` objects (the fast path of preparation).

    >>> surfaces("L’Élysée a dit « non »")
    ['l', 'elysee', 'a', 'dit', 'non']
    """
    end = len(text) if end is None else end
    return list(map(_surface, _TOKEN.findall(text, start, end)))


def located_surfaces(text: str, start: int = 0, end: int | None = None) -> tuple[list[int], list[str]]:
    """``(starts, surface forms)`` of the tokens of ``text[start:end]``: :func:`surfaces` with
    each token's start offset, so that a text tokenized once can be cut into parts.

    >>> located_surfaces("L’Élysée a dit", 2)
    ([2, 9, 11], ['elysee', 'a', 'dit'])
    """
    end = len(text) if end is None else end
    found = list(_TOKEN.finditer(text, start, end))
    return list(map(re.Match.start, found)), list(map(_surface, map(re.Match.group, found)))


def detect_language(surfaces: Iterable[str]) -> str | None:
    """Guess the language from stop-word hits: "en", "fr", or None when unsure."""
    words = surfaces if isinstance(surfaces, (list, tuple)) else list(surfaces)
    total = len(words)
    counts = {lang: sum(map(stop_words(lang).__contains__, words)) for lang in LANGUAGES}
    if not total:
        return None
    best = max(counts, key=lambda lang: counts[lang])
    return best if counts[best] / total >= 0.08 else None


#: Stems a :class:`TextProcessor` keeps per language before it empties its cache.
STEM_LIMIT = 500_000


class TextProcessor:
    """Tokenizes, detects the language and derives content forms; caches stems per instance.

    One instance per process or worker; it holds no state beyond its caches.
    """

    def __init__(self) -> None:
        self._stemmers: dict[str, snowballstemmer.stemmer] = {}
        self._stems: dict[str | None, dict[str, str]] = {}  # per language: surface -> form ("" for none)

    def _stems_of(self, language: str | None) -> dict[str, str]:
        stems = self._stems.get(language)
        if stems is None or len(stems) > STEM_LIMIT:  # a long-lived processor stays bounded
            stems = self._stems[language] = {}
        return stems

    def tokens(self, text: str, start: int = 0, end: int | None = None) -> list[Token]:
        return tokenize(text, start, end)

    def surfaces(self, text: str, start: int = 0, end: int | None = None) -> list[str]:
        return surfaces(text, start, end)

    def content_form(self, surface: str, language: str | None) -> str | None:
        """The stemmed content form of a surface word, or None for stop words and noise."""
        stems = self._stems_of(language)
        form = stems.get(surface)
        if form is None:
            form = stems[surface] = self._content_form(surface, language)
        return form or None

    def _content_form(self, surface: str, language: str | None) -> str:
        if surface[:1].isdigit():
            return surface
        if len(surface) < 2:
            return ""
        langs = (language,) if language else tuple(LANGUAGES)
        if any(surface in stop_words(lang) for lang in langs if lang):
            return ""
        if language is None:
            return surface
        stemmer = self._stemmers.get(language)
        if stemmer is None:
            stemmer = snowballstemmer.stemmer(LANGUAGES[language])
            self._stemmers[language] = stemmer
        return str(stemmer.stemWord(surface))

    def content_forms(self, tokens: Iterable[Token], language: str | None) -> list[str]:
        return self.content_forms_of(tuple(t.surface for t in tokens), language)

    def content_forms_of(self, words: Iterable[str], language: str | None) -> list[str]:
        """Content forms of surface words, in order, stop words and noise left out."""
        stems = self._stems_of(language)
        get = stems.get
        out = []
        for surface in words:
            form = get(surface)
            if form is None:
                form = stems[surface] = self._content_form(surface, language)
            if form:
                out.append(form)
        return out
