"""A small set of rules that cannot all hold, when no allocation obeys every rule.

Each hard rule (the budget, each pool, the organization limit, each quota, each region's
coverage, each locked approval) gets one CP-SAT enforcement literal; soft quotas cannot conflict
and are left out. Solving under the assumption that all hold yields an infeasible subset
(CP-SAT's sufficient assumptions); a deletion pass then drops every rule the conflict does not
need, so what remains is irreducible: remove any one rule and the others can hold together. If
time runs out first, the subset found so far is returned and the message says so.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from ortools.sat.python import cp_model

from matching.allocation.formulation import Formulation, Row, Sense
from matching.allocation.model import RuleConflict
from matching.seeds import cp_sat_seed
from scoring.cancel import stop_with

STEP_LIMIT_S = 2.0
"""Longest single feasibility check while minimising."""
ORGANIZATION_RULE = "rules.max_grants_per_organization"


class _RuleModel:
    """Every pair as a CP-SAT variable, every hard rule behind its own literal."""

    def __init__(self, form: Formulation) -> None:
        self.form = form
        self.model = cp_model.CpModel()
        self.literal: dict[str, cp_model.IntVar] = {}
        g = form.money_gcd
        steps = form.steps()
        self.y = [self.model.new_bool_var(f"y{j}") for j in range(form.pairs)]
        self.money: list[cp_model.LinearExprT] = []
        for j in range(form.pairs):
            base = int(form.lo[j]) // g
            if steps[j] > 0:
                k = self.model.new_int_var(0, int(steps[j]), f"k{j}")
                self.model.add(k <= int(steps[j]) * self.y[j])
                self.money.append(base * self.y[j] + (form.unit // g) * k)
            else:
                self.money.append(base * self.y[j])
        for c, pairs in enumerate(form.candidate_pairs):
            chosen = _sum(self.y[int(j)] for j in pairs)
            self.model.add(chosen <= 1)
            if form.approved[c]:
                rule = form.prepared.candidates[c].lock_rule
                self.model.add(chosen >= 1).only_enforce_if(self._literal(rule))
        for row in form.rows:
            if not (form.soft and row.soft):
                self._add(row)

    def _literal(self, rule: str) -> cp_model.IntVar:
        if rule not in self.literal:
            self.literal[rule] = self.model.new_bool_var(rule)
        return self.literal[rule]

    def _add(self, row: Row) -> None:
        g = self.form.money_gcd
        terms = [self.money[int(j)] if row.money else self.y[int(j)] for j in row.pairs]
        lhs = _sum(terms)
        rhs = row.rhs
        if row.money:
            rhs = rhs // g if row.sense is Sense.AT_MOST else -(-rhs // g)
        literal = self._literal(row.rule)
        if not terms:
            if (rhs <= 0) if row.sense is Sense.AT_LEAST else (rhs >= 0):
                return
            self.model.add_bool_or([~literal])  # this rule alone cannot hold
            return
        bound = lhs >= rhs if row.sense is Sense.AT_LEAST else lhs <= rhs
        self.model.add(bound).only_enforce_if(literal)

    def infeasible_under(self, rules: list[str], limit_s: float, seed: int) -> bool | None:
        """True: these rules cannot all hold; False: they can; None: undecided in time."""
        self.model.clear_assumptions()
        self.model.add_assumptions([self.literal[r] for r in rules])
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.random_seed = cp_sat_seed(seed)
        solver.parameters.max_time_in_seconds = max(limit_s, 0.001)
        with stop_with(solver.stop_search):
            status = solver.solve(self.model)
        self.last_core = [
            r
            for r in rules
            if status == cp_model.INFEASIBLE
            and self.literal[r].index in set(solver.sufficient_assumptions_for_infeasibility())
        ]
        if status == cp_model.INFEASIBLE:
            return True
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return False
        return None


def find_conflict(form: Formulation, deadline: float, seed: int) -> RuleConflict | None:
    """An irreducible set of conflicting rules, named by field path and described; None when
    the rules can all hold after all, or when nothing was decided in time."""
    model = _RuleModel(form)
    names = sorted(model.literal)
    if not names or not model.infeasible_under(names, deadline - time.monotonic(), seed):
        return None
    conflict = model.last_core or names
    minimal = True
    for rule in list(conflict):
        trial = [r for r in conflict if r != rule]
        limit = min(STEP_LIMIT_S, deadline - time.monotonic())
        answer = model.infeasible_under(trial, limit, seed) if trial and limit > 0 else None
        if not trial:
            answer = False
        if answer is None:
            minimal = False
            break
        if answer:
            conflict = trial
    note = "" if minimal else " (time ran out before this set was made minimal)"
    return RuleConflict(
        tuple(conflict),
        f"no allocation obeys all of these rules together{note}: {describe(form, conflict)}",
    )


def describe(form: Formulation, rules: Iterable[str]) -> str:
    """The rules in words, for the conflict's message."""
    found: list[str] = []
    limit = form.problem.rules.max_grants_per_organization
    for rule in rules:
        texts = [row.text for row in form.rows if row.rule == rule]
        if rule.startswith("rules.locked_decisions["):
            index = next(c.index for c in form.prepared.candidates if c.lock_rule == rule)
            texts = [f'"{form.problem.proposals[index].proposal_id}" is locked as approved']
        if rule == ORGANIZATION_RULE:
            texts = [f"at most {limit} grant(s) per organization"]
        found.append(f"{rule} ({', '.join(dict.fromkeys(texts))})")
    return "; ".join(found)


def _sum(terms: Iterable[cp_model.LinearExprT]) -> cp_model.LinearExprT:
    items = list(terms)
    return cp_model.LinearExpr.sum(items) if items else 0
