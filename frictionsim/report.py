"""Charts and the one-page report of a results folder (matplotlib Figure API, Agg).

A strategist pastes these charts into slides, so each one shows one idea, at
16:9 slide size (1600 × 900 pixels), with the scenario's name, units, and a
95 % confidence interval wherever replications leave uncertainty. Colours are
Okabe–Ito (safe for the common colour-vision deficiencies); friction losses
are always vermilion and non-friction exits always grey and hatched, so the
two causes are never confused from one chart to the next.

Two kinds of functions:

* ``plot_*`` draw on an Axes (or a Figure, for the charts with several
  panels) from plain data: the ``summary.json`` and ``distributions.json``
  documents of a run, or lists of labels, means and CI bounds for the charts of
  comparisons, sweeps and sensitivity analyses. They never run a simulation.
  ``draw_comparison``, ``draw_sweep`` and ``draw_sensitivity`` lay them out
  from the JSON document of a study (``compare``, ``sweep``, ``sensitivity``).
* :func:`render_report` turns a folder's documents into the bytes of every
  chart that has data (PNG) plus ``report.md`` and ``report.html``. It writes
  nothing: :mod:`frictionsim.results` writes the files atomically.

Renders are deterministic: fixed figure size and DPI, no pyplot state, PNG
metadata without the matplotlib version, a fixed SVG hash salt, and rc
settings applied locally. Identical inputs give identical bytes.
"""

from __future__ import annotations

import html
import io
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import (
    FixedLocator,
    FuncFormatter,
    MaxNLocator,
    NullLocator,
    PercentFormatter,
)

from . import metrics
from .formats import money

#: Okabe–Ito colours (safe for the common colour-vision deficiencies).
PASSED = "#0072B2"  # blue: customers who went on, revenue realised
FRICTION = "#D55E00"  # vermilion: friction (recoverable by a redesign)
EXIT = "#999999"  # grey, hatched: non-friction exits
POTENTIAL = "#56B4E9"  # sky blue: revenue if nobody left
TOLERANCE = "#000000"
#: Series colours, in order (Okabe–Ito without the colours reserved above).
SERIES = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#F0E442", "#000000")

#: Slide size: 10 × 5.625 inches at 160 DPI = 1600 × 900 pixels (16:9).
SIZE = (10.0, 5.625)
DPI = 160
PIXELS = (round(SIZE[0] * DPI), round(SIZE[1] * DPI))

_RC = {
    "font.size": 10,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": "frictionsim",
    "hatch.linewidth": 1.0,
    # names, overrides and swept values are user text: "$" is a dollar sign, never math
    "text.parse_math": False,
}

CI_NOTE = "error bars: 95% CI over replications"
#: Calibration chart: observed and simulated pass rates.
OBSERVED = "#000000"
SIMULATED = "#E69F00"
FIT_DPI = 100


# -- formatting ------------------------------------------------------------------------------


def fmt_count(x: float) -> str:
    text = f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.1f}"
    return text.replace("-", "−")


def fmt_pct(x: float) -> str:
    return f"{x:.1%}"


def fmt_minutes(m: float) -> str:
    """A duration given in minutes, in the unit a reader expects."""
    if m < 1:
        return f"{m * 60:.0f} s"
    if m < 60:
        return f"{m:.1f} min" if m < 10 else f"{m:.0f} min"
    if m < 1440:
        return f"{m / 60:.1f} h"
    return f"{m / 1440:.1f} d"


FORMATS: dict[str, Callable[[float], str]] = {
    "money": money,
    "count": fmt_count,
    "pct": fmt_pct,
    "pp": lambda x: f"{x * 100:+.1f} pp".replace("-", "−"),
    "minutes": fmt_minutes,
    "number": lambda x: f"{x:,.3g}",
}


def _formatter(kind: str) -> Callable[[float], str]:
    return FORMATS.get(kind, FORMATS["number"])


def _mean(m: dict[str, Any] | None) -> float:
    return float(m["mean"]) if m and m.get("mean") is not None else 0.0


def _ci(m: dict[str, Any] | None) -> tuple[float, float] | None:
    if not m or not m.get("ci95"):
        return None
    return float(m["ci95"][0]), float(m["ci95"][1])


def _clipped(m: dict[str, Any] | None) -> str:
    """``, clipped`` after an interval that was cut at the metric's possible values."""
    return ", clipped" if m and m.get("clipped") else ""


def _yerr(mean: float, ci: tuple[float, float] | None) -> list[list[float]]:
    if ci is None:
        return [[0.0], [0.0]]
    return [[max(mean - ci[0], 0.0)], [max(ci[1] - mean, 0.0)]]


def _reps(summary: dict[str, Any]) -> str:
    n = summary.get("replications")
    if n is None:
        return "replications"
    return f"{n} replication{'' if n == 1 else 's'}"


def _no_values(ax: Axes, title: str, text: str) -> None:
    """A panel that says why it is empty (a metric without values: no visitors, ...)."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, loc="left")


# -- charts of one run -------------------------------------------------------------------------


def plot_funnel(ax: Axes, summary: dict[str, Any]) -> None:
    """Customers entering each step; losses split into friction and non-friction exits."""
    steps = list(summary["steps"])
    entered = [_mean(summary["steps"][s]["entered"]) for s in steps]
    friction = [_mean(summary["steps"][s]["abandoned_friction"]) for s in steps]
    exits = [_mean(summary["steps"][s]["abandoned_exit"]) for s in steps]
    passed = [e - f - x for e, f, x in zip(entered, friction, exits)]
    y = list(range(len(steps)))
    ax.barh(y, passed, color=PASSED, label="continued")
    ax.barh(y, friction, left=passed, color=FRICTION, label="abandoned: friction")
    lefts = [p + f for p, f in zip(passed, friction)]
    ax.barh(
        y,
        exits,
        left=lefts,
        color=EXIT,
        hatch="//",
        edgecolor="white",
        label="left: non-friction exit",
    )
    for yi, p, f, s in zip(y, passed, friction, steps):
        ci = _ci(summary["steps"][s]["abandoned_friction"])
        if ci is not None and f > 0:
            ax.errorbar(p + f, yi, xerr=_yerr(f, ci), color="black", capsize=3, lw=1)
    top = max(entered) if entered and max(entered) > 0 else 1.0
    for yi, e, f, x in zip(y, entered, friction, exits):
        if e > 0:
            ax.text(
                e + top * 0.01,
                yi,
                f"{fmt_count(e)} in · friction {f / e:.1%} · exit {x / e:.1%}",
                va="center",
                fontsize=9,
            )
    ax.set_yticks(y, steps)
    ax.invert_yaxis()
    ax.set_xlim(0, top * 1.45)
    ax.set_xlabel(f"customers entering the step, per replication (mean of {_reps(summary)})")
    conv = summary["metrics"]["conversion_rate"]
    conv_text = ""
    if conv["mean"] is not None:
        ci = _ci(conv)
        ci_text = f" (95% CI {fmt_pct(ci[0])}–{fmt_pct(ci[1])}{_clipped(conv)})" if ci else ""
        conv_text = f" · conversion {fmt_pct(conv['mean'])}{ci_text}"
    ax.set_title(f"{summary['scenario']}: checkout funnel{conv_text}", loc="left")
    ax.legend(
        loc="lower right",
        frameon=False,
        title="error bars: 95% CI of friction losses",
        title_fontsize=9,
    )


def lost_revenue_bars(summary: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The bars of the lost-revenue waterfall, top to bottom: potential revenue,
    friction losses of each step that has any, non-friction exits, realised
    revenue. Each bar: ``label``, ``kind``, ``bottom``, ``height``, ``value``, ``ci``.
    ``None`` when the summary has no lost revenue per step (older results)."""
    steps = summary["steps"]
    if not steps or any("lost_revenue_friction" not in m for m in steps.values()):
        return None
    metrics = summary["metrics"]
    revenue = _mean(metrics["revenue"])
    lost_exit = _mean(metrics["lost_revenue_exit"])
    step_losses = [(s, _mean(m["lost_revenue_friction"]), m) for s, m in steps.items()]
    potential = revenue + _mean(metrics["lost_revenue_friction"]) + lost_exit
    bars = [
        {
            "label": "potential\n(all visitors)",
            "kind": "potential",
            "bottom": 0.0,
            "height": potential,
            "value": potential,
            "ci": _ci(metrics.get("potential_revenue")),
        }
    ]
    level = potential
    for name, loss, m in step_losses:
        if loss <= 0:
            continue
        level -= loss
        bars.append(
            {
                "label": name,
                "kind": "friction",
                "bottom": level,
                "height": loss,
                "value": -loss,
                "ci": _ci(m["lost_revenue_friction"]),
            }
        )
    level -= lost_exit
    bars.append(
        {
            "label": "non-friction\nexits",
            "kind": "exit",
            "bottom": level,
            "height": lost_exit,
            "value": -lost_exit,
            "ci": _ci(metrics["lost_revenue_exit"]),
        }
    )
    bars.append(
        {
            "label": "realised\nrevenue",
            "kind": "revenue",
            "bottom": 0.0,
            "height": revenue,
            "value": revenue,
            "ci": _ci(metrics["revenue"]),
        }
    )
    return bars


