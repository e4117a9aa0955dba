"""Normalise post text, and re-derive a post's own words from its stored HTML.

Two pure steps of the processing flow, each over one post:

- `normalise(text)` folds what is typed differently but means the same (full-width Latin letters
  and digits, invisible characters, runs of spaces) so that language detection, segmentation and
  keyword matching see one spelling. It keeps what a reader of Chinese would keep: Chinese
  sentence punctuation, line breaks, emoji. With `to_simplified=True` it also converts
  Traditional characters to Simplified (OpenCC `t2s`).
- `html_to_text(html)` splits a post body into the author's own words and the quoted blocks,
  dropping what the author did not write (jammer noise, ads, signatures, edit notes).

Width folding, decided: full-width ASCII forms U+FF01–U+FF5E become ASCII, *except* the seven
marks of Chinese sentence punctuation ！（），：；？ which stay full-width: they are the ordinary
punctuation of Chinese text, sentence splitting and KWIC lines rely on them, and folding them
(as NFKC does) would make `3，000` look like a number. Full NFKC is not applied for the same
reason, and because it also rewrites ① ㎡ ™ ½ which quotes should keep verbatim; NFC is applied
(it only merges canonical equivalents, e.g. CJK compatibility ideographs).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from importlib import resources

from lxml import etree
from lxml import html as lxml_html

__all__ = [
    "char_class",
    "html_to_text",
    "normalise",
    "simplified_table",
    "t2s",
    "tidy_whitespace",
    "traditional_table",
]

# Chinese sentence punctuation that stays full-width (see the module docstring).
KEEP_FULLWIDTH = frozenset("！（），：；？")

# Half-width CJK punctuation (U+FF61–U+FF64) is folded the other way, to the usual full forms.
_HALFWIDTH_CJK = {"｡": "。", "｢": "「", "｣": "」", "､": "、"}


def _width_table() -> dict[int, str]:
    table = {
        code: chr(code - 0xFEE0)
        for code in range(0xFF01, 0xFF5F)
        if chr(code) not in KEEP_FULLWIDTH
    }
    table[0x3000] = " "  # ideographic space
    table.update({ord(k): v for k, v in _HALFWIDTH_CJK.items()})
    return table


_WIDTH = _width_table()
_NEEDS_WIDTH = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(_WIDTH)) + "]")

# Characters that only ever hide things: soft hyphen, zero-width space/non-joiner, direction
# marks and embeddings, word joiner, BOM, interlinear annotation marks, and C0/C1 controls
# other than tab and newline. Forum spam inserts them between Han characters to dodge filters.
_INVISIBLE = re.compile(
    "[\u00ad\u180e\u200b\u200c\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069"
    "\ufeff\ufff9-\ufffb\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]"
)
# Emoji and the code points that glue emoji sequences together (variation selector 16, skin
# tones are inside U+1F3FB–U+1F3FF). A zero-width joiner is kept only between two of these,
# where it is part of an emoji such as 👨‍👩‍👧; anywhere else it is a hidden character.
_EMOJI = (
    "[\u00a9\u00ae\u203c\u2049\u2122\u2139\u2194-\u21ff\u2300-\u23ff\u24c2\u25a0-\u27bf"
    "\u2900-\u297f\u2b00-\u2bff\u3030\u303d\u3297\u3299\ufe0f\U0001f000-\U0001faff]"
)
_STRAY_ZWJ = re.compile(f"(?<!{_EMOJI})\u200d|\u200d(?!{_EMOJI})")

_LINE_BREAKS = re.compile("\r\n?|[\x0b\x0c\x85\u2028\u2029]")
# Horizontal white space of any kind (tab, NBSP, en/em spaces, narrow NBSP, ideographic space).
_HS = "[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]"
# The runs of horizontal white space that become one space, except a single space already:
# replacing it would change nothing, and leaving it is much faster in Latin text. Written to
# start with a character class so that `re` skips ahead at C speed.
_HSPACE_CHANGE = re.compile(f"{_HS}(?:(?<=[^ ]){_HS}*|{_HS}+)")
_BLANK_RUNS = re.compile("\n{3,}")
# Every character `normalise` removes or replaces other than by tidying runs of spaces: the
# classes of `_LINE_BREAKS`, `_INVISIBLE`, the zero-width joiner, `_WIDTH` and `_HSPACE`
# except the plain space.
_NORMALISE_WORK = re.compile(
    "[\r\x0b\x0c\x85\u2028\u2029\u200d"
    + _INVISIBLE.pattern[1:-1]
    + "".join(re.escape(chr(c)) for c in sorted(_WIDTH))
    + _HS[2:-1]
    + "]"
)


def normalise(text: str, *, to_simplified: bool = False) -> str:
    """Return `text` with widths folded, invisible characters removed and white space tidied.

    Lines are kept; within a line runs of white space become one space and the line is
    stripped; more than one blank line in a row becomes one. Emoji are kept.
    """
    if not text:
        return ""
    if _is_normal(text):
        return t2s(text) if to_simplified else text
    text = _LINE_BREAKS.sub("\n", text)
    text = _INVISIBLE.sub("", text)
    if "\u200d" in text:
        text = _STRAY_ZWJ.sub("", text)
    if _NEEDS_WIDTH.search(text):
        text = text.translate(_WIDTH)
    text = tidy_whitespace(unicodedata.normalize("NFC", text))
    return t2s(text) if to_simplified else text


def _is_normal(text: str) -> bool:
    """Whether `normalise` would give `text` back unchanged (most posts, once tidied).

    Nothing for the substitutions to find, no white space for `tidy_whitespace` to change
    (no runs, none at a line's or the text's edge, no run of blank lines), and NFC already.
    """
    return (
        _NORMALISE_WORK.search(text) is None
        and "  " not in text
        and " \n" not in text
        and "\n " not in text
        and "\n\n\n" not in text
        and not text[0].isspace()
        and not text[-1].isspace()
        and unicodedata.is_normalized("NFC", text)
    )


def tidy_whitespace(text: str) -> str:
    """Collapse white space within lines, strip lines, keep at most one blank line in a row."""
    text = _HSPACE_CHANGE.sub(" ", text)
    # No two spaces are adjacent now, so stripping the lines (removing " ?\n ?") is removing
    # the single spaces next to a line break: two `str.replace`, much faster than a regex.
    if " \n" in text or "\n " in text:
        text = text.replace(" \n", "\n").replace("\n ", "\n")
    if "\n\n\n" in text:
        text = _BLANK_RUNS.sub("\n\n", text)
    return text.strip()


# --- Traditional → Simplified -----------------------------------------------------------------

# OpenCC (opencc-python-reimplemented) slows down more than linearly on long runs of text
# without punctuation, so long texts are converted in slices cut at a line or sentence break
# where there is one. A phrase cut in two at a forced break is converted character by
# character, which differs only for the few hundred entries of OpenCC's phrase table.
_T2S_SLICE = 256
_T2S_BREAKS = ("\n", "。", "，", "！", "？", " ")


@cache
def _opencc_t2s() -> Callable[[str], str]:
    from opencc import OpenCC  # imported late: only projects that convert pay for it

    return OpenCC("t2s").convert


@cache
def _opencc_dictionary(name: str) -> dict[str, tuple[str, ...]]:
    """Read one of OpenCC's dictionary files: key → candidate conversions, first is default."""
    path = resources.files("opencc").joinpath("dictionary", name)
    table: dict[str, tuple[str, ...]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, _, values = line.partition("\t")
        if key and values:
            table[key] = tuple(values.split())
    return table


def traditional_table() -> dict[str, tuple[str, ...]]:
    """OpenCC's Traditional → Simplified character table (also used by language detection)."""
    return _opencc_dictionary("TSCharacters.txt")


def simplified_table() -> dict[str, tuple[str, ...]]:
    """OpenCC's Simplified → Traditional character table (used by language detection)."""
    return _opencc_dictionary("STCharacters.txt")


@cache
def _convertible() -> re.Pattern[str]:
    """Characters that t2s may change: any key of the character table or start of a phrase.

    Supplementary-plane characters enter as one range: a class listing them one by one makes
    `re` fall back from its bitmap to a linear scan, which was 100× slower per character.
    """
    chars = set(traditional_table())
    chars.update(phrase[0] for phrase in _opencc_dictionary("TSPhrases.txt"))
    return re.compile(char_class(c for c in chars if c <= "\uffff")[:-1] + _ASTRAL_HAN + "]")


_ASTRAL_HAN = "\U00020000-\U0003134f"


def char_class(chars: Iterable[str]) -> str:
    """A regex character class of `chars` (keep them in the BMP: see `_convertible`)."""
    return "[" + "".join(re.escape(c) for c in sorted(chars)) + "]"


def _slices(text: str, size: int = _T2S_SLICE) -> Iterator[str]:
    start, end_of_text = 0, len(text)
    while start < end_of_text:
        end = start + size
        if end < end_of_text:
            cut = max(text.rfind(mark, start, end) for mark in _T2S_BREAKS)
            end = cut + 1 if cut > start else end
        yield text[start:end]
        start = end


def t2s(text: str) -> str:
    """Convert Traditional characters to Simplified; Simplified text is returned unchanged."""
    convertible = _convertible()
    if not convertible.search(text):
        return text  # the common case on a mainland forum: nothing to convert, no OpenCC cost
    convert = _opencc_t2s()
    return "".join(
        convert(piece) if convertible.search(piece) else piece for piece in _slices(text)
    )


# --- HTML → own words + quotes ----------------------------------------------------------------

# Block elements end a line in the text; inline elements do not.
_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "center", "dd", "div", "dl", "dt", "fieldset",
    "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main",
    "nav", "ol", "p", "pre", "section", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
})
_DROP_TAGS = frozenset({"script", "style", "noscript", "template", "head", "title", "iframe"})
# Discuz classes of blocks that are not the author's words: advertisement inside a post
# (a_pr), signature (sign), edit note 本帖最后由 … 编辑 (pstatus), "you need to log in to see
# this attachment / hidden content" notices (attach_nopermission, locked).
_NOISE_CLASSES = frozenset({"a_pr", "sign", "pstatus", "attach_nopermission", "locked"})
_QUOTE_CLASSES = frozenset({"quote", "msgborder"})
_HIDDEN_STYLE = re.compile(
    r"display:none|visibility:hidden|font-size:0*\.?0+(?:px|pt|em|rem|%)?(?:;|!|$)"
)
# lxml refuses str input that declares an encoding; the declaration means nothing for a str.
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# The attribution line Discuz puts at the top of a quote: "东莞老王 发表于 2024-3-2 08:18"
# (X3), "原帖由 东莞老王 于 2009-3-2 08:18 发表" (6/7, 4/5), "引用:" / "QUOTE:" headers.
_ATTRIBUTION = re.compile(
    r"^(?:引用[:：]|quote[:：]|.{0,40}?发表于.{0,40}|原帖由.{0,80}?发表|"
    r"originally posted by.{0,80}|.{0,40}\bwrote[:：]?)$",
    re.IGNORECASE,
)
_CODE_HEADER = re.compile(r"(?:code|代码)\s*[:：]", re.IGNORECASE)
_QUOTE_HEADER = re.compile(r"^\s*(?:quote|引用)\s*[:：]", re.IGNORECASE)
_BLOCK_HEADER_CLASSES = frozenset({"msgheader", "smalltxt"})
_CODE_MARK = "data-lurker-code"
_QUOTE_MARK = "data-lurker-quote"
# The edges of blocks: several in a row (</p></div><p>) make one line break, unlike <br>s.
# Both are marked in the text by NUL and a letter: NUL never survives parsing (controls are
# removed first, &#0; becomes U+FFFD), so the marks cannot clash with text.
_SOFT_BREAK = "\x00s"
_BR = "\x00b"
_SOFT_BREAKS = re.compile("\x00s(?:[ ]*\x00s)*")
# In HTML a newline in the source is just a space; lines come from <br> and blocks.
_HTML_SPACE = re.compile(r"[ \t\r\n\f]+")


