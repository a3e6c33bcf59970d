"""Passage alignment: what a derived article took from its source, and how.

Once two articles are known to be related, :func:`align` labels every passage of the derived
article:

- ``copied``: the source wording, unchanged after normalization (quotes, case, accents,
  spacing and punctuation do not count);
- ``edited``: the source wording with a few words changed, cut or inserted (edit similarity
  of the words >= ``config.edited_ratio`` and content overlap >= 0.5); the word-level diff
  says which;
- ``paraphrased``: the same content in other words (IDF-weighted content-word overlap >=
  ``config.match_threshold`` with at least 3 shared content words);
- ``added``: no counterpart in the source.

Source sentences the derived article does not use are reported as ``omitted``.

The pair gets a verdict from the shares of the derived text: ``verbatim`` (90 % or more
copied), ``light_edit`` (half or more copied or edited), ``rewrite`` (half or more reused,
mostly paraphrased), ``partial`` (some reuse inside mostly new text) or ``unrelated``. As in
:mod:`dedup.verify`, reuse needs at least ``config.min_matches`` matched passages (same-topic
articles share a background fact or a quotation) unless a copied passage has
``config.min_verbatim_words`` words or more or the whole derived text is copied; an
unrelated pair has every derived sentence ``added``.

Sentences are matched globally, best first (rewriters reorder paragraphs), with a small
bonus for keeping the order of the neighbouring match, so ties resolve in reading order.
One derived sentence may match a run of up to three consecutive source sentences (a
rewrite that condenses them), and a run of derived sentences one source sentence (a
rewrite that splits it); a run is scored on the union of its words. A quotation of four
words or more reused inside an otherwise new sentence becomes a ``copied`` passage of its
own. Coverage figures are shares of the characters of the derived article's sentences
(boilerplate lines removed by :func:`dedup.prepare.prepare` are not part of any passage).

>>> from dedup.align import align
>>> from dedup.types import Document
>>> src = Document("src", "Le chat dort sur le canapé du salon. Il rêve de souris grises et de lait.")
>>> al = align(src, Document("copy", "Il rêve de souris grises et de lait. Le chat dort sur le canapé du salon."))
>>> al.verdict, dict(al.coverage)["copied"]
('verbatim', 1.0)
"""

from __future__ import annotations

import logging
import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Indel, Levenshtein

from dedup.config import ScanConfig
from dedup.normalize import _TOKEN, TextProcessor, Token, tokenize
from dedup.prepare import Prepared, Sentence, prepare
from dedup.types import Document, Span
from dedup.verify import IdfTable, _number_conflicts, figure_parts, figures_of, on_grid, sentence_scores

if TYPE_CHECKING:
    from dedup.scan import ScanResult

log = logging.getLogger(__name__)

Kind = Literal["copied", "edited", "paraphrased", "added", "omitted"]
Verdict = Literal["verbatim", "light_edit", "rewrite", "partial", "unrelated"]
DiffTag = Literal["replace", "delete", "insert"]

#: Every passage label, derived-side labels first.
KINDS: tuple[Kind, ...] = ("copied", "edited", "paraphrased", "added", "omitted")
#: Labels that share the derived text between them (the keys of ``Alignment.coverage``).
COVERAGE_KINDS: tuple[Kind, ...] = ("copied", "edited", "paraphrased", "added")
VERDICTS: tuple[Verdict, ...] = ("verbatim", "light_edit", "rewrite", "partial", "unrelated")

MAX_RUN = 3  # longest run of consecutive sentences matched to one sentence of the other text
MIN_QUOTE_WORDS = 4  # shortest quotation reported as reuse on its own
_EDIT_OVERLAP = 0.5  # content overlap an edited sentence keeps at least (as in verify)
_MIN_SHARED = 3  # content words a paraphrase shares at least (as in verify)
_MIN_EDIT_WORDS = 5  # edit similarity of shorter sentences says little (as in verify)
_ORDER_BONUS = 0.02  # for a match that continues its neighbour's match: ties go to reading order
_DIAGONAL_BONUS = 0.005  # for a match at the same relative place in both texts
_RUN_MEMBER_OVERLAP = 0.1  # overlap each sentence of a run has at least with the other side
_RUN_PENALTY = 0.002  # per extra sentence in a run: a single sentence wins a tie
_VERBATIM_SHARE = 0.9  # verdict verbatim: this much of the derived text copied
_MOSTLY = 0.5  # verdicts light_edit/rewrite: this much of the derived text reused
_COPIED, _EDITED, _PARA = 1, 2, 3
_KIND_NAMES: dict[int, Kind] = {_COPIED: "copied", _EDITED: "edited", _PARA: "paraphrased"}
# «…», “…”, "…" and „…“ quotations; the quoted words are group 1..4
_QUOTE = re.compile(r"«([^«»]+)»|“([^“”]+)”|\"([^\"\n]+)\"|„([^„“”]+)[“”]")


