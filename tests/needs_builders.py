"""Small needs-matching problems for tests, with affinities easy to compute by hand: by default
only the domain and region parts weigh (0.5 each), so a pair scores 0.5 × domain match +
0.5 × region match (same region 1, adjacent 0.5)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from matching.needs.model import (
    AffinityWeights,
    MatchObjective,
    Need,
    NeedMatchingProblem,
    NeedPolicy,
    PairRef,
)
from matching.organization import Organization

DOMAIN_AND_REGION = AffinityWeights(0.5, 0.5, 0.0, 0.0, 0.0, 0.0)


def need(
    need_id: str,
    domain: str,
    region: str,
    low: int = 1,
    high: int | None = None,
    priority: float = 1.0,
) -> Need:
    return Need(
        need_id=need_id,
        display_name=f"需求{need_id}",
        domain=domain,
        region=region,
        description="为社区独居老人提供助餐服务",
        min_organizations=low,
        max_organizations=low if high is None else high,
        priority=priority,
    )


def org(
    organization_id: str,
    domains: Sequence[str],
    regions: Sequence[str],
    capacity: int = 1,
    min_load: int = 0,
) -> Organization:
    return Organization(
        organization_id=organization_id,
        display_name=f"机构{organization_id}",
        domains=tuple(domains),
        regions=tuple(regions),
        description="社区养老服务",
        capacity=capacity,
        min_load=min_load,
    )


def pairs(*items: tuple[str, str]) -> tuple[PairRef, ...]:
    return tuple(PairRef(n, o) for n, o in items)


def problem(
    needs: Sequence[Need],
    orgs: Sequence[Organization],
    *,
    objective: MatchObjective = MatchObjective.TOTAL_AFFINITY,
    adjacency: Mapping[str, tuple[str, ...]] | None = None,
    forbidden: Sequence[tuple[str, str]] = (),
    fixed: Sequence[tuple[str, str]] = (),
    one_per_domain: bool = False,
    min_affinity: float = 0.0,
    soft: bool = False,
    weights: AffinityWeights = DOMAIN_AND_REGION,
    top_k: int = 5,
) -> NeedMatchingProblem:
    return NeedMatchingProblem(
        tuple(needs),
        tuple(orgs),
        NeedPolicy(
            weights=weights,
            objective=objective,
            region_adjacency=dict(adjacency or {}),
            forbidden_pairs=pairs(*forbidden),
            fixed_pairs=pairs(*fixed),
            one_organization_per_domain=one_per_domain,
            min_affinity=min_affinity,
            soft_minimums=soft,
        ),
        top_k=top_k,
    )
