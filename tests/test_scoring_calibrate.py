"""CALIBRATED aggregation: hand-solved OLS on an incomplete design, identification, precision,
and the dense and sparse solvers agreeing."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st
from scipy.sparse.csgraph import connected_components

from scoring import calibrate as calibrate_module
from scoring.arrays import group_sums
from scoring.calibrate import DESIGN_DISCONNECTED, calibrate
from scoring.model import AggregationMethod, Criterion, Judge, ScoringProblem
from scoring.sheets import SheetTable, encode
from scoring.validate import check_problem
from tests.scoring_builders import by_id, make, ranked_ids, score

CALIBRATED = AggregationMethod.CALIBRATED

# Judge A scores P1, P2, P3; judge B only P1 and P2 (one criterion on 0..10, total = 10·s).
#   A: P1 8, P2 6, P3 9      B: P1 6, P2 2
# On the 2×2 block the additive fit leaves residuals ±0.5 (the interaction), so
#   fitted: A,P1 8.5  B,P1 5.5  A,P2 5.5  B,P2 2.5  (bA − bB = 3), and A,P3 fits exactly: 9.
# Identification: offsets over the 5 sheets sum to 0: 3·bA + 2·bB = 0 → bA = 1.2, bB = −1.8.
#   q1 = 8.5 − 1.2 = 7.3, q2 = 5.5 − 1.2 = 4.3, q3 = 9 − 1.2 = 7.8
# Check: q over sheets 2·7.3 + 2·4.3 + 7.8 = 31 = 8 + 6 + 9 + 6 + 2 (the raw mean level).
INCOMPLETE = {"P1": {"A": [8], "B": [6]}, "P2": {"A": [6], "B": [2]}, "P3": {"A": [9]}}


def test_calibrated_scores_solve_the_additive_model_by_hand() -> None:
    result = score(INCOMPLETE, aggregation=CALIBRATED)
    scored = by_id(result)
    assert [scored[p].panel_score for p in ("P1", "P2", "P3")] == [
        pytest.approx(73.0, abs=1e-7),
        pytest.approx(43.0, abs=1e-7),
        pytest.approx(78.0, abs=1e-7),
    ]
    assert scored["P3"].criteria[0].score == pytest.approx(7.8, abs=1e-8)
    # Raw means put P3 (90, one lenient judge) far ahead; calibration narrows it.
    assert [scored[p].raw_score for p in ("P1", "P2", "P3")] == [70.0, 40.0, 90.0]
    assert ranked_ids(result) == ["P3", "P1", "P2"]
    judges = {j.judge_id: j for j in result.judges}
    assert judges["A"].leniency == pytest.approx(12.0, abs=1e-7)  # 1.2 on 0..10 = 12 points
    assert judges["B"].leniency == pytest.approx(-18.0, abs=1e-7)


def test_calibrated_score_is_returned_beside_raw_whatever_the_method() -> None:
    scored = by_id(score(INCOMPLETE, aggregation=AggregationMethod.MEDIAN))
    assert scored["P1"].calibrated_score == pytest.approx(73.0, abs=1e-7)
    assert scored["P1"].panel_score == pytest.approx(70.0)  # median of 80, 60
    assert scored["P1"].raw_score == pytest.approx(70.0)


def test_saturated_design_recovers_offsets_exactly() -> None:
    # A: P1 8, P2 6; B: P2 4, P3 3. q2 + bA = 6, q2 + bB = 4 and 2·bA + 2·bB = 0 → bA = 1, bB = −1,
    # q = 7, 5, 4.
    table = {"P1": {"A": [8]}, "P2": {"A": [6], "B": [4]}, "P3": {"B": [3]}}
    result = score(table, aggregation=CALIBRATED)
    assert [p.panel_score for p in result.proposals] == [
        pytest.approx(70.0, abs=1e-7),
        pytest.approx(50.0, abs=1e-7),
        pytest.approx(40.0, abs=1e-7),
    ]
    assert not result.notices


def test_complete_design_calibrated_equals_raw_mean() -> None:
    # Balanced: the row mean is the OLS quality once offsets over sheets sum to zero.
    table = {"P1": {"A": [8], "B": [6]}, "P2": {"A": [6], "B": [5]}, "P3": {"A": [4], "B": [1]}}
    result = score(table, aggregation=CALIBRATED)
    for p in result.proposals:
        assert p.calibrated_score == pytest.approx(p.raw_score, abs=1e-7)
    leniency = {j.judge_id: j.leniency for j in result.judges}
    assert leniency == {"A": pytest.approx(10.0, abs=1e-7), "B": pytest.approx(-10.0, abs=1e-7)}


def test_disconnected_design_is_noticed_and_keeps_each_groups_mean() -> None:
    # {A, B} share P1/P2; {C} alone scores P3 and P4: two groups, C's the smaller.
    table = {
        "P1": {"A": [8], "B": [6]},
        "P2": {"A": [6], "B": [4]},
        "P3": {"C": [9]},
        "P4": {"C": [5]},
    }
    result = score(table, aggregation=CALIBRATED)
    notices = [n for n in result.notices if n.code == DESIGN_DISCONNECTED]
    assert len(notices) == 1
    assert notices[0].subject_ids == ("C",)
    assert "2 groups" in notices[0].message
    scored = by_id(result)
    # Within C's group the offset is 0 (it alone sums to zero over its sheets): raw scores stay.
    assert scored["P3"].calibrated_score == pytest.approx(90.0, abs=1e-7)
    assert scored["P1"].calibrated_score == pytest.approx(70.0, abs=1e-7)


def test_unscored_proposals_and_idle_judges_stay_out_of_the_fit() -> None:
    table = {"P1": {"A": [8], "B": [6]}, "P2": {}}
    result = score(table, aggregation=CALIBRATED)
    scored = by_id(result)
    assert scored["P2"].calibrated_score == 0.0
    assert scored["P1"].calibrated_score == pytest.approx(70.0, abs=1e-7)


def test_matches_a_dense_constrained_least_squares_to_1e_8() -> None:
    # A random incomplete but connected design on three criteria with different scales.
    rng = np.random.default_rng(3)
    criteria = (
        Criterion("c1", 2.0, 0.0, 10.0),
        Criterion("c2", 1.0, 1.0, 5.0),
        Criterion("c3", 3.0, 0.0, 100.0),
    )
    proposals, judges = 12, 5
    table: dict[str, dict[str, list[float]]] = {}
    for p in range(proposals):
        chosen = sorted(set(rng.choice(judges, size=3, replace=False).tolist()) | {p % judges})
        table[f"P{p:02d}"] = {
            f"J{j}": [
                float(rng.uniform(0, 10)),
                float(rng.uniform(1, 5)),
                float(rng.uniform(0, 100)),
            ]
            for j in chosen
        }
    result = score(table, criteria, aggregation=CALIBRATED)
    sheets = [(p, j, v) for p, row in table.items() for j, v in row.items()]
    p_ids, j_ids = sorted(table), [f"J{j}" for j in range(judges)]
    design = np.zeros((len(sheets) + 1, proposals + judges))
    for k, (p, j, _) in enumerate(sheets):
        design[k, p_ids.index(p)] = 1
        design[k, proposals + j_ids.index(j)] = 1
        design[-1, proposals + j_ids.index(j)] += 1  # the constraint Σ_sheets b_j = 0
    target = np.array([v for _, _, v in sheets] + [[0.0, 0.0, 0.0]])
    solution = np.linalg.lstsq(design, target, rcond=None)[0]
    scored = by_id(result)
    for k, p in enumerate(p_ids):
        got = [c.score for c in scored[p].criteria]
        assert got == pytest.approx(solution[k].tolist(), abs=1e-8)


# ---------------------------------------------------------------------------------------------
# The dense solve (reduced normal equations) and the sparse one (LSQR) agree
# ---------------------------------------------------------------------------------------------


@st.composite
def designs(draw: st.DrawFn) -> ScoringProblem:
    """A random incomplete design: 1-12 proposals, 1-9 judges (so either side may be the
    smaller), 1-3 criteria, any scores on the scale; groups of judges that share no proposal,
    unscored proposals and idle judges all occur."""
    criteria = tuple(
        Criterion(f"c{k}", draw(st.floats(0.5, 5.0)), 0.0, 10.0)
        for k in range(draw(st.integers(1, 3)))
    )
    judges = [f"J{j}" for j in range(draw(st.integers(1, 9)))]
    proposals = [f"P{p}" for p in range(draw(st.integers(1, 12)))]
    scores = st.floats(0.0, 10.0, allow_nan=False)
    table = {
        p: {j: [draw(scores) for _ in criteria] for j in judges if draw(st.booleans())}
        for p in proposals
    }
    return make(table, criteria, judges=[Judge(j) for j in judges])


def _table(problem: ScoringProblem) -> SheetTable:
    return encode(problem, check_problem(problem))


@given(designs())
def test_dense_and_sparse_solves_agree(problem: ScoringProblem) -> None:
    table = _table(problem)
    dense, sparse = calibrate(table, dense=True), calibrate(table, dense=False)
    # LSQR stops at a tolerance: it agrees with the exact solve to about 1e-8 (scores 0..10).
    assert np.allclose(dense.quality, sparse.quality, rtol=0, atol=1e-6)
    assert np.allclose(dense.offsets, sparse.offsets, rtol=0, atol=1e-6)
    assert dense.notices == sparse.notices


@given(designs())
def test_dense_solve_is_the_exact_identified_least_squares(problem: ScoringProblem) -> None:
    table = _table(problem)
    fit = calibrate(table, dense=True)
    if len(table.totals) == 0:
        assert not fit.quality.any() and not fit.offsets.any()
        return
    # Residuals are orthogonal to every proposal's and every judge's indicator (the normal
    # equations), and within each connected group the offsets sum to zero over its sheets.
    residual = table.scores - fit.quality[table.proposal] - fit.offsets[table.judge]
    proposals, judges = len(table.proposal_ids), len(table.judge_ids)
    assert np.allclose(group_sums(table.proposal, residual, proposals), 0, atol=1e-9)
    assert np.allclose(group_sums(table.judge, residual, judges), 0, atol=1e-9)
    nodes = proposals + judges
    graph = sp.csr_matrix(
        (np.ones(len(table.judge)), (table.proposal, proposals + table.judge)), (nodes, nodes)
    )
    _, labels = connected_components(graph, directed=False)
    sheet_group = labels[table.proposal]
    assert np.allclose(group_sums(sheet_group, fit.offsets[table.judge], nodes), 0, atol=1e-9)


@given(designs())
def test_both_routes_to_the_coupling_matrix_agree(
    problem: ScoringProblem,
) -> None:
    table = _table(problem)
    if len(table.totals) == 0:
        return
    routes = []
    for work in (0, 10**9):  # 0: always the sheet pairs; 10^9: always the incidence matrix
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(calibrate_module, "INCIDENCE_WORK_PER_PAIR", work)
            routes.append(calibrate(table, dense=True))
    assert np.allclose(routes[0].quality, routes[1].quality, rtol=0, atol=1e-9)
    assert np.allclose(routes[0].offsets, routes[1].offsets, rtol=0, atol=1e-9)


def test_components_of_large_sides_match_label_propagation() -> None:
    # Above LABEL_PROPAGATION_MAX nodes the dense solve asks scipy; both label components in
    # order of their lowest node.
    rng = np.random.default_rng(11)
    for nodes in (5, 40, calibrate_module.LABEL_PROPAGATION_MAX + 30):
        for density in (0.005, 0.03, 0.2):
            adjacent = rng.random((nodes, nodes)) < density
            adjacent = adjacent | adjacent.T | np.eye(nodes, dtype=bool)
            groups, expected = connected_components(sp.csr_matrix(adjacent), directed=False)
            label, count = calibrate_module._labels(adjacent)
            assert count == groups
            assert label.tolist() == expected.tolist()


def test_default_choice_is_dense_for_round_sizes_and_sparse_for_huge_sides() -> None:
    counts = np.full(5000, 7)
    assert calibrate_module._dense_pays(counts, np.full(7, 5000))  # 5,000 proposals, 7 judges
    many = np.full(calibrate_module.DENSE_MAX_UNKNOWNS + 1, 10)
    assert not calibrate_module._dense_pays(np.full(20_000, 5), many)


def test_cell_sums_are_group_sums_bit_for_bit() -> None:
    rng = np.random.default_rng(8)
    for _ in range(100):
        count, rows, width = int(rng.integers(1, 9)), int(rng.integers(1, 60)), 5
        groups = rng.integers(0, count, size=rows)
        values = rng.normal(size=(rows, width)) * 10.0 ** int(rng.integers(-3, 4))
        cells = calibrate_module._cells(groups, width)
        fast = calibrate_module._cell_sums(cells, values, count)
        assert fast.tobytes() == group_sums(groups, values, count).tobytes()
