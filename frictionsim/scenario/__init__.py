"""Scenario files: YAML text → validated, frozen :class:`Scenario`.

A scenario describes one checkout design: who arrives (``arrivals``), who they
are (``segments``: tolerance, order value, sensitivity), and the ``steps`` they
walk through (time, irritation, form fields, non-friction exits, errors,
limited capacity, branching). The keys are a contract with users (see
``scenarios/README.md``); their defaults are declared once, on these models.

Loading goes in three passes, each reporting every problem it finds:

1. YAML is composed into nodes and converted to plain Python while the line
   and column of every key and value is recorded, so any later problem can be
   reported as ``FILE:LINE:COL: field.path: message``. Duplicate keys,
   non-standard tags (``!!python/...``) and alias bombs are refused here: only
   plain data comes out, no code in a scenario file ever runs.
2. ``--set path=value`` overrides are applied to that plain mapping (their
   problems are located as ``--set:N:COL``), then everything is validated again.
3. The pydantic models check types and ranges (unknown keys get a "did you
   mean"); flow checks look at the whole file: shares sum to 1, branch targets
   exist and their probabilities sum to 1, every step is reachable, and every
   step can reach the end of the checkout (a loop with no way out is refused).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import types
import typing
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Union

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from ..distributions import (
    FAMILIES,
    MAX_PARAMETER,
    Amount,
    AmountDist,
    CountDist,
    Distribution,
    Duration,
    DurationDist,
    Rate,
)
from ..errors import ScenarioError, ScenarioProblem, did_you_mean
from ..flow import END, Flow
from ..userfiles import read_user_file

#: Scenario files larger than this are refused before parsing.
MAX_FILE_BYTES = 1_000_000
#: Nodes visited while expanding a document; bounds YAML alias bombs.
MAX_NODES = 200_000
#: Nesting depth of mappings and lists; bounds the parser's recursion.
MAX_DEPTH = 100

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


def _integer_only(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected a whole number, got {value!r}")
    return value


NonNegative = Annotated[Amount, Field(ge=0, le=MAX_PARAMETER)]
Probability = Annotated[Amount, Field(ge=0, le=1)]
Count = Annotated[int, BeforeValidator(_integer_only), Field(ge=0)]
#: A rate per minute, 0 or more (at most MAX_PARAMETER).
NonNegativeRate = Annotated[Rate, Field(ge=0, le=MAX_PARAMETER)]


def _horizon(value: float) -> float:
    if value > MAX_HORIZON:
        got = f"{value:,.0f}" if value < 1e9 else f"{value:g}"
        raise ValueError(
            f"must be at most 100 years ({MAX_HORIZON:,.0f} minutes), got {got} minutes"
        )
    return value


Name = Annotated[
    str,
    Strict(),
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        max_length=80,
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
    max_attempts: Annotated[Count, Field(ge=1, le=100)] = Field(
        3, description="Failed attempts after which the customer gives up (friction); 1–100."
    )


class Defect(_Model):
    """A process defect that surfaces after the order (a change that never took effect)."""

    p: Probability = Field(description="Chance that a customer who passes the step gets it.")
    irritation: NonNegative = Field(
        description="Irritation felt when it surfaces (a moment of the remembered experience)."
    )
    delay: Annotated[Duration, Field(ge=0, le=MAX_PARAMETER)] = Field(
        "3d", validate_default=True, description="Time from the order until it surfaces."
    )


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


class Step(_Model):
    """One step of the checkout, in the order customers meet it."""

    name: Name = Field(description="Unique name of the step.")
    description: str = Field("", description="Free text.")
    duration: DurationDist = Field(
        default_factory=lambda: TypeAdapter(DurationDist).validate_python(0),
        description="Time to perform the step once (minutes, or a string with a unit). Default 0.",
    )
    irritation: NonNegative = Field(0.0, description="Irritation felt on entering the step.")
    fields: Annotated[Count, Field(le=MAX_FIELDS)] = Field(
        0, description="Form fields (at most 10,000); each adds `per_field` irritation."
    )
    per_field: Union[NonNegative, None] = Field(
        None, description="Irritation per form field here; default `friction.per_field`."
    )
    exit: Probability = Field(
        0.0, description="Chance of leaving for reasons unrelated to friction (browsing)."
    )
    errors: Union[Errors, None] = Field(None, description="Failed attempts and retries.")
    capacity: Union[Annotated[Count, Field(ge=1, le=MAX_CAPACITY)], None] = Field(
        None,
        description="Customers served at once (agents, gateway slots; at most 1,000,000); "
        "others queue.",
    )
    wait_irritation: Union[NonNegativeRate, None] = Field(
        None,
        description="Irritation per minute spent waiting in the queue; "
        "default `friction.wait_irritation`.",
    )
    next: Next = Field(
        None,
        description="Step name, or a list of {to, p} branches; default: the next listed step.",
    )
    defect: Union[Defect, None] = Field(
        None, description="A defect of this step that surfaces after the order."
    )
    cost: NonNegative = Field(
        0.0, description="Cost per customer entering the step (e.g. a paid verification)."
    )


class Segment(_Model):
    """A persona: a share of the customers with their own tolerance and basket."""

    name: Name = Field(description="Unique name of the segment.")
    share: Annotated[Probability, Field(gt=0)] = Field(
        description="Share of customers in this segment; shares sum to 1."
    )
    tolerance: AmountDist = Field(description="Irritation at which a customer abandons.")
    order_value: AmountDist = Field(description="Value of the order (currency units).")
    sensitivity: Annotated[Amount, Field(gt=0, le=MAX_PARAMETER)] = Field(
        1.0, description="Multiplies all irritation this persona feels."
    )


class Arrivals(_Model):
    """Customers who start checkout: a Poisson process."""

    rate: Annotated[Rate, Field(gt=0, le=MAX_PARAMETER)] = Field(
        description="Arrivals per minute (or '120/h'), before the profile."
    )
    profile: Union[
        Annotated[tuple[NonNegative, ...], Field(min_length=24, max_length=24)], None
    ] = Field(None, description="24 hourly multipliers of `rate`, hour 0 = midnight.")


class Friction(_Model):
    """Global friction defaults, overridable per step."""

    per_field: NonNegative = Field(0.4, description="Irritation per form field.")
    wait_irritation: NonNegativeRate = Field(
        0.0, description="Irritation per minute of waiting in a queue."
    )


class Experience(_Model):
    """How a checkout is remembered (peak–end rule) and scored 0–10 for recommending.

    Remembered irritation = (worst moment + final moment) / 2, where a moment is
    the irritation felt during one step (entry, waiting, failed attempts) or a
    defect surfacing after the order (Kahneman et al. 1993; Redelmeier &
    Kahneman 1996). Score = best × (1 − remembered / (scale × tolerance)),
    rounded and clipped to 0–10.
    """

    best: Annotated[Amount, Field(ge=0, le=10)] = Field(
        10.0, description="Score of a checkout remembered with no irritation at all."
    )
    scale: Annotated[Amount, Field(gt=0, le=MAX_PARAMETER)] = Field(
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


class Economics(_Model):
    """Money beyond order values."""

    margin: Probability = Field(
        1.0, description="Share of an order's value that is profit (1 = count revenue)."
    )
    currency: str = Field("", max_length=8, description="Shown in reports, e.g. EUR.")
    capacity_cost: Annotated[Rate, Field(ge=0, le=1e12)] = Field(
        0.0,
        description="Cost of one unit of capacity (an agent, a gateway slot) per unit of "
        "time, e.g. '30/h', for every step with capacity over the whole horizon; "
        "subtracted in `profit` (metric `capacity_costs`). Default 0.",
    )


class Scenario(_Model):
    """One checkout design and the customers who meet it."""

    name: Name = Field(description="Name; default output folder is results/<name>/.")
    description: str = Field("", description="Free text.")
    seed: Annotated[Count, Field(le=2**63 - 1)] = Field(
        1, description="Default seed; `--seed` overrides."
    )
    replications: Annotated[Count, Field(ge=1, le=100_000)] = Field(
        10, description="Independent runs; `--replications` overrides."
    )
    horizon: Annotated[Duration, Field(gt=0), AfterValidator(_horizon)] = Field(
        description="Simulated time during which customers arrive (e.g. '7d'); at most 100 years."
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
    economics: Economics = Field(default_factory=Economics)

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

    @cached_property
    def flow(self) -> Flow:
        """The step graph: successors, reachability, order, expected visits (computed once)."""
        return Flow.of_steps(self.steps)

    def successors(self, i: int) -> list[tuple[int, float]]:
        """Where step ``i`` leads, as ``(step index or END, probability)``."""
        return list(self.flow.successors[i])

    def draws_per_customer(self) -> int:
        """Random numbers the engines draw ahead for each customer: segment, tolerance
        and order value, and per step an exit draw, a branch draw and a defect draw
        where the step has them, and a duration and an error draw per attempt where
        the duration is random and attempts can fail."""
        draws = 3
        for step in self.steps:
            attempts = step.errors.max_attempts if step.errors else 1
            draws += (step.exit > 0) + (step.next is not None and len(step.next) > 1)
            draws += bool(step.defect and step.defect.p > 0)
            draws += attempts * (not step.duration.is_constant)
            draws += attempts * bool(step.errors and step.errors.p > 0)
        return draws

    @property
    def profile(self) -> tuple[float, ...]:
        return self.arrivals.profile or (1.0,) * 24

    @property
    def expected_visitors(self) -> float:
        """Expected arrivals per replication, profile included."""
        hours = self.horizon / 60
        full, part = int(hours // 1), hours % 1
        prof = self.profile
        days, rest = divmod(full, 24)  # whole days at once: a horizon may be huge
        total = days * sum(prof) + sum(prof[:rest]) + part * prof[rest]
        return self.arrivals.rate * 60 * total


# --------------------------------------------------------------------------- YAML


Mark = tuple[str, int, int]  # (file, line, column), 1-based
Path_ = tuple[Any, ...]


class _Document:
    """Plain data from a YAML file with the location of every key and value."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.key_marks: dict[Path_, Mark] = {}
        self.value_marks: dict[Path_, Mark] = {}
        self.problems: list[ScenarioProblem] = []
        self.refused: set[Path_] = set()  # values replaced by None after a located problem
        self.pending: list[tuple[Mark, Path_, str]] = []  # located before the data is complete
        self.data: Any = None
        self._nodes = 0
        self._seen: set[int] = set()  # nodes already converted (reached again by an alias)

    def problem(self, mark: Mark, path: str, message: str) -> None:
        self.problems.append(ScenarioProblem(mark[0], mark[1], mark[2], path, message))

    def mark_of(self, path: Path_, key: bool = False) -> Mark:
        """Location of ``path`` or of its nearest located ancestor."""
        marks = self.key_marks if key else self.value_marks
        if key and path in marks:
            return marks[path]
        for n in range(len(path), -1, -1):
            if path[:n] in self.value_marks:
                return self.value_marks[path[:n]]
        return (self.file, 1, 1)


