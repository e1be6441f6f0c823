"""A vectorized engine for checkouts without loops, queues included.

Without loops a customer visits each step at most once. Without ``capacity``
nobody waits for anybody, and a customer's path depends only on their own
random numbers; at a step with ``capacity`` customers meet only in its
first-come-first-served queue, which :mod:`.fcfs` walks in the order they
reach it, so no event calendar is needed there either.

This module draws exactly the random numbers the SimPy engine
(:mod:`.simpy_engine`) draws — the same substreams of :mod:`.streams`, keyed by
purpose and name, in the same blocks of ``BLOCK`` customers, row *i* for
customer *i* — and walks customers through the steps with numpy array
operations, one step at a time in topological order, a chunk of ``CHUNK``
arrivals at a time, so memory does not grow with the customers. A chunk's
customers who are still in the flow (on their way, or waiting at a queue that
only serves those who reached it before the next chunk's first arrival) are
carried into the next chunk with their random numbers. Where numba is installed, a
step without capacity is walked customer by customer in compiled code
(:mod:`.plain`), with the same numbers as the array code. The result is the same
:class:`~.result.RunResult`, field for field: counters are identical, times
are the same float sums (``now + duration`` in the order SimPy adds them), and
money, waits and checkout-time totals are summed in the order SimPy's event
loop adds them (:class:`_InOrder`).

Word of mouth and returns (referral visits, deterred prospects, returning customers)
are walked by :mod:`.talking` with these same pieces, in windows of time shorter than
the least value of their delays, so that nothing a window's visits bring falls back
into it; a delay that can be 0 leaves the scenario to SimPy, as do reminders. A step's
``defect`` (without a contact) is carried by each buyer (:class:`_Defects`) and
surfaces after the order, as in the SimPy engine.

The one ordering SimPy decides that this module imitates rather than
reproduces is between customers who finish at exactly the same float time
(ties are broken by arrival order); with continuous arrivals that does not
happen in practice, and only the last bits of the float totals could differ.
In a queue, order decides who is served: two events there at the same instant
raise :class:`_Tie`, and :func:`simulate` hands that replication to the SimPy
engine.

:func:`unsupported_reason` is the explicit predicate of what this engine
handles. Anything else — a capacity step that takes no time, a loop, a
per-customer table, or any scenario key it does not know about (features added
to the SimPy engine later) — makes it return a reason, and the execution layer
falls back to the SimPy engine."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
from pydantic import BaseModel

from ..scenario import Scenario
from . import plain
from .codes import EXIT, FRICTION, ORDER, ORGANIC, RETURNING, SOURCES
from .result import (
    IRRITATION_BINS,
    LOW_BITS,
    TIME_BINS,
    TIME_INNER_EDGES,
    RunResult,
    fixed_square_sums,
    fixed_sum,
    from_fixed,
    irritation_edges,
    squares_sum,
)
from .streams import (
    BLOCK,
    StepPlan,
    Streams,
    arrival_bin_width,
    arrival_bins,
    arrival_times,
    substream,
)

#: Fields of the scenario models whose meaning this engine implements. A field
#: outside these lists (a feature added later) is only accepted at its default.
KNOWN_FIELDS: dict[str, frozenset[str]] = {
    "Scenario": frozenset(
        {
            "name",
            "description",
            "seed",
            "replications",
            "horizon",
            "arrivals",
            "segments",
            "steps",
            "friction",
            "start",  # timestamps of event logs only
            "experience",
            "economics",  # applied by stats, not by the engine
            "uncertainty",  # applied by the run study (a scenario per replication)
            "word_of_mouth",  # where their delays have a positive least value (.talking)
            "repeat",
        }
    ),
    "WordOfMouth": frozenset({"delay", "promoters", "passives", "detractors", "abandoners"}),
    "Talk": frozenset({"tell", "visit", "deter"}),
    "Repeat": frozenset(
        {"delay", "promoters", "passives", "detractors", "abandoners", "saved_fields"}
    ),
    "Arrivals": frozenset({"rate", "profile", "weekly"}),
    "Segment": frozenset(
        {"name", "share", "tolerance", "order_value", "sensitivity", "commitment"}
    ),
    "Step": frozenset(
        {
            "name",
            "description",
            "duration",
            "irritation",
            "fields",
            "per_field",
            "exit",
            "errors",
            "capacity",
            "wait_irritation",
            "balk_at",
            "time_irritation",
            "exit_irritation",
            "next",
            "by_segment",
            "cost",  # applied by stats, not by the engine
            "defect",  # without a contact (that is a service journey's, SimPy's)
        }
    ),
    "Defect": frozenset({"p", "irritation", "delay", "cost"}),
    "Errors": frozenset({"p", "irritation", "max_attempts", "fallback"}),
    "Branch": frozenset({"to", "p"}),
    "SegmentStep": frozenset({"exit", "errors", "next"}),
    "SegmentErrors": frozenset({"p"}),
    "Friction": frozenset({"per_field", "wait_irritation", "time_irritation"}),
}


#: The RunResult fields this engine fills in. A field added to the SimPy engine's
#: result later (say, referrals) means the fast path does not know how to compute it.
KNOWN_RESULT_FIELDS = frozenset(
    {
        "visitors",
        "orders",
        "revenue",
        "abandoned_friction",
        "abandoned_exit",
        "lost_revenue_friction",
        "lost_revenue_exit",
        "checkout_time_total",
        "end_time",
        "step_entered",
        "step_abandoned_friction",
        "step_abandoned_exit",
        "step_reneged",
        "step_balked",
        "step_turned_away",
        "step_overtime",
        "remediation_costs",  # defects are SimPy's
        "service",  # a service journey is SimPy's
        "unresolved",
        "step_unresolved",
        "base_active",  # a customer base is SimPy's
        "base_retained",
        "base_joined",
        "base_churned",
        "segment_base_members",
        "segment_base_revenue",
        "step_recovery_offers",
        "step_recovered",
        "step_failed_attempts",
        "step_fell_back",
        "step_wait_total",
        "step_waited",
        "step_busy_time",
        "step_max_in_service",
        "step_in_service_at_end",
        "segment_visitors",
        "segment_orders",
        "segment_revenue",
        "segment_abandoned_friction",
        "segment_abandoned_exit",
        "step_lost_revenue_friction",
        "step_lost_revenue_exit",
        "segment_scores",
        "source_visitors",
        "source_orders",
        "source_revenue",
        "prospects_lost",
        "reminders_sent",
        "deterrals_unused",
        "defects",
        "arrival_bin_minutes",
        "arrivals_by_source",
        "customers",
        "step_irritation_hist",
        "segment_tolerance_hist",
        "step_wait_hist",
        "checkout_time_hist",
        "step_pass_minutes",
        "step_pass_minutes_sq",
        "engine",
    }
)


def _unknown_fields(model: BaseModel, where: str) -> str | None:
    known = KNOWN_FIELDS.get(type(model).__name__)
    if known is None:
        return f"{where}: unknown model {type(model).__name__}"
    for name, info in type(model).model_fields.items():
        if name in known:
            continue
        default = info.get_default(call_default_factory=True)
        if getattr(model, name) != default:
            return f"{where}.{name} is not supported by the fast path"
    return None


def unsupported_reason(scenario: Scenario, record_customers: bool = False) -> str | None:
    """Why the fast path cannot run ``scenario`` exactly like SimPy, or ``None`` if it can."""
    if record_customers:
        return "a per-customer table was asked for"
    unknown = sorted({f.name for f in dataclasses.fields(RunResult)} - KNOWN_RESULT_FIELDS)
    if unknown:
        return f"the engine's results have fields the fast path does not compute: {unknown}"
    for model, where in [
        (scenario, "scenario"),
        (scenario.arrivals, "arrivals"),
        (scenario.friction, "friction"),
        *[(s, f"segments.{s.name}") for s in scenario.segments],
        *[(s, f"steps.{s.name}") for s in scenario.steps],
        *[(s.errors, f"steps.{s.name}.errors") for s in scenario.steps if s.errors],
        *[(s.defect, f"steps.{s.name}.defect") for s in scenario.steps if s.defect],
        *_talk_models(scenario),
        *[(b, f"steps.{s.name}.next") for s in scenario.steps for b in s.next or ()],
        *[
            (m, f"steps.{s.name}.by_segment.{name}{part}")
            for s in scenario.steps
            for name, own in s.by_segment.items()
            for m, part in [
                (own, ""),
                *([(own.errors, ".errors")] if own.errors else []),
                *[(b, ".next") for b in own.next or ()],
            ]
        ],
    ]:
        reason = _unknown_fields(model, where)
        if reason:
            return reason
    for step in scenario.steps:
        if step.capacity and step.duration.is_constant and step.duration.expectation == 0:
            return (
                f"steps.{step.name} has capacity and takes no time (the unit passes on at "
                "the same instant, an order only SimPy's event queue decides)"
            )
    if scenario.flow.has_cycle:
        return "the flow has a loop"
    for key, what in (("word_of_mouth", "a referral"), ("repeat", "a return")):
        talk = getattr(scenario, key)
        if talk is None:
            continue
        least = talk.delay.minimum
        if not least > 0:
            return (
                f"{key}.delay can be as short as 0 (its least value): {what} could arrive "
                "among the visits that led to it, an order only SimPy's event queue keeps"
            )
        per_window = scenario.expected_arrivals / scenario.arrival_span * least
        if per_window < MIN_WINDOW:
            return (
                f"{key}.delay's least value ({least:g} min) holds about {per_window:.3g} "
                f"arrivals, under {MIN_WINDOW}: too few for the fast path's windows to pay off"
            )
    return None


#: Fewest arrivals expected in a window of word of mouth or returns (the least delay) for the
#: fast path to take the scenario (:mod:`.talking`): smaller windows are slower than SimPy.
MIN_WINDOW = 100


def _talk_models(scenario: Scenario) -> list[tuple[BaseModel, str]]:
    """The models of word of mouth and returns, and where in the scenario they are."""
    wom = scenario.word_of_mouth
    found: list[tuple[BaseModel, str]] = []
    if wom is not None:
        kinds = ("promoters", "passives", "detractors", "abandoners")
        found += [(wom, "word_of_mouth"), *[(getattr(wom, k), f"word_of_mouth.{k}") for k in kinds]]
    if scenario.repeat is not None:
        found.append((scenario.repeat, "repeat"))
    return found


def supports(scenario: Scenario, record_customers: bool = False) -> bool:
    """True when :func:`simulate` gives exactly the SimPy engine's result for ``scenario``."""
    return unsupported_reason(scenario, record_customers) is None


