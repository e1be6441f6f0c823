"""Word of mouth and returns on the fast path (:mod:`frictionsim.sim.talking`): field for
field the SimPy engine's result, where the delays of ``word_of_mouth`` and ``repeat``
have a positive least value.

Referral and returning visits take their source's rows in the order they arrive,
deterrals take the first organic prospect from their time on, and a visit's word of
mouth and return are drawn in the order visits end: each is an order SimPy's event queue decides,
and these tests hold the windows of the fast path to it, on hand-made flows (queues,
errors, segments, deterrals that find no prospect) and on random ones (hypothesis).
``simulate_talking`` is called directly, so a replication handed to SimPy (an instant
whose order only it knows) would fail the test instead of passing unseen.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frictionsim.errors import SimulationError
from frictionsim.execution import uses_fast_path
from frictionsim.sim import fastpath, fcfs, simpy_engine
from frictionsim.sim import talking as talking_module
from frictionsim.sim.codes import ORGANIC, REFERRAL, RETURNING
from frictionsim.sim.talking import simulate_talking

from .conftest import make_scenario
from .test_fastpath import assert_same
from .test_fastpath_queues import QUEUES, plain_flows, queue_flows


@pytest.fixture(params=["compiled", "python"], autouse=True)
def kernel(request, monkeypatch):
    """Every test with the numba-compiled kernels (where installed) and in plain Python;
    windows of any size (the least size is a matter of speed, not of numbers)."""
    if request.param == "compiled" and fcfs.compiled() is None:
        pytest.skip("numba is not installed (pip install 'frictionsim[fast]')")
    monkeypatch.setattr(fastpath, "PYTHON_QUEUES", request.param == "python")
    monkeypatch.setattr(fastpath, "PYTHON_STEPS", request.param == "python")
    monkeypatch.setattr(fastpath, "MIN_WINDOW", 0)
    monkeypatch.setattr(talking_module, "PYTHON_TALK", request.param == "python")
    return request.param


#: Word of mouth that keeps the loop busy within a short horizon.
BUSY = {
    "delay": {"dist": "uniform", "low": 20, "high": 90},
    "promoters": {"tell": {"dist": "poisson", "mean": 4}, "visit": 0.3},
    "passives": {"tell": {"dist": "poisson", "mean": 2}, "visit": 0.2},
    "detractors": {"tell": {"dist": "poisson", "mean": 6}, "deter": 0.1, "visit": 0.05},
    "abandoners": {"tell": {"dist": "fixed", "value": 3}, "deter": 0.2},
}

DELAYS = st.sampled_from([
    {"dist": "fixed", "value": 25},
    {"dist": "uniform", "low": 10, "high": 60},
    {"dist": "triangular", "low": 15, "mode": 20, "high": 120},
    {"dist": "empirical", "values": [0, 12, 40], "weights": [0, 1, 2]},
])  # fmt: skip


#: Returns that keep the loop busy within a short horizon.
BACK = {
    "delay": {"dist": "uniform", "low": 30, "high": 200},
    "promoters": 0.6,
    "passives": 0.4,
    "detractors": 0.2,
    "abandoners": 0.3,
    "saved_fields": 0.5,
}


def talking(spec: dict, wom: dict | None = None, repeat: dict | None = None) -> object:
    extra = {} if repeat is None else {"repeat": repeat}
    return make_scenario(**spec, word_of_mouth=BUSY if wom is None else wom, **extra)


#: A step whose fields a returning customer has saved, and whose relief then takes
#: their irritation below 0 (entry 1 for a new customer, -0.5 for a returning one).
RELIEF = {"name": "relief", "irritation": -2, "fields": 3, "per_field": 1}


@pytest.mark.parametrize("name", sorted(QUEUES))
@pytest.mark.parametrize("seed", [1, 2])
def test_word_of_mouth_through_queues_equals_simpy(name, seed):
    scenario = talking({**QUEUES[name], "horizon": 900})
    assert fastpath.unsupported_reason(scenario) is None
    seq = np.random.SeedSequence(seed)
    slow = simpy_engine.simulate(scenario, seq)
    assert slow.source_visitors[REFERRAL] > 50  # the loop was busy
    assert slow.prospects_lost > 20
    assert slow.step_waited.sum() > 50
    assert_same(slow, simulate_talking(scenario, seq, None))


def test_deterrals_that_find_no_prospect_and_visits_after_the_last_arrival():
    """A slow trickle of organic arrivals and a long delay: deterrals wait for a prospect,
    some find none before the horizon, and referrals come when no organic arrival is
    left to open a window."""
    spec = {**QUEUES["queue-errors-time-cost"], "horizon": 600, "arrivals": {"rate": 0.3}}
    wom = {
        **BUSY,
        "delay": {"dist": "uniform", "low": 100, "high": 400},
        "detractors": {"tell": {"dist": "poisson", "mean": 6}, "deter": 0.6},
        "promoters": {"tell": {"dist": "poisson", "mean": 3}, "deter": 0.2, "visit": 0.2},
    }
    scenario = talking(spec, wom)
    seq = np.random.SeedSequence(5)
    slow = simpy_engine.simulate(scenario, seq)
    assert slow.deterrals_unused > 0
    assert slow.prospects_lost > 0
    assert slow.source_visitors[REFERRAL] > 0
    assert_same(slow, simulate_talking(scenario, seq, None))


@pytest.mark.parametrize("chunk", [4096, 8192])
def test_windows_cut_short_by_a_full_chunk_equal_simpy(chunk, monkeypatch):
    """More organic arrivals in half the least delay than a chunk holds: the window ends
    at the first arrival of the next chunk, as the fast path's chunks do."""
    monkeypatch.setattr(fastpath, "CHUNK", chunk)
    spec = {**QUEUES["two-queues-and-a-merge"], "horizon": 9000, "arrivals": {"rate": 4}}
    wom = {**BUSY, "delay": {"dist": "uniform", "low": 3000, "high": 5000}}
    scenario = talking(spec, wom)
    seq = np.random.SeedSequence(3)
    slow = simpy_engine.simulate(scenario, seq)
    assert slow.source_visitors[ORGANIC] > 3 * chunk
    assert slow.source_visitors[REFERRAL] > 100
    assert_same(slow, simulate_talking(scenario, seq, None))


