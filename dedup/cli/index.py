"""``dedup index``: a persistent syndication index on disk (or on Redis) from the terminal.

Each command opens the index (:func:`dedup.store.open_index`), makes one library call and
renders the result as a table or JSON.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from tabulate import tabulate

from dedup.cli.progress import ProgressBars
from dedup.config import ScanConfig
from dedup.errors import DedupError
from dedup.read import iter_documents
from dedup.store import VERIFY_MODES, Verdict, Verify, open_index
from dedup.types import Document, Skipped

FORMATS = ("table", "json")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")


class _IndexGroup(click.Group):
    """Turns a DedupError into one line on stderr and exit code 2 (also when used on its own)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DedupError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(2)


def parse_duration(text: str) -> float:
    """Seconds in a duration such as ``30d``, ``12h``, ``90m``, ``45s``, ``2w`` or ``1d12h``.

    >>> parse_duration("1d12h")
    129600.0
    """
    cleaned = text.strip().lower()
    if not cleaned or _DURATION.sub("", cleaned):
        raise ValueError(f"duration must be numbers with units s, m, h, d or w (e.g. 30d, 12h, 90m), got {text!r}")
    return float(sum(float(n) * _UNITS[unit] for n, unit in _DURATION.findall(cleaned)))


class _Duration(click.ParamType):
    name = "DURATION"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, int | float):
            return float(value)
        try:
            return parse_duration(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def _db_option(f: Any) -> Any:
    return click.option("--db", "db", required=True, metavar="PATH|URL",
                        help="The index: an SQLite file, or a redis:// URL.")(f)


def _format_option(f: Any) -> Any:
    return click.option("-f", "--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
                        help="Output format: a readable table or one JSON object.")(f)


def _files_argument(f: Any) -> Any:
    return click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))(f)


def _when(ts: float | None) -> str:
    return "-" if ts is None else datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="seconds")


