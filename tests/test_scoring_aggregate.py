"""Aggregation methods against hand-computed panels, and points vs relative weights."""

from __future__ import annotations

import pytest

from scoring.model import AggregationMethod, Criterion, WeightMode
from tests.scoring_builders import by_id, score

MEAN = AggregationMethod.MEAN
TRIMMED = AggregationMethod.TRIMMED_MEAN
MEDIAN = AggregationMethod.MEDIAN
STANDARDIZED = AggregationMethod.STANDARDIZED

# Relative weights 3:1 on 0..10: total = 100·(0.75·s1/10 + 0.25·s2/10) = 7.5·s1 + 2.5·s2.
TWO = (Criterion("c1", 3.0, 0.0, 10.0), Criterion("c2", 1.0, 0.0, 10.0))


def test_mean_of_sheet_totals_with_criterion_breakdown() -> None:
    # J1: 7.5·8 + 2.5·6 = 75; J2: 45 + 25 = 70; J3: 75 + 5 = 80 → mean 75.
    result = score({"P1": {"J1": [8, 6], "J2": [6, 10], "J3": [10, 2]}}, TWO)
    p = by_id(result)["P1"]
    assert p.panel_score == pytest.approx(75.0)
    assert p.final_score == pytest.approx(75.0)
    assert p.raw_score == pytest.approx(75.0)
    # c1 mean 8 → 7.5·8 = 60 points; c2 mean 6 → 2.5·6 = 15 points.
    assert [(c.criterion_id, c.score, c.weight_share) for c in p.criteria] == [
        ("c1", pytest.approx(8.0), 0.75),
        ("c2", pytest.approx(6.0), 0.25),
    ]
    assert [c.contribution for c in p.criteria] == [pytest.approx(60.0), pytest.approx(15.0)]
    assert p.dispersion.sheets == p.dispersion.counted == 3
    assert p.dispersion.min == pytest.approx(70.0)
    assert p.dispersion.max == pytest.approx(80.0)
    # Population standard deviation of 75, 70, 80: sqrt((0 + 25 + 25) / 3).
    assert p.dispersion.std_dev == pytest.approx((50 / 3) ** 0.5)


@pytest.mark.parametrize(
    ("scores", "trim", "panel", "counted", "dropped"),
    [
        # Totals 90, 70, 50, 80, 30; drop 30 (J5) and 90 (J1): (70 + 50 + 80) / 3.
        ([9, 7, 5, 8, 3], 1, 200 / 3, ("J2", "J3", "J4"), ("J1", "J5")),
        # Six sheets, k = 2: totals 10..60, keep 30 and 40 → 35.
        ([1, 2, 3, 4, 5, 6], 2, 35.0, ("J3", "J4"), ("J1", "J2", "J5", "J6")),
        # Five sheets, k = 2 keeps only the middle one, like the median: 70.
        ([9, 7, 5, 8, 3], 2, 70.0, ("J2",), ("J1", "J3", "J4", "J5")),
    ],
)
def test_trimmed_mean_drops_k_highest_and_lowest(
    scores: list[float], trim: int, panel: float, counted: tuple[str, ...], dropped: tuple[str, ...]
) -> None:
    table = {"P1": {f"J{k + 1}": [s] for k, s in enumerate(scores)}}
    p = by_id(score(table, aggregation=TRIMMED, trim_count=trim))["P1"]
    assert p.panel_score == pytest.approx(panel)
    assert p.raw_score == pytest.approx(10 * sum(scores) / len(scores))
    assert p.dispersion.counted_judge_ids == counted
    assert p.dispersion.dropped_judge_ids == dropped
    assert p.dispersion.counted == len(counted)


def test_trimmed_mean_breaks_equal_totals_by_judge_id() -> None:
    # Equal weights: J1 (10, 0) and J2 (0, 10) both total 50; sorted (50, J1), (50, J2), (90, J3).
    # k = 1 drops J1 as the lowest and J3 as the highest, so the criteria follow J2's sheet.
    equal = (Criterion("c1", 1.0), Criterion("c2", 1.0))
    table = {"P1": {"J2": [0, 10], "J3": [9, 9], "J1": [10, 0]}}
    p = by_id(score(table, equal, aggregation=TRIMMED, trim_count=1))["P1"]
    assert p.dispersion.counted_judge_ids == ("J2",)
    assert [c.score for c in p.criteria] == [0.0, 10.0]
    assert [c.raw_score for c in p.criteria] == [pytest.approx(19 / 3), pytest.approx(19 / 3)]