def plot_lost_revenue(ax: Axes, summary: dict[str, Any]) -> None:
    """Waterfall from potential revenue (every visitor's order value) to realised
    revenue: the friction losses of each step, then non-friction exits."""
    bars = lost_revenue_bars(summary)
    if bars is None:
        raise ValueError("the summary has no lost revenue per step")
    style = {
        "potential": {"color": POTENTIAL},
        "friction": {"color": FRICTION},
        "exit": {"color": EXIT, "hatch": "//", "edgecolor": "white"},
        "revenue": {"color": PASSED},
    }
    x = np.arange(len(bars))
    top = max(b["bottom"] + b["height"] for b in bars) or 1.0
    for xi, b in zip(x, bars):
        ax.bar(xi, b["height"], bottom=b["bottom"], width=0.7, **style[b["kind"]])
        if b["ci"] is not None:
            lo, hi = b["ci"]
            size = abs(b["value"])
            # the CI of a loss moves the bar's lower end; of a total, its upper end
            end = b["bottom"] if b["value"] < 0 else b["bottom"] + b["height"]
            err = [[hi - size], [size - lo]] if b["value"] < 0 else [[size - lo], [hi - size]]
            ax.errorbar(xi, end, yerr=np.maximum(err, 0), color="black", capsize=3, lw=1)
        ax.text(
            xi,
            b["bottom"] + b["height"] + top * 0.015,
            money(b["value"]),
            ha="center",
            va="bottom",
            fontsize=9,
        )
    for xi, a in enumerate(bars[:-1]):  # dotted connectors between consecutive bars
        level = a["bottom"] if a["kind"] in ("friction", "exit") else a["height"]
        ax.plot([xi + 0.35, xi + 0.65], [level, level], color="black", lw=0.6, ls=":")
    ax.set_xticks(x, [b["label"] for b in bars], rotation=30, ha="right", rotation_mode="anchor")
    ax.set_ylim(0, top * 1.1)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: money(v)))
    ax.set_ylabel("revenue per replication (currency units)")
    friction = _mean(summary["metrics"]["lost_revenue_friction"])
    potential = bars[0]["height"]
    share = f" · friction costs {friction / potential:.1%} of potential" if potential else ""
    ax.set_title(f"{summary['scenario']}: where revenue is lost{share}", loc="left")
    handles = [
        Patch(color=FRICTION, label="friction (recoverable by design)"),
        Patch(facecolor=EXIT, hatch="//", edgecolor="white", label="non-friction exits"),
    ]
    ax.legend(
        handles=handles,
        loc="upper right",
        frameon=False,
        title=f"mean of {_reps(summary)}; {CI_NOTE}",
        title_fontsize=9,
    )


def hist_quantiles(counts: Sequence[float], edges: Sequence[float], qs: Sequence[float]) -> list:
    """Quantiles of a histogram, interpolating linearly inside a bin (``nan`` if empty)."""
    c = np.asarray(counts, dtype=float)
    e = np.asarray(edges, dtype=float)
    total = c.sum()
    if total <= 0:
        return [math.nan for _ in qs]
    cum = np.concatenate([[0.0], np.cumsum(c)]) / total
    out = []
    for q in qs:
        i = int(np.searchsorted(cum, q, side="left"))
        i = min(max(i, 1), len(c))
        width = cum[i] - cum[i - 1]
        frac = (q - cum[i - 1]) / width if width > 0 else 0.0
        out.append(float(e[i - 1] + frac * (e[i] - e[i - 1])))
    return out


