"""MatchNeeds' engine on hand-checked cases: each rule, each objective, each unmet reason and
each impossible-rules answer, with expected matchings and objectives computed by hand."""

from __future__ import annotations

import pytest

from matching.needs.engine import match_needs
from matching.needs.model import MatchObjective, NeedMatchResult, UnmetReason
from matching.needs.verify import violations
from matching.status import SolveStatus
from scoring.errors import Unsatisfiable
from tests.needs_builders import need, org, problem

ADJACENT = {"R1": ("R2",)}


def _pairs(result: NeedMatchResult) -> set[tuple[str, str]]:
    return {(a.need_id, a.organization_id) for a in result.assignments}


def _solve(p: object) -> NeedMatchResult:
    result = match_needs(p)  # type: ignore[arg-type]
    assert violations(p, result) == []  # type: ignore[arg-type]
    return result


def _fairness_case(objective: MatchObjective) -> NeedMatchResult:
    # A-X = 1 (domain, region), A-Y = 0.25 (adjacent region only), B-X = 0.5 (domain only),
    # B-Y = 0. TOTAL takes A-X + B-Y = 1.0 over A-Y + B-X = 0.75, leaving B with nothing;
    # FAIR lifts the worst-off need from 0 to 0.25.
    return _solve(
        problem(
            [need("A", "elderly", "R1"), need("B", "youth", "R3")],
            [org("X", ["elderly", "youth"], ["R1"]), org("Y", ["legal"], ["R2"])],
            objective=objective,
            adjacency=ADJACENT,
        )
    )


def test_total_affinity_takes_the_largest_sum() -> None:
    result = _fairness_case(MatchObjective.TOTAL_AFFINITY)
    assert _pairs(result) == {("A", "X"), ("B", "Y")}
    assert result.status is SolveStatus.OPTIMAL
    assert result.total_affinity == pytest.approx(1.0)
    assert result.objective == pytest.approx(result.best_bound)
    assert result.worst_need_affinity == pytest.approx(0.0)


def test_fair_lifts_the_worst_off_need_first_then_the_total() -> None:
    result = _fairness_case(MatchObjective.FAIR)
    assert _pairs(result) == {("A", "Y"), ("B", "X")}
    assert result.status is SolveStatus.OPTIMAL
    assert result.worst_need_affinity == pytest.approx(0.25)
    assert result.total_affinity == pytest.approx(0.75)


def test_priority_weights_the_total() -> None:
    # X serves both regions, Y only R3: A-X = B-X = 1, A-Y = B-Y = 0.5. With A's priority 2,
    # A gets X: 2 × 1 + 1 × 0.5 = 2.5 beats 2 × 0.5 + 1 = 2.
    result = _solve(
        problem(
            [need("A", "e", "R1", priority=2.0), need("B", "e", "R2")],
            [org("Y", ["e"], ["R3"]), org("X", ["e"], ["R1", "R2"])],
        )
    )
    assert _pairs(result) == {("A", "X"), ("B", "Y")}
    assert result.total_affinity == pytest.approx(2.5)


def test_breakdown_parts_sum_to_the_total() -> None:
    result = _fairness_case(MatchObjective.TOTAL_AFFINITY)
    by_pair = {(a.need_id, a.organization_id): a.affinity for a in result.assignments}
    parts = {p.part: p for p in by_pair[("A", "X")].parts}
    assert parts["domain"].weight == pytest.approx(0.5)
    assert parts["domain"].contribution == pytest.approx(0.5)
    assert parts["region"].value == pytest.approx(1.0)
    assert parts["text"].weight == 0.0
    assert sum(p.contribution for p in by_pair[("A", "X")].parts) == pytest.approx(1.0)


def test_candidates_are_ranked_with_chosen_flags() -> None:
    result = _fairness_case(MatchObjective.TOTAL_AFFINITY)
    (a, b) = result.need_candidates
    assert [(c.candidate_id, c.rank, c.chosen) for c in a.candidates] == [
        ("X", 1, True),
        ("Y", 2, False),
    ]
    assert [(c.candidate_id, c.chosen) for c in b.candidates] == [("X", False), ("Y", True)]
    (x, y) = result.organization_candidates
    assert [(c.candidate_id, c.chosen) for c in x.candidates] == [("A", True), ("B", False)]
    assert [(c.candidate_id, c.chosen) for c in y.candidates] == [("A", False), ("B", True)]


