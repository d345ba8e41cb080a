"""Allocation benchmark: `python -m bench allocation [--case n5000] [--baseline-limit 30]`.

Seeded realistic rounds (instances.py) at n = 90 (county) to 20,000; on each, ours
(matching.allocation.engine.allocate, median of --repeats), the exact baselines on the same
prepared rules — a plain CP-SAT model (cpsat.py), the same MIP through MathOpt with SCIP and
with HiGHS (mip.py), once each by default — and greedy by score (matching.allocation.greedy).
One JSON line per case; every allocation is checked by matching.allocation.verify.

For TOTAL_SCORE the baselines maximise the sum of scores only, not the API's second step (fund
the chosen proposals most fully): that step only breaks ties between optimal funded sets,
leaving it out makes the baselines' problem easier, so the speedup measured is conservative.
`objectives_agree` compares the sum of scores. (Both models can add the second step exactly;
the tests do, on tiny problems.)
"""

from bench.allocation.instances import CASES
from bench.allocation.runner import add_arguments, run

__all__ = ["CASES", "add_arguments", "run"]
