"""Cross-reference checks of a NeedMatchingProblem: ids, forbidden and fixed pairs, adjacency,
top_k; then the fixed pairs that are well-formed but can never all hold.

Per-object checks ran when the dataclasses were built. validate_problem first reports every
input error at once (InvalidProblem, INVALID_ARGUMENT) with the request's field paths
("policy.fixed_pairs[2].need_id"); only a problem free of them is checked for fixed pairs that
cannot hold together (Unsatisfiable, FAILED_PRECONDITION), whose messages carry the counts.
Whether the needs' minimums can be met is the engine's exact max-flow check, not this module's.

One organization per domain is read as: among the organizations on one need, no two share a
service domain (their domain sets do not intersect), as the solver enforces it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from matching.needs.candidates import Int64Array, pair_indices
from matching.needs.model import NeedMatchingProblem, PairRef
from scoring.errors import MAX_VIOLATIONS, Unsatisfiable, Violations, show

LISTED = 5
"""At most this many pair paths are named in one message."""

T = TypeVar("T")


def validate_problem(problem: NeedMatchingProblem) -> None:
    """Raise InvalidProblem listing every input error, else Unsatisfiable listing every fixed
    pair rule that cannot hold; return None when the problem can go to the engine."""
    found = Violations()
    _check_ids(found, "needs", "need", [n.need_id for n in problem.needs])
    _check_ids(
        found, "organizations", "organization", [o.organization_id for o in problem.organizations]
    )
    _check_adjacency(problem, found)
    forbidden = _check_pairs(
        problem, "policy.forbidden_pairs", problem.policy.forbidden_pairs, found
    )
    fixed = _check_pairs(problem, "policy.fixed_pairs", problem.policy.fixed_pairs, found)
    _check_fixed_not_forbidden(problem, fixed, forbidden, found)
    found.require(problem.top_k >= 1, "options.top_k", problem.top_k, "must be at least 1")
    found.raise_if_any()
    _check_fixed_can_hold(problem)


def _check_ids(found: Violations, path: str, noun: str, ids: Sequence[str]) -> None:
    if not ids:
        found.add_shown(path, "[]", f"give at least one {noun} to match")
    first: dict[str, int] = {}
    for k, item in enumerate(ids):
        if item in first:
            found.add(
                f"{path}[{k}].{noun}_id",
                item,
                f"duplicate, already used by {path}[{first[item]}]; ids must be unique",
            )
        else:
            first[item] = k


def _check_adjacency(problem: NeedMatchingProblem, found: Violations) -> None:
    """Positions are those of the policy's mapping (the wire's when each region is listed once)."""
    for k, (region, others) in enumerate(problem.policy.region_adjacency.items()):
        path = f"policy.region_adjacency[{k}]"
        found.require(bool(region), f"{path}.region", region, "must not be empty")
        for i, other in enumerate(others):
            found.require(bool(other), f"{path}.adjacent_regions[{i}]", other, "must not be empty")


def _shown(ref: PairRef) -> str:
    return f"({show(ref.need_id)}, {show(ref.organization_id)})"


@dataclass(frozen=True, slots=True, eq=False)
class _Checked:
    """The known pairs of one list: their codes (need × orgs + org) and list positions."""

    codes: Int64Array
    positions: Int64Array


def _check_pairs(
    problem: NeedMatchingProblem, path: str, refs: Sequence[PairRef], found: Violations
) -> _Checked:
    """Unknown ids and repeated pairs, vectorised: a round can forbid half a million pairs."""
    need, org = pair_indices(problem, refs)
    for k in _first(np.flatnonzero((need < 0) | (org < 0)).tolist()):
        if need[k] < 0:
            found.add(f"{path}[{k}].need_id", refs[k].need_id, "unknown need")
        if org[k] < 0:
            found.add(
                f"{path}[{k}].organization_id", refs[k].organization_id, "unknown organization"
            )
    positions = np.flatnonzero((need >= 0) & (org >= 0))
    codes = need[positions] * len(problem.organizations) + org[positions]
    order = np.argsort(codes, kind="stable")
    ordered = codes[order]
    repeat = np.flatnonzero(ordered[1:] == ordered[:-1]) + 1
    # The first of a run of equal codes is its earliest position (a stable sort).
    run_start = np.searchsorted(ordered, ordered[repeat])
    repeats = sorted(
        zip(positions[order[repeat]].tolist(), positions[order[run_start]].tolist(), strict=True)
    )
    for k, first in _first(repeats):
        found.add_shown(
            f"{path}[{k}]",
            _shown(refs[k]),
            f"duplicate of {path}[{first}]; list each pair once",
        )
    return _Checked(codes, positions)


def _first(items: Iterable[T]) -> list[T]:
    """Enough items to fill the violation list and mark it truncated, not half a million."""
    taken: list[T] = []
    for item in items:
        taken.append(item)
        if len(taken) > MAX_VIOLATIONS:
            break
    return taken


def _check_fixed_not_forbidden(
    problem: NeedMatchingProblem, fixed: _Checked, forbidden: _Checked, found: Violations
) -> None:
    if len(forbidden.codes) == 0:
        return
    # The stable sort finds each code's earliest forbidden position.
    order = np.argsort(forbidden.codes, kind="stable")
    ordered = forbidden.codes[order]
    at = np.searchsorted(ordered, fixed.codes)
    hit = (at < len(ordered)) & (ordered[np.minimum(at, len(ordered) - 1)] == fixed.codes)
    both = zip(
        fixed.positions[hit].tolist(), forbidden.positions[order[at[hit]]].tolist(), strict=True
    )
    for k, j in _first(both):
        found.add_shown(
            f"policy.fixed_pairs[{k}]",
            _shown(problem.policy.fixed_pairs[k]),
            f"the pair is also forbidden by policy.forbidden_pairs[{j}]; a pair cannot be both "
            "fixed and forbidden: remove one of the two",
        )


# ---------------------------------------------------------------------------------------------
# Fixed pairs that cannot all hold
# ---------------------------------------------------------------------------------------------


def _check_fixed_can_hold(problem: NeedMatchingProblem) -> None:
    needs = {n.need_id: i for i, n in enumerate(problem.needs)}
    orgs = {o.organization_id: j for j, o in enumerate(problem.organizations)}
    by_need: dict[int, list[int]] = defaultdict(list)
    by_org: dict[int, list[int]] = defaultdict(list)
    for k, pair in enumerate(problem.policy.fixed_pairs):
        by_need[needs[pair.need_id]].append(k)
        by_org[orgs[pair.organization_id]].append(k)
    found = Violations()
    for i, ks in sorted(by_need.items()):
        need = problem.needs[i]
        found.require(
            len(ks) <= need.max_organizations,
            f"needs[{i}].max_organizations",
            need.max_organizations,
            f"{len(ks)} fixed pairs ({_paths(ks)}) put {len(ks)} organizations on need "
            f"{show(need.need_id)}, more than its max_organizations {need.max_organizations}; "
            f"unfix {len(ks) - need.max_organizations} or raise max_organizations",
        )
    for j, ks in sorted(by_org.items()):
        org = problem.organizations[j]
        found.require(
            len(ks) <= org.capacity,
            f"organizations[{j}].capacity",
            org.capacity,
            f"{len(ks)} fixed pairs ({_paths(ks)}) give organization "
            f"{show(org.organization_id)} {len(ks)} needs, more than its capacity "
            f"{org.capacity}; unfix {len(ks) - org.capacity} or raise capacity",
        )
    if problem.policy.one_organization_per_domain:
        for ks in by_need.values():
            _check_shared_domains(problem, orgs, ks, found)
    if len(found):
        raise Unsatisfiable(found, found.truncated)


def _check_shared_domains(
    problem: NeedMatchingProblem, orgs: dict[str, int], ks: list[int], found: Violations
) -> None:
    """Each fixed pair whose organization shares a domain with an earlier one on its need."""
    pairs = problem.policy.fixed_pairs
    seen: dict[str, int] = {}
    for k in ks:
        org = problem.organizations[orgs[pairs[k].organization_id]]
        clash = next((d for d in org.domains if d in seen), None)
        if clash is not None:
            other = pairs[seen[clash]].organization_id
            found.add_shown(
                f"policy.fixed_pairs[{k}]",
                _shown(pairs[k]),
                f"with policy.one_organization_per_domain, 2 fixed organizations on need "
                f"{show(pairs[k].need_id)} work in domain {show(clash)}: "
                f"{show(other)} (policy.fixed_pairs[{seen[clash]}]) and "
                f"{show(org.organization_id)}; unfix one of them",
            )
        for d in org.domains:
            seen.setdefault(d, k)


def _paths(ks: list[int]) -> str:
    listed = ", ".join(f"policy.fixed_pairs[{k}]" for k in ks[:LISTED])
    return listed + (f" and {len(ks) - LISTED} more" if len(ks) > LISTED else "")
