"""`lurker themes --show`: a stored run's summary in the terminal (rich)."""

from __future__ import annotations

import math

from rich.console import Console
from rich.table import Table

from pipeline.workspace import Workspace


def _f(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def print_run(run: dict, ws: Workspace, console: Console) -> None:
    stats = run["corpus_stats"]
    console.print(
        f"[bold]theme run {run['id']}[/] on snapshot {run['snapshot_id']} — "
        f"{stats.get('documents', 0)} posts modelled, vocabulary {stats.get('vocabulary', 0)}, "
        f"{len(run['models'])} models",
        highlight=False,
    )
    measures = [m for m in ("c_v", "c_npmi", "u_mass") if run["per_k"] and m in run["per_k"][0]]
    sweep = Table(title="sweep: mean over seeds per number of topics")
    for col in ("K", *measures, "stability"):
        sweep.add_column(col, justify="right")
    for row in run["per_k"]:
        mark = " ◀" if row["k"] == run["recommended_k"] else ""
        sweep.add_row(
            f"{row['k']}{mark}", *(_f(row.get(m)) for m in measures), _f(row.get("stability"), 2)
        )
    console.print(sweep)
    reason = run["reason"].removeprefix(f"K={run['recommended_k']}: ")
    console.print(f"[bold]recommended K = {run['recommended_k']}[/]: {reason}", highlight=False)
    topics = Table(title=f"candidate themes (K = {run['recommended_k']})")
    for col, justify in (("#", "right"), ("label", "left"), ("posts", "right"),
                         ("share", "right"), ("stability", "right"), ("top words", "left")):
        topics.add_column(col, justify=justify)  # type: ignore[arg-type]
    for theme in run["themes"]:
        words = " ".join(w for w, _ in theme["top_words"][:8])
        topics.add_row(
            str(theme["topic"]), theme["label"], str(theme["posts"]), f"{theme['share']:.1%}",
            _f(theme["stability"], 2), words,
        )
    console.print(topics)
    guided = [m for m in run["models"] if m["guided"]]
    if guided:
        console.print(
            "guided models (eta seeded from concepts): "
            + ", ".join(
                f"seed {m['seed']} c_v {_f(m['coherence'].get('c_v'))} "
                f"stability {_f(m['stability'], 2)}"
                for m in guided
            ),
            highlight=False,
        )
    if run["report_path"]:
        console.print(f"report: {ws.root / run['report_path']}", highlight=False)
