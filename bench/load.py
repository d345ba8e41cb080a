"""Load benchmark: many concurrent calls from several client processes to a real `venture serve`
process on loopback, one JSON line per scenario.

The server is started as its own process (`venture serve --port 0 --processes N`, by default one
server process per core under a supervisor, the port read from its `venture listening on ...`
line), is sampled from /proc while the clients run (VmRSS every interval, VmHWM and CPU time at
the end, each summed over the supervisor and its server processes) and is stopped with SIGTERM,
which must exit 0. The
client is `--processes` worker processes (spawned, not forked), each with `--channels` grpc.aio
channels and `--concurrency` asyncio tasks calling back to back (a closed loop) until the
scenario's call count or duration runs out. Requests are serialised once and sent as bytes, and
responses are not parsed, so the clients spend their CPU on gRPC alone (client and server share
the machine's cores). Every call has a deadline.

Scenarios (`--case`):
  county_score  ScoreProposals with examples/score_county.json (24 proposals, 7 judges, 1,000
                bootstrap samples)
  county_score_compact
                the same with examples/score_county_compact.json: the same request with
                every sheet in the compact form (`values`, one number per criterion)
  county_round  OptimizeRound with examples/round_county.json (the whole county round)
  overload      more concurrent OptimizeRound calls than the server admits (`--overload-*`:
                a server with few waiting places, many tasks, a short deadline): refusals are
                RESOURCE_EXHAUSTED and fast, nothing else fails, and a normal call succeeds
                after the flood (`recovered`)
  health_check  grpc.health.v1.Health/Check through the same server, interceptor and clients:
                what the stack costs per call without any work, the ceiling the other
                scenarios' handlers are measured against
  smallest_score
                ScoreProposals with the smallest complete request (SMALLEST_SCORE: one
                criterion, judge, proposal and sheet, no bootstrap): what any scoring call
                costs whatever its size (conversion, every stage, the explained answer)
  soak          county_score for `--soak-seconds` (default 300), with the server's RSS over
                time and its slope; run only when asked for with `--case soak`

A row: rpc_per_s (OK calls per second of wall time), p50/p90/p99/max_ms of OK calls, calls,
errors_by_code (OK excluded), unexpected_errors (codes the scenario does not expect: every code
but OK in the load scenarios, every one but OK and RESOURCE_EXHAUSTED in overload), the server's
peak_rss_mib (VmHWM, start-up included; peak_rss_before_load_mib is it before the clients ran)
and CPU, the client processes' CPU and the whole machine's, and server_exit_code. CPU is given
as percent of one core over the run and as milliseconds per call: on a shared machine the
throughput moves with other people's load, the CPU per call much less, and cores / (server +
client CPU per call) bounds what the machine could do. Overload adds refused (with p50/p99/max,
the server's reasons and refused_per_s: with every refused task calling again at once, a refusal
waits behind the others, so its latency is about the refusing tasks / refused_per_s; a lone
refusal is much faster, and `--overload-pause-ms` makes the clients back off), recovered and
recovery_call_ms; the soak adds RSS after warm-up, in the middle and at the end, its slope in
MiB per minute, samples, and RPC/s per minute. `--repeats` is ignored: a scenario is one run.

    .venv/bin/python -m bench load                       # every scenario but the soak
    .venv/bin/python -m bench load --case soak           # 5 minutes of county_score
    .venv/bin/python -m bench load --case county_score --processes 1 --concurrency 8 \
        --duration 60 --server-processes 1 --workers 2 --server-arg=--log-level=WARNING

Connections, not calls, are spread among the server processes (SO_REUSEPORT), so every client
process opens `--channels` connections (default 8) to reach all of them.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import queue
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from typing import IO, Any

import grpc

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SERVICE = "/venture.v1.VentureService/"
HEALTH_CHECK = "/grpc.health.v1.Health/Check"
CASES = (
    "county_score",
    "county_score_compact",
    "county_round",
    "overload",
    "health_check",
    "smallest_score",
    "soak",
)
DEFAULT_CASES = tuple(case for case in CASES if case != "soak")
"""What runs without --case: the soak is long and runs only when asked for."""
SMALLEST_SCORE_NAME = "(the smallest ScoreProposalsRequest: SMALLEST_SCORE)"
SMALLEST_SCORE = {
    "criteria": [{"criterionId": "quality", "weight": 1}],
    "judges": [{"judgeId": "J1"}],
    "proposals": [{"proposalId": "P1"}],
    "sheets": [{"judgeId": "J1", "proposalId": "P1", "values": [5]}],
    "policy": {"rankStability": {"samples": 0}},
}
"""smallest_score's request: one of everything and no bootstrap."""
LISTENING = "venture listening on "
EXPECTED_OVERLOAD = frozenset({"RESOURCE_EXHAUSTED"})
CHANNEL_OPTIONS = (
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
    # Separate connections for separate channels of one process (not one shared subchannel).
    ("grpc.use_local_subchannel_pool", 1),
)
STARTUP_TIMEOUT_S = 120.0
SIGTERM_TIMEOUT_S = 60.0


