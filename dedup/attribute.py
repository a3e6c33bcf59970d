"""Syndication attribution: where each article's text comes from, and who copied whom.

Inputs are a :class:`~dedup.scan.ScanResult` (related pairs and clusters) and the credit
evidence of :mod:`dedup.credits`. Three questions are answered, each with the evidence a
person needs to check the answer:

**Origin** of a document (its *credits*). Only credits that say where the *text* comes from
count: ``text`` credits (``PARIS (AFP) -``, ``(AFP)``, ``avec AFP``) and ``link`` credits
found in the text (``source: https://www.aljazeera.com/…``). Photo credits never do (a photo
bought from AFP does not make the text AFP's), nor do quoted sources (KCNA quoted as saying
something is not the origin of the article), bylines, or metadata (``url``/``source`` say where
a document was found, not where its text came from). One rule fills a common gap: an outlet
known to publish unsigned wire copy (:data:`DEFAULT_REPUBLISHERS`, e.g. France Télévisions
→ AFP) whose publisher line is the only credit of an article without a byline gives that
wire as the origin, with lower weight than a credit in the text.

**Families** of a cluster. Documents with an origin anchor a family (``"AFP-derived"``).
Every other member is compared sentence by sentence (IDF-weighted content overlap and edit
similarity, as in :mod:`dedup.verify`) with the anchors it is related to. A sentence belongs
to a family when an anchor of that family explains it (score >= ``passage_threshold``) clearly
better than any other family does; content that both origins carry (the same KCNA quotation
reported by AFP and by Al Jazeera) is *shared* and decides nothing, unless the wording shows
which text it was taken from (an edited copy beats a paraphrase of the other origin). A
member with substantial passages found only in one family is ``"<origin>-derived"``; with
substantial passages from two or more, ``"mixed"``; otherwise ``"unknown"``. Members related
to no anchor inherit through already attributed members (the chain of copies). Documents
outside every cluster have no family (``None``).

**Direction** of each related pair: which is the source and which the derived text. The
signals, each an evidence line: publication dates (:func:`dedup.credits.publication_date`:
``Document.date`` or "Publié le …"), coverage asymmetry (if B = A + additions, most of A is
found in B and less of B in A, so the better-covered text is the source), credits (a text
credited to its origin is closer to the origin than an uncredited one) and the families (a
member whose passages align with an anchor derives from it). Signals add up with weights; the
direction is null when the evidence is too weak or conflicting, and when the families say
neither copied the other (two different origins; two siblings whose shared passages both
come from their common source).

Translation hints are evidence only: English spellings of names in a French text (``Kursk``
for ``Koursk``, ``Putin`` for ``Poutine``) suggest a translated English-language source,
French spellings in an English text a translated French one (:data:`EXONYMS`).

>>> from dedup.scan import scan_paths
>>> result = scan_paths(["fixtures/seeds"])                       # doctest: +SKIP
>>> attribution = attribute(result)                               # doctest: +SKIP
>>> attribution.document_dict("002_bf7529996fc2e022.txt")["family"]  # doctest: +SKIP
'Al Jazeera-derived'
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from dedup.cluster import clusters_from_pairs
from dedup.credits import GENERIC_AGENCIES, AgencyTable, Credit, extract_credits, load_agency_table, publication_date
from dedup.errors import ConfigError
from dedup.normalize import detect_language, tokenize
from dedup.prepare import Prepared, prepare
from dedup.types import Document, Span
from dedup.verify import IdfTable, sentence_scores

if TYPE_CHECKING:
    from dedup.scan import Pair, ScanResult

log = logging.getLogger(__name__)

#: Family of a member whose text draws substantially on two or more origins.
MIXED = "mixed"
#: Family of a cluster member whose origin cannot be told.
UNKNOWN = "unknown"

#: Outlets whose unsigned articles are dispatches of a wire: publisher name -> wire names.
#: Applied only to an article whose sole origin evidence is that publisher (no text or link
#: credit, no byline); it is reported as a rule, with less weight than a credit in the text.
DEFAULT_REPUBLISHERS: Mapping[str, tuple[str, ...]] = MappingProxyType({"France Télévisions": ("AFP",)})

#: ``(French, English)`` spellings of names; the other language's spelling in a text is a
#: translation hint. Only names whose two spellings are both unambiguous are listed
#: ("Kim Jong Un" / "Kim Jong-un" is house style, not language; "Kiev"/"Kyiv" both occur in French).
EXONYMS: tuple[tuple[str, str], ...] = (
    ("Koursk", "Kursk"), ("Briansk", "Bryansk"), ("Louhansk", "Luhansk"), ("Marioupol", "Mariupol"),
    ("Bakhmout", "Bakhmut"), ("Zaporijia", "Zaporizhzhia"), ("Tchernihiv", "Chernihiv"),
    ("Mykolaïv", "Mykolaiv"), ("Soumy", "Sumy"), ("Koupiansk", "Kupiansk"), ("Avdiïvka", "Avdiivka"),
    ("Vovtchansk", "Vovchansk"), ("Lyssytchansk", "Lysychansk"), ("Donbass", "Donbas"),
    ("Tchernobyl", "Chernobyl"), ("Tchétchénie", "Chechnya"), ("Tcheliabinsk", "Chelyabinsk"),
    ("Poutine", "Putin"), ("Choïgou", "Shoigu"), ("Prigojine", "Prigozhin"), ("Loukachenko", "Lukashenko"),
    ("Netanyahou", "Netanyahu"), ("Pékin", "Beijing"), ("Moscou", "Moscow"), ("Séoul", "Seoul"),
    ("Téhéran", "Tehran"), ("Koweït", "Kuwait"), ("Riyad", "Riyadh"), ("Mossoul", "Mosul"), ("Alep", "Aleppo"),
    ("Idleb", "Idlib"), ("Lattaquié", "Latakia"), ("Naplouse", "Nablus"), ("Jénine", "Jenin"),
    ("Bethléem", "Bethlehem"), ("Kaboul", "Kabul"), ("Tachkent", "Tashkent"), ("Bichkek", "Bishkek"),
    ("Erevan", "Yerevan"), ("Tbilissi", "Tbilisi"), ("Bakou", "Baku"),
)  # fmt: skip

#: Origins that publish in English (a translation hint pointing to English agrees with them).
ENGLISH_ORIGINS = frozenset(
    {"Reuters", "AP", "Al Jazeera", "Bloomberg", "BBC", "CNN", "The Guardian", "The New York Times",
     "The Korea Times"}
)  # fmt: skip

_EDIT_OVERLAP = 0.5  # content overlap an edited sentence keeps at least (as in verify)
_MIN_SHARED = 3  # content words an overlap-based match shares at least (as in verify)
_MIN_EDIT_WORDS = 5  # edit similarity of shorter sentences says little (as in verify)
_SNIPPET = 70  # characters of a passage quoted in an evidence line
_MAX_PASSAGE_LINES = 6  # passage evidence lines per document


def _unit(name: str, value: float) -> None:
    if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ConfigError(f"{name} must be in [0.0, 1.0], got {value!r}")


def _positive(name: str, value: float) -> None:
    if not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(f"{name} must be a number > 0, got {value!r}")


@dataclass(frozen=True, slots=True)
class AttributeConfig:
    """How attribution weighs its evidence; defaults are documented next to each field.

    Family thresholds are shares of a document's sentence characters:

    - ``passage_threshold`` (0.4): a sentence is taken from another when they score this much
      (the ``match_threshold`` of :class:`~dedup.config.ScanConfig`);
    - ``exclusive_margin`` (0.1): a family explains a sentence on its own when it beats every
      other family's score for it by this much;
    - ``min_exclusive_share`` (0.01): a family needs this much text of its own in a member;
    - ``mixed_share`` (0.05) and ``mixed_ratio`` (0.2): a second family makes the member
      ``mixed`` when its own passages reach this share, and this fraction of the first's;
    - ``lean_ratio`` (1.5): with no passage of its own, a family still wins when it explains
      this many times more of the text than any other (best match, not clearly better).

    Direction weights (the decision needs a net ``direction_margin``, and the weaker side
    below half of the stronger, else it is null): ``date_weight`` (1.5) for the older date;
    ``coverage_scale`` (0.4): a coverage difference this large weighs 1; ``credit_weight``
    (1.0) for a credited origin against an uncredited text, ``rule_weight`` (0.6) when the
    origin comes from a republisher rule; ``family_weight`` (1.0) when the derived member's
    passages align with the source. ``sibling_share`` (0.5): two members of one family whose
    shared passages are this much explained by their origins are siblings (direction null).

    ``republishers`` maps a publisher to the wires it republishes (see
    :data:`DEFAULT_REPUBLISHERS`); ``exonyms`` lists ``(French, English)`` spellings.
    """

    passage_threshold: float = 0.4
    exclusive_margin: float = 0.1
    min_exclusive_share: float = 0.01
    mixed_share: float = 0.05
    mixed_ratio: float = 0.2
    lean_ratio: float = 1.5
    direction_margin: float = 0.5
    date_weight: float = 1.5
    coverage_scale: float = 0.4
    credit_weight: float = 1.0
    rule_weight: float = 0.6
    family_weight: float = 1.0
    sibling_share: float = 0.5
    republishers: Mapping[str, Sequence[str]] = field(default_factory=lambda: DEFAULT_REPUBLISHERS)
    exonyms: tuple[tuple[str, str], ...] = EXONYMS

    def __post_init__(self) -> None:
        for name in ("passage_threshold", "exclusive_margin", "min_exclusive_share", "mixed_share", "mixed_ratio",
                     "sibling_share"):
            _unit(name, getattr(self, name))
        for name in ("lean_ratio", "direction_margin", "date_weight", "coverage_scale", "credit_weight",
                     "rule_weight", "family_weight"):
            _positive(name, getattr(self, name))
        if self.lean_ratio < 1.0:
            raise ConfigError(f"lean_ratio must be >= 1.0, got {self.lean_ratio!r}")
        republishers = {}
        for publisher, wires in dict(self.republishers).items():
            if isinstance(wires, str) or not all(isinstance(w, str) and w for w in wires):
                raise ConfigError(f"republishers[{publisher!r}] must be a list of wire names, got {wires!r}")
            republishers[publisher] = tuple(wires)
        object.__setattr__(self, "republishers", MappingProxyType(republishers))
        exonyms = tuple(tuple(p) for p in self.exonyms)
        if not all(len(p) == 2 and all(isinstance(s, str) and s for s in p) for p in exonyms):
            raise ConfigError(f"exonyms must be (French, English) pairs of names, got {self.exonyms!r}")
        object.__setattr__(self, "exonyms", exonyms)

    def to_dict(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in self.__dataclass_fields__}
        out["republishers"] = {k: list(v) for k, v in self.republishers.items()}
        out["exonyms"] = [list(p) for p in self.exonyms]
        return out


# --------------------------------------------------------------------------- value types


@dataclass(frozen=True, slots=True)
class AttributedPassage:
    """A sentence of a document found in an earlier member: which family it comes from.

    ``families`` has one name when that family explains the sentence clearly better than any
    other (``exclusive``), several when the content is shared. ``source`` is the member it
    matches best, ``source_span`` the matching sentence there, ``score`` in [0, 1].
    """

    span: Span
    families: tuple[str, ...]
    source: str
    source_span: Span
    score: float
    exclusive: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "span": self.span.to_dict(),
            "families": list(self.families),
            "source": self.source,
            "source_span": self.source_span.to_dict(),
            "score": round(self.score, 4),
            "exclusive": self.exclusive,
        }


@dataclass(frozen=True, slots=True)
class DocumentAttribution:
    """Where one document's text comes from.

    ``family`` is ``"<origin>-derived"``, ``"mixed"``, ``"unknown"`` (a cluster member whose
    origin cannot be told) or None (in no cluster). ``origin`` is the origin its own credits
    give (``"AFP"``), or None. ``derived_from`` lists the members its text was taken from, best
    first. ``credits`` are all its credits, every kind; ``evidence`` says why, line by line.
    ``published`` is its publication date (ISO 8601) when known; ``passages`` are its
    sentences found in other members, with the family each comes from.
    """

    id: str
    family: str | None
    derived_from: tuple[str, ...]
    credits: tuple[Credit, ...]
    evidence: tuple[str, ...]
    origin: str | None = None
    published: str | None = None
    passages: tuple[AttributedPassage, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "family": self.family,
            "origin": self.origin,
            "published": self.published,
            "derived_from": list(self.derived_from),
            "credits": [c.to_dict() for c in self.credits],
            "evidence": list(self.evidence),
            "passages": [p.to_dict() for p in self.passages],
        }


@dataclass(frozen=True, slots=True)
class Direction:
    """``derived`` took its text from ``source``; ``confidence`` in [0, 1] and the evidence."""

    source: str
    derived: str
    confidence: float
    evidence: tuple[str, ...]

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be in [0.0, 1.0], got {self.confidence!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "derived": self.derived,
            "confidence": round(self.confidence, 3),
            "evidence": list(self.evidence),
        }


@dataclass(frozen=True, slots=True)
class PairAttribution:
    """The direction decided for a related pair (None when undecided) and all its evidence."""

    a: str
    b: str
    direction: Direction | None
    evidence: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "direction": self.direction.to_dict() if self.direction else None,
            "evidence": list(self.evidence),
        }


@dataclass(frozen=True, slots=True)
class TreeEdge:
    """``derived`` takes ``share`` (in [0, 1]) of its text from ``source``."""

    source: str
    derived: str
    share: float

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "derived": self.derived, "share": round(self.share, 4)}


@dataclass(frozen=True, slots=True)
class FamilyTree:
    """A cluster's families: origins (anchors), derivation edges and unattached members."""

    cluster: str
    families: tuple[str, ...]
    origins: tuple[str, ...]
    edges: tuple[TreeEdge, ...]
    unattached: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "families": list(self.families),
            "origins": list(self.origins),
            "edges": [e.to_dict() for e in self.edges],
            "unattached": list(self.unattached),
        }


