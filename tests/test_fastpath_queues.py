"""The fast path through steps with capacity: field for field the SimPy engine's result.

A queue needs no event calendar when customers are taken in the order they reach
the step (see :func:`frictionsim.sim.fastpath._serve`); these tests hold it to the
SimPy engine on hand-made flows (queues in series, a merge of branches, errors,
time cost, commitment, segments) and on random ones (hypothesis), and check what
happens at the instants whose order only SimPy's event queue knows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frictionsim.execution import uses_fast_path
from frictionsim.scenario import load_scenario
from frictionsim.sim import fastpath, fcfs, simpy_engine
from frictionsim.sim.streams import BLOCK

from .conftest import make_scenario
from .test_fastpath import TWO_SEGMENTS, assert_same

BUNDLED = Path(__file__).parent.parent / "scenarios"


@pytest.fixture(params=["compiled", "python"], autouse=True)
def kernel(request, monkeypatch):
    """Every test twice: the queue walked by the numba-compiled kernel (where numba is
    installed) and by the same function in plain Python, the other steps by the compiled
    :mod:`frictionsim.sim.plain` and by the array code. Both must give SimPy's numbers."""
    if request.param == "compiled" and fcfs.compiled() is None:
        pytest.skip("numba is not installed (pip install 'frictionsim[fast]')")
    monkeypatch.setattr(fastpath, "PYTHON_QUEUES", request.param == "python")
    monkeypatch.setattr(fastpath, "PYTHON_STEPS", request.param == "python")  # array code
    return request.param


QUEUES = {
    "queue-errors-time-cost": {
        "horizon": 600,
        "arrivals": {"rate": 4},
        "segments": [
            {**TWO_SEGMENTS[0], "commitment": 0.5},
            {**TWO_SEGMENTS[1], "sensitivity": 0.8},
        ],
        "steps": [
            {"name": "cart", "irritation": 0.5, "exit": 0.1, "exit_irritation": 0.02},
            {
                "name": "pay",
                "duration": {"dist": "lognormal", "mean": 0.6, "sd": 0.4},
                "capacity": 2,
                "wait_irritation": 1.5,
                "time_irritation": 0.8,
                "errors": {"p": 0.2, "irritation": 1, "max_attempts": 3},
            },
            {"name": "review", "irritation": -0.5, "duration": 0.3},
        ],
    },
    "two-queues-and-a-merge": {
        "horizon": 800,
        "arrivals": {"rate": 3, "profile": [0.5] * 12 + [1.5] * 12},
        "segments": TWO_SEGMENTS,
        "steps": [
            {
                "name": "desk",
                "duration": {"dist": "exponential", "mean": 0.5},
                "capacity": 2,
                "wait_irritation": 0.5,
                "next": [{"to": "left", "p": 0.5}, {"to": "right", "p": 0.5}],
            },
            {
                "name": "left",
                "duration": {"dist": "uniform", "low": 0.1, "high": 2},
                "next": "gate",
            },
            {"name": "right", "fields": 3, "duration": 1, "next": "gate"},
            {
                "name": "gate",
                "duration": {"dist": "gamma", "mean": 0.8, "sd": 0.5},
                "capacity": 3,
                "wait_irritation": 2,
                "errors": {"p": 0.1, "irritation": 2, "max_attempts": 2},
            },
        ],
    },
    "overloaded-no-reneging": {
        # no waiting irritation: nobody reneges, the queue only grows; customers
        # leave only by errors and time cost
        "horizon": 300,
        "arrivals": {"rate": 2},
        "segments": [{**TWO_SEGMENTS[1], "share": 1}],
        "steps": [
            {
                "name": "one-desk",
                "duration": {"dist": "exponential", "mean": 0.6},
                "capacity": 1,
                "time_irritation": 0.3,
                "errors": {"p": 0.3, "irritation": 0.5, "max_attempts": 2},
            },
        ],
    },
}


