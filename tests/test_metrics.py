"""The metric table: one definition of every reported number, read everywhere."""

from __future__ import annotations

import math

import pytest

from frictionsim import metrics
from frictionsim.metrics import HEADLINE, KINDS, TABLE, lookup
from frictionsim.stats import summarize

from .conftest import make_scenario, one_segment, run_once

CONTRACT = (  # DESIGN.md's summary contract: these names never change
    "visitors",
    "orders",
    "conversion_rate",
    "revenue",
    "lost_revenue",
    "lost_revenue_friction",
    "lost_revenue_exit",
    "abandoned_friction",
    "abandoned_exit",
)


def test_the_contract_metrics_are_the_headline_and_every_metric_is_well_formed():
    assert HEADLINE == CONTRACT
    for m in metrics.METRICS:
        assert m.level in metrics.LEVELS
        assert m.kind in KINDS
        assert m.label
        assert m.label == m.label.strip()
        assert m.description
    names = [(m.level, m.name) for m in metrics.METRICS]
    assert len(names) == len(set(names))


def test_summary_holds_exactly_the_table_in_its_order():
    scenario = make_scenario(steps=[{"name": "a"}, {"name": "pay", "capacity": 1, "duration": 0.5}])
    summary = summarize(scenario, [run_once(scenario, 1), run_once(scenario, 2)], 1, "x")
    assert list(summary["metrics"]) == list(TABLE["run"])
    plain = [m for m, d in TABLE["step"].items() if not d.only]
    assert list(summary["steps"]["a"]) == plain
    queue = [m for m, d in TABLE["step"].items() if d.only == "capacity" or not d.only]
    assert list(summary["steps"]["pay"]) == queue
    balking = make_scenario(steps=[{"name": "pay", "capacity": 1, "duration": 0.5, "balk_at": 1}])
    at = summarize(balking, [run_once(balking, 1), run_once(balking, 2)], 1, "x")
    assert list(at["steps"]["pay"]) == [
        m
        for m, d in TABLE["step"].items()
        if d.only not in ("schedule", "turning_away", "recovery")
    ]
    hours = [0] * 8 + [1] * 12 + [0] * 4
    closing = make_scenario(steps=[{"name": "pay", "capacity": 1, "duration": 0.5, "balk_at": 1,
                                    "schedule": {"hours": hours, "closed": "leave"},
                                    "recovery": {"to": "pay", "p": 0.5}}])  # fmt: skip
    shut = summarize(closing, [run_once(closing, 1), run_once(closing, 2)], 1, "x")
    assert list(shut["steps"]["pay"]) == list(TABLE["step"])
    assert list(summary["segments"]["all"]) == list(TABLE["segment"])


def test_a_micro_scenario_gives_the_hand_computed_values():
    # one step, nobody leaves, every order worth 50; margin 0.3, the step costs 2 per entrant
    scenario = make_scenario(
        segments=one_segment(tolerance=1e9, order_value=50),
        steps=[{"name": "only", "cost": 2}],
        economics={"margin": 0.3},
    )
    r = run_once(scenario)
    n = r.visitors
    assert n > 0
    v = metrics.run_values(r, scenario)
    assert (v["orders"], v["conversion_rate"], v["revenue"]) == (n, 1.0, 50.0 * n)
    assert (v["lost_revenue"], v["abandoned_friction"], v["abandoned_exit"]) == (0, 0, 0)
    assert v["step_costs"] == 2 * n
    assert v["profit"] == pytest.approx(0.3 * 50 * n - 2 * n)
    s = metrics.step_values(r, scenario)["only"]
    assert (s["entered"], s["abandon_rate"], s["cost"]) == (n, 0.0, 2 * n)


def test_a_rate_of_a_step_nobody_entered_is_nan():
    scenario = make_scenario(steps=[{"name": "a", "exit": 1}, {"name": "b"}])
    s = metrics.step_values(run_once(scenario), scenario)["b"]
    assert s["entered"] == 0
    assert math.isnan(s["abandon_rate"])
    assert math.isnan(s["mean_wait"])


