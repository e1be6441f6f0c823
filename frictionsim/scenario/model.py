"""The scenario model: what a scenario file may say, as frozen pydantic models.

A scenario describes one checkout design: who arrives (``arrivals``), who they
are (``segments``: tolerance, order value, sensitivity), and the ``steps`` they
walk through (time, irritation, form fields, non-friction exits, errors,
limited capacity, branching). The keys are a contract with users (see
``scenarios/README.md``); their defaults are declared once, on these models,
and so are the descriptions the JSON Schema and the documentation show.

Each field checks its own type and range here, within the bounds of what the
engines can run (the ``MAX_*`` constants, each named for what a larger value
would break). What spans the whole file (names unique, shares and branch
probabilities summing to 1, every step reachable) is checked on the plain data
by :mod:`.problems`, so it is reported beside type errors. :class:`Scenario`
also offers the derived views the engines and reports use: entry irritation,
the step graph, random draws per customer, expected visitors.
"""

from __future__ import annotations

import datetime as dt
import math
from functools import cached_property
from typing import Annotated, Any, Literal, Union

import numpy as np
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    TypeAdapter,
    model_validator,
)

from ..distributions import (
    MAX_PARAMETER,
    AmountDist,
    CountDist,
    DurationDist,
    amount,
    count,
    duration,
    rate,
)
from ..flow import Flow

# Bounds of what the engines can run. Each is far beyond any real checkout, and is
# where a larger value would break something (named in each comment).
#: Form fields of one step (irritation is ``fields × per_field``; a larger count is a typo).
MAX_FIELDS = 10_000
#: Customers one step serves at once (agents, gateway slots; beyond, a typo).
MAX_CAPACITY = 1_000_000
#: Steps of a flow: each has its own random streams and result counters, and the
#: run-size estimate solves a steps × steps system.
MAX_STEPS = 1_000
#: Segments (personas).
MAX_SEGMENTS = 100
#: Steps × segments: results keep an irritation histogram per step and segment.
MAX_STEP_SEGMENTS = 10_000
#: Random numbers drawn ahead for each customer (see :meth:`Scenario.draws_per_customer`):
#: the engines hold them for blocks of thousands of customers (8 bytes each).
MAX_DRAWS = 1_000
#: Longest horizon, in minutes: 100 years of 365.25 days.
MAX_HORIZON = 100 * 365.25 * 1440


NonNegative = amount(ge=0, le=MAX_PARAMETER)
Positive = amount(gt=0, le=MAX_PARAMETER)
Probability = amount(ge=0, le=1)
#: A segment's share of the customers: above 0, at most 1.
Share = amount(gt=0, le=1)
#: A recommendation score, 0–10.
Score = amount(ge=0, le=10)
#: Irritation that may be negative: relief (reassurance, a saved address found).
Signed = amount(ge=-MAX_PARAMETER, le=MAX_PARAMETER)
#: Rates per minute, 0 or more and above 0 (at most MAX_PARAMETER).
NonNegativeRate = rate(ge=0, le=MAX_PARAMETER)
PositiveRate = rate(gt=0, le=MAX_PARAMETER)
NonNegativeDuration = duration(ge=0, le=MAX_PARAMETER)
PositiveDuration = duration(gt=0, le=MAX_PARAMETER)
#: Customers of an existing base at minute 0: each holds a few numbers for the run, about
#: 0.45 GB a million in each worker process.
MAX_BASE = 2_000_000
Attempts = count(ge=1, le=100)
FieldCount = count(le=MAX_FIELDS)
Capacity = count(ge=1, le=MAX_CAPACITY)
#: Customers waiting in a queue (a balking threshold): 0 (nobody waits) or more.
Waiting = count(ge=0, le=MAX_CAPACITY)
Seed = count(le=2**63 - 1)
Replications = count(ge=1, le=100_000)


def _horizon(value: float) -> float:
    if value > MAX_HORIZON:
        got = f"{value:,.0f}" if value < 1e9 else f"{value:g}"
        raise ValueError(
            f"must be at most 100 years ({MAX_HORIZON:,.0f} minutes), got {got} minutes"
        )
    return value


# the longest horizon is checked with a message in years; the JSON Schema shows it too
Horizon = Annotated[duration(MAX_HORIZON, gt=0), AfterValidator(_horizon)]
Warmup = Annotated[duration(MAX_HORIZON, ge=0), AfterValidator(_horizon)]


#: What a name of a step or segment is (never needs quoting in CSV), and its longest.
NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]*"
MAX_NAME = 80

