"""Candidate pairs (forbidden out, fixed in, min_affinity, top-k, order), the pre-check's
reasons and messages, and the supply totals; against brute force on generated rounds."""

from __future__ import annotations

import contextlib
import dataclasses
from unittest import mock

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from matching.needs import affinity as affinity_module
from matching.needs import blocks
from matching.needs.affinity import affinity_matrix, features_of
from matching.needs.candidates import (
    KEY_SCALE,
    CandidatePairs,
    candidate_pairs,
    demand_above_capacity,
    loads_above_room,
    precheck,
)
from matching.needs.model import (
    AffinityWeights,
    Need,
    NeedMatchingProblem,
    NeedPolicy,
    PairRef,
    UnmetReason,
)
from matching.organization import Organization, Rating

# Capacity alone decides affinity: O0..O3 have capacity 4, 3, 2, 1, so every need sees
# affinities 1, 0.75, 0.5, 0.25 in organization order.
CAPACITY_ONLY = AffinityWeights(0, 0, 0, 0, 0, 1)
NEEDS = tuple(Need(f"N{i}") for i in range(3))
ORGS = tuple(Organization(f"O{j}", capacity=4 - j) for j in range(4))


def _problem(
    needs: tuple[Need, ...] = NEEDS, orgs: tuple[Organization, ...] = ORGS, **policy: object
) -> NeedMatchingProblem:
    rules = NeedPolicy(weights=CAPACITY_ONLY, **policy)  # type: ignore[arg-type]
    return NeedMatchingProblem(needs, orgs, rules)


def _pairs(problem: NeedMatchingProblem) -> CandidatePairs:
    weights = problem.policy.weights.normalised()
    features = features_of(problem.needs, problem.organizations, problem.policy.region_adjacency)
    return candidate_pairs(problem, features, weights)


def _listed(pairs: CandidatePairs) -> list[tuple[int, int, float, bool]]:
    return [
        (int(i), int(j), float(a), bool(f))
        for i, j, a, f in zip(
            pairs.need, pairs.organization, pairs.affinity, pairs.fixed, strict=True
        )
    ]


def test_every_pair_by_need_then_best_first() -> None:
    pairs = _pairs(_problem())
    assert pairs.need.dtype == np.int32 and pairs.organization.dtype == np.int32
    assert _listed(pairs) == [
        (i, j, a, False) for i in range(3) for j, a in enumerate((1.0, 0.75, 0.5, 0.25))
    ]


def test_min_affinity_top_k_forbidden_and_fixed() -> None:
    problem = _problem(
        min_affinity=0.5,
        candidates_per_need=2,
        forbidden_pairs=(PairRef("N0", "O0"),),
        # Below min_affinity and beyond the top 2, yet a candidate; it takes no top-k place.
        fixed_pairs=(PairRef("N1", "O3"),),
    )
    assert _listed(_pairs(problem)) == [
        (0, 1, 0.75, False),
        (0, 2, 0.5, False),  # O0 is forbidden, so O2 moves up into the top 2
        (1, 0, 1.0, False),
        (1, 1, 0.75, False),
        (1, 3, 0.25, True),
        (2, 0, 1.0, False),
        (2, 1, 0.75, False),
    ]


def test_a_fixed_pair_in_the_top_k_is_listed_once_in_its_place() -> None:
    problem = _problem(candidates_per_need=1, fixed_pairs=(PairRef("N0", "O1"),))
    listed = [p for p in _listed(_pairs(problem)) if p[0] == 0]
    assert listed == [(0, 0, 1.0, False), (0, 1, 0.75, True)]


def test_ties_go_to_the_earlier_organization() -> None:
    orgs = tuple(Organization(f"O{j}", rating=Rating.A3) for j in range(5))
    problem = NeedMatchingProblem(
        NEEDS[:1],
        orgs,
        NeedPolicy(weights=AffinityWeights(0, 0, 0, 1, 0, 0), candidates_per_need=3),
    )
    assert [j for _, j, _, _ in _listed(_pairs(problem))] == [0, 1, 2]


def test_min_affinity_is_compared_at_key_decimals() -> None:
    # 0.75 plus noise below 1e-9 still clears a 0.75 threshold.
    problem = _problem(min_affinity=0.75 + 0.4 / KEY_SCALE)
    assert [j for i, j, _, _ in _listed(_pairs(problem)) if i == 0] == [0, 1]


