"""Seeded, realistic needs-matching rounds for the benchmark (供需对接; figures from DESIGN.md).

Every choice, and why:
- 8 service domains with the shares seen in published need lists (elderly services most
  common); organizations' main domains follow the same shares, so every kind of need has
  organizations that do that work. 40% of organizations work in a second domain.
- 16 regions on a 4 × 4 map: 8 urban streets (街道, more needs and more organizations) and 8
  townships (镇); neighbours on the map are adjacent (policy.region_adjacency). An organization
  serves 1–3 regions: its home and, for some, neighbouring ones.
- Text: each domain has 10 service topics, each with a short phrase. A need asks for 1–2
  topics of its domain, an organization does 2–4 topics of each of its domains; descriptions
  wrap the phrases in shared boilerplate, so text similarity (TF-IDF over character n-grams)
  is high exactly where topics overlap, and top-k candidate lists differ between needs of the
  same domain and region.
- Organizations: ratings (等级评估) 40% unrated, then 1A–5A; 0–4 past evaluation grades
  ~ N(82, 8) in [50, 100]; capacity 8 needs each (the issue's figure).
- Needs: each wants exactly `demand` (3) organizations; priority 1 (60%), 1.5 (30%), 2 (10%).
- Conflicts (回避): `conflict_rate` (1%) of all (need, organization) pairs, sampled uniformly
  without replacement. Supply is 8 × organizations ≥ 3 × needs with room (4/3 in every case),
  and 1% random conflicts leave every need thousands of candidates, so instances are feasible.

`make_problem` is deterministic for (case, seed); the 10,000 × 5,000 case takes a few seconds,
most of it the 500,000 forbidden PairRef objects the engine reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matching.needs.model import Need, NeedMatchingProblem, NeedPolicy, PairRef
from matching.organization import Organization, Rating

SEED = 20261201


@dataclass(frozen=True, slots=True)
class Domain:
    name: str
    share: float
    topics: tuple[str, ...]


DOMAINS = (
    Domain(
        "养老服务",
        0.22,
        (
            "独居老人定期探访",
            "社区长者助餐配餐",
            "居家养老上门照护",
            "老年人防诈骗宣传",
            "失能老人照护技能培训",
            "老年人智能手机使用教学",
            "老年大学兴趣课程",
            "日间照料中心运营",
            "困难老人家庭适老化改造",
            "认知症友好社区建设",
        ),
    ),
    Domain(
        "儿童青少年",
        0.16,
        (
            "留守儿童课后托管",
            "青少年心理成长小组",
            "四点半课堂作业辅导",
            "暑期儿童安全教育",
            "亲子阅读推广",
            "青少年科技创新营",
            "困境儿童个案帮扶",
            "校园防欺凌讲座",
            "儿童友好社区营造",
            "青少年志愿服务实践",
        ),
    ),
    Domain(
        "助残",
        0.10,
        (
            "残疾人康复训练",
            "自闭症儿童融合教育",
            "残疾人就业技能培训",
            "无障碍环境改造评估",
            "智障人士日间照料",
            "残疾人家庭喘息服务",
            "盲人读书会",
            "助残志愿者结对帮扶",
            "残疾人辅具适配",
            "精神障碍者社区康复",
        ),
    ),
    Domain(
        "社区治理",
        0.14,
        (
            "居民议事会协商",
            "老旧小区加装电梯协调",
            "楼栋长骨干培育",
            "社区邻里节活动",
            "物业矛盾纠纷调解",
            "新就业群体融入社区",
            "社区社会组织孵化",
            "小区垃圾分类督导",
            "社区公共空间微更新",
            "流动人口服务管理",
        ),
    ),
    Domain(
        "环境保护",
        0.08,
        (
            "垃圾分类宣传引导",
            "河道巡护志愿行动",
            "社区绿化认养",
            "厨余垃圾堆肥",
            "低碳生活科普",
            "旧衣物回收再利用",
            "湿地生态观察",
            "节水节电进家庭",
            "校园环境教育课程",
            "噪音油烟扰民治理",
        ),
    ),
    Domain(
        "文化体育",
        0.10,
        (
            "社区广场舞队培育",
            "非遗传统手工艺传承",
            "全民健身指导",
            "社区图书室运营",
            "戏曲进社区演出",
            "少儿书法绘画班",
            "社区运动会组织",
            "乡村文化礼堂活动",
            "红色文化宣讲",
            "社区合唱团排练",
        ),
    ),
    Domain(
        "心理健康",
        0.08,
        (
            "社区心理咨询热线",
            "抑郁情绪筛查干预",
            "家庭关系辅导",
            "丧亲哀伤辅导",
            "考前压力疏导",
            "职场心理减压工作坊",
            "心理危机干预培训",
            "老年人孤独感缓解",
            "产后妈妈心理支持",
            "心理健康科普讲座",
        ),
    ),
    Domain(
        "救助帮扶",
        0.12,
        (
            "低保家庭入户走访",
            "困难群众临时救助",
            "流浪乞讨人员救助",
            "大病家庭募捐帮扶",
            "失业人员再就业辅导",
            "困难家庭学生助学",
            "冬季送温暖物资发放",
            "刑满释放人员社区融入",
            "残疾困难家庭法律援助",
            "社区慈善超市运营",
        ),
    ),
)

STREETS = (
    "城关街道",
    "东湖街道",
    "北苑街道",
    "新华街道",
    "解放街道",
    "人民路街道",
    "滨江街道",
    "高新街道",
)
TOWNSHIPS = ("西山镇", "南桥镇", "青石镇", "白沙镇", "柳河镇", "石门镇", "龙潭镇", "桃源镇")
SIDE = 4
"""Regions sit on a SIDE × SIDE map, streets in the middle rows, townships at the edges."""
REGIONS = (*TOWNSHIPS[:4], *STREETS, *TOWNSHIPS[4:])
REGION_WEIGHT = np.array([0.6] * 4 + [1.6] * 8 + [0.6] * 4)
"""Relative number of needs and of organizations per region (streets are denser)."""

RATINGS = (Rating.UNRATED, Rating.A1, Rating.A2, Rating.A3, Rating.A4, Rating.A5)
RATING_SHARE = (0.40, 0.04, 0.08, 0.25, 0.17, 0.06)
PRIORITIES = (1.0, 1.5, 2.0)
PRIORITY_SHARE = (0.6, 0.3, 0.1)
SECOND_DOMAIN = 0.4
"""Share of organizations working in a second domain."""

NEED_FRAMES = (
    "{region}{community}社区居民反映，希望引入专业力量开展{topics}，覆盖约{people}人。",
    "{community}社区{topics}需求突出，计划联合社会组织常态化开展服务，受益约{people}人。",
    "针对{region}{community}社区实际，需要开展{topics}，并培育本地志愿者队伍。",
)
ORG_FRAMES = (
    "本机构扎根{region}，长期从事{topics}等服务，拥有专职社工和稳定志愿者团队。",
    "{region}注册的社会组织，专注{topics}，累计服务居民数千人次，项目管理规范。",
    "机构以{topics}为核心业务，与街道社区合作开展公益项目，注重成效评估。",
)
COMMUNITIES = ("幸福", "和平", "光明", "建设", "朝阳", "团结", "春风", "康宁", "永安", "育才")
ORG_SUFFIXES = ("社会工作服务中心", "公益发展中心", "志愿者协会", "社区服务社", "促进会")


@dataclass(frozen=True, slots=True)
class Case:
    """One benchmark round: needs × organizations and the matching rules."""

    name: str
    n_needs: int
    n_orgs: int
    demand: int = 3
    """Organizations per need: min_organizations = max_organizations."""
    capacity: int = 8
    conflict_rate: float = 0.01
    candidates_per_need: int = 0
    """0: every organization is a candidate (dense); k: the top-k per need (sparse)."""


CASES: dict[str, Case] = {
    c.name: c
    for c in (
        Case("smoke", 40, 20),
        Case("n500", 500, 250),
        Case("n2000", 2000, 1000),
        Case("n10000", 10_000, 5_000, candidates_per_need=50),
    )
}


def make_problem(case: Case, seed: int = SEED) -> NeedMatchingProblem:
    """A seeded round of the case's size and rules."""
    if case.demand * case.n_needs > case.capacity * case.n_orgs:
        raise ValueError(f"case {case.name}: demand exceeds supply")
    rng = np.random.default_rng(seed)
    organizations = _organizations(case, rng)
    needs = _needs(case, rng)
    policy = NeedPolicy(
        region_adjacency=region_adjacency(),
        forbidden_pairs=_forbidden(case, needs, organizations, rng),
        candidates_per_need=case.candidates_per_need,
    )
    return NeedMatchingProblem(needs, organizations, policy, seed=seed)


