"""What a response is, before anything is parsed from it (reference §1.10, §6 take-away 2).

HTTP 200 is not final: Discuz answers errors (`#messagetext`), login walls (`#messagelogin`),
its touch view and a third-party WAF's challenge with 200 too. Only `CONTENT` and `EMPTY_LIST`
pages are ever handed to a parser, so a non-content page is never stored as an empty thread.
"""

from __future__ import annotations

import re

from lxml import etree

from spiders.parsers.common import HtmlElement, ParseError, cls, first, parse_document, squash
from spiders.parsers.model import Generation, PageInfo, PageKind

# Generator meta lives in <head>; anchoring the path avoids scanning the whole page.
GENERATOR = etree.XPath("/html/head/meta[@name='generator']/@content")
GENERATOR_ANY = etree.XPath("//meta[@name='generator']/@content")
CHARSET_META = etree.XPath("//meta[@charset]/@charset | //meta[@http-equiv]/@content")
MESSAGE_TEXT = etree.XPath("//*[@id='messagetext']")
MESSAGE_LOGIN = etree.XPath("//*[@id='messagelogin']")
VIEWPORT = etree.XPath("//meta[@name='viewport']")
TOUCH_LINKS = etree.XPath("//a[contains(@href, 'mobile=2') or contains(@href, 'mobile=yes')]")
TOUCH_POSTS = etree.XPath(f"//div[{cls('plc')} and starts-with(@id, 'pid')]")
TITLE = etree.XPath("//title")
SCRIPTS = etree.XPath("//script")

# Structure of content pages, per generation: (thread posts, list rows, index boards).
X3_POSTS = etree.XPath("//div[@id='postlist']/div[starts-with(@id, 'post_')]")
X3_ROWS = etree.XPath("//tbody[starts-with(@id, 'normalthread_') or starts-with(@id,"
                      " 'stickthread_')]")
X3_LIST = etree.XPath("//table[@id='threadlisttableid'] | //div[@id='threadlist']")
X3_INDEX = etree.XPath(f"//table[{cls('fl_tb')}]")
X3_EMPTY = etree.XPath(f"//p[{cls('emp')}]")
D7_POSTS = etree.XPath("//div[@id='postlist']/div[starts-with(@id, 'post_')]"
                       f" | //div[{cls('viewthread')}]/table[starts-with(@id, 'pid')]")
D7_LIST = etree.XPath("//div[@id='threadlist']")
D7_INDEX = etree.XPath("//tbody[starts-with(@id, 'forum')]"
                       " | //table[starts-with(@id, 'category_')]")
D7_EMPTY = etree.XPath(f"//p[{cls('nodata')}]")
D4_POSTS = etree.XPath(f"//table[{cls('t_row')}]")
D4_ROWS = etree.XPath(f"//td[{cls('f_title')}]")
D4_LIST = etree.XPath("//form[@name='moderate']")
D4_INDEX = etree.XPath("//tr[contains(@class, 'row')]//a[contains(@href, 'forum')]")

EMPTY_TEXT = ("尚无主题",)
WAF_TEXT = ("访问过于频繁", "访问太频繁", "请求过于频繁", "检测中", "btwaf")
LOGIN_TEXT = ("尚未登录", "您需要先登录", "请先登录")
GEN_PATTERNS = (
    (re.compile(r"Discuz!\s*X", re.I), Generation.X3),
    (re.compile(r"Discuz!\s*[67]"), Generation.D7),
    (re.compile(r"Discuz!\s*[45]"), Generation.D4),
)


def detect_generation(doc: HtmlElement, url: str = "") -> Generation:
    """Meta generator first, then markup, then URL forms (reference §1.1, §6 take-away 1)."""
    for content in GENERATOR(doc) or GENERATOR_ANY(doc):
        for pattern, generation in GEN_PATTERNS:
            if pattern.search(content):
                return generation
    if doc.xpath(f"//td[{cls('plc')}] | //table[{cls('fl_tb')}] | //body[@id='nv_forum']"):
        return Generation.X3
    if doc.xpath(f"//td[{cls('postauthor')}] | //div[{cls('mainbox')}]"):
        return Generation.D7
    if doc.xpath(f"//table[{cls('t_row')}] | //td[{cls('f_title')}] | //div[{cls('spaceborder')}]"):
        return Generation.D4
    if "mod=" in url or "forum.php" in url:
        return Generation.X3
    if "viewthread.php" in url or "forumdisplay.php" in url:
        return Generation.D7
    return Generation.UNKNOWN


