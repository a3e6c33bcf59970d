"""dedup: find reprints, syndicated copies and rewrites of news articles, and show what was taken.

The library API (the CLI is a thin layer over it)::

    from dedup import scan_paths, scan_documents, Document, ScanConfig

    result = scan_paths(["articles/"])
    for pair in result.pairs:
        print(pair.a, pair.b, pair.relation, pair.reason)
"""

from dedup.config import ScanConfig
from dedup.errors import ConfigError, DedupError, IncompatibleIndexError, InputError, ScanError, StoreError
from dedup.prepare import Prepared, prepare
from dedup.scan import (
    Cluster,
    Fingerprinter,
    Fingerprints,
    Pair,
    ScanResult,
    scan_documents,
    scan_paths,
)
from dedup.types import Document, Skipped, Span
from dedup.verify import IdfTable, Verification, verify

__version__ = "0.1.0"

__all__ = [
    "Cluster",
    "ConfigError",
    "DedupError",
    "Document",
    "Fingerprinter",
    "Fingerprints",
    "IdfTable",
    "IncompatibleIndexError",
    "InputError",
    "Pair",
    "Prepared",
    "ScanConfig",
    "ScanResult",
    "Skipped",
    "Span",
    "ScanError",
    "StoreError",
    "Verification",
    "__version__",
    "prepare",
    "scan_documents",
    "scan_paths",
    "verify",
]
