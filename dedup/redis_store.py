"""The syndication index on a Redis server: one index shared by crawlers on several hosts.

Same API as :class:`dedup.store.SyndicationIndex` (``pip install 'dedup[redis]'``)::

    from dedup.redis_store import RedisSyndicationIndex

    with RedisSyndicationIndex("redis://cache:6379/0", namespace="news") as index:
        verdict = index.check(Document(url, text, url=url))

Layout under the namespace ``ns`` (no pickle; band keys and word ids are signed 64-bit
integers, stored as 8 little-endian bytes, in key names too; documents get an integer handle,
in the order they are added):

- ``ns:meta`` (hash): ``format``, ``config`` (ScanConfig as JSON), ``created``, ``dedup_version``;
  an index written under another format or configuration is refused;
- ``ns:ids`` (hash): id -> handle;
- ``ns:doc:<handle>`` (hash): ``id``, ``body`` (the text and what verification reads,
  encoded as in the SQLite index, :func:`dedup.store.encode_body`), ``language``,
  ``added``, optional ``url``/``title``/``date``/``source``/``path``, and the document's own
  ``dkeys``/``pkeys`` (its band keys) and ``words`` (its content words' ids), so a removal can
  undo its add;
- ``ns:dk:<key>`` and ``ns:pk:<key>`` (sets of handles, which Redis keeps as compact integer
  sets up to ``set-max-intset-entries`` members, 512 by default): one per whole-text and
  passage band key;
- ``ns:added`` (sorted set id -> unix seconds): length and eviction;
- ``ns:df:<language>`` (hash word id -> documents), ``ns:langs`` (hash language -> documents),
  ``ns:counts`` (hash: stored key entries, the last handle given).

Adding and removing a document are Lua scripts, so each is atomic on the server; a batch of
``add_many`` is one ``MULTI``/``EXEC`` transaction, so other clients see all of it or none.
:meth:`RedisSyndicationIndex.check` is optimistic: it ``WATCH``-es the band-key sets of the
document (a text without any has none to watch), queries, then adds in ``MULTI``/``EXEC``;
when another client changed one of those sets in between (a related document arrived), it
starts again. The scripts name keys they
compute, so the index runs on a single Redis server (or a primary with replicas), not on
Redis Cluster.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from dedup import __version__
from dedup.config import ScanConfig
from dedup.errors import StoreError
from dedup.store import (
    BaseSyndicationIndex,
    Entry,
    Match,
    Progress,
    ReaderSpec,
    Stored,
    StoredShingles,
    Verify,
    check_format,
    decode_body,
    decode_shingles,
    encode_body,
    eviction_cutoff,
    resolve_config,
    unique_by_id,
)
from dedup.types import Document

__all__ = ["FORMAT_VERSION", "RedisSyndicationIndex"]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Version of the Redis layout (the SQLite one, :data:`dedup.store.FORMAT_VERSION`, moves
#: separately); a namespace written under another version is refused, except those of
#: :data:`_UPGRADABLE`.
#: 4: bodies keep their word n-gram hashes ahead of the zlib stream (format 8 of the SQLite
#: index, :func:`dedup.store.encode_body`); version 3 bodies stay readable, so opening one
#: only marks it.
#: 3: integer handles in the band-key sets, keys and word ids as 8 bytes, the text and its
#: features in one compressed body (about a third of version 2's memory).
#: 2: verification features stored, document frequencies keyed by word id (1: prepared
#: sentences as JSON, words as text).
FORMAT_VERSION = 4
#: Versions this one reads and marks as its own when it opens them.
_UPGRADABLE = {"3"}
_CHECK_ATTEMPTS = 50
_EVICT_CHUNK = 500
_DOC_FIELDS = ("url", "title", "date", "source", "path")

_REMOVE_FUNCTION = r"""
-- stored key entries, given in bytes (8 per key); integer strings, never a Lua number such as
-- -0, which HINCRBY refuses
local function count(ns, name, bytes)
  if bytes ~= 0 then redis.call('HINCRBY', ns .. ':counts', name, string.format('%d', bytes / 8)) end
