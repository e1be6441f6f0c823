"""Extreme values everywhere: whatever validation accepts runs, on both engines.

The property (hypothesis, derandomized like the fuzz tests of
``test_fuzz_scenarios.py``, whose settings and problem checks are reused):
a scenario built with tiny and huge numbers at every numeric field, every
distribution family, capacities, branches and loops, word of mouth and repeat
visits, is either refused by ``parse_scenario`` with located problems, or it
runs on a short horizon on the SimPy engine and, where the fast path supports
it, on the fast path too, without any exception but a clean refusal of the
run-size estimate (``RunTooLargeError``) or of a word-of-mouth loop that
grows without bound, and every visitor has exactly one outcome. The
statistics of the run are computed too.

Values are the extremes validation accepts (0, subnormal, tiny, the largest
allowed), ordinary ones, and now and then one just beyond a limit. The quick
property runs 300 examples (1 to 5 steps, about 10 s); the slow one 25 flows of
50, 200 or 1000 steps, five drawn steps repeated (about 30 s).
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from frictionsim.errors import RunTooLargeError, SimulationError
from frictionsim.execution import check_run_size, estimate_run
from frictionsim.scenario import Scenario
from frictionsim.sim import fastpath
from frictionsim.sim.result import RunResult
from frictionsim.sim.simpy_engine import simulate
from frictionsim.stats import distributions, funnel_rows, summarize

from .test_fuzz_scenarios import _check, fuzz

#: Numbers at every limit that validation accepts: 0, subnormal, tiny, ordinary and
#: the largest allowed (1e12) ...
EXTREME = [0, 5e-324, 1e-308, 1e-300, 1e-150, 1e-12, 1e-6, 0.5, 1, 3, 1e6, 1e12]
#: ... and just beyond it, up to the float maximum (refused).
BEYOND = [1.0000001e12, 1e15, 1e150, 1e300, 1.7e308]
#: Whole numbers at the limits of counts (fields, capacity, attempts), and beyond them.
WHOLE = [0, 1, 2, 3, 100, 10_000, 1_000_000]
WHOLE_BEYOND = [101, 10_001, 1_000_001, 2**63, 10**90]
#: Probabilities at their edges, and just outside them.
CHANCES = [0, 5e-324, 1e-12, 0.01, 0.5, 0.99, 1 - 1e-12, 1]
CHANCES_BEYOND = [1 + 1e-12, 2]


def mostly(valid: list[Any], beyond: list[Any], ordinary: st.SearchStrategy[Any]) -> Any:
    """Extreme values that validation accepts, ordinary ones, and now and then (1 in 40)
    one beyond a limit: a scenario has dozens of numbers, and many should run."""
    return st.integers(0, 39).flatmap(
        lambda k: (
            st.sampled_from(valid) if k < 20 else ordinary if k < 39 else st.sampled_from(beyond)
        )
    )


numbers = mostly(EXTREME, BEYOND, st.floats(0, 20))
#: For keys that must be > 0 (rates, horizon, sensitivity, most distribution parameters).
positives = mostly(EXTREME[1:], [0, *BEYOND], st.floats(1e-3, 20))
small_numbers = mostly(EXTREME[:9], BEYOND, st.floats(0, 5))
wholes = mostly(WHOLE, WHOLE_BEYOND, st.integers(0, 8))
chances = mostly(CHANCES, CHANCES_BEYOND, st.floats(0, 1))
units = st.sampled_from(["", "s", "min", "h", "d"])


@st.composite
def fixed_durations(draw: st.DrawFn) -> Any:
    """A number of minutes, or a number with a unit."""
    value, unit = draw(positives), draw(units)
    return f"{value!r}{unit}" if unit else value


def durations() -> st.SearchStrategy[Any]:
    """A duration: fixed or random."""
    return st.one_of(fixed_durations(), distributions_of(positives))


def distributions_of(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Every family, with parameters drawn from ``values``."""
    v = values
    return st.one_of(
        v,
        st.builds(lambda x: {"dist": "fixed", "value": x}, v),
        st.builds(lambda m: {"dist": "exponential", "mean": m}, v),
        *[
            st.builds(lambda m, s, f=family: {"dist": f, "mean": m, "sd": s}, v, v)
            for family in ("lognormal", "gamma", "normal")
        ],
        st.builds(lambda a, b: {"dist": "uniform", "low": min(a, b), "high": max(a, b)}, v, v),
        st.builds(
            lambda xs: {"dist": "triangular", "low": xs[0], "mode": xs[1], "high": xs[2]},
            st.lists(v, min_size=3, max_size=3).map(sorted),
        ),
        st.builds(
            lambda xs, ws: {"dist": "empirical", "values": xs, "weights": ws[: len(xs)] or None},
            st.lists(v, min_size=1, max_size=4),
            st.lists(st.sampled_from(EXTREME + BEYOND[:1]), max_size=4),
        ),
    )