def region_adjacency() -> dict[str, tuple[str, ...]]:
    """Neighbours on the 4 × 4 map (up, down, left, right), both directions."""
    adjacency: dict[str, tuple[str, ...]] = {}
    for k, region in enumerate(REGIONS):
        row, col = divmod(k, SIDE)
        near = [(row - 1, col), (row + 1, col), (row, col - 1), (row, col + 1)]
        adjacency[region] = tuple(
            REGIONS[r * SIDE + c] for r, c in near if 0 <= r < SIDE and 0 <= c < SIDE
        )
    return adjacency


def _needs(case: Case, rng: np.random.Generator) -> tuple[Need, ...]:
    n = case.n_needs
    domain = rng.choice(len(DOMAINS), size=n, p=[d.share for d in DOMAINS])
    region = rng.choice(len(REGIONS), size=n, p=REGION_WEIGHT / REGION_WEIGHT.sum())
    priority = rng.choice(len(PRIORITIES), size=n, p=PRIORITY_SHARE)
    two = rng.random(n) < 0.5
    topics = np.argsort(rng.random((n, 10)), axis=1)[:, :2]
    frame = rng.integers(0, len(NEED_FRAMES), size=n)
    community = rng.integers(0, len(COMMUNITIES), size=n)
    people = rng.integers(2, 60, size=n) * 10
    needs = []
    for k in range(n):
        d = DOMAINS[domain[k]]
        chosen = [d.topics[t] for t in topics[k, : 2 if two[k] else 1]]
        text = NEED_FRAMES[frame[k]].format(
            region=REGIONS[region[k]],
            community=COMMUNITIES[community[k]],
            topics="和".join(chosen),
            people=people[k],
        )
        needs.append(
            Need(
                f"N{k:05d}",
                display_name=f"{REGIONS[region[k]]}{COMMUNITIES[community[k]]}社区{chosen[0]}",
                domain=d.name,
                region=REGIONS[region[k]],
                description=text,
                min_organizations=case.demand,
                max_organizations=case.demand,
                priority=PRIORITIES[priority[k]],
            )
        )
    return tuple(needs)


