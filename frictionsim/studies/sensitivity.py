"""The sensitivity study: a scenario's numeric parameters ranked by their effect.

One at a time (``oat``), each parameter is moved ``delta`` percent down and up (with
the same seeds as the base run), and the difference between the two is its effect
(a tornado chart). Variance-based Sobol indices through SALib are the optional
alternative (``method="sobol"``, extra ``frictionsim[sobol]``). Every run's metrics
are kept (:meth:`Sensitivity.replication_values`, ``to_frame()``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import __version__
from ..errors import OptionError, ScenarioError
from ..execution import Execution, Progress, open_execution, replication_seeds
from ..frames import FrameMixin
from ..metrics import check_path, flat_values
from ..scenario import Scenario, vary
from ..stats import describe, difference

#: Numeric keys a sensitivity analysis moves, where they appear in a scenario.
_STEP_KEYS = (
    "irritation",
    "fields",
    "per_field",
    "exit",
    "exit_irritation",
    "capacity",
    "wait_irritation",
    "time_irritation",
)
_DIST_KEYS = ("mean", "value")  # a distribution's mean (or its fixed value)
_INTEGER = ("fields", "capacity")
_PROBABILITY = ("exit", "p")


@dataclass(frozen=True)
class Parameter:
    """A numeric scenario value that a sensitivity analysis moves (``path`` as for ``--set``)."""

    path: str
    value: float

    @property
    def integer(self) -> bool:
        return self.path.rsplit(".", 1)[-1] in _INTEGER

    def moved(self, delta: float) -> float | int:
        """The value ``delta`` (a fraction, ±) away: whole numbers move by at least 1,
        probabilities stay at most 1, capacities at least 1."""
        x = self.value * (1 + delta)
        key = self.path.rsplit(".", 1)[-1]
        if self.integer:
            step = max(1, round(abs(self.value * delta)))
            x = int(self.value) + (step if delta > 0 else -step)
            return max(x, 1 if key == "capacity" else 0)
        if key in _PROBABILITY:
            x = min(x, 1.0)
        return float(f"{x:.12g}")  # 33.3, not 33.300000000000004


def _address(name: str, index: int) -> str:
    """How ``--set`` reaches a list item: by name, or by index when the name has a dot."""
    return str(index) if "." in name else name


def numeric_parameters(scenario: Scenario) -> list[Parameter]:
    """Every non-zero numeric parameter with a meaning to vary: the arrival rate, each
    segment's sensitivity and commitment and the means of its tolerance and order
    value, each step's irritation (relief too), fields, exit and exit_irritation,
    capacity, waiting and time irritation, error probability and irritation and mean
    duration, a segment's own exit and error probability there (``by_segment``), and
    the global friction defaults. Shares (they must
    sum to 1), branch probabilities and the horizon are left alone."""
    data = scenario.model_dump(mode="json", exclude_none=True)
    found: list[Parameter] = []

    def add(path: str, value: Any) -> None:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value != 0:
            found.append(Parameter(path, float(value)))

    def dist(path: str, spec: Any) -> None:
        if isinstance(spec, dict):
            for key in _DIST_KEYS:
                if key in spec:
                    add(f"{path}.{key}", spec[key])

    add("arrivals.rate", data["arrivals"]["rate"])
    for k, seg in enumerate(data["segments"]):
        base = f"segments.{_address(seg['name'], k)}"
        add(f"{base}.sensitivity", seg.get("sensitivity"))
        add(f"{base}.commitment", seg.get("commitment"))
        dist(f"{base}.tolerance", seg["tolerance"])
        dist(f"{base}.order_value", seg["order_value"])
    for k, step in enumerate(data["steps"]):
        base = f"steps.{_address(step['name'], k)}"
        for key in _STEP_KEYS:
            add(f"{base}.{key}", step.get(key))
        dist(f"{base}.duration", step.get("duration"))
        if "errors" in step:
            add(f"{base}.errors.p", step["errors"]["p"])
            add(f"{base}.errors.irritation", step["errors"]["irritation"])
        for name, own in step.get("by_segment", {}).items():
            if "." in name:  # not reachable by a --set path
                continue
            add(f"{base}.by_segment.{name}.exit", own.get("exit"))
            add(f"{base}.by_segment.{name}.errors.p", (own.get("errors") or {}).get("p"))
    for key in ("per_field", "wait_irritation", "time_irritation"):
        add(f"friction.{key}", data["friction"][key])
    return found


def _number_text(x: float | int) -> str:
    return str(x) if isinstance(x, int) else repr(float(x))


@dataclass
class Sensitivity(FrameMixin):
    """Parameters ranked by their effect on one metric."""

    kind = "sensitivity"

    scenario: Scenario
    metric: str
    method: str
    seed: int
    replications: int
    document: dict[str, Any]  # sensitivity.json
    runtime_seconds: float
    jobs: int
    #: Every run: which parameter moved where (``base``, ``low``, ``high``; Sobol: the
    #: sample's values) and every metric of ``summary.json`` by its path.
    runs: list[dict[str, Any]] = field(default_factory=list)

    def replication_values(self) -> list[dict[str, Any]]:
        """Every metric of every run, with what was moved."""
        return list(self.runs)


def sensitivity(
    scenario: Scenario,
    metric: str = "conversion_rate",
    delta: float = 10.0,
    method: str = "oat",
    samples: int = 64,
    seed: int | None = None,
    replications: int | None = None,
    jobs: int | None = None,
    progress: Progress | None = None,
    engine: str = "auto",
    scheduler: str | None = None,
    force: bool = False,
    execution: Execution | None = None,
) -> Sensitivity:
    """Rank ``scenario``'s numeric parameters by their effect on ``metric``.

    ``oat`` (one at a time): every parameter moved ``delta`` percent down and
    up from its value with everything else fixed, all runs with the same seeds;
    the effect is mean(up) − mean(down) with a paired 95 % CI. ``sobol``:
    first-order and total Sobol indices (SALib, Saltelli sampling of ``samples``
    base points) with every parameter uniform within ±``delta`` percent, one
    replication per sample point, all with the same seed. ``force=False`` refuses an
    analysis beyond the size limits before it starts; ``execution``: run in this open
    execution (its jobs, engine, progress, force).
    """
    check_path(metric, scenario)
    if method not in ("oat", "sobol"):
        raise OptionError(f"unknown method '{method}'; choose oat or sobol")
    if not 0 < delta < 100:
        raise OptionError(f"--delta {delta:g}: a percentage between 0 and 100, e.g. 10")
    seed = scenario.seed if seed is None else seed
    replications = scenario.replications if replications is None else replications
    params = numeric_parameters(scenario)
    if not params:
        raise OptionError(f"'{scenario.name}' has no non-zero numeric parameter to vary")
    start = time.perf_counter()

    def variant(sets: list[str]) -> Scenario | None:
        try:
            return vary(scenario, sets)
        except ScenarioError:
            return None  # a move the scenario cannot take (e.g. a distribution's bounds)

    with open_execution(execution, jobs, engine, scheduler, progress, force) as ex:
        if method == "sobol":
            document, runs = _sobol(scenario, params, variant, metric, delta, samples, seed, ex)
        else:
            document, runs = _one_at_a_time(
                scenario, params, variant, metric, delta, seed, replications, ex
            )
        jobs = ex.jobs
    return Sensitivity(
        scenario,
        metric,
        method,
        seed,
        replications if method == "oat" else 1,
        document,
        time.perf_counter() - start,
        jobs,
        runs,
    )


def _plan(ex: Execution, runs: Sequence[tuple[Scenario, int]], labels: Sequence[str]) -> None:
    ex.plan(
        runs,
        study="sensitivity analysis",
        what="runs",
        advice="rank fewer parameters (--set), or use fewer replications or --samples",
        labels=labels,
    )


def _one_at_a_time(
    scenario, params, variant, metric, delta, seed, replications, ex: Execution
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    d = delta / 100
    moves, skipped = [], []
    for p in params:
        low, high = p.moved(-d), p.moved(d)
        lo_s = variant([f"{p.path}={_number_text(low)}"])
        hi_s = variant([f"{p.path}={_number_text(high)}"])
        if lo_s is None or hi_s is None:
            skipped.append(p.path)
        else:
            moves.append((p, low, high, lo_s, hi_s))
    runs = [scenario] + [s for m in moves for s in m[3:]]
    labels = ["the base"] + [
        f"{p.path}={_number_text(x)}" for p, low, high, _, _ in moves for x in (low, high)
    ]
    _plan(ex, [(s, replications) for s in runs], labels)
    seeds = replication_seeds(seed, replications)
    flat = ex.map([t for s in runs for t in ex.tasks(s, seeds)])
    what: list[tuple[str, str, Any]] = [("", "base", None)]
    for p, low, high, _, _ in moves:
        what += [(p.path, "low", low), (p.path, "high", high)]
    records = [
        {"parameter": path, "move": move, "value": x, "replication": rep} | flat_values(r, runs[k])
        for k, (path, move, x) in enumerate(what)
        for rep, r in enumerate(flat[k * replications : (k + 1) * replications])
    ]
    values = [
        [row.get(metric, math.nan) for row in records[k * replications : (k + 1) * replications]]
        for k in range(len(runs))
    ]
    base = describe(values[0], metric=metric)
    rows = []
    for k, (p, low, high, _, _) in enumerate(moves):
        lo_v, hi_v = values[1 + 2 * k], values[2 + 2 * k]
        effect = difference(lo_v, hi_v, metric=metric)
        rows.append(
            {
                "parameter": p.path,
                "value": p.value,
                "low": low,
                "high": high,
                "low_mean": describe(lo_v)["mean"],
                "high_mean": describe(hi_v)["mean"],
                "effect": effect["mean"],
                "ci95": effect["ci95"],
                "significant": effect["significant"],
            }
        )
    rows.sort(key=lambda r: (-abs(r["effect"] or 0.0), r["parameter"]))
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    return {
        "scenario": scenario.name,
        "method": "oat",
        "metric": metric,
        "delta_percent": delta,
        "seed": seed,
        "replications": replications,
        "frictionsim_version": __version__,
        "base": base,
        "parameters": rows,
        "skipped": skipped,
    }, records


def _sobol(
    scenario, params, variant, metric, delta, samples, seed, ex: Execution
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    try:
        from SALib.analyze import sobol as sobol_analyze
        from SALib.sample import sobol as sobol_sample
    except ImportError:
        raise OptionError("--method sobol needs SALib: pip install 'frictionsim[sobol]'") from None
    import numpy as np

    d = delta / 100
    bounds = [sorted([p.value * (1 - d), p.value * (1 + d)]) for p in params]
    for p, b in zip(params, bounds):
        if p.integer:
            b[0], b[1] = float(p.moved(-d)) - 0.5, float(p.moved(d)) + 0.5
        elif p.path.rsplit(".", 1)[-1] in _PROBABILITY:
            b[1] = min(b[1], 1.0)
    problem = {"num_vars": len(params), "names": [p.path for p in params], "bounds": bounds}
    points = sobol_sample.sample(problem, samples, calc_second_order=False, seed=seed % 2**32)
    seqs = replication_seeds(seed, 1)
    variants, moved, labels = [], [], []
    for row in points:
        sets = []
        for p, x in zip(params, row):
            value = max(round(x), 1 if p.path.endswith("capacity") else 0) if p.integer else x
            sets.append(f"{p.path}={_number_text(value)}")
        s = variant(sets)
        if s is None:
            raise OptionError(f"a Sobol sample point is not a valid scenario: {', '.join(sets)}")
        variants.append(s)
        moved.append(dict(s.split("=", 1) for s in sets))
        labels.append(f"Sobol sample {len(labels)} ({', '.join(sets)})")
    _plan(ex, [(s, 1) for s in variants], labels)
    flat = ex.map([t for s in variants for t in ex.tasks(s, seqs)])
    records = [
        {"sample": i, **{p: float(v) for p, v in move.items()}, **flat_values(r, s)}
        for i, (r, s, move) in enumerate(zip(flat, variants, moved))
    ]
    y = np.array([row.get(metric, math.nan) for row in records], dtype=float)
    result = sobol_analyze.analyze(
        problem, y, calc_second_order=False, print_to_console=False, seed=seed % 2**32
    )
    rows = [
        {
            "parameter": p.path,
            "value": p.value,
            "low": b[0],
            "high": b[1],
            "S1": float(result["S1"][k]),
            "S1_conf": float(result["S1_conf"][k]),
            "ST": float(result["ST"][k]),
            "ST_conf": float(result["ST_conf"][k]),
        }
        for k, (p, b) in enumerate(zip(params, bounds))
    ]
    rows.sort(key=lambda r: (-r["ST"], r["parameter"]))
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    return {
        "scenario": scenario.name,
        "method": "sobol",
        "metric": metric,
        "delta_percent": delta,
        "seed": seed,
        "samples": samples,
        "evaluations": len(variants),
        "frictionsim_version": __version__,
        "parameters": rows,
        "skipped": [],
    }, records


__all__ = ["Parameter", "Sensitivity", "numeric_parameters", "sensitivity"]
