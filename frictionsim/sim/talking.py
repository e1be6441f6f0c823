"""Word of mouth and returns on the fast path: referral visits, deterred prospects and
returning customers, exactly as the SimPy engine simulates them, where the delays of
``word_of_mouth`` and ``repeat`` have a positive least value.

In the SimPy engine a visit's word of mouth and its return are drawn when the visit
ends, from one stream each (``"word_of_mouth"``, ``"repeat"``) in the order visits end;
a referral or returning visit takes the next row of its source's streams when it
arrives (a returning customer keeps their segment and tolerance, with an order value of
that segment and their saved fields), and a deterral stays one organic prospect, the
first to arrive from its time on (:mod:`.simpy_engine`). Everything here turns on the
least delay ``L``: time is walked in windows shorter than ``L``, each like a chunk of
:mod:`.fastpath` (its queues served up to the window's end), so that the visits and
deterrals that a window's ended visits bring all fall in later windows. After each
window the visits that ended in it talk, in the order they ended, and what they bring
waits in a heap until its window comes; visits due at the same instant arrive in the
order they were scheduled, as SimPy starts them. The draws of what visits bring, one
generator call per number in the order visits ended, are the slow part in Python:
where numba's generators can draw them, :func:`_speak_loop` is compiled (the same
numbers from the same streams, the tests compare the two). An event that would fall in its own
window after all (float rounding of a tiny delay), or two events at the same instant
whose order only SimPy's event queue knows, raise :class:`~.fastpath._Tie`: the
replication goes to the SimPy engine.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
import threading
import warnings
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
    RETURNING,
    SOURCES,
)
from .fastpath import (
    _FINISHED,
    BLOCK,
    _Batch,
    _Counts,
    _Customers,
    _Defects,
    _finish_sums,
    _InOrder,
    _QueueCounts,
    _scores,
    _Step,
    _Tie,
    _timed_chunks,
    _walk,
)
from .fcfs import _jitable
from .result import RunResult
from .streams import Streams, extra_limit, runaway, substream

#: A window's length, as a share of the least delay: short of it by far more than the
#: rounding of a clock (a visit that rounding still brings into its window is a tie).
WINDOW = 1 - 2**-20


class _Rows:
    """The random numbers of one source's customers, row by row in the order they
    arrive, drawn a block at a time as the SimPy engine draws them."""

    def __init__(self, scenario: Scenario, streams: Streams) -> None:
        self.customers = _Customers(scenario, streams)
        self.steps = [_Step(scenario, i, streams) for i in range(len(scenario.steps))]
        self.cols: dict[Any, np.ndarray] = {}
        self.left = 0  # rows drawn and not yet taken

    def take(self, n: int) -> dict[Any, np.ndarray]:
        """The next ``n`` rows: ``seg``, ``tol``, ``value`` (``by_segment``: returning
        customers' order value in each segment, a column per segment) and the steps' draws."""
        if n > self.left or not self.cols:  # drawing ahead changes no other row's numbers
            blocks = -(-(n - self.left) // BLOCK) if n > self.left else 1
            size = blocks * BLOCK
            seg, tol, value = self.customers.draw(blocks)
            fresh: dict[Any, np.ndarray] = {"seg": seg, "tol": tol, "value": value}
            if self.customers.by_segment:
                fresh["by_segment"] = self.customers.value_by_segment.T
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


#: How the compiled loop draws a distribution (:func:`_law`): a fixed value, numpy's
#: ``uniform``, ``triangular`` or ``poisson``; -1: the loop cannot, Python draws it.
_FIXED, _UNIFORM, _TRIANGULAR, _POISSON = range(4)


def _law(dist: Any) -> tuple[int, float, float, float]:
    """A distribution as the compiled loop draws it: its kind and parameters."""
    family = dist.dist  # the scenario's `dist:` key
    if family == "fixed":
        return _FIXED, float(dist.value), 0.0, 0.0
    if family == "uniform":
        return _UNIFORM, float(dist.low), float(dist.high), 0.0
    if family == "triangular":
        return _TRIANGULAR, float(dist.low), float(dist.mode), float(dist.high)
    if family == "poisson":
        return _POISSON, float(dist.mean), 0.0, 0.0
    return -1, 0.0, 0.0, 0.0


@_jitable
def _one(rng: Any, kind: int, a: float, b: float, c: float) -> float:  # pragma: no cover
    """One draw of :func:`_law`'s distribution: the number and use of ``rng`` of its
    :meth:`~frictionsim.distributions.Distribution.one` (compiled)."""
    if kind == _FIXED:
        return a
    if kind == _UNIFORM:
        return rng.uniform(a, b)
    if kind == _TRIANGULAR:
        return rng.triangular(a, b, c)
    return float(rng.poisson(a))


@_jitable
def _grow(a: Any) -> Any:  # pragma: no cover - compiled
    """``a`` in an array twice as long (the rest unset)."""
    b = np.empty(2 * a.size, a.dtype)
    b[: a.size] = a
    return b


def _speak_loop(  # pragma: no cover - compiled; _Talk.speak's Python loop is its reference
    times: Any, kinds: Any, wom_rng: Any, back_rng: Any, talking: bool, tell: Any,
    visit: Any, deter: Any, delay: Any, coming: bool, back: Any, back_delay: Any,
    horizon: float, room: int,
) -> Any:  # fmt: skip
    """The word of mouth and returns of the visits that ended at ``times`` (of ``kinds``),
    in that order, with the numbers of :meth:`_Talk.speak`'s Python loop. Returns the
    visits scheduled (when, for when, and a negative number for a referral or else the
    index of the returning customer's visit), the deterrals' times, and their counts;
    it stops after ``room + 1`` visits (the caller then says they grow without bound)."""
    out_now = np.empty(64)
    out_t = np.empty(64)
    out_at = np.empty(64, np.int64)
    out_deter = np.empty(64)
    nv = nd = 0
    for k in range(times.size):
        now = times[k]
        kind = kinds[k]
        if talking:
            told = int(_one(wom_rng, int(tell[kind, 0]), tell[kind, 1], 0.0, 0.0))
            if told:
                if visit[kind] > 0:
                    for _ in range(wom_rng.binomial(told, visit[kind])):
                        t = now + _one(wom_rng, int(delay[0]), delay[1], delay[2], delay[3])
                        if t < horizon:
                            if nv == out_t.size:
                                out_now, out_t, out_at = _grow(out_now), _grow(out_t), _grow(out_at)
                            out_now[nv], out_t[nv], out_at[nv] = now, t, -1
                            nv += 1
                            if nv > room:
                                return out_now, out_t, out_at, out_deter, nv, nd
                if deter[kind] > 0:
                    for _ in range(wom_rng.binomial(told, deter[kind])):
                        t = now + _one(wom_rng, int(delay[0]), delay[1], delay[2], delay[3])
                        if t < horizon:
                            if nd == out_deter.size:
                                out_deter = _grow(out_deter)
                            out_deter[nd] = t
                            nd += 1
        if coming and back_rng.random() < back[kind]:
            t = now + _one(back_rng, int(back_delay[0]), back_delay[1], back_delay[2],
                           back_delay[3])  # fmt: skip
            if t < horizon:
                if nv == out_t.size:
                    out_now, out_t, out_at = _grow(out_now), _grow(out_t), _grow(out_at)
                out_now[nv], out_t[nv], out_at[nv] = now, t, k
                nv += 1
                if nv > room:
                    return out_now, out_t, out_at, out_deter, nv, nd
    return out_now, out_t, out_at, out_deter, nv, nd


_compiled_loop: list[Any] = []
_compiling = threading.Lock()


def compiled_loop() -> Any:
    """:func:`_speak_loop` compiled with numba, or ``None``: without numba, or with a numba
    whose generators cannot draw what it needs (``binomial`` came after 0.57)."""
    if not _compiled_loop:
        with _compiling:
            if not _compiled_loop:
                _compiled_loop.append(_compile_loop())
    return _compiled_loop[0]


def _compile_loop() -> Any:
    from .fcfs import _use_numba, jit

    if not _use_numba():
        return None
    with warnings.catch_warnings():  # numba's notes while it tries the loop: not the user's
        warnings.simplefilter("ignore")
        try:
            loop = jit(_speak_loop)
            rng = np.random.default_rng(0)
            probe = np.zeros(4)
            law = np.zeros(4)
            tell = np.zeros((4, 2))
            loop(np.zeros(1), np.zeros(1, np.int64), rng, rng, True, tell, probe + 1, probe + 1,
                 law, True, probe, law, 1.0, 10)  # fmt: skip
        except Exception:  # a numba that cannot: Python draws them, the same numbers
            return None
    return loop


def _laws(scenario: Scenario) -> tuple | None:
    """What :func:`_speak_loop` needs of the scenario's word of mouth and returns (after
    ``wom_rng, back_rng, talking``), or ``None`` if it cannot draw one of their
    distributions (an empirical one: Python draws those)."""
    wom, repeat = scenario.word_of_mouth, scenario.repeat
    kinds = ("promoters", "passives", "detractors", "abandoners")
    tell, visit, deter = np.zeros((4, 2)), np.zeros(4), np.zeros(4)
    delay, back, back_delay = np.zeros(4), np.zeros(4), np.zeros(4)
    if wom is not None:
        for k, name in enumerate(kinds):
            said = getattr(wom, name)
            law = _law(said.tell)
            if law[0] not in (_FIXED, _POISSON):
                return None
            tell[k] = law[:2]
            visit[k], deter[k] = said.visit, said.deter
        delay[:] = _law(wom.delay)
    if repeat is not None:
        back[:] = [getattr(repeat, name) for name in kinds]
        back_delay[:] = _law(repeat.delay)
    if delay[0] < 0 or back_delay[0] < 0:
        return None
    return tell, visit, deter, delay, repeat is not None, back, back_delay


#: Draw word of mouth and returns in Python even where numba compiles the loop (the
#: numbers are the same).
PYTHON_TALK = False


class _Talk:
    """What visits that ended bring, drawn in the order they ended: referral and
    returning visits (a heap of their clock, the order they were scheduled in, their
    source, and a returning customer's segment and tolerance) and deterrals (a heap of
    their times)."""

    def __init__(self, scenario: Scenario, seq: np.random.SeedSequence) -> None:
        wom, repeat = scenario.word_of_mouth, scenario.repeat
        self.wom, self.repeat = wom, repeat
        if wom is not None:
            self.talk = [wom.promoters, wom.passives, wom.detractors, wom.abandoners]
        if repeat is not None:
            self.back = [repeat.promoters, repeat.passives, repeat.detractors, repeat.abandoners]
        self.wom_rng = substream(seq, "word_of_mouth")
        self.repeat_rng = substream(seq, "repeat")
        self.horizon = scenario.arrival_span
        self.limit = extra_limit(scenario)
        self.scenario = scenario
        self.scheduled = 0
        self.visits: list[tuple[float, int, int, int, float]] = []
        self.deterrals: list[float] = []
        self.seen = -math.inf  # the latest organic arrival time walked
        self.times = np.empty(0)  # visits that ended and have not talked yet
        self.kinds = np.empty(0, dtype=np.int64)
        self.segs = np.empty(0, dtype=np.int64)
        self.tols = np.empty(0)
        self.laws = _laws(scenario)  # for the compiled loop; None: Python draws

    def ended(self, out: _Batch, best: float, scale: float, when: np.ndarray) -> None:
        """Customers ``out`` finished: buyers talk as their score says, friction abandoners
        as abandoners, at ``when`` (a buyer with a defect once it surfaced); those who left
        for other reasons say nothing."""
        kind = np.full(out.now.size, -1, dtype=np.int64)
        ordered = out.outcome == ORDER
        score = _scores(out.peak[ordered], out.last[ordered], out.tol[ordered], best, scale)
        kind[ordered] = np.where(score >= 9, PROMOTER, np.where(score >= 7, PASSIVE, DETRACTOR))
        kind[out.outcome == FRICTION] = ABANDONER
        talks = kind >= 0  # the others left for reasons other than friction (EXIT)
        self.times = np.concatenate((self.times, when[talks]))
        self.kinds = np.concatenate((self.kinds, kind[talks]))
        self.segs = np.concatenate((self.segs, out.seg[talks]))
        self.tols = np.concatenate((self.tols, out.tol[talks]))

    def first(self) -> float | None:
        """When the next visit that has not talked yet ended."""
        return float(self.times.min()) if self.times.size else None

    def speak(self, stop: float) -> None:
        """The visits that ended before ``stop`` talk and decide to come back, in the order
        they ended; whatever they bring must come at or after ``stop``."""
        due = self.times < stop
        if not due.any():
            return
        order = np.argsort(self.times[due], kind="stable")
        times = self.times[due][order]
        if times.size > 1 and not np.all(times[1:] > times[:-1]):
            raise _Tie  # two visits ended at once: which talks first is SimPy's to say
        kinds, segs, tols = self.kinds[due][order], self.segs[due][order], self.tols[due][order]
        keep = ~due
        self.times, self.kinds = self.times[keep], self.kinds[keep]
        self.segs, self.tols = self.segs[keep], self.tols[keep]
        wom, repeat, horizon = self.wom, self.repeat, self.horizon
        rng, back_rng = self.wom_rng, self.repeat_rng
        loop = None if PYTHON_TALK or self.laws is None else compiled_loop()
        if loop is not None:
            room = int(self.limit) - self.scheduled
            at_now, at_t, at, deterrals, nv, nd = loop(
                times, kinds, rng, back_rng, wom is not None, *self.laws, horizon, room
            )
            for k, (now, t) in enumerate(zip(at_now[:nv].tolist(), at_t[:nv].tolist())):
                i = int(at[k])
                if i < 0:
                    self.schedule(now, t, stop, REFERRAL)
                else:
                    self.schedule(now, t, stop, RETURNING, int(segs[i]), float(tols[i]))
            for t in deterrals[:nd].tolist():
                self.deter(t, stop)
            return
        for now, kind, seg, tol in zip(times.tolist(), kinds.tolist(), segs.tolist(),
                                       tols.tolist()):  # fmt: skip
            if wom is not None:
                said = self.talk[kind]
                told = int(said.tell.one(rng))
                if told:
                    if said.visit > 0:
                        for _ in range(rng.binomial(told, said.visit)):
                            t = now + wom.delay.one(rng)
                            if t < horizon:
                                self.schedule(now, t, stop, REFERRAL)
                    if said.deter > 0:
                        for _ in range(rng.binomial(told, said.deter)):
                            t = now + wom.delay.one(rng)
                            if t < horizon:
                                self.deter(t, stop)
            if repeat is not None and back_rng.random() < self.back[kind]:
                t = now + repeat.delay.one(back_rng)
                if t < horizon:
                    self.schedule(now, t, stop, RETURNING, seg, tol)

    def deter(self, t: float, stop: float) -> None:
        """A prospect deterred from ``t`` on, which must be a prospect not walked yet."""
        if t < stop or t <= self.seen:  # rounding: a prospect already walked might be it
            raise _Tie
        heapq.heappush(self.deterrals, t)

    def schedule(self, now: float, t: float, stop: float, src: int, seg: int = -1,
                 tol: float = 0.0) -> None:  # fmt: skip
        """A visit of ``src`` at ``t``, scheduled at ``now``: SimPy's clock then reads
        ``now + (t - now)``."""
        self.scheduled += 1
        if self.scheduled > self.limit:
            raise runaway(self.scenario, self.limit)
        clock = now + (t - now)
        if clock < stop:
            raise _Tie
        heapq.heappush(self.visits, (clock, self.scheduled, src, seg, tol))

    def arriving(self, stop: float) -> list[tuple[float, int, int, int, float]]:
        """The visits that arrive before ``stop``, in order: those at the same instant in
        the order they were scheduled, as SimPy starts them."""
        due = []
        while self.visits and self.visits[0][0] < stop:
            due.append(heapq.heappop(self.visits))
        return due


def _arrivals(
    organic: tuple[np.ndarray, dict[Any, np.ndarray]],
    visits: list[tuple[float, int, int, int, float]],
    rows: dict[int, _Rows],
) -> tuple[np.ndarray, np.ndarray, dict[Any, np.ndarray]]:
    """A window's arrivals in the order SimPy starts them: the organic ones (their clock
    and rows) and the visits (each taking the next row of its source), by clock, visits at
    the same instant in the order scheduled. Returns their clock, sources and columns."""
    clocks, srcs, keys, parts = [organic[0]], [np.full(organic[0].size, ORGANIC)], [], []
    keys.append(np.full(organic[0].size, -1, dtype=np.int64))
    parts.append(organic[1])
    for src in (REFERRAL, RETURNING):
        mine = [v for v in visits if v[2] == src]
        if not mine:
            continue
        got = rows[src].take(len(mine))
        clocks.append(np.asarray([v[0] for v in mine]))
        srcs.append(np.full(len(mine), src))
        keys.append(np.asarray([v[1] for v in mine], dtype=np.int64))
        if src == RETURNING:  # the same person: their segment, tolerance, saved fields
            seg = np.asarray([v[3] for v in mine], dtype=np.int64)
            got["seg"], got["tol"] = seg, np.asarray([v[4] for v in mine])
            got["value"] = got["by_segment"][np.arange(len(mine)), seg]
        parts.append(got)
    clock = np.concatenate(clocks)
    src = np.concatenate(srcs).astype(np.int64)
    by_time = np.lexsort((np.concatenate(keys), clock))
    clock, src = clock[by_time], src[by_time]
    at_once = np.flatnonzero(clock[1:] == clock[:-1])
    if at_once.size and np.any((src[at_once] == ORGANIC) | (src[at_once + 1] == ORGANIC)):
        raise _Tie  # a prospect and a visit at once: SimPy's event queue orders them
    cols = {k: np.concatenate([p[k] for p in parts])[by_time] for k in organic[1]}
    return clock, src, cols


def simulate_talking(scenario: Scenario, seq: np.random.SeedSequence, arrivals: Any) -> RunResult:
    """One replication with word of mouth or returns, identical to the SimPy engine's (see
    the module's text; :func:`.fastpath.simulate` calls it and hands a
    :class:`~.fastpath._Tie` to SimPy)."""
    from .streams import arrival_times

    delays = [t.delay.minimum for t in (scenario.word_of_mouth, scenario.repeat) if t]
    assert delays
    assert min(delays) > 0
    if arrivals is None:
        times: Any = arrival_times(scenario, substream(seq, "arrivals"))
    else:
        times = [np.asarray(arrivals, dtype=float)]
    n_steps, n_segs = len(scenario.steps), len(scenario.segments)
    rows = {src: _Rows(scenario, Streams(scenario, seq, src)) for src in SOURCE_CODES}
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
    defects = _Defects() if any(st.defect_p > 0 for st in steps) else None
    talk = _Talk(scenario, seq)
    organic = _Organic(times, chunk)
    span = min(delays) * WINDOW  # shorter than any delay, by more than rounding
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
        if raw.size:
            talk.seen = float(raw[-1])
        if talk.deterrals or ready:
            gone, ready = _deterred(raw, talk.deterrals, ready)
            if gone:
                lost += len(gone)
                keep = np.ones(clock.size, dtype=bool)
                keep[gone] = False
                clock = clock[keep]
                mine = {k: v[keep] for k, v in mine.items()}
        clock, src, cols = _arrivals((clock, mine), talk.arriving(stop), rows)
        seg, tol, value = cols.pop("seg"), cols.pop("tol"), cols.pop("value")
        counts.arrive(clock, seg, tol, src)
        source_visitors += np.bincount(src, minlength=len(SOURCES))
        batch = _Batch.new(arrived, clock, seg, tol, value, cols)
        batch.cols["src"] = src
        if defects is not None:
            defects.start(batch)
        arrived += clock.size
        if carried is not None:
            batch = carried.then(batch)
        _walk(steps, order, batch, customers, counts, queues, stop)
        done = batch.where < 0
        if done.all():
            out, carried = batch, None
        else:
            out = batch.take(np.flatnonzero(done), _FINISHED)
            carried = batch.take(np.flatnonzero(~done))
        when = out.now if defects is None else defects.surface(out)
        counts.leave(out, experience)
        _finish_sums(finish, out, n_segs, n_steps)
        out_src = out.cols["src"]
        ordered = out.outcome == ORDER
        source_orders += np.bincount(out_src[ordered], minlength=len(SOURCES))
        by_source.add(out.now, out.order, (out.value, np.where(ordered, out_src, -1)))
        talk.ended(out, experience.best, experience.scale, when)
        finish.flush(stop)
        by_source.flush(stop)
        for q in queues:
            if q is not None:
                q.sums.flush(stop)
        talk.speak(stop)
        end = stop
    result = counts.result(scenario, finish, queues)
    if defects is not None:
        result = defects.result(result)
    by_source.flush(math.inf)
    return dataclasses.replace(
        result,
        source_visitors=source_visitors,
        source_orders=source_orders,
        source_revenue=np.asarray(by_source.sums, dtype=float),
        prospects_lost=lost,
        deterrals_unused=ready + len(talk.deterrals),
    )


#: The sources of visitors, in the order of :data:`~.codes.SOURCES`.
SOURCE_CODES = (ORGANIC, REFERRAL, RETURNING)

__all__ = ["simulate_talking"]
