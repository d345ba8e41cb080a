"""The VentureService servicer: thin async wrappers that run each handler in a worker thread, or,
for a ScoreProposals call small enough to take a few milliseconds, on the event loop itself
(see runs_inline).

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
from scoring.model import DEFAULT_BOOTSTRAP_SAMPLES
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


# The work of a ScoreProposals call, in cells: one cell is one bootstrap sample of one proposal,
# about 0.05 us of handler CPU. The other items' own work, measured in the same unit:
PROPOSAL_CELLS = 300
"""A proposal's conversion, outcome and explanation: about 15 us."""
JUDGE_CELLS = 300
"""A judge's conversion and report: about 12 us."""
SHEET_CELLS = 60
"""A sheet's conversion and checks, besides its scores: about 2.6 us..."""
SCORE_CELLS = 16
"""...and each of its scores: about 0.6 us in the scores form (the compact form's are faster)."""
INLINE_MAX_BYTES = 64 * 1024
"""A larger request never runs inline, whatever its cells: its size bounds the work in the
lists the cells do not count (a sheet's scores beyond the rubric, a judge's assignments)."""


def scoring_cells(request: scoring_pb2.ScoreProposalsRequest) -> int:
    """The estimated work of a ScoreProposals call, in cells (see PROPOSAL_CELLS), which decides
    whether it runs on the event loop (runs_inline). Read from the lists' lengths alone, so that
    deciding costs nothing there.

    The bootstrap (proposals x samples) dominates a round with rank intervals, but every
    proposal, judge, sheet and score has work of its own: without those terms a round with
    samples 0, or a panel of thousands of judges, would look free whatever its size. A sheet
    counts len(criteria) scores whatever its form.

    The county example (24 proposals, 7 judges, 162 sheets of 5 criteria, 1,000 samples) is
    24 x 1,300 + 7 x 300 + 162 x 140 = 55,980 cells, about 3 ms: short enough to hold the loop
    for, and the hop to a thread and back would add a sixth to its CPU cost (4.0 ms of server
    CPU per call inline, 4.6 ms threaded, in a load test), so it runs inline. A city round of 90
    proposals and 630 sheets is over 200,000 cells, 10-20 ms: long enough to hold up every
    other call on the loop, so it stays on a solver thread."""
    stability = request.policy.rank_stability
    samples = stability.samples if stability.HasField("samples") else DEFAULT_BOOTSTRAP_SAMPLES
    return (
        len(request.proposals) * (max(samples, 0) + PROPOSAL_CELLS)
        + len(request.judges) * JUDGE_CELLS
        + len(request.sheets) * (SHEET_CELLS + SCORE_CELLS * len(request.criteria))
    )


def runs_inline(request: scoring_pb2.ScoreProposalsRequest, max_cells: int) -> bool:
    """Whether a ScoreProposals call runs on the event loop: at most `max_cells` cells (0: never)
    and at most INLINE_MAX_BYTES (sized last: sizing reads the whole request)."""
    return (
        max_cells > 0
        and scoring_cells(request) <= max_cells
        and request.ByteSize() <= INLINE_MAX_BYTES
    )


def _deadline(context: Context) -> float | None:
    """The call's deadline on the time.monotonic() clock; None when the caller set none."""
    # The type stubs say float, but grpc.aio returns None for a call without a deadline.
    remaining: float | None = context.time_remaining()
    return None if remaining is None else time.monotonic() + remaining


class VentureServicer(venture_service_pb2_grpc.VentureServiceServicer):
    """Validate -> convert -> solve -> convert back, off the event loop (but for small
    ScoreProposals calls: see runs_inline)."""

    def __init__(
        self,
        limits: Limits,
        executor: Executor,
        admission: Admission,
        metrics: Metrics | None = None,
        *,
        inline_max_cells: int = 0,
    ) -> None:
        """inline_max_cells: ScoreProposals calls of at most this many cells run on the event
        loop (ServerConfig.inline_max_cells); 0, the default here: every call on a thread."""
        self._limits = limits
        self._executor = executor
        self._admission = admission
        self._metrics = metrics
        self._inline_max_cells = inline_max_cells

    async def _run(
        self,
        handler: Callable[[Request, Limits], Response],
        request: Request,
        deadline: float | None = None,
        *,
        patient: bool = False,
        inline: bool = False,
    ) -> Response:
        """The handler on a solver thread, once admission control lets the call start. The time
        it holds the thread is observed (venture_solve_seconds) under the request's RPC.

        When the call is cancelled or its deadline passes, the solve is cancelled too (see
        scoring.cancel) and its solver counts as busy until the thread has really let go.

        inline: run the handler here, on the event loop, for a solve of a few milliseconds
        (runs_inline), where the hop to a thread and back would cost more than it saves. It is
        admitted, scoped, timed and raises just as on a thread, but cannot be cancelled midway:
        nothing else runs on the loop until it returns."""
        await self._admission.enter(deadline, patient=patient)
        cancellation = Cancellation()
        solve: Callable[[], Response] = partial(
            _in_scope, cancellation, handler, request, self._limits
        )
        if self._metrics is not None:
            solve = partial(self._metrics.timed_solve, solve_label(request), solve)
        if inline:
            # It takes a solver slot all the same, so the workers bound and the overload
            # refusals count it like any other solve.
            try:
                return solve()
            finally:
                self._admission.leave()
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
        inline = runs_inline(request, self._inline_max_cells)
        return await self._run(handlers.score_proposals, request, _deadline(context), inline=inline)

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
    """Run on the solver thread (or inline, on the loop): the handler, cancellable through
    `cancellation`."""
    with scope(cancellation):
        return handler(request, limits)


def _leave_from_thread(loop: asyncio.AbstractEventLoop, admission: Admission, _: object) -> None:
    """A cancelled call's solve has ended: free its solver (from the solver thread)."""
    # A closed loop (the server has stopped) admits nothing any more.
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(admission.leave)
