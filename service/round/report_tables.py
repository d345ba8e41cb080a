"""The round's results as tables with Chinese + English headers, one definition shared by the
HTML report and the workbook so both always show the same columns and rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from service.round.report_text import (
    DIMENSIONS,
    OUTCOMES,
    UNCOVERED,
    UNFUNDED,
    UNMET,
    YES,
    Yuan,
    margin,
    named,
    top_parts,
)
from venture.v1 import (
    allocation_pb2,
    proposal_pb2,
    round_pb2,
    scoring_pb2,
)

Cell = str | int | float | Yuan | None


@dataclass(frozen=True, slots=True)
class Column:
    zh: str
    en: str
    number_format: str = ""
    """Format spec for numbers (".2f", ".0%", "+.2f"), "yuan" for money (Yuan cells); empty
    for text and whole numbers."""


@dataclass(frozen=True, slots=True)
class Table:
    key: str
    """Sheet name in the workbook and element id in the page."""
    zh: str
    en: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]
    present: bool = True
    """False when the round has no such part (e.g. no mentors): "not part of this round"."""


@dataclass(frozen=True, slots=True)
class Names:
    """Display names by id, from the round's request."""

    proposals: dict[str, proposal_pb2.Proposal]
    organizations: dict[str, str]
    needs: dict[str, str]
    mentors: dict[str, str]
    judges: dict[str, str]
    pools: dict[str, str]
    pool_amounts: dict[str, int]
    """Each pool's amount in fen, from the allocation rules."""

    @classmethod
    def of(cls, request: round_pb2.OptimizeRoundRequest) -> Names:
        return cls(
            proposals={p.proposal_id: p for p in request.proposals},
            organizations={o.organization_id: o.display_name for o in request.organizations},
            needs={n.need_id: n.display_name for n in request.needs},
            mentors={m.mentor_id: m.display_name for m in request.mentors},
            judges={j.judge_id: j.display_name for j in request.judges},
            pools={p.pool_id: p.display_name for p in request.allocation_rules.pools},
            pool_amounts={p.pool_id: p.amount_fen for p in request.allocation_rules.pools},
        )

    def title(self, proposal_id: str) -> str:
        proposal = self.proposals.get(proposal_id)
        return proposal.title if proposal else ""

    def organization_of(self, proposal_id: str) -> str:
        proposal = self.proposals.get(proposal_id)
        if proposal is None:
            return ""
        return self.organizations.get(proposal.organization_id, proposal.organization_id)

    def pool(self, pool_id: str) -> str:
        name = self.pools.get(pool_id, "")
        return f"{name} ({pool_id})" if name and pool_id else pool_id


def make_columns(*specs: tuple[str, str] | tuple[str, str, str]) -> tuple[Column, ...]:
    return tuple(Column(*spec) for spec in specs)


def shortlist(names: Names, response: round_pb2.OptimizeRoundResponse) -> Table:
    awards = {a.proposal_id: a.amount_fen for a in response.allocation.awards}
    rows = []
    for p in response.scoring.proposals:
        known = names.proposals.get(p.proposal_id, proposal_pb2.Proposal())
        interval = p.rank_interval
        has = p.HasField("rank_interval")
        rows.append(
            (
                p.rank,
                p.proposal_id,
                known.title,
                names.organization_of(p.proposal_id),
                known.domain,
                known.region,
                p.final_score,
                p.panel_score,
                f"{interval.lower}–{interval.upper}" if has else "",
                interval.top_k_probability if has else None,
                named(OUTCOMES, p.outcome),
                Yuan(awards[p.proposal_id]) if p.proposal_id in awards else None,
                "; ".join(r.message for r in p.reasons),
            )
        )
    columns = make_columns(
        ("排名", "rank"),
        ("项目", "proposal"),
        ("项目名称", "title"),
        ("申报机构", "organization"),
        ("领域", "domain"),
        ("地区", "region"),
        ("最终得分", "final score", ".2f"),
        ("评审得分", "panel score", ".2f"),
        ("排名区间", "rank interval"),
        ("入围概率", "P(top K)", ".0%"),
        ("评审结果", "outcome"),
        ("资助金额（元）", "award (yuan)", "yuan"),
        ("说明", "reasons"),
    )
    present = response.HasField("scoring")
    return Table("shortlist", "入围名单", "ranked shortlist", columns, tuple(rows), present)


