"""Tests of dedup.read: files, folders, ids, decoding, HTML extraction and every skip reason."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import pytest
from charset_normalizer import CharsetMatches
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedup import read
from dedup.errors import ConfigError, DedupError, InputError
from dedup.read import (
    DEFAULT_MAX_BYTES,
    SUPPORTED_EXTENSIONS,
    TEXT_FIELDS,
    WARC_EXTENSIONS,
    html_to_text,
    iter_documents,
    read_file,
)
from dedup.types import Document, Skipped

SEEDS = Path(__file__).resolve().parent.parent / "fixtures" / "seeds"
FRENCH = "Publié le 27 décembre, l’armée a déclaré « non »"

ARTICLE_HTML = """<!doctype html>
<html><head>
<meta charset="utf-8">
<title>Page title | Le Journal</title>
<meta property="og:title" content="Séoul et Moscou renforcent leur alliance">
<meta property="og:site_name" content="Le Journal">
<meta property="article:published_time" content="2026-01-01T08:00:00+00:00">
<link rel="canonical" href="https://example.org/monde/alliance">
<style>p { color: red }</style>
<script>var tracking = "do not keep";</script>
</head><body>
<header><a href="/">Le Journal</a> Accueil</header>
<nav><ul><li>Monde</li><li>Sport</li></ul></nav>
<article>
  <h1>Séoul et Moscou</h1>
  <p>Premier   paragraphe,
     sur deux lignes.</p>
  <script>alert("no")</script>
  <p>Deuxième <b>paragraphe</b> avec <i>style</i>.</p>
  <ul><li>un</li><li>deux</li></ul>
  <p>Ligne un<br>ligne deux</p>
