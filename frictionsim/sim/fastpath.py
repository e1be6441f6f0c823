"""A vectorized engine for checkouts without loops, queues included.

Without loops a customer visits each step at most once. Without ``capacity``
nobody waits for anybody, and a customer's path depends only on their own
random numbers; at a step with ``capacity`` customers meet only in its
first-come-first-served queue, which :func:`_serve` walks in the order they
reach it, so no event calendar is needed there either (the whole replication
is then walked at once, step by step in topological order).

This module draws exactly the random numbers the SimPy
engine (:mod:`.simpy_engine`) draws — the same substreams of :mod:`.streams`,
keyed by purpose and name, in the same blocks of ``BLOCK`` customers, row *i*
for customer *i* — and walks every customer through the steps at once with
numpy array operations, one step at a time in topological order. The result
is the same :class:`~.result.RunResult`, field for field: counters are
identical, times are the same float sums (``now + duration`` in the order
SimPy adds them), and money and checkout-time totals are summed in the order
the customers finish, as SimPy's event loop does.

The one ordering SimPy decides that this module imitates rather than
reproduces is between customers who finish at exactly the same float time
(ties are broken by arrival order); with continuous arrivals that does not
happen in practice, and only the last bits of the float totals could differ.
In a queue, order decides who is served: two events there at the same instant
raise :class:`_Tie`, and :func:`simulate` hands that replication to the SimPy
engine.

:func:`unsupported_reason` is the explicit predicate of what this engine
handles. Anything else — a capacity step that takes no time, a loop, a
per-customer table,
or any scenario key it does not know about (features added to the SimPy
engine later) — makes it return a reason, and the execution layer falls back
to the SimPy engine.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from pydantic import BaseModel

from ..scenario import Scenario
from . import fcfs
from .codes import EXIT, FRICTION, ORDER, ORGANIC, SOURCES
from .result import IRRITATION_BINS, TIME_BINS, TIME_INNER_EDGES, RunResult, irritation_edges
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
        }
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
            "time_irritation",
            "exit_irritation",
            "next",
            "by_segment",
            "cost",  # applied by stats, not by the engine
        }
    ),
    "Errors": frozenset({"p", "irritation", "max_attempts"}),
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
        "step_failed_attempts",
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
        "deterrals_unused",
        "defects",
        "arrival_bin_minutes",
        "arrivals_by_source",
        "customers",
        "step_irritation_hist",
        "segment_tolerance_hist",
        "step_wait_hist",
        "checkout_time_hist",
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
    if scenario.expected_visitors > MAX_CUSTOMERS:
        return (
            f"about {scenario.expected_visitors:,.0f} customers per replication; the fast "
            f"path holds every customer in memory (at most {MAX_CUSTOMERS:,})"
        )
    if scenario.flow.has_cycle:
        return "the flow has a loop"
    if _queues(scenario):
        held = scenario.expected_visitors * scenario.draws_per_customer() * 8
        if held > MAX_QUEUE_DRAW_BYTES or scenario.expected_visitors > MAX_QUEUE_CUSTOMERS:
            return (
                f"a flow with a queue walks every customer at once: about "
                f"{scenario.expected_visitors:,.0f} customers and {held / 2**20:,.0f} MB of "
                f"random numbers per replication (at most {MAX_QUEUE_CUSTOMERS:,} and "
                f"{MAX_QUEUE_DRAW_BYTES / 2**20:,.0f} MB); the SimPy engine's memory does "
                "not grow with them"
            )
    return None


def _queues(scenario: Scenario) -> bool:
    return any(step.capacity for step in scenario.steps)


def supports(scenario: Scenario, record_customers: bool = False) -> bool:
    """True when :func:`simulate` gives exactly the SimPy engine's result for ``scenario``."""
    return unsupported_reason(scenario, record_customers) is None


def _arrival_clock(times: np.ndarray) -> np.ndarray:
    """SimPy's clock at each arrival: ``now + (t - now)``, skipped when ``t <= now``.

    Usually this is ``t`` exactly, but float rounding can leave it an ulp off
    (after a long gap); the fixed point reproduces that chain of additions.
    """
    clock = times.copy()
    while True:
        prev = np.concatenate(([0.0], clock[:-1]))
        delay = times - prev
        new = np.where(delay > 0, prev + delay, prev)
        if np.array_equal(new, clock):
            return clock
        clock = new