@st.composite
def talking_flows(draw, flows):
    spec = draw(flows)
    talk = {}
    for kind, key in (("promoters", "visit"), ("passives", "visit"),
                      ("detractors", "deter"), ("abandoners", "deter")):  # fmt: skip
        if draw(st.booleans()):
            mean = draw(st.sampled_from([0, 1, 3]))
            talk[kind] = {"tell": {"dist": "poisson", "mean": mean},
                          key: draw(st.sampled_from([0.1, 0.5]))}  # fmt: skip
    spec["horizon"] = draw(st.sampled_from([120, 400]))
    if draw(st.booleans()):
        spec["steps"] = [RELIEF, *spec["steps"]]
    for step in spec["steps"]:  # defects that surface after the order: a later talk
        if draw(st.integers(0, 3)) == 0:
            step["defect"] = {"p": draw(st.sampled_from([0.2, 0.6])), "irritation": 3,
                              "delay": draw(st.sampled_from([0, 45, 300])),
                              "cost": draw(st.sampled_from([0, 2.5]))}  # fmt: skip
    back = None
    if draw(st.booleans()):
        back = {"delay": draw(DELAYS), "saved_fields": draw(st.sampled_from([0, 0.5, 1])),
                "promoters": draw(st.sampled_from([0.0, 0.5]))}  # fmt: skip
    return spec, {"delay": draw(DELAYS), **talk}, back


def both_engines_agree(spec: dict, wom: dict, back: dict | None, seed: int) -> None:
    scenario = talking(spec, wom, back)
    assert fastpath.unsupported_reason(scenario) is None
    seq = np.random.SeedSequence(seed)
    assert_same(simpy_engine.simulate(scenario, seq), fastpath.simulate(scenario, seq))


SETTINGS = settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@SETTINGS
@given(talking_flows(queue_flows()), st.integers(0, 2**32 - 1))
def test_random_flows_with_queues_and_word_of_mouth_equal_simpy(spec_wom, seed):
    both_engines_agree(*spec_wom, seed)


@SETTINGS
@given(talking_flows(plain_flows()), st.integers(0, 2**32 - 1))
def test_random_flows_without_queues_with_word_of_mouth_equal_simpy(spec_wom, seed):
    both_engines_agree(*spec_wom, seed)


