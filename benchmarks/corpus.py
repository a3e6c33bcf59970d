"""Generate a labelled syndication corpus from real Reuters-21578 newswire sentences.

Every document is built from real sentences. *Sources* are articles of 400-800 words whose
sentences come from Reuters stories of one topic; each source gets 1-4 *derivatives* of
these kinds, each a separate document:

``reprint``       same text under other site chrome, maybe re-broken or hard-wrapped at 70 chars
``trimmed``       the first 40-80% of paragraphs, sometimes plus the last one or two
``light_edit``    a few word changes per sentence, a sentence or two cut, a new short paragraph
``heavy_rewrite`` reordered, merged, split and cut sentences, heavy word changes, new sentences
``partial``       1-3 paragraphs of the source inside an otherwise new article
``same_topic``    a negative: an independent article on the same topic from other stories

About 60% of the corpus is *unrelated* filler built like sources but without derivatives.

Verbatim sentences are shared only where the truth records reuse (a source and its
derivatives), and near-identical ones neither:

*The pool.* Reuters-21578 re-sends stories with a word changed and is full of templates
("Fees comprise 1-1/4 pct selling concession ..." with other figures). :func:`load_material`
keeps a sentence only if less than 30% of its digit-masked word 4-grams (every number read as
``#``) were claimed by sentences kept before it, in wire order (a story mostly made of such
sentences is dropped whole as a repeat), then once more longest first, checking each
sentence and each of its two splice halves, so that no two kept sentences (nor halves) share
half of the shorter one's 4-grams. About 39,000 sentences go
(``near_duplicate_sentences_dropped`` in the summary): about 48,000 of the 89,000 distinct
sentences remain, 1.2M words, in 10 topic pools.

*Dealing.* Each pool sentence is dealt verbatim to at most one document (sources, filler,
``same_topic`` negatives, the new text of rewrites, partial hosts and light-edit inserts).

*Splicing.* The pool holds about 1.2M words; a 20,000-document corpus needs about 10M words of
text that is not recorded reuse, 100,000 documents about 50M. So once a topic's pool is used
up, sentences are *spliced*: the prefix half of one pool sentence joined to the suffix half of
another, numbers sometimes moved and a word sometimes changed. Using every half at most once
(or rejecting a splice whose 4-grams are 30% claimed by other clusters) would cap the corpus
at about 3,000 documents: halves must be reused. They are reused under these rules instead:

- every sentence has one fixed cut, near its middle (a clause boundary when one is close), so
  halves of one sentence never partly overlap, and a half is keyed by its digit-masked words;
- a splice is kept only if each half holds less than half of the distinct 4-grams of its
  parent and (with one 4-gram of margin, measured after the splice's own word edits) of the
  splice, and the words either side of the join differ from the parents' own: two sentences
  sharing one half are then never near-identical;
- two truth clusters share at most one half: a splice (or a verbatim sentence) is rejected
  if one of its halves already appears in a cluster that shares a half with the cluster being
  built. So unrelated documents can share half of one sentence, never two, and not a
  near-identical sentence;
- halves come from the article's topic first, from the whole pool after 100 failed attempts
  (``splice_halves_from_other_topics``), so large corpora still find halves whose clusters
  are fresh; after 2,500 attempts a second shared half is allowed, counted in
  ``splice_second_shared_half_allowed`` (zero at 20,000 and 100,000 documents);
- a splice's normalized text and (prefix, suffix) pair are never emitted twice, checked in a
  Bloom filter (no false negatives, so uniqueness is exact; ~10 bits a key, about 100 MB at
  1,000,000 documents).

``same_topic`` negatives and rewrites' new sentences also avoid the source's Reuters stories,
halves included, and a rewrite does not split a sentence whose halves other clusters use.
Articles stay 400-800 words of real (or spliced real) sentences; past the first ~2,500
documents most sentences are spliced, as before.

The summary measures the result on the written text. ``accidental_overlap``: pairs of
documents in different truth clusters sharing 1+, 2+, ... identical sentences (exact up to
``overlap_sample`` documents, 20,000 by default). ``accidental_near_identical``: pairs of
documents in different truth clusters sharing a near-identical sentence (digit-masked 4-grams
overlapping by half of the shorter sentence's or more), among ``overlap_sample`` documents.
The few left (about 1e-5 of pairs, never two sentences in one pair) come from word edits:
a derivative's edits or a number rule can shorten a sentence so that a half it shares with
another cluster becomes half of it.

Usage::

    python benchmarks/corpus.py --docs 20000 --out benchmarks/out/c20k --seed 1

Output, in ``--out``:

``docs.jsonl``
    one ``{"id", "text", "title", "date", "source"}`` per line, in random order.
``truth.jsonl``
    one labelled pair per line: ``{"a": source_id, "b": derived_id, "kind", "edited",
    "spans": [{"a": [start, end], "b": [start, end]}]}``; spans are the reused passages as
    half-open character offsets into each document's ``text``. ``same_topic`` pairs are
    negatives and have no spans.
``truth.json``
    ``{"summary", "documents": [{"id", "role", "topic"}], "pairs": [...as above...],
    "clusters": [{"id", "members"}]}``; a cluster is a source and its derivatives (not its
    ``same_topic`` negatives); documents in no cluster are singletons.

The output is a function of the options and ``--seed`` only. Documents are written as they are
made, so memory stays flat; the near-identical check over ``overlap_sample`` (20,000)
documents takes most of it, about 1.7 GB. 20,000 documents take about 7 minutes (the
one-shared-half rule rejects many candidate splices), 100,000 documents longer.
"""

from __future__ import annotations

import argparse
import csv
import glob
import hashlib
import html
import json
import logging
import os
import random
import re
import resource
import sys
import time
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

DEFAULT_REUTERS_DIR = "/work/shared/corpora/reuters21578"
DEFAULT_AG_NEWS = "/work/shared/corpora/ag_news/test.csv"

KINDS = ("reprint", "trimmed", "light_edit", "heavy_rewrite", "partial", "same_topic")
POSITIVE_KINDS = KINDS[:-1]

# Reuters topics are pooled into families, and families still below MIN_TOPIC_SENTENCES usable
# sentences into "general/other": articles dealt from a small pool share many sentences by accident
# (two 25-sentence articles from a pool of P sentences share about 625 / P).
MIN_TOPIC_SENTENCES = 1500
_FAMILIES = {
    "metals": "alum copper gold iron-steel lead nickel platinum silver strategic-metal tin zinc",
    "softs": "cocoa coffee sugar rubber cotton orange tea wool coconut potato lumber plywood",
    "farm": "grain wheat corn barley rice oilseed soybean veg-oil palm-oil rapeseed groundnut "
    "meal-feed soy-meal fishmeal tapioca livestock carcass hog l-cattle f-cattle",
    "energy": "crude nat-gas gas fuel heat jet naphtha propane pet-chem",
    "money": "money-fx dlr yen stg austdlr nzdlr rand cruzado saudriyal hk interest "
    "money-supply reserves",
    "economy": "gnp cpi ipi bop jobs retail wpi housing income instal-debt inventories lei",
    "trade": "trade ship",
}
_FAMILY_OF = {topic: family for family, names in _FAMILIES.items() for topic in names.split()}

# --------------------------------------------------------------------------------------------
# Reading Reuters-21578
# --------------------------------------------------------------------------------------------

_REUTERS_RE = re.compile(r"<REUTERS[^>]*>(.*?)</REUTERS>", re.S)
_FIELD_RE = {
    name: re.compile(rf"<{name}>(.*?)</{name}>", re.S)
    for name in ("TOPICS", "PLACES", "TITLE", "BODY", "DATE")
}
_D_RE = re.compile(r"<D>(.*?)</D>")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_PARA_SPLIT_RE = re.compile(r"\n(?=[ \t]{2,})")
_TABLE_LINE_RE = re.compile(r"\S {2,}\S|\.\.\.")
_SENT_END_RE = re.compile(r"(?<=[.!?])[\"']?\s+(?=[\"'(]?[A-Z0-9])")
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr st jr sr inc corp co ltd bros no vs gen sen rep gov lt col sgt prof "
    "jan feb mar apr jun jul aug sep sept oct nov dec mt ft approx est dept div".split()
)
_DIGIT_WORD_RE = re.compile(r"(?:^|\s)[^\s\d]*\d")  # one match per token holding a digit
_ASCII_LETTERS = bytes(range(65, 91)) + bytes(range(97, 123))
_NORM_RE = re.compile(r"[^a-z0-9]+")


@dataclass(slots=True)
class Material:
    """Usable Reuters sentences grouped by story and topic.

    ``sentences[i]`` is one sentence, ``story_of[i]`` the Reuters story it came from,
    ``pools[topic]`` the sentence ids of that topic and ``titles[story]`` the story's title.
    """

    sentences: list[str]
    words: array
    story_of: array
    titles: list[str]
    pools: dict[str, list[int]]
    filler_titles: list[str] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)


def _split_sentences(paragraph: str) -> list[str]:
    out: list[str] = []
    start = 0
    for match in _SENT_END_RE.finditer(paragraph):
        before = paragraph[start : match.start()].rstrip("\"'")
        last = before.rsplit(None, 1)[-1] if before.strip() else ""
        token = last.rstrip(".").lower()
        # "Corp." or "J." or "U.S." end abbreviations far more often than sentences here; a
        # figure does not ("... starting April 1. An opposition boycott ...").
        if (token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha())
                or re.fullmatch(r"(?:[a-z]\.)+[a-z]", token)):
            continue
        out.append(paragraph[start : match.start()].strip())
        start = match.end()
    tail = paragraph[start:].strip()
    if tail:
        out.append(tail)
    return out


def _norm_key(sentence: str) -> str:
    """A sentence compared loosely: lower case, runs of anything but letters and digits as one
    space."""
    return _NORM_RE.sub(" ", sentence.lower()).strip()


_SENTENCE_END = tuple(".!?\"'")


def sentence_keys(text: str) -> list[str]:
    """Normalized keys of the sentences of a document's ``text``, in order (see
    :func:`document_sentences`)."""
    return [_norm_key(s) for s in document_sentences(text)]


