"""The final score: the panel and other weighted components on 0..100, plus capped bonus points.

W = panel_weight + Σ w_i over weighted components; share_panel = panel_weight/W, share_i = w_i/W.
final = F·(share_panel·(100·panel/F) + Σ share_i·normalized_i)/100 + Σ_bonus min(v, cap), so with
no components the final score is the panel score. Components are normalised over all proposals
(a missing value counts as 0); a proposal without a panel score gets no final score (all
contributions 0), though its values still take part in the others' normalisation.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from operator import attrgetter

import numpy as np

from scoring.arrays import BoolArray, FloatArray
from scoring.model import ComponentKind, Normalization, Notice, ScoreComponent, ScoringProblem

COMPONENT_VALUE_MISSING = "COMPONENT_VALUE_MISSING"
COMPONENT_NO_SPREAD = "COMPONENT_NO_SPREAD"

_component_values = attrgetter("component_values")
_component_id = attrgetter("component_id")
_number = attrgetter("number")
_amount_fen = attrgetter("amount_fen")


@dataclass(frozen=True, slots=True)
class ComponentColumn:
    """One component across proposals: raw values (money also in fen), 0..100 and points."""

    component: ScoreComponent
    values: FloatArray
    amount_fen: tuple[int, ...]
    normalized: FloatArray
    share: float
    contribution: FloatArray


@dataclass(frozen=True, slots=True)
class FinalScores:
    """Final scores, the panel's share and points, and one column per component in policy order."""

    final: FloatArray
    panel_share: float
    panel_contribution: FloatArray
    columns: tuple[ComponentColumn, ...]
    notices: tuple[Notice, ...]


def combine(
    problem: ScoringProblem, panel: FloatArray, scored: BoolArray, full_scale: float
) -> FinalScores:
    """Final score of every proposal from its panel score and component values."""
    policy = problem.policy
    weighted = [c for c in policy.components if c.kind is ComponentKind.WEIGHTED]
    total_weight = policy.panel_weight + sum(c.weight for c in weighted)
    panel_share = policy.panel_weight / total_weight
    panel_contribution = np.where(scored, panel_share * panel, 0.0)
    final = panel_contribution.copy()
    columns: list[ComponentColumn] = []
    notices: list[Notice] = []
    given = _listed_in_policy_order(problem) if policy.components else {}
    for component in policy.components:
        values, amounts, missing = given.get(component.component_id) or _values(
            problem, component.component_id
        )
        if missing:
            notices.append(_missing_notice(component.component_id, missing))
        if component.kind is ComponentKind.BONUS:
            normalized, share = values, 0.0
            points = np.minimum(values, component.cap)
        else:
            normalized = _normalize(component, values, notices)
            share = component.weight / total_weight
            points = full_scale * share * normalized / 100.0
        contribution = np.where(scored, points, 0.0)
        final += contribution
        columns.append(ComponentColumn(component, values, amounts, normalized, share, contribution))
    return FinalScores(final, panel_share, panel_contribution, tuple(columns), tuple(notices))


_Values = tuple[FloatArray, tuple[int, ...], list[str]]
"""One component's values per proposal (0 when missing), amounts in fen, and the proposal ids
without a value."""


def _listed_in_policy_order(problem: ScoringProblem) -> dict[str, _Values]:
    """_values of every component at once when every proposal gives exactly the policy's
    components in policy order (the usual request); otherwise nothing, and each component is
    looked up on its own.

    One pass over all values with C-level `map`s, instead of a generator per proposal and
    component, which cost more than the arithmetic of the whole stage.
    """
    ids = [c.component_id for c in problem.policy.components]
    width, count = len(ids), len(problem.proposals)
    if len(set(ids)) < width:
        return {}
    per_proposal = list(map(_component_values, problem.proposals))
    if set(map(len, per_proposal)) != {width}:
        return {}
    flat = list(chain.from_iterable(per_proposal))
    if list(map(_component_id, flat)) != ids * count:
        return {}
    numbers = list(map(_number, flat))
    amounts = [fen or 0 for fen in map(_amount_fen, flat)]
    return {
        component_id: (np.array(numbers[k::width], dtype=np.float64), tuple(amounts[k::width]), [])
        for k, component_id in enumerate(ids)
    }


def _values(problem: ScoringProblem, component_id: str) -> _Values:
    values = np.zeros(len(problem.proposals))
    amounts = [0] * len(problem.proposals)
    missing: list[str] = []
    for k, proposal in enumerate(problem.proposals):
        given = next((v for v in proposal.component_values if v.component_id == component_id), None)
        if given is None:
            missing.append(proposal.proposal_id)
            continue
        values[k] = given.number
        amounts[k] = given.amount_fen or 0
    return values, tuple(amounts), missing


def _missing_notice(component_id: str, proposal_ids: list[str]) -> Notice:
    return Notice(
        COMPONENT_VALUE_MISSING,
        f'{len(proposal_ids)} proposal(s) give no value for component "{component_id}"; '
        "they count as 0",
        tuple(proposal_ids),
    )


def _normalize(component: ScoreComponent, values: FloatArray, notices: list[Notice]) -> FloatArray:
    """NONE as is; MAX 100·v/max; MIN_MAX 100·(v − min)/(max − min); RANK 100·(below +
    equal/2)/count (equal includes the proposal itself); CAP 100·min(v, cap)/cap."""
    rule = component.normalization
    if rule is Normalization.NONE:
        return values
    if rule is Normalization.MAX:
        top = float(values.max())
        return 100.0 * values / top if top > 0 else np.zeros_like(values)
    if rule is Normalization.MIN_MAX:
        low, high = float(values.min()), float(values.max())
        if high > low:
            return 100.0 * (values - low) / (high - low)
        notices.append(
            Notice(
                COMPONENT_NO_SPREAD,
                f'every proposal has the same value for component "{component.component_id}", '
                "so NORMALIZATION_MIN_MAX maps all of them to 0",
                (component.component_id,),
            )
        )
        return np.zeros_like(values)
    if rule is Normalization.RANK:
        ordered = np.sort(values)
        below = np.searchsorted(ordered, values, side="left")
        equal = np.searchsorted(ordered, values, side="right") - below
        rank: FloatArray = 100.0 * (below + equal / 2.0) / len(values)
        return rank
    capped: FloatArray = 100.0 * np.minimum(values, component.cap) / component.cap
    return capped
