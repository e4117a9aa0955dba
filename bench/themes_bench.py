"""Themes benchmark (not a test): dictionary, sweep and coherence time and peak memory by size.

Usage: python bench/themes_bench.py [--sizes 10000,50000,100000] [--topics 10,20] [--seeds 1,2]
                                    [--passes 5] [--workers 2] [--out results.json]

For each size N, in a fresh child process (so that peak memory is that size's own), it:

1. generates N posts from the demo corpus: each post is the tokens of one or two demo posts of
   the same thread theme (segmented with the project's `Segmenter`), stored as a real corpus
   snapshot in a real SQLite store (archive rows, processed posts, snapshot posts);
2. builds the dictionary and the MmCorpus bag-of-words from the store (`build_corpus`);
3. runs the sweep (`run_fits`: topics × seeds, `workers` fits at a time, one per process) and
   reports its wall time, the sum of the fits' times and the CPU time of the worker processes:
   speed-up = sum of fit times / wall time, core use = worker CPU time / (wall × cores);
4. fits a bare gensim `LdaModel` on the same bag-of-words (loaded into a list, as a script
   would), same K, seed and passes, in a fresh process too, and gives the ratio of lurker's fit
   (which streams the MmCorpus from disk and saves the model) to it;
5. scores every model with c_v, c_npmi and u_mass (`score_models`) and times each measure.

Peak memory: the child's maximum RSS (store, dictionary building, coherence), each fit
worker's and the bare fit's.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from random import Random

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def demo_posts() -> list[tuple[str, list[str]]]:
    """(planted theme, tokens) of every demo post with some words."""
    from pipeline.demoforum.generate import load_corpus
    from pipeline.normalise import normalise
    from pipeline.segment import Segmenter

    segmenter = Segmenter.from_config()
    out = []
    for thread in load_corpus()["threads"]:
        for post in thread["posts"]:
            text = normalise(post["text"], to_simplified=post["lang"] == "zh-Hant")
            tokens = segmenter.tokens(text)
            if tokens:
                out.append((thread["theme"], tokens))
    return out


def fill_store(url: str, n: int, seed: int = 1) -> int:
    """A snapshot of n generated posts (threads of 10), inserted in bulk; returns its id."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import insert

    from pipeline.store import ArchiveStore
    from pipeline.store.corpus import ProcessedPost, Snapshot, SnapshotPost
    from pipeline.store.models import Post, PostVersion, Site, Thread

    posts = demo_posts()
    by_theme: dict[str, list[list[str]]] = {}
    for theme, tokens in posts:
        by_theme.setdefault(theme, []).append(tokens)
    themes = sorted(by_theme)
    rng = Random(seed)
    start = datetime(2022, 1, 1, tzinfo=UTC)
    store = ArchiveStore(url)
    try:
        with store.engine.begin() as conn:
            conn.execute(insert(Site).values(id=1, name="bench", base_url="http://127.0.0.1/"))
            conn.execute(insert(Snapshot).values(
                id=1, fingerprint="bench", settings_hash="bench", keywords_version="bench",
                params={"generated": n}, summary={}, kwic={}, status="complete",
                created_at=start,
            ))
            threads, rows, versions, processed, members = [], [], [], [], []
            for i in range(n):
                thread_id = i // 10 + 1
                if i % 10 == 0:
                    theme = rng.choice(themes)
                    threads.append({"id": thread_id, "site_id": 1, "tid": thread_id,
                                    "subject": theme, "complete": True})
                tokens = list(rng.choice(by_theme[theme]))
                if rng.random() < 0.5:
                    tokens += rng.choice(by_theme[theme])
                when = start + timedelta(minutes=37 * i % (3 * 365 * 24 * 60))
                rows.append({"id": i + 1, "site_id": 1, "thread_id": thread_id, "pid": i + 1,
                             "floor": i % 10 + 1, "posted_at": when, "version_count": 1})
                versions.append({"id": i + 1, "post_id": i + 1, "version": 1, "status": "ok",
                                 "text": "", "content_sha256": f"{i:064d}"})
                text = "".join(tokens)
                processed.append({
                    "id": i + 1, "post_version_id": i + 1, "settings_hash": "bench",
                    "post_id": i + 1, "thread_id": thread_id,
                    "author_pseudonym": f"P{i % 500:03d}", "lang": "zh", "zh_share": 1.0,
                    "en_share": 0.0, "text": text, "tokens": " ".join(tokens),
                    "chars": len(text), "replacements": {}, "hits": {},
                })
                members.append({"snapshot_id": 1, "processed_post_id": i + 1, "kept": True})
            for table, values in ((Thread, threads), (Post, rows), (PostVersion, versions),
                                  (ProcessedPost, processed), (SnapshotPost, members)):
                for lo in range(0, len(values), 5000):
                    conn.execute(insert(table), values[lo:lo + 5000])
    finally:
        store.close()
    return 1


