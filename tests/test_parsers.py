"""The pure page parsers on pages served by a real demo forum over loopback (and on saved bytes).

A small hand-made corpus with a frozen clock makes every relative date form, every moderation
state, quotes, edits, GBK and empty/login/error boards appear in a few pages; the bundled corpus
checks each generation against `forum.state.truth()` at scale.
"""

from __future__ import annotations

import dataclasses
import http.client
import math
import re
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import urlsplit

import pytest
from scrapy.http import HtmlResponse

from pipeline.demoforum.quirks import Quirks
from spiders.parsers import (
    ParseError,
    classify_page,
    dates,
    floor_mismatches,
    parse_board,
    parse_index,
    parse_thread,
)
from spiders.parsers import body as bodies
from spiders.parsers.model import Generation, PageKind, PostStatus, TimeMethod
from spiders.parsers.urls import (
    canonical_board_url,
    canonical_thread_url,
    canonical_url,
    parse_ids_from_url,
    strip_noise,
    uid_from_href,
)

CST = timezone(timedelta(hours=8))
ANCHOR = "2026-11-20T12:00:00+08:00"
NOW = datetime.fromisoformat(ANCHOR)
FETCHED = NOW.astimezone(UTC)  # what the middleware records: the fetch time in UTC
UA = "lurker/0.1 (+academic forum archive; contact: test@example.org)"
ANDROID = "Mozilla/5.0 (Linux; Android 14) Mobile Safari/537.36"
EMOJI = "😂"
MARKUPS = ("x3", "d7", "d4")
GEN = {"x3": Generation.X3, "d7": Generation.D7, "d4": Generation.D4}
STATUS = {None: PostStatus.OK, "banned": PostStatus.BANNED, "author_banned": PostStatus.BANNED,
          "hidden": PostStatus.HIDDEN, "deleted": PostStatus.DELETED}


# --- a corpus where every case appears --------------------------------------------------------

def _post(pid: int, floor: int, uid: int, when: str, text: str, **extra: object) -> dict:
    names = {1: "admin", 1001: "东莞老王", 1002: "义乌小陈", 1003: "alice_export"}
    return {"pid": pid, "floor": floor, "author_uid": uid, "author": names[uid], "time": when,
            "text": text, "lang": "zh", "quote": None, "edited": None, "moderation": None,
            "pii": [], **extra}


def small_corpus() -> dict:
    d = "2026-11-20T"
    posts = [
        _post(5001, 1, 1001, "2024-03-02T08:18:40+08:00",
              f"最近订单少了很多{EMOJI}\n价格战打得太凶了\n\n大家怎么看？"),
        _post(5002, 2, 1002, "2024-03-03T09:00:00+08:00", "广告内容", moderation="banned"),
        _post(5003, 3, 1003, "2026-11-10T10:00:00+08:00", "Same here, margins are thin.",
              quote={"pid": 5001, "author": "东莞老王", "time": "2024-03-02T08:18:00+08:00",
                     "text": "最近订单少了很多 价格战打得太凶了"},
              edited={"by": "alice_export", "time": "2026-11-10T10:05:00+08:00"}),
        _post(5004, 4, 1002, "2026-11-17T10:00:00+08:00", "三天前的回复"),       # 3 天前
        _post(5005, 5, 1001, "2026-11-18T09:30:00+08:00", "前天的回复"),         # 前天 09:30
        _post(5006, 6, 1003, "2026-11-19T08:15:00+08:00", "yesterday\nline two"),  # 昨天 08:15
        _post(5007, 7, 1002, d + "09:00:00+08:00", "三小时前"),                  # 3 小时前
        _post(5008, 8, 1001, d + "11:29:00+08:00", "半小时前的回复"),            # 半小时前
        _post(5009, 9, 1003, d + "11:55:00+08:00", "five minutes"),             # 5 分钟前
        _post(5010, 10, 1001, d + "11:59:30+08:00", "已删除", moderation="deleted"),
        _post(5011, 11, 1002, d + "11:59:40+08:00", "二十秒前"),                 # 20 秒前
        _post(5012, 12, 1001, d + "12:00:00+08:00", "刚刚发的"),                 # 刚刚
    ]
    threads = [
        {"tid": 100, "fid": 2, "subject": "价格战还要打多久", "theme": "price_war",
         "sticky": False, "views": 321, "review": False, "posts": posts},
        {"tid": 101, "fid": 2, "subject": "【置顶】版规", "theme": "chitchat", "sticky": True,
         "views": 999, "review": False,
         "posts": [_post(4001, 1, 1, "2019-01-07T09:12:31+08:00", "请遵守版规")]},
        {"tid": 102, "fid": 2, "subject": "审核中的帖子", "theme": "ads", "sticky": False,
         "views": 5, "review": True,
         "posts": [_post(4002, 1, 1002, "2024-01-01T10:00:00+08:00", "待审核")]},
        {"tid": 103, "fid": 2, "subject": "隐藏回复的帖子", "theme": "quality", "sticky": False,
         "views": 7, "review": False,
         "posts": [_post(4003, 1, 1001, "2024-01-02T10:00:00+08:00", "主楼"),
                   _post(4004, 2, 1002, "2024-01-02T11:00:00+08:00", "隐藏",
                         moderation="hidden"),
                   _post(4005, 3, 1003, "2024-01-02T12:00:00+08:00", "屏蔽",
                         moderation="author_banned")]},
        {"tid": 104, "fid": 2, "subject": "昨天的新帖", "theme": "costs", "sticky": False,
         "views": 3, "review": False,
         "posts": [_post(4006, 1, 1003, "2026-11-19T08:15:00+08:00", "yesterday's thread")]},
    ]
    for i in range(5):
        threads.append({"tid": 110 + i, "fid": 2, "subject": f"旧帖子 {i}", "theme": "chitchat",
                        "sticky": False, "views": i, "review": False,
                        "posts": [_post(3000 + i, 1, 1002, f"2023-05-{i + 1:02d}T10:00:00+08:00",
                                        f"旧内容 {i}")]})
    threads.append({"tid": 200, "fid": 5, "subject": "会员区内参", "theme": "ipr", "sticky": False,
                    "views": 3, "review": False,
                    "posts": [_post(6001, 1, 1001, "2025-06-01T10:00:00+08:00", "仅会员可见")]})
    return {
        "format": "lurker-demo-corpus/1", "seed": 1, "anchor": ANCHOR,
        "site": {"name": "外贸人论坛 (demo)", "timeoffset": 8, "ppp": 3, "tpp": 2},
        "boards": [
            {"fid": 2, "name": "外贸综合", "description": "综合讨论", "login_required": False},
            {"fid": 5, "name": "VIP会员区", "description": "仅限会员", "login_required": True},
            {"fid": 7, "name": "空版块", "description": "还没有帖子", "login_required": False},
        ],
        "users": [{"uid": u, "username": n} for u, n in
                  {1: "admin", 1001: "东莞老王", 1002: "义乌小陈", 1003: "alice_export"}.items()],
        "threads": threads,
    }


