"""The ranking: qualified proposals first, then the rest; each by rounded final score and ties.

Within each group proposals are ordered by final score rounded to tie_decimals (highest first),
then by the tie-break rules in order, then by proposal_id (always last). Float keys compare at
KEY_DECIMALS so floating-point noise never decides. Proposals in the same group sharing a
rounded final score form a tied group (proposals without a panel score are not reported as tied).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from scoring.arrays import KEY_DECIMALS, BoolArray, FloatArray, IntArray
from scoring.model import Outcome, ScoringProblem, TieBreakKind, TieBreakRule, TiedGroup

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_IMPLICIT_LAST = TieBreakRule(TieBreakKind.PROPOSAL_ID)


@dataclass(frozen=True, slots=True)
class TieInputs:
    """Per proposal (request order): raw total sums, aggregated criterion scores, scored flag."""

    raw_sums: FloatArray
    criterion: FloatArray
    scored: BoolArray


@dataclass(frozen=True, slots=True)
class Ranking:
    """Proposal indices in rank order, tied groups, and each proposal's 1-based group (or 0)."""

    order: tuple[int, ...]
    groups: tuple[TiedGroup, ...]
    group_of: tuple[int, ...]


def rank_proposals(
    problem: ScoringProblem, outcomes: list[Outcome], rounded: FloatArray, ties: TieInputs
) -> Ranking:
    """Order every proposal and find the tied groups with the rule that resolved each.

    `rounded` is the final score rounded to tie_decimals (round_scores), per proposal.
    """
    tier = np.array([o is not Outcome.QUALIFIED for o in outcomes], dtype=np.intp)
    # lexsort sorts by the last key first: tier, then −score, then each rule in order.
    order = np.lexsort((-rounded, tier))
    # Tier and rounded score along the order are the same whatever the rules then decide.
    same = (tier[order[1:]] == tier[order[:-1]]) & (rounded[order[1:]] == rounded[order[:-1]])
    if not same.any() and not np.isnan(rounded).any():
        # Nobody shares a tier and rounded score (NaNs would sort as equals): the rules decide
        # nothing, so their keys, the costliest part of ranking a round without ties, are skipped.
        return Ranking(tuple(order.tolist()), (), (0,) * len(order))
    rules = (*problem.policy.tie_break_rules, _IMPLICIT_LAST)
    rule_keys = [_rule_key(problem, rule, ties) for rule in rules]
    order = np.lexsort([*reversed(rule_keys), -rounded, tier])
    groups: list[TiedGroup] = []
    group_of = [0] * len(order)
    for run in _runs(order, same, ties.scored):
        groups.append(_tied_group(problem, rules, rule_keys, run, float(rounded[run[0]])))
        for p in run.tolist():
            group_of[p] = len(groups)
    return Ranking(tuple(order.tolist()), tuple(groups), tuple(group_of))


def _runs(order: IntArray, same: BoolArray, scored: BoolArray) -> list[IntArray]:
    """Maximal runs (≥ 2) of consecutive scored proposals with the same tier and rounded score;
    `same[i]` tells whether order[i] and order[i + 1] share them."""
    runs: list[IntArray] = []
    first = last = -1
    # Walk the tied pairs only, rather than splitting the whole order into an array per score.
    for i in np.flatnonzero(same).tolist():
        if i != last:  # a new run starts at i (the previous one ended at `last`)
            if first >= 0:
                runs.append(order[first : last + 1])
            first = i
        last = i + 1
    if first >= 0:
        runs.append(order[first : last + 1])
    return [run for run in runs if scored[run[0]]]


def _tied_group(
    problem: ScoringProblem,
    rules: tuple[TieBreakRule, ...],
    rule_keys: list[FloatArray],
    run: IntArray,
    score: float,
) -> TiedGroup:
    """The deepest rule any adjacent pair of the run needed to be ordered."""
    differs = np.array([key[run[1:]] != key[run[:-1]] for key in rule_keys])
    depth = int(differs.argmax(axis=0).max())  # per pair: the first rule that differs
    rule = rules[depth]
    return TiedGroup(
        score=score,
        proposal_ids=tuple(problem.proposals[p].proposal_id for p in run.tolist()),
        resolved_by=rule.kind,
        criterion_id=rule.criterion_id if rule.kind is TieBreakKind.CRITERION else "",
    )


def _rule_key(problem: ScoringProblem, rule: TieBreakRule, ties: TieInputs) -> FloatArray:
    """One number per proposal, smaller first. RAW_SCORE_SUM and CRITERION: higher first;
    SUBMIT_TIME: earlier first, none last; PROPOSAL_ID: the id's place in sorted order."""
    if rule.kind is TieBreakKind.RAW_SCORE_SUM:
        key: FloatArray = -np.round(ties.raw_sums, KEY_DECIMALS)
        return key
    if rule.kind is TieBreakKind.CRITERION:
        c = next(k for k, c in enumerate(problem.criteria) if c.criterion_id == rule.criterion_id)
        return np.where(ties.scored, -np.round(ties.criterion[:, c], KEY_DECIMALS), np.inf)
    if rule.kind is TieBreakKind.SUBMIT_TIME:
        times = [p.submit_time for p in problem.proposals]
        return np.array([np.inf if t is None else _microseconds(t) for t in times])
    ids = np.array([p.proposal_id for p in problem.proposals], dtype=object)
    place = np.empty(len(ids))
    place[np.argsort(ids, kind="stable")] = np.arange(len(ids))
    return place


def _microseconds(moment: datetime) -> float:
    """Microseconds since the epoch (exact in a float until the year 2255); a time without a
    zone is read as UTC."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return float((aware - _EPOCH) // _MICROSECOND)
