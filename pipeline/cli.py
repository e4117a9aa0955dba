"""The `lurker` command line (typer + rich).

User mistakes (bad config, bad URL, unknown site) print one clear line and exit non-zero.
"""

from __future__ import annotations

import sys
from datetime import datetime, time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from pipeline.settings import ConfigError, SiteConfig, load_settings, site_for_url
from pipeline.workspace import Workspace

app = typer.Typer(
    name="lurker",
    help="Netnography pipeline for Chinese B2B trading forums.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err = Console(stderr=True)

WorkspaceOpt = Annotated[
    Path | None,
    typer.Option(
        "--workspace", "-w", help="Workspace folder (default $LURKER_HOME or ./lurker-data)."
    ),
]


def fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


def parse_boards(value: str | None) -> tuple[int, ...]:
    if not value:
        return ()
    try:
        return tuple(int(v) for v in value.replace(" ", "").split(",") if v)
    except ValueError:
        raise fail(f"--boards takes board ids separated by commas, got {value!r}") from None


def parse_since(value: str | None, utc_offset: float) -> datetime | None:
    if not value:
        return None
    from datetime import timedelta, timezone

    try:
        day = datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"--since takes a date like 2024-01-31, got {value!r}") from None
    if day.tzinfo is None:
        tz = timezone(timedelta(hours=utc_offset))
        day = datetime.combine(day.date(), day.time() or time(), tz)
    return day


def resolve_site(workspace: Workspace, site: str | None, url: str | None) -> SiteConfig:
    settings = load_settings(workspace.config_file)
    if url and site:
        raise fail("give either --site or --url, not both")
    if url:
        return site_for_url(url, settings.crawl)
    if site:
        if site not in settings.sites:
            known = ", ".join(sorted(settings.sites)) or "none"
            raise fail(f"no site {site!r} in the configuration (known: {known})")
        return settings.sites[site]
    raise fail("say what to crawl: --site NAME (from config) or --url URL")


@app.command()
def crawl(
    workspace: WorkspaceOpt = None,
    site: Annotated[str | None, typer.Option(help="A site entry from the configuration.")] = None,
    url: Annotated[str | None, typer.Option(help="A forum, board or thread URL.")] = None,
    boards: Annotated[str | None, typer.Option(help="Board ids (fid), comma-separated.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Only threads with posts since DATE (YYYY-MM-DD).")
    ] = None,
    max_threads: Annotated[int | None, typer.Option(min=1, help="Fetch at most N threads.")] = None,
    full: Annotated[
        bool, typer.Option("--full", help="Refetch every page to record edits and deletions.")
    ] = False,
) -> None:
    """Archive a forum's boards into the workspace, incrementally (re-run to update or resume)."""
    from spiders.context import CrawlOptions

    ws = Workspace.resolve(workspace)
    try:
        target = resolve_site(ws, site, url)
        options = CrawlOptions(
            boards=parse_boards(boards),
            since=parse_since(since, target.utc_offset),
            max_threads=max_threads,
            full=full,
        )
        report = crawl_with_progress(ws, target, options)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    print_crawl_report(report, ws)
    if report.status != "finished":
        raise typer.Exit(1)


def crawl_with_progress(ws: Workspace, target: SiteConfig, options: object) -> object:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from pipeline.crawl import run_crawl

    columns = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("posts {task.fields[posts]} · skipped {task.fields[skipped]}"),
        TimeElapsedColumn(),
    ]
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(f"crawl {target.name}", total=None, posts=0, skipped=0)
        totals = {"expected_pages": 0, "thread_pages": 0, "posts_new": 0, "skipped": 0}

        def on_progress(key: str, n: int) -> None:
            if key.startswith("skipped_"):
                key = "skipped"
            if key not in totals:
                return
            totals[key] += n
            progress.update(
                task,
                completed=totals["thread_pages"],
                total=max(totals["expected_pages"], totals["thread_pages"]) or None,
                posts=totals["posts_new"],
                skipped=totals["skipped"],
            )

        return run_crawl(ws, target, options, on_progress=on_progress)  # type: ignore[arg-type]


