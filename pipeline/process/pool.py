"""Where the CPU-bound step functions run: in this process, or in a pool of worker processes.

Why a process pool *inside* the Prefect tasks (and not Prefect's ThreadPoolTaskRunner or
ProcessPoolTaskRunner): jieba, langdetect and the regex-heavy detector are pure Python and hold
the GIL, so threads do not scale them. Prefect's ProcessPoolTaskRunner runs the whole task engine
(API client, state reporting, argument pickling with cloudpickle) in the worker for every task
run, so it only pays off for coarse tasks, and each task would have to bring the stage objects
with it. Here the workers are started once per flow run (by `lurker process` while Prefect's
server starts: `prestart`), build the stage objects once each (jieba's dictionary ~1 s, the
detector's lexicon, the pseudonym table, the keyword index) in an initializer. A batch is cut
into chunks on its first step; each chunk goes to one worker, which holds its records through
all the steps (see `_held_step`), so the archive fields cross once and the results once.
Prefect keeps one task run per step and batch, which is what the run record needs.

Workers are started with `forkserver` (spawn where unavailable): forking a process that runs
Prefect's threads and an event loop can deadlock the child.
"""

from __future__ import annotations

import gc
import itertools
import multiprocessing
import os
import select
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing import forkserver
from multiprocessing.context import BaseContext
from typing import Any

from pipeline.process.anonymise import names_to_register, pseudonymise_records
from pipeline.process.context import ContextSpec, StageContext
from pipeline.process.keywords import keyword_records
from pipeline.process.records import PostRecord
from pipeline.process.worker_preload import CACHE_DIR_ENV

Step = Callable[[StageContext, list[PostRecord]], list[PostRecord]]

_WORKER_CONTEXT: StageContext | None = None
_FORKSERVER_LOCK = threading.Lock()  # the cache folder is passed in os.environ
# The steps allocate many short-lived containers (token lists, records); a larger youngest
# generation means fewer collections of them, each still small (a batch at most).
GC_GEN0_THRESHOLD = 20_000


def _freeze_for_run() -> None:
    gc.freeze()  # no gc.collect() first: a full collection of it all costs ~0.4 s
    thresholds = gc.get_threshold()
    gc.set_threshold(max(thresholds[0], GC_GEN0_THRESHOLD), *thresholds[1:])


@contextmanager
def lean_gc() -> Iterator[None]:
    """Cheaper garbage collection while a run processes batches; restored afterwards.

    Everything alive at the start (Prefect, SQLAlchemy, jieba's dictionary, the detector's
    lexicon: ~10^5-10^6 objects that live for the whole run) is frozen out of the collector,
    so that a full collection, triggered again and again as batches come and go, no longer
    walks all of it. Measured by `bench/process_bench.py`; results are unaffected.
    """
    thresholds = gc.get_threshold()
    _freeze_for_run()
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def _worker_context(cache_dir: str | None) -> BaseContext:
    """forkserver, with the stage objects' dictionaries preloaded (`worker_preload`); spawn
    where there is no forkserver."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    # '__main__' is multiprocessing's own default. The forkserver is one per process and
    # reads the cache folder once, when it starts, which is here unless it already runs.
    context.set_forkserver_preload(["__main__", "pipeline.process.worker_preload"])
    with _FORKSERVER_LOCK:
        saved = os.environ.get(CACHE_DIR_ENV)
        os.environ[CACHE_DIR_ENV] = cache_dir or ""
        try:
            forkserver.ensure_running()
        finally:
            if saved is None:
                del os.environ[CACHE_DIR_ENV]
            else:
                os.environ[CACHE_DIR_ENV] = saved
    return context


def _end_with(pid: int) -> None:
    """End this worker when process `pid` (the flow's) ends, however it ends (SIGKILL, a
    crash): a worker waiting for its next call would wait forever, as it holds its call
    queue's write end itself, and it would keep the forkserver alive too (Linux ≥ 5.3)."""
    try:
        process = os.pidfd_open(pid)
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):
        return  # no pidfd: the worker ends only when told to, as any pool's

    def exit_after_it() -> None:
        select.select([process], [], [])  # readable once the process has ended
        os._exit(1)

    threading.Thread(target=exit_after_it, name="lurker-end-with-flow", daemon=True).start()


def _init_worker(spec: ContextSpec, flow_pid: int) -> None:
    global _WORKER_CONTEXT
    _end_with(flow_pid)
    _WORKER_CONTEXT = StageContext(spec)
    _WORKER_CONTEXT.warm_up()
    _freeze_for_run()  # a worker lives for one run: for good (see `lean_gc`)


