"""CALIBRATED aggregation: least squares s_jpc = q_pc + b_jc + noise on the judge × proposal design.

One OLS per criterion, every criterion at once. The fitted values q_p + b_j are unique, so the
solver only decides speed and the last bits:

- dense (the usual case: the smaller side of the design, judges or proposals, has at most
  DENSE_MAX_UNKNOWNS members): the normal equations with the larger side eliminated (its block
  is diagonal) leave a graph-Laplacian system on the smaller side, made definite per connected
  component and solved exactly by LU;
- sparse (larger designs): scikit-learn's LinearRegression, LSQR on the sparse one-hot design.

Offsets are identified per connected component of the judge–proposal graph: they are shifted so
that the offsets over the component's sheets sum to zero, so calibrated scores keep the raw mean
level. Across components offsets are not comparable; a DESIGN_DISCONNECTED notice says so.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from sklearn.linear_model import LinearRegression
from threadpoolctl import ThreadpoolController

from scoring.arrays import BoolArray, FloatArray, IntArray, group_sums
from scoring.model import Notice
from scoring.sheets import SheetTable

DESIGN_DISCONNECTED = "DESIGN_DISCONNECTED"
LSQR_TOLERANCE = 1e-10
"""atol and btol of LSQR: estimates agree with an exact solve to about 1e-8."""
DENSE_MAX_UNKNOWNS = 1000
"""The dense solve factors one (unknowns × unknowns) matrix: one unknown per member of the
design's smaller side (judges, usually)."""
DENSE_MAX_PAIRS = 4_000_000
"""And it visits every pair of sheets sharing a member of the larger side (Σ n² over them)."""
INCIDENCE_WORK_PER_PAIR = 8
"""The coupling matrix goes through the dense incidence matrix while its e·k² multiply-adds are
at most this many per sheet pair (a pass over the pairs costs about that many operations)."""
PAIRS_CHUNK = 1 << 20
"""Sheet pairs counted at once (their cell indices take 8 MB)."""
SINGLE_THREAD_UNKNOWNS = 64
"""Systems up to this size are solved without the single-thread limit (it costs tens of
microseconds): OpenBLAS's dgesv, behind numpy.linalg.solve, runs on the calling thread while
n² < 10,000 anyway. Larger ones run under it."""
LABEL_PROPAGATION_MAX = 64
"""Components of a smaller side up to this size are found by min-label propagation on its dense
adjacency; larger ones by scipy's connected_components."""


@dataclass(frozen=True, slots=True)
class Calibration:
    """Fitted qualities q_pc (proposals × criteria; 0 when unscored) and offsets b_jc (judges ×
    criteria; 0 for judges without valid sheets), and notices about the design."""

    quality: FloatArray
    offsets: FloatArray
    notices: tuple[Notice, ...]


@dataclass(frozen=True, slots=True)
class _Fit:
    """An unidentified least-squares fit on the used proposals and judges, and the connected
    component of every node (proposals first, then judges; labels in order of each component's
    first proposal)."""

    quality: FloatArray
    offsets: FloatArray
    group: IntArray
    groups: int


def calibrate(table: SheetTable, *, dense: bool | None = None) -> Calibration:
    """Fit the additive judge-offset model on every criterion at once and identify offsets.

    `dense` forces the solver (None: chosen by size, see the module's docstring)."""
    proposals, judges = len(table.proposal_ids), len(table.judge_ids)
    criteria = len(table.rubric.criterion_ids)
    quality = np.zeros((proposals, criteria))
    offsets = np.zeros((judges, criteria))
    if len(table.totals) == 0:
        return Calibration(quality, offsets, ())
    # The used proposals and judges in index order and each sheet's column among them (what
    # np.unique(..., return_inverse=True) gives, from the counts the table already has).
    used_p, p_col = _used(table.counts, table.proposal)
    used_j, j_col = _used(table.sheets_per_judge, table.judge)
    if dense is None:
        dense = _dense_pays(table.counts[used_p], table.sheets_per_judge[used_j])
    solve = _dense_fit if dense else _sparse_fit
    fit = solve(p_col, j_col, len(used_p), len(used_j), table.scores)
    group, groups = fit.group, fit.groups
    shift = _identifying_shift(fit.offsets[j_col], group[len(used_p) + j_col], groups)
    quality[used_p] = fit.quality - shift[group[: len(used_p)]]
    offsets[used_j] = fit.offsets + shift[group[len(used_p) :]]
    notices = _disconnected(table, used_j, group[len(used_p) :], groups)
    return Calibration(quality, offsets, notices)


