"""Verify a candidate pair and name its relation.

Two documents are compared sentence by sentence with two measures, both in [0, 1]:

- ``overlap``: IDF-weighted Dice overlap of the sentences' content words (stemmed, stop words
  removed). It survives rewording, reordering inside the sentence and light paraphrase, and
  it weighs rare words, names and numbers above common vocabulary;
- ``ratio``: normalized edit similarity (RapidFuzz ``fuzz.ratio``) of the sentences' words. It
  tells verbatim copies and light edits apart from paraphrase.

Sentences are then matched one to one, best first. A pair is related when it has at least
``min_matches`` sentence matches scoring ``match_threshold`` or more (one shared fact is not
enough: same-topic articles share background facts), or a verbatim sentence of at least
``min_verbatim_words`` words (a reused quotation or paragraph), or a whole-document shingle
Jaccard at or above ``doc_threshold``. The relation is then:

- ``duplicate``: near-identical (shingle Jaccard >= 0.8, or 90 % of both texts verbatim);
- ``syndicated``: most of the shorter text is there verbatim or lightly edited;
- ``rewrite``: the shorter text's content is there, reworded (half of it, or a fifth when
  the matches are mostly paraphrases rather than copies);
- ``partial``: some passages reused inside otherwise different text: at least
  ``min_verbatim_words`` words of copied or lightly edited sentences (paraphrase-level
  matches alone, below the rewrite level, are what same-topic articles share).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import xxhash
from rapidfuzz import fuzz, process

from dedup.config import ScanConfig
from dedup.prepare import Prepared, Sentence
from dedup.shingle import word_shingles
from dedup.types import Span

Relation = Literal["duplicate", "syndicated", "rewrite", "partial"]
MatchKind = Literal["copied", "edited", "paraphrased"]
RELATIONS: tuple[Relation, ...] = ("duplicate", "syndicated", "rewrite", "partial")

_COVER_FLOOR = 0.3  # a sentence with a counterpart scoring this much counts as covered
_NUMBER_AGREEMENT = 0.34  # share of figures two sentences must have in common, if both have any
_EDIT_OVERLAP = 0.5  # content overlap an edited (or copied) sentence keeps at least
_MIN_SHARED = 3  # content words two sentences must share for an overlap-based match


class IdfTable:
    """Inverse document frequency of content words, per language.

    ``idf = ln((N + 1) / (df + 1)) + 1`` with ``N`` the number of documents of that
    language; words never seen get the largest weight.
    """

    def __init__(self, counts: dict[str | None, Counter[str]], totals: dict[str | None, int]) -> None:
        self._counts = counts
        self._totals = totals
        self._memo: dict[tuple[str | None, str], float] = {}

    @classmethod
    def from_documents(cls, docs: Iterable[Prepared]) -> IdfTable:
        counts: dict[str | None, Counter[str]] = {}
        totals: dict[str | None, int] = {}
        for doc in docs:
            counts.setdefault(doc.language, Counter()).update(set(doc.content))
            totals[doc.language] = totals.get(doc.language, 0) + 1
        return cls(counts, totals)

    @classmethod
    def from_counts(
        cls, counts: Mapping[str | None, Mapping[str, int]], totals: Mapping[str | None, int]
    ) -> IdfTable:
        """A table from stored counts: ``counts[language][word]`` = documents containing
        ``word``, ``totals[language]`` = documents of that language (a persistent index keeps
        these, see :mod:`dedup.store`). Weights are the same as :meth:`from_documents` gives
        for a corpus with those counts.

        >>> IdfTable.from_counts({"en": {"bank": 1}}, {"en": 3}).weight("bank", "en")  # ln(4/2) + 1
        1.6931471805599454
        """
        return cls({lang: Counter(words) for lang, words in counts.items()}, dict(totals))

    def weight(self, word: str, language: str | None) -> float:
        key = (language, word)
        value = self._memo.get(key)
        if value is None:
            n = self._totals.get(language, 0)
            counts = self._counts.get(language)
            df = counts.get(word, 0) if counts is not None else 0
            value = self._memo[key] = math.log((n + 1) / (df + 1)) + 1.0
        return value


@dataclass(frozen=True, slots=True)
class SentenceMatch:
    """Sentence ``a`` of the first document matched to sentence ``b`` of the second."""

    a: int
    b: int
    overlap: float
    ratio: float
    kind: MatchKind

    @property
    def score(self) -> float:
        return max(self.overlap, self.ratio)


@dataclass(frozen=True, slots=True)
class Verification:
    """The outcome of checking one candidate pair."""

    related: bool
    relation: Relation | None
    scores: dict[str, float]
    matches: tuple[SentenceMatch, ...]
    reason: str

    def evidence(self, a: Prepared, b: Prepared, limit: int = 5) -> list[dict[str, Any]]:
        """The strongest sentence matches, with their spans in each text."""
        best = sorted(self.matches, key=lambda m: (-m.score, m.a, m.b))[:limit]
        return [
            {
                "kind": m.kind,
                "score": round(m.score, 3),
                "a": a.sentences[m.a].span.to_dict(),
                "b": b.sentences[m.b].span.to_dict(),
            }
            for m in best
        ]


@dataclass(frozen=True, slots=True)
class DocFeatures:
    """What verification needs of one prepared document, computed once per document.

    ``rows``/``cols``/``vals`` list the (sentence, word id, IDF weight) entries of the
    sentences' content words; word ids come from the :class:`Verifier` that made them.
    """

    rows: np.ndarray
    cols: np.ndarray
    vals: np.ndarray
    sizes: np.ndarray
    figures: tuple[frozenset[str], ...]
    has_figures: np.ndarray
    texts: tuple[str, ...]
    long: np.ndarray
    shingles: np.ndarray


class Verifier:
    """Verifies pairs under one IDF table and configuration, caching per-document features.

    A scan checks each document against several candidates: its features (weights, figures,
    shingle hashes) are computed once. The cache is per instance; :meth:`forget` drops one.
    """

    def __init__(self, idf: IdfTable, config: ScanConfig | None = None) -> None:
        self.idf = idf
        self.config = config or ScanConfig()
        self._word_ids: dict[str, int] = {}
        self._features: dict[int, tuple[Prepared, DocFeatures]] = {}

    def forget(self, doc: Prepared) -> None:
        self._features.pop(id(doc), None)

    def features(self, doc: Prepared) -> DocFeatures:
        cached = self._features.get(id(doc))
        if cached is not None and cached[0] is doc:
            return cached[1]
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        ids = self._word_ids
        for i, sentence in enumerate(doc.sentences):
            for w in set(sentence.content):
                rows.append(i)
                wid = ids.get(w)
                if wid is None:
                    # a hash, not a running number: the column order (and so every float sum)
                    # is the same in every process, whatever documents it saw before
                    wid = ids[w] = xxhash.xxh3_64_intdigest(w.encode("utf-8")) - (1 << 63)
                cols.append(wid)
                vals.append(self.idf.weight(w, doc.language))
        figures = tuple(_figures(s) for s in doc.sentences)
        r = np.asarray(rows, dtype=np.int64)
        v = np.asarray(vals, dtype=np.float64)
        sizes = np.bincount(r, weights=v, minlength=len(doc.sentences)) if len(r) else np.zeros(len(doc.sentences))
        shingles = np.unique(np.fromiter(
            (xxhash.xxh3_64_intdigest(sh.encode("utf-8")) for sh in word_shingles(doc.surfaces, self.config.ngram)),
            dtype=np.uint64,
        ))
        feats = DocFeatures(
            rows=r,
            cols=np.asarray(cols, dtype=np.int64),
            vals=v,
            sizes=sizes,
            figures=figures,
            has_figures=np.array([bool(f) for f in figures], dtype=bool),
            texts=tuple(" ".join(s.surfaces) for s in doc.sentences),
            long=np.array([len(s.surfaces) >= 5 for s in doc.sentences], dtype=bool),
            shingles=shingles,
        )
        # keyed by identity, holding the document so that its id cannot be reused meanwhile
        self._features[id(doc)] = (doc, feats)
        return feats

    def scores(self, a: Prepared, b: Prepared, *, full: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(overlap, ratio, shared)`` matrices, ``len(a.sentences) x len(b.sentences)``.

        With ``full=False`` the character ratio is computed only where the content overlap
        reaches the level an edited sentence keeps (``_EDIT_OVERLAP``) and is 0 elsewhere:
        verification reads it nowhere else, and unrelated pairs then cost almost no ratios.
        """
        fa, fb = self.features(a), self.features(b)
        na, nb = len(a.sentences), len(b.sentences)
        uniq, inverse = np.unique(np.concatenate([fa.cols, fb.cols]), return_inverse=True)
        wa = np.zeros((na, len(uniq)))
        wb = np.zeros((nb, len(uniq)))
        wa[fa.rows, inverse[: len(fa.cols)]] = fa.vals
        wb[fb.rows, inverse[len(fa.cols) :]] = fb.vals
        pa, pb = (wa > 0).astype(np.float64), (wb > 0).astype(np.float64)
        inter = pa @ pb.T
        # a word shared by both sentences counts with its mean weight in the two languages
        weighted = (wa @ pb.T + pa @ wb.T) / 2
        total = fa.sizes[:, None] + fb.sizes[None, :]
        with np.errstate(invalid="ignore", divide="ignore"):
            overlap = np.where(total > 0, 2 * weighted / total, 0.0)
        # without the full ratio, figures only matter where sentences share words (elsewhere
        # both scores are 0 anyway)
        cells = None if full else (overlap > 0) & fa.has_figures[:, None] & fb.has_figures[None, :]
        conflict = _number_conflicts(fa.figures, fb.figures, cells)
        overlap[conflict] = 0.0
        if full:
            ratio = np.asarray(process.cdist(fa.texts, fb.texts, scorer=fuzz.ratio, dtype=np.float32),
                               dtype=np.float64)
            ratio /= 100.0
            ratio[conflict] = 0.0
        else:
            ratio = np.zeros_like(overlap)
            rows, cols = np.nonzero(overlap >= _EDIT_OVERLAP)  # conflicts have overlap 0
            ta, tb, score = fa.texts, fb.texts, fuzz.ratio
            for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
                # float32 then float64, as cdist gives, so both paths agree to the bit
                ratio[i, j] = float(np.float32(score(ta[i], tb[j]))) / 100.0
        return overlap, ratio, inter

    def verify(self, a: Prepared, b: Prepared) -> Verification:
        """Check whether ``a`` and ``b`` share text or content, and how."""
        return _verify(self, a, b)


