"""The run study: replications of one scenario, reduced to ``summary.json``.

Every study follows one protocol: it takes a :class:`~frictionsim.scenario.Scenario`,
says what it will run through an :class:`~frictionsim.execution.Execution` before any
work (:meth:`~frictionsim.execution.Execution.plan`: engines, size, progress total),
maps its tasks through that execution's one pool, and reduces the replications to the
document of its results folder, returned as one result object.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import SimulationError
from ..execution import DaskExecutor, Execution, Progress, open_execution, replication_seeds
from ..frames import FrameMixin
from ..metrics import flat_values
from ..scenario import Scenario
from ..sim.result import RunResult
from ..stats import summarize


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
    engine: str = "simpy"  # the engine that ran: "fast" or "simpy"
    event_dir: Path | None = None

    @property
    def document(self) -> dict[str, Any]:
        """``summary.json``."""
        return self.summary

    def replication_values(self) -> list[dict[str, Any]]:
        """Every metric of every replication, by its path in ``summary.json``."""
        return [
            {"replication": k, **flat_values(r, self.scenario)} for k, r in enumerate(self.results)
        ]


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
) -> Run:
    """Run ``scenario`` (its own seed and replications unless given) and summarize it.

    ``engine``: ``auto`` (fast path where exact, else SimPy), ``simpy`` or ``fast``.
    ``scheduler``: a Dask scheduler address; default ``$FRICTIONSIM_SCHEDULER``,
    else local processes. ``force=False`` refuses a run beyond the size limits before
    it starts. ``execution``: run in this open execution instead (its jobs, engine,
    scheduler, progress and force).
    """
    seed = scenario.seed if seed is None else seed
    replications = scenario.replications if replications is None else replications
    start = time.perf_counter()
    with open_execution(execution, jobs, engine, scheduler, progress, force) as ex:
        if event_dir is not None and isinstance(ex.executor, DaskExecutor):
            raise SimulationError(
                "--event-log writes files on this machine; run it without a Dask scheduler"
            )
        ex.plan([(scenario, replications)])
        fast = event_dir is None and ex.fast(scenario)
        results = run_replications(scenario, seed, replications, executor=ex, event_dir=event_dir)
        jobs = ex.jobs
    summary = summarize(scenario, results, seed, __version__)
    used = "fast" if fast else "simpy"
    return Run(scenario, seed, results, summary, time.perf_counter() - start, jobs, used, event_dir)


__all__ = ["Run", "run", "run_replications"]
