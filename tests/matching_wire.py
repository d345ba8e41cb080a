"""Responses of MatchNeeds and MatchMentors read back into domain results, so that the shared
validators (matching.needs.verify, matching.mentors.verify) can check what crossed the wire."""

from __future__ import annotations

from pathlib import Path

from google.protobuf import json_format

from matching.mentors import model as mm
from matching.needs import model as nm
from service.convert.common import STATUS_PB
from service.convert.mentors import UNCOVERED_PB
from service.convert.needs import UNMET_PB
from venture.v1 import matching_pb2

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
_STATUS = {number: status for status, number in STATUS_PB.items()}
_UNMET = {number: reason for reason, number in UNMET_PB.items()}
_UNCOVERED = {number: reason for reason, number in UNCOVERED_PB.items()}


def county_needs_request() -> matching_pb2.MatchNeedsRequest:
    text = (EXAMPLES / "match_needs_county.json").read_text(encoding="utf-8")
    return json_format.Parse(text, matching_pb2.MatchNeedsRequest())


def county_mentors_request() -> matching_pb2.MatchMentorsRequest:
    text = (EXAMPLES / "match_mentors_county.json").read_text(encoding="utf-8")
    return json_format.Parse(text, matching_pb2.MatchMentorsRequest())


def _affinity(pb: matching_pb2.Affinity) -> nm.Affinity:
    return nm.Affinity(
        pb.total,
        tuple(nm.AffinityPart(p.part, p.weight, p.value, p.contribution) for p in pb.parts),
    )


def _candidates(pbs: object) -> tuple[nm.Candidate, ...]:
    return tuple(
        nm.Candidate(c.candidate_id, c.rank, _affinity(c.affinity), c.chosen)
        for c in pbs  # type: ignore[attr-defined]
    )


def needs_result_from_pb(pb: matching_pb2.NeedMatchResult) -> nm.NeedMatchResult:
    return nm.NeedMatchResult(
        status=_STATUS[pb.summary.status],
        assignments=tuple(
            nm.NeedAssignment(a.need_id, a.organization_id, _affinity(a.affinity), a.fixed)
            for a in pb.assignments
        ),
        need_candidates=tuple(
            nm.NeedCandidates(c.need_id, _candidates(c.candidates)) for c in pb.need_candidates
        ),
        organization_candidates=tuple(
            nm.OrganizationCandidates(c.organization_id, _candidates(c.candidates))
            for c in pb.organization_candidates
        ),
        unmet_needs=tuple(
            nm.UnmetNeed(
                u.need_id, u.required, u.assigned, _UNMET[u.reason], u.message, u.candidates
            )
            for u in pb.unmet_needs
        ),
        total_affinity=pb.total_affinity,
        worst_need_affinity=pb.worst_need_affinity,
        objective=pb.summary.objective,
        best_bound=pb.summary.best_bound,
    )


def mentors_result_from_pb(pb: matching_pb2.MentorMatchResult) -> mm.MentorMatchResult:
    return mm.MentorMatchResult(
        status=_STATUS[pb.summary.status],
        assignments=tuple(
            mm.MentorAssignment(
                a.organization_id,
                a.mentor_id,
                tuple(mm.CoveredArea(c.area, c.severity, c.level) for c in a.covered),
                a.value,
            )
            for a in pb.assignments
        ),
        uncovered=tuple(
            mm.UncoveredArea(u.organization_id, u.area, u.severity, _UNCOVERED[u.reason], u.message)
            for u in pb.uncovered
        ),
        alternatives=tuple(
            mm.MentorAlternatives(
                a.organization_id,
                tuple(
                    mm.MentorCandidate(c.mentor_id, c.rank, c.value, tuple(c.areas), c.chosen)
                    for c in a.candidates
                ),
            )
            for a in pb.alternatives
        ),
        blocking_pairs=pb.blocking_pairs,
        objective=pb.summary.objective,
        best_bound=pb.summary.best_bound,
        engine=pb.summary.engine,
    )
