"""Seeded generators of realistic whole rounds (OptimizeRoundRequest), from the real figures of
DESIGN.md: a county round, a street micro round, a city round, and many small varied rounds for
batch runs. The same seed gives the same request, byte for byte; names and texts are Chinese.

Every round is feasible by construction: each domain's applications have qualities spread from
weak to strong (so its strongest pass whatever the judges do), eligibility failures and vetoes
fall on the weaker ones, and quotas ask for fewer grants than the strong ones can take.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from google.protobuf import timestamp_pb2

from service.round.vocabulary import (
    AREA_TITLES,
    AREAS,
    BRANDS,
    CITY_DOMAINS,
    COMMUNITIES,
    COUNTY_DOMAINS,
    DISTRICTS,
    DOMAINS,
    ELIGIBLE,
    GIVEN_NAMES,
    JUDGE_TITLES,
    METHODS,
    PREFIXES,
    RATINGS,
    REGISTERED,
    STREET_DOMAINS,
    SURNAMES,
    TOWNSHIPS,
    VOLUNTEER_TEAM,
)
from venture.v1 import (
    allocation_pb2,
    common_pb2,
    matching_pb2,
    proposal_pb2,
    round_pb2,
    scoring_pb2,
)

YUAN = 100
"""Fen in one yuan."""
WAN = 10_000 * YUAN
"""Fen in 1万 yuan."""
COUNTY_SEED = 20260301
STREET_SEED = 20260415
CITY_SEED = 20260520
SUBMIT_START = 1_772_323_200
"""2026-03-01 00:00 UTC: applications arrive over the following three weeks."""


# ---------------------------------------------------------------------------------------------
# Parts shared by every round
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Org:
    """An applicant organization, before it becomes a proto."""

    organization_id: str
    name: str
    domains: tuple[str, ...]
    regions: tuple[str, ...]
    kind: str
    """REGISTERED or VOLUNTEER_TEAM."""
    strength: float
    """In [0, 1]: drives rating, track record, capacity, tier and the quality of its projects."""


@dataclass(frozen=True, slots=True)
class _Tier:
    """A funding tier: what applicants in it request, and its cap."""

    tier: str
    low_yuan: int
    high_yuan: int
    step_yuan: int
    cap_fen: int
    registered_only: bool = False


@dataclass(frozen=True, slots=True)
class _Judge:
    judge_id: str
    name: str
    leniency: float
    """Share of the scale this judge adds to every score (harsh below zero)."""
    noise: float


def _ids(prefix: str, count: int) -> list[str]:
    width = max(2, len(str(count)))
    return [f"{prefix}{k:0{width}d}" for k in range(1, count + 1)]


def _names(rng: random.Random, count: int) -> list[str]:
    """`count` different personal names."""
    found: list[str] = []
    while len(found) < count:
        name = rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES)
        if name not in found:
            found.append(name)
    return found


def _round_to(value: float, step: int) -> int:
    return max(step, round(value / step) * step)


def _organizations(
    rng: random.Random,
    count: int,
    domains: Sequence[str],
    home_regions: Callable[[random.Random], tuple[str, ...]],
    place: str | None,
    volunteer_share: float = 0.0,
) -> list[_Org]:
    """Primary domains round-robin (every domain has applicants), a second domain for some.
    Names start with `place` (None: the home region); a volunteer team's with its community."""
    orgs: list[_Org] = []
    used: set[str] = set()
    order = list(domains)
    rng.shuffle(order)
    for k, oid in enumerate(_ids("ORG", count)):
        primary = order[k % len(order)]
        own = [primary]
        if len(domains) > 1 and rng.random() < 0.35:
            own.append(rng.choice([d for d in domains if d != primary]))
        regions = home_regions(rng)
        kind = VOLUNTEER_TEAM if rng.random() < volunteer_share else REGISTERED
        prefix = regions[0] if place is None or kind == VOLUNTEER_TEAM else place
        name = _org_name(rng, primary, kind, prefix, used)
        strength = rng.betavariate(2.2, 2.0) * (0.85 if kind == VOLUNTEER_TEAM else 1.0)
        orgs.append(_Org(oid, name, tuple(own), regions, kind, round(strength, 3)))
    return orgs


def _org_name(rng: random.Random, domain: str, kind: str, place: str, used: set[str]) -> str:
    endings = DOMAINS[domain].teams if kind == VOLUNTEER_TEAM else DOMAINS[domain].suffixes
    while True:
        name = place + rng.choice(PREFIXES) + rng.choice(endings)
        if name not in used:
            used.add(name)
            return name


def _applications(
    rng: random.Random, orgs: Sequence[_Org], count: int, domains: Sequence[str], most: int
) -> list[tuple[_Org, str]]:
    """(organization, domain) per application: each organization applies once in its primary
    domain, then the rest go to the least-loaded organizations of the emptiest domains, so that
    domains get about the same number of applications and nobody applies more than `most`."""
    apps = [(o, o.domains[0]) for o in orgs]
    load = {o.organization_id: 1 for o in orgs}
    per_domain = {d: sum(1 for _, dd in apps if dd == d) for d in domains}
    while len(apps) < count:
        domain = min(domains, key=lambda d: (per_domain[d], rng.random()))
        able = [o for o in orgs if domain in o.domains and load[o.organization_id] < most]
        if not able:  # this domain's organizations are full: another domain takes the place
            able = [o for o in orgs if load[o.organization_id] < most]
        org = min(able, key=lambda o: (load[o.organization_id], rng.random()))
        if domain not in org.domains:
            domain = org.domains[0]
        apps.append((org, domain))
        load[org.organization_id] += 1
        per_domain[domain] += 1
    rng.shuffle(apps)
    return apps


def _qualities(
    rng: random.Random, apps: Sequence[tuple[_Org, str]], low: float, high: float
) -> list[float]:
    """A quality in [low, high] per application, spread evenly within each domain (so every
    domain has strong and weak applications) and given to stronger organizations more often."""
    quality = [0.0] * len(apps)
    by_domain: dict[str, list[int]] = {}
    for i, (_, domain) in enumerate(apps):
        by_domain.setdefault(domain, []).append(i)
    for members in by_domain.values():
        n = len(members)
        levels = sorted(low + (high - low) * (k + rng.random()) / n for k in range(n))
        ordered = sorted(members, key=lambda i: apps[i][0].strength + rng.gauss(0, 0.25))
        for i, q in zip(ordered, levels, strict=True):
            quality[i] = round(q, 4)
    return quality


