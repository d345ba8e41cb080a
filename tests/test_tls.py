"""TLS and mutual TLS against a real server on 127.0.0.1:0: a client that trusts the CA
connects; a plain-text client, or under mutual TLS a client without a certificate (or with one
from another CA), is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from service.client import TlsFiles, VentureClient, VentureError
from service.config import ConfigError, Limits, ServerConfig, check
from tests.certificates import Authority
from tests.helpers import ServerThread, small_request


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    return Authority(tmp_path_factory.mktemp("pki"))


def _server(authority: Authority, mutual: bool) -> ServerThread:
    issued = authority.issue("server", server=True)
    return ServerThread(
        ServerConfig(
            port=0,
            limits=Limits(),
            tls_cert_file=str(issued.cert),
            tls_key_file=str(issued.key),
            tls_client_ca_file=str(authority.ca) if mutual else "",
        )
    )


@pytest.fixture(scope="module")
def tls_server(authority: Authority) -> Iterator[ServerThread]:
    thread = _server(authority, mutual=False)
    yield thread
    thread.stop()


@pytest.fixture(scope="module")
def mtls_server(authority: Authority) -> Iterator[ServerThread]:
    thread = _server(authority, mutual=True)
    yield thread
    thread.stop()


def _refused(client: VentureClient) -> grpc.StatusCode:
    with client, pytest.raises(VentureError) as caught:
        client.score_proposals(small_request(), timeout_s=5)
    return caught.value.code


def test_tls_client_trusting_the_ca_connects(
    tls_server: ServerThread, authority: Authority
) -> None:
    with VentureClient(tls_server.address, tls=TlsFiles(ca=authority.ca)) as client:
        assert client.score_proposals(small_request()).result.proposals
        assert client.health() == "SERVING"


def test_plain_text_client_cannot_talk_to_a_tls_server(tls_server: ServerThread) -> None:
    assert _refused(VentureClient(tls_server.address)) is grpc.StatusCode.UNAVAILABLE


def test_mutual_tls_client_with_a_certificate_connects(
    mtls_server: ServerThread, authority: Authority
) -> None:
    mine = authority.issue("committee-tool", server=False)
    tls = TlsFiles(ca=authority.ca, cert=mine.cert, key=mine.key)
    with VentureClient(mtls_server.address, tls=tls) as client:
        assert client.score_proposals(small_request()).result.proposals


def test_mutual_tls_refuses_a_client_without_a_certificate(
    mtls_server: ServerThread, authority: Authority
) -> None:
    client = VentureClient(mtls_server.address, tls=TlsFiles(ca=authority.ca))
    assert _refused(client) is grpc.StatusCode.UNAVAILABLE


def test_mutual_tls_refuses_a_certificate_from_another_ca(
    mtls_server: ServerThread, authority: Authority, tmp_path: Path
) -> None:
    stranger = Authority(tmp_path, "other CA").issue("intruder", server=False)
    tls = TlsFiles(ca=authority.ca, cert=stranger.cert, key=stranger.key)
    assert _refused(VentureClient(mtls_server.address, tls=tls)) is grpc.StatusCode.UNAVAILABLE


def test_tls_settings_that_cannot_work_stop_start_up(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="give both"):
        check(ServerConfig(tls_cert_file="cert.pem"))
    with pytest.raises(ConfigError, match="mutual TLS needs"):
        check(ServerConfig(tls_client_ca_file="ca.pem"))
    with pytest.raises(ConfigError, match="not a readable file"):
        check(ServerConfig(tls_cert_file=str(tmp_path / "no.pem"), tls_key_file=str(tmp_path)))
