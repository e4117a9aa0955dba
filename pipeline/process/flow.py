"""The Prefect flow `lurker-process`: archive → normalise → language → anonymise → segment →
keywords → snapshot, streamed from the store in batches.

Import this module only after `configure_prefect()` (see `pipeline.process.run_process`).
Store reads and writes stay in the flow body (the edges); each step is a Prefect task over one
batch whose per-post work runs in `Runner` (in-process or a warm process pool, see `pool`).
Posts already processed under the same settings hash are read back from `processed_posts`
instead of being recomputed, unless a name that became known since occurs in them (see
`pipeline.process.register`). Every pseudonym comes from the store's register: the archive's
authors are registered before the first batch, names found only in @mentions and quote
headers between detection and pseudonymisation of their batch.
"""

from __future__ import annotations

import contextvars
import itertools
import json
import logging
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from pipeline.anonymise import load_or_create_key
from pipeline.anonymise.detect import load_rules
from pipeline.process import store_io
from pipeline.process.anonymise import detect_records
from pipeline.process.context import PROCESS_VERSION, ContextSpec, key_id, sha256
from pipeline.process.keywords import keyword_records
from pipeline.process.language import language_records
from pipeline.process.normalise import normalise_records
from pipeline.process.pool import Runner, Step, lean_gc
from pipeline.process.records import Batch, PostRecord
from pipeline.process.register import NameHistory, NewEntry, Register, row_hash
from pipeline.process.segment import segment_records
from pipeline.process.settings import KEY_FILE, ProcessSettings, load_process_settings
from pipeline.process.snapshot import SnapshotBuilder
from pipeline.store import ArchiveStore
from pipeline.workspace import Workspace

log = logging.getLogger("lurker.process")

STEPS = ("normalise", "language", "anonymise", "segment", "keywords")
# With worker processes: batches computed at the same time (memory: about one batch more).
BATCHES_IN_FLIGHT = 2


@dataclass
class ProcessReport:
    snapshot_id: int
    snapshot_reused: bool  # an identical snapshot existed: no new number was issued
    settings_hash: str
    keywords_version: str
    summary: dict[str, Any]
    posts_reused: int
    posts_processed: int
    workers: int
    seconds: float
    step_seconds: dict[str, float] = field(default_factory=dict)
    step_chars: dict[str, int] = field(default_factory=dict)
    log_file: str | None = None


def _step_task(name: str, step: Step):  # noqa: ANN202 - a Prefect Task
    # NO_CACHE: Prefect would otherwise hash every batch to compute a cache key; the store is
    # this flow's cache (processed_posts by settings hash).
    @task(name=name, cache_policy=NO_CACHE, persist_result=False,
          task_run_name=f"{name}-{{batch.number}}")
    def run_step(batch: Batch, runner: Runner) -> Batch:
        return Batch(batch.number, runner.run(step, batch.records))

    return run_step


STEP_FUNCTIONS: dict[str, Step] = {
    "normalise": normalise_records,
    "language": language_records,
    # Detection only: the codes are written after it, in batch order, from the register.
    "anonymise": detect_records,
    "segment": segment_records,
    "keywords": keyword_records,
}
STEP_TASKS = {name: _step_task(name, step) for name, step in STEP_FUNCTIONS.items()}
# With workers, the steps of a batch are submitted in two runs (see `Runner.queue`): up to
# detection, and after the register's codes.
BEFORE_CODES = tuple(STEP_FUNCTIONS[n] for n in ("normalise", "language", "anonymise"))
AFTER_CODES = tuple(STEP_FUNCTIONS[n] for n in ("segment", "keywords"))
# A thread subject is normalised and anonymised like a post body, then pseudonymised.
SUBJECT_STEPS = (normalise_records, detect_records)


def _input_chars(records: list[PostRecord]) -> int:
    """What normalise reads: the stored HTML, or the parser's text where there is none."""
    return sum(len(r.html) or len(r.raw_text) for r in records)


