"""Fitting the sweep: one gensim `LdaModel` per (K, seed), one fit per process.

Why processes and `LdaModel` rather than `LdaMulticore`: a sweep is many independent fits, so
running whole fits side by side keeps both cores busy without any coordination, and a
single-process `LdaModel` with a fixed `random_state` is exactly reproducible (LdaMulticore's
result depends on how its workers' chunks interleave). Every fit runs in a worker process with
one BLAS thread, also when `workers=1`, so that the arithmetic — and so the topics — is the
same whatever the number of workers.
"""

from __future__ import annotations

import hashlib
import os
import resource
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from .settings import alpha_value

TOP_WORDS = 20  # words kept per topic (labels, bars); coherence and stability use `topn`
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass(frozen=True, slots=True)
class FitSpec:
    num_topics: int
    seed: int
    passes: int
    iterations: int
    alpha: str  # "symmetric", "asymmetric" or a number written as text
    chunksize: int
    guided: bool = False
    eta_file: str | None = None  # .npy K × V prior for guided models

    @property
    def name(self) -> str:
        return f"k{self.num_topics:02d}-seed{self.seed}{'-guided' if self.guided else ''}"

    def params(self) -> dict:
        return {
            "num_topics": self.num_topics,
            "random_state": self.seed,
            "passes": self.passes,
            "iterations": self.iterations,
            "alpha": self.alpha,
            "eta": "seeded" if self.guided else "symmetric",
            "chunksize": self.chunksize,
            "update_every": 1,
            "eval_every": None,
        }


@dataclass(frozen=True, slots=True)
class FitResult:
    spec: FitSpec
    model_file: str  # absolute path of the saved model
    topic_sha256: str  # of the topic-word matrix: equal hashes, identical topics
    top_words: list[list[tuple[str, float]]] = field(repr=False)
    seconds: float = 0.0
    peak_rss_mb: float = 0.0  # the worker process's peak resident memory
    cpu_seconds: float = 0.0  # CPU time of the fit: unlike `seconds`, not slowed by other load
    span: tuple[float, float] = (0.0, 0.0)  # wall-clock start and end (epoch seconds)


def peak_rss_mb() -> float:
    """This process's peak resident memory. Linux's VmHWM belongs to the process's own memory
    map; `ru_maxrss` would carry over the parent's peak into a spawned child."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def topic_hash(matrix: object) -> str:
    import numpy as np

    array = np.ascontiguousarray(matrix, dtype=np.float64)
    return hashlib.sha256(array.tobytes()).hexdigest()


def fit_one(corpus_dir: str, model_dir: str, spec: FitSpec) -> FitResult:
    """Fit one model (runs in a worker process) and save it; returns its top words."""
    import numpy as np
    from gensim.corpora import Dictionary, MmCorpus
    from gensim.models import LdaModel

    start, cpu_start, wall_start = time.perf_counter(), time.process_time(), time.time()
    dictionary = Dictionary.load(str(Path(corpus_dir) / "dictionary.gensim"))
    corpus = MmCorpus(str(Path(corpus_dir) / "corpus.mm"))
    eta = np.load(spec.eta_file) if spec.eta_file else None
    model = LdaModel(
        corpus=corpus,
        id2word=dictionary,
        num_topics=spec.num_topics,
        random_state=spec.seed,
        passes=spec.passes,
        iterations=spec.iterations,
        alpha=alpha_value(spec.alpha),
        eta=eta,
        chunksize=spec.chunksize,
        update_every=1,
        eval_every=None,  # perplexity estimates cost a pass and change nothing
        dtype=np.float64,
    )
    path = Path(model_dir) / f"{spec.name}.gensim"
    model.save(str(path))
    topics = model.get_topics()
    top = []
    for row in topics:
        best = np.argsort(-row, kind="stable")[:TOP_WORDS]
        top.append([(dictionary[int(i)], float(row[i])) for i in best])
    return FitResult(
        spec, str(path), topic_hash(topics), top, time.perf_counter() - start, peak_rss_mb(),
        time.process_time() - cpu_start, (wall_start, time.time()),
    )


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Worker processes inherit the environment: one BLAS/OpenMP thread per fit."""
    saved = {name: os.environ.get(name) for name in _THREAD_VARS}
    os.environ.update({name: "1" for name in _THREAD_VARS})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def effective_workers(workers: int, jobs: int) -> int:
    cores = os.cpu_count() or 1
    wanted = cores if workers <= 0 else workers
    return max(1, min(wanted, jobs))


def run_fits(
    corpus_dir: Path,
    model_dir: Path,
    specs: Sequence[FitSpec],
    *,
    workers: int = 2,
    on_done: Callable[[FitResult], None] | None = None,
) -> list[FitResult]:
    """Fit every spec, `workers` at a time; results in the order of `specs`."""
    model_dir.mkdir(parents=True, exist_ok=True)
    if not specs:
        return []
    # Biggest K first: the longest fits start early, so no core idles at the end.
    order = sorted(range(len(specs)), key=lambda i: -specs[i].num_topics)
    results: dict[int, FitResult] = {}
    # spawn: a clean interpreter per worker (no forked locks from a parent's threads).
    with one_blas_thread(), ProcessPoolExecutor(
        max_workers=effective_workers(workers, len(specs)), mp_context=get_context("spawn")
    ) as pool:
        futures = {
            pool.submit(fit_one, str(corpus_dir), str(model_dir), specs[i]): i for i in order
        }
        for future in as_completed(futures):
            result = future.result()
            results[futures[future]] = result
            if on_done is not None:
                on_done(result)
    return [results[i] for i in range(len(specs))]