def html_to_text(html: str) -> tuple[str, list[str]]:
    """Split a post body into (own words, [quoted block texts]).

    Both are plain text with one line per `<br>` or block; jammer noise, ads, signatures and
    edit notes are removed first. Malformed HTML is repaired by lxml; empty or unparsable
    input gives ("", []).
    """
    own = _simple_text(html)
    if own is not None:
        return own, []
    root = _parse_fragment(html)
    if root is None:
        return "", []
    _drop_noise(root)
    quotes: list[str] = []
    own = _text_of(root, quotes.append)
    return own, [quote for quote in quotes if quote]


# Bodies of plain text, `<br>`s and jammer fonts (most replies on Discuz X3): characters that
# libxml2 hands back unchanged (no markup, no entities, no carriage returns, which it may fold,
# no non-characters), line breaks, and jammer text in its `<font class="jammer">` element.
_PLAIN_CHARS = "[^<&\r\ud800-\udfff\ufffe\uffff]"
_SIMPLE_BODY = re.compile(
    f"(?:{_PLAIN_CHARS}++|<br />|<br/>|<br>|<font class=\"jammer\">{_PLAIN_CHARS}*+</font>)*+"
)
# The same on the raw HTML, also without control characters: then `_CONTROL` has nothing to do.
_CLEAN_SIMPLE_BODY = re.compile(
    _SIMPLE_BODY.pattern.replace(_PLAIN_CHARS, _PLAIN_CHARS[:-1] + _CONTROL.pattern[1:])
)
_SIMPLE_JAMMER = re.compile(f"<font class=\"jammer\">{_PLAIN_CHARS}*+</font>")
_SIMPLE_MAX = 1_000_000  # far below libxml2's limits on a text node