def _snip(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _split(files: tuple[Path, ...], skipped: list[Skipped]) -> Iterator[Document]:
    for item in iter_documents([str(f) for f in files]):
        if isinstance(item, Skipped):
            skipped.append(item)
        else:
            yield item


def _noted(documents: Iterator[Document], read: list[tuple[str, str | None]]) -> Iterator[Document]:
    """``documents``, noting the id and path of each in ``read`` as it goes by."""
    for doc in documents:
        read.append((doc.id, doc.path))
        yield doc


def _skipped_table(skipped: list[Skipped]) -> list[str]:
    if not skipped:
        return []
    rows = [[s.path, s.reason] for s in skipped]
    return ["", "Skipped", tabulate(rows, headers=["path", "reason"], tablefmt="simple")]


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@click.group(name="index", cls=_IndexGroup)
def index() -> None:
    """Keep a persistent index of articles and ask whether a text was seen before.

    The index remembers every article added (text, band keys, word frequencies) across runs,
    so a crawler or a daily job can check new articles against everything seen so far. It is
    an SQLite file (several processes may share it) or a redis:// URL (several hosts).

    \b
    Example:
        dedup index add --db crawl.db fixtures/seeds
    """


@index.command()
@_db_option
@_files_argument
@_format_option
@click.option("--batch-size", type=click.IntRange(min=1), default=500, show_default=True,
              help="Documents per transaction.")
@click.option("--whole-text-only", is_flag=True,
              help="Create the index without passage keys: several times smaller and faster, it finds copies, "
                   "syndicated and lightly edited articles but not rewrites or partial reuse.")
@click.option("-j", "--jobs", type=click.IntRange(min=0), default=1, show_default=True,
              help="Processes that prepare articles while this one writes (0: one per core); for bulk loads.")
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
def add(db: str, files: tuple[Path, ...], fmt: str, batch_size: int, whole_text_only: bool, jobs: int,
        quiet: bool) -> None:
    """Add the articles in FILES to the index (created if missing).

    FILES are files or folders read as by "dedup scan". An article whose id is already in
    the index replaces the stored one. Files that cannot be read are skipped and listed
    with the reason. An index keeps the configuration it was created with;
    --whole-text-only on an index created without it (or the reverse) is an error.

    \b
    Example:
        dedup index add --db crawl.db fixtures/seeds
    """
    skipped: list[Skipped] = []
    config = ScanConfig(passage_lsh=(0, 1)) if whole_text_only else None
    with open_index(db, config) as idx, _bars(quiet) as bars:
        added = idx.add_many(_split(files, skipped), batch_size=batch_size, progress=bars.update, jobs=jobs)
        total = len(idx)
    if fmt == "json":
        _echo_json({"added": added, "documents": total, "skipped": [s.to_dict() for s in skipped]})
        return
    lines = [f"Added {added} document(s) to {db} ({total} in the index)"
             + (f", {len(skipped)} skipped" if skipped else "")]
    click.echo("\n".join(lines + _skipped_table(skipped)))


def _verdict_options(f: Any) -> Any:
    """--limit, --candidates, --verify, --align, --batch-size, --jobs and --quiet of query and check."""
    options = [
        click.option("--limit", type=click.IntRange(min=1), default=10, show_default=True,
                     help="Matches reported per article."),
        click.option("--candidates", type=click.IntRange(min=1), default=None,
                     help="Stored articles verified at most per article, those sharing the most band keys first "
                          "[default: max(4 x limit, max_bucket)]; fewer is faster when a story is stored in many "
                          "copies."),
        click.option("--verify", type=click.Choice(VERIFY_MODES), default="full", show_default=True,
                     help="How candidates are verified: full compares their sentences (every relation, scores "
                          "and evidence); shingles compares their word n-grams only: duplicates and syndicated "
                          "copies, no rewrites or partial reuse, no evidence; 4-5x faster on a --whole-text-only "
                          "index, ~1.6x with passage keys."),
        click.option("--align", is_flag=True, help="Add a passage alignment summary to each match (JSON; needs "
                                                   "--verify full)."),
        click.option("--batch-size", type=click.IntRange(min=1), default=500, show_default=True,
                     help="Articles prepared, then answered, at a time."),
        click.option("-j", "--jobs", type=click.IntRange(min=0), default=1, show_default=True,
                     help="Worker processes (0: one per core). query: each prepares and answers whole batches "
                          "on its own handle on the index; check: they prepare batches while this process checks "
                          "them, in order."),
        click.option("-q", "--quiet", is_flag=True, help="No progress on stderr."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _echo_verdicts(db: str, done: str, results: list[tuple[tuple[str, str | None], Verdict]],
                   skipped: list[Skipped], fmt: str, extra: dict[str, Any]) -> None:
    """The verdicts of query and check, as a table or one JSON object (``extra`` added to it)."""
    if fmt == "json":
        _echo_json({
            "results": [{"id": doc_id, "path": path, **v.to_dict()} for (doc_id, path), v in results],
            "skipped": [s.to_dict() for s in skipped],
            **extra,
        })
        return
    rows = []
    for (doc_id, _), verdict in results:
        if not verdict.matches:
            rows.append([doc_id, "new", "-", "-", "-", ""])
        for m in verdict.matches:
            # --verify shingles measures no coverage: its reason gives Jaccard and containment
            cover = (f"{max(m.scores['coverage_a'], m.scores['coverage_b']):.2f}" if "coverage_a" in m.scores
                     else "-")
            rows.append([doc_id, verdict.status, m.id, m.relation, cover, _snip(m.reason)])
    seen = sum(1 for _, v in results if v.matches)
    out = [f"{len(results)} article(s) {done}, {seen} with a match in {db}"
           + (f", {len(skipped)} skipped" if skipped else "")]
    if rows:
        out += ["", tabulate(rows, headers=["article", "status", "match", "relation", "coverage", "why"],
                             tablefmt="simple")]
    click.echo("\n".join(out + _skipped_table(skipped)))


def _bars(quiet: bool) -> ProgressBars:
    return ProgressBars(enabled=not quiet and sys.stderr.isatty())


@index.command()
@_db_option
@_files_argument
@_format_option
@_verdict_options
def query(db: str, files: tuple[Path, ...], fmt: str, limit: int, candidates: int | None, verify: Verify,
          align: bool, batch_size: int, jobs: int, quiet: bool) -> None:
    """Find the stored articles that each article in FILES copies, syndicates or rewrites.

    Nothing is added. Each article gets a status: new (no match), or the strongest relation
    found (duplicate, syndicated, rewrite, partial). An article already in the index
    matches itself.

    \b
    Example:
        dedup index query --db crawl.db new-articles/ --format json
    """
    skipped: list[Skipped] = []
    read: list[tuple[str, str | None]] = []
    # texts, not documents: a stored article matches itself
    texts = (doc.text for doc in _noted(_split(files, skipped), read))
    with open_index(db, create=False) as idx, _bars(quiet) as bars:
        answers = idx.query_many(texts, limit=limit, align=align, candidates=candidates, verify=verify,
                                 batch_size=batch_size, jobs=jobs, progress=bars.update)
    _echo_verdicts(db, "queried", [(r, Verdict.from_matches(m)) for r, m in zip(read, answers, strict=True)],
                   skipped, fmt, {})


@index.command()
@_db_option
@_files_argument
@_format_option
@_verdict_options
@click.option("--whole-text-only", is_flag=True, help="When the index is created: as for \"dedup index add\".")
def check(db: str, files: tuple[Path, ...], fmt: str, limit: int, candidates: int | None, verify: Verify,
          align: bool, batch_size: int, jobs: int, quiet: bool, whole_text_only: bool) -> None:
    """Check each article in FILES against the index, then add it (the index is created if missing).

    What a crawler does with each article it fetches, for a folder at once: articles are
    checked in order, so each one also meets the articles of FILES before it. The statuses
    are those of "dedup index query"; an article whose id is already in the index replaces
    the stored one and does not match it.

    \b
    Example:
        dedup index check --db crawl.db todays-articles/ --format json
    """
    skipped: list[Skipped] = []
    read: list[tuple[str, str | None]] = []
    config = ScanConfig(passage_lsh=(0, 1)) if whole_text_only else None
    with open_index(db, config) as idx, _bars(quiet) as bars:
        verdicts = idx.check_many(_noted(_split(files, skipped), read), limit=limit, align=align, candidates=candidates,
                                  verify=verify, batch_size=batch_size, jobs=jobs, progress=bars.update)
        total = len(idx)
    _echo_verdicts(db, "checked and added", list(zip(read, verdicts, strict=True)), skipped, fmt,
                   {"documents": total})


@index.command()
@_db_option
@_format_option
def stats(db: str, fmt: str) -> None:
    """Show what the index holds: documents, keys, languages, dates, size and configuration.

    \b
    Example:
        dedup index stats --db crawl.db
    """
    with open_index(db, create=False) as idx:
        data = idx.stats()
    if fmt == "json":
        _echo_json(data)
        return
    size = data.get("size_bytes", data.get("memory_bytes", 0))
    rows = [
        ["documents", data["documents"]],
        ["whole-text keys", data["doc_keys"]],
        ["passage keys", data["passage_keys"]],
        *([["keys not yet merged", data["recent_keys"]]] if "recent_keys" in data else []),
        *([["passage keys per level", " / ".join(map(str, data["key_levels"]))]] if "key_levels" in data else []),
        *([["whole-text key filter", f"{data['key_filter_bytes'] / 1e6:.1f} MB"]]
          if "key_filter_bytes" in data else []),
        ["content words", data["words"]],
        ["languages", ", ".join(f"{k} {v}" for k, v in data["languages"].items()) or "-"],
        ["oldest", _when(data["oldest"])],
        ["newest", _when(data["newest"])],
        ["size on disk" if "size_bytes" in data else "server memory", f"{size / 1e6:.1f} MB"],
        ["format", data["format"]],
    ]
    config = [[k, "-" if v is None else v] for k, v in data["config"].items()]
    click.echo("\n".join([tabulate(rows, tablefmt="plain"), "", "Configuration",
                          tabulate(config, tablefmt="plain")]))


@index.command()
@_db_option
@click.option("--older-than", "older_than", type=_Duration(), required=True,
              help="Remove articles added longer ago than this: 30d, 12h, 90m, 45s, 2w.")
@_format_option
def evict(db: str, older_than: float, fmt: str) -> None:
    """Remove the articles added to the index longer ago than --older-than.

    Copies of a news story arrive within days, so a crawler keeps a window of weeks.

    \b
    Example:
        dedup index evict --db crawl.db --older-than 30d
    """
    with open_index(db, create=False) as idx:
        now = datetime.now(tz=UTC).timestamp()
        removed = idx.evict(older_than, now=now)
        left = len(idx)
    before = now - older_than
    if fmt == "json":
        _echo_json({"evicted": removed, "documents": left, "before": before})
        return
    click.echo(f"Evicted {removed} document(s) added before {_when(before)} from {db} ({left} left)")
