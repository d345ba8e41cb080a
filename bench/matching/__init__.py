"""Needs-matching benchmark: `python -m bench matching [--case n2000] [--baseline-limit 60]`.

Seeded realistic rounds (instances.py): 500 × 250 and 2,000 × 1,000 needs × organizations
(dense: every non-forbidden pair is a candidate) and 10,000 × 5,000 (sparse: top-50 candidate
organizations per need); each need wants 3 organizations, each organization takes at most 8,
1% of pairs are forbidden. `smoke` (40 × 20) runs only when named. On each case: ours
(matching.needs.engine.match_needs, end to end, median of --repeats), the time of the
affinity features alone and of affinity + candidates from them; then, on ours' candidate pairs
with value = priority × affinity, the exact baselines — a plain CP-SAT assignment model
(cpsat.py) and a min-cost flow built arc by arc in Python as openreview-matcher does
(arcflow.py), once each, within --baseline-limit — and the exact real-valued optimum from the
LP relaxation (lp.py; the polytope is integral). One JSON line per case; every matching is
checked by matching.needs.verify.pair_violations (demand, capacity, conflicts, candidates
only), the validator every needs matching in the tests passes too.
"""

from bench.matching.instances import CASES
from bench.matching.runner import add_arguments, run

__all__ = ["CASES", "add_arguments", "run"]
