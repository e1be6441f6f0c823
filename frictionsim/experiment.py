"""Replications: seeds, parallel execution, and the run façade.

Seed spawning lives here only: replication ``k`` of a run with seed ``s``
always uses ``SeedSequence(s).spawn(n)[k]``, whichever process simulates it,
so the same scenario, seed and replication count give identical results
whatever the number of worker processes (results are gathered in replication
order). Replications run on a local process pool; small runs stay serial
because starting workers would cost more than it saves.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .engine import RunResult, simulate
from .scenario import Scenario
from .stats import summarize

#: Below this many expected customers in all, replications run in this process.
SERIAL_BELOW_CUSTOMERS = 50_000

Progress = Callable[[int, int], None]


def replication_seeds(seed: int, replications: int) -> list[np.random.SeedSequence]:
    """One independent seed sequence per replication."""
    return np.random.SeedSequence(seed).spawn(replications)


def default_jobs() -> int:
    """Worker processes to use by default: every core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _simulate_one(
    args: tuple[Scenario, np.random.SeedSequence, int, Path | None],
) -> RunResult:
    scenario, seq, replication, event_dir = args
    if event_dir is None:
        return simulate(scenario, seq)
    from .eventlog import PartWriter

    writer = PartWriter(
        event_part(event_dir, replication), replication, [g.name for g in scenario.segments]
    )
    try:
        return simulate(scenario, seq, events=writer)
    finally:
        writer.close()


def event_part(event_dir: Path, replication: int) -> Path:
    """The file that holds replication ``replication``'s events while a run goes on."""
    return Path(event_dir) / f"events-{replication:06d}.tsv"


def run_replications(
    scenario: Scenario,
    seed: int,
    replications: int,
    jobs: int | None = None,
    progress: Progress | None = None,
    event_dir: Path | None = None,
) -> list[RunResult]:
    """Simulate ``replications`` independent runs; results in replication order.

    With ``event_dir``, each replication also writes its event log there
    (see :func:`event_part`).
    """
    seeds = replication_seeds(seed, replications)
    jobs = default_jobs() if jobs is None else jobs
    jobs = min(jobs, replications)
    work = [(scenario, s, k, event_dir) for k, s in enumerate(seeds)]
    results: list[RunResult | None] = [None] * replications
    if jobs <= 1 or scenario.expected_visitors * replications < SERIAL_BELOW_CUSTOMERS:
        for k, item in enumerate(work):
            results[k] = _simulate_one(item)
            if progress:
                progress(k + 1, replications)
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(_simulate_one, item): k for k, item in enumerate(work)}
            try:
                for done, future in enumerate(as_completed(futures), start=1):
                    results[futures[future]] = future.result()
                    if progress:
                        progress(done, replications)
            except BaseException:
                for f in futures:
                    f.cancel()
                raise
    return results  # type: ignore[return-value]


@dataclass
class Run:
    """A completed run: its scenario, seed, raw results and summary."""

    scenario: Scenario
    seed: int
    results: list[RunResult]
    summary: dict[str, Any]
    runtime_seconds: float
    jobs: int
    event_dir: Path | None = None


def run(
    scenario: Scenario,
    seed: int | None = None,
    replications: int | None = None,
    jobs: int | None = None,
    progress: Progress | None = None,
    event_dir: Path | None = None,
) -> Run:
    """Run ``scenario`` (its own seed and replications unless given) and summarize it."""
    seed = scenario.seed if seed is None else seed
    replications = scenario.replications if replications is None else replications
    jobs = default_jobs() if jobs is None else jobs
    start = time.perf_counter()
    results = run_replications(scenario, seed, replications, jobs, progress, event_dir)
    summary = summarize(scenario, results, seed, __version__)
    return Run(scenario, seed, results, summary, time.perf_counter() - start, jobs, event_dir)


__all__ = ["Run", "default_jobs", "replication_seeds", "run", "run_replications"]
