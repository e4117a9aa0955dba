"""The flow's steps as pure functions over records: edge cases of the issue, one chain each."""

from __future__ import annotations

import re
import time

import pytest

from pipeline.process.anonymise import anonymise_records
from pipeline.process.context import ContextSpec, Pseudonyms, StageContext
from pipeline.process.keywords import keyword_records
from pipeline.process.language import language_records
from pipeline.process.normalise import normalise_records
from pipeline.process.pool import Runner, chunks
from pipeline.process.records import PostRecord
from pipeline.process.segment import segment_records

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
NAMES = ("东莞老王", "宁波小李", "eric2020", "深圳阿强")
STEPS = (normalise_records, language_records, anonymise_records, segment_records,
         keyword_records)


def spec(key: bytes = KEY, **kwargs: object) -> ContextSpec:
    return ContextSpec.from_files(key, NAMES, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def ctx() -> StageContext:
    return StageContext(spec())


def record(html: str, author: str | None = "东莞老王", quotes: list[dict] | None = None,
           text: str = "", n: int = 1) -> PostRecord:
    return PostRecord(n, n, 1, n, author, html, text, quotes or [])


def tokens(r: PostRecord) -> list[str]:
    """The tokens, as the last step leaves them (joined, as stored)."""
    return r.token_text.split(" ") if r.token_text else []


def run(ctx: StageContext, *records: PostRecord) -> list[PostRecord]:
    out = list(records)
    for step in STEPS:
        out = step(ctx, out)
    return out


def test_code_switched_post_is_chinese_with_english_terms(ctx: StageContext) -> None:
    [r] = run(ctx, record("我们做OEM的，MOQ 3000pcs，FOB宁波，也可以做ODM打样。"))
    assert r.lang == "zh" and r.zh_share > r.en_share > 0
    assert {"oem", "odm", "打样"} <= set(tokens(r))
    assert r.sentences.get("mixed", 0) >= 1
    assert set(r.hits) >= {"oem", "odm"}


def test_traditional_post_flagged_and_segmented_in_simplified_form(ctx: StageContext) -> None:
    [r] = run(ctx, record("我們工廠做貼牌代工很多年了，現在想做自己的品牌。"))
    assert r.lang == "zh" and r.traditional
    assert "們" in r.text  # the stored text stays as written ...
    assert {"贴牌", "代工", "品牌"} <= set(tokens(r))  # ... tokens come from its t2s form
    assert "oem" in r.hits


def test_traditional_converted_when_the_project_asks() -> None:
    ctx = StageContext(spec(to_simplified=True))
    [r] = run(ctx, record("我們工廠做貼牌代工很多年了，現在想做自己的品牌。"))
    assert r.traditional and r.converted
    assert "们" in r.text and "們" not in r.text


def test_quoted_block_is_not_the_replier_s_speech(ctx: StageContext) -> None:
    html = ('<div class="quote"><blockquote><font size="2"><font color="#999999">宁波小李 发表于 '
            '2024-3-2 08:18</font></font><br />我的手机13812345678，OEM报价多少</blockquote></div>'
            '同意楼上，代工利润太薄了。')
    quotes = [{"pid": 9, "author": "宁波小李", "text": "我的手机13812345678，OEM报价多少"}]
    [r] = run(ctx, record(html, author="深圳阿强", quotes=quotes))
    pseudonyms = Pseudonyms(KEY, NAMES)
    assert r.text == "同意楼上，代工利润太薄了。"
    assert "oem" not in tokens(r)  # the OEM is in the quote, not in the reply
    assert r.anon_quotes == [
        {"author": pseudonyms("宁波小李"), "text": "我的手机[手机]，OEM报价多少"}]
    assert r.author_pseudonym == pseudonyms("深圳阿强")
    assert r.replacements == {"mobile": 1, "username": 1}


def test_details_replaced_and_never_in_tokens(ctx: StageContext) -> None:
    html = ("@宁波小李 加我微信 wxid_ab12cd34，邮箱 eric@163.com，电话 0769-22334455<br />"
            "联系人：王伟，店铺 https://shop123.taobao.com")
    [r] = run(ctx, record(html))
    for secret in ("宁波小李", "wxid_ab12cd34", "eric@163.com", "22334455", "王伟", "shop123"):
        assert secret not in r.text
        assert not any(secret.lower() in token for token in tokens(r))
    assert "[微信]" in r.text and "[邮箱]" in r.text and "[网址]" in r.text
    assert "微信" in tokens(r)  # the cue word stays; the placeholder never becomes a token
    assert tokens(r).count("微信") == 1
    assert r.replacements["username"] == 1


def test_empty_and_symbol_only_posts(ctx: StageContext) -> None:
    out = run(ctx, record("", text=""), record("<p>  </p>", n=2), record("👍👍", n=3))
    for r in out:
        assert r.lang == "und" and tokens(r) == [] and r.hits == {}
    assert out[2].text == "👍👍"  # emoji kept


def test_malformed_html_never_crashes(ctx: StageContext) -> None:
    html = "<div><p>工厂<b>贴牌<i>代工</div></b><font color=>报价 <<>> </p"
    [r] = run(ctx, record(html))
    assert "贴牌" in r.text and "代工" in tokens(r)


def test_huge_post_goes_through_every_step(ctx: StageContext) -> None:
    paragraph = "我们做OEM代工十年了，利润越来越薄，想转型做自主品牌。联系我 13812345678。<br />"
    html = paragraph * 12_000  # ~0.5 MB of text
    started = time.perf_counter()
    [r] = run(ctx, record(html))
    assert time.perf_counter() - started < 60
    assert "13812345678" not in r.text and r.replacements["mobile"] == 12_000
    assert r.lang == "zh" and {"oem", "transition", "obm"} <= set(r.hits)


def test_private_fields_are_dropped_after_the_last_step(ctx: StageContext) -> None:
    [r] = run(ctx, record("东莞老王说：手机13812345678"))
    assert (r.html, r.raw_text, r.own, r.seg_text, r.author) == ("", "", "", "", None)
    assert "13812345678" not in repr(r) and "东莞老王" not in repr(r)


def test_outsider_pseudonyms_deterministic_and_never_an_author_code() -> None:
    a, b = Pseudonyms(KEY, NAMES), Pseudonyms(KEY, NAMES)
    b("某甲")  # lookup order must not matter
    assert a("某乙") == b("某乙") and a("某甲") == b("某甲")
    assert a("某乙") not in a.mapping().values() and len(a("某乙")) >= 3
    assert all(re.fullmatch("[A-Z]{2}", code) for code in a.mapping().values())


def test_settings_hash_covers_key_keywords_and_options_not_names(tmp_path) -> None:
    base = spec().settings_hash()
    assert spec().settings_hash() == base
    assert spec(OTHER_KEY).settings_hash() != base
    # New authors do not change it: the register fixes codes, the flow redoes affected posts.
    assert ContextSpec.from_files(KEY, (*NAMES, "新人")).settings_hash() == base
    assert spec(to_simplified=True).settings_hash() != base
    own = tmp_path / "kw.toml"
    own.write_text('[concepts.x]\nany = ["外贸"]\n', encoding="utf-8")
    assert spec(keywords=own).settings_hash() != base
    assert KEY.hex() not in repr(spec()) and "东莞老王" not in repr(spec())


def test_pool_gives_the_same_records_as_in_process() -> None:
    texts = ["我们做OEM的，东莞老王 13812345678", "Hello, we do ODM for EU buyers.",
             "我們做貼牌", "", "@宁波小李 报价多少"] * 7
    make = lambda: [record(t, n=i) for i, t in enumerate(texts)]  # noqa: E731
    with Runner(spec(), 1) as local, Runner(spec(), 2) as pool:
        one, two = make(), make()
        for step in STEPS:
            one, two = local.run(step, one), pool.run(step, two)
    assert one == two and len(two) == len(texts)


def test_chunks_keep_order_and_everything() -> None:
    records = [record("x" * (1 + i * 50), n=i) for i in range(40)]
    parts = chunks(records, 6)
    assert 1 < len(parts) <= 6
    assert [r for part in parts for r in part] == records


def test_project_settings_from_the_workspace(tmp_path) -> None:
    from pipeline.process.settings import ProcessSettings, parse_process_settings
    from pipeline.settings import ConfigError

    (tmp_path / "kw.toml").write_text('[concepts.x]\nany = ["外贸"]\n', encoding="utf-8")
    settings = parse_process_settings(
        {"to_simplified": True, "keywords": "kw.toml", "batch_size": 500}, tmp_path)
    assert settings == ProcessSettings(to_simplified=True, keywords=tmp_path / "kw.toml",
                                       batch_size=500)
    for table, message in (({"colour": 1}, "unknown setting"),
                           ({"keywords": "missing.toml"}, "no such file"),
                           ({"batch_size": 0}, "positive integer"),
                           ({"to_simplified": "yes"}, "true or false")):
        with pytest.raises(ConfigError, match=message):
            parse_process_settings(table, tmp_path)


def test_register_issues_once_and_never_moves_a_code() -> None:
    from pipeline.anonymise import Pseudonymiser
    from pipeline.anonymise.pseudonyms import RESERVED_CODES, name_mac
    from pipeline.process.register import Register

    names = [f"会员{i}" for i in range(400)]
    register = Register(KEY)
    new, _, generation = register.learn_authors(names[:300])
    assert generation == 1 and len(new) == 300
    first = {n: register.code(n) for n in names[:300]}
    # On a first run the register gives exactly the rank-order mapping of `Pseudonymiser`.
    assert first == dict(Pseudonymiser(KEY, names=names[:300]).mapping())
    again = Register(KEY, dict(register.entries))  # as reloaded from the store
    new, _, generation = again.learn_authors(names)
    assert generation == 2 and len(new) == 100
    assert {n: again.code(n) for n in names[:300]} == first
    codes = [again.code(n) for n in names]
    assert len(set(codes)) == len(codes) and not set(codes) & RESERVED_CODES
    assert again.learn_authors(names) == ([], [], 2)  # nothing new: same generation
    assert all(len(mac) == 64 and "会员" not in mac for mac in again.entries)
    assert name_mac(KEY, "会员1") != name_mac(OTHER_KEY, "会员1")
    other = Register(OTHER_KEY)
    other.learn_authors(names)
    assert sum(other.code(n) != again.code(n) for n in names) >= 0.9 * len(names)
