"""Which number of topics to review first, from coherence and stability together (pure).

Coherence alone favours models whose topics read well once, stability alone favours few broad
topics. The rule, stated in every recommendation:

1. a number of topics is *eligible* when its mean stability across seeds reaches
   `min_stability` (if none does, all are, and the reason says so);
2. the score is the mean of coherence (mean over seeds of the chosen measure) and stability,
   both on a 0…1 scale: c_v and stability are on it already, c_npmi (−1…1) is mapped to it,
   u_mass (unbounded) is rescaled over the sweep (min → 0, max → 1). Fixed scales keep a
   small sweep meaningful: rescaling two values over the sweep would always give 0 and 1;
3. the eligible K with the highest score wins; within 0.01 of it the smaller K wins, because
   fewer topics are quicker to review and a near-tie is noise.

Within the chosen K, the run (seed) to summarise is the most *central* one — highest stability
against the other seeds — then the most coherent: it is the typical result, not a lucky one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

TIE = 0.01


@dataclass(frozen=True, slots=True)
class KScore:
    k: int
    coherence: float  # mean over seeds of the chosen measure
    stability: float  # mean matched Jaccard over pairs of seeds (NaN with one seed)


@dataclass(frozen=True, slots=True)
class Recommendation:
    k: int
    score: dict[int, float]
    eligible: tuple[int, ...]
    reason: str


def _rescale(values: Sequence[float]) -> list[float]:
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return [1.0] * len(values)
    lo, hi = min(finite), max(finite)
    if hi - lo < 1e-12:
        return [1.0] * len(values)
    return [0.0 if math.isnan(v) else (v - lo) / (hi - lo) for v in values]


def _unit_scale(values: Sequence[float], measure: str) -> list[float]:
    if measure == "c_v":
        return [0.0 if math.isnan(v) else v for v in values]
    if measure == "c_npmi":
        return [0.0 if math.isnan(v) else (v + 1) / 2 for v in values]
    return _rescale(values)


def recommend_k(
    scores: Sequence[KScore], *, min_stability: float = 0.5, measure: str = "c_v"
) -> Recommendation:
    if not scores:
        raise ValueError("no models to recommend from")
    ordered = sorted(scores, key=lambda s: s.k)
    coh = _unit_scale([s.coherence for s in ordered], measure)
    single_seed = all(math.isnan(s.stability) for s in ordered)
    score = {
        s.k: c if single_seed else (c + (0.0 if math.isnan(s.stability) else s.stability)) / 2
        for s, c in zip(ordered, coh, strict=True)
    }
    eligible = tuple(s.k for s in ordered if s.stability >= min_stability)
    note = ""
    if single_seed:
        eligible = tuple(s.k for s in ordered)
        note = " Only one seed per K was fitted, so stability is unknown: coherence alone."
    elif not eligible:
        eligible = tuple(s.k for s in ordered)
        best_stab = max(s.stability for s in ordered)
        note = (
            f" No K reaches stability {min_stability:.2f} (best {best_stab:.2f}): treat every "
            "topic with caution and consider more passes or a larger corpus."
        )
    best = max(score[k] for k in eligible)
    chosen = min(k for k in eligible if score[k] >= best - TIE)
    by_k = {s.k: s for s in ordered}
    pick = by_k[chosen]
    rank_c = 1 + sorted((s.coherence for s in ordered), reverse=True).index(pick.coherence)
    parts = [
        f"K={chosen}: {measure} {pick.coherence:.3f} (rank {rank_c} of {len(ordered)})",
    ]
    if not single_seed:
        stabs = sorted((s.stability for s in ordered), reverse=True)
        parts.append(f"stability {pick.stability:.3f} (rank {1 + stabs.index(pick.stability)})")
    parts.append(f"combined score {score[chosen]:.2f}")
    reason = ", ".join(parts) + "."
    most_coherent = max(ordered, key=lambda s: s.coherence)
    if most_coherent.k != chosen:
        if most_coherent.k not in eligible:
            reason += (
                f" K={most_coherent.k} is more coherent ({most_coherent.coherence:.3f}) but its "
                f"topics change with the seed (stability {most_coherent.stability:.3f} < "
                f"{min_stability:.2f})."
            )
        else:
            reason += (
                f" K={most_coherent.k} is more coherent ({most_coherent.coherence:.3f}) but less "
                f"stable ({most_coherent.stability:.3f})."
            )
    if best - score[chosen] > 1e-12:
        reason += f" A larger K scores within {TIE} of it: the smaller one is preferred."
    return Recommendation(chosen, score, eligible, reason + note)


def central_run(stabilities: Sequence[float], coherences: Sequence[float]) -> int:
    """Index of the run to summarise: most stable against the other seeds, then most coherent."""
    def key(i: int) -> tuple[float, float]:
        s = stabilities[i]
        return (-math.inf if math.isnan(s) else s, coherences[i])

    return max(range(len(stabilities)), key=key)
