"""Optimisation: the best point of a grid of parameter values, subject to constraints.

A strategist asks "how few agents can we staff and keep reneging under 2 %?" or
"which capacity maximises profit?". The answer is a point of a grid (the values
of one or two ``--param`` paths), the **objective** a metric to maximise or
minimise (``max:profit``), or one of the parameters itself (``min:steps.desk.capacity``:
the fewest agents), and the **constraints** bounds on metrics
(``steps.desk.abandon_rate<=0.02``). Every metric is named by its path in
``summary.json``.

Every point runs with the same replication seeds (common random numbers), so
two points differ only because their parameters do, and the differences
between neighbours are paired.

**Search.** With one numeric parameter the search does not evaluate every
point when it need not: each constraint is taken to be monotone in the
parameter (more agents, fewer abandonments), so its feasible boundary is found
by bisection; an objective that is a parameter is then read off the boundary,
and a metric objective is searched for by ternary search over the feasible
points (taken to be unimodal: profit rises, then falls with capacity). The
points evaluated on the way check both assumptions: if any constraint's means
are not monotone, or the objective's are not unimodal, over the points seen,
every point is evaluated (``search: "exhaustive"``), as it is for a grid of two
parameters or non-numeric values. A point is feasible when the mean of every
constrained metric satisfies its bound; the document reports, for the
optimum, the one-sided Student-t probability that each bound holds for the
true mean, and paired differences of the objective from its evaluated
neighbours.
"""

from __future__ import annotations

import itertools
import math
import operator
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import __version__
from ..errors import OptionError
from ..execution import Execution, Progress, open_execution, replication_seeds
from ..frames import FrameMixin
from ..metrics import check_path, check_path_everywhere, flat_values
from ..scenario import Scenario, vary
from ..stats import describe, difference, t_cdf
from .sweep import grid_values

#: More grid points than this is almost certainly a typo in ``--values``.
MAX_POINTS = 10_000
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}
_CONSTRAINT = re.compile(r"^\s*(?P<metric>[^<>=\s]+)\s*(?P<op><=|>=|<|>)\s*(?P<value>\S+)\s*$")


@dataclass(frozen=True)
class Objective:
    sense: str  # "max" or "min"
    metric: str  # a metric path, or one of the parameter paths

    @property
    def text(self) -> str:
        return f"{self.sense}:{self.metric}"


@dataclass(frozen=True)
class Constraint:
    metric: str
    op: str
    value: float

    @property
    def text(self) -> str:
        return f"{self.metric}{self.op}{self.value:g}"

    def holds(self, x: float | None) -> bool:
        return x is not None and _OPS[self.op](x, self.value)


def parse_objective(
    text: str, params: Sequence[str], scenario: Scenario | None = None
) -> Objective:
    """``max:METRIC`` or ``min:METRIC``; METRIC a metric path (of ``scenario``, when
    given) or one of ``params``."""
    sense, _, metric = text.strip().partition(":")
    if sense not in ("max", "min") or not metric:
        raise OptionError(
            f"--objective {text!r}: expected max:METRIC or min:METRIC, e.g. max:profit "
            "or min:steps.desk.capacity"
        )
    if metric not in params and scenario is not None:
        check_path(metric, scenario)
    return Objective(sense, metric)


def parse_constraint(text: str, scenario: Scenario | None = None) -> Constraint:
    """``METRIC<=VALUE`` (or ``>=``, ``<``, ``>``); METRIC a metric path (of
    ``scenario``, when given)."""
    match = _CONSTRAINT.match(text)
    if not match:
        raise OptionError(
            f"--constraint {text!r}: expected METRIC<=VALUE (or >=, <, >), "
            "e.g. 'steps.desk.abandon_rate<=0.02'"
        )
    try:
        value = float(match["value"])
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise OptionError(f"--constraint {text!r}: the bound must be a finite number")
    if scenario is not None:
        check_path(match["metric"], scenario)
    return Constraint(match["metric"], match["op"], value)


