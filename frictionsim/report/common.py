"""What the run charts, the study charts and the page share: look, numbers, titles.

Colours are Okabe–Ito (safe for the common colour-vision deficiencies); friction
losses are always vermilion (``FRICTION``) and non-friction exits always grey and
hatched (``EXIT``), so the two causes are never confused from one chart to the
next. A slide is 1600 × 900 pixels (``SIZE`` at ``DPI``), drawn with the Figure
API under the local rc settings ``_RC``, never pyplot state, so identical inputs
give identical bytes (:func:`render_png`).

Numbers on axes and in the report are written by ``FORMATS``, a format per kind
(``KIND_FORMAT`` gives the one of each kind of the metric table); money by
:func:`frictionsim.formats.money`, as in the console. ``_mean``, ``_ci``,
``_clipped`` and ``_reps`` read the described values of result documents
(``{"mean", "ci95", "clipped"}``); :func:`scenario_label` puts a run's ``--set``
overrides after the scenario's name in every title, and ``_suptitle`` writes the
title of a figure of several panels at its left edge.

Names with a leading underscore are shared by the modules of this package only.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import matplotlib as mpl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..formats import money

# -- colours and size -------------------------------------------------------------------------


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


# -- formatting -------------------------------------------------------------------------------


def fmt_count(x: float) -> str:
    text = f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.1f}"
    return text.replace("-", "−")


def fmt_pct(x: float) -> str:
    return f"{x:.1%}"


def _minutes_unit(m: float) -> tuple[float, str, int]:
    """The unit a reader expects for ``m`` minutes: its factor from minutes, its name,
    and the decimals written in it."""
    if m < 1:
        return 60.0, "s", 0
    if m < 60:
        return 1.0, "min", 1 if m < 10 else 0
    if m < 1440:
        return 1 / 60, "h", 1
    return 1 / 1440, "d", 1


def fmt_minutes(m: float) -> str:
    """A duration given in minutes, in the unit a reader expects."""
    k, unit, digits = _minutes_unit(m)
    return f"{m * k:.{digits}f} {unit}"


def _signed(f: Callable[[float], str]) -> Callable[[float], str]:
    """``f`` with the sign always written: a difference, ``+365``, ``−2.5 min``."""
    return lambda x: ("+" if x > 0 else "−" if x < 0 else "") + f(abs(x))


#: A format per kind; ``+KIND`` writes a difference of that kind, signed (``pp`` is a
#: difference of rates, in percentage points).
FORMATS: dict[str, Callable[[float], str]] = {
    "money": money,
    "count": fmt_count,
    "pct": fmt_pct,
    "pp": lambda x: f"{x * 100:+.1f} pp".replace("-", "−"),
    "minutes": fmt_minutes,
    "number": lambda x: f"{x:,.3g}",
    "+money": lambda x: money(x, signed=True),
    "+count": _signed(fmt_count),
    "+minutes": _signed(fmt_minutes),
    "+number": _signed(lambda x: f"{x:,.3g}"),
}


#: How the report writes each kind of the metric table.
KIND_FORMAT = {
    "count": "count",
    "rate": "pct",
    "money": "money",
    "signed_money": "money",
    "minutes": "minutes",
    "score": "number",
}


def _formatter(kind: str) -> Callable[[float], str]:
    return FORMATS.get(kind, FORMATS["number"])


# -- described values -------------------------------------------------------------------------


def _mean(m: dict[str, Any] | None) -> float:
    return float(m["mean"]) if m and m.get("mean") is not None else 0.0


def _ci(m: dict[str, Any] | None) -> tuple[float, float] | None:
    if not m or not m.get("ci95"):
        return None
    return float(m["ci95"][0]), float(m["ci95"][1])


def _clipped(m: dict[str, Any] | None) -> str:
    """``, clipped`` after an interval that was cut at the metric's possible values."""
    return ", clipped" if m and m.get("clipped") else ""


def _reps(summary: dict[str, Any]) -> str:
    n = summary.get("replications")
    if n is None:
        return "replications"
    return f"{n} replication{'' if n == 1 else 's'}"


# -- titles -----------------------------------------------------------------------------------


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


def _suptitle(fig: Figure, text: str, bold: bool = True) -> None:
    """The title of a figure of several panels, at its left edge."""
    weight = {"fontweight": "bold"} if bold else {}
    fig.suptitle(text, x=0.01, ha="left", fontsize=12, **weight)


# -- rendering --------------------------------------------------------------------------------


def render_png(
    draw: Callable[[Figure], Any],
    *,
    size: tuple[float, float] = SIZE,
    dpi: int = DPI,
    software: str | None = None,
) -> bytes:
    """PNG bytes of a figure drawn by ``draw(fig)``, slide size unless ``size`` (inches) and
    ``dpi`` say otherwise; deterministic. ``software``: the PNG's Software text, which says
    who wrote it (none by default: no matplotlib version in the file)."""
    # Extreme numbers (a value near 1e308 in a results file) make matplotlib warn of
    # overflows and layouts it could not apply: the chart is still drawn, and the warnings
    # would be lines of stderr the user can do nothing with.
    with mpl.rc_context(_RC), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # overflow in matplotlib's ticker
        warnings.simplefilter("ignore", UserWarning)  # constrained_layout not applied
        fig = Figure(figsize=size, dpi=dpi, layout="constrained")
        FigureCanvasAgg(fig)
        draw(fig)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": software})
    return buffer.getvalue()
