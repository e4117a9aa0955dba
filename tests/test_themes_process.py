"""The real processing flow (`lurker process`'s Prefect flow), then themes on its snapshot."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
from rich.console import Console

from pipeline.demo import DEMO_SEEDS, DEMO_TOPICS, run_demo_themes
from pipeline.store import ArchiveStore
from pipeline.themes.agreement import adjusted_mutual_information
from pipeline.workspace import Workspace
from tests.corpus_store import fill_store

POST_AMI_FLOOR = 0.25  # kept posts (measured 0.30 at K=9); a model ignoring the words: 0



def test_process_flow_then_themes(
    tmp_path: Path, prefect_env: None, capsys: pytest.CaptureFixture
) -> None:
    from pipeline.process import run_process

    ws = Workspace.resolve(tmp_path / "ws").create()
    store = ArchiveStore(ws.store_url)
    try:
        corpus = fill_store(store)
    finally:
        store.close()
    report = run_process(ws)
    # The step `lurker demo` runs after processing: its sweep, guided models, summary.
    out = io.StringIO()
    result = run_demo_themes(ws, report.snapshot_id, Console(file=out, width=200))
    printed = out.getvalue()
    assert f"theme run {result.run_id}" in printed and "recommended K =" in printed
    assert [row["k"] for row in result.per_k] == list(DEMO_TOPICS)
    assert len(result.guided) == len(DEMO_SEEDS)
    theme_of_tid = {t["tid"]: t["theme"] for t in corpus["threads"]}
    truth = [theme_of_tid[doc["tid"]] for doc in result.docs]
    ami = adjusted_mutual_information(truth, result.assigned)
    shuffled = list(result.assigned)
    random.Random(0).shuffle(shuffled)
    baseline = adjusted_mutual_information(truth, shuffled)
    with capsys.disabled():
        print(
            f"\n[themes] after `lurker process`: snapshot {report.snapshot_id}, "
            f"{len(truth)} kept posts modelled, {len(set(truth))} planted themes; "
            f"K={result.recommendation.k}; AMI posts {ami:.3f} (floor {POST_AMI_FLOOR}), "
            f"shuffled baseline {baseline:.3f}; themes step {result.timings['total']:.0f} s "
            f"(fits {result.timings['fit']:.0f} s)"
        )
    assert ami >= POST_AMI_FLOOR and abs(baseline) < 0.05
    # What the report and the stored themes show comes from the pseudonymised corpus only.
    real_names = {u["username"] for u in corpus["users"]}
    planted = {
        pii["value"] for t in corpus["threads"] for p in t["posts"] for pii in p.get("pii") or []
        if len(pii["value"]) >= 6
    }
    for theme in result.themes:
        for rep in theme["representatives"]:
            assert rep["author"] not in real_names
            assert not any(value in rep["text"] or value in rep["opening"] for value in planted)
    html = result.report_path.read_text(encoding="utf-8")
    assert not any(name in html for name in real_names if len(name) >= 3)
