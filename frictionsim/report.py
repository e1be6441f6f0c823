"""Charts of a results folder (matplotlib Figure API, Agg; no pyplot state).

Each ``plot_*`` function draws one idea on an Axes from summary data only; it
never runs a simulation. ``write_charts`` renders every chart a summary has
data for into PNG files with fixed metadata, so identical inputs give
identical bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import EngFormatter, MaxNLocator

#: Okabe–Ito colours (safe for the common colour-vision deficiencies).
PASSED = "#0072B2"
FRICTION = "#D55E00"
EXIT = "#999999"
DPI = 100


def plot_funnel(ax: Axes, summary: dict[str, Any]) -> None:
    """Customers entering each step; losses split into friction and non-friction exits."""
    steps = list(summary["steps"])
    entered = [summary["steps"][s]["entered"]["mean"] or 0.0 for s in steps]
    friction = [summary["steps"][s]["abandoned_friction"]["mean"] or 0.0 for s in steps]
    exits = [summary["steps"][s]["abandoned_exit"]["mean"] or 0.0 for s in steps]
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
    ci = [summary["steps"][s]["abandoned_friction"]["ci95"] for s in steps]
    for yi, p, f, c in zip(y, passed, friction, ci):
        if c is not None and f > 0:
            ax.errorbar(p + f, yi, xerr=[[f - c[0]], [c[1] - f]], color="black", capsize=3, lw=1)
    top = max(entered) if entered and max(entered) > 0 else 1.0
    for yi, e, f in zip(y, entered, friction):
        if e > 0:
            ax.text(
                e + top * 0.01, yi, f"{e:,.0f} in, {f / e:.1%} friction", va="center", fontsize=9
            )
    ax.set_yticks(y, steps)
    ax.invert_yaxis()
    ax.set_xlim(0, top * 1.35)
    ax.set_xlabel("customers per replication (mean; bars: 95% CI of friction losses)")
    conv = summary["metrics"]["conversion_rate"]["mean"]
    conv_text = f", conversion {conv:.1%}" if conv is not None else ""
    ax.set_title(f"{summary['scenario']}: checkout funnel{conv_text}")
    ax.legend(loc="lower right", fontsize=9, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)


def _save(fig: Figure, path: Path) -> None:
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=DPI, metadata={"Software": None})


def write_charts(summary: dict[str, Any], folder: Path) -> list[Path]:
    """Draw every chart the summary has data for into ``folder``; return the files."""
    written = []
    fig = Figure(figsize=(10, 1.6 + 0.55 * len(summary["steps"])), layout="constrained")
    plot_funnel(fig.add_subplot(), summary)
    path = folder / "funnel.png"
    _save(fig, path)
    written.append(path)
    return written


#: Okabe–Ito palette, in the order designs and series take it.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")

#: How each headline metric is shown in difference charts: (label, scale, unit).
_DIFF_UNITS = {
    "conversion_rate": ("conversion rate", 100.0, "pp"),
    "visitors": ("visitors", 1.0, "customers"),
    "orders": ("orders", 1.0, "orders"),
    "abandoned_friction": ("abandoned: friction", 1.0, "customers"),
    "abandoned_exit": ("left: non-friction exit", 1.0, "customers"),
    "revenue": ("revenue", 1.0, "currency"),
    "lost_revenue": ("lost revenue", 1.0, "currency"),
    "lost_revenue_friction": ("lost revenue: friction", 1.0, "currency"),
    "lost_revenue_exit": ("lost revenue: exit", 1.0, "currency"),
}


def plot_difference(ax: Axes, comparison: dict[str, Any], metric: str) -> None:
    """Each design's difference from the reference in ``metric``, with its 95% CI."""
    label, scale, unit = _DIFF_UNITS.get(metric, (metric, 1.0, ""))
    names = list(comparison["differences"])
    for y, name in enumerate(names):
        d = comparison["differences"][name][metric]
        if d["mean"] is None:
            continue
        mean = d["mean"] * scale
        colour = PALETTE[(y + 1) % len(PALETTE)]
        if d["ci95"] is not None:
            lo, hi = (x * scale for x in d["ci95"])
            ax.errorbar(mean, y, xerr=[[mean - lo], [hi - mean]], fmt="o", color=colour, capsize=4)
        else:
            ax.plot(mean, y, "o", color=colour)
    ax.axvline(0, color=EXIT, lw=1)
    ax.xaxis.set_major_locator(MaxNLocator(5))
    if max(abs(x) for x in ax.get_xlim()) >= 1000:
        ax.xaxis.set_major_formatter(EngFormatter(sep=""))  # 40k, not 40000
    ax.set_yticks(range(len(names)), names)
    ax.set_ylim(-0.6, len(names) - 0.4)
    ax.invert_yaxis()
    ax.set_title(f"{label} ({unit})", fontsize=10)
    ax.tick_params(labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)


