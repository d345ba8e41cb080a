"""Service benchmark: a whole ScoreProposals call as a committee's tool makes it, through the
real client to a real server on 127.0.0.1:0 (serialisation, conversion, scoring and back).

Case `county_example` sends examples/score_county.json (24 proposals, 7 judges, public vote and
bonus components, 1,000 bootstrap samples).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from pathlib import Path

from bench.scoring import summary
from service.cli import read_request
from service.client import VentureClient
from service.config import ServerConfig
from service.server import RunningServer, create_server

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CASES = {"county_example": EXAMPLES / "score_county.json"}


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
            for name, path in CASES.items():
                if cases and name not in cases:
                    continue
                request = read_request(path)
                client.score_proposals(request)  # warm-up: connection, cached tables
                seconds = []
                for _ in range(repeats):
                    started = time.perf_counter()
                    client.score_proposals(request)
                    seconds.append(time.perf_counter() - started)
                yield {
                    "suite": "service",
                    "case": name,
                    "rpc": "ScoreProposals",
                    "proposals": len(request.proposals),
                    "judges": len(request.judges),
                    "sheets": len(request.sheets),
                    **summary(seconds, repeats),
                }
    finally:
        server.stop()
