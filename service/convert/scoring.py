"""ScoreProposals: request -> scoring.model.ScoringProblem, ScoringResult -> response.

Every field error is collected (not just the first) with the request's own field path.
Proto zero values mean "the documented default"; those defaults are applied here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from math import isfinite

from google.protobuf.internal.containers import RepeatedCompositeFieldContainer
from google.protobuf.timestamp_pb2 import Timestamp

from scoring import model as m
from scoring.errors import InvalidProblem, Violations
from scoring.validate import MAX_MAGNITUDE, validate_problem
from service.convert.common import StandIns, all_built, build, enum_from_pb, summary_pb
from venture.v1 import common_pb2, proposal_pb2, scoring_pb2

ENGINE = "venture-scoring"

AGGREGATION: dict[scoring_pb2.AggregationMethod.ValueType, m.AggregationMethod] = {
    scoring_pb2.AGGREGATION_METHOD_MEAN: m.AggregationMethod.MEAN,
    scoring_pb2.AGGREGATION_METHOD_TRIMMED_MEAN: m.AggregationMethod.TRIMMED_MEAN,
    scoring_pb2.AGGREGATION_METHOD_MEDIAN: m.AggregationMethod.MEDIAN,
    scoring_pb2.AGGREGATION_METHOD_STANDARDIZED: m.AggregationMethod.STANDARDIZED,
    scoring_pb2.AGGREGATION_METHOD_CALIBRATED: m.AggregationMethod.CALIBRATED,
}
WEIGHT_MODE: dict[scoring_pb2.WeightMode.ValueType, m.WeightMode] = {
    scoring_pb2.WEIGHT_MODE_RELATIVE: m.WeightMode.RELATIVE,
    scoring_pb2.WEIGHT_MODE_POINTS: m.WeightMode.POINTS,
}
VETO_RULE: dict[scoring_pb2.VetoRule.ValueType, m.VetoRule] = {
    scoring_pb2.VETO_RULE_AGGREGATE: m.VetoRule.AGGREGATE,
    scoring_pb2.VETO_RULE_ANY_JUDGE: m.VetoRule.ANY_JUDGE,
}
COMPONENT_KIND: dict[scoring_pb2.ComponentKind.ValueType, m.ComponentKind] = {
    scoring_pb2.COMPONENT_KIND_WEIGHTED: m.ComponentKind.WEIGHTED,
    scoring_pb2.COMPONENT_KIND_BONUS: m.ComponentKind.BONUS,
}
NORMALIZATION: dict[scoring_pb2.Normalization.ValueType, m.Normalization] = {
    scoring_pb2.NORMALIZATION_NONE: m.Normalization.NONE,
    scoring_pb2.NORMALIZATION_MAX: m.Normalization.MAX,
    scoring_pb2.NORMALIZATION_MIN_MAX: m.Normalization.MIN_MAX,
    scoring_pb2.NORMALIZATION_RANK: m.Normalization.RANK,
    scoring_pb2.NORMALIZATION_CAP: m.Normalization.CAP,
}
TIE_BREAK: dict[scoring_pb2.TieBreakKind.ValueType, m.TieBreakKind] = {
    scoring_pb2.TIE_BREAK_KIND_RAW_SCORE_SUM: m.TieBreakKind.RAW_SCORE_SUM,
    scoring_pb2.TIE_BREAK_KIND_CRITERION: m.TieBreakKind.CRITERION,
    scoring_pb2.TIE_BREAK_KIND_SUBMIT_TIME: m.TieBreakKind.SUBMIT_TIME,
    scoring_pb2.TIE_BREAK_KIND_PROPOSAL_ID: m.TieBreakKind.PROPOSAL_ID,
}
OUTCOME: dict[m.Outcome, scoring_pb2.ScoringOutcome.ValueType] = {
    m.Outcome.QUALIFIED: scoring_pb2.SCORING_OUTCOME_QUALIFIED,
    m.Outcome.BELOW_PASS_LINE: scoring_pb2.SCORING_OUTCOME_BELOW_PASS_LINE,
    m.Outcome.VETOED: scoring_pb2.SCORING_OUTCOME_VETOED,
    m.Outcome.INELIGIBLE: scoring_pb2.SCORING_OUTCOME_INELIGIBLE,
    m.Outcome.NOT_SCORED: scoring_pb2.SCORING_OUTCOME_NOT_SCORED,
}
AGGREGATION_PB = {domain: number for number, domain in AGGREGATION.items()}
TIE_BREAK_PB = {domain: number for number, domain in TIE_BREAK.items()}


# ---------------------------------------------------------------------------------------------
# Request -> problem
# ---------------------------------------------------------------------------------------------


def problem_from_pb(
    request: scoring_pb2.ScoreProposalsRequest, seed: int, violations: Violations
) -> m.ScoringProblem | None:
    """The domain problem, or None when a field could not be converted (see `violations`)."""
    policy = _policy(request.policy, violations)
    weight_mode = policy.weight_mode if policy else m.WeightMode.RELATIVE
    criteria = all_built(
        build(violations, f"criteria[{i}]", _criterion, c, weight_mode)
        for i, c in enumerate(request.criteria)
    )
    judges = all_built(
        build(violations, f"judges[{i}]", _judge, j) for i, j in enumerate(request.judges)
    )
    proposals = all_built(
        _proposal(p, f"proposals[{i}]", violations) for i, p in enumerate(request.proposals)
    )
    sheets = _sheets(request.sheets, violations)
    if policy is None or criteria is None or judges is None or proposals is None or sheets is None:
        return None
    return m.ScoringProblem(criteria, judges, proposals, sheets, policy, seed)


# ---------------------------------------------------------------------------------------------
# Cross-references of a request that did not convert
# ---------------------------------------------------------------------------------------------

_REFERENCES = {
    "criteria": r"sheets\[\d+\]\.(scores|values|scores\[\d+\]\.criterion_id)"
    r"|policy\.tie_break_rules\[\d+\]\.criterion_id",
    "judges": r"sheets\[\d+\]\.judge_id",
    "proposals": r"sheets\[\d+\]\.proposal_id|judges\[\d+\]\.assigned_proposal_ids\[\d+\]",
}
"""Where a list's items are referred to by id (and, for criteria, a sheet's coverage of the
rubric: an unnamed criterion cannot be scored)."""


def cross_check_unconverted(
    request: scoring_pb2.ScoreProposalsRequest, seed: int, violations: Violations
) -> None:
    """Add the cross-reference violations of a request some of whose items did not convert
    (recorded in `violations`), so that one answer names every mistake (see StandIns).

    A criterion stands in with its id and a scale wide open, a judge with its id, a proposal
    with its ids, a sheet with its ids scoring each criterion's minimum. A policy that did not
    convert leaves nothing to check against.
    """
    if violations.full:
        return
    policy = _policy(request.policy, Violations())
    if policy is None:
        return
    stand_ins = StandIns(_REFERENCES)
    criteria = tuple(
        build(Violations(), "", _criterion, c, policy.weight_mode)
        # MAX_MAGNITUDE: the widest scale the magnitude check lets through.
        or m.Criterion(
            stand_ins.named(f"criteria[{i}]", "criterion_id", c.criterion_id),
            1.0,
            -MAX_MAGNITUDE,
            MAX_MAGNITUDE,
        )
        for i, c in enumerate(request.criteria)
    )
    judges = tuple(
        build(Violations(), "", _judge, j)
        or m.Judge(stand_ins.named(f"judges[{i}]", "judge_id", j.judge_id))
        for i, j in enumerate(request.judges)
    )
    proposals = tuple(
        _valid_proposal(p)
        or m.Proposal(
            stand_ins.named(f"proposals[{i}]", "proposal_id", p.proposal_id),
            organization_id=p.organization_id,
            domain=p.domain,
        )
        for i, p in enumerate(request.proposals)
    )
    lowest = tuple(c.scale_min for c in criteria) or (0.0,)
    sheets = tuple(
        _valid_sheet(sheet, {})
        or m.ScoreSheet(
            stand_ins.named(f"sheets[{i}]", "judge_id", sheet.judge_id),
            stand_ins.refer(f"sheets[{i}].proposal_id", sheet.proposal_id),
            (),
            lowest,
        )
        for i, sheet in enumerate(request.sheets)
    )
    problem = m.ScoringProblem(criteria, judges, proposals, sheets, policy, seed)
    stand_ins.cross_check(validate_problem, problem, violations)


def _criterion(pb: scoring_pb2.Criterion, weight_mode: m.WeightMode) -> m.Criterion:
    scale_min, scale_max = pb.scale_min, pb.scale_max
    if scale_min == 0 and scale_max == 0:
        # The documented default scale: 0..10, or 0..points in points mode.
        scale_max = pb.weight if weight_mode is m.WeightMode.POINTS else 10.0
    return m.Criterion(
        criterion_id=pb.criterion_id,
        weight=pb.weight,
        scale_min=scale_min,
        scale_max=scale_max,
        veto_below=pb.veto_below if pb.HasField("veto_below") else None,
        display_name=pb.display_name,
    )


def _judge(pb: scoring_pb2.Judge) -> m.Judge:
    return m.Judge(
        judge_id=pb.judge_id,
        conflict_organization_ids=tuple(pb.conflict_organization_ids),
        assigned_proposal_ids=tuple(pb.assigned_proposal_ids),
        display_name=pb.display_name,
    )


def _proposal(pb: proposal_pb2.Proposal, path: str, violations: Violations) -> m.Proposal | None:
    valid = _valid_proposal(pb)
    if valid is not None:
        return valid
    checks = all_built(
        build(
            violations,
            f"{path}.eligibility_checks[{k}]",
            m.EligibilityCheck,
            c.check_id,
            c.passed,
            c.reason,
        )
        for k, c in enumerate(pb.eligibility_checks)
    )
    values = all_built(
        build(violations, f"{path}.component_values[{k}]", _component_value, v)
        for k, v in enumerate(pb.component_values)
    )
    submit_time = None
    if pb.HasField("submit_time"):
        submit_time = _timestamp(pb.submit_time, f"{path}.submit_time", violations)
        if submit_time is None:
            return None
    if checks is None or values is None:
        return None
    return build(
        violations,
        path,
        m.Proposal,
        proposal_id=pb.proposal_id,
        organization_id=pb.organization_id,
        domain=pb.domain,
        submit_time=submit_time,
        eligibility_checks=checks,
        component_values=values,
        title=pb.title,
    )


def _valid_proposal(pb: proposal_pb2.Proposal) -> m.Proposal | None:
    """The proposal when every field passes the checks; None otherwise (nothing recorded, the
    caller then converts it field by field to record each violation at its path)."""
    submit_time = None
    if pb.HasField("submit_time"):
        submit_time = _timestamp(pb.submit_time, "", Violations())
        if submit_time is None:
            return None
    try:
        return m.Proposal(
            proposal_id=pb.proposal_id,
            organization_id=pb.organization_id,
            domain=pb.domain,
            submit_time=submit_time,
            eligibility_checks=tuple(
                m.EligibilityCheck(c.check_id, c.passed, c.reason) for c in pb.eligibility_checks
            ),
            component_values=tuple(map(_component_value, pb.component_values)),
            title=pb.title,
        )
    except InvalidProblem:
        return None


TIMESTAMP_MIN_SECONDS = -62_135_596_800
"""0001-01-01T00:00:00Z, the earliest google.protobuf.Timestamp (and Python datetime)."""
TIMESTAMP_MAX_SECONDS = 253_402_300_799
"""9999-12-31T23:59:59Z, the latest."""


def _timestamp(pb: Timestamp, path: str, violations: Violations) -> datetime | None:
    """A Timestamp as an aware UTC datetime; one outside the range google.protobuf.Timestamp
    allows (years 1-9999, nanos 0-999,999,999) is recorded as a violation and gives None."""
    if (
        TIMESTAMP_MIN_SECONDS <= pb.seconds <= TIMESTAMP_MAX_SECONDS
        and 0 <= pb.nanos <= 999_999_999
    ):
        return pb.ToDatetime(tzinfo=UTC)
    violations.add_shown(
        path,
        f"{{seconds: {pb.seconds}, nanos: {pb.nanos}}}",
        "not a valid timestamp: seconds must be within 0001-01-01..9999-12-31 UTC "
        f"({TIMESTAMP_MIN_SECONDS}..{TIMESTAMP_MAX_SECONDS}) and nanos within 0..999999999",
    )
    return None


def _component_value(pb: proposal_pb2.ComponentValue) -> m.ComponentValue:
    kind = pb.WhichOneof("kind")
    return m.ComponentValue(
        component_id=pb.component_id,
        value=pb.value if kind == "value" else None,
        amount_fen=pb.amount_fen if kind == "amount_fen" else None,
    )


def _sheets(
    sheets: Iterable[scoring_pb2.ScoreSheet], violations: Violations
) -> tuple[m.ScoreSheet, ...] | None:
    """All sheets, or None when one could not be converted (see `violations`).

    A request carries one score per sheet and criterion, so this is the conversion's hot loop:
    a sheet is first built without recording anything (equal scores share one immutable
    CriterionScore; a sheet in the compact form keeps its values as one tuple); only a sheet
    that fails a check goes through `_sheet`, which records its violations exactly as building
    every object one by one does.
    """
    made: dict[tuple[str, float], m.CriterionScore] = {}
    built: list[m.ScoreSheet] = []
    failed = False
    for i, pb in enumerate(sheets):
        sheet = _valid_sheet(pb, made)
        if sheet is None:
            sheet = _sheet(pb, f"sheets[{i}]", violations)
        if sheet is None:
            failed = True
        else:
            built.append(sheet)
    return None if failed else tuple(built)


def _valid_sheet(
    pb: scoring_pb2.ScoreSheet, made: dict[tuple[str, float], m.CriterionScore]
) -> m.ScoreSheet | None:
    """The sheet when every field passes the model's checks; None otherwise (nothing recorded)."""
    numbers = pb.values
    if numbers:
        # The compact form: the numbers in one read (a slice of upb's container is twice as
        # fast as iterating it), no message per score; the model checks ids and values once.
        if pb.scores:
            return None
        try:
            return m.ScoreSheet(pb.judge_id, pb.proposal_id, (), tuple(numbers[:]))
        except InvalidProblem:
            return None
    scores: list[m.CriterionScore] = []
    for s in pb.scores:
        key = (s.criterion_id, s.value)
        score = made.get(key)
        if score is None:
            criterion_id, value = key
            if not (criterion_id and isfinite(value)):
                return None
            score = m.CriterionScore(criterion_id, value)
            if value:  # 0.0 and -0.0 are equal keys: zeros are not shared, so each keeps its sign
                made[key] = score
        scores.append(score)
    judge_id, proposal_id = pb.judge_id, pb.proposal_id
    if not (judge_id and proposal_id and scores):
        return None
    return m.ScoreSheet(judge_id, proposal_id, tuple(scores))


