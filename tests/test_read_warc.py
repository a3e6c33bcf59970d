"""Tests of WARC/ARC input in dedup.read: small archives written with warcio itself."""

from __future__ import annotations

import gzip
import io
import json
import logging
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("warcio", reason="WARC input needs the optional extra: pip install 'dedup[warc]'")

from warcio.statusandheaders import StatusAndHeaders  # noqa: E402
from warcio.warcwriter import WARCWriter  # noqa: E402

from dedup.cli import cli  # noqa: E402
from dedup.read import iter_documents, read_file  # noqa: E402
from dedup.types import Document, Skipped  # noqa: E402

SEEDS = Path(__file__).resolve().parent.parent / "fixtures" / "seeds"
FRENCH = "Publié le 27 décembre, l’armée a déclaré « non » à la trêve proposée"
DATE = "2026-01-02T03:04:05Z"

PAGE = """<!doctype html>
<html><head><title>Alliance | Le Journal</title>
<script>var tracking = "SECRET-SCRIPT-TEXT";</script></head>
<body><nav>Accueil Monde Sport</nav>
<article><h1>Séoul et Moscou</h1>
<p>Premier paragraphe de l’article.</p>
<script>document.write("INLINE-SCRIPT-TEXT")</script>
<p>Deuxième paragraphe.</p></article>
<footer>© Le Journal</footer></body></html>
"""


def uid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


class Warc:
    """Records for a test WARC, written with warcio's WARCWriter (gzip per record or plain)."""

    def __init__(self) -> None:
        self._records: list[tuple[str, str, bytes, dict[str, str], StatusAndHeaders | None]] = []

    def response(
        self,
        n: int,
        url: str,
        body: bytes | str,
        *,
        status: str = "200 OK",
        content_type: str | None = "text/html; charset=utf-8",
        headers: tuple[tuple[str, str], ...] = (),
        date: str = DATE,
    ) -> Warc:
        if isinstance(body, str):
            body = body.encode("utf-8")
        fields = [("Content-Type", content_type)] if content_type else []
        http = StatusAndHeaders(status, [*fields, *headers], protocol="HTTP/1.1")
        self._records.append(("response", url, body, _warc_headers(n, date), http))
        return self

    def request(self, n: int, url: str) -> Warc:
        http = StatusAndHeaders("GET / HTTP/1.1", [("Host", "example.org")], is_http_request=True)
        self._records.append(("request", url, b"", _warc_headers(n, DATE), http))
        return self

    def metadata(self, n: int, url: str) -> Warc:
        self._records.append(("metadata", url, b"fetchTimeMs: 12\n", _warc_headers(n, DATE), None))
        return self

    def data(self, *, gzip: bool = True) -> bytes:
        buffer = io.BytesIO()
        writer = WARCWriter(buffer, gzip=gzip)
        for kind, url, body, warc_headers, http in self._records:
            record = writer.create_warc_record(
                url,
                kind,
                payload=io.BytesIO(body),
                length=len(body),
                warc_headers_dict=warc_headers,
                http_headers=http,
                warc_content_type="application/warc-fields" if kind == "metadata" else "",
            )
            writer.write_record(record)
        return buffer.getvalue()

    def write(self, path: Path, *, gzip: bool | None = None) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.data(gzip=path.name.endswith(".gz") if gzip is None else gzip))
        return path


def _warc_headers(n: int, date: str) -> dict[str, str]:
    return {"WARC-Record-ID": f"<urn:uuid:{uid(n)}>", "WARC-Date": date}


def html(*paragraphs: str, title: str = "", head: str = "") -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return f"<html><head><title>{title}</title>{head}</head><body>{body}</body></html>"


