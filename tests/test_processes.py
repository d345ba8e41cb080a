"""`venture serve --processes N`: N real server processes on one port, under a supervisor."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest

from bench.load import descendants
from service import config as config_module
from service.logs import formatter
from tests.helpers import small_request
from venture.v1 import venture_service_pb2_grpc

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "service.cli"]
CHANNELS = 24
"""Separate connections opened against the shared port. The kernel spreads connections by a
hash of their addresses, so all 24 landing on one of two processes has odds of 2 in 2**24."""


def child_pids(pid: int) -> set[int]:
    """The processes below a process (its server processes), from /proc."""
    return set(descendants(pid))


def _wait_for(condition: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


class Supervised:
    """`venture serve --port 0 --processes 2 --workers 1` as a child process."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [*CLI, "serve", "--port", "0", "--processes", "2", "--workers", "1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env={**os.environ, "VENTURE_LOG_LEVEL": "INFO", "VENTURE_LOG_FORMAT": "json"},
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("venture listening on "):
            self.process.kill()
            raise AssertionError(f"server did not start: {line}{self.process.communicate()[1]}")
        self.address = line.removeprefix("venture listening on ").strip()
        self.log: list[dict[str, object]] = []
        self._reader = threading.Thread(target=self._read_log, daemon=True)
        self._reader.start()

    def _read_log(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.log.append(json.loads(line))

    def logged(self, text: str) -> bool:
        return any(text in str(line.get("message")) for line in self.log)

    def score_on_fresh_connections(self, count: int) -> None:
        """One ScoreProposals call on each of `count` new connections; every one must be OK."""
        request = small_request()
        for _ in range(count):
            # A local subchannel pool: a channel of its own, not one shared by target.
            options = [("grpc.use_local_subchannel_pool", 1)]
            with grpc.insecure_channel(self.address, options=options) as channel:
                stub = venture_service_pb2_grpc.VentureServiceStub(channel)
                assert stub.ScoreProposals(request, timeout=30).result.proposals

    def stop(self) -> tuple[int, list[dict[str, object]]]:
        """SIGTERM; the exit code and the JSON log lines of the supervisor and its servers."""
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=60)
        self._reader.join(timeout=30)
        return code, self.log

    def kill(self) -> None:
        """Kill the servers, then the supervisor (which would start them again), and close."""
        for pid in child_pids(self.process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)
        self._reader.join(timeout=30)  # the servers held stderr open too: it ends with them
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture()
def supervised() -> Iterator[Supervised]:
    served = Supervised()
    try:
        yield served
    finally:
        served.kill()


def _served_by(log: list[dict[str, object]]) -> set[object]:
    return {line.get("process") for line in log if line.get("logger") == "venture.calls"}


def test_both_processes_serve_the_one_port_and_all_exit_cleanly(supervised: Supervised) -> None:
    servers = child_pids(supervised.process.pid)
    assert len(servers) == 2
    supervised.score_on_fresh_connections(CHANNELS)
    code, log = supervised.stop()
    assert code == 0
    assert _served_by(log) == {0, 1}
    assert sum(line.get("message") == "stopped" for line in log) == 2
    assert not child_pids(supervised.process.pid)


def test_a_process_that_dies_is_started_again(supervised: Supervised) -> None:
    first = child_pids(supervised.process.pid)
    killed = min(first)
    os.kill(killed, signal.SIGKILL)
    # A replacement starts (after a second's pause: the process died young) and serves.
    _wait_for(lambda: supervised.logged("serves again"), timeout_s=60)
    assert len(child_pids(supervised.process.pid) - {killed}) == 2
    supervised.score_on_fresh_connections(CHANNELS)
    code, log = supervised.stop()
    assert code == 0
    restarts = [line for line in log if "exited with code -9" in str(line.get("message"))]
    assert len(restarts) == 1
    assert restarts[0]["level"] == "ERROR"
    assert _served_by(log) == {0, 1}  # the replacement took the dead one's index


def test_a_negative_process_count_is_refused() -> None:
    with pytest.raises(config_module.ConfigError, match="processes: -1 must not be negative"):
        config_module.load(env={"VENTURE_PROCESSES": "-1"})


def test_zero_processes_means_one_per_core() -> None:
    config = config_module.load(env={"VENTURE_PROCESSES": "0"})
    assert config.process_count == len(os.sched_getaffinity(0))


def test_metrics_ports_of_the_processes_must_not_hold_the_grpc_port() -> None:
    env = {"VENTURE_PROCESSES": "4", "VENTURE_METRICS_PORT": "9100", "VENTURE_PORT": "9102"}
    with pytest.raises(config_module.ConfigError, match=r"9100\.\.9103, which holds the gRPC"):
        config_module.load(env=env)


def test_log_lines_name_the_process() -> None:
    record = logging.LogRecord("venture.calls", logging.INFO, "", 0, "hello", None, None)
    assert json.loads(formatter("json", process=1).format(record))["process"] == 1
    assert "process" not in json.loads(formatter("json").format(record))
    assert "venture.calls[1] hello" in formatter("text", process=1).format(record)


@pytest.mark.parametrize("processes", ["1", "2"])
def test_a_port_in_use_is_a_clear_error(processes: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        done = subprocess.run(
            [*CLI, "serve", "--port", port, "--processes", processes],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
            check=False,
        )
    assert done.returncode == 3
    assert f"venture serve: cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_supervisor_loads_no_engine() -> None:
    # `venture serve` goes through service.entry to service.serve_command; the supervisor must
    # not hold the solvers' memory (about 200 MiB) that only the server processes use.
    probe = (
        "import sys; from service import entry, serve_command; "
        "heavy = ('numpy', 'grpc', 'ortools', 'scipy', 'google.protobuf', 'service.server'); "
        "print(sorted({m.split('.')[0] for m in sys.modules if m.startswith(heavy)}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert done.stdout.strip() == "[]"


def test_serve_flags_are_the_same_through_either_entry() -> None:
    light = subprocess.run(
        [sys.executable, "-m", "service.entry", "serve", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    full = subprocess.run(
        [*CLI, "serve", "--help"], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert light.stdout == full.stdout
    assert "--processes INT" in light.stdout
