"""The report's charts as SVG bytes, drawn by matplotlib from plain numbers and labels.

Deterministic: Agg canvas set explicitly, fixed sizes, a fixed SVG hash salt and no date in the
metadata. Labels a chart font cannot draw (Chinese names without a CJK font) become the
fallback the caller gives, so a chart never depends on a glyph that is missing.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Sequence
from functools import cache, wraps
from typing import ParamSpec

from matplotlib import font_manager, rc_context
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

FUNDED = "#2b6cb0"
NOT_FUNDED = "#a0aec0"
CAPACITY = "#e2e8f0"
ALERT = "#c53030"
WIDTH_IN = 6.4
_CJK_FAMILIES = ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "Microsoft YaHei")
_LOCK = threading.Lock()
"""rcParams are process-wide: one chart at a time, so parallel rounds cannot mix settings."""

P = ParamSpec("P")


@cache
def _fonts() -> tuple[tuple[str, ...], frozenset[int]]:
    """The font families charts use (DejaVu Sans, then a CJK font if one is installed) and
    the code points they can draw."""
    paths = {entry.name: entry.fname for entry in font_manager.fontManager.ttflist}
    families = ["DejaVu Sans", *[name for name in _CJK_FAMILIES if name in paths][:1]]
    drawable: set[int] = set()
    for name in families:
        drawable.update(font_manager.get_font(paths[name]).get_charmap())
    return tuple(families), frozenset(drawable)


def label(text: str, fallback: str) -> str:
    """`text` if the chart fonts can draw every character, else `fallback`; `$` is escaped so
    that it is not read as mathtext."""
    _, drawable = _fonts()
    chosen = text if all(ord(ch) in drawable for ch in text) else fallback
    return chosen.replace("$", r"\$")


def _chart(draw: Callable[P, Figure]) -> Callable[P, bytes]:
    """Run `draw` under the report's fixed settings and return its figure as SVG bytes."""

    @wraps(draw)
    def render(*args: P.args, **kwargs: P.kwargs) -> bytes:
        settings = rc_context(
            {
                "svg.hashsalt": "venture-report",
                "svg.fonttype": "none",
                "font.family": list(_fonts()[0]),
                "font.size": 9,
                "axes.spines.top": False,
                "axes.spines.right": False,
            }
        )
        with _LOCK, settings:
            figure = draw(*args, **kwargs)
            FigureCanvasAgg(figure)
            buffer = io.BytesIO()
            figure.savefig(buffer, format="svg", metadata={"Date": None})
        return buffer.getvalue()

    return render


def _figure(rows: int) -> Figure:
    """A figure tall enough for `rows` horizontal bars."""
    return Figure(figsize=(WIDTH_IN, max(2.2, 0.3 * rows + 1.1)), dpi=100, layout="constrained")


def _yuan_axis(axes: Axes) -> None:
    axes.xaxis.set_major_locator(MaxNLocator(nbins=5))
    axes.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:,.0f}"))
    axes.set_xlabel("amount (yuan)")


@_chart
def spend_bars(
    title: str,
    labels: Sequence[str],
    yuan: Sequence[float],
    counts: Sequence[int],
    capacity_yuan: Sequence[float] | None = None,
) -> Figure:
    """Horizontal bars of money per key, largest at the top; `capacity_yuan` (pools) is drawn
    behind each bar."""
    figure = _figure(len(labels))
    axes = figure.add_subplot()
    rows = list(range(len(labels)))[::-1]
    if capacity_yuan is not None:
        axes.barh(rows, capacity_yuan, color=CAPACITY, height=0.75, label="pool amount")
    axes.barh(rows, yuan, color=FUNDED, height=0.5, label="awarded")
    for row, amount, count in zip(rows, yuan, counts, strict=True):
        axes.annotate(
            f" ¥{amount:,.0f} ({count})", (amount, row), va="center", fontsize=8, color="#1a202c"
        )
    axes.set_yticks(rows, labels)
    axes.set_title(title, loc="left", fontsize=10)
    _yuan_axis(axes)
    axes.margins(x=0.25)
    if capacity_yuan is not None:
        axes.legend(loc="lower right", fontsize=8, frameon=False)
    return figure


