"""Processing-flow benchmark (not a test): the real `lurker-process` flow on a large archive.

Usage: python bench/process_bench.py [--posts N] [--workers 1,2] [--also M] [--batch B] [--repeat R]

1. Generates N posts (default 100,000) from the demo corpus into a fresh SQLite archive, streamed
   in chunks (each post one to three corpus texts, about 1 in 200 long, 1 in 8 quoting an earlier
   post; bodies rendered as Discuz X3 HTML with jammer noise), through bulk inserts.
2. Runs the Prefect flow once per worker count, each in a fresh child process (so the peak RSS is
   that run's own), after clearing the processed posts so nothing is reused, and reports posts/s
   and chars/s per step and for the whole flow (timed as `lurker process` runs it: the stage
   objects built while Prefect's API server starts; then the whole flow call, the flow run's
   creation and end at the API included), that start-up, and peak memory (the flow
   process, and the largest worker process). With 1 among the worker counts, the 1-worker run
   is repeated on one core (the child and everything it starts pinned to one CPU, Prefect's
   server included): the one-core baseline of the targets (`--no-one-core` skips it).
3. Times bare `jieba.lcut` on the same posts' text, and prints the ratio of the whole flow to it.
With `--also M`, the 1-worker run is repeated on the first M posts only: equal peak memory for
M and N posts shows that memory does not grow with the corpus.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

STEPS = ("normalise", "language", "anonymise", "segment", "keywords")
POSTS_PER_THREAD = 12
CHUNK = 5000


# --- 1. a large archive, streamed into the store ---------------------------------------------


def corpus_parts() -> tuple[list[str], list[tuple[int, str]], list[int]]:
    from pipeline.demoforum.generate import load_corpus

    corpus = load_corpus()
    texts = [p["text"] for t in corpus["threads"] for p in t["posts"] if p["text"].strip()]
    users = [(u["uid"], u["username"]) for u in corpus["users"]]
    return texts, users, [b["fid"] for b in corpus["boards"]]


def body_html(text: str, rng: Random, quote: tuple[str, str] | None) -> str:
    lines = [html.escape(line) for line in text.split("\n")]
    out = []
    if quote is not None:
        out.append(f'<div class="quote"><blockquote><font size="2"><font color="#999999">'
                   f"{html.escape(quote[0])} 发表于 2024-3-2 08:18</font></font><br />"
                   f"{html.escape(quote[1][:80])}</blockquote></div>")
    for i, line in enumerate(lines):
        if i:
            noise = "".join(chr(rng.randint(97, 122)) for _ in range(8))
            out.append(f'<font class="jammer">{noise}</font><br />\n' if rng.random() < 0.5
                       else "<br />\n")
        out.append(line)
    return "".join(out)


def generated_posts(count: int, seed: int = 1) -> Iterator[dict[str, Any]]:
    texts, users, _ = corpus_parts()
    rng = Random(seed)
    start = datetime(2023, 1, 1, tzinfo=UTC)
    previous: tuple[str, str] | None = None
    for n in range(count):
        parts = rng.randint(10, 40) if rng.random() < 0.005 else rng.choice((1, 1, 1, 2, 3))
        text = "\n".join(rng.choice(texts) for _ in range(parts))
        uid, author = rng.choice(users)
        quote = previous if previous is not None and rng.random() < 0.125 else None
        yield {"n": n, "thread": n // POSTS_PER_THREAD, "floor": n % POSTS_PER_THREAD + 1,
               "uid": uid, "author": author, "text": text,
               "html": body_html(text, rng, quote), "quote": quote,
               "time": start + timedelta(minutes=7 * n)}
        previous = (author, text)


def build_archive(db: Path, count: int) -> float:
    from sqlalchemy import insert

    from pipeline.store import ArchiveStore
    from pipeline.store.models import Board, Post, PostVersion, Site, Thread

    started = time.perf_counter()
    store = ArchiveStore(f"sqlite:///{db}")
    _, _, fids = corpus_parts()
    with store.session() as s:
        s.execute(insert(Site), [{"id": 1, "name": "bench", "base_url": "http://127.0.0.1/"}])
        s.execute(insert(Board), [{"id": i + 1, "site_id": 1, "fid": fid}
                                  for i, fid in enumerate(fids)])
    threads: list[dict[str, Any]] = []
    posts: list[dict[str, Any]] = []
    versions: list[dict[str, Any]] = []

    def flush() -> None:
        with store.session() as s:
            if threads:
                s.execute(insert(Thread), threads)
            s.execute(insert(Post), posts)
            s.execute(insert(PostVersion), versions)
        threads.clear()
        posts.clear()
        versions.clear()

    for p in generated_posts(count):
        if p["floor"] == 1:
            threads.append({"id": p["thread"] + 1, "site_id": 1, "tid": p["thread"] + 1,
                            "board_id": p["thread"] % len(fids) + 1, "subject": "bench",
                            "author": p["author"], "complete": True})
        posts.append({"id": p["n"] + 1, "site_id": 1, "thread_id": p["thread"] + 1,
                      "pid": p["n"] + 1, "floor": p["floor"], "author": p["author"],
                      "author_uid": p["uid"], "posted_at": p["time"], "status": "ok",
                      "version_count": 1})
        quotes = [{"pid": p["n"], "author": p["quote"][0], "text": p["quote"][1][:80]}] \
            if p["quote"] else []
        versions.append({"id": p["n"] + 1, "post_id": p["n"] + 1, "version": 1,
                         "status": "ok", "text": p["text"], "html": p["html"],
                         "quotes": quotes, "content_sha256": "0" * 64})
        if len(posts) >= CHUNK:
            flush()
    if posts:
        flush()
    store.close()
    return time.perf_counter() - started


# --- 2. the flow, one child process per configuration ----------------------------------------


def child(workspace: Path, workers: int, boards_limit: int | None, one_core: bool) -> None:
    """Runs in a fresh process: one flow run; prints its measurements as JSON."""
    from pipeline.process import prepared
    from pipeline.workspace import Workspace

    pinned = None
    if one_core:  # this process and all it starts (Prefect's server, any worker) on one CPU
        pinned = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {pinned})

    until = None
    if boards_limit is not None:  # the first M posts: posted 7 minutes apart from 2023-01-01
        until = (datetime(2023, 1, 1, tzinfo=UTC) + timedelta(minutes=7 * boards_limit))
    t0 = time.perf_counter()
    # As `lurker process` runs: the stage objects are built (in the workers, with more than
    # one) while Prefect's API server starts; the flow's seconds are those after.
    with prepared(Workspace.resolve(workspace), workers=workers):
        from pipeline.process.flow import process_flow

        startup = time.perf_counter() - t0
        cpu0 = _cpu()
        sampler = DescendantCPU()
        sampler.start()
        # The whole flow call, as a user waits for it: the flow run's creation and end at
        # Prefect's API around the flow body (whose own seconds the report has).
        called = time.perf_counter()
        report = process_flow(workspace=str(workspace), workers=workers,
                              until=until.isoformat() if until else None)
        seconds = time.perf_counter() - called
    cpu = _cpu() - cpu0  # the flow process (its workers are the forkserver's children)
    sampler.stop()
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({
        "workers": workers, "one_core": pinned, "posts": report.summary["posts_in"],
        "chars": report.summary["chars"], "seconds": seconds, "body_seconds": report.seconds,
        "startup": startup, "steps": report.step_seconds, "step_chars": report.step_chars,
        "rss_mb": own / 1024, "worker_rss_mb": kids / 1024,
        "cpu_flow": cpu, "cpu_children": sampler.seconds(),
    }))


class DescendantCPU(threading.Thread):
    """CPU seconds of this process's descendants (the workers are the forkserver's children,
    so RUSAGE_CHILDREN never sees them): /proc polled every 0.2 s, the last reading kept,
    grouped by what runs in them."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self._done = threading.Event()
        self._seen: dict[int, tuple[str, float]] = {}
        self._base: dict[int, float] = {}
        self._tick = os.sysconf("SC_CLK_TCK")
        self._scan(base=True)

    def _scan(self, base: bool = False) -> None:
        parents: dict[int, int] = {}
        cpu: dict[int, float] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            pid = int(entry.name)
            parents[pid] = int(fields[1])
            cpu[pid] = (int(fields[11]) + int(fields[12])) / self._tick
        me = os.getpid()
        for pid, seconds in cpu.items():
            up, hops = parents.get(pid), 0
            while up not in (None, 0, me) and hops < 10:
                up, hops = parents.get(up), hops + 1
            if up != me:
                continue
            if base:
                self._base[pid] = seconds
            if pid not in self._seen:  # what runs in it: read once per process
                try:
                    cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
                except OSError:
                    continue
                self._seen[pid] = (cmd.decode(errors="replace"), 0.0)
            self._seen[pid] = (self._seen[pid][0], seconds - self._base.get(pid, 0.0))

    def run(self) -> None:
        while not self._done.wait(0.2):
            self._scan()

    def stop(self) -> None:
        self._done.set()
        self.join()
        self._scan()

    def seconds(self) -> dict[str, list[float]]:
        """'prefect server' and 'worker' (every other descendant) -> CPU seconds of each."""
        out: dict[str, list[float]] = {}
        for cmd, seconds in self._seen.values():
            kind = "prefect server" if "uvicorn" in cmd or "prefect" in cmd else "worker"
            if seconds >= 0.05:
                out.setdefault(kind, []).append(round(seconds, 1))
        return out


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def clear_processed(db: Path) -> None:
    import sqlite3

    with sqlite3.connect(db) as con:
        for table in ("snapshot_posts", "snapshot_threads", "snapshots", "processed_posts",
                      "processed_threads"):
            con.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names


