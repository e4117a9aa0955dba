"""The demo corpus generator, its fake personal details, and the shipped corpus.json."""

from __future__ import annotations

import math
import re
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any

import pytest

from pipeline.demoforum import generate, pii

ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00")
PATTERNS = {  # what the anonymiser will have to recognise, value by value
    "mobile": re.compile(r"(\+86[ -]?)?1\d{2}([ -]?\d{4}){2}"),
    "landline": re.compile(r"(0\d{2,3}[- ]|\(0\d{2,3}\))\d{3,4} ?\d{4}"),
    "email": re.compile(r"[\w.]+@[\w-]+(\.[\w-]+)+"),
    "qq": re.compile(r"[1-9]\d{4,10}"),
    "wechat": re.compile(r"[A-Za-z][\w-]{5,19}"),
    "idcard": re.compile(r"\d{17}[\dX]"),
    "bankcard": re.compile(r"62\d{2}( ?\d{4}){2,3}( ?\d{1,3})?"),
    "url": re.compile(r"(https?://)?[\w.-]+\.(com|cn)"),
    "name": re.compile(r"[\u4e00-\u9fff]{2,3}"),
}


@pytest.fixture(scope="module")
def corpus() -> dict[str, Any]:
    return generate.load_corpus()


@pytest.fixture(scope="module")
def posts(corpus: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for t in corpus["threads"] for p in t["posts"]]


