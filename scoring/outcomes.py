"""Why a proposal does not qualify: not scored, ineligible, vetoed (一票否决), below the pass line.

Every failed rule adds an OutcomeReason, listed in precedence order NOT_SCORED > INELIGIBLE >
VETOED > BELOW_PASS_LINE; the outcome is the first reason's, QUALIFIED when there is none.
Veto and pass line need a panel score, so they are not checked for NOT_SCORED proposals.
"""

from __future__ import annotations

import numpy as np

from scoring.arrays import KEY_DECIMALS, FloatArray
from scoring.model import Outcome, OutcomeReason, ScoringProblem, VetoRule
from scoring.sheets import SheetTable


def outcome_of(reasons: tuple[OutcomeReason, ...]) -> Outcome:
    """The outcome the reasons lead to: the first one's (they are in precedence order)."""
    return reasons[0].outcome if reasons else Outcome.QUALIFIED


def outcome_reasons(
    problem: ScoringProblem,
    table: SheetTable,
    criterion: FloatArray,
    final: FloatArray,
    rounded: FloatArray,
) -> list[tuple[OutcomeReason, ...]]:
    """Reasons per proposal (request order), from aggregated criterion scores and final scores.

    AGGREGATE vetoes compare the aggregated criterion score (request's method) rounded to
    KEY_DECIMALS; the pass line compares the final score rounded to tie_decimals, which is
    `rounded` (round_scores of the final scores, shared with the ranking).
    """
    vetoes = _vetoes(problem, table, criterion)
    scored = table.scored
    pass_line = problem.policy.pass_line
    # ~scored | (scored & below) is ~scored | below: one array operation fewer.
    failing = ~scored if pass_line is None else ~scored | (rounded < pass_line)
    reasons: list[tuple[OutcomeReason, ...]] = [()] * len(problem.proposals)
    # Only proposals that fail some rule need a closer look; most rounds have few.
    for p in np.flatnonzero(failing).tolist() + sorted(vetoes) + _ineligible(problem):
        if not reasons[p]:
            reasons[p] = _reasons(
                problem, p, bool(scored[p]), vetoes.get(p, []), float(final[p]), float(rounded[p])
            )
    return reasons


def _ineligible(problem: ScoringProblem) -> list[int]:
    return [
        p
        for p, proposal in enumerate(problem.proposals)
        # Most proposals list no checks: the emptiness test spares them a generator each.
        if proposal.eligibility_checks
        and not all(check.passed for check in proposal.eligibility_checks)
    ]


def _reasons(
    problem: ScoringProblem,
    p: int,
    scored: bool,
    vetoes: list[OutcomeReason],
    final: float,
    rounded: float,
) -> tuple[OutcomeReason, ...]:
    """All failed rules of one proposal, in precedence order; `rounded` is its final score
    rounded to tie_decimals."""
    reasons: list[OutcomeReason] = []
    if not scored:
        reasons.append(
            OutcomeReason(
                Outcome.NOT_SCORED,
                "no valid sheet: nobody scored it, or every judge who did was recused",
            )
        )
    for check in problem.proposals[p].eligibility_checks:
        if not check.passed:
            why = f": {check.reason}" if check.reason else ""
            reasons.append(
                OutcomeReason(
                    Outcome.INELIGIBLE,
                    f'failed eligibility check "{check.check_id}"{why}',
                    subject_id=check.check_id,
                )
            )
    pass_line = problem.policy.pass_line
    if scored:
        reasons.extend(vetoes)
        if pass_line is not None and rounded < pass_line:
            reasons.append(
                OutcomeReason(
                    Outcome.BELOW_PASS_LINE,
                    f"final score {_number(rounded)} is below the pass line {_number(pass_line)}",
                    value=float(final),
                    threshold=pass_line,
                )
            )
    return tuple(reasons)


def _vetoes(
    problem: ScoringProblem, table: SheetTable, criterion: FloatArray
) -> dict[int, list[OutcomeReason]]:
    """VETOED reasons per proposal index, by criterion order (then judge order)."""
    found: dict[int, list[OutcomeReason]] = {}
    any_judge = problem.policy.veto_rule is VetoRule.ANY_JUDGE
    for c, spec in enumerate(problem.criteria):
        floor = spec.veto_below
        if floor is None:
            continue
        if any_judge:
            for s in np.flatnonzero(table.scores[:, c] < floor).tolist():
                judge_id = table.judge_ids[table.judge[s]]
                value = float(table.scores[s, c])
                found.setdefault(int(table.proposal[s]), []).append(
                    OutcomeReason(
                        Outcome.VETOED,
                        f'judge "{judge_id}" scored criterion "{spec.criterion_id}" '
                        f"{_number(value)}, below its veto minimum {_number(floor)} (一票否决)",
                        subject_id=spec.criterion_id,
                        value=value,
                        threshold=floor,
                        judge_id=judge_id,
                    )
                )
            continue
        low = table.scored & (np.round(criterion[:, c], KEY_DECIMALS) < floor)
        for p in np.flatnonzero(low).tolist():
            value = float(criterion[p, c])
            found.setdefault(p, []).append(
                OutcomeReason(
                    Outcome.VETOED,
                    f'the panel scored criterion "{spec.criterion_id}" {_number(value)}, below '
                    f"its veto minimum {_number(floor)} (一票否决)",
                    subject_id=spec.criterion_id,
                    value=value,
                    threshold=floor,
                )
            )
    return found


def _number(value: float) -> str:
    return f"{round(float(value), 4):g}"
