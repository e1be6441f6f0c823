"""The engine against exact answers: Erlang-A, Erlang C, closed-form funnels, error loops.

Tolerances are derived, not guessed: for a metric estimated by R independent
replications, |mean − exact| ≤ 4·SE with SE = sd/√R (a false alarm has
probability ~1e-4 for a normal mean, and the seeds are fixed), and each test
also asserts that SE is small relative to the exact value, so that a wrong
model (a few percent off) would fail. Queues start empty; no warm-up window
is dropped because the horizon (≥ 2000 minutes) is ~1000 times the
relaxation time of these queues (a few mean service times), which bounds the
start-up bias to ~0.1 % of the value, far below the SE.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from frictionsim.studies import run_replications
from frictionsim.theory import erlang_a, erlang_c

from .conftest import make_scenario


def queue_scenario(lam, mu, theta, n, horizon, warmup=0):
    tolerance = {"dist": "exponential", "mean": 1 / theta} if theta else 1e12
    return make_scenario(
        horizon=horizon,
        warmup=warmup,
        arrivals={"rate": lam},
        segments=[{"name": "all", "share": 1, "tolerance": tolerance, "order_value": 1}],
        steps=[
            {
                "name": "desk",
                "capacity": n,
                "wait_irritation": 1,
                "duration": {"dist": "exponential", "mean": 1 / mu},
            }
        ],
    )


def estimates(results, metric):
    values = np.array([metric(r) for r in results])
    return values.mean(), values.std(ddof=1) / math.sqrt(len(values))


def check(results, metric, exact, max_rel_se):
    """The exact value lies in the 99.9 % Student-t interval of the replication means.

    The first assertion guards the test's power: a wide interval would pass anything.
    """
    mean, se = estimates(results, metric)
    half = stats.t.ppf(0.9995, len(results) - 1) * se
    assert se < max_rel_se * exact, f"too imprecise to test: SE {se:.3g} vs exact {exact:.3g}"
    assert abs(mean - exact) <= half, f"simulated {mean:.5f} ± {half:.5f}, exact {exact:.5f}"


def p_abandon(r):
    return r.abandoned_friction / r.visitors


def p_wait(r):
    return r.step_waited[0] / r.step_entered[0]


def mean_wait(r):
    return r.step_wait_total[0] / r.step_entered[0]


ERLANG_A_CASES = [
    # lam, mu, theta, n, horizon, replications: below, at and above capacity
    pytest.param(9, 1, 1, 10, 2000, 10, id="rho0.9"),
    pytest.param(10, 1, 0.5, 10, 2000, 10, id="rho1.0"),
    pytest.param(12, 1, 1, 10, 2000, 10, id="overloaded-rho1.2"),
]


@pytest.mark.parametrize(("lam", "mu", "theta", "n", "horizon", "reps"), ERLANG_A_CASES)
def test_erlang_a(lam, mu, theta, n, horizon, reps):
    exact = erlang_a(lam, mu, theta, n)
    results = run_replications(queue_scenario(lam, mu, theta, n, horizon), 11, reps, jobs=1)
    check(results, p_abandon, exact.p_abandon, max_rel_se=0.05)
    check(results, p_wait, exact.p_wait, max_rel_se=0.05)
    check(results, mean_wait, exact.mean_wait, max_rel_se=0.05)
    # reneging customers never hold capacity and every unit is given back
    for r in results:
        assert r.step_max_in_service[0] <= n
        assert r.step_in_service_at_end[0] == 0
        assert r.step_reneged[0] == r.abandoned_friction


@pytest.mark.slow
def test_erlang_a_large_overloaded_call_centre():
    # REFERENCE table row: lam=110, mu=1, theta=0.1, n=100 (rho = 1.1).
    # The queue starts empty and needs about 10 minutes to fill (it holds ~100
    # customers, growing by ~10 a minute), so the first customers wait less than
    # in steady state: a bias of about 10 / horizon on waits. A long horizon
    # (3000 min, bias ~0.3 %) keeps it well below the test's resolution (~1 %).
    # P(W>0) is not checked here: its complement is 0.0007, and the few hundred
    # customers who find a free server while the system fills (seed 11, 12
    # replications: 0.99830 +- 0.00031 against 0.99926) dominate it.
    exact = erlang_a(110, 1, 0.1, 100)
    results = run_replications(queue_scenario(110, 1, 0.1, 100, 3000), 5, 6, jobs=2)
    check(results, p_abandon, exact.p_abandon, max_rel_se=0.02)
    check(results, mean_wait, exact.mean_wait, max_rel_se=0.02)


@pytest.mark.slow
def test_a_warm_up_removes_the_start_up_bias_of_an_overloaded_queue():
    # M/M/100+M at rho 1.1 (the REFERENCE row above): from empty the queue needs about
    # 10 minutes to fill, so over a 60-minute horizon customers wait less than in steady
    # state (seed 5, 20 replications: 0.776 +- 0.029 min against 0.909). A 60-minute
    # warm-up whose customers are not counted starts the counted hour with the queue
    # full, and the bias is gone (0.891 +- 0.039).
    exact = erlang_a(110, 1, 0.1, 100)
    cold = run_replications(queue_scenario(110, 1, 0.1, 100, 60), 5, 30, jobs=2)
    warm = run_replications(queue_scenario(110, 1, 0.1, 100, 60, warmup=60), 5, 30, jobs=2)
    mean, se = estimates(cold, mean_wait)
    assert mean + 4 * se < exact.mean_wait  # biased low, beyond its noise
    check(warm, mean_wait, exact.mean_wait, max_rel_se=0.05)
    check(warm, p_abandon, exact.p_abandon, max_rel_se=0.05)
    # only the customers who arrived after the warm-up are counted: about 110 x 60 each
    visitors = np.array([r.visitors for r in warm])
    assert abs(visitors.mean() - 6600) <= 4 * math.sqrt(6600 / len(warm))
    assert all(r.step_entered[0] == r.visitors for r in warm)
    assert all(r.arrivals_by_source[0].sum() == r.visitors for r in warm)


def test_a_warm_up_counts_nobody_who_arrived_in_it():
    # no queue wait that matters: every customer orders; with a 2-hour warm-up before a
    # 1-hour horizon only the third hour's arrivals are counted, and they are the same
    # customers (arrival times and random rows) as the third hour of a 3-hour run
    plain = queue_scenario(2, 1, 0, 1000, 180)
    warmed = queue_scenario(2, 1, 0, 1000, 60, warmup=120)
    (a,) = run_replications(plain, 3, 1, jobs=1, engine="simpy")
    (b,) = run_replications(warmed, 3, 1, jobs=1)
    assert a.visitors == a.orders
    assert b.visitors == b.orders
    assert b.visitors == a.arrivals_by_source[0][2]  # hourly bins of the 3-hour run
    assert list(b.arrivals_by_source[0]) == [b.visitors]
    assert 60 <= b.end_time < 70  # measured from the end of the warm-up


def test_infinite_tolerance_is_erlang_c():
    exact = erlang_c(8, 1, 10)
    results = run_replications(queue_scenario(8, 1, 0, 10, 5000), 3, 10, jobs=1)
    assert all(r.abandoned_friction == 0 for r in results)
    check(results, p_wait, exact.p_wait, max_rel_se=0.05)
    check(results, mean_wait, exact.mean_wait, max_rel_se=0.05)
    # utilisation over the run (until the last customer left) is the offered load
    # a / n = 0.8; the renege timers of patient customers (1e12 minutes away) must
    # not stretch the run
    check(results, lambda r: r.step_busy_time[0] / (10 * r.end_time), 0.8, max_rel_se=0.05)


def binomial_check(successes, trials, p):
    se = math.sqrt(p * (1 - p) / trials)
    assert abs(successes / trials - p) <= 4 * se, (successes / trials, p, se)


def test_funnel_with_exponential_tolerance_matches_closed_form():
    # memoryless tolerance T ~ Exp(mean m): P(abandon at k | reached k) = 1 - exp(-x_k / m);
    # survivors then leave with probability exit_k. Customers are independent (no capacity),
    # so counts are binomial.
    m = 5.0
    x = [1.0, 2.0, 0.5, 3.0]
    e = [0.1, 0.0, 0.2, 0.0]
    steps = [{"name": f"s{k}", "irritation": x[k], "exit": e[k], "duration": 1} for k in range(4)]
    scenario = make_scenario(
        horizon=20_000,
        arrivals={"rate": 2},
        segments=[
            {
                "name": "all",
                "share": 1,
                "order_value": 1,
                "tolerance": {"dist": "exponential", "mean": m},
            }
        ],
        steps=steps,
    )
    results = run_replications(scenario, 5, 2, jobs=1)
    entered = sum(r.step_entered for r in results)
    friction = sum(r.step_abandoned_friction for r in results)
    exits = sum(r.step_abandoned_exit for r in results)
    survive = 1.0
    for k in range(4):
        p_friction = 1 - math.exp(-x[k] / m)
        binomial_check(friction[k], entered[k], p_friction)
        binomial_check(exits[k], entered[k], (1 - p_friction) * e[k])
        survive *= math.exp(-x[k] / m) * (1 - e[k])
    visitors = sum(r.visitors for r in results)
    binomial_check(sum(r.orders for r in results), visitors, survive)


def test_error_loop_gives_up_with_probability_p_to_the_max_attempts():
    p, attempts = 0.3, 3
    scenario = make_scenario(
        horizon=50_000,
        arrivals={"rate": 2},
        segments=[{"name": "all", "share": 1, "tolerance": 1e12, "order_value": 1}],
        steps=[{"name": "pay", "duration": 1, "errors": {"p": p, "max_attempts": attempts}}],
    )
    results = run_replications(scenario, 9, 2, jobs=1)
    entered = sum(int(r.step_entered[0]) for r in results)
    gave_up = sum(r.abandoned_friction for r in results)
    binomial_check(gave_up, entered, p**attempts)
    # failed attempts per entrant: sum of p^k for k = 1..attempts; variance from its distribution
    failures = sum(int(r.step_failed_attempts[0]) for r in results)
    probs = [(p**k) * (1 - p) for k in range(attempts)] + [p**attempts]
    mean = sum(k * q for k, q in enumerate(probs))
    var = sum((k - mean) ** 2 * q for k, q in enumerate(probs))
    assert mean == pytest.approx(p + p**2 + p**3)
    assert abs(failures / entered - mean) <= 4 * math.sqrt(var / entered)
