"""The flow's store writes on a real database: the direct bulk-insert path (prepared rows to the
driver) stores exactly what SQLAlchemy's Core path stores, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Text, cast, select

from pipeline.process import store_io
from pipeline.process.records import PostRecord
from pipeline.store import ArchiveStore
from pipeline.store.corpus import ProcessedPost, SnapshotPost
from spiders.parsers.model import Generation, ParsedPost, ThreadPage, TimeMethod

# Values that a serialiser could get subtly wrong: non-ASCII (json.dumps escapes it), quotes
# and backslashes, control characters, floats, empty and nested containers, None.
ODD_TEXT = '王伟说："贴牌\\利润"\n\t低 — café 😀 \u2028'


def archive_records(store: ArchiveStore, count: int = 6) -> list[PostRecord]:
    site = store.ensure_site("s", "http://127.0.0.1/", 8, 10)
    store.ensure_board(site, 2, "b", None)
    posts = [ParsedPost(pid=100 + n, floor=n, floor_label=None, author=f"会员{n}", author_uid=n,
                        time=datetime(2024, 5, 1, 8, n, tzinfo=UTC), time_raw="",
                        time_method=TimeMethod.ABSOLUTE, text=f"第{n}楼", html=f"<p>第{n}楼</p>")
             for n in range(1, count + 1)]
    store.save_thread_page(site, ThreadPage(tid=1, fid=2, subject="s", page=1, last_page=1,
                                            generation=Generation.X3, posts=posts), None, 2)
    records = [r for batch in store_io.iter_batches(store, store_io.Filters(), 100)
               for r in batch]
    for n, r in enumerate(records):
        r.lang, r.lang_method = ("zh", "script") if n % 2 else ("en", "")
        r.zh_share, r.en_share = 1 / 3 + n, 0.1 * n
        r.traditional = n == 3
        r.sentences = {"zh": n, "en": 1, "mixed": 0} if n else {}
        r.text = ODD_TEXT * (n + 1) if n != 2 else ""
        r.token_text = " ".join(["王伟", "贴牌", "\\", "😀"][: n])
        r.replacements = {"name": n, "mobile": 1} if n % 3 else {}
        r.hits = {"贴牌": ["贴牌", "OEM"], "price": ["利润"]} if n in (1, 4) else {}
        r.anon_quotes = ([{"author": None, "text": ODD_TEXT}, {"author": "AB", "text": ""}]
                         if n == 4 else [])
        r.author_pseudonym = None if n == 5 else f"Q{n}"
    return records


def stored_rows(store: ArchiveStore, settings_hash: str) -> list[tuple[Any, ...]]:
    """Every column as stored (the JSON columns as their text), and decoded by the ORM."""
    columns = [ProcessedPost.__table__.c[c] for c in store_io.PROCESSED_COLUMNS
               if c != "settings_hash"]
    as_text = [cast(c, Text) if c.name in ("sentences", "replacements", "hits", "quotes")
               else c for c in columns]
    with store.session() as s:
        raw = s.execute(select(*as_text).where(ProcessedPost.settings_hash == settings_hash)
                        .order_by(ProcessedPost.post_version_id)).all()
        orm = s.execute(select(*columns).where(ProcessedPost.settings_hash == settings_hash)
                        .order_by(ProcessedPost.post_version_id)).all()
    return [tuple(r) for r in raw] + [tuple(r) for r in orm]


def stored_ids(store: ArchiveStore, settings_hash: str) -> dict[int, int]:
    with store.session() as s:
        return dict(s.execute(select(ProcessedPost.post_version_id, ProcessedPost.id)
                              .where(ProcessedPost.settings_hash == settings_hash)).all())


def test_the_direct_path_is_taken_on_sqlite_and_postgresql(store: ArchiveStore) -> None:
    assert store_io._fast_markers(store.engine.dialect) is not None


def test_save_processed_stores_what_the_core_path_stores(
        store: ArchiveStore, monkeypatch: pytest.MonkeyPatch) -> None:
    records = archive_records(store)
    direct = store_io.save_processed(store, records, "direct")
    with monkeypatch.context() as m:
        m.setattr(store_io, "_fast_markers", lambda dialect: None)
        core = store_io.save_processed(store, records, "core")
    assert stored_rows(store, "direct") == stored_rows(store, "core")
    assert len(stored_rows(store, "direct")) == 2 * len(records)
    # The returned ids are the stored rows' ids, and the outcomes are the same.
    assert {pv: o.processed_id for pv, o in direct.items()} == stored_ids(store, "direct")
    assert {pv: o.processed_id for pv, o in core.items()} == stored_ids(store, "core")
    assert ({pv: replace(o, processed_id=0) for pv, o in direct.items()}
            == {pv: replace(o, processed_id=0) for pv, o in core.items()})
    # The JSON text is json.dumps' (what SQLAlchemy's JSON type writes on both databases).
    with store.session() as s:
        text = s.scalar(select(cast(ProcessedPost.quotes, Text))
                        .where(ProcessedPost.settings_hash == "direct",
                               ProcessedPost.post_version_id == records[4].post_version_id))
    assert text == json.dumps(records[4].anon_quotes)


def test_save_processed_in_several_statements(store: ArchiveStore,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch larger than one statement's page: every row stored, every id mapped."""
    records = archive_records(store, 7)
    monkeypatch.setattr(type(store.engine.dialect), "insertmanyvalues_page_size", 3)
    out = store_io.save_processed(store, records, "paged")
    assert {pv: o.processed_id for pv, o in out.items()} == stored_ids(store, "paged")
    assert len(out) == 7


