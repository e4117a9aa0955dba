"""Discuz! 6.x / 7.x pages (reference §1.4, §1.7): index.php, forumdisplay.php, viewthread.php.

D7 prints absolute dates (`2009-3-9 10:00`) and, without cookies, `&sid=` on every link.
"""

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

GEN = Generation.D7

_NAV_LINKS = etree.XPath("//div[@id='nav']/a")
_TITLE = etree.XPath("//title")
_INDEX_LINKS = etree.XPath(
    "//tbody[starts-with(@id, 'forum')]//h2/a | //table[starts-with(@id, 'category_')]//h2/a")
_PAGER = etree.XPath(f"(//div[{cls('pages')}])[1]")
_ROWS = etree.XPath("//tbody[starts-with(@id, 'normalthread_')"
                    " or starts-with(@id, 'stickthread_')]")
_LIST_TABLE = etree.XPath("//table[starts-with(@summary, 'forum_')]/@summary")
_BOARD_NAME = etree.XPath("//div[@id='forumheader']/h1")
_POSTS = etree.XPath("//div[@id='postlist']/div[starts-with(@id, 'post_')]")
_SUBJECT = etree.XPath("//div[@id='threadtitle']/h1")
_SCRIPT_IDS = etree.XPath("//script[contains(., 'tid = parseInt')]")
# Per-post lookups, compiled once: XPath variables carry the element ids.
_P_LABEL = etree.XPath(".//a[@id=$id]")
_P_AUTHOR = etree.XPath(f".//td[{cls('postauthor')}]/div[{cls('postinfo')}]/a")
_P_TIME = etree.XPath(".//em[@id=$id]")
_P_MESSAGE = etree.XPath(".//*[@id=$id]")
_P_LOCKED = etree.XPath(f".//div[{cls('postmessage')}]//div[{cls('locked')}]")


def site_name(doc: HtmlElement) -> str | None:
    nav = first(_NAV_LINKS(doc))
    if nav is not None and text(nav):
        return text(nav)
    title = first(_TITLE(doc))
    return (text(title).split(" - ")[0].strip() or None) if title is not None else None


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


def parse_board(doc: HtmlElement, url: str, fetch_time: datetime | None,
                utc_offset: float) -> BoardPage:
    base = base_url(doc, url)
    current, last = pager_numbers(first(_PAGER(doc)))
    rows: list[ThreadRow] = []
    for tbody in _ROWS(doc):
        tid = to_int(tbody.get("id", "").rsplit("_", 1)[-1])
        link = first(tbody.xpath(".//th//span[starts-with(@id, 'thread_')]/a"))
        if tid is None or link is None:
            continue
        author_td = first(tbody.xpath(f".//td[{cls('author')}]"))
        author_a = first(author_td.xpath(".//cite/a")) if author_td is not None else None
        created = shown_date(first(author_td.xpath("./em")) if author_td is not None else None,
                             fetch_time, utc_offset)
        nums = first(tbody.xpath(f".//td[{cls('nums')}]"))
        last_td = first(tbody.xpath(f".//td[{cls('lastpost')}]"))
        last_when = shown_date(first(last_td.xpath("./em")) if last_td is not None else None,
                               fetch_time, utc_offset)
        rows.append(ThreadRow(
            tid=tid, subject=text(link),
            url=canonical_url(urljoin(base, link.get("href") or "")),
            author=text(author_a) or None,
            author_uid=uid_from_href(author_a.get("href")) if author_a is not None else None,
            created_raw=created.raw or None,
            replies=to_int(text(first(nums.xpath("./strong")))) if nums is not None else None,
            views=to_int(text(first(nums.xpath("./em")))) if nums is not None else None,
            lastpost_raw=last_when.raw or None, lastpost=last_when.value,
            sticky=tbody.get("id", "").startswith("stickthread_"),
        ))
    summary = _LIST_TABLE(doc)
    fid = (to_int(summary[0]) if summary else None) or parse_ids_from_url(url).get("fid") or 0
    return BoardPage(fid=fid, board_name=text(first(_BOARD_NAME(doc))) or None,
                     page=current or 1, last_page=max(last, current or 1), generation=GEN,
                     rows=rows)


def _post(div: HtmlElement, floor: int, fetch_time: datetime | None,
          utc_offset: float) -> ParsedPost | None:
    pid = to_int(div.get("id", "").rsplit("_", 1)[-1])
    if pid is None:
        return None
    label = first(_P_LABEL(div, id=f"postnum{pid}"))
    floor_label = squash(label.text_content()) if label is not None else None
    author_a = first(_P_AUTHOR(div))
    when = shown_date(first(_P_TIME(div, id=f"authorposton{pid}")), fetch_time,
                      utc_offset, strip="发表于")
    message = first(_P_MESSAGE(div, id=f"postmessage_{pid}"))
    status = PostStatus.OK
    if message is None:
        locked = first(_P_LOCKED(div))
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


def _ids_from_script(doc: HtmlElement) -> tuple[int | None, int | None]:
    script = first(_SCRIPT_IDS(doc))
    if script is None:
        return None, None
    source = script.text or ""

    def grab(name: str) -> int | None:
        marker = f"{name} = parseInt('"
        i = source.find(marker)
        return to_int(source[i + len(marker):i + len(marker) + 12].split("'")[0]) if i >= 0 \
            else None

    return grab("fid"), grab("tid")


def _subject(doc: HtmlElement) -> str | None:
    h1 = first(_SUBJECT(doc))
    if h1 is not None and text(h1):
        return text(h1)
    # Pages after the first have no #threadtitle: the breadcrumb ends with the subject.
    # The words after the board's link, so a subject that itself contains "»" stays whole.
    links = _NAV_LINKS(doc)
    if not links:
        return None
    tail = squash(links[-1].tail).lstrip("»").strip()
    return tail or None


def parse_thread(doc: HtmlElement, url: str, fetch_time: datetime | None, utc_offset: float,
                 ppp: int) -> ThreadPage:
    current, last = pager_numbers(first(_PAGER(doc)))
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
    script_fid, script_tid = _ids_from_script(doc)
    nav_fids = [parse_ids_from_url(a.get("href") or "").get("fid") for a in _NAV_LINKS(doc)]
    nav_fid = next((f for f in reversed(nav_fids) if f is not None), None)
    tid = parse_ids_from_url(url).get("tid") or script_tid or 0
    return ThreadPage(tid=tid, fid=nav_fid or script_fid, subject=_subject(doc), page=page,
                      last_page=max(last, page), generation=GEN, posts=posts)
