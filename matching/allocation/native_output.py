"""Keep the process's stdout clean while HiGHS runs.

The HiGHS build inside SciPy prints a debugging line from native code on some MIPs
("HighsMipSolverData::transformNewIntegerFeasibleSolution ..."), straight to file descriptor 1.
That would corrupt what venture writes there (`venture allocate --json`, the benchmarks' JSON
lines), so while any solve runs, descriptor 1 points at stderr. Solves may run in several
threads at once: the first to enter redirects, the last to leave restores, under one lock.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_LIBC = ctypes.CDLL(None)


class _Redirect:
    """How many solves are running, and where descriptor 1 pointed before the first."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0
        self.saved_fd = -1


_REDIRECT = _Redirect()


@contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send native writes to descriptor 1 to descriptor 2 for the duration."""
    state = _REDIRECT
    with state.lock:
        if state.depth == 0:
            sys.stdout.flush()
            state.saved_fd = os.dup(1)
            os.dup2(2, 1)
        state.depth += 1
    try:
        yield
    finally:
        with state.lock:
            state.depth -= 1
            if state.depth == 0:
                _LIBC.fflush(None)  # C stdio buffers go out while 1 still points at stderr
                os.dup2(state.saved_fd, 1)
                os.close(state.saved_fd)
