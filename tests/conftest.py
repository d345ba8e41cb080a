"""Shared fixtures: a real server on 127.0.0.1:0 for the module, a client, a small request."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

from service.client import VentureClient
from service.config import Limits, ServerConfig
from tests.helpers import ServerThread, small_request
from venture.v1 import scoring_pb2

# Property tests run 40 examples each in the suite; VENTURE_HYPOTHESIS_PROFILE=long runs 1,000.
settings.register_profile("suite", max_examples=40, deadline=None)
settings.register_profile("long", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("VENTURE_HYPOTHESIS_PROFILE", "suite"))


@pytest.fixture(scope="module")
def server() -> Iterator[ServerThread]:
    thread = ServerThread(ServerConfig(port=0, limits=Limits(max_proposals=500)))
    yield thread
    thread.stop()


@pytest.fixture
def client(server: ServerThread) -> Iterator[VentureClient]:
    with VentureClient(server.address, timeout_s=60) as c:
        yield c


@pytest.fixture
def request_pb() -> scoring_pb2.ScoreProposalsRequest:
    return small_request()