PPP = 3
ALL_QUIRKS = Quirks(jammer=True, moderation=True, error_pages=True, login_board=True,
                    url_noise=True)


@pytest.fixture
def small(forum_factory):
    def make(markup: str = "x3", quirks: Quirks | None = None):
        return forum_factory(markup=markup, quirks=quirks or ALL_QUIRKS, corpus=small_corpus(),
                             now=NOW)
    return make


# --- fetching over loopback -------------------------------------------------------------------

@dataclasses.dataclass
class Fetched:
    url: str
    status: int
    content_type: str
    body: bytes

    @property
    def text(self) -> str:
        # Decode as Scrapy would (header charset; w3lib maps gbk to gb18030).
        response = HtmlResponse(self.url, status=self.status, body=self.body,
                                headers={"Content-Type": self.content_type})
        return response.text


def fetch(url: str, ua: str = UA) -> Fetched:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request("GET", parts.path + ("?" + parts.query if parts.query else ""),
                 headers={"User-Agent": ua})
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return Fetched(url, resp.status, resp.headers.get("Content-Type", ""), body)


def thread(forum, tid: int, page: int = 1, ua: str = UA):
    markup = forum.markup_of(forum.state.thread(tid)["fid"])
    got = fetch(canonical_thread_url(forum.url, GEN[markup], tid, page), ua)
    return got, parse_thread(got.text, got.url, fetch_time=FETCHED, utc_offset=8, ppp=PPP)


def truth_thread(forum, tid: int) -> dict:
    return next(t for t in forum.state.truth()["threads"] if t["tid"] == tid)


def assert_matches_truth(parsed_posts, truth_posts) -> None:
    assert [p.pid for p in parsed_posts] == [t["pid"] for t in truth_posts]
    for got, want in zip(parsed_posts, truth_posts, strict=True):
        assert got.floor == want["floor"], got.pid
        assert got.status is STATUS[want["moderation"]], got.pid
        if want["moderation"]:
            assert got.text == ""
            continue
        assert got.text == want["text"], got.pid
        assert (got.author, got.author_uid) == (want["author"], want["author_uid"])
        assert got.time == datetime.fromisoformat(want["time"]), (got.pid, got.time_raw)
        if want["quote"]:
            [quote] = got.quotes
            assert quote.pid == want["quote"]["pid"]
            assert quote.author == want["quote"]["author"]
            assert quote.time == datetime.fromisoformat(want["quote"]["time"])
            assert quote.text == want["quote"]["text"]
        else:
            assert got.quotes == []
        assert (got.edit_note is not None) == bool(want["edited"])


# --- every generation against the ground truth -------------------------------------------------

@pytest.mark.parametrize("markup", MARKUPS)
def test_small_forum_every_page_matches_truth(small, markup):
    forum = small(markup)
    for t in forum.state.truth()["threads"]:
        if t["fid"] == 5 or t["review"]:
            continue
        last = math.ceil(len(t["posts"]) / PPP)
        for page in range(1, last + 1):
            _, parsed = thread(forum, t["tid"], page)
            assert (parsed.tid, parsed.fid, parsed.page, parsed.last_page) == (
                t["tid"], t["fid"], page, last)
            assert parsed.subject == t["subject"]
            assert parsed.generation is GEN[markup]
            assert_matches_truth(parsed.posts, t["posts"][(page - 1) * PPP: page * PPP])


