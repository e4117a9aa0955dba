"""Read an archive and a demo-forum truth into the same comparable shape."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from pipeline.store.models import Board, Post, PostVersion, Thread


def archived_posts(workspace: Path) -> dict[int, dict]:
    """pid → what the archive holds for the post's latest version."""
    engine = create_engine(f"sqlite:///{workspace / 'lurker.sqlite'}")
    out: dict[int, dict] = {}
    with Session(engine) as s:
        rows = s.execute(
            select(Post, Thread.tid, Board.fid)
            .join(Thread, Post.thread_id == Thread.id)
            .outerjoin(Board, Thread.board_id == Board.id)
        ).all()
        for post, tid, fid in rows:
            latest = s.scalar(
                select(PostVersion)
                .where(PostVersion.post_id == post.id)
                .order_by(PostVersion.version.desc())
                .limit(1)
            )
            key = post.pid if post.pid is not None else -post.id
            assert key not in out, f"duplicate post {key}"
            out[key] = {
                "tid": tid,
                "fid": fid,
                "floor": post.floor,
                "author": post.author,
                "author_uid": post.author_uid,
                "time": post.posted_at,
                "status": post.status,
                "versions": post.version_count,
                "text": latest.text if latest else None,
                "quote_pid": (latest.quotes[0]["pid"] if latest and latest.quotes else None),
            }
    engine.dispose()
    return out


def truth_posts(truth: dict, skip_fids: set[int] = frozenset(),
                skip_review: bool = False) -> dict[int, dict]:
    """pid → the same fields from DemoForum.truth() (served, time-shifted state)."""
    out: dict[int, dict] = {}
    for thread in truth["threads"]:
        if thread["fid"] in skip_fids or (skip_review and thread.get("review")):
            continue
        for post in thread["posts"]:
            out[post["pid"]] = {
                "tid": thread["tid"],
                "fid": thread["fid"],
                "floor": post["floor"],
                "author": post["author"],
                "author_uid": post["author_uid"],
                "time": datetime.fromisoformat(post["time"]),
                "text": post["text"],
                "quote_pid": post["quote"]["pid"] if post.get("quote") else None,
                "moderation": post.get("moderation"),
            }
    return out


def compare(archived: dict[int, dict], truth: dict[int, dict],
            fields: tuple[str, ...] = ("tid", "fid", "floor", "author", "author_uid", "time",
                                       "text", "quote_pid")) -> list[str]:
    """Human-readable differences (empty when the archive matches the truth exactly)."""
    problems: list[str] = []
    missing = sorted(set(truth) - set(archived))
    extra = sorted(set(archived) - set(truth))
    if missing:
        problems.append(f"{len(missing)} posts missing, e.g. {missing[:5]}")
    if extra:
        problems.append(f"{len(extra)} unexpected posts, e.g. {extra[:5]}")
    for pid in sorted(set(truth) & set(archived)):
        for field in fields:
            want, got = truth[pid][field], archived[pid][field]
            if want != got:
                problems.append(f"pid {pid} {field}: want {want!r}, got {got!r}")
    return problems
