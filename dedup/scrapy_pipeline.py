"""A Scrapy item pipeline that drops or tags reprints, syndicated copies and rewrites.

Install with ``pip install 'dedup[scrapy]'`` and enable it in ``settings.py``::

    ITEM_PIPELINES = {"dedup.scrapy_pipeline.SyndicationPipeline": 300}
    DEDUP_INDEX = "crawl/index.db"         # or "redis://host:6379/0" for a fleet of crawlers
    DEDUP_TEXT_FIELD = "text"              # the item field holding the article text
    DEDUP_ID_FIELD = "url"                 # the field giving each item a stable id
    DEDUP_ACTION = "drop"                  # or "tag"

Settings (defaults in brackets):

- ``DEDUP_INDEX`` (required): a SQLite path or a Redis URL (see :func:`dedup.store.open_index`);
- ``DEDUP_NAMESPACE`` [``"dedup"``]: the Redis namespace;
- ``DEDUP_TEXT_FIELD`` [``"text"``], ``DEDUP_ID_FIELD`` [``"url"``]: an item without text passes
  untouched; an item without an id gets the xxhash of its text;
- ``DEDUP_ACTION`` [``"drop"``]: ``"drop"`` raises :class:`scrapy.exceptions.DropItem` for an item
  whose status is in ``DEDUP_DROP_STATUSES`` [``["duplicate", "syndicated"]``] and passes every
  other item unchanged; ``"tag"`` keeps every item and sets ``dedup_status`` (``new``,
  ``duplicate``, ``syndicated``, ``rewrite`` or ``partial``) and ``dedup_matches`` (the earlier
  documents, as :meth:`dedup.store.Match.to_dict` without evidence). A ``scrapy.Item`` must
  declare those two fields; dict items get them freely;
- ``DEDUP_MATCH_LIMIT`` [5]: matches kept per item;
- ``DEDUP_CANDIDATES`` [None: ``max(4 * DEDUP_MATCH_LIMIT, max_bucket)``]: stored documents
  verified at most per item (``candidates`` of :meth:`~dedup.store.BaseSyndicationIndex.query`):
  fewer is faster when a story comes in hundreds of copies;
- ``DEDUP_VERIFY`` [``"full"``]: how candidates are verified (``verify`` of
  :meth:`~dedup.store.BaseSyndicationIndex.query`): ``"full"`` compares sentences (every
  status); ``"shingles"`` compares word n-grams only: duplicates and syndicated copies (what
  ``drop`` drops by default), while rewrites and partial reuse pass as ``new``; 4-5 times
  faster per item on a whole-text-only index, ~1.5 times with passage keys;
- ``DEDUP_CACHE_MB`` [None: 128] and ``DEDUP_PRELOAD`` [False] (SQLite only): the page cache
  of the pipeline's handle (``cache_mb`` of :class:`~dedup.store.SyndicationIndex`), and
  whether to read the band-key tables into it when the spider opens
  (:meth:`~dedup.store.SyndicationIndex.preload`). A crawl that meets a large index gives
  its handle room for the key tables: at a million whole-text-only articles (412 MB of
  keys), checks of fresh texts in batches ran 9-20 % faster with 512 and a preload.

Every item with text is checked and added (:meth:`~dedup.store.BaseSyndicationIndex.check`),
dropped ones included: a reprint seen tomorrow is still recognised. Counts go to the crawl
stats as ``dedup/new``, ``dedup/duplicate``, ... The index is local SQLite work or a few
Redis round trips per item, done in the reactor thread.
"""

from __future__ import annotations

import logging
from typing import Any

import xxhash

from dedup.errors import ConfigError
from dedup.store import (
    BaseSyndicationIndex,
    SyndicationIndex,
    Verdict,
    Verify,
    check_candidates,
    check_verify,
    open_index,
)
from dedup.types import Document

try:
    from itemadapter import ItemAdapter
    from scrapy.exceptions import DropItem, NotConfigured
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("dedup.scrapy_pipeline needs Scrapy: pip install 'dedup[scrapy]'") from exc

__all__ = ["SyndicationPipeline"]

log = logging.getLogger(__name__)

ACTIONS = ("drop", "tag")
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
STATUSES = ("new", "duplicate", "syndicated", "rewrite", "partial")


def _int_setting(settings: Any, name: str, default: int | None) -> Any:
    """An integer setting (as an int, or as text from the command line), else ``default``."""
    value = settings.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be an integer, got {value!r}") from None


