"""The matching benchmark: deterministic feasible instances, exact baselines that agree with
each other and with the LP optimum, and a checker that catches broken matchings."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from bench.__main__ import main
from bench.matching.arcflow import solve_arc_by_arc
from bench.matching.baseline import SCALE
from bench.matching.cpsat import solve_cpsat
from bench.matching.instances import CASES, DOMAINS, REGIONS, make_problem, region_adjacency
from bench.matching.lp import lp_optimum
from bench.matching.runner import Options, _our_baselines, run_case
from matching.needs.verify import ProblemArrays, problem_arrays
from matching.needs.verify import pair_violations as violations
from matching.status import SolveStatus

SMOKE = CASES["smoke"]


def dense_inputs(
    arrays: ProblemArrays, seed: int = 7
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every non-forbidden pair, worth priority × a random affinity."""
    n_needs, n_orgs = len(arrays.need_ids), arrays.n_orgs
    codes = np.setdiff1d(np.arange(n_needs * n_orgs, dtype=np.int64), arrays.forbidden)
    need, org = np.divmod(codes, n_orgs)
    value = arrays.priority[need] * np.random.default_rng(seed).random(len(codes))
    return need, org, value, arrays.min_demand, arrays.max_demand, arrays.capacity


def test_instances_are_deterministic_for_a_seed() -> None:
    assert make_problem(SMOKE) == make_problem(SMOKE)
    assert make_problem(SMOKE, seed=1) != make_problem(SMOKE)


