"""The static HTML report of a theme run (jinja2, autoescaped: post text is scraped input)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

from jinja2 import Environment, PackageLoader, select_autoescape

from .run import library_versions
from .svg import bar_chart, line_chart, sparkline

if TYPE_CHECKING:
    from .run import ThemeRunResult
    from .settings import ThemeSettings


def fmt(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def pct(value: float) -> str:
    return f"{value:.1%}"


def _env() -> Environment:
    # Autoescape everything, .html or not: every post excerpt is untrusted forum text.
    return Environment(
        loader=PackageLoader("pipeline.themes", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )


def render_report(result: ThemeRunResult, settings: ThemeSettings) -> str:
    measures = list(settings.coherence.measures)
    ks = [row["k"] for row in result.per_k]
    coherence_svg = line_chart(
        ks, {m: [row[m] for row in result.per_k] for m in measures},
        title="coherence (mean over seeds)", mark_x=result.recommendation.k,
    )
    stability_svg = line_chart(
        ks, {"stability": [row["stability"] for row in result.per_k]},
        title="stability across seeds (matched top-word Jaccard)",
        mark_x=result.recommendation.k,
    )
    bars = {t["topic"]: bar_chart([(w, p) for w, p in t["top_words"][:12]]) for t in result.themes}
    lines = {t["topic"]: sparkline([(m, v) for m, v in t["monthly"]]) for t in result.themes}
    return _env().get_template("report.html").render(
        run={"id": result.run_id, "snapshot_id": result.snapshot_id},
        stats=result.corpus.stats(),
        rec=result.recommendation,
        chosen=result.chosen,
        models=result.models,
        guided=result.guided,
        per_k=result.per_k,
        measures=measures,
        themes=result.themes,
        coherence_svg=coherence_svg,
        stability_svg=stability_svg,
        bars=bars,
        lines=lines,
        fmt=fmt,
        pct=pct,
        settings_hash=settings.hash,
        settings_json=json.dumps(settings.to_dict(), ensure_ascii=False, sort_keys=True),
        versions=library_versions(),
        sha=result.corpus.sha256,
        folder=result.folder.name,
        timings=result.timings,
    )


def write_report(result: ThemeRunResult, settings: ThemeSettings, path: Path) -> Path:
    path.write_text(render_report(result, settings), encoding="utf-8")
    return path
