"""The Scrapy pipeline, in a real crawl of pages served on 127.0.0.1."""

from __future__ import annotations

import html
import json
import subprocess
import sys
import textwrap
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from test_store import ROOT, seed

from dedup import ConfigError
from dedup.store import SyndicationIndex

pytest.importorskip("scrapy", reason="Scrapy is not installed (pip install 'dedup[scrapy]'): pipeline not tested")

from scrapy.exceptions import DropItem, NotConfigured  # noqa: E402

from dedup.scrapy_pipeline import SyndicationPipeline  # noqa: E402


def _reuters_text() -> str:
    line = (ROOT / "fixtures" / "reuters" / "reuters-400.jsonl").read_text(encoding="utf-8").splitlines()[0]
    return json.loads(line)["text"]


def _pages() -> dict[str, tuple[str, str]]:
    """name -> (title, text): an AFP story, two reprints, a rewrite and two unrelated articles."""
    story = seed("003").text
    lines = story.splitlines()
    cut = "\n".join(lines[: int(len(lines) * 0.8)])
    return {
        "p1": ("AFP dispatch", story),
        "p2": ("Reprint", "Le Quotidien du Nord - International\n" + story + "\nPartager cet article"),
        "p3": ("Trimmed reprint", cut),
        "p4": ("Rewrite", seed("002").text),
        "p5": ("Other event", seed("004").text),
        "p6": ("Money market", _reuters_text()),
    }


def _write_site(root: Path) -> list[str]:
    pages = _pages()
    names = list(pages)
    for i, name in enumerate(names):
        title, text = pages[name]
        paragraphs = "\n".join(f"<p>{html.escape(line)}</p>" for line in text.splitlines() if line.strip())
        nxt = f'<a class="next" href="{names[i + 1]}.html">next</a>' if i + 1 < len(names) else ""
        (root / f"{name}.html").write_text(
            f"<html><head><title>{html.escape(title)}</title></head><body><article>{paragraphs}</article>"
            f"{nxt}</body></html>", encoding="utf-8")
    return names


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "site"
    root.mkdir()
    names = _write_site(root)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", names
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


_CRAWL = textwrap.dedent('''
    import json, sys
    import scrapy
    from scrapy.crawler import CrawlerProcess

    base, index, action, out, stats_path = sys.argv[1:6]

    class Pages(scrapy.Spider):
        name = "pages"
        start_urls = [base + "/p1.html"]

        def parse(self, response):
            yield {"url": response.url, "title": response.css("title::text").get(),
                   "text": "\\n".join(response.css("article p::text").getall())}
            nxt = response.css("a.next::attr(href)").get()
            if nxt:
                yield response.follow(nxt, self.parse)

    process = CrawlerProcess(settings={
        "ITEM_PIPELINES": {"dedup.scrapy_pipeline.SyndicationPipeline": 300},
        "DEDUP_INDEX": index, "DEDUP_ACTION": action,
        "FEEDS": {out: {"format": "jsonlines"}},
        "LOG_LEVEL": "INFO", "ROBOTSTXT_OBEY": False, "TELNETCONSOLE_ENABLED": False,
    })
    crawler = process.create_crawler(Pages)
    process.crawl(crawler)
    process.start()
    with open(stats_path, "w") as f:
        json.dump(crawler.stats.get_stats(), f, default=str)
''')