@dataclass(frozen=True, slots=True)
class Attribution:
    """Attribution of a scan: per document, per related pair, per cluster."""

    documents: Mapping[str, DocumentAttribution]
    pairs: Mapping[tuple[str, str], PairAttribution]
    trees: tuple[FamilyTree, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "documents", MappingProxyType(dict(self.documents)))
        object.__setattr__(self, "pairs", MappingProxyType(dict(self.pairs)))

    def pair(self, a: str, b: str) -> PairAttribution | None:
        """The attribution of the related pair ``a``–``b`` (either order), or None."""
        return self.pairs.get((a, b)) or self.pairs.get((b, a))

    def direction(self, a: str, b: str) -> Direction | None:
        found = self.pair(a, b)
        return found.direction if found else None

    def tree(self, cluster_id: str) -> FamilyTree | None:
        return next((t for t in self.trees if t.cluster == cluster_id), None)

    def document_dict(self, doc_id: str) -> dict[str, Any]:
        """The ``attribution`` object of a document in ``dedup scan`` JSON.

        ``{"family", "derived_from", "credits": [{"name", "kind", "evidence", ...}], "origin",
        "evidence"}``. Raises KeyError for an id the scan does not have.
        """
        doc = self.documents[doc_id]
        return {
            "family": doc.family,
            "derived_from": list(doc.derived_from),
            "credits": [c.to_dict() for c in doc.credits],
            "origin": doc.origin,
            "evidence": list(doc.evidence),
        }

    def direction_dict(self, a: str, b: str) -> dict[str, Any] | None:
        """The ``direction`` of a pair in ``dedup scan`` JSON: ``{"source", "derived",
        "confidence", "evidence"}``, or None when undecided (or not a related pair)."""
        found = self.direction(a, b)
        return found.to_dict() if found else None

    def pair_dict(self, a: str, b: str) -> dict[str, Any]:
        """``{"direction": direction_dict(a, b), "direction_evidence": [...]}`` for a pair's
        JSON object: the evidence is kept when the direction is null."""
        found = self.pair(a, b)
        return {"direction": self.direction_dict(a, b), "direction_evidence": list(found.evidence) if found else []}

    def to_dict(self) -> dict[str, Any]:
        return {
            "documents": [d.to_dict() for d in self.documents.values()],
            "pairs": [p.to_dict() for p in self.pairs.values()],
            "trees": [t.to_dict() for t in self.trees],
        }