def _dense_pays(proposal_sheets: IntArray, judge_sheets: IntArray) -> bool:
    """Whether the dense solve is the cheaper one, from the sheet counts of the used proposals
    and judges: few unknowns on the smaller side, few sheet pairs on the larger."""
    kept, eliminated = sorted((judge_sheets, proposal_sheets), key=len)
    pairs = int(np.dot(eliminated, eliminated))
    return len(kept) <= DENSE_MAX_UNKNOWNS and pairs <= DENSE_MAX_PAIRS


def _used(counts: IntArray, index: IntArray) -> tuple[IntArray, IntArray]:
    """Indices with a positive count, and each item's position among them."""
    present = counts > 0
    if present.all():  # the usual case: every index is used, so each is its own position
        return np.arange(len(counts)), index
    used: IntArray = np.flatnonzero(present)
    column: IntArray = (np.cumsum(present) - 1)[index]
    return used, column


def _cells(groups: IntArray, width: int) -> IntArray:
    """For rows of `width` values, each value's cell group·width + column in a flat groups ×
    width array, column by column (every row of column 0 in order, then of column 1, ...):
    the broadcast then runs along the long axis, many times cheaper than along the short one.
    """
    cells: IntArray = (groups * width + np.arange(width)[:, None]).ravel()
    return cells


def _cell_sums(cells: IntArray, values: FloatArray, count: int) -> FloatArray:
    """group_sums(groups, values, count) for rows of k values, given _cells(groups, k).

    One bincount over all cells instead of one per column (these arrays are small, so each
    call's overhead is what costs): every cell still adds its values in row order from zero,
    so the sums are the same floats."""
    width = values.shape[1]
    sums = np.bincount(cells, weights=values.T.ravel(), minlength=count * width)
    return cast(FloatArray, sums.reshape(count, width))  # weighted: float64, whatever the stubs say


def warm_up() -> None:
    """Build the BLAS thread controller now rather than in the first call with a large design."""
    _blas_controller()


@cache
def _blas_controller() -> ThreadpoolController:
    """BLAS pools seen once numpy, scipy and scikit-learn are loaded.

    LSQR's vector norms are BLAS calls; with OpenBLAS threads on a small machine each call can
    wait milliseconds for its workers (calibration swung from 12 to 150 ms), and a single thread
    also makes the sums independent of the machine's core count.
    """
    return ThreadpoolController()


def _single_blas_thread() -> AbstractContextManager[Any]:
    limit: AbstractContextManager[Any] = _blas_controller().limit(limits=1, user_api="blas")
    return limit


# ---------------------------------------------------------------------------------------------
# Dense: the normal equations reduced to the smaller side
# ---------------------------------------------------------------------------------------------