def irritation_bands(distributions: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per segment: the steps entered, and the 10/25/50/75/90 % quantiles of
    cumulative irritation on entering each; and the tolerance quantiles."""
    irr = distributions["irritation"]
    edges = irr["edges"]
    qs = (0.1, 0.25, 0.5, 0.75, 0.9)
    out = {}
    for seg, tol in irr["tolerance"].items():
        if sum(tol) == 0:  # a segment without visitors has no panel
            continue
        steps, bands, entries = [], [], []
        for step, by_seg in irr["steps"].items():
            counts = by_seg[seg]
            if sum(counts) > 0:
                steps.append(step)
                bands.append(hist_quantiles(counts, edges, qs))
                entries.append(sum(counts))
        out[seg] = {
            "steps": steps,
            "quantiles": np.asarray(bands, dtype=float).reshape(-1, len(qs)),
            "entries": entries,
            "tolerance": hist_quantiles(tol, edges, qs),
        }
    return out


def plot_irritation(fig: Figure, distributions: dict[str, Any]) -> list[Axes]:
    """Irritation journey: per segment, the spread of cumulative irritation on
    entering each step (median, 25–75 % box, 10–90 % whisker) against the spread
    of the segment's tolerances (median and 25–75 % band). Where irritation
    climbs into the tolerance band, customers start to abandon. Entrants of a
    step are its survivors, so late steps show the more tolerant customers."""
    bands = irritation_bands(distributions)
    segs = list(bands)
    axes = fig.subplots(1, len(segs), sharey=True, squeeze=False)[0]
    cap = distributions["irritation"]["edges"][-1]
    ymax = 0.0
    for ax, seg in zip(axes, segs):
        b = bands[seg]
        q = b["quantiles"]
        x = np.arange(len(b["steps"]))
        lo_t, med_t, hi_t = b["tolerance"][1], b["tolerance"][2], b["tolerance"][3]
        ax.axhspan(lo_t, hi_t, color=TOLERANCE, alpha=0.08, lw=0)
        ax.axhline(med_t, color=TOLERANCE, ls="--", lw=1.2)
        if len(x):
            # one box per step, not a line: with branches, consecutive steps in the
            # listed order need not follow one another
            ax.vlines(x, q[:, 0], q[:, 4], color=FRICTION, lw=1.5, alpha=0.6)
            ax.bar(x, q[:, 3] - q[:, 1], bottom=q[:, 1], width=0.45, color=FRICTION, alpha=0.45)
            ax.plot(x, q[:, 2], color=FRICTION, marker="D", ms=5, lw=0)
            ymax = max(ymax, float(np.nanmax(q[:, 4])))
        ymax = max(ymax, hi_t)
        ax.set_xticks(x, b["steps"], rotation=35, ha="right", rotation_mode="anchor")
        ax.set_title(seg, fontsize=11)
        ax.set_xlim(-0.6, max(len(x), 1) - 0.4)
        ax.text(
            0.02,
            med_t,
            f" tolerance median {med_t:.3g}",
            transform=ax.get_yaxis_transform(),
            va="bottom",
            fontsize=8,
        )
    axes[0].set_ylim(0, min(ymax * 1.08, cap) or 1.0)
    axes[0].set_ylabel("cumulative irritation on entering the step (points)")
    handles = [
        Line2D([], [], color=FRICTION, marker="D", ms=5, lw=0, label="irritation: median"),
        Patch(color=FRICTION, alpha=0.45, label="irritation: 25–75 %"),
        Line2D([], [], color=FRICTION, alpha=0.6, lw=1.5, label="irritation: 10–90 %"),
        Line2D([], [], color=TOLERANCE, ls="--", label="tolerance: median"),
        Patch(color=TOLERANCE, alpha=0.12, label="tolerance: 25–75 %"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=5, frameon=False)
    reps = distributions.get("replications")
    pooled = f"; customers of {reps} replications pooled" if reps else ""
    fig.suptitle(
        f"{distributions.get('scenario', '')}: irritation on entering each step vs tolerance"
        f"\nper segment, steps in the scenario's order{pooled}",
        x=0.01,
        ha="left",
        fontweight="bold",
        fontsize=12,
    )
    return list(axes)


_TIME_TICKS = [
    (1 / 60, "1 s"),
    (2 / 60, "2 s"),
    (5 / 60, "5 s"),
    (1 / 6, "10 s"),
    (0.5, "30 s"),
    (1, "1 min"),
    (2, "2 min"),
    (3, "3 min"),
    (5, "5 min"),
    (10, "10 min"),
    (15, "15 min"),
    (20, "20 min"),
    (30, "30 min"),
    (60, "1 h"),
    (120, "2 h"),
    (300, "5 h"),
    (720, "12 h"),
    (1440, "1 d"),
    (4320, "3 d"),
]


_ROUND_TICKS = {1 / 60, 5 / 60, 0.5, 1, 5, 10, 30, 60, 300, 1440}


def _minutes_range(lo: float, hi: float) -> str:
    """A CI in minutes, with enough digits that its two ends differ."""
    a, b = fmt_minutes(lo), fmt_minutes(hi)
    return f"{a}–{b}" if a != b else f"{lo:.3g}–{hi:.3g} min"


def _time_axis(ax: Axes, edges: np.ndarray, counts: np.ndarray) -> None:
    """Log time axis over the bins that hold data, ticks in readable units."""
    nz = np.flatnonzero(counts)
    lo = edges[max(nz[0], 1)] if nz.size else edges[1]
    hi = edges[min(nz[-1] + 1, len(edges) - 1)] if nz.size else edges[-1]
    lo, hi = lo / 1.5, hi * 1.5
    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    ticks = [(t, s) for t, s in _TIME_TICKS if lo <= t <= hi and t in _ROUND_TICKS]
    if len(ticks) < 4:
        ticks = [(t, s) for t, s in _TIME_TICKS if lo <= t <= hi]
    if len(ticks) < 2:
        ticks = [(t, s) for t, s in _TIME_TICKS if lo / 10 <= t <= hi * 10]
    gap = math.log10(hi / lo) / 12  # at most ~12 labels, never touching
    kept: list[tuple[float, str]] = []
    for t, label in ticks:
        if not kept or math.log10(t / kept[-1][0]) >= gap:
            kept.append((t, label))
    ticks = kept
    ax.xaxis.set_major_locator(FixedLocator([t for t, _ in ticks]))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: dict(ticks).get(v, "")))
    ax.xaxis.set_minor_locator(NullLocator())


def _timed_hist(counts: Sequence[float], edges: Sequence[float], reps: int) -> tuple:
    """Bins from the second on (the first, under 0.6 s, has no place on a log axis),
    as customers per replication."""
    c = np.asarray(counts, dtype=float) / max(reps, 1)
    e = np.asarray(edges, dtype=float)
    return c[1:], e[1:], c[0]


def plot_checkout_time(ax: Axes, summary: dict[str, Any], distributions: dict[str, Any]) -> None:
    """Minutes from arrival to order for the customers who ordered, with the
    median and the mean (95 % CI) marked."""
    ct = distributions["checkout_time"]
    reps = int(distributions.get("replications") or summary.get("replications") or 1)
    counts, edges, under = _timed_hist(ct["counts"], ct["edges"], reps)
    ax.stairs(counts, edges, fill=True, color=PASSED, alpha=0.85, label="orders")
    _time_axis(ax, edges, counts)
    median = hist_quantiles(ct["counts"], ct["edges"], [0.5])[0]
    m = summary["metrics"].get("mean_checkout_time")
    if m and m.get("mean") is not None:
        mean, ci = float(m["mean"]), _ci(m)
        if ci is not None:
            ax.axvspan(ci[0], ci[1], color="black", alpha=0.15, lw=0)
        ci_text = f" (95% CI {_minutes_range(*ci)}{_clipped(m)})" if ci else ""
        ax.axvline(mean, color="black", lw=1.5, label=f"mean {fmt_minutes(mean)}{ci_text}")
    if not math.isnan(median):
        ax.axvline(median, color="#E69F00", lw=1.5, ls="--", label=f"median {fmt_minutes(median)}")
    ax.set_xlabel("time from arrival to order (log scale)")
    ax.set_ylabel("orders per replication, per bin (20 bins per decade)")
    ax.set_ylim(0, max(counts.max(initial=0) * 1.15, 1e-9))
    note = f"; {under:,.1f} under 0.6 s not shown" if under > 0 else ""
    ax.legend(
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        frameon=False,
        title=f"mean of {_reps(summary)}{note}".replace("; ", "\n"),
        alignment="left",
    )
    ax.set_title(f"{summary['scenario']}: time to complete checkout (orders only)", loc="left")


def plot_waiting(fig: Figure, summary: dict[str, Any], distributions: dict[str, Any]) -> list:
    """Queues at the steps with capacity: how long the customers who had to wait
    waited (left), and how busy each step's capacity was (right, 95 % CI)."""
    waits = distributions["wait"]["steps"]
    steps = [s for s in waits if s in summary["steps"]]
    reps = int(distributions.get("replications") or summary.get("replications") or 1)
    left, right = fig.subplots(1, 2, width_ratios=[2.2, 1])
    all_counts = np.zeros(len(distributions["wait"]["edges"]) - 2)
    for k, s in enumerate(steps):
        counts, edges, under = _timed_hist(waits[s], distributions["wait"]["edges"], reps)
        all_counts += counts
        m = summary["steps"][s]
        p_wait, mean_wait = m.get("p_wait"), m.get("mean_wait")
        label = s
        if p_wait and p_wait.get("mean") is not None:
            label += f": {fmt_pct(p_wait['mean'])} of entrants wait"
        if mean_wait and mean_wait.get("mean") is not None:
            ci = _ci(mean_wait)
            ci_text = f" (95% CI {_minutes_range(*ci)}{_clipped(mean_wait)})" if ci else ""
            label += f"\nmean wait over all entrants {fmt_minutes(mean_wait['mean'])}{ci_text}"
        if under > 0:
            label += f"\n{under:,.1f} waits under 0.6 s not shown"
        left.stairs(counts, edges, color=SERIES[k % len(SERIES)], lw=2, label=label)
    edges = np.asarray(distributions["wait"]["edges"], dtype=float)[1:]
    _time_axis(left, edges, all_counts)
    left.set_ylim(0, max(all_counts.max(initial=0), 1e-9) * 1.35)
    left.set_xlabel("time waited in the queue (log scale), customers who waited")
    left.set_ylabel("customers per replication, per bin")
    left.legend(loc="upper right", frameon=False, fontsize=8)
    left.set_title("wait of those who found all capacity busy", fontsize=11)
    util = [_mean(summary["steps"][s].get("utilisation")) for s in steps]
    x = np.arange(len(steps))
    right.bar(x, util, color=[SERIES[k % len(SERIES)] for k in range(len(steps))], width=0.6)
    for xi, s, u in zip(x, steps, util):
        ci = _ci(summary["steps"][s].get("utilisation"))
        if ci is not None:
            right.errorbar(xi, u, yerr=_yerr(u, ci), color="black", capsize=4, lw=1)
        right.text(xi, u + 0.03, fmt_pct(u), ha="center", va="bottom", fontsize=9)
    right.set_xticks(x, steps)
    right.set_ylim(0, 1.05)
    right.yaxis.set_major_formatter(PercentFormatter(1.0))
    right.set_ylabel("utilisation: busy time / (capacity × run time)")
    right.set_title("utilisation (error bars: 95% CI)", fontsize=11)
    fig.suptitle(
        f"{summary['scenario']}: waiting at steps with capacity (mean of {_reps(summary)})",
        x=0.01,
        ha="left",
        fontweight="bold",
        fontsize=12,
    )
    return [left, right]


# -- charts of several runs (plain data) -------------------------------------------------------


def _ci_err(means: Sequence[float], lo: Sequence[float], hi: Sequence[float]) -> np.ndarray:
    m = np.asarray(means, dtype=float)
    return np.maximum([m - np.asarray(lo, dtype=float), np.asarray(hi, dtype=float) - m], 0)


def plot_comparison(
    ax: Axes,
    labels: Sequence[str],
    means: Sequence[float],
    ci_low: Sequence[float],
    ci_high: Sequence[float],
    *,
    metric: str,
    title: str,
    kind: str = "pct",
    reference: float | None = None,
    compact: bool = False,
) -> None:
    """One metric for several designs (or their paired differences), a bar per
    label with its 95 % CI. ``kind`` formats values (``pct``, ``pp`` for
    differences of rates in percentage points, ``money``, ``count``,
    ``minutes``, ``number``); ``reference`` (e.g. 0 for differences,
    or the baseline's value) draws a vertical line. ``compact``, for a panel
    among several: bars labelled with their mean only, no axis label (the
    figure says what the error bars are)."""
    if not labels:  # e.g. every design without visitors: nothing to compare
        _no_values(ax, title, "no design has a value for this metric")
        return
    f = _formatter(kind)
    y = np.arange(len(labels))
    colours = [FRICTION if reference is not None and m < reference else PASSED for m in means]
    ax.barh(y, means, color=colours, height=0.6)
    ax.errorbar(
        means, y, xerr=_ci_err(means, ci_low, ci_high), fmt="none", color="black", capsize=4
    )
    span = max([abs(v) for v in (*ci_low, *ci_high, *means)] or [1.0]) or 1.0
    for yi, m, lo, hi in zip(y, means, ci_low, ci_high):
        x = max(hi, m) if m >= 0 else min(lo, m)
        ax.text(
            x + (0.03 if m >= 0 else -0.03) * span,
            yi,
            f(m) if compact else f"{f(m)} ({f(lo)} – {f(hi)})",
            va="center",
            ha="left" if m >= 0 else "right",
            fontsize=9,
        )
    if reference is not None:
        ax.axvline(reference, color="black", lw=1)
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    lo_x = min(0.0, *ci_low, *means)
    hi_x = max(0.0, *ci_high, *means)
    pad = 0.45 * (hi_x - lo_x or 1.0)
    if hi_x == lo_x:  # every value 0: centre the reference
        ax.set_xlim(-1.0, 1.0)
    else:
        ax.set_xlim(lo_x - (pad if lo_x < 0 else 0), hi_x + pad)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f(v)))
    if compact:
        ax.xaxis.set_major_locator(MaxNLocator(4, integer=kind == "count"))
    else:
        ax.set_xlabel(f"{metric} ({CI_NOTE})")
    ax.set_title(title, loc="left")


