"""Charts of a results folder (matplotlib Figure API, Agg; no pyplot state).

Each ``plot_*`` function draws one idea on an Axes from summary data only; it
never runs a simulation. ``write_charts`` renders every chart a summary has
data for into PNG files with fixed metadata, so identical inputs give
identical bytes.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

#: Okabe–Ito colours (safe for the common colour-vision deficiencies).
PASSED = "#0072B2"
FRICTION = "#D55E00"
EXIT = "#999999"
OBSERVED = "#000000"
SIMULATED = "#E69F00"
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


def fit_chart_png(rows: Sequence[dict[str, Any]], title: str) -> bytes:
    """The calibration chart as PNG bytes (identical bytes for identical rows)."""
    fig = Figure(figsize=(9, 1.9 + 0.45 * len(rows)), layout="constrained")
    plot_fit(fig.add_subplot(), rows, title)
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


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