def _organizations(case: Case, rng: np.random.Generator) -> tuple[Organization, ...]:
    n = case.n_orgs
    shares = np.array([d.share for d in DOMAINS])
    main = rng.choice(len(DOMAINS), size=n, p=shares)
    second = rng.choice(len(DOMAINS), size=n, p=shares)
    has_second = (rng.random(n) < SECOND_DOMAIN) & (second != main)
    home = rng.choice(len(REGIONS), size=n, p=REGION_WEIGHT / REGION_WEIGHT.sum())
    more_regions = rng.choice(3, size=n, p=(0.5, 0.3, 0.2))
    rating = rng.choice(len(RATINGS), size=n, p=RATING_SHARE)
    n_grades = rng.integers(0, 5, size=n)
    grades = np.clip(rng.normal(82.0, 8.0, size=(n, 4)), 50.0, 100.0).round(1)
    topic_order = np.argsort(rng.random((n, 2, 10)), axis=2)
    n_topics = rng.integers(2, 5, size=(n, 2))
    frame = rng.integers(0, len(ORG_FRAMES), size=n)
    suffix = rng.integers(0, len(ORG_SUFFIXES), size=n)
    adjacency = region_adjacency()
    organizations = []
    for k in range(n):
        domains = [int(main[k])] + ([int(second[k])] if has_second[k] else [])
        topics = [
            DOMAINS[d].topics[t]
            for j, d in enumerate(domains)
            for t in topic_order[k, j, : n_topics[k, j]]
        ]
        region = REGIONS[home[k]]
        near = adjacency[region]
        extra = rng.permutation(len(near))[: more_regions[k]]
        regions = (region, *(near[int(j)] for j in extra))
        organizations.append(
            Organization(
                f"O{k:05d}",
                display_name=f"{region}{topics[0][:4]}{ORG_SUFFIXES[suffix[k]]}",
                domains=tuple(DOMAINS[d].name for d in domains),
                regions=regions,
                description=ORG_FRAMES[frame[k]].format(region=region, topics="、".join(topics)),
                past_projects=tuple(f"{t}项目" for t in topics[:2]),
                rating=RATINGS[rating[k]],
                evaluation_grades=tuple(float(g) for g in grades[k, : n_grades[k]]),
                capacity=case.capacity,
            )
        )
    return tuple(organizations)


def forbidden_codes(case: Case, rng: np.random.Generator) -> np.ndarray:
    """Sorted codes need × n_orgs + organization of `conflict_rate` of all pairs."""
    total = case.n_needs * case.n_orgs
    count = round(case.conflict_rate * total)
    codes = rng.choice(total, size=count, replace=False)
    codes.sort()
    return codes.astype(np.int64)


def _forbidden(
    case: Case,
    needs: tuple[Need, ...],
    organizations: tuple[Organization, ...],
    rng: np.random.Generator,
) -> tuple[PairRef, ...]:
    codes = forbidden_codes(case, rng)
    need_ids = [n.need_id for n in needs]
    org_ids = [o.organization_id for o in organizations]
    rows, cols = np.divmod(codes, case.n_orgs)
    return tuple(
        PairRef(need_ids[r], org_ids[c]) for r, c in zip(rows.tolist(), cols.tolist(), strict=True)
    )