def _weakest(quality: Sequence[float], share: float) -> list[int]:
    """Indices of the weakest `share` of the applications, weakest first."""
    order = sorted(range(len(quality)), key=lambda i: quality[i])
    return order[: max(1, int(len(order) * share))]


FAILED_CHECKS = (
    ("annual_inspection", "上一年度年检结论为不合格"),
    ("registration", "登记成立未满一年，不符合申报条件"),
    ("duplicate_funding", "同一项目已获得其他财政资金资助"),
)
FILING = ("filing", "志愿服务团队未在街道备案")


def _proposal(
    rng: random.Random,
    pid: str,
    org: _Org,
    domain: str,
    tier: _Tier,
    number: int,
) -> proposal_pb2.Proposal:
    """One application's text, place, tier, amounts and submit time (no tags or checks yet)."""
    d = DOMAINS[domain]
    stem = rng.choice(d.projects)
    title = f"“{rng.choice(BRANDS)}”{stem}项目" if rng.random() < 0.5 else f"{stem}计划"
    region = rng.choice(org.regions)
    requested = rng.randrange(tier.low_yuan, tier.high_yuan + 1, tier.step_yuan) * YUAN
    served = rng.choice((60, 80, 120, 150, 200, 300, 500))
    return proposal_pb2.Proposal(
        proposal_id=pid,
        title=title,
        organization_id=org.organization_id,
        domain=domain,
        region=region,
        tier=tier.tier,
        submit_time=timestamp_pb2.Timestamp(
            seconds=SUBMIT_START + number * 3600 + rng.randrange(0, 20 * 86400, 60)
        ),
        requested_fen=requested,
        project_budget_fen=_round_to(requested * rng.uniform(1.2, 2.2), 1000 * YUAN),
        description=f"面向{region}{d.people}开展“{stem}”服务，{rng.choice(METHODS)}，"
        f"计划服务{served}人次。",
    )


def _tier_for(rng: random.Random, tiers: Sequence[_Tier], org: _Org) -> _Tier:
    """Stronger organizations apply in higher tiers (tiers run from small to large)."""
    allowed = [t for t in tiers if org.kind == REGISTERED or not t.registered_only]
    position = org.strength * (len(allowed) - 1) + rng.gauss(0, 0.6)
    return allowed[min(len(allowed) - 1, max(0, round(position)))]


def _mark_eligibility(
    rng: random.Random,
    proposals: Sequence[proposal_pb2.Proposal],
    orgs: dict[str, _Org],
    quality: Sequence[float],
    failures: int,
) -> None:
    """Eligibility review (资格审查): `failures` weak applications fail a check and carry no
    tags, so no pool admits them; the others are tagged eligible and with the applicant's kind
    (registered organization or filed volunteer team), which the pools read."""
    weak = _weakest(quality, 0.45)
    failed = set(rng.sample(weak, min(failures, len(weak))))
    for i, p in enumerate(proposals):
        kind = orgs[p.organization_id].kind
        check_id = FILING[0] if kind == VOLUNTEER_TEAM else "registration"
        if i not in failed:
            p.eligibility_checks.add(check_id=check_id, passed=True)
            p.tags.extend([ELIGIBLE, kind])
            continue
        check_id, reason = FILING if kind == VOLUNTEER_TEAM else rng.choice(FAILED_CHECKS)
        p.eligibility_checks.add(check_id=check_id, passed=False, reason=reason)


def _panel(rng: random.Random, count: int) -> list[_Judge]:
    """A panel of experts, each with a leniency (harsh to generous) and a spread of their own."""
    names = _names(rng, count)
    return [
        _Judge(
            judge_id,
            f"{name}（{JUDGE_TITLES[k % len(JUDGE_TITLES)]}）",
            leniency=round(max(-0.07, min(0.07, rng.gauss(0, 0.035))), 3),
            noise=round(rng.uniform(0.03, 0.07), 3),
        )
        for k, (judge_id, name) in enumerate(zip(_ids("J", count), names, strict=True))
    ]


def _assign(
    rng: random.Random,
    judges: Sequence[_Judge],
    proposals: Sequence[proposal_pb2.Proposal],
    per_proposal: int,
) -> dict[str, list[_Judge]]:
    """Each proposal to `per_proposal` judges, the least loaded first, so loads stay even."""
    load = {j.judge_id: 0 for j in judges}
    panels: dict[str, list[_Judge]] = {}
    for p in proposals:
        chosen = sorted(judges, key=lambda j: (load[j.judge_id], rng.random()))[:per_proposal]
        for judge in chosen:
            load[judge.judge_id] += 1
        panels[p.proposal_id] = chosen
    return panels


def _declare_conflicts(
    rng: random.Random,
    judges: Sequence[_Judge],
    panels: dict[str, list[_Judge]],
    proposals: Sequence[proposal_pb2.Proposal],
    count: int,
) -> dict[str, list[str]]:
    """Conflicts of interest (回避) that `count` judges declare on receiving their proposals: one
    or two of the organizations behind them (they sit on its board, or advised it). Every
    proposal of such an organization in the judge's pile is then recused; no proposal loses more
    than one judge, so enough valid sheets remain."""
    org_of = {p.proposal_id: p.organization_id for p in proposals}
    by_org: dict[str, list[str]] = {}
    for p in proposals:
        by_org.setdefault(p.organization_id, []).append(p.proposal_id)
    lost: set[str] = set()
    conflicts: dict[str, list[str]] = {}
    for judge in rng.sample(list(judges), min(count, len(judges))):
        pile = [pid for pid, panel in panels.items() if judge in panel]
        for pid in rng.sample(pile, min(len(pile), rng.choice((1, 1, 2)))):
            hit = [q for q in by_org[org_of[pid]] if judge in panels[q]]
            if any(q in lost for q in hit):
                continue
            conflicts.setdefault(judge.judge_id, []).append(org_of[pid])
            lost.update(hit)
    return conflicts


