"""score_proposals end to end: stages, determinism, a county round from the bench generator."""

from __future__ import annotations

import dataclasses
import gc

import pytest

from bench.scoring import CASES, make_problem
from scoring.engine import score_proposals, warm_up
from scoring.errors import InvalidProblem
from scoring.model import AggregationMethod, Outcome, ScoringResult
from scoring.validate import validate_problem
from tests.scoring_builders import make

STAGES = [
    "validate",
    "prepare",
    "aggregate",
    "calibrate",
    "components",
    "rank",
    "bootstrap",
    "judges",
    "explain",
]


def _without_timings(result: ScoringResult) -> ScoringResult:
    return dataclasses.replace(result, timings=())


def test_every_stage_is_timed_in_order() -> None:
    result = score_proposals(make({"P1": {"J1": [5]}}, samples=10))
    assert [t.stage for t in result.timings] == STAGES
    assert all(t.seconds >= 0 for t in result.timings)


def test_invalid_problem_raises_before_any_work() -> None:
    with pytest.raises(InvalidProblem):
        score_proposals(make({"P1": {"JX": [11]}}))


@pytest.mark.parametrize("method", list(AggregationMethod))
def test_same_problem_same_result(method: AggregationMethod) -> None:
    problem = make_problem(
        dataclasses.replace(
            CASES["county"], method=method, trim=1 if method.name == "TRIMMED_MEAN" else 0
        )
    )
    first, again = score_proposals(problem), score_proposals(problem)
    assert _without_timings(first) == _without_timings(again)
    assert first.aggregation is method


def test_county_round_is_complete_and_consistent() -> None:
    problem = make_problem(CASES["county"])
    result = score_proposals(problem)
    assert [p.rank for p in result.proposals] == list(range(1, len(problem.proposals) + 1))
    assert len(result.judges) == len(problem.judges)
    assert len(result.missing_sheets) == 2  # the generator leaves two sheets out
    qualified = [p for p in result.proposals if p.outcome is Outcome.QUALIFIED]
    assert qualified == list(result.proposals[: len(qualified)])
    for p in result.proposals:
        assert sum(c.contribution for c in p.criteria) == pytest.approx(p.panel_score)
        assert sum(c.contribution for c in p.components) == pytest.approx(p.final_score)
        assert p.dispersion.counted == p.dispersion.sheets - 2  # trimmed by one at each end


def test_collector_state_is_restored() -> None:
    problem = make({"P1": {"J1": [5]}})
    assert gc.isenabled()
    score_proposals(problem)
    assert gc.isenabled()
    gc.disable()
    try:
        score_proposals(problem)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_results_hold_plain_python_numbers() -> None:
    # The service copies them into protobuf fields; numpy scalars must not leak out.
    result = score_proposals(make_problem(CASES["county"]))
    seen: set[type] = set()

    def walk(value: object) -> None:
        if dataclasses.is_dataclass(value):
            for field in dataclasses.fields(value):
                walk(getattr(value, field.name))
        elif isinstance(value, tuple):
            for item in value:
                walk(item)
        else:
            seen.add(type(value))

    walk(result)
    assert not [t for t in seen if t.__module__ == "numpy"]


def test_make_builds_a_valid_problem() -> None:
    problem = make({"P1": {"J1": [5], "J2": [6]}, "P2": {"J2": [7]}})
    validate_problem(problem)
    assert [j.judge_id for j in problem.judges] == ["J1", "J2"]
    assert len(problem.sheets) == 3
    assert problem.policy.rank_stability.samples == 0


def test_warm_up_builds_the_bootstrap_tables_for_every_panel_size() -> None:
    from scoring import bootstrap

    bootstrap._multisets.cache_clear()
    warm_up()
    # Panels of 2 to 7 sheets each get a table; a single sheet needs none.
    assert bootstrap._multisets.cache_info().currsize == 6
    assert gc.isenabled()


def test_result_objects_built_slot_by_slot_equal_constructed_ones() -> None:
    from scoring.explain import BUILT, _frozen

    for cls in BUILT:
        assert not hasattr(cls, "__post_init__")  # _frozen skips __init__, so it must do nothing
        fields = dataclasses.fields(cls)
        columns = [[f"{field.name}{k}" for k in range(3)] for field in fields]
        assert _frozen(cls, 3, *columns) == list(map(cls, *columns))
        with pytest.raises(ValueError, match="zip"):  # every field needs a column
            _frozen(cls, 3, *columns[:-1])
