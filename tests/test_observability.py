"""Observability against real servers on 127.0.0.1:0: Prometheus metrics scraped over HTTP from
the separate metrics port (calls by method and final code, latency, solve time, in flight,
waiting), and structured JSON log lines that carry the client's labels but never a token or a
request body."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from service import handlers
from service.client import VentureClient, VentureError
from service.config import Limits, ServerConfig
from service.logs import JsonFormatter
from service.metrics import OTHER_METHOD, method_label, solve_label
from tests.helpers import ROOT, ServerThread, small_request
from venture.v1 import round_pb2, scoring_pb2

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
TOKEN = "tok-7f3a-never-logged"
SECRET_TITLE = "机密标题-only-in-the-body"


def scrape(server: ServerThread) -> Samples:
    """Every sample the server's metrics endpoint serves, by (name, labels)."""
    port = server.running.metrics_port
    assert port is not None
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        assert answer.status == 200
        text = answer.read().decode("utf-8")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def scrape_until(
    server: ServerThread, done: Callable[[Samples], bool], timeout_s: float = 10
) -> Samples:
    """Scrape until `done` holds: the server records a call as it ends, which may be just
    after the client has its answer."""
    deadline = time.monotonic() + timeout_s
    samples = scrape(server)
    while not done(samples) and time.monotonic() < deadline:
        time.sleep(0.02)
        samples = scrape(server)
    return samples


@pytest.fixture
def metered() -> Iterator[ServerThread]:
    thread = ServerThread(ServerConfig(port=0, metrics_port=0, limits=Limits(max_proposals=500)))
    yield thread
    thread.stop()


