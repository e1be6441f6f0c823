"""The metric table: every number frictionsim reports, defined once.

A metric has a **name** (its key in ``summary.json``; the names of DESIGN.md
never change), a **level** (``run``: the whole replication; ``step``: one step,
``summary.json``'s ``steps.<step>.<name>``; ``segment``: one persona,
``segments.<segment>.<name>``), a **kind** that says how it is read and
written (a count, a rate in [0, 1], money, minutes, or the NPS score in
[−100, 100]), a **label** for tables and charts, how it is **computed** from one
replication's counters (:class:`~frictionsim.sim.result.RunResult`), and which
way is **better** (:data:`BETTER`: more orders, fewer losses), so that a chart
colours a change as good or bad whatever its sign.

Statistics, the console, the report, the CSV columns and ``--metric`` all read
this table, so a metric added here appears everywhere. The order of the table
is the order of the keys in ``summary.json``.

A rate whose denominator is zero in a replication (a step nobody entered) is
``nan`` there, and left out of that metric's statistics.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .sim.codes import ORGANIC, REFERRAL, RETURNING

if TYPE_CHECKING:  # the table is read without loading the engine (the report does)
    from .scenario import Scenario, Step
    from .sim.result import RunResult

#: How a metric is read: its feasible range and how it is written.
KINDS = {
    "count": (0.0, math.inf),  # people, visits, attempts
    "rate": (0.0, 1.0),  # a share of some count
    "money": (0.0, math.inf),  # in the scenario's currency
    "signed_money": (-math.inf, math.inf),  # profit can be negative
    "minutes": (0.0, math.inf),
    "score": (-100.0, 100.0),  # NPS
}

LEVELS = ("run", "step", "segment")

Compute = Callable[["RunResult", "Scenario", int], float]


@dataclass(frozen=True)
class Metric:
    """One reported number: what it is called, where it lives, how it is computed."""

    name: str
    level: str  # one of LEVELS
    kind: str  # one of KINDS
    label: str  # for tables and charts, lower case
    compute: Compute  # (replication's counters, scenario, step or segment index) -> value
    description: str
    headline: bool = False  # a contract metric of DESIGN.md's summary (run level)
    # a step metric of some steps only (a key of STEPS_WITH), or a run metric of some
    # scenarios only (a key of SCENARIOS_WITH); "": every step, every scenario
    only: str = ""

    def applies(self, step: Step) -> bool:
        """Whether ``step`` has this metric (a queue's metrics only where there is one)."""
        return STEPS_WITH[self.only][0](step)

    def exists_in(self, scenario: Scenario) -> bool:
        """Whether a run metric has a meaning in ``scenario`` (the service's only where
        there is a service)."""
        return SCENARIOS_WITH[self.only][0](scenario)

    @property
    def bounds(self) -> tuple[float, float]:
        """The values the metric can take (a confidence interval never goes beyond)."""
        return KINDS[self.kind]

    @property
    def money(self) -> bool:
        return self.kind in ("money", "signed_money")

    @property
    def better(self) -> str | None:
        """``higher`` or ``lower``: which way the metric is good (:data:`BETTER`); ``None``
        when neither is (a step's entrants, utilisation)."""
        return BETTER[self.level].get(self.name)


#: The steps some step metrics exist for: a test of the step, and how to say it.
STEPS_WITH: dict[str, tuple[Callable[[Step], bool], str]] = {
    "": (lambda step: True, "every step"),
    "capacity": (lambda step: bool(step.capacity), "steps with capacity"),
    "balking": (lambda step: step.balk_at is not None, "steps with `balk_at`"),
    "schedule": (lambda step: step.schedule is not None, "steps with a `schedule`"),
    "recovery": (lambda step: step.recovery is not None, "steps with a `recovery` offer"),
    "turning_away": (
        lambda step: step.schedule is not None and step.schedule.closed == "leave",
        "steps whose `schedule` turns customers away when closed",
    ),
}


#: The scenarios some run metrics exist for (in ``summary.json`` they are always written).
SCENARIOS_WITH: dict[str, tuple[Callable[[Scenario], bool], str]] = {
    "": (lambda scenario: True, "every scenario"),
    "service": (lambda scenario: scenario.service is not None, "scenarios with a `service`"),
}


def ratio(num: float, den: float) -> float:
    """``num / den``, or ``nan`` when the denominator is zero."""
    return num / den if den else math.nan


def nps_counts(scores: np.ndarray) -> tuple[int, int, int, float]:
    """Promoters (9-10), passives (7-8), detractors (0-6) and NPS of a score histogram."""
    scores = np.asarray(scores)
    promoters = int(scores[9:].sum())
    passives = int(scores[7:9].sum())
    detractors = int(scores[:7].sum())
    total = promoters + passives + detractors
    return promoters, passives, detractors, ratio(100.0 * (promoters - detractors), total)


def _scores(r: RunResult) -> tuple[int, int, int, float]:
    return nps_counts(r.segment_scores.sum(axis=0))


def _step_costs(r: RunResult, s: Scenario) -> float:
    return float(sum(step.cost * int(n) for step, n in zip(s.steps, r.step_entered)))


def _reminder_costs(r: RunResult, s: Scenario) -> float:
    return r.reminders_sent * s.reminders.cost if s.reminders is not None else 0.0


def _recovery_costs(r: RunResult, s: Scenario) -> float:
    return float(
        sum(
            st.recovery.cost * int(n)
            for st, n in zip(s.steps, r.step_recovery_offers)
            if st.recovery
        )
    )


def _contacts(r: RunResult) -> int:
    return r.service.visitors if r.service is not None else 0


def _contact_counts(r: RunResult) -> tuple[int, int, int]:
    """Resolved, unresolved and abandoned contacts of the service journey."""
    sv = r.service
    if sv is None:
        return 0, 0, 0
    return sv.orders, sv.unresolved, sv.abandoned_friction + sv.abandoned_exit


def _contact_wait(r: RunResult) -> float:
    sv = r.service
    return ratio(float(sv.step_wait_total.sum()), sv.visitors) if sv is not None else math.nan


def _service_utilisation(r: RunResult, s: Scenario) -> float:
    """Busy time over unit-minutes on duty (and overtime) at the service's steps with capacity."""
    sv, own = r.service, s.service_scenario
    if sv is None or own is None:
        return math.nan
    busy = available = 0.0
    for i, step in enumerate(own.steps):
        if step.capacity:
            busy += float(sv.step_busy_time[i])
            available += own.unit_minutes(step, sv.end_time) + float(sv.step_overtime[i])
    return ratio(busy, available)


def _service_costs(r: RunResult, s: Scenario) -> float:
    """Per contact, per step entered, and the service's units on duty."""
    sv, own = r.service, s.service_scenario
    if sv is None or own is None or s.service is None:
        return 0.0
    return s.service.cost * sv.visitors + _step_costs(sv, own) + _capacity_costs(own)


def _base_of(values: np.ndarray | None, k: int | None = None) -> float:
    """A customer-base counter of one segment (``k``) or all (an engine without a base
    gives none: 0)."""
    if values is None:
        return 0.0
    return float(values[k] if k is not None else values.sum())


def _base_end(r: RunResult) -> float:
    return float(r.base_active[-1]) if r.base_active is not None and r.base_active.size else 0.0


def _capacity_costs(s: Scenario) -> float:
    """Units paid while on duty: ``capacity`` through the horizon, or a schedule's hours."""
    cost = s.economics.capacity_cost
    if not cost:
        return 0.0
    always = sum(step.capacity or 0 for step in s.steps if step.schedule is None)
    scheduled = sum(s.unit_minutes(step, s.horizon) for step in s.steps if step.schedule)
    return always * cost * s.horizon + scheduled * cost


def _utilisation(r: RunResult, s: Scenario, i: int) -> float:
    step = s.steps[i]
    if step.schedule is None:
        return ratio(float(r.step_busy_time[i]), step.capacity * r.end_time)
    available = s.unit_minutes(step, r.end_time) + float(r.step_overtime[i])
    return ratio(float(r.step_busy_time[i]), available)


def _word_of_mouth_loss(r: RunResult) -> float:
    organic = int(r.source_visitors[ORGANIC])
    per_organic = ratio(float(r.source_revenue[ORGANIC]), organic) if organic else 0.0
    return r.prospects_lost * per_organic


def _run(name, kind, label, compute, description, headline=False, only="") -> Metric:
    return Metric(
        name, "run", kind, label, lambda r, s, i: compute(r, s), description, headline, only
    )


def _service(name, kind, label, compute, description) -> Metric:
    return _run(name, kind, label, compute, description, only="service")


def _step(name, kind, label, compute, description, only="") -> Metric:
    return Metric(name, "step", kind, label, compute, description, False, only)


def _segment(name, kind, label, compute, description) -> Metric:
    return Metric(name, "segment", kind, label, compute, description)


#: Every metric, in the order of ``summary.json``.
METRICS: tuple[Metric, ...] = (
    # ----------------------------------------------------------------- run level
    _run("visitors", "count", "visitors", lambda r, s: float(r.visitors),
         "customers who arrived during the horizon", True),
    _run("orders", "count", "orders", lambda r, s: float(r.orders),
         "customers who finished the last step", True),
    _run("conversion_rate", "rate", "conversion rate", lambda r, s: ratio(r.orders, r.visitors),
         "orders / visitors", True),
    _run("revenue", "money", "revenue", lambda r, s: r.revenue,
         "sum of the order values of orders", True),
    _run("lost_revenue", "money", "lost revenue",
         lambda r, s: r.lost_revenue_friction + r.lost_revenue_exit,
         "lost_revenue_friction + lost_revenue_exit", True),
    _run("lost_revenue_friction", "money", "lost revenue: friction",
         lambda r, s: r.lost_revenue_friction,
         "order values of customers who abandoned for friction", True),
    _run("lost_revenue_exit", "money", "lost revenue: non-friction exits",
         lambda r, s: r.lost_revenue_exit,
         "order values of customers who left through a step's exit", True),
    _run("potential_revenue", "money", "potential revenue",
         lambda r, s: r.revenue + r.lost_revenue_friction + r.lost_revenue_exit,
         "revenue + lost_revenue: the order values of all visitors"),
    _run("abandoned_friction", "count", "abandoned: friction",
         lambda r, s: float(r.abandoned_friction), "customers who abandoned for friction", True),
    _run("abandoned_exit", "count", "left: non-friction exits",
         lambda r, s: float(r.abandoned_exit), "customers who left through a step's exit", True),
    _run("mean_order_value", "money", "mean order value", lambda r, s: ratio(r.revenue, r.orders),
         "revenue / orders"),
    _run("mean_checkout_time", "minutes", "mean checkout time",
         lambda r, s: ratio(r.checkout_time_total, r.orders),
         "minutes from arrival to order, over orders (waiting included)"),
    _run("nps", "score", "NPS of buyers", lambda r, s: _scores(r)[3],
         "% promoters − % detractors of the buyers (−100..100)"),
    _run("promoters", "count", "promoters", lambda r, s: float(_scores(r)[0]),
         "buyers scoring 9–10"),
    _run("passives", "count", "passives", lambda r, s: float(_scores(r)[1]),
         "buyers scoring 7–8"),
    _run("detractors", "count", "detractors", lambda r, s: float(_scores(r)[2]),
         "buyers scoring 0–6"),
    _run("defects", "count", "defects", lambda r, s: float(r.defects),
         "post-purchase defects that surfaced"),
    _run("organic_visitors", "count", "organic visitors",
         lambda r, s: float(int(r.source_visitors[ORGANIC])),
         "visitors from the Poisson arrivals (not referred, not returning)"),
    _run("referral_visitors", "count", "referral visitors",
         lambda r, s: float(r.source_visitors[REFERRAL]), "visitors brought by word of mouth"),
    _run("referral_orders", "count", "referral orders",
         lambda r, s: float(r.source_orders[REFERRAL]), "orders of referral visitors"),
    _run("referral_revenue", "money", "revenue from referrals",
         lambda r, s: float(r.source_revenue[REFERRAL]), "order values of referral orders"),
    _run("returning_visitors", "count", "returning visitors",
         lambda r, s: float(r.source_visitors[RETURNING]), "customers who came back"),
    _run("returning_orders", "count", "returning orders",
         lambda r, s: float(r.source_orders[RETURNING]), "orders of returning customers"),
    _run("repeat_revenue", "money", "revenue from repeat orders",
         lambda r, s: float(r.source_revenue[RETURNING]), "order values of returning orders"),
    _run("prospects_lost", "count", "prospects lost to word of mouth",
         lambda r, s: float(r.prospects_lost),
         "organic arrivals that did not happen because word of mouth deterred them"),
    _run("lost_revenue_word_of_mouth", "money", "revenue lost to word of mouth",
         lambda r, s: _word_of_mouth_loss(r),
         "prospects_lost × revenue per organic visitor of the same replication"),
    _run("step_costs", "money", "step costs", _step_costs,
         "Σ over steps of cost × customers who entered the step"),
    _run("capacity_costs", "money", "capacity costs", lambda r, s: _capacity_costs(s),
         "Σ over steps with capacity of the unit-minutes on duty during the horizon (capacity × "
         "horizon without a schedule) × economics.capacity_cost"),
    _run("reminders_sent", "count", "reminders sent", lambda r, s: float(r.reminders_sent),
         "reminders sent to customers who left (`reminders`)"),
    _run("reminder_costs", "money", "reminder costs", lambda r, s: _reminder_costs(r, s),
         "reminders_sent × reminders.cost"),
    _run("recovered", "count", "recovered by offers", lambda r, s: float(r.step_recovered.sum()),
         "customers about to abandon for friction whom a step's `recovery` offer brought back"),
    _run("recovery_costs", "money", "recovery offer costs", lambda r, s: _recovery_costs(r, s),
         "Σ over steps of recovery offers shown × recovery.cost"),
    _service("contacts", "count", "service contacts", lambda r, s: float(_contacts(r)),
             "contacts of the `service` journey: about defects, and those that came on their own"),
    _service("contacts_resolved", "count", "contacts resolved",
             lambda r, s: float(_contact_counts(r)[0]),
             "contacts that went past the service's last step"),
    _service("contacts_unresolved", "count", "contacts unresolved",
             lambda r, s: float(_contact_counts(r)[1]),
             "contacts that failed every attempt at a service step (no fallback)"),
    _service("contacts_abandoned", "count", "contacts abandoned",
             lambda r, s: float(_contact_counts(r)[2]),
             "contacts that gave up (friction: waiting, irritation; or an exit)"),
    _service("resolution_rate", "rate", "resolution rate",
             lambda r, s: ratio(_contact_counts(r)[0], _contacts(r)),
             "contacts_resolved / contacts"),
    _service("contact_mean_wait", "minutes", "mean wait of a contact",
             lambda r, s: _contact_wait(r), "minutes in the service's queues, over all contacts"),
    _service("service_utilisation", "rate", "service utilisation", _service_utilisation,
             "capacity-minutes held at the service's steps / their unit-minutes on duty "
             "(+ overtime)"),
    _service("service_costs", "money", "service costs", _service_costs,
             "service.cost × contacts + the service steps' cost × entered + their capacity costs"),
    _service("cost_per_contact", "money", "cost per contact",
             lambda r, s: ratio(_service_costs(r, s), _contacts(r)), "service_costs / contacts"),
    _run("remediation_costs", "money", "remediation costs", lambda r, s: r.remediation_costs,
         "Σ over defects that surfaced of their step's defect.cost (reshipping, refunds)"),
    _run("base_customers_end", "count", "base customers at the end",
         lambda r, s: _base_end(r),
         "members of the customer base (`base`) at the end of the horizon"),
    _run("base_joined", "count", "joined the base", lambda r, s: float(r.base_joined),
         "first-time buyers who joined the base"),
    _run("base_churned", "count", "left the base", lambda r, s: float(r.base_churned),
         "members of the base who left (churn) during the horizon"),
    _run("base_revenue", "money", "revenue from the base",
         lambda r, s: _base_of(r.segment_base_revenue), "order values of base members' orders"),
    _run("new_customer_revenue", "money", "revenue from new customers",
         lambda r, s: r.revenue - _base_of(r.segment_base_revenue),
         "revenue − base_revenue: orders of customers not (yet) in the base"),
    _run("profit", "signed_money", "profit", lambda r, s: s.economics.margin * r.revenue
         - _step_costs(r, s) - _capacity_costs(s) - _reminder_costs(r, s)
         - _recovery_costs(r, s) - _service_costs(r, s) - r.remediation_costs,
         "economics.margin × revenue − step_costs − capacity_costs − reminder_costs − "
         "recovery_costs − service_costs − remediation_costs"),
    # ---------------------------------------------------------------- step level
    _step("entered", "count", "entered", lambda r, s, i: float(int(r.step_entered[i])),
          "visits to the step (a customer looping back counts again)"),
    _step("abandoned_friction", "count", "abandoned: friction",
          lambda r, s, i: float(int(r.step_abandoned_friction[i])),
          "customers lost to friction at this step"),
    _step("abandoned_exit", "count", "left: non-friction exits",
          lambda r, s, i: float(int(r.step_abandoned_exit[i])),
          "customers who left through this step's exit"),
    _step("completed", "count", "completed", lambda r, s, i: float(int(r.step_passed[i])),
          "visits that went on past the step (entered − abandoned_friction − abandoned_exit"
          " − those who fell back to another step after failing every attempt − those the "
          "step's recovery offer sent on)"),
    _step("abandon_rate", "rate", "abandon rate",
          lambda r, s, i: ratio(
              int(r.step_abandoned_friction[i]) + int(r.step_abandoned_exit[i]),
              int(r.step_entered[i]),
          ), "(abandoned_friction + abandoned_exit) / entered"),
    _step("friction_rate", "rate", "friction rate",
          lambda r, s, i: ratio(int(r.step_abandoned_friction[i]), int(r.step_entered[i])),
          "abandoned_friction / entered"),
    _step("exit_rate", "rate", "exit rate",
          lambda r, s, i: ratio(int(r.step_abandoned_exit[i]), int(r.step_entered[i])),
          "abandoned_exit / entered"),
    _step("reach_rate", "rate", "reach rate",
          lambda r, s, i: min(1.0, ratio(int(r.step_entered[i]), r.visitors)),
          "entered / visitors: the share of visitors who got this far (at most 1; a loop "
          "counts a visitor once at most)"),
    _step("mean_wait", "minutes", "mean wait",
          lambda r, s, i: ratio(float(r.step_wait_total[i]), int(r.step_entered[i])),
          "minutes in the step's queue over all customers who entered the step"),
    _step("mean_time_in_step", "minutes", "time in step",
          lambda r, s, i: ratio(float(r.step_pass_minutes[i]), int(r.step_passed[i]))
          if r.step_pass_minutes is not None else math.nan,
          "mean minutes from entering the step to going on from it (its queue included), "
          "over the visits that completed it: an analytics tool's time to convert to the "
          "next step"),
    _step("failed_attempts", "count", "failed attempts",
          lambda r, s, i: float(r.step_failed_attempts[i]), "failed attempts at the step"),
    _step("lost_revenue_friction", "money", "lost revenue: friction",
          lambda r, s, i: float(r.step_lost_revenue_friction[i]),
          "order values of the customers lost to friction at this step"),
    _step("lost_revenue_exit", "money", "lost revenue: non-friction exits",
          lambda r, s, i: float(r.step_lost_revenue_exit[i]),
          "order values of the customers who left through this step's exit"),
    _step("cost", "money", "cost", lambda r, s, i: s.steps[i].cost * int(r.step_entered[i]),
          "cost × entered"),
    _step("p_wait", "rate", "share who waited",
          lambda r, s, i: ratio(int(r.step_waited[i]), int(r.step_entered[i])),
          "share of entrants who found all capacity busy", "capacity"),
    _step("reneged", "count", "reneged", lambda r, s, i: float(r.step_reneged[i]),
          "customers whose irritation reached their tolerance while waiting", "capacity"),
    _step("balked", "count", "balked", lambda r, s, i: float(r.step_balked[i]),
          "customers who found `balk_at` or more waiting and did not join the queue", "balking"),
    _step("turned_away", "count", "turned away",
          lambda r, s, i: float(r.step_turned_away[i]),
          "customers who reached the step while no unit was on duty and were turned away "
          "(`schedule.closed: leave`; friction)", "turning_away"),
    _step("recovery_offers", "count", "recovery offers",
          lambda r, s, i: float(r.step_recovery_offers[i]),
          "customers about to abandon for friction here who were shown the `recovery` offer",
          "recovery"),
    _step("recovered", "count", "recovered", lambda r, s, i: float(r.step_recovered[i]),
          "customers the `recovery` offer brought back (sent on to its step, not abandoned here)",
          "recovery"),
    _step("utilisation", "rate", "utilisation", _utilisation,
          "capacity-minutes held / (unit-minutes on duty during the run + overtime): "
          "capacity × run length without a schedule", "capacity"),
    _step("overtime", "minutes", "overtime", lambda r, s, i: float(r.step_overtime[i]),
          "unit-minutes spent finishing customers after the units' hours (`schedule`)",
          "schedule"),
    # ------------------------------------------------------------- segment level
    _segment("visitors", "count", "visitors", lambda r, s, k: float(r.segment_visitors[k]),
             "visitors of the segment"),
    _segment("orders", "count", "orders", lambda r, s, k: float(r.segment_orders[k]),
             "orders of the segment"),
    _segment("conversion_rate", "rate", "conversion rate",
             lambda r, s, k: ratio(int(r.segment_orders[k]), int(r.segment_visitors[k])),
             "orders / visitors of the segment"),
    _segment("revenue", "money", "revenue", lambda r, s, k: float(r.segment_revenue[k]),
             "order values of the segment's orders"),
    _segment("abandoned_friction", "count", "abandoned: friction",
             lambda r, s, k: float(r.segment_abandoned_friction[k]),
             "the segment's customers lost to friction"),
    _segment("abandoned_exit", "count", "left: non-friction exits",
             lambda r, s, k: float(r.segment_abandoned_exit[k]),
             "the segment's customers who left through an exit"),
    _segment("nps", "score", "NPS of buyers",
             lambda r, s, k: nps_counts(r.segment_scores[k])[3], "NPS of the segment's buyers"),
    _segment("promoters", "count", "promoters",
             lambda r, s, k: float(nps_counts(r.segment_scores[k])[0]), "buyers scoring 9–10"),
    _segment("passives", "count", "passives",
             lambda r, s, k: float(nps_counts(r.segment_scores[k])[1]), "buyers scoring 7–8"),
    _segment("detractors", "count", "detractors",
             lambda r, s, k: float(nps_counts(r.segment_scores[k])[2]), "buyers scoring 0–6"),
    _segment("base_revenue_per_customer", "money", "revenue per base customer",
             lambda r, s, k: ratio(_base_of(r.segment_base_revenue, k),
                                   _base_of(r.segment_base_members, k)),
             "order values of the segment's base members' orders over the horizon / its "
             "members (in the base at minute 0 or joined): lifetime value within the "
             "horizon, not projected beyond"),
)  # fmt: skip

#: Metrics by level and name.
TABLE: dict[str, dict[str, Metric]] = {
    level: {m.name: m for m in METRICS if m.level == level} for level in LEVELS
}

#: Which way is better, by level and name, for the metrics that have a direction:
#: ``higher`` (orders, revenue, NPS, referrals) or ``lower`` (customers and revenue lost,
#: waits, costs, detractors). The others are neither: a step's entrants and completions
#: (a branch may route fewer through it), utilisation, the mean order value (losing
#: small orders raises it), passives.
BETTER: dict[str, dict[str, str]] = {
    "run": {
        **dict.fromkeys(
            ("visitors", "orders", "conversion_rate", "revenue", "potential_revenue", "nps",
             "promoters", "organic_visitors", "referral_visitors", "referral_orders",
             "referral_revenue", "returning_visitors", "returning_orders", "repeat_revenue",
             "profit"),
            "higher",
        ),
        **dict.fromkeys(
            ("lost_revenue", "lost_revenue_friction", "lost_revenue_exit", "abandoned_friction",
             "abandoned_exit", "mean_checkout_time", "detractors", "defects", "prospects_lost",
             "lost_revenue_word_of_mouth", "step_costs", "capacity_costs"),
            "lower",
        ),
    },
    "step": {
        "reach_rate": "higher",
        **dict.fromkeys(
            ("abandoned_friction", "abandoned_exit", "abandon_rate", "friction_rate",
             "exit_rate", "mean_wait", "mean_time_in_step", "failed_attempts",
             "lost_revenue_friction", "lost_revenue_exit", "cost", "p_wait", "reneged"),
            "lower",
        ),
    },
    "segment": {
        **dict.fromkeys(
            ("visitors", "orders", "conversion_rate", "revenue", "nps", "promoters"), "higher"
        ),
        **dict.fromkeys(("abandoned_friction", "abandoned_exit", "detractors"), "lower"),
    },
}  # fmt: skip

#: Headline metrics of ``summary.json`` (contract names, never renamed).
HEADLINE: tuple[str, ...] = tuple(m.name for m in METRICS if m.headline)


def step_metrics_of(scenario: Scenario, i: int) -> Iterator[Metric]:
    """The step metrics step ``i`` has (capacity metrics only for a step with capacity)."""
    step = scenario.steps[i]
    return (m for m in TABLE["step"].values() if m.applies(step))


def run_values(result: RunResult, scenario: Scenario) -> dict[str, float]:
    """Every run-level metric of one replication."""
    return {name: m.compute(result, scenario, 0) for name, m in TABLE["run"].items()}


def step_values(result: RunResult, scenario: Scenario) -> dict[str, dict[str, float]]:
    """Every step metric of one replication, keyed by step name."""
    return {
        step.name: {m.name: m.compute(result, scenario, i) for m in step_metrics_of(scenario, i)}
        for i, step in enumerate(scenario.steps)
    }


def segment_values(result: RunResult, scenario: Scenario) -> dict[str, dict[str, float]]:
    """Every segment metric of one replication, keyed by segment name."""
    return {
        seg.name: {name: m.compute(result, scenario, k) for name, m in TABLE["segment"].items()}
        for k, seg in enumerate(scenario.segments)
    }


def flat_values(result: RunResult, scenario: Scenario) -> dict[str, float]:
    """Every metric of one replication by its path in ``summary.json``: ``nps``,
    ``steps.<step>.<metric>``, ``segments.<segment>.<metric>``."""
    values = run_values(result, scenario)
    for step, ms in step_values(result, scenario).items():
        values.update({f"steps.{step}.{m}": v for m, v in ms.items()})
    for segment, ms in segment_values(result, scenario).items():
        values.update({f"segments.{segment}.{m}": v for m, v in ms.items()})
    return values


def paths(scenario: Scenario) -> list[str]:
    """The path of every metric ``scenario`` has, in the order of :func:`flat_values`."""
    out = [name for name, m in TABLE["run"].items() if m.exists_in(scenario)]
    for i, step in enumerate(scenario.steps):
        out += [f"steps.{step.name}.{m.name}" for m in step_metrics_of(scenario, i)]
    for seg in scenario.segments:
        out += [f"segments.{seg.name}.{m}" for m in TABLE["segment"]]
    return out


def check_path(path: str, scenario: Scenario | None = None, point: str | None = None) -> str:
    """``path`` if it names a metric (of ``scenario``, when given), else an
    :class:`~frictionsim.errors.OptionError` with the closest names. ``point`` names
    the variant ``scenario`` is (``steps.pay.name=b``) in the message."""
    from .errors import OptionError, did_you_mean

    known = paths(scenario) if scenario is not None else None
    if (known is not None and path in known) or (known is None and lookup(path)):
        return path
    shown = path if len(path) <= 60 else path[:59] + "…"
    options = known if known is not None else list(TABLE["run"])
    hint = did_you_mean(path, options)
    where = f" of '{scenario.name}'" if scenario is not None else ""
    at = f" (at {point})" if point else ""
    where += at
    metric = lookup(path)
    owner = path.split(".", 1)[1].rsplit(".", 1)[0] if metric and metric.level != "run" else ""
    service = scenario.service if scenario is not None else None
    if metric is not None and metric.level == "run" and scenario is not None:
        reason = f"'{shown}' is a metric of {SCENARIOS_WITH[metric.only][1]} only{at}"
    elif metric is not None and metric.level == "step" and service is not None and owner in {
        step.name for step in service.steps
    }:  # fmt: skip
        reason = (
            f"'{shown}': '{owner}' is a step of the service '{service.name}', whose numbers are "
            "run metrics: contacts, resolution_rate, contact_mean_wait, service_utilisation, "
            f"service_costs, cost_per_contact{at}"
        )
    elif metric is not None and metric.only and scenario is not None and owner in {
        step.name for step in scenario.steps
    }:  # fmt: skip
        reason = f"'{shown}' is a metric of {STEPS_WITH[metric.only][1]} only{at}"
    else:
        reason = f"unknown metric '{shown}'{where}{hint}"
    raise OptionError(
        f"{reason}; a metric is named by its path in summary.json: "
        f"{', '.join(list(TABLE['run'])[:3])}, nps, profit, ..., "
        "steps.<step>.<metric> or segments.<segment>.<metric>"
    )


def check_path_everywhere(
    path: str, scenarios: Sequence[Scenario], points: Sequence[str] | None = None
) -> str:
    """``path`` if it names a metric of every one of ``scenarios`` (the variants of a
    sweep or an optimisation; ``points`` says what each one varies), else the
    :class:`~frictionsim.errors.OptionError` of the first that lacks it."""
    lacking = [k for k, s in enumerate(scenarios) if path not in paths(s)]
    if lacking:  # name the point only when other points have the metric
        k = lacking[0]
        somewhere = points is not None and len(lacking) < len(scenarios)
        check_path(path, scenarios[k], points[k] if somewhere else None)
    return path


def lookup(path: str) -> Metric | None:
    """The metric at ``path`` as in ``summary.json`` (``nps``, ``steps.pay.p_wait``,
    ``segments.mobile.nps``), whatever the step or segment is called; None if unknown."""
    if path in TABLE["run"]:
        return TABLE["run"][path]
    for prefix, level in (("steps.", "step"), ("segments.", "segment")):
        if path.startswith(prefix) and "." in path[len(prefix) :]:
            return TABLE[level].get(path.rsplit(".", 1)[1])
    return None


def label(path: str) -> str:
    """The label of the metric at ``path``, with its step or segment: ``pay: mean wait``."""
    metric = lookup(path)
    if metric is None:
        return path
    if metric.level == "run":
        return metric.label
    owner = path.split(".", 1)[1].rsplit(".", 1)[0]
    return f"{owner}: {metric.label}"


def kind(path: str) -> str:
    """The kind of the metric at ``path`` (``count`` when unknown)."""
    metric = lookup(path)
    return metric.kind if metric else "count"


def better(path: str | None) -> str | None:
    """Which way the metric at ``path`` is good: ``higher``, ``lower``, or ``None`` (neither,
    or an unknown metric)."""
    found = lookup(path) if path else None
    return found.better if found is not None else None


def bounds(path: str | None, difference: bool = False) -> tuple[float, float]:
    """The values the metric at ``path`` can take (``conversion_rate``,
    ``steps.pay.p_wait``; of a difference of two of its values with ``difference``);
    unbounded for an unknown metric."""
    found = lookup(path) if path else None
    lo, hi = found.bounds if found is not None else (-math.inf, math.inf)
    return (lo - hi, hi - lo) if difference else (lo, hi)


__all__ = [
    "BETTER",
    "HEADLINE",
    "KINDS",
    "LEVELS",
    "METRICS",
    "TABLE",
    "Metric",
    "better",
    "bounds",
    "check_path",
    "check_path_everywhere",
    "flat_values",
    "kind",
    "label",
    "lookup",
    "nps_counts",
    "paths",
    "ratio",
    "run_values",
    "segment_values",
    "step_metrics_of",
    "step_values",
]