def plot_sweep(
    ax: Axes,
    values: Sequence[float],
    means: Sequence[float],
    ci_low: Sequence[float],
    ci_high: Sequence[float],
    *,
    param: str,
    metric: str,
    title: str,
    kind: str = "pct",
) -> None:
    """A metric across the values of one parameter: mean line with a 95 % CI band."""
    if not len(values):
        _no_values(ax, title, f"no point of the sweep has a value of {metric}")
        return
    f = _formatter(kind)
    ax.fill_between(values, ci_low, ci_high, color=PASSED, alpha=0.25, lw=0, label="95% CI")
    ax.plot(values, means, color=PASSED, marker="o", lw=2, label="mean over replications")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f(v)))
    ax.set_xlabel(param)
    ax.set_ylabel(metric)
    ax.legend(loc="best", frameon=False)
    ax.set_title(title, loc="left")
    ax.grid(axis="y", alpha=0.3)


def plot_heatmap(
    fig: Figure,
    x_values: Sequence[Any],
    y_values: Sequence[Any],
    means: Sequence[Sequence[float]],
    *,
    x_label: str,
    y_label: str,
    metric: str,
    title: str,
    kind: str = "pct",
    ci_half_width: Sequence[Sequence[float]] | None = None,
) -> Axes:
    """A metric over a grid of two parameters: ``means[i][j]`` at ``y_values[i]``,
    ``x_values[j]``; each cell is annotated with its value (± CI half-width when
    given). Colour map: cividis (readable in colour-vision deficiencies and in grey)."""
    f = _formatter(kind)
    ax = fig.add_subplot()
    data = np.asarray(means, dtype=float)
    image = ax.imshow(data, cmap="cividis", aspect="auto", origin="lower")
    finite = data[np.isfinite(data)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    for i in range(data.shape[0]):
        for j in range(data.shape[1]):
            v = data[i, j]
            if not math.isfinite(v):  # a point without a value: an empty cell
                continue
            text = f(v)
            if ci_half_width is not None and math.isfinite(ci_half_width[i][j]):
                text += f"\n± {f(ci_half_width[i][j])}"
            bright = hi > lo and (v - lo) / (hi - lo) > 0.6
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=9,
                color="black" if bright else "white",
            )
    ax.set_xticks(range(len(x_values)), [str(v) for v in x_values])
    ax.set_yticks(range(len(y_values)), [str(v) for v in y_values])
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    bar = fig.colorbar(image, ax=ax)
    bar.set_label(metric)
    bar.formatter = FuncFormatter(lambda v, _: f(v))
    bar.update_ticks()
    note = " (cell: mean ± 95% CI half-width)" if ci_half_width is not None else " (cell: mean)"
    ax.set_title(title + note, loc="left")
    return ax


def plot_tornado(
    ax: Axes,
    params: Sequence[str],
    low: Sequence[float],
    high: Sequence[float],
    base: float,
    *,
    metric: str,
    title: str,
    kind: str = "pct",
    low_labels: Sequence[str] | None = None,
    high_labels: Sequence[str] | None = None,
) -> None:
    """Sensitivity: the metric with each parameter at its low and high value (the
    others at base), widest swing on top. ``*_labels`` name the parameter values
    at each end."""
    if not params:
        _no_values(ax, title, f"no parameter has a value of {metric} at both ends")
        return
    f = _formatter(kind)
    order = sorted(range(len(params)), key=lambda k: -abs(high[k] - low[k]))
    y = np.arange(len(order))
    for yi, k in zip(y, order):
        for value, colour, names, lab in (
            (low[k], SERIES[0], low_labels, "low"),
            (high[k], SERIES[1], high_labels, "high"),
        ):
            ax.barh(
                yi,
                value - base,
                left=base,
                color=colour,
                height=0.6,
                label=lab if yi == 0 else None,
            )
            name = f" ({names[k]})" if names is not None else ""
            right = value >= base
            ax.text(
                value,
                yi + 0.36,
                f"{f(value)}{name}",
                ha="left" if right else "right",
                va="center",
                fontsize=8,
            )
    ax.axvline(base, color="black", lw=1)
    ax.set_yticks(y, [params[k] for k in order])
    ax.invert_yaxis()
    values = [*low, *high, base]
    span = (max(values) - min(values)) or abs(base) or 1.0
    ax.set_xlim(min(values) - 0.3 * span, max(values) + 0.3 * span)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f(v)))
    ax.set_xlabel(f"{metric} (base {f(base)})")
    ax.legend(loc="lower right", frameon=False, title="parameter at")
    ax.set_title(title, loc="left")