Name = Annotated[
    str,
    Strict(),
    Field(
        pattern=f"^{NAME_PATTERN}$",
        max_length=MAX_NAME,
        description="Letters, digits, '_', '.', '-'; starts with a letter or digit.",
    ),
]


def _utc(value: object) -> object:
    """A date or a date-time, in UTC: without a zone it is taken as UTC. Numbers (which
    YAML makes of ``12:00``) are refused, and years outside 1970-2200 too, so every
    event-log timestamp can be written."""
    if isinstance(value, (bool, int, float)):
        raise ValueError(
            f"expected a date-time like 2026-01-05T00:00:00Z, got the number {value!r}"
        )
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"expected a date-time like 2026-01-05T00:00:00Z, got {value!r}"
            ) from None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        if not MIN_START <= value <= MAX_START:
            raise ValueError(f"must be between 1970 and 2200, got {value.isoformat()}")
        return value.astimezone(dt.timezone.utc)
    return value


#: The range of ``start``: event-log timestamps stay writable whatever the horizon.
MIN_START = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
MAX_START = dt.datetime(2200, 1, 1, tzinfo=dt.timezone.utc)


StartTime = Annotated[dt.datetime, BeforeValidator(_utc)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Errors(_Model):
    """Failed attempts at a step (a declined card, a validation error)."""

    p: Probability = Field(description="Chance that one attempt fails.")
    irritation: NonNegative = Field(0.0, description="Irritation felt per failed attempt.")
    max_attempts: Attempts = Field(
        3, description="Failed attempts after which the customer gives up (friction); 1–100."
    )
    fallback: Union[Name, None] = Field(
        None,
        description="A step the customer goes to after `max_attempts` failures instead of "
        "giving up (another payment method, a support chat); default: they give up.",
    )


class Recovery(_Model):
    """An offer to customers about to abandon for friction at a step (an exit-intent
    discount, a callback): some take it and go on, the step's irritation forgiven."""

    to: Name = Field(
        description="The step a customer who takes the offer goes to (the offer itself, "
        "an easier route), with the irritation they had on entering this step."
    )
    p: Probability = Field(description="Chance that the offer brings a friction abandoner back.")
    cost: NonNegative = Field(
        0.0, description="Cost of one offer shown (currency units; a discount's expected cost)."
    )


class Defect(_Model):
    """A process defect that surfaces after the order (a change that never took effect)."""

    p: Probability = Field(description="Chance that a customer who passes the step gets it.")
    irritation: NonNegative = Field(
        description="Irritation felt when it surfaces (a moment of the remembered experience)."
    )
    delay: NonNegativeDuration = Field(
        "3d", validate_default=True, description="Time from the order until it surfaces."
    )
    contact: Probability = Field(
        0.0,
        description="Chance that a customer it surfaces for contacts the `service` "
        "(support) about it; default 0.",
    )
    cost: NonNegative = Field(
        0.0,
        description="Remediation cost of each defect that surfaces (reshipping, a refund; "
        "currency units), taken off profit.",
    )


#: Days of the week as a schedule names them, Monday first (``datetime.weekday`` order).
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
#: Units on duty in each hour of a day, midnight first.
DayHours = Annotated[tuple[Waiting, ...], Field(min_length=24, max_length=24)]


class Schedule(_Model):
    """Units on duty over the day and the week (support staffed 8-20 on weekdays).

    Hours are wall-clock hours from ``start`` (a midnight), the clock of
    ``arrivals.profile``. A unit busy when its hour ends finishes the customer
    it serves; nobody is interrupted."""

    hours: DayHours = Field(
        description="Units on duty in each hour of the day (24 numbers, from midnight), "
        "each at most the step's `capacity`."
    )
    days: Annotated[tuple[Day, ...], Field(min_length=1, max_length=7)] = Field(
        DAYS,
        description="Days on which `hours` apply (mon ... sun); on the other days no unit "
        "is on duty, unless `by_day` gives their hours. Default: every day.",
    )
    by_day: dict[Day, DayHours] = Field(
        default_factory=dict,
        description="Per day name: that day's own 24 hours (e.g. a shorter Saturday).",
    )
    closed: Literal["wait", "leave"] = Field(
        "wait",
        description="A customer who reaches the step while no unit is on duty: `wait` "
        "(queues until it opens, irritation growing at `wait_irritation`) or `leave` "
        "(turned away: friction at this step).",
    )

    def week(self) -> tuple[tuple[int, ...], ...]:
        """Units on duty per day of the week (Monday first) and hour of the day."""
        off = (0,) * 24
        return tuple(self.by_day.get(day, self.hours if day in self.days else off) for day in DAYS)


class Branch(_Model):
    """One way out of a step."""

    to: Name = Field(description="Name of the step this branch leads to.")
    p: Probability = Field(description="Chance of taking this branch.")


def _next_shorthand(value: object) -> object:
    if isinstance(value, str):
        return [{"to": value, "p": 1.0}]
    return value


Next = Annotated[
    Union[tuple[Branch, ...], None],
    BeforeValidator(_next_shorthand, json_schema_input_type=Union[Name, list[Branch], None]),
]


class SegmentErrors(_Model):
    """A segment's own chance of a failed attempt (the irritation and attempts are the step's)."""

    p: Probability = Field(description="Chance that one attempt of this segment fails.")


class SegmentStep(_Model):
    """How one segment behaves differently at a step (returning customers pick the saved
    card far more often; mobile users fail 2FA more). What is left out is the step's."""

    exit: Union[Probability, None] = Field(None, description="This segment's `exit`.")
    errors: Union[SegmentErrors, None] = Field(
        None, description="This segment's `errors.p` (the step must have `errors`)."
    )
    next: Union[tuple[Branch, ...], None] = Field(
        None,
        description="This segment's branch probabilities: the step's `next` branches, the "
        "same targets, other `p`.",
    )


class Step(_Model):
    """One step of the checkout, in the order customers meet it."""

    name: Name = Field(description="Unique name of the step.")
    description: str = Field("", description="Free text.")
    duration: DurationDist = Field(
        default_factory=lambda: TypeAdapter(DurationDist).validate_python(0),
        description="Time to perform the step once (minutes, or a string with a unit). Default 0.",
    )
    irritation: Signed = Field(
        0.0,
        description="Irritation felt on entering the step; negative is relief (reassurance), "
        "which lowers cumulative irritation, never below 0.",
    )
    fields: FieldCount = Field(
        0, description="Form fields (at most 10,000); each adds `per_field` irritation."
    )
    per_field: Union[NonNegative, None] = Field(
        None, description="Irritation per form field here; default `friction.per_field`."
    )
    exit: Probability = Field(
        0.0, description="Chance of leaving for reasons unrelated to friction (browsing)."
    )
    errors: Union[Errors, None] = Field(None, description="Failed attempts and retries.")
    capacity: Union[Capacity, None] = Field(
        None,
        description="Customers served at once (agents, gateway slots; at most 1,000,000); "
        "others queue.",
    )
    schedule: Union[Schedule, None] = Field(
        None,
        description="With `capacity`: units on duty by hour of day and day of week (at "
        "most `capacity` each hour); default: all `capacity` units, always.",
    )
    wait_irritation: Union[NonNegativeRate, None] = Field(
        None,
        description="Irritation per minute spent waiting in the queue; "
        "default `friction.wait_irritation`.",
    )
    balk_at: Union[Waiting, None] = Field(
        None,
        description="With `capacity`: a customer who finds this many or more waiting "
        "declines to join the queue (balking; friction at this step). Default: nobody balks.",
    )
    time_irritation: Union[NonNegativeRate, None] = Field(
        None,
        description="Irritation per minute spent performing the step (every attempt); "
        "default `friction.time_irritation`.",
    )
    exit_irritation: NonNegative = Field(
        0.0,
        description="How much each point of cumulative irritation raises `exit` (capped at 1).",
    )
    next: Next = Field(
        None,
        description="Step name, or a list of {to, p} branches; default: the next listed step.",
    )
    defect: Union[Defect, None] = Field(
        None, description="A defect of this step that surfaces after the order."
    )
    recovery: Union[Recovery, None] = Field(
        None,
        description="An offer to customers about to abandon for friction here, made once "
        "per visit; default: none.",
    )
    by_segment: dict[Name, SegmentStep] = Field(
        default_factory=dict,
        description="Per segment name: its own `exit`, `errors.p` or branch probabilities.",
    )
    cost: NonNegative = Field(
        0.0, description="Cost per customer entering the step (e.g. a paid verification)."
    )


def segment_exit(step: Step, segment: str) -> float:
    """``step``'s exit chance for customers of ``segment``."""
    own = step.by_segment.get(segment)
    return step.exit if own is None or own.exit is None else own.exit


def segment_error_p(step: Step, segment: str) -> float:
    """``step``'s chance of a failed attempt for customers of ``segment``."""
    own = step.by_segment.get(segment)
    if own is not None and own.errors is not None:
        return own.errors.p
    return step.errors.p if step.errors else 0.0


class Segment(_Model):
    """A persona: a share of the customers with their own tolerance and basket."""

    name: Name = Field(description="Unique name of the segment.")
    share: Share = Field(description="Share of customers in this segment; shares sum to 1.")
    tolerance: AmountDist = Field(description="Irritation at which a customer abandons.")
    order_value: AmountDist = Field(description="Value of the order (currency units).")
    sensitivity: Positive = Field(1.0, description="Multiplies all irritation this persona feels.")
    commitment: NonNegative = Field(
        0.0,
        description="Added to the tolerance for each step completed (goal gradient).",
    )


class Arrivals(_Model):
    """Customers who start checkout: a Poisson process."""

    rate: PositiveRate = Field(description="Arrivals per minute (or '120/h'), before the profile.")
    profile: Union[
        Annotated[tuple[NonNegative, ...], Field(min_length=24, max_length=24)], None
    ] = Field(None, description="24 hourly multipliers of `rate`, hour 0 = midnight.")
    weekly: Union[Annotated[tuple[NonNegative, ...], Field(min_length=7, max_length=7)], None] = (
        Field(
            None,
            description="7 daily multipliers of `rate` (and of the hourly profile), Monday "
            "first; the day of minute 0 is the weekday of `start`.",
        )
    )


class Friction(_Model):
    """Global friction defaults, overridable per step."""

    per_field: NonNegative = Field(0.4, description="Irritation per form field.")
    wait_irritation: NonNegativeRate = Field(
        0.0, description="Irritation per minute of waiting in a queue."
    )
    time_irritation: NonNegativeRate = Field(
        0.0, description="Irritation per minute of performing a step."
    )


class Experience(_Model):
    """How a checkout is remembered (peak–end rule) and scored 0–10 for recommending.

    Remembered irritation = (worst moment + final moment) / 2, where a moment is
    the irritation felt during one step (entry, waiting, failed attempts) or a
    defect surfacing after the order (Kahneman et al. 1993; Redelmeier &
    Kahneman 1996). Score = best × (1 − remembered / (scale × tolerance)),
    rounded and clipped to 0–10.
    """

    best: Score = Field(
        10.0, description="Score of a checkout remembered with no irritation at all."
    )
    scale: Positive = Field(
        0.5,
        description="Remembered irritation, as a share of the customer's tolerance, "
        "at which the score reaches 0.",
    )


#: Most people one customer may tell, on average.
MAX_TOLD = 10_000


def _a_count(dist: Any) -> Any:
    """``tell`` is a number of people: a whole-number family with a sane mean."""
    family = dist.dist
    if family not in ("poisson", "fixed", "empirical"):
        raise ValueError(f"'{family}' is not a count of people; use poisson, fixed or empirical")
    values = [dist.value] if family == "fixed" else getattr(dist, "values", None) or []
    if any(v != int(v) for v in values):
        raise ValueError("a number of people must be a whole number")
    if dist.expectation > MAX_TOLD:
        raise ValueError(f"tells {dist.expectation:g} people on average; at most {MAX_TOLD:,}")
    return dist


class Talk(_Model):
    """What one class of customers tells others."""

    tell: Annotated[CountDist, AfterValidator(_a_count)] = Field(
        description="People each customer of this class tells (poisson, fixed or empirical)."
    )
    visit: Probability = Field(
        0.0, description="Chance that a person told comes to the shop (a referral visitor)."
    )
    deter: Probability = Field(
        0.0, description="Chance that a person told who would have come stays away."
    )


#: Default talk per class; keys a scenario leaves out of a class come from here.
TALK_DEFAULTS: dict[str, dict[str, Any]] = {
    "promoters": {"tell": {"dist": "poisson", "mean": 3}, "visit": 0.1},
    "passives": {"tell": {"dist": "poisson", "mean": 1}, "visit": 0.05},
    "detractors": {"tell": {"dist": "poisson", "mean": 9}, "deter": 0.02},
    "abandoners": {"tell": {"dist": "poisson", "mean": 3}, "deter": 0.02},
}


def _talk(kind: str) -> Any:
    return lambda: Talk.model_validate(TALK_DEFAULTS[kind])


def _fill_talk_defaults(value: object) -> object:
    if isinstance(value, dict):
        value = dict(value)
        for kind, defaults in TALK_DEFAULTS.items():
            given = value.get(kind)
            if isinstance(given, dict):
                value[kind] = {**defaults, **given}
    return value


class WordOfMouth(_Model):
    """Referrals and negative word of mouth, per outcome of a visit.

    Defaults are assumptions, not facts: complaint studies (TARP, late 1970s)
    are summarised as a dissatisfied customer telling 9-10 people; East,
    Hammond & Wright (2007) found positive word of mouth about 3x as frequent
    as negative. Set them from your own data where you have it.
    """

    delay: DurationDist = Field(
        default_factory=lambda: TypeAdapter(DurationDist).validate_python(
            {"dist": "exponential", "mean": "3d"}
        ),
        description="Time from the customer's experience to the told person's visit or decision.",
    )
    promoters: Talk = Field(default_factory=_talk("promoters"), description="Scores 9-10.")
    passives: Talk = Field(default_factory=_talk("passives"), description="Scores 7-8.")
    detractors: Talk = Field(default_factory=_talk("detractors"), description="Scores 0-6.")
    abandoners: Talk = Field(
        default_factory=_talk("abandoners"),
        description="Customers who abandoned for friction (not non-friction exits).",
    )

    @model_validator(mode="before")
    @classmethod
    def _defaults_per_class(cls, value: object) -> object:
        return _fill_talk_defaults(value)


class Repeat(_Model):
    """Customers who come back for another order, by how they remember this one."""

    delay: DurationDist = Field(
        default_factory=lambda: TypeAdapter(DurationDist).validate_python(
            {"dist": "exponential", "mean": "14d"}
        ),
        description="Time from the experience to the return visit.",
    )
    promoters: Probability = Field(0.5, description="Chance a promoter comes back.")
    passives: Probability = Field(0.3, description="Chance a passive comes back.")
    detractors: Probability = Field(0.1, description="Chance a detractor comes back.")
    abandoners: Probability = Field(
        0.05, description="Chance a customer who abandoned for friction comes back."
    )
    saved_fields: Probability = Field(
        0.5,
        description="Share of form fields a returning customer no longer fills in (saved details).",
    )


class Reminders(_Model):
    """A reminder and recovery campaign: customers who left are reminded, and some come
    back (as returning customers, from the first step)."""

    reached: Probability = Field(
        1.0, description="Share of those who left whom a reminder reaches (an address known)."
    )
    friction: Probability = Field(
        0.0, description="Chance a reminded customer who abandoned for friction comes back."
    )
    exit: Probability = Field(
        0.0,
        description="Chance a reminded customer who left for other reasons (browsing) "
        "comes back: the usual target of cart reminders.",
    )
    delay: DurationDist = Field(
        default_factory=lambda: TypeAdapter(DurationDist).validate_python(
            {"dist": "exponential", "mean": "1d"}
        ),
        description="Time from leaving to the visit the reminder brings.",
    )
    cost: NonNegative = Field(0.0, description="Cost of one reminder sent (currency units).")


#: Scores an unresolved contact may leave at most: a detractor's (0-6).
DetractorScore = amount(ge=0, le=6)


class Service(_Model):
    """A journey that is not a purchase: a support contact, a complaint, a contact form.

    Contacts walk its own `steps` (with capacity, schedules and errors like any step)
    and end **resolved** (past the last step), **unresolved** (failed every attempt at
    a step with `errors` and no fallback) or **abandoned** (friction or an exit). They
    are counted apart from orders and revenue."""

    name: Name = Field("support", description="Name of the service, shown in reports.")
    steps: Annotated[tuple[Step, ...], Field(min_length=1, max_length=MAX_STEPS)] = Field(
        description="The contact's steps, in order (names distinct from the checkout's)."
    )
    arrivals: Union[Arrivals, None] = Field(
        None,
        description="Contacts that come on their own (a contact form), besides those that "
        "defects bring; default: only those.",
    )
    cost: NonNegative = Field(
        0.0, description="Cost per contact (currency units), besides the steps' own costs."
    )
    recovery: Probability = Field(
        0.5,
        description="Share of a defect's remembered irritation that a resolved contact "
        "repairs (service recovery); default 0.5.",
    )
    unresolved_score: DetractorScore = Field(
        3.0,
        description="Highest 0-10 score a buyer whose contact about a defect was unresolved "
        "or abandoned can give: they are detractors (default 3).",
    )


class Base(_Model):
    """An existing customer base over months: customers who buy again at a rate and
    leave (churn) with a hazard that rises with what they remember of their visits."""

    customers: Annotated[int, Strict(), Field(ge=0, le=MAX_BASE)] = Field(
        0, description="Customers in the base at minute 0 (segments by `share`); default 0."
    )
    between_purchases: PositiveDuration = Field(
        description="Mean time between a customer's visits (exponential), e.g. '30d'."
    )
    lifetime: PositiveDuration = Field(
        description="Mean time a customer stays when they remember nothing bad (the churn "
        "hazard is 1 / lifetime), e.g. '2y' or '730d'."
    )
    churn_per_point: NonNegative = Field(
        2.0,
        description="How the hazard rises with memory: hazard = (1 + churn_per_point × "
        "memory) / lifetime, memory 1 being a visit remembered at the customer's tolerance.",
    )
    recent: Share = Field(
        0.5, description="Weight of the latest visit in a customer's memory (0 < recent ≤ 1)."
    )
    join: bool = Field(True, description="First-time buyers join the base.")


class Economics(_Model):
    """Money beyond order values."""

    margin: Probability = Field(
        1.0, description="Share of an order's value that is profit (1 = count revenue)."
    )
    currency: str = Field("", max_length=8, description="Shown in reports, e.g. EUR.")
    capacity_cost: NonNegativeRate = Field(
        0.0,
        description="Cost of one unit of capacity (an agent, a gateway slot) per unit of "
        "time, e.g. '30/h', for every step with capacity over the whole horizon; "
        "subtracted in `profit` (metric `capacity_costs`). Default 0.",
    )


#: Parameters an ``uncertainty`` section may hold at most.
MAX_UNCERTAIN = 100


def fitted_target(path: str) -> tuple[str, str | None] | None:
    """What an ``uncertainty`` path names: ``(kind, step)`` with kind ``exit``,
    ``irritation``, ``errors`` (a step's ``errors.p``), ``duration`` (the mean of a step's
    duration, in minutes), ``tolerance`` or ``rate`` (``arrivals.rate``; no step for these
    two), or ``None`` for anything else."""
    if path in ("tolerance", "arrivals.rate"):
        return ("tolerance" if path == "tolerance" else "rate"), None
    if not path.startswith("steps."):
        return None
    rest = path[len("steps.") :]
    for suffix, kind in ((".errors.p", "errors"), (".exit", "exit"), (".irritation", "irritation"),
                         (".duration", "duration")):  # fmt: skip
        if rest.endswith(suffix) and len(rest) > len(suffix):
            return kind, rest[: -len(suffix)]
    return None


class UncertainValue(_Model):
    """One fitted parameter of ``uncertainty``: where it is, its estimate and the scale
    on which its error is normal."""

    path: str = Field(
        pattern=r"^(tolerance|arrivals\.rate|steps\.[^\s]+\.(exit|irritation|errors\.p|duration))$",
        max_length=200,
        description="`steps.<step>.exit`, `steps.<step>.irritation`, `steps.<step>.errors.p`, "
        "`steps.<step>.duration` (the mean of its duration in minutes; the distribution is "
        "scaled to it), `arrivals.rate` (per minute), or `tolerance` (a "
        "factor on every segment's tolerance, 1 at the estimate).",
    )
    value: Positive = Field(description="The estimate (the scenario's own value).")
    scale: Literal["logit", "log"] = Field(
        description="`logit` for a probability, `log` otherwise: the estimate's error is "
        "normal on this scale."
    )


class Uncertainty(_Model):
    """What a fit did not pin down: fitted parameters and the covariance of their
    estimates (``frictionsim calibrate`` writes it); ``run --uncertainty`` draws each
    replication's parameters from it."""

    parameters: Annotated[
        tuple[UncertainValue, ...], Field(min_length=1, max_length=MAX_UNCERTAIN)
    ] = Field(description="The fitted parameters.")
    covariance: tuple[
        tuple[Annotated[float, Strict(False), Field(allow_inf_nan=False)], ...], ...
    ] = Field(
        description="Covariance of the estimates on their scales, one row per parameter: "
        "symmetric and positive semi-definite."
    )

    @model_validator(mode="after")
    def _a_covariance(self) -> Uncertainty:
        n = len(self.parameters)
        if len(self.covariance) != n or any(len(row) != n for row in self.covariance):
            raise ValueError(f"covariance must be {n} × {n}, one row and column per parameter")
        c = np.asarray(self.covariance, dtype=float)
        top = float(np.abs(c).max()) if c.size else 0.0
        if not np.allclose(c, c.T, rtol=1e-9, atol=1e-12 * max(top, 1.0)):
            raise ValueError("covariance must be symmetric")
        if np.linalg.eigvalsh(c).min() < -1e-9 * max(top, 1e-300):
            raise ValueError("covariance must be positive semi-definite")
        paths = [p.path for p in self.parameters]
        if len(set(paths)) != len(paths):
            raise ValueError("a parameter is listed twice")
        return self


class Scenario(_Model):
    """One checkout design and the customers who meet it."""

    name: Name = Field(description="Name; default output folder is results/<name>/.")
    description: str = Field("", description="Free text.")
    seed: Seed = Field(1, description="Default seed; `--seed` overrides.")
    replications: Replications = Field(
        10, description="Independent runs; `--replications` overrides."
    )
    horizon: Horizon = Field(
        description="Simulated time during which customers arrive (e.g. '7d'); at most 100 years."
    )
    warmup: Warmup = Field(
        0.0,
        description="Simulated time before the horizon whose customers run but are not "
        "counted (queues start busy, not empty); e.g. '1d'. Default 0.",
    )
    start: StartTime = Field(
        dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc),
        description="Wall-clock time of minute 0, in UTC (a midnight, so hour 0 of "
        "`arrivals.profile` is midnight); timestamps of event logs count from it.",
    )
    arrivals: Arrivals
    segments: Annotated[tuple[Segment, ...], Field(min_length=1, max_length=MAX_SEGMENTS)]
    steps: Annotated[tuple[Step, ...], Field(min_length=1, max_length=MAX_STEPS)]
    friction: Friction = Field(default_factory=Friction)
    experience: Experience = Field(default_factory=Experience)
    word_of_mouth: Union[WordOfMouth, None] = Field(
        None, description="Referrals and negative word of mouth; off when absent."
    )
    repeat: Union[Repeat, None] = Field(None, description="Repeat customers; off when absent.")
    reminders: Union[Reminders, None] = Field(
        None, description="A reminder campaign for those who left; off when absent."
    )
    base: Union[Base, None] = Field(
        None, description="An existing customer base over months; off when absent."
    )
    service: Union[Service, None] = Field(
        None,
        description="A service journey (support) that defects and its own arrivals bring "
        "contacts to; off when absent.",
    )
    economics: Economics = Field(default_factory=Economics)
    uncertainty: Union[Uncertainty, None] = Field(
        None,
        description="Fitted parameters with the covariance of their estimates, written by "
        "`frictionsim calibrate`; used only by `run --uncertainty`.",
    )

    # Derived views the engine and reports use; all follow from the fields.
    def step_index(self, name: str) -> int:
        """Position of the step called ``name``."""
        for i, step in enumerate(self.steps):
            if step.name == name:
                return i
        raise KeyError(name)

    def entry_irritation(self, step: Step) -> float:
        """Irritation felt on entering ``step`` (before a segment's sensitivity)."""
        per_field = self.friction.per_field if step.per_field is None else step.per_field
        return step.irritation + step.fields * per_field

    def wait_irritation(self, step: Step) -> float:
        """Irritation per minute of waiting at ``step``."""
        return (
            self.friction.wait_irritation if step.wait_irritation is None else step.wait_irritation
        )

    def time_irritation(self, step: Step) -> float:
        """Irritation per minute of performing ``step``."""
        return (
            self.friction.time_irritation if step.time_irritation is None else step.time_irritation
        )

    @cached_property
    def flow(self) -> Flow:
        """The step graph: successors, reachability, order, expected visits (computed once).
        Branches a segment takes with its own probabilities (``by_segment``) count at
        their share-weighted mean, so a branch any segment takes is in the graph."""
        return Flow.of_steps(self.steps, [(g.name, g.share) for g in self.segments])

    def successors(self, i: int) -> list[tuple[int, float]]:
        """Where step ``i`` leads, as ``(step index or END, probability)``; a branch that
        segments take with their own probabilities counts at its share-weighted mean
        (each segment's own are in ``by_segment``)."""
        return list(self.flow.successors[i])

    def draws_per_customer(self) -> int:
        """Random numbers the engines draw ahead for each customer: segment, tolerance
        and order value, and per step an exit draw, a branch draw and a defect draw
        where the step has them (for some segment), and a duration and an error draw
        per attempt where the duration is random and attempts can fail."""
        draws = 3
        names = [g.name for g in self.segments]
        for step in self.steps:
            attempts = step.errors.max_attempts if step.errors else 1
            exits = step.exit_irritation > 0 or any(segment_exit(step, n) > 0 for n in names)
            draws += exits + (step.next is not None and len(step.next) > 1)
            draws += bool(step.defect and step.defect.p > 0)
            draws += attempts * (not step.duration.is_constant)
            draws += attempts * any(segment_error_p(step, n) > 0 for n in names)
        return draws

    def duty_week(self, step: Step) -> tuple[int, ...]:
        """Units on duty at ``step`` in each of the 168 hours of a week from minute 0 (the
        day of ``start`` first): its ``schedule``, or ``capacity`` every hour."""
        if step.schedule is None:
            return (step.capacity or 0,) * 168
        week = step.schedule.week()
        first = self.start.weekday()
        return tuple(units for d in range(7) for units in week[(first + d) % 7])

    def unit_minutes(self, step: Step, minutes: float) -> float:
        """Unit-minutes on duty at ``step`` from minute 0 to ``minutes``."""
        if step.schedule is None:
            return (step.capacity or 0) * minutes
        week = self.duty_week(step)
        weeks, rest = divmod(max(minutes, 0.0), 7 * 1440)
        hour, part = divmod(rest, 60)
        h = int(hour)
        return 60.0 * (weeks * sum(week) + sum(week[:h])) + part * week[min(h, 167)]

    @cached_property
    def service_scenario(self) -> Scenario | None:
        """The service journey as a scenario of its own (its steps and arrivals, this
        scenario's customers, clock and friction) for the engine, or None."""
        service = self.service
        if service is None:
            return None
        return Scenario.model_construct(
            **{
                **{name: getattr(self, name) for name in type(self).model_fields},
                "name": f"{self.name}-{service.name}",
                "steps": service.steps,
                "arrivals": service.arrivals or self.arrivals,
                "word_of_mouth": None,
                "repeat": None,
                "reminders": None,
                "service": None,
                "base": None,
                "uncertainty": None,
            }
        )

    @property
    def profile(self) -> tuple[float, ...]:
        return self.arrivals.profile or (1.0,) * 24

    @property
    def weekly(self) -> tuple[float, ...] | None:
        """The day-of-week multipliers from the day of minute 0 on (day 0 first), or None."""
        week = self.arrivals.weekly
        if week is None:
            return None
        first = self.start.weekday()  # Monday is 0
        return tuple(week[(first + d) % 7] for d in range(7))

    @property
    def arrival_span(self) -> float:
        """Minutes during which customers arrive: the warm-up, then the horizon."""
        return self.warmup + self.horizon

    @cached_property
    def expected_arrivals(self) -> float:
        """Expected customers simulated per replication: the visitors of the horizon and
        those of the warm-up before it (run, not counted), profiles included, and the
        service contacts that come on their own (``service.arrivals``)."""
        base = self.base
        visits = base.customers * self.arrival_span / base.between_purchases if base else 0.0
        if self.service is not None and self.service.arrivals is not None:
            visits += self.service_scenario.expected_arrivals  # type: ignore[union-attr]
        if self.warmup <= 0:
            return self.expected_visitors + visits
        # hour by hour from the start of the warm-up (minute -warmup of the clock): at
        # most ~1.75 million hours for 100 years of warm-up and 100 of horizon
        first = math.floor(-self.warmup / 60)
        k = np.arange(first, math.ceil(self.horizon / 60), dtype=np.int64)
        lo = np.maximum(k * 60.0, -self.warmup)
        hi = np.minimum((k + 1) * 60.0, self.horizon)
        prof = np.asarray(self.profile, dtype=float)
        week = np.asarray(self.weekly or (1.0,) * 7, dtype=float)
        weight = prof[k % 24] * week[(k // 24) % 7]
        total = float(np.sum(np.maximum(hi - lo, 0.0) / 60 * weight))
        return self.arrivals.rate * 60 * total + visits

    @property
    def expected_visitors(self) -> float:
        """Expected arrivals per replication, profile (and day of week) included."""
        hours = self.horizon / 60
        full, part = int(hours // 1), hours % 1
        prof = self.profile
        days, rest = divmod(full, 24)  # whole days at once: a horizon may be huge
        week = self.weekly
        if week is None:
            total = days * sum(prof) + sum(prof[:rest]) + part * prof[rest]
        else:
            weeks, extra = divmod(days, 7)
            whole = weeks * sum(week) + sum(week[:extra])  # full days, by their weight
            today = week[extra]  # the day the horizon ends in
            total = whole * sum(prof) + today * (sum(prof[:rest]) + part * prof[rest])
        return self.arrivals.rate * 60 * total


__all__ = [
    "DAYS",
    "MAX_CAPACITY",
    "MAX_DRAWS",
    "MAX_FIELDS",
    "MAX_HORIZON",
    "MAX_SEGMENTS",
    "MAX_START",
    "MAX_STEPS",
    "MAX_STEP_SEGMENTS",
    "MAX_TOLD",
    "MAX_UNCERTAIN",
    "MIN_START",
    "TALK_DEFAULTS",
    "Arrivals",
    "Base",
    "Branch",
    "Defect",
    "Economics",
    "Errors",
    "Experience",
    "Friction",
    "Recovery",
    "Reminders",
    "Repeat",
    "Scenario",
    "Schedule",
    "Segment",
    "SegmentErrors",
    "SegmentStep",
    "Service",
    "Step",
    "Talk",
    "UncertainValue",
    "Uncertainty",
    "WordOfMouth",
    "fitted_target",
    "segment_error_p",
    "segment_exit",
]
