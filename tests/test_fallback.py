"""Routing on failure (``errors.fallback``): after ``max_attempts`` failures a customer goes
on to another step (another payment method) instead of giving up."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from frictionsim.errors import ScenarioError
from frictionsim.execution import uses_fast_path
from frictionsim.sim import fastpath, simpy_engine
from frictionsim.studies import run_replications

from .conftest import make_scenario, one_segment
from .test_fastpath import assert_same

P, ATTEMPTS = 0.4, 2


def card_then_wallet(tolerance=1e9, capacity=None, **errors):
    pay = {
        "name": "card",
        "duration": {"dist": "exponential", "mean": 0.5},
        "errors": {
            "p": P,
            "irritation": 1,
            "max_attempts": ATTEMPTS,
            "fallback": "wallet",
            **errors,
        },
        "next": "review",
    }
    if capacity:
        pay.update(capacity=capacity, wait_irritation=0.5)
    return make_scenario(
        horizon=3000,
        arrivals={"rate": 2},
        segments=one_segment(
            {"dist": "fixed", "value": tolerance} if isinstance(tolerance, float) else tolerance
        ),
        steps=[
            {"name": "cart"},
            pay,
            {"name": "wallet", "duration": 0.3, "irritation": 0.5},
            {"name": "review"},
        ],
    )


def test_those_who_fail_every_attempt_go_on_to_the_fallback():
    # nobody abandons (tolerance 1e9): a customer reaches the wallet with chance p^m,
    # and every customer orders
    scenario = card_then_wallet()
    assert uses_fast_path(scenario)
    exact = P**ATTEMPTS
    for engine in ("simpy", "fast"):
        results = run_replications(scenario, 1, 4, jobs=1, engine=engine)
        n = sum(r.visitors for r in results)
        wallet = sum(int(r.step_entered[2]) for r in results)
        assert sum(r.orders for r in results) == n
        assert sum(int(r.step_abandoned_friction[1]) for r in results) == 0
        se = math.sqrt(exact * (1 - exact) / n)
        assert abs(wallet / n - exact) <= 4 * se, (engine, wallet / n, exact)
        failed = sum(int(r.step_failed_attempts[1]) for r in results)
        # failures per customer: k < m with chance P^k (1 - P), m with chance P^m
        dist = [P**k * (1 - P) for k in range(ATTEMPTS)] + [P**ATTEMPTS]
        mean = sum(k * q for k, q in enumerate(dist))
        sd = math.sqrt(sum(k * k * q for k, q in enumerate(dist)) - mean**2)
        assert mean == pytest.approx(P * (1 - P**ATTEMPTS) / (1 - P))
        assert abs(failed - n * mean) <= 4 * sd * math.sqrt(n)


@pytest.mark.parametrize("capacity", [None, 1])
@pytest.mark.parametrize("seed", [1, 2])
def test_the_fast_path_routes_as_simpy_does(capacity, seed):
    scenario = card_then_wallet({"dist": "exponential", "mean": 4}, capacity=capacity)
    seq = np.random.SeedSequence(seed)
    slow = simpy_engine.simulate(scenario, seq)
    assert slow.step_entered[2] > 50  # routed customers
    assert slow.step_abandoned_friction[1] > 20  # and some who could not bear the failures
    assert_same(slow, fastpath.simulate(scenario, seq))


@pytest.mark.parametrize(
    ("fallback", "message"),
    [
        ("walet", "no step named 'walet' (did you mean 'wallet'?)"),
        ("card", "a step cannot fall back to itself"),
    ],
)
def test_a_fallback_must_be_another_step(fallback, message):
    with pytest.raises(ScenarioError, match=re.escape(message)):
        card_then_wallet(fallback=fallback)


def test_a_fallback_to_an_earlier_step_is_a_loop_for_simpy():
    scenario = make_scenario(
        steps=[
            {"name": "cart"},
            {"name": "pay", "errors": {"p": 0.5, "max_attempts": 1, "fallback": "cart"}},
        ]
    )
    assert scenario.flow.has_cycle
    assert not uses_fast_path(scenario)
    results = run_replications(scenario, 1, 2, jobs=1)
    assert all(r.visitors == r.orders + r.abandoned_friction + r.abandoned_exit for r in results)


def test_a_fallback_loop_nobody_leaves_is_refused():
    # both steps always fail and send their customers to the other: nobody ever ends
    with pytest.raises(ScenarioError, match="no path leads to the end"):
        make_scenario(
            steps=[
                {"name": "card", "errors": {"p": 1, "max_attempts": 1, "fallback": "paypal"}},
                {"name": "paypal", "errors": {"p": 1, "max_attempts": 1, "fallback": "card"}},
            ]
        )


def test_those_who_fall_back_did_not_complete_the_step():
    from frictionsim.stats import funnel_rows

    scenario = card_then_wallet(p=1.0)  # every card attempt fails: all go to the wallet
    results = run_replications(scenario, 1, 1, jobs=1)
    card = next(row for row in funnel_rows(scenario, results) if row["step"] == "card")
    assert card["entered"] > 0
    assert card["completed"] == 0
    assert int(results[0].step_fell_back[1]) == card["entered"]
