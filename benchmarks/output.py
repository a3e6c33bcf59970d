"""What the benchmark scripts share at their end: a working directory for their files, and
the measurement printed as tables and, on request, written as JSON."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def working_dir(given: str | None, prefix: str) -> Iterator[str]:
    """``given`` (kept afterwards), or a new temporary directory removed afterwards."""
    path = given or tempfile.mkdtemp(prefix=prefix)
    try:
        yield path
    finally:
        if given is None:
            shutil.rmtree(path, ignore_errors=True)


def emit(measurement: Mapping[str, Any], tables: str, json_out: str | None) -> int:
    """Print ``tables``; write ``measurement`` to ``json_out`` as JSON when given. Returns the
    exit status of a script that got this far (0)."""
    print(tables)
    if json_out:
        Path(json_out).write_text(json.dumps(measurement, indent=2) + "\n", encoding="utf-8")
    return 0
