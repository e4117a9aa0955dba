"""normalise() and html_to_text(): widths, invisible characters, t2s, quotes, noise, bad HTML."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from pipeline.normalise import html_to_text, normalise, t2s, tidy_whitespace

# --- normalise --------------------------------------------------------------------------------


def test_fullwidth_ascii_folded_chinese_punctuation_kept() -> None:
    text = "我们做ＯＥＭ的，ＭＯＱ：３０００？价格％５！"
    assert normalise(text) == "我们做OEM的，MOQ：3000？价格%5！"


def test_fullwidth_slash_and_period_fold_so_trade_terms_match() -> None:
    assert normalise("付款Ｔ／Ｔ，单价３．５美金") == "付款T/T，单价3.5美金"


def test_ideographic_space_and_runs_of_spaces_collapse() -> None:
    assert normalise("OEM\u3000\u3000ODM \t\u00a0 OBM") == "OEM ODM OBM"


def test_lines_kept_stripped_and_blank_runs_collapsed() -> None:
    text = "  第一行  \r\n\r\n\r\n\r\n 第二行\t\r第三行 \u2028第四行  "
    assert normalise(text) == "第一行\n\n第二行\n第三行\n第四行"


def test_zero_width_characters_removed_between_han() -> None:
    # Spam hides words from filters with zero-width characters between them.
    assert normalise("代\u200b工\u200c贴\u2060牌\ufeff\u200d厂\u00ad") == "代工贴牌厂"


def test_emoji_kept_including_joined_sequences() -> None:
    family = "\U0001F468\u200d\U0001F469\u200d\U0001F467"
    assert normalise(f"好的👍 {family} ❤️") == f"好的👍 {family} ❤️"


def test_control_characters_removed_newline_and_tab_meaning_kept() -> None:
    assert normalise("a\x00b\x07c\td\ne\x1b") == "abc d\ne"


def test_empty_and_whitespace_only() -> None:
    assert normalise("") == ""
    assert normalise(" \n\u3000\u200b\t ") == ""


def test_traditional_kept_unless_asked() -> None:
    text = "這個設計很好，我們的產品質量不錯"
    assert normalise(text) == text
    assert normalise(text, to_simplified=True) == "这个设计很好，我们的产品质量不错"


def test_t2s_leaves_simplified_and_latin_alone() -> None:
    text = "我们做OEM的，MOQ 3000 👍"
    assert t2s(text) == text


def test_t2s_long_run_without_punctuation_is_converted_everywhere() -> None:
    # Long texts are converted in slices; no slice may be left out or converted twice.
    unit = "我們的產品質量很好價格也便宜後來他們說這個設計"
    text = unit * 3000
    converted = t2s(text)
    assert converted == "我们的产品质量很好价格也便宜后来他们说这个设计" * 3000


def test_one_megabyte_post_is_fast() -> None:
    text = "我们做ＯＥＭ的，MOQ 3000\u200b，想转型做自主品牌👍  \n" * 40_000  # ~1.2 MB
    start = time.perf_counter()
    out = normalise(text)
    elapsed = time.perf_counter() - start
    assert out.count("\n") == 39_999
    assert "\u200b" not in out and "ＯＥＭ" not in out
    assert elapsed < 3.0  # ~0.15 s measured; a quadratic step would take minutes


def test_one_megabyte_traditional_post_converts_in_linear_time() -> None:
    unit = "我們的產品質量很好，價格也便宜。"
    small, large = unit * 5_000, unit * 40_000

    def seconds(text: str) -> float:
        start = time.perf_counter()
        normalise(text, to_simplified=True)
        return time.perf_counter() - start

    # 8× the text may take at most ~16× the time (linear with generous noise), not 64×.
    assert seconds(large) < 16 * seconds(small) + 0.5


# --- html_to_text -----------------------------------------------------------------------------

X3_POST = """
<div class="quote"><blockquote><font size="2"><a href="forum.php?mod=redirect&amp;pid=500001">
<font color="#999999">东莞老王 发表于 2024-3-2 08:18</font></a></font><br />
价格压得太低了<br />
<div class="quote"><blockquote>更早的引用</blockquote></div>
</blockquote></div><br />
我同意<font class="jammer">a8Kd2</font>，做<span style="display: none">jh7</span>OEM没前途<br />
<br />
<br />
<br />
第二段<font style="font-size:0px;color:#FFFFFF">qq</font>想做自主品牌
<i class="pstatus"> 本帖最后由 宁波小李 于 2024-3-3 10:00 编辑 </i>
<div class="a_pr"><a href="x">广告：代办出口退税</a></div>
<div class="sign">签名：专业五金OEM 20年</div>
"""


def test_x3_quote_separated_from_own_words() -> None:
    own, quotes = html_to_text(X3_POST)
    assert own == "我同意，做OEM没前途\n\n第二段想做自主品牌"
    assert quotes == ["价格压得太低了"]  # attribution line and nested quote left out


@pytest.mark.parametrize("noise", ["a8Kd2", "jh7", "qq", "本帖最后由", "广告", "签名"])
def test_noise_never_reaches_the_text(noise: str) -> None:
    own, quotes = html_to_text(X3_POST)
    assert noise not in own
    assert all(noise not in quote for quote in quotes)


def test_discuz7_quote_with_header_and_attribution() -> None:
    html = ('<div class="quote"><h5>引用:</h5><blockquote><font size="2"><font color="#999999">'
            '原帖由 <i>老王</i> 于 2009-3-2 08:18 发表</font> <a href="r"><img src="back.gif" />'
            '</a></font><br />汇率又跌了</blockquote></div>结汇要趁早')
    assert html_to_text(html) == ("结汇要趁早", ["汇率又跌了"])


def test_discuz4_msgheader_quote_and_code_block() -> None:
    html = ('<div class="msgheader">QUOTE:</div><div class="msgborder"><i>原帖由 <b>老王</b> '
            '于 2009-3-2 08:18 发表</i><br />退税率下调了</div>没错'
            '<div class="msgheader"><div class="right"><a href="#">[Copy]</a></div>CODE:</div>'
            '<div class="msgborder" id="code0">FOB Ningbo</div>')
    own, quotes = html_to_text(html)
    assert quotes == ["退税率下调了"]
    assert own == "没错\nFOB Ningbo"  # a [code] block is the author's own words


def test_hidden_style_variants_are_jammer() -> None:
    html = ('A<span style="DISPLAY:NONE">x</span>B<font style="font-size: 0pt">y</font>C'
            '<span style="visibility:hidden">z</span>D<span style="font-size:0.8em">E</span>')
    assert html_to_text(html) == ("ABCDE", [])


def test_words_after_removed_noise_are_kept() -> None:
    # drop_tree keeps the tail: text following a jammer belongs to the author.
    assert html_to_text('前<font class="jammer">噪</font>后')[0] == "前后"


def test_malformed_html_is_repaired() -> None:
    html = '<div><p>unclosed <b>bold <i>italic</p> tail <table><tr><td>a<td>b</table></span>'
    assert html_to_text(html) == ("unclosed bold italic\ntail\na\nb", [])


def test_unclosed_quote_swallows_rest_but_never_crashes() -> None:
    own, quotes = html_to_text('自己的话<blockquote>引用<br>没有关闭')
    assert own == "自己的话"
    assert quotes == ["引用\n没有关闭"]


@pytest.mark.parametrize(
    "html", ["", "   ", "\x00\x01\x02", "<!-- nur -->", "<script>alert(1)</script>",
             "<div class='sign'>sig</div>", "<br><br/>"],
)
def test_empty_or_garbage_gives_empty(html: str) -> None:
    assert html_to_text(html) == ("", [])


def test_xml_declaration_and_control_characters_tolerated() -> None:
    assert html_to_text("<?xml version='1.0' encoding='gbk'?><p>你好\x0bOEM</p>") == ("你好OEM", [])


def test_entities_and_nbsp_indentation() -> None:
    assert html_to_text("&nbsp;&nbsp;&nbsp;价格&amp;质量 &lt;3") == ("价格&质量 <3", [])


def test_huge_html_is_linear() -> None:
    unit = '<p>段落<font class="jammer">x</font>文字<br>我们做OEM的</p>'

    def seconds(count: int) -> tuple[float, str]:
        start = time.perf_counter()
        own, _ = html_to_text("<div>" + unit * count + "</div>")
        return time.perf_counter() - start, own

    small, _ = seconds(5_000)
    large, own = seconds(40_000)  # ~1.7 MB of HTML
    assert own.count("我们做OEM的") == 40_000 and "x" not in own
    assert large < 16 * small + 0.5


def test_deeply_nested_garbage_does_not_recurse() -> None:
    html = "<font>" * 5_000 + "深" + "</div>" * 10
    own, quotes = html_to_text(html)
    assert own in ("深", "")  # libxml2 may cap nesting depth; it must not raise
    assert quotes == []


# --- the demo forum's own markup ----------------------------------------------------------------


def demo_bodies(markup: str, limit: int = 600) -> list[tuple[dict, str]]:
    """(post, rendered body HTML) for demo corpus posts, as the demo forum renders them:
    Discuz BBCode output with jammer noise after line breaks, quotes and edit notes."""
    try:
        from jinja2 import Environment, FileSystemLoader

        from pipeline.demoforum import body
        from pipeline.demoforum.generate import load_corpus

        corpus = load_corpus()
        templates = Path(body.__file__).parent / "templates"
        macros = Environment(loader=FileSystemLoader(templates), autoescape=True).get_template(
            f"{markup}/_macros.html").module
    except (ImportError, FileNotFoundError, OSError) as exc:
        pytest.skip(f"demo forum not available: {exc}")
    posts = [p for t in corpus["threads"] for p in t["posts"]]
    # Every post with a quote or an edit note, then the others, up to `limit`.
    posts.sort(key=lambda p: not (p["quote"] or p["edited"]))
    jammer = body.Jammer(random.Random(7), ("外贸人论坛 (demo)", "127.0.0.1"))
    rendered = []
    for post in posts[:limit]:
        tokens = body.message(post, quote_href="http://127.0.0.1/x", quote_time="2024-3-2 08:18",
                              edit_time="2024-3-3 10:00", jammer=jammer)
        rendered.append((post, str(macros.message(tokens))))
    return rendered


@pytest.mark.parametrize("markup", ["x3", "d7", "d4"])
def test_demo_forum_bodies_give_back_the_corpus_text(markup: str) -> None:
    bodies = demo_bodies(markup)
    assert any(post["quote"] for post, _ in bodies)
    for post, html in bodies:
        own, quotes = html_to_text(html)
        assert own == tidy_whitespace(post["text"]), html
        expected = [tidy_whitespace(post["quote"]["text"])] if post["quote"] else []
        assert quotes == expected, html


# --- fast paths give what the general path gives -----------------------------------------------

_WHITE = list(" \t\n\r\x0b\x0c\x1c\x85\u2028\u3000\u00a0\u2002\u202f\u200b\u200d\u00ad")
_CHARS = _WHITE + list("ab中文後來ＯＥＭ３，。！👍❤\ufe0f\u0301é") + ["e\u0301", "\uf900"]


def _fuzz_texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(_CHARS) for _ in range(rng.randint(0, 14))) for _ in range(count)]


_HTML_PIECES = [
    "<p>", "</p>", "<br>", "<br/>", "<div class='quote'>", "<blockquote>", "</blockquote>",
    "</div>", "<div class='msgheader'>QUOTE:</div>", "<div class='msgheader'>CODE:</div>",
    "<div class='msgborder'>", "<div class='smalltxt'>引用:</div>", "<div class='smalltxt'>x</div>",
    "<div class='altbg2'>", "<font class='jammer'>", "</font>", "<span style='display:none'>",
    "</span>", "<!-- c -->", "<?pi x?>", "<script>x</script>", "<i class='pstatus'>本帖</i>",
    "&nbsp;", "&amp;", "&#1;", "&#0;", "&#x85;", " ", "  ", "\n", "\t", "\r\n", "\u3000", "文字",
    "OEM", "３０００", "\u200b", "👍", "<table><tr><td>", "</td><td>", "</table>", "<b>", "</b>",
    "东莞老王 发表于 2024-3-2 08:18", "<html>", "<body class='quote'>", "</body>", "<head>",
    "<?xml version='1.0'?>", "\x01", "<h5>引用:</h5>", "<p class='sign a'>", "。", "<div>",
]


def _fuzz_html(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    pages = []
    for _ in range(count):
        html = "".join(rng.choice(_HTML_PIECES) for _ in range(rng.randint(0, 20)))
        pages.append(rng.choice(["", "", "", " ", "<!DOCTYPE html>", "<html>"]) + html)
    return pages


def _outcome(function, *args):  # noqa: ANN001, ANN202 - result or the exception's type
    try:
        return function(*args)
    except Exception as exc:  # noqa: BLE001 - the general path's failures must be the same
        return type(exc)


def test_tidy_whitespace_equals_the_regex_formulation() -> None:
    import re

    hspace = re.compile("[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
    edges, blanks = re.compile(" ?\n ?"), re.compile("\n{3,}")
    for text in _fuzz_texts(20_000, seed=1):
        expected = blanks.sub("\n\n", edges.sub("\n", hspace.sub(" ", text))).strip()
        assert tidy_whitespace(text) == expected, repr(text)


def test_normal_text_fast_path_equals_the_general_path(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline import normalise as module

    texts = _fuzz_texts(20_000, seed=2) + [
        "我们做OEM的，MOQ 3000", "第一行\n\n第二行", "a b\nc", "後來 👍", "e\u0301", "\uf900"]
    fast = [normalise(text) for text in texts]
    assert any(module._is_normal(text) for text in texts if text)
    monkeypatch.setattr(module, "_is_normal", lambda text: False)
    for text, result in zip(texts, fast, strict=True):
        assert normalise(text) == result, repr(text)


def test_white_space_collapsed_once_equals_piece_by_piece(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pipeline import normalise as module

    def piece_by_piece(parts: list[str]) -> str:
        marks = (module._SOFT_BREAK, module._BR)
        text = "".join(p if p in marks else module._HTML_SPACE.sub(" ", p) for p in parts)
        text = module._SOFT_BREAKS.sub("\n", text).replace(module._BR, "\n")
        return tidy_whitespace(text)

    pages = _fuzz_html(5_000, seed=3) + [X3_POST]
    once = [_outcome(html_to_text, html) for html in pages]
    monkeypatch.setattr(module, "_joined_text", piece_by_piece)
    assert [_outcome(html_to_text, html) for html in pages] == once


def _random_plain(rng: random.Random) -> str:
    def char() -> str:
        r = rng.random()
        if r < 0.3:
            return chr(rng.randint(0, 0x7F))
        if r < 0.5:
            return chr(rng.randint(0x80, 0x3000))
        if r < 0.8:
            return chr(rng.randint(0x3000, 0xFFFF))
        return chr(rng.randint(0x10000, 0x10FFFF))

    return "".join(char() for _ in range(rng.randint(1, 12)))


def test_plain_text_body_equals_the_parsed_one(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline import normalise as module

    rng = random.Random(5)
    bodies = [_random_plain(rng) for _ in range(20_000)]
    bodies += ["深有同感。杂费看不懂。", "\n同问", "  a  b\n\n\n c\t", "\x01x", "\x7f", " \x85 ",
               "a\u3000b\u00a0c", "x" * 100_000, "中\n" * 50_000, "> = ' \"", "\ud800x", "\ufffe"]
    assert sum(module._simple_text(body) is not None for body in bodies) > 5_000
    _assert_same_as_parsed(bodies, monkeypatch)


def test_br_and_jammer_body_equals_the_parsed_one(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline import normalise as module

    rng = random.Random(6)
    pieces = ["<br />", "<br/>", "<br>", '<font class="jammer">', "</font>", " ", "  ", "\n",
              "\t", "\u3000", "\xa0", "a", "文字", "b c", "\x01", "\x85", "。", "\u200b"]

    def body() -> str:
        parts = []
        for _ in range(rng.randint(1, 12)):
            choice = rng.random()
            if choice < 0.55:
                parts.append(rng.choice(pieces))
            elif choice < 0.7:
                noise = "".join(rng.choice(" x\n中") for _ in range(rng.randint(0, 3)))
                parts.append(f'<font class="jammer">{noise}</font>')
            else:
                parts.append(_random_plain(rng)[:2])
        return "".join(parts)

    bodies = [body() for _ in range(20_000)] + [
        '我同意<font class="jammer">a8Kd2</font>，做<br />\n<br />\n第二段',
        '<font class="jammer">x</font> <font class="jammer">y</font>b', "<br />" * 3,
        '<br />\n<font class="jammer"> </font>\n尾', "<BR>", '<font class="Jammer">x</font>',
        ('段落<font class="jammer">x</font>文字<br />' * 40_000)]
    assert sum(module._simple_text(body) is not None for body in bodies) > 10_000
    _assert_same_as_parsed(bodies, monkeypatch)


def _assert_same_as_parsed(bodies: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline import normalise as module

    fast = [_outcome(html_to_text, body) for body in bodies]
    monkeypatch.setattr(module, "_simple_text", lambda html: None)
    for body, result in zip(bodies, fast, strict=True):
        assert _outcome(html_to_text, body) == result, repr(body)
