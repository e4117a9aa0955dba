"""Discuz! X1–X3.5 pages: forum index, board list, thread page (reference §1.2, §1.3, §1.6)."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urljoin

from lxml import etree

from spiders.parsers import body as bodies
from spiders.parsers.common import (
    HtmlElement,
    base_url,
    cls,
    first,
    pager_numbers,
    shown_date,
    squash,
    text,
    to_int,
)
from spiders.parsers.model import (
    BoardPage,
    BoardRef,
    ForumIndex,
    Generation,
    ParsedPost,
    PostStatus,
    ThreadPage,
    ThreadRow,
    TimeMethod,
)
from spiders.parsers.urls import canonical_url, parse_ids_from_url, uid_from_href

GEN = Generation.X3

_APP_NAME = etree.XPath("//meta[@name='application-name']/@content")
_TITLE = etree.XPath("//title")
_INDEX_LINKS = etree.XPath(
    f"//table[{cls('fl_tb')}]//td[not({cls('fl_icn')})]//h2/a"
    f" | //table[{cls('fl_tb')}]//td[{cls('fl_g')}]//dt/a")
# The top pager (thread: div#pgt, list: span#fd_page_top) is found by id first: cheaper than
# testing the class of every div on the page.
_PAGER_TOP = etree.XPath("//*[@id='pgt' or @id='fd_page_top']")
_PAGER_IN = etree.XPath(f".//div[{cls('pg')}]")
_PAGER_ANY = etree.XPath(f"(//div[{cls('pg')}])[1]")
_ROWS = etree.XPath("//tbody[starts-with(@id, 'normalthread_')"
                    " or starts-with(@id, 'stickthread_')]")
_ROW_TITLE = etree.XPath(f".//th//a[{cls('xst')}]")
_ROW_BY = etree.XPath(f"./tr/td[{cls('by')}]")
_ROW_NUM = etree.XPath(f"./tr/td[{cls('num')}]")
_LIST_TABLE = etree.XPath("//table[@id='threadlisttableid']/@summary")
_BOARD_NAME = etree.XPath(f"//div[{cls('bm_h')}]/h1/a")
_CRUMBS = etree.XPath("//div[@id='pt']//div[contains(@class, 'z')]//a/@href")
_SUBJECT = etree.XPath("//span[@id='thread_subject']")
_POSTS = etree.XPath("//div[@id='postlist']/div[starts-with(@id, 'post_')]")
# Per-post lookups, compiled once: XPath variables carry the element ids.
_P_LABEL = etree.XPath(".//a[@id=$id]")
_P_PLC = etree.XPath(f".//td[{cls('plc')}]")
_P_PLHIN = etree.XPath(f".//table[{cls('plhin')}]")
_P_PCT = etree.XPath(f".//div[{cls('pct')}]")
_P_AUTHOR = etree.XPath(f".//div[@id=$id]//div[{cls('authi')}]/a"
                        f" | .//div[{cls('pi')}]//div[{cls('authi')}]/a[{cls('xi2')}]")
_P_ANON = etree.XPath(f".//div[@id=$id]//div[{cls('authi')}]")
_P_TIME = etree.XPath(".//em[@id=$id]")
_P_MESSAGE = etree.XPath(".//td[@id=$id]")
_P_LOCKED = etree.XPath(f".//div[{cls('pcb')}]/div[{cls('locked')}]")


def _pager(doc: HtmlElement) -> HtmlElement | None:
    tops = _PAGER_TOP(doc)
    for top in tops:
        if (found := first(_PAGER_IN(top))) is not None:
            return found
    # A single-page thread has an empty #pgt: no pager anywhere, no need to scan for one.
    return None if tops else first(_PAGER_ANY(doc))


def site_name(doc: HtmlElement) -> str | None:
    name = _APP_NAME(doc)
    if name and name[0].strip():
        return name[0].strip()
    # An index page is titled "<site> -  Powered by Discuz!": its first part names the site.
    return text(first(_TITLE(doc))).split(" - ")[0].strip() or None


def parse_index(doc: HtmlElement, url: str) -> ForumIndex:
    base = base_url(doc, url)
    boards: dict[int, BoardRef] = {}
    for a in _INDEX_LINKS(doc):
        href = a.get("href") or ""
        fid = parse_ids_from_url(href).get("fid")
        name = text(a)
        if fid is None or fid in boards or not name:
            continue
        boards[fid] = BoardRef(fid=fid, name=name, url=canonical_url(urljoin(base, href)))
    return ForumIndex(generation=GEN, site_name=site_name(doc), boards=list(boards.values()))


def _board_fid(doc: HtmlElement, url: str) -> int | None:
    summary = _LIST_TABLE(doc)
    if summary and (fid := to_int(summary[0])) is not None:
        return fid
    return parse_ids_from_url(url).get("fid")


def parse_board(doc: HtmlElement, url: str, fetch_time: datetime | None,
                utc_offset: float) -> BoardPage:
    base = base_url(doc, url)
    current, last = pager_numbers(_pager(doc))
    rows: list[ThreadRow] = []
    for tbody in _ROWS(doc):
        tid = to_int(tbody.get("id", "").rsplit("_", 1)[-1])
        link = first(_ROW_TITLE(tbody))
        if tid is None or link is None:
            continue
        by = _ROW_BY(tbody)
        author_a = first(by[0].xpath(".//cite/a")) if by else None
        created = shown_date(first(by[0].xpath("./em")), fetch_time, utc_offset) if by else None
        last_when = (shown_date(first(by[-1].xpath("./em")), fetch_time, utc_offset)
                     if len(by) > 1 else None)
        num = first(_ROW_NUM(tbody))
        replies = to_int(text(first(num.xpath("./a")))) if num is not None else None
        views = to_int(text(first(num.xpath("./em")))) if num is not None else None
        href = link.get("href") or ""
        rows.append(ThreadRow(
            tid=tid, subject=text(link), url=canonical_url(urljoin(base, href)),
            author=text(author_a) or None,
            author_uid=uid_from_href(author_a.get("href")) if author_a is not None else None,
            created_raw=created.raw or None if created else None,
            replies=replies, views=views,
            lastpost_raw=last_when.raw or None if last_when else None,
            lastpost=last_when.value if last_when else None,
            sticky=tbody.get("id", "").startswith("stickthread_"),
        ))
    name = first(_BOARD_NAME(doc))
    return BoardPage(fid=_board_fid(doc, url) or 0, board_name=text(name) or None,
                     page=current or 1, last_page=max(last, current or 1), generation=GEN,
                     rows=rows)


def _thread_fid(doc: HtmlElement) -> int | None:
    fids = [parse_ids_from_url(h).get("fid") for h in _CRUMBS(doc)]
    fids = [f for f in fids if f is not None]
    return fids[-1] if fids else None


def _post(div: HtmlElement, floor: int, fetch_time: datetime | None,
          utc_offset: float) -> ParsedPost | None:
    pid = to_int(div.get("id", "").rsplit("_", 1)[-1])
    if pid is None:
        return None  # div#post_new and friends are not posts
    label = first(_P_LABEL(div, id=f"postnum{pid}"))
    floor_label = squash(label.text_content()) if label is not None else None
    # A deleted floor leaves only "无效楼层，该帖已经被删除" (viewthread_node.htm, bottom branch).
    if not _P_PLHIN(div):
        pct = first(_P_PCT(div))
        notice = text(pct if pct is not None else first(_P_PLC(div)))
        status = bodies.moderation_status(notice) or PostStatus.DELETED
        return ParsedPost(pid=pid, floor=floor, floor_label=floor_label, author=None,
                          author_uid=None, time=None, time_raw="", time_method=TimeMethod.NONE,
                          text="", html="", status=status)
    author_a = first(_P_AUTHOR(div, id=f"favatar{pid}"))
    author = text(author_a) or None
    if author is None:  # anonymous posts show the anonymous text without a link
        author = text(first(_P_ANON(div, id=f"favatar{pid}")))
        author = author or None
    when = shown_date(first(_P_TIME(div, id=f"authorposton{pid}")), fetch_time,
                      utc_offset, strip="发表于")
    message = first(_P_MESSAGE(div, id=f"postmessage_{pid}"))
    status = PostStatus.OK
    if message is None:
        status = bodies.moderation_status(text(first(_P_LOCKED(div)))) or PostStatus.BANNED
        parsed = bodies.Body(text="", html="")
    else:
        parsed = bodies.parse_body(message, fetch_time, utc_offset)
    return ParsedPost(
        pid=pid, floor=floor, floor_label=floor_label, author=author,
        author_uid=uid_from_href(author_a.get("href")) if author_a is not None else None,
        time=when.value, time_raw=when.raw, time_method=when.method,
        text=parsed.text, html=parsed.html, quotes=parsed.quotes, edit_note=parsed.edit_note,
        status=status)


def parse_thread(doc: HtmlElement, url: str, fetch_time: datetime | None, utc_offset: float,
                 ppp: int) -> ThreadPage:
    current, last = pager_numbers(_pager(doc))
    page = current or 1
    posts: list[ParsedPost] = []
    index = 0
    for div in _POSTS(doc):
        if not div.get("id", "")[5:].isdigit():
            continue
        index += 1
        post = _post(div, (page - 1) * ppp + index, fetch_time, utc_offset)
        if post is not None:
            posts.append(post)
    ids = parse_ids_from_url(url)
    tid = ids.get("tid") or _tid_from_page(doc) or 0
    return ThreadPage(tid=tid, fid=_thread_fid(doc), subject=text(first(_SUBJECT(doc))) or None,
                      page=page, last_page=max(last, page), generation=GEN, posts=posts)


def _tid_from_page(doc: HtmlElement) -> int | None:
    for href in doc.xpath("//input[@name='tid']/@value | //a[@id='post_reply']/@onclick"):
        if (tid := to_int(href.split("tid=")[-1])) is not None:
            return tid
    return None
