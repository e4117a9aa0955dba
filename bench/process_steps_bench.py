"""Processing-step benchmark (not a test): throughput of the per-post steps of the corpus flow.

Usage: python bench/process_steps_bench.py [--posts N] [--seed S] [--tracemalloc N]

Builds N synthetic posts (default 100,000) by combining texts of the demo corpus (one to three
posts joined, now and then a long post of 10–40), streams them through each step and prints,
per step, posts/s and chars/s; the ratio of normalise + language + segment + keywords to bare
`jieba.lcut` on the same texts (the flow's budget is 1.5×; both run on each post in turn, so
they share the machine's load); one-off initialisation costs; and
peak memory (RSS of the process; with --tracemalloc N, also the peak of Python allocations
while streaming N posts, which shows that nothing grows with N).

Posts are generated on the fly and results are not kept: the benchmark itself runs in
constant memory, like the flow's batches.
"""

from __future__ import annotations

import argparse
import gc
import logging
import resource
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from random import Random

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import jieba  # noqa: E402

from pipeline.demoforum.generate import load_corpus  # noqa: E402
from pipeline.keywords import KeywordFilter  # noqa: E402
from pipeline.language import detect_language  # noqa: E402
from pipeline.normalise import normalise, t2s  # noqa: E402
from pipeline.segment import Segmenter  # noqa: E402

STEPS = ("normalise", "language", "t2s (Traditional only)", "segment", "keywords")


def corpus_texts() -> list[str]:
    corpus = load_corpus()
    texts = [post["text"] for thread in corpus["threads"] for post in thread["posts"]]
    return [text for text in texts if text.strip()]


def synthetic_posts(texts: list[str], count: int, seed: int) -> Iterator[str]:
    """`count` posts, each one to three corpus texts joined; about 1 in 200 is long."""
    rng = Random(seed)
    for _ in range(count):
        parts = rng.randint(10, 40) if rng.random() < 0.005 else rng.choice((1, 1, 1, 2, 3))
        yield "\n".join(rng.choice(texts) for _ in range(parts))


@dataclass
class Meter:
    seconds: float = 0.0
    posts: int = 0
    chars: int = 0

    def add(self, seconds: float, chars: int) -> None:
        self.seconds += seconds
        self.posts += 1
        self.chars += chars


@dataclass
class Run:
    meters: dict[str, Meter] = field(default_factory=lambda: {s: Meter() for s in STEPS})
    langs: Counter[str] = field(default_factory=Counter)
    concepts: Counter[str] = field(default_factory=Counter)
    tokens: int = 0


def timed(meter: Meter, step: Callable[[str], object], text: str) -> object:
    start = time.perf_counter()
    result = step(text)
    meter.add(time.perf_counter() - start, len(text))
    return result


def process(raw: str, run: Run, seg: Segmenter, kf: KeywordFilter) -> None:
    """The flow's per-post steps, each timed; only counters are kept."""
    m = run.meters
    text = timed(m["normalise"], normalise, raw)
    lang = timed(m["language"], detect_language, text)
    run.langs[lang.tag] += 1
    # Traditional posts are segmented in Simplified, so tokens and keywords agree.
    source = timed(m["t2s (Traditional only)"], t2s, text) if lang.traditional else text
    tokens = timed(m["segment"], seg.tokens, source)
    run.tokens += len(tokens)
    start = time.perf_counter()
    hits = kf.match_post(text, tokens)
    m["keywords"].add(time.perf_counter() - start, len(text))
    run.concepts.update(hits.keys())


def run_interleaved(posts: Iterator[str], seg: Segmenter, kf: KeywordFilter) -> tuple[Run, Meter]:
    """Steps and bare jieba.lcut on each post, in alternating order.

    Interleaving puts both under the same machine load, and alternating who goes first
    cancels the advantage of the second call on the same text (warm CPU caches).
    """
    run, bare = Run(), Meter()
    for number, raw in enumerate(posts):
        if number % 2:
            timed(bare, jieba.lcut, raw)
            process(raw, run, seg, kf)
        else:
            process(raw, run, seg, kf)
            timed(bare, jieba.lcut, raw)
    return run, bare


