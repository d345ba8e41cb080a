"""The mentor matching engine: hand-checked small rounds.

Every expected value is worked out by hand in the comment next to it (a weak area covered at
level l is worth severity × l / 5); none is copied from the engine's output. Every result also
passes the shared validator (matching.mentors.verify), through `_match`.
"""

from __future__ import annotations

import dataclasses
import math
import os
import random
import subprocess
import sys
from pathlib import Path

from matching.mentors.engine import (
    ENGINE,
    SEVERITIES_ROUNDED,
    TIME_LIMIT_REACHED,
    match_mentors,
)
from matching.mentors.explain import (
    NO_EXPERT_FOR_AREA,
    NO_WEAK_AREAS,
    ORGANIZATIONS_WITHOUT_REGION,
)
from matching.mentors.model import (
    CoveredArea,
    Expertise,
    Mentor,
    MentorMatchingProblem,
    MentorMatchResult,
    MentorPolicy,
    UncoveredReason,
)
from matching.mentors.validate import validate_problem
from matching.mentors.verify import violations
from matching.organization import Organization, WeakArea
from matching.status import SolveStatus

BALANCED = MentorPolicy(balance_load=True)


def _mentor(
    mentor_id: str,
    name: str,
    *,
    capacity: int = 1,
    regions: tuple[str, ...] = (),
    remote: bool = False,
    conflicts: tuple[str, ...] = (),
    **levels: int,
) -> Mentor:
    expertise = tuple(Expertise(area, level) for area, level in levels.items())
    return Mentor(mentor_id, name, expertise, capacity, regions, remote, conflicts)


def _org(
    org_id: str,
    name: str,
    *,
    wanted: int = 1,
    regions: tuple[str, ...] = ("东城",),
    **severities: float,
) -> Organization:
    weak = tuple(WeakArea(area, s) for area, s in severities.items())
    return Organization(org_id, name, regions=regions, weak_areas=weak, mentors_wanted=wanted)


def _match(
    mentors: tuple[Mentor, ...], orgs: tuple[Organization, ...], **options: object
) -> MentorMatchResult:
    """The engine's answer to a valid problem, checked by the shared validator."""
    problem = MentorMatchingProblem(mentors, orgs, **options)  # type: ignore[arg-type]
    validate_problem(problem)
    result = match_mentors(problem)
    assert violations(problem, result) == []
    return result


def _pairs(result: MentorMatchResult) -> set[tuple[str, str]]:
    return {(a.organization_id, a.mentor_id) for a in result.assignments}


def _reasons(result: MentorMatchResult) -> dict[tuple[str, str], UncoveredReason]:
    return {(u.organization_id, u.area): u.reason for u in result.uncovered}


LAWYER = _mentor("zhang", "张律师", law=5)
ACCOUNTANT = _mentor("li", "李会计", finance=5)
GENERALIST = _mentor("wang", "王全才", law=4, finance=4)


def test_a_complementary_team_beats_one_strong_generalist() -> None:
    org = _org("o1", "阳光社工", wanted=2, law=1.0, finance=1.0)
    result = _match((GENERALIST, LAWYER, ACCOUNTANT), (org,))
    # 张 + 李: 1.0 × 5/5 + 1.0 × 5/5 = 2.0; 王 alone 0.8 + 0.8 = 1.6; 王 + 张 1.0 + 0.8 = 1.8.
    assert result.status is SolveStatus.OPTIMAL
    assert math.isclose(result.objective, 2.0)
    assert result.best_bound == result.objective
    assert _pairs(result) == {("o1", "zhang"), ("o1", "li")}
    covered = {a.mentor_id: a.covered for a in result.assignments}
    assert covered == {
        "zhang": (CoveredArea("law", 1.0, 5),),
        "li": (CoveredArea("finance", 1.0, 5),),
    }


def test_with_one_mentor_wanted_the_generalist_wins() -> None:
    org = _org("o1", "阳光社工", wanted=1, law=1.0, finance=1.0)
    result = _match((GENERALIST, LAWYER, ACCOUNTANT), (org,))
    # 王 alone covers both areas at 4: 0.8 + 0.8 = 1.6 > 1.0 for either specialist.
    assert _pairs(result) == {("o1", "wang")}
    assert math.isclose(result.objective, 1.6)
    # Finance is not uncovered: 王 covers it, at level 4.
    assert result.uncovered == ()


