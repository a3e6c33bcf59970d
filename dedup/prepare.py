"""Clean, segment and normalize one document: the input of fingerprinting and verification.

>>> from dedup.prepare import prepare
>>> from dedup.types import Document
>>> p = prepare(Document("a", "Publié le 27/12/2025 14:01\\nLe chat dort. Il rêve."))
>>> [p.text_of(s) for s in p.sentences]
['Le chat dort.', 'Il rêve.']
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

from dedup.clean import RemovedLine, sort_lines
from dedup.normalize import TextProcessor, detect_language
from dedup.segment import sentences as split_into_sentences
from dedup.types import Document, Span


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence of a document: its span, paragraph number and its two token forms."""

    span: Span
    paragraph: int
    surfaces: tuple[str, ...]
    content: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Prepared:
    """A document made ready for matching: article sentences, language and removed chrome."""

    doc: Document
    language: str | None
    sentences: tuple[Sentence, ...]
    removed: tuple[RemovedLine, ...]

    @property
    def id(self) -> str:
        return self.doc.id

    def text_of(self, sentence: Sentence) -> str:
        return self.doc.text[sentence.span.start : sentence.span.end]

    @property
    def surfaces(self) -> list[str]:
        return [w for s in self.sentences for w in s.surfaces]

    @property
    def content(self) -> list[str]:
        return [w for s in self.sentences for w in s.content]


def prepare(
    doc: Document,
    processor: TextProcessor | None = None,
    *,
    frequent_lines: frozenset[int] | set[int] = frozenset(),
) -> Prepared:
    """Drop boilerplate lines, split sentences, tokenize, detect language and stem."""
    processor = processor or TextProcessor()
    text = doc.text
    lines = sort_lines(text, frequent=frequent_lines)
    spans = split_into_sentences(text, lines.kept)
    # a sentence's words are the kept lines' tokens inside its span: the lines were tokenized
    # for their keys already, and no token crosses a sentence boundary (a boundary needs
    # punctuation then a space; a token is letters, or digits with one separator inside)
    starts, line_words = lines.starts, lines.words
    words = []
    lo = 0
    for _, span in spans:
        lo = bisect_left(starts, span.start, lo)
        hi = bisect_left(starts, span.end, lo)
        words.append(line_words[lo:hi])
        lo = hi
    language = detect_language([w for ws in words for w in ws])
    out = []
    for (paragraph, span), ws in zip(spans, words, strict=True):
        if not ws:
            continue
        surfaces = tuple(ws)
        content = tuple(processor.content_forms_of(surfaces, language))
        out.append(Sentence(span, paragraph, surfaces, content))
    return Prepared(doc, language, tuple(out), tuple(lines.removed))
