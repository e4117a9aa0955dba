"""Step 2, language: per post (script shares, langdetect only when in doubt) and per sentence."""

from __future__ import annotations

from pipeline.language import language_and_sentences
from pipeline.process.context import StageContext
from pipeline.process.records import PostRecord


def language_records(ctx: StageContext, records: list[PostRecord]) -> list[PostRecord]:
    for record in records:
        # Both at once: the sentence labels reuse the counts of the whole post.
        result, sentences = language_and_sentences(record.own)
        record.lang = result.lang
        record.lang_method = result.method
        record.zh_share = result.zh_share
        record.en_share = result.en_share
        # A post converted to Simplified in step 1 was written in Traditional characters.
        record.traditional = result.traditional or (record.converted and result.lang == "zh")
        # Only the labels are kept: counted without building per-sentence records.
        record.sentences = sentences
    return records
