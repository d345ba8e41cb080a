"""A whole county round assembled from the four example requests (scoring, allocation, needs,
mentors), for OptimizeRound tests that need a round before the generated examples."""

from __future__ import annotations

from pathlib import Path

from google.protobuf import json_format

from venture.v1 import allocation_pb2, matching_pb2, round_pb2, scoring_pb2

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _read(name: str, message: type) -> object:
    return json_format.Parse((EXAMPLES / name).read_text(encoding="utf-8"), message())


def county_example_round() -> round_pb2.OptimizeRoundRequest:
    scoring = _read("score_county.json", scoring_pb2.ScoreProposalsRequest)
    allocation = _read("allocate_county.json", allocation_pb2.AllocateFundingRequest)
    needs = _read("match_needs_county.json", matching_pb2.MatchNeedsRequest)
    mentors = _read("match_mentors_county.json", matching_pb2.MatchMentorsRequest)
    assert isinstance(scoring, scoring_pb2.ScoreProposalsRequest)
    assert isinstance(allocation, allocation_pb2.AllocateFundingRequest)
    assert isinstance(needs, matching_pb2.MatchNeedsRequest)
    assert isinstance(mentors, matching_pb2.MatchMentorsRequest)
    request = round_pb2.OptimizeRoundRequest(
        round_id="2026-county-spring",
        display_name="某县2026年公益创投",
        criteria=scoring.criteria,
        judges=scoring.judges,
        sheets=scoring.sheets,
        scoring_policy=scoring.policy,
        allocation_rules=allocation.rules,
        needs=needs.needs,
        organizations=needs.organizations,
        need_matching_policy=needs.policy,
        mentors=mentors.mentors,
        mentor_matching_policy=mentors.policy,
    )
    request.labels["round"] = "county-2026"
    request.options.seed = 7
    allocation_fields = {p.proposal_id: p for p in allocation.proposals}
    for proposal in scoring.proposals:
        merged = request.proposals.add()
        merged.CopyFrom(proposal)
        extra = allocation_fields[proposal.proposal_id]
        merged.region = extra.region
        merged.tier = extra.tier
        merged.requested_fen = extra.requested_fen
        merged.minimum_fen = extra.minimum_fen
        merged.project_budget_fen = extra.project_budget_fen
        merged.tags.extend(extra.tags)
    return request