@pytest.mark.parametrize("name", sorted(QUEUES))
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_queues_on_the_fast_path_equal_simpy_exactly(name, seed):
    scenario = make_scenario(**QUEUES[name])
    assert fastpath.supports(scenario)
    slow = simpy_engine.simulate(scenario, np.random.SeedSequence(seed))
    fast = fastpath.simulate(scenario, np.random.SeedSequence(seed))
    assert slow.step_waited.sum() > 50  # the queues were busy
    assert slow.abandoned_friction > 0
    assert_same(slow, fast)


@pytest.mark.parametrize("name", ["checkout_baseline", "checkout_streamlined", "mmc_queue"])
def test_bundled_flows_with_queues_take_the_fast_path_with_simpy_s_numbers(name):
    scenario = load_scenario(BUNDLED / f"{name}.yaml")
    assert uses_fast_path(scenario, "auto")
    seq = np.random.SeedSequence(42).spawn(2)[1]
    slow = simpy_engine.simulate(scenario, seq)
    assert slow.step_reneged.sum() > 0
    assert_same(slow, fastpath.simulate(scenario, seq))


def test_customers_arriving_at_once_are_left_to_simpy(monkeypatch):
    """Two customers reach a queue at the same instant: the fast path does not guess
    their order, it hands the replication to the SimPy engine."""
    scenario = make_scenario(**{**QUEUES["overloaded-no-reneging"], "horizon": 30})
    times = [0.0, 1.0, 1.0, 1.5, 2.0]
    with pytest.raises(fastpath._Tie):
        fastpath._simulate(scenario, np.random.SeedSequence(1), times)
    seq = np.random.SeedSequence(1)
    assert_same(
        simpy_engine.simulate(scenario, seq, arrivals=times),
        fastpath.simulate(scenario, seq, arrivals=times),
    )


def test_a_queue_step_that_takes_no_time_stays_on_simpy():
    scenario = make_scenario(steps=[{"name": "desk", "capacity": 2, "wait_irritation": 1}])
    assert "takes no time" in fastpath.unsupported_reason(scenario)
    assert not uses_fast_path(scenario, "auto")


@pytest.mark.parametrize("chunk", [BLOCK, 2 * BLOCK])
@pytest.mark.parametrize("name", ["queue-errors-time-cost", "two-queues-and-a-merge"])
def test_queues_walked_chunk_by_chunk_equal_simpy(name, chunk, monkeypatch):
    """Several chunks of customers: those still waiting in a queue (or still on their
    way) when a chunk is walked are carried into the next, and sums wait for events
    that a later chunk could bring earlier; the numbers stay SimPy's."""
    monkeypatch.setattr(fastpath, "CHUNK", chunk)
    spec = {**QUEUES[name], "horizon": 8000, "arrivals": {"rate": 3.5}}
    scenario = make_scenario(**spec)
    seq = np.random.SeedSequence(11)
    slow = simpy_engine.simulate(scenario, seq)
    assert slow.visitors > 3 * chunk
    assert slow.step_waited.sum() > 1000
    assert_same(slow, fastpath.simulate(scenario, seq))


def test_an_arrival_clock_carries_across_chunks():
    times = np.array([1e-300, 1.0, 3.0000000000000004, 1e6 + 0.1, 1e6 + 0.1, 1e6 + 0.2])
    whole = fastpath._arrival_clock(times)
    pieces = list(fastpath._clock_chunks([times[:2], times[2:5], times[5:]], 2))
    assert [p.size for p in pieces] == [2, 2, 2]
    assert np.concatenate(pieces).tolist() == whole.tolist()


# -- random flows with queues ----------------------------------------------------------------

DURATIONS = st.sampled_from(
    [
        {"dist": "exponential", "mean": 0.7},
        {"dist": "lognormal", "mean": 1.0, "sd": 0.8},
        {"dist": "uniform", "low": 0.2, "high": 1.5},
        0.9,
    ]
)


