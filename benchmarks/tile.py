"""Scale a generated corpus by tiles: N copies of it that share no text, with an exact truth.

``corpus.py`` deals real Reuters sentences and splices halves under rules that need more
work per document as the corpus grows (about 54 minutes for 100,000 documents); a
1,000,000-document corpus is built here from a 100,000-document one instead:

- tile 0 is the corpus itself;
- tile ``k`` is a copy in which every *content word* (an alphabetic word not in dedup's
  English stop-word list) is replaced by another content word of the **same length** and
  about the **same corpus frequency**, by a permutation drawn for that tile (seed + k) within
  classes of 64 words of one length, adjacent in frequency rank. Stop words, numbers,
  punctuation, line breaks and case patterns are kept.

So each tile has the base corpus's sentence lengths, word-frequency curve (Zipf),
stop-word structure and figures, and its own relations: a tile's reprints, edits,
rewrites and partial copies are relabelled consistently with their sources, so they are
exactly as related as in the base corpus, and every character offset is unchanged (the
same-length rule), so the truth's spans stay valid. Across tiles, two sentences only
coincide if every content word maps to itself (1 chance in 64 per word); shared stop-word
runs and figures remain, as in real news. The truth is the base truth once per tile, with
ids ``<id>`` in tile 0 and ``<id>-t<k>`` in tile ``k``.

What this does not give: new sentence structures. Tiles are the base corpus's sentences
with other words, so a tiled corpus measures speed and memory at scale, and quality only
as far as the base corpus does.

Usage::

    python benchmarks/tile.py benchmarks/out/c100k --tiles 10 --out benchmarks/out/c1m [--jobs 2]

Writes ``docs.jsonl`` (tile after tile), ``truth.jsonl`` and ``truth.json`` (its summary
says how it was made) in ``--out``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

WORD = re.compile(r"[A-Za-z]+")
CLASS_SIZE = 64


def _stop_words() -> frozenset[str]:
    from dedup.normalize import stop_words

    return stop_words("en")


def word_counts(docs_path: Path) -> Counter[str]:
    """Lower-cased content-word counts of a JSON Lines corpus (texts and titles)."""
    stops = _stop_words()
    counts: Counter[str] = Counter()
    with docs_path.open(encoding="utf-8") as handle:
        for line in handle:
            rec = json.loads(line)
            for text in (rec.get("text") or "", rec.get("title") or ""):
                counts.update(w for w in WORD.findall(text.lower()) if w not in stops)
    return counts


def frequency_classes(counts: Counter[str], size: int = CLASS_SIZE) -> list[list[str]]:
    """Words grouped by length, then in runs of ``size`` by frequency rank (a short last run
    joins the one before it): a tile permutes words within a class."""
    by_length: dict[int, list[str]] = {}
    for word, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        by_length.setdefault(len(word), []).append(word)
    classes = []
    for _, words in sorted(by_length.items()):
        runs = [words[i : i + size] for i in range(0, len(words), size)]
        if len(runs) > 1 and len(runs[-1]) < size // 2:
            runs[-2].extend(runs.pop())
        classes.extend(runs)
    return classes


def tile_mapping(classes: list[list[str]], seed: int) -> dict[str, str]:
    """One tile's word permutation (the identity for words alone in their class)."""
    rng = random.Random(seed)
    mapping = {}
    for words in classes:
        shuffled = words[:]
        rng.shuffle(shuffled)
        mapping.update(zip(words, shuffled, strict=True))
    return mapping


def relabel(text: str, mapping: dict[str, str]) -> str:
    """``text`` with each mapped word replaced, its case pattern kept; same length throughout.

    >>> relabel("The Cat, CAT and cat.", {"cat": "dog", "the": "the"})
    'The Dog, DOG and dog.'
    """
    def swap(m: re.Match[str]) -> str:
        word = m.group()
        new = mapping.get(word.lower())
        if new is None:
            return word
        if word.isupper() and len(word) > 1:
            return new.upper()
        if word[0].isupper():
            return new[0].upper() + new[1:]
        return new
    return WORD.sub(swap, text)


def _tile_id(doc_id: str, tile: int) -> str:
    return doc_id if tile == 0 else f"{doc_id}-t{tile}"


