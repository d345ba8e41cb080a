"""Cross-reference checks of a ScoringProblem: ids, sheets, scales, components, trimming.

Per-object checks already ran when the dataclasses were built; this module checks how the
objects refer to each other and reports every violation (up to errors.MAX_VIOLATIONS) at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from operator import attrgetter
from typing import cast

import numpy as np

from scoring.errors import MAX_VIOLATIONS, Violations, show
from scoring.model import (
    AggregationMethod,
    ComponentKind,
    Normalization,
    ScoreComponent,
    ScoreSheet,
    ScoringProblem,
    TieBreakKind,
)
from scoring.sheets import ScoreMatrix, read_scores

__all__ = ["MAX_VIOLATIONS", "check_problem", "validate_problem"]

_judge_id = attrgetter("judge_id")
_proposal_id = attrgetter("proposal_id")
_NON_NEGATIVE = (Normalization.MAX, Normalization.MIN_MAX, Normalization.RANK, Normalization.CAP)
MAX_MAGNITUDE = 1e12
"""Weights, scales, caps and component values stay within ±this, so that the engine's sums,
products, squares and rounding (x 10^tie_decimals) never overflow a float."""


def validate_problem(problem: ScoringProblem) -> None:
    """Raise InvalidProblem listing every cross-reference violation; return None when valid."""
    check_problem(problem)


def check_problem(problem: ScoringProblem) -> ScoreMatrix:
    """validate_problem, returning the score matrix it read on the way (the encoder reuses it)."""
    found = Violations()
    criterion_ids = tuple(c.criterion_id for c in problem.criteria)
    proposal_index = _first_index(p.proposal_id for p in problem.proposals)
    judge_index = _first_index(j.judge_id for j in problem.judges)
    _check_lists(problem, found)
    _check_duplicates("criteria", "criterion_id", criterion_ids, found)
    _check_duplicates("judges", "judge_id", (j.judge_id for j in problem.judges), found)
    _check_assignments(problem, proposal_index, found)
    _check_duplicates("proposals", "proposal_id", (p.proposal_id for p in problem.proposals), found)
    _check_component_values(problem, found)
    matrix = read_scores(problem.sheets, criterion_ids)
    _check_sheets(problem, judge_index, proposal_index, found)
    _check_sheet_scores(problem, matrix, found)
    _check_policy(problem, found)
    _check_magnitudes(problem, found)
    if problem.policy.aggregation is AggregationMethod.TRIMMED_MEAN:
        _check_trimming(problem, _valid_counts(problem, judge_index, proposal_index), found)
    found.raise_if_any()
    return matrix


def _first_index(ids: Iterable[str]) -> dict[str, int]:
    index: dict[str, int] = {}
    for k, item in enumerate(ids):
        index.setdefault(item, k)
    return index


def _check_lists(problem: ScoringProblem, found: Violations) -> None:
    if not problem.criteria:
        found.add_shown("criteria", "[]", "give at least one criterion of the rubric")
    if not problem.proposals:
        found.add_shown("proposals", "[]", "give at least one proposal to rank")


def _check_duplicates(list_name: str, id_name: str, ids: Iterable[str], found: Violations) -> None:
    first: dict[str, int] = {}
    for k, item in enumerate(ids):
        if item in first:
            found.add(
                f"{list_name}[{k}].{id_name}",
                item,
                f"duplicate id, already used by {list_name}[{first[item]}]; ids must be unique",
            )
        else:
            first[item] = k


def _check_assignments(
    problem: ScoringProblem, proposal_index: dict[str, int], found: Violations
) -> None:
    for j, judge in enumerate(problem.judges):
        for k, proposal_id in enumerate(judge.assigned_proposal_ids):
            if proposal_id not in proposal_index:
                found.add(
                    f"judges[{j}].assigned_proposal_ids[{k}]",
                    proposal_id,
                    "unknown proposal id; assign only proposals listed in proposals",
                )


def _check_component_values(problem: ScoringProblem, found: Violations) -> None:
    components = {c.component_id: c for c in problem.policy.components}
    for i, proposal in enumerate(problem.proposals):
        seen: dict[str, int] = {}
        for k, value in enumerate(proposal.component_values):
            component = components.get(value.component_id)
            if component is None:
                known = ", ".join(f'"{c}"' for c in components) or "none are defined"
                found.add(
                    f"proposals[{i}].component_values[{k}].component_id",
                    value.component_id,
                    f"unknown component; policy.components defines {known}",
                )
            elif value.component_id in seen:
                found.add(
                    f"proposals[{i}].component_values[{k}].component_id",
                    value.component_id,
                    f"given twice for this proposal (first at component_values"
                    f"[{seen[value.component_id]}]); keep one value",
                )
            else:
                seen[value.component_id] = k
                wrong = _component_number_problem(component, value.number)
                if wrong:
                    field = "amount_fen" if value.amount_fen is not None else "value"
                    raw: object = value.amount_fen if value.amount_fen is not None else value.value
                    found.add(f"proposals[{i}].component_values[{k}].{field}", raw, wrong)


def _component_number_problem(component: ScoreComponent, number: float) -> str:
    """What is wrong with a component's value (empty when nothing is)."""
    if component.kind is ComponentKind.BONUS:
        return "bonus points must not be negative" if number < 0 else ""
    if component.normalization is Normalization.NONE:
        if not 0 <= number <= 100:
            return (
                "NORMALIZATION_NONE takes values already on 0..100; rescale the value or "
                "choose another normalization"
            )
        return ""
    if component.normalization in _NON_NEGATIVE and number < 0:
        return f"{component.normalization.name} needs values of 0 or more"
    return ""


