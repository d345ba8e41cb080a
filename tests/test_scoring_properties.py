"""Invariants of the scoring engine on random small rounds (Hypothesis)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.engine import score_proposals
from scoring.model import (
    AggregationMethod,
    ComponentKind,
    ComponentValue,
    Criterion,
    CriterionScore,
    Judge,
    Normalization,
    Outcome,
    Proposal,
    RankStability,
    ScoreComponent,
    ScoreSheet,
    ScoringPolicy,
    ScoringProblem,
    ScoringResult,
)

SETTINGS = settings(deadline=None)
MIDDLE = [3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 6.5, 7.0]
"""Scores in the middle of 0..10, so a judge's scores can be shifted and stay on the scale."""
METHODS = list(AggregationMethod)


@st.composite
def rounds(
    draw: st.DrawFn,
    methods: list[AggregationMethod] = METHODS,
    full: bool | None = None,
    components: bool = False,
    most_criteria: int = 3,
) -> ScoringProblem:
    """A random round; TRIMMED_MEAN rounds are complete designs with at least three judges."""
    method = draw(st.sampled_from(methods))
    criteria = tuple(
        Criterion(f"c{k}", draw(st.floats(0.5, 5.0)), 0.0, 10.0)
        for k in range(draw(st.integers(1, most_criteria)))
    )
    trimmed = method is AggregationMethod.TRIMMED_MEAN
    judges = tuple(Judge(f"J{k}") for k in range(draw(st.integers(3 if trimmed else 2, 5))))
    proposal_ids = [f"P{k}" for k in range(draw(st.integers(2, 6)))]
    complete = trimmed or (full if full is not None else draw(st.booleans()))
    sheets = []
    for p in proposal_ids:
        for j in judges:
            if complete or draw(st.booleans()):
                values = [draw(st.sampled_from(MIDDLE)) for _ in criteria]
                scores = tuple(
                    CriterionScore(c.criterion_id, v) for c, v in zip(criteria, values, strict=True)
                )
                sheets.append(ScoreSheet(j.judge_id, p, scores))
    policy_components: tuple[ScoreComponent, ...] = ()
    proposals = [Proposal(p) for p in proposal_ids]
    if components:
        policy_components = (
            ScoreComponent(
                "vote", weight=draw(st.floats(0.5, 3.0)), normalization=Normalization.MAX
            ),
            ScoreComponent("bonus", kind=ComponentKind.BONUS, cap=2.0),
        )
        proposals = [
            Proposal(
                p,
                component_values=(
                    ComponentValue("vote", draw(st.floats(0, 1000))),
                    ComponentValue("bonus", draw(st.floats(0, 4))),
                ),
            )
            for p in proposal_ids
        ]
    policy = ScoringPolicy(
        aggregation=method,
        trim_count=1 if trimmed else 0,
        components=policy_components,
        rank_stability=RankStability(samples=draw(st.sampled_from([0, 40]))),
    )
    return ScoringProblem(criteria, judges, tuple(proposals), tuple(sheets), policy, seed=3)


def _order_agrees(before: ScoringResult, after: ScoringResult) -> None:
    """Every pair of proposals whose final scores clearly differ keeps its order."""
    a = {p.proposal_id: p.final_score for p in before.proposals}
    b = {p.proposal_id: p.final_score for p in after.proposals}
    for p, score_p in a.items():
        for q, score_q in a.items():
            if score_p - score_q > 1e-6:
                assert b[p] - b[q] > 1e-6, (p, q, a, b)


def _permuted(problem: ScoringProblem, rng: Callable[[list[object]], None]) -> ScoringProblem:
    judges, proposals, sheets = list(problem.judges), list(problem.proposals), list(problem.sheets)
    for items in (judges, proposals, sheets):
        rng(items)  # type: ignore[arg-type]
    return dataclasses.replace(
        problem, judges=tuple(judges), proposals=tuple(proposals), sheets=tuple(sheets)
    )


@SETTINGS
@given(problem=rounds(), randoms=st.randoms(use_true_random=False))
def test_order_of_judges_proposals_and_sheets_does_not_matter(
    problem: ScoringProblem, randoms: object
) -> None:
    shuffled = _permuted(problem, randoms.shuffle)  # type: ignore[attr-defined]
    before, after = score_proposals(problem), score_proposals(shuffled)
    b = {p.proposal_id: p for p in after.proposals}
    for p in before.proposals:
        q = b[p.proposal_id]
        assert (q.rank, q.outcome, q.tied_group) == (p.rank, p.outcome, p.tied_group)
        assert q.final_score == pytest.approx(p.final_score, abs=1e-9)
        assert q.calibrated_score == pytest.approx(p.calibrated_score, abs=1e-7)
        if problem.policy.aggregation not in (
            AggregationMethod.STANDARDIZED,
            AggregationMethod.CALIBRATED,
        ):
            # Same totals bit for bit, same draws: the same intervals.
            assert q.rank_interval == p.rank_interval
    assert before.tied_groups == after.tied_groups
    leniency = {j.judge_id: j.leniency for j in after.judges}
    for j in before.judges:
        assert leniency[j.judge_id] == pytest.approx(j.leniency, abs=1e-6)


