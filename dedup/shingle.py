"""Shingles: what gets fingerprinted at each granularity.

- :func:`word_shingles`: overlapping word n-grams of surface forms (whole document);
- :func:`passage_sets`: sets of content forms of each sentence and of each pair of adjacent
  sentences (a rewrite merges and splits sentences, so windows of two catch what one-to-one
  sentences miss).

>>> word_shingles(["a", "b", "c"], 2)
['a b', 'b c']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dedup.errors import ConfigError
from dedup.prepare import Prepared


def word_shingles(words: Sequence[str], n: int) -> list[str]:
    """Word ``n``-grams joined by spaces; a text shorter than ``n`` words is one shingle."""
    if n < 1:
        raise ConfigError(f"n must be >= 1, got {n}")
    if not words:
        return []
    if len(words) <= n:
        return [" ".join(words)]
    # the i-th shingle is words i..i+n-1: n shifted copies zipped (the shortest one ends it)
    return list(map(" ".join, zip(*(words[i:] for i in range(n)), strict=False)))


@dataclass(frozen=True, slots=True)
class PassageSet:
    """Content forms of sentences ``first..last`` (inclusive) of a prepared document."""

    first: int
    last: int
    words: tuple[str, ...]


def passage_sets(prepared: Prepared, *, min_words: int = 4, window: int = 2) -> list[PassageSet]:
    """Distinct content-word sets of every run of 1..``window`` adjacent sentences.

    Runs never cross a paragraph boundary that separates two long paragraphs; sets with
    fewer than ``min_words`` words are left out (too little to tell copying from chance).
    """
    sentences = prepared.sentences
    out: list[PassageSet] = []
    seen: set[tuple[str, ...]] = set()
    for i in range(len(sentences)):
        words: set[str] = set()
        for j in range(i, min(i + window, len(sentences))):
            words.update(sentences[j].content)
            key = tuple(sorted(words))
            if len(key) >= min_words and key not in seen:
                seen.add(key)
                out.append(PassageSet(i, j, key))
    return out