def mixed_warc() -> Warc:
    """One of every kind of record a news crawl holds."""
    return (
        Warc()
        .request(1, "https://example.org/a")
        .response(2, "https://example.org/a", PAGE)
        .metadata(3, "https://example.org/a")
        .response(4, "https://example.org/gone", html("Page introuvable"), status="404 Not Found")
        .response(5, "https://example.org/old", b"", status="301 Moved Permanently")
        .response(6, "https://example.org/r.pdf", b"%PDF-1.4\n\x00\x01binary", content_type="application/pdf")
        .response(7, "https://example.org/logo.png", b"\x89PNG\r\n\x1a\n\x00", content_type="image/png")
        .response(
            8,
            "https://example.org/b",
            html(FRENCH, title="Trêve").encode("cp1252"),
            content_type="text/html; charset=windows-1252",
        )
        .response(9, "https://example.org/empty", "<html><body><script>x()</script></body></html>")
    )


def docs_of(items: list[Document | Skipped]) -> list[Document]:
    return [item for item in items if isinstance(item, Document)]


def skips_of(items: list[Document | Skipped]) -> list[Skipped]:
    return [item for item in items if isinstance(item, Skipped)]


# --- reading records --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["crawl.warc.gz", "crawl.warc", "CRAWL.WARC.GZ"])
def test_html_responses_become_documents(tmp_path: Path, name: str) -> None:
    path = mixed_warc().write(tmp_path / name)
    counts: Counter[str] = Counter()
    items = read_file(path, doc_id=name, counts=counts)
    docs = docs_of(items)
    assert [d.id for d in docs] == [f"{name}#urn:uuid:{uid(2)}", f"{name}#urn:uuid:{uid(8)}"]
    assert [d.url for d in docs] == ["https://example.org/a", "https://example.org/b"]
    assert [d.date for d in docs] == [DATE, DATE]
    assert [d.title for d in docs] == ["Alliance | Le Journal", "Trêve"]
    assert all(d.path == str(path) for d in docs)
    first, second = docs
    assert first.text == "Séoul et Moscou\n\nPremier paragraphe de l’article.\n\nDeuxième paragraphe."
    assert first.meta["warc_record_id"] == f"urn:uuid:{uid(2)}"
    assert first.meta["warc_date"] == DATE
    assert first.meta["warc_record"] == 2
    assert "encoding" not in first.meta
    assert second.text == FRENCH
    assert second.meta["encoding"] == "cp1252"
    assert "HTTP Content-Type header" in second.meta["warnings"][0]
    # Only the page without text is listed; requests, metadata, errors and binaries are not.
    assert skips_of(items) == [Skipped(f"{path}#urn:uuid:{uid(9)}", "no text after HTML extraction")]
    assert counts == Counter(
        {
            "warc_records": 9,
            "warc_documents": 2,
            "warc_skipped": 1,
            "warc_ignored": 6,
            "ignored: request record": 1,
            "ignored: metadata record": 1,
            "ignored: HTTP status 404": 1,
            "ignored: HTTP status 301": 1,
            "ignored: not HTML (application/pdf)": 1,
            "ignored: not HTML (image/png)": 1,
        }
    )


def test_script_content_never_reaches_the_text(tmp_path: Path) -> None:
    doc = docs_of(read_file(mixed_warc().write(tmp_path / "c.warc.gz")))[0]
    assert "SCRIPT-TEXT" not in doc.text and "tracking" not in doc.text
    assert "Accueil" not in doc.text and "©" not in doc.text


def test_record_offsets_point_at_the_records(tmp_path: Path) -> None:
    from warcio.archiveiterator import ArchiveIterator

    path = mixed_warc().write(tmp_path / "c.warc.gz")
    for doc in docs_of(read_file(path)):
        with open(path, "rb") as handle:
            handle.seek(doc.meta["warc_offset"])
            record = next(iter(ArchiveIterator(handle)))
            assert record.rec_headers.get_header("WARC-Record-ID") == f"<{doc.meta['warc_record_id']}>"


def test_ids_inside_a_folder_are_relative(tmp_path: Path) -> None:
    mixed_warc().write(tmp_path / "corpus" / "2026" / "news.warc.gz")
    ids = [d.id for d in iter_documents([tmp_path / "corpus"]) if isinstance(d, Document)]
    assert ids == [f"2026/news.warc.gz#urn:uuid:{uid(2)}", f"2026/news.warc.gz#urn:uuid:{uid(8)}"]


