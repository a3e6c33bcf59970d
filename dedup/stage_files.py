"""Stage outputs of a scan as Parquet files, written as the scan goes and read back.

``scan_documents(..., stage_dir=DIR)`` (``dedup scan --stage-dir DIR``) writes what each
stage of :mod:`dedup.stages` produces into ``DIR``: one file per shard for the per-shard
stages (``part-00000.parquet`` is the shard of documents 0 .. shard_size - 1, and so on),
one file for the joined ones, and a ``manifest.json`` last. Files of an earlier scan in
``DIR`` are replaced; a directory without a manifest is a scan that did not finish.
Writing needs pyarrow (``pip install "dedup[parquet]"``) and never changes the result.

The types are ones Spark reads natively (``spark.read.parquet(DIR + "/pairs.parquet")``):
int64, float64, UTF-8 strings and lists of int64; no unsigned integers. **LSH band keys are
uint64 in dedup and stored bit-cast to int64** (the same 64 bits; negative when the top bit
is set); equal keys stay equal, which is all grouping and joining need.

=========================================== ==============================================
file                                        columns (one row per ...)
=========================================== ==============================================
``documents/part-NNNNN.parquet``            document: ``index`` int64 (position in the
                                            scan, what every other file refers to),
                                            ``id`` string, ``path`` string, ``title``,
                                            ``url``, ``date``, ``source`` string (null when
                                            absent), ``chars`` int64 (length of the text)
``fingerprints/part-NNNNN.parquet``         document: ``index`` int64, ``band_keys``
                                            list<int64> (its whole-text LSH band keys,
                                            ``bands.documents`` of them, band 0 first)
``passages/part-NNNNN.parquet``             passage: ``owner`` int64 (index of its
                                            document), ``band_keys`` list<int64>
                                            (``bands.passages`` of them)
``df/part-NNNNN.parquet``                   (language, content word) of the shard:
                                            ``language`` string (null: not detected),
                                            ``word`` string, ``documents`` int64 (how many
                                            of the shard's documents contain the word)
``languages/part-NNNNN.parquet``            language of the shard: ``language`` string,
                                            ``documents`` int64 (the shard's documents in
                                            that language; the IDF denominators)
``candidates.parquet``                      candidate pair: ``i``, ``j`` int64 (document
                                            indices, ``i < j``), sorted
``pairs.parquet``                           related pair: ``a``, ``b``, ``relation``
                                            string, one float64 column ``score_NAME`` per
                                            score (``score_jaccard``, ``score_containment``
                                            ...), ``reason`` string, ``evidence`` string
                                            (the evidence list as JSON), sorted by (a, b)
``clusters.parquet``                        cluster member: ``cluster`` string (its id),
                                            ``member`` string (a document id)
``manifest.json``                           ``format``, ``format_version``,
                                            ``dedup_version``, ``config`` (the
                                            ScanConfig's ``to_dict()``), ``documents``,
                                            ``shard_size``, ``bands``, ``stages`` (in
                                            order), ``files`` (per stage, paths relative to
                                            DIR and their rows) and ``rows`` (per stage)
=========================================== ==============================================

Candidates follow from the fingerprints and passages alone (grouping equal band keys, see
:func:`dedup.stages.join_fingerprints`), so a Spark job can recompute or extend them:

>>> import tempfile
>>> from dedup import Document, scan_documents
>>> text = "Le chat dort sur le canapé du salon depuis ce matin."
>>> out = tempfile.mkdtemp()
>>> result = scan_documents([Document("a", text), Document("b", text)], stage_dir=out)
>>> read_stage(out, "pairs") == result.pairs
True
>>> from dedup.stages import join_fingerprints
>>> join_fingerprints(read_shards(out), read_manifest(out)["config"], 2)[0]
[(0, 1)]
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, overload

import numpy as np

from dedup.config import ScanConfig
from dedup.errors import ConfigError, InputError, StoreError
from dedup.index import doc_banding, passage_banding
from dedup.stages import Cluster, IdfCounts, Pair, ShardFingerprints
from dedup.types import Document

FORMAT = "dedup-stage-files"
FORMAT_VERSION = 1

#: The stages in the order a scan writes them.
STAGES = ("documents", "fingerprints", "passages", "df", "languages", "candidates", "pairs", "clusters")
_PER_SHARD = ("documents", "fingerprints", "passages", "df", "languages")
_DOC_COLUMNS = ("title", "url", "date", "source")
_PAIR_COLUMNS = ("a", "b", "relation", "reason", "evidence")
_SCORE = "score_"
_BATCH = 1_000_000

StageName = Literal["documents", "fingerprints", "passages", "df", "languages", "candidates", "pairs", "clusters"]


def require_pyarrow() -> None:
    """Raise :class:`ConfigError` unless pyarrow can be imported."""
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError as exc:
        raise ConfigError(
            'writing stage files (stage_dir, --stage-dir) needs pyarrow: pip install "dedup[parquet]"'
        ) from exc


def check_stage_dir(directory: str | os.PathLike[str]) -> Path:
    """``directory`` as a Path, once pyarrow is known to import and it is not a file (before any work)."""
    require_pyarrow()
    path = Path(directory)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"stage_dir must be a directory, got the file {str(path)!r}")
    return path


def _schemas() -> dict[str, Any]:
    import pyarrow as pa

    keys = pa.list_(pa.int64())
    return {
        "documents": pa.schema([("index", pa.int64()), ("id", pa.string()), ("path", pa.string())]
                               + [(c, pa.string()) for c in _DOC_COLUMNS] + [("chars", pa.int64())]),
        "fingerprints": pa.schema([("index", pa.int64()), ("band_keys", keys)]),
        "passages": pa.schema([("owner", pa.int64()), ("band_keys", keys)]),
        "df": pa.schema([("language", pa.string()), ("word", pa.string()), ("documents", pa.int64())]),
        "languages": pa.schema([("language", pa.string()), ("documents", pa.int64())]),
        "candidates": pa.schema([("i", pa.int64()), ("j", pa.int64())]),
        "clusters": pa.schema([("cluster", pa.string()), ("member", pa.string())]),
    }


def _key_lists(keys: np.ndarray) -> Any:
    """An ``(n, bands)`` uint64 array as a list<int64> column (bit-cast)."""
    import pyarrow as pa

    n, width = keys.shape
    values = np.ascontiguousarray(keys).view(np.int64).reshape(-1)
    offsets = np.arange(0, n * width + 1, width, dtype=np.int32) if width else np.zeros(n + 1, np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values, type=pa.int64()))


def _key_array(column: Any, width: int) -> np.ndarray:
    """A list<int64> column back to an ``(n, width)`` uint64 array."""
    values = column.combine_chunks().flatten().to_numpy(zero_copy_only=False)
    return np.ascontiguousarray(values, dtype=np.int64).view(np.uint64).reshape(-1, width)


class StageWriter:
    """Writes a scan's stage outputs into ``directory`` as they arrive (see the module doc).

    Call :meth:`shard` for each fingerprinted shard in order, then :meth:`candidates`,
    :meth:`pairs` and :meth:`clusters`, and :meth:`close` to write the manifest. Nothing is
    kept but file names and row counts.
    """

    def __init__(self, directory: str | os.PathLike[str], config: ScanConfig, *, shard_size: int = 1000) -> None:
        self.directory = check_stage_dir(directory)
        self.config = config
        self.shard_size = shard_size
        self.bands = {"documents": doc_banding(config)[0], "passages": passage_banding(config)[0]}
        self.files: dict[str, list[dict[str, Any]]] = {name: [] for name in STAGES}
        self.n_docs = 0
        self._schemas = _schemas()
        self._clear()

    def _clear(self) -> None:
        """Remove what an earlier scan wrote here (only files with our names), manifest first."""
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "manifest.json").unlink(missing_ok=True)
        for name in _PER_SHARD:
            folder = self.directory / name
            folder.mkdir(exist_ok=True)
            for old in folder.glob("part-*.parquet"):
                old.unlink()
        for name in ("candidates", "pairs", "clusters"):
            (self.directory / f"{name}.parquet").unlink(missing_ok=True)

    def _write(self, name: str, relative: str, table: Any) -> None:
        import pyarrow.parquet as pq

        pq.write_table(table, self.directory / relative)
        self.files[name].append({"path": relative, "rows": table.num_rows})

    def shard(self, prints: ShardFingerprints, docs: Sequence[Document]) -> None:
        """Write one shard's documents, fingerprints, passages and frequencies (its part files)."""
        import pyarrow as pa

        if len(docs) != len(prints):
            raise ValueError(f"shard at {prints.start} has {len(prints)} fingerprints but {len(docs)} documents")
        part = f"part-{len(self.files['documents']):05d}.parquet"
        index = pa.array(np.arange(prints.start, prints.start + len(prints), dtype=np.int64))
        s = self._schemas
        columns: dict[str, Any] = {"index": index, "id": [d.id for d in docs], "path": [d.path for d in docs]}
        for c in _DOC_COLUMNS:
            columns[c] = [getattr(d, c) for d in docs]
        columns["chars"] = [len(d.text) for d in docs]
        self._write("documents", f"documents/{part}", pa.table(columns, schema=s["documents"]))
        self._write("fingerprints", f"fingerprints/{part}",
                    pa.table({"index": index, "band_keys": _key_lists(prints.doc_keys)}, schema=s["fingerprints"]))
        self._write("passages", f"passages/{part}",
                    pa.table({"owner": pa.array(prints.passage_owner.astype(np.int64, copy=False)),
                              "band_keys": _key_lists(prints.passage_keys)}, schema=s["passages"]))
        rows = [(lang, word, n) for lang, counts in prints.df.items() for word, n in counts.items()]
        self._write("df", f"df/{part}", pa.table({"language": [r[0] for r in rows], "word": [r[1] for r in rows],
                                                  "documents": [r[2] for r in rows]}, schema=s["df"]))
        self._write("languages", f"languages/{part}",
                    pa.table({"language": list(prints.totals), "documents": list(prints.totals.values())},
                             schema=s["languages"]))
        self.n_docs += len(prints)

    def candidates(self, pairs: Sequence[tuple[int, int]] | np.ndarray) -> None:
        """Write the candidate pairs, in batches (the list may be long)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = self._schemas["candidates"]
        with pq.ParquetWriter(self.directory / "candidates.parquet", schema) as writer:
            for lo in range(0, max(len(pairs), 1), _BATCH):
                block = np.asarray(pairs[lo : lo + _BATCH], dtype=np.int64).reshape(-1, 2)
                writer.write_table(pa.table({"i": block[:, 0], "j": block[:, 1]}, schema=schema))
        self.files["candidates"].append({"path": "candidates.parquet", "rows": len(pairs)})

    def pairs(self, pairs: Sequence[Pair]) -> None:
        """Write the related pairs, one float64 column per score name."""
        import pyarrow as pa

        names: dict[str, None] = {}
        for p in pairs:
            names.update(dict.fromkeys(p.scores))
        fields = [("a", pa.string()), ("b", pa.string()), ("relation", pa.string())]
        fields += [(_SCORE + k, pa.float64()) for k in names]
        fields += [("reason", pa.string()), ("evidence", pa.string())]
        columns: dict[str, list[Any]] = {
            "a": [p.a for p in pairs], "b": [p.b for p in pairs], "relation": [p.relation for p in pairs]}
        for k in names:
            columns[_SCORE + k] = [p.scores.get(k) for p in pairs]
        columns["reason"] = [p.reason for p in pairs]
        columns["evidence"] = [json.dumps([dict(e) for e in p.evidence], ensure_ascii=False) for p in pairs]
        self._write("pairs", "pairs.parquet", pa.table(columns, schema=pa.schema(fields)))

    def clusters(self, clusters: Iterable[Cluster]) -> None:
        """Write the clusters, one row per member."""
        import pyarrow as pa

        rows = [(c.id, m) for c in clusters for m in c.members]
        self._write("clusters", "clusters.parquet", pa.table(
            {"cluster": [r[0] for r in rows], "member": [r[1] for r in rows]}, schema=self._schemas["clusters"]))

    def close(self) -> Path:
        """Write ``manifest.json`` (last, so its presence means the scan finished); its path."""
        from dedup import __version__

        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "dedup_version": __version__,
            "config": self.config.to_dict(),
            "documents": self.n_docs,
            "shard_size": self.shard_size,
            "bands": self.bands,
            "stages": list(STAGES),
            "files": self.files,
            "rows": {name: sum(f["rows"] for f in files) for name, files in self.files.items()},
        }
        path = self.directory / "manifest.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)
        return path


def read_manifest(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of a finished scan's stage directory.

    Raises :class:`InputError` when there is none (not a stage directory, or a scan that did
    not finish) and :class:`StoreError` for another format version."""
    path = Path(directory) / "manifest.json"
    if not path.is_file():
        raise InputError(f"{str(directory)!r} has no manifest.json: not a stage directory, or its scan did not finish")
    manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise StoreError(f"{str(directory)!r} holds stage files format {manifest.get('format')!r} version "
                         f"{manifest.get('format_version')!r}; this dedup reads {FORMAT!r} version {FORMAT_VERSION}")
    return manifest


