"""Progress bars on stderr, fed by the library's ``progress(stage, done, total)`` callback."""

from __future__ import annotations

import sys
from types import TracebackType

import click


class ProgressBars:
    """One line per stage, redrawn in place; silent when disabled."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self._stage: str | None = None

    def __enter__(self) -> ProgressBars:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.enabled and self._stage is not None:
            click.echo("", err=True)

    def update(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if stage != self._stage and self._stage is not None:
            click.echo("", err=True)
        self._stage = stage
        if total:
            width = 30
            filled = int(width * done / total)
            bar = "#" * filled + "-" * (width - filled)
            line = f"\r{stage:<8} [{bar}] {done}/{total}"
        else:
            line = f"\r{stage:<8} {done}"
        sys.stderr.write(line)
        sys.stderr.flush()