def document_sentences(text: str) -> list[str]:
    """The sentences of a document's ``text``, in order.

    Paragraphs are split on blank lines, their whitespace (hard wraps included) collapsed and
    cut with the splitter the corpus is built with. Only sentence-like pieces count: 6+ words
    ending in sentence punctuation. Site chrome (headers, footers) is lines with no sentence
    punctuation, so it drops out.
    """
    out: list[str] = []
    for para in re.split(r"\n\s*\n", text):
        para = " ".join(para.split())
        if not para:
            continue
        for sentence in _split_sentences(para):
            if len(sentence.split()) >= 6 and sentence.endswith(_SENTENCE_END):
                out.append(sentence)
    return out


NEAR_IDENTICAL = 0.5


def near_identical(a: set[Any], b: set[Any], share: float = NEAR_IDENTICAL) -> bool:
    """Do two sentences' digit-masked word 4-gram sets (:func:`masked_ngrams`) share at least
    ``share`` of the smaller set?"""
    return bool(a) and bool(b) and len(a & b) >= share * min(len(a), len(b))


_MASK_NUMBER_RE = re.compile(r"\d+(?:[.,/:-]\d+)*")
_MASKED_WORD_RE = re.compile(r"[a-z]+|#")


def masked_words(sentence: str) -> list[str]:
    """Lower-case words of ``sentence`` with every number (``1-1/4``, ``7.5``, ``1987``) as
    ``#``, so templates that differ only in their figures read the same."""
    return _MASKED_WORD_RE.findall(_MASK_NUMBER_RE.sub(" # ", sentence.lower()))


def masked_ngrams(sentence: str, n: int = 4) -> set[str]:
    """The word ``n``-grams of :func:`masked_words` (the whole sentence if shorter)."""
    words = masked_words(sentence)
    if len(words) <= n:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}


NEAR_DUP_NGRAM = 4
NEAR_DUP_CLAIMED = 0.3


class NgramClaims:
    """Greedy near-duplicate filter: a sentence is *new* while less than ``threshold`` of its
    digit-masked word ``n``-grams were claimed by sentences kept before it."""

    def __init__(self, n: int = NEAR_DUP_NGRAM, threshold: float = NEAR_DUP_CLAIMED) -> None:
        self.n = n
        self.threshold = threshold
        self._claimed: set[int] = set()

    def grams(self, sentence: str) -> set[int]:
        return {hash(g) for g in masked_ngrams(sentence, self.n)}

    def is_new(self, grams: set[int]) -> bool:
        if not grams:
            return False
        return len(grams & self._claimed) < self.threshold * len(grams)

    def claim(self, grams: set[int]) -> None:
        self._claimed |= grams


def drop_near_duplicates(
    sentences: Sequence[str], n: int = NEAR_DUP_NGRAM, threshold: float = NEAR_DUP_CLAIMED
) -> list[int]:
    """Indexes of the sentences kept, in order, by the :class:`NgramClaims` rule.

    >>> drop_near_duplicates(["Fees comprise 1-1/4 pct selling concession and 5/8 pct fees.",
    ...                       "Fees comprise 1-3/8 pct selling concession and 1/2 pct fees."])
    [0]
    """
    claims = NgramClaims(n, threshold)
    kept: list[int] = []
    for i, sentence in enumerate(sentences):
        grams = claims.grams(sentence)
        if claims.is_new(grams):
            claims.claim(grams)
            kept.append(i)
    return kept


def _key_hash(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little",
                          signed=True)


def _title_case(title: str) -> str:
    # Reuters titles are upper case; str.title() would give "Australia'S".
    return " ".join(w[:1].upper() + w[1:].lower() for w in title.split())


def _usable(sentence: str) -> bool:
    words = sentence.split()
    if not 6 <= len(words) <= 60:
        return False
    if not sentence[0].isupper() and sentence[0] not in "\"'(":
        return False
    if sentence[-1] not in ".!?\"'":
        return False
    if "reuter" in sentence.lower() or sentence.upper() == sentence:
        return False
    if sentence.count('"') % 2:  # split inside a quotation: half a quote reads as junk
        return False
    if len(_DIGIT_WORD_RE.findall(sentence)) > 0.35 * len(words):
        return False
    raw = sentence.encode("latin-1", "replace")
    return len(raw) - len(raw.translate(None, _ASCII_LETTERS)) > 0.6 * len(raw)


def _body_sentences(body: str) -> list[str]:
    body = _CONTROL_RE.sub("", html.unescape(body))
    body = re.sub(r"\s*Reuter\s*$", "", body.strip())
    sentences: list[str] = []
    for para in _PARA_SPLIT_RE.split(body):
        lines = [line for line in para.split("\n") if line.strip()]
        if not lines:
            continue
        # Tables and price lists: column gaps or dotted leaders on many lines.
        if sum(bool(_TABLE_LINE_RE.search(line.strip())) for line in lines) > len(lines) / 3:
            continue
        text = " ".join(line.strip() for line in lines)
        sentences.extend(s for s in _split_sentences(text) if _usable(s))
    return sentences


def load_material(
    reuters_dir: str | os.PathLike[str] = DEFAULT_REUTERS_DIR,
    ag_news: str | os.PathLike[str] | None = DEFAULT_AG_NEWS,
) -> Material:
    """Parse Reuters-21578 SGML into usable, de-duplicated sentences grouped by topic."""
    files = sorted(glob.glob(os.path.join(os.fspath(reuters_dir), "reut2-*.sgm")))
    if not files:
        raise FileNotFoundError(f"no reut2-*.sgm files in {reuters_dir}")
    sentences: list[str] = []
    words = array("i")
    story_of = array("i")
    titles: list[str] = []
    by_topic: dict[str, list[int]] = {}
    seen: set[str] = set()
    claims = NgramClaims()
    near_dropped = stories_dropped = 0
    for path in files:
        with open(path, encoding="latin-1") as fh:
            raw = fh.read()
        for block in _REUTERS_RE.findall(raw):
            body = _FIELD_RE["BODY"].search(block)
            if not body:
                continue
            candidates = _body_sentences(body.group(1))
            keys = [_norm_key(s) for s in candidates]
            grams = [claims.grams(s) for s in candidates]
            unseen = [k not in seen for k in keys]
            near = [u and not claims.is_new(g) for u, g in zip(unseen, grams, strict=True)]
            fresh = [
                (s, k, g)
                for s, k, g, u, d in zip(candidates, keys, grams, unseen, near, strict=True)
                if u and not d
            ]
            # A story mostly made of sentences seen before (verbatim or nearly: the same story
            # re-sent with a word changed, a template with other figures) is a repeat or
            # correction of an earlier wire: keeping its few new sentences would plant
            # near-duplicates.
            if len(fresh) < 2 or len(fresh) < 0.5 * len(candidates):
                seen.update(keys)
                stories_dropped += 1
                near_dropped += sum(near)
                continue
            topics = _D_RE.findall(_FIELD_RE["TOPICS"].search(block).group(1))
            places = _D_RE.findall(_FIELD_RE["PLACES"].search(block).group(1))
            if topics:
                topic = _FAMILY_OF.get(topics[0], topics[0])
            else:
                topic = "general/" + (places[0] if places else "none")
            title_match = _FIELD_RE["TITLE"].search(block)
            title = html.unescape(title_match.group(1)).strip() if title_match else ""
            story = len(titles)
            titles.append(_title_case(_CONTROL_RE.sub("", title)) or "Untitled")
            pool = by_topic.setdefault(topic, [])
            near_dropped += sum(near)
            for sentence, key, sentence_grams in fresh:
                if key in seen:
                    continue
                seen.add(key)
                if not claims.is_new(sentence_grams):  # near a sentence kept from this story
                    near_dropped += 1
                    continue
                claims.claim(sentence_grams)
                pool.append(len(sentences))
                sentences.append(sentence)
                words.append(len(sentence.split()))
                story_of.append(story)
    # The pass above keeps the first of two near-duplicates in wire order, so a short sentence
    # can stay when a longer one holding most of it comes later. A second pass, longest
    # sentences first, drops every sentence that shares NEAR_DUP_CLAIMED of its 4-grams with
    # longer ones: no two kept sentences are then near-identical.
    # Each half (see _balanced_cut) is checked too, so that the splicer's halves of two kept
    # sentences are never near-identical either.
    by_length = sorted(range(len(sentences)), key=lambda i: (-len(masked_words(sentences[i])), i))
    second = NgramClaims()
    keep_list: list[int] = []
    for i in by_length:
        sentence_words = sentences[i].split()
        cut = _balanced_cut(sentence_words)
        parts = [second.grams(sentences[i]), second.grams(" ".join(sentence_words[:cut])),
                 second.grams(" ".join(sentence_words[cut:]))]
        if all(second.is_new(g) for g in parts if g):
            second.claim(parts[0])
            keep_list.append(i)
    keep = sorted(keep_list)
    near_dropped += len(sentences) - len(keep)
    renumber = {old: new for new, old in enumerate(keep)}
    sentences = [sentences[i] for i in keep]
    words = array("i", (words[i] for i in keep))
    story_of = array("i", (story_of[i] for i in keep))
    by_topic = {t: [renumber[i] for i in ids if i in renumber] for t, ids in by_topic.items()}
    pools: dict[str, list[int]] = {}
    for topic in sorted(by_topic):
        ids = by_topic[topic]
        if len(ids) >= MIN_TOPIC_SENTENCES:
            pools[topic] = ids
        else:
            pools.setdefault("general/other", []).extend(ids)
    filler_titles: list[str] = []
    if ag_news and os.path.exists(ag_news):
        with open(ag_news, newline="", encoding="utf-8") as fh:
            filler_titles = [row[1].strip() for row in csv.reader(fh) if len(row) >= 2]
    stats = {"near_duplicate_sentences_dropped": near_dropped,
             "repeated_stories_dropped": stories_dropped}
    return Material(sentences, words, story_of, titles, pools, filler_titles, stats)


# --------------------------------------------------------------------------------------------
# Text edits
# --------------------------------------------------------------------------------------------

