"""The vectorized fast path gives exactly the SimPy engine's RunResult, and knows its limits."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from frictionsim.errors import SimulationError
from frictionsim.execution import Task, run_task, uses_fast_path
from frictionsim.sim import fastpath, simpy_engine
from frictionsim.sim.result import RunResult
from frictionsim.sim.streams import BLOCK
from frictionsim.studies import run_replications

from .conftest import make_scenario

TWO_SEGMENTS = [
    {
        "name": "mobile",
        "share": 0.6,
        "tolerance": {"dist": "lognormal", "mean": 8, "sd": 4},
        "order_value": {"dist": "gamma", "mean": 50, "sd": 20},
        "sensitivity": 1.3,
    },
    {
        "name": "desktop",
        "share": 0.4,
        "tolerance": {"dist": "exponential", "mean": 10},
        "order_value": {"dist": "empirical", "values": [10, 20, 90], "weights": [1, 2, 1]},
    },
]

SCENARIOS = {
    "branches-errors-exits": {
        "horizon": 600,
        "arrivals": {"rate": 3},
        "segments": TWO_SEGMENTS,
        "steps": [
            {
                "name": "cart",
                "irritation": 0.5,
                "exit": 0.2,
                "duration": {"dist": "exponential", "mean": 1},
            },
            {
                "name": "account",
                "fields": 3,
                "next": [{"to": "guest", "p": 0.6}, {"to": "register", "p": 0.4}],
            },
            {"name": "guest", "fields": 4, "next": "pay", "duration": 2},
            {
                "name": "register",
                "fields": 9,
                "per_field": 0.7,
                "duration": {"dist": "triangular", "low": 0, "mode": 1, "high": 3},
            },
            {
                "name": "pay",
                "errors": {"p": 0.3, "irritation": 2, "max_attempts": 3},
                "duration": {"dist": "normal", "mean": 1, "sd": 1},
                "exit": 0.05,
            },
            {"name": "review", "irritation": 1},
        ],
    },
    "profile-fixed-durations": {
        "horizon": 3000,
        "arrivals": {"rate": 1, "profile": [0] * 6 + [1, 2, 3, 2] + [1] * 14},
        "segments": [
            {
                "name": "all",
                "share": 1,
                "tolerance": {"dist": "uniform", "low": 2, "high": 12},
                "order_value": {"dist": "lognormal", "mean": 60, "sd": 30},
            }
        ],
        "steps": [
            {"name": "a", "fields": 2, "duration": 0.5},
            {"name": "b", "errors": {"p": 0.5, "irritation": 1, "max_attempts": 5}, "duration": 1},
            {"name": "c", "irritation": 2, "exit": 0.1, "cost": 0.2},
        ],
        # peak-end scores with a non-default scale, and money that only stats use
        "experience": {"best": 9, "scale": 0.3},
        "economics": {"margin": 0.4},
    },
    # time cost, commitment, relief, exits that grow with irritation, empty steps (no
    # moment) and segments with their own exits, errors and branches
    "model-keys": {
        "horizon": 900,
        "arrivals": {"rate": 3},
        "segments": [
            {**TWO_SEGMENTS[0], "commitment": 1.5},
            {**TWO_SEGMENTS[1], "commitment": 0.5},
        ],
        "friction": {"per_field": 0.6, "time_irritation": "0.2/min"},
        "steps": [
            {"name": "cart", "irritation": 1, "exit": 0.1, "exit_irritation": 0.02},
            {"name": "thanks"},
            {
                "name": "form",
                "fields": 6,
                "duration": {"dist": "exponential", "mean": 3},
                "errors": {"p": 0.2, "irritation": 1.5, "max_attempts": 3},
                "by_segment": {TWO_SEGMENTS[1]["name"]: {"errors": {"p": 0.4}, "exit": 0.05}},
                "next": [{"to": "saved", "p": 0.3}, {"to": "new", "p": 0.7}],
            },
            {
                "name": "new",
                "fields": 4,
                "duration": 2,
                "time_irritation": 1,
                "next": "review",
                "exit_irritation": 0.01,
            },
            {"name": "saved", "irritation": -2, "next": "review"},
            {"name": "review", "irritation": 0.5, "duration": 1},
            {"name": "done"},
        ],
    },
    "segment-branches": {
        "horizon": 600,
        "arrivals": {"rate": 2},
        "segments": TWO_SEGMENTS,
        "steps": [
            {
                "name": "a",
                "next": [{"to": "c", "p": 0.5}, {"to": "b", "p": 0.5}],
                "by_segment": {
                    TWO_SEGMENTS[0]["name"]: {
                        "next": [{"to": "b", "p": 0.9}, {"to": "c", "p": 0.1}]
                    }
                },
            },
            {"name": "b", "fields": 5, "irritation": -1},
            {"name": "c", "fields": 2},
        ],
    },
    "three-way-branch": {
        "horizon": 300,
        "arrivals": {"rate": 2},
        "segments": TWO_SEGMENTS,
        "steps": [
            {
                "name": "a",
                "next": [{"to": "c", "p": 0.5}, {"to": "b", "p": 0.25}, {"to": "d", "p": 0.25}],
            },
            {"name": "b", "fields": 50},
            {"name": "d", "duration": {"dist": "empirical", "values": [0, 1, 2]}, "next": "c"},
            {"name": "c", "fields": 5, "errors": {"p": 0.2, "max_attempts": 1}},
        ],
    },
}


def assert_same(a: RunResult, b: RunResult) -> None:
    for f in dataclasses.fields(a):
        if not f.compare:  # provenance (which engine ran it), not a result
            continue
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            assert np.array_equal(x, y), f.name
        else:
            assert x == y, f.name


@pytest.fixture(params=["compiled", "arrays"])
def steps_by(request, monkeypatch):
    """A test twice: steps without capacity walked by the numba-compiled kernel
    (:mod:`frictionsim.sim.plain`, where numba is installed) and by the array code."""
    from frictionsim.sim import plain

    if request.param == "compiled" and plain.compiled() is None:
        pytest.skip("numba is not installed (pip install 'frictionsim[fast]')")
    monkeypatch.setattr(fastpath, "PYTHON_STEPS", request.param == "arrays")
    return request.param


@pytest.mark.parametrize("name", sorted(SCENARIOS))
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fast_path_equals_simpy_exactly(name, seed, steps_by):
    scenario = make_scenario(**SCENARIOS[name])
    assert fastpath.supports(scenario)
    slow = simpy_engine.simulate(scenario, np.random.SeedSequence(seed))
    fast = fastpath.simulate(scenario, np.random.SeedSequence(seed))
    assert slow.visitors > 100  # the comparison covers real traffic
    assert slow.abandoned_friction > 0
    assert_same(slow, fast)


@pytest.mark.parametrize("chunk", [BLOCK, fastpath.CHUNK])
def test_fast_path_equals_simpy_across_blocks_and_chunks(chunk, monkeypatch, steps_by):
    """More customers than two random-number blocks (4096 each), walked in chunks of one
    block or all at once, so block and chunk boundaries are crossed."""
    monkeypatch.setattr(fastpath, "CHUNK", chunk)
    scenario = make_scenario(
        **{**SCENARIOS["branches-errors-exits"], "horizon": 3000, "arrivals": {"rate": 4}}
    )
    slow = simpy_engine.simulate(scenario, np.random.SeedSequence(5))
    assert slow.visitors > 2 * BLOCK
    assert_same(slow, fastpath.simulate(scenario, np.random.SeedSequence(5)))


def test_fast_path_with_given_arrivals_and_none():
    scenario = make_scenario(**SCENARIOS["profile-fixed-durations"])
    times = [0.0, 0.1, 0.1, 5.0, 1e4]
    assert_same(
        simpy_engine.simulate(scenario, np.random.SeedSequence(1), arrivals=times),
        fastpath.simulate(scenario, np.random.SeedSequence(1), arrivals=times),
    )
    assert_same(
        simpy_engine.simulate(scenario, np.random.SeedSequence(1), arrivals=[]),
        fastpath.simulate(scenario, np.random.SeedSequence(1), arrivals=[]),
    )


def test_arrival_clock_reproduces_simpy_float_additions():
    times = np.array([1e-300, 1.0, 3.0000000000000004, 1e6 + 0.1, 1e6 + 0.1])
    expected, now = [], 0.0
    for t in times:
        if t - now > 0:
            now = now + (t - now)
        expected.append(now)
    assert fastpath._arrival_clock(times).tolist() == expected


@pytest.mark.parametrize(
    ("steps", "reason"),
    [
        ([{"name": "a", "capacity": 2}], "capacity"),
        (
            [
                {"name": "a", "next": [{"to": "b", "p": 0.5}, {"to": "a", "p": 0.5}]},
                {"name": "b"},
            ],
            "loop",
        ),
    ],
)
def test_unsupported_scenarios_fall_back_to_simpy(steps, reason):
    scenario = make_scenario(steps=steps)
    assert reason in fastpath.unsupported_reason(scenario)
    assert not uses_fast_path(scenario, "auto")
    with pytest.raises(SimulationError, match="--engine fast"):
        uses_fast_path(scenario, "fast")
    with pytest.raises(ValueError, match="fast path cannot"):
        fastpath.simulate(scenario, np.random.SeedSequence(1))
    # auto still runs it, on SimPy
    seq = np.random.SeedSequence(3)
    assert_same(run_task(Task(scenario, seq, "auto")), simpy_engine.simulate(scenario, seq))


def test_unknown_scenario_features_are_refused(monkeypatch):
    """A key the fast path does not know (a feature added to the engine later) makes it step aside."""
    scenario = make_scenario()
    assert fastpath.supports(scenario)
    known = dict(fastpath.KNOWN_FIELDS)
    known["Step"] = known["Step"] - {"exit"}
    monkeypatch.setattr(fastpath, "KNOWN_FIELDS", known)
    assert fastpath.supports(scenario)  # exit at its default: nothing to reproduce
    exiting = make_scenario(steps=[{"name": "only", "exit": 0.1}])
    assert "steps.only.exit" in fastpath.unsupported_reason(exiting)
    assert not fastpath.supports(scenario, record_customers=True)


def test_new_result_fields_are_refused(monkeypatch):
    """A counter added to the SimPy engine's RunResult that the fast path does not compute."""
    monkeypatch.setattr(
        fastpath, "KNOWN_RESULT_FIELDS", fastpath.KNOWN_RESULT_FIELDS - {"step_waited"}
    )
    reason = fastpath.unsupported_reason(make_scenario())
    assert "does not compute: ['step_waited']" in reason


