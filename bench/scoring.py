"""Scoring benchmarks: seeded, realistic review rounds timed through score_proposals.

Judges have a leniency of their own and a specialty domain; where a proposal sees only part of
the pool, specialists are picked first, so raw means mix quality with who judged what. Cases
follow the round sizes in DESIGN.md; `large` is the speed target (< 0.5 s median). Each case
is followed by a baseline row: the plain-mean spreadsheet computation (SUMPRODUCT, AVERAGE, sort).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from scoring.engine import score_proposals
from scoring.model import (
    AggregationMethod,
    ComponentKind,
    ComponentValue,
    Criterion,
    CriterionScore,
    Judge,
    Normalization,
    Proposal,
    RankStability,
    ScoreComponent,
    ScoreSheet,
    ScoringPolicy,
    ScoringProblem,
    WeightMode,
)

SEED = 20260315
DOMAINS = ("助老", "助残", "青少年", "社区治理", "环保", "济困")
POINTS = (20.0, 25.0, 20.0, 15.0, 20.0, 10.0)


@dataclass(frozen=True, slots=True)
class Case:
    """One benchmark round: its size, design and policy."""

    name: str
    proposals: int
    pool: int
    per_proposal: int
    criteria: int
    method: AggregationMethod
    trim: int = 0
    samples: int = 1000
    weight_mode: WeightMode = WeightMode.RELATIVE
    public_vote: bool = False
    conflicts: int = 0
    """Judges with a conflict of interest with one organization (回避)."""


CASES: dict[str, Case] = {
    c.name: c
    for c in (
        Case(
            "county",
            proposals=90,
            pool=15,
            per_proposal=5,
            criteria=5,
            method=AggregationMethod.TRIMMED_MEAN,
            trim=1,
            weight_mode=WeightMode.POINTS,
            conflicts=3,
        ),
        Case(
            "city",
            proposals=320,
            pool=21,
            per_proposal=7,
            criteria=6,
            method=AggregationMethod.CALIBRATED,
            conflicts=4,
        ),
        Case(
            "national",
            proposals=1000,
            pool=40,
            per_proposal=5,
            criteria=5,
            method=AggregationMethod.STANDARDIZED,
            public_vote=True,
        ),
        Case(
            "large",
            proposals=5000,
            pool=7,
            per_proposal=7,
            criteria=6,
            method=AggregationMethod.CALIBRATED,
        ),
    )
}


def make_problem(case: Case, seed: int = SEED) -> ScoringProblem:
    """A seeded round of the case's size with lenient and harsh judges."""
    rng = np.random.default_rng(seed)
    criteria = _criteria(case)
    domain = rng.integers(0, len(DOMAINS), size=case.proposals)
    quality = rng.normal(0.0, 1.0, size=case.proposals) + 0.4 * (domain % 3 - 1)
    leniency = rng.normal(0.0, 0.6, size=case.pool)
    specialty = rng.permutation(np.arange(case.pool) % len(DOMAINS))
    panels = _panels(case, domain, specialty, rng)
    orgs = [f"ORG-{k // 2:04d}" for k in range(case.proposals)]  # some run two projects
    judges = tuple(
        Judge(
            f"J{j:03d}",
            conflict_organization_ids=(orgs[int(rng.integers(case.proposals))],)
            if j < case.conflicts
            else (),
            assigned_proposal_ids=()
            if case.per_proposal == case.pool
            else tuple(f"P{p:05d}" for p in np.flatnonzero(panels[:, j]).tolist()),
            display_name=f"专家{j + 1}",
        )
        for j in range(case.pool)
    )
    votes = rng.gamma(2.0, 300.0, size=case.proposals).round()
    proposals = tuple(
        Proposal(
            f"P{p:05d}",
            organization_id=orgs[p],
            domain=DOMAINS[domain[p]],
            component_values=(ComponentValue("public_vote", float(votes[p])),)
            if case.public_vote
            else (),
            title=f"{DOMAINS[domain[p]]}项目{p + 1}",
        )
        for p in range(case.proposals)
    )
    sheets = _sheets(case, criteria, quality, leniency, panels, rng)
    return ScoringProblem(criteria, judges, proposals, sheets, _policy(case), seed)


def _criteria(case: Case) -> tuple[Criterion, ...]:
    if case.weight_mode is WeightMode.POINTS:
        return tuple(Criterion(f"C{c}", POINTS[c], 0.0, POINTS[c]) for c in range(case.criteria))
    return tuple(Criterion(f"C{c}", 1.0 + c % 3, 0.0, 10.0) for c in range(case.criteria))


