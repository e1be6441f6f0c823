"""The charts of studies: comparisons, sweeps, sensitivity, calibration,
optimisations and improvements.

Two layers. ``plot_*`` draw on an Axes from plain data: lists of labels, means
and CI bounds (``plot_comparison``, ``plot_sweep``, ``plot_heatmap`` on a
Figure, ``plot_tornado``, ``plot_sobol_indices``) or the rows of a calibration
(``plot_fit``). ``draw_*`` lay them out on a Figure from the JSON document of a
study (``comparison``, ``sweep``, ``sensitivity``, ``optimum``,
``improvements``), each metric labelled and formatted as the metric table says.
:func:`render_study_chart` turns a document into its file name and PNG bytes,
:func:`fit_chart_png` a calibration's rows into theirs; the ``write_*_chart``
functions write one chart straight into a folder.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from .. import metrics
from .common import (
    CI_NOTE,
    FRICTION,
    KIND_FORMAT,
    PASSED,
    SERIES,
    _ci,
    _formatter,
    _labelled,
    _mean,
    _suptitle,
    render_png,
    scenario_label,
)

#: Characters of a panel title that fit a third of a slide (longer ones wrap).
COMPACT_TITLE = 26

# -- charts of several runs (plain data) ------------------------------------------------------


def _ci_err(means: Sequence[float], lo: Sequence[float], hi: Sequence[float]) -> np.ndarray:
    m = np.asarray(means, dtype=float)
    return np.maximum([m - np.asarray(lo, dtype=float), np.asarray(hi, dtype=float) - m], 0)


def _no_values(ax: Axes, title: str, text: str) -> None:
    """A panel that says why it is empty (a metric without values: no visitors, ...)."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, loc="left")


#: The edge of a hollow bar: a change of a metric that is neither better nor worse.
HOLLOW = "#555555"
#: Opacity of a bar whose difference is not significant (its 95 % CI includes 0).
PALE = 0.4