def test_median_odd_is_the_middle_sheet() -> None:
    # Totals 70, 20, 50: the middle one is J3's 50, with J3's criterion scores.
    table = {"P1": {"J1": [7, 7], "J2": [2, 2], "J3": [4, 8]}}
    p = by_id(score(table, TWO, aggregation=MEDIAN))["P1"]
    # J3: 7.5·4 + 2.5·8 = 50.
    assert p.panel_score == pytest.approx(50.0)
    assert [c.score for c in p.criteria] == [4.0, 8.0]
    assert p.dispersion.counted_judge_ids == ("J3",)


def test_median_even_is_the_mean_of_the_two_middle_sheets() -> None:
    # Totals: J1 20, J2 40, J3 60, J4 90 → (40 + 60) / 2 = 50; criteria from J2 and J3.
    table = {"P1": {"J1": [2, 2], "J2": [4, 4], "J3": [6, 6], "J4": [9, 9]}}
    p = by_id(score(table, TWO, aggregation=MEDIAN))["P1"]
    assert p.panel_score == pytest.approx(50.0)
    assert [c.score for c in p.criteria] == [pytest.approx(5.0), pytest.approx(5.0)]
    assert p.dispersion.counted_judge_ids == ("J2", "J3")
    assert p.dispersion.dropped_judge_ids == ("J1", "J4")


def test_standardized_rescales_each_judges_z_scores_to_the_pooled_scale() -> None:
    # J1: 8, 4 (μ 6, σ 2) and J2: 6, 4 (μ 5, σ 1) give z = +1 on P1 and −1 on P2 for both.
    # Pooled mean of 8, 4, 6, 4: μ = 5.5. Pooled within-judge spread: deviations from each
    # judge's own mean are ±2 (J1) and ±1 (J2): σ = sqrt((4 + 4 + 1 + 1) / 4) = sqrt(2.5).
    # P1: 5.5 + sqrt(2.5) = 7.0811 → 70.811 points; P2: 5.5 − sqrt(2.5) → 39.189.
    table = {"P1": {"J1": [8], "J2": [6]}, "P2": {"J1": [4], "J2": [4]}}
    scored = by_id(score(table, aggregation=STANDARDIZED))
    sigma = 2.5**0.5
    assert scored["P1"].panel_score == pytest.approx(10 * (5.5 + sigma))
    assert scored["P2"].panel_score == pytest.approx(10 * (5.5 - sigma))
    assert scored["P1"].criteria[0].score == pytest.approx(5.5 + sigma)
    assert scored["P1"].raw_score == pytest.approx(70.0)


def test_standardized_judge_with_one_value_counts_as_average() -> None:
    # J2 gave 0.1 three times (their mean may differ from 0.1 in the last bit): z = 0 → s' = μ_c.
    table = {
        "P1": {"J1": [9], "J2": [0.1]},
        "P2": {"J1": [5], "J2": [0.1]},
        "P3": {"J1": [1], "J2": [0.1]},
    }
    scored = by_id(score(table, aggregation=STANDARDIZED))
    pooled_mean = (9 + 5 + 1 + 0.3) / 6
    # P2: J1's z is 0 too (5 is J1's mean), so both sheets sit at the pooled mean.
    assert scored["P2"].criteria[0].score == pytest.approx(pooled_mean)
    assert scored["P1"].panel_score > scored["P2"].panel_score > scored["P3"].panel_score


def test_points_mode_totals_are_plain_sums_of_points() -> None:
    # 10 + 20 + 30 = 60 points; scales 0..points. The sheet 5 + 10 + 30 = 45 of 60.
    points = (
        Criterion("a", 10.0, 0.0, 10.0),
        Criterion("b", 20.0, 0.0, 20.0),
        Criterion("c", 30.0, 0.0, 30.0),
    )
    table = {"P1": {"J1": [5, 10, 30]}}
    as_points = by_id(score(table, points, weight_mode=WeightMode.POINTS))["P1"]
    assert as_points.panel_score == pytest.approx(45.0)
    assert [c.contribution for c in as_points.criteria] == [5.0, 10.0, 30.0]
    # Relative mode reads the same weights as shares of 100: 45 / 60 · 100 = 75.
    relative = by_id(score(table, points, weight_mode=WeightMode.RELATIVE))["P1"]
    assert relative.panel_score == pytest.approx(75.0)
    assert [c.weight_share for c in relative.criteria] == pytest.approx([1 / 6, 1 / 3, 1 / 2])


def test_scale_minimum_is_subtracted() -> None:
    # A 1..5 scale: 3 is halfway, x = (3 − 1) / (5 − 1) = 0.5 → 50 points.
    p = by_id(score({"P1": {"J1": [3]}}, (Criterion("c", 1.0, 1.0, 5.0),)))["P1"]
    assert p.panel_score == pytest.approx(50.0)
    assert p.criteria[0].score == 3.0
