"""Processing-step benchmark (not a test): the flow's own step functions, batch by batch,
each timed against bare `jieba.lcut` on the same batch.

Usage: python bench/process_steps_bench.py [--posts N] [--batch B] [--digest] [--tracemalloc N]

Generates N posts (default 100,000) exactly as `bench/process_bench.py` does (demo corpus texts,
Discuz X3 HTML with jammer noise, quotes, now and then a long post), and runs them in batches
through the step functions the flow's tasks call (`pipeline.process.*_records`, on one
`StageContext`: the same user dictionary, detector, known names and keyword filter). Bare
`jieba.lcut` runs on each batch's post text right before or after the steps (alternating), so
both share the machine's load at that moment: on a busy machine the ratios stay meaningful even
when the absolute rates do not.

Prints per step: posts/s, chars/s and the step's time as a share of bare jieba's; the sum of
the steps / bare jieba (the flow's per-post work; `bench/process_bench.py` adds Prefect, the
store and start-up); one-off initialisation costs; peak memory. `--digest` also prints a SHA-256
over every post's results (language, text, quotes, tokens, hits, replacements): a faster step
must leave it unchanged.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import importlib.util
import json
import logging
import resource
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import jieba  # noqa: E402

from pipeline.process.anonymise import detect_records, pseudonymise_records  # noqa: E402
from pipeline.process.context import ContextSpec, StageContext  # noqa: E402
from pipeline.process.keywords import keyword_records  # noqa: E402
from pipeline.process.language import language_records  # noqa: E402
from pipeline.process.normalise import normalise_records  # noqa: E402
from pipeline.process.records import PostRecord  # noqa: E402
from pipeline.process.segment import segment_records  # noqa: E402

STEPS = ("normalise", "language", "anonymise", "segment", "keywords")
KEY = b"bench-key-0123456789abcdef012345"


def _process_bench():  # noqa: ANN202 - the sibling script, for its post generator
    spec = importlib.util.spec_from_file_location("process_bench", REPO / "bench" /
                                                  "process_bench.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def batches(count: int, size: int) -> Iterator[list[PostRecord]]:
    """The generated posts as the store would hand them to the flow, `size` at a time."""
    batch: list[PostRecord] = []
    for p in _process_bench().generated_posts(count):
        quotes = ([{"pid": p["n"], "author": p["quote"][0], "text": p["quote"][1][:80]}]
                  if p["quote"] else [])
        batch.append(PostRecord(p["n"] + 1, p["n"] + 1, p["thread"] + 1, p["floor"],
                                p["author"], p["html"], p["text"], quotes))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass
class Meter:
    seconds: float = 0.0
    posts: int = 0
    chars: int = 0


def step_chars(step: str, records: list[PostRecord]) -> int:
    if step == "normalise":
        return sum(len(r.html) for r in records)
    return sum(len(r.own) or len(r.text) for r in records)


def run_steps(ctx: StageContext, records: list[PostRecord], meters: dict[str, Meter]
              ) -> list[PostRecord]:
    placeholders = ctx.detector.rules.placeholders
    for step in STEPS:
        chars = step_chars(step, records)
        start = time.perf_counter()
        if step == "normalise":
            records = normalise_records(ctx, records)
        elif step == "language":
            records = language_records(ctx, records)
        elif step == "anonymise":
            records = pseudonymise_records(detect_records(ctx, records), ctx.pseudonyms,
                                           placeholders)
        elif step == "segment":
            records = segment_records(ctx, records)
        else:
            records = keyword_records(ctx, records)
        meter = meters[step]
        meter.seconds += time.perf_counter() - start
        meter.posts += len(records)
        meter.chars += chars
    return records


def bare_jieba(texts: list[str], meter: Meter) -> None:
    start = time.perf_counter()
    for text in texts:
        jieba.lcut(text)
    meter.seconds += time.perf_counter() - start
    meter.posts += len(texts)
    meter.chars += sum(map(len, texts))


def result_row(r: PostRecord) -> list[object]:
    return [r.post_version_id, r.lang, r.lang_method, r.zh_share, r.en_share, r.traditional,
            r.sentences, r.text, r.anon_quotes, r.author_pseudonym, r.replacements,
            r.token_text.split(" ") if r.token_text else [],
            r.hits]


def init_costs(spec: ContextSpec) -> tuple[StageContext, dict[str, float]]:
    costs: dict[str, float] = {}
    start = time.perf_counter()
    jieba.initialize()
    costs["jieba (global, bare baseline)"] = time.perf_counter() - start
    start = time.perf_counter()
    ctx = StageContext(spec)
    ctx.warm_up()
    costs["StageContext.warm_up (all stage objects)"] = time.perf_counter() - start
    return ctx, costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--digest", action="store_true", help="print a digest of all results")
    parser.add_argument("--tracemalloc", type=int, default=0, metavar="N",
                        help="also trace Python allocations while streaming N posts")
    args = parser.parse_args()
    logging.getLogger("jieba").setLevel(logging.WARNING)
    jieba.setLogLevel(logging.WARNING)

    users = [u for _, u in _process_bench().corpus_parts()[1]]
    spec = ContextSpec.from_files(KEY, users)
    ctx, costs = init_costs(spec)
    meters = {step: Meter() for step in STEPS}
    bare = Meter()
    digest = hashlib.sha256()
    langs: Counter[str] = Counter()
    tokens = 0
    gc.collect()
    for number, records in enumerate(batches(args.posts, args.batch)):
        texts = [r.raw_text for r in records]
        if number % 2:
            bare_jieba(texts, bare)
            records = run_steps(ctx, records, meters)
        else:
            records = run_steps(ctx, records, meters)
            bare_jieba(texts, bare)
        for r in records:
            langs[r.lang] += 1
            tokens += r.token_text.count(" ") + 1 if r.token_text else 0
            if args.digest:
                digest.update(json.dumps(result_row(r), ensure_ascii=False,
                                         sort_keys=True).encode())
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    traced = None
    if args.tracemalloc:
        tracemalloc.start()
        for records in batches(args.tracemalloc, args.batch):
            run_steps(ctx, records, {step: Meter() for step in STEPS})
        traced = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()

    print(f"{bare.posts:,} posts, {bare.chars:,} chars, batches of {args.batch}")
    print("\ninitialisation (once per process):")
    for name, seconds in costs.items():
        print(f"  {name:<44} {seconds:7.3f} s")
    print(f"\n{'step':<18}{'seconds':>9}{'posts/s':>10}{'chars/s':>12}{'/ bare jieba':>14}")

    def row(name: str, meter: Meter) -> None:
        rate = meter.posts / meter.seconds if meter.seconds else 0.0
        chars = meter.chars / meter.seconds if meter.seconds else 0.0
        print(f"{name:<18}{meter.seconds:>9.2f}{rate:>10.0f}{chars:>12.0f}"
              f"{meter.seconds / bare.seconds:>13.2f}×")

    for step in STEPS:
        row(step, meters[step])
    total = Meter(sum(m.seconds for m in meters.values()), bare.posts, bare.chars)
    row("all steps", total)
    row("bare jieba.lcut", bare)
    other = total.seconds - meters["segment"].seconds
    print(f"\nall steps / bare jieba.lcut: {total.seconds / bare.seconds:.2f}×; steps other "
          f"than segment: {other / bare.seconds:.2f}×")
    print(f"languages: {dict(langs.most_common())}; tokens: {tokens:,}")
    print(f"peak RSS: {rss_kib / 1024:.0f} MiB")
    if traced is not None:
        print(f"peak Python allocations while streaming {args.tracemalloc:,} posts "
              f"(tracemalloc): {traced / 1024:.0f} KiB")
    if args.digest:
        print(f"results digest: {digest.hexdigest()}")


if __name__ == "__main__":
    main()