# One-way on purpose: "fell" -> "declined" is safe, "declined (to comment)" -> "fell" is not.
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "rose": ("climbed", "increased", "advanced"),
    "climbed": ("rose",),
    "fell": ("declined", "dropped", "slipped"),
    "dropped": ("fell",),
    "company": ("firm",),
    "companies": ("firms",),
    "firm": ("company",),
    "shares": ("stock",),
    "bought": ("purchased", "acquired"),
    "buy": ("purchase", "acquire"),
    "expected": ("anticipated", "forecast"),
    "expects": ("anticipates",),
    "announced": ("unveiled", "disclosed"),
    "about": ("around", "roughly", "some"),
    "around": ("about",),
    "increase": ("rise",),
    "big": ("large",),
    "large": ("big", "sizeable"),
    "major": ("leading", "key"),
    "began": ("started",),
    "agreement": ("deal", "accord"),
    "deal": ("agreement",),
    "talks": ("negotiations", "discussions"),
    "officials": ("authorities",),
    "government": ("administration", "authorities"),
    "output": ("production",),
    "production": ("output",),
    "estimated": ("projected",),
    "strong": ("robust", "solid"),
    "meeting": ("session",),
    "spokesman": ("representative", "spokesperson"),
    "previous": ("prior", "earlier"),
    "proposed": ("suggested",),
    "reached": ("hit",),
    "decision": ("move",),
    "however": ("though",),
    "sharp": ("steep",),
    "reduce": ("cut", "lower"),
    "would": ("will",),
    "could": ("might",),
    "last year": ("a year earlier", "in the previous year"),
    "next year": ("in the coming year",),
    "last week": ("the previous week",),
    "because": ("as",),
    "including": ("among them",),
    "told": ("informed",),
}
_SYNONYM_RE = re.compile(
    r"\b(" + "|".join(sorted(map(re.escape, _SYNONYMS), key=len, reverse=True)) + r")\b",
    re.I,
)
_NUMBER_RULES = [
    (re.compile(r"(?<=\d) mln\b"), (" million", " mln")),
    (re.compile(r"(?<=\d) million\b"), (" mln",)),
    (re.compile(r"(?<=\d) bln\b"), (" billion",)),
    (re.compile(r"(?<=\d) billion\b"), (" bln",)),
    (re.compile(r"\bdlrs\b"), ("dollars",)),
    (re.compile(r"\bdlr\b"), ("dollar",)),
    (re.compile(r"(?<=\d) pct\b"), (" percent", " per cent", "%")),
    (re.compile(r"(?<=\d) percent\b"), (" pct",)),
    (re.compile(r"(?<=\d),(?=\d{3}\b)"), ("",)),
]
_ADVERB_RE = re.compile(
    r" (also|still|now|already|just|slightly|sharply|recently|further|currently|only)\b"
)
_SAID_RE = re.compile(r"\bsaid\b")
_SAID_ALTERNATIVES = ("stated", "told reporters", "added", "noted")

_SPEAKER = r"(?:[A-Z][\w.&'-]*(?: [A-Z][\w.&'-]*){0,4}|The company|The spokesman|He|She|It|They)"
_X_SAID_Y_RE = re.compile(rf"^(?P<x>{_SPEAKER}) said (?:that )?(?P<y>[^,].{{10,}}?)\.$")
_Y_X_SAID_RE = re.compile(
    r"^(?P<y>.{10,}?), (?P<x>he|she|it|they|the company|the spokesman|officials|analysts|"
    r"traders|dealers|[A-Z][\w.&'-]*(?: [A-Z][\w.&'-]*){0,4}) said\.$"
)
_PASSIVE_RE = re.compile(
    r"^(?P<x>[A-Z][\w.&'-]*(?: [A-Z][\w.&'-]*){0,3}) (?P<v>bought|acquired|sold|raised|cut|"
    r"lowered|completed|approved|rejected) (?P<y>[^,]{8,60}?)\.$"
)
# Clause boundaries where a sentence can be split in two without leaving a fragment.
_CLAUSE_RE = re.compile(r", (?:and|while|whereas) (?=[a-zA-Z])|; ")
_PRONOUN_OBJECT = {"He": "him", "She": "her", "It": "it", "They": "them"}
_COMMON_FIRST_WORDS = frozenset(
    "the a an it its this that there these those he she they we prices sales output "
    "production profits earnings trade in on at for by with some most many analysts "
    "officials traders dealers".split()
)


