"""Affinity of a need and an organization: six parts in [0, 1] and their weighted sum, for one
pair (explained), a block of needs, or the whole matrix, from features computed once a request.

The parts, in AFFINITY_PARTS order:
- domain: 1 when the organization works in the need's domain, else 0 (a need without a
  domain: 0 for every organization).
- region: 1 when the organization works in the need's region, 0.5 when it works in a region
  adjacent to it (policy.region_adjacency, read both ways), else 0. A need without a region
  scores 0; an empty region string never matches.
- text: cosine similarity of TF-IDF character n-grams (matching.needs.text) between the need's
  description and the organization's description and past projects; 0 when either is empty.
- rating: the official rating's value (unrated 0, 1A 0.2 … 5A 1).
- track_record: mean past evaluation grade / 100. An organization without a record gets the
  mean over the request's organizations that have one (no evidence either way reads as an
  average peer, neither rewarded nor punished); 0.5 when none has one.
- capacity: capacity / the largest capacity in the request, a "room to take on work" signal.

The total is Σ weight × value with weights normalised to sum to 1 (AffinityWeights.normalised),
so it lies in [0, 1] and the contributions sum to it. Everything here is arithmetic on arrays
fixed by the request, so the same request gives the same affinities bit for bit.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from matching.needs import text
from matching.needs.model import AFFINITY_PARTS, Affinity, AffinityPart, Need
from matching.organization import Organization

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
CodeArray = npt.NDArray[np.uint8]

DENSE_TEXT_CELLS = 4_000_000
"""Keep the whole need × organization text similarity (8 bytes a cell, 32 MB here) when it is
at most this large, so that re-weighting costs no sparse product; larger requests compute it
block by block (affinity_rows) and never hold the whole matrix."""

BLOCK_CELLS = 1 << 20
"""Needs are processed in blocks of about this many need × organization cells (8 MB of
float64 each), small enough to stay in cache-friendly sizes and to bound memory."""
WORKERS = min(2, os.cpu_count() or 1)
"""Threads computing blocks at once: numpy and scipy's sparse product release the GIL, so two
blocks run in parallel; results are joined in block order, so they never depend on this."""

SAME_REGION = 2
"""Code of a same-region match in the region table (adjacent is 1); the value is code / 2."""


@dataclass(frozen=True, slots=True, eq=False)
class AffinityFeatures:
    """Everything affinity needs from one request, independent of the weights.

    Domain and region are tables over the distinct values the needs use (one extra all-zero
    row for a need without one), so a block of needs reads its rows by index."""

    n_needs: int
    n_orgs: int
    need_domain: IntArray
    """Row of domain_table for each need."""
    domain_table: CodeArray
    """(distinct need domains + 1, orgs): 1 where the organization works in that domain."""
    need_region: IntArray
    """Row of region_table for each need."""
    region_table: CodeArray
    """(distinct need regions + 1, orgs): 2 same region, 1 adjacent, 0 neither."""
    need_text: sp.csr_matrix
    org_text: sp.csr_matrix
    org_text_t: sp.csr_matrix
    """org_text transposed once (vocabulary × orgs), the right side of every product."""
    text: FloatArray | None
    """The whole text similarity (needs × orgs) when it fits DENSE_TEXT_CELLS, else None."""
    rating: FloatArray
    track_record: FloatArray
    capacity: FloatArray


def features_of(
    needs: Sequence[Need],
    organizations: Sequence[Organization],
    adjacency: Mapping[str, tuple[str, ...]],
    dense_text_cells: int = DENSE_TEXT_CELLS,
) -> AffinityFeatures:
    """The request's affinity features (a few hundred ms for thousands of texts)."""
    need_domain, domain_table = _domain_table(needs, organizations)
    need_region, region_table = _region_table(needs, organizations, adjacency)
    need_text, org_text = text.tfidf_rows(
        [text.need_text(n) for n in needs], [text.organization_text(o) for o in organizations]
    )
    org_text_t = sp.csr_matrix(org_text.T)
    cached = None
    if len(needs) * len(organizations) <= dense_text_cells:
        cached = _cosine_all(need_text, org_text_t, len(organizations))
    return AffinityFeatures(
        n_needs=len(needs),
        n_orgs=len(organizations),
        need_domain=need_domain,
        domain_table=domain_table,
        need_region=need_region,
        region_table=region_table,
        need_text=need_text,
        org_text=org_text,
        org_text_t=org_text_t,
        text=cached,
        rating=np.array([o.rating.value for o in organizations], dtype=np.float64),
        track_record=_track_records(organizations),
        capacity=_capacities(organizations),
    )