def test_visits_that_grow_without_bound_stop_both_engines_with_one_message():
    wom = {**BUSY, "promoters": {"tell": {"dist": "fixed", "value": 50}, "visit": 1.0},
           "passives": {"tell": {"dist": "fixed", "value": 50}, "visit": 1.0}}  # fmt: skip
    spec = {**QUEUES["queue-errors-time-cost"], "horizon": 5000, "arrivals": {"rate": 0.5}}
    scenario = talking(spec, wom)
    messages = []
    for run in (simpy_engine.simulate, lambda s, q: simulate_talking(s, q, None)):
        with pytest.raises(SimulationError) as caught:
            run(scenario, np.random.SeedSequence(1))
        messages.append(str(caught.value))
    assert messages[0] == messages[1]
    assert "word_of_mouth visit chances" in messages[0]


@pytest.mark.parametrize(
    "delay",
    [
        {"dist": "exponential", "mean": 60},
        {"dist": "lognormal", "mean": 60, "sd": 20},
        {"dist": "uniform", "low": 0, "high": 60},
    ],
)
def test_delays_that_reach_down_to_zero_stay_on_simpy(delay):
    scenario = talking(QUEUES["overloaded-no-reneging"], {**BUSY, "delay": delay})
    assert "word_of_mouth.delay can be as short as 0" in fastpath.unsupported_reason(scenario)
    assert not uses_fast_path(scenario, "auto")


def test_windows_too_short_to_pay_off_stay_on_simpy(monkeypatch):
    monkeypatch.setattr(fastpath, "MIN_WINDOW", 100)
    spec = {**QUEUES["overloaded-no-reneging"], "arrivals": {"rate": 2}}
    short = talking(spec, {**BUSY, "delay": {"dist": "fixed", "value": 30}})  # 30 a window
    assert "too few for the fast path's windows" in fastpath.unsupported_reason(short)
    long = talking(spec, {**BUSY, "delay": {"dist": "fixed", "value": 300}})  # 300 a window
    assert fastpath.unsupported_reason(long) is None
    assert uses_fast_path(long, "auto")


@pytest.mark.parametrize("name", sorted(QUEUES))
def test_returning_customers_through_queues_equal_simpy(name):
    """Returning customers keep their segment and tolerance, order a value of their
    segment and have their fields saved (a relief then below 0 for them only)."""
    spec = {**QUEUES[name], "horizon": 900}
    spec["steps"] = [RELIEF, *spec["steps"]]
    scenario = talking(spec, repeat=BACK)
    assert fastpath.unsupported_reason(scenario) is None
    seq = np.random.SeedSequence(4)
    slow = simpy_engine.simulate(scenario, seq)
    assert slow.source_visitors[RETURNING] > 100
    assert slow.source_visitors[REFERRAL] > 50
    assert_same(slow, simulate_talking(scenario, seq, None))


def test_returns_without_word_of_mouth_equal_simpy():
    spec = {**QUEUES["two-queues-and-a-merge"], "horizon": 900}
    scenario = make_scenario(**spec, repeat=BACK)
    assert fastpath.unsupported_reason(scenario) is None
    seq = np.random.SeedSequence(6)
    slow = simpy_engine.simulate(scenario, seq)
    assert slow.source_visitors[RETURNING] > 100
    assert slow.source_visitors[REFERRAL] == 0
    assert_same(slow, simulate_talking(scenario, seq, None))


@pytest.mark.parametrize(
    "delay", [{"dist": "exponential", "mean": "14d"}, {"dist": "fixed", "value": 0}]
)
def test_returns_that_can_come_at_once_stay_on_simpy(delay):
    scenario = talking(QUEUES["overloaded-no-reneging"], repeat={**BACK, "delay": delay})
    assert "repeat.delay can be as short as 0" in fastpath.unsupported_reason(scenario)
    slow = simpy_engine.simulate(scenario, np.random.SeedSequence(1))
    assert slow.source_visitors[RETURNING] > 0


def test_referrals_that_tie_with_others_at_a_queue_are_left_to_simpy():
    """A fixed delay sends everyone a customer told to the shop at the same instant, and
    a flow of fixed durations brings them to the queue together: who is served first is
    SimPy's event queue's to say, so the replication is SimPy's, with its numbers."""
    spec = {
        "horizon": 400,
        "arrivals": {"rate": 0.5},
        "steps": [
            {"name": "cart", "duration": 1},
            {"name": "pay", "duration": 2, "capacity": 1, "wait_irritation": 0.1},
        ],
    }
    wom = {**BUSY, "delay": {"dist": "fixed", "value": 30}}
    scenario = talking(spec, wom)
    seq = np.random.SeedSequence(2)
    with pytest.raises(fastpath._Tie):
        simulate_talking(scenario, seq, None)
    slow = simpy_engine.simulate(scenario, seq)
    assert slow.source_visitors[REFERRAL] > 0
    assert_same(slow, fastpath.simulate(scenario, seq))


