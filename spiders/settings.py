"""Scrapy settings, built from lurker's [crawl] config and the site entry (one place)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.settings import CrawlSettings, SiteConfig, effective_user_agent


def scrapy_settings(
    crawl: CrawlSettings, site: SiteConfig, log_file: Path | None
) -> dict[str, Any]:
    delay = crawl.download_delay if site.download_delay is None else site.download_delay
    autothrottle = crawl.autothrottle if site.autothrottle is None else site.autothrottle
    return {
        "BOT_NAME": "lurker",
        "USER_AGENT": effective_user_agent(crawl),
        "ROBOTSTXT_OBEY": crawl.robots_obey,
        # One forum per crawl process, one request at a time per host.
        "CONCURRENT_REQUESTS": crawl.concurrent_per_host,
        "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.concurrent_per_host,
        "DOWNLOAD_DELAY": delay,
        "RANDOMIZE_DOWNLOAD_DELAY": crawl.randomize_delay,
        "AUTOTHROTTLE_ENABLED": autothrottle and delay > 0,
        "AUTOTHROTTLE_START_DELAY": max(delay, 1.0),
        "AUTOTHROTTLE_MAX_DELAY": crawl.autothrottle_max_delay,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": 1.0,
        "RETRY_ENABLED": True,
        "RETRY_TIMES": crawl.retry_times,
        # 404 is an answer (a missing thread), not a network failure: never retried.
        "RETRY_HTTP_CODES": [500, 502, 503, 504, 522, 524, 408, 429],
        "HTTPERROR_ALLOW_ALL": True,
        "DOWNLOAD_TIMEOUT": crawl.download_timeout,
        "DOWNLOAD_MAXSIZE": crawl.max_page_bytes,
        "DOWNLOAD_WARNSIZE": max(crawl.max_page_bytes // 4, 1),
        "COOKIES_ENABLED": True,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "INFO",
        "LOG_FILE": str(log_file) if log_file else None,
        "LOG_ENABLED": log_file is not None,
        "DOWNLOADER_MIDDLEWARES": {
            "spiders.middlewares.ArchiveMiddleware": 580,
            "spiders.middlewares.PageGuardMiddleware": 570,
        },
        "ITEM_PIPELINES": {"spiders.pipelines.StorePipeline": 300},
        "LURKER_WAF_BACKOFF_START": crawl.waf_backoff_start,
        "LURKER_WAF_BACKOFF_MAX": crawl.waf_backoff_max,
        "LURKER_WAF_MAX_RETRIES": crawl.waf_max_retries,
    }