def _change_colours(
    mean: float, reference: float | None, better: str | None, significant: bool | None
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Face and edge colour (RGBA) of a bar of ``mean`` against ``reference``: blue when
    better, vermilion when worse (``better`` says which way is good), hollow when neither;
    pale when ``significant`` is False."""
    if reference is None:
        return to_rgba(PASSED), to_rgba(PASSED)
    if better not in ("higher", "lower") or mean == reference:
        return to_rgba("white"), to_rgba(HOLLOW)
    good = (mean > reference) == (better == "higher")
    alpha = PALE if significant is False else 1.0
    colour = to_rgba(PASSED if good else FRICTION, alpha)
    return colour, colour


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
    better: str | None = None,
    significant: Sequence[bool | None] | None = None,
) -> None:
    """One metric for several designs (or their paired differences), a bar per
    label with its 95 % CI. ``kind`` formats values (``pct``, ``pp`` for
    differences of rates in percentage points, ``money``, ``count``,
    ``minutes``, ``number``); ``reference`` (e.g. 0 for differences,
    or the baseline's value) draws a vertical line. ``compact``, for a panel
    among several: bars labelled with their mean only, no axis label (the
    figure says what the error bars are).

    Against a ``reference``, colour says good or bad whatever the sign: with
    ``better`` (``higher`` or ``lower``, as :data:`frictionsim.metrics.BETTER` says
    of the metric) a bar on the better side is blue and one on the worse side
    vermilion, so a fall in lost revenue looks as good as a rise in revenue; a bar
    of a metric without a better direction, or at the reference, is hollow. A bar
    whose ``significant`` is False (its 95 % CI includes the reference) is pale."""
    if not labels:  # e.g. every design without visitors: nothing to compare
        _no_values(ax, title, "no design has a value for this metric")
        return
    f = _formatter(kind)
    y = np.arange(len(labels))
    sure = list(significant) if significant is not None else [None] * len(labels)
    faces, edges = zip(*(_change_colours(m, reference, better, s) for m, s in zip(means, sure)))
    drawn = ax.barh(y, means, linewidth=1, height=0.6)
    for bar, face, edge in zip(drawn, faces, edges):  # per bar: any matplotlib takes it
        bar.set_facecolor(face)
        bar.set_edgecolor(edge)
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
        ax.xaxis.set_major_locator(MaxNLocator(4, integer=kind.lstrip("+") == "count"))
        # a panel is a third of the width: a long label on two lines, not cut at the edge
        title = (
            "\n".join(textwrap.wrap(title, COMPACT_TITLE)) if len(title) > COMPACT_TITLE else title
        )
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
    better: str | None = None,
) -> None:
    """Sensitivity: the metric with each parameter at its low and high value (the
    others at base), widest swing on top. ``*_labels`` name the parameter values
    at each end. With ``better`` (``higher`` or ``lower``: which way the metric is
    good), a bar is blue where the metric is better than at base and vermilion where
    it is worse, as in a comparison; without, the low end is one colour and the high
    end another."""
    if not params:
        _no_values(ax, title, f"no parameter has a value of {metric} at both ends")
        return
    f = _formatter(kind)
    order = sorted(range(len(params)), key=lambda k: -abs(high[k] - low[k]))
    y = np.arange(len(order))
    for yi, k in zip(y, order):
        for value, colour, names, lab in (
            (low[k], SERIES[1], low_labels, "low"),
            (high[k], SERIES[3], high_labels, "high"),
        ):
            if better is not None:
                colour = _change_colours(value, base, better, None)[0]
            ax.barh(
                yi,
                value - base,
                left=base,
                color=colour,
                height=0.6,
                label=lab if yi == 0 and better is None else None,
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
    if better is None:
        ax.legend(loc="lower right", frameon=False, title="parameter at")
    else:
        handles = [Patch(color=PASSED, label="better than at base"),
                   Patch(color=FRICTION, label="worse than at base")]  # fmt: skip
        ax.legend(handles=handles, loc="lower right", frameon=False,
                  title="(in brackets: the parameter's value)")  # fmt: skip
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


# -- calibration ------------------------------------------------------------------------------


#: Calibration chart: observed and simulated pass rates.
OBSERVED = "#000000"
SIMULATED = "#E69F00"
FIT_DPI = 100


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
    return render_png(
        lambda fig: plot_fit(fig.add_subplot(), rows, title),
        size=(9, 1.9 + 0.45 * len(rows)),
        dpi=FIT_DPI,
        software=software,
    )


# -- comparisons (documents of compare) -------------------------------------------------------


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
    """Label and format kind of ``metric``; a ``difference`` is signed, of a rate in
    percentage points."""
    known = metrics.lookup(metric)
    label, kind = metrics.label(metric), KIND_FORMAT[known.kind] if known else "number"
    if difference:
        kind = "pp" if kind == "pct" else f"+{kind}"
    return label, kind


def _ends(d: dict[str, Any]) -> tuple[float, float]:
    """The 95 % CI of a described value, or its mean twice when there is none."""
    ci = _ci(d)
    return ci if ci is not None else (float(d["mean"]), float(d["mean"]))


def _no_difference(diffs: Sequence[dict[str, Any]]) -> bool:
    """Whether every design's difference is exactly 0 in every replication (mean 0, CI
    [0, 0]): visitors under common random numbers, whose arrivals are the same."""
    return bool(diffs) and all(
        d["mean"] is not None and float(d["mean"]) == 0 and _ends(d) == (0.0, 0.0) for d in diffs
    )


def comparison_panels(comparison: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The headline metrics a comparison chart draws a panel of, and those it leaves out
    because no design differs from the reference in any replication (a panel that would
    be all zero)."""
    differences = comparison["differences"]
    first = next(iter(differences.values()))
    drawn, same = [], []
    for metric in (m for m in COMPARISON_PANELS if m in first):
        diffs = [d[metric] for d in differences.values()]
        (same if _no_difference(diffs) else drawn).append(metric)
    return drawn, same


def draw_comparison(fig: Figure, comparison: dict[str, Any]) -> list[Axes]:
    """Every headline metric's difference from the reference (a panel each, three
    to a row): a bar per design with its 95 % CI, blue where the design is better and
    vermilion where it is worse (:func:`plot_comparison`), pale where the difference is
    not significant. A metric no design changes in any replication gets no panel; the
    figure names it instead."""
    panels, same = comparison_panels(comparison)
    rows = max(1, -(-len(panels) // 3))
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
            better=metrics.better(metric),
            significant=[d.get("significant") for d in ds],
        )
        if k % 3:
            ax.set_yticklabels([])
    spare = list(axes[len(panels) :])
    for ax in spare:
        ax.set_visible(False)
    note = ""
    if same:
        words = "; ".join(metrics.label(m) for m in same)
        text = f"No panel, no design differs from {comparison['reference']} in any replication: "
        if spare:
            spare[0].set_visible(True)
            spare[0].axis("off")
            spare[0].text(0.0, 0.5, "\n".join(textwrap.wrap(text + words + ".", 40)),
                          va="center", fontsize=10, transform=spare[0].transAxes)  # fmt: skip
        else:
            note = "\n" + "\n".join(textwrap.wrap(text + words, 95))
    method = (
        "paired differences (common random numbers)"
        if comparison["common_random_numbers"]
        else "differences (independent seeds)"
    )
    _suptitle(
        fig,
        f"Difference from {comparison['reference']}: {method}\n"
        f"{comparison['replications']} replications; mean and 95% CI; "
        f"blue: better, vermilion: worse, pale: not significant{note}",
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


# -- sweeps -----------------------------------------------------------------------------------


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


def _grid(points: Sequence[dict[str, Any]], p1: str, p2: str) -> tuple[list[Any], list[Any]]:
    """The values of ``p1`` (rows) and of ``p2`` (columns) over the points of a grid, in
    their order."""
    rows = list(dict.fromkeys(p["values"][p1] for p in points))
    cols = list(dict.fromkeys(p["values"][p2] for p in points))
    return rows, cols


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
    rows, cols = _grid(document["points"], p1, p2)
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


# -- sensitivity ------------------------------------------------------------------------------


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
    base = _mean(document["base"])
    known = [r for r in document["parameters"] if r["effect"] is not None]
    # a parameter that moves nothing at either end is a row of two empty bars: left out
    moving = [r for r in known if not float(r["low_mean"]) == float(r["high_mean"]) == base]
    rows = moving[:SENSITIVITY_TOP]
    still = len(known) - len(moving)
    none = ""
    if still:
        none = f"\n{still} parameter{'s' if still > 1 else ''} without any effect not drawn"
    plot_tornado(
        ax,
        [r["parameter"] for r in rows],
        [float(r["low_mean"]) for r in rows],
        [float(r["high_mean"]) for r in rows],
        base,
        metric=label,
        title=f"{document['scenario']}: {label}, {delta}\n"
        f"{document['replications']} replications, same seeds; {_top(rows, document)}{none}",
        kind=kind,
        low_labels=[_number_text(r["low"]) for r in rows],
        high_labels=[_number_text(r["high"]) for r in rows],
        better=metrics.better(metric),
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


# -- optimisation and improvements ------------------------------------------------------------


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
        rows, cols = _grid(points, p1, p2)
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
    _suptitle(fig, f"{name}: {goal}\n{found}; {how}", bold=False)
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
        ends = [_ends(rows[s]["revenue_per_year"]) for s in shown]
        plot_comparison(
            ax,
            shown,
            means,
            [lo for lo, _ in ends],
            [hi for _, hi in ends],
            metric=f"revenue recovered per year{f' ({currency})' if currency else ''}",
            title=f"friction {'removed' if change == 'remove' else 'halved'}",
            kind="+money",
            reference=0.0,
            compact=True,
            better="higher",
            significant=[
                ((rows[s].get("differences") or {}).get("revenue") or {}).get("significant")
                for s in shown
            ],
        )
        if ax is not axes[0]:
            ax.set_yticklabels([])
    right = max(ax.get_xlim()[1] for ax in axes)  # one scale: halving is read against removing
    left = min(ax.get_xlim()[0] for ax in axes)
    for ax in axes:
        ax.set_xlim(left, right)
    horizon = _duration_words(document["horizon_minutes"])
    less = any(
        (r["revenue_per_year"]["mean"] or 0) < 0 for r in document["improvements"]
    )  # a change that loses revenue (rare): its vermilion bar is explained
    _suptitle(
        fig,
        f"{document['scenario']}: which step to fix first — revenue recovered per year"
        f"{f' ({currency})' if currency else ''}\n"
        f"simulated {horizon}, annualised; "
        f"{document['replications']} replications paired with the unchanged design\n"
        f"mean and 95% CI; {'vermilion: less revenue; ' if less else ''}pale: not significant",
        bold=False,
    )
    return list(axes)


def _duration_words(minutes: float) -> str:
    """A horizon in its largest whole unit: ``1 week``, ``2 days``, ``2 hours``."""
    for unit, size in (("week", 10080), ("day", 1440), ("hour", 60)):
        if minutes >= size and minutes % size == 0:
            n = minutes / size
            return f"{n:g} {unit}{'' if n == 1 else 's'}"
    return f"{minutes:g} minute{'' if minutes == 1 else 's'}"


def write_improvements_chart(document: dict[str, Any], folder: Path) -> Path:
    """``improvements.png``: the steps ranked by the revenue their friction costs."""
    return _write_study_chart("improvements", document, folder)
