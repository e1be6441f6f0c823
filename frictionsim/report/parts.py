"""Which process draws which chart of a run's report, when several draw it together.

Plain Python (no matplotlib), so that the process that simulated can put the parts
back together (:func:`frictionsim.results.drawing.merge_parts`) without loading it.

The charts are shared so that the parts take about as long: the longest first, each to
the part with the least work so far (the first part also writes the pages), then single
charts moved or two swapped between the busiest part and another while that shortens the
busiest, and the part with the fewest charts' work made the first. The costs are seconds
per chart measured in one warm process on the project machine (2 cores, 2026-12-03, the
bundled baseline's report; the pages ≈ 0.03 s): only their ratios matter, and a wrong
guess only makes one part wait for the other, never changes a byte.
"""

from __future__ import annotations

from collections.abc import Sequence

#: Every chart of a run, in report order, and its drawing time in seconds.
CHART_COST = {
    "funnel.png": 0.25,
    "lost_revenue.png": 0.24,
    "irritation.png": 0.32,
    "waiting.png": 0.24,
    "checkout_time.png": 0.16,
    "word_of_mouth.png": 0.3,
    "customer_base.png": 0.3,
    "service.png": 0.3,
}
#: The pages (report.md, report.html) that the first part writes besides its charts.
PAGES_COST = 0.03


def share(names: Sequence[str], parts: int) -> list[list[str]]:
    """The charts ``names`` (report order) shared among ``parts`` parts: each part's
    charts, in report order."""
    cost = {name: CHART_COST.get(name, 0.3) for name in names}
    load = [PAGES_COST] + [0.0] * (parts - 1)
    mine: list[list[str]] = [[] for _ in range(parts)]
    for name in sorted(names, key=lambda n: -cost[n]):  # stable: ties in report order
        k = min(range(parts), key=lambda p: (load[p], p))
        load[k] += cost[name]
        mine[k].append(name)
    while _improve(mine, load, cost):
        pass
    lightest = min(range(parts), key=lambda p: (load[p] - (PAGES_COST if p == 0 else 0), p))
    mine[0], mine[lightest] = mine[lightest], mine[0]  # the pages go with the fewest charts
    rank = {name: i for i, name in enumerate(names)}
    return [sorted(part, key=rank.__getitem__) for part in mine]


def _improve(mine: list[list[str]], load: list[float], cost: dict[str, float]) -> bool:
    """Move one chart of the busiest part to another part, or swap one with a chart
    of another part, where that leaves both below the busiest part's load now; the
    first such change found (deterministic order). False when there is none."""
    top = max(range(len(load)), key=lambda p: (load[p], -p))
    for other in range(len(load)):
        if other == top:
            continue
        for x in mine[top]:
            for y in [None, *mine[other]]:
                delta = cost[x] - (cost[y] if y is not None else 0.0)
                if delta <= 1e-12 or load[other] + delta >= load[top] - 1e-12:
                    continue
                mine[top].remove(x)
                mine[other].append(x)
                if y is not None:
                    mine[other].remove(y)
                    mine[top].append(y)
                load[top] -= delta
                load[other] += delta
                return True
    return False


def report_order(names: Sequence[str]) -> list[str]:
    """Chart names in report order (the order of :data:`CHART_COST`; others after)."""
    rank = {name: i for i, name in enumerate(CHART_COST)}
    return sorted(names, key=lambda n: rank.get(n, len(rank)))


__all__ = ["CHART_COST", "PAGES_COST", "report_order", "share"]
