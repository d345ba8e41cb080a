"""Overload against a real server on 127.0.0.1:0 with one solver and room for one waiting call:
a call beyond that is refused at once with RESOURCE_EXHAUSTED, a call that could only time out
in the queue is refused before its deadline, and the server recovers as the solves finish."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import grpc
import pytest
from google.protobuf import json_format

from service.admission import Admission, ShuttingDown
from service.client import VentureClient, VentureError
from service.config import Limits, ServerConfig
from service.servicer import VentureServicer
from service.status import status_for
from tests.helpers import ROOT, ServerThread, sized_request, small_request
from venture.v1 import round_pb2, venture_service_pb2_grpc

SLOW = sized_request(2000, 12, 5, 10_000)
"""About two seconds of scoring here (2,000 proposals, 10,000 bootstrap samples)."""


@pytest.fixture
def busy_server() -> Iterator[ServerThread]:
    thread = ServerThread(ServerConfig(port=0, workers=1, max_waiting=1, limits=Limits()))
    yield thread
    thread.stop()


def _start_slow(pool: ThreadPoolExecutor, address: str) -> Future[object]:
    def call() -> object:
        with VentureClient(address) as client:
            return client.score_proposals(SLOW)

    return pool.submit(call)


def test_overload_refuses_fast_and_recovers(busy_server: ServerThread) -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        running = _start_slow(pool, busy_server.address)
        time.sleep(0.3)  # the first call holds the only solver
        waiting = _start_slow(pool, busy_server.address)
        time.sleep(0.3)  # the second waits for it: the queue is full
        with VentureClient(busy_server.address) as client:
            started = time.monotonic()
            with pytest.raises(VentureError) as caught:
                client.score_proposals(small_request())
            refused_in = time.monotonic() - started
        assert caught.value.code is grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "max_waiting" in caught.value.message
        assert refused_in < 0.5  # at once, not after the running solves
        assert running.result(timeout=60) and waiting.result(timeout=60)
    with VentureClient(busy_server.address) as client:  # recovered
        assert client.score_proposals(small_request()).result.proposals


def test_a_call_that_would_time_out_in_the_queue_is_refused_before_its_deadline(
    busy_server: ServerThread,
) -> None:
    with ThreadPoolExecutor(max_workers=1) as pool:
        running = _start_slow(pool, busy_server.address)
        time.sleep(0.3)
        with VentureClient(busy_server.address) as client:
            started = time.monotonic()
            with pytest.raises(VentureError) as caught:
                client.score_proposals(small_request(), timeout_s=0.8)
            refused_in = time.monotonic() - started
        assert caught.value.code is grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "deadline" in caught.value.message
        assert refused_in < 0.8  # before the caller's own deadline
        assert running.result(timeout=60)


def test_a_batch_s_rounds_take_solvers_like_calls(busy_server: ServerThread) -> None:
    """With the only solver on a batch's round and the one waiting place taken, an interactive
    call is refused: the batch's rounds are counted, not run beside the server's limits."""
    rounds = round_pb2.BatchOptimizeRoundsRequest()
    city = json_format.Parse(  # about a second and a half each: long enough to look inside
        (ROOT / "examples/round_city.json").read_text(encoding="utf-8"),
        round_pb2.OptimizeRoundRequest(),
    )
    for index in range(2):
        rounds.rounds.append(city).round_id = f"R{index}"
    with grpc.insecure_channel(busy_server.address) as channel:
        stub = venture_service_pb2_grpc.VentureServiceStub(channel)
        stream = stub.BatchOptimizeRounds(rounds, timeout=120)
        first = next(stream)  # the lane has gone on to the next round
        with ThreadPoolExecutor(max_workers=1) as pool:
            waiting = _start_slow(pool, busy_server.address)
            time.sleep(0.3)
            with pytest.raises(grpc.RpcError) as caught:
                stub.ScoreProposals(small_request(), timeout=30)
            assert caught.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
            rest = list(stream)
            assert waiting.result(timeout=60)
    answers = [first, *rest]
    assert sorted(a.round_index for a in answers) == [0, 1]
    assert all(a.HasField("result") for a in answers)


def test_a_call_admitted_as_the_solvers_stop_is_unavailable_and_frees_its_slot() -> None:
    executor = ThreadPoolExecutor(max_workers=1)
    executor.shutdown()

    async def call_twice() -> list[str]:
        admission = Admission(workers=1, max_waiting=0)
        servicer = VentureServicer(Limits(), executor, admission)
        refusals = []
        for _ in range(2):  # the second is admitted too: the first gave its slot back
            with pytest.raises(ShuttingDown) as refused:
                await servicer.ScoreProposals(small_request(), _NoDeadline())  # type: ignore[arg-type]
            refusals.append(str(refused.value))
        return refusals

    assert asyncio.run(call_twice()) == ["server shutting down: retry on another replica"] * 2
    failure = status_for(ShuttingDown("stopping"))
    assert failure is not None
    assert failure.code == grpc.StatusCode.UNAVAILABLE


class _NoDeadline:
    """The one part of a servicer context ScoreProposals reads."""

    def time_remaining(self) -> None:
        return None