def awards(names: Names, response: round_pb2.OptimizeRoundResponse) -> Table:
    result = response.allocation
    margins = {m.proposal_id: m for m in result.margins}
    rows = tuple(
        (
            a.proposal_id,
            names.title(a.proposal_id),
            names.organization_of(a.proposal_id),
            a.score,
            Yuan(a.requested_fen),
            Yuan(a.amount_fen),
            names.pool(a.pool_id),
            margin(margins.get(a.proposal_id)),
            YES if a.locked else "",
        )
        for a in result.awards
    )
    columns = make_columns(
        ("项目", "proposal"),
        ("项目名称", "title"),
        ("申报机构", "organization"),
        ("得分", "score", ".2f"),
        ("申请金额（元）", "requested (yuan)", "yuan"),
        ("资助金额（元）", "granted (yuan)", "yuan"),
        ("资金池", "pool"),
        ("决策余量", "margin"),
        ("已锁定", "locked"),
    )
    return Table("awards", "立项资助", "awards", columns, rows, response.HasField("allocation"))


def unfunded(names: Names, response: round_pb2.OptimizeRoundResponse) -> Table:
    result = response.allocation
    margins = {m.proposal_id: m for m in result.margins}
    rows = tuple(
        (
            u.proposal_id,
            names.title(u.proposal_id),
            named(UNFUNDED, u.reason),
            u.rule,
            margin(margins.get(u.proposal_id)),
            u.message,
        )
        for u in result.unfunded
    )
    columns = make_columns(
        ("项目", "proposal"),
        ("项目名称", "title"),
        ("原因", "reason"),
        ("依据规则", "rule"),
        ("差距", "needs +"),
        ("说明", "explanation"),
    )
    present = response.HasField("allocation")
    return Table("unfunded", "未获资助及原因", "unfunded, with reasons", columns, rows, present)


def spend(names: Names, response: round_pb2.OptimizeRoundResponse) -> Table:
    result = response.allocation
    rows = tuple(
        (
            named(DIMENSIONS, s.dimension),
            names.pool(s.key) if s.dimension == allocation_pb2.DIMENSION_POOL else s.key,
            Yuan(s.amount_fen),
            s.count,
            s.amount_fen / result.awarded_fen if result.awarded_fen else None,
        )
        for s in result.spend
    )
    columns = make_columns(
        ("维度", "by"),
        ("类别", "key"),
        ("金额（元）", "amount (yuan)", "yuan"),
        ("项目数", "grants"),
        ("占比", "share", ".1%"),
    )
    present = response.HasField("allocation")
    return Table("spend", "资金分布", "spend", columns, rows, present)


def need_matches(names: Names, response: round_pb2.OptimizeRoundResponse) -> Table:
    rows = tuple(
        (
            a.need_id,
            names.needs.get(a.need_id, ""),
            a.organization_id,
            names.organizations.get(a.organization_id, ""),
            a.affinity.total,
            top_parts(a.affinity),
            YES if a.fixed else "",
        )
        for a in response.needs.assignments
    )
    columns = make_columns(
        ("需求", "need"),
        ("需求名称", "need name"),
        ("机构", "organization"),
        ("机构名称", "organization name"),
        ("匹配度", "affinity", ".3f"),
        ("主要构成", "made of"),
        ("指定", "fixed"),
    )
    present = response.HasField("needs")
    return Table("need_matches", "供需对接", "needs matches", columns, rows, present)


