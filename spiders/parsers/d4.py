"""Discuz! 4.x / 5.x pages as customised by FOB Shanghai (reference §1.5, §1.11): GBK,
`table.t_row` per post, `td.f_title` list rows, `a.p_pages` "cur/last" pagers, rewritten URLs.
"""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import urljoin

from lxml import etree

from spiders.parsers import body as bodies
from spiders.parsers import dates
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

GEN = Generation.D4

_NAV_LINKS = etree.XPath(f"//td[{cls('nav')}]/a")
_NAV = etree.XPath(f"//td[{cls('nav')}]")
_TITLE = etree.XPath("//title")
_INDEX_LINKS = etree.XPath("//tr[contains(@class, 'row')]//a[contains(@href, 'forum')]"
                           " | //tr[contains(@class, 'row')]//a[contains(@href, 'fid=')]")
_PAGER = etree.XPath(f"(//div[{cls('p_bar')}])[1]")
_P_PAGES = etree.XPath(f"(//a[{cls('p_pages')}])[1]")
_ROWS = etree.XPath(f"//tr[td[{cls('f_title')}]]")
_HEADER = etree.XPath(f"//table[{cls('tableborder')}]/tr[{cls('header')}]/td")
_POSTS = etree.XPath(f"//table[{cls('t_row')}]")
_SCRIPT_IDS = etree.XPath("//script[contains(., 'var fid')]")
# Per-post lookups, compiled once: XPath variables carry the element ids.
_P_ANCHOR = etree.XPath(".//a[starts-with(@name, 'pid')]/@name")
# Some D5 skins drop the <a name="pidN"> anchor; the body's id still carries the pid.
_P_BODY_ID = etree.XPath(".//*[starts-with(@id, 'postmessage_')]/@id")
_P_USER = etree.XPath(f".//td[{cls('t_user')}]")
_P_AUTHOR = etree.XPath(f"./a[{cls('bold')}]")
_P_HEAD = etree.XPath(f".//table[{cls('t_msg')}]/tr[1]/td")
_P_LABEL = etree.XPath(f"./div[{cls('right')}]/a")
_P_HEAD_TEXT = etree.XPath("./text()")
_P_TITLED = etree.XPath(".//span[@title]")
_P_MESSAGE = etree.XPath(".//*[@id=$id]")
_P_LOCKED = etree.XPath(f".//td[{cls('line')}]//div[{cls('locked')}]")
CUR_LAST = re.compile(r"(\d+)\s*/\s*(\d+)")
SCRIPT_VAR = re.compile(r"var\s+(fid|tid)\s*=\s*(\d+)")


def site_name(doc: HtmlElement) -> str | None:
    nav = first(_NAV_LINKS(doc))
    if nav is not None and text(nav):
        return text(nav)
    title = first(_TITLE(doc))
    return (text(title).split(" - ")[0].strip() or None) if title is not None else None


def _pages(doc: HtmlElement) -> tuple[int, int]:
    # "&nbsp;3/40&nbsp;" is the plainest statement of both numbers (multi() p_pages).
    label = first(_P_PAGES(doc))
    if label is not None and (m := CUR_LAST.search(text(label))):
        cur, last = int(m[1]), int(m[2])
        return cur, max(cur, last)
    current, last = pager_numbers(first(_PAGER(doc)))
    return current or 1, max(last, current or 1)


def _script_ids(doc: HtmlElement) -> dict[str, int]:
    script = first(_SCRIPT_IDS(doc))
    found = SCRIPT_VAR.findall(script.text or "") if script is not None else []
    return {k: int(v) for k, v in found if int(v)}


def parse_index(doc: HtmlElement, url: str) -> ForumIndex:
    base = base_url(doc, url)
    boards: dict[int, BoardRef] = {}
    for a in _INDEX_LINKS(doc):
        href = a.get("href") or ""
        ids = parse_ids_from_url(href)
        fid = ids.get("fid")
        bold = first(a.xpath(f".//span[{cls('bold')}]"))
        name = text(bold if bold is not None else a)
        if fid is None or ids.get("tid") or fid in boards or not name:
            continue
        boards[fid] = BoardRef(fid=fid, name=name, url=canonical_url(urljoin(base, href)))
    return ForumIndex(generation=GEN, site_name=site_name(doc), boards=list(boards.values()))