# --- the command line -------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("load (python -m bench load)")
    group.add_argument("--processes", type=int, default=2, help="client processes (default 2)")
    group.add_argument(
        "--concurrency",
        type=int,
        default=8,
        help="concurrent calls per client process, back to back (default 8); the server gets a "
        "waiting place for each unless --max-waiting says otherwise",
    )
    group.add_argument(
        "--channels",
        type=int,
        default=8,
        help="gRPC channels (connections) per client process (default 8: the server's processes "
        "share connections, not calls, so a few connections may all land on one)",
    )
    group.add_argument(
        "--duration",
        type=float,
        default=None,
        help="seconds per scenario at most (default 30; overload 15; the soak: --soak-seconds)",
    )
    group.add_argument(
        "--count",
        type=int,
        default=None,
        help="calls per scenario at most, shared among the processes (default 24000; "
        "county_round 3000, overload 5000, health_check and smallest_score 30000, the soak no "
        "limit)",
    )
    group.add_argument(
        "--deadline", type=float, default=10.0, help="deadline of every call, s (default 10)"
    )
    group.add_argument(
        "--soak-seconds", type=float, default=300.0, help="length of the soak (default 300)"
    )
    group.add_argument(
        "--server-processes",
        type=int,
        default=os.cpu_count() or 1,
        help="the server's processes (`venture serve --processes`; default: one per core)",
    )
    group.add_argument(
        "--workers",
        type=int,
        default=1,
        help="solver threads per server process (default 1)",
    )
    group.add_argument(
        "--max-waiting",
        type=int,
        default=None,
        help="waiting places per server process in the load scenarios (default: processes x "
        "concurrency, so that no call of the closed loop is refused)",
    )
    group.add_argument(
        "--server-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="one more argument for `venture serve`, e.g. --server-arg=--log-level=WARNING "
        "(repeatable; every scenario)",
    )
    group.add_argument(
        "--overload-max-waiting",
        type=int,
        default=2,
        help="the server's waiting places in the overload scenario (default 2)",
    )
    group.add_argument(
        "--overload-concurrency",
        type=int,
        default=16,
        help="concurrent calls per client process in the overload scenario (default 16)",
    )
    group.add_argument(
        "--overload-deadline",
        type=float,
        default=2.0,
        help="deadline of every overload call, s (default 2)",
    )
    group.add_argument(
        "--overload-pause-ms",
        type=float,
        default=0.0,
        help="a refused overload task waits this long before its next call (default 0: none)",
    )


@dataclass(frozen=True, slots=True)
class Scenario:
    """One load run: what is called, by how many clients, for how long, against which server."""

    name: str
    rpc: str
    example: str
    processes: int
    concurrency: int
    channels: int
    count: int | None
    duration_s: float
    deadline_s: float
    server_flags: tuple[str, ...]
    expected_errors: frozenset[str] = frozenset()
    refusal_pause_s: float = 0.0
    sample_interval_s: float = 0.5


