"""score_proposals: validate, encode, aggregate, calibrate, combine, rank, bootstrap, explain.

Each stage is timed into ScoringResult.timings. The same problem always gives the same result
(apart from timings): no set or dict order is relied on, solvers run single-threaded, and the
bootstrap draws from numpy.random.default_rng(problem.seed).
"""

from __future__ import annotations

import gc
import time

import numpy as np

from scoring.aggregate import PanelScores, panel_from_criteria, sheet_weights, weighted_scores
from scoring.arrays import FloatArray, group_sums, round_scores
from scoring.bootstrap import Resampling, rank_intervals
from scoring.calibrate import calibrate
from scoring.calibrate import warm_up as warm_up_calibration
from scoring.cancel import checkpoint
from scoring.components import FinalScores, combine
from scoring.explain import Scores, scored_proposals
from scoring.judges import CalibratedTotals, judge_reports
from scoring.model import (
    AggregationMethod,
    Criterion,
    CriterionScore,
    Judge,
    Outcome,
    Proposal,
    RankInterval,
    RankStability,
    ScoreSheet,
    ScoringPolicy,
    ScoringProblem,
    ScoringResult,
    StageTime,
)
from scoring.outcomes import outcome_of, outcome_reasons
from scoring.ranking import Ranking, TieInputs, rank_proposals
from scoring.sheets import SheetTable, encode
from scoring.standardize import standardize
from scoring.validate import check_problem

_CANDIDATES = (Outcome.QUALIFIED, Outcome.BELOW_PASS_LINE)


class _Clock:
    """Wall-clock seconds per named stage, in the order the stages ran.

    `with clock.stage(name):` times one stage. A plain class rather than a generator-based
    context manager: that costs about 1 us more per stage, a sizeable part of a small request.
    A stage that raises is not recorded.
    """

    __slots__ = ("_name", "_started", "stages")

    def __init__(self) -> None:
        self.stages: list[StageTime] = []
        self._name = ""
        self._started = 0.0

    def stage(self, name: str) -> _Clock:
        checkpoint()  # a cancelled call starts no further stage
        self._name = name
        self._started = time.perf_counter()
        return self

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is None:
            self.stages.append(StageTime(self._name, time.perf_counter() - self._started))