@dataclass
class Optimum(FrameMixin):
    """The best point found and how it was found."""

    kind = "optimize"

    scenario: Scenario
    params: list[str]
    document: dict[str, Any]  # optimum.json
    seed: int
    replications: int
    runtime_seconds: float
    jobs: int
    values: dict[tuple[str, ...], list[dict[str, float]]] = field(default_factory=dict)

    def replication_values(self) -> list[dict[str, Any]]:
        """Every metric of every evaluated point and replication."""
        return [
            {**dict(zip(self.params, point)), "replication": k, **row}
            for point, rows in self.values.items()
            for k, row in enumerate(rows)
        ]


def _numeric(values: Sequence[str]) -> list[float] | None:
    try:
        numbers = [float(v) for v in values]
    except ValueError:
        return None
    return numbers if all(math.isfinite(x) for x in numbers) else None


def _value(text: str) -> Any:
    """A parameter value as ``optimum.json`` gives it: a number when it is one."""
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() and "." not in text and "e" not in text else number


def optimize(
    scenario: Scenario,
    params: Sequence[tuple[str, Sequence[str]]],
    objective: str,
    constraints: Sequence[str] = (),
    seed: int | None = None,
    replications: int | None = None,
    jobs: int | None = None,
    progress: Progress | None = None,
    engine: str = "auto",
    scheduler: str | None = None,
    exhaustive: bool = False,
    force: bool = False,
    execution: Execution | None = None,
) -> Optimum:
    """The best point of the grid ``params`` (``[(path, values)]``) for ``objective``
    (``max:METRIC`` / ``min:METRIC``) subject to ``constraints`` (``METRIC<=VALUE``).
    ``exhaustive`` evaluates every point instead of searching. The progress total is
    every point (the most a search can evaluate); a search that needs fewer jumps to
    the end. ``execution``: run in this open execution (jobs, engine, progress, force).
    """
    if not 1 <= len(params) <= 2:
        raise OptionError("optimize takes one --param or two (a grid)")
    names = [p.strip() for p, _ in params]
    if len(set(names)) != len(names):
        raise OptionError(f"--param {names[0]} is given twice")
    # the metrics are checked at every point below: a --param may add a step's
    # capacity (and its capacity metrics) or rename a step
    goal = parse_objective(objective, names)
    bounds = [parse_constraint(c) for c in constraints]
    points = list(itertools.product(*(grid_values(v) for _, v in params)))
    if not points or len(points) > MAX_POINTS:
        raise OptionError(f"{len(points)} points; optimize takes 1 to {MAX_POINTS}")
    variants = [vary(scenario, [f"{n}={v}" for n, v in zip(names, point)]) for point in points]
    seed = scenario.seed if seed is None else seed
    replications = scenario.replications if replications is None else replications
    if replications < 2:
        raise OptionError("optimize needs at least 2 replications per point (for CIs)")
    labels = [", ".join(f"{n}={v}" for n, v in zip(names, point)) for point in points]
    for path in [goal.metric, *(b.metric for b in bounds)]:
        if path not in names:
            check_path_everywhere(path, variants, labels)
    start = time.perf_counter()
    with open_execution(execution, jobs, engine, scheduler, progress, force) as ex:
        ex.plan(
            [(v, replications) for v in variants],
            study="optimisation",
            what="replications at most",
            advice="use fewer --values or replications",
        )
        first = ex.done
        seeds = replication_seeds(seed, replications)
        values: dict[int, list[dict[str, float]]] = {}

        def evaluate(ks: Sequence[int]) -> None:
            todo = [k for k in dict.fromkeys(ks) if k not in values]
            if not todo:
                return
            flat = ex.map([t for k in todo for t in ex.tasks(variants[k], seeds)])
            for j, k in enumerate(todo):
                rows = [
                    flat_values(r, variants[k])
                    for r in flat[j * replications : (j + 1) * replications]
                ]
                for row in rows:
                    for n, v in zip(names, points[k]):
                        row[n] = float(_value(v)) if _numeric([v]) else math.nan
                values[k] = rows

        def mean(k: int, metric: str) -> float | None:
            return describe([row.get(metric, math.nan) for row in values[k]])["mean"]

        def feasible(k: int) -> bool:
            return all(b.holds(mean(k, b.metric)) for b in bounds)

        numbers = _numeric([p[0] for p in points]) if len(params) == 1 else None
        search = "exhaustive"
        if numbers is not None and not exhaustive and len(points) > 3:
            order = sorted(range(len(points)), key=lambda k: numbers[k])
            found = _search(order, goal, bounds, names, evaluate, mean, values.__contains__)
            if found is not None:
                search = found
        if search == "exhaustive":
            evaluate(range(len(points)))
        candidates = [k for k in values if feasible(k)]
        best = None
        if candidates:
            sign = 1 if goal.sense == "max" else -1
            best = max(candidates, key=lambda k: (sign * (mean(k, goal.metric) or -math.inf), -k))
        ex.report(first + len(points) * replications)  # the points a search skipped
        jobs = ex.jobs
    document = _document(
        scenario, names, points, values, goal, bounds, best, seed, replications, search, numbers
    )
    return Optimum(
        scenario,
        names,
        document,
        seed,
        replications,
        time.perf_counter() - start,
        jobs,
        {points[k]: rows for k, rows in sorted(values.items())},
    )