def scenario(name: str, args: argparse.Namespace) -> Scenario:
    """The scenario `name` with the command line's settings."""
    processes = ["--processes", str(args.server_processes)]
    # Connections, not calls, are spread among the server processes, so one process may get
    # every call of the closed loop: by default it has a waiting place for each.
    waiting = args.processes * args.concurrency if args.max_waiting is None else args.max_waiting
    server = [*processes, "--workers", str(args.workers), "--max-waiting", str(waiting)]
    base = Scenario(
        name=name,
        rpc="ScoreProposals",
        example="score_county.json",
        processes=args.processes,
        concurrency=args.concurrency,
        channels=args.channels,
        count=24_000 if args.count is None else args.count,
        duration_s=30.0 if args.duration is None else args.duration,
        deadline_s=args.deadline,
        server_flags=(*server, *args.server_arg),
    )
    if name == "county_score":
        return base
    if name == "county_score_compact":
        return replace(base, example="score_county_compact.json")
    if name == "county_round":
        count = 3_000 if args.count is None else args.count
        return replace(base, rpc="OptimizeRound", example="round_county.json", count=count)
    if name == "overload":
        flags = [
            *processes,
            "--workers",
            str(args.workers),
            "--max-waiting",
            str(args.overload_max_waiting),
        ]
        return replace(
            base,
            rpc="OptimizeRound",
            example="round_county.json",
            concurrency=args.overload_concurrency,
            count=5_000 if args.count is None else args.count,
            duration_s=15.0 if args.duration is None else args.duration,
            deadline_s=args.overload_deadline,
            server_flags=(*flags, *args.server_arg),
            expected_errors=EXPECTED_OVERLOAD,
            refusal_pause_s=args.overload_pause_ms / 1000,
        )
    if name == "health_check":
        count = 30_000 if args.count is None else args.count
        return replace(base, rpc="Check", example="(HealthCheckRequest: the service)", count=count)
    if name == "smallest_score":
        count = 30_000 if args.count is None else args.count
        return replace(base, example=SMALLEST_SCORE_NAME, count=count)
    if name == "soak":
        return replace(base, count=args.count, duration_s=args.soak_seconds, sample_interval_s=1.0)
    raise ValueError(f"unknown load case {name!r}; have {CASES}")


def run(
    repeats: int, cases: Sequence[str] | None = None, args: argparse.Namespace | None = None
) -> Iterator[dict[str, object]]:
    """One row per selected scenario (soak only when asked for); `repeats` is not used."""
    del repeats
    if args is None:
        parser = argparse.ArgumentParser()
        add_arguments(parser)
        args = parser.parse_args([])
    for value in ("processes", "concurrency", "channels", "workers"):
        if getattr(args, value) < 1:
            raise ValueError(f"--{value} must be at least 1")
    for name in CASES:
        if (name in cases) if cases else (name in DEFAULT_CASES):
            yield run_scenario(scenario(name, args))


# --- the server process -----------------------------------------------------------------------


def _venture_command() -> list[str]:
    """`venture` beside this Python (the virtual environment's), else `python -m service.cli`."""
    script = Path(sys.executable).with_name("venture")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "service.cli"]


