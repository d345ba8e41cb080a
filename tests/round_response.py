"""A whole round's request and response built from the county examples, for report tests.

Each stage's result comes from the in-process handler on its example request, so the report
is tested on real output without waiting for the round orchestrator.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TypeVar

from google.protobuf import json_format
from google.protobuf.message import Message

from service import handlers
from service.config import Limits
from venture.v1 import allocation_pb2, matching_pb2, round_pb2, scoring_pb2

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
ROUND_ID = "2026-county-spring"
DISPLAY_NAME = "某县2026年公益创投"

M = TypeVar("M", bound=Message)


def _load(name: str, message: M) -> M:
    json_format.Parse((EXAMPLES / name).read_text(encoding="utf-8"), message)
    return message


@cache
def _stage_requests() -> tuple[
    scoring_pb2.ScoreProposalsRequest,
    allocation_pb2.AllocateFundingRequest,
    matching_pb2.MatchNeedsRequest,
    matching_pb2.MatchMentorsRequest,
]:
    return (
        _load("score_county.json", scoring_pb2.ScoreProposalsRequest()),
        _load("allocate_county.json", allocation_pb2.AllocateFundingRequest()),
        _load("match_needs_county.json", matching_pb2.MatchNeedsRequest()),
        _load("match_mentors_county.json", matching_pb2.MatchMentorsRequest()),
    )


def round_request() -> round_pb2.OptimizeRoundRequest:
    """The county round as one request: the scoring proposals merged with their amounts."""
    score, allocate, needs, mentors = _stage_requests()
    request = round_pb2.OptimizeRoundRequest(
        labels=score.labels,
        options=score.options,
        round_id=ROUND_ID,
        display_name=DISPLAY_NAME,
        criteria=score.criteria,
        judges=score.judges,
        sheets=score.sheets,
        scoring_policy=score.policy,
        allocation_rules=allocate.rules,
        needs=needs.needs,
        organizations=needs.organizations,
        need_matching_policy=needs.policy,
        mentors=mentors.mentors,
        mentor_matching_policy=mentors.policy,
    )
    amounts = {p.proposal_id: p for p in allocate.proposals}
    for proposal in score.proposals:
        merged = request.proposals.add()
        merged.CopyFrom(proposal)
        if proposal.proposal_id in amounts:
            merged.MergeFrom(amounts[proposal.proposal_id])
    return request


@cache
def _response_bytes() -> bytes:
    score, allocate, needs, mentors = _stage_requests()
    limits = Limits()
    response = round_pb2.OptimizeRoundResponse(labels=score.labels, round_id=ROUND_ID)
    response.scoring.CopyFrom(handlers.score_proposals(score, limits).result)
    response.allocation.CopyFrom(handlers.allocate_funding(allocate, limits).result)
    response.needs.CopyFrom(handlers.match_needs(needs, limits).result)
    response.mentors.CopyFrom(handlers.match_mentors(mentors, limits).result)
    for stage, millis in (("score", 120), ("allocate", 35), ("match_needs", 20)):
        timing = response.timings.add(stage=stage)
        timing.duration.FromMilliseconds(millis)
    response.provenance.input_hash = "0f" * 32
    response.provenance.venture_version = "0.1.0"
    response.provenance.solver_versions["ortools"] = "9.15.6755"
    response.provenance.seed = score.options.seed
    return response.SerializeToString(deterministic=True)


def round_response() -> round_pb2.OptimizeRoundResponse:
    """A fresh copy each call (the stages are solved once per test session)."""
    return round_pb2.OptimizeRoundResponse.FromString(_response_bytes())
