"""Request seeds (uint64 on the wire) as the solvers take them."""

from __future__ import annotations

CP_SAT_SEED_MODULUS = 2**31


def cp_sat_seed(seed: int) -> int:
    """CP-SAT's random_seed is an int32: a larger seed is taken modulo 2**31 (same seed, same
    answer still holds; two seeds 2**31 apart give the same search)."""
    return seed % CP_SAT_SEED_MODULUS