def test_a_second_expert_in_the_same_area_adds_nothing() -> None:
    other_lawyer = _mentor("zhao", "赵律师", law=5)
    org = _org("o1", "阳光社工", wanted=2, law=1.0)
    result = _match((LAWYER, other_lawyer), (org,))
    # Two lawyers are worth no more than one, and a mentor who adds nothing is not assigned.
    assert _pairs(result) == {("o1", "zhang")}
    assert math.isclose(result.objective, 1.0)


def test_capacity_binds() -> None:
    junior = _mentor("chen", "陈律师", law=2)
    orgs = (_org("a", "阳光社工", law=0.5), _org("b", "彩虹助老", law=1.0))
    result = _match((LAWYER, junior), orgs)
    # 张 to b and 陈 to a: 1.0 + 0.5 × 2/5 = 1.2, against 0.5 + 1.0 × 2/5 = 0.9 the other way.
    assert _pairs(result) == {("b", "zhang"), ("a", "chen")}
    assert math.isclose(result.objective, 1.2)


def test_a_conflict_of_interest_is_never_matched() -> None:
    conflicted = _mentor("zhang", "张律师", law=5, conflicts=("a",))
    junior = _mentor("chen", "陈律师", law=3)
    result = _match((conflicted, junior), (_org("a", "阳光社工", law=1.0),))
    # 张 would give 1.0 but has 回避 with a; 陈 gives 3/5.
    assert _pairs(result) == {("a", "chen")}
    assert math.isclose(result.objective, 0.6)
    assert [c.mentor_id for c in result.alternatives[0].candidates] == ["chen"]


def test_regions_limit_mentors_unless_remote_or_region_free() -> None:
    far = _mentor("zhang", "张律师", law=5, regions=("西城",))
    online = _mentor("li", "李律师", law=3, regions=("西城",), remote=True)
    anywhere = _mentor("chen", "陈律师", law=2)
    orgs = (_org("a", "阳光社工", law=1.0), _org("b", "彩虹助老", regions=(), law=1.0))
    result = _match((far, online, anywhere), orgs)
    # 张 reaches neither (a is in 东城, b gives no region); 李 (remote, 0.6) and 陈 (0.4)
    # reach both: 0.6 + 0.4 = 1.0 whichever way round, so check the value and who serves.
    assert math.isclose(result.objective, 1.0)
    assert {m for _, m in _pairs(result)} == {"li", "chen"}
    for alternative in result.alternatives:
        assert [c.mentor_id for c in alternative.candidates] == ["li", "chen"]
    notice = next(n for n in result.notices if n.code == ORGANIZATIONS_WITHOUT_REGION)
    assert notice.subject_ids == ("b",)


def test_every_uncovered_reason() -> None:
    mentors = (
        _mentor("zhang", "张律师", law=5, capacity=1),
        _mentor("li", "李会计", finance=5, conflicts=("a",), capacity=2),
        _mentor("zhou", "周心理", psychology=4, regions=("西城",)),
        _mentor("wu", "吴筹款", fundraising=5, capacity=2),
    )
    orgs = (
        # One mentor wanted: 吴 for fundraising (0.9) beats 张 for law (0.5), and 张 is better
        # used by b. it: nobody has it; finance: 李 has 回避 with a; psychology: 周 only visits
        # 西城; law: 张 (capacity 1) is full with b.
        _org("a", "阳光社工", it=0.9, finance=0.8, psychology=0.7, law=0.5, fundraising=0.9),
        # One mentor wanted: 张 for law (1.0) beats 吴 for fundraising (0.2); 吴 still has room,
        # so fundraising is left out for b's mentor limit.
        _org("b", "彩虹助老", law=1.0, fundraising=0.2),
    )
    result = _match(mentors, orgs)
    assert _pairs(result) == {("a", "wu"), ("b", "zhang")}
    assert math.isclose(result.objective, 0.9 + 1.0)
    assert _reasons(result) == {
        ("a", "it"): UncoveredReason.NO_EXPERT,
        ("a", "finance"): UncoveredReason.CONFLICT,
        ("a", "psychology"): UncoveredReason.REGION,
        ("a", "law"): UncoveredReason.CAPACITY,
        ("b", "fundraising"): UncoveredReason.MENTOR_LIMIT,
    }
    messages = {(u.organization_id, u.area): u.message for u in result.uncovered}
    assert "1 mentor(s)" in messages[("a", "law")]
    assert '"it"' in messages[("a", "it")]
    notice = next(n for n in result.notices if n.code == NO_EXPERT_FOR_AREA)
    assert notice.subject_ids == ("a",)
    assert '"it"' in notice.message


