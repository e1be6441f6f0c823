"""The charts of one run, from the documents of its results folder.

Each ``plot_*`` draws from ``summary.json``, ``distributions.json`` or
``word_of_mouth.json`` on an Axes (on a Figure for the irritation and waiting
charts, which have several panels) and never runs a simulation: the funnel, the
lost-revenue waterfall, the irritation journey against tolerance, the time to
complete checkout, the waits and utilisation at steps with capacity, and visitors
by source with the NPS. :func:`chart_plan` says which of them the data of a run
allows, in report order, with the title and caption the page gives each;
``CHART_FILES`` names every file it may draw.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator, PercentFormatter

from ..formats import money
from .common import (
    CI_NOTE,
    EXIT,
    FRICTION,
    PASSED,
    POTENTIAL,
    SERIES,
    TOLERANCE,
    _ci,
    _clipped,
    _labelled,
    _mean,
    _minutes_unit,
    _reps,
    _suptitle,
    fmt_count,
    fmt_minutes,
    fmt_pct,
)

# -- funnel and lost revenue ------------------------------------------------------------------


def _yerr(mean: float, ci: tuple[float, float] | None) -> list[list[float]]:
    if ci is None:
        return [[0.0], [0.0]]
    return [[max(mean - ci[0], 0.0)], [max(ci[1] - mean, 0.0)]]


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


# -- irritation -------------------------------------------------------------------------------


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
    cumulative irritation on entering each; and the tolerance quantiles. A segment
    without visitors has none, nor one whose customers all enter every step with
    irritation in the lowest bin (under 1 % of the axis: only waiting irritates them,
    as in an Erlang-A queue), whose panel would be flat at 0."""
    irr = distributions["irritation"]
    edges = irr["edges"]
    qs = (0.1, 0.25, 0.5, 0.75, 0.9)
    out = {}
    for seg, tol in irr["tolerance"].items():
        if sum(tol) == 0:
            continue
        if not any(sum(by_seg[seg][1:]) > 0 for by_seg in irr["steps"].values()):
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
    _suptitle(
        fig,
        f"{distributions.get('scenario', '')}: irritation on entering each step vs tolerance"
        f"\nper segment, steps in the scenario's order{pooled}",
    )
    return list(axes)


# -- time: checkout and waiting ---------------------------------------------------------------


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


def _mean_and_range(mean: float, lo: float, hi: float) -> tuple[str, str]:
    """A mean and its CI, both in the unit :func:`fmt_minutes` gives the mean, with one
    number of decimals: enough that the CI's ends lie two or more units of the last digit
    apart (``5.0 s``, ``4.6–5.2 s``; not ``4–5 s``)."""
    k, unit, digits = _minutes_unit(mean)
    while digits < 6 and round(hi * k * 10**digits) - round(lo * k * 10**digits) < 2:
        digits += 1
    a, b = f"{lo * k:.{digits}f}", f"{hi * k:.{digits}f}"
    return f"{mean * k:.{digits}f} {unit}", f"{a}–{b} {unit}"


