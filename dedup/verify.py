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

What verification reads of a document is its :class:`TextFeatures` (content-word ids per
sentence, sentence texts, spans and figures, shingle hashes), made from a :class:`Prepared`
document or decoded from bytes: a scan computes them once, when it fingerprints, and
verifies candidate pairs from them without preparing any document twice.
"""

from __future__ import annotations

import json
import math
import struct
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any, Literal

import numpy as np
import xxhash
from rapidfuzz import fuzz, process

from dedup.arrays import distinct
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
        self._by_id: dict[str | None, tuple[np.ndarray, np.ndarray, float]] = {}

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

    @classmethod
    def from_id_counts(
        cls, counts: Mapping[str | None, tuple[np.ndarray, np.ndarray]], totals: Mapping[str | None, int]
    ) -> IdfTable:
        """A table from counts keyed by :func:`word_id`: ``counts[language] = (ids, dfs)``,
        two arrays of one length (ids distinct). Weights equal :meth:`from_counts` with the
        words themselves; a persistent index keeps ids, not words (see :mod:`dedup.store`).

        >>> IdfTable.from_id_counts({"en": (np.array([word_id("bank")]), np.array([1]))}, {"en": 3}
        ...                         ).weight("bank", "en")
        1.6931471805599454
        """
        table = cls({}, dict(totals))
        for lang, (ids, dfs) in counts.items():
            ids = np.asarray(ids, dtype=np.int64)
            n = table._totals.get(lang, 0)
            order = np.argsort(ids, kind="stable")
            values = np.log((n + 1) / (np.asarray(dfs, dtype=np.float64)[order] + 1)) + 1.0
            table._by_id[lang] = (ids[order], values, math.log(n + 1) + 1.0)
        return table

    def weight(self, word: str, language: str | None) -> float:
        key = (language, word)
        value = self._memo.get(key)
        if value is None:
            if language in self._by_id and language not in self._counts:  # counts keyed by id
                value = float(self.weights(np.array([word_id(word)], dtype=np.int64), language)[0])
            else:
                n = self._totals.get(language, 0)
                counts = self._counts.get(language)
                df = counts.get(word, 0) if counts is not None else 0
                value = math.log((n + 1) / (df + 1)) + 1.0
            self._memo[key] = value
        return value

    def weights(self, ids: np.ndarray, language: str | None) -> np.ndarray:
        """:meth:`weight` of many words at once, the words given by their :func:`word_id`."""
        table = self._by_id.get(language)
        if table is None:
            counts = self._counts.get(language) or Counter()
            words = list(counts)
            keys = np.fromiter((word_id(w) for w in words), dtype=np.int64, count=len(words))
            values = np.fromiter((self.weight(w, language) for w in words), dtype=np.float64, count=len(words))
            order = np.argsort(keys, kind="stable")
            table = self._by_id[language] = (keys[order], values[order],
                                              math.log(self._totals.get(language, 0) + 1) + 1.0)
        keys, values, unseen = table
        if not len(keys):
            return np.full(len(ids), unseen)
        pos = np.minimum(np.searchsorted(keys, ids), len(keys) - 1)
        return np.where(keys[pos] == ids, values[pos], unseen)


#: Word weights are rounded to multiples of 2**-20 (a change of at most 2**-21, weights being 1
#: or more) before the
#: sentence matrices sum them: sums of such values are exact in float64, so a score is the
#: same whatever order BLAS adds in (its thread count, CPU kernel) and in every process.
WEIGHT_GRID = 2.0 ** 20


def on_grid(weights: np.ndarray) -> np.ndarray:
    """``weights`` rounded to multiples of ``1 / WEIGHT_GRID`` (see :data:`WEIGHT_GRID`)."""
    return np.round(np.asarray(weights, dtype=np.float64) * WEIGHT_GRID) / WEIGHT_GRID


def word_id(word: str) -> int:
    """A content word as a signed 64-bit id: a hash, so that ids (and the order of every
    float sum over them) are the same in every process, whatever documents it saw before."""
    return xxhash.xxh3_64_intdigest(word.encode("utf-8")) - (1 << 63)


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

    def evidence(self, a: Prepared | TextFeatures, b: Prepared | TextFeatures,
                 limit: int = 5) -> list[dict[str, Any]]:
        """The strongest sentence matches, with their spans in each text."""
        best = sorted(self.matches, key=lambda m: (-m.score, m.a, m.b))[:limit]
        return [
            {
                "kind": m.kind,
                "score": round(m.score, 3),
                "a": _span(a, m.a).to_dict(),
                "b": _span(b, m.b).to_dict(),
            }
            for m in best
        ]


def _span(doc: Prepared | TextFeatures, i: int) -> Span:
    return doc.sentences[i].span if isinstance(doc, Prepared) else doc.span(i)


@dataclass(frozen=True, slots=True, eq=False)
class TextFeatures:
    """What verification reads of one prepared document, with no IDF table: compact arrays
    and strings that cross process boundaries cheaply (a scan computes them once, when it
    fingerprints, and verifies from them without preparing documents again).

    Sentence ``i``'s distinct content words are ``words[bounds[i]:bounds[i + 1]]`` (sorted
    :func:`word_id` values); ``texts[i]`` its words joined by spaces, ``lengths[i]`` how
    many, ``spans[i]`` its character span, ``figures[i]`` its figures; ``shingles`` the
    sorted distinct hashes of the document's word n-grams (:func:`dedup.sign.shingle_hash`
    with the configuration's seed: the whole-document MinHash is computed from them).
    """

    id: str
    language: str | None
    words: np.ndarray
    bounds: np.ndarray
    texts: tuple[str, ...]
    lengths: np.ndarray
    spans: np.ndarray
    figures: tuple[frozenset[str], ...]
    shingles: np.ndarray

    def __len__(self) -> int:
        return len(self.texts)

    def span(self, i: int) -> Span:
        return Span(int(self.spans[i, 0]), int(self.spans[i, 1]))

    def digest(self) -> bytes:
        """A 128-bit hash of everything verification reads (not the id): two texts with the same
        digest verify alike against any third."""
        h = xxhash.xxh3_128()
        for array in (self.words, self.bounds, self.spans, self.lengths, self.shingles):
            h.update(np.ascontiguousarray(array).tobytes())
        h.update("\n".join(self.texts).encode("utf-8"))
        h.update(json.dumps([self.language, [sorted(f) for f in self.figures]], ensure_ascii=False).encode("utf-8"))
        return h.digest()

    def to_bytes(self) -> bytes:
        """A compact encoding (for passing between processes; :meth:`from_bytes` reads it):
        a few times smaller in memory than the object, and quick to decode."""
        meta = json.dumps([self.id, self.language,
                           [[i, sorted(f)] for i, f in enumerate(self.figures) if f]],
                          ensure_ascii=False).encode("utf-8")
        text = "\n".join(self.texts).encode("utf-8")  # words never hold whitespace
        n, w, k = len(self.texts), len(self.words), len(self.shingles)
        return b"".join((
            _HEADER.pack(n, w, k, len(text), len(meta)),
            self.words.astype(np.int64, copy=False).tobytes(),
            self.bounds.astype(np.int64, copy=False).tobytes(),
            self.spans.astype(np.int64, copy=False).tobytes(),
            self.lengths.astype(np.int32, copy=False).tobytes(),
            self.shingles.astype(np.uint32, copy=False).tobytes(),
            text,
            meta,
        ))

    @classmethod
    def from_bytes(cls, blob: bytes) -> TextFeatures:
        n, w, k, text_len, meta_len = _HEADER.unpack_from(blob)
        at = _HEADER.size

        def take(dtype: type, count: int) -> np.ndarray:
            nonlocal at
            out: np.ndarray = np.frombuffer(blob, dtype=dtype, count=count, offset=at)
            at += out.nbytes
            return out

        words = take(np.int64, w)
        bounds = take(np.int64, n + 1)
        spans = take(np.int64, 2 * n).reshape(n, 2)
        lengths = take(np.int32, n)
        shingles = take(np.uint32, k)
        text = blob[at : at + text_len].decode("utf-8")
        doc_id, language, stated = json.loads(blob[at + text_len : at + text_len + meta_len])
        figures = [_NO_FIGURES] * n
        for i, values in stated:
            figures[i] = frozenset(values)
        return cls(doc_id, language, words, bounds, tuple(text.split("\n")) if n else (), lengths, spans,
                   tuple(figures), shingles)

    @staticmethod
    def shingles_from_bytes(blob: bytes, at: int = 0) -> np.ndarray:
        """The :attr:`shingles` of a :meth:`to_bytes` encoding that starts at ``at`` in ``blob``,
        nothing else decoded (what ``verify="shingles"`` reads of a stored document)."""
        n, w, k, _, _ = _HEADER.unpack_from(blob, at)
        at += _HEADER.size + 8 * w + 8 * (n + 1) + 16 * n + 4 * n  # words, bounds, spans, lengths
        return np.frombuffer(blob, dtype=np.uint32, count=k, offset=at)

    @classmethod
    def of(cls, doc: Prepared, config: ScanConfig, memo: dict[str, int] | None = None) -> TextFeatures:
        """The features of a prepared document (``memo`` caches word ids across documents)."""
        memo = {} if memo is None else memo
        words: list[int] = []
        bounds = [0]
        for sentence in doc.sentences:
            ids = set()
            for w in sentence.content:
                wid = memo.get(w)
                if wid is None:
                    wid = memo[w] = word_id(w)
                ids.add(wid)
            words.extend(sorted(ids))
            bounds.append(len(words))
        seed = config.seed
        shingles = distinct(np.fromiter(
            map(xxhash.xxh32_intdigest, map(str.encode, word_shingles(doc.surfaces, config.ngram)), repeat(seed)),
            dtype=np.uint32,
        ))
        return cls(
            id=doc.id,
            language=doc.language,
            words=np.asarray(words, dtype=np.int64),
            bounds=np.asarray(bounds, dtype=np.int64),
            texts=tuple(" ".join(s.surfaces) for s in doc.sentences),
            lengths=np.array([len(s.surfaces) for s in doc.sentences], dtype=np.int32),
            spans=np.array([(s.span.start, s.span.end) for s in doc.sentences], dtype=np.int64).reshape(-1, 2),
            figures=tuple(_figures(s) for s in doc.sentences),
            shingles=shingles,
        )


@dataclass(frozen=True, slots=True, eq=False)
class DocFeatures:
    """:class:`TextFeatures` weighed by an IDF table: what :meth:`Verifier.scores` reads.

    ``rows``/``vals`` give each entry of ``text.words`` its sentence and IDF weight;
    ``ucols`` are the distinct word ids, ``inverse`` each entry's position in them;
    ``sizes`` each sentence's content weight, ``shares`` the same with 0.5 for a sentence
    without any (what coverage counts it for).
    """

    text: TextFeatures
    rows: np.ndarray
    vals: np.ndarray
    ucols: np.ndarray
    inverse: np.ndarray
    sizes: np.ndarray
    shares: np.ndarray
    has_figures: np.ndarray
    long: np.ndarray


class Verifier:
    """Verifies pairs under one IDF table and configuration, caching per-document features.

    A scan checks each document against several candidates: its features (weights, figures,
    shingle hashes) are computed once. The cache is per instance; :meth:`forget` drops one.
    Documents are :class:`Prepared` documents or their :class:`TextFeatures`.
    """

    def __init__(self, idf: IdfTable, config: ScanConfig | None = None) -> None:
        self.idf = idf
        self.config = config or ScanConfig()
        self._word_ids: dict[str, int] = {}
        self._features: dict[int, tuple[Prepared | TextFeatures, DocFeatures]] = {}

    def forget(self, doc: Prepared | TextFeatures) -> None:
        self._features.pop(id(doc), None)

    def text_features(self, doc: Prepared | TextFeatures) -> TextFeatures:
        if isinstance(doc, TextFeatures):
            return doc
        return TextFeatures.of(doc, self.config, self._word_ids)

    def features(self, doc: Prepared | TextFeatures) -> DocFeatures:
        cached = self._features.get(id(doc))
        if cached is not None and cached[0] is doc:
            return cached[1]
        text = self.text_features(doc)
        n = len(text)
        rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(text.bounds))
        vals = on_grid(self.idf.weights(text.words, text.language))
        ucols, inverse = np.unique(text.words, return_inverse=True)
        sizes = np.bincount(rows, weights=vals, minlength=n) if len(rows) else np.zeros(n)
        feats = DocFeatures(
            text=text,
            rows=rows,
            vals=vals,
            ucols=ucols,
            inverse=inverse.reshape(-1),
            sizes=sizes,
            shares=np.where(sizes > 0, sizes, 0.5),
            has_figures=np.array([bool(f) for f in text.figures], dtype=bool),
            long=text.lengths >= 5,
        )
        # keyed by identity, holding the document so that its id cannot be reused meanwhile
        self._features[id(doc)] = (doc, feats)
        return feats

    def scores(self, a: Prepared | TextFeatures, b: Prepared | TextFeatures, *,
               full: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(overlap, ratio, shared)`` matrices, ``len(a.sentences) x len(b.sentences)``.

        With ``full=False`` the character ratio is computed only where the content overlap
        reaches the level an edited sentence keeps (``_EDIT_OVERLAP``) and is 0 elsewhere:
        verification reads it nowhere else, and unrelated pairs then cost almost no ratios.
        """
        fa, fb = self.features(a), self.features(b)
        ta, tb = fa.text, fb.text
        na, nb = len(ta), len(tb)
        # only the words both texts have contribute: the matrices span those columns alone
        ia, ib = _common(fa.ucols, fb.ucols)
        wa = _shared_columns(fa, ia, na)
        wb = _shared_columns(fb, ib, nb)
        pa, pb = (wa > 0).astype(np.float64), (wb > 0).astype(np.float64)
        inter = pa @ pb.T
        # a word shared by both sentences counts with its mean weight in the two languages
        weighted = (wa @ pb.T + pa @ wb.T) / 2
        total = fa.sizes[:, None] + fb.sizes[None, :]
        overlap = np.divide(2 * weighted, total, out=np.zeros_like(weighted), where=total > 0)
        # without the full ratio, figures only matter where sentences share words (elsewhere
        # both scores are 0 anyway)
        cells = None if full else (overlap > 0) & fa.has_figures[:, None] & fb.has_figures[None, :]
        conflict = _number_conflicts(ta.figures, tb.figures, cells)
        overlap[conflict] = 0.0
        if full:
            ratio = np.asarray(process.cdist(ta.texts, tb.texts, scorer=fuzz.ratio, dtype=np.float32),
                               dtype=np.float64)
            ratio /= 100.0
            ratio[conflict] = 0.0
        else:
            ratio = np.zeros_like(overlap)
            rows, cols = np.nonzero(overlap >= _EDIT_OVERLAP)  # conflicts have overlap 0
            texts_a, texts_b, score = ta.texts, tb.texts, fuzz.ratio
            for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
                # float32 then float64, as cdist gives, so both paths agree to the bit
                ratio[i, j] = float(np.float32(score(texts_a[i], texts_b[j]))) / 100.0
        return overlap, ratio, inter

    def verify(self, a: Prepared | TextFeatures, b: Prepared | TextFeatures) -> Verification:
        """Check whether ``a`` and ``b`` share text or content, and how."""
        return _verify(self, a, b)