def _simple_text(html: str) -> str | None:
    """The own words of a body of plain text, `<br>`s and jammer fonts, without parsing it.

    Parsed, it is a div of text and `<br>` elements and jammer fonts that `_drop_noise` drops
    with their text, keeping their tails; `_text_of` gives the text with a line break per
    `<br>`. Here the same text comes from the string. (libxml2 may leave out a text node of
    only white space next to a `<br>`; `tidy_whitespace` would remove it anyway.) The tests
    compare both ways on every kind of character. None when the HTML has to be parsed.
    """
    if "&" in html or len(html) > _SIMPLE_MAX:
        return None
    if _CLEAN_SIMPLE_BODY.fullmatch(html) is not None:
        text = html
    else:
        text = _CONTROL.sub("", html)
        if _SIMPLE_BODY.fullmatch(text) is None:
            return None
    if not text.strip():
        return None
    if "<" in text:
        if "<font" in text:
            text = _SIMPLE_JAMMER.sub("", text)
        text = text.replace("<br />", _BR).replace("<br/>", _BR).replace("<br>", _BR)
    # `_joined_text([_SOFT_BREAK, text])`, what `_text_of` collects from that div, with its
    # one soft break (at the start, alone) written out.
    text = "\n" + _HTML_SPACE.sub(" ", text)
    return tidy_whitespace(text.replace(_BR, "\n") if _BR in text else text)


