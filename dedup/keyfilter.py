"""A filter of the whole-text band keys an SQLite index holds, read before the key table.

A new text's band keys are random numbers: at a million whole-text-only articles, a lookup
of its 25 keys reads 25 random leaf pages of a 412 MB B-tree, most of which have left the
handle's page cache and often the operating system's. Yet most of those keys are in no
stored document (an unseen text holds none; an edited copy keeps some of its bands). So the
file also holds a blocked Bloom filter of the keys of the ``text_keys`` table, 8 to 16 bits a
key (25 to 50 MB at a million articles), which each handle holds in memory within its
``cache_mb`` (:class:`KeyFilter`), and a lookup searches the table only for the keys the
filter may hold.

Layout (table ``key_filter``, one row per :data:`BLOCK_WORDS` 64-bit words, a row filling
a page): a key picks a word by its range (:func:`positions`: keys in key order fall on
words in order) and sets :data:`PROBES` bits of it, chosen by a hash of the key. All the
bits of a key lie in one word: one random memory access a key, against a random leaf page
of the B-tree.

The filter only grows: a removed document's keys keep their bits (a false positive costs one
lookup in the table). When the keys added since it was built pass :data:`BITS_PER_KEY` bits
each, a new one is built for twice the table's keys, so 1 to 4 % of absent keys pass (see
:func:`false_positive_rate`). It is built in steps (:func:`rebuild_step`), the table read in
key order a range of keys per write transaction, as key levels are moved: no transaction
holds the write lock for the whole table (~10 s at a million articles). Keys merged
meanwhile go into the filter in use and, when the new one has read past them, into the new
one too. A file without a filter (new, or upgraded from format 9) looks up every key until
its first is built; :meth:`~dedup.store.SyndicationIndex.merge` finishes a build.
"""

from __future__ import annotations

import math
import sqlite3

import numpy as np

from dedup.recent import ConnectionCache

__all__ = ["BITS_PER_KEY", "BLOCK_WORDS", "FILTER_SCHEMA", "PROBES", "KeyFilter", "add_keys",
           "false_positive_rate", "positions", "rebuild", "rebuild_step", "size_words", "start_rebuild"]

#: 64-bit words per row of ``key_filter``: 4,000 bytes, so that a row fills a 4 KB page.
BLOCK_WORDS = 500
#: Bits a key sets in its word.
PROBES = 3
#: The fullest the filter gets, in bits per key added since it was built; it is built at
#: twice this.
BITS_PER_KEY = 8
#: Rows of the key table read per statement when the filter is rebuilt (~10 MB of Python
#: objects).
_SCAN_CHUNK = 100_000

_KEYS = 2**47  # stored keys are cut to 47 bits
_ONE, _BIT = np.uint64(1), np.uint64(63)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # 2**64 / golden ratio, odd: Fibonacci hashing
_TOP = np.uint64(64 - 6)  # a probe's bit: 6 bits of the hash, from its top
_SHIFTS = tuple(np.uint64(64 - 6 * (probe + 1)) for probe in range(1, PROBES))

FILTER_SCHEMA = """
CREATE TABLE key_filter (block INTEGER PRIMARY KEY, bits BLOB NOT NULL);
CREATE TABLE key_filter_next (block INTEGER PRIMARY KEY, bits BLOB NOT NULL);  -- being built
INSERT INTO counts (name, n) VALUES ('filter_words', 0), ('filter_keys', 0), ('filter_generation', 0),
    ('filter_next_words', 0), ('filter_next_key', -1), ('filter_next_keys', 0);
"""


def size_words(keys: int) -> int:
    """Words of a filter built for ``keys`` keys: ``2 * BITS_PER_KEY`` bits each, in whole
    blocks (one block at least)."""
    blocks = max(1, math.ceil(2 * BITS_PER_KEY * keys / 64 / BLOCK_WORDS))
    return blocks * BLOCK_WORDS


def positions(keys: np.ndarray, words: int) -> tuple[np.ndarray, np.ndarray]:
    """``(word, mask)`` of each key (``0 <= key < 2**47``) in a filter of ``words`` words.

    The word is the key's rank among ``words`` equal ranges of keys (so that keys in key
    order fall on words in order: a range of keys is a range of blocks); the bits come from a
    multiplicative hash of the key (its low bits, mixed).

    >>> word, mask = positions(np.array([0, 2**46, 2**47 - 1]), 1000)
    >>> word.tolist(), [bin(m).count("1") <= PROBES for m in mask.tolist()]
    ([0, 499, 999], [True, True, True])
    """
    keys = np.asarray(keys, dtype=np.int64)
    word = keys // _span(words)
    mixed = keys.view(np.uint64) * _GOLDEN  # wraps around: a hash
    mask = _ONE << (mixed >> _TOP)
    for shift in _SHIFTS:
        mask |= _ONE << ((mixed >> shift) & _BIT)
    return word, mask


