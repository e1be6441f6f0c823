"""The random streams both engines draw from, and the arrivals they share.

This module is the contract that lets the vectorized fast path
(:mod:`.fastpath`) reproduce the SimPy engine (:mod:`.simpy_engine`) draw for
draw: whatever one engine takes from a stream, the other takes from the same
stream, in the same order and the same amounts.

* :func:`substream` makes the generator of one purpose of one replication,
  keyed by purpose and by name (CRC-32 of a step's or a segment's name, stable
  across runs and platforms), never by position.
* :class:`Streams` holds the generators of one source of customers: one for
  the customer draw (segment), one per segment (tolerance and order value),
  and per step one for the exit draw, one for the branch draw, one per attempt
  for durations and one per attempt for errors (made only where a duration is
  random or errors can happen), one for defects, and one sequential "revisit"
  stream for a step visited a second time by the same customer (a loop).
  Organic customers use the replication's streams as they are; referral and
  returning customers use their own, so word of mouth never shifts an organic
  customer's draws.
* Randomness is drawn in numpy blocks of :data:`BLOCK` customers, never one
  Python call per draw; customer *i* always uses row *i* of each block. Two
  designs run with the same seed therefore see the same arrivals, the same
  customers and the same draws at every step they share (common random
  numbers): a step added or removed elsewhere, or an exit, branch, error or
  duration switched on or off at the same step, does not shift the other draws.
* :class:`StepPlan` is what the per-customer loop of either engine needs of a
  step (entry irritation, exit chance, attempts, branch table), computed once.
* :func:`arrival_times` draws the Poisson arrivals of the horizon (thinned by
  the time-of-day profile) from the ``"arrivals"`` stream, in chunks of
  :data:`ARRIVAL_CHUNK`; :func:`arrival_bin_width` and :func:`arrival_bins`
  are the bins over time in which both engines count them.

Times are in minutes, as everywhere in the simulation.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterator

import numpy as np

from ..errors import SimulationError
from ..scenario import Scenario, segment_error_p, segment_exit
from .codes import ORGANIC, RETURNING, SOURCES

#: Customers whose random numbers are drawn together.
BLOCK = 4096
#: Arrival times drawn together.
ARRIVAL_CHUNK = 8192


def substream(seq: np.random.SeedSequence, *key: int | str) -> np.random.Generator:
    """An independent generator for one purpose of one replication.

    Names are hashed (CRC-32, stable across runs and platforms) so the stream
    of a step depends on its name, not on its position in the flow.
    """
    words = tuple(zlib.crc32(k.encode()) if isinstance(k, str) else int(k) for k in key)
    child = np.random.SeedSequence(seq.entropy, spawn_key=(*seq.spawn_key, *words))
    return np.random.Generator(np.random.PCG64(child))


def arrival_times(scenario: Scenario, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Yield chunks (arrays) of arrival times in ``[0, warmup + horizon)``: Poisson at
    ``rate × profile[hour] × weekly[day]``, by thinning a Poisson process at the peak
    rate (no thinning, and no thinning draws, when the rate is flat). Hour and day count
    from ``start``, which is minute ``warmup``: a warm-up of a day sees yesterday's hours."""
    profile = np.asarray(scenario.profile, dtype=float)
    week = np.asarray(scenario.weekly or (1.0,) * 7, dtype=float)
    peak = float(profile.max()) * float(week.max())
    if peak <= 0:
        return
    rate = scenario.arrivals.rate * peak
    if rate <= 0:  # the product of two tiny numbers underflows: no arrivals in any horizon
        return
    flat = bool(np.all(profile * week.max() == peak) and np.all(week == week.max()))
    t = 0.0
    end = scenario.arrival_span
    warmup = scenario.warmup
    while t < end:
        # a tiny rate draws gaps so long that their sum overflows: infinite, past the end
        with np.errstate(over="ignore", invalid="ignore"):
            times = t + np.cumsum(rng.exponential(1.0 / rate, ARRIVAL_CHUNK))
            t = float(times[-1])
            if not flat:  # thinning: keep with probability rate(t) / peak
                clock = times - warmup  # minutes since `start`
                hour = np.floor_divide(clock, 60).astype(np.int64) % 24
                keep = profile[hour]
                if scenario.weekly:  # else every day's factor is 1: the product is the same
                    day = np.floor_divide(clock, 1440).astype(np.int64) % 7
                    keep = keep * week[day]
                times = times[rng.random(ARRIVAL_CHUNK) * peak < keep]
        yield times[times < end]


