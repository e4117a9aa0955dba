"""What the page parsers return: plain data, no Scrapy, no I/O.

These types are the contract between the pure parsers (``spiders.parsers.*``) and the spider
that schedules requests and the item pipeline that stores results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Generation(StrEnum):
    """Discuz! template generation a page was rendered by."""

    X3 = "x3"  # Discuz! X1–X3.5 (forum.php?mod=…)
    D7 = "d7"  # Discuz! 6.x / 7.x (forumdisplay.php, viewthread.php)
    D4 = "d4"  # Discuz! 4.x / 5.x as customised by FOB (table.t_row, GBK)
    UNKNOWN = "unknown"


class PageKind(StrEnum):
    """What a response is, decided before any content parsing."""

    CONTENT = "content"  # a forum index, board list or thread page with content
    EMPTY_LIST = "empty_list"  # a board list with no threads (p.emp)
    ERROR = "error"  # div#messagetext error page (often HTTP 200), or HTTP 404
    LOGIN = "login"  # login wall (div#messagelogin, 尚未登录)
    WAF = "waf"  # btwaf challenge / 访问过于频繁 rate-limit page
    TOUCH = "touch"  # touch (mobile) view served instead of the desktop page
    UNKNOWN = "unknown"  # not recognisably Discuz


class TimeMethod(StrEnum):
    """How an absolute time was obtained (kept for provenance)."""

    TITLE = "title"  # <span title="ABSOLUTE">
    ABSOLUTE = "absolute"  # absolute text such as 2024-3-2 08:18:40
    RELATIVE = "relative"  # 3 天前 / 昨天 08:15 resolved against the fetch time
    NONE = "none"  # nothing parseable


class PostStatus(StrEnum):
    OK = "ok"
    BANNED = "banned"  # 该帖被管理员或版主屏蔽 / 作者被禁止或删除 内容自动屏蔽
    HIDDEN = "hidden"  # 此帖仅作者可见
    DELETED = "deleted"  # 无效楼层，该帖已经被删除
    LOGIN_REQUIRED = "login_required"  # content behind a login prompt


@dataclass(slots=True)
class PageInfo:
    """Result of classifying a response."""

    kind: PageKind
    generation: Generation
    message: str | None = None  # the error / login / WAF text shown to the reader
    charset: str | None = None


@dataclass(slots=True)
class BoardRef:
    fid: int
    name: str
    url: str  # absolute URL of the board's first list page


@dataclass(slots=True)
class ForumIndex:
    generation: Generation
    site_name: str | None
    boards: list[BoardRef] = field(default_factory=list)


@dataclass(slots=True)
class ThreadRow:
    """One row of a board's thread list."""

    tid: int
    subject: str
    url: str  # absolute URL of the thread's first page (noise such as sid/extra removed)
    author: str | None
    author_uid: int | None
    created_raw: str | None
    replies: int | None
    views: int | None
    lastpost_raw: str | None
    lastpost: datetime | None  # timezone-aware
    sticky: bool = False


@dataclass(slots=True)
class BoardPage:
    fid: int
    board_name: str | None
    page: int
    last_page: int
    generation: Generation
    rows: list[ThreadRow] = field(default_factory=list)


@dataclass(slots=True)
class QuoteRef:
    """A quoted post inside a reply (the quoted words are not the replier's speech)."""

    pid: int | None
    author: str | None
    time_raw: str | None
    time: datetime | None
    text: str


@dataclass(slots=True)
class ParsedPost:
    pid: int
    floor: int  # computed as (page-1)*ppp + index on page; label kept only as a cross-check
    floor_label: str | None
    author: str | None
    author_uid: int | None
    time: datetime | None  # timezone-aware
    time_raw: str
    time_method: TimeMethod
    text: str  # the post's own words as clean text (quotes, jammer, ads, signatures removed)
    html: str  # sanitised HTML of the body (no scripts, no jammer)
    quotes: list[QuoteRef] = field(default_factory=list)
    edit_note: str | None = None  # 本帖最后由 X 于 T 编辑
    status: PostStatus = PostStatus.OK


@dataclass(slots=True)
class ThreadPage:
    tid: int
    fid: int | None
    subject: str | None
    page: int
    last_page: int
    generation: Generation
    posts: list[ParsedPost] = field(default_factory=list)