def _charset(doc: HtmlElement) -> str | None:
    for value in CHARSET_META(doc):
        m = re.search(r"charset\s*=\s*([\w-]+)", value, re.I) or re.fullmatch(r"\s*([\w-]+)\s*",
                                                                               value)
        if m:
            return m[1].lower()
    return None


def _message(doc: HtmlElement) -> str | None:
    box = first(MESSAGE_TEXT(doc))
    if box is None:
        return None
    # X3 puts a history.back() script inside the box; its source is not the message.
    parts = [squash(p.text_content()) for p in box.xpath(".//p[not(@class)]")]
    message = " ".join(p for p in parts if p) or squash(
        "".join(t for t in box.xpath(".//text()[not(ancestor::script)]")))
    return message or None


def _has_content(doc: HtmlElement, generation: Generation) -> PageKind | None:
    if generation in (Generation.X3, Generation.UNKNOWN):
        if X3_POSTS(doc) or X3_ROWS(doc) or X3_INDEX(doc):
            return PageKind.CONTENT
        if X3_LIST(doc) and (X3_EMPTY(doc) or not X3_ROWS(doc)):
            return PageKind.EMPTY_LIST
    if generation in (Generation.D7, Generation.UNKNOWN):
        if D7_POSTS(doc) or X3_ROWS(doc) or D7_INDEX(doc):
            return PageKind.CONTENT
        if D7_LIST(doc):
            return PageKind.EMPTY_LIST
    if generation in (Generation.D4, Generation.UNKNOWN):
        if D4_POSTS(doc) or D4_ROWS(doc) or D4_INDEX(doc):
            return PageKind.CONTENT
        if D4_LIST(doc) and any(t in squash(doc.text_content()) for t in EMPTY_TEXT):
            return PageKind.EMPTY_LIST
    return None


def _is_touch(doc: HtmlElement) -> bool:
    if TOUCH_POSTS(doc):
        return True
    title = squash(first(TITLE(doc)).text_content()) if TITLE(doc) else ""
    return bool(VIEWPORT(doc)) and ("手机版" in title or bool(TOUCH_LINKS(doc)))


def _is_waf(doc: HtmlElement, html: str) -> bool:
    small = len(html) < 20_000  # a challenge page is tiny; a forum page may *mention* the words
    title = squash(first(TITLE(doc)).text_content()) if TITLE(doc) else ""
    if "检测中" in title:
        return True
    scripts = " ".join(s.text or "" for s in SCRIPTS(doc))
    if "btwaf" in scripts:
        return True
    return small and any(t in squash(doc.text_content()) for t in WAF_TEXT)


def classify(html: str, url: str = "", status: int = 200) -> PageInfo:
    try:
        doc = parse_document(html)
    except ParseError as exc:
        kind = PageKind.ERROR if status >= 400 else PageKind.UNKNOWN
        return PageInfo(kind, Generation.UNKNOWN, message=str(exc))
    generation = detect_generation(doc, url)
    charset = _charset(doc)
    message = _message(doc)
    if MESSAGE_LOGIN(doc) or (message and any(t in message for t in LOGIN_TEXT)):
        return PageInfo(PageKind.LOGIN, generation, message, charset)
    if message is not None or MESSAGE_TEXT(doc):
        kind = PageKind.WAF if message and "频繁" in message else PageKind.ERROR
        return PageInfo(kind, generation, message, charset)
    if _is_touch(doc):
        return PageInfo(PageKind.TOUCH, generation, "touch (mobile) view", charset)
    kind = _has_content(doc, generation)
    if kind is not None:
        return PageInfo(kind, generation, None, charset)
    if _is_waf(doc, html):
        title = squash(first(TITLE(doc)).text_content()) if TITLE(doc) else ""
        return PageInfo(PageKind.WAF, generation, squash(doc.text_content())[:200] or title,
                        charset)
    if status >= 400:
        return PageInfo(PageKind.ERROR, generation, f"HTTP {status}", charset)
    return PageInfo(PageKind.UNKNOWN, generation, None, charset)
