"""Probability distributions of scenario quantities.

A scenario writes a random quantity as a bare number (fixed) or as a mapping
with ``dist:``. The families are ``fixed``, ``exponential``, ``lognormal``,
``gamma``, ``normal`` (clipped at 0), ``uniform``, ``triangular``,
``empirical`` and, for counts only, ``poisson``. ``mean`` and ``sd`` are always
those of the value itself (for the lognormal too, not of its log), because that
is what researchers read in analytics exports.

Each family is a frozen pydantic model that validates its parameters, samples
with a caller's :class:`numpy.random.Generator` (never a global one), and knows
its analytic ``mean`` and ``var`` so sampling tests can compare against them.

The same families exist for different quantities: durations accept units
(``45s``), amounts (irritation, money) and counts are plain numbers.
:func:`distribution_type` builds the annotated union for one quantity.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, Union

import numpy as np
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    create_model,
    model_validator,
)

from .units import duration_pattern, parse_duration, parse_rate, rate_pattern

# Each quantity is a function of its bounds (pydantic's ``ge``, ``gt``, ``le``, ``lt``)
# that puts them on the number itself, before the validator that reads the file's
# value. A bound written after a validator is still checked, but pydantic writes it
# into the JSON Schema under its own name (``"ge": 0``, which editors ignore, instead
# of ``"minimum": 0``; pydantic issue #11576). Unit strings carry their sign in their
# pattern.


def _number_only(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    return value


def _integer_only(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected a whole number, got {value!r}")
    return value


def amount(**bounds: float) -> Any:
    """A plain finite number (irritation points, money, shares) within ``bounds``."""
    return Annotated[
        float, Strict(), Field(allow_inf_nan=False, **bounds), BeforeValidator(_number_only)
    ]


def count(ge: int = 0, **bounds: int) -> Any:
    """A whole number, 0 or more unless ``ge`` says otherwise, within ``bounds``."""
    return Annotated[int, Field(ge=ge, **bounds), BeforeValidator(_integer_only)]


def _sign(bounds: dict[str, float]) -> str:
    """Which numbers a unit string within ``bounds`` may start with (see units.py)."""
    if bounds.get("gt", -1) >= 0:
        return "positive"
    return "nonnegative" if bounds.get("ge", -1) >= 0 else "any"


def duration(shown_le: float | None = None, **bounds: float) -> Any:
    """A duration in minutes within ``bounds``; YAML may write ``45s``, ``3min``, ``2h``,
    ``7d``. ``shown_le`` is an upper bound that the caller checks with a message of its
    own and the JSON Schema shows too."""
    shown = bounds if shown_le is None else {**bounds, "le": shown_le}
    number = Annotated[float, Field(**shown)]
    text = Annotated[str, Field(pattern=duration_pattern(_sign(bounds)))]
    return Annotated[
        float,
        Field(**bounds),
        BeforeValidator(parse_duration, json_schema_input_type=Union[number, text]),
    ]


def rate(**bounds: float) -> Any:
    """A rate per minute within ``bounds``; YAML may write ``120/h``, ``2/min``, ``1.5/d``."""
    text = Annotated[str, Field(pattern=rate_pattern(_sign(bounds)))]
    return Annotated[
        float,
        Field(**bounds),
        BeforeValidator(
            parse_rate, json_schema_input_type=Union[Annotated[float, Field(**bounds)], text]
        ),
    ]


class Distribution(BaseModel):
    """Base of every distribution family."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` independent values as a float64 array."""
        raise NotImplementedError

    def one(self, rng: np.random.Generator) -> float:
        """One draw: ``float(self.sample(rng, 1)[0])``, the same number from the same use of
        ``rng``, without making an array (the families override it with numpy's scalar
        call of the same generator method)."""
        return float(self.sample(rng, 1)[0])

    @property
    def expectation(self) -> float:
        """Analytic mean of a draw."""
        raise NotImplementedError

    @property
    def variance(self) -> float:
        """Analytic variance of a draw."""
        raise NotImplementedError

    @property
    def is_constant(self) -> bool:
        """True when every draw gives the same value (no random numbers needed)."""
        return self.variance == 0.0

    @property
    def minimum(self) -> float:
        """The least value a draw can take (0 for the families that reach down to 0)."""
        return 0.0


class _Fixed(Distribution):
    def sample(self, rng, size):
        return np.full(size, float(self.value))

    def one(self, rng):
        return float(self.value)

    @property
    def minimum(self):
        return float(self.value)

    @property
    def expectation(self):
        return float(self.value)

    @property
    def variance(self):
        return 0.0


class _Exponential(Distribution):
    def sample(self, rng, size):
        return rng.exponential(self.mean, size)

    def one(self, rng):
        return float(rng.exponential(self.mean))

    @property
    def expectation(self):
        return float(self.mean)

    @property
    def variance(self):
        return self.mean**2


class _MeanSd(Distribution):
    @property
    def expectation(self):
        return float(self.mean)

    @property
    def variance(self):
        return float(self.sd) ** 2


