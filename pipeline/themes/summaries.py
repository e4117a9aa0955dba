"""Per-topic figures of a chosen model: share of posts, months, representatives, labels.

`document_topics` streams the bag-of-words corpus through the model once; the rest is pure.
A post's dominant topic is its most probable one (ties → lower topic number). A topic's
representatives are the posts where it is most probable (the most typical posts), at most one
per thread so that one long thread does not fill the list.
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .seeding import SeedConcept


def document_topics(model_file: Path, corpus_path: Path) -> Iterator[np.ndarray]:
    """Each corpus row's topic distribution (dense, length K)."""
    from gensim.corpora import MmCorpus
    from gensim.models import LdaModel

    model = LdaModel.load(str(model_file))
    k = model.num_topics
    for bow in MmCorpus(str(corpus_path)):
        dense = np.zeros(k)
        for topic, p in model.get_document_topics(bow, minimum_probability=0.0):
            dense[topic] = p
        yield dense


@dataclass(slots=True)
class TopicTally:
    """Running totals over the corpus, without keeping every post's distribution."""

    num_topics: int
    keep: int
    posts: int = 0
    dominant: Counter[int] = field(default_factory=Counter)
    month_posts: Counter[str] = field(default_factory=Counter)
    month_topic: defaultdict[int, Counter[str]] = field(
        default_factory=lambda: defaultdict(Counter)
    )
    # per topic, a min-heap of (probability, -row, row): the best `keep * 4` candidates
    best: list[list[tuple[float, int, int]]] = field(default_factory=list)
    assigned: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.best = [[] for _ in range(self.num_topics)]

    def add(self, row: int, dist: np.ndarray, month: str | None) -> None:
        top = int(np.argmax(dist))
        self.posts += 1
        self.dominant[top] += 1
        self.assigned.append(top)
        if month:
            self.month_posts[month] += 1
            self.month_topic[top][month] += 1
        heap = self.best[top]
        item = (float(dist[top]), -row, row)
        # Spare candidates: some will be dropped as second posts of a thread already shown.
        if len(heap) < self.keep * 4:
            heapq.heappush(heap, item)
        elif item > heap[0]:
            heapq.heapreplace(heap, item)


def monthly_shares(tally: TopicTally, topic: int) -> list[tuple[str, float]]:
    """Share of each month's posts whose dominant topic is `topic`, months in order."""
    return [
        (month, tally.month_topic[topic][month] / total)
        for month, total in sorted(tally.month_posts.items())
    ]


def representatives(
    tally: TopicTally, topic: int, docs: Sequence[Mapping], n: int
) -> list[tuple[int, float]]:
    """(corpus row, probability) of the most typical posts, one per thread, best first."""
    seen: set[int] = set()
    out: list[tuple[int, float]] = []
    for p, _neg, row in sorted(tally.best[topic], reverse=True):
        thread = docs[row]["thread"]
        if thread in seen:
            continue
        seen.add(thread)
        out.append((row, p))
        if len(out) == n:
            break
    return out


def suggest_label(
    top_words: Sequence[tuple[str, float]], seeds: Sequence[SeedConcept], n: int = 10
) -> tuple[str, str | None]:
    """A label for people: a concept when its seed words carry most of the topic's top mass.

    The concept whose words hold at least a quarter of the top-`n` weight wins and is named
    with its top words; otherwise the label is the three heaviest words.
    """
    words = list(top_words[:n])
    total = sum(w for _, w in words) or 1.0
    best_name, best_share = None, 0.0
    for concept in seeds:
        vocab = set(concept.words)
        share = sum(w for t, w in words if t in vocab) / total
        if share > best_share:
            best_name, best_share = concept.name, share
    head = " · ".join(t for t, _ in words[:3])
    if best_name is not None and best_share >= 0.25:
        return f"{best_name}: {head}", best_name
    return head, None