def extra_limit(scenario: Scenario) -> float:
    """Most visits that word of mouth, returns and reminders may bring in one replication:
    beyond it they grow without bound (:func:`runaway`)."""
    return 20 * scenario.expected_arrivals + 10_000


def runaway(scenario: Scenario, limit: float) -> SimulationError:
    """The error of a replication whose visits brought more than ``limit`` visits."""
    causes = [
        name
        for name, on in (
            ("word_of_mouth visit chances", scenario.word_of_mouth is not None),
            ("repeat chances", scenario.repeat is not None),
            ("reminders chances (or lengthen reminders.delay)", scenario.reminders is not None),
        )
        if on
    ]
    return SimulationError(
        f"visits that bring more visits grow without bound: more than {limit:,.0f} extra "
        f"visitors in one replication; lower {' or '.join(causes)}"
    )


#: Most bins of arrivals over time, whatever the horizon.
MAX_ARRIVAL_BINS = 1000


def arrival_bin_width(scenario: Scenario) -> float:
    """Minutes per bin of arrivals over time: hours for runs up to 2 days, else days, or
    for horizons over 1000 days the whole number of days that makes at most 1000 bins."""
    if scenario.horizon <= 2 * 1440:
        return 60.0
    return 1440.0 * max(1, math.ceil(scenario.horizon / 1440 / MAX_ARRIVAL_BINS))


def arrival_bins(scenario: Scenario) -> int:
    """Bins of arrivals over time: enough of :func:`arrival_bin_width` to cover the horizon."""
    return max(1, math.ceil(scenario.horizon / arrival_bin_width(scenario)))


def _cumulative(ps: list[float]) -> list[float]:
    """Cumulative branch probabilities, for a draw ``u``: the branch is the first whose
    value exceeds ``u``. Rounding never sends a customer nowhere, nor down a branch of
    p = 0: the last branch taken with p > 0 takes everything above."""
    cum = np.cumsum(ps).tolist()
    last = max(k for k, p in enumerate(ps) if p > 0)
    cum[last:] = [float("inf")] * (len(ps) - last)
    return cum


class StepPlan:
    """What the per-customer loop of either engine needs of a step, precomputed once."""

    __slots__ = (
        "attempts",
        "balk_at",
        "capacity",
        "closed_leave",
        "commits",
        "defect_contact",
        "defect_cost",
        "defect_delay",
        "defect_irr",
        "defect_p",
        "dur_const",
        "dur_dist",
        "duty",
        "entry",
        "entry_saved",
        "err_irr",
        "err_p_seg",
        "exit_seg",
        "exit_slope",
        "exits",
        "failing",
        "fallback",
        "next_cum",
        "next_cum_seg",
        "next_single",
        "next_to",
        "rescue",
        "rescue_p",
        "time_irr",
        "wait_irr",
    )

    def __init__(self, scenario: Scenario, i: int) -> None:
        step = scenario.steps[i]
        self.entry = scenario.entry_irritation(step)
        saved = scenario.repeat.saved_fields if scenario.repeat else 0.0
        self.entry_saved = self.entry - saved * (self.entry - step.irritation)  # fields' share
        names = [g.name for g in scenario.segments]
        self.exit_seg = [segment_exit(step, name) for name in names]  # by_segment's own
        self.exit_slope = step.exit_irritation  # each point of irritation adds this much
        self.exits = self.exit_slope > 0 or any(x > 0 for x in self.exit_seg)  # drawn at all
        self.capacity = step.capacity or 0
        self.balk_at = -1 if step.balk_at is None else step.balk_at  # -1: nobody balks
        # units on duty in each hour of a week from minute 0 (None: `capacity`, always)
        self.duty = scenario.duty_week(step) if step.schedule is not None else None
        # where a friction abandoner who takes the step's recovery offer goes (-1: none)
        self.rescue = scenario.step_index(step.recovery.to) if step.recovery else -1
        self.rescue_p = step.recovery.p if step.recovery else 0.0
        self.closed_leave = step.schedule is not None and step.schedule.closed == "leave"
        self.wait_irr = scenario.wait_irritation(step)
        self.time_irr = scenario.time_irritation(step)
        self.dur_dist = step.duration
        self.dur_const = step.duration.expectation if step.duration.is_constant else None
        self.err_p_seg = [segment_error_p(step, name) for name in names]
        self.failing = any(p > 0 for p in self.err_p_seg)
        self.err_irr = step.errors.irritation if step.errors else 0.0
        self.attempts = step.errors.max_attempts if step.errors else 1
        target = step.errors.fallback if step.errors else None
        # where those who failed every attempt go (-1: nowhere, they give up)
        self.fallback = scenario.step_index(target) if target is not None else -1
        self.defect_p = step.defect.p if step.defect else 0.0
        self.defect_irr = step.defect.irritation if step.defect else 0.0
        self.defect_delay = step.defect.delay if step.defect else 0.0
        self.defect_contact = step.defect.contact if step.defect else 0.0
        self.defect_cost = step.defect.cost if step.defect else 0.0
        # A routing point (no time, nothing felt on entry, no errors, no queue) is
        # not a page: completing it adds no commitment, as it is no moment.
        self.commits = not (
            self.dur_const == 0 and self.entry == 0 and not self.failing and not self.capacity
        )
        succ = scenario.successors(i)
        self.next_single = succ[0][0] if len(succ) == 1 else None
        self.next_to = [s for s, _ in succ]
        base = [p for _, p in succ] if step.next is None else [b.p for b in step.next]
        self.next_cum = _cumulative(base)
        self.next_cum_seg = []
        for name in names:  # each segment's probabilities, in the order of the step's branches
            own = step.by_segment.get(name)
            if own is None or own.next is None:
                self.next_cum_seg.append(self.next_cum)
            else:  # the same targets (each once: checked on loading), their own p
                p_of = {b.to: b.p for b in own.next}
                self.next_cum_seg.append(_cumulative([p_of[b.to] for b in step.next]))