class _Lognormal(_MeanSd):
    @model_validator(mode="after")
    def _finite_log_params(self):
        _spread(self.mean, self.sd, "lognormal", both_ways=False)
        return self

    def _log_params(self) -> tuple[float, float]:
        sigma2 = math.log1p((self.sd / self.mean) ** 2)
        return math.log(self.mean) - sigma2 / 2, math.sqrt(sigma2)

    def sample(self, rng, size):
        mu, sigma = self._log_params()
        return rng.lognormal(mu, sigma, size)

    def one(self, rng):
        mu, sigma = self._log_params()
        return float(rng.lognormal(mu, sigma))


class _Gamma(_MeanSd):
    @model_validator(mode="after")
    def _finite_shape_and_scale(self):
        _spread(self.mean, self.sd, "gamma", both_ways=True)
        return self

    def sample(self, rng, size):
        shape = (self.mean / self.sd) ** 2
        return rng.gamma(shape, self.sd**2 / self.mean, size)

    def one(self, rng):
        return float(rng.gamma((self.mean / self.sd) ** 2, self.sd**2 / self.mean))


class _Normal(Distribution):
    """Normal with the given mean and sd, clipped at 0: ``max(X, 0)``."""

    def sample(self, rng, size):
        return np.maximum(rng.normal(self.mean, self.sd, size), 0.0)

    def one(self, rng):
        return float(np.maximum(rng.normal(self.mean, self.sd), 0.0))

    # the moments of max(X, 0) for X ~ N(loc, sd²)
    def _z(self) -> tuple[float, float, float]:
        z = self.mean / self.sd
        cdf = 0.5 * (1 + math.erf(z / math.sqrt(2)))
        pdf = math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
        return z, cdf, pdf

    @property
    def expectation(self):
        _, cdf, pdf = self._z()
        return self.mean * cdf + self.sd * pdf

    @property
    def variance(self):
        _, cdf, pdf = self._z()
        second = (self.mean**2 + self.sd**2) * cdf + self.mean * self.sd * pdf
        return max(second - self.expectation**2, 0.0)


class _Uniform(Distribution):
    @model_validator(mode="after")
    def _ordered(self):
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) must not exceed high ({self.high})")
        return self

    def sample(self, rng, size):
        return rng.uniform(self.low, self.high, size)

    def one(self, rng):
        return float(rng.uniform(self.low, self.high))

    @property
    def minimum(self):
        return float(self.low)

    @property
    def expectation(self):
        return (self.low + self.high) / 2

    @property
    def variance(self):
        return (self.high - self.low) ** 2 / 12


class _Triangular(Distribution):
    @model_validator(mode="after")
    def _ordered(self):
        if not (self.low <= self.mode <= self.high) or self.low == self.high:
            raise ValueError(
                f"need low <= mode <= high and low < high, got {self.low}, {self.mode}, {self.high}"
            )
        return self

    def sample(self, rng, size):
        return rng.triangular(self.low, self.mode, self.high, size)

    def one(self, rng):
        return float(rng.triangular(self.low, self.mode, self.high))

    @property
    def minimum(self):
        return float(self.low)

    @property
    def expectation(self):
        return (self.low + self.mode + self.high) / 3

    @property
    def variance(self):
        a, c, b = self.low, self.mode, self.high
        return (a * a + b * b + c * c - a * b - a * c - b * c) / 18


class _Empirical(Distribution):
    @model_validator(mode="after")
    def _weights_match(self):
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError(
                    f"weights has {len(self.weights)} entries but values has {len(self.values)}"
                )
            if sum(self.weights) <= 0:
                raise ValueError("weights must not all be 0")
        return self

    def _p(self) -> np.ndarray:
        w = np.ones(len(self.values)) if self.weights is None else np.asarray(self.weights)
        return w / w.sum()

    def sample(self, rng, size):
        return rng.choice(np.asarray(self.values, dtype=float), size=size, p=self._p())

    @property
    def minimum(self):
        return float(min(v for v, p in zip(self.values, self._p()) if p > 0))

    @property
    def expectation(self):
        return float(np.dot(self._p(), self.values))

    @property
    def variance(self):
        v = np.asarray(self.values, dtype=float)
        return float(np.dot(self._p(), (v - self.expectation) ** 2))


class _Poisson(Distribution):
    def sample(self, rng, size):
        return rng.poisson(self.mean, size).astype(float)

    def one(self, rng):
        return float(rng.poisson(self.mean))

    @property
    def expectation(self):
        return float(self.mean)

    @property
    def variance(self):
        return float(self.mean)


#: Largest value of a distribution's parameter, and of every plain number of a
#: scenario (irritation, money, rates, multipliers).
MAX_PARAMETER = 1e12
#: Most that ``sd`` and ``mean`` of a lognormal or gamma may differ by, as a factor:
#: beyond, the parameters the sampler needs (``(sd/mean)²``, the gamma's shape
#: ``(mean/sd)²`` and scale ``sd²/mean``) overflow floating point.
MAX_SPREAD = 1e150