def print_crawl_report(report: object, ws: Workspace) -> None:
    counts = report.counts  # type: ignore[attr-defined]
    console.print(
        f"crawl run {report.run_id}: [bold]{report.status}[/] ({report.reason}) — "  # type: ignore[attr-defined]
        f"{counts.get('requests', 0)} requests, {counts.get('thread_pages', 0)} thread pages, "
        f"{counts.get('posts_new', 0)} new posts, {counts.get('versions_new', 0)} new versions, "
        f"{counts.get('threads_unchanged', 0)} threads unchanged",
        highlight=False,
    )
    skipped = {k: v for k, v in counts.items() if k.startswith("skipped_") or k.startswith("waf")}
    if skipped:
        listed = ", ".join(f"{k}={v}" for k, v in sorted(skipped.items()))
        console.print("recorded, not parsed: " + listed)
    console.print(f"log: {report.log_file}", highlight=False)  # type: ignore[attr-defined]


@app.command()
def status(workspace: WorkspaceOpt = None) -> None:
    """Counts per site and board, and the last crawl run."""
    from pipeline.store import ArchiveStore

    ws = Workspace.resolve(workspace)
    if not ws.db_path.exists() and ws.store_url.startswith("sqlite"):
        raise fail(f"no archive in {ws.root} (run `lurker crawl` or `lurker demo` first)")
    store = ArchiveStore(ws.store_url)
    try:
        print_status(store.summary(), ws)
    finally:
        store.close()


def print_status(summary: list[dict], ws: Workspace) -> None:
    console.print(f"workspace: {ws.root}", highlight=False)
    for site in summary:
        table = Table(title=f"{site['site']} — {site['url']} ({site['generation'] or '?'})")
        for col in ("fid", "board", "status", "threads", "posts"):
            table.add_column(col, justify="right" if col in ("fid", "threads", "posts") else "left")
        for b in site["boards"]:
            table.add_row(
                str(b["fid"]), b["name"] or "", b["status"], str(b["threads"]), str(b["posts"])
            )
        console.print(table)
        console.print(
            f"threads {site['threads']} · posts {site['posts']} · post versions "
            f"{site['versions']} · fetches {site['fetches']}",
            highlight=False,
        )
        run = site["last_run"]
        if run:
            console.print(
                f"last crawl run {run['id']}: {run['status']} ({run['reason']}), started "
                f"{run['started_at']:%Y-%m-%d %H:%M:%S} UTC, "
                f"{run['stats'].get('requests', 0)} requests, "
                f"{run['stats'].get('posts_new', 0)} new posts",
                highlight=False,
            )


@app.command()
def themes(
    workspace: WorkspaceOpt = None,
    snapshot: Annotated[
        int | None, typer.Option(help="Snapshot id (default: the latest complete one).")
    ] = None,
    topics: Annotated[
        str | None, typer.Option(help="Numbers of topics: 5,10,15 or 5-30:5 (default 5-30:5).")
    ] = None,
    seeds: Annotated[str | None, typer.Option(help="Random seeds, e.g. 1,2,3.")] = None,
    passes: Annotated[int | None, typer.Option(min=1, help="LDA passes over the corpus.")] = None,
    workers: Annotated[
        int | None, typer.Option(min=0, help="Fits in parallel, one per process (0 = all cores).")
    ] = None,
    phrases: Annotated[
        bool | None, typer.Option("--phrases/--no-phrases", help="Learn bigram phrases first.")
    ] = None,
    guided: Annotated[
        bool | None,
        typer.Option("--guided/--no-guided", help="Also fit models seeded from concept keywords."),
    ] = None,
    show: Annotated[
        bool, typer.Option("--show", help="Print a stored run's summary instead of fitting.")
    ] = False,
    run: Annotated[
        int | None, typer.Option(help="With --show: which run (default latest).")
    ] = None,
) -> None:
    """Fit topic models on a corpus snapshot and store candidate themes (with an HTML report)."""
    from pipeline.themes.cli import themes_command

    try:
        themes_command(
            Workspace.resolve(workspace), console, snapshot=snapshot, topics=topics, seeds=seeds,
            passes=passes, workers=workers, phrases=phrases, guided=guided, show=show, run=run,
        )
    except ConfigError as exc:
        raise fail(str(exc)) from None


