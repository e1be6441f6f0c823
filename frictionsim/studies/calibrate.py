"""Calibration: fit a scenario's free parameters to an observed funnel.

An analytics export tells how many visitors entered each checkout step and
how many completed it (:mod:`frictionsim.funnel_data`). Calibration picks
values for chosen parameters of a scenario so that the simulated pass rate of
every observed step (completed / entered) matches the observed one:

* ``exit`` of a step (non-friction leaving), a probability;
* ``irritation`` of a step (felt on entering it), points ≥ 0;
* ``errors`` of a step: its ``errors.p``, the chance an attempt fails, a probability
  (the step must have ``errors``);
* ``duration`` of a step: the mean of its duration, in minutes (the distribution
  is scaled to it, keeping its shape), fitted to the funnel's mean times to
  convert (``mean_minutes``, or an export's time to convert);
* ``tolerance``: one factor multiplying every segment's tolerance (every
  parameter of its distribution that is a level or a spread, so a lognormal
  keeps its shape and every customer's tolerance is scaled by the factor).

**Objective.** The binomial log-likelihood of the observed completions given
the entries, ``Σ c log p + (n − c) log(1 − p)``, where ``p`` is the pass rate
of the step in the simulation, ``(completed + ½) / (entered + 1)`` so that a
step nobody leaves in the simulation never gives ``log 0``. When durations are
fitted, the observed mean time to convert ``m`` of each such step (from its ``c``
completions) adds a
Gaussian term ``(m − m̂)² / (2 s² / c)``: ``m̂`` is the simulated mean minutes from
entering the step to going on from it, ``s²`` the simulated variance of those
minutes (the sampling variance of an observed mean of ``c`` of them).

**Simulated sample.** Each evaluation simulates at least ``sample`` (default
5) times as many visitors as the data has: replications of the scenario's own
horizon and arrivals, so queues and the time-of-day profile stay as written.
The simulated pass rates then carry about 1/``sample`` of the observed
sampling variance.

**Common random numbers.** Every evaluation uses the same seed. The engine keys
its random streams by purpose and step name, so the same customer gets the
same tolerance and the same draws whatever the parameters: the objective moves
only because the parameters do, in steps of one simulated customer, which the
Nelder–Mead simplex (in logit / log coordinates, so bounds hold) steps over.

**Uncertainty.** At the optimum, a central finite-difference Jacobian of the
pass rates gives the Fisher information of the binomial counts,
``Jᵀ diag(n / (p(1 − p))) J``, whose inverse gives standard errors (delta
method back to natural units). When it is (near-)singular the parameters that
move the funnel the same way are named: the data cannot tell them apart.
Two of ``exit``, ``irritation`` and ``errors`` at the same step are refused
outright, since each only lowers that step's pass rate.

The simulation is one function, :func:`_simulate_funnel`; every evaluation runs in
one :class:`~frictionsim.execution.Execution` (one pool of workers, started once).
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CalibrationError, FrictionsimError, ResultsError, did_you_mean, visible
from ..execution import Execution, Progress, open_execution, replication_seeds
from ..funnel_data import HourlyEntries, ObservedFunnel
from ..scenario import Scenario, Uncertainty, fitted_target
from ..sim.codes import ORDER
from ..sim.simpy_engine import simulate
from ..stats import chi2_sf

#: Kinds of free parameters, in the order they are listed.
KINDS = ("exit", "irritation", "errors", "duration", "tolerance", "rate")
#: Kinds that are probabilities (fitted in logit coordinates).
PROBABILITIES = ("exit", "errors")
#: Simulated visitors per observed visitor, by default.
DEFAULT_SAMPLE = 5.0
#: Optimiser evaluations at most, by default.
DEFAULT_MAX_EVALUATIONS = 400
#: The shortest observed mean time a duration is fitted to (minutes): at 0 the time term
#: has no direction (every scale of the duration misses it alike).
MIN_MINUTES = 0.001
#: The least simulated variance of a step's minutes (square minutes) a time term uses: a
#: step whose every visit takes the same time would otherwise weigh without bound.
MIN_VARIANCE = 1e-6
#: A time term where the simulation has nobody going on from the step.
NO_TIME_PENALTY = 1e12
#: Finite-difference step in the optimiser's (logit / log) coordinates.
FD_STEP = 0.1
#: Smallest eigenvalue of the Fisher information's correlation form below which it is
#: called near-singular: standard errors are inflated at least 10-fold by the confusion.
SINGULAR_BELOW = 0.01


@dataclass(frozen=True)
class Parameter:
    """One free parameter: a step's ``exit``, ``irritation`` or ``errors.p``, or the
    tolerance scale."""

    kind: str
    step: str | None
    start: float

    @property
    def name(self) -> str:
        if self.kind == "rate":
            return "arrivals.rate"
        if not self.step:
            return "tolerance scale"
        return f"steps.{self.step}.{'errors.p' if self.kind == 'errors' else self.kind}"

    @property
    def pass_rate(self) -> bool:
        """Whether the parameter only lowers its step's pass rate (one such a step)."""
        return self.kind in ("exit", "irritation", "errors")

    def to_free(self, value: float) -> float:
        """The optimiser's unbounded coordinate of ``value``."""
        if self.kind in PROBABILITIES:
            v = min(max(value, 1e-4), 1 - 1e-4)
            return math.log(v / (1 - v))
        return math.log(max(value, 1e-4))

    def from_free(self, u: float) -> float:
        u = min(max(u, -30.0), 30.0)
        if self.kind in PROBABILITIES:
            return 1.0 / (1.0 + math.exp(-u))
        return math.exp(u)

    def slope(self, value: float) -> float:
        """d value / d free coordinate, for the delta method."""
        return value * (1 - value) if self.kind in PROBABILITIES else value


