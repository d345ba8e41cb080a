"""`venture serve --processes N`: N server processes sharing one port, under a supervisor.

Python runs one thread of Python at a time per process, so one server process uses about one
core however many solver threads it has. To use every core, the supervisor (this module, in the
process the user started) reserves the port and starts N copies of `venture serve` that all bind
it with SO_REUSEPORT; the kernel then spreads incoming connections among them. This is the
layout gRPC recommends for Python servers (grpc/examples/python/multiprocessing).

- Spreading is per connection, not per call: one client channel stays on one process. Clients
  that want every core open several channels, or call through a per-call balancer (README,
  operations).
- Each process is a whole server: its own solver threads, admission limits, health service and
  metrics endpoint (metrics_port + index when metrics_port > 0; a free port each with 0).
- SIGTERM or SIGINT is passed to every process; each drains its calls within the grace period;
  the supervisor exits 0 when all of them did.
- A process that dies unexpectedly is logged and started again (after a pause that grows while
  it keeps dying young), so one crash costs 1/N of the capacity for a few seconds, not all of it.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import IO

from service.config import ServerConfig

log = logging.getLogger("venture.supervisor")

PROCESS_INDEX_ENV = "VENTURE_PROCESS_INDEX"
"""Set by the supervisor in each server process it starts: that process's index, 0..N-1."""
LISTENING = "venture listening on "
STARTUP_TIMEOUT_S = 120.0
"""A process that has not reported SERVING by then is taken as failed (start-up is ~2 s)."""
YOUNG_DEATH_S = 10.0
"""A process that dies sooner than this after starting is restarted after a growing pause."""
MAX_RESTART_PAUSE_S = 30.0
STOP_MARGIN_S = 15.0
"""How much longer than the grace period the supervisor waits for its processes to exit."""


def process_index() -> int | None:
    """This process's index when a supervisor started it; None for a lone server."""
    raw = os.environ.get(PROCESS_INDEX_ENV)
    return None if raw is None else int(raw)


def reserve_port(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port) with SO_REUSEPORT, never listening: it holds the port
    (picking one when port is 0) while the server processes bind it too. Connections only go
    to listening sockets, so it takes none."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    holder = socket.socket(family, kind, proto)
    try:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        holder.bind(address)
    except OSError as error:
        holder.close()
        raise OSError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    return holder


@dataclass(slots=True)
class _Child:
    index: int
    process: subprocess.Popen[bytes]
    started: float
    restarted: bool
    listening: bool = False
    """It printed its listening line: it is SERVING."""
    ready: threading.Event = field(default_factory=threading.Event)
    """Set once it listens, or once its output ends (it died before)."""


class Supervisor:
    """Starts, watches, restarts and stops the server processes (see the module docstring)."""

    def __init__(self, config: ServerConfig, argv: Sequence[str], processes: int) -> None:
        self.config = config
        self.argv = tuple(argv)
        self.processes = processes
        self.port = config.port
        """The port every process binds (the one picked, when config.port is 0)."""
        self.children: dict[int, _Child] = {}
        self.stopping = threading.Event()
        self._restart_pause_s: dict[int, float] = {}
        self._print_lock = threading.Lock()

    def run(self) -> int:
        """Serve until SIGTERM or SIGINT; the exit code (0 when every process drained)."""
        holder = reserve_port(self.config.host, self.config.port)
        try:
            self.port = holder.getsockname()[1]
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, self._on_signal)
            for index in range(self.processes):
                self.children[index] = self._start(index)
            if not self._await_ready(list(self.children.values())):
                self._stop_all()
                return 1
            host = f"[{self.config.host}]" if ":" in self.config.host else self.config.host
            # The same line a lone server prints: scripts and tests read the port from it.
            self._print(f"{LISTENING}{host}:{self.port}")
            pids = [child.process.pid for child in self.children.values()]
            log.info("serving with %d processes (pids %s)", self.processes, pids)
            while not self.stopping.wait(0.2):
                self._restart_the_dead()
            return self._stop_all()
        finally:
            holder.close()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.stopping.set()

    def _start(self, index: int, *, restarted: bool = False) -> _Child:
        """One server process: the user's command line with this process's port and count."""
        command = [
            sys.executable,
            "-m",
            "service.entry",
            "serve",
            *self.argv,
            "--processes",
            "1",
            "--port",
            str(self.port),
        ]
        env = {**os.environ, PROCESS_INDEX_ENV: str(index)}
        process = subprocess.Popen(
            command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE
        )
        child = _Child(index, process, time.monotonic(), restarted)
        assert process.stdout is not None
        threading.Thread(
            target=self._read_stdout, args=(child, process.stdout), daemon=True
        ).start()
        return child

    def _read_stdout(self, child: _Child, stream: IO[bytes]) -> None:
        """Forward what a process prints; its listening line means it is SERVING."""
        for raw in stream:
            line = raw.decode(errors="replace").rstrip("\n")
            if line.startswith(LISTENING):
                child.listening = True
                child.ready.set()
                if child.restarted:
                    pid = child.process.pid
                    log.info("server process %d (pid %d) serves again", child.index, pid)
            else:
                self._print(line)  # a metrics line: one per process
        child.ready.set()  # the process ended (and may never have listened)

    def _await_ready(self, children: list[_Child]) -> bool:
        """Wait until each process is SERVING; False (after saying why) when one failed."""
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        for child in children:
            child.ready.wait(max(deadline - time.monotonic(), 0.0))
            if child.process.poll() is not None or not child.listening:
                code = child.process.poll()
                log.error("server process %d did not start (exit code %s)", child.index, code)
                return False
        return True

    def _restart_the_dead(self) -> None:
        for index, child in list(self.children.items()):
            code = child.process.poll()
            if code is None or self.stopping.is_set():
                continue
            lived = time.monotonic() - child.started
            pause = self._restart_pause_s.get(index, 0.0)
            pause = min(max(2 * pause, 1.0), MAX_RESTART_PAUSE_S) if lived < YOUNG_DEATH_S else 0.0
            self._restart_pause_s[index] = pause
            log.error(
                "server process %d (pid %d) exited with code %s after %.1fs; starting it again "
                "in %.0fs",
                index,
                child.process.pid,
                code,
                lived,
                pause,
            )
            if self.stopping.wait(pause):
                return
            self.children[index] = self._start(index, restarted=True)

    def _stop_all(self) -> int:
        """SIGTERM every process, wait for them to drain; 0 when every one exited 0."""
        log.info("shutting down: SIGTERM to every server process")
        for child in self.children.values():
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.config.grace_period_s + STOP_MARGIN_S
        worst = 0
        for child in self.children.values():
            try:
                code = child.process.wait(max(deadline - time.monotonic(), 0.0))
            except subprocess.TimeoutExpired:
                child.process.kill()
                code = child.process.wait()
                log.error("server process %d did not stop in time: killed", child.index)
            # One still starting (a restart) dies of the SIGTERM: it had no calls to drain.
            starting = code == -signal.SIGTERM and not child.listening
            if code != 0 and not starting:
                worst = 1
        return worst

    def _print(self, line: str) -> None:
        with self._print_lock:
            print(line, flush=True)
