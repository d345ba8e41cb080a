"""Teams (each organization's mentors, as mentor indices): who covers what, their value, and
the repair that makes any legal matching canonical and locally unimprovable.

Within a team each weak area is covered by the mentor with the best level in it, ties going to
the mentor given first in the request; that rule is the only one used anywhere (the explanation,
the validator, the solver's decoding), so an answer never depends on how the solver happened to
attribute an area.
"""

from __future__ import annotations

import heapq

from matching.mentors.encode import Encoded

Teams = list[list[int]]
"""teams[o]: the mentors of organization o, in mentor order."""


def covering(enc: Encoded, o: int, team: list[int]) -> dict[int, list[tuple[int, int]]]:
    """Mentor → the (weak-area index, level) pairs it covers in organization o's team."""
    best: dict[int, tuple[int, int]] = {}
    for m in sorted(team):
        for a, level in enc.pair_levels[enc.pair_of[(o, m)]]:
            if a not in best or level > best[a][0]:
                best[a] = (level, m)
    found: dict[int, list[tuple[int, int]]] = {m: [] for m in team}
    for a in sorted(best):
        level, m = best[a]
        found[m].append((a, level))
    return found


def team_value(enc: Encoded, o: int, team: list[int]) -> int:
    """Scaled value of a team: Σ severity × best level over the areas it covers."""
    return sum(
        enc.severity[o][a] * level
        for cover in covering(enc, o, team).values()
        for a, level in cover
    )


def total_value(enc: Encoded, teams: Teams) -> int:
    return sum(team_value(enc, o, team) for o, team in enumerate(teams))


def prune(enc: Encoded, teams: Teams) -> Teams:
    """Drop every mentor who covers nothing for its organization (same value, less load)."""
    kept: Teams = []
    for o, team in enumerate(teams):
        cover = covering(enc, o, team)
        kept.append(sorted(m for m in team if cover[m]))
    return kept


def fill(enc: Encoded, teams: Teams) -> Teams:
    """Add pairs by largest gain (ties: first organization, then first mentor) while any pair
    fits the team size and the mentor's capacity and adds value; prune after each addition.

    From empty teams this is the greedy matching (the solver's first hint); from the solver's
    answer it changes nothing when that answer is optimal, and otherwise only raises its value.
    Lazy evaluation is exact here because a pair's gain can only fall as teams grow.
    """
    problem = enc.problem
    teams = prune(enc, [sorted(t) for t in teams])
    load = [0] * len(problem.mentors)
    for team in teams:
        for m in team:
            load[m] += 1
    best = [_best_levels(enc, o, team) for o, team in enumerate(teams)]
    heap = [(-_gain(enc, p, best), p) for p in range(enc.pairs)]
    heap = [item for item in heap if item[0] < 0]
    heapq.heapify(heap)
    while heap:
        neg, p = heapq.heappop(heap)
        o, m = enc.pair_org[p], enc.pair_mentor[p]
        wanted = problem.organizations[o].mentors_wanted
        if len(teams[o]) >= wanted or load[m] >= problem.mentors[m].capacity or m in teams[o]:
            continue
        gain = _gain(enc, p, best)
        if gain != -neg:
            if gain > 0:
                heapq.heappush(heap, (-gain, p))
            continue
        teams[o] = sorted([*teams[o], m])
        load[m] += 1
        cover = covering(enc, o, teams[o])
        dropped = [k for k in teams[o] if not cover[k]]
        for k in dropped:
            teams[o].remove(k)
            load[k] -= 1
        best[o] = _best_levels(enc, o, teams[o])
        # A freed seat or team slot may let pairs back in that were passed over as full.
        for q in {q for k in dropped for q in (*enc.mentor_pairs[k], *enc.org_pairs[o])}:
            gain = _gain(enc, q, best)
            if gain > 0:
                heapq.heappush(heap, (-gain, q))
    return teams


def _best_levels(enc: Encoded, o: int, team: list[int]) -> dict[int, int]:
    best: dict[int, int] = {}
    for m in team:
        for a, level in enc.pair_levels[enc.pair_of[(o, m)]]:
            best[a] = max(best.get(a, 0), level)
    return best


def _gain(enc: Encoded, p: int, best: list[dict[int, int]]) -> int:
    o = enc.pair_org[p]
    return sum(
        enc.severity[o][a] * max(0, level - best[o].get(a, 0)) for a, level in enc.pair_levels[p]
    )
