"""The archive store: what the crawler reads (crawl state) and writes (fetches, posts, versions).

One short transaction per call, so that a crawl killed at any moment leaves a consistent store:
a page is either stored whole or not at all.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import create_engine, event, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from spiders.parsers.model import ParsedPost, ThreadPage, ThreadRow

from .models import Base, Board, CrawlRun, Fetch, Post, PostVersion, Site, Thread, utcnow


@dataclass(frozen=True, slots=True)
class ThreadState:
    list_replies: int | None
    list_lastpost: datetime | None
    pages_stored: int
    complete: bool
    status: str


@dataclass(frozen=True, slots=True)
class FetchInfo:
    url: str
    http_status: int
    fetched_at: datetime
    encoding: str | None
    page_kind: str
    generation: str | None
    message: str | None
    warc_file: str | None
    warc_record_id: str | None
    warc_offset: int | None
    body_sha256: str
    body_length: int


@dataclass(slots=True)
class PageSaveResult:
    new_posts: int = 0
    new_versions: int = 0
    marked_deleted: int = 0


def content_hash(post: ParsedPost) -> str:
    """Identity of a post's content. Sanitised HTML is left out: markup noise is not an edit."""
    payload = json.dumps(
        [post.status.value, post.text, post.edit_note, [quote_dict(q) for q in post.quotes]],
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def quote_dict(quote: object) -> dict:
    data = asdict(quote)  # type: ignore[call-overload]
    if data.get("time") is not None:
        data["time"] = data["time"].isoformat()
    return data


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    # WAL lets `lurker status` read while a crawl writes; NORMAL sync is still crash-safe in WAL.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str) -> Engine:
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


class ArchiveStore:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        Base.metadata.create_all(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    def close(self) -> None:
        self.engine.dispose()

    # -- sites, runs -------------------------------------------------------------------------

    def ensure_site(self, name: str, base_url: str, utc_offset: float, ppp: int) -> int:
        with self.session() as s:
            site = s.scalar(select(Site).where(Site.name == name))
            if site is None:
                site = Site(name=name, base_url=base_url, utc_offset=utc_offset, posts_per_page=ppp)
                s.add(site)
                s.flush()
            else:
                site.base_url = base_url
            return site.id

    def set_site_generation(self, site_id: int, generation: str) -> None:
        with self.session() as s:
            s.execute(update(Site).where(Site.id == site_id).values(generation=generation))

    def start_run(self, site_id: int, options: dict, user_agent: str) -> int:
        with self.session() as s:
            # A run still "running" here was killed (SIGKILL, power loss): say so.
            s.execute(
                update(CrawlRun)
                .where(CrawlRun.site_id == site_id, CrawlRun.status == "running")
                .values(status="killed")
            )
            run = CrawlRun(site_id=site_id, options=options, user_agent=user_agent)
            s.add(run)
            s.flush()
            return run.id

    def finish_run(self, run_id: int, status: str, reason: str, stats: dict) -> None:
        with self.session() as s:
            run = s.get(CrawlRun, run_id)
            if run is None:
                return
            run.status = status
            run.finish_reason = reason
            run.finished_at = utcnow()
            run.stats = json.loads(json.dumps(stats, default=str))

    def record_fetch(self, run_id: int | None, info: FetchInfo) -> int:
        with self.session() as s:
            fetch = Fetch(crawl_run_id=run_id, **asdict(info))
            s.add(fetch)
            s.flush()
            return fetch.id

    # -- boards ------------------------------------------------------------------------------

    def ensure_board(self, site_id: int, fid: int, name: str | None, url: str | None) -> int:
        with self.session() as s:
            board = s.scalar(select(Board).where(Board.site_id == site_id, Board.fid == fid))
            if board is None:
                board = Board(site_id=site_id, fid=fid, name=name, url=url)
                s.add(board)
                s.flush()
            else:
                board.name = name or board.name
                board.url = url or board.url
            return board.id

    def board_high_waters(self, site_id: int) -> dict[int, datetime | None]:
        with self.session() as s:
            rows = s.execute(select(Board.fid, Board.high_water).where(Board.site_id == site_id))
            return {fid: hw for fid, hw in rows}

    def set_board_status(self, site_id: int, fid: int, status: str) -> None:
        with self.session() as s:
            s.execute(
                update(Board)
                .where(Board.site_id == site_id, Board.fid == fid)
                .values(status=status)
            )

    def set_board_high_water(self, site_id: int, fid: int, high_water: datetime | None) -> None:
        with self.session() as s:
            values: dict = {"last_walked_at": utcnow(), "status": "ok"}
            if high_water is not None:
                values["high_water"] = high_water
            s.execute(
                update(Board).where(Board.site_id == site_id, Board.fid == fid).values(**values)
            )

    # -- threads -----------------------------------------------------------------------------

    def thread_states(self, site_id: int) -> dict[int, ThreadState]:
        with self.session() as s:
            rows = s.execute(
                select(
                    Thread.tid,
                    Thread.list_replies,
                    Thread.list_lastpost,
                    Thread.pages_stored,
                    Thread.complete,
                    Thread.status,
                ).where(Thread.site_id == site_id)
            )
            return {r[0]: ThreadState(*r[1:]) for r in rows}

    def schedule_thread(self, site_id: int, fid: int, row: ThreadRow, restart: bool) -> None:
        """Record what the list says of a thread we are about to fetch.

        `restart` means the thread changed since it was last complete (or a full re-crawl):
        progress is reset to "incomplete" but pages already stored stay stored.
        """
        with self.session() as s:
            board_id = s.scalar(select(Board.id).where(Board.site_id == site_id, Board.fid == fid))
            thread = s.scalar(
                select(Thread).where(Thread.site_id == site_id, Thread.tid == row.tid)
            )
            if thread is None:
                thread = Thread(site_id=site_id, tid=row.tid)
                s.add(thread)
            thread.board_id = board_id
            thread.subject = row.subject or thread.subject
            thread.author = row.author or thread.author
            thread.author_uid = row.author_uid or thread.author_uid
            thread.created_raw = row.created_raw or thread.created_raw
            thread.sticky = row.sticky
            thread.list_replies = row.replies
            thread.list_lastpost = row.lastpost
            if restart:
                thread.complete = False

    def mark_thread(self, site_id: int, tid: int, status: str, message: str | None) -> None:
        with self.session() as s:
            thread = s.scalar(select(Thread).where(Thread.site_id == site_id, Thread.tid == tid))
            if thread is None:
                thread = Thread(site_id=site_id, tid=tid)
                s.add(thread)
            thread.status = status
            thread.status_message = message
            thread.last_fetched_at = utcnow()

    def save_thread_page(
        self, site_id: int, page: ThreadPage, fetch_id: int | None, board_fid: int | None
    ) -> PageSaveResult:
        """Store one parsed thread page: new posts, new versions of changed posts, deletions."""
        result = PageSaveResult()
        now = utcnow()
        with self.session() as s:
            thread = s.scalar(
                select(Thread).where(Thread.site_id == site_id, Thread.tid == page.tid)
            )
            if thread is None:
                thread = Thread(site_id=site_id, tid=page.tid)
                s.add(thread)
            fid = page.fid or board_fid
            if fid is not None and thread.board_id is None:
                thread.board_id = s.scalar(
                    select(Board.id).where(Board.site_id == site_id, Board.fid == fid)
                )
            if page.subject:
                thread.subject = page.subject
            thread.status = "ok"
            thread.status_message = None
            thread.last_fetched_at = now
            s.flush()
            seen_pids: set[int] = set()
            for parsed in page.posts:
                post = self._find_post(s, site_id, thread.id, parsed)
                if post is None:
                    post = Post(
                        site_id=site_id,
                        thread_id=thread.id,
                        pid=parsed.pid or None,
                        floor=parsed.floor,
                        first_seen_at=now,
                    )
                    s.add(post)
                    result.new_posts += 1
                self._update_post(post, parsed, now)
                if parsed.pid:
                    seen_pids.add(parsed.pid)
                if self._add_version_if_changed(s, post, parsed, fetch_id, now):
                    result.new_versions += 1
            result.marked_deleted = self._mark_vanished(
                s, thread.id, page, seen_pids, fetch_id, now
            )
            thread.pages_stored = max(thread.pages_stored if page.page > 1 else 0, page.page)
            thread.last_page = page.last_page
            if page.page >= page.last_page:
                thread.complete = True
        return result

    @staticmethod
    def _find_post(s: Session, site_id: int, thread_id: int, parsed: ParsedPost) -> Post | None:
        if parsed.pid:
            post = s.scalar(select(Post).where(Post.site_id == site_id, Post.pid == parsed.pid))
            if post is not None:
                return post
        # A placeholder without pid (deleted floor) belongs to whichever post held that floor.
        candidates = s.scalars(
            select(Post).where(Post.thread_id == thread_id, Post.floor == parsed.floor)
        ).all()
        if not parsed.pid and candidates:
            return candidates[0]
        return next((p for p in candidates if p.pid is None), None)

    @staticmethod
    def _update_post(post: Post, parsed: ParsedPost, now: datetime) -> None:
        if parsed.pid and post.pid is None:
            post.pid = parsed.pid
        post.floor = parsed.floor
        post.floor_label = parsed.floor_label or post.floor_label
        # Moderated / deleted renderings hide author and time: keep what we knew.
        if parsed.author:
            post.author = parsed.author
        if parsed.author_uid:
            post.author_uid = parsed.author_uid
        if parsed.time is not None and (post.posted_at is None or parsed.time_method != "relative"):
            post.posted_at = parsed.time
            post.time_raw = parsed.time_raw
            post.time_method = parsed.time_method.value
        post.status = parsed.status.value
        post.last_seen_at = now

    @staticmethod
    def _add_version_if_changed(
        s: Session, post: Post, parsed: ParsedPost, fetch_id: int | None, now: datetime
    ) -> bool:
        digest = content_hash(parsed)
        if post.id is not None:
            latest = s.scalar(
                select(PostVersion.content_sha256)
                .where(PostVersion.post_id == post.id)
                .order_by(PostVersion.version.desc())
                .limit(1)
            )
            if latest == digest:
                return False
        s.flush()
        post.version_count = (post.version_count or 0) + 1
        s.add(
            PostVersion(
                post_id=post.id,
                version=post.version_count,
                status=parsed.status.value,
                text=parsed.text,
                html=parsed.html,
                quotes=[quote_dict(q) for q in parsed.quotes],
                edit_note=parsed.edit_note,
                content_sha256=digest,
                fetch_id=fetch_id,
                seen_at=now,
            )
        )
        return True

    @staticmethod
    def _mark_vanished(
        s: Session,
        thread_id: int,
        page: ThreadPage,
        seen_pids: set[int],
        fetch_id: int | None,
        now: datetime,
    ) -> int:
        """Posts stored for this page's floor range that the page no longer shows were removed."""
        floors = [p.floor for p in page.posts]
        if not floors:
            return 0
        gone = s.scalars(
            select(Post).where(
                Post.thread_id == thread_id,
                Post.floor >= min(floors),
                Post.floor <= max(floors),
                Post.pid.is_not(None),
                Post.status != "deleted",
            )
        ).all()
        count = 0
        for post in gone:
            if post.pid in seen_pids:
                continue
            post.status = "deleted"
            post.version_count += 1
            s.add(
                PostVersion(
                    post_id=post.id,
                    version=post.version_count,
                    status="deleted",
                    text="",
                    html="",
                    quotes=[],
                    edit_note=None,
                    content_sha256=hashlib.sha256(b"deleted").hexdigest(),
                    fetch_id=fetch_id,
                    seen_at=now,
                )
            )
            count += 1
        return count

    # -- summaries ---------------------------------------------------------------------------

    def summary(self) -> list[dict]:
        """Counts per site and board, and each site's last crawl run."""
        out: list[dict] = []
        with self.session() as s:
            for site in s.scalars(select(Site).order_by(Site.name)):
                boards = []
                for board in s.scalars(
                    select(Board).where(Board.site_id == site.id).order_by(Board.fid)
                ):
                    threads = s.scalar(
                        select(func.count(Thread.id)).where(Thread.board_id == board.id)
                    )
                    posts = s.scalar(
                        select(func.count(Post.id))
                        .join(Thread, Post.thread_id == Thread.id)
                        .where(Thread.board_id == board.id)
                    )
                    boards.append(
                        {
                            "fid": board.fid,
                            "name": board.name,
                            "status": board.status,
                            "threads": threads,
                            "posts": posts,
                        }
                    )
                run = s.scalar(
                    select(CrawlRun)
                    .where(CrawlRun.site_id == site.id)
                    .order_by(CrawlRun.id.desc())
                    .limit(1)
                )
                versions = s.scalar(
                    select(func.count(PostVersion.id))
                    .join(Post, PostVersion.post_id == Post.id)
                    .where(Post.site_id == site.id)
                )
                fetches = s.scalar(
                    select(func.count(Fetch.id))
                    .join(CrawlRun, Fetch.crawl_run_id == CrawlRun.id)
                    .where(CrawlRun.site_id == site.id)
                )
                out.append(
                    {
                        "site": site.name,
                        "url": site.base_url,
                        "generation": site.generation,
                        "boards": boards,
                        "threads": s.scalar(
                            select(func.count(Thread.id)).where(Thread.site_id == site.id)
                        ),
                        "posts": s.scalar(
                            select(func.count(Post.id)).where(Post.site_id == site.id)
                        ),
                        "versions": versions,
                        "fetches": fetches,
                        "last_run": None
                        if run is None
                        else {
                            "id": run.id,
                            "status": run.status,
                            "reason": run.finish_reason,
                            "started_at": run.started_at,
                            "finished_at": run.finished_at,
                            "stats": run.stats,
                        },
                    }
                )
        return out
