"""Worker processes hold their chunks' records from the first step to the last: the archive
fields cross once, the results once (`pipeline.process.pool`). The records must come out
exactly as in-process, and nothing may stay behind in a worker."""

from __future__ import annotations

import dataclasses
import time

import pytest

from pipeline.anonymise.detect import load_rules
from pipeline.demoforum.generate import load_corpus
from pipeline.process import pool as pool_module
from pipeline.process.anonymise import detect_records
from pipeline.process.context import ContextSpec, Pseudonyms
from pipeline.process.keywords import keyword_records
from pipeline.process.language import language_records
from pipeline.process.normalise import normalise_records
from pipeline.process.pool import INTERMEDIATE_FIELDS, RESULT_FIELDS, START_FIELDS, Runner
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
    """The flow's order: detection, then the names to register and the pseudonyms (codes from
    this process), then the rest."""
    batch = runner.run(normalise_records, batch)
    batch = runner.run(language_records, batch)
    batch = runner.run(detect_records, batch)
    pseudonyms = Pseudonyms(spec.key, spec.names)
    assert runner.names_to_register(batch) >= {"东莞老王", "宁波小李", "深圳阿强"}
    runner.pseudonymise(batch, pseudonyms, load_rules().placeholders)
    batch = runner.run(segment_records, batch)
    return runner.run(keyword_records, batch)


def queued_flow_steps(runner: Runner, batch: list[PostRecord], spec: ContextSpec
                      ) -> list[PostRecord]:
    """As the flow runs them with workers: each run of steps submitted ahead (`queue`)."""
    runner.queue(batch, (normalise_records, language_records, detect_records), then_names=True)
    for step in (normalise_records, language_records, detect_records):
        batch = runner.run(step, batch)
    runner.names_to_register(batch)
    runner.pseudonymise(batch, Pseudonyms(spec.key, spec.names), load_rules().placeholders)
    runner.queue(batch, (segment_records, keyword_records))
    batch = runner.run(segment_records, batch)
    return runner.run(keyword_records, batch)


def held_in_workers(runner: Runner) -> list[int]:
    return [pool.submit(_held_count).result() for pool in runner._pools]


def _held_count() -> int:
    return len(pool_module._HELD)


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
    assert any(r.token_text for r in two) and {r.lang for r in two} >= {"zh", "en", "und"}
    assert any(q["author"] for r in two for q in r.anon_quotes)


def test_steps_queued_ahead_give_the_same_records() -> None:
    """`Runner.queue` submits a run of steps at once; what comes out is as step by step, and
    the chunks are forgotten at the end as after any chain."""
    spec = ContextSpec.from_files(KEY, NAMES)
    with Runner(spec, 1) as local, Runner(spec, 2) as pool:
        one = queued_flow_steps(local, records(), spec)  # in-process: queue does nothing
        batch = records()
        two = queued_flow_steps(pool, batch, spec)
        assert id(batch) not in pool._chunked and sum(held_in_workers(pool)) == 0
    assert [dataclasses.asdict(r) for r in one] == [dataclasses.asdict(r) for r in two]
    assert any(r.replacements for r in two) and any(r.token_text for r in two)


def _fails_on_a_planted_post(context: object, batch: list[PostRecord]) -> list[PostRecord]:
    if any("PLANTED-FAILURE" in r.own for r in batch):
        raise RuntimeError("a step failed on a planted post")
    return batch


def test_a_failure_in_a_queued_step_or_an_unchecked_call_is_raised() -> None:
    """A step that fails in a worker is raised by `run` of that step, not lost among the
    steps queued behind it; a pseudonymisation that fails in a worker (here: no
    placeholders to write) is raised by the next call that takes results."""
    spec = ContextSpec.from_files(KEY, NAMES)
    with Runner(spec, 2) as pool:
        batch = records() + [PostRecord(500, 500, 9, 1, None, "", "PLANTED-FAILURE")]
        pool.queue(batch, (normalise_records, _fails_on_a_planted_post, language_records))
        pool.run(normalise_records, batch)
        with pytest.raises(RuntimeError, match="planted post"):
            pool.run(_fails_on_a_planted_post, batch)
        other = records()
        for step in (normalise_records, language_records, detect_records):
            pool.run(step, other)
        pool.names_to_register(other)
        pool.pseudonymise(other, Pseudonyms(spec.key, spec.names), {})  # returns at once
        pool.queue(other, (segment_records,))
        with pytest.raises(KeyError):
            pool.run(segment_records, other)


def test_every_record_field_is_an_id_an_input_private_or_a_result() -> None:
    """A field added to PostRecord must be sent, dropped or sent back: else a worker's value
    of it would silently never reach the store."""
    fields = {f.name for f in dataclasses.fields(PostRecord)}
    ids = {"post_version_id", "post_id", "thread_id", "floor"}
    probe = PostRecord(1, 2, 3, 4, "作者", "<p>x</p>", "x", [{"author": "a"}], own="x",
                       quotes=[("a", "b")], spans=[None], quote_spans=[[]], seg_text="x")  # type: ignore[list-item]
    before = dataclasses.asdict(probe)
    probe.drop_private()
    private = {name for name, value in dataclasses.asdict(probe).items()
               if value != before[name]}
    assert set(START_FIELDS) <= ids | private | {"author"}
    assert fields == ids | private | set(START_FIELDS) | set(RESULT_FIELDS) | set(
        INTERMEDIATE_FIELDS)
    assert not (set(RESULT_FIELDS) & (private | ids))


