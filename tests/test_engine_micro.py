"""Hand-computed micro-scenarios: fixed distributions and arrivals give exact outcomes and times."""

from __future__ import annotations

import numpy as np
import pytest

from frictionsim.sim.codes import EXIT, FRICTION, ORDER

from .conftest import make_scenario, run_once


def outcomes(result):
    c = result.customers
    return list(zip(c["outcome"].tolist(), c["step"].tolist(), c["end"].tolist()))


def test_irritation_accumulates_and_sensitivity_scales_it():
    # entry irritation: a = 2, b = 5 fields * 1 = 5, c = 4 -> cumulative 2, 7, 11 >= 10 at c
    steps = [
        {"name": "a", "irritation": 2, "duration": 1},
        {"name": "b", "fields": 5, "duration": 2},
        {"name": "c", "irritation": 4, "duration": 3},
    ]
    plain = run_once(make_scenario(steps=steps), arrivals=[0.0], record_customers=True)
    # abandons on entering c, after a (1 min) and b (2 min)
    assert outcomes(plain) == [(FRICTION, 2, 3.0)]
    assert plain.step_abandoned_friction.tolist() == [0, 0, 1]
    assert plain.lost_revenue_friction == 50.0
    assert plain.customers["irritation"].tolist() == [11.0]

    calm = [{"name": "all", "share": 1, "tolerance": 10, "order_value": 50, "sensitivity": 0.5}]
    relaxed = run_once(
        make_scenario(steps=steps, segments=calm), arrivals=[0.0], record_customers=True
    )
    # 1 + 2.5 + 2 = 5.5 < 10: orders after 1 + 2 + 3 minutes
    assert outcomes(relaxed) == [(ORDER, -1, 6.0)]
    assert relaxed.revenue == 50.0
    assert relaxed.checkout_time_total == 6.0


def test_tolerance_reached_exactly_abandons():
    steps = [{"name": "a", "irritation": 10}]
    r = run_once(make_scenario(steps=steps), arrivals=[0.0])
    assert (r.abandoned_friction, r.orders) == (1, 0)


def test_step_per_field_overrides_global_default():
    steps = [{"name": "a", "fields": 4, "per_field": 2.5}]  # 10 >= tolerance 10
    r = run_once(make_scenario(steps=steps), arrivals=[0.0])
    assert r.abandoned_friction == 1


def test_exit_is_counted_apart_from_friction():
    steps = [{"name": "a", "duration": 2}, {"name": "b", "exit": 1.0}]
    r = run_once(make_scenario(steps=steps), arrivals=[0.0, 1.0], record_customers=True)
    assert outcomes(r) == [(EXIT, 1, 2.0), (EXIT, 1, 3.0)]
    assert (r.abandoned_exit, r.abandoned_friction) == (2, 0)
    assert r.step_abandoned_exit.tolist() == [0, 2]
    assert (r.lost_revenue_exit, r.lost_revenue_friction) == (100.0, 0.0)


def test_friction_is_felt_before_the_exit_draw():
    # entry irritation reaches the tolerance, so the exit (p=1) is never drawn
    steps = [{"name": "a", "irritation": 12, "exit": 1.0}]
    r = run_once(make_scenario(steps=steps), arrivals=[0.0])
    assert (r.abandoned_friction, r.abandoned_exit) == (1, 0)


def test_queue_with_reneging_exact_times():
    # capacity 1, service 5 min, patience = tolerance / wait_irritation = 3.5 min
    steps = [{"name": "desk", "capacity": 1, "duration": 5, "wait_irritation": 1}]
    segs = [{"name": "all", "share": 1, "tolerance": 3.5, "order_value": 50}]
    r = run_once(
        make_scenario(steps=steps, segments=segs), arrivals=[0.0, 1.0, 2.0], record_customers=True
    )
    # 0: served 0-5. 1: waits from 1, reneges at 4.5. 2: waits from 2, gets the desk
    # at 5 (irritation 3 < 3.5), served 5-10.
    assert outcomes(r) == [(ORDER, -1, 5.0), (FRICTION, 0, 4.5), (ORDER, -1, 10.0)]
    assert r.step_reneged.tolist() == [1]
    assert r.step_waited.tolist() == [2]
    assert r.step_wait_total[0] == pytest.approx(3.5 + 3.0)
    assert r.step_busy_time.tolist() == [10.0]
    assert r.step_max_in_service.tolist() == [1]
    assert r.step_in_service_at_end.tolist() == [0]
    assert r.customers["irritation"].tolist() == pytest.approx([0.0, 3.5, 3.0])


