"""The edges of the flow: reading the archive in batches, the processed-post cache, snapshots.

Everything here is a short query or one transaction; nothing holds more than one batch.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from itertools import chain
from typing import Any

from sqlalchemy import JSON, Table, Text, delete, func, insert, select, tuple_, type_coerce, update
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import Session

from pipeline.process.records import PostRecord
from pipeline.process.register import NewEntry
from pipeline.store import ArchiveStore
from pipeline.store.corpus import (
    ProcessedPost,
    ProcessedThread,
    PseudonymEntry,
    Snapshot,
    SnapshotPost,
    SnapshotThread,
)
from pipeline.store.models import Board, Post, PostVersion, Thread


@dataclass(frozen=True, slots=True)
class Filters:
    since: datetime | None = None
    until: datetime | None = None
    boards: tuple[int, ...] = ()

    def as_params(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "boards": list(self.boards),
        }


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the snapshot needs of one processed post (fresh or reused)."""

    processed_id: int
    post_version_id: int
    thread_id: int
    floor: int
    lang: str
    traditional: bool
    chars: int
    replacements: dict[str, int]
    hits: dict[str, list[str]]
    text: str  # only filled for posts with hits (for the KWIC sample)
    code_switched: bool = False  # Chinese and English sentences or sentences mixing both


def is_code_switched(sentences: dict[str, int]) -> bool:
    return bool(sentences.get("mixed")) or bool(sentences.get("zh") and sentences.get("en"))


def archive_usernames(store: ArchiveStore) -> list[str]:
    """Every author name of the archive (posts and threads), for detection and pseudonyms.

    The whole archive, not the filtered part: pseudonyms must not depend on `--boards`.
    """
    names: set[str] = set()
    with store.session() as s:
        for query in (select(Post.author).distinct(), select(Thread.author).distinct()):
            names.update(n for n in s.scalars(query) if n)
    return sorted(names)


def _visible_posts(filters: Filters):  # noqa: ANN202 - a SQLAlchemy Select
    query = (
        select(
            PostVersion.id, Post.id, Post.thread_id, Post.floor, Post.author,
            PostVersion.html, PostVersion.text, type_coerce(PostVersion.quotes, Text),
        )
        .join(PostVersion, (PostVersion.post_id == Post.id)
              & (PostVersion.version == Post.version_count))
        # The latest version, and only if readable: a post deleted, hidden or banned since
        # (its earlier text stays in the archive) is not put into a research corpus.
        .where(PostVersion.status == "ok")
    )
    if filters.since is not None:
        query = query.where(Post.posted_at >= filters.since)
    if filters.until is not None:
        query = query.where(Post.posted_at < filters.until)
    if filters.boards:
        query = query.join(Thread, Thread.id == Post.thread_id).join(
            Board, Board.id == Thread.board_id).where(Board.fid.in_(filters.boards))
    return query


def count_posts(store: ArchiveStore, filters: Filters) -> int:
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(_visible_posts(filters).subquery())) or 0


def iter_batches(store: ArchiveStore, filters: Filters, size: int) -> Iterator[list[PostRecord]]:
    """Visible posts in thread and floor order, `size` at a time (keyset pagination)."""
    base = _visible_posts(filters).order_by(Post.thread_id, Post.floor, Post.id)
    last: tuple[int, int, int] | None = None
    while True:
        query = base
        if last is not None:
            query = query.where(tuple_(Post.thread_id, Post.floor, Post.id) > last)
        with store.session() as s:
            rows = s.execute(query.limit(size)).all()
        if not rows:
            return
        yield [
            PostRecord(pv, pid, tid, floor, author, html or "", text or "", _quotes(quotes))
            for pv, pid, tid, floor, author, html, text, quotes in rows
        ]
        last = (rows[-1][2], rows[-1][3], rows[-1][1])


def _quotes(value: str | list[Any] | None) -> list[dict[str, Any]]:
    """The quotes column read as text: most posts quote nobody, and skipping json.loads of
    "[]" saves a tenth of reading a batch (a driver that decodes JSON itself, such as
    psycopg, hands over the list)."""
    if not value or value == "[]":
        return []
    return list(json.loads(value) if isinstance(value, str) else value)


