"""`CutTokenizer` gives exactly jieba's accurate-mode tokens (it only computes them faster)."""

from __future__ import annotations

import logging
from random import Random

import jieba
import pytest

from pipeline.demoforum.generate import load_corpus
from pipeline.jieba_cut import CutTokenizer
from pipeline.segment import Segmenter, load_userdict

jieba.setLogLevel(logging.WARNING)

# Characters from jieba's dictionary and outside it, Latin, digits, jieba's block characters
# (+#&._%-), white space and punctuation: random strings hit every branch of the cut.
ALPHABET = (
    "的一是了我不人在有这个上们来到时大地为子中说生国年着就那和要出也得里后自以会家可下而过"
    "天去能对小多然于心学么之都好看起发当没成只如事把还用第样道想作种开美总从无情己面最但现"
    "厂货款单价样品打代工贴牌验外贸跟报关信用证广交会模具注塑东莞宁波义乌深圳佛山慈溪𠮷鑫垚"
    "abcOEMODMfob 123 4.5% 3.5 +#&._%- \n\r\t，。！？、：；「」（）😀"
)


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[jieba.Tokenizer, CutTokenizer]:
    cache = str(tmp_path_factory.mktemp("jieba"))
    ref, fast = jieba.Tokenizer(), CutTokenizer()
    for tokenizer in (ref, fast):
        tokenizer.tmp_dir = cache
        tokenizer.initialize()
        for entry in load_userdict():  # the trade dictionary, as the flow uses it
            tokenizer.add_word(entry.word, entry.freq, entry.tag)
    return ref, fast


def test_same_tokens_on_the_whole_demo_corpus(pair: tuple[jieba.Tokenizer, CutTokenizer]
                                              ) -> None:
    ref, fast = pair
    texts = [p["text"] for t in load_corpus()["threads"] for p in t["posts"]]
    assert len(texts) > 1000
    differing = [t for t in texts if fast.cut_list(t) != list(ref.cut(t, HMM=True))]
    assert differing == []


def test_same_tokens_on_random_text(pair: tuple[jieba.Tokenizer, CutTokenizer]) -> None:
    ref, fast = pair
    rng = Random(7)
    for _ in range(5000):
        text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 60)))
        assert fast.cut_list(text) == list(ref.cut(text)), text


def test_ties_and_unknown_runs_follow_jieba(pair: tuple[jieba.Tokenizer, CutTokenizer]) -> None:
    ref, fast = pair
    # Runs of characters jieba does not know (HMM), one-character blocks, the empty string.
    for text in ("", "鑫", "鑫垚𠮷", "我们做OEM代工", "T/T付款30%", "aaaa bbbb", "\r\n\r\n",
                 "结婚的和尚未结婚的", "他说的确实在理", "工信处女干事每月经过下属科室"):
        assert fast.cut_list(text) == list(ref.cut(text)), text
        assert list(fast.cut(text)) == list(ref.cut(text)), text


def test_words_added_later_and_forced_splits(tmp_path_factory: pytest.TempPathFactory) -> None:
    cache = str(tmp_path_factory.mktemp("jieba2"))
    ref, fast = jieba.Tokenizer(), CutTokenizer()
    text = "台中正确应该不会被切开，我们在广交会上谈跟单员的事"
    for tokenizer in (ref, fast):
        tokenizer.tmp_dir = cache
        tokenizer.initialize()
        tokenizer.add_word("会被切", 50000)  # changes FREQ and total after start-up
        tokenizer.suggest_freq(("中", "将"), tune=True)
        tokenizer.add_word("跟单员")
    assert fast.cut_list(text) == list(ref.cut(text))
    assert "跟单员" in fast.cut_list(text)


def test_other_modes_are_jiebas_own(pair: tuple[jieba.Tokenizer, CutTokenizer]) -> None:
    ref, fast = pair
    text = "我们做OEM和ODM，也做自己的品牌"
    assert list(fast.cut(text, cut_all=True)) == list(ref.cut(text, cut_all=True))
    assert list(fast.cut(text, HMM=False)) == list(ref.cut(text, HMM=False))


def test_segmenter_uses_the_faster_cut() -> None:
    seg = Segmenter.from_config()
    assert isinstance(seg.tokenizer, CutTokenizer)
    tokens = seg.tokens("我们做OEM代工，也做贴牌")
    assert {"oem", "代工", "贴牌"} <= set(tokens)
    assert "，" not in tokens


def test_hmm_matches_jiebas_finalseg() -> None:
    from jieba import finalseg

    from pipeline.jieba_cut import hmm_cut

    rng = Random(11)
    # Rare characters (not in the HMM's emission tables) make scores tie at its floor value,
    # which exercises the tie rules.
    alphabet = "鑫垚𠮷犇淼焱㐀䶵丶亍乂" + ALPHABET[:120] + "ab12 "
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 30)))
        out: list[str] = []
        hmm_cut(text, out)
        assert out == list(finalseg.cut(text)), text
