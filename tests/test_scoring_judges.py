"""Judge analytics: leniency, deviation from the others, agreement, outliers."""

from __future__ import annotations

from typing import Any

import pytest

from scoring.model import Judge, JudgeReport
from tests.scoring_builders import score

# The incomplete design of test_scoring_calibrate: A is lenient (+12 points), B harsh (−18).
# Residuals of the calibrated fit, in points: A,P1 −5; A,P2 +5; B,P1 +5; B,P2 −5; A,P3 0 (alone).
INCOMPLETE = {"P1": {"A": [8], "B": [6]}, "P2": {"A": [6], "B": [2]}, "P3": {"A": [9]}}


def _reports(table: dict[str, dict[str, list[float]]], **kwargs: Any) -> dict[str, JudgeReport]:
    return {j.judge_id: j for j in score(table, **kwargs).judges}


def test_leniency_and_mean_deviation() -> None:
    reports = _reports(INCOMPLETE)
    assert reports["A"].leniency == pytest.approx(12.0, abs=1e-7)
    assert reports["B"].leniency == pytest.approx(-18.0, abs=1e-7)
    # A: P1 80 − 60 = +20, P2 60 − 20 = +40 → +30 (P3 has no other sheet). B: −30.
    assert reports["A"].mean_deviation == pytest.approx(30.0)
    assert reports["B"].mean_deviation == pytest.approx(-30.0)
    # Fewer than three shared proposals: no agreement.
    assert reports["A"].agreement is None


def test_outliers_use_a_robust_spread_of_the_residuals() -> None:
    # Pooled residuals −5, 5, 5, −5: median 0, MAD 5, σ = 1.4826·5 = 7.413; |z| = 0.6745.
    assert all(not r.outliers for r in _reports(INCOMPLETE).values())
    reports = _reports(INCOMPLETE, outlier_threshold=0.5)
    a = reports["A"].outliers
    assert [o.proposal_id for o in a] == ["P1", "P2"]  # equal |z|: by proposal id
    assert a[0].total == pytest.approx(80.0)
    assert a[0].expected == pytest.approx(85.0, abs=1e-6)  # q1 73 + A's 12
    assert a[0].z == pytest.approx(-5 / (1.4826 * 5), abs=1e-6)
    assert a[1].z == pytest.approx(5 / (1.4826 * 5), abs=1e-6)


def test_one_wild_sheet_is_the_outlier() -> None:
    # Four judges agree within a point on eight proposals; J4 gives P5 a 1 instead of ~8.
    table = {
        f"P{p}": {f"J{j}": [min(10.0, 3 + p * 0.5 + 0.25 * ((p + j) % 3))] for j in range(1, 5)}
        for p in range(1, 9)
    }
    table["P5"]["J4"] = [1.0]
    reports = _reports(table)
    flagged = [(j, o.proposal_id) for j, r in reports.items() for o in r.outliers]
    assert flagged == [("J4", "P5")]
    assert reports["J4"].outliers[0].z < -3


def test_agreement_is_pearson_with_the_others_mean() -> None:
    # J1 and J2 rise from P1 to P3; J3 falls, and pulls the others' mean the other way.
    table = {
        "P1": {"J1": [2], "J2": [3], "J3": [8]},
        "P2": {"J1": [5], "J2": [5], "J3": [5]},
        "P3": {"J1": [8], "J2": [7], "J3": [2]},
    }
    reports = _reports(table)
    # J1 totals 20, 50, 80 vs others' means 55, 50, 45: perfectly anti-correlated.
    assert reports["J1"].agreement == pytest.approx(-1.0)
    assert reports["J3"].agreement == pytest.approx(-1.0)
    flat = {
        "P1": {"J1": [5], "J2": [3]},
        "P2": {"J1": [5], "J2": [5]},
        "P3": {"J1": [5], "J2": [7]},
    }
    assert _reports(flat)["J2"].agreement is None  # J1 has no spread


def test_judge_without_sheets_gets_a_neutral_report() -> None:
    table = {"P1": {"J1": [5]}}
    result = score(table, judges=[Judge("J1"), Judge("J9", assigned_proposal_ids=("P1",))])
    idle = result.judges[1]
    assert (idle.judge_id, idle.sheets, idle.missing, idle.leniency) == ("J9", 0, 1, 0.0)
    assert (idle.mean_deviation, idle.agreement, idle.outliers) == (0.0, None, ())


def test_segment_sums_are_the_sums_of_each_piece() -> None:
    # numpy's pairwise summation depends on the length: every piece must come out as its own
    # ndarray.sum() would, bit for bit (short and long pieces, empty ones, signed zeros).
    import numpy as np

    from scoring.judges import _segment_sums

    rng = np.random.default_rng(4)
    for trial in range(200):
        lengths = rng.integers(0, 300 if trial % 4 == 0 else 40, size=int(rng.integers(1, 8)))
        bounds = [0, *np.cumsum(lengths).tolist()]
        values = rng.normal(size=(3, bounds[-1])) * 10.0 ** int(rng.integers(-3, 4))
        if trial % 5 == 0:
            values[:, ::2] = -0.0
        sums = _segment_sums(values, bounds)
        for j in range(len(lengths)):
            for r in range(3):
                piece = values[r, bounds[j] : bounds[j + 1]].copy()
                assert sums[j, r].tobytes() == piece.sum().tobytes()


def test_median_is_numpys_median() -> None:
    import math

    import numpy as np

    from scoring.judges import _median

    rng = np.random.default_rng(5)
    for trial in range(2000):
        values = rng.normal(size=int(rng.integers(1, 30)))
        if trial % 3 == 0:
            values = rng.integers(-3, 4, size=len(values)).astype(float)
        if trial % 7 == 0:
            values[:] = -0.0
        if trial % 11 == 0:
            values[int(rng.integers(0, len(values)))] = np.nan
        expected = float(np.median(values))
        got = _median(values)
        if math.isnan(expected):
            assert math.isnan(got)
        else:
            assert (got, math.copysign(1.0, got)) == (expected, math.copysign(1.0, expected))