def _sequential_sum(x: np.ndarray) -> float:
    """``0.0 + x[0] + x[1] + ...`` in this order (like a Python loop of ``+=``)."""
    return float(np.cumsum(x)[-1]) if x.size else 0.0


#: Customers walked through the steps together (a whole number of blocks): large
#: enough for numpy to pay off, small enough to stay in cache and bound memory.
CHUNK = 16 * BLOCK
#: Bytes of random numbers drawn for one chunk at most: a long flow with many
#: attempts walks fewer blocks at once (the draws are the same whatever the chunk).
CHUNK_BYTES = 64 * 2**20
#: Expected customers of one replication at most: the fast path keeps a few arrays
#: over all customers (about 130 bytes each); larger runs use the SimPy engine,
#: whose memory does not grow with the number of customers.
MAX_CUSTOMERS = 2_000_000
#: Random numbers of one replication at most in a flow with a queue (bytes): customers
#: meet there in the order they reach it, so the walk cannot go chunk by chunk.
MAX_QUEUE_DRAW_BYTES = 512 * 2**20
#: Expected customers of one replication at most in a flow with a queue.
MAX_QUEUE_CUSTOMERS = 500_000


#: Walk queues in Python even where numba is installed (the numbers are the same).
PYTHON_QUEUES = False


class _Tie(Exception):
    """Two events of a queue at the same instant: their order is SimPy's event queue's."""


