"""The (need, organization) pairs the needs-matching solver may choose from, and a pre-check of
the needs that cannot reach their minimum from their candidates, with the reason in counts.

Candidates: every pair that is not forbidden and has affinity ≥ policy.min_affinity, cut to the
policy.candidates_per_need best free pairs per need, plus every fixed pair (always, whatever
its affinity; a fixed pair never takes one of the k places, so fixing a pair never costs a need
an alternative). Pairs come sorted by need, then affinity descending, then organization order.
Affinities are compared at scoring.arrays.KEY_DECIMALS decimals, like every threshold and sort
key of the project, so floating-point noise never decides an order or a cut.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import attrgetter

import numpy as np
import numpy.typing as npt

from matching.needs.affinity import (
    AffinityFeatures,
    FloatArray,
    affinity_rows,
    map_blocks,
    need_blocks,
)
from matching.needs.blocks import Block, top_k_blocks, whole_blocks
from matching.needs.model import NeedMatchingProblem, PairRef, UnmetReason
from scoring.arrays import KEY_DECIMALS
from scoring.errors import show

Int32Array = npt.NDArray[np.int32]
Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

KEY_SCALE = 10**KEY_DECIMALS
"""Affinity units of a sort key: affinities equal to KEY_DECIMALS decimals tie."""
_NONE = np.inf
"""Sort key of a pair that is not a candidate: after every real key."""


@dataclass(frozen=True, slots=True, eq=False)
class CandidatePairs:
    """Candidate pairs as parallel arrays, sorted by need, affinity descending, organization."""

    need: Int32Array
    organization: Int32Array
    affinity: FloatArray
    fixed: BoolArray
    """The pair is in policy.fixed_pairs."""

    def __len__(self) -> int:
        return len(self.need)


def pair_indices(
    problem: NeedMatchingProblem, refs: Sequence[PairRef]
) -> tuple[Int64Array, Int64Array]:
    """The need and organization index of each pair; -1 for an id the request does not have.
    (C-level map over the pairs: a round can forbid half a million of them.)"""
    needs = {n.need_id: i for i, n in enumerate(problem.needs)}
    orgs = {o.organization_id: j for j, o in enumerate(problem.organizations)}
    count = len(refs)
    need = np.fromiter(map(needs.get, map(_NEED_ID, refs), repeat(-1)), dtype=np.int64, count=count)
    org = np.fromiter(map(orgs.get, map(_ORG_ID, refs), repeat(-1)), dtype=np.int64, count=count)
    return need, org


_NEED_ID = attrgetter("need_id")
_ORG_ID = attrgetter("organization_id")


def pair_codes(problem: NeedMatchingProblem, refs: Sequence[PairRef]) -> Int64Array:
    """need × organizations + organization of each pair (validated ids), sorted, unique."""
    need, org = pair_indices(problem, refs)
    return sorted_unique(need * len(problem.organizations) + org)


def sorted_unique(codes: Int64Array) -> Int64Array:
    """np.unique by sorting: numpy's hash-based unique took 20 times longer on 500,000 codes."""
    ordered = np.sort(codes)
    keep = np.ones(len(ordered), dtype=bool)
    keep[1:] = ordered[1:] != ordered[:-1]
    unique: Int64Array = ordered[keep]
    return unique


def candidate_pairs(
    problem: NeedMatchingProblem, features: AffinityFeatures, weights: tuple[float, ...]
) -> CandidatePairs:
    """The candidate pairs of a validated problem, computed block by block of needs (see
    matching.needs.blocks), so the whole need × organization matrix is never held at once."""
    rules = _Rules.of(problem)
    n, m = features.n_needs, features.n_orgs
    if rules.top:
        excluded = np.bincount(rules.forbidden // max(1, m), minlength=n) + np.bincount(
            rules.fixed // max(1, m), minlength=n
        )
        plan = top_k_blocks(features, weights, rules.top, excluded, rules.fixed)
    else:
        plan = whole_blocks(n, m)
    parts = map_blocks(lambda block: _select(features, weights, rules, block), plan)
    pairs = _pairs(*zip(*parts, strict=True)) if parts else _pairs([], [], [], [])
    if np.any(pairs.need[1:] < pairs.need[:-1]):
        # Blocks of needs grouped by domain and region: back to need order (stable, so each
        # need keeps its best-first order).
        order = np.argsort(pairs.need, kind="stable")
        pairs = CandidatePairs(
            pairs.need[order], pairs.organization[order], pairs.affinity[order], pairs.fixed[order]
        )
    return pairs


