"""Overload control: at most `workers` solves at once, at most `max_waiting` calls waiting for
one, and no call waits past its own deadline. A call that cannot start is refused with
RESOURCE_EXHAUSTED at once (the queue is full) or as soon as its deadline is too near to start
(it would only have timed out in the queue), so an overloaded server answers quickly and
callers can retry elsewhere; it recovers by itself as solves finish.
"""

from __future__ import annotations

import asyncio
import time

START_MARGIN_S = 0.2
"""A call whose deadline is nearer than this when a worker frees is refused: it could not
finish in time anyway (the handlers also stop solving this long before the deadline)."""


class Overloaded(Exception):
    """The call could not start: the message says why and which limit."""


class ShuttingDown(Exception):
    """The call was admitted as the server stopped its solver threads: UNAVAILABLE, which a
    client retries on another replica (the health service already says NOT_SERVING)."""


class Admission:
    """Counts solves and waiting calls of one server (one event loop)."""

    def __init__(self, workers: int, max_waiting: int) -> None:
        self._free = asyncio.Semaphore(workers)
        self._workers = workers
        self._max_waiting = max_waiting
        self._waiting = 0

    async def enter(self, deadline: float | None, *, patient: bool = False) -> None:
        """Wait for a free worker, or raise Overloaded (see the module docstring). A `patient`
        caller (a batch's lane: at most one per worker per batch) is not refused for a full
        queue and does not take a place in it; it still never waits past its deadline."""
        if not self._free.locked():
            # Free: taken at once, without yielding to the loop, so no other call can see this
            # one as waiting (with a timeout around it, acquiring went through a task and a
            # second call could be refused for a queue that held only this one).
            await self._free.acquire()
            return
        if patient:
            await self._wait(deadline)
            return
        if self._waiting >= self._max_waiting:
            raise Overloaded(
                f"server busy: {self._workers} solve(s) running and {self._waiting} call(s) "
                f"waiting (server limit max_waiting); retry later or elsewhere"
            )
        self._waiting += 1
        try:
            await self._wait(deadline)
        finally:
            self._waiting -= 1

    async def _wait(self, deadline: float | None) -> None:
        timeout = None if deadline is None else deadline - time.monotonic() - START_MARGIN_S
        if timeout is not None and timeout <= 0:
            raise Overloaded("server busy: the call's deadline is too near to start a solve")
        try:
            async with asyncio.timeout(timeout):
                await self._free.acquire()
        except TimeoutError:
            raise Overloaded(
                "server busy: no solver was free before the call's deadline; retry later"
            ) from None

    def leave(self) -> None:
        self._free.release()

    @property
    def waiting(self) -> int:
        """Calls waiting for a free worker now (read by the metrics)."""
        return self._waiting

    @property
    def workers(self) -> int:
        """Solves that may run at once."""
        return self._workers