@st.composite
def queue_flows(draw):
    n = draw(st.integers(1, 4))
    steps = []
    for k in range(n):
        step = {"name": f"s{k}", "irritation": draw(st.sampled_from([0, 0.5, 2, -1]))}
        if draw(st.booleans()):
            step["duration"] = draw(DURATIONS)
        if draw(st.booleans()):
            step["exit"] = draw(st.sampled_from([0.05, 0.2]))
            if draw(st.booleans()):
                step["exit_irritation"] = 0.01
        if draw(st.booleans()):
            step["errors"] = {
                "p": draw(st.sampled_from([0.1, 0.4])),
                "irritation": draw(st.sampled_from([0, 1])),
                "max_attempts": draw(st.integers(1, 3)),
            }
        if draw(st.booleans()):
            step["time_irritation"] = draw(st.sampled_from([0.2, 1.5]))
        steps.append(step)
    for k in draw(st.sets(st.integers(0, n - 1), min_size=1)):  # at least one queue
        steps[k]["duration"] = draw(DURATIONS)
        steps[k]["capacity"] = draw(st.integers(1, 4))
        steps[k]["wait_irritation"] = draw(st.sampled_from([0, 0.3, 2]))
        if draw(st.booleans()):
            steps[k]["balk_at"] = draw(st.integers(0, 3))
    for k, step in enumerate(steps[:-1]):  # a fallback to a later step, for some
        if "errors" in step and draw(st.booleans()):
            step["errors"]["fallback"] = f"s{draw(st.integers(k + 1, n - 1))}"
    if n >= 3 and draw(st.booleans()):  # a branch that skips a step
        steps[0]["next"] = [{"to": "s1", "p": 0.6}, {"to": "s2", "p": 0.4}]
    segments = [
        {**TWO_SEGMENTS[0], "commitment": draw(st.sampled_from([0, 0.5]))},
        TWO_SEGMENTS[1],
    ]
    rate = draw(st.sampled_from([0.5, 2, 5]))
    return {"horizon": 120, "arrivals": {"rate": rate}, "segments": segments, "steps": steps}


@settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(queue_flows(), st.integers(0, 2**32 - 1))
def test_random_flows_with_queues_equal_simpy_field_for_field(spec, seed):
    scenario = make_scenario(**spec)
    assert fastpath.supports(scenario)
    seq = np.random.SeedSequence(seed)
    assert_same(simpy_engine.simulate(scenario, seq), fastpath.simulate(scenario, seq))


@st.composite
def plain_flows(draw):
    """The flows of :func:`queue_flows` without their queues, some with a segment's own
    exit, error chance and branch probabilities."""
    spec = draw(queue_flows())
    for step in spec["steps"]:
        for key in ("capacity", "wait_irritation", "balk_at"):
            step.pop(key, None)
    first = spec["steps"][0]
    if draw(st.booleans()):
        own = {"exit": draw(st.sampled_from([0.0, 0.3]))}
        if "errors" in first:
            own["errors"] = {"p": draw(st.sampled_from([0.0, 0.6]))}
        if "next" in first:
            own["next"] = [{"to": "s1", "p": 0.1}, {"to": "s2", "p": 0.9}]
        first["by_segment"] = {"mobile": own}
    return spec


@settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(plain_flows(), st.integers(0, 2**32 - 1))
def test_random_flows_without_queues_equal_simpy_field_for_field(spec, seed):
    scenario = make_scenario(**spec)
    assert fastpath.supports(scenario)
    seq = np.random.SeedSequence(seed)
    assert_same(simpy_engine.simulate(scenario, seq), fastpath.simulate(scenario, seq))


