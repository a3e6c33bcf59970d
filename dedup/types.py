"""Frozen value types that flow through the pipeline.

Offsets are Python string indices into ``Document.text`` (the decoded text of the file or
record), so ``doc.text[span.start:span.end]`` is always the text a span names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


def _frozen_mapping(values: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(values or {}))


@dataclass(frozen=True, slots=True)
class Span:
    """A half-open character range ``[start, end)`` of a document's text."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.end:
            raise ValueError(f"span must satisfy 0 <= start <= end, got ({self.start}, {self.end})")

    def __len__(self) -> int:
        return self.end - self.start

    def to_dict(self) -> dict[str, int]:
        return {"start": self.start, "end": self.end}


@dataclass(frozen=True, slots=True)
class Document:
    """One article: its id, where it came from, its decoded text and optional metadata.

    ``id`` is the path relative to the folder given (plus ``#LINE`` or ``#RECORD_ID`` for
    JSON Lines records). ``text`` is the decoded text all offsets refer to; for HTML it is
    the extracted main text.
    """

    id: str
    text: str
    path: str = ""
    title: str | None = None
    url: str | None = None
    date: str | None = None
    source: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise TypeError(f"Document.text must be str, got {type(self.text).__name__}")
        object.__setattr__(self, "meta", _frozen_mapping(self.meta))

    def __reduce__(self) -> tuple[type[Document], tuple[Any, ...]]:
        # the read-only view of meta does not pickle; a copy of its dict does
        return (Document, (self.id, self.text, self.path, self.title, self.url, self.date, self.source,
                           dict(self.meta)))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "path": self.path, "chars": len(self.text)}
        for key in ("title", "url", "date", "source"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


@dataclass(frozen=True, slots=True)
class Skipped:
    """An input that was not read, with the reason (it never stops a run)."""

    path: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class ReadWarning:
    """Something odd about an input that was still read (e.g. decoded with replacement)."""

    path: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}
