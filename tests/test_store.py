"""The archive store on a real database: versions, deletions, crawl state, runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import select

from pipeline.store import ArchiveStore, FetchInfo
from pipeline.store.models import CrawlRun, Post, PostVersion
from spiders.parsers.model import (
    Generation,
    ParsedPost,
    PostStatus,
    QuoteRef,
    ThreadPage,
    ThreadRow,
    TimeMethod,
)

CST = timezone(timedelta(hours=8))


def post(pid: int, floor: int, text: str, status: PostStatus = PostStatus.OK,
         quote: int | None = None) -> ParsedPost:
    return ParsedPost(
        pid=pid, floor=floor, floor_label=None, author=f"user{pid}", author_uid=pid + 1000,
        time=datetime(2024, 3, 2, 8, floor, 40, tzinfo=CST), time_raw="2024-3-2 08:18:40",
        time_method=TimeMethod.ABSOLUTE, text=text, html=f"<p>{text}</p>",
        quotes=[QuoteRef(pid=quote, author="x", time_raw=None, time=None, text="q")] if quote
        else [],
        status=status,
    )


def page(tid: int, n: int, posts: list[ParsedPost], last: int) -> ThreadPage:
    return ThreadPage(tid=tid, fid=2, subject="subject", page=n, last_page=last,
                      generation=Generation.X3, posts=posts)


def fetch(store: ArchiveStore, run: int) -> int:
    return store.record_fetch(run, FetchInfo(
        url="http://127.0.0.1/x", http_status=200, fetched_at=datetime.now(UTC),
        encoding="utf-8", page_kind="content", generation="x3", message=None,
        warc_file="a.warc.gz", warc_record_id="<urn:uuid:1>", warc_offset=0,
        body_sha256="0" * 64, body_length=1))


def test_posts_versions_and_deletions(store: ArchiveStore):
    site = store.ensure_site("s", "http://127.0.0.1/", 8, 10)
    store.ensure_board(site, 2, "board", None)
    run = store.start_run(site, {}, "ua")
    f1 = fetch(store, run)
    r = store.save_thread_page(site, page(7, 1, [post(1, 1, "a"), post(2, 2, "b", quote=1)], 1),
                               f1, 2)
    assert (r.new_posts, r.new_versions, r.marked_deleted) == (2, 2, 0)
    # Same content again: nothing new.
    r = store.save_thread_page(site, page(7, 1, [post(1, 1, "a"), post(2, 2, "b", quote=1)], 1),
                               f1, 2)
    assert (r.new_posts, r.new_versions) == (0, 0)
    # Edited post → new version; moderated post → status version; vanished → deleted.
    f2 = fetch(store, run)
    r = store.save_thread_page(
        site, page(7, 1, [post(1, 1, "a2"), post(3, 3, "", PostStatus.BANNED)], 1), f2, 2)
    assert (r.new_posts, r.new_versions, r.marked_deleted) == (1, 2, 1)
    with store.session() as s:
        p1 = s.scalar(select(Post).where(Post.pid == 1))
        versions = s.scalars(select(PostVersion).where(PostVersion.post_id == p1.id)
                             .order_by(PostVersion.version)).all()
        assert [v.text for v in versions] == ["a", "a2"]
        assert [v.fetch_id for v in versions] == [f1, f2]
        p2 = s.scalar(select(Post).where(Post.pid == 2))
        assert p2.status == "deleted" and p2.version_count == 2
        assert s.scalar(select(Post).where(Post.pid == 3)).status == "banned"
        assert p1.posted_at == datetime(2024, 3, 2, 0, 1, 40, tzinfo=UTC)


def test_deleted_placeholder_without_pid_marks_the_floor(store: ArchiveStore):
    site = store.ensure_site("s", "http://127.0.0.1/", 8, 10)
    store.save_thread_page(site, page(8, 1, [post(10, 1, "x"), post(11, 2, "y")], 1), None, 2)
    placeholder = post(0, 2, "", PostStatus.DELETED)
    placeholder.author = None
    store.save_thread_page(site, page(8, 1, [post(10, 1, "x"), placeholder], 1), None, 2)
    with store.session() as s:
        p = s.scalar(select(Post).where(Post.pid == 11))
        assert p.status == "deleted"
        assert p.author == "user11"  # what we knew is kept
        assert s.scalar(select(Post).where(Post.pid.is_(None))) is None


def test_thread_progress_and_runs(store: ArchiveStore):
    site = store.ensure_site("s", "http://127.0.0.1/", 8, 10)
    store.ensure_board(site, 2, "b", None)
    row = ThreadRow(tid=9, subject="t", url="u", author="a", author_uid=1, created_raw=None,
                    replies=12, views=30, lastpost=datetime(2024, 1, 1, tzinfo=UTC),
                    lastpost_raw=None)
    store.schedule_thread(site, 2, row, restart=True)
    store.save_thread_page(site, page(9, 1, [post(i, i, str(i)) for i in range(1, 11)], 2),
                           None, 2)
    state = store.thread_states(site)[9]
    assert (state.pages_stored, state.complete, state.list_replies) == (1, False, 12)
    store.save_thread_page(site, page(9, 2, [post(11, 11, "k"), post(12, 12, "l"),
                                             post(13, 13, "m")], 2), None, 2)
    assert store.thread_states(site)[9].complete is True
    first = store.start_run(site, {"a": 1}, "ua")
    second = store.start_run(site, {}, "ua")  # the first never finished: it was killed
    store.finish_run(second, "finished", "finished", {"requests": 3})
    with store.session() as s:
        runs = {r.id: r for r in s.scalars(select(CrawlRun))}
    assert runs[first].status == "killed"
    assert runs[second].status == "finished" and runs[second].stats == {"requests": 3}
    summary = store.summary()
    assert summary[0]["posts"] == 13 and summary[0]["boards"][0]["threads"] == 1
