"""Domain types of scoring: the problem a review committee poses and the ranked result.

Plain frozen dataclasses, validated on construction; nothing here knows about protobuf.
Field names and list orders follow the API, so violation paths read the same on the wire.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from datetime import datetime

from scoring.errors import Violations

PANEL_COMPONENT_ID = "panel"
"""Component id of the expert panel in score breakdowns; reserved."""


class AggregationMethod(enum.Enum):
    """How judges' sheets are combined into one panel score per proposal."""

    MEAN = "mean"
    TRIMMED_MEAN = "trimmed_mean"
    MEDIAN = "median"
    STANDARDIZED = "standardized"
    CALIBRATED = "calibrated"


class WeightMode(enum.Enum):
    """RELATIVE: weights are normalised, the panel score is 0..100. POINTS: weights are points."""

    RELATIVE = "relative"
    POINTS = "points"


class VetoRule(enum.Enum):
    """Which score a criterion's veto minimum is compared with."""

    AGGREGATE = "aggregate"
    ANY_JUDGE = "any_judge"


class ComponentKind(enum.Enum):
    """WEIGHTED components are normalised and weighted; BONUS components add capped points."""

    WEIGHTED = "weighted"
    BONUS = "bonus"


class Normalization(enum.Enum):
    """How a component's raw values are mapped to 0..100 (see the API for the formulas)."""

    NONE = "none"
    MAX = "max"
    MIN_MAX = "min_max"
    RANK = "rank"
    CAP = "cap"


class TieBreakKind(enum.Enum):
    """Rules that order proposals with the same final score."""

    RAW_SCORE_SUM = "raw_score_sum"
    CRITERION = "criterion"
    SUBMIT_TIME = "submit_time"
    PROPOSAL_ID = "proposal_id"


class Outcome(enum.Enum):
    """Where a proposal ended up."""

    QUALIFIED = "qualified"
    BELOW_PASS_LINE = "below_pass_line"
    VETOED = "vetoed"
    INELIGIBLE = "ineligible"
    NOT_SCORED = "not_scored"


def _finite(value: float) -> bool:
    return math.isfinite(value)


# ---------------------------------------------------------------------------------------------
# The problem
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Criterion:
    """One rubric criterion: judges score it within [scale_min, scale_max]."""

    criterion_id: str
    weight: float
    scale_min: float = 0.0
    scale_max: float = 10.0
    veto_below: float | None = None
    display_name: str = ""

    def __post_init__(self) -> None:
        v = Violations()
        v.require(bool(self.criterion_id), "criterion_id", self.criterion_id, "must not be empty")
        v.require(
            _finite(self.weight) and self.weight > 0,
            "weight",
            self.weight,
            "must be a positive number",
        )
        v.require(_finite(self.scale_min), "scale_min", self.scale_min, "must be a finite number")
        v.require(_finite(self.scale_max), "scale_max", self.scale_max, "must be a finite number")
        if _finite(self.scale_min) and _finite(self.scale_max):
            v.require(
                self.scale_max > self.scale_min,
                "scale_max",
                self.scale_max,
                f"must be greater than scale_min ({self.scale_min})",
            )
        if self.veto_below is not None:
            v.require(
                _finite(self.veto_below) and self.scale_min <= self.veto_below <= self.scale_max,
                "veto_below",
                self.veto_below,
                f"must lie within the criterion's scale [{self.scale_min}, {self.scale_max}]",
            )
        v.raise_if_any()


@dataclass(frozen=True, slots=True)
class Judge:
    """A panel member, with the organizations they must recuse from (回避)."""

    judge_id: str
    conflict_organization_ids: tuple[str, ...] = ()
    assigned_proposal_ids: tuple[str, ...] = ()
    """Proposals the judge was asked to score; empty means every proposal."""
    display_name: str = ""

    def __post_init__(self) -> None:
        if self.judge_id:
            return  # valid: the checks below only name what is wrong
        v = Violations()
        v.require(bool(self.judge_id), "judge_id", self.judge_id, "must not be empty")
        v.raise_if_any()


@dataclass(frozen=True, slots=True)
class EligibilityCheck:
    """The outcome of one eligibility check (资格审查)."""

    check_id: str
    passed: bool
    reason: str = ""

    def __post_init__(self) -> None:
        if self.check_id:
            return  # valid
        v = Violations()
        v.require(bool(self.check_id), "check_id", self.check_id, "must not be empty")
        v.raise_if_any()