@app.command()
def process(
    workspace: WorkspaceOpt = None,
    keywords: Annotated[
        Path | None, typer.Option(help="A keyword list (default: config/keywords.toml).")
    ] = None,
    since: Annotated[str | None, typer.Option(help="Only posts since DATE (YYYY-MM-DD).")] = None,
    until: Annotated[
        str | None, typer.Option(help="Only posts before DATE (YYYY-MM-DD).")
    ] = None,
    boards: Annotated[str | None, typer.Option(help="Board ids (fid), comma-separated.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes for the steps.")] = 1,
    show_kwic: Annotated[
        str | None,
        typer.Option("--show-kwic", metavar="CONCEPT",
                     help="Print the KWIC sample of CONCEPT from a snapshot, then stop."),
    ] = None,
    snapshot: Annotated[
        int | None, typer.Option(help="With --show-kwic: the snapshot (default: newest).")
    ] = None,
) -> None:
    """Run the processing flow: normalise, language, anonymise, segment, keyword filter,
    snapshot. Prints a summary per step and the snapshot id."""
    ws = Workspace.resolve(workspace)
    if not ws.db_path.exists() and ws.store_url.startswith("sqlite"):
        raise fail(f"no archive in {ws.root} (run `lurker crawl` or `lurker demo` first)")
    if show_kwic is not None:
        print_kwic(ws, show_kwic, snapshot)
        return
    if keywords is not None and not keywords.is_file():
        raise fail(f"--keywords: no such file {keywords}")
    try:
        offset = load_settings(ws.config_file).crawl.utc_offset
        report = run_process_with_status(
            ws, keywords=str(keywords) if keywords else None,
            since=parse_since(since, offset), until=parse_since(until, offset),
            boards=parse_boards(boards), workers=workers,
        )
    except ConfigError as exc:
        raise fail(str(exc)) from None
    print_process_report(report)


def run_process_with_status(ws: Workspace, **options: object) -> object:
    from pipeline.anonymise import KeyFileError
    from pipeline.process import run_process

    try:
        with console.status("processing (Prefect flow lurker-process)…"):
            return run_process(ws, **options)  # type: ignore[arg-type]
    except KeyFileError as exc:
        raise fail(str(exc)) from None
    except ValueError as exc:  # a broken keyword list or user dictionary
        raise fail(str(exc)) from None


