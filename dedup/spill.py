"""What a scan keeps out of memory until a later stage reads it: unnamed temporary files.

A scan of a million articles would hold ~4 GB of texts, ~6 GB of passage band keys and
~10 GB of encoded verification features; here each lives in a temporary file (``TMPDIR``,
unnamed: gone when closed, collected or the process dies) and the driver keeps a few bytes
of offsets per item. The operating system's page cache keeps the pages while memory allows.
A full or unwritable ``TMPDIR`` is a :class:`~dedup.errors.ScanError` that names it.

These files live as long as the scan (or its result); nothing here is a file users keep.

>>> blobs = SpilledBlobs()
>>> blobs.extend([b"one", b"two"])
>>> (len(blobs), blobs[1])
(2, b'two')
"""

from __future__ import annotations

import pickle
import tempfile
from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import overload

import numpy as np

from dedup.errors import ScanError
from dedup.types import Document

__all__ = ["SpilledBands", "SpilledBlobs", "SpilledDocuments"]


def _error(exc: OSError, what: str) -> ScanError:
    return ScanError(f"cannot write the scan's temporary {what} file in {tempfile.gettempdir()} "
                     f"({exc.strerror or exc}): set TMPDIR to a folder with room")


class SpilledBlobs:
    """Byte strings appended in order and read back by index, kept in a temporary file."""

    def __init__(self, what: str = "feature") -> None:
        self.what = what
        try:
            self._file = tempfile.TemporaryFile()
        except OSError as exc:
            raise _error(exc, self.what) from exc
        self._offsets = array("q")
        self._lengths = array("q")
        self._end = 0

    def __len__(self) -> int:
        return len(self._offsets)

    def extend(self, blobs: Iterable[bytes]) -> None:
        try:
            self._file.seek(self._end)
            for blob in blobs:
                self._file.write(blob)
                self._offsets.append(self._end)
                self._lengths.append(len(blob))
                self._end += len(blob)
            self._file.flush()
        except OSError as exc:
            raise _error(exc, self.what) from exc

    def __getitem__(self, i: int) -> bytes:
        self._file.seek(self._offsets[i])
        return self._file.read(self._lengths[i])

    def read(self, i: int, offset: int, size: int) -> bytes:
        """``size`` bytes of blob ``i`` from ``offset``."""
        self._file.seek(self._offsets[i] + offset)
        return self._file.read(size)

    def close(self) -> None:
        self._file.close()


class SpilledDocuments(Sequence[Document]):
    """A read-only sequence of documents kept in a temporary file: what a large scan's
    result lists (``len``, indexing, iteration, slices; equal to any sequence of the same
    documents). Pickled there: the file is private to this process and gone with it.

    >>> docs = SpilledDocuments()
    >>> docs.extend([Document("a", "one"), Document("b", "two", title="T")])
    >>> [d.id for d in docs], docs[-1].title, docs == (Document("a", "one"), Document("b", "two", title="T"))
    (['a', 'b'], 'T', True)
    """

    def __init__(self) -> None:
        self._blobs = SpilledBlobs("document")

    def extend(self, docs: Iterable[Document]) -> None:
        self._blobs.extend(pickle.dumps((d.id, d.text, d.path, d.title, d.url, d.date, d.source, dict(d.meta)),
                                        protocol=pickle.HIGHEST_PROTOCOL) for d in docs)

    def __len__(self) -> int:
        return len(self._blobs)

    @overload
    def __getitem__(self, i: int) -> Document: ...

    @overload
    def __getitem__(self, i: slice) -> tuple[Document, ...]: ...

    def __getitem__(self, i: int | slice) -> Document | tuple[Document, ...]:
        if isinstance(i, slice):
            return tuple(self[k] for k in range(*i.indices(len(self))))
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError("document index out of range")
        doc_id, text, path, title, url, date, source, meta = pickle.loads(self._blobs[i])  # noqa: S301 (own file)
        return Document(doc_id, text, path=path, title=title, url=url, date=date, source=source, meta=meta)

    def __iter__(self) -> Iterator[Document]:
        return (self[i] for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"SpilledDocuments({len(self)} documents)"

    def close(self) -> None:
        self._blobs.close()


class SpilledBands:
    """Band keys of many items, appended in row blocks and read back one band (column) at a
    time (:class:`dedup.index.BandColumns`): a block is written band after band, so a
    column is one contiguous read per block.

    >>> bands = SpilledBands(2)
    >>> bands.append(np.array([[1, 2], [3, 4]], dtype=np.uint64))
    >>> bands.append(np.array([[5, 6]], dtype=np.uint64))
    >>> bands.column(1).tolist(), len(bands)
    ([2, 4, 6], 3)
    """

    def __init__(self, bands: int) -> None:
        self.bands = bands
        self._blobs = SpilledBlobs("band key")
        self._rows: list[int] = []

    def __len__(self) -> int:
        return sum(self._rows)

    def append(self, keys: np.ndarray) -> None:
        if keys.ndim != 2 or keys.shape[1] != self.bands:
            raise ValueError(f"expected an (items, {self.bands}) array, got shape {keys.shape}")
        if keys.shape[0]:
            self._blobs.extend([np.ascontiguousarray(keys.T, dtype=np.uint64).tobytes()])
            self._rows.append(int(keys.shape[0]))

    def column(self, band: int) -> np.ndarray:
        out = np.empty(len(self), dtype=np.uint64)
        at = 0
        for block, rows in enumerate(self._rows):
            raw = self._blobs.read(block, band * rows * 8, rows * 8)
            out[at : at + rows] = np.frombuffer(raw, dtype=np.uint64)
            at += rows
        return out

    def close(self) -> None:
        self._blobs.close()

