"""AllocationResult messages back to domain results, so that tests can hold what the server sent
to matching.allocation.verify, the one definition of a legal allocation."""

from __future__ import annotations

from matching.allocation import model as m
from service.convert.allocation import DIMENSION, REASON_PB
from service.convert.common import STATUS_PB
from venture.v1 import allocation_pb2

_REASON = {number: reason for reason, number in REASON_PB.items()}
_STATUS = {number: status for status, number in STATUS_PB.items()}


def result_from_pb(pb: allocation_pb2.AllocationResult) -> m.AllocationResult:
    """Everything verify checks; margins, notices and timings are left out."""
    return m.AllocationResult(
        status=_STATUS[pb.summary.status],
        awards=tuple(
            m.Award(a.proposal_id, a.amount_fen, a.pool_id, a.requested_fen, a.score, a.locked)
            for a in pb.awards
        ),
        unfunded=tuple(
            m.Unfunded(u.proposal_id, _REASON[u.reason], u.rule, u.message) for u in pb.unfunded
        ),
        spend=tuple(
            m.Spend(DIMENSION[s.dimension], s.key, s.amount_fen, s.count) for s in pb.spend
        ),
        available_fen=pb.available_fen,
        awarded_fen=pb.awarded_fen,
        remaining_fen=pb.remaining_fen,
        objective=pb.summary.objective,
        best_bound=pb.summary.best_bound,
        conflicts=tuple(m.RuleConflict(tuple(c.rules), c.message) for c in pb.conflicts),
        quota_violations=tuple(
            m.QuotaViolation(q.rule, q.count_violation, q.amount_violation_fen)
            for q in pb.quota_violations
        ),
    )
