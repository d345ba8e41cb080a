"""The allocation benchmark: deterministic valid instances, feasible rules, complete rows."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from bench.__main__ import main
from bench.allocation.instances import CASES, Case, make_problem, witness
from bench.allocation.runner import Options, run_case
from matching.allocation.bounds import prepare
from matching.allocation.model import Dimension, LockKind
from matching.allocation.validate import validate_problem
from matching.allocation.verify import violations

TINY = Case("tiny", 30)
REQUIRED = {
    "suite",
    "case",
    "n",
    "ours_s",
    "ours_status",
    "ours_objective",
    "best_exact_baseline",
    "best_exact_baseline_s",
    "speedup",
    "baseline_objective",
    "greedy_objective",
    "cpsat_s",
    "cpsat_status",
    "cpsat_objective",
    "scip_s",
    "scip_status",
    "scip_objective",
    "greedy_s",
    "greedy_feasible",
    "objectives_agree",
    "verified",
}


def test_instances_are_deterministic_for_a_seed() -> None:
    assert make_problem(TINY) == make_problem(TINY)
    assert make_problem(TINY, seed=1) != make_problem(TINY)


@pytest.mark.parametrize("case", [TINY, CASES["county"], CASES["n100"], CASES["city"]])
def test_instances_are_valid_and_their_quotas_feasible(case: Case) -> None:
    problem = make_problem(case)
    validate_problem(problem)
    prepared = prepare(problem)
    assert not prepared.conflicts
    assert violations(problem, witness(problem)) == []  # a legal allocation exists
    assert problem.rules.require_region_coverage
    assert any(q.dimension is Dimension.DOMAIN and q.min_count for q in problem.rules.quotas)


def test_instances_look_like_a_round() -> None:
    problem = make_problem(CASES["n1000"])
    prepared = prepare(problem)
    requested = sum(p.requested_fen for p in problem.proposals)
    assert 0.28 < prepared.available_fen / requested < 0.32
    assert len({p.domain for p in problem.proposals}) == 8
    assert len({p.region for p in problem.proposals}) == 16
    assert len({p.tier for p in problem.proposals}) == 3
    orgs = Counter(p.organization_id for p in problem.proposals)
    assert 0.05 < sum(n > 1 for n in orgs.values()) / len(orgs) < 0.2  # some apply twice
    assert 0.25 < sum(p.minimum_fen > 0 for p in problem.proposals) / 1000 < 0.45
    assert all(p.requested_fen % 100_000 == 0 for p in problem.proposals)
    assert {p.pool_id for p in problem.rules.pools} == {"lottery", "community"}


def test_city_case_carries_locks_and_maximum_quotas() -> None:
    rules = make_problem(CASES["city"]).rules
    assert {d.kind for d in rules.locked_decisions} == {LockKind.APPROVED, LockKind.REJECTED}
    assert any(q.max_count is not None or q.max_amount_fen is not None for q in rules.quotas)


def test_a_run_produces_a_complete_row() -> None:
    row = run_case(TINY, repeats=1, options=Options(baseline_limit_s=2.0))
    assert not REQUIRED - set(row)
    assert row["suite"] == "allocation"
    assert row["n"] == 30
    assert row["best_exact_baseline"] in {"cpsat", "scip", "highs"}
    assert row["scip_status"] == "optimal"
    assert row["verified"] is True
    if row["ours_status"] == "unavailable":
        assert row["speedup"] is None
    json.dumps(row)


def test_command_line_selects_a_case_and_takes_suite_options(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["allocation", "--case", "county", "--repeats", "1"]
    assert main([*argv, "--baseline-limit", "2", "--baselines", "scip"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    row = json.loads(lines[0])
    assert row["case"] == "county"
    assert row["best_exact_baseline"] == "scip"
    assert "cpsat_status" not in row