def test_a_batch_is_chunked_once_and_forgotten_at_its_end() -> None:
    spec = ContextSpec.from_files(KEY, NAMES)
    with Runner(spec, workers=2) as runner:
        batch = records()
        runner.run(normalise_records, batch)
        first = runner._held(batch)
        assert sum(len(part) for part in first.parts) == len(batch) and len(first.parts) > 1
        assert set(first.workers) == {0, 1}  # both workers hold chunks
        runner.run(language_records, batch)
        assert runner._held(batch) is first  # the same chunks on its next step
        assert sum(held_in_workers(runner)) == len(first.parts)
        batch.append(PostRecord(999, 999, 3, 1, None, "", "又一个帖子"))
        with pytest.raises(ValueError, match="changed size"):
            runner.run(segment_records, batch)
        other = records()
        done = flow_steps(runner, other, spec)
        assert id(other) not in runner._chunked  # the chain ended with the keywords step
        subjects = [PostRecord(0, 0, 7, 0, "东莞老王", "", "东莞老王：电话13812345678")]
        runner.run(detect_records, runner.run(normalise_records, subjects))
        runner.pseudonymise(subjects, Pseudonyms(spec.key, spec.names), load_rules().placeholders)
        runner.finish(subjects)  # a chain that stops before the keywords step
        assert id(subjects) not in runner._chunked
        assert "13812345678" not in subjects[0].text and "[手机]" in subjects[0].text
        assert subjects[0].raw_text and subjects[0].author_pseudonym  # not dropped: no keywords
        assert sum(held_in_workers(runner)) == len(first.parts)  # only the broken batch's
    assert [r.post_version_id for r in done] == [r.post_version_id for r in records()]


def worker_pids(runner: Runner) -> list[int]:
    import os

    return [pool.submit(os.getpid).result() for pool in runner._pools]


def test_prestarted_workers_are_taken_by_a_run_with_the_same_spec_only() -> None:
    """`lurker process --workers N` starts the workers while Prefect's server starts; the flow
    takes them over if its settings are the same, and workers no run took are stopped."""
    import os

    spec = ContextSpec.from_files(KEY, NAMES)
    other = ContextSpec.from_files(KEY, NAMES, to_simplified=True)
    pool_module.prestart(spec, 2)
    try:
        with Runner.open(other, 2) as fresh:  # another spec: new workers, the prestarted stay
            assert fresh._pools and (spec, 2) in pool_module._PRESTARTED
        with Runner.open(spec, 2) as taken:
            pids = worker_pids(taken)
            assert len(set(pids)) == 2 and os.getpid() not in pids
            flow_steps(taken, records(), spec)  # they do the run's work
        with Runner.open(spec, 2) as again:  # taken once: the next run starts its own
            assert set(worker_pids(again)).isdisjoint(pids)
        pool_module.prestart(spec, 2)
        left = pool_module._PRESTARTED[(spec, 2)]
        left_pids = worker_pids(left)
        pool_module.discard_prestarted()
        assert pool_module._PRESTARTED == {} and left._pools == []
        for pid in left_pids:  # stopped, not left running
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
        pool_module.prestart(spec, 1)  # one worker: the flow's own process, nothing to start
        assert pool_module._PRESTARTED == {}
    finally:
        pool_module.discard_prestarted()


def test_workers_warm_up_while_the_first_batch_is_packed() -> None:
    """With workers, `warm_up` does not wait: the first batch's chunks queue behind it in each
    worker and come out as in-process; the seconds it reports end when the workers were ready,
    before they ran anything submitted after it."""
    spec = ContextSpec.from_files(KEY, NAMES)
    with Runner(spec, 1) as local:
        local_seconds = local.warm_up()
        one = flow_steps(local, records(), spec)
    with Runner(spec, 2) as pool:  # the workers start now, in a thread
        started = time.time()
        seconds = pool.warm_up()  # returns at once
        pool.start()  # each worker's first call is the one that reports when it was ready
        probes = [p.submit(time.time) for p in pool._pools]  # queued behind each warm-up
        two = flow_steps(pool, records(), spec)
        took = seconds()
        # The last worker to be ready ran its probe after that (each runs its calls in order).
        assert took > 0 and started + took <= max(probe.result() for probe in probes)
    assert local_seconds() == local_seconds() > 0  # in-process: done, measured once
    assert [dataclasses.asdict(r) for r in one] == [dataclasses.asdict(r) for r in two]


def test_workers_start_from_the_dictionaries_their_forkserver_loaded() -> None:
    """jieba's dictionary is read once, by the forkserver (`worker_preload`), not by each
    worker; what the workers compute is as in-process (the tests above)."""
    spec = ContextSpec.from_files(KEY, NAMES)
    with Runner(spec, 2) as pool:
        pool.warm_up()()
        loaded = [p.submit(_tokenizer_loaded_by).result() for p in pool._pools]
    (forkserver,) = {parent for _, _, parent in loaded}
    assert all(by == forkserver != pid for by, pid, _ in loaded)


def _tokenizer_loaded_by() -> tuple[int | None, int, int]:
    import os

    assert pool_module._WORKER_CONTEXT is not None
    return pool_module._WORKER_CONTEXT.segmenter.tokenizer.loaded_by, os.getpid(), os.getppid()