def _relabel_lines(args: tuple[list[str], int, dict[str, str]]) -> str:
    lines, tile, mapping = args
    out = []
    for line in lines:
        rec = json.loads(line)
        rec["id"] = _tile_id(rec["id"], tile)
        rec["text"] = relabel(rec["text"], mapping)
        if rec.get("title"):
            rec["title"] = relabel(rec["title"], mapping)
        out.append(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")
    return "".join(out)


def _chunks(path: Path, tile: int, mapping: dict[str, str],
            size: int = 2000) -> Iterator[tuple[list[str], int, dict[str, str]]]:
    with path.open(encoding="utf-8") as handle:
        lines: list[str] = []
        for line in handle:
            if line.strip():
                lines.append(line)
                if len(lines) == size:
                    yield lines, tile, mapping
                    lines = []
        if lines:
            yield lines, tile, mapping


def _tile_truth(truth: dict[str, Any], tile: int) -> dict[str, Any]:
    def rename(pair: dict[str, Any]) -> dict[str, Any]:
        return {**pair, "a": _tile_id(pair["a"], tile), "b": _tile_id(pair["b"], tile)}
    return {
        "documents": [{**d, "id": _tile_id(d["id"], tile)} for d in truth["documents"]],
        "pairs": [rename(p) for p in truth["pairs"]],
        "clusters": [{"id": f"{c['id']}-t{tile}" if tile else c["id"],
                      "members": [_tile_id(m, tile) for m in c["members"]]} for c in truth["clusters"]],
    }


def tile_corpus(base: Path, out: Path, tiles: int, *, seed: int = 1, jobs: int = 2) -> dict[str, Any]:
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    counts = word_counts(base / "docs.jsonl")
    classes = frequency_classes(counts)
    truth = json.loads((base / "truth.json").read_text(encoding="utf-8"))
    docs_out = out / "docs.jsonl"
    with docs_out.open("w", encoding="utf-8") as sink:
        for tile in range(tiles):
            mapping = {} if tile == 0 else tile_mapping(classes, seed * 1_000_003 + tile)
            if tile == 0:
                with (base / "docs.jsonl").open(encoding="utf-8") as src:
                    for line in src:
                        sink.write(line)
            else:
                with mp.get_context("spawn").Pool(jobs) as pool:
                    for block in pool.imap(_relabel_lines, _chunks(base / "docs.jsonl", tile, mapping)):
                        sink.write(block)
            print(f"tile {tile + 1}/{tiles} written ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    merged: dict[str, Any] = {"documents": [], "pairs": [], "clusters": []}
    with (out / "truth.jsonl").open("w", encoding="utf-8") as sink:
        for tile in range(tiles):
            part = _tile_truth(truth, tile)
            for key in merged:
                merged[key].extend(part[key])
            for pair in part["pairs"]:
                sink.write(json.dumps(pair, separators=(",", ":")) + "\n")
    summary = {
        "tiled_from": str(base), "tiles": tiles, "seed": seed, "class_size": CLASS_SIZE,
        "content_words": len(counts), "classes": len(classes),
        "docs": len(merged["documents"]), "pairs": len(merged["pairs"]), "clusters": len(merged["clusters"]),
        "base_summary": truth.get("summary", {}),
        "seconds": round(time.perf_counter() - started, 1),
    }
    (out / "truth.json").write_text(json.dumps({"summary": summary, **merged}, separators=(",", ":")) + "\n",
                                    encoding="utf-8")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", type=Path, help="a corpus.py output folder (docs.jsonl, truth.json)")
    parser.add_argument("--tiles", type=int, required=True, help="copies, the base included (10: 100k -> 1M)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2, help="processes relabelling (default 2)")
    args = parser.parse_args(argv)
    if args.tiles < 1:
        parser.error("--tiles must be >= 1")
    for name in ("docs.jsonl", "truth.json"):
        if not (args.base / name).is_file():
            parser.error(f"{args.base / name} does not exist (make it with benchmarks/corpus.py)")
    summary = tile_corpus(args.base, args.out, args.tiles, seed=args.seed, jobs=args.jobs)
    print(json.dumps({k: v for k, v in summary.items() if k != "base_summary"}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