def _search(
    order: list[int],
    goal: Objective,
    bounds: Sequence[Constraint],
    names: Sequence[str],
    evaluate: Callable[[Sequence[int]], None],
    mean: Callable[[int, str], float | None],
    known: Callable[[int], bool],
) -> str | None:
    """Bisection on each (monotone) constraint, then the objective over the feasible
    range; None when what was seen contradicts the assumptions (evaluate everything)."""
    lo, hi = 0, len(order) - 1  # positions in `order`, ascending parameter value
    for b in bounds:
        evaluate([order[lo], order[hi]])
        ok_lo, ok_hi = b.holds(mean(order[lo], b.metric)), b.holds(mean(order[hi], b.metric))
        if ok_lo and ok_hi:
            continue
        if not ok_lo and not ok_hi:
            return None  # nothing feasible at either end: look everywhere
        # the first feasible position from the infeasible end
        bad, good = (lo, hi) if ok_hi else (hi, lo)
        while abs(good - bad) > 1:
            mid = (good + bad) // 2
            evaluate([order[mid]])
            if b.holds(mean(order[mid], b.metric)):
                good = mid
            else:
                bad = mid
        lo, hi = (good, hi) if ok_hi else (lo, good)
        if lo > hi:
            return None
    if goal.metric in names:  # the parameter itself: an end of the feasible range
        pick = lo if (goal.sense == "min") else hi
        evaluate([order[pick]] + [order[p] for p in (pick - 1, pick + 1) if lo <= p <= hi])
        evaluate([order[p] for p in (lo - 1, hi + 1) if 0 <= p < len(order)])
        search = "bisection"
    else:
        sign = 1 if goal.sense == "max" else -1

        def score(p: int) -> float:
            evaluate([order[p]])
            m = mean(order[p], goal.metric)
            return -math.inf if m is None else sign * m

        a, z = lo, hi
        while z - a > 2:
            m1, m2 = a + (z - a) // 3, z - (z - a) // 3
            f1, f2 = score(m1), score(m2)
            if f1 < f2:
                a = m1 + 1
            elif f1 > f2:
                z = m2 - 1
            else:
                a, z = m1, m2
        evaluate([order[p] for p in range(max(lo, a - 1), min(hi, z + 1) + 1)])
        evaluate([order[p] for p in (lo - 1, hi + 1) if 0 <= p < len(order)])
        search = "bisection+ternary" if bounds else "ternary"
        inside = [k for k in order[lo : hi + 1] if known(k)]
        if not _unimodal([sign * (mean(k, goal.metric) or 0) for k in inside]):
            return None
    seen = [k for k in order if known(k)]
    for b in bounds:
        if not _monotone([mean(k, b.metric) for k in seen]):
            return None
    return search


