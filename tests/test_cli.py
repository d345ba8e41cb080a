"""The `venture` command: help, scoring and allocating a file, a served process's lifecycle."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench.allocation.instances import CASES, make_problem
from service.client import VentureClient
from service.convert.allocation import problem_to_pb
from tests.helpers import (
    COUNTY_ALLOCATION,
    WAN,
    sized_request,
    small_allocation_request,
    small_request,
)
from venture.v1 import allocation_pb2, matching_pb2, scoring_pb2

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples/score_county.json"
CLI = [sys.executable, "-m", "service.cli"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=120, cwd=ROOT, check=False
    )


def test_help_explains_each_command() -> None:
    done = _run("--help")
    assert done.returncode == 0
    for command in ("serve", "score", "allocate", "match-needs", "match-mentors", "health"):
        assert f"\n  {command}" in done.stdout
    serve_help = _run("serve", "--help").stdout
    assert "--port" in serve_help and "VENTURE_PORT" in serve_help


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "venture"
    assert script.exists()
    assert (
        subprocess.run(
            [str(script), "--help"], capture_output=True, timeout=60, check=False
        ).returncode
        == 0
    )


def test_score_local_prints_the_ranked_shortlist() -> None:
    done = _run("score", str(EXAMPLE), "--local")
    assert done.returncode == 0, done.stderr
    assert "Ranked shortlist (24 proposals, aggregation trimmed_mean)" in done.stdout
    assert "社区助老食堂" in done.stdout  # titles come from the request
    assert "ineligible" in done.stdout  # P17 failed its annual inspection
    assert "Judges" in done.stdout


def test_score_local_json_matches_the_engine(tmp_path: Path) -> None:
    path = tmp_path / "small.json"
    path.write_text(json_format.MessageToJson(small_request()), encoding="utf-8")
    done = _run("score", str(path), "--local", "--json")
    assert done.returncode == 0, done.stderr
    ranked = [p["proposalId"] for p in json.loads(done.stdout)["result"]["proposals"]]
    assert ranked == ["P1", "P2", "P3"]


def test_score_rejects_a_file_that_is_not_a_request(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"criteria": 5}', encoding="utf-8")
    done = _run("score", str(path), "--local")
    assert done.returncode == 2
    assert "bad.json: not a ScoreProposalsRequest" in done.stderr


def test_score_reports_every_bad_field(tmp_path: Path) -> None:
    request = small_request()
    request.criteria[0].weight = -1
    request.sheets[0].scores[1].value = 12
    path = tmp_path / "invalid.json"
    path.write_text(json_format.MessageToJson(request), encoding="utf-8")
    done = _run("score", str(path), "--local")
    assert done.returncode == 2
    assert "criteria[0].weight: must be a positive number (got -1.0)" in done.stderr


def test_serve_refuses_bad_configuration() -> None:
    done = _run("serve", "--port", "99999")
    assert done.returncode == 2
    assert "port: 99999 is outside 0..65535" in done.stderr


class ServedProcess:
    """`venture serve --port 0` in a child process; stderr (the call log) is kept for asserts."""

    def __init__(self, *flags: str) -> None:
        self.process = subprocess.Popen(
            [*CLI, "serve", "--port", "0", *flags],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env={**os.environ, "VENTURE_LOG_LEVEL": "INFO"},
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("venture listening on "):
            self.close()
            raise AssertionError(f"server did not start: {line}{self.stderr}")
        self.address = line.removeprefix("venture listening on ").strip()
        self.stderr = ""

    def close(self) -> None:
        """Kill the process if it still runs, and collect its output (closes the pipes)."""
        if self.process.poll() is None:
            self.process.kill()
        _, self.stderr = self.process.communicate(timeout=30)

    def __enter__(self) -> ServedProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process, from /proc (Linux, as CI runs)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_for(condition: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def test_sigterm_drains_in_flight_calls_and_exits_cleanly() -> None:
    # A call heavy enough to still be running when SIGTERM arrives.
    heavy = sized_request(proposals=2000, judges=7, criteria=6, samples=10000)
    outcome: dict[str, object] = {}
    with ServedProcess("--grace-period-s", "30") as served:
        with grpc.insecure_channel(served.address) as channel:
            watch = health_pb2_grpc.HealthStub(channel).Watch(
                health_pb2.HealthCheckRequest(), timeout=60
            )
            statuses = [next(watch).status]

            def call() -> None:
                with VentureClient(served.address, timeout_s=120) as client:
                    outcome["response"] = client.score_proposals(heavy)

            before = _cpu_seconds(served.process.pid)
            worker = threading.Thread(target=call)
            worker.start()
            # SIGTERM only once the server is computing the call (it has used half a second of
            # CPU on it): a signal that beats the request to the server tests nothing.
            _wait_for(lambda: _cpu_seconds(served.process.pid) - before >= 0.5, timeout_s=60)
            served.process.send_signal(signal.SIGTERM)
            statuses.append(next(watch).status)
            worker.join(timeout=120)
        exit_code = served.process.wait(timeout=60)
    assert statuses == [
        health_pb2.HealthCheckResponse.SERVING,
        health_pb2.HealthCheckResponse.NOT_SERVING,
    ]
    response = outcome["response"]
    assert isinstance(response, scoring_pb2.ScoreProposalsResponse)
    assert len(response.result.proposals) == 2000
    assert exit_code == 0
    # One log line per call, never the body: the ScoreProposals line has method, code and ms.
    calls = [
        line
        for line in served.stderr.splitlines()
        if "method=/venture.v1.VentureService/ScoreProposals" in line
    ]
    assert len(calls) == 1 and "code=OK" in calls[0] and " ms=" in calls[0]
    assert "P00001" not in served.stderr


def test_health_command_against_a_running_server() -> None:
    with ServedProcess() as served:
        done = _run("health", "--address", served.address)
        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(timeout=30) == 0
    assert (done.returncode, done.stdout.strip()) == (0, "SERVING")
    unreachable = _run("health", "--address", "127.0.0.1:1", "--timeout", "1")
    assert unreachable.returncode == 3


def test_score_local_and_address_are_exclusive() -> None:
    done = _run("score", str(EXAMPLE), "--local", "--address", "127.0.0.1:1")
    assert done.returncode == 2
    assert "not allowed with argument" in done.stderr


def _write(tmp_path: Path, request: Message) -> Path:
    path = tmp_path / "allocate.json"
    path.write_text(json_format.MessageToJson(request), encoding="utf-8")
    return path


def _bad_allocation(tmp_path: Path) -> Path:
    request = small_allocation_request()
    request.proposals[0].requested_fen = -5
    request.rules.quotas[0].max_count = 0  # below its min_count of 1
    return _write(tmp_path, request)


def test_allocate_rejects_a_file_that_is_not_a_request(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"rules": 5}', encoding="utf-8")
    done = _run("allocate", str(path), "--local")
    assert done.returncode == 2
    assert "bad.json: not an AllocateFundingRequest" in done.stderr


def test_allocate_reports_every_bad_field(tmp_path: Path) -> None:
    done = _run("allocate", str(_bad_allocation(tmp_path)), "--local")
    assert done.returncode == 2
    assert "proposals[0].requested_fen: must be positive (got -5)" in done.stderr
    assert "rules.quotas[0].max_count: must not be below min_count (1) (got 0)" in done.stderr


def test_allocate_validate_only_lists_problems_without_solving(tmp_path: Path) -> None:
    request = small_allocation_request()
    request.options.validate_only = True
    done = _run("allocate", str(_write(tmp_path, request)), "--local")
    assert (done.returncode, done.stdout.strip()) == (0, "valid")
    request.rules.locked_decisions.add(
        proposal_id="P9", decision=allocation_pb2.LOCKED_DECISION_KIND_REJECTED
    )
    done = _run("allocate", str(_write(tmp_path, request)), "--local")
    assert done.returncode == 0
    assert '  rules.locked_decisions[0].proposal_id: unknown proposal (got "P9")' in done.stdout


def test_allocate_against_a_server_reports_bad_fields(tmp_path: Path) -> None:
    path = _bad_allocation(tmp_path)
    with ServedProcess() as served:
        done = _run("allocate", str(path), "--address", served.address)
    assert done.returncode == 2
    assert "venture allocate: INVALID_ARGUMENT: " in done.stderr
    assert "  rules.quotas[0].max_count: must not be below min_count (1) (got 0)" in done.stderr


# These solve, so they need matching/allocation/engine.py.


def test_allocate_local_prints_awards_reasons_and_spend() -> None:
    done = _run("allocate", str(COUNTY_ALLOCATION), "--local")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Allocation optimal: ")
    for heading in ("Awards (", "Not funded (", "Spend"):
        assert heading in done.stdout
    assert "社区助老食堂" in done.stdout  # titles come from the request
    assert "below pass line" in done.stdout  # P03 scored 57.77 against a pass line of 60


def test_allocate_local_json_is_the_whole_response() -> None:
    done = _run("allocate", str(COUNTY_ALLOCATION), "--local", "--json")
    assert done.returncode == 0, done.stderr
    response = json.loads(done.stdout)
    assert response["labels"] == {"caller": "demo", "round": "2026-county-spring"}
    assert response["result"]["summary"]["status"] == "SOLVE_STATUS_OPTIMAL"
    funded = {a["proposalId"] for a in response["result"]["awards"]}
    unfunded = {u["proposalId"] for u in response["result"]["unfunded"]}
    assert len(funded | unfunded) == 24 and not funded & unfunded


def test_allocate_exits_1_when_the_rules_admit_no_allocation(tmp_path: Path) -> None:
    request = small_allocation_request()
    del request.rules.pools[:]
    request.rules.total_budget_fen = 5 * WAN
    request.rules.quotas[0].min_count = 2  # both youth proposals: 3万 + 4万 > 5万
    done = _run("allocate", str(_write(tmp_path, request)), "--local")
    assert done.returncode == 1, done.stderr
    assert done.stdout.startswith("Allocation infeasible: 0 of ")
    assert "conflict: " in done.stdout and "rules.quotas[0]" in done.stdout


def test_allocate_through_a_running_server() -> None:
    with ServedProcess() as served:
        done = _run("allocate", str(COUNTY_ALLOCATION), "--address", served.address)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Allocation optimal: ")


def test_allocate_json_output_stays_valid_json_when_the_solver_prints(tmp_path: Path) -> None:
    # The benchmark's city round makes SciPy's HiGHS print a debugging line from native code;
    # it must land on stderr, not in the JSON on stdout.
    request = tmp_path / "city.json"
    request.write_text(json_format.MessageToJson(problem_to_pb(make_problem(CASES["city"]))))
    done = _run("allocate", str(request), "--local", "--json")
    assert done.returncode == 0, done.stderr
    response = json.loads(done.stdout)
    assert response["result"]["summary"]["status"] == "SOLVE_STATUS_OPTIMAL"


NEEDS_EXAMPLE = ROOT / "examples/match_needs_county.json"
MENTORS_EXAMPLE = ROOT / "examples/match_mentors_county.json"


def test_match_needs_local_prints_matches_and_unmet_needs() -> None:
    done = _run("match-needs", str(NEEDS_EXAMPLE), "--local")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Matching optimal: ")
    assert "Matches (" in done.stdout and "Needs left short (" in done.stdout
    assert "domain mismatch" in done.stdout  # N30 asks for legal aid, which nobody offers


def test_match_needs_json_is_the_whole_response() -> None:
    done = _run("match-needs", str(NEEDS_EXAMPLE), "--local", "--json")
    assert done.returncode == 0, done.stderr
    response = json.loads(done.stdout)
    assert response["result"]["summary"]["status"] == "SOLVE_STATUS_OPTIMAL"
    assert len(response["result"]["needCandidates"]) == 30


def test_match_needs_exits_1_when_minimums_cannot_hold(tmp_path: Path) -> None:
    request = json_format.Parse(
        NEEDS_EXAMPLE.read_text(encoding="utf-8"), matching_pb2.MatchNeedsRequest()
    )
    request.policy.soft_minimums = False
    done = _run("match-needs", str(_write(tmp_path, request)), "--local")
    assert done.returncode == 1, done.stderr
    assert "FAILED_PRECONDITION" in done.stderr
    assert "needs[29].min_organizations" in done.stderr  # N30: no legal-aid organization


def test_match_mentors_through_a_running_server() -> None:
    with ServedProcess() as served:
        done = _run("match-mentors", str(MENTORS_EXAMPLE), "--address", served.address)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Mentor matching optimal: ")
    assert "Teams (" in done.stdout