@st.composite
def steps_of(draw: st.DrawFn, n: int, plain: bool) -> list[dict[str, Any]]:
    """``n`` steps; ``plain`` ones have no capacity, defect or loop (the fast path runs them)."""
    steps = []
    for k in range(n):
        step: dict[str, Any] = {"name": f"s{k}"}
        for key, strategy in [
            ("duration", durations()),
            ("irritation", small_numbers),
            ("fields", wholes),
            ("per_field", small_numbers),
            ("exit", chances),
            ("cost", numbers),
        ]:
            if draw(st.integers(0, 3)) == 0:
                step[key] = draw(strategy)
        if draw(st.integers(0, 3)) == 0:
            step["errors"] = {
                "p": draw(chances),
                "irritation": draw(small_numbers),
                "max_attempts": draw(mostly([1, 2, 3, 100], [0, 101], st.integers(1, 5))),
            }
        if not plain and draw(st.integers(0, 4)) == 0:
            step["capacity"] = draw(mostly([1, 2, 3, 1_000_000], [0, 1_000_001], st.integers(1, 9)))
            step["wait_irritation"] = draw(st.one_of(numbers, st.just("1/min")))
        if not plain and draw(st.integers(0, 6)) == 0:
            step["defect"] = {
                "p": draw(chances),
                "irritation": draw(small_numbers),
                "delay": draw(fixed_durations()),
            }
        if k < n - 1 and draw(st.integers(0, 3)) == 0:  # branches, backwards too (loops)
            others = draw(
                st.lists(st.integers(k + 1 if plain else 0, n - 1), max_size=2, unique=True)
            )
            others = [t for t in others if t != k + 1]
            p = draw(chances) if others else 0.0
            step["next"] = [{"to": f"s{k + 1}", "p": 1 - p}] + [
                {"to": f"s{t}", "p": p / len(others)} for t in others
            ]
        steps.append(step)
    return steps


@st.composite
def extreme_scenarios(draw: st.DrawFn, n_steps: st.SearchStrategy[int]) -> dict[str, Any]:
    plain = draw(st.booleans())
    n = draw(n_steps)
    n_segments = draw(st.integers(1, 3))
    shares = [1 / n_segments] * n_segments
    segments = [
        {
            "name": f"g{k}",
            "share": shares[k],
            "tolerance": draw(distributions_of(positives)),
            "order_value": draw(distributions_of(numbers)),
            **({"sensitivity": draw(positives)} if draw(st.booleans()) else {}),
        }
        for k in range(n_segments)
    ]
    rate = draw(positives)
    data: dict[str, Any] = {
        "name": "extreme",
        "seed": draw(st.sampled_from([0, 1, 2**63 - 1])),
        "horizon": draw(fixed_durations()),
        "arrivals": {"rate": f"{rate!r}/{draw(st.sampled_from(['s', 'min', 'h', 'd']))}"},
        "segments": segments,
        "steps": _long(draw(steps_of(5, plain)), n) if n > 5 else draw(steps_of(n, plain)),
    }
    if draw(st.booleans()):
        profile = draw(st.lists(st.sampled_from(EXTREME[:-1]), min_size=24, max_size=24))
        if draw(st.integers(0, 9)) == 0:
            profile[draw(st.integers(0, 23))] = draw(st.sampled_from(BEYOND))
        data["arrivals"]["profile"] = profile
    if draw(st.booleans()):
        data["friction"] = {"per_field": draw(small_numbers), "wait_irritation": draw(numbers)}
    if draw(st.booleans()):
        data["experience"] = {"best": draw(st.floats(0, 10)), "scale": draw(positives)}
    if not plain and draw(st.integers(0, 3)) == 0:
        data["word_of_mouth"] = {
            "delay": draw(durations()),
            "promoters": {"tell": draw(st.sampled_from([0, 1, 3, {"dist": "poisson", "mean": 2}])),
                          "visit": draw(chances)},
            "abandoners": {"deter": draw(chances)},
        }  # fmt: skip
    if not plain and draw(st.integers(0, 3)) == 0:
        data["repeat"] = {"delay": draw(durations()), "promoters": draw(chances)}
    if draw(st.booleans()):
        data["economics"] = {"margin": draw(chances)}
    return data