def plot_sobol_indices(
    ax: Axes,
    params: Sequence[str],
    first: Sequence[float],
    first_conf: Sequence[float],
    total: Sequence[float],
    total_conf: Sequence[float],
    *,
    metric: str,
    title: str,
) -> None:
    """Global sensitivity: each parameter's Sobol indices of a metric, first order
    (the parameter alone) and total (with its interactions), each with its 95 %
    confidence half-width, in the order given (strongest first)."""
    y = np.arange(len(params))
    ax.barh(
        y - 0.2,
        total,
        height=0.4,
        xerr=total_conf,
        color=SERIES[1],
        error_kw={"capsize": 3, "lw": 1},
        label="total (ST): with interactions",
    )
    ax.barh(
        y + 0.2,
        first,
        height=0.4,
        xerr=first_conf,
        color=SERIES[0],
        error_kw={"capsize": 3, "lw": 1},
        label="first order (S1): alone",
    )
    ax.axvline(0, color="black", lw=1)
    ax.set_yticks(y, params)
    ax.invert_yaxis()
    ax.set_xlabel(f"share of the variance of {metric} (error bars: 95% CI)")
    ax.legend(loc="lower right", frameon=False)
    ax.set_title(title, loc="left")


def plot_word_of_mouth(ax: Axes, data: dict[str, Any]) -> None:
    """Visitors over time by source, with 95 % CI bands, and the NPS.

    ``data`` (the ``word_of_mouth.json`` document of a results folder)::

        {
          "scenario": "checkout-baseline",          # optional, for the title
          "bin_minutes": 1440,                      # width of a time bin
          "time": [0, 1440, 2880, ...],             # start of each bin, minutes
          "sources": {                              # any names; usually these three
            "organic":   {"mean": [...], "ci_low": [...], "ci_high": [...]},
            "referral":  {"mean": [...], "ci_low": [...], "ci_high": [...]},
            "returning": {"mean": [...], "ci_low": [...], "ci_high": [...]}
          },
          "nps": {"mean": 12.5, "ci95": [10.1, 14.9]}   # optional, −100..100
        }

    Counts are visitors per bin per replication (means over replications);
    each list has one value per bin.
    """
    t = np.asarray(data["time"], dtype=float)
    width = float(data.get("bin_minutes") or (t[1] - t[0] if t.size > 1 else 1.0))
    days = t.size and t[-1] + width > 2 * 1440
    scale, unit = (1440.0, "days") if days else (60.0, "hours")
    mid = (t + width / 2) / scale
    for k, (name, s) in enumerate(data["sources"].items()):
        colour = SERIES[k % len(SERIES)]
        ax.fill_between(mid, s["ci_low"], s["ci_high"], color=colour, alpha=0.2, lw=0)
        ax.plot(mid, s["mean"], color=colour, lw=2, marker="o", ms=3, label=name)
    ax.set_xlabel(f"time since start ({unit}; bins of {fmt_minutes(width)})")
    ax.set_ylabel("visitors per bin per replication")
    ax.set_ylim(bottom=0)
    ax.legend(
        loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, title="source\n(bands: 95% CI)"
    )
    nps = data.get("nps")
    nps_text = ""
    if nps and nps.get("mean") is not None:
        ci = nps.get("ci95")
        ci_text = f" (95% CI {ci[0]:+.1f} to {ci[1]:+.1f}{_clipped(nps)})" if ci else ""
        nps_text = f" · NPS {nps['mean']:+.1f}{ci_text}".replace("-", "−")
    name = data.get("scenario")
    ax.set_title(f"{name + ': ' if name else ''}visitors by source{nps_text}", loc="left")


# -- calibration ------------------------------------------------------------------------


def plot_fit(ax: Axes, rows: Sequence[dict[str, Any]], title: str) -> None:
    """Observed vs simulated pass rate per step, each with its 95 % CI (calibration)."""
    labels = [
        (f"{r['segment']}: {r['step']}" if r["segment"] else r["step"])
        + (f"\n(fitted: {r['fitted']})" if r.get("fitted") else "")
        for r in rows
    ]
    y = list(range(len(rows)))

    def bars(kind: str) -> tuple[list[float], list[list[float]]]:
        rate = [r[f"{kind}_rate"] for r in rows]
        lo = [r[f"{kind}_ci_low"] for r in rows]
        hi = [r[f"{kind}_ci_high"] for r in rows]
        err = [
            [0.0 if math.isnan(m - a) else m - a for m, a in zip(rate, lo)],
            [0.0 if math.isnan(b - m) else b - m for m, b in zip(rate, hi)],
        ]
        return rate, err

    rate, err = bars("observed")
    ax.errorbar(
        rate,
        [v - 0.12 for v in y],
        xerr=err,
        fmt="o",
        color=OBSERVED,
        capsize=3,
        lw=1,
        label="observed (95% Wilson CI)",
    )
    rate, err = bars("simulated")
    ax.errorbar(
        rate,
        [v + 0.12 for v in y],
        xerr=err,
        fmt="s",
        color=SIMULATED,
        capsize=3,
        lw=1,
        label="simulated, calibrated (95% Wilson CI)",
    )
    for yi, r in zip(y, rows):
        ax.text(
            1.005,
            yi,
            f"n = {r['observed_entered']:,}",
            va="center",
            fontsize=8,
            transform=ax.get_yaxis_transform(),
        )
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlabel("pass rate of the step (completed / entered)")
    ax.set_title(title)
    ax.grid(axis="x", color="#dddddd", lw=0.6)
    ax.set_axisbelow(True)
    ax.legend(loc="lower left", fontsize=9, frameon=False, bbox_to_anchor=(0, 1.06), ncols=2)
    ax.spines[["top", "right"]].set_visible(False)


def fit_chart_png(rows: Sequence[dict[str, Any]], title: str, software: str | None = None) -> bytes:
    """The calibration chart as PNG bytes (identical bytes for identical rows);
    ``software``: the PNG's Software text, which says who wrote it."""
    with mpl.rc_context(_RC):
        fig = Figure(figsize=(9, 1.9 + 0.45 * len(rows)), layout="constrained")
        plot_fit(fig.add_subplot(), rows, title)
        FigureCanvasAgg(fig)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=FIT_DPI, metadata={"Software": software})
    return buffer.getvalue()


# -- rendering ------------------------------------------------------------------------------


def render_png(draw: Callable[[Figure], Any]) -> bytes:
    """PNG bytes of a slide-size figure drawn by ``draw(fig)``; deterministic."""
    with mpl.rc_context(_RC):
        fig = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
        FigureCanvasAgg(fig)
        draw(fig)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _one_axes(plot: Callable[..., Any], *args: Any) -> Callable[[Figure], Any]:
    return lambda fig: plot(fig.add_subplot(), *args)


#: Every chart file a report may draw, in report order.
CHART_FILES = (
    "funnel.png",
    "lost_revenue.png",
    "irritation.png",
    "waiting.png",
    "checkout_time.png",
    "word_of_mouth.png",
)


def chart_plan(
    summary: dict[str, Any],
    distributions: dict[str, Any] | None = None,
    word_of_mouth: dict[str, Any] | None = None,
    overrides: Sequence[str] = (),
) -> list[tuple[str, str, str, Callable[[Figure], Any]]]:
    """The charts the data allows, in report order: (file, title, caption, draw); the
    ``overrides`` of the run follow the scenario's name in every chart's title."""
    summary = _labelled(summary, overrides)
    distributions = _labelled(distributions, overrides)
    word_of_mouth = _labelled(word_of_mouth, overrides)
    plan = [
        (
            "funnel.png",
            "Funnel",
            "Customers entering each step; at each step, who went on, who abandoned "
            "for friction and who left for other reasons.",
            _one_axes(plot_funnel, summary),
        )
    ]
    bars = lost_revenue_bars(summary)
    if bars is not None and bars[0]["height"] > 0:
        plan.append(
            (
                "lost_revenue.png",
                "Lost revenue by step and cause",
                "From the order value of every visitor to the revenue realised: what each "
                "step loses to friction, then what non-friction exits take.",
                _one_axes(plot_lost_revenue, summary),
            )
        )
    if distributions is not None and irritation_bands(distributions):
        plan.append(
            (
                "irritation.png",
                "Irritation journey",
                "Per segment, how irritated customers are when they enter each step, "
                "against how much they tolerate; where the two meet, customers abandon.",
                lambda fig: plot_irritation(fig, distributions),
            )
        )
    queues = distributions["wait"]["steps"] if distributions is not None else {}
    if any(_mean(summary["steps"].get(s, {}).get("entered")) > 0 for s in queues):
        plan.append(
            (
                "waiting.png",
                "Waiting",
                "How long customers who found the capacity busy waited, and how busy "
                "each step with capacity was.",
                lambda fig: plot_waiting(fig, summary, distributions),
            )
        )
    if distributions is not None and sum(distributions["checkout_time"]["counts"]) > 0:
        plan.append(
            (
                "checkout_time.png",
                "Time to complete checkout",
                "Minutes from arrival to order, for the customers who ordered.",
                _one_axes(plot_checkout_time, summary, distributions),
            )
        )
    if word_of_mouth is not None:
        plan.append(
            (
                "word_of_mouth.png",
                "Word of mouth",
                "Visitors over time by source, and the Net Promoter Score.",
                _one_axes(plot_word_of_mouth, word_of_mouth),
            )
        )
    return plan


