"""Imported by the forkserver that forks the workers: what every worker needs, loaded once.

jieba's default dictionary, the detector's lexicon and langdetect's profiles cost each worker
~1 s of CPU to load, and on a two-core machine that CPU is taken from the flow. Loaded here,
in the forkserver, each worker forked from it starts with them in memory (shared pages).
`Runner` sets `CACHE_DIR_ENV` to the workspace's cache folder while the forkserver starts.

A failure here must not stop the forkserver (multiprocessing only forgives an ImportError):
it is logged, and each worker then loads its own, as without a preload.
"""

from __future__ import annotations

import gc
import logging
import os
from pathlib import Path

CACHE_DIR_ENV = "LURKER_WORKER_CACHE_DIR"


def preload(cache_dir: str | None) -> None:
    import jieba

    from pipeline.anonymise.detect import load_lexicon
    from pipeline.language import warm_up
    from pipeline.process import pool  # noqa: F401 - what a worker imports to run a step
    from pipeline.segment import preload_tokenizer

    jieba.setLogLevel(logging.WARNING)  # as the workers do (see StageContext.segmenter)
    if cache_dir is not None:
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
    preload_tokenizer(cache_dir)
    load_lexicon(cache_dir)
    warm_up()
    gc.freeze()  # out of the collector: a worker's collections then leave these pages shared


if CACHE_DIR_ENV in os.environ:
    try:
        preload(os.environ[CACHE_DIR_ENV] or None)
    except Exception:  # noqa: BLE001 - see the module docstring
        logging.getLogger(__name__).warning("worker preload failed; each worker loads its own",
                                            exc_info=True)
