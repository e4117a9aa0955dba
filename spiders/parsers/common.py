"""Helpers every generation parser shares: building the tree, links, numbers, pagers, dates."""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import urljoin

import lxml.html
from lxml import etree

from spiders.parsers import dates
from spiders.parsers.model import TimeMethod

HtmlElement = lxml.html.HtmlElement
XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
DIGITS = re.compile(r"\d+")


class ParseError(ValueError):
    """The page is not what the parser was asked to read (or too broken to read safely)."""


def cls(name: str) -> str:
    """XPath test for one class among several (`class="pl bm"` has class `pl`)."""
    # The plain contains() fails fast on most elements before the costly exact-token test.
    return (f"(contains(@class, '{name}')"
            f" and contains(concat(' ', normalize-space(@class), ' '), ' {name} '))")


def parse_document(html: str | bytes) -> HtmlElement:
    """The page as an lxml tree; lxml recovers from broken markup, an empty page is an error."""
    if isinstance(html, str):
        # lxml refuses str input that declares an encoding; the declaration says nothing now.
        html = XML_DECL.sub("", html, count=1)
    if not html or not html.strip():
        raise ParseError("empty page")
    try:
        return lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError) as exc:
        raise ParseError(f"unparseable page: {exc}") from exc


def looks_truncated(html: str | bytes) -> bool:
    """Every Discuz template ends with `</html>`; a page without it was cut off in transit."""
    tail = html[-2048:]
    if isinstance(tail, bytes):
        return b"</html>" not in tail.lower()
    return "</html>" not in tail.lower()


_BASE = etree.XPath("/html/head/base/@href | /html/body/base/@href")


def base_url(doc: HtmlElement, url: str) -> str:
    """Discuz pages carry `<base href>`; relative links resolve against it (reference §7)."""
    found = _BASE(doc)
    return urljoin(url, found[0].strip()) if found and found[0].strip() else url


def to_int(text: str | None) -> int | None:
    if not text:
        return None
    m = DIGITS.search(text.replace(",", ""))
    return int(m[0]) if m else None


def squash(text: str | None) -> str:
    return " ".join((text or "").replace("\u00a0", " ").split())


def first(nodes: list) -> HtmlElement | None:
    return nodes[0] if nodes else None


def text(el: HtmlElement | None) -> str:
    return squash(el.text_content()) if el is not None else ""


_TITLED = etree.XPath(".//span[@title]")


def shown_date(el: HtmlElement | None, fetch_time: datetime | None,
               utc_offset: float, strip: str = "") -> dates.ParsedTime:
    """A printed date: `<span title=ABS>relative</span>` or plain text (minus a `strip` prefix)."""
    if el is None:
        return dates.ParsedTime(None, "", TimeMethod.NONE)
    titled = _TITLED(el)
    # X3 wraps `title` spans in plain spans (list creation dates): the titled one is innermost.
    title = titled[-1].get("title") if titled else el.get("title")
    shown = text(titled[-1]) if titled else text(el)
    if strip and shown.startswith(strip):
        shown = shown[len(strip):].strip()
    return dates.resolve(title, shown, fetch_time, utc_offset)


def pager_numbers(pager: HtmlElement | None) -> tuple[int | None, int]:
    """(current page, last page) from a Discuz pager: the `strong`/current item, and the
    largest page number any of its links or labels mention."""
    if pager is None:
        return None, 1
    current = None
    numbers: list[int] = []
    for node in pager.iter():
        if not isinstance(node.tag, str):
            continue
        label = squash(node.text)
        if any(c in (node.get("class") or "") for c in ("p_total", "p_pages")):
            continue  # D5: item count and "cur/last" (read by the D4 parser itself)
        if node.tag == "strong" or "p_curpage" in (node.get("class") or ""):
            current = to_int(label) or current
        title = node.get("title") or ""
        if title.startswith("共"):
            numbers.append(to_int(title) or 0)
        if node.tag in ("a", "strong") and label:
            n = to_int(label)
            if n is not None and label.strip(". |‹›<>") and not label.startswith("下一页"):
                numbers.append(n)
    if current is not None:
        numbers.append(current)
    return current, max(numbers) if numbers else 1
