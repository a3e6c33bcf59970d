"""A filter of the whole-text band keys an SQLite index holds, read before the key table.

A new text's band keys are random numbers: at a million whole-text-only articles, a lookup
of its 25 keys reads 25 random leaf pages of a 412 MB B-tree, most of which have left the
handle's page cache and often the operating system's. Yet most of those keys are in no
stored document (an unseen text holds none; an edited copy keeps some of its bands). So the
file also holds a blocked Bloom filter of the keys of the ``doc_keys`` table, 8 to 16 bits a
key (25 to 50 MB at a million articles, which a handle's default page cache holds), and a
lookup searches the table only for the keys the filter may hold.

Layout (table ``key_filter``, one row per :data:`BLOCK_WORDS` 64-bit words, a row filling
a page): a key picks the word ``key % words`` and sets :data:`PROBES` bits of it, chosen
from ``key // words``. All the bits of a key lie in one word of one page: one page read a
key, like the B-tree's leaf, but from a table 8 to 16 times smaller.

The filter only grows: a removed document's keys keep their bits (a false positive costs one
lookup in the table). It is rebuilt from the table, at twice the table's keys, when the keys
added since its last rebuild pass :data:`BITS_PER_KEY` bits each; so 1 to 4 % of absent keys
pass it (see :func:`false_positive_rate`), and its rebuilds cost, in total, about one read of
the key table per doubling or turnover of the index. A file without a filter (``words`` 0:
new, or upgraded) gets one at its first merge of recent keys into the table; meanwhile every
key is looked up.
"""

from __future__ import annotations

import math
import sqlite3

import numpy as np

from dedup.recent import ConnectionCache

__all__ = ["BITS_PER_KEY", "BLOCK_WORDS", "FILTER_SCHEMA", "PROBES", "KeyFilter", "add_keys",
           "false_positive_rate", "positions", "rebuild", "size_words"]

#: 64-bit words per row of ``key_filter``: 4,000 bytes, so that a row fills a 4 KB page.
BLOCK_WORDS = 500
#: Bits a key sets in its word.
PROBES = 3
#: The fullest the filter gets, in bits per key added since it was built; it is built at
#: twice this.
BITS_PER_KEY = 8
#: Rows of the table read per statement when the filter is rebuilt.
_SCAN_CHUNK = 1_000_000

_ONE, _BIT = np.uint64(1), np.uint64(63)
_SHIFTS = tuple(np.uint64(6 * probe) for probe in range(1, PROBES))  # 6 bits of key // words a probe

FILTER_SCHEMA = """
CREATE TABLE key_filter (block INTEGER PRIMARY KEY, bits BLOB NOT NULL);
INSERT INTO counts (name, n) VALUES ('filter_words', 0), ('filter_keys', 0), ('filter_generation', 0);
"""


def size_words(keys: int) -> int:
    """Words of a filter built for ``keys`` keys: ``2 * BITS_PER_KEY`` bits each, in whole
    blocks (one block at least)."""
    blocks = max(1, math.ceil(2 * BITS_PER_KEY * keys / 64 / BLOCK_WORDS))
    return blocks * BLOCK_WORDS


def positions(keys: np.ndarray, words: int) -> tuple[np.ndarray, np.ndarray]:
    """``(word, mask)`` of each key (non-negative int64) in a filter of ``words`` words.

    >>> word, mask = positions(np.array([5, 1005]), 1000)
    >>> word.tolist(), [bin(m).count("1") for m in mask.tolist()]
    ([5, 5], [1, 2])
    """
    rest, word = np.divmod(np.asarray(keys, dtype=np.int64), words)
    rest = rest.view(np.uint64)  # non-negative
    mask = _ONE << (rest & _BIT)
    for shift in _SHIFTS:
        mask |= _ONE << ((rest >> shift) & _BIT)
    return word, mask