def _long(kinds: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """``n`` steps made of five drawn ones in turn (a long flow from little data); a
    branch to ``s{k + d}`` becomes one to the step ``d`` further on, where there is one."""
    steps = []
    for i in range(n):
        step = copy.deepcopy(kinds[i % len(kinds)])
        step["name"] = f"s{i}"
        if "next" in step:
            if i == n - 1:
                del step["next"]
            else:
                k = i % len(kinds)
                for branch in step["next"]:
                    branch["to"] = f"s{min(n - 1, i + int(branch['to'][1:]) - k)}"
                # a branch that now points backwards or twice at one step is left to
                # validation: a duplicate is fine, a loop may or may not end
        steps.append(step)
    return steps


def _one_outcome_each(r: RunResult) -> None:
    assert r.visitors == r.orders + r.abandoned_friction + r.abandoned_exit
    assert r.segment_visitors.sum() == r.visitors
    assert r.step_abandoned_friction.sum() == r.abandoned_friction
    assert r.step_abandoned_exit.sum() == r.abandoned_exit
    assert r.segment_scores.sum() == r.orders
    assert r.source_visitors.sum() == r.visitors


def _runs_or_is_refused_cleanly(scenario: Scenario) -> str:
    """Run about 20 customers on both engines (where the fast path supports them)."""
    peak = scenario.arrivals.rate * max(scenario.profile)
    horizon = scenario.horizon if peak <= 0 else min(scenario.horizon, 20 / peak)
    if not (horizon > 0 and math.isfinite(horizon)):
        return "no customers"
    tiny = scenario.model_copy(update={"horizon": horizon})
    try:
        estimate = estimate_run(tiny, 1, 1)
        check_run_size(estimate)
    except RunTooLargeError:
        return "refused by the run-size estimate"
    if estimate.seconds > 2:  # accepted, but too long for a test: the estimate errs long
        return "estimated too long for a test"
    engines = [simulate]
    if fastpath.supports(tiny):
        engines.append(fastpath.simulate)
    results = []
    for engine in engines:
        try:
            results.append(engine(tiny, np.random.SeedSequence(1)))
        except SimulationError as exc:  # a word-of-mouth loop that would grow without bound
            message = str(exc)
            assert "grow without bound" in message, message
            return "refused: word of mouth grows without bound"
    for r in results:
        _one_outcome_each(r)
    summarize(tiny, results[:1] * 2, 1, "test")  # and its statistics
    funnel_rows(tiny, results[:1])
    distributions(tiny, results[:1])
    return "ran on both engines" if len(results) == 2 else "ran on SimPy"


def _property(data: dict[str, Any]) -> None:
    scenario = _check(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    event("refused with located problems" if scenario is None else "accepted")
    if scenario is not None:
        event(_runs_or_is_refused_cleanly(scenario))


@fuzz(300)
@given(extreme_scenarios(st.integers(1, 5)))
def test_extreme_scenarios_are_refused_or_run_with_one_outcome_per_visitor(data):
    _property(data)


@pytest.mark.slow
@settings(
    fuzz(25),
    suppress_health_check=[*fuzz(25).suppress_health_check, HealthCheck.large_base_example],
)
@given(extreme_scenarios(st.sampled_from([50, 200, 1000])))
def test_long_extreme_flows_are_refused_or_run_with_one_outcome_per_visitor(data):
    _property(data)