def _span(words: int) -> int:
    """Keys per word: the ``2**47`` keys in ``words`` ranges."""
    return -(-_KEYS // words)


def _or_keys(conn: sqlite3.Connection, table: str, keys: np.ndarray, words: int) -> None:
    """Set the bits of ``keys`` in the filter table ``table`` of ``words`` words (a missing
    block counts as zeros)."""
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
        row = conn.execute(f"SELECT bits FROM {table} WHERE block = ?", (b,)).fetchone()
        bits = np.zeros(BLOCK_WORDS, np.uint64) if row is None else np.frombuffer(row[0], dtype="<u8").copy()
        np.bitwise_or.at(bits, word[start:end] - b * BLOCK_WORDS, mask[start:end])
        updates.append((b, bits.astype("<u8").tobytes()))
    conn.executemany(f"INSERT OR REPLACE INTO {table} (block, bits) VALUES (?, ?)", updates)


def _counts(conn: sqlite3.Connection) -> dict[str, int]:
    return {name: int(n) for name, n in conn.execute("SELECT name, n FROM counts WHERE name LIKE 'filter%'")}


def _set(conn: sqlite3.Connection, **values: int) -> None:
    conn.executemany("UPDATE counts SET n = ? WHERE name = ?", ((n, name) for name, n in values.items()))


def add_keys(conn: sqlite3.Connection, keys: np.ndarray, table_keys: int) -> None:
    """Keys just written into the key table, which now holds about ``table_keys`` keys: set
    their bits in the filter, and in the one being built for the part of the table it has
    read; start building a new one when they load the filter past :data:`BITS_PER_KEY`."""
    if not len(keys):
        return
    counts = _counts(conn)
    words, loaded = counts["filter_words"], counts["filter_keys"] + len(keys)
    if words:
        _or_keys(conn, "key_filter", keys, words)
        _set(conn, filter_keys=loaded, filter_generation=counts["filter_generation"] + 1)
    if counts["filter_next_words"]:  # keys after filter_next_key will be read from the table
        read = keys[keys <= counts["filter_next_key"]]
        _or_keys(conn, "key_filter_next", read, counts["filter_next_words"])
        _set(conn, filter_next_keys=counts["filter_next_keys"] + len(read))
    elif loaded * BITS_PER_KEY > words * 64:
        start_rebuild(conn, table_keys)


def start_rebuild(conn: sqlite3.Connection, table_keys: int) -> None:
    """Begin building a filter for ``table_keys`` keys (:func:`size_words`), in steps
    (:func:`rebuild_step`); the filter in use stays until it is done."""
    conn.execute("DELETE FROM key_filter_next")
    _set(conn, filter_next_words=size_words(table_keys), filter_next_key=-1, filter_next_keys=0)


def rebuild_step(conn: sqlite3.Connection, budget: int, table: str = "text_keys") -> bool:
    """Read up to ``budget`` more keys of ``table``, in key order, into the filter being
    built (its blocks in that key range: the words follow the keys); when the table is
    read, put it in place of the filter in use. Whether a build is still going on."""
    counts = _counts(conn)
    words = counts["filter_next_words"]
    if not words:
        return False
    last, read = counts["filter_next_key"], counts["filter_next_keys"]
    while budget > 0:  # by chunks: a bounded number of Python ints at a time
        keys = _keys_after(conn, table, last, min(budget, _SCAN_CHUNK))
        if not len(keys):
            conn.execute("DELETE FROM key_filter")
            conn.execute("INSERT INTO key_filter (block, bits) SELECT block, bits FROM key_filter_next")
            conn.execute("DELETE FROM key_filter_next")
            # blocks no key fell in are zeros
            conn.executemany("INSERT OR IGNORE INTO key_filter (block, bits) VALUES (?, ?)",
                             ((b, bytes(8 * BLOCK_WORDS)) for b in range(words // BLOCK_WORDS)))
            _set(conn, filter_words=words, filter_keys=read, filter_generation=counts["filter_generation"] + 1,
                 filter_next_words=0, filter_next_key=-1, filter_next_keys=0)
            return False
        _or_keys(conn, "key_filter_next", keys, words)
        last, read, budget = int(keys[-1]), read + len(keys), budget - len(keys)
    _set(conn, filter_next_key=last, filter_next_keys=read)
    return True


def _keys_after(conn: sqlite3.Connection, table: str, last: int, limit: int) -> np.ndarray:
    """Up to ``limit`` keys of ``table`` after ``last``, in key order. Read as one string of
    12 hex digits a key (SQLite's ``printf``): a Python int per row cost twice as much."""
    (text,) = conn.execute(f"SELECT group_concat(printf('%012x', key), '') FROM "
                           f"(SELECT key FROM {table} WHERE key > ? ORDER BY key LIMIT ?)", (last, limit)).fetchone()
    if not text:
        return np.empty(0, np.int64)
    wide = np.zeros((len(text) // 12, 8), np.uint8)  # 6 bytes a key (keys < 2**47), big-endian
    wide[:, 2:] = np.frombuffer(bytes.fromhex(text), np.uint8).reshape(-1, 6)
    return wide.view(">i8").ravel().astype(np.int64)


def rebuild(conn: sqlite3.Connection, table: str = "text_keys") -> int:
    """Build the filter anew from the keys of ``table`` at once; return its words."""
    start_rebuild(conn, int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]))
    while rebuild_step(conn, _SCAN_CHUNK, table):
        pass
    return _counts(conn)["filter_words"]


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
            bits = np.zeros(words, np.uint64)  # filled block by block: no second copy in memory
            blocks = 0
            for block, blob in conn.execute("SELECT block, bits FROM key_filter ORDER BY block"):
                bits[block * BLOCK_WORDS:(block + 1) * BLOCK_WORDS] = np.frombuffer(blob, dtype="<u8")
                blocks += 1
            if blocks * BLOCK_WORDS != words:
                raise sqlite3.DatabaseError(f"key filter holds {blocks * BLOCK_WORDS} words, counts say {words}")
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