@pytest.mark.parametrize("markup", MARKUPS)
def test_bundled_corpus_sample_matches_truth(forum_factory, markup):
    """The bundled corpus (whatever it currently holds) with jammer and moderation on."""
    forum = forum_factory(markup=markup, quirks=ALL_QUIRKS)
    truth = forum.state.truth()
    ppp = truth["site"]["ppp"]
    hidden = {b["fid"] for b in truth["boards"] if b.get("login_required")}
    threads = [t for t in truth["threads"] if t["fid"] not in hidden and not t.get("review")]
    # Threads with quotes, edits, moderation, the longest one, and a spread of the others.
    chosen = {max(threads, key=lambda t: len(t["posts"]))["tid"]}
    for key in ("quote", "edited", "moderation"):
        chosen |= {t["tid"] for t in threads if any(p.get(key) for p in t["posts"])}
    chosen |= {t["tid"] for t in threads[::25]}
    checked = 0
    for t in threads:
        if t["tid"] not in chosen:
            continue
        for page in range(1, math.ceil(len(t["posts"]) / ppp) + 1):
            got = fetch(canonical_thread_url(forum.url, GEN[markup], t["tid"], page))
            parsed = parse_thread(got.text, got.url, fetch_time=datetime.now(UTC),
                                  utc_offset=8, ppp=ppp)
            assert_matches_truth(parsed.posts, t["posts"][(page - 1) * ppp: page * ppp])
            checked += len(parsed.posts)
    assert checked > 100


@pytest.mark.parametrize("markup", MARKUPS)
def test_index_and_board_lists(small, markup):
    forum = small(markup)
    gen = GEN[markup]
    got = fetch(forum.url + ("forum.php" if markup == "x3" else "index.php"))
    assert classify_page(got.text, got.url, got.status).kind is PageKind.CONTENT
    index = parse_index(got.text, got.url)
    assert index.generation is gen
    assert index.site_name == "外贸人论坛 (demo)"
    assert [(b.fid, b.name) for b in index.boards] == [(2, "外贸综合"), (5, "VIP会员区"),
                                                       (7, "空版块")]
    assert all("sid=" not in b.url and b.url.startswith(forum.url) for b in index.boards)

    rows = []
    summaries = forum.state.board_threads(2)
    for page in (1, 2, 3, 4, 5):
        got = fetch(canonical_board_url(forum.url, gen, 2, page))
        board = parse_board(got.text, got.url, fetch_time=FETCHED, utc_offset=8)
        assert (board.fid, board.board_name, board.page, board.last_page) == (
            2, "外贸综合", page, 5)
        rows += board.rows
    assert [r.tid for r in rows] == [t["tid"] for t in summaries]
    for row, want in zip(rows, summaries, strict=True):
        assert row.subject == want["subject"]
        assert row.sticky == want["sticky"]
        assert (row.replies, row.views) == (want["replies"], want["views"])
        assert (row.author, row.author_uid) == (want["author"], want["author_uid"])
        assert row.lastpost == want["lastpost"].replace(second=0)
        assert "extra=" not in row.url and "sid=" not in row.url
        assert parse_ids_from_url(row.url) == {"tid": row.tid, "fid": None, "page": 1,
                                               "pid": None} or markup != "d4"
    assert rows[0].sticky and rows[0].tid == 101


def test_list_dates_date_only_title_with_yesterday_text(small):
    forum = small("x3")
    rows = {}
    for page in (1, 2):  # sticky 101 and 100 (刚刚) on page 1, 104 (昨天) on page 2
        got = fetch(canonical_board_url(forum.url, Generation.X3, 2, page))
        rows |= {r.tid: r for r in parse_board(got.text, got.url, fetch_time=FETCHED,
                                               utc_offset=8).rows}
    assert 'title="2026-11-19">昨天&nbsp;08:15' in got.body.decode()
    # The creation date's title is date only; combined with the text it is exact.
    when = dates.resolve("2026-11-19", "昨天\u00a008:15", FETCHED, 8)
    assert when.value == datetime(2026, 11, 19, 8, 15, tzinfo=CST)
    assert when.method is TimeMethod.TITLE
    assert "昨天" in rows[104].created_raw
    assert rows[104].lastpost == datetime(2026, 11, 19, 8, 15, tzinfo=CST)
    assert rows[100].lastpost == datetime(2026, 11, 20, 12, 0, tzinfo=CST)  # "刚刚"


def test_list_cap_serves_page_one_and_the_parser_says_so(forum_factory):
    forum = forum_factory(markup="x3", quirks=dataclasses.replace(Quirks.none(), list_page_cap=1),
                          corpus=small_corpus(), now=NOW)
    got = fetch(canonical_board_url(forum.url, Generation.X3, 2, 2))
    assert parse_board(got.text, got.url, fetch_time=FETCHED, utc_offset=8).page == 1


