"""Needs-matching input checks: every violation with its field path and value, all at once;
then fixed pairs that cannot hold (Unsatisfiable) with their counts."""

from __future__ import annotations

import dataclasses

import pytest

from matching.needs.model import Need, NeedMatchingProblem, NeedPolicy, PairRef
from matching.needs.validate import validate_problem
from matching.organization import Organization
from scoring.errors import MAX_VIOLATIONS, InvalidProblem, Unsatisfiable

NEEDS = (
    Need("N0", domain="养老", min_organizations=1, max_organizations=2),
    Need("N1", domain="儿童"),
)
ORGS = (
    Organization("O0", domains=("养老",), capacity=2),
    Organization("O1", domains=("养老", "助残")),
    Organization("O2", domains=("儿童",)),
)


def _problem(
    needs: tuple[Need, ...] = NEEDS,
    orgs: tuple[Organization, ...] = ORGS,
    top_k: int = 5,
    **policy: object,
) -> NeedMatchingProblem:
    return NeedMatchingProblem(needs, orgs, NeedPolicy(**policy), top_k=top_k)  # type: ignore[arg-type]


def _violations(problem: NeedMatchingProblem) -> set[tuple[str, str]]:
    with pytest.raises(InvalidProblem) as caught:
        validate_problem(problem)
    assert not isinstance(caught.value, Unsatisfiable)
    return {(v.field, v.value) for v in caught.value.violations}


def test_a_sound_problem_passes() -> None:
    validate_problem(
        _problem(
            forbidden_pairs=(PairRef("N1", "O0"),),
            fixed_pairs=(PairRef("N0", "O0"), PairRef("N0", "O2")),
            region_adjacency={"东湖街道": ("北苑街道",)},
            one_organization_per_domain=True,
        )
    )


@pytest.mark.parametrize(
    ("problem", "expected"),
    [
        (_problem(needs=()), ("needs", "[]")),
        (_problem(orgs=()), ("organizations", "[]")),
        (_problem(needs=(Need("N0"), Need("N0"))), ("needs[1].need_id", '"N0"')),
        (
            _problem(orgs=(*ORGS, Organization("O1"))),
            ("organizations[3].organization_id", '"O1"'),
        ),
        (
            _problem(forbidden_pairs=(PairRef("N0", "O0"), PairRef("N9", "O0"))),
            ("policy.forbidden_pairs[1].need_id", '"N9"'),
        ),
        (
            _problem(forbidden_pairs=(PairRef("N0", "O9"),)),
            ("policy.forbidden_pairs[0].organization_id", '"O9"'),
        ),
        (
            _problem(fixed_pairs=(PairRef("N7", "O0"),)),
            ("policy.fixed_pairs[0].need_id", '"N7"'),
        ),
        (
            _problem(fixed_pairs=(PairRef("N0", "O8"),)),
            ("policy.fixed_pairs[0].organization_id", '"O8"'),
        ),
        # The same pair listed twice: the second is named, pointing at the first.
        (
            _problem(
                forbidden_pairs=(PairRef("N0", "O1"), PairRef("N1", "O1"), PairRef("N0", "O1"))
            ),
            ("policy.forbidden_pairs[2]", '("N0", "O1")'),
        ),
        (
            _problem(fixed_pairs=(PairRef("N0", "O0"), PairRef("N0", "O0"))),
            ("policy.fixed_pairs[1]", '("N0", "O0")'),
        ),
        (_problem(top_k=0), ("options.top_k", "0")),
        (
            _problem(region_adjacency={"东湖街道": ("北苑街道",), "": ("东湖街道",)}),
            ("policy.region_adjacency[1].region", '""'),
        ),
        (
            _problem(region_adjacency={"东湖街道": ("北苑街道", "")}),
            ("policy.region_adjacency[0].adjacent_regions[1]", '""'),
        ),
    ],
)
def test_each_violation_names_its_field(
    problem: NeedMatchingProblem, expected: tuple[str, str]
) -> None:
    assert expected in _violations(problem)


def test_duplicate_points_at_the_first() -> None:
    problem = _problem(fixed_pairs=(PairRef("N0", "O0"), PairRef("N1", "O2"), PairRef("N0", "O0")))
    with pytest.raises(InvalidProblem) as caught:
        validate_problem(problem)
    (violation,) = caught.value.violations
    assert violation.description == "duplicate of policy.fixed_pairs[0]; list each pair once"