def bare_fit(corpus_dir: str, k: int, seed: int, passes: int, iterations: int,
             alpha: float, chunksize: int) -> dict:
    """A plain gensim LdaModel fit on the same bag-of-words, loaded into memory."""
    import numpy as np
    from gensim.corpora import Dictionary, MmCorpus
    from gensim.models import LdaModel

    start, cpu_start = time.perf_counter(), time.process_time()
    dictionary = Dictionary.load(str(Path(corpus_dir) / "dictionary.gensim"))
    bow = list(MmCorpus(str(Path(corpus_dir) / "corpus.mm")))
    LdaModel(corpus=bow, id2word=dictionary, num_topics=k, random_state=seed, passes=passes,
             iterations=iterations, alpha=alpha, chunksize=chunksize, eval_every=None,
             dtype=np.float64)
    from pipeline.themes.sweep import peak_rss_mb

    return {"seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu_start,
            "peak_rss_mb": peak_rss_mb()}


def one_size(n: int, db: Path, args: argparse.Namespace) -> dict:
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from pipeline.store.archive import make_engine
    from pipeline.themes.coherence import score_models
    from pipeline.themes.dictionary import build_corpus
    from pipeline.themes.settings import DictionarySettings, alpha_value, load_theme_settings
    from pipeline.themes.sweep import FitSpec, one_blas_thread, run_fits

    defaults = load_theme_settings()
    sweep = defaults.sweep
    topics = [int(x) for x in args.topics.split(",")]
    seeds = [int(x) for x in args.seeds.split(",")]
    out: dict = {"posts": n, "topics": topics, "seeds": seeds, "passes": args.passes,
                 "workers": args.workers, "cores": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="themes-bench-", dir=db.parent) as tmp:
        root = Path(tmp)
        snapshot_id = 1
        engine = make_engine(f"sqlite:///{db}")
        t = time.perf_counter()
        files = build_corpus(engine, snapshot_id, DictionarySettings(), root / "corpus")
        out["dictionary_s"] = time.perf_counter() - t
        out.update(files.stats())
        engine.dispose()

        specs = [FitSpec(k, s, args.passes, sweep.iterations, sweep.alpha, sweep.chunksize)
                 for k in topics for s in seeds]
        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        fits = run_fits(files.folder, root / "models", specs, workers=args.workers)
        wall = time.perf_counter() - t
        cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        worker_cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (
            cpu_after.ru_stime - cpu_before.ru_stime)
        fit_sum = sum(f.seconds for f in fits)
        out["sweep"] = {
            "fits": len(fits),
            "wall_s": wall,
            "sum_fit_s": fit_sum,
            "speedup": fit_sum / wall,
            "core_use": worker_cpu / (wall * (os.cpu_count() or 1)),
            "sum_fit_cpu_s": sum(f.cpu_seconds for f in fits),
            "per_fit": [{"model": f.spec.name, "seconds": f.seconds, "cpu_seconds": f.cpu_seconds,
                         "peak_rss_mb": f.peak_rss_mb} for f in fits],
        }
        # The bare fit, in a fresh process (same BLAS threads), for each K with the first seed.
        bare = {}
        with one_blas_thread(), ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
            for k in topics:
                bare[k] = pool.submit(
                    bare_fit, str(files.folder), k, seeds[0], args.passes, sweep.iterations,
                    alpha_value(sweep.alpha), sweep.chunksize,
                ).result()
        out["bare"] = {}
        for k in topics:
            ours = next(f for f in fits if f.spec.num_topics == k and f.spec.seed == seeds[0])
            out["bare"][k] = {**bare[k], "lurker_fit_s": ours.seconds,
                              "lurker_fit_cpu_s": ours.cpu_seconds,
                              "ratio": ours.seconds / bare[k]["seconds"],
                              "cpu_ratio": ours.cpu_seconds / bare[k]["cpu_seconds"],
                              "lurker_peak_rss_mb": ours.peak_rss_mb}
        timings: dict[str, float] = {}
        t = time.perf_counter()
        score_models(files, [[[w for w, _ in topic[:10]] for topic in f.top_words] for f in fits],
                     ("c_v", "c_npmi", "u_mass"), processes=args.workers, timings=timings)
        out["coherence_s"] = {**timings, "total": time.perf_counter() - t}
    from pipeline.themes.sweep import peak_rss_mb

    out["peak_rss_mb"] = peak_rss_mb()
    out["load_average"] = os.getloadavg()  # other work on the machine skews every number
    return out


