"""The processing stage: `run_process()` runs the Prefect flow `lurker-process` on a workspace.

Modules: one per step (`normalise`, `language`, `anonymise`, `segment`, `keywords`, `snapshot`),
each a pure function over a list of `PostRecord`s; `pool` (where they run), `store_io` (the
store edges), `flow` (the Prefect flow and tasks), `prefect_env` (local ephemeral API),
`context` (the stage objects and the settings hash), `settings` (the `[process]` table).

Order: normalise → language → anonymise → segment → keywords → snapshot. Anonymisation comes
before segmentation (the issue lists it after) so that tokens, which topic models and exports
read, are made from text without personal details.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

from pipeline.workspace import Workspace

if TYPE_CHECKING:
    from pipeline.process.flow import ProcessReport

__all__ = ["prepared", "run_process"]


@contextmanager
def prepared(ws: Workspace, *, keywords: str | None = None, workers: int = 1) -> Iterator[None]:
    """What `lurker process` does before its flow, which runs inside: the configuration
    checked, Prefect's local API server started, and meanwhile the stage objects built.

    Prefect's server takes seconds to start (another process). Meanwhile jieba's dictionary,
    the detector's lexicon and the name matcher are loaded: in this process, where they are
    cached for the flow, or in the worker processes, which the flow then takes over.
    `bench/process_bench.py` times its flows inside this too, as a user's run goes.
    """
    from pipeline.process.prefect_env import (
        configure_prefect,
        flow_run_settings,
        start_api_in_background,
    )

    configure_prefect(ws.root / "prefect")
    from pipeline.process.context import StageContext
    from pipeline.process.flow import build_spec
    from pipeline.process.pool import discard_prestarted, prestart
    from pipeline.segment import parse_userdict
    from pipeline.settings import ConfigError
    from pipeline.store import ArchiveStore

    # Read and check the configuration, keyword list and key here, before the flow: a user
    # mistake is then one clear error, not a failed Prefect run with a logged traceback.
    store = ArchiveStore(ws.store_url)
    try:
        spec, settings = build_spec(ws, store, keywords)
        try:
            spec.settings_hash()
        except ValueError as exc:
            where = keywords or settings.keywords or "config/keywords.toml"
            raise ConfigError(f"keyword list {where}: {exc}") from None
        try:
            parse_userdict(spec.userdict_text)
        except ValueError as exc:
            raise ConfigError(f"user dictionary {settings.userdict}: {exc}") from None
        api = start_api_in_background()
        if workers == 1:
            StageContext(spec).warm_up()
        else:
            prestart(spec, workers)
    finally:
        store.close()
    try:
        api.join()
        with flow_run_settings():  # no heartbeat thread to wait for at the end
            yield
    finally:
        discard_prestarted()  # workers the flow did not take (it failed before them)


def run_process(ws: Workspace, *, keywords: str | None = None, since: datetime | None = None,
                until: datetime | None = None, boards: tuple[int, ...] = (),
                workers: int = 1) -> ProcessReport:
    with prepared(ws, keywords=keywords, workers=workers):
        from pipeline.process.flow import process_flow

        return process_flow(
            workspace=str(ws.root), keywords=keywords,
            since=since.isoformat() if since else None,
            until=until.isoformat() if until else None, boards=list(boards), workers=workers,
        )