@pytest.mark.parametrize(
    ("tell", "delay"),
    [
        ({"dist": "poisson", "mean": 3}, {"dist": "uniform", "low": 10, "high": 60}),
        ({"dist": "poisson", "mean": 40}, {"dist": "triangular", "low": 5, "mode": 9, "high": 90}),
        ({"dist": "fixed", "value": 4}, {"dist": "fixed", "value": 30}),
    ],
    ids=["poisson-uniform", "large-poisson-triangular", "fixed-fixed"],
)
def test_the_compiled_talk_loop_draws_python_s_numbers(tell, delay, kernel):
    """The word of mouth and returns of a few thousand ended visits, drawn by the compiled
    loop and by the Python loop from the same streams: the same visits, for the same
    customers, in the same order, the same deterrals, and the streams left alike."""
    if kernel == "python" or talking_module.compiled_loop() is None:
        pytest.skip("the compiled loop needs numba with Generator.binomial")
    wom = {
        "delay": delay,
        **{k: {"tell": tell, "visit": 0.2, "deter": 0.05} for k in
           ("promoters", "passives", "detractors", "abandoners")},
    }  # fmt: skip
    scenario = make_scenario(
        **{**QUEUES["overloaded-no-reneging"], "horizon": 100_000},
        word_of_mouth=wom,
        repeat={**BACK, "delay": delay},
    )
    rng = np.random.default_rng(3)
    n = 4000
    times = np.sort(rng.uniform(0, 4.9, n))  # one window: the least delay is 5
    kinds = rng.integers(0, 4, n)
    segs, tols = rng.integers(0, 2, n), rng.uniform(1, 50, n)
    got = []
    for python in (False, True):
        talk = talking_module._Talk(scenario, np.random.SeedSequence(9))
        assert talk.laws is not None
        talk.times, talk.kinds, talk.segs, talk.tols = times, kinds, segs, tols
        talking_module.PYTHON_TALK = python
        try:
            talk.speak(4.9)  # every visit ended before: all talk now
        finally:
            talking_module.PYTHON_TALK = False
        got.append(
            (sorted(talk.visits), sorted(talk.deterrals), talk.scheduled,
             talk.wom_rng.random(), talk.repeat_rng.random())
        )  # fmt: skip
    assert got[0][2] > 500
    assert len(got[0][1]) > 50
    assert got[0] == got[1]


#: Defects at two steps: the later one's delay is the longer, costs add up.
DEFECTS = [
    {"p": 0.3, "irritation": 4, "delay": 120, "cost": 2.5},
    {"p": 0.2, "irritation": 6, "delay": "1d", "cost": 10},
]


@pytest.mark.parametrize("talks", [False, True], ids=["defects-only", "with-word-of-mouth"])
def test_defects_that_surface_after_the_order_equal_simpy(talks):
    """A defect surfaces after the order: the buyer's experience ends on it (their score,
    and so what they say and whether they come back, then), it is counted, and its
    remediation cost is summed in the order defects surface."""
    spec = {**QUEUES["two-queues-and-a-merge"], "horizon": 900}
    steps = [dict(s) for s in spec["steps"]]
    steps[0]["defect"], steps[-1]["defect"] = DEFECTS
    spec["steps"] = steps
    scenario = talking(spec, repeat=BACK) if talks else make_scenario(**spec)
    assert fastpath.unsupported_reason(scenario) is None
    seq = np.random.SeedSequence(8)
    slow = simpy_engine.simulate(scenario, seq)
    assert slow.defects > 100
    assert slow.remediation_costs > 0
    fast = (
        simulate_talking(scenario, seq, None) if talks else fastpath._simulate(scenario, seq, None)
    )
    assert_same(slow, fast)


def test_a_defect_that_sends_buyers_to_the_service_stays_on_simpy():
    spec = {**QUEUES["overloaded-no-reneging"]}
    spec["steps"] = [{**spec["steps"][0], "defect": {**DEFECTS[0], "contact": 0.5}}]
    spec["service"] = {"steps": [{"name": "agent", "duration": 5, "capacity": 1}]}
    scenario = make_scenario(**spec)
    assert "service is not supported" in fastpath.unsupported_reason(scenario)
    contact = scenario.steps[0].defect
    assert contact is not None
    assert contact.contact == 0.5  # and the contact itself is no field the fast path knows
    assert "contact" not in fastpath.KNOWN_FIELDS["Defect"]
