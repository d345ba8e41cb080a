"""The round at a glance: what each stage concluded, how long it took, what produced the result
(provenance) and every notice, for the report's header and the workbook's first sheet.
"""

from __future__ import annotations

from service.round.report_tables import Table, make_columns
from service.round.report_text import AGGREGATIONS, OUTCOMES, Yuan, named, status
from venture.v1 import round_pb2, scoring_pb2

NOT_IN_ROUND = "本轮未包含 not part of this round"


def _scoring(response: round_pb2.OptimizeRoundResponse) -> str:
    if not response.HasField("scoring"):
        return NOT_IN_ROUND
    result = response.scoring
    qualified = sum(p.outcome == scoring_pb2.SCORING_OUTCOME_QUALIFIED for p in result.proposals)
    return (
        f"{len(result.proposals)} proposals, {qualified} "
        f"{named(OUTCOMES, scoring_pb2.SCORING_OUTCOME_QUALIFIED)}, "
        f"{len(result.judges)} judges, aggregation {AGGREGATIONS.get(result.aggregation, '-')}"
    )


def _allocation(response: round_pb2.OptimizeRoundResponse) -> str:
    if not response.HasField("allocation"):
        return NOT_IN_ROUND
    result = response.allocation
    funded = len(result.awards)
    return (
        f"{status(result.summary)}: {funded} of {funded + len(result.unfunded)} funded, "
        f"¥{Yuan(result.awarded_fen)} of ¥{Yuan(result.available_fen)} "
        f"(¥{Yuan(result.remaining_fen)} left)"
    )


def _needs(response: round_pb2.OptimizeRoundResponse) -> str:
    if not response.HasField("needs"):
        return NOT_IN_ROUND
    result = response.needs
    return (
        f"{status(result.summary)}: {len(result.assignments)} matches, "
        f"{len(result.unmet_needs)} need(s) short, "
        f"worst-off need affinity {result.worst_need_affinity:.3f}"
    )


def _mentors(response: round_pb2.OptimizeRoundResponse) -> str:
    if not response.HasField("mentors"):
        return NOT_IN_ROUND
    result = response.mentors
    return (
        f"{status(result.summary)}: {len(result.assignments)} assignments, "
        f"{len(result.uncovered)} weak area(s) uncovered, "
        f"{result.blocking_pairs} blocking pair(s)"
    )


def _timings(response: round_pb2.OptimizeRoundResponse) -> str:
    parts = [f"{t.stage} {t.duration.ToMilliseconds():,} ms" for t in response.timings]
    return ", ".join(parts) or "-"


def _versions(provenance: round_pb2.Provenance) -> str:
    versions = [f"venture {provenance.venture_version or '-'}"]
    versions += [f"{name} {v}" for name, v in sorted(provenance.solver_versions.items())]
    return ", ".join(versions)


def summary(
    request: round_pb2.OptimizeRoundRequest, response: round_pb2.OptimizeRoundResponse
) -> list[tuple[str, str]]:
    """(label, value) lines: the round, each stage's outcome, timings and provenance."""
    provenance = response.provenance
    labels = ", ".join(f"{k}={v}" for k, v in sorted(response.labels.items()))
    return [
        ("轮次 round", response.round_id or request.round_id),
        ("名称 name", request.display_name),
        ("评审 scoring", _scoring(response)),
        ("资助 allocation", _allocation(response)),
        ("供需对接 needs", _needs(response)),
        ("导师匹配 mentors", _mentors(response)),
        ("用时 timings", _timings(response)),
        ("输入哈希 input hash (SHA-256)", provenance.input_hash or "-"),
        ("版本 versions", _versions(provenance)),
        ("随机种子 seed", str(provenance.seed)),
        ("标签 labels", labels or "-"),
    ]


def notices(response: round_pb2.OptimizeRoundResponse) -> Table:
    """Every notice of the round and of each stage, and any validation problem."""
    rows: list[tuple[str, str, str, str]] = [
        ("validation", v.field, v.description, v.value) for v in response.validation_errors
    ]
    stages = (
        ("round", response.notices),
        ("scoring", response.scoring.notices),
        ("allocation", response.allocation.notices),
        ("needs", response.needs.notices),
        ("mentors", response.mentors.notices),
    )
    for stage, stage_notices in stages:
        rows += [(stage, n.code, n.message, ", ".join(n.subject_ids)) for n in stage_notices]
    columns = make_columns(
        ("环节", "stage"), ("代码", "code"), ("说明", "message"), ("涉及", "subjects")
    )
    return Table("notices", "提示", "notices", columns, tuple(rows))
