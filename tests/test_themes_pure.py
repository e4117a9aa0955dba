"""Pure parts of the themes stage: stability, recommendation, AMI, seeding, settings, SVG."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from pipeline.keywords import KeywordFilter
from pipeline.settings import ConfigError
from pipeline.themes.agreement import adjusted_mutual_information, mutual_information
from pipeline.themes.dictionary import load_stopwords as load_themes_stopwords
from pipeline.themes.dictionary import settings_key
from pipeline.themes.recommend import KScore, central_run, recommend_k
from pipeline.themes.seeding import eta_matrix, seed_words
from pipeline.themes.settings import load_theme_settings, parse_int_list, parse_theme_settings
from pipeline.themes.stability import jaccard, match_topics, stability
from pipeline.themes.svg import bar_chart, line_chart

# --- stability -----------------------------------------------------------------------------


def test_jaccard() -> None:
    assert jaccard(["a", "b"], ["b", "c"]) == pytest.approx(1 / 3)
    assert jaccard(["a"], ["a"]) == 1.0
    assert jaccard(["a"], ["b"]) == 0.0


def test_hungarian_matching_beats_greedy() -> None:
    # Greedy would pair a0 with b0 (0.5) and leave a1 with b1 (0); the best pairing is crossed.
    a = [["x", "y"], ["x", "z"]]
    b = [["x", "y", "z"], ["y", "w"]]
    pairs = {(i, j) for i, j, _ in match_topics(a, b)}
    assert len(pairs) == 2 and {i for i, _ in pairs} == {0, 1}
    total = sum(s for *_, s in match_topics(a, b))
    best = max(jaccard(a[0], b[0]) + jaccard(a[1], b[1]), jaccard(a[0], b[1]) + jaccard(a[1], b[0]))
    assert total == pytest.approx(best)


def test_stability_of_permuted_runs_is_one_and_of_disjoint_runs_zero() -> None:
    topics = [["a", "b", "c"], ["d", "e", "f"], ["g", "h", "i"]]
    permuted = [topics[2], topics[0], topics[1]]
    same = stability([topics, permuted])
    assert same.overall == 1.0 and same.per_model == [1.0, 1.0]
    other = [["p", "q", "r"], ["s", "t", "u"], ["v", "w", "x"]]
    assert stability([topics, other]).overall == 0.0


def test_stability_per_topic_finds_the_unstable_topic() -> None:
    run1 = [["a", "b", "c", "d"], ["e", "f", "g", "h"]]
    run2 = [["e", "f", "g", "h"], ["a", "b", "x", "y"]]  # topic 0 of run1 half comes back
    run3 = [["a", "b", "z", "w"], ["e", "f", "g", "h"]]
    scores = stability([run1, run2, run3])
    assert scores.per_topic[0][1] == 1.0  # e f g h: identical in all runs
    assert scores.per_topic[0][0] == pytest.approx(1 / 3)
    assert 0 < scores.overall < 1


def test_single_run_has_no_stability() -> None:
    scores = stability([[["a"], ["b"]]])
    assert math.isnan(scores.overall) and math.isnan(scores.per_model[0])


# --- recommendation --------------------------------------------------------------------------


def test_recommend_prefers_stable_coherent_k_and_explains() -> None:
    scores = [
        KScore(5, 0.40, 0.90),
        KScore(10, 0.55, 0.80),
        KScore(15, 0.60, 0.30),  # most coherent, but its topics change with the seed
    ]
    rec = recommend_k(scores, min_stability=0.5)
    assert rec.k == 10
    assert rec.eligible == (5, 10)
    assert "K=15 is more coherent" in rec.reason and "stability 0.300 < 0.50" in rec.reason


def test_recommend_ties_go_to_the_smaller_k() -> None:
    scores = [KScore(8, 0.50, 0.70), KScore(12, 0.515, 0.70), KScore(16, 0.30, 0.40)]
    rec = recommend_k(scores, min_stability=0.5)
    assert 0 < rec.score[12] - rec.score[8] < 0.01
    assert rec.k == 8 and "the smaller one is preferred" in rec.reason


def test_recommend_scores_on_fixed_scales() -> None:
    # Two K values: min-max rescaling would make this a tie; on the 0…1 scales K=12 wins.
    rec = recommend_k([KScore(8, 0.50, 0.30), KScore(12, 0.56, 0.29)], min_stability=0.25)
    assert rec.score[8] == pytest.approx(0.40) and rec.score[12] == pytest.approx(0.425)
    assert rec.k == 12
    npmi = recommend_k([KScore(5, -0.2, 0.5), KScore(10, 0.2, 0.5)], measure="c_npmi")
    assert npmi.score[10] == pytest.approx(0.55) and npmi.k == 10


def test_recommend_without_eligible_k_says_so() -> None:
    rec = recommend_k([KScore(5, 0.4, 0.2), KScore(10, 0.5, 0.3)], min_stability=0.5)
    assert rec.k == 10 and "No K reaches stability" in rec.reason


def test_recommend_with_one_seed_uses_coherence_alone() -> None:
    nan = float("nan")
    rec = recommend_k([KScore(5, 0.4, nan), KScore(10, 0.5, nan)])
    assert rec.k == 10 and "coherence alone" in rec.reason


def test_central_run() -> None:
    assert central_run([0.5, 0.7, 0.7], [0.3, 0.2, 0.4]) == 2


# --- AMI ---------------------------------------------------------------------------------------


def test_ami_identical_partitions_under_other_names() -> None:
    assert adjusted_mutual_information([0, 0, 1, 1, 2], ["x", "x", "y", "y", "z"]) == (
        pytest.approx(1.0)
    )


def test_ami_known_values() -> None:
    # Values from scikit-learn's documentation (arithmetic normalisation).
    assert adjusted_mutual_information([0, 0, 0, 0], [0, 1, 2, 3]) == pytest.approx(0.0)
    assert adjusted_mutual_information([0, 0, 1, 1], [0, 1, 0, 1]) == pytest.approx(-0.5)


def test_expected_mutual_information_matches_random_permutations() -> None:
    # E[MI] is the mean MI of one labeling against random permutations of the other.
    from pipeline.themes.agreement import contingency, expected_mutual_information

    a = [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3]
    b = [1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3]
    exact = expected_mutual_information(contingency(a, b))
    rng = random.Random(3)
    shuffled = list(b)
    draws = []
    for _ in range(20000):
        rng.shuffle(shuffled)
        draws.append(mutual_information(contingency(a, shuffled)))
    assert exact == pytest.approx(float(np.mean(draws)), rel=0.02)
    mi = mutual_information(contingency(a, b))
    assert mi == pytest.approx(0.63515, abs=1e-4)  # worked by hand: sum nij/n log(n nij/ai bj)


def test_ami_of_independent_labelings_is_near_zero_while_mi_is_not() -> None:
    rng = random.Random(7)
    a = [rng.randrange(13) for _ in range(3000)]
    b = [rng.randrange(13) for _ in range(3000)]
    from pipeline.themes.agreement import contingency

    assert mutual_information(contingency(a, b)) > 0.02  # raw MI is biased upwards
    assert abs(adjusted_mutual_information(a, b)) < 0.01


# --- seeding -------------------------------------------------------------------------------


def _filter() -> KeywordFilter:
    return KeywordFilter.from_dict({"concepts": {
        "oem": {"label": "OEM", "any": ["OEM", "代工", "private label"], "not": ["招聘"]},
        "brand": {"label": "Brand", "any": ["brand*", "=品牌"]},
        "empty": {"any": ["nothing-here"]},
    }})


def test_seed_words_follow_keyword_rules() -> None:
    vocab = ["oem", "代工", "代工厂", "brand", "branding", "品牌", "自主品牌", "招聘",
             "private_label"]
    seeds = {s.name: s.words for s in seed_words(_filter().concepts, vocab)}
    assert set(seeds["oem"]) == {"oem", "代工", "代工厂", "private_label"}  # not 招聘 (a `not`)
    assert set(seeds["brand"]) == {"brand", "branding", "品牌"}  # =品牌: whole token only
    assert "empty" not in seeds


def test_eta_matrix_boosts_seed_words_in_their_topic_only() -> None:
    token2id = {"oem": 0, "代工": 1, "brand": 2, "other": 3}
    seeds = seed_words(_filter().concepts, token2id)
    eta = eta_matrix(3, token2id, seeds, weight=2.0)
    base = 1 / 3
    assert eta.shape == (3, 4)
    assert eta[0, 0] == pytest.approx(base + 2) and eta[1, 0] == pytest.approx(base / 10)
    assert eta[1, 2] == pytest.approx(base + 2) and eta[0, 2] == pytest.approx(base / 10)
    assert np.allclose(eta[:, 3], base)  # an unseeded word keeps the symmetric prior
    assert np.allclose(eta[2, :2], base / 10)  # topic 2 is free


# --- settings ------------------------------------------------------------------------------


def test_default_settings_and_overrides(tmp_path) -> None:
    defaults = load_theme_settings()
    assert defaults.sweep.topics == (5, 10, 15, 20, 25, 30)
    config = tmp_path / "lurker.toml"
    config.write_text('[themes.sweep]\ntopics = [4, 6]\nseeds = [7, 8]\n', encoding="utf-8")
    mine = load_theme_settings(config)
    assert mine.sweep.topics == (4, 6) and mine.sweep.seeds == (7, 8)
    assert mine.hash != defaults.hash
    assert mine.sweep.passes == defaults.sweep.passes
    # How many processes run a sweep does not change its result, nor the settings' hash.
    assert defaults.replace(sweep={"workers": 1}, coherence={"processes": 1}).hash == (
        defaults.hash
    )
    assert defaults.replace(sweep={"passes": 3}).hash != defaults.hash


@pytest.mark.parametrize(
    "raw",
    [
        {"sweep": {"topics": [1]}},
        {"sweep": {"seeds": [1, 1]}},
        {"sweep": {"tpoics": [5]}},
        {"coherence": {"measures": ["c_uci"]}},
        {"dictionary": {"no_above": 2.0}},
        {"nonsense": {}},
    ],
)
def test_bad_settings_are_config_errors(raw: dict) -> None:
    with pytest.raises(ConfigError):
        parse_theme_settings(raw)


def test_themes_stop_list_is_generic_and_overridable(tmp_path) -> None:
    bundled = load_themes_stopwords(load_theme_settings().dictionary)
    assert {"做", "很多", "时间", "楼主", "qq"} <= bundled  # lower-cased: the token is `qq`
    # Generic words only: no concept keyword of the bundled keyword list is a stop word.
    keywords = {p for c in KeywordFilter.from_toml().concepts
                for k in c.keywords() for p in k.parts}
    assert not keywords & bundled
    (tmp_path / "stop.txt").write_text("# mine\n公司 外贸\nFOB\n", encoding="utf-8")
    config = tmp_path / "lurker.toml"
    config.write_text('[themes.dictionary]\nstopwords = "stop.txt"\nextra_stopwords = ["老板"]\n',
                      encoding="utf-8")
    mine = load_theme_settings(config).dictionary
    words = load_themes_stopwords(mine, tmp_path)  # relative to the workspace
    assert words == {"公司", "外贸", "fob", "老板"}
    assert settings_key(mine, words) != settings_key(mine, bundled)  # other words, other files
    with pytest.raises(ConfigError, match="stopwords"):
        load_themes_stopwords(mine, tmp_path / "elsewhere")


def test_parse_int_list() -> None:
    assert parse_int_list("5-30", "--topics") == (5, 10, 15, 20, 25, 30)
    assert parse_int_list("4-8:2,20", "--topics") == (4, 6, 8, 20)
    with pytest.raises(ConfigError):
        parse_int_list("five", "--topics")


# --- SVG -------------------------------------------------------------------------------------


def test_svg_escapes_scraped_words() -> None:
    bars = str(bar_chart([("<script>alert(1)</script>", 0.5), ("价格", 0.25)]))
    assert "<script>" not in bars and "&lt;script&gt;" in bars and "价格" in bars
    chart = str(line_chart([5, 10], {"c_v": [0.4, float("nan")]}, title="a & b"))
    assert "a &amp; b" in chart and chart.startswith("<svg")


def test_months_are_in_the_forums_time_zone() -> None:
    from datetime import UTC, datetime

    from pipeline.themes.corpus import SnapshotDocument

    def doc(when: datetime | None, offset: float) -> SnapshotDocument:
        return SnapshotDocument(1, 1, 1, 1, 1, when, "P001", "zh", ("a",), offset)

    # 2024-04-01 03:00 in China is still March in UTC: the forum (and its readers) say April.
    late_march_utc = datetime(2024, 3, 31, 19, 0, tzinfo=UTC)
    assert doc(late_march_utc, 8.0).month == "2024-04"
    assert doc(late_march_utc, 0.0).month == "2024-03"
    assert doc(None, 8.0).month is None