def _tables(directory: Path, manifest: Mapping[str, Any], name: str) -> list[Any]:
    import pyarrow.parquet as pq

    return [pq.read_table(directory / f["path"]) for f in manifest["files"][name]]


@overload
def read_stage(directory: str | os.PathLike[str], name: Literal["documents"]) -> list[dict[str, Any]]: ...
@overload
def read_stage(directory: str | os.PathLike[str], name: Literal["fingerprints"]) -> np.ndarray: ...
@overload
def read_stage(directory: str | os.PathLike[str], name: Literal["passages"]) -> tuple[np.ndarray, np.ndarray]: ...
@overload
def read_stage(directory: str | os.PathLike[str], name: Literal["df"]) -> IdfCounts: ...
@overload
def read_stage(directory: str | os.PathLike[str], name: Literal["languages"]) -> dict[str | None, int]: ...
@overload
def read_stage(directory: str | os.PathLike[str], name: Literal["candidates"]) -> list[tuple[int, int]]: ...
@overload
def read_stage(directory: str | os.PathLike[str], name: Literal["pairs"]) -> tuple[Pair, ...]: ...
@overload
def read_stage(directory: str | os.PathLike[str], name: Literal["clusters"]) -> tuple[Cluster, ...]: ...
@overload
def read_stage(directory: str | os.PathLike[str], name: str) -> Any: ...


