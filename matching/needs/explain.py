"""What a committee reads beside the matching: each pair's affinity broken into its parts, the
ranked alternatives of every need and every organization, and each need left short with why."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from matching.needs.affinity import SAME_REGION, AffinityFeatures
from matching.needs.candidates import CandidatePairs, NeedShortfall
from matching.needs.model import (
    AFFINITY_PARTS,
    Affinity,
    AffinityPart,
    Candidate,
    NeedAssignment,
    NeedCandidates,
    NeedMatchingProblem,
    OrganizationCandidates,
    UnmetNeed,
    UnmetReason,
)

IntArray = npt.NDArray[np.int64]


def pair_parts(
    features: AffinityFeatures, need: npt.NDArray[np.integer], org: npt.NDArray[np.integer]
) -> npt.NDArray[np.float64]:
    """The six part values (AFFINITY_PARTS order) of many pairs at once: (pairs, 6)."""
    if features.text is not None:
        similarity = features.text[need, org]
    else:
        products = features.need_text[need].multiply(features.org_text[org])
        similarity = np.minimum(np.asarray(products.sum(axis=1)).ravel(), 1.0)
    return np.column_stack(
        [
            features.domain_table[features.need_domain[need], org].astype(np.float64),
            features.region_table[features.need_region[need], org] / float(SAME_REGION),
            similarity,
            features.rating[org],
            features.track_record[org],
            features.capacity[org],
        ]
    )


class Explainer:
    """Affinity breakdowns, built once per pair that any part of the answer shows."""

    def __init__(
        self,
        problem: NeedMatchingProblem,
        features: AffinityFeatures,
        weights: tuple[float, ...],
        pairs: CandidatePairs,
        chosen: npt.NDArray[np.bool_],
    ) -> None:
        self.problem = problem
        self.features = features
        self.weights = weights
        self.pairs = pairs
        self.chosen = chosen
        self.need_rows = self._need_rows()
        self.org_rows = self._org_rows()
        shown = np.unique(
            np.concatenate([np.flatnonzero(chosen), *self.need_rows, *self.org_rows]).astype(
                np.int64
            )
        )
        self.affinity = self._breakdowns(shown)

    def _need_rows(self) -> list[IntArray]:
        """Each need's top_k candidate rows: pairs come sorted by need, then affinity
        descending, then organization order."""
        p, top_k = self.pairs, self.problem.top_k
        starts = np.searchsorted(p.need, np.arange(len(self.problem.needs) + 1))
        return [
            np.arange(int(starts[i]), min(int(starts[i + 1]), int(starts[i]) + top_k))
            for i in range(len(self.problem.needs))
        ]

    def _org_rows(self) -> list[IntArray]:
        """Each organization's top_k candidate rows, best affinity first, then need order."""
        p, top_k = self.pairs, self.problem.top_k
        codes = p.organization
        if len(self.problem.organizations) <= np.iinfo(np.uint16).max:
            codes = codes.astype(np.uint16)  # numpy radix-sorts 16-bit keys
        by_org = np.argsort(codes, kind="stable")  # need order kept within an organization
        starts = np.searchsorted(
            p.organization[by_org], np.arange(len(self.problem.organizations) + 1)
        )
        found: list[IntArray] = []
        for j in range(len(self.problem.organizations)):
            block = by_org[int(starts[j]) : int(starts[j + 1])]
            if len(block) > top_k:
                # Everything tied with the k-th best stays in, so ties are settled by need order.
                values = p.affinity[block]
                kth = np.partition(values, len(block) - top_k)[len(block) - top_k]
                block = block[values >= kth]
            ranked = block[np.lexsort((p.need[block], -p.affinity[block]))]
            found.append(ranked[:top_k].astype(np.int64))
        return found

    def _breakdowns(self, rows: IntArray) -> dict[int, Affinity]:
        """Affinity objects for these pair rows. Parts other than text take few values, so
        their objects are shared; the total is the candidate's own affinity, the very number
        the solver used."""
        values = pair_parts(self.features, self.pairs.need[rows], self.pairs.organization[rows])
        shared: dict[tuple[int, float], AffinityPart] = {}

        def part(k: int, value: float) -> AffinityPart:
            key = (k, value)
            found = shared.get(key)
            if found is None:
                w = self.weights[k]
                found = shared[key] = AffinityPart(AFFINITY_PARTS[k], w, value, w * value)
            return found

        text_weight = self.weights[2]
        found: dict[int, Affinity] = {}
        for row, v in zip(rows.tolist(), values.tolist(), strict=True):
            parts = (
                part(0, v[0]),
                part(1, v[1]),
                AffinityPart("text", text_weight, v[2], text_weight * v[2]),
                part(3, v[3]),
                part(4, v[4]),
                part(5, v[5]),
            )
            found[row] = Affinity(float(self.pairs.affinity[row]), parts)
        return found

    def assignments(self) -> tuple[NeedAssignment, ...]:
        """Chosen pairs by need (request order), best affinity first."""
        p = self.pairs
        needs, orgs = self.problem.needs, self.problem.organizations
        return tuple(
            NeedAssignment(
                needs[int(p.need[k])].need_id,
                orgs[int(p.organization[k])].organization_id,
                self.affinity[int(k)],
                bool(p.fixed[k]),
            )
            for k in np.flatnonzero(self.chosen)
        )

    def need_candidates(self) -> tuple[NeedCandidates, ...]:
        org_ids = [o.organization_id for o in self.problem.organizations]
        org_of = self.pairs.organization
        return tuple(
            NeedCandidates(need.need_id, self._ranked(rows, org_ids, org_of))
            for need, rows in zip(self.problem.needs, self.need_rows, strict=True)
        )

    def organization_candidates(self) -> tuple[OrganizationCandidates, ...]:
        need_ids = [n.need_id for n in self.problem.needs]
        need_of = self.pairs.need
        return tuple(
            OrganizationCandidates(org.organization_id, self._ranked(rows, need_ids, need_of))
            for org, rows in zip(self.problem.organizations, self.org_rows, strict=True)
        )

    def _ranked(
        self, rows: IntArray, ids: list[str], other: npt.NDArray[np.integer]
    ) -> tuple[Candidate, ...]:
        """Candidates for these pair rows, ranked in row order; `other` maps a row to the
        index of the side being listed (organization for a need, need for an organization)."""
        affinity = self.affinity
        return tuple(
            Candidate(ids[o], rank, affinity[k], c)
            for rank, (k, o, c) in enumerate(
                zip(rows.tolist(), other[rows].tolist(), self.chosen[rows].tolist(), strict=True),
                start=1,
            )
        )

    def unmet(self, shortfalls: tuple[NeedShortfall, ...]) -> tuple[UnmetNeed, ...]:
        """Needs given fewer organizations than their minimum. The pre-check's reason when it
        already showed the need could not be met; otherwise its candidates' capacity went to
        other needs (or, with one organization per domain, to domains already taken)."""
        p = self.pairs
        problem = self.problem
        counts = np.bincount(p.need[self.chosen], minlength=len(problem.needs))
        candidates = np.bincount(p.need, minlength=len(problem.needs))
        load = np.bincount(p.organization[self.chosen], minlength=len(problem.organizations))
        capacity = np.array([o.capacity for o in problem.organizations])
        known = {s.need: s for s in shortfalls}
        starts = np.searchsorted(p.need, np.arange(len(problem.needs) + 1))
        found: list[UnmetNeed] = []
        for i, need in enumerate(problem.needs):
            if counts[i] >= need.min_organizations:
                continue
            if i in known:
                s = known[i]
                found.append(
                    UnmetNeed(
                        need.need_id, s.required, int(counts[i]), s.reason, s.message, s.candidates
                    )
                )
                continue
            orgs = p.organization[starts[i] : starts[i + 1]]
            full = int(np.sum(load[orgs] >= capacity[orgs]))
            message = (
                f"needs {need.min_organizations} organization(s), got {int(counts[i])}: "
                f"{int(candidates[i])} candidate(s), {full} of them at capacity with other needs"
            )
            if problem.policy.one_organization_per_domain and full < candidates[i]:
                message += "; the rest would repeat a service domain already on this need"
            found.append(
                UnmetNeed(
                    need.need_id,
                    need.min_organizations,
                    int(counts[i]),
                    UnmetReason.CAPACITY_EXHAUSTED,
                    message,
                    int(candidates[i]),
                )
            )
        return tuple(found)
