"""Fill a real archive store with the demo corpus's ground truth, without crawling.

Posts go in through `ArchiveStore.save_thread_page`, as the crawler stores them; each body's HTML
is rendered by the demo forum's own renderer (`body.message` + the X3 `message` macro), jammer
noise included, so the processing flow sees what a crawl of the demo forum would store.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from random import Random
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from pipeline.demoforum import body
from pipeline.demoforum.generate import load_corpus
from pipeline.demoforum.server import TEMPLATES
from pipeline.store import ArchiveStore
from spiders.parsers.model import (
    Generation,
    ParsedPost,
    PostStatus,
    QuoteRef,
    ThreadPage,
    TimeMethod,
)

MODERATION = {"banned": PostStatus.BANNED, "author_banned": PostStatus.BANNED,
              "hidden": PostStatus.HIDDEN, "deleted": PostStatus.DELETED}


@cache
def _macros() -> Any:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True,
                      undefined=StrictUndefined)
    return env.get_template("x3/_macros.html").module


def render_html(post: dict[str, Any], rng: Random) -> str:
    quote = post.get("quote")
    tokens = body.message(
        post, quote_href=f"forum.php?mod=redirect&pid={quote['pid']}" if quote else None,
        quote_time=quote["time"][:16].replace("T", " ") if quote else None,
        edit_time=post["edited"]["time"][:16].replace("T", " ") if post.get("edited") else None,
        jammer=body.Jammer(rng, ("外贸人论坛", "127.0.0.1")),
    )
    return str(_macros().message(tokens))


def parsed_post(post: dict[str, Any], rng: Random, moderation: bool) -> ParsedPost:
    status = MODERATION.get(post.get("moderation") or "", PostStatus.OK) if moderation \
        else PostStatus.OK
    quote = post.get("quote")
    visible = status is PostStatus.OK
    return ParsedPost(
        pid=post["pid"], floor=post["floor"], floor_label=None, author=post["author"],
        author_uid=post["author_uid"], time=datetime.fromisoformat(post["time"]),
        time_raw=post["time"], time_method=TimeMethod.TITLE,
        text=post["text"] if visible else "",
        html=render_html(post, rng) if visible else "",
        quotes=[QuoteRef(pid=quote["pid"], author=quote["author"], time_raw=quote["time"],
                         time=datetime.fromisoformat(quote["time"]), text=quote["text"])]
        if quote and visible else [],
        edit_note=None, status=status,
    )


def fill_store(store: ArchiveStore, corpus: dict[str, Any] | None = None, *,
               moderation: bool = True, seed: int = 7) -> dict[str, Any]:
    """Store every thread of `corpus` (default: the shipped one); returns the corpus."""
    corpus = corpus or load_corpus()
    rng = Random(seed)
    site = corpus["site"]
    site_id = store.ensure_site("demo-forum", "http://127.0.0.1/", site["timeoffset"],
                                site["ppp"])
    for board in corpus["boards"]:
        store.ensure_board(site_id, board["fid"], board["name"], None)
    ppp = site["ppp"]
    for thread in corpus["threads"]:
        posts = [parsed_post(p, rng, moderation) for p in thread["posts"]]
        last = max(1, -(-len(posts) // ppp))
        for page in range(1, last + 1):
            store.save_thread_page(site_id, ThreadPage(
                tid=thread["tid"], fid=thread["fid"], subject=thread["subject"], page=page,
                last_page=last, generation=Generation.X3,
                posts=posts[(page - 1) * ppp:page * ppp]), None, thread["fid"])
    return corpus