def parse_board(doc: HtmlElement, url: str, fetch_time: datetime | None,
                utc_offset: float) -> BoardPage:
    base = base_url(doc, url)
    page, last = _pages(doc)
    rows: list[ThreadRow] = []
    for tr in _ROWS(doc):
        link = first(tr.xpath(f"./td[{cls('f_title')}]/a"))
        if link is None:
            continue
        href = link.get("href") or ""
        tid = parse_ids_from_url(href).get("tid")
        if tid is None:
            continue
        author_td = first(tr.xpath(f"./td[{cls('f_author')}]"))
        author_a = first(author_td.xpath("./a")) if author_td is not None else None
        created = shown_date(
            first(author_td.xpath(f"./span[{cls('smalltxt')}]")) if author_td is not None
            else None, fetch_time, utc_offset)
        nums = text(first(tr.xpath(f"./td[{cls('f_nums')}]")))
        replies, _, views = nums.partition("/")
        last_a = first(tr.xpath(f"./td[{cls('f_last')}]//a"))
        last_when = shown_date(last_a, fetch_time, utc_offset)
        folder = " ".join(tr.xpath(f"./td[{cls('f_folder')}]//img/@src"
                                   f" | ./td[{cls('f_folder')}]//img/@alt"))
        rows.append(ThreadRow(
            tid=tid, subject=text(link), url=canonical_url(urljoin(base, href)),
            author=text(author_a) or None,
            author_uid=uid_from_href(author_a.get("href")) if author_a is not None else None,
            created_raw=created.raw or None, replies=to_int(replies), views=to_int(views),
            lastpost_raw=last_when.raw or None, lastpost=last_when.value,
            sticky="pin_" in folder or "置顶" in folder,
        ))
    header = first(doc.xpath(f"//table[{cls('tableborder')}]/tr[{cls('header')}]"
                             f"/td/span[{cls('bold')}]"))
    fid = (parse_ids_from_url(url).get("fid") or _script_ids(doc).get("fid") or 0)
    return BoardPage(fid=fid, board_name=text(header) or None, page=page, last_page=last,
                     generation=GEN, rows=rows)


def _post(table: HtmlElement, floor: int, fetch_time: datetime | None,
          utc_offset: float) -> ParsedPost | None:
    anchor = first(_P_ANCHOR(table)) or first(_P_BODY_ID(table))
    pid = to_int(anchor) if anchor else None
    if pid is None:
        return None
    user = first(_P_USER(table))
    author_a = first(_P_AUTHOR(user)) if user is not None else None
    head = first(_P_HEAD(table))
    label = first(_P_LABEL(head)) if head is not None else None
    floor_label = squash(label.text_content()) if label is not None else None
    when = dates.ParsedTime(None, "", TimeMethod.NONE)
    if head is not None:
        # The date is the cell's own text after the floor link: "发表于 2019-2-16 05:18".
        shown = squash("".join(_P_HEAD_TEXT(head)))
        if shown:
            when = shown_date(head, fetch_time, utc_offset) if _P_TITLED(head) \
                else dates.resolve(None, shown.removeprefix("发表于").strip(), fetch_time,
                                   utc_offset)
    message = first(_P_MESSAGE(table, id=f"postmessage_{pid}"))
    status = PostStatus.OK
    if message is None:
        locked = first(_P_LOCKED(table))
        status = bodies.moderation_status(text(locked)) or PostStatus.BANNED
        parsed = bodies.Body(text="", html="")
    else:
        parsed = bodies.parse_body(message, fetch_time, utc_offset)
    deleted = status is PostStatus.DELETED
    return ParsedPost(
        pid=pid, floor=floor, floor_label=floor_label,
        author=None if deleted else (text(author_a) or None),
        author_uid=None if deleted or author_a is None else uid_from_href(author_a.get("href")),
        time=None if deleted else when.value, time_raw="" if deleted else when.raw,
        time_method=TimeMethod.NONE if deleted else when.method,
        text=parsed.text, html=parsed.html, quotes=parsed.quotes, edit_note=parsed.edit_note,
        status=status)


def _subject(doc: HtmlElement) -> str | None:
    for td in _HEADER(doc):
        if td.get("colspan") == "2" and text(td):
            return text(td)
    nav = first(_NAV(doc))
    tail = text(nav).split("»")[-1].strip() if nav is not None else ""
    return tail or None


def parse_thread(doc: HtmlElement, url: str, fetch_time: datetime | None, utc_offset: float,
                 ppp: int) -> ThreadPage:
    page, last = _pages(doc)
    posts: list[ParsedPost] = []
    index = 0
    for table in _POSTS(doc):
        index += 1
        post = _post(table, (page - 1) * ppp + index, fetch_time, utc_offset)
        if post is not None:
            posts.append(post)
        else:
            index -= 1  # a t_row without a pid anchor is not a floor
    script = _script_ids(doc)
    nav_fids = [parse_ids_from_url(a.get("href") or "").get("fid") for a in _NAV_LINKS(doc)]
    nav_fid = next((f for f in reversed(nav_fids) if f is not None), None)
    tid = parse_ids_from_url(url).get("tid") or script.get("tid") or 0
    return ThreadPage(tid=tid, fid=nav_fid or script.get("fid"), subject=_subject(doc),
                      page=page, last_page=last, generation=GEN, posts=posts)
