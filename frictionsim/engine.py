"""The discrete-event engine: customers walk a checkout in SimPy.

Time is in **minutes** throughout. One call to :func:`simulate` is one
replication of one scenario:

* Customers arrive as a Poisson process during ``horizon`` (a time-of-day
  ``profile`` is applied by thinning a process at the peak rate), and the run
  goes on until every arrived customer has ordered or left.
* Each customer draws a segment, a tolerance and an order value, then walks
  the steps from the first. On entering a step they feel its irritation
  (``irritation + fields * per_field``, times the segment's ``sensitivity``)
  and abandon if their cumulative irritation reaches their tolerance; then
  they leave with probability ``exit`` (non-friction); then they wait for
  capacity if the step has any; then they perform the step. A failed attempt
  adds the error irritation (tolerance checked again) and repeats the
  duration; after ``max_attempts`` failures they leave (friction).
* While waiting for capacity irritation grows at ``wait_irritation`` per
  minute, so a waiting customer reneges at the exact moment it reaches the
  tolerance: ``(tolerance - irritation) / rate`` minutes after joining the
  queue. They leave the queue without ever holding capacity. With an
  exponential tolerance this is the Erlang-A (M/M/c+M) queue.

Randomness is drawn in numpy blocks of customers, never one Python call per
draw, from streams keyed by purpose and by name: arrivals; one stream per
segment (tolerance and order value); per step, one for the exit draw, one for
the branch draw and one per attempt for durations and for errors. Customer *i*
always uses row *i* of each block, so two designs run with the same seed see
the same arrivals, the same customers and the same draws at every step they
share (common random numbers): a step added or removed elsewhere, or an exit,
branch, error or duration switched on or off at the same step, does not shift
the other draws. Only a step visited a second time by the same customer (a
loop) draws from that step's sequential "revisit" stream.

Nothing here reads files or draws charts; the result is a :class:`RunResult`
of counters (memory does not grow with the number of customers), plus a
per-customer table only when asked for.
"""

from __future__ import annotations

import math
import zlib
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy

from .scenario import END, Scenario

#: Customers whose random numbers are drawn together.
BLOCK = 4096
#: Arrival times drawn together.
ARRIVAL_CHUNK = 8192

ORDER, FRICTION, EXIT = 0, 1, 2
OUTCOMES = ("order", "friction", "exit")

#: Bins of the irritation histograms: equal widths from 0 to a cap taken from
#: the tolerance distributions (:func:`irritation_edges`); the last bin also
#: counts everything above the cap.
IRRITATION_BINS = 100
#: Edges (minutes) of the wait and checkout-time histograms: [0, 0.01), then 20
#: log-spaced bins per decade up to 10,000 minutes; the last bin also counts
#: longer times. The same for every scenario, so runs can be compared.
TIME_EDGES = np.concatenate([[0.0], 10.0 ** (np.arange(-40, 81) / 20)])
TIME_BINS = TIME_EDGES.size - 1


@dataclass
class RunResult:
    """Counters of one replication; per-step and per-segment arrays follow scenario order."""

    visitors: int
    orders: int
    revenue: float
    abandoned_friction: int
    abandoned_exit: int
    lost_revenue_friction: float
    lost_revenue_exit: float
    checkout_time_total: float  # minutes from arrival to order, summed over orders
    end_time: float  # when the last customer left
    step_entered: np.ndarray
    step_abandoned_friction: np.ndarray
    step_abandoned_exit: np.ndarray
    step_reneged: np.ndarray  # friction abandonment while waiting (part of abandoned_friction)
    step_failed_attempts: np.ndarray
    step_wait_total: np.ndarray  # minutes in queue, summed over customers who entered
    step_waited: np.ndarray  # customers who found every unit of capacity busy
    step_busy_time: np.ndarray  # capacity-minutes held (for utilisation)
    step_max_in_service: np.ndarray  # most customers holding capacity at once
    step_in_service_at_end: np.ndarray  # 0 when every unit was released
    segment_visitors: np.ndarray
    segment_orders: np.ndarray
    segment_revenue: np.ndarray
    segment_abandoned_friction: np.ndarray
    segment_abandoned_exit: np.ndarray
    customers: dict[str, np.ndarray] | None = field(default=None, repr=False)
    # Bounded-memory aggregates for reports (sizes fixed by the scenario, not by the customers).
    step_lost_revenue_friction: np.ndarray | None = None  # order values lost at each step
    step_lost_revenue_exit: np.ndarray | None = None
    step_irritation_hist: np.ndarray | None = None  # [step, segment, bin]: irritation on entering
    segment_tolerance_hist: np.ndarray | None = None  # [segment, bin]: tolerances of visitors
    step_wait_hist: np.ndarray | None = None  # [step, TIME_BINS]: minutes waited, those who waited
    checkout_time_hist: np.ndarray | None = None  # [TIME_BINS]: minutes from arrival to order


