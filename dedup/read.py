"""Read articles from files and folders: plain text, Markdown, HTML, JSON, JSON Lines and WARC.

The reader turns inputs into :class:`~dedup.types.Document` values and never stops a run
for one bad input: anything it cannot read becomes a :class:`~dedup.types.Skipped` with a
specific reason. Plain text is never rewritten (only a leading byte order mark is dropped),
because downstream offsets are Python string indices into ``Document.text``.

WARC files (``.warc``, ``.warc.gz``, and the older ``.arc``/``.arc.gz``) are streamed record
by record with warcio (the optional extra ``dedup[warc]``): each HTML page fetched with HTTP
status 200 becomes a Document; other records (requests, metadata, PDFs, redirects, errors)
are not articles and are ignored without a Skipped, only counted (see ``counts``).

Example::

    >>> for item in iter_documents(["corpus/"]):          # doctest: +SKIP
    ...     if isinstance(item, Skipped):
    ...         print("skipped", item.path, item.reason)
    ...     else:
    ...         print(item.id, len(item.text))
"""

from __future__ import annotations

import codecs
import json
import logging
import os
import re
import stat
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from charset_normalizer import from_bytes
from selectolax.lexbor import LexborHTMLParser, LexborNode

from dedup.errors import ConfigError, DedupError, InputError
from dedup.types import Document, Skipped

__all__ = [
    "DEFAULT_MAX_BYTES",
    "SUPPORTED_EXTENSIONS",
    "TEXT_FIELDS",
    "WARC_EXTENSIONS",
    "html_to_text",
    "iter_documents",
    "read_file",
]

logger = logging.getLogger(__name__)

WARC_EXTENSIONS: frozenset[str] = frozenset({".warc", ".warc.gz", ".arc", ".arc.gz"})
SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(
    {".txt", ".md", ".html", ".htm", ".json", ".jsonl"} | WARC_EXTENSIONS
)
TEXT_FIELDS: tuple[str, ...] = ("text", "body", "content")
# Always tried after the caller's text fields: common names in news-crawl dumps.
FALLBACK_TEXT_FIELDS: tuple[str, ...] = ("article", "maintext")
DEFAULT_MAX_BYTES = 50 * 1024 * 1024

# JSON record keys for each Document attribute, in order of preference.
_RECORD_KEYS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("title", ("title", "headline")),
    ("url", ("url", "link")),
    ("date", ("date", "published", "published_at", "pubdate")),
    ("source", ("source", "site", "publisher")),
)

_BINARY_SNIFF_BYTES = 8 * 1024
_CHARSET_SNIFF_BYTES = 4 * 1024
_UTF8_BOM = codecs.BOM_UTF8
# Longest first: the UTF-32-LE BOM starts with the UTF-16-LE one.
_WIDE_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_META_ORIGIN = "the page's <meta charset>"
_HTTP_ORIGIN = "the HTTP Content-Type header"
# WHATWG: pages labelled Latin-1 or ASCII are decoded as windows-1252 by every browser.
_PREFERRED_LEGACY = "cp1252"
_WHATWG_ALIASES: Mapping[str, str] = {"iso8859_1": "cp1252", "ascii": "cp1252"}

_DROPPED_TAGS: tuple[str, ...] = tuple(
    "head title script style noscript template svg nav header footer aside form iframe".split()
)
# Blocks that start a paragraph (a blank line around them) ...
_PARAGRAPH_TAGS: frozenset[str] = frozenset(
    "p div h1 h2 h3 h4 h5 h6 article section blockquote main ul ol dl table pre figure"
    " figcaption hr address".split()
)
# ... and blocks that only start a new line.
_LINE_TAGS: frozenset[str] = frozenset("br li tr td th dt dd caption".split())
# Break strengths between blocks: a blank line beats a newline beats nothing.
_NO_BREAK, _LINE, _PARAGRAPH = 0, 1, 2
_SPACES = re.compile(r"\s+")

WARC_NOT_INSTALLED = "reading WARC files needs warcio: install dedup[warc]"
_HTML_TYPES: frozenset[str] = frozenset({"text/html", "application/xhtml+xml"})
_HTTP_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
# Payloads without a content type are taken for HTML if they start like a page.
_HTML_START = re.compile(rb"""\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b""", re.I | re.S)
# Blank lines after the last record of an uncompressed WARC are padding, not damage.
_TRAILER_BYTES = 64


