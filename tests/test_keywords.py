"""KeywordFilter: boolean rules, phrases, tokens, versions, thread rule, KWIC and sampling."""

from __future__ import annotations

import time
import tomllib
from collections import Counter
from pathlib import Path

import pytest

from pipeline.keywords import KeywordFilter, KwicLine, KwicSampler, keep_thread, kwic
from pipeline.segment import Segmenter


def make(concepts: dict, min_posts: int = 2) -> KeywordFilter:
    return KeywordFilter.from_dict({"thread": {"min_posts": min_posts}, "concepts": concepts})


@pytest.fixture(scope="module")
def seg() -> Segmenter:
    return Segmenter.from_config()


# --- matching ---------------------------------------------------------------------------------


def test_any_all_not() -> None:
    kf = make({"c": {"any": ["OEM", "代工"], "all": ["品牌"], "not": ["招聘"]}})
    assert kf.match_post("我们做代工，也想做品牌") == {"c": ["代工", "品牌"]}
    assert kf.match_post("我们做代工") == {}  # all: 品牌 missing
    assert kf.match_post("我们做品牌") == {}  # any: none matched
    assert kf.match_post("招聘OEM业务员，懂品牌") == {}  # not: vetoed


def test_all_only_concept_and_alternatives() -> None:
    kf = make({"path": {"all": ["OEM|代工|贴牌", "自主品牌|own brand"]}})
    assert kf.match_post("从贴牌到自主品牌") == {"path": ["贴牌", "自主品牌"]}
    assert kf.match_post("OEM now, our own brand later") == {"path": ["oem", "own brand"]}
    assert kf.match_post("只做贴牌") == {}


def test_chinese_is_substring_english_is_whole_word_case_insensitive() -> None:
    kf = make({"b": {"any": ["品牌", "brand"]}})
    assert kf.match_post("做自主品牌") == {"b": ["品牌"]}
    assert kf.match_post("our BRAND, Brand.") == {"b": ["brand"]}
    assert kf.match_post("brands and rebrand and brandnew") == {}
    assert kf.match_post("做OEM的brand都是客户的") == {"b": ["brand"]}  # Han is a boundary


def test_prefix_keyword() -> None:
    kf = make({"b": {"any": ["brand*"]}})
    assert kf.match_post("Branding and brands") == {"b": ["brand*"]}
    assert kf.match_post("rebranding") == {}


@pytest.mark.parametrize("text", ["自主品牌", "自主 品牌", "自主\n品牌", "我们的自主品牌之路"])
def test_chinese_phrase_allows_no_or_white_space(text: str) -> None:
    assert make({"obm": {"any": ["自主 品牌"]}}).match_post(text) == {"obm": ["自主 品牌"]}


@pytest.mark.parametrize(("text", "hit"), [("our own brand", True), ("Own   Brand", True),
                                          ("ownbrand", False), ("own brands", False),
                                          ("brand own", False)])
def test_english_phrase_needs_space_and_order(text: str, hit: bool) -> None:
    kf = make({"obm": {"any": ["own brand"]}})
    assert bool(kf.match_post(text)) is hit


def test_token_only_keyword_needs_tokens(seg: Segmenter) -> None:
    kf = make({"t": {"any": ["=升级"]}})
    text = "消费升级了"
    assert kf.match_post(text) == {}  # no tokens given: a token-only keyword cannot match
    assert kf.match_post(text, seg.tokens(text)) == {"t": ["=升级"]}
    assert kf.match_post("系统升级了", seg.tokens("系统升级了")) == {}  # 系统升级 is one token


def test_tokens_catch_traditional_text_after_t2s(seg: Segmenter) -> None:
    from pipeline.normalise import normalise

    kf = make({"cap": {"any": ["设计能力", "研发"]}})
    text = "我們的設計能力和研發都不錯"
    assert kf.match_post(text) == {}
    tokens = seg.tokens(normalise(text, to_simplified=True))
    assert kf.match_post(text, tokens) == {"cap": ["设计能力", "研发"]}