@pytest.mark.parametrize("name", ["smoke", "n500", "n2000"])
def test_instances_are_feasible(name: str) -> None:
    case = CASES[name]
    problem = make_problem(case)
    arrays = problem_arrays(problem)
    assert arrays.max_demand.sum() <= arrays.capacity.sum()  # supply covers demand
    assert len(arrays.forbidden) == round(case.conflict_rate * case.n_needs * case.n_orgs)
    per_need = np.bincount(arrays.forbidden // case.n_orgs, minlength=case.n_needs)
    assert (case.n_orgs - per_need >= arrays.min_demand).all()  # enough allowed organizations


def test_instances_look_like_a_round() -> None:
    problem = make_problem(CASES["n500"])
    assert {n.domain for n in problem.needs} == {d.name for d in DOMAINS}
    assert {n.region for n in problem.needs} == set(REGIONS)
    assert {n.priority for n in problem.needs} == {1.0, 1.5, 2.0}
    assert all(n.min_organizations == n.max_organizations == 3 for n in problem.needs)
    assert all(o.capacity == 8 and 1 <= len(o.domains) <= 2 for o in problem.organizations)
    assert all(1 <= len(o.regions) <= 3 for o in problem.organizations)
    assert any(len(o.evaluation_grades) == 0 for o in problem.organizations)
    assert problem.policy.region_adjacency == region_adjacency()
    assert CASES["n10000"].candidates_per_need == 50
    assert problem.policy.candidates_per_need == 0


def test_region_adjacency_is_symmetric() -> None:
    adjacency = region_adjacency()
    assert all(a in adjacency[b] for a, near in adjacency.items() for b in near)
    assert {len(near) for near in adjacency.values()} == {2, 3, 4}


def test_baselines_and_lp_reach_the_same_optimum_on_the_smoke_case() -> None:
    arrays = problem_arrays(make_problem(SMOKE))
    inputs = dense_inputs(arrays)
    need, org = inputs[0], inputs[1]
    checked = arrays.with_candidates((need, org))
    cpsat = solve_cpsat(*inputs, time_limit_s=10.0)
    flow = solve_arc_by_arc(*inputs, time_limit_s=10.0)
    lp = lp_optimum(*inputs, time_limit_s=10.0)
    assert cpsat.status is flow.status is lp.status is SolveStatus.OPTIMAL
    assert lp.integral  # the transportation polytope is integral
    assert cpsat.objective is not None and flow.objective is not None
    assert math.isclose(cpsat.objective, flow.objective, rel_tol=1e-9)
    assert math.isclose(cpsat.objective, lp.objective or 0.0, rel_tol=1e-9)
    for run in (cpsat, flow):
        assert violations(checked, (need[run.chosen], org[run.chosen])) == []


def test_arc_by_arc_flow_honours_capacity_when_it_binds() -> None:
    # Two organizations everyone prefers, capacity 2 each; six needs of one organization each.
    need = np.repeat(np.arange(6), 4)
    org = np.tile(np.arange(4), 6)
    value = np.where(org < 2, 1.0, 0.1)
    ones = np.ones(6, dtype=np.int64)
    capacity = np.array([2, 2, 8, 8])
    run = solve_arc_by_arc(need, org, value, ones, ones, capacity)
    assert run.status is SolveStatus.OPTIMAL
    assert np.bincount(org[run.chosen], minlength=4).tolist()[:2] == [2, 2]
    assert run.objective == pytest.approx(4 * 1.0 + 2 * 0.1)


def test_arc_by_arc_flow_reports_infeasible_supply() -> None:
    need, org = np.array([0, 1]), np.array([0, 0])
    ones = np.ones(2, dtype=np.int64)
    run = solve_arc_by_arc(need, org, np.array([0.5, 0.5]), ones, ones, np.array([1]))
    assert run.status is SolveStatus.INFEASIBLE
    assert run.objective is None


def test_arc_by_arc_flow_needs_exact_demands() -> None:
    one = np.array([1])
    with pytest.raises(ValueError, match="min_demand must equal max"):
        solve_arc_by_arc(one * 0, one * 0, one * 1.0, one, one * 2, one * 2)


def test_cpsat_honours_ranged_demand() -> None:
    # Need 0 may take 1 or 2: only its positive pairs pay, and it takes both.
    need, org = np.array([0, 0, 1]), np.array([0, 1, 1])
    value = np.array([0.5, 0.25, 0.75])
    run = solve_cpsat(need, org, value, np.array([1, 1]), np.array([2, 1]), np.array([1, 2]))
    assert run.status is SolveStatus.OPTIMAL
    assert sorted(run.chosen.tolist()) == [0, 1, 2]
    assert run.objective == pytest.approx(1.5)


def test_objective_is_real_valued_not_scaled() -> None:
    # Values below the scale's resolution still count in the reported objective.
    tiny = 0.4 / SCALE
    one = np.array([1])
    run = solve_cpsat(one * 0, one * 0, np.array([1.0 + tiny]), one, one, one)
    assert run.objective == 1.0 + tiny


def test_checker_names_every_broken_rule() -> None:
    problem = make_problem(SMOKE)
    arrays = problem_arrays(problem)
    forbidden = int(arrays.forbidden[0])
    bad_need, bad_org = divmod(forbidden, arrays.n_orgs)
    # Need bad_need gets its forbidden organization twice; organization 0 gets 9 needs.
    need = np.array([bad_need, bad_need, *range(1, 10)])
    org = np.array([bad_org, bad_org, *[0] * 9])
    found = "\n".join(violations(arrays.with_candidates((need[:1], org[:1])), (need, org)))
    for broken in (
        "pair assigned twice",
        "need below min_organizations",
        "organization above capacity",
        "forbidden pair",
        "not a candidate",
    ):
        assert broken in found
    assert "need above max_organizations" in "\n".join(
        violations(arrays, (need[:1].repeat(4), np.arange(4)))
    )


def test_baseline_names_are_checked() -> None:
    assert _our_baselines("cpsat,arcflow") == ("cpsat", "arcflow")
    assert _our_baselines("scip,arcflow") == ("arcflow",)  # scip belongs to the allocation suite
    assert _our_baselines("") == ()
    with pytest.raises(ValueError, match="unknown baseline"):
        _our_baselines("gurobi")
    assert Options().baselines == ("cpsat", "arcflow")


ALWAYS = {"suite", "case", "n_needs", "n_orgs", "generate_s", "ours_s", "ours_status"}
COMPARED = {
    "ours_objective",
    "optimal",
    "baseline",
    "baseline_s",
    "baseline_objective",
    "speedup",
    "objectives_agree",
    "cpsat_s",
    "cpsat_status",
    "cpsat_objective",
    "arcflow_s",
    "arcflow_status",
    "arcflow_objective",
    "lp_objective",
    "relative_error_vs_real_optimum",
    "verified",
}


def test_a_run_produces_a_row_with_or_without_the_engine() -> None:
    row = run_case(SMOKE, repeats=1, options=Options(baseline_limit_s=10.0, lp_limit_s=10.0))
    json.dumps(row)
    assert not ALWAYS - set(row)
    assert row["suite"] == "matching"
    if row["ours_status"] == "unavailable":  # the engine is not importable (yet)
        assert row["speedup"] is None
        assert row["baseline_skipped"]
        return
    assert not COMPARED - set(row)
    assert row["cpsat_status"] == row["arcflow_status"] == "optimal"
    assert row["verified"] is True, row.get("violations")
    assert row["objectives_agree"] is True


def test_command_line_runs_the_suite(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["matching", "--case", "smoke", "--repeats", "1", "--baselines", "arcflow"]
    assert main([*argv, "--lp-limit", "0"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    row = json.loads(lines[0])
    assert row["case"] == "smoke"
    assert "cpsat_status" not in row