def when(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


# --- pii: validators -------------------------------------------------------------------------


def test_gb11643_checksum_known_numbers():
    assert pii.gb11643_check_digit("11010519491231002") == "X"  # the standard's own example
    assert pii.is_valid_idcard("11010519491231002X")
    assert pii.is_valid_idcard("11010519491231002x")
    assert not pii.is_valid_idcard("110105194912310021")  # wrong check digit
    assert not pii.is_valid_idcard("110105194902300025")  # 30 February
    assert not pii.is_valid_idcard("1101051949123100")  # too short


def test_luhn_known_numbers():
    assert pii.luhn_valid("79927398713")
    assert not pii.luhn_valid("79927398710")
    assert pii.luhn_check_digit("7992739871") == "3"
    assert pii.luhn_valid("4111 1111 1111 1111")
    assert not pii.is_valid_bankcard("4111 1111 1111 1111")  # Luhn-valid but not UnionPay
    assert not pii.luhn_valid("6222abc")


def test_mobile_validator():
    assert pii.is_valid_mobile("13812345678")
    assert pii.is_valid_mobile("+86 138 1234 5678")
    assert pii.is_valid_mobile("138-1234-5678")
    assert not pii.is_valid_mobile("12812345678")  # no 12x prefix
    assert not pii.is_valid_mobile("1381234567")


# --- pii: generators -------------------------------------------------------------------------


def test_generated_details_have_valid_formats():
    rng = Random(7)
    for _ in range(500):
        assert pii.is_valid_idcard(pii.idcard_number(rng))
        card = pii.plant_bankcard(rng).span.value
        assert pii.is_valid_bankcard(card) and 16 <= len(pii.digits_only(card)) <= 19
        assert pii.is_valid_mobile(pii.plant_mobile(rng).span.value)
        for kind in pii.PII_TYPES:
            value = pii.plant(rng, kind).span.value
            assert PATTERNS[kind].fullmatch(value), (kind, value)


def test_renderings_vary():
    rng = Random(3)
    mobiles = {re.sub(r"\d", "9", pii.plant_mobile(rng).text) for _ in range(300)}
    assert {"99999999999", "+99 999 9999 9999", "999-9999-9999"} <= mobiles
    wechat = {p.text[:p.span.start] for p in (pii.plant_wechat(rng) for _ in range(300))}
    assert {"微信：", "vx: ", "V信 ", "wx:", "威信"} <= wechat
    qq = {p.text[:p.span.start] for p in (pii.plant_qq(rng) for _ in range(300))}
    assert {"QQ：", "扣扣 "} <= qq
    names = [pii.person_name(rng) for _ in range(300)]
    assert any(n.endswith("经理") or n.endswith("总") for n in names)
    assert any(len(n) == 3 and n[-1] not in "总工姐" for n in names)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_contact_sentence_spans_are_exact(lang: str):
    rng = Random(11)
    kind_sets = [[k] for k in pii.PII_TYPES] + [list(pair) for pair in pii.PAIRS]
    kind_sets.append(["idcard", "url"])  # no pair template: glued from two
    for kinds in kind_sets * 20:
        text, spans = pii.contact_sentence(rng, kinds, lang)
        assert sorted(s.type for s in spans) == sorted(kinds)
        for s in spans:
            assert text[s.start:s.end] == s.value
            assert "{" not in text


def test_pii_is_deterministic():
    a = [pii.contact_sentence(Random(5), ["name", "mobile"]) for _ in range(3)]
    assert a[0] == a[1] == a[2]


# --- generator helpers -----------------------------------------------------------------------


def test_parse_bank_sections_and_comments():
    bank = generate.parse_bank("# note\n[subjects]\n标题一\n\n[replies]\n回复\n# x\n回复二\n")
    assert bank == {"subjects": ["标题一"], "replies": ["回复", "回复二"]}


def test_fit_keeps_order_and_end():
    assert generate.fit([0, 10, 20, 40], 400) == [0, 100, 200, 400]
    squeezed = generate.fit([0, 1000, 1001, 1002], 3)
    assert squeezed[0] == 0 and all(b > a for a, b in zip(squeezed, squeezed[1:], strict=False))


def test_excerpt():
    assert generate.excerpt("短\n句") == "短 句"
    assert generate.excerpt("字" * 50) == "字" * 40 + "..."


STUB = ("[subjects]\n{t}标题一\n{t}标题二\n[openers]\n开头一。\n开头二。\n"
        "[replies]\n回复一。\n回复二。\n")


def test_build_with_stub_sentences(tmp_path: Path):
    for theme in ("price_war", "chitchat"):
        (tmp_path / f"{theme}.txt").write_text(STUB.format(t=theme), encoding="utf-8")
    corpus = generate.build_corpus(sentences_dir=tmp_path)
    assert {t["theme"] for t in corpus["threads"]} == {"price_war", "chitchat"}
    check_structure(corpus)
    langs = {p["lang"] for t in corpus["threads"] for p in t["posts"]}
    assert langs <= {"zh", "mixed"}  # the stub has no en / zh-Hant sections to draw from


def test_bank_missing_sections_is_an_error(tmp_path: Path):
    (tmp_path / "quality.txt").write_text("[subjects]\n标题\n", encoding="utf-8")
    with pytest.raises(ValueError, match="quality"):
        generate.build_corpus(sentences_dir=tmp_path)


def test_build_is_deterministic():
    assert generate.build_corpus() == generate.build_corpus()
    assert generate.build_corpus(seed=1)["threads"] != generate.build_corpus()["threads"]


# --- the shipped corpus ----------------------------------------------------------------------


def test_shipped_corpus_is_current(corpus: dict[str, Any]):
    """corpus.json must be regenerated whenever the generator or a sentence file changes."""
    assert corpus == generate.build_corpus(), "run: python -m pipeline.demoforum.generate"
    assert generate.OUTPUT.read_text(encoding="utf-8") == generate.dump(corpus)


def check_structure(corpus: dict[str, Any]) -> None:
    """Invariants every corpus must keep, whatever its sentence banks."""
    users = {u["uid"]: u["username"] for u in corpus["users"]}
    assert len(set(users.values())) == len(users)
    fids = {b["fid"] for b in corpus["boards"]}
    anchor = when(corpus["anchor"])
    starts = []
    for t in corpus["threads"]:
        assert t["fid"] in fids and t["views"] >= len(t["posts"]) - 1
        assert [p["floor"] for p in t["posts"]] == list(range(1, len(t["posts"]) + 1))
        times = [when(p["time"]) for p in t["posts"]]
        assert all(a < b for a, b in zip(times, times[1:], strict=False))
        assert times[-1] <= anchor
        starts.append((times[0], t["tid"]))
        for p in t["posts"]:
            assert ISO.fullmatch(p["time"])
            assert users[p["author_uid"]] == p["author"]
            for span in p["pii"]:
                assert p["text"][span["start"]:span["end"]] == span["value"]
    tids = [tid for _, tid in sorted(starts)]
    assert tids == sorted(tids) and len(set(tids)) == len(tids)
    by_pid = sorted((p["pid"], p["time"]) for t in corpus["threads"] for p in t["posts"])
    assert len({pid for pid, _ in by_pid}) == len(by_pid)
    assert [tm for _, tm in by_pid] == sorted(tm for _, tm in by_pid)  # pids follow time


def test_shipped_structure(corpus: dict[str, Any]):
    assert corpus["format"] == "lurker-demo-corpus/1"
    assert corpus["seed"] == generate.SEED and corpus["anchor"] == "2026-11-20T12:00:00+08:00"
    assert corpus["site"] == {"name": "外贸人论坛 (demo)", "timeoffset": 8, "ppp": 10, "tpp": 20}
    check_structure(corpus)


def test_sizes(corpus: dict[str, Any], posts: list[dict[str, Any]]):
    threads = corpus["threads"]
    sizes = [len(t["posts"]) for t in threads]
    assert len(corpus["boards"]) >= 5
    assert len(threads) >= 320 and len(posts) >= 3600
    assert sum(n > 100 for n in sizes) >= 5
    assert sum(1 <= n <= 30 for n in sizes) >= 0.85 * len(sizes)
    assert sorted(sizes)[len(sizes) // 2] <= 10  # skewed: the median thread is short
    assert len(corpus["users"]) >= 200
    per_author = Counter(p["author"] for p in posts).most_common()
    assert per_author[0][1] >= 100 and per_author[9][1] >= 50  # some heavy posters


def test_boards_stickies_and_themes(corpus: dict[str, Any]):
    vip = [b for b in corpus["boards"] if b["login_required"]]
    assert len(vip) == 1
    by_board: dict[int, list[dict[str, Any]]] = {b["fid"]: [] for b in corpus["boards"]}
    for t in corpus["threads"]:
        by_board[t["fid"]].append(t)
    assert 3 <= len(by_board[vip[0]["fid"]]) <= 15
    for fid, threads in by_board.items():
        assert 1 <= sum(t["sticky"] for t in threads) <= 2, fid
        assert any(t["theme"] in generate.NOISE for t in threads), fid
    topical_boards = {t["fid"] for t in corpus["threads"] if t["theme"] in generate.TOPICAL}
    assert {2, 36, 41} <= topical_boards
    assert {t["theme"] for t in corpus["threads"]} == set(generate.TOPICAL + generate.NOISE)


def test_times(corpus: dict[str, Any], posts: list[dict[str, Any]]):
    anchor = when(corpus["anchor"])
    starts = {when(t["posts"][0]["time"]).year for t in corpus["threads"]}
    assert set(range(2019, 2027)) <= starts
    ages = [(anchor - when(p["time"])).total_seconds() for p in posts]
    day = 86400
    assert sum(a < 7 * day for a in ages) >= 40
    # every relative-date form occurs: 秒前/刚刚, 分钟前, 小时前, 昨天, 前天, N天前
    for lo, hi in [(0, 60), (60, 3600), (3600, day), (day, 2 * day), (2 * day, 3 * day),
                   (3 * day, 7 * day)]:
        assert any(lo <= a < hi for a in ages), (lo, hi)
    revived = 0
    for t in corpus["threads"]:
        times = [when(p["time"]) for p in t["posts"]]
        revived += any(b - a > timedelta(days=30) for a, b in zip(times, times[1:], strict=False))
    assert revived >= 10
    assert sum(p["time"][17:19] != "00" for p in posts) > 0.9 * len(posts)  # times have seconds


def test_quotes(corpus: dict[str, Any], posts: list[dict[str, Any]]):
    replies = [p for p in posts if p["floor"] > 1]
    quoting = [p for p in replies if p["quote"]]
    assert 0.10 <= len(quoting) / len(replies) <= 0.20
    for t in corpus["threads"]:
        earlier: dict[int, dict[str, Any]] = {}
        for p in t["posts"]:
            if p["quote"]:
                q = earlier[p["quote"]["pid"]]  # an earlier post of the same thread
                assert p["quote"]["author"] == q["author"] and p["quote"]["time"] == q["time"]
                flat = " ".join(q["text"].split("\n"))
                assert flat.startswith(p["quote"]["text"].removesuffix("..."))
                assert len(p["quote"]["text"]) <= 43
            earlier[p["pid"]] = p


def test_edits_moderation_review(corpus: dict[str, Any], posts: list[dict[str, Any]]):
    anchor = when(corpus["anchor"])
    users = {u["username"] for u in corpus["users"]}
    edited = [p for p in posts if p["edited"]]
    assert 0.015 <= len(edited) / len(posts) <= 0.05
    for p in edited:
        assert p["edited"]["by"] in users
        assert when(p["time"]) < when(p["edited"]["time"]) <= anchor
    moderated = [p for p in posts if p["moderation"]]
    assert 0.01 <= len(moderated) / len(posts) <= 0.03
    assert {p["moderation"] for p in moderated} == {"banned", "author_banned", "hidden", "deleted"}
    assert all(p["floor"] > 1 for p in moderated)
    assert sum(t["review"] for t in corpus["threads"]) == 3


def test_languages_and_register(posts: list[dict[str, Any]]):
    langs = Counter(p["lang"] for p in posts)
    assert set(langs) == {"zh", "zh-Hant", "en", "mixed"}
    assert langs["zh"] > 0.75 * len(posts)
    assert 20 <= langs["zh-Hant"] <= 0.06 * len(posts)
    texts = [p["text"] for p in posts]
    for marker in ["楼主", "木有", "神马", "醉了", "老铁", "顶", "mark", "同问", "😂", "👍", "🙏",
                   "MOQ", "FOB", "T/T"]:
        assert any(marker in t for t in texts), marker
    assert sum("\n" in t for t in texts) > 0.1 * len(texts)  # multi-paragraph posts
    assert sum(len(t) <= 6 for t in texts) > 0.05 * len(texts)  # one-liners
    assert any(re.match(r"@\S+ ", t) for t in texts)
    # nothing but the words marks a theme (plain words like "quality" may well occur)
    tags = re.compile("|".join(t for t in generate.TOPICAL if "_" in t) + r"|theme|\[[a-z_]+\]")
    assert not any(tags.search(t) for t in texts)


def test_planted_details(posts: list[dict[str, Any]]):
    with_pii = [p for p in posts if p["pii"]]
    assert 0.08 <= len(with_pii) / len(posts) <= 0.13
    assert sum(len(p["pii"]) >= 2 for p in posts) >= 15
    kinds = Counter(s["type"] for p in posts for s in p["pii"])
    assert set(kinds) == set(pii.PII_TYPES) and min(kinds.values()) >= 15
    for p in with_pii:
        for s in p["pii"]:
            value = s["value"]
            assert PATTERNS[s["type"]].fullmatch(value), s
            if s["type"] == "mobile":
                assert pii.is_valid_mobile(value)
            elif s["type"] == "idcard":
                assert pii.is_valid_idcard(value)
            elif s["type"] == "bankcard":
                assert pii.is_valid_bankcard(value)


def test_no_unplanted_details(posts: list[dict[str, Any]]):
    """Outside the recorded spans, nothing looks like a contact detail."""
    leak = re.compile(r"\d{7,}|[\w.]+@[\w-]+\.\w+|https?://|www\.|\.(taobao|1688)\.com")
    for p in posts:
        text = p["text"]
        for s in sorted(p["pii"], key=lambda s: -s["start"]):
            text = text[:s["start"]] + "■" + text[s["end"]:]
        assert not leak.search(text), p["text"]


# --- the topical sentence banks --------------------------------------------------------------

BANK_MINIMUM = {"subjects": 25, "openers": 40, "replies": 100, "en": 10, "zh-Hant": 8}
ZH_SECTIONS = ("subjects", "openers", "replies", "zh-Hant")
WORD = re.compile(r"[\u4e00-\u9fff]{2,}|[A-Za-z]{2,}")
CONCEPTS = {  # what researchers search for, and the themes where it must be most frequent
    "OEM": {"oem_odm_obm"}, "ODM": {"oem_odm_obm"}, "OBM": {"oem_odm_obm"},
    "贴牌": {"oem_odm_obm"}, "代工": {"oem_odm_obm"}, "转型": {"oem_odm_obm"},
    "升级": {"oem_odm_obm"}, "自主品牌": {"branding", "oem_odm_obm"}, "品牌": {"branding"},
    "研发": {"rnd_design"}, "设计": {"rnd_design"}, "打样": {"rnd_design"},
    "专利": {"ipr"}, "山寨": {"ipr"}, "仿冒": {"ipr"}, "知识产权": {"ipr"}, "侵权": {"ipr"},
    "汇率": {"exchange_rate"}, "人民币升值": {"exchange_rate"}, "贬值": {"exchange_rate"},
    "结汇": {"exchange_rate"}, "退税": {"policy"}, "政策": {"policy"}, "补贴": {"policy"},
    "关税": {"policy"}, "信保": {"policy"}, "原材料": {"costs"}, "人工成本": {"costs"},
    "成本": {"costs"}, "利润": {"price_war", "costs", "exchange_rate", "oem_odm_obm"},
    "价格战": {"price_war"}, "压价": {"price_war"}, "砍价": {"price_war"},
    "质量": {"quality"}, "返工": {"quality"}, "投诉": {"quality", "ipr"}, "验货": {"quality"},
}


@pytest.fixture(scope="module")
def banks() -> dict[str, generate.Bank]:
    found = generate.load_banks(generate.SENTENCES)
    found.pop("common")
    return found


@pytest.fixture(scope="module")
def bank_words(banks: dict[str, generate.Bank]) -> dict[str, Counter[str]]:
    """Word counts per theme over the banks' Chinese sections (jieba, words of 2+ characters)."""
    return {theme: Counter(w for section in ZH_SECTIONS for s in bank.get(section, [])
                           for w in words(s))
            for theme, bank in banks.items()}


def words(text: str) -> list[str]:
    import jieba

    return [w for w in jieba.lcut(text) if WORD.fullmatch(w)]


def test_every_theme_has_a_bank(banks: dict[str, generate.Bank]):
    assert set(banks) == set(generate.TOPICAL + generate.NOISE)


@pytest.mark.parametrize("theme", generate.TOPICAL)
def test_topical_bank_is_large_and_distinct(banks: dict[str, generate.Bank], theme: str):
    bank = banks[theme]
    for section, minimum in BANK_MINIMUM.items():
        assert len(set(bank[section])) >= minimum, (theme, section)
        assert len(set(bank[section])) == len(bank[section]), (theme, section)  # no duplicates
    sentences = [s for section in BANK_MINIMUM for s in bank[section]]
    assert len(set(sentences)) >= 180
    # hand-written, not templated: few sentences share their first or last six characters
    assert len({s[:6] for s in sentences}) >= 0.9 * len(sentences)
    assert len({s[-6:] for s in sentences}) >= 0.9 * len(sentences)
    lengths = [len(s) for s in bank["replies"]]
    assert sum(n <= 12 for n in lengths) >= 5 and sum(n >= 60 for n in lengths) >= 3  # varied
    others = {s for t, b in banks.items() if t != theme for sec in b.values() for s in sec}
    assert not others & set(sentences)  # no sentence is shared between themes


def test_topical_vocabulary_separates_themes(bank_words: dict[str, Counter[str]]):
    """Each theme's most distinctive words are mostly its own (a topic model can find it)."""
    total: Counter[str] = Counter()
    for counts in bank_words.values():
        total.update(counts)
    spread = Counter(w for counts in bank_words.values() for w in counts)
    size = sum(total.values())
    for theme in generate.TOPICAL:
        counts = bank_words[theme]
        prior = sum(counts.values()) / size
        # log-odds weighted by frequency, over words that are not everyday talk in most themes
        scored = sorted(((n * math.log(n / total[w] / prior), w) for w, n in counts.items()
                         if n >= 3 and spread[w] <= 6), reverse=True)[:15]
        own = [w for _, w in scored if counts[w] > total[w] / 2]
        assert len(scored) == 15 and len(own) >= 11, (theme, [w for _, w in scored])


def test_concept_keywords_occur_in_expected_themes(banks: dict[str, generate.Bank]):
    for keyword, expected in CONCEPTS.items():
        counts = {theme: sum(s.count(keyword) for section in ZH_SECTIONS
                             for s in bank.get(section, []))
                  for theme, bank in banks.items()}
        top = max(counts, key=counts.__getitem__)
        assert top in expected and counts[top] >= 5, (keyword, counts)
        for theme in expected:
            assert counts[theme] >= 3, (keyword, theme, counts)
    # real talk overlaps: profit worries everyone, factories talk brands too
    assert sum(bool(s.count("利润")) for t in generate.TOPICAL
               for s in banks[t]["replies"]) >= 30
    assert sum(any("利润" in s for s in banks[t]["replies"]) for t in generate.TOPICAL) >= 5


def test_threads_are_recoverable_from_their_words(corpus: dict[str, Any],
                                                  bank_words: dict[str, Counter[str]]):
    """Naive Bayes over the banks' words finds a thread's theme from its first posts."""
    vocabulary = len(set().union(*bank_words.values()))
    sizes = {theme: sum(counts.values()) for theme, counts in bank_words.items()}

    def score(theme: str, tokens: list[str]) -> float:
        counts, denominator = bank_words[theme], sizes[theme] + 0.1 * vocabulary
        return sum(math.log((counts[w] + 0.1) / denominator) for w in tokens)

    hits: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    for t in corpus["threads"]:
        if t["sticky"] or t["theme"] not in generate.TOPICAL:
            continue
        tokens = [w for p in t["posts"][:3] if p["lang"] in ("zh", "mixed")
                  for w in words(p["text"])]
        guess = max(bank_words, key=lambda theme: score(theme, tokens))
        seen[t["theme"]] += 1
        hits[t["theme"]] += guess == t["theme"]
    assert sum(hits.values()) >= 0.9 * sum(seen.values())
    assert all(hits[theme] >= 0.75 * seen[theme] for theme in generate.TOPICAL), (hits, seen)


def test_topical_share_of_threads(corpus: dict[str, Any]):
    themes = Counter(t["theme"] for t in corpus["threads"] if not t["sticky"])
    topical = sum(themes[t] for t in generate.TOPICAL)
    assert 0.55 <= topical / sum(themes.values()) <= 0.75
    assert all(themes[t] >= 12 for t in generate.TOPICAL), themes
    for fid in (2, 36, 41):
        board = [t for t in corpus["threads"] if t["fid"] == fid and not t["sticky"]]
        share = sum(t["theme"] in generate.TOPICAL for t in board) / len(board)
        assert 0.75 <= share < 1, fid  # topical boards are mostly topical, noise stays
    long_topical = [t for t in corpus["threads"]
                    if len(t["posts"]) > 100 and t["theme"] in generate.TOPICAL]
    assert len(long_topical) >= 3  # topical threads longer than 10 pages
