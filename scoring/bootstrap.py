"""Rank stability: a seeded bootstrap that resamples each candidate's judges, fully vectorised.

In every sample each candidate's n valid sheets are drawn n times with replacement (independently
per proposal) and its panel score is recomputed by the request's method from the drawn totals.
For STANDARDIZED and CALIBRATED the totals are the full-data adjusted ones (standardized totals;
raw total − judge offset): judge offsets are held at their full-data estimates. Components stay
fixed. Candidates are ranked by final score rounded to tie_decimals, ties broken by their order
in the full-data ranking; ranks count candidates only.

Mean, trimmed mean and median depend only on how often each sheet was drawn. For n ≤ 7 one
uniform integer below n^n stands for the n draws (its base-n digits), a cached table maps it to
that multiset, and each proposal's statistic is precomputed for every multiset; larger panels
draw the n indices directly. Work is chunked so memory stays under about 100 MB.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from scoring.aggregate import window
from scoring.arrays import KEY_DECIMALS, FloatArray, IntArray, half_up
from scoring.model import AggregationMethod, RankInterval, RankStability

MAX_TABLE_PANEL = 7
"""Panels of up to this many sheets use the multiset table (7^7 = 823,543 entries)."""
KEYS_BUDGET = 24_000_000
"""Bytes for one chunk of rank keys (candidates × samples)."""
BLOCK_BUDGET = 8_000_000
"""Bytes for the per-block temporaries of the resampling."""
RANKING_BUDGET = 12_000_000
"""Bytes for one sub-chunk of the per-sample ranking."""
SHORT_ROWS = 256
"""Up to this many candidates (and 16-bit keys), samples are ordered by one sort of combined
keys and the rank quantiles read from per-candidate place counts; beyond it a radix argsort per
sample is cheaper, and the ranks are kept."""

_SORTED_METHODS = (AggregationMethod.TRIMMED_MEAN, AggregationMethod.MEDIAN)
RankArray = npt.NDArray[np.unsignedinteger]
KeyArray = npt.NDArray[np.uint16] | FloatArray


@dataclass(frozen=True, slots=True)
class Resampling:
    """What the bootstrap needs: adjusted sheet totals (table order, rows of proposal p are
    starts[p]:starts[p + 1]), candidates in full-data rank order, and how finals are formed."""

    totals: FloatArray
    starts: IntArray
    candidates: IntArray
    fixed: FloatArray
    """Per proposal: final − panel_share·panel, the part the bootstrap holds fixed."""
    panel_share: float
    method: AggregationMethod
    trim: int
    decimals: int
    pass_line: float | None


@dataclass(frozen=True, slots=True)
class _Group:
    """Candidates with the same number n of sheets: their columns, sorted totals (m × n) and
    fixed parts of the final, and the sorted draws [start, stop) their statistic averages."""

    columns: IntArray
    totals: FloatArray
    fixed: FloatArray
    start: int
    stop: int


@dataclass(frozen=True, slots=True)
class _Keys:
    """Rank keys are gaps top − round(final·10^d): smaller is better, and stored as uint16 when
    every possible final fits in 65,536 steps (the stable sort is then a radix sort)."""

    top: float
    scale: float
    small: bool
    pass_line: float | None
    passing_gap: int
    """uint16 keys: the largest gap whose rounded final reaches the pass line (-1: none)."""
    positive: bool = False
    """Every final·10^d a sample can take is at least 1 (up to the last bits): rounding needs no
    sign handling."""

    def passed(self, gaps: npt.NDArray[np.generic]) -> npt.NDArray[np.bool_] | bool:
        """Whether the rounded final behind each gap is at or above the pass line."""
        if self.pass_line is None:
            return True
        if self.small:
            within: npt.NDArray[np.bool_] = np.less_equal(gaps, self.passing_gap)
            return within
        finals = (self.top - gaps.astype(np.float64)) / self.scale
        passed: npt.NDArray[np.bool_] = finals >= self.pass_line
        return passed


def rank_intervals(
    data: Resampling, stability: RankStability, shortlist: int, seed: int
) -> dict[int, RankInterval]:
    """Rank interval and P(top K) of every candidate, keyed by proposal index."""
    samples, count = stability.samples, len(data.candidates)
    if samples == 0 or count == 0:
        return {}
    rng = np.random.default_rng(seed)
    groups = _groups(data)
    keys = _keys(data, groups)
    hits = np.zeros(count, dtype=np.int64)
    chunk = max(1, min(samples, KEYS_BUDGET // ((2 if keys.small else 8) * count)))
    widths = [min(chunk, samples - first) for first in range(0, samples, chunk)]
    lower: npt.NDArray[np.integer]
    upper: npt.NDArray[np.integer]
    if keys.small and count <= SHORT_ROWS:
        # Few candidates: count how often each lands at each place instead of keeping ranks.
        places = np.zeros((count, count), dtype=np.int64)
        for width in widths:
            _count_places(_gaps(data, groups, keys, width, rng), keys, places, hits, shortlist)
        lower, upper = _place_bounds(places, samples, stability.confidence)
    else:
        ranks = np.empty((samples, count), dtype=np.uint16 if count < 2**16 else np.uint32)
        for first, width in zip(range(0, samples, chunk), widths, strict=True):
            gaps = _gaps(data, groups, keys, width, rng)
            _rank(gaps, keys, ranks[first : first + width], hits, shortlist)
        lower, upper = _interval_bounds(ranks, stability.confidence)
    # Rounded so that, say, c = 0.8 gives exactly 0.1 and 0.9 (not 0.09999999999999998).
    low_p = round((1 - stability.confidence) / 2, KEY_DECIMALS)
    high_p = round((1 + stability.confidence) / 2, KEY_DECIMALS)
    intervals: dict[int, RankInterval] = {}
    # Python numbers up front: indexing numpy arrays element by element costs more than this.
    rows = zip(data.candidates.tolist(), hits.tolist(), lower.tolist(), upper.tolist(), strict=True)
    for p, hit, low, high in rows:
        probability = float(hit) / samples
        intervals[p] = RankInterval(
            lower=low,
            upper=high,
            confidence=stability.confidence,
            top_k_probability=probability,
            shortlist_size=shortlist,
            uncertain=low_p < probability < high_p,
        )
    return intervals


def _groups(data: Resampling) -> list[_Group]:
    first = data.starts[data.candidates]
    counts = data.starts[data.candidates + 1] - first
    fixed = data.fixed[data.candidates]
    sizes = sorted(set(counts.tolist()))
    groups: list[_Group] = []
    for n in sizes:
        # Usually every panel has the same size: then the group is all candidates.
        columns = np.arange(len(counts)) if len(sizes) == 1 else np.flatnonzero(counts == n)
        rows = first[columns][:, None] + np.arange(n)
        totals = np.sort(data.totals[rows], axis=1)
        start, stop = _window(n, data.method, data.trim)
        groups.append(_Group(columns, totals, fixed[columns], start, stop))
    return groups


@lru_cache(maxsize=256)
def _window(n: int, method: AggregationMethod, trim: int) -> tuple[int, int]:
    """aggregate.window for one panel size, as Python ints (kept: it depends on these alone)."""
    start, stop = window(np.array([n]), method, trim)
    return int(start[0]), int(stop[0])


def _keys(data: Resampling, groups: list[_Group]) -> _Keys:
    """Key scale from the range finals can take (each statistic lies within the sheet totals)."""
    scale = 10.0**data.decimals
    share = data.panel_share
    # A few dozen numbers: Python floats (the same IEEE products and sums) beat numpy calls.
    highest, lowest = -math.inf, math.inf
    for g in groups:
        fixed = g.fixed.tolist()
        top_totals, bottom_totals = g.totals[:, -1].tolist(), g.totals[:, 0].tolist()
        highest = max(highest, *(share * t + f for t, f in zip(top_totals, fixed, strict=True)))
        lowest = min(lowest, *(share * t + f for t, f in zip(bottom_totals, fixed, strict=True)))
    # One step of margin each side: a sample's final may differ from the bound in the last bit.
    top = float(np.rint(highest * scale)) + 1
    span = top - (float(np.rint(lowest * scale)) - 1)
    passing = -1
    if data.pass_line is not None:
        passing = _passing_gap(top, scale, data.pass_line)
    # Finals lie within the bounds up to the last bits, so from lowest·10^d ≥ 1 on every scaled
    # final is positive.
    positive = lowest * scale >= 1.0
    return _Keys(top, scale, span < 2**16, data.pass_line, passing, positive)


def _passing_gap(top: float, scale: float, pass_line: float) -> int:
    """The largest uint16 gap g with (top − g)/scale ≥ pass_line (-1: none): the ranking's
    float comparison, monotone in g. The exact-arithmetic answer top − pass_line·scale is at
    most a step or two off, so a short walk from it finds g (a binary search took 17 steps)."""

    def passes(gap: int) -> bool:
        return (top - float(gap)) / scale >= pass_line

    last = 2**16 - 1
    guess = top - pass_line * scale
    if math.isfinite(guess):
        gap = min(max(math.floor(guess), -1), last)
    else:  # a pass line beyond any float final: all gaps pass, or none
        gap = last if guess > 0 else -1
    while gap < last and passes(gap + 1):
        gap += 1
    while gap >= 0 and not passes(gap):
        gap -= 1
    return gap


def _gaps(
    data: Resampling, groups: list[_Group], keys: _Keys, width: int, rng: np.random.Generator
) -> KeyArray:
    """Rank keys of every candidate (rows) in `width` fresh samples (columns)."""
    gaps = np.empty((len(data.candidates), width), dtype=np.uint16 if keys.small else np.float64)
    factor = data.panel_share * keys.scale
    for group in groups:
        n = group.totals.shape[1]
        block = _block_rows(n, width)
        fixed = group.fixed * keys.scale
        for first in range(0, len(group.columns), block):
            columns = group.columns[first : first + block]
            rows_fixed = fixed[first : first + block, None]

            def gap(panel: FloatArray, rows_fixed: FloatArray = rows_fixed) -> FloatArray:
                """Keys of panel scores (a fresh array, overwritten): final·10^d =
                (share·panel + fixed)·10^d, rounded as the full-data ranking rounds."""
                panel *= factor
                panel += rows_fixed
                rounded = _half_up_in_place(panel, data.decimals, keys.positive)
                return np.subtract(keys.top, rounded, out=rounded)

            totals = group.totals[first : first + block]
            gaps[columns] = _sample_gaps(totals, group.start, group.stop, width, rng, gap)
    return gaps


def _half_up_in_place(scaled: FloatArray, decimals: int, positive: bool) -> FloatArray:
    """half_up(scaled, decimals); overwrites `scaled` when every value is known positive.

    There |x| is x and copysign(·, x) changes nothing, so floor(x + (0.5 + tolerance)) is the
    same number in two passes over the array instead of four (copysign alone costs as much as
    the other three). The tolerance is half_up's; a test holds the two to the same results."""
    if not positive:
        return half_up(scaled, decimals)
    tolerance = min(10.0 ** (decimals - KEY_DECIMALS), 1e-3)
    np.add(scaled, 0.5 + tolerance, out=scaled)
    return np.floor(scaled, out=scaled)


