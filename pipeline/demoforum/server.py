"""The demo forum: a real HTTP server on 127.0.0.1 that serves the corpus as a Discuz! forum.

    with DemoForum(markup="d4", quirks=Quirks.demo()) as forum:
        urllib.request.urlopen(forum.url + "forum-2-1.html")
        forum.state.add_reply(tid, uid, "新的回复")     # the forum moves
        forum.requests                                  # what was served, for assertions

Pages are rendered on demand from the live ForumState (nothing is cached, so a mutation shows
in the very next response). All three URL families are answered; the markup (per server, or
per board) decides how pages look, which links they carry and their charset.
"""

from __future__ import annotations

import random
import secrets
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from pipeline.demoforum import agents
from pipeline.demoforum.quirks import Quirks
from pipeline.demoforum.state import Clock, ForumState
from pipeline.demoforum.urls import MARKUPS, Links, Route, route
from pipeline.demoforum.views import THREAD_GONE, Page, Request, View

TEMPLATES = Path(__file__).resolve().parent / "templates"
CHARSETS = {"x3": "utf-8", "d7": "utf-8", "d4": "gbk"}


def load_default_corpus() -> dict[str, Any]:
    """The shipped corpus.json; until it is generated, the same corpus built in memory."""
    from pipeline.demoforum import generate

    try:
        return generate.load_corpus()
    except FileNotFoundError:
        return generate.build_corpus()


@dataclass(frozen=True)
class ServedRequest:
    """One answered request, as the tests and benchmarks see it."""

    path: str
    query: dict[str, str]
    raw_query: str
    user_agent: str
    status: int
    kind: str  # index, list, thread, robots, waf, error, login, touch, redirect, other
    time: float  # time.monotonic() when the request arrived
    client: str

    @property
    def target(self) -> str:
        return self.path + ("?" + self.raw_query if self.raw_query else "")


