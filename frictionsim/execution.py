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
(:mod:`frictionsim.sim.fastpath`) where it reproduces the SimPy engine exactly,
the SimPy engine otherwise. Before any work a study's size is estimated
(:func:`estimate_runs`) and refused beyond the limits unless forced.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import CancelledError, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import OptionError, RunTooLargeError, SimulationError
from .scenario import Scenario
from .sim import fastpath
from .sim.result import RunResult
from .sim.simpy_engine import simulate

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


def uses_fast_path(scenario: Scenario, engine: str = "auto", where: str = "") -> bool:
    """Whether ``engine`` runs ``scenario`` on the vectorized fast path.

    Raises :class:`SimulationError` for an unknown engine, or for ``fast`` on
    a scenario the fast path cannot reproduce exactly (``where`` names it within a
    study, such as a sweep's point: ``steps.pay.duration=0``).
    """
    if engine not in ENGINES:
        raise SimulationError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if engine == "simpy":
        return False
    reason = fastpath.unsupported_reason(scenario)
    if engine == "fast" and reason:
        at = f" at {where}" if where else ""
        raise SimulationError(f"--engine fast cannot run '{scenario.name}'{at}: {reason}")
    return reason is None


@dataclass(frozen=True)
class Task:
    """One replication of one scenario: the unit of work every executor runs."""

    scenario: Scenario
    seq: np.random.SeedSequence
    engine: str = "auto"
    replication: int = 0
    event_dir: Path | None = None  # write the event log here (SimPy engine only)
    #: The fast path or not: given by an :class:`Execution`, which decides it once per
    #: scenario, or else decided when the task is made.
    fast: bool | None = None

    def __post_init__(self) -> None:
        if self.event_dir is not None:  # an event log comes from the SimPy engine
            object.__setattr__(self, "fast", False)
        elif self.fast is None:
            object.__setattr__(self, "fast", uses_fast_path(self.scenario, self.engine))

    @property
    def cost(self) -> float:
        """Expected work, in SimPy customers."""
        return self.scenario.expected_arrivals / (FAST_PATH_SPEEDUP if self.fast else 1)


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

    def abort(self) -> None:
        """Stop at once, what is in flight unfinished (an error or an interrupt ends the
        work); the executor may map again."""
        self.close()

    def call_each(self, function: Callable[..., Any], calls: Sequence[tuple]) -> list[Any]:
        """``function(*args)`` for each ``args`` of ``calls``, results in that order: in
        this process, unless the executor has local workers to share them out."""
        return [function(*args) for args in calls]

    def warm(self, function: Callable[[], Any]) -> None:
        """Let each local worker (started now if need be) run ``function`` before any
        later work, so what it loads is ready by then; nothing without local workers."""

    def hold(self, prepare: Callable[[], Any], finish: Callable[..., Any]) -> bool:
        """Have one local worker run ``prepare()`` now and then wait, ready, for the
        arguments of ``finish`` (:meth:`deliver`); false (nothing held) without local
        workers or while another call is held."""
        return False

    def deliver(self, *args: Any) -> Any:
        """``finish(*args)`` of the held call, run by the worker that prepared it."""
        raise RuntimeError("no call is held")

    @property
    def holding(self) -> bool:
        """Whether a worker holds a call that :meth:`deliver` can finish."""
        return False

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, kind: object, *exc: object) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()


def _gather(
    finished: Iterable[tuple[int, Callable[[], RunResult]]],
    n: int,
    progress: Progress | None,
    on_result: OnResult | None,
) -> list[RunResult]:
    """The results of ``n`` tasks in task order, from ``(index, result getter)`` pairs in
    the order the tasks finish, reporting each one as it comes."""
    results: list[RunResult | None] = [None] * n
    for done, (k, result) in enumerate(finished, start=1):
        results[k] = result()
        if on_result:
            on_result(k, results[k])
        if progress:
            progress(done, n)
    return results  # type: ignore[return-value]


