"""`lurker demo`: the bundled demo forum, crawled end to end into a fresh workspace."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from pipeline.settings import SiteConfig
from pipeline.workspace import Workspace
from spiders.context import CrawlOptions

if TYPE_CHECKING:
    from pipeline.themes.run import ThemeRunResult


def fresh_workspace(path: Path | None) -> Workspace:
    if path is None:
        path = Path(f"lurker-demo-{datetime.now():%Y%m%d-%H%M%S}")
    ws = Workspace.resolve(path)
    if ws.root.exists() and any(ws.root.iterdir()):
        from pipeline.settings import ConfigError

        raise ConfigError(f"{ws.root} is not empty: the demo needs a fresh workspace")
    return ws.create()


def run_demo(workspace: Path | None, markup: str, console: Console) -> Workspace:
    from pipeline.cli import (
        crawl_with_progress,
        print_crawl_report,
        print_process_report,
        print_status,
        run_process_with_status,
    )
    from pipeline.demoforum.quirks import Quirks
    from pipeline.demoforum.server import DemoForum
    from pipeline.store import ArchiveStore

    ws = fresh_workspace(workspace)
    with DemoForum(markup=markup, quirks=Quirks.demo()) as forum:
        console.print(f"demo forum ({markup}) serving at {forum.url}", highlight=False)
        site = SiteConfig(name="demo-forum", url=forum.url, download_delay=0.0, autothrottle=False)
        report = crawl_with_progress(ws, site, CrawlOptions())
    print_crawl_report(report, ws)
    store = ArchiveStore(ws.store_url)
    try:
        print_status(store.summary(), ws)
    finally:
        store.close()
    console.print("\n[bold]processing[/] the archive into a corpus snapshot")
    report = run_process_with_status(ws)
    print_process_report(report)
    themes_run = run_demo_themes(ws, report.snapshot_id, console)
    console.print(
        f"\n[bold]workspace:[/] {ws.root}\n  store: {ws.db_path}\n  WARC:  {ws.warc_dir}\n"
        f"  logs:  {ws.log_dir}\n  pseudonym key: {ws.root / 'pseudonym.key'} (keep it private)\n"
        f"  themes report: {themes_run.report_path}\n"
        f"Inspect it with `lurker status --workspace {ws.root}`, "
        f"`lurker process --workspace {ws.root} --show-kwic oem` and "
        f"`lurker themes --workspace {ws.root} --show`.",
        highlight=False,
    )
    return ws


# The demo's sweep: around the demo corpus's number of planted themes, two seeds, so that the
# demo stays quick on two cores (`lurker themes` alone runs the full default sweep). Two K
# rather than three: four fits are two rounds on two cores, and the K=16 of the old sweep was
# never recommended. Fewer passes would be cheaper still but lose agreement (5 passes and 30
# iterations: posts AMI −0.05 on the demo corpus), so the passes stay.
DEMO_TOPICS = (9, 13)
DEMO_SEEDS = (1, 2)


def run_demo_themes(ws: Workspace, snapshot_id: int, console: Console) -> ThemeRunResult:
    from pipeline.store.archive import make_engine
    from pipeline.themes.cli import settings_from_options
    from pipeline.themes.run import run_themes
    from pipeline.themes.show import print_run
    from pipeline.themes.store import load_run

    console.print("\n[bold]candidate themes[/]: topic models on the snapshot")
    settings = settings_from_options(ws).replace(
        sweep={"topics": DEMO_TOPICS, "seeds": DEMO_SEEDS}
    )
    engine = make_engine(ws.store_url)
    try:
        result = run_themes(
            ws, engine, snapshot_id, settings,
            progress=lambda message: console.print(f"  {message}", highlight=False),
        )
        run = load_run(engine, result.run_id)
    finally:
        engine.dispose()
    assert run is not None
    print_run(run, ws, console)
    return result