def unmet_needs(names: Names, response: round_pb2.OptimizeRoundResponse) -> Table:
    rows = tuple(
        (
            u.need_id,
            names.needs.get(u.need_id, ""),
            u.required,
            u.assigned,
            u.candidates,
            named(UNMET, u.reason),
            u.message,
        )
        for u in response.needs.unmet_needs
    )
    columns = make_columns(
        ("需求", "need"),
        ("需求名称", "need name"),
        ("需要机构数", "asked"),
        ("已对接", "got"),
        ("候选数", "candidates"),
        ("原因", "reason"),
        ("说明", "explanation"),
    )
    present = response.HasField("needs")
    return Table("unmet_needs", "未满足需求", "unmet needs", columns, rows, present)


def mentor_matches(names: Names, response: round_pb2.OptimizeRoundResponse) -> Table:
    rows = tuple(
        (
            a.organization_id,
            names.organizations.get(a.organization_id, ""),
            a.mentor_id,
            names.mentors.get(a.mentor_id, ""),
            ", ".join(f"{c.area} (L{c.level})" for c in a.covered),
            a.value,
        )
        for a in response.mentors.assignments
    )
    columns = make_columns(
        ("机构", "organization"),
        ("机构名称", "organization name"),
        ("导师", "mentor"),
        ("导师姓名", "mentor name"),
        ("覆盖的薄弱领域", "covered areas"),
        ("价值", "value", ".2f"),
    )
    present = response.HasField("mentors")
    return Table("mentor_matches", "导师匹配", "mentor matches", columns, rows, present)


def uncovered_areas(names: Names, response: round_pb2.OptimizeRoundResponse) -> Table:
    rows = tuple(
        (
            u.organization_id,
            names.organizations.get(u.organization_id, ""),
            u.area,
            u.severity,
            named(UNCOVERED, u.reason),
            u.message,
        )
        for u in response.mentors.uncovered
    )
    columns = make_columns(
        ("机构", "organization"),
        ("机构名称", "organization name"),
        ("薄弱领域", "area"),
        ("严重程度", "severity", ".1f"),
        ("原因", "reason"),
        ("说明", "explanation"),
    )
    present = response.HasField("mentors")
    return Table("uncovered_areas", "未覆盖的薄弱领域", "uncovered areas", columns, rows, present)


def _outliers(judge: scoring_pb2.JudgeReport) -> str:
    return ", ".join(f"{o.proposal_id} (z {o.z:+.1f})" for o in judge.outliers)


def judges(names: Names, response: round_pb2.OptimizeRoundResponse) -> Table:
    rows = tuple(
        (
            j.judge_id,
            names.judges.get(j.judge_id, ""),
            j.sheets,
            j.missing,
            j.recused,
            j.leniency,
            j.mean_deviation,
            j.agreement if j.HasField("agreement") else None,
            _outliers(j),
        )
        for j in response.scoring.judges
    )
    columns = make_columns(
        ("评委", "judge"),
        ("姓名", "name"),
        ("评分表", "sheets"),
        ("缺评", "missing"),
        ("回避", "recused"),
        ("宽严度", "leniency", "+.2f"),
        ("平均偏差", "mean deviation", ".2f"),
        ("一致性", "agreement", ".2f"),
        ("异常评分", "outliers"),
    )
    present = response.HasField("scoring")
    return Table("judges", "评委分析", "judge analytics", columns, rows, present)


def all_tables(
    request: round_pb2.OptimizeRoundRequest, response: round_pb2.OptimizeRoundResponse
) -> Sequence[Table]:
    """Every table, in the order the workbook's sheets have them."""
    names = Names.of(request)
    builders = (
        shortlist,
        awards,
        unfunded,
        spend,
        need_matches,
        unmet_needs,
        mentor_matches,
        uncovered_areas,
        judges,
    )
    return [build(names, response) for build in builders]


def spend_of(
    allocation: allocation_pb2.AllocationResult, dimension: allocation_pb2.Dimension.ValueType
) -> list[allocation_pb2.Spend]:
    """One dimension's spend lines, largest amount first (ties by key, for a stable order)."""
    lines = [s for s in allocation.spend if s.dimension == dimension]
    return sorted(lines, key=lambda s: (-s.amount_fen, s.key))


def funded_ids(response: round_pb2.OptimizeRoundResponse) -> set[str]:
    return {a.proposal_id for a in response.allocation.awards}