def _parse_fragment(html: str) -> etree._Element | None:
    if not html or not html.strip():
        return None
    if "<?xml" in html:  # rare: the substitution's scan is saved on other posts
        html = _XML_DECLARATION.sub("", html, count=1)
    html = _CONTROL.sub("", html)
    try:
        return _fragment(html)
    except (etree.ParserError, ValueError):
        return None


# lxml.html's own parser settings, without its element-class lookup: that lookup is a Python
# call for every element lxml hands to Python, a third of the parsing time. Plain elements
# need `_drop_tree` and `_text_content` below instead of the HtmlElement methods.
_PARSER = etree.HTMLParser()
_FULL_HTML = re.compile(r"^\s*<(?:html|!doctype)", re.IGNORECASE)
_STRING_VALUE = etree.XPath("string()", smart_strings=False)


def _fragment(html: str) -> etree._Element:
    """`lxml.html.fragment_fromstring(html, create_parent="div")`, on `_PARSER`.

    The same steps as lxml 6 (wrap in html/body, parse, the body's children in a div); a
    document lxml.html would treat differently (a full page, not exactly one body) goes to
    lxml.html itself.
    """
    if _FULL_HTML.match(html):
        return lxml_html.fragment_fromstring(html, create_parent="div")
    document = etree.fromstring(f"<html><body>{html}</body></html>", _PARSER)
    if document is None:
        raise etree.ParserError("Document is empty")
    bodies = [child for child in document if child.tag == "body"]
    if document.tag != "html" or len(bodies) != 1:
        return lxml_html.fragment_fromstring(html, create_parent="div")
    # The body itself becomes the div, as a new div holding its children would be (moving
    # the children to a new element costs more than this): no attributes, no tail, and
    # leading text only if it is more than white space. Nothing reads the root's parent.
    root = bodies[0]
    root.tag = "div"
    if len(root.attrib):
        root.attrib.clear()
    root.tail = None
    text = root.text
    if text is not None:
        # Set again as lxml.html sets it on its new div: text with a control character
        # (from an entity such as &#1;) raises ValueError there, so it must here.
        root.text = text if text.strip() else None
    return root


def _drop_tree(element: etree._Element) -> None:
    """`HtmlElement.drop_tree`: remove `element`, keeping its tail (the words after it)."""
    parent = element.getparent()
    assert parent is not None
    tail = element.tail
    if tail:
        previous = element.getprevious()
        if previous is None:
            parent.text = (parent.text or "") + tail
        else:
            previous.tail = (previous.tail or "") + tail
    parent.remove(element)