def key_numbers(summary: dict[str, Any]) -> list[str]:
    """The key numbers of a run in words (Markdown bullets without the dash)."""
    m = summary["metrics"]
    lines = []

    def ci_words(metric: dict[str, Any], f: Callable[[float], str], more: str = "") -> str:
        ci = _ci(metric)
        ci_text = f"95% CI {f(ci[0])}–{f(ci[1])}{_clipped(metric)}" if ci else ""
        parts = [p for p in (more, ci_text) if p]
        return f" ({'; '.join(parts)})" if parts else ""

    conv = m["conversion_rate"]
    if conv["mean"] is not None:
        lines.append(
            f"**Conversion**: {fmt_pct(conv['mean'])}{ci_words(conv, fmt_pct)} of "
            f"{fmt_count(_mean(m['visitors']))} visitors ordered "
            f"({fmt_count(_mean(m['orders']))} orders)."
        )
    revenue, lost = _mean(m["revenue"]), _mean(m["lost_revenue"])
    friction, exits = _mean(m["lost_revenue_friction"]), _mean(m["lost_revenue_exit"])
    potential = revenue + lost
    lines.append(
        f"**Revenue**: {money(revenue)}{ci_words(m['revenue'], money)} realised, "
        f"out of {money(potential)} if every visitor had ordered."
    )
    if potential > 0:
        share = f"{friction / lost:.0%}" if lost > 0 else ""
        lines.append(
            f"**Lost revenue**: {money(lost)}, of which {money(friction)}"
            f"{ci_words(m['lost_revenue_friction'], money, share)} "
            "to friction, which a better design can recover, and "
            f"{money(exits)}{ci_words(m['lost_revenue_exit'], money)} "
            "to non-friction exits (browsing, comparing prices)."
        )
    # as stats.worst_step, which this module cannot import (stats pulls in the engine)
    worst, worst_value = None, 0.0
    for name, s in summary["steps"].items():
        if _mean(s["abandoned_friction"]) > worst_value:
            worst, worst_value = name, _mean(s["abandoned_friction"])
    if worst is not None:
        s = summary["steps"][worst]
        entered = _mean(s["entered"])
        share = (
            f"{worst_value / entered:.0%} of the {fmt_count(entered)} who reach it"
            if entered > 0
            else "of the customers who reach it"
        )
        worth = ""
        if "lost_revenue_friction" in s:
            worth = f", worth {money(_mean(s['lost_revenue_friction']))} in order value"
        lines.append(
            f"**Worst step**: {worst} loses {fmt_count(worst_value)} customers to friction"
            f"{ci_words(s['abandoned_friction'], fmt_count)}, {share}{worth}."
        )
    for name, s in summary["steps"].items():
        if _mean(s["entered"]) > 0 and (s.get("utilisation") or {}).get("mean") is not None:
            p_wait = s.get("p_wait", {}).get("mean")
            wait_text = f"{fmt_pct(p_wait)} of entrants wait, " if p_wait is not None else ""
            lines.append(
                f"**Queue at {name}**: {wait_text}mean wait "
                f"{fmt_minutes(_mean(s['mean_wait']))} over all entrants, capacity "
                f"{fmt_pct(_mean(s['utilisation']))} busy."
            )
    nps = m.get("nps")
    if nps and nps.get("mean") is not None:
        signed = lambda x: f"{x:+.1f}"  # noqa: E731
        lines.append(
            f"**NPS of buyers**: {signed(nps['mean'])}{ci_words(nps, lambda x: f'{x:.1f}')}: "
            f"{fmt_count(_mean(m['promoters']))} promoters, {fmt_count(_mean(m['passives']))} "
            f"passives, {fmt_count(_mean(m['detractors']))} detractors (peak–end memory)."
        )
    loop = [
        ("referral_visitors", "referral_revenue", "referral visitors", "revenue"),
        ("returning_visitors", "repeat_revenue", "returning visitors", "revenue"),
        ("prospects_lost", "lost_revenue_word_of_mouth", "prospects deterred", "revenue lost"),
    ]
    parts = [
        f"{fmt_count(_mean(m[count]))} {label} ({what} {money(_mean(m[value]))})"
        for count, value, label, what in loop
        if count in m and _mean(m[count]) > 0
    ]
    if parts:
        lines.append(f"**Word of mouth and returns**: {'; '.join(parts)}.")
    if "profit" in m and _mean(m["profit"]) != revenue:
        lines.append(
            f"**Profit**: {money(_mean(m['profit']))}{ci_words(m['profit'], money)} "
            f"after margin and step costs ({money(_mean(m['step_costs']))})."
        )
    return lines


def _about(summary: dict[str, Any]) -> str:
    """The report's first sentence: what the figures are."""
    text = (
        f"{_reps(summary)}, seed {summary.get('seed')}, "
        f"frictionsim {summary.get('frictionsim_version')}. Figures are means per "
        "replication (one simulated horizon) with 95% confidence intervals; money is in "
        "the scenario's currency units."
    )
    if summary.get("replications") == 1:
        text += " One replication is too few replications for confidence intervals."
    elif any(isinstance(m, dict) and m.get("clipped") for m in summary["metrics"].values()):
        text += (
            " An interval marked clipped reached beyond the metric's possible values "
            "(too few replications for its spread) and is cut there."
        )
    return text


def _markdown(summary: dict[str, Any], lines: list[str], charts: list[tuple[str, str, str]]) -> str:
    head = f"# {summary['scenario']}: checkout report\n\n{_about(summary)}\n\n"
    bullets = "".join(f"- {line}\n" for line in lines)
    body = "".join(
        f"\n## {title}\n\n{caption}\n\n![{title}]({file})\n" for file, title, caption in charts
    )
    return head + bullets + body


def _html(summary: dict[str, Any], lines: list[str], charts: list[tuple[str, str, str]]) -> str:
    def inline(text: str) -> str:
        parts = html.escape(text).split("**")
        return "".join(f"<strong>{p}</strong>" if i % 2 else p for i, p in enumerate(parts))

    e = html.escape
    title = f"{summary['scenario']}: checkout report"
    items = "".join(f"<li>{inline(line)}</li>\n" for line in lines)
    figures = "".join(
        f'<h2>{e(t)}</h2>\n<p>{e(c)}</p>\n<img src="{e(f)}" alt="{e(t)}" '
        f'width="{PIXELS[0]}" height="{PIXELS[1]}">\n'
        for f, t, c in charts
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{e(title)}</title>\n"
        "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em}"
        "img{max-width:100%;height:auto}</style>\n</head>\n<body>\n"
        f"<h1>{e(title)}</h1>\n<p>{e(_about(summary), quote=False)}</p>\n"
        f"<ul>\n{items}</ul>\n{figures}</body>\n</html>\n"
    )


#: Overrides shown after a scenario's name in titles are cut beyond this many characters.
MAX_LABEL = 90


def scenario_label(name: Any, overrides: Sequence[str] = ()) -> Any:
    """A scenario's name for titles: with its ``--set`` overrides, e.g.
    ``checkout-baseline [steps.payment.capacity=8]``, so a chart of a variant is never
    mistaken for the plain scenario."""
    if not overrides or not name:
        return name
    shown = ", ".join(overrides)
    if len(shown) > MAX_LABEL:
        shown = shown[: MAX_LABEL - 1] + "…"
    return f"{name} [{shown}]"


