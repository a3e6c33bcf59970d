"""The ``dedup`` command line: a thin layer over the library.

Each command parses its options, makes one library call, renders the result and exits.
Errors derived from :class:`dedup.errors.DedupError` become a one-line message on stderr
and exit code 2 here, in one place.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from dedup import __version__
from dedup.errors import DedupError


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DedupError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dedup")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-v info, -vv debug).")
def cli(verbose: int) -> None:
    """Find reprints, syndicated copies and rewrites of news articles.

    \b
    Example:
        dedup scan fixtures/seeds
    """
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def _register() -> None:
    from dedup.cli.compare import compare
    from dedup.cli.index import index
    from dedup.cli.scan import scan

    for command in (scan, compare, index):
        cli.add_command(command)


_register()


def main() -> None:
    cli(prog_name="dedup")
