"""The themes stage: snapshot → dictionary → sweep → scores → recommendation → themes → report.

Everything a run used is recorded (settings, seeds, library versions, file hashes), and the
same snapshot with the same settings gives identical topics (see `sweep` for why).
"""

from __future__ import annotations

import json
import math
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from sqlalchemy.engine import Engine

from pipeline.workspace import Workspace

from . import store as theme_store
from .coherence import score_models
from .corpus import post_contexts, snapshot_exists, snapshot_params
from .dictionary import CorpusFiles, build_corpus, read_docs
from .recommend import KScore, Recommendation, central_run, recommend_k
from .seeding import SeedConcept, eta_matrix, load_concepts, seed_words
from .settings import ThemeSettings
from .stability import stability
from .summaries import TopicTally, document_topics, monthly_shares, representatives, suggest_label
from .sweep import FitResult, FitSpec, run_fits

Progress = Callable[[str], None]


class ThemesError(ValueError):
    """A user-facing problem (no such snapshot, too few posts): one line, no traceback."""


@dataclass(slots=True)
class ModelRecord:
    fit: FitResult
    coherence: dict[str, float]
    topic_coherence: dict[str, list[float]]
    stability: float = float("nan")
    topic_stability: list[float] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    db_id: int | None = None


@dataclass(slots=True)
class ThemeRunResult:
    run_id: int
    snapshot_id: int
    folder: Path
    report_path: Path
    corpus: CorpusFiles
    recommendation: Recommendation
    per_k: list[dict]
    models: list[ModelRecord]
    guided: list[ModelRecord]
    chosen: ModelRecord
    themes: list[dict]
    assigned: list[int]  # dominant topic of every corpus row (chosen model)
    docs: list[dict]
    timings: dict[str, float]


def library_versions() -> dict[str, str]:
    names = ("gensim", "numpy", "scipy", "jieba", "SQLAlchemy", "lurker")
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "unknown"
    return out


def _specs(settings: ThemeSettings, topics: tuple[int, ...]) -> list[FitSpec]:
    s = settings.sweep
    return [
        FitSpec(k, seed, s.passes, s.iterations, s.alpha, s.chunksize)
        for k in topics
        for seed in s.seeds
    ]


def _top(fit: FitResult, n: int) -> list[list[str]]:
    return [[w for w, _ in topic[:n]] for topic in fit.top_words]


def _score(
    files: CorpusFiles, fits: list[FitResult], settings: ThemeSettings, timings: dict[str, float]
) -> list[ModelRecord]:
    topn = settings.sweep.topn
    scores = score_models(
        files, [_top(f, topn) for f in fits], settings.coherence.measures,
        processes=settings.coherence.processes, timings=timings,
    )
    records = [ModelRecord(f, c.score, c.per_topic) for f, c in zip(fits, scores, strict=True)]
    by_k: dict[int, list[ModelRecord]] = {}
    for record in records:
        by_k.setdefault(record.fit.spec.num_topics, []).append(record)
    for group in by_k.values():
        scores_k = stability([_top(r.fit, topn) for r in group])
        for record, model_score, topic_scores in zip(
            group, scores_k.per_model, scores_k.per_topic, strict=True
        ):
            record.stability = model_score
            record.topic_stability = topic_scores
    return records


def _per_k(records: list[ModelRecord], settings: ThemeSettings) -> list[dict]:
    out = []
    for k in sorted({r.fit.spec.num_topics for r in records}):
        group = [r for r in records if r.fit.spec.num_topics == k]
        row: dict = {"k": k, "seeds": [r.fit.spec.seed for r in group]}
        for measure in settings.coherence.measures:
            row[measure] = _nanmean([r.coherence[measure] for r in group])
        topn = settings.sweep.topn
        row["stability"] = stability([_top(r.fit, topn) for r in group]).overall
        row["fit_seconds"] = sum(r.fit.seconds for r in group)
        out.append(row)
    return out