def _sheets(
    rng: random.Random,
    criteria: Sequence[scoring_pb2.Criterion],
    proposals: Sequence[proposal_pb2.Proposal],
    quality: Sequence[float],
    panels: dict[str, list[_Judge]],
    conflicts: dict[str, list[str]],
    missing_share: float,
    min_valid: int,
) -> list[scoring_pb2.ScoreSheet]:
    """Judges' sheets, judge by judge: the proposal's quality per criterion, plus the judge's
    leniency and noise, in half points. Recused judges sometimes send a sheet anyway (it is
    discarded); a few sheets are never handed in, while at least `min_valid` valid ones remain."""
    by_judge: dict[str, list[scoring_pb2.ScoreSheet]] = {j.judge_id: [] for j in _unique(panels)}
    for p, q in zip(proposals, quality, strict=True):
        per_criterion = [q + rng.gauss(0, 0.05) for _ in criteria]
        panel = panels[p.proposal_id]
        clash = [p.organization_id in conflicts.get(j.judge_id, ()) for j in panel]
        valid = clash.count(False)
        for judge, recused in zip(panel, clash, strict=True):
            if recused and rng.random() < 0.6:
                continue
            if not recused and valid > min_valid and rng.random() < missing_share:
                valid -= 1
                continue
            sheet = scoring_pb2.ScoreSheet(judge_id=judge.judge_id, proposal_id=p.proposal_id)
            for c, cq in zip(criteria, per_criterion, strict=True):
                share = min(1.0, max(0.0, cq + judge.leniency + rng.gauss(0, judge.noise)))
                value = min(c.scale_max, max(c.scale_min, round(share * c.scale_max * 2) / 2))
                sheet.scores.add(criterion_id=c.criterion_id, value=value)
            by_judge[judge.judge_id].append(sheet)
    return [s for judge_id in sorted(by_judge) for s in by_judge[judge_id]]


def _unique(panels: dict[str, list[_Judge]]) -> list[_Judge]:
    return list({j.judge_id: j for panel in panels.values() for j in panel}.values())


def _judges_pb(
    judges: Sequence[_Judge],
    panels: dict[str, list[_Judge]],
    conflicts: dict[str, list[str]],
    everyone: bool = False,
) -> list[scoring_pb2.Judge]:
    """Judges as protos, with their assignments (none listed when `everyone` scores every
    proposal) and declared conflicts."""
    return [
        scoring_pb2.Judge(
            judge_id=judge.judge_id,
            display_name=judge.name,
            conflict_organization_ids=conflicts.get(judge.judge_id, []),
            assigned_proposal_ids=(
                [] if everyone else [pid for pid, panel in panels.items() if judge in panel]
            ),
        )
        for judge in judges
    ]


def _organization_pb(rng: random.Random, org: _Org) -> matching_pb2.Organization:
    """The organization as matching sees it: text, record, capacity and weak areas."""
    names = "、".join(DOMAINS[d].name for d in org.domains)
    people = DOMAINS[org.domains[0]].people
    past = rng.sample(
        [p for d in org.domains for p in DOMAINS[d].projects], round(org.strength * 3.4)
    )
    if org.kind == VOLUNTEER_TEAM:
        rating = matching_pb2.ORGANIZATION_RATING_UNRATED
    else:
        level = org.strength * 4 + rng.gauss(0, 0.7)
        rating = RATINGS[min(4, max(0, round(level)))]
    weak = rng.sample(AREAS, rng.choice((1, 2, 2, 3)))
    return matching_pb2.Organization(
        organization_id=org.organization_id,
        display_name=org.name,
        domains=org.domains,
        regions=org.regions,
        description=f"扎根{'、'.join(org.regions)}，专注{names}，长期为{people}提供服务",
        past_projects=[f"{2022 + k}年{p}" for k, p in enumerate(past)],
        rating=rating,
        evaluation_grades=[
            float(min(98, max(60, round(70 + 25 * org.strength + rng.gauss(0, 5))))) for _ in past
        ],
        capacity=1 + round(org.strength * 3),
        weak_areas=[
            matching_pb2.WeakArea(area=a, severity=round(rng.uniform(0.3, 1.0), 1)) for a in weak
        ],
        mentors_wanted=rng.choice((1, 1, 2)),
    )


def _needs(
    rng: random.Random, count: int, domains: Sequence[str], regions: Sequence[str]
) -> list[matching_pb2.Need]:
    """Community needs (需求征集), spread evenly over domains and regions; most ask for one
    organization, some for two."""
    spots = [regions[k % len(regions)] for k in range(count)]
    kinds = [domains[k % len(domains)] for k in range(count)]
    rng.shuffle(spots)
    rng.shuffle(kinds)
    needs = []
    for nid, region, domain in zip(_ids("N", count), spots, kinds, strict=True):
        name, text = rng.choice(DOMAINS[domain].needs)
        wanted = 2 if rng.random() < 0.15 else 1
        needs.append(
            matching_pb2.Need(
                need_id=nid,
                display_name=f"{region}·{name}",
                domain=domain,
                region=region,
                description=text,
                min_organizations=wanted,
                max_organizations=wanted + (rng.random() < 0.2),
                priority=rng.choice((1.0, 1.0, 1.5, 2.0)),
            )
        )
    return needs


