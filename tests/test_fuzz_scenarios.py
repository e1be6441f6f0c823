"""Fuzzing the loader: whatever the file holds, a scenario or located problems, nothing else.

Three properties, each derandomized (hypothesis derives its examples from the
test itself, so CI sees the same examples every run) with enough examples to
matter:

* valid scenarios mutated 1-4 times (keys deleted, renamed, added; values
  replaced by other types, huge or non-finite numbers, unit typos; list items
  deleted or duplicated): the loader accepts and the scenario runs on a tiny
  horizon with every customer accounted for, or it raises ScenarioError whose
  problems all carry a file, line, column, field path and message;
* random YAML documents built from the scenario's own vocabulary;
* random text, control characters and YAML punctuation included.
"""

from __future__ import annotations

import copy
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from scipy import stats

from frictionsim.errors import ScenarioError, SimulationError
from frictionsim.scenario import Scenario, parse_scenario
from frictionsim.sim.simpy_engine import simulate

from .conftest import BASE

#: FUZZ_EXAMPLES=20000 FUZZ_RANDOM=1 pytest tests/test_fuzz_scenarios.py explores further.
SCALE = int(os.environ.get("FUZZ_EXAMPLES", "0"))


def fuzz(max_examples: int) -> settings:
    return settings(
        max_examples=SCALE or max_examples,
        derandomize=not os.environ.get("FUZZ_RANDOM"),
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


SEEDS: list[dict[str, Any]] = [
    BASE,
    yaml.safe_load((Path(__file__).parent / "data" / "bad" / "good.yaml").read_text()),
    {
        "name": "branches",
        "horizon": "30min",
        "arrivals": {"rate": "120/h", "profile": [1] * 24},
        "segments": [
            {"name": "a", "share": 0.5, "tolerance": {"dist": "exponential", "mean": 5},
             "order_value": {"dist": "uniform", "low": 1, "high": 9}},
            {"name": "b", "share": 0.5, "tolerance": {"dist": "gamma", "mean": 8, "sd": 2},
             "order_value": {"dist": "empirical", "values": [10, 20], "weights": [1, 3]},
             "sensitivity": 1.5},
        ],
        "steps": [
            {"name": "start", "next": [{"to": "left", "p": 0.5}, {"to": "right", "p": 0.5}]},
            {"name": "left", "duration": {"dist": "triangular", "low": 0, "mode": 1, "high": 2},
             "next": "end", "errors": {"p": 0.5, "irritation": 1, "max_attempts": 4}},
            {"name": "right", "duration": {"dist": "normal", "mean": 1, "sd": 1},
             "capacity": 1, "wait_irritation": "2/min",
             "next": [{"to": "start", "p": 0.3}, {"to": "end", "p": 0.7}]},
            {"name": "end", "fields": 2, "per_field": 0.5, "exit": 0.1},
        ],
        "friction": {"per_field": 0.2, "wait_irritation": 0.1},
    },
    {
        "name": "after-the-checkout",
        "horizon": "1h",
        "start": "2026-02-02T00:00:00Z",
        "arrivals": {"rate": "20/h"},
        "segments": [{"name": "a", "share": 1, "tolerance": {"dist": "exponential", "mean": 6},
                      "order_value": 40}],
        "steps": [
            {"name": "form", "fields": 3, "cost": 0.1,
             "defect": {"p": 0.2, "irritation": 5, "delay": "10min"}},
            {"name": "pay", "errors": {"p": 0.1, "irritation": 2}},
        ],
        "experience": {"best": 9, "scale": 0.5},
        "word_of_mouth": {"delay": "5min", "promoters": {"tell": {"dist": "poisson", "mean": 2},
                                                         "visit": 0.2},
                          "abandoners": {"tell": 3, "deter": 0.1}},
        "repeat": {"delay": "10min", "promoters": 0.3, "saved_fields": 0.5},
        "economics": {"margin": 0.3, "currency": "EUR"},
    },
]  # fmt: skip

VOCABULARY = [
    "name", "description", "seed", "replications", "horizon", "arrivals", "rate", "profile",
    "segments", "share", "tolerance", "order_value", "sensitivity", "steps", "duration",
    "irritation", "fields", "per_field", "exit", "errors", "p", "max_attempts", "capacity",
    "wait_irritation", "next", "to", "friction", "dist", "mean", "sd", "low", "high", "mode",
    "values", "weights", "fixed", "exponential", "lognormal", "gamma", "normal", "uniform",
    "triangular", "empirical", "poisson", "cart", "pay", "all",
]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, -1, 0.5, 1e-300, 1e300, 2**63, 101, 100_000]),
    st.sampled_from(["5mins", "3hrs", "45s", "2h", "-1min", "120/h", "1e400", "1/0h", "7d", ""]),
    st.sampled_from(VOCABULARY),
    st.text(max_size=12),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(
            st.one_of(st.sampled_from(VOCABULARY), st.text(max_size=8)), inner, max_size=6
        ),
    ),
    max_leaves=30,
)