# ORM UPDATE/DELETE statements here run in sessions that hold no objects: the default
# synchronisation would only fetch the matched rows (RETURNING) and look each one up in the
# empty identity map (20,000 lookups for a 20,000-post snapshot).
NO_SYNC: dict[str, Any] = {"synchronize_session": False}


# --- the pseudonym register -------------------------------------------------------------------


def load_register(store: ArchiveStore, key_id: str) -> dict[str, tuple[str, int | None]]:
    """name_mac -> (code, generation) of every code issued under this key."""
    with store.session() as s:
        rows = s.execute(select(PseudonymEntry.name_mac, PseudonymEntry.code,
                                PseudonymEntry.generation)
                         .where(PseudonymEntry.key_id == key_id)).all()
    return {mac: (code, generation) for mac, code, generation in rows}


def save_register(store: ArchiveStore, key_id: str, new: list[NewEntry],
                  known: Iterable[str] = (), generation: int | None = None) -> None:
    """Add issued codes and mark entries (macs) known as authors from `generation` on.

    One transaction; the unique constraints on (key, mac) and (key, code) make a concurrent
    run that issued the same codes fail instead of storing a second code for anybody.
    """
    known = list(known)
    if not new and not known:
        return
    with store.session() as s:
        if new:
            s.execute(insert(PseudonymEntry), [
                {"key_id": key_id, "name_mac": e.name_mac, "code": e.code,
                 "generation": e.generation} for e in new])
        for start in range(0, len(known), 500):
            s.execute(update(PseudonymEntry)
                      .where(PseudonymEntry.key_id == key_id,
                             PseudonymEntry.name_mac.in_(known[start:start + 500]),
                             PseudonymEntry.generation.is_(None))
                      .values(generation=generation)
                      .execution_options(**NO_SYNC))


# --- processed posts --------------------------------------------------------------------------


def cached(store: ArchiveStore, version_ids: Iterable[int], hashes: dict[str, int]
           ) -> dict[int, tuple[int, Outcome]]:
    """Outcomes already stored for these post versions under these settings: post version ->
    (names generation, outcome) of its newest row (`hashes`: row settings hash -> generation)."""
    ids = list(version_ids)
    with store.session() as s:
        rows = s.execute(
            select(ProcessedPost.id, ProcessedPost.post_version_id, ProcessedPost.thread_id,
                   ProcessedPost.floor, ProcessedPost.lang, ProcessedPost.traditional,
                   ProcessedPost.chars, ProcessedPost.replacements, ProcessedPost.hits,
                   ProcessedPost.matched, ProcessedPost.text, ProcessedPost.sentences,
                   ProcessedPost.settings_hash)
            .where(ProcessedPost.post_version_id.in_(ids),
                   ProcessedPost.settings_hash.in_(list(hashes)))
        ).all()
    out: dict[int, tuple[int, Outcome]] = {}
    for r in rows:
        generation = hashes[r[12]]
        if r[1] in out and out[r[1]][0] >= generation:
            continue
        out[r[1]] = (generation, Outcome(
            r[0], r[1], r[2], r[3] or 0, r[4], bool(r[5]), r[6], dict(r[7] or {}),
            dict(r[8] or {}), r[10] if r[9] else "", is_code_switched(r[11] or {})))
    return out


# The processed_posts columns save_processed writes, in the order of its row tuples.
PROCESSED_COLUMNS = (
    "post_version_id", "settings_hash", "post_id", "thread_id", "floor", "author_pseudonym",
    "lang", "lang_method", "zh_share", "en_share", "traditional", "sentences", "text", "tokens",
    "replacements", "hits", "matched", "quotes", "chars",
)


def save_processed(store: ArchiveStore, records: list[PostRecord], settings_hash: str
                   ) -> dict[int, Outcome]:
    """Store freshly processed records (one transaction) and return their outcomes."""
    if not records:
        return {}
    rows = [
        (r.post_version_id, settings_hash, r.post_id, r.thread_id, r.floor, r.author_pseudonym,
         r.lang, r.lang_method, r.zh_share, r.en_share, r.traditional, r.sentences, r.text,
         r.token_text, r.replacements, r.hits, bool(r.hits), r.anon_quotes, len(r.text))
        for r in records
    ]
    # Unordered RETURNING is what batches (SQLite returns a multi-row INSERT's rows in no
    # set order): the post version maps the ids back.
    with store.session() as s:
        ids = dict(insert_returning(s, ProcessedPost.__table__, PROCESSED_COLUMNS, rows,
                                    ("post_version_id", "id")))
    return {
        r.post_version_id: Outcome(
            ids[r.post_version_id], r.post_version_id, r.thread_id, r.floor, r.lang,
            r.traditional, len(r.text), r.replacements, r.hits, r.text if r.hits else "",
            is_code_switched(r.sentences))
        for r in records
    }