def _spread(mean: float, sd: float, family: str, both_ways: bool) -> None:
    """Refuse a mean and sd too far apart for the sampler's parameters to be finite."""
    if sd / mean > MAX_SPREAD:
        raise ValueError(
            f"sd {sd:g} is {sd / mean:.3g} times the mean {mean:g}; a {family}'s sd may be "
            f"at most {MAX_SPREAD:g} times its mean (its parameters overflow beyond)"
        )
    if both_ways and mean / sd > MAX_SPREAD:
        raise ValueError(
            f"mean {mean:g} is {mean / sd:.3g} times the sd {sd:g}; a {family}'s mean may be "
            f"at most {MAX_SPREAD:g} times its sd (its shape (mean/sd)² overflows beyond)"
        )


def _families(kind: str, q: Any, counts: bool) -> list[type[Distribution]]:
    """Concrete models of every family whose parameters are quantities ``q`` (a function
    of bounds: :func:`amount` or :func:`duration`)."""
    # at most 1e12 (minutes: ~2 million years; money, irritation, people): larger
    # values can only be typos, and their squares overflow floating point
    nonneg = q(ge=0, le=MAX_PARAMETER)
    positive = q(gt=0, le=MAX_PARAMETER)

    def make(name: str, base: type[Distribution], doc: str, **fields: Any):
        literal = Literal[name.lower()]  # type: ignore[valid-type]
        return create_model(
            f"{kind}{name}",
            __base__=base,
            __doc__=doc,
            dist=(literal, Field(description="Distribution family.")),
            **fields,
        )

    mean_doc = "Mean of the value (not of its log)."
    sd_doc = "Standard deviation of the value (must be > 0)."
    fams = [
        make("Fixed", _Fixed, "Always the same value.", value=(nonneg, ...)),
        make(
            "Exponential",
            _Exponential,
            "Exponential with this mean.",
            mean=(positive, Field(description=mean_doc)),
        ),
        make(
            "Lognormal",
            _Lognormal,
            "Lognormal with the mean and sd of the value itself.",
            mean=(positive, Field(description=mean_doc)),
            sd=(positive, Field(description=sd_doc)),
        ),
        make(
            "Gamma",
            _Gamma,
            "Gamma with this mean and sd.",
            mean=(positive, Field(description=mean_doc)),
            sd=(positive, Field(description=sd_doc)),
        ),
        make(
            "Normal",
            _Normal,
            "Normal with this mean and sd, clipped at 0.",
            mean=(positive, Field(description="Mean before clipping at 0.")),
            sd=(positive, Field(description=sd_doc)),
        ),
        make(
            "Uniform",
            _Uniform,
            "Uniform between low and high.",
            low=(nonneg, ...),
            high=(nonneg, ...),
        ),
        make(
            "Triangular",
            _Triangular,
            "Triangular with low <= mode <= high.",
            low=(nonneg, ...),
            mode=(nonneg, ...),
            high=(nonneg, ...),
        ),
        make(
            "Empirical",
            _Empirical,
            "One of the listed values, with optional weights.",
            values=(tuple[nonneg, ...], Field(min_length=1)),
            weights=(
                Union[tuple[amount(ge=0, le=MAX_PARAMETER), ...], None],
                None,
            ),
        ),
    ]
    if counts:
        fams.append(
            make(
                "Poisson",
                _Poisson,
                "Poisson count with this mean.",
                mean=(q(ge=0), ...),
            )
        )
    for fam in fams:  # module attributes, so scenarios pickle to worker processes
        fam.__module__ = __name__
        globals()[fam.__name__] = fam
    return fams


def _bare_to_fixed(value: object) -> object:
    """A bare number (or a duration string) is shorthand for ``{dist: fixed, value: ...}``."""
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        return {"dist": "fixed", "value": value}
    return value


def distribution_type(kind: str, quantity: Any, counts: bool = False) -> Any:
    """The annotated type of a field holding a distribution of ``quantity`` (a function
    of bounds: :func:`amount` or :func:`duration`)."""
    fams = _families(kind, quantity, counts)
    union = Annotated[Union[tuple(fams)], Field(discriminator="dist")]  # type: ignore[valid-type]
    fixed = quantity(ge=0, le=MAX_PARAMETER)  # a bare number is a fixed value
    return Annotated[
        union,
        BeforeValidator(_bare_to_fixed, json_schema_input_type=Union[fixed, union]),
    ]


#: Names of the families, for "did you mean" suggestions.
FAMILIES = (
    "fixed",
    "exponential",
    "lognormal",
    "gamma",
    "normal",
    "uniform",
    "triangular",
    "empirical",
    "poisson",
)

DurationDist = distribution_type("Duration", duration)
AmountDist = distribution_type("Amount", amount)
CountDist = distribution_type("Count", amount, counts=True)
