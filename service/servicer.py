"""The VentureService servicer: thin async wrappers that run each handler in a worker thread.

Every RPC of venture.v1.VentureService is live (LIVE_RPCS).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor
from functools import partial
from typing import Any, TypeAlias, TypeVar

import grpc

from service import handlers
from service.admission import Admission
from service.config import Limits
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

    def __init__(self, limits: Limits, executor: Executor, admission: Admission) -> None:
        self._limits = limits
        self._executor = executor
        self._admission = admission

    async def _run(
        self,
        handler: Callable[[Request, Limits], Response],
        request: Request,
        deadline: float | None = None,
    ) -> Response:
        """The handler on a solver thread, once admission control lets the call start."""
        await self._admission.enter(deadline)
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, handler, request, self._limits)
        finally:
            self._admission.leave()

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
        async for answer in run_batch(request, self._limits, self._executor, _deadline(context)):
            yield answer
