"""Guided (seeded) LDA: the researcher's concept keywords become an `eta` prior.

Topic i of a guided model is seeded with concept i's keywords: their prior mass in that topic
is raised by `weight` and lowered in the other topics, so the expected themes (OEM, OBM, …)
have a head start, while unseeded topics (and the words nobody listed) let new themes emerge.
`seed_words` and `eta_matrix` are pure; `load_concepts` reads the keyword list.

Which vocabulary words a keyword seeds follows the keyword filter's matching rules on tokens:
a word keyword its token (`oem`), a Latin prefix `brand*` every token starting with `brand`, a
Chinese keyword also the tokens that contain it (代工 → 代工厂, as the filter matches
substrings), a phrase its bigram (`own_brand`) when phrases are on; `not` keywords seed nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.keywords import Concept, Keyword, KeywordFilter

_HAN = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True, slots=True)
class SeedConcept:
    name: str
    label: str
    words: tuple[str, ...]  # vocabulary words it seeds, sorted


def load_concepts(path: str | Path | None = None) -> tuple[Concept, ...]:
    return KeywordFilter.from_toml(path or None).concepts


def _keyword_words(keyword: Keyword, vocab: Sequence[str], vocab_set: frozenset[str]) -> set[str]:
    if len(keyword.parts) > 1:
        bigram = "_".join(keyword.parts)
        return {bigram} if bigram in vocab_set else set()
    word = keyword.parts[0]
    if keyword.prefix:
        return {t for t in vocab if t.startswith(word)}
    found = {word} if word in vocab_set else set()
    if not keyword.token_only and len(word) >= 2 and _HAN.search(word):
        found |= {t for t in vocab if word in t}
    return found


def seed_words(
    concepts: Iterable[Concept], vocabulary: Iterable[str], only: Sequence[str] = ()
) -> list[SeedConcept]:
    """Concepts with the vocabulary words they seed; concepts seeding no word are left out."""
    vocab = sorted(set(vocabulary))
    vocab_set = frozenset(vocab)
    out: list[SeedConcept] = []
    for concept in concepts:
        if only and concept.name not in only:
            continue
        words: set[str] = set()
        for groups in (concept.any, concept.all):
            for group in groups:
                for keyword in group:
                    words |= _keyword_words(keyword, vocab, vocab_set)
        if words:
            out.append(SeedConcept(concept.name, concept.label, tuple(sorted(words))))
    return out


def eta_matrix(
    num_topics: int,
    token2id: Mapping[str, int],
    seeds: Sequence[SeedConcept],
    weight: float,
) -> np.ndarray:
    """K × V prior: gensim's symmetric 1/K everywhere, seed words boosted in their topic.

    Concepts beyond K are not seeded (the first K, in keyword-list order). A word seeded by
    several concepts is boosted in each of their topics. In the other topics a seed word keeps
    a tenth of the base prior, so it does not pull them towards the concept.
    """
    base = 1.0 / num_topics
    eta = np.full((num_topics, len(token2id)), base, dtype=np.float64)
    seeded = seeds[:num_topics]
    ids_per_topic = [[token2id[w] for w in s.words if w in token2id] for s in seeded]
    all_ids = sorted({i for ids in ids_per_topic for i in ids})
    if all_ids:
        eta[:, all_ids] = base / 10
    for topic, ids in enumerate(ids_per_topic):
        eta[topic, ids] = base + weight
    return eta
