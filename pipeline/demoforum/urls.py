"""The three Discuz! URL families: building links for a page, and routing a request back.

X3: forum.php?mod=forumdisplay|viewthread|redirect.  D6/D7: forumdisplay.php, viewthread.php,
redirect.php.  D4/D5 with URL rewrite (FOB): forum-{fid}-{page}.html, thread-{tid}-{page}-1.html.
Every server answers all three families; the markup decides which family its links use.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote

MARKUPS = ("x3", "d7", "d4")
REWRITE_FORUM = re.compile(r"^/forum-(\w+)-(\d+)\.html$")
REWRITE_THREAD = re.compile(r"^/thread-(\d+)-(\d+)-(\d+)\.html$")


@dataclass
class Links:
    """Link builder for one response (a D7 sid is per session, so per response here)."""

    markup: str
    markup_of: Callable[[int], str] = field(default=lambda fid: "x3")
    noise: bool = False
    robot: bool = False
    charset: str = "utf-8"
    sid: str = field(default_factory=lambda: secrets.token_hex(3))

    def _sid(self, markup: str) -> str:
        return f"&sid={self.sid}" if self.noise and markup == "d7" else ""

    def index(self) -> str:
        return "forum.php" if self.markup == "x3" else "index.php"

    def board(self, fid: int, page: int | None = None) -> str:
        m = self.markup_of(fid)
        if m == "d4":
            return f"forum-{fid}-{page or 1}.html"
        paged = f"&page={page}" if page else ""
        if m == "d7":
            return f"forumdisplay.php?fid={fid}{paged}{self._sid(m)}"
        return f"forum.php?mod=forumdisplay&fid={fid}{paged}"

    def thread(self, fid: int, tid: int, page: int | None = None, listpage: int = 1) -> str:
        m = self.markup_of(fid)
        if m == "d4":
            return f"thread-{tid}-{page or 1}-{listpage}.html"
        paged = f"&page={page}" if page else ""
        if m == "d7":  # D7 always carries extra; robots included
            return f"viewthread.php?tid={tid}&extra=page%3D{listpage}{paged}{self._sid(m)}"
        # X3 drops extra= for robots (IS_ROBOT); url_noise decides whether humans get it.
        extra = f"&extra=page%3D{listpage}" if self.noise and not self.robot else ""
        return f"forum.php?mod=viewthread&tid={tid}{extra}{paged}"

    def space(self, uid: int) -> str:
        if self.markup == "x3":
            return f"home.php?mod=space&uid={uid}"
        return f"space.php?uid={uid}{self._sid(self.markup)}"

    def space_by_name(self, username: str) -> str:
        # Usernames are percent-encoded in the page's own charset (GBK bytes on a GBK site).
        enc = quote(username.encode(self.charset, errors="xmlcharrefreplace"))
        if self.markup == "x3":
            return f"home.php?mod=space&username={enc}"
        return f"space.php?username={enc}"

    def findpost(self, pid: int, tid: int) -> str:
        if self.markup == "x3":
            return f"forum.php?mod=redirect&goto=findpost&pid={pid}&ptid={tid}"
        return f"redirect.php?goto=findpost&pid={pid}&ptid={tid}"

    def lastpost(self, tid: int) -> str:
        if self.markup == "x3":
            return f"forum.php?mod=redirect&tid={tid}&goto=lastpost#lastpost"
        return f"redirect.php?tid={tid}&goto=lastpost#lastpost"


@dataclass(frozen=True)
class Route:
    kind: str  # index, list, thread, redirect, robots
    fid: int | None = None
    tid: int | None = None
    pid: int | None = None
    page: int = 1
    goto: str | None = None
    board_ref: str | None = None  # the raw fid when it is not a number (a forum alias)


def page_number(value: str | None) -> int:
    try:
        return max(1, int(value or 1))
    except ValueError:
        return 1


def as_int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def route(path: str, query: dict[str, str]) -> Route | None:
    """What a request asks for, whichever URL family it uses; None for anything else."""
    if path == "/robots.txt":
        return Route("robots")
    if m := REWRITE_FORUM.match(path):
        return Route("list", fid=as_int(m[1]), page=page_number(m[2]), board_ref=m[1])
    if m := REWRITE_THREAD.match(path):
        return Route("thread", tid=int(m[1]), page=page_number(m[2]))
    script = path.rsplit("/", 1)[-1] or "index.php"
    mod = query.get("mod", "")
    page = page_number(query.get("page"))
    if script in ("forumdisplay.php",) or (script == "forum.php" and mod == "forumdisplay"):
        return Route("list", fid=as_int(query.get("fid")), page=page,
                     board_ref=query.get("fid"))
    if script in ("viewthread.php",) or (script == "forum.php" and mod == "viewthread"):
        return Route("thread", tid=as_int(query.get("tid")), page=page)
    if script == "redirect.php" or (script == "forum.php" and mod == "redirect"):
        return Route("redirect", tid=as_int(query.get("tid") or query.get("ptid")),
                     pid=as_int(query.get("pid")), goto=query.get("goto"))
    if script in ("index.php", "forum.php") and mod in ("", "index"):
        return Route("index")
    return None
