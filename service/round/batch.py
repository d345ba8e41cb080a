"""BatchOptimizeRounds: many rounds in one call, each answered in the stream as it finishes.

Rounds run on the server's solver threads, as many at once as it has; a round's failure is its
own RoundError in the stream and the others go on; cancelling the call cancels every round not
yet started (a round already solving runs to its own time limit).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from concurrent.futures import Executor
from functools import partial

from google.rpc import code_pb2

from scoring.errors import InvalidProblem, Unsatisfiable, Violations
from service.config import Limits
from service.round.optimize import optimize_round
from venture.v1 import common_pb2, round_pb2

log = logging.getLogger("venture.batch")


def check_batch_limits(request: round_pb2.BatchOptimizeRoundsRequest, limits: Limits) -> None:
    found = Violations()
    found.require(
        len(request.rounds) <= limits.max_batch_rounds,
        "rounds",
        len(request.rounds),
        f"at most {limits.max_batch_rounds} rounds per batch (server limit max_batch_rounds); "
        "split the batch",
    )
    found.raise_if_any()


def round_with_defaults(
    request: round_pb2.BatchOptimizeRoundsRequest, index: int
) -> round_pb2.OptimizeRoundRequest:
    """Round `index`, with the batch's options when it sets none of its own."""
    one = round_pb2.OptimizeRoundRequest()
    one.CopyFrom(request.rounds[index])
    if not one.HasField("options"):
        one.options.CopyFrom(request.options)
    return one


def round_error(error: BaseException) -> round_pb2.RoundError:
    """The error of one round, as the stream reports it."""
    if isinstance(error, InvalidProblem):
        code = (
            code_pb2.FAILED_PRECONDITION
            if isinstance(error, Unsatisfiable)
            else code_pb2.INVALID_ARGUMENT
        )
        first = error.violations[0]
        return round_pb2.RoundError(
            code=code,
            message=f"{first.field}: {first.description} (got {first.value})",
            field_violations=[
                common_pb2.FieldViolation(field=v.field, description=v.description, value=v.value)
                for v in error.violations
            ],
        )
    log.exception("round failed", exc_info=error)
    return round_pb2.RoundError(
        code=code_pb2.INTERNAL, message=f"internal error in this round: {type(error).__name__}"
    )


async def run_batch(
    request: round_pb2.BatchOptimizeRoundsRequest,
    limits: Limits,
    executor: Executor,
    deadline: float | None,
) -> AsyncIterator[round_pb2.BatchOptimizeRoundsResponse]:
    """Each round's answer as it finishes, with the batch's progress."""
    check_batch_limits(request, limits)
    loop = asyncio.get_running_loop()
    pending: dict[asyncio.Future[round_pb2.OptimizeRoundResponse], int] = {}
    for index in range(len(request.rounds)):
        work = partial(optimize_round, round_with_defaults(request, index), limits, deadline)
        pending[loop.run_in_executor(executor, work)] = index
    total, completed, failed = len(request.rounds), 0, 0
    try:
        while pending:
            done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for future in sorted(done, key=lambda f: pending[f]):
                index = pending.pop(future)
                answer = round_pb2.BatchOptimizeRoundsResponse(
                    round_index=index, round_id=request.rounds[index].round_id
                )
                for key in sorted(request.labels):
                    answer.labels[key] = request.labels[key]
                error = future.exception()
                if error is None:
                    answer.result.CopyFrom(future.result())
                else:
                    answer.error.CopyFrom(round_error(error))
                    failed += 1
                completed += 1
                answer.progress.CopyFrom(
                    round_pb2.BatchProgress(completed=completed, total=total, failed=failed)
                )
                yield answer
    finally:
        # The call ended early (cancelled, or the client went away): rounds not started never
        # start; their futures are dropped.
        for future in pending:
            future.cancel()