class _Skip(DedupError):
    """Internal: the input is skipped for ``reason``; never leaves this module."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class _Decoded:
    """Decoded text of a file, the encoding used and what was odd about it."""

    text: str
    encoding: str = "utf-8"
    warnings: tuple[str, ...] = ()

    def meta(self) -> dict[str, Any]:
        """``encoding``/``warnings`` entries for ``Document.meta`` (empty for plain UTF-8)."""
        if self.encoding == "utf-8" and not self.warnings:
            return {}
        out: dict[str, Any] = {"encoding": self.encoding}
        if self.warnings:
            out["warnings"] = self.warnings
        return out


# ---------------------------------------------------------------------------------------
# Walking inputs


def iter_documents(
    paths: Iterable[str | os.PathLike[str]],
    *,
    text_fields: Sequence[str] = TEXT_FIELDS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    counts: Counter[str] | None = None,
) -> Iterator[Document | Skipped]:
    """Yield a Document per article (or a Skipped) from files and folders, in a stable order.

    Folders are walked recursively in sorted order; names starting with ``.`` are ignored
    inside folders. Ids are relative to the folder given (``sub/a.txt``) or, for a file
    argument, the path as given. An id already produced in this run is prefixed with its
    folder argument (``b/x.txt``), then suffixed ``~2``, ``~3`` if it still collides.
    WARC records are yielded as they are read: a WARC file is never held in memory.

    Raises :class:`InputError` at once if a path does not exist at all; every other
    problem becomes a ``Skipped``. ``counts``, if given, receives the WARC record counts
    (see :func:`read_file`).

    >>> docs = list(iter_documents(["corpus"]))               # doctest: +SKIP
    >>> [d.id for d in docs]                                  # doctest: +SKIP
    ['a.txt', 'sub/b.jsonl#L1', 'sub/b.jsonl#L2']
    """
    _check_max_bytes(max_bytes)
    roots = _existing_roots(paths)
    return _iter_roots(roots, text_fields=text_fields, max_bytes=max_bytes, counts=counts)


def _existing_roots(paths: Iterable[str | os.PathLike[str]]) -> list[str]:
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    roots = [os.fspath(p) for p in paths]
    missing = [r for r in roots if not os.path.lexists(r)]
    if missing:
        raise InputError(f"input path does not exist: {', '.join(map(repr, missing))}")
    return roots


def _iter_roots(
    roots: list[str], *, text_fields: Sequence[str], max_bytes: int, counts: Counter[str] | None
) -> Iterator[Document | Skipped]:
    used_file_ids: set[str] = set()
    used_doc_ids: set[str] = set()
    for root in roots:
        # A file argument's id is already its path as given: nothing to prefix.
        prefix = _folder_label(root) if os.path.isdir(root) else ""
        for entry in _iter_root_files(root):
            if isinstance(entry, Skipped):
                yield entry
                continue
            path, file_id = entry
            file_id = _unique_id(file_id, used_file_ids, prefix=prefix)
            used_file_ids.add(file_id)
            for item in _read_path(
                path, file_id, text_fields=text_fields, max_bytes=max_bytes, counts=counts
            ):
                if isinstance(item, Document):
                    item = replace(item, id=_unique_id(item.id, used_doc_ids))
                    used_doc_ids.add(item.id)
                yield item


def _folder_label(root: str) -> str:
    """A folder argument as given, with forward slashes and no trailing slash."""
    slashed = _slashed(root)
    return slashed.rstrip("/") or slashed


def _unique_id(candidate: str, used: set[str], *, prefix: str = "") -> str:
    """``candidate`` if unused, else ``prefix/candidate``, else that with ``~2``, ``~3``, ..."""
    if candidate not in used:
        return candidate
    if prefix:
        candidate = f"{prefix}/{candidate}"
    unique, n = candidate, 1
    while unique in used:
        n += 1
        unique = f"{candidate}~{n}"
    return unique


def _iter_root_files(root: str) -> Iterator[tuple[str, str] | Skipped]:
    """``(path, id)`` for the root itself if it is not a folder, else for each file in it."""
    if os.path.isdir(root):
        yield from _walk(root, "", visited=set())
    else:
        yield root, _slashed(root)


def _walk(
    folder: str, rel: str, *, visited: set[tuple[int, int]]
) -> Iterator[tuple[str, str] | Skipped]:
    """Files under ``folder`` in sorted order, skipping hidden names and symlink loops."""
    try:
        info = os.stat(folder)
        with os.scandir(folder) as scan:
            names = sorted(entry.name for entry in scan)
    except OSError as exc:
        yield Skipped(folder, f"cannot read folder: {exc.strerror or exc}")
        return
    key = (info.st_dev, info.st_ino)
    if key in visited:
        yield Skipped(folder, "folder already visited (symlink loop)")
        return
    visited = visited | {key}
    for name in names:
        if name.startswith("."):
            continue
        path = os.path.join(folder, name)
        child_rel = f"{rel}{name}"
        if os.path.isdir(path):
            yield from _walk(path, f"{child_rel}/", visited=visited)
        else:
            yield path, child_rel


def _slashed(path: str) -> str:
    if os.sep != "/":
        path = path.replace(os.sep, "/")
    if os.altsep and os.altsep != "/":
        path = path.replace(os.altsep, "/")
    return path


def _check_max_bytes(max_bytes: int) -> None:
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes <= 0:
        raise ConfigError(f"max_bytes must be a positive integer, got {max_bytes!r}")


# ---------------------------------------------------------------------------------------
# One file


def read_file(
    path: str | os.PathLike[str],
    *,
    doc_id: str | None = None,
    text_fields: Sequence[str] = TEXT_FIELDS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    counts: Counter[str] | None = None,
) -> list[Document | Skipped]:
    """Read one file of any supported type into its documents and skipped entries.

    ``doc_id`` defaults to the path as given, with forward slashes. Never raises for a bad
    file: a missing, unreadable, binary, empty or malformed file gives a ``Skipped``.

    In a WARC file, each HTML response with HTTP status 200 is a Document with the id
    ``<doc_id>#<WARC-Record-ID>`` (without its angle brackets, e.g.
    ``crawl.warc.gz#urn:uuid:3f2c...``: stable across runs and unique in a crawl), or
    ``<doc_id>#R<n>`` for the n-th record (1-based, every record counted) when the record
    has none, as in ARC files. ``url`` is the WARC-Target-URI; ``date`` is the publication
    date found in the page, else the WARC-Date (the capture date; kept in
    ``meta["warc_date"]``); title and source come from the page. ``meta["warc_offset"]``
    is the record's byte offset (``warcio extract FILE OFFSET`` prints it). A page with no
    text is a Skipped (``<path>#<record>``); records that are not HTML pages fetched with
    status 200 are ignored, and counted in ``counts`` if given: ``warc_records``,
    ``warc_documents``, ``warc_skipped``, ``warc_ignored`` and one ``ignored: <why>`` key
    per kind (``ignored: request record``, ``ignored: HTTP status 404``,
    ``ignored: not HTML (application/pdf)``, ...). A truncated or corrupt WARC gives the
    documents read before the damage, then a Skipped for the file saying where it broke.
    Without warcio installed, a WARC file is a Skipped saying to install ``dedup[warc]``.

    >>> read_file("notes/a.txt")                              # doctest: +SKIP
    [Document(id='notes/a.txt', text='...', path='notes/a.txt', ...)]
    """
    _check_max_bytes(max_bytes)
    path_str = os.fspath(path)
    file_id = _slashed(path_str) if doc_id is None else doc_id
    return list(_read_path(path_str, file_id, text_fields=text_fields, max_bytes=max_bytes, counts=counts))


def _read_path(
    path: str, file_id: str, *, text_fields: Sequence[str], max_bytes: int, counts: Counter[str] | None
) -> Iterator[Document | Skipped]:
    """:func:`read_file` as a stream (WARC documents come as their records are read)."""
    fields = _all_text_fields(text_fields)
    try:
        extension = _check_readable(path)
        if extension in WARC_EXTENSIONS:
            yield from _unique_within_file(_read_warc(path, file_id, max_bytes, counts))
            return
        if extension == ".jsonl":
            # JSON Lines dumps run to gigabytes: read line by line, the limit is per record
            items = _read_jsonl(path, file_id, fields, max_bytes)
        else:
            items = _parse(_read_bytes(path, max_bytes), extension, path, file_id, fields)
    except _Skip as skip:
        logger.debug("skipped %s: %s", path, skip.reason)
        yield Skipped(path, skip.reason)
        return
    yield from _unique_within_file(items)


def _all_text_fields(text_fields: Sequence[str]) -> tuple[str, ...]:
    if isinstance(text_fields, str):
        text_fields = (text_fields,)
    fields = list(dict.fromkeys(text_fields))
    fields += [f for f in FALLBACK_TEXT_FIELDS if f not in fields]
    return tuple(fields)


def _check_readable(path: str) -> str:
    """The file's lower-case extension, or raise ``_Skip`` if it cannot be one of ours."""
    if os.path.islink(path) and not os.path.exists(path):
        raise _Skip(f"broken symlink (target {os.readlink(path)!r} does not exist)")
    extension = _extension(path)
    if extension not in SUPPORTED_EXTENSIONS:
        shown = f"'{extension}'" if extension else "(no extension)"
        raise _Skip(f"unsupported file type {shown}")
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise _Skip(f"cannot read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(mode):
        raise _Skip("is a folder, not a file")
    if not stat.S_ISREG(mode):
        # Opening a FIFO or device could block forever.
        raise _Skip("not a regular file")
    return extension


def _extension(path: str) -> str:
    """The lower-case extension, two-part for compressed archives (``.warc.gz``)."""
    lowered = path.lower()
    for compound in (".warc.gz", ".arc.gz"):
        if lowered.endswith(compound) and len(os.path.basename(lowered)) > len(compound):
            return compound
    return os.path.splitext(lowered)[1]


def _read_bytes(path: str, max_bytes: int) -> bytes:
    """The file's bytes; ``_Skip`` if it is unreadable, too large, empty or binary."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > max_bytes:
                raise _Skip(_too_large(size, max_bytes))
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise _Skip(f"cannot read: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise _Skip(_too_large(len(data), max_bytes))
    if not data.strip():
        raise _Skip("empty file")
    if _wide_bom_encoding(data) is None and b"\x00" in data[:_BINARY_SNIFF_BYTES]:
        raise _Skip("binary file (contains NUL bytes)")
    return data


def _too_large(size: int, max_bytes: int) -> str:
    return f"file too large ({size:,} bytes > max_bytes={max_bytes:,})"


def _parse(
    data: bytes, extension: str, path: str, file_id: str, fields: tuple[str, ...]
) -> list[Document | Skipped]:
    if extension in (".html", ".htm"):
        return [_parse_html(data, path, file_id)]
    decoded = _decode(data, path)
    if not decoded.text.strip():
        raise _Skip("empty file")
    if extension == ".json":
        return _parse_json(decoded, path, file_id, fields)
    if extension == ".jsonl":
        return _parse_jsonl(decoded, path, file_id, fields)
    return [Document(id=file_id, text=decoded.text, path=path, meta=decoded.meta())]


def _unique_within_file(items: Iterable[Document | Skipped]) -> Iterator[Document | Skipped]:
    """Suffix ``~2``, ``~3`` to record ids repeated inside one file."""
    used: set[str] = set()
    for item in items:
        if isinstance(item, Document):
            item = replace(item, id=_unique_id(item.id, used))
            used.add(item.id)
        yield item


# ---------------------------------------------------------------------------------------
# Decoding


def _decode(data: bytes, path: str, *, declared: Sequence[tuple[str | None, str]] = ()) -> _Decoded:
    """Decode as UTF-8, else a UTF-16/32 BOM, ``declared``, detection, then UTF-8 with U+FFFD.

    ``declared`` holds ``(charset label, where it was declared)`` pairs, tried in order.

    >>> _decode("caf\\u00e9".encode("cp1252"), "x.txt").encoding  # doctest: +SKIP
    'cp1252'
    """
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM) :]
    try:
        return _Decoded(data.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    wide = _wide_bom_encoding(data)
    if wide is not None:
        return _Decoded(data.decode(wide, errors="replace"), wide)
    decoded = next(
        (d for label, origin in declared if (d := _decode_declared(data, label, origin)) is not None), None
    ) or _decode_detected(data)
    for message in decoded.warnings:
        logger.warning("%s: %s", path, message)
    return decoded


def _wide_bom_encoding(data: bytes) -> str | None:
    for bom, encoding in _WIDE_BOMS:
        if data.startswith(bom):
            return encoding
    return None


def _decode_declared(data: bytes, declared: str | None, origin: str) -> _Decoded | None:
    encoding = _codec_name(declared)
    if encoding is None or encoding == "utf_8":
        return None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        return None
    warning = f"not valid UTF-8; decoded as {encoding} (declared in {origin})"
    return _Decoded(text, encoding, (warning,))


def _decode_detected(data: bytes) -> _Decoded:
    encoding = _codec_name(_detect_encoding(data))
    if encoding is not None and encoding != "utf_8":
        warning = f"not valid UTF-8; decoded as {encoding} (detected by charset_normalizer)"
        return _Decoded(data.decode(encoding, errors="replace"), encoding, (warning,))
    warning = (
        "not valid UTF-8 and no encoding detected; "
        "decoded as UTF-8 with U+FFFD replacement characters"
    )
    return _Decoded(data.decode("utf-8", errors="replace"), "utf-8", (warning,))


def _detect_encoding(data: bytes) -> str | None:
    """charset_normalizer's best guess, preferring windows-1252 among equally good guesses.

    Short Western European text often scores the same in cp1250 and cp1252, and
    charset_normalizer then returns cp1250, turning French "è" into "č".
    """
    matches = from_bytes(data)
    best = matches.best()
    if best is None:
        return None
    for match in matches:
        tied = match.chaos == best.chaos and match.coherence == best.coherence
        if tied and _PREFERRED_LEGACY in match.could_be_from_charset:
            return _PREFERRED_LEGACY
    return best.encoding


def _codec_name(label: str | None) -> str | None:
    """Python's canonical codec name for ``label`` (WHATWG Latin-1 rule applied), or None."""
    if not label:
        return None
    try:
        name = codecs.lookup(label).name.replace("-", "_")
    except LookupError:
        return None
    return _WHATWG_ALIASES.get(name, name)


def _declared_charset(data: bytes) -> str | None:
    match = _META_CHARSET.search(data[:_CHARSET_SNIFF_BYTES])
    return match.group(1).decode("ascii") if match else None


# ---------------------------------------------------------------------------------------
# HTML


def _parse_html(data: bytes, path: str, file_id: str) -> Document:
    decoded = _decode(data, path, declared=[(_declared_charset(data), _META_ORIGIN)])
    text, found = html_to_text(decoded.text)
    if not text:
        raise _Skip("no text after HTML extraction")
    return Document(id=file_id, text=text, path=path, meta=decoded.meta(), **found)


def html_to_text(html: str) -> tuple[str, dict[str, str]]:
    """Main text of an HTML page and the metadata found in it (title, url, date, source).

    Markup and non-article parts (script, style, nav, header, footer, aside, form, ...) are
    dropped; paragraphs are separated by a blank line, list items, table cells and ``<br>``
    by a newline; whitespace inside a block becomes single spaces.

    >>> html_to_text("<title>T</title><p>One  two</p><p>Three<br>four</p>")
    ('One two\\n\\nThree\\nfour', {'title': 'T'})
    """
    tree = LexborHTMLParser(html)
    found = _html_metadata(tree)
    body = tree.body
    if body is None:
        return "", found
    for tag in _DROPPED_TAGS:
        for node in body.css(tag):
            node.decompose()
    return _flatten(body), found


def _flatten(root: LexborNode) -> str:
    """Text under ``root``: blocks joined by the strongest break between them."""
    out: list[str] = []
    inline: list[str] = []
    pending = _NO_BREAK
    for piece in [*_pieces(root), _PARAGRAPH]:
        if isinstance(piece, str):
            inline.append(piece)
            continue
        text = _SPACES.sub(" ", "".join(inline)).strip()
        inline.clear()
        if text:
            if out:
                out.append("\n\n" if pending == _PARAGRAPH else "\n")
            out.append(text)
            pending = _NO_BREAK
        pending = max(pending, piece)
    return "".join(out)


def _pieces(root: LexborNode) -> Iterator[str | int]:
    """Text nodes under ``root`` in document order, with break strengths around blocks."""
    # Iterative so that deeply nested pages cannot hit the recursion limit.
    stack: list[LexborNode | int] = [root]
    while stack:
        item = stack.pop()
        if isinstance(item, int):
            yield item
        elif item.is_text_node:
            yield item.text_content or ""
        elif item.is_element_node:
            brk = _block_break(item.tag)
            if brk:
                yield brk
                stack.append(brk)
            stack.extend(reversed(list(item.iter(include_text=True))))


def _block_break(tag: str | None) -> int:
    if tag in _PARAGRAPH_TAGS:
        return _PARAGRAPH
    if tag in _LINE_TAGS:
        return _LINE
    return _NO_BREAK


def _html_metadata(tree: LexborHTMLParser) -> dict[str, str]:
    metas = _meta_contents(tree)
    candidates = {
        "title": [metas.get("og:title"), _node_text(tree, "title"), _node_text(tree, "h1")],
        "url": [_canonical_href(tree), metas.get("og:url")],
        "date": [
            metas.get("article:published_time"),
            metas.get("og:article:published_time"),
            metas.get("og:published_time"),
            metas.get("datepublished"),
            _attr(tree, "[itemprop=datePublished]", "datetime"),
            _attr(tree, "time[datetime]", "datetime"),
        ],
        "source": [metas.get("og:site_name")],
    }
    found: dict[str, str] = {}
    for key, values in candidates.items():
        value = next((v for v in values if v), None)
        if value:
            found[key] = value
    return found


def _meta_contents(tree: LexborHTMLParser) -> dict[str, str]:
    """``<meta property|name|itemprop=K content=V>`` as ``{k.lower(): V}``, first one wins."""
    out: dict[str, str] = {}
    for node in tree.css("meta"):
        attrs = node.attributes
        content = _clean(attrs.get("content"))
        if not content:
            continue
        for attr in ("property", "name", "itemprop"):
            key = (attrs.get(attr) or "").strip().lower()
            if key:
                out.setdefault(key, content)
    return out


def _canonical_href(tree: LexborHTMLParser) -> str | None:
    for node in tree.css("link[href]"):
        rel = (node.attributes.get("rel") or "").lower().split()
        if "canonical" in rel:
            return _clean(node.attributes.get("href"))
    return None


def _node_text(tree: LexborHTMLParser, selector: str) -> str | None:
    node = tree.css_first(selector)
    return _clean(node.text()) if node is not None else None


def _attr(tree: LexborHTMLParser, selector: str, attr: str) -> str | None:
    node = tree.css_first(selector)
    if node is None:
        return None
    return _clean(node.attributes.get(attr) or node.attributes.get("content"))


def _clean(value: str | None) -> str | None:
    """``value`` with whitespace collapsed, or None if that leaves nothing."""
    if not value:
        return None
    return _SPACES.sub(" ", value).strip() or None


# ---------------------------------------------------------------------------------------
# WARC and ARC


def _read_warc(
    path: str, file_id: str, max_bytes: int, counts: Counter[str] | None
) -> Iterator[Document | Skipped]:
    """Documents of a WARC/ARC file, streamed record by record (see :func:`read_file`).

    Only one record's payload (at most ``max_bytes``) is in memory at a time; warcio reads
    the rest of each record in blocks and drops it.
    """
    try:
        from warcio.archiveiterator import ArchiveIterator
    except ImportError:
        raise _Skip(WARC_NOT_INSTALLED) from None
    kind = "ARC" if _extension(path).startswith(".arc") else "WARC"
    tally: Counter[str] = Counter() if counts is None else counts
    before = Counter(tally)
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise _Skip(f"cannot read: {exc.strerror or exc}") from None
    with handle:
        size = os.fstat(handle.fileno()).st_size
        if size == 0:
            raise _Skip("empty file")
        archive = ArchiveIterator(handle, arc2warc=False)
        records = iter(archive)
        number = end = 0
        problem: str | None = None
        while problem is None:
            try:
                record = next(records)
            except StopIteration:
                problem = _trailing_damage(handle, end, size, kind)
                break
            except Exception as exc:  # warcio raises AttributeError, ValueError, zlib.error ... on bad input
                problem = _damage_reason(exc, kind, number)
                break
            if record.format == "warc" and not record.rec_headers.headers:
                # warcio's "record" for trailing blank lines or a lone version line: no record.
                problem = _trailing_damage(handle, end, size, kind)
                break
            number += 1
            tally["warc_records"] += 1
            item = _warc_item(record, path, file_id, number, max_bytes)
            try:
                archive.read_to_end()
                offset, length = archive.get_record_offset(), archive.get_record_length()
            except Exception as exc:  # as above
                problem = _damage_reason(exc, kind, number - 1)
                break
            if record.length is None:
                problem = f"corrupt {kind}: record {number} (offset {offset:,}) has no length"
                break
            if getattr(record.raw_stream, "limit", 0) > 0:
                # The file ends before this record's declared length.
                problem = f"truncated {kind}: record {number} (offset {offset:,}) is cut short"
                problem += f"; {number - 1} record(s) read before it"
                break
            end = offset + length
            if isinstance(item, str):
                tally["warc_ignored"] += 1
                tally[f"ignored: {item}"] += 1
                continue
            if isinstance(item, Document):
                tally["warc_documents"] += 1
                item = replace(item, meta={**item.meta, "warc_offset": offset})
            else:
                tally["warc_skipped"] += 1
            yield item
    found = tally - before
    logger.info("%s: %s", path, _warc_summary(found))
    if problem:
        logger.debug("skipped %s: %s", path, problem)
        yield Skipped(path, problem)
    elif not number:
        yield Skipped(path, "empty file")
    elif not found["warc_documents"] and not found["warc_skipped"]:
        yield Skipped(path, f"no HTML pages with HTTP status 200 ({_warc_summary(found)})")


def _warc_item(record: Any, path: str, file_id: str, number: int, max_bytes: int) -> Document | Skipped | str:
    """The Document or Skipped for one record, or why it is ignored (not an article)."""
    headers = record.rec_headers
    if record.format == "arc":
        if record.rec_type != "response":
            return "ARC file header"
        record_id, url, date = None, headers.get_header("uri"), _arc_date(headers.get_header("archive-date"))
    else:
        if record.rec_type != "response":
            return f"{record.rec_type or 'untyped'} record"
        record_id = (headers.get_header("WARC-Record-ID") or "").strip().strip("<>").strip() or None
        url, date = headers.get_header("WARC-Target-URI"), headers.get_header("WARC-Date")
    http = record.http_headers
    if http is None:
        return "no HTTP headers"
    status = http.get_statuscode()
    if status != "200":
        return f"HTTP status {status or '(none)'}"
    content_type = http.get_header("Content-Type") or ""
    media = content_type.split(";", 1)[0].strip().lower()
    if not media and record.format != "arc":
        # Common Crawl records the type it detected; trust it when the server sent none.
        media = (headers.get_header("WARC-Identified-Payload-Type") or "").strip().lower()
    if media and media not in _HTML_TYPES:
        return f"not HTML ({media})"
    name = record_id or f"R{number}"
    where = f"{path}#{name}"
    try:
        body = record.content_stream().read(max_bytes + 1)
    except Exception as exc:  # a bad chunked or compressed payload spoils this record only
        return Skipped(where, f"cannot read the payload: {_first_line(exc)}")
    if not media and not _HTML_START.match(body[:_CHARSET_SNIFF_BYTES]):
        return "not HTML (no content type)"
    if len(body) > max_bytes:
        return Skipped(where, f"payload too large (more than max_bytes={max_bytes:,} bytes)")
    if _wide_bom_encoding(body) is None and b"\x00" in body[:_BINARY_SNIFF_BYTES]:
        return Skipped(where, "binary payload labelled HTML (contains NUL bytes)")
    declared = [(_charset_param(content_type), _HTTP_ORIGIN), (_declared_charset(body), _META_ORIGIN)]
    decoded = _decode(body, where, declared=declared)
    text, found = html_to_text(decoded.text)
    if not text:
        return Skipped(where, "no text after HTML extraction")
    meta: dict[str, Any] = {"warc_record": number}
    if record_id:
        meta["warc_record_id"] = record_id
    if date:
        meta["warc_date"] = date
    canonical = found.pop("url", None)
    if canonical and canonical != url:
        meta["canonical_url"] = canonical
    meta.update(decoded.meta())
    if date and "date" not in found:
        # The page's publication date says more about who copied whom than the capture date.
        found["date"] = date
    return Document(id=f"{file_id}#{name}", text=text, path=path, url=url or canonical, meta=meta, **found)


def _charset_param(content_type: str) -> str | None:
    match = _HTTP_CHARSET.search(content_type)
    return match.group(1) if match else None


def _arc_date(timestamp: str | None) -> str | None:
    """An ARC ``archive-date`` (``20060102150405``) as ISO 8601, or as found if it is not one."""
    if not timestamp:
        return None
    try:
        from warcio.timeutils import timestamp_to_iso_date

        return str(timestamp_to_iso_date(timestamp))
    except (ValueError, TypeError):
        return timestamp


def _trailing_damage(handle: Any, end: int, size: int, kind: str) -> str | None:
    """Why the bytes after the last complete record could not be read, or None if blank."""
    if end >= size:
        return None
    handle.seek(end)
    tail = handle.read(_TRAILER_BYTES + 1)
    if len(tail) <= _TRAILER_BYTES and not tail.strip():
        return None
    return (
        f"truncated or corrupt {kind}: {size - end:,} byte(s) after offset {end:,} "
        "are not a complete record"
    )


def _damage_reason(exc: Exception, kind: str, records_read: int) -> str:
    message = _first_line(exc)
    if "Unknown archive format" in message and records_read == 0:
        return f"not a WARC or ARC file ({message})"
    if "non-chunked gzip" in str(exc):
        return (
            f"{kind} gzipped as one stream, not record by record; stopped after record {records_read}"
            " (fix the file with: warcio recompress IN OUT)"
        )
    return f"corrupt {kind} after record {records_read}: {message}"


def _first_line(exc: Exception) -> str:
    """The first non-blank line of an exception's message, shortened, with its type if empty."""
    line = next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), "")
    if len(line) > 120:
        line = line[:117] + "..."
    return line or type(exc).__name__