# --- page kinds ---------------------------------------------------------------------------------

@pytest.mark.parametrize("markup", MARKUPS)
def test_page_kinds(small, markup):
    forum = small(markup)
    gen = GEN[markup]

    def kind(url: str, ua: str = UA):
        got = fetch(url, ua)
        return classify_page(got.text, got.url, got.status), got.status

    info, _ = kind(canonical_thread_url(forum.url, gen, 100, 1))
    assert (info.kind, info.generation) == (PageKind.CONTENT, gen)
    info, _ = kind(canonical_board_url(forum.url, gen, 7, 1))
    assert (info.kind, info.generation) == (PageKind.EMPTY_LIST, gen)
    info, _ = kind(canonical_board_url(forum.url, gen, 5, 1))
    assert (info.kind, info.message) == (PageKind.LOGIN, "抱歉，您尚未登录，没有权限访问该版块")
    info, _ = kind(canonical_thread_url(forum.url, gen, 200, 1))
    assert info.kind is PageKind.LOGIN
    info, status = kind(canonical_thread_url(forum.url, gen, 102, 1))  # under review: HTTP 200
    assert (status, info.kind) == (200, PageKind.ERROR)
    assert info.message == "抱歉，指定的主题不存在或已被删除或正在被审核"
    info, status = kind(canonical_thread_url(forum.url, gen, 99999, 1))
    assert info.kind is PageKind.ERROR and status == (404 if markup == "x3" else 200)
    info, _ = kind(canonical_board_url(forum.url, gen, 99, 1))  # missing board
    assert (info.kind, info.message) == (PageKind.ERROR, "抱歉，指定的版块不存在")


def test_touch_view_is_its_own_kind(small):
    forum = small("x3")
    for url in (canonical_thread_url(forum.url, Generation.X3, 100, 1),
                canonical_board_url(forum.url, Generation.X3, 2, 1), forum.url + "forum.php"):
        got = fetch(url, ANDROID)
        assert classify_page(got.text, got.url, got.status).kind is PageKind.TOUCH, url
        desktop = fetch(url + "&mobile=no" if "?" in url else url + "?mobile=no", ANDROID)
        assert classify_page(desktop.text, desktop.url, 200).kind is PageKind.CONTENT


def test_waf_page(forum_factory):
    quirks = dataclasses.replace(Quirks.none(), waf_min_interval=30.0)
    forum = forum_factory(markup="x3", quirks=quirks, corpus=small_corpus(), now=NOW)
    url = canonical_thread_url(forum.url, Generation.X3, 100, 1)
    first = fetch(url)
    assert classify_page(first.text, url, first.status).kind is PageKind.CONTENT
    again = fetch(url)
    info = classify_page(again.text, url, again.status)
    assert (again.status, info.kind) == (200, PageKind.WAF)
    assert "访问过于频繁" in (info.message or "")
    with pytest.raises(ParseError):
        parse_thread(again.text, url, fetch_time=FETCHED, utc_offset=8, ppp=PPP)


def test_content_page_mentioning_rate_limits_is_not_a_waf_page(small):
    forum = small("x3")
    forum.state.add_reply(100, 1002, "网站提示访问过于频繁，检测中，怎么办？btwaf 是什么")
    got = fetch(canonical_thread_url(forum.url, Generation.X3, 100, 5))
    assert classify_page(got.text, got.url, got.status).kind is PageKind.CONTENT


def test_unknown_and_broken_pages_are_classified_without_crashing():
    assert classify_page("", "http://127.0.0.1/", 200).kind is PageKind.UNKNOWN
    assert classify_page("   ", "http://127.0.0.1/", 502).kind is PageKind.ERROR
    plain = "<html><body><h1>It works!</h1></body></html>"
    info = classify_page(plain, "http://127.0.0.1/", 200)
    assert (info.kind, info.generation) == (PageKind.UNKNOWN, Generation.UNKNOWN)
    assert classify_page(plain, "http://127.0.0.1/x", 404).kind is PageKind.ERROR
    garbage = "\x00\x01<<<>>>&&&<div <p </td></tr></table>" * 50
    assert classify_page(garbage, "http://127.0.0.1/", 200).kind is PageKind.UNKNOWN
    with pytest.raises(ParseError):
        parse_thread(plain, "http://127.0.0.1/", fetch_time=FETCHED, utc_offset=8, ppp=10)
    with pytest.raises(ParseError):
        parse_index("", "http://127.0.0.1/")


@pytest.mark.parametrize("markup", MARKUPS)
def test_truncated_thread_page_is_refused(small, markup):
    forum = small(markup)
    got = fetch(canonical_thread_url(forum.url, GEN[markup], 100, 1))
    text = got.text
    at = text.find("postmessage_5003")
    assert at > 0
    cut = text[:at]  # cut inside the third post
    with pytest.raises(ParseError, match="truncated"):
        parse_thread(cut, got.url, fetch_time=FETCHED, utc_offset=8, ppp=PPP)
    # Classification still works on the cut page (it is archived, never parsed as content).
    assert classify_page(cut, got.url, 200).generation is GEN[markup]