@dataclass
class Response:
    status: int
    kind: str
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[ServedRequest] = []

    def add(self, item: ServedRequest) -> None:
        with self._lock:
            self._items.append(item)

    def snapshot(self) -> list[ServedRequest]:
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class RateGate:
    """BT-WAF's CC protection, reduced to its effect: a client back too soon is challenged."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}

    def too_fast(self, client: str, now: float, min_interval: float) -> bool:
        with self._lock:
            last = self._last.get(client)
            self._last[client] = now  # a hammering client stays blocked
            return last is not None and now - last < min_interval


def with_param(url: str, param: str) -> str:
    """Append a query parameter to a relative link, whichever URL family it belongs to."""
    path, _, fragment = url.partition("#")
    joined = f"{path}{'&' if '?' in path else '?'}{param}"
    return f"{joined}#{fragment}" if fragment else joined


class Renderer:
    def __init__(self) -> None:
        self.env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True,
                               undefined=StrictUndefined, keep_trailing_newline=True)
        self.env.filters["with_param"] = with_param

    def page(self, page: Page) -> str:
        return self.env.get_template(f"{page.markup}/{page.template}").render(page.context)

    def common(self, name: str, **context: Any) -> str:
        return self.env.get_template(f"common/{name}").render(context)


class DemoForum:
    def __init__(self, corpus: dict[str, Any] | None = None, markup: str = "x3",
                 quirks: Quirks | None = None, now: datetime | Clock | None = None,
                 host: str = "127.0.0.1", port: int = 0,
                 board_markup: dict[int, str] | None = None,
                 d7_charset: str = "utf-8") -> None:
        for m in (markup, *(board_markup or {}).values()):
            if m not in MARKUPS:
                raise ValueError(f"markup must be one of {MARKUPS}, got {m!r}")
        self.markup = markup
        self.board_markup = dict(board_markup or {})
        self.quirks = quirks if quirks is not None else Quirks.demo()
        self.charsets = CHARSETS | {"d7": d7_charset}
        self.state = ForumState(corpus if corpus is not None else load_default_corpus(), now,
                                shows_seconds=lambda fid: self.markup_of(fid) == "x3")
        self.host = host
        self.renderer = Renderer()
        self.log = RequestLog()
        self.gate = RateGate()
        self.errors: list[str] = []  # tracebacks of requests that crashed (HTTP 500)
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # --- lifecycle --------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def start(self) -> DemoForum:
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever,
                                            kwargs={"poll_interval": 0.05},
                                            name=f"demoforum-{self.port}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> DemoForum:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def requests(self) -> list[ServedRequest]:
        return self.log.snapshot()

    def reset_log(self) -> None:
        self.log.clear()

    def markup_of(self, fid: int) -> str:
        return self.board_markup.get(fid, self.markup)

    def charset_of(self, markup: str) -> str:
        return self.charsets[markup]

    # --- answering --------------------------------------------------------------------------

    def answer(self, path: str, raw_query: str, headers: Any, client: str) -> Response:
        query = {k: v[0] for k, v in parse_qs(raw_query, keep_blank_values=True).items()}
        if self.quirks.waf_min_interval and self.gate.too_fast(
                client, time.monotonic(), self.quirks.waf_min_interval):
            return self.waf(path, raw_query)
        target = route(path, query)
        if target is None:
            return Response(404, "other", b"404 Not Found", "text/plain; charset=utf-8")
        if target.kind == "robots":
            if not self.quirks.robots_txt:
                return Response(404, "robots", b"404 Not Found", "text/plain; charset=utf-8")
            return Response(200, "robots", self.renderer.common("robots.txt").encode(),
                            "text/plain")
        view = self.view(query, headers)
        if target.kind == "redirect":
            return self.redirect(view, target)
        if target.kind == "list":
            page = view.board(target.fid, target.page)
        elif target.kind == "thread":
            page = view.thread(target.tid, target.page)
        else:
            page = view.index()
        return self.render(page, query)

    def view(self, query: dict[str, str], headers: Any) -> View:
        ua = headers.get("User-Agent", "") or ""
        cookies = {k: m.value for k, m in SimpleCookie(headers.get("Cookie", "") or "").items()}
        touch = (agents.forces_touch(query) or agents.is_mobile(ua)) \
            and not agents.wants_desktop(query, cookies)
        base = f"http://{headers.get('Host') or f'{self.host}:{self.port}'}/"
        request = Request(self.markup, base, robot=agents.is_robot(ua), touch=touch)
        return View(self.state, self.quirks, request, self.markup_of, self.charset_of,
                    random.Random())

    def render(self, page: Page, query: dict[str, str]) -> Response:
        charset = self.charset_of(page.markup)
        # Characters outside GBK (emoji) become numeric entities, as on a real GBK forum.
        body = self.renderer.page(page).encode(charset, errors="xmlcharrefreplace")
        headers: tuple[tuple[str, str], ...] = ()
        if query.get("mobile") == "no":
            headers = (("Set-Cookie", "demo_2132_mobile=no; path=/"),)
        return Response(page.status, page.kind, body, f"text/html; charset={charset}", headers)

    def redirect(self, view: View, target: Route) -> Response:
        """redirect.php / mod=redirect: findpost and lastpost jump to the thread page."""
        thread = self.state.thread(target.tid) if target.tid is not None else None
        if thread is None:
            return self.render(view.message(self.markup, THREAD_GONE), {})
        ppp = self.state.site.get("ppp", 10)
        posts = thread["posts"]
        floor = next((p["floor"] for p in posts if p["pid"] == target.pid), len(posts))
        if target.goto != "findpost":
            floor = len(posts)
        links = Links(self.markup_of(thread["fid"]), self.markup_of)
        url = links.thread(thread["fid"], thread["tid"], -(-floor // ppp))
        anchor = f"#pid{target.pid}" if target.goto == "findpost" else "#lastpost"
        return Response(302, "redirect", b"", headers=(("Location", view.req.base_url + url
                                                         + anchor),))

    def waf(self, path: str, raw_query: str) -> Response:
        token = f"{secrets.randbelow(90_000_000) + 10_000_000}"
        target = f"{path}{'?' + raw_query + '&' if raw_query else '?'}btwaf={token}"
        return Response(200, "waf", self.renderer.common("waf.html", target=target).encode())

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        forum = self

        class Handler(BaseHTTPRequestHandler):
            def version_string(self) -> str:
                return "nginx"  # what BT-Panel sites answer with

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                self._serve(send_body=True)

            def do_HEAD(self) -> None:  # noqa: N802
                self._serve(send_body=False)

            def _serve(self, send_body: bool) -> None:
                arrived = time.monotonic()
                parts = urlsplit(self.path)
                try:
                    response = forum.answer(parts.path, parts.query, self.headers,
                                            self.client_address[0])
                except Exception:  # a broken page must show up in tests, not hang a crawl
                    forum.errors.append(traceback.format_exc())
                    response = Response(500, "crash", b"500 Internal Server Error",
                                        "text/plain; charset=utf-8")
                forum.log.add(ServedRequest(
                    parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()},
                    parts.query, self.headers.get("User-Agent", ""), response.status,
                    response.kind, arrived, self.client_address[0]))
                self.send_response(response.status)
                self.send_header("Content-Type", response.content_type)
                self.send_header("Content-Length", str(len(response.body)))
                for name, value in response.headers:
                    self.send_header(name, value)
                self.end_headers()
                if send_body:
                    self.wfile.write(response.body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass  # the RequestLog is the access log

        return Handler


def serve_forever(port: int = 8800, markup: str = "x3", quirks: Quirks | None = None,
                  announce: Callable[[str], None] = print) -> None:
    """Serve until interrupted (Ctrl-C)."""
    forum = DemoForum(markup=markup, quirks=quirks, port=port)
    forum.start()
    announce(f"demo forum ({markup}, quirks: {forum.quirks.describe()}) serving at {forum.url}"
             " — Ctrl-C to stop")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        forum.stop()


def main(port: int, markup: str, quirks: str) -> None:
    """Entry point for `lurker demo-forum --port N --markup x3|d7|d4 --quirks demo|none|all`."""
    serve_forever(port, markup, Quirks.named(quirks))