def test_organizations_without_weak_areas_get_no_mentor() -> None:
    orgs = (_org("a", "阳光社工", law=1.0), _org("b", "彩虹助老"), _org("c", "绿叶环保"))
    result = _match((_mentor("zhang", "张律师", law=5, capacity=3),), orgs)
    assert _pairs(result) == {("a", "zhang")}
    notice = next(n for n in result.notices if n.code == NO_WEAK_AREAS)
    assert notice.subject_ids == ("b", "c")


def test_balance_load_spreads_without_lowering_coverage() -> None:
    mentors = tuple(_mentor(f"m{k}", name, law=5, capacity=4) for k, name in enumerate("甲乙丙"))
    orgs = tuple(_org(f"o{k}", f"社工{k}", law=1.0) for k in range(4))
    result = _match(mentors, orgs, policy=BALANCED)
    # Four organizations, three equal mentors: the busiest has 2 at best, and of (2, 2, 0) and
    # (2, 1, 1) the sum of squares (8 against 6) takes the latter.
    assert math.isclose(result.objective, 4.0)
    assert sorted(result.loads().values()) == [1, 1, 2]


def test_balance_load_never_trades_coverage_for_evenness() -> None:
    strong = _mentor("zhang", "张律师", law=5, capacity=3)
    weak = _mentor("chen", "陈律师", law=3, capacity=3)
    orgs = tuple(_org(f"o{k}", f"社工{k}", law=1.0) for k in range(3))
    plain = _match((strong, weak), orgs)
    balanced = _match((strong, weak), orgs, policy=BALANCED)
    # Only 张 gives 1.0 to each; any load on 陈 would cost 0.4, so the loads stay (3, 0).
    assert math.isclose(plain.objective, 3.0)
    assert math.isclose(balanced.objective, 3.0)
    assert balanced.loads() == {"zhang": 3}


def test_alternatives_are_ranked_by_solo_value() -> None:
    mentors = (
        _mentor("li", "李会计", finance=4, capacity=2),
        _mentor("wang", "王全才", law=3, finance=3, capacity=2),
        _mentor("zhang", "张律师", law=5, capacity=2),
        _mentor("zhao", "赵律师", law=5, capacity=2),  # ties with 张, given after him
        _mentor("qian", "钱律师", law=5, conflicts=("a",)),  # excluded: 回避
        _mentor("sun", "孙律师", law=5, regions=("西城",)),  # excluded: out of reach
    )
    org = _org("a", "阳光社工", wanted=2, law=1.0, finance=0.5)
    result = _match(mentors, (org,), top_k=4)
    # Solo: 张 1.0, 赵 1.0 (ranked after 张, given first), 王 0.6 + 0.3 = 0.9, 李 0.4.
    # Best team: a lawyer at level 5 (张 or 赵, equally good) and 李: 1.0 + 0.4 = 1.4.
    candidates = result.alternatives[0].candidates
    assert [(c.mentor_id, c.rank) for c in candidates] == [
        ("zhang", 1),
        ("zhao", 2),
        ("wang", 3),
        ("li", 4),
    ]
    assert [round(c.value, 9) for c in candidates] == [1.0, 1.0, 0.9, 0.4]
    assert candidates[2].areas == ("law", "finance")
    assert math.isclose(result.objective, 1.4)
    assert {c.mentor_id for c in candidates if c.chosen} == {m for _, m in _pairs(result)}
    assert len(_match(mentors, (org,), top_k=2).alternatives[0].candidates) == 2