def test_blocks_and_threads_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    problem = _problem(
        candidates_per_need=2,
        forbidden_pairs=(PairRef("N2", "O1"),),
        fixed_pairs=(PairRef("N0", "O3"), PairRef("N2", "O2")),
    )
    whole = _listed(_pairs(problem))
    monkeypatch.setattr(affinity_module, "BLOCK_CELLS", 4)  # one need a block
    monkeypatch.setattr(affinity_module, "WORKERS", 2)
    assert _listed(_pairs(problem)) == whole


# ---------------------------------------------------------------------------------------------
# Pre-check
# ---------------------------------------------------------------------------------------------


def _shortfalls(problem: NeedMatchingProblem) -> list[tuple[int, UnmetReason, str]]:
    weights = problem.policy.weights.normalised()
    features = features_of(problem.needs, problem.organizations, problem.policy.region_adjacency)
    pairs = candidate_pairs(problem, features, weights)
    return [(s.need, s.reason, s.message) for s in precheck(problem, features, pairs)]


def test_no_shortfall() -> None:
    assert _shortfalls(_problem()) == []


def test_conflicts() -> None:
    needs = (Need("N0", min_organizations=2, max_organizations=2),)
    forbidden = tuple(PairRef("N0", f"O{j}") for j in range(3))
    assert _shortfalls(_problem(needs, forbidden_pairs=forbidden)) == [
        (
            0,
            UnmetReason.CONFLICTS,
            "needs 2 organizations; 1 candidate remains: 3 organizations excluded by conflicts",
        )
    ]


def test_conflicts_come_before_a_domain_mismatch() -> None:
    needs = (Need("N0", domain="助残", min_organizations=2, max_organizations=2),)
    forbidden = tuple(PairRef("N0", f"O{j}") for j in range(3))
    assert _shortfalls(_problem(needs, forbidden_pairs=forbidden))[0][1] is UnmetReason.CONFLICTS


def test_domain_mismatch() -> None:
    needs = (Need("N0", domain="助残"),)
    orgs = tuple(Organization(f"O{j}", domains=("养老",)) for j in range(3))
    problem = dataclasses.replace(
        _problem(needs, orgs),
        policy=NeedPolicy(weights=AffinityWeights(1, 0, 0, 0, 0, 0), min_affinity=0.5),
    )
    assert _shortfalls(problem) == [
        (
            0,
            UnmetReason.DOMAIN_MISMATCH,
            "needs 1 organization; 0 candidates remain: no organization works in domain "
            '"助残", and 3 organizations fell below policy.min_affinity 0.5',
        )
    ]


def test_region_mismatch() -> None:
    needs = (Need("N0", region="西山镇"),)
    orgs = (Organization("O0", regions=("东湖街道",)), Organization("O1", regions=("南桥镇",)))
    problem = NeedMatchingProblem(
        needs,
        orgs,
        NeedPolicy(
            weights=AffinityWeights(0, 1, 0, 0, 0, 0),
            min_affinity=0.4,
            region_adjacency={"东湖街道": ("北苑街道",)},
        ),
    )
    assert _shortfalls(problem) == [
        (
            0,
            UnmetReason.REGION_MISMATCH,
            "needs 1 organization; 0 candidates remain: no organization works in region "
            '"西山镇" or a region adjacent to it, and 2 organizations fell below '
            "policy.min_affinity 0.4",
        )
    ]
    # An adjacent organization is a region match of 0.5: no mismatch, and a candidate.
    near = dataclasses.replace(problem.policy, region_adjacency={"南桥镇": ("西山镇",)})
    assert _shortfalls(dataclasses.replace(problem, policy=near)) == []


@pytest.mark.parametrize(
    ("need", "policy", "message"),
    [
        # More organizations asked for than the request has.
        (
            Need("N0", min_organizations=5, max_organizations=5),
            {},
            "needs 5 organizations; 4 candidates remain of 4 organizations: the request has "
            "too few organizations",
        ),
        # candidates_per_need keeps fewer than the minimum.
        (
            Need("N0", min_organizations=3, max_organizations=3),
            {"candidates_per_need": 2},
            "needs 3 organizations; 2 candidates remain of 4 organizations: "
            "policy.candidates_per_need keeps the best 2",
        ),
        # min_affinity without a domain or region mismatch (capacity decides here).
        (
            Need("N0", min_organizations=2, max_organizations=2),
            {"min_affinity": 0.8, "forbidden_pairs": (PairRef("N0", "O1"),)},
            "needs 2 organizations; 1 candidate remains of 4 organizations: 1 organization "
            "excluded by conflicts; 2 organizations fell below policy.min_affinity 0.8",
        ),
    ],
)
def test_no_candidate(need: Need, policy: dict[str, object], message: str) -> None:
    assert _shortfalls(_problem((need,), **policy)) == [(0, UnmetReason.NO_CANDIDATE, message)]