def _sheet(pb: scoring_pb2.ScoreSheet, path: str, violations: Violations) -> m.ScoreSheet | None:
    scores = all_built(
        build(violations, f"{path}.scores[{k}]", m.CriterionScore, s.criterion_id, s.value)
        for k, s in enumerate(pb.scores)
    )
    if scores is None:
        return None
    return build(
        violations, path, m.ScoreSheet, pb.judge_id, pb.proposal_id, scores, tuple(pb.values)
    )


def _policy(pb: scoring_pb2.ScoringPolicy, violations: Violations) -> m.ScoringPolicy | None:
    path = "policy"
    before = len(violations)
    aggregation = enum_from_pb(
        pb.aggregation, AGGREGATION, m.AggregationMethod.MEAN, f"{path}.aggregation", violations
    )
    weight_mode = enum_from_pb(
        pb.weight_mode, WEIGHT_MODE, m.WeightMode.RELATIVE, f"{path}.weight_mode", violations
    )
    veto_rule = enum_from_pb(
        pb.veto_rule, VETO_RULE, m.VetoRule.AGGREGATE, f"{path}.veto_rule", violations
    )
    components = all_built(
        _component(c, f"{path}.components[{i}]", violations) for i, c in enumerate(pb.components)
    )
    rules = all_built(
        _tie_break(r, f"{path}.tie_break_rules[{i}]", violations)
        for i, r in enumerate(pb.tie_break_rules)
    )
    panel_weight = pb.panel_weight
    if panel_weight == 0:
        has_weighted = any(c.kind is m.ComponentKind.WEIGHTED for c in components or ())
        violations.require(
            not has_weighted,
            f"{path}.panel_weight",
            panel_weight,
            "set the expert panel's weight when weighted components are given",
        )
        panel_weight = 1.0
    trim_count = pb.trim_count
    if aggregation is m.AggregationMethod.TRIMMED_MEAN and trim_count == 0:
        trim_count = 1  # the documented default: drop the single highest and lowest
    stability = build(violations, f"{path}.rank_stability", _stability, pb.rank_stability)
    converted = len(violations) == before and None not in (stability, components, rules)
    # The policy's own checks run even when a part of it did not convert (that part left out),
    # so that one answer names every mistake; a trim count is judged by its aggregation only
    # when the aggregation itself converted.
    checked = Violations()
    policy = build(
        checked,
        path,
        m.ScoringPolicy,
        aggregation=aggregation,
        trim_count=trim_count,
        weight_mode=weight_mode,
        veto_rule=veto_rule,
        panel_weight=panel_weight,
        components=components or (),
        pass_line=pb.pass_line if pb.HasField("pass_line") else None,
        tie_break_rules=rules or m.DEFAULT_TIE_BREAK,
        tie_decimals=pb.tie_decimals if pb.HasField("tie_decimals") else 2,
        rank_stability=stability or m.RankStability(),
        outlier_threshold=pb.outlier_threshold or 3.0,
    )
    reported = {v.field for v in violations}
    unjudged = {f"{path}.trim_count"} if f"{path}.aggregation" in reported else set()
    for v in checked:
        if v.field not in reported | unjudged:
            violations.add_shown(v.field, v.value, v.description)
    return policy if converted else None


