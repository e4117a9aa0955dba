"""Stability of topics across random seeds (pure: no I/O, no gensim).

Topics of two runs with the same number of topics are matched one to one by their top words:
the Hungarian algorithm picks the pairing that maximises the summed Jaccard similarity of the
top-word sets. A topic's stability is the mean similarity to its match in every other run; a
model's is the mean over its topics; a number of topics' is the mean over all pairs of runs.
A topic that re-appears with the same words whatever the seed scores 1, a seed artefact near 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy.optimize import linear_sum_assignment

Topics = Sequence[Sequence[str]]  # per topic, its top words (best first)


def jaccard(a: Sequence[str], b: Sequence[str]) -> float:
    sa, sb = set(a), set(b)
    if not sa and not sb:
        return 1.0
    return len(sa & sb) / len(sa | sb)


def similarity_matrix(a: Topics, b: Topics) -> np.ndarray:
    return np.array([[jaccard(x, y) for y in b] for x in a], dtype=float)


def match_topics(a: Topics, b: Topics) -> list[tuple[int, int, float]]:
    """One-to-one matching of `a`'s topics to `b`'s: (index in a, index in b, Jaccard)."""
    sim = similarity_matrix(a, b)
    rows, cols = linear_sum_assignment(sim, maximize=True)
    return [(int(r), int(c), float(sim[r, c])) for r, c in zip(rows, cols, strict=True)]


@dataclass(frozen=True, slots=True)
class StabilityScores:
    per_topic: list[list[float]]  # per run, per topic: mean matched Jaccard to the other runs
    per_model: list[float]  # per run: mean of its topics
    overall: float  # mean matched Jaccard over all pairs of runs
    pairs: dict[tuple[int, int], float]  # (run i, run j) → mean matched Jaccard


def stability(runs: Sequence[Topics]) -> StabilityScores:
    """Stability of several runs (same number of topics, different seeds).

    With a single run there is nothing to compare: every score is NaN, never a made-up 1.
    """
    n = len(runs)
    sums = [np.zeros(len(topics)) for topics in runs]
    pairs: dict[tuple[int, int], float] = {}
    for i, j in combinations(range(n), 2):
        matches = match_topics(runs[i], runs[j])
        for a, b, score in matches:
            sums[i][a] += score
            sums[j][b] += score
        pairs[(i, j)] = float(np.mean([m[2] for m in matches])) if matches else float("nan")
    if n < 2:
        nan_topics = [[float("nan")] * len(topics) for topics in runs]
        return StabilityScores(nan_topics, [float("nan")] * n, float("nan"), {})
    per_topic = [(s / (n - 1)).tolist() for s in sums]
    per_model = [float(np.mean(t)) if t else float("nan") for t in per_topic]
    return StabilityScores(per_topic, per_model, float(np.mean(list(pairs.values()))), pairs)