def _check_sheets(
    problem: ScoringProblem,
    judge_index: dict[str, int],
    proposal_index: dict[str, int],
    found: Violations,
) -> None:
    judge_ids = list(map(_judge_id, problem.sheets))
    proposal_ids = list(map(_proposal_id, problem.sheets))
    pairs = list(zip(judge_ids, proposal_ids, strict=True))
    if (
        judge_index.keys() >= set(judge_ids)
        and proposal_index.keys() >= set(proposal_ids)
        and len(set(pairs)) == len(pairs)
    ):
        return  # the common case, checked at C speed
    first_sheet: dict[tuple[str, str], int] = {}
    for i, (judge_id, proposal_id) in enumerate(pairs):
        if judge_id not in judge_index:
            found.add(
                f"sheets[{i}].judge_id",
                judge_id,
                "unknown judge; every judge who sends a sheet must be listed in judges",
            )
        if proposal_id not in proposal_index:
            found.add(
                f"sheets[{i}].proposal_id",
                proposal_id,
                "unknown proposal; sheets may only score proposals listed in proposals",
            )
        earlier = first_sheet.setdefault((judge_id, proposal_id), i)
        if earlier != i:
            found.add(
                f"sheets[{i}].proposal_id",
                proposal_id,
                f'judge "{judge_id}" already scored this proposal in sheets[{earlier}]; '
                "keep one sheet per judge and proposal",
            )


def _valid_counts(
    problem: ScoringProblem, judge_index: dict[str, int], proposal_index: dict[str, int]
) -> list[int]:
    """Valid sheets per proposal: known ids, first of repeated pairs, judge not recused."""
    found_judges = list(map(judge_index.get, map(_judge_id, problem.sheets)))
    found_proposals = list(map(proposal_index.get, map(_proposal_id, problem.sheets)))
    if None in found_judges or None in found_proposals:
        return _valid_counts_one_by_one(problem, judge_index, proposal_index)
    judges, proposals = cast(list[int], found_judges), cast(list[int], found_proposals)
    if len(set(zip(judges, proposals, strict=True))) < len(judges):
        return _valid_counts_one_by_one(problem, judge_index, proposal_index)
    # The common case: every sheet is counted unless its judge is recused from its proposal.
    counted = np.bincount(np.array(proposals, dtype=np.intp), minlength=len(problem.proposals))
    conflicts = [frozenset(j.conflict_organization_ids) for j in problem.judges]
    for j, p in zip(judges, proposals, strict=True):
        if conflicts[j]:
            organization = problem.proposals[p].organization_id
            if organization and organization in conflicts[j]:
                counted[p] -= 1
    result: list[int] = counted.tolist()
    return result


def _valid_counts_one_by_one(
    problem: ScoringProblem, judge_index: dict[str, int], proposal_index: dict[str, int]
) -> list[int]:
    counted = [0] * len(problem.proposals)
    conflicts = [frozenset(j.conflict_organization_ids) for j in problem.judges]
    seen: set[tuple[str, str]] = set()
    for sheet in problem.sheets:
        j = judge_index.get(sheet.judge_id)
        p = proposal_index.get(sheet.proposal_id)
        pair = (sheet.judge_id, sheet.proposal_id)
        if j is None or p is None or pair in seen:
            continue
        seen.add(pair)
        organization = problem.proposals[p].organization_id
        if not (organization and organization in conflicts[j]):
            counted[p] += 1
    return counted