def test_phrase_matches_consecutive_tokens_only() -> None:
    kf = make({"p": {"any": ["=自主 品牌"]}})
    assert kf.match_post("", ["做", "自主", "品牌"]) == {"p": ["=自主 品牌"]}
    assert kf.match_post("", ["品牌", "自主"]) == {}
    assert kf.match_post("", ["自主", "研发", "品牌"]) == {}


def test_slash_and_ampersand_terms() -> None:
    kf = make({"pay": {"any": ["T/T", "L/C", "R&D"]}})
    assert kf.match_post("付款t/t或者L/C，R&D在深圳") == {"pay": ["t/t", "l/c", "r&d"]}
    assert kf.match_post("AT/TB") == {}


def test_bundled_list_on_code_switched_posts(seg: Segmenter) -> None:
    kf = KeywordFilter.from_toml()
    text = "我们做OEM的，MOQ 3000，想转型做自主品牌"
    hits = kf.match_post(text, seg.tokens(text))
    assert hits["oem"] == ["oem"]
    assert hits["obm"] == ["自主品牌"]
    assert hits["transition"] == ["转型"]
    assert "oem_to_obm" in hits
    assert kf.match_post("诚聘OEM业务员") == {}


def test_index_finds_exactly_what_trying_every_keyword_finds(seg: Segmenter) -> None:
    from pipeline.keywords import TokenView

    kf = KeywordFilter.from_toml()
    texts = [
        "我们做OEM的，MOQ 3000，想转型做自主品牌", "Our own Brand, contract manufacturing, R&D",
        "Branding & pricing: anti-dumping tariffs", "這個設計很好，產品創新", "诚聘OEM业务员",
        "价格战打得厉害，利润率越来越低，人民币升值", "", "👍", "ODM公版方案，贴牌也做",
    ]
    for text in texts:
        tokens = seg.tokens(text)
        view = TokenView(tokens)
        lowered = text.lower()
        every = {
            kw.source for concept in kf.concepts for kw in concept.keywords()
            if kw.in_text(lowered) or kw.in_tokens(view)
        }
        brute = {c.name: found for c in kf.concepts if (found := c.evaluate(every))}
        assert kf.match_post(text, tokens) == brute, text


def _brute_force(kf: KeywordFilter, text: str, tokens: list[str]) -> dict[str, list[str]]:
    """What `match_post` must return: every keyword tried on its own, `Concept.evaluate`."""
    from pipeline.keywords import TokenView

    view = TokenView(tokens)
    lowered = text.lower()
    every = {
        kw.source for concept in kf.concepts for kw in concept.keywords()
        if kw.in_text(lowered) or kw.in_tokens(view)
    }
    return {c.name: found for c in kf.concepts if (found := c.evaluate(every))}


# Overlapping and nested keywords (报价|价格|价格战, 人民币升值|升值), prefix chains (cost* and
# costing*), a phrase whose probe is its second word, all/not rules, shared keywords.
_TRICKY = {
    "price": {"any": ["报价", "价格", "价格战", "低价", "price*", "pricing", "cost*", "costing*"]},
    "fx": {"any": ["人民币升值", "升值", "rmb", "exchange rate*"], "not": ["招聘"]},
    "brand": {"all": ["品牌|brand*|own brand", "自主|own"], "not": ["代运营"]},
    "overlap": {"any": ["ab", "ba", "aba", "a b", "=升级", "转型升级", "r&d"]},
    "phrase": {"any": ["自主 品牌", "raw material*", "=自主 研发"]},
}
_PIECES = ["报价", "价格", "战", "人民币", "升值", "品牌", "自主", "own", "brand", "Brand",
           "BRANDS", "price", "Pricing", "costing", "costs", "cost", "exchange", "rate", "rates",
           "rmb", "aba", "ab", "b", "a", "转型", "升级", "r&d", "R&D", "raw", "materials", "招聘",
           "代运营", " ", "，", "\n", "x", "1"]


