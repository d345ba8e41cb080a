"""The VentureService servicer: thin async wrappers that run each handler in a worker thread.

Every RPC of venture.v1.VentureService is live (LIVE_RPCS).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor
from functools import partial
from typing import Any, TypeAlias, TypeVar

import grpc

from scoring.cancel import Cancellation, scope
from service import handlers
from service.admission import Admission, ShuttingDown
from service.config import Limits
from service.metrics import Metrics, solve_label
from service.round.batch import run_batch
from service.round.optimize import optimize_round
from venture.v1 import (
    allocation_pb2,
    matching_pb2,
    round_pb2,
    scoring_pb2,
    venture_service_pb2_grpc,
)

Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"
Request = TypeVar("Request")
Response = TypeVar("Response")

SERVICE_NAME = "venture.v1.VentureService"
LIVE_RPCS = (
    "ScoreProposals",
    "AllocateFunding",
    "MatchNeeds",
    "MatchMentors",
    "OptimizeRound",
    "BatchOptimizeRounds",
)


def _deadline(context: Context) -> float | None:
    """The call's deadline on the time.monotonic() clock; None when the caller set none."""
    # The type stubs say float, but grpc.aio returns None for a call without a deadline.
    remaining: float | None = context.time_remaining()
    return None if remaining is None else time.monotonic() + remaining


class VentureServicer(venture_service_pb2_grpc.VentureServiceServicer):
    """Validate -> convert -> solve -> convert back, off the event loop."""

    def __init__(
        self,
        limits: Limits,
        executor: Executor,
        admission: Admission,
        metrics: Metrics | None = None,
    ) -> None:
        self._limits = limits
        self._executor = executor
        self._admission = admission
        self._metrics = metrics

    async def _run(
        self,
        handler: Callable[[Request, Limits], Response],
        request: Request,
        deadline: float | None = None,
        *,
        patient: bool = False,
    ) -> Response:
        """The handler on a solver thread, once admission control lets the call start. The time
        it holds the thread is observed (venture_solve_seconds) under the request's RPC.

        When the call is cancelled or its deadline passes, the solve is cancelled too (see
        scoring.cancel) and its solver counts as busy until the thread has really let go."""
        await self._admission.enter(deadline, patient=patient)
        cancellation = Cancellation()
        solve: Callable[[], Response] = partial(
            _in_scope, cancellation, handler, request, self._limits
        )
        if self._metrics is not None:
            solve = partial(self._metrics.timed_solve, solve_label(request), solve)
        loop = asyncio.get_running_loop()
        try:
            future = self._executor.submit(solve)
        except RuntimeError:  # the executor is shut down: the server is stopping
            self._admission.leave()
            raise ShuttingDown("server shutting down: retry on another replica") from None
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            cancellation.cancel()
            raise
        finally:
            if future.done():
                self._admission.leave()
            else:
                future.add_done_callback(partial(_leave_from_thread, loop, self._admission))

    async def ScoreProposals(
        self, request: scoring_pb2.ScoreProposalsRequest, context: Context
    ) -> scoring_pb2.ScoreProposalsResponse:
        return await self._run(handlers.score_proposals, request, _deadline(context))

    async def AllocateFunding(
        self, request: allocation_pb2.AllocateFundingRequest, context: Context
    ) -> allocation_pb2.AllocateFundingResponse:
        # The deadline is taken now, so that time queued for a worker counts against it.
        deadline = _deadline(context)
        allocate = partial(handlers.allocate_funding, deadline=deadline)
        return await self._run(allocate, request, deadline)

    async def MatchNeeds(
        self, request: matching_pb2.MatchNeedsRequest, context: Context
    ) -> matching_pb2.MatchNeedsResponse:
        deadline = _deadline(context)
        match = partial(handlers.match_needs, deadline=deadline)
        return await self._run(match, request, deadline)

    async def MatchMentors(
        self, request: matching_pb2.MatchMentorsRequest, context: Context
    ) -> matching_pb2.MatchMentorsResponse:
        deadline = _deadline(context)
        match = partial(handlers.match_mentors, deadline=deadline)
        return await self._run(match, request, deadline)

    async def OptimizeRound(
        self, request: round_pb2.OptimizeRoundRequest, context: Context
    ) -> round_pb2.OptimizeRoundResponse:
        deadline = _deadline(context)
        optimize = partial(optimize_round, deadline=deadline)
        return await self._run(optimize, request, deadline)

    async def BatchOptimizeRounds(
        self, request: round_pb2.BatchOptimizeRoundsRequest, context: Context
    ) -> AsyncIterator[round_pb2.BatchOptimizeRoundsResponse]:
        deadline = _deadline(context)
        optimize = partial(optimize_round, deadline=deadline)

        async def solve_round(
            one: round_pb2.OptimizeRoundRequest,
        ) -> round_pb2.OptimizeRoundResponse:
            # Each round is admitted like a call of its own; the batch's lanes (one per
            # worker) wait their turn rather than being refused for a full queue.
            return await self._run(optimize, one, deadline, patient=True)

        lanes = self._admission.workers
        async for answer in run_batch(request, self._limits, solve_round, lanes):
            yield answer


def _in_scope(
    cancellation: Cancellation,
    handler: Callable[[Request, Limits], Response],
    request: Request,
    limits: Limits,
) -> Response:
    """Run on the solver thread: the handler, cancellable through `cancellation`."""
    with scope(cancellation):
        return handler(request, limits)


def _leave_from_thread(loop: asyncio.AbstractEventLoop, admission: Admission, _: object) -> None:
    """A cancelled call's solve has ended: free its solver (from the solver thread)."""
    # A closed loop (the server has stopped) admits nothing any more.
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(admission.leave)