def _component(
    pb: scoring_pb2.ScoreComponent, path: str, violations: Violations
) -> m.ScoreComponent | None:
    kind = enum_from_pb(
        pb.kind, COMPONENT_KIND, m.ComponentKind.WEIGHTED, f"{path}.kind", violations
    )
    normalization = enum_from_pb(
        pb.normalization, NORMALIZATION, m.Normalization.NONE, f"{path}.normalization", violations
    )
    return build(
        violations,
        path,
        m.ScoreComponent,
        component_id=pb.component_id,
        kind=kind,
        weight=pb.weight,
        normalization=normalization,
        cap=pb.cap,
        display_name=pb.display_name,
    )


def _tie_break(
    pb: scoring_pb2.TieBreakRule, path: str, violations: Violations
) -> m.TieBreakRule | None:
    if pb.kind == scoring_pb2.TIE_BREAK_KIND_UNSPECIFIED:
        violations.add(
            f"{path}.kind", 0, "choose a tie-break rule; TIE_BREAK_KIND_UNSPECIFIED is not one"
        )
        return None
    if pb.kind not in TIE_BREAK:
        violations.add(
            f"{path}.kind", pb.kind, f"unknown enum value; expected one of {sorted(TIE_BREAK)}"
        )
        return None
    return build(violations, path, m.TieBreakRule, TIE_BREAK[pb.kind], pb.criterion_id)


