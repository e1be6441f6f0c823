"""Arrivals (Poisson, time-of-day profile by thinning) and common random numbers."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from frictionsim.sim.streams import arrival_times, substream

from .conftest import make_scenario, one_segment, run_once


def all_arrivals(scenario, seed=1):
    rng = substream(np.random.SeedSequence(seed), "arrivals")
    return np.concatenate([np.asarray(c) for c in arrival_times(scenario, rng)])


def test_poisson_arrivals_count_and_gaps():
    scenario = make_scenario(horizon=10_000, arrivals={"rate": 3})
    t = all_arrivals(scenario)
    assert t.min() >= 0
    assert t.max() < 10_000
    assert np.all(np.diff(t) >= 0)
    # Poisson count with mean 30000: 4 standard deviations
    assert abs(t.size - 30_000) <= 4 * math.sqrt(30_000)
    # gaps are exponential with mean 1/3: Kolmogorov-Smirnov at a 1e-4 false-alarm level
    assert stats.kstest(np.diff(t), "expon", args=(0, 1 / 3)).pvalue > 1e-4


def test_profile_modulates_the_rate_hour_by_hour():
    # nights closed, afternoons at double rate; 20 days
    profile = [0.0] * 12 + [2.0] * 6 + [1.0] * 6
    scenario = make_scenario(horizon="20d", arrivals={"rate": "60/h", "profile": profile})
    t = all_arrivals(scenario)
    hours = (t // 60).astype(int) % 24
    counts = np.bincount(hours, minlength=24)
    assert counts[:12].sum() == 0
    for h in range(12, 24):
        expected = 60 * profile[h] * 20  # per hour-of-day over 20 days
        assert abs(counts[h] - expected) <= 4 * math.sqrt(expected), (h, counts[h], expected)
    assert scenario.expected_visitors == 60 * 18 * 20


def test_expected_visitors_counts_a_partial_hour():
    profile = [1.0] * 23 + [3.0]
    scenario = make_scenario(horizon="23.5h", arrivals={"rate": 2, "profile": profile})
    # 23 hours at 1x, then half an hour of the 3x last hour
    assert scenario.expected_visitors == 2 * 60 * (23 + 0.5 * 3)


def test_a_design_change_does_not_shift_customers_or_arrivals():
    # two designs of the same shop: the second has a harder form and an extra step;
    # the same customer i has the same arrival, segment, tolerance and order value in both
    segments = [
        {
            "name": "a",
            "share": 0.5,
            "order_value": {"dist": "exponential", "mean": 50},
            "tolerance": {"dist": "exponential", "mean": 10},
        },
        {
            "name": "b",
            "share": 0.5,
            "order_value": 20,
            "tolerance": {"dist": "lognormal", "mean": 10, "sd": 5},
        },
    ]
    easy = make_scenario(
        segments=segments,
        steps=[
            {"name": "cart", "exit": 0.3, "duration": {"dist": "exponential", "mean": 2}},
            {"name": "form", "fields": 3},
        ],
    )
    hard = make_scenario(
        segments=segments,
        steps=[
            {"name": "cart", "exit": 0.3, "duration": {"dist": "exponential", "mean": 2}},
            {"name": "verify", "irritation": 1, "duration": 1},
            {"name": "form", "fields": 12},
        ],
    )
    a = run_once(easy, 5, record_customers=True).customers
    b = run_once(hard, 5, record_customers=True).customers
    assert a["id"].size == b["id"].size > 30
    for column in ("segment", "tolerance", "order_value"):
        assert np.array_equal(a[column], b[column])
    # the shared first step draws the same exits for the same customers
    exited_a = (a["outcome"] == 2) & (a["step"] == 0)
    exited_b = (b["outcome"] == 2) & (b["step"] == 0)
    assert np.array_equal(exited_a, exited_b)


def _three_steps(**form):
    return make_scenario(
        horizon=600,
        arrivals={"rate": 2},
        segments=one_segment(
            {"dist": "exponential", "mean": 6}, {"dist": "exponential", "mean": 50}
        ),
        steps=[
            {"name": "cart", "exit": 0.3, "duration": {"dist": "exponential", "mean": 2}},
            {"name": "form", "fields": 3, "duration": {"dist": "exponential", "mean": 3}, **form},
            {"name": "pay", "exit": 0.2, "duration": {"dist": "exponential", "mean": 1}},
        ],
    )


def test_switching_an_exit_on_leaves_every_other_draw_alone():
    base = run_once(_three_steps(), 9, record_customers=True).customers
    more = run_once(_three_steps(exit=0.25), 9, record_customers=True).customers
    left_at_form = (more["outcome"] == 2) & (more["step"] == 1)
    reached_form = (base["outcome"] == 0) | (base["step"] >= 1)  # orders log step -1
    assert 0 < left_at_form.sum() < reached_form.sum()
    # without capacity customers do not interact: everyone else lives the same life
    for column in ("outcome", "step", "end", "irritation"):
        assert np.array_equal(base[column][~left_at_form], more[column][~left_at_form])


def test_switching_errors_on_leaves_first_attempts_and_later_steps_alone():
    base = run_once(_three_steps(), 9, record_customers=True).customers
    # harmless errors: no irritation, enough attempts never to run out
    retry = run_once(
        _three_steps(errors={"p": 0.3, "irritation": 0, "max_attempts": 50}),
        9,
        record_customers=True,
    ).customers
    # the same outcomes at the same steps (the pay exit draw is unchanged) ...
    assert np.array_equal(base["outcome"], retry["outcome"])
    assert np.array_equal(base["step"], retry["step"])
    # ... retries only ever add time, and some customers were not delayed at all
    delay = retry["end"] - base["end"]
    assert np.all(delay >= -1e-9)
    # among customers who did the form (they went on to pay), those whose first
    # attempt there succeeded are not delayed at all: Binomial(n, 0.7), 4 sd
    did_form = (base["outcome"] == 0) | (base["step"] == 2)  # orders log step -1
    n = int(did_form.sum())
    unchanged = int((np.isclose(delay, 0) & did_form).sum())
    assert n > 100
    assert abs(unchanged - 0.7 * n) <= 4 * math.sqrt(n * 0.7 * 0.3)
