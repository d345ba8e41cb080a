"""Words and numbers as the report shows them: yuan from fen, and Chinese + English names for
the API's enums (outcomes, unfunded, unmet and uncovered reasons, solve status).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from venture.v1 import allocation_pb2, common_pb2, matching_pb2, scoring_pb2

E = TypeVar("E", bound=int)
"""An enum's value type (each generated enum has its own)."""


@dataclass(frozen=True, slots=True)
class Yuan:
    """Money in a table cell: integer fen, shown as yuan with two decimals."""

    fen: int

    @property
    def yuan(self) -> float:
        return self.fen / 100

    def __str__(self) -> str:
        whole, cents = divmod(abs(self.fen), 100)
        return f"{'-' if self.fen < 0 else ''}{whole:,}.{cents:02d}"


def _both(zh: str, en: str) -> str:
    return f"{zh} {en}"


OUTCOMES = {
    scoring_pb2.SCORING_OUTCOME_QUALIFIED: _both("合格", "qualified"),
    scoring_pb2.SCORING_OUTCOME_BELOW_PASS_LINE: _both("未达及格线", "below pass line"),
    scoring_pb2.SCORING_OUTCOME_VETOED: _both("一票否决", "vetoed"),
    scoring_pb2.SCORING_OUTCOME_INELIGIBLE: _both("资格不符", "ineligible"),
    scoring_pb2.SCORING_OUTCOME_NOT_SCORED: _both("未评分", "not scored"),
}

UNFUNDED = {
    allocation_pb2.UNFUNDED_REASON_BELOW_PASS_LINE: _both("低于及格线", "below pass line"),
    allocation_pb2.UNFUNDED_REASON_INELIGIBLE: _both("不符合资助条件", "ineligible"),
    allocation_pb2.UNFUNDED_REASON_BUDGET_EXHAUSTED: _both("预算已用完", "budget exhausted"),
    allocation_pb2.UNFUNDED_REASON_POOL_EXHAUSTED: _both("资金池已用完", "pool exhausted"),
    allocation_pb2.UNFUNDED_REASON_DOMAIN_MAXIMUM: _both("领域上限", "domain maximum"),
    allocation_pb2.UNFUNDED_REASON_REGION_MAXIMUM: _both("地区上限", "region maximum"),
    allocation_pb2.UNFUNDED_REASON_ORGANIZATION_LIMIT: _both(
        "机构立项数上限", "organization limit"
    ),
    allocation_pb2.UNFUNDED_REASON_LOCKED_REJECTED: _both("已确定不资助", "locked: rejected"),
    allocation_pb2.UNFUNDED_REASON_DISPLACED_BY_QUOTA: _both("因配额让位", "displaced by quota"),
    allocation_pb2.UNFUNDED_REASON_NOT_SCORED: _both("未评分", "not scored"),
    allocation_pb2.UNFUNDED_REASON_TIER_MAXIMUM: _both("档次上限", "tier maximum"),
}

UNMET = {
    matching_pb2.UNMET_REASON_NO_CANDIDATE: _both("无候选机构", "no candidate"),
    matching_pb2.UNMET_REASON_CONFLICTS: _both("规则冲突", "conflicts"),
    matching_pb2.UNMET_REASON_CAPACITY_EXHAUSTED: _both("机构容量已满", "capacity exhausted"),
    matching_pb2.UNMET_REASON_REGION_MISMATCH: _both("地区不符", "region mismatch"),
    matching_pb2.UNMET_REASON_DOMAIN_MISMATCH: _both("领域不符", "domain mismatch"),
}

UNCOVERED = {
    matching_pb2.UNCOVERED_REASON_NO_EXPERT: _both("无此领域导师", "no expert"),
    matching_pb2.UNCOVERED_REASON_CAPACITY: _both("导师名额已满", "mentor capacity"),
    matching_pb2.UNCOVERED_REASON_CONFLICT: _both("利益回避", "conflict of interest"),
    matching_pb2.UNCOVERED_REASON_REGION: _both("地区不可达", "region out of reach"),
    matching_pb2.UNCOVERED_REASON_MENTOR_LIMIT: _both("导师人数上限", "mentor limit"),
}

DIMENSIONS = {
    allocation_pb2.DIMENSION_DOMAIN: _both("领域", "domain"),
    allocation_pb2.DIMENSION_REGION: _both("地区", "region"),
    allocation_pb2.DIMENSION_TIER: _both("档次", "tier"),
    allocation_pb2.DIMENSION_POOL: _both("资金池", "pool"),
}

AGGREGATIONS = {
    scoring_pb2.AGGREGATION_METHOD_MEAN: "mean",
    scoring_pb2.AGGREGATION_METHOD_TRIMMED_MEAN: "trimmed mean",
    scoring_pb2.AGGREGATION_METHOD_MEDIAN: "median",
    scoring_pb2.AGGREGATION_METHOD_STANDARDIZED: "standardized",
    scoring_pb2.AGGREGATION_METHOD_CALIBRATED: "calibrated",
}

YES = _both("是", "yes")


def named(mapping: Mapping[E, str], value: E) -> str:
    """An enum value's text; a value this report does not know yet shows as its number."""
    return mapping.get(value, f"? ({value})")


def status(summary: common_pb2.SolveSummary) -> str:
    """ "optimal", "feasible (gap 1.20%)", ..."""
    name = common_pb2.SolveStatus.Name(summary.status).removeprefix("SOLVE_STATUS_").lower()
    name = name.replace("_", " ")
    if summary.status == common_pb2.SOLVE_STATUS_FEASIBLE:
        return f"{name} (gap {summary.relative_gap:.2%})"
    return name


def margin(value: allocation_pb2.DecisionMargin | None) -> str:
    """How far a score is from flipping the decision: "4.52", "≥1.00" or "fixed"."""
    if value is None:
        return ""
    if value.score_margin == float("inf"):
        return "fixed"
    return f"{'' if value.exact else '≥'}{value.score_margin:.2f}"


def top_parts(affinity: matching_pb2.Affinity) -> str:
    """The three largest contributions to an affinity, e.g. "domain 0.35, region 0.20"."""
    parts = sorted(affinity.parts, key=lambda p: -p.contribution)[:3]
    return ", ".join(f"{p.part} {p.contribution:.2f}" for p in parts if p.contribution > 0)
