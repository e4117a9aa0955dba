"""Theme runs stored in a real PostgreSQL server (loopback), single seed: no stability."""

from __future__ import annotations

from pathlib import Path

from pipeline.store.archive import make_engine
from pipeline.store.models import Base
from pipeline.themes import store as theme_store
from pipeline.themes.run import run_themes
from pipeline.themes.settings import load_theme_settings
from pipeline.workspace import Workspace
from tests.themes_demo import build_demo_snapshot


def test_theme_run_in_postgresql(postgres_url: str, tmp_path: Path) -> None:
    engine = make_engine(postgres_url)
    Base.metadata.drop_all(engine)  # one server per session: start empty
    engine.dispose()
    snap = build_demo_snapshot(postgres_url, thread_limit=80)
    ws = Workspace.resolve(tmp_path / "ws").create()
    settings = load_theme_settings().replace(
        sweep={"topics": (3, 4), "seeds": (1,), "passes": 2}, seeding={"enabled": False}
    )
    engine = make_engine(postgres_url)
    try:
        result = run_themes(ws, engine, snap.snapshot_id, settings)
        run = theme_store.load_run(engine, result.run_id)
    finally:
        engine.dispose()
    assert run is not None and run["snapshot_id"] == snap.snapshot_id
    assert len(run["models"]) == 2 and len(run["themes"]) == run["recommended_k"]
    # One seed: stability is unknown, stored as null (not NaN), and the reason says so.
    assert all(m["stability"] is None for m in run["models"])
    assert all(row["stability"] is None for row in run["per_k"])
    assert "coherence alone" in run["reason"]
    assert all(t["representatives"] for t in run["themes"])
