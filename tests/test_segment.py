"""Segmenter: trade terms whole, stop words and noise dropped, cheap to ship to workers."""

from __future__ import annotations

import pickle
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import jieba
import pytest

from pipeline import segment
from pipeline.keywords import KeywordFilter
from pipeline.segment import (
    Segmenter,
    UserWord,
    load_stopwords,
    load_userdict,
    parse_userdict,
    preload_tokenizer,
)

USERWORDS = load_userdict()


@pytest.fixture(scope="module")
def seg() -> Segmenter:
    return Segmenter.from_config()


def test_bundled_dictionary_is_large_enough_and_complete() -> None:
    words = {w.word for w in USERWORDS}
    assert len(words) >= 80
    assert all(w.freq and w.tag for w in USERWORDS)  # frequencies and POS for every entry
    assert {"OEM", "ODM", "OBM", "T/T", "L/C", "信用证", "自主品牌", "出口退税", "广交会"} <= words


@pytest.mark.parametrize("entry", USERWORDS, ids=lambda w: w.word)
def test_every_user_word_is_one_token_in_context(seg: Segmenter, entry: UserWord) -> None:
    sentence = f"老板说{entry.word}这个事情要重视"
    assert entry.word.lower() in seg.tokens(sentence)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("付款方式T/T，L/C都可以", ["付款", "方式", "t/t", "l/c"]),
        ("T/T付款，B/L副本", ["t/t", "付款", "b/l", "副本"]),
        ("我们做OEM的，MOQ 3000", ["做", "oem", "moq"]),
        ("想转型做自主品牌，出口退税太低", ["转型", "做", "自主品牌", "出口退税", "太低"]),
        ("人民币升值，贸易战，汇率", ["人民币升值", "贸易战", "汇率"]),
    ],
)
def test_trade_terms_survive(seg: Segmenter, text: str, expected: list[str]) -> None:
    assert seg.tokens(text) == expected


def test_slash_terms_only_protected_as_whole_words(seg: Segmenter) -> None:
    # "AT/TB" is not T/T: Latin letters touch the match on both sides.
    assert "t/t" not in seg.tokens("code AT/TB here")


def test_english_lower_cased_stop_words_and_contractions_dropped(seg: Segmenter) -> None:
    tokens = seg.tokens("We don't do OEM, it's our OWN Brand and the Price is good")
    assert tokens == ["oem", "own", "brand", "price", "good"]


def test_chinese_stop_words_and_forum_noise_dropped(seg: Segmenter) -> None:
    tokens = seg.tokens("顶！楼主说的是我们的价格问题了，谢谢分享")
    assert tokens == ["价格"]


def test_punctuation_numbers_and_emoji_dropped(seg: Segmenter) -> None:
    tokens = seg.tokens("价格3.5美金！！30% 2024年 👍😂 ……  ———  12,000")
    assert tokens == ["价格", "美金", "年"]


def test_letters_glued_to_digits_split_unless_a_user_term(seg: Segmenter) -> None:
    assert seg.tokens("MOQ3000pcs，3000pcs起订") == ["moq", "起订"]
    assert seg.tokens("B2B平台") == ["b2b", "平台"]


def test_empty_and_symbol_only(seg: Segmenter) -> None:
    assert seg.tokens("") == []
    assert seg.tokens("  👍 。。。 \n") == []


def test_own_tokenizer_leaves_global_jieba_alone(seg: Segmenter) -> None:
    seg.warm_up()
    assert seg.tokenizer is not jieba.dt
    jieba.dt.check_initialized()
    assert "自主品牌" not in jieba.dt.FREQ  # our user words went to our tokenizer only


def test_pickle_carries_configuration_not_the_dictionary(seg: Segmenter) -> None:
    seg.warm_up()
    payload = pickle.dumps(seg)
    assert len(payload) < 50_000  # jieba's prefix dictionary is ~20 MB in memory
    copy = pickle.loads(payload)
    assert copy.tokens("T/T付款做OEM") == seg.tokens("T/T付款做OEM")
    assert copy.tokenizer is seg.tokenizer  # same process: one tokenizer for both


def _tokens_in_worker(payload: tuple[Segmenter, str]) -> list[str]:
    segmenter, text = payload
    return segmenter.tokens(text)


