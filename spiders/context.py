"""What one crawl run shares between the spider, its middlewares and its item pipelines."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from pipeline.settings import SiteConfig
from pipeline.store import ArchiveStore, ThreadState
from spiders.warc import WarcArchive


@dataclass(slots=True)
class CrawlOptions:
    boards: tuple[int, ...] = ()  # empty = all boards on the index (or the site's config)
    since: datetime | None = None  # skip threads whose last post is older
    max_threads: int | None = None  # stop scheduling new threads after this many
    full: bool = False  # deep re-crawl: refetch every page to catch edits and deletions


@dataclass(slots=True)
class BoardWalk:
    """Progress of one board's list walk in this run (decides whether its high-water mark moves)."""

    newest: datetime | None = None
    list_done: bool = False
    ok: bool = True
    threads: set[int] = field(default_factory=set)


@dataclass(slots=True)
class CrawlContext:
    store: ArchiveStore
    site: SiteConfig
    site_id: int
    run_id: int
    warc: WarcArchive
    options: CrawlOptions
    thread_states: dict[int, ThreadState]
    high_waters: dict[int, datetime | None]
    ppp: int
    counts: Counter[str] = field(default_factory=Counter)
    walks: dict[int, BoardWalk] = field(default_factory=dict)
    threads_done: set[int] = field(default_factory=set)
    generation: str | None = None
    on_progress: Callable[[str, int], None] | None = None

    def count(self, key: str, n: int = 1) -> None:
        self.counts[key] += n
        if self.on_progress is not None:
            self.on_progress(key, n)
