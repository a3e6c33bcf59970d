"""HTML pair reports: self-contained, every passage marked, and the script runs in a real browser."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from dedup import scan_paths
from dedup.align import align, align_pairs
from dedup.errors import InputError
from dedup.html_report import render_html, write_html, write_pair_reports
from dedup.read import read_file
from dedup.types import Document

SEEDS = Path(__file__).resolve().parent.parent / "fixtures" / "seeds"


def _seed(number: int) -> Document:
    doc = read_file(next(SEEDS.glob(f"{number:03d}_*.txt")))[0]
    assert isinstance(doc, Document)
    return doc


@pytest.fixture(scope="module")
def pair():
    source, derived = _seed(3), _seed(0)
    al = align(source, derived)
    return al, source, derived, render_html(al, source, derived)


def test_page_is_self_contained(pair):
    page = pair[3]
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert not re.search(r"<script[^>]*\bsrc\s*=", page, re.I)
    assert not re.search(r"<link\b", page, re.I)
    assert "@import" not in page and "url(" not in page
    assert page.count("<script>") == 1 and page.count("<style>") == 1


def test_every_passage_is_marked_with_its_label(pair):
    al, source, derived, page = pair
    for kind in ("copied", "edited", "paraphrased", "added", "omitted"):
        assert f'class="psg k-{kind}"' in page
    for n, p in enumerate(al.passages):
        if p.derived is not None:
            assert f'id="d{n}" data-kind="{p.kind}"' in page
            if not p.diff:
                assert html.escape(derived.text[p.derived.start : p.derived.end]) in page
    # every omitted source sentence appears whole
    for p in al.passages:
        if p.kind == "omitted":
            assert html.escape(source.text[p.source.start : p.source.end]) in page


def test_edits_are_marked_inside_edited_passages(pair):
    page = pair[3]
    assert "<del>Dans son message, publié vendredi par l&#x27;agence d&#x27;Etat</del> <ins>Selon</ins>" in page


def test_links_point_to_existing_elements(pair):
    page = pair[3]
    ids = set(re.findall(r'\bid="([^"]+)"', page))
    links = re.findall(r'data-links="([^"]*)"', page)
    assert links
    targets = {t for value in links for t in value.split()}
    assert targets and targets <= ids
    # a matched derived passage links to the source, and back
    assert any(t.startswith("s") for t in targets) and any(t.startswith("d") for t in targets)


def test_documents_must_match_the_alignment(pair):
    al, source, derived, _ = pair
    with pytest.raises(InputError, match="do not match the alignment"):
        render_html(al, derived, source)


def test_write_html(tmp_path, pair):
    al, source, derived, page = pair
    out = write_html(al, source, derived, tmp_path / "p.html")
    assert out.read_text("utf-8") == page


def test_write_pair_reports(tmp_path):
    result = scan_paths([str(SEEDS)])
    alignments = align_pairs(result)
    paths = write_pair_reports(result, alignments, tmp_path / "pairs")
    assert paths[0].name == "index.html"
    assert len(paths) == len(alignments) + 1
    index = paths[0].read_text("utf-8")
    for page in paths[1:]:
        assert page.exists() and page.parent == tmp_path / "pairs"
        assert f'href="{page.name}"' in index
        assert re.fullmatch(r"\d{3}-[\w.-]+--[\w.-]+\.html", page.name)


def _chromium() -> str | None:
    if os.path.exists("/usr/bin/chromium"):
        return "/usr/bin/chromium"
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def test_script_runs_in_a_real_browser(tmp_path, pair):
    browser = _chromium()
    if browser is None:
        pytest.skip("chromium not installed: no /usr/bin/chromium, chromium, chromium-browser or google-chrome")
    al, source, derived, page = pair
    path = tmp_path / "pair.html"
    path.write_text(page, encoding="utf-8")
    command = [
        browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", path.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    body = re.search(r"<body([^>]*)>", done.stdout)
    assert body, done.stdout[:500]
    assert 'data-ready="yes"' in body.group(1)
    linked = re.search(r'data-linked="(\d+)"', body.group(1))
    matched = sum(1 for p in al.passages if p.derived is not None and p.source is not None)
    assert linked and int(linked.group(1)) >= matched > 0