def test_failed_attempts_repeat_the_duration_and_add_irritation():
    steps = [
        {"name": "pay", "duration": 2, "errors": {"p": 1.0, "irritation": 4, "max_attempts": 3}}
    ]
    # tolerance 10: failures at 2, 4, 6 bring irritation to 4, 8, 12 -> leaves at 6
    r = run_once(make_scenario(steps=steps), arrivals=[0.0], record_customers=True)
    assert outcomes(r) == [(FRICTION, 0, 6.0)]
    assert r.step_failed_attempts.tolist() == [3]
    # tolerance 7: the second failure (irritation 8) ends it at 4
    segs = [{"name": "all", "share": 1, "tolerance": 7, "order_value": 50}]
    r = run_once(make_scenario(steps=steps, segments=segs), arrivals=[0.0], record_customers=True)
    assert outcomes(r) == [(FRICTION, 0, 4.0)]
    assert r.step_failed_attempts.tolist() == [2]


def test_max_attempts_without_irritation_still_ends_in_friction():
    steps = [{"name": "pay", "duration": 1, "errors": {"p": 1.0, "max_attempts": 2}}]
    r = run_once(make_scenario(steps=steps), arrivals=[0.0], record_customers=True)
    assert outcomes(r) == [(FRICTION, 0, 2.0)]


def test_capacity_is_released_when_a_customer_gives_up_in_service():
    steps = [{"name": "pay", "capacity": 1, "duration": 2, "errors": {"p": 1.0, "max_attempts": 1}}]
    r = run_once(make_scenario(steps=steps), arrivals=[0.0, 0.5], record_customers=True)
    assert outcomes(r) == [(FRICTION, 0, 2.0), (FRICTION, 0, 4.0)]
    assert r.step_wait_total[0] == pytest.approx(1.5)
    assert r.step_in_service_at_end.tolist() == [0]


def test_branches_and_jumps_follow_next():
    steps = [
        {"name": "a", "next": "c"},
        {"name": "b", "irritation": 100},
        {"name": "c", "duration": 1},
    ]
    # b is unreachable, so validation refuses it; make it reachable with p=0 weight instead
    steps[0]["next"] = [{"to": "c", "p": 1.0}, {"to": "b", "p": 0.0}]
    with pytest.raises(Exception, match="never reached"):
        make_scenario(steps=steps)
    steps[0]["next"] = [{"to": "c", "p": 0.5}, {"to": "b", "p": 0.5}]
    steps[1]["irritation"] = 0
    r = run_once(make_scenario(steps=steps), arrivals=np.arange(400) * 0.1)
    assert r.step_entered[0] == 400
    # b's customers continue to c (the next listed step): everyone reaches c
    assert r.step_entered[2] == 400
    # binomial(400, 0.5): 4 standard deviations = 40
    assert abs(r.step_entered[1] - 200) <= 40


def test_every_arrival_finishes_after_the_horizon():
    steps = [{"name": "slow", "duration": 30}]
    r = run_once(make_scenario(steps=steps, horizon=60), arrivals=[59.0])
    assert r.orders == 1
    assert r.end_time == 89.0


def test_loops_with_an_exit_terminate():
    steps = [
        {"name": "form", "irritation": 1, "next": [{"to": "check", "p": 1.0}]},
        {"name": "check", "next": [{"to": "form", "p": 0.5}, {"to": "done", "p": 0.5}]},
        {"name": "done"},
    ]
    segs = [{"name": "all", "share": 1, "tolerance": 1e9, "order_value": 1}]
    r = run_once(make_scenario(steps=steps, segments=segs), arrivals=np.arange(2000) * 0.01)
    assert r.orders == 2000
    # visits to form are geometric with mean 2: 4 standard errors of the mean of 2000 draws
    mean_visits = r.step_entered[0] / 2000
    se = np.sqrt(2 / 2000)  # variance of geometric(1/2) counts is (1-p)/p^2 = 2
    assert abs(mean_visits - 2) <= 4 * se


def test_rounding_never_sends_a_customer_down_a_branch_of_p_zero():
    from frictionsim.sim import fastpath
    from frictionsim.sim.codes import ORGANIC
    from frictionsim.sim.streams import StepPlan, Streams

    # probabilities may sum to 1 - 1e-6; a draw above that must not reach the p = 0 branch
    steps = [
        {"name": "a", "next": [{"to": "b", "p": 0.5}, {"to": "c", "p": 0.4999995},
                               {"to": "b", "p": 0}]},
        {"name": "b", "next": "c"},
        {"name": "c"},
    ]  # fmt: skip
    scenario = make_scenario(steps=steps)
    plan = StepPlan(scenario, 0)
    assert plan.next_cum[0] == 0.5
    assert plan.next_cum[1:] == [float("inf")] * 2
    fast = fastpath._Step(scenario, 0, Streams(scenario, np.random.SeedSequence(1), ORGANIC))
    assert fast.next_cum[0] == 0.5
    assert np.all(np.isinf(fast.next_cum[1:]))