def test_a_pair_both_fixed_and_forbidden_names_both() -> None:
    problem = _problem(
        forbidden_pairs=(PairRef("N1", "O0"), PairRef("N0", "O2")),
        fixed_pairs=(PairRef("N0", "O2"),),
    )
    with pytest.raises(InvalidProblem) as caught:
        validate_problem(problem)
    (violation,) = caught.value.violations
    assert (violation.field, violation.value) == ("policy.fixed_pairs[0]", '("N0", "O2")')
    assert "policy.forbidden_pairs[1]" in violation.description


def test_every_violation_at_once() -> None:
    problem = _problem(
        needs=(Need("N0"), Need("N0")),
        forbidden_pairs=(PairRef("X", "Y"),),
        top_k=0,
    )
    assert _violations(problem) == {
        ("needs[1].need_id", '"N0"'),
        ("policy.forbidden_pairs[0].need_id", '"X"'),
        ("policy.forbidden_pairs[0].organization_id", '"Y"'),
        ("options.top_k", "0"),
    }


def test_half_a_million_bad_pairs_are_listed_up_to_the_limit() -> None:
    problem = _problem(forbidden_pairs=tuple(PairRef("N0", f"X{k}") for k in range(500_000)))
    with pytest.raises(InvalidProblem) as caught:
        validate_problem(problem)
    assert len(caught.value.violations) == MAX_VIOLATIONS
    assert caught.value.truncated


def test_input_errors_come_before_unsatisfiable_rules() -> None:
    # Three fixed organizations on a need that takes at most two, and an unknown id.
    fixed = (PairRef("N0", "O0"), PairRef("N0", "O1"), PairRef("N0", "O2"), PairRef("N9", "O0"))
    assert _violations(_problem(fixed_pairs=fixed)) == {("policy.fixed_pairs[3].need_id", '"N9"')}


def _unsatisfiable(problem: NeedMatchingProblem) -> list[tuple[str, str, str]]:
    with pytest.raises(Unsatisfiable) as caught:
        validate_problem(problem)
    return [(v.field, v.value, v.description) for v in caught.value.violations]


def test_more_fixed_pairs_than_a_need_takes() -> None:
    fixed = (PairRef("N0", "O0"), PairRef("N0", "O1"), PairRef("N0", "O2"))
    assert _unsatisfiable(_problem(fixed_pairs=fixed)) == [
        (
            "needs[0].max_organizations",
            "2",
            "3 fixed pairs (policy.fixed_pairs[0], policy.fixed_pairs[1], policy.fixed_pairs[2]) "
            'put 3 organizations on need "N0", more than its max_organizations 2; unfix 1 or '
            "raise max_organizations",
        )
    ]


def test_more_fixed_pairs_than_an_organization_takes() -> None:
    fixed = (PairRef("N0", "O1"), PairRef("N1", "O1"))
    assert _unsatisfiable(_problem(fixed_pairs=fixed)) == [
        (
            "organizations[1].capacity",
            "1",
            '2 fixed pairs (policy.fixed_pairs[0], policy.fixed_pairs[1]) give organization "O1" '
            "2 needs, more than its capacity 1; unfix 1 or raise capacity",
        )
    ]


def test_one_organization_per_domain_with_fixed_pairs_sharing_one() -> None:
    # O0 and O1 both work in 养老; O2 (儿童) shares nothing with either.
    fixed = (PairRef("N0", "O0"), PairRef("N0", "O2"), PairRef("N0", "O1"))
    needs = (dataclasses.replace(NEEDS[0], max_organizations=3), NEEDS[1])
    problem = _problem(needs=needs, fixed_pairs=fixed, one_organization_per_domain=True)
    assert _unsatisfiable(problem) == [
        (
            "policy.fixed_pairs[2]",
            '("N0", "O1")',
            'with policy.one_organization_per_domain, 2 fixed organizations on need "N0" work '
            'in domain "养老": "O0" (policy.fixed_pairs[0]) and "O1"; unfix one of them',
        )
    ]
    # Without the rule the same pairs are fine.
    validate_problem(_problem(needs=needs, fixed_pairs=fixed))