def test_blocking_pairs_counted_by_hand() -> None:
    mentors = (
        _mentor("zhang", "张律师", law=5),
        _mentor("li", "李会计", finance=4, capacity=2),
        _mentor("wang", "王全才", law=3, finance=3, capacity=2),
    )
    orgs = (
        _org("a", "阳光社工", wanted=2, law=1.0, finance=0.5),
        _org("b", "彩虹助老", law=0.8),
    )
    result = _match(mentors, orgs)
    # a {张 1.0, 李 0.4} + b {王 0.48} = 1.88 beats a {张, 王} + b {王} = 1.3 + 0.48 and
    # a {王, 李} + b {张} = 1.0 + 0.8.
    assert _pairs(result) == {("a", "zhang"), ("a", "li"), ("b", "wang")}
    assert math.isclose(result.objective, 1.88)
    # (a, 王): a values 王 alone at 0.9 > 李's 0.4, and 王 has room: blocking.
    # (b, 张): b values 张 at 0.8 > 王's 0.48, but 张 is full with a, worth 1.0 to him: not.
    # (b, 李): 李 has no law, so the pair is not allowed.
    assert result.blocking_pairs == 1


def test_a_tiny_time_limit_returns_a_legal_matching_with_a_gap() -> None:
    rng = random.Random(7)
    areas = ("law", "finance", "fundraising", "branding", "it", "psychology")
    mentors = tuple(
        Mentor(
            f"m{k}",
            f"导师{k}",
            tuple(Expertise(a, rng.randint(1, 5)) for a in rng.sample(areas, 2)),
            capacity=rng.randint(3, 8),
        )
        for k in range(15)
    )
    orgs = tuple(
        Organization(
            f"o{k}",
            f"机构{k}",
            weak_areas=tuple(WeakArea(a, rng.randint(1, 10) / 10) for a in rng.sample(areas, 3)),
            mentors_wanted=2,
        )
        for k in range(150)
    )
    result = _match(mentors, orgs, time_limit_s=0.001)
    assert result.status is SolveStatus.FEASIBLE
    assert result.best_bound > result.objective > 0
    assert any(n.code == TIME_LIMIT_REACHED for n in result.notices)


def test_severities_beyond_six_decimals_widen_the_bound() -> None:
    org = _org("a", "阳光社工", law=0.1234567)
    result = _match((LAWYER,), (org,))
    assert math.isclose(result.objective, 0.1234567)
    assert result.best_bound >= result.objective
    assert any(n.code == SEVERITIES_ROUNDED for n in result.notices)


def test_summary_names_the_engine_and_the_stages() -> None:
    org = _org("a", "阳光社工", law=1.0)
    result = _match((LAWYER,), (org,), policy=BALANCED)
    assert result.engine == ENGINE
    assert ENGINE.startswith("ortools-cp-sat ")
    assert [t.stage for t in result.timings] == ["encode", "solve", "balance", "explain"]


def test_the_same_problem_gives_the_same_result() -> None:
    mentors = (GENERALIST, LAWYER, ACCOUNTANT, _mentor("zhao", "赵律师", law=5, capacity=2))
    orgs = tuple(_org(f"o{k}", f"社工{k}", wanted=2, law=1.0, finance=0.5) for k in range(4))
    first = _match(mentors, orgs, policy=BALANCED)
    second = _match(mentors, orgs, policy=BALANCED)
    assert dataclasses.replace(first, timings=()) == dataclasses.replace(second, timings=())


_SCRIPT = """
from matching.mentors.engine import match_mentors
from matching.mentors.model import Expertise, Mentor, MentorMatchingProblem
from matching.organization import Organization, WeakArea
areas = ("law", "finance", "it")
mentors = tuple(
    Mentor(f"m{k}", expertise=(Expertise(areas[k % 3], 1 + k % 5),), capacity=2) for k in range(6)
)
orgs = tuple(
    Organization(f"o{k}", weak_areas=tuple(WeakArea(a, 0.5) for a in areas), mentors_wanted=2)
    for k in range(5)
)
result = match_mentors(MentorMatchingProblem(mentors, orgs))
print([(a.organization_id, a.mentor_id) for a in result.assignments], result.objective)
"""


def test_the_answer_does_not_depend_on_string_hashing() -> None:
    # Two interpreters whose sets of strings iterate in different orders.
    root = Path(__file__).resolve().parent.parent
    outputs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", _SCRIPT], cwd=root, env=env, capture_output=True, check=True
        )
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1]
