"""Credit and date evidence: who an article credits, and when it says it was published.

This module only gathers *evidence*; deciding who copied whom is the attribution stage's job.
Every credit carries the exact text it was read from and, when it comes from the text, the
character span of that text (``text[span.start:span.end] == evidence``).

Kinds of credit (:data:`CreditKind`):

``text``
    The text itself says it comes from an agency: datelines (``PARIS (AFP) -``,
    ``SEOUL, Dec 27 (Reuters) -``), a parenthesised credit (``(AFP)``, ``(dpa)``), ``AFP -`` at
    the start of a line, ``- Al Jazeera`` at the end of one, ``avec AFP`` / ``avec l'AFP`` /
    ``avec agences`` in credit position, ``Source : AFP``, ``© AFP``, ``Copyright AFP``, an agency
    alone on a line, ``Par AFP``.
``photo``
    Picture credits, kept apart because a photo credit says nothing about the text:
    ``Photo: NAME/POOL/AFP via Getty Images``, ``(KCNA VIA KNS / AFP)``, ``REUTERS/Kim Hong-Ji``,
    ``AP Photo``, ``Crédit photo : AFP``, and ``(AFP)`` or ``© AFP`` on a short caption line.
``link``
    A pointer to an original: ``source: https://…``, ``via https://…``,
    ``Lire l'article original sur …``, ``Originally published on …``; the URL's domain is
    mapped to an outlet through the :class:`AgencyTable`.
``byline``
    A person: ``par Sara``, ``By John Smith``, ``Reporting by …``, ``Jane Doe est une
    journaliste …`` (author bio). The name is the person's name as written.
``quoted``
    An agency or outlet quoted as the source of a statement: ``selon l'agence sud-coréenne
    Yonhap``, ``publié par l'agence d'Etat KCNA``, ``told Reuters``, ``KCNA reported``.
``publisher``
    A line that is only an outlet's name (``France Télévisions``), or the document's own
    ``url`` / ``source`` metadata.

Decisions callers must know:

* Any agency named in running prose with a reporting cue (``selon l'AFP``, ``selon l'agence
  France-Presse``, ``d'après Reuters``, ``a rapporté Reuters``, ``a déclaré à l'AFP``) is
  ``quoted``, never ``text``: only credit *forms* (dateline, parentheses, signature lines,
  ``avec``, ``Source :``, ``©``) make a ``text`` credit. A bare mention without a cue
  (``Associated Press style``, ``Reuters Institute``) produces nothing.
* ``Agence France-Presse (AFP)`` is an acronym definition, not a ``(AFP)`` credit.
* Photo agencies (kind ``photo_agency``: Getty Images, EPA) only ever produce ``photo``
  credits.
* ``avec agences`` / ``with agencies`` gives a ``text`` credit named :data:`GENERIC_AGENCIES`.
* A URL whose domain is not in the table gives a credit named after its host (without
  ``www.``), so the evidence is not lost.
* Metadata credits (``url`` → ``publisher``; ``source`` → ``link`` when it is a URL, else
  ``publisher``) come first, with ``span=None``; text credits follow in text order.

Dates: ``Publié le 27/12/2025 14:01`` → ``published`` ``2025-12-27T14:01``; ``Mis à jour
le …`` → ``updated``; other full dates → ``mentioned``; the ``date`` argument → ``metadata``.
Values are ISO 8601 dates (``2025-12-26``) or minute-precision local times
(``2025-12-27T14:01``); time zones are dropped, not converted. A date without a year
(``le 12 décembre``) is resolved to the year that puts it nearest the publication date, and
skipped when there is no publication date. Month-only dates (``en août 2025``) are skipped.
Numeric dates are read day-first (``05/04/2025`` is 5 April) unless the second number cannot
be a month (``12/27/2025``) or an English cue (``Published``, ``Updated``) precedes them.
A ``date`` argument that cannot be parsed is logged and ignored.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date as _date
from datetime import datetime
from email.utils import parsedate_to_datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

from dedup.errors import ConfigError
from dedup.types import Span

logger = logging.getLogger(__name__)

CreditKind = Literal["text", "photo", "link", "byline", "quoted", "publisher"]
DateKind = Literal["published", "updated", "mentioned", "metadata"]
AgencyKind = Literal["wire", "outlet", "state_media", "photo_agency"]

CREDIT_KINDS: tuple[str, ...] = get_args(CreditKind)
DATE_KINDS: tuple[str, ...] = get_args(DateKind)
AGENCY_KINDS: tuple[str, ...] = get_args(AgencyKind)

#: Name of the credit given for "avec agences" / "with agencies" (no agency named).
GENERIC_AGENCIES = "agencies"

_PACKAGED_TABLE = Path(__file__).resolve().parent / "data" / "agencies.json"
_ENTRY_KEYS = frozenset({"name", "kind", "aliases", "domains", "case_sensitive"})


# --------------------------------------------------------------------------- value types


@dataclass(frozen=True, slots=True)
class Credit:
    """One piece of credit evidence: who, in what role, read from which text."""

    name: str
    kind: CreditKind
    evidence: str
    span: Span | None = None

    def __post_init__(self) -> None:
        if self.kind not in CREDIT_KINDS:
            raise ValueError(f"credit kind must be one of {CREDIT_KINDS}, got {self.kind!r}")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "evidence": self.evidence}
        if self.span is not None:
            out["start"] = self.span.start
            out["end"] = self.span.end
        return out


@dataclass(frozen=True, slots=True)
class DateMention:
    """A date found in the text (or metadata), normalised to ISO 8601 in ``value``."""

    value: str
    evidence: str
    span: Span | None
    kind: DateKind

    def __post_init__(self) -> None:
        if self.kind not in DATE_KINDS:
            raise ValueError(f"date kind must be one of {DATE_KINDS}, got {self.kind!r}")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": self.value, "kind": self.kind, "evidence": self.evidence}
        if self.span is not None:
            out["start"] = self.span.start
            out["end"] = self.span.end
        return out


@dataclass(frozen=True, slots=True)
class Agency:
    """A known agency or outlet: canonical name, kind, aliases as written, web domains.

    Aliases of at most four characters, or written all in capitals as one token (``AFP``,
    ``dpa``, ``KCNA``, ``EPA-EFE``), match case-sensitively; longer ones match in any case,
    unless ``case_sensitive`` is set for the entry (``Le Monde``: "le monde" is ordinary
    French). The canonical name is always an alias too.
    """

    name: str
    kind: AgencyKind
    aliases: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    case_sensitive: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ConfigError(f"agency 'name' must be a non-empty string, got {self.name!r}")
        if self.kind not in AGENCY_KINDS:
            raise ConfigError(f"agency {self.name!r}: 'kind' must be one of {AGENCY_KINDS}, got {self.kind!r}")
        if isinstance(self.aliases, str) or not all(isinstance(a, str) and a.strip() for a in self.aliases):
            raise ConfigError(
                f"agency {self.name!r}: 'aliases' must be a list of non-empty strings, got {self.aliases!r}"
            )
        if isinstance(self.domains, str) or not all(
            isinstance(d, str) and re.fullmatch(r"[A-Za-z0-9.-]+\.[A-Za-z]{2,}", d.strip()) for d in self.domains
        ):
            raise ConfigError(
                f"agency {self.name!r}: 'domains' must be a list of host names such as 'afp.com', got {self.domains!r}"
            )
        if not isinstance(self.case_sensitive, bool):
            raise ConfigError(
                f"agency {self.name!r}: 'case_sensitive' must be true or false, got {self.case_sensitive!r}"
            )
        aliases = [self.name.strip(), *(a.strip() for a in self.aliases)]
        object.__setattr__(self, "name", self.name.strip())
        object.__setattr__(self, "aliases", tuple(dict.fromkeys(aliases)))
        domains = (_strip_www(d.strip().lower()) for d in self.domains)
        object.__setattr__(self, "domains", tuple(dict.fromkeys(domains)))

    def alias_is_case_sensitive(self, alias: str) -> bool:
        """Whether ``alias`` matches only as written (see the class docstring)."""
        return self.case_sensitive or len(alias) <= 4 or (alias.isupper() and " " not in alias)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "aliases": list(self.aliases),
            "domains": list(self.domains),
        }
        if self.case_sensitive:
            out["case_sensitive"] = True
        return out


@dataclass(frozen=True, slots=True)
class AgencyTable:
    """Known agencies/outlets with aliases; :func:`load_agency_table` reads the packaged
    ``dedup/data/agencies.json``, or a user's JSON file of the same shape to extend or
    override it.

    The table compiles its matching patterns once, when it is built; reuse one table for
    many documents.

    >>> table = AgencyTable((Agency("AFP", "wire", ("Agence France-Presse",), ("afp.com",)),))
    >>> table.lookup("agence france-presse").name
    'AFP'
    """

    agencies: tuple[Agency, ...]
    _index: _Index = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        agencies = tuple(self.agencies)
        for agency in agencies:
            if not isinstance(agency, Agency):
                raise ConfigError(f"AgencyTable takes Agency values, got {agency!r}")
        object.__setattr__(self, "agencies", agencies)
        object.__setattr__(self, "_index", _Index.build(agencies))

    def __len__(self) -> int:
        return len(self.agencies)

    def __iter__(self) -> Iterator[Agency]:
        return iter(self.agencies)

    def get(self, name: str) -> Agency | None:
        """The agency whose canonical name is ``name`` (any case), or None."""
        return self._index.by_name.get(name.casefold())

    def lookup(self, alias: str) -> Agency | None:
        """The agency that ``alias`` (one whole alias, as it may appear in text) names."""
        key = _norm_alias(alias)
        return self._index.exact.get(key) or self._index.folded.get(key.casefold())

    def for_url(self, url_or_host: str) -> Agency | None:
        """The agency whose domain (or a parent domain) hosts ``url_or_host``, or None."""
        return self._index.for_url(url_or_host)

    def to_dict(self) -> dict[str, Any]:
        return {"agencies": [a.to_dict() for a in self.agencies]}


# --------------------------------------------------------------------------- table loading


def load_agency_table(path: str | os.PathLike[str] | None = None, *, extend: bool = True) -> AgencyTable:
    """Load the agency table.

    With no ``path``, the packaged table. With a ``path`` and ``extend=True`` (the default),
    the packaged table plus the file's entries, an entry whose ``name`` matches a packaged
    one (any case) replacing it whole. With ``extend=False``, only the file's entries.

    The file is a JSON list of ``{"name", "kind", "aliases", "domains"}`` objects (optional
    ``"case_sensitive": true``); ``kind`` is one of :data:`AGENCY_KINDS`. A file that breaks
    these rules raises :class:`~dedup.errors.ConfigError` naming the file and the problem.

    >>> load_agency_table().lookup("France-Presse").name
    'AFP'
    """
    if path is None:
        return _packaged_table()
    user = _read_table_file(Path(path))
    if not extend:
        return _make_table(user, Path(path))
    replaced = {a.name.casefold() for a in user}
    base = [a for a in _packaged_table().agencies if a.name.casefold() not in replaced]
    return _make_table([*base, *user], Path(path))


@cache
def _packaged_table() -> AgencyTable:
    # Cached because it is immutable: every caller gets the same read-only table.
    return _make_table(_read_table_file(_PACKAGED_TABLE), _PACKAGED_TABLE)


def _make_table(agencies: list[Agency], path: Path) -> AgencyTable:
    try:
        return AgencyTable(tuple(agencies))
    except ConfigError as exc:
        raise ConfigError(f"agency table {path}: {exc}") from None


def _read_table_file(path: Path) -> list[Agency]:
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"agency table {path}: cannot read it ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"agency table {path}: not UTF-8 ({exc.reason})") from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"agency table {path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    if isinstance(data, dict) and isinstance(data.get("agencies"), list):
        data = data["agencies"]
    if not isinstance(data, list):
        raise ConfigError(f"agency table {path}: must be a JSON list of agency objects, got {type(data).__name__}")
    agencies: list[Agency] = []
    for i, entry in enumerate(data):
        where = f"agency table {path}: entry {i}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: must be an object, got {type(entry).__name__}")
        unknown = sorted(set(entry) - _ENTRY_KEYS)
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(_ENTRY_KEYS)}")
        for key in ("name", "kind"):
            if key not in entry:
                raise ConfigError(f"{where}: missing required key {key!r}")
        for key in ("aliases", "domains"):
            if key in entry and not isinstance(entry[key], list):
                raise ConfigError(
                    f"{where} ({entry.get('name')!r}): {key!r} must be a list, got {type(entry[key]).__name__}"
                )
        try:
            agencies.append(
                Agency(
                    name=entry["name"],
                    kind=entry["kind"],
                    aliases=tuple(entry.get("aliases", ())),
                    domains=tuple(entry.get("domains", ())),
                    case_sensitive=entry.get("case_sensitive", False),
                )
            )
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    return agencies


# --------------------------------------------------------------------------- compiled index

_APOS = "['’]"
_UPPER = "A-ZÀ-ÖØ-Þ"
# Boundaries: not inside a word, a hyphenated compound (AP-HP), an e-mail or a host name.
_LEFT = r"(?<![\w@.])(?<!\w-)(?<!\w‑)"
_RIGHT = r"(?!\w)(?![-‑]\w)(?!\.[a-z]{2,})"
_GEN = r"(?<!\w)(?:les[ \t]+)?(?:agences|agencies)(?!\w)"
_GEN_RE = re.compile(_GEN)
_NAME_TOKEN = rf"[{_UPPER}][\w'’.‑-]*"
_PARTICLE = rf"(?:(?:de|du|des|van|von|der|den|da|di|del|della|le|la|el|al|bin|ben|ter|y)[ \t]+|d{_APOS})"
_NAME = rf"{_NAME_TOKEN}(?:[ \t]+{_PARTICLE}?{_NAME_TOKEN}|[ \t]*{_PARTICLE}{_NAME_TOKEN}){{0,3}}"
_NAME_LIST = rf"{_NAME}(?:[ \t]*(?:,|&|\bet\b|\band\b)[ \t]*{_NAME})*"

_PHOTO_WORD = re.compile(
    r"(?<!\w)(?:[Pp]hotos?|PHOTOS?|[Ii]mages?|IMAGES?|[Ii]llustrations?|[Ll]égende|[Cc]aption"
    r"|[Cc]r[ée]dits?|CR[ÉE]DITS?|Getty|[Ff]oto)(?!\w)"
)
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'()\[\]{}]+", re.IGNORECASE)
_URL_TRAIL = ".,;:!?»”’'\""
_PURE_LIST_REST = re.compile(r"[\s,/&+]*(?:(?:et|and|avec|with|les|agences|agencies|l['’])[\s,/&+]*)*", re.IGNORECASE)
_VIA = re.compile(r"(?<!\w)(?:via|VIA|Via)(?!\w)")
_DATELINE_PREFIX = re.compile(
    rf"[ \t]*(?:[{_UPPER}][{_UPPER}'’. -]{{1,40}}?(?:,[ \t]*[^()\n!?;]{{1,30}}?)?"
    rf"|[{_UPPER}][\w'’ .-]{{1,30}},[ \t]*[^()\n!?;]*\d[^()\n!?;]*?)[ \t]*"
)
_DATELINE_DASH = re.compile(r"[ \t]*(?:\.?[ \t]*(?:--|[-–—])|:)")
_BYLINE_STOP = frozenset(
    "ailleurs exemple conséquent consequent contre ici là la le les un une défaut ordre mail "
    "email téléphone courrier lui elle eux nous vous then now contrast comparison default the "
    "this that way far".split()
)
_ACRONYM_SKIP = frozenset("de du des d of the and et la le les l for pour en in".split())

_QUOTE_CUT = re.compile(r"[.!?;:«»\"“”()\[\],]")
_CUE_WORD_TOKEN = r"[^\s.!?;:,()«»\"“”\[\]]+"
_CUE_END = rf"(?:[ \t]+(?:{_CUE_WORD_TOKEN[:-1]}*{_APOS})?)$"
_CUES_WIDE = r"selon|d['’]apr[èe]s|par|citant|according[ \t]+to|by|citing|quoting|cit[ée]e?s?"
_CUES_MID = (
    r"rapporte|rapportait|a[ \t]+rapport[ée]|[ée]crit|a[ \t]+[ée]crit|indique|a[ \t]+indiqu[ée]"
    r"|annonce|a[ \t]+annonc[ée]|affirme|a[ \t]+affirm[ée]|pr[ée]cise|a[ \t]+pr[ée]cis[ée]"
    r"|souligne|rel[èe]ve|r[ée]v[èe]le|a[ \t]+r[ée]v[ée]l[ée]|reported|reports|wrote|writes"
    r"|said|says|told|tells|quoted|cited|informed"
)
_CUES_NARROW = (
    r"à|au|aux|entretien[ \t]+(?:accordé[ \t]+)?(?:avec|à|au)|interview[ \t]+(?:accordée[ \t]+)?"
    r"(?:avec|à|au|with|to)|spoke[ \t]+to|speaking[ \t]+to|talking[ \t]+to|talked[ \t]+to"
    r"|said[ \t]+to|statement[ \t]+to|(?:published|reported|wrote|writing|appeared|quoted)[ \t]+in"
    r"|dans[ \t]+les[ \t]+colonnes[ \t]+(?:du|de)"
)
_QUOTE_PRE = re.compile(
    r"(?i:(?<!\w)(?:"
    rf"(?:[^\W\d_]+(?:é|ée|és|ées|ed)[ \t]+(?:[^\W\d_]+[ \t]+)?)?(?:par|by)"
    rf"(?:[ \t]+{_CUE_WORD_TOKEN}){{0,5}}?"
    rf"|(?:{_CUES_WIDE})(?:[ \t]+{_CUE_WORD_TOKEN}){{0,5}}?"
    rf"|(?:{_CUES_MID})(?:[ \t]+{_CUE_WORD_TOKEN}){{0,3}}?"
    rf"|(?:{_CUES_NARROW})(?:[ \t]+{_CUE_WORD_TOKEN}){{0,1}}?"
    rf"){_CUE_END})"
)
# Cues strong enough to turn "(KCNA)" into a quoted source: "selon des médias d'Etat (KCNA)".
_QUOTE_PRE_STRONG = re.compile(
    r"(?i:(?<!\w)(?:selon|d['’]apr[èe]s|according[ \t]+to|citing|citant|quoting"
    r"|(?:cit|rapport|publi|relay|diffus)[ée]e?s?[ \t]+par|(?:reported|quoted|cited|published)[ \t]+by)"
    rf"(?:[ \t]+{_CUE_WORD_TOKEN}){{0,5}}?{_CUE_END})"
)
_QUOTE_POST = re.compile(
    r"(?i:(?:[ \t]+(?:news[ \t]+agency|agency|agence))?[ \t]*,?[ \t]+"
    r"(?:a[ \t]+(?:(?:aussi|également|encore|déjà)[ \t]+)?|has[ \t]+(?:also[ \t]+)?|had[ \t]+"
    r"|also[ \t]+)?"
    r"(?:rapport[ée]|rapporte|rapportait|indiqu[ée]|indique|indiquait|annonc[ée]|annonce"
    r"|annonçait|affirm[ée]|affirme|affirmait|pr[ée]cis[ée]|pr[ée]cise|[ée]crit|[ée]crivait"
    r"|publi[ée]|publie|diffus[ée]|diffuse|cit[ée]|cite|r[ée]v[ée]l[ée]|r[ée]v[èe]le|relay[ée]"
    r"|relaie|confirm[ée]|confirme|soulign[ée]|souligne|expliqu[ée]|explique|assur[ée]|assure"
    r"|constat[ée]|constate|appris|obtenu|montr[ée]|montre"
    r"|reported|reports|said|says|wrote|writes|quoted|quotes|cited|cites|announced|announces"
    r"|added|noted|revealed|published|carried|confirmed|learned|learnt|saw|seen|obtained)"
    r"(?!\w))"
)
_BIO_WORDS = (
    r"journaliste|reporter|correspondante?|rédact(?:eur|rice)|chroniqueu(?:r|se)|photographe"
    r"|journalist|correspondent|writer|editor|columnist|photographer|reporter"
)
_BIO = re.compile(
    rf"^[ \t]*(?P<name>{_NAME})[ \t]+(?:est|is)[ \t]+(?:un|une|a|an|le|la|the|notre|our)[ \t]+"
    rf"(?:[\w'’-]+[ \t]+){{0,3}}?(?:{_BIO_WORDS})s?(?!\w)",
    re.MULTILINE,
)
_REPORTING = re.compile(
    r"(?<!\w)(?:[Aa]dditional[ \t]+reporting|[Rr]eporting(?:[ \t]+and[ \t]+writing)?|[Ww]riting"
    rf"|[Rr]eportage|[Tt]exte)[ \t]+(?:by|par)[ \t]+(?P<names>{_NAME_LIST})"
)


@dataclass(frozen=True, slots=True)
class _Index:
    """Lookups and compiled patterns of one AgencyTable (built once per table)."""

    by_name: Mapping[str, Agency]
    exact: Mapping[str, Agency]
    folded: Mapping[str, Agency]
    domains: tuple[tuple[str, Agency], ...]
    alias: re.Pattern[str]
    alias_full: re.Pattern[str]
    paren: re.Pattern[str]
    line_start_dash: re.Pattern[str]
    line_end_dash: re.Pattern[str]
    avec: re.Pattern[str]
    source: re.Pattern[str]
    source_line: re.Pattern[str]
    copyright: re.Pattern[str]
    photo_label: re.Pattern[str]
    photo_chain: re.Pattern[str]
    photo_word_after: re.Pattern[str]
    photo_word_before: re.Pattern[str]
    byline: re.Pattern[str]
    link_url: re.Pattern[str]
    link_name: re.Pattern[str]

    @staticmethod
    def build(agencies: tuple[Agency, ...]) -> _Index:
        by_name: dict[str, Agency] = {}
        exact: dict[str, Agency] = {}
        folded: dict[str, Agency] = {}
        owner: dict[str, Agency] = {}
        alternatives: list[tuple[str, str]] = []
        for agency in agencies:
            key = agency.name.casefold()
            if key in by_name:
                raise ConfigError(f"agency name {agency.name!r} appears twice")
            by_name[key] = agency
            for alias in agency.aliases:
                norm = _norm_alias(alias)
                other = owner.get(norm.casefold())
                if other is not None and other is not agency:
                    raise ConfigError(f"alias {alias!r} of {agency.name!r} is already an alias of {other.name!r}")
                owner[norm.casefold()] = agency
                body = _alias_regex(norm)
                if agency.alias_is_case_sensitive(alias):
                    exact[norm] = agency
                    alternatives.append((norm, body))
                else:
                    folded[norm.casefold()] = agency
                    alternatives.append((norm, f"(?i:{body})"))
        domains: list[tuple[str, Agency]] = []
        for agency in agencies:
            domains.extend((d, agency) for d in agency.domains)
        domains.sort(key=lambda item: -len(item[0]))
        alternatives.sort(key=lambda item: (-len(item[0]), item[0]))
        if alternatives:
            alias = rf"{_LEFT}(?:{'|'.join(body for _, body in alternatives)}){_RIGHT}"
        else:
            alias = r"(?!x)x"
        alist = rf"(?:{alias}|{_GEN})(?:[ \t]*(?:,|/|&|\+|\bet\b|\band\b)[ \t]*(?:l{_APOS}[ \t]*)?(?:{alias}|{_GEN}))*"
        word = rf"[{_UPPER}](?:[\w'’‑-]|\.(?=\w))*"
        token = rf"(?:{alias}|{word}(?:[ \t]+{word}){{0,3}})"
        m = re.MULTILINE
        return _Index(
            by_name=by_name,
            exact=exact,
            folded=folded,
            domains=tuple(domains),
            alias=re.compile(alias),
            alias_full=re.compile(rf"[ \t]*(?:{alias})[ \t]*"),
            paren=re.compile(rf"\([ \t]*(?P<list>{alist})[ \t]*\)"),
            line_start_dash=re.compile(rf"^[ \t]*(?P<list>{alist})[ \t]*(?:--|[-–—|])(?=[ \t])", m),
            line_end_dash=re.compile(rf"(?<=[ \t])(?:--|[-–—|])[ \t]*(?P<list>{alist})[ \t]*$", m),
            avec=re.compile(
                rf"(?<!\w)(?:[Aa]vec|AVEC|[Ww]ith|WITH)[ \t]+"
                rf"(?:l{_APOS}[ \t]*(?:(?i:agence)[ \t]+)?)?(?P<list>{alist})"
            ),
            source=re.compile(rf"(?<!\w)(?:[Ss]ources?|SOURCES?)[ \t]*:[ \t]*(?:l{_APOS})?(?P<list>{alist})"),
            source_line=re.compile(rf"^[ \t]*(?:[Ss]ources?|SOURCES?)[ \t]+(?P<list>{alist})[ \t]*$", m),
            copyright=re.compile(
                rf"(?:©|\([cC]\)|(?<!\w)(?:Copyright|COPYRIGHT|copyright))[ \t]*(?:©[ \t]*)?"
                rf"(?:\d{{4}}[ \t]*)?(?P<list>{alist})(?:[ \t]+\d{{4}}(?!\d))?"
            ),
            photo_label=re.compile(
                r"(?:(?<!\w)(?:©[ \t]*)?(?:[Pp]hotos?|PHOTOS?|[Cc]r[ée]dits?[ \t]+[Pp]hotos?"
                r"|CR[ÉE]DITS?[ \t]+PHOTOS?|[Pp]hoto[ \t]+[Cc]redits?|[Cc]r[ée]dits?|CR[ÉE]DITS?"
                r"|[Ii]mages?|IMAGES?|[Ii]llustration|[Ff]oto|[Pp]ictures?)[ \t]*(?::|©|/)"
                r"|©[ \t]*(?:[Pp]hotos?|PHOTOS?)(?!\w)[ \t]*:?"
                r"|(?<!\w)[Cc]r[ée]dits?[ \t]+[Pp]hotos?(?!\w))[ \t]*(?P<body>[^\n]{1,200})"
            ),
            photo_chain=re.compile(
                rf"(?<![\w/])(?P<chain>{token}(?:[ \t]*(?:/|(?<!\w)(?:via|VIA|Via)(?!\w))[ \t]*{token})+)"
            ),
            photo_word_after=re.compile(rf"(?P<a>{alias})[ \t]+(?:PHOTOS?|[Pp]hotos?)(?!\w)(?:[ \t]*/[ \t]*{token})?"),
            photo_word_before=re.compile(
                rf"(?<!\w)(?:[Pp]hotos?|PHOTOS?)[ \t]+(?:(?:de|par)[ \t]+l{_APOS}|de[ \t]+|d{_APOS}"
                rf"|by[ \t]+|par[ \t]+)?(?P<a>{alias})"
            ),
            byline=re.compile(rf"^[ \t]*(?P<kw>[Pp]ar|PAR|[Bb]y|BY)[ \t]+(?P<names>{_NAME_LIST})(?P<tail>[^\n]*)$", m),
            link_url=re.compile(
                rf"(?<!\w)(?i:sources?|via|{_LINK_LABELS})[ \t]*:?[ \t]*(?P<url>{_URL.pattern})",
                re.IGNORECASE,
            ),
            link_name=re.compile(
                rf"(?<!\w)(?i:{_LINK_LABELS})[ \t]*:?[ \t]*(?:l{_APOS}|(?i:the|le)[ \t]+)?(?P<list>{alist})"
            ),
        )

    def for_url(self, url_or_host: str) -> Agency | None:
        host = _host(url_or_host)
        if not host:
            return None
        for domain, agency in self.domains:  # longest first: the most specific domain wins
            if host == domain or host.endswith("." + domain):
                return agency
        return None

    def agency_of(self, matched: str) -> Agency | None:
        key = _norm_alias(matched)
        return self.exact.get(key) or self.folded.get(key.casefold())


_LINK_LABELS = (
    r"lire[ \t]+l['’]article[ \t]+original(?:[ \t]+sur)?|lire[ \t]+l['’]article[ \t]+sur"
    r"|article[ \t]+original(?:[ \t]+sur)?"
    r"|originally[ \t]+(?:published|appeared)[ \t]+(?:on|at|in|by)"
    r"|first[ \t]+(?:published|appeared)[ \t]+(?:on|at|in|by)"
    r"|read[ \t]+(?:the[ \t]+)?(?:original|full)[ \t]+(?:article|story)(?:[ \t]+(?:on|at))?"
    r"|(?:initialement|originellement|d['’]abord)[ \t]+publi[ée]e?[ \t]+(?:sur|par|dans)"
    r"|publi[ée]e?[ \t]+(?:à[ \t]+l['’]origine|initialement|originellement)[ \t]+(?:sur|par|dans)"
    r"|cet[ \t]+article[ \t]+a[ \t]+été[ \t]+(?:initialement[ \t]+|originellement[ \t]+)?"
    r"publi[ée][ \t]+(?:sur|par|dans)"
)


def _alias_regex(alias: str) -> str:
    parts = []
    for ch in alias:
        if ch == " ":
            parts.append(r"[ \t]+")
        elif ch in "'’":
            parts.append(_APOS)
        elif ch in "-‑‐":
            parts.append("[-‑‐]")
        else:
            parts.append(re.escape(ch))
    return "".join(parts)


def _norm_alias(text: str) -> str:
    text = " ".join(text.split())
    return text.replace("’", "'").replace("‑", "-").replace("‐", "-")


def _strip_www(host: str) -> str:
    for prefix in ("www.", "m.", "amp."):
        if host.startswith(prefix) and host.count(".") >= 2:
            return host[len(prefix) :]
    return host


def _host(url_or_host: str) -> str:
    value = url_or_host.strip()
    if "://" not in value:
        value = "//" + value
    try:
        host = urlsplit(value).hostname or ""
    except ValueError:
        return ""
    return _strip_www(host.lower().rstrip("."))


# --------------------------------------------------------------------------- credit extraction


class _Collector:
    """Credits found so far and the text regions already explained by one of them."""

    def __init__(self, text: str, index: _Index) -> None:
        self.text = text
        self.index = index
        self.taken: list[tuple[int, int]] = []
        self.found: list[Credit] = []
        self.urls = [_url_bounds(m) for m in _URL.finditer(text)]

    def free(self, start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in self.taken)

    def in_url(self, start: int, end: int) -> bool:
        return any(start < e and s < end for s, e in self.urls)

    def take(self, start: int, end: int) -> None:
        self.taken.append((start, end))

    def add(self, name: str, kind: CreditKind, start: int, end: int) -> None:
        start, end = _strip_bounds(self.text, start, end)
        if start >= end:
            return
        self.found.append(Credit(name, kind, self.text[start:end], Span(start, end)))

    def aliases(self, start: int, end: int) -> Iterator[tuple[re.Match[str], Agency]]:
        for m in self.index.alias.finditer(self.text, start, end):
            if self.in_url(m.start(), m.end()):
                continue
            agency = self.index.agency_of(m.group())
            if agency is not None:
                yield m, agency

    def credit_list(self, start: int, end: int, ev_start: int, ev_end: int, kind_for: _KindFor) -> bool:
        """Credit every agency named in ``[start, end)`` with evidence ``[ev_start, ev_end)``."""
        any_found = False
        for _, agency in self.aliases(start, end):
            self.add(agency.name, kind_for(agency), ev_start, ev_end)
            any_found = True
        if kind_for.default == "text" and _GEN_RE.search(self.text, start, end):
            self.add(GENERIC_AGENCIES, "text", ev_start, ev_end)
            any_found = True
        return any_found


@dataclass(frozen=True, slots=True)
class _KindFor:
    """How an agency named in a given credit form is classed (photo agencies: always photo)."""

    default: CreditKind
    outlet: CreditKind | None = None

    def __call__(self, agency: Agency) -> CreditKind:
        if agency.kind == "photo_agency":
            return "photo"
        if agency.kind == "outlet" and self.outlet is not None:
            return self.outlet
        return self.default


_TEXT = _KindFor("text")
_PHOTO = _KindFor("photo")
_STANDALONE = _KindFor("text", outlet="publisher")
_QUOTED = _KindFor("quoted")


def extract_credits(
    text: str,
    *,
    url: str | None = None,
    source: str | None = None,
    table: AgencyTable | None = None,
) -> tuple[Credit, ...]:
    """Find credit evidence in an article's text and metadata.

    Metadata credits (``url``, ``source``) come first with ``span=None``, then text credits
    in text order; a (name, kind, evidence) triple never appears twice.

    >>> [(c.name, c.kind) for c in extract_credits("PARIS (AFP) - Le président a dit...")]
    [('AFP', 'text')]
    """
    table = table if table is not None else load_agency_table()
    col = _Collector(text, table._index)
    _links(col)
    _photos(col)
    _lines_credits(col)
    _text_credits(col)
    _quoted(col)
    found = sorted(col.found, key=lambda c: (c.span.start, c.span.end) if c.span else (-1, -1))
    meta = _metadata_credits(url, source, table)
    out: list[Credit] = []
    seen: set[tuple[str, str, str]] = set()
    for credit in (*meta, *found):
        key = (credit.name, credit.kind, credit.evidence)
        if key not in seen:
            seen.add(key)
            out.append(credit)
    logger.debug("found %d credits", len(out))
    return tuple(out)


def _metadata_credits(url: str | None, source: str | None, table: AgencyTable) -> list[Credit]:
    out: list[Credit] = []
    if url and url.strip():
        value = url.strip()
        agency = table.for_url(value)
        name = agency.name if agency else _host(value)
        if name:
            out.append(Credit(name, "publisher", value, None))
    if source and source.strip():
        value = source.strip()
        if _URL.fullmatch(value) or re.fullmatch(r"[\w.-]+\.[a-z]{2,}(?:/\S*)?", value):
            agency = table.for_url(value)
            name = agency.name if agency else _host(value)
            if name:
                out.append(Credit(name, "link", value, None))
        else:
            agency = table.lookup(value)
            out.append(Credit(agency.name if agency else value, "publisher", value, None))
    return out


def _url_bounds(m: re.Match[str], start: int | None = None, end: int | None = None) -> tuple[int, int]:
    start = m.start() if start is None else start
    end = m.end() if end is None else end
    while end > start and m.string[end - 1] in _URL_TRAIL:
        end -= 1
    return start, end


def _strip_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _line_bounds(text: str, pos: int) -> tuple[int, int]:
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    if end == -1:
        end = len(text)
    if end > start and text[end - 1] == "\r":
        end -= 1
    return start, end


def _iter_lines(text: str) -> Iterator[tuple[int, int]]:
    start = 0
    for m in re.finditer(r"\r?\n", text):
        yield start, m.start()
        start = m.end()
    yield start, len(text)


def _links(col: _Collector) -> None:
    text = col.text
    for m in col.index.link_url.finditer(text):
        u_start, u_end = _url_bounds(m, m.start("url"), m.end("url"))
        url = text[u_start:u_end]
        found = col.index.for_url(url)
        name = found.name if found else _host(url)
        if not name or not col.free(m.start(), u_end):
            continue
        col.add(name, "link", m.start(), u_end)
        col.take(m.start(), u_end)
    for m in col.index.link_name.finditer(text):
        if col.free(m.start(), m.end()) and col.credit_list(
            m.start("list"), m.end("list"), m.start(), m.end(), _KindFor("link")
        ):
            col.take(m.start(), m.end())


def _photos(col: _Collector) -> None:
    text, index = col.text, col.index
    # "Photo: NAME/POOL/AFP via Getty Images", "Crédit photo : AFP"
    for m in index.photo_label.finditer(text):
        if not col.free(m.start(), m.end()):
            continue
        if col.credit_list(m.start("body"), m.end("body"), m.start(), m.end(), _PHOTO):
            col.take(m.start(), m.end())
    # "(KCNA VIA KNS / AFP)", "(AFP PHOTO / NAME)", "(Getty Images)"
    for m in re.finditer(r"\((?P<body>[^()\n]{1,150})\)", text):
        if not col.free(m.start(), m.end()):
            continue
        names = list(col.aliases(m.start("body"), m.end("body")))
        if not names:
            continue
        rest = _remove_spans(text, m.start("body"), m.end("body"), [n for n, _ in names])
        if _PURE_LIST_REST.fullmatch(rest):
            continue  # "(AFP)", "(AFP/Reuters)": a text credit
        body = m.group("body")
        if (
            "/" in body
            or _VIA.search(body)
            or _PHOTO_WORD.search(body)
            or any(a.kind == "photo_agency" for _, a in names)
        ):
            col.credit_list(m.start("body"), m.end("body"), m.start(), m.end(), _PHOTO)
            col.take(m.start(), m.end())
    # "REUTERS/Kim Hong-Ji", "AFP via Getty Images", "EPA-EFE/JEON HEON-KYUN"
    for m in index.photo_chain.finditer(text):
        start, end = m.start("chain"), m.end("chain")
        if not col.free(start, end):
            continue
        names = list(col.aliases(start, end))
        if not names:
            continue
        chain = m.group("chain")
        via = bool(_VIA.search(chain))
        upper = any(n.group().isupper() and len(n.group()) > 1 for n, _ in names)
        photo_agency = any(a.kind == "photo_agency" for _, a in names)
        rest = _remove_spans(text, start, end, [n for n, _ in names])
        if _PURE_LIST_REST.fullmatch(rest) and not photo_agency:
            continue  # "AFP/Reuters"
        if via or upper or photo_agency:
            col.credit_list(start, end, start, end, _PHOTO)
            col.take(start, end)
    # "AFP PHOTO", "AP Photo/Ahn Young-joon", "photo de l'AFP"
    for pattern in (index.photo_word_after, index.photo_word_before):
        for m in pattern.finditer(text):
            if col.free(m.start(), m.end()) and not col.in_url(m.start("a"), m.end("a")):
                col.credit_list(m.start("a"), m.end("a"), m.start(), m.end(), _PHOTO)
                col.take(m.start(), m.end())


def _remove_spans(text: str, start: int, end: int, matches: list[re.Match[str]]) -> str:
    pieces, pos = [], start
    for m in sorted(matches, key=lambda m: m.start()):
        pieces.append(text[pos : m.start()])
        pos = m.end()
    pieces.append(text[pos:end])
    return " ".join(pieces)


def _lines_credits(col: _Collector) -> None:
    text, index = col.text, col.index
    for m in index.byline.finditer(text):
        _byline(col, m)
    for m in _BIO.finditer(text):
        name = " ".join(m.group("name").split())
        if len(name.split()) >= 2 and col.free(m.start(), m.end()) and not index.agency_of(name):
            col.add(name, "byline", m.start(), m.end())
            col.take(m.start(), m.end())
    for m in _REPORTING.finditer(text):
        if not col.free(m.start(), m.end()):
            continue
        for n in re.finditer(_NAME, m.group("names")):
            col.add(" ".join(n.group().split()), "byline", m.start(), m.end())
        col.take(m.start(), m.end())
    # A line that is only a name: "France Télévisions", "AFP", "(Belga)", "Getty Images".
    for start, end in _iter_lines(text):
        s, e = _strip_bounds(text, start, end)
        inner_s, inner_e = s, e
        while inner_s < inner_e and text[inner_s] in "([|•—–-":
            inner_s += 1
        while inner_e > inner_s and text[inner_e - 1] in ")]|•—–-.":
            inner_e -= 1
        if inner_s >= inner_e or not col.free(s, e):
            continue
        if index.alias_full.fullmatch(text, inner_s, inner_e) and not col.in_url(inner_s, inner_e):
            col.credit_list(inner_s, inner_e, s, e, _STANDALONE)
            col.take(s, e)


def _byline(col: _Collector, m: re.Match[str]) -> None:
    text, index = col.text, col.index
    names_text = m.group("names")
    tail = m.group("tail").strip()
    head_len = m.end("names") - m.start("kw")
    if head_len >= 60 or len(m.group().strip()) > 100:
        return
    first = names_text.split()[0].casefold()
    if first in _BYLINE_STOP and len(names_text.split()) == 1:
        return
    if tail:
        tail_ok = tail[0] in ",;|–—-(" and (
            re.search(r"(?i)(?<!\w)(?:avec|with)(?!\w)", tail) or index.alias_full.fullmatch(tail.strip(",;|–—-() \t"))
        )
        if not tail_ok:
            return
    if not col.free(m.start("kw"), m.end("names")):
        return
    ev_start, ev_end = m.start("kw"), m.end("names")
    for n in re.finditer(_NAME, names_text):
        n_start, n_end = m.start("names") + n.start(), m.start("names") + n.end()
        lead = index.alias.match(text, n_start, n_end)
        agency = index.agency_of(lead.group()) if lead else None
        if agency is not None:
            col.add(agency.name, _STANDALONE(agency), ev_start, ev_end)
        else:
            col.add(" ".join(n.group().split()), "byline", ev_start, ev_end)
    col.take(ev_start, ev_end)
    if tail and not re.search(r"(?i)(?<!\w)(?:avec|with)(?!\w)", tail):
        # "By Jane Doe, Reuters": the agency after the comma is the text's origin.
        t_start = m.start("tail")
        col.credit_list(t_start, m.end("tail"), t_start, m.end("tail"), _TEXT)
        col.take(t_start, m.end("tail"))


def _is_caption_line(text: str, pos: int) -> bool:
    start, end = _line_bounds(text, pos)
    return end - start < 300 and bool(_PHOTO_WORD.search(text, start, end))


def _is_acronym_definition(text: str, paren_start: int, acronym: str) -> bool:
    """``Agence France-Presse (AFP)``, ``Advanced Placement (AP)``: words spelling it out."""
    acronym = acronym.strip()
    if not (acronym.isalpha() and acronym.isupper() and len(acronym) >= 2):
        return False
    words = re.findall(r"[^\W\d_]+", text[max(0, paren_start - 120) : paren_start])
    words = [w for w in words if w.casefold() not in _ACRONYM_SKIP]
    tail = words[-len(acronym) :]
    return len(tail) == len(acronym) and "".join(w[0] for w in tail).upper() == acronym


def _text_credits(col: _Collector) -> None:
    text, index = col.text, col.index
    # Datelines and parenthesised credits: "PARIS (AFP) -", "(Reuters)", "(AFP, Reuters)".
    for m in index.paren.finditer(text):
        if not col.free(m.start(), m.end()):
            continue
        if _is_acronym_definition(text, m.start(), m.group("list")):
            col.take(m.start(), m.end())
            continue
        line_start, _ = _line_bounds(text, m.start())
        ev_start, ev_end = m.start(), m.end()
        prefix = text[line_start : m.start()]
        dateline = not prefix.strip() or _DATELINE_PREFIX.fullmatch(prefix)
        if dateline:
            ev_start = line_start
            dash = _DATELINE_DASH.match(text, m.end())
            if dash:
                ev_end = dash.end()
        if not dateline:
            cue = _quote_cue(text, m.start(), _QUOTE_PRE_STRONG)
            if cue is not None:
                # "selon des médias d'Etat (KCNA)": the parenthesis names a quoted source.
                col.credit_list(m.start("list"), m.end("list"), cue, m.end(), _QUOTED)
                col.take(m.start(), m.end())
                continue
        kind = _TEXT if dateline or not _is_caption_line(text, m.start()) else _PHOTO
        if col.free(ev_start, ev_end) and col.credit_list(m.start("list"), m.end("list"), ev_start, ev_end, kind):
            col.take(ev_start, ev_end)
    simple = (index.line_start_dash, index.source, index.source_line, index.line_end_dash)
    for pattern in simple:
        for m in pattern.finditer(text):
            if col.free(m.start(), m.end()):
                if col.credit_list(m.start("list"), m.end("list"), m.start(), m.end(), _TEXT):
                    col.take(m.start(), m.end())
    for m in index.copyright.finditer(text):
        if col.free(m.start(), m.end()):
            kind = _PHOTO if _is_caption_line(text, m.start()) else _TEXT
            if col.credit_list(m.start("list"), m.end("list"), m.start(), m.end(), kind):
                col.take(m.start(), m.end())
    for m in index.avec.finditer(text):
        if col.free(m.start(), m.end()):
            _avec(col, m)


def _avec(col: _Collector, m: re.Match[str]) -> None:
    """ "avec AFP" is a credit only in credit position, not "un entretien avec l'AFP"."""
    text, index = col.text, col.index
    line_start, line_end = _line_bounds(text, m.start())
    prefix = text[line_start : m.start()].rstrip()
    suffix = text[m.end() : line_end].strip()
    outlet = None
    if prefix and prefix[-1] not in '(,.!?»"”-–—|[:/':
        outlet = index.alias_full.fullmatch(prefix)
        if outlet is None:
            return
    if suffix and not re.fullmatch(r"[)\].]*[ \t]*(?:[|–—-].*)?", suffix):
        return
    if col.credit_list(m.start("list"), m.end("list"), m.start(), m.end(), _TEXT):
        col.take(m.start(), m.end())
        if outlet is not None and col.free(line_start, m.start()):
            col.credit_list(line_start, m.start(), line_start, m.start(), _STANDALONE)
            col.take(line_start, m.start())


def _quote_cue(text: str, pos: int, cues: re.Pattern[str] = _QUOTE_PRE) -> int | None:
    """Start of a reporting cue ("selon l'agence", "told") ending right before ``pos``."""
    line_start, _ = _line_bounds(text, pos)
    seg_start = max(line_start, pos - 120)
    # The cue must sit in the same clause: start after the last punctuation mark.
    cut = max((c.end() for c in _QUOTE_CUT.finditer(text, seg_start, pos)), default=seg_start)
    pre = cues.search(text, cut, pos)
    return pre.start() if pre is not None else None


def _quoted(col: _Collector) -> None:
    text = col.text
    for m, agency in list(col.aliases(0, len(text))):
        if agency.kind == "photo_agency" or not col.free(m.start(), m.end()):
            continue
        _, line_end = _line_bounds(text, m.start())
        cue = _quote_cue(text, m.start())
        if cue is not None:
            col.add(agency.name, "quoted", cue, m.end())
            col.take(m.start(), m.end())
            continue
        post = _QUOTE_POST.match(text, m.end(), line_end)
        if post is not None:
            col.add(agency.name, "quoted", m.start(), post.end())
            col.take(m.start(), m.end())


# --------------------------------------------------------------------------- dates

_FR_MONTHS = {
    "janvier": 1, "janv": 1, "février": 2, "fevrier": 2, "févr": 2, "fév": 2, "fevr": 2,
    "mars": 3, "avril": 4, "avr": 4, "mai": 5, "juin": 6, "juillet": 7, "juil": 7,
    "août": 8, "aout": 8, "septembre": 9, "sept": 9, "octobre": 10, "oct": 10,
    "novembre": 11, "nov": 11, "décembre": 12, "decembre": 12, "déc": 12, "dec": 12,
}  # fmt: skip
_EN_MONTHS = {
    "January": 1, "Jan": 1, "February": 2, "Feb": 2, "March": 3, "Mar": 3, "April": 4,
    "Apr": 4, "May": 5, "June": 6, "Jun": 6, "July": 7, "Jul": 7, "August": 8, "Aug": 8,
    "September": 9, "Sept": 9, "Sep": 9, "October": 10, "Oct": 10, "November": 11, "Nov": 11,
    "December": 12, "Dec": 12,
}  # fmt: skip
# Month names that are not abbreviations, so a dot after them ends the sentence.
_FULL_MONTHS = frozenset(
    w.casefold()
    for w in (*_FR_MONTHS, *_EN_MONTHS)
    if len(w) > 4 or w in ("mai", "mars", "juin", "août", "aout", "May", "June", "July")
)
_MONTH_NUMBER = {
    **{k.casefold(): v for k, v in _FR_MONTHS.items()},
    **{k.casefold(): v for k, v in _EN_MONTHS.items()},
}


def _alternation(words: Iterable[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w)))


_FR_MONTH_RE = rf"(?i:{_alternation(_FR_MONTHS)})"
_EN_MONTH_RE = _alternation([*_EN_MONTHS, *(w.upper() for w in _EN_MONTHS)])
_ANY_MONTH_RE = rf"(?:{_FR_MONTH_RE}|{_EN_MONTH_RE})"
_WEEKDAYS = (
    r"lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|monday|tuesday|wednesday|thursday"
    r"|friday|saturday|sunday|mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun"
)

_DATE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    # Reuters-21578 style: 26-FEB-1987 15:01:01.79
    ("dmy", re.compile(rf"(?<![\w-])(?P<d>[0-3]?\d)-(?P<m>{_ANY_MONTH_RE})-(?P<y>\d{{4}})(?!\d)")),
    ("iso", re.compile(r"(?<![\w-])(?P<y>\d{4})-(?P<m>[01]\d)-(?P<d>[0-3]\d)(?![\d-])")),
    (
        "num",
        re.compile(
            r"(?<![\w/.-])(?P<a>[0-3]?\d)(?P<sep>[/.-])(?P<b>[0-3]?\d)(?P=sep)(?P<y>\d{4})"
            r"(?![\d/.-]\d|\d)"
        ),
    ),
    (
        "dmy",
        re.compile(
            rf"(?<![\w-])(?P<d>[0-3]?\d)(?:er|st|nd|rd|th)?[ \t]+(?:de[ \t]+|of[ \t]+)?"
            rf"(?P<m>{_ANY_MONTH_RE})\.?(?!\w)(?:,?[ \t]+(?P<y>\d{{4}})(?!\d))?"
        ),
    ),
    (
        "mdy",
        re.compile(
            rf"(?<!\w)(?P<m>{_EN_MONTH_RE})\.?[ \t]+(?P<d>[0-3]?\d)(?:st|nd|rd|th)?(?![\d:])"
            rf"(?:,?[ \t]+(?P<y>\d{{4}})(?!\d))?"
        ),
    ),
)
_TIME_AFTER = re.compile(
    r"(?:[ \t]*(?:à|at|,|-|–|\||T)?[ \t]*)(?P<H>[01]?\d|2[0-3])[ \t]*(?::|h|H)[ \t]*(?P<M>[0-5]\d)"
    r"(?::[0-5]\d(?:\.\d+)?)?(?:[ \t]*(?P<ap>[AaPp]\.?[Mm]\.?))?(?![\d:])"
    r"(?:Z|[+-]\d{2}:?\d{2})?"
)
_PUB_CUE = re.compile(
    r"(?i:(?<!\w)(?:publi[ée]e?|published|posted|mis[ \t]+en[ \t]+ligne|première[ \t]+publication"
    r"|date[ \t]+de[ \t]+publication|publication)[ \t]*(?:le|on|:)?[ \t]*:?[ \t]*"
    rf"(?:(?:{_WEEKDAYS})\.?[ \t]*,?[ \t]*)?(?:le[ \t]+)?)$"
)
_UPD_CUE = re.compile(
    r"(?i:(?<!\w)(?:mise?[ \t]+à[ \t]+jour|màj|maj|actualis[ée]e?|modifi[ée]e?|updated"
    r"|last[ \t]+updated|dernière[ \t]+mise[ \t]+à[ \t]+jour|update)[ \t]*(?:le|on|:)?[ \t]*:?"
    rf"[ \t]*(?:(?:{_WEEKDAYS})\.?[ \t]*,?[ \t]*)?(?:le[ \t]+)?)$"
)
_DATE_CUES: tuple[tuple[DateKind, re.Pattern[str]], ...] = (("published", _PUB_CUE), ("updated", _UPD_CUE))
_ENGLISH_CUE = re.compile(r"(?i)published|posted|updated|update")


@dataclass(frozen=True, slots=True)
class _RawDate:
    start: int
    end: int
    year: int | None
    month: int
    day: int
    time: tuple[int, int] | None
    cue: DateKind
    cue_start: int


def extract_dates(text: str, *, date: str | None = None) -> tuple[DateMention, ...]:
    """Find dates in ``text``: publication, update and other full dates, plus ``date``.

    The metadata date comes first (kind ``metadata``), then dates in text order.

    >>> [(d.value, d.kind) for d in extract_dates("Publié le 27/12/2025 14:01")]
    [('2025-12-27T14:01', 'published')]
    """
    out: list[DateMention] = []
    meta = _parse_date_string(date) if date and date.strip() else None
    if date and date.strip():
        if meta is None:
            logger.debug("cannot parse metadata date %r; ignored", date)
        else:
            out.append(DateMention(meta, date.strip(), None, "metadata"))
    raws = _raw_dates(text)
    reference = _reference_date(meta, raws)
    for raw in raws:
        year = raw.year
        if year is None:
            if reference is None:
                continue
            year = _nearest_year(reference, raw.month, raw.day)
            if year is None:
                continue
        value = _iso(year, raw.month, raw.day, raw.time)
        if value is None:
            continue
        start = raw.cue_start if raw.cue != "mentioned" else raw.start
        out.append(DateMention(value, text[start : raw.end], Span(start, raw.end), raw.cue))
    return tuple(out)


def publication_date(text: str, *, date: str | None = None) -> str | None:
    """Best guess of when the article was published, as ISO 8601, or None.

    The metadata ``date`` when it parses, else the earliest "Publié le" / "Published" date
    in the text; update and other dates are not used.

    >>> publication_date("France Télévisions\\nPublié le 27/12/2025 14:01")
    '2025-12-27T14:01'
    """
    mentions = extract_dates(text, date=date)
    for mention in mentions:
        if mention.kind == "metadata":
            return mention.value
    published = [m.value for m in mentions if m.kind == "published"]
    return min(published) if published else None


def _raw_dates(text: str) -> list[_RawDate]:
    taken: list[tuple[int, int]] = []
    out: list[_RawDate] = []
    for shape, pattern in _DATE_PATTERNS:
        for m in pattern.finditer(text):
            if any(m.start() < e and s < m.end() for s, e in taken):
                continue
            line_start, _ = _line_bounds(text, m.start())
            before = text[max(line_start, m.start() - 80) : m.start()]
            cue: DateKind = "mentioned"
            cue_start = m.start()
            for kind, cue_re in _DATE_CUES:
                c = cue_re.search(before)
                if c is not None:
                    cue = kind
                    cue_start = m.start() - len(before) + c.start()
                    break
            parsed = _ymd(
                shape, m, english=cue != "mentioned" and bool(_ENGLISH_CUE.match(text[cue_start : m.start()]))
            )
            if parsed is None:
                continue
            year, month, day = parsed
            end = m.end()
            if shape in ("dmy", "mdy") and text[end - 1] == "." and m.group("m").casefold() in _FULL_MONTHS:
                end -= 1  # "le 2 janvier." ends a sentence; only "Dec." abbreviates
            time = None
            t = _TIME_AFTER.match(text, end)
            if t is not None and (year is not None or shape != "mdy"):
                time = _hour_minute(t)
                if time is not None:
                    end = t.end()
            taken.append((m.start(), end))
            out.append(_RawDate(m.start(), end, year, month, day, time, cue, cue_start))
    out.sort(key=lambda r: r.start)
    return out


def _ymd(shape: str, m: re.Match[str], *, english: bool) -> tuple[int | None, int, int] | None:
    year = int(m.group("y")) if m.group("y") else None
    if shape == "num":
        a, b = int(m.group("a")), int(m.group("b"))
        day, month = (a, b)
        if month > 12 or (english and a <= 12):
            day, month = b, a
        return year, month, day
    if shape == "iso":
        return year, int(m.group("m")), int(m.group("d"))
    named = _MONTH_NUMBER.get(m.group("m").casefold())
    if named is None:
        return None
    return year, named, int(m.group("d"))


def _hour_minute(t: re.Match[str]) -> tuple[int, int] | None:
    hour, minute = int(t.group("H")), int(t.group("M"))
    ap = (t.group("ap") or "").replace(".", "").lower()
    if ap:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ap == "pm" else 0)
    return hour, minute


def _iso(year: int, month: int, day: int, time: tuple[int, int] | None) -> str | None:
    try:
        value = _date(year, month, day)
    except ValueError:
        return None
    if time is None:
        return value.isoformat()
    return f"{value.isoformat()}T{time[0]:02d}:{time[1]:02d}"


def _reference_date(meta: str | None, raws: list[_RawDate]) -> _date | None:
    if meta is not None:
        return _date.fromisoformat(meta[:10])
    published = [
        _date(r.year, r.month, r.day)
        for r in raws
        if r.cue == "published" and r.year is not None and _iso(r.year, r.month, r.day, None)
    ]
    return min(published) if published else None


def _nearest_year(reference: _date, month: int, day: int) -> int | None:
    best: tuple[int, int] | None = None
    for year in (reference.year - 1, reference.year, reference.year + 1):
        try:
            distance = abs((_date(year, month, day) - reference).days)
        except ValueError:
            continue
        if best is None or distance < best[0]:
            best = (distance, year)
    return best[1] if best else None


def _parse_date_string(value: str) -> str | None:
    """Normalise a metadata date (ISO 8601, RFC 2822, or a text date) to ISO, or None."""
    value = value.strip()
    try:
        return _date.fromisoformat(value).isoformat()
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(value)
        return f"{parsed.date().isoformat()}T{parsed.hour:02d}:{parsed.minute:02d}"
    except ValueError:
        pass
    try:
        parsed = parsedate_to_datetime(value)
        return f"{parsed.date().isoformat()}T{parsed.hour:02d}:{parsed.minute:02d}"
    except (TypeError, ValueError, IndexError):
        pass
    # A text date ("27 décembre 2025", "Sat 27/12/2025 14:01 GMT"): one dated mention and
    # nothing else that looks like a number.
    raws = _raw_dates(value)
    if len(raws) != 1:
        return None
    raw = raws[0]
    if raw.year is None or re.search(r"\d", value[: raw.start] + value[raw.end :]):
        return None
    return _iso(raw.year, raw.month, raw.day, raw.time)