def add_keys(conn: sqlite3.Connection, keys: np.ndarray, words: int) -> None:
    """Set the bits of ``keys`` in the filter of ``words`` words (its rows all present)."""
    if not len(keys):
        return
    word, mask = positions(keys, words)
    order = np.argsort(word, kind="stable")
    word, mask = word[order], mask[order]
    block = word // BLOCK_WORDS
    starts = np.flatnonzero(np.r_[True, block[1:] != block[:-1]])
    ends = np.r_[starts[1:], len(block)]
    updates = []
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        b = int(block[start])
        (blob,) = conn.execute("SELECT bits FROM key_filter WHERE block = ?", (b,)).fetchone()
        bits = np.frombuffer(blob, dtype="<u8").copy()
        np.bitwise_or.at(bits, word[start:end] - b * BLOCK_WORDS, mask[start:end])
        updates.append((bits.tobytes(), b))
    conn.executemany("UPDATE key_filter SET bits = ? WHERE block = ?", updates)
    conn.execute("UPDATE counts SET n = n + 1 WHERE name = 'filter_generation'")


def rebuild(conn: sqlite3.Connection, table: str = "doc_keys") -> int:
    """Build the filter anew from the keys of ``table``, at :func:`size_words` of their
    number; record its size and keys in ``counts``; return its words."""
    n = int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    words = size_words(n)
    bits = np.zeros(words, np.uint64)
    last = -1
    while True:  # in key order, by ranges of keys: a bounded number of Python ints at a time
        rows = conn.execute(f"SELECT key FROM {table} WHERE key > ? ORDER BY key LIMIT {_SCAN_CHUNK}",
                            (last,)).fetchall()
        if not rows:
            break
        keys = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        word, mask = positions(keys, words)
        np.bitwise_or.at(bits, word, mask)
        last = int(keys[-1])
    conn.execute("DELETE FROM key_filter")
    blocks = bits.astype("<u8").reshape(-1, BLOCK_WORDS)
    conn.executemany("INSERT INTO key_filter (block, bits) VALUES (?, ?)",
                     ((i, blocks[i].tobytes()) for i in range(len(blocks))))
    conn.executemany("UPDATE counts SET n = ? WHERE name = ?", ((words, "filter_words"), (n, "filter_keys")))
    conn.execute("UPDATE counts SET n = n + 1 WHERE name = 'filter_generation'")
    return words


class KeyFilter(ConnectionCache):
    """The key filter as one connection holds it in memory, between its transactions.

    :meth:`sync` catches up inside a transaction: nothing to read when the file did not change
    (:meth:`~dedup.recent.ConnectionCache.changed`), one ``counts`` row otherwise, and the
    whole filter again when it changed (``filter_generation``: at merges, every ~80,000
    whole-text-only articles). A filter larger than ``limit`` bytes is not held: lookups
    then search the key table for every key.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.clear()

    def clear(self) -> None:
        super().__init__()
        self._generation: int | None = None
        self._bits: np.ndarray | None = None

    @property
    def nbytes(self) -> int:
        """Bytes held (0 when no filter is)."""
        return 0 if self._bits is None else self._bits.nbytes

    def sync(self, conn: sqlite3.Connection) -> None:
        if not self.changed(conn):
            return
        generation, words = (int(n) for n in conn.execute(
            "SELECT (SELECT n FROM counts WHERE name = 'filter_generation'), "
            "(SELECT n FROM counts WHERE name = 'filter_words')").fetchone())
        if generation == self._generation:
            return
        self._generation = generation
        self._bits = None  # before reading: a failed read leaves no stale filter
        if words and 8 * words <= self.limit:
            blob = b"".join(r[0] for r in conn.execute("SELECT bits FROM key_filter ORDER BY block"))
            bits = np.frombuffer(blob, dtype="<u8")
            if len(bits) != words:
                raise sqlite3.DatabaseError(f"key filter holds {len(bits)} words, counts say {words}")
            self._bits = bits

    def may_hold(self, keys: np.ndarray) -> np.ndarray | None:
        """Whether the filter may hold each of ``keys``; None when no filter is held (after
        :meth:`sync`)."""
        if self._bits is None:
            return None
        word, mask = positions(keys, len(self._bits))
        return (self._bits[word] & mask) == mask


def false_positive_rate(bits_per_key: float) -> float:
    """The share of absent keys a filter loaded at ``bits_per_key`` lets through (keys per
    word drawn at random: Poisson).

    >>> round(false_positive_rate(2 * BITS_PER_KEY), 3), round(false_positive_rate(BITS_PER_KEY), 3)
    (0.008, 0.037)
    """
    load = 64 / bits_per_key
    total, p = 0.0, math.exp(-load)
    for keys in range(200):
        if keys:
            p *= load / keys
        total += p * (1 - (1 - 1 / 64) ** (PROBES * keys)) ** PROBES
    return total