def test_malformed_markup_is_recovered():
    """Unclosed and misnested tags (lxml recovers): the post is still read correctly."""
    html = (
        '<html><head><meta name="generator" content="Discuz! X3.4"></head><body>'
        '<div id="postlist"><div id="post_7"><table id="pid7" class="plhin"><tr>'
        '<td class="pls"><div id="favatar7"><div class="pi"><div class="authi">'
        '<a href="space-uid-42.html" class="xw1">老王</a></div></div></div></td>'
        '<td class="plc"><div class="pi"><em id="authorposton7">发表于 2024-3-2 08:18:40</em>'
        '</div><div class="pct"><div class="pcb"><div class="t_fsz"><table><tr>'
        '<td class="t_f" id="postmessage_7">第一行<font class="jammer">x y</font><br />\n'
        '<b>第二行<i>斜体</b> 未闭合<br><div class="a_pr">广告</div>第三行'
        '</table></div></body></html>'
    )
    page = parse_thread(html, "http://127.0.0.1/forum.php?mod=viewthread&tid=3",
                        fetch_time=FETCHED, utc_offset=8, ppp=10)
    [post] = page.posts
    assert (post.pid, post.floor, post.author, post.author_uid) == (7, 1, "老王", 42)
    assert post.text == "第一行\n第二行斜体 未闭合\n第三行"
    assert post.time == datetime(2024, 3, 2, 8, 18, 40, tzinfo=CST)
    assert "jammer" not in post.html and "广告" not in post.html


# --- dates ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("shown", "expected", "has_time"), [
    ("刚刚", datetime(2026, 11, 20, 12, 0, tzinfo=CST), True),
    ("20\u00a0秒前", datetime(2026, 11, 20, 11, 59, 40, tzinfo=CST), True),
    ("5\u00a0分钟前", datetime(2026, 11, 20, 11, 55, tzinfo=CST), True),
    ("半小时前", datetime(2026, 11, 20, 11, 30, tzinfo=CST), True),
    ("3\u00a0小时前", datetime(2026, 11, 20, 9, 0, tzinfo=CST), True),
    ("昨天\u00a008:15", datetime(2026, 11, 19, 8, 15, tzinfo=CST), True),
    ("前天\u00a009:30", datetime(2026, 11, 18, 9, 30, tzinfo=CST), True),
    ("3\u00a0天前", datetime(2026, 11, 17, 0, 0, tzinfo=CST), False),
    ("7 天前", datetime(2026, 11, 13, 0, 0, tzinfo=CST), False),
    ("2\u00a0小時前", datetime(2026, 11, 20, 10, 0, tzinfo=CST), True),  # Traditional build
    ("10 分鐘前", datetime(2026, 11, 20, 11, 50, tzinfo=CST), True),
    ("剛剛", datetime(2026, 11, 20, 12, 0, tzinfo=CST), True),
])
def test_relative_dates(shown, expected, has_time):
    when = dates.resolve(None, shown, FETCHED, 8)
    assert (when.value, when.method) == (expected, TimeMethod.RELATIVE)
    assert when.raw == " ".join(shown.replace("\u00a0", " ").split())
    assert dates.parse_relative(dates.normalise(shown), FETCHED, CST) == (expected, has_time)


def test_relative_dates_use_the_site_offset_not_utc():
    # 17:30 UTC on 19 Nov is already 01:30 on 20 Nov in UTC+8: "yesterday" is the 19th.
    fetched = datetime(2026, 11, 19, 17, 30, tzinfo=UTC)
    assert dates.resolve(None, "昨天 08:15", fetched, 8).value == datetime(
        2026, 11, 19, 8, 15, tzinfo=CST)
    # The same instant seen by a UTC site: "yesterday" is the 18th.
    assert dates.resolve(None, "昨天 08:15", fetched, 0).value == datetime(
        2026, 11, 18, 8, 15, tzinfo=UTC)
    # A naive fetch time is taken as UTC.
    assert dates.resolve(None, "刚刚", fetched.replace(tzinfo=None), 8).value == fetched


def test_date_precedence_title_absolute_relative():
    when = dates.resolve("2026-11-17 10:00:00", "3\u00a0天前", FETCHED, 8)
    assert (when.value, when.method) == (datetime(2026, 11, 17, 10, 0, tzinfo=CST),
                                         TimeMethod.TITLE)
    assert "3 天前" in when.raw and "2026-11-17 10:00:00" in when.raw
    when = dates.resolve(None, "发表于 2024-3-2 08:18:40", FETCHED, 8)
    assert (when.value, when.method) == (datetime(2024, 3, 2, 8, 18, 40, tzinfo=CST),
                                         TimeMethod.ABSOLUTE)
    assert dates.resolve(None, "2009-06-24 19:30", None, 8).value == datetime(
        2009, 6, 24, 19, 30, tzinfo=CST)
    assert dates.resolve(None, "2024-3-2", None, 8).value == datetime(2024, 3, 2, tzinfo=CST)
    # A date-only title with "N 小时前" text keeps the title's day and the text's clock.
    when = dates.resolve("2026-11-20", "3 小时前", FETCHED, 8)
    assert when.value == datetime(2026, 11, 20, 9, 0, tzinfo=CST)
    for junk in ("", "从未", "2024-2-30 10:00", "昨天 25:00"):
        assert dates.resolve(None, junk, FETCHED, 8).method is TimeMethod.NONE
    assert dates.resolve(None, "3 天前", None, 8).value is None  # relative needs a fetch time