def _paths(node: Any, path: tuple = ()) -> list[tuple]:
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _paths(value, (*path, i))
    return found


def _get(node: Any, path: tuple) -> Any:
    for elem in path:
        node = node[elem]
    return node


def _tweaked(value: Any) -> st.SearchStrategy[Any]:
    if isinstance(value, bool) or value is None:
        return scalars
    if isinstance(value, int):
        return st.one_of(st.integers(0, 12), st.integers(-3, 2**64))
    if isinstance(value, float):
        return st.one_of(
            st.floats(0, 1), st.floats(0, 1e6), st.sampled_from([0.0, 1.0, -0.5, 1e308])
        )
    if isinstance(value, str):
        return st.sampled_from(["1s", "90s", "2min", "0.5h", "1d", "3/min", "60/h", "0/h", value])
    return documents


@st.composite
def mutated_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    data = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(data) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, last = _get(data, path[:-1]), path[-1]
        action = draw(
            st.sampled_from(["tweak", "tweak", "replace", "delete", "rename", "add", "dup"])
        )
        if action == "tweak":  # a plausible value of the same kind: the scenario often stays valid
            parent[last] = draw(_tweaked(parent[last]))
        elif action == "replace":
            parent[last] = draw(documents)
        elif action == "delete":
            del parent[last]
        elif action == "rename" and isinstance(parent, dict):
            new = draw(st.one_of(st.sampled_from(VOCABULARY), st.text(min_size=1, max_size=8)))
            parent[new + draw(st.sampled_from(["", "s", "_"]))] = parent.pop(last)
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(VOCABULARY))] = draw(documents)
        elif action == "dup" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[last]))
    return data


def _check(text: str) -> Scenario | None:
    """Parse ``text``: a Scenario, or a ScenarioError with well-formed located problems."""
    try:
        return parse_scenario(text, "fuzz.yaml")
    except ScenarioError as exc:
        problems = exc.problems
    assert problems
    for problem in problems:
        assert problem.file == "fuzz.yaml"
        assert problem.line >= 1
        assert problem.col >= 1
        assert problem.path
        assert problem.message
    return None


def _runs_on_a_tiny_horizon(scenario: Scenario) -> None:
    """About 20 customers at most, whatever the rate; every one has exactly one outcome."""
    peak = scenario.arrivals.rate * max(scenario.profile)
    horizon = scenario.horizon if peak <= 0 else min(scenario.horizon, 20 / peak)
    if horizon <= 0 or not math.isfinite(horizon):
        return
    tiny = scenario.model_copy(update={"horizon": horizon})
    try:
        result = simulate(tiny, np.random.SeedSequence(1))
    except SimulationError as exc:  # a word-of-mouth loop that would grow without bound
        message = str(exc)
        assert "grow without bound" in message, message
        return
    assert result.visitors == result.orders + result.abandoned_friction + result.abandoned_exit
    # organic arrivals are Poisson with mean expected_visitors (at most 20): a 1e-7 bound
    # per example; referred and returning visitors come on top
    assert result.source_visitors[0] <= stats.poisson.isf(1e-7, tiny.expected_visitors)


@fuzz(1000)
@given(mutated_scenarios())
def test_mutated_scenarios_load_and_run_or_report_located_problems(data):
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    scenario = _check(text)
    event("accepted and ran" if scenario is not None else "refused with located problems")
    if scenario is not None:
        _runs_on_a_tiny_horizon(scenario)


@fuzz(1000)
@given(documents)
def test_random_yaml_documents_give_located_problems(data):
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    scenario = _check(text)
    assert scenario is None  # random documents are never complete scenarios


YAML_PUNCTUATION = [*":-?[]{},#&*!|>'\"%@`\t\n ", "---", "...", "<<", "!!python/name:os"]


@fuzz(1000)
@given(
    st.lists(
        st.one_of(
            st.text(max_size=6),
            st.sampled_from(YAML_PUNCTUATION),
            st.sampled_from(VOCABULARY),
            st.characters(max_codepoint=0x1F),
        ),
        max_size=40,
    ).map("".join)
)
def test_random_text_gives_located_problems(text):
    _check(text)