class ServerProcess:
    """`venture serve --port 0 FLAGS` as a child process; its call log goes to a temporary file
    (read back only to explain a failure)."""

    def __init__(self, flags: Sequence[str]) -> None:
        self.flags = tuple(flags)
        self.log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115  (closed in close())
        self.process = subprocess.Popen(
            [*_venture_command(), "serve", "--port", "0", *self.flags],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.log,
            cwd=ROOT,
        )
        self.pid = self.process.pid
        self._first_line: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read_stdout, daemon=True).start()
        try:
            line = self._first_line.get(timeout=STARTUP_TIMEOUT_S)
        except queue.Empty:
            line = ""
        if not line.startswith(LISTENING):
            self.kill()
            raise RuntimeError(f"venture serve did not start ({line.strip()!r}): {self.log_tail()}")
        self.address = line.removeprefix(LISTENING).strip()

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        first = True
        for raw in self.process.stdout:  # drained to the end, so the server never blocks on it
            if first:
                self._first_line.put(raw.decode(errors="replace"))
                first = False
        if first:
            self._first_line.put("")

    def log_tail(self, lines: int = 20) -> str:
        self.log.seek(0)
        return b"".join(self.log.readlines()[-lines:]).decode(errors="replace")

    def log_lines(self) -> int:
        self.log.seek(0)
        return sum(1 for _ in self.log)

    def stop(self) -> int | None:
        """SIGTERM, then wait for the exit; its code (None: killed after SIGTERM_TIMEOUT_S)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=SIGTERM_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)

    def close(self) -> None:
        self.kill()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.log.close()


def descendants(pid: int) -> list[int]:
    """Every live process below `pid` (the server processes of `venture serve --processes N`),
    from the parent pids in /proc/*/stat."""
    children: dict[int, list[int]] = defaultdict(list)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # it ended while we looked
        children[ppid].append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        below = children.get(todo.pop(), [])
        found += below
        todo += below
    return found


def status_kib(pid: int, key: str) -> int | None:
    """A `kB` line of /proc/PID/status (VmRSS, VmHWM); None when the process is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return None


def tree_kib(pid: int, key: str) -> int | None:
    """status_kib summed over the process and its descendants (for VmHWM, the sum of each
    one's peak: an upper bound of the peak of the whole); None when the process is gone."""
    own = status_kib(pid, key)
    if own is None:
        return None
    return own + sum(status_kib(child, key) or 0 for child in descendants(pid))


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process (all its threads), from /proc/PID/stat; 0 when it
    is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = text.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """cpu_seconds of the process and every descendant."""
    return cpu_seconds(pid) + sum(cpu_seconds(child) for child in descendants(pid))


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (every core; /proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU the server (its processes) and the whole machine spend between start() and stop()."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.server_s = 0.0
        self.machine_s = 0.0
        self.wall_s = 0.0
        self._started = (0.0, 0.0, 0.0)

    def start(self) -> None:
        self._started = (tree_cpu_seconds(self.pid), machine_busy_seconds(), time.monotonic())

    def stop(self) -> None:
        server, machine, wall = self._started
        self.server_s = tree_cpu_seconds(self.pid) - server
        self.machine_s = machine_busy_seconds() - machine
        self.wall_s = time.monotonic() - wall


class MemorySampler:
    """VmRSS of a process and its descendants every `interval_s` seconds in a thread: (seconds
    since start, KiB)."""

    def __init__(self, pid: int, interval_s: float) -> None:
        self.pid = pid
        self.interval_s = interval_s
        self.samples: list[tuple[float, int]] = []
        self.start = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            kib = tree_kib(self.pid, "VmRSS")
            if kib is not None:
                self.samples.append((time.monotonic() - self.start, kib))
            if self._stop.wait(self.interval_s):
                return

    def stop(self) -> list[tuple[float, int]]:
        self._stop.set()
        self._thread.join(timeout=10)
        return self.samples


# --- the client worker processes --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Job:
    """What one client process does (pickled to a spawned process)."""

    index: int
    address: str
    method: str
    payload: bytes
    concurrency: int
    channels: int
    count: int | None
    duration_s: float
    deadline_s: float
    refusal_pause_s: float


@dataclass(slots=True)
class WorkerResult:
    """What one client process saw: latencies (s) by status code name, OK calls completed in
    each second of its run, its run's start and end (time.monotonic, the same clock in every
    process) and the CPU it spent running, and the first message of every failing code."""

    index: int
    latencies: dict[str, list[float]] = field(default_factory=dict)
    ok_per_second: list[int] = field(default_factory=list)
    started: float = 0.0
    finished: float = 0.0
    cpu_s: float = 0.0
    messages: dict[str, str] = field(default_factory=dict)
    refusals: dict[str, int] = field(default_factory=dict)
    """RESOURCE_EXHAUSTED calls by the server's reason (see refusal_reason)."""
    response_bytes: int = 0


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread, gRPC's own included
    return usage.ru_utime + usage.ru_stime


def worker_main(job: Job, events: Any, go: EventType) -> None:
    """Entry point of a spawned client process: ('ready', i, ''), then ('done', i, result), or
    ('failed', i, message) on `events`."""
    try:
        result = asyncio.run(_drive(job, events, go))
    except BaseException as error:
        events.put(("failed", job.index, f"{type(error).__name__}: {error}"))
        raise
    events.put(("done", job.index, result))


async def _drive(job: Job, events: Any, go: EventType) -> WorkerResult:
    channels = [
        grpc.aio.insecure_channel(job.address, options=CHANNEL_OPTIONS) for _ in range(job.channels)
    ]
    try:
        # No serialisers: the request goes as the bytes given, the response comes back as bytes.
        calls: list[grpc.aio.UnaryUnaryMultiCallable[bytes, bytes]] = [
            channel.unary_unary(job.method) for channel in channels
        ]
        result = WorkerResult(job.index)
        for call in calls:  # one warm-up call per connection
            try:
                answer: bytes = await call(job.payload, timeout=max(job.deadline_s, 60.0))
                result.response_bytes = len(answer)
            except grpc.aio.AioRpcError as error:
                if error.code() is not grpc.StatusCode.RESOURCE_EXHAUSTED:
                    raise
        events.put(("ready", job.index, ""))
        if not await asyncio.to_thread(go.wait, STARTUP_TIMEOUT_S):
            raise TimeoutError("the parent never said go")
        await _closed_loop(job, calls, result)
        return result
    finally:
        for channel in channels:
            await channel.close()


async def _closed_loop(
    job: Job, calls: Sequence[grpc.aio.UnaryUnaryMultiCallable[bytes, bytes]], result: WorkerResult
) -> None:
    """`job.concurrency` tasks calling back to back until the count or the time runs out."""
    latencies: defaultdict[str, list[float]] = defaultdict(list)
    per_second = result.ok_per_second
    issued = 0
    cpu_before = _own_cpu_seconds()
    started = time.monotonic()
    stop_at = started + job.duration_s

    async def task(call: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes]) -> None:
        nonlocal issued
        while (job.count is None or issued < job.count) and time.monotonic() < stop_at:
            issued += 1
            began = time.perf_counter()
            try:
                await call(job.payload, timeout=job.deadline_s)
                code = "OK"
            except grpc.aio.AioRpcError as error:
                code = error.code().name
                details = error.details() or ""
                result.messages.setdefault(code, details)
                if code == "RESOURCE_EXHAUSTED":
                    reason = refusal_reason(details)
                    result.refusals[reason] = result.refusals.get(reason, 0) + 1
            latencies[code].append(time.perf_counter() - began)
            if code == "OK":
                second = int(time.monotonic() - started)
                if second >= len(per_second):
                    per_second.extend([0] * (second + 1 - len(per_second)))
                per_second[second] += 1
            elif job.refusal_pause_s > 0:
                await asyncio.sleep(job.refusal_pause_s)

    await asyncio.gather(*(task(calls[i % len(calls)]) for i in range(job.concurrency)))
    result.finished = time.monotonic()
    result.started = started
    result.cpu_s = _own_cpu_seconds() - cpu_before
    result.latencies = dict(latencies)


def refusal_reason(details: str) -> str:
    """Why the server refused a call: its queue was full (`queue_full`), the call's deadline
    was too near to start (`deadline`), or another reason (`other`)."""
    if "max_waiting" in details:
        return "queue_full"
    if "deadline" in details:
        return "deadline"
    return "other"


def split_count(count: int | None, parts: int) -> list[int | None]:
    """`count` calls shared among `parts` processes as evenly as possible."""
    if count is None:
        return [None] * parts
    return [count // parts + (i < count % parts) for i in range(parts)]


def run_clients(
    scenario: Scenario, address: str, payload: bytes, meter: CpuMeter | None = None
) -> list[WorkerResult]:
    """Start the client processes, wait until every one is connected and warm, let them go
    together (`meter` runs from then until the last one is done), and collect their results."""
    context = multiprocessing.get_context("spawn")
    events = context.Queue()
    go = context.Event()
    counts = split_count(scenario.count, scenario.processes)
    processes = [
        context.Process(
            target=worker_main,
            args=(
                Job(
                    index=i,
                    address=address,
                    method=method_path(scenario.rpc),
                    payload=payload,
                    concurrency=scenario.concurrency,
                    channels=scenario.channels,
                    count=counts[i],
                    duration_s=scenario.duration_s,
                    deadline_s=scenario.deadline_s,
                    refusal_pause_s=scenario.refusal_pause_s,
                ),
                events,
                go,
            ),
            name=f"bench-load-{i}",
            daemon=True,
        )
        for i in range(scenario.processes)
    ]
    for process in processes:
        process.start()
    try:
        _await_events(events, "ready", len(processes), STARTUP_TIMEOUT_S)
        if meter is not None:
            meter.start()
        go.set()
        limit = scenario.duration_s + 2 * scenario.deadline_s + STARTUP_TIMEOUT_S
        done = _await_events(events, "done", len(processes), limit)
        if meter is not None:
            meter.stop()
        results = [r for r in done if isinstance(r, WorkerResult)]
        for process in processes:
            process.join(timeout=30)
        return sorted(results, key=lambda r: r.index)
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
                process.join(timeout=10)
            process.close()
        events.close()
        events.join_thread()


def _await_events(events: Any, kind: str, n: int, timeout_s: float) -> list[object]:
    deadline = time.monotonic() + timeout_s
    received: list[object] = []
    while len(received) < n:
        try:
            what, index, payload = events.get(timeout=max(deadline - time.monotonic(), 0.01))
        except queue.Empty:
            raise TimeoutError(f"client processes: {len(received)} of {n} {kind}") from None
        if what == "failed":
            raise RuntimeError(f"client process {index} failed: {payload}")
        if what != kind:
            raise RuntimeError(f"client process {index}: {what} while waiting for {kind}")
        received.append(payload)
    return received


# --- one scenario -----------------------------------------------------------------------------


def method_path(rpc: str) -> str:
    """The gRPC method a scenario calls: a VentureService RPC, or the health check."""
    return HEALTH_CHECK if rpc == "Check" else SERVICE + rpc


def _request_and_response_types(rpc: str) -> tuple[type[Any], type[Any]]:
    from grpc_health.v1 import health_pb2  # noqa: PLC0415  (not in the client processes)

    from venture.v1 import round_pb2, scoring_pb2  # noqa: PLC0415

    if rpc == "Check":
        return health_pb2.HealthCheckRequest, health_pb2.HealthCheckResponse
    if rpc == "ScoreProposals":
        return scoring_pb2.ScoreProposalsRequest, scoring_pb2.ScoreProposalsResponse
    if rpc == "OptimizeRound":
        return round_pb2.OptimizeRoundRequest, round_pb2.OptimizeRoundResponse
    raise ValueError(f"no load scenario calls {rpc}")


def request_bytes(scenario: Scenario) -> bytes:
    """The example request parsed from its JSON and serialised once."""
    from google.protobuf import json_format  # noqa: PLC0415

    request_type, _ = _request_and_response_types(scenario.rpc)
    if scenario.rpc == "Check":  # the health of the service, as a load balancer asks it
        return bytes(request_type(service="venture.v1.VentureService").SerializeToString())
    if scenario.example == SMALLEST_SCORE_NAME:
        message = json_format.ParseDict(SMALLEST_SCORE, request_type())
    else:
        text = (EXAMPLES / scenario.example).read_text(encoding="utf-8")
        message = json_format.Parse(text, request_type())
    return bytes(message.SerializeToString())


def checked_call(scenario: Scenario, address: str, payload: bytes) -> float:
    """One call with a long deadline whose answer must parse as the RPC's response; seconds."""
    _, response_type = _request_and_response_types(scenario.rpc)
    with grpc.insecure_channel(address, options=CHANNEL_OPTIONS) as channel:
        call: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(
            method_path(scenario.rpc)
        )
        started = time.perf_counter()
        answer = call(payload, timeout=120.0)
        seconds = time.perf_counter() - started
    response = response_type()
    response.ParseFromString(answer)
    if not response.ByteSize():
        raise RuntimeError(f"{scenario.rpc}: an empty response")
    return seconds


def run_scenario(scenario: Scenario) -> dict[str, object]:
    """Start a server, check one call, run the clients against it, stop it; the row."""
    payload = request_bytes(scenario)
    server = ServerProcess(scenario.server_flags)
    try:
        checked_call(scenario, server.address, payload)  # the request is valid; warm
        rss_start = tree_kib(server.pid, "VmRSS")
        peak_start = tree_kib(server.pid, "VmHWM")
        sampler = MemorySampler(server.pid, scenario.sample_interval_s)
        meter = CpuMeter(server.pid)
        try:
            results = run_clients(scenario, server.address, payload, meter)
        finally:
            samples = sampler.stop()
        recovery_s: float | None = None
        if scenario.expected_errors:
            try:
                recovery_s = checked_call(scenario, server.address, payload)
            except grpc.RpcError:
                recovery_s = None
        peak = tree_kib(server.pid, "VmHWM")
        rss_end = tree_kib(server.pid, "VmRSS")
        log_lines = server.log_lines()
        exit_code = server.stop()
        if exit_code != 0:
            print(
                f"bench load: the server exited {exit_code}:\n{server.log_tail()}", file=sys.stderr
            )
    finally:
        server.close()
    row = summarise(scenario, results)
    wall = wall_seconds(results)
    calls = sum(len(v) for r in results for v in r.latencies.values())
    client_cpu_s = sum(r.cpu_s for r in results)
    row.update(
        {
            "request_bytes": len(payload),
            "response_bytes": max((r.response_bytes for r in results), default=0),
            "server_flags": list(scenario.server_flags),
            "server_cpu_pct": _pct(meter.server_s, meter.wall_s),
            "client_cpu_pct": _pct(client_cpu_s, wall),
            "server_cpu_ms_per_call": _per_call(meter.server_s, calls),
            "client_cpu_ms_per_call": _per_call(client_cpu_s, calls),
            "machine_cpu_pct": _pct(meter.machine_s, meter.wall_s),
            "cpus": os.cpu_count(),
            "rss_start_mib": _mib(rss_start),
            "rss_end_mib": _mib(rss_end),
            "peak_rss_mib": _mib(peak),
            "peak_rss_before_load_mib": _mib(peak_start),
            "rss_max_sampled_mib": _mib(max((kib for _, kib in samples), default=None)),
            "server_log_lines": log_lines,
            "server_exit_code": exit_code,
        }
    )
    if scenario.expected_errors:
        row["recovered"] = recovery_s is not None
        row["recovery_call_ms"] = None if recovery_s is None else round(recovery_s * 1000, 1)
    if scenario.name == "soak":
        row.update(memory_trend(samples, scenario.duration_s))
    return row


def _pct(cpu_s: float, wall_s: float) -> float | None:
    """CPU seconds per wall second, in percent of one core (200 = two cores busy)."""
    return round(100 * cpu_s / wall_s, 1) if wall_s > 0 else None


def _per_call(cpu_s: float, calls: int) -> float | None:
    """CPU milliseconds per call (all calls, refused ones included): with the machine's cores,
    the throughput it could reach, however busy the machine was while measuring."""
    return round(1000 * cpu_s / calls, 2) if calls else None


def _mib(kib: float | None) -> float | None:
    return None if kib is None else round(kib / 1024, 1)


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def percentile(ordered: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) of sorted values, nearest rank."""
    if not ordered:
        raise ValueError("no values")
    rank = max(int(-(-q * len(ordered) // 100)), 1)  # ceil(q/100 * n), at least 1
    return ordered[min(rank, len(ordered)) - 1]


def wall_seconds(results: Sequence[WorkerResult]) -> float:
    """From the first client's start to the last one's end."""
    if not results:
        return 0.0
    return max(r.finished for r in results) - min(r.started for r in results)


def summarise(scenario: Scenario, results: Sequence[WorkerResult]) -> dict[str, object]:
    """Merge the client processes' results into the scenario's row (without the server's)."""
    by_code: defaultdict[str, list[float]] = defaultdict(list)
    messages: dict[str, str] = {}
    for result in results:
        for code, values in result.latencies.items():
            by_code[code].extend(values)
        for code, message in result.messages.items():
            messages.setdefault(code, message)
    wall = wall_seconds(results)
    ok = sorted(by_code.get("OK", []))
    errors = {code: len(v) for code, v in sorted(by_code.items()) if code != "OK"}
    row: dict[str, object] = {
        "suite": "load",
        "case": scenario.name,
        "rpc": scenario.rpc,
        "request": scenario.example,
        "processes": scenario.processes,
        "concurrency": scenario.processes * scenario.concurrency,
        "concurrency_per_process": scenario.concurrency,
        "channels_per_process": scenario.channels,
        "deadline_s": scenario.deadline_s,
        "count_limit": scenario.count,
        "duration_limit_s": scenario.duration_s,
        "seconds": round(wall, 3),
        "calls": sum(len(v) for v in by_code.values()),
        "ok": len(ok),
        "rpc_per_s": round(len(ok) / wall, 1) if wall > 0 else None,
        "p50_ms": _ms(percentile(ok, 50)) if ok else None,
        "p90_ms": _ms(percentile(ok, 90)) if ok else None,
        "p99_ms": _ms(percentile(ok, 99)) if ok else None,
        "max_ms": _ms(ok[-1]) if ok else None,
        "errors_by_code": errors,
        "unexpected_errors": sum(
            n for code, n in errors.items() if code not in scenario.expected_errors
        ),
    }
    if messages:
        row["error_messages"] = {code: messages[code][:200] for code in sorted(messages)}
    if scenario.expected_errors:
        refused = sorted(by_code.get("RESOURCE_EXHAUSTED", []))
        row["refused"] = len(refused)
        # In a closed loop, refusal latency is about the refusing tasks / this rate (queueing).
        row["refused_per_s"] = round(len(refused) / wall, 1) if wall > 0 else None
        reasons: defaultdict[str, int] = defaultdict(int)
        for result in results:
            for reason, n in result.refusals.items():
                reasons[reason] += n
        row["refused_by_reason"] = dict(sorted(reasons.items()))
        row["refused_p50_ms"] = _ms(percentile(refused, 50)) if refused else None
        row["refused_p99_ms"] = _ms(percentile(refused, 99)) if refused else None
        row["refused_max_ms"] = _ms(refused[-1]) if refused else None
    if scenario.name == "soak":
        # Whole seconds only: the last, partial one (calls still ending) would read as a drop.
        per_second = [0] * int(wall)
        for result in results:
            for second, n in enumerate(result.ok_per_second[: len(per_second)]):
                per_second[second] += n
        row["rpc_per_s_by_minute"] = [
            round(sum(per_second[i : i + 60]) / len(per_second[i : i + 60]), 1)
            for i in range(0, len(per_second), 60)
        ]
    return row


def memory_trend(
    samples: Sequence[tuple[float, int]], duration_s: float, points: int = 10
) -> dict[str, object]:
    """The server's RSS over a soak: after warm-up (the first tenth, at most 30 s), in the
    middle and at the end, the least-squares slope after warm-up in MiB per minute, and about
    `points` samples [seconds, MiB] to plot."""
    if not samples:
        return {"rss_samples_mib": []}
    warm = min(30.0, duration_s / 10)
    steady = [(t, kib / 1024) for t, kib in samples if t >= warm] or [
        (t, kib / 1024) for t, kib in samples
    ]
    middle = min(steady, key=lambda s: abs(s[0] - (steady[0][0] + steady[-1][0]) / 2))
    slope = 0.0
    if len(steady) >= 2:
        mean_t = sum(t for t, _ in steady) / len(steady)
        mean_m = sum(m for _, m in steady) / len(steady)
        var = sum((t - mean_t) ** 2 for t, _ in steady)
        if var > 0:
            slope = sum((t - mean_t) * (m - mean_m) for t, m in steady) / var * 60
    step = max(len(samples) // points, 1)
    shown = list(samples[::step])
    if shown[-1] != samples[-1]:
        shown.append(samples[-1])
    return {
        "rss_warmup_s": warm,
        "rss_after_warmup_mib": round(steady[0][1], 1),
        "rss_mid_mib": round(middle[1], 1),
        "rss_last_mib": round(steady[-1][1], 1),
        "rss_growth_mib": round(steady[-1][1] - steady[0][1], 1),
        "rss_slope_mib_per_min": round(slope, 3),
        "rss_samples_mib": [[round(t, 1), round(kib / 1024, 1)] for t, kib in shown],
    }
