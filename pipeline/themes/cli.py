"""What `lurker themes` does, kept here so that `pipeline/cli.py` holds only the options."""

from __future__ import annotations

from rich.console import Console

from pipeline.settings import ConfigError
from pipeline.workspace import Workspace

from .settings import ThemeSettings, load_theme_settings, parse_int_list


def settings_from_options(
    ws: Workspace,
    *,
    topics: str | None = None,
    seeds: str | None = None,
    passes: int | None = None,
    workers: int | None = None,
    phrases: bool | None = None,
    guided: bool | None = None,
) -> ThemeSettings:
    settings = load_theme_settings(ws.config_file)
    sweep: dict = {}
    if topics:
        sweep["topics"] = parse_int_list(topics, "--topics")
    if seeds:
        sweep["seeds"] = parse_int_list(seeds, "--seeds")
    if passes is not None:
        sweep["passes"] = passes
    if workers is not None:
        sweep["workers"] = workers
    changes: dict = {"sweep": sweep}
    if phrases is not None:
        changes["dictionary"] = {"phrases": phrases}
    if guided is not None:
        changes["seeding"] = {"enabled": guided}
    return settings.replace(**changes)


def themes_command(
    ws: Workspace,
    console: Console,
    *,
    snapshot: int | None = None,
    show: bool = False,
    run: int | None = None,
    **options: object,
) -> int:
    """Fit (or with `show`, print) a theme run; returns the run id. User errors: ConfigError."""
    from pipeline.store import ArchiveStore

    from . import store as theme_store
    from .corpus import latest_snapshot_id
    from .run import ThemesError, run_themes
    from .show import print_run

    if not ws.db_path.exists() and ws.store_url.startswith("sqlite"):
        raise ConfigError(f"no archive in {ws.root} (run `lurker crawl` or `lurker demo` first)")
    settings = None if show else settings_from_options(ws, **options)  # type: ignore[arg-type]
    store = ArchiveStore(ws.store_url)
    try:
        if show:
            run_id = run or theme_store.latest_run_id(store.engine, snapshot)
            data = theme_store.load_run(store.engine, run_id) if run_id else None
            if data is None:
                raise ConfigError("no theme run stored" + (f" with id {run}" if run else "")
                                  + " (run `lurker themes` first)")
            print_run(data, ws, console)
            return data["id"]
        snapshot_id = snapshot or latest_snapshot_id(store.engine)
        if snapshot_id is None:
            raise ConfigError("no corpus snapshot in the store (run `lurker process` first)")
        assert settings is not None
        from rich.status import Status

        with Status("themes", console=console) as status:
            def progress(message: str) -> None:
                status.update(message)
                console.print(message, highlight=False)

            try:
                result = run_themes(ws, store.engine, snapshot_id, settings, progress=progress)
            except ThemesError as exc:
                raise ConfigError(str(exc)) from None
        data = theme_store.load_run(store.engine, result.run_id)
        assert data is not None
        print_run(data, ws, console)
        return result.run_id
    finally:
        store.close()