def _text_content(element: etree._Element) -> str:
    """`HtmlElement.text_content`: all text inside `element`."""
    return _STRING_VALUE(element)


def _classes(element: etree._Element) -> frozenset[str]:
    value = element.get("class")
    return frozenset(value.split()) if value else frozenset()


def _hidden(style: str | None) -> bool:
    return bool(style) and _HIDDEN_STYLE.search(style.replace(" ", "").lower()) is not None


def _drop_noise(root: etree._Element) -> None:
    """Remove noise in place, and resolve Discuz 4/5 header + body blocks (see `_mark_block`)."""
    for element in list(root.iter())[1:]:  # the root comes first and stays
        # `_is_noise` inlined: an element without class and style (most) takes two lookups.
        tag = element.tag
        if not isinstance(tag, str) or tag in _DROP_TAGS:
            _drop_tree(element)  # keeps the tail: the words after the noise are real
            continue
        value = element.get("class")
        classes = frozenset(value.split()) if value else _NO_CLASSES
        if "jammer" in classes or classes & _NOISE_CLASSES or _hidden(element.get("style")):
            _drop_tree(element)
        elif tag == "div" and classes & _BLOCK_HEADER_CLASSES:
            _mark_block(element)


_NO_CLASSES: frozenset[str] = frozenset()


def _mark_block(header: etree._Element) -> None:
    """Discuz 4/5 renders [quote] and [code] alike: a header div ("QUOTE:" / "CODE:") and the
    body in the next div: `msgheader` + `msgborder` (stock 4/5), `smalltxt` + `altbg2`
    (FOB-style templates). The header is dropped and the body marked as a quote or as code.
    A `smalltxt` div that is not such a header (post footers use the class too) is left alone.
    """
    label = _text_content(header)
    body = header.getnext()
    if _CODE_HEADER.search(label):
        if body is not None:
            body.set(_CODE_MARK, "1")
    elif _QUOTE_HEADER.search(label):
        if body is not None:
            body.set(_QUOTE_MARK, "1")
    elif "msgheader" not in _classes(header):
        return
    _drop_tree(header)


def _is_quote(element: etree._Element, tag: object = None) -> bool:
    """Whether `element` is a quote (`tag`: its tag, when the caller has it already)."""
    if tag is None:
        tag = element.tag
    if tag == "blockquote" or element.get(_QUOTE_MARK) is not None:
        return True
    return tag == "div" and bool(_classes(element) & _QUOTE_CLASSES) and element.get(
        _CODE_MARK) is None


def _text_of(root: etree._Element, on_quote: Callable[[str], None] | None) -> str:
    """Text of `root`; each quote inside is passed to `on_quote` (or skipped) and left out."""
    parts: list[str] = []
    append = parts.append
    walker = etree.iterwalk(root, events=("start", "end"))
    for event, element in walker:
        tag = element.tag
        if event == "start":
            if _is_quote(element, tag) and not _same_quote(root, element):
                if on_quote is not None:
                    on_quote(_quote_text(element))
                walker.skip_subtree()  # its end event still comes: the tail is kept below
                continue
            if tag == "br":
                append(_BR)
            elif tag in _BLOCK_TAGS:
                append(_SOFT_BREAK)
            text = element.text
            if text:
                append(text)
        else:
            if element is root:
                break
            if tag in _BLOCK_TAGS or _is_quote(element, tag):
                append(_SOFT_BREAK)
            tail = element.tail
            if tail:
                append(tail)
    return _joined_text(parts)


def _joined_text(parts: list[str]) -> str:
    """Texts, tails and break marks collected from a tree, as plain text."""
    # HTML white space is collapsed once over the joined text, not piece by piece: the marks
    # hold no white space, so only the length of a run of spaces where two pieces meet can
    # differ, and `tidy_whitespace` makes every run one space.
    text = _SOFT_BREAKS.sub("\n", _HTML_SPACE.sub(" ", "".join(parts)))
    return tidy_whitespace(text.replace(_BR, "\n") if _BR in text else text)


def _same_quote(root: etree._Element, element: etree._Element) -> bool:
    """The root itself, or the blockquote directly inside a root div.quote (X3, 6/7 markup)."""
    return element is root or (element.getparent() is root and _is_quote(root))


def _quote_text(element: etree._Element) -> str:
    """A quote's own excerpt: nested quotes skipped, the attribution line dropped."""
    lines = _text_of(element, None).split("\n")
    while lines and _ATTRIBUTION.match(lines[0]):
        lines.pop(0)
    return "\n".join(lines).strip()

