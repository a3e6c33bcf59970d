"""Smoke tests for the benchmark scripts: corpus generator, datasketch baseline, evaluator."""

from __future__ import annotations

import json
import re
import sqlite3
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import baseline  # noqa: E402
import corpus  # noqa: E402
import evaluate  # noqa: E402

pytestmark = pytest.mark.skipif(
    not list(Path(corpus.DEFAULT_REUTERS_DIR).glob("reut2-*.sgm")),
    reason="Reuters-21578 not available",
)

DOCS = 300
SEED = 7


def _ws(text: str) -> str:
    return " ".join(text.split())


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


@pytest.fixture(scope="module")
def material() -> corpus.Material:
    return corpus.load_material()


@pytest.fixture(scope="module")
def generated(material, tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus")
    summary = corpus.generate(corpus.CorpusConfig(docs=DOCS, seed=SEED), out, material)
    docs = {d["id"]: d for d in corpus.iter_docs(out / "docs.jsonl")}
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    return out, summary, docs, truth


def test_corpus_has_every_kind_and_consistent_files(generated):
    out, summary, docs, truth = generated
    assert len(docs) == DOCS == summary["docs"]
    kinds = {p["kind"] for p in truth["pairs"]}
    assert kinds == set(corpus.KINDS)
    assert all(summary["roles"][k] > 0 for k in corpus.KINDS)
    assert {d["id"] for d in truth["documents"]} == set(docs)
    lines = (out / "truth.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == truth["pairs"]
    for doc in docs.values():
        assert set(doc) == {"id", "text", "title", "date", "source"}
    # Clusters hold a source and its derivatives, never a same_topic negative.
    negatives = {p["b"] for p in truth["pairs"] if p["kind"] == "same_topic"}
    members = [m for c in truth["clusters"] for m in c["members"]]
    assert len(members) == len(set(members))
    assert not negatives & set(members)
    assert 0.5 < summary["roles"]["unrelated"] / DOCS < 0.75


def test_spans_point_at_reused_text(generated):
    _, _, docs, truth = generated
    for pair in truth["pairs"]:
        a, b = docs[pair["a"]]["text"], docs[pair["b"]]["text"]
        if pair["kind"] == "same_topic":
            assert pair["spans"] == []
            continue
        assert pair["spans"], pair
        for span in pair["spans"]:
            (a0, a1), (b0, b1) = span["a"], span["b"]
            assert 0 <= a0 < a1 <= len(a) and 0 <= b0 < b1 <= len(b)
            text_a, text_b = a[a0:a1], b[b0:b1]
            if pair["kind"] in ("reprint", "trimmed") or (
                pair["kind"] == "partial" and not pair["edited"]
            ):
                assert _ws(text_a) == _ws(text_b)
            else:
                shared = len(_words(text_a) & _words(text_b)) / len(_words(text_a) | _words(text_b))
                assert shared > 0.3, (pair["kind"], text_a, text_b)
        if pair["kind"] == "partial" and not pair["edited"]:
            # The embedded paragraphs are whole source paragraphs found verbatim in b.
            paragraphs = [p for p in a.split("\n\n") if p]
            assert any(_ws(p) in _ws(b) for p in paragraphs)
        if pair["kind"] == "reprint":
            assert _ws(a) in _ws(b)


def _cross_cluster_sharing(docs, truth):
    """(sentence key, document ids) for sentences found in 2+ truth clusters; a document in
    no cluster (unrelated filler, same_topic negative) is a cluster of its own."""
    cluster_of = {doc: i for i, c in enumerate(truth["clusters"]) for doc in c["members"]}
    where: dict[str, set] = {}
    for doc_id, doc in docs.items():
        for key in corpus.sentence_keys(doc["text"]):
            where.setdefault(key, set()).add(cluster_of.get(doc_id, doc_id))
    return [key for key, clusters in where.items() if len(clusters) > 1]


def test_no_sentence_shared_outside_truth_clusters(generated):
    _, summary, docs, truth = generated
    assert _cross_cluster_sharing(docs, truth) == []
    assert summary["accidental_overlap"]["exact"]
    assert summary["accidental_overlap"]["pair_share_rate"][">=1"] == 0.0
    near = summary["accidental_near_identical"]
    assert near["exact"] and near["pairs_sharing"][">=2"] == 0
    assert near["pairs_sharing"][">=1"] <= 0.0001 * near["pairs_checked"]
    # Reuse inside a cluster is still there: a reprint shares its source's sentences.
    pair = next(p for p in truth["pairs"] if p["kind"] == "reprint")
    shared = set(corpus.sentence_keys(docs[pair["a"]]["text"])) & set(
        corpus.sentence_keys(docs[pair["b"]]["text"])
    )
    assert len(shared) >= 5


def test_small_pool_splices_unique_sentences(material, tmp_path):
    # 40 sentences per topic cannot fill 150 documents: most sentences must be spliced.
    config = corpus.CorpusConfig(docs=150, seed=3, max_pool=40)
    summary = corpus.generate(config, tmp_path, material)
    docs = {d["id"]: d for d in corpus.iter_docs(tmp_path / "docs.jsonl")}
    truth = json.loads((tmp_path / "truth.json").read_text(encoding="utf-8"))
    assert len(docs) == 150
    assert summary["sentences"]["reuters_used_verbatim"] <= summary["sentences"]["reuters_available"]
    assert summary["sentences"]["spliced"] > 2000
    assert _cross_cluster_sharing(docs, truth) == []
    assert summary["accidental_overlap"]["pair_share_rate"][">=1"] == 0.0
    originals = {corpus._norm_key(s) for s in material.sentences}
    keys = [k for d in docs.values() for k in corpus.sentence_keys(d["text"])]
    assert sum(k not in originals for k in keys) > 0.8 * len(keys)
    # same_topic negatives keep their source's topic (and so its vocabulary), not its sentences.
    topic = {d["id"]: d["topic"] for d in truth["documents"]}
    negatives = [p for p in truth["pairs"] if p["kind"] == "same_topic"]
    assert negatives
    for pair in negatives:
        assert topic[pair["a"]] == topic[pair["b"]]
        a = set(corpus.sentence_keys(docs[pair["a"]]["text"]))
        assert not a & set(corpus.sentence_keys(docs[pair["b"]]["text"]))
    # Spans stay valid with spliced sentences.
    for pair in truth["pairs"]:
        if pair["kind"] in ("reprint", "trimmed"):
            a, b = docs[pair["a"]]["text"], docs[pair["b"]]["text"]
            for span in pair["spans"]:
                assert _ws(a[slice(*span["a"])]) == _ws(b[slice(*span["b"])])


def test_same_seed_same_bytes(material, generated, tmp_path):
    out, _, _, _ = generated
    corpus.generate(corpus.CorpusConfig(docs=DOCS, seed=SEED), tmp_path, material)
    for name in ("docs.jsonl", "truth.jsonl", "truth.json"):
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes(), name


def test_baseline_and_evaluate(generated):
    _, _, docs, truth = generated
    result = baseline.run_baseline([(d["id"], d["text"]) for d in docs.values()], 0.5)
    assert set(result) == {"documents", "pairs", "clusters", "skipped", "stats"}
    assert result["stats"]["docs"] == DOCS and result["stats"]["docs_per_s"] > 0
    assert all(p["relation"] == "duplicate" for p in result["pairs"])
    scores = evaluate.evaluate(truth, result)
    rates = [scores["pair_precision"], scores["ari"], scores["cluster_pair_precision"],
             scores["cluster_pair_recall"], scores["same_topic"]["flagged_direct"],
             scores["same_topic"]["flagged_cluster"]]
    rates += [v for r in scores["recall"].values() for k, v in r.items() if k != "pairs"]
    assert all(0.0 <= x <= 1.0 for x in rates)
    # Verbatim reprints are what plain MinHash-LSH is built for.
    assert scores["recall"]["reprint"]["direct"] > 0.8
    assert scores["pair_precision"] > 0.9
    text = evaluate.render_tables([("baseline", scores)])
    assert "reprint" in text and "ARI" in text


def test_adjusted_rand_index_by_hand():
    ari = evaluate.adjusted_rand_index
    assert ari([["a", "b", "c"], ["d", "e"]], [["a", "b", "c"], ["d", "e"]], 6) == 1.0
    # truth {abc}{de}{f}, pred {ab}{cde}{f}: index 2, sums 4 and 4, expected 16/15,
    # max 4, so ARI = (2 - 16/15) / (4 - 16/15) = 7/22.
    assert ari([["a", "b", "c"], ["d", "e"]], [["a", "b"], ["c", "d", "e"]], 6) == pytest.approx(
        7 / 22
    )
    assert ari([["a", "b"], ["c", "d"]], [["a", "b"]], 4) == pytest.approx(4 / 7)
    assert ari([], [], 5) == 1.0


def test_evaluate_tiny_example():
    truth = {
        "documents": [{"id": i, "role": r} for i, r in [
            ("s", "source"), ("r", "reprint"), ("h", "heavy_rewrite"), ("n", "same_topic"),
            ("u1", "unrelated"), ("u2", "unrelated")]],
        "pairs": [{"a": "s", "b": "r", "kind": "reprint", "spans": []},
                  {"a": "s", "b": "h", "kind": "heavy_rewrite", "spans": []},
                  {"a": "s", "b": "n", "kind": "same_topic", "spans": []}],
        "clusters": [{"id": "c0", "members": ["s", "r", "h"]}],
    }
    perfect = {"pairs": [{"a": "s", "b": "r"}, {"a": "r", "b": "h"}],
               "clusters": [{"id": "x", "members": ["h", "r", "s"]}]}
    scores = evaluate.evaluate(truth, perfect)
    assert scores["ari"] == 1.0 and scores["pair_precision"] == 1.0
    assert scores["recall"]["reprint"] == {"pairs": 1, "direct": 1.0, "cluster": 1.0}
    assert scores["recall"]["heavy_rewrite"]["direct"] == 0.0
    assert scores["recall"]["heavy_rewrite"]["cluster"] == 1.0

    wrong = {"pairs": [{"a": "s", "b": "r"}, {"a": "s", "b": "n"}, {"a": "u1", "b": "u2"}]}
    scores = evaluate.evaluate(truth, wrong)  # clusters derived from the pairs
    assert scores["pair_precision"] == pytest.approx(1 / 3)
    assert scores["false_pairs"] == {"same_topic": 1, "unrelated": 1, "other": 0}
    assert scores["false_pairs_sharing_sentences"] is None
    # u1 and u2 share two whole sentences (case and spacing aside): accidental reuse.
    one, two = "Copper prices rose sharply on Monday in London.", "Traders said demand from China was strong."
    texts = {"s": "Header line\n\nA source sentence of some length here.", "n": "Another one of six words.",
             "u1": f"{one} {two} Only in the first one.", "u2": f"{one.upper()}\n{two} Only in the second one."}
    scores = evaluate.evaluate(truth, wrong, texts)
    assert scores["false_pairs_sharing_sentences"] == {"all": 1, "same_topic": 0, "unrelated": 1, "other": 0}
    assert scores["false_pairs_sharing_near_identical"] == {"all": 1, "same_topic": 0, "unrelated": 1, "other": 0}
    table = evaluate.render_tables([("w", scores)])
    assert "false sharing 2+ sentences" in table and "near-identical" in table
    # A template with other figures is near-identical, not identical.
    template = {**texts,
                "u1": "Copper prices rose 3 pct on Monday in London. Something different is said.",
                "u2": "Copper prices rose 12 pct on Monday in London. Nothing else in common here."}
    near = evaluate.evaluate(truth, wrong, template)
    assert near["false_pairs_sharing_sentences"]["unrelated"] == 0
    assert near["false_pairs_sharing_near_identical"]["unrelated"] == 1
    assert scores["same_topic"]["flagged_direct"] == 1.0
    # truth {s,r,h}, pred {s,r,n}{u1,u2} over 6 docs: index 1, sums 3 and 4, expected 12/15,
    # max 3.5, so ARI = (1 - 0.8) / (3.5 - 0.8) = 2/27.
    assert scores["ari"] == pytest.approx(2 / 27)

    # Scoring only the documents a limited run saw.
    subset = {"documents": [{"id": "s"}, {"id": "r"}], "pairs": [{"a": "s", "b": "r"}]}
    scores = evaluate.evaluate(truth, subset)
    assert scores["docs"] == 2 and scores["ari"] == 1.0
    assert set(scores["recall"]) == {"reprint", "all"}


def test_command_lines(generated, tmp_path, capsys):
    out, _, _, _ = generated
    pred = tmp_path / "pred.json"
    assert baseline.main([str(out / "docs.jsonl"), "--threshold", "0.8", "--limit", "40",
                          "--out", str(pred)]) == 0
    result = json.loads(pred.read_text(encoding="utf-8"))
    assert result["stats"]["docs"] == 40
    scores_path = tmp_path / "scores.json"
    assert evaluate.main(["--truth", str(out), "--pred", str(pred), "--name", "b",
                          "--json", str(scores_path), "--docs", str(out / "docs.jsonl")]) == 0
    assert "| b " in capsys.readouterr().out
    scores = json.loads(scores_path.read_text(encoding="utf-8"))["b"]
    assert scores["docs"] == 40
    assert scores["false_pairs_sharing_sentences"]["all"] == 0
    assert scores["false_pairs_sharing_near_identical"]["all"] == 0


def test_near_duplicate_sentences_dropped():
    # The same story re-sent with a word changed: one kept.
    reworded = [
        "Incentives apparently had some success, analysts said, as the seasonally adjusted "
        "annualized sales rate improved to 7.5 mln compared with about 7.0 mln in late February.",
        "Consumer incentives apparently had some success, analysts said, as the seasonally "
        "adjusted annualized sales rate improved to 7.5 mln compared with about 7.0 mln in late "
        "February.",
    ]
    assert corpus.drop_near_duplicates(reworded) == [0]
    # A template with other figures: one kept.
    template = [
        "Fees comprise 1-1/4 pct selling concession and 5/8 pct management and underwriting.",
        "Fees comprise 1-3/8 pct selling concession and 1/2 pct management and underwriting.",
    ]
    assert corpus.drop_near_duplicates(template) == [0]
    # Unrelated sentences all stay.
    unrelated = [reworded[0], template[0], "The company said it would close the plant in June."]
    assert corpus.drop_near_duplicates(unrelated) == [0, 1, 2]
    a, b = (corpus.masked_ngrams(s) for s in template)
    assert corpus.near_identical(a, b)
    assert not corpus.near_identical(a, corpus.masked_ngrams(unrelated[2]))


def test_material_has_no_near_identical_sentences(material):
    assert material.stats["near_duplicate_sentences_dropped"] > 0
    grams = [corpus.masked_ngrams(s) for s in material.sentences[:4000]]
    index: dict[str, list[int]] = {}
    for i, g in enumerate(grams):
        for gram in g:
            index.setdefault(gram, []).append(i)
    for i, g in enumerate(grams):
        others = {j for gram in g for j in index[gram] if j != i}
        assert not any(corpus.near_identical(g, grams[j]) for j in others), i


def test_balanced_cut_halves_stay_under_half():
    for sentence in ("The company said it would close the plant in June and sell the land.",
                     "Gasoline demand averaged 6.60 mln bpd, up 2.4 pct from 6.44 mln last year."):
        words = sentence.split()
        cut = corpus._balanced_cut(words)
        total = len(corpus.masked_words(sentence))
        half = len(corpus.masked_words(" ".join(words[:cut])))
        assert 2 * half - 3 < total and 2 * (total - half) - 3 < total


def test_throughput_measures_both_pipelines(generated):
    import throughput

    out, _, docs, _ = generated
    m = throughput.measure(str(out / "docs.jsonl"), limit=120, baseline_limit=60, jobs=1)
    assert m["dedup"]["docs"] == 120 and m["datasketch_baseline"]["docs"] == 60
    assert m["dedup"]["all_processes_peak_rss_mb"] >= m["dedup"]["peak_rss_mb"] > 0
    assert set(m["dedup"]["stats"]["seconds"]) >= {"read", "prepare", "fingerprint", "verify", "cluster"}
    assert "dedup scan" in throughput.render(m)


def test_run_sharing_finds_reused_half_sentences():
    run = "to make cocoa production in Malaysia uneconomic, the traders said on Monday"
    texts = {
        "a": f"World prices would have to fall another 1,000 ringgit per tonne {run}.",
        "b": f"Some consumers wanted differentials adjusted {run.upper()}!",
        "c": "Some consumers wanted differentials adjusted to make cocoa production in Malaysia pay.",
    }
    got = evaluate.run_sharing([("a", "b"), ("a", "c")], texts)
    assert got == {("a", "b"): True, ("a", "c"): False}


def test_quality_command_line(generated, tmp_path, capsys):
    import quality

    out, _, _, _ = generated
    scores_path = tmp_path / "q.json"
    assert quality.main([str(out), "--limit", "80", "--json", str(scores_path)]) == 0
    assert "datasketch t=0.5" in capsys.readouterr().out
    scores = json.loads(scores_path.read_text(encoding="utf-8"))
    assert set(scores) == {"dedup", "datasketch t=0.5", "datasketch t=0.8"}
    assert scores["dedup"]["docs"] == 80
    assert scores["dedup"]["false_pairs_sharing_long_run"] is not None


def test_index_bench_command_line(generated, tmp_path):
    import index_bench

    out, _, _, _ = generated
    result = tmp_path / "ib.json"
    assert index_bench.main([str(out / "docs.jsonl"), "--sizes", "60", "--sample", "10", "--batch-sample", "16",
                             "--batch-size", "20", "--workdir", str(tmp_path / "w"),
                             "--json", str(result), "--set", "passage_lsh=[6,3]"]) == 0
    measured = json.loads(result.read_text(encoding="utf-8"))
    assert measured["config"] == {"passage_lsh": [6, 3]}
    run = measured["runs"][0]
    assert run["dedup"]["keys_per_doc"]["passage"] > 0
    keys = run["dedup"]["keys_per_doc"]
    assert abs(run["dedup"]["add"]["final_merge"]["keys"] - 60 * (keys["doc"] + keys["passage"])) < 6
    assert run["dedup"]["evict"]["count"] == 20  # the first batch, added before the cutoff
    assert run["size"] == 60 and run["dedup"]["add"]["count"] == 60
    assert run["dedup"]["query"]["present_found_original"] == run["dedup"]["query"]["present_with_match"] > 0
    # query_many on worker processes answers as in this one; check_many's documents were
    # removed again, so both runs of it meet the same index
    d = run["dedup"]
    assert [(q["jobs"], q["verify"]) for q in d["query_many"]] == [(1, "full"), (2, "full"), (2, "shingles")]
    assert all(q["same_answers"] for q in d["query_many"])
    assert all(q["count"] == 16 and q["present_found_original"] > 0 for q in d["query_many"])
    # verify="shingles": the same edited copies found, every rate measured
    quick = d["query_shingles"]
    assert quick["verify_mode"] == "shingles" and 0 < quick["present_found_original"] <= 5
    assert quick["store_per_s_edited_copies"] > 0 and quick["store_per_s_unseen"] > 0
    assert 0 < quick["same_status_as_full"] <= 10 and sum(d["check_shingles"]["statuses"].values()) == 10
    statuses = [c["statuses"] for c in d["check_many"]]
    assert statuses[0] == statuses[1] and sum(statuses[0].values()) == 16 and statuses[0].get("duplicate")
    # concurrent readers: 1 then 2 processes per mode, each on its own fresh queries
    readers = [(c["verify"], c["readers"], c["count"]) for c in d["concurrent_queries"]]
    assert readers == [("full", 1, 10), ("full", 2, 20), ("shingles", 1, 10), ("shingles", 2, 20)]
    assert all(c["store_per_s"] > 0 and len(c["per_reader_per_s"]) == c["readers"] for c in d["concurrent_queries"])
    assert all(0 < c["present_found_original"] <= c["count"] // 2 for c in d["concurrent_queries"])
    # the store-only batches meet the index check_many met (its documents removed again)
    store_only = {c["verify"]: c for c in d["check_many_store"]}
    assert set(store_only) == {"full", "shingles"}
    assert sum(store_only["full"]["statuses"].values()) == 16 and store_only["full"]["store_per_s"] > 0
    assert store_only["full"]["statuses"].get("duplicate") == statuses[0]["duplicate"]
    # fresh texts, on a handle with the default cache, then on one with a larger cache, preloaded
    default, cached = d["check_many_store_fresh"]
    assert default["cache_mb"] is None and default["preload_rows"] == 0
    assert cached["cache_mb"] == measured["cached_mb"] == index_bench.CACHED_MB
    assert cached["preload_rows"] >= 60 * keys["doc"]
    for fresh in (default, cached):
        assert fresh["count"] == 16 and sum(fresh["statuses"].values()) == 16
        assert fresh["statuses"].get("duplicate") and fresh["statuses"].get("new")
        assert fresh["store_per_s"] > 0 and fresh["peak_rss_mb"] > 0
    # checkers at once: 1 then 2 processes, each on fresh texts of its own, each checked
    checkers = d["concurrent_checks"]
    one = checkers[0]["count"]
    assert one > 0 and [(c["readers"], c["count"], len(c["per_reader_per_s"])) for c in checkers] == [
        (1, one, 1), (2, 2 * one, 2)]
    assert all(c["store_per_s"] > 0 and 0 < c["present_found_original"] < c["count"] for c in checkers)
    # re-fetched pages: each replaces its own stored version, so it matches the corpus copy it
    # was checked against before, not itself
    refetched = d["check_refetched_store"]
    assert refetched["count"] == 10 and refetched["store_per_s"] > 0
    assert refetched["statuses"].get("new") == d["check_shingles"]["statuses"].get("new") > 0
    assert sum(refetched["statuses"].values()) == 10
    assert d["reopen_documents"] == 70
    if sys.platform.startswith("linux"):  # the resident memory split into its own and the mapped index
        parts = run["dedup"]["rss_after_checks"]
        assert parts["anon_mb"] > 10 and parts["file_mb"] > 0


def test_index_bench_prepares_on_worker_processes(generated, tmp_path):
    import index_bench

    out, _, _, _ = generated
    result = tmp_path / "ib.json"
    workdir = tmp_path / "work"
    assert index_bench.main([str(out / "docs.jsonl"), "--sizes", "60", "--sample", "10", "--batch-sample", "8",
                             "--batch-size", "20", "--jobs", "2", "--no-datasketch", "--json", str(result),
                             "--workdir", str(workdir)]) == 0
    add = json.loads(result.read_text(encoding="utf-8"))["runs"][0]["dedup"]["add"]
    assert add["count"] == 60 and add["store_seconds"] <= add["seconds"]
    # store-only: the write transactions and the final merge of the recent keys
    assert abs(add["store_seconds"] - add["insert_seconds"] - add["final_merge"]["seconds"]) <= 0.011
    evicted = json.loads(result.read_text(encoding="utf-8"))["runs"][0]["dedup"]["evict"]["count"]
    # the first batch, however early the workers stamped the next ones (seen once at 0 in a
    # full run of the suite, not reproduced since: the stored times are shown if it fails)
    with sqlite3.connect(workdir / "index-60.db") as conn:
        times = conn.execute("SELECT added, count(*) FROM docs GROUP BY added ORDER BY added").fetchall()
    assert evicted == 20, times


def test_tiles_keep_offsets_relations_and_truth(generated, tmp_path):
    """A tiled corpus: tile 0 is the base, other tiles relabel content words (same lengths,
    so every truth span still covers text that both documents of a pair share)."""
    import tile

    out, _, docs, truth = generated
    summary = tile.tile_corpus(out, tmp_path / "tiled", 3, seed=5, jobs=1)
    assert summary["docs"] == 3 * DOCS and summary["pairs"] == 3 * len(truth["pairs"])
    tiled = {d["id"]: d for d in corpus.iter_docs(tmp_path / "tiled" / "docs.jsonl")}
    assert len(tiled) == 3 * DOCS
    stops = tile._stop_words()
    for doc_id, doc in docs.items():
        assert tiled[doc_id] == doc  # tile 0 is the base
        for k in (1, 2):
            copy = tiled[f"{doc_id}-t{k}"]["text"]
            assert len(copy) == len(doc["text"])
            base_words, new_words = tile.WORD.findall(doc["text"]), tile.WORD.findall(copy)
            assert [len(w) for w in base_words] == [len(w) for w in new_words]
            assert all(a == b for a, b in zip(base_words, new_words, strict=True) if a.lower() in stops)
    changed = [a != b for d in docs.values()
               for a, b in zip(tile.WORD.findall(d["text"]), tile.WORD.findall(tiled[d["id"] + "-t1"]["text"]),
                               strict=True) if a.lower() not in stops]
    assert sum(changed) / len(changed) > 0.8
    tiled_truth = json.loads((tmp_path / "tiled" / "truth.json").read_text(encoding="utf-8"))
    for pair in tiled_truth["pairs"]:
        for span in pair["spans"]:  # reused text is the same in both documents, in every tile
            a = tiled[pair["a"]]["text"][span["a"][0] : span["a"][1]]
            b = tiled[pair["b"]]["text"][span["b"][0] : span["b"][1]]
            if pair["kind"] == "reprint" and not pair["edited"]:
                assert _ws(a) == _ws(b)
    members = [m for c in tiled_truth["clusters"] for m in c["members"]]
    assert len(members) == len(set(members)) and set(members) <= set(tiled)


def test_burst_bench_verifies_at_most_the_budget(generated, tmp_path):
    import burst_bench

    out, _, _, _ = generated
    result = tmp_path / "burst.json"
    assert burst_bench.main([str(out / "docs.jsonl"), "--copies", "8", "--stories", "2", "--background", "40",
                             "--candidates", "default,3", "--json", str(result)]) == 0
    runs = json.loads(result.read_text(encoding="utf-8"))["runs"]
    assert [r["candidates"] for r in runs] == [None, 3] and all(r["queries"] == 20 for r in runs)
    # under the default budget every query finds its story's 8 copies and the story itself;
    # with 3 candidates verified, three matches at most
    assert runs[0]["copies_among_matches"] == 160 and runs[0]["matches"] >= 180
    assert 0 < runs[1]["matches"] <= 60


def test_redis_bench_command_line(generated, tmp_path):
    import shutil

    if shutil.which("redis-server") is None:
        pytest.skip("redis-server binary not found (apt-get install redis-server): redis_bench not run")
    pytest.importorskip("redis", reason="the redis package is not installed (pip install 'dedup[redis]')")
    import redis_bench

    out, _, _, _ = generated
    result = tmp_path / "rb.json"
    assert redis_bench.main([str(out / "docs.jsonl"), "--sizes", "60", "--sample", "10", "--batch-size", "20",
                             "--json", str(result)]) == 0
    measured = json.loads(result.read_text(encoding="utf-8"))
    assert measured["redis"]["persistence"] == "save '', appendonly no"
    run = measured["runs"][0]
    d, x = run["dedup"], run["datasketch"]
    assert run["size"] == 60 and d["add"]["count"] == d["stored"] == 60 and d["stored_after_checks"] == 70
    assert d["query"]["count"] == d["query_many"]["count"] == d["check"]["count"] == 10
    assert d["query_many"]["same_answers"]
    assert d["query"]["present_found_original"] > 0 and sum(d["check"]["statuses"].values()) == 10
    assert d["query_shingles"]["present_found_original"] > 0 and sum(d["check_shingles"]["statuses"].values()) == 10
    assert x["add"]["count"] == 60 and x["query"]["count"] == x["check"]["count"] == 10
    assert x["query"]["present_found_original"] > 0
    for backend in (d, x):  # what each stored on the server, deleted again afterwards
        assert backend["memory"]["bytes_per_doc"] > 0 and backend["memory"]["keys_per_doc"] > 0
        assert backend["cleared_keys"] > 0


def test_verify_modes_command_line(generated, tmp_path, capsys):
    import verify_modes

    out, _, _, truth = generated
    result = tmp_path / "vm.json"
    assert verify_modes.main([str(out), "--jobs", "1", "--batch-size", "100", "--json", str(result)]) == 0
    assert "same status in both modes" in capsys.readouterr().out
    measured = json.loads(result.read_text(encoding="utf-8"))
    queried = {p["b"] for p in truth["pairs"]}
    assert [r["name"] for r in measured["runs"]] == ["whole-text", "default"]
    whole_text = measured["runs"][0]
    assert whole_text["config"] == {"passage_lsh": [0, 1]} and whole_text["build"]["keys_per_doc"]["passage"] == 0
    for run in measured["runs"]:
        assert run["docs"] == DOCS and run["queries"] == len(queried)
        full, shingles = run["modes"]["full"], run["modes"]["shingles"]
        for mode in (full, shingles):
            # verbatim reprints are found by either mode; a query never matches itself
            assert mode["kinds"]["reprint"]["recall"] == 1.0
            assert sum(mode["statuses"].values()) == len(queried)
            store = mode["store"]
            assert store["count"] == store["with_match"]["count"] + store["without_match"]["count"] == len(queried)
            assert store["with_match"]["count"] == mode["queries_with_match"]
            assert mode["query_many"]["same_answers"]
        # shingles mode tells no rewrites; the pairs found by one mode only add up to the recalls
        assert "rewrite" not in shingles["statuses"]
        assert all("rewrite" not in k["relations"] for k in shingles["kinds"].values())
        agreement = run["agreement"]
        assert sum(n for row in agreement["confusion"].values() for n in row.values()) == len(queried)
        assert agreement["same_status"] == sum(row.get(s, 0) for s, row in agreement["confusion"].items())
        for kind, pairs in agreement["pairs"].items():
            assert full["kinds"][kind]["found"] - shingles["kinds"][kind]["found"] == (
                pairs["first_only"] - pairs["second_only"])
    # passage keys find the heavy rewrites that whole-text keys miss, with full verification
    whole, default = (r["modes"]["full"]["kinds"]["heavy_rewrite"]["found"] for r in measured["runs"])
    assert default > whole
