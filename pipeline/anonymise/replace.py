"""Replace detected details with typed placeholders and usernames with pseudonyms.

`anonymise(text, pseudonymiser, known_names)` is the whole stage for one text: details become
`[手机]`, `[微信]`, `[姓名]` … (cue words stay, so "微信：[微信]" still reads as a sentence), and
usernames, @mentions and quote-header names become the author's pseudonym ("@DG"). The counts
say how many of each type were replaced, never what: they go into the methods appendix.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from pipeline.anonymise.detect import (
    USERNAME,
    Detector,
    KnownNames,
    Span,
    default_detector,
)
from pipeline.anonymise.pseudonyms import Pseudonymiser

__all__ = ["AnonymisedText", "anonymise", "apply_spans", "merge_counts"]


@dataclass(frozen=True, slots=True)
class AnonymisedText:
    text: str
    counts: Mapping[str, int]  # type -> number of replacements; values are never kept


def apply_spans(text: str, spans: Sequence[Span], pseudonym: Callable[[str], str],
                placeholders: Mapping[str, str]) -> AnonymisedText:
    """Cut `spans` (sorted, non-overlapping, as `find_pii` returns them) out of `text`."""
    out: list[str] = []
    counts: Counter[str] = Counter()
    pos = 0
    for span in spans:
        out.append(text[pos:span.start])
        out.append(pseudonym(span.value) if span.type == USERNAME else placeholders[span.type])
        counts[span.type] += 1
        pos = span.end
    out.append(text[pos:])
    return AnonymisedText("".join(out), dict(sorted(counts.items())))


def anonymise(text: str, pseudonymiser: Pseudonymiser,
              known_names: Iterable[str] | KnownNames = (), *,
              detector: Detector | None = None) -> AnonymisedText:
    """One text with every detected detail replaced (see the module docstring).

    For many posts, pass `compile_known_names(usernames)` once instead of the raw names, and a
    `Pseudonymiser` built with all the project's usernames (its mapping is then order-free).
    """
    detector = detector or default_detector()
    spans = detector.find(text, known_names)
    return apply_spans(text, spans, pseudonymiser.pseudonym, detector.rules.placeholders)


def merge_counts(counts: Iterable[Mapping[str, int]]) -> dict[str, int]:
    """Corpus totals for the methods appendix (sum of per-text counts)."""
    total: Counter[str] = Counter()
    for c in counts:
        total.update(c)
    return dict(sorted(total.items()))