def test_snapshot_posts_and_kept_threads_as_on_the_core_path(
        store: ArchiveStore, monkeypatch: pytest.MonkeyPatch) -> None:
    records = archive_records(store)
    ids = sorted(o.processed_id for o in store_io.save_processed(store, records, "h").values())
    snapshots = [store_io.start_snapshot(store, "h", "k", {}) for _ in range(2)]
    store_io.add_snapshot_posts(store, snapshots[0], ids)
    with monkeypatch.context() as m:
        m.setattr(store_io, "_fast_markers", lambda dialect: None)
        store_io.add_snapshot_posts(store, snapshots[1], ids)
    for snapshot_id in snapshots:
        store_io.mark_kept_threads(store, snapshot_id, [records[0].thread_id])

    def rows(snapshot_id: int) -> list[tuple[int, bool]]:
        with store.session() as s:
            return [tuple(r) for r in s.execute(
                select(SnapshotPost.processed_post_id, SnapshotPost.kept)
                .where(SnapshotPost.snapshot_id == snapshot_id)
                .order_by(SnapshotPost.processed_post_id)).all()]

    assert rows(snapshots[0]) == rows(snapshots[1]) == [(i, True) for i in ids]
    store_io.discard_snapshot(store, snapshots[1])
    assert rows(snapshots[1]) == []


@pytest.mark.parametrize("value", [
    {}, [], None, 0, -1.5, 1e300, 2**70, True, "", ODD_TEXT, {"a": {"b": [1, None, False]}},
    [{"author": None, "text": ODD_TEXT}], {"贴牌": ["OEM", "贴牌"]}, {"zh": 3, "en": 0},
    {1: "int key"}, [float("inf"), float("nan")], {"nested": [[], {}]},
])
def test_json_text_is_json_dumps(value: object) -> None:
    assert store_io.json_text(value) == json.dumps(value)


def test_subjects_and_snapshot_threads_as_on_the_core_path(
        store: ArchiveStore, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.store.corpus import ProcessedThread, SnapshotThread

    tid = archive_records(store)[0].thread_id
    rows = [{"thread_id": tid, "settings_hash": h, "source_sha256": "ab" * 32,
             "author_pseudonym": None if h == "b" else "QW", "subject": ODD_TEXT,
             "replacements": {"name": 2} if h == "a" else {}} for h in ("a", "b")]
    snapshots = [store_io.start_snapshot(store, "h", "k", {}) for _ in range(2)]
    # One settings hash per call, as in the flow.
    direct = store_io.save_subjects(store, rows[:1])
    store_io.save_subjects(store, rows[1:])
    store_io.add_snapshot_threads(store, snapshots[0], {tid: direct[(tid, "ab" * 32)]})
    with monkeypatch.context() as m:
        m.setattr(store_io, "_fast_markers", lambda dialect: None)
        core = store_io.save_subjects(store, [{**rows[0], "settings_hash": "a2"}])
        store_io.save_subjects(store, [{**rows[1], "settings_hash": "b2"}])
        store_io.add_snapshot_threads(store, snapshots[1], {tid: core[(tid, "ab" * 32)]})
    assert store_io.cached_subjects(store, [(tid, "ab" * 32)], "a") == direct
    assert store_io.cached_subjects(store, [(tid, "ab" * 32)], "a2") == core
    with store.session() as s:
        stored = {h: tuple(r) for h, *r in s.execute(select(
            ProcessedThread.settings_hash, ProcessedThread.thread_id,
            ProcessedThread.source_sha256, ProcessedThread.author_pseudonym,
            ProcessedThread.subject, cast(ProcessedThread.replacements, Text),
            ProcessedThread.replacements))}
        threads = [tuple(r) for r in s.execute(
            select(SnapshotThread.snapshot_id, SnapshotThread.thread_id)
            .order_by(SnapshotThread.snapshot_id))]
    assert stored["a"] == stored["a2"] and stored["b"] == stored["b2"]
    assert stored["a"][4] == '{"name": 2}'
    assert threads == [(snapshots[0], tid), (snapshots[1], tid)]
    assert store_io.snapshot_subjects(store, snapshots[0]) == {tid: (ODD_TEXT, "QW")}
