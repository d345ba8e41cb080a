#!/usr/bin/env python3
"""Write examples/match_needs_county.json and examples/match_mentors_county.json: the county
round's MatchNeedsRequest and MatchMentorsRequest.

The twelve organizations of examples/score_county.json (their domains from their proposals,
descriptions and past projects in Chinese, ratings 2A–5A, past evaluation grades, room for two
to four needs) and 30 community needs collected from the county's 8 townships (需求征集), each
asking for one organization (a few for two), with priorities. Neighbouring townships are
adjacent. One pair is forbidden (a conflict of interest), one is fixed (agreed at the
供需对接会), pairs below affinity 0.4 are not candidates, and one need asks for legal aid,
which no organization offers: with soft_minimums the others are matched and it is reported
with its reason.

The mentor pool is the base's 15 experts (导师) across 8 areas with levels 2–5, each taking two
to four organizations; most visit a few townships, some work remotely, and three have a
conflict of interest (回避) with an organization they advised before. The organizations are the
same twelve, each with two weak areas from its assessment and one or two mentors wanted.

    .venv/bin/python examples/generate_match_request.py      # rewrites both JSON files
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from google.protobuf import json_format
from google.protobuf.message import Message

from matching.mentors.model import Expertise, Mentor, MentorMatchingProblem
from matching.needs.model import Need, NeedMatchingProblem, NeedPolicy, PairRef
from matching.organization import Organization, Rating, WeakArea
from service.convert.mentors import problem_to_pb as mentors_to_pb
from service.convert.needs import problem_to_pb

SEED = 20261130
HERE = Path(__file__).parent
OUT = HERE / "match_needs_county.json"
MENTORS_OUT = HERE / "match_mentors_county.json"
TOWNSHIPS = ["城关镇", "东湖街道", "西山镇", "南桥镇", "北苑街道", "青石镇", "白沙镇", "柳河乡"]
ADJACENT = {
    "城关镇": ("东湖街道", "北苑街道"),
    "东湖街道": ("南桥镇",),
    "西山镇": ("青石镇", "白沙镇"),
    "南桥镇": ("柳河乡",),
}
ORGANIZATIONS = [
    (
        "ORG01",
        "夕阳红助老服务中心",
        ("elderly", "community"),
        "为社区老年人提供助餐、探访和楼道议事服务",
        ("社区助老食堂", "楼道自治议事会"),
    ),
    (
        "ORG02",
        "暖心居家照护社",
        ("elderly", "community"),
        "失能老人居家探访照护，组织社区睦邻活动",
        ("失能老人居家探访", "社区睦邻节"),
    ),
    (
        "ORG03",
        "银龄互助协会",
        ("elderly", "community"),
        "银龄互助小组与老旧小区环境共治",
        ("银龄互助小组", "老旧小区环境共治"),
    ),
    (
        "ORG04",
        "平安社区服务社",
        ("elderly", "community"),
        "老年人防诈骗宣传与志愿者骨干培育",
        ("老年人防诈骗课堂", "志愿者骨干培育"),
    ),
    (
        "ORG05",
        "星语康复服务中心",
        ("disability", "environment"),
        "残障儿童康复陪伴，入户指导垃圾分类",
        ("残障儿童康复陪伴", "垃圾分类入户指导"),
    ),
    (
        "ORG06",
        "同行就业支持中心",
        ("disability", "environment"),
        "心智障碍者就业支持与河道守护志愿服务",
        ("心智障碍者就业支持", "河道守护志愿队"),
    ),
    (
        "ORG07",
        "无碍家园营造社",
        ("disability", "environment"),
        "无障碍社区微改造与社区微花园营造",
        ("无障碍社区微改造", "社区微花园营造"),
    ),
    (
        "ORG08",
        "喘息之家服务社",
        ("disability", "environment"),
        "残障家庭喘息服务与低碳生活工作坊",
        ("残障家庭喘息服务", "低碳生活工作坊"),
    ),
    (
        "ORG09",
        "阳光少年成长中心",
        ("youth", "poverty"),
        "四点半课堂课后托管与困境家庭结对帮扶",
        ("四点半课堂", "困境家庭结对帮扶"),
    ),
    (
        "ORG10",
        "心苗青少年心理服务社",
        ("youth", "poverty"),
        "青少年心理成长营与留守妇女增收培训",
        ("青少年心理成长营", "农村留守妇女增收"),
    ),
    (
        "ORG11",
        "书香童年阅读推广会",
        ("youth", "poverty"),
        "流动儿童阅读计划与低保家庭就业辅导",
        ("流动儿童阅读计划", "低保家庭就业辅导"),
    ),
    (
        "ORG12",
        "安康应急救助站",
        ("youth", "poverty"),
        "假期安全教育与临时救助快速响应",
        ("假期安全教育", "临时救助快速响应"),
    ),
]
NEEDS = [
    ("elderly", "独居老人助餐", "社区独居老人多，希望每天提供助餐和送餐上门"),
    ("elderly", "失能老人探访", "失能半失能老人需要定期上门探访和照护指导"),
    ("elderly", "老年人防诈骗", "老年人屡遭电信诈骗，需要防诈骗宣传课堂"),
    ("elderly", "银龄互助", "低龄老人愿意结对帮助高龄老人，需要组织互助小组"),
    ("elderly", "老年活动室", "老年活动室缺少组织者，希望开展文娱和健康讲座"),
    ("elderly", "高龄老人助浴", "高龄老人洗澡困难，需要上门助浴服务"),
    ("disability", "残障儿童康复", "残障儿童家庭需要康复训练陪伴和家长培训"),
    ("disability", "心智障碍者就业", "心智障碍青年希望获得就业培训和岗位支持"),
    ("disability", "无障碍改造", "小区出入口和楼道需要无障碍设施改造"),
    ("disability", "残障家庭喘息", "长期照护残障家人的家庭需要喘息服务"),
    ("youth", "课后托管", "双职工家庭孩子放学后无人照看，需要四点半课堂"),
    ("youth", "青少年心理", "中学生学业压力大，需要心理辅导和成长营"),
    ("youth", "流动儿童阅读", "流动儿童缺少课外书，需要阅读推广和陪伴"),
    ("youth", "暑期安全", "暑假溺水和交通安全事故多，需要安全教育"),
    ("community", "楼道议事", "老旧楼道杂物多，需要居民议事会协商治理"),
    ("community", "邻里活动", "新建小区邻里陌生，希望举办睦邻节活动"),
    ("community", "小区环境共治", "老旧小区环境脏乱，需要居民共同治理"),
    ("community", "志愿者培育", "社区志愿者流失，需要骨干培育和激励"),
    ("environment", "垃圾分类", "垃圾分类正确率低，需要入户宣传指导"),
    ("environment", "河道保护", "村口河道有垃圾，需要志愿者巡河守护"),
    ("environment", "社区花园", "闲置空地希望改造成居民共建的微花园"),
    ("environment", "低碳生活", "居民希望学习节能减排的低碳生活方式"),
    ("poverty", "困境家庭帮扶", "困境家庭需要结对帮扶和物资支持"),
    ("poverty", "留守妇女增收", "农村留守妇女希望学习手工技能增加收入"),
    ("poverty", "低保家庭就业", "低保家庭成员需要就业辅导和岗位推荐"),
    ("poverty", "临时救助", "突发困难家庭需要临时救助快速响应"),
    ("elderly", "认知症老人照护", "认知症老人家属需要照护培训和互助支持"),
    ("youth", "困境儿童陪伴", "困境儿童需要课业辅导和情感陪伴"),
    ("community", "社区议事协商", "加装电梯意见分歧大，需要议事协商平台"),
    ("legal_aid", "法律援助", "居民遇到劳动纠纷和赡养纠纷，需要免费法律咨询"),
]
WEAK = ["finance", "fundraising", "branding", "it", "law", "project_design"]
AREAS = [*WEAK, "party_building", "psychology"]
MENTORS = [
    ("M01", "张律师"),
    ("M02", "李会计"),
    ("M03", "王老师"),
    ("M04", "赵督导"),
    ("M05", "陈工程师"),
    ("M06", "刘主任"),
    ("M07", "杨教授"),
    ("M08", "黄经理"),
    ("M09", "周书记"),
    ("M10", "吴咨询师"),
    ("M11", "徐顾问"),
    ("M12", "孙社工"),
    ("M13", "马策划"),
    ("M14", "朱编辑"),
    ("M15", "胡评估师"),
]


def main() -> None:
    rng = random.Random(SEED)
    orgs = tuple(
        Organization(
            organization_id=oid,
            display_name=name,
            domains=domains,
            regions=tuple(rng.sample(TOWNSHIPS, rng.randint(2, 3))),
            description=text,
            past_projects=projects,
            rating=rng.choice([Rating.A2, Rating.A3, Rating.A3, Rating.A4, Rating.A5]),
            evaluation_grades=tuple(rng.randint(70, 98) for _ in range(rng.randint(0, 3))),
            capacity=rng.randint(2, 4),
            weak_areas=tuple(
                WeakArea(area, round(rng.uniform(0.3, 1.0), 1)) for area in rng.sample(WEAK, 2)
            ),
            mentors_wanted=rng.choice([1, 2]),
        )
        for oid, name, domains, text, projects in ORGANIZATIONS
    )
    needs = []
    for k, (domain, name, text) in enumerate(NEEDS, start=1):
        township = TOWNSHIPS[(k * 3) % len(TOWNSHIPS)]
        wanted = 2 if k % 7 == 0 else 1
        needs.append(
            Need(
                need_id=f"N{k:02d}",
                display_name=f"{township}·{name}",
                domain=domain,
                region=township,
                description=text,
                min_organizations=wanted,
                max_organizations=wanted,
                priority=rng.choice([1.0, 1.0, 1.5, 2.0]),
            )
        )
    policy = NeedPolicy(
        region_adjacency=ADJACENT,
        forbidden_pairs=(PairRef("N01", "ORG01"),),
        fixed_pairs=(PairRef("N11", "ORG09"),),
        min_affinity=0.4,
        soft_minimums=True,
    )
    request = problem_to_pb(NeedMatchingProblem(tuple(needs), orgs, policy, top_k=3))
    request.labels["round"] = "county-2026"
    _write(OUT, request)
    mentors = tuple(
        Mentor(
            mentor_id=mid,
            display_name=name,
            expertise=tuple(
                Expertise(area, rng.randint(2, 5))
                for area in rng.sample(AREAS, rng.choice([1, 2, 2, 3]))
            ),
            capacity=rng.randint(2, 4),
            regions=() if remote else tuple(rng.sample(TOWNSHIPS, 3)),
            remote=remote,
            conflict_organization_ids=(f"ORG{k:02d}",) if k <= 3 else (),
        )
        for k, (mid, name) in enumerate(MENTORS, start=1)
        for remote in [rng.random() < 0.3]
    )
    mentor_request = mentors_to_pb(MentorMatchingProblem(mentors, orgs, top_k=3))
    mentor_request.labels["round"] = "county-2026"
    _write(MENTORS_OUT, mentor_request)


def _write(path: Path, request: Message) -> None:
    text = json.dumps(json_format.MessageToDict(request), ensure_ascii=False, indent=2)
    path.write_text(text + "\n", encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
