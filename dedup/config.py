"""The scan configuration: one frozen object with documented, validated defaults.

>>> from dedup.config import ScanConfig
>>> ScanConfig().replace(ngram=3).ngram
3
>>> ScanConfig(doc_threshold=1.5)
Traceback (most recent call last):
...
dedup.errors.ConfigError: doc_threshold must be in (0.0, 1.0], got 1.5
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from dedup.errors import ConfigError


def _unit(name: str, value: float, *, open_low: bool = True) -> None:
    ok = (0.0 < value <= 1.0) if open_low else (0.0 <= value <= 1.0)
    if not ok:
        interval = "(0.0, 1.0]" if open_low else "[0.0, 1.0]"
        raise ConfigError(f"{name} must be in {interval}, got {value!r}")


def _positive(name: str, value: int, minimum: int = 1) -> None:
    if not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")


@dataclass(frozen=True, slots=True)
class ScanConfig:
    """How documents are fingerprinted, which candidates are checked and what counts as related.

    Fingerprints (MinHash-LSH) work at two granularities:

    - ``ngram``-word shingles of the whole article, signed with ``doc_num_perm`` hash
      functions and banded for Jaccard ``doc_threshold``: reprints and light edits;
    - sets of content words (stop words removed, stemmed) of every sentence and of every
      pair of adjacent sentences, signed with ``passage_num_perm`` functions and banded for
      ``passage_threshold``: rewrites and partial reuse, which keep names, numbers and rare
      words but not the wording. Passages with fewer than ``passage_min_words`` content
      words are not fingerprinted. Two documents become candidates when their passages
      share at least ``passage_min_hits`` LSH buckets (one chance collision is not enough).
      Passage signatures are cut into the bands that suit ``passage_threshold`` best, or
      into ``passage_lsh = (bands, rows)``: fewer bands give fewer keys per passage (a
      smaller, faster index, see :mod:`dedup.store`) and miss more weak rewrites; 0 bands
      make candidates come from whole-text keys only (reprints, syndicated copies, light
      edits: rewrites and partial reuse are then missed).
      An LSH bucket pairs all its documents when it holds at most ``max_bucket`` of them
      (``passage_max_bucket`` for passage buckets); a larger one only links each document
      to the next (see :func:`dedup.index.candidate_pairs`): a key that many documents
      share is common vocabulary, whose all-pairs would grow with the square of the corpus,
      or a widely reprinted text, whose copies the chain still connects.

    Every candidate pair is verified: sentences are matched one to one by IDF-weighted
    overlap of content words (the IDF is computed per language over the corpus) and by
    edit similarity of their words. A pair is reported when it has at least ``min_matches``
    sentence matches scoring ``match_threshold`` or more, or one verbatim sentence of at
    least ``min_verbatim_words`` words; a pair that is neither a rewrite nor a copy of most
    of the shorter text (a ``partial`` pair) also needs ``min_verbatim_words`` words of
    copied or lightly edited sentences.

    Clusters are the connected components of the pairs whose relation is in
    ``cluster_relations``: by default not ``partial``, since an article that reuses two
    paragraphs of another is a different story, and chaining through partial reuse would
    merge unrelated stories into one cluster. Partial pairs are still reported.
    """

    ngram: int = 5
    doc_num_perm: int = 128
    doc_threshold: float = 0.5
    passage_num_perm: int = 42
    passage_threshold: float = 0.4
    passage_min_words: int = 4
    passage_min_hits: int = 3
    passage_lsh: tuple[int, int] | None = None
    max_bucket: int = 64
    passage_max_bucket: int = 8
    match_threshold: float = 0.4
    min_matches: int = 2
    verbatim_ratio: float = 0.9
    edited_ratio: float = 0.7
    min_verbatim_words: int = 12
    boilerplate_min_docs: int | None = None
    cluster_relations: tuple[str, ...] = ("duplicate", "syndicated", "rewrite")
    seed: int = 1

    def __post_init__(self) -> None:
        _positive("ngram", self.ngram)
        _positive("doc_num_perm", self.doc_num_perm, 2)
        _positive("passage_num_perm", self.passage_num_perm, 2)
        _positive("passage_min_words", self.passage_min_words)
        _positive("max_bucket", self.max_bucket, 2)
        _positive("passage_max_bucket", self.passage_max_bucket, 2)
        _positive("min_matches", self.min_matches)
        _positive("passage_min_hits", self.passage_min_hits)
        _positive("min_verbatim_words", self.min_verbatim_words)
        if self.boilerplate_min_docs is not None:
            _positive("boilerplate_min_docs", self.boilerplate_min_docs, 2)
        if self.passage_lsh is not None:
            lsh = self.passage_lsh
            if (not isinstance(lsh, tuple) or len(lsh) != 2 or not all(isinstance(x, int) for x in lsh)
                    or lsh[0] < 0 or lsh[1] < 1 or lsh[0] * lsh[1] > self.passage_num_perm):
                raise ConfigError(
                    "passage_lsh must be None or (bands, rows), integers with bands >= 0, rows >= 1 and "
                    f"bands x rows <= passage_num_perm ({self.passage_num_perm}), got {lsh!r}"
                )
        for name in ("doc_threshold", "passage_threshold", "match_threshold",
                     "verbatim_ratio", "edited_ratio"):
            _unit(name, getattr(self, name))
        if self.edited_ratio > self.verbatim_ratio:
            raise ConfigError(
                f"edited_ratio must not exceed verbatim_ratio, got {self.edited_ratio} > "
                f"{self.verbatim_ratio}"
            )
        bad = set(self.cluster_relations) - {"duplicate", "syndicated", "rewrite", "partial"}
        if bad or isinstance(self.cluster_relations, str):
            raise ConfigError(
                "cluster_relations must be a tuple of duplicate/syndicated/rewrite/partial, "
                f"got {self.cluster_relations!r}"
            )
        if not isinstance(self.seed, int) or not 0 <= self.seed < 2**32:
            raise ConfigError(f"seed must be an integer in [0, 2**32), got {self.seed!r}")

    def replace(self, **overrides: Any) -> ScanConfig:
        """A copy with some fields changed (validated again)."""
        unknown = set(overrides) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ConfigError(f"unknown ScanConfig field(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **overrides)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["cluster_relations"] = list(self.cluster_relations)
        if self.passage_lsh is not None:
            out["passage_lsh"] = list(self.passage_lsh)
        return out

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ScanConfig:
        values = dict(values)
        if "cluster_relations" in values:
            values["cluster_relations"] = tuple(values["cluster_relations"])
        if isinstance(values.get("passage_lsh"), list):
            values["passage_lsh"] = tuple(values["passage_lsh"])
        return cls().replace(**values)