def _warc_summary(found: Mapping[str, int]) -> str:
    """``3 document(s) from 9 record(s); ignored: request record 2, ...``."""
    text = f"{found['warc_documents']} document(s) from {found['warc_records']} record(s)"
    if found["warc_skipped"]:
        text += f", {found['warc_skipped']} skipped"
    ignored = sorted((k.removeprefix("ignored: "), n) for k, n in found.items() if k.startswith("ignored: "))
    if ignored:
        text += "; ignored: " + ", ".join(f"{k} {n}" for k, n in ignored)
    return text


# ---------------------------------------------------------------------------------------
# JSON and JSON Lines


def _parse_json(
    decoded: _Decoded, path: str, file_id: str, fields: tuple[str, ...]
) -> list[Document | Skipped]:
    try:
        value = json.loads(decoded.text)
    except json.JSONDecodeError as exc:
        hint = "; is it JSON Lines? name it .jsonl" if exc.msg == "Extra data" else ""
        raise _Skip(f"{_json_error(exc, exc.lineno)}{hint}") from None
    if isinstance(value, dict):
        item = _record_document(value, path, path, file_id, None, fields, decoded)
        if isinstance(item, Skipped):
            raise _Skip(item.reason)
        return [item]
    if not isinstance(value, list):
        raise _Skip(f"JSON top level is {_json_type(value)}, expected an object or a list")
    if not value:
        raise _Skip("no records (empty JSON list)")
    return [
        _record_document(record, path, f"{path}[{index}]", file_id, str(index), fields, decoded)
        for index, record in enumerate(value)
    ]