def _arrival_clock(times: np.ndarray, prev: float = 0.0) -> np.ndarray:
    """SimPy's clock at each arrival: ``now + (t - now)``, skipped when ``t <= now``,
    the clock standing at ``prev`` before the first.

    Usually this is ``t`` exactly, but float rounding can leave it an ulp off
    (after a long gap); the fixed point reproduces that chain of additions.
    """
    clock = times.copy()
    while True:
        before = np.concatenate(([prev], clock[:-1]))
        delay = times - before
        new = np.where(delay > 0, before + delay, before)
        if np.array_equal(new, clock):
            return clock
        clock = new


def _sequential_sum(x: np.ndarray, start: float = 0.0) -> float:
    """``start + x[0] + x[1] + ...`` in this order (like a Python loop of ``+=``)."""
    return float(np.cumsum(np.concatenate(([start], x)))[-1]) if x.size else start


#: Customers walked through the steps together (a whole number of blocks): large
#: enough for numpy to pay off, small enough to stay in cache and bound memory.
CHUNK = 16 * BLOCK
#: Bytes of random numbers drawn for one chunk at most: a long flow with many
#: attempts walks fewer blocks at once (the draws are the same whatever the chunk).
CHUNK_BYTES = 64 * 2**20
#: Walk queues in Python even where numba is installed (the numbers are the same).
PYTHON_QUEUES = False
#: Steps without capacity by the array code even where numba compiles :mod:`.plain`.
PYTHON_STEPS = False


class _Tie(Exception):
    """Two events of a queue at the same instant: their order is SimPy's event queue's."""


def _clock_chunks(times: Any, chunk: int) -> Any:
    """The arrivals' clock (:func:`_arrival_clock`) in pieces of ``chunk`` customers."""
    return (clock for _, clock in _timed_chunks(times, chunk))


def _timed_chunks(times: Any, chunk: int) -> Any:
    """The arrival times and their clock (:func:`_arrival_clock`), in pairs of pieces of
    ``chunk`` customers."""
    prev, pending, held = 0.0, [], 0
    for part in times:
        part = np.asarray(part, dtype=float)
        pending.append(part)
        held += part.size
        while held >= chunk:
            joined = np.concatenate(pending)
            piece, rest = joined[:chunk], joined[chunk:]
            clock = _arrival_clock(piece, prev)
            prev = float(clock[-1])
            yield piece, clock
            pending, held = [rest], rest.size
    if held:
        piece = np.concatenate(pending)
        clock = _arrival_clock(piece, prev)
        if clock.size:
            yield piece, clock