@dataclass(frozen=True, slots=True)
class ComponentValue:
    """A proposal's raw value for one score component: a number, or money in fen."""

    component_id: str
    value: float | None = None
    amount_fen: int | None = None

    def __post_init__(self) -> None:
        if self.component_id and (
            math.isfinite(self.value)
            if self.amount_fen is None and self.value is not None
            else self.value is None and self.amount_fen is not None and self.amount_fen >= 0
        ):
            return  # valid
        v = Violations()
        v.require(bool(self.component_id), "component_id", self.component_id, "must not be empty")
        if (self.value is None) == (self.amount_fen is None):
            v.add("value", self.value, "give exactly one of value or amount_fen")
        if self.value is not None:
            v.require(_finite(self.value), "value", self.value, "must be a finite number")
        if self.amount_fen is not None:
            v.require(self.amount_fen >= 0, "amount_fen", self.amount_fen, "must not be negative")
        v.raise_if_any()

    @property
    def number(self) -> float:
        """The value as a number for normalisation (money stays exact until here)."""
        return float(self.amount_fen) if self.amount_fen is not None else float(self.value or 0.0)


@dataclass(frozen=True, slots=True)
class Proposal:
    """What scoring needs to know about one application."""

    proposal_id: str
    organization_id: str = ""
    domain: str = ""
    submit_time: datetime | None = None
    eligibility_checks: tuple[EligibilityCheck, ...] = ()
    component_values: tuple[ComponentValue, ...] = ()
    title: str = ""

    def __post_init__(self) -> None:
        if self.proposal_id:
            return  # valid
        v = Violations()
        v.require(bool(self.proposal_id), "proposal_id", self.proposal_id, "must not be empty")
        v.raise_if_any()


@dataclass(frozen=True, slots=True)
class CriterionScore:
    """A judge's score on one criterion."""

    criterion_id: str
    value: float

    def __post_init__(self) -> None:
        if self.criterion_id and math.isfinite(self.value):
            return  # valid: one score per criterion per sheet, so this runs very often
        v = Violations()
        v.require(bool(self.criterion_id), "criterion_id", self.criterion_id, "must not be empty")
        v.require(_finite(self.value), "value", self.value, "must be a finite number")
        v.raise_if_any()


@dataclass(frozen=True, slots=True)
class ScoreSheet:
    """One judge's scores for one proposal, one per criterion: listed by criterion id in
    `scores`, or as plain numbers in the rubric's criterion order in `values` (the compact
    form). A sheet uses one form; whether it covers the rubric is the validator's check."""

    judge_id: str
    proposal_id: str
    scores: tuple[CriterionScore, ...] = ()
    values: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if (
            self.judge_id
            and self.proposal_id
            and (self.scores if not self.values else not self.scores and _all_finite(self.values))
        ):
            return  # valid
        v = Violations()
        v.require(bool(self.judge_id), "judge_id", self.judge_id, "must not be empty")
        v.require(bool(self.proposal_id), "proposal_id", self.proposal_id, "must not be empty")
        v.require(
            bool(self.scores or self.values), "scores", "[]", "a sheet must score every criterion"
        )
        if self.scores and self.values:
            v.add_shown(
                "values",
                f"[{len(self.values)} numbers]",
                "give a sheet's scores either in scores or in values, not both",
            )
        for k, value in enumerate(self.values):
            v.require(_finite(value), f"values[{k}]", value, "must be a finite number")
        v.raise_if_any()


def _all_finite(values: tuple[float, ...]) -> bool:
    # A sum is finite only when every term is (inf and NaN propagate); a finite list whose sum
    # overflows takes the slow look.
    return math.isfinite(sum(values)) or all(map(math.isfinite, values))


@dataclass(frozen=True, slots=True)
class ScoreComponent:
    """A score component other than the panel: public vote, donations raised, bonus points."""

    component_id: str
    kind: ComponentKind = ComponentKind.WEIGHTED
    weight: float = 0.0
    normalization: Normalization = Normalization.NONE
    cap: float = 0.0
    display_name: str = ""

    def __post_init__(self) -> None:
        v = Violations()
        v.require(bool(self.component_id), "component_id", self.component_id, "must not be empty")
        v.require(
            self.component_id != PANEL_COMPONENT_ID,
            "component_id",
            self.component_id,
            f'"{PANEL_COMPONENT_ID}" is reserved for the expert panel',
        )
        v.require(_finite(self.cap) and self.cap >= 0, "cap", self.cap, "must not be negative")
        if self.kind is ComponentKind.WEIGHTED:
            v.require(
                _finite(self.weight) and self.weight > 0,
                "weight",
                self.weight,
                "a weighted component needs a positive weight",
            )
            if self.normalization is Normalization.CAP:
                v.require(self.cap > 0, "cap", self.cap, "NORMALIZATION_CAP needs a positive cap")
        else:
            v.require(self.cap > 0, "cap", self.cap, "a bonus component needs a positive cap")
        v.raise_if_any()