def _mentors(
    rng: random.Random,
    count: int,
    regions: Sequence[str],
    orgs: Sequence[_Org],
    conflicted: int,
) -> list[matching_pb2.Mentor]:
    """The mentor pool (导师): a main area each, round-robin over the eight areas so every area
    has an expert, sometimes a second or third; most visit a few regions, some work remotely;
    a few have a conflict of interest (回避) with an organization they advised."""
    areas = list(AREAS)
    rng.shuffle(areas)
    names = _names(rng, count)
    with_conflicts = set(rng.sample(range(count), min(conflicted, count)))
    mentors = []
    for k, mid in enumerate(_ids("M", count)):
        main = areas[k % len(areas)]
        others = rng.sample([a for a in AREAS if a != main], rng.choice((0, 1, 1, 2)))
        remote = rng.random() < 0.3
        reach = min(len(regions), max(2, len(regions) // 3))
        mentors.append(
            matching_pb2.Mentor(
                mentor_id=mid,
                display_name=f"{names[k]}（{AREA_TITLES[main]}）",
                expertise=[
                    matching_pb2.Expertise(area=main, level=rng.randint(3, 5)),
                    *(matching_pb2.Expertise(area=a, level=rng.randint(2, 4)) for a in others),
                ],
                capacity=rng.randint(2, 4),
                regions=[] if remote else rng.sample(list(regions), reach),
                remote=remote,
                conflict_organization_ids=(
                    [rng.choice(orgs).organization_id] if k in with_conflicts else []
                ),
            )
        )
    return mentors


def _adjacency(pairs: dict[str, tuple[str, ...]]) -> list[matching_pb2.RegionAdjacency]:
    return [
        matching_pb2.RegionAdjacency(region=r, adjacent_regions=a) for r, a in pairs.items() if a
    ]


def _grid(regions: Sequence[str], width: int) -> dict[str, tuple[str, ...]]:
    """Regions on a map `width` wide: each borders the next in its row and in its column."""
    found: dict[str, tuple[str, ...]] = {}
    for k, region in enumerate(regions):
        right = [regions[k + 1]] if (k + 1) % width and k + 1 < len(regions) else []
        below = [regions[k + width]] if k + width < len(regions) else []
        found[region] = (*right, *below)
    return found


def _ring(regions: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Regions around a ring: each borders the next."""
    return {r: (regions[(k + 1) % len(regions)],) for k, r in enumerate(regions)}


def _near(rng: random.Random, adjacency: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    """A home region and, for some, one or two bordering it."""
    home = rng.choice(list(adjacency))
    border = [*adjacency[home], *(r for r, a in adjacency.items() if home in a)]
    extra = rng.sample(border, min(len(border), rng.choice((0, 1, 1, 2))))
    return (home, *extra)


def _rubric(
    spec: Sequence[tuple[str, str, float]], scale: float = 0.0
) -> list[scoring_pb2.Criterion]:
    """Criteria from (id, name, weight); scale 0: points mode (a judge scores 0..weight)."""
    return [
        scoring_pb2.Criterion(
            criterion_id=cid,
            display_name=name,
            weight=weight,
            scale_min=0.0,
            scale_max=scale or weight,
        )
        for cid, name, weight in spec
    ]


COUNTY_RUBRIC = (
    ("need", "需求评估", 20.0),
    ("design", "项目设计", 25.0),
    ("capacity", "执行能力", 20.0),
    ("budget", "预算合理性", 15.0),
    ("impact", "社会效益与可持续性", 20.0),
)
STREET_RUBRIC = (
    ("fit", "需求契合度", 3.0),
    ("participation", "居民参与度", 3.0),
    ("feasibility", "方案可行性", 2.0),
    ("budget", "预算合理性", 2.0),
)
CITY_RUBRIC = (
    ("need", "需求评估", 15.0),
    ("design", "项目设计", 25.0),
    ("capacity", "执行能力", 20.0),
    ("budget", "预算合理性", 15.0),
    ("impact", "社会效益", 15.0),
    ("innovation", "创新性", 10.0),
)
TIE_BREAKS = (
    scoring_pb2.TieBreakRule(kind=scoring_pb2.TIE_BREAK_KIND_RAW_SCORE_SUM),
    scoring_pb2.TieBreakRule(kind=scoring_pb2.TIE_BREAK_KIND_CRITERION, criterion_id="design"),
    scoring_pb2.TieBreakRule(kind=scoring_pb2.TIE_BREAK_KIND_SUBMIT_TIME),
)
COUNTY_BANDS = (
    allocation_pb2.ScoreBand(min_score=85, funding_ratio_bp=10000),
    allocation_pb2.ScoreBand(min_score=75, funding_ratio_bp=8000),
    allocation_pb2.ScoreBand(min_score=60, funding_ratio_bp=6000),
)


def _request(
    kind: str, seed: int, round_id: str, display_name: str, top_k: int = 3
) -> round_pb2.OptimizeRoundRequest:
    return round_pb2.OptimizeRoundRequest(
        labels={"kind": kind, "seed": str(seed), "generator": "service.round.generate"},
        options=common_pb2.RequestOptions(seed=seed, top_k=top_k),
        round_id=round_id,
        display_name=display_name,
    )


# ---------------------------------------------------------------------------------------------
# County rounds
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _CountyShape:
    """The sizes and money of a county round."""

    county: str
    applications: int
    organizations: int
    domains: tuple[str, ...]
    townships: tuple[str, ...]
    judges: int
    judges_per_proposal: int
    needs: int
    mentors: int
    budget_yuan: int
    min_per_domain: int
    aggregation: scoring_pb2.AggregationMethod.ValueType = (
        scoring_pb2.AGGREGATION_METHOD_TRIMMED_MEAN
    )
    bootstrap_samples: int = 1000
    shortlist: int = 25
    objective: allocation_pb2.AllocationObjective.ValueType = (
        allocation_pb2.ALLOCATION_OBJECTIVE_TOTAL_SCORE
    )


COUNTY_TIERS = (
    _Tier("startup", 25_000, 30_000, 1_000, 3 * WAN),
    _Tier("growth", 40_000, 50_000, 1_000, 5 * WAN),
    _Tier("mature", 60_000, 80_000, 1_000, 8 * WAN),
)
COUNTY = _CountyShape(
    county="青石县",
    applications=90,
    organizations=40,
    domains=COUNTY_DOMAINS,
    townships=TOWNSHIPS,
    judges=15,
    judges_per_proposal=5,
    needs=50,
    mentors=15,
    budget_yuan=1_200_000,
    min_per_domain=3,
)


def _county(
    shape: _CountyShape, seed: int, round_id: str, kind: str
) -> round_pb2.OptimizeRoundRequest:
    """A county round: applications in tiers of 3万/5万/8万, a panel where each proposal gets
    `judges_per_proposal` experts, score bands, a welfare-lottery pool for elderly and
    disability services beside a community fund, minimum grants per domain, two grants per
    organization at most, and the county's needs and mentors."""
    rng = random.Random(seed)
    adjacency = _grid(shape.townships, 4)
    orgs = _organizations(
        rng, shape.organizations, shape.domains, lambda r: _near(r, adjacency), shape.county
    )
    by_id = {o.organization_id: o for o in orgs}
    apps = _applications(rng, orgs, shape.applications, shape.domains, most=3)
    quality = _qualities(rng, apps, 0.42, 0.95)
    proposals = [
        _proposal(rng, pid, org, domain, _tier_for(rng, COUNTY_TIERS, org), k)
        for k, (pid, (org, domain)) in enumerate(zip(_ids("P", len(apps)), apps, strict=True))
    ]
    for p in proposals:
        if rng.random() < 0.2:  # accepts partial funding down to half
            p.minimum_fen = max(WAN, p.requested_fen // 2 // (1000 * YUAN) * 1000 * YUAN)
    _mark_eligibility(rng, proposals, by_id, quality, max(1, shape.applications // 30))
    judges = _panel(rng, shape.judges)
    panels = _assign(rng, judges, proposals, shape.judges_per_proposal)
    conflicts = _declare_conflicts(rng, judges, panels, proposals, max(2, shape.judges // 3))
    criteria = _rubric(COUNTY_RUBRIC)
    criteria[0].veto_below = 8.0  # 一票否决: a need nobody asked for is not funded
    min_valid = 3 if shape.aggregation == scoring_pb2.AGGREGATION_METHOD_TRIMMED_MEAN else 2

    request = _request(kind, seed, round_id, f"2026年{shape.county}公益创投大赛")
    request.criteria.extend(criteria)
    request.judges.extend(_judges_pb(judges, panels, conflicts))
    request.proposals.extend(proposals)
    request.sheets.extend(
        _sheets(rng, criteria, proposals, quality, panels, conflicts, 0.03, min_valid)
    )
    request.scoring_policy.CopyFrom(
        scoring_pb2.ScoringPolicy(
            aggregation=shape.aggregation,
            trim_count=1 if shape.aggregation == scoring_pb2.AGGREGATION_METHOD_TRIMMED_MEAN else 0,
            weight_mode=scoring_pb2.WEIGHT_MODE_POINTS,
            veto_rule=scoring_pb2.VETO_RULE_AGGREGATE,
            pass_line=60.0,
            tie_break_rules=TIE_BREAKS,
            rank_stability=scoring_pb2.RankStabilityOptions(
                samples=shape.bootstrap_samples, confidence=0.9, shortlist_size=shape.shortlist
            ),
        )
    )
    request.allocation_rules.CopyFrom(_county_rules(shape, proposals, quality))
    request.needs.extend(_needs(rng, shape.needs, shape.domains, shape.townships))
    request.organizations.extend(_organization_pb(rng, o) for o in orgs)
    request.need_matching_policy.CopyFrom(_county_need_policy(rng, request, adjacency))
    request.mentors.extend(_mentors(rng, shape.mentors, shape.townships, orgs, conflicted=3))
    request.mentor_matching_policy.balance_load = True
    return request


def _county_rules(
    shape: _CountyShape, proposals: Sequence[proposal_pb2.Proposal], quality: Sequence[float]
) -> allocation_pb2.AllocationRules:
    """10% kept in reserve; the welfare-lottery pool gets the lottery domains' share of the
    rest. The domain minimum is the shape's, lowered when the budget could not pay for it."""
    total = shape.budget_yuan * YUAN
    available = total - total * 1000 // 10000
    lottery = [d for d in ("elderly", "disability") if d in shape.domains]
    lottery_fen = available * len(lottery) // len(shape.domains) // WAN * WAN
    minimum = _affordable_minimum(
        proposals, quality, shape.min_per_domain, (available - lottery_fen, lottery_fen), lottery
    )
    pools = [
        allocation_pb2.FundingPool(
            pool_id="community_fund",
            display_name="社区发展基金",
            amount_fen=available - lottery_fen,
            eligible_tags=[ELIGIBLE],
        )
    ]
    if lottery:
        pools.insert(
            0,
            allocation_pb2.FundingPool(
                pool_id="welfare_lottery",
                display_name="福彩公益金",
                amount_fen=lottery_fen,
                eligible_domains=lottery,
                eligible_tags=[ELIGIBLE],
            ),
        )
    return allocation_pb2.AllocationRules(
        total_budget_fen=total,
        reserve_bp=1000,
        pools=pools,
        tiers=[allocation_pb2.TierRule(tier=t.tier, max_grant_fen=t.cap_fen) for t in COUNTY_TIERS],
        score_bands=COUNTY_BANDS,
        min_grant_fen=WAN,
        max_grant_fen=8 * WAN,
        grant_unit_fen=100 * YUAN,
        max_grants_per_organization=2,
        quotas=[
            allocation_pb2.Quota(
                dimension=allocation_pb2.DIMENSION_DOMAIN, key=d, min_count=minimum
            )
            for d in shape.domains
            if minimum
        ],
        objective=shape.objective,
        pass_line=60.0,
    )


def _affordable_minimum(
    proposals: Sequence[proposal_pb2.Proposal],
    quality: Sequence[float],
    wanted: int,
    pools: tuple[int, int],
    lottery: Sequence[str],
) -> int:
    """The largest per-domain minimum up to `wanted` that surely holds: every domain has that
    many strong eligible applications (quality 0.8 or more, which pass whatever the judges do),
    and the cheapest of them, at the most each can cost, fit in the pools (community fund,
    welfare lottery): the other domains' in the community fund, all of them in both."""
    costs: dict[str, list[int]] = {}
    for p, q in zip(proposals, quality, strict=True):
        if q >= 0.8 and ELIGIBLE in p.tags:
            costs.setdefault(p.domain, []).append(p.minimum_fen or p.requested_fen)
    domains = {p.domain for p in proposals}
    community, welfare = pools
    for m in range(wanted, 0, -1):
        if any(len(costs.get(d, [])) < m for d in domains):
            continue
        cheapest = {d: sum(sorted(costs[d])[:m]) for d in domains}
        others = sum(v for d, v in cheapest.items() if d not in lottery)
        if others <= community and sum(cheapest.values()) <= community + welfare:
            return m
    return 0


def _county_need_policy(
    rng: random.Random,
    request: round_pb2.OptimizeRoundRequest,
    adjacency: dict[str, tuple[str, ...]],
) -> matching_pb2.NeedMatchingPolicy:
    """Soft minimums (funded organizations rarely cover every need), bordering townships, one
    conflict (the need was raised by a board member's community) and one pair agreed at the
    供需对接会 beforehand (kept only if that organization is funded)."""
    policy = matching_pb2.NeedMatchingPolicy(
        region_adjacency=_adjacency(adjacency),
        min_affinity=0.3,
        soft_minimums=True,
    )
    orgs = list(request.organizations)
    need = rng.choice(list(request.needs))
    fits = [o for o in orgs if need.domain in o.domains and need.region in o.regions]
    if fits:
        best = max(fits, key=lambda o: (o.rating, o.organization_id))
        policy.fixed_pairs.add(need_id=need.need_id, organization_id=best.organization_id)
    other = rng.choice([n for n in request.needs if n.need_id != need.need_id])
    clash = rng.choice([o for o in orgs if other.domain in o.domains] or orgs)
    policy.forbidden_pairs.add(need_id=other.need_id, organization_id=clash.organization_id)
    return policy


# ---------------------------------------------------------------------------------------------
# Street micro rounds
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _StreetShape:
    street: str
    applications: int
    organizations: int
    communities: tuple[str, ...]
    domains: tuple[str, ...]
    judges: int
    needs: int
    mentors: int
    budget_yuan: int
    volunteer_share: float = 0.45
    bootstrap_samples: int = 1000
    needs_objective: matching_pb2.MatchObjective.ValueType = matching_pb2.MATCH_OBJECTIVE_FAIR


STREET_TIERS = (
    _Tier("small", 1_500, 3_000, 500, 3_000 * YUAN),
    _Tier("medium", 3_000, 5_000, 500, 5_000 * YUAN),
    _Tier("large", 5_000, 8_000, 500, 8_000 * YUAN, registered_only=True),
)
STREET = _StreetShape(
    street="东湖街道",
    applications=60,
    organizations=54,
    communities=COMMUNITIES,
    domains=STREET_DOMAINS,
    judges=5,
    needs=24,
    mentors=6,
    budget_yuan=130_000,
)


def _street(
    shape: _StreetShape, seed: int, round_id: str, kind: str
) -> round_pb2.OptimizeRoundRequest:
    """A street micro round (社区微创投): tiers of 8千/5千/3千 (volunteer teams up to 5千), two
    pools (registered organizations, filed volunteer teams), every judge scores every
    application, residents' votes count 30%, every community with a passing project gets one,
    and volunteer teams get a minimum number of grants."""
    rng = random.Random(seed)
    adjacency = _ring(shape.communities)
    orgs = _organizations(
        rng,
        shape.organizations,
        shape.domains,
        lambda r: _near(r, adjacency)[:2],
        shape.street,
        volunteer_share=shape.volunteer_share,
    )
    by_id = {o.organization_id: o for o in orgs}
    apps = _applications(rng, orgs, shape.applications, shape.domains, most=2)
    quality = _qualities(rng, apps, 0.45, 0.95)
    proposals = [
        _proposal(rng, pid, org, domain, _tier_for(rng, STREET_TIERS, org), k)
        for k, (pid, (org, domain)) in enumerate(zip(_ids("S", len(apps)), apps, strict=True))
    ]
    for p, q in zip(proposals, quality, strict=True):
        votes = max(30, round(rng.gauss(150 + 900 * q, 90)))
        p.component_values.add(component_id="resident_vote", value=float(votes))
    _mark_eligibility(rng, proposals, by_id, quality, max(1, shape.applications // 20))
    judges = _panel(rng, shape.judges)
    panels = {p.proposal_id: judges for p in proposals}
    conflicts = _declare_conflicts(rng, judges, panels, proposals, 2)
    criteria = _rubric(STREET_RUBRIC, scale=10.0)

    request = _request(kind, seed, round_id, f"2026年{shape.street}社区微创投")
    request.criteria.extend(criteria)
    request.judges.extend(_judges_pb(judges, panels, conflicts, everyone=True))
    request.proposals.extend(proposals)
    request.sheets.extend(_sheets(rng, criteria, proposals, quality, panels, conflicts, 0.01, 2))
    request.scoring_policy.CopyFrom(
        scoring_pb2.ScoringPolicy(
            aggregation=scoring_pb2.AGGREGATION_METHOD_MEAN,
            weight_mode=scoring_pb2.WEIGHT_MODE_RELATIVE,
            panel_weight=70.0,
            components=[
                scoring_pb2.ScoreComponent(
                    component_id="resident_vote",
                    display_name="居民投票",
                    kind=scoring_pb2.COMPONENT_KIND_WEIGHTED,
                    weight=30.0,
                    normalization=scoring_pb2.NORMALIZATION_MAX,
                )
            ],
            pass_line=60.0,
            tie_break_rules=TIE_BREAKS[:1],
            rank_stability=scoring_pb2.RankStabilityOptions(
                samples=shape.bootstrap_samples, confidence=0.9
            ),
        )
    )
    request.allocation_rules.CopyFrom(_street_rules(shape, proposals, quality))
    request.needs.extend(_needs(rng, shape.needs, shape.domains, shape.communities))
    request.organizations.extend(_organization_pb(rng, o) for o in orgs)
    request.need_matching_policy.CopyFrom(
        matching_pb2.NeedMatchingPolicy(
            region_adjacency=_adjacency(adjacency),
            objective=shape.needs_objective,
            min_affinity=0.25,
            candidates_per_need=5,
            soft_minimums=True,
        )
    )
    request.mentors.extend(_mentors(rng, shape.mentors, shape.communities, orgs, conflicted=1))
    request.mentor_matching_policy.balance_load = True
    return request


def _street_rules(
    shape: _StreetShape, proposals: Sequence[proposal_pb2.Proposal], quality: Sequence[float]
) -> allocation_pb2.AllocationRules:
    """The budget is split between the pools as the eligible requests are (in 1,000 yuan).
    Volunteer teams are promised grants for half their strong applications (quality 0.75 or
    more: they pass whatever the judges and voters do), so the promise can always be kept."""
    total = shape.budget_yuan * YUAN
    asked = sum(p.requested_fen for p in proposals if ELIGIBLE in p.tags)
    by_teams = sum(p.requested_fen for p in proposals if VOLUNTEER_TEAM in p.tags)
    strong = sum(
        1 for p, q in zip(proposals, quality, strict=True) if VOLUNTEER_TEAM in p.tags and q >= 0.75
    )
    volunteer_fen = total * by_teams // max(asked, 1) // (1000 * YUAN) * 1000 * YUAN
    return allocation_pb2.AllocationRules(
        total_budget_fen=total,
        pools=[
            allocation_pb2.FundingPool(
                pool_id="registered_orgs",
                display_name="社会组织资金池",
                amount_fen=total - volunteer_fen,
                eligible_tags=[REGISTERED],
            ),
            allocation_pb2.FundingPool(
                pool_id="volunteer_teams",
                display_name="志愿服务团队资金池",
                amount_fen=volunteer_fen,
                eligible_tiers=["small", "medium"],
                eligible_tags=[VOLUNTEER_TEAM],
            ),
        ],
        tiers=[allocation_pb2.TierRule(tier=t.tier, max_grant_fen=t.cap_fen) for t in STREET_TIERS],
        min_grant_fen=1_000 * YUAN,
        grant_unit_fen=100 * YUAN,
        max_grants_per_organization=1,
        quotas=[
            allocation_pb2.Quota(
                dimension=allocation_pb2.DIMENSION_POOL,
                key="volunteer_teams",
                min_count=strong // 2,
            )
        ][: 1 if strong >= 2 else 0],
        require_region_coverage=True,
        pass_line=60.0,
    )


# ---------------------------------------------------------------------------------------------
# The city round
# ---------------------------------------------------------------------------------------------

CITY_TIERS = (
    _Tier("community", 50_000, 150_000, 5_000, 0),
    _Tier("district", 150_000, 300_000, 10_000, 0),
    _Tier("city", 300_000, 600_000, 10_000, 0),
)


def _city(seed: int) -> round_pb2.OptimizeRoundRequest:
    """A city round (市级公益创投): 320 applications across 8 domains and 11 districts, 45 experts
    (5 per proposal, calibrated for each judge's leniency), the panel 60%, public votes 20% and
    donations raised 20%; 18M yuan from the welfare-lottery fund, grants of 5万 to min(50万, 60%
    of the project budget), a domain mix (at least 8 grants and at most 30% of the money per
    domain), every district funded, one grant per organization."""
    rng = random.Random(seed)
    districts = tuple(DISTRICTS)
    orgs = _organizations(rng, 270, CITY_DOMAINS, lambda r: _near(r, DISTRICTS)[:2], None)
    by_id = {o.organization_id: o for o in orgs}
    apps = _applications(rng, orgs, 320, CITY_DOMAINS, most=2)
    quality = _qualities(rng, apps, 0.45, 0.95)
    proposals = [
        _proposal(rng, pid, org, domain, _tier_for(rng, CITY_TIERS, org), k)
        for k, (pid, (org, domain)) in enumerate(zip(_ids("P", len(apps)), apps, strict=True))
    ]
    for p, q in zip(proposals, quality, strict=True):
        p.minimum_fen = max(5 * WAN, p.requested_fen * 6 // 10 // WAN * WAN)
        votes = max(0, round(rng.lognormvariate(6.0 + 2.0 * q, 0.8)))
        raised = _round_to(p.requested_fen * max(0.0, rng.gauss(0.25 * q, 0.12)), 1000 * YUAN)
        p.donations_fen = raised
        p.component_values.add(component_id="public_vote", value=float(votes))
        p.component_values.add(component_id="donations", amount_fen=raised)
    _mark_eligibility(rng, proposals, by_id, quality, 10)
    judges = _panel(rng, 45)
    panels = _assign(rng, judges, proposals, 5)
    conflicts = _declare_conflicts(rng, judges, panels, proposals, 15)
    criteria = _rubric(CITY_RUBRIC)

    request = _request("city", seed, f"city-{seed}", "2026年市级公益创投活动")
    request.criteria.extend(criteria)
    request.judges.extend(_judges_pb(judges, panels, conflicts))
    request.proposals.extend(proposals)
    request.sheets.extend(_sheets(rng, criteria, proposals, quality, panels, conflicts, 0.02, 3))
    request.scoring_policy.CopyFrom(
        scoring_pb2.ScoringPolicy(
            aggregation=scoring_pb2.AGGREGATION_METHOD_CALIBRATED,
            weight_mode=scoring_pb2.WEIGHT_MODE_POINTS,
            panel_weight=60.0,
            components=[
                scoring_pb2.ScoreComponent(
                    component_id="public_vote",
                    display_name="公众投票",
                    kind=scoring_pb2.COMPONENT_KIND_WEIGHTED,
                    weight=20.0,
                    normalization=scoring_pb2.NORMALIZATION_RANK,
                ),
                scoring_pb2.ScoreComponent(
                    component_id="donations",
                    display_name="配套募款",
                    kind=scoring_pb2.COMPONENT_KIND_WEIGHTED,
                    weight=20.0,
                    normalization=scoring_pb2.NORMALIZATION_CAP,
                    cap=float(10 * WAN),
                ),
            ],
            pass_line=60.0,
            tie_break_rules=TIE_BREAKS,
            rank_stability=scoring_pb2.RankStabilityOptions(
                samples=500, confidence=0.9, shortlist_size=130
            ),
        )
    )
    request.allocation_rules.CopyFrom(_city_rules())
    request.needs.extend(_needs(rng, 160, CITY_DOMAINS, districts))
    request.organizations.extend(_organization_pb(rng, o) for o in orgs)
    request.need_matching_policy.CopyFrom(
        matching_pb2.NeedMatchingPolicy(
            region_adjacency=_adjacency(DISTRICTS),
            min_affinity=0.3,
            candidates_per_need=20,
            soft_minimums=True,
        )
    )
    request.mentors.extend(_mentors(rng, 30, districts, orgs, conflicted=5))
    request.mentor_matching_policy.balance_load = True
    return request


def _city_rules() -> allocation_pb2.AllocationRules:
    """The city's welfare-lottery fund (福彩公益金) pays the whole round."""
    total = 1800 * WAN
    return allocation_pb2.AllocationRules(
        total_budget_fen=total,
        pools=[
            allocation_pb2.FundingPool(
                pool_id="welfare_lottery",
                display_name="市福彩公益金",
                amount_fen=total,
                eligible_tags=[ELIGIBLE],
            )
        ],
        min_grant_fen=5 * WAN,
        max_grant_fen=50 * WAN,
        max_project_share_bp=6000,
        grant_unit_fen=1000 * YUAN,
        max_grants_per_organization=1,
        quotas=[
            allocation_pb2.Quota(
                dimension=allocation_pb2.DIMENSION_DOMAIN,
                key=d,
                min_count=8,
                max_amount_fen=total * 3 // 10,
            )
            for d in CITY_DOMAINS
        ],
        require_region_coverage=True,
        pass_line=60.0,
    )


# ---------------------------------------------------------------------------------------------
# The API
# ---------------------------------------------------------------------------------------------


def county_round(seed: int = COUNTY_SEED) -> round_pb2.OptimizeRoundRequest:
    """A county round (Zibo, Wujin): 90 applications across 6 domains from 40 organizations,
    15 judges (5 per proposal, some recused), 1.2M yuan with 10% kept in reserve, grants of
    1万–8万 in tiers and score bands, at least 3 grants per domain, 16 townships, 50 needs and
    15 mentors."""
    return _county(COUNTY, seed, f"county-{seed}", "county")


def street_round(seed: int = STREET_SEED) -> round_pb2.OptimizeRoundRequest:
    """A street micro round: 60 applications, 0.13M yuan in two pools, tiers of 8千/5千/3千."""
    return _street(STREET, seed, f"street-{seed}", "street")


def city_round(seed: int = CITY_SEED) -> round_pb2.OptimizeRoundRequest:
    """A city round (Guangzhou): 320 applications, 18M yuan, min(50万, 60% of the project
    budget), expert panel / public vote / donations at 60/20/20."""
    return _city(seed)


def generated_round(seed: int) -> round_pb2.OptimizeRoundRequest:
    """A small, varied county-like or street-like round for batch runs (round_id gen-NNNN):
    20–60 applications, 3–6 domains, panels, aggregation methods and budgets that differ from
    seed to seed, each round solving in a fraction of a second."""
    rng = random.Random(seed)
    if rng.random() < 0.6:
        return _county(_county_shape(rng), seed, f"gen-{seed:04d}", "generated-county")
    return _street(_street_shape(rng), seed, f"gen-{seed:04d}", "generated-street")


def _county_shape(rng: random.Random) -> _CountyShape:
    domains = tuple(rng.sample(CITY_DOMAINS, rng.randint(3, 6)))
    applications = rng.randint(max(24, 7 * len(domains)), 60)
    aggregation = rng.choice(
        (
            scoring_pb2.AGGREGATION_METHOD_TRIMMED_MEAN,
            scoring_pb2.AGGREGATION_METHOD_TRIMMED_MEAN,
            scoring_pb2.AGGREGATION_METHOD_MEAN,
            scoring_pb2.AGGREGATION_METHOD_MEDIAN,
            scoring_pb2.AGGREGATION_METHOD_STANDARDIZED,
            scoring_pb2.AGGREGATION_METHOD_CALIBRATED,
        )
    )
    per = 5 if aggregation == scoring_pb2.AGGREGATION_METHOD_TRIMMED_MEAN else rng.randint(3, 5)
    return _CountyShape(
        county=rng.choice(("白沙县", "柳河县", "金港县", "桃源县", "清水县", "龙泉县")),
        applications=applications,
        organizations=round(applications * rng.uniform(0.55, 0.8)),
        domains=domains,
        townships=TOWNSHIPS[: 4 * rng.randint(2, 4)],
        judges=rng.randint(max(per + 2, 7), 12),
        judges_per_proposal=per,
        needs=rng.randint(10, 30),
        mentors=rng.randint(5, 10),
        budget_yuan=round(applications * rng.uniform(1.0, 1.5)) * 10_000,
        min_per_domain=rng.randint(1, 2),
        aggregation=aggregation,
        bootstrap_samples=200,
        shortlist=max(5, applications // 3),
        objective=rng.choice(
            (
                allocation_pb2.ALLOCATION_OBJECTIVE_TOTAL_SCORE,
                allocation_pb2.ALLOCATION_OBJECTIVE_TOTAL_SCORE,
                allocation_pb2.ALLOCATION_OBJECTIVE_RANK_ORDER,
            )
        ),
    )


def _street_shape(rng: random.Random) -> _StreetShape:
    applications = rng.randint(20, 50)
    communities = COMMUNITIES[: rng.randint(4, 8)]
    return _StreetShape(
        street=rng.choice(("桂园街道", "滨江街道", "南湖街道", "新华街道", "锦城街道")),
        applications=applications,
        organizations=round(applications * rng.uniform(0.8, 0.95)),
        communities=communities,
        domains=tuple(rng.sample(STREET_DOMAINS, rng.randint(3, 5))),
        judges=rng.randint(4, 6),
        needs=rng.randint(8, 20),
        mentors=rng.randint(4, 8),
        budget_yuan=round(applications * rng.uniform(1.8, 2.6)) * 1_000,
        bootstrap_samples=200,
        needs_objective=rng.choice(
            (matching_pb2.MATCH_OBJECTIVE_TOTAL_AFFINITY, matching_pb2.MATCH_OBJECTIVE_FAIR)
        ),
    )


ROUNDS: dict[str, Callable[[int], round_pb2.OptimizeRoundRequest]] = {
    "county": county_round,
    "street": street_round,
    "city": city_round,
}
"""The three shipped rounds by name; each takes a seed."""
SEEDS = {"county": COUNTY_SEED, "street": STREET_SEED, "city": CITY_SEED}
"""The seeds of the rounds shipped under examples/ (each generator's default)."""