def _crawl(tmp_path: Path, base: str, action: str) -> tuple[list[dict], dict, Path]:
    script = tmp_path / "crawl.py"
    script.write_text(_CRAWL, encoding="utf-8")
    index, out, stats = tmp_path / f"{action}.db", tmp_path / f"{action}.jsonl", tmp_path / f"{action}.json"
    proc = subprocess.run([sys.executable, str(script), base, str(index), action, str(out), str(stats)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    items = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()] if out.exists() else []
    return items, json.loads(stats.read_text(encoding="utf-8")), index


def test_crawl_drops_reprints_and_keeps_the_rewrite(tmp_path, site):
    base, names = site
    items, stats, index = _crawl(tmp_path, base, "drop")
    kept = sorted(item["url"].rsplit("/", 1)[1] for item in items)
    assert kept == ["p1.html", "p4.html", "p5.html", "p6.html"]
    assert stats["item_dropped_count"] == 2
    assert stats["dedup/new"] == 3 and stats["dedup/rewrite"] == 1
    assert stats.get("dedup/duplicate", 0) + stats.get("dedup/syndicated", 0) == 2
    with SyndicationIndex(index) as stored:  # dropped items are remembered too
        assert len(stored) == len(names)


def test_crawl_tags_every_item(tmp_path, site):
    base, _ = site
    items, stats, _ = _crawl(tmp_path, base, "tag")
    by_page = {item["url"].rsplit("/", 1)[1]: item for item in items}
    assert len(by_page) == 6 and stats.get("item_dropped_count", 0) == 0
    status = {page: item["dedup_status"] for page, item in by_page.items()}
    assert status["p1.html"] == status["p5.html"] == status["p6.html"] == "new"
    assert status["p2.html"] in {"duplicate", "syndicated"}
    assert status["p3.html"] in {"duplicate", "syndicated"}
    assert status["p4.html"] == "rewrite"
    first = base + "/p1.html"
    assert by_page["p2.html"]["dedup_matches"][0]["id"] == first
    assert first in {m["id"] for m in by_page["p4.html"]["dedup_matches"]}
    assert by_page["p1.html"]["dedup_matches"] == []


class _Settings(dict):
    def getlist(self, name, default=None):
        return list(self.get(name, default))

    def getint(self, name, default=0):
        return int(self.get(name, default))

    def getbool(self, name, default=False):
        value = self.get(name, default)
        return value if isinstance(value, bool) else value in ("1", "True", "true")


class _Crawler:
    def __init__(self, **settings):
        self.settings = _Settings(settings)
        self.stats = None


def test_pipeline_settings_are_checked(tmp_path):
    with pytest.raises(NotConfigured, match="DEDUP_INDEX"):
        SyndicationPipeline.from_crawler(_Crawler())
    with pytest.raises(ConfigError, match="DEDUP_ACTION"):
        SyndicationPipeline.from_crawler(_Crawler(DEDUP_INDEX=str(tmp_path / "i.db"), DEDUP_ACTION="delete"))
    with pytest.raises(ConfigError, match="DEDUP_DROP_STATUSES"):
        SyndicationPipeline(str(tmp_path / "i.db"), drop_statuses=("new",))
    for bad in (0, "many", 2.5):
        with pytest.raises(ConfigError, match="DEDUP_CANDIDATES"):
            SyndicationPipeline.from_crawler(_Crawler(DEDUP_INDEX=str(tmp_path / "i.db"), DEDUP_CANDIDATES=bad))
    with pytest.raises(ConfigError, match="DEDUP_MATCH_LIMIT"):
        SyndicationPipeline.from_crawler(_Crawler(DEDUP_INDEX=str(tmp_path / "i.db"), DEDUP_MATCH_LIMIT="five"))
    with pytest.raises(ConfigError, match="DEDUP_VERIFY: verify must be one of 'full', 'shingles'"):
        SyndicationPipeline.from_crawler(_Crawler(DEDUP_INDEX=str(tmp_path / "i.db"), DEDUP_VERIFY="quick"))


def test_pipeline_with_dedup_verify_shingles_tags_copies_not_rewrites(tmp_path):
    pipeline = SyndicationPipeline.from_crawler(_Crawler(DEDUP_INDEX=str(tmp_path / "i.db"), DEDUP_ACTION="tag",
                                                         DEDUP_VERIFY="shingles"))
    assert pipeline.verify == "shingles"
    pipeline.open_spider()
    try:
        statuses = [pipeline.process_item({"url": url, "text": text})["dedup_status"]
                    for url, text in (("a", seed("003").text), ("b", seed("003").text + " Et une phrase de plus."),
                                      ("c", seed("000").text))]
        assert statuses == ["new", "duplicate", "new"]  # c rewrites a: found with verify "full" only
    finally:
        pipeline.close_spider()


def test_pipeline_verifies_at_most_dedup_candidates(tmp_path):
    pipeline = SyndicationPipeline.from_crawler(_Crawler(DEDUP_INDEX=str(tmp_path / "i.db"), DEDUP_ACTION="tag",
                                                         DEDUP_CANDIDATES="1"))
    assert pipeline.candidates == 1
    pipeline.open_spider()
    try:
        story = seed("003").text
        for page in ("a", "b", "c"):
            tagged = pipeline.process_item({"url": page, "text": story})
        assert tagged["dedup_status"] == "duplicate" and len(tagged["dedup_matches"]) == 1
    finally:
        pipeline.close_spider()


def test_pipeline_without_a_crawl(tmp_path):
    import scrapy

    class Article(scrapy.Item):
        url = scrapy.Field()
        text = scrapy.Field()

    pipeline = SyndicationPipeline.from_crawler(_Crawler(DEDUP_INDEX=str(tmp_path / "i.db")))
    pipeline.open_spider()
    try:
        story = seed("003").text
        assert pipeline.process_item({"url": "a", "text": story}) == {"url": "a", "text": story}
        with pytest.raises(DropItem, match="duplicate of a"):
            pipeline.process_item({"url": "b", "text": story})
        assert pipeline.process_item({"url": "c"}) == {"url": "c"}  # no text: passes
        pipeline.action = "tag"
        with pytest.raises(ConfigError, match="declare them"):
            pipeline.process_item(Article(url="d", text=story))
        tagged = pipeline.process_item({"text": seed("004").text})  # no id: a hash of the text
        assert tagged["dedup_status"] == "new"
    finally:
        pipeline.close_spider()


def test_pipeline_gives_its_sqlite_handle_dedup_cache_mb_and_preloads_it(tmp_path, caplog):
    import logging

    path = str(tmp_path / "i.db")
    pipeline = SyndicationPipeline.from_crawler(_Crawler(DEDUP_INDEX=path, DEDUP_CACHE_MB="64", DEDUP_PRELOAD=True))
    assert (pipeline.cache_mb, pipeline.preload) == (64, True)
    pipeline.open_spider()
    try:
        assert pipeline.index._connection().execute("PRAGMA cache_size").fetchone()[0] == -64 * 1024  # noqa: SLF001
        pipeline.process_item({"url": "a", "text": seed("003").text})
        pipeline.index.merge()  # its keys into the key tables, which a preload reads
    finally:
        pipeline.close_spider()
    with caplog.at_level(logging.INFO, logger="dedup.scrapy_pipeline"):
        pipeline.open_spider()  # the second crawl preloads the keys the first one stored
        pipeline.close_spider()
    assert any("band keys preloaded" in r.getMessage() and not r.getMessage().startswith("syndication index: 0 ")
               for r in caplog.records)
    default = SyndicationPipeline.from_crawler(_Crawler(DEDUP_INDEX=path))
    assert (default.cache_mb, default.preload) == (None, False)
    for bad in (0, "lots", 2.5):
        with pytest.raises(ConfigError, match="DEDUP_CACHE_MB"):
            SyndicationPipeline.from_crawler(_Crawler(DEDUP_INDEX=path, DEDUP_CACHE_MB=bad))
    with pytest.raises(ConfigError, match="DEDUP_CACHE_MB applies to a SQLite index"):
        SyndicationPipeline("redis://127.0.0.1:1/0", cache_mb=64)
    with pytest.raises(ConfigError, match="DEDUP_PRELOAD applies to a SQLite index"):
        SyndicationPipeline("redis://127.0.0.1:1/0", preload=True)