@pytest.mark.parametrize(
    ("path", "level", "name", "label"),
    [
        ("nps", "run", "nps", "NPS of buyers"),
        ("steps.pay.p_wait", "step", "p_wait", "pay: share who waited"),
        ("steps.v1.2.mean_wait", "step", "mean_wait", "v1.2: mean wait"),
        (
            "segments.mobile.conversion_rate",
            "segment",
            "conversion_rate",
            "mobile: conversion rate",
        ),
    ],
)
def test_a_metric_is_found_by_its_path_in_summary_json(path, level, name, label):
    m = lookup(path)
    assert (m.level, m.name) == (level, name)
    assert metrics.label(path) == label


@pytest.mark.parametrize("path", ["conversion", "steps.pay", "steps..", "segments.x.nope", ""])
def test_an_unknown_path_is_not_a_metric(path):
    assert lookup(path) is None


def test_feasible_ranges_follow_the_kind():
    assert lookup("conversion_rate").bounds == (0.0, 1.0)
    assert lookup("nps").bounds == (-100.0, 100.0)
    assert lookup("profit").bounds == (-math.inf, math.inf)
    assert metrics.bounds("steps.pay.p_wait") == (0.0, 1.0)
    assert metrics.bounds("visitors") == (0.0, math.inf)
    assert metrics.bounds("nps", difference=True) == (-200.0, 200.0)
    assert metrics.bounds("no.such.metric") == (-math.inf, math.inf)


def test_completed_visits_of_a_step_are_those_that_went_on():
    # two steps, the first loses half to its exit: completions of the first = entries of
    # the second, and the last step's completions are the orders
    scenario = make_scenario(steps=[{"name": "a", "exit": 0.5}, {"name": "b"}])
    r = run_once(scenario)
    s = metrics.step_values(r, scenario)
    assert s["a"]["completed"] == s["b"]["entered"]
    assert s["b"]["completed"] == r.orders
    assert s["a"]["completed"] < s["a"]["entered"]


def test_reach_rate_is_the_share_of_visitors_who_got_that_far():
    # exits 0.5 then 0.2: every visitor reaches a, half reach b, 0.4 of them reach c
    scenario = make_scenario(
        horizon=2000,
        steps=[{"name": "a", "exit": 0.5}, {"name": "b", "exit": 0.2}, {"name": "c"}],
    )
    r = run_once(scenario)
    s = metrics.step_values(r, scenario)
    assert s["a"]["reach_rate"] == 1.0
    assert s["b"]["reach_rate"] == r.step_entered[1] / r.visitors
    se = (0.25 / r.visitors) ** 0.5
    assert abs(s["b"]["reach_rate"] - 0.5) < 4 * se
    assert abs(s["c"]["reach_rate"] - 0.4) < 4 * se
    assert metrics.lookup("steps.c.reach_rate").kind == "rate"


def test_every_direction_names_a_metric_and_the_obvious_ones_have_one():
    for level, directions in metrics.BETTER.items():
        assert set(directions) <= set(TABLE[level]), level
        assert set(directions.values()) <= {"higher", "lower"}
    for path in ("conversion_rate", "revenue", "profit", "nps", "segments.web.orders"):
        assert metrics.better(path) == "higher", path
    for path in ("lost_revenue", "abandoned_friction", "steps.pay.mean_wait", "step_costs"):
        assert metrics.better(path) == "lower", path
    for path in ("steps.pay.entered", "steps.pay.utilisation", "mean_order_value", "nope"):
        assert metrics.better(path) is None, path
    assert TABLE["run"]["lost_revenue_exit"].better == "lower"


@pytest.mark.parametrize("df", [1, 2, 9, 19, 7.37, 41.5, 1000])
def test_the_t_and_chi2_values_are_scipy_stats_own(df):
    """The intervals' quantiles come from scipy.special (a faster import): the very values
    of scipy.stats, whole and fractional (Welch) degrees of freedom alike, and t(0.975, 9)
    as printed in tables."""
    from scipy import stats as st

    from frictionsim.stats import chi2_sf, t_cdf, t_quantile

    for p in (0.5, 0.9, 0.975, 0.995):
        assert t_quantile(p, df) == float(st.t.ppf(p, df))
    for t in (-3.0, -0.2, 0.0, 1.7):
        assert t_cdf(t, df) == float(st.t.cdf(t, df))
    for x in (0.0, 0.5, df, 3.0 * df):
        assert chi2_sf(x, df) == float(st.chi2.sf(x, df))
    assert round(t_quantile(0.975, 9), 4) == 2.2622
