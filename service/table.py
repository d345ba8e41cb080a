"""Plain-text tables for the terminal, aligned for Chinese text (wide characters count twice)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from venture.v1 import allocation_pb2, common_pb2, matching_pb2, scoring_pb2

_OUTCOME_TEXT = {
    scoring_pb2.SCORING_OUTCOME_QUALIFIED: "qualified",
    scoring_pb2.SCORING_OUTCOME_BELOW_PASS_LINE: "below pass line",
    scoring_pb2.SCORING_OUTCOME_VETOED: "vetoed",
    scoring_pb2.SCORING_OUTCOME_INELIGIBLE: "ineligible",
    scoring_pb2.SCORING_OUTCOME_NOT_SCORED: "not scored",
}


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def clip(text: str, limit: int) -> str:
    """Cut `text` to `limit` display columns, marking the cut with an ellipsis."""
    if width(text) <= limit:
        return text
    out, used = [], 0
    for ch in text:
        if used + width(ch) > limit - 1:
            break
        out.append(ch)
        used += width(ch)
    return "".join(out) + "…"


def render(
    headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int] | None = None
) -> str:
    """Columns padded to the widest cell; columns in `right` are right-aligned (numbers)."""
    right = right or set()
    widths = [max([width(h)] + [width(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        parts = []
        for i, cell in enumerate(cells):
            pad = " " * (widths[i] - width(cell))
            parts.append(pad + cell if i in right else cell + pad)
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def shortlist(request: scoring_pb2.ScoreProposalsRequest, result: scoring_pb2.ScoringResult) -> str:
    """The ranked shortlist a committee reads: rank, proposal, scores, interval, outcome."""
    titles = {p.proposal_id: p.title for p in request.proposals}
    rows = []
    for p in result.proposals:
        interval = p.rank_interval
        has_interval = p.HasField("rank_interval")
        flags = []
        if has_interval and interval.uncertain:
            flags.append("uncertain")
        if p.tied_group:
            flags.append(f"tie#{p.tied_group}")
        rows.append(
            [
                str(p.rank),
                p.proposal_id,
                clip(titles.get(p.proposal_id, ""), 24),
                f"{p.final_score:.2f}",
                f"{p.panel_score:.2f}",
                f"{p.raw_score:.2f}",
                f"{p.calibrated_score:.2f}",
                f"{interval.lower}-{interval.upper}" if has_interval else "",
                f"{interval.top_k_probability:.0%}" if has_interval else "",
                _OUTCOME_TEXT.get(p.outcome, "?"),
                " ".join(flags),
            ]
        )
    confidence = next(
        (p.rank_interval.confidence for p in result.proposals if p.HasField("rank_interval")), 0.9
    )
    headers = [
        "rank",
        "proposal",
        "title",
        "final",
        "panel",
        "raw",
        "calibrated",
        f"rank {confidence:.0%}",
        "P(top K)",
        "outcome",
        "flags",
    ]
    return render(headers, rows, right={0, 3, 4, 5, 6, 7, 8})


def judges(result: scoring_pb2.ScoringResult) -> str:
    """Per-judge analytics: leniency, agreement, outliers, missing sheets."""
    rows = [
        [
            j.judge_id,
            str(j.sheets),
            str(j.missing),
            str(j.recused),
            f"{j.leniency:+.2f}",
            f"{j.agreement:.2f}" if j.HasField("agreement") else "-",
            str(len(j.outliers)),
        ]
        for j in result.judges
    ]
    headers = ["judge", "sheets", "missing", "recused", "leniency", "agreement", "outliers"]
    return render(headers, rows, right={1, 2, 3, 4, 5, 6})


def yuan(fen: int) -> str:
    """Fen as yuan with thousands separators: 12345600 -> '123,456'; cents only when present."""
    whole, cents = divmod(fen, 100)
    return f"{whole:,}" + (f".{cents:02d}" if cents else "")


_REASON_TEXT = {
    value.number: value.name.removeprefix("UNFUNDED_REASON_").lower().replace("_", " ")
    for value in allocation_pb2.UnfundedReason.DESCRIPTOR.values
}


def awards(
    request: allocation_pb2.AllocateFundingRequest, result: allocation_pb2.AllocationResult
) -> str:
    """The funded list: proposal, score, requested and granted yuan, pool, margin."""
    titles = {p.proposal_id: p.title for p in request.proposals}
    margins = {m.proposal_id: m for m in result.margins}
    rows = [
        [
            a.proposal_id,
            clip(titles.get(a.proposal_id, ""), 20),
            f"{a.score:.2f}",
            yuan(a.requested_fen),
            yuan(a.amount_fen),
            a.pool_id or "-",
            _margin(margins.get(a.proposal_id)),
            "yes" if a.locked else "",
        ]
        for a in result.awards
    ]
    headers = ["proposal", "title", "score", "requested ¥", "granted ¥", "pool", "margin", "locked"]
    return render(headers, rows, right={2, 3, 4, 6})


def _margin(margin: allocation_pb2.DecisionMargin | None) -> str:
    if margin is None:
        return ""
    if margin.score_margin == float("inf"):
        return "fixed"
    return f"{'' if margin.exact else '≥'}{margin.score_margin:.2f}"


def unfunded(
    request: allocation_pb2.AllocateFundingRequest, result: allocation_pb2.AllocationResult
) -> str:
    """Every proposal left out, with the reason, the rule behind it and the margin."""
    titles = {p.proposal_id: p.title for p in request.proposals}
    margins = {m.proposal_id: m for m in result.margins}
    rows = [
        [
            u.proposal_id,
            clip(titles.get(u.proposal_id, ""), 20),
            _REASON_TEXT.get(u.reason, "?"),
            u.rule,
            _margin(margins.get(u.proposal_id)),
            u.message,
        ]
        for u in result.unfunded
    ]
    headers = ["proposal", "title", "reason", "rule", "needs +", "why"]
    return render(headers, rows, right={4})


def spend(result: allocation_pb2.AllocationResult) -> str:
    """Money and grants per pool, domain, region and tier."""
    rows = [
        [
            allocation_pb2.Dimension.Name(s.dimension).removeprefix("DIMENSION_").lower(),
            s.key,
            yuan(s.amount_fen),
            str(s.count),
        ]
        for s in result.spend
    ]
    return render(["by", "key", "amount ¥", "grants"], rows, right={2, 3})


def allocation_summary(result: allocation_pb2.AllocationResult) -> str:
    """Two lines: how the solve ended and how much was funded; objective, bound and gap."""
    summary = result.summary
    status = common_pb2.SolveStatus.Name(summary.status).removeprefix("SOLVE_STATUS_").lower()
    funded = len(result.awards)
    considered = funded + len(result.unfunded)
    return (
        f"Allocation {status}: {funded} of {considered} proposals funded, "
        f"{yuan(result.awarded_fen)} of {yuan(result.available_fen)} yuan available "
        f"({yuan(result.remaining_fen)} left)\n"
        f"objective {summary.objective:.2f}, bound {summary.best_bound:.2f}, "
        f"gap {summary.relative_gap:.2%}"
    )


def _parts(affinity: matching_pb2.Affinity) -> str:
    """The three largest contributions, e.g. "domain .35 text .18 region .10"."""
    top = sorted(affinity.parts, key=lambda p: -p.contribution)[:3]
    return " ".join(f"{p.part} {p.contribution:.2f}" for p in top if p.contribution > 0)


def need_assignments(
    request: matching_pb2.MatchNeedsRequest, result: matching_pb2.NeedMatchResult
) -> str:
    """The matches: need, organization, affinity and what it is made of."""
    needs = {n.need_id: n.display_name for n in request.needs}
    orgs = {o.organization_id: o.display_name for o in request.organizations}
    rows = [
        [
            a.need_id,
            clip(needs.get(a.need_id, ""), 18),
            a.organization_id,
            clip(orgs.get(a.organization_id, ""), 18),
            f"{a.affinity.total:.3f}",
            _parts(a.affinity),
            "yes" if a.fixed else "",
        ]
        for a in result.assignments
    ]
    headers = ["need", "name", "organization", "name", "affinity", "made of", "fixed"]
    return render(headers, rows, right={4})


_UNMET_TEXT = {
    value.number: value.name.removeprefix("UNMET_REASON_").lower().replace("_", " ")
    for value in matching_pb2.UnmetReason.DESCRIPTOR.values
}


def unmet_needs(result: matching_pb2.NeedMatchResult) -> str:
    """Needs left short: asked, got, why."""
    rows = [
        [u.need_id, str(u.required), str(u.assigned), _UNMET_TEXT.get(u.reason, "?"), u.message]
        for u in result.unmet_needs
    ]
    return render(["need", "asked", "got", "reason", "why"], rows, right={1, 2})


def need_summary(result: matching_pb2.NeedMatchResult) -> str:
    """How the solve ended, totals, and the worst-off need."""
    summary = result.summary
    status = common_pb2.SolveStatus.Name(summary.status).removeprefix("SOLVE_STATUS_").lower()
    return (
        f"Matching {status}: {len(result.assignments)} matches, "
        f"{len(result.unmet_needs)} need(s) short\n"
        f"total priority x affinity {result.total_affinity:.4f} (bound {summary.best_bound:.4f}), "
        f"worst-off need {result.worst_need_affinity:.3f}"
    )


_UNCOVERED_TEXT = {
    value.number: value.name.removeprefix("UNCOVERED_REASON_").lower().replace("_", " ")
    for value in matching_pb2.UncoveredReason.DESCRIPTOR.values
}


def mentor_assignments(
    request: matching_pb2.MatchMentorsRequest, result: matching_pb2.MentorMatchResult
) -> str:
    """The teams: organization, mentor, the weak areas the mentor covers, value."""
    orgs = {o.organization_id: o.display_name for o in request.organizations}
    mentors = {x.mentor_id: x.display_name for x in request.mentors}
    rows = [
        [
            a.organization_id,
            clip(orgs.get(a.organization_id, ""), 16),
            a.mentor_id,
            clip(mentors.get(a.mentor_id, ""), 10),
            ", ".join(f"{c.area} (L{c.level})" for c in a.covered),
            f"{a.value:.2f}",
        ]
        for a in result.assignments
    ]
    return render(["organization", "name", "mentor", "name", "covers", "value"], rows, right={5})


def uncovered_areas(result: matching_pb2.MentorMatchResult) -> str:
    rows = [
        [
            u.organization_id,
            u.area,
            f"{u.severity:.1f}",
            _UNCOVERED_TEXT.get(u.reason, "?"),
            u.message,
        ]
        for u in result.uncovered
    ]
    return render(["organization", "area", "severity", "reason", "why"], rows, right={2})


def mentor_summary(result: matching_pb2.MentorMatchResult) -> str:
    summary = result.summary
    status = common_pb2.SolveStatus.Name(summary.status).removeprefix("SOLVE_STATUS_").lower()
    return (
        f"Mentor matching {status}: {len(result.assignments)} assignments, "
        f"{len(result.uncovered)} weak area(s) uncovered, "
        f"{result.blocking_pairs} blocking pair(s)\n"
        f"coverage {summary.objective:.3f} (bound {summary.best_bound:.3f}, "
        f"gap {summary.relative_gap:.2%})"
    )