_TAG = "tag:yaml.org,2002:"
_STANDARD_TAGS = {
    _TAG + t for t in ("map", "seq", "str", "int", "float", "bool", "null", "timestamp", "merge")
}
#: YAML 1.2 numbers that YAML 1.1 (PyYAML) reads as text: ``1e6``, ``2.5E-3``.
_EXPONENT_NUMBER = re.compile(r"^[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][-+]?[0-9]+$")
#: Digits with a leading zero that YAML 1.1 leaves as text (``089``: not octal).
_LEADING_ZERO = re.compile(r"^[-+]?0[0-9_]+$")
#: Digits of the longest integer a scenario may hold (far above any count or seed).
MAX_INTEGER_DIGITS = 100
_TRUE = {"yes", "true", "on", "y"}
#: A lone surrogate, which only an escape in a double-quoted scalar can make.
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")


def _yaml_mark(doc: _Document, node: yaml.Node) -> Mark:
    return (doc.file, node.start_mark.line + 1, node.start_mark.column + 1)


class _BadScalar(Exception):
    """A scalar that YAML 1.1 reads differently from what its writer most likely meant."""


def _scalar(node: yaml.ScalarNode) -> Any:
    """The value of a scalar node from its resolved tag, built here rather than by PyYAML's
    constructors, so the limits and YAML 1.1 pitfalls below do not depend on its release."""
    text, tag = node.value, node.tag
    surrogate = _SURROGATE.search(text)
    if surrogate:  # only a "\ud800" escape makes one; no file could hold the text
        pair = _SURROGATE_PAIR.search(text)
        if pair:  # JSON's way to write a character beyond U+FFFF; YAML has its own
            high, low = (ord(c) for c in pair.group())
            code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
            raise _BadScalar(
                f"'{pair.group()}' is a UTF-16 surrogate pair, which YAML does not combine; "
                f"write '\\U{code:08X}' or the character itself"
            )
        raise _BadScalar(
            f"'{surrogate.group()}' is half of a UTF-16 surrogate pair, not a character; "
            "write the character itself"
        )
    if tag == _TAG + "null":
        return None
    if tag == _TAG + "bool":
        return text.lower() in _TRUE
    if tag == _TAG + "timestamp":
        return text  # a date is text here (a description, a name), never a datetime
    if tag == _TAG + "str":
        if node.style is None and _EXPONENT_NUMBER.match(text):
            return float(text)  # 1e6 is a number, as in YAML 1.2 (inf is refused later)
        if node.style is None and _LEADING_ZERO.match(text):
            raise _BadScalar(
                f"'{text}' is read as an octal number by YAML 1.1; write "
                f"{int(text)} without the leading zero, or quote it for text"
            )
        return text
    plain = text.replace("_", "")
    digits = plain.lstrip("+-")
    if ":" in plain:
        try:
            value = sum(float(p) * 60**i for i, p in enumerate(reversed(digits.split(":"))))
            read = f" {value:g}"
        except ValueError:
            read = ""
        raise _BadScalar(
            f"'{text}' is read as the base-60 number{read} by YAML 1.1; write a number, "
            "a duration with its unit (90s, 1.5min), or quote it for text"
        )
    if tag == _TAG + "int":
        if len(digits) > MAX_INTEGER_DIGITS:
            raise _BadScalar(
                f"an integer of {len(digits)} digits is too large (at most {MAX_INTEGER_DIGITS})"
            )
        sign = -1 if plain.startswith("-") else 1
        if digits.startswith(("0x", "0X")):
            return sign * int(digits[2:], 16)
        if digits.startswith(("0b", "0B")):
            return sign * int(digits[2:], 2)
        if len(digits) > 1 and digits.startswith("0"):
            octal = (
                f"the octal number {sign * int(digits, 8)}"
                if "8" not in digits and "9" not in digits
                else "an octal number"
            )
            raise _BadScalar(
                f"'{text}' is read as {octal} by YAML 1.1; write {sign * int(digits)} "
                "without the leading zero, or quote it for text"
            )
        return sign * int(digits)
    if tag == _TAG + "float":
        low = plain.lower()
        if low.endswith(".inf"):
            return -math.inf if low.startswith("-") else math.inf
        if low.endswith(".nan"):
            return math.nan  # the schema refuses it with the field's name
        return float(plain)
    return text


