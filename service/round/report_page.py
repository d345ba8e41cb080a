"""report.html: one self-contained page a committee reads and signs — inline CSS, charts as
embedded SVG images, no network needed to view it, every text escaped.
"""

from __future__ import annotations

from html import escape

from service.round.report_css import CSS
from service.round.report_figures import (
    judges_section,
    rank_intervals_section,
    scores_section,
    spend_section,
)
from service.round.report_html import h3, note, section, table_html
from service.round.report_summary import notices, summary
from service.round.report_tables import Cell, Names, Table, all_tables
from service.round.report_text import Yuan
from venture.v1 import round_pb2

_NAV = (
    ("shortlist", "入围名单"),
    ("awards", "立项资助"),
    ("unfunded", "未获资助"),
    ("spend", "资金分布"),
    ("scores", "得分分布"),
    ("judges", "评委分析"),
    ("rank-intervals", "排名区间"),
    ("need-matches", "供需对接"),
    ("mentor-matches", "导师匹配"),
)


def _header(
    request: round_pb2.OptimizeRoundRequest, response: round_pb2.OptimizeRoundResponse
) -> str:
    title = request.display_name or response.round_id or request.round_id
    lines = "".join(
        f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in summary(request, response)
    )
    found = notices(response)
    notes = h3("提示", "notices") + table_html(found) if found.rows else ""
    links = "".join(f'<a href="#{sid}">{escape(name)}</a>' for sid, name in _NAV)
    return (
        f'<header id="header"><h1>{escape(title)}</h1>'
        '<p class="subtitle">公益创投评审与资助结果 · venture-philanthropy round results</p>'
        f'<dl class="summary">{lines}</dl>{notes}<nav>{links}</nav></header>'
    )


def _results(response: round_pb2.OptimizeRoundResponse, tables: dict[str, Table]) -> list[str]:
    """The shortlist, the awards and the unfunded, each with its table."""
    shaded = note("底色为获资助项目 · shaded rows are funded")
    shortlist = tables["shortlist"]
    award = [c.en for c in shortlist.columns].index("award (yuan)")

    def funded(row: tuple[Cell, ...]) -> str:
        return "funded" if isinstance(row[award], Yuan) else ""

    awards = response.allocation
    total = (
        note(
            f"共资助 {len(awards.awards)} 个项目 ¥{Yuan(awards.awarded_fen)}，"
            f"可用 ¥{Yuan(awards.available_fen)} · {len(awards.awards)} awards, "
            f"¥{Yuan(awards.awarded_fen)} of ¥{Yuan(awards.available_fen)} available"
        )
        if response.HasField("allocation")
        else ""
    )
    return [
        section(
            "shortlist",
            "入围名单",
            "ranked shortlist",
            shaded,
            table_html(shortlist, funded),
        ),
        section("awards", "立项资助", "awards", total, table_html(tables["awards"])),
        section(
            "unfunded", "未获资助及原因", "unfunded, with reasons", table_html(tables["unfunded"])
        ),
    ]


def _matches(response: round_pb2.OptimizeRoundResponse, tables: dict[str, Table]) -> list[str]:
    """Needs and mentor matches, each with what was left short and why."""
    blocking = (
        note(
            f"不稳定配对 blocking pairs: {response.mentors.blocking_pairs}"
            " （机构与导师彼此更愿意配对却未配对的组数，0 表示稳定 · pairs that both prefer"
            " each other to what they were given; 0 means stable）"
        )
        if response.HasField("mentors")
        else ""
    )
    return [
        section(
            "need-matches",
            "供需对接",
            "needs matches",
            table_html(tables["need_matches"]),
            h3("未满足需求", "unmet needs"),
            table_html(tables["unmet_needs"]),
        ),
        section(
            "mentor-matches",
            "导师匹配",
            "mentor matches",
            blocking,
            table_html(tables["mentor_matches"]),
            h3("未覆盖的薄弱领域", "uncovered weak areas"),
            table_html(tables["uncovered_areas"]),
        ),
    ]


def _sign_off() -> str:
    slots = "".join(
        f'<div class="sign"><span>{escape(role)}</span><span class="line"></span></div>'
        for role in ("评审委员会签字 committee", "日期 date")
    )
    return f'<section id="sign-off"><h2>审定 <small>sign-off</small></h2>{slots}</section>'


def render_html(
    request: round_pb2.OptimizeRoundRequest, response: round_pb2.OptimizeRoundResponse
) -> str:
    """The whole report as one HTML document."""
    names = Names.of(request)
    tables = {t.key: t for t in all_tables(request, response)}
    title = request.display_name or response.round_id or request.round_id
    body = [
        _header(request, response),
        "<main>",
        *_results(response, tables),
        spend_section(names, response),
        scores_section(request, response),
        judges_section(response, tables["judges"]),
        rank_intervals_section(response),
        *_matches(response, tables),
        _sign_off(),
        "</main>",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · 评审结果</title><style>{CSS}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )
