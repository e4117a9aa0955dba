"""Where the CPU-bound step functions run: in this process, or in a pool of worker processes.

Why a process pool *inside* the Prefect tasks (and not Prefect's ThreadPoolTaskRunner or
ProcessPoolTaskRunner): jieba, langdetect and the regex-heavy detector are pure Python and hold
the GIL, so threads do not scale them. Prefect's ProcessPoolTaskRunner runs the whole task engine
(API client, state reporting, argument pickling with cloudpickle) in the worker for every task
run, so it only pays off for coarse tasks, and each task would have to bring the stage objects
with it. Here the workers are started once per flow run, build the stage objects once each
(jieba's dictionary ~1 s, the detector's lexicon, the pseudonym table, the keyword index) in an
initializer, and every step of every batch is then a cheap `map` of plain records over them;
Prefect keeps one task run per step and batch, which is what the run record needs.

Workers are started with `forkserver` (spawn where unavailable): forking a process that runs
Prefect's threads and an event loop can deadlock the child.
"""

from __future__ import annotations

import gc
import multiprocessing
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pipeline.process.anonymise import detect_records
from pipeline.process.context import ContextSpec, StageContext
from pipeline.process.keywords import keyword_records
from pipeline.process.language import language_records
from pipeline.process.normalise import normalise_records
from pipeline.process.records import PostRecord
from pipeline.process.segment import segment_records

Step = Callable[[StageContext, list[PostRecord]], list[PostRecord]]

_WORKER_CONTEXT: StageContext | None = None
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


def _init_worker(spec: ContextSpec) -> None:
    global _WORKER_CONTEXT
    _WORKER_CONTEXT = StageContext(spec)
    _WORKER_CONTEXT.warm_up()
    _freeze_for_run()  # a worker lives for one run: for good (see `lean_gc`)


@dataclass(frozen=True, slots=True)
class Transfer:
    """The record fields a step reads and the fields it sets: all that crosses to a worker
    and back. Shipping whole records (HTML, text, tokens, quotes both ways on every step)
    made pickling a fifth of the CPU of a two-worker run; tested against in-process runs."""

    reads: tuple[str, ...]
    writes: tuple[str, ...]


# `drop_private` (end of the keywords step) empties these; the flow's copy must forget them too.
_PRIVATE = ("html", "raw_text", "own", "seg_text", "raw_quotes", "spans", "quote_spans",
            "quotes", "author")
TRANSFERS: dict[Step, Transfer] = {
    normalise_records: Transfer(("html", "raw_text", "raw_quotes"),
                                ("own", "quotes", "converted", "html")),
    language_records: Transfer(("own", "converted"),
                               ("lang", "lang_method", "zh_share", "en_share", "traditional",
                                "sentences")),
    detect_records: Transfer(("own", "quotes"), ("spans", "seg_text", "quote_spans")),
    segment_records: Transfer(("seg_text", "traditional", "converted"), ("tokens", "seg_text")),
    keyword_records: Transfer(("text", "tokens"), ("hits", *_PRIVATE)),
}


def _run_in_worker(step: Step, records: list[PostRecord]) -> list[PostRecord]:
    assert _WORKER_CONTEXT is not None, "worker not initialised"
    return step(_WORKER_CONTEXT, records)


def _run_transfer(step: Step, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """In a worker: records rebuilt from the fields the step reads; the fields it sets."""
    assert _WORKER_CONTEXT is not None, "worker not initialised"
    transfer = TRANSFERS[step]
    records = []
    for values in rows:
        record = PostRecord(0, 0, 0, 0, None, "", "")
        for name, value in zip(transfer.reads, values, strict=True):
            setattr(record, name, value)
        records.append(record)
    done = step(_WORKER_CONTEXT, records)
    assert len(done) == len(records), "a step returns every record it is given, in order"
    writes = transfer.writes
    return [tuple(getattr(record, name) for name in writes) for record in done]


def _send(transfer: Transfer, records: list[PostRecord]) -> list[tuple[Any, ...]]:
    reads = transfer.reads
    return [tuple(getattr(record, name) for name in reads) for record in records]


def _receive(transfer: Transfer, records: list[PostRecord], rows: list[tuple[Any, ...]]
             ) -> None:
    writes = transfer.writes
    for record, values in zip(records, rows, strict=True):
        for name, value in zip(writes, values, strict=True):
            setattr(record, name, value)


def _ready(_: int) -> bool:
    return _WORKER_CONTEXT is not None


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


class Runner:
    """Runs a step over a batch: in-process with 1 worker, split over a pool with more."""

    def __init__(self, spec: ContextSpec, workers: int = 1) -> None:
        self.workers = max(1, workers)
        self.local = StageContext(spec) if self.workers == 1 else None
        self._pool: ProcessPoolExecutor | None = None
        # id(batch) -> (batch, its length, its chunks), insertion-ordered, for two batches.
        self._chunked: dict[int, tuple[list[PostRecord], int, list[list[PostRecord]]]] = {}
        self._chunk_lock = threading.Lock()
        if self.workers > 1:
            methods = multiprocessing.get_all_start_methods()
            method = "forkserver" if "forkserver" in methods else "spawn"
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context(method),
                initializer=_init_worker, initargs=(spec,),
            )

    def run(self, step: Step, records: list[PostRecord]) -> list[PostRecord]:
        if self._pool is None:
            assert self.local is not None
            return step(self.local, records)
        parts = self._parts(records)
        transfer = TRANSFERS.get(step)
        if transfer is None:  # a step without a declared transfer: whole records
            out: list[PostRecord] = []
            for done in self._pool.map(_run_in_worker, [step] * len(parts), parts):
                out += done
            return out
        # A generator: each chunk is submitted as soon as it is packed, so the workers start
        # on the first while the main process packs the rest (they wait for nothing else).
        sent = (_send(transfer, part) for part in parts)
        for part, rows in zip(parts, self._pool.map(_run_transfer, [step] * len(parts), sent),
                              strict=True):
            _receive(transfer, part, rows)
        return records

    def _parts(self, records: list[PostRecord]) -> list[list[PostRecord]]:
        """A few chunks per worker, so that one chunk of long posts does not leave a core idle;
        cut once per batch (every step of a batch gets the same list of records) because
        the main process's time between steps is time the workers wait."""
        with self._chunk_lock:  # two batches in flight: two threads
            cached = self._chunked.get(id(records))
            # The entry holds the batch, so its id is not reused while it is cached.
            if cached is None or cached[1] != len(records):
                cached = (records, len(records), chunks(records, self.workers * 3))
                self._chunked[id(records)] = cached
                while len(self._chunked) > 2:  # flow.BATCHES_IN_FLIGHT
                    del self._chunked[next(iter(self._chunked))]
            return cached[2]

    def warm_up(self) -> None:
        """Start every worker and build the stage objects now, not inside the first batch.

        One submission per worker: `ProcessPoolExecutor` spawns a process for each submission
        that finds no idle worker, so all of them start (and run the initializer) here.
        """
        if self._pool is None:
            assert self.local is not None
            self.local.warm_up()
            return
        futures = [self._pool.submit(_ready, n) for n in range(self.workers)]
        assert all(f.result() for f in futures)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._chunked.clear()

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