# --------------------------------------------------------------------------- per-document evidence


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a document's text comes from according to its own credits."""

    names: tuple[str, ...]
    evidence: tuple[str, ...]
    by_rule: bool = False

    @property
    def key(self) -> str:
        return " + ".join(self.names)


def _quote(text: str, limit: int = _SNIPPET) -> str:
    flat = " ".join(text.split())
    return f"“{flat if len(flat) <= limit else flat[: limit - 1].rstrip() + '…'}”"


def credit_lines(credits: Sequence[Credit]) -> tuple[str, ...]:
    """One evidence line per credit text, credits read from the same text grouped."""
    labels = {
        "text": "text credit",
        "link": "link credit",
        "photo": "photo credit (says nothing about the text)",
        "quoted": "quoted source (not the origin)",
        "byline": "byline",
        "publisher": "publisher",
    }
    groups: dict[tuple[str, str, Span | None], list[str]] = {}
    for c in credits:
        names = groups.setdefault((c.kind, c.evidence, c.span), [])
        if c.name not in names:
            names.append(c.name)
    lines = []
    for (kind, evidence, span), names in groups.items():
        where = " (metadata)" if span is None else ""
        lines.append(f"{labels[kind]}: {', '.join(names)}{where} {_quote(evidence)}")
    return tuple(lines)


def document_origin(
    credits: Sequence[Credit], table: AgencyTable, config: AttributeConfig | None = None
) -> Origin | None:
    """The origin a document's credits give, or None.

    Text and link credits read from the text count (not photo, quoted, byline or metadata
    credits, nor "avec agences"). Failing those, a republisher rule: a publisher line of an
    outlet listed in ``config.republishers`` (or with a ``republishes`` field in the agency
    table) on an article without a byline.

    >>> from dedup.credits import extract_credits, load_agency_table
    >>> t = load_agency_table()
    >>> document_origin(extract_credits("PARIS (AFP) - Le chat dort.", table=t), t).names
    ('AFP',)
    """
    config = config or AttributeConfig()
    names: list[str] = []
    lines: list[str] = []
    for c in credits:
        if c.kind in ("text", "link") and c.span is not None and c.name != GENERIC_AGENCIES:
            agency = table.get(c.name)
            if agency is not None and agency.kind == "photo_agency":
                continue
            if c.name not in names:
                names.append(c.name)
            lines.append(f"origin: {c.name}, from its {c.kind} credit {_quote(c.evidence)}")
    if names:
        return Origin(tuple(names), tuple(lines))
    if any(c.kind == "byline" for c in credits):
        return None  # a signed article is its author's, whatever its publisher republishes
    for c in credits:
        if c.kind != "publisher":
            continue
        agency = table.get(c.name)
        wires = tuple(config.republishers.get(c.name, ())) or tuple(getattr(agency, "republishes", ()) or ())
        if not wires:
            continue
        where = "metadata" if c.span is None else f"publisher line {_quote(c.evidence)}"
        line = (f"origin: {', '.join(wires)}, by rule: {c.name} publishes unsigned {', '.join(wires)} dispatches "
                f"({where}; no byline, no text or link credit)")
        agreeing = [p for p in credits if p.kind == "photo" and p.name in wires]
        extra = tuple(
            f"agrees: photo credit {_quote(p.evidence)} names {p.name} (a photo credit alone never decides)"
            for p in agreeing[:1]
        )
        return Origin(wires, (line, *extra), by_rule=True)
    return None


