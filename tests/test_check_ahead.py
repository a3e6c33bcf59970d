"""Checks verified by shingles on whole-text keys query in a read snapshot before they take the
write lock (``SyndicationIndex._ahead``); under the lock, each looks at what changed since. The
answers must be those of a check run wholly under the lock: what other handles committed in
between is seen, what they removed is not reported."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable

import pytest
from test_store import ROOT, seed

from dedup import Document, ScanConfig, recent
from dedup.store import SyndicationIndex

WHOLE_TEXT = ScanConfig(passage_lsh=(0, 3))


def _articles(n: int) -> list[Document]:
    lines = (ROOT / "fixtures" / "reuters" / "reuters-400.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    return [Document(f"r{i}", r["text"]) for i, r in enumerate(records) if len(r["text"]) > 600][:n]


def _edited(doc: Document, new_id: str) -> Document:
    return Document(new_id, doc.text + "\n\nThis article was updated with one more line.")


def _answers(matches) -> list[tuple[str, str, tuple]]:  # type: ignore[no-untyped-def]
    return [(m.id, m.relation, tuple(sorted(m.scores.items()))) for m in matches]


def _spy(index: SyndicationIndex, monkeypatch: pytest.MonkeyPatch, between: Callable[[], None] | None = None
         ) -> list[bool]:
    """Record whether each check was answered from its snapshot (True) or looked up again;
    run ``between`` after each snapshot, before the write lock is taken."""
    answered: list[bool] = []
    ahead, since = index._ahead, index._matches_since

    def spied_ahead(entries, cap):  # type: ignore[no-untyped-def]
        out = ahead(entries, cap)
        if between is not None:
            between()
        return out

    def spied_since(*args, **kwargs):  # type: ignore[no-untyped-def]
        out = since(*args, **kwargs)
        answered.append(out is not None)
        return out

    monkeypatch.setattr(index, "_ahead", spied_ahead)
    monkeypatch.setattr(index, "_matches_since", spied_since)
    return answered


@pytest.mark.parametrize("recent_keys", [None, 300], ids=["no-merge", "merges-within-batches"])
def test_batched_checks_answer_as_queries_then_adds_one_at_a_time(tmp_path, monkeypatch, recent_keys):
    if recent_keys is not None:  # the batch's own adds merge the recent keys now and then
        monkeypatch.setattr(recent, "RECENT_KEYS", recent_keys)
    articles = _articles(90)
    stored, later = articles[:60], articles[60:]
    # edited copies of stored articles, of articles of the same batch and of the batch before,
    # re-fetched ids, and articles seen nowhere
    checked = []
    for i, doc in enumerate(later):
        checked.append(doc)
        checked.append(_edited(stored[i], f"copy-of-{stored[i].id}"))
        if i % 3 == 0:
            checked.append(_edited(later[max(i - 4, 0)], f"copy-of-{later[max(i - 4, 0)].id}-{i}"))
        if i % 5 == 0:
            checked.append(_edited(stored[i + 1], stored[i + 1].id))  # a re-fetched page
    with SyndicationIndex(tmp_path / "a.db", WHOLE_TEXT) as batched, \
            SyndicationIndex(tmp_path / "b.db", WHOLE_TEXT) as stepwise:
        for index in (batched, stepwise):
            index.add_many(stored[:40])
            index.merge()  # in the key table; the rest in the recent table
            index.add_many(stored[40:])
        answered = _spy(batched, monkeypatch)
        verdicts = batched.check_many(checked, verify="shingles", batch_size=16)
        expected = []
        for doc in checked:
            expected.append(stepwise.query(doc, verify="shingles"))
            stepwise.add(doc)
        assert [_answers(v.matches) for v in verdicts] == [_answers(m) for m in expected]
        # each check answered from its snapshot, but those after a merge of their batch
        assert len(answered) == len(checked) and all(answered) == (recent_keys is None) and any(answered)
        assert sum(v.status != "new" for v in verdicts) >= len(later) + len(later) // 3
        assert sorted(batched.ids()) == sorted(stepwise.ids())


@pytest.mark.parametrize("merge", [False, True], ids=["copy-in-recent-table", "copy-merged"])
def test_a_copy_committed_after_the_snapshot_is_matched(tmp_path, monkeypatch, merge):
    story = seed("003")
    with SyndicationIndex(tmp_path / "i.db", WHOLE_TEXT) as index, \
            SyndicationIndex(tmp_path / "i.db") as other:
        index.add_many(_articles(20))

        def add() -> None:
            other.add(Document("theirs", story.text))
            if merge:  # its keys leave the recent table for the key table: the check looks up again
                other.merge()

        answered = _spy(index, monkeypatch, add)
        verdict = index.check(_edited(story, "mine"), verify="shingles")
        assert answered == [not merge]
        assert verdict.status == "duplicate" and [m.id for m in verdict.matches] == ["theirs"]


@pytest.mark.parametrize("merged", [True, False], ids=["in-key-table", "in-recent-table"])
@pytest.mark.parametrize("change", ["remove", "replace", "evict"])
def test_a_candidate_removed_after_the_snapshot_is_not_reported(tmp_path, monkeypatch, change, merged):
    story = seed("003")
    with SyndicationIndex(tmp_path / "i.db", WHOLE_TEXT) as index, \
            SyndicationIndex(tmp_path / "i.db") as other:
        index.add(Document("old", story.text), added=1000.0)
        index.add(Document("kept", story.text + "\n\nAnother ending."), added=5000.0)
        index.add_many(_articles(20), added=5000.0)
        if merged:
            index.merge()
        actions = {"remove": lambda: other.remove("old"),
                   "replace": lambda: other.add(Document("old", seed("004").text), added=5000.0),
                   "evict": lambda: other.evict(before=2000.0)}
        answered = _spy(index, monkeypatch, actions[change])
        verdict = index.check(_edited(story, "mine"), verify="shingles")
        assert answered == [True]
        assert [m.id for m in verdict.matches] == ["kept"]


def test_full_verification_and_passage_keys_check_under_the_lock(tmp_path, monkeypatch):
    story = seed("003")
    with SyndicationIndex(tmp_path / "lean.db", WHOLE_TEXT) as lean, \
            SyndicationIndex(tmp_path / "default.db") as default:
        for index in (lean, default):
            index.add(Document("old", story.text))
        lean_answered, default_answered = _spy(lean, monkeypatch), _spy(default, monkeypatch)
        assert lean.check(_edited(story, "full"), verify="full").status == "duplicate"
        assert default.check(_edited(story, "shingles"), verify="shingles").status == "duplicate"
        assert lean_answered == default_answered == []


class _BusyOnce:
    """A connection whose next read of the recent table's generation fails as busy."""

    def __init__(self, conn) -> None:  # type: ignore[no-untyped-def]
        self._conn, self.armed = conn, True

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._conn, name)

    def execute(self, sql: str, *args):  # type: ignore[no-untyped-def]
        if self.armed and sql.startswith("SELECT") and "recent_generation'" in sql:
            self.armed = False
            raise sqlite3.OperationalError("database is locked")
        return self._conn.execute(sql, *args)


def test_a_snapshot_retried_after_a_busy_error_sees_what_was_committed(tmp_path):
    # the handle's caches took the file's version before the busy error cut their catching
    # up short: the retry must read the new rows, not take the cache as current
    story = seed("003")
    with SyndicationIndex(tmp_path / "i.db", WHOLE_TEXT) as index, \
            SyndicationIndex(tmp_path / "i.db") as other:
        index.add(Document("other", seed("004").text))
        index.query("warm the caches", verify="shingles")
        other.add(Document("theirs", story.text))
        busy = _BusyOnce(index._conn)
        index._conn = busy  # type: ignore[assignment]
        verdict = index.check(_edited(story, "mine"), verify="shingles")
        assert not busy.armed
        assert verdict.status == "duplicate" and [m.id for m in verdict.matches] == ["theirs"]
