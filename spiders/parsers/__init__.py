"""Pure Discuz! page parsers: no Scrapy, no I/O. Text in, `spiders.parsers.model` types out.

    info = classify_page(html, url, status)      # what the page is, before parsing
    index = parse_index(html, url)
    board = parse_board(html, url, fetch_time=t, utc_offset=8)
    thread = parse_thread(html, url, fetch_time=t, utc_offset=8, ppp=10)

Each page is dispatched on the generation it shows (meta generator, then markup), so one site
whose boards use different templates still parses. A page that is not content of the expected
kind, or was cut off in transit, raises `ParseError` rather than coming back as an empty
thread.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from spiders.parsers import d4, d7, x3
from spiders.parsers.classify import classify, detect_generation
from spiders.parsers.common import ParseError, looks_truncated, parse_document
from spiders.parsers.model import (
    BoardPage,
    ForumIndex,
    Generation,
    PageInfo,
    ParsedPost,
    ThreadPage,
)

__all__ = ["ParseError", "classify_page", "detect_generation", "floor_mismatches", "parse_board",
           "parse_index", "parse_thread"]

_MODULES: dict[Generation, Any] = {Generation.X3: x3, Generation.D7: d7, Generation.D4: d4}


def classify_page(html: str, url: str = "", status: int = 200) -> PageInfo:
    """Page kind and generation of a response (see `PageKind`)."""
    return classify(html, url, status)


def _module(doc: Any, url: str) -> Any:
    generation = detect_generation(doc, url)
    if generation is Generation.UNKNOWN:
        raise ParseError(f"not a Discuz! page: {url}")
    return _MODULES[generation]


def _parse(html: str, url: str, call: Callable[[Any, Any], Any]) -> Any:
    doc = parse_document(html)
    return call(_module(doc, url), doc)


def parse_index(html: str, url: str) -> ForumIndex:
    return _parse(html, url, lambda mod, doc: mod.parse_index(doc, url))


def parse_board(html: str, url: str, *, fetch_time: datetime | None, utc_offset: float = 8.0,
                ) -> BoardPage:
    """One list page; relative dates resolve against `fetch_time` in UTC+`utc_offset`."""
    return _parse(html, url, lambda mod, doc: mod.parse_board(doc, url, fetch_time, utc_offset))


def parse_thread(html: str, url: str, *, fetch_time: datetime | None, utc_offset: float = 8.0,
                 ppp: int = 10) -> ThreadPage:
    """One thread page; floors are `(page - 1) * ppp + position` (labels are a cross-check)."""
    if looks_truncated(html):
        # A page cut off mid-post would store a shortened last post as an "edit".
        raise ParseError(f"truncated page (no </html>): {url}")
    page = _parse(html, url, lambda mod, doc: mod.parse_thread(doc, url, fetch_time,
                                                               utc_offset, ppp))
    if not page.posts:
        raise ParseError(f"no posts on thread page {url}")
    return page


def floor_mismatches(page: ThreadPage) -> list[ParsedPost]:
    """Posts whose numeric floor label (`7#`, `#7`) disagrees with the computed floor.

    Labels such as 楼主 / 沙发 are custom and say nothing; a number that disagrees usually means
    the configured posts-per-page is not the forum's.
    """
    out = []
    for post in page.posts:
        label = (post.floor_label or "").strip().strip("#").strip()
        if label.isdigit() and int(label) != post.floor:
            out.append(post)
    return out
