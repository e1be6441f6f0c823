"""Properties that hold for any valid scenario (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frictionsim.scenario import END
from frictionsim.stats import run_metrics

from .conftest import make_scenario, run_once

probability = st.floats(0, 1)
small = st.floats(0, 5)


@st.composite
def scenarios(draw):
    n_steps = draw(st.integers(1, 4))
    steps = []
    for k in range(n_steps):
        step = {
            "name": f"s{k}",
            "irritation": draw(small),
            "fields": draw(st.integers(0, 6)),
            "exit": draw(st.floats(0, 0.5)),
            "duration": draw(st.sampled_from([0, 0.5, {"dist": "exponential", "mean": 1}])),
        }
        if draw(st.booleans()):
            step["errors"] = {
                "p": draw(st.floats(0, 0.9)),
                "irritation": draw(small),
                "max_attempts": draw(st.integers(1, 3)),
            }
        if draw(st.booleans()):
            step["capacity"] = draw(st.integers(1, 3))
            step["wait_irritation"] = draw(st.sampled_from([0, 0.5, 2]))
        steps.append(step)
    if n_steps >= 3 and draw(st.booleans()):  # a branch that skips a step
        p = draw(st.floats(0.1, 0.9))
        steps[0]["next"] = [{"to": "s1", "p": p}, {"to": "s2", "p": 1 - p}]
    share = draw(st.floats(0.1, 0.9))
    segments = [
        {
            "name": "a",
            "share": share,
            "order_value": {"dist": "exponential", "mean": 50},
            "tolerance": {"dist": "exponential", "mean": draw(st.floats(1, 30))},
        },
        {
            "name": "b",
            "share": 1 - share,
            "order_value": 20,
            "sensitivity": draw(st.floats(0.2, 3)),
            "tolerance": {"dist": "lognormal", "mean": 10, "sd": 5},
        },
    ]
    rate = draw(st.floats(0.2, 5))
    return make_scenario(steps=steps, segments=segments, horizon=40, arrivals={"rate": rate})


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,  # the same examples every run: CI is never flaky
    suppress_health_check=[HealthCheck.too_slow],
)
@given(scenario=scenarios(), seed=st.integers(0, 2**32))
def test_every_customer_has_exactly_one_outcome(scenario, seed):
    r = run_once(scenario, seed, record_customers=True)
    c = r.customers
    assert np.array_equal(c["id"], np.arange(r.visitors))  # each customer exactly once
    assert r.orders + r.abandoned_friction + r.abandoned_exit == r.visitors
    assert r.step_abandoned_friction.sum() == r.abandoned_friction
    assert r.step_abandoned_exit.sum() == r.abandoned_exit
    assert r.segment_visitors.sum() == r.visitors
    assert r.segment_orders.sum() == r.orders
    assert r.step_entered[0] == r.visitors
    assert np.isclose(
        r.revenue + r.lost_revenue_friction + r.lost_revenue_exit, c["order_value"].sum()
    )
    # flow conservation: entries to a step = completions of the steps leading to it
    completed = r.step_entered - r.step_abandoned_friction - r.step_abandoned_exit
    inflow = np.zeros(len(scenario.steps) + 1)
    for i in range(len(scenario.steps)):
        succ = scenario.successors(i)
        if len(succ) == 1:
            inflow[succ[0][0]] += completed[i]
    if all(step.next is None for step in scenario.steps):
        assert np.array_equal(inflow[1:-1], r.step_entered[1:])
        assert completed[-1] == r.orders
    # capacity is never over-used, and all of it is given back (reneging customers included)
    for i, step in enumerate(scenario.steps):
        if step.capacity:
            assert r.step_max_in_service[i] <= step.capacity
            assert r.step_in_service_at_end[i] == 0
            assert r.step_reneged[i] <= r.step_waited[i]
        else:
            assert r.step_wait_total[i] == 0
    m = run_metrics(r, scenario)
    if r.visitors:
        assert 0 <= m["conversion_rate"] <= 1
    assert END not in c["step"][c["outcome"] > 0]


@settings(
    max_examples=15, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(scenario=scenarios(), seed=st.integers(0, 2**32))
def test_same_seed_same_results(scenario, seed):
    a, b = run_once(scenario, seed), run_once(scenario, seed)
    assert (a.orders, a.revenue, a.step_wait_total.tolist()) == (
        b.orders,
        b.revenue,
        b.step_wait_total.tolist(),
    )