def _pairs(
    need: Sequence[Int32Array],
    organization: Sequence[Int32Array],
    affinity: Sequence[FloatArray],
    fixed: Sequence[BoolArray],
) -> CandidatePairs:
    return CandidatePairs(
        np.concatenate([np.zeros(0, np.int32), *need]),
        np.concatenate([np.zeros(0, np.int32), *organization]),
        np.concatenate([np.zeros(0, np.float64), *affinity]),
        np.concatenate([np.zeros(0, bool), *fixed]),
    )


@dataclass(frozen=True, slots=True, eq=False)
class _Rules:
    """What selects the candidates, as arrays."""

    n_orgs: int
    forbidden: Int64Array
    fixed: Int64Array
    min_key: int
    """Smallest affinity of a candidate, in KEY_SCALE units."""
    top: int
    """Best free pairs kept per need; 0: all."""

    @staticmethod
    def of(problem: NeedMatchingProblem) -> _Rules:
        policy = problem.policy
        m = len(problem.organizations)
        if (KEY_SCALE + 1) * m >= 2**53:
            raise ValueError(f"{m} organizations: sort keys would not be exact in float64")
        k = policy.candidates_per_need
        return _Rules(
            n_orgs=m,
            forbidden=pair_codes(problem, policy.forbidden_pairs),
            fixed=pair_codes(problem, policy.fixed_pairs),
            min_key=round(policy.min_affinity * KEY_SCALE),
            top=k if k < m else 0,
        )


def sort_keys(affinity: FloatArray) -> FloatArray:
    """Each cell's key, (KEY_SCALE − affinity in KEY_SCALE units) × columns + column: ascending
    keys put higher affinity first and break ties by column, which is organization order.
    Whole numbers below 2**53, so exact in float64 (faster there than in int64, and infinity
    is free as "not a candidate")."""
    width = affinity.shape[1]
    key: FloatArray = np.multiply(affinity, -KEY_SCALE)
    np.rint(key, out=key)
    key += KEY_SCALE
    key *= width
    key += np.arange(width, dtype=np.float64)
    return key


def pair_keys(affinity: FloatArray, column: Int64Array, width: int) -> FloatArray:
    """sort_keys of single cells (the same whole numbers)."""
    keys: FloatArray = (KEY_SCALE - np.rint(affinity * KEY_SCALE)) * width + column
    return keys


def _select(
    features: AffinityFeatures, weights: tuple[float, ...], rules: _Rules, block: Block
) -> tuple[Int32Array, Int32Array, FloatArray, BoolArray]:
    """The block's candidates, by need (block order), then best first."""
    width = rules.n_orgs if block.orgs is None else len(block.orgs)
    affinity = affinity_rows(features, weights, block.needs, block.orgs)
    key = sort_keys(affinity)
    # Below min_affinity: past the key of (min_affinity, last column).
    key[key >= (KEY_SCALE - rules.min_key + 1) * width] = _NONE
    key[_cells(rules.forbidden, block, rules.n_orgs)] = _NONE
    fixed_row, fixed_col = _cells(rules.fixed, block, rules.n_orgs)
    fixed_keys = pair_keys(affinity[fixed_row, fixed_col], fixed_col, width)
    if rules.top and rules.top < width:
        # Fixed pairs leave the race for the k places and join the winners afterwards.
        key[fixed_row, fixed_col] = _NONE
        best = np.partition(key, rules.top - 1, axis=1)[:, : rules.top]
        extra = _fixed_columns(fixed_row, fixed_keys, len(key))
        chosen = np.sort(np.hstack((best, extra)), axis=1)
    else:
        key[fixed_row, fixed_col] = fixed_keys
        chosen = np.sort(key, axis=1)
    # Flat, one pass each: 2-D fancy indexing cost more than the sort on a dense round.
    valid = chosen < _NONE
    row = np.repeat(np.arange(len(chosen)), valid.sum(axis=1))
    col = chosen[valid].astype(np.int64) % width
    cell = row * width + col
    is_fixed = np.zeros(len(cell), dtype=bool)
    if len(fixed_row):
        is_fixed = np.isin(cell, fixed_row * width + fixed_col)
    org = col if block.orgs is None else block.orgs[col]
    return (
        block.needs[row].astype(np.int32),
        org.astype(np.int32),
        affinity.reshape(-1)[cell],
        is_fixed,
    )


