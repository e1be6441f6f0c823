"""The discrete-event engine: customers walk a checkout in SimPy.

This is the only module of the package that imports SimPy. Time is in
**minutes** throughout. One call to :func:`simulate` is one replication of one
scenario:

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
* A buyer remembers the visit by its worst and its last moment (peak-end,
  :func:`recommend_score`); word of mouth and repeat visits bring referral and
  returning customers, who walk the same flow.

Random numbers come from the streams of :mod:`.streams`, drawn in numpy blocks
of customers (:class:`_Block`), never one Python call per draw; customer *i*
always uses row *i* of each block, so designs run with the same seed share
their draws (common random numbers). Only a step visited a second time by the
same customer (a loop) draws from that step's sequential "revisit" stream.

Nothing here reads files or draws charts; the result is a
:class:`~.result.RunResult` of counters (memory does not grow with the number
of customers), plus a per-customer table only when asked for, and the
customers' events go to an :class:`EventSink` only when one is given.
"""

from __future__ import annotations

import array
import bisect
import copy
import heapq
import math
import zlib
from collections import deque
from typing import Any, Protocol

import numpy as np
import simpy

from ..scenario import END, Scenario
from .codes import (
    ABANDONER,
    ARRIVAL_ACTIVITY,
    CONTACT,
    CONTACT_ACTIVITY,
    CONTACT_OUTCOME_ACTIVITY,
    DETRACTOR,
    EXIT,
    FRICTION,
    ORDER,
    ORGANIC,
    OUTCOME_ACTIVITY,
    PASSIVE,
    PROMOTER,
    REFERRAL,
    RETURNING,
    SOURCES,
    UNRESOLVED,
)
from .result import (
    IRRITATION_BINS,
    SQ_FINE,
    SQ_SPLIT,
    THROUGH_SQ_SCALE,
    TIME_BINS,
    TIME_INNER_EDGES,
    RunResult,
    fixed,
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
    extra_limit,
    runaway,
    substream,
)


class EventSink(Protocol):
    """Receives a customer's events as they happen (see :mod:`frictionsim.eventlog`)."""

    def event(
        self,
        source: int,
        customer: int,
        segment: int,
        activity: str,
        lifecycle: str,
        minute: float,
        step: str,
        irritation: float,
    ) -> None: ...

    def done(self, source: int, customer: int) -> None:
        """The customer's visit, and the memory of it, is over."""

    def person(self, source: int, customer: int, person: tuple[int, int]) -> None:
        """The visit ``(source, customer)``, about to start, is of the person whose first
        visit was ``person`` (a returning customer); every other visit is its own person's."""


class _Block:
    """Random numbers of ``BLOCK`` consecutive customers, row ``j`` for customer ``j``."""

    __slots__ = (
        "branch_u",
        "defect_u",
        "dur",
        "err_u",
        "exit_u",
        "revisit",
        "seg",
        "tol",
        "value",
        "value_by_segment",
    )

    def __init__(self, sim: _Simulation, streams: Streams) -> None:
        n = BLOCK
        shares = sim.seg_cum
        seg = np.searchsorted(shares, streams.customer.random(n), side="right")
        seg = np.minimum(seg, len(shares) - 1)
        tol = np.empty(n)
        value = np.empty(n)
        for k, segment in enumerate(sim.scenario.segments):
            rows = np.flatnonzero(seg == k)
            rng = streams.segment[k]
            tol[rows] = segment.tolerance.sample(rng, rows.size)
            value[rows] = segment.order_value.sample(rng, rows.size)
        self.seg = seg.tolist()
        self.tol = tol.tolist()
        self.value = value.tolist()
        # a returning customer keeps their segment: a new order value of that segment
        self.value_by_segment = (
            [
                s.order_value.sample(streams.segment[k], n).tolist()
                for k, s in enumerate(sim.scenario.segments)
            ]
            if streams.returning
            else None
        )
        self.revisit = streams.revisit
        self.exit_u, self.branch_u, self.dur, self.err_u, self.defect_u = [], [], [], [], []
        for s, st in enumerate(sim.plan):
            self.exit_u.append(_floats(streams.exit[s].random(n)) if st.exits else None)
            self.branch_u.append(
                _floats(streams.branch[s].random(n)) if st.next_single is None else None
            )
            # attempt a of customer j is element a * BLOCK + j
            self.dur.append(
                None
                if st.dur_const is not None
                else _floats(np.concatenate([st.dur_dist.sample(r, n) for r in streams.dur[s]]))
            )
            self.err_u.append(
                _floats(np.concatenate([r.random(n) for r in streams.err[s]]))
                if st.failing
                else None
            )
            self.defect_u.append(_floats(streams.defect[s].random(n)) if st.defect_p > 0 else None)


def _floats(values: np.ndarray) -> array.array:
    """A block's draws as packed doubles: indexing gives a plain ``float`` like a list,
    at 8 bytes a number instead of a list's 32, so a block of a long flow with many
    attempts stays small (see :data:`~frictionsim.scenario.MAX_DRAWS`)."""
    packed = array.array("d")
    packed.frombytes(np.ascontiguousarray(values, dtype=np.float64).tobytes())
    return packed


class _Source:
    """Where the next customer of one source takes their random numbers from."""

    __slots__ = ("blk", "count", "j", "streams")

    def __init__(self, streams: Streams) -> None:
        self.streams = streams
        self.blk: _Block | None = None
        self.j = BLOCK
        self.count = 0


class _Contacts:
    """The event sink as a service journey's contacts write to it: a source of their
    own (``CONTACT``), "contact" for their arrival and "resolved" for their end."""

    def __init__(self, sink: EventSink) -> None:
        self.sink = sink

    def event(self, src, i, seg, activity, lifecycle, time, step, irr) -> None:
        activity = CONTACT_ACTIVITY.get(activity, activity)
        self.sink.event(CONTACT, i, seg, activity, lifecycle, time, step, irr)

    def done(self, src: int, i: int) -> None:
        self.sink.done(CONTACT, i)

    def person(self, src: int, i: int, person: tuple[int, int]) -> None:
        self.sink.person(CONTACT, i, person)


