"""Cancelling a solve from outside its thread: when a call is cancelled, or its deadline passes,
the server cancels the call's `Cancellation`; the engines notice at their next checkpoint and
unwind with `Cancelled`, and a CP-SAT search in progress is stopped at once.

The engines never take the token as an argument: the server installs it for the solving thread
with `scope`, and code deep inside an engine asks for it with `checkpoint` (between stages and
solver calls) or `stop_with` (around a solver that can be interrupted). Outside a scope both
are no-ops, so library callers and tests need nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

REPEAT_STOP_S = 0.02
"""After a cancel, the stop of a solver still running is repeated this often: CP-SAT forgets a
stop that comes before its search has started, and from outside there is no telling whether it
has."""


class Cancelled(Exception):
    """The call was cancelled or ran out of time: its work was abandoned, nobody awaits it."""


class Cancellation:
    """One call's cancel flag, and the stop functions of the solvers running for it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cancelled = False
        self._stops: list[Callable[[], None]] = []

    def cancel(self) -> None:
        """Flag the call cancelled and stop every solver running for it (any thread), again
        and again until it returns (see REPEAT_STOP_S)."""
        with self._lock:
            self._cancelled = True
            stops = list(self._stops)
        for stop in stops:
            stop()
        if stops:
            threading.Thread(target=self._keep_stopping, name="venture-cancel", daemon=True).start()

    def _keep_stopping(self) -> None:
        """Repeat the stops of the solvers still running; ends when none is left (each solver
        block deregisters its stop as it returns, and none registers after a cancel)."""
        while True:
            time.sleep(REPEAT_STOP_S)
            with self._lock:
                stops = list(self._stops)
            if not stops:
                return
            for stop in stops:
                stop()

    def check(self) -> None:
        if self._cancelled:
            raise Cancelled("the call was cancelled or its deadline passed")

    @contextmanager
    def stopping(self, stop: Callable[[], None]) -> Iterator[None]:
        """Call `stop` if the call is cancelled while the block runs (repeatedly: see
        REPEAT_STOP_S), then raise Cancelled after the block, whatever the solver returned.
        Already cancelled: Cancelled at once, without running the block."""
        with self._lock:
            self.check()
            self._stops.append(stop)
        try:
            yield
        finally:
            with self._lock:
                self._stops.remove(stop)
        self.check()


_current: ContextVar[Cancellation | None] = ContextVar("venture_cancellation", default=None)


@contextmanager
def scope(cancellation: Cancellation | None) -> Iterator[None]:
    """Make `cancellation` the current thread's for the block."""
    token = _current.set(cancellation)
    try:
        yield
    finally:
        _current.reset(token)


def checkpoint() -> None:
    """Raise Cancelled if the current call has been cancelled; a no-op outside a scope."""
    cancellation = _current.get()
    if cancellation is not None:
        cancellation.check()


@contextmanager
def stop_with(stop: Callable[[], None]) -> Iterator[None]:
    """Around a solver call: `stop` interrupts it if the current call is cancelled."""
    cancellation = _current.get()
    if cancellation is None:
        yield
        return
    with cancellation.stopping(stop):
        yield