def run_child(workspace: Path, workers: int, limit: int | None = None,
              one_core: bool = False) -> dict[str, Any]:
    clear_processed(workspace / "lurker.sqlite")
    cmd = [sys.executable, __file__, "--child", str(workspace), "--workers", str(workers)]
    if limit is not None:
        cmd += ["--limit", str(limit)]
    if one_core:
        cmd.append("--pin")
    env = {k: v for k, v in os.environ.items() if k != "LURKER_STORE_URL"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"flow run failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- 3. bare jieba on the same text ----------------------------------------------------------


def warm_jieba_cache(workspace: Path) -> None:
    """Build jieba's prefix-dictionary cache in the workspace, as any workspace that has
    been processed once has it (the first run ever builds it: ~1 s more). Bare jieba below
    loads its own cache file the same way."""
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    (workspace / "cache").mkdir(exist_ok=True)
    tokenizer.tmp_dir = str(workspace / "cache")
    tokenizer.initialize()


def bare_jieba(db: Path, part: int = 0, parts: int = 1) -> tuple[float, int, int]:
    """Seconds of `jieba.lcut` on every post (or on every `parts`-th, from `part`), its
    dictionary loaded before the clock, as the flow's stage objects are before its own."""
    import logging

    import jieba
    from sqlalchemy import create_engine, text

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    seconds = 0.0
    engine = create_engine(f"sqlite:///{db}")
    posts, chars = 0, 0
    last = 0
    with engine.connect() as con:
        while True:
            rows = con.execute(text("SELECT id, text FROM post_versions WHERE id > :last "
                                    "ORDER BY id LIMIT 5000"), {"last": last}).all()
            if not rows:
                break
            last = rows[-1][0]
            rows = [row for row in rows if row[0] % parts == part]
            t0 = time.perf_counter()
            for _, body in rows:
                jieba.lcut(body)
            seconds += time.perf_counter() - t0
            posts += len(rows)
            chars += sum(len(body) for _, body in rows)
    engine.dispose()
    return seconds, posts, chars


def bare_jieba_side_by_side(db: Path, parts: int = 2) -> float:
    """Wall seconds of `parts` bare-jieba processes run at once, each on every parts-th post:
    what this machine gives to that many CPU-bound processes (the most workers can get)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(parts, mp_context=context) as pool:
        list(pool.map(_idle, range(parts)))  # started before the clock
        return max(seconds for seconds, _, _ in
                   pool.map(bare_jieba, [db] * parts, range(parts), [parts] * parts))


def _idle(_: int) -> None:
    return None


# --- report ----------------------------------------------------------------------------------


def rate(n: float, seconds: float) -> str:
    return f"{n / seconds:>10,.0f}" if seconds > 0 else f"{'-':>10}"


def print_run(run: dict[str, Any]) -> None:
    where = (f" on one core (CPU {run['one_core']}: the flow, its Prefect server, everything)"
             if run.get("one_core") is not None else "")
    print(f"\nflow, {run['workers']} worker(s){where}: {run['posts']:,} posts, "
          f"{run['chars']:,} chars, {run['seconds']:.1f} s, of which "
          f"{run['seconds'] - run['body_seconds']:.2f} s Prefect's flow run around the body "
          f"(+ {run['startup']:.1f} s start-up: Prefect's API server, the stage objects built "
          "meanwhile)")
    print(f"  {'step':<10} {'seconds':>8} {'posts/s':>10} {'chars/s':>10}")
    for step in ("start", *STEPS, "read", "write", "snapshot"):
        sec = run["steps"].get(step, 0.0)
        chars = run["step_chars"].get(step, run["chars"])
        print(f"  {step:<10} {sec:>8.2f} {rate(run['posts'], sec)} {rate(chars, sec)}")
    print(f"  {'whole':<10} {run['seconds']:>8.2f} {rate(run['posts'], run['seconds'])} "
          f"{rate(run['chars'], run['seconds'])}")
    if run["workers"] > 1:
        print("  (with workers, two batches are in flight: their step times overlap and add"
              " up to more than the whole)")
    others = "".join(f", {kind} {' + '.join(f'{c:.1f}' for c in sorted(cpu, reverse=True))} s"
                     for kind, cpu in sorted(run.get("cpu_children", {}).items()))
    print(f"  CPU: flow process {run['cpu_flow']:.1f} s{others}")
    print(f"  peak RSS: flow process {run['rss_mb']:.0f} MB"
          + (f", largest worker {run['worker_rss_mb']:.0f} MB" if run["workers"] > 1 else ""))


# The worker counts' runs, bare jieba (seconds, posts, chars), bare jieba side by side, and
# the 1-worker run on one core.
Round = tuple[list[dict[str, Any]], tuple[float, int, int], float | None,
              dict[str, Any] | None]


def print_rounds(counts: list[int], rounds: list[Round]) -> None:
    """Each round's seconds and ratios, then their medians."""
    print(f"\n{len(rounds)} rounds (seconds of the whole flow; bare jieba in the same round):")
    ratios: dict[int, list[float]] = {w: [] for w in counts}
    speedups: list[float] = []
    core_speedups: list[float] = []
    pinned_ratios: list[float] = []
    ceilings: list[float] = []
    for n, (runs, (bare, _, _), side, pinned) in enumerate(rounds, 1):
        cells = []
        for run in runs:
            ratios[run["workers"]].append(run["seconds"] / bare)
            cells.append(f"{run['workers']} worker(s) {run['seconds']:.1f} s "
                         f"({run['seconds'] / bare:.2f}×)")
        if len(runs) > 1:
            speedups.append(runs[0]["seconds"] / runs[1]["seconds"])
            cells.append(f"speed-up {speedups[-1]:.2f}×")
        if pinned is not None:
            pinned_ratios.append(pinned["seconds"] / bare)
            cells.append(f"1 worker on one core {pinned['seconds']:.1f} s "
                         f"({pinned_ratios[-1]:.2f}×)")
            if len(runs) > 1:
                core_speedups.append(pinned["seconds"] / runs[1]["seconds"])
                cells.append(f"one core → two: {core_speedups[-1]:.2f}×")
        if side:
            ceilings.append(bare / side)
            cells.append(f"bare jieba side by side {ceilings[-1]:.2f}×")
        print(f"  round {n}: bare jieba {bare:.1f} s; " + "; ".join(cells))
    medians = [f"{w} worker(s) {statistics.median(r):.2f}× bare jieba" for w, r in ratios.items()]
    if speedups:
        medians.append(f"speed-up {statistics.median(speedups):.2f}× "
                       f"(range {min(speedups):.2f}–{max(speedups):.2f})")
    if pinned_ratios:
        medians.append(f"1 worker on one core {statistics.median(pinned_ratios):.2f}× bare jieba")
    if core_speedups:
        medians.append(f"one core → two {statistics.median(core_speedups):.2f}× "
                       f"(range {min(core_speedups):.2f}–{max(core_speedups):.2f})")
    if ceilings:
        medians.append(f"bare jieba side by side {statistics.median(ceilings):.2f}×")
    print("  medians: " + "; ".join(medians))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--also", type=int, default=None, help="repeat 1 worker on M posts")
    parser.add_argument("--batch", type=int, default=None,
                        help="posts per batch ([process] batch_size; default: the flow's)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds of all worker counts and bare jieba; medians reported")
    parser.add_argument("--keep", action="store_true", help="keep the generated workspace")
    parser.add_argument("--no-one-core", dest="one_core", action="store_false",
                        help="skip the 1-worker run pinned to one CPU")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--pin", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, int(args.workers), args.limit, args.pin)
        return
    workspace = Path(tempfile.mkdtemp(prefix="lurker-bench-"))
    try:
        from pipeline.workspace import Workspace

        ws = Workspace.resolve(workspace).create()
        print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start "
              "(other processes share the cores: a high load caps the 2-worker speed-up)")
        print(f"generating {args.posts:,} posts into {ws.db_path} …", flush=True)
        print(f"  {build_archive(ws.db_path, args.posts):.1f} s", flush=True)
        warm_jieba_cache(workspace)
        if args.batch is not None:
            ws.config_file.write_text(f"[process]\nbatch_size = {args.batch}\n",
                                      encoding="utf-8")
        counts = [int(w) for w in args.workers.split(",")]
        # Rounds: every worker count, then bare jieba, again and again, so that the machine's
        # drift (±10-20% here between minutes) touches all of them alike; medians at the end.
        # "On one core": the 1-worker run above leaves Prefect's server a second core; this
        # one runs everything on one CPU, as the target's one-core baseline means.
        pin = args.one_core and 1 in counts and len(os.sched_getaffinity(0)) > 1
        rounds: list[Round] = []
        for _ in range(max(1, args.repeat)):
            runs = [run_child(workspace, w) for w in counts]
            pinned = run_child(workspace, 1, one_core=True) if pin else None
            bare = bare_jieba(ws.db_path)
            side = bare_jieba_side_by_side(ws.db_path, max(counts)) if max(counts) > 1 else None
            rounds.append((runs, bare, side, pinned))
        runs, (seconds, posts, chars), side, pinned = rounds[0]
        for run in runs:
            print_run(run)
        if pinned is not None:
            print_run(pinned)
        print(f"\nbare jieba (lcut, dictionary loaded) on the same posts' text: {posts:,} posts, "
              f"{chars:,} chars, {seconds:.1f} s ({rate(posts, seconds).strip()} posts/s, "
              f"{rate(chars, seconds).strip()} chars/s)")
        for run in runs:
            print(f"whole flow / bare jieba, {run['workers']} worker(s): "
                  f"{run['seconds'] / seconds:.2f}×  (target on 1 worker: 1.5×)")
        one = runs[0]
        if one["workers"] == 1:  # where the time goes, as shares of bare jieba
            segment = one["steps"].get("segment", 0.0)
            print(f"  1 worker: segment step {segment / seconds:.2f}× bare jieba (lurker's "
                  "jieba cut, same tokens); everything else "
                  f"{(one['seconds'] - segment) / seconds:.2f}×")
        if len(runs) > 1 and runs[1]["seconds"] > 0:  # on the whole flow, after start-up
            print(f"speed-up {runs[0]['workers']} → {runs[1]['workers']} workers: "
                  f"{runs[0]['seconds'] / runs[1]['seconds']:.2f}×")
        if pinned is not None:
            print(f"1 worker on one core / bare jieba: {pinned['seconds'] / seconds:.2f}×")
            if len(runs) > 1 and runs[1]["seconds"] > 0:
                print(f"speed-up one core → {runs[1]['workers']} workers on "
                      f"{len(os.sched_getaffinity(0))} cores: "
                      f"{pinned['seconds'] / runs[1]['seconds']:.2f}×")
        if side:
            print(f"bare jieba, {max(counts)} processes side by side on shares of the posts: "
                  f"{side:.1f} s, {seconds / side:.2f}× one process (this machine's ceiling "
                  f"for {max(counts)} CPU-bound processes)")
            if len(runs) > 1 and runs[1]["seconds"] > 0:
                speedup = runs[0]["seconds"] / runs[1]["seconds"]
                print(f"  the flow's speed-up is {speedup / (seconds / side):.0%} of it")
        if len(rounds) > 1:
            print_rounds(counts, rounds)
        print(f"load average {os.getloadavg()[0]:.1f} at the end")
        if args.also:
            small = run_child(workspace, 1, args.also)
            print_run(small)
            print(f"peak RSS, 1 worker: {small['posts']:,} posts {small['rss_mb']:.0f} MB, "
                  f"{runs[0]['posts']:,} posts {runs[0]['rss_mb']:.0f} MB")
    finally:
        if args.keep:
            print(f"workspace kept: {workspace}")
        else:
            shutil.rmtree(workspace, ignore_errors=True)


if __name__ == "__main__":
    main()
