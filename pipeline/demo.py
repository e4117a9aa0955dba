"""`lurker demo`: the bundled demo forum, crawled end to end into a fresh workspace."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from rich.console import Console

from pipeline.settings import SiteConfig
from pipeline.workspace import Workspace
from spiders.context import CrawlOptions


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
    console.print(
        f"\n[bold]workspace:[/] {ws.root}\n  store: {ws.db_path}\n  WARC:  {ws.warc_dir}\n"
        f"  logs:  {ws.log_dir}\n  pseudonym key: {ws.root / 'pseudonym.key'} (keep it private)\n"
        f"Inspect it with `lurker status --workspace {ws.root}` and "
        f"`lurker process --workspace {ws.root} --show-kwic oem`.",
        highlight=False,
    )
    return ws