class _Customers:
    """Segment, tolerance and order value of customers, drawn block by block."""

    def __init__(self, scenario: Scenario, streams: Streams) -> None:
        self.segments = scenario.segments
        self.customer_rng = streams.customer
        self.segment_rngs = streams.segment
        self.seg_cum = np.cumsum([s.share for s in scenario.segments])
        self.sens = np.asarray([s.sensitivity for s in scenario.segments], dtype=float)
        self.commit = np.asarray([s.commitment for s in scenario.segments], dtype=float)

    def draw(self, blocks: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        size = blocks * BLOCK
        seg = np.empty(size, dtype=np.int64)
        tol = np.empty(size)
        value = np.empty(size)
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
        return seg, tol, value


class _Step(StepPlan):
    """The plan of a step both engines use (:class:`~.streams.StepPlan`), its branch
    table as arrays, and its random streams; :meth:`draw` gives the next blocks' numbers."""

    def __init__(self, scenario: Scenario, i: int, streams: Streams) -> None:
        super().__init__(scenario, i)
        self.duration = self.dur_dist
        self.next_to = np.asarray(self.next_to, dtype=np.int64)
        # segments that branch with their own probabilities (not the step's list), and theirs
        self.own_branches = [
            (k, np.asarray(cum))
            for k, cum in enumerate(self.next_cum_seg)
            if cum is not self.next_cum
        ]
        self.next_cum = np.asarray(self.next_cum)
        self.exit_of = np.asarray(self.exit_seg, dtype=float)  # per segment
        self.err_p_of = np.asarray(self.err_p_seg, dtype=float)
        self.rng_exit = streams.exit[i]
        self.rng_branch = streams.branch[i]
        self.rng_dur = streams.dur[i]
        self.rng_err = streams.err[i]

    def draw(self, blocks: int) -> None:
        """Random numbers of the next ``blocks`` blocks of customers, one row per customer."""

        def per_block(rngs: list[np.random.Generator], sample: Any) -> list[np.ndarray]:
            out = [np.empty(blocks * BLOCK) for _ in rngs]
            for b in range(blocks):
                for a, rng in enumerate(rngs):  # attempt a of customer j: a * BLOCK + j
                    out[a][b * BLOCK : (b + 1) * BLOCK] = sample(rng)
            return out

        self.exit_u = per_block([self.rng_exit], _uniform)[0] if self.exits else None
        self.branch_u = (
            per_block([self.rng_branch], _uniform)[0] if self.next_single is None else None
        )
        self.dur = (
            per_block(self.rng_dur, lambda r: self.duration.sample(r, BLOCK))
            if self.dur_const is None
            else None
        )
        self.err_u = per_block(self.rng_err, _uniform) if self.failing else None

    def advance(self, where: np.ndarray, idx: np.ndarray, seg: np.ndarray) -> None:
        """Send the customers ``idx`` (of segments ``seg``), who completed this step, to its
        successor."""
        if idx.size == 0:
            return
        if self.next_single is not None:
            where[idx] = self.next_single
            return
        u = self.branch_u[idx]
        k = np.searchsorted(self.next_cum, u, side="right")
        for g, cum in self.own_branches:  # a segment's own branch probabilities
            mine = seg[idx] == g
            k[mine] = np.searchsorted(cum, u[mine], side="right")
        where[idx] = self.next_to[k]


def simulate(scenario: Scenario, seq: np.random.SeedSequence, *, arrivals: Any = None) -> RunResult:
    """One replication, identical to the SimPy engine's :func:`~.simpy_engine.simulate` where
    supported."""
    reason = unsupported_reason(scenario)
    if reason:
        raise ValueError(f"fast path cannot run this scenario: {reason}")
    try:
        return _simulate(scenario, seq, arrivals)
    except _Tie:  # an instant whose order only SimPy's event queue knows: let it decide
        from .simpy_engine import simulate as simpy_simulate

        return simpy_simulate(scenario, seq, arrivals=arrivals)


def _simulate(scenario: Scenario, seq: np.random.SeedSequence, arrivals: Any) -> RunResult:
    if arrivals is None:
        arrival_rng = substream(seq, "arrivals")
        chunks = [np.asarray(c, dtype=float) for c in arrival_times(scenario, arrival_rng)]
        times = np.concatenate(chunks) if chunks else np.empty(0)
    else:
        times = np.asarray(arrivals, dtype=float)
    n = times.size
    n_steps, n_segs = len(scenario.steps), len(scenario.segments)
    clock = _arrival_clock(times)
    del times

    streams = Streams(scenario, seq, ORGANIC)
    customers = _Customers(scenario, streams)
    steps = [_Step(scenario, i, streams) for i in range(n_steps)]
    order = scenario.flow.topological_order
    draws = scenario.draws_per_customer()
    # per customer, for the totals that SimPy sums in the order customers finish
    finished_at = np.empty(n)
    outcome = np.empty(n, dtype=np.int8)
    value = np.empty(n)
    seg = np.empty(n, dtype=np.int64)
    entered = np.zeros(n_steps, dtype=np.int64)
    ab_friction = np.zeros(n_steps, dtype=np.int64)
    ab_exit = np.zeros(n_steps, dtype=np.int64)
    failed = np.zeros(n_steps, dtype=np.int64)
    lost_at = np.empty(n, dtype=np.int64)  # the step where a customer left (-1: ordered)
    score = np.empty(n, dtype=np.int64)  # 0-10 for those who ordered
    irr_scale = IRRITATION_BINS / float(irritation_edges(scenario)[-1])
    irr_hist = np.zeros((n_steps, n_segs, IRRITATION_BINS), dtype=np.int64)
    tol_hist = np.zeros((n_segs, IRRITATION_BINS), dtype=np.int64)
    experience = scenario.experience
    chunk = BLOCK * max(1, min(CHUNK // BLOCK, CHUNK_BYTES // (8 * BLOCK * draws)))
    queues = [_QueueCounts() if st.capacity else None for st in steps]
    if _queues(scenario):  # customers meet at a queue in the order they reach it: all at once
        chunk = max(chunk, -(-n // BLOCK) * BLOCK)
    for c0 in range(0, n, chunk):
        m = min(chunk, n - c0)
        blocks = -(-m // BLOCK)
        c_seg, tol, c_value = customers.draw(blocks)
        for st in steps:
            st.draw(blocks)
        rows = slice(c0, c0 + m)
        seg[rows], value[rows] = c_seg[:m], c_value[:m]
        now = clock[rows].copy()
        out = _walk(steps, order, c_seg[:m], customers, tol[:m], now, irr_scale, irr_hist, queues)
        outcome[rows], finished_at[rows] = out[0], now
        entered += out[1]
        ab_friction += out[2]
        ab_exit += out[3]
        failed += out[4]
        lost_at[rows] = out[5]
        score[rows] = _scores(out[6], out[7], tol[:m], experience.best, experience.scale)
        tb = np.minimum(tol[:m] * irr_scale, IRRITATION_BINS - 1).astype(np.int64)
        np.add.at(tol_hist, (c_seg[:m], tb), 1)

    # -- totals, summed in the order customers finish (time, then arrival) -----------------
    finish = np.argsort(finished_at, kind="stable")
    o_sorted = outcome[finish]
    v_sorted = value[finish]
    money = [_sequential_sum(v_sorted[o_sorted == k]) for k in (ORDER, FRICTION, EXIT)]
    order_rows = finish[o_sorted == ORDER]
    checkout_time = _sequential_sum(finished_at[order_rows] - clock[order_rows])
    seg_sorted = seg[finish]
    seg_revenue = [
        _sequential_sum(v_sorted[(o_sorted == ORDER) & (seg_sorted == k)]) for k in range(n_segs)
    ]
    end_time = float(finished_at.max()) if n else 0.0  # when the last customer left

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(seg[mask], minlength=n_segs).astype(np.int64)

    # money lost at each step, summed in finishing order like SimPy
    at_sorted = lost_at[finish]
    step_lost = [
        np.asarray(
            [_sequential_sum(v_sorted[(o_sorted == k) & (at_sorted == s)]) for s in range(n_steps)],
            dtype=float,
        )
        for k in (FRICTION, EXIT)
    ]
    ordered = outcome == ORDER
    scores = np.bincount(seg[ordered] * 11 + score[ordered], minlength=n_segs * 11)
    width = arrival_bin_width(scenario)
    n_bins = arrival_bins(scenario)
    by_source = np.zeros((len(SOURCES), n_bins), dtype=np.int64)
    b = (clock // width).astype(np.int64)
    by_source[0] = np.bincount(b[b < n_bins], minlength=n_bins)
    waited = finished_at[ordered] - clock[ordered]
    checkout_bins = np.searchsorted(TIME_INNER_EDGES, waited, side="right")
    n_orders = int(ordered.sum())

    def per_queue(get: Any, dtype: Any) -> np.ndarray:
        return np.asarray([get(q) if q else 0 for q in queues], dtype=dtype)

    wait_hist = np.zeros((n_steps, TIME_BINS), dtype=np.int64)
    for i, q in enumerate(queues):
        if q is not None:
            wait_hist[i] = q.wait_hist()
    return RunResult(
        visitors=n,
        orders=n_orders,
        revenue=money[ORDER],
        abandoned_friction=int((outcome == FRICTION).sum()),
        abandoned_exit=int((outcome == EXIT).sum()),
        lost_revenue_friction=money[FRICTION],
        lost_revenue_exit=money[EXIT],
        checkout_time_total=checkout_time,
        end_time=end_time,
        step_entered=entered,
        step_abandoned_friction=ab_friction,
        step_abandoned_exit=ab_exit,
        step_reneged=per_queue(lambda q: q.reneged, np.int64),
        step_failed_attempts=failed,
        step_wait_total=per_queue(lambda q: q.wait_total(), float),
        step_waited=per_queue(lambda q: len(q.waits), np.int64),
        step_busy_time=per_queue(lambda q: q.busy_time(), float),
        step_max_in_service=per_queue(lambda q: q.max_busy, np.int64),
        step_in_service_at_end=np.zeros(n_steps, dtype=np.int64),  # every unit is released
        segment_visitors=np.bincount(seg, minlength=n_segs).astype(np.int64),
        segment_orders=count(ordered),
        segment_revenue=np.asarray(seg_revenue, dtype=float),
        segment_abandoned_friction=count(outcome == FRICTION),
        segment_abandoned_exit=count(outcome == EXIT),
        step_lost_revenue_friction=step_lost[0],
        step_lost_revenue_exit=step_lost[1],
        segment_scores=scores.reshape(n_segs, 11).astype(np.int64),
        source_visitors=np.asarray([n, 0, 0], dtype=np.int64),
        source_orders=np.asarray([n_orders, 0, 0], dtype=np.int64),
        source_revenue=np.asarray([money[ORDER], 0.0, 0.0], dtype=float),
        prospects_lost=0,
        deterrals_unused=0,
        defects=0,
        arrival_bin_minutes=width,
        arrivals_by_source=by_source,
        step_irritation_hist=irr_hist,
        segment_tolerance_hist=tol_hist,
        step_wait_hist=wait_hist,
        checkout_time_hist=np.bincount(checkout_bins, minlength=TIME_BINS).astype(np.int64),
    )


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
    seg: np.ndarray,
    customers: _Customers,
    tol: np.ndarray,
    now: np.ndarray,
    irr_scale: float,
    irr_hist: np.ndarray,
    queues: list[_QueueCounts | None],
) -> tuple[np.ndarray, ...]:
    """Walk a chunk of customers through the steps (``now`` and ``irr_hist`` are updated
    in place, and what happens in each queue is counted in ``queues``; with a queue, the
    chunk is every customer).

    Returns each customer's outcome, the chunk's per-step entered, friction, exit
    and failed-attempt counts, the step where each customer left (-1 for an
    order), and each customer's worst and last step irritation (peak-end).
    """
    n, n_steps = seg.size, len(steps)
    sens = customers.sens[seg]
    limit = tol.copy()  # the tolerance, grown by commitment with every step completed
    committing = customers.commit[seg] if customers.commit.any() else None
    where = np.zeros(n, dtype=np.int64)  # current step; END (-1) once the order is complete
    irr = np.zeros(n)
    outcome = np.full(n, ORDER, dtype=np.int8)
    entered = np.zeros(n_steps, dtype=np.int64)
    ab_friction = np.zeros(n_steps, dtype=np.int64)
    ab_exit = np.zeros(n_steps, dtype=np.int64)
    failed = np.zeros(n_steps, dtype=np.int64)
    lost_at = np.full(n, -1, dtype=np.int64)
    start = np.zeros(n)  # irritation on arriving at the current step
    peak = np.zeros(n)
    last = np.zeros(n)
    top = IRRITATION_BINS - 1
    for i in order:
        idx = np.flatnonzero(where == i)
        if idx.size == 0:
            continue
        st = steps[i]
        commit = committing if st.commits else None
        entered[i] = idx.size
        start[idx] = irr[idx]
        irr[idx] = irr[idx] + st.entry * sens[idx]
        if st.entry < 0:  # relief lowers irritation, never below 0
            irr[idx] = np.maximum(irr[idx], 0.0)
        b = np.minimum(irr[idx] * irr_scale, top).astype(np.int64)
        np.add.at(irr_hist[i], (seg[idx], b), 1)
        too_much = irr[idx] >= limit[idx]
        gone = [idx[too_much]]
        idx = idx[~too_much]
        if st.exits:
            p_exit = st.exit_of[seg[idx]]
            if st.exit_slope:
                p_exit = np.minimum(1.0, p_exit + st.exit_slope * irr[idx])
            left = st.exit_u[idx] < p_exit
            outcome[idx[left]] = EXIT
            where[idx[left]] = -2
            ab_exit[i] = np.count_nonzero(left)
            lost_at[idx[left]] = i
            idx = idx[~left]
        if st.capacity:
            idx, lost = _serve(st, queues[i], idx, seg, sens, now, irr, limit)
            failed[i] += queues[i].failed
            queues[i].failed = 0
            gone.append(lost)
            _complete(idx, irr, start, peak, last, limit, commit)
            st.advance(where, idx, seg)
            idx = idx[:0]
        for a in range(st.attempts if idx.size else 0):
            d = None if st.dur_const is not None else st.dur[a][idx]
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
            fail = st.err_u[a][idx] < st.err_p_of[seg[idx]]
            bad = idx[fail]
            _complete(idx[~fail], irr, start, peak, last, limit, commit)
            st.advance(where, idx[~fail], seg)
            failed[i] += bad.size
            irr[bad] = irr[bad] + st.err_irr * sens[bad]
            if a == st.attempts - 1:
                gone.append(bad)  # max_attempts failures: they give up
                idx = bad[:0]
                break
            give_up = irr[bad] >= limit[bad]
            gone.append(bad[give_up])
            idx = bad[~give_up]  # they try again
        _complete(idx, irr, start, peak, last, limit, commit)
        st.advance(where, idx, seg)
        lost = np.concatenate(gone)
        outcome[lost] = FRICTION
        where[lost] = -2
        lost_at[lost] = i
        ab_friction[i] = lost.size
    return outcome, entered, ab_friction, ab_exit, failed, lost_at, peak, last


class _QueueCounts:
    """What one capacity step's queue saw: waits (with the moment each ended), units held
    (with the moment each was released), reneging customers and the most units in use."""

    def __init__(self) -> None:
        self.reneged = 0
        self.failed = 0  # failed attempts of the walk's current call (moved to its counts)
        self.max_busy = 0
        self.waits: list[float] = []
        self.wait_ends: list[float] = []
        self.held: list[float] = []
        self.releases: list[float] = []

    def wait_total(self) -> float:
        """The waits summed in the order they ended, as SimPy's clock adds them."""
        order = np.argsort(np.asarray(self.wait_ends), kind="stable")
        return _sequential_sum(np.asarray(self.waits)[order])

    def busy_time(self) -> float:
        order = np.argsort(np.asarray(self.releases), kind="stable")
        return _sequential_sum(np.asarray(self.held)[order])

    def wait_hist(self) -> np.ndarray:
        bins = np.searchsorted(TIME_INNER_EDGES, np.asarray(self.waits), side="right")
        return np.bincount(bins, minlength=TIME_BINS).astype(np.int64)


def _serve(
    st: _Step,
    counts: _QueueCounts,
    idx: np.ndarray,
    seg: np.ndarray,
    sens: np.ndarray,
    now: np.ndarray,
    irr: np.ndarray,
    limit: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Customers ``idx`` at a step with ``capacity``, first come first served, through
    :func:`.fcfs.walk` in the order they reach the step. Two events at the same instant
    (two arrivals at once, an arrival as a unit is freed, a renege as it is handed on, a
    hand-on to a customer who takes no time) raise :class:`_Tie`.

    Returns the customers who completed the step and those lost there (friction);
    ``now`` and ``irr`` are updated in place.
    """
    t_all = now[idx]
    order = np.argsort(t_all, kind="stable")
    idx = idx[order]
    arrive = t_all[order]
    if arrive.size > 1 and not np.all(arrive[1:] > arrive[:-1]):
        raise _Tie
    out = fcfs.run(
        arrive,
        irr[idx],
        limit[idx],
        sens[idx],
        st.err_p_of[seg[idx]],
        None if st.dur_const is not None else np.stack([d[idx] for d in st.dur]),
        st.dur_const,
        np.stack([u[idx] for u in st.err_u]) if st.failing else None,
        st.attempts,
        st.wait_irr,
        st.time_irr,
        st.err_irr,
        st.capacity,
        python=PYTHON_QUEUES,
    )
    end, irr_out, status, waits, wait_ends, n_waits, holds, releases, n_holds = out[:9]
    reneged, failed, max_busy, tie = out[9:]
    if tie:
        raise _Tie
    counts.reneged += int(reneged)
    counts.failed += int(failed)
    counts.max_busy = max(counts.max_busy, int(max_busy))
    counts.waits.extend(waits[:n_waits].tolist())
    counts.wait_ends.extend(wait_ends[:n_waits].tolist())
    counts.held.extend(holds[:n_holds].tolist())
    counts.releases.extend(releases[:n_holds].tolist())
    now[idx] = end
    irr[idx] = irr_out
    lost = status == fcfs.LOST
    return idx[~lost], idx[lost]


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
    peak[done] = np.where(moment & (felt > peak[done]), felt, peak[done])
    last[done] = np.where(moment, felt, last[done])


def _uniform(rng: np.random.Generator) -> np.ndarray:
    return rng.random(BLOCK)


__all__ = ["KNOWN_FIELDS", "KNOWN_RESULT_FIELDS", "simulate", "supports", "unsupported_reason"]
