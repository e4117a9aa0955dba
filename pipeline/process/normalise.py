"""Step 1, normalise: stored HTML → the author's own words and the quoted blocks, normalised."""

from __future__ import annotations

from pipeline.normalise import html_to_text, normalise, t2s
from pipeline.process.context import StageContext
from pipeline.process.records import PostRecord


def normalise_records(ctx: StageContext, records: list[PostRecord]) -> list[PostRecord]:
    to_simplified = ctx.spec.to_simplified
    for record in records:
        if record.html and not record.html.isspace():  # `.strip()` without the copy
            own, quote_texts = html_to_text(record.html)
        else:  # no sanitised HTML stored: fall back to the parser's text and quote structure
            own = record.raw_text
            quote_texts = [str(q.get("text") or "") for q in record.raw_quotes]
        own = normalise(own)
        if to_simplified:
            simplified = t2s(own)
            record.converted = simplified != own
            own = simplified
        record.own = own
        if quote_texts:
            # Quote authors come from the parsed structure; HTML gives the excerpts in the
            # same order (a quote the parser could not attribute keeps no author).
            authors = [q.get("author") for q in record.raw_quotes]
            if len(authors) != len(quote_texts):
                authors = [None] * len(quote_texts)
            record.quotes = [
                (author, normalise(text, to_simplified=to_simplified))
                for author, text in zip(authors, quote_texts, strict=True)
            ]
        else:  # most posts
            record.quotes = []
        record.html = ""  # parsed: do not ship it through the remaining steps
    return records
