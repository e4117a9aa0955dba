"""The record one post carries through the steps (plain data, picklable, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline.anonymise import Span


@dataclass(slots=True)
class PostRecord:
    # From the archive (the edges fill these).
    post_version_id: int
    post_id: int
    thread_id: int
    floor: int
    author: str | None
    html: str
    raw_text: str
    raw_quotes: list[dict[str, Any]] = field(default_factory=list)
    # normalise
    own: str = ""  # the author's own words, normalised (personal details still in)
    quotes: list[tuple[str | None, str]] = field(default_factory=list)  # (author, excerpt)
    converted: bool = False  # Traditional characters were converted to Simplified
    # language
    lang: str = "und"
    lang_method: str = ""
    zh_share: float = 0.0
    en_share: float = 0.0
    traditional: bool = False
    sentences: dict[str, int] = field(default_factory=dict)  # script label -> sentence count
    # anonymise: detection, then the pseudonyms (codes from the flow's register)
    spans: list[Span] = field(default_factory=list)  # detected in `own`
    quote_spans: list[list[Span]] = field(default_factory=list)  # detected in each excerpt
    text: str = ""  # `own` with details replaced: what leaves the store
    seg_text: str = ""  # `own` with details cut out: what segmentation sees (see anonymise)
    anon_quotes: list[dict[str, str | None]] = field(default_factory=list)
    author_pseudonym: str | None = None
    replacements: dict[str, int] = field(default_factory=dict)
    # segment
    tokens: list[str] = field(default_factory=list)
    # keywords (the last step)
    hits: dict[str, list[str]] = field(default_factory=dict)
    token_text: str = ""  # the tokens joined by spaces, as stored; the list is emptied then

    def drop_private(self) -> None:
        """Forget every field that may hold a personal detail (after anonymisation)."""
        self.html = self.raw_text = self.own = self.seg_text = ""
        self.raw_quotes = []
        self.spans = []
        self.quote_spans = []
        self.quotes = []
        self.author = None


class Batch:
    """A list of records passed to a Prefect task as one opaque value.

    Prefect walks task arguments that are lists, dicts or dataclasses looking for futures;
    wrapping the batch keeps that walk (thousands of records per call) out of every task run.
    """

    __slots__ = ("number", "records")

    def __init__(self, number: int, records: list[PostRecord]) -> None:
        self.number = number
        self.records = records

    def __len__(self) -> int:
        return len(self.records)
