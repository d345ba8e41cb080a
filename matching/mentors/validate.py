"""Cross-reference checks of a MentorMatchingProblem: ids, conflicts, counts and options.

Per-object checks ran when the dataclasses were built (levels, capacities, a mentor's duplicate
areas); this module checks how the objects refer to each other and reports every violation (up
to scoring.errors.MAX_VIOLATIONS) at once, with the request's field paths.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from matching.mentors.model import MentorMatchingProblem
from scoring.errors import Violations


def validate_problem(problem: MentorMatchingProblem) -> None:
    """Raise InvalidProblem listing every cross-reference violation; return None when valid."""
    found = Violations()
    if not problem.mentors:
        found.add_shown("mentors", "[]", "give at least one mentor to match")
    if not problem.organizations:
        found.add_shown("organizations", "[]", "give at least one organization to match")
    _check_duplicates(found, "mentors", "mentor_id", (m.mentor_id for m in problem.mentors))
    _check_duplicates(
        found,
        "organizations",
        "organization_id",
        (o.organization_id for o in problem.organizations),
    )
    _check_conflicts(problem, found)
    _check_options(problem, found)
    found.raise_if_any()


def _check_duplicates(found: Violations, path: str, name: str, ids: Iterable[str]) -> None:
    first: dict[str, int] = {}
    for k, item in enumerate(ids):
        if item in first:
            found.add(
                f"{path}[{k}].{name}",
                item,
                f"duplicate, already used by {path}[{first[item]}]; ids must be unique",
            )
        else:
            first[item] = k


def _check_conflicts(problem: MentorMatchingProblem, found: Violations) -> None:
    known = {o.organization_id for o in problem.organizations}
    for i, mentor in enumerate(problem.mentors):
        for j, org_id in enumerate(mentor.conflict_organization_ids):
            found.require(
                org_id in known,
                f"mentors[{i}].conflict_organization_ids[{j}]",
                org_id,
                "no organization in the request has this id; give the organization_id of one",
            )


def _check_options(problem: MentorMatchingProblem, found: Violations) -> None:
    found.require(problem.top_k >= 1, "options.top_k", problem.top_k, "must be at least 1")
    limit = problem.time_limit_s
    found.require(
        limit is None or (math.isfinite(limit) and limit > 0),
        "options.time_limit",
        limit,
        "must be a positive number of seconds (or unset for the default)",
    )
    found.require(problem.seed >= 0, "options.seed", problem.seed, "must not be negative")