def _mean_minutes(m: dict[str, Any]) -> str:
    """A described mean of minutes with its CI where it has one: ``4.6 s (95% CI
    3.8–5.5 s)``, both in one unit."""
    mean, ci = float(m["mean"]), _ci(m)
    if ci is None:
        return fmt_minutes(mean)
    text, span = _mean_and_range(mean, *ci)
    return f"{text} (95% CI {span}{_clipped(m)})"


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
        ax.axvline(mean, color="black", lw=1.5, label=f"mean {_mean_minutes(m)}")
    if not math.isnan(median):
        ax.axvline(median, color="#E69F00", lw=1.5, ls="--", label=f"median {fmt_minutes(median)}")
    ax.set_xlabel("time from arrival to order (log scale)")
    ax.set_ylabel("orders per replication, per bin (20 bins per decade)")
    ax.set_ylim(0, max(counts.max(initial=0) * 1.15, 1e-9))
    note = f"; {under:,.1f} per replication under 0.6 s not shown" if under > 0 else ""
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
    waited (left), and how busy each step's capacity was (right, 95 % CI). When
    nobody found all capacity busy, the waits would be an empty panel: only the
    utilisation is drawn, and the title says so."""
    waits = distributions["wait"]["steps"]
    steps = [s for s in waits if s in summary["steps"]]
    if not any(sum(waits[s]) > 0 for s in steps):
        right = fig.add_subplot()
        _plot_utilisation(right, summary, steps)
        pad = max(0.5, (4 - len(steps)) / 2)  # a few bars stay narrow, centred
        right.set_xlim(-pad, len(steps) - 1 + pad)
        _suptitle(
            fig,
            f"{summary['scenario']}: waiting at steps with capacity (mean of "
            f"{_reps(summary)})\nno customer found all capacity busy, so nobody waited",
        )
        return [right]
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
            label += f"\nmean wait over all entrants {_mean_minutes(mean_wait)}"
        if under > 0:
            label += f"\n{under:,.1f} waits per replication under 0.6 s not shown"
        left.stairs(counts, edges, color=SERIES[k % len(SERIES)], lw=2, label=label)
    edges = np.asarray(distributions["wait"]["edges"], dtype=float)[1:]
    _time_axis(left, edges, all_counts)
    left.set_ylim(0, max(all_counts.max(initial=0), 1e-9) * 1.35)
    left.set_xlabel("time waited in the queue (log scale), customers who waited")
    left.set_ylabel("customers per replication, per bin")
    left.legend(loc="upper right", frameon=False, fontsize=8)
    left.set_title("wait of those who found all capacity busy", fontsize=11)
    _plot_utilisation(right, summary, steps)
    _suptitle(
        fig, f"{summary['scenario']}: waiting at steps with capacity (mean of {_reps(summary)})"
    )
    return [left, right]


def _plot_utilisation(ax: Axes, summary: dict[str, Any], steps: Sequence[str]) -> None:
    """How busy each step's capacity was, a bar per step with its 95 % CI."""
    util = [_mean(summary["steps"][s].get("utilisation")) for s in steps]
    x = np.arange(len(steps))
    ax.bar(x, util, color=[SERIES[k % len(SERIES)] for k in range(len(steps))], width=0.6)
    for xi, s, u in zip(x, steps, util):
        ci = _ci(summary["steps"][s].get("utilisation"))
        if ci is not None:
            ax.errorbar(xi, u, yerr=_yerr(u, ci), color="black", capsize=4, lw=1)
        ax.text(xi, u + 0.03, fmt_pct(u), ha="center", va="bottom", fontsize=9)
    ax.set_xticks(x, steps)
    ax.set_ylim(0, 1.05)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylabel("utilisation: busy time / capacity on duty")
    ax.set_title("utilisation (error bars: 95% CI)", fontsize=11)


# -- service journey --------------------------------------------------------------------------


#: How a service contact ended, with its metric and colour (a failure is vermilion).
CONTACT_OUTCOMES = (
    ("resolved", "contacts_resolved", PASSED),
    ("unresolved", "contacts_unresolved", FRICTION),
    ("abandoned", "contacts_abandoned", EXIT),
)


def plot_service(fig: Figure, summary: dict[str, Any]) -> list[Axes]:
    """The service journey (support): how contacts ended (left: contacts per
    replication with 95 % CIs) and how long a contact waited and how busy the
    agents were (right)."""
    metrics = summary["metrics"]
    left, right = fig.subplots(1, 2, width_ratios=[1.6, 1])
    x = np.arange(len(CONTACT_OUTCOMES))
    contacts = _mean(metrics.get("contacts")) or 0.0
    for xi, (_, key, colour) in zip(x, CONTACT_OUTCOMES):
        m = metrics.get(key)
        value = _mean(m) or 0.0
        left.bar(xi, value, color=colour, width=0.6, hatch="//" if colour == EXIT else None)
        ci = _ci(m)
        if ci is not None:
            left.errorbar(xi, value, yerr=_yerr(value, ci), color="black", capsize=4, lw=1)
        share = f" ({fmt_pct(value / contacts)})" if contacts else ""
        left.text(xi, value, f"{fmt_count(value)}{share}\n", ha="center", va="bottom", fontsize=9)
    left.set_xticks(x, [label for label, _, _ in CONTACT_OUTCOMES])
    left.set_ylim(
        0, max(1e-9, max(_mean(metrics.get(k)) or 0 for _, k, _ in CONTACT_OUTCOMES)) * 1.3
    )
    left.set_ylabel("contacts per replication")
    rate = metrics.get("resolution_rate")
    rate_text = f": {fmt_pct(_mean(rate))} resolved" if _mean(rate) is not None else ""
    left.set_title(f"how {fmt_count(contacts)} contacts ended{rate_text}", fontsize=11)
    wait = metrics.get("contact_mean_wait")
    mean_wait = _mean(wait)
    if mean_wait is not None:
        right.bar(0, mean_wait, color=SERIES[1], width=0.5)
        ci = _ci(wait)
        if ci is not None:
            right.errorbar(0, mean_wait, yerr=_yerr(mean_wait, ci), color="black", capsize=4)
        right.text(0, mean_wait, fmt_minutes(mean_wait) + "\n", ha="center", va="bottom")
        right.set_ylim(0, max(mean_wait, ci[1] if ci else 0, 1e-9) * 1.3)
    right.set_xlim(-1, 1)
    right.set_xticks([0], ["mean wait of a contact"])
    right.set_ylabel("minutes in the service's queues, over all contacts")
    util = _mean(metrics.get("service_utilisation"))
    util_text = f"agents busy {fmt_pct(util)} of their hours" if util is not None else ""
    right.set_title(util_text or "waiting", fontsize=11)
    _suptitle(
        fig, f"{summary['scenario']}: the service journey (mean of {_reps(summary)}; {CI_NOTE})"
    )
    return [left, right]


