"""Step 3, anonymise: personal details out, the authors' pseudonyms in (own words and quotes).

Runs before segmentation (the issue lists it fourth) so that no token, and nothing derived from
tokens (topic models, keyword hits), ever sees a real name or number: segmentation reads
`seg_text`, the text with each detail cut out (a line break in its place), so that neither the
detail nor its placeholder (`[手机]` would become the token 手机) enters the tokens.
"""

from __future__ import annotations

from collections import Counter

from pipeline.anonymise import USERNAME, Span, apply_spans
from pipeline.process.context import StageContext
from pipeline.process.records import PostRecord


def _cut(text: str, spans: list[Span]) -> str:
    out: list[str] = []
    pos = 0
    for span in spans:
        out += (text[pos:span.start], "\n")
        pos = span.end
    out.append(text[pos:])
    return "".join(out)


def anonymise_records(ctx: StageContext, records: list[PostRecord]) -> list[PostRecord]:
    detector, names, pseudonym = ctx.detector, ctx.known_names, ctx.pseudonyms
    placeholders = detector.rules.placeholders
    for record in records:
        counts: Counter[str] = Counter()
        spans = detector.find(record.own, names)
        done = apply_spans(record.own, spans, pseudonym, placeholders)
        counts.update(done.counts)
        record.text = done.text
        record.seg_text = _cut(record.own, spans)
        record.anon_quotes = []
        for author, excerpt in record.quotes:
            quoted = apply_spans(excerpt, detector.find(excerpt, names), pseudonym, placeholders)
            counts.update(quoted.counts)
            if author:
                counts[USERNAME] += 1  # the quote header's name
            record.anon_quotes.append(
                {"author": pseudonym(author) if author else None, "text": quoted.text}
            )
        record.author_pseudonym = pseudonym(record.author) if record.author else None
        record.replacements = dict(sorted(counts.items()))
    return records