class BatchError(RuntimeError):
    """Another batch of the run failed: this one stops waiting for its turn."""


class BatchOrder:
    """Turns taken in batch order: batch n enters `turn(stage, n)` after batch n-1 left it.

    The register issues codes, and the store gets rows and snapshot entries, in the order of
    the archive, whichever of two batches in flight gets there first.
    """

    def __init__(self) -> None:
        self._next: dict[str, int] = defaultdict(int)
        self._changed = threading.Condition()
        self._failed = False

    @contextmanager
    def turn(self, stage: str, number: int) -> Iterator[None]:
        with self._changed:
            while self._next[stage] != number:
                if self._failed:
                    raise BatchError(f"batch {number} stopped: an earlier batch failed")
                self._changed.wait()
        try:
            yield
        finally:
            with self._changed:
                self._next[stage] = number + 1
                self._changed.notify_all()

    def fail(self) -> None:
        with self._changed:
            self._failed = True
            self._changed.notify_all()


def run_flow_body(store: ArchiveStore, spec: ContextSpec, filters: store_io.Filters, *,
                  workers: int, batch_size: int, kwic_k: int,
                  params: dict[str, Any]) -> ProcessReport:
    started = time.perf_counter()
    settings_hash = spec.settings_hash()
    keywords_version = spec.keyword_filter_version()
    runner = Runner.open(spec, workers)  # the workers the CLI prestarted, if it did
    min_posts = (runner.local.keyword_filter.min_posts if runner.local is not None else
                 _min_posts(spec))
    # The KWIC sample size changes the snapshot content, so it is part of the fingerprint.
    builder = SnapshotBuilder(settings_hash, {**filters.as_params(), "kwic_sample": kwic_k},
                              min_posts, kwic_k)
    # The register: every author of the archive gets a code now (new ones the first free
    # candidate of their own sequence; nobody's code ever moves), and authors not known
    # before open a new names generation.
    kid = key_id(spec.key)
    register = Register(spec.key, store_io.load_register(store, kid))
    new_entries, marked, generation = register.learn_authors(spec.names)
    store_io.save_register(store, kid, new_entries, marked, generation)
    history = NameHistory({n: register.generation_of(n) or 0 for n in spec.names})
    hashes = {row_hash(settings_hash, g): g for g in range(generation + 1)}
    current_hash = row_hash(settings_hash, generation)
    placeholders = load_rules().placeholders
    codes: dict[str, str] = {}

    def pseudonym(name: str) -> str:
        code = codes.get(name)
        if code is None:
            code = register.code(name)
            assert code is not None, "every name is registered before it is written"
            codes[name] = code
        return code

    snapshot_params = {**params, "code": PROCESS_VERSION, "filters": filters.as_params(),
                       "steps": spec.step_params(), "settings_hash": settings_hash,
                       "names_generation": generation, "usernames": len(spec.names)}
    snapshot_id = store_io.start_snapshot(store, settings_hash, keywords_version,
                                          snapshot_params)
    log.info("run parameters: %s", json.dumps(snapshot_params, ensure_ascii=False))
    step_seconds: dict[str, float] = defaultdict(float)
    step_chars: dict[str, int] = defaultdict(int)
    timing_lock = threading.Lock()  # with two batches in flight, two threads add times

    def timed(step: str, seconds: float, chars: int = 0) -> None:
        with timing_lock:
            step_seconds[step] += seconds
            if chars:
                step_chars[step] += chars

    def reuse(records: list[PostRecord]) -> tuple[dict[int, store_io.Outcome],
                                                   list[PostRecord]]:
        """Outcomes stored before under these settings, and the records still to compute."""
        rows = store_io.cached(store, (r.post_version_id for r in records), hashes)
        # A row made before a name became known is reused unless that name occurs.
        known = {r.post_version_id: rows[r.post_version_id][1] for r in records
                 if r.post_version_id in rows
                 and (rows[r.post_version_id][0] == generation
                      or not history.stale(r, rows[r.post_version_id][0]))}
        return known, [r for r in records if r.post_version_id not in known]

    def compute(number: int, todo: list[PostRecord], order: BatchOrder
                ) -> tuple[list[PostRecord], list[NewEntry]]:
        """The steps on one batch; the register's codes are issued in batch order."""
        if not todo:  # nothing to compute, but the next batch waits for this one's turn
            with order.turn("register", number):
                return [], []
        issued: list[NewEntry] = []
        batch = Batch(number, todo)
        input_chars = _input_chars(todo)
        seconds: dict[str, float] = {}
        runner.queue(todo, BEFORE_CODES, then_names=True)
        for name in STEPS:
            t0 = time.perf_counter()
            batch = STEP_TASKS[name](batch, runner)
            if name == "anonymise":
                with order.turn("register", number):
                    issued = register.issue(runner.names_to_register(batch.records))
                    runner.pseudonymise(batch.records, pseudonym, placeholders)
                runner.queue(batch.records, AFTER_CODES)
            seconds[name] = time.perf_counter() - t0
        # The steps after normalise read the post's own words, whose anonymised form is all
        # this process sees of them once workers hold the records: counted on that.
        text_chars = sum(len(r.text) for r in batch.records)
        for name, spent in seconds.items():
            timed(name, spent, input_chars if name == "normalise" else text_chars)
        return batch.records, issued

    def finish_batch(records: list[PostRecord], known: dict[int, store_io.Outcome],
                     done: list[PostRecord], issued: list[NewEntry]) -> None:
        """Store a batch's codes and fresh results, add the batch to the snapshot (in order)."""
        t0 = time.perf_counter()
        store_io.save_register(store, kid, issued)  # before the texts that use the codes
        fresh = store_io.save_processed(store, done, current_hash) if done else {}
        timed("write", time.perf_counter() - t0)
        t0 = time.perf_counter()
        outcomes = [known.get(r.post_version_id) or fresh[r.post_version_id] for r in records]
        ids = builder.add(outcomes, reused=len(known))
        store_io.add_snapshot_posts(store, snapshot_id, ids)
        timed("snapshot", time.perf_counter() - t0)

    def run_batch(number: int, records: list[PostRecord], order: BatchOrder) -> None:
        t0 = time.perf_counter()
        known, todo = reuse(records)
        timed("read", time.perf_counter() - t0)
        done, issued = compute(number, todo, order)
        with order.turn("write", number):
            finish_batch(records, known, done, issued)

    order = BatchOrder()
    # With worker processes, two batches are in flight, each in a thread of this process
    # (Prefect's flow context copied, as its thread task runner does): while one waits for
    # the workers at the end of a step, or for this process (pseudonyms, store writes), the
    # other keeps the workers busy. Codes and writes still happen in batch order, so the
    # result is the same as with one batch at a time (tests/test_process_flow.py).
    # One thread more for the thread subjects, which start once every batch has been read.
    batch_threads = (ThreadPoolExecutor(BATCHES_IN_FLIGHT + 1, thread_name_prefix="lurker-batch")
                     if workers > 1 else None)
    pending: deque[Future[None]] = deque()
    # The threads of the posts read: the subjects start before the last batches are counted
    # in `builder` (whose `thread_ids()` is this set once every batch is in).
    thread_ids: set[int] = set()

    def run_subjects(number: int) -> dict[int, int]:
        """The subjects of every thread read, codes and writes after the batches' (`number`
        is the batch count: their turn comes after the last batch's)."""
        t0 = time.perf_counter()
        subjects = process_subjects(store, runner, register, kid, sorted(thread_ids),
                                    current_hash, pseudonym, placeholders, order, number,
                                    batch_size)
        timed("subjects", time.perf_counter() - t0)
        return subjects

    try:
        with runner:
            warm_up_seconds = runner.warm_up()  # with workers: goes on beside the first reads
            with lean_gc():
                batches = store_io.iter_batches(store, filters, batch_size)
                for number in itertools.count():
                    t0 = time.perf_counter()
                    records = next(batches, None)  # read from the store: timed as "read"
                    timed("read", time.perf_counter() - t0)
                    if records is None:
                        break
                    thread_ids.update(r.thread_id for r in records)
                    if batch_threads is None:
                        run_batch(number, records, order)
                        continue
                    if len(pending) >= BATCHES_IN_FLIGHT:
                        pending.popleft().result()
                    pending.append(batch_threads.submit(
                        contextvars.copy_context().run, run_batch, number, records, order))
                if batch_threads is None:
                    subjects = run_subjects(number)
                else:  # beside the last batches: the workers take their chunks between those
                    subjects_done = batch_threads.submit(
                        contextvars.copy_context().run, run_subjects, number)
                    while pending:
                        pending.popleft().result()
                    subjects = subjects_done.result()
                timed("start", warm_up_seconds())
                builder.add_subjects(subjects)
        t0 = time.perf_counter()
        fingerprint = builder.fingerprint()
        existing = store_io.find_complete_snapshot(store, fingerprint)
        summary = builder.summary()
        if existing is not None:
            store_io.discard_snapshot(store, snapshot_id)
            snapshot_id = existing
        else:
            store_io.add_snapshot_threads(store, snapshot_id, subjects)
            store_io.mark_kept_threads(store, snapshot_id, builder.kept_threads())
            store_io.finish_snapshot(store, snapshot_id, fingerprint, summary, builder.kwic())
        timed("snapshot", time.perf_counter() - t0)
    except BaseException:
        order.fail()  # a batch waiting for its turn gives up instead of waiting forever
        if batch_threads is not None:
            batch_threads.shutdown(wait=True, cancel_futures=True)
        store_io.discard_snapshot(store, snapshot_id)
        raise
    if batch_threads is not None:
        batch_threads.shutdown(wait=True)
    report = ProcessReport(
        snapshot_id=snapshot_id, snapshot_reused=existing is not None,
        settings_hash=settings_hash, keywords_version=keywords_version, summary=summary,
        posts_reused=builder.reused, posts_processed=builder.processed, workers=workers,
        seconds=time.perf_counter() - started, step_seconds=dict(step_seconds),
        step_chars=dict(step_chars),
    )
    log.info("summary: %s", json.dumps(summary, ensure_ascii=False))
    log.info("seconds per step: %s", json.dumps(report.step_seconds))
    log.info("snapshot %s (%s): %s posts in, %s reused, %s processed, %.1f s",
             snapshot_id, "existing" if report.snapshot_reused else "new",
             summary["posts_in"], report.posts_reused, report.posts_processed, report.seconds)
    return report


