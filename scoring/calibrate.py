"""CALIBRATED aggregation: least squares s_jpc = q_pc + b_jc + noise on the judge × proposal design.

One OLS per criterion (scikit-learn's LinearRegression, LSQR on the sparse one-hot design).
Offsets are identified per connected component of the judge–proposal graph: they are shifted so
that the offsets over the component's sheets sum to zero, so calibrated scores keep the raw mean
level. Across components offsets are not comparable; a DESIGN_DISCONNECTED notice says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from sklearn.linear_model import LinearRegression
from threadpoolctl import ThreadpoolController

from scoring.arrays import FloatArray, IntArray, group_sums
from scoring.model import Notice
from scoring.sheets import SheetTable

DESIGN_DISCONNECTED = "DESIGN_DISCONNECTED"
LSQR_TOLERANCE = 1e-10
"""atol and btol of LSQR: estimates agree with an exact solve to about 1e-8."""


@dataclass(frozen=True, slots=True)
class Calibration:
    """Fitted qualities q_pc (proposals × criteria; 0 when unscored) and offsets b_jc (judges ×
    criteria; 0 for judges without valid sheets), and notices about the design."""

    quality: FloatArray
    offsets: FloatArray
    notices: tuple[Notice, ...]


def calibrate(table: SheetTable) -> Calibration:
    """Fit the additive judge-offset model on every criterion at once and identify offsets."""
    proposals, judges = len(table.proposal_ids), len(table.judge_ids)
    criteria = len(table.rubric.criterion_ids)
    quality = np.zeros((proposals, criteria))
    offsets = np.zeros((judges, criteria))
    if len(table.totals) == 0:
        return Calibration(quality, offsets, ())
    used_p, p_col = np.unique(table.proposal, return_inverse=True)
    used_j, j_col = np.unique(table.judge, return_inverse=True)
    design = _design(p_col, j_col + len(used_p), len(used_p) + len(used_j))
    model = LinearRegression(fit_intercept=True, tol=LSQR_TOLERANCE)
    with _blas_controller().limit(limits=1, user_api="blas"):
        model.fit(design, table.scores)
    coef = np.asarray(model.coef_, dtype=np.float64).reshape(criteria, -1).T
    q = coef[: len(used_p)] + np.asarray(model.intercept_, dtype=np.float64)
    b = coef[len(used_p) :]
    group, groups = _components(p_col, j_col, len(used_p), len(used_j))
    shift = _identifying_shift(b[j_col], group[len(used_p) + j_col], groups)
    quality[used_p] = q - shift[group[: len(used_p)]]
    offsets[used_j] = b + shift[group[len(used_p) :]]
    notices = _disconnected(table, used_j, group[len(used_p) :], groups)
    return Calibration(quality, offsets, notices)


@cache
def _blas_controller() -> ThreadpoolController:
    """BLAS pools seen once numpy, scipy and scikit-learn are loaded.

    LSQR's vector norms are BLAS calls; with OpenBLAS threads on a small machine each call can
    wait milliseconds for its workers (calibration swung from 12 to 150 ms), and a single thread
    also makes the sums independent of the machine's core count.
    """
    return ThreadpoolController()


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


def _identifying_shift(sheet_offsets: FloatArray, sheet_group: IntArray, groups: int) -> FloatArray:
    """Per component, minus the mean offset over its sheets: adding it makes that sum zero."""
    sums = group_sums(sheet_group, sheet_offsets, groups)
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
