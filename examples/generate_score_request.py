#!/usr/bin/env python3
"""Write examples/score_county.json: a seeded county-round ScoreProposalsRequest; and
examples/score_county_compact.json, the same request with every sheet in the compact form
(`values`: one number per criterion, in the order of the criteria).

A 公益创投 county round as such rounds run: 24 applications across 6 service domains, a panel of
7 experts scoring a 100-point rubric (each expert has a leniency of their own), two experts
recused from organizations they are tied to, two sheets never handed in, one application
that failed the eligibility review, public votes worth 20% and up to 3 bonus points for
party-building work (党建引领). Trimmed mean (去掉最高分和最低分), pass line 60.

    .venv/bin/python examples/generate_score_request.py      # rewrites the JSON files
"""

from __future__ import annotations

import json
import random
from pathlib import Path

SEED = 20261122
OUT = Path(__file__).with_name("score_county.json")
COMPACT_OUT = Path(__file__).with_name("score_county_compact.json")

CRITERIA = [  # (id, name, points)
    ("necessity", "需求必要性", 20),
    ("design", "项目设计", 25),
    ("capacity", "执行能力", 20),
    ("budget", "预算合理性", 15),
    ("impact", "社会效益与可持续性", 20),
]
DOMAINS = {
    "elderly": ["社区助老食堂", "失能老人居家探访", "银龄互助小组", "老年人防诈骗课堂"],
    "disability": [
        "残障儿童康复陪伴",
        "心智障碍者就业支持",
        "无障碍社区微改造",
        "残障家庭喘息服务",
    ],
    "youth": ["四点半课堂", "青少年心理成长营", "流动儿童阅读计划", "假期安全教育"],
    "community": ["楼道自治议事会", "社区睦邻节", "老旧小区环境共治", "志愿者骨干培育"],
    "environment": ["垃圾分类入户指导", "河道守护志愿队", "社区微花园营造", "低碳生活工作坊"],
    "poverty": ["困境家庭结对帮扶", "农村留守妇女增收", "低保家庭就业辅导", "临时救助快速响应"],
}
ORGS = [
    "阳光",
    "晨曦",
    "同心",
    "益路",
    "暖心",
    "新芽",
    "和美",
    "众善",
    "乐龄",
    "启明",
    "善水",
    "青禾",
]
JUDGES = [  # (id, name, leniency in points)
    ("J01", "王教授", 4.0),
    ("J02", "李主任", -5.0),
    ("J03", "张社工", 1.0),
    ("J04", "刘会计师", -2.0),
    ("J05", "陈律师", 0.0),
    ("J06", "赵研究员", 3.0),
    ("J07", "孙督导", -1.5),
]


def main() -> None:
    rng = random.Random(SEED)
    proposals, quality = [], {}
    number = 0
    for domain, titles in DOMAINS.items():
        for title in titles:
            number += 1
            pid = f"P{number:02d}"
            org = f"ORG{(number - 1) % len(ORGS) + 1:02d}"
            proposal = {
                "proposalId": pid,
                "title": title,
                "organizationId": org,
                "domain": domain,
                "submitTime": f"2026-10-{1 + number % 28:02d}T{8 + number % 9:02d}:30:00Z",
                "componentValues": [
                    {"componentId": "public_vote", "value": rng.randint(80, 1600)},
                    {"componentId": "party_building", "value": rng.choice([0, 0, 1, 2, 3, 4])},
                ],
            }
            if pid == "P17":
                proposal["eligibilityChecks"] = [
                    {"checkId": "annual_inspection", "passed": False, "reason": "年检结论为不合格"}
                ]
            proposals.append(proposal)
            quality[pid] = rng.uniform(0.45, 0.92)

    judges = [{"judgeId": j, "displayName": name} for j, name, _ in JUDGES]
    judges[1]["conflictOrganizationIds"] = ["ORG03"]  # 李主任 sits on ORG03's board
    judges[4]["conflictOrganizationIds"] = ["ORG07"]  # 陈律师 advises ORG07
    conflicts = {"J02": "ORG03", "J05": "ORG07"}
    never_handed_in = {("J06", "P09"), ("J03", "P21")}

    sheets = []
    for judge_id, _, leniency in JUDGES:
        for p in proposals:
            pid = p["proposalId"]
            if (judge_id, pid) in never_handed_in or conflicts.get(judge_id) == p["organizationId"]:
                continue
            scores = []
            for cid, _, points in CRITERIA:
                share = quality[pid] + rng.gauss(0, 0.06) + leniency / 100
                value = round(min(points, max(0.0, share * points)) * 2) / 2
                scores.append({"criterionId": cid, "value": value})
            sheets.append({"judgeId": judge_id, "proposalId": pid, "scores": scores})

    request = {
        "labels": {"round": "2026-county-spring", "caller": "demo"},
        "options": {"seed": "7"},
        "criteria": [
            {"criterionId": cid, "displayName": name, "weight": points}
            for cid, name, points in CRITERIA
        ],
        "judges": judges,
        "proposals": proposals,
        "sheets": sheets,
        "policy": {
            "aggregation": "AGGREGATION_METHOD_TRIMMED_MEAN",
            "trimCount": 1,
            "weightMode": "WEIGHT_MODE_POINTS",
            "panelWeight": 80,
            "components": [
                {
                    "componentId": "public_vote",
                    "displayName": "公众投票",
                    "kind": "COMPONENT_KIND_WEIGHTED",
                    "weight": 20,
                    "normalization": "NORMALIZATION_MAX",
                },
                {
                    "componentId": "party_building",
                    "displayName": "党建引领加分",
                    "kind": "COMPONENT_KIND_BONUS",
                    "cap": 3,
                },
            ],
            "passLine": 60,
            "tieBreakRules": [
                {"kind": "TIE_BREAK_KIND_RAW_SCORE_SUM"},
                {"kind": "TIE_BREAK_KIND_CRITERION", "criterionId": "design"},
                {"kind": "TIE_BREAK_KIND_SUBMIT_TIME"},
            ],
            "rankStability": {"samples": 1000, "confidence": 0.9, "shortlistSize": 10},
        },
    }
    _write(OUT, request)
    # The scores are listed in the criteria's order above, so values[k] scores criteria[k].
    compact = [
        {**sheet, "scores": None, "values": [s["value"] for s in sheet["scores"]]}
        for sheet in sheets
    ]
    _write(COMPACT_OUT, {**request, "sheets": [_without_none(s) for s in compact]})


def _without_none(fields: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in fields.items() if v is not None}


def _write(path: Path, request: dict[str, object]) -> None:
    path.write_text(json.dumps(request, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