def _block_rows(n: int, width: int) -> int:
    if n == 1:
        per_row = 8 * width
    elif n <= MAX_TABLE_PANEL:
        per_row = 8 * (len(_multisets(n)[1]) + 3 * width)
    else:
        per_row = 17 * n * width
    return max(1, BLOCK_BUDGET // per_row)


def _sample_gaps(
    totals: FloatArray,
    start: int,
    stop: int,
    width: int,
    rng: np.random.Generator,
    gap: Callable[[FloatArray], FloatArray],
) -> FloatArray:
    """Keys (rows × width) of resampled panel scores: the mean of sorted draws [start, stop) of
    proposals with sorted totals (rows × n). `gap` maps panel scores to keys element by element,
    so where a proposal's possible panel scores (one per multiset of draws) are fewer than the
    samples, it maps those and the samples pick their keys: the same keys, fewer operations."""
    rows, n = totals.shape
    if n == 1:
        return np.repeat(gap(totals.copy()), width, axis=1)
    if n <= MAX_TABLE_PANEL:
        multiset_of, _ = _multisets(n)
        weights = _window_weights(n, start, stop)
        # einsum, not matmul: no BLAS threads, and the same sums in the same order every time.
        statistic = np.einsum("pk,km->pm", totals, weights)
        draws = rng.integers(0, n**n, size=(rows, width), dtype=np.uint32)
        # take, not multiset_of[draws] (nor [index] below): the same entries, but indexing with
        # a 2-D array goes through numpy's general gather, up to twice as slow.
        index = multiset_of.take(draws) + _row_offsets(rows, weights.shape[1])
        if weights.shape[1] < width:
            picked: FloatArray = gap(statistic).ravel().take(index)
            return picked
        panel = statistic.ravel().take(index)
        del statistic, draws, index  # free them before gap's temporaries (megabytes per block)
        return gap(panel)
    index_type = np.uint8 if n <= 256 else np.intp
    draws_n = rng.integers(0, n, size=(rows, width, n), dtype=index_type)
    drawn = totals.ravel()[draws_n + (np.arange(rows) * n)[:, None, None]]
    if (start, stop) != (0, n):
        drawn.sort(axis=2)
    mean: FloatArray = drawn[:, :, start:stop].mean(axis=2)
    del drawn, draws_n
    return gap(mean)


@lru_cache(maxsize=64)
def _row_offsets(rows: int, columns: int) -> IntArray:
    """Where each row of a C-ordered rows × columns array starts in its flat view (a column)."""
    offsets: IntArray = (np.arange(rows) * columns)[:, None]
    offsets.flags.writeable = False  # shared by every call
    return offsets


@lru_cache(maxsize=MAX_TABLE_PANEL)
def _multisets(n: int) -> tuple[npt.NDArray[np.uint16], IntArray]:
    """For every u < n^n (n draws as base-n digits): the index of its multiset of draws; and
    each multiset's counts per sheet (multisets × n)."""
    u = np.arange(n**n, dtype=np.int64)
    code = np.zeros_like(u)
    for i in range(n):
        digit = (u // n**i) % n
        code += (n + 1) ** digit
    codes, multiset_of = np.unique(code, return_inverse=True)
    counts = (codes[:, None] // (n + 1) ** np.arange(n)) % (n + 1)
    return multiset_of.astype(np.uint16), counts.astype(np.intp)


@lru_cache(maxsize=64)
def _window_weights(n: int, start: int, stop: int) -> FloatArray:
    """Weight of each sorted sheet (rows) in the mean of sorted draws [start, stop), per
    multiset (columns). A multiset draws sheet j counts[j] times, at sorted positions
    [before_j, through_j)."""
    counts = _multisets(n)[1]
    through = np.cumsum(counts, axis=1)
    before = through - counts
    overlap = np.clip(np.minimum(through, stop) - np.maximum(before, start), 0, None)
    weights: FloatArray = np.ascontiguousarray((overlap / float(stop - start)).T)
    return weights


def _rank(
    gaps: KeyArray,
    keys: _Keys,
    ranks: RankArray,
    hits: npt.NDArray[np.int64],
    shortlist: int,
) -> None:
    """Fill ranks (samples × candidates) and add top-K hits for one chunk of samples."""
    count, width = gaps.shape
    step = max(1, RANKING_BUDGET // (16 * count))
    places = np.arange(1, count + 1, dtype=ranks.dtype)
    for first in range(0, width, step):
        block = np.ascontiguousarray(gaps[:, first : first + step].T)
        # Stable: equal keys keep the full-data order of the columns. On uint16 keys numpy's
        # stable sort is a radix sort.
        order = np.argsort(block, axis=1, kind="stable")
        rows = len(order)
        flat = ranks[first : first + rows].reshape(-1)
        flat[order + (np.arange(rows) * count)[:, None]] = places
        if shortlist > 0:
            sample_ranks = ranks[first : first + rows]
            hits += ((sample_ranks <= shortlist) & keys.passed(block)).sum(axis=0)


def _count_places(
    gaps: KeyArray,
    keys: _Keys,
    places: npt.NDArray[np.int64],
    hits: npt.NDArray[np.int64],
    shortlist: int,
) -> None:
    """Add one chunk of samples to places[candidate, i] (samples in which the candidate came
    i-th, 0-based) and to the top-K hits; at most SHORT_ROWS candidates, 16-bit keys."""
    count, width = gaps.shape
    step = max(1, RANKING_BUDGET // (16 * count))
    # The low half of each sort key is column·count (< 2^16 as count ≤ SHORT_ROWS = 2^8):
    # ordered as the column, and once sorted, plus the place, the entry's cell in `places`.
    column_cells = np.arange(0, count * count, count, dtype=np.uint32)
    place = np.arange(count, dtype=np.uint16)
    # Sorted keys at or above this belong to gaps beyond passing_gap (finals below the pass
    # line); None: every final passes.
    failing_from = None if keys.pass_line is None else (keys.passing_gap + 1) << 16
    for first in range(0, width, step):
        # key·2^16 + column·count is unique and orders as (key, column): its plain sort is the
        # stable argsort of the keys (equal keys keep the full-data order), and on short rows
        # far cheaper than the radix sort argsort runs.
        block = np.left_shift(gaps[:, first : first + step].T, 16, dtype=np.uint32)
        block |= column_cells
        block.sort(axis=1)
        cells = block.astype(np.uint16)  # the low half: column·count (the cast truncates)
        cells += place
        counts = np.bincount(cells.ravel(), minlength=count * count).reshape(count, count)
        places += counts
        if shortlist > 0:
            # The top-K hits are the entries at the first K places, less those whose final
            # misses the pass line (usually none, so they are looked for, not counted).
            hits += counts[:, :shortlist].sum(axis=1)
            # Passing entries lead each sorted row: if the K-th ones all pass, all top ones do.
            last = block[:, min(shortlist, count) - 1]
            if failing_from is not None and failing_from <= last.max():
                top = block[:, :shortlist]
                failing = top[top >= failing_from]
                hits -= np.bincount((failing & 0xFFFF) // count, minlength=count)


@lru_cache(maxsize=64)
def _quantile_positions(samples: int, confidence: float) -> tuple[int, int]:
    """Sorted positions of the (1−c)/2 quantile (method "lower") and the (1+c)/2 one
    ("higher") among `samples` values; np.quantile is slow to ask, so each pair is kept."""
    positions = np.arange(samples)
    low = int(np.quantile(positions, (1 - confidence) / 2, method="lower"))
    high = int(np.quantile(positions, (1 + confidence) / 2, method="higher"))
    return low, high


def _place_bounds(
    places: npt.NDArray[np.int64], samples: int, confidence: float
) -> tuple[IntArray, IntArray]:
    """_interval_bounds from place counts: the rank at sorted position i is one more than the
    number of places whose cumulative count (samples placed there or better) is at most i."""
    low, high = _quantile_positions(samples, confidence)
    cumulative = places.cumsum(axis=1)
    lower: IntArray = (cumulative <= low).sum(axis=1) + 1
    upper: IntArray = (cumulative <= high).sum(axis=1) + 1
    return lower, upper


def _interval_bounds(ranks: RankArray, confidence: float) -> tuple[RankArray, RankArray]:
    """Per candidate, the (1−c)/2 quantile (method "lower") and (1+c)/2 ("higher") of its ranks
    over the samples (rows of `ranks`)."""
    low, high = _quantile_positions(ranks.shape[0], confidence)
    by_candidate = np.ascontiguousarray(ranks.T)
    if by_candidate.dtype == np.uint16:
        by_candidate.sort(axis=1, kind="stable")  # a radix sort on 16-bit ranks
    else:
        by_candidate = np.partition(by_candidate, (low, high), axis=1)
    return by_candidate[:, low], by_candidate[:, high]