@dataclass(frozen=True, slots=True)
class TieBreakRule:
    """One rule in the ordered tie-break list."""

    kind: TieBreakKind
    criterion_id: str = ""

    def __post_init__(self) -> None:
        v = Violations()
        if self.kind is TieBreakKind.CRITERION:
            v.require(
                bool(self.criterion_id),
                "criterion_id",
                self.criterion_id,
                "TIE_BREAK_KIND_CRITERION names the criterion to compare",
            )
        v.raise_if_any()


MAX_BOOTSTRAP_SAMPLES = 100_000
DEFAULT_BOOTSTRAP_SAMPLES = 1000


@dataclass(frozen=True, slots=True)
class RankStability:
    """Bootstrap settings: samples (0 turns rank intervals off), coverage, and K for P(top K)."""

    samples: int = DEFAULT_BOOTSTRAP_SAMPLES
    confidence: float = 0.9
    shortlist_size: int = 0
    """K; 0 means the number of qualified proposals."""

    def __post_init__(self) -> None:
        v = Violations()
        v.require(
            0 <= self.samples <= MAX_BOOTSTRAP_SAMPLES,
            "samples",
            self.samples,
            f"must be between 0 and {MAX_BOOTSTRAP_SAMPLES}",
        )
        v.require(
            _finite(self.confidence) and 0 < self.confidence < 1,
            "confidence",
            self.confidence,
            "must lie strictly between 0 and 1",
        )
        v.require(
            self.shortlist_size >= 0, "shortlist_size", self.shortlist_size, "must not be negative"
        )
        v.raise_if_any()


DEFAULT_TIE_BREAK = (TieBreakRule(TieBreakKind.RAW_SCORE_SUM),)


@dataclass(frozen=True, slots=True)
class ScoringPolicy:
    """How sheets become a ranking: aggregation, components, pass line, tie-breaks, bootstrap."""

    aggregation: AggregationMethod = AggregationMethod.MEAN
    trim_count: int = 0
    """TRIMMED_MEAN: how many highest and lowest totals to drop (>= 1); must be 0 otherwise."""
    weight_mode: WeightMode = WeightMode.RELATIVE
    veto_rule: VetoRule = VetoRule.AGGREGATE
    panel_weight: float = 1.0
    components: tuple[ScoreComponent, ...] = ()
    pass_line: float | None = None
    tie_break_rules: tuple[TieBreakRule, ...] = DEFAULT_TIE_BREAK
    """Applied in order; PROPOSAL_ID is always applied last, so rankings are total."""
    tie_decimals: int = 2
    rank_stability: RankStability = field(default_factory=RankStability)
    outlier_threshold: float = 3.0

    def __post_init__(self) -> None:
        v = Violations()
        if self.aggregation is AggregationMethod.TRIMMED_MEAN:
            v.require(self.trim_count >= 1, "trim_count", self.trim_count, "must be at least 1")
        else:
            v.require(
                self.trim_count == 0,
                "trim_count",
                self.trim_count,
                "is only used with AGGREGATION_METHOD_TRIMMED_MEAN; leave it 0",
            )
        v.require(
            _finite(self.panel_weight) and self.panel_weight > 0,
            "panel_weight",
            self.panel_weight,
            "must be a positive number",
        )
        if self.pass_line is not None:
            v.require(
                _finite(self.pass_line), "pass_line", self.pass_line, "must be a finite number"
            )
        v.require(0 <= self.tie_decimals <= 9, "tie_decimals", self.tie_decimals, "must be 0..9")
        v.require(
            _finite(self.outlier_threshold) and self.outlier_threshold > 0,
            "outlier_threshold",
            self.outlier_threshold,
            "must be a positive number",
        )
        seen: set[str] = set()
        for i, component in enumerate(self.components):
            v.require(
                component.component_id not in seen,
                f"components[{i}].component_id",
                component.component_id,
                "duplicate component id",
            )
            seen.add(component.component_id)
        v.raise_if_any()


