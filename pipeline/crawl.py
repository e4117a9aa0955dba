"""Run one crawl of one site into a workspace (Scrapy in this process)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from scrapy.crawler import CrawlerProcess

from pipeline.settings import SiteConfig, check_contact, effective_user_agent, load_settings
from pipeline.store import ArchiveStore
from pipeline.workspace import Workspace
from spiders.context import CrawlContext, CrawlOptions
from spiders.cookies import use_bundled_public_suffix_list
from spiders.discuz import DiscuzSpider
from spiders.settings import scrapy_settings
from spiders.warc import WarcArchive

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class CrawlReport:
    run_id: int
    status: str
    reason: str
    counts: dict[str, int]
    log_file: str
    warc_dir: str


def loopback_site(site: SiteConfig) -> SiteConfig:
    """Your own machine needs no politeness delay (the demo forum, test servers)."""
    if site.is_loopback and site.download_delay is None:
        return dataclasses.replace(site, download_delay=0.0, autothrottle=False)
    return site


def run_crawl(
    workspace: Workspace,
    site: SiteConfig,
    options: CrawlOptions,
    on_progress: Callable[[str, int], None] | None = None,
) -> CrawlReport:
    workspace.create()
    settings = load_settings(workspace.config_file)
    check_contact(settings.crawl, site)
    site = loopback_site(site)
    store = ArchiveStore(workspace.store_url)
    try:
        site_id = store.ensure_site(site.name, site.url, site.utc_offset, site.posts_per_page)
        user_agent = effective_user_agent(settings.crawl)
        run_options = {
            "url": site.url,
            "boards": list(options.boards),
            "since": options.since.isoformat() if options.since else None,
            "max_threads": options.max_threads,
            "full": options.full,
            "download_delay": site.download_delay,
        }
        run_id = store.start_run(site_id, run_options, user_agent)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        warc = WarcArchive(
            workspace.warc_dir / site.name,
            prefix=f"{site.name}-run{run_id:05d}-{stamp}",
            info={
                "crawl-run-id": str(run_id),
                "site": site.name,
                "url": site.url,
                "user-agent": user_agent,
                "robots": "obeyed" if settings.crawl.robots_obey else "ignored",
                "site-utc-offset": str(site.utc_offset),
            },
            max_bytes=settings.crawl.warc_max_bytes,
        )
        ctx = CrawlContext(
            store=store,
            site=site,
            site_id=site_id,
            run_id=run_id,
            warc=warc,
            options=options,
            thread_states=store.thread_states(site_id),
            high_waters=store.board_high_waters(site_id),
            ppp=site.posts_per_page,
            on_progress=on_progress,
        )
        log_file = workspace.log_dir / f"crawl-{run_id:05d}.log"
        # The root log handler is installed by default (LOG_INSTALL_ROOT_HANDLER); passing
        # install_root_handler is deprecated (Scrapy 2.19 warns about it).
        use_bundled_public_suffix_list()
        process = CrawlerProcess(scrapy_settings(settings.crawl, site, log_file))
        crawler = process.create_crawler(DiscuzSpider)
        process.crawl(crawler, ctx=ctx)
        process.start()
        warc.close()
        reason = (crawler.stats.get_value("finish_reason") if crawler.stats else None) or "unknown"
        status = "finished" if reason == "finished" else "interrupted"
        stats = {k: v for k, v in ctx.counts.items()}
        scrapy_stats = crawler.stats.get_stats() if crawler.stats else {}
        for key in ("downloader/exception_count", "retry/max_reached", "robotstxt/forbidden",
                    "downloader/response_count", "log_count/ERROR"):
            if key in scrapy_stats:
                stats[key] = scrapy_stats[key]
        store.finish_run(run_id, status, reason, stats)
        return CrawlReport(run_id, status, reason, stats, str(log_file), str(warc.folder))
    finally:
        store.close()
