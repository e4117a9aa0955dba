"""A post body as clean text, sanitised HTML, quotes, edit note; and a post's moderation status.

Works on the lxml element of one body (`td.t_f`, `td.t_msgfont`, `div.t_msgfont`) and mutates it:
each parse owns its tree. Discuz builds a body from BBCode with `<br />` for every line break
(followed by a raw newline), so text is the text nodes with raw newlines dropped and `<br>` as
`\\n`. Noise is removed before anything is read (reference §1.6, §1.7, §6 take-away 4):

- jammer: `font.jammer`, `span[style*=display:none]`, D4's `<font style="font-size:0px">`;
- ads and prompts: `div.a_pr`, `div.a_pt`, `div.a_pb`, `div.attach_nopermission`, scripts;
- signatures (`div.sign`), rating and comment blocks, should they sit inside the body.

Quotes (`div.quote > blockquote` on X3/D7, `div.smalltxt` QUOTE: + `div.altbg2` on D4/D5,
`div.msgheader` + `div.msgborder` on D5/D6) are taken out as `QuoteRef`s: the quoted words are
not the replier's speech.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

import lxml.html
from lxml import etree

from spiders.parsers import dates
from spiders.parsers.model import PostStatus, QuoteRef

HtmlElement = lxml.html.HtmlElement

# Elements whose text is never part of a post (removed from text and HTML alike).
_NOISE = etree.XPath(
    ".//script | .//style | .//iframe | .//object | .//embed"
    " | .//font[contains(concat(' ', normalize-space(@class), ' '), ' jammer ')]"
    # translate() lower-cases and, as the first string is longer, drops the spaces too.
    " | .//*[contains(translate(@style, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ ',"
    " 'abcdefghijklmnopqrstuvwxyz'), 'display:none')]"
    # D4 jammer: font-size 0 (but not a real size such as font-size:0.8em).
    " | .//*[(self::font or self::span) and (contains(concat(translate(@style,"
    " 'ABCDEFGHIJKLMNOPQRSTUVWXYZ ', 'abcdefghijklmnopqrstuvwxyz'), ';'), 'font-size:0;')"
    " or contains(translate(@style, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ ',"
    " 'abcdefghijklmnopqrstuvwxyz'), 'font-size:0px'))]"
    " | .//div[contains(concat(' ', normalize-space(@class), ' '), ' a_pr ')"
    " or contains(concat(' ', normalize-space(@class), ' '), ' a_pt ')"
    " or contains(concat(' ', normalize-space(@class), ' '), ' a_pb ')"
    " or contains(concat(' ', normalize-space(@class), ' '), ' attach_nopermission ')"
    " or contains(concat(' ', normalize-space(@class), ' '), ' sign ')"
    " or contains(concat(' ', normalize-space(@class), ' '), ' signatures ')"
    " or contains(concat(' ', normalize-space(@class), ' '), ' modact ')"
    " or contains(concat(' ', normalize-space(@class), ' '), ' cm ')"
    " or contains(concat(' ', normalize-space(@class), ' '), ' locked ')]"
    " | .//*[starts-with(@id, 'post_rate_div_')]"
)
_QUOTE_X3 = etree.XPath(".//div[contains(concat(' ', normalize-space(@class), ' '), ' quote ')]")
_QUOTE_D4 = etree.XPath(
    ".//div[contains(concat(' ', normalize-space(@class), ' '), ' smalltxt ')"
    " and normalize-space(.)='QUOTE:']"
    " | .//div[contains(concat(' ', normalize-space(@class), ' '), ' msgheader ')]"
)
_PSTATUS = etree.XPath(".//i[contains(concat(' ', normalize-space(@class), ' '), ' pstatus ')]")
_FINDPOST = etree.XPath(".//a[contains(@href, 'findpost')]/@href")
_ITALIC = etree.XPath(".//i")
_HIDE_HEADING = etree.XPath(
    ".//div[contains(concat(' ', normalize-space(@class), ' '), ' showhide ')]/h4")

# Elements that end a line of text even without a <br> (paragraph-level markup).
_BLOCK = frozenset({"p", "div", "li", "tr", "table", "blockquote", "h1", "h2", "h3", "h4",
                    "h5", "h6", "ol", "ul", "dl", "dt", "dd", "pre", "hr"})
_DROP_TAGS = frozenset({"script", "style", "iframe", "object", "embed", "form", "input",
                        "button", "textarea", "select"})

QUOTE_X3_HEADER = re.compile(r"^\s*(?P<author>.+?)\s+发表于\s+(?P<time>\d{4}-\d{1,2}-\d{1,2}"
                             r"(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?|\S+(?:\s\d{1,2}:\d{2})?)\s*")
QUOTE_OLD_HEADER = re.compile(r"^\s*原帖由\s*(?P<author>.+?)\s*于\s*(?P<time>.+?)\s*发表\s*")
EDIT_NOTE = re.compile(r"本帖最后由\s*(?P<by>.+?)\s*于\s*(?P<time>.+?)\s*编辑")

# Moderation markers rendered instead of a body (lang_template.php; D4/D7 equivalents).
BANNED_MARKERS = ("该帖被管理员或版主屏蔽", "作者被禁止或删除", "内容自动屏蔽")
HIDDEN_MARKERS = ("此帖仅作者可见",)
DELETED_MARKERS = ("无效楼层", "该帖已经被删除")
LOGIN_MARKERS = ("本帖为密码帖", "如果您要查看本帖隐藏内容请回复")


@dataclass(slots=True)
class Body:
    text: str
    html: str
    quotes: list[QuoteRef] = field(default_factory=list)
    edit_note: str | None = None


def has_class(el: HtmlElement, name: str) -> bool:
    return name in (el.get("class") or "").split()


def drop(el: HtmlElement) -> None:
    """Remove an element but keep its tail text (the words after it belong to the post)."""
    parent = el.getparent()
    if parent is None:
        return
    tail = el.tail
    if tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(el)


def text_of(el: HtmlElement) -> str:
    """Discuz text: raw newlines are source formatting, `<br>` and block ends are line breaks."""
    out: list[str] = []

    def newline() -> None:
        last = next((piece for piece in reversed(out) if piece), "\n")
        if not last.endswith("\n"):
            out.append("\n")

    def walk(node: HtmlElement) -> None:
        tag = node.tag if isinstance(node.tag, str) else ""
        if tag == "br":
            out.append("\n")
        elif tag and tag not in _DROP_TAGS:
            block = tag in _BLOCK
            if block:
                newline()
            if node.text:
                out.append(_clean(node.text))
            for child in node:
                walk(child)
            if block:
                newline()
        if node.tail:
            out.append(_clean(node.tail))

    if el.text:
        out.append(_clean(el.text))
    for child in el:
        walk(child)
    return _tidy("".join(out))


def _clean(s: str) -> str:
    return s.replace("\r", "").replace("\n", "").replace("\u00a0", " ")


def _tidy(s: str) -> str:
    # Trailing spaces before a break are template whitespace, never the author's words.
    lines = [line.rstrip(" \t") for line in s.split("\n")]
    return "\n".join(lines).strip("\n ").strip()


def remove_noise(el: HtmlElement) -> None:
    for node in _NOISE(el):
        drop(node)


def _quote_from(container: HtmlElement, header_source: HtmlElement, fetch_time: datetime | None,
                utc_offset: float) -> QuoteRef:
    hrefs = _FINDPOST(header_source)
    pid = None
    if hrefs and (m := re.search(r"[?&;]pid=(\d+)", hrefs[0])):
        pid = int(m[1])
    full = text_of(container)
    author: str | None = None
    time_raw: str | None = None
    words = full
    if m := QUOTE_OLD_HEADER.match(full):
        italic = _ITALIC(container)
        author = (italic[0].text_content().strip() if italic else None) or m["author"]
        time_raw, words = m["time"], full[m.end():]
    elif m := QUOTE_X3_HEADER.match(full):
        author, time_raw, words = m["author"], m["time"], full[m.end():]
    when = dates.resolve(None, time_raw, fetch_time, utc_offset) if time_raw else None
    return QuoteRef(pid=pid, author=author, time_raw=time_raw,
                    time=when.value if when else None, text=_tidy(words))


def extract_quotes(el: HtmlElement, fetch_time: datetime | None,
                   utc_offset: float) -> tuple[list[QuoteRef], list[HtmlElement]]:
    """Quotes as structure, and the elements that make them up (to be left out of the text)."""
    quotes: list[QuoteRef] = []
    parts: list[HtmlElement] = []
    for div in _QUOTE_X3(el):
        if any(div is p or div in p.iterdescendants() for p in parts):
            continue  # a quote inside a quote is part of the outer one
        inner = div.find("blockquote")
        quotes.append(_quote_from(inner if inner is not None else div, div, fetch_time,
                                  utc_offset))
        parts.append(div)
    for header in _QUOTE_D4(el):
        box = header.getnext()
        if box is None:
            continue
        quotes.append(_quote_from(box, box, fetch_time, utc_offset))
        parts += [header, box]
    return quotes, parts


def _sanitise(el: HtmlElement) -> str:
    """Inner HTML without scripts, event handlers or javascript: links."""
    for node in el.iter():
        if not isinstance(node.tag, str):
            continue
        for name in list(node.attrib):
            value = node.attrib[name]
            if name.lower().startswith("on") or (
                    name.lower() in ("href", "src") and value.strip().lower().startswith(
                        "javascript:")):
                del node.attrib[name]
    inner = [el.text or ""]
    for child in el:
        if isinstance(child.tag, str) and child.tag in _DROP_TAGS:
            if child.tail:
                inner.append(child.tail)
            continue
        inner.append(etree.tostring(child, encoding="unicode", method="html", with_tail=True))
    return "".join(inner).strip()


def parse_body(el: HtmlElement, fetch_time: datetime | None, utc_offset: float) -> Body:
    remove_noise(el)
    for heading in _HIDE_HEADING(el):  # "本帖隐藏的内容" is a caption, not the author's words
        drop(heading)
    html = _sanitise(el)
    edit_note = None
    for note in _PSTATUS(el):
        text = " ".join(note.text_content().split())
        edit_note = edit_note or text or None
        drop(note)
    quotes, parts = extract_quotes(el, fetch_time, utc_offset)
    for part in parts:
        drop(part)
    return Body(text=text_of(el), html=html, quotes=quotes, edit_note=edit_note)


def moderation_status(text: str) -> PostStatus | None:
    """The status a moderation notice (`div.locked`, `div.pct`) announces, if it is one."""
    flat = "".join(text.split())
    if any(m in flat for m in DELETED_MARKERS):
        return PostStatus.DELETED
    if any(m in flat for m in BANNED_MARKERS):
        return PostStatus.BANNED
    if any(m in flat for m in HIDDEN_MARKERS):
        return PostStatus.HIDDEN
    if any(m in flat for m in LOGIN_MARKERS):
        return PostStatus.LOGIN_REQUIRED
    return None


def edit_time(note: str | None, fetch_time: datetime | None,
              utc_offset: float) -> datetime | None:
    """When the edit note says the post was last edited."""
    if not note or not (m := EDIT_NOTE.search(note)):
        return None
    return dates.resolve(None, m["time"], fetch_time, utc_offset).value
