"""ScoreProposalsRequest -> ScoringProblem: documented defaults and collected field violations."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from scoring import model as m
from scoring.errors import Violations
from service.convert.common import options_from_pb
from service.convert.scoring import problem_from_pb
from tests.helpers import small_request
from venture.v1 import scoring_pb2


def _convert(
    request: scoring_pb2.ScoreProposalsRequest,
) -> tuple[m.ScoringProblem | None, list[tuple[str, str]]]:
    violations = Violations()
    problem = problem_from_pb(request, 0, violations)
    return problem, [(v.field, v.value) for v in violations]


def test_zero_values_take_the_documented_defaults() -> None:
    problem, violations = _convert(small_request())
    assert problem is not None and not violations
    policy = problem.policy
    assert policy.aggregation is m.AggregationMethod.MEAN
    assert policy.weight_mode is m.WeightMode.RELATIVE
    assert policy.veto_rule is m.VetoRule.AGGREGATE
    assert policy.tie_break_rules == m.DEFAULT_TIE_BREAK
    assert (policy.tie_decimals, policy.outlier_threshold, policy.pass_line) == (2, 3.0, None)
    assert policy.rank_stability == m.RankStability(samples=200, confidence=0.9, shortlist_size=0)


def test_unset_samples_mean_1000_and_zero_turns_the_bootstrap_off() -> None:
    request = small_request()
    request.policy.rank_stability.ClearField("samples")
    problem, _ = _convert(request)
    assert problem is not None and problem.policy.rank_stability.samples == 1000
    request.policy.rank_stability.samples = 0
    problem, _ = _convert(request)
    assert problem is not None and problem.policy.rank_stability.samples == 0


def test_points_mode_scale_defaults_to_the_points() -> None:
    request = small_request()
    request.policy.weight_mode = scoring_pb2.WEIGHT_MODE_POINTS
    request.criteria[0].weight = 30
    request.criteria[0].scale_max = 0
    problem, _ = _convert(request)
    assert problem is not None
    assert (problem.criteria[0].scale_min, problem.criteria[0].scale_max) == (0, 30)


def test_relative_mode_scale_defaults_to_ten() -> None:
    request = small_request()
    request.criteria[1].scale_max = 0
    problem, _ = _convert(request)
    assert problem is not None and problem.criteria[1].scale_max == 10


def test_trimmed_mean_defaults_to_dropping_one_each_side() -> None:
    request = small_request()
    request.policy.aggregation = scoring_pb2.AGGREGATION_METHOD_TRIMMED_MEAN
    problem, _ = _convert(request)
    assert problem is not None and problem.policy.trim_count == 1


def test_optional_fields_keep_their_presence() -> None:
    request = small_request()
    request.policy.pass_line = 0.0  # an explicit pass line of zero is still a pass line
    request.policy.tie_decimals = 0
    request.criteria[0].veto_below = 3
    request.proposals[0].submit_time.FromDatetime(datetime(2026, 10, 1, 8, 30, tzinfo=UTC))
    value = request.proposals[0].component_values.add(
        component_id="donations", amount_fen=1_250_000
    )
    assert value.WhichOneof("kind") == "amount_fen"
    request.policy.panel_weight = 4
    request.policy.components.add(
        component_id="donations", weight=1, normalization=scoring_pb2.NORMALIZATION_MAX
    )
    problem, violations = _convert(request)
    assert problem is not None, violations
    assert (problem.policy.pass_line, problem.policy.tie_decimals) == (0.0, 0)
    assert problem.criteria[0].veto_below == 3
    assert problem.proposals[0].submit_time == datetime(2026, 10, 1, 8, 30, tzinfo=UTC)
    assert problem.proposals[0].component_values[0] == m.ComponentValue(
        "donations", amount_fen=1_250_000
    )


def test_weighted_components_need_an_explicit_panel_weight() -> None:
    request = small_request()
    request.policy.components.add(
        component_id="vote", weight=20, normalization=scoring_pb2.NORMALIZATION_MAX
    )
    _, violations = _convert(request)
    assert ("policy.panel_weight", "0.0") in violations


def test_every_violation_is_collected_with_its_path() -> None:
    request = small_request()
    request.criteria[0].weight = math.nan
    request.criteria[1].scale_min = 10  # scale_max is 10 too: empty scale
    request.judges[2].judge_id = ""
    request.sheets[5].scores[0].value = -math.inf
    request.proposals[1].eligibility_checks.add(check_id="")
    request.policy.tie_break_rules.add()  # kind left unspecified
    request.policy.components.add(component_id="panel", weight=1)
    request.policy.rank_stability.confidence = 1.5
    _, violations = _convert(request)
    assert set(violations) >= {
        ("criteria[0].weight", "NaN"),
        ("criteria[1].scale_max", "10.0"),
        ("judges[2].judge_id", '""'),
        ("sheets[5].scores[0].value", "-Infinity"),
        ("proposals[1].eligibility_checks[0].check_id", '""'),
        ("policy.tie_break_rules[0].kind", "0"),
        ("policy.components[0].component_id", '"panel"'),
        ("policy.rank_stability.confidence", "1.5"),
    }


@pytest.mark.parametrize(
    ("field", "number"),
    [("aggregation", 42), ("weight_mode", 7), ("veto_rule", 9)],
)
def test_unknown_enum_numbers_are_violations(field: str, number: int) -> None:
    request = small_request()
    setattr(request.policy, field, number)
    _, violations = _convert(request)
    assert (f"policy.{field}", str(number)) in violations


def test_options_apply_defaults_and_reject_negatives() -> None:
    violations = Violations()
    request = small_request()
    request.options.time_limit.FromSeconds(-1)
    request.options.top_k = -3
    options_from_pb(request.options, violations)
    assert {v.field for v in violations} == {"options.time_limit", "options.top_k"}
    fine = options_from_pb(small_request().options, Violations())
    assert (fine.time_limit_s, fine.top_k, fine.seed, fine.validate_only) == (None, 5, 0, False)


@pytest.mark.parametrize(
    ("seconds", "nanos"),
    [(0, -1), (1_700_000_000, 1_000_000_000), (253_402_300_800, 0), (-62_135_596_801, 0)],
)
def test_a_submit_time_outside_the_timestamp_range_is_a_violation(seconds: int, nanos: int) -> None:
    # Found by tests/test_fuzz.py: such a timestamp crashed the conversion (INTERNAL).
    request = small_request()
    request.proposals[1].submit_time.seconds = seconds
    request.proposals[1].submit_time.nanos = nanos
    problem, violations = _convert(request)
    assert problem is None
    assert violations == [("proposals[1].submit_time", f"{{seconds: {seconds}, nanos: {nanos}}}")]


def test_the_last_valid_timestamp_converts() -> None:
    request = small_request()
    request.proposals[0].submit_time.seconds = 253_402_300_799
    request.proposals[0].submit_time.nanos = 999_999_999
    problem, violations = _convert(request)
    assert problem is not None, violations
    assert problem.proposals[0].submit_time == datetime(
        9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC
    )


def test_sheets_convert_to_the_scores_given_with_equal_scores_shared() -> None:
    request = small_request()
    request.sheets[0].scores[0].value = -0.0  # a zero keeps its sign
    request.sheets[1].scores[0].value = 0.0
    problem, violations = _convert(request)
    assert problem is not None and not violations
    for pb, sheet in zip(request.sheets, problem.sheets, strict=True):
        assert (sheet.judge_id, sheet.proposal_id) == (pb.judge_id, pb.proposal_id)
        assert [(s.criterion_id, s.value) for s in sheet.scores] == [
            (s.criterion_id, s.value) for s in pb.scores
        ]
    first, second = problem.sheets[0].scores[0].value, problem.sheets[1].scores[0].value
    assert math.copysign(1, first) == -1 and math.copysign(1, second) == 1
    # Scores are immutable: one object per distinct (criterion, value) is enough.
    impact = [s.scores[1] for s in problem.sheets if s.scores[1].value == 8]
    assert len(impact) > 1 and all(s is impact[0] for s in impact)


def test_invalid_sheets_and_proposals_list_every_violation_in_request_order() -> None:
    request = small_request()
    request.sheets[1].scores[1].value = math.nan
    request.sheets[1].scores[0].criterion_id = ""
    request.sheets[2].judge_id = ""  # with valid scores, the sheet itself is checked
    request.sheets[3].scores[0].value = math.inf
    request.sheets[3].proposal_id = ""  # not reported: the sheet's scores failed first
    del request.sheets[4].scores[:]
    request.proposals[0].component_values.add(component_id="vote")  # neither value nor fen
    request.proposals[2].proposal_id = ""
    request.proposals[2].eligibility_checks.add(check_id="")
    violations = Violations()
    assert problem_from_pb(request, 0, violations) is None
    assert [(v.field, v.value, v.description) for v in violations] == [
        (
            "proposals[0].component_values[0].value",
            "None",
            "give exactly one of value or amount_fen",
        ),
        ("proposals[2].eligibility_checks[0].check_id", '""', "must not be empty"),
        ("sheets[1].scores[0].criterion_id", '""', "must not be empty"),
        ("sheets[1].scores[1].value", "NaN", "must be a finite number"),
        ("sheets[2].judge_id", '""', "must not be empty"),
        ("sheets[3].scores[0].value", "Infinity", "must be a finite number"),
        ("sheets[4].scores", '"[]"', "a sheet must score every criterion"),
    ]