def _convert(
    doc: _Document, node: yaml.Node, path: Path_, within: frozenset[int] = frozenset()
) -> Any:
    """Plain data from ``node``, counting every node built (aliases and merges included)."""
    doc._nodes += 1
    if doc._nodes > MAX_NODES:
        raise _TooLarge
    if id(node) in within:
        raise _SelfReference(_yaml_mark(doc, node))
    if len(path) > MAX_DEPTH:
        raise _TooDeep
    # A node reached again through an alias (*name) is located at its key, not its anchor.
    again = id(node) in doc._seen and path in doc.key_marks
    doc._seen.add(id(node))
    mark = doc.key_marks[path] if again else _yaml_mark(doc, node)
    doc.value_marks[path] = mark
    if node.tag not in _STANDARD_TAGS or node.tag == _TAG + "merge":
        doc.pending.append(
            (
                _yaml_mark(doc, node),
                path,
                f"YAML tag '{node.tag}' is not allowed; scenario files hold plain data only",
            )
        )
        doc.refused.add(path)
        return None
    if isinstance(node, yaml.MappingNode):
        inner = within | {id(node)}
        result: dict[Any, Any] = {}
        merges = [v for k, v in node.value if _is_merge_key(k)]
        # Merged entries first, the last source first, so that earlier sources and then
        # the mapping's own keys win (the YAML merge-key rule).
        sources = [
            s for m in merges for s in (m.value if isinstance(m, yaml.SequenceNode) else [m])
        ]
        for source in reversed(sources):
            if not isinstance(source, yaml.MappingNode):
                doc.pending.append(
                    (_yaml_mark(doc, source), path, "'<<' merges a mapping or a list of mappings")
                )
                continue
            merged = _convert(doc, source, path, inner)
            if isinstance(merged, dict):
                result.update(merged)
        doc.value_marks[path] = mark
        seen_own: set[Any] = set()
        for key_node, value_node in node.value:
            if _is_merge_key(key_node):
                continue
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in _STANDARD_TAGS:
                doc.pending.append((_yaml_mark(doc, key_node), path, "keys must be plain names"))
                continue
            try:
                key = _scalar(key_node)
            except _BadScalar:
                key = key_node.value
            if not isinstance(key, str):
                doc.pending.append(
                    (_yaml_mark(doc, key_node), path, f"keys must be names (text), got {key!r}")
                )
                continue
            if key in seen_own:
                doc.pending.append(
                    (
                        _yaml_mark(doc, key_node),
                        (*path, key),
                        f"duplicate key '{key}' (first at line {doc.key_marks[(*path, key)][1]})",
                    )
                )
                continue
            seen_own.add(key)
            doc.key_marks[(*path, key)] = _yaml_mark(doc, key_node)
            result[key] = _convert(doc, value_node, (*path, key), inner)
        return result
    if isinstance(node, yaml.SequenceNode):
        inner = within | {id(node)}
        return [_convert(doc, item, (*path, i), inner) for i, item in enumerate(node.value)]
    try:
        return _scalar(node)
    except _BadScalar as exc:
        doc.pending.append((_yaml_mark(doc, node), path, str(exc)))
        doc.refused.add(path)
        return None


