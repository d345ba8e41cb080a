"""The load benchmark end to end with tiny bounds: a real `venture serve` process, spawned client
processes, one complete JSON row per scenario, no unexpected errors, a clean server exit."""

from __future__ import annotations

import json
from argparse import ArgumentParser

import pytest

from bench.__main__ import main
from bench.load import (
    WorkerResult,
    add_arguments,
    memory_trend,
    percentile,
    refusal_reason,
    scenario,
    split_count,
    summarise,
)

TINY = ["--processes", "1", "--concurrency", "4", "--count", "30", "--duration", "10"]
SERVER = ["--server-processes", "2", "--channels", "2"]
REQUIRED = {
    "suite",
    "case",
    "rpc",
    "processes",
    "concurrency",
    "seconds",
    "calls",
    "ok",
    "rpc_per_s",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "errors_by_code",
    "unexpected_errors",
    "peak_rss_mib",
    "server_cpu_pct",
    "client_cpu_pct",
    "server_cpu_ms_per_call",
    "server_exit_code",
}


def test_county_score_and_overload_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["load", "--case", "county_score", "--case", "overload", "--case", "health_check"]
    argv += ["--case", "smallest_score"]
    argv += [*TINY, *SERVER]
    # A long overload deadline: on a slow machine a queued call must not time out.
    assert main([*argv, "--overload-concurrency", "12", "--overload-deadline", "20"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    cases = ["county_score", "overload", "health_check", "smallest_score"]
    assert [row["case"] for row in rows] == cases
    for row in rows:
        assert not REQUIRED - set(row), REQUIRED - set(row)
        assert row["suite"] == "load"
        assert row["processes"] == 1
        assert row["calls"] == 30
        assert row["unexpected_errors"] == 0, row.get("error_messages")
        assert row["server_exit_code"] == 0
        assert row["peak_rss_mib"] > 0
        assert row["server_flags"][:2] == ["--processes", "2"]
    score, overload, health, smallest = rows
    assert score["rpc"] == "ScoreProposals"
    assert score["ok"] == 30
    assert score["errors_by_code"] == {}
    assert 0 < score["p50_ms"] <= score["p90_ms"] <= score["p99_ms"]
    # The server processes are measured, not only their supervisor (which computes nothing): a
    # county ScoreProposals costs several ms of CPU.
    assert score["server_cpu_ms_per_call"] > 1
    assert overload["rpc"] == "OptimizeRound"
    assert overload["concurrency"] == 12
    # Two server processes, each with 1 solving and 2 waiting at most: of 12 concurrent calls,
    # at least 6 are refused at once.
    assert overload["refused"] >= 6
    assert set(overload["errors_by_code"]) == {"RESOURCE_EXHAUSTED"}
    assert overload["ok"] + overload["refused"] == 30
    assert overload["refused_p50_ms"] is not None
    assert overload["refused_by_reason"]["queue_full"] >= 6
    assert overload["recovered"] is True
    assert health["rpc"] == "Check"
    assert health["ok"] == 30
    assert health["response_bytes"] == 2  # status SERVING
    assert smallest["rpc"] == "ScoreProposals"
    assert smallest["ok"] == 30 and smallest["errors_by_code"] == {}
    # An answer, explained: far more than the health check's two bytes, far less than county's.
    assert 100 < smallest["response_bytes"] < score["response_bytes"]


def test_counts_are_shared_among_processes() -> None:
    assert split_count(10, 3) == [4, 3, 3]
    assert split_count(None, 2) == [None, None]
    assert sum(c or 0 for c in split_count(24_000, 7)) == 24_000


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([7.0], 99) == 7.0


def test_results_of_processes_merge_into_one_row() -> None:
    parser = ArgumentParser()
    add_arguments(parser)
    overload = scenario("overload", parser.parse_args([]))
    results = [
        WorkerResult(
            0,
            {"OK": [0.2, 0.3], "RESOURCE_EXHAUSTED": [0.001] * 5},
            [2],
            started=10.0,
            finished=12.0,
            refusals={"queue_full": 4, "deadline": 1},
        ),
        WorkerResult(1, {"OK": [0.25], "UNAVAILABLE": [0.01]}, [1], started=10.5, finished=11.0),
    ]
    row = summarise(overload, results)
    assert row["calls"] == 9
    assert row["ok"] == 3
    assert row["rpc_per_s"] == 1.5
    assert row["errors_by_code"] == {"RESOURCE_EXHAUSTED": 5, "UNAVAILABLE": 1}
    assert row["unexpected_errors"] == 1
    assert row["refused"] == 5
    assert row["refused_p99_ms"] == 1.0
    assert row["refused_by_reason"] == {"deadline": 1, "queue_full": 4}


def test_refusals_are_told_apart_by_the_server_message() -> None:
    full = "server busy: 2 solve(s) running and 2 call(s) waiting (server limit max_waiting)"
    assert refusal_reason(full) == "queue_full"
    assert refusal_reason("server busy: the call's deadline is too near to start") == "deadline"
    assert refusal_reason("quota") == "other"


def test_memory_trend_of_a_flat_and_a_leaking_server() -> None:
    flat = memory_trend([(float(t), 200 * 1024) for t in range(300)], 300.0)
    assert flat["rss_slope_mib_per_min"] == 0.0
    assert flat["rss_after_warmup_mib"] == flat["rss_last_mib"] == 200.0
    leaking = memory_trend([(float(t), 200 * 1024 + 1024 * t // 60) for t in range(300)], 300.0)
    assert leaking["rss_slope_mib_per_min"] == pytest.approx(1.0, abs=0.05)


def test_soak_throughput_per_minute_counts_whole_seconds_only() -> None:
    parser = ArgumentParser()
    add_arguments(parser)
    soak = scenario("soak", parser.parse_args(["--soak-seconds", "120"]))
    assert soak.count is None
    assert soak.duration_s == 120.0
    result = WorkerResult(0, {"OK": [0.01] * 125}, [1] * 120 + [5], started=0.0, finished=120.5)
    assert summarise(soak, [result])["rpc_per_s_by_minute"] == [1.0, 1.0]