# --- in a worker: the records of its chunks, held from the first step to the last ----------
#
# A chunk of a batch always goes to the same worker, which keeps its records between steps:
# the archive fields cross once, at the first step, and what the store needs crosses back
# once, after the last. Shipping each step's inputs and outputs instead (own words, quotes,
# spans and tokens back and forth five times) made the main process's pickling a bottleneck
# of two-worker runs.

# What a worker needs from the archive (the flow's records carry the ids).
START_FIELDS = ("html", "raw_text", "raw_quotes", "author")
# Every field a step sets that outlives the steps (the rest is dropped by `drop_private`).
RESULT_FIELDS = ("converted", "lang", "lang_method", "zh_share", "en_share", "traditional",
                 "sentences", "text", "anon_quotes", "author_pseudonym", "replacements",
                 "token_text", "hits")
# Fields the steps pass on to the next and the last step empties (never sent back).
INTERMEDIATE_FIELDS = ("tokens",)
_HELD: dict[int, list[PostRecord]] = {}


def _context() -> StageContext:
    assert _WORKER_CONTEXT is not None, "worker not initialised"
    return _WORKER_CONTEXT


def _held_step(key: int, step: Step, start: list[tuple[Any, ...]] | None,
               final: bool) -> list[tuple[Any, ...]] | None:
    """One step on a held chunk (first built from `start`); after the last, its results."""
    if start is not None:
        _HELD[key] = [PostRecord(0, 0, 0, 0, author, html, raw_text, raw_quotes)
                      for html, raw_text, raw_quotes, author in start]
    records = _HELD[key]
    done = step(_context(), records)
    assert len(done) == len(records), "a step returns every record it is given, in order"
    _HELD[key] = done
    return _held_results(key) if final else None


def _held_results(key: int) -> list[tuple[Any, ...]]:
    """The chunk's results, and the worker forgets it."""
    return [tuple(getattr(record, name) for name in RESULT_FIELDS)
            for record in _HELD.pop(key)]


def _held_names(key: int) -> set[str]:
    return names_to_register(_HELD[key])


def _held_pseudonymise(key: int, codes: dict[str, str], placeholders: Mapping[str, str]
                       ) -> None:
    # Only the codes of the names this chunk holds cross: a KeyError is a name the register
    # was never asked for, a bug to surface rather than a text to write without its code.
    pseudonymise_records(_HELD[key], codes.__getitem__, placeholders)


def _ready(_: int) -> float:
    """When this worker was ready (wall clock: comparable across processes)."""
    assert _WORKER_CONTEXT is not None, "worker not initialised"
    return time.time()


def chunks(records: list[PostRecord], parts: int) -> list[list[PostRecord]]:
    """Split into about `parts` chunks of similar total text size (huge posts balance out)."""
    if parts <= 1 or len(records) <= 1:
        return [records]
    total = sum(len(r.html) + len(r.raw_text) + len(r.own) + len(r.text) + 1 for r in records)
    target = total / parts
    out: list[list[PostRecord]] = [[]]
    size = 0.0
    for record in records:
        if size >= target and len(out) < parts:
            out.append([])
            size = 0.0
        out[-1].append(record)
        size += len(record.html) + len(record.raw_text) + len(record.own) + len(record.text) + 1
    return [chunk for chunk in out if chunk]


@dataclass
class _Chunks:
    """A batch's chunks in the workers: chunk i is held by worker `workers[i]` under `keys[i]`."""

    records: list[PostRecord]
    size: int
    parts: list[list[PostRecord]]
    keys: list[int]
    workers: list[int]
    started: bool = False
    names: list[set[str]] | None = None
    # Steps submitted ahead (`Runner.queue`), and calls whose outcome is still to be checked
    # before the next results are taken (`Runner.pseudonymise` does not wait for its own).
    queued: dict[Callable[..., Any], list[Future[Any]]] = field(default_factory=dict)
    unchecked: list[Future[Any]] = field(default_factory=list)

    def check(self) -> None:
        """Raise the first failure of the calls not checked yet."""
        while self.unchecked:
            self.unchecked.pop(0).result()


_PRESTARTED: dict[tuple[ContextSpec, int], Runner] = {}
_PRESTARTED_LOCK = threading.Lock()