def write_comparison_chart(comparison: dict[str, Any], folder: Path) -> Path:
    """``differences.png``: every headline metric's paired difference from the reference."""
    metrics = [m for m in _DIFF_UNITS if m in next(iter(comparison["differences"].values()))]
    rows = -(-len(metrics) // 3)
    n = len(comparison["differences"])
    fig = Figure(figsize=(13, rows * (1.0 + 0.45 * n) + 0.8), layout="constrained")
    method = (
        "paired differences (common random numbers)"
        if comparison["common_random_numbers"]
        else "differences (independent seeds)"
    )
    fig.suptitle(
        f"Difference from {comparison['reference']}: {method}, "
        f"{comparison['replications']} replications, bars: 95% CI"
    )
    for k, metric in enumerate(metrics):
        ax = fig.add_subplot(rows, 3, k + 1)
        plot_difference(ax, comparison, metric)
        if k % 3:
            ax.set_yticklabels([])
    path = folder / "differences.png"
    _save(fig, path)
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


def plot_sweep_curve(ax: Axes, document: dict[str, Any], metric: str) -> None:
    """``metric`` across the values of one parameter: mean and its 95% CI band."""
    param = document["params"][0]
    values = [p["values"][param] for p in document["points"]]
    x, numeric = _axis(values)
    stats = [p["metrics"][metric] for p in document["points"]]
    keep = [k for k, s in enumerate(stats) if s["mean"] is not None]
    scale = 100.0 if metric == "conversion_rate" else 1.0
    xs = [x[k] for k in keep]
    mean = [stats[k]["mean"] * scale for k in keep]
    lo = [(stats[k]["ci95"] or [stats[k]["mean"]] * 2)[0] * scale for k in keep]
    hi = [(stats[k]["ci95"] or [stats[k]["mean"]] * 2)[1] * scale for k in keep]
    ax.fill_between(xs, lo, hi, color=PALETTE[0], alpha=0.25, lw=0, label="95% CI")
    ax.plot(xs, mean, "o-", color=PALETTE[0], label="mean over replications")
    if not numeric:
        ax.set_xticks(x, values)
    ax.set_xlabel(param)
    ax.set_ylabel(metric + (" (%)" if scale == 100.0 else ""))
    ax.set_title(f"{metric} vs {param} ({document['replications']} replications each, same seeds)")
    ax.legend(frameon=False, fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)


def plot_sweep_heatmap(ax: Axes, document: dict[str, Any], metric: str) -> None:
    """``metric`` over a grid of two parameters (mean over replications, in each cell)."""
    p1, p2 = document["params"]
    rows = list(dict.fromkeys(p["values"][p1] for p in document["points"]))
    cols = list(dict.fromkeys(p["values"][p2] for p in document["points"]))
    scale = 100.0 if metric == "conversion_rate" else 1.0
    grid = [[float("nan")] * len(cols) for _ in rows]
    for p in document["points"]:
        m = p["metrics"][metric]["mean"]
        if m is not None:
            grid[rows.index(p["values"][p1])][cols.index(p["values"][p2])] = m * scale
    image = ax.imshow(grid, cmap="cividis", aspect="auto", origin="lower")
    finite = [v for row in grid for v in row if v == v]
    middle = (min(finite) + max(finite)) / 2 if finite else 0.0
    for i, row in enumerate(grid):
        for j, v in enumerate(row):
            if v == v:
                colour = "black" if v > middle else "white"
                ax.text(j, i, f"{v:.3g}", ha="center", va="center", fontsize=8, color=colour)
    ax.set_xticks(range(len(cols)), cols)
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel(p2)
    ax.set_ylabel(p1)
    ax.set_title(f"{metric}{' (%)' if scale == 100.0 else ''}: mean of each point")
    ax.figure.colorbar(image, ax=ax)


def write_sweep_chart(document: dict[str, Any], folder: Path) -> Path:
    """``sweep.png``: a curve with its CI band, or a heatmap for a grid."""
    metric = document["metric"]
    fig = Figure(figsize=(9, 5.5), layout="constrained")
    ax = fig.add_subplot()
    if len(document["params"]) == 1:
        plot_sweep_curve(ax, document, metric)
    else:
        plot_sweep_heatmap(ax, document, metric)
    path = folder / "sweep.png"
    _save(fig, path)
    return path


def plot_tornado(ax: Axes, document: dict[str, Any], top: int = 20) -> None:
    """One-at-a-time sensitivity: the metric with each parameter moved down and up."""
    rows = [r for r in document["parameters"] if r["effect"] is not None][:top]
    metric = document["metric"]
    scale = 100.0 if metric == "conversion_rate" else 1.0
    base = (document["base"]["mean"] or 0.0) * scale
    for y, r in enumerate(rows):
        lo, hi = r["low_mean"] * scale, r["high_mean"] * scale
        ax.barh(y, lo - base, left=base, color=PALETTE[0], label="moved down" if y == 0 else None)
        ax.barh(y, hi - base, left=base, color=PALETTE[1], label="moved up" if y == 0 else None)
    ax.axvline(base, color="black", lw=1)
    ax.set_yticks(range(len(rows)), [r["parameter"] for r in rows], fontsize=8)
    ax.invert_yaxis()
    unit = " (%)" if scale == 100.0 else ""
    ax.set_xlabel(f"{metric}{unit}; line: base {base:.4g}")
    ax.set_title(
        f"{document['scenario']}: {metric}, each parameter ±{document['delta_percent']:g}%\n"
        f"({document['replications']} replications, same seeds; top {len(rows)})",
        fontsize=11,
    )
    ax.legend(frameon=False, fontsize=9, loc="lower right")
    ax.spines[["top", "right"]].set_visible(False)


def plot_sobol(ax: Axes, document: dict[str, Any], top: int = 20) -> None:
    """Sobol indices: first order (alone) and total (with interactions), with their CIs."""
    rows = document["parameters"][:top]
    y = list(range(len(rows)))
    ax.barh(
        [v - 0.2 for v in y],
        [r["ST"] for r in rows],
        height=0.4,
        xerr=[r["ST_conf"] for r in rows],
        color=PALETTE[1],
        label="total (ST)",
    )
    ax.barh(
        [v + 0.2 for v in y],
        [r["S1"] for r in rows],
        height=0.4,
        xerr=[r["S1_conf"] for r in rows],
        color=PALETTE[0],
        label="first order (S1)",
    )
    ax.set_yticks(y, [r["parameter"] for r in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("share of the variance of " + document["metric"])
    ax.set_title(
        f"{document['scenario']}: Sobol indices of {document['metric']}, "
        f"parameters ±{document['delta_percent']:g}%\n({document['evaluations']} runs)",
        fontsize=11,
    )
    ax.legend(frameon=False, fontsize=9, loc="lower right")
    ax.spines[["top", "right"]].set_visible(False)


def write_sensitivity_chart(document: dict[str, Any], folder: Path) -> Path:
    """``tornado.png`` (one at a time) or ``sobol.png``."""
    n = min(len(document["parameters"]), 20)
    fig = Figure(figsize=(10, 1.5 + 0.32 * max(n, 3)), layout="constrained")
    ax = fig.add_subplot()
    if document["method"] == "sobol":
        plot_sobol(ax, document)
        path = folder / "sobol.png"
    else:
        plot_tornado(ax, document)
        path = folder / "tornado.png"
    _save(fig, path)
    return path
