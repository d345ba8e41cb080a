"""BatchOptimizeRounds: many rounds in one call, each answered in the stream as it finishes.

Rounds run on the server's solver threads, as many at once as it has, each admitted by overload
control like a call of its own; a round's failure is its own RoundError in the stream and the
others go on; cancelling the call cancels the rounds solving and every round not yet started.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from google.rpc import code_pb2

from scoring.errors import InvalidProblem, Unsatisfiable, Violations
from service.admission import Overloaded
from service.config import Limits
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
    if isinstance(error, Overloaded):
        return round_pb2.RoundError(code=code_pb2.RESOURCE_EXHAUSTED, message=str(error))
    log.exception("round failed", exc_info=error)
    return round_pb2.RoundError(
        code=code_pb2.INTERNAL, message=f"internal error in this round: {type(error).__name__}"
    )


async def run_batch(
    request: round_pb2.BatchOptimizeRoundsRequest,
    limits: Limits,
    solve_round: Callable[
        [round_pb2.OptimizeRoundRequest], Awaitable[round_pb2.OptimizeRoundResponse]
    ],
    lanes: int,
) -> AsyncIterator[round_pb2.BatchOptimizeRoundsResponse]:
    """Each round's answer as it finishes, with the batch's progress. `lanes` rounds are solved
    at once, each through `solve_round` (which admits it, and cancels its solve when the lane
    is cancelled)."""
    check_batch_limits(request, limits)
    total = len(request.rounds)
    finished: asyncio.Queue[tuple[int, round_pb2.OptimizeRoundResponse | BaseException]] = (
        asyncio.Queue()
    )
    next_index = iter(range(total))

    async def lane() -> None:
        for index in next_index:  # shared: each lane takes the next round not yet taken
            try:
                outcome: round_pb2.OptimizeRoundResponse | BaseException = await solve_round(
                    round_with_defaults(request, index)
                )
            except Exception as error:
                outcome = error
            finished.put_nowait((index, outcome))

    workers = [asyncio.create_task(lane()) for _ in range(min(lanes, total))]
    completed, failed = 0, 0
    try:
        while completed < total:
            index, outcome = await finished.get()
            answer = round_pb2.BatchOptimizeRoundsResponse(
                round_index=index, round_id=request.rounds[index].round_id
            )
            for key in sorted(request.labels):
                answer.labels[key] = request.labels[key]
            if isinstance(outcome, BaseException):
                answer.error.CopyFrom(round_error(outcome))
                failed += 1
            else:
                answer.result.CopyFrom(outcome)
            completed += 1
            answer.progress.CopyFrom(
                round_pb2.BatchProgress(completed=completed, total=total, failed=failed)
            )
            yield answer
    finally:
        # The call ended early (cancelled, or the client went away): rounds not started never
        # start, and the solves in progress are cancelled.
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