def test_worker_process_gets_same_tokens(seg: Segmenter) -> None:
    text = "我们做OEM的，付款T/T，想转型做自主品牌"
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        assert pool.submit(_tokens_in_worker, (seg, text)).result() == seg.tokens(text)


def test_project_files_replace_bundled_ones(tmp_path: Path) -> None:
    userdict = tmp_path / "userdict.txt"
    userdict.write_text("# project terms\n转厂 5000 vn\nD/P 3000 eng\n", encoding="utf-8")
    stop_zh = tmp_path / "zh.txt"
    stop_zh.write_text("工厂\n", encoding="utf-8")
    stop_en = tmp_path / "en.txt"
    stop_en.write_text("price\n", encoding="utf-8")
    seg = Segmenter.from_config(userdict, stop_zh, stop_en, cache_dir=tmp_path)
    # Only the project's stop words apply: 工厂 and price go, 要 and 的 stay.
    assert seg.tokens("工厂要转厂，D/P的price") == ["要", "转厂", "d/p", "的"]


def test_a_preloaded_dictionary_is_taken_once_with_the_user_words_added(tmp_path: Path) -> None:
    """What a worker does with the dictionary its forkserver preloaded (`worker_preload`):
    the first tokenizer starts from it, the next loads its own; tokens are as without it."""
    import os

    words = (UserWord("转厂预载", 5000, "n"),)  # words no other test caches a tokenizer for
    other = (UserWord("预载贴牌", 5000, "n"),)
    preload_tokenizer(str(tmp_path))
    preloaded = segment._PRELOADED[0]
    first = Segmenter(words, (), cache_dir=tmp_path / "elsewhere")  # any cache folder
    assert first.tokenizer is preloaded and segment._PRELOADED == []
    second = Segmenter(other, (), cache_dir=tmp_path)
    assert second.tokenizer is not preloaded and second.tokenizer.loaded_by == os.getpid()
    assert first.tokens("我们做转厂预载的") == ["我们", "做", "转厂预载", "的"]
    own = Segmenter(words, (), cache_dir=None)  # no preload: jieba's dictionary read anew
    text = "东莞的工厂做OEM贴牌，付款T/T，现在想转型做自主品牌"
    assert first.tokens(text) == second.tokens(text) == own.tokens(text)


def test_parse_userdict_reports_bad_lines() -> None:
    assert parse_userdict("\ufeffOEM 5000 eng\n# c\n\n跟单\n") == [
        UserWord("OEM", 5000, "eng"), UserWord("跟单", None, None)]
    with pytest.raises(ValueError, match="entry 2"):
        parse_userdict("OEM 5000 eng\nown brand 3 n\n")


def test_no_keyword_or_user_word_is_a_stop_word() -> None:
    stopwords = load_stopwords()
    user = {w.word.lower() for w in USERWORDS}
    keywords = {
        part
        for concept in KeywordFilter.from_toml().concepts
        for groups in (concept.any, concept.all)
        for group in groups
        for keyword in group
        for part in keyword.parts
    }
    assert not (user | keywords) & stopwords


def test_demo_corpus_segments_with_terms_intact(seg: Segmenter) -> None:
    try:
        from pipeline.demoforum.generate import load_corpus

        corpus = load_corpus()
    except (ImportError, FileNotFoundError) as exc:
        pytest.skip(f"demo corpus not available: {exc}")
    texts = [p["text"] for t in corpus["threads"] for p in t["posts"]]
    tokens = [token for text in texts for token in seg.tokens(text)]
    assert "oem" in tokens and "OEM" not in tokens
    assert not [t for t in tokens if not any(ch.isalpha() for ch in t)]
    assert len(tokens) > 20_000


def test_one_megabyte_is_linear(seg: Segmenter) -> None:
    unit = "我们做OEM的，付款T/T，想转型做自主品牌👍\n"

    def seconds(count: int) -> tuple[float, int]:
        start = time.perf_counter()
        n = len(seg.tokens(unit * count))
        return time.perf_counter() - start, n

    seg.warm_up()
    small, n_small = seconds(4_000)
    large, n_large = seconds(32_000)  # ~0.8 MB
    assert n_large == 8 * n_small
    assert large < 16 * small + 0.5
