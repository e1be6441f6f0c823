"""Where friction sits and how long a step takes: time cost, commitment (goal gradient),
relief, exits that depend on irritation, an honest peak–end, and segment-dependent
behaviour. Each against a hand-computed answer, on both engines where the fast path
runs (it must give the SimPy engine's exact numbers)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from frictionsim.execution import uses_fast_path
from frictionsim.studies import run_replications

from .conftest import make_scenario, one_segment, run_once

#: Standard errors a statistical check allows (the estimate is a mean of thousands).
Z = 4.0


def customers(scenario, seed=1, reps=4, engine="auto"):
    return run_replications(scenario, seed, reps, jobs=1, engine=engine)


def rate(results, num, den):
    n = sum(num(r) for r in results)
    d = sum(den(r) for r in results)
    return n / d, d


def within(estimate, n, exact):
    se = math.sqrt(exact * (1 - exact) / n)
    assert se < 0.01  # the check can fail: enough customers for a sharp estimate
    assert abs(estimate - exact) <= Z * se, (estimate, exact, se)


def engines(scenario):
    """The engines that run ``scenario``: SimPy, and the fast path where it can."""
    return ["simpy", "fast"] if uses_fast_path(scenario) else ["simpy"]


# ------------------------------------------------------------------ time_irritation


@pytest.mark.parametrize("capacity", [None, 2])
def test_time_irritation_abandons_mid_step_with_the_closed_form_chance(capacity):
    # r = 0.5/min over a fixed 2 min, exponential tolerance of mean 4: P = 1 - exp(-r d / m)
    step = {"name": "form", "duration": 2, "time_irritation": "0.5/min"}
    if capacity:  # the queue adds no irritation (wait_irritation 0): the same chance
        step["capacity"] = capacity
    scenario = make_scenario(
        horizon=2000,
        arrivals={"rate": 0.8 if capacity else 5},
        segments=one_segment({"dist": "exponential", "mean": 4}),
        steps=[step],
    )
    exact = 1 - math.exp(-0.5 * 2 / 4)
    for engine in engines(scenario):
        results = customers(scenario, engine=engine)
        p, n = rate(results, lambda r: r.abandoned_friction, lambda r: r.visitors)
        within(p, n, exact)


def test_time_irritation_abandons_at_the_exact_moment_and_frees_the_unit():
    # tolerance 1, 0.5/min over a 4-minute step: everyone leaves 2 minutes in, so the unit
    # is busy exactly 2 minutes per customer served
    scenario = make_scenario(
        horizon=300,
        arrivals={"rate": 0.3},
        segments=one_segment(1),
        steps=[{"name": "desk", "duration": 4, "time_irritation": 0.5, "capacity": 1}],
    )
    r = run_once(scenario, record_customers=True)
    assert r.orders == 0
    assert r.abandoned_friction == r.visitors > 50
    assert r.step_busy_time[0] == pytest.approx(2.0 * r.visitors)
    assert r.customers["irritation"] == pytest.approx(np.ones(r.visitors))


def test_time_irritation_defaults_to_friction_and_costs_every_attempt():
    # 3 attempts of 1 min at most (errors p = 1: every attempt fails) at 1/min from
    # `friction`, tolerance 2.5 and no other irritation: abandons 2.5 min in, mid-attempt 3
    scenario = make_scenario(
        friction={"time_irritation": "60/h"},
        horizon=100,
        arrivals={"rate": 0.5},
        segments=one_segment(2.5),
        steps=[{"name": "pay", "duration": 1, "errors": {"p": 1, "max_attempts": 3}}],
    )
    r = run_once(scenario, record_customers=True)
    assert r.abandoned_friction == r.visitors
    assert r.checkout_time_total == 0  # only buyers count towards checkout time
    assert r.step_failed_attempts[0] == 2 * r.visitors  # the third never ended
    assert r.customers["irritation"] == pytest.approx(np.full(r.visitors, 2.5))


# ------------------------------------------------------------------ commitment


@pytest.mark.parametrize(
    ("irritations", "commitment"),
    [([3, 2, 4], 2), ([6, 1, 1], 2), ([1, 1, 6], 2), ([1, 1, 6], 0)],
)
def test_commitment_gives_the_goal_gradient_closed_form(irritations, commitment):
    # P(convert) = P(T > max_k (I_k - c (k - 1))), I_k the cumulative irritation at step k
    segment = one_segment({"dist": "exponential", "mean": 6})
    segment[0]["commitment"] = commitment
    scenario = make_scenario(
        horizon=2000,
        arrivals={"rate": 5},
        segments=segment,
        steps=[{"name": f"s{k}", "irritation": x} for k, x in enumerate(irritations)],
    )
    cumulative = np.cumsum(irritations)
    threshold = max(i - commitment * k for k, i in enumerate(cumulative))
    exact = math.exp(-threshold / 6)
    for engine in engines(scenario):
        results = customers(scenario, engine=engine)
        p, n = rate(results, lambda r: r.orders, lambda r: r.visitors)
        within(p, n, exact)


def test_the_same_irritation_later_in_the_flow_loses_fewer_with_commitment():
    def orders(irritations, commitment=2):
        segment = one_segment({"dist": "exponential", "mean": 6})
        segment[0]["commitment"] = commitment
        scenario = make_scenario(
            horizon=600,
            arrivals={"rate": 5},
            segments=segment,
            steps=[{"name": f"s{k}", "irritation": x} for k, x in enumerate(irritations)],
        )
        return sum(r.orders for r in customers(scenario))

    assert orders([1, 1, 6]) > orders([6, 1, 1])
    assert orders([1, 1, 6], 0) == orders([6, 1, 1], 0)  # without it, only the total counts


# ------------------------------------------------------------------ relief


@pytest.mark.parametrize(
    ("irritations", "tolerance", "ordered"),
    [
        ([4, -3, 2], 5, True),  # 4 -> 1 -> 3: relief keeps them under 5
        ([4, 0, 2], 5, False),  # 4 -> 4 -> 6: without it they abandon at the third step
        ([-5, 6], 5.5, False),  # never below 0: 0 -> 6, not -5 -> 1
    ],
)
def test_relief_lowers_irritation_never_below_zero(irritations, tolerance, ordered):
    scenario = make_scenario(
        horizon=60,
        arrivals={"rate": 1},
        segments=one_segment(tolerance),
        steps=[{"name": f"s{k}", "irritation": x} for k, x in enumerate(irritations)],
    )
    for engine in engines(scenario):
        (r,) = customers(scenario, reps=1, engine=engine)
        assert r.visitors > 20
        assert r.orders == (r.visitors if ordered else 0)


def test_relief_is_a_positive_moment_of_the_remembered_experience():
    # moments 4 and -2: peak 4, end -2, remembered 1; tolerance 10, scale 0.5, best 10:
    # score = round(10 (1 - 1 / 5)) = 8 for every buyer
    scenario = make_scenario(
        horizon=60,
        arrivals={"rate": 1},
        segments=one_segment(10),
        steps=[{"name": "form", "irritation": 4}, {"name": "saved", "irritation": -2}],
    )
    for engine in engines(scenario):
        (r,) = customers(scenario, reps=1, engine=engine)
        assert r.orders == r.visitors > 20
        assert r.segment_scores[0][8] == r.orders


# ------------------------------------------------------------------ exit_irritation


@pytest.mark.parametrize(("slope", "exact"), [(0.05, 0.2), (0.0, 0.1), (1.0, 1.0)])
def test_exits_grow_with_irritation(slope, exact):
    # cumulative irritation 2 at `pay`: exit = min(1, 0.1 + slope x 2)
    scenario = make_scenario(
        horizon=2000,
        arrivals={"rate": 5},
        segments=one_segment(100),
        steps=[
            {"name": "form", "irritation": 2},
            {"name": "pay", "exit": 0.1, "exit_irritation": slope},
        ],
    )
    for engine in engines(scenario):
        results = customers(scenario, engine=engine)
        p, n = rate(results, lambda r: r.step_abandoned_exit[1], lambda r: r.step_entered[1])
        if exact == 1.0:
            assert p == 1.0
        else:
            within(p, n, exact)
        assert sum(r.abandoned_friction for r in results) == 0  # the split stays apart


# ------------------------------------------------------------------ honest peak-end


@pytest.mark.parametrize("commitment", [0, 2])
@pytest.mark.parametrize("where", [0, 1, 2, 3])
def test_a_step_where_nothing_is_felt_changes_no_score(where, commitment):
    # nor any order: a routing point (no time, nothing felt) adds no commitment either
    steps = [
        {"name": "cart", "irritation": 1, "exit": 0.1},
        {"name": "form", "fields": 8, "errors": {"p": 0.2, "irritation": 2}},
        {"name": "pay", "irritation": 2, "duration": {"dist": "exponential", "mean": 1}},
    ]
    segment = one_segment({"dist": "exponential", "mean": 6})
    segment[0]["commitment"] = commitment
    base = make_scenario(horizon=600, arrivals={"rate": 3}, segments=segment, steps=steps)
    with_empty = make_scenario(
        horizon=600,
        arrivals={"rate": 3},
        segments=segment,
        steps=[*steps[:where], {"name": "thanks"}, *steps[where:]],
    )
    for engine in engines(base):
        a = customers(base, engine=engine)
        b = customers(with_empty, engine=engine)
        assert sum(x.orders for x in a) > 0
        for x, y in zip(a, b):
            assert x.orders == y.orders
            assert x.abandoned_friction == y.abandoned_friction
            assert (x.segment_scores == y.segment_scores).all()


# ------------------------------------------------------------------ per segment


def test_exit_errors_and_branches_per_segment():
    segments = [
        {"name": "web", "share": 0.5, "tolerance": 1e6, "order_value": 10},
        {"name": "mobile", "share": 0.5, "tolerance": 1e6, "order_value": 10},
    ]
    steps = [
        {"name": "cart", "exit": 0.1, "by_segment": {"mobile": {"exit": 0.3}}},
        {
            "name": "login",
            "errors": {"p": 0.1, "max_attempts": 1},
            "by_segment": {"mobile": {"errors": {"p": 0.4}}},
        },
        {
            "name": "method",
            "next": [{"to": "saved", "p": 0.2}, {"to": "new", "p": 0.8}],
            "by_segment": {"web": {"next": [{"to": "saved", "p": 0.7}, {"to": "new", "p": 0.3}]}},
        },
        {"name": "new", "next": "done"},
        {"name": "saved", "next": "done"},
        {"name": "done"},
    ]
    scenario = make_scenario(horizon=3000, arrivals={"rate": 3}, segments=segments, steps=steps)
    for engine in engines(scenario):
        results = customers(scenario, engine=engine)
        # per segment, from the customer-level outcome: P(order) = (1 - exit)(1 - p_error)
        web, n_web = rate(results, lambda r: r.segment_orders[0], lambda r: r.segment_visitors[0])
        mob, n_mob = rate(results, lambda r: r.segment_orders[1], lambda r: r.segment_visitors[1])
        within(web, n_web, 0.9 * 0.9)
        within(mob, n_mob, 0.7 * 0.6)
        # saved card: 0.7 of web buyers and 0.2 of mobile ones reach `saved`
        saved, n = rate(results, lambda r: r.step_entered[4], lambda r: r.step_entered[2])
        share_web = 0.81 / (0.81 + 0.42)
        within(saved, n, 0.7 * share_web + 0.2 * (1 - share_web))


def test_defaults_reproduce_the_model_without_the_new_keys():
    steps = [
        {"name": "cart", "irritation": 1, "exit": 0.1},
        {"name": "form", "fields": 8, "errors": {"p": 0.2, "irritation": 2}},
        {"name": "pay", "irritation": 2, "capacity": 2, "wait_irritation": 1, "duration": 1},
    ]
    plain = make_scenario(horizon=600, arrivals={"rate": 1.5}, steps=steps)
    explicit = make_scenario(
        horizon=600,
        arrivals={"rate": 1.5},
        friction={"per_field": 1, "wait_irritation": 0, "time_irritation": 0},
        steps=[{**s, "time_irritation": 0, "exit_irritation": 0, "by_segment": {}} for s in steps],
    )
    for a, b in zip(customers(plain), customers(explicit)):
        assert a.orders == b.orders
        assert (a.step_abandoned_friction == b.step_abandoned_friction).all()
        assert (a.segment_scores == b.segment_scores).all()
        assert a.step_wait_total.tolist() == b.step_wait_total.tolist()


# ------------------------------------------------------------------ calendar


@pytest.mark.parametrize(
    ("start", "horizon", "exact_days"),
    [
        # from a Monday, two weeks: 2 x (5 weekdays + 0.5 + 0.2)
        ("2026-01-05", "14d", 2 * (5 + 0.5 + 0.2)),
        # from a Saturday, 3.5 days: Saturday, Sunday, Monday and half of Tuesday
        ("2026-01-10", "3.5d", 0.5 + 0.2 + 1 + 0.5),
    ],
)
def test_day_of_week_profile_arrivals_equal_the_integral_of_the_rate(start, horizon, exact_days):
    week = [1, 1, 1, 1, 1, 0.5, 0.2]  # Monday first
    scenario = make_scenario(
        start=start,
        horizon=horizon,
        arrivals={"rate": "30/h", "weekly": week},
        steps=[{"name": "only"}],
    )
    expected = 0.5 * 1440 * exact_days  # 0.5 per minute
    assert scenario.expected_visitors == pytest.approx(expected)
    for engine in engines(scenario):
        results = customers(scenario, reps=4, engine=engine)
        total = sum(r.visitors for r in results)
        assert abs(total - 4 * expected) <= Z * math.sqrt(4 * expected)  # Poisson
        # day by day, each day's count is Poisson with that day's weight
        days = sum(r.arrivals_by_source[0] for r in results)
        first = scenario.start.weekday()
        whole = int(scenario.horizon // 1440)  # the whole days (the daily bins)
        assert len(days) >= whole
        for d, count in enumerate(days[:whole]):
            mean = 4 * 0.5 * 1440 * week[(first + d) % 7]
            assert abs(count - mean) <= Z * math.sqrt(mean), (d, count, mean)


def test_day_of_week_profile_combines_with_the_hourly_one():
    hourly = [0] * 9 + [2] * 8 + [0] * 7  # open 09:00-17:00 at twice the rate
    scenario = make_scenario(
        horizon="7d",
        arrivals={"rate": "6/h", "profile": hourly, "weekly": [1, 1, 1, 1, 1, 0, 0]},
        steps=[{"name": "only"}],
    )
    assert scenario.expected_visitors == pytest.approx(0.1 * 60 * 2 * 8 * 5)
    (r,) = customers(scenario, reps=1)
    assert r.arrivals_by_source[0][5:].sum() == 0  # closed at the weekend
    assert abs(r.visitors - 480) <= Z * math.sqrt(480)


# ------------------------------------------------------------------ review findings


@pytest.mark.parametrize("scale", [0.5, 1e-320])
def test_a_relief_ending_scores_best_at_most_on_both_engines(scale):
    # moments +2, +2, -10: remembered (2 - 4) / 2 < 0 is nothing remembered: `best`, and a
    # scale so small its ratio overflows must not crash either engine
    scenario = make_scenario(
        horizon=300,
        arrivals={"rate": 1},
        experience={"best": 3, "scale": scale},
        segments=one_segment(10),
        steps=[{"name": "a", "irritation": 2}, {"name": "b", "irritation": 2},
               {"name": "c", "irritation": -10}],
    )  # fmt: skip
    for engine in ["simpy", "fast"]:
        (r,) = customers(scenario, reps=1, engine=engine)
        assert r.orders == r.visitors > 100
        assert r.segment_scores[0][3] == r.orders  # `best`, never above


def test_a_warm_up_with_word_of_mouth_is_no_runaway():
    # a month of warm-up before an hour: the guard against word of mouth growing without
    # bound counts the warm-up's customers as expected ones too
    scenario = make_scenario(
        warmup="30d",
        horizon="1h",
        arrivals={"rate": 1},
        word_of_mouth={},
        repeat={},
        steps=[{"name": "cart", "irritation": 1}],
    )
    assert scenario.expected_arrivals == pytest.approx(30 * 1440 + 60)
    (r,) = customers(scenario, reps=1)
    assert r.source_visitors[0] == r.arrivals_by_source[0].sum()


def test_the_event_log_of_a_warmed_up_run_starts_when_the_warm_up_ends(tmp_path):
    from frictionsim.execution import Task, event_part, run_task

    scenario = make_scenario(warmup="1d", horizon="2h", arrivals={"rate": 0.5},
                             steps=[{"name": "cart", "duration": 1}])  # fmt: skip
    task = Task(scenario, np.random.SeedSequence(1), "simpy", 0, tmp_path)
    r = run_task(task)
    rows = event_part(tmp_path, 0).read_text().splitlines()
    minutes = [float(line.split("\t")[3]) for line in rows]  # case, activity, life, minute
    assert minutes, rows[:3]
    assert min(minutes) >= 0  # the clock of the counted run, not of the warm-up
    assert max(minutes) < 2 * 60 + 5
    assert r.visitors > 20


def test_improve_ranks_time_cost_and_a_segment_s_own_errors():
    from frictionsim.studies import improve

    scenario = make_scenario(
        horizon="1d",
        replications=3,
        arrivals={"rate": "60/h"},
        segments=one_segment({"dist": "exponential", "mean": 10}),
        steps=[
            {"name": "cart", "irritation": 1},
            {"name": "slow_form", "duration": "10min", "time_irritation": 1},
            {"name": "pay", "errors": {"p": 0, "irritation": 5},
             "by_segment": {"all": {"errors": {"p": 0.5}}}},
        ],
    )  # fmt: skip
    ranked = improve(scenario, ("remove",), jobs=1).document["improvements"]
    assert ranked[0]["step"] == "slow_form"  # the largest loss first
    assert {row["step"] for row in ranked} == {"cart", "slow_form", "pay"}


def test_an_unknown_key_under_by_segment_gets_the_allowed_keys(tmp_path):
    from frictionsim.errors import ScenarioError
    from frictionsim.scenario import parse_scenario

    text = (
        "name: x\nhorizon: 60\narrivals: {rate: 1}\n"
        "segments: [{name: all, share: 1, tolerance: 10, order_value: 1}]\n"
        "steps:\n  - name: a\n    by_segment: {all: {exitt: 0.2}}\n"
    )
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "s.yaml")
    assert [str(p) for p in caught.value.problems] == [
        "s.yaml:7:24: steps.a.by_segment.all.exitt: unknown key 'exitt' (did you mean "
        "'exit'?); allowed: exit, errors, next"
    ]


def test_sensitivity_moves_a_segment_s_own_exit_and_errors():
    from frictionsim.studies.sensitivity import numeric_parameters

    scenario = make_scenario(
        segments=[
            {"name": "web", "share": 0.5, "tolerance": 10, "order_value": 1},
            {"name": "mobile", "share": 0.5, "tolerance": 10, "order_value": 1},
        ],
        steps=[{"name": "pay", "exit": 0.1, "errors": {"p": 0.1},
                "by_segment": {"mobile": {"exit": 0.3, "errors": {"p": 0.2}}}}],
    )  # fmt: skip
    paths = [p.path for p in numeric_parameters(scenario)]
    assert "steps.pay.by_segment.mobile.exit" in paths
    assert "steps.pay.by_segment.mobile.errors.p" in paths