class _Shifted:
    """An event sink whose times count from ``offset`` (the end of the warm-up)."""

    def __init__(self, sink: EventSink, offset: float) -> None:
        self.sink, self.offset = sink, offset

    def event(self, src, i, seg, activity, lifecycle, time, step, irr) -> None:
        self.sink.event(src, i, seg, activity, lifecycle, time - self.offset, step, irr)

    def done(self, src: int, i: int) -> None:
        self.sink.done(src, i)

    def person(self, src: int, i: int, person: tuple[int, int]) -> None:
        self.sink.person(src, i, person)


def _next_change(week: Any, hour: int) -> int:
    """The first hour after ``hour`` whose number on duty differs from ``hour``'s."""
    units = week[hour % 168]
    k = hour + 1
    while week[k % 168] == units:
        k += 1
    return k


class _Simulation:
    #: The outcome of failing every attempt at a step without a fallback: friction
    #: in the checkout (a service journey's contacts are unresolved instead).
    gave_up = FRICTION

    def __init__(
        self,
        scenario: Scenario,
        seq: np.random.SeedSequence,
        record: bool,
        events: EventSink | None = None,
        main: _Simulation | None = None,
    ) -> None:
        self.scenario = scenario
        self.events = events
        self.names = [s.name for s in scenario.steps]
        self.env = main.env if main is not None else simpy.Environment()
        n_steps = len(scenario.steps)
        self.arrival_rng = substream(seq, "arrivals")
        self.plan = [StepPlan(scenario, i) for i in range(n_steps)]
        self.seg_cum = np.cumsum([s.share for s in scenario.segments])
        self.sens = [s.sensitivity for s in scenario.segments]
        self.commit = [s.commitment for s in scenario.segments]
        self.cyclic = scenario.flow.has_cycle
        self.horizon = scenario.arrival_span  # arrivals end: after the warm-up and horizon
        self.warmup = scenario.warmup
        self.wom = scenario.word_of_mouth
        self.repeat = scenario.repeat
        self.reminders = scenario.reminders
        self.talks = self.wom is not None or self.repeat is not None
        self.sources = [_Source(Streams(scenario, seq, ORGANIC))]
        if self.wom or self.repeat or self.reminders or scenario.base:
            self.sources += [_Source(Streams(scenario, seq, k)) for k in (REFERRAL, RETURNING)]
        self.wom_rng = substream(seq, "word_of_mouth")
        self.repeat_rng = substream(seq, "repeat")
        self.reminder_rng = substream(seq, "reminders")
        self.rescues = any(st.rescue >= 0 for st in self.plan)  # some step has an offer
        self.rescue_rng = [
            substream(seq, "step", st.name, "recovery") if st.recovery else None
            for st in scenario.steps
        ]
        if self.wom:
            w = self.wom
            self.talk = [w.promoters, w.passives, w.detractors, w.abandoners]
        if self.repeat:
            r = self.repeat
            self.come_back = [r.promoters, r.passives, r.detractors, r.abandoners]
        self.best = scenario.experience.best
        self.scale = scenario.experience.scale
        # arrivals still to come from word of mouth, bounded against a runaway loop
        self.extra_limit = extra_limit(scenario)
        self.extra_scheduled = [0]  # one count for the run and its warm-up (shared list)
        self.deterrals: list[float] = []  # heap of times from which one prospect stays away
        # the person (source, number of their first visit) of each returning visit in progress
        self.persons: dict[tuple[int, int], tuple[int, int]] = {}
        self.deterred_ready = 0
        self.bin_width = arrival_bin_width(scenario)
        self.n_bins = arrival_bins(scenario)
        self.busy = [0] * n_steps  # units in use (state, shared with the warm-up's customers)
        self.waiting = [0] * n_steps  # customers in each queue (state, shared likewise)
        self.queues: list[deque] = [deque() for _ in range(n_steps)]
        # units on duty now (a step's `schedule` changes them hour by hour; state, shared)
        self.on_duty = [st.capacity for st in self.plan]
        self.level_at = [0.0] * n_steps  # when busy or on duty last changed (schedules)
        self.alive = [0]  # customers in the system now, and visits scheduled to come:
        self.pending = [0]  # a schedule goes on past the horizon while either is not 0
        self.irr_scale = IRRITATION_BINS / float(irritation_edges(scenario)[-1])
        if main is not None:  # a service journey: the same run, who is in it included
            self.alive, self.pending = main.alive, main.pending
            self.extra_scheduled, self.extra_limit = main.extra_scheduled, main.extra_limit
        self.callbacks: dict[tuple[int, int], Any] = {}  # contacts: who waits for the outcome
        service = scenario.service_scenario
        self.service = (
            _Service(service, _child(seq, "service"), False, None, self) if service else None
        )
        self.contact_rng = substream(seq, "service", "contact")
        self.base = scenario.base
        self.base_rng = substream(seq, "base")
        self.members: dict[tuple[int, int], list] = {}  # person: [segment, tolerance, memory]
        self.active = [0, 0]  # members of the base now, and of them from the start (state)
        self._new_counters(record)
        # the run itself; the warm-up's copy shares it, so that what a warm-up customer
        # (or member) does after the warm-up is counted in the run, and before it in the copy
        self.main = self
        self.warm = self._warm_up() if self.warmup > 0 else self

    def _new_counters(self, record: bool) -> None:
        """What a run counts (plain Python lists in the hot loop, arrays at the end)."""
        n_steps, n_segs = len(self.plan), len(self.sens)
        self.arrival_bins = [[0] * self.n_bins for _ in SOURCES]
        self.totals = [0, 0, 0]  # orders, friction, exit
        self.money = [0.0, 0.0, 0.0]
        self.checkout_time = 0.0
        self.last_left = 0.0
        self.src_visitors = [0, 0, 0]
        self.src_orders = [0, 0, 0]
        self.src_revenue = [0.0, 0.0, 0.0]
        self.entered = [0] * n_steps
        self.ab_friction = [0] * n_steps
        self.ab_exit = [0] * n_steps
        self.lost_friction = [0.0] * n_steps
        self.lost_exit = [0.0] * n_steps
        self.reneged = [0] * n_steps
        self.balked = [0] * n_steps
        self.turned_away = [0] * n_steps
        self.offers = [0] * n_steps
        self.recovered = [0] * n_steps
        self.overtime = [0.0] * n_steps
        self.fell_back = [0] * n_steps
        self.failed = [0] * n_steps
        self.wait_total = [0.0] * n_steps
        self.waited = [0] * n_steps
        self.pass_units = [0] * n_steps  # minutes of the visits that completed the step
        # (fixed point: result.fixed), and their squares (result.fixed_square_sums's tiers)
        self.pass_sq_units = [0] * n_steps  # squares from SQ_SPLIT, and below it:
        self.pass_sq_fine = [0] * n_steps
        self.busy_time = [0.0] * n_steps
        self.max_busy = [0] * n_steps
        self.seg_visitors = [0] * n_segs
        self.seg_outcomes = [[0, 0, 0] for _ in range(n_segs)]
        self.seg_revenue = [0.0] * n_segs
        self.scores = [[0] * 11 for _ in range(n_segs)]
        self.defects = 0
        self.remediation = 0.0
        self.base_joined = self.base_churned = 0
        self.seg_base_members = [0] * n_segs
        self.seg_base_revenue = [0.0] * n_segs
        self.base_active: list[int] = []  # members at the start of each bin, and at the end
        self.base_retained: list[int] = []
        self.unresolved = [0] * n_steps
        self.log: list[tuple] | None = [] if record else None
        self.prospects_lost = 0
        self.reminders_sent = 0
        self.irr_hist = [[[0] * IRRITATION_BINS for _ in range(n_steps)] for _ in range(n_segs)]
        self.tol_hist = [[0] * IRRITATION_BINS for _ in range(n_segs)]
        self.wait_hist = [[0] * TIME_BINS for _ in range(n_steps)]
        self.checkout_hist = [0] * TIME_BINS

    def _warm_up(self) -> _Simulation:
        """The simulation as the warm-up's customers see it: the same clock, queues,
        units, blocks of random numbers and word of mouth, but counters of its own that
        are thrown away, and no events. Customers who arrive during the warm-up run here;
        whoever arrives later (a referral of theirs too) is counted."""
        warm = copy.copy(self)  # shares every state object; counters are made anew
        warm._new_counters(record=False)
        warm.events = None
        if self.events is not None:  # the event log's clock starts when the warm-up ends
            self.events = _Shifted(self.events, self.warmup)
        warm.spawn = self.spawn  # type: ignore[method-assign]  # arrivals are routed by time
        return warm

    # -- processes ---------------------------------------------------------------------------

    def arrivals(self, chunks):
        """Organic arrivals; a prospect deterred by word of mouth skips one."""
        env = self.env
        timeout = env.timeout
        source = self.sources[ORGANIC]
        deterrals = self.deterrals
        for chunk in chunks:
            for t in chunk.tolist():  # plain floats
                delay = t - env.now
                if delay > 0:
                    yield timeout(delay)
                if deterrals or self.deterred_ready:
                    while deterrals and deterrals[0] <= t:
                        heapq.heappop(deterrals)
                        self.deterred_ready += 1
                    if self.deterred_ready:
                        self.deterred_ready -= 1
                        self.counted(t).prospects_lost += 1
                        self.take_row(source)  # the row stays this prospect's
                        continue
                self.spawn(ORGANIC)

    def take_row(self, source: _Source) -> tuple[_Block, int, int]:
        if source.j == BLOCK:
            source.blk, source.j = _Block(self, source.streams), 0
        j, i = source.j, source.count
        source.j += 1
        source.count += 1
        return source.blk, j, i  # type: ignore[return-value]

    def spawn(
        self, src: int, seg: int = -1, tol: float = 0.0, person: tuple[int, int] | None = None
    ) -> None:
        blk, j, i = self.take_row(self.sources[src])
        now = self.env.now
        sim = self.counted(now)  # the warm-up's customers: uncounted
        if person is not None:  # a returning customer: the person of their first visit
            self.persons[(src, i)] = person
            if sim.events is not None:
                sim.events.person(src, i, person)
        sim.src_visitors[src] += 1
        self.alive[0] += 1
        b = int((now - self.warmup) // self.bin_width)
        if 0 <= b < self.n_bins:
            sim.arrival_bins[src][b] += 1
        if seg < 0:  # a new person; a returning customer keeps who they are
            seg, tol = blk.seg[j], blk.tol[j]
        self.env.process(sim.customer(i, blk, j, src, seg, tol))

    def customer(self, i: int, blk: _Block, j: int, src: int, seg: int, tol: float):
        env = self.env
        plan = self.plan
        sens = self.sens[seg]
        commit = self.commit[seg]  # the limit grows by this with every step completed
        limit = tol
        returning = src == RETURNING
        value = blk.value_by_segment[seg][j] if returning else blk.value[j]
        arrival = env.now
        irr = 0.0
        peak = last = 0.0  # the worst and the latest step, for the remembered experience
        defect_irr = defect_delay = contact = remedy = 0.0
        s = 0
        seen = set() if self.cyclic else None
        offered = set() if self.rescues else None  # steps whose recovery offer they had
        self.seg_visitors[seg] += 1
        ev = self.events
        if ev is not None:
            ev.event(src, i, seg, ARRIVAL_ACTIVITY[src], "complete", arrival, "", 0.0)
        hist, scale, top = self.irr_hist[seg], self.irr_scale, IRRITATION_BINS - 1
        x = tol * scale
        self.tol_hist[seg][int(x) if x < top else top] += 1
        while s != END:
            st = plan[s]
            first = True
            if seen is not None:
                first = s not in seen
                seen.add(s)
            start_irr = irr
            entered_at = env.now
            self.entered[s] += 1
            irr += (st.entry_saved if returning else st.entry) * sens
            if irr < 0.0:  # relief lowers irritation, never below 0
                irr = 0.0
            x = irr * scale
            hist[s][int(x) if x < top else top] += 1
            if ev is not None:
                ev.event(src, i, seg, self.names[s], "start", env.now, self.names[s], irr)
            if irr >= limit:
                if offered is not None and self.rescued(st, s, offered, src, i, seg, irr):
                    s, irr = st.rescue, start_irr
                    continue
                self.finish(i, src, seg, tol, value, FRICTION, s, irr)
                return
            p_exit = st.exit_seg[seg]
            if st.exit_slope:
                p_exit = min(1.0, p_exit + st.exit_slope * irr)
            if p_exit > 0 and (blk.exit_u[s][j] if first else blk.revisit[s].random()) < p_exit:
                self.finish(i, src, seg, tol, value, EXIT, s, irr)
                return
            cap = st.capacity
            if cap:
                if self.busy[s] < self.on_duty[s]:
                    if st.duty is not None:
                        self.level(s)
                    self.busy[s] += 1
                    if self.busy[s] > self.max_busy[s]:
                        self.max_busy[s] = self.busy[s]
                else:
                    if st.closed_leave and not self.on_duty[s]:  # closed: turned away
                        if offered is not None and self.rescued(st, s, offered, src, i, seg, irr):
                            s, irr = st.rescue, start_irr
                            continue
                        self.turned_away[s] += 1
                        self.finish(i, src, seg, tol, value, FRICTION, s, irr)
                        return
                    if 0 <= st.balk_at <= self.waiting[s]:  # the queue is too long: they go
                        if offered is not None and self.rescued(st, s, offered, src, i, seg, irr):
                            s, irr = st.rescue, start_irr
                            continue
                        self.balked[s] += 1
                        self.finish(i, src, seg, tol, value, FRICTION, s, irr)
                        return
                    self.waiting[s] += 1
                    rate = st.wait_irr * sens
                    ticket = env.event()
                    self.queues[s].append(ticket)
                    joined = env.now
                    if ev is not None:
                        name = self.names[s]
                        ev.event(src, i, seg, f"{name} queue", "start", joined, name, irr)
                    if rate > 0:
                        env.timeout((limit - irr) / rate, ticket).callbacks.append(_renege)
                    granted = yield ticket
                    self.waiting[s] -= 1
                    waited = env.now - joined
                    self.wait_total[s] += waited
                    self.waited[s] += 1
                    self.wait_hist[s][bisect.bisect_right(TIME_INNER_EDGES, waited)] += 1
                    irr += waited * rate
                    if ev is not None:
                        ev.event(
                            src,
                            i,
                            seg,
                            f"{name} queue",
                            "complete" if granted else "withdraw",
                            env.now,
                            name,
                            min(irr, limit),
                        )
                    if not granted:
                        if offered is not None and self.rescued(st, s, offered, src, i, seg, irr):
                            s, irr = st.rescue, start_irr
                            continue
                        self.reneged[s] += 1
                        self.finish(i, src, seg, tol, value, FRICTION, s, max(irr, limit))
                        return
                started = env.now
            attempts = st.attempts
            p_error = st.err_p_seg[seg]
            time_rate = st.time_irr * sens
            routed = False  # failed every attempt, on to the step's fallback
            rescue = False  # about to abandon mid-step, and took the step's recovery offer
            for a in range(attempts):
                d = st.dur_const
                if d is None:
                    d = blk.dur[s][a * BLOCK + j] if first else st.dur_dist.one(blk.revisit[s])
                if d > 0:
                    if time_rate > 0:
                        if irr + time_rate * d >= limit:  # the limit is reached mid-attempt
                            yield env.timeout((limit - irr) / time_rate)
                            if offered is not None and self.rescued(
                                st, s, offered, src, i, seg, limit
                            ):
                                rescue = True
                                break
                            if cap:
                                self.release(s, started)
                            self.finish(i, src, seg, tol, value, FRICTION, s, limit)
                            return
                        yield env.timeout(d)
                        irr += time_rate * d
                    else:
                        yield env.timeout(d)
                if (
                    p_error > 0
                    and (blk.err_u[s][a * BLOCK + j] if first else blk.revisit[s].random())
                    < p_error
                ):
                    self.failed[s] += 1
                    irr += st.err_irr * sens
                    if ev is not None:
                        name = self.names[s]
                        ev.event(src, i, seg, f"{name} error", "complete", env.now, name, irr)
                    if irr >= limit or (a == attempts - 1 and st.fallback < 0):
                        outcome = FRICTION if irr >= limit else self.gave_up
                        if offered is not None and self.rescued(st, s, offered, src, i, seg, irr):
                            rescue = True
                            break
                        if cap:
                            self.release(s, started)
                        self.finish(i, src, seg, tol, value, outcome, s, irr)
                        return
                    if a == attempts - 1:
                        routed = True
                        break
                else:
                    break
            if cap:
                self.release(s, started)
            if rescue:
                s, irr = st.rescue, start_irr
                continue
            if routed:  # not completed (no commitment), but what was felt here is a moment
                self.fell_back[s] += 1
                felt = irr - start_irr
                if felt != 0.0:
                    if felt > peak:
                        peak = felt
                    last = felt
                s = st.fallback
                continue
            if ev is not None:
                ev.event(src, i, seg, self.names[s], "complete", env.now, self.names[s], irr)
            took = env.now - entered_at  # result.fixed_square_sums, a visit at a time
            self.pass_units[s] += fixed(took)
            sq = took * took
            if sq < SQ_SPLIT:
                self.pass_sq_fine[s] += fixed(sq, SQ_FINE)
            else:
                self.pass_sq_units[s] += fixed(sq, THROUGH_SQ_SCALE)
            if st.commits:
                limit += commit
            felt = irr - start_irr
            if felt != 0.0:  # a moment: something was felt here (a step without is none)
                if felt > peak:
                    peak = felt
                last = felt
            if st.defect_p > 0 and (
                (blk.defect_u[s][j] if first else blk.revisit[s].random()) < st.defect_p
            ):
                defect_irr += st.defect_irr * sens
                defect_delay = max(defect_delay, st.defect_delay)
                contact = max(contact, st.defect_contact)  # the likeliest to call about
                remedy += st.defect_cost
            if st.next_single is not None:
                s = st.next_single
            else:
                u = blk.branch_u[s][j] if first else blk.revisit[s].random()
                cum = st.next_cum_seg[seg]
                k = 0
                while u >= cum[k]:
                    k += 1
                s = st.next_to[k]
        self.checkout_time += env.now - arrival
        self.checkout_hist[bisect.bisect_right(TIME_INNER_EDGES, env.now - arrival)] += 1
        self.finish(i, src, seg, tol, value, ORDER, -1, irr)
        if ev is not None:
            ev.event(src, i, seg, "order", "complete", env.now, "", irr)
        if defect_irr > 0:  # the experience is complete only when the defect surfaces
            args = (i, src, seg, tol, value, irr, peak, last, defect_irr, contact, remedy)
            self.pending[0] += 1  # a contact about it may come: schedules go on

            def surface(_: simpy.Event, a: tuple = args) -> None:
                self.pending[0] -= 1
                self.remember(*a)

            env.timeout(defect_delay).callbacks.append(surface)
        else:
            self.remember(i, src, seg, tol, value, irr, peak, last, 0.0)

    def rescued(
        self, st: StepPlan, s: int, offered: set, src: int, i: int, seg: int, irr: float
    ) -> bool:
        """Whether a customer about to abandon for friction at step ``s`` takes its
        recovery offer (made once a visit)."""
        if st.rescue < 0 or s in offered:
            return False
        offered.add(s)
        self.offers[s] += 1
        if not self.rescue_rng[s].random() < st.rescue_p:
            return False
        self.recovered[s] += 1
        if self.events is not None:
            name = self.names[s]
            self.events.event(src, i, seg, f"{name} recovery", "complete", self.env.now, name, irr)
        return True

    def release(self, s: int, started: float) -> None:
        self.busy_time[s] += self.env.now - started
        queue = self.queues[s]
        while queue and self.busy[s] <= self.on_duty[s]:  # fewer on duty now: no hand-over
            ticket = queue.popleft()
            if not ticket.triggered:  # skip customers who reneged
                ticket.succeed(True)  # the unit passes straight to them
                return
        if self.plan[s].duty is not None:
            self.level(s)
        self.busy[s] -= 1

    def counted(self, t: float) -> _Simulation:
        """Whose counters what happens at minute ``t`` goes into: the run's, or the
        warm-up's (thrown away) before the warm-up ends, whichever copy is asking."""
        return self.main if t >= self.warmup else self.main.warm

    def level(self, s: int) -> None:
        """Before units in use or on duty change at a scheduled step: the unit-minutes
        served past the units' hours since the last change (overtime)."""
        now = self.env.now
        over = self.busy[s] - self.on_duty[s]
        if over > 0:
            self.counted(now).overtime[s] += over * (now - self.level_at[s])
        self.level_at[s] = now

    def finish(
        self, i: int, src: int, seg: int, tol: float, value: float, outcome: int, s: int, irr: float
    ) -> None:
        self.last_left = self.env.now  # outcomes come in time order
        self.alive[0] -= 1
        if self.base is not None and outcome != ORDER:  # a member's visit ends
            person = self.persons.get((src, i), (src, i))
            if person in self.members:
                self.base_visit(person, irr / tol if tol > 0 else 1.0)
        self.totals[outcome] += 1
        self.money[outcome] += value
        self.seg_outcomes[seg][outcome] += 1
        if outcome == ORDER:
            self.seg_revenue[seg] += value
            self.src_orders[src] += 1
            self.src_revenue[src] += value
            return  # logged once the experience is remembered
        if self.reminders is not None:  # before the visit's person is forgotten
            self.remind(outcome, seg, tol, (src, i))
        if outcome == FRICTION:
            self.ab_friction[s] += 1
            self.lost_friction[s] += value
            if self.talks:
                self.after(ABANDONER, seg, tol, (src, i))
        else:
            self.ab_exit[s] += 1
            self.lost_exit[s] += value
        if self.persons:
            self.persons.pop((src, i), None)
        ev = self.events
        if ev is not None:
            name = self.names[s]
            ev.event(src, i, seg, OUTCOME_ACTIVITY[outcome], "complete", self.env.now, name, irr)
            ev.done(src, i)
        if self.log is not None:
            self.log.append((src, i, seg, outcome, s, self.env.now, value, irr, tol, -1))

    def remember(
        self,
        i: int,
        src: int,
        seg: int,
        tol: float,
        value: float,
        irr: float,
        peak: float,
        last: float,
        defect_irr: float,
        contact: float = 0.0,
        remedy: float = 0.0,
    ) -> None:
        """A buyer's remembered experience (peak-end), score, word of mouth and return;
        with a defect that makes them contact the service, once the contact has ended."""
        ev = self.events
        if defect_irr > 0:  # surfacing after the order, the defect is the final moment
            self.defects += 1
            self.remediation += remedy
            if ev is not None:
                ev.event(src, i, seg, "defect", "complete", self.env.now, "", irr + defect_irr)
            if contact > 0 and self.contact_rng.random() < contact:
                visit = (i, src, seg, tol, value, irr, peak, defect_irr)
                self.service.asking = self.persons.get((src, i), (src, i))  # type: ignore[union-attr]
                self.service.contact(seg, tol, lambda *end: self.contacted(*visit, *end))  # type: ignore[union-attr]
                return
            peak = max(peak, defect_irr)
            last = defect_irr
        self.score(i, src, seg, tol, value, irr, peak, last)

    def contacted(
        self,
        i: int,
        src: int,
        seg: int,
        tol: float,
        value: float,
        irr: float,
        peak: float,
        defect_irr: float,
        outcome: int,
        felt: float,
    ) -> None:
        """The end of a buyer's contact about their defect: resolved, it repairs part of
        the defect's memory (service recovery); otherwise the defect stays, the contact's
        own irritation adds to it, and the buyer is a detractor."""
        service = self.scenario.service
        if outcome == ORDER:
            repaired = defect_irr * (1.0 - service.recovery)  # type: ignore[union-attr]
            self.score(i, src, seg, tol, value, irr, max(peak, felt, repaired), repaired)
        else:
            worst = max(peak, defect_irr, felt)
            most = int(service.unresolved_score)  # type: ignore[union-attr]
            self.score(i, src, seg, tol, value, irr, worst, defect_irr + felt, most)

    def score(
        self,
        i: int,
        src: int,
        seg: int,
        tol: float,
        value: float,
        irr: float,
        peak: float,
        last: float,
        most: int = 10,
    ) -> None:
        ev = self.events
        score = min(most, recommend_score(peak, last, tol, self.best, self.scale))
        if self.base is not None:  # a member's order, or a first order that joins the base
            person = self.persons.get((src, i), (src, i))
            memory = max(0.0, (peak + last) / 2) / tol if tol > 0 else 1.0
            if person in self.members:
                self.seg_base_revenue[seg] += value
                self.base_visit(person, memory)
            elif self.base.join:
                self.join(person, seg, tol, memory)
            if not self.talks:
                self.persons.pop((src, i), None)
        self.scores[seg][score] += 1
        if self.talks:
            kind = PROMOTER if score >= 9 else PASSIVE if score >= 7 else DETRACTOR
            self.after(kind, seg, tol, (src, i))
        if self.log is not None:
            self.log.append((src, i, seg, ORDER, -1, self.env.now, value, irr, tol, score))
        if ev is not None:
            ev.done(src, i)

    # -- the customer base --------------------------------------------------------------------

    def join(self, person: tuple[int, int], seg: int, tol: float, memory: float) -> None:
        """``person`` joins the base, remembering ``memory`` (irritation / tolerance)."""
        self.members[person] = [seg, tol, memory, False]
        self.active[0] += 1
        self.base_joined += 1
        self.seg_base_members[seg] += 1
        self.next_of(person)

    def base_visit(self, person: tuple[int, int], felt: float) -> None:
        """A member's visit ended, remembered at ``felt`` (irritation / tolerance): it
        moves their memory by ``recent``; then their next purchase or their leaving."""
        member = self.members[person]
        member[2] += self.base.recent * (felt - member[2])  # type: ignore[union-attr]
        self.next_of(person)

    def next_of(self, person: tuple[int, int]) -> None:
        """What a member does next: a purchase visit after an exponential time of mean
        ``between_purchases``, unless they leave first (a hazard of ``(1 +
        churn_per_point × memory) / lifetime``); neither happens after the horizon."""
        base, rng, now = self.base, self.base_rng, self.env.now
        seg, tol, memory, _ = self.members[person]
        buy = rng.exponential(base.between_purchases)  # type: ignore[union-attr]
        hazard = (1.0 + base.churn_per_point * memory) / base.lifetime  # type: ignore[union-attr]
        leave = rng.exponential(1.0 / hazard)
        if leave < buy:
            if now + leave < self.horizon:
                self.env.timeout(leave).callbacks.append(lambda _: self.churn(person))
        elif now + buy < self.horizon:
            self.schedule(now + buy, RETURNING, seg, tol, person)

    def churn(self, person: tuple[int, int]) -> None:
        member = self.members.pop(person)
        self.active[0] -= 1
        self.active[1] -= member[3]
        self.counted(self.env.now).base_churned += 1

    def census(self):
        """Members of the base at the start of every bin of the horizon and at its end."""
        env = self.env
        for b in range(self.n_bins + 1):
            yield env.timeout(self.warmup + b * self.bin_width - env.now)
            self.base_active.append(self.active[0])
            self.base_retained.append(self.active[1])

    def remind(self, outcome: int, seg: int, tol: float, visit: tuple[int, int]) -> None:
        """A reminder to a customer who left (``outcome``), and perhaps the visit it brings."""
        r = self.reminders
        rng = self.reminder_rng
        if not rng.random() < r.reached:
            return
        self.reminders_sent += 1
        back = r.friction if outcome == FRICTION else r.exit
        if rng.random() < back:
            t = self.env.now + r.delay.one(rng)
            if t < self.horizon:
                person = self.persons.get(visit, visit)
                self.schedule(t, RETURNING, seg, tol, person)

    def after(self, kind: int, seg: int, tol: float, visit: tuple[int, int]) -> None:
        """What a customer of ``kind`` (whose visit ``visit`` ended) does next: tell
        others, come back."""
        person = self.persons.pop(visit, visit) if self.persons else visit
        now = self.env.now
        horizon = self.horizon
        if self.wom is not None:
            talk = self.talk[kind]
            rng = self.wom_rng
            told = int(talk.tell.one(rng))
            if told:
                if talk.visit > 0:
                    for _ in range(rng.binomial(told, talk.visit)):
                        t = now + self.wom.delay.one(rng)
                        if t < horizon:
                            self.schedule(t, REFERRAL)
                if talk.deter > 0:
                    for _ in range(rng.binomial(told, talk.deter)):
                        t = now + self.wom.delay.one(rng)
                        if t < horizon:
                            heapq.heappush(self.deterrals, t)
        if self.repeat is not None:
            rng = self.repeat_rng
            if rng.random() < self.come_back[kind]:
                t = now + self.repeat.delay.one(rng)
                if t < horizon:
                    self.schedule(t, RETURNING, seg, tol, person)

    def schedule(
        self,
        t: float,
        src: int,
        seg: int = -1,
        tol: float = 0.0,
        person: tuple[int, int] | None = None,
    ) -> None:
        self.extra_scheduled[0] += 1
        if self.extra_scheduled[0] > self.extra_limit:
            raise runaway(self.scenario, self.extra_limit)
        self.pending[0] += 1

        def arrive(_: simpy.Event) -> None:
            self.pending[0] -= 1
            self.spawn(src, seg, tol, person)

        self.env.timeout(t - self.env.now).callbacks.append(arrive)

    def populate(self) -> None:
        """The base's customers at minute 0: segments by share, tolerances drawn."""
        base, rng, scenario = self.base, self.base_rng, self.scenario
        n = base.customers  # type: ignore[union-attr]
        seg = np.minimum(
            np.searchsorted(self.seg_cum, rng.random(n), side="right"), len(self.sens) - 1
        )
        tol = np.empty(n)
        for k, segment in enumerate(scenario.segments):
            rows = np.flatnonzero(seg == k)
            tol[rows] = segment.tolerance.sample(rng, rows.size)
        for k, (g, t) in enumerate(zip(seg.tolist(), tol.tolist())):
            person = (-1, k)  # a person of the base, not a visit
            self.members[person] = [g, t, 0.0, True]
            self.seg_base_members[g] += 1
            self.next_of(person)
        self.active[:] = [n, n]
        self.env.process(self.census())

    def start(self, chunks: Any) -> None:
        """Start the run's processes: arrivals at the times of ``chunks``, and a
        schedule's units on duty."""
        hour = math.floor(-self.warmup / 60)  # the hour of the clock's start
        for s, st in enumerate(self.plan):
            if st.duty is not None:
                self.on_duty[s] = st.duty[hour % 168]
                if len(set(st.duty)) > 1:
                    self.env.process(self.duty(s, _next_change(st.duty, hour)))
        self.env.process(self.arrivals(chunks))

    def duty(self, s: int, k: int):
        """Units on duty at step ``s`` follow its schedule (``k``: the next hour its number
        changes): at each hour where the number changes, more units take waiting
        customers at once; fewer take nobody new until those still serving have
        finished. Changes that can start nobody before the next other event are
        accounted at once (``skip``), so a long quiet span costs no event per hour. It
        stops once arrivals are over and nobody is left or expected."""
        env = self.env
        while True:
            yield env.timeout(self.warmup + 60.0 * k - env.now)
            if env.now >= self.horizon and not self.alive[0] and not self.pending[0]:
                return
            self.change(s, k)
            k = _next_change(self.plan[s].duty, k)
            if env.now >= self.warmup:
                until = env.peek()  # another scheduled step's change is an event too
                if env.now < self.horizon:
                    until = min(until, self.horizon)
                if until < math.inf:
                    k = self.skip(s, k, until)

    def change(self, s: int, k: int) -> None:
        """Hour ``k`` starts at scheduled step ``s``: its units on duty change."""
        queue = self.queues[s]
        self.level(s)
        self.on_duty[s] = units = self.plan[s].duty[k % 168]
        sim = self.counted(self.env.now)
        while queue and self.busy[s] < units:
            ticket = queue.popleft()
            if not ticket.triggered:  # skip customers who reneged
                self.level(s)
                self.busy[s] += 1
                if self.busy[s] > sim.max_busy[s]:
                    sim.max_busy[s] = self.busy[s]
                ticket.succeed(True)

    def skip(self, s: int, k: int, until: float) -> int:
        """The changes of step ``s`` from hour ``k`` on that come before the last one
        before minute ``until``, when nothing else happens before then and they can
        start nobody (nobody waits, or every unit of the week is busy): their overtime
        is added (whole weeks at once) and the hour of the first change left is
        returned."""
        week = self.plan[s].duty
        busy = self.busy[s]
        if self.waiting[s] and busy < max(week):
            return k
        start = self.warmup
        sim = self.counted(self.env.now)
        while True:
            nxt = _next_change(week, k)
            if start + 60.0 * nxt >= until:
                return k
            weeks = math.floor((until - start - 60.0 * k) / 10080.0) - 1
            if weeks > 0:  # whole weeks from the change at k to the change at k + 168·weeks
                self.change_quietly(s, k, sim)
                per_week = 60.0 * sum(max(0, busy - u) for u in week)
                if per_week:
                    sim.overtime[s] += weeks * per_week
                k += 168 * weeks
                self.level_at[s] = start + 60.0 * k
                continue
            self.change_quietly(s, k, sim)
            k = nxt

    def change_quietly(self, s: int, k: int, sim: _Simulation) -> None:
        """Hour ``k`` starts at step ``s`` where nobody can start: overtime since the
        last change, then the new number on duty."""
        t = self.warmup + 60.0 * k
        over = self.busy[s] - self.on_duty[s]
        if over > 0:
            sim.overtime[s] += over * (t - self.level_at[s])
        self.level_at[s] = t
        self.on_duty[s] = self.plan[s].duty[k % 168]

    # -- result -------------------------------------------------------------------------------

    def result(self) -> RunResult:
        arr = np.asarray
        customers = None
        if self.log is not None:
            log = sorted(self.log)
            cols = list(zip(*log)) if log else [[]] * 10
            names = (
                "source",
                "id",
                "segment",
                "outcome",
                "step",
                "end",
                "order_value",
                "irritation",
                "tolerance",
                "score",
            )
            customers = {n: arr(c) for n, c in zip(names, cols)}
        scores = arr(self.scores, dtype=np.int64)
        return RunResult(
            visitors=sum(self.src_visitors),
            orders=self.totals[ORDER],
            revenue=self.money[ORDER],
            abandoned_friction=self.totals[FRICTION],
            abandoned_exit=self.totals[EXIT],
            lost_revenue_friction=self.money[FRICTION],
            lost_revenue_exit=self.money[EXIT],
            checkout_time_total=self.checkout_time,
            end_time=max(0.0, self.last_left - self.warmup),  # from the end of the warm-up
            step_entered=arr(self.entered, dtype=np.int64),
            step_abandoned_friction=arr(self.ab_friction, dtype=np.int64),
            step_abandoned_exit=arr(self.ab_exit, dtype=np.int64),
            step_reneged=arr(self.reneged, dtype=np.int64),
            step_balked=arr(self.balked, dtype=np.int64),
            step_turned_away=arr(self.turned_away, dtype=np.int64),
            step_overtime=arr(self.overtime, dtype=float),
            step_recovery_offers=arr(self.offers, dtype=np.int64),
            step_recovered=arr(self.recovered, dtype=np.int64),
            step_fell_back=arr(self.fell_back, dtype=np.int64),
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
            step_lost_revenue_friction=arr(self.lost_friction, dtype=float),
            step_lost_revenue_exit=arr(self.lost_exit, dtype=float),
            segment_scores=scores,
            source_visitors=arr(self.src_visitors, dtype=np.int64),
            source_orders=arr(self.src_orders, dtype=np.int64),
            source_revenue=arr(self.src_revenue, dtype=float),
            prospects_lost=self.prospects_lost,
            reminders_sent=self.reminders_sent,
            deterrals_unused=self.deterred_ready + len(self.deterrals),
            defects=self.defects,
            remediation_costs=self.remediation,
            base_active=arr(self.base_active, dtype=np.int64) if self.base else None,
            base_retained=arr(self.base_retained, dtype=np.int64) if self.base else None,
            base_joined=self.base_joined,
            base_churned=self.base_churned,
            segment_base_members=arr(self.seg_base_members, dtype=np.int64) if self.base else None,
            segment_base_revenue=arr(self.seg_base_revenue, dtype=float) if self.base else None,
            service=self.service.result() if self.service is not None else None,
            arrival_bin_minutes=self.bin_width,
            arrivals_by_source=arr(self.arrival_bins, dtype=np.int64),
            customers=customers,
            step_irritation_hist=arr(self.irr_hist, dtype=np.int64).transpose(1, 0, 2).copy(),
            segment_tolerance_hist=arr(self.tol_hist, dtype=np.int64),
            step_wait_hist=arr(self.wait_hist, dtype=np.int64),
            checkout_time_hist=arr(self.checkout_hist, dtype=np.int64),
            step_pass_minutes=from_fixed(self.pass_units),
            step_pass_minutes_sq=squares_sum(self.pass_sq_fine, self.pass_sq_units),
        )


class _Service(_Simulation):
    """A service journey (support) in the same run as the checkout: contacts walk its
    steps with the checkout's customers' random numbers of their own, and end resolved
    (past its last step), unresolved (failed every attempt at a step) or abandoned.
    Who asked for a contact hears how it ended."""

    gave_up = UNRESOLVED

    asking: tuple[int, int] | None = None  # the person the next contact is of

    def contact(self, seg: int, tol: float, done: Any) -> None:
        """A contact of a customer of ``seg`` (tolerance ``tol``), now; ``done(outcome,
        irritation)`` when it ends."""
        i = self.sources[ORGANIC].count
        self.callbacks[(ORGANIC, i)] = done
        if self.asking is not None and self.events is not None and self.env.now >= self.warmup:
            self.events.person(ORGANIC, i, self.asking)  # the event log's `customer`
        self.asking = None
        self.spawn(ORGANIC, seg, tol)

    def finish(self, i, src, seg, tol, value, outcome, s, irr) -> None:  # type: ignore[override]
        self.last_left = self.env.now
        self.alive[0] -= 1
        if outcome == UNRESOLVED:
            self.unresolved[s] += 1
        else:
            self.totals[outcome] += 1
            self.seg_outcomes[seg][outcome] += 1
            if outcome == FRICTION:
                self.ab_friction[s] += 1
            elif outcome == EXIT:
                self.ab_exit[s] += 1
        if outcome != ORDER:  # a resolved contact is told once "remembered"
            ev = self.events
            if ev is not None:
                name = self.names[s]
                ev.event(src, i, seg, CONTACT_OUTCOME_ACTIVITY[outcome], "complete",
                         self.env.now, name, irr)  # fmt: skip
                ev.done(src, i)
            done = self.callbacks.pop((src, i), None)
            if done is not None:
                done(outcome, irr)

    def remember(self, i, src, seg, tol, value, irr, peak, last, defect_irr, *_) -> None:  # type: ignore[override]
        if self.events is not None:
            self.events.done(src, i)
        done = self.callbacks.pop((src, i), None)
        if done is not None:
            done(ORDER, irr)

    def result(self) -> RunResult:
        res = super().result()
        res.unresolved = sum(self.unresolved)
        res.step_unresolved = np.asarray(self.unresolved, dtype=np.int64)
        return res


def _child(seq: np.random.SeedSequence, name: str) -> np.random.SeedSequence:
    """A seed sequence of its own for a part of the run, keyed by ``name``."""
    return np.random.SeedSequence(
        seq.entropy, spawn_key=(*seq.spawn_key, zlib.crc32(name.encode()))
    )


def recommend_score(peak: float, last: float, tolerance: float, best: float, scale: float) -> int:
    """0-10 likelihood to recommend from the peak-end remembered irritation.

    Remembered irritation is ``(peak + last) / 2`` (the worst moment and the
    final one); relative to the customer's tolerance, it lowers the score
    linearly from ``best`` (nothing to remember) to 0 (remembered at ``scale``
    times the tolerance).
    """
    # a relief at the end lightens the memory, down to nothing remembered (the score
    # is then `best`: no checkout is remembered as better than one without friction)
    remembered = max(0.0, (peak + last) / 2)
    if tolerance <= 0:
        return 0
    limit = scale * tolerance
    if limit > 0:
        if remembered >= limit:  # the score is 0 or less (the ratio could overflow)
            return 0
        score = best * (1.0 - remembered / limit)
    else:  # a tolerance so near 0 that the product underflows
        score = best if remembered <= 0 else 0.0
    return min(10, max(0, math.floor(score + 0.5)))


def _renege(timer: simpy.Event) -> None:
    ticket = timer.value
    if not ticket.triggered:  # still waiting: irritation has reached the tolerance
        ticket.succeed(False)


def simulate(
    scenario: Scenario,
    seq: np.random.SeedSequence,
    *,
    arrivals: Any = None,
    record_customers: bool = False,
    events: EventSink | None = None,
) -> RunResult:
    """Run one replication of ``scenario`` with the random streams of ``seq``.

    ``arrivals`` (minutes, ascending) replaces the Poisson arrivals, for tests
    and trace-driven runs. ``record_customers`` adds a per-customer table to the
    result (memory grows with the number of customers). ``events`` receives
    every customer's events as they happen (an event log).
    """
    sim = _Simulation(scenario, seq, record_customers, events)
    if arrivals is None:
        chunks = arrival_times(scenario, sim.arrival_rng)
    else:
        chunks = [np.asarray(arrivals, dtype=float)]
    sim.start(chunks)
    if sim.base is not None:
        sim.populate()
    if sim.service is not None:
        service = sim.service
        if sim.events is not None:  # after the warm-up's shift of the clock, if any
            service.events = _Contacts(sim.events)
        alone = scenario.service.arrivals is not None  # type: ignore[union-attr]
        # contacts that come on their own (`service.arrivals`), besides the defects'
        service.start(arrival_times(service.scenario, service.arrival_rng) if alone else ())
    sim.env.run()
    return sim.result()