def test_publication_date_in_the_page_wins_over_capture_date(tmp_path: Path) -> None:
    head = '<meta property="article:published_time" content="2025-12-27T08:00:00+00:00">'
    path = Warc().response(1, "https://example.org/a", html("Texte.", head=head)).write(tmp_path / "d.warc")
    doc = docs_of(read_file(path))[0]
    assert doc.date == "2025-12-27T08:00:00+00:00"
    assert doc.meta["warc_date"] == DATE


def test_canonical_url_is_kept_apart_from_the_target_uri(tmp_path: Path) -> None:
    head = '<link rel="canonical" href="https://example.org/canonical">'
    path = Warc().response(1, "https://example.org/a?utm=x", html("Texte.", head=head)).write(tmp_path / "d.warc")
    doc = docs_of(read_file(path))[0]
    assert doc.url == "https://example.org/a?utm=x"
    assert doc.meta["canonical_url"] == "https://example.org/canonical"


def test_meta_charset_is_used_when_the_http_header_has_none(tmp_path: Path) -> None:
    page = html(FRENCH, head='<meta charset="windows-1252">').encode("cp1252")
    path = Warc().response(1, "https://example.org/a", page, content_type="text/html").write(tmp_path / "d.warc")
    doc = docs_of(read_file(path))[0]
    assert doc.text == FRENCH
    assert "meta charset" in doc.meta["warnings"][0]


def test_undeclared_legacy_charset_is_detected(tmp_path: Path) -> None:
    page = html(FRENCH, FRENCH).encode("cp1252")
    path = Warc().response(1, "https://example.org/a", page, content_type="text/html").write(tmp_path / "d.warc")
    doc = docs_of(read_file(path))[0]
    assert doc.text == f"{FRENCH}\n\n{FRENCH}"
    assert doc.meta["encoding"] == "cp1252"


def test_content_encoding_gzip_is_decoded(tmp_path: Path) -> None:
    body = gzip.compress(html("Compressé.").encode("utf-8"))
    warc = Warc().response(1, "https://example.org/a", body, headers=(("Content-Encoding", "gzip"),))
    assert docs_of(read_file(warc.write(tmp_path / "d.warc.gz")))[0].text == "Compressé."


def test_xhtml_and_untyped_html_are_read_untyped_binary_is_not(tmp_path: Path) -> None:
    warc = (
        Warc()
        .response(1, "https://example.org/x", html("Xhtml."), content_type="application/xhtml+xml")
        .response(2, "https://example.org/u", "<!DOCTYPE html>" + html("Sans type."), content_type=None)
        .response(3, "https://example.org/b", b"\x00\x01\x02", content_type=None)
    )
    counts: Counter[str] = Counter()
    items = read_file(warc.write(tmp_path / "d.warc"), counts=counts)
    assert [d.text for d in docs_of(items)] == ["Xhtml.", "Sans type."]
    assert counts["ignored: not HTML (no content type)"] == 1


def test_payload_over_max_bytes_is_skipped(tmp_path: Path) -> None:
    warc = Warc().response(1, "https://example.org/big", html("x" * 500)).response(2, "https://e.org/s", html("S."))
    path = warc.write(tmp_path / "d.warc.gz")
    items = read_file(path, max_bytes=300)
    assert [d.text for d in docs_of(items)] == ["S."]
    assert skips_of(items) == [
        Skipped(f"{path}#urn:uuid:{uid(1)}", "payload too large (more than max_bytes=300 bytes)")
    ]


def test_repeated_record_ids_get_suffixes(tmp_path: Path) -> None:
    warc = Warc().response(1, "https://example.org/a", html("Un.")).response(1, "https://example.org/b", html("Deux."))
    ids = [d.id for d in docs_of(read_file(warc.write(tmp_path / "d.warc"), doc_id="d.warc"))]
    assert ids == [f"d.warc#urn:uuid:{uid(1)}", f"d.warc#urn:uuid:{uid(1)}~2"]