def irritation_edges(scenario: Scenario) -> np.ndarray:
    """Edges of the irritation histograms: 0 to a round cap at or above the largest
    segment's tolerance mean + sd (analytic, so no random number is drawn)."""
    cap = max(t.expectation + t.variance**0.5 for t in (s.tolerance for s in scenario.segments))
    if not np.isfinite(cap) or cap <= 0:
        cap = 1.0
    step = 10.0 ** np.floor(np.log10(cap))
    cap = next(m * step for m in (1, 1.5, 2, 3, 5, 7.5, 10) if m * step >= cap)
    return np.linspace(0.0, cap, IRRITATION_BINS + 1)


def _time_bin(minutes: float) -> int:
    if minutes < 0.01:
        return 0
    return min(int((math.log10(minutes) + 2) * 20) + 1, TIME_BINS - 1)


def substream(seq: np.random.SeedSequence, *key: int | str) -> np.random.Generator:
    """An independent generator for one purpose of one replication.

    Names are hashed (CRC-32, stable across runs and platforms) so the stream
    of a step depends on its name, not on its position in the flow.
    """
    words = tuple(zlib.crc32(k.encode()) if isinstance(k, str) else int(k) for k in key)
    child = np.random.SeedSequence(seq.entropy, spawn_key=(*seq.spawn_key, *words))
    return np.random.Generator(np.random.PCG64(child))


