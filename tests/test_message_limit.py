"""The message-size limit: a request larger than --max-message-bytes is refused before it is
read into memory, with RESOURCE_EXHAUSTED naming the sizes, and the server goes on serving."""

from __future__ import annotations

import time
from collections.abc import Iterator

import grpc
import pytest

from service.config import Limits, ServerConfig
from tests.helpers import ServerThread, sized_request, small_request
from venture.v1 import venture_service_pb2_grpc

LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def stub() -> Iterator[venture_service_pb2_grpc.VentureServiceStub]:
    server = ServerThread(ServerConfig(port=0, limits=Limits(max_message_bytes=LIMIT)))
    with grpc.insecure_channel(server.address) as channel:
        yield venture_service_pb2_grpc.VentureServiceStub(channel)
    server.stop()


def test_a_request_over_the_message_limit_is_refused(
    stub: venture_service_pb2_grpc.VentureServiceStub,
) -> None:
    large = sized_request(300, 7, 5, 0)
    assert large.ByteSize() > LIMIT
    with pytest.raises(grpc.RpcError) as caught:
        stub.ScoreProposals(large, timeout=30)
    assert caught.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert str(LIMIT) in (caught.value.details() or "")
    assert stub.ScoreProposals(small_request(), timeout=30).result.proposals  # still serving


def test_calls_beyond_the_concurrent_limit_are_refused_before_they_are_read() -> None:
    config = ServerConfig(port=0, workers=1, max_waiting=4, max_concurrent_calls=6)
    server = ServerThread(config)
    try:
        slow = sized_request(2000, 12, 5, 10_000)  # seconds of scoring: holds the solver
        with grpc.insecure_channel(server.address) as channel:
            stub = venture_service_pb2_grpc.VentureServiceStub(channel)
            held = [stub.ScoreProposals.future(slow, timeout=60) for _ in range(5)]
            time.sleep(0.5)  # one solving, four waiting: five of the six places
            flood = [stub.ScoreProposals.future(slow, timeout=60) for _ in range(6)]
            refusals = [call.details() for call in flood if call.code() is not None]
            assert all(call.code() is grpc.StatusCode.RESOURCE_EXHAUSTED for call in flood)
            # The sixth held call finds the queue full; the rest never got in at all.
            assert sum("Concurrent RPC limit" in (text or "") for text in refusals) >= 4
            for call in held:
                call.cancel()
    finally:
        server.stop()
