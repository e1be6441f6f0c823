"""How replications are executed: seeds, tasks, engines, worker pools, and run sizes.

Seed spawning lives here only: replication ``k`` of a run with seed ``s``
always uses ``SeedSequence(s).spawn(n)[k]``, whichever process simulates it,
so the same scenario, seed and replication count give identical results
whatever the number of worker processes (results are gathered in replication
order). Every study runs its replications as :class:`Task` s through one
:class:`Executor`, made once per command and reused for every batch it maps
(one process pool for all the evaluations of a calibration or an
optimisation): a local process pool (small batches stay serial, because
starting workers would cost more than it saves) or an existing Dask cluster.
Each task decides its engine once, when it is made: the vectorized fast path
(:mod:`frictionsim.fastpath`) where it reproduces the SimPy engine exactly,
the SimPy engine otherwise. Before any work a study's size is estimated
(:func:`estimate_runs`) and refused beyond the limits unless forced.
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

from . import fastpath
from .engine import RunResult, simulate
from .errors import OptionError, RunTooLargeError, SimulationError
from .scenario import Scenario

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

    def close(self) -> None:
        """Release the workers (or the cluster connection); the executor may map again."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
    """A pool of local worker processes, started by the first batch that needs it and
    reused by every later one until :meth:`close`; small batches of work stay in this
    process. Workers die with this process (:func:`_die_with_parent`)."""

    def __init__(self, jobs: int | None = None) -> None:
        self.jobs = default_jobs() if jobs is None else jobs
        self._pool: ProcessPoolExecutor | None = None
        self.pools_started = 0  # how many pools this executor has started (one, if any)

    def _workers(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.jobs, initializer=_die_with_parent, initargs=(os.getpid(),)
            )
            self.pools_started += 1
        return self._pool

    def map(self, tasks, progress=None, on_result=None):
        if min(self.jobs, len(tasks)) <= 1 or sum(t.cost for t in tasks) < SERIAL_BELOW_CUSTOMERS:
            return _serial(tasks, progress, on_result)
        results: list[RunResult | None] = [None] * len(tasks)
        pool = self._workers()
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
            # Interrupted (Ctrl-C, SIGTERM) or failed: stop at once rather than wait for
            # the replications in flight; workers hold no files.
            self._kill()
            raise
        return results  # type: ignore[return-value]

    def _kill(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        # shutdown forgets the worker processes, so they are killed first
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.kill()
        pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)


class DaskExecutor(Executor):
    """The same tasks on an existing Dask distributed cluster (``tcp://host:port``).

    Needs the optional extra ``frictionsim[dask]``. Every task carries its own
    seed sequence, so results are identical to a local run.
    """

    def __init__(self, address: str, timeout: float | None = None) -> None:
        self.address = check_scheduler(address)
        self.timeout = DASK_CONNECT_TIMEOUT if timeout is None else timeout
        self._client: Any = None

    def _connect(self) -> Any:
        if self._client is not None:
            return self._client
        try:
            from distributed import Client
        except ImportError:
            raise SimulationError(
                "--scheduler needs Dask: pip install 'frictionsim[dask]'"
            ) from None
        try:
            self._client = Client(self.address, timeout=self.timeout, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise SimulationError(
                f"cannot reach the Dask scheduler at {self.address}: {exc}"
            ) from None
        return self._client

    def map(self, tasks, progress=None, on_result=None):
        client = self._connect()
        from distributed import as_completed as dask_completed

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
        except BaseException:
            self.close()
            raise
        return results  # type: ignore[return-value]

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()


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


__all__ = [
    "DASK_CONNECT_TIMEOUT",
    "ENGINES",
    "MAX_CUSTOMERS",
    "MAX_ESTIMATED_SECONDS",
    "SCHEDULER_ENV",
    "SERIAL_BELOW_CUSTOMERS",
    "THROUGHPUT_PER_CORE",
    "DaskExecutor",
    "Executor",
    "LocalExecutor",
    "Progress",
    "RunEstimate",
    "Task",
    "check_run_size",
    "check_scheduler",
    "default_jobs",
    "estimate_run",
    "estimate_runs",
    "event_part",
    "make_executor",
    "replication_seeds",
    "run_task",
    "step_attempts_per_customer",
    "uses_fast_path",
]