</article>
<aside>Lire aussi</aside>
<form><input name="q"> Rechercher</form>
<noscript>Activez JavaScript</noscript>
<footer>© Le Journal</footer>
</body></html>
"""


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def write_jsonl(path: Path, records: list[object]) -> Path:
    return write(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


def docs_of(items: list[Document | Skipped]) -> list[Document]:
    return [item for item in items if isinstance(item, Document)]


def skips_of(items: list[Document | Skipped]) -> list[Skipped]:
    return [item for item in items if isinstance(item, Skipped)]


def only_doc(items: list[Document | Skipped]) -> Document:
    assert len(items) == 1 and isinstance(items[0], Document), items
    return items[0]


def only_skip(items: list[Document | Skipped]) -> Skipped:
    assert len(items) == 1 and isinstance(items[0], Skipped), items
    return items[0]


# --- public constants ---------------------------------------------------------------------


def test_public_constants() -> None:
    assert WARC_EXTENSIONS == frozenset({".warc", ".warc.gz", ".arc", ".arc.gz"})
    assert SUPPORTED_EXTENSIONS == frozenset({".txt", ".md", ".html", ".htm", ".json", ".jsonl"}) | WARC_EXTENSIONS
    assert TEXT_FIELDS == ("text", "body", "content")
    assert DEFAULT_MAX_BYTES == 50 * 1024 * 1024


# --- plain text and Markdown --------------------------------------------------------------


def test_txt_is_read_verbatim(tmp_path: Path) -> None:
    text = "Line one.\r\n\r\n  Indented   line\twith tab.\nLast line without newline"
    path = write(tmp_path / "a.txt", text)
    doc = only_doc(read_file(path))
    assert doc.text == text
    assert doc.path == str(path)
    assert doc.id == str(path).replace(os.sep, "/")
    assert dict(doc.meta) == {}


def test_md_keeps_markdown(tmp_path: Path) -> None:
    text = "# Title\n\nSome *emphasis* and a [link](http://x).\n\n- item\n"
    doc = only_doc(read_file(write(tmp_path / "n.md", text)))
    assert doc.text == text


def test_leading_utf8_bom_is_stripped(tmp_path: Path) -> None:
    path = write(tmp_path / "bom.txt", b"\xef\xbb\xbfHello \xc3\xa9t\xc3\xa9")
    doc = only_doc(read_file(path))
    assert doc.text == "Hello été"
    assert dict(doc.meta) == {}


def test_utf16_with_bom_is_not_binary(tmp_path: Path) -> None:
    path = write(tmp_path / "wide.txt", "Bonjour à tous".encode("utf-16"))
    doc = only_doc(read_file(path))
    assert doc.text == "Bonjour à tous"
    assert doc.meta["encoding"] == "utf-16"


def test_uppercase_extension_is_supported(tmp_path: Path) -> None:
    doc = only_doc(read_file(write(tmp_path / "UP.TXT", "shout")))
    assert doc.text == "shout"


def test_doc_id_argument(tmp_path: Path) -> None:
    doc = only_doc(read_file(write(tmp_path / "a.txt", "x"), doc_id="custom"))
    assert doc.id == "custom"


def test_file_argument_id_is_path_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "sub" / "a.txt", "hello")
    monkeypatch.chdir(tmp_path)
    doc = only_doc(list(iter_documents(["sub/a.txt"])))
    assert doc.id == "sub/a.txt"
    assert doc.path == "sub/a.txt"


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")).filter(
        lambda t: t.strip() != "" and not t.startswith("\ufeff")
    )
)
def test_any_utf8_text_reads_back_identically(tmp_path: Path, text: str) -> None:
    path = write(tmp_path / "prop.txt", text)
    doc = only_doc(read_file(path))
    assert doc.text == text


# --- decoding -------------------------------------------------------------------------------


def test_cp1252_french_is_detected(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write(tmp_path / "fr.txt", FRENCH.encode("cp1252"))
    with caplog.at_level(logging.WARNING, logger="dedup.read"):
        doc = only_doc(read_file(path))
    assert doc.text == FRENCH
    assert doc.meta["encoding"] == "cp1252"
    (warning,) = doc.meta["warnings"]
    assert isinstance(doc.meta["warnings"], tuple)
    assert "not valid UTF-8" in warning and doc.meta["encoding"] in warning
    assert any(str(path) in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)


def test_cp1252_wins_ties_but_not_real_central_european_text(tmp_path: Path) -> None:
    french = "Deuxième phrase, très été à Genève."
    assert only_doc(read_file(write(tmp_path / "fr.txt", french.encode("cp1252")))).text == french
    polish = "Zażółć gęślą jaźń, čeština řeřicha"
    doc = only_doc(read_file(write(tmp_path / "pl.txt", polish.encode("cp1250"))))
    assert doc.text == polish
    assert doc.meta["encoding"] == "cp1250"


def test_undecodable_bytes_are_replaced_with_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = b"Title: " + bytes(range(0x80, 0x100)) * 3
    path = write(tmp_path / "junk.txt", data)
    with caplog.at_level(logging.WARNING, logger="dedup.read"):
        doc = only_doc(read_file(path))
    assert doc.text == data.decode("utf-8", errors="replace")
    assert "\ufffd" in doc.text
    assert doc.meta["encoding"] == "utf-8"
    (warning,) = doc.meta["warnings"]
    assert "replacement" in warning
    assert caplog.records


def test_no_detection_falls_back_to_replacement(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(read, "from_bytes", lambda data: CharsetMatches())
    doc = only_doc(read_file(write(tmp_path / "fr.txt", FRENCH.encode("cp1252"))))
    assert doc.text == FRENCH.encode("cp1252").decode("utf-8", errors="replace")
    assert "replacement" in doc.meta["warnings"][0]


def test_json_records_carry_decoding_warning(tmp_path: Path) -> None:
    text = f"{FRENCH}. Deuxième phrase, très été."
    records = [{"id": i, "text": text} for i in range(3)]
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("cp1252")
    docs = docs_of(read_file(write(tmp_path / "fr.jsonl", data)))
    assert [d.text for d in docs] == [text] * 3
    assert all(d.meta["warnings"] and d.meta["encoding"] for d in docs)


# --- HTML -----------------------------------------------------------------------------------


def test_html_to_text_drops_boilerplate_and_keeps_paragraphs() -> None:
    text, _ = html_to_text(ARTICLE_HTML)
    assert text == (
        "Séoul et Moscou\n\n"
        "Premier paragraphe, sur deux lignes.\n\n"
        "Deuxième paragraphe avec style.\n\n"
        "un\ndeux\n\n"
        "Ligne un\nligne deux"
    )
    for dropped in (
        "tracking",
        "alert",
        "color",
        "Accueil",
        "Sport",
        "Lire aussi",
        "Rechercher",
        "JavaScript",
        "©",
        "Page title",
    ):
        assert dropped not in text


def test_html_to_text_metadata() -> None:
    _, meta = html_to_text(ARTICLE_HTML)
    assert meta == {
        "title": "Séoul et Moscou renforcent leur alliance",
        "url": "https://example.org/monde/alliance",
        "date": "2026-01-01T08:00:00+00:00",
        "source": "Le Journal",
    }


def test_html_metadata_fallbacks() -> None:
    html = (
        '<head><title> Only  title </title><meta property="og:url" content="https://x/y"></head>'
        '<body><h1>Heading</h1><p>Text <time datetime="2025-12-27">27 déc.</time></p></body>'
    )
    text, meta = html_to_text(html)
    assert meta == {"title": "Only title", "url": "https://x/y", "date": "2025-12-27"}
    assert text == "Heading\n\nText 27 déc."


def test_html_title_falls_back_to_h1_and_itemprop_date() -> None:
    html = (
        '<body><h1>The  headline</h1><span itemprop="datePublished" content="2024-05-01">'
        "May 1</span><p>Body.</p></body>"
    )
    _, meta = html_to_text(html)
    assert meta == {"title": "The headline", "date": "2024-05-01"}


def test_html_to_text_more_drops_and_blocks() -> None:
    html = (
        "<div>a<div>b</div></div><template><p>tpl</p></template><svg><text>vec</text></svg>"
        "<iframe>frame</iframe><table><tr><td>c1</td><td>c2</td></tr><tr><td>d</td></tr></table>"
        "<blockquote>quote</blockquote><section>s</section><h2>h</h2>"
        "<p>\n\n\n</p><p>x&nbsp;&amp;&nbsp;y</p>"
    )
    text, _ = html_to_text(html)
    assert text == "a\n\nb\n\nc1\nc2\nd\n\nquote\n\ns\n\nh\n\nx & y"
    assert "\n\n\n" not in text


def test_html_to_text_deeply_nested() -> None:
    text, _ = html_to_text("<div>" * 3000 + "deep" + "</div>" * 3000)
    assert text == "deep"


def test_html_file(tmp_path: Path) -> None:
    path = write(tmp_path / "page.html", ARTICLE_HTML)
    doc = only_doc(read_file(path, doc_id="page.html"))
    assert doc.text.startswith("Séoul et Moscou\n\nPremier paragraphe")
    assert doc.title == "Séoul et Moscou renforcent leur alliance"
    assert doc.url == "https://example.org/monde/alliance"
    assert doc.date == "2026-01-01T08:00:00+00:00"
    assert doc.source == "Le Journal"
    assert doc.path == str(path)


def test_htm_extension(tmp_path: Path) -> None:
    doc = only_doc(read_file(write(tmp_path / "p.htm", "<p>short</p>")))
    assert doc.text == "short"


def test_html_meta_charset_is_respected(tmp_path: Path) -> None:
    html = f'<html><head><meta charset="windows-1252"></head><body><p>{FRENCH}</p></body></html>'
    doc = only_doc(read_file(write(tmp_path / "p.html", html.encode("cp1252"))))
    assert doc.text == FRENCH
    assert doc.meta["encoding"] == "cp1252"
    assert "meta charset" in doc.meta["warnings"][0]


def test_html_http_equiv_latin1_means_windows_1252(tmp_path: Path) -> None:
    html = (
        f'<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1"><p>{FRENCH}</p>'
    )
    doc = only_doc(read_file(write(tmp_path / "p.html", html.encode("cp1252"))))
    assert doc.text == FRENCH
    assert doc.meta["encoding"] == "cp1252"


def test_html_without_charset_is_detected(tmp_path: Path) -> None:
    html = f"<html><body><p>{FRENCH}</p><p>{FRENCH}</p></body></html>"
    doc = only_doc(read_file(write(tmp_path / "p.html", html.encode("cp1252"))))
    assert doc.text == f"{FRENCH}\n\n{FRENCH}"
    assert doc.meta["warnings"]


def test_html_without_text_is_skipped(tmp_path: Path) -> None:
    html = "<html><head><title>T</title></head><body><nav>menu</nav><script>x</script></body>"
    skip = only_skip(read_file(write(tmp_path / "empty.html", html)))
    assert skip.reason == "no text after HTML extraction"


# --- JSON and JSON Lines --------------------------------------------------------------------


def test_jsonl_ids_and_fields(tmp_path: Path) -> None:
    records = [
        {
            "id": "a1",
            "text": "First.",
            "title": "T1",
            "url": "http://x/1",
            "date": "2025-01-01",
            "source": "AFP",
            "lang": "fr",
            "words": 1,
            "tags": ["x"],
        },
        {
            "id": 7,
            "body": "Second.",
            "headline": "T2",
            "link": "http://x/2",
            "published_at": "2025-01-02",
            "publisher": {"name": "Reuters"},
        },
        {"content": "Third.", "pubdate": 20250103, "site": "AP"},
    ]
    path = write_jsonl(tmp_path / "news.jsonl", records)
    first, second, third = docs_of(read_file(path, doc_id="news.jsonl"))
    assert [first.id, second.id, third.id] == ["news.jsonl#a1", "news.jsonl#7", "news.jsonl#L3"]
    assert [first.text, second.text, third.text] == ["First.", "Second.", "Third."]
    assert (first.title, first.url, first.date, first.source) == (
        "T1",
        "http://x/1",
        "2025-01-01",
        "AFP",
    )
    assert (second.title, second.url, second.date, second.source) == (
        "T2",
        "http://x/2",
        "2025-01-02",
        "Reuters",
    )
    assert (third.date, third.source) == ("20250103", "AP")
    assert dict(first.meta) == {"lang": "fr", "words": 1}
    assert first.path == str(path)


def test_jsonl_line_numbers_count_blank_lines(tmp_path: Path) -> None:
    path = write(tmp_path / "b.jsonl", '{"text": "one"}\n\n  \n{"text": "four"}\r\n')
    assert [d.id for d in docs_of(read_file(path, doc_id="b.jsonl"))] == [
        "b.jsonl#L1",
        "b.jsonl#L4",
    ]


def test_jsonl_bad_lines_are_skipped_and_good_lines_read(tmp_path: Path) -> None:
    lines = [
        '{"id": 1, "text": "good one"}',
        '{"id": 2, "text": "broken"',
        "[1, 2]",
        '{"id": 4, "title": "no text"}',
        '{"id": 5, "text": "   "}',
        '{"id": 6, "text": "good two"}',
    ]
    path = write(tmp_path / "mixed.jsonl", "\n".join(lines) + "\n")
    items = read_file(path, doc_id="mixed.jsonl")
    assert [d.id for d in docs_of(items)] == ["mixed.jsonl#1", "mixed.jsonl#6"]
    skips = {s.path: s.reason for s in skips_of(items)}
    assert list(skips) == [f"{path}:2", f"{path}:3", f"{path}:4", f"{path}:5"]
    assert skips[f"{path}:2"].startswith("invalid JSON: Expecting ")
    assert skips[f"{path}:2"].endswith("(line 2, column 27)")
    assert skips[f"{path}:3"] == "not a JSON object (got a list)"
    assert skips[f"{path}:4"] == "no text field (tried text, body, content, article, maintext)"
    assert skips[f"{path}:5"] == "empty text (field 'text')"


def test_jsonl_repeated_record_ids_get_suffixes(tmp_path: Path) -> None:
    records = [{"id": "x", "text": "a"}, {"id": "x", "text": "b"}]
    path = write_jsonl(tmp_path / "r.jsonl", records)
    ids = [d.id for d in docs_of(read_file(path, doc_id="r.jsonl"))]
    assert ids == ["r.jsonl#x", "r.jsonl#x~2"]


def test_jsonl_line_separator_inside_string_is_not_a_line_break(tmp_path: Path) -> None:
    path = write(tmp_path / "u.jsonl", '{"text": "a\u2028b"}\n{"text": "c"}\n')
    assert [d.text for d in docs_of(read_file(path))] == ["a\u2028b", "c"]


def test_text_fields_order_and_fallbacks(tmp_path: Path) -> None:
    records = [
        {"body": "from body", "text": "from text"},
        {"text": "", "body": "non-empty body"},
        {"maintext": "from maintext"},
        {"article": "from article", "maintext": "later"},
    ]
    path = write_jsonl(tmp_path / "f.jsonl", records)
    assert [d.text for d in docs_of(read_file(path))] == [
        "from text",
        "non-empty body",
        "from maintext",
        "from article",
    ]
    custom = docs_of(read_file(path, text_fields=("body",)))
    assert [d.text for d in custom] == [
        "from body",
        "non-empty body",
        "from maintext",
        "from article",
    ]


def test_record_text_fields_do_not_leak_into_meta(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "m.jsonl", [{"text": "t", "body": "b", "n": None, "ok": True}])
    assert dict(only_doc(read_file(path)).meta) == {"ok": True}


def test_json_single_object(tmp_path: Path) -> None:
    path = write(tmp_path / "one.json", json.dumps({"id": "z", "text": "Solo.", "title": "T"}))
    doc = only_doc(read_file(path, doc_id="one.json"))
    assert (doc.id, doc.text, doc.title) == ("one.json", "Solo.", "T")
    assert doc.meta["id"] == "z"


def test_json_list_of_objects(tmp_path: Path) -> None:
    records = [{"id": "k", "text": "A"}, {"text": "B"}, "oops", {"nothing": 1}]
    path = write(tmp_path / "many.json", json.dumps(records))
    items = read_file(path, doc_id="many.json")
    assert [(d.id, d.text) for d in docs_of(items)] == [("many.json#k", "A"), ("many.json#1", "B")]
    assert [(s.path, s.reason) for s in skips_of(items)] == [
        (f"{path}[2]", "not a JSON object (got a string)"),
        (f"{path}[3]", "no text field (tried text, body, content, article, maintext)"),
    ]


def test_json_object_without_text_field(tmp_path: Path) -> None:
    skip = only_skip(read_file(write(tmp_path / "o.json", '{"title": "t"}')))
    assert skip.reason == "no text field (tried text, body, content, article, maintext)"


def test_json_object_with_custom_text_field(tmp_path: Path) -> None:
    path = write(tmp_path / "o.json", '{"story": "Custom."}')
    assert only_doc(read_file(path, text_fields=["story"])).text == "Custom."
    assert only_skip(read_file(path)).reason.startswith("no text field (tried text,")


def test_malformed_json(tmp_path: Path) -> None:
    skip = only_skip(read_file(write(tmp_path / "bad.json", '{\n  "text": "x",\n  oops\n}')))
    assert (
        skip.reason == "invalid JSON: Expecting property name enclosed in double quotes "
        "(line 3, column 3)"
    )


def test_json_lines_in_a_json_file_gets_a_hint(tmp_path: Path) -> None:
    skip = only_skip(read_file(write(tmp_path / "x.json", '{"text": "a"}\n{"text": "b"}\n')))
    assert skip.reason.startswith("invalid JSON: Extra data (line 2, column 1)")
    assert ".jsonl" in skip.reason


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("[]", "no records (empty JSON list)"),
        ('"just a string"', "JSON top level is a string, expected an object or a list"),
        ("42", "JSON top level is a number, expected an object or a list"),
        ("null", "JSON top level is null, expected an object or a list"),
    ],
)
def test_json_top_level_shapes(tmp_path: Path, content: str, reason: str) -> None:
    assert only_skip(read_file(write(tmp_path / "t.json", content))).reason == reason


# --- skip reasons ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["e.txt", "e.md", "e.html", "e.json", "e.jsonl"])
@pytest.mark.parametrize("content", [b"", b"  \n\t\r\n "])
def test_empty_files_are_skipped(tmp_path: Path, name: str, content: bytes) -> None:
    path = write(tmp_path / name, content)
    assert only_skip(read_file(path)) == Skipped(str(path), "empty file")


def test_bom_only_file_is_empty(tmp_path: Path) -> None:
    path = write(tmp_path / "b.txt", b"\xef\xbb\xbf \n")
    assert only_skip(read_file(path)).reason == "empty file"


def test_binary_file_is_skipped(tmp_path: Path) -> None:
    path = write(tmp_path / "img.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert only_skip(read_file(path)).reason == "binary file (contains NUL bytes)"


def test_nul_after_first_8_kib_is_not_binary(tmp_path: Path) -> None:
    path = write(tmp_path / "late.txt", b"a" * 8192 + b"\x00tail")
    assert only_doc(read_file(path)).text == "a" * 8192 + "\x00tail"


def test_unreadable_file_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "locked.txt", "secret")

    def deny(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(read, "open", deny, raising=False)
    assert only_skip(read_file(path)).reason == "cannot read: Permission denied"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads anything")
def test_unreadable_file_by_mode(tmp_path: Path) -> None:
    path = write(tmp_path / "locked.txt", "secret")
    path.chmod(0)
    try:
        assert only_skip(read_file(path)).reason == "cannot read: Permission denied"
    finally:
        path.chmod(0o644)


def test_missing_file_in_read_file_is_skipped(tmp_path: Path) -> None:
    skip = only_skip(read_file(tmp_path / "nope.txt"))
    assert skip.reason == "cannot read: No such file or directory"


def test_unsupported_extension(tmp_path: Path) -> None:
    assert only_skip(read_file(write(tmp_path / "p.jpg", b"\xff\xd8"))).reason == (
        "unsupported file type '.jpg'"
    )
    assert only_skip(read_file(write(tmp_path / "README", "x"))).reason == (
        "unsupported file type (no extension)"
    )


def test_only_archives_may_be_gzipped(tmp_path: Path) -> None:
    assert only_skip(read_file(write(tmp_path / "a.txt.gz", b"\x1f\x8b"))).reason == "unsupported file type '.gz'"
    assert only_skip(read_file(write(tmp_path / "crawl.warc.wet.gz", b"\x1f\x8b"))).reason == (
        "unsupported file type '.gz'"
    )


@pytest.mark.parametrize("name", ["c.warc", "c.warc.gz", "C.ARC.GZ", "c.arc"])
def test_warc_without_warcio_is_skipped_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    # None in sys.modules makes the import fail as if warcio were not installed.
    monkeypatch.setitem(sys.modules, "warcio", None)
    monkeypatch.setitem(sys.modules, "warcio.archiveiterator", None)
    write(tmp_path / "corpus" / name, b"WARC/1.0\r\n")
    write(tmp_path / "corpus" / "a.txt", "Texte.")
    items = list(iter_documents([tmp_path / "corpus"]))
    assert [d.id for d in docs_of(items)] == ["a.txt"]
    assert skips_of(items) == [Skipped(str(tmp_path / "corpus" / name), read.WARC_NOT_INSTALLED)]
    assert "install dedup[warc]" in read.WARC_NOT_INSTALLED


def test_broken_symlink(tmp_path: Path) -> None:
    link = tmp_path / "gone.txt"
    link.symlink_to(tmp_path / "missing.txt")
    skip = only_skip(read_file(link))
    assert skip.reason.startswith("broken symlink")
    # A broken symlink exists as a path: iter_documents reports it instead of raising.
    assert only_skip(list(iter_documents([link]))).path == str(link)


def test_file_too_large(tmp_path: Path) -> None:
    path = write(tmp_path / "big.txt", "x" * 20)
    skip = only_skip(read_file(path, max_bytes=10))
    assert skip.reason == "file too large (20 bytes > max_bytes=10)"
    assert only_doc(read_file(path, max_bytes=20)).text == "x" * 20


def test_default_limit_is_50_mb(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    with open(path, "wb") as handle:
        handle.truncate(DEFAULT_MAX_BYTES + 1)  # sparse: no real disk use
    assert only_skip(read_file(path)).reason.startswith("file too large")


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_bad_max_bytes(tmp_path: Path, bad: object) -> None:
    with pytest.raises(ConfigError, match="max_bytes must be a positive integer"):
        read_file(tmp_path / "a.txt", max_bytes=bad)  # type: ignore[arg-type]


def test_fifo_is_skipped_not_blocking(tmp_path: Path) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    assert only_skip(read_file(fifo)).reason == "not a regular file"


def test_folder_named_like_a_file(tmp_path: Path) -> None:
    (tmp_path / "dir.txt").mkdir()
    assert only_skip(read_file(tmp_path / "dir.txt")).reason == "is a folder, not a file"


# --- folders, ids and order -----------------------------------------------------------------


def build_corpus(root: Path) -> None:
    write(root / "b.txt", "bee")
    write(root / "a.txt", "ay")
    write(root / "sub" / "deeper" / "c.md", "see")
    write(root / "sub" / "d.html", "<p>dee</p>")
    write_jsonl(root / "sub" / "e.jsonl", [{"id": "r", "text": "e1"}, {"text": "e2"}])
    write(root / "sub" / "f.json", json.dumps([{"text": "f0"}]))
    write(root / "photo.jpg", b"\xff\xd8\xff")
    write(root / ".hidden.txt", "hidden")
    write(root / ".git" / "x.txt", "hidden dir")
    write(root / "sub" / ".cache" / "y.txt", "hidden nested dir")


def test_folder_ids_and_order(tmp_path: Path) -> None:
    build_corpus(tmp_path / "corpus")
    items = list(iter_documents([tmp_path / "corpus"]))
    assert [d.id for d in docs_of(items)] == [
        "a.txt",
        "b.txt",
        "sub/d.html",
        "sub/deeper/c.md",
        "sub/e.jsonl#r",
        "sub/e.jsonl#L2",
        "sub/f.json#0",
    ]
    assert [d.text for d in docs_of(items)] == ["ay", "bee", "dee", "see", "e1", "e2", "f0"]
    assert [(s.path, s.reason) for s in skips_of(items)] == [
        (str(tmp_path / "corpus" / "photo.jpg"), "unsupported file type '.jpg'")
    ]
    paths = {d.id: d.path for d in docs_of(items)}
    assert paths["sub/deeper/c.md"] == str(tmp_path / "corpus" / "sub" / "deeper" / "c.md")


def test_order_is_deterministic(tmp_path: Path) -> None:
    build_corpus(tmp_path / "corpus")
    first = list(iter_documents([tmp_path / "corpus"]))
    second = list(iter_documents([str(tmp_path / "corpus")]))
    assert first == second


def test_mixed_arguments_keep_argument_order(tmp_path: Path) -> None:
    write(tmp_path / "z.txt", "zed")
    build_corpus(tmp_path / "corpus")
    ids = [d.id for d in docs_of(list(iter_documents([tmp_path / "z.txt", tmp_path / "corpus"])))]
    assert ids[0] == str(tmp_path / "z.txt").replace(os.sep, "/")
    assert ids[1] == "a.txt"


def test_id_collisions_across_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for folder in ("a", "b"):
        write(tmp_path / folder / "x.txt", f"from {folder}")
        write_jsonl(tmp_path / folder / "r.jsonl", [{"id": 1, "text": folder}])
    write(tmp_path / "b" / "only_b.txt", "unique")
    monkeypatch.chdir(tmp_path)
    docs = docs_of(list(iter_documents(["a", "b/"])))
    assert [(d.id, d.text) for d in docs] == [
        ("r.jsonl#1", "a"),
        ("x.txt", "from a"),
        ("only_b.txt", "unique"),
        ("b/r.jsonl#1", "b"),
        ("b/x.txt", "from b"),
    ]


def test_id_collision_still_colliding_gets_suffix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "a" / "x.txt", "one")
    monkeypatch.chdir(tmp_path)
    docs = docs_of(list(iter_documents(["a", "a", "a"])))
    assert [d.id for d in docs] == ["x.txt", "a/x.txt", "a/x.txt~2"]
    assert len({d.id for d in docs}) == 3


def test_same_file_twice_gets_suffix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "x.txt", "one")
    monkeypatch.chdir(tmp_path)
    assert [d.id for d in docs_of(list(iter_documents(["x.txt", "x.txt"])))] == ["x.txt", "x.txt~2"]


def test_missing_path_raises_input_error_at_call(tmp_path: Path) -> None:
    write(tmp_path / "ok.txt", "fine")
    with pytest.raises(InputError, match="does not exist") as info:
        iter_documents([tmp_path / "ok.txt", tmp_path / "missing"])
    assert isinstance(info.value, DedupError)


def test_single_path_string_is_one_path(tmp_path: Path) -> None:
    write(tmp_path / "c" / "a.txt", "x")
    assert [d.id for d in docs_of(list(iter_documents(str(tmp_path / "c"))))] == ["a.txt"]


def test_hidden_file_given_explicitly_is_read(tmp_path: Path) -> None:
    path = write(tmp_path / ".secret.txt", "shown")
    assert only_doc(list(iter_documents([path]))).text == "shown"


def test_skips_do_not_stop_the_run(tmp_path: Path) -> None:
    root = tmp_path / "c"
    write(root / "1_empty.txt", "")
    write(root / "2_binary.txt", b"\x00\x01")
    write(root / "3_bad.json", "{")
    write(root / "4_good.txt", "kept")
    (root / "5_link.txt").symlink_to(root / "missing.txt")
    write(root / "6_big.txt", "y" * 100)
    items = list(iter_documents([root], max_bytes=50))
    assert [d.id for d in docs_of(items)] == ["4_good.txt"]
    reasons = [s.reason.split(" (")[0].split(":")[0] for s in skips_of(items)]
    assert reasons == [
        "empty file",
        "binary file",
        "invalid JSON",
        "broken symlink",
        "file too large",
    ]


def test_symlink_loop_is_not_followed_forever(tmp_path: Path) -> None:
    write(tmp_path / "c" / "a.txt", "x")
    (tmp_path / "c" / "loop").symlink_to(tmp_path / "c")
    items = list(iter_documents([tmp_path / "c"]))
    assert [d.id for d in docs_of(items)] == ["a.txt"]
    assert [s.reason for s in skips_of(items)] == ["folder already visited (symlink loop)"]


# --- the real seed folder -------------------------------------------------------------------


def test_seed_folder() -> None:
    items = list(iter_documents([SEEDS]))
    docs = docs_of(items)
    assert not skips_of(items)
    names = sorted(p.name for p in SEEDS.iterdir())
    assert len(docs) == 5
    assert [d.id for d in docs] == names
    assert docs[0].id == "000_737f3747a9db65a5.txt"
    for doc in docs:
        assert doc.text == (SEEDS / doc.id).read_bytes().decode("utf-8")
        assert doc.path == str(SEEDS / doc.id)