def score_proposals(problem: ScoringProblem) -> ScoringResult:
    """Rank the proposals of a problem, explained; raises InvalidProblem listing every violation.

    Stages: validate, prepare, aggregate, calibrate, components, rank, bootstrap (skipped when
    rank_stability.samples is 0), judges, explain.

    The cyclic garbage collector is paused while the result is built. A result holds about ten
    small objects per proposal; with the collector on, building them triggers full collections
    over the caller's whole heap (a large problem alone is hundreds of thousands of objects),
    which made the run time vary by a factor of two. Nothing here creates reference cycles, so
    reference counting frees everything; the previous state is restored.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _score(problem)
    finally:
        if was_enabled:
            gc.enable()


def warm_up() -> None:
    """Score a tiny round once so the caches a first request would pay for are built: the
    bootstrap's tables for panels of 1 to 7 judges and the BLAS thread controller (about
    0.25 s). A server calls this before it reports SERVING."""
    judges = tuple(Judge(f"J{j}") for j in range(7))
    proposals = tuple(Proposal(f"P{p}") for p in range(7))
    sheets = tuple(
        ScoreSheet(f"J{j}", f"P{p}", (CriterionScore("c", float(1 + (p + j) % 9)),))
        for p in range(7)
        for j in range(p + 1)  # proposal p has p + 1 sheets: every panel size up to 7
    )
    policy = ScoringPolicy(
        aggregation=AggregationMethod.CALIBRATED, rank_stability=RankStability(samples=1)
    )
    score_proposals(ScoringProblem((Criterion("c", 1.0),), judges, proposals, sheets, policy))
    warm_up_calibration()  # small designs like this one skip the BLAS thread controller


def _score(problem: ScoringProblem) -> ScoringResult:
    clock = _Clock()
    policy = problem.policy
    with clock.stage("validate"):
        matrix = check_problem(problem)
    with clock.stage("prepare"):
        table = encode(problem, matrix)
    with clock.stage("aggregate"):
        raw = weighted_scores(table, sheet_weights(table, AggregationMethod.MEAN, 0))
        method, adjusted = _aggregate(table, policy.aggregation, policy.trim_count, raw)
    with clock.stage("calibrate"):
        calibration = calibrate(table)
        calibrated = panel_from_criteria(
            table.rubric, calibration.quality, table.scored, np.ones(len(table.totals), bool)
        )
        leniency = table.rubric.offset_points(calibration.offsets)
        if policy.aggregation is AggregationMethod.CALIBRATED:
            method, adjusted = calibrated, table.totals - leniency[table.judge]
    with clock.stage("components"):
        finals = combine(problem, method.panel, table.scored, table.rubric.full_scale)
    with clock.stage("rank"):
        rounded = round_scores(finals.final, policy.tie_decimals)  # pass line and ranking
        reasons = outcome_reasons(problem, table, method.criterion, finals.final, rounded)
        outcomes = list(map(outcome_of, reasons))
        raw_sums = group_sums(table.proposal, table.totals, len(outcomes))
        ties = TieInputs(raw_sums, method.criterion, table.scored)
        ranking = rank_proposals(problem, outcomes, rounded, ties)
    intervals: dict[int, RankInterval] = {}
    if policy.rank_stability.samples > 0:
        with clock.stage("bootstrap"):
            resampling = _resampling(problem, table, adjusted, method, finals, ranking, outcomes)
            shortlist = policy.rank_stability.shortlist_size or outcomes.count(Outcome.QUALIFIED)
            intervals = rank_intervals(resampling, policy.rank_stability, shortlist, problem.seed)
    with clock.stage("judges"):
        fit = CalibratedTotals(calibrated.panel, leniency)
        reports = judge_reports(table, fit, policy.outlier_threshold)
    with clock.stage("explain"):
        scores = Scores(method, raw, calibrated, finals, reasons, outcomes, intervals)
        proposals = scored_proposals(table, scores, ranking)
    return ScoringResult(
        proposals=proposals,
        judges=reports,
        tied_groups=ranking.groups,
        recusals=table.recusals,
        missing_sheets=table.missing,
        notices=(*table.notices, *calibration.notices, *finals.notices),
        aggregation=policy.aggregation,
        timings=tuple(clock.stages),
    )


def _resampling(
    problem: ScoringProblem,
    table: SheetTable,
    adjusted: FloatArray,
    method: PanelScores,
    finals: FinalScores,
    ranking: Ranking,
    outcomes: list[Outcome],
) -> Resampling:
    """Bootstrap input: candidates (scored, eligible, not vetoed) in full-data rank order."""
    policy = problem.policy
    candidates = [p for p in ranking.order if outcomes[p] in _CANDIDATES]
    return Resampling(
        totals=adjusted,
        starts=table.starts,
        candidates=np.array(candidates, dtype=np.intp),
        fixed=finals.final - finals.panel_share * method.panel,
        panel_share=finals.panel_share,
        method=policy.aggregation,
        trim=policy.trim_count,
        decimals=policy.tie_decimals,
        pass_line=policy.pass_line,
    )


def _aggregate(
    table: SheetTable, method: AggregationMethod, trim: int, raw: PanelScores
) -> tuple[PanelScores, FloatArray]:
    """The request's aggregate (CALIBRATED is filled in by the calibrate stage) and the sheet
    totals the bootstrap resamples."""
    if method is AggregationMethod.STANDARDIZED:
        standardized = standardize(table)
        weights = sheet_weights(table, method, 0)
        totals: FloatArray = table.rubric.points(standardized).sum(axis=1)
        return weighted_scores(table, weights, standardized), totals
    if method in (AggregationMethod.TRIMMED_MEAN, AggregationMethod.MEDIAN):
        return weighted_scores(table, sheet_weights(table, method, trim)), table.totals
    return raw, table.totals
