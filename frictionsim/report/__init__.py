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
* :mod:`~frictionsim.report.study_pages`: the reports of studies (comparison,
  sweep, sensitivity, optimisation, improvements, calibration): their key numbers
  in words, :func:`render_study_report` and :func:`calibration_report`.
* :mod:`~frictionsim.report.notes`: how a run's replications were chosen, in words
  (plain text, imported without matplotlib).
* :mod:`~frictionsim.report.html_page`: the HTML page, one self-contained file
  (charts inlined as ``data:`` URIs, a style sheet for screen and A4 paper); plain
  text, so it is imported without matplotlib.

Nothing here runs a simulation or writes a file: :mod:`frictionsim.results`
writes them atomically. This package is the only one that imports matplotlib,
and it never imports the engine (nor SimPy), so a folder is redrawn without
simulating. Every name of the package's modules that other code uses is
importable from ``frictionsim.report`` itself; each is imported on first use, so
importing :mod:`~frictionsim.report.html_page` (as
:func:`frictionsim.results.drawing.merge_parts` does) loads no matplotlib.

Renders are deterministic: fixed figure size and DPI, no pyplot state, PNG
metadata without the matplotlib version, a fixed SVG hash salt, and rc
settings applied locally. Identical inputs give identical bytes.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

# matplotlib's notes (such as the temporary config folder it makes when $HOME cannot be
# written) are not a frictionsim user's business: without a handler they reach stderr.
logging.getLogger("matplotlib").addHandler(logging.NullHandler())

#: The module of each name: imported when the name is first used.
_EXPORTS = {
    "CI_NOTE": "common",
    "DPI": "common",
    "EXIT": "common",
    "FORMATS": "common",
    "FRICTION": "common",
    "KIND_FORMAT": "common",
    "MAX_LABEL": "common",
    "PASSED": "common",
    "PIXELS": "common",
    "POTENTIAL": "common",
    "SERIES": "common",
    "SIZE": "common",
    "TOLERANCE": "common",
    "fmt_count": "common",
    "fmt_minutes": "common",
    "fmt_pct": "common",
    "render_png": "common",
    "scenario_label": "common",
    "key_numbers": "page",
    "render_report": "page",
    "run_notes": "notes",
    "calibration_key_numbers": "study_pages",
    "calibration_report": "study_pages",
    "render_study_report": "study_pages",
    "study_key_numbers": "study_pages",
    "embed_charts": "html_page",
    "CHART_FILES": "run_charts",
    "chart_plan": "run_charts",
    "hist_quantiles": "run_charts",
    "irritation_bands": "run_charts",
    "lost_revenue_bars": "run_charts",
    "plot_checkout_time": "run_charts",
    "plot_funnel": "run_charts",
    "plot_irritation": "run_charts",
    "plot_lost_revenue": "run_charts",
    "plot_waiting": "run_charts",
    "plot_word_of_mouth": "run_charts",
    "COMPARISON_PANELS": "study_charts",
    "FIT_DPI": "study_charts",
    "OBSERVED": "study_charts",
    "SENSITIVITY_TOP": "study_charts",
    "SIMULATED": "study_charts",
    "comparison_panels": "study_charts",
    "draw_comparison": "study_charts",
    "draw_improvements": "study_charts",
    "draw_optimum": "study_charts",
    "draw_sensitivity": "study_charts",
    "draw_sweep": "study_charts",
    "fit_chart_png": "study_charts",
    "plot_comparison": "study_charts",
    "plot_fit": "study_charts",
    "plot_heatmap": "study_charts",
    "plot_sobol_indices": "study_charts",
    "plot_sweep": "study_charts",
    "plot_tornado": "study_charts",
    "render_study_chart": "study_charts",
    "write_comparison_chart": "study_charts",
    "write_improvements_chart": "study_charts",
    "write_optimum_chart": "study_charts",
    "write_sensitivity_chart": "study_charts",
    "write_sweep_chart": "study_charts",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'frictionsim.report' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
