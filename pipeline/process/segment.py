"""Step 4, segment: jieba accurate mode with the trade dictionary, on the anonymised text."""

from __future__ import annotations

from pipeline.normalise import t2s
from pipeline.process.context import StageContext
from pipeline.process.records import PostRecord


def segment_records(ctx: StageContext, records: list[PostRecord]) -> list[PostRecord]:
    segmenter = ctx.segmenter
    for record in records:
        text = record.seg_text
        # jieba's dictionary is Simplified: a Traditional post is segmented in its t2s form
        # (its stored text stays as written unless the project converts).
        if record.traditional and not record.converted:
            text = t2s(text)
        record.tokens = segmenter.tokens(text)
        record.seg_text = ""
    return records