@dataclass(frozen=True, slots=True)
class DiffOp:
    """One change of an edited passage: source words replaced, deleted, or derived words inserted.

    ``source`` and ``derived`` are character spans into each text; the side a change does not
    touch has an empty span at the place of the change.
    """

    op: DiffTag
    source: Span
    derived: Span
    source_text: str
    derived_text: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "op": self.op,
            "source": self.source.to_dict(),
            "derived": self.derived.to_dict(),
            "source_text": self.source_text,
            "derived_text": self.derived_text,
        }


@dataclass(frozen=True, slots=True)
class AlignedPassage:
    """A passage of the derived text and its counterpart in the source, with its label.

    ``added`` passages have no ``source`` span, ``omitted`` ones no ``derived`` span.
    ``score`` (in [0, 1]) is the edit similarity of the words of copied (1.0) and edited
    passages, the IDF-weighted content overlap of paraphrases, and 0 for added and omitted.
    ``diff`` lists the word changes of an edited passage (equal stretches left out).
    """

    kind: Kind
    derived: Span | None
    source: Span | None
    score: float
    diff: tuple[DiffOp, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"score must be in [0.0, 1.0], got {self.score!r}")
        if (self.derived is None) != (self.kind == "omitted"):
            raise ValueError(f"a derived span is required except for omitted passages (kind {self.kind!r})")
        if (self.source is None) != (self.kind == "added"):
            raise ValueError(f"a source span is required except for added passages (kind {self.kind!r})")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "derived": self.derived.to_dict() if self.derived is not None else None,
            "source": self.source.to_dict() if self.source is not None else None,
            "score": round(self.score, 4),
        }
        if self.diff:
            out["diff"] = [op.to_dict() for op in self.diff]
        return out


@dataclass(frozen=True, slots=True)
class Alignment:
    """How the derived document reuses the source: verdict, coverage and labelled passages.

    ``coverage`` maps ``copied``, ``edited``, ``paraphrased`` and ``added`` to their share of
    the derived article's sentence characters; the shares sum to 1. ``passages`` lists the
    derived passages in text order, then the omitted source passages in text order.
    """

    source_id: str
    derived_id: str
    verdict: Verdict
    coverage: Mapping[str, float]
    passages: tuple[AlignedPassage, ...]
    reason: str = ""

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, got {self.verdict!r}")
        object.__setattr__(self, "coverage", MappingProxyType(dict(self.coverage)))

    @property
    def counts(self) -> dict[str, int]:
        """Number of passages of each kind (every kind present, zeros included)."""
        found = Counter(p.kind for p in self.passages)
        return {k: found[k] for k in KINDS}

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source_id,
            "derived": self.derived_id,
            "verdict": self.verdict,
            "reason": self.reason,
            "coverage": dict(self.coverage),
            "counts": self.counts,
            "passages": [p.to_dict() for p in self.passages],
        }


def alignment_summary(al: Alignment) -> dict[str, Any]:
    """Verdict, coverage and passage counts of an alignment, without the passages.

    >>> from dedup.types import Document
    >>> d = Document("a", "Le chat dort sur le canapé du salon depuis ce matin.")
    >>> alignment_summary(align(d, d))["verdict"]
    'verbatim'
    """
    return {
        "source": al.source_id,
        "derived": al.derived_id,
        "verdict": al.verdict,
        "reason": al.reason,
        "coverage": dict(al.coverage),
        "counts": al.counts,
    }


def alignment_report(al: Alignment, source: Document, derived: Document) -> dict[str, Any]:
    """``al.to_dict()`` with each passage's text added (``source_text``, ``derived_text``)."""
    out = al.to_dict()
    for item, passage in zip(out["passages"], al.passages, strict=True):
        if passage.derived is not None:
            item["derived_text"] = derived.text[passage.derived.start : passage.derived.end]
        if passage.source is not None:
            item["source_text"] = source.text[passage.source.start : passage.source.end]
    return out


# ---------------------------------------------------------------------------------------
# Library entry points


