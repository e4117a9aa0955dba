"""Step 3, anonymise: personal details out, the authors' pseudonyms in (own words and quotes).

Runs before segmentation (the issue lists it fourth) so that no token, and nothing derived from
tokens (topic models, keyword hits), ever sees a real name or number: segmentation reads
`seg_text`, the text with each detail cut out (a line break in its place), so that neither the
detail nor its placeholder (`[手机]` would become the token 手机) enters the tokens.

In two halves, so that every code is in the pseudonym register before it is written into a
text: `detect_records` (the expensive part) finds the spans; the flow registers every name they
hold (`names_to_register`, in batch order), then `pseudonymise_records` writes the text with
the register's codes (with workers, where the records are held, given just those names' codes:
`pool.Runner.pseudonymise`). `anonymise_records` runs both with the context's own `Pseudonyms`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from pipeline.anonymise import USERNAME, Span, apply_spans
from pipeline.process.context import StageContext
from pipeline.process.records import PostRecord


def _cut(text: str, spans: list[Span]) -> str:
    if not spans:
        return text  # most posts
    out: list[str] = []
    pos = 0
    for span in spans:
        out += (text[pos:span.start], "\n")
        pos = span.end
    out.append(text[pos:])
    return "".join(out)


def detect_records(ctx: StageContext, records: list[PostRecord]) -> list[PostRecord]:
    detector, names = ctx.detector, ctx.known_names
    for record in records:
        record.spans = detector.find(record.own, names)
        record.seg_text = _cut(record.own, record.spans)
        record.quote_spans = [detector.find(excerpt, names) for _, excerpt in record.quotes]
    return records


def names_to_register(records: Iterable[PostRecord]) -> set[str]:
    """Every name the pseudonymised texts of these records will hold a code for."""
    names: set[str] = set()
    for record in records:
        if record.author:
            names.add(record.author)
        for spans in (record.spans, *record.quote_spans):
            names.update(s.value for s in spans if s.type == USERNAME)
        names.update(author for author, _ in record.quotes if author)
    return names


def pseudonymise_records(records: list[PostRecord], pseudonym: Callable[[str], str],
                         placeholders: Mapping[str, str]) -> list[PostRecord]:
    for record in records:
        # Most posts hold no detail and quote no one: nothing to cut for them.
        counts: dict[str, int] = {}
        if record.spans:
            done = apply_spans(record.own, record.spans, pseudonym, placeholders)
            counts.update(done.counts)
            record.text = done.text
        else:
            record.text = record.own
        record.anon_quotes = []
        for (author, excerpt), spans in zip(record.quotes, record.quote_spans, strict=True):
            text = excerpt
            if spans:
                quoted = apply_spans(excerpt, spans, pseudonym, placeholders)
                for kind, count in quoted.counts.items():
                    counts[kind] = counts.get(kind, 0) + count
                text = quoted.text
            if author:
                counts[USERNAME] = counts.get(USERNAME, 0) + 1  # the quote header's name
            record.anon_quotes.append(
                {"author": pseudonym(author) if author else None, "text": text}
            )
        record.author_pseudonym = pseudonym(record.author) if record.author else None
        record.replacements = dict(sorted(counts.items())) if counts else {}
        record.spans, record.quote_spans = [], []  # they hold the detected values
    return records


def anonymise_records(ctx: StageContext, records: list[PostRecord]) -> list[PostRecord]:
    detect_records(ctx, records)
    return pseudonymise_records(records, ctx.pseudonyms, ctx.detector.rules.placeholders)