@dataclass(frozen=True, slots=True)
class ScoringProblem:
    """Everything ScoreProposals needs. Cross-references are checked by scoring.validate."""

    criteria: tuple[Criterion, ...]
    judges: tuple[Judge, ...]
    proposals: tuple[Proposal, ...]
    sheets: tuple[ScoreSheet, ...]
    policy: ScoringPolicy = field(default_factory=ScoringPolicy)
    seed: int = 0


# ---------------------------------------------------------------------------------------------
# The result
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutcomeReason:
    """Why a proposal did not qualify (one per failed rule)."""

    outcome: Outcome
    message: str
    subject_id: str = ""
    value: float = 0.0
    threshold: float = 0.0
    judge_id: str = ""


@dataclass(frozen=True, slots=True)
class CriterionBreakdown:
    """One criterion's part in the panel score; contributions sum to the panel score."""

    criterion_id: str
    score: float
    raw_score: float
    weight_share: float
    contribution: float


@dataclass(frozen=True, slots=True)
class ComponentBreakdown:
    """One component's part in the final score; contributions sum to the final score."""

    component_id: str
    value: float
    normalized: float
    weight_share: float
    contribution: float
    amount_fen: int = 0


@dataclass(frozen=True, slots=True)
class PanelDispersion:
    """Spread of the valid sheet totals, and which judges were counted or dropped."""

    sheets: int
    counted: int
    std_dev: float
    min: float
    max: float
    counted_judge_ids: tuple[str, ...]
    dropped_judge_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RankInterval:
    """Bootstrap rank interval and the probability of making the top K."""

    lower: int
    upper: int
    confidence: float
    top_k_probability: float
    shortlist_size: int
    uncertain: bool


@dataclass(frozen=True, slots=True)
class ScoredProposal:
    """A proposal's place in the ranking and everything behind it."""

    proposal_id: str
    rank: int
    outcome: Outcome
    reasons: tuple[OutcomeReason, ...]
    final_score: float
    panel_score: float
    raw_score: float
    calibrated_score: float
    criteria: tuple[CriterionBreakdown, ...]
    components: tuple[ComponentBreakdown, ...]
    dispersion: PanelDispersion
    rank_interval: RankInterval | None
    tied_group: int
    """1-based index into ScoringResult.tied_groups; 0 when not tied."""


@dataclass(frozen=True, slots=True)
class OutlierScore:
    """A sheet total far from what the calibrated model expects of this judge."""

    proposal_id: str
    total: float
    expected: float
    z: float


@dataclass(frozen=True, slots=True)
class JudgeReport:
    """How one judge scored compared with the others."""

    judge_id: str
    sheets: int
    missing: int
    recused: int
    leniency: float
    mean_deviation: float
    agreement: float | None
    outliers: tuple[OutlierScore, ...]


@dataclass(frozen=True, slots=True)
class TiedGroup:
    """Proposals sharing a rounded final score, in resolved order, and the rule that settled it."""

    score: float
    proposal_ids: tuple[str, ...]
    resolved_by: TieBreakKind
    criterion_id: str = ""


@dataclass(frozen=True, slots=True)
class Recusal:
    """A judge excluded from a proposal for a conflict of interest (回避)."""

    judge_id: str
    proposal_id: str
    organization_id: str
    sheet_discarded: bool


@dataclass(frozen=True, slots=True)
class MissingSheet:
    """An assigned (judge, proposal) pair with no sheet."""

    judge_id: str
    proposal_id: str


@dataclass(frozen=True, slots=True)
class Notice:
    """Something relaxed, skipped or worth the caller's attention."""

    code: str
    message: str
    subject_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StageTime:
    """Wall-clock seconds one stage of the computation took."""

    stage: str
    seconds: float


@dataclass(frozen=True, slots=True)
class ScoringResult:
    """Everything ScoreProposals computed; proposals are in rank order."""

    proposals: tuple[ScoredProposal, ...]
    judges: tuple[JudgeReport, ...]
    tied_groups: tuple[TiedGroup, ...]
    recusals: tuple[Recusal, ...]
    missing_sheets: tuple[MissingSheet, ...]
    notices: tuple[Notice, ...]
    aggregation: AggregationMethod
    timings: tuple[StageTime, ...] = ()
