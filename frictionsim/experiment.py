"""Replications: seeds, parallel execution, and the run façade.

Seed spawning lives here only: replication ``k`` of a run with seed ``s``
always uses ``SeedSequence(s).spawn(n)[k]``, whichever process simulates it,
so the same scenario, seed and replication count give identical results
whatever the number of worker processes (results are gathered in replication
order). Every command runs its replications as :class:`Task` s through one
:class:`Executor`: a local process pool (small batches stay serial, because
starting workers would cost more than it saves) or an existing Dask cluster.
Each task picks its engine: the vectorized fast path (:mod:`frictionsim.fastpath`)
where it reproduces the SimPy engine exactly, the SimPy engine otherwise.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__, fastpath
from .engine import RunResult, simulate
from .errors import ComparisonError, OptionError, RunTooLargeError, SimulationError
from .formats import currency_symbol, verdict
from .frames import FrameMixin
from .metrics import flat_values, kind
from .scenario import Scenario
from .stats import (
    describe,
    difference,
    summarize,
)

#: Below this many expected customers in all, work runs in this process.
SERIAL_BELOW_CUSTOMERS = 50_000
#: How many times cheaper a fast-path customer is than a SimPy one (for that rule).
FAST_PATH_SPEEDUP = 10
#: Engines a caller may ask for: ``auto`` takes the fast path where it gives the
#: SimPy engine's exact results, ``simpy`` always uses SimPy, ``fast`` insists.
ENGINES = ("auto", "simpy", "fast")
#: Environment variable naming a Dask scheduler (``tcp://host:port``).
SCHEDULER_ENV = "FRICTIONSIM_SCHEDULER"
#: Seconds to wait for a Dask scheduler before giving up.
DASK_CONNECT_TIMEOUT = 10.0

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


def replication_seeds(seed: int | Sequence[int], replications: int) -> list[np.random.SeedSequence]:
    """One independent seed sequence per replication."""
    return np.random.SeedSequence(seed).spawn(replications)


def default_jobs() -> int:
    """Worker processes to use by default: every core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def uses_fast_path(scenario: Scenario, engine: str = "auto") -> bool:
    """Whether ``engine`` runs ``scenario`` on the vectorized fast path.

    Raises :class:`SimulationError` for an unknown engine, or for ``fast`` on
    a scenario the fast path cannot reproduce exactly.
    """
    if engine not in ENGINES:
        raise SimulationError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if engine == "simpy":
        return False
    reason = fastpath.unsupported_reason(scenario)
    if engine == "fast" and reason:
        raise SimulationError(f"--engine fast cannot run '{scenario.name}': {reason}")
    return reason is None


@dataclass(frozen=True)
class Task:
    """One replication of one scenario: the unit of work every executor runs."""

    scenario: Scenario
    seq: np.random.SeedSequence
    engine: str = "auto"
    replication: int = 0
    event_dir: Path | None = None  # write the event log here (SimPy engine only)
    fast: bool = field(init=False)  # decided once, when the task is made

    def __post_init__(self) -> None:
        fast = self.event_dir is None and uses_fast_path(self.scenario, self.engine)
        object.__setattr__(self, "fast", fast)

    @property
    def cost(self) -> float:
        """Expected work, in SimPy customers."""
        return self.scenario.expected_visitors / (FAST_PATH_SPEEDUP if self.fast else 1)


def run_task(task: Task) -> RunResult:
    """Simulate one replication with the engine the task asks for."""
    if task.event_dir is not None:
        from .eventlog import PartWriter

        names = [g.name for g in task.scenario.segments]
        writer = PartWriter(event_part(task.event_dir, task.replication), task.replication, names)
        try:
            return simulate(task.scenario, task.seq, events=writer)
        finally:
            writer.close()
    if task.fast:
        return fastpath.simulate(task.scenario, task.seq)
    return simulate(task.scenario, task.seq)


OnResult = Callable[[int, RunResult], None]


class Executor:
    """Runs tasks and returns their results in task order, whatever order they finish in.

    ``progress(done, total)`` is called as tasks finish; ``on_result(i, result)``
    too, in this process, so a caller can record finished work as it goes.
    """

    def map(
        self,
        tasks: Sequence[Task],
        progress: Progress | None = None,
        on_result: OnResult | None = None,
    ) -> list[RunResult]:
        raise NotImplementedError


def _serial(tasks: Sequence[Task], progress: Progress | None, on_result: OnResult | None):
    results = []
    for k, task in enumerate(tasks):
        result = run_task(task)
        results.append(result)
        if on_result:
            on_result(k, result)
        if progress:
            progress(k + 1, len(tasks))
    return results


#: ``prctl`` option: the signal a process gets when its parent dies (Linux).
PR_SET_PDEATHSIG = 1
#: Seconds between a worker's checks that its parent lives (where prctl is missing).
PARENT_CHECK_SECONDS = 0.5


