"""``dedup scan``: related articles in folders of files."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from dedup.cli.progress import ProgressBars
from dedup.config import ScanConfig
from dedup.report import FORMATS, render
from dedup.scan import scan_paths

_DEFAULTS = ScanConfig()


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("-f", "--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
              help="Output format: a readable table, one JSON object, or JSON Lines.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Write the report to this file instead of stdout.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars on stderr.")
@click.option("--ngram", type=int, default=_DEFAULTS.ngram, show_default=True,
              help="Words per shingle for whole-document fingerprints.")
@click.option("--doc-threshold", type=float, default=_DEFAULTS.doc_threshold, show_default=True,
              help="Shingle Jaccard at which whole documents become candidates.")
@click.option("--passage-threshold", type=float, default=_DEFAULTS.passage_threshold,
              show_default=True, help="Content-word Jaccard at which passages become candidates.")
@click.option("--min-matches", type=int, default=_DEFAULTS.min_matches, show_default=True,
              help="Matching sentences needed to report a pair (one shared fact is not enough).")
@click.option("--align", "do_align", is_flag=True,
              help="Align every related pair: verdict and share of copied/edited/paraphrased/added text.")
@click.option("--html-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write one HTML page per related pair (texts side by side) and an index into DIR; implies --align.")
@click.option("--attribution/--no-attribution", default=True, show_default=True,
              help="Credits, families (which wire the text comes from) and who copied whom.")
@click.option("-j", "--jobs", type=click.IntRange(min=0), default=0, show_default="0: every core",
              help="Worker processes for reading, preparing, fingerprinting and verifying; 1 runs in this process.")
@click.option("--dask", "use_dask", is_flag=True,
              help='Run the shards on a local Dask cluster of --jobs workers (pip install "dedup[dask]").')
@click.option("--scheduler", metavar="ADDRESS",
              help="Run the shards on the Dask cluster at ADDRESS (e.g. tcp://host:8786); implies --dask.")
@click.option("--stage-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Also write each stage's output (documents, band keys, frequencies, candidates, pairs, clusters) "
                   'as Parquet files in DIR, for Spark or later runs (pip install "dedup[parquet]").')
@click.option("--agencies", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A JSON file of agencies and outlets that extends the packaged table.")
def scan(paths: tuple[Path, ...], fmt: str, output: Path | None, quiet: bool, ngram: int,
         doc_threshold: float, passage_threshold: float, min_matches: int, do_align: bool,
         html_dir: Path | None, attribution: bool, jobs: int, use_dask: bool, scheduler: str | None,
         stage_dir: Path | None, agencies: Path | None) -> None:
    """Find copies, syndicated versions and rewrites among the articles in PATHS.

    PATHS are files or folders (read recursively): .txt, .md, .html/.htm, .json and
    .jsonl (one article per object, text in "text", "body" or "content"). Files that
    cannot be read are skipped and listed with the reason.

    Each related pair gets a relation: duplicate (near-identical), syndicated (same text
    with light edits, cuts or additions), rewrite (same content, reworded) or partial
    (some passages reused in otherwise new text), with the scores and the reason.

    Input is read as the scan goes; a large collection keeps ~20 KB per article in
    temporary files (TMPDIR) instead of memory (1M articles: ~20 GB on disk, ~4 GB RAM).

    \b
    Examples:
        dedup scan fixtures/seeds
        dedup scan articles/ --format json --output report.json
        dedup scan articles/ --align --html-dir reports/
        dedup scan crawl/ --jobs 8 --format jsonl --output pairs.jsonl
        dedup scan crawl/ --scheduler tcp://scheduler:8786 --output report.json
        dedup scan crawl/ --stage-dir stages/ --format json --output report.json
    """
    config = ScanConfig(ngram=ngram, doc_threshold=doc_threshold,
                        passage_threshold=passage_threshold, min_matches=min_matches)
    show = not quiet and sys.stderr.isatty()
    with ProgressBars(enabled=show) as bars:
        result = scan_paths([str(p) for p in paths], config, progress=bars.update, jobs=jobs,
                            backend="dask" if use_dask or scheduler else None, scheduler=scheduler,
                            stage_dir=stage_dir)
    if stage_dir is not None and not quiet:
        click.echo(f"Wrote stage files to {stage_dir} (manifest {stage_dir / 'manifest.json'})", err=True)
    attributed = None
    if attribution or do_align or html_dir is not None:
        from dedup.attribute import attribute
        from dedup.credits import load_agency_table

        attributed = attribute(result, table=load_agency_table(agencies) if agencies else None)
    alignments = {}
    if do_align or html_dir is not None:
        from dedup.align import align_pairs

        directions = {(p.a, p.b): attributed.direction(p.a, p.b) for p in result.pairs} if attributed else {}
        alignments = align_pairs(result, sources={k: d.source for k, d in directions.items() if d is not None})
    if html_dir is not None:
        from dedup.html_report import write_pair_reports

        pages = write_pair_reports(result, alignments, html_dir)
        if not quiet:
            click.echo(f"Wrote {len(pages) - 1} pair page(s), index {pages[0]}", err=True)
    text = render(result, fmt, alignments=alignments, attribution=attributed if attribution else None)
    if output is not None:
        output.write_text(text, encoding="utf-8")
        if not quiet:
            click.echo(f"Wrote {fmt} report to {output}", err=True)
    else:
        click.echo(text, nl=False)
