"""A small typed client for other systems:

    from service.client import VentureClient, VentureError
    with VentureClient("127.0.0.1:50051") as client:
        response = client.score_proposals(request)      # a ScoreProposalsRequest
        funded = client.allocate_funding(allocation)     # an AllocateFundingRequest

Errors arrive as VentureError with the status code and every field violation the server sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status

from service.config import MIB
from service.status import violations_from_status
from venture.v1 import (
    allocation_pb2,
    matching_pb2,
    round_pb2,
    scoring_pb2,
    venture_service_pb2_grpc,
)

DEFAULT_ADDRESS = "127.0.0.1:50051"
Response = TypeVar("Response")


@dataclass(frozen=True, slots=True)
class Violation:
    """One field the server rejected: its path and what is wrong (with the value)."""

    field: str
    description: str


class VentureError(Exception):
    """A call failed: the gRPC code, the server's message, and any field violations."""

    def __init__(
        self, code: grpc.StatusCode, message: str, violations: tuple[Violation, ...]
    ) -> None:
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message
        self.violations = violations


def _error(error: grpc.RpcError) -> VentureError:
    call: grpc.Call = error  # type: ignore[assignment]
    status = rpc_status.from_call(call)
    violations = (
        tuple(Violation(v.field, v.description) for v in violations_from_status(status))
        if status is not None
        else ()
    )
    return VentureError(call.code(), call.details() or "", violations)


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """PEM files a TLS client uses: the CA that signed the server's certificate (None: the
    system's roots) and, for mutual TLS, its own certificate chain and key."""

    ca: Path | None = None
    cert: Path | None = None
    key: Path | None = None

    def credentials(self) -> grpc.ChannelCredentials:
        def read(path: Path | None) -> bytes | None:
            return path.read_bytes() if path is not None else None

        return grpc.ssl_channel_credentials(
            root_certificates=read(self.ca),
            private_key=read(self.key),
            certificate_chain=read(self.cert),
        )


class VentureClient:
    """Blocking client for VentureService; one channel, reused across calls."""

    def __init__(
        self,
        address: str = DEFAULT_ADDRESS,
        *,
        timeout_s: float = 120.0,
        max_message_bytes: int = 64 * MIB,
        token: str | None = None,
        tls: TlsFiles | None = None,
    ) -> None:
        """`token`: the bearer token a server with authentication on expects (never logged);
        `tls`: connect with TLS (and a client certificate, for mutual TLS)."""
        self.address = address
        self.timeout_s = timeout_s
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()
        options = [
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes),
        ]
        if tls is None:
            self._channel = grpc.insecure_channel(address, options=options)
        else:
            self._channel = grpc.secure_channel(address, tls.credentials(), options=options)
        self._stub = venture_service_pb2_grpc.VentureServiceStub(self._channel)
        self._health = health_pb2_grpc.HealthStub(self._channel)

    def __enter__(self) -> VentureClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def wait_ready(self, timeout_s: float = 10.0) -> None:
        """Block until the channel connects; raises VentureError(UNAVAILABLE) on timeout."""
        try:
            grpc.channel_ready_future(self._channel).result(timeout=timeout_s)
        except grpc.FutureTimeoutError:
            raise VentureError(
                grpc.StatusCode.UNAVAILABLE, f"no server at {self.address} after {timeout_s}s", ()
            ) from None

    def health(self, service: str = "") -> str:
        """The server's health status name for `service` ("" = the whole server): SERVING, ..."""
        try:
            reply = self._health.Check(
                health_pb2.HealthCheckRequest(service=service), timeout=self.timeout_s
            )
        except grpc.RpcError as error:
            raise _error(error) from None
        return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))

    def _unary(
        self, method: Callable[..., Response], request: object, timeout_s: float | None
    ) -> Response:
        try:
            return method(request, timeout=timeout_s or self.timeout_s, metadata=self._metadata)
        except grpc.RpcError as error:
            raise _error(error) from None

    def score_proposals(
        self, request: scoring_pb2.ScoreProposalsRequest, *, timeout_s: float | None = None
    ) -> scoring_pb2.ScoreProposalsResponse:
        """Rank proposals; raises VentureError (INVALID_ARGUMENT lists every bad field)."""
        return self._unary(self._stub.ScoreProposals, request, timeout_s)

    def allocate_funding(
        self, request: allocation_pb2.AllocateFundingRequest, *, timeout_s: float | None = None
    ) -> allocation_pb2.AllocateFundingResponse:
        """Allocate the budget; raises VentureError (INVALID_ARGUMENT lists every bad field)."""
        return self._unary(self._stub.AllocateFunding, request, timeout_s)

    def match_needs(
        self, request: matching_pb2.MatchNeedsRequest, *, timeout_s: float | None = None
    ) -> matching_pb2.MatchNeedsResponse:
        """Match organizations to needs; raises VentureError (INVALID_ARGUMENT lists every bad
        field; FAILED_PRECONDITION names the needs and counts that make the rules impossible)."""
        return self._unary(self._stub.MatchNeeds, request, timeout_s)

    def match_mentors(
        self, request: matching_pb2.MatchMentorsRequest, *, timeout_s: float | None = None
    ) -> matching_pb2.MatchMentorsResponse:
        """Match mentors to organizations' weak areas; raises VentureError."""
        return self._unary(self._stub.MatchMentors, request, timeout_s)

    def optimize_round(
        self, request: round_pb2.OptimizeRoundRequest, *, timeout_s: float | None = None
    ) -> round_pb2.OptimizeRoundResponse:
        """A whole round: scored, allocated, matched; raises VentureError."""
        return self._unary(self._stub.OptimizeRound, request, timeout_s)

    def batch_optimize_rounds(
        self, request: round_pb2.BatchOptimizeRoundsRequest, *, timeout_s: float | None = None
    ) -> BatchStream:
        """Many rounds; iterate the returned stream for each round's answer as it finishes,
        `.cancel()` it to stop the rest. Errors while iterating raise VentureError."""
        call = self._stub.BatchOptimizeRounds(
            request, timeout=timeout_s or self.timeout_s, metadata=self._metadata
        )
        return BatchStream(call)


class BatchStream:
    """The answers of a BatchOptimizeRounds call, in the order the rounds finish."""

    def __init__(self, call: Any) -> None:
        self._call = call

    def __iter__(self) -> Iterator[round_pb2.BatchOptimizeRoundsResponse]:
        try:
            yield from self._call
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.CANCELLED and self._call.cancelled():
                return
            raise _error(error) from None

    def cancel(self) -> None:
        self._call.cancel()
