"""Crawl benchmarks (not tests): whole-forum crawl, re-crawl request counts, parse throughput.

Usage: python bench/crawl_bench.py [--markup x3|d7|d4] [--repeat N]

Prints, for the bundled demo forum served on 127.0.0.1:
- wall time, requests and peak memory (RSS of the crawl process) for a crawl of the whole forum;
- requests per re-crawl: unchanged forum, after new replies, and a --full re-crawl;
- parse throughput (pages/s, posts/s) of lurker's thread parser on the recorded pages, streamed
  from the WARC files, against the raw library baseline (lxml parsing the same pages).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.demoforum.quirks import Quirks  # noqa: E402
from pipeline.demoforum.server import DemoForum  # noqa: E402


def crawl(url: str, ws: Path, *extra: str) -> tuple[float, int]:
    """Run `lurker crawl` in a child; return wall seconds and the child's peak RSS in KiB."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "crawl", "--url", url, "--workspace", str(ws),
         *extra],
        check=True, cwd=REPO, stdout=subprocess.DEVNULL,
    )
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, max(peak, before)


def kinds(forum: DemoForum) -> str:
    """Requests the forum served, in total and per page kind."""
    counts = Counter(r.kind for r in forum.requests)
    return f"{sum(counts.values())} requests {dict(counts)}"


def recorded_thread_pages(ws: Path):
    """Stream (url, charset, body) of recorded thread pages from the WARC files."""
    for path in sorted((ws / "warc").rglob("*.warc.gz")):
        with path.open("rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type != "response":
                    continue
                url = record.rec_headers.get_header("WARC-Target-URI")
                if "viewthread" not in url and "thread-" not in url:
                    continue
                ctype = record.http_headers.get_header("Content-Type") or ""
                charset = ctype.split("charset=")[-1] if "charset=" in ctype else "utf-8"
                yield url, charset, record.content_stream().read()


def parse_throughput(ws: Path, repeat: int) -> None:
    import lxml.html

    from spiders.parsers import classify_page, parse_thread

    pages = [(u, body.decode(c if c.lower() not in ("gbk", "gb2312") else "gb18030", "replace"))
             for u, c, body in recorded_thread_pages(ws)]
    now = datetime.now(UTC)
    t0 = time.perf_counter()
    posts = 0
    for _ in range(repeat):
        for url, html in pages:
            posts += len(parse_thread(html, url, fetch_time=now, utc_offset=8, ppp=10).posts)
    ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(repeat):
        for _url, html in pages:
            lxml.html.fromstring(html)
    base = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(repeat):
        for url, html in pages:
            classify_page(html, url, 200)
    classify = time.perf_counter() - t0
    n = len(pages) * repeat
    print(f"parse: {n} thread pages, {posts} posts in {ours:.2f}s → "
          f"{n / ours:.0f} pages/s, {posts / ours:.0f} posts/s")
    print(f"baseline lxml.html.fromstring: {n / base:.0f} pages/s; "
          f"lurker parse / bare lxml parse time = {ours / base:.1f}×")
    print(f"classify_page (run on every response): {n / classify:.0f} pages/s")
    # ru_maxrss is in KiB on Linux; this process holds every recorded page in memory.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"peak RSS of the parse benchmark ({len(pages)} pages held in memory): "
          f"{peak / 1024:.0f} MiB")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--markup", default="x3", choices=["x3", "d7", "d4"])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, DemoForum(markup=args.markup,
                                                         quirks=Quirks.none()) as forum:
        ws = Path(tmp) / "ws"
        truth = forum.state.truth()
        n_posts = sum(len(t["posts"]) for t in truth["threads"])
        wall, peak = crawl(forum.url, ws)
        n_requests = len(forum.requests)
        print(f"demo forum ({args.markup}): {len(truth['threads'])} threads, {n_posts} posts")
        print(f"full crawl: {wall:.1f}s, {kinds(forum)}, "
              f"{n_requests / wall:.0f} requests/s, {n_posts / wall:.0f} posts/s, "
              f"peak RSS of the crawl process {peak / 1024:.0f} MiB")

        forum.reset_log()
        wall, _ = crawl(forum.url, ws)
        print(f"re-crawl, unchanged forum: {kinds(forum)} in {wall:.1f}s")

        long_thread = max(truth["threads"], key=lambda t: len(t["posts"]))
        for i in range(10):
            forum.state.add_reply(long_thread["tid"], truth["users"][0]["uid"], f"bench reply {i}")
        forum.reset_log()
        wall, _ = crawl(forum.url, ws)
        print(f"re-crawl after 10 new replies to one thread: {kinds(forum)} in {wall:.1f}s")

        forum.reset_log()
        wall, _ = crawl(forum.url, ws, "--full")
        print(f"--full re-crawl: {kinds(forum)} in {wall:.1f}s")

        parse_throughput(ws, args.repeat)


if __name__ == "__main__":
    main()