end
local function remove_doc(ns, id)
  local ids = ns .. ':ids'
  local h = redis.call('HGET', ids, id)
  if not h then return 0 end
  local dockey = ns .. ':doc:' .. h
  local old = redis.call('HMGET', dockey, 'dkeys', 'pkeys', 'words', 'language')
  local dk, pk, words, lang = old[1] or '', old[2] or '', old[3] or '', old[4] or ''
  for i = 1, #dk, 8 do redis.call('SREM', ns .. ':dk:' .. string.sub(dk, i, i + 7), h) end
  count(ns, 'doc_keys', -#dk)
  for i = 1, #pk, 8 do redis.call('SREM', ns .. ':pk:' .. string.sub(pk, i, i + 7), h) end
  count(ns, 'passage_keys', -#pk)
  local df = ns .. ':df:' .. lang
  for i = 1, #words, 8 do
    local w = string.sub(words, i, i + 7)
    if redis.call('HINCRBY', df, w, -1) <= 0 then redis.call('HDEL', df, w) end
  end
  if redis.call('HINCRBY', ns .. ':langs', lang, -1) <= 0 then redis.call('HDEL', ns .. ':langs', lang) end
  redis.call('ZREM', ns .. ':added', id)
  redis.call('HDEL', ids, id)
  redis.call('DEL', dockey)
  return 1
end
"""

# ARGV: ns, id, added, language, dkeys, pkeys, words (8 bytes each), then field, value, ... of
# the document
_ADD_SCRIPT = _REMOVE_FUNCTION + r"""
local ns, id, added, lang = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local dk, pk, words = ARGV[5], ARGV[6], ARGV[7]
local replaced = remove_doc(ns, id)
local h = string.format('%d', redis.call('HINCRBY', ns .. ':counts', 'handle', 1))
redis.call('HSET', ns .. ':ids', id, h)
local dockey = ns .. ':doc:' .. h
redis.call('HSET', dockey, 'id', id, 'added', added, 'language', lang, 'dkeys', dk, 'pkeys', pk, 'words', words)
for i = 8, #ARGV, 2 do redis.call('HSET', dockey, ARGV[i], ARGV[i + 1]) end
for i = 1, #dk, 8 do redis.call('SADD', ns .. ':dk:' .. string.sub(dk, i, i + 7), h) end
count(ns, 'doc_keys', #dk)
for i = 1, #pk, 8 do redis.call('SADD', ns .. ':pk:' .. string.sub(pk, i, i + 7), h) end
count(ns, 'passage_keys', #pk)
local df = ns .. ':df:' .. lang
for i = 1, #words, 8 do redis.call('HINCRBY', df, string.sub(words, i, i + 7), 1) end
redis.call('HINCRBY', ns .. ':langs', lang, 1)
redis.call('ZADD', ns .. ':added', added, id)
return replaced
"""

_REMOVE_SCRIPT = _REMOVE_FUNCTION + "return remove_doc(ARGV[1], ARGV[2])\n"

# ARGV: namespace, the whole-text keys, the passage keys (8 bytes each), max_bucket,
# passage_max_bucket. The hits of a query, counted here by dedup.store.passage_hits' rule (a
# passage set of more than passage_max_bucket documents gives a hit to its largest handle, the
# newest document, only; one of max_bucket or more none), as JSON: [handle, whole-text hits,
# passage hits, ...]. One command of five arguments and one string back, instead of a command
# per key and every member of every set: the client's packing and parsing of those was most
# of a query's time
_LOOKUP_SCRIPT = """
local ns, dk, pk, cap, small = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local doc_hits, passage_hits, order = {}, {}, {}
local function hit(h, doc, passage)
  if doc_hits[h] == nil then
    doc_hits[h], passage_hits[h] = 0, 0
    order[#order + 1] = h
  end
  doc_hits[h] = doc_hits[h] + doc
  passage_hits[h] = passage_hits[h] + passage
end
for i = 1, #dk, 8 do
  for _, h in ipairs(redis.call('SMEMBERS', ns .. ':dk:' .. string.sub(dk, i, i + 7))) do hit(h, 1, 0) end
end
for i = 1, #pk, 8 do
  local key = ns .. ':pk:' .. string.sub(pk, i, i + 7)
  local n = redis.call('SCARD', key)
  if n > 0 and (n <= small or n < cap) then
    local members = redis.call('SMEMBERS', key)
    if n > small then
      local largest = members[1]
      for _, h in ipairs(members) do if tonumber(h) > tonumber(largest) then largest = h end end
      members = {largest}
    end
    for _, h in ipairs(members) do hit(h, 0, 1) end
  end
end
if #order == 0 then return '[]' end
local out = {}
for _, h in ipairs(order) do
  out[#out + 1] = h
  out[#out + 1] = doc_hits[h]
  out[#out + 1] = passage_hits[h]
end
return cjson.encode(out)
"""

# ARGV: namespace, then language and word ids (8 bytes each) for each language. How many
# documents of that language hold each word, space-separated, per language; then the
# documents per language (HGETALL of langs). One command and a few strings back, instead of
# an argument and a reply item per word (~600 per query)
_FREQUENCIES_SCRIPT = """
local ns = ARGV[1]
local out = {}
for i = 2, #ARGV, 2 do
  local df, counts, words = ns .. ':df:' .. ARGV[i], {}, ARGV[i + 1]
  for j = 1, #words, 8 do counts[#counts + 1] = redis.call('HGET', df, string.sub(words, j, j + 7)) or '0' end
  out[#out + 1] = table.concat(counts, ' ')
end
out[#out + 1] = redis.call('HGETALL', ns .. ':langs')
return out
"""

# ARGV: namespace, id. The fields of the document stored under the id (none if there is none),
# read at once: a replacement in between could not leave the id pointing nowhere
_GET_SCRIPT = """
local h = redis.call('HGET', ARGV[1] .. ':ids', ARGV[2])
if not h then return {} end
return redis.call('HGETALL', ARGV[1] .. ':doc:' .. h)
"""

# KEYS[1]: the meta hash; ARGV: field, value, ... written only if the index does not exist yet
_INIT_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('HSET', KEYS[1], unpack(ARGV)) end
return redis.call('HGETALL', KEYS[1])
"""


def _packed(values: np.ndarray) -> bytes:
    """Signed 64-bit integers as the scripts read them: 8 little-endian bytes each."""
    return np.ascontiguousarray(values, dtype="<i8").tobytes()


def _text(value: bytes | str) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _redacted(url: str) -> str:
    """The URL without its password (for messages and stats)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit((parts.scheme, user + netloc, parts.path, parts.query, parts.fragment))


class RedisSyndicationIndex(BaseSyndicationIndex):
    """A syndication index under ``namespace`` on the Redis server at ``url``.

    ``config=None`` uses the stored configuration (or the default for a new index); any other
    configuration must agree with the stored one (see :func:`dedup.store.resolve_config`).
    ``create=False`` refuses a namespace that holds no index yet.
    """

    def __init__(self, url: str, config: ScanConfig | None = None, *, namespace: str = "dedup",
                 create: bool = True) -> None:
        try:
            import redis
        except ImportError as exc:
            raise StoreError("the Redis backend needs the redis package: pip install 'dedup[redis]'") from exc
        if not namespace or any(c.isspace() or c == ":" for c in namespace):
            # with a ':', one namespace's keys would match another's pattern (clear() of "a"
            # would delete "a:b")
            raise StoreError(f"namespace must be a non-empty string without spaces or ':', got {namespace!r}")
        self.url = _redacted(url)
        self._url = url  # with its password, for worker processes (query_many)
        self._closed = False
        self.namespace = namespace
        self._errors = redis.exceptions
        where = f"Redis index {namespace!r} at {self.url}"
        try:
            # replies as bytes: bodies, keys and word ids are binary
            self._redis = redis.Redis.from_url(url)
            self._redis.ping()
        except (redis.exceptions.RedisError, ValueError) as exc:
            raise StoreError(f"cannot reach Redis at {self.url}: {exc}") from exc
        self._add_script = self._redis.register_script(_ADD_SCRIPT)
        self._remove_script = self._redis.register_script(_REMOVE_SCRIPT)
        self._lookup_script = self._redis.register_script(_LOOKUP_SCRIPT)
        self._frequencies_script = self._redis.register_script(_FREQUENCIES_SCRIPT)
        self._get_script = self._redis.register_script(_GET_SCRIPT)
        meta_key = self._key("meta")
        try:
            if not create and not self._redis.exists(meta_key):
                raise StoreError(f"no index {namespace!r} at {self.url}")
            values = {"format": str(FORMAT_VERSION), "config": json.dumps((config or ScanConfig()).to_dict()),
                      "created": repr(time.time()), "dedup_version": __version__}
            flat = [x for kv in values.items() for x in kv]
            reply = self._redis.register_script(_INIT_SCRIPT)(keys=[meta_key], args=flat)
        except redis.exceptions.RedisError as exc:
            raise StoreError(f"{where}: {exc}") from exc
        meta = {_text(k): _text(v) for k, v in zip(reply[::2], reply[1::2], strict=True)}
        if meta.get("format") not in _UPGRADABLE:
            check_format(meta.get("format"), where, FORMAT_VERSION)
        try:
            stored = json.loads(meta["config"])
        except (KeyError, ValueError) as exc:
            raise StoreError(f"{where}: stored configuration is missing or unreadable") from exc
        self._init_core(resolve_config(stored, config, where))
        if meta["format"] in _UPGRADABLE:  # once the configuration is accepted
            try:
                self._redis.hset(meta_key, "format", str(FORMAT_VERSION))
            except redis.exceptions.RedisError as exc:
                raise StoreError(f"{where}: {exc}") from exc

    def _key(self, *parts: str | bytes) -> bytes:
        return b":".join(p.encode("utf-8") if isinstance(p, str) else p for p in (self.namespace, *parts))

    def _encode(self, entry: Entry) -> Entry:
        # compressing is the costly part of an add: done before the transaction
        return Entry(entry.doc, entry.prepared, entry.features, entry.doc_keys, entry.passage_keys, entry.words,
                     entry.added, encode_body(entry.doc.text, entry.features))

    def _add_args(self, entry: Entry) -> list[str | bytes]:
        d = entry.doc
        body = entry.payload if isinstance(entry.payload, bytes) else encode_body(d.text, entry.features)
        args: list[str | bytes] = [self.namespace, d.id, repr(entry.added), entry.language or "",
                                   _packed(entry.doc_keys), _packed(entry.passage_keys), _packed(entry.words),
                                   "body", body]
        for name in _DOC_FIELDS:
            value = getattr(d, name)
            if value:
                args += [name, value]
        return args

    # -- writing -------------------------------------------------------------------------

    def add_many(self, documents: Iterable[Document], batch_size: int = 500, *, added: float | None = None,
                 progress: Progress | None = None, jobs: int | None = 1) -> int:
        """Add documents in batches, each one ``MULTI``/``EXEC`` transaction; ids replace.
        ``jobs`` > 1 (0: one per core) prepares batches on worker processes."""
        self._check_open()
        count = 0
        for prepared in self._prepared_batches(documents, batch_size, added, jobs):
            entries = unique_by_id(prepared)
            try:
                with self._redis.pipeline(transaction=True) as pipe:
                    for e in entries:
                        self._add_script(args=self._add_args(e), client=pipe)
                    pipe.execute()
            except self._errors.RedisError as exc:
                raise StoreError(f"Redis index {self.namespace!r}: {exc}") from exc
            count += len(prepared)
            if progress is not None:
                progress("add", count, 0)
        return count

    def _check_entries(self, entries: Sequence[Entry], *, limit: int, align: bool,
                       candidates: int | None, verify: Verify) -> list[list[Match]]:
        """Each entry queried, then added, under ``WATCH`` of its keys: retried when a related
        document arrives in between."""
        self._check_open()
        return [self._check_entry(e, limit=limit, align=align, candidates=candidates, verify=verify)
                for e in entries]

    def _check_entry(self, entry: Entry, *, limit: int, align: bool, candidates: int | None,
                     verify: Verify) -> list[Match]:
        doc_id = entry.doc.id
        # a write under the same id changes no answer (a document never matches its own id)
        watched = [self._key("dk", k) for k in _keys(entry.doc_keys)]
        watched += [self._key("pk", k) for k in _keys(entry.passage_keys)]
        try:
            for attempt in range(_CHECK_ATTEMPTS):
                with self._redis.pipeline(transaction=True) as pipe:
                    try:
                        if watched:  # a text without band keys can meet no other document
                            pipe.watch(*watched)
                        # reads go through other connections; the WATCH on this one still sees
                        # every write made to the watched keys by anyone
                        matches = self._matches(self._redis, entry, limit=limit, align=align, exclude=doc_id,
                                                candidates=candidates, verify=verify)
                        pipe.multi()
                        self._add_script(args=self._add_args(entry), client=pipe)
                        pipe.execute()
                        return matches
                    except self._errors.WatchError:
                        log.debug("check of %s raced another writer (attempt %d), again", doc_id, attempt + 1)
        except self._errors.RedisError as exc:
            raise StoreError(f"Redis index {self.namespace!r}: {exc}") from exc
        raise StoreError(f"check of {doc_id!r} kept racing other writers ({_CHECK_ATTEMPTS} attempts)")

    def remove(self, doc_id: str) -> bool:
        return bool(self._call(lambda: self._remove_script(args=[self.namespace, doc_id])))

    def evict(self, older_than_seconds: float | None = None, *, before: float | None = None,
              now: float | None = None) -> int:
        """Remove the documents added before ``before``, or more than ``older_than_seconds`` ago."""
        cutoff = eviction_cutoff(older_than_seconds, before, now)
        removed = 0
        while True:
            ids = self._call(lambda: self._redis.zrangebyscore(self._key("added"), "-inf", f"({cutoff!r}",
                                                               start=0, num=_EVICT_CHUNK))
            if not ids:
                break

            def run(ids: list[str] = ids) -> list[Any]:
                with self._redis.pipeline(transaction=True) as pipe:
                    for doc_id in ids:
                        self._remove_script(args=[self.namespace, doc_id], client=pipe)
                    return pipe.execute()

            removed += sum(int(x) for x in self._call(run))
        log.info("evicted %d document(s) added before %s from Redis index %r", removed, cutoff, self.namespace)
        return removed

    # -- reading -------------------------------------------------------------------------

    def _lookup(self, reader: Any, entry: Entry) -> dict[Any, list[int]]:
        if not len(entry.doc_keys) and not len(entry.passage_keys):
            return {}
        config = self.config
        reply = json.loads(self._lookup_script(
            args=[self.namespace, _packed(entry.doc_keys), _packed(entry.passage_keys), config.max_bucket,
                  config.passage_max_bucket],
            client=reader))
        return {int(reply[i]): [reply[i + 1], reply[i + 2]] for i in range(0, len(reply), 3)}

    def _load(self, reader: Any, handles: Sequence[Any]) -> list[Stored]:
        return [_stored(fields) for fields in self._hashes(reader, handles) if fields]

    def _load_shingles(self, reader: Any, handles: Sequence[Any]) -> list[StoredShingles]:
        out = []
        for fields in self._hashes(reader, handles):
            if fields:
                doc = _document(fields, "")  # its metadata: the text is not decoded
                out.append(StoredShingles(doc.id, decode_shingles(fields[b"body"]), float(fields.get(b"added", 0.0)),
                                          doc.url, doc.title, doc.date, doc.source))
        return out

    def _hashes(self, reader: Any, handles: Sequence[Any]) -> list[dict[bytes, bytes]]:
        """The document hashes of ``handles``, in order (empty where gone)."""
        pipe = reader.pipeline(transaction=False)
        for handle in handles:
            pipe.hgetall(self._key("doc", str(handle)))
        return cast(list[dict[bytes, bytes]], pipe.execute())

    def _frequencies(self, reader: Any, needed: Mapping[str | None, np.ndarray]
                     ) -> tuple[dict[str | None, np.ndarray], dict[str | None, int]]:
        order = [(lang, ids) for lang, ids in needed.items() if len(ids)]
        args: list[str | bytes] = [self.namespace]
        for lang, ids in order:
            args += [lang or "", _packed(ids)]
        replies = self._frequencies_script(args=args, client=reader)
        df = {lang: np.zeros(len(ids), dtype=np.int64) for lang, ids in needed.items()}
        for (lang, _), counts in zip(order, replies, strict=False):
            df[lang] = np.array([int(n) for n in counts.split()], dtype=np.int64)
        langs = replies[-1]
        totals = {(_text(lang) or None): int(n) for lang, n in zip(langs[::2], langs[1::2], strict=True)}
        return df, totals

    def _read(self, work: Callable[[Any], T]) -> T:
        return cast(T, self._call(lambda: work(self._redis)))

    def _reader_spec(self) -> ReaderSpec:
        self._check_open()
        return ReaderSpec(self._url, json.dumps(self.config.to_dict()),
                          (("create", False), ("namespace", self.namespace)))

    def get(self, doc_id: str) -> Document | None:
        reply = self._call(lambda: self._get_script(args=[self.namespace, doc_id]))
        return _stored(dict(zip(reply[::2], reply[1::2], strict=True))).doc if reply else None

    def ids(self) -> list[str]:
        """Stored ids, oldest first."""
        return [_text(i) for i in self._call(lambda: self._redis.zrange(self._key("added"), 0, -1))]

    def __len__(self) -> int:
        return int(self._call(lambda: self._redis.zcard(self._key("added"))))

    def __contains__(self, doc_id: object) -> bool:
        if not isinstance(doc_id, str):
            return False
        return bool(self._call(lambda: self._redis.hexists(self._key("ids"), doc_id)))

    def stats(self) -> dict[str, Any]:
        """Documents, stored band keys, languages, time range, server memory and configuration.

        ``memory_bytes`` is the whole Redis server's ``used_memory`` (a namespace has no size).
        """
        def run() -> dict[str, Any]:
            pipe = self._redis.pipeline(transaction=True)
            pipe.zcard(self._key("added"))
            pipe.hgetall(self._key("counts"))
            pipe.hgetall(self._key("langs"))
            pipe.zrange(self._key("added"), 0, 0, withscores=True)
            pipe.zrange(self._key("added"), -1, -1, withscores=True)
            documents, counts, langs, first, last = pipe.execute()
            counts = {_text(k): int(v) for k, v in counts.items()}
            langs = {_text(k): int(v) for k, v in langs.items()}
            words = 0
            for lang in langs:
                words += int(self._redis.hlen(self._key("df", lang)))
            return {
                "backend": "redis",
                "url": self.url,
                "namespace": self.namespace,
                "format": FORMAT_VERSION,
                "documents": int(documents),
                "doc_keys": int(counts.get("doc_keys", 0)),
                "passage_keys": int(counts.get("passage_keys", 0)),
                "words": words,
                "languages": {(lang or "unknown"): int(n) for lang, n in sorted(langs.items())},
                "oldest": first[0][1] if first else None,
                "newest": last[0][1] if last else None,
                "memory_bytes": int(self._redis.info("memory").get("used_memory", 0)),
            }

        out = self._call(run)
        out["config"] = self.config.to_dict()
        return out

    def clear(self) -> int:
        """Delete every key of this namespace, configuration included; returns how many."""
        def run() -> int:
            deleted = 0
            batch: list[bytes] = []
            for key in self._redis.scan_iter(match=_glob_escaped(self.namespace) + ":*", count=1000):
                batch.append(key)
                if len(batch) >= 1000:
                    deleted += int(self._redis.delete(*batch))
                    batch = []
            if batch:
                deleted += int(self._redis.delete(*batch))
            return deleted

        return self._call(run)

    def close(self) -> None:
        self._closed = True
        self._redis.close()

    def _check_open(self) -> None:
        # redis-py would reconnect a closed client: a closed index refuses, as SQLite's does
        if self._closed:
            raise StoreError(f"Redis index {self.namespace!r} at {self.url} is closed")

    def _call(self, step: Any) -> Any:
        self._check_open()
        try:
            return step()
        except self._errors.RedisError as exc:
            raise StoreError(f"Redis index {self.namespace!r} at {self.url}: {exc}") from exc

    def __repr__(self) -> str:
        return f"RedisSyndicationIndex({self.url!r}, namespace={self.namespace!r})"


def _keys(keys: np.ndarray) -> list[bytes]:
    """Band keys as they are named in Redis: 8 little-endian bytes each."""
    packed = _packed(keys)
    return [packed[i:i + 8] for i in range(0, len(packed), 8)]


def _glob_escaped(text: str) -> str:
    """``text`` matched literally by a Redis glob pattern."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def _stored(fields: Mapping[bytes, bytes]) -> Stored:
    text, features = decode_body(fields[b"body"])
    return Stored(_document(fields, text), features, float(fields.get(b"added", 0.0)))


def _document(fields: Mapping[bytes, bytes], text: str) -> Document:
    extra = {name: _text(fields[name.encode()]) for name in _DOC_FIELDS if name.encode() in fields}
    return Document(_text(fields[b"id"]), text, path=extra.get("path", ""), title=extra.get("title") or None,
                    url=extra.get("url") or None, date=extra.get("date") or None, source=extra.get("source") or None)
