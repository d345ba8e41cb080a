"""Prometheus metrics of one server, on a registry of its own (never the process-wide default,
so that many servers in one process, as in the tests, keep separate counts).

The interceptor records every call (calls_total, call_seconds, in_flight_calls), the servicer
the time each call holds a solver (solve_seconds: a solver thread, or the event loop for a
small ScoreProposals call run inline); the waiting calls and solver slots are
read from the server's Admission when scraped. `start_exporter` serves them over plain HTTP on a
port apart from gRPC (bind it to an internal interface).

Method labels are bounded: a VentureService RPC is its short name ("ScoreProposals"), the
health and reflection methods their full path, anything else OTHER_METHOD.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Protocol, TypeVar

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    start_http_server,
)

from venture.v1 import venture_service_pb2

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

T = TypeVar("T")

_SERVICE = venture_service_pb2.DESCRIPTOR.services_by_name["VentureService"]
SERVICE_PREFIX = f"/{_SERVICE.full_name}/"
RPC_NAMES = tuple(m.name for m in _SERVICE.methods)
OTHER_METHOD = "other"
"""The label of any method not listed here (bounds the label's values)."""
_FULL_PATH_METHODS = frozenset(
    {
        "/grpc.health.v1.Health/Check",
        "/grpc.health.v1.Health/Watch",
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    }
)
SECONDS_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0,
)  # fmt: skip
"""1 ms (a refused or validate-only call) .. 120 s (a large round near its time limit)."""
_CALL_METHOD: ContextVar[str | None] = ContextVar("venture_call_method", default=None)
"""The method label of the call being handled (set as the call starts; tasks the call starts,
such as a batch's lanes, inherit it)."""


class AdmissionView(Protocol):
    """What the metrics read from service.admission.Admission."""

    @property
    def waiting(self) -> int: ...

    @property
    def workers(self) -> int: ...


def method_label(method: str) -> str:
    """The bounded label of a full gRPC method path ("/pkg.Service/Method")."""
    if method.startswith(SERVICE_PREFIX):
        name = method[len(SERVICE_PREFIX) :]
        return name if name in RPC_NAMES else OTHER_METHOD
    return method if method in _FULL_PATH_METHODS else OTHER_METHOD


def rpc_label(name: str) -> str:
    """The label of a VentureService RPC given by its short name."""
    return name if name in RPC_NAMES else OTHER_METHOD


def solve_label(request: object) -> str:
    """The method label of a solve: the call's (so a batch's rounds count under
    BatchOptimizeRounds), else, outside a metered call, the RPC the request's type names
    (ScoreProposalsRequest -> ScoreProposals)."""
    label = _CALL_METHOD.get()
    if label is not None:
        return label
    message = getattr(getattr(request, "DESCRIPTOR", None), "name", "")
    return rpc_label(str(message).removesuffix("Request"))


class Metrics:
    """The server's metrics on their own CollectorRegistry (`registry`)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.calls = Counter(
            "venture_calls",
            "Calls finished, by method and final gRPC status code",
            ("method", "code"),
            registry=registry,
        )
        self.call_seconds = Histogram(
            "venture_call_seconds",
            "Wall-clock seconds from a call's arrival to its status (whole stream for streams)",
            ("method",),
            buckets=SECONDS_BUCKETS,
            registry=registry,
        )
        self.solve_seconds = Histogram(
            "venture_solve_seconds",
            "Seconds a call held a solver (the solve itself, without waiting)",
            ("method",),
            buckets=SECONDS_BUCKETS,
            registry=registry,
        )
        self.in_flight = Gauge(
            "venture_in_flight_calls",
            "Calls being handled now, by method (a waiting call counts too)",
            ("method",),
            registry=registry,
        )
        self.waiting = Gauge(
            "venture_waiting_calls",
            "Calls waiting for a free solver thread now",
            registry=registry,
        )
        self.solver_slots = Gauge(
            "venture_solver_slots",
            "Solver threads (the --workers setting): solves that may run at once",
            registry=registry,
        )
        for name in RPC_NAMES:  # every RPC shows up from the first scrape, at zero
            self.in_flight.labels(name)
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)

    def watch_admission(self, admission: AdmissionView) -> None:
        """Report the waiting calls and solver slots of the server's admission control."""
        self.waiting.set_function(lambda: admission.waiting)
        self.solver_slots.set(admission.workers)

    def call_started(self, label: str) -> None:
        """A call starts (in its own task: the label is kept for its solves, see solve_label)."""
        _CALL_METHOD.set(label)
        self.in_flight.labels(label).inc()

    def call_finished(self, label: str, code: str, seconds: float) -> None:
        self.in_flight.labels(label).dec()
        self.calls.labels(label, code).inc()
        self.call_seconds.labels(label).observe(seconds)

    def timed_solve(self, label: str, solve: Callable[[], T]) -> T:
        """Run `solve` (on a solver thread, or inline) and observe how long it held the solver."""
        started = time.perf_counter()
        try:
            return solve()
        finally:
            self.solve_seconds.labels(label).observe(time.perf_counter() - started)


def start_exporter(metrics: Metrics, host: str, port: int) -> tuple[WSGIServer, threading.Thread]:
    """Serve `metrics` over plain HTTP on host:port (0: a free port) in a daemon thread; returns
    the HTTP server and its thread. Raises OSError when the port cannot be bound."""
    try:
        return start_http_server(port, host, registry=metrics.registry)
    except OSError as error:
        raise OSError(f"could not bind the metrics endpoint {host}:{port}: {error}") from error
