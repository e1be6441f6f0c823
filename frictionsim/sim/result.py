"""What one replication gives back: the counters of :class:`RunResult`.

Both engines, the SimPy one (:mod:`.simpy_engine`) and the vectorized fast
path (:mod:`.fastpath`), return a :class:`RunResult`, field for field the
same for the same scenario and seed; everything downstream (metrics,
statistics, results folders, reports) reads only this. Its size is fixed by
the scenario (steps, segments, histogram bins), never by the number of
customers, except for the per-customer table asked for with
``record_customers``. Times are in minutes, money in the scenario's currency.

The histograms have the same bins in every run, so runs can be compared and
added up: :data:`IRRITATION_BINS` equal bins up to a cap taken from the
scenario's tolerances (:func:`irritation_edges`, analytic, so drawing no
random number), and :data:`TIME_EDGES` for minutes waited and minutes from
arrival to order. The codes that index the per-outcome and per-source
counters are in :mod:`.codes`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..scenario import Scenario

#: Bins of the irritation histograms: equal widths from 0 to a cap taken from
#: the tolerance distributions (:func:`irritation_edges`); the last bin also
#: counts everything above the cap.
IRRITATION_BINS = 100
#: Edges (minutes) of the wait and checkout-time histograms: [0, 0.01), then 20
#: log-spaced bins per decade up to 10,000 minutes; the last bin also counts
#: longer times. The same for every scenario, so runs can be compared.
TIME_EDGES = np.concatenate([[0.0], 10.0 ** (np.arange(-40, 81) / 20)])
TIME_BINS = TIME_EDGES.size - 1
#: The inner edges: ``bisect_right(TIME_INNER_EDGES, m)`` is the bin of ``m`` minutes.
TIME_INNER_EDGES = TIME_EDGES[1:-1].tolist()

#: Minutes in a step are summed exactly, in fixed point, so that the sums do not depend on
#: the order in which an engine adds them: each value is rounded to a multiple of
#: 1 / ``THROUGH_SCALE`` minutes (about 57 microseconds), capped at ``FIXED_CAP`` units.
#: Its square goes in one of two sums: below ``SQ_SPLIT`` square minutes (a visit under
#: 1,024 minutes) in units of 1 / ``SQ_FINE`` (fine enough for a step of a second), from
#: it in units of 1 / ``THROUGH_SQ_SCALE``.
THROUGH_SCALE = 2.0**20
SQ_SPLIT = 2.0**20
SQ_FINE = 2.0**40
THROUGH_SQ_SCALE = 2.0**10
FIXED_CAP = 2.0**62
LOW_BITS = 31
LOW_MASK = (1 << LOW_BITS) - 1


def fixed(x: float, scale: float = THROUGH_SCALE) -> int:
    """``x`` in fixed-point units of ``1 / scale`` (round half to even, capped)."""
    return round(min(x * scale, FIXED_CAP))


def fixed_sum(x: np.ndarray, scale: float = THROUGH_SCALE) -> int:
    """The exact sum of :func:`fixed` of every element of ``x``, as a Python int.

    The units are split in high and low bits summed apart, so no int64 sum overflows
    for fewer than 2**32 elements."""
    if x.size == 0:
        return 0
    y = x * scale
    if y.min() >= 0.0 and y.max() < FIXED_CAP / y.size:  # nothing capped, no overflow
        return int(np.rint(y, out=y).astype(np.int64).sum())
    q = np.rint(np.minimum(y, FIXED_CAP)).astype(np.int64)
    return (int((q >> LOW_BITS).sum()) << LOW_BITS) + int((q & LOW_MASK).sum())


def from_fixed(units: list[int], scale: float = THROUGH_SCALE) -> np.ndarray:
    """Fixed-point sums back in minutes (or square minutes), one float each."""
    return np.asarray([u / scale for u in units], dtype=float)


def fixed_square_sums(x: np.ndarray) -> tuple[int, int]:
    """The squares of ``x`` in their two fixed-point tiers (see :data:`SQ_SPLIT`): the
    exact sums below the split and from it."""
    sq = x * x
    if sq.size == 0 or sq.max() < SQ_SPLIT:  # as a rule: every visit under 1,024 minutes
        return fixed_sum(sq, SQ_FINE), 0
    fine = sq < SQ_SPLIT
    return fixed_sum(sq[fine], SQ_FINE), fixed_sum(sq[~fine], THROUGH_SQ_SCALE)


def squares_sum(fine: list[int], coarse: list[int]) -> np.ndarray:
    """The sums of squares from their two fixed-point tiers (see :data:`SQ_SPLIT`)."""
    return from_fixed(fine, SQ_FINE) + from_fixed(coarse, THROUGH_SQ_SCALE)


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
    step_balked: np.ndarray  # declined to join a long queue (part of abandoned_friction)
    step_turned_away: np.ndarray  # reached a closed step that turns customers away (friction)
    step_failed_attempts: np.ndarray
    step_fell_back: np.ndarray  # failed every attempt and went on to the step's fallback
    step_wait_total: np.ndarray  # minutes in queue, summed over customers who entered
    step_waited: np.ndarray  # customers who found every unit of capacity busy
    step_busy_time: np.ndarray  # capacity-minutes held (for utilisation)
    step_max_in_service: np.ndarray  # most customers holding capacity at once
    step_overtime: np.ndarray  # unit-minutes held past the units' hours (a `schedule`)
    step_recovery_offers: np.ndarray  # friction abandoners shown the step's recovery offer
    step_recovered: np.ndarray  # ... who took it and went on (not abandoned there)
    step_in_service_at_end: np.ndarray  # 0 when every unit was released
    segment_visitors: np.ndarray
    segment_orders: np.ndarray
    segment_revenue: np.ndarray
    segment_abandoned_friction: np.ndarray
    segment_abandoned_exit: np.ndarray
    # money lost per step, and what happens after the checkout
    step_lost_revenue_friction: np.ndarray
    step_lost_revenue_exit: np.ndarray
    segment_scores: np.ndarray  # (segments, 11): buyers per 0-10 recommendation score
    source_visitors: np.ndarray  # organic, referral, returning
    source_orders: np.ndarray
    source_revenue: np.ndarray
    prospects_lost: int  # organic arrivals that did not happen: deterred by word of mouth
    reminders_sent: int  # reminders sent to customers who left (``reminders``)
    deterrals_unused: int  # deterrals due before the horizon that found no organic arrival
    defects: int  # post-purchase defects that surfaced
    arrival_bin_minutes: float
    arrivals_by_source: np.ndarray  # (sources, bins) arrivals per bin of the horizon
    customers: dict[str, np.ndarray] | None = field(default=None, repr=False)
    # The service journey (``service``): its own counters, orders meaning resolved contacts.
    remediation_costs: float = 0.0  # Σ defect.cost of the defects that surfaced
    service: RunResult | None = field(default=None, repr=False)
    unresolved: int = 0  # contacts that failed every attempt at a step (service only)
    step_unresolved: np.ndarray | None = None  # ... per step (service only)
    # The customer base (``base``): members at the start of each arrival bin and at the end
    base_active: np.ndarray | None = None
    base_retained: np.ndarray | None = None  # ... of those in the base at minute 0
    base_joined: int = 0  # first-time buyers who joined
    base_churned: int = 0  # members who left
    segment_base_members: np.ndarray | None = None  # in the base at minute 0 or joined
    segment_base_revenue: np.ndarray | None = None  # order values of members' orders
    # Bounded-memory aggregates for reports (sizes fixed by the scenario, not by the customers).
    step_irritation_hist: np.ndarray | None = None  # [step, segment, bin]: irritation on entering
    segment_tolerance_hist: np.ndarray | None = None  # [segment, bin]: tolerances of visitors
    step_wait_hist: np.ndarray | None = None  # [step, TIME_BINS]: minutes waited, those who waited
    checkout_time_hist: np.ndarray | None = None  # [TIME_BINS]: minutes from arrival to order
    # Minutes from entering a step to going on from it (waits included), over the visits
    # that completed it (:attr:`step_passed`): the sums of the minutes and of their
    # squares (exact fixed-point sums, :func:`fixed_sum`, the same in every engine).
    step_pass_minutes: np.ndarray | None = None
    step_pass_minutes_sq: np.ndarray | None = None
    #: The engine that ran this replication, ``"fast"`` or ``"simpy"``: provenance, not a
    #: result (the engines' results are equal field for field), so left out of ``==``.
    engine: str = field(default="simpy", compare=False, repr=False)

    @property
    def step_passed(self) -> np.ndarray:
        """Visits that went on past each step: entered, less those lost there (friction,
        exits, and for a service those left unresolved), those who fell back to another
        step and those its recovery offer sent on."""
        left = (
            self.step_abandoned_friction
            + self.step_abandoned_exit
            + self.step_fell_back
            + self.step_recovered
        )
        if self.step_unresolved is not None:
            left = left + self.step_unresolved
        return self.step_entered - left


def irritation_edges(scenario: Scenario) -> np.ndarray:
    """Edges of the irritation histograms: 0 to a round cap at or above the largest
    segment's tolerance mean + sd (analytic, so no random number is drawn)."""
    cap = max(t.expectation + t.variance**0.5 for t in (s.tolerance for s in scenario.segments))
    if not np.isfinite(cap) or cap < 1e-300:  # bins per irritation point must stay finite
        cap = 1.0
    step = 10.0 ** np.floor(np.log10(cap))
    cap = next(m * step for m in (1, 1.5, 2, 3, 5, 7.5, 10) if m * step >= cap)
    return np.linspace(0.0, cap, IRRITATION_BINS + 1)
