"""``dedup compare``: what a derived article took from its source, passage by passage."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import click
from tabulate import tabulate

from dedup.align import COVERAGE_KINDS, Alignment, align, alignment_report
from dedup.errors import DedupError, InputError
from dedup.html_report import render_html
from dedup.read import read_file
from dedup.types import Document, Skipped

log = logging.getLogger(__name__)

FORMATS = ("table", "json", "html")


class CompareError(InputError):
    """A file given to ``dedup compare`` holds no article that can be compared."""


def _read_one(path: Path) -> Document:
    items = read_file(path)
    docs = [d for d in items if isinstance(d, Document)]
    if not docs:
        reason = next((s.reason for s in items if isinstance(s, Skipped)), "no article found")
        raise CompareError(f"cannot compare {path}: {reason}")
    if len(items) > 1:
        log.warning("%s holds %d articles; comparing the first (%s)", path, len(items), docs[0].id)
    return docs[0]


def _snip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def render_table(al: Alignment, source: Document, derived: Document, *, width: int = 50) -> str:
    """Verdict, coverage, then one row per passage with the two texts side by side."""
    coverage = ", ".join(f"{k} {al.coverage[k]:.0%}" for k in COVERAGE_KINDS)
    head = [
        f"derived: {al.derived_id}",
        f"source:  {al.source_id}",
        f"verdict: {al.verdict}" + (f" ({al.reason})" if al.reason else ""),
        f"coverage of the derived text: {coverage}",
    ]
    rows = []
    for p in al.passages:
        # up to three wrapped lines of each text
        d = _snip(derived.text[p.derived.start : p.derived.end], 3 * width) if p.derived else ""
        s = _snip(source.text[p.source.start : p.source.end], 3 * width) if p.source else ""
        changes = "; ".join(
            f"{op.source_text or '∅'} → {op.derived_text or '∅'}" for op in p.diff
        )
        rows.append([p.kind, f"{p.score:.2f}", d, s, _snip(changes, 3 * width) if changes else ""])
    table = tabulate(rows, headers=["kind", "score", "derived", "source", "changes"], tablefmt="simple",
                     maxcolwidths=[None, None, width, width, width], disable_numparse=True)
    return "\n".join(head) + "\n\n" + table + "\n"


_EXAMPLES = """\b
Examples:
    dedup compare fixtures/seeds/003_19e94b5d51f8bfbe.txt fixtures/seeds/000_737f3747a9db65a5.txt
    dedup compare source.txt derived.txt --format json
    dedup compare source.txt derived.txt --format html --output pair.html
"""


@click.command(epilog=_EXAMPLES)
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("derived", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-f", "--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
              help="Output format: a side-by-side table, one JSON object, or a self-contained HTML page.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Write the report to this file instead of stdout.")
@click.option("-w", "--width", type=click.IntRange(20, 400), default=50, show_default=True,
              help="Width of the text columns of the table.")
def compare(source: Path, derived: Path, fmt: str, output: Path | None, width: int) -> None:
    """Show what DERIVED took from SOURCE, passage by passage.

    Each passage of DERIVED is labelled copied (the source wording), edited (a few words
    changed, cut or inserted; the changes are shown), paraphrased (the same content in
    other words) or added (no counterpart); passages of SOURCE not used are omitted.
    The pair gets a verdict (verbatim, light_edit, rewrite, partial or unrelated) and the
    share of the derived text under each label.

    Files may be .txt, .md, .html/.htm, .json or .jsonl (the first article is used).
    """
    src, der = _read_one(source), _read_one(derived)
    if src.id == der.id:  # the same path twice: ids must tell the two sides apart
        der = Document(der.id + " (derived)", der.text, der.path, der.title, der.url, der.date, der.source,
                       der.meta)
    al = align(src, der)
    if fmt == "json":
        text = json.dumps(alignment_report(al, src, der), ensure_ascii=False, indent=2) + "\n"
    elif fmt == "html":
        text = render_html(al, src, der)
    else:
        text = render_table(al, src, der, width=width)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise DedupError(f"cannot write {output}: {exc.strerror or exc}") from None
    click.echo(f"Wrote {fmt} report to {output}", err=True)
