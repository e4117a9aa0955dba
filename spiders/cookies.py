"""Keep Scrapy's cookie handling offline.

Scrapy's CookiesMiddleware asks `tldextract` whether a cookie's domain is a public suffix, and
`tldextract` downloads the Public Suffix List from the internet on first use. An archive crawl
must talk to the forum host only, so we point it at the list snapshot that ships inside the
`tldextract` package instead.
"""

from __future__ import annotations

from scrapy.downloadermiddlewares import cookies as scrapy_cookies
from tldextract import TLDExtract


def use_bundled_public_suffix_list() -> None:
    """Replace the middleware's extractor by one that never fetches (idempotent)."""
    # suffix_list_urls=() means "snapshot only"; cache_dir=None keeps nothing on disk.
    scrapy_cookies._split_domain = TLDExtract(
        suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True
    )
