"""Domain errors to gRPC status with rich details (google.rpc.Status + BadRequest).

The server's interceptor calls `status_for` on every exception a handler raises; the
client calls `violations_from_status` to read the details back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from scoring.errors import MAX_VIOLATIONS, FieldViolation, InvalidProblem, Unsatisfiable
from service.admission import Overloaded, ShuttingDown

DETAILS_KEY = "grpc-status-details-bin"


@dataclass(frozen=True, slots=True)
class RpcFailure:
    """The status a handler's exception maps to."""

    code: grpc.StatusCode
    message: str
    details: status_pb2.Status

    @property
    def trailing_metadata(self) -> tuple[tuple[str, bytes], ...]:
        return ((DETAILS_KEY, self.details.SerializeToString()),)


def bad_request(violations: Iterable[FieldViolation]) -> error_details_pb2.BadRequest:
    """BadRequest whose descriptions carry the offending value, which the proto has no field for."""
    request = error_details_pb2.BadRequest()
    for v in violations:
        request.field_violations.add(field=v.field, description=f"{v.description} (got {v.value})")
    return request


def invalid_argument(error: InvalidProblem) -> RpcFailure:
    """INVALID_ARGUMENT (FAILED_PRECONDITION for Unsatisfiable) with BadRequest details."""
    unsatisfiable = isinstance(error, Unsatisfiable)
    violations = error.violations
    first = violations[0]
    more = len(violations) - 1
    message = f"{first.field}: {first.description} (got {first.value})"
    if more:
        message += f"; and {more} more field violation{'s' if more > 1 else ''} in the details"
    if error.truncated:
        message += f" (listing stops at {MAX_VIOLATIONS}; fix these to see the rest)"
    detail = any_pb2.Any()
    detail.Pack(bad_request(violations))
    code = code_pb2.FAILED_PRECONDITION if unsatisfiable else code_pb2.INVALID_ARGUMENT
    grpc_code = (
        grpc.StatusCode.FAILED_PRECONDITION if unsatisfiable else grpc.StatusCode.INVALID_ARGUMENT
    )
    status = status_pb2.Status(code=code, message=message, details=[detail])
    return RpcFailure(grpc_code, message, status)


def status_for(exc: BaseException) -> RpcFailure | None:
    """The status for a known domain error; None for anything unexpected (a bug: INTERNAL)."""
    if isinstance(exc, InvalidProblem):
        return invalid_argument(exc)
    if isinstance(exc, Overloaded):
        message = str(exc)
        status = status_pb2.Status(code=code_pb2.RESOURCE_EXHAUSTED, message=message)
        return RpcFailure(grpc.StatusCode.RESOURCE_EXHAUSTED, message, status)
    if isinstance(exc, ShuttingDown):
        message = str(exc)
        status = status_pb2.Status(code=code_pb2.UNAVAILABLE, message=message)
        return RpcFailure(grpc.StatusCode.UNAVAILABLE, message, status)
    return None


def violations_from_status(
    status: status_pb2.Status,
) -> list[error_details_pb2.BadRequest.FieldViolation]:
    """Every BadRequest field violation packed in a rich status."""
    found: list[error_details_pb2.BadRequest.FieldViolation] = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            request = error_details_pb2.BadRequest()
            detail.Unpack(request)
            found.extend(request.field_violations)
    return found
