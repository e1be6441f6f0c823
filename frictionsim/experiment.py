"""The run and compare studies: replications of one scenario, and designs side by side.

How replications are executed (seeds, tasks, engines, pools, run sizes) is
:mod:`frictionsim.execution`; this module runs them for ``frictionsim run`` and
``frictionsim compare`` and reduces them to ``summary.json`` and ``comparison.json``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import __version__
from .engine import RunResult
from .errors import ComparisonError, SimulationError
from .execution import (  # noqa: F401 - the executors' names, as the API has always had them
    DASK_CONNECT_TIMEOUT,
    ENGINES,
    MAX_CUSTOMERS,
    MAX_ESTIMATED_SECONDS,
    SCHEDULER_ENV,
    SERIAL_BELOW_CUSTOMERS,
    THROUGHPUT_PER_CORE,
    DaskExecutor,
    Executor,
    LocalExecutor,
    Progress,
    RunEstimate,
    Task,
    check_run_size,
    check_scheduler,
    default_jobs,
    estimate_run,
    estimate_runs,
    event_part,
    make_executor,
    replication_seeds,
    run_task,
    step_attempts_per_customer,
    uses_fast_path,
)
from .formats import currency_symbol, verdict
from .frames import FrameMixin
from .metrics import flat_values, kind
from .scenario import Scenario
from .stats import describe, difference, summarize


def run_replications(
    scenario: Scenario,
    seed: int,
    replications: int,
    jobs: int | None = None,
    progress: Progress | None = None,
    engine: str = "auto",
    executor: Executor | None = None,
    event_dir: Path | None = None,
) -> list[RunResult]:
    """Simulate ``replications`` independent runs; results in replication order.

    With ``event_dir``, each replication also writes its event log there
    (see :func:`event_part`), on the SimPy engine.
    """
    seeds = replication_seeds(seed, replications)
    tasks = [Task(scenario, s, engine, k, event_dir) for k, s in enumerate(seeds)]
    if executor is not None:
        return executor.map(tasks, progress)
    with LocalExecutor(jobs) as own:
        return own.map(tasks, progress)


@dataclass
class Run(FrameMixin):
    """A completed run: its scenario, seed, raw results and summary."""

    scenario: Scenario
    seed: int
    results: list[RunResult]
    summary: dict[str, Any]
    runtime_seconds: float
    jobs: int
    engine: str = "simpy"  # the engine that ran: "fast" or "simpy"
    event_dir: Path | None = None

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
) -> Run:
    """Run ``scenario`` (its own seed and replications unless given) and summarize it.

    ``engine``: ``auto`` (fast path where exact, else SimPy), ``simpy`` or ``fast``.
    ``scheduler``: a Dask scheduler address; default ``$FRICTIONSIM_SCHEDULER``,
    else local processes.
    """
    seed = scenario.seed if seed is None else seed
    replications = scenario.replications if replications is None else replications
    jobs = default_jobs() if jobs is None else jobs
    fast = uses_fast_path(scenario, engine) and event_dir is None  # refuses a bad engine
    start = time.perf_counter()
    with make_executor(jobs, scheduler) as executor:
        if event_dir is not None and isinstance(executor, DaskExecutor):
            raise SimulationError(
                "--event-log writes files on this machine; run it without a Dask scheduler"
            )
        results = run_replications(
            scenario, seed, replications, jobs, progress, engine, executor, event_dir
        )
    summary = summarize(scenario, results, seed, __version__)
    used = "fast" if fast else "simpy"
    return Run(scenario, seed, results, summary, time.perf_counter() - start, jobs, used, event_dir)


__all__ = [
    "ENGINES",
    "DaskExecutor",
    "Executor",
    "LocalExecutor",
    "Run",
    "Task",
    "default_jobs",
    "make_executor",
    "replication_seeds",
    "run",
    "run_replications",
    "run_task",
    "uses_fast_path",
]


# ------------------------------------------------------------------ comparisons

#: What compared designs may differ in: the checkout itself, and how it is run.
#: Every other key (horizon, start, arrivals, segments, experience, word of mouth,
#: repeat visits, economics) describes the customers or how they are valued, so it
#: must be the same for the comparison to be about the design.
MAY_DIFFER = ("name", "description", "seed", "replications", "steps", "friction")
COMPARABLE = tuple(k for k in Scenario.model_fields if k not in MAY_DIFFER)


def check_comparable(designs: Sequence[Scenario]) -> None:
    """Refuse designs that do not model the same customers (or share a name)."""
    if len(designs) < 2:
        raise ComparisonError("compare needs at least two designs")
    names = [d.name for d in designs]
    for name in names:
        if names.count(name) > 1:
            raise ComparisonError(
                f"two designs are named '{name}'; give each design its own `name:`"
            )
    ref = designs[0]
    for design in designs[1:]:
        for key in COMPARABLE:
            if getattr(design, key) != getattr(ref, key):
                raise ComparisonError(
                    f"'{design.name}' and '{ref.name}' are not comparable: their `{key}` "
                    f"differ ({_describe_difference(getattr(ref, key), getattr(design, key))}"
                    f"{' min' if key == 'horizon' else ''}); "
                    "compared designs must model the same customers the same way; only "
                    "their steps and friction may differ"
                )


def _describe_difference(a: Any, b: Any, path: str = "") -> str:
    """The first place where ``a`` and ``b`` differ, e.g. ``segments[0].share: 0.6 vs 0.5``."""
    a, b = (x.model_dump() if hasattr(x, "model_dump") else x for x in (a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        for key in [*a, *(k for k in b if k not in a)]:
            if a.get(key) != b.get(key):
                return _describe_difference(a.get(key), b.get(key), f"{path}.{key}")
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return _describe_difference(x, y, f"{path}[{i}]")
    where = f"{path.lstrip('.')}: " if path else ""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return f"{where}{len(a)} vs {len(b)} entries"
    shown = [
        "absent" if x is None else f"{x:g}" if isinstance(x, float) else repr(x) for x in (a, b)
    ]
    text = f"{where}{shown[0]} vs {shown[1]}"
    return text if len(text) <= 120 else text[:119] + "…"


@dataclass
class Comparison(FrameMixin):
    """Designs run with the same seeds per replication, and their paired differences."""

    designs: list[Scenario]
    seed: int
    replications: int
    common_random_numbers: bool
    results: list[list[RunResult]]  # per design, per replication
    document: dict[str, Any]  # comparison.json
    runtime_seconds: float
    jobs: int

    def replication_values(self) -> list[dict[str, Any]]:
        """Every metric of every design and replication, by its path in ``summary.json``."""
        return [
            {"design": d.name, "replication": k, **flat_values(r, d)}
            for d, rs in zip(self.designs, self.results)
            for k, r in enumerate(rs)
        ]


def compare(
    designs: Sequence[Scenario],
    seed: int | None = None,
    replications: int | None = None,
    jobs: int | None = None,
    progress: Progress | None = None,
    engine: str = "auto",
    scheduler: str | None = None,
    common_random_numbers: bool = True,
) -> Comparison:
    """Run every design with the same seeds (those of the first design unless given) and
    describe each one's differences from the first.

    With ``common_random_numbers`` (default) replication *k* of every design
    uses the same seed, so the same customers arrive and draw the same numbers
    at the steps the designs share; differences are then paired. Without it
    each design gets its own seeds (for measuring what pairing gains).
    """
    designs = list(designs)
    check_comparable(designs)
    ref = designs[0]
    seed = ref.seed if seed is None else seed
    replications = ref.replications if replications is None else replications
    jobs = default_jobs() if jobs is None else jobs
    for design in designs:
        uses_fast_path(design, engine)
    start = time.perf_counter()
    tasks = []
    for k, design in enumerate(designs):
        base = seed if common_random_numbers or k == 0 else [seed, k]
        seeds = replication_seeds(base, replications)
        tasks += [Task(design, s, engine) for s in seeds]
    with make_executor(jobs, scheduler) as executor:
        flat = executor.map(tasks, progress)
    results = [flat[k * replications : (k + 1) * replications] for k in range(len(designs))]
    document = comparison_document(designs, results, seed, common_random_numbers)
    return Comparison(
        designs,
        seed,
        replications,
        common_random_numbers,
        results,
        document,
        time.perf_counter() - start,
        jobs,
    )


def comparison_document(
    designs: Sequence[Scenario],
    results: Sequence[Sequence[RunResult]],
    seed: int,
    common_random_numbers: bool = True,
) -> dict[str, Any]:
    """The ``comparison.json`` document: each design's metrics (every metric of
    ``summary.json`` by its path), their differences from the first design and a verdict.

    A step (or segment) that only one of two designs has loses nobody and takes nothing
    in the other: its counts and money count as 0 there, so removing a step shows as
    the losses it no longer causes. Its rates and waits have no difference.
    """
    per_design = [[flat_values(r, d) for r in rs] for d, rs in zip(designs, results)]
    ref = designs[0]
    order = list(dict.fromkeys(p for rows in per_design for p in rows[0]))
    metrics = {
        d.name: {p: describe([row[p] for row in rows], metric=p) for p in rows[0]}
        for d, rows in zip(designs, per_design)
    }
    differences, verdicts = {}, {}
    for d, rows in zip(designs[1:], per_design[1:]):
        diffs = {}
        for path in order:
            in_both = path in rows[0] and path in per_design[0][0]
            if not in_both and kind(path) not in ("count", "money", "signed_money"):
                continue
            diffs[path] = difference(
                [row.get(path, 0.0) for row in per_design[0]],
                [row.get(path, 0.0) for row in rows],
                paired=common_random_numbers,
                metric=path,
            )
        differences[d.name] = diffs
        verdicts[d.name] = verdict(
            d.name, ref.name, diffs, ref.horizon, currency_symbol(ref.economics.currency)
        )
    return {
        "reference": ref.name,
        "designs": [d.name for d in designs],
        "seed": seed,
        "replications": len(results[0]),
        "common_random_numbers": common_random_numbers,
        "frictionsim_version": __version__,
        "horizon_minutes": ref.horizon,
        "metrics": metrics,
        "differences": differences,
        "verdicts": verdicts,
    }


__all__ += ["COMPARABLE", "Comparison", "check_comparable", "compare", "comparison_document"]

__all__ += ["RunEstimate", "check_run_size", "estimate_run", "estimate_runs"]