def read_stage(directory: str | os.PathLike[str], name: str) -> Any:
    """One stage's output, read back into what the driver holds:

    - ``documents``: a list of dicts (``Document.to_dict()`` plus ``index``; no text);
    - ``fingerprints``: the ``(n_docs, bands)`` uint64 array of whole-text band keys;
    - ``passages``: ``(keys, owners)``, an ``(n_passages, bands)`` uint64 array and int64 owners;
    - ``df``: ``(counts[language][word], totals[language])`` (:data:`dedup.stages.IdfCounts`);
    - ``languages``: ``totals[language]``;
    - ``candidates``: the sorted list of ``(i, j)``;
    - ``pairs``: the tuple of :class:`Pair`, equal to the scan's;
    - ``clusters``: the tuple of :class:`Cluster`, equal to the scan's.

    :func:`read_shards` gives the per-shard :class:`ShardFingerprints` instead.
    """
    require_pyarrow()
    if name not in STAGES:
        raise ConfigError(f"stage must be one of {', '.join(STAGES)}, got {name!r}")
    root = Path(directory)
    manifest = read_manifest(root)
    tables = _tables(root, manifest, name)
    if name == "documents":
        out: list[dict[str, Any]] = []
        for table in tables:
            for row in table.to_pylist():
                out.append({k: v for k, v in row.items() if v is not None or k not in _DOC_COLUMNS})
        return out
    if name in ("fingerprints", "passages"):
        width = int(manifest["bands"]["documents" if name == "fingerprints" else "passages"])
        keys = [_key_array(t.column("band_keys"), width) for t in tables]
        stacked = np.concatenate(keys) if keys else np.empty((0, width), np.uint64)
        if name == "fingerprints":
            return stacked
        owners = [t.column("owner").to_numpy().astype(np.int64, copy=False) for t in tables]
        return stacked, (np.concatenate(owners) if owners else np.empty(0, np.int64))
    if name == "df":
        df: dict[str | None, Counter[str]] = {}
        for table in tables:
            for lang, word, n in zip(*(table.column(c).to_pylist() for c in ("language", "word", "documents")),
                                     strict=True):
                df.setdefault(lang, Counter())[word] += n
        return df, read_stage(root, "languages")
    if name == "languages":
        totals: dict[str | None, int] = {}
        for table in tables:
            for lang, n in zip(table.column("language").to_pylist(), table.column("documents").to_pylist(),
                               strict=True):
                totals[lang] = totals.get(lang, 0) + n
        return totals
    if name == "candidates":
        if not tables:
            return []
        t = tables[0]
        return list(zip(t.column("i").to_pylist(), t.column("j").to_pylist(), strict=True))
    if name == "pairs":
        return tuple(p for t in tables for p in _pairs(t))
    groups: dict[str, list[str]] = {}
    for table in tables:
        for cid, member in zip(table.column("cluster").to_pylist(), table.column("member").to_pylist(), strict=True):
            groups.setdefault(cid, []).append(member)
    return tuple(Cluster(cid, tuple(members)) for cid, members in groups.items())