def _panels(
    case: Case, domain: np.ndarray, specialty: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """proposals × judges: who scores what; specialists first, then the least loaded."""
    panels = np.zeros((case.proposals, case.pool), dtype=bool)
    if case.per_proposal == case.pool:
        panels[:] = True
        return panels
    load = np.zeros(case.pool)
    for p in range(case.proposals):
        outsider = specialty != domain[p]
        order = np.lexsort((rng.random(case.pool), load, outsider))
        chosen = order[: case.per_proposal]
        panels[p, chosen] = True
        load[chosen] += 1
    return panels


def _sheets(
    case: Case,
    criteria: tuple[Criterion, ...],
    quality: np.ndarray,
    leniency: np.ndarray,
    panels: np.ndarray,
    rng: np.random.Generator,
) -> tuple[ScoreSheet, ...]:
    rows, judges = np.nonzero(panels)
    latent = (
        quality[rows, None]
        + leniency[judges, None]
        + rng.normal(0.0, 0.5, size=(len(rows), len(criteria)))
    )
    lo = np.array([c.scale_min for c in criteria])
    hi = np.array([c.scale_max for c in criteria])
    fraction = np.clip(0.7 + 0.12 * latent, 0.0, 1.0)
    values = (np.round((lo + (hi - lo) * fraction) * 2) / 2).tolist()
    ids = [c.criterion_id for c in criteria]
    skip = {1, 2} if case.name == "county" else set()  # two sheets never handed in
    return tuple(
        ScoreSheet(
            f"J{j:03d}",
            f"P{p:05d}",
            tuple(CriterionScore(c, v) for c, v in zip(ids, values[k], strict=True)),
        )
        for k, (p, j) in enumerate(zip(rows.tolist(), judges.tolist(), strict=True))
        if k not in skip
    )


def _policy(case: Case) -> ScoringPolicy:
    components = (
        (
            ScoreComponent(
                "public_vote",
                ComponentKind.WEIGHTED,
                3.0,
                Normalization.MAX,
                display_name="公众投票",
            ),
        )
        if case.public_vote
        else ()
    )
    return ScoringPolicy(
        aggregation=case.method,
        trim_count=case.trim,
        weight_mode=case.weight_mode,
        panel_weight=7.0 if case.public_vote else 1.0,
        components=components,
        pass_line=60.0,
        rank_stability=RankStability(samples=case.samples),
    )


def excel_mean(problem: ScoringProblem) -> list[str]:
    """The baseline a committee computes today: weighted sum per sheet, average, sort."""
    weights = {c.criterion_id: c.weight / (c.scale_max - c.scale_min) for c in problem.criteria}
    full = 100.0 / sum(c.weight for c in problem.criteria)
    totals: dict[str, list[float]] = {}
    for sheet in problem.sheets:
        total = full * sum(weights[s.criterion_id] * s.value for s in sheet.scores)
        totals.setdefault(sheet.proposal_id, []).append(total)
    means = {p: sum(t) / len(t) for p, t in totals.items()}
    return sorted(means, key=lambda p: -means[p])


def run(repeats: int, cases: Sequence[str] | None = None) -> Iterator[dict[str, object]]:
    """Time every (selected) case: a warm-up run, then `repeats` timed runs."""
    for name, case in CASES.items():
        if cases and name not in cases:
            continue
        problem = make_problem(case)
        score_proposals(problem)  # warm-up: imports, cached bootstrap tables
        seconds: list[float] = []
        stages: dict[str, list[float]] = {}
        for _ in range(repeats):
            started = time.perf_counter()
            result = score_proposals(problem)
            seconds.append(time.perf_counter() - started)
            for stage in result.timings:
                stages.setdefault(stage.stage, []).append(stage.seconds)
        shape = {
            "suite": "scoring",
            "case": name,
            "proposals": len(problem.proposals),
            "judges": len(problem.judges),
            "criteria": len(problem.criteria),
            "sheets": len(problem.sheets),
        }
        yield {
            **shape,
            "method": case.method.value,
            "samples": case.samples,
            **summary(seconds, repeats),
            "stages": {k: round(statistics.median(v), 6) for k, v in stages.items()},
        }
        baseline = []
        for _ in range(repeats):
            started = time.perf_counter()
            excel_mean(problem)
            baseline.append(time.perf_counter() - started)
        yield {
            **shape,
            "method": "baseline_excel_mean",
            "samples": 0,
            **summary(baseline, repeats),
        }


def summary(seconds: list[float], repeats: int) -> dict[str, object]:
    """Median, min and max of the timed runs."""
    return {
        "seconds": round(statistics.median(seconds), 6),
        "repeats": repeats,
        "min_seconds": round(min(seconds), 6),
        "max_seconds": round(max(seconds), 6),
    }
