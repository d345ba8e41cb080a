"""Bad input: every violation named by its request path and value, all reported at once."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from scoring.engine import score_proposals
from scoring.errors import InvalidProblem
from scoring.model import (
    AggregationMethod,
    ComponentKind,
    ComponentValue,
    Criterion,
    CriterionScore,
    Judge,
    Normalization,
    Proposal,
    ScoreComponent,
    ScoreSheet,
    ScoringPolicy,
    ScoringProblem,
    TieBreakKind,
    TieBreakRule,
)
from scoring.validate import MAX_VIOLATIONS, validate_problem
from tests.scoring_builders import make

TWO = (Criterion("c1", 1.0), Criterion("c2", 1.0))
VOTE = ScoreComponent("vote", weight=1.0, normalization=Normalization.NONE)
RAISED = ScoreComponent("raised", weight=1.0, normalization=Normalization.MAX)
BONUS = ScoreComponent("bonus", kind=ComponentKind.BONUS, cap=3.0)


def _base(**changes: object) -> ScoringProblem:
    """A valid problem (two criteria, J1/J2, P1/P2) with some fields replaced."""
    problem = make({"P1": {"J1": [5, 6], "J2": [7, 8]}, "P2": {"J1": [4, 4]}}, TWO)
    fields = {
        "criteria": problem.criteria,
        "judges": problem.judges,
        "proposals": problem.proposals,
        "sheets": problem.sheets,
        "policy": problem.policy,
    }
    fields.update(changes)
    return ScoringProblem(**fields)  # type: ignore[arg-type]


def _sheet(judge: str, proposal: str, *scores: tuple[str, float]) -> ScoreSheet:
    return ScoreSheet(judge, proposal, tuple(CriterionScore(c, v) for c, v in scores))


def _with_values(*values: ComponentValue) -> tuple[Proposal, ...]:
    return (Proposal("P1", component_values=values), Proposal("P2"))


def _violations(problem: ScoringProblem) -> list[tuple[str, str]]:
    with pytest.raises(InvalidProblem) as raised:
        validate_problem(problem)
    return [(v.field, v.value) for v in raised.value.violations]


CASES: list[tuple[str, Callable[[], ScoringProblem], list[tuple[str, str]]]] = [
    ("no criteria", lambda: _base(criteria=(), sheets=()), [("criteria", "[]")]),
    ("no proposals", lambda: _base(proposals=(), sheets=()), [("proposals", "[]")]),
    (
        "duplicate criterion",
        lambda: _base(criteria=(*TWO, Criterion("c1", 2.0)), sheets=()),
        [("criteria[2].criterion_id", '"c1"')],
    ),
    (
        "duplicate judge",
        lambda: _base(judges=(Judge("J1"), Judge("J2"), Judge("J1"))),
        [("judges[2].judge_id", '"J1"')],
    ),
    (
        "duplicate proposal",
        lambda: _base(proposals=(Proposal("P1"), Proposal("P2"), Proposal("P1"))),
        [("proposals[2].proposal_id", '"P1"')],
    ),
    (
        "unknown judge and proposal in one sheet",
        lambda: _base(sheets=(_sheet("JX", "PX", ("c1", 5), ("c2", 5)),)),
        [("sheets[0].judge_id", '"JX"'), ("sheets[0].proposal_id", '"PX"')],
    ),
    (
        "second sheet of the same judge and proposal",
        lambda: _base(
            sheets=(
                _sheet("J1", "P1", ("c1", 5), ("c2", 5)),
                _sheet("J1", "P1", ("c1", 6), ("c2", 6)),
            )
        ),
        [("sheets[1].proposal_id", '"P1"')],
    ),
    (
        "unknown criterion, and c2 therefore missing",
        lambda: _base(sheets=(_sheet("J1", "P1", ("c1", 5), ("cX", 5)),)),
        [("sheets[0].scores[1].criterion_id", '"cX"'), ("sheets[0].scores", '"c2"')],
    ),
    (
        "criterion scored twice",
        lambda: _base(sheets=(_sheet("J1", "P1", ("c1", 5), ("c2", 5), ("c1", 6)),)),
        [("sheets[0].scores[2].criterion_id", '"c1"')],
    ),
    (
        "missing criteria listed",
        lambda: _base(
            criteria=(*TWO, Criterion("c3", 1.0)), sheets=(_sheet("J1", "P1", ("c1", 5)),)
        ),
        [("sheets[0].scores", '"c2", "c3"')],
    ),
    (
        "scores outside the scale, in any criterion order",
        lambda: _base(sheets=(_sheet("J1", "P1", ("c2", -0.5), ("c1", 10.5)),)),
        [("sheets[0].scores[1].value", "10.5"), ("sheets[0].scores[0].value", "-0.5")],
    ),
    (
        "assignment to an unknown proposal",
        lambda: _base(judges=(Judge("J1", assigned_proposal_ids=("P1", "P9")), Judge("J2"))),
        [("judges[0].assigned_proposal_ids[1]", '"P9"')],
    ),
    (
        "unknown and repeated component values",
        lambda: _base(
            policy=ScoringPolicy(components=(VOTE,)),
            proposals=_with_values(
                ComponentValue("votes", 5.0),
                ComponentValue("vote", 5.0),
                ComponentValue("vote", 6.0),
            ),
        ),
        [
            ("proposals[0].component_values[0].component_id", '"votes"'),
            ("proposals[0].component_values[2].component_id", '"vote"'),
        ],
    ),
    (
        "NONE-normalised value above 100",
        lambda: _base(
            policy=ScoringPolicy(components=(VOTE,)),
            proposals=_with_values(ComponentValue("vote", 120.0)),
        ),
        [("proposals[0].component_values[0].value", "120.0")],
    ),
    (
        "negative value for MAX, and a negative bonus",
        lambda: _base(
            policy=ScoringPolicy(components=(RAISED, BONUS)),
            proposals=_with_values(ComponentValue("raised", -1.0), ComponentValue("bonus", -2.0)),
        ),
        [
            ("proposals[0].component_values[0].value", "-1.0"),
            ("proposals[0].component_values[1].value", "-2.0"),
        ],
    ),
    (
        "money above 100 for NONE is named by amount_fen",
        lambda: _base(
            policy=ScoringPolicy(components=(VOTE,)),
            proposals=_with_values(ComponentValue("vote", amount_fen=12_000)),
        ),
        [("proposals[0].component_values[0].amount_fen", "12000")],
    ),
    (
        "tie-break on an unknown criterion",
        lambda: _base(
            policy=ScoringPolicy(tie_break_rules=(TieBreakRule(TieBreakKind.CRITERION, "cX"),))
        ),
        [("policy.tie_break_rules[0].criterion_id", '"cX"')],
    ),
]


@pytest.mark.parametrize(("name", "build", "expected"), CASES, ids=[c[0] for c in CASES])
def test_violation_paths_and_values(
    name: str, build: Callable[[], ScoringProblem], expected: list[tuple[str, str]]
) -> None:
    assert _violations(build()) == expected


def test_descriptions_say_how_to_fix() -> None:
    problem = _base(
        sheets=(_sheet("J1", "P1", ("c1", 5), ("c2", 5)), _sheet("J1", "P1", ("c1", 6), ("c2", 6)))
    )
    with pytest.raises(InvalidProblem) as raised:
        validate_problem(problem)
    (violation,) = raised.value.violations
    assert "sheets[0]" in violation.description
    assert "keep one sheet" in violation.description


def test_trimmed_mean_with_too_few_sheets_names_each_proposal() -> None:
    # P1 has 2 valid sheets, P2 one; k = 1 leaves none. P3 has no sheet at all: not an error.
    problem = make(
        {"P7": {"J1": [5], "J2": [6]}, "P2": {"J1": [5]}, "P3": {}},
        aggregation=AggregationMethod.TRIMMED_MEAN,
        trim_count=1,
    )
    with pytest.raises(InvalidProblem) as raised:
        score_proposals(problem)
    violations = raised.value.violations
    assert [(v.field, v.value) for v in violations] == [
        ("policy.trim_count", "1"),
        ("policy.trim_count", "1"),
    ]
    assert violations[0].description == (
        'proposal "P7" has 2 valid sheets; dropping the 1 highest and 1 lowest leaves none — '
        "lower trim_count or use MEDIAN"
    )
    assert 'proposal "P2" has 1 valid sheet;' in violations[1].description


def test_trimmed_mean_counts_sheets_after_recusal() -> None:
    # Three sheets would do for k = 1, but J3 is recused from ORG-A's proposal.
    judges = [Judge("J1"), Judge("J2"), Judge("J3", conflict_organization_ids=("ORG-A",))]
    problem = make(
        {"P1": {"J1": [5], "J2": [6], "J3": [7]}},
        judges=judges,
        proposals=[Proposal("P1", organization_id="ORG-A")],
        aggregation=AggregationMethod.TRIMMED_MEAN,
        trim_count=1,
    )
    assert _violations(problem) == [("policy.trim_count", "1")]


def test_every_violation_is_reported_together_in_request_order() -> None:
    problem = _base(
        judges=(Judge("J1"), Judge("J1"), Judge("J2")),
        sheets=(_sheet("JX", "P1", ("c1", 11.0), ("c2", 5)),),
        policy=ScoringPolicy(tie_break_rules=(TieBreakRule(TieBreakKind.CRITERION, "cX"),)),
    )
    assert _violations(problem) == [
        ("judges[1].judge_id", '"J1"'),
        ("sheets[0].judge_id", '"JX"'),
        ("sheets[0].scores[0].value", "11.0"),
        ("policy.tie_break_rules[0].criterion_id", '"cX"'),
    ]


def test_violations_are_capped() -> None:
    sheets = tuple(_sheet(f"J{k}", "P1", ("c1", 5), ("c2", 5)) for k in range(150))
    assert len(_violations(_base(sheets=sheets))) == MAX_VIOLATIONS


def test_valid_problem_passes() -> None:
    assert validate_problem(_base()) is None


@pytest.mark.parametrize(
    ("value", "shown"),
    [(math.nan, "NaN"), (math.inf, "Infinity"), (-math.inf, "-Infinity")],
)
def test_non_finite_scores_are_refused_on_construction(value: float, shown: str) -> None:
    with pytest.raises(InvalidProblem) as raised:
        CriterionScore("c1", value)
    assert [(v.field, v.value) for v in raised.value.violations] == [("value", shown)]


@pytest.mark.parametrize(("weight", "shown"), [(0.0, "0.0"), (-2.0, "-2.0"), (math.nan, "NaN")])
def test_non_positive_weights_are_refused_on_construction(weight: float, shown: str) -> None:
    with pytest.raises(InvalidProblem) as raised:
        Criterion("c1", weight)
    assert [(v.field, v.value) for v in raised.value.violations] == [("weight", shown)]


def test_numbers_too_large_for_the_arithmetic_are_refused() -> None:
    # Found by tests/test_fuzz.py: a criterion worth 1e300 points, or a component value of
    # 1.8e308, overflowed the engine's arithmetic (INTERNAL under warnings-as-errors, inf or NaN
    # scores otherwise).
    problem = _base(
        criteria=(Criterion("c1", 1e300), Criterion("c2", 1.0, scale_min=-1e13)),
        proposals=_with_values(ComponentValue("raised", 1.7976931348623157e308)),
        policy=ScoringPolicy(panel_weight=1e13, components=(RAISED,)),
    )
    assert _violations(problem) == [
        ("policy.panel_weight", "10000000000000.0"),
        ("criteria[0].weight", "1e+300"),
        ("criteria[1].scale_min", "-10000000000000.0"),
        ("proposals[0].component_values[0].value", "1.7976931348623157e+308"),
    ]


def test_numbers_up_to_a_trillion_pass() -> None:
    big = ScoreComponent("raised", weight=1e12, normalization=Normalization.MAX, cap=1e12)
    problem = _base(
        criteria=(Criterion("c1", 1e12, scale_min=-1e12, scale_max=1e12), TWO[1]),
        proposals=_with_values(ComponentValue("raised", 1e12)),
        policy=ScoringPolicy(panel_weight=1e12, components=(big,)),
    )
    assert validate_problem(problem) is None
    assert score_proposals(problem).proposals