SHIFTS = st.sampled_from([-1.0, -0.5, 0.5, 1.0])


@SETTINGS
@given(
    problem=rounds([AggregationMethod.CALIBRATED], full=True), judge=st.integers(0, 4), shift=SHIFTS
)
def test_a_judges_constant_shift_does_not_change_the_calibrated_ranking(
    problem: ScoringProblem, judge: int, shift: float
) -> None:
    _check_shift(problem, judge, shift)


@SETTINGS
@given(
    problem=rounds([AggregationMethod.STANDARDIZED]),
    judge=st.integers(0, 4),
    shift=SHIFTS,
)
def test_a_judges_constant_shift_does_not_change_the_standardized_ranking(
    problem: ScoringProblem, judge: int, shift: float
) -> None:
    # Several criteria: σ_c is pooled within judges, so the shift cannot reweight criteria.
    _check_shift(problem, judge, shift)


def _check_shift(problem: ScoringProblem, judge: int, shift: float) -> None:
    judge_id = problem.judges[judge % len(problem.judges)].judge_id
    sheets = tuple(
        dataclasses.replace(
            s, scores=tuple(CriterionScore(c.criterion_id, c.value + shift) for c in s.scores)
        )
        if s.judge_id == judge_id
        else s
        for s in problem.sheets
    )
    _order_agrees(
        score_proposals(problem), score_proposals(dataclasses.replace(problem, sheets=sheets))
    )


@SETTINGS
@given(problem=rounds(), factor=st.sampled_from([0.5, 2.0, 3.7, 100.0]))
def test_scaling_every_weight_keeps_the_ranking(problem: ScoringProblem, factor: float) -> None:
    criteria = tuple(dataclasses.replace(c, weight=c.weight * factor) for c in problem.criteria)
    before = score_proposals(problem)
    after = score_proposals(dataclasses.replace(problem, criteria=criteria))
    assert [p.proposal_id for p in after.proposals] == [p.proposal_id for p in before.proposals]
    for p, q in zip(before.proposals, after.proposals, strict=True):
        assert q.final_score == pytest.approx(p.final_score, abs=1e-9)


@SETTINGS
@given(problem=rounds(components=True))
def test_contributions_add_up(problem: ScoringProblem) -> None:
    for p in score_proposals(problem).proposals:
        assert sum(c.contribution for c in p.criteria) == pytest.approx(p.panel_score, abs=1e-9)
        assert sum(c.contribution for c in p.components) == pytest.approx(p.final_score, abs=1e-9)
        assert sum(c.weight_share for c in p.components) == pytest.approx(1.0)
        if p.outcome is not Outcome.NOT_SCORED:
            assert sum(c.weight_share for c in p.criteria) == pytest.approx(1.0)


@SETTINGS
@given(problem=rounds(), k=st.integers(0, 4))
def test_rank_intervals_are_consistent(problem: ScoringProblem, k: int) -> None:
    policy = dataclasses.replace(
        problem.policy, rank_stability=RankStability(samples=60, confidence=0.8, shortlist_size=k)
    )
    result = score_proposals(dataclasses.replace(problem, policy=policy))
    intervals = [p.rank_interval for p in result.proposals if p.rank_interval is not None]
    candidates = len(intervals)
    assert candidates == sum(p.outcome is not Outcome.NOT_SCORED for p in result.proposals)
    for interval in intervals:
        assert 1 <= interval.lower <= interval.upper <= candidates
        assert 0.0 <= interval.top_k_probability <= 1.0
        # confidence 0.8: uncertain strictly between 0.1 and 0.9 (6 of 60 samples is 0.1: certain).
        assert interval.uncertain == (0.1 < interval.top_k_probability < 0.9)
    shortlist = k or sum(p.outcome is Outcome.QUALIFIED for p in result.proposals)
    # Without a pass line exactly min(K, candidates) candidates make the top K in every sample.
    total = sum(i.top_k_probability for i in intervals)
    assert total == pytest.approx(min(shortlist, candidates))


@SETTINGS
@given(problem=rounds([AggregationMethod.MEAN], full=True))
def test_complete_designs_calibrate_to_the_raw_mean(problem: ScoringProblem) -> None:
    for p in score_proposals(problem).proposals:
        assert p.calibrated_score == pytest.approx(p.raw_score, abs=1e-7)
        assert p.panel_score == p.raw_score
