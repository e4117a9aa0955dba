"""Archive schema: sites, boards, threads, posts, post versions, fetches, crawl runs.

Nothing is overwritten: a post's content lives in `post_versions` (one row per distinct content
seen), and `posts` only points at the latest one. Times are stored as UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops tzinfo otherwise)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Site(Base):
    __tablename__ = "sites"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    base_url: Mapped[str] = mapped_column(String(2000))
    generation: Mapped[str | None] = mapped_column(String(20))
    utc_offset: Mapped[float] = mapped_column(Float, default=8.0)
    posts_per_page: Mapped[int] = mapped_column(Integer, default=10)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    boards: Mapped[list[Board]] = relationship(back_populates="site")


class Board(Base):
    __tablename__ = "boards"
    __table_args__ = (UniqueConstraint("site_id", "fid"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    fid: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(500))
    url: Mapped[str | None] = mapped_column(String(2000))
    # Last-post time of the newest thread seen in the last *complete* walk of the board list.
    # Only a walk that ran to its end moves it, so a killed crawl never skips threads.
    high_water: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(30), default="ok")  # ok / login / error
    last_walked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    site: Mapped[Site] = relationship(back_populates="boards")


class Thread(Base):
    __tablename__ = "threads"
    __table_args__ = (UniqueConstraint("site_id", "tid"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    board_id: Mapped[int | None] = mapped_column(ForeignKey("boards.id"))
    tid: Mapped[int] = mapped_column(BigInteger)
    subject: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(200))
    author_uid: Mapped[int | None] = mapped_column(BigInteger)
    created_raw: Mapped[str | None] = mapped_column(String(100))
    sticky: Mapped[bool] = mapped_column(Boolean, default=False)
    # What the board list said when we last scheduled the thread.
    list_replies: Mapped[int | None] = mapped_column(Integer)
    list_lastpost: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Crawl progress: highest page stored, and whether all pages up to the last were stored for
    # the (list_replies, list_lastpost) above.
    pages_stored: Mapped[int] = mapped_column(Integer, default=0)
    last_page: Mapped[int | None] = mapped_column(Integer)
    complete: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(30), default="ok")  # ok / error / login / gone
    status_message: Mapped[str | None] = mapped_column(Text)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Post(Base):
    __tablename__ = "posts"
    __table_args__ = (
        Index("ix_posts_thread_floor", "thread_id", "floor"),
        UniqueConstraint("site_id", "pid"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id"))
    # None for a deleted-floor placeholder first seen without its pid.
    pid: Mapped[int | None] = mapped_column(BigInteger)
    floor: Mapped[int] = mapped_column(Integer)
    floor_label: Mapped[str | None] = mapped_column(String(50))
    author: Mapped[str | None] = mapped_column(String(200))
    author_uid: Mapped[int | None] = mapped_column(BigInteger)
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    time_raw: Mapped[str | None] = mapped_column(String(200))
    time_method: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(30), default="ok")
    version_count: Mapped[int] = mapped_column(Integer, default=0)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    versions: Mapped[list[PostVersion]] = relationship(
        back_populates="post", order_by="PostVersion.version"
    )


class PostVersion(Base):
    __tablename__ = "post_versions"
    __table_args__ = (UniqueConstraint("post_id", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(30))
    text: Mapped[str] = mapped_column(Text, default="")
    html: Mapped[str] = mapped_column(Text, default="")
    quotes: Mapped[list] = mapped_column(JSON, default=list)
    edit_note: Mapped[str | None] = mapped_column(Text)
    content_sha256: Mapped[str] = mapped_column(String(64))
    fetch_id: Mapped[int | None] = mapped_column(ForeignKey("fetches.id"))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    post: Mapped[Post] = relationship(back_populates="versions")


class Fetch(Base):
    """One HTTP response as received, with where its raw bytes sit in the WARC files."""

    __tablename__ = "fetches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crawl_run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"), index=True)
    url: Mapped[str] = mapped_column(Text)
    http_status: Mapped[int] = mapped_column(Integer)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    encoding: Mapped[str | None] = mapped_column(String(50))
    page_kind: Mapped[str] = mapped_column(String(30))
    generation: Mapped[str | None] = mapped_column(String(20))
    message: Mapped[str | None] = mapped_column(Text)
    warc_file: Mapped[str | None] = mapped_column(String(500))
    warc_record_id: Mapped[str | None] = mapped_column(String(100))
    warc_offset: Mapped[int | None] = mapped_column(BigInteger)
    body_sha256: Mapped[str] = mapped_column(String(64))
    body_length: Mapped[int] = mapped_column(Integer)


class CrawlRun(Base):
    __tablename__ = "crawl_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # running / finished / interrupted / killed / failed
    status: Mapped[str] = mapped_column(String(30), default="running")
    finish_reason: Mapped[str | None] = mapped_column(String(100))
    options: Mapped[dict] = mapped_column(JSON, default=dict)
    stats: Mapped[dict] = mapped_column(JSON, default=dict)
    user_agent: Mapped[str | None] = mapped_column(Text)