def test_the_compiled_and_the_python_kernel_agree_bit_for_bit(kernel):
    if kernel == "python":
        pytest.skip("one comparison is enough")
    rng = np.random.default_rng(3)
    n = 3000
    arrive = np.cumsum(rng.exponential(0.3, n))
    args = (
        arrive,
        rng.uniform(0, 3, n),  # irritation on arriving
        rng.exponential(6, n) + 3,  # limit
        rng.choice([0.8, 1.0, 1.3], n),  # sensitivity
        rng.choice([0.0, 0.2], n),  # error chance
        rng.lognormal(0, 0.6, (3, n)),  # durations of 3 attempts
        None,
        rng.random((3, n)),
        3,
        1.5,  # wait irritation
        0.4,  # time irritation
        1.0,  # error irritation
    )
    fast, slow = fcfs.State(2, python=False), fcfs.State(2, python=True)
    half = n // 2  # in two batches, the queue's state carried between them
    compiled = [fcfs.run(fast, *part(args, rows)) for rows in (slice(0, half), slice(half, n))]
    python = [fcfs.run(slow, *part(args, rows)) for rows in (slice(0, half), slice(half, n))]
    assert sum(out[5] for out in compiled) > 100  # waits
    assert sum(out[9] for out in compiled) > 10  # reneging customers
    assert (fast.n_held, fast.max_busy) == (slow.n_held, slow.max_busy)
    assert list(fast.units) == list(slow.units)

    def used(out):  # the waits and holds arrays are filled up to their counts
        w, h = out[5], out[8]
        return [*out[:3], out[3][:w], out[4][:w], w, out[6][:h], out[7][:h], *out[8:]]

    for x, y in zip(compiled, python):
        for a, b in zip(used(x), used(y)):
            assert np.array_equal(np.asarray(a), np.asarray(b))


def part(args, rows):
    """The kernel's arguments for the customers ``rows`` (arrays cut, scalars kept)."""
    return tuple(
        a[rows]
        if isinstance(a, np.ndarray) and a.ndim == 1
        else a[:, rows]
        if isinstance(a, np.ndarray)
        else a
        for a in args
    )


@pytest.mark.parametrize("spec", ["mmc", "checkout"])
def test_the_fast_path_s_memory_does_not_grow_with_the_customers(spec, kernel):
    """Peak memory allocated during one replication (tracemalloc sees numpy's arrays)
    at 2 and at 8 chunks of customers: the same working set, not 4 times as much."""
    if kernel == "python":
        pytest.skip("the kernel does not change what is held")
    import tracemalloc

    def peak(n: int) -> int:
        if spec == "mmc":
            scenario = load_scenario(BUNDLED / "mmc_queue.yaml", overrides=[f"horizon={n / 9}"])
        else:
            scenario = load_scenario(
                BUNDLED / "checkout_baseline.yaml", overrides=[f"horizon={n / 1.5}"]
            )
        fastpath.simulate(scenario, np.random.SeedSequence(1))  # compiled, warmed up
        tracemalloc.start()
        result = fastpath.simulate(scenario, np.random.SeedSequence(2))
        top = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert result.visitors > 0.9 * n
        return top

    small, large = peak(2 * fastpath.CHUNK), peak(8 * fastpath.CHUNK)
    assert large < 1.2 * small, (small, large)  # the bound: within 20 %


def test_run_json_counts_the_replications_the_fast_path_left_to_simpy(tmp_path, monkeypatch):
    """A replication with events at one instant goes to the SimPy engine (the same
    numbers): the run still says ``engine: fast`` and ``run.json`` counts those."""
    import json

    from frictionsim.results import write_study
    from frictionsim.studies import run

    scenario = make_scenario(**{**QUEUES["overloaded-no-reneging"], "horizon": 300})
    real, calls = fastpath._simulate, []

    def tie_on_the_second(*args):
        calls.append(1)
        if len(calls) == 2:
            raise fastpath._Tie
        return real(*args)

    monkeypatch.setattr(fastpath, "_simulate", tie_on_the_second)
    done = run(scenario, seed=5, replications=3, engine="fast", jobs=1)
    assert [r.engine for r in done.results] == ["fast", "simpy", "fast"]
    assert (done.engine, done.simpy_replications) == ("fast", 1)
    write_study(done, tmp_path / "out", "s.yaml", False)
    meta = json.loads((tmp_path / "out" / "run.json").read_text())
    assert (meta["engine"], meta["simpy_replications"]) == ("fast", 1)
    simpy = run(scenario, seed=5, replications=3, engine="simpy", jobs=1)
    assert (simpy.engine, simpy.simpy_replications) == ("simpy", 0)
    assert simpy.summary == done.summary
