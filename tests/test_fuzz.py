"""Fuzzing every RPC of a real server with generated, mostly malformed requests
(tests/fuzz_requests.py).

Bad input never crashes the server: every call must end OK, INVALID_ARGUMENT,
FAILED_PRECONDITION or RESOURCE_EXHAUSTED, within its deadline; an INVALID_ARGUMENT (and a
FAILED_PRECONDITION) carries a google.rpc.BadRequest naming the field at fault. INTERNAL,
UNKNOWN, DEADLINE_EXCEEDED (a hang) or UNAVAILABLE (a dead server) fail the test, with the
request that caused it. After the fuzzing the server must still be serving.

The suite runs a few thousand cases, derandomized (the same cases every run). scripts/fuzz runs
many more with fresh randomness:

    VENTURE_FUZZ_EXAMPLES   cases per unary RPC (OptimizeRound gets half as many and
                            BatchOptimizeRounds a quarter: each of their cases solves rounds)
    VENTURE_FUZZ_RANDOM=1   random cases each run (failures are saved in .hypothesis/ and
                            replayed first next time) instead of the suite's fixed ones
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import json_format, text_format
from google.protobuf.message import Message
from google.rpc import code_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status
from hypothesis import HealthCheck, event, given, settings

from service.config import MIB, Limits, ServerConfig
from service.status import violations_from_status
from tests import fuzz_requests
from tests.helpers import ServerThread, small_request
from venture.v1 import round_pb2, venture_service_pb2_grpc

CALL_TIMEOUT_S = 30.0
"""Every call's deadline; running into it counts as a hang."""
DEFAULT_EXAMPLES = 800
EXAMPLES = int(os.environ.get("VENTURE_FUZZ_EXAMPLES") or DEFAULT_EXAMPLES)
RANDOM = os.environ.get("VENTURE_FUZZ_RANDOM", "") not in ("", "0")

ACCEPTED = {
    grpc.StatusCode.OK,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
}
ROUND_ERROR_CODES = {
    code_pb2.INVALID_ARGUMENT,
    code_pb2.FAILED_PRECONDITION,
    code_pb2.RESOURCE_EXHAUSTED,
}
"""Codes a round of a batch may fail with (in its RoundError; the call itself is OK)."""
CODE_NAMES = set(code_pb2.Code.values())
WITH_FIELD_VIOLATIONS = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION}
LIMITS = Limits(
    max_criteria=20,
    max_judges=50,
    max_proposals=100,
    max_sheets=2_000,
    max_bootstrap_samples=2_000,
    max_pools=10,
    max_tiers=10,
    max_score_bands=10,
    max_quotas=50,
    max_locked_decisions=100,
    max_needs=100,
    max_organizations=100,
    max_mentors=50,
    max_batch_rounds=5,
)
"""Small limits: duplicated items run into them (refused by name) and every solve stays small."""


def fuzz_settings(examples: int) -> settings:
    """Derandomized without a database in the suite; random, saving failures, in scripts/fuzz."""
    reproducible: dict[str, Any] = {} if RANDOM else {"derandomize": True, "database": None}
    return settings(
        max_examples=max(examples, 1),
        deadline=None,
        print_blob=RANDOM,
        **reproducible,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.large_base_example,
        ],
    )


@pytest.fixture(scope="module")
def fuzz_server() -> Iterator[ServerThread]:
    thread = ServerThread(ServerConfig(port=0, limits=LIMITS))
    yield thread
    thread.stop()


@pytest.fixture(scope="module")
def channel(fuzz_server: ServerThread) -> Iterator[grpc.Channel]:
    options = [
        ("grpc.max_send_message_length", 64 * MIB),
        ("grpc.max_receive_message_length", 64 * MIB),
    ]
    with grpc.insecure_channel(fuzz_server.address, options=options) as c:
        yield c


@pytest.fixture(scope="module")
def stub(channel: grpc.Channel) -> venture_service_pb2_grpc.VentureServiceStub:
    return venture_service_pb2_grpc.VentureServiceStub(channel)


def _shown(request: Message) -> str:
    """The request as proto3 JSON (what `venture score FILE` reads), or in text format when
    JSON cannot hold it (a timestamp or duration out of range)."""
    try:
        text = json_format.MessageToJson(request, indent=None, ensure_ascii=False)
    except json_format.Error:
        text = "(text format) " + text_format.MessageToString(request, as_one_line=True)
    return text if len(text) <= 8_000 else text[:8_000] + "...(cut)"