def _match_case(template: str, word: str) -> str:
    if template[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


def _decapitalize(text: str) -> str:
    first = text.split(" ", 1)[0]
    if first.lower() in _COMMON_FIRST_WORDS and not first.isupper():
        return text[:1].lower() + text[1:]
    return text


def _edit_candidates(text: str, rng: random.Random) -> list[tuple[int, int, str]]:
    """Every word-level edit that applies to ``text``: ``(start, end, replacement)``."""
    out: list[tuple[int, int, str]] = []
    for m in _SYNONYM_RE.finditer(text):
        options = _SYNONYMS.get(m.group(1).lower())
        # "8.3 mln shares" must not become "8.3 mln stock".
        if options and not re.search(r"\d( mln| bln| million| billion)? $", text[: m.start()]):
            out.append((m.start(), m.end(), _match_case(m.group(1), rng.choice(options))))
    for pattern, replacements in _NUMBER_RULES:
        for m in pattern.finditer(text):
            out.append((m.start(), m.end(), rng.choice(replacements)))
    for m in _ADVERB_RE.finditer(text):
        out.append((m.start(), m.end(), ""))
    for m in _SAID_RE.finditer(text):
        out.append((m.start(), m.end(), rng.choice(_SAID_ALTERNATIVES)))
    return out


def edit_words(text: str, rng: random.Random, count: int) -> str:
    """Apply up to ``count`` non-overlapping word edits (synonyms, numbers, adverbs, "said")."""
    candidates = _edit_candidates(text, rng)
    rng.shuffle(candidates)
    chosen: list[tuple[int, int, str]] = []
    for cand in candidates:
        if len(chosen) >= count:
            break
        if all(cand[1] <= c[0] or cand[0] >= c[1] for c in chosen):
            chosen.append(cand)
    for start, end, replacement in sorted(chosen, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def reorder_clause(text: str, rng: random.Random) -> str:
    """Rewrite "X said Y." as "Y, X said." (and back), or "X bought Y." as "Y was bought by X."."""
    m = _X_SAID_Y_RE.match(text)
    if m:
        x = m.group("x")
        x = x.lower() if x in ("He", "She", "It", "They", "The company", "The spokesman") else x
        if rng.random() < 0.5 and m.group("x") in _PRONOUN_OBJECT:
            return f"According to {_PRONOUN_OBJECT[m.group('x')]}, {_decapitalize(m.group('y'))}."
        return f"{_capitalize(m.group('y'))}, {x} said."
    m = _Y_X_SAID_RE.match(text)
    if m:
        return f"{_capitalize(m.group('x'))} said {_decapitalize(m.group('y'))}."
    m = _PASSIVE_RE.match(text)
    if m:
        return f"{_capitalize(m.group('y'))} was {m.group('v')} by {m.group('x')}."
    return text


# --------------------------------------------------------------------------------------------
# Documents as fragments with provenance
# --------------------------------------------------------------------------------------------

# A fragment is (text, a_start, a_end): a piece of a derived document and the source range it
# came from, or (-1, -1) for new text. A sentence is a list of fragments, a paragraph a list
# of sentences.
Fragment = tuple[str, int, int]
Sentence = list[Fragment]
Paragraph = list[Sentence]


def _new(text: str) -> Sentence:
    return [(text, -1, -1)]


def render(
    paragraphs: Sequence[Paragraph], header: Sequence[str] = (), footer: Sequence[str] = ()
) -> tuple[str, list[tuple[int, int, int, int]]]:
    """Join paragraphs into text; return it and ``(a_start, a_end, b_start, b_end)`` per origin."""
    parts: list[str] = []
    origins: list[tuple[int, int, int, int]] = []
    pos = 0

    def emit(text: str) -> None:
        nonlocal pos
        parts.append(text)
        pos += len(text)

    if header:
        emit("\n".join(header))
    for paragraph in paragraphs:
        if pos:
            emit("\n\n")
        for i, sentence in enumerate(paragraph):
            if i:
                emit(" ")
            for text, a_start, a_end in sentence:
                if a_start >= 0:
                    origins.append((a_start, a_end, pos, pos + len(text)))
                emit(text)
    if footer:
        emit("\n\n" + "\n".join(footer))
    return "".join(parts), origins


def merge_spans(
    origins: Sequence[tuple[int, int, int, int]], text_a: str, text_b: str
) -> list[dict[str, list[int]]]:
    """Merge origin ranges that run on in both texts (only whitespace between) into passages."""
    spans: list[list[int]] = []
    for a_start, a_end, b_start, b_end in origins:
        if spans:
            last = spans[-1]
            if (
                last[1] <= a_start
                and not text_a[last[1] : a_start].strip()
                and last[3] <= b_start
                and not text_b[last[3] : b_start].strip()
            ):
                last[1], last[3] = a_end, b_end
                continue
        spans.append([a_start, a_end, b_start, b_end])
    return [{"a": [s[0], s[1]], "b": [s[2], s[3]]} for s in spans]


def hard_wrap(text: str, width: int = 70) -> str:
    """Wrap lines at ``width`` by turning spaces into newlines, so offsets do not move."""
    chars = list(text)
    line_start, last_space = 0, -1
    for i, ch in enumerate(chars):
        if ch == "\n":
            line_start, last_space = i + 1, -1
            continue
        if i - line_start >= width and last_space >= 0:
            chars[last_space] = "\n"
            line_start, last_space = last_space + 1, -1
        if ch == " ":
            last_space = i
    return "".join(chars)


# --------------------------------------------------------------------------------------------
# Site chrome
# --------------------------------------------------------------------------------------------

OUTLETS = (
    "The Daily Ledger", "Metro Business Wire", "Harbor City Times", "The Commodity Desk",
    "Northern Tribune", "Global Markets Today", "Le Courrier Economique", "Valley Gazette",
    "Pacific Trade Journal", "The Evening Courier", "Capital Street Post", "Midland Herald",
    "Financial Observer", "The Morning Dispatch", "Atlantic News Service", "Agri Markets Online",
    "Energy Report Weekly", "The Investor's Digest", "Riverside Chronicle", "Le Journal du Soir",
    "Eastern Business Review", "The Coastal Star", "Market Pulse", "Prairie Farm News",
    "Metropolitan Standard", "The Civic Record", "Trade Winds Magazine", "Sunday Examiner",
)
_FRENCH_MONTHS = (
    "janvier février mars avril mai juin juillet août septembre octobre novembre décembre"
).split()


def _header(rng: random.Random, outlet: str, date: str, topic: str) -> list[str]:
    year, month, day = (int(x) for x in date.split("-"))
    section = topic.split("/")[0].replace("-", " ").title()
    options = [
        f"{outlet} | {section}",
        f"Home > Business > {section}",
        f"Published {date}",
        f"Publié le {day} {_FRENCH_MONTHS[month - 1]} {year} à {rng.randint(6, 22)}h"
        f"{rng.randint(0, 59):02d}",
        f"By {rng.choice(('Staff Writer', 'Wire Desk', 'Our Correspondent', 'Newsroom'))}",
        f"Reading time: {rng.randint(2, 6)} min",
    ]
    return rng.sample(options, rng.randint(1, 3))


def _footer(
    rng: random.Random, outlet: str, date: str, topic: str, material: Material
) -> list[str]:
    more = rng.choice(material.filler_titles) if material.filler_titles else "Markets wrap"
    tags = [topic.split("/")[-1], rng.choice(("markets", "business", "economy", "world"))]
    options = [
        "Share this article",
        f"Read more: {more.rstrip('.!?')}",
        "Tags: " + ", ".join(tags),
        f"© {date[:4]} {outlet} | All rights reserved",
        "Follow us on Twitter and Facebook",
        "Sign up for our daily newsletter",
    ]
    return rng.sample(options, rng.randint(1, 3))


# --------------------------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CorpusConfig:
    """What to generate. ``mix`` weights the derivative kinds; ``unrelated_fraction`` is the
    share of documents that are unrelated filler; each source gets 1..``max_derivatives``."""

    docs: int
    seed: int = 1
    unrelated_fraction: float = 0.6
    max_derivatives: int = 4
    mix: tuple[tuple[str, float], ...] = tuple((k, 1.0) for k in KINDS)
    min_words: int = 400
    max_words: int = 800
    chunk: int = 2000
    overlap_sample: int = 20000
    # Use at most this many Reuters sentences per topic (0: all). Tests cap the pool to force
    # splicing, which otherwise starts only once a topic's original sentences run out.
    max_pool: int = 0

    def __post_init__(self) -> None:
        if self.docs < 1:
            raise ValueError(f"docs must be >= 1, got {self.docs}")
        if not 0.0 <= self.unrelated_fraction < 1.0:
            raise ValueError(
                f"unrelated_fraction must be in [0.0, 1.0), got {self.unrelated_fraction}"
            )
        if self.max_derivatives < 1:
            raise ValueError(f"max_derivatives must be >= 1, got {self.max_derivatives}")
        for kind, weight in self.mix:
            if kind not in KINDS:
                raise ValueError(f"mix kind must be one of {KINDS}, got {kind!r}")
            if weight < 0:
                raise ValueError(f"mix weight must be >= 0, got {kind}={weight}")
        if not any(w > 0 for _, w in self.mix):
            raise ValueError("mix must give at least one kind a positive weight")
        if self.max_pool < 0 or 0 < self.max_pool < 20:
            raise ValueError(f"max_pool must be 0 (no cap) or >= 20, got {self.max_pool}")
        if not 0 < self.min_words <= self.max_words:
            raise ValueError(
                f"need 0 < min_words <= max_words, got {self.min_words}, {self.max_words}"
            )


class _Deck:
    """A topic's sentence ids in random order.

    ``cycle=True`` reshuffles and starts again when exhausted (used to pick splice halves);
    ``cycle=False`` deals every id at most once and then returns ``None`` (used for whole
    sentences, so an original Reuters sentence appears verbatim in one document only, plus the
    copies that the truth records). Ids a draw had to skip are put back at the end."""

    def __init__(self, ids: Sequence[int], rng: random.Random, cycle: bool) -> None:
        self._ids = list(ids)
        self._rng = rng
        self._cycle = cycle
        self._pos = len(self._ids) if cycle else 0
        if not cycle:
            rng.shuffle(self._ids)

    def __len__(self) -> int:
        return len(self._ids) - (0 if self._cycle else self._pos)

    def next(self) -> int | None:
        if self._pos >= len(self._ids):
            if not self._cycle or not self._ids:
                return None
            self._rng.shuffle(self._ids)
            self._pos = 0
        self._pos += 1
        return self._ids[self._pos - 1]

    def put_back(self, ids: Sequence[int]) -> None:
        if ids and not self._cycle:
            del self._ids[: self._pos]
            self._pos = 0
            self._ids.extend(ids)


class _SeenFilter:
    """A Bloom filter over byte keys (normalized sentences and splice (prefix, suffix) pairs).

    No false negatives: a key it says is new was never added, so spliced sentences are
    guaranteed unique. A false positive (about 1% at the sized capacity, ~10 bits and 7 probes
    per key) only makes the splicer retry. Memory is ``capacity * 10 / 8`` bytes: about 100 MB
    for the ~70M keys of a 1,000,000-document corpus, where a Python set would take several GB.
    """

    def __init__(self, capacity: int, bits_per_key: int = 10, probes: int = 7) -> None:
        self.bits = max(1 << 16, capacity * bits_per_key)
        self.probes = probes
        self.added = 0
        self._array = bytearray(self.bits // 8 + 1)

    def _positions(self, key: bytes) -> list[int]:
        digest = hashlib.blake2b(key, digest_size=16).digest()
        h1 = int.from_bytes(digest[:8], "little")
        h2 = int.from_bytes(digest[8:], "little") | 1
        return [(h1 + i * h2) % self.bits for i in range(self.probes)]

    def __contains__(self, key: bytes) -> bool:
        arr = self._array
        return all(arr[b >> 3] & (1 << (b & 7)) for b in self._positions(key))

    def add(self, key: bytes) -> None:
        arr = self._array
        for b in self._positions(key):
            arr[b >> 3] |= 1 << (b & 7)
        self.added += 1


def _balanced_cut(words: Sequence[str]) -> int:
    """The one word index where a sentence of ``words`` is cut into a prefix and a suffix half.

    Both halves hold at most about half the sentence's :func:`masked_words` tokens
    (``2 * half - 3 < tokens``), so a sentence that shares one half with another shares less
    than half of the shorter one's word 4-grams: never a near-duplicate. A clause boundary
    (after a comma, semicolon or "said", or before "and") is taken when one falls in that
    window, else the most even cut.
    """
    n = len(words)
    tokens = [len(masked_words(w)) for w in words]
    total = sum(tokens)
    before = [0]
    for t in tokens:
        before.append(before[-1] + t)
    window = [
        c for c in range(1, n)
        if 2 * before[c] - 3 < total and 2 * (total - before[c]) - 3 < total
    ]
    clauses = [
        c for c in window
        if words[c - 1][-1] in ",;" or words[c - 1] == "said" or words[c] == "and"
    ]
    # No cut in the window (a long hyphenated word in the middle): the most even one; the
    # splicer then leaves the sentence's halves alone.
    options = clauses or window or list(range(1, n)) or [1]
    return min(options, key=lambda c: (abs(2 * before[c] - total), c))


_NUMBER_RE = re.compile(r"(?<![\w.])(\d+)(?:\.(\d+))?(?![\w.]?\d)")


def _vary_numbers(text: str, rng: random.Random, p: float = 0.5) -> str:
    """Move some numbers by 5-40% (keeping their decimals); years stay."""

    def repl(m: re.Match[str]) -> str:
        frac = m.group(2)
        value = float(m.group(0))
        if rng.random() >= p or (frac is None and 1900 <= value <= 2000) or value == 0:
            return m.group(0)
        new = value * (1 + rng.choice((-1, 1)) * rng.uniform(0.05, 0.4))
        if frac is None:
            return str(max(1, round(new)))
        return f"{new:.{len(frac)}f}"

    return _NUMBER_RE.sub(repl, text)


@dataclass(slots=True)
class _Doc:
    key: int
    text: str
    title: str
    date: str
    outlet: str
    role: str
    topic: str
    group: int


@dataclass(slots=True)
class _Article:
    topic: str
    title: str
    paragraphs: list[list[int]]

    @property
    def ids(self) -> list[int]:
        return [s for p in self.paragraphs for s in p]


class Generator:
    """Builds documents; one instance per corpus, all randomness from one seeded RNG."""

    def __init__(self, config: CorpusConfig, material: Material) -> None:
        self.config = config
        self.material = material
        self.rng = random.Random(config.seed)
        self.topics = sorted(material.pools)
        cap = config.max_pool or None
        self.pools = {t: material.pools[t][:cap] for t in self.topics}
        self.topic_weights = [len(self.pools[t]) for t in self.topics]
        # Whole sentences are dealt once; splice halves come from decks that cycle.
        self.decks = {t: _Deck(self.pools[t], self.rng, cycle=False) for t in self.topics}
        every = [i for t in self.topics for i in self.pools[t]]
        self._halves: dict[int, tuple[int, str, str, int, int, int]] = {}
        for sid in every:
            self._half(sid)
        # Halves usable in a splice hold less than half their parent's 4-grams; suffixes are
        # dealt from decks by their 4-gram count, so a prefix finds a suffix of its size.
        self.prefix_decks = {
            t: _Deck([i for i in self.pools[t] if self._prefix_ok(i)], self.rng, cycle=True)
            for t in self.topics
        }
        self.suffix_decks = {
            t: self._buckets([i for i in self.pools[t] if self._suffix_ok(i)])
            for t in self.topics
        }
        self.global_prefix = _Deck([i for i in every if self._prefix_ok(i)], self.rng, cycle=True)
        self.global_suffix = self._buckets([i for i in every if self._suffix_ok(i)])
        # Each sentence's fixed cut and the digit-masked text of its two halves (the key of a
        # half: the same words in two sentences are one half). half_groups[key] lists the
        # truth clusters whose documents contain that half (verbatim originals included);
        # touched[g] the clusters that share a half with cluster g, for the clusters of the
        # unit being built: two clusters share at most one half.
        self.half_groups: dict[str, array] = {}
        self.touched: dict[int, set[int]] = {}
        self.group = 0
        self.n_original = len(material.sentences)
        # Spliced sentences of the unit being built (a handle >= n_original -> text, prefix
        # sentence, suffix sentence); cleared per unit, so memory stays flat.
        self.spliced: dict[int, tuple[str, int, int]] = {}
        self.next_handle = self.n_original
        capacity = len(material.sentences) + 2 * 40 * config.docs
        self.seen = _SeenFilter(capacity)
        for sentence in material.sentences:
            self.seen.add(_norm_key(sentence).encode())
        self.stats = {"original_used": 0, "original_deferred": 0, "spliced": 0,
                      "splice_retries": 0, "splice_rejected_seen": 0,
                      "splice_rejected_pair": 0, "splice_rejected_shared_half": 0,
                      "splice_rejected_unbalanced": 0, "splice_rejected_junction": 0,
                      "splice_global_halves": 0,
                      "splice_relaxed_story": 0, "splice_relaxed_shared_half": 0}
        kinds = [(k, w) for k, w in config.mix if w > 0]
        self.kinds = [k for k, _ in kinds]
        self.kind_weights = [w for _, w in kinds]
        self.next_key = 0
        self.next_group = 0

    # -- building blocks -------------------------------------------------------------------

    def _topic(self, exclude: str | None = None) -> str:
        while True:
            topic = self.rng.choices(self.topics, self.topic_weights)[0]
            if topic != exclude or len(self.topics) == 1:
                return topic

    def _date(self) -> str:
        day = self.rng.randint(0, 239)
        month_days = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
        month = 2
        day += 25  # the wire runs from late February 1987
        while day >= month_days[month - 1]:
            day -= month_days[month - 1]
            month += 1
        return f"1987-{month:02d}-{day + 1:02d}"

    @staticmethod
    def _later(date: str, days: int) -> str:
        year, month, day = (int(x) for x in date.split("-"))
        day = min(day + days, 28 if month == 2 else 30)
        return f"{year}-{month:02d}-{day:02d}"

    # -- sentences: Reuters originals (dealt once) and spliced ones --------------------------

    def _text(self, handle: int) -> str:
        if handle < self.n_original:
            return self.material.sentences[handle]
        return self.spliced[handle][0]

    def _parents(self, handle: int) -> tuple[int, ...]:
        if handle < self.n_original:
            return (handle,)
        return self.spliced[handle][1:]

    def _stories(self, handles: Sequence[int]) -> set[int]:
        story_of = self.material.story_of
        return {story_of[p] for h in handles for p in self._parents(h)}

    def _title(self, handle: int) -> str:
        return self.material.titles[self.material.story_of[self._parents(handle)[0]]]

    def _half(self, sid: int) -> tuple[int, str, str, int, int, int]:
        """``(cut, prefix key, suffix key, prefix 4-grams, suffix 4-grams, all 4-grams)`` of
        a sentence (distinct digit-masked 4-grams, counted)."""
        half = self._halves.get(sid)
        if half is None:
            sentence = self.material.sentences[sid]
            words = sentence.split()
            cut = _balanced_cut(words)
            prefix, suffix = " ".join(words[:cut]), " ".join(words[cut:])
            half = self._halves[sid] = (
                cut, " ".join(masked_words(prefix)), " ".join(masked_words(suffix)),
                len(masked_ngrams(prefix)), len(masked_ngrams(suffix)),
                len(masked_ngrams(sentence)),
            )
        return half

    def _prefix_ok(self, sid: int) -> bool:
        half = self._halves[sid]
        return 2 * half[3] < half[5]

    def _suffix_ok(self, sid: int) -> bool:
        half = self._halves[sid]
        return 2 * half[4] < half[5]

    def _buckets(self, ids: Sequence[int]) -> dict[int, _Deck]:
        by_size: dict[int, list[int]] = {}
        for sid in ids:
            by_size.setdefault(self._halves[sid][4], []).append(sid)
        return {n: _Deck(by_size[n], self.rng, cycle=True) for n in sorted(by_size)}

    def _suffix_for(self, buckets: dict[int, _Deck], grams: int) -> int | None:
        sizes = [n for n in range(grams - 2, grams + 3) if n in buckets]
        if not sizes:
            return None
        size = self.rng.choices(sizes, [len(buckets[n]) for n in sizes])[0]
        return buckets[size].next()

    def _shares_half(self, handle: int) -> bool:
        """Does a half of this sentence appear in another cluster than the one being built?"""
        if handle < self.n_original:
            keys = self._half(handle)[1:3]
        else:
            p, q = self.spliced[handle][1:]
            keys = (self._half(p)[1], self._half(q)[2])
        return any(g != self.group for key in keys for g in self.half_groups.get(key, ()))

    def _conflicts(self, keys: Sequence[str]) -> bool:
        """Would using these halves in the cluster being built make it share a second half
        with some other cluster?"""
        g = self.group
        touched = self.touched.setdefault(g, set())
        new: set[int] = set()
        for key in keys:
            groups = self.half_groups.get(key)
            if not groups:
                continue
            others = {o for o in groups if o != g}
            if others & touched or others & new:
                return True
            new |= others
        return False

    def _claim(self, keys: Sequence[str]) -> None:
        g = self.group
        touched = self.touched.setdefault(g, set())
        for key in keys:
            groups = self.half_groups.get(key)
            if groups is None:
                groups = self.half_groups[key] = array("i")
            if g in groups:
                continue
            for other in groups:
                touched.add(other)
                if other in self.touched:
                    self.touched[other].add(g)
            groups.append(g)

    def _splice(self, topic: str, exclude_stories: set[int]) -> int:
        """A new sentence: the prefix half of one Reuters sentence and the suffix half of
        another (fixed, balanced cuts), from other stories than ``exclude_stories``, never
        emitted before (checked on the normalized text), from a (prefix, suffix) pair never
        used before, and making the cluster being built share no second half with any other
        cluster. Halves come from ``topic`` first, from the whole pool after 100 attempts."""
        rng, story_of, sentences = self.rng, self.material.story_of, self.material.sentences
        for attempt in range(3000):
            in_topic = attempt < 100
            p = (self.prefix_decks[topic] if in_topic else self.global_prefix).next()
            if p is None:
                continue
            q = self._suffix_for(
                self.suffix_decks[topic] if in_topic else self.global_suffix, self._halves[p][3]
            )
            if q is None or p == q or story_of[p] == story_of[q]:
                continue
            # Other stories than the article's own, so a same_topic negative or a rewrite's
            # new sentences share not even half a sentence with the source; relaxed if the
            # capped test pools run dry.
            if attempt < 1500 and (
                story_of[p] in exclude_stories or story_of[q] in exclude_stories
            ):
                continue
            self.stats["splice_retries"] += attempt > 0
            # Each half must hold less than half the distinct 4-grams of its parent and of the
            # splice, so no two sentences sharing one half are near-identical.
            cut_p, prefix_key, _, prefix_grams, _, p_grams = self._half(p)
            cut_q, _, suffix_key, _, suffix_grams, q_grams = self._half(q)
            p_words, q_words = sentences[p].split(), sentences[q].split()
            prefix, suffix = p_words[:cut_p], q_words[cut_q:]
            if (
                abs(prefix_grams - suffix_grams) > 2
                or 2 * prefix_grams >= p_grams
                or 2 * suffix_grams >= q_grams
            ):
                self.stats["splice_rejected_unbalanced"] += 1
                continue
            # The words either side of the join must differ from the parents' own (digits
            # masked): "pricing, said | his country" would repeat the 4-grams "... said his
            # country" of the suffix's parent and tip the overlap over half.
            if masked_words(prefix[-1]) == masked_words(q_words[cut_q - 1]) or masked_words(
                suffix[0]
            ) == masked_words(p_words[cut_p]):
                self.stats["splice_rejected_junction"] += 1
                continue
            if prefix[-1][-1] in ".!?:" or len(prefix) + len(suffix) < 6:
                continue
            relaxed = attempt >= 2500
            if not relaxed and self._conflicts((prefix_key, suffix_key)):
                self.stats["splice_rejected_shared_half"] += 1
                continue
            pair = b"%d>%d" % (p, q)
            if pair in self.seen:
                self.stats["splice_rejected_pair"] += 1
                continue
            pieces = [" ".join(prefix), _decapitalize(" ".join(suffix))]
            if rng.random() < 0.5:
                pieces = [_vary_numbers(piece, rng) for piece in pieces]
            if rng.random() < 0.3:  # an edit can lengthen a half ("last year" -> "a year
                k = rng.randrange(2)  # earlier"): the halves are measured as edited
                pieces[k] = edit_words(pieces[k], rng, 1)
            text = " ".join(pieces)
            n_grams = len(masked_ngrams(text))
            largest = max(prefix_grams, suffix_grams, *(len(masked_ngrams(x)) for x in pieces))
            if (
                len(text.split()) > 60
                # One 4-gram of margin: two splices sharing a half can also share a join
                # ("Inc's | courses" and "company's | courses" both give "s courses this").
                or 2 * (largest + 1) >= n_grams
                or text.count('"') % 2
                or text.count("(") != text.count(")")
                or len(_split_sentences(text)) != 1
            ):
                continue
            key = _norm_key(text).encode()
            if key in self.seen:
                self.stats["splice_rejected_seen"] += 1
                continue
            self.seen.add(pair)
            self.seen.add(key)
            self._claim((prefix_key, suffix_key))
            self.stats["spliced"] += 1
            self.stats["splice_global_halves"] += not in_topic
            self.stats["splice_relaxed_story"] += attempt >= 1500
            self.stats["splice_relaxed_shared_half"] += relaxed
            handle = self.next_handle
            self.next_handle += 1
            self.spliced[handle] = (text, p, q)
            return handle
        raise RuntimeError(f"cannot splice a new sentence for topic {topic!r}")

    def _draw(self, topic: str, words: int, exclude_stories: set[int] | None = None) -> list[int]:
        """Deal sentences of ``topic`` until ``words`` words, from other stories than
        ``exclude_stories``: unused Reuters sentences while the topic has some, then spliced
        ones."""
        deck = self.decks[topic]
        story_of, lengths = self.material.story_of, self.material.words
        exclude_stories = exclude_stories or set()
        out: list[int] = []
        skipped: list[int] = []
        total = 0
        while total < words:
            sid = deck.next()
            if sid is None:
                break
            if story_of[sid] in exclude_stories:
                skipped.append(sid)
                continue
            _, prefix_key, suffix_key, _, _, _ = self._half(sid)
            if self._conflicts((prefix_key, suffix_key)):  # its halves were spliced elsewhere
                self.stats["original_deferred"] += 1
                skipped.append(sid)
                continue
            self._claim((prefix_key, suffix_key))
            out.append(sid)
            total += lengths[sid]
        deck.put_back(skipped)
        self.stats["original_used"] += len(out)
        while total < words:
            handle = self._splice(topic, exclude_stories)
            out.append(handle)
            total += len(self.spliced[handle][0].split())
        return out

    def _paragraphs(self, ids: list[int], low: int = 2, high: int = 4) -> list[list[int]]:
        out: list[list[int]] = []
        i = 0
        while i < len(ids):
            n = self.rng.randint(low, high)
            out.append(ids[i : i + n])
            i += n
        return out

    def _article(
        self, topic: str, words: int, exclude_stories: set[int] | None = None
    ) -> _Article:
        ids = self._draw(topic, words, exclude_stories)
        title = self._title(ids[0]) if ids else "Untitled"
        return _Article(topic, title, self._paragraphs(ids))

    def _words(self, low: int | None = None, high: int | None = None) -> int:
        return self.rng.randint(low or self.config.min_words, high or self.config.max_words)

    def _outlet(self, exclude: str = "") -> str:
        while True:
            outlet = self.rng.choice(OUTLETS)
            if outlet != exclude:
                return outlet

    def _doc(self, text: str, title: str, date: str, outlet: str, role: str, topic: str,
             group: int) -> _Doc:
        self.next_key += 1
        return _Doc(self.next_key - 1, text, title, date, outlet, role, topic, group)

    def _sentences(self, ids: list[int]) -> Paragraph:
        return [_new(self._text(i)) for i in ids]

    # -- source and its derivatives ------------------------------------------------------

    def _render_source(self, article: _Article) -> tuple[str, list[list[tuple[int, int]]]]:
        text, origins = render(
            [
                [[(self._text(s), 0, 0)] for s in para]
                for para in article.paragraphs
            ]
        )
        spans = iter((b0, b1) for _, _, b0, b1 in origins)
        return text, [[next(spans) for _ in para] for para in article.paragraphs]

    def _copied(self, article: _Article, pos: list[list[tuple[int, int]]]) -> list[Paragraph]:
        """The source's paragraphs as fragments pointing back at the source text."""
        return [
            [[(self._text(s), *pos[p][i])] for i, s in enumerate(para)]
            for p, para in enumerate(article.paragraphs)
        ]

    def _reprint(self, copied: list[Paragraph], src: dict[str, Any]) -> dict[str, Any]:
        rng = self.rng
        paragraphs = copied
        if rng.random() < 0.4:  # re-broken paragraphs
            flat = [s for p in copied for s in p]
            paragraphs, i = [], 0
            while i < len(flat):
                n = rng.randint(1, 5)
                paragraphs.append(flat[i : i + n])
                i += n
        outlet = self._outlet(src["outlet"])
        date = self._later(src["date"], rng.randint(0, 2))
        header = _header(rng, outlet, date, src["topic"])
        footer = _footer(rng, outlet, date, src["topic"], self.material)
        text, origins = render(paragraphs, header, footer)
        if rng.random() < 0.3:
            text = hard_wrap(text, 70)
        title = src["title"] if rng.random() < 0.6 else f"{src['title']} | {outlet}"
        return {"text": text, "origins": origins, "title": title, "date": date,
                "outlet": outlet, "edited": False}

    def _trimmed(self, copied: list[Paragraph], src: dict[str, Any]) -> dict[str, Any]:
        rng = self.rng
        n = len(copied)
        keep = max(1, round(n * rng.uniform(0.4, 0.8)))
        paragraphs = copied[:keep]
        if rng.random() < 0.3 and keep < n - 1:
            paragraphs = paragraphs + copied[n - rng.randint(1, min(2, n - keep - 1)) :]
        outlet = self._outlet(src["outlet"])
        date = self._later(src["date"], rng.randint(0, 1))
        header = _header(rng, outlet, date, src["topic"]) if rng.random() < 0.5 else []
        text, origins = render(paragraphs, header)
        return {"text": text, "origins": origins, "title": src["title"], "date": date,
                "outlet": outlet, "edited": False}

    def _light_edit(self, copied: list[Paragraph], src: dict[str, Any]) -> dict[str, Any]:
        rng = self.rng
        flat = [(p, s) for p, para in enumerate(copied) for s in range(len(para))]
        cut = set(rng.sample(flat, rng.randint(1, 2))) if len(flat) > 3 else set()
        paragraphs: list[Paragraph] = []
        for p, para in enumerate(copied):
            new_para: Paragraph = []
            for s, sentence in enumerate(para):
                if (p, s) in cut:
                    continue
                text, a0, a1 = sentence[0]
                new_para.append([(edit_words(text, rng, rng.randint(1, 3)), a0, a1)])
            if new_para:
                paragraphs.append(new_para)
        other = self._topic(exclude=src["topic"])
        drawn = self._draw(other, rng.randint(30, 70))
        paragraphs.insert(rng.randint(1, len(paragraphs)), self._sentences(drawn))
        outlet = self._outlet(src["outlet"])
        date = self._later(src["date"], rng.randint(0, 3))
        header = _header(rng, outlet, date, src["topic"]) if rng.random() < 0.5 else []
        text, origins = render(paragraphs, header)
        return {"text": text, "origins": origins, "title": edit_words(src["title"], rng, 2),
                "date": date, "outlet": outlet, "edited": True}

    def _heavy_rewrite(
        self, copied: list[Paragraph], src: dict[str, Any], article: _Article
    ) -> dict[str, Any]:
        rng = self.rng
        flat = [s for p in copied for s in p]
        handles = article.ids
        keep_n = max(4, round(len(flat) * rng.uniform(0.5, 0.7)))
        picked = sorted(rng.sample(range(len(flat)), min(keep_n, len(flat))))
        # Split on the source text first, so each half keeps an exact source range. A sentence
        # sharing a half with another cluster is not split: the piece would be mostly that half.
        units: list[Fragment] = []
        for index in picked:
            text, a0, a1 = flat[index][0]
            cut = [m for m in _CLAUSE_RE.finditer(text) if 40 < m.start() < len(text) - 40]
            if cut and rng.random() < 0.25 and not self._shares_half(handles[index]):
                m = rng.choice(cut)
                units.append((text[: m.start()] + ".", a0, a0 + m.start()))
                units.append((_capitalize(text[m.end() :]), a0 + m.end(), a1))
            else:
                units.append((text, a0, a1))
        rewritten: list[Fragment] = []
        for text, a0, a1 in units:
            if rng.random() < 0.5:
                text = reorder_clause(text, rng)
            text = edit_words(text, rng, max(2, len(text.split()) // 5))
            rewritten.append((text, a0, a1))
        sentences: list[Sentence] = []
        i = 0
        while i < len(rewritten):
            if i + 1 < len(rewritten) and rng.random() < 0.2:
                (t1, a0, a1), (t2, b0, b1) = rewritten[i], rewritten[i + 1]
                joiner = rng.choice((", and ", "; "))
                sentences.append([(t1.rstrip(".!?"), a0, a1), (joiner, -1, -1),
                                  (_decapitalize(t2), b0, b1)])
                i += 2
            else:
                sentences.append([rewritten[i]])
                i += 1
        # New sentences come from other stories of the same topic: same vocabulary, and
        # none of the source's own sentences.
        stories = self._stories(article.ids)
        kept_words = sum(len(f[0].split()) for f in rewritten)
        drawn = self._draw(src["topic"], round(kept_words * rng.uniform(0.25, 0.67)), stories)
        for sid in drawn:
            sentences.insert(rng.randint(1, len(sentences)), _new(self._text(sid)))
        paragraphs: list[Paragraph] = []
        i = 0
        while i < len(sentences):
            n = rng.randint(2, 4)
            paragraphs.append(sentences[i : i + n])
            i += n
        lead = paragraphs[:1] if rng.random() < 0.5 else []
        rest = paragraphs[len(lead):]
        rng.shuffle(rest)
        outlet = self._outlet(src["outlet"])
        date = self._later(src["date"], rng.randint(0, 5))
        text, origins = render(lead + rest)
        return {"text": text, "origins": origins,
                "title": edit_words(reorder_clause(src["title"], rng), rng, 3),
                "date": date, "outlet": outlet, "edited": True}

    def _partial(self, copied: list[Paragraph], src: dict[str, Any],
                 article: _Article) -> dict[str, Any]:
        rng = self.rng
        n = rng.randint(1, min(3, len(copied)))
        start = rng.randint(0, len(copied) - n)
        taken = copied[start : start + n]
        edited = rng.random() < 0.4
        if edited:
            taken = [[[(edit_words(t, rng, 1), a0, a1) for t, a0, a1 in s] for s in p]
                     for p in taken]
        taken_words = sum(len(f[0].split()) for p in taken for s in p for f in s)
        topic = src["topic"] if rng.random() < 0.5 else self._topic(exclude=src["topic"])
        stories = self._stories(article.ids)
        host_words = max(150, self._words(400, 700) - taken_words)
        host_ids = self._draw(topic, host_words, stories)
        host = [self._sentences(p) for p in self._paragraphs(host_ids)] or [[]]
        if rng.random() < 0.7:
            at = rng.randint(1, len(host)) if len(host) > 1 else len(host)
            paragraphs = host[:at] + taken + host[at:]
        else:
            paragraphs = list(host)
            for para in taken:
                paragraphs.insert(rng.randint(1, len(paragraphs)), para)
        paragraphs = [p for p in paragraphs if p]
        outlet = self._outlet(src["outlet"])
        date = self._later(src["date"], rng.randint(0, 7))
        header = _header(rng, outlet, date, topic) if rng.random() < 0.5 else []
        text, origins = render(paragraphs, header)
        title = self._title(host_ids[0]) if host_ids else "News"
        return {"text": text, "origins": origins, "title": title, "date": date,
                "outlet": outlet, "edited": edited, "topic": topic}

    def _same_topic(self, src: dict[str, Any], article: _Article) -> dict[str, Any]:
        # Same topic (so same vocabulary), other stories, and no sentence of the source.
        neg = self._article(src["topic"], self._words(), self._stories(article.ids))
        text, _ = self._render_source(neg)
        return {"text": text, "origins": [], "title": neg.title,
                "date": self._later(src["date"], self.rng.randint(0, 10)),
                "outlet": self._outlet(src["outlet"]), "edited": False}

    # -- units -----------------------------------------------------------------------------

    def unrelated(self) -> _Doc:
        self.spliced.clear()
        self.touched = {}
        group = self.group = self.next_group
        self.next_group += 1
        topic = self._topic()
        article = self._article(topic, self._words())
        text, _ = self._render_source(article)
        return self._doc(text, article.title, self._date(), self._outlet(), "unrelated", topic,
                         group)

    def source_group(self, max_docs: int) -> tuple[list[_Doc], list[dict[str, Any]]]:
        """A source and 1..max_derivatives derivatives; returns docs and truth pairs by key."""
        rng = self.rng
        self.spliced.clear()
        self.touched = {}
        group = self.group = self.next_group
        self.next_group += 1
        topic = self._topic()
        article = self._article(topic, self._words())
        text, pos = self._render_source(article)
        src = {"text": text, "title": article.title, "date": self._date(),
               "outlet": self._outlet(), "topic": topic}
        source = self._doc(text, src["title"], src["date"], src["outlet"], "source", topic,
                           group)
        docs, pairs = [source], []
        count = min(rng.randint(1, self.config.max_derivatives), max_docs - 1)
        for _ in range(count):
            kind = rng.choices(self.kinds, self.kind_weights)[0]
            doc_group = self.group = group
            if kind == "same_topic":  # a negative: a truth cluster of its own
                doc_group = self.group = self.next_group
                self.next_group += 1
            copied = self._copied(article, pos)
            if kind == "reprint":
                made = self._reprint(copied, src)
            elif kind == "trimmed":
                made = self._trimmed(copied, src)
            elif kind == "light_edit":
                made = self._light_edit(copied, src)
            elif kind == "heavy_rewrite":
                made = self._heavy_rewrite(copied, src, article)
            elif kind == "partial":
                made = self._partial(copied, src, article)
            else:
                made = self._same_topic(src, article)
            doc = self._doc(made["text"], made["title"], made["date"], made["outlet"], kind,
                            made.get("topic", topic), doc_group)
            docs.append(doc)
            pairs.append({
                "a": source.key, "b": doc.key, "kind": kind, "edited": made["edited"],
                "spans": merge_spans(made["origins"], text, made["text"]),
            })
        return docs, pairs


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _overlap_stats(
    flat: array, offsets: array, groups: array, sample: int, seed: int
) -> dict[str, Any]:
    """Count the sentences that documents of different truth clusters share.

    ``flat[offsets[d]:offsets[d + 1]]`` are 64-bit hashes of the sentence keys of document
    ``d`` (:func:`sentence_keys` of its text, so chrome is left out and edited copies count as
    they read) and ``groups[d]`` its truth cluster (a singleton has its own). Pairs inside one
    cluster are reuse the truth records; everything else is accidental overlap. Up to
    ``sample`` documents are compared against all others: exact when ``sample`` covers the
    corpus, an estimate beyond that.
    """
    sents = np.frombuffer(flat, dtype=np.int64) if len(flat) else np.zeros(0, np.int64)
    offs = np.frombuffer(offsets, dtype=np.int64)
    grp = np.frombuffer(groups, dtype=np.int32)
    n_docs = len(offs) - 1
    lengths = np.diff(offs)
    rng = np.random.default_rng(seed)
    with_text = np.flatnonzero(lengths > 0)
    picked = np.sort(rng.choice(with_text, size=min(sample, len(with_text)), replace=False))
    mine = {int(d): np.unique(sents[offs[d] : offs[d + 1]]) for d in picked}
    wanted = np.unique(np.concatenate(list(mine.values()))) if mine else np.zeros(0, np.int64)
    # Every occurrence of a sampled document's sentence anywhere, found in chunks so memory
    # stays flat at 1M documents.
    hit_hash, hit_doc = [], []
    step = 1 << 22
    for start in range(0, len(sents), step):
        chunk = sents[start : start + step]
        if not len(wanted):
            break
        at = np.minimum(np.searchsorted(wanted, chunk), len(wanted) - 1)
        where = np.flatnonzero(wanted[at] == chunk) + start
        hit_hash.append(sents[where])
        hit_doc.append(np.searchsorted(offs, where, side="right") - 1)
    hh = np.concatenate(hit_hash) if hit_hash else np.zeros(0, np.int64)
    hd = np.concatenate(hit_doc) if hit_doc else np.zeros(0, np.int64)
    order = np.lexsort((hd, hh))
    hh, hd = hh[order], hd[order]
    keep = np.ones(len(hh), bool)
    keep[1:] = (hh[1:] != hh[:-1]) | (hd[1:] != hd[:-1])  # a document counts a sentence once
    hh, hd = hh[keep], hd[keep]
    hist = np.zeros(8, dtype=np.int64)  # shared sentences 0..6, 7+
    max_shared, max_fraction, total_shared = 0, 0.0, 0
    for d, own in mine.items():
        lo = np.searchsorted(hh, own, "left")
        hi = np.searchsorted(hh, own, "right")
        others = np.concatenate([hd[a:b] for a, b in zip(lo, hi, strict=True)])
        others = others[grp[others] != grp[d]]
        if len(others):
            ids, counts = np.unique(others, return_counts=True)
            hist += np.bincount(np.minimum(counts, 7), minlength=8)
            total_shared += int(counts.sum())
            max_shared = max(max_shared, int(counts.max()))
            # Share of the smaller article, among articles (10+ sentences), not inserts.
            if len(own) >= 10:
                big = lengths[ids] >= 10
                if big.any():
                    fraction = counts[big] / np.minimum(lengths[ids][big], len(own))
                    max_fraction = max(max_fraction, float(fraction.max()))
    pairs = len(picked) * max(0, n_docs - 1)
    hist[0] = pairs - hist[1:].sum()
    at_least = {f">={k}": int(hist[k:].sum()) / pairs if pairs else 0.0 for k in (1, 2, 3, 5)}
    all_pairs = n_docs * (n_docs - 1) / 2
    distinct = 0
    if len(sents):
        ordered = np.sort(sents)
        distinct = int(np.count_nonzero(ordered[1:] != ordered[:-1])) + 1
        del ordered
    return {
        "sampled_docs": int(len(picked)),
        "exact": bool(len(picked) == len(with_text)),
        "pairs_checked": int(pairs),
        "pair_share_rate": at_least,
        "pairs_sharing_estimated_total": {k: round(v * all_pairs) for k, v in at_least.items()},
        "mean_shared_sentences_per_pair": total_shared / pairs if pairs else 0.0,
        "max_shared_sentences": max_shared,
        "max_shared_fraction_of_article": round(max_fraction, 4),
        "sentence_uses": int(len(sents)),
        "distinct_sentences": distinct,
        "reuse_factor": round(len(sents) / distinct, 2) if distinct else 0.0,
    }


class _NearIdenticalStats:
    """Pairs of documents of different truth clusters that share a *near-identical* sentence:
    digit-masked word 4-grams (:func:`masked_ngrams`) overlapping by at least half of the
    shorter sentence's (:func:`near_identical`; identical sentences included).

    Computed among ``sample`` documents picked up front (all of them when the corpus is no
    larger), so memory does not grow with the corpus. Candidates come from prefix filtering
    (two sets sharing half of the smaller one share one of its rarest ``len // 2 + 1`` grams),
    then every candidate's overlap is counted exactly.
    """

    def __init__(self, n_docs: int, sample: int, seed: int) -> None:
        rng = np.random.default_rng(seed + 1)
        self.picked = set(rng.choice(n_docs, size=min(sample, n_docs), replace=False).tolist())
        self.sample = len(self.picked)
        self.exact = self.sample == n_docs
        self._sid: dict[int, int] = {}
        self._grams = array("q")
        self._owner = array("i")
        self._docs: list[tuple[int, list[int]]] = []

    def add(self, index: int, group: int, sentences: Sequence[str]) -> None:
        if index not in self.picked:
            return
        sids: list[int] = []
        for sentence in sentences:
            key = _key_hash(_norm_key(sentence))
            sid = self._sid.get(key)
            if sid is None:
                sid = self._sid[key] = len(self._sid)
                grams = {_key_hash(g) for g in masked_ngrams(sentence, 4)}
                self._grams.extend(grams)
                self._owner.extend([sid] * len(grams))
            sids.append(sid)
        self._docs.append((group, sids))

    def _near_pairs(self) -> list[tuple[int, int]]:
        """Pairs of distinct sentences ``(shorter, longer)`` that are near-identical."""
        if not self._grams:
            return []
        grams = np.frombuffer(self._grams, dtype=np.int64)
        owner = np.frombuffer(self._owner, dtype=np.int32).astype(np.int64)
        size = np.bincount(owner)
        _, inverse, df = np.unique(grams, return_inverse=True, return_counts=True)
        gram_id = inverse.ravel()
        # Each sentence's grams, rarest first; the first len // 2 + 1 are its prefix.
        order = np.lexsort((gram_id, df[gram_id], owner))
        owner_s, gid_s = owner[order], gram_id[order]
        start = np.concatenate(([0], np.cumsum(size)[:-1]))
        rank = np.arange(len(order)) - start[owner_s]
        in_prefix = rank < size[owner_s] // 2 + 1
        by_gram = np.lexsort((owner_s, gid_s))
        all_gid, all_owner = gid_s[by_gram], owner_s[by_gram]
        pre_gid, pre_owner = gid_s[in_prefix], owner_s[in_prefix]
        lo = np.searchsorted(all_gid, pre_gid, "left")
        hi = np.searchsorted(all_gid, pre_gid, "right")
        # Each sentence's grams once more, as (sentence << 32 | gram id) for exact overlaps.
        member = np.sort((owner << 32) | gram_id)
        found: list[tuple[int, int]] = []
        n = len(size)
        counts = hi - lo
        step = 1 << 21
        i = 0
        while i < len(pre_gid):  # candidate pairs, in chunks of about `step`
            j = i + 1
            total = int(counts[i])
            while j < len(pre_gid) and total + counts[j] <= step:
                total += int(counts[j])
                j += 1
            c = counts[i:j]
            offsets = np.repeat(lo[i:j] - np.concatenate(([0], np.cumsum(c)[:-1])), c)
            other = all_owner[np.arange(int(c.sum())) + offsets]
            mine = np.repeat(pre_owner[i:j], c)
            keep = (mine != other) & (
                (size[mine] < size[other]) | ((size[mine] == size[other]) & (mine < other))
            )
            pairs = np.unique(mine[keep] * n + other[keep])
            found.extend(self._verify(pairs, n, size, start, gid_s, member))
            i = j
        return sorted(set(found))

    @staticmethod
    def _verify(pairs: np.ndarray, n: int, size: np.ndarray, start: np.ndarray,
                gid_s: np.ndarray, member: np.ndarray) -> list[tuple[int, int]]:
        if not len(pairs):
            return []
        short, long = pairs // n, pairs % n
        k = size[short]
        which = np.repeat(np.arange(len(pairs)), k)
        pos = np.repeat(start[short] - np.concatenate(([0], np.cumsum(k)[:-1])), k)
        query = (np.repeat(long, k) << 32) | gid_s[np.arange(int(k.sum())) + pos]
        at = np.minimum(np.searchsorted(member, query), len(member) - 1)
        overlap = np.bincount(which, weights=member[at] == query, minlength=len(pairs))
        hit = overlap >= NEAR_IDENTICAL * k
        return list(zip(short[hit].tolist(), long[hit].tolist(), strict=True))

    def result(self) -> dict[str, Any]:
        docs_of: dict[int, list[int]] = {}
        for d, (_, sids) in enumerate(self._docs):
            for sid in set(sids):
                docs_of.setdefault(sid, []).append(d)
        shared: dict[tuple[int, int], int] = {}

        def count(docs_a: list[int], docs_b: list[int]) -> None:
            for a in docs_a:
                for b in docs_b:
                    if a != b and self._docs[a][0] != self._docs[b][0]:
                        key = (a, b) if a < b else (b, a)
                        shared[key] = shared.get(key, 0) + 1

        near = self._near_pairs()
        for x, y in near:
            count(docs_of[x], docs_of[y])
        identical = 0
        for docs in docs_of.values():
            if len({self._docs[d][0] for d in docs}) > 1:
                identical += 1
                for i, a in enumerate(docs):
                    count([a], docs[i + 1 :])
        pairs = self.sample * (self.sample - 1) // 2
        values = list(shared.values())
        at_least = {f">={k}": sum(v >= k for v in values) for k in (1, 2, 3)}
        return {
            "sampled_docs": self.sample,
            "exact": self.exact,
            "pairs_checked": pairs,
            "pairs_sharing": at_least,
            "pair_share_rate": {k: v / pairs if pairs else 0.0 for k, v in at_least.items()},
            "max_shared_sentences": max(values, default=0),
            "distinct_sentences": len(self._sid),
            "near_identical_sentence_pairs": len(near),
            "identical_sentences_across_clusters": identical,
        }


def _dump(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def generate(
    config: CorpusConfig, out: str | os.PathLike[str], material: Material | None = None
) -> dict[str, Any]:
    """Write ``docs.jsonl``, ``truth.jsonl`` and ``truth.json`` into ``out``; return the summary.

    >>> summary = generate(CorpusConfig(docs=300, seed=1), "/tmp/c300")  # doctest: +SKIP
    """
    started = time.perf_counter()
    material = material or load_material()
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    gen = Generator(config, material)
    rng = gen.rng
    group_size = 1 + (1 + config.max_derivatives) / 2
    f = config.unrelated_fraction
    p_unrelated = f * group_size / (1 - f + f * group_size)

    roles: dict[str, int] = {}
    documents: list[tuple[str, str, str]] = []
    clusters: list[list[str]] = []
    n_pairs = 0
    words_total = 0
    flat, offsets, groups = array("q"), array("q", [0]), array("i")
    near = _NearIdenticalStats(config.docs, config.overlap_sample, config.seed)
    written = 0
    pending_docs: list[_Doc] = []
    pending_pairs: list[dict[str, Any]] = []
    pending_groups: list[list[int]] = []

    docs_path, truth_path = out_dir / "docs.jsonl", out_dir / "truth.jsonl"
    with open(docs_path, "w", encoding="utf-8") as docs_fh, \
            open(truth_path, "w", encoding="utf-8") as truth_fh:

        def flush() -> None:
            nonlocal written, n_pairs, words_total
            rng.shuffle(pending_docs)
            ids: dict[int, str] = {}
            for doc in pending_docs:
                doc_id = f"d{written:07d}"
                written += 1
                ids[doc.key] = doc_id
                docs_fh.write(_dump({"id": doc_id, "text": doc.text, "title": doc.title,
                                     "date": doc.date, "source": doc.outlet}) + "\n")
                documents.append((doc_id, doc.role, doc.topic))
                roles[doc.role] = roles.get(doc.role, 0) + 1
                words_total += len(doc.text.split())
                sentences = document_sentences(doc.text)
                flat.extend(_key_hash(_norm_key(s)) for s in sentences)
                near.add(written - 1, doc.group, sentences)
                offsets.append(len(flat))
                groups.append(doc.group)
            for pair in pending_pairs:
                truth_fh.write(_dump({**pair, "a": ids[pair["a"]], "b": ids[pair["b"]]}) + "\n")
                n_pairs += 1
            for keys in pending_groups:
                clusters.append(sorted(ids[k] for k in keys))
            pending_docs.clear()
            pending_pairs.clear()
            pending_groups.clear()

        made = 0
        while made < config.docs:
            remaining = config.docs - made
            if remaining == 1 or rng.random() < p_unrelated:
                pending_docs.append(gen.unrelated())
                made += 1
            else:
                docs, pairs = gen.source_group(remaining)
                pending_docs.extend(docs)
                pending_pairs.extend(pairs)
                members = [docs[0].key] + [
                    p["b"] for p in pairs if p["kind"] != "same_topic"
                ]
                if len(members) > 1:
                    pending_groups.append(members)
                made += len(docs)
            if len(pending_docs) >= config.chunk:
                flush()
        flush()

    overlap = _overlap_stats(flat, offsets, groups, config.overlap_sample, config.seed)
    summary = {
        "docs": written,
        "seed": config.seed,
        "roles": {r: roles.get(r, 0) for r in ("unrelated", "source", *KINDS)},
        "pairs": n_pairs,
        "clusters": len(clusters),
        "clustered_docs": sum(len(c) for c in clusters),
        "mean_words": round(words_total / max(1, written), 1),
        "reuters_sentences": len(material.sentences),
        "near_duplicate_sentences_dropped": material.stats.get(
            "near_duplicate_sentences_dropped", 0),
        "repeated_stories_dropped": material.stats.get("repeated_stories_dropped", 0),
        "topics": len(material.pools),
        "accidental_overlap": overlap,
        "accidental_near_identical": near.result(),
        "sentences": {
            "reuters_used_verbatim": gen.stats["original_used"],
            "reuters_available": sum(len(p) for p in gen.pools.values()),
            "spliced": gen.stats["spliced"],
            "splice_retries": gen.stats["splice_retries"],
            "splice_rejected_seen_sentence": gen.stats["splice_rejected_seen"],
            "splice_rejected_seen_pair": gen.stats["splice_rejected_pair"],
            "splice_rejected_unbalanced": gen.stats["splice_rejected_unbalanced"],
            "splice_rejected_second_shared_half": gen.stats["splice_rejected_shared_half"],
            "splice_rejected_junction_repeats_parent": gen.stats["splice_rejected_junction"],
            "splice_halves_from_other_topics": gen.stats["splice_global_halves"],
            "original_deferred_shared_half": gen.stats["original_deferred"],
            "splice_story_exclusion_relaxed": gen.stats["splice_relaxed_story"],
            "splice_second_shared_half_allowed": gen.stats["splice_relaxed_shared_half"],
            "halves_used": len(gen.half_groups),
            "seen_filter": {"keys": gen.seen.added, "bits": gen.seen.bits,
                            "probes": gen.seen.probes},
        },
        "config": {"unrelated_fraction": config.unrelated_fraction,
                   "max_derivatives": config.max_derivatives, "mix": dict(config.mix),
                   "min_words": config.min_words, "max_words": config.max_words,
                   "max_pool": config.max_pool},
    }
    # truth.json is streamed too: the pairs are copied line by line from truth.jsonl.
    with open(out_dir / "truth.json", "w", encoding="utf-8") as fh:
        fh.write('{"summary":' + _dump(summary) + ',\n"documents":[\n')
        fh.write(",\n".join(_dump({"id": i, "role": r, "topic": t}) for i, r, t in documents))
        fh.write('\n],\n"pairs":[\n')
        with open(truth_path, encoding="utf-8") as pairs_fh:
            for i, line in enumerate(pairs_fh):
                fh.write((",\n" if i else "") + line.rstrip("\n"))
        fh.write('\n],\n"clusters":[\n')
        fh.write(",\n".join(
            _dump({"id": f"c{i:06d}", "members": m}) for i, m in enumerate(clusters)
        ))
        fh.write("\n]}\n")
    # Timings vary run to run, so they stay out of truth.json (which is a function of the seed).
    return {**summary, "seconds": round(time.perf_counter() - started, 2),
            "peak_rss_mb": round(_peak_rss_mb(), 1)}


def iter_docs(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Yield the records of a ``docs.jsonl`` file."""
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def _parse_mix(text: str) -> tuple[tuple[str, float], ...]:
    weights = dict.fromkeys(KINDS, 0.0)
    for item in text.split(","):
        kind, _, weight = item.partition("=")
        if kind.strip() not in weights:
            raise argparse.ArgumentTypeError(f"unknown kind {kind.strip()!r}; use {KINDS}")
        weights[kind.strip()] = float(weight or 1)
    return tuple(weights.items())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="example: python benchmarks/corpus.py --docs 20000 --out benchmarks/out/c20k",
    )
    parser.add_argument("--docs", type=int, required=True, help="number of documents")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--unrelated-fraction", type=float, default=0.6)
    parser.add_argument("--max-derivatives", type=int, default=4)
    parser.add_argument(
        "--mix", type=_parse_mix, default=tuple((k, 1.0) for k in KINDS),
        help="kind weights, e.g. reprint=2,trimmed=1,light_edit=1,heavy_rewrite=1,partial=1,"
        "same_topic=1 (kinds left out get 0)",
    )
    parser.add_argument("--reuters-dir", default=DEFAULT_REUTERS_DIR)
    parser.add_argument("--ag-news", default=DEFAULT_AG_NEWS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        config = CorpusConfig(
            docs=args.docs, seed=args.seed, unrelated_fraction=args.unrelated_fraction,
            max_derivatives=args.max_derivatives, mix=args.mix,
        )
    except ValueError as exc:
        parser.error(str(exc))
    t0 = time.perf_counter()
    material = load_material(args.reuters_dir, args.ag_news)
    print(f"loaded {len(material.sentences)} Reuters sentences in {len(material.pools)} topics "
          f"({time.perf_counter() - t0:.1f}s)", file=sys.stderr)
    summary = generate(config, args.out, material)
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
