"""The demo forum over real HTTP on loopback: markup per generation, quirks, mutations, truth.

Uses a tiny hand-made corpus (same format as pipeline/demoforum/data/corpus.json) with small
`tpp`/`ppp`, so pagination, relative dates and every moderation state are exercised in a few
pages, and the clock is frozen at the corpus anchor so dates are predictable.
"""

from __future__ import annotations

import copy
import dataclasses
import http.client
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import pytest
from parsel import Selector

from pipeline.demoforum import dates
from pipeline.demoforum.quirks import Quirks
from pipeline.demoforum.state import ForumState

ANCHOR = "2026-11-20T12:00:00+08:00"
NOW = datetime.fromisoformat(ANCHOR)
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"
EMOJI = "😂"


def post(pid, floor, uid, name, when, text, **extra):
    return {"pid": pid, "floor": floor, "author_uid": uid, "author": name, "time": when,
            "text": text, "lang": "zh", "quote": None, "edited": None, "moderation": None,
            "pii": [], **extra}


def tiny_corpus() -> dict:
    users = {1: "admin", 1001: "东莞老王", 1002: "义乌小陈", 1003: "alice_export"}
    long_posts = [
        post(5001, 1, 1001, "东莞老王", "2024-03-02T08:18:40+08:00",
             f"最近订单少了很多{EMOJI}\n价格战打得太凶了"),
        post(5002, 2, 1002, "义乌小陈", "2024-03-03T09:00:00+08:00", "广告内容",
             moderation="banned"),
        post(5003, 3, 1003, "alice_export", "2026-11-10T10:00:00+08:00",
             "Same here, margins are thin.",
             quote={"pid": 5001, "author": "东莞老王", "time": "2024-03-02T08:18:40+08:00",
                    "text": "最近订单少了很多 价格战打得太凶了"},
             edited={"by": "alice_export", "time": "2026-11-10T10:05:00+08:00"}),
        post(5004, 4, 1002, "义乌小陈", "2026-11-17T10:00:00+08:00", "三天前的回复"),
        post(5005, 5, 1001, "东莞老王", "2026-11-18T09:30:00+08:00", "前天的回复"),
        post(5006, 6, 1003, "alice_export", "2026-11-19T08:15:00+08:00", "yesterday"),
        post(5007, 7, 1002, "义乌小陈", "2026-11-20T11:29:00+08:00", "半小时前的回复"),
        post(5008, 8, 1001, "东莞老王", "2026-11-20T11:59:30+08:00", "已删除",
             moderation="deleted"),
    ]
    threads = [
        {"tid": 100, "fid": 2, "subject": "价格战还要打多久", "theme": "price_war",
         "sticky": False, "views": 321, "review": False, "posts": long_posts},
        {"tid": 101, "fid": 2, "subject": "【置顶】版规", "theme": "chitchat", "sticky": True,
         "views": 999, "review": False,
         "posts": [post(4001, 1, 1, "admin", "2019-01-07T09:12:31+08:00", "请遵守版规")]},
        {"tid": 102, "fid": 2, "subject": "审核中的帖子", "theme": "ads", "sticky": False,
         "views": 5, "review": True,
         "posts": [post(4002, 1, 1002, "义乌小陈", "2024-01-01T10:00:00+08:00", "待审核")]},
        {"tid": 103, "fid": 2, "subject": "隐藏回复的帖子", "theme": "quality", "sticky": False,
         "views": 7, "review": False,
         "posts": [post(4003, 1, 1001, "东莞老王", "2024-01-02T10:00:00+08:00", "主楼"),
                   post(4004, 2, 1002, "义乌小陈", "2024-01-02T11:00:00+08:00", "隐藏",
                        moderation="hidden"),
                   post(4005, 3, 1003, "alice_export", "2024-01-02T12:00:00+08:00", "屏蔽",
                        moderation="author_banned")]},
    ]
    for i in range(22):  # enough threads for 13 list pages at tpp=2
        tid = 104 + i
        threads.append({"tid": tid, "fid": 2, "subject": f"旧帖子 {i}", "theme": "chitchat",
                        "sticky": False, "views": i, "review": False,
                        "posts": [post(3000 + i, 1, 1002, "义乌小陈",
                                       f"2023-05-{i + 1:02d}T10:00:00+08:00", f"旧内容 {i}")]})
    threads.append({"tid": 200, "fid": 5, "subject": "会员区内参", "theme": "ipr",
                    "sticky": False, "views": 3, "review": False,
                    "posts": [post(6001, 1, 1001, "东莞老王", "2025-06-01T10:00:00+08:00",
                                   "仅会员可见")]})
    return {
        "format": "lurker-demo-corpus/1", "seed": 1, "anchor": ANCHOR,
        "site": {"name": "外贸人论坛 (demo)", "timeoffset": 8, "ppp": 3, "tpp": 2},
        "boards": [
            {"fid": 2, "name": "外贸综合", "description": "综合讨论", "login_required": False},
            {"fid": 5, "name": "VIP会员区", "description": "仅限会员", "login_required": True},
            {"fid": 7, "name": "空版块", "description": "还没有帖子", "login_required": False},
        ],
        "users": [{"uid": u, "username": n} for u, n in users.items()],
        "threads": threads,
    }