def test_fast_index_matches_brute_force_on_overlaps_and_prefixes() -> None:
    import random

    kf = make(_TRICKY)
    rng = random.Random(7)
    texts = ["报价格战", "人民币升值了", "abab", "a b a", "ownbrand", "own  brand", "OWN Brand",
             "costingcost", "转型升级", "R&D", "xr&d", "价格价格战报价", ""]
    for _ in range(400):
        texts.append("".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 12))))
    for text in texts:
        # Tokens as the segmenter gives them, upper-case ones (the per-token lowering path)
        # and random ones that are not in the text at all.
        pieces = [w for w in text.split() if w]
        for tokens in (pieces, [w.lower() for w in pieces],
                       [rng.choice(_PIECES).strip() or "x" for _ in range(rng.randint(0, 6))]):
            assert kf.match_post(text, tokens) == _brute_force(kf, text, tokens), (text, tokens)


def test_fast_index_edge_tokens() -> None:
    kf = make(_TRICKY)
    for tokens in (["cost\x1fx"], ["a\x1fcosting"], ["", "price"], ["COSTING", "Pricing"],
                   ["自主", "品牌"], ["自主", "研发"], ["raw", "materials"], ["ΑΣ", "σ"]):
        assert kf.match_post("", tokens) == _brute_force(kf, "", tokens), tokens
    assert kf.match_post("", ["COSTING"]) == {"price": ["cost*", "costing*"]}
    assert kf.match_post("报价格战", []) == {"price": ["报价", "价格", "价格战"]}


def test_empty_and_one_megabyte_posts() -> None:
    kf = KeywordFilter.from_toml()
    assert kf.match_post("", []) == {}
    unit = "我们做OEM的，MOQ 3000，想转型做自主品牌，price is OK\n"
    tokens = ["做", "oem", "moq", "转型", "做", "自主品牌", "price", "ok"]

    def seconds(count: int) -> tuple[float, dict[str, list[str]]]:
        start = time.perf_counter()
        hits = kf.match_post(unit * count, tokens * count)
        return time.perf_counter() - start, hits

    small, _ = seconds(3_000)
    large, hits = seconds(24_000)  # ~0.9 MB of text, 190,000 tokens
    assert {"oem", "obm", "transition", "price", "oem_to_obm"} <= set(hits)
    assert large < 16 * small + 0.5
    assert kwic(unit * 24_000, "自主 品牌", width=5) == "…，想转型做【自主品牌】，pric…"