def _dense_fit(
    p_col: IntArray, j_col: IntArray, proposals: int, judges: int, scores: FloatArray
) -> _Fit:
    """Exact least squares through the smaller side's reduced normal equations.

    With the kept side's values x (k of them) and the eliminated side's y (e), each sheet s links
    k_s and e_s, and the normal equations read
        n_e·y_e + Σ_{s∈e} x_{k_s} = S_e        n_k·x_k + Σ_{s∈k} y_{e_s} = S_k
    (n: sheet counts, S: score sums). Eliminating y_e = (S_e − Σ_{s∈e} x_{k_s})/n_e leaves
        (diag(n_k) − C)·x = S_k − Σ_s e_{k_s}·S_{e_s}/n_{e_s}
    with C = Σ_e (1/n_e)·Σ_{s,t∈e} e_{k_s}·e_{k_t}ᵀ: a weighted graph Laplacian on the kept side,
    singular along the indicator of each connected component (the additive model's free
    constant per component). Adding α_c·1_c·1_cᵀ per component makes it definite and picks the
    solution with Σ_{k∈c} x_k = 0, a valid least-squares solution; the identifying shift then
    fixes the offsets.
    """
    keep_judges = judges <= proposals
    if keep_judges:
        k_col, e_col, k, e = j_col, p_col, judges, proposals
    else:
        k_col, e_col, k, e = p_col, j_col, proposals, judges
    n_k = np.bincount(k_col, minlength=k).astype(np.float64)
    sizes = np.bincount(e_col, minlength=e)
    n_e = sizes.astype(np.float64)
    criteria = scores.shape[1]
    k_cells, e_cells = _cells(k_col, criteria), _cells(e_col, criteria)
    sums_e = _cell_sums(e_cells, scores, e)
    means_e: FloatArray = sums_e / n_e[:, None]
    rhs = _cell_sums(k_cells, scores, k) - _cell_sums(k_cells, means_e[e_col], k)
    coupling = _coupling(k_col, e_col, sizes, k)
    label, groups = _labels(coupling > 0)
    system = np.diag(n_k) - coupling
    if groups == 1:
        # One component (the usual case): α = (Σ n_k / k) / k on every entry; the general
        # form below adds the same α, and 0.0 nowhere, through five more array calls.
        system += (group_sums(label, n_k, 1)[0] / k) / k
    else:
        members = np.bincount(label, minlength=groups)
        alpha = (group_sums(label, n_k, groups) / members) / members  # eigenvalue: mean n_k
        system += np.where(label[:, None] == label[None, :], alpha[label][:, None], 0.0)
    with _single_blas_thread() if k > SINGLE_THREAD_UNKNOWNS else nullcontext():
        kept = np.asarray(np.linalg.solve(system, rhs), dtype=np.float64)
    eliminated: FloatArray = (sums_e - _cell_sums(e_cells, kept[k_col], e)) / n_e[:, None]
    # Every eliminated node has a sheet, so it takes the component of a kept neighbour.
    eliminated_label = np.empty(e, dtype=np.intp)
    eliminated_label[e_col] = label[k_col]
    if keep_judges:
        quality, offsets, p_label, j_label = eliminated, kept, eliminated_label, label
    else:
        quality, offsets, p_label, j_label = kept, eliminated, label, eliminated_label
    group = _in_proposal_order(np.concatenate((p_label, j_label)), p_label, groups)
    return _Fit(quality, offsets, group, groups)


