"""The one exception family of dedup.

Every error the library raises on purpose derives from :class:`DedupError`, so a caller
(or the CLI, in one place) can catch them all. Messages state the rule and the bad value.
"""

from __future__ import annotations


class DedupError(Exception):
    """Base class of every error dedup raises on purpose."""


class ConfigError(DedupError, ValueError):
    """A configuration value breaks its documented rule."""


class InputError(DedupError):
    """Input that cannot be read or parsed (a whole run's input, not one skipped file)."""


class ScanError(DedupError):
    """A scan cannot go on: its temporary working storage failed (a full or unwritable disk)."""


class StoreError(DedupError):
    """A persistent index cannot be opened or used (format, configuration, storage)."""


class IncompatibleIndexError(StoreError):
    """A persistent index was built under another configuration or format version."""