def test_top_k_limits_the_alternatives() -> None:
    p = problem(
        [need("A", "e", "R1")],
        [org(f"O{k}", ["e"], ["R1"]) for k in range(4)],
        top_k=2,
    )
    result = _solve(p)
    assert [c.candidate_id for c in result.need_candidates[0].candidates] == ["O0", "O1"]


def test_forbidden_pair_is_never_used_and_fixed_pair_always_is() -> None:
    # Without rules A takes X (1.0). Forbidding A-X gives A Y (0.5); fixing B-X gives B the
    # worse X although B-Y is better.
    result = _solve(
        problem(
            [need("A", "e", "R1"), need("B", "e", "R2")],
            [org("X", ["e"], ["R1"]), org("Y", ["e"], ["R2"])],
            forbidden=[("A", "X")],
            fixed=[("B", "X")],
            soft=True,
        )
    )
    assert _pairs(result) == {("B", "X"), ("A", "Y")}
    assert [a.fixed for a in result.assignments if a.need_id == "B"] == [True]
    assert result.total_affinity == pytest.approx(0.5 + 0.5)


def test_capacity_and_demand_ranges() -> None:
    # X can take two needs; A wants 1 or 2 organizations. Every pair is worth something, so
    # the optimum fills X (capacity 2) and gives A both X and Y.
    result = _solve(
        problem(
            [need("A", "e", "R1", low=1, high=2), need("B", "e", "R1")],
            [org("X", ["e"], ["R1"], capacity=2), org("Y", ["e"], ["R2"])],
        )
    )
    assert _pairs(result) == {("A", "X"), ("A", "Y"), ("B", "X")}
    assert result.total_affinity == pytest.approx(1.0 + 0.5 + 1.0)


def test_min_load_forces_work_onto_an_organization() -> None:
    # Y is worse for everyone, but must take one need: the loss is smallest on B.
    needs = [need("A", "e", "R1"), need("B", "e", "R1", priority=0.5)]
    orgs = [org("X", ["e"], ["R1"], capacity=2), org("Y", ["e"], ["R2"], min_load=1)]
    result = _solve(problem(needs, orgs))
    assert _pairs(result) == {("A", "X"), ("B", "Y")}
    assert result.total_affinity == pytest.approx(1.0 + 0.5 * 0.5)


def test_min_loads_above_the_places_needs_accept_are_refused_before_solving() -> None:
    needs = [need("A", "e", "R1")]
    orgs = [org("X", ["e"], ["R1"], min_load=1), org("Y", ["e"], ["R1"], min_load=1)]
    with pytest.raises(Unsatisfiable) as caught:
        match_needs(problem(needs, orgs, soft=True))  # hard in soft mode too
    (violation,) = caught.value.violations
    assert violation.field == "organizations"
    assert "must take 2 needs in all" in violation.description
    assert "accept only 1" in violation.description


def test_min_load_no_need_can_fill_is_unsatisfiable_naming_the_organization() -> None:
    # The totals balance (2 places, 1 required load), but Y is forbidden to both needs.
    needs = [need("A", "e", "R1"), need("B", "e", "R1")]
    orgs = [org("X", ["e"], ["R1"], capacity=2), org("Y", ["e"], ["R1"], min_load=1)]
    with pytest.raises(Unsatisfiable) as caught:
        match_needs(problem(needs, orgs, forbidden=[("A", "Y"), ("B", "Y")]))
    (violation,) = caught.value.violations
    assert violation.field == "organizations"
    assert '"Y"' in violation.value
    assert "must take 1 more need(s)" in violation.description
    assert "room for only 0" in violation.description


def test_hard_minimums_above_total_capacity_are_refused_before_solving() -> None:
    needs = [need(n, "e", "R1") for n in ("A", "B", "C")]
    with pytest.raises(Unsatisfiable) as caught:
        match_needs(problem(needs, [org("X", ["e"], ["R1"], capacity=2)]))
    (violation,) = caught.value.violations
    assert violation.field == "needs"
    assert "require 3 organization places in all" in violation.description
    assert "can take only 2" in violation.description