# --- bulk inserts without SQLAlchemy's per-row work ------------------------------------------
#
# A Core insert of a batch spends about two thirds of its time in SQLAlchemy's per-row
# parameter processing (a dict per row, a bind processor per value, json.dumps through it),
# a quarter in the driver. For the dialects below the rows go to the driver as prepared
# tuples instead: JSON serialised here exactly as SQLAlchemy's JSON type would (the
# dialect's json_serializer, else json.dumps with its defaults, which psycopg's Json uses
# too), booleans and numbers as they are (what the bind processors hand the driver for
# them), in multi-row INSERT ... VALUES ... RETURNING statements of SQLAlchemy's own page
# size. Other dialects take the Core path. tests/test_process_store_io.py holds the two
# paths to the same stored rows on SQLite and PostgreSQL.

def _json_encoder() -> Callable[[Any], str]:
    """json.dumps() with its default arguments, made once instead of per call (half the
    cost for the small values here). Without a circular-reference check, which only changes
    the error for a value that refers to itself (these are plain data)."""
    defaults = json.JSONEncoder()
    make = getattr(json.encoder, "c_make_encoder", None)  # CPython's C accelerator
    if make is None:
        return defaults.encode
    chunks = make(None, defaults.default, json.encoder.encode_basestring_ascii, None,
                  defaults.key_separator, defaults.item_separator, defaults.sort_keys,
                  defaults.skipkeys, defaults.allow_nan)
    return lambda value: "".join(chunks(value, 0))


_ENCODE = _json_encoder()


def json_text(value: Any) -> str:
    """What json.dumps(value) returns; most posts' replacements, hits and quotes are empty."""
    if not value:
        if type(value) is dict:
            return "{}"
        if type(value) is list:
            return "[]"
    return _ENCODE(value)


@dataclass(frozen=True, slots=True)
class _Markers:
    plain: str  # the DBAPI's positional bind marker
    json: str  # the same for a JSON column (PostgreSQL: cast from the serialised text)


def _fast_markers(dialect: Dialect) -> _Markers | None:
    """Bind markers for a dialect and driver with the direct path, else None (Core path)."""
    if not dialect.insert_returning:
        return None
    if dialect.name == "sqlite" and dialect.driver == "pysqlite":
        return _Markers("?", "?")
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        return _Markers("%s", "%s::json")
    return None


def _json_positions(table: Table, columns: Sequence[str]) -> tuple[int, ...]:
    return tuple(i for i, c in enumerate(columns) if isinstance(table.c[c].type, JSON))


@lru_cache(maxsize=64)
def _insert_sql(dialect: Dialect, table: Table, columns: tuple[str, ...],
                returning: tuple[str, ...], rows: int) -> str:
    markers = _fast_markers(dialect)
    assert markers is not None
    quote = dialect.identifier_preparer.quote
    json_at = set(_json_positions(table, columns))
    one = "(" + ", ".join(markers.json if i in json_at else markers.plain
                          for i in range(len(columns))) + ")"
    sql = (f"INSERT INTO {dialect.identifier_preparer.format_table(table)} "
           f"({', '.join(quote(c) for c in columns)}) VALUES {', '.join([one] * rows)}")
    if returning:
        sql += f" RETURNING {', '.join(quote(c) for c in returning)}"
    return sql