def _cosine_all(need_text: sp.csr_matrix, org_text_t: sp.csr_matrix, n_orgs: int) -> FloatArray:
    parts = map_blocks(
        lambda rows: text.cosine_block(need_text[rows], org_text_t),
        need_blocks(need_text.shape[0], n_orgs),
    )
    if not parts:
        return np.zeros((0, n_orgs), dtype=np.float64)
    return np.concatenate(parts)


T = TypeVar("T")
B = TypeVar("B")


def need_blocks(n_needs: int, n_orgs: int) -> list[slice]:
    """Consecutive blocks of needs of about BLOCK_CELLS need × organization cells each."""
    size = max(1, BLOCK_CELLS // max(1, n_orgs))
    return [slice(start, min(start + size, n_needs)) for start in range(0, n_needs, size)]


def map_blocks(work: Callable[[B], T], blocks: Sequence[B]) -> list[T]:
    """`work` on each block, WORKERS at a time, results in block order."""
    if len(blocks) <= 1 or WORKERS == 1:
        return [work(b) for b in blocks]
    with ThreadPoolExecutor(WORKERS, thread_name_prefix="venture-affinity") as pool:
        return list(pool.map(work, blocks))


def _index(values: Sequence[str]) -> tuple[IntArray, list[str]]:
    """Each value's row among the distinct non-empty values (first-seen order); the empty
    value gets the last row, which stays all zero."""
    distinct = list(dict.fromkeys(v for v in values if v))
    row = {v: k for k, v in enumerate(distinct)}
    return np.array([row.get(v, len(distinct)) for v in values], dtype=np.intp), distinct


def _domain_table(
    needs: Sequence[Need], organizations: Sequence[Organization]
) -> tuple[IntArray, CodeArray]:
    need_domain, distinct = _index([n.domain for n in needs])
    row = {d: k for k, d in enumerate(distinct)}
    table = np.zeros((len(distinct) + 1, len(organizations)), dtype=np.uint8)
    for j, org in enumerate(organizations):
        for domain in org.domains:
            if domain in row:
                table[row[domain], j] = 1
    return need_domain, table


def _region_table(
    needs: Sequence[Need],
    organizations: Sequence[Organization],
    adjacency: Mapping[str, tuple[str, ...]],
) -> tuple[IntArray, CodeArray]:
    need_region, distinct = _index([n.region for n in needs])
    row = {r: k for k, r in enumerate(distinct)}
    near: dict[str, set[int]] = {}
    # Symmetric: a→b given means b is near a and a is near b; only the needs' regions matter.
    for region, others in adjacency.items():
        for other in others:
            if other in row and region:
                near.setdefault(region, set()).add(row[other])
            if region in row and other:
                near.setdefault(other, set()).add(row[region])
    table = np.zeros((len(distinct) + 1, len(organizations)), dtype=np.uint8)
    for j, org in enumerate(organizations):
        for region in org.regions:
            for k in near.get(region, ()):
                table[k, j] = 1
        # After the adjacent ones, so that the same region wins.
        for region in org.regions:
            if region in row:
                table[row[region], j] = SAME_REGION
    return need_region, table


def _track_records(organizations: Sequence[Organization]) -> FloatArray:
    known = [o.track_record for o in organizations if o.track_record is not None]
    neutral = sum(known) / len(known) if known else 0.5
    return np.array(
        [neutral if o.track_record is None else o.track_record for o in organizations],
        dtype=np.float64,
    )


def _capacities(organizations: Sequence[Organization]) -> FloatArray:
    capacity = np.array([o.capacity for o in organizations], dtype=np.float64)
    if len(capacity) == 0:
        return capacity
    # Capacities are at least 1 (model), so the largest is never 0.
    scaled: FloatArray = capacity / capacity.max()
    return scaled


# ---------------------------------------------------------------------------------------------
# Combining the parts
# ---------------------------------------------------------------------------------------------


def part_matrices(features: AffinityFeatures) -> tuple[FloatArray, ...]:
    """The six part values as (needs, orgs) float64 arrays in AFFINITY_PARTS order (for tests
    and small requests: it holds six full matrices)."""
    shape = (features.n_needs, features.n_orgs)
    rows = slice(0, features.n_needs)
    return (
        features.domain_table[features.need_domain].astype(np.float64),
        features.region_table[features.need_region] / float(SAME_REGION),
        _text_rows(features, rows, None),
        np.broadcast_to(features.rating, shape).copy(),
        np.broadcast_to(features.track_record, shape).copy(),
        np.broadcast_to(features.capacity, shape).copy(),
    )


def affinity_matrix(features: AffinityFeatures, weights: tuple[float, ...]) -> FloatArray:
    """Total affinity of every need with every organization, (needs, orgs) float64."""
    return affinity_rows(features, weights, slice(0, features.n_needs))


def affinity_rows(
    features: AffinityFeatures,
    weights: tuple[float, ...],
    needs: slice | IntArray,
    orgs: IntArray | None = None,
) -> FloatArray:
    """Total affinity of the given needs (a slice or index array) with every organization, or
    with the given organizations only (sorted indices), as a fresh float64 array.

    Summed as (domain + region) + text + (rating + track record + capacity), the grouping of
    affinity_of; and a cell's text is summed over the same n-grams in the same order whichever
    organizations are asked for, so a pair's total is the same float however it is computed."""
    total = _domain_and_region(features, weights, needs, orgs)
    text_part = _text_rows(features, needs, orgs)
    text_part *= weights[2]
    total += text_part
    by_org = _organization_part(features, weights)
    total += by_org if orgs is None else by_org[orgs]
    np.minimum(total, 1.0, out=total)
    return total


def affinity_without_text(
    features: AffinityFeatures, weights: tuple[float, ...], needs: slice | IntArray
) -> FloatArray:
    """affinity_rows less the text part, over every organization: cheap (no sparse product),
    at most the total and at least the total − weights[2], so it bounds which organizations
    can still reach a need's top k."""
    total = _domain_and_region(features, weights, needs, None)
    total += _organization_part(features, weights)
    return total


def _domain_and_region(
    features: AffinityFeatures,
    weights: tuple[float, ...],
    needs: slice | IntArray,
    orgs: IntArray | None,
) -> FloatArray:
    """w_domain × domain + w_region × region of each cell."""
    # Domain (0/1) and region (0, 1/2, 1) meet in six combinations: one table lookup each.
    lookup = np.array(
        [
            (weights[0] * d) + (weights[1] * (r / float(SAME_REGION)))
            for d in range(2)
            for r in range(SAME_REGION + 1)
        ],
        dtype=np.float64,
    )
    domain_table, region_table = features.domain_table, features.region_table
    if orgs is not None:
        # Columns first: the tables have a row per distinct value, far fewer than needs.
        domain_table, region_table = domain_table[:, orgs], region_table[:, orgs]
    code = domain_table[features.need_domain[needs]]
    region = region_table[features.need_region[needs]]
    code *= SAME_REGION + 1
    code += region
    total: FloatArray = lookup[code]
    return total


def _organization_part(features: AffinityFeatures, weights: tuple[float, ...]) -> FloatArray:
    """rating + track record + capacity contributions per organization."""
    part: FloatArray = (
        (weights[3] * features.rating)
        + (weights[4] * features.track_record)
        + (weights[5] * features.capacity)
    )
    return part


def _text_rows(
    features: AffinityFeatures, needs: slice | IntArray, orgs: IntArray | None
) -> FloatArray:
    """Text similarity of the given needs with the organizations (a fresh array)."""
    if features.text is not None:
        if orgs is None:
            return np.array(features.text[needs], dtype=np.float64)
        rows = np.arange(features.n_needs)[needs]
        return np.array(features.text[np.ix_(rows, orgs)], dtype=np.float64)
    right = features.org_text_t if orgs is None else sp.csr_matrix(features.org_text[orgs].T)
    return text.cosine_block(features.need_text[needs], right)


def affinity_of(
    features: AffinityFeatures, weights: tuple[float, ...], need: int, organization: int
) -> Affinity:
    """One pair's affinity with its six parts; the total equals affinity_matrix's entry."""
    values = part_values(features, need, organization)
    contributions = [w * v for w, v in zip(weights, values, strict=True)]
    total = (
        (contributions[0] + contributions[1])
        + contributions[2]
        + (contributions[3] + contributions[4] + contributions[5])
    )
    return Affinity(
        total=min(total, 1.0),
        parts=tuple(
            AffinityPart(name, w, v, c)
            for name, w, v, c in zip(AFFINITY_PARTS, weights, values, contributions, strict=True)
        ),
    )


def part_values(features: AffinityFeatures, need: int, organization: int) -> tuple[float, ...]:
    """One pair's six part values in AFFINITY_PARTS order."""
    j = organization
    if features.text is not None:
        similarity = float(features.text[need, j])
    else:
        similarity = text.cosine_pair(features.need_text, features.org_text, need, j)
    return (
        float(features.domain_table[features.need_domain[need], j]),
        int(features.region_table[features.need_region[need], j]) / float(SAME_REGION),
        similarity,
        float(features.rating[j]),
        float(features.track_record[j]),
        float(features.capacity[j]),
    )