@pytest.fixture
def secured() -> Iterator[ServerThread]:
    thread = ServerThread(ServerConfig(port=0, metrics_port=0, tokens=(TOKEN,)))
    yield thread
    thread.stop()


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """The `venture` loggers' records at INFO, formatted by the JSON formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("venture")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(level)


def json_lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def call_lines(stream: io.StringIO, count: int, timeout_s: float = 5) -> list[dict[str, object]]:
    """The per-call lines (venture.calls, with a code), once there are `count` of them."""
    deadline = time.monotonic() + timeout_s
    while True:
        lines = [
            line
            for line in json_lines(stream)
            if line["logger"] == "venture.calls" and "code" in line
        ]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.02)


def test_calls_are_counted_by_method_and_code_with_latency_and_solve_time(
    metered: ServerThread,
) -> None:
    bad = small_request()
    bad.criteria[1].weight = 0
    with VentureClient(metered.address) as client:
        assert client.score_proposals(small_request()).result.proposals
        with pytest.raises(VentureError) as caught:
            client.score_proposals(bad)
        assert caught.value.code is grpc.StatusCode.INVALID_ARGUMENT
        assert client.health() == "SERVING"

    def done(s: Samples) -> bool:
        return value(s, "venture_call_seconds_count", method="ScoreProposals") == 2

    samples = scrape_until(metered, done)
    calls = {
        dict(labels)["code"]: v
        for (name, labels), v in samples.items()
        if name == "venture_calls_total" and dict(labels)["method"] == "ScoreProposals"
    }
    assert calls == {"OK": 1.0, "INVALID_ARGUMENT": 1.0}
    health = "/grpc.health.v1.Health/Check"
    assert value(samples, "venture_calls_total", method=health, code="OK") == 1.0
    assert value(samples, "venture_call_seconds_count", method="ScoreProposals") == 2.0
    assert value(samples, "venture_call_seconds_bucket", method="ScoreProposals", le="+Inf") == 2
    # Both calls held a solver thread: the request is validated there too.
    assert value(samples, "venture_solve_seconds_count", method="ScoreProposals") == 2.0
    solve_sum = value(samples, "venture_solve_seconds_sum", method="ScoreProposals")
    call_sum = value(samples, "venture_call_seconds_sum", method="ScoreProposals")
    assert solve_sum is not None and call_sum is not None and 0 < solve_sum <= call_sum
    assert value(samples, "venture_in_flight_calls", method="ScoreProposals") == 0.0
    assert value(samples, "venture_in_flight_calls", method="MatchNeeds") == 0.0  # from the start
    assert value(samples, "venture_waiting_calls") == 0.0
    assert value(samples, "venture_solver_slots") == 2.0
    assert (value(samples, "process_resident_memory_bytes") or 0) > 0
    assert any(name == "python_gc_collections_total" for name, _ in samples)


def test_streams_and_unknown_methods_are_counted_with_bounded_labels(
    metered: ServerThread,
) -> None:
    with grpc.insecure_channel(metered.address) as channel:
        batch = channel.unary_stream(
            "/venture.v1.VentureService/BatchOptimizeRounds",
            response_deserializer=round_pb2.BatchOptimizeRoundsResponse.FromString,
        )
        # One empty round: refused in its answer, after a (short) turn on a solver thread.
        one = round_pb2.BatchOptimizeRoundsRequest(rounds=[round_pb2.OptimizeRoundRequest()])
        (answer,) = list(batch(one.SerializeToString(), timeout=30))
        assert answer.WhichOneof("outcome") == "error"
        for name in ("/venture.v1.VentureService/NoSuchRpc", "/made.up.Service/X"):
            with pytest.raises(grpc.RpcError) as caught:
                channel.unary_unary(name)(b"", timeout=10)
            assert caught.value.code() is grpc.StatusCode.UNIMPLEMENTED

    def done(s: Samples) -> bool:
        return value(s, "venture_calls_total", method="BatchOptimizeRounds", code="OK") == 1

    samples = scrape_until(metered, done)
    assert value(samples, "venture_calls_total", method="BatchOptimizeRounds", code="OK") == 1
    assert value(samples, "venture_call_seconds_count", method="BatchOptimizeRounds") == 1
    assert value(samples, "venture_in_flight_calls", method="BatchOptimizeRounds") == 0
    # A batch's rounds hold the solver under the batch's method, not OptimizeRound's.
    assert value(samples, "venture_solve_seconds_count", method="BatchOptimizeRounds") == 1
    assert value(samples, "venture_solve_seconds_count", method="OptimizeRound") is None
    assert value(samples, "venture_calls_total", method=OTHER_METHOD, code="UNIMPLEMENTED") == 2
    methods = {dict(labels).get("method") for name, labels in samples if name.startswith("ven")}
    assert methods <= {
        None,
        OTHER_METHOD,
        "ScoreProposals",
        "AllocateFunding",
        "MatchNeeds",
        "MatchMentors",
        "OptimizeRound",
        "BatchOptimizeRounds",
    }


def test_method_labels_are_short_rpc_names_or_known_full_paths() -> None:
    assert method_label("/venture.v1.VentureService/ScoreProposals") == "ScoreProposals"
    assert method_label("/grpc.health.v1.Health/Watch") == "/grpc.health.v1.Health/Watch"
    assert method_label("/venture.v1.VentureService/Nope") == OTHER_METHOD
    assert method_label("/x" * 500) == OTHER_METHOD
    # Outside a metered call, a solve is labelled by its request's type.
    assert solve_label(small_request()) == "ScoreProposals"
    assert solve_label(round_pb2.OptimizeRoundRequest()) == "OptimizeRound"
    assert solve_label(object()) == OTHER_METHOD


def test_a_call_refused_for_its_token_is_counted_unauthenticated(secured: ServerThread) -> None:
    with VentureClient(secured.address, token="wrong") as client:
        with pytest.raises(VentureError) as caught:
            client.score_proposals(small_request())
        assert caught.value.code is grpc.StatusCode.UNAUTHENTICATED
        with pytest.raises(VentureError):
            list(client.batch_optimize_rounds(round_pb2.BatchOptimizeRoundsRequest()))
    with VentureClient(secured.address, token=TOKEN) as client:
        assert client.score_proposals(small_request()).result.proposals

    def done(s: Samples) -> bool:
        return value(s, "venture_call_seconds_count", method="ScoreProposals") == 2

    samples = scrape_until(secured, done)
    code = "UNAUTHENTICATED"
    assert value(samples, "venture_calls_total", method="ScoreProposals", code=code) == 1
    assert value(samples, "venture_calls_total", method="BatchOptimizeRounds", code=code) == 1
    assert value(samples, "venture_calls_total", method="ScoreProposals", code="OK") == 1
    # The refused call never reached a solver.
    assert value(samples, "venture_solve_seconds_count", method="ScoreProposals") == 1


def test_waiting_and_refused_calls_under_overload(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    score = handlers.score_proposals

    def held(request: scoring_pb2.ScoreProposalsRequest, limits: Limits) -> object:
        release.wait(30)
        return score(request, limits)

    monkeypatch.setattr(handlers, "score_proposals", held)
    # inline_max_cells=0: the held solves must hold solver threads, not the event loop.
    config = ServerConfig(port=0, metrics_port=0, workers=1, max_waiting=1, inline_max_cells=0)
    server = ServerThread(config)
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:

            def call() -> object:
                with VentureClient(server.address) as client:
                    return client.score_proposals(small_request())

            calls: list[Future[object]] = [pool.submit(call), pool.submit(call)]

            def holding(s: Samples) -> bool:
                return value(s, "venture_waiting_calls") == 1

            samples = scrape_until(server, holding)
            try:
                assert value(samples, "venture_waiting_calls") == 1
                assert value(samples, "venture_in_flight_calls", method="ScoreProposals") == 2
                assert value(samples, "venture_solver_slots") == 1
                with VentureClient(server.address) as client, pytest.raises(VentureError) as got:
                    client.score_proposals(small_request())
                assert got.value.code is grpc.StatusCode.RESOURCE_EXHAUSTED
            finally:
                release.set()
            assert all(c.result(timeout=60) for c in calls)

        def settled(s: Samples) -> bool:
            return value(s, "venture_call_seconds_count", method="ScoreProposals") == 3

        samples = scrape_until(server, settled)
        code = "RESOURCE_EXHAUSTED"
        assert value(samples, "venture_calls_total", method="ScoreProposals", code=code) == 1
        assert value(samples, "venture_calls_total", method="ScoreProposals", code="OK") == 2
        assert value(samples, "venture_solve_seconds_count", method="ScoreProposals") == 2
        assert value(samples, "venture_in_flight_calls", method="ScoreProposals") == 0
        assert value(samples, "venture_waiting_calls") == 0
    finally:
        release.set()
        server.stop()


def test_no_metrics_endpoint_unless_configured(server: ServerThread) -> None:
    assert server.running.metrics_port is None
    assert server.running.metrics_http is None


def test_call_log_lines_are_json_with_labels_but_no_token_or_body(
    secured: ServerThread, log_output: io.StringIO
) -> None:
    request = small_request()
    request.labels["case"] = "json-line"
    request.proposals[0].title = SECRET_TITLE
    with VentureClient(secured.address, token=TOKEN) as client:
        assert client.score_proposals(request).result.proposals
    with (
        VentureClient(secured.address, token=TOKEN + "-wrong") as client,
        pytest.raises(VentureError),
    ):
        client.score_proposals(request)
    lines = call_lines(log_output, 2)
    assert [(line["method"], line["code"]) for line in lines] == [
        ("/venture.v1.VentureService/ScoreProposals", "OK"),
        ("/venture.v1.VentureService/ScoreProposals", "UNAUTHENTICATED"),
    ]
    for line in lines:
        assert line["level"] == "INFO"
        assert line["labels"] == {"case": "json-line", "round": "test"}
        assert isinstance(line["ms"], float) and line["ms"] >= 0
        assert isinstance(line["peer"], str) and "127.0.0.1" in line["peer"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", str(line["ts"]))
    text = log_output.getvalue()
    assert TOKEN not in text and "tok-7f3a" not in text
    assert SECRET_TITLE not in text and "机密标题" not in text
    assert "authorization" not in text.lower() and "Bearer" not in text


def test_logged_labels_are_bounded(metered: ServerThread, log_output: io.StringIO) -> None:
    request = small_request()
    for k in range(40):
        request.labels[f"k{k:02d}"] = "v" * 500
    with VentureClient(metered.address) as client:
        client.score_proposals(request)
    (line,) = call_lines(log_output, 1)
    labels = line["labels"]
    assert isinstance(labels, dict) and len(labels) == 16
    assert list(labels) == sorted(labels) and "k00" in labels
    assert all(len(v) == 100 and v.endswith("...") for v in labels.values())


def test_an_internal_error_logs_its_traceback_as_a_json_field(
    metered: ServerThread, log_output: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(handlers, "score_proposals", broken)
    with VentureClient(metered.address) as client, pytest.raises(VentureError) as caught:
        client.score_proposals(small_request())
    assert caught.value.code is grpc.StatusCode.INTERNAL
    (call,) = call_lines(log_output, 1)
    assert call["code"] == "INTERNAL"
    (error,) = [line for line in json_lines(log_output) if line["level"] == "ERROR"]
    assert error["logger"] == "venture.calls"
    assert error["method"] == "/venture.v1.VentureService/ScoreProposals"
    traceback = error["traceback"]
    assert isinstance(traceback, str) and traceback.startswith("Traceback")
    assert "RuntimeError: secret detail" in traceback


def test_json_formatter_writes_one_object_per_line_with_extras() -> None:
    record = logging.LogRecord("venture.test", logging.WARNING, __file__, 1, "a %s", ("b",), None)
    record.__dict__.update({"count": 3, "thing": object(), "nested": {"x": [1, "中"]}})
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "WARNING" and entry["logger"] == "venture.test"
    assert entry["message"] == "a b"
    assert entry["count"] == 3 and entry["nested"] == {"x": [1, "中"]}
    assert entry["thing"].startswith("<object object")
    assert "args" not in entry and "msg" not in entry and "pathname" not in entry


def test_serve_prints_the_metrics_address_and_logs_json() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", "0", "--metrics-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "VENTURE_LOG_LEVEL": "INFO"},
    )
    try:
        assert process.stdout is not None
        listening = process.stdout.readline()
        metrics = process.stdout.readline()
        assert listening.startswith("venture listening on 127.0.0.1:"), listening
        assert metrics.startswith("venture metrics on 127.0.0.1:"), metrics
        address = listening.removeprefix("venture listening on ").strip()
        metrics_address = metrics.removeprefix("venture metrics on ").strip()
        with VentureClient(address) as client:
            assert client.score_proposals(small_request()).result.proposals
        url = f"http://{metrics_address}/metrics"
        with urllib.request.urlopen(url, timeout=10) as answer:
            assert "venture_calls_total" in answer.read().decode("utf-8")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
        _, stderr = process.communicate(timeout=30)
    entries = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    calls = [e for e in entries if e["logger"] == "venture.calls"]
    assert [(e["method"], e["code"], e["labels"]) for e in calls] == [
        ("/venture.v1.VentureService/ScoreProposals", "OK", {"round": "test"})
    ]
    assert any(e["message"] == "stopped" for e in entries)
