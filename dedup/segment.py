"""Paragraphs and sentences, as spans of the original text.

Hard-wrapped text (newswire and mail archives break lines every ~70 characters) is joined
back into paragraphs; elsewhere each kept line is a paragraph (a heading, a list item, a
table row, a paragraph of a web page). Sentences are split with a fast rule-based splitter
that knows French and English abbreviations, initials, decimal numbers and guillemets.

>>> from dedup.segment import split_sentences
>>> text = "M. Dupont a dit « oui. » Puis il est parti. Le 3.5 % reste."
>>> [text[s.start:s.end] for s in split_sentences(text, 0, len(text))]
['M. Dupont a dit « oui. »', 'Puis il est parti.', 'Le 3.5 % reste.']
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence

from dedup.types import Span

_ABBREVIATIONS = frozenset(
    """
    m mm mme mmes mlle mlles dr drs pr me mgr st ste sr jr mr mrs ms prof gen gov sen rep rev
    lt col capt cmdr sgt adm maj vol p pp ch art fig env cf etc vs ca approx dept est
    jan feb mar apr jun jul aug sep sept oct nov dec janv fév févr avr juil déc
    inc corp co ltd plc bros av ave blvd bd
    """.split()
)
# A sentence ends at . ! ? or … (possibly repeated), then optional closing quotes or
# brackets, then white space, when the next character can start a sentence.
_BOUNDARY = re.compile(r"""([.!?…]+)((?:[\s\u00a0\u202f]?["'»”’)\]])*)(\s+)(?=[«"“'‘(\[¿¡\-–—•]?\s?[A-ZÀ-ÖØ-Þ0-9])""")
_TERMINAL = re.compile(r"[.!?…:;»\"”’)]$")
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)  # a letter: a word character, not a digit or "_"
_NUMBER_SIGN = re.compile(r"(?<![^\W\d_])(?:Nos?|NOS?|Nr|nr|Num)\.$")
_INDENT = re.compile(r"^[ \t]{2,}")


def _is_hard_wrapped(text: str, lines: Sequence[Span]) -> bool:
    if len(lines) < 4:
        return False
    lengths = [len(s) for s in lines]
    median = statistics.median(lengths)
    if not 45 <= median <= 100:
        return False
    near = sum(1 for n in lengths if abs(n - median) <= 15)
    open_ends = sum(1 for s in lines if not _TERMINAL.search(text[s.start : s.end]))
    return near >= 0.6 * len(lines) and open_ends >= 0.4 * len(lines)


def paragraphs(text: str, lines: Sequence[Span]) -> list[Span]:
    """Group kept lines into paragraphs.

    In hard-wrapped text a paragraph ends at a blank line, before an indented line, or
    after a short line that ends a sentence; elsewhere every line is its own paragraph.
    """
    if not _is_hard_wrapped(text, lines):
        return list(lines)
    width = statistics.median(len(s) for s in lines)
    out: list[Span] = []
    start = lines[0].start
    prev = lines[0]
    for line in lines[1:]:
        between = text[prev.end : line.start]
        line_start = text.rfind("\n", 0, line.start) + 1
        indented = bool(_INDENT.match(text[line_start : line.start + 1]))
        short_end = len(prev) < 0.7 * width and bool(_TERMINAL.search(text[prev.start : prev.end]))
        if between.count("\n") >= 2 or indented or short_end:
            out.append(Span(start, prev.end))
            start = line.start
        prev = line
    out.append(Span(start, prev.end))
    return out


def _ends_with_abbreviation(text: str, start: int, dot: int) -> bool:
    # the run of letters ending at the dot, walked back from the dot (a regex search from
    # ``start`` would rescan the sentence at every dot)
    first = dot
    letter = _LETTER.match
    while first > start and letter(text, first - 1):
        first -= 1
    if first == dot:
        return False
    word = text[first:dot]
    if len(word) == 1 and word.isupper():
        return True  # an initial: "J. Smith", "U.S."
    return word.lower() in _ABBREVIATIONS


def split_sentences(text: str, start: int, end: int) -> list[Span]:
    """Sentence spans inside ``text[start:end]`` (offsets into ``text``)."""
    out: list[Span] = []
    cursor = start
    for m in _BOUNDARY.finditer(text, start, end):
        punct_end = m.end(2)
        if m.group(1) == "." and _ends_with_abbreviation(text, cursor, m.start(1)):
            continue
        # the number sign pattern ends at the dot and spans at most 4 characters before it
        if m.group(1) == "." and _NUMBER_SIGN.search(text, max(cursor, m.start(1) - 8), m.start(1) + 1) and (
            text[m.end(3) : m.end(3) + 1].isdigit()
        ):
            continue  # "LeBlanc No. 1 well", "Nos. 4 and 5": a number sign, not a stop
        # an opening guillemet before the stop: the quotation goes on ("« Il a dit. Puis »")
        segment = text[cursor:punct_end]
        if segment.count("«") > segment.count("»"):
            continue
        out.append(Span(cursor, punct_end))
        cursor = m.end(3)
    if cursor < end:
        stop = end
        while stop > cursor and text[stop - 1].isspace():
            stop -= 1
        if stop > cursor:
            out.append(Span(cursor, stop))
    return out


def sentences(text: str, lines: Sequence[Span]) -> list[tuple[int, Span]]:
    """``(paragraph number, sentence span)`` for every sentence of the kept lines."""
    out: list[tuple[int, Span]] = []
    for number, para in enumerate(paragraphs(text, lines)):
        out.extend((number, span) for span in split_sentences(text, para.start, para.end))
    return out