def _pairs(table: Any) -> list[Pair]:
    scores = [c for c in table.column_names if c.startswith(_SCORE)]
    cols = {c: table.column(c).to_pylist() for c in table.column_names}
    out = []
    for k in range(table.num_rows):
        out.append(Pair(
            cols["a"][k], cols["b"][k], cols["relation"][k],
            {c[len(_SCORE):]: cols[c][k] for c in scores if cols[c][k] is not None},
            cols["reason"][k],
            tuple(json.loads(cols["evidence"][k])),
        ))
    return out


def read_shards(directory: str | os.PathLike[str]) -> list[ShardFingerprints]:
    """The per-shard fingerprints, passages and frequencies of a stage directory, as the
    :class:`ShardFingerprints` that :func:`dedup.stages.join_fingerprints` takes (``seconds``
    empty)."""
    require_pyarrow()
    root = Path(directory)
    manifest = read_manifest(root)
    doc_width, passage_width = int(manifest["bands"]["documents"]), int(manifest["bands"]["passages"])
    parts = zip(*(_tables(root, manifest, name) for name in ("fingerprints", "passages", "df", "languages")),
                strict=True)
    out = []
    for fingerprints, passages, freq, languages in parts:
        index = fingerprints.column("index").to_numpy()
        df: dict[str | None, Counter[str]] = {}
        for lang, word, n in zip(*(freq.column(c).to_pylist() for c in ("language", "word", "documents")),
                                 strict=True):
            df.setdefault(lang, Counter())[word] = n
        out.append(ShardFingerprints(
            start=int(index[0]) if len(index) else 0,
            doc_keys=_key_array(fingerprints.column("band_keys"), doc_width),
            passage_keys=_key_array(passages.column("band_keys"), passage_width),
            passage_owner=passages.column("owner").to_numpy().astype(np.int64, copy=False),
            df=df,
            totals=dict(zip(languages.column("language").to_pylist(), languages.column("documents").to_pylist(),
                            strict=True)),
            seconds={},
        ))
    return out