def test_post_dates_on_pages_title_first_then_relative_text(small):
    """X3 wraps recent times in `<span title>`; without titles the relative text is used."""
    forum = small("x3")
    truth = truth_thread(forum, 100)["posts"]
    times = {p["pid"]: datetime.fromisoformat(p["time"]) for p in truth}
    pages = [thread(forum, 100, n) for n in (1, 2, 3, 4)]
    posts = [p for _, parsed in pages for p in parsed.posts if p.status is not PostStatus.DELETED]
    raw = {p.pid: p.time_raw for p in posts}
    assert "3 天前" in raw[5004] and "前天 09:30" in raw[5005] and "昨天 08:15" in raw[5006]
    assert "3 小时前" in raw[5007] and "半小时前" in raw[5008] and "5 分钟前" in raw[5009]
    assert "20 秒前" in raw[5011] and "刚刚" in raw[5012]
    for p in posts:
        assert p.time == times[p.pid]
        assert p.time_method is (TimeMethod.ABSOLUTE if p.pid in (5001, 5002, 5003) else
                                 TimeMethod.TITLE)
    # Strip every title: relative text resolved against the fetch time, in UTC+8.
    for got, _ in pages:
        bare = re.sub(r'<span title="[^"]*">', "<span>", got.text)
        for p in parse_thread(bare, got.url, fetch_time=FETCHED, utc_offset=8, ppp=PPP).posts:
            if p.status is PostStatus.DELETED:
                continue
            if p.pid in (5001, 5002, 5003):
                assert p.time_method is TimeMethod.ABSOLUTE
                continue
            assert p.time_method is TimeMethod.RELATIVE
            if p.pid == 5004:  # "3 天前" only says which day
                assert p.time.date() == times[p.pid].date()
            elif p.pid == 5008:  # "半小时前" is 30 to 59 minutes ago
                assert timedelta(0) <= p.time - times[p.pid] <= timedelta(minutes=29)
            else:
                assert p.time == times[p.pid], p.pid


# --- bodies: GBK, jammer, quotes, edits, moderation ------------------------------------------

def test_gbk_page_with_characters_outside_gbk(small):
    forum = small("d4")
    got, parsed = thread(forum, 100)
    assert "charset=gbk" in got.content_type
    assert b"&#128514;" in got.body  # the emoji travels as a numeric entity on a GBK site
    with pytest.raises(UnicodeDecodeError):
        got.body.decode("utf-8")
    assert parsed.posts[0].text == f"最近订单少了很多{EMOJI}\n价格战打得太凶了\n\n大家怎么看？"
    assert parsed.subject == "价格战还要打多久"


@pytest.mark.parametrize("markup", MARKUPS)
def test_jammer_noise_is_removed(small, markup):
    forum = small(markup)
    got, parsed = thread(forum, 100)
    raw = got.text
    body = raw[raw.find("postmessage_5001"):raw.find("postmessage_5003")]
    # Each break gets <font> or <span> noise at random: at least one kind is in the body.
    assert any(noise in body for noise in ('class="jammer"', "font-size:0px", "display:none"))
    first = parsed.posts[0]
    assert first.text == f"最近订单少了很多{EMOJI}\n价格战打得太凶了\n\n大家怎么看？"
    assert "jammer" not in first.html and "display:none" not in first.html
    assert "font-size:0" not in first.html and first.html.count("<br>") == 3


@pytest.mark.parametrize("markup", MARKUPS)
def test_quote_is_structure_not_speech(small, markup):
    forum = small(markup)
    _, parsed = thread(forum, 100)
    post = next(p for p in parsed.posts if p.pid == 5003)
    assert post.text == "Same here, margins are thin."
    [quote] = post.quotes
    assert (quote.pid, quote.author) == (5001, "东莞老王")
    assert quote.time == datetime(2024, 3, 2, 8, 18, tzinfo=CST)
    assert quote.text == "最近订单少了很多 价格战打得太凶了"
    assert "最近订单" in post.html  # the rendered post keeps the quote; only the text drops it


@pytest.mark.parametrize("markup", MARKUPS)
def test_edit_note(small, markup):
    forum = small(markup)
    _, parsed = thread(forum, 100)
    post = next(p for p in parsed.posts if p.pid == 5003)
    assert post.edit_note == "本帖最后由 alice_export 于 2026-11-10 10:05 编辑"
    assert bodies.edit_time(post.edit_note, FETCHED, 8) == datetime(2026, 11, 10, 10, 5,
                                                                   tzinfo=CST)
    assert "本帖最后由" not in post.text
    assert all(p.edit_note is None for p in parsed.posts if p.pid != 5003)