def print_process_report(report: object) -> None:
    r = report  # a pipeline.process.flow.ProcessReport
    summary: dict = r.summary  # type: ignore[attr-defined]
    table = Table(title="processing steps")
    for col in ("step", "posts", "chars", "seconds", "posts/s"):
        table.add_column(col, justify="left" if col == "step" else "right")
    seconds: dict = r.step_seconds  # type: ignore[attr-defined]
    chars: dict = r.step_chars  # type: ignore[attr-defined]
    fresh = r.posts_processed  # type: ignore[attr-defined]
    for step in ("normalise", "language", "anonymise", "segment", "keywords"):
        sec = seconds.get(step, 0.0)
        rate = f"{fresh / sec:,.0f}" if sec > 0 and fresh else "-"
        table.add_row(step, f"{fresh:,}", f"{chars.get(step, 0):,}", f"{sec:.2f}", rate)
    console.print(table)
    console.print(
        f"posts in {summary['posts_in']:,} ({r.posts_reused:,} reused from earlier runs, "  # type: ignore[attr-defined]
        f"{fresh:,} processed) · threads in {summary['threads_in']:,} · "
        f"posts matching a concept {summary['posts_matched']:,} · kept "
        f"{summary['threads_kept']:,} threads, {summary['posts_kept']:,} posts",
        highlight=False,
    )
    langs = ", ".join(f"{k} {v:,}" for k, v in summary["languages"].items())
    console.print(f"languages: {langs or '-'} · code-switched zh/en posts "
                  f"{summary.get('code_switched_posts', 0):,}", highlight=False)
    repl = ", ".join(f"{k} {v:,}" for k, v in summary["replacements"].items())
    console.print(f"replacements by type: {repl or 'none'}", highlight=False)
    hits = ", ".join(f"{k} {v:,}" for k, v in summary["concept_hits"].items())
    console.print(f"keyword hits (posts per concept): {hits or 'none'}", highlight=False)
    top = ", ".join(f"{k} {v:,}" for k, v in list(summary["keyword_hits"].items())[:12])
    console.print(f"top keywords: {top or 'none'}", highlight=False)
    state = "unchanged, existing" if r.snapshot_reused else "new"  # type: ignore[attr-defined]
    console.print(
        f"snapshot [bold]{r.snapshot_id}[/] ({state}; keyword list "  # type: ignore[attr-defined]
        f"{r.keywords_version[:12]}, settings {r.settings_hash[:12]}) in {r.seconds:.1f} s "  # type: ignore[attr-defined]
        f"with {r.workers} worker(s)",  # type: ignore[attr-defined]
        highlight=False,
    )
    if getattr(r, "log_file", None):
        console.print(f"log: {r.log_file}", highlight=False)  # type: ignore[attr-defined]


def print_kwic(ws: Workspace, concept: str, snapshot_id: int | None) -> None:
    from pipeline.process.store_io import load_snapshot
    from pipeline.store import ArchiveStore

    store = ArchiveStore(ws.store_url)
    try:
        snap = load_snapshot(store, snapshot_id)
    finally:
        store.close()
    if snap is None:
        which = f"snapshot {snapshot_id}" if snapshot_id is not None else "a snapshot"
        raise fail(f"no {which} in {ws.root} (run `lurker process` first)")
    if concept not in snap.kwic:
        known = ", ".join(sorted(snap.kwic)) or "none"
        raise fail(f"no KWIC sample for {concept!r} in snapshot {snap.id} (concepts: {known})")
    lines = snap.kwic[concept]
    seen = snap.summary.get("kwic_seen", {}).get(concept, len(lines))
    console.print(f"snapshot {snap.id} · concept {concept}: {len(lines)} of {seen} "
                  "keyword-in-context lines (random sample)", highlight=False)
    for item in lines:
        console.print(f"  [dim]{item['post_version_id']:>8}[/] {item['keyword']:<14} "
                      f"{item['line']}", highlight=False, markup=True)


@app.command("demo-forum")
def demo_forum(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 = a free one).")] = 8800,
    markup: Annotated[str, typer.Option(help="x3, d7 or d4 (FOB-style, GBK).")] = "x3",
    quirks: Annotated[str, typer.Option(help="demo, none or all.")] = "demo",
) -> None:
    """Serve the bundled demo forum on 127.0.0.1 until Ctrl-C."""
    from pipeline.demoforum.server import main

    if markup not in ("x3", "d7", "d4"):
        raise fail(f"--markup must be x3, d7 or d4, got {markup!r}")
    main(port=port, markup=markup, quirks=quirks)


@app.command()
def demo(
    workspace: WorkspaceOpt = None,
    markup: Annotated[str, typer.Option(help="x3, d7 or d4 (FOB-style, GBK).")] = "x3",
) -> None:
    """Start the demo forum, run the pipeline on it end to end, print where everything is."""
    from pipeline.demo import run_demo

    try:
        run_demo(workspace, markup, console)
    except ConfigError as exc:
        raise fail(str(exc)) from None


def main() -> None:  # pragma: no cover - console entry for `python -m pipeline.cli`
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover
    main()
