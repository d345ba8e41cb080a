"""How candidate selection walks the need × organization matrix: in blocks of needs, and, when
only each need's top k is kept, over only the organizations that can still make it.

Affinity without its text part is a lower bound of the total, at most the text weight below
it. Needs with the same domain and region share that bound row, so per group of such needs:
with e the most pairs a need of the group excludes (forbidden or fixed) and L the (k + e)-th
largest bound, every need has at least k allowed organizations scoring at least L, so an
organization whose bound plus the text weight stays below L cannot be among its k best (nor,
if fewer than k clear min_affinity, clear it). Blocks gather groups until they hold about
BLOCK_CELLS cells of the organizations some of their needs can reach, so the sparse text
product and the top-k selection skip most of the matrix whenever domain and region decide
much of the affinity (with the default weights, about 70% of it on the benchmark's rounds).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from matching.needs import affinity
from matching.needs.affinity import AffinityFeatures, IntArray, affinity_without_text

BoolArray = npt.NDArray[np.bool_]

MARGIN = 4e-9
"""Slack on the bound, above the KEY_DECIMALS resolution (1e-9) at which candidates compare
affinities, so an organization is skipped only when it loses outright, never on a tie."""
MIN_GROUP = 4
"""Skip no organization when needs average fewer than this many per (domain, region) group:
the bound rows would cost about as much as the matrix they spare."""


@dataclass(frozen=True, slots=True, eq=False)
class Block:
    """Some needs (any order) and the organizations (ascending) to consider for them; None: all."""

    needs: IntArray
    orgs: IntArray | None


def whole_blocks(n_needs: int, n_orgs: int) -> list[Block]:
    """Consecutive needs against every organization."""
    return [
        Block(np.arange(rows.start, rows.stop, dtype=np.intp), None)
        for rows in affinity.need_blocks(n_needs, n_orgs)
    ]


def top_k_blocks(
    features: AffinityFeatures,
    weights: tuple[float, ...],
    k: int,
    excluded: IntArray,
    fixed_codes: npt.NDArray[np.int64],
) -> list[Block]:
    """Blocks covering every need once, each with the organizations any of its needs can have
    among its k best, plus those of its needs' fixed pairs. `excluded`: forbidden and fixed
    pairs per need; `fixed_codes`: need × organizations + organization, sorted."""
    n, m = features.n_needs, features.n_orgs
    group_of = features.need_domain * features.region_table.shape[0] + features.need_region
    groups, first, group = np.unique(group_of, return_index=True, return_inverse=True)
    if len(groups) * MIN_GROUP > n:
        return whole_blocks(n, m)
    kth = k + np.zeros(len(groups), dtype=np.intp)
    np.maximum.at(kth, group, k + excluded)
    if np.all(kth >= m):
        return whole_blocks(n, m)
    reach = _reach(features, weights, first, np.minimum(kth, m))
    members = np.split(np.argsort(group, kind="stable"), np.cumsum(np.bincount(group))[:-1])
    blocks: list[Block] = []
    needs: list[IntArray] = []
    size = 0
    union = np.zeros(m, dtype=bool)
    for g, group_needs in enumerate(members):
        wider = union | reach[g]
        if needs and (size + len(group_needs)) * int(wider.sum()) > affinity.BLOCK_CELLS:
            blocks.append(_block(needs, union, fixed_codes, m))
            needs, size, wider = [], 0, reach[g].copy()
        needs.append(group_needs)
        size += len(group_needs)
        union = wider
    if needs:
        blocks.append(_block(needs, union, fixed_codes, m))
    return [piece for block in blocks for piece in _split(block)]


def _reach(
    features: AffinityFeatures, weights: tuple[float, ...], first: IntArray, kth: IntArray
) -> BoolArray:
    """Per group (its first need stands for it), the organizations that can make its top k;
    kth[g] is k plus the most pairs a need of the group excludes."""
    m = features.n_orgs
    reach = np.zeros((len(first), m), dtype=bool)
    rows = max(1, affinity.BLOCK_CELLS // m)
    for start in range(0, len(first), rows):
        part = slice(start, start + rows)
        bound = affinity_without_text(features, weights, first[part])
        at = m - kth[part]
        floor = np.partition(bound, np.unique(at), axis=1)[np.arange(len(at)), at]
        reach[part] = bound + weights[2] >= (floor - MARGIN)[:, None]
    return reach


def _block(
    needs: list[IntArray], union: BoolArray, fixed_codes: npt.NDArray[np.int64], m: int
) -> Block:
    joined = np.concatenate(needs)
    orgs = union.copy()
    # Fixed pairs are candidates whatever their affinity: their organizations always count.
    need_of, org_of = np.divmod(fixed_codes, m)
    orgs[org_of[np.isin(need_of, joined)]] = True
    return Block(joined, np.flatnonzero(orgs))


def _split(block: Block) -> list[Block]:
    """A block of one big group, cut to about BLOCK_CELLS cells a piece."""
    width = len(block.orgs) if block.orgs is not None else 1
    rows = max(1, affinity.BLOCK_CELLS // max(1, width))
    return [
        Block(block.needs[start : start + rows], block.orgs)
        for start in range(0, len(block.needs), rows)
    ]