def test_unknown_engine_is_refused():
    with pytest.raises(SimulationError, match="unknown engine"):
        uses_fast_path(make_scenario(), "turbo")


def test_replications_identical_whichever_engine():
    scenario = make_scenario(**SCENARIOS["branches-errors-exits"])
    fast = run_replications(scenario, 4, 3, jobs=1, engine="fast")
    slow = run_replications(scenario, 4, 3, jobs=1, engine="simpy")
    for a, b in zip(fast, slow):
        assert_same(a, b)


@pytest.mark.parametrize(
    "dist",
    [
        {"dist": "exponential", "mean": 2},
        {"dist": "lognormal", "mean": 2, "sd": 1},
        {"dist": "gamma", "mean": 2, "sd": 1},
        {"dist": "normal", "mean": 2, "sd": 1},
        {"dist": "uniform", "low": 1, "high": 3},
        {"dist": "triangular", "low": 0, "mode": 1, "high": 3},
        {"dist": "empirical", "values": [1, 2, 5], "weights": [1, 1, 2]},
    ],
)
def test_one_draw_of_several_blocks_is_the_blocks_drawn_one_by_one(dist):
    """The fast path draws a chunk of blocks at once where the SimPy engine draws a
    block at a time: the same numbers, for every distribution a duration can have."""
    from pydantic import TypeAdapter

    from frictionsim.distributions import DurationDist

    d = TypeAdapter(DurationDist).validate_python(dist)
    whole = d.sample(np.random.default_rng(7), 3 * BLOCK)
    rng = np.random.default_rng(7)
    parts = np.concatenate([d.sample(rng, BLOCK) for _ in range(3)])
    assert np.array_equal(whole, parts)
    rng = np.random.default_rng(7)
    uniforms = np.concatenate([rng.random(BLOCK) for _ in range(3)])
    assert np.array_equal(np.random.default_rng(7).random(3 * BLOCK), uniforms)