def sentence_scores(a: Prepared, b: Prepared, idf: IdfTable) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(overlap, ratio, shared)`` matrices, ``len(a.sentences) x len(b.sentences)``."""
    return Verifier(idf).scores(a, b)


# Numbers news spells out ("six people", "douze soldats"), as figures. Words with another
# common sense are left out: one/un/une (pronoun, article), sept (September), neuf (new),
# cent (the coin).
_NUMBER_WORDS = {
    w: str(n)
    for words in (
        "_ _ two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen twenty",
        "_ _ deux trois quatre cinq six _ huit _ dix onze douze treize quatorze quinze seize "
        "dix-sept dix-huit dix-neuf vingt",
    )
    for n, w in enumerate(words.split())
    if w != "_"
} | {"thirty": "30", "forty": "40", "fifty": "50", "trente": "30", "quarante": "40",
     "cinquante": "50", "dozen": "12", "douzaine": "12"}


def _figures(sentence: Sentence) -> frozenset[str]:
    """Numbers of a sentence, years left out (many unrelated sentences share a year).

    Spelled-out numbers count where the sentence states two figures or more ("killing six
    and wounding eight"); a lone one is mostly incidental ("some two years ago", "after four
    years at the helm") and would make rewrites of one event conflict.
    """
    return figures_of(*_figure_parts(sentence))


def _figure_parts(sentence: Sentence) -> tuple[frozenset[str], frozenset[str]]:
    """``(digits, spelled)``: the figures written in digits and the spelled-out numbers."""
    digits = frozenset(w for w in sentence.surfaces
                       if w[:1].isdigit() and not (len(w) == 4 and w[:2] in ("19", "20")))
    spelled = frozenset(_NUMBER_WORDS[w] for w in sentence.surfaces if w in _NUMBER_WORDS)
    return digits, spelled


def figures_of(digits: frozenset[str], spelled: frozenset[str]) -> frozenset[str]:
    """The figures of a sentence (or a run of sentences) from its :func:`_figure_parts`."""
    return digits | spelled if len(digits) + len(spelled) >= 2 else digits


def _number_conflicts(nums_a: Sequence[frozenset[str]], nums_b: Sequence[frozenset[str]],
                      cells: np.ndarray | None = None) -> np.ndarray:
    """True where both sentences state numbers and share almost none of them.

    Two sentences with different figures ("Revs 44.5 mln vs 35.7 mln" and "Revs 92.6 mln vs
    77.1 mln") report different facts, however alike their words: templates, not copies.
    A rewrite keeps the figures; a sentence without figures never conflicts.
    """
    out = np.zeros((len(nums_a), len(nums_b)), dtype=bool)
    if cells is not None:  # only these cells are looked at
        for i, j in zip(*np.nonzero(cells), strict=True):
            x, y = nums_a[i], nums_b[j]
            if len(x & y) < _NUMBER_AGREEMENT * len(x | y):
                out[i, j] = True
        return out
    with_b = [(j, y) for j, y in enumerate(nums_b) if y]
    for i, x in enumerate(nums_a):
        if not x:
            continue
        for j, y in with_b:
            if len(x & y) < _NUMBER_AGREEMENT * len(x | y):
                out[i, j] = True
    return out


def _kind(ratio: float, config: ScanConfig) -> MatchKind:
    if ratio >= config.verbatim_ratio:
        return "copied"
    if ratio >= config.edited_ratio:
        return "edited"
    return "paraphrased"


def _match(overlap: np.ndarray, ratio: np.ndarray, shared: np.ndarray, fa: DocFeatures, fb: DocFeatures,
           config: ScanConfig) -> list[SentenceMatch]:
    long_a = fa.long[:, None]
    long_b = fb.long[None, :]
    # character edit similarity is ~0.5 between unrelated sentences of one language, so it
    # only counts from the "edited" level up
    # up; and an edit must keep the content words (templates like "Revs 44.5 mln vs 35.7
    # mln" are close in characters, not in facts)
    usable_ratio = np.where(long_a & long_b & (ratio >= config.edited_ratio) & (overlap >= _EDIT_OVERLAP), ratio, 0.0)
    usable_overlap = np.where(shared >= _MIN_SHARED, overlap, 0.0)
    score = np.maximum(usable_ratio, usable_overlap)
    rows, cols = np.nonzero(score >= _COVER_FLOOR)
    order = np.argsort(-score[rows, cols], kind="stable")
    used_a: set[int] = set()
    used_b: set[int] = set()
    out = []
    for k in order:
        i, j = int(rows[k]), int(cols[k])
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        r = float(usable_ratio[i, j])
        out.append(SentenceMatch(i, j, float(usable_overlap[i, j]), r, _kind(r, config)))
    out.sort(key=lambda m: (m.a, m.b))
    return out


def _share(best: np.ndarray, sizes: np.ndarray, floor: float) -> float:
    total = float(sizes.sum())
    return float(sizes[best >= floor].sum()) / total if total else 0.0


def verify(a: Prepared, b: Prepared, idf: IdfTable, config: ScanConfig | None = None) -> Verification:
    """Check whether ``a`` and ``b`` share text or content, and how (see :class:`Verifier`)."""
    return Verifier(idf, config).verify(a, b)


def _verify(verifier: Verifier, a: Prepared, b: Prepared) -> Verification:
    config = verifier.config
    if not a.sentences or not b.sentences:
        return Verification(False, None, {}, (), "no article text to compare")
    fa, fb = verifier.features(a), verifier.features(b)
    overlap, ratio, shared = verifier.scores(a, b, full=False)
    matches = _match(overlap, ratio, shared, fa, fb, config)

    n_a, n_b = len(fa.shingles), len(fb.shingles)
    common = len(np.intersect1d(fa.shingles, fb.shingles, assume_unique=True))
    jaccard = common / (n_a + n_b - common) if n_a or n_b else 0.0
    containment = common / min(n_a, n_b) if n_a and n_b else 0.0

    size_a = np.where(fa.sizes > 0, fa.sizes, 0.5)
    size_b = np.where(fb.sizes > 0, fb.sizes, 0.5)
    edited = (ratio >= config.edited_ratio) & (overlap >= _EDIT_OVERLAP)
    best = np.maximum(np.where(shared >= _MIN_SHARED, overlap, 0.0), np.where(edited, ratio, 0.0))
    content_a, content_b = best.max(axis=1), best.max(axis=0)
    cover_a = _share(content_a, size_a, _COVER_FLOOR + 0.05)
    cover_b = _share(content_b, size_b, _COVER_FLOOR + 0.05)
    verbatim = np.where(edited, ratio, 0.0)
    verbatim_a = _share(verbatim.max(axis=1), size_a, config.edited_ratio)
    verbatim_b = _share(verbatim.max(axis=0), size_b, config.edited_ratio)

    strong = [m for m in matches if m.score >= config.match_threshold]
    long_verbatim = [
        m for m in matches
        if m.kind == "copied" and len(a.sentences[m.a].surfaces) >= config.min_verbatim_words
    ]
    counts = Counter(m.kind for m in strong)
    scores = {
        "jaccard": round(jaccard, 4),
        "containment": round(containment, 4),
        "coverage_a": round(cover_a, 4),
        "coverage_b": round(cover_b, 4),
        "verbatim_a": round(verbatim_a, 4),
        "verbatim_b": round(verbatim_b, 4),
        "matched_sentences": float(len(strong)),
        "copied_sentences": float(counts["copied"]),
        "edited_sentences": float(counts["edited"]),
        "paraphrased_sentences": float(counts["paraphrased"]),
    }
    related = (
        len(strong) >= config.min_matches or bool(long_verbatim) or jaccard >= config.doc_threshold
    )
    if not related:
        why = (f"not related: {len(strong)} matching sentence(s) (needs {config.min_matches}), "
               f"shingle Jaccard {jaccard:.2f}")
        return Verification(False, None, scores, tuple(matches), why)

    # "shorter" = the document with less content weight: the one that may be contained
    shorter_cover, shorter_verbatim = (
        (cover_a, verbatim_a) if size_a.sum() <= size_b.sum() else (cover_b, verbatim_b)
    )
    relation: Relation
    copies = counts["copied"] + counts["edited"]
    if jaccard >= 0.8 or (verbatim_a >= 0.9 and verbatim_b >= 0.9):
        relation = "duplicate"
    elif shorter_verbatim >= 0.6 or containment >= 0.6:
        relation = "syndicated"
    elif shorter_cover >= 0.5 or (copies * 2 < len(strong) and shorter_cover >= 0.2):
        # the same content, mostly in other words
        relation = "rewrite"
    else:
        relation = "partial"
        # Partial reuse is reused wording: a few paraphrase-level matches, or a short
        # copied line ("© 2025 Site | All rights reserved", "No. 1 well"), are what
        # same-topic articles and sites' chrome share, not reuse.
        reused = sum(
            min(len(a.sentences[m.a].surfaces), len(b.sentences[m.b].surfaces))
            for m in strong if m.kind != "paraphrased"
        )
        if reused < config.min_verbatim_words and jaccard < config.doc_threshold:
            why = (f"not related: {len(strong)} matching sentence(s), but only {reused} word(s) "
                   f"reused verbatim or lightly edited (partial reuse needs "
                   f"{config.min_verbatim_words}) and too little in common for a rewrite")
            return Verification(False, None, scores, tuple(matches), why)
    parts = [f"{n} {k}" for k, n in counts.items() if n]
    why = (
        f"{len(strong)} matching sentence(s) ({', '.join(parts) or 'none strong'}); "
        f"{cover_a:.0%} of the first and {cover_b:.0%} of the second text have a counterpart; "
        f"{max(verbatim_a, verbatim_b):.0%} verbatim or lightly edited; shingle Jaccard {jaccard:.2f}"
    )
    return Verification(True, relation, scores, tuple(matches), why)


def span_of(prepared: Prepared, first: int, last: int) -> Span:
    """The span from the start of sentence ``first`` to the end of sentence ``last``."""
    return Span(prepared.sentences[first].span.start, prepared.sentences[last].span.end)
