"""Self-contained HTML pages showing how a derived article reuses its source.

One page per aligned pair: the two texts side by side, passages coloured by label
(copied, edited, paraphrased, added, omitted), word changes marked inside edited passages
(``<del>`` source words, ``<ins>`` derived words), and hovering or clicking a passage
highlights its counterpart and scrolls it into view. Pages carry their CSS and script
inline and load nothing from the network, so they can be mailed or archived as they are.

>>> from dedup.align import align
>>> from dedup.types import Document
>>> d = Document("a", "Le chat dort sur le canapé du salon depuis ce matin.")
>>> "k-copied" in render_html(align(d, d), d, d)
True
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dedup.align import COVERAGE_KINDS, KINDS, AlignedPassage, Alignment, DiffOp
from dedup.errors import InputError
from dedup.types import Document, Span

if TYPE_CHECKING:
    from dedup.scan import ScanResult

log = logging.getLogger(__name__)

# strongest first: a source stretch used by several derived passages shows the strongest use
_STRENGTH = {"copied": 0, "edited": 1, "paraphrased": 2, "added": 3, "omitted": 4}
_UNSAFE = re.compile(r"[^\w.-]+")

_CSS = """
:root { --copied: #9be39b; --edited: #ffe08a; --paraphrased: #9cc9ff; --added: #eeeeee;
        --omitted: #f4c2c2; --hl: #ff6f00; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1d1d1d; }
header { padding: 12px 20px; border-bottom: 1px solid #ddd; background: #fafafa; }
h1 { font-size: 18px; margin: 0 0 6px; }
.verdict { display: inline-block; padding: 1px 8px; border-radius: 10px; background: #333; color: #fff;
           font-weight: 600; }
.reason { color: #555; margin-left: 8px; }
.bar { display: flex; height: 14px; margin: 8px 0 4px; border: 1px solid #ccc; max-width: 720px; }
.bar span { display: block; height: 100%; }
.legend span.key { display: inline-block; padding: 0 6px; margin-right: 6px; border-radius: 3px; }
main { display: grid; grid-template-columns: 1fr 1fr; gap: 0; }
section { padding: 0 16px 16px; border-right: 1px solid #ddd; min-width: 0; }
section h2 { font-size: 14px; margin: 10px 0; color: #444; word-break: break-all; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; max-height: calc(100vh - 170px); overflow-y: auto;
        padding-right: 6px; }
.psg { border-radius: 3px; cursor: pointer; transition: outline-color .2s; outline: 2px solid transparent; }
.k-copied { background: var(--copied); }
.k-edited { background: var(--edited); }
.k-paraphrased { background: var(--paraphrased); }
.k-added { background: var(--added); }
.k-omitted { background: var(--omitted); }
.outside { color: #999; }
.psg.hl { outline-color: var(--hl); box-shadow: 0 0 0 2px var(--hl); }
del { background: #f7a8a8; text-decoration: line-through; }
ins { background: #7fd67f; text-decoration: none; font-weight: 600; }
nav table { border-collapse: collapse; }
nav td, nav th { padding: 4px 10px; border-bottom: 1px solid #eee; text-align: left; }
"""

# Hover: highlight a passage and its counterparts. Click: scroll the counterpart into view.
# On load the script marks the page (data-ready) and counts the passages it could link.
_JS = """
(function () {
  function linked(el) {
    var ids = (el.getAttribute('data-links') || '').split(' ');
    var out = [];
    for (var i = 0; i < ids.length; i++) {
      var other = ids[i] && document.getElementById(ids[i]);
      if (other) { out.push(other); }
    }
    return out;
  }
  function mark(el, on) {
    var group = [el].concat(linked(el));
    for (var i = 0; i < group.length; i++) { group[i].classList.toggle('hl', on); }
  }
  function init() {
    var passages = document.querySelectorAll('.psg[data-links]');
    var count = 0;
    for (var i = 0; i < passages.length; i++) {
      var el = passages[i];
      if (linked(el).length) { count++; }
      el.addEventListener('mouseenter', function () { mark(this, true); });
      el.addEventListener('mouseleave', function () { mark(this, false); });
      el.addEventListener('click', function () {
        var others = linked(this);
        if (others.length) {
          others[0].scrollIntoView({behavior: 'smooth', block: 'center'});
          mark(this, true);
          var self = this;
          setTimeout(function () { mark(self, false); }, 1500);
        }
      });
    }
    document.body.setAttribute('data-linked', String(count));
    document.body.setAttribute('data-ready', 'yes');
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
"""


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{_esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n{body}\n"
        f"<script>{_JS}</script>\n</body>\n</html>\n"
    )


def _coverage_bar(al: Alignment) -> str:
    parts = []
    for kind in COVERAGE_KINDS:
        share = float(al.coverage.get(kind, 0.0))
        if share > 0:
            parts.append(f'<span class="k-{kind}" style="width:{share * 100:.3f}%" '
                         f'title="{kind} {share:.1%}"></span>')
    return f'<div class="bar">{"".join(parts)}</div>'


def _legend(al: Alignment) -> str:
    counts = al.counts
    keys = []
    for kind in KINDS:
        share = al.coverage.get(kind)
        figure = f" {share:.0%}" if share is not None else ""
        keys.append(f'<span class="key k-{kind}">{kind}{figure} ({counts[kind]})</span>')
    return f'<div class="legend">{"".join(keys)}</div>'


def _plain(text: str) -> str:
    """Text outside any passage: white space as is, anything else dimmed."""
    return _esc(text) if not text.strip() else f'<span class="outside">{_esc(text)}</span>'


def _edited_inner(p: AlignedPassage, text: str) -> str:
    """The derived passage with its changes: source words in <del>, new words in <ins>."""
    assert p.derived is not None
    out = []
    cursor = p.derived.start
    for op in sorted(p.diff, key=lambda o: (o.derived.start, o.derived.end)):
        if op.derived.start < cursor:
            continue
        out.append(_esc(text[cursor : op.derived.start]))
        if op.source_text:
            out.append(f"<del>{_esc(op.source_text)}</del>")
        if op.derived_text:
            if op.source_text:
                out.append(" ")
            out.append(f"<ins>{_esc(op.derived_text)}</ins>")
        cursor = max(cursor, op.derived.end)
    out.append(_esc(text[cursor : p.derived.end]))
    return "".join(out)


def _derived_column(al: Alignment, derived: Document, links: Mapping[int, list[str]]) -> str:
    text = derived.text
    out = []
    cursor = 0
    for n, p in enumerate(al.passages):
        if p.derived is None:
            continue
        out.append(_plain(text[cursor : p.derived.start]))
        inner = _edited_inner(p, text) if p.diff else _esc(text[p.derived.start : p.derived.end])
        title = f"{p.kind} {p.score:.2f}"
        data_links = " ".join(links.get(n, []))
        out.append(f'<span class="psg k-{p.kind}" id="d{n}" data-kind="{p.kind}" title="{title}" '
                   f'data-links="{data_links}">{inner}</span>')
        cursor = p.derived.end
    out.append(_plain(text[cursor:]))
    return "".join(out)


def _source_segments(al: Alignment, size: int) -> list[tuple[Span, list[int], list[DiffOp]]]:
    """Cut the source at every passage and change boundary; each piece lists the passages
    (by index) over it and the changes (deletions, replacements) inside it."""
    cuts = {0, size}
    ops: list[DiffOp] = []
    for p in al.passages:
        if p.source is not None:
            cuts.update((p.source.start, p.source.end))
        for op in p.diff:
            if op.source.end > op.source.start:
                cuts.update((op.source.start, op.source.end))
                ops.append(op)
    bounds = sorted(c for c in cuts if 0 <= c <= size)
    out = []
    for start, end in zip(bounds, bounds[1:], strict=False):
        if end <= start:
            continue
        over = [n for n, p in enumerate(al.passages)
                if p.source is not None and p.source.start <= start and end <= p.source.end]
        inside = [op for op in ops if op.source.start <= start and end <= op.source.end]
        out.append((Span(start, end), over, inside))
    return out


def _source_column(al: Alignment, source: Document) -> tuple[str, dict[int, list[str]]]:
    """The source text marked up, and for each derived passage the ids of its source pieces."""
    text = source.text
    out = []
    links: dict[int, list[str]] = {}
    for k, (span, over, inside) in enumerate(_source_segments(al, len(text))):
        piece = _esc(text[span.start : span.end])
        if not over:
            out.append(_plain(text[span.start : span.end]))
            continue
        if not text[span.start : span.end].strip():
            out.append(piece)  # white space inside a run of sentences
            continue
        kind = min((al.passages[n].kind for n in over), key=lambda kd: _STRENGTH[kd])
        derived_ids = [f"d{n}" for n in over if al.passages[n].derived is not None]
        for n in over:
            if al.passages[n].derived is not None:
                links.setdefault(n, []).append(f"s{k}")
        if inside:
            piece = f"<del>{piece}</del>"
        out.append(f'<span class="psg k-{kind}" id="s{k}" data-kind="{kind}" '
                   f'data-links="{" ".join(derived_ids)}">{piece}</span>')
    return "".join(out), links


def render_html(al: Alignment, source: Document, derived: Document, *, title: str | None = None) -> str:
    """One self-contained HTML page: the source and derived texts side by side, aligned."""
    if source.id != al.source_id or derived.id != al.derived_id:
        raise InputError(
            f"documents do not match the alignment: got {source.id!r} -> {derived.id!r}, "
            f"expected {al.source_id!r} -> {al.derived_id!r}"
        )
    source_html, links = _source_column(al, source)
    derived_html = _derived_column(al, derived, links)
    heading = title or f"{al.derived_id} against {al.source_id}"
    body = (
        f"<header><h1>{_esc(heading)}</h1>"
        f'<span class="verdict" data-verdict="{al.verdict}">{al.verdict}</span>'
        f'<span class="reason">{_esc(al.reason)}</span>'
        f"{_coverage_bar(al)}{_legend(al)}</header>\n"
        "<main>\n"
        f'<section class="source"><h2>Source: {_esc(al.source_id)}</h2>'
        f'<div class="text" id="source-text">{source_html}</div></section>\n'
        f'<section class="derived"><h2>Derived: {_esc(al.derived_id)}</h2>'
        f'<div class="text" id="derived-text">{derived_html}</div></section>\n'
        "</main>"
    )
    return _page(heading, body)


def write_html(al: Alignment, source: Document, derived: Document, path: str | Path) -> Path:
    """Write :func:`render_html` to ``path`` (UTF-8) and return the path."""
    out = Path(path)
    out.write_text(render_html(al, source, derived), encoding="utf-8")
    return out


def _slug(doc_id: str) -> str:
    return _UNSAFE.sub("_", doc_id).strip("_.")[:60] or "doc"


def _index(rows: Sequence[tuple[str, Alignment]]) -> str:
    lines = []
    for name, al in rows:
        figures = ", ".join(f"{k} {al.coverage.get(k, 0.0):.0%}" for k in COVERAGE_KINDS)
        lines.append(
            f'<tr><td><a href="{_esc(name)}">{_esc(al.derived_id)}</a></td><td>{_esc(al.source_id)}</td>'
            f"<td>{al.verdict}</td><td>{figures}</td></tr>"
        )
    body = (
        "<header><h1>Aligned pairs</h1></header>\n<nav><table><thead><tr><th>derived</th><th>source</th>"
        f"<th>verdict</th><th>coverage of the derived text</th></tr></thead><tbody>{''.join(lines)}"
        "</tbody></table></nav>"
    )
    return _page("Aligned pairs", body)


def write_pair_reports(
    result: ScanResult,
    alignments: Mapping[tuple[str, str], Alignment] | Iterable[Alignment],
    folder: str | Path,
) -> list[Path]:
    """Write one page per alignment into ``folder`` (created if needed), plus ``index.html``.

    Returns the paths written, the index first. Page names are numbered and built from the
    two document ids, so they are unique and safe on every file system.
    """
    out_dir = Path(folder)
    out_dir.mkdir(parents=True, exist_ok=True)
    docs = {d.id: d for d in result.documents}
    items = list(alignments.values()) if isinstance(alignments, Mapping) else list(alignments)
    rows: list[tuple[str, Alignment]] = []
    paths: list[Path] = []
    for n, al in enumerate(items, start=1):
        missing = [i for i in (al.source_id, al.derived_id) if i not in docs]
        if missing:
            raise InputError(f"alignment refers to document(s) not in the scan: {', '.join(missing)}")
        name = f"{n:03d}-{_slug(al.derived_id)}--{_slug(al.source_id)}.html"
        paths.append(write_html(al, docs[al.source_id], docs[al.derived_id], out_dir / name))
        rows.append((name, al))
    index = out_dir / "index.html"
    index.write_text(_index(rows), encoding="utf-8")
    log.info("wrote %d pair page(s) to %s", len(paths), out_dir)
    return [index, *paths]