def prestart(spec: ContextSpec, workers: int) -> None:
    """Start the worker processes now (their warm-up runs while the caller goes on, e.g. while
    Prefect's API server starts); the next `Runner.open` with an equal spec takes them."""
    if workers <= 1:
        return
    runner = Runner(spec, workers)  # starts them, in a thread of its own
    with _PRESTARTED_LOCK:
        stale = _PRESTARTED.pop((spec, workers), None)
        _PRESTARTED[(spec, workers)] = runner
    if stale is not None:
        stale.close()


def discard_prestarted() -> None:
    """Stop prestarted workers that no run took (e.g. the flow failed before its first step)."""
    with _PRESTARTED_LOCK:
        runners = list(_PRESTARTED.values())
        _PRESTARTED.clear()
    for runner in runners:
        runner.close()


class Runner:
    """Runs the steps over a batch: in-process with 1 worker, on held chunks with more.

    With workers the calls on one batch are a chain: `run` of its steps in order,
    `names_to_register` and `pseudonymise` between them (the flow's register sits in this
    process), and the chain ends with `keyword_records` (the records come back then) or with
    `finish`.
    """

    def __init__(self, spec: ContextSpec, workers: int = 1) -> None:
        self.workers = max(1, workers)
        self.local = StageContext(spec) if self.workers == 1 else None
        # One single-process executor per worker, so that a chunk's steps all run where its
        # records are held (an executor's calls run in the order they were submitted).
        self._pools: list[ProcessPoolExecutor] = []
        self._chunked: dict[int, _Chunks] = {}  # id(batch) -> its chunks, until it finishes
        self._lock = threading.Lock()  # two batches in flight: two threads
        self._keys = itertools.count()
        # Each worker's `_ready`, submitted first to each, once `_launch` has run.
        self._launched: Future[list[Future[float]]] = Future()
        if self.workers > 1:
            context = _worker_context(spec.jieba_cache_dir)
            self._pools = [ProcessPoolExecutor(1, mp_context=context, initializer=_init_worker,
                                               initargs=(spec, os.getpid()))
                           for _ in range(self.workers)]
            # Starting a worker process waits until the forkserver has preloaded (~1 s): in a
            # thread, so that the caller goes on meanwhile (the flow reads its first batch).
            threading.Thread(target=self._launch, name="lurker-workers-start",
                             daemon=True).start()

    @classmethod
    def open(cls, spec: ContextSpec, workers: int = 1) -> Runner:
        """The workers `prestart` started for this spec, else a new runner."""
        with _PRESTARTED_LOCK:
            runner = _PRESTARTED.pop((spec, max(1, workers)), None)
        return runner if runner is not None else cls(spec, workers)

    def run(self, step: Step, records: list[PostRecord]) -> list[PostRecord]:
        """The step on these records: here, or in the workers (submitted now unless `queue`
        did it before), waiting for its results."""
        if not self._pools:
            assert self.local is not None
            return step(self.local, records)
        held = self._held(records)
        futures = held.queued.pop(step, None)
        if futures is None:
            futures = self._submit(held, step)
        held.check()
        results = [future.result() for future in futures]
        if step is keyword_records:
            self._receive(held, results, drop=True)
        return records

    def queue(self, records: list[PostRecord], steps: tuple[Step, ...], *,
              then_names: bool = False) -> None:
        """Submit these next steps of the records' chain now; `run` of each then waits.

        A worker runs its calls in order, so it goes from one step of a chunk to the next
        without waiting for this process (the other chunks, Prefect's task run of the step),
        and this process's waits overlap its work. Only steps that need nothing from this
        process in between can be queued together (not across the register's codes).
        `then_names`: `names_to_register` too, after them.
        """
        if not self._pools:
            return
        held = self._held(records)
        for step in steps:
            held.queued[step] = self._submit(held, step)
        if then_names:
            held.queued[_held_names] = self._on_each_chunk(held, _held_names)

    def _on_each_chunk(self, held: _Chunks, call: Callable[[int], Any]) -> list[Future[Any]]:
        """`call(key)` on each chunk, in the worker that holds it."""
        return [self._pools[worker].submit(call, key)
                for key, worker in zip(held.keys, held.workers, strict=True)]

    def _submit(self, held: _Chunks, step: Step) -> list[Future[Any]]:
        self.start()  # each worker's first call is `_ready`, for `warm_up` to report
        final = step is keyword_records
        futures = []
        # Each chunk is submitted as soon as it is packed: the workers start on the first
        # while this process packs the rest.
        for part, key, worker in zip(held.parts, held.keys, held.workers, strict=True):
            start = None if held.started else [
                tuple(getattr(record, name) for name in START_FIELDS) for record in part]
            futures.append(self._pools[worker].submit(_held_step, key, step, start, final))
        if not held.started:  # the worker holds the HTML now: no second copy of it here
            held.started = True
            for record in held.records:
                record.html = ""
        return futures

    def names_to_register(self, records: list[PostRecord]) -> set[str]:
        """Every name the pseudonymised texts of these records will hold (see anonymise)."""
        if not self._pools:
            return names_to_register(records)
        held = self._held(records)
        futures = held.queued.pop(_held_names, None)
        if futures is None:
            futures = self._on_each_chunk(held, _held_names)
        held.check()
        held.names = [future.result() for future in futures]
        return set().union(*held.names)

    def pseudonymise(self, records: list[PostRecord], pseudonym: Callable[[str], str],
                     placeholders: Mapping[str, str]) -> None:
        """The texts with the register's codes (every name registered before: see flow).

        With workers, submitted only: the next call that takes results checks it first."""
        if not self._pools:
            pseudonymise_records(records, pseudonym, placeholders)
            return
        held = self._held(records)
        if held.names is None:
            self.names_to_register(records)
        assert held.names is not None
        held.unchecked += [
            self._pools[worker].submit(_held_pseudonymise, key,
                                       {name: pseudonym(name) for name in names},
                                       dict(placeholders))
            for key, worker, names in zip(held.keys, held.workers, held.names, strict=True)]

    def finish(self, records: list[PostRecord]) -> None:
        """End a chain that stops before `keyword_records`: the results come back here."""
        if not self._pools:
            return
        held = self._held(records)
        futures = self._on_each_chunk(held, _held_results)
        held.check()
        self._receive(held, [future.result() for future in futures], drop=False)

    def _receive(self, held: _Chunks, results: list[Any], *, drop: bool) -> None:
        for part, rows in zip(held.parts, results, strict=True):
            for record, values in zip(part, rows, strict=True):
                for name, value in zip(RESULT_FIELDS, values, strict=True):
                    setattr(record, name, value)
                if drop:  # as the last step did in the worker
                    record.drop_private()
        with self._lock:
            del self._chunked[id(held.records)]

    def _held(self, records: list[PostRecord]) -> _Chunks:
        """The batch's chunks, cut on its first step (a few per worker, similar in size, so
        that one chunk of long posts does not leave a core idle) and kept until it ends."""
        with self._lock:
            held = self._chunked.get(id(records))
            if held is None:
                parts = chunks(records, self.workers * 3)
                held = _Chunks(records, len(records), parts,
                               [next(self._keys) for _ in parts],
                               [n % self.workers for n in range(len(parts))])
                self._chunked[id(records)] = held
            elif held.size != len(records):
                raise ValueError("a batch changed size between its steps")
            return held

    def warm_up(self) -> Callable[[], float]:
        """Build the stage objects before the first batch (jieba's dictionary ~1 s); returns
        a call that gives the seconds it took, waiting for the workers if need be.

        In this process it is done on return. Workers, started when the runner was made,
        build theirs while this process reads and packs the first batches: those chunks queue
        behind the warm-up in each worker, so neither side waits for the other (a failed
        warm-up breaks the pool: the first batch's result raises it). The seconds are those
        from this call until the last worker was ready: 0 if they already were.
        """
        if not self._pools:
            assert self.local is not None
            started = time.perf_counter()
            self.local.warm_up()
            took = time.perf_counter() - started
            return lambda: took
        started = time.time()  # the workers report the wall-clock time they were ready
        return lambda: max(0.0, max(future.result() for future in self.start()) - started)

    def start(self) -> list[Future[float]]:
        """Each worker's readiness (the wall-clock time it was ready), once all are started."""
        return self._launched.result() if self._pools else []

    def _launch(self) -> None:
        # An executor starts its process on its first call.
        try:
            self._launched.set_result([pool.submit(_ready, n)
                                       for n, pool in enumerate(self._pools)])
        except BaseException as exc:  # given to whoever waits in `start`
            self._launched.set_exception(exc)

    def close(self) -> None:
        if self._pools:
            wait([self._launched])  # no executor shut down while its process is starting
        for pool in self._pools:
            pool.shutdown(wait=True, cancel_futures=True)
        self._pools = []
        self._chunked.clear()

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
