"""Rank stability: intervals, P(top K), candidates, determinism, and the resampling shortcuts."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from scoring import bootstrap
from scoring.aggregate import window
from scoring.arrays import half_up
from scoring.model import (
    AggregationMethod,
    Criterion,
    EligibilityCheck,
    Proposal,
    RankStability,
    ScoringResult,
)
from tests.scoring_builders import by_id, make, score

CLOSE = {
    "P1": {"J1": [8], "J2": [6], "J3": [7], "J4": [9], "J5": [5]},
    "P2": {"J1": [7], "J2": [7], "J3": [8], "J4": [6], "J5": [7]},
    "P3": {"J1": [3], "J2": [2], "J3": [4], "J4": [3], "J5": [2]},
}


def _intervals(result: ScoringResult) -> dict[str, tuple[int, int, float, bool] | None]:
    return {
        p.proposal_id: None
        if p.rank_interval is None
        else (
            p.rank_interval.lower,
            p.rank_interval.upper,
            p.rank_interval.top_k_probability,
            p.rank_interval.uncertain,
        )
        for p in result.proposals
    }


def test_no_samples_no_intervals_and_no_stage() -> None:
    result = score(CLOSE, samples=0)
    assert all(p.rank_interval is None for p in result.proposals)
    assert "bootstrap" not in [t.stage for t in result.timings]


def test_unanimous_panels_give_exact_ranks() -> None:
    table = {p: {f"J{j}": [v] for j in range(5)} for p, v in (("P1", 9), ("P2", 7), ("P3", 5))}
    stability = RankStability(samples=300, confidence=0.9, shortlist_size=2)
    result = score(table, rank_stability=stability)
    assert _intervals(result) == {
        "P1": (1, 1, 1.0, False),
        "P2": (2, 2, 1.0, False),
        "P3": (3, 3, 0.0, False),
    }
    interval = by_id(result)["P1"].rank_interval
    assert interval is not None
    assert (interval.confidence, interval.shortlist_size) == (0.9, 2)


def test_close_proposals_are_uncertain_and_top_k_probabilities_sum_to_k() -> None:
    result = score(CLOSE, rank_stability=RankStability(samples=2000, shortlist_size=1))
    got = _intervals(result)
    p1, p2 = got["P1"], got["P2"]
    assert p1 is not None and p2 is not None
    # Means 70 and 70: whichever ranks first varies from sample to sample.
    assert (p1[0], p1[1], p2[0], p2[1]) == (1, 2, 1, 2)
    assert p1[3] and p2[3]
    # Exactly one candidate ranks first in every sample (no pass line).
    assert p1[2] + p2[2] == pytest.approx(1.0)
    assert got["P3"] == (3, 3, 0.0, False)


def test_shortlist_defaults_to_the_number_qualified_and_needs_the_pass_line() -> None:
    # P3 (mean 28) is below the pass line: a candidate with an interval, never in the top K.
    result = score(CLOSE, samples=500, pass_line=50.0)
    got = _intervals(result)
    interval = by_id(result)["P1"].rank_interval
    assert interval is not None and interval.shortlist_size == 2
    assert got["P3"] == (3, 3, 0.0, False)
    assert got["P1"] is not None and got["P1"][2] > 0.9


def test_only_scored_eligible_unvetoed_proposals_are_candidates() -> None:
    failed = (EligibilityCheck("registered", False),)
    criteria = (Criterion("c", 1.0, veto_below=3.0),)
    table = {**CLOSE, "P4": {"J1": [9]}, "P5": {}}
    proposals = [Proposal(p) for p in ("P1", "P2", "P3")] + [
        Proposal("P4", eligibility_checks=failed),
        Proposal("P5"),
    ]
    result = score(table, criteria, proposals=proposals, samples=200)
    got = _intervals(result)
    assert got["P3"] is None  # vetoed: c mean 2.8 < 3
    assert got["P4"] is None  # ineligible
    assert got["P5"] is None  # not scored
    assert got["P1"] is not None and got["P1"][1] <= 2  # ranks count candidates only


def test_same_seed_same_intervals() -> None:
    first = score(CLOSE, samples=500, seed=11)
    again = score(CLOSE, samples=500, seed=11)
    assert _intervals(first) == _intervals(again)


WINDOWS = [
    (n, method, trim)
    for n in (2, 3, 4, 5)
    for method, trim in (
        (AggregationMethod.MEAN, 0),
        (AggregationMethod.MEDIAN, 0),
        (AggregationMethod.TRIMMED_MEAN, 1),
    )
    if n - 2 * trim >= 1  # trimming 1 at each end needs 3 sheets
]


@pytest.mark.parametrize(("n", "method", "trim"), WINDOWS)
def test_multiset_table_equals_resampling_the_sheets_directly(
    n: int, method: AggregationMethod, trim: int
) -> None:
    # Every u < n^n stands for n draws (its base-n digits): the table's statistic must equal the
    # statistic of those draws, computed the slow way. product() lists the digit tuples in
    # u order (most significant first); the multiset does not depend on the digits' order.
    start, stop = (int(x[0]) for x in window(np.array([n]), method, trim))
    totals = np.sort(np.random.default_rng(n).uniform(0, 100, size=n))
    multiset_of, _ = bootstrap._multisets(n)
    fast = totals @ bootstrap._window_weights(n, start, stop)
    for u, digits in enumerate(itertools.product(range(n), repeat=n)):
        drawn = np.sort(totals[list(digits)])
        assert fast[multiset_of[u]] == pytest.approx(drawn[start:stop].mean(), abs=1e-9)


def test_large_panels_resample_directly() -> None:
    # Eight sheets each (above the table's 7): the direct path, trimmed by 2 at each end.
    table = {p: {f"J{j}": [v + (j % 3) * 0.5] for j in range(8)} for p, v in (("P1", 9), ("P2", 4))}
    result = score(table, samples=300, aggregation=AggregationMethod.TRIMMED_MEAN, trim_count=2)
    assert _intervals(result) == {"P1": (1, 1, 1.0, False), "P2": (2, 2, 1.0, False)}


def test_float_keys_give_the_same_ranks_as_16_bit_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    problem = make(CLOSE, rank_stability=RankStability(samples=400, shortlist_size=1))
    from scoring.engine import score_proposals

    fast = score_proposals(problem)
    original = bootstrap._keys

    def wide(*args: object) -> bootstrap._Keys:
        return dataclasses.replace(original(*args), small=False)  # type: ignore[arg-type]

    monkeypatch.setattr(bootstrap, "_keys", wide)
    assert _intervals(score_proposals(problem)) == _intervals(fast)


def test_interval_bounds_match_numpy_quantiles() -> None:
    ranks = np.random.default_rng(5).integers(1, 40, size=(999, 30)).astype(np.uint16)
    for confidence in (0.5, 0.8, 0.9, 0.95):
        lower, upper = bootstrap._interval_bounds(ranks.copy(), confidence)
        low_q, high_q = (1 - confidence) / 2, (1 + confidence) / 2
        assert lower.tolist() == np.quantile(ranks, low_q, axis=0, method="lower").tolist()
        assert upper.tolist() == np.quantile(ranks, high_q, axis=0, method="higher").tolist()


@pytest.mark.parametrize("count", [1, 2, 23, bootstrap.SHORT_ROWS])
@pytest.mark.parametrize("pass_line", [None, 60.0])
def test_place_counts_and_hits_match_the_rank_table(count: int, pass_line: float | None) -> None:
    # Few distinct keys, so most samples have ties: those keep the columns' order.
    gaps = np.random.default_rng(count).integers(0, 5, size=(count, 700)).astype(np.uint16)
    keys = bootstrap._Keys(100.0, 1.0, True, pass_line, 2)
    ranks = np.empty((700, count), dtype=np.uint16)
    hits = np.zeros(count, dtype=np.int64)
    bootstrap._rank(gaps, keys, ranks, hits, 3)
    places = np.zeros((count, count), dtype=np.int64)
    counted = np.zeros(count, dtype=np.int64)
    bootstrap._count_places(gaps, keys, places, counted, 3)
    expected = np.zeros((count, count), dtype=np.int64)
    np.add.at(expected, (np.tile(np.arange(count), 700), ranks.ravel() - 1), 1)
    assert places.tolist() == expected.tolist()
    assert counted.tolist() == hits.tolist()
    for confidence in (0.5, 0.9):
        by_places = bootstrap._place_bounds(places, 700, confidence)
        by_ranks = bootstrap._interval_bounds(ranks, confidence)
        assert by_places[0].tolist() == by_ranks[0].tolist()
        assert by_places[1].tolist() == by_ranks[1].tolist()


def test_few_candidates_give_the_intervals_of_the_rank_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    problem = make(CLOSE, rank_stability=RankStability(samples=500, shortlist_size=2))
    from scoring.engine import score_proposals

    counted = _intervals(score_proposals(problem))
    monkeypatch.setattr(bootstrap, "SHORT_ROWS", 0)
    assert _intervals(score_proposals(problem)) == counted


def test_passing_gap_is_the_last_gap_whose_final_reaches_the_pass_line() -> None:
    rng = np.random.default_rng(3)
    gaps = np.arange(2**16, dtype=np.float64)
    for _ in range(300):
        scale = 10.0 ** int(rng.integers(0, 4))
        top = float(rng.integers(0, 150_000))
        pass_line = float(rng.choice([rng.uniform(-100, 1500), round(top / scale - 3.005, 2)]))
        reached = (top - gaps) / scale >= pass_line
        assert bootstrap._passing_gap(top, scale, pass_line) == np.count_nonzero(reached) - 1


@pytest.mark.parametrize("n", [1, 2, 4, 6, 7, 9])
@pytest.mark.parametrize("width", [5, 3000])
def test_keys_of_every_multiset_or_of_every_sample_are_the_same_keys(n: int, width: int) -> None:
    # With fewer samples than multisets the drawn panel scores are mapped to keys; with more,
    # every multiset's score is, and the samples pick theirs: the same keys either way.
    totals = np.sort(np.random.default_rng(n).uniform(0, 100, size=(3, n)), axis=1)
    start, stop = (int(x[0]) for x in window(np.array([n]), AggregationMethod.TRIMMED_MEAN, 0))

    def gap(panel: np.ndarray) -> np.ndarray:
        panel *= 7.3
        return np.floor(panel)

    def identity(panel: np.ndarray) -> np.ndarray:
        return panel

    keys = bootstrap._sample_gaps(totals, start, stop, width, np.random.default_rng(1), gap)
    panels = bootstrap._sample_gaps(totals, start, stop, width, np.random.default_rng(1), identity)
    assert keys.shape == (3, width)
    assert keys.tolist() == gap(panels.copy()).tolist()


def test_passing_gap_with_pass_lines_beyond_every_final() -> None:
    assert bootstrap._passing_gap(9682.0, 100.0, -1e308) == 2**16 - 1
    assert bootstrap._passing_gap(9682.0, 1e4, 1e308) == -1


@pytest.mark.parametrize("decimals", [0, 2, 4])
def test_rounding_known_positive_values_is_half_up(decimals: int) -> None:
    # Whole numbers, halves, values a hair below a half, and random ones, all positive.
    rng = np.random.default_rng(decimals)
    whole = rng.integers(1, 100_000, size=2000).astype(np.float64)
    tiny = 10.0 ** (decimals - 9)
    near_half = (whole + 0.5 - tiny / 2, whole + 0.5 - tiny * 3)
    scaled = np.concatenate((whole, whole + 0.5, *near_half, whole + rng.random(2000)))
    expected = half_up(scaled.copy(), decimals)
    got = bootstrap._half_up_in_place(scaled.copy(), decimals, positive=True)
    assert got.tobytes() == expected.tobytes()