def translation_hints(text: str, language: str | None, exonyms: Iterable[tuple[str, str]] = EXONYMS) -> tuple[str, ...]:
    """Evidence lines for foreign spellings of names: ``Kursk`` in a French text suggests a
    translation from English, ``Koursk`` in an English text one from French.

    >>> translation_hints("Des soldats ont déminé la région de Kursk.", "fr")
    ('translation hint: “Kursk” (English spelling; French “Koursk”) suggests a source translated from English',)
    """
    if language not in ("fr", "en"):
        return ()
    lines = []
    for fr, en in exonyms:
        found, expected = (en, fr) if language == "fr" else (fr, en)
        if re.search(rf"(?<!\w){re.escape(found)}(?!\w)", text):
            other = "English" if language == "fr" else "French"
            own = "French" if language == "fr" else "English"
            lines.append(f"translation hint: “{found}” ({other} spelling; {own} “{expected}”) suggests a source "
                         f"translated from {other}")
    return tuple(lines)


def _language(text: str) -> str | None:
    return detect_language(t.surface for t in tokenize(text))


# --------------------------------------------------------------------------- sentence evidence


def _score_matrix(a: Prepared, b: Prepared, idf: IdfTable, edited_ratio: float) -> np.ndarray:
    """Sentence-by-sentence reuse scores in [0, 1], as :func:`dedup.verify.verify` counts them."""
    if not a.sentences or not b.sentences:
        return np.zeros((len(a.sentences), len(b.sentences)))
    overlap, ratio, shared = sentence_scores(a, b, idf)
    long_a = np.array([len(s.surfaces) >= _MIN_EDIT_WORDS for s in a.sentences])[:, None]
    long_b = np.array([len(s.surfaces) >= _MIN_EDIT_WORDS for s in b.sentences])[None, :]
    edited = long_a & long_b & (ratio >= edited_ratio) & (overlap >= _EDIT_OVERLAP)
    return np.maximum(np.where(edited, ratio, 0.0), np.where(shared >= _MIN_SHARED, overlap, 0.0))


class _Matrices:
    """Score matrices of related pairs, computed once and shared by both directions."""

    def __init__(self, prepared: Mapping[str, Prepared], idf: IdfTable, edited_ratio: float) -> None:
        self._prepared = prepared
        self._idf = idf
        self._edited_ratio = edited_ratio
        self._cache: dict[tuple[str, str], np.ndarray] = {}

    def get(self, x: str, y: str) -> np.ndarray:
        """Rows: sentences of ``x``; columns: sentences of ``y``."""
        if (x, y) in self._cache:
            return self._cache[(x, y)]
        if (y, x) in self._cache:
            return self._cache[(y, x)].T
        matrix = _score_matrix(self._prepared[x], self._prepared[y], self._idf, self._edited_ratio)
        self._cache[(x, y)] = matrix
        return matrix


@dataclass
class _Carrier:
    """A member whose sentences carry family labels: ``strength[j, f]`` in [0, 1] says how
    much sentence ``j`` stands for family ``f`` (1 for its own text, less for content another
    origin also carries)."""

    id: str
    strength: np.ndarray  # (sentences, families)


@dataclass
class _Decision:
    families: tuple[str, ...]
    label: str
    derived_from: tuple[str, ...]
    passages: tuple[AttributedPassage, ...]
    evidence: tuple[str, ...]
    own: np.ndarray  # (sentences, families): the member's labels as a carrier


def _shares(sizes: np.ndarray, mask: np.ndarray) -> float:
    total = float(sizes.sum())
    return float(sizes[mask].sum()) / total if total else 0.0