def _labelled(document: dict[str, Any] | None, overrides: Sequence[str]) -> Any:
    if document is None or not overrides or "scenario" not in document:
        return document
    return {**document, "scenario": scenario_label(document["scenario"], overrides)}


def render_report(
    summary: dict[str, Any],
    distributions: dict[str, Any] | None = None,
    word_of_mouth: dict[str, Any] | None = None,
    overrides: Sequence[str] = (),
) -> dict[str, bytes]:
    """Every chart the data allows (PNG), ``report.md`` and ``report.html``, by file name.
    ``overrides``: the ``--set`` values of the run, shown in every title and the report."""
    plan = chart_plan(summary, distributions, word_of_mouth, overrides)
    files = {name: render_png(draw) for name, _, _, draw in plan}
    listed = [(name, title, caption) for name, title, caption, _ in plan]
    summary = _labelled(summary, overrides)
    lines = key_numbers(summary)
    if overrides:
        lines.insert(0, f"**Overrides**: {', '.join(f'--set {o}' for o in overrides)}.")
    files["report.md"] = _markdown(summary, lines, listed).encode()
    files["report.html"] = _html(summary, lines, listed).encode()
    return files


# -- comparisons, sweeps and sensitivity (documents of compare, sweep, sensitivity) ------

#: How each metric of a study document is named and formatted on a chart: (label, kind).
#: How the report writes each kind of the metric table.
KIND_FORMAT = {
    "count": "count",
    "rate": "pct",
    "money": "money",
    "signed_money": "money",
    "minutes": "minutes",
    "score": "number",
}
#: The metrics drawn as panels of a comparison chart, in order.
COMPARISON_PANELS = (
    "conversion_rate",
    "visitors",
    "orders",
    "abandoned_friction",
    "abandoned_exit",
    "revenue",
    "lost_revenue",
    "lost_revenue_friction",
    "lost_revenue_exit",
)


def _metric_style(metric: str, difference: bool = False) -> tuple[str, str]:
    """Label and format kind of ``metric``; a difference of a rate is in percentage points."""
    known = metrics.lookup(metric)
    label, kind = metrics.label(metric), KIND_FORMAT[known.kind] if known else "number"
    if difference and kind == "pct":
        kind = "pp"
    return label, kind


def _ends(d: dict[str, Any]) -> tuple[float, float]:
    """The 95 % CI of a described value, or its mean twice when there is none."""
    ci = _ci(d)
    return ci if ci is not None else (float(d["mean"]), float(d["mean"]))