class _Customers:
    """Segment, tolerance and order value of customers, drawn block by block."""

    def __init__(self, scenario: Scenario, streams: Streams) -> None:
        self.segments = scenario.segments
        self.customer_rng = streams.customer
        self.segment_rngs = streams.segment
        self.seg_cum = np.cumsum([s.share for s in scenario.segments])
        self.sens = np.asarray([s.sensitivity for s in scenario.segments], dtype=float)
        self.commit = np.asarray([s.commitment for s in scenario.segments], dtype=float)
        # returning customers keep their segment: a new order value of each segment per row
        self.by_segment = streams.returning
        self.value_by_segment = np.empty((len(scenario.segments), 0))

    def draw(self, blocks: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Segment, tolerance and order value of the next ``blocks`` blocks of customers
        (and, for returning ones, :attr:`value_by_segment`: a row per segment)."""
        size = blocks * BLOCK
        seg = np.empty(size, dtype=np.int64)
        tol = np.empty(size)
        value = np.empty(size)
        if self.by_segment:
            self.value_by_segment = np.empty((len(self.segments), size))
        last = len(self.segments) - 1
        for b in range(blocks):
            rows = slice(b * BLOCK, (b + 1) * BLOCK)
            s = np.searchsorted(self.seg_cum, self.customer_rng.random(BLOCK), side="right")
            s = np.minimum(s, last)
            t_blk = np.empty(BLOCK)
            v_blk = np.empty(BLOCK)
            # tolerance then order value, segment by segment, as the SimPy engine draws them
            for k, segment in enumerate(self.segments):
                at = np.flatnonzero(s == k)
                t_blk[at] = segment.tolerance.sample(self.segment_rngs[k], at.size)
                v_blk[at] = segment.order_value.sample(self.segment_rngs[k], at.size)
            seg[rows], tol[rows], value[rows] = s, t_blk, v_blk
            if self.by_segment:  # after the block's own draws, as the SimPy engine's
                for k, segment in enumerate(self.segments):
                    rng = self.segment_rngs[k]
                    self.value_by_segment[k, rows] = segment.order_value.sample(rng, BLOCK)
        return seg, tol, value


class _Step(StepPlan):
    """The plan of a step both engines use (:class:`~.streams.StepPlan`), its branch
    table as arrays, and its random streams; :meth:`draw` gives the next blocks' numbers."""

    def __init__(self, scenario: Scenario, i: int, streams: Streams) -> None:
        super().__init__(scenario, i)
        self.i = i
        self.duration = self.dur_dist
        self.next_to = np.asarray(self.next_to, dtype=np.int64)
        # segments that branch with their own probabilities (not the step's list), and theirs
        self.own_branches = [
            (k, np.asarray(cum))
            for k, cum in enumerate(self.next_cum_seg)
            if cum is not self.next_cum
        ]
        # every segment's cumulative branch probabilities, one row each (compiled steps)
        self.cum_of = np.asarray([np.asarray(c, dtype=float) for c in self.next_cum_seg])
        self.next_cum = np.asarray(self.next_cum)
        self.exit_of = np.asarray(self.exit_seg, dtype=float)  # per segment
        self.err_p_of = np.asarray(self.err_p_seg, dtype=float)
        self.rng_exit = streams.exit[i] if self.exits else None
        self.rng_branch = streams.branch[i] if self.next_single is None else None
        self.rng_dur = streams.dur[i]
        self.rng_err = streams.err[i]
        self.rng_defect = streams.defect[i] if self.defect_p > 0 else None

    def draw(self, blocks: int, m: int, into: dict[Any, np.ndarray]) -> None:
        """Random numbers of the next ``blocks`` blocks of customers, one row per customer,
        the first ``m`` rows put ``into`` the batch's columns (keyed by step and kind)."""

        # The SimPy engine draws a block at a time from each stream; numpy's generators
        # give the same numbers for one call of several blocks (element by element).
        size = blocks * BLOCK
        i = self.i
        if self.exits:
            into[i, "exit"] = self.rng_exit.random(size)[:m]
        if self.next_single is None:
            into[i, "branch"] = self.rng_branch.random(size)[:m]
        if self.dur_const is None:  # row j, column a: attempt a of customer j
            into[i, "dur"] = np.stack(
                [self.duration.sample(rng, size)[:m] for rng in self.rng_dur], axis=1
            )
        if self.failing:
            into[i, "err"] = np.stack([rng.random(size)[:m] for rng in self.rng_err], axis=1)
        if self.defect_p > 0:
            into[i, "defect"] = self.rng_defect.random(size)[:m]

    def advance(self, batch: _Batch, idx: np.ndarray) -> None:
        """Send the customers ``idx``, who completed this step, to its successor."""
        if idx.size == 0:
            return
        where = batch.where
        if self.next_single is not None:
            where[idx] = self.next_single
            return
        u = batch.cols[self.i, "branch"][idx]
        k = np.searchsorted(self.next_cum, u, side="right")
        seg = batch.seg
        for g, cum in self.own_branches:  # a segment's own branch probabilities
            mine = seg[idx] == g
            k[mine] = np.searchsorted(cum, u[mine], side="right")
        where[idx] = self.next_to[k]


#: Per-customer columns of a batch besides the step draws, and their initial values.
_STATE = ("order", "seg", "tol", "value", "clock", "now", "irr", "limit", "start", "peak",
          "last", "where", "parked", "outcome", "lost_at", "entered_at")  # fmt: skip


#: A buyer's defects so far (flows with a ``defect``): the irritation they bring when
#: they surface, when that is after the order, and their remediation cost.
_DEFECTS = ("defect_irr", "defect_delay", "remedy")
#: The columns the counts and sums of finished customers read.
_FINISHED = frozenset((*_STATE, *_DEFECTS, "src"))


class _Batch:
    """Customers walked together: one chunk's arrivals after those carried over from
    earlier chunks who are still in the flow (waiting at a queue, or on their way).
    Each column has a row per customer: state, attributes and their random numbers."""

    def __init__(self, cols: dict[Any, np.ndarray]) -> None:
        self.cols = cols
        for name in _STATE:
            setattr(self, name, cols[name])

    @classmethod
    def new(cls, first: int, clock: np.ndarray, seg: np.ndarray, tol: np.ndarray,
            value: np.ndarray, draws: dict[Any, np.ndarray]) -> _Batch:  # fmt: skip
        m = clock.size
        cols: dict[Any, np.ndarray] = {
            "order": np.arange(first, first + m, dtype=np.int64),  # arrival order, for ties
            "seg": seg,
            "tol": tol,
            "value": value,
            "clock": clock,
            "now": clock.copy(),
            "irr": np.zeros(m),
            "limit": tol.copy(),  # the tolerance, grown by commitment with every step completed
            "start": np.zeros(m),  # irritation on arriving at the current step
            "peak": np.zeros(m),
            "last": np.zeros(m),
            "where": np.zeros(m, dtype=np.int64),  # current step; END once ordered, -2 lost
            "parked": np.zeros(m, dtype=bool),  # waiting at the current step's queue
            "outcome": np.full(m, ORDER, dtype=np.int8),
            "lost_at": np.full(m, -1, dtype=np.int64),
            "entered_at": clock.copy(),  # when they reached the current step
            **draws,
        }
        return cls(cols)

    def take(self, rows: np.ndarray, keys: Any = None) -> _Batch:
        """The customers ``rows``, with every column or only ``keys``."""
        return _Batch({k: v[rows] for k, v in self.cols.items() if keys is None or k in keys})

    def then(self, other: _Batch) -> _Batch:
        return _Batch({k: np.concatenate((v, other.cols[k])) for k, v in self.cols.items()})


class _InOrder:
    """Sums that SimPy adds in the order of events in time (ties: as given), made from
    batches whose events may come in any order: an event is added once no later batch
    can bring an earlier one (before the ``watermark``), the rest wait. An event adds
    one value to each of its columns' sums (``which``; -1: none)."""

    def __init__(self, n_sums: int, n_columns: int) -> None:
        self.sums = [0.0] * n_sums
        # sums' numbers as keys of the stable sort that groups them: 16 bits where they
        # fit, which numpy sorts by radix (the same order, a few times faster)
        self.key = np.int16 if n_sums < 2**15 else np.int64
        self.times = np.empty(0)
        self.ties = np.empty(0, dtype=np.int64)
        self.values = [np.empty(0) for _ in range(n_columns)]
        self.which = [np.empty(0, dtype=np.int64) for _ in range(n_columns)]

    def add(self, times: np.ndarray, ties: np.ndarray, *columns: tuple[Any, Any]) -> None:
        self.times = np.concatenate((self.times, times))
        self.ties = np.concatenate((self.ties, ties))
        for c, (values, which) in enumerate(columns):
            self.values[c] = np.concatenate((self.values[c], values))
            self.which[c] = np.concatenate((self.which[c], which))

    def flush(self, watermark: float) -> None:
        due = self.times < watermark
        if not due.any():
            return
        times = self.times[due]
        order = np.argsort(times, kind="stable")  # by time
        if times.size > 1 and np.any(np.diff(times[order]) == 0):  # then as given
            order = np.lexsort((self.ties[due], times))
        for v, w in zip(self.values, self.which):
            v, w = v[due][order], w[due][order]
            group = np.argsort(w.astype(self.key), kind="stable")  # by sum, in time order
            v, w = v[group], w[group]
            bounds = np.flatnonzero(np.diff(w)) + 1
            for part, k in zip(np.split(v, bounds), w[np.concatenate(([0], bounds))]):
                if k >= 0:
                    self.sums[k] = _sequential_sum(part, self.sums[k])
        keep = ~due
        self.times, self.ties = self.times[keep], self.ties[keep]
        self.values = [v[keep] for v in self.values]
        self.which = [w[keep] for w in self.which]


class _QueueCounts:
    """What one capacity step's queue saw: its state between batches (:class:`.fcfs.State`),
    waits (summed in the order they ended) and units held (in the order released),
    reneging customers and the waits' histogram."""

    def __init__(self, cap: int) -> None:
        from . import fcfs  # numba, where installed, only for flows with a queue

        self.state = fcfs.State(cap, PYTHON_QUEUES or fcfs.compiled() is None)
        self.reneged = 0
        self.balked = 0
        self.waited = 0
        self.sums = _InOrder(2, 1)  # 0: waits, 1: units held
        self.seen = 0  # events so far (ties in time keep this order)
        self.hist = np.zeros(TIME_BINS, dtype=np.int64)


#: The sums of a run's outcomes, in the order customers finish (SimPy's order).
_MONEY, _CHECKOUT = 0, 3  # 0-2: money by outcome; 3: checkout time; then per segment, step


def simulate(scenario: Scenario, seq: np.random.SeedSequence, *, arrivals: Any = None) -> RunResult:
    """One replication, identical to the SimPy engine's :func:`~.simpy_engine.simulate` where
    supported."""
    reason = unsupported_reason(scenario)
    if reason:
        raise ValueError(f"fast path cannot run this scenario: {reason}")
    try:
        if scenario.word_of_mouth is not None or scenario.repeat is not None:
            from .talking import simulate_talking

            return simulate_talking(scenario, seq, arrivals)
        return _simulate(scenario, seq, arrivals)
    except _Tie:  # an instant whose order only SimPy's event queue knows: let it decide
        from .simpy_engine import simulate as simpy_simulate

        return simpy_simulate(scenario, seq, arrivals=arrivals)


def _simulate(scenario: Scenario, seq: np.random.SeedSequence, arrivals: Any) -> RunResult:
    if arrivals is None:
        times: Any = arrival_times(scenario, substream(seq, "arrivals"))
    else:
        times = [np.asarray(arrivals, dtype=float)]
    n_steps, n_segs = len(scenario.steps), len(scenario.segments)
    streams = Streams(scenario, seq, ORGANIC)
    customers = _Customers(scenario, streams)
    steps = [_Step(scenario, i, streams) for i in range(n_steps)]
    order = scenario.flow.topological_order
    draws = scenario.draws_per_customer()
    chunk = BLOCK * max(1, min(CHUNK // BLOCK, CHUNK_BYTES // (8 * BLOCK * draws)))
    queues = [_QueueCounts(st.capacity) if st.capacity else None for st in steps]
    counts = _Counts(scenario)
    finish = _InOrder(4 + n_segs + 2 * n_steps, 3)
    experience = scenario.experience
    defects = _Defects() if any(st.defect_p > 0 for st in steps) else None
    carried: _Batch | None = None
    pieces = _clock_chunks(times, chunk)
    nxt = next(pieces, None)
    first = 0
    while nxt is not None:
        clock, nxt = nxt, next(pieces, None)
        watermark = float(nxt[0]) if nxt is not None else math.inf
        m = clock.size
        blocks = -(-m // BLOCK)
        seg, tol, value = (x[:m] for x in customers.draw(blocks))
        step_draws: dict[Any, np.ndarray] = {}
        for st in steps:
            st.draw(blocks, m, step_draws)
        counts.arrive(clock, seg, tol)
        batch = _Batch.new(first, clock, seg, tol, value, step_draws)
        if defects is not None:
            defects.start(batch)
        first += m
        if carried is not None:
            batch = carried.then(batch)
        _walk(steps, order, batch, customers, counts, queues, watermark)
        done = batch.where < 0
        if done.all():  # nobody still on their way (always so without a queue)
            out, carried = batch, None
        else:
            out = batch.take(np.flatnonzero(done), _FINISHED)
            carried = batch.take(np.flatnonzero(~done))
        if defects is not None:
            defects.surface(out)
        counts.leave(out, experience)
        _finish_sums(finish, out, n_segs, n_steps)
        finish.flush(watermark)
        for q in queues:
            if q is not None:
                q.sums.flush(watermark)
    result = counts.result(scenario, finish, queues)
    return result if defects is None else defects.result(result)


class _Defects:
    """Defects that surface after the order (a step's ``defect``): each buyer's, gathered
    step by step as the SimPy engine does (:func:`_defect`), surfaces ``defect_delay``
    after the order as the final moment of the remembered experience; the count and the
    remediation costs, summed in the order they surface."""

    def __init__(self) -> None:
        self.count = 0
        self.costs = _InOrder(1, 1)

    def start(self, batch: _Batch) -> None:
        m = batch.now.size
        for name in _DEFECTS:
            batch.cols[name] = np.zeros(m)

    def surface(self, out: _Batch) -> np.ndarray:
        """The buyers of ``out`` whose defects surface: their experience, remembered
        then, ends on the defect. Returns when each customer of ``out`` talks (a buyer
        with a defect once it has surfaced)."""
        cols = out.cols
        felt = cols["defect_irr"]
        hit = np.flatnonzero((out.outcome == ORDER) & (felt > 0))
        when = out.now.copy()
        if hit.size:
            self.count += hit.size
            when[hit] = out.now[hit] + cols["defect_delay"][hit]
            self.costs.add(when[hit], out.order[hit],
                           (cols["remedy"][hit], np.zeros(hit.size, dtype=np.int64)))  # fmt: skip
            out.peak[hit] = np.maximum(out.peak[hit], felt[hit])
            out.last[hit] = felt[hit]
        return when

    def result(self, result: RunResult) -> RunResult:
        self.costs.flush(math.inf)
        return dataclasses.replace(result, defects=self.count, remediation_costs=self.costs.sums[0])


def _defect(st: _Step, b: _Batch, idx: np.ndarray, sens: np.ndarray) -> None:
    """Customers ``idx`` completed ``st``: those its ``defect`` strikes carry it on (its
    irritation grown by their sensitivity, the longest delay, the costs added)."""
    if st.defect_p <= 0 or idx.size == 0:
        return
    cols = b.cols
    hit = idx[cols[st.i, "defect"][idx] < st.defect_p]
    cols["defect_irr"][hit] = cols["defect_irr"][hit] + st.defect_irr * sens[hit]
    cols["defect_delay"][hit] = np.maximum(cols["defect_delay"][hit], st.defect_delay)
    cols["remedy"][hit] = cols["remedy"][hit] + st.defect_cost


def _finish_sums(finish: _InOrder, out: _Batch, n_segs: int, n_steps: int) -> None:
    """The customers ``out`` (finished) into the sums SimPy adds as customers finish:
    money by outcome; checkout time (orders); revenue by segment or, for those who
    left, lost revenue by cause and step."""
    o = out.outcome.astype(np.int64)
    ordered = o == ORDER
    lost_sum = 4 + n_segs + np.where(o == FRICTION, 0, n_steps) + out.lost_at
    finish.add(
        out.now,
        out.order,
        (out.value, o),
        (out.now - out.clock, np.where(ordered, _CHECKOUT, -1)),
        (out.value, np.where(ordered, 4 + out.seg, lost_sum)),
    )


class _Counts:
    """Everything of a run that is counted, not summed in order: per step, segment and
    source, the histograms, and when the last customer left."""

    def __init__(self, scenario: Scenario) -> None:
        n_steps, n_segs = len(scenario.steps), len(scenario.segments)
        self.n_steps, self.n_segs = n_steps, n_segs
        self.visitors = 0
        self.entered = np.zeros(n_steps, dtype=np.int64)
        self.ab_friction = np.zeros(n_steps, dtype=np.int64)
        self.ab_exit = np.zeros(n_steps, dtype=np.int64)
        self.failed = np.zeros(n_steps, dtype=np.int64)
        self.fell_back = np.zeros(n_steps, dtype=np.int64)
        self.pass_units = [0] * n_steps  # minutes in the step, fixed point (result.fixed)
        self.pass_sq_units = [0] * n_steps  # squares from SQ_SPLIT, and below it:
        self.pass_sq_fine = [0] * n_steps
        self.irr_scale = IRRITATION_BINS / float(irritation_edges(scenario)[-1])
        self.irr_hist = np.zeros((n_steps, n_segs, IRRITATION_BINS), dtype=np.int64)
        self.tol_hist = np.zeros((n_segs, IRRITATION_BINS), dtype=np.int64)
        self.seg_visitors = np.zeros(n_segs, dtype=np.int64)
        self.seg_out = np.zeros((3, n_segs), dtype=np.int64)  # by outcome
        self.scores = np.zeros(n_segs * 11, dtype=np.int64)
        self.checkout_hist = np.zeros(TIME_BINS, dtype=np.int64)
        self.width = arrival_bin_width(scenario)
        self.by_source = np.zeros((len(SOURCES), arrival_bins(scenario)), dtype=np.int64)
        self.end_time = 0.0

    def arrive(self, clock: np.ndarray, seg: np.ndarray, tol: np.ndarray,
               src: np.ndarray | None = None) -> None:  # fmt: skip
        """Customers arriving at ``clock`` (of the sources ``src``; organic if not given)."""
        self.visitors += clock.size
        self.seg_visitors += np.bincount(seg, minlength=self.n_segs)
        tb = np.minimum(tol * self.irr_scale, IRRITATION_BINS - 1).astype(np.int64)
        self.tol_hist += _counts2(seg, tb, self.tol_hist.shape)
        n_bins = self.by_source.shape[1]
        b = (clock // self.width).astype(np.int64)
        if src is None:
            self.by_source[0] += np.bincount(b[b < n_bins], minlength=n_bins)
            return
        for s in range(len(SOURCES)):
            mine = b[(src == s) & (b < n_bins)]
            self.by_source[s] += np.bincount(mine, minlength=n_bins)

    def passing(self, i: int, done: np.ndarray, b: _Batch) -> None:
        """Customers ``done`` completed step ``i`` at ``b.now``: their minutes there."""
        if done.size:
            took = b.now[done] - b.entered_at[done]
            self.pass_units[i] += fixed_sum(took)
            fine, coarse = fixed_square_sums(took)
            self.pass_sq_fine[i] += fine
            self.pass_sq_units[i] += coarse

    def leave(self, out: _Batch, experience: Any) -> None:
        if out.now.size:
            self.end_time = max(self.end_time, float(out.now.max()))
        for k in (ORDER, FRICTION, EXIT):
            self.seg_out[k] += np.bincount(out.seg[out.outcome == k], minlength=self.n_segs)
        ordered = out.outcome == ORDER
        score = _scores(out.peak[ordered], out.last[ordered], out.tol[ordered],
                        experience.best, experience.scale)  # fmt: skip
        self.scores += np.bincount(out.seg[ordered] * 11 + score, minlength=self.n_segs * 11)
        took = out.now[ordered] - out.clock[ordered]
        bins = np.searchsorted(TIME_INNER_EDGES, took, side="right")
        self.checkout_hist += np.bincount(bins, minlength=TIME_BINS)

    def result(self, scenario: Scenario, finish: _InOrder,
               queues: list[_QueueCounts | None]) -> RunResult:  # fmt: skip
        finish.flush(math.inf)
        for q in queues:
            if q is not None:
                q.sums.flush(math.inf)
        n_steps, n_segs = self.n_steps, self.n_segs
        sums = finish.sums
        orders = int(self.seg_out[ORDER].sum())

        def per_queue(get: Any, dtype: Any) -> np.ndarray:
            return np.asarray([get(q) if q else 0 for q in queues], dtype=dtype)

        wait_hist = np.zeros((n_steps, TIME_BINS), dtype=np.int64)
        for i, q in enumerate(queues):
            if q is not None:
                wait_hist[i] = q.hist
        step0 = 4 + n_segs
        return RunResult(
            engine="fast",
            visitors=self.visitors,
            orders=orders,
            revenue=sums[ORDER],
            abandoned_friction=int(self.seg_out[FRICTION].sum()),
            abandoned_exit=int(self.seg_out[EXIT].sum()),
            lost_revenue_friction=sums[FRICTION],
            lost_revenue_exit=sums[EXIT],
            checkout_time_total=sums[_CHECKOUT],
            end_time=self.end_time,
            step_entered=self.entered,
            step_abandoned_friction=self.ab_friction,
            step_abandoned_exit=self.ab_exit,
            step_reneged=per_queue(lambda q: q.reneged, np.int64),
            step_balked=per_queue(lambda q: q.balked, np.int64),
            step_turned_away=np.zeros(len(self.entered), dtype=np.int64),  # no schedules here
            step_overtime=np.zeros(len(self.entered), dtype=float),
            step_recovery_offers=np.zeros(len(self.entered), dtype=np.int64),  # no offers here
            step_recovered=np.zeros(len(self.entered), dtype=np.int64),
            step_failed_attempts=self.failed,
            step_fell_back=self.fell_back,
            step_wait_total=per_queue(lambda q: q.sums.sums[0], float),
            step_waited=per_queue(lambda q: q.waited, np.int64),
            step_busy_time=per_queue(lambda q: q.sums.sums[1], float),
            step_max_in_service=per_queue(lambda q: q.state.max_busy, np.int64),
            step_in_service_at_end=np.zeros(n_steps, dtype=np.int64),  # every unit released
            segment_visitors=self.seg_visitors,
            segment_orders=self.seg_out[ORDER].copy(),
            segment_revenue=np.asarray(sums[4:step0], dtype=float),
            segment_abandoned_friction=self.seg_out[FRICTION].copy(),
            segment_abandoned_exit=self.seg_out[EXIT].copy(),
            step_lost_revenue_friction=np.asarray(sums[step0 : step0 + n_steps], dtype=float),
            step_lost_revenue_exit=np.asarray(sums[step0 + n_steps :], dtype=float),
            segment_scores=self.scores.reshape(n_segs, 11),
            source_visitors=np.asarray([self.visitors, 0, 0], dtype=np.int64),
            source_orders=np.asarray([orders, 0, 0], dtype=np.int64),
            source_revenue=np.asarray([sums[ORDER], 0.0, 0.0], dtype=float),
            prospects_lost=0,
            reminders_sent=0,
            deterrals_unused=0,
            defects=0,
            arrival_bin_minutes=self.width,
            arrivals_by_source=self.by_source,
            step_irritation_hist=self.irr_hist,
            segment_tolerance_hist=self.tol_hist,
            step_wait_hist=wait_hist,
            checkout_time_hist=self.checkout_hist,
            step_pass_minutes=from_fixed(self.pass_units),
            step_pass_minutes_sq=squares_sum(self.pass_sq_fine, self.pass_sq_units),
        )


def _counts2(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """How often each (row, column) pair occurs, as a ``shape`` table of counts."""
    flat = np.bincount(rows * shape[1] + cols, minlength=shape[0] * shape[1])
    return flat.reshape(shape)


def _scores(
    peak: np.ndarray, last: np.ndarray, tol: np.ndarray, best: float, scale: float
) -> np.ndarray:
    """:func:`~.simpy_engine.recommend_score`, element by element (same float operations)."""
    remembered = np.maximum(0.0, (peak + last) / 2)  # relief lightens it down to nothing
    limit = scale * tol
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        raw = best * (1.0 - remembered / limit)
    raw = np.where(remembered >= limit, 0.0, raw)
    raw = np.where(limit > 0, raw, np.where(remembered <= 0, best, 0.0))  # underflow
    raw = np.where(tol > 0, raw, 0.0)
    return np.clip(np.floor(raw + 0.5), 0, 10).astype(np.int64)


def _walk(
    steps: list[_Step],
    order: list[int],
    b: _Batch,
    customers: _Customers,
    counts: _Counts,
    queues: list[_QueueCounts | None],
    watermark: float,
) -> None:
    """Walk a batch of customers through the steps, in topological order (its columns
    and ``counts`` updated in place). At a queue, only those who reach it before the
    ``watermark`` (the next chunk's first arrival: nobody not yet walked can reach it
    earlier) are served; the others stay there, parked, for the next batch."""
    seg, now, irr, limit, start, peak, last = b.seg, b.now, b.irr, b.limit, b.start, b.peak, b.last
    src = b.cols.get("src")  # the sources, where word of mouth and returns bring visits
    back = None if src is None else src == RETURNING  # fields saved: ``entry_saved``
    sens = customers.sens[seg]
    committing = customers.commit[seg] if customers.commit.any() else None
    top = IRRITATION_BINS - 1
    compiled = None if PYTHON_STEPS else plain.compiled()
    for i in order:
        at = np.flatnonzero(b.where == i)
        if at.size == 0:
            continue
        st = steps[i]
        cols = b.cols
        if compiled is not None and not st.capacity and not st.defect_p:
            _plain(compiled, st, b, at, customers, counts, committing is not None, back)
            continue
        commit = committing if st.commits else None
        waiting = at[b.parked[at]]  # entered in an earlier batch, still in the queue
        idx = at[~b.parked[at]]
        counts.entered[i] += idx.size
        start[idx] = irr[idx]
        b.entered_at[idx] = now[idx]
        if back is None or st.entry_saved == st.entry:
            irr[idx] = irr[idx] + st.entry * sens[idx]
        else:
            irr[idx] = irr[idx] + np.where(back[idx], st.entry_saved, st.entry) * sens[idx]
        if st.entry < 0 or (back is not None and st.entry_saved < 0):  # relief: not below 0
            irr[idx] = np.maximum(irr[idx], 0.0)
        bins = np.minimum(irr[idx] * counts.irr_scale, top).astype(np.int64)
        counts.irr_hist[i] += _counts2(seg[idx], bins, counts.irr_hist[i].shape)
        too_much = irr[idx] >= limit[idx]
        gone = [idx[too_much]]
        idx = idx[~too_much]
        if st.exits:
            p_exit = st.exit_of[seg[idx]]
            if st.exit_slope:
                p_exit = np.minimum(1.0, p_exit + st.exit_slope * irr[idx])
            left = cols[i, "exit"][idx] < p_exit
            out = idx[left]
            b.outcome[out] = EXIT
            b.where[out] = -2
            b.lost_at[out] = i
            counts.ab_exit[i] += out.size
            idx = idx[~left]
        if st.capacity:
            queue = np.concatenate((waiting, idx))
            ready = now[queue] < watermark
            b.parked[queue[~ready]] = True
            idx, lost, routed = _serve(st, queues[i], counts, b, queue[ready], sens)
            b.parked[queue[ready]] = False
            gone.append(lost)
            _route(st, b, routed, counts)
            counts.passing(i, idx, b)
            _complete(idx, irr, start, peak, last, limit, commit)
            _defect(st, b, idx, sens)
            st.advance(b, idx)
            idx = idx[:0]
        for a in range(st.attempts if idx.size else 0):
            d = None if st.dur_const is not None else cols[i, "dur"][idx, a]
            if st.time_irr > 0:  # irritation grows while they perform it
                if d is None:
                    d = np.full(idx.size, st.dur_const)
                reach = _perform_timed(idx, d, st.time_irr * sens[idx], now, irr, limit)
                gone.append(idx[reach])
                idx = idx[~reach]
            elif d is None:
                if st.dur_const > 0:
                    now[idx] = now[idx] + st.dur_const
            else:
                now[idx] = np.where(d > 0, now[idx] + d, now[idx])
            if not st.failing:
                break
            fail = cols[i, "err"][idx, a] < st.err_p_of[seg[idx]]
            bad = idx[fail]
            counts.passing(i, idx[~fail], b)
            _complete(idx[~fail], irr, start, peak, last, limit, commit)
            _defect(st, b, idx[~fail], sens)
            st.advance(b, idx[~fail])
            counts.failed[i] += bad.size
            irr[bad] = irr[bad] + st.err_irr * sens[bad]
            if a == st.attempts - 1:
                if st.fallback < 0:
                    gone.append(bad)  # max_attempts failures: they give up
                else:  # ... or go on to the fallback, unless irritation reached the limit
                    over = irr[bad] >= limit[bad]
                    gone.append(bad[over])
                    _route(st, b, bad[~over], counts)
                idx = bad[:0]
                break
            give_up = irr[bad] >= limit[bad]
            gone.append(bad[give_up])
            idx = bad[~give_up]  # they try again
        counts.passing(i, idx, b)
        _complete(idx, irr, start, peak, last, limit, commit)
        _defect(st, b, idx, sens)
        st.advance(b, idx)
        lost = np.concatenate(gone)
        b.outcome[lost] = FRICTION
        b.where[lost] = -2
        b.lost_at[lost] = i
        counts.ab_friction[i] += lost.size


_NO_ROWS = np.zeros(0)
_NO_COLUMNS = np.zeros((0, 0))


def _plain(
    walk: Any,
    st: _Step,
    b: _Batch,
    idx: np.ndarray,
    customers: _Customers,
    counts: _Counts,
    committing: bool,
    back: np.ndarray | None = None,
) -> None:
    """Customers ``idx`` through ``st``, a step without capacity, by the compiled
    :func:`.plain.walk` (the same numbers as the array code of :func:`_walk`); returning
    customers (``back``) feel its ``entry_saved``, in a call of their own."""
    i, cols = st.i, b.cols
    n = np.zeros(5, dtype=np.int64)
    sums = np.zeros(plain.N_SUMS, dtype=np.int64)
    groups = [(idx, st.entry)]
    if back is not None and st.entry_saved != st.entry:
        mine = back[idx]
        groups = [(idx[~mine], st.entry), (idx[mine], st.entry_saved)]
    for rows, entry in groups:
        walk(
            rows, b.seg, b.now, b.irr, b.limit, b.start, b.peak, b.last, b.where, b.outcome,
            b.lost_at, b.entered_at, customers.sens, customers.commit,
            cols.get((i, "exit"), _NO_ROWS), cols.get((i, "dur"), _NO_COLUMNS),
            cols.get((i, "err"), _NO_COLUMNS), cols.get((i, "branch"), _NO_ROWS),
            i, float(entry), float(counts.irr_scale), IRRITATION_BINS - 1, bool(st.exits),
            st.exit_of, float(st.exit_slope), int(st.attempts), st.dur_const is not None,
            float(st.dur_const or 0.0), float(st.time_irr), bool(st.failing), st.err_p_of,
            float(st.err_irr), int(st.fallback), bool(st.commits and committing),
            st.next_single is not None, int(st.next_single or 0), st.next_to, st.cum_of,
            counts.irr_hist[i], n, sums,
        )  # fmt: skip
    counts.entered[i] += n[plain.ENTERED]
    counts.ab_exit[i] += n[plain.ABANDONED_EXIT]
    counts.ab_friction[i] += n[plain.ABANDONED_FRICTION]
    counts.failed[i] += n[plain.FAILED]
    counts.fell_back[i] += n[plain.FELL_BACK]
    whole = [(int(sums[k]) << LOW_BITS) + int(sums[k + 1]) for k in (0, 2, 4)]
    counts.pass_units[i] += whole[0]
    counts.pass_sq_fine[i] += whole[1]
    counts.pass_sq_units[i] += whole[2]


def _route(st: _Step, b: _Batch, idx: np.ndarray, counts: _Counts) -> None:
    """Customers ``idx`` failed every attempt at ``st`` and go on to its fallback step:
    not completed (no commitment), but what they felt there is a moment."""
    counts.fell_back[st.i] += idx.size
    if idx.size:
        _complete(idx, b.irr, b.start, b.peak, b.last, b.limit, None)
        b.where[idx] = st.fallback


def _serve(
    st: _Step,
    q: _QueueCounts,
    counts: _Counts,
    b: _Batch,
    idx: np.ndarray,
    sens: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Customers ``idx`` at a step with ``capacity``, first come first served, through
    :func:`.fcfs.walk` in the order they reach the step, after everyone who reached it
    in earlier batches. Two events at the same instant (two arrivals at once, an
    arrival as a unit is freed, a renege as it is handed on, a hand-on to a customer
    who takes no time) raise :class:`_Tie`.

    Returns the customers who completed the step, those lost there (friction) and those
    who failed every attempt and go on to the step's fallback; the batch's ``now`` and
    ``irr`` are updated in place.
    """
    from . import fcfs

    now, irr = b.now, b.irr
    t_all = now[idx]
    order = np.argsort(t_all, kind="stable")  # two at the same instant: a tie, below
    idx = idx[order]
    arrive = t_all[order]
    if arrive.size > 1 and not np.all(arrive[1:] > arrive[:-1]):
        raise _Tie
    i = st.i
    out = fcfs.run(
        q.state,
        arrive,
        irr[idx],
        b.limit[idx],
        sens[idx],
        st.err_p_of[b.seg[idx]],
        None if st.dur_const is not None else np.ascontiguousarray(b.cols[i, "dur"][idx].T),
        st.dur_const,
        np.ascontiguousarray(b.cols[i, "err"][idx].T) if st.failing else None,
        st.attempts,
        st.wait_irr,
        st.time_irr,
        st.err_irr,
        st.balk_at,
        st.fallback >= 0,
    )
    end, irr_out, status, waits, wait_ends, n_waits, holds, releases, n_holds = out[:9]
    reneged, failed, tie = out[9], out[10], out[13]
    if tie:
        raise _Tie
    q.reneged += int(reneged)
    q.balked += int(out[14])
    q.waited += int(n_waits)
    counts.failed[i] += int(failed)
    waits, wait_ends = waits[:n_waits], wait_ends[:n_waits]
    holds, releases = holds[:n_holds], releases[:n_holds]
    bins = np.searchsorted(TIME_INNER_EDGES, waits, side="right")
    q.hist += np.bincount(bins, minlength=TIME_BINS)
    seen = q.seen + np.arange(n_waits + n_holds, dtype=np.int64)
    q.seen += n_waits + n_holds
    q.sums.add(wait_ends, seen[:n_waits], (waits, np.zeros(n_waits, dtype=np.int64)))
    q.sums.add(releases, seen[n_waits:], (holds, np.ones(n_holds, dtype=np.int64)))
    now[idx] = end
    irr[idx] = irr_out
    return idx[status == fcfs.DONE], idx[status == fcfs.LOST], idx[status == fcfs.ROUTED]


def _perform_timed(
    idx: np.ndarray,
    d: np.ndarray,
    rate: np.ndarray,
    now: np.ndarray,
    irr: np.ndarray,
    limit: np.ndarray,
) -> np.ndarray:
    """Customers ``idx`` perform an attempt of ``d`` minutes, their irritation growing by
    ``rate`` a minute (``now``, ``irr`` updated in place). Those whose irritation reaches
    their limit stop at that moment, with irritation at the limit: returned, as a mask
    over ``idx``."""
    timed = d > 0
    felt = irr[idx] + rate * d
    reach = timed & (felt >= limit[idx])  # the limit is reached mid-attempt
    out = idx[reach]
    now[out] = now[out] + (limit[out] - irr[out]) / rate[reach]
    irr[out] = limit[out]
    on = timed & ~reach
    stay = idx[on]
    now[stay] = now[stay] + d[on]
    irr[stay] = felt[on]
    return reach


def _complete(
    done: np.ndarray,
    irr: np.ndarray,
    start: np.ndarray,
    peak: np.ndarray,
    last: np.ndarray,
    limit: np.ndarray,
    commit: np.ndarray | None,
) -> None:
    """Customers ``done`` completed the current step: their limit grows by their
    commitment, and what they felt here, if anything, is their latest moment."""
    if commit is not None:
        limit[done] = limit[done] + commit[done]
    felt = irr[done] - start[done]
    moment = felt != 0.0  # a step where nothing was felt is not a moment
    worst = peak[done]
    peak[done] = np.where(moment & (felt > worst), felt, worst)
    last[done] = np.where(moment, felt, last[done])


def _uniform(rng: np.random.Generator) -> np.ndarray:
    return rng.random(BLOCK)


__all__ = ["KNOWN_FIELDS", "KNOWN_RESULT_FIELDS", "simulate", "supports", "unsupported_reason"]
