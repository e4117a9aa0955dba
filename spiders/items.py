"""Items carried from the spider to the item pipelines."""

from __future__ import annotations

from dataclasses import dataclass

from spiders.parsers.model import ThreadPage


@dataclass(slots=True)
class ThreadPageItem:
    """One parsed thread page, with the fetch (and so the WARC record) it came from."""

    page: ThreadPage
    fetch_id: int | None
    board_fid: int | None