def _serial(tasks: Sequence[Task], progress: Progress | None, on_result: OnResult | None):
    finished = ((k, lambda task=task: run_task(task)) for k, task in enumerate(tasks))
    return _gather(finished, len(tasks), progress, on_result)


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


#: In a worker: the queue a held call (:meth:`LocalExecutor.hold`) waits on.
_MAILBOX: Any = None


def _start_worker(parent: int, pids: Any, mailbox: Any = None) -> None:
    """Worker initializer: say this worker's process id (``pids``, a queue the pool's
    owner reads when it must stop the workers at once), keep the ``mailbox`` of held
    calls, and end with ``parent``. A Ctrl-C is the pool owner's to handle (it stops the
    workers), and a SIGTERM ends a worker without the owner's handler it inherited: either
    way the user sees one line, not a traceback per worker."""
    global _MAILBOX
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _MAILBOX = mailbox
    pids.put(os.getpid())
    _die_with_parent(parent)


def _held(prepare: Callable[[], Any], finish: Callable[..., Any]) -> Any:
    """A held call, in a worker: ``prepare()``, then ``finish`` of the arguments that
    come through the mailbox (``None``: released, nothing to finish)."""
    prepare()
    args = _MAILBOX.get()
    return None if args is None else finish(*args)


class LocalExecutor(Executor):
    """A pool of local worker processes, started by the first batch that needs it and
    reused by every later one until :meth:`close`; small batches of work stay in this
    process. Workers die with this process (:func:`_die_with_parent`)."""

    def __init__(self, jobs: int | None = None) -> None:
        self.jobs = default_jobs() if jobs is None else jobs
        self._pool: ProcessPoolExecutor | None = None
        self._held: Any = None  # the future of the held call, if any
        self.pools_started = 0  # how many pools this executor has started (one, if any)

    def _workers(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pids = multiprocessing.SimpleQueue()  # each worker says who it is
            self._mailbox = multiprocessing.SimpleQueue()  # the arguments of a held call
            self._pool = ProcessPoolExecutor(
                max_workers=self.jobs,
                initializer=_start_worker,
                initargs=(os.getpid(), self._pids, self._mailbox),
            )
            self.pools_started += 1
        return self._pool

    def map(self, tasks, progress=None, on_result=None):
        if min(self.jobs, len(tasks)) <= 1 or sum(t.cost for t in tasks) < SERIAL_BELOW_CUSTOMERS:
            return _serial(tasks, progress, on_result)
        self._release(rewarm=True)  # every worker simulates, each prepared for later work
        pool = self._workers()
        futures = {pool.submit(run_task, task): k for k, task in enumerate(tasks)}
        finished = ((futures[f], f.result) for f in as_completed(futures))
        try:
            return _gather(finished, len(tasks), progress, on_result)
        except BaseException:
            # Interrupted (Ctrl-C, SIGTERM) or failed: stop at once rather than wait for
            # the replications in flight; workers hold no files.
            self._kill()
            raise

    def call_each(self, function: Callable[..., Any], calls: Sequence[tuple]) -> list[Any]:
        if min(self.jobs, len(calls)) <= 1:
            return [function(*args) for args in calls]
        pool = self._workers()
        futures = [pool.submit(function, *args) for args in calls]
        try:
            return [f.result() for f in futures]
        except BaseException:
            self._kill()
            raise

    def warm(self, function: Callable[[], Any]) -> None:
        if self.jobs >= 2:
            pool = self._workers()
            for _ in range(self.jobs):
                pool.submit(function)

    def hold(self, prepare: Callable[[], Any], finish: Callable[..., Any]) -> bool:
        if self.jobs < 2 or self._held is not None:
            return False
        self._held = self._workers().submit(_held, prepare, finish)
        self._prepare = prepare
        return True

    @property
    def holding(self) -> bool:
        return self._held is not None

    def deliver(self, *args: Any) -> Any:
        held, self._held = self._held, None
        if held is None:
            raise RuntimeError("no call is held")
        self._mailbox.put(args)
        try:
            return held.result()
        except BaseException:
            self._kill()
            raise

    def _release(self, rewarm: bool = False) -> None:
        """Let the held call go unfinished, and wait for its worker to be free (so
        that no later held call reads what was meant for this one); with ``rewarm``,
        every worker then prepares as the held one did (:meth:`warm`)."""
        held, self._held = self._held, None
        if held is not None:
            self._mailbox.put(None)
            with contextlib.suppress(CancelledError):
                held.exception()  # waits; what went wrong there (a Ctrl-C it got too) is moot
            if rewarm:
                self.warm(self._prepare)

    def _kill(self) -> None:
        self._held = None
        pool, self._pool = self._pool, None
        if pool is None:
            return
        # shutdown(wait=False) would let the workers finish what they hold, so they are
        # killed first, by the process ids they gave when they started
        while not self._pids.empty():
            with contextlib.suppress(OSError):
                os.kill(self._pids.get(), signal.SIGKILL)
        pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        self._release()
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def abort(self) -> None:
        self._kill()


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

        try:
            with client.as_current():
                futures = client.map(run_task, list(tasks), pure=False)
                index = {f.key: k for k, f in enumerate(futures)}
                finished = ((index[f.key], f.result) for f in dask_completed(futures))
                return _gather(finished, len(tasks), progress, on_result)
        except BaseException:
            self.close()
            raise

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


class Execution:
    """How a study's work runs, made once per command: ``jobs`` worker processes (or the
    Dask cluster at ``scheduler``), the ``engine`` choice, ``progress`` and ``force``.

    A study first says what it will run (:meth:`plan`): the engine is decided there,
    once per scenario, the size is estimated and refused beyond the limits unless
    ``force``, and the progress total is set, all before any work. Then it maps batches
    of tasks (:meth:`map`) through one executor, started by the first batch that needs
    workers and reused by every later one until the execution closes; progress counts
    across batches. Use it as a context manager (or call :meth:`close`).
    """

    def __init__(
        self,
        jobs: int | None = None,
        engine: str = "auto",
        scheduler: str | None = None,
        progress: Progress | None = None,
        force: bool = False,
    ) -> None:
        if engine not in ENGINES:
            raise SimulationError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
        self.jobs = default_jobs() if jobs is None else jobs
        self.engine = engine
        self.scheduler = scheduler
        self.progress = progress
        self.force = force
        self.total = 0  # progress units the study planned
        self.done = 0  # progress units finished
        self._executor: Executor | None = None
        self._fast: dict[int, tuple[Scenario, bool]] = {}

    def call_each(self, function: Callable[..., Any], calls: Sequence[tuple]) -> list[Any]:
        """``function(*args)`` for each of ``calls`` (picklable), shared out among this
        execution's local workers if it has any, else here; results in order."""
        if isinstance(self.executor, LocalExecutor):
            return self.executor.call_each(function, calls)
        return [function(*args) for args in calls]

    def warm(self, function: Callable[[], Any]) -> None:
        """Have the local workers (if any) run ``function`` now, while this process
        works on: e.g. import what later calls will need."""
        if isinstance(self.executor, LocalExecutor):
            self.executor.warm(function)

    def hold(self, prepare: Callable[[], Any], finish: Callable[..., Any]) -> bool:
        """Have a local worker (if any) run ``prepare()`` now, while this process works
        on, and then wait for :meth:`deliver` to run ``finish`` (e.g. load matplotlib,
        then draw the report). True if a worker holds it; a study whose replications
        then need every worker releases it first, unfinished."""
        if isinstance(self.executor, LocalExecutor):
            return self.executor.hold(prepare, finish)
        return False

    def deliver(self, *args: Any) -> Any:
        """``finish(*args)`` of the call :meth:`hold` gave a worker, in that worker."""
        return self.executor.deliver(*args)

    def holding(self) -> bool:
        """Whether a worker holds a call that :meth:`deliver` can finish."""
        return self._executor is not None and self._executor.holding

    def fast(self, scenario: Scenario, where: str = "") -> bool:
        """Whether ``scenario`` runs on the fast path (decided once per scenario; ``where``
        names it in a refusal, see :func:`uses_fast_path`)."""
        known = self._fast.get(id(scenario))
        if known is None or known[0] is not scenario:
            known = (scenario, uses_fast_path(scenario, self.engine, where))
            self._fast[id(scenario)] = known
        return known[1]

    def plan(
        self,
        runs: Sequence[tuple[Scenario, int]],
        study: str = "run",
        what: str = "replications",
        advice: str = "shorten the horizon or use fewer replications",
        total: int | None = None,
        labels: Sequence[str] | None = None,
    ) -> RunEstimate:
        """Say what the study will run, each ``(scenario, replications)``, before any work:
        every engine is decided (an engine that cannot run a scenario is refused now,
        named by its entry of ``labels`` where given, e.g. a sweep's point), the size is
        estimated and checked (unless ``force``), and the progress total is ``total``
        (default: every replication of ``runs``)."""
        for k, (scenario, _) in enumerate(runs):
            self.fast(scenario, labels[k] if labels else "")
        estimate = estimate_runs(runs, self.jobs, what, study, advice)
        if not self.force:
            check_run_size(estimate)
        self.total = sum(n for _, n in runs) if total is None else total
        self.report(0)
        return estimate

    def tasks(
        self,
        scenario: Scenario,
        seeds: Sequence[np.random.SeedSequence],
        event_dir: Path | None = None,
    ) -> list[Task]:
        """One task per seed: replication ``k`` of ``scenario`` with ``seeds[k]``."""
        fast = event_dir is None and self.fast(scenario)
        return [Task(scenario, seq, self.engine, k, event_dir, fast) for k, seq in enumerate(seeds)]

    @property
    def executor(self) -> Executor:
        if self._executor is None:
            self._executor = make_executor(self.jobs, self.scheduler)
        return self._executor

    def map(
        self, tasks: Sequence[Task], on_result: OnResult | None = None, counted: bool = True
    ) -> list[RunResult]:
        """Run ``tasks``; results in task order. Each finished task is one progress unit,
        counted on from the batches before, unless ``counted`` is false (a study that
        counts its progress in other units, such as evaluations, reports it itself)."""
        if not counted:
            return self.executor.map(tasks, None, on_result)
        before = self.done
        results = self.executor.map(tasks, lambda done, _: self.report(before + done), on_result)
        if self.done != before + len(tasks):  # an executor that reported less
            self.report(before + len(tasks))
        return results

    def report(self, done: int) -> None:
        """Progress so far: ``done`` of the planned total (a total that turns out too
        small grows with the work, so the bar never runs past its end)."""
        self.done = done
        self.total = max(self.total, done)
        if self.progress is not None:
            self.progress(done, self.total)

    def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.close()

    def abort(self) -> None:
        """Stop the workers at once (an error or an interrupt ends the work)."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.abort()

    def __enter__(self) -> Execution:
        return self

    def __exit__(self, kind: object, *exc: object) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()


def open_execution(
    execution: Execution | None,
    jobs: int | None = None,
    engine: str = "auto",
    scheduler: str | None = None,
    progress: Progress | None = None,
    force: bool = False,
) -> contextlib.AbstractContextManager[Execution]:
    """The caller's ``execution`` as it is (left open: the caller closes it), or a new
    one from the other arguments, closed when the study ends."""
    if execution is not None:
        return contextlib.nullcontext(execution)
    return Execution(jobs, engine, scheduler, progress, force)


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
        arrivals = scenario.expected_arrivals  # the warm-up's customers are simulated too
        customers += arrivals * n
        work += arrivals * n * max(1.0, seen[id(scenario)] / REFERENCE_STEP_ATTEMPTS)
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
    "Execution",
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
    "open_execution",
    "replication_seeds",
    "run_task",
    "step_attempts_per_customer",
    "uses_fast_path",
]