def _check_sheet_scores(problem: ScoringProblem, matrix: ScoreMatrix, found: Violations) -> None:
    criteria = problem.criteria
    criterion_ids = [c.criterion_id for c in criteria]
    for i in np.flatnonzero(~matrix.regular).tolist():
        if found.full:
            return
        sheet = problem.sheets[i]
        if sheet.values:
            _check_sheet_width(sheet, i, criterion_ids, found)
        else:
            _check_sheet_criteria(sheet, i, criterion_ids, found)
    lo = np.array([c.scale_min for c in criteria])
    hi = np.array([c.scale_max for c in criteria])
    values = matrix.values
    outside = ~np.isnan(values) & ~((values >= lo) & (values <= hi))
    for i, c in zip(*np.nonzero(outside), strict=True):
        if found.full:
            return
        sheet = problem.sheets[int(i)]
        criterion = criteria[int(c)]
        if sheet.values:
            path, value = f"sheets[{i}].values[{c}]", sheet.values[c]
        else:
            k = next(
                k for k, s in enumerate(sheet.scores) if s.criterion_id == criterion.criterion_id
            )
            path, value = f"sheets[{i}].scores[{k}].value", sheet.scores[k].value
        found.add(
            path,
            value,
            f'outside criterion "{criterion.criterion_id}"\'s scale '
            f"[{show(criterion.scale_min)}, {show(criterion.scale_max)}]; give a score within it",
        )


def _check_sheet_width(
    sheet: ScoreSheet, i: int, criterion_ids: list[str], found: Violations
) -> None:
    count, width = len(sheet.values), len(criterion_ids)
    found.add_shown(
        f"sheets[{i}].values",
        f"[{count} number{'' if count == 1 else 's'}]",
        f"{'too few' if count < width else 'too many'}: give one value per criterion, in the "
        f"order of criteria ({', '.join(show(c) for c in criterion_ids)})",
    )


def _check_sheet_criteria(
    sheet: ScoreSheet, i: int, criterion_ids: list[str], found: Violations
) -> None:
    known = set(criterion_ids)
    seen: dict[str, int] = {}
    for k, score in enumerate(sheet.scores):
        path = f"sheets[{i}].scores[{k}].criterion_id"
        if score.criterion_id not in known:
            found.add(path, score.criterion_id, "unknown criterion; score only the criteria listed")
        elif score.criterion_id in seen:
            found.add(
                path,
                score.criterion_id,
                f"scored twice in this sheet (first at scores[{seen[score.criterion_id]}]); "
                "keep one score per criterion",
            )
        else:
            seen[score.criterion_id] = k
    missing = [c for c in criterion_ids if c not in seen]
    if missing:
        found.add_shown(
            f"sheets[{i}].scores",
            ", ".join(show(c) for c in missing),
            "these criteria are not scored; a sheet must score every criterion",
        )


def _check_magnitudes(problem: ScoringProblem, found: Violations) -> None:
    """Numbers too large for the arithmetic (1e300 is finite, but 100 x 1e300 x 1e300 is not)."""
    for template, indices, number in _bounded_numbers(problem):
        if not abs(number) <= MAX_MAGNITUDE:
            found.require(
                False,
                template.format(*indices),
                number,
                f"must be between -{MAX_MAGNITUDE:g} and {MAX_MAGNITUDE:g}",
            )


def _bounded_numbers(problem: ScoringProblem) -> Iterator[tuple[str, tuple[int, ...], float]]:
    """Each number _check_magnitudes bounds, with its field path as a template and indices:
    the path is only spelled out for a number out of range (a request has one per proposal
    and component, and formatting them all cost more than the check)."""
    yield "policy.panel_weight", (), problem.policy.panel_weight
    for i, criterion in enumerate(problem.criteria):
        yield "criteria[{}].weight", (i,), criterion.weight
        yield "criteria[{}].scale_min", (i,), criterion.scale_min
        yield "criteria[{}].scale_max", (i,), criterion.scale_max
    for k, component in enumerate(problem.policy.components):
        yield "policy.components[{}].weight", (k,), component.weight
        yield "policy.components[{}].cap", (k,), component.cap
    for i, proposal in enumerate(problem.proposals):
        for k, value in enumerate(proposal.component_values):
            if value.value is not None:
                yield "proposals[{}].component_values[{}].value", (i, k), value.value


def _check_policy(problem: ScoringProblem, found: Violations) -> None:
    policy = problem.policy
    criterion_ids = {c.criterion_id for c in problem.criteria}
    for i, rule in enumerate(policy.tie_break_rules):
        if rule.kind is TieBreakKind.CRITERION and rule.criterion_id not in criterion_ids:
            found.add(
                f"policy.tie_break_rules[{i}].criterion_id",
                rule.criterion_id,
                "unknown criterion; name one of the criteria",
            )


def _check_trimming(problem: ScoringProblem, counted: list[int], found: Violations) -> None:
    k = problem.policy.trim_count
    for proposal, n in zip(problem.proposals, counted, strict=True):
        if n >= 1 and n - 2 * k < 1:
            found.add(
                "policy.trim_count",
                k,
                f'proposal "{proposal.proposal_id}" has {n} valid sheet{"s" if n > 1 else ""}; '
                f"dropping the {k} highest and {k} lowest leaves none — lower trim_count "
                "or use MEDIAN",
            )
