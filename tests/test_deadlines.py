"""Deadlines and cancellation: a solve ends before the call's deadline with its best answer, and
a cancelled call (or one whose deadline passed) frees its solver promptly."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator

import grpc
import pytest
from ortools.sat.python import cp_model

from bench.allocation.instances import CASES as ALLOCATION_CASES
from bench.allocation.instances import make_problem as allocation_problem
from bench.matching.instances import CASES as NEEDS_CASES
from bench.matching.instances import make_problem as needs_problem
from matching.allocation.model import Objective
from matching.needs.model import MatchObjective
from scoring.cancel import Cancellation, Cancelled, checkpoint, scope, stop_with
from service.config import ServerConfig
from service.convert.allocation import problem_to_pb as allocation_to_pb
from service.convert.needs import problem_to_pb as needs_to_pb
from tests.helpers import ServerThread, small_request
from venture.v1 import allocation_pb2, common_pb2, matching_pb2, venture_service_pb2_grpc

pytestmark = pytest.mark.slow


# --- the cancellation token ------------------------------------------------------------------


def test_checkpoint_is_a_no_op_outside_a_scope() -> None:
    checkpoint()  # nothing installed: library callers and tests need nothing


def test_checkpoint_raises_once_the_call_is_cancelled() -> None:
    cancellation = Cancellation()
    with scope(cancellation):
        checkpoint()
        cancellation.cancel()
        with pytest.raises(Cancelled):
            checkpoint()
    checkpoint()  # the scope is gone with its block


def test_stop_with_never_starts_a_solver_for_a_cancelled_call() -> None:
    ran: list[str] = []
    cancellation = Cancellation()
    cancellation.cancel()
    with scope(cancellation), pytest.raises(Cancelled), stop_with(lambda: ran.append("stop")):
        ran.append("solved")
    assert ran == []


def test_stop_with_stops_the_solver_when_cancelled_during_it_and_raises_after() -> None:
    ran: list[str] = []
    cancellation = Cancellation()
    with scope(cancellation), pytest.raises(Cancelled), stop_with(lambda: ran.append("stop")):
        cancellation.cancel()
        ran.append("returned")
    # The stop may be repeated (see the next test) until the block has returned.
    assert ran[0] == "stop"
    assert ran.count("returned") == 1
    assert set(ran) == {"stop", "returned"}


class _LateSolver:
    """Forgets a stop that comes before its search has started, as CP-SAT does."""

    def __init__(self) -> None:
        self.searching = False
        self.stopped = threading.Event()

    def stop_search(self) -> None:
        if self.searching:
            self.stopped.set()

    def solve(self) -> bool:
        """Search until stopped (True), or give up after 10 s (False)."""
        self.searching = True
        return self.stopped.wait(timeout=10)


def test_a_stop_that_came_before_the_search_started_is_repeated_until_it_holds() -> None:
    solver = _LateSolver()
    cancellation = Cancellation()
    stopped = False
    started = time.monotonic()
    with scope(cancellation), pytest.raises(Cancelled), stop_with(solver.stop_search):
        cancellation.cancel()  # the search has not started: this stop is lost
        stopped = solver.solve()
    assert stopped
    assert time.monotonic() - started < 5.0


def _pigeonhole(holes: int) -> cp_model.CpModel:
    """holes + 1 pigeons in `holes` holes: infeasible, and slow to prove by search alone."""
    model = cp_model.CpModel()
    x = [[model.new_bool_var(f"x{p}_{h}") for h in range(holes)] for p in range(holes + 1)]
    for row in x:
        model.add_exactly_one(row)
    for h in range(holes):
        model.add_at_most_one(row[h] for row in x)
    return model


def test_cancel_from_another_thread_stops_a_cp_sat_search_at_once() -> None:
    model = _pigeonhole(12)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = 60
    # Without its symmetry and LP reasoning, CP-SAT needs exponential time for pigeonhole.
    solver.parameters.linearization_level = 0
    solver.parameters.symmetry_level = 0
    solver.parameters.cp_model_presolve = False
    cancellation = Cancellation()
    threading.Timer(0.3, cancellation.cancel).start()
    started = time.monotonic()
    with scope(cancellation), pytest.raises(Cancelled), stop_with(solver.stop_search):
        solver.solve(model)
    assert time.monotonic() - started < 2.0


# --- through a real server -------------------------------------------------------------------


@pytest.fixture(scope="module")
def one_solver() -> Iterator[ServerThread]:
    """One solver thread, so a solve that is not stopped blocks the next call."""
    thread = ServerThread(ServerConfig(port=0, workers=1, max_waiting=4))
    yield thread
    thread.stop()


@pytest.fixture
def stub(one_solver: ServerThread) -> Iterator[venture_service_pb2_grpc.VentureServiceStub]:
    with grpc.insecure_channel(one_solver.address) as channel:
        yield venture_service_pb2_grpc.VentureServiceStub(channel)


def _rank_order_round(case: str) -> allocation_pb2.AllocateFundingRequest:
    """A large allocation in rank order: proving it takes about a minute at n5000."""
    problem = allocation_problem(ALLOCATION_CASES[case])
    rules = dataclasses.replace(problem.rules, objective=Objective.RANK_ORDER)
    request = allocation_to_pb(dataclasses.replace(problem, rules=rules))
    request.options.ClearField("time_limit")  # only the call's deadline limits it
    return request


def _fair_matching() -> matching_pb2.MatchNeedsRequest:
    """500 needs x 250 organizations matched fairly: CP-SAT runs to its time limit."""
    problem = needs_problem(NEEDS_CASES["n500"])
    policy = dataclasses.replace(problem.policy, objective=MatchObjective.FAIR)
    return needs_to_pb(dataclasses.replace(problem, policy=policy, time_limit_s=60.0))


def _time_to_answer_small_call(stub: venture_service_pb2_grpc.VentureServiceStub) -> float:
    started = time.monotonic()
    stub.ScoreProposals(small_request(), timeout=30)
    return time.monotonic() - started


def test_a_large_allocation_answers_before_its_deadline_with_its_best(
    stub: venture_service_pb2_grpc.VentureServiceStub,
) -> None:
    request = _rank_order_round("n5000")
    deadline_s = 4.0
    started = time.monotonic()
    response = stub.AllocateFunding(request, timeout=deadline_s)
    elapsed = time.monotonic() - started
    assert elapsed < deadline_s
    summary = response.result.summary
    assert summary.status == common_pb2.SOLVE_STATUS_FEASIBLE
    assert response.result.awards  # the best legal allocation found, not an empty answer
    assert any(n.code == "TIME_LIMIT_REACHED" for n in response.result.notices)


def test_a_cancelled_call_frees_its_solver_promptly(
    stub: venture_service_pb2_grpc.VentureServiceStub,
) -> None:
    call = stub.MatchNeeds.future(_fair_matching(), timeout=120)
    time.sleep(2.0)  # well into the CP-SAT search (the request alone takes ~0.5 s to convert)
    assert not call.done()
    call.cancel()
    # With one solver thread, the small call can only run once the cancelled solve let go.
    assert _time_to_answer_small_call(stub) < 2.0


def test_a_call_past_its_deadline_frees_its_solver_promptly(
    stub: venture_service_pb2_grpc.VentureServiceStub,
) -> None:
    # Converting this request alone takes longer than the deadline, so the call usually ends
    # DEADLINE_EXCEEDED while the server is still working on it; a fast machine may answer
    # in time instead (time limit cut to the deadline). Either way the solver must be free.
    try:
        stub.MatchNeeds(_fair_matching(), timeout=0.3)
    except grpc.RpcError as failure:
        assert failure.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    assert _time_to_answer_small_call(stub) < 2.0


def test_a_cancelled_allocation_frees_its_solver_at_its_next_solver_call(
    stub: venture_service_pb2_grpc.VentureServiceStub,
) -> None:
    call = stub.AllocateFunding.future(_rank_order_round("n5000"), timeout=120)
    time.sleep(1.5)
    assert not call.done()
    call.cancel()
    # HiGHS cannot be interrupted mid-solve: the allocation stops at its next checkpoint, after
    # the MILP in progress (at most about a second and a half on this round).
    assert _time_to_answer_small_call(stub) < 4.0