def test_every_need_short_block_by_block(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(affinity_module, "BLOCK_CELLS", 4)  # one need a block
    needs = tuple(Need(f"N{i}", min_organizations=5, max_organizations=5) for i in range(3))
    fixed = (PairRef("N1", "O3"),)
    found = _shortfalls(_problem(needs, fixed_pairs=fixed, forbidden_pairs=(PairRef("N2", "O0"),)))
    assert [(i, reason) for i, reason, _ in found] == [
        (i, UnmetReason.NO_CANDIDATE) for i in range(3)
    ]
    assert found[1][2].startswith("needs 5 organizations; 4 candidates remain of 4 organizations")
    assert found[2][2] == (
        "needs 5 organizations; 3 candidates remain of 4 organizations: 1 organization excluded "
        "by conflicts"
    )


def test_supply_against_demand() -> None:
    assert demand_above_capacity(_problem()) is None
    assert loads_above_room(_problem()) is None
    needs = tuple(Need(f"N{i}", min_organizations=3, max_organizations=3) for i in range(4))
    assert demand_above_capacity(_problem(needs)) == (
        "the needs require 12 organization places in all (sum of min_organizations) but the "
        "organizations can take only 10 (sum of capacity)"
    )
    loaded = (Organization("O0", capacity=4, min_load=4),)
    assert loads_above_room(_problem(orgs=loaded)) == (
        "the organizations must take 4 needs in all (sum of min_load) but the needs accept "
        "only 3 organizations (sum of max_organizations)"
    )


# ---------------------------------------------------------------------------------------------
# Generated rounds against brute force
# ---------------------------------------------------------------------------------------------

_TEXTS = ("为社区独居老人提供助餐和探访服务", "青少年课后托管与心理辅导", "老人探访", "")
_DOMAINS = ("养老", "儿童")
_REGIONS = ("东湖街道", "西山镇", "北苑街道")
_ADJACENCY = {"西山镇": ("北苑街道",)}


@st.composite
def _problems(draw: st.DrawFn) -> NeedMatchingProblem:
    n, m = draw(st.integers(1, 8)), draw(st.integers(1, 10))
    needs = tuple(
        Need(
            f"N{i}",
            domain=draw(st.sampled_from((*_DOMAINS, ""))),
            region=draw(st.sampled_from((*_REGIONS, ""))),
            description=draw(st.sampled_from(_TEXTS)),
        )
        for i in range(n)
    )
    orgs = tuple(
        Organization(
            f"O{j}",
            domains=tuple(draw(st.sets(st.sampled_from(_DOMAINS)))),
            regions=tuple(draw(st.sets(st.sampled_from(_REGIONS)))),
            description=draw(st.sampled_from(_TEXTS)),
            rating=draw(st.sampled_from(list(Rating))),
            capacity=draw(st.integers(1, 3)),
        )
        for j in range(m)
    )
    cells = [(i, j) for i in range(n) for j in range(m)]
    marks = draw(
        st.lists(
            st.sampled_from((None, None, None, "forbidden", "fixed")),
            min_size=len(cells),
            max_size=len(cells),
        )
    )
    forbidden = tuple(
        PairRef(f"N{i}", f"O{j}")
        for (i, j), k in zip(cells, marks, strict=True)
        if k == "forbidden"
    )
    fixed = tuple(
        PairRef(f"N{i}", f"O{j}") for (i, j), k in zip(cells, marks, strict=True) if k == "fixed"
    )
    weights = AffinityWeights(
        *draw(st.tuples(*(st.sampled_from((0.0, 0.5, 1.0)) for _ in range(6))))
    )
    policy = NeedPolicy(
        weights=weights,
        region_adjacency=_ADJACENCY,
        forbidden_pairs=draw(st.permutations(forbidden)),
        fixed_pairs=draw(st.permutations(fixed)),
        min_affinity=draw(st.sampled_from((0.0, 0.2, 0.5))),
        candidates_per_need=draw(st.integers(0, 4)),
    )
    return NeedMatchingProblem(needs, orgs, policy)


def _brute_force(problem: NeedMatchingProblem) -> list[tuple[int, int, float, bool]]:
    """Every pair's affinity from the whole matrix, then the rules one need at a time."""
    policy = problem.policy
    features = features_of(problem.needs, problem.organizations, policy.region_adjacency)
    matrix = affinity_matrix(features, policy.weights.normalised())
    key = np.rint(matrix * KEY_SCALE)
    forbidden = {(p.need_id, p.organization_id) for p in policy.forbidden_pairs}
    fixed = {(p.need_id, p.organization_id) for p in policy.fixed_pairs}
    expected: list[tuple[int, int, float, bool]] = []
    for i, need in enumerate(problem.needs):
        ids = [(need.need_id, o.organization_id) for o in problem.organizations]
        eligible = [
            j
            for j, ref in enumerate(ids)
            if ref not in forbidden
            and ref not in fixed
            and key[i, j] >= round(policy.min_affinity * KEY_SCALE)
        ]
        eligible.sort(key=lambda j: (-key[i, j], j))
        if policy.candidates_per_need:
            eligible = eligible[: policy.candidates_per_need]
        chosen = eligible + [j for j, ref in enumerate(ids) if ref in fixed]
        chosen.sort(key=lambda j: (-key[i, j], j))
        expected += [(i, j, float(matrix[i, j]), ids[j] in fixed) for j in chosen]
    return expected


@pytest.mark.parametrize(
    ("block_cells", "min_group"),
    [
        (None, None),  # as shipped: rounds this small are one block over every organization
        (6, 0),  # many small blocks, each over only the organizations its needs can reach
        (1, 0),  # one need a block
    ],
)
@given(problem=_problems())
def test_candidates_match_brute_force(
    problem: NeedMatchingProblem, block_cells: int | None, min_group: int | None
) -> None:
    with contextlib.ExitStack() as stack:
        if block_cells is not None:
            stack.enter_context(mock.patch.object(affinity_module, "BLOCK_CELLS", block_cells))
        if min_group is not None:
            stack.enter_context(mock.patch.object(blocks, "MIN_GROUP", min_group))
        pairs = _pairs(problem)
        again = _pairs(problem)
    expected = _brute_force(problem)
    assert _listed(pairs) == expected
    assert _listed(again) == expected


def test_skipping_unreachable_organizations_changes_nothing() -> None:
    """A round big enough for the top-k shortcut: the same pairs as scanning everything."""
    rng = np.random.default_rng(7)
    texts = (*_TEXTS, "残疾人康复训练与就业支持", "社区环境保护与垃圾分类宣传")
    needs = tuple(
        Need(
            f"N{i}",
            domain=_DOMAINS[rng.integers(2)],
            region=_REGIONS[rng.integers(3)],
            description=texts[rng.integers(len(texts))],
        )
        for i in range(400)
    )
    orgs = tuple(
        Organization(
            f"O{j}",
            domains=(_DOMAINS[rng.integers(2)],),
            regions=(_REGIONS[rng.integers(3)],),
            description=texts[rng.integers(len(texts))] + texts[rng.integers(len(texts))],
            rating=list(Rating)[rng.integers(6)],
            capacity=int(rng.integers(1, 9)),
        )
        for j in range(150)
    )
    forbidden = tuple({PairRef(f"N{i}", f"O{j}") for i, j in rng.integers(0, 150, (300, 2))})
    fixed = (PairRef("N1", "O149"), PairRef("N1", "O3"), PairRef("N399", "O0"))
    problem = NeedMatchingProblem(
        needs,
        orgs,
        NeedPolicy(
            region_adjacency=_ADJACENCY,
            forbidden_pairs=tuple(p for p in forbidden if p not in fixed),
            fixed_pairs=fixed,
            candidates_per_need=5,
            min_affinity=0.3,
        ),
    )
    with mock.patch.object(affinity_module, "BLOCK_CELLS", 3_000):
        plan_cells = _plan_cells(problem)
        shortcut = _listed(_pairs(problem))
    assert plan_cells < 0.8 * len(needs) * len(orgs), "the shortcut should skip cells here"
    with mock.patch.object(blocks, "MIN_GROUP", 10**9):  # never skip
        assert _listed(_pairs(problem)) == shortcut
    assert shortcut == _brute_force(problem)


def _plan_cells(problem: NeedMatchingProblem) -> int:
    weights = problem.policy.weights.normalised()
    features = features_of(problem.needs, problem.organizations, problem.policy.region_adjacency)
    excluded = np.zeros(len(problem.needs), dtype=np.intp)
    plan = blocks.top_k_blocks(
        features, weights, problem.policy.candidates_per_need, excluded, np.zeros(0, np.int64)
    )
    m = len(problem.organizations)
    return sum(len(b.needs) * (m if b.orgs is None else len(b.orgs)) for b in plan)
