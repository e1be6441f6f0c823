"""The run study: replications of one scenario, reduced to ``summary.json``.

Every study follows one protocol: it takes a :class:`~frictionsim.scenario.Scenario`,
says what it will run through an :class:`~frictionsim.execution.Execution` before any
work (:meth:`~frictionsim.execution.Execution.plan`: engines, size, progress total),
maps its tasks through that execution's one pool, and reduces the replications to the
document of its results folder, returned as one result object.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..errors import OptionError, SimulationError
from ..execution import DaskExecutor, Execution, Progress, open_execution, replication_seeds
from ..frames import FrameMixin
from ..metrics import flat_values
from ..scenario import Scenario
from ..sim.result import RunResult
from ..stats import summarize, t_quantile


def run_replications(
    scenario: Scenario,
    seed: int,
    replications: int,
    jobs: int | None = None,
    progress: Progress | None = None,
    engine: str = "auto",
    executor: Execution | None = None,
    event_dir: Path | None = None,
) -> list[RunResult]:
    """Simulate ``replications`` independent runs; results in replication order.

    ``executor``: an open :class:`~frictionsim.execution.Execution` to run them in
    (its engine and progress), else a new one of ``jobs`` local workers. With
    ``event_dir``, each replication also writes its event log there
    (see :func:`~frictionsim.execution.event_part`), on the SimPy engine.
    """
    with open_execution(executor, jobs, engine, None, progress) as ex:
        return ex.map(ex.tasks(scenario, replication_seeds(seed, replications), event_dir))


@dataclass
class Run(FrameMixin):
    """A completed run: its scenario, seed, raw results and summary."""

    kind = "run"

    scenario: Scenario
    seed: int
    results: list[RunResult]
    summary: dict[str, Any]
    runtime_seconds: float
    jobs: int
    engine: str = "simpy"  # the engine that ran: "fast" (some replications or all) or "simpy"
    event_dir: Path | None = None
    #: With ``precision``: what was asked, reached, and the replications of each batch.
    precision: dict[str, Any] | None = field(default=None)
    #: With ``uncertainty``: the parameters drawn, and each replication's values.
    uncertainty: dict[str, Any] | None = field(default=None)

    @property
    def document(self) -> dict[str, Any]:
        """``summary.json``."""
        return self.summary

    @property
    def simpy_replications(self) -> int:
        """With ``engine == "fast"``: the replications the fast path handed to the SimPy
        engine (two events at one instant that only SimPy's event queue orders), with the
        same results; 0 otherwise."""
        if self.engine != "fast":
            return 0
        return sum(r.engine != "fast" for r in self.results)

    def replication_values(self) -> list[dict[str, Any]]:
        """Every metric of every replication, by its path in ``summary.json``."""
        return [
            {"replication": k, **flat_values(r, self.scenario)} for k, r in enumerate(self.results)
        ]


#: Why ``engine="fast"`` and an event log do not go together.
NO_FAST_EVENTS = (
    "--event-log: the fast path keeps no events of each customer; "
    "use --engine auto or simpy (the SimPy engine writes the log, with the same results)"
)

#: Replications a run with ``precision`` makes at most, unless told otherwise.
MAX_REPLICATIONS = 1000


def half_width(values: Sequence[float | None]) -> float:
    """Half-width of the 95 % Student-t interval of the mean of ``values`` (undefined
    ones, such as a rate of a step nobody entered, left out, as in ``summary.json``);
    ``inf`` with fewer than two. Not clipped to what the metric can be."""
    x = np.asarray([v for v in values if v is not None], dtype=float)
    x = x[np.isfinite(x)]
    if x.size < 2:
        return math.inf
    return t_quantile(0.975, x.size - 1) * float(x.std(ddof=1)) / math.sqrt(x.size)


def run(
    scenario: Scenario,
    seed: int | None = None,
    replications: int | None = None,
    jobs: int | None = None,
    progress: Progress | None = None,
    engine: str = "auto",
    scheduler: str | None = None,
    event_dir: Path | None = None,
    force: bool = False,
    execution: Execution | None = None,
    precision: Sequence[tuple[str, float]] = (),
    max_replications: int = MAX_REPLICATIONS,
    uncertainty: bool = False,
) -> Run:
    """Run ``scenario`` (its own seed and replications unless given) and summarize it.

    ``engine``: ``auto`` (fast path where exact, else SimPy), ``simpy`` or ``fast``.
    ``scheduler``: a Dask scheduler address; default ``$FRICTIONSIM_SCHEDULER``,
    else local processes. ``force=False`` refuses a run beyond the size limits before
    it starts. ``execution``: run in this open execution instead (its jobs, engine,
    scheduler, progress and force).

    ``precision``: ``(metric, half-width)`` pairs. After the first ``replications``
    (at least 2), more are run in batches until the 95 % CI half-width of every
    metric is at most its target, or ``max_replications`` are done (the size check
    counts them all). Replication *k* always has seed ``SeedSequence(seed).spawn(n)[k]``
    whatever ``n``, so the result is exactly that of a run with the final number of
    replications.

    ``uncertainty``: each replication draws the parameters of the scenario's
    ``uncertainty`` section (what ``frictionsim calibrate`` fitted) from their fitted
    distribution (:func:`~frictionsim.studies.calibrate.uncertain_scenario`, its own
    random stream), so the intervals include what the data did not pin down.
    """
    seed = scenario.seed if seed is None else seed
    if uncertainty:
        _check_uncertainty(scenario)
    replications = scenario.replications if replications is None else replications
    if precision:
        _check_precision(precision, replications, max_replications)
        replications = max(replications, 2)
    start = time.perf_counter()
    with open_execution(execution, jobs, engine, scheduler, progress, force) as ex:
        if event_dir is not None and ex.engine == "fast":
            raise SimulationError(NO_FAST_EVENTS)
        if event_dir is not None and isinstance(ex.executor, DaskExecutor):
            raise SimulationError(
                "--event-log writes files on this machine; run it without a Dask scheduler"
            )
        largest = max_replications if precision else replications
        ex.plan([(scenario, largest)], total=replications)
        batch = _Batches(ex, scenario, seed, event_dir, uncertainty)
        results = batch(0, replications)
        reached = None
        if precision:
            results, reached = _until_precise(batch, scenario, results, precision, max_replications)
        jobs = ex.jobs
    summary = summarize(scenario, results, seed, __version__)
    used = "fast" if any(r.engine == "fast" for r in results) else "simpy"
    elapsed = time.perf_counter() - start
    drawn = None
    if uncertainty:
        paths = [p.path for p in scenario.uncertainty.parameters]  # type: ignore[union-attr]
        drawn = {"parameters": paths, "draws": batch.draws[: len(results)]}
    return Run(scenario, seed, results, summary, elapsed, jobs, used, event_dir, reached, drawn)


class _Batches:
    """Replications ``a`` to ``b - 1`` of a run, each with seed ``spawn(b)[k]`` (the same
    whatever ``b``), and with ``uncertainty`` its own draw of the fitted parameters."""

    def __init__(
        self, ex: Execution, scenario: Scenario, seed: int, event_dir: Path | None,
        uncertainty: bool,
    ) -> None:  # fmt: skip
        self.ex, self.scenario, self.seed = ex, scenario, seed
        self.event_dir, self.uncertainty = event_dir, uncertainty
        self.draws: list[list[float]] = []

    def __call__(self, a: int, b: int) -> list[RunResult]:
        from ..sim.streams import substream
        from .calibrate import uncertain_scenario

        seeds = replication_seeds(self.seed, b)[a:]
        tasks = [
            replace(t, replication=a + k)
            for k, t in enumerate(self.ex.tasks(self.scenario, seeds, self.event_dir))
        ]
        if self.uncertainty:
            for k, (task, seq) in enumerate(zip(tasks, seeds)):
                variant, values = uncertain_scenario(self.scenario, substream(seq, "uncertainty"))
                self.draws.append(values)
                fast = task.fast and self.ex.fast(variant)
                tasks[k] = replace(task, scenario=variant, fast=fast)
            if not self.ex.force:  # a drawn arrival rate can make a replication huge
                from ..execution import check_run_size, estimate_runs

                runs = [(t.scenario, 1) for t in tasks]
                check_run_size(
                    estimate_runs(
                        runs,
                        self.ex.jobs,
                        "replications",
                        "run",
                        "narrow the uncertainty section or add --force",
                    )
                )
        return self.ex.map(tasks)


def _check_uncertainty(scenario: Scenario) -> None:
    """The scenario has an ``uncertainty`` section, and its own values are the section's
    estimates (a ``--set`` of a fitted parameter would be drawn over: refused)."""
    from .calibrate import uncertain_values

    if scenario.uncertainty is None:
        raise SimulationError(
            f"--uncertainty: '{scenario.name}' has no `uncertainty` section; "
            "`frictionsim calibrate` writes one into the scenario it calibrates"
        )
    for path, own, estimate in uncertain_values(scenario):
        if path.endswith(".duration") and not own > 0:
            raise OptionError(
                f"--uncertainty: {path}: the step takes no time (its duration is 0), so there "
                "is no duration to draw; give it a duration, or drop it from `uncertainty`"
            )
        if not math.isclose(own, estimate, rel_tol=1e-9, abs_tol=1e-12):
            raise OptionError(
                f"--uncertainty: {path} is {own:g} but the uncertainty section's estimate is "
                f"{estimate:g} (changed by --set?); --uncertainty draws it around the "
                "estimate: drop that --set, or run without --uncertainty"
            )


def _check_precision(
    precision: Sequence[tuple[str, float]], replications: int, max_replications: int
) -> None:
    """Each metric once, and room for the replications to start with."""
    metrics = [m for m, _ in precision]
    twice = next((m for m in metrics if metrics.count(m) > 1), None)
    if twice is not None:
        raise OptionError(f"--precision: {twice} is given twice; give it once")
    if replications > max_replications:
        raise OptionError(
            f"--max-replications {max_replications} is below the {replications} replications "
            "to start with; raise it or give fewer --replications"
        )


def _until_precise(
    batch: _Batches,
    scenario: Scenario,
    results: list[RunResult],
    precision: Sequence[tuple[str, float]],
    max_replications: int,
) -> tuple[list[RunResult], dict[str, Any]]:
    """More replications, batch by batch, until every metric's half-width is at most its
    target (the usual sequential procedure: the next total is the one the current
    spread says is needed, ``n × (half-width / target)²``, at least one more)."""
    batches = [len(results)]
    while True:
        values = [flat_values(r, scenario) for r in results]
        widths = {m: half_width([v.get(m) for v in values]) for m, _ in precision}
        short = [(widths[m], h) for m, h in precision if not widths[m] <= h]
        n = len(results)
        if not short or n >= max_replications:
            break
        need = max(math.ceil(n * (w / h) ** 2) if math.isfinite(w) else 2 * n for w, h in short)
        # at most four times as many at once: a spread from a few replications (few
        # degrees of freedom, a large t) overstates what is needed
        target = min(max_replications, 4 * n, max(n + 1, need))
        batch.ex.total = target
        results = results + batch(n, target)
        batches.append(target)
    return results, {
        "targets": dict(precision),
        # a metric defined in fewer than two replications has no half-width: null
        "half_widths": {m: (w if math.isfinite(w) else None) for m, w in widths.items()},
        "reached": not short,
        "replications": len(results),
        "max_replications": max_replications,
        "batches": batches,
    }


__all__ = ["MAX_REPLICATIONS", "Run", "half_width", "run", "run_replications"]