def _child(argv: list[str]) -> dict:
    done = subprocess.run([sys.executable, __file__, *argv], capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def print_table(results: list[dict]) -> None:
    for r in results:
        sw, coh = r["sweep"], r["coherence_s"]
        fit_peak = max(f["peak_rss_mb"] for f in sw["per_fit"])
        bare_peak = max(b["peak_rss_mb"] for b in r["bare"].values())
        print(
            f"\n== {r['posts']} posts ({r['documents']} modelled, vocabulary {r['vocabulary']}, "
            f"K {r['topics']} × seeds {r['seeds']}, {r['passes']} passes, "
            f"{r['workers']} workers on {r['cores']} cores, load {r['load_average'][0]:.1f})\n"
            f"  store fill {r['store_fill_s']:.1f}s (generator, not lurker) · dictionary + "
            f"MmCorpus {r['dictionary_s']:.1f}s\n"
            f"  sweep: {sw['fits']} fits in {sw['wall_s']:.1f}s wall; sum of fit times "
            f"{sw['sum_fit_s']:.1f}s (CPU {sw['sum_fit_cpu_s']:.1f}s) → speed-up "
            f"{sw['speedup']:.2f}×, worker CPU / (wall × cores) {sw['core_use']:.0%}\n"
            f"  coherence {coh['total']:.1f}s: c_v {coh.get('c_v', 0):.1f}s, "
            f"c_npmi {coh.get('c_npmi', 0):.1f}s, u_mass {coh.get('u_mass', 0):.1f}s"
        )
        for k, b in r["bare"].items():
            print(
                f"  K={k}: lurker fit {b['lurker_fit_s']:.1f}s wall / {b['lurker_fit_cpu_s']:.1f}s "
                f"CPU vs bare LdaModel {b['seconds']:.1f}s / {b['cpu_seconds']:.1f}s → "
                f"{b['ratio']:.2f}× wall, {b['cpu_ratio']:.2f}× CPU"
            )
        print(f"  peak RSS: main {r['peak_rss_mb']:.0f} MB, fit worker {fit_peak:.0f} MB, "
              f"bare fit {bare_peak:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,50000,100000")
    parser.add_argument("--topics", default="10,20")
    parser.add_argument("--seeds", default="1,2")
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path)
    # Children: --fill makes the store, --one measures one size on it (JSON on stdout). Each
    # runs in a fresh process, so that the generator's memory is not counted as lurker's.
    parser.add_argument("--fill", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fill:
        t = time.perf_counter()
        fill_store(f"sqlite:///{args.db}", args.fill)
        print(json.dumps({"store_fill_s": time.perf_counter() - t}))
        return
    if args.one:
        print(json.dumps(one_size(args.one, args.db, args)))
        return
    results = []
    for n in (int(x) for x in args.sizes.split(",")):
        print(f"{n} posts …", flush=True)
        with tempfile.TemporaryDirectory(prefix="themes-bench-store-") as tmp:
            db = Path(tmp) / "bench.sqlite"
            fill = _child(["--fill", str(n), "--db", str(db)])
            cmd = ["--one", str(n), "--db", str(db), "--topics", args.topics,
                   "--seeds", args.seeds, "--passes", str(args.passes),
                   "--workers", str(args.workers)]
            results.append(_child(cmd) | fill)
        print(json.dumps(results[-1]["sweep"] | {"bare": results[-1]["bare"]}, default=str))
    print_table(results)
    if args.out:
        args.out.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
