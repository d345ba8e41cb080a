"""Domain errors map to the right gRPC codes, with every violation in the BadRequest details."""

from __future__ import annotations

import grpc

from scoring.errors import FieldViolation, InvalidProblem, Unsatisfiable
from service.status import status_for, violations_from_status


def test_invalid_problem_is_invalid_argument_with_all_violations() -> None:
    error = InvalidProblem(
        [
            FieldViolation("needs[0].min_organizations", "-1", "must be ≥ 0"),
            FieldViolation("organizations[2].capacity", "-3", "must be ≥ 0"),
        ]
    )
    failure = status_for(error)
    assert failure is not None
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.message.startswith("needs[0].min_organizations: must be ≥ 0 (got -1)")
    fields = [v.field for v in violations_from_status(failure.details)]
    assert fields == ["needs[0].min_organizations", "organizations[2].capacity"]


def test_unsatisfiable_is_failed_precondition_keeping_paths_and_counts() -> None:
    error = Unsatisfiable(
        [FieldViolation("needs", "demand 30", "needs ask for 30 organizations; capacity is 12")]
    ).under("policy")
    assert isinstance(error, Unsatisfiable)
    failure = status_for(error)
    assert failure is not None
    assert failure.code == grpc.StatusCode.FAILED_PRECONDITION
    assert failure.details.code == grpc.StatusCode.FAILED_PRECONDITION.value[0]
    (violation,) = violations_from_status(failure.details)
    assert violation.field == "policy.needs"
    assert "capacity is 12" in violation.description