def _coupling(k_col: IntArray, e_col: IntArray, sizes: IntArray, k: int) -> FloatArray:
    """C (k × k): 1/n_e for every ordered pair of sheets (a sheet with itself included) sharing
    an eliminated node e (n_e sheets), summed onto the pair's kept nodes.

    Two routes to the same sums: Wᵀdiag(1/n_e)W through the dense e × k incidence matrix W when
    that product is cheap (few kept nodes), or counts of the sheet pairs, taken together for the
    eliminated nodes with the same number of sheets (many kept nodes, few sheets per eliminated
    node). einsum, not matmul: no BLAS threads."""
    e = len(sizes)
    if e * k * k <= INCIDENCE_WORK_PER_PAIR * int(np.dot(sizes, sizes)):
        incidence = np.zeros((e, k))
        incidence[e_col, k_col] = 1.0
        product: FloatArray = np.einsum("ek,el->kl", incidence / sizes[:, None], incidence)
        return product
    kept = k_col[np.argsort(e_col, kind="stable")]  # sheets grouped by eliminated node
    starts = np.cumsum(sizes) - sizes
    coupling = np.zeros(k * k)
    for n in np.unique(sizes).tolist():
        nodes = starts[sizes == n]
        step = max(1, PAIRS_CHUNK // (n * n))
        for first in range(0, len(nodes), step):
            block = kept[nodes[first : first + step, None] + np.arange(n)]  # their kept nodes
            cells = (block[:, :, None] * k + block[:, None, :]).ravel()
            coupling += np.bincount(cells, minlength=k * k) / n
    return coupling.reshape(k, k)


def _labels(adjacent: BoolArray) -> tuple[IntArray, int]:
    """Connected components of a small undirected graph given as a dense adjacency matrix with
    a true diagonal: labels 0, 1, ... in order of each component's lowest node."""
    nodes = len(adjacent)
    if adjacent[0].all():  # the usual case: node 0 neighbours every node, one component
        return np.zeros(nodes, dtype=np.intp), 1
    if nodes > LABEL_PROPAGATION_MAX:
        groups, labels = connected_components(sp.csr_matrix(adjacent), directed=False)
        return np.asarray(labels, dtype=np.intp), int(groups)
    # Each node takes the lowest label among its neighbours until nothing changes: every node
    # ends with its component's lowest index.
    label = np.arange(nodes)
    while True:
        lowest = np.where(adjacent, label, nodes).min(axis=1)
        lowest = lowest[lowest]  # pointer jumping: follow the new label's own label
        if np.array_equal(lowest, label):
            break
        label = lowest
    lowest_nodes, dense_label = np.unique(label, return_inverse=True)
    return dense_label.astype(np.intp), len(lowest_nodes)


def _in_proposal_order(group: IntArray, p_label: IntArray, groups: int) -> IntArray:
    """Relabel components in order of their first proposal, as connected_components labels the
    graph with proposals first (every component holds a proposal)."""
    if groups == 1:
        return group
    _, first = np.unique(p_label, return_index=True)
    rank = np.empty(groups, dtype=np.intp)
    rank[np.argsort(first)] = np.arange(groups)
    relabelled: IntArray = rank[group]
    return relabelled


# ---------------------------------------------------------------------------------------------
# Sparse: LSQR on the one-hot design
# ---------------------------------------------------------------------------------------------


def _sparse_fit(
    p_col: IntArray, j_col: IntArray, proposals: int, judges: int, scores: FloatArray
) -> _Fit:
    """LinearRegression (LSQR) on the sparse one-hot design; the intercept joins the qualities."""
    criteria = scores.shape[1]
    design = _design(p_col, j_col + proposals, proposals + judges)
    model = LinearRegression(fit_intercept=True, tol=LSQR_TOLERANCE)
    with _single_blas_thread():
        model.fit(design, scores)
    coef = np.asarray(model.coef_, dtype=np.float64).reshape(criteria, -1).T
    quality = coef[:proposals] + np.asarray(model.intercept_, dtype=np.float64)
    group, groups = _components(p_col, j_col, proposals, judges)
    return _Fit(quality, coef[proposals:], group, groups)


def _design(p_col: IntArray, j_col: IntArray, width: int) -> sp.csr_matrix:
    """One row per sheet with a 1 in its proposal's column and a 1 in its judge's column."""
    rows = np.repeat(np.arange(len(p_col)), 2)
    cols = np.column_stack((p_col, j_col)).ravel()
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(p_col), width))


def _components(
    p_col: IntArray, j_col: IntArray, proposals: int, judges: int
) -> tuple[IntArray, int]:
    """Connected component of each node (proposals first, then judges) of the sheet graph."""
    nodes = proposals + judges
    graph = sp.csr_matrix((np.ones(len(p_col)), (p_col, proposals + j_col)), shape=(nodes, nodes))
    groups, labels = connected_components(graph, directed=False)
    return np.asarray(labels, dtype=np.intp), int(groups)


# ---------------------------------------------------------------------------------------------
# Identification
# ---------------------------------------------------------------------------------------------


def _identifying_shift(sheet_offsets: FloatArray, sheet_group: IntArray, groups: int) -> FloatArray:
    """Per component, minus the mean offset over its sheets: adding it makes that sum zero."""
    sums = _cell_sums(_cells(sheet_group, sheet_offsets.shape[1]), sheet_offsets, groups)
    counts = np.bincount(sheet_group, minlength=groups)[:, None]
    shift: FloatArray = -sums / counts
    return shift


def _disconnected(
    table: SheetTable, used_j: IntArray, judge_group: IntArray, groups: int
) -> tuple[Notice, ...]:
    if groups < 2:
        return ()
    sizes = np.bincount(judge_group, minlength=groups)
    largest = int(np.argmax(sizes))  # ties: the lowest label (labels follow proposal order)
    others = sorted(int(j) for j, g in zip(used_j, judge_group, strict=True) if g != largest)
    ids = tuple(table.judge_ids[j] for j in others)
    message = (
        f"the judges form {groups} groups that share no proposal, so their leniency offsets "
        f"(and calibrated scores) are not comparable across the {groups} groups; "
        "have some judges score proposals of other groups to connect the design"
    )
    return (Notice(DESIGN_DISCONNECTED, message, ids),)