@pytest.fixture
def forum(forum_factory):
    def make(markup="x3", quirks=None, **kwargs):
        kwargs.setdefault("corpus", tiny_corpus())
        kwargs.setdefault("now", NOW)
        return forum_factory(markup=markup, quirks=quirks or Quirks.none(), **kwargs)

    return make


def get(url: str, ua: str = BROWSER, cookie: str | None = None):
    """(status, headers, raw body) over loopback; redirects are not followed."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    headers = {"User-Agent": ua, **({"Cookie": cookie} if cookie else {})}
    conn.request("GET", parts.path + ("?" + parts.query if parts.query else ""),
                 headers=headers)
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, resp.headers, body


def page(url: str, ua: str = BROWSER, encoding: str = "utf-8", cookie: str | None = None):
    status, _, body = get(url, ua, cookie)
    return status, Selector(text=body.decode(encoding))


def text_of(sel: Selector) -> str:
    """Visible text: jammer noise and hidden spans removed, <br> as newlines."""
    for noise in sel.css("font.jammer, span[style*='display:none'], font[style*='font-size:0px']"):
        noise.root.drop_tree()
    for br in sel.css("br"):
        br.root.tail = "\n" + (br.root.tail or "").lstrip("\r\n")
    return "".join(sel.css("::text").getall()).strip()


# --- X3 ----------------------------------------------------------------------------------


def test_x3_index_lists_boards_with_forumdisplay_links(forum):
    f = forum("x3")
    status, sel = page(f.url + "forum.php")
    assert status == 200
    assert sel.css('meta[name="generator"]::attr(content)').get() == "Discuz! X3.4"
    assert sel.css("base::attr(href)").get() == f.url
    hrefs = sel.css("table.fl_tb td h2 a::attr(href)").getall()
    assert hrefs == ["forum.php?mod=forumdisplay&fid=2", "forum.php?mod=forumdisplay&fid=5",
                     "forum.php?mod=forumdisplay&fid=7"]
    assert f.requests[-1].kind == "index"


def test_x3_board_list_markup_and_order(forum):
    f = forum("x3")
    status, sel = page(f.url + "forum.php?mod=forumdisplay&fid=2&page=1")
    assert status == 200
    bodies = sel.css("tbody[id^=normalthread_], tbody[id^=stickthread_]")
    ids = [b.attrib["id"] for b in bodies]
    # Sticky first, then by last post time: tid 100's last post is 30 s old.
    assert ids == ["stickthread_101", "normalthread_100"]
    row = bodies[1]
    assert row.css("th a.s.xst::text").get() == "价格战还要打多久"
    assert row.css("th a.s.xst::attr(href)").get() == "forum.php?mod=viewthread&tid=100"
    assert row.css("td.by cite a[href*=uid]::attr(href)").get() == \
        "home.php?mod=space&uid=1001"
    assert row.css("td.num a.xi2::text").get() == "7"
    assert row.css("td.num em::text").get() == "321"
    # Last post: relative text with the absolute time (minutes) in the title.
    last = row.css("td.by")[1].css("em a span")
    assert last.attrib["title"] == "2026-11-20 11:59"
    assert last.css("::text").get() == "30\u00a0秒前"
    # The thread has 3 pages at ppp=3: span.tps links to pages 2 and 3.
    assert row.css("span.tps a::text").getall() == ["2", "3"]
    pg = sel.css("#fd_page_top div.pg")
    assert pg.css("strong::text").get() == "1"
    assert pg.css("a.nxt::attr(href)").get() == "forum.php?mod=forumdisplay&fid=2&page=2"
    assert pg.css("a.last::text").get() == "... 13"
    assert pg.css('label span[title="共 13 页"]')


def test_x3_list_last_page_and_empty_board(forum):
    f = forum("x3")
    _, sel = page(f.url + "forum.php?mod=forumdisplay&fid=2&page=13")
    assert sel.css("div.pg strong::text").get() == "13"
    assert not sel.css("div.pg a.nxt")
    # 26 threads, 2 a page: the two oldest are last.
    assert sel.css("tbody[id^=normalthread_]::attr(id)").getall() == \
        ["normalthread_105", "normalthread_104"]
    _, sel = page(f.url + "forum.php?mod=forumdisplay&fid=7")
    assert sel.css("p.emp::text").get() == "本版块或指定的范围内尚无主题"
    assert not sel.css("div.pg")


def test_x3_thread_markup(forum):
    f = forum("x3")
    status, sel = page(f.url + "forum.php?mod=viewthread&tid=100&extra=page%3D1&page=1")
    assert status == 200
    assert sel.css("h1.ts span#thread_subject::text").get() == "价格战还要打多久"
    assert sel.css("div#pt .z a::text").getall()[-2] == "外贸综合"
    posts = sel.css("div#postlist > div[id^=post_]")
    assert [p.attrib["id"] for p in posts] == ["post_5001", "post_5002", "post_5003"]
    first = posts[0]
    assert first.css("table#pid5001.plhin")
    assert first.css("div#favatar5001 .pi .authi a.xw1::text").get() == "东莞老王"
    assert first.css("div#favatar5001 .pi .authi a.xw1::attr(href)").get() == \
        "home.php?mod=space&uid=1001"
    # More than 7 days old: absolute Y-n-j H:i:s, no span.
    assert first.css("em#authorposton5001::text").get() == "发表于 2024-3-2 08:18:40"
    assert first.css("strong a#postnum5001 em::text").get() == "1"
    body = first.css("td.t_f#postmessage_5001")
    assert text_of(body) == f"最近订单少了很多{EMOJI}\n价格战打得太凶了"
    assert sel.css("td.pls div.hm.ptn span.xi1::text").getall() == ["321", "7"]
    pg = sel.css("div#pgt div.pg")
    assert pg.css("a.nxt::attr(href)").get() == "forum.php?mod=viewthread&tid=100&page=2"
    assert pg.css('label span[title="共 3 页"]')


def test_x3_quote_and_edit_note(forum):
    f = forum("x3")
    _, sel = page(f.url + "forum.php?mod=viewthread&tid=100&page=1")
    msg = sel.css("td.t_f#postmessage_5003")
    assert msg.css("i.pstatus::text").get().strip() == \
        "本帖最后由 alice_export 于 2026-11-10 10:05 编辑"
    quote = msg.css("div.quote > blockquote")
    assert quote.css('font[color="#999999"]::text').get() == "东莞老王 发表于 2024-3-2 08:18"
    href = quote.css("a::attr(href)").get()
    assert href == f.url + "forum.php?mod=redirect&goto=findpost&pid=5001&ptid=100"
    assert quote.css('a font[color="#999999"]')
    for q in msg.css("div.quote, i.pstatus"):
        q.root.drop_tree()
    assert text_of(msg) == "Same here, margins are thin."


def test_relative_dates_in_posts_within_last_week(forum):
    f = forum("x3")
    _, p2 = page(f.url + "forum.php?mod=viewthread&tid=100&page=2")
    _, p3 = page(f.url + "forum.php?mod=viewthread&tid=100&page=3")
    shown = {pid: sel.css(f"em#authorposton{pid} span") for sel, pids in
             ((p2, (5004, 5005, 5006)), (p3, (5007,))) for pid in pids}
    assert shown[5004].attrib["title"] == "2026-11-17 10:00:00"
    assert shown[5004].css("::text").get() == "3\u00a0天前"
    assert shown[5005].css("::text").get() == "前天\u00a009:30"
    assert shown[5006].css("::text").get() == "昨天\u00a008:15"
    assert shown[5006].attrib["title"] == "2026-11-19 08:15:00"
    assert shown[5007].css("::text").get() == "半小时前"
    # 10 days old: absolute again.
    _, p1 = page(f.url + "forum.php?mod=viewthread&tid=100&page=1")
    assert p1.css("em#authorposton5003::text").get() == "发表于 2026-11-10 10:00:00"
    # The raw bytes carry Discuz's &nbsp; entity, not a bare U+00A0.
    _, _, raw = get(f.url + "forum.php?mod=viewthread&tid=100&page=2")
    assert "3&nbsp;天前".encode() in raw


def test_dgmdate_relative_forms():
    now = datetime.fromisoformat("2026-11-20T12:00:00+08:00")

    def rel(**ago):
        return dates.relative(now - timedelta(**ago), now, dates.SECOND)

    assert rel(seconds=0).text == "刚刚"
    assert rel(seconds=45).text == "45\u00a0秒前"
    assert rel(minutes=5).text == "5\u00a0分钟前"
    assert rel(minutes=40).text == "半小时前"
    assert rel(hours=3).text == "3\u00a0小时前"
    assert rel(hours=13).text == "昨天\u00a023:00"
    assert rel(days=6, hours=23).text == "7\u00a0天前"
    assert rel(days=8).text == "2026-11-12 12:00:00"
    assert rel(days=8).title is None
    assert rel(hours=3).title == "2026-11-20 09:00:00"
    assert dates.relative(now - timedelta(hours=3), now, mobile=True).title is None
    assert dates.relative(now + timedelta(hours=1), now).text == "2026-11-20 13:00"


def test_page_past_the_end_returns_the_last_page(forum):
    for markup, url in (("x3", "forum.php?mod=viewthread&tid=100&page=99"),
                        ("d7", "viewthread.php?tid=100&page=99"),
                        ("d4", "thread-100-99-1.html")):
        f = forum(markup)
        status, _, body = get(f.url + url)
        assert status == 200
        html = body.decode("gbk" if markup == "d4" else "utf-8")
        assert 'id="postmessage_5007"' in html  # floor 7 is on page 3 of 3
        assert 'id="postmessage_5001"' not in html
        assert f.requests[-1].kind == "thread"


def test_missing_thread_is_404_on_x3_and_missing_board_is_200(forum):
    f = forum("x3")
    status, sel = page(f.url + "forum.php?mod=viewthread&tid=999999")
    assert status == 404
    assert sel.css("div#messagetext.alert_error p::text").get() == \
        "抱歉，指定的主题不存在或已被删除或正在被审核"
    assert f.requests[-1].kind == "error"
    status, sel = page(f.url + "forum.php?mod=forumdisplay&fid=424242")
    assert status == 200
    assert sel.css("div#messagetext p::text").get() == "抱歉，指定的版块不存在"
    f7 = forum("d7")
    status, sel = page(f7.url + "viewthread.php?tid=999999")
    assert status == 200  # showmessage() never sends an error status
    assert sel.css("#messagetext::text").get() == "抱歉，指定的主题不存在或已被删除或正在被审核"


def test_review_thread_is_a_200_error_page_only_with_the_quirk(forum):
    f = forum("x3", dataclasses.replace(Quirks.none(), error_pages=True))
    status, sel = page(f.url + "forum.php?mod=viewthread&tid=102")
    assert status == 200
    assert "正在被审核" in sel.css("div#messagetext p::text").get()
    assert f.requests[-1].kind == "error"
    g = forum("x3")
    _, sel = page(g.url + "forum.php?mod=viewthread&tid=102")
    assert sel.css("td.t_f#postmessage_4002")


def test_login_wall_for_list_and_thread(forum):
    f = forum("x3", dataclasses.replace(Quirks.none(), login_board=True))
    for url in ("forum.php?mod=forumdisplay&fid=5", "forum.php?mod=viewthread&tid=200"):
        status, sel = page(f.url + url)
        assert status == 200
        assert sel.css("div#messagelogin")
        assert sel.css("div#messagetext p::text").get() == "抱歉，您尚未登录，没有权限访问该版块"
        assert not sel.css("div#postlist, tbody[id^=normalthread_]")
        assert f.requests[-1].kind == "login"
    d4 = forum("d4", dataclasses.replace(Quirks.none(), login_board=True))
    _, sel = page(d4.url + "forum-5-1.html", encoding="gbk")
    assert sel.css("#messagelogin") and "尚未登录" in sel.css("#messagetext::text").get()
    open_forum = forum("x3")
    _, sel = page(open_forum.url + "forum.php?mod=forumdisplay&fid=5")
    assert sel.css("tbody#normalthread_200")


def test_waf_challenges_fast_repeat_requests(forum):
    f = forum("x3", dataclasses.replace(Quirks.none(), waf_min_interval=0.4))
    assert get(f.url + "forum.php")[0] == 200
    status, headers, body = get(f.url + "forum.php?mod=forumdisplay&fid=2")
    html = body.decode("utf-8")
    assert status == 200
    assert "您的访问过于频繁" in html
    assert "btwaf=" in html and "window.location.href" in html
    assert "threadlisttableid" not in html
    assert [r.kind for r in f.requests] == ["index", "waf"]
    time.sleep(0.5)
    status, _, body = get(f.url + "forum.php?mod=forumdisplay&fid=2")
    assert b"threadlisttableid" in body
    assert f.requests[-1].kind == "list"


def test_robots_txt(forum):
    f = forum("x3", dataclasses.replace(Quirks.none(), robots_txt=True))
    status, headers, body = get(f.url + "robots.txt")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    text = body.decode()
    for rule in ("Disallow: /api/", "Disallow: /forum.php?mod=redirect*",
                 "Disallow: /forum.php?mod=post*", "Disallow: /*?mod=attachment*",
                 "Disallow: /*mobile=yes*", "Allow: /data/attachment/"):
        assert rule in text.splitlines()
    assert "viewthread" not in text and "forumdisplay" not in text
    g = forum("x3")
    assert get(g.url + "robots.txt")[0] == 404
    assert g.requests[-1].kind == "robots"


def test_robot_user_agent_gets_no_floor_links(forum):
    f = forum("x3", Quirks.demo())
    _, human = page(f.url + "forum.php?mod=viewthread&tid=100")
    _, robot = page(f.url + "forum.php?mod=viewthread&tid=100", ua="lurkerbot/0.1 (+mailto:x)")
    assert human.css("a#postnum5001")
    assert not robot.css("a[id^=postnum]")
    assert not robot.css("a[href*=authorid]")
    assert len(robot.css("div#postlist > div[id^=post_]")) == 3
    # Robots get links without extra= (IS_ROBOT), humans get the noise.
    assert "extra=" in human.css("div#pgt a.nxt::attr(href)").get()
    assert "extra=" not in robot.css("div#pgt a.nxt::attr(href)").get()


def test_touch_view_for_mobile_substrings_unless_mobile_no(forum):
    f = forum("x3")
    ua = "lurker/0.1 (used for research; mailto:x)"  # "used" contains "sed"
    _, sel = page(f.url + "forum.php?mod=viewthread&tid=100&page=2", ua=ua)
    assert sel.css("div.plc#pid5004")
    assert not sel.css("div[id^=post_]")
    assert sel.css("div.plc#pid5004 li.rela::text").get().strip() == "3\u00a0天前"
    assert not sel.css("div.plc#pid5004 span[title]")
    assert f.requests[-1].kind == "touch"
    status, headers, body = get(f.url + "forum.php?mod=viewthread&tid=100&page=2&mobile=no",
                                ua)
    assert b'id="post_5004"' in body and f.requests[-1].kind == "thread"
    assert "mobile=no" in headers["Set-Cookie"]
    _, sel = page(f.url + "forum.php?mod=viewthread&tid=100&page=2", ua=ua,
                  cookie="demo_2132_mobile=no")
    assert sel.css("div#post_5004")
    for mobile_ua in ("Mozilla/5.0 (Linux; Android 14)", "remote tool", "algorithm"):
        assert get(f.url + "forum.php", mobile_ua)[0] == 200
        assert f.requests[-1].kind == "touch", mobile_ua
    get(f.url + "forum.php", BROWSER)
    assert f.requests[-1].kind == "index"


# --- moderation and jammer ----------------------------------------------------------------


def test_corpus_moderation_renders_locked_messages_only_with_the_quirk(forum):
    f = forum("x3", dataclasses.replace(Quirks.none(), moderation=True))
    _, p1 = page(f.url + "forum.php?mod=viewthread&tid=100&page=1")
    assert p1.css("div#post_5002 div.locked em::text").get() == "该帖被管理员或版主屏蔽"
    assert not p1.css("td#postmessage_5002")
    _, p3 = page(f.url + "forum.php?mod=viewthread&tid=100&page=3")
    deleted = p3.css("div#post_5008")
    assert deleted.css("table#pid5008 div.pct::text").get() == "无效楼层，该帖已经被删除"
    assert deleted.css("strong a em::text").get() == "8"  # the floor keeps its number
    assert not deleted.css("em[id^=authorposton]")
    _, other = page(f.url + "forum.php?mod=viewthread&tid=103")
    assert other.css("div#post_4004 div.locked::text").get() == "此帖仅作者可见"
    assert other.css("div#post_4005 div.locked em::text").get() == "作者被禁止或删除 内容自动屏蔽"
    g = forum("x3")
    _, p1 = page(g.url + "forum.php?mod=viewthread&tid=100&page=1")
    assert text_of(p1.css("td#postmessage_5002")) == "广告内容"


def test_jammer_noise_hides_between_lines(forum):
    f = forum("x3", dataclasses.replace(Quirks.none(), jammer=True))
    _, _, raw = get(f.url + "forum.php?mod=viewthread&tid=100")
    html = raw.decode()
    assert '<font class="jammer">' in html or '<span style="display:none">' in html
    sel = Selector(text=html)
    assert text_of(sel.css("td#postmessage_5001")) == f"最近订单少了很多{EMOJI}\n价格战打得太凶了"
    d4 = forum("d4", dataclasses.replace(Quirks.none(), jammer=True))
    html = get(d4.url + "thread-100-1-1.html")[2].decode("gbk")
    assert ('<font style="font-size:0px;color:#FFFFFF">' in html
            or '<span style="display:none">' in html)
    clean = forum("x3")
    _, sel = page(clean.url + "forum.php?mod=viewthread&tid=100")
    assert sel.css("td.t_f font") and not sel.css("td.t_f font.jammer, td.t_f span")


# --- D7 and D4 ----------------------------------------------------------------------------


def test_d7_markup(forum):
    f = forum("d7", Quirks.demo())
    _, index = page(f.url + "index.php")
    assert index.css('meta[name="generator"]::attr(content)').get().startswith("Discuz! 7")
    board_href = index.css("tbody#forum2 h2 a::attr(href)").get()
    assert board_href.startswith("forumdisplay.php?fid=2&sid=")
    _, lst = page(f.url + "forumdisplay.php?fid=2&page=1")
    row = lst.css("tbody#normalthread_100")
    assert row.css("th.subject span#thread_100 a::text").get() == "价格战还要打多久"
    href = row.css("span#thread_100 a::attr(href)").get()
    assert href.startswith("viewthread.php?tid=100&extra=page%3D1&sid=")
    assert row.css("td.author cite a::attr(href)").get().startswith("space.php?uid=1001")
    assert row.css("td.nums strong::text").get() == "7"
    assert row.css("td.lastpost em a::text").get() == "2026-11-20 11:59"  # never relative
    assert lst.css("div.pages a.next::text").get() == "下一页"
    assert lst.css("div.pages a.last::text").get() == "... 13"
    _, th = page(f.url + "viewthread.php?tid=100&extra=page%3D1&page=2")
    assert th.css("div#postlist.mainbox.viewthread > div#post_5004 > table#pid5004")
    assert th.css("td.postauthor div.postinfo a::text").get() == "义乌小陈"
    assert th.css("em#authorposton5004::text").get() == "发表于 2026-11-17 10:00"
    assert not th.css("em[id^=authorposton] span")
    assert text_of(th.css("td.t_msgfont#postmessage_5004")) == "三天前的回复"
    assert th.css("div.pages strong::text").get() == "2"
    _, p1 = page(f.url + "viewthread.php?tid=100")
    quote = p1.css("td#postmessage_5003 div.quote blockquote")
    assert quote.css("i::text").get() == "东莞老王"
    assert "redirect.php?goto=findpost&pid=5001&ptid=100" in quote.css("a::attr(href)").get()
    assert p1.css("div#threadtitle h1::text").get() == "价格战还要打多久"
    assert p1.css("div#post_5002 div.locked em::text").get() == "该帖被管理员或版主屏蔽"


def test_d4_gbk_fob_markup(forum):
    f = forum("d4", Quirks.demo())
    status, headers, raw = get(f.url + "forum-2-1.html")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=gbk"
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    html = raw.decode("gbk")
    assert 'content="text/html; charset=gbk"' in html
    sel = Selector(text=html)
    titles = sel.css("td.f_title a::text").getall()
    assert "价格战还要打多久" in titles
    row = sel.css("td.f_title a[href='thread-100-1-1.html']").xpath("ancestor::tr[1]")
    assert row.css("td.f_author a::text").get() == "东莞老王"
    assert row.css("td.f_author a::attr(href)").get() == "space.php?uid=1001"
    assert row.css("td.f_last span.smalltxt a::text").get() == "2026-11-20 11:59"
    assert sel.css("center > div.maintable > div.spaceborder")
    assert sel.css("a.p_pages::text").get() == "\u00a01/13\u00a0"
    assert sel.css("a.p_num::attr(href)").getall()[:2] == ["forum-2-2.html", "forum-2-3.html"]
    _, _, raw = get(f.url + "thread-100-1-1.html")
    assert f"&#{ord(EMOJI)};".encode() in raw  # emoji outside GBK: a numeric entity
    th = Selector(text=raw.decode("gbk"))
    rows = th.css("form > div.spaceborder > table.t_row")
    assert len(rows) == 3
    assert rows[0].css("td.t_user a.bold::text").get() == "东莞老王"
    assert "发表于 2024-3-2 08:18" in "".join(rows[0].css("table.t_msg td.smalltxt::text").getall())
    assert text_of(th.css("div#postmessage_5001.t_msgfont")) == \
        f"最近订单少了很多{EMOJI}\n价格战打得太凶了"
    quote = th.css("div#postmessage_5003")
    assert quote.css("div.smalltxt::text").get() == "QUOTE:"
    assert quote.css("div.altbg2 i::text").get() == "东莞老王"
    assert "pid=5001&ptid=100" in quote.css("div.altbg2 a::attr(href)").get()
    assert th.css("tr.header td::text").get() == "价格战还要打多久"


def test_board_markup_override_and_d7_charset(forum):
    f = forum("x3", board_markup={5: "d4"})
    _, sel = page(f.url + "forum.php")
    assert "forum-5-1.html" in sel.css("td h2 a::attr(href)").getall()
    status, headers, raw = get(f.url + "forum-5-1.html")
    assert headers["Content-Type"] == "text/html; charset=gbk"
    assert "会员区内参".encode("gbk") in raw
    g = forum("d7", d7_charset="gbk")
    _, headers, raw = get(g.url + "viewthread.php?tid=100")
    assert headers["Content-Type"] == "text/html; charset=gbk"
    assert "价格战还要打多久".encode("gbk") in raw


def test_url_noise_and_list_page_cap(forum):
    f = forum("x3", dataclasses.replace(Quirks.none(), url_noise=True, list_page_cap=2))
    _, sel = page(f.url + "forum.php?mod=forumdisplay&fid=2&page=2")
    assert all("&extra=page%3D2" in h for h in sel.css("th a.s.xst::attr(href)").getall())
    assert sel.css("div.pg strong::text").get() == "2"
    _, sel = page(f.url + "forum.php?mod=forumdisplay&fid=2&page=3")
    assert sel.css("div.pg strong::text").get() == "1"  # beyond threadmaxpages: page 1
    assert sel.css("tbody#stickthread_101")
    plain = forum("x3")
    _, sel = page(plain.url + "forum.php?mod=forumdisplay&fid=2&page=3")
    assert sel.css("div.pg strong::text").get() == "3"
    assert not any("extra=" in h for h in sel.css("a::attr(href)").getall())


def test_every_post_is_reachable_by_following_pagers(forum):
    f = forum("x3")
    truth = f.state.truth()
    seen: set[int] = set()
    lists = [f.url + "forum.php?mod=forumdisplay&fid=2"]
    threads: list[str] = []
    while lists:
        _, sel = page(lists.pop())
        threads += [f.url + h for h in sel.css("th a.s.xst::attr(href)").getall()]
        if nxt := sel.css("#fd_page_top a.nxt::attr(href)").get():
            lists.append(f.url + nxt)
    while threads:
        _, sel = page(threads.pop())
        seen |= {int(i.removeprefix("post_")) for i in
                 sel.css("div#postlist > div[id^=post_]::attr(id)").getall()}
        if nxt := sel.css("div#pgt a.nxt::attr(href)").get():
            threads.append(f.url + nxt)
    want = {p["pid"] for t in truth["threads"] if t["fid"] == 2 for p in t["posts"]}
    assert seen == want
    assert f.errors == []


# --- mutations and truth -----------------------------------------------------------------


def test_add_reply_shows_in_next_response_and_in_truth(forum):
    f = forum("x3")
    at = NOW - timedelta(seconds=5)
    pid = f.state.add_reply(104, 1003, "新的回复\n第二行", quote_pid=3000, at=at)
    assert pid == 6002  # above the highest pid
    _, sel = page(f.url + "forum.php?mod=viewthread&tid=104")
    node = sel.css(f"div#post_{pid}")
    assert node.css("strong a em::text").get() == "2"
    assert node.css(f"em#authorposton{pid} span::text").get() == "5\u00a0秒前"
    assert "pid=3000&ptid=104" in node.css("div.quote a::attr(href)").get()
    _, lst = page(f.url + "forum.php?mod=forumdisplay&fid=2")
    assert [b.attrib["id"] for b in lst.css("tbody[id]")] == \
        ["separatorline", "stickthread_101", "normalthread_104"]  # bumped above tid 100
    assert lst.css("tbody#normalthread_104 td.num a.xi2::text").get() == "1"
    _, lst = page(f.url + "forum.php?mod=forumdisplay&fid=2&page=2")
    assert lst.css("tbody[id^=normalthread_]")[0].attrib["id"] == "normalthread_100"
    thread = next(t for t in f.state.truth()["threads"] if t["tid"] == 104)
    new = thread["posts"][-1]
    assert (new["pid"], new["floor"], new["author"], new["text"]) == \
        (pid, 2, "alice_export", "新的回复\n第二行")
    assert new["time"] == at.isoformat()
    assert new["quote"]["pid"] == 3000


def test_new_thread_edit_delete_moderate(forum):
    f = forum("x3")
    tid = f.state.new_thread(2, 1002, "新主题", "第一帖", at=NOW)
    assert tid == 201
    _, lst = page(f.url + "forum.php?mod=forumdisplay&fid=2")
    assert lst.css("tbody[id^=normalthread_]")[0].attrib["id"] == f"normalthread_{tid}"
    f.state.edit_post(5004, "改过的内容", at=NOW - timedelta(minutes=1))
    f.state.delete_post(5005)
    f.state.moderate(5006, "banned")
    _, sel = page(f.url + "forum.php?mod=viewthread&tid=100&page=2")
    msg = sel.css("td#postmessage_5004")
    assert msg.css("i.pstatus::text").get().strip() == \
        "本帖最后由 义乌小陈 于 2026-11-20 11:59 编辑"
    msg.css("i.pstatus")[0].root.drop_tree()
    assert text_of(msg) == "改过的内容"
    assert sel.css("div#post_5005 div.pct::text").get() == "无效楼层，该帖已经被删除"
    assert sel.css("div#post_5005 strong a em::text").get() == "5"
    assert sel.css("div#post_5006 div.locked em::text").get() == "该帖被管理员或版主屏蔽"
    posts = {p["pid"]: p for t in f.state.truth()["threads"] for p in t["posts"]}
    assert posts[5004]["text"] == "改过的内容"
    assert posts[5004]["edited"] == {"by": "义乌小陈", "time": "2026-11-20T11:59:00+08:00"}
    assert posts[5005]["moderation"] == "deleted" and posts[5006]["moderation"] == "banned"
    f.state.moderate(5006, None)
    _, sel = page(f.url + "forum.php?mod=viewthread&tid=100&page=2")
    assert text_of(sel.css("td#postmessage_5006")) == "yesterday"
    with pytest.raises(ValueError):
        f.state.moderate(5006, "vanished")


def test_truth_is_time_shifted_and_at_the_served_precision():
    corpus = tiny_corpus()
    later = NOW + timedelta(days=3, seconds=7)
    state = ForumState(copy.deepcopy(corpus), now=later)
    posts = {p["pid"]: p for t in state.truth()["threads"] for p in t["posts"]}
    assert posts[5007]["time"] == "2026-11-23T11:29:07+08:00"
    assert posts[5003]["quote"]["time"] == "2024-03-05T08:18:00+08:00"  # minutes only
    minutes = ForumState(copy.deepcopy(corpus), now=later, shows_seconds=lambda fid: False)
    posts = {p["pid"]: p for t in minutes.truth()["threads"] for p in t["posts"]}
    assert posts[5007]["time"] == "2026-11-23T11:29:00+08:00"
    assert state.truth()["anchor"] == later.isoformat()


def test_d7_forum_truth_drops_seconds(forum):
    f = forum("d7")
    posts = {p["pid"]: p for t in f.state.truth()["threads"] for p in t["posts"]}
    assert posts[5001]["time"] == "2024-03-02T08:18:00+08:00"


def test_redirects_and_request_log(forum):
    f = forum("x3")
    status, headers, _ = get(f.url + "forum.php?mod=redirect&goto=findpost&pid=5007&ptid=100")
    assert status == 302
    assert headers["Location"] == f.url + "forum.php?mod=viewthread&tid=100&page=3#pid5007"
    status, headers, _ = get(f.url + "redirect.php?tid=100&goto=lastpost")
    assert headers["Location"].endswith("tid=100&page=3#lastpost")
    get(f.url + "forum.php?mod=viewthread&tid=100&page=2", ua="probe/1")
    last = f.requests[-1]
    assert (last.path, last.query, last.user_agent, last.status, last.kind) == \
        ("/forum.php", {"mod": "viewthread", "tid": "100", "page": "2"}, "probe/1", 200,
         "thread")
    assert get(f.url + "nothing.php")[0] == 404
    f.reset_log()
    assert f.requests == []


def test_quirk_presets():
    demo = Quirks.demo()
    assert (demo.jammer, demo.moderation, demo.url_noise, demo.robots_txt, demo.error_pages,
            demo.login_board, demo.waf_min_interval) == (True,) * 6 + (None,)
    none = Quirks.none()
    assert not any((none.jammer, none.moderation, none.url_noise, none.robots_txt,
                    none.error_pages, none.login_board, none.waf_min_interval))
    assert none.list_page_cap == 1000
    assert Quirks.named("all").waf_min_interval
    with pytest.raises(ValueError):
        Quirks.named("bogus")


def test_default_corpus_serves_every_markup_quickly(forum_factory):
    """The shipped corpus: index, a list page and a long thread's last page, per markup."""
    for markup in ("x3", "d7", "d4"):
        f = forum_factory(markup=markup, quirks=Quirks.demo())
        truth = f.state.truth()
        assert sum(len(t["posts"]) for t in truth["threads"]) >= 3600
        longest = max(truth["threads"], key=lambda t: len(t["posts"]))
        start = time.perf_counter()
        for _ in range(20):
            assert get(f.url + f"viewthread.php?tid={longest['tid']}&page=999")[0] == 200
        assert time.perf_counter() - start < 5
        assert f.errors == []
        assert urllib.request.urlopen(f.url).status == 200


def test_http_error_raising_clients_see_404(forum):
    f = forum("x3")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f.url + "forum.php?mod=viewthread&tid=5")
    assert err.value.code == 404