@dataclass
class SimulatedFunnel:
    """Visitors who entered and completed each step, pooled over replications.

    Arrays are ``(groups, steps)``: one group for all visitors, or one per
    segment (scenario order) when asked ``by_segment``.
    """

    entered: np.ndarray
    completed: np.ndarray
    visitors: int
    #: Per step (all visitors; none per segment): the sums of the minutes there of the
    #: visits that went on, and of their squares.
    minutes: np.ndarray | None = None
    minutes_sq: np.ndarray | None = None

    def mean_minutes(self, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The mean minutes to go on from ``steps`` and their variance (nan: nobody)."""
        assert self.minutes is not None
        assert self.minutes_sq is not None
        n = self.completed[0, steps].astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = self.minutes[steps] / n
            var = np.maximum(self.minutes_sq[steps] / n - mean * mean, 0.0) * n / (n - 1)
        return np.where(n > 0, mean, np.nan), np.where(n > 1, var, np.nan)


@dataclass
class Calibration:
    """A completed fit: the calibrated scenario, the estimates and the goodness of fit."""

    kind = "calibrate"

    scenario: Scenario
    parameters: list[Parameter]
    values: list[float]
    standard_errors: list[float]
    fit_rows: list[dict[str, Any]]
    log_likelihood: float
    deviance: float
    degrees_of_freedom: int
    p_value: float | None
    seed: int
    replications: int
    simulated_visitors: int
    evaluations: int
    converged: bool
    funnel_file: str
    funnel_sha256: str
    warnings: list[str] = field(default_factory=list)
    #: With hourly entries: the fitted arrival profile (24 multipliers, mean 1), their
    #: standard errors, and the file they came from.
    profile: list[float] | None = None
    profile_se: list[float] | None = None
    hourly_file: str | None = None


# ----------------------------------------------------------------------- parameters


def _step_list(text: str, scenario: Scenario, option: str) -> list[str]:
    names = [s.name for s in scenario.steps]
    chosen = []
    for name in (n.strip() for n in text.replace("+", ",").split(",")):
        if not name:
            continue
        if name not in names:
            raise CalibrationError(
                f"{option}: no step named '{name}'{did_you_mean(name, names)}; "
                f"steps: {', '.join(names)}"
            )
        chosen.append(name)
    return chosen


def free_parameters(
    scenario: Scenario, funnel: ObservedFunnel, fit: str = "exit", steps: str | None = None
) -> list[Parameter]:
    """The parameters ``--fit`` and ``--steps`` name, started at the scenario's values.

    ``fit`` lists kinds (``exit,irritation,tolerance``); a kind may name its own
    steps, ``exit:cart+review``. Otherwise per-step kinds apply to ``steps``
    (comma-separated), by default every step with observed counts.
    """
    observed = funnel.steps
    default_steps = _step_list(steps, scenario, "--steps") if steps else observed
    for name in default_steps:
        if name not in observed:
            raise CalibrationError(
                f"--steps: step '{name}' has no observed counts in {funnel.file}; "
                "its parameters cannot be fitted"
            )
    params: list[Parameter] = []
    seen_kinds: set[str] = set()
    for item in (x.strip() for x in fit.split(",")):
        if not item:
            continue
        kind, _, own = item.partition(":")
        kind = kind.strip()
        if kind not in KINDS:
            raise CalibrationError(
                f"--fit: unknown parameter kind '{kind}'{did_you_mean(kind, KINDS)}; "
                f"choose from {', '.join(KINDS)}"
            )
        if kind in seen_kinds:
            raise CalibrationError(f"--fit: '{kind}' is listed twice")
        seen_kinds.add(kind)
        if kind == "tolerance":
            if own:
                raise CalibrationError(
                    "--fit: 'tolerance' is one scale factor for every segment; it takes no steps"
                )
            params.append(Parameter("tolerance", None, 1.0))
            continue
        if kind == "rate":
            if own:
                raise CalibrationError("--fit: 'rate' is the arrival rate; it takes no steps")
            params.append(Parameter("rate", None, scenario.arrivals.rate))
            continue
        names = _step_list(own, scenario, f"--fit {kind}") if own else default_steps
        if kind == "errors" and not own and not steps:  # by default: the steps that fail
            names = [n for n in names if scenario.steps[scenario.step_index(n)].errors]
            if not names:
                raise CalibrationError("--fit errors: no observed step has `errors` to fit")
        timed = {r.step for r in funnel.rows if r.minutes is not None}
        if kind == "duration" and not own and not steps:  # by default: the timed steps
            names = [n for n in names if n in timed]
            if not names:
                raise CalibrationError(
                    f"--fit duration: {funnel.file} gives no times: add a mean_minutes "
                    "column (mean minutes to go on from the step), or export the funnel "
                    "with its time to convert"
                )
        for name in names:
            if name not in observed:
                raise CalibrationError(
                    f"--fit {kind}: step '{name}' has no observed counts in {funnel.file}"
                )
            step = scenario.steps[scenario.step_index(name)]
            if kind == "errors":
                if step.errors is None:
                    raise CalibrationError(
                        f"--fit errors: step '{name}' has no `errors` to fit; give it "
                        "`errors: {p: ...}` first, or leave it out (errors:STEPS)"
                    )
                start = step.errors.p
            elif kind == "duration":
                if name not in timed:
                    raise CalibrationError(
                        f"--fit duration: step '{name}' has no observed time in {funnel.file} "
                        "(mean_minutes, or the export's time to convert to the next step)"
                    )
                start = float(step.duration.expectation)
                if not start > 0:
                    raise CalibrationError(
                        f"--fit duration: step '{name}' takes no time (its duration is 0), so "
                        "there is no duration to scale; give it one first"
                    )
                if not step.duration.variance > 0:
                    raise CalibrationError(
                        f"--fit duration: step '{name}' has a fixed duration (every attempt "
                        "takes the same time), which says nothing about the spread a mean "
                        "time's error comes from; give it a distribution with a spread "
                        "(e.g. lognormal with mean and sd) to fit"
                    )
                if funnel.by_segment:
                    how = (
                        "drop the segment column"
                        if funnel.format == "frictionsim"
                        else "export the funnel without a breakdown"
                    )
                    raise CalibrationError(
                        f"--fit duration: {funnel.file} has per-segment rows; times are "
                        f"fitted to the totals ({how})"
                    )
                short = [r for r in funnel.rows if r.step == name and r.minutes is not None
                         and r.minutes < MIN_MINUTES]  # fmt: skip
                if short:
                    raise CalibrationError(
                        f"--fit duration: {funnel.file}:{short[0].line}: step '{name}': a mean "
                        f"time to go on of {short[0].minutes:g} minutes is too short to fit a "
                        f"duration to (at least {MIN_MINUTES:g} minutes, 0.06 s)"
                    )
                params.append(Parameter(kind, name, start))
                continue
            else:
                start = getattr(step, kind)
            start = min(max(start, 0.01), 0.9) if kind in PROBABILITIES else max(start, 0.1)
            params.append(Parameter(kind, name, start))
    if not params:
        raise CalibrationError("--fit: nothing to fit")
    kinds_at: dict[str, list[str]] = {}
    for p in params:
        if p.step and p.pass_rate:
            kinds_at.setdefault(p.step, []).append(p.kind)
    clash = {step: kinds for step, kinds in kinds_at.items() if len(kinds) > 1}
    if clash:
        step, kinds = next(iter(clash.items()))
        raise CalibrationError(
            f"cannot fit both {' and '.join(kinds)} at step(s) {', '.join(clash)}: counts of "
            "entries and completions cannot tell them apart (each only lowers the step's "
            "pass rate). Fix one of them: e.g. --fit exit:STEPS,irritation:OTHER_STEPS, or "
            "--fit exit with --steps"
        )
    return params


def _scale_distribution(dist: dict[str, Any], factor: float) -> dict[str, Any]:
    scaled = dict(dist)
    for key in ("value", "mean", "sd", "low", "mode", "high"):
        if key in scaled:
            scaled[key] = scaled[key] * factor
    if "values" in scaled:
        scaled["values"] = [v * factor for v in scaled["values"]]
    return scaled


def with_parameters(
    scenario: Scenario, parameters: Sequence[Parameter], values: Sequence[float]
) -> Scenario:
    """A copy of ``scenario`` with the parameters set (tolerance: scaled by its factor)."""
    data = scenario.model_dump(mode="json", exclude_none=True)  # fresh containers
    steps = {s["name"]: s for s in data["steps"]}
    for p, v in zip(parameters, values):
        if p.kind == "tolerance":
            for seg in data["segments"]:
                seg["tolerance"] = _scale_distribution(seg["tolerance"], float(v))
        elif p.kind == "rate":
            data["arrivals"]["rate"] = float(v)
        elif p.kind == "errors":
            steps[p.step]["errors"]["p"] = float(v)
        elif p.kind == "duration":  # the step takes time: free_parameters, validation
            mean = float(scenario.steps[scenario.step_index(p.step)].duration.expectation)
            dur = steps[p.step]["duration"]
            factor = float(v) / mean
            steps[p.step]["duration"] = (
                _scale_distribution(dur, factor) if isinstance(dur, dict) else dur * factor
            )
        else:
            steps[p.step][p.kind] = float(v)
    return Scenario.model_validate(data)


# ----------------------------------------------------------------------- simulation


def linear_path(scenario: Scenario) -> list[int] | None:
    """Step indices in the one order every customer meets them, or None (branches, loops)."""
    path = scenario.flow.linear_path
    return None if path is None else list(path)


def _simulate_funnel(
    scenario: Scenario,
    seed: int,
    replications: int,
    execution: Execution,
    by_segment: bool = False,
    path: list[int] | None = None,
) -> SimulatedFunnel:
    """Entries and completions per step, pooled over ``replications`` runs of ``seed``.

    The one place calibration simulates: swap in a faster engine here. ``path``
    (per segment) is :func:`linear_path` of the scenario, which calibrated
    parameters never change; given, it is not worked out again.
    """
    n_steps = len(scenario.steps)
    if not by_segment:
        tasks = execution.tasks(scenario, replication_seeds(seed, replications))
        results = execution.map(tasks, counted=False)  # progress counts evaluations
        visitors = sum(r.visitors for r in results)
        return SimulatedFunnel(
            np.asarray([sum(r.step_entered for r in results)]),
            # a customer who fell back to another step did not pass this one
            np.asarray([sum(r.step_passed for r in results)]),
            int(visitors),
            sum(r.step_pass_minutes for r in results),
            sum(r.step_pass_minutes_sq for r in results),
        )
    # per segment: from the per-customer table, on a flow every customer walks in order
    path = linear_path(scenario) if path is None else path
    if path is None:
        raise CalibrationError("per-segment rows need a checkout without branches or loops")
    position = np.empty(n_steps, dtype=np.int64)
    position[path] = np.arange(n_steps)
    n_segs = len(scenario.segments)
    entered = np.zeros((n_segs, n_steps), dtype=np.int64)
    completed = np.zeros((n_segs, n_steps), dtype=np.int64)
    visitors = 0
    for seq in replication_seeds(seed, replications):
        table = simulate(scenario, seq, record_customers=True).customers or {}
        seg = table["segment"].astype(np.int64)
        ended = np.where(table["outcome"] == ORDER, n_steps, position[np.maximum(table["step"], 0)])
        visitors += seg.size
        for k in range(n_segs):
            reached = np.bincount(ended[seg == k], minlength=n_steps + 1)
            at_least = np.cumsum(reached[::-1])[::-1]  # customers ending at or after position
            entered[k, path] += at_least[:n_steps]
            completed[k, path] += at_least[1:]
    return SimulatedFunnel(entered, completed, visitors)


# ----------------------------------------------------------------------- statistics


def wilson(successes: float, n: float, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score 95 % interval of a binomial proportion (nan for n = 0)."""
    if n <= 0:
        return (math.nan, math.nan)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    # it always holds p; at 0 and 1 rounding could leave it out by a last bit
    return (min(p, max(0.0, centre - half)), max(p, min(1.0, centre + half)))


def _pass_rates(sim: SimulatedFunnel, index: np.ndarray) -> np.ndarray:
    return (sim.completed[index[:, 0], index[:, 1]] + 0.5) / (
        sim.entered[index[:, 0], index[:, 1]] + 1.0
    )


def _log_likelihood(n: np.ndarray, c: np.ndarray, p: np.ndarray) -> float:
    return float(np.sum(c * np.log(p) + (n - c) * np.log1p(-p)))


def _near_singular(
    info: np.ndarray, parameters: Sequence[Parameter]
) -> tuple[np.ndarray, list[str]]:
    """Covariance (free coordinates) and warnings about what the data cannot separate."""
    warnings = []
    diag = np.diag(info)
    dead = [p.name for p, d in zip(parameters, diag) if not d > 0]
    if dead:
        warnings.append(
            f"{', '.join(dead)}: changing it moves no observed pass rate; the data says "
            "nothing about it (standard error unknown)"
        )
    live = np.flatnonzero(diag > 0)
    cov = np.full(info.shape, np.nan)
    if live.size:
        sub = info[np.ix_(live, live)]
        scale = 1 / np.sqrt(np.diag(sub))
        corr = sub * np.outer(scale, scale)
        eigval, eigvec = np.linalg.eigh(corr)
        if eigval[0] < SINGULAR_BELOW:
            # the directions the data barely sees, and who takes part in them
            weak = np.abs(eigvec[:, eigval < SINGULAR_BELOW]).max(axis=1)
            names = [parameters[live[k]].name for k in np.flatnonzero(weak > 0.1)]
            warnings.append(
                "the Fisher information is near-singular (smallest eigenvalue "
                f"{max(eigval[0], 0):.2g} of its correlation form): {', '.join(names)} "
                "move the funnel the same way, so the data can barely tell them apart; "
                "their standard errors are large or unknown. Fix some of them (--fit, --steps)"
            )
        if eigval[0] > 1e-12:
            cov[np.ix_(live, live)] = np.linalg.inv(corr) * np.outer(scale, scale)
    return cov, warnings


# ----------------------------------------------------------------------- the fit


def evaluation_replications(scenario: Scenario, visitors: float, sample: float) -> int:
    """Replications per evaluation: enough that the simulated visitors, a Poisson count,
    reach ``sample`` times the observed ``visitors`` but for a 3-sd shortfall."""
    needed = sample * visitors
    needed += 3 * math.sqrt(needed)
    return max(1, math.ceil(needed / max(scenario.expected_visitors, 1e-9)))


def _fit_profile(hourly: HourlyEntries) -> tuple[list[float], list[float]]:
    """The arrival profile of the hourly entries: each hour's share of the visitors times
    24 (so the profile's mean is 1 and ``rate`` stays the daily mean), the multinomial
    maximum-likelihood estimate, and its standard errors ``24 √(share (1 − share) / N)``."""
    n = np.asarray(hourly.entered, dtype=float)
    share = n / n.sum()
    return (24 * share).tolist(), (24 * np.sqrt(share * (1 - share) / n.sum())).tolist()


def _with_profile(scenario: Scenario, profile: Sequence[float]) -> Scenario:
    data = scenario.model_dump(mode="json", exclude_none=True)
    data["arrivals"]["profile"] = [float(x) for x in profile]
    return Scenario.model_validate(data)


def _fit_rate(scenario: Scenario, funnel: ObservedFunnel) -> tuple[float, float]:
    """The arrival rate that makes the expected entries at the first step the observed
    ones (the Poisson maximum-likelihood estimate, the profile and day-of-week shape kept),
    and the variance of its log, ``1 / entries``."""
    first = scenario.steps[0].name
    entered = sum(r.entered for r in funnel.rows if r.step == first)
    if first not in funnel.steps or entered <= 0:
        raise CalibrationError(
            f"--fit rate: {funnel.file} has no entries at the first step '{first}', which "
            "every arrival enters; the rate is fitted from them"
        )
    expected = scenario.expected_visitors
    if expected <= 0:
        raise CalibrationError(f"--fit rate: '{scenario.name}' expects no arrivals to scale")
    return scenario.arrivals.rate * entered / expected, 1.0 / entered


def _uncertainty(
    parameters: Sequence[Parameter], values: Sequence[float], cov: np.ndarray
) -> Uncertainty | None:
    """The calibrated scenario's ``uncertainty``: each estimate and the covariance of the
    estimates in the optimiser's coordinates (logit for an exit, log otherwise), or
    ``None`` where that covariance is not finite."""
    c = np.asarray(cov, dtype=float)
    if not np.isfinite(c).all():
        return None
    c = (c + c.T) / 2
    items = [
        {
            "path": "tolerance" if p.kind == "tolerance" else p.name,  # rate: arrivals.rate
            "value": 1.0 if p.kind == "tolerance" else float(v),  # the scale is applied
            "scale": "logit" if p.kind in PROBABILITIES else "log",
        }
        for p, v in zip(parameters, values)
    ]
    try:
        return Uncertainty.model_validate({"parameters": items, "covariance": c.tolist()})
    except ValueError:  # not positive semi-definite after all
        return None


def uncertain_values(scenario: Scenario) -> list[tuple[str, float, float]]:
    """Each ``uncertainty`` parameter: its path, the scenario's own value (a tolerance
    factor is 1) and the section's estimate."""
    out = []
    for item in scenario.uncertainty.parameters if scenario.uncertainty else ():
        kind, name = fitted_target(item.path)  # type: ignore[misc]  # checked on loading
        if kind == "tolerance":
            own = 1.0
        elif kind == "rate":
            own = scenario.arrivals.rate
        else:
            step = scenario.steps[scenario.step_index(name)]
            if kind == "duration":
                own = step.duration.expectation
            else:
                own = step.errors.p if kind == "errors" else getattr(step, kind)
        out.append((item.path, float(own), float(item.value)))
    return out


def uncertain_scenario(
    scenario: Scenario, rng: np.random.Generator
) -> tuple[Scenario, list[float]]:
    """``scenario`` with its ``uncertainty`` parameters drawn once: normal around the
    estimates with their covariance, on their scales (logit, log), and mapped back.
    Returns the variant and the values drawn (a tolerance factor for ``tolerance``)."""
    unc = scenario.uncertainty
    if unc is None:
        raise CalibrationError(f"'{scenario.name}' has no `uncertainty` section")
    params = [Parameter(*fitted_target(item.path), item.value) for item in unc.parameters]  # type: ignore[misc]
    centre = np.asarray([p.to_free(p.start) for p in params])
    cov = np.asarray(unc.covariance, dtype=float)
    z = rng.multivariate_normal(np.zeros(len(params)), cov, method="eigh")
    values = [p.from_free(u) for p, u in zip(params, centre + z)]
    try:
        return with_parameters(scenario, params, values), values
    except ValueError as exc:  # a draw beyond what a scenario may hold
        drawn = ", ".join(f"{p.name} = {v:.4g}" for p, v in zip(params, values))
        del exc  # pydantic's text names the field in its own words; ours names the draw
        raise CalibrationError(
            f"--uncertainty: a replication drew {drawn}, beyond what a scenario may hold; "
            "the uncertainty section's covariance is too wide"
        ) from None


def calibrate(
    scenario: Scenario,
    funnel: ObservedFunnel,
    fit: str = "exit",
    steps: str | None = None,
    seed: int | None = None,
    sample: float = DEFAULT_SAMPLE,
    max_evaluations: int = DEFAULT_MAX_EVALUATIONS,
    jobs: int | None = 1,
    progress: Progress | None = None,
    force: bool = False,
    execution: Execution | None = None,
    hourly: HourlyEntries | None = None,
) -> Calibration:
    """Fit the parameters ``fit`` names to ``funnel``; see the module docstring.
    ``hourly``: entries per hour of the day, from which the arrival profile is fitted
    first (in closed form). Every
    evaluation runs on one pool of ``jobs`` workers, started once (or in the open
    ``execution``). Progress counts evaluations; ``force=False`` refuses a calibration
    whose most evaluations (each
    ``evaluation_replications`` runs, and ``2k + 1`` more for the standard errors) are
    beyond the size limits."""
    with open_execution(execution, jobs, "auto", None, progress, force) as ex:
        profile = None
        if hourly is not None:
            profile = _fit_profile(hourly)
            scenario = _with_profile(scenario, profile[0])
        result = _calibrate(scenario, funnel, fit, steps, seed, sample, max_evaluations, ex)
        if profile is not None:
            result.profile, result.profile_se = profile
            result.hourly_file = hourly.file
        return result


def _calibrate(
    scenario: Scenario,
    funnel: ObservedFunnel,
    fit: str,
    steps: str | None,
    seed: int | None,
    sample: float,
    max_evaluations: int,
    ex: Execution,
) -> Calibration:
    parameters = free_parameters(scenario, funnel, fit, steps)
    rate_param = next((p for p in parameters if p.kind == "rate"), None)
    if rate_param is not None:  # in closed form, first: the other fits simulate with it
        rate_value, rate_var = _fit_rate(scenario, funnel)
        scenario = with_parameters(scenario, [rate_param], [rate_value])
        parameters = [p for p in parameters if p.kind != "rate"]
        if not parameters:
            raise CalibrationError(
                "--fit rate: the rate alone needs no simulation; fit it with at least one "
                f"other kind, or set arrivals.rate to {rate_value:.6g} per minute "
                f"(± {rate_value * math.sqrt(rate_var):.3g}, from the entries at "
                f"'{scenario.steps[0].name}')"
            )
    observed = sum(1 for r in funnel.rows if r.entered > 0)
    if observed == 0:
        raise CalibrationError(f"{funnel.file}: every step has 0 entries; nothing to fit")
    seed = scenario.seed if seed is None else seed
    by_segment = funnel.by_segment
    path = linear_path(scenario) if by_segment else None
    if by_segment and path is None:
        raise CalibrationError(
            f"{funnel.file}: per-segment rows need a checkout every customer walks in one "
            f"order (no branches or loops); '{scenario.name}' has branches. Drop the segment "
            "column to fit the totals"
        )
    replications = evaluation_replications(scenario, funnel.visitors, sample)
    seg_index = {s.name: k for k, s in enumerate(scenario.segments)}
    rows = funnel.rows
    index = np.asarray(
        [(seg_index[r.segment] if r.segment else 0, scenario.step_index(r.step)) for r in rows],
        dtype=np.int64,
    )
    n = np.asarray([r.entered for r in rows], dtype=float)
    c = np.asarray([r.completed for r in rows], dtype=float)
    # the observed mean times to convert of the steps whose durations are fitted
    fits_time = {p.step for p in parameters if p.kind == "duration"}
    timed = [j for j, r in enumerate(rows) if r.step in fits_time and r.minutes is not None]
    t_steps = index[timed, 1]
    t_obs = np.asarray([rows[j].minutes for j in timed], dtype=float)
    t_n = c[timed]

    def time_misfit(sim: SimulatedFunnel) -> tuple[float, np.ndarray, np.ndarray]:
        """Σ (m − m̂)² / (s² / c) over the timed rows, the simulated means and variances."""
        if not timed:
            return 0.0, np.empty(0), np.empty(0)
        mean, var = sim.mean_minutes(t_steps)
        var = np.where(np.isfinite(var), np.maximum(var, MIN_VARIANCE), MIN_VARIANCE)
        z2 = (t_obs - mean) ** 2 / (var / t_n)
        return float(np.where(np.isfinite(z2), z2, NO_TIME_PENALTY).sum()), mean, var

    k = len(parameters)
    total = max_evaluations + 2 * k + 1
    ex.plan(
        [(scenario, total * replications)],
        study="calibration",
        what="runs at most",
        advice="use a smaller --sample or --max-evaluations",
        total=total,
    )
    first = ex.done
    cache: dict[tuple[float, ...], tuple[float, SimulatedFunnel]] = {}
    count = [0]
    outside: list[str] = []  # trial points beyond a scenario's limits

    def evaluate(u: np.ndarray) -> tuple[float, SimulatedFunnel]:
        key = tuple(float(x) for x in u)
        if key not in cache:
            values = [p.from_free(x) for p, x in zip(parameters, key)]
            try:
                candidate = with_parameters(scenario, parameters, values)
            except ValueError:  # beyond what a scenario may hold: not a point to go to
                tried = ", ".join(f"{p.name} = {v:.4g}" for p, v in zip(parameters, values))
                if len(cache) == 0:
                    raise CalibrationError(
                        f"--fit: the start ({tried}) is beyond what a scenario may hold"
                    ) from None
                outside.append(tried)
                return math.inf, None  # type: ignore[return-value]
            sim = _simulate_funnel(candidate, seed, replications, ex, by_segment, path)
            neg = -_log_likelihood(n, c, _pass_rates(sim, index)) + time_misfit(sim)[0] / 2
            cache[key] = (neg, sim)
            count[0] += 1
            ex.report(first + min(count[0], total))
        return cache[key]

    from scipy import optimize  # loaded by the command that fits, not by every command

    x0 = np.asarray([p.to_free(p.start) for p in parameters])
    simplex = np.vstack([x0, x0 + 0.5 * np.eye(k)])
    result = optimize.minimize(
        lambda u: evaluate(u)[0],
        x0,
        method="Nelder-Mead",
        options={
            "initial_simplex": simplex,
            "xatol": 0.01,
            "fatol": 0.05,
            "maxfev": max_evaluations,
        },
    )
    best = min(cache, key=lambda key: cache[key][0])
    u_hat = np.asarray(best)
    values = [p.from_free(x) for p, x in zip(parameters, u_hat)]
    neg_ll, sim = evaluate(u_hat)
    p_hat = _pass_rates(sim, index)

    # Fisher information from a central-difference Jacobian of the pass rates
    # (and of the mean times, where durations are fitted)
    misfit, t_hat, t_var = time_misfit(sim)
    nobody = [rows[j].step for j, m in zip(timed, t_hat) if not np.isfinite(m)]
    if nobody:
        raise CalibrationError(
            f"--fit duration: in the simulation nobody goes on from step "
            f"'{nobody[0]}', so it has no time to compare with the observed one; fit what "
            "keeps them there first (exit, irritation), or leave its duration out"
        )

    def observed(s: SimulatedFunnel) -> np.ndarray:
        return np.concatenate((_pass_rates(s, index), time_misfit(s)[1]))

    jac = np.zeros((len(rows) + len(timed), k))
    for j in range(k):
        step = np.zeros(k)
        step[j] = FD_STEP
        up_sim, down_sim = evaluate(u_hat + step)[1], evaluate(u_hat - step)[1]
        if up_sim is None or down_sim is None:
            raise CalibrationError(
                f"{parameters[j].name}: the fit ends next to what a scenario may hold "
                f"({outside[-1]} is beyond it), so its standard error cannot be had; "
                "check the data's units, or fix the parameter"
            )
        up, down = observed(up_sim), observed(down_sim)
        jac[:, j] = (up - down) / (2 * FD_STEP)
    jac = np.nan_to_num(jac)
    weight = np.concatenate((n / (p_hat * (1 - p_hat)), t_n / t_var))
    info = jac.T @ (weight[:, None] * jac)
    cov, warnings = _near_singular(info, parameters)
    slopes = np.asarray([p.slope(v) for p, v in zip(parameters, values)])
    ses = [float(s) for s in np.sqrt(np.diag(cov)) * slopes]

    if not result.success:
        warnings.append(
            f"the optimiser stopped after {count[0]} evaluations without converging "
            f"({result.message}); raise --max-evaluations"
        )
    for p, v in zip(parameters, values):
        probability = p.kind in PROBABILITIES
        if (probability and (v < 1e-3 or v > 1 - 1e-3)) or (not probability and v < 1e-3):
            warnings.append(f"{p.name} ended at the edge of its range ({v:.3g})")

    fitted_at: dict[str, list[str]] = {}
    for p in parameters:
        if p.step:
            fitted_at.setdefault(p.step, []).append(p.kind)
    fit_rows = []
    sim_minutes = (
        sim.mean_minutes(index[:, 1])[0] if sim.minutes is not None else np.full(len(rows), np.nan)
    )
    for r, (g, s), sim_t in zip(rows, index, sim_minutes):
        sim_n, sim_c = int(sim.entered[g, s]), int(sim.completed[g, s])
        obs_lo, obs_hi = wilson(r.completed, r.entered)
        sim_lo, sim_hi = wilson(sim_c, sim_n)
        fit_rows.append(
            {
                "segment": r.segment or "",
                "step": r.step,
                "observed_entered": r.entered,
                "observed_completed": r.completed,
                "observed_rate": r.completed / r.entered if r.entered else math.nan,
                "observed_ci_low": obs_lo,
                "observed_ci_high": obs_hi,
                "simulated_entered": sim_n,
                "simulated_completed": sim_c,
                "simulated_rate": sim_c / sim_n if sim_n else math.nan,
                "simulated_ci_low": sim_lo,
                "simulated_ci_high": sim_hi,
                "fitted": "+".join(fitted_at.get(r.step, [])),
                # '' where the funnel gives no time, or nobody went on in the simulation
                "observed_minutes": "" if r.minutes is None else r.minutes,
                "simulated_minutes": float(sim_t) if math.isfinite(sim_t) else "",
            }
        )
    # goodness of fit: deviance against the saturated model (each step its own rate)
    keep = n > 0
    rate = np.where(keep, c / np.where(keep, n, 1), 0.5)
    with np.errstate(divide="ignore", invalid="ignore"):
        sat = np.nansum(
            np.where(c > 0, c * np.log(rate), 0) + np.where(n > c, (n - c) * np.log1p(-rate), 0)
        )
    deviance = max(0.0, 2 * (float(sat) + neg_ll - misfit / 2)) + misfit
    dof = int(keep.sum()) + len(timed) - k
    p_value = chi2_sf(deviance, dof) if dof > 0 else None

    calibrated = with_parameters(scenario, parameters, values)
    if rate_param is not None:  # first among the fitted, independent of the pass rates
        parameters = [rate_param, *parameters]
        values = [rate_value, *values]
        ses = [rate_value * math.sqrt(rate_var), *ses]
        cov = np.block([[np.asarray([[rate_var]]), np.zeros((1, k))],
                        [np.zeros((k, 1)), np.asarray(cov, dtype=float)]])  # fmt: skip
    update: dict[str, Any] = {"name": calibrated_name(scenario.name)}
    uncertainty = _uncertainty(parameters, values, cov)
    if uncertainty is None:
        warnings.append(
            "the estimates' covariance is not finite (the data cannot tell the parameters "
            "apart): no `uncertainty` section for run --uncertainty"
        )
    update["uncertainty"] = uncertainty
    calibrated = calibrated.model_copy(update=update)
    return Calibration(
        scenario=calibrated,
        parameters=parameters,
        values=values,
        standard_errors=ses,
        fit_rows=fit_rows,
        log_likelihood=-neg_ll,
        deviance=deviance,
        degrees_of_freedom=dof,
        p_value=p_value,
        seed=seed,
        replications=replications,
        simulated_visitors=sim.visitors,
        evaluations=count[0],
        converged=bool(result.success),
        funnel_file=funnel.file,
        funnel_sha256=funnel.sha256,
        warnings=warnings,
    )


# ----------------------------------------------------------------------- output

#: Columns of ``*.fit.csv``.
FIT_COLUMNS = (
    "segment",
    "step",
    "observed_entered",
    "observed_completed",
    "observed_rate",
    "observed_ci_low",
    "observed_ci_high",
    "simulated_entered",
    "simulated_completed",
    "simulated_rate",
    "simulated_ci_low",
    "simulated_ci_high",
    "fitted",
    "observed_minutes",
    "simulated_minutes",
)


#: Appended to a scenario's name for its calibrated version (never the input's name, so
#: the two never share a default results folder or a chart title).
CALIBRATED_SUFFIX = "-calibrated"
#: The first line of every calibrated scenario frictionsim writes starts so.
HEADER = "# calibrated scenario '"
_HEADER_MARK = "written by frictionsim calibrate"
#: PNG text of the fit chart, and ``<meta name="generator">`` of the report, by which a
#: later calibration knows the file is its own.
PNG_SOFTWARE = "frictionsim calibrate"
_REPORT_MARK = f'<meta name="generator" content="{PNG_SOFTWARE}">'.encode()


def calibrated_name(name: str) -> str:
    """``NAME-calibrated``, cut to the 80 characters a name may have."""
    return name[: 80 - len(CALIBRATED_SUFFIX)] + CALIBRATED_SUFFIX


def _stem(out: Path) -> str:
    return out.name[: -len(out.suffix)] if out.suffix else out.name


def fit_paths(out: Path) -> tuple[Path, Path]:
    """``calibrated.fit.csv`` and ``calibrated.fit.png`` beside ``calibrated.yaml``."""
    return out.with_name(_stem(out) + ".fit.csv"), out.with_name(_stem(out) + ".fit.png")


def report_path(out: Path) -> Path:
    """``calibrated.report.html`` beside ``calibrated.yaml``: the fit in words, its chart
    inside it (one file to mail)."""
    return out.with_name(_stem(out) + ".report.html")


def written_paths(out: Path) -> tuple[Path, ...]:
    """Every file a calibration to ``out`` writes: the calibrated scenario, its
    ``.fit.csv``, ``.fit.png`` and ``.report.html``."""
    return (out, *fit_paths(out), report_path(out))


def _starts_with(path: Path, size: int) -> bytes:
    try:
        with path.open("rb") as f:
            return f.read(size)
    except OSError:
        return b""


def written_by_calibrate(path: Path) -> bool:
    """Whether ``path`` (a calibrated scenario, its ``.fit.csv``, ``.fit.png`` or
    ``.report.html``) is a file that ``frictionsim calibrate`` wrote: by its header, the
    PNG's text, or the page's ``<meta name="generator">``."""
    path = Path(path)
    if path.is_symlink() or not path.is_file():
        return False
    if path.name.endswith(".fit.png"):
        head = _starts_with(path, 4096)
        return head.startswith(b"\x89PNG") and PNG_SOFTWARE.encode() in head
    if path.name.endswith(".report.html"):
        head = _starts_with(path, 4096)
        return head.startswith(b"<!DOCTYPE html>") and _REPORT_MARK in head
    first = _starts_with(path, 4096).split(b"\n", 1)[0].decode("utf-8", "replace")
    if path.name.endswith(".fit.csv"):
        return first == ",".join(FIT_COLUMNS)
    return first.startswith(HEADER) and _HEADER_MARK in first


def check_output(out: Path, inputs: Sequence[Path], force: bool = False) -> None:
    """Refuse, before any work, an output that would replace an input, a folder, or a
    file that ``frictionsim calibrate`` did not write (unless ``force``)."""
    if not out.name or out.is_dir():
        raise FrictionsimError(
            f"--out {visible(str(out))}: is a folder; give a file name such as calibrated.yaml"
        )
    paths = written_paths(out)
    for path in inputs:
        for written in paths:
            if written.resolve() == Path(path).resolve():
                raise CalibrationError(
                    f"--out {out}: would overwrite the input {path}; choose another file"
                )
    from ..results import check_replaceable

    for written in paths:  # a device, a pipe, a link: never, even with --force
        check_replaceable(written)
    if not force:
        for written in paths:
            if os.path.lexists(written) and not written_by_calibrate(written):
                raise ResultsError(
                    f"{written}: exists and was not written by frictionsim calibrate; add "
                    "--force to replace it, or choose another --out"
                )
    parent = out.parent if str(out.parent) else Path(".")
    above = parent
    while not os.path.lexists(above) and above != above.parent:
        above = above.parent
    if os.path.lexists(above) and not above.is_dir():
        raise ResultsError(f"{above}: is a file, so {out} cannot be written inside it")
    if os.path.lexists(above) and not os.access(above, os.W_OK):
        raise FrictionsimError(f"{above}: cannot write here")


def _format_value(p: Parameter, v: float, se: float) -> str:
    err = f"{se:.3g}" if math.isfinite(se) else "unknown"
    return f"{v:.4g} ± {err}"


def calibrated_yaml(cal: Calibration, scenario_file: str | None, now: dt.datetime) -> str:
    """The calibrated scenario with a header saying what was fitted, to what, and when."""
    from ..scenario import scenario_to_yaml

    lines = [
        f"{HEADER}{cal.scenario.name}', {_HEADER_MARK}",
        # file names as written (a newline in one must not start a line of YAML)
        f"# from scenario: {visible(scenario_file) if scenario_file else '(built in code)'}",
        f"# to the observed funnel: {visible(cal.funnel_file)}",
        f"#   sha256 {cal.funnel_sha256}",
        f"# seed {cal.seed}, {cal.replications} replication(s) per evaluation "
        f"({cal.simulated_visitors} simulated visitors), {cal.evaluations} evaluations"
        + ("" if cal.converged else " (NOT converged)"),
        f"# at {now.strftime('%Y-%m-%dT%H:%M:%SZ')}",
        "# fitted (value ± standard error from the Fisher information):",
    ]
    for p, v, se in zip(cal.parameters, cal.values, cal.standard_errors):
        what = "multiplies every segment's tolerance" if p.kind == "tolerance" else ""
        lines.append(f"#   {p.name} = {_format_value(p, v, se)}  {what}".rstrip())
    if cal.profile is not None:
        lines.append(
            f"# arrivals.profile fitted to the hourly entries in {visible(cal.hourly_file)}: "
            + ", ".join(f"{p:.3g}±{e:.2g}" for p, e in zip(cal.profile, cal.profile_se))
        )
    dof = cal.degrees_of_freedom
    gof = f"deviance {cal.deviance:.2f} on {dof} degrees of freedom"
    if cal.p_value is not None:
        gof += f" (p = {cal.p_value:.3g})"
    lines.append(f"# goodness of fit: {gof}")
    for w in cal.warnings:
        lines.append(f"# warning: {visible(w)}")
    return "\n".join(lines) + "\n" + scenario_to_yaml(cal.scenario)


def calibration_document(cal: Calibration, out: Path) -> dict[str, Any]:
    """What the report of a calibration to ``out`` says, as plain data
    (:func:`frictionsim.report.calibration_report`)."""
    from .. import __version__

    return {
        "scenario": cal.scenario.name,
        "out": Path(out).name,
        "funnel_file": Path(cal.funnel_file).name,
        "seed": cal.seed,
        "replications": cal.replications,
        "simulated_visitors": cal.simulated_visitors,
        "evaluations": cal.evaluations,
        "converged": cal.converged,
        "frictionsim_version": __version__,
        "parameters": [
            {"name": p.name, "kind": p.kind, "start": p.start, "value": v, "se": se}
            for p, v, se in zip(cal.parameters, cal.values, cal.standard_errors)
        ],
        "deviance": cal.deviance,
        "degrees_of_freedom": cal.degrees_of_freedom,
        "p_value": cal.p_value,
        "warnings": list(cal.warnings),
        "rows": cal.fit_rows,
    }


def write_calibration(
    cal: Calibration,
    out: Path,
    scenario_file: str | None = None,
    chart: bool = True,
    force: bool = False,
) -> list[Path]:
    """Write the calibrated scenario, ``*.fit.csv``, and with ``chart`` ``*.fit.png`` and
    ``*.report.html`` (the fit in words, the chart inside it), each atomically. A file
    there that ``frictionsim calibrate`` did not write is replaced only with ``force``."""
    from ..report import calibration_report, fit_chart_png
    from ..results import csv_text, replace_files, write_error

    out = Path(out)
    check_output(out, [], force)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(exc, out.parent) from None
    csv_path, png_path = fit_paths(out)
    now = dt.datetime.now(dt.timezone.utc)
    files = {
        out: calibrated_yaml(cal, scenario_file, now).encode(),
        csv_path: csv_text(cal.fit_rows, FIT_COLUMNS).encode(),
    }
    if chart:
        png = fit_chart_png(
            cal.fit_rows, f"{cal.scenario.name}: observed vs simulated", software=PNG_SOFTWARE
        )
        files[png_path] = png
        document = calibration_document(cal, out)
        files[report_path(out)] = calibration_report(document, png_path.name, png, PNG_SOFTWARE)
    # all or none: a full disk leaves the files of before, not a scenario without its fit
    replace_files(out.parent, {path.name: data for path, data in files.items()})
    return list(files)


__all__ = [
    "KINDS",
    "Calibration",
    "Parameter",
    "calibrate",
    "calibrated_name",
    "calibrated_yaml",
    "calibration_document",
    "check_output",
    "fit_paths",
    "free_parameters",
    "report_path",
    "uncertain_scenario",
    "uncertain_values",
    "wilson",
    "with_parameters",
    "write_calibration",
    "written_by_calibrate",
    "written_paths",
]
