"""One validator for every needs matching, ours and the baselines': each hard rule checked on
the answer alone, so a solver cannot pass by agreeing with itself."""

from __future__ import annotations

import math
from collections import Counter

from matching.needs.model import NeedMatchingProblem, NeedMatchResult

TOLERANCE = 1e-9


def violations(problem: NeedMatchingProblem, result: NeedMatchResult) -> list[str]:
    """Every rule the result breaks, in words; empty when the matching is legal."""
    found: list[str] = []
    needs = {n.need_id: n for n in problem.needs}
    orgs = {o.organization_id: o for o in problem.organizations}
    pairs = [(a.need_id, a.organization_id) for a in result.assignments]
    for need_id, org_id in pairs:
        if need_id not in needs or org_id not in orgs:
            found.append(f"unknown pair ({need_id}, {org_id})")
    for pair, times in Counter(pairs).items():
        if times > 1:
            found.append(f"pair {pair} assigned {times} times")
    policy = problem.policy
    chosen = set(pairs)
    for ref in policy.forbidden_pairs:
        if (ref.need_id, ref.organization_id) in chosen:
            found.append(f"forbidden pair ({ref.need_id}, {ref.organization_id}) assigned")
    for ref in policy.fixed_pairs:
        if (ref.need_id, ref.organization_id) not in chosen:
            found.append(f"fixed pair ({ref.need_id}, {ref.organization_id}) missing")
    per_need = Counter(n for n, _ in pairs)
    per_org = Counter(o for _, o in pairs)
    short = set()
    for need in problem.needs:
        got = per_need[need.need_id]
        if got > need.max_organizations:
            found.append(f"need {need.need_id}: {got} > max {need.max_organizations}")
        if got < need.min_organizations:
            short.add(need.need_id)
            if not policy.soft_minimums:
                found.append(f"need {need.need_id}: {got} < min {need.min_organizations}")
    listed = {u.need_id for u in result.unmet_needs}
    if listed != short:
        found.append(f"unmet_needs {sorted(listed)} but short needs are {sorted(short)}")
    for org in problem.organizations:
        load = per_org[org.organization_id]
        if load > org.capacity:
            found.append(f"organization {org.organization_id}: load {load} > {org.capacity}")
        if load < org.min_load:
            found.append(f"organization {org.organization_id}: load {load} < {org.min_load}")
    if policy.one_organization_per_domain:
        for need in problem.needs:
            domains = Counter(
                d for n, o in pairs if n == need.need_id and o in orgs for d in orgs[o].domains
            )
            found += [
                f"need {need.need_id}: {times} organizations in domain {d}"
                for d, times in domains.items()
                if times > 1
            ]
    total = sum(
        needs[a.need_id].priority * a.affinity.total
        for a in result.assignments
        if a.need_id in needs
    )
    if not math.isclose(total, result.total_affinity, rel_tol=TOLERANCE, abs_tol=TOLERANCE):
        found.append(f"total_affinity {result.total_affinity} but the pairs sum to {total}")
    for a in result.assignments:
        parts = sum(p.contribution for p in a.affinity.parts)
        if not math.isclose(parts, a.affinity.total, abs_tol=TOLERANCE):
            found.append(f"pair ({a.need_id}, {a.organization_id}): parts sum {parts}")
    return found
