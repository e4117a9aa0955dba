"""Reads a snapshot's documents from the store: the one place that knows the corpus schema.

The processing flow owns `pipeline/store/corpus.py` and may change it; everything else in
`pipeline.themes` sees only `SnapshotDocument`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from pipeline.store.corpus import ProcessedPost, Snapshot, SnapshotPost
from pipeline.store.models import Post, Site, Thread


@dataclass(frozen=True, slots=True)
class SnapshotDocument:
    processed_post_id: int
    post_id: int
    thread_id: int
    tid: int
    floor: int
    posted_at: datetime | None
    author_pseudonym: str | None
    lang: str
    tokens: tuple[str, ...]
    utc_offset: float = 8.0  # the forum's time zone, hours east of UTC

    @property
    def month(self) -> str | None:
        """The month as the forum shows it (its own time zone), e.g. 2024-03."""
        if self.posted_at is None:
            return None
        return (self.posted_at + timedelta(hours=self.utc_offset)).strftime("%Y-%m")


@dataclass(frozen=True, slots=True)
class PostContext:
    """A post's pseudonymised text with where it sits in its thread."""

    processed_post_id: int
    thread_id: int
    tid: int
    floor: int
    posted_at: datetime | None
    author_pseudonym: str | None
    text: str
    thread_posts: int  # posts of the thread in the snapshot
    opening: str  # pseudonymised text of the thread's first post in the snapshot


def snapshot_exists(engine: Engine, snapshot_id: int) -> bool:
    with Session(engine) as s:
        return s.get(Snapshot, snapshot_id) is not None


def latest_snapshot_id(engine: Engine) -> int | None:
    with Session(engine) as s:
        return s.scalar(
            select(Snapshot.id).where(Snapshot.status == "complete").order_by(Snapshot.id.desc())
        )


def snapshot_params(engine: Engine, snapshot_id: int) -> dict:
    with Session(engine) as s:
        snap = s.get(Snapshot, snapshot_id)
        return {} if snap is None else {"fingerprint": snap.fingerprint, **(snap.params or {})}


def iter_snapshot_documents(
    engine: Engine, snapshot_id: int, *, kept_only: bool = True, batch: int = 2000
) -> Iterator[SnapshotDocument]:
    """Stream a snapshot's posts in a fixed order (processed-post id), `batch` rows at a time.

    The order is part of reproducibility: LDA's result depends on document order.
    """
    query = (
        select(
            ProcessedPost.id,
            ProcessedPost.post_id,
            ProcessedPost.thread_id,
            Thread.tid,
            Post.floor,
            Post.posted_at,
            ProcessedPost.author_pseudonym,
            ProcessedPost.lang,
            ProcessedPost.tokens,
            Site.utc_offset,
        )
        .join(SnapshotPost, SnapshotPost.processed_post_id == ProcessedPost.id)
        .join(Post, Post.id == ProcessedPost.post_id)
        .join(Thread, Thread.id == ProcessedPost.thread_id)
        .join(Site, Site.id == Thread.site_id)
        .where(SnapshotPost.snapshot_id == snapshot_id)
        .order_by(ProcessedPost.id)
        .execution_options(yield_per=batch)
    )
    if kept_only:
        query = query.where(SnapshotPost.kept.is_(True))
    with Session(engine) as s:
        for row in s.execute(query):
            yield SnapshotDocument(
                processed_post_id=row[0],
                post_id=row[1],
                thread_id=row[2],
                tid=row[3],
                floor=row[4],
                posted_at=row[5],
                author_pseudonym=row[6],
                lang=row[7],
                tokens=tuple(row[8].split()),
                utc_offset=row[9] if row[9] is not None else 8.0,
            )


def post_contexts(engine: Engine, snapshot_id: int, ids: Iterable[int]) -> dict[int, PostContext]:
    """Texts of a few processed posts (representatives) with their thread's opening post."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    out: dict[int, PostContext] = {}
    with Session(engine) as s:
        rows = s.execute(
            select(ProcessedPost, Post.floor, Post.posted_at, Thread.tid)
            .join(Post, Post.id == ProcessedPost.post_id)
            .join(Thread, Thread.id == ProcessedPost.thread_id)
            .where(ProcessedPost.id.in_(wanted))
        ).all()
        threads = {pp.thread_id for pp, *_ in rows}
        # The thread's posts in this snapshot, by floor: first one is the context shown.
        members = s.execute(
            select(ProcessedPost.thread_id, Post.floor, ProcessedPost.text)
            .join(SnapshotPost, SnapshotPost.processed_post_id == ProcessedPost.id)
            .join(Post, Post.id == ProcessedPost.post_id)
            .where(SnapshotPost.snapshot_id == snapshot_id, ProcessedPost.thread_id.in_(threads))
            .order_by(ProcessedPost.thread_id, Post.floor)
        ).all()
        opening: dict[int, str] = {}
        counts: dict[int, int] = {}
        for thread_id, _floor, text in members:
            opening.setdefault(thread_id, text)
            counts[thread_id] = counts.get(thread_id, 0) + 1
        for pp, floor, posted_at, tid in rows:
            out[pp.id] = PostContext(
                processed_post_id=pp.id,
                thread_id=pp.thread_id,
                tid=tid,
                floor=floor,
                posted_at=posted_at,
                author_pseudonym=pp.author_pseudonym,
                text=pp.text,
                thread_posts=counts.get(pp.thread_id, 0),
                opening=opening.get(pp.thread_id, ""),
            )
    return out
