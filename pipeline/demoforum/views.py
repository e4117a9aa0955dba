"""What each page shows: template name, HTTP status, page kind and the template's context.

A `View` answers one request: it reads a snapshot from the ForumState and decides, as Discuz!
would, between the content, an error page (#messagetext), a login wall (#messagelogin) or the
touch view. It never builds HTML; the templates do, with autoescape on.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipeline.demoforum import body, dates
from pipeline.demoforum.quirks import Quirks
from pipeline.demoforum.state import ForumState
from pipeline.demoforum.urls import Links

THREAD_GONE = "抱歉，指定的主题不存在或已被删除或正在被审核"
BOARD_GONE = "抱歉，指定的版块不存在"
LOGIN_WALL = "抱歉，您尚未登录，没有权限访问该版块"
PAGE_LINKS = 10  # multi(): how many page numbers a pager shows


@dataclass
class Page:
    markup: str
    template: str
    kind: str  # index, list, thread, error, login, touch
    context: dict[str, Any]
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Pager:
    """helper_page::multi(): the page window around `cur`, first/last jumps, prev/next."""

    cur: int
    last: int
    href: Callable[[int], str]
    total: int = 0  # items, for D5's p_total

    @property
    def window(self) -> list[int]:
        offset = PAGE_LINKS // 2
        if self.last < PAGE_LINKS:
            return list(range(1, self.last + 1))
        start = self.cur - offset
        end = start + PAGE_LINKS - 1
        if start < 1:
            start, end = 1, PAGE_LINKS
        elif end > self.last:
            start, end = self.last - PAGE_LINKS + 1, self.last
        return list(range(start, end + 1))

    @property
    def show_first(self) -> bool:
        return self.cur - PAGE_LINKS // 2 > 1 and self.last > PAGE_LINKS

    @property
    def show_last(self) -> bool:
        return self.window[-1] < self.last


@dataclass
class Request:
    """What about the request changes the answer."""

    markup: str  # the markup of the page being answered
    base_url: str  # scheme://host/ as the client addressed us
    robot: bool = False
    touch: bool = False


class View:
    def __init__(self, state: ForumState, quirks: Quirks, request: Request,
                 markup_of: Callable[[int], str], charset_of: Callable[[str], str],
                 rng: random.Random | None = None) -> None:
        self.state = state
        self.quirks = quirks
        self.req = request
        self.markup_of = markup_of
        self.charset_of = charset_of
        self.rng = rng or random.Random()
        self.now = state.now()

    # --- shared -----------------------------------------------------------------------------

    def links(self, markup: str) -> Links:
        return Links(markup, self.markup_of, noise=self.quirks.url_noise, robot=self.req.robot,
                     charset=self.charset_of(markup))

    def page(self, markup: str, template: str, kind: str, status: int = 200,
             **context: Any) -> Page:
        site = self.state.site
        base = {"site": site["name"], "charset": self.charset_of(markup),
                "base_url": self.req.base_url, "links": self.links(markup),
                "robot": self.req.robot, "now": self.now}
        if self.req.touch and markup == "x3" and kind in ("index", "list", "thread"):
            return Page(markup, f"touch_{template}", "touch", base | context, status)
        return Page(markup, template, kind, base | context, status)

    def shown(self, markup: str, dt: Any, fmt: str) -> dates.Shown:
        if markup == "x3":  # only X3 turns recent dates into relative ones (dateconvert)
            return dates.relative(dt, self.now, fmt, mobile=self.req.touch)
        return dates.absolute(dt, fmt if fmt != dates.SECOND else dates.MINUTE)

    def message(self, markup: str, text: str, status: int = 200,
                login: bool = False) -> Page:
        return self.page(markup, "message.html", "login" if login else "error", status,
                         message=text, login=login)

    # --- index ------------------------------------------------------------------------------

    def index(self) -> Page:
        stats = self.state.board_stats()
        boards = []
        for b in self.state.boards:
            s = stats.get(b["fid"], {})
            last = s.get("last")
            boards.append(b | {
                "threads": s.get("threads", 0), "posts": s.get("posts", 0),
                "today": s.get("today", 0), "last": last and last | {
                    "shown": self.shown(self.req.markup, last["lastpost"], dates.MINUTE)}})
        return self.page(self.req.markup, "index.html", "index", boards=boards)

    # --- board list -------------------------------------------------------------------------

    def board(self, fid: int | None, page: int) -> Page:
        board = self.state.board(fid) if fid is not None else None
        if board is None:
            return self.message(self.req.markup, BOARD_GONE)
        markup = self.markup_of(fid)
        if board.get("login_required") and self.quirks.login_board:
            return self.message(markup, LOGIN_WALL, login=True)
        tpp = self.state.site.get("tpp", 20)
        threads = self.state.board_threads(fid)
        last = max(1, math.ceil(len(threads) / tpp))
        if page > self.quirks.list_page_cap:
            page = 1  # forum_forumdisplay.php: beyond threadmaxpages, back to page 1
        page = min(page, last)
        links = self.links(markup)
        ppp = self.state.site.get("ppp", 10)
        rows = [self.row(markup, t, ppp, page, links) for t in
                threads[(page - 1) * tpp: page * tpp]]
        pager = Pager(page, last, lambda n: links.board(fid, n), total=len(threads))
        return self.page(markup, "list.html", "list", board=board, rows=rows, pager=pager,
                         page=page, stats={"threads": len(threads)})

    def row(self, markup: str, t: dict[str, Any], ppp: int, listpage: int,
            links: Links) -> dict[str, Any]:
        pages = math.ceil((t["replies"] + 1) / ppp)
        return t | {
            "url": links.thread(t["fid"], t["tid"], None, listpage),
            "pages": pages,
            "page_links": [(n, links.thread(t["fid"], t["tid"], n, listpage))
                           for n in list(range(2, min(pages, 6) + 1))
                           + ([pages] if pages > 6 else [])],
            "created": self.shown(markup, t["dateline"], dates.DATE),
            "last": self.shown(markup, t["lastpost"], dates.MINUTE),
            "lastposter_url": links.space_by_name(t["lastposter"]),
        }

    # --- thread -----------------------------------------------------------------------------

    def thread(self, tid: int | None, page: int) -> Page:
        thread = self.state.thread(tid) if tid is not None else None
        if thread is None:
            # forum_viewthread.php sends a 404 before showmessage(); older versions answer 200.
            status = 404 if self.req.markup == "x3" else 200
            return self.message(self.req.markup, THREAD_GONE, status)
        fid = thread["fid"]
        markup = self.markup_of(fid)
        board = self.state.board(fid) or {"fid": fid, "name": ""}
        if board.get("login_required") and self.quirks.login_board:
            return self.message(markup, LOGIN_WALL, login=True)
        if thread.get("review") and self.quirks.error_pages:
            return self.message(markup, THREAD_GONE)
        ppp = self.state.site.get("ppp", 10)
        last = max(1, math.ceil(len(thread["posts"]) / ppp))
        page = min(page, last)  # forum_viewthread.php: past the end means the last page
        links = self.links(markup)
        posts = [self.post(markup, thread, p) for p in
                 thread["posts"][(page - 1) * ppp: page * ppp]]
        pager = Pager(page, last, lambda n: links.thread(fid, thread["tid"], n),
                      total=len(thread["posts"]))
        return self.page(markup, "thread.html", "thread", board=board, thread=thread,
                         posts=posts, pager=pager, page=page)

    def post(self, markup: str, thread: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
        status = self.state.moderation(p, self.quirks.moderation)
        # D4/D7 hide the site name in the noise too (seoarray); X3 uses random ASCII only.
        seo = (self.state.site["name"],) if markup != "x3" else ()
        jammer = body.Jammer(self.rng, seo) if self.quirks.jammer else None
        quote = p.get("quote")
        tokens = body.message(
            p,
            quote_href=quote and self.req.base_url + self.links(markup).findpost(
                quote["pid"], thread["tid"]),
            quote_time=quote and dates.php_date(quote["time"], dates.MINUTE),
            edit_time=p.get("edited") and dates.php_date(p["edited"]["time"], dates.MINUTE),
            jammer=jammer)
        return p | {"status": status, "tokens": tokens, "first": p["floor"] == 1,
                    "shown": self.shown(markup, p["time"], dates.SECOND)}