def check_failure(error: grpc.RpcError, request: Message) -> None:
    """The call failed: with an accepted code, and a field violation when it blames a field."""
    call: grpc.Call = error  # type: ignore[assignment]
    code = call.code()
    event(code.name)

    def where(problem: str = "") -> str:
        return f"{problem}{code.name}: {call.details()}\nrequest: {_shown(request)}"

    assert code in ACCEPTED, where()
    if code in WITH_FIELD_VIOLATIONS:
        status = rpc_status.from_call(call)
        assert status is not None, where("no google.rpc.Status details; ")
        violations = violations_from_status(status)
        assert any(v.field for v in violations), where("no field violation naming a field; ")


def call_unary(method: Callable[..., Any], request: Message) -> None:
    try:
        method(request, timeout=CALL_TIMEOUT_S)
    except grpc.RpcError as error:
        check_failure(error, request)
    else:
        event("OK")


@fuzz_settings(15)
@given(
    message=fuzz_requests.score_seeds()
    | fuzz_requests.allocation_seeds()
    | fuzz_requests.needs_seeds()
    | fuzz_requests.mentors_seeds()
)
def test_unmutated_seeds_are_valid(stub: Any, message: Message) -> None:
    """The fuzzing starts from valid requests, so that its mutations reach the solvers."""
    method = {
        "ScoreProposalsRequest": stub.ScoreProposals,
        "AllocateFundingRequest": stub.AllocateFunding,
        "MatchNeedsRequest": stub.MatchNeeds,
        "MatchMentorsRequest": stub.MatchMentors,
    }[message.DESCRIPTOR.name]
    response = method(message, timeout=CALL_TIMEOUT_S)
    assert not response.validation_errors


@fuzz_settings(EXAMPLES)
@given(message=fuzz_requests.score_requests)
def test_score_proposals(stub: Any, message: Message) -> None:
    call_unary(stub.ScoreProposals, message)


@fuzz_settings(EXAMPLES)
@given(message=fuzz_requests.allocation_requests)
def test_allocate_funding(stub: Any, message: Message) -> None:
    call_unary(stub.AllocateFunding, message)


@fuzz_settings(EXAMPLES)
@given(message=fuzz_requests.needs_requests)
def test_match_needs(stub: Any, message: Message) -> None:
    call_unary(stub.MatchNeeds, message)


@fuzz_settings(EXAMPLES)
@given(message=fuzz_requests.mentors_requests)
def test_match_mentors(stub: Any, message: Message) -> None:
    call_unary(stub.MatchMentors, message)


@fuzz_settings(EXAMPLES // 2)
@given(message=fuzz_requests.round_requests)
def test_optimize_round(stub: Any, message: Message) -> None:
    call_unary(stub.OptimizeRound, message)


@fuzz_settings(EXAMPLES // 4)
@given(message=fuzz_requests.batch_requests)
def test_batch_optimize_rounds(stub: Any, message: round_pb2.BatchOptimizeRoundsRequest) -> None:
    try:
        answers = list(stub.BatchOptimizeRounds(message, timeout=CALL_TIMEOUT_S))
    except grpc.RpcError as error:
        check_failure(error, message)
        return
    event("OK")
    indices = sorted(a.round_index for a in answers)
    assert indices == list(range(len(message.rounds))), f"answers {indices}; {_shown(message)}"
    for answer in answers:
        if answer.WhichOneof("outcome") != "error":
            event("round OK")
            continue
        error = answer.error
        code = code_pb2.Code.Name(error.code) if error.code in CODE_NAMES else str(error.code)
        event(f"round {code}")
        named = any(v.field for v in error.field_violations)
        if error.code not in ROUND_ERROR_CODES or (
            error.code != code_pb2.RESOURCE_EXHAUSTED and not named
        ):
            pytest.fail(
                f"round {answer.round_index}: {code} {error.message}; "
                f"field violations {[v.field for v in error.field_violations]}\n"
                f"request: {_shown(message)}"
            )


def test_server_still_serves_after_the_fuzzing(channel: grpc.Channel, stub: Any) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", "venture.v1.VentureService"):
        answer = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
        assert answer.status == health_pb2.HealthCheckResponse.SERVING
    response = stub.ScoreProposals(small_request(), timeout=CALL_TIMEOUT_S)
    assert [p.proposal_id for p in response.result.proposals] == ["P1", "P2", "P3"]
