"""The processing stage: `run_process()` runs the Prefect flow `lurker-process` on a workspace.

Modules: one per step (`normalise`, `language`, `anonymise`, `segment`, `keywords`, `snapshot`),
each a pure function over a list of `PostRecord`s; `pool` (where they run), `store_io` (the
store edges), `flow` (the Prefect flow and tasks), `prefect_env` (local ephemeral API).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from pipeline.workspace import Workspace

if TYPE_CHECKING:
    from pipeline.process.flow import ProcessReport

__all__ = ["run_process"]


def run_process(ws: Workspace, *, keywords: str | None = None, since: datetime | None = None,
                until: datetime | None = None, boards: tuple[int, ...] = (),
                workers: int = 1) -> ProcessReport:
    from pipeline.process.prefect_env import configure_prefect, start_api_in_background

    configure_prefect(ws.root / "prefect")
    api = start_api_in_background()
    from pipeline.process.context import StageContext
    from pipeline.process.flow import build_spec, process_flow
    from pipeline.store import ArchiveStore

    if workers == 1:
        # While Prefect's API server starts (another process), load jieba's dictionary, the
        # detector's lexicon and the name matcher: they are cached per process, so the flow
        # finds them ready.
        store = ArchiveStore(ws.store_url)
        try:
            StageContext(build_spec(ws, store, keywords)[0]).warm_up()
        finally:
            store.close()
    api.join()
    return process_flow(
        workspace=str(ws.root), keywords=keywords,
        since=since.isoformat() if since else None, until=until.isoformat() if until else None,
        boards=list(boards), workers=workers,
    )