def test_warc_documents_are_streamed(tmp_path: Path) -> None:
    warc = Warc()
    for n in range(1, 4):
        warc.response(n, f"https://example.org/{n}", html(f"Article {n}."))
    path = warc.write(tmp_path / "d.warc.gz")
    stream = iter_documents([path])
    first = next(stream)
    assert isinstance(first, Document) and first.text == "Article 1."
    assert [d.text for d in stream if isinstance(d, Document)] == ["Article 2.", "Article 3."]


def test_summary_is_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = mixed_warc().write(tmp_path / "c.warc.gz")
    with caplog.at_level(logging.INFO, logger="dedup.read"):
        read_file(path)
    assert (
        f"{path}: 2 document(s) from 9 record(s), 1 skipped; ignored: HTTP status 301 1, HTTP status 404 1, "
        "metadata record 1, not HTML (application/pdf) 1, not HTML (image/png) 1, request record 1"
    ) in caplog.messages


# --- files that are not whole ------------------------------------------------------------------


def test_file_without_html_pages_is_listed(tmp_path: Path) -> None:
    warc = Warc().request(1, "https://example.org/a").response(2, "https://example.org/a", b"", status="404 Not Found")
    path = warc.write(tmp_path / "d.warc.gz")
    assert read_file(path) == [
        Skipped(
            str(path),
            "no HTML pages with HTTP status 200 (0 document(s) from 2 record(s); "
            "ignored: HTTP status 404 1, request record 1)",
        )
    ]


def _three_articles() -> Warc:
    warc = Warc()
    for n in range(1, 4):
        warc.response(n, f"https://example.org/{n}", html(f"Article {n}.", "x" * 2000))
    return warc


def _record_starts(data: bytes) -> list[int]:
    from warcio.archiveiterator import ArchiveIterator

    iterator = ArchiveIterator(io.BytesIO(data))
    starts = []
    for _ in iterator:
        starts.append(iterator.get_record_offset())
    return starts