def _is_merge_key(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and (
        node.tag == _TAG + "merge" or (node.value == "<<" and node.style is None)
    )


class _TooLarge(Exception):
    pass


class _TooDeep(Exception):
    pass


class _SelfReference(Exception):
    def __init__(self, mark: Mark) -> None:
        self.mark = mark


def _parse_yaml(text: str, file: str) -> _Document:
    doc = _Document(file)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is None:
            doc.problem(
                (file, 1, 1),
                "(file)",
                "the file is empty; a scenario needs at least "
                "name, horizon, arrivals, segments and steps",
            )
            return doc
        doc.data = _convert(doc, node, ())
        for mark, path, message in doc.pending:
            doc.problem(mark, _display(doc.data, path), message)
    except _TooLarge:
        doc.problems.clear()
        doc.problem(
            (file, 1, 1),
            "(yaml)",
            f"the document expands to more than {MAX_NODES} nodes (aliases?); refused",
        )
    except (_TooDeep, RecursionError):
        doc.problems.clear()
        doc.problem(
            (file, 1, 1),
            "(yaml)",
            f"lists and mappings are nested more than {MAX_DEPTH} levels deep; refused",
        )
    except _SelfReference as exc:
        doc.problems.clear()
        doc.problem(
            exc.mark, "(yaml)", "an alias refers to a mapping or list that contains it; refused"
        )
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = str(exc.problem or exc.context)
        where = exc.context_mark
        if exc.context and exc.problem and str(exc.context).startswith("expected"):
            message = f"{exc.context}, {exc.problem}"
        elif exc.context and "duplicate anchor" in str(exc.context) and where:
            anchor = str(exc.context).split(";")[0]
            message = f"{anchor} (first at line {where.line + 1}, column {where.column + 1})"
        elif exc.context and exc.problem:
            message += f" ({exc.context}"
            if where and (where.line, where.column) != (line - 1, col - 1):
                message += f" that starts at line {where.line + 1}, column {where.column + 1}"
            message += ")"
        if "\\t" in message or "\t" in message:
            message = "tab characters cannot indent YAML; use spaces"
        elif "<block end>" in message:
            message += "; check the indentation of this line"
        doc.problem((file, line, col), "(yaml)", f"YAML syntax error: {message}")
    except yaml.reader.ReaderError as exc:  # control characters, NUL bytes
        before = text[: exc.position]
        line = before.count("\n") + 1
        col = exc.position - (before.rfind("\n") + 1) + 1
        char = f"U+{exc.character:04X}" if isinstance(exc.character, int) else repr(exc.character)
        doc.problem(
            (file, line, col),
            "(yaml)",
            f"control character {char} is not allowed in a scenario file (is this a text file?)",
        )
    if not doc.problems and not isinstance(doc.data, dict):
        kind = "null" if doc.data is None else f"a {type(doc.data).__name__}"
        doc.problem(
            (file, 1, 1),
            "(file)",
            f"the top level must be a mapping of keys (name, steps, ...), not {kind}",
        )
    return doc


def _display(data: Any, path: Sequence[Any]) -> str:
    """``steps.payment.duration.sd``: list items with a name are shown by name."""
    parts: list[str] = []
    node = data
    for elem in path:
        if isinstance(node, list) and isinstance(elem, int):
            item = node[elem] if 0 <= elem < len(node) else None
            name = item.get("name") if isinstance(item, dict) else None
            if isinstance(name, str) and name:
                parts.append(f".{name}")
            else:
                parts.append(f"[{elem}]")
            node = item
        else:
            parts.append(f".{elem}")
            node = node.get(elem) if isinstance(node, dict) else None
    text = "".join(parts).lstrip(".")
    return text or "(top)"


# ------------------------------------------------------------------ overrides


class _Refused:
    """An override value refused with a located problem."""


#: A list index in an override path: ASCII digits only ('²' and '٣' are names), or a
#: negative number, which is refused with the range of indexes.
_INDEX = re.compile(r"-?[0-9]+")


def _parse_override_value(doc: _Document, text: str, at: Mark, path_text: str) -> Any:
    """The value of an override, read with the same limits as a file (tags, aliases, depth)."""
    if not text.strip():
        return ""
    sub = _Document("--set")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is None:
            return None
        value = _convert(sub, node, ())
    except (_TooLarge, _TooDeep, _SelfReference, RecursionError):
        doc.problem(at, path_text, "the value is too large or too deeply nested; refused")
        return _Refused
    except yaml.reader.ReaderError as exc:  # control characters, bytes that are not UTF-8
        code = exc.character if isinstance(exc.character, int) else -1
        message = (
            f"the byte 0x{code - 0xDC00:02X} is not UTF-8 text"  # undecodable, from the shell
            if 0xDC80 <= code <= 0xDCFF
            else f"control character U+{code:04X} is not allowed in a --set value"
        )
        doc.problem(at, path_text, message)
        return _Refused
    except yaml.YAMLError:
        return text  # not YAML (e.g. 'a: b: c'): taken as text, as a shell user would expect
    if sub.pending:
        doc.problem(at, path_text, sub.pending[0][2])
        return _Refused
    return value


def _apply_overrides(doc: _Document, overrides: Sequence[str]) -> None:
    """Apply ``path=value`` overrides to ``doc.data``; locate their problems as ``--set:N``."""
    for n, override in enumerate(overrides, start=1):
        where = ("--set", n, 1)
        if "=" not in override:
            doc.problem(where, override, "expected path=value, e.g. steps.payment.capacity=8")
            continue
        path_text, value_text = override.split("=", 1)
        segments = path_text.strip().split(".")
        if not path_text.strip():
            doc.problem(where, "(path)", "the path before '=' is empty")
            continue
        if not all(segments):
            doc.problem(where, path_text, "empty part in the path")
            continue
        node: Any = doc.data
        path: Path_ = ()
        col = 1
        ok = True
        depth = 0
        while depth < len(segments):
            segment = segments[depth]
            at = ("--set", n, col)
            if isinstance(node, list):
                # a name with dots in it (a step "a.b"): the longest name that matches
                dotted = [it.get("name") for it in node if isinstance(it, dict)]
                dotted = {x for x in dotted if isinstance(x, str) and "." in x}
                for end in range(len(segments), depth + 1, -1):
                    if ".".join(segments[depth:end]) in dotted:
                        segment = ".".join(segments[depth:end])
                        depth = end - 1
                        break
            depth += 1
            last = depth == len(segments)
            col += len(segment) + 1
            if isinstance(node, dict):
                if segment not in node:
                    if last:
                        path = (*path, segment)
                        break
                    # a missing mapping is created (e.g. ``steps.pay.errors.p``);
                    # problems with it are located on this override
                    node[segment] = {}
                    doc.key_marks[(*path, segment)] = at
                    doc.value_marks[(*path, segment)] = at
                path = (*path, segment)
                if not last:
                    node = node[segment]
            elif isinstance(node, list):
                # a name wins over an index: steps named "1", "2" are addressed by name
                names = [it.get("name") if isinstance(it, dict) else None for it in node]
                is_index = _INDEX.fullmatch(segment) is not None
                if segment in names:
                    index = names.index(segment)
                elif is_index and len(segment) <= 18 and 0 <= int(segment) < len(node):
                    index = int(segment)
                else:
                    hint = did_you_mean(segment, [x for x in names if isinstance(x, str)])
                    kind = path[-1].rstrip("s") if path and isinstance(path[-1], str) else "item"
                    message = f"no {kind} named '{segment}'{hint}{_non_ascii(segment)}"
                    if is_index:
                        message = (
                            f"no {kind} at index {segment} (indexes run from 0 to {len(node) - 1})"
                            if node
                            else f"no {kind} at index {segment} (the list is empty)"
                        )
                    doc.problem(at, _display(doc.data, path) + "." + segment, message)
                    ok = False
                    break
                path = (*path, index)
                if not last:
                    node = node[index]
            else:
                doc.problem(
                    at,
                    _display(doc.data, path),
                    f"'{_display(doc.data, path)}' is a value, it has no '{segment}'",
                )
                ok = False
                break
        if not ok:
            continue
        if not isinstance(doc.data, dict):
            continue
        value = _parse_override_value(doc, value_text, ("--set", n, len(path_text) + 2), path_text)
        if value is _Refused:
            continue
        _set_path(doc.data, path, value)
        for table in (doc.value_marks, doc.key_marks):
            for key in [k for k in table if k[: len(path)] == path]:
                del table[key]
        doc.value_marks[path] = ("--set", n, len(path_text) + 2)
        doc.key_marks[path] = ("--set", n, 1)


def _set_path(data: Any, path: Path_, value: Any) -> None:
    node = data
    for elem in path[:-1]:
        node = node[elem]
    node[path[-1]] = value


# ------------------------------------------------------------------ validation


def _unwrap(tp: Any) -> Any:
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) == 1:
                tp = args[0]
            else:
                return tp
        else:
            return tp