def _parse_jsonl(
    decoded: _Decoded, path: str, file_id: str, fields: tuple[str, ...]
) -> list[Document | Skipped]:
    items: list[Document | Skipped] = []
    # Split on "\n" only: str.splitlines() would also split on U+2028 inside JSON strings.
    for number, line in enumerate(decoded.text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            items.append(Skipped(where, _json_error(exc, number)))
            continue
        items.append(_record_document(record, path, where, file_id, f"L{number}", fields, decoded))
    return items


def _read_jsonl(path: str, file_id: str, fields: tuple[str, ...], max_bytes: int) -> list[Document | Skipped]:
    """Records of a JSON Lines file, read one line at a time (each line decoded on its own)."""
    items: list[Document | Skipped] = []
    seen_text = False
    try:
        with open(path, "rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                seen_text = True
                where = f"{path}:{number}"
                if len(raw) > max_bytes:
                    items.append(Skipped(where, _too_large(len(raw), max_bytes)))
                    continue
                if b"\x00" in raw:
                    items.append(Skipped(where, "binary data (contains NUL bytes)"))
                    continue
                decoded = _decode(raw, path)
                try:
                    record = json.loads(decoded.text.rstrip("\r\n"))
                except json.JSONDecodeError as exc:
                    items.append(Skipped(where, _json_error(exc, number)))
                    continue
                items.append(_record_document(record, path, where, file_id, f"L{number}", fields, decoded))
    except OSError as exc:
        raise _Skip(f"cannot read: {exc.strerror or exc}") from None
    if not seen_text:
        raise _Skip("empty file")
    return items


def _json_error(exc: json.JSONDecodeError, line: int) -> str:
    return f"invalid JSON: {exc.msg} (line {line}, column {exc.colno})"


def _json_type(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")


def _record_document(
    record: object,
    path: str,
    where: str,
    file_id: str,
    position: str | None,
    fields: tuple[str, ...],
    decoded: _Decoded,
) -> Document | Skipped:
    """A Document for one JSON record, or a Skipped at ``where`` saying what is wrong.

    ``position`` (``L3`` or ``3``) names the record when it has no ``id``; None means the
    record is the whole file and takes the file's id.
    """
    if not isinstance(record, dict):
        return Skipped(where, f"not a JSON object (got {_json_type(record)})")
    try:
        text_key = _text_key(record, fields)
    except _Skip as skip:
        return Skipped(where, skip.reason)
    used = set(fields)
    doc_id = file_id
    if position is not None:
        record_id = _record_id(record)
        if record_id is not None:
            used.add("id")
        doc_id = f"{file_id}#{record_id if record_id is not None else position}"
    attributes = _record_attributes(record, used)
    meta = {k: v for k, v in record.items() if k not in used and _is_scalar(v)}
    meta.update(decoded.meta())
    return Document(id=doc_id, text=record[text_key], path=path, meta=meta, **attributes)


def _text_key(record: Mapping[str, Any], fields: tuple[str, ...]) -> str:
    """The first of ``fields`` holding non-blank text; ``_Skip`` if there is none."""
    blank: str | None = None
    for key in fields:
        value = record.get(key)
        if isinstance(value, str):
            if value.strip():
                return key
            blank = blank or key
    if blank is not None:
        raise _Skip(f"empty text (field {blank!r})")
    raise _Skip(f"no text field (tried {', '.join(fields)})")


def _record_id(record: Mapping[str, Any]) -> str | None:
    value = record.get("id")
    if isinstance(value, bool):
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.strip()):
        return str(value)
    return None


def _record_attributes(record: Mapping[str, Any], used: set[str]) -> dict[str, str]:
    """title/url/date/source from their usual record keys; adds the keys taken to ``used``."""
    out: dict[str, str] = {}
    for attribute, keys in _RECORD_KEYS:
        for key in keys:
            value = _as_text(record.get(key))
            if value is not None:
                out[attribute] = value
                used.add(key)
                break
    return out


def _as_text(value: object) -> str | None:
    """A string for a scalar (or an object's ``name``, as in ``{"source": {"name": ..}}``)."""
    if isinstance(value, dict):
        value = value.get("name")
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _is_scalar(value: object) -> bool:
    return isinstance(value, str | int | float | bool)