def arrival_times(scenario: Scenario, rng: np.random.Generator):
    """Yield chunks (lists) of arrival times in ``[0, horizon)``, Poisson with the profile."""
    profile = np.asarray(scenario.profile, dtype=float)
    peak = float(profile.max())
    if peak <= 0:
        return
    rate = scenario.arrivals.rate * peak
    flat = bool(np.all(profile == peak))
    t = 0.0
    horizon = scenario.horizon
    while t < horizon:
        times = t + np.cumsum(rng.exponential(1.0 / rate, ARRIVAL_CHUNK))
        t = float(times[-1])
        if not flat:  # thinning: keep with probability profile(hour) / peak
            hour = (times // 60).astype(np.int64) % 24
            times = times[rng.random(ARRIVAL_CHUNK) * peak < profile[hour]]
        yield times[times < horizon].tolist()


class _StepPlan:
    """What the per-customer loop needs of a step, precomputed once."""

    __slots__ = (
        "attempts",
        "capacity",
        "dur_const",
        "dur_dist",
        "entry",
        "err_irr",
        "err_p",
        "exit",
        "next_cum",
        "next_single",
        "next_to",
        "rng",
        "rng_branch",
        "rng_dur",
        "rng_err",
        "rng_exit",
        "wait_irr",
    )

    def __init__(self, scenario: Scenario, i: int, seq: np.random.SeedSequence) -> None:
        step = scenario.steps[i]
        self.entry = scenario.entry_irritation(step)
        self.exit = step.exit
        self.capacity = step.capacity or 0
        self.wait_irr = scenario.wait_irritation(step)
        self.dur_dist = step.duration
        self.dur_const = step.duration.expectation if step.duration.is_constant else None
        self.err_p = step.errors.p if step.errors else 0.0
        self.err_irr = step.errors.irritation if step.errors else 0.0
        self.attempts = step.errors.max_attempts if step.errors else 1
        succ = scenario.successors(i)
        self.next_single = succ[0][0] if len(succ) == 1 else None
        self.next_to = [s for s, _ in succ]
        self.next_cum = np.cumsum([p for _, p in succ]).tolist()
        self.next_cum[-1] = float("inf")  # rounding never sends a customer nowhere
        # One stream per kind of draw (and per attempt), so switching one of
        # them on or off, or changing max_attempts, leaves the others as they were.
        name = step.name
        self.rng_exit = substream(seq, "step", name, "exit")
        self.rng_branch = substream(seq, "step", name, "branch")
        self.rng_dur = [substream(seq, "step", name, "duration", a) for a in range(self.attempts)]
        self.rng_err = [substream(seq, "step", name, "errors", a) for a in range(self.attempts)]
        self.rng = substream(seq, "step", name, "revisit")  # loops: sequential draws


class _Block:
    """Random numbers of ``BLOCK`` consecutive customers, row ``j`` for customer ``j``."""

    __slots__ = ("branch_u", "dur", "err_u", "exit_u", "seg", "tol", "value")

    def __init__(self, sim: _Simulation) -> None:
        n = BLOCK
        shares = sim.seg_cum
        seg = np.searchsorted(shares, sim.customer_rng.random(n), side="right")
        seg = np.minimum(seg, len(shares) - 1)
        tol = np.empty(n)
        value = np.empty(n)
        for k, segment in enumerate(sim.scenario.segments):
            rows = np.flatnonzero(seg == k)
            rng = sim.segment_rngs[k]
            tol[rows] = segment.tolerance.sample(rng, rows.size)
            value[rows] = segment.order_value.sample(rng, rows.size)
        self.seg = seg.tolist()
        self.tol = tol.tolist()
        self.value = value.tolist()
        self.exit_u, self.branch_u, self.dur, self.err_u = [], [], [], []
        for st in sim.plan:
            self.exit_u.append(st.rng_exit.random(n).tolist() if st.exit > 0 else None)
            self.branch_u.append(
                st.rng_branch.random(n).tolist() if st.next_single is None else None
            )
            # attempt a of customer j is element a * BLOCK + j
            self.dur.append(
                None
                if st.dur_const is not None
                else np.concatenate([st.dur_dist.sample(r, n) for r in st.rng_dur]).tolist()
            )
            self.err_u.append(
                np.concatenate([r.random(n) for r in st.rng_err]).tolist() if st.err_p > 0 else None
            )


class _Simulation:
    def __init__(self, scenario: Scenario, seq: np.random.SeedSequence, record: bool) -> None:
        self.scenario = scenario
        self.env = simpy.Environment()
        n_steps, n_segs = len(scenario.steps), len(scenario.segments)
        self.arrival_rng = substream(seq, "arrivals")
        self.customer_rng = substream(seq, "customers")
        self.segment_rngs = [substream(seq, "segment", s.name) for s in scenario.segments]
        self.plan = [_StepPlan(scenario, i, seq) for i in range(len(scenario.steps))]
        self.seg_cum = np.cumsum([s.share for s in scenario.segments])
        self.sens = [s.sensitivity for s in scenario.segments]
        self.cyclic = _has_cycle(scenario)
        # counters (plain Python lists in the hot loop, arrays at the end)
        self.totals = [0, 0, 0]  # orders, friction, exit
        self.money = [0.0, 0.0, 0.0]
        self.checkout_time = 0.0
        self.visitors = 0
        self.entered = [0] * n_steps
        self.ab_friction = [0] * n_steps
        self.ab_exit = [0] * n_steps
        self.reneged = [0] * n_steps
        self.failed = [0] * n_steps
        self.wait_total = [0.0] * n_steps
        self.waited = [0] * n_steps
        self.busy_time = [0.0] * n_steps
        self.busy = [0] * n_steps
        self.max_busy = [0] * n_steps
        self.queues: list[deque] = [deque() for _ in range(n_steps)]
        self.seg_visitors = [0] * n_segs
        self.seg_outcomes = [[0, 0, 0] for _ in range(n_segs)]
        self.seg_revenue = [0.0] * n_segs
        self.log: list[tuple] | None = [] if record else None
        self.step_lost = [[0.0] * n_steps for _ in OUTCOMES]  # by outcome; ORDER row unused
        self.irr_scale = IRRITATION_BINS / float(irritation_edges(scenario)[-1])
        self.irr_hist = [[[0] * IRRITATION_BINS for _ in range(n_steps)] for _ in range(n_segs)]
        self.tol_hist = [[0] * IRRITATION_BINS for _ in range(n_segs)]
        self.wait_hist = [[0] * TIME_BINS for _ in range(n_steps)]
        self.checkout_hist = [0] * TIME_BINS

    # -- processes ---------------------------------------------------------------------------

    def arrivals(self, chunks):
        env = self.env
        timeout = env.timeout
        process = env.process
        customer = self.customer
        blk, j = None, BLOCK
        i = 0
        for chunk in chunks:
            for t in chunk:
                delay = t - env.now
                if delay > 0:
                    yield timeout(delay)
                if j == BLOCK:
                    blk, j = _Block(self), 0
                process(customer(i, blk, j))
                i += 1
                j += 1
        self.visitors = i

    def customer(self, i: int, blk: _Block, j: int):
        env = self.env
        plan = self.plan
        seg = blk.seg[j]
        tol = blk.tol[j]
        sens = self.sens[seg]
        arrival = env.now
        irr = 0.0
        s = 0
        seen = set() if self.cyclic else None
        self.seg_visitors[seg] += 1
        hist, scale, top = self.irr_hist[seg], self.irr_scale, IRRITATION_BINS - 1
        self.tol_hist[seg][min(int(tol * scale), top)] += 1
        while s != END:
            st = plan[s]
            first = True
            if seen is not None:
                first = s not in seen
                seen.add(s)
            self.entered[s] += 1
            irr += st.entry * sens
            b = int(irr * scale)
            hist[s][b if b < top else top] += 1
            if irr >= tol:
                self.finish(i, blk, j, seg, FRICTION, s, irr)
                return
            if st.exit > 0 and (blk.exit_u[s][j] if first else st.rng.random()) < st.exit:
                self.finish(i, blk, j, seg, EXIT, s, irr)
                return
            cap = st.capacity
            if cap:
                if self.busy[s] < cap:
                    self.busy[s] += 1
                    if self.busy[s] > self.max_busy[s]:
                        self.max_busy[s] = self.busy[s]
                else:
                    rate = st.wait_irr * sens
                    ticket = env.event()
                    self.queues[s].append(ticket)
                    joined = env.now
                    if rate > 0:
                        env.timeout((tol - irr) / rate, ticket).callbacks.append(_renege)
                    granted = yield ticket
                    waited = env.now - joined
                    self.wait_total[s] += waited
                    self.waited[s] += 1
                    self.wait_hist[s][_time_bin(waited)] += 1
                    irr += waited * rate
                    if not granted:
                        self.reneged[s] += 1
                        self.finish(i, blk, j, seg, FRICTION, s, max(irr, tol))
                        return
                started = env.now
            attempts = st.attempts
            for a in range(attempts):
                d = st.dur_const
                if d is None:
                    d = (
                        blk.dur[s][a * BLOCK + j]
                        if first
                        else float(st.dur_dist.sample(st.rng, 1)[0])
                    )
                if d > 0:
                    yield env.timeout(d)
                if (
                    st.err_p > 0
                    and (blk.err_u[s][a * BLOCK + j] if first else st.rng.random()) < st.err_p
                ):
                    self.failed[s] += 1
                    irr += st.err_irr * sens
                    if irr >= tol or a == attempts - 1:
                        if cap:
                            self.release(s, started)
                        self.finish(i, blk, j, seg, FRICTION, s, irr)
                        return
                else:
                    break
            if cap:
                self.release(s, started)
            if st.next_single is not None:
                s = st.next_single
            else:
                u = blk.branch_u[s][j] if first else st.rng.random()
                k = 0
                while u >= st.next_cum[k]:
                    k += 1
                s = st.next_to[k]
        self.checkout_time += env.now - arrival
        self.checkout_hist[_time_bin(env.now - arrival)] += 1
        self.finish(i, blk, j, seg, ORDER, -1, irr)

    def release(self, s: int, started: float) -> None:
        self.busy_time[s] += self.env.now - started
        queue = self.queues[s]
        while queue:
            ticket = queue.popleft()
            if not ticket.triggered:  # skip customers who reneged
                ticket.succeed(True)  # the unit passes straight to them
                return
        self.busy[s] -= 1

    def finish(self, i: int, blk: _Block, j: int, seg: int, outcome: int, s: int, irr: float):
        value = blk.value[j]
        self.totals[outcome] += 1
        self.money[outcome] += value
        self.seg_outcomes[seg][outcome] += 1
        if outcome == ORDER:
            self.seg_revenue[seg] += value
        elif outcome == FRICTION:
            self.ab_friction[s] += 1
        else:
            self.ab_exit[s] += 1
        if outcome != ORDER:
            self.step_lost[outcome][s] += value
        if self.log is not None:
            self.log.append((i, seg, outcome, s, self.env.now, value, irr, blk.tol[j]))

    # -- result -------------------------------------------------------------------------------

    def result(self) -> RunResult:
        arr = np.asarray
        customers = None
        if self.log is not None:
            log = sorted(self.log)
            cols = list(zip(*log)) if log else [[]] * 8
            names = (
                "id",
                "segment",
                "outcome",
                "step",
                "end",
                "order_value",
                "irritation",
                "tolerance",
            )
            customers = {n: arr(c) for n, c in zip(names, cols)}
        return RunResult(
            visitors=self.visitors,
            orders=self.totals[ORDER],
            revenue=self.money[ORDER],
            abandoned_friction=self.totals[FRICTION],
            abandoned_exit=self.totals[EXIT],
            lost_revenue_friction=self.money[FRICTION],
            lost_revenue_exit=self.money[EXIT],
            checkout_time_total=self.checkout_time,
            end_time=self.env.now,
            step_entered=arr(self.entered, dtype=np.int64),
            step_abandoned_friction=arr(self.ab_friction, dtype=np.int64),
            step_abandoned_exit=arr(self.ab_exit, dtype=np.int64),
            step_reneged=arr(self.reneged, dtype=np.int64),
            step_failed_attempts=arr(self.failed, dtype=np.int64),
            step_wait_total=arr(self.wait_total, dtype=float),
            step_waited=arr(self.waited, dtype=np.int64),
            step_busy_time=arr(self.busy_time, dtype=float),
            step_max_in_service=arr(self.max_busy, dtype=np.int64),
            step_in_service_at_end=arr(self.busy, dtype=np.int64),
            segment_visitors=arr(self.seg_visitors, dtype=np.int64),
            segment_orders=arr([o[ORDER] for o in self.seg_outcomes], dtype=np.int64),
            segment_revenue=arr(self.seg_revenue, dtype=float),
            segment_abandoned_friction=arr(
                [o[FRICTION] for o in self.seg_outcomes], dtype=np.int64
            ),
            segment_abandoned_exit=arr([o[EXIT] for o in self.seg_outcomes], dtype=np.int64),
            customers=customers,
            step_lost_revenue_friction=arr(self.step_lost[FRICTION], dtype=float),
            step_lost_revenue_exit=arr(self.step_lost[EXIT], dtype=float),
            step_irritation_hist=arr(self.irr_hist, dtype=np.int64).transpose(1, 0, 2).copy(),
            segment_tolerance_hist=arr(self.tol_hist, dtype=np.int64),
            step_wait_hist=arr(self.wait_hist, dtype=np.int64),
            checkout_time_hist=arr(self.checkout_hist, dtype=np.int64),
        )


def _renege(timer: simpy.Event) -> None:
    ticket = timer.value
    if not ticket.triggered:  # still waiting: irritation has reached the tolerance
        ticket.succeed(False)


def _has_cycle(scenario: Scenario) -> bool:
    state = [0] * len(scenario.steps)  # 0 new, 1 on the path, 2 done

    def visit(i: int) -> bool:
        state[i] = 1
        for j, p in scenario.successors(i):
            if j == END or p <= 0:
                continue
            if state[j] == 1 or (state[j] == 0 and visit(j)):
                return True
        state[i] = 2
        return False

    return any(state[i] == 0 and visit(i) for i in range(len(scenario.steps)))


def simulate(
    scenario: Scenario,
    seq: np.random.SeedSequence,
    *,
    arrivals: Any = None,
    record_customers: bool = False,
) -> RunResult:
    """Run one replication of ``scenario`` with the random streams of ``seq``.

    ``arrivals`` (minutes, ascending) replaces the Poisson arrivals, for tests
    and trace-driven runs. ``record_customers`` adds a per-customer table to the
    result (memory grows with the number of customers).
    """
    sim = _Simulation(scenario, seq, record_customers)
    if arrivals is None:
        chunks = arrival_times(scenario, sim.arrival_rng)
    else:
        chunks = [np.asarray(arrivals, dtype=float).tolist()]
    sim.env.process(sim.arrivals(chunks))
    sim.env.run()
    return sim.result()
