"""Worker processes get only the fields a step reads and send back only those it sets
(`pipeline.process.pool.TRANSFERS`): the records must come out exactly as in-process."""

from __future__ import annotations

import dataclasses

import pytest

from pipeline.anonymise.detect import load_rules
from pipeline.demoforum.generate import load_corpus
from pipeline.process.anonymise import detect_records, pseudonymise_records
from pipeline.process.context import ContextSpec, Pseudonyms
from pipeline.process.keywords import keyword_records
from pipeline.process.language import language_records
from pipeline.process.normalise import normalise_records
from pipeline.process.pool import TRANSFERS, Runner
from pipeline.process.records import PostRecord
from pipeline.process.segment import segment_records

KEY = bytes(range(32))
NAMES = ("东莞老王", "宁波小李", "eric2020", "深圳阿强")
QUOTE = ('<div class="quote"><blockquote><font size="2"><font color="#999999">宁波小李 发表于 '
         "2024-3-2 08:18</font></font><br />我们也做贴牌，电话13912345678</blockquote></div>")


def records() -> list[PostRecord]:
    """Tricky posts, then a slice of the demo corpus (text only, no HTML stored)."""
    html = [
        "我们做OEM的，东莞老王 13812345678，微信 wxid_abc123",
        QUOTE + "回复：贴牌利润太低了<br />\n@深圳阿强 你怎么看",
        "我們工廠做貼牌代工很多年了，現在想做自己的品牌。",
        "Hello, we do ODM for EU buyers, email sales@example.com",
        "",
        "<p>未闭合的<b>标签<div>OEM",
        "顶" * 5000 + "，报价多少？",
    ]
    out = [PostRecord(n, n, 1, n, "东莞老王" if n % 2 else "eric2020", h, "",
                      [{"pid": 1, "author": "宁波小李", "text": "我们也做贴牌"}] if QUOTE in h
                      else [])
           for n, h in enumerate(html)]
    corpus = load_corpus()
    posts = [p for t in corpus["threads"][:30] for p in t["posts"]]
    out += [PostRecord(100 + n, 100 + n, 2, n, p.get("author"), "", p["text"], [])
            for n, p in enumerate(posts)]
    return out


def flow_steps(runner: Runner, batch: list[PostRecord], spec: ContextSpec) -> list[PostRecord]:
    """The flow's order: detection in the runner, pseudonyms in the calling process."""
    batch = runner.run(normalise_records, batch)
    batch = runner.run(language_records, batch)
    batch = runner.run(detect_records, batch)
    pseudonymise_records(batch, Pseudonyms(spec.key, spec.names), load_rules().placeholders)
    batch = runner.run(segment_records, batch)
    return runner.run(keyword_records, batch)


@pytest.mark.parametrize("to_simplified", [False, True])
def test_two_workers_give_every_field_as_in_process(to_simplified: bool) -> None:
    spec = ContextSpec.from_files(KEY, NAMES, to_simplified=to_simplified)
    with Runner(spec, 1) as local, Runner(spec, 2) as pool:
        one = flow_steps(local, records(), spec)
        two = flow_steps(pool, records(), spec)
    assert len(one) == len(two) == len(records())
    for a, b in zip(one, two, strict=True):
        assert dataclasses.asdict(a) == dataclasses.asdict(b)
    # The chain did its work (so equality is not of empty records).
    assert any(r.replacements for r in two) and any(r.hits for r in two)
    assert any(r.tokens for r in two) and {r.lang for r in two} >= {"zh", "en", "und"}
    assert any(q["author"] for r in two for q in r.anon_quotes)


def test_every_flow_step_declares_a_transfer_of_real_fields() -> None:
    fields = {f.name for f in dataclasses.fields(PostRecord)}
    for step in (normalise_records, language_records, detect_records, segment_records,
                 keyword_records):
        transfer = TRANSFERS[step]
        assert transfer.reads and transfer.writes
        assert set(transfer.reads) <= fields and set(transfer.writes) <= fields


def test_a_batch_is_chunked_once_for_all_its_steps() -> None:
    spec = ContextSpec.from_files(KEY, NAMES)
    with Runner(spec, workers=2) as runner:
        batch = records()
        first = runner._parts(batch)
        assert sum(len(part) for part in first) == len(batch) and len(first) > 1
        assert runner._parts(batch) is first  # the same batch on its next step
        batch.append(PostRecord(999, 999, 3, 1, None, "", "又一个帖子"))
        grown = runner._parts(batch)  # a list that changed length is cut again
        assert grown is not first and sum(len(part) for part in grown) == len(batch)
        other = records()
        assert runner._parts(other) is not grown
        done = flow_steps(runner, other, spec)
    assert [r.post_version_id for r in done] == [r.post_version_id for r in records()]
