"""The inline fast path: a ScoreProposals call of at most inline_max_cells runs on the server's
event loop, a larger one (or any, with the setting 0) on a solver thread, with the same answer,
the same errors, the same solver slot and the same solve timing either way."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import pytest

from service import handlers
from service.cli import read_request
from service.client import VentureClient, VentureError
from service.config import ServerConfig
from service.servicer import INLINE_MAX_BYTES, runs_inline, scoring_cells
from tests.helpers import ROOT, ServerThread, small_allocation_request, small_request
from venture.v1 import scoring_pb2

LOOP = "event loop"


def county() -> scoring_pb2.ScoreProposalsRequest:
    """The county example in the compact form: 24 proposals, 7 judges, 162 sheets of 5
    criteria, 1,000 samples; timings left out, so that answers compare byte for byte."""
    request = read_request(ROOT / "examples/score_county_compact.json")
    request.options.exclude_timings = True
    return request


def where() -> str:
    """LOOP when called on a running event loop's thread, else the thread's name."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return threading.current_thread().name
    return LOOP


def record(monkeypatch: pytest.MonkeyPatch, name: str = "score_proposals") -> list[str]:
    """Where each call of handlers.<name> runs from now on (the servicer looks it up there on
    every call)."""
    seen: list[str] = []
    original: Callable[..., Any] = getattr(handlers, name)

    def recording(*args: Any, **kwargs: Any) -> Any:
        seen.append(where())
        return original(*args, **kwargs)

    monkeypatch.setattr(handlers, name, recording)
    return seen


def on_solver_thread(place: str) -> bool:
    return place.startswith("venture-solve")


@pytest.fixture
def serve() -> Iterator[Callable[..., ServerThread]]:
    """Start servers with the given settings; all are stopped after the test."""
    started: list[ServerThread] = []

    def start(**settings: Any) -> ServerThread:
        started.append(ServerThread(ServerConfig(port=0, **settings)))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def score(server: ServerThread, request: scoring_pb2.ScoreProposalsRequest) -> bytes:
    with VentureClient(server.address, timeout_s=60) as client:
        return client.score_proposals(request).SerializeToString()


# The estimate ------------------------------------------------------------------------------


def test_the_county_example_is_hand_computed() -> None:
    # 24 proposals x (1,000 samples + 300) + 7 judges x 300 + 162 sheets x (60 + 16 x 5).
    assert scoring_cells(county()) == 24 * 1_300 + 7 * 300 + 162 * 140 == 55_980
    # The scores form counts alike: a sheet is len(criteria) scores whatever its form.
    scores_form = read_request(ROOT / "examples/score_county.json")
    assert not scores_form.sheets[0].values and scores_form.sheets[0].scores
    assert scoring_cells(scores_form) == 55_980


def test_samples_unset_count_as_the_default_and_none_still_count_the_items() -> None:
    request = small_request()  # 3 proposals, 3 judges, 9 sheets of 2 criteria, 200 samples
    sheets = 9 * (60 + 16 * 2)
    assert scoring_cells(request) == 3 * (200 + 300) + 3 * 300 + sheets == 3_228
    request.policy.rank_stability.ClearField("samples")  # unset: 1,000 samples
    assert scoring_cells(request) == 3 * (1_000 + 300) + 3 * 300 + sheets == 5_628
    request.policy.rank_stability.samples = 0  # no rank intervals: the items' own work
    assert scoring_cells(request) == 3 * 300 + 3 * 300 + sheets == 2_628
    request.policy.rank_stability.samples = -5  # invalid (refused later), never below none
    assert scoring_cells(request) == 2_628


def test_many_proposals_without_samples_do_not_look_free() -> None:
    request = scoring_pb2.ScoreProposalsRequest()
    request.policy.rank_stability.samples = 0
    for index in range(400):
        request.proposals.add(proposal_id=f"P{index}", organization_id=f"O{index}")
    assert scoring_cells(request) == 400 * 300
    assert not runs_inline(request, 100_000)


