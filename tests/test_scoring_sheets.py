"""Recusals (回避), missing sheets and sheets outside an assignment."""

from __future__ import annotations

import math

import pytest

from scoring.model import (
    CriterionScore,
    Judge,
    MissingSheet,
    Outcome,
    Proposal,
    Recusal,
    ScoreSheet,
    ScoringResult,
)
from scoring.sheets import UNASSIGNED_SHEET, read_scores
from tests.scoring_builders import by_id, score

PROPOSALS = [
    Proposal("P1", organization_id="ORG-A"),
    Proposal("P2", organization_id="ORG-B"),
    Proposal("P3", organization_id="ORG-C"),
]


def _round() -> ScoringResult:
    # J1: conflict with ORG-B, assigned everything; sent P1 and (recused) P2.
    # J2: assigned P1 and P3; sent P1 and P2 (P2 is outside the assignment but counted).
    # J3: conflict with ORG-C, assigned everything; sent only P1.
    judges = [
        Judge("J1", conflict_organization_ids=("ORG-B",)),
        Judge("J2", assigned_proposal_ids=("P1", "P3")),
        Judge("J3", conflict_organization_ids=("ORG-C", "")),
    ]
    table = {"P1": {"J1": [8], "J2": [6], "J3": [7]}, "P2": {"J1": [2], "J2": [9]}}
    return score(table, judges=judges, proposals=PROPOSALS)


def test_recusals_are_reported_and_their_sheets_discarded() -> None:
    result = _round()
    assert result.recusals == (
        Recusal("J1", "P2", "ORG-B", sheet_discarded=True),
        Recusal("J3", "P3", "ORG-C", sheet_discarded=False),
    )
    p2 = by_id(result)["P2"]
    # Only J2's 90 counts; J1's discarded 20 is nowhere.
    assert p2.panel_score == pytest.approx(90.0)
    assert p2.dispersion.sheets == 1
    assert p2.dispersion.counted_judge_ids == ("J2",)


def test_missing_sheets_by_judge_then_proposal_order() -> None:
    result = _round()
    assert result.missing_sheets == (
        MissingSheet("J1", "P3"),
        MissingSheet("J2", "P3"),
        MissingSheet("J3", "P2"),
    )


def test_judge_counts_of_sheets_missing_and_recused() -> None:
    reports = {j.judge_id: j for j in _round().judges}
    assert [(r.sheets, r.missing, r.recused) for r in reports.values()] == [
        (1, 1, 1),
        (2, 1, 0),
        (1, 1, 1),
    ]


def test_sheet_outside_the_assignment_is_counted_with_a_notice() -> None:
    result = _round()
    (notice,) = [n for n in result.notices if n.code == UNASSIGNED_SHEET]
    assert notice.subject_ids == ("J2", "P2")
    assert '"J2"' in notice.message


def test_recusal_of_every_judge_leaves_the_proposal_unscored() -> None:
    judges = [Judge("J1", conflict_organization_ids=("ORG-A",))]
    result = score({"P1": {"J1": [8]}, "P2": {"J1": [7]}}, judges=judges, proposals=PROPOSALS[:2])
    assert by_id(result)["P1"].outcome is Outcome.NOT_SCORED
    assert result.recusals == (Recusal("J1", "P1", "ORG-A", sheet_discarded=True),)


def test_empty_organization_never_recuses() -> None:
    judges = [Judge("J1", conflict_organization_ids=("",))]
    result = score({"P1": {"J1": [8]}}, judges=judges, proposals=[Proposal("P1")])
    assert result.recusals == ()
    assert by_id(result)["P1"].outcome is Outcome.QUALIFIED


def test_score_matrix_reads_sheets_in_rubric_order_and_out_of_it_alike() -> None:
    a, b = CriterionScore("a", 1.0), CriterionScore("b", 2.0)
    in_order = (ScoreSheet("J1", "P1", (a, b)), ScoreSheet("J2", "P1", (a, b)))
    matrix = read_scores(in_order, ("a", "b"))
    assert matrix.values.tolist() == [[1.0, 2.0], [1.0, 2.0]]
    assert matrix.regular.tolist() == [True, True]
    # Flattened these read "a b a b" as well: only the per-sheet lengths tell them apart.
    uneven = (ScoreSheet("J1", "P1", (a,)), ScoreSheet("J2", "P1", (b, a, b)))
    matrix = read_scores(uneven, ("a", "b"))
    assert matrix.regular.tolist() == [False, False]
    assert matrix.values[0, 0] == 1.0 and math.isnan(matrix.values[0, 1])
    assert matrix.values[1].tolist() == [1.0, 2.0]
