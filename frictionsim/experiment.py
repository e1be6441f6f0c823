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
from typing import Any

import numpy as np

from . import __version__
from .engine import RunResult, simulate
from .errors import RunTooLargeError
from .scenario import Scenario
from .stats import summarize

#: Below this many expected customers in all, replications run in this process.
SERIAL_BELOW_CUSTOMERS = 50_000

#: Customers one core simulates per second, for run-time estimates. Measured
#: with ``benchmarks/bench_engine.py`` on the project's 2-core machines: 75-86k/s
#: for the 7-step checkout, about 160k/s for a single queueing step. 50k leaves
#: room for longer checkouts and busy machines, so estimates err on the long side.
THROUGHPUT_PER_CORE = 50_000
#: Step attempts per customer in the benchmark checkout that throughput is measured on
#: (7 steps, at most; abandonment only shortens a walk). Scenarios whose customers make
#: more (loops, retries) are estimated proportionally slower.
REFERENCE_STEP_ATTEMPTS = 7.0
#: Runs estimated beyond either limit are refused unless forced (``--force``).
MAX_ESTIMATED_SECONDS = 30 * 60
MAX_CUSTOMERS = 2e8

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


@dataclass(frozen=True)
class RunEstimate:
    """Expected size of a run, known before it starts."""

    customers: float  # expected visitors per replication x replications
    replications: int
    workers: int  # processes that will simulate
    seconds: float  # customers x slowdown / (THROUGHPUT_PER_CORE x workers)
    step_attempts: float = 1.0  # per customer at most (loops and retries included)

    @property
    def too_large(self) -> bool:
        return not (self.customers <= MAX_CUSTOMERS and self.seconds <= MAX_ESTIMATED_SECONDS)

    def describe(self) -> str:
        return (
            f"about {_count_text(self.customers)} customers ({self.replications} replications"
            + (
                f", {self.step_attempts:,.0f} step attempts each"
                if self.step_attempts > 2 * REFERENCE_STEP_ATTEMPTS
                else ""
            )
            + ") "
            f"and {_duration_text(self.seconds)} on {self.workers} "
            f"worker{'s' if self.workers > 1 else ''}"
        )


def _count_text(count: float) -> str:
    return f"{count:,.0f}" if count < 1e12 else f"{count:.2g}"


def _duration_text(seconds: float) -> str:
    if not seconds < 1e9:
        return "longer than 30 years"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.0f} days"


def estimate_run(
    scenario: Scenario, replications: int | None = None, jobs: int | None = None
) -> RunEstimate:
    """How many customers a run will simulate and roughly how long it will take."""
    replications = scenario.replications if replications is None else replications
    customers = scenario.expected_visitors * replications
    workers = min(default_jobs() if jobs is None else jobs, replications)
    if customers < SERIAL_BELOW_CUSTOMERS:
        workers = 1
    attempts = step_attempts_per_customer(scenario)
    slowdown = max(1.0, attempts / REFERENCE_STEP_ATTEMPTS)
    seconds = customers * slowdown / (THROUGHPUT_PER_CORE * max(workers, 1))
    return RunEstimate(customers, replications, max(workers, 1), seconds, attempts)


def step_attempts_per_customer(scenario: Scenario) -> float:
    """Expected step attempts of a customer who never abandons (an upper bound).

    Visits follow the flow as a Markov chain: ``v = e_first + Q^T v`` with
    ``Q[i, j]`` the chance of going from step ``i`` to step ``j``; each visit
    makes ``(1 - p^m) / (1 - p)`` attempts for error chance ``p`` and at most
    ``m`` attempts. A loop that customers rarely leave makes this large.
    """
    n = len(scenario.steps)
    q = np.zeros((n, n))
    for i in range(n):
        for j, p in scenario.successors(i):
            if j >= 0:
                q[i, j] += p
    first = np.zeros(n)
    first[0] = 1.0
    try:
        visits = np.linalg.solve(np.eye(n) - q.T, first)
    except np.linalg.LinAlgError:
        return float("inf")
    attempts = 0.0
    for step, v in zip(scenario.steps, visits):
        p, m = (step.errors.p, step.errors.max_attempts) if step.errors else (0.0, 1)
        attempts += v * (m if p >= 1 else (1 - p**m) / (1 - p))
    return attempts if np.isfinite(attempts) and attempts >= 0 else float("inf")


def check_run_size(estimate: RunEstimate) -> None:
    """Refuse a run beyond :data:`MAX_CUSTOMERS` or :data:`MAX_ESTIMATED_SECONDS`."""
    if estimate.too_large:
        raise RunTooLargeError(
            f"this run would simulate {estimate.describe()}, beyond the limits of "
            f"{_count_text(MAX_CUSTOMERS)} customers and {MAX_ESTIMATED_SECONDS // 60} min; "
            "shorten the horizon or use fewer replications, or add --force to run it anyway"
        )


def _simulate_one(args: tuple[Scenario, np.random.SeedSequence]) -> RunResult:
    scenario, seq = args
    return simulate(scenario, seq)


def run_replications(
    scenario: Scenario,
    seed: int,
    replications: int,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> list[RunResult]:
    """Simulate ``replications`` independent runs; results in replication order."""
    seeds = replication_seeds(seed, replications)
    jobs = default_jobs() if jobs is None else jobs
    jobs = min(jobs, replications)
    work = [(scenario, s) for s in seeds]
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
                # Interrupted (Ctrl-C, SIGTERM) or failed: stop at once rather than
                # wait for the replications in flight; workers hold no files.
                # (shutdown forgets the worker processes, so they are killed first)
                for process in list((getattr(pool, "_processes", None) or {}).values()):
                    process.kill()
                pool.shutdown(wait=False, cancel_futures=True)
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


def run(
    scenario: Scenario,
    seed: int | None = None,
    replications: int | None = None,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> Run:
    """Run ``scenario`` (its own seed and replications unless given) and summarize it."""
    seed = scenario.seed if seed is None else seed
    replications = scenario.replications if replications is None else replications
    jobs = default_jobs() if jobs is None else jobs
    start = time.perf_counter()
    results = run_replications(scenario, seed, replications, jobs, progress)
    summary = summarize(scenario, results, seed, __version__)
    return Run(scenario, seed, results, summary, time.perf_counter() - start, jobs)


__all__ = [
    "Run",
    "RunEstimate",
    "check_run_size",
    "default_jobs",
    "estimate_run",
    "replication_seeds",
    "run",
    "run_replications",
]
