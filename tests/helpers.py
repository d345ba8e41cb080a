"""Test helpers: a real server on 127.0.0.1:0 in a background thread, and small requests."""

from __future__ import annotations

import asyncio
import random
import threading
from concurrent.futures import Future
from pathlib import Path

from google.protobuf import json_format

from service.config import ServerConfig
from service.server import RunningServer, create_server
from venture.v1 import allocation_pb2, scoring_pb2

ROOT = Path(__file__).resolve().parent.parent
COUNTY_ALLOCATION = ROOT / "examples/allocate_county.json"
WAN = 1_000_000
"""1万 yuan in fen."""


class ServerThread:
    """A real grpc.aio server running on its own event loop in a daemon thread."""

    def __init__(self, config: ServerConfig) -> None:
        self._loop = asyncio.new_event_loop()
        self._ready: Future[RunningServer] = Future()
        self._thread = threading.Thread(target=self._run, args=(config,), daemon=True)
        self._thread.start()
        self.running = self._ready.result(timeout=30)
        self.address = f"127.0.0.1:{self.running.port}"

    def _run(self, config: ServerConfig) -> None:
        asyncio.set_event_loop(self._loop)

        async def start() -> None:
            running = create_server(config)
            await running.start()
            self._ready.set_result(running)

        try:
            self._loop.run_until_complete(start())
        except BaseException as error:  # surface start-up failures in the test, not the thread
            self._ready.set_exception(error)
            return
        self._loop.run_forever()

    def stop(self, grace_s: float = 0.0) -> None:
        asyncio.run_coroutine_threadsafe(self.running.stop(grace_s), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        # An event loop left open is closed by the garbage collector, with a ResourceWarning
        # that pytest turns into an error at the end of the session.
        self._loop.close()


def small_request() -> scoring_pb2.ScoreProposalsRequest:
    """Three proposals, three judges, two criteria (relative weights 2:1 on 0..10)."""
    request = scoring_pb2.ScoreProposalsRequest()
    request.labels["round"] = "test"
    request.criteria.add(criterion_id="design", display_name="项目设计", weight=2, scale_max=10)
    request.criteria.add(criterion_id="impact", display_name="社会效益", weight=1, scale_max=10)
    for j in ("J1", "J2", "J3"):
        request.judges.add(judge_id=j)
    for p in ("P1", "P2", "P3"):
        request.proposals.add(proposal_id=p, organization_id=f"ORG-{p}", title=f"项目{p}")
    scores = {"P1": (9, 8), "P2": (6, 9), "P3": (4, 5)}
    for j, bump in (("J1", 0), ("J2", -1), ("J3", 1)):
        for p, (design, impact) in scores.items():
            sheet = request.sheets.add(judge_id=j, proposal_id=p)
            sheet.scores.add(criterion_id="design", value=min(10, max(0, design + bump)))
            sheet.scores.add(criterion_id="impact", value=min(10, max(0, impact + bump)))
    request.policy.rank_stability.samples = 200
    return request


def sized_request(
    proposals: int, judges: int, criteria: int, samples: int, seed: int = 1
) -> scoring_pb2.ScoreProposalsRequest:
    """A full design (every judge scores every proposal) of the given size, seeded."""
    rng = random.Random(seed)
    request = scoring_pb2.ScoreProposalsRequest()
    for c in range(criteria):
        request.criteria.add(criterion_id=f"C{c}", weight=1 + c % 3, scale_max=10)
    for j in range(judges):
        request.judges.add(judge_id=f"J{j}")
    for p in range(proposals):
        request.proposals.add(proposal_id=f"P{p:05d}", organization_id=f"ORG{p}")
        for j in range(judges):
            sheet = request.sheets.add(judge_id=f"J{j}", proposal_id=f"P{p:05d}")
            for c in range(criteria):
                sheet.scores.add(criterion_id=f"C{c}", value=round(rng.uniform(2, 9), 1))
    request.policy.aggregation = scoring_pb2.AGGREGATION_METHOD_CALIBRATED
    request.policy.rank_stability.samples = samples
    return request


def county_allocation_request() -> allocation_pb2.AllocateFundingRequest:
    """The sample county round (examples/allocate_county.json): 24 proposals, two pools, tiers,
    score bands, domain quotas and region coverage."""
    text = COUNTY_ALLOCATION.read_text(encoding="utf-8")
    return json_format.Parse(text, allocation_pb2.AllocateFundingRequest())


def small_allocation_request() -> allocation_pb2.AllocateFundingRequest:
    """Four scored proposals asking 1万-4万 in two domains, a 10万 budget, one pool per domain."""
    request = allocation_pb2.AllocateFundingRequest()
    request.labels["round"] = "test"
    for k, (domain, score) in enumerate(
        [("elderly", 90.0), ("elderly", 80.0), ("youth", 70.0), ("youth", 60.0)], start=1
    ):
        request.proposals.add(
            proposal_id=f"P{k}",
            organization_id=f"ORG{k}",
            title=f"项目{k}",
            domain=domain,
            region="east",
            score=score,
            requested_fen=k * WAN,
        )
    rules = request.rules
    rules.total_budget_fen = 10 * WAN
    rules.pools.add(pool_id="lottery", amount_fen=4 * WAN, eligible_domains=["elderly"])
    rules.pools.add(pool_id="community", amount_fen=6 * WAN)
    rules.quotas.add(dimension=allocation_pb2.DIMENSION_DOMAIN, key="youth", min_count=1)
    return request