@pytest.mark.parametrize("markup", MARKUPS)
def test_moderation_statuses(small, markup):
    forum = small(markup)
    _, first = thread(forum, 100, 1)
    _, fourth = thread(forum, 100, 4)
    _, other = thread(forum, 103, 1)
    status = {p.pid: p.status for p in first.posts + fourth.posts + other.posts}
    assert status[5002] is PostStatus.BANNED
    assert status[5010] is PostStatus.DELETED
    assert status[4004] is PostStatus.HIDDEN
    assert status[4005] is PostStatus.BANNED  # 作者被禁止或删除 内容自动屏蔽
    assert status[5001] is status[4003] is PostStatus.OK
    deleted = next(p for p in fourth.posts if p.pid == 5010)
    assert (deleted.floor, deleted.text, deleted.author, deleted.time) == (10, "", None, None)
    # Moderation applied at runtime shows on the very next fetch.
    forum.state.moderate(5012, "hidden")
    _, again = thread(forum, 100, 4)
    assert next(p for p in again.posts if p.pid == 5012).status is PostStatus.HIDDEN


def test_body_cleaner_on_saved_markup():
    """Ads, signatures, D4 font-size:0 noise, hidden-content captions, nested quotes, scripts."""
    import lxml.html

    el = lxml.html.fragment_fromstring(
        '<td class="t_f">'
        '<div class="quote"><blockquote><font size="2"><a href="forum.php?mod=redirect&amp;'
        'goto=findpost&amp;pid=11&amp;ptid=3"><font color="#999999">小陈 发表于 2024-3-2 '
        '08:18</font></a></font><br />'
        '<div class="quote"><blockquote>inner</blockquote></div>外层</blockquote></div>'
        '正文<font style="font-size: 0px; color: #FFFFFF">noise</font><br />\r\n'
        '<div class="a_pr">广告</div><div class="showhide"><h4>本帖隐藏的内容</h4>秘密</div>'
        '<script>alert(1)</script><a href="javascript:evil()" onclick="x()">链接</a>'
        '<span style="font-size:0.8em">小字</span><font style="FONT-SIZE: 0">zero</font>'
        '<div class="sign">我的签名</div><span style="DISPLAY: none">hidden</span>结尾</td>',
        create_parent=False)
    parsed = bodies.parse_body(el, FETCHED, 8)
    assert parsed.text == "正文\n秘密\n链接小字结尾"
    [quote] = parsed.quotes
    assert (quote.pid, quote.author) == (11, "小陈")
    assert quote.time == datetime(2024, 3, 2, 8, 18, tzinfo=CST)
    assert quote.text == "inner\n外层"
    for gone in ("广告", "签名", "noise", "hidden", "zero", "alert", "javascript:", "onclick",
                 "本帖隐藏的内容"):
        assert gone not in parsed.html, gone
    assert bodies.moderation_status("提示: 该帖被管理员或版主屏蔽") is PostStatus.BANNED
    assert bodies.moderation_status("本帖为密码帖") is PostStatus.LOGIN_REQUIRED
    assert bodies.moderation_status("普通内容") is None


# --- floors -----------------------------------------------------------------------------------

def test_floors_come_from_page_and_position_not_labels(small):
    """Robots get no floor links at all (reference §7): floors are still right."""
    forum = small("x3")
    got, parsed = thread(forum, 100, 3, ua="lurkerbot/0.1 (test@example.org)")
    assert 'id="postnum' not in got.text
    assert [p.floor for p in parsed.posts] == [7, 8, 9]
    assert all(p.floor_label is None for p in parsed.posts)
    _, labelled = thread(forum, 100, 3)
    assert [p.floor_label for p in labelled.posts] == ["7#", "8#", "9#"]
    assert floor_mismatches(labelled) == []
    # A wrong posts-per-page setting changes the computed floors; the labels reveal it.
    got, _ = thread(forum, 100, 2)
    again = parse_thread(got.text, got.url, fetch_time=FETCHED, utc_offset=8, ppp=20)
    assert [p.floor for p in again.posts] == [21, 22, 23]
    assert [p.floor_label for p in floor_mismatches(again)] == ["4#", "5#", "6#"]


def test_page_past_the_end_is_read_as_the_last_page(small):
    forum = small("d7")
    _, parsed = thread(forum, 100, 99)
    assert (parsed.page, parsed.last_page) == (4, 4)
    assert [p.floor for p in parsed.posts] == [10, 11, 12]


# --- URLs -------------------------------------------------------------------------------------

def test_ids_from_every_url_family():
    def ids(url: str) -> tuple:
        got = parse_ids_from_url(url)
        return got["fid"], got["tid"], got["page"]

    assert ids("http://h/forum.php?mod=viewthread&tid=5&extra=page%3D3&page=2") == (None, 5, 2)
    assert ids("http://h/bbs/thread-3632955-4-2.html?btwaf=61056113") == (None, 3632955, 4)
    assert ids("http://h/forum-161-7.html") == (161, None, 7)
    assert ids("http://h/forum-flea-1.html") == (None, None, 1)  # an alias, not a number
    assert ids("http://h/forumdisplay.php?fid=2&sid=a1b2c3&page=3") == (2, None, 3)
    assert ids("http://h/viewthread.php?tid=9&extra=page%3D1") == (None, 9, None)
    assert ids("http://h/forum.php?mod=forumdisplay&fid=36") == (36, None, None)
    assert ids("http://h/archiver/?tid-67.html&page=2") == (None, 67, 2)
    assert ids("http://h/archiver/fid-2.html") == (2, None, None)
    assert ids("http://h/forum.php") == (None, None, None)
    assert parse_ids_from_url("http://h/redirect.php?goto=findpost&pid=12&ptid=9")["pid"] == 12