# --- configuration and version ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"concepts": {}}, "no \\[concepts"),
        ({"concepts": {"c": {"not": ["x"]}}}, "needs keywords"),
        ({"concepts": {"c": {"any": ["x"], "none": ["y"]}}}, "unknown key"),
        ({"concepts": {"c": {"any": "OEM"}}}, "list of strings"),
        ({"concepts": {"c": {"any": ["品*"]}}}, "prefix"),
        ({"concepts": {"c": {"any": ["品牌x*"]}}}, "prefix"),
        ({"concepts": {"c": {"any": ["a*b"]}}}, "not at the end"),
        ({"concepts": {"c": {"any": ["OEM||ODM"]}}}, "empty"),
        ({"thread": {"min_posts": 0}, "concepts": {"c": {"any": ["x"]}}}, "min_posts"),
        ({"keywords": {}, "concepts": {"c": {"any": ["x"]}}}, "unknown table"),
    ],
)
def test_bad_lists_are_rejected_with_a_reason(data: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        KeywordFilter.from_dict(data)


def test_version_ignores_order_case_spacing_labels_and_comments(tmp_path: Path) -> None:
    one = tmp_path / "one.toml"
    one.write_text('[concepts.a]\nlabel = "A"\nany = ["OEM", "自主  品牌"]\n', encoding="utf-8")
    two = tmp_path / "two.toml"
    two.write_text('# comment\n[concepts.a]\nany = ["自主 品牌", "oem", "OEM"]\n',
                   encoding="utf-8")
    assert KeywordFilter.from_toml(one).version == KeywordFilter.from_toml(two).version


@pytest.mark.parametrize(
    "change",
    [
        {"concepts": {"a": {"any": ["OEM", "ODM"]}}},  # keyword added
        {"concepts": {"a": {"any": ["ODM"]}}},  # keyword changed
        {"concepts": {"b": {"any": ["OEM"]}}},  # concept renamed
        {"concepts": {"a": {"any": ["OEM"], "not": ["招聘"]}}},  # rule added
        {"concepts": {"a": {"all": ["OEM"]}}},  # same keyword, other rule
        {"concepts": {"a": {"any": ["=OEM"]}}},  # token-only
        {"thread": {"min_posts": 3}, "concepts": {"a": {"any": ["OEM"]}}},  # thread rule
    ],
)
def test_version_changes_when_the_list_changes(change: dict) -> None:
    base = KeywordFilter.from_dict({"concepts": {"a": {"any": ["OEM"]}}})
    changed = KeywordFilter.from_dict(change)
    assert len(base.version) == 64
    assert changed.version != base.version


def test_bundled_list_loads_and_documents_its_syntax() -> None:
    kf = KeywordFilter.from_toml()
    assert {"oem", "odm", "obm", "transition", "capabilities", "branding", "price", "quality",
            "ipr"} <= set(kf.names)
    assert kf.min_posts >= 1
    from importlib import resources

    text = resources.files("config").joinpath("keywords.toml").read_text("utf-8")
    assert KeywordFilter.from_dict(tomllib.loads(text)).version == kf.version
    assert "Syntax" in text and "any =" in text and "not =" in text


# --- thread rule ------------------------------------------------------------------------------

HIT = {"oem": ["oem"]}
NOISE = {"ads": ["广告"]}


def test_thread_kept_when_first_post_matches() -> None:
    assert keep_thread(HIT, [HIT, {}, {}], min_posts=3)


def test_thread_kept_when_enough_posts_match() -> None:
    assert keep_thread({}, [{}, HIT, {}, HIT], min_posts=2)
    assert not keep_thread({}, [{}, HIT, {}, {}], min_posts=2)
    assert not keep_thread({}, [], min_posts=1)


def test_thread_rule_can_count_some_concepts_only() -> None:
    posts = [{}, NOISE, NOISE, HIT]
    assert keep_thread({}, posts, min_posts=2)
    assert not keep_thread({}, posts, min_posts=2, concepts={"oem"})
    assert not keep_thread(NOISE, posts, min_posts=2, concepts={"oem"})


def test_thread_rule_uses_list_min_posts() -> None:
    kf = make({"oem": {"any": ["OEM"]}}, min_posts=3)
    assert not kf.keep_thread({}, [HIT, HIT])
    assert kf.keep_thread({}, [HIT, HIT, HIT])


def test_thread_rule_streams_and_stops_early() -> None:
    def posts():
        yield HIT
        yield HIT
        raise AssertionError("read past the deciding post")

    assert keep_thread({}, posts(), min_posts=2)


# --- KWIC -------------------------------------------------------------------------------------


def test_kwic_window_ellipsis_and_one_line() -> None:
    text = "我们做OEM的，MOQ 3000，想转型做自主品牌，\n因为代工利润太低了"
    assert kwic(text, "自主 品牌", width=8) == "…000，想转型做【自主品牌】， 因为代工利润…"
    assert kwic(text, "OEM", width=3) == "我们做【OEM】的，M…"
    assert kwic("Our OWN brand", "own brand") == "Our 【OWN brand】"
    assert kwic(text, "贸易战") == ""


def test_kwic_uses_first_occurrence_and_word_boundaries() -> None:
    assert kwic("brands, then brand", "brand", width=5) == "…then 【brand】"


# --- sampling ---------------------------------------------------------------------------------


def stream(sampler: KwicSampler, n: int, concepts: tuple[str, ...] = ("a", "b")) -> None:
    for i in range(n):
        for concept in concepts:
            sampler.offer(concept, f"{concept}{i}")


def test_sampler_is_deterministic_for_a_seed() -> None:
    one, two, other = KwicSampler(42, 5), KwicSampler(42, 5), KwicSampler(43, 5)
    for sampler in (one, two, other):
        stream(sampler, 1000)
    assert one.samples() == two.samples()
    assert one.samples() != other.samples()
    assert one.seen("a") == 1000 and len(one.samples()["a"]) == 5


def test_sampler_concepts_do_not_influence_each_other() -> None:
    alone, mixed = KwicSampler(7, 4), KwicSampler(7, 4)
    stream(alone, 500, ("a",))
    stream(mixed, 500, ("b", "a", "c"))
    assert alone.samples()["a"] == mixed.samples()["a"]


def test_sampler_keeps_everything_below_k() -> None:
    sampler = KwicSampler(1, 10)
    stream(sampler, 3, ("a",))
    assert sampler.samples() == {"a": ["a0", "a1", "a2"]}


def test_sampler_is_uniform() -> None:
    # Each of 20 items should be kept with probability k/n = 1/4 over many seeds.
    counts: Counter[str] = Counter()
    runs = 2000
    for seed in range(runs):
        sampler = KwicSampler(seed, 5)
        stream(sampler, 20, ("a",))
        counts.update(sampler.samples()["a"])
    expected = runs * 5 / 20
    assert all(abs(counts[f"a{i}"] - expected) < 0.15 * expected for i in range(20))


def test_sampler_offer_post_makes_kwic_lines() -> None:
    kf = make({"oem": {"any": ["OEM", "代工"]}})
    sampler: KwicSampler[KwicLine] = KwicSampler(3, 2)
    for pid, text in enumerate(["我们做OEM的", "代工利润太低", "没有关键词"]):
        sampler.offer_post(text, kf.match_post(text), ref=pid, width=2)
    lines = sampler.samples()["oem"]
    assert [line.line for line in lines] == ["…们做【OEM】的", "【代工】利润…"]
    assert [line.ref for line in lines] == [0, 1]


def test_sampler_rejects_empty_reservoir() -> None:
    with pytest.raises(ValueError):
        KwicSampler(1, 0)


# --- demo corpus ------------------------------------------------------------------------------


def test_demo_corpus_topical_threads_are_kept_more_than_noise(seg: Segmenter) -> None:
    try:
        from pipeline.demoforum.generate import load_corpus

        corpus = load_corpus()
    except (ImportError, FileNotFoundError) as exc:
        pytest.skip(f"demo corpus not available: {exc}")
    kf = KeywordFilter.from_toml()
    kept: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for thread in corpus["threads"]:
        hits = [kf.match_post(p["text"], seg.tokens(p["text"])) for p in thread["posts"]]
        total[thread["theme"]] += 1
        kept[thread["theme"]] += kf.keep_thread(hits[0], hits)
    topical = ("oem_odm_obm", "branding", "rnd_design", "ipr", "quality", "price_war")
    if not any(total[theme] for theme in topical):
        pytest.skip("demo corpus has no topical threads yet")
    for theme in topical:
        assert kept[theme] >= 0.9 * total[theme], theme
    noise = ("chitchat", "jobs")
    assert sum(kept[t] for t in noise) < 0.5 * sum(total[t] for t in noise)


def test_offer_post_samples_exactly_what_offering_every_kwic_line_would() -> None:
    """offer_post builds a line only for items the reservoir takes: the sample, the seen
    counts and the random draws must equal offering every line of every hit."""
    texts = ["我们做OEM贴牌，也做ODM", "贴牌利润低", "只做 oem", "没有关键词", "ODM和OEM都做"]
    hits = {"oem": ["oem", "贴牌"], "odm": ["odm"], "tokens_only": ["=贴牌工厂"]}
    fast, slow = KwicSampler("s", 3), KwicSampler("s", 3)
    for n in range(200):
        text = texts[n % len(texts)] + f" 第{n}帖"
        fast.offer_post(text, hits, ref=n)
        for concept, keywords in hits.items():
            for keyword in keywords:
                line = kwic(text, keyword)
                if line:
                    slow.offer(concept, KwicLine(concept, keyword, line, n))
    assert fast.samples() == slow.samples()
    assert {c: fast.seen(c) for c in hits} == {c: slow.seen(c) for c in hits}
    assert fast.seen("oem") > 3 and fast.seen("tokens_only") == 0
