"""The report's chart sections: spend by domain, region and pool (each beside its exact
amounts), the score distribution, judge leniency and agreement, and rank intervals.
"""

from __future__ import annotations

from service.round import charts
from service.round.report_html import figure, h3, note, section, table_html
from service.round.report_summary import NOT_IN_ROUND
from service.round.report_tables import Cell, Names, Table, make_columns, spend_of
from service.round.report_text import Yuan
from venture.v1 import allocation_pb2, round_pb2, scoring_pb2

RANK_CHART_TOP = 30
"""The rank-interval chart shows this many proposals from the top."""
SPEND_BARS = 20
"""A spend chart shows this many keys, the rest as one bar (the table beside lists all)."""

_SPEND = (
    (allocation_pb2.DIMENSION_DOMAIN, "domain", "领域", "D"),
    (allocation_pb2.DIMENSION_REGION, "region", "地区", "R"),
    (allocation_pb2.DIMENSION_POOL, "pool", "资金池", "F"),
)


def _spend_block(
    names: Names,
    result: allocation_pb2.AllocationResult,
    dimension: allocation_pb2.Dimension.ValueType,
    en: str,
    zh: str,
    code: str,
) -> str:
    """One dimension's spend: bars and, beside them, the exact amounts with full names."""
    lines = spend_of(result, dimension)
    if not lines:
        return h3(zh, f"by {en}") + note("无 none", "empty")
    shown, rest = lines[:SPEND_BARS], lines[SPEND_BARS:]
    labels = [charts.label(s.key, f"{code}{i}") for i, s in enumerate(shown, 1)]
    yuan = [s.amount_fen / 100 for s in shown]
    counts = [s.count for s in shown]
    capacity = [names.pool_amounts.get(s.key, 0) / 100 for s in shown]
    if rest:
        labels.append(f"{len(rest)} others")
        yuan.append(sum(s.amount_fen for s in rest) / 100)
        counts.append(sum(s.count for s in rest))
        capacity.append(sum(names.pool_amounts.get(s.key, 0) for s in rest) / 100)
    is_pool = dimension == allocation_pb2.DIMENSION_POOL
    svg = charts.spend_bars(f"Spend by {en}", labels, yuan, counts, capacity if is_pool else None)
    labels = labels[: len(shown)] + [labels[-1]] * len(rest)
    awarded = result.awarded_fen
    rows: tuple[tuple[Cell, ...], ...] = tuple(
        (
            label,
            names.pool(s.key) if is_pool else s.key,
            Yuan(s.amount_fen),
            s.count,
            s.amount_fen / awarded if awarded else None,
        )
        for label, s in zip(labels, lines, strict=True)
    )
    columns = make_columns(
        ("图中", "in chart"),
        (zh, en),
        ("金额（元）", "amount (yuan)", "yuan"),
        ("项目数", "grants"),
        ("占比", "share", ".1%"),
    )
    if all(label == s.key for label, s in zip(labels, lines, strict=True)):
        # The chart shows the keys themselves: no need for a column that translates them.
        columns, rows = columns[1:], tuple(row[1:] for row in rows)
    table = table_html(Table(f"spend-{en}", zh, en, columns, rows))
    caption = f"按{zh}的资助金额 · amount awarded by {en}"
    chart = figure(f"chart-spend-{en}", svg, caption)
    return h3(zh, f"by {en}") + f'<div class="pair">{chart}{table}</div>'


def spend_section(names: Names, response: round_pb2.OptimizeRoundResponse) -> str:
    if not response.HasField("allocation"):
        return section("spend", "资金分布", "spend", note(NOT_IN_ROUND, "absent"))
    blocks = [_spend_block(names, response.allocation, *spec) for spec in _SPEND]
    return section("spend", "资金分布", "spend by domain, region and pool", *blocks)


def _pass_line(request: round_pb2.OptimizeRoundRequest) -> float | None:
    if request.scoring_policy.HasField("pass_line"):
        return request.scoring_policy.pass_line
    if request.allocation_rules.HasField("pass_line"):
        return request.allocation_rules.pass_line
    return None


def _scored(response: round_pb2.OptimizeRoundResponse) -> list[scoring_pb2.ScoredProposal]:
    return [
        p for p in response.scoring.proposals if p.outcome != scoring_pb2.SCORING_OUTCOME_NOT_SCORED
    ]


def scores_section(
    request: round_pb2.OptimizeRoundRequest, response: round_pb2.OptimizeRoundResponse
) -> str:
    scored = _scored(response)
    if not scored:
        text = NOT_IN_ROUND if not response.HasField("scoring") else "无 none"
        return section("scores", "得分分布", "score distribution", note(text, "absent"))
    funded = {a.proposal_id for a in response.allocation.awards}
    svg = charts.score_histogram(
        [p.final_score for p in scored if p.proposal_id in funded],
        [p.final_score for p in scored if p.proposal_id not in funded],
        _pass_line(request),
    )
    caption = "最终得分分布（虚线为及格线）· final scores, pass line dashed"
    return section("scores", "得分分布", "score distribution", figure("chart-scores", svg, caption))


def judges_section(response: round_pb2.OptimizeRoundResponse, table: Table) -> str:
    reports = response.scoring.judges
    if not reports:
        return section("judges", "评委分析", "judge analytics", table_html(table))
    svg = charts.judge_chart(
        [charts.label(j.judge_id, f"J{i}") for i, j in enumerate(reports, 1)],
        [j.leniency for j in reports],
        [j.agreement if j.HasField("agreement") else None for j in reports],
    )
    caption = (
        "宽严度：校准后评委偏松(+)或偏严(−)的分数；一致性：与其他评委平均分的相关系数 · "
        "leniency: calibrated offset in points, lenient (+) or harsh (−); "
        "agreement: correlation with the other judges' mean"
    )
    chart = figure("chart-judges", svg, caption)
    return section("judges", "评委分析", "judge leniency and agreement", chart, table_html(table))


def rank_intervals_section(response: round_pb2.OptimizeRoundResponse) -> str:
    ranked = [p for p in response.scoring.proposals if p.rank > 0 and p.HasField("rank_interval")]
    ranked = sorted(ranked, key=lambda p: p.rank)[:RANK_CHART_TOP]
    if not ranked:
        text = NOT_IN_ROUND if not response.HasField("scoring") else "无排名区间 no rank intervals"
        return section("rank-intervals", "排名区间", "rank intervals", note(text, "absent"))
    funded = {a.proposal_id for a in response.allocation.awards}
    first = ranked[0].rank_interval
    svg = charts.rank_interval_chart(
        [charts.label(p.proposal_id, f"#{p.rank}") for p in ranked],
        [p.rank for p in ranked],
        [(p.rank_interval.lower, p.rank_interval.upper) for p in ranked],
        [p.proposal_id in funded for p in ranked],
        first.shortlist_size,
        first.confidence,
    )
    caption = (
        f"前{len(ranked)}名的排名及其{first.confidence:.0%}置信区间（评分重抽样）· "
        f"top {len(ranked)} ranks with {first.confidence:.0%} intervals from resampled sheets"
    )
    chart = figure("chart-rank-intervals", svg, caption)
    return section("rank-intervals", "排名区间", "rank intervals", chart)