def _common(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions in ``a`` and in ``b`` (both sorted, distinct) of the values they share, in
    ascending order of the values (``np.intersect1d(..., return_indices=True)``, by binary
    search instead of sorting both).

    >>> _common(np.array([1, 3, 5, 9]), np.array([3, 4, 9]))
    (array([1, 3]), array([0, 2]))
    """
    if not len(a) or not len(b):
        return np.empty(0, np.intp), np.empty(0, np.intp)
    at = np.searchsorted(b, a)
    shared = b[np.minimum(at, len(b) - 1)] == a
    return np.flatnonzero(shared), at[shared]


def _shared_columns(f: DocFeatures, positions: np.ndarray, n: int) -> np.ndarray:
    """The document's sentence x word weight matrix over the shared words (``positions``
    in ``f.ucols``, in the order of the shared words)."""
    column = np.full(len(f.ucols), -1, dtype=np.int64)
    column[positions] = np.arange(len(positions))
    col = column[f.inverse]
    keep = col >= 0
    out = np.zeros((n, len(positions)))
    out[f.rows[keep], col[keep]] = f.vals[keep]
    return out


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
    return figures_of(*figure_parts(sentence))


def figure_parts(sentence: Sentence) -> tuple[frozenset[str], frozenset[str]]:
    """``(digits, spelled)``: the figures written in digits and the spelled-out numbers."""
    digits = frozenset(w for w in sentence.surfaces
                       if w[:1].isdigit() and not (len(w) == 4 and w[:2] in ("19", "20")))
    spelled = frozenset(_NUMBER_WORDS[w] for w in sentence.surfaces if w in _NUMBER_WORDS)
    return digits, spelled


def figures_of(digits: frozenset[str], spelled: frozenset[str]) -> frozenset[str]:
    """The figures of a sentence (or a run of sentences) from its :func:`figure_parts`."""
    out = digits | spelled if len(digits) + len(spelled) >= 2 else digits
    return out if out else _NO_FIGURES  # one shared empty set: most sentences state none


_NO_FIGURES: frozenset[str] = frozenset()
_HEADER = struct.Struct("<5q")  # sentences, words, shingles, text bytes, meta bytes


def _number_conflicts(nums_a: Sequence[frozenset[str]], nums_b: Sequence[frozenset[str]],
                      cells: np.ndarray | None = None) -> np.ndarray:
    """True where both sentences state numbers and share almost none of them.

    Two sentences with different figures ("Revs 44.5 mln vs 35.7 mln" and "Revs 92.6 mln vs
    77.1 mln") report different facts, however alike their words: templates, not copies.
    A rewrite keeps the figures; a sentence without figures never conflicts.
    """
    out = np.zeros((len(nums_a), len(nums_b)), dtype=bool)
    if cells is not None:  # only these cells are looked at
        rows, cols = np.nonzero(cells)
        for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
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


def _match(usable_overlap: np.ndarray, verbatim: np.ndarray, fa: DocFeatures, fb: DocFeatures,
           config: ScanConfig) -> list[SentenceMatch]:
    """One-to-one sentence matches (greedy, strongest first), in sentence order.

    ``usable_overlap``: the content overlap where sentences share enough words (else 0);
    ``verbatim``: the character ratio of edited (or copied) sentence pairs (else 0).
    """
    # character edit similarity is ~0.5 between unrelated sentences of one language, so it
    # only counts from the "edited" level up, between sentences of five words or more; and an
    # edit must keep the content words (templates like "Revs 44.5 mln vs 35.7 mln" are close
    # in characters, not in facts)
    usable_ratio = np.where(fa.long[:, None] & fb.long[None, :], verbatim, 0.0)
    score = np.maximum(usable_ratio, usable_overlap)
    rows, cols = np.nonzero(score >= _COVER_FLOOR)
    order = np.argsort(-score[rows, cols], kind="stable")
    rows, cols = rows[order], cols[order]
    used_a: set[int] = set()
    used_b: set[int] = set()
    out = []
    for i, j, o, r in zip(rows.tolist(), cols.tolist(), usable_overlap[rows, cols].tolist(),
                          usable_ratio[rows, cols].tolist(), strict=True):
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        out.append(SentenceMatch(i, j, o, r, _kind(r, config)))
    out.sort(key=lambda m: (m.a, m.b))
    return out


def _share(best: np.ndarray, sizes: np.ndarray, floor: float) -> float:
    total = float(sizes.sum())
    return float(sizes[best >= floor].sum()) / total if total else 0.0


def verify(a: Prepared | TextFeatures, b: Prepared | TextFeatures, idf: IdfTable,
           config: ScanConfig | None = None) -> Verification:
    """Check whether ``a`` and ``b`` share text or content, and how (see :class:`Verifier`)."""
    return Verifier(idf, config).verify(a, b)


def _verify(verifier: Verifier, a: Prepared | TextFeatures, b: Prepared | TextFeatures) -> Verification:
    config = verifier.config
    fa, fb = verifier.features(a), verifier.features(b)
    ta, tb = fa.text, fb.text
    if not len(ta) or not len(tb):
        return Verification(False, None, {}, (), "no article text to compare")
    overlap, ratio, shared = verifier.scores(a, b, full=False)
    edited = (ratio >= config.edited_ratio) & (overlap >= _EDIT_OVERLAP)
    usable_overlap = np.where(shared >= _MIN_SHARED, overlap, 0.0)
    verbatim = np.where(edited, ratio, 0.0)
    matches = _match(usable_overlap, verbatim, fa, fb, config)

    _, jaccard, containment = shingle_overlap(ta.shingles, tb.shingles)

    size_a, size_b = fa.shares, fb.shares
    best = np.maximum(usable_overlap, verbatim)
    content_a, content_b = best.max(axis=1), best.max(axis=0)
    cover_a = _share(content_a, size_a, _COVER_FLOOR + 0.05)
    cover_b = _share(content_b, size_b, _COVER_FLOOR + 0.05)
    verbatim_a = _share(verbatim.max(axis=1), size_a, config.edited_ratio)
    verbatim_b = _share(verbatim.max(axis=0), size_b, config.edited_ratio)

    strong = [m for m in matches if m.score >= config.match_threshold]
    long_verbatim = [
        m for m in matches
        if m.kind == "copied" and ta.lengths[m.a] >= config.min_verbatim_words
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
        reused = sum(int(min(ta.lengths[m.a], tb.lengths[m.b])) for m in strong if m.kind != "paraphrased")
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


def shingle_overlap(a: np.ndarray, b: np.ndarray) -> tuple[int, float, float]:
    """``(shared, jaccard, containment)`` of two sorted distinct shingle hash arrays
    (containment: shared n-grams over the smaller set's; 0.0 where a set is empty).

    >>> shingle_overlap(np.array([1, 2, 3, 4]), np.array([3, 4, 5]))
    (2, 0.4, 0.6666666666666666)
    """
    n_a, n_b = len(a), len(b)
    # each value of a looked up in b by binary search (what _common does, counted only)
    common = int(np.count_nonzero(b.take(b.searchsorted(a), mode="clip") == a)) if n_a and n_b else 0
    jaccard = common / (n_a + n_b - common) if n_a or n_b else 0.0
    containment = common / min(n_a, n_b) if n_a and n_b else 0.0
    return common, jaccard, containment


def shingle_verification(a: np.ndarray, b: np.ndarray, config: ScanConfig) -> Verification:
    """Verify two texts by their word n-gram hashes alone (the ``verify="shingles"`` of
    :meth:`dedup.store.BaseSyndicationIndex.query`): sorted distinct :attr:`TextFeatures.shingles`.

    The document-level rules of :class:`Verifier`, with the same Jaccard and containment
    (shared n-grams over the smaller set): ``duplicate`` from a Jaccard of 0.8, else
    ``syndicated`` from a containment of 0.6, else ``partial`` from ``config.doc_threshold``
    of Jaccard (room for it only under a ``doc_threshold`` of ~0.43: a Jaccard of t means a
    containment of at least 2t / (1 + t)). As the verifier relates texts by their sentences
    or by a verbatim run of ``config.min_verbatim_words`` words, ``syndicated`` and
    ``partial`` need as many shared n-grams as such a run holds (a stored one-line brief is
    not a copy of every article quoting it). Nothing else is related: a rewrite keeps few
    n-grams (the sentence comparison of ``verify="full"`` finds it). No sentence matches: no
    evidence.

    >>> shingle_verification(np.arange(10), np.arange(9), ScanConfig()).relation
    'duplicate'
    >>> shingle_verification(np.arange(10), np.arange(7, 20), ScanConfig()).reason
    'not related: shingle Jaccard 0.15, containment 0.30 (3 shared 5-word n-grams; sentences not compared)'
    >>> brief = shingle_verification(np.arange(100), np.arange(95, 100), ScanConfig())
    >>> brief.related, brief.scores["containment"], "under the 8 of a 12-word run" in brief.reason
    (False, 1.0, True)
    """
    if not len(a) or not len(b):
        return Verification(False, None, {"jaccard": 0.0, "containment": 0.0}, (),
                            "not related: no word n-grams to compare")
    common, jaccard, containment = shingle_overlap(a, b)
    scores = {"jaccard": round(jaccard, 4), "containment": round(containment, 4)}
    run = max(1, config.min_verbatim_words - config.ngram + 1)  # the n-grams of one verbatim run
    relation: Relation | None = None
    if jaccard >= 0.8:
        relation = "duplicate"
    elif common >= run and containment >= 0.6:
        relation = "syndicated"
    elif common >= run and jaccard >= config.doc_threshold:
        relation = "partial"
    few = (f", under the {run} of a {config.min_verbatim_words}-word run"
           if common < run and (containment >= 0.6 or jaccard >= config.doc_threshold) else "")
    why = (f"shingle Jaccard {jaccard:.2f}, containment {containment:.2f} ({common} shared {config.ngram}-word "
           f"n-grams{few}; sentences not compared)")
    return Verification(relation is not None, relation, scores, (), why if relation else "not related: " + why)


def span_of(prepared: Prepared, first: int, last: int) -> Span:
    """The span from the start of sentence ``first`` to the end of sentence ``last``."""
    return Span(prepared.sentences[first].span.start, prepared.sentences[last].span.end)
