"""The encoder: judges' sheets as numpy arrays indexed by judge, proposal and criterion.

It reads the score matrix once (validation reuses it), sets aside recused sheets (回避) and
reports them, lists the assigned sheets nobody sent, and notes sheets outside an assignment.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from operator import attrgetter

import numpy as np

from scoring.arrays import BoolArray, FloatArray, IntArray
from scoring.model import MissingSheet, Notice, Proposal, Recusal, ScoreSheet, ScoringProblem
from scoring.rubric import Rubric, make_rubric

UNASSIGNED_SHEET = "UNASSIGNED_SHEET"

_scores = attrgetter("scores")
_judge_id = attrgetter("judge_id")
_proposal_id = attrgetter("proposal_id")
_criterion_id = attrgetter("criterion_id")
_value = attrgetter("value")
_values = attrgetter("values")


@dataclass(frozen=True, slots=True)
class ScoreMatrix:
    """Every sheet's scores in rubric order (NaN where a criterion is not scored).

    `regular[i]` is true when sheet i scores exactly the rubric's criteria, in order (or gives
    one value per criterion, in the compact form); only the other sheets need a closer look by
    validation.
    """

    values: FloatArray
    regular: BoolArray


def read_scores(sheets: tuple[ScoreSheet, ...], criterion_ids: tuple[str, ...]) -> ScoreMatrix:
    """The (sheets × criteria) score matrix; unknown or repeated criteria, and compact sheets
    with the wrong number of values, are left to validation."""
    width = len(criterion_ids)
    compact = [i for i, sheet in enumerate(sheets) if sheet.values]
    if not compact:
        return _read_listed(sheets, criterion_ids)
    if len(compact) == len(sheets) and set(map(len, map(_values, sheets))) <= {width}:
        # Every sheet in the compact form and of the rubric's width: one array, no look-ups.
        rows = np.array(list(map(_values, sheets)), dtype=np.float64).reshape(len(sheets), width)
        return ScoreMatrix(rows, np.ones(len(sheets), np.bool_))
    values = np.full((len(sheets), width), np.nan)
    regular = np.zeros(len(sheets), np.bool_)
    listed = [i for i, sheet in enumerate(sheets) if not sheet.values]
    if listed:
        part = _read_listed(tuple(sheets[i] for i in listed), criterion_ids)
        values[listed], regular[listed] = part.values, part.regular
    for i in compact:
        if len(sheets[i].values) == width:
            values[i], regular[i] = sheets[i].values, True
    return ScoreMatrix(values, regular)


def _read_listed(sheets: tuple[ScoreSheet, ...], criterion_ids: tuple[str, ...]) -> ScoreMatrix:
    """read_scores of sheets that list their scores by criterion id."""
    width = len(criterion_ids)
    # Flatten every score once (C-level loops), then compare ids and gather values with numpy.
    flat = list(chain.from_iterable(map(_scores, sheets)))
    flat_ids = list(map(_criterion_id, flat))
    if _all_in_rubric_order(sheets, flat_ids, criterion_ids):
        values = np.fromiter(map(_value, flat), np.float64, len(flat))
        return ScoreMatrix(values.reshape(len(sheets), width), np.ones(len(sheets), np.bool_))
    lengths = np.fromiter(map(len, map(_scores, sheets)), np.intp, len(sheets))
    ids = np.array(flat_ids, dtype=object)
    numbers = np.fromiter(map(_value, flat), np.float64, len(flat))
    offsets = np.cumsum(lengths) - lengths
    regular = lengths == width
    rows = np.flatnonzero(regular)
    cells = offsets[rows][:, None] + np.arange(width)
    expected = np.array(criterion_ids, dtype=object)
    regular[rows] = (ids[cells] == expected).all(axis=1)
    values = np.full((len(sheets), width), np.nan)
    values[regular] = numbers[offsets[regular][:, None] + np.arange(width)]
    column = {c: k for k, c in enumerate(criterion_ids)}
    for i in np.flatnonzero(~regular).tolist():
        for score in reversed(sheets[i].scores):  # reversed: the first of repeated ones wins
            k = column.get(score.criterion_id)
            if k is not None:
                values[i, k] = score.value
    return ScoreMatrix(values, regular)


def _all_in_rubric_order(
    sheets: tuple[ScoreSheet, ...], flat_ids: list[str], criterion_ids: tuple[str, ...]
) -> bool:
    """Whether every sheet scores exactly the rubric's criteria, in order: the usual request,
    told by two list comparisons instead of per-sheet arrays."""
    lengths = set(map(len, map(_scores, sheets)))
    return lengths <= {len(criterion_ids)} and flat_ids == list(criterion_ids) * len(sheets)


@dataclass(frozen=True, slots=True)
class SheetTable:
    """The valid sheets (after recusals) sorted by (proposal, judge) index, and what was set aside.

    Sheet rows of proposal p are `starts[p]:starts[p + 1]`; `points` holds each criterion's
    contribution F·share_c·x_c and `totals` their sum (the sheet total).
    """

    rubric: Rubric
    judge_ids: tuple[str, ...]
    proposal_ids: tuple[str, ...]
    judge: IntArray
    proposal: IntArray
    scores: FloatArray
    points: FloatArray
    totals: FloatArray
    counts: IntArray
    starts: IntArray
    recusals: tuple[Recusal, ...]
    missing: tuple[MissingSheet, ...]
    notices: tuple[Notice, ...]
    sheets_per_judge: IntArray
    missing_per_judge: IntArray
    recused_per_judge: IntArray

    @property
    def scored(self) -> BoolArray:
        """Proposals with at least one valid sheet."""
        scored: BoolArray = self.counts > 0
        return scored


def encode(problem: ScoringProblem, matrix: ScoreMatrix) -> SheetTable:
    """Arrays of a validated problem, with recusals, missing sheets and unassigned-sheet notices."""
    judge_ids = tuple(j.judge_id for j in problem.judges)
    proposal_ids = tuple(p.proposal_id for p in problem.proposals)
    judge_index = {j: k for k, j in enumerate(judge_ids)}
    proposal_index = {p: k for k, p in enumerate(proposal_ids)}
    count = len(problem.sheets)
    judge = np.fromiter(
        map(judge_index.__getitem__, map(_judge_id, problem.sheets)), np.intp, count
    )
    proposal = np.fromiter(
        map(proposal_index.__getitem__, map(_proposal_id, problem.sheets)), np.intp, count
    )
    pairs = _Pairs(problem, judge, proposal)
    valid = ~pairs.recused_sheet
    order = np.lexsort((judge[valid], proposal[valid]))
    judge, proposal = judge[valid][order], proposal[valid][order]
    rubric = make_rubric(problem.criteria, problem.policy.weight_mode)
    scores = matrix.values[valid][order]
    points = rubric.points(scores)
    counts = np.bincount(proposal, minlength=len(proposal_ids)).astype(np.intp)
    starts = np.concatenate(([0], np.cumsum(counts))).astype(np.intp)
    return SheetTable(
        rubric=rubric,
        judge_ids=judge_ids,
        proposal_ids=proposal_ids,
        judge=judge,
        proposal=proposal,
        scores=scores,
        points=points,
        totals=points.sum(axis=1),
        counts=counts,
        starts=starts,
        recusals=tuple(pairs.recusals),
        missing=tuple(pairs.missing),
        notices=tuple(pairs.notices),
        sheets_per_judge=np.bincount(judge, minlength=len(judge_ids)).astype(np.intp),
        missing_per_judge=np.array(pairs.missing_per_judge, dtype=np.intp),
        recused_per_judge=np.array(pairs.recused_per_judge, dtype=np.intp),
    )


class _Pairs:
    """Walks judge by judge over (judge, proposal) pairs: recusals, missing and unassigned sheets.

    One judge's row of proposals is held at a time, so memory stays O(proposals).
    """

    def __init__(self, problem: ScoringProblem, judge: IntArray, proposal: IntArray) -> None:
        self.recusals: list[Recusal] = []
        self.missing: list[MissingSheet] = []
        self.notices: list[Notice] = []
        self.missing_per_judge: list[int] = []
        self.recused_per_judge: list[int] = []
        self.recused_sheet = np.zeros(len(judge), dtype=np.bool_)
        proposals = problem.proposals
        proposal_index = {p.proposal_id: k for k, p in enumerate(proposals)}
        organizations = [p.organization_id for p in proposals]
        by_judge = np.argsort(judge, kind="stable")
        bounds = np.searchsorted(judge[by_judge], np.arange(len(problem.judges) + 1)).tolist()
        for j, spec in enumerate(problem.judges):
            rows = by_judge[bounds[j] : bounds[j + 1]]
            has_sheet = np.zeros(len(proposals), dtype=np.bool_)
            has_sheet[proposal[rows]] = True
            if not (spec.conflict_organization_ids or spec.assigned_proposal_ids):
                # The usual judge: assigned everything, recused from nothing.
                self._note_missing(spec.judge_id, proposals, np.flatnonzero(~has_sheet), 0)
                continue
            recused = np.zeros(len(proposals), dtype=np.bool_)
            if spec.conflict_organization_ids:
                conflicts = set(spec.conflict_organization_ids)
                recused[:] = [bool(o) and o in conflicts for o in organizations]
                self.recused_sheet[rows] = recused[proposal[rows]]
            assigned = np.ones(len(proposals), dtype=np.bool_)
            if spec.assigned_proposal_ids:
                assigned[:] = False
                assigned[[proposal_index[p] for p in spec.assigned_proposal_ids]] = True
                self._note_unassigned(spec.judge_id, proposals, has_sheet & ~assigned & ~recused)
            recusal_rows = np.flatnonzero(recused & (assigned | has_sheet))
            for k in recusal_rows.tolist():
                self.recusals.append(
                    Recusal(
                        spec.judge_id,
                        proposals[k].proposal_id,
                        proposals[k].organization_id,
                        bool(has_sheet[k]),
                    )
                )
            missing_rows = np.flatnonzero(assigned & ~recused & ~has_sheet)
            self._note_missing(spec.judge_id, proposals, missing_rows, len(recusal_rows))

    def _note_missing(
        self, judge_id: str, proposals: tuple[Proposal, ...], rows: IntArray, recused: int
    ) -> None:
        self.missing.extend(MissingSheet(judge_id, proposals[k].proposal_id) for k in rows.tolist())
        self.missing_per_judge.append(len(rows))
        self.recused_per_judge.append(recused)

    def _note_unassigned(
        self, judge_id: str, proposals: tuple[Proposal, ...], outside: BoolArray
    ) -> None:
        rows = np.flatnonzero(outside).tolist()
        if not rows:
            return
        ids = [proposals[k].proposal_id for k in rows]
        listed = ", ".join(f'"{p}"' for p in ids)
        self.notices.append(
            Notice(
                UNASSIGNED_SHEET,
                f'judge "{judge_id}" sent sheets for proposals outside their assignment '
                f"({listed}); the sheets are counted",
                (judge_id, *ids),
            )
        )