def _cells(codes: Int64Array, block: Block, n_orgs: int) -> tuple[Int64Array, Int64Array]:
    """(row, column) in the block of each coded pair that falls in it, by row."""
    needs = block.needs.astype(np.int64)
    lo = np.searchsorted(codes, needs * n_orgs)
    counts = np.searchsorted(codes, (needs + 1) * n_orgs) - lo
    total = int(counts.sum())
    row = np.repeat(np.arange(len(needs), dtype=np.int64), counts)
    # The i-th code of row r sits at lo[r] + i.
    offset = np.repeat(lo - (np.cumsum(counts) - counts), counts)
    org = codes[offset + np.arange(total)] - needs[row] * n_orgs
    if block.orgs is None:
        return row, org
    col = np.searchsorted(block.orgs, org)
    inside = col < len(block.orgs)
    inside[inside] = block.orgs[col[inside]] == org[inside]
    return row[inside], col[inside].astype(np.int64)


def _fixed_columns(row: Int64Array, keys: FloatArray, height: int) -> FloatArray:
    """The fixed pairs' keys as extra columns, a row per need of the block (∞ where unused).
    Rows come sorted, so a pair's column is its place in its need's run."""
    slot = np.arange(len(row)) - np.searchsorted(row, row)
    columns = np.full((height, int(slot.max(initial=-1)) + 1), _NONE)
    columns[row, slot] = keys
    return columns


# ---------------------------------------------------------------------------------------------
# Pre-check: needs that cannot reach their minimum from their candidates
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NeedShortfall:
    """A need whose candidates are fewer than its min_organizations, and why."""

    need: int
    required: int
    candidates: int
    reason: UnmetReason
    message: str


def precheck(
    problem: NeedMatchingProblem,
    features: AffinityFeatures,
    pairs: CandidatePairs,
    weights: tuple[float, ...] | None = None,
) -> tuple[NeedShortfall, ...]:
    """Every need with fewer candidates than its minimum, with the first reason that applies:

    1. CONFLICTS: without its forbidden pairs it would have had enough candidates.
    2. DOMAIN_MISMATCH: policy.min_affinity is what cuts it short (without that cut it would
       have enough) and no organization of the request works in its domain.
    3. REGION_MISMATCH: the same, and no organization works in its region or an adjacent one.
    4. NO_CANDIDATE: anything else (min_affinity without a mismatch, candidates_per_need
       below the minimum, too few organizations); the message gives the counts.

    Only the short needs' affinities are recomputed, so this costs little when none is short.
    `weights` defaults to the policy's normalised weights."""
    counts = np.bincount(pairs.need, minlength=features.n_needs)
    required = np.array([need.min_organizations for need in problem.needs], dtype=np.int64)
    short = np.flatnonzero(counts < required)
    if len(short) == 0:
        return ()
    tallies = _tallies(problem, features, weights or problem.policy.weights.normalised(), short)
    known = _Known.of(problem)
    return tuple(
        _shortfall(problem, known, int(i), int(counts[i]), t)
        for i, t in zip(short.tolist(), tallies, strict=True)
    )


@dataclass(frozen=True, slots=True)
class _Tally:
    """Where one need's organizations went: organizations = fixed + forbidden + below +
    eligible."""

    fixed: int
    forbidden: int
    below: int
    """Free, allowed pairs below min_affinity."""
    eligible: int
    """Free, allowed pairs at or above min_affinity (before candidates_per_need)."""
    forbidden_eligible: int
    """Forbidden pairs that would have been eligible."""


def _tallies(
    problem: NeedMatchingProblem,
    features: AffinityFeatures,
    weights: tuple[float, ...],
    short: Int64Array,
) -> list[_Tally]:
    """The short needs' tallies, a block of them at a time (all may be short)."""
    rules = _Rules.of(problem)
    m = rules.n_orgs
    found: list[_Tally] = []
    for part in need_blocks(len(short), m):
        block = Block(short[part], None)
        above = np.rint(affinity_rows(features, weights, block.needs) * KEY_SCALE) >= rules.min_key
        forbidden = np.zeros_like(above)
        forbidden[_cells(rules.forbidden, block, m)] = True
        fixed = np.zeros_like(above)
        fixed[_cells(rules.fixed, block, m)] = True
        free = ~forbidden & ~fixed
        counts = np.column_stack(
            [
                fixed.sum(axis=1),
                forbidden.sum(axis=1),
                (free & ~above).sum(axis=1),
                (free & above).sum(axis=1),
                (forbidden & above).sum(axis=1),
            ]
        )
        found += [_Tally(*row) for row in counts.tolist()]
    return found


