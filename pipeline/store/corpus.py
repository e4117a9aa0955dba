"""Corpus schema: processed posts (cached per settings) and immutable, numbered snapshots."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, UTCDateTime, utcnow


class ProcessedPost(Base):
    """One post version run through the processing steps under one settings fingerprint.

    Cached: a re-run with the same settings reuses the row instead of recomputing it.
    Holds no real author name and no detected personal detail — only pseudonymised text.
    """

    __tablename__ = "processed_posts"
    __table_args__ = (UniqueConstraint("post_version_id", "settings_hash"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_version_id: Mapped[int] = mapped_column(ForeignKey("post_versions.id"), index=True)
    settings_hash: Mapped[str] = mapped_column(String(64), index=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id"), index=True)
    author_pseudonym: Mapped[str | None] = mapped_column(String(20))
    lang: Mapped[str] = mapped_column(String(20))
    lang_method: Mapped[str | None] = mapped_column(String(20))
    zh_share: Mapped[float] = mapped_column(Float)
    en_share: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)  # normalised and pseudonymised
    tokens: Mapped[str] = mapped_column(Text)  # space-joined segmentation of `text`
    replacements: Mapped[dict] = mapped_column(JSON, default=dict)  # type → count, never values
    hits: Mapped[dict] = mapped_column(JSON, default=dict)  # concept → keywords matched
    chars: Mapped[int] = mapped_column(Integer)
    # Added for the processing flow (issue 4): what the steps record besides the above.
    floor: Mapped[int | None] = mapped_column(Integer)
    traditional: Mapped[bool] = mapped_column(Boolean, default=False)  # written in Traditional
    sentences: Mapped[dict] = mapped_column(JSON, default=dict)  # script label → sentences
    # Quoted blocks, not the author's words: [{"author": pseudonym | None, "text": anonymised}]
    quotes: Mapped[list] = mapped_column(JSON, default=list)
    matched: Mapped[bool] = mapped_column(Boolean, default=False)  # the post matched a concept


class Snapshot(Base):
    """An immutable corpus: which post versions, which keyword list, which settings."""

    __tablename__ = "snapshots"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    settings_hash: Mapped[str] = mapped_column(String(64))
    keywords_version: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict] = mapped_column(JSON, default=dict)  # settings, filters, versions, seeds
    summary: Mapped[dict] = mapped_column(JSON, default=dict)  # per-step counts and hits
    kwic: Mapped[dict] = mapped_column(JSON, default=dict)  # concept → sampled KWIC lines
    status: Mapped[str] = mapped_column(String(20), default="complete")


class SnapshotPost(Base):
    __tablename__ = "snapshot_posts"
    __table_args__ = (UniqueConstraint("snapshot_id", "processed_post_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id"), index=True)
    processed_post_id: Mapped[int] = mapped_column(ForeignKey("processed_posts.id"))
    kept: Mapped[bool] = mapped_column(Boolean)  # passed the keyword filter (post or thread)


class PseudonymEntry(Base):
    """The pseudonym register: one code per (key, name), issued once and never changed.

    Keyed by HMAC(key, normalised name), never by the name: the archive already holds the
    names, and the register must not become a second plain name -> code table. `generation`
    is the run (numbered per key) in which the name became a known author of the archive;
    NULL for a name only seen in @mentions or quote headers. Cached processed posts older
    than a generation are redone when their text contains one of its names.
    """

    __tablename__ = "pseudonyms"
    __table_args__ = (UniqueConstraint("key_id", "name_mac"), UniqueConstraint("key_id", "code"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(16), index=True)  # public key fingerprint
    name_mac: Mapped[str] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(String(20))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    generation: Mapped[int | None] = mapped_column(Integer)



class ProcessedThread(Base):
    """A thread's subject, normalised and anonymised like the post bodies (same pseudonyms).

    One row per thread, settings (the post rows' settings hash, names generation included) and
    subject as stored (`source_sha256`: a re-crawl that edits the subject gets a new row).
    Holds no raw subject.
    """

    __tablename__ = "processed_threads"
    __table_args__ = (UniqueConstraint("thread_id", "settings_hash", "source_sha256"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id"), index=True)
    settings_hash: Mapped[str] = mapped_column(String(64))
    source_sha256: Mapped[str] = mapped_column(String(64))
    author_pseudonym: Mapped[str | None] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(Text)  # normalised and pseudonymised
    replacements: Mapped[dict] = mapped_column(JSON, default=dict)  # type → count, never values


class SnapshotThread(Base):
    """Which processed subject a snapshot shows for each of its threads."""

    __tablename__ = "snapshot_threads"
    __table_args__ = (UniqueConstraint("snapshot_id", "thread_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id"), index=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id"))
    processed_thread_id: Mapped[int] = mapped_column(ForeignKey("processed_threads.id"))
