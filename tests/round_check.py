"""A whole OptimizeRound response held to the shared validators: every award legal under the
round's rules (matching.allocation.verify), every match legal (matching.needs.verify,
matching.mentors.verify), and what is matched is exactly what was funded."""

from __future__ import annotations

from matching.allocation.verify import violations as allocation_violations
from matching.mentors.verify import violations as mentor_violations
from matching.needs.verify import violations as need_violations
from scoring.errors import Violations
from service.convert import allocation as allocation_convert
from service.convert import mentors as mentors_convert
from service.convert import needs as needs_convert
from service.convert.common import options_from_pb
from service.round import optimize
from tests.allocation_wire import result_from_pb
from tests.matching_wire import mentors_result_from_pb, needs_result_from_pb
from venture.v1 import allocation_pb2, round_pb2


def round_violations(
    request: round_pb2.OptimizeRoundRequest, response: round_pb2.OptimizeRoundResponse
) -> list[str]:
    found: list[str] = []
    scored = {p.proposal_id: p for p in response.scoring.proposals}
    stage, _ = optimize._allocation_request(request, scored)
    v = Violations()
    problem = allocation_convert.problem_from_pb(stage, options_from_pb(stage.options, v), v)
    assert problem is not None, list(v)
    in_stage = {p.proposal_id for p in stage.proposals}
    allocation = allocation_pb2.AllocationResult()
    allocation.CopyFrom(response.allocation)
    del allocation.unfunded[:]
    allocation.unfunded.extend(u for u in response.allocation.unfunded if u.proposal_id in in_stage)
    found += [
        f"allocation: {x}" for x in allocation_violations(problem, result_from_pb(allocation))
    ]
    listed = {u.proposal_id for u in response.allocation.unfunded} | {
        a.proposal_id for a in response.allocation.awards
    }
    if listed != {p.proposal_id for p in request.proposals}:
        found.append("allocation: not every proposal is funded or listed unfunded")
    funded = {
        p.organization_id
        for p in request.proposals
        if p.proposal_id in {a.proposal_id for a in response.allocation.awards}
    }
    orgs = [j for j, o in enumerate(request.organizations) if o.organization_id in funded]
    if request.needs and orgs:
        needs_stage = optimize._needs_request(request, orgs)
        nproblem = needs_convert.problem_from_pb(
            needs_stage, options_from_pb(needs_stage.options, v), v
        )
        assert nproblem is not None
        found += [
            f"needs: {x}" for x in need_violations(nproblem, needs_result_from_pb(response.needs))
        ]
        matched = {c.organization_id for c in response.needs.organization_candidates}
        if matched != funded:
            found.append(
                f"needs: matched organizations {sorted(matched)} != funded {sorted(funded)}"
            )
    if request.mentors and orgs:
        mentors_stage = optimize._mentors_request(request, orgs)
        mproblem = mentors_convert.problem_from_pb(
            mentors_stage, options_from_pb(mentors_stage.options, v), v
        )
        assert mproblem is not None
        result = mentors_result_from_pb(response.mentors)
        found += [f"mentors: {x}" for x in mentor_violations(mproblem, result)]
        matched = {a.organization_id for a in response.mentors.alternatives}
        if matched != funded:
            found.append(f"mentors: organizations {sorted(matched)} != funded {sorted(funded)}")
    return found
