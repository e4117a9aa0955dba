"""The Discuz! spider: forum index → board lists → thread pages, incrementally.

It parses nothing itself (the pure parsers in `spiders.parsers` do) and stores nothing itself
(the item pipeline does). It decides what to fetch:

- board lists are walked newest-first until the board's high-water mark from the last complete
  walk; sticky rows never stop a walk;
- a thread is fetched only if it is new, changed since it was complete (reply count or last-post
  time differ), or left incomplete by an interrupted run; it resumes at the page holding its
  last stored post;
- `--full` refetches every page, to catch edits and deletions that do not change the list.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.http import Response, TextResponse

from spiders.context import BoardWalk, CrawlContext
from spiders.items import ThreadPageItem
from spiders.middlewares import FETCH_META
from spiders.parsers import (
    ParseError,
    floor_mismatches,
    parse_board,
    parse_index,
    parse_thread,
)
from spiders.parsers.model import Generation, PageKind, ThreadRow
from spiders.parsers.urls import canonical_board_url, canonical_thread_url, parse_ids_from_url

logger = logging.getLogger(__name__)


class DiscuzSpider(scrapy.Spider):
    name = "discuz"

    def __init__(self, ctx: CrawlContext, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ctx = ctx
        self.scheduled_threads = 0

    # -- helpers -----------------------------------------------------------------------------

    def _fetch(self, response: Response) -> dict:
        return response.meta.get(FETCH_META, {})

    def _generation(self) -> Generation:
        return Generation(self.ctx.generation or Generation.X3.value)

    def _non_content(self, response: Response, what: str) -> str | None:
        """The page kind if this response is not content (it is recorded, never parsed)."""
        kind = self._fetch(response).get("kind", PageKind.UNKNOWN.value)
        if kind in (PageKind.CONTENT.value, PageKind.EMPTY_LIST.value):
            return None
        message = self._fetch(response).get("message")
        logger.warning("%s %s is a %s page (HTTP %s): %s", what, response.url, kind,
                       response.status, message)
        self.ctx.count(f"skipped_{kind}")
        return kind

    def on_error(self, failure: Any) -> None:
        """Network errors, timeouts, oversized pages: logged and counted, nothing stored changes."""
        request = failure.request if hasattr(failure, "request") else None
        logger.error("request failed: %s (%s)", getattr(request, "url", "?"),
                     failure.getErrorMessage())
        self.ctx.count("requests_failed")
        fid = (request.cb_kwargs or {}).get("fid") if request is not None else None
        if fid is not None and fid in self.ctx.walks:
            self.ctx.walks[fid].ok = False

    def request(self, url: str, callback: Any, **cb_kwargs: Any) -> scrapy.Request:
        return scrapy.Request(url, callback=callback, errback=self.on_error, cb_kwargs=cb_kwargs)

    # -- entry -------------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[scrapy.Request]:
        url = self.ctx.site.url
        ids = parse_ids_from_url(url)
        if ids.get("tid"):
            yield self.request(url, self.parse_thread_page, tid=ids["tid"],
                               page=ids.get("page") or 1, fid=None)
        elif ids.get("fid"):
            fid = ids["fid"]
            self.ctx.store.ensure_board(self.ctx.site_id, fid, None, url)
            self.ctx.walks[fid] = BoardWalk()
            yield self.request(url, self.parse_board_page, fid=fid, page=ids.get("page") or 1)
        else:
            yield self.request(url, self.parse_forum_index)

    def parse_forum_index(self, response: Response) -> Iterator[scrapy.Request]:
        if self._non_content(response, "forum index") or not isinstance(response, TextResponse):
            self.ctx.count("index_failed")
            return
        try:
            index = parse_index(response.text, response.url)
        except ParseError as exc:
            logger.error("forum index %s not parsed: %s", response.url, exc)
            self.ctx.count("index_failed")
            return
        self.ctx.generation = index.generation.value
        self.ctx.store.set_site_generation(self.ctx.site_id, index.generation.value)
        wanted = set(self.ctx.options.boards or self.ctx.site.boards)
        found = {b.fid for b in index.boards}
        boards = [b for b in index.boards if not wanted or b.fid in wanted]
        for board in boards:
            self.ctx.store.ensure_board(self.ctx.site_id, board.fid, board.name, board.url)
        # Boards asked for but not on the index (hidden from guests, or index-less forums).
        extra = [
            (fid, canonical_board_url(response.url, index.generation, fid, 1))
            for fid in sorted(wanted - found)
        ]
        for fid, url in extra:
            self.ctx.store.ensure_board(self.ctx.site_id, fid, None, url)
        for fid, url in [(b.fid, b.url) for b in boards] + extra:
            self.ctx.walks[fid] = BoardWalk()
            yield self.request(url, self.parse_board_page, fid=fid, page=1)

    # -- board lists -------------------------------------------------------------------------

    def parse_board_page(self, response: Response, fid: int, page: int) -> Iterator[scrapy.Request]:
        walk = self.ctx.walks.setdefault(fid, BoardWalk())
        kind = self._non_content(response, f"board {fid} list page {page}")
        if kind is not None:
            status = {"login": "login", "error": "error"}.get(kind)
            if status:
                self.ctx.store.set_board_status(self.ctx.site_id, fid, status)
            walk.ok = False
            return
        if self._fetch(response).get("kind") == PageKind.EMPTY_LIST.value:
            walk.list_done = True
            return
        assert isinstance(response, TextResponse)
        fetch = self._fetch(response)
        try:
            board = parse_board(
                response.text, response.url, fetch_time=fetch["fetched_at"],
                utc_offset=self.ctx.site.utc_offset,
            )
        except ParseError as exc:
            # Recorded in the WARC already; an unreadable list must not move the high-water mark.
            logger.error("board %s list page %s not parsed: %s", fid, page, exc)
            self.ctx.count("parse_failed")
            walk.ok = False
            return
        if not self.ctx.generation:
            self.ctx.generation = board.generation.value
            self.ctx.store.set_site_generation(self.ctx.site_id, board.generation.value)
        if board.page != page:
            # Past the list cap (threadmaxpages) Discuz silently serves page 1 again.
            logger.warning("board %s: asked for list page %s, got %s: list cap reached",
                           fid, page, board.page)
            self.ctx.count("list_cap_reached")
            walk.list_done = True
            return
        self.ctx.count("list_pages")
        high_water = None if self.ctx.options.full else self.ctx.high_waters.get(fid)
        reached_old = False
        for row in board.rows:
            if not row.sticky and row.lastpost is not None:
                walk.newest = max(filter(None, [walk.newest, row.lastpost]))
                if high_water is not None and row.lastpost <= high_water:
                    reached_old = True
                    continue
                if self.ctx.options.since and row.lastpost < self.ctx.options.since:
                    reached_old = True
                    continue
            request = self._thread_request(fid, row, board.generation)
            if request is not None:
                yield request
        if reached_old or page >= board.last_page:
            walk.list_done = True
            return
        next_url = canonical_board_url(response.url, board.generation, fid, page + 1)
        yield self.request(next_url, self.parse_board_page, fid=fid, page=page + 1)

    def _thread_request(
        self, fid: int, row: ThreadRow, generation: Generation
    ) -> scrapy.Request | None:
        state = self.ctx.thread_states.get(row.tid)
        if self.ctx.options.full or state is None:
            start = 1
        elif state.complete and (state.list_replies, state.list_lastpost) == (
            row.replies, row.lastpost
        ):
            self.ctx.count("threads_unchanged")
            return None
        elif state.complete:
            # New replies land on the page that held the last stored post, or later.
            start = max(1, state.pages_stored)
        else:
            start = state.pages_stored + 1 if state.pages_stored else 1
        if self.ctx.options.max_threads is not None and (
            self.scheduled_threads >= self.ctx.options.max_threads
        ):
            self.ctx.walks[fid].ok = False
            return None
        self.scheduled_threads += 1
        self.ctx.walks[fid].threads.add(row.tid)
        self.ctx.store.schedule_thread(self.ctx.site_id, fid, row, restart=True)
        self.ctx.count("threads_scheduled")
        if row.replies is not None and state is None:
            self.ctx.count("expected_pages", math.ceil((row.replies + 1) / self.ctx.ppp))
        url = canonical_thread_url(self.ctx.site.url, generation, row.tid, start)
        return self.request(url, self.parse_thread_page, tid=row.tid, page=start, fid=fid)

    # -- thread pages ------------------------------------------------------------------------

    def parse_thread_page(
        self, response: Response, tid: int, page: int, fid: int | None
    ) -> Iterator[scrapy.Request | ThreadPageItem]:
        kind = self._non_content(response, f"thread {tid} page {page}")
        if kind is not None:
            if kind in (PageKind.ERROR.value, PageKind.LOGIN.value):
                # Gone, under review or login-only: recorded; nothing stored is touched.
                status = "login" if kind == PageKind.LOGIN.value else "error"
                self.ctx.store.mark_thread(self.ctx.site_id, tid, status,
                                           self._fetch(response).get("message"))
                self.ctx.threads_done.add(tid)
            return
        assert isinstance(response, TextResponse)
        fetch = self._fetch(response)
        try:
            parsed = parse_thread(
                response.text, response.url, fetch_time=fetch["fetched_at"],
                utc_offset=self.ctx.site.utc_offset, ppp=self.ctx.ppp,
            )
        except ParseError as exc:
            # Truncated or unrecognisable: store nothing, so the thread stays incomplete and the
            # next run fetches this page again.
            logger.error("thread %s page %s not parsed: %s", tid, page, exc)
            self.ctx.count("parse_failed")
            return
        if not self.ctx.generation:
            self.ctx.generation = parsed.generation.value
        if parsed.page != page:
            logger.info("thread %s: asked for page %s, got %s", tid, page, parsed.page)
        if mismatched := floor_mismatches(parsed):
            # The label is only a cross-check, but a disagreement means posts_per_page is wrong.
            logger.warning("thread %s page %s: floor labels %s disagree with computed floors %s"
                           " (is posts_per_page = %s right?)", tid, parsed.page,
                           [p.floor_label for p in mismatched], [p.floor for p in mismatched],
                           self.ctx.ppp)
            self.ctx.count("floor_label_mismatch", len(mismatched))
        yield ThreadPageItem(page=parsed, fetch_id=fetch.get("fetch_id"), board_fid=fid)
        if parsed.page < parsed.last_page:
            url = canonical_thread_url(self.ctx.site.url, parsed.generation, tid, parsed.page + 1)
            yield self.request(url, self.parse_thread_page, tid=tid, page=parsed.page + 1, fid=fid)

    # -- end of run --------------------------------------------------------------------------

    def closed(self, reason: str) -> None:
        """Move a board's high-water mark only if its walk and all its threads completed."""
        # A --since walk deliberately skipped older threads: it must not advance the mark.
        if reason != "finished" or self.ctx.options.since is not None:
            return
        for fid, walk in self.ctx.walks.items():
            incomplete = walk.threads - self.ctx.threads_done
            if walk.ok and walk.list_done and not incomplete:
                newest = walk.newest
                old = self.ctx.high_waters.get(fid)
                if old is not None and (newest is None or old > newest):
                    newest = old
                self.ctx.store.set_board_high_water(self.ctx.site_id, fid, newest)
            else:
                self.ctx.count("boards_incomplete")
