"""Which process draws which chart of a run's report, when several draw it together.

Plain Python (no matplotlib), so that the process that simulated can put the parts
back together (:func:`frictionsim.results.drawing.merge_parts`) without loading it.

The charts are shared so that the parts take about as long: the longest first, each
to the part with the least work so far, and the first part also writes the pages.
The costs are seconds per chart measured on the project machine (2 cores,
2026-12-03; the pages ≈ 0.1 s): only their ratios matter, and a wrong guess only
makes one part wait for the other, never changes a byte.
"""

from __future__ import annotations

from collections.abc import Sequence

#: Every chart of a run, in report order, and its drawing time in seconds.
CHART_COST = {
    "funnel.png": 0.35,
    "lost_revenue.png": 0.32,
    "irritation.png": 0.45,
    "waiting.png": 0.25,
    "checkout_time.png": 0.19,
    "word_of_mouth.png": 0.3,
    "customer_base.png": 0.3,
    "service.png": 0.3,
}
#: The pages (report.md, report.html) that the first part writes besides its charts.
PAGES_COST = 0.1


def share(names: Sequence[str], parts: int) -> list[list[str]]:
    """The charts ``names`` (report order) shared among ``parts`` parts: each part's
    charts, in report order."""
    load = [PAGES_COST] + [0.0] * (parts - 1)
    mine: list[list[str]] = [[] for _ in range(parts)]
    for name in sorted(names, key=lambda n: -CHART_COST.get(n, 0.3)):  # stable: ties in order
        k = min(range(parts), key=lambda p: (load[p], p))
        load[k] += CHART_COST.get(name, 0.3)
        mine[k].append(name)
    rank = {name: i for i, name in enumerate(names)}
    return [sorted(part, key=rank.__getitem__) for part in mine]


def report_order(names: Sequence[str]) -> list[str]:
    """Chart names in report order (the order of :data:`CHART_COST`; others after)."""
    rank = {name: i for i, name in enumerate(CHART_COST)}
    return sorted(names, key=lambda n: rank.get(n, len(rank)))


__all__ = ["CHART_COST", "PAGES_COST", "report_order", "share"]