def draw_comparison(fig: Figure, comparison: dict[str, Any]) -> list[Axes]:
    """Every headline metric's difference from the reference (a panel each, three
    to a row): a bar per design with its 95 % CI."""
    first = next(iter(comparison["differences"].values()))
    panels = [m for m in COMPARISON_PANELS if m in first]
    rows = -(-len(panels) // 3)
    axes = fig.subplots(rows, 3, squeeze=False).ravel()
    for k, (ax, metric) in enumerate(zip(axes, panels)):
        label, kind = _metric_style(metric, difference=True)
        names = [
            n for n, diffs in comparison["differences"].items() if diffs[metric]["mean"] is not None
        ]
        ds = [comparison["differences"][n][metric] for n in names]
        plot_comparison(
            ax,
            names,
            [float(d["mean"]) for d in ds],
            [_ends(d)[0] for d in ds],
            [_ends(d)[1] for d in ds],
            metric=label,
            title=label,
            kind=kind,
            reference=0.0,
            compact=True,
        )
        if k % 3:
            ax.set_yticklabels([])
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    method = (
        "paired differences (common random numbers)"
        if comparison["common_random_numbers"]
        else "differences (independent seeds)"
    )
    fig.suptitle(
        f"Difference from {comparison['reference']}: {method}\n"
        f"{comparison['replications']} replications; bars: mean, error bars: 95% CI; "
        "vermilion: below the reference",
        x=0.01,
        ha="left",
        fontweight="bold",
        fontsize=12,
    )
    return list(axes[: len(panels)])


def write_comparison_chart(comparison: dict[str, Any], folder: Path) -> Path:
    """``differences.png``: every headline metric's difference from the reference."""
    return _write_study_chart("comparison", comparison, folder)


def render_study_chart(
    kind: str, document: dict[str, Any], overrides: Sequence[str] = ()
) -> tuple[str, bytes]:
    """The file name and PNG bytes of the chart of a study's document (``kind``:
    ``comparison``, ``sweep``, ``sensitivity``, ``optimum`` or ``improvements``), the
    overrides in its title."""
    document = _labelled(document, overrides)
    if kind == "comparison" and overrides:  # every design got them: shown after the reference
        document = {**document, "reference": scenario_label(document["reference"], overrides)}
    if kind == "comparison":
        return "differences.png", render_png(lambda fig: draw_comparison(fig, document))
    if kind == "sweep":
        return "sweep.png", render_png(lambda fig: draw_sweep(fig, document))
    if kind == "sensitivity":
        name = "sobol.png" if document["method"] == "sobol" else "tornado.png"
        return name, render_png(lambda fig: draw_sensitivity(fig, document))
    if kind == "optimum":
        return "optimum.png", render_png(lambda fig: draw_optimum(fig, document))
    if kind == "improvements":
        return "improvements.png", render_png(lambda fig: draw_improvements(fig, document))
    raise ValueError(f"no chart for {kind!r}")


def _write_study_chart(kind: str, document: dict[str, Any], folder: Path) -> Path:
    name, content = render_study_chart(kind, document)
    path = Path(folder) / name
    path.write_bytes(content)
    return path


def _number(text: Any) -> float | None:
    try:
        x = float(text)
    except (TypeError, ValueError):
        return None
    return x if x == x and abs(x) != float("inf") else None


def _axis(values: list[str]) -> tuple[list[float], bool]:
    """Positions of sweep values on an axis: the numbers themselves, or 0, 1, 2, ..."""
    numbers = [_number(v) for v in values]
    if all(x is not None for x in numbers):
        return numbers, True  # type: ignore[return-value]
    return [float(k) for k in range(len(values))], False


def draw_sweep(fig: Figure, document: dict[str, Any]) -> Axes:
    """The document's metric across one parameter (a curve with its 95 % CI band),
    or over a grid of two (a heatmap)."""
    metric = document["metric"]
    label, kind = _metric_style(metric)
    name = document.get("scenario")
    who = f"{name}: " if name else ""
    runs = f"{document['replications']} replications per point, same seeds"
    if len(document["params"]) == 1:
        (param,) = document["params"]
        values = [p["values"][param] for p in document["points"]]
        x, numeric = _axis(values)
        points = document["points"]
        keep = [k for k, p in enumerate(points) if p["metrics"][metric]["mean"] is not None]
        stats = [points[k]["metrics"][metric] for k in keep]
        ax = fig.add_subplot()
        plot_sweep(
            ax,
            [x[k] for k in keep],
            [float(s["mean"]) for s in stats],
            [_ends(s)[0] for s in stats],
            [_ends(s)[1] for s in stats],
            param=param,
            metric=label,
            title=f"{who}{label} vs {param}\n{runs}",
            kind=kind,
        )
        if not numeric:
            ax.set_xticks(x, values)
        return ax
    p1, p2 = document["params"]
    rows = list(dict.fromkeys(p["values"][p1] for p in document["points"]))
    cols = list(dict.fromkeys(p["values"][p2] for p in document["points"]))
    means = np.full((len(rows), len(cols)), np.nan)
    half = np.full((len(rows), len(cols)), np.nan)
    for p in document["points"]:
        m = p["metrics"][metric]
        if m["mean"] is not None:
            i, j = rows.index(p["values"][p1]), cols.index(p["values"][p2])
            means[i, j] = m["mean"]
            ci = _ci(m)
            if ci is not None:
                half[i, j] = (ci[1] - ci[0]) / 2
    return plot_heatmap(
        fig,
        cols,
        rows,
        means,
        x_label=p2,
        y_label=p1,
        metric=label,
        title=f"{who}{label} by {p1} and {p2}\n{runs}",
        kind=kind,
        ci_half_width=half,
    )


def write_sweep_chart(document: dict[str, Any], folder: Path) -> Path:
    """``sweep.png``: a curve with its CI band, or a heatmap for a grid."""
    return _write_study_chart("sweep", document, folder)


#: At most this many parameters on a sensitivity chart (the strongest).
SENSITIVITY_TOP = 15


def draw_sensitivity(fig: Figure, document: dict[str, Any]) -> Axes:
    """A tornado of the one-at-a-time runs, or the Sobol indices, of the strongest
    parameters."""
    metric = document["metric"]
    label, kind = _metric_style(metric)
    delta = f"each parameter ±{document['delta_percent']:g}%"
    ax = fig.add_subplot()
    if document["method"] == "sobol":
        rows = document["parameters"][:SENSITIVITY_TOP]
        plot_sobol_indices(
            ax,
            [r["parameter"] for r in rows],
            [r["S1"] for r in rows],
            [r["S1_conf"] for r in rows],
            [r["ST"] for r in rows],
            [r["ST_conf"] for r in rows],
            metric=label,
            title=f"{document['scenario']}: Sobol indices of {label}, {delta}\n"
            f"{document['evaluations']} runs; {_top(rows, document)}",
        )
        return ax
    rows = [r for r in document["parameters"] if r["effect"] is not None][:SENSITIVITY_TOP]
    plot_tornado(
        ax,
        [r["parameter"] for r in rows],
        [float(r["low_mean"]) for r in rows],
        [float(r["high_mean"]) for r in rows],
        _mean(document["base"]),
        metric=label,
        title=f"{document['scenario']}: {label}, {delta}\n"
        f"{document['replications']} replications, same seeds; {_top(rows, document)}",
        kind=kind,
        low_labels=[_number_text(r["low"]) for r in rows],
        high_labels=[_number_text(r["high"]) for r in rows],
    )
    return ax


def _top(rows: list[Any], document: dict[str, Any]) -> str:
    n = len(document["parameters"])
    return f"the {len(rows)} strongest of {n} parameters" if len(rows) < n else f"{n} parameters"


def _number_text(x: Any) -> str:
    return f"{x:.4g}" if isinstance(x, float) else str(x)


def write_sensitivity_chart(document: dict[str, Any], folder: Path) -> Path:
    """``tornado.png`` (one at a time) or ``sobol.png``."""
    return _write_study_chart("sensitivity", document, folder)


def draw_optimum(fig: Figure, document: dict[str, Any]) -> list[Axes]:
    """An optimisation: the objective (unless it is a parameter) and each constrained
    metric across the evaluated points of one parameter, mean and 95 % CI, the bound as
    a line, the optimum marked; for a grid of two, the objective as a heatmap."""
    objective, params = document["objective"], document["params"]
    best = document["best"]
    name = document["scenario"]
    goal = f"{objective['sense']}imise {metrics.label(objective['metric'])}"
    found = (
        "optimum " + ", ".join(f"{p} = {v}" for p, v in best.items())
        if best
        else "no evaluated point meets every constraint"
    )
    how = (
        f"{document['evaluated_points']} of {document['grid_points']} points evaluated "
        f"({document['search']}), {document['replications']} replications each, same seeds"
    )
    points = document["evaluated"]
    if len(params) == 2:
        p1, p2 = params
        rows = list(dict.fromkeys(p["values"][p1] for p in points))
        cols = list(dict.fromkeys(p["values"][p2] for p in points))
        means = np.full((len(rows), len(cols)), np.nan)
        for p in points:
            m = p["metrics"][objective["metric"]]["mean"]
            if m is not None and p["feasible"]:
                means[rows.index(p["values"][p1]), cols.index(p["values"][p2])] = m
        label, kind = _metric_style(objective["metric"])
        ax = plot_heatmap(
            fig, cols, rows, means, x_label=p2, y_label=p1, metric=label, kind=kind,
            title=f"{name}: {goal} (feasible points)\n{found}; {how}",
        )  # fmt: skip
        return [ax]
    (param,) = params
    panels = [objective["metric"]] if objective["metric"] not in params else []
    panels += [c["metric"] for c in document["constraints"] if c["metric"] not in panels]
    axes = fig.subplots(1, max(len(panels), 1), squeeze=False).ravel()
    x, numeric = _axis([p["values"][param] for p in points])
    best_x = [x[k] for k, p in enumerate(points) if best and p["values"] == best]
    for ax, metric in zip(axes, panels):
        label, kind = _metric_style(metric)
        keep = [k for k, p in enumerate(points) if p["metrics"][metric]["mean"] is not None]
        stats = [points[k]["metrics"][metric] for k in keep]
        f = _formatter(kind)
        xs, means = [x[k] for k in keep], [float(s["mean"]) for s in stats]
        lo, hi = [_ends(s)[0] for s in stats], [_ends(s)[1] for s in stats]
        ax.errorbar(xs, means, yerr=_ci_err(means, lo, hi), fmt="o", color=PASSED, capsize=4,
                    label="mean, 95% CI")  # fmt: skip
        ax.plot(xs, means, color=PASSED, lw=1, alpha=0.5)
        for c in document["constraints"]:
            if c["metric"] == metric:
                ax.axhline(c["value"], color=FRICTION, lw=1.5, ls="--",
                           label=f"bound {c['op']} {f(c['value'])}")  # fmt: skip
        for bx in best_x:
            ax.axvline(bx, color="black", lw=1, ls=":", label="optimum")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _, f=f: f(v)))
        ax.set_xlabel(param)
        ax.set_title(label, loc="left")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(loc="best", frameon=False, fontsize=9)
        if not numeric:
            ax.set_xticks(x, [str(p["values"][param]) for p in points])
    fig.suptitle(f"{name}: {goal}\n{found}; {how}", x=0.01, ha="left", fontsize=12)
    return list(axes[: len(panels)])


def write_optimum_chart(document: dict[str, Any], folder: Path) -> Path:
    """``optimum.png``: the objective and constraints across the evaluated points."""
    return _write_study_chart("optimum", document, folder)


def draw_improvements(fig: Figure, document: dict[str, Any]) -> list[Axes]:
    """Fix this first: per step, the revenue a year recovered by removing (and halving)
    its friction, with the 95 % CI of the paired difference, best first."""
    changes = document["changes"]
    axes = fig.subplots(1, len(changes), squeeze=False).ravel()
    order = [r["step"] for r in document["improvements"] if r["change"] == changes[0]]
    currency = document.get("currency") or ""
    for ax, change in zip(axes, changes):
        rows = {r["step"]: r for r in document["improvements"] if r["change"] == change}
        shown = [s for s in order if rows[s]["revenue_per_year"]["mean"] is not None]
        means = [float(rows[s]["revenue_per_year"]["mean"]) for s in shown]
        cis = [rows[s]["revenue_per_year"]["ci95"] or [m, m] for s, m in zip(shown, means)]
        plot_comparison(
            ax,
            shown,
            means,
            [c[0] for c in cis],
            [c[1] for c in cis],
            metric=f"revenue recovered per year{f' ({currency})' if currency else ''}",
            title=f"friction {'removed' if change == 'remove' else 'halved'}",
            kind="money",
            reference=0.0,
            compact=True,
        )
        if ax is not axes[0]:
            ax.set_yticklabels([])
    right = max(ax.get_xlim()[1] for ax in axes)  # one scale: halving is read against removing
    left = min(ax.get_xlim()[0] for ax in axes)
    for ax in axes:
        ax.set_xlim(left, right)
    per = document["horizon_minutes"]
    fig.suptitle(
        f"{document['scenario']}: which step to fix first — revenue recovered per year"
        f"{f' ({currency})' if currency else ''}\n"
        f"simulated {per / 1440:g} days, annualised; {document['replications']} replications "
        f"paired with the unchanged design; {CI_NOTE}",
        x=0.01,
        ha="left",
        fontsize=12,
    )
    return list(axes)


def write_improvements_chart(document: dict[str, Any], folder: Path) -> Path:
    """``improvements.png``: the steps ranked by the revenue their friction costs."""
    return _write_study_chart("improvements", document, folder)