def test_inline_up_to_the_limit_never_with_zero_nor_for_a_large_message() -> None:
    request = county()
    assert runs_inline(request, 55_980)
    assert not runs_inline(request, 55_979)
    assert not runs_inline(scoring_pb2.ScoreProposalsRequest(), 0)  # 0: the fast path is off
    # One sheet of many scores: few cells, but its size is the work the cells do not count.
    padded = small_request()
    padded.sheets[0].values.extend([5.0] * (INLINE_MAX_BYTES // 8))
    assert scoring_cells(padded) == scoring_cells(small_request())
    assert padded.ByteSize() > INLINE_MAX_BYTES
    assert not runs_inline(padded, 100_000)


# Through a real server ---------------------------------------------------------------------


def test_a_small_call_runs_on_the_loop_with_the_threaded_answer_byte_for_byte(
    serve: Callable[..., ServerThread], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = record(monkeypatch)
    inline = score(serve(), county())  # the default limit (100,000 cells)
    threaded = score(serve(inline_max_cells=0), county())
    assert seen[0] == LOOP
    assert on_solver_thread(seen[1]), seen
    assert inline == threaded


@pytest.mark.parametrize(("margin", "inline"), [(0, True), (-1, False)])
def test_a_call_above_the_limit_runs_on_a_solver_thread(
    serve: Callable[..., ServerThread],
    monkeypatch: pytest.MonkeyPatch,
    margin: int,
    inline: bool,
) -> None:
    seen = record(monkeypatch)
    server = serve(inline_max_cells=scoring_cells(county()) + margin)
    score(server, county())
    assert (seen == [LOOP]) is inline and (on_solver_thread(seen[0]) is not inline), seen


def test_other_rpcs_stay_on_solver_threads(
    serve: Callable[..., ServerThread], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = record(monkeypatch, "allocate_funding")
    with VentureClient(serve().address, timeout_s=60) as client:
        assert client.allocate_funding(small_allocation_request()).HasField("result")
    assert len(seen) == 1 and on_solver_thread(seen[0]), seen


def test_an_inline_call_fails_as_a_threaded_one_does(
    serve: Callable[..., ServerThread], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = record(monkeypatch)
    request = county()
    request.sheets[3].values[1] = 11  # off the criterion's scale
    request.judges[0].judge_id = request.judges[1].judge_id  # and a duplicate judge
    errors = []
    for server in (serve(), serve(inline_max_cells=0)):
        with VentureClient(server.address) as client, pytest.raises(VentureError) as caught:
            client.score_proposals(request)
        errors.append(caught.value)
    assert seen[0] == LOOP and on_solver_thread(seen[1]), seen
    inline, threaded = errors
    assert inline.code is threaded.code is grpc.StatusCode.INVALID_ARGUMENT
    assert inline.message == threaded.message
    assert inline.violations == threaded.violations and len(inline.violations) >= 2


def test_an_inline_call_is_timed_as_a_solve(serve: Callable[..., ServerThread]) -> None:
    server = serve()
    assert server.running.metrics is not None
    registry = server.running.metrics.registry
    labels = {"method": "ScoreProposals"}
    assert registry.get_sample_value("venture_solve_seconds_count", labels) is None  # none yet
    score(server, county())
    # Observed on the loop before the answer was sent: no waiting for it.
    assert registry.get_sample_value("venture_solve_seconds_count", labels) == 1


def test_an_inline_call_needs_a_free_solver_like_any_other(
    serve: Callable[..., ServerThread], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the only solver held and no waiting place, a small call is refused at once with
    RESOURCE_EXHAUSTED, without running: inline calls count against the same bound."""
    release = threading.Event()
    original = handlers.score_proposals

    def held(request: scoring_pb2.ScoreProposalsRequest, *rest: Any) -> Any:
        if request.labels.get("hold"):
            assert release.wait(30)
        return original(request, *rest)

    monkeypatch.setattr(handlers, "score_proposals", held)
    seen = record(monkeypatch)  # recorded as the call starts, before it is held
    server = serve(workers=1, max_waiting=0)
    large = county()
    large.labels["hold"] = "yes"
    large.policy.rank_stability.samples = 10_000  # far beyond the limit: on the thread
    with ThreadPoolExecutor(max_workers=1) as pool:
        holding = pool.submit(score, server, large)
        try:
            while not seen:  # the large call holds the only solver
                assert not holding.done(), holding.result()
                threading.Event().wait(0.01)
            with VentureClient(server.address) as client, pytest.raises(VentureError) as got:
                client.score_proposals(small_request())
            assert got.value.code is grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "max_waiting" in got.value.message
        finally:
            release.set()
        assert holding.result(timeout=60)
    assert len(seen) == 1 and on_solver_thread(seen[0]), seen  # the refused call never ran
    score(server, small_request())  # the solver is free again: admitted and run inline
    assert seen[1:] == [LOOP]
