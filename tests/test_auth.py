"""Bearer-token authentication against a real server on 127.0.0.1:0: a missing or wrong token is
UNAUTHENTICATED, the right one (any of several) passes, health and reflection stay open, and
tokens come from a file or the environment without ever being shown."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from service.client import VentureClient, VentureError
from service.config import ConfigError, Limits, ServerConfig, load
from service.tokens import parse_tokens, read_tokens, token_matches
from tests.helpers import ServerThread, small_request
from venture.v1 import round_pb2

TOKENS = ("s3cret-one", "s3cret-two")


@pytest.fixture(scope="module")
def secured() -> Iterator[ServerThread]:
    thread = ServerThread(ServerConfig(port=0, limits=Limits(), tokens=TOKENS))
    yield thread
    thread.stop()


@pytest.mark.parametrize("token", [None, "", "s3cret", "s3cret-one ", "S3CRET-ONE"])
def test_missing_or_wrong_token_is_unauthenticated(
    secured: ServerThread, token: str | None
) -> None:
    with (
        VentureClient(secured.address, token=token) as client,
        pytest.raises(VentureError) as caught,
    ):
        client.score_proposals(small_request())
    assert caught.value.code is grpc.StatusCode.UNAUTHENTICATED
    assert "bearer token" in caught.value.message
    assert "s3cret" not in caught.value.message


def test_a_streaming_call_needs_the_token_too(secured: ServerThread) -> None:
    batch = round_pb2.BatchOptimizeRoundsRequest()
    with VentureClient(secured.address) as client, pytest.raises(VentureError) as caught:
        list(client.batch_optimize_rounds(batch))
    assert caught.value.code is grpc.StatusCode.UNAUTHENTICATED
    with VentureClient(secured.address, token=TOKENS[1]) as client:
        assert list(client.batch_optimize_rounds(batch)) == []


@pytest.mark.parametrize("token", TOKENS)
def test_any_configured_token_passes(secured: ServerThread, token: str) -> None:
    with VentureClient(secured.address, token=token) as client:
        assert client.score_proposals(small_request()).result.proposals


def test_health_and_reflection_stay_open(secured: ServerThread) -> None:
    with VentureClient(secured.address) as client:
        assert client.health() == "SERVING"
    with grpc.insecure_channel(secured.address) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        (answer,) = list(stub.ServerReflectionInfo(iter([request]), timeout=10))
    names = {s.name for s in answer.list_services_response.service}
    assert "venture.v1.VentureService" in names


def test_tokens_from_a_file_or_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    path.write_text("# rotated 2026-11\nnew-token\n\nold-token  # until Friday\n", encoding="utf-8")
    assert read_tokens(path) == ("new-token", "old-token")
    config = load(None, {"VENTURE_TOKEN_FILE": str(path)})
    assert config.tokens == ("new-token", "old-token")
    assert "new-token" not in repr(config)
    assert load(None, {"VENTURE_TOKENS": "a, b"}).tokens == ("a", "b")
    assert load(None, {}).tokens == ()
    assert parse_tokens(" , ") == ()


def test_a_token_file_that_cannot_be_used_stops_start_up(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("# nothing yet\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="holds no token"):
        load(None, {"VENTURE_TOKEN_FILE": str(empty)})
    with pytest.raises(ConfigError, match="token_file"):
        load(None, {"VENTURE_TOKEN_FILE": str(tmp_path / "missing")})


def test_token_comparison_checks_every_token() -> None:
    assert token_matches("b", ("a", "b"))
    assert not token_matches("", ("a",))
    assert not token_matches("ab", ("a", "b"))