def test_canonical_urls():
    base = "http://127.0.0.1:8800/bbs/forum.php?mod=viewthread&tid=1"
    assert canonical_thread_url(base, Generation.X3, 5, 2) == (
        "http://127.0.0.1:8800/bbs/forum.php?mod=viewthread&tid=5&page=2")
    assert canonical_thread_url(base, "d7", 5, 1) == (
        "http://127.0.0.1:8800/bbs/viewthread.php?tid=5&page=1")
    assert canonical_thread_url(base, Generation.D4, 5, 3) == (
        "http://127.0.0.1:8800/bbs/thread-5-3-1.html")
    assert canonical_board_url("http://h/", Generation.X3, 2, 4) == (
        "http://h/forum.php?mod=forumdisplay&fid=2&page=4")
    assert canonical_board_url("http://h/index.php", Generation.D7, 2, 1) == (
        "http://h/forumdisplay.php?fid=2&page=1")
    assert canonical_board_url("http://h/", Generation.D4, 161, 2) == "http://h/forum-161-2.html"
    assert strip_noise("http://h/viewthread.php?tid=9&extra=page%3D1&sid=abc&highlight=x"
                       "&fromuid=3&btwaf=123&page=2#pid5") == "http://h/viewthread.php?tid=9&page=2"
    assert canonical_url("http://h/thread-9-1-7.html?btwaf=1") == "http://h/thread-9-1-1.html"
    assert uid_from_href("home.php?mod=space&uid=43177") == 43177
    assert uid_from_href("space-uid-12.html") == 12
    assert uid_from_href("space.php?username=%C9%CF") is None


@pytest.mark.parametrize("markup", MARKUPS)
def test_subject_on_later_pages_keeps_every_character(small, markup):
    forum = small(markup)
    subject = "报价 » 怎么回 <b>&amp; 还价"
    tid = forum.state.new_thread(2, 1001, subject, "第一楼")
    for i in range(PPP):
        forum.state.add_reply(tid, 1002, f"回复 {i}")
    _, second = thread(forum, tid, 2)
    assert (second.page, second.last_page, second.subject) == (2, 2, subject)
    assert [p.floor for p in second.posts] == [4]


def test_d4_post_without_pid_anchor_and_x3_anonymous_author():
    d4 = (
        '<html><head><meta name="generator" content="Discuz! 5.0.0"></head><body>'
        '<table class="t_row"><tr><td class="t_user"><a href="space.php?uid=9" class="bold">'
        'FOB用户</a></td><td><table class="t_msg"><tr><td class="smalltxt"><div class="right">'
        '<a class="bold">#1</a></div>发表于 2017-5-4 15:39</td></tr><tr><td class="line">'
        '<div id="postmessage_88" class="t_msgfont">你好<br />\r\n世界</div></td></tr></table>'
        '</td></tr></table></body></html>')
    [post] = parse_thread(d4, "http://127.0.0.1/thread-5-1-1.html", fetch_time=FETCHED,
                          utc_offset=8, ppp=10).posts
    assert (post.pid, post.author, post.author_uid, post.floor_label) == (88, "FOB用户", 9, "#1")
    assert post.text == "你好\n世界"
    assert post.time == datetime(2017, 5, 4, 15, 39, tzinfo=CST)
    x3 = (
        '<html><head><meta name="generator" content="Discuz! X3.4"></head><body>'
        '<div id="postlist"><div id="post_3"><table id="pid3" class="plhin"><tr>'
        '<td class="pls"><div id="favatar3"><div class="pi"><div class="authi">匿名</div>'
        '</div></div></td><td class="plc"><div class="pi"><strong><a id="postnum3">'
        '<em>楼主</em></a></strong><em id="authorposton3">发表于 <span title="2026-11-18 '
        '09:30:05">前天&nbsp;09:30</span></em></div><div class="pcb"><div class="t_fsz"><table>'
        '<tr><td class="t_f" id="postmessage_3">匿名的话</td></tr></table></div></div></td>'
        '</tr></table></div></div></body></html>')
    [post] = parse_thread(x3, "http://127.0.0.1/forum.php?mod=viewthread&tid=5",
                          fetch_time=FETCHED, utc_offset=8, ppp=10).posts
    assert (post.author, post.author_uid, post.floor_label, post.floor) == ("匿名", None, "楼主", 1)
    assert (post.time, post.time_method) == (datetime(2026, 11, 18, 9, 30, 5, tzinfo=CST),
                                             TimeMethod.TITLE)