class Streams:
    """The generators of one source of customers (organic, referral or returning).

    Organic customers use the replication's streams as they are; the other
    sources use their own, so word of mouth never shifts an organic customer's
    draws. Per step there is one stream per kind of draw (and per attempt), so
    switching one of them on or off, or changing ``max_attempts``, leaves the
    others as they were.
    """

    def __init__(self, scenario: Scenario, seq: np.random.SeedSequence, source: int) -> None:
        pre: tuple[str, ...] = () if source == ORGANIC else ("source", SOURCES[source])
        self.returning = source == RETURNING
        self.customer = substream(seq, *pre, "customers")
        self.segment = [substream(seq, *pre, "segment", s.name) for s in scenario.segments]
        names = [step.name for step in scenario.steps]
        # made when first drawn from (most flows never draw a defect or a revisit)
        self.exit, self.branch, self.defect, self.revisit = (
            _PerStep(seq, pre, names, kind) for kind in ("exit", "branch", "defect", "revisit")
        )
        self.dur, self.err = [], []
        for step in scenario.steps:
            name = step.name
            attempts = step.errors.max_attempts if step.errors else 1
            # streams per attempt only where they are drawn from (a stream is keyed by
            # its name, so making one or not changes no other): up to 100 attempts
            # each at up to 1000 steps would otherwise cost seconds and memory
            random_duration = not step.duration.is_constant
            failing = any(segment_error_p(step, g.name) > 0 for g in scenario.segments)
            self.dur.append(
                [substream(seq, *pre, "step", name, "duration", a) for a in range(attempts)]
                if random_duration
                else []
            )
            self.err.append(
                [substream(seq, *pre, "step", name, "errors", a) for a in range(attempts)]
                if failing
                else []
            )


class _PerStep:
    """One stream of a kind per step (``exit``, ``branch``, ...), each made when it is
    first asked for: a stream is keyed by its name, so making one or not changes no
    other, and a replication makes only those it draws from."""

    def __init__(
        self, seq: np.random.SeedSequence, pre: tuple[str, ...], names: list[str], kind: str
    ) -> None:
        self.seq, self.pre, self.names, self.kind = seq, pre, names, kind
        self.made: dict[int, np.random.Generator] = {}

    def __getitem__(self, s: int) -> np.random.Generator:
        rng = self.made.get(s)
        if rng is None:
            rng = self.made[s] = substream(self.seq, *self.pre, "step", self.names[s], self.kind)
        return rng

    def __len__(self) -> int:
        return len(self.names)