def _stability(pb: scoring_pb2.RankStabilityOptions) -> m.RankStability:
    return m.RankStability(
        samples=pb.samples if pb.HasField("samples") else m.DEFAULT_BOOTSTRAP_SAMPLES,
        confidence=pb.confidence or 0.9,
        shortlist_size=pb.shortlist_size,
    )


# ---------------------------------------------------------------------------------------------
# Result -> response
# ---------------------------------------------------------------------------------------------


def result_to_pb(
    result: m.ScoringResult, exclude_timings: bool, into: scoring_pb2.ScoringResult | None = None
) -> scoring_pb2.ScoringResult:
    """The result as a message: `into` when given (a response's own field, filled in place
    rather than built apart and copied in), else a new one."""
    pb = scoring_pb2.ScoringResult() if into is None else into
    pb.aggregation = AGGREGATION_PB[result.aggregation]
    for p in result.proposals:
        _scored_proposal(p, pb.proposals.add())
    for j in result.judges:
        report = pb.judges.add(
            judge_id=j.judge_id,
            sheets=j.sheets,
            missing=j.missing,
            recused=j.recused,
            leniency=j.leniency,
            mean_deviation=j.mean_deviation,
        )
        if j.agreement is not None:
            report.agreement = j.agreement
        for o in j.outliers:
            report.outliers.add(
                proposal_id=o.proposal_id, total=o.total, expected=o.expected, z=o.z
            )
    for g in result.tied_groups:
        pb.tied_groups.add(
            score=g.score,
            proposal_ids=g.proposal_ids,
            resolved_by=TIE_BREAK_PB[g.resolved_by],
            criterion_id=g.criterion_id,
        )
    for r in result.recusals:
        pb.recusals.add(
            judge_id=r.judge_id,
            proposal_id=r.proposal_id,
            organization_id=r.organization_id,
            sheet_discarded=r.sheet_discarded,
        )
    for s in result.missing_sheets:
        pb.missing_sheets.add(judge_id=s.judge_id, proposal_id=s.proposal_id)
    for n in result.notices:
        pb.notices.add(code=n.code, message=n.message, subject_ids=n.subject_ids)
    pb.summary.CopyFrom(
        summary_pb(
            common_pb2.SOLVE_STATUS_OPTIMAL,
            [(t.stage, t.seconds) for t in result.timings],
            ENGINE,
            exclude_timings,
        )
    )
    return pb


