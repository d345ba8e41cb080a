"""Same input, same output: 100 repeats of each example request through one real server give
byte-identical responses (timings excluded, as the request asks)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import json_format
from google.protobuf.message import Message

from service.config import ServerConfig
from tests.helpers import ROOT, ServerThread
from venture.v1 import (
    allocation_pb2,
    matching_pb2,
    round_pb2,
    scoring_pb2,
    venture_service_pb2_grpc,
)

REPEATS = 100
EXAMPLES = ROOT / "examples"
CASES = (
    ("ScoreProposals", "score_county.json", scoring_pb2.ScoreProposalsRequest),
    ("AllocateFunding", "allocate_county.json", allocation_pb2.AllocateFundingRequest),
    ("MatchNeeds", "match_needs_county.json", matching_pb2.MatchNeedsRequest),
    ("MatchMentors", "match_mentors_county.json", matching_pb2.MatchMentorsRequest),
    ("OptimizeRound", "round_street.json", round_pb2.OptimizeRoundRequest),
)


@pytest.fixture(scope="module")
def stub() -> Iterator[venture_service_pb2_grpc.VentureServiceStub]:
    # Two solver threads, and the repeats sent two at a time: answers must not depend on
    # which thread solves them or what runs beside them.
    server = ServerThread(ServerConfig(port=0, workers=2))
    with grpc.insecure_channel(server.address) as channel:
        yield venture_service_pb2_grpc.VentureServiceStub(channel)
    server.stop()


def _request(path: Path, kind: type[Message]) -> Message:
    request = json_format.Parse(path.read_text(encoding="utf-8"), kind())
    request.options.exclude_timings = True  # type: ignore[attr-defined]
    return request


@pytest.mark.slow
@pytest.mark.parametrize(("rpc", "file", "kind"), CASES, ids=[c[0] for c in CASES])
def test_a_hundred_repeats_are_byte_identical(
    stub: venture_service_pb2_grpc.VentureServiceStub, rpc: str, file: str, kind: type[Message]
) -> None:
    call: Callable[..., grpc.Future] = getattr(stub, rpc).future
    request = _request(EXAMPLES / file, kind)
    answers: set[bytes] = set()
    for _ in range(REPEATS // 2):
        pair = [call(request, timeout=120), call(request, timeout=120)]
        answers.update(future.result().SerializeToString(deterministic=True) for future in pair)
    assert len(answers) == 1
