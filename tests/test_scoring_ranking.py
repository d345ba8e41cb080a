"""Ranking order, every tie-break rule, tied groups and the rule that resolved them."""

from __future__ import annotations

from datetime import UTC, datetime

from scoring.model import (
    Criterion,
    EligibilityCheck,
    Proposal,
    TieBreakKind,
    TieBreakRule,
)
from tests.scoring_builders import by_id, ranked_ids, score

RAW_SUM = TieBreakRule(TieBreakKind.RAW_SCORE_SUM)
SUBMIT = TieBreakRule(TieBreakKind.SUBMIT_TIME)
EQUAL = (Criterion("c1", 1.0), Criterion("c2", 1.0))
HUNDRED = (Criterion("c", 1.0, 0.0, 100.0),)
"""One criterion on 0..100: the total equals the score."""


def test_higher_final_score_ranks_first_and_ranks_are_positions() -> None:
    result = score({"P1": {"J1": [5]}, "P2": {"J1": [9]}, "P3": {"J1": [7]}})
    assert ranked_ids(result) == ["P2", "P3", "P1"]
    assert [p.rank for p in result.proposals] == [1, 2, 3]
    assert result.tied_groups == ()
    assert all(p.tied_group == 0 for p in result.proposals)


def test_raw_score_sum_favours_the_proposal_with_more_sheets() -> None:
    # Both means are 70; sums 210 (three sheets) and 140 (two).
    table = {"P2": {"J1": [7], "J2": [7]}, "P1": {"J1": [7], "J2": [7], "J3": [7]}}
    result = score(table)
    assert ranked_ids(result) == ["P1", "P2"]
    (group,) = result.tied_groups
    assert (group.score, group.proposal_ids, group.resolved_by) == (
        70.0,
        ("P1", "P2"),
        TieBreakKind.RAW_SCORE_SUM,
    )
    assert [p.tied_group for p in result.proposals] == [1, 1]


def test_criterion_rule_compares_the_named_criterion() -> None:
    # Equal weights: (8, 6) and (6, 8) both total 70 and have equal raw sums.
    table = {"P1": {"J1": [8, 6]}, "P2": {"J1": [6, 8]}}
    rule = TieBreakRule(TieBreakKind.CRITERION, "c2")
    result = score(table, EQUAL, tie_break_rules=(RAW_SUM, rule))
    assert ranked_ids(result) == ["P2", "P1"]
    (group,) = result.tied_groups
    assert (group.resolved_by, group.criterion_id) == (TieBreakKind.CRITERION, "c2")
    on_c1 = score(table, EQUAL, tie_break_rules=(TieBreakRule(TieBreakKind.CRITERION, "c1"),))
    assert ranked_ids(on_c1) == ["P1", "P2"]


def test_submit_time_earlier_first_and_missing_last() -> None:
    proposals = [
        Proposal("P1"),  # no time: last
        Proposal("P2", submit_time=datetime(2026, 3, 2, 9, 0, tzinfo=UTC)),
        # A time without a zone is read as UTC: 08:59 UTC, a minute before P2.
        Proposal("P3", submit_time=datetime(2026, 3, 2, 8, 59)),
    ]
    table = {p.proposal_id: {"J1": [7]} for p in proposals}
    result = score(table, proposals=proposals, tie_break_rules=(SUBMIT,))
    assert ranked_ids(result) == ["P3", "P2", "P1"]
    assert result.tied_groups[0].resolved_by is TieBreakKind.SUBMIT_TIME


def test_proposal_id_is_always_the_last_rule() -> None:
    table = {"P2": {"J1": [7]}, "P10": {"J1": [7]}, "P1": {"J1": [7]}}
    result = score(table)
    assert ranked_ids(result) == ["P1", "P10", "P2"]  # string order
    assert result.tied_groups[0].resolved_by is TieBreakKind.PROPOSAL_ID


def test_resolved_by_is_the_deepest_rule_any_adjacent_pair_needed() -> None:
    # A: sum 210 beats B and C (140 each) on raw sum; B and C need the submit time.
    proposals = [
        Proposal("C", submit_time=datetime(2026, 3, 3, tzinfo=UTC)),
        Proposal("B", submit_time=datetime(2026, 3, 1, tzinfo=UTC)),
        Proposal("A"),
    ]
    table = {
        "C": {"J1": [7], "J2": [7]},
        "B": {"J1": [7], "J2": [7]},
        "A": {"J1": [7], "J2": [7], "J3": [7]},
    }
    result = score(table, proposals=proposals, tie_break_rules=(RAW_SUM, SUBMIT))
    (group,) = result.tied_groups
    assert group.proposal_ids == ("A", "B", "C")
    assert group.resolved_by is TieBreakKind.SUBMIT_TIME


def test_ties_are_judged_at_tie_decimals() -> None:
    table = {"P2": {"J1": [69.996]}, "P1": {"J1": [70.004]}}
    two = score(table, HUNDRED)  # both 70.00: tied, P1's larger raw sum decides
    (group,) = two.tied_groups
    assert (group.score, group.proposal_ids, group.resolved_by) == (
        70.0,
        ("P1", "P2"),
        TieBreakKind.RAW_SCORE_SUM,
    )
    three = score(table, HUNDRED, tie_decimals=3)  # 70.004 vs 69.996: no tie
    assert three.tied_groups == ()
    assert ranked_ids(three) == ["P1", "P2"]


def test_floating_point_noise_never_breaks_a_tie() -> None:
    # Thirds: (0.1, 0.1, 0.7) and (0.7, 0.1, 0.1) both total 3 points, but summed in another
    # order they differ in the last bit; keys compared at 9 decimals still tie.
    thirds = tuple(Criterion(f"c{k}", 1.0) for k in range(3))
    result = score({"P2": {"J1": [0.1, 0.1, 0.7]}, "P1": {"J1": [0.7, 0.1, 0.1]}}, thirds)
    finals = [p.final_score for p in result.proposals]
    assert finals[0] != finals[1]
    assert ranked_ids(result) == ["P1", "P2"]
    assert result.tied_groups[0].resolved_by is TieBreakKind.PROPOSAL_ID


def test_ties_do_not_span_qualified_and_other_proposals() -> None:
    failed = (EligibilityCheck("registered", False),)
    proposals = [Proposal("P1", eligibility_checks=failed), Proposal("P2"), Proposal("P3")]
    table = {"P1": {"J1": [7]}, "P2": {"J1": [7]}, "P3": {"J1": [9]}}
    result = score(table, proposals=proposals)
    assert ranked_ids(result) == ["P3", "P2", "P1"]
    assert result.tied_groups == ()


def test_groups_are_numbered_by_best_rank() -> None:
    table = {
        "P1": {"J1": [5]},
        "P2": {"J1": [5]},
        "P3": {"J1": [9]},
        "P4": {"J1": [9]},
        "P5": {"J1": [7]},
    }
    result = score(table)
    assert [g.proposal_ids for g in result.tied_groups] == [("P3", "P4"), ("P1", "P2")]
    groups = {p.proposal_id: p.tied_group for p in result.proposals}
    assert groups == {"P3": 1, "P4": 1, "P5": 0, "P1": 2, "P2": 2}


def test_unscored_proposals_are_ordered_but_not_reported_as_tied() -> None:
    result = score({"P1": {"J1": [7]}, "P3": {}, "P2": {}})
    assert ranked_ids(result) == ["P1", "P2", "P3"]
    assert result.tied_groups == ()
    assert by_id(result)["P2"].tied_group == 0
