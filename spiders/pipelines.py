"""Item pipelines: store parsed thread pages in the archive store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from spiders.items import ThreadPageItem

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from spiders.context import CrawlContext


class StorePipeline:
    """Posts, versions and deletions go to the store; one transaction per page."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        return cls(crawler)

    def process_item(self, item: object) -> object:
        if not isinstance(item, ThreadPageItem):
            return item
        ctx: CrawlContext = self.crawler.spider.ctx  # type: ignore[union-attr]
        result = ctx.store.save_thread_page(ctx.site_id, item.page, item.fetch_id, item.board_fid)
        ctx.count("thread_pages")
        ctx.count("posts_seen", len(item.page.posts))
        ctx.count("posts_new", result.new_posts)
        ctx.count("versions_new", result.new_versions)
        ctx.count("posts_deleted", result.marked_deleted)
        if item.page.page >= item.page.last_page:
            ctx.threads_done.add(item.page.tid)
        return item