def _nanmean(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return sum(finite) / len(finite) if finite else float("nan")


def run_themes(
    ws: Workspace,
    engine: Engine,
    snapshot_id: int,
    settings: ThemeSettings,
    *,
    progress: Progress | None = None,
) -> ThemeRunResult:
    say = progress or (lambda _m: None)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    if not snapshot_exists(engine, snapshot_id):
        raise ThemesError(f"no snapshot {snapshot_id} in the store (run `lurker process` first)")
    root = ws.root / "themes"

    t = time.perf_counter()
    say(f"dictionary and bag-of-words of snapshot {snapshot_id}")
    files = build_corpus(
        engine, snapshot_id, settings.dictionary, root / "corpus", base=ws.root
    )
    timings["dictionary"] = time.perf_counter() - t
    topics = tuple(sorted(set(settings.sweep.topics)))
    if files.documents < 2 * max(topics) or files.vocabulary < max(topics):
        raise ThemesError(
            f"snapshot {snapshot_id} has {files.documents} modelled posts and "
            f"{files.vocabulary} words: too few for {max(topics)} topics "
            "(lower themes.sweep.topics or the dictionary filters)"
        )

    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
    folder = root / f"run-{stamp}-s{snapshot_id}-{settings.hash[:8]}"
    models_dir = folder / "models"
    specs = _specs(settings, topics)
    t = time.perf_counter()
    say(f"fitting {len(specs)} models ({len(topics)} K × {len(settings.sweep.seeds)} seeds)")
    fits = run_fits(
        files.folder, models_dir, specs, workers=settings.sweep.workers,
        on_done=lambda r: say(f"  fitted {r.spec.name} in {r.seconds:.1f}s"),
    )
    timings["fit"] = time.perf_counter() - t
    t = time.perf_counter()
    say("coherence (" + ", ".join(settings.coherence.measures) + ") and stability")
    coherence_times: dict[str, float] = {}
    records = _score(files, fits, settings, coherence_times)
    timings["coherence"] = time.perf_counter() - t
    timings.update({f"coherence_{m}": v for m, v in coherence_times.items()})

    per_k = _per_k(records, settings)
    measure = settings.recommend.coherence
    rec = recommend_k(
        [KScore(row["k"], row[measure], row["stability"]) for row in per_k],
        min_stability=settings.recommend.min_stability,
        measure=measure,
    )
    group = [r for r in records if r.fit.spec.num_topics == rec.k]
    chosen = group[central_run([r.stability for r in group], [r.coherence[measure] for r in group])]
    say(rec.reason)

    from gensim.corpora import Dictionary

    dictionary = Dictionary.load(str(files.dictionary_path))
    seeds: list[SeedConcept] = []
    guided: list[ModelRecord] = []
    if settings.seeding.enabled:
        concepts = load_concepts(settings.seeding.keywords or None)
        seeds = seed_words(concepts, dictionary.token2id, settings.seeding.concepts)
        if seeds:
            t = time.perf_counter()
            import numpy as np

            eta_file = folder / f"eta-k{rec.k:02d}.npy"
            eta = eta_matrix(rec.k, dictionary.token2id, seeds, settings.seeding.weight)
            np.save(eta_file, eta)
            s = settings.sweep
            guided_specs = [
                FitSpec(rec.k, seed, s.passes, s.iterations, s.alpha, s.chunksize, True,
                        str(eta_file))
                for seed in s.seeds
            ]
            say(f"fitting {len(guided_specs)} guided models (K={rec.k}, {len(seeds)} concepts)")
            guided_fits = run_fits(files.folder, models_dir, guided_specs, workers=s.workers)
            guided = _score(files, guided_fits, settings, {})
            for record in guided:
                record.labels = [
                    seeds[i].name if i < len(seeds) else "" for i in range(rec.k)
                ]
            timings["guided"] = time.perf_counter() - t

    t = time.perf_counter()
    say(f"summarising the {rec.k} topics of {chosen.fit.spec.name}")
    docs = read_docs(files)
    n_rep = settings.summary.representatives
    tally = TopicTally(rec.k, n_rep)
    for row, dist in enumerate(document_topics(Path(chosen.fit.model_file), files.corpus_path)):
        tally.add(row, dist, docs[row]["month"])
    reps = {topic: representatives(tally, topic, docs, n_rep) for topic in range(rec.k)}
    contexts = post_contexts(
        engine, snapshot_id, (docs[row]["pp"] for rows in reps.values() for row, _ in rows)
    )
    themes = []
    cut = settings.summary.excerpt_chars
    for topic in range(rec.k):
        words = chosen.fit.top_words[topic]
        label, concept = suggest_label(words, seeds)
        chosen.labels.append(label)
        rep_rows = []
        for row, p in reps[topic]:
            ctx = contexts.get(docs[row]["pp"])
            if ctx is None:
                continue
            rep_rows.append({
                "processed_post_id": ctx.processed_post_id,
                "thread_id": ctx.thread_id,
                "tid": ctx.tid,
                "floor": ctx.floor,
                "posted_at": ctx.posted_at.isoformat() if ctx.posted_at else None,
                "author": ctx.author_pseudonym,
                "probability": round(p, 4),
                "text": _excerpt(ctx.text, cut),
                "thread_posts": ctx.thread_posts,
                "opening": "" if ctx.floor == 1 else _excerpt(ctx.opening, cut // 2),
            })
        themes.append({
            "topic": topic,
            "label": label,
            "concept": concept,
            "top_words": [[w, round(p, 6)] for w, p in words],
            "posts": tally.dominant[topic],
            "share": tally.dominant[topic] / tally.posts if tally.posts else 0.0,
            "stability": chosen.topic_stability[topic],
            "coherence": {m: v[topic] for m, v in chosen.topic_coherence.items()},
            "monthly": [[m, round(v, 4)] for m, v in monthly_shares(tally, topic)],
            "representatives": rep_rows,
        })
    timings["summaries"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - started

    provenance = {
        "snapshot": snapshot_params(engine, snapshot_id),
        "seeds": list(settings.sweep.seeds),
        "seed_concepts": [{"name": c.name, "words": list(c.words)} for c in seeds],
    }
    run_id = theme_store.save_run(
        engine, ws, snapshot_id=snapshot_id, settings=settings, versions=library_versions(),
        files=files, folder=folder, provenance=provenance, recommendation=rec, per_k=per_k,
        records=records, guided=guided, chosen=chosen, themes=themes, timings=timings,
    )
    from .report import write_report

    report_path = folder / "report.html"
    result = ThemeRunResult(
        run_id=run_id, snapshot_id=snapshot_id, folder=folder, report_path=report_path,
        corpus=files, recommendation=rec, per_k=per_k, models=records, guided=guided,
        chosen=chosen, themes=themes, assigned=tally.assigned, docs=docs, timings=timings,
    )
    write_report(result, settings, report_path)
    theme_store.set_report(engine, run_id, str(report_path.relative_to(ws.root)))
    (folder / "run.json").write_text(
        json.dumps({"run_id": run_id, "snapshot_id": snapshot_id, "settings": settings.to_dict(),
                    "versions": library_versions(), "recommended_k": rec.k,
                    "reason": rec.reason}, indent=1, ensure_ascii=False),
        encoding="utf-8",
    )
    return result


def _excerpt(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
