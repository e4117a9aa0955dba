"""Coherence of every model of a sweep with gensim's `CoherenceModel` (c_v, c_npmi, u_mass).

Word co-occurrence counting is the expensive part, and it is the same for every model of a
sweep: it is done once per measure for the union of all models' top words
(`CoherenceModel.for_topics`), then each model's topics are scored from those counts. c_v and
c_npmi count in sliding windows over the posts' token sequences (`texts.txt`), u_mass over
documents of the bag-of-words corpus.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from .dictionary import CorpusFiles, LineTexts


@dataclass(frozen=True, slots=True)
class ModelCoherence:
    score: dict[str, float]  # measure → mean over topics
    per_topic: dict[str, list[float]]  # measure → per topic


def score_models(
    files: CorpusFiles,
    models_topics: Sequence[Sequence[Sequence[str]]],
    measures: Sequence[str],
    *,
    processes: int = 2,
    timings: dict[str, float] | None = None,
) -> list[ModelCoherence]:
    """Coherence per model (each given as its topics' top words), in the order given."""
    from gensim.corpora import Dictionary, MmCorpus
    from gensim.models import CoherenceModel

    dictionary = Dictionary.load(str(files.dictionary_path))
    per_model: list[dict[str, list[float]]] = [{} for _ in models_topics]
    for measure in measures:
        start = time.perf_counter()
        source = (
            {"corpus": MmCorpus(str(files.corpus_path))}
            if measure == "u_mass"
            else {"texts": LineTexts(files.texts_path)}
        )
        union = [[list(t) for t in topics] for topics in models_topics]
        cm = CoherenceModel.for_topics(
            union, dictionary=dictionary, coherence=measure, processes=max(1, processes),
            **source,
        )
        for i, topics in enumerate(models_topics):
            cm.topics = [list(t) for t in topics]
            values = [float(v) for v in cm.get_coherence_per_topic()]
            per_model[i][measure] = values
        if timings is not None:
            timings[measure] = time.perf_counter() - start
    out = []
    for values in per_model:
        score = {m: _mean(v) for m, v in values.items()}
        out.append(ModelCoherence(score, {m: [_finite(x) for x in v] for m, v in values.items()}))
    return out


def _finite(x: float) -> float:
    return float("nan") if x is None or math.isinf(x) else x


def _mean(values: Sequence[float]) -> float:
    finite = [v for v in values if not math.isnan(v) and not math.isinf(v)]
    return sum(finite) / len(finite) if finite else float("nan")
