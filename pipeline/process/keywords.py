"""Step 5, keywords: concept hits per post, on the anonymised text and its tokens.

The thread rule (keep a thread when its first post or at least N posts match) needs every post
of a thread and is applied when the snapshot is assembled (`pipeline.process.snapshot`).
"""

from __future__ import annotations

from pipeline.process.context import StageContext
from pipeline.process.records import PostRecord


def keyword_records(ctx: StageContext, records: list[PostRecord]) -> list[PostRecord]:
    keyword_filter = ctx.keyword_filter
    for record in records:
        record.hits = keyword_filter.match_post(record.text, record.tokens)
        # One string per post from here on: what the store keeps, and what crosses back from a
        # worker (a list of tokens costs ~5x as much to pickle and unpickle).
        record.token_text = " ".join(record.tokens)
        record.tokens = []
        record.drop_private()  # nothing with a personal detail goes back to the store
    return records