def stream_steps(posts: Iterator[str], seg: Segmenter, kf: KeywordFilter) -> Run:
    run = Run()
    for raw in posts:
        process(raw, run, seg, kf)
    return run


def init_costs(texts: list[str]) -> tuple[Segmenter, KeywordFilter, dict[str, float]]:
    costs: dict[str, float] = {}
    start = time.perf_counter()
    jieba.initialize()
    costs["jieba (global, bare baseline)"] = time.perf_counter() - start
    start = time.perf_counter()
    seg = Segmenter.from_config()
    seg.warm_up()
    costs["Segmenter (own tokenizer + user dict)"] = time.perf_counter() - start
    start = time.perf_counter()
    kf = KeywordFilter.from_toml()
    costs["KeywordFilter.from_toml"] = time.perf_counter() - start
    start = time.perf_counter()
    detect_language("這個設計很好，我們的產品")  # variant tables
    detect_language("Nous sommes une usine à Dongguan.")  # langdetect profiles
    costs["language (tables, langdetect profiles)"] = time.perf_counter() - start
    start = time.perf_counter()
    t2s("這個設計")
    costs["OpenCC t2s"] = time.perf_counter() - start
    return seg, kf, costs


def report(run: Run, bare: Meter, costs: dict[str, float], rss_kib: int,
           traced: int | None) -> None:
    print("\ninitialisation (once per process):")
    for name, seconds in costs.items():
        print(f"  {name:<42} {seconds:7.3f} s")
    print(f"\n{'step':<26}{'posts':>9}{'seconds':>10}{'posts/s':>11}{'chars/s':>12}")

    def row(name: str, meter: Meter) -> None:
        rate = meter.posts / meter.seconds if meter.seconds else 0.0
        chars = meter.chars / meter.seconds if meter.seconds else 0.0
        print(f"{name:<26}{meter.posts:>9}{meter.seconds:>10.3f}{rate:>11.0f}{chars:>12.0f}")

    for name, meter in run.meters.items():
        row(name, meter)
    posts = run.meters["normalise"]
    total = Meter(sum(m.seconds for m in run.meters.values()), posts.posts, posts.chars)
    row("all steps", total)
    row("bare jieba.lcut", bare)
    print(f"\nratio all steps / bare jieba.lcut: {total.seconds / bare.seconds:.2f}"
          "  (budget 1.5)")
    overhead = total.seconds - run.meters["segment"].seconds
    print(f"steps other than segment: {overhead / bare.seconds:.2f} of bare jieba time")
    print(f"languages: {dict(run.langs.most_common())}")
    print(f"posts per concept: {dict(run.concepts.most_common())}")
    print(f"tokens: {run.tokens}")
    print(f"peak RSS: {rss_kib / 1024:.0f} MiB")
    if traced is not None:
        print(f"peak Python allocations while streaming (tracemalloc): {traced / 1024:.0f} KiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--tracemalloc", type=int, default=0, metavar="N",
                        help="also trace Python allocations while streaming N posts")
    args = parser.parse_args()
    logging.getLogger("jieba").setLevel(logging.WARNING)

    texts = corpus_texts()
    seg, kf, costs = init_costs(texts)
    print(f"{args.posts} posts from {len(texts)} demo corpus texts, seed {args.seed}")
    gc.collect()
    run, bare = run_interleaved(synthetic_posts(texts, args.posts, args.seed), seg, kf)
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    traced = None
    if args.tracemalloc:
        tracemalloc.start()
        stream_steps(synthetic_posts(texts, args.tracemalloc, args.seed + 1), seg, kf)
        traced = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    report(run, bare, costs, rss_kib, traced)


if __name__ == "__main__":
    main()