def _scored_proposal(p: m.ScoredProposal, pb: scoring_pb2.ScoredProposal) -> None:
    pb.proposal_id = p.proposal_id
    pb.rank = p.rank
    pb.outcome = OUTCOME[p.outcome]
    pb.final_score = p.final_score
    pb.panel_score = p.panel_score
    pb.raw_score = p.raw_score
    pb.calibrated_score = p.calibrated_score
    pb.tied_group = p.tied_group
    for r in p.reasons:
        pb.reasons.add(
            outcome=OUTCOME[r.outcome],
            subject_id=r.subject_id,
            message=r.message,
            value=r.value,
            threshold=r.threshold,
            judge_id=r.judge_id,
        )
    _criteria(p.criteria, pb.criteria)
    _components(p.components, pb.components)
    _dispersion(p.dispersion, pb.dispersion)
    if p.rank_interval is not None:
        _rank_interval(p.rank_interval, pb.rank_interval)


# Messages are filled in place, field by field: building one and copying it in costs twice as
# much, and upb sets attributes faster than it reads keyword arguments. Per proposal and
# criterion that adds up. SetInParent marks a submessage present even when every value is 0.


def _criteria(
    criteria: tuple[m.CriterionBreakdown, ...],
    target: RepeatedCompositeFieldContainer[scoring_pb2.CriterionBreakdown],
) -> None:
    add = target.add
    for c in criteria:
        pb = add()
        pb.criterion_id = c.criterion_id
        pb.score = c.score
        pb.raw_score = c.raw_score
        pb.weight_share = c.weight_share
        pb.contribution = c.contribution


def _components(
    components: tuple[m.ComponentBreakdown, ...],
    target: RepeatedCompositeFieldContainer[scoring_pb2.ComponentBreakdown],
) -> None:
    add = target.add
    for k in components:
        pb = add()
        pb.component_id = k.component_id
        pb.value = k.value
        pb.amount_fen = k.amount_fen
        pb.normalized = k.normalized
        pb.weight_share = k.weight_share
        pb.contribution = k.contribution


def _dispersion(d: m.PanelDispersion, pb: scoring_pb2.PanelDispersion) -> None:
    pb.SetInParent()
    pb.sheets = d.sheets
    pb.counted = d.counted
    pb.std_dev = d.std_dev
    pb.min = d.min
    pb.max = d.max
    pb.counted_judge_ids.extend(d.counted_judge_ids)
    pb.dropped_judge_ids.extend(d.dropped_judge_ids)


def _rank_interval(i: m.RankInterval, pb: scoring_pb2.RankInterval) -> None:
    pb.SetInParent()
    pb.lower = i.lower
    pb.upper = i.upper
    pb.confidence = i.confidence
    pb.top_k_probability = i.top_k_probability
    pb.shortlist_size = i.shortlist_size
    pb.uncertain = i.uncertain