def _is_distribution(loc: Sequence[Any]) -> bool:
    """Whether the field at pydantic location ``loc`` holds a distribution."""
    tp = _type_at(loc)
    members = typing.get_args(tp) if typing.get_origin(tp) in (Union, types.UnionType) else ()
    return bool(members) and all(
        isinstance(m, type) and issubclass(m, Distribution) for m in members
    )


def _model_at(loc: Sequence[Any]) -> type[BaseModel] | None:
    """The model class validating the mapping at pydantic location ``loc``."""
    tp = _type_at(loc)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _type_at(loc: Sequence[Any]) -> Any:
    """The type (annotations and optional ``None`` removed) at pydantic location ``loc``."""
    tp: Any = Scenario
    for elem in loc:
        tp = _unwrap(tp)
        origin = typing.get_origin(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if elem not in tp.model_fields:
                return None
            tp = tp.model_fields[elem].annotation
        elif origin in (tuple, list):
            if not isinstance(elem, int):
                return None
            tp = typing.get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            members = [
                m
                for m in typing.get_args(tp)
                if isinstance(m, type)
                and issubclass(m, BaseModel)
                and "dist" in m.model_fields
                and typing.get_args(m.model_fields["dist"].annotation) == (elem,)
            ]
            if not members:
                return None
            tp = members[0]
        else:
            return None
    return _unwrap(tp)


def _raw_value(data: Any, path: Path_) -> Any:
    for elem in path:
        try:
            data = data[elem]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _raw_path(data: Any, loc: Sequence[Any]) -> Path_:
    """The part of a pydantic location that exists in the data (union tags dropped)."""
    path: Path_ = ()
    node = data
    for elem in loc:
        in_dict = isinstance(node, dict) and elem in node
        in_list = isinstance(node, list) and isinstance(elem, int) and 0 <= elem < len(node)
        if in_dict or in_list:
            node = node[elem]
        else:
            continue
        path = (*path, elem)
    return path


_BOUNDS = {
    "greater_than": "must be greater than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be at most {le}",
    "string_pattern_mismatch": "must be letters, digits, '_', '.' or '-', starting with a "
    "letter or digit",
    "string_too_long": "must be at most {max_length} characters",
    "finite_number": "must be a finite number",
}


def _value_at(data: Any, path: Path_, default: Any) -> Any:
    """The value at ``path`` of the document's data (before any validator), or ``default``."""
    for elem in path:
        try:
            data = data[elem]
        except (KeyError, IndexError, TypeError):
            return default
    return data if isinstance(data, (str, int, float)) else default


def _number_text(value: Any) -> Any:
    """A bound as written by a person: 1e+12 rather than 1000000000000.0."""
    if isinstance(value, float) and abs(value) >= 1e7:
        return f"{value:g}"
    if isinstance(value, float) and value.is_integer():
        return int(value)  # pydantic releases differ in whether a bound of 0 is 0 or 0.0
    return value


def _got(value: Any) -> str:
    """A value as the file wrote it: 1e+13 rather than 10000000000000.0."""
    big = isinstance(value, float) and math.isfinite(value) and abs(value) >= 1e7
    if big and float(f"{value:g}") == value:
        return f"{value:g}"
    return repr(value)


def _pydantic_problems(doc: _Document, exc: ValidationError) -> None:
    errors = exc.errors()
    seen: set[tuple[Path_, str]] = set()
    for err in errors:
        loc, kind = err["loc"], err["type"]
        if kind == "too_short" and any(
            e is not err and e["loc"][: len(loc)] == loc and len(e["loc"]) > len(loc)
            for e in errors
        ):
            continue  # "too few items after validation" only echoes the items' own errors
        path = _raw_path(doc.data, loc)
        if any(path[: len(r)] == r for r in doc.refused):
            continue
        message = err["msg"].removeprefix("Value error, ")
        mark = doc.mark_of(path)
        shown = _display(doc.data, path)
        if kind == "missing":
            key = loc[-1]
            shown = f"{shown}.{key}" if path else str(key)
            message = f"missing required key '{key}'"
        elif kind == "extra_forbidden":
            mark = doc.mark_of(path, key=True)
            model = _model_at(loc[:-1])
            allowed = list(model.model_fields) if model else []
            key = str(loc[-1])
            message = f"unknown key '{key}'{did_you_mean(key, allowed)}{_non_ascii(key)}"
            if allowed:
                message += f"; allowed: {', '.join(allowed)}"
        elif kind == "union_tag_invalid":
            tag = err.get("ctx", {}).get("tag")
            written = _raw_value(doc.data, (*path, "dist"))
            if not isinstance(written, str):
                message = (
                    f"'dist' is the name of a family (one of {', '.join(FAMILIES[:-1])}), "
                    f"got {_describe(written)}"
                )
            elif tag in FAMILIES:
                message = f"'{tag}' is only for counts (e.g. how many people a customer tells)"
            else:
                message = f"unknown distribution '{tag}'{did_you_mean(tag, FAMILIES)}"
            mark = doc.mark_of((*path, "dist"))
            shown = f"{shown}.dist"
        elif kind == "union_tag_not_found":
            message = (
                f"a distribution needs 'dist:' (one of {', '.join(FAMILIES[:-1])}), "
                "or write a plain number"
            )
        elif kind in ("model_attributes_type", "model_type") and _is_distribution(loc):
            message = (
                "expected a number or a distribution such as {dist: lognormal, mean: 12, "
                f"sd: 6}}, got {_describe(err['input'])}"
            )
        elif kind in ("model_attributes_type", "model_type"):
            message = f"expected a mapping of keys, got {_describe(err['input'])}"
        elif kind == "string_type":
            message = f"expected text, got {_describe(err['input'])}"
            if isinstance(err["input"], (bool, int, float)):
                message += " (put it in quotes to make it text)"
        elif kind in ("float_type", "int_type", "float_parsing"):
            message = f"expected a number, got {_describe(err['input'])}"
        elif kind in ("tuple_type", "list_type") and loc and loc[-1] == "next":
            got = _describe(err["input"])
            message = f"expected a step name or a list of {{to, p}} branches, got {got}"
        elif kind in ("tuple_type", "list_type"):
            message = f"expected a list, got {_describe(err['input'])}"
        elif kind in ("too_short", "too_long"):
            ctx = err.get("ctx", {})
            lo, hi = ctx.get("min_length"), ctx.get("max_length")
            count = len(err["input"]) if isinstance(err["input"], (list, tuple)) else "?"
            want = f"exactly {lo}" if lo == hi else f"at least {lo}" if lo else f"at most {hi}"
            message = f"needs {want} item{'' if want.endswith(' 1') else 's'}, got {count}"
        elif kind in _BOUNDS:
            ctx = {k: _number_text(v) for k, v in err.get("ctx", {}).items()}
            written = _value_at(doc.data, path, err["input"])  # as in the file, '-120/h'
            message = f"{_BOUNDS[kind].format(**ctx)} (got {_got(written)})"
            if kind == "string_pattern_mismatch":
                message += _non_ascii(err["input"])
        elif kind != "value_error" and not isinstance(err.get("input"), (dict, list)):
            message = f"{message} (got {err['input']!r})"
        if (path, message) in seen:
            continue
        seen.add((path, message))
        doc.problem(mark, shown, message)


def _non_ascii(text: Any) -> str:
    """``; 'а' (U+0430) is not ASCII`` for the first such visible character of a key or a
    name: keys and names are ASCII, and a look-alike letter would pass unseen (invisible
    characters are shown escaped anyway)."""
    for char in str(text):
        if ord(char) > 127 and char.isprintable():
            return f"; '{char}' (U+{ord(char):04X}) is not ASCII"
    return ""


def _describe(value: Any) -> str:
    """A value as a message shows it: short, and lists and mappings by kind."""
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _flow_problems(doc: _Document) -> None:
    """Checks across the whole file, on the plain data (they run even beside type errors)."""
    data = doc.data

    def items(key: str) -> list[tuple[int, dict[str, Any]]]:
        value = data.get(key)
        if not isinstance(value, list):
            return []
        return [(i, it) for i, it in enumerate(value) if isinstance(it, dict)]

    def problem(path: Path_, message: str, key: bool = False) -> None:
        doc.problem(doc.mark_of(path, key=key), _display(data, path), message)

    for key in ("segments", "steps"):
        first: dict[str, int] = {}
        for i, item in items(key):
            name = item.get("name")
            if isinstance(name, str):
                if name in first:
                    problem(
                        (key, i, "name"), f"duplicate name '{name}' (also {key}[{first[name]}])"
                    )
                else:
                    first[name] = i

    shares = [it.get("share") for _, it in items("segments")]
    if shares and all(_number(s) for s in shares) and abs(sum(shares) - 1) > 1e-6:
        problem(("segments",), f"shares sum to {sum(shares):g}; they must sum to 1")

    steps = items("steps")
    if not steps or len(steps) != len(data.get("steps", [])):
        return
    names = [it.get("name") for _, it in steps]
    if not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
        return
    index = {n: i for i, n in enumerate(names)}
    edges: dict[int, set[int]] = {}
    graph_ok = True
    for i, step in steps:
        nxt = step.get("next")
        out: set[int] = set()
        if nxt is None:
            out.add(i + 1 if i + 1 < len(steps) else END)
        else:
            branches = (
                [(nxt, 1.0, ("steps", i, "next"))]
                if isinstance(nxt, str)
                else [
                    (b.get("to"), b.get("p"), ("steps", i, "next", j, "to"))
                    for j, b in enumerate(nxt)
                    if isinstance(b, dict)
                ]
                if isinstance(nxt, list)
                else []
            )
            listed = isinstance(nxt, list) and len(branches) == len(nxt)
            if not (isinstance(nxt, str) or listed):
                graph_ok = False  # a malformed next is reported with its type: no flow guesses
            for to, p, path in branches:
                if not isinstance(to, str):
                    graph_ok = False
                elif to not in index:
                    hint = did_you_mean(to, names) + _non_ascii(to)
                    problem(path, f"no step named '{to}'{hint}")
                    graph_ok = False
                elif not _number(p) or p > 0:
                    out.add(index[to])
            ps = [p for _, p, _ in branches]
            numeric = isinstance(nxt, list) and ps and all(_number(p) for p in ps)
            if numeric and abs(sum(ps) - 1) > 1e-6:
                problem(
                    ("steps", i, "next"),
                    f"branch probabilities sum to {sum(ps):g}; they must sum to 1",
                )
        edges[i] = out
    if not graph_ok:
        return
    flow = Flow(tuple(tuple((j, 1.0) for j in sorted(edges[i])) for i in range(len(steps))))
    reached, can_end = flow.reachable, flow.can_end
    for i in range(len(steps)):
        if i not in reached:
            problem(
                ("steps", i),
                f"step '{names[i]}' is never reached from the first step '{names[0]}'",
                key=False,
            )
    for i in sorted(reached - {END}):
        if i not in can_end:
            problem(
                ("steps", i),
                f"from step '{names[i]}' no path leads to the end of the "
                "checkout (a loop with no way out)",
            )


def _size_problems(doc: _Document, scenario: Scenario) -> None:
    """Bounds on the scenario as a whole, on top of each field's own."""
    mark = doc.mark_of(("steps",))
    n_steps, n_segments = len(scenario.steps), len(scenario.segments)
    if n_steps * n_segments > MAX_STEP_SEGMENTS:
        doc.problem(
            mark,
            "steps",
            f"{n_steps:,} steps × {n_segments:,} segments = {n_steps * n_segments:,}; at most "
            f"{MAX_STEP_SEGMENTS:,} (results keep an irritation histogram per step and segment)",
        )
    draws = scenario.draws_per_customer()
    if draws > MAX_DRAWS:
        doc.problem(
            mark,
            "steps",
            f"the steps draw {draws:,} random numbers per customer (exits, branches, defects, "
            f"and a duration and an error draw per attempt); at most {MAX_DRAWS:,}: use fewer "
            "errors.max_attempts, or fixed durations",
        )


def _validate(doc: _Document) -> Scenario:
    scenario = None
    try:
        scenario = Scenario.model_validate(doc.data)
    except ValidationError as exc:
        _pydantic_problems(doc, exc)
    if scenario is not None:
        _size_problems(doc, scenario)
    _flow_problems(doc)
    if doc.problems or scenario is None:
        raise ScenarioError(doc.problems)
    return scenario


def parse_scenario(text: str, file: str = "<string>", overrides: Sequence[str] = ()) -> Scenario:
    """Validate scenario YAML ``text``; raise :class:`ScenarioError` with every problem."""
    doc = _parse_yaml(text, file)
    if not isinstance(doc.data, dict):
        raise ScenarioError(doc.problems)
    _apply_overrides(doc, overrides)
    return _validate(doc)


def vary(scenario: Scenario, overrides: Sequence[str], where: str | None = None) -> Scenario:
    """``scenario`` with ``path=value`` overrides applied and validated again, without a
    file: a study's variant of a scenario (problems are located as ``--set:N:COL``)."""
    if not overrides:
        return scenario
    doc = _Document(where or f"{scenario.name} (resolved)")
    doc.data = scenario.model_dump(mode="json", exclude_none=True)
    _apply_overrides(doc, overrides)
    return _validate(doc)


def read_scenario_text(path: str | Path) -> str:
    """The text of a scenario file, or a located :class:`ScenarioError`."""
    _, text = read_user_file(
        path,
        kind="a scenario file",
        max_bytes=MAX_FILE_BYTES,
        too_big="file is {size} bytes; scenario files are limited to {limit}",
        encoding="utf-8",
        not_text="not UTF-8 text (is this a scenario file?)",
        locate_bad_byte=True,
    )
    return text


def load_scenario(path: str | Path, overrides: Sequence[str] = ()) -> Scenario:
    """Read, override and validate the scenario file at ``path``."""
    return parse_scenario(read_scenario_text(path), str(path), overrides)


def scenario_to_yaml(scenario: Scenario) -> str:
    """The fully resolved scenario (every default filled in, times in minutes) as YAML."""
    data = scenario.model_dump(mode="json", exclude_none=True)
    header = (
        f"# resolved scenario '{scenario.name}': every default filled in;\n"
        "# durations are minutes and rates are per minute.\n"
    )
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def scenario_json_schema() -> dict[str, Any]:
    """JSON Schema of scenario files, for editor completion and checking."""
    schema = Scenario.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "frictionsim scenario"
    return schema


__all__ = [
    "END",
    "Arrivals",
    "Branch",
    "Errors",
    "Friction",
    "Scenario",
    "Segment",
    "Step",
    "load_scenario",
    "parse_scenario",
    "read_scenario_text",
    "scenario_json_schema",
    "scenario_to_yaml",
    "vary",
]
