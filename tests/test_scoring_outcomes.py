"""Outcomes and their reasons: not scored, ineligible, vetoed (both rules), pass line."""

from __future__ import annotations

import pytest

from scoring.model import (
    AggregationMethod,
    Criterion,
    EligibilityCheck,
    Outcome,
    Proposal,
    VetoRule,
)
from tests.scoring_builders import ONE, by_id, ranked_ids, score

VETO = (Criterion("c1", 1.0, veto_below=6.0), Criterion("c2", 1.0))


def test_aggregate_veto_compares_the_panels_criterion_score() -> None:
    # P1: c1 mean (5 + 6) / 2 = 5.5 < 6 → vetoed. P2: c1 mean exactly 6 → not below, qualified.
    table = {"P1": {"J1": [5, 9], "J2": [6, 9]}, "P2": {"J1": [6, 1], "J2": [6, 1]}}
    result = score(table, VETO)
    scored = by_id(result)
    assert scored["P1"].outcome is Outcome.VETOED
    (reason,) = scored["P1"].reasons
    assert (reason.subject_id, reason.value, reason.threshold, reason.judge_id) == (
        "c1",
        5.5,
        6.0,
        "",
    )
    assert "一票否决" in reason.message
    assert scored["P2"].outcome is Outcome.QUALIFIED
    # P1 scores higher (72.5 vs 35) but vetoed proposals rank after qualified ones.
    assert ranked_ids(result) == ["P2", "P1"]


def test_aggregate_veto_uses_the_requests_method() -> None:
    # Trimmed mean k = 1 drops J1's sheet (the lowest total): c1 = (6 + 7 + 8) / 3 = 7 ≥ 6,
    # though the plain mean (2 + 6 + 7 + 8) / 4 = 5.75 < 6.
    table = {"P1": {"J1": [2, 5], "J2": [6, 6], "J3": [7, 7], "J4": [8, 8]}}
    p = by_id(score(table, VETO, aggregation=AggregationMethod.TRIMMED_MEAN, trim_count=1))["P1"]
    assert p.outcome is Outcome.QUALIFIED


def test_any_judge_veto_names_each_judge_below_the_minimum() -> None:
    # Mean c1 is 7, but J2 gave 4 and J3 gave 5: two reasons, in judge order.
    table = {"P1": {"J1": [9, 5], "J2": [4, 5], "J3": [5, 5], "J4": [10, 5]}}
    p = by_id(score(table, VETO, veto_rule=VetoRule.ANY_JUDGE))["P1"]
    assert p.outcome is Outcome.VETOED
    assert [(r.judge_id, r.value, r.threshold) for r in p.reasons] == [
        ("J2", 4.0, 6.0),
        ("J3", 5.0, 6.0),
    ]


def test_ineligible_reason_carries_the_reviewers_words() -> None:
    checks = (
        EligibilityCheck("registered", True),
        EligibilityCheck("budget_ratio", False, "管理费超过预算的10%"),
    )
    proposals = [Proposal("P1", eligibility_checks=checks), Proposal("P2")]
    result = score({"P1": {"J1": [9]}, "P2": {"J1": [5]}}, proposals=proposals)
    p = by_id(result)["P1"]
    assert p.outcome is Outcome.INELIGIBLE
    (reason,) = p.reasons
    assert reason.subject_id == "budget_ratio"
    assert "管理费超过预算的10%" in reason.message
    assert ranked_ids(result) == ["P2", "P1"]


@pytest.mark.parametrize(
    ("score_value", "outcome"),
    [
        (7.0, Outcome.QUALIFIED),  # 70 ≥ 60
        (5.9996, Outcome.QUALIFIED),  # 59.996 rounds to 60.00 at two decimals
        (5.9994, Outcome.BELOW_PASS_LINE),  # 59.994 rounds to 59.99
    ],
)
def test_pass_line_compares_the_rounded_final_score(score_value: float, outcome: Outcome) -> None:
    p = by_id(score({"P1": {"J1": [score_value]}}, pass_line=60.0))["P1"]
    assert p.outcome is outcome
    if outcome is Outcome.BELOW_PASS_LINE:
        (reason,) = p.reasons
        assert (reason.value, reason.threshold) == (pytest.approx(59.994), 60.0)
        assert "59.99" in reason.message


def test_all_failed_rules_are_listed_and_the_first_by_precedence_wins() -> None:
    checks = (EligibilityCheck("registered", False),)
    table = {"P1": {"J1": [2, 2]}}
    p = by_id(
        score(table, VETO, proposals=[Proposal("P1", eligibility_checks=checks)], pass_line=60.0)
    )["P1"]
    assert p.outcome is Outcome.INELIGIBLE
    assert [r.outcome for r in p.reasons] == [
        Outcome.INELIGIBLE,
        Outcome.VETOED,
        Outcome.BELOW_PASS_LINE,
    ]


def test_not_scored_skips_veto_and_pass_line_but_keeps_eligibility() -> None:
    checks = (EligibilityCheck("registered", False),)
    proposals = [Proposal("P1"), Proposal("P2", eligibility_checks=checks)]
    result = score({"P1": {"J1": [8]}, "P2": {}}, ONE, proposals=proposals, pass_line=60.0)
    p = by_id(result)["P2"]
    assert p.outcome is Outcome.NOT_SCORED
    assert [r.outcome for r in p.reasons] == [Outcome.NOT_SCORED, Outcome.INELIGIBLE]
    assert (p.final_score, p.panel_score, p.raw_score, p.calibrated_score) == (0.0, 0.0, 0.0, 0.0)
    assert p.dispersion.sheets == 0
    assert p.rank == 2


HUNDRED = (Criterion("c", 1.0, 0.0, 100.0),)
"""One criterion on 0..100: the sheet total equals the score."""


@pytest.mark.parametrize(
    ("scores", "decimals", "pass_line", "outcome"),
    [
        # Mean 84.5 at 0 decimals: 四舍五入 gives 85 (half-to-even would give 84).
        ((84, 85), 0, 85.0, Outcome.QUALIFIED),
        # Mean 59.995 (computed as 59.99499999999999...) at 2 decimals publishes as 60.00.
        ((59.99, 60.0), 2, 60.0, Outcome.QUALIFIED),
        # Mean 59.994 publishes as 59.99: below.
        ((59.988, 60.0), 2, 60.0, Outcome.BELOW_PASS_LINE),
    ],
)
def test_pass_line_compares_the_score_rounded_half_up_as_published(
    scores: tuple[float, float], decimals: int, pass_line: float, outcome: Outcome
) -> None:
    table = {"P1": {"J1": [scores[0]], "J2": [scores[1]]}}
    (p,) = score(table, HUNDRED, tie_decimals=decimals, pass_line=pass_line).proposals
    assert p.outcome is outcome


def test_halves_round_up_when_ties_are_decided() -> None:
    # At 0 decimals 84.5 rounds to 85 and ties with 85.0; 84.4 rounds to 84 and does not.
    table = {"A": {"J1": [84], "J2": [85]}, "B": {"J1": [85], "J2": [85]}, "C": {"J1": [84.4]}}
    result = score(table, HUNDRED, tie_decimals=0)
    (group,) = result.tied_groups
    assert (group.score, set(group.proposal_ids)) == (85.0, {"A", "B"})