# -- word of mouth ----------------------------------------------------------------------------


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
    none, lines = [], []
    for k, (name, s) in enumerate(data["sources"].items()):
        if not any(s["mean"]) and not any(s["ci_high"]):  # a flat line at 0: named, not drawn
            none.append(name)
            continue
        colour = SERIES[k % len(SERIES)]
        ax.fill_between(mid, s["ci_low"], s["ci_high"], color=colour, alpha=0.2, lw=0)
        lines += ax.plot(mid, s["mean"], color=colour, lw=2, marker="o", ms=3, label=name)
    ax.set_xlabel(f"time since start ({unit}; bins of {fmt_minutes(width)})")
    ax.set_ylabel("visitors per bin per replication")
    ax.set_ylim(bottom=0)
    absent = f"\nno {' or '.join(none)} visitors" if none else ""
    ax.legend(
        handles=lines,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        frameon=False,
        title=f"source\n(bands: 95% CI){absent}",
        alignment="left",
    )
    nps = data.get("nps")
    nps_text = ""
    if nps and nps.get("mean") is not None:
        ci = nps.get("ci95")
        ci_text = f" (95% CI {ci[0]:+.1f} to {ci[1]:+.1f}{_clipped(nps)})" if ci else ""
        nps_text = f" · NPS {nps['mean']:+.1f}{ci_text}".replace("-", "−")
    name = data.get("scenario")
    ax.set_title(f"{name + ': ' if name else ''}visitors by source{nps_text}", loc="left")


def plot_customer_base(fig: Figure, data: dict[str, Any]) -> list[Axes]:
    """The customer base (``word_of_mouth.json``'s ``base``): members over the horizon
    (left, 95 % CI band) and the share of the minute-0 customers still in it (right),
    against the share a constant hazard of 1 / lifetime would keep (nothing bad
    remembered: dashed)."""
    base = data["base"]
    t = np.asarray(base["time"], dtype=float)
    days = t.size and t[-1] > 2 * 1440
    scale, unit = (1440.0, "days") if days else (60.0, "hours")
    x = t / scale
    panels = [("active", "customers in the base", fig.add_subplot(1, 2, 1))]
    if base.get("retained"):
        panels.append(
            ("retained", "share of the first customers still in it", fig.add_subplot(1, 2, 2))
        )
    for key, label, ax in panels:
        s = base[key]
        ax.fill_between(x, s["ci_low"], s["ci_high"], color=SERIES[0], alpha=0.2, lw=0)
        ax.plot(x, s["mean"], color=SERIES[0], lw=2, label="simulated (band: 95% CI)")
        ax.set_xlabel(f"time since start ({unit})")
        ax.set_ylabel(label)
        ax.set_ylim(bottom=0)
    if len(panels) > 1:
        ax = panels[1][2]
        life = float(base["lifetime_minutes"])
        ax.plot(x, np.exp(-t / life), color=TOLERANCE, lw=1.5, ls="--",
                label=f"nothing bad remembered (lifetime {fmt_minutes(life)})")  # fmt: skip
        ax.set_ylim(0, 1.05)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.legend(loc="lower left", frameon=False, fontsize=9)
        ax.set_title("retention", fontsize=11)
    panels[0][2].set_title("active customers", fontsize=11)
    name = data.get("scenario")
    _suptitle(fig, f"{name + ': ' if name else ''}the customer base over the horizon")
    return [p[2] for p in panels]


# -- the charts of a run ----------------------------------------------------------------------


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
    "service.png",
    "customer_base.png",
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
    if word_of_mouth is not None and word_of_mouth.get("base"):
        plan.append(
            (
                "customer_base.png",
                "Customer base",
                "Customers in the base over the horizon, and how many of those there at the "
                "start are still in it.",
                lambda fig: plot_customer_base(fig, word_of_mouth),
            )
        )
    if (_mean(summary["metrics"].get("contacts")) or 0) > 0:
        plan.append(
            (
                "service.png",
                "Service journey",
                "How the contacts of the service journey (support) ended, how long a contact "
                "waited and how busy the agents were.",
                lambda fig: plot_service(fig, summary),
            )
        )
    return plan