@_chart
def score_histogram(
    funded: Sequence[float], not_funded: Sequence[float], pass_line: float | None
) -> Figure:
    """Final scores in bins of 5 points, funded stacked on the rest, the pass line marked."""
    figure = Figure(figsize=(WIDTH_IN, 3.0), dpi=100, layout="constrained")
    axes = figure.add_subplot()
    scores = [*funded, *not_funded, *([pass_line] if pass_line is not None else [])]
    low = 5 * int(min(scores, default=0) // 5)
    high = 5 * int(max(scores, default=100) // 5 + 1)
    bins = list(range(low, high + 1, 5))
    axes.hist(
        [list(funded), list(not_funded)],
        bins=bins,
        stacked=True,
        color=[FUNDED, NOT_FUNDED],
        label=["funded", "not funded"],
        edgecolor="white",
    )
    if pass_line is not None:
        axes.axvline(pass_line, color=ALERT, linestyle="--", linewidth=1.2)
        axes.annotate(
            f" pass line {pass_line:g}",
            (pass_line, 1),
            xycoords=("data", "axes fraction"),
            va="top",
            color=ALERT,
            fontsize=8,
        )
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("final score")
    axes.set_ylabel("proposals")
    axes.legend(loc="best", fontsize=8, frameon=False)
    return figure


@_chart
def judge_chart(
    judge_ids: Sequence[str], leniency: Sequence[float], agreement: Sequence[float | None]
) -> Figure:
    """Two panels per judge: leniency (points above or below the panel) and agreement with
    the other judges (n/a where it could not be measured)."""
    figure = _figure(len(judge_ids))
    left, right = figure.subplots(1, 2, sharey=True)
    rows = list(range(len(judge_ids)))[::-1]
    colors = [FUNDED if value >= 0 else ALERT for value in leniency]
    left.barh(rows, leniency, color=colors, height=0.6)
    left.axvline(0, color="#4a5568", linewidth=0.8)
    left.set_yticks(rows, judge_ids)
    left.set_xlabel("leniency (calibrated offset, points)")
    left.set_title("Leniency", loc="left", fontsize=10)
    right.barh(rows, [value or 0.0 for value in agreement], color=FUNDED, height=0.6)
    for row, value in zip(rows, agreement, strict=True):
        text = "n/a" if value is None else f" {value:.2f}"
        right.annotate(text, (value or 0.0, row), va="center", fontsize=8)
    right.set_xlim(min([0.0, *(v for v in agreement if v is not None)]), 1.15)
    right.set_xlabel("agreement (r with other judges)")
    right.set_title("Agreement", loc="left", fontsize=10)
    return figure


@_chart
def rank_interval_chart(
    proposal_ids: Sequence[str],
    ranks: Sequence[int],
    intervals: Sequence[tuple[int, int]],
    funded: Sequence[bool],
    shortlist_size: int,
    confidence: float,
) -> Figure:
    """Each proposal's rank with its bootstrap interval, best rank at the top, the shortlist
    cut-off marked."""
    figure = _figure(len(proposal_ids))
    axes = figure.add_subplot()
    rows = list(range(len(proposal_ids)))[::-1]
    for row, rank, (lower, upper), is_funded in zip(rows, ranks, intervals, funded, strict=True):
        color = FUNDED if is_funded else NOT_FUNDED
        axes.plot([lower, upper], [row, row], color=color, linewidth=3, solid_capstyle="round")
        axes.plot([rank], [row], marker="o", color="#1a202c", markersize=4)
    if shortlist_size > 0:
        axes.axvline(shortlist_size + 0.5, color=ALERT, linestyle="--", linewidth=1)
        axes.annotate(
            f" shortlist {shortlist_size}",
            (shortlist_size + 0.5, 1),
            xycoords=("data", "axes fraction"),
            va="top",
            color=ALERT,
            fontsize=8,
        )
    axes.plot([], [], color=FUNDED, linewidth=3, label="funded")
    axes.plot([], [], color=NOT_FUNDED, linewidth=3, label="not funded")
    axes.set_yticks(rows, proposal_ids)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel(f"rank ({confidence:.0%} interval; dot: rank given)")
    # Top ranks sit top left and the last ones bottom right: the top right stays free.
    axes.legend(loc="upper right", fontsize=8, frameon=False)
    return figure