class _ClusterAttributor:
    """Families and derivation within one cluster."""

    def __init__(
        self,
        members: Sequence[str],
        prepared: Mapping[str, Prepared],
        origins: Mapping[str, Origin],
        related: Mapping[str, set[str]],
        matrices: _Matrices,
        config: AttributeConfig,
    ) -> None:
        self.members = list(members)
        self.prepared = prepared
        self.origins = origins
        self.related = related
        self.matrices = matrices
        self.config = config
        keys = sorted({origins[m].key for m in members if m in origins})
        self.families = keys
        self.index = {k: n for n, k in enumerate(keys)}
        self.decisions: dict[str, _Decision] = {}
        self.carriers: dict[str, _Carrier] = {}

    def sizes(self, doc_id: str) -> np.ndarray:
        return np.array([len(s.span) for s in self.prepared[doc_id].sentences], dtype=np.float64)

    def anchors(self) -> None:
        """Anchor carriers: own family at strength 1; content another origin's anchor carries
        (a related anchor of another family) at the strength of that match."""
        cfg = self.config
        nf = len(self.families)
        for m in self.members:
            if m not in self.origins:
                continue
            n = len(self.prepared[m].sentences)
            strength = np.zeros((n, nf))
            strength[:, self.index[self.origins[m].key]] = 1.0
            for other in self.related.get(m, ()):
                if other not in self.origins or self.origins[other].key == self.origins[m].key:
                    continue
                best = self.matrices.get(m, other).max(axis=1, initial=0.0)
                col = self.index[self.origins[other].key]
                strength[:, col] = np.maximum(strength[:, col], np.where(best >= cfg.passage_threshold, best, 0.0))
            self.carriers[m] = _Carrier(m, strength)
            label = f"{self.origins[m].key}-derived"
            self.decisions[m] = _Decision((self.origins[m].key,), label, (), (), (), strength >= 1.0)

    def run(self) -> dict[str, _Decision]:
        if not self.families:
            return {}
        self.anchors()
        pending = [m for m in self.members if m not in self.decisions]
        # direct evidence first: members related to an anchor are judged against anchors only
        direct = {m: [c for c in self.related.get(m, ()) if c in self.origins] for m in pending}
        for m in pending:
            if direct[m]:
                decision = self.decide(m, [self.carriers[c] for c in direct[m]])
                if decision is not None:
                    self.decisions[m] = decision
        # then the chain: members related only to attributed members, round by round
        while True:
            todo = {}
            for m in self.members:
                if m in self.decisions:
                    continue
                via = [c for c in self.related.get(m, ()) if c in self.decisions and c not in self.origins]
                if via:
                    todo[m] = via
            made = {}
            for m, via in todo.items():
                carriers = [self.carrier_of(c) for c in via]
                decision = self.decide(m, [c for c in carriers if c is not None])
                if decision is not None:
                    made[m] = decision
            if not made:
                break
            self.decisions.update(made)
        return self.decisions

    def carrier_of(self, doc_id: str) -> _Carrier | None:
        if doc_id in self.carriers:
            return self.carriers[doc_id]
        decision = self.decisions.get(doc_id)
        if decision is None or decision.label == UNKNOWN:
            return None
        own = decision.own.astype(np.float64)
        # its own additions stand for its families (a copy of them is a copy of the member)
        empty = ~own.any(axis=1)
        for key in decision.families:
            own[empty, self.index[key]] = 1.0
        carrier = _Carrier(doc_id, own)
        self.carriers[doc_id] = carrier
        return carrier

    def decide(self, doc_id: str, carriers: Sequence[_Carrier]) -> _Decision | None:
        cfg = self.config
        x = self.prepared[doc_id]
        n, nf = len(x.sentences), len(self.families)
        if not n or not carriers:
            return None
        sizes = self.sizes(doc_id)
        direct = np.zeros((n, nf))
        effective = np.zeros((n, nf))
        best_src: list[list[tuple[str, int] | None]] = [[None] * nf for _ in range(n)]
        per_carrier: dict[str, np.ndarray] = {}
        for c in carriers:
            scores = self.matrices.get(doc_id, c.id)  # (n, sentences of c)
            per_carrier[c.id] = scores.max(axis=1, initial=0.0)
            for f in range(nf):
                own = np.where(c.strength[:, f] >= 1.0, scores, 0.0)
                if own.size:
                    cols = own.argmax(axis=1)
                    vals = own[np.arange(n), cols]
                    better = vals > direct[:, f]
                    for row in np.nonzero(better)[0]:
                        best_src[int(row)][f] = (c.id, int(cols[row]))
                    direct[:, f] = np.maximum(direct[:, f], vals)
                    via = np.minimum(scores, c.strength[None, :, f]).max(axis=1)
                    effective[:, f] = np.maximum(effective[:, f], via)
        effective = np.maximum(effective, direct)
        thr, margin = cfg.passage_threshold, cfg.exclusive_margin
        explained = effective >= thr
        exclusive = np.zeros((n, nf), dtype=bool)
        lean = np.zeros((n, nf), dtype=bool)
        for f in range(nf):
            others = np.delete(effective, f, axis=1).max(axis=1, initial=0.0)
            exclusive[:, f] = (direct[:, f] >= thr) & (direct[:, f] >= others + margin)
            lean[:, f] = (direct[:, f] >= thr) & (direct[:, f] > others)
        if not explained.any():
            return None
        ex_share = np.array([_shares(sizes, exclusive[:, f]) for f in range(nf)])
        lean_share = np.array([_shares(sizes, lean[:, f]) for f in range(nf)])
        any_share = np.array([_shares(sizes, explained[:, f]) for f in range(nf)])
        shared_share = _shares(sizes, explained.sum(axis=1) >= 2)
        order = sorted(range(nf), key=lambda f: (-ex_share[f], -lean_share[f], -any_share[f], self.families[f]))
        top = order[0]
        evidence: list[str] = []
        chosen: list[int]
        if ex_share[top] >= cfg.min_exclusive_share:
            floor = max(cfg.mixed_share, cfg.mixed_ratio * ex_share[top])
            chosen = [f for f in order if ex_share[f] >= cfg.min_exclusive_share and ex_share[f] >= floor]
            chosen = chosen or [top]
        else:
            second = lean_share[order[1]] if nf > 1 else 0.0
            if lean_share[top] > 0 and lean_share[top] >= cfg.lean_ratio * second:
                chosen = [top]
                evidence.append(f"no passage is found only in the {self.families[top]} text; it explains "
                                f"{lean_share[top]:.0%} of the text best, against {second:.0%}")
            else:
                chosen = []
        summary = ", ".join(
            f"{self.families[f]} text: {ex_share[f]:.0%} found only there, {any_share[f]:.0%} there at all"
            for f in order
            if any_share[f] > 0
        )
        if not chosen:
            label = UNKNOWN
            evidence.insert(0, f"family: unknown: its passages are found in several origins' texts and none "
                               f"explains it better ({summary}; {shared_share:.0%} shared)")
        elif len(chosen) == 1:
            label = f"{self.families[chosen[0]]}-derived"
            evidence.insert(0, f"family: {label}: {summary}; {shared_share:.0%} shared by several origins")
        else:
            label = MIXED
            names = " and ".join(self.families[f] for f in chosen)
            evidence.insert(0, f"family: mixed, substantial passages from {names}: {summary}; "
                               f"{shared_share:.0%} shared by several origins")
        # the members it derives from: for each chosen family, the carriers explaining most
        derived_from: list[tuple[float, str]] = []
        for f in chosen:
            shares = {}
            for c in carriers:
                if c.strength[:, f].max(initial=0.0) < 1.0:
                    continue
                shares[c.id] = _shares(sizes, (per_carrier[c.id] >= thr) & explained[:, f])
            if shares:
                best = max(shares.values())
                derived_from.extend((s, cid) for cid, s in shares.items() if s > 0 and s >= 0.5 * best)
        sources = tuple(dict.fromkeys(cid for _, cid in sorted(derived_from, key=lambda t: (-t[0], t[1]))))
        passages = []
        for i in range(n):
            fams = [f for f in range(nf) if explained[i, f]]
            if not fams:
                continue
            ex = [f for f in fams if exclusive[i, f]]
            pick = ex[0] if ex else max(fams, key=lambda f: direct[i, f])
            src = best_src[i][pick]
            if src is None:
                src = next((best_src[i][f] for f in fams if best_src[i][f] is not None), None)
            if src is None:
                continue
            fam_names = tuple(self.families[f] for f in (ex or fams))
            source_span = self.prepared[src[0]].sentences[src[1]].span
            score = float(min(1.0, direct[i, pick] or effective[i, pick]))
            passages.append(AttributedPassage(x.sentences[i].span, fam_names, src[0], source_span, score, bool(ex)))
        evidence.extend(self.passage_lines(doc_id, passages))
        own = exclusive | (explained & ~exclusive.any(axis=1, keepdims=True))
        return _Decision(tuple(self.families[f] for f in chosen), label, sources, tuple(passages),
                         tuple(evidence), own)

    def passage_lines(self, doc_id: str, passages: Sequence[AttributedPassage]) -> list[str]:
        text = self.prepared[doc_id].doc.text
        ranked = sorted(passages, key=lambda p: (not p.exclusive, -p.score, p.span.start))[:_MAX_PASSAGE_LINES]
        lines = []
        for p in sorted(ranked, key=lambda p: p.span.start):
            src_text = self.prepared[p.source].doc.text
            what = p.families[0] if p.exclusive else "shared by " + " and ".join(p.families)
            lines.append(
                f"passage ({what}): {doc_id}[{p.span.start}:{p.span.end}] "
                f"{_quote(text[p.span.start:p.span.end], 50)} ~ {p.source}[{p.source_span.start}:{p.source_span.end}] "
                f"{_quote(src_text[p.source_span.start:p.source_span.end], 50)} ({p.score:.2f})"
            )
        return lines