def process_subjects(store: ArchiveStore, runner: Runner, register: Register, kid: str,
                     thread_ids: list[int], row_settings: str,
                     pseudonym: Callable[[str], str], placeholders: Mapping[str, str],
                     order: BatchOrder, number: int, batch_size: int) -> dict[int, int]:
    """Normalise and anonymise the subjects of these threads like post bodies (same detector,
    register and pseudonyms); returns thread id -> processed_threads id.

    `batch_size` threads at a time, so that memory does not grow with the archive's threads
    beyond this mapping (a record is ~1 KB; a million-post forum has 10^5 threads or more).
    Reused per (thread, subject as stored, row settings): a re-crawl that edits a subject, or
    a new names generation, redoes it (subjects are short: this is cheap).
    """
    out: dict[int, int] = {}
    # Codes and writes take the turns after the last batch's (`number`), one per slice with
    # work: names found only in subjects are registered after every post's, in thread order.
    turn = number
    for start in range(0, len(thread_ids), batch_size):  # a positive integer (settings)
        raw = store_io.thread_subjects(store, thread_ids[start:start + batch_size])
        keys = [(tid, sha256(subject)) for tid, subject, _ in raw]
        known = store_io.cached_subjects(store, keys, row_settings)
        todo = [PostRecord(0, 0, tid, 0, author, "", subject)
                for (tid, subject, author), key in zip(raw, keys, strict=True)
                if key not in known]
        if todo:
            runner.queue(todo, SUBJECT_STEPS, then_names=True)
            for step in SUBJECT_STEPS:
                todo = runner.run(step, todo)
            with order.turn("register", turn):
                issued = register.issue(runner.names_to_register(todo))
                runner.pseudonymise(todo, pseudonym, placeholders)
            runner.finish(todo)
            with order.turn("write", turn):
                store_io.save_register(store, kid, issued)
                known.update(store_io.save_subjects(store, [
                    {"thread_id": r.thread_id, "settings_hash": row_settings,
                     "source_sha256": sha256(r.raw_text), "author_pseudonym": r.author_pseudonym,
                     "subject": r.text, "replacements": r.replacements}
                    for r in todo]))
            turn += 1
        out.update({tid: known[key] for (tid, _, _), key in zip(raw, keys, strict=True)})
    return out


