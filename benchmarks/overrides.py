"""``--set FIELD=VALUE`` options of the benchmarks: changes to a :class:`dedup.ScanConfig`."""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_set_option(parser: argparse.ArgumentParser, what: str = "dedup") -> None:
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="FIELD=VALUE",
                        help=f"change a ScanConfig field for {what} (VALUE in JSON, e.g. passage_lsh=[6,4]); "
                             "repeatable")


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """``["a=1", "b=[6,4]", "c=text"]`` -> ``{"a": 1, "b": [6, 4], "c": "text"}``."""
    out: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise SystemExit(f"--set needs FIELD=VALUE, got {item!r}")
        try:
            out[name] = json.loads(value)
        except ValueError:
            out[name] = value
    return out