def _parent_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def _die_with_parent(parent: int) -> None:
    """Worker initializer: the worker ends when ``parent`` (the frictionsim process that
    started the pool) ends, even killed outright (SIGKILL), instead of computing on and
    then waiting for work forever. On Linux the kernel kills it (``PR_SET_PDEATHSIG``);
    elsewhere a thread checks that the parent lives twice a second."""
    armed = False
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
        except (OSError, AttributeError):
            armed = False
    if not _parent_alive(parent):  # it died before the signal was armed
        os._exit(1)
    if not armed:

        def watch() -> None:
            while _parent_alive(parent):
                time.sleep(PARENT_CHECK_SECONDS)
            os._exit(1)

        threading.Thread(target=watch, name="frictionsim-parent-watch", daemon=True).start()


class LocalExecutor(Executor):
    """A pool of local worker processes; small batches of work stay in this process.
    Workers die with this process (:func:`_die_with_parent`)."""

    def __init__(self, jobs: int | None = None) -> None:
        self.jobs = default_jobs() if jobs is None else jobs

    def map(self, tasks, progress=None, on_result=None):
        jobs = min(self.jobs, len(tasks))
        if jobs <= 1 or sum(t.cost for t in tasks) < SERIAL_BELOW_CUSTOMERS:
            return _serial(tasks, progress, on_result)
        results: list[RunResult | None] = [None] * len(tasks)
        with ProcessPoolExecutor(
            max_workers=jobs, initializer=_die_with_parent, initargs=(os.getpid(),)
        ) as pool:
            futures = {pool.submit(run_task, task): k for k, task in enumerate(tasks)}
            try:
                for done, future in enumerate(as_completed(futures), start=1):
                    k = futures[future]
                    results[k] = future.result()
                    if on_result:
                        on_result(k, results[k])
                    if progress:
                        progress(done, len(tasks))
            except BaseException:
                # Interrupted (Ctrl-C, SIGTERM) or failed: stop at once rather than
                # wait for the replications in flight; workers hold no files.
                # (shutdown forgets the worker processes, so they are killed first)
                for process in list((getattr(pool, "_processes", None) or {}).values()):
                    process.kill()
                pool.shutdown(wait=False, cancel_futures=True)
                raise
        return results  # type: ignore[return-value]


