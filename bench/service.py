"""Service benchmark: whole calls as a committee's tool makes them, through the real client to a
real server on 127.0.0.1:0 (serialisation, conversion, solving and back).

Case `county_example` sends examples/score_county.json to ScoreProposals (24 proposals, 7
judges, public vote and bonus components, 1,000 bootstrap samples); its row adds
`handler_ms`, the median milliseconds of each part of the same call's handler run in-process
(parse, convert, the engine's stages, to_pb: what a server process spends per call apart from
gRPC). Case `county_example_compact` sends the same request with every sheet in the compact
form (examples/score_county_compact.json: `values`, one number per criterion), with its own
`handler_ms`. Case `county_allocation`
sends examples/allocate_county.json to AllocateFunding (the same round's 24 scored proposals,
two pools, bands, quotas and coverage), and `county_allocation_90` the benchmark's 90-proposal
county round (bench.allocation.instances) converted to the wire format. Case `county_round`
sends examples/round_county.json to OptimizeRound: the whole county round (90 applications, 15
judges, 50 needs, 40 organizations, 15 mentors) scored, allocated and matched.
"""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from pathlib import Path

from bench.allocation.instances import CASES as ALLOCATION_CASES
from bench.allocation.instances import make_problem
from bench.scoring import summary
from scoring.engine import score_proposals
from scoring.errors import Violations
from service.cli import read_json, read_request
from service.client import VentureClient
from service.config import ServerConfig
from service.convert.allocation import problem_to_pb
from service.convert.common import options_from_pb
from service.convert.scoring import problem_from_pb, result_to_pb
from service.server import RunningServer, create_server
from venture.v1 import allocation_pb2, round_pb2, scoring_pb2

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CASES = (
    "county_example",
    "county_example_compact",
    "county_allocation",
    "county_allocation_90",
    "county_round",
)
SCORING_EXAMPLES = {
    "county_example": "score_county.json",
    "county_example_compact": "score_county_compact.json",
}
HANDLER_RUNS = 200
"""In-process runs of the ScoreProposals handler for its per-part medians (about a second)."""


class _Server:
    """The server on its own event loop in a daemon thread, for the length of the suite."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        ready: Future[RunningServer] = Future()

        def run() -> None:
            asyncio.set_event_loop(self._loop)

            async def start() -> None:
                running = create_server(ServerConfig(port=0))
                await running.start()
                ready.set_result(running)

            self._loop.run_until_complete(start())
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        self.running = ready.result(timeout=30)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.running.stop(0), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)


def run(repeats: int, cases: Sequence[str] | None = None) -> Iterator[dict[str, object]]:
    """Time every (selected) case: a warm-up call, then `repeats` timed calls."""
    server = _Server()
    try:
        with VentureClient(f"127.0.0.1:{server.running.port}") as client:
            for name in CASES:
                if not cases or name in cases:
                    yield _case(client, name, repeats)
    finally:
        server.stop()


def _case(client: VentureClient, name: str, repeats: int) -> dict[str, object]:
    call: Callable[[], object]
    if name in SCORING_EXAMPLES:
        scoring = read_request(EXAMPLES / SCORING_EXAMPLES[name])
        call = lambda: client.score_proposals(scoring)  # noqa: E731
        facts: dict[str, object] = {
            "rpc": "ScoreProposals",
            "proposals": len(scoring.proposals),
            "judges": len(scoring.judges),
            "sheets": len(scoring.sheets),
            "handler_ms": handler_parts(scoring, max(repeats, HANDLER_RUNS)),
        }
    elif name == "county_round":
        whole = read_json(EXAMPLES / "round_county.json", round_pb2.OptimizeRoundRequest)
        call = lambda: client.optimize_round(whole)  # noqa: E731
        facts = {
            "rpc": "OptimizeRound",
            "proposals": len(whole.proposals),
            "needs": len(whole.needs),
            "mentors": len(whole.mentors),
        }
    else:
        if name == "county_allocation":
            request = read_json(
                EXAMPLES / "allocate_county.json", allocation_pb2.AllocateFundingRequest
            )
        else:
            request = problem_to_pb(make_problem(ALLOCATION_CASES["county"]))
        call = lambda: client.allocate_funding(request)  # noqa: E731
        facts = {"rpc": "AllocateFunding", "proposals": len(request.proposals)}
    call()  # warm-up: connection, cached tables
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    return {"suite": "service", "case": name, **facts, **summary(seconds, repeats)}


def handler_parts(request: scoring_pb2.ScoreProposalsRequest, runs: int) -> dict[str, float]:
    """Median ms of each part of the ScoreProposals handler on `request`, in this process:
    parse (the request's bytes), convert (to the domain problem), the engine's own stages
    (validate ... explain), to_pb (the response, serialised), and total."""
    data = request.SerializeToString()
    parts: dict[str, list[float]] = defaultdict(list)
    for _ in range(runs):
        started = time.perf_counter()
        parsed = scoring_pb2.ScoreProposalsRequest.FromString(data)
        parsed_at = time.perf_counter()
        violations = Violations()
        problem = problem_from_pb(
            parsed, options_from_pb(parsed.options, violations).seed, violations
        )
        assert problem is not None, list(violations)
        converted_at = time.perf_counter()
        result = score_proposals(problem)
        scored_at = time.perf_counter()
        result_to_pb(result, False).SerializeToString()
        done_at = time.perf_counter()
        parts["parse"].append(parsed_at - started)
        parts["convert"].append(converted_at - parsed_at)
        for stage in result.timings:
            parts[stage.stage].append(stage.seconds)
        parts["to_pb"].append(done_at - scored_at)
        parts["total"].append(done_at - started)
    return {name: round(1000 * statistics.median(times), 3) for name, times in parts.items()}