@pytest.mark.parametrize("compressed", [True, False])
def test_truncated_warc_keeps_the_records_before_the_cut(tmp_path: Path, compressed: bool) -> None:
    data = _three_articles().data(gzip=compressed)
    third = _record_starts(data)[2]
    path = tmp_path / ("cut.warc.gz" if compressed else "cut.warc")
    path.write_bytes(data[: third + (len(data) - third) // 2])
    items = read_file(path)
    assert [d.text.split("\n")[0] for d in docs_of(items)] == ["Article 1.", "Article 2."]
    skip = items[-1]
    assert isinstance(skip, Skipped) and skip.path == str(path)
    assert skip.reason.startswith("truncated")
    assert len(items) == 3


def test_truncated_gzip_header(tmp_path: Path) -> None:
    data = _three_articles().data(gzip=True)
    second = _record_starts(data)[1]
    path = tmp_path / "cut.warc.gz"
    path.write_bytes(data[: second + 5])
    items = read_file(path)
    assert len(docs_of(items)) == 1
    assert items[-1] == Skipped(
        str(path),
        f"truncated or corrupt WARC: 5 byte(s) after offset {second:,} are not a complete record",
    )


def test_garbage_between_records(tmp_path: Path) -> None:
    data = _three_articles().data(gzip=False)
    second = _record_starts(data)[1]
    path = tmp_path / "bad.warc"
    path.write_bytes(data[:second] + b"garbage line\r\n" + data[second:])
    items = read_file(path)
    assert len(docs_of(items)) == 1
    assert items[-1] == Skipped(
        str(path), "corrupt WARC after record 1: Invalid WARC record, first line: garbage line"
    )


def test_single_stream_gzip_is_explained(tmp_path: Path) -> None:
    path = tmp_path / "one.warc.gz"
    path.write_bytes(gzip.compress(_three_articles().data(gzip=False)))
    reason = read_file(path)[-1]
    assert isinstance(reason, Skipped) and "warcio recompress" in reason.reason


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty file"),
        (b"\r\n\r\n", "empty file"),
        (b"WARC/1.0\r\n", "truncated or corrupt WARC: 10 byte(s) after offset 0"),
        (b"<html><body>not a warc</body></html>", "not a WARC or ARC file"),
        (gzip.compress(b"hello world\n"), "not a WARC or ARC file"),
    ],
)
def test_files_that_are_not_warcs(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "x.warc.gz"
    path.write_bytes(content)
    [skip] = read_file(path)
    assert isinstance(skip, Skipped) and skip.reason.startswith(reason), skip


def test_record_without_length_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "x.warc"
    path.write_bytes(
        b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: https://example.org/\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<p>no length</p>"
    )
    [skip] = read_file(path)
    assert skip == Skipped(str(path), "corrupt WARC: record 1 (offset 0) has no length")


# --- ARC -------------------------------------------------------------------------------------------


def _arc_record(header: str, body: bytes) -> bytes:
    """One ARC v1 record, gzipped on its own as in real ``.arc.gz`` files."""
    return gzip.compress(f"{header} {len(body)}\n".encode() + body + b"\n")


def test_arc_file(tmp_path: Path) -> None:
    desc = b"1 0 Test\nURL IP-address Archive-date Content-type Archive-length\n"
    page = html("Archive ancienne.", title="Vieux").encode("utf-8")
    path = tmp_path / "old.arc.gz"
    path.write_bytes(
        _arc_record("filedesc://old.arc 0.0.0.0 20060101000000 text/plain", desc)
        + _arc_record(
            "http://example.org/gone 1.2.3.4 20060101120000 text/html",
            b"HTTP/1.0 404 Not Found\r\nContent-Type: text/html\r\n\r\n" + page,
        )
        + _arc_record(
            "http://example.org/a 1.2.3.4 20060102150405 text/html",
            b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n" + page,
        )
    )
    [doc] = read_file(path, doc_id="old.arc.gz")
    assert isinstance(doc, Document)
    assert doc.id == "old.arc.gz#R3"
    assert (doc.url, doc.date, doc.title, doc.text) == (
        "http://example.org/a", "2006-01-02T15:04:05Z", "Vieux", "Archive ancienne."
    )


# --- dedup scan ------------------------------------------------------------------------------------


def test_scan_finds_two_copies_of_an_article_in_one_warc(tmp_path: Path) -> None:
    article = (SEEDS / "003_19e94b5d51f8bfbe.txt").read_text("utf-8")
    paragraphs = [line for line in article.splitlines() if line.strip()]
    other = (SEEDS / "004_8afae5d1ef3306d5.txt").read_text("utf-8")
    warc = (
        Warc()
        .request(1, "https://news.example/kim")
        .response(2, "https://news.example/kim", html(*paragraphs, title="Kim"))
        .response(3, "https://other.example/monde/kim", html(*paragraphs, title="Kim | Other"))
        .response(4, "https://news.example/other", html(*other.splitlines(), title="Autre"))
        .response(5, "https://news.example/photo.jpg", b"\xff\xd8\xff", content_type="image/jpeg")
    )
    warc.write(tmp_path / "crawl" / "cc-news.warc.gz")
    result = CliRunner().invoke(cli, ["scan", str(tmp_path / "crawl"), "-f", "json", "-q"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    first, second = f"cc-news.warc.gz#urn:uuid:{uid(2)}", f"cc-news.warc.gz#urn:uuid:{uid(3)}"
    assert [d["id"] for d in data["documents"]] == [first, second, f"cc-news.warc.gz#urn:uuid:{uid(4)}"]
    assert data["documents"][1]["url"] == "https://other.example/monde/kim"
    assert [(p["a"], p["b"]) for p in data["pairs"]] == [(first, second)]
    assert data["pairs"][0]["relation"] == "duplicate"
    assert data["skipped"] == []
