"""Storing and reading theme runs (tables in `pipeline/store/themes.py`)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from pipeline.store.themes import CandidateTheme, ThemeModel, ThemeRun
from pipeline.workspace import Workspace

if TYPE_CHECKING:
    from .dictionary import CorpusFiles
    from .recommend import Recommendation
    from .run import ModelRecord
    from .settings import ThemeSettings


def clean(value: Any) -> Any:
    """JSON-safe: NaN and infinities (a score that could not be computed) become null."""
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value


def _rel(ws: Workspace, path: Path | str) -> str:
    path = Path(path)
    try:
        return str(path.relative_to(ws.root))
    except ValueError:
        return str(path)


def _model_row(run_id: int, ws: Workspace, record: ModelRecord) -> ThemeModel:
    fit = record.fit
    return ThemeModel(
        run_id=run_id,
        num_topics=fit.spec.num_topics,
        seed=fit.spec.seed,
        guided=fit.spec.guided,
        params=fit.spec.params(),
        model_file=_rel(ws, fit.model_file),
        model_sha256=fit.topic_sha256,
        coherence=clean(record.coherence),
        topic_coherence=clean(record.topic_coherence),
        stability=clean(record.stability),
        topic_stability=clean(record.topic_stability),
        top_words=clean([[[w, p] for w, p in topic] for topic in fit.top_words]),
        fit_seconds=fit.seconds,
    )


def save_run(
    engine: Engine,
    ws: Workspace,
    *,
    snapshot_id: int,
    settings: ThemeSettings,
    versions: dict,
    files: CorpusFiles,
    folder: Path,
    provenance: dict,
    recommendation: Recommendation,
    per_k: list[dict],
    records: list[ModelRecord],
    guided: list[ModelRecord],
    chosen: ModelRecord,
    themes: list[dict],
    timings: dict,
) -> int:
    """Write a finished run in one transaction; returns its id."""
    with Session(engine) as s, s.begin():
        run = ThemeRun(
            snapshot_id=snapshot_id,
            settings={**settings.to_dict(), "provenance": clean(provenance)},
            settings_hash=settings.hash,
            versions=versions,
            files={
                "folder": _rel(ws, folder),
                "corpus": _rel(ws, files.folder),
                "sha256": files.sha256,
            },
            corpus_stats=files.stats(),
            recommended_k=recommendation.k,
            reason=recommendation.reason,
            per_k=clean(per_k),
            timings=clean(timings),
        )
        s.add(run)
        s.flush()
        for record in [*records, *guided]:
            row = _model_row(run.id, ws, record)
            s.add(row)
            s.flush()
            record.db_id = row.id
        run.chosen_model_id = chosen.db_id
        for theme in themes:
            s.add(CandidateTheme(run_id=run.id, model_id=chosen.db_id, **clean(theme)))
        return run.id


def set_report(engine: Engine, run_id: int, path: str) -> None:
    with Session(engine) as s, s.begin():
        s.execute(update(ThemeRun).where(ThemeRun.id == run_id).values(report_path=path))


def latest_run_id(engine: Engine, snapshot_id: int | None = None) -> int | None:
    query = select(ThemeRun.id).order_by(ThemeRun.id.desc())
    if snapshot_id is not None:
        query = query.where(ThemeRun.snapshot_id == snapshot_id)
    with Session(engine) as s:
        return s.scalar(query)


def load_run(engine: Engine, run_id: int) -> dict | None:
    """A stored run as plain data: the run, its models and its candidate themes."""
    with Session(engine) as s:
        run = s.get(ThemeRun, run_id)
        if run is None:
            return None
        models = s.scalars(
            select(ThemeModel).where(ThemeModel.run_id == run_id).order_by(ThemeModel.id)
        ).all()
        themes = s.scalars(
            select(CandidateTheme).where(CandidateTheme.run_id == run_id)
            .order_by(CandidateTheme.topic)
        ).all()
        return {
            "id": run.id,
            "snapshot_id": run.snapshot_id,
            "created_at": run.created_at,
            "settings": run.settings,
            "versions": run.versions,
            "files": run.files,
            "corpus_stats": run.corpus_stats,
            "recommended_k": run.recommended_k,
            "chosen_model_id": run.chosen_model_id,
            "reason": run.reason,
            "per_k": run.per_k,
            "timings": run.timings,
            "report_path": run.report_path,
            "models": [
                {c.name: getattr(m, c.name) for c in ThemeModel.__table__.columns} for m in models
            ],
            "themes": [
                {c.name: getattr(t, c.name) for c in CandidateTheme.__table__.columns}
                for t in themes
            ],
        }
