"""Word of mouth on the fast path: referral visits and deterred prospects, exactly as the
SimPy engine simulates them, where ``word_of_mouth.delay`` has a positive least value.

In the SimPy engine a visit's word of mouth is drawn when the visit ends, from one
stream (``"word_of_mouth"``) in the order visits end; a referral visit takes the next
row of the referral source's streams when it arrives, and a deterral stays one organic
prospect, the first to arrive from its time on (:mod:`.simpy_engine`). Everything here
turns on the least delay ``L``: time is walked in windows shorter than ``L``, each like
a chunk of :mod:`.fastpath` (its queues served up to the window's end), so that the
visits and deterrals that a window's ended visits bring all fall in later windows.
After each window the visits that ended in it talk, in the order they ended, and what
they bring waits in a heap until its window comes. An event that would fall in its own
window after all (float rounding of a tiny delay), or two events at the same instant
whose order only SimPy's event queue knows, raise :class:`~.fastpath._Tie`: the
replication goes to the SimPy engine.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
from typing import Any

import numpy as np

from ..scenario import Scenario
from . import fastpath
from .codes import (
    ABANDONER,
    DETRACTOR,
    FRICTION,
    ORDER,
    ORGANIC,
    PASSIVE,
    PROMOTER,
    REFERRAL,
    SOURCES,
)
from .fastpath import (
    _FINISHED,
    BLOCK,
    _Batch,
    _Counts,
    _Customers,
    _finish_sums,
    _InOrder,
    _QueueCounts,
    _scores,
    _Step,
    _Tie,
    _timed_chunks,
    _walk,
)
from .result import RunResult
from .streams import Streams, extra_limit, runaway, substream

#: A window's length, as a share of the least delay: short of it by far more than the
#: rounding of a clock (a visit that rounding still brings into its window is a tie).
WINDOW = 1 - 2**-20
#: The columns of a window's customers that the counts of those who finished read.
_OUT = _FINISHED | {"src"}


class _Rows:
    """The random numbers of one source's customers, row by row in the order they
    arrive, drawn a block at a time as the SimPy engine draws them."""

    def __init__(self, scenario: Scenario, streams: Streams) -> None:
        self.customers = _Customers(scenario, streams)
        self.steps = [_Step(scenario, i, streams) for i in range(len(scenario.steps))]
        self.cols: dict[Any, np.ndarray] = {}
        self.left = 0  # rows drawn and not yet taken

    def take(self, n: int) -> dict[Any, np.ndarray]:
        """The next ``n`` rows: ``seg``, ``tol``, ``value`` and the steps' draws."""
        if n > self.left or not self.cols:  # drawing ahead changes no other row's numbers
            blocks = -(-(n - self.left) // BLOCK)
            size = blocks * BLOCK
            seg, tol, value = self.customers.draw(blocks)
            fresh: dict[Any, np.ndarray] = {"seg": seg, "tol": tol, "value": value}
            for st in self.steps:
                st.draw(blocks, size, fresh)
            if self.left:
                fresh = {k: np.concatenate((self.cols[k], v)) for k, v in fresh.items()}
            self.cols, self.left = fresh, self.left + size
        rows = {k: v[:n] for k, v in self.cols.items()}
        self.cols = {k: v[n:] for k, v in self.cols.items()}
        self.left -= n
        return rows


class _Organic:
    """The organic arrivals, their times and SimPy's clock at each, taken window by window."""

    def __init__(self, times: Any, chunk: int) -> None:
        self.pieces = _timed_chunks(times, chunk)
        self.raw = self.clock = np.empty(0)

    def first(self) -> float | None:
        """The clock of the next arrival not yet taken (``None``: there is none)."""
        while not self.clock.size:
            piece = next(self.pieces, None)
            if piece is None:
                return None
            self.raw, self.clock = piece
        return float(self.clock[0])

    def until(self, stop: float, most: int) -> tuple[np.ndarray, np.ndarray]:
        """The next arrivals whose clock is before ``stop``, at most ``most`` of them."""
        raws, clocks, n = [], [], 0
        while n < most and self.first() is not None:
            k = min(int(np.searchsorted(self.clock, stop, side="left")), most - n)
            raws.append(self.raw[:k])
            clocks.append(self.clock[:k])
            self.raw, self.clock = self.raw[k:], self.clock[k:]
            n += k
            if self.clock.size:  # the rest is at or after ``stop``, or beyond ``most``
                break
        if not raws:
            return np.empty(0), np.empty(0)
        return np.concatenate(raws), np.concatenate(clocks)


def _deterred(raw: np.ndarray, deterrals: list[float], ready: int) -> tuple[list[int], int]:
    """The organic prospects (indices into ``raw``, their arrival times) who stay away: at
    each arrival the deterrals due by then (a heap, popped here) become ready, and one
    ready deterral takes the arrival. Returns them and the deterrals still ready."""
    gone: list[int] = []
    j, n = 0, raw.size
    while j < n:
        if not ready:
            if not deterrals:
                break
            j = max(j, int(np.searchsorted(raw, deterrals[0], side="left")))
            if j >= n:
                break
        t = float(raw[j])
        while deterrals and deterrals[0] <= t:
            heapq.heappop(deterrals)
            ready += 1
        ready -= 1
        gone.append(j)
        j += 1
    return gone, ready


class _Talk:
    """The word of mouth of visits that ended, drawn in the order they ended: the
    referral visits it brings (a heap of their clock) and the deterrals (a heap of their
    times)."""

    def __init__(self, scenario: Scenario, seq: np.random.SeedSequence) -> None:
        wom = scenario.word_of_mouth
        assert wom is not None
        self.talk = [wom.promoters, wom.passives, wom.detractors, wom.abandoners]
        self.delay = wom.delay
        self.rng = substream(seq, "word_of_mouth")
        self.horizon = scenario.arrival_span
        self.limit = extra_limit(scenario)
        self.scenario = scenario
        self.scheduled = 0
        self.visits: list[tuple[float, int]] = []  # (clock, order scheduled)
        self.deterrals: list[float] = []
        self.times = np.empty(0)  # visits that ended and have not talked yet
        self.ties = np.empty(0, dtype=np.int64)
        self.kinds = np.empty(0, dtype=np.int64)

    def ended(self, out: _Batch, best: float, scale: float) -> None:
        """Customers ``out`` finished: buyers talk as their score says, friction abandoners
        as abandoners; those who left for other reasons say nothing."""
        kind = np.full(out.now.size, -1, dtype=np.int64)
        ordered = out.outcome == ORDER
        score = _scores(out.peak[ordered], out.last[ordered], out.tol[ordered], best, scale)
        kind[ordered] = np.where(score >= 9, PROMOTER, np.where(score >= 7, PASSIVE, DETRACTOR))
        kind[out.outcome == FRICTION] = ABANDONER
        talks = kind >= 0  # the others left for reasons other than friction (EXIT)
        self.times = np.concatenate((self.times, out.now[talks]))
        self.ties = np.concatenate((self.ties, out.order[talks]))
        self.kinds = np.concatenate((self.kinds, kind[talks]))

    def first(self) -> float | None:
        """When the next visit that has not talked yet ended."""
        return float(self.times.min()) if self.times.size else None

    def speak(self, stop: float) -> None:
        """The visits that ended before ``stop`` talk, in the order they ended; whatever
        they bring must come at or after ``stop``."""
        due = self.times < stop
        if not due.any():
            return
        times, kinds = self.times[due], self.kinds[due]
        order = np.argsort(times, kind="stable")
        times, kinds = times[order], kinds[order]
        if times.size > 1 and not np.all(times[1:] > times[:-1]):
            raise _Tie  # two visits ended at once: which talks first is SimPy's to say
        keep = ~due
        self.times, self.ties, self.kinds = self.times[keep], self.ties[keep], self.kinds[keep]
        rng, delay, horizon, talk = self.rng, self.delay, self.horizon, self.talk
        for now, kind in zip(times.tolist(), kinds.tolist()):
            said = talk[kind]
            told = int(said.tell.one(rng))
            if not told:
                continue
            if said.visit > 0:
                for _ in range(rng.binomial(told, said.visit)):
                    t = now + delay.one(rng)
                    if t < horizon:
                        self.schedule(now, t, stop)
            if said.deter > 0:
                for _ in range(rng.binomial(told, said.deter)):
                    t = now + delay.one(rng)
                    if t < horizon:
                        if t < stop:
                            raise _Tie  # a delay shorter than the window after rounding
                        heapq.heappush(self.deterrals, t)

    def schedule(self, now: float, t: float, stop: float) -> None:
        """A referral visit at ``t``, scheduled at ``now``: SimPy's clock then reads
        ``now + (t - now)``."""
        self.scheduled += 1
        if self.scheduled > self.limit:
            raise runaway(self.scenario, self.limit)
        clock = now + (t - now)
        if clock < stop:
            raise _Tie
        heapq.heappush(self.visits, (clock, self.scheduled))

    def arriving(self, stop: float) -> np.ndarray:
        """The clock of the referral visits that arrive before ``stop``, in order: those at
        the same instant in the order they were scheduled, as SimPy starts them."""
        due = []
        while self.visits and self.visits[0][0] < stop:
            due.append(heapq.heappop(self.visits)[0])
        return np.asarray(due, dtype=float)


def simulate_talking(scenario: Scenario, seq: np.random.SeedSequence, arrivals: Any) -> RunResult:
    """One replication with word of mouth, identical to the SimPy engine's (see the module's
    text; :func:`.fastpath.simulate` calls it and hands a :class:`~.fastpath._Tie` to SimPy)."""
    from .streams import arrival_times

    wom = scenario.word_of_mouth
    assert wom is not None
    assert wom.delay.minimum > 0
    if arrivals is None:
        times: Any = arrival_times(scenario, substream(seq, "arrivals"))
    else:
        times = [np.asarray(arrivals, dtype=float)]
    n_steps, n_segs = len(scenario.steps), len(scenario.segments)
    rows = [_Rows(scenario, Streams(scenario, seq, src)) for src in (ORGANIC, REFERRAL)]
    steps, customers = rows[ORGANIC].steps, rows[ORGANIC].customers
    order = scenario.flow.topological_order
    draws = scenario.draws_per_customer()
    most = fastpath.CHUNK_BYTES // (8 * BLOCK * draws)
    chunk = BLOCK * max(1, min(fastpath.CHUNK // BLOCK, most))
    queues = [_QueueCounts(st.capacity) if st.capacity else None for st in steps]
    counts = _Counts(scenario)
    finish = _InOrder(4 + n_segs + 2 * n_steps, 3)
    by_source = _InOrder(len(SOURCES), 1)  # revenue of orders, per source
    source_orders = np.zeros(len(SOURCES), dtype=np.int64)
    source_visitors = np.zeros(len(SOURCES), dtype=np.int64)
    experience = scenario.experience
    talk = _Talk(scenario, seq)
    organic = _Organic(times, chunk)
    span = wom.delay.minimum * WINDOW  # shorter than any delay, by more than rounding
    ready = lost = 0  # deterrals due and not yet used; prospects they took
    carried: _Batch | None = None
    arrived = 0
    end = -math.inf
    while True:
        nexts = [organic.first(), talk.first()]
        if talk.visits:
            nexts.append(talk.visits[0][0])
        if carried is not None:
            nexts.append(float(carried.now.min()))
        known = [t for t in nexts if t is not None]
        if not known:
            break
        begin = max(end, min(known))
        stop = max(begin + span, float(np.nextafter(begin, math.inf)))
        raw, clock = organic.until(stop, chunk)
        if clock.size == chunk and organic.first() is not None:
            stop = min(stop, organic.first())  # a full chunk: the window ends at the next
        mine = rows[ORGANIC].take(clock.size)  # a deterred prospect's row stays theirs
        if talk.deterrals or ready:
            gone, ready = _deterred(raw, talk.deterrals, ready)
            if gone:
                lost += len(gone)
                keep = np.ones(clock.size, dtype=bool)
                keep[gone] = False
                clock = clock[keep]
                mine = {k: v[keep] for k, v in mine.items()}
        ref_clock = talk.arriving(stop)
        theirs = rows[REFERRAL].take(ref_clock.size)
        src = np.concatenate(
            (np.full(clock.size, ORGANIC, dtype=np.int64),
             np.full(ref_clock.size, REFERRAL, dtype=np.int64))
        )  # fmt: skip
        clock = np.concatenate((clock, ref_clock))
        by_time = np.argsort(clock, kind="stable")
        clock, src = clock[by_time], src[by_time]
        at_once = np.flatnonzero(clock[1:] == clock[:-1])
        if at_once.size and np.any(src[at_once] != src[at_once + 1]):
            raise _Tie  # a prospect and a referral at once: SimPy's event queue orders them
        cols = {k: np.concatenate((mine[k], theirs[k]))[by_time] for k in mine}
        seg, tol, value = cols.pop("seg"), cols.pop("tol"), cols.pop("value")
        counts.arrive(clock, seg, tol, src)
        source_visitors += np.bincount(src, minlength=len(SOURCES))
        batch = _Batch.new(arrived, clock, seg, tol, value, cols)
        batch.cols["src"] = src
        arrived += clock.size
        if carried is not None:
            batch = carried.then(batch)
        _walk(steps, order, batch, customers, counts, queues, stop)
        done = batch.where < 0
        if done.all():
            out, carried = batch, None
        else:
            out = batch.take(np.flatnonzero(done), _OUT)
            carried = batch.take(np.flatnonzero(~done))
        counts.leave(out, experience)
        _finish_sums(finish, out, n_segs, n_steps)
        out_src = out.cols["src"]
        ordered = out.outcome == ORDER
        source_orders += np.bincount(out_src[ordered], minlength=len(SOURCES))
        by_source.add(out.now, out.order, (out.value, np.where(ordered, out_src, -1)))
        talk.ended(out, experience.best, experience.scale)
        finish.flush(stop)
        by_source.flush(stop)
        for q in queues:
            if q is not None:
                q.sums.flush(stop)
        talk.speak(stop)
        end = stop
    result = counts.result(scenario, finish, queues)
    by_source.flush(math.inf)
    return dataclasses.replace(
        result,
        source_visitors=source_visitors,
        source_orders=source_orders,
        source_revenue=np.asarray(by_source.sums, dtype=float),
        prospects_lost=lost,
        deterrals_unused=ready + len(talk.deterrals),
    )


__all__ = ["simulate_talking"]