def _monotone(xs: Sequence[float | None]) -> bool:
    ys = [x for x in xs if x is not None]
    d = np.diff(ys)
    return bool(np.all(d >= 0) or np.all(d <= 0))


def _unimodal(xs: Sequence[float]) -> bool:
    """Rises (or stays), then falls (or stays): one peak."""
    d = np.sign(np.diff(xs))
    d = d[d != 0]
    return bool(np.all(np.diff(d) <= 0))


def _probability(d: dict[str, Any], b: Constraint, n: int) -> float | None:
    """One-sided Student-t probability that the true mean satisfies ``b``."""
    if d["mean"] is None or d["sd"] is None:
        return None
    se = d["sd"] / math.sqrt(n)
    if se == 0:
        return 1.0 if b.holds(d["mean"]) else 0.0
    t = (b.value - d["mean"]) / se if b.op in ("<=", "<") else (d["mean"] - b.value) / se
    return t_cdf(t, n - 1)


def _document(
    scenario: Scenario,
    names: Sequence[str],
    points: Sequence[tuple[str, ...]],
    values: dict[int, list[dict[str, float]]],
    goal: Objective,
    bounds: Sequence[Constraint],
    best: int | None,
    seed: int,
    replications: int,
    search: str,
    numbers: list[float] | None,
) -> dict[str, Any]:
    metrics = list(dict.fromkeys([goal.metric, *(b.metric for b in bounds)]))

    def described(k: int) -> dict[str, Any]:
        return {m: describe([row.get(m, math.nan) for row in values[k]], metric=m) for m in metrics}

    evaluated = []
    order = sorted(values, key=lambda k: numbers[k] if numbers else k)
    for k in order:
        d = described(k)
        evaluated.append(
            {
                "values": {n: _value(v) for n, v in zip(names, points[k])},
                "metrics": d,
                "feasible": all(b.holds(d[b.metric]["mean"]) for b in bounds),
            }
        )
    document: dict[str, Any] = {
        "scenario": scenario.name,
        "params": list(names),
        "objective": {"sense": goal.sense, "metric": goal.metric},
        "constraints": [{"metric": b.metric, "op": b.op, "value": b.value} for b in bounds],
        "seed": seed,
        "replications": replications,
        "frictionsim_version": __version__,
        "search": search,
        "grid_points": len(points),
        "evaluated_points": len(values),
        "best": None,
        "optimum": None,
        "evaluated": evaluated,
    }
    if best is None:
        return document
    d = described(best)
    neighbours = []
    pos = order.index(best)
    for q in (pos - 1, pos + 1):
        if 0 <= q < len(order):
            k = order[q]
            diff = difference(
                [row.get(goal.metric, math.nan) for row in values[best]],
                [row.get(goal.metric, math.nan) for row in values[k]],
                metric=goal.metric,
            )
            neighbours.append(
                {
                    "values": {n: _value(v) for n, v in zip(names, points[k])},
                    "objective_difference": diff,
                    "feasible": evaluated[q]["feasible"],
                }
            )
    document["best"] = {n: _value(v) for n, v in zip(names, points[best])}
    document["optimum"] = {
        "objective": d[goal.metric],
        "constraints": [
            {
                "metric": b.metric,
                "op": b.op,
                "value": b.value,
                **d[b.metric],
                "probability_holds": _probability(d[b.metric], b, replications),
            }
            for b in bounds
        ],
        "neighbours": neighbours,
    }
    return document


__all__ = ["Constraint", "Objective", "Optimum", "optimize", "parse_constraint", "parse_objective"]