class DaskExecutor(Executor):
    """The same tasks on an existing Dask distributed cluster (``tcp://host:port``).

    Needs the optional extra ``frictionsim[dask]``. Every task carries its own
    seed sequence, so results are identical to a local run.
    """

    def __init__(self, address: str, timeout: float | None = None) -> None:
        self.address = check_scheduler(address)
        self.timeout = DASK_CONNECT_TIMEOUT if timeout is None else timeout

    def map(self, tasks, progress=None, on_result=None):
        try:
            from distributed import Client
            from distributed import as_completed as dask_completed
        except ImportError:
            raise SimulationError(
                "--scheduler needs Dask: pip install 'frictionsim[dask]'"
            ) from None
        try:
            client = Client(self.address, timeout=self.timeout, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise SimulationError(
                f"cannot reach the Dask scheduler at {self.address}: {exc}"
            ) from None
        results: list[RunResult | None] = [None] * len(tasks)
        try:
            with client.as_current():
                futures = client.map(run_task, list(tasks), pure=False)
                index = {f.key: k for k, f in enumerate(futures)}
                for done, future in enumerate(dask_completed(futures), start=1):
                    k = index[future.key]
                    results[k] = future.result()
                    if on_result:
                        on_result(k, results[k])
                    if progress:
                        progress(done, len(tasks))
        finally:
            client.close()
        return results  # type: ignore[return-value]


#: Address schemes of Dask's network protocols; anything else is refused before connecting.
SCHEDULER_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx")
_SCHEDULER_ADDRESS = re.compile(
    r"^(?:(?P<scheme>[a-z]+)://)?(?P<host>[^\s/:]+|\[[0-9a-fA-F:.]+\]):(?P<port>[0-9]{1,5})$"
)


def check_scheduler(address: str) -> str:
    """``address`` if it reads as a Dask scheduler address (``tcp://HOST:PORT``), else an
    :class:`OptionError` naming what is wrong."""
    shown = address if len(address) <= 60 else address[:59] + "…"
    match = _SCHEDULER_ADDRESS.match(address.strip())
    scheme = match and (match["scheme"] or "tcp")
    if not match or scheme not in SCHEDULER_SCHEMES or not 0 < int(match["port"]) < 65536:
        raise OptionError(
            f"--scheduler {shown!r}: expected a Dask scheduler address like tcp://HOST:PORT "
            f"(schemes: {', '.join(SCHEDULER_SCHEMES)})"
        )
    return address.strip()


def make_executor(jobs: int | None = None, scheduler: str | None = None) -> Executor:
    """A Dask executor when a scheduler is given (or in ``$FRICTIONSIM_SCHEDULER``),
    else a local process pool of ``jobs`` workers."""
    scheduler = scheduler or os.environ.get(SCHEDULER_ENV) or None
    if scheduler:
        return DaskExecutor(scheduler)
    return LocalExecutor(jobs)


def event_part(event_dir: Path, replication: int) -> Path:
    """The file that holds replication ``replication``'s events while a run goes on."""
    return Path(event_dir) / f"events-{replication:06d}.tsv"


@dataclass(frozen=True)
class RunEstimate:
    """Expected size of a run, known before it starts."""

    customers: float  # expected visitors per replication x replications
    replications: int
    workers: int  # processes that will simulate
    seconds: float  # customers x slowdown / (THROUGHPUT_PER_CORE x workers)
    step_attempts: float = 1.0  # per customer at most (loops and retries included)
    what: str = "replications"  # what `replications` counts: replications, runs, ...
    study: str = "run"  # named in the refusal: "run", "sweep", "calibration", ...
    advice: str = "shorten the horizon or use fewer replications"

    @property
    def too_large(self) -> bool:
        return not (self.customers <= MAX_CUSTOMERS and self.seconds <= MAX_ESTIMATED_SECONDS)

    def describe(self) -> str:
        return (
            f"about {_count_text(self.customers)} customers "
            f"({_count_text(self.replications)} {self.what}"
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
    return estimate_runs([(scenario, replications)], jobs)


def estimate_runs(
    runs: Sequence[tuple[Scenario, int]],
    jobs: int | None = None,
    what: str = "replications",
    study: str = "run",
    advice: str = "shorten the horizon or use fewer replications",
) -> RunEstimate:
    """The size of a study that runs each ``(scenario, replications)`` pair once: the
    customers of all of them and the time they take on ``jobs`` workers."""
    replications = sum(n for _, n in runs)
    customers = 0.0
    work = 0.0  # customers weighted by their step attempts
    attempts = 0.0
    seen: dict[int, float] = {}
    for scenario, n in runs:
        if id(scenario) not in seen:
            seen[id(scenario)] = step_attempts_per_customer(scenario)
        attempts = max(attempts, seen[id(scenario)])
        customers += scenario.expected_visitors * n
        work += (
            scenario.expected_visitors * n * max(1.0, seen[id(scenario)] / REFERENCE_STEP_ATTEMPTS)
        )
    workers = min(default_jobs() if jobs is None else jobs, replications)
    if customers < SERIAL_BELOW_CUSTOMERS:
        workers = 1
    seconds = work / (THROUGHPUT_PER_CORE * max(workers, 1))
    return RunEstimate(
        customers, replications, max(workers, 1), seconds, attempts, what, study, advice
    )


def step_attempts_per_customer(scenario: Scenario) -> float:
    """Expected step attempts of a customer who never abandons (an upper bound).

    Visits follow the flow as a Markov chain: ``v = e_first + Q^T v`` with
    ``Q[i, j]`` the chance of going from step ``i`` to step ``j``; each visit
    makes ``(1 - p^m) / (1 - p)`` attempts for error chance ``p`` and at most
    ``m`` attempts. A loop that customers rarely leave makes this large.
    """
    visits = scenario.flow.expected_visits()
    attempts = 0.0
    for step, v in zip(scenario.steps, visits):
        p, m = (step.errors.p, step.errors.max_attempts) if step.errors else (0.0, 1)
        attempts += v * (m if p >= 1 else (1 - p**m) / (1 - p))
    return attempts if np.isfinite(attempts) and attempts >= 0 else float("inf")


def check_run_size(estimate: RunEstimate) -> None:
    """Refuse a run beyond :data:`MAX_CUSTOMERS` or :data:`MAX_ESTIMATED_SECONDS`."""
    if estimate.too_large:
        raise RunTooLargeError(
            f"this {estimate.study} would simulate {estimate.describe()}, beyond the limits "
            f"of {_count_text(MAX_CUSTOMERS)} customers and {MAX_ESTIMATED_SECONDS // 60} min; "
            f"{estimate.advice}, or add --force to run it anyway"
        )


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
    executor = executor or LocalExecutor(jobs)
    seeds = replication_seeds(seed, replications)
    tasks = [Task(scenario, s, engine, k, event_dir) for k, s in enumerate(seeds)]
    return executor.map(tasks, progress)


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
    executor = make_executor(jobs, scheduler)
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

#: What two designs must share to be compared: the same customers arriving the
#: same way over the same time. Everything else (the steps) is the design.
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
    flat = make_executor(jobs, scheduler).map(tasks, progress)
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