def _prepared(dialect: Dialect, table: Table, columns: Sequence[str],
              rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The rows with their JSON values serialised as SQLAlchemy's JSON type would."""
    json_at = _json_positions(table, columns)
    if not json_at:
        return rows
    custom: Callable[[Any], str] | None = getattr(dialect, "_json_serializer", None)
    dumps = custom or json_text
    # Column-wise (zip transposes in C): a map per JSON column instead of a list per row.
    values: list[Iterable[Any]] = list(zip(*rows, strict=True))
    for i in json_at:
        values[i] = map(dumps, values[i])
    return list(zip(*values, strict=True))


def insert_returning(session: Session, table: Table, columns: tuple[str, ...],
                     rows: list[tuple[Any, ...]], returning: tuple[str, ...]
                     ) -> list[tuple[Any, ...]]:
    """Insert `rows` (tuples in `columns` order) and return the `returning` columns of each
    inserted row, in no particular order."""
    if not rows:
        return []
    conn = session.connection()
    dialect = conn.dialect
    if _fast_markers(dialect) is None:
        return generic_insert_returning(conn, table, columns, rows, returning)
    prepared = _prepared(dialect, table, columns, rows)
    per = max(1, min(dialect.insertmanyvalues_page_size,
                     dialect.insertmanyvalues_max_parameters // len(columns)))
    out: list[tuple[Any, ...]] = []
    for start in range(0, len(prepared), per):
        chunk = prepared[start:start + per]
        params = tuple(chain.from_iterable(chunk))
        out += conn.exec_driver_sql(
            _insert_sql(dialect, table, columns, returning, len(chunk)), params).all()
    return [tuple(r) for r in out]


def generic_insert_returning(conn: Connection, table: Table, columns: Sequence[str],
                             rows: list[tuple[Any, ...]], returning: tuple[str, ...]
                             ) -> list[tuple[Any, ...]]:
    """The Core path: SQLAlchemy's insertmanyvalues with its own type processing."""
    stmt = insert(table).returning(*(table.c[c] for c in returning))
    return [tuple(r) for r in conn.execute(stmt, [dict(zip(columns, row, strict=True))
                                                  for row in rows]).all()]


def insert_rows(session: Session, table: Table, columns: tuple[str, ...],
                rows: list[tuple[Any, ...]]) -> None:
    """Insert `rows` (tuples in `columns` order): one DBAPI executemany on the direct path."""
    if not rows:
        return
    conn = session.connection()
    dialect = conn.dialect
    if _fast_markers(dialect) is None:
        conn.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])
        return
    conn.exec_driver_sql(_insert_sql(dialect, table, columns, (), 1),
                         _prepared(dialect, table, columns, rows))


# --- thread subjects -------------------------------------------------------------------------


def thread_subjects(store: ArchiveStore, thread_ids: list[int]
                    ) -> list[tuple[int, str, str | None]]:
    """(thread id, subject as stored, author) of these threads — raw: for the flow only.

    The author is the board list's, else the first floor's (a thread stored from its pages
    alone has no list entry)."""
    starter = (select(Post.author).where(Post.thread_id == Thread.id, Post.floor == 1)
               .order_by(Post.id).limit(1).scalar_subquery())
    out: list[tuple[int, str, str | None]] = []
    for start in range(0, len(thread_ids), 500):
        with store.session() as s:
            out += [(tid, subject or "", author) for tid, subject, author in s.execute(
                select(Thread.id, Thread.subject, func.coalesce(Thread.author, starter))
                .where(Thread.id.in_(thread_ids[start:start + 500])))]
    return sorted(out)


def cached_subjects(store: ArchiveStore, keys: list[tuple[int, str]], settings_hash: str
                    ) -> dict[tuple[int, str], int]:
    """(thread id, source SHA-256) -> processed_threads id, for rows already made."""
    out: dict[tuple[int, str], int] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        wanted = set(chunk)
        with store.session() as s:
            out.update({(tid, sha): pid for pid, tid, sha in s.execute(
                select(ProcessedThread.id, ProcessedThread.thread_id,
                       ProcessedThread.source_sha256)
                .where(ProcessedThread.thread_id.in_([t for t, _ in chunk]),
                       ProcessedThread.settings_hash == settings_hash))
                if (tid, sha) in wanted})
    return out


SUBJECT_COLUMNS = ("thread_id", "settings_hash", "source_sha256", "author_pseudonym", "subject",
                   "replacements")


def save_subjects(store: ArchiveStore, rows: list[dict[str, Any]]) -> dict[tuple[int, str], int]:
    """Insert processed subjects (a dict of `SUBJECT_COLUMNS` each); returns their ids."""
    if not rows:
        return {}
    with store.session() as s:
        return {(tid, sha): pid for tid, sha, pid in insert_returning(
            s, ProcessedThread.__table__, SUBJECT_COLUMNS,
            [tuple(r[c] for c in SUBJECT_COLUMNS) for r in rows],
            ("thread_id", "source_sha256", "id"))}


def add_snapshot_threads(store: ArchiveStore, snapshot_id: int,
                         subjects: dict[int, int]) -> None:
    if not subjects:
        return
    with store.session() as s:
        insert_rows(s, SnapshotThread.__table__,
                    ("snapshot_id", "thread_id", "processed_thread_id"),
                    [(snapshot_id, tid, pid) for tid, pid in sorted(subjects.items())])


def snapshot_subjects(store: ArchiveStore, snapshot_id: int
                      ) -> dict[int, tuple[str, str | None]]:
    """thread id -> (anonymised subject, author pseudonym) of a snapshot's threads: what
    analysis and exports show as thread context (never `Thread.subject`, which is raw)."""
    with store.session() as s:
        return {tid: (subject, code) for tid, subject, code in s.execute(
            select(SnapshotThread.thread_id, ProcessedThread.subject,
                   ProcessedThread.author_pseudonym)
            .join(ProcessedThread, ProcessedThread.id == SnapshotThread.processed_thread_id)
            .where(SnapshotThread.snapshot_id == snapshot_id))}


# --- snapshots --------------------------------------------------------------------------------


def start_snapshot(store: ArchiveStore, settings_hash: str, keywords_version: str,
                   params: dict[str, Any]) -> int:
    with store.session() as s:
        snap = Snapshot(fingerprint="", settings_hash=settings_hash,
                        keywords_version=keywords_version, params=params, status="building")
        s.add(snap)
        s.flush()
        return snap.id


def add_snapshot_posts(store: ArchiveStore, snapshot_id: int, processed_ids: list[int]) -> None:
    if not processed_ids:
        return
    with store.session() as s:
        insert_rows(s, SnapshotPost.__table__, ("snapshot_id", "processed_post_id", "kept"),
                    [(snapshot_id, pid, False) for pid in processed_ids])


def mark_kept_threads(store: ArchiveStore, snapshot_id: int, thread_ids: list[int]) -> None:
    """Set `kept` on every post of the kept threads (in chunks: IN lists stay short)."""
    with store.session() as s:
        for start in range(0, len(thread_ids), 500):
            chunk = thread_ids[start:start + 500]
            members = select(ProcessedPost.id).where(ProcessedPost.thread_id.in_(chunk))
            s.execute(
                update(SnapshotPost)
                .where(SnapshotPost.snapshot_id == snapshot_id,
                       SnapshotPost.processed_post_id.in_(members))
                .values(kept=True)
                .execution_options(**NO_SYNC)
            )


def find_complete_snapshot(store: ArchiveStore, fingerprint: str) -> int | None:
    with store.session() as s:
        return s.scalar(
            select(Snapshot.id).where(Snapshot.fingerprint == fingerprint,
                                      Snapshot.status == "complete")
            .order_by(Snapshot.id).limit(1)
        )


def finish_snapshot(store: ArchiveStore, snapshot_id: int, fingerprint: str,
                    summary: dict[str, Any], kwic: dict[str, Any]) -> None:
    with store.session() as s:
        s.execute(update(Snapshot).where(Snapshot.id == snapshot_id).values(
            fingerprint=fingerprint, summary=summary, kwic=kwic, status="complete")
            .execution_options(**NO_SYNC))


def discard_snapshot(store: ArchiveStore, snapshot_id: int) -> None:
    """Remove an unfinished snapshot (a duplicate of an existing one, or a failed run)."""
    with store.session() as s:
        for table in (SnapshotPost, SnapshotThread):
            s.execute(delete(table).where(table.snapshot_id == snapshot_id)
                      .execution_options(**NO_SYNC))
        s.execute(delete(Snapshot).where(Snapshot.id == snapshot_id)
                  .execution_options(**NO_SYNC))


def load_snapshot(store: ArchiveStore, snapshot_id: int | None = None) -> Snapshot | None:
    """A complete snapshot by id, or the newest one."""
    with store.session() as s:
        if snapshot_id is not None:
            snap = s.get(Snapshot, snapshot_id)
            return snap if snap is not None and snap.status == "complete" else None
        return s.scalar(select(Snapshot).where(Snapshot.status == "complete")
                        .order_by(Snapshot.id.desc()).limit(1))
