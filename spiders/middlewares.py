"""Downloader middlewares: archive every response (WARC + fetch row), back off on WAF pages,
and step around Discuz's touch view.

Order (process_response runs from high to low): HttpCompression 590 → ArchiveMiddleware 580 →
PageGuardMiddleware 570 → Retry 550. So the archive sees every response, including the WAF
pages and the retried ones, already decompressed.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from scrapy import Request
from scrapy.exceptions import NotConfigured
from scrapy.http import Response, TextResponse
from w3lib.url import add_or_replace_parameter

from pipeline.store import FetchInfo
from spiders.parsers import classify_page
from spiders.parsers.model import PageKind

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from spiders.context import CrawlContext

logger = logging.getLogger(__name__)

FETCH_META = "lurker_fetch"


def _context(crawler: Crawler) -> CrawlContext | None:
    return getattr(crawler.spider, "ctx", None)


def _headers(headers: object) -> list[tuple[str, str]]:
    out = []
    for key, values in headers.items():  # type: ignore[attr-defined]
        for value in values:
            out.append((key.decode("latin-1"), value.decode("latin-1")))
    return out


class ArchiveMiddleware:
    """Write each response to WARC and record it as a fetch; classify its page kind."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchiveMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        ctx = _context(self.crawler)
        if ctx is None:
            return response
        fetched_at = datetime.now(UTC)
        encoding = response.encoding if isinstance(response, TextResponse) else None
        if isinstance(response, TextResponse):
            info = classify_page(response.text, response.url, response.status)
            kind, generation, message = info.kind.value, info.generation.value, info.message
        else:
            kind, generation, message = "other", None, None
        if request.url.endswith("/robots.txt"):
            kind = "robots"
        location = ctx.warc.write_exchange(
            url=response.url,
            method=request.method,
            request_headers=_headers(request.headers),
            status=response.status,
            reason="",
            response_headers=_headers(response.headers),
            body=response.body,
            fetched_at=fetched_at,
            metadata={
                "fetched_at": fetched_at.isoformat(),
                "crawl_run_id": ctx.run_id,
                "site": ctx.site.name,
                "encoding": encoding,
                "page_kind": kind,
                "generation": generation,
                "utc_offset": ctx.site.utc_offset,
            },
        )
        fetch_id = ctx.store.record_fetch(
            ctx.run_id,
            FetchInfo(
                url=response.url,
                http_status=response.status,
                fetched_at=fetched_at,
                encoding=encoding,
                page_kind=kind,
                generation=generation,
                message=message,
                warc_file=location.file,
                warc_record_id=location.record_id,
                warc_offset=location.offset,
                body_sha256=location.body_sha256,
                body_length=len(response.body),
            ),
        )
        ctx.count("requests")
        ctx.count(f"pages_{kind}")
        request.meta[FETCH_META] = {
            "fetch_id": fetch_id,
            "fetched_at": fetched_at,
            "kind": kind,
            "generation": generation,
            "message": message,
        }
        return response


class PageGuardMiddleware:
    """React to pages that are not what was asked for.

    - WAF / "too frequent" page: a rate-limit signal. Raise the per-host delay (doubling up to a
      ceiling), keep it raised for the rest of the run, and retry the request a few times.
    - Touch (mobile) view: retry once with `mobile=no`, which Discuz honours.
    """

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.backoff_start = settings.getfloat("LURKER_WAF_BACKOFF_START", 30.0)
        self.backoff_max = settings.getfloat("LURKER_WAF_BACKOFF_MAX", 600.0)
        self.max_retries = settings.getint("LURKER_WAF_MAX_RETRIES", 5)
        self.floor_delay = 0.0  # the per-host delay imposed by back-off, never lowered
        if self.max_retries < 0:
            raise NotConfigured

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PageGuardMiddleware:
        return cls(crawler)

    def _slot(self, request: Request) -> object | None:
        downloader = self.crawler.engine.downloader if self.crawler.engine else None
        if downloader is None:
            return None
        key = request.meta.get("download_slot") or downloader.get_slot_key(request)
        return downloader.slots.get(key)

    def process_request(self, request: Request) -> None:
        # AutoThrottle may lower the delay again after fast 200 responses: re-impose the floor.
        if self.floor_delay:
            slot = self._slot(request)
            if slot is not None and slot.delay < self.floor_delay:  # type: ignore[attr-defined]
                slot.delay = self.floor_delay  # type: ignore[attr-defined]
        return None

    def process_response(self, request: Request, response: Response) -> Request | Response:
        kind = request.meta.get(FETCH_META, {}).get("kind")
        if kind == PageKind.WAF.value:
            return self._back_off(request, response)
        if kind == PageKind.TOUCH.value and not request.meta.get("lurker_touch_retry"):
            ctx = _context(self.crawler)
            if ctx is not None:
                ctx.count("touch_retries")
            logger.warning("touch view served for %s; retrying with mobile=no", request.url)
            url = add_or_replace_parameter(request.url, "mobile", "no")
            return request.replace(
                url=url, dont_filter=True, meta={**request.meta, "lurker_touch_retry": True}
            )
        return response

    def _back_off(self, request: Request, response: Response) -> Request | Response:
        ctx = _context(self.crawler)
        retries = request.meta.get("lurker_waf_retries", 0)
        self.floor_delay = min(
            self.backoff_max, max(self.backoff_start, self.floor_delay * 2 or self.backoff_start)
        )
        slot = self._slot(request)
        if slot is not None:
            slot.delay = max(slot.delay, self.floor_delay)  # type: ignore[attr-defined]
        if ctx is not None:
            ctx.count("waf_pages")
        if retries >= self.max_retries:
            logger.error("WAF page again for %s after %d retries: giving up", request.url, retries)
            if ctx is not None:
                ctx.count("waf_gave_up")
            return response
        logger.warning(
            "WAF / rate-limit page for %s: backing off to %.1fs between requests",
            request.url,
            self.floor_delay,
        )
        return request.replace(
            dont_filter=True, meta={**request.meta, "lurker_waf_retries": retries + 1}
        )