def align(
    source: Document,
    derived: Document,
    *,
    config: ScanConfig | None = None,
    idf: IdfTable | None = None,
    processor: TextProcessor | None = None,
) -> Alignment:
    """Align ``derived`` against ``source`` and label each of its passages.

    ``idf`` weighs content words (built from the two documents when None; pass a corpus
    table for better weights). ``processor`` caches stems: pass one shared instance when
    aligning many pairs (preparing a document is then several times faster).
    """
    processor = processor or TextProcessor()
    return align_prepared(prepare(source, processor), prepare(derived, processor), config=config, idf=idf)


def align_prepared(
    source: Prepared,
    derived: Prepared,
    *,
    config: ScanConfig | None = None,
    idf: IdfTable | None = None,
) -> Alignment:
    """:func:`align` on documents already prepared (cleaned, split and normalized)."""
    config = config or ScanConfig()
    idf = idf or IdfTable.from_documents([source, derived])
    return _Aligner(source, derived, config, idf).run()


def align_pairs(
    result: ScanResult,
    *,
    only: Iterable[tuple[str, str]] | None = None,
    sources: Mapping[tuple[str, str], str] | None = None,
) -> dict[tuple[str, str], Alignment]:
    """Align every related pair of a scan, keyed by ``(pair.a, pair.b)``.

    The source of a pair is ``sources[(pair.a, pair.b)]`` when given (e.g. the direction
    :mod:`dedup.attribute` decided), else the older document by ``Document.date`` when both
    dates are known (and parse as ISO dates), else ``pair.a``. One IDF table built from all the scan's
    documents is shared. ``only`` restricts the work to some pairs (ids in either order).
    """
    wanted = None if only is None else {frozenset(p) for p in only}
    pairs = [p for p in result.pairs if wanted is None or frozenset((p.a, p.b)) in wanted]
    if not pairs:
        return {}
    processor = TextProcessor()  # one stem cache for all the documents
    prepared = {d.id: prepare(d, processor) for d in result.documents}
    idf = IdfTable.from_documents(prepared.values())
    docs = {d.id: d for d in result.documents}
    out: dict[tuple[str, str], Alignment] = {}
    for pair in pairs:
        chosen = (sources or {}).get((pair.a, pair.b))
        if chosen in (pair.a, pair.b):
            src, der = (docs[pair.a], docs[pair.b]) if chosen == pair.a else (docs[pair.b], docs[pair.a])
        else:
            src, der = _source_first(docs[pair.a], docs[pair.b])
        out[(pair.a, pair.b)] = align_prepared(prepared[src.id], prepared[der.id], config=result.config, idf=idf)
    log.info("aligned %d pair(s)", len(out))
    return out


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=None) if parsed.tzinfo is None else parsed


def _source_first(a: Document, b: Document) -> tuple[Document, Document]:
    """``(source, derived)``: the older document first when both dates are known."""
    da, db = _parse_date(a.date), _parse_date(b.date)
    if da is not None and db is not None:
        try:
            if db < da:
                return b, a
        except TypeError:  # one date has a time zone, the other not
            return a, b
    return a, b


# ---------------------------------------------------------------------------------------
# The aligner


@dataclass(frozen=True, slots=True)
class _Match:
    """Derived sentences ``d0..d1`` matched to source sentences ``s0..s1`` (inclusive)."""

    d0: int
    d1: int
    s0: int
    s1: int
    kind: int
    score: float  # edit similarity (copied, edited) or content overlap (paraphrased)
    rank: float  # the stronger of the two, for the order of the greedy matching


def _runs(prepared: Prepared) -> list[tuple[int, int]]:
    """``(first, last)`` sentence runs of 1 to MAX_RUN sentences with only white space between."""
    sents = prepared.sentences
    text = prepared.doc.text
    out = []
    for i in range(len(sents)):
        out.append((i, i))
        for j in range(i + 1, min(i + MAX_RUN, len(sents))):
            if text[sents[j - 1].span.end : sents[j].span.start].strip():
                break
            out.append((i, j))
    return out


def _run_view(prepared: Prepared, runs: Sequence[tuple[int, int]]) -> Prepared:
    """A Prepared whose "sentences" are the runs (words of a run = union of its sentences)."""
    sents = prepared.sentences
    merged = []
    for first, last in runs:
        if first == last:
            merged.append(sents[first])
            continue
        part = sents[first : last + 1]
        merged.append(
            Sentence(
                Span(part[0].span.start, part[-1].span.end),
                part[0].paragraph,
                tuple(w for s in part for w in s.surfaces),
                tuple(w for s in part for w in s.content),
            )
        )
    return Prepared(prepared.doc, prepared.language, tuple(merged), ())