def _min_posts(spec: ContextSpec) -> int:
    from pipeline.process.context import StageContext

    return StageContext(spec).keyword_filter.min_posts


@flow(name="lurker-process", persist_result=False, validate_parameters=False)
def process_flow(workspace: str, keywords: str | None = None, since: str | None = None,
                 until: str | None = None, boards: list[int] | None = None,
                 workers: int = 1) -> ProcessReport:
    """One processing run; Prefect records it, its parameters and each step's task runs.

    Parameters are the public options only: the key, the usernames and the store URL (which
    may hold a password) are read here, never passed in, so they never reach Prefect's database.
    """
    ws = Workspace.resolve(workspace)
    filters = store_io.Filters(
        since=datetime.fromisoformat(since) if since else None,
        until=datetime.fromisoformat(until) if until else None,
        boards=tuple(boards or ()),
    )
    store = ArchiveStore(ws.store_url)
    handler = _log_to_workspace(ws)
    try:
        spec, settings = build_spec(ws, store, keywords)
        params = {"keywords_file": str(keywords or settings.keywords or "config/keywords.toml"),
                  "workers": workers, "batch_size": settings.batch_size}
        report = run_flow_body(store, spec, filters, workers=workers,
                               batch_size=settings.batch_size, kwic_k=settings.kwic_sample,
                               params=params)
        report.log_file = handler.baseFilename
        return report
    finally:
        store.close()
        log.removeHandler(handler)
        handler.close()


def _log_to_workspace(ws: Workspace) -> logging.FileHandler:
    """This run's log file in `<workspace>/logs/` (parameters, counts; never text or values).

    lurker's own log goes to the file only, so the console shows just the summary.
    """
    ws.log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    handler = logging.FileHandler(
        ws.log_dir / f"process-{datetime.now():%Y%m%d-%H%M%S-%f}.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    return handler


def build_spec(ws: Workspace, store: ArchiveStore, keywords: str | Path | None = None
               ) -> tuple[ContextSpec, ProcessSettings]:
    """The workspace's step configuration, key and usernames (read here, never passed in)."""
    settings = load_process_settings(ws)
    key = load_or_create_key(ws.root / KEY_FILE)
    spec = ContextSpec.from_files(
        key, store_io.archive_usernames(store),
        keywords=keywords or settings.keywords, userdict=settings.userdict,
        stopwords_zh=settings.stopwords_zh, stopwords_en=settings.stopwords_en,
        to_simplified=settings.to_simplified, jieba_cache_dir=str(ws.root / "cache"),
    )
    return spec, settings