# --------------------------------------------------------------------------- direction


def _parse_when(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _date_signal(a: str, b: str, da: str | None, db: str | None) -> tuple[float, str]:
    """``(+1 | -1 | 0, line)``: +1 when ``a`` is older."""
    if da is None and db is None:
        return 0.0, f"date: {a} and {b} undated"
    if da is None or db is None:
        dated, when, undated = (a, da, b) if da else (b, db, a)
        return 0.0, f"date: {dated} published {when}, {undated} undated"
    pa, pb = _parse_when(da), _parse_when(db)
    if pa is None or pb is None:
        return 0.0, f"date: {a} {da}, {b} {db} (not comparable)"
    if "T" not in da or "T" not in db:
        pa, pb = datetime(pa.year, pa.month, pa.day), datetime(pb.year, pb.month, pb.day)
    if pa == pb:
        return 0.0, f"date: {a} and {b} both published {min(da, db)} (order unknown)"
    older, newer, od, nd = (a, b, da, db) if pa < pb else (b, a, db, da)
    return (1.0 if older == a else -1.0), f"date: {older} published {od}, before {newer} ({nd})"


def decide_direction(
    a: str, b: str, signals: Sequence[tuple[float, str]], *, veto: str | None = None,
    margin: float = 0.5,
) -> tuple[Direction | None, tuple[str, ...]]:
    """Combine weighted signals (positive: ``a`` is the source) into a direction.

    Each signal line is marked with the side it favours and its weight. Undecided (None) when
    ``veto`` is given, when there is no signal, when the weaker side weighs half of the
    stronger or more (conflicting), or when the net weight is below ``margin`` (too weak).
    Confidence is ``1 - exp(-net)``.

    >>> d, _ = decide_direction("a", "b", [(1.5, "date: a older"), (-0.4, "coverage: b better covered")])
    >>> d.source, round(d.confidence, 2)
    ('a', 0.67)
    """
    pos = sum(w for w, _ in signals if w > 0)
    neg = -sum(w for w, _ in signals if w < 0)
    lines = [line if w == 0 else f"{line} [{a if w > 0 else b} as source, weight {abs(w):.2f}]" for w, line in signals]
    if veto is not None:
        return None, (*lines, f"direction: none, {veto}")
    stronger, weaker = max(pos, neg), min(pos, neg)
    if stronger == 0:
        return None, (*lines, "direction: none, no evidence either way")
    if weaker >= 0.5 * stronger:
        return None, (*lines, f"direction: none, conflicting evidence ({pos:.2f} for {a} as source, "
                              f"{neg:.2f} for {b})")
    net = stronger - weaker
    if net < margin:
        return None, (*lines, f"direction: none, evidence too weak ({net:.2f} < {margin})")
    source, derived = (a, b) if pos > neg else (b, a)
    confidence = 1.0 - math.exp(-net)
    all_lines = (*lines, f"direction: {derived} derives from {source} (net weight {net:.2f}, confidence "
                         f"{confidence:.2f})")
    return Direction(source, derived, confidence, all_lines), all_lines


# --------------------------------------------------------------------------- the entry point


def attribute(
    result: ScanResult,
    *,
    table: AgencyTable | None = None,
    config: AttributeConfig | None = None,
    idf: IdfTable | None = None,
) -> Attribution:
    """Attribute every document of a scan: its credits, origin, family, and the direction of
    every related pair, with evidence.

    ``table`` is the agency table (the packaged one by default); ``idf`` weighs content words
    (built from the clustered documents when None; pass the scan's table for the same
    weights as verification).
    """
    table = table or load_agency_table()
    config = config or AttributeConfig()
    docs = {d.id: d for d in result.documents}
    groups = syndication_groups(result)
    clustered = [m for _, members in groups for m in members]
    prepared = {m: prepare(docs[m]) for m in clustered}
    idf = idf or IdfTable.from_documents(prepared.values())
    matrices = _Matrices(prepared, idf, result.config.edited_ratio)

    credits = {d.id: extract_credits(d.text, url=d.url, source=d.source, table=table) for d in docs.values()}
    origins = {}
    for doc_id, found in credits.items():
        origin = document_origin(found, table, config)
        if origin is not None:
            origins[doc_id] = origin
    dates = {d.id: publication_date(d.text, date=d.date) for d in docs.values()}
    related: dict[str, set[str]] = {}
    for p in result.pairs:
        related.setdefault(p.a, set()).add(p.b)
        related.setdefault(p.b, set()).add(p.a)

    decisions: dict[str, _Decision] = {}
    cluster_of: dict[str, str] = {}
    for group_id, members in groups:
        for m in members:
            cluster_of[m] = group_id
        worker = _ClusterAttributor(members, prepared, origins, related, matrices, config)
        decisions.update(worker.run())

    def family_of(doc_id: str) -> str | None:
        if doc_id not in cluster_of:
            return None
        decision = decisions.get(doc_id)
        return decision.label if decision else UNKNOWN

    pairs: dict[tuple[str, str], PairAttribution] = {}
    for p in result.pairs:
        pairs[(p.a, p.b)] = _pair_attribution(p, origins, decisions, dates, prepared, matrices, config)

    # members without a family-based source take the sources their decided directions give
    direction_sources: dict[str, list[str]] = {}
    for pa in pairs.values():
        if pa.direction is not None:
            direction_sources.setdefault(pa.direction.derived, []).append(pa.direction.source)
    direction_sources = _nearest_sources(direction_sources)

    out_docs: dict[str, DocumentAttribution] = {}
    for doc in result.documents:
        out_docs[doc.id] = _document_attribution(
            doc, credits[doc.id], origins.get(doc.id), decisions.get(doc.id), family_of(doc.id), dates[doc.id],
            direction_sources.get(doc.id, []), prepared.get(doc.id), config,
        )
    trees = tuple(_tree(gid, members, out_docs, origins, prepared, matrices, config) for gid, members in groups)
    log.info("attributed %d documents, %d pairs, %d clusters", len(out_docs), len(pairs), len(trees))
    return Attribution(out_docs, pairs, trees)


def _nearest_sources(sources: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """Drop a source that is already an ancestor of another source of the same document:
    when c copies b which copies a, c derives from b (a is b's source)."""

    def ancestors(node: str) -> set[str]:
        seen: set[str] = set()
        stack = list(sources.get(node, ()))
        while stack:
            current = stack.pop()
            if current not in seen:
                seen.add(current)
                stack.extend(sources.get(current, ()))
        return seen

    out = {}
    for doc, srcs in sources.items():
        above = {s: ancestors(s) for s in srcs}
        out[doc] = sorted(s for s in srcs if not any(s in above[t] for t in srcs if t != s))
    return out


def _document_attribution(
    doc: Document, credits: tuple[Credit, ...], origin: Origin | None, decision: _Decision | None,
    family: str | None, date: str | None, direction_sources: list[str], prepared: Prepared | None,
    config: AttributeConfig,
) -> DocumentAttribution:
    evidence: list[str] = []
    derived_from: tuple[str, ...] = ()
    passages: tuple[AttributedPassage, ...] = ()
    if origin is not None:
        evidence.extend(origin.evidence)
        if family is not None:
            evidence.append(f"family: {family}, anchored on its origin")
    elif decision is not None:
        evidence.extend(decision.evidence)
        derived_from, passages = decision.derived_from, decision.passages
    elif family == UNKNOWN:
        evidence.append("family: unknown: no credited origin explains its text")
    if not derived_from and origin is None and direction_sources:
        derived_from = tuple(sorted(set(direction_sources)))
        evidence.append(f"derived from {', '.join(derived_from)} by the direction of its pairs")
    if origin is None and family is None:
        evidence.append("family: none (in no cluster)")
    evidence.extend(credit_lines(credits))
    evidence.append(f"date: published {date}" if date else "date: no publication date found")
    language = prepared.language if prepared is not None else _language(doc.text)
    hints = translation_hints(doc.text, language, config.exonyms)
    evidence.extend(hints)
    if hints and origin is not None and language == "fr":
        agree = [n for n in origin.names if n in ENGLISH_ORIGINS]
        if agree:
            evidence.append(f"translation hints agree with its English-language origin ({', '.join(agree)})")
    return DocumentAttribution(doc.id, family, derived_from, credits, tuple(evidence),
                               origin.key if origin else None, date, passages)


def _explained_share(matrices: _Matrices, prepared: Mapping[str, Prepared], derived: str, source: str,
                     threshold: float) -> float:
    sizes = np.array([len(s.span) for s in prepared[derived].sentences], dtype=np.float64)
    best = matrices.get(derived, source).max(axis=1, initial=0.0)
    return _shares(sizes, best >= threshold)


def _pair_attribution(
    pair: Pair, origins: Mapping[str, Origin], decisions: Mapping[str, _Decision],
    dates: Mapping[str, str | None], prepared: Mapping[str, Prepared], matrices: _Matrices,
    config: AttributeConfig,
) -> PairAttribution:
    a, b = pair.a, pair.b
    signals: list[tuple[float, str]] = []
    sign, line = _date_signal(a, b, dates.get(a), dates.get(b))
    signals.append((sign * config.date_weight, line))

    cov_a = pair.scores.get("coverage_a")
    cov_b = pair.scores.get("coverage_b")
    if cov_a is None or cov_b is None:
        cov_a = _explained_share(matrices, prepared, a, b, config.passage_threshold)
        cov_b = _explained_share(matrices, prepared, b, a, config.passage_threshold)
    diff = float(cov_a) - float(cov_b)
    hi, lo, chi, clo = (a, b, cov_a, cov_b) if diff >= 0 else (b, a, cov_b, cov_a)
    weight = min(1.0, abs(diff) / config.coverage_scale) if abs(diff) >= 0.05 else 0.0
    signals.append((math.copysign(weight, diff) if weight else 0.0,
                    f"coverage: {chi:.0%} of {hi} found in {lo} vs {clo:.0%} of {lo} in {hi}"
                    + ("" if weight else " (no clear difference)")))

    oa, ob = origins.get(a), origins.get(b)
    veto = None
    if oa is not None and ob is not None:
        if oa.key == ob.key:
            signals.append((0.0, f"credits: both credit {oa.key}"))
        else:
            veto = (f"different origins: {a} credits {oa.key}, {b} credits {ob.key}; what they share is the "
                    f"story, not a copy of one another")
    elif oa is not None or ob is not None:
        credited, other, origin = (a, b, oa) if oa is not None else (b, a, ob)
        assert origin is not None
        w = config.rule_weight if origin.by_rule else config.credit_weight
        how = "by publisher rule" if origin.by_rule else "in its text"
        signals.append(((w if credited == a else -w),
                        f"credits: {credited} is credited to {origin.key} ({how}), {other} has no origin credit"))

    da, db = decisions.get(a), decisions.get(b)
    if veto is None and da is not None and db is not None and UNKNOWN not in (da.label, db.label):
        if a in db.derived_from or b in da.derived_from:
            src, der = (a, b) if a in db.derived_from else (b, a)
            carried = [f for f in decisions[der].families if f in decisions[src].families]
            signals.append(((config.family_weight if src == a else -config.family_weight),
                            f"family: {der}'s {'/'.join(carried or decisions[der].families)} passages align "
                            f"with {src}"))
        elif not set(da.families) & set(db.families):
            veto = (f"different origins: {a} is {da.label}, {b} is {db.label}; what they share is also in "
                    f"their own origins")
        elif a not in origins and b not in origins:
            veto = _siblings(a, b, da, db, matrices, prepared, config)
    direction, lines = decide_direction(a, b, signals, veto=veto, margin=config.direction_margin)
    return PairAttribution(a, b, direction, lines)


def _siblings(a: str, b: str, da: _Decision, db: _Decision, matrices: _Matrices,
              prepared: Mapping[str, Prepared], config: AttributeConfig) -> str | None:
    """A veto when the passages ``a`` and ``b`` share are mostly found in their origins."""
    shared = matrices.get(a, b).max(axis=1, initial=0.0) >= config.passage_threshold
    if not shared.any():
        return None
    spans = {p.span for p in da.passages}
    explained = np.array([s.span in spans for s in prepared[a].sentences], dtype=bool)
    both = int((shared & explained).sum())
    if both < config.sibling_share * int(shared.sum()):
        return None
    common = sorted(set(da.derived_from) & set(db.derived_from)) or sorted({*da.derived_from, *db.derived_from})
    return (f"siblings: {both} of {int(shared.sum())} passages {a} shares with {b} are also in "
            f"{', '.join(common)}, which both derive from")


# --------------------------------------------------------------------------- the tree


def _tree(
    cluster_id: str, members: Sequence[str], docs: Mapping[str, DocumentAttribution], origins: Mapping[str, Origin],
    prepared: Mapping[str, Prepared], matrices: _Matrices, config: AttributeConfig,
) -> FamilyTree:
    anchors = tuple(m for m in members if m in origins)
    families = tuple(dict.fromkeys(f for f in (docs[m].family for m in anchors) if f is not None))
    edges = []
    for m in members:
        for src in docs[m].derived_from:
            share = _explained_share(matrices, prepared, m, src, config.passage_threshold)
            edges.append(TreeEdge(src, m, share))
    attached = set(anchors) | {e.derived for e in edges} | {e.source for e in edges}
    unattached = tuple(m for m in members if m not in attached)
    return FamilyTree(cluster_id, families, anchors, tuple(edges), unattached)


def render_tree(attribution: Attribution, result: ScanResult) -> str:
    """A plain-text tree per cluster: origins, then their derivatives indented, each with the
    share of its text reused from its parent and its family.

    ::

        c1  AFP-derived / Al Jazeera-derived  (4 documents)
          003  origin: AFP (France Télévisions, republisher rule)  published 2025-12-27T14:01
          └─ 000  mixed  43% of its text reused from 003

    A member with two parents (``mixed``) appears under each; its own derivatives are listed
    under the first only.
    """
    lines: list[str] = []
    for group_id, members in syndication_groups(result):
        tree = attribution.tree(group_id)
        if tree is not None:
            lines.extend(_render_cluster(tree, members, attribution.documents))
    return "\n".join(lines)


def syndication_groups(result: ScanResult) -> list[tuple[str, tuple[str, ...]]]:
    """Documents connected by any related pair, partial reuse included, with an id each.

    Families follow text wherever it went, so they are traced over all pairs, not only the
    scan's clusters (which leave partial reuse out). A group takes the id of the scan cluster
    it contains (the largest if several), else ``g1``, ``g2``...
    """
    cluster_ids = {m: c.id for c in result.clusters for m in c.members}
    out: list[tuple[str, tuple[str, ...]]] = []
    used: set[str] = set()
    extra = 0
    for members in clusters_from_pairs((p.a, p.b) for p in result.pairs):
        ids = [cluster_ids[m] for m in members if m in cluster_ids and cluster_ids[m] not in used]
        if ids:
            group_id = max(set(ids), key=lambda c: (ids.count(c), c))
        else:
            extra += 1
            group_id = f"g{extra}"
        used.add(group_id)
        out.append((group_id, members))
    return out


def _render_cluster(tree: FamilyTree, members: Sequence[str], docs: Mapping[str, DocumentAttribution]) -> list[str]:
    heading = " / ".join(tree.families) if tree.families else "no credited origin"
    lines = [f"{tree.cluster}  {heading}  ({len(members)} documents)"]
    children: dict[str, list[TreeEdge]] = {}
    for e in tree.edges:
        children.setdefault(e.source, []).append(e)
    derived = {e.derived for e in tree.edges}
    roots = [*tree.origins, *(m for m in members if m not in tree.origins and m in children and m not in derived)]
    expanded: set[str] = set()

    def walk(node: str, prefix: str) -> None:
        kids = sorted(children.get(node, []), key=lambda edge: (-edge.share, edge.derived))
        for n, edge in enumerate(kids):
            last = n == len(kids) - 1
            seen = " (see above)" if edge.derived in expanded and children.get(edge.derived) else ""
            lines.append(f"{prefix}{'└─' if last else '├─'} {edge.derived}  {docs[edge.derived].family or '-'}  "
                         f"{edge.share:.0%} of its text reused from {node}{seen}")
            if edge.derived not in expanded:
                expanded.add(edge.derived)
                walk(edge.derived, prefix + ("   " if last else "│  "))

    for root in roots:
        lines.append(f"  {root}  {_root_label(docs[root], root in tree.origins)}")
        expanded.add(root)
        walk(root, "  ")
    for m in tree.unattached:
        lines.append(f"  {m}  {docs[m].family or '-'}  (no origin found)")
    return lines


def _root_label(doc: DocumentAttribution, is_origin: bool) -> str:
    when = f"  published {doc.published}" if doc.published else ""
    if not is_origin:
        return f"source  {doc.family or '-'}{when}"
    names = (doc.origin or "").split(" + ")
    how = [f"{c.kind} credit" for c in doc.credits if c.kind in ("text", "link") and c.span is not None
           and c.name in names]
    publishers = [c.name for c in doc.credits if c.kind == "publisher"]
    if not how:
        how = ["republisher rule"]
    return f"origin: {doc.origin} ({', '.join(dict.fromkeys([*publishers, *how]))}){when}"