class _RunScorer:
    """:func:`dedup.verify.sentence_scores` between runs of sentences, without building run views.

    Each text's sentences are turned once into rows over the pair's content-word vocabulary;
    a run's row is the union of its sentences' rows, its text their words joined, its figures
    the union of theirs. The formulas are those of :meth:`dedup.verify.Verifier.scores`
    (tests check both agree); this only saves recomputing per-word features for every run.
    """

    def __init__(self, derived: Prepared, source: Prepared, idf: IdfTable) -> None:
        vocab: dict[str, int] = {}
        entries = []
        for prepared in (derived, source):
            rows: list[int] = []
            cols: list[int] = []
            for i, sent in enumerate(prepared.sentences):
                for w in sent.content:
                    rows.append(i)
                    cols.append(vocab.setdefault(w, len(vocab)))
            entries.append((rows, cols))
        weights: dict[str | None, np.ndarray] = {}
        sides = []
        for prepared, (rows, cols) in zip((derived, source), entries, strict=True):
            present = np.zeros((len(prepared.sentences), len(vocab)))
            present[rows, cols] = 1.0
            if prepared.language not in weights:
                weights[prepared.language] = on_grid(np.array([idf.weight(w, prepared.language) for w in vocab]))
            sides.append((present, weights[prepared.language], [" ".join(s.surfaces) for s in prepared.sentences],
                          [figure_parts(s) for s in prepared.sentences]))
        self._sides = tuple(sides)

    def _rows(self, side: int, runs: Sequence[tuple[int, int]]) -> tuple[np.ndarray, list[str], list[frozenset[str]]]:
        present, _, texts, figures = self._sides[side]
        firsts = np.array([a for a, _ in runs], dtype=np.intp)
        rows = present[firsts]
        for offset in range(1, MAX_RUN):
            longer = np.array([b - a >= offset for a, b in runs], dtype=bool)
            if longer.any():
                rows[longer] = np.maximum(rows[longer], present[firsts[longer] + offset])
        run_texts = [texts[a] if a == b else " ".join(texts[a : b + 1]) for a, b in runs]
        # a run is one merged sentence: its figures follow the sentence rule on the union
        run_figures = [figures_of(frozenset().union(*(figures[k][0] for k in range(a, b + 1))),
                                  frozenset().union(*(figures[k][1] for k in range(a, b + 1))))
                       for a, b in runs]
        return rows, run_texts, run_figures

    def scores(self, d_runs: Sequence[tuple[int, int]],
               s_runs: Sequence[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(overlap, ratio, shared)`` matrices, ``len(d_runs) x len(s_runs)``."""
        rows_d, texts_d, figs_d = self._rows(0, d_runs)
        rows_s, texts_s, figs_s = self._rows(1, s_runs)
        wd, ws = rows_d * self._sides[0][1], rows_s * self._sides[1][1]
        pd, ps = (wd > 0).astype(np.float64), (ws > 0).astype(np.float64)
        inter = pd @ ps.T
        # a word shared by both sentences counts with its mean weight in the two languages
        weighted = (wd @ ps.T + pd @ ws.T) / 2
        total = wd.sum(axis=1)[:, None] + ws.sum(axis=1)[None, :]
        with np.errstate(invalid="ignore", divide="ignore"):
            overlap = np.where(total > 0, 2 * weighted / total, 0.0)
        conflict = _number_conflicts(figs_d, figs_s)
        overlap[conflict] = 0.0
        ratio = np.asarray(process.cdist(texts_d, texts_s, scorer=fuzz.ratio, dtype=np.float32, workers=1),
                           dtype=np.float64)
        ratio /= 100.0
        ratio[conflict] = 0.0
        return overlap, ratio, inter


class _Aligner:
    """One alignment: holds both prepared texts, the match state, and builds the result."""

    def __init__(self, source: Prepared, derived: Prepared, config: ScanConfig, idf: IdfTable) -> None:
        self.src = source
        self.der = derived
        self.config = config
        self.idf = idf
        self.processor = TextProcessor()
        self._tokens: dict[tuple[int, int, int], list[Token]] = {}
        self._joined: list[str] | None = None

    # -- tokens ---------------------------------------------------------------------------

    def tokens(self, side: int, first: int, last: int) -> list[Token]:
        """Tokens of sentences ``first..last`` of the source (side 0) or derived (side 1) text."""
        key = (side, first, last)
        if key not in self._tokens:
            prepared = self.src if side == 0 else self.der
            out: list[Token] = []
            for s in prepared.sentences[first : last + 1]:
                out.extend(tokenize(prepared.doc.text, s.span.start, s.span.end))
            self._tokens[key] = out
        return self._tokens[key]

    def offsets(self, side: int, first: int, last: int) -> list[tuple[int, int]]:
        """``(start, end)`` of the tokens of sentences ``first..last``: the spans of
        :meth:`tokens` without building Token objects (their surfaces are the sentences')."""
        prepared = self.src if side == 0 else self.der
        text = prepared.doc.text
        return [m.span() for s in prepared.sentences[first : last + 1]
                for m in _TOKEN.finditer(text, s.span.start, s.span.end)]

    # -- matching -------------------------------------------------------------------------

    def candidates(self) -> list[_Match]:
        """Every (derived run, source run) pair, one side a single sentence, that matches.

        Sentence pairs are scored first; a run is scored only against a sentence whose content
        overlap with each of the run's sentences is at least _RUN_MEMBER_OVERLAP (a sentence
        that adds nothing only makes the union score worse).
        """
        n, m = len(self.der.sentences), len(self.src.sentences)
        singles_d, singles_s = [(i, i) for i in range(n)], [(j, j) for j in range(m)]
        scorer = _RunScorer(self.der, self.src, self.idf)
        overlap, ratio, shared = scorer.scores(singles_d, singles_s)
        out = self._judge(singles_d, singles_s, (overlap, ratio, shared), np.ones((n, m), dtype=bool))
        # a sentence of a run must share real content with the sentence on the other side
        touch = overlap >= _RUN_MEMBER_OVERLAP
        # one derived sentence against runs of source sentences, then the converse
        for side, runs in ((0, [r for r in _runs(self.src) if r[1] > r[0]]),
                           (1, [r for r in _runs(self.der) if r[1] > r[0]])):
            if not runs:
                continue
            t = touch if side == 0 else touch.T
            firsts = np.array([a for a, _ in runs])
            lengths = np.array([b - a + 1 for a, b in runs])
            ok = t[:, firsts].copy()  # sentence x run: shares words with every sentence of the run
            for offset in range(1, MAX_RUN):
                longer = lengths > offset
                ok[:, longer] &= t[:, firsts[longer] + offset]
            rows, cols = np.nonzero(ok.any(axis=1))[0], np.nonzero(ok.any(axis=0))[0]
            if not len(rows):
                continue
            one = [(int(i), int(i)) for i in rows]
            many = [runs[k] for k in cols]
            mask = ok[np.ix_(rows, cols)]
            if side == 0:
                scores = scorer.scores(one, many)
                out += self._judge(one, many, scores, mask)
            else:
                scores = scorer.scores(many, one)
                out += self._judge(many, one, scores, mask.T)
        return out

    def _judge(self, d_runs: Sequence[tuple[int, int]], s_runs: Sequence[tuple[int, int]],
               scores: tuple[np.ndarray, np.ndarray, np.ndarray], allowed: np.ndarray) -> list[_Match]:
        """The matching pairs among ``d_runs x s_runs`` (where ``allowed``), with kind and score."""
        cfg = self.config
        overlap, ratio, shared = scores
        d_surf = [tuple(w for s in self.der.sentences[a : b + 1] for w in s.surfaces) for a, b in d_runs]
        s_surf = [tuple(w for s in self.src.sentences[a : b + 1] for w in s.surfaces) for a, b in s_runs]
        d_words = np.array([len(w) for w in d_surf])[:, None]
        s_words = np.array([len(w) for w in s_surf])[None, :]
        equal = np.zeros_like(allowed)
        for i, j in zip(*np.nonzero(allowed & (ratio >= cfg.verbatim_ratio)), strict=True):
            equal[i, j] = d_surf[i] == s_surf[j]
        edited = (allowed & ~equal & (ratio >= cfg.edited_ratio) & (overlap >= _EDIT_OVERLAP)
                  & (d_words >= _MIN_EDIT_WORDS) & (s_words >= _MIN_EDIT_WORDS))
        # character similarity flatters long texts: an edit must also keep most of the words
        for i, j in zip(*np.nonzero(edited), strict=True):
            edited[i, j] = Indel.normalized_similarity(d_surf[i], s_surf[j]) >= cfg.edited_ratio
        para = allowed & (overlap >= cfg.match_threshold) & (shared >= _MIN_SHARED)
        kind = np.where(equal, _COPIED, np.where(edited, _EDITED, np.where(para, _PARA, 0)))
        # rank by the stronger measure (as verify does); report the measure that names the kind
        rank = np.where(equal, 1.0, np.maximum(np.where(edited, ratio, 0.0), np.where(para, overlap, 0.0)))
        score = np.where(equal, 1.0, np.where(edited, ratio, overlap))
        out = []
        for i, j in zip(*np.nonzero(kind), strict=True):
            (d0, d1), (s0, s1) = d_runs[i], s_runs[j]
            out.append(_Match(d0, d1, s0, s1, int(kind[i, j]), float(min(1.0, score[i, j])),
                              float(min(1.0, rank[i, j]))))
        return out

    def select(self, cands: list[_Match], d_match: list[_Match | None], s_used: list[bool] | None) -> None:
        """Greedy global matching, best first, into ``d_match``; ``s_used`` (if given) makes
        source sentences exclusive. Bonuses prefer continuing a neighbour's match in order."""
        n, m = max(len(self.der.sentences), 1), max(len(self.src.sentences), 1)
        scored = [
            c.rank
            + _DIAGONAL_BONUS * (1 - abs((c.d0 + c.d1) / (2 * n) - (c.s0 + c.s1) / (2 * m)))
            - _RUN_PENALTY * (c.d1 - c.d0 + c.s1 - c.s0)
            for c in cands
        ]

        def free(c: _Match) -> bool:
            # _Match objects are truthy: any() finds a sentence taken already
            return not any(d_match[c.d0 : c.d1 + 1]) and (s_used is None or not any(s_used[c.s0 : c.s1 + 1]))

        ranked = sorted(range(len(cands)), key=lambda k: -scored[k])  # stable: ties keep their order
        order = [cands[k] for k in ranked]
        base = [scored[k] for k in ranked]
        first, total = 0, len(order)
        while True:
            # a match only ever takes sentences away: the best is within the order bonus of the
            # best free candidate
            while first < total and not free(order[first]):
                first += 1
            if first == total:
                return
            floor = base[first] - _ORDER_BONUS
            window = []
            k = first
            while k < total and base[k] >= floor:
                if free(order[k]):
                    window.append(k)
                k += 1
            lead = order[window[0]]
            if self._order_bonus(lead, d_match):  # nothing in the window can beat it
                best = lead
            else:
                best = order[max(window, key=lambda k: base[k] + self._order_bonus(order[k], d_match))]
            for k in range(best.d0, best.d1 + 1):
                d_match[k] = best
            if s_used is not None:
                for k in range(best.s0, best.s1 + 1):
                    s_used[k] = True

    def _order_bonus(self, c: _Match, d_match: list[_Match | None]) -> float:
        before = d_match[c.d0 - 1] if c.d0 > 0 else None
        after = d_match[c.d1 + 1] if c.d1 + 1 < len(d_match) else None
        keeps = (before is not None and before.s1 == c.s0 - 1) or (after is not None and after.s0 == c.s1 + 1)
        return _ORDER_BONUS if keeps else 0.0

    # -- passages -------------------------------------------------------------------------

    def span(self, side: int, first: int, last: int) -> Span:
        sents = (self.src if side == 0 else self.der).sentences
        return Span(sents[first].span.start, sents[last].span.end)

    def diff(self, m: _Match) -> tuple[DiffOp, ...]:
        """Word-level changes from the source run to the derived run."""
        ops = Levenshtein.opcodes([w for s in self.src.sentences[m.s0 : m.s1 + 1] for w in s.surfaces],
                                  [w for s in self.der.sentences[m.d0 : m.d1 + 1] for w in s.surfaces])
        src_text, der_text = self.src.doc.text, self.der.doc.text
        # adjacent changes read as one ("La Corée du Nord n'" -> "Pyongyang")
        groups: list[list[int]] = []
        for op in ops:
            if op.tag == "equal":
                continue
            if groups and groups[-1][1] == op.src_start and groups[-1][3] == op.dest_start:
                groups[-1][1], groups[-1][3] = op.src_end, op.dest_end
            else:
                groups.append([op.src_start, op.src_end, op.dest_start, op.dest_end])
        st, dt = self.offsets(0, m.s0, m.s1), self.offsets(1, m.d0, m.d1)
        out = []
        for s0, s1, d0, d1 in groups:
            tag: DiffTag = "replace" if s1 > s0 and d1 > d0 else ("delete" if s1 > s0 else "insert")
            s_span, d_span = _token_span(st, s0, s1), _token_span(dt, d0, d1)
            out.append(DiffOp(tag, s_span, d_span, src_text[s_span.start : s_span.end],
                              der_text[d_span.start : d_span.end]))
        return tuple(out)

    def quote_pieces(self, index: int, m: _Match | None) -> list[AlignedPassage] | None:
        """Split derived sentence ``index`` around reused quotations, or None if it has none.

        A quotation of MIN_QUOTE_WORDS words or more whose words appear in a row in a source
        sentence becomes a copied passage (its quotation marks included). The rest of the
        sentence is paraphrased if it still matches the sentence's counterpart ``m`` without
        the quotations, else added.
        """
        sent = self.der.sentences[index]
        text = self.der.doc.text
        cuts: list[tuple[int, int, Span]] = []
        for q in _QUOTE.finditer(text, sent.span.start, sent.span.end):
            group = next(g for g in range(1, 5) if q.group(g) is not None)
            words = [t.surface for t in tokenize(text, q.start(group), q.end(group))]
            if len(words) < MIN_QUOTE_WORDS:
                continue
            found = self._find_words(words)
            if found is not None:
                cuts.append((q.start(), q.end(), found))
        if not cuts:
            return None
        rest = self._rest_of(index, [Span(a, b) for a, b, _ in cuts], m)
        pieces: list[tuple[int, int, Kind, Span | None, float]] = []
        cursor = sent.span.start
        for start, end, found in cuts:
            if start > cursor:
                pieces.append((cursor, start, *rest))
            pieces.append((start, end, "copied", found, 1.0))
            cursor = end
        if cursor < sent.span.end:
            pieces.append((cursor, sent.span.end, *rest))
        # a piece without words (a full stop, a quotation mark) joins its neighbour
        merged: list[list[Any]] = []
        for piece in pieces:
            if merged and not tokenize(text, piece[0], piece[1]):
                merged[-1][1] = piece[1]
            elif merged and not tokenize(text, merged[-1][0], merged[-1][1]):
                merged[-1] = [merged[-1][0], *piece[1:]]
            else:
                merged.append(list(piece))
        return [AlignedPassage(kind, Span(start, end), src, score) for start, end, kind, src, score in merged]

    def _rest_of(self, index: int, quotes: list[Span], m: _Match | None) -> tuple[Kind, Span | None, float]:
        """(kind, source span, score) of sentence ``index`` without its ``quotes``."""
        if m is None:
            return ("added", None, 0.0)
        sent = self.der.sentences[index]
        text = self.der.doc.text
        toks = [t for t in tokenize(text, sent.span.start, sent.span.end)
                if not any(q.start <= t.start < q.end for q in quotes)]
        if not toks:
            return ("added", None, 0.0)
        rest = Sentence(sent.span, sent.paragraph, tuple(t.surface for t in toks),
                        tuple(self.processor.content_forms(toks, self.der.language)))
        mine = Prepared(self.der.doc, self.der.language, (rest,), ())
        overlap, _, shared = sentence_scores(mine, _run_view(self.src, [(m.s0, m.s1)]), self.idf)
        if overlap[0, 0] >= self.config.match_threshold and shared[0, 0] >= _MIN_SHARED:
            return ("paraphrased", self.span(0, m.s0, m.s1), float(min(1.0, overlap[0, 0])))
        return ("added", None, 0.0)

    def _find_words(self, words: list[str]) -> Span | None:
        """Span of ``words`` appearing in a row inside one source sentence, if any."""
        if self._joined is None:
            self._joined = [" " + " ".join(s.surfaces) + " " for s in self.src.sentences]
        needle = " " + " ".join(words) + " "
        for i, joined in enumerate(self._joined):
            at = joined.find(needle)
            if at >= 0:
                first = joined.count(" ", 0, at + 1) - 1  # words before the match
                toks = self.tokens(0, i, i)
                return Span(toks[first].start, toks[first + len(words) - 1].end)
        return None

    # -- the whole alignment --------------------------------------------------------------

    def run(self) -> Alignment:
        n_der = len(self.der.sentences)
        if not self.src.sentences or not n_der:
            return self.result([], [], "no article text to compare")
        cands = self.candidates()
        d_match: list[_Match | None] = [None] * n_der
        self.select(cands, d_match, [False] * len(self.src.sentences))
        # a sentence left over may still repeat (copy or edit) a source sentence used already
        self.select([c for c in cands if c.kind in (_COPIED, _EDITED)], d_match, None)

        derived: list[AlignedPassage] = []
        matched = 0
        i = 0
        while i < n_der:
            m = d_match[i]
            if m is not None and m.kind != _PARA:
                kind = _KIND_NAMES[m.kind]
                diff = self.diff(m) if kind == "edited" else ()
                derived.append(AlignedPassage(kind, self.span(1, m.d0, m.d1), self.span(0, m.s0, m.s1), m.score,
                                              diff))
                matched += 1
                i = m.d1 + 1
                continue
            # added or paraphrased: sentence by sentence, reused quotations cut out as copied
            last = i if m is None else m.d1
            paraphrased = False
            for k in range(i, last + 1):
                pieces = self.quote_pieces(k, m)
                if pieces is None:
                    pieces = [AlignedPassage("added", self.der.sentences[k].span, None, 0.0) if m is None else
                              AlignedPassage("paraphrased", self.der.sentences[k].span, self.span(0, m.s0, m.s1),
                                             m.score)]
                derived.extend(pieces)
                matched += sum(p.kind == "copied" for p in pieces)
                paraphrased = paraphrased or any(p.kind == "paraphrased" for p in pieces)
            matched += paraphrased
            i = last + 1
        long_copy = any(
            p.kind == "copied" and p.derived is not None
            and len(tokenize(self.der.doc.text, p.derived.start, p.derived.end)) >= self.config.min_verbatim_words
            for p in derived
        )

        # one shared fact is not reuse (same-topic articles share background facts), unless
        # it is a long copied sentence or the whole derived text is a copy
        whole_copy = _coverage(derived, [s.span for s in self.der.sentences])["copied"] >= _VERBATIM_SHARE
        if matched < self.config.min_matches and not long_copy and not whole_copy:
            why = (f"no reuse: {matched} matching passage(s) (needs {self.config.min_matches}) "
                   f"and no copied sentence of {self.config.min_verbatim_words}+ words")
            added = [AlignedPassage("added", s.span, None, 0.0) for s in self.der.sentences]
            return self.result(added, [], why)
        return self.result(derived, [p.source for p in derived if p.source is not None], "")

    def result(self, derived: list[AlignedPassage], used: list[Span], why: str) -> Alignment:
        """Add omitted source sentences, compute coverage, name the verdict."""
        omitted = [
            AlignedPassage("omitted", None, s.span, 0.0)
            for s in self.src.sentences
            if not any(u.start < s.span.end and s.span.start < u.end for u in used)
        ]
        coverage = _coverage(derived, [s.span for s in self.der.sentences])
        verdict, reason = _verdict(coverage) if not why else ("unrelated", why)
        return Alignment(self.src.id, self.der.id, verdict, coverage, (*derived, *omitted), reason)


def _token_span(tokens: Sequence[tuple[int, int]], start: int, end: int) -> Span:
    """Span of tokens ``start..end-1`` (given as ``(start, end)`` offsets), empty at ``start``
    if there are none."""
    if end > start:
        return Span(tokens[start][0], tokens[end - 1][1])
    at = tokens[start][0] if start < len(tokens) else (tokens[-1][1] if tokens else 0)
    return Span(at, at)


def _coverage(passages: Sequence[AlignedPassage], sentences: Sequence[Span]) -> dict[str, float]:
    """Share of the sentences' characters under each label; exactly 1 in total."""
    chars = dict.fromkeys(COVERAGE_KINDS, 0)
    starts = [s.start for s in sentences]
    for p in passages:
        if p.derived is None:
            continue
        k = max(0, bisect_right(starts, p.derived.start) - 1)
        while k < len(sentences) and sentences[k].start < p.derived.end:
            s = sentences[k]
            chars[p.kind] += max(0, min(p.derived.end, s.end) - max(p.derived.start, s.start))
            k += 1
    total = sum(chars.values())
    if not total:
        return {k: (1.0 if k == "added" else 0.0) for k in COVERAGE_KINDS}
    shares = {k: v / total for k, v in chars.items()}
    # the largest share takes the rounding residue, so the figures add up to 1 exactly
    largest = max(shares, key=lambda k: shares[k])
    shares[largest] = 1.0 - sum(v for k, v in shares.items() if k != largest)
    return {k: max(0.0, v) for k, v in shares.items()}


def _verdict(coverage: Mapping[str, float]) -> tuple[Verdict, str]:
    copied, edited, para = coverage["copied"], coverage["edited"], coverage["paraphrased"]
    reused = copied + edited + para
    if copied >= _VERBATIM_SHARE:
        return "verbatim", f"{copied:.0%} of the derived text copied"
    if copied + edited >= _MOSTLY:
        return "light_edit", f"{copied + edited:.0%} of the derived text copied or edited"
    if reused >= _MOSTLY:
        return "rewrite", f"{reused:.0%} of the derived text reused, mostly in other words"
    return "partial", f"{reused:.0%} of the derived text reused, the rest is new"
