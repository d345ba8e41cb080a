"""Integration: a real server on 127.0.0.1:0, called through the real client and stubs."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

import grpc
import pytest
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from service import handlers
from service.client import VentureClient, VentureError
from tests.helpers import ServerThread, small_request
from venture.v1 import (
    common_pb2,
    round_pb2,
    scoring_pb2,
    venture_service_pb2_grpc,
)

Request = scoring_pb2.ScoreProposalsRequest


def test_scores_and_ranks_through_the_real_client(
    client: VentureClient, request_pb: Request
) -> None:
    response = client.score_proposals(request_pb)
    result = response.result
    assert dict(response.labels) == {"round": "test"}
    assert [p.proposal_id for p in result.proposals] == ["P1", "P2", "P3"]
    # Mean criterion scores (9, 8), (6, 9), (4, 5); weights 2:1 on 0..10:
    # P1 = 100 * (2/3 * 0.9 + 1/3 * 0.8) = 86.667, P2 = 70.0, P3 = 43.333.
    finals = [p.final_score for p in result.proposals]
    assert finals == pytest.approx([260 / 3, 70.0, 130 / 3])
    for p in result.proposals:
        assert sum(c.contribution for c in p.criteria) == pytest.approx(p.panel_score)
        assert p.outcome == scoring_pb2.SCORING_OUTCOME_QUALIFIED
        assert p.HasField("rank_interval")
    assert result.summary.status == common_pb2.SOLVE_STATUS_OPTIMAL
    assert [t.stage for t in result.summary.timings]
    assert [j.judge_id for j in result.judges] == ["J1", "J2", "J3"]


def test_same_request_gives_byte_identical_response(
    client: VentureClient, request_pb: Request
) -> None:
    request_pb.options.exclude_timings = True
    first = client.score_proposals(request_pb).SerializeToString()
    assert all(client.score_proposals(request_pb).SerializeToString() == first for _ in range(3))


def _nan_score(r: Request) -> None:
    r.sheets[0].scores[0].value = math.nan


def _inf_score(r: Request) -> None:
    r.sheets[4].scores[1].value = math.inf


def _out_of_scale(r: Request) -> None:
    r.sheets[2].scores[0].value = 11


def _unknown_judge(r: Request) -> None:
    r.sheets[1].judge_id = "J9"


def _unknown_criterion(r: Request) -> None:
    r.sheets[3].scores[1].criterion_id = "budget"


def _duplicate_proposal(r: Request) -> None:
    r.proposals[1].proposal_id = "P1"


def _zero_weight(r: Request) -> None:
    r.criteria[1].weight = 0


def _negative_weight(r: Request) -> None:
    r.criteria[0].weight = -2


def _no_proposals(r: Request) -> None:
    del r.proposals[:]
    del r.sheets[:]


def _no_criteria(r: Request) -> None:
    del r.criteria[:]


def _trim_too_deep(r: Request) -> None:
    r.policy.aggregation = scoring_pb2.AGGREGATION_METHOD_TRIMMED_MEAN
    r.policy.trim_count = 1
    del r.sheets[6:]  # P1 and P2 keep 2 sheets each: dropping 1 high and 1 low leaves none


def _unknown_enum(r: Request) -> None:
    r.policy.aggregation = 99  # type: ignore[assignment]


def _negative_top_k(r: Request) -> None:
    r.options.top_k = -1


def _too_many_proposals(r: Request) -> None:
    for i in range(501 - len(r.proposals)):
        r.proposals.add(proposal_id=f"X{i}")


@pytest.mark.parametrize(
    ("mutate", "field", "value"),
    [
        (_nan_score, "sheets[0].scores[0].value", "NaN"),
        (_inf_score, "sheets[4].scores[1].value", "Infinity"),
        (_out_of_scale, "sheets[2].scores[0].value", "11.0"),
        (_unknown_judge, "sheets[1].judge_id", '"J9"'),
        (_unknown_criterion, "sheets[3].scores[1].criterion_id", '"budget"'),
        (_duplicate_proposal, "proposals[1].proposal_id", '"P1"'),
        (_zero_weight, "criteria[1].weight", "0.0"),
        (_negative_weight, "criteria[0].weight", "-2.0"),
        (_no_proposals, "proposals", ""),
        (_no_criteria, "criteria", ""),
        (_trim_too_deep, "policy.trim_count", "1"),
        (_unknown_enum, "policy.aggregation", "99"),
        (_negative_top_k, "options.top_k", "-1"),
        (_too_many_proposals, "proposals", "501"),
    ],
)
def test_bad_input_is_invalid_argument_naming_field_and_value(
    client: VentureClient,
    request_pb: Request,
    mutate: Callable[[Request], None],
    field: str,
    value: str,
) -> None:
    mutate(request_pb)
    with pytest.raises(VentureError) as caught:
        client.score_proposals(request_pb)
    error = caught.value
    assert error.code is grpc.StatusCode.INVALID_ARGUMENT
    matching = [v for v in error.violations if v.field == field]
    assert matching, f"no violation for {field} in {error.violations}"
    assert f"(got {value}" in matching[0].description
    assert field in error.message or "more field violation" in error.message


def test_validate_only_returns_violations_without_solving(
    client: VentureClient, request_pb: Request
) -> None:
    request_pb.options.validate_only = True
    clean = client.score_proposals(request_pb)
    assert not clean.HasField("result") and not clean.validation_errors
    _nan_score(request_pb)
    _zero_weight(request_pb)
    checked = client.score_proposals(request_pb)
    assert not checked.HasField("result")
    assert {(e.field, e.value) for e in checked.validation_errors} == {
        ("sheets[0].scores[0].value", "NaN"),
        ("criteria[1].weight", "0.0"),
    }


def test_every_rpc_is_live_and_refuses_an_empty_request(server: ServerThread) -> None:
    with grpc.insecure_channel(server.address) as channel:
        stub = venture_service_pb2_grpc.VentureServiceStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.OptimizeRound(round_pb2.OptimizeRoundRequest(), timeout=10)
        assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        # An empty batch is a batch of no rounds: an empty stream, not an error.
        assert (
            list(stub.BatchOptimizeRounds(round_pb2.BatchOptimizeRoundsRequest(), timeout=10)) == []
        )


def test_health_reports_serving(client: VentureClient) -> None:
    assert client.health() == "SERVING"
    assert client.health("venture.v1.VentureService") == "SERVING"
    with pytest.raises(VentureError) as caught:
        client.health("no.such.Service")
    assert caught.value.code is grpc.StatusCode.NOT_FOUND


def test_reflection_lists_the_service(server: ServerThread) -> None:
    with grpc.insecure_channel(server.address) as channel:
        services = ProtoReflectionDescriptorDatabase(channel).get_services()
    assert "venture.v1.VentureService" in services
    assert "grpc.health.v1.Health" in services


def test_unreachable_server_is_unavailable() -> None:
    with VentureClient("127.0.0.1:1", timeout_s=2) as c, pytest.raises(VentureError) as caught:
        c.score_proposals(small_request())
    assert caught.value.code is grpc.StatusCode.UNAVAILABLE


def test_violations_are_listed_up_to_a_cap_and_the_message_says_so(client: VentureClient) -> None:
    request = small_request()
    for p in range(40):
        request.proposals.add(proposal_id=f"X{p}")
        for j in ("J1", "J2", "J3"):
            sheet = request.sheets.add(judge_id=j, proposal_id=f"X{p}")
            sheet.scores.add(criterion_id="design", value=math.nan)
            sheet.scores.add(criterion_id="impact", value=5)
    with pytest.raises(VentureError) as caught:
        client.score_proposals(request)  # 120 NaN scores
    assert len(caught.value.violations) == 100
    assert caught.value.violations[0].field == "sheets[9].scores[0].value"
    assert "listing stops at 100" in caught.value.message


def test_one_log_line_per_call_with_code_and_labels_but_no_body(
    client: VentureClient, request_pb: Request, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="venture.calls")
    request_pb.labels["case"] = "log-line"
    _zero_weight(request_pb)
    with pytest.raises(VentureError):
        client.score_proposals(request_pb)

    def lines() -> list[str]:
        found = (r.getMessage() for r in caplog.records if r.name == "venture.calls")
        return [line for line in found if "case=log-line" in line]

    # The server logs as the call ends, which may be just after the client has its answer.
    deadline = time.monotonic() + 5
    while not lines() and time.monotonic() < deadline:
        time.sleep(0.01)
    (line,) = lines()
    assert line.startswith(
        "method=/venture.v1.VentureService/ScoreProposals code=INVALID_ARGUMENT ms="
    )
    assert line.endswith("labels=case=log-line,round=test")
    assert "项目" not in line and "P1" not in line


def test_an_unexpected_error_is_internal_without_leaking_details(
    client: VentureClient,
    request_pb: Request,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(handlers, "score_proposals", broken)
    with pytest.raises(VentureError) as caught:
        client.score_proposals(request_pb)
    assert caught.value.code is grpc.StatusCode.INTERNAL
    assert "secret detail" not in caught.value.message
    assert any("secret detail" in (r.exc_text or "") for r in caplog.records)


def test_options_scoring_does_not_use_are_reported(
    client: VentureClient, request_pb: Request
) -> None:
    request_pb.options.time_limit.FromSeconds(5)
    request_pb.options.top_k = 3
    notices = client.score_proposals(request_pb).result.notices
    assert [n.code for n in notices] == ["OPTION_UNUSED", "OPTION_UNUSED"]
    assert "options.time_limit" in notices[0].message and "options.top_k" in notices[1].message