class SyndicationPipeline:
    """Checks each item's text against a persistent syndication index (see module doc)."""

    def __init__(self, index: str, *, text_field: str = "text", id_field: str = "url", action: str = "drop",
                 drop_statuses: tuple[str, ...] = ("duplicate", "syndicated"), limit: int = 5,
                 candidates: int | None = None, verify: Verify = "full", namespace: str = "dedup",
                 cache_mb: int | None = None, preload: bool = False, stats: Any = None) -> None:
        if action not in ACTIONS:
            raise ConfigError(f"DEDUP_ACTION must be one of {', '.join(ACTIONS)}, got {action!r}")
        unknown = [s for s in drop_statuses if s not in STATUSES[1:]]
        if unknown:
            raise ConfigError(f"DEDUP_DROP_STATUSES must be among {', '.join(STATUSES[1:])}, got {unknown!r}")
        if not isinstance(limit, int) or limit < 1:
            raise ConfigError(f"DEDUP_MATCH_LIMIT must be an integer >= 1, got {limit!r}")
        try:
            self.candidates = check_candidates(candidates)
        except ConfigError as exc:
            raise ConfigError(f"DEDUP_CANDIDATES: {exc}") from None
        try:
            check_verify(verify)
        except ConfigError as exc:
            raise ConfigError(f"DEDUP_VERIFY: {exc}") from None
        self.verify: Verify = verify
        self.location = index
        is_redis = index.startswith(_REDIS_SCHEMES)
        if cache_mb is not None and is_redis:
            raise ConfigError("DEDUP_CACHE_MB applies to a SQLite index, not to a Redis one")
        if cache_mb is not None and (isinstance(cache_mb, bool) or not isinstance(cache_mb, int) or cache_mb < 1):
            raise ConfigError(f"DEDUP_CACHE_MB must be an integer >= 1 (MiB), got {cache_mb!r}")
        if preload and is_redis:
            raise ConfigError("DEDUP_PRELOAD applies to a SQLite index, not to a Redis one")
        self.cache_mb = cache_mb
        self.preload = bool(preload)
        self.text_field = text_field
        self.id_field = id_field
        self.action = action
        self.drop_statuses = frozenset(drop_statuses)
        self.limit = limit
        self.namespace = namespace
        self.stats = stats
        self.index: BaseSyndicationIndex | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> SyndicationPipeline:
        settings = crawler.settings
        location = settings.get("DEDUP_INDEX")
        if not location:
            raise NotConfigured("set DEDUP_INDEX to a SQLite path or a redis:// URL to enable SyndicationPipeline")
        return cls(
            str(location),
            text_field=settings.get("DEDUP_TEXT_FIELD", "text"),
            id_field=settings.get("DEDUP_ID_FIELD", "url"),
            action=settings.get("DEDUP_ACTION", "drop"),
            drop_statuses=tuple(settings.getlist("DEDUP_DROP_STATUSES", ["duplicate", "syndicated"])),
            limit=_int_setting(settings, "DEDUP_MATCH_LIMIT", 5),
            candidates=_int_setting(settings, "DEDUP_CANDIDATES", None),
            verify=settings.get("DEDUP_VERIFY", "full"),
            namespace=settings.get("DEDUP_NAMESPACE", "dedup"),
            cache_mb=_int_setting(settings, "DEDUP_CACHE_MB", None),
            preload=settings.getbool("DEDUP_PRELOAD", False),
            stats=crawler.stats,
        )

    def open_spider(self, spider: Any = None) -> None:
        options: dict[str, Any] = {}
        if self.location.startswith(_REDIS_SCHEMES):
            options["namespace"] = self.namespace
        elif self.cache_mb is not None:
            options["cache_mb"] = self.cache_mb
        self.index = index = open_index(self.location, None, **options)
        log.info("syndication index %s opened (%d documents)", self.location, len(index))
        if self.preload and isinstance(index, SyndicationIndex):  # the key tables into its cache
            log.info("syndication index: %d band keys preloaded", index.preload())

    def close_spider(self, spider: Any = None) -> None:
        if self.index is not None:
            self.index.close()
            self.index = None

    def process_item(self, item: Any, spider: Any = None) -> Any:
        if self.index is None:
            raise RuntimeError("SyndicationPipeline.process_item called before open_spider")
        adapter = ItemAdapter(item)
        text = adapter.get(self.text_field)
        if not isinstance(text, str) or not text.strip():
            self._count("no_text")
            return item
        doc_id = adapter.get(self.id_field)
        doc_id = str(doc_id) if doc_id else f"xxh64:{xxhash.xxh64_hexdigest(text.encode('utf-8'))}"
        document = Document(doc_id, text, url=_text(adapter.get("url")), title=_text(adapter.get("title")),
                            date=_text(adapter.get("date")), source=_text(adapter.get("source")))
        verdict = self.index.check(document, limit=self.limit, candidates=self.candidates, verify=self.verify)
        self._count(verdict.status)
        if self.action == "drop":
            if verdict.status in self.drop_statuses and verdict.best is not None:
                best = verdict.best
                raise DropItem(f"{verdict.status} of {best.id}: {best.reason}")
            return item
        _tag(adapter, verdict)
        return item

    def _count(self, status: str) -> None:
        if self.stats is not None:
            self.stats.inc_value(f"dedup/{status}")


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _tag(adapter: Any, verdict: Verdict) -> None:
    matches = []
    for m in verdict.matches:
        data = m.to_dict()
        data.pop("evidence", None)
        matches.append(data)
    try:
        adapter["dedup_status"] = verdict.status
        adapter["dedup_matches"] = matches
    except KeyError as exc:
        raise ConfigError(
            f"DEDUP_ACTION = 'tag' needs the item to accept dedup_status and dedup_matches: declare them "
            f"as fields of {type(adapter.item).__name__} ({exc})"
        ) from exc
