"""Charts and the one-page report of a results folder (matplotlib Figure API, Agg).

A strategist pastes these charts into slides, so each one shows one idea, at
16:9 slide size (1600 × 900 pixels), with the scenario's name, units, and a
95 % confidence interval wherever replications leave uncertainty. Colours are
Okabe–Ito (safe for the common colour-vision deficiencies); friction losses
are always vermilion and non-friction exits always grey and hatched, so the
two causes are never confused from one chart to the next.

One concern per module:

* :mod:`~frictionsim.report.common`: what every chart shares: colours, slide
  size and rc settings, number formats, described values, titles with the
  overrides of a run, PNG rendering.
* :mod:`~frictionsim.report.run_charts`: the charts of one run, ``plot_*`` on
  an Axes (or a Figure, for the charts with several panels) from the
  ``summary.json``, ``distributions.json`` and ``word_of_mouth.json``
  documents of a run, and :func:`chart_plan`, the charts its data allows.
* :mod:`~frictionsim.report.study_charts`: the charts of studies, ``plot_*``
  from lists of labels, means and CI bounds, and ``draw_comparison``,
  ``draw_sweep``, ``draw_sensitivity``, ``draw_optimum`` and
  ``draw_improvements``, which lay them out from the JSON document of a study;
  the calibration chart.
* :mod:`~frictionsim.report.page`: the key numbers in words and
  :func:`render_report`, which turns a folder's documents into the bytes of
  every chart that has data (PNG) plus ``report.md`` and ``report.html``.

Nothing here runs a simulation or writes a file: :mod:`frictionsim.results`
writes them atomically. This package is the only one that imports matplotlib,
and it never imports the engine (nor SimPy), so a folder is redrawn without
simulating. Every name of the package's modules that other code uses is
importable from ``frictionsim.report`` itself.

Renders are deterministic: fixed figure size and DPI, no pyplot state, PNG
metadata without the matplotlib version, a fixed SVG hash salt, and rc
settings applied locally. Identical inputs give identical bytes.
"""

from __future__ import annotations

from .common import (
    CI_NOTE,
    DPI,
    EXIT,
    FORMATS,
    FRICTION,
    KIND_FORMAT,
    MAX_LABEL,
    PASSED,
    PIXELS,
    POTENTIAL,
    SERIES,
    SIZE,
    TOLERANCE,
    fmt_count,
    fmt_minutes,
    fmt_pct,
    render_png,
    scenario_label,
)
from .page import key_numbers, render_report
from .run_charts import (
    CHART_FILES,
    chart_plan,
    hist_quantiles,
    irritation_bands,
    lost_revenue_bars,
    plot_checkout_time,
    plot_funnel,
    plot_irritation,
    plot_lost_revenue,
    plot_waiting,
    plot_word_of_mouth,
)
from .study_charts import (
    COMPARISON_PANELS,
    FIT_DPI,
    OBSERVED,
    SENSITIVITY_TOP,
    SIMULATED,
    draw_comparison,
    draw_improvements,
    draw_optimum,
    draw_sensitivity,
    draw_sweep,
    fit_chart_png,
    plot_comparison,
    plot_fit,
    plot_heatmap,
    plot_sobol_indices,
    plot_sweep,
    plot_tornado,
    render_study_chart,
    write_comparison_chart,
    write_improvements_chart,
    write_optimum_chart,
    write_sensitivity_chart,
    write_sweep_chart,
)

__all__ = [
    "CHART_FILES",
    "CI_NOTE",
    "COMPARISON_PANELS",
    "DPI",
    "EXIT",
    "FIT_DPI",
    "FORMATS",
    "FRICTION",
    "KIND_FORMAT",
    "MAX_LABEL",
    "OBSERVED",
    "PASSED",
    "PIXELS",
    "POTENTIAL",
    "SENSITIVITY_TOP",
    "SERIES",
    "SIMULATED",
    "SIZE",
    "TOLERANCE",
    "chart_plan",
    "draw_comparison",
    "draw_improvements",
    "draw_optimum",
    "draw_sensitivity",
    "draw_sweep",
    "fit_chart_png",
    "fmt_count",
    "fmt_minutes",
    "fmt_pct",
    "hist_quantiles",
    "irritation_bands",
    "key_numbers",
    "lost_revenue_bars",
    "plot_checkout_time",
    "plot_comparison",
    "plot_fit",
    "plot_funnel",
    "plot_heatmap",
    "plot_irritation",
    "plot_lost_revenue",
    "plot_sobol_indices",
    "plot_sweep",
    "plot_tornado",
    "plot_waiting",
    "plot_word_of_mouth",
    "render_png",
    "render_report",
    "render_study_chart",
    "scenario_label",
    "write_comparison_chart",
    "write_improvements_chart",
    "write_optimum_chart",
    "write_sensitivity_chart",
    "write_sweep_chart",
]