@dataclass(frozen=True, slots=True)
class _Known:
    """The domains and regions some organization works in, and the adjacency both ways."""

    domains: frozenset[str]
    regions: frozenset[str]
    near: dict[str, set[str]]

    @staticmethod
    def of(problem: NeedMatchingProblem) -> _Known:
        near: dict[str, set[str]] = {}
        for region, others in problem.policy.region_adjacency.items():
            for other in others:
                near.setdefault(region, set()).add(other)
                near.setdefault(other, set()).add(region)
        orgs = problem.organizations
        return _Known(
            frozenset(d for o in orgs for d in o.domains),
            frozenset(r for o in orgs for r in o.regions),
            near,
        )

    def no_domain(self, domain: str) -> bool:
        return bool(domain) and domain not in self.domains

    def no_region(self, region: str) -> bool:
        near = {region, *self.near.get(region, ())}
        return bool(region) and not near & self.regions


def _shortfall(
    problem: NeedMatchingProblem, known: _Known, i: int, candidates: int, t: _Tally
) -> NeedShortfall:
    need, policy = problem.needs[i], problem.policy
    required = need.min_organizations
    k = policy.candidates_per_need

    def kept(eligible: int) -> int:
        return t.fixed + (min(eligible, k) if k else eligible)

    head = (
        f"needs {_count(required, 'organization')}; "
        f"{_count(candidates, 'candidate')} {'remains' if candidates == 1 else 'remain'}"
    )
    below = (
        f"{_count(t.below, 'organization')} fell below policy.min_affinity {policy.min_affinity:g}"
    )
    # min_affinity is what cuts the need short: without it there would be enough.
    cut_by_min = t.below > 0 and kept(t.eligible + t.below) >= required
    if t.forbidden and kept(t.eligible + t.forbidden_eligible) >= required:
        reason = UnmetReason.CONFLICTS
        message = f"{head}: {_count(t.forbidden, 'organization')} excluded by conflicts"
    elif cut_by_min and known.no_domain(need.domain):
        reason = UnmetReason.DOMAIN_MISMATCH
        message = f"{head}: no organization works in domain {show(need.domain)}, and {below}"
    elif cut_by_min and known.no_region(need.region):
        reason = UnmetReason.REGION_MISMATCH
        message = (
            f"{head}: no organization works in region {show(need.region)} or a region adjacent "
            f"to it, and {below}"
        )
    else:
        reason = UnmetReason.NO_CANDIDATE
        m = len(problem.organizations)
        message = f"{head} of {_count(m, 'organization')}: {_losses(t, k, below)}"
    return NeedShortfall(i, required, candidates, reason, message)


def _losses(t: _Tally, k: int, below: str) -> str:
    losses = []
    if t.forbidden:
        losses.append(f"{_count(t.forbidden, 'organization')} excluded by conflicts")
    if t.below:
        losses.append(below)
    if k and t.eligible > k:
        losses.append(f"policy.candidates_per_need keeps the best {k}")
    return "; ".join(losses) or "the request has too few organizations"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def demand_above_capacity(problem: NeedMatchingProblem) -> str | None:
    """The needs' minimums against the organizations' total capacity, in words when they can
    never be met; None otherwise. (Necessary, not sufficient: the engine's max-flow check is
    exact.)"""
    demand = sum(n.min_organizations for n in problem.needs)
    capacity = sum(o.capacity for o in problem.organizations)
    if demand <= capacity:
        return None
    return (
        f"the needs require {demand} organization places in all (sum of min_organizations) "
        f"but the organizations can take only {capacity} (sum of capacity)"
    )


def loads_above_room(problem: NeedMatchingProblem) -> str | None:
    """The organizations' minimum loads against the places the needs accept, in words when
    they can never be met; None otherwise."""
    load = sum(o.min_load for o in problem.organizations)
    room = sum(n.max_organizations for n in problem.needs)
    if load <= room:
        return None
    return (
        f"the organizations must take {load} needs in all (sum of min_load) but the needs "
        f"accept only {room} organizations (sum of max_organizations)"
    )