def test_hard_minimums_beyond_what_needs_can_reach_name_the_needs() -> None:
    # Enough capacity in total (1 + 5), but min_affinity leaves the three needs only X.
    needs = [need(n, "e", "R1") for n in ("A", "B", "C")]
    orgs = [org("X", ["e"], ["R1"]), org("Y", ["other"], ["R9"], capacity=5)]
    with pytest.raises(Unsatisfiable) as caught:
        match_needs(problem(needs, orgs, min_affinity=0.4))
    (violation,) = caught.value.violations
    assert violation.field == "needs"
    assert '"A", "B", "C"' in violation.value
    assert "require 3 more organization(s)" in violation.description
    assert "room for only 1" in violation.description


def test_soft_minimums_match_what_they_can_and_report_the_rest() -> None:
    needs = [need(n, "e", "R1") for n in ("A", "B", "C")] + [need("D", "legal", "R5")]
    orgs = [org("X", ["e"], ["R1"]), org("Y", ["other"], ["R9"])]
    result = _solve(problem(needs, orgs, min_affinity=0.4, soft=True))
    assert len(result.assignments) == 1
    unmet = {u.need_id: u for u in result.unmet_needs}
    assert set(unmet) == {"B", "C", "D"} - {result.assignments[0].need_id} | (
        {"A"} if result.assignments[0].need_id != "A" else set()
    )
    assert unmet["D"].reason is UnmetReason.DOMAIN_MISMATCH
    assert unmet["D"].candidates == 0
    short = [u for u in result.unmet_needs if u.need_id != "D"]
    assert {u.reason for u in short} == {UnmetReason.CAPACITY_EXHAUSTED}
    assert all(u.candidates == 1 and u.assigned == 0 for u in short)


def test_soft_mode_fills_the_most_required_places_before_affinity() -> None:
    # X could give A (priority 5) a perfect match, but then B, which can only use X, would be
    # left short; required places come first, so A takes Y.
    needs = [need("A", "e", "R1", priority=5.0), need("B", "e", "R1")]
    orgs = [org("X", ["e"], ["R1"]), org("Y", ["e"], ["R2"])]
    result = _solve(problem(needs, orgs, forbidden=[("B", "Y")], soft=True))
    assert _pairs(result) == {("A", "Y"), ("B", "X")}
    assert result.unmet_needs == ()


def test_one_organization_per_domain_on_a_need() -> None:
    # A wants two organizations; X and Y share a domain, so the second one must be Z
    # (A-Z = 0.25: adjacent region only).
    needs = [need("A", "e", "R1", low=2)]
    orgs = [
        org("X", ["e"], ["R1"]),
        org("Y", ["e", "y"], ["R1"]),
        org("Z", ["y"], ["R2"]),
    ]
    free = _solve(problem(needs, orgs))
    assert _pairs(free) == {("A", "X"), ("A", "Y")}
    one_each = _solve(problem(needs, orgs, one_per_domain=True, adjacency=ADJACENT))
    assert _pairs(one_each) == {("A", "X"), ("A", "Z")}
    assert one_each.total_affinity == pytest.approx(1.0 + 0.25)


def test_one_per_domain_that_cannot_hold_is_unsatisfiable() -> None:
    needs = [need("A", "e", "R1", low=2)]
    orgs = [org("X", ["e"], ["R1"]), org("Y", ["e"], ["R1"])]
    with pytest.raises(Unsatisfiable) as caught:
        match_needs(problem(needs, orgs, one_per_domain=True))
    assert caught.value.violations[0].field == "policy.one_organization_per_domain"


def test_same_request_same_answer() -> None:
    needs = [need(f"N{k}", "e", f"R{k % 3}") for k in range(12)]
    orgs = [org(f"O{k}", ["e"], [f"R{k % 4}"], capacity=3) for k in range(5)]
    for objective in MatchObjective:
        first = match_needs(problem(needs, orgs, objective=objective))
        again = match_needs(problem(needs, orgs, objective=objective))
        assert first.assignments == again.assignments
        assert first.total_affinity == again.total_affinity
