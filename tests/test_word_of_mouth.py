"""After the checkout: peak-end memory, NPS, referrals, deterrence, returns, defects, money.

Statistical checks use fixed seeds and 4-standard-deviation bounds of the
exact sampling distribution (Poisson or binomial counts), a false-alarm rate
below 1e-4 per check.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from frictionsim.errors import ScenarioError, SimulationError
from frictionsim.sim.codes import REFERRAL, RETURNING
from frictionsim.sim.simpy_engine import recommend_score
from frictionsim.stats import nps_counts, run_metrics

from .conftest import make_scenario, one_segment, run_once

SILENT = {"tell": 0}  # a class that tells nobody


# ------------------------------------------------------------------ remembered experience


def test_peak_end_worked_examples():
    # REFERENCE.md: worst 8, end 7 -> remembered 7.5; worst 8, end 1 -> 4.5.
    # With tolerance 10 and scale 1, the score is 10 - remembered, rounded half up.
    assert recommend_score(8, 7, 10, 10, 1) == math.floor(10 - 7.5 + 0.5)
    assert recommend_score(8, 1, 10, 10, 1) == math.floor(10 - 4.5 + 0.5)
    assert recommend_score(0, 0, 10, 10, 1) == 10
    assert recommend_score(30, 30, 10, 10, 1) == 0  # clipped


def test_a_mild_final_step_is_remembered_better_although_it_adds_irritation():
    steps = [{"name": "form", "irritation": 6}, {"name": "pay", "irritation": 4}]
    common = {"segments": one_segment(20), "experience": {"scale": 0.5}, "horizon": 30}
    abrupt_scenario = make_scenario(steps=steps, **common)
    mild_scenario = make_scenario(steps=[*steps, {"name": "thanks", "irritation": 0.5}], **common)
    abrupt = run_once(abrupt_scenario, record_customers=True)
    mild = run_once(mild_scenario, record_customers=True)
    a, b = abrupt.customers, mild.customers
    assert a["outcome"].tolist() == b["outcome"].tolist() == [0] * a["id"].size
    # total irritation rises by 0.5 ...
    assert np.allclose(b["irritation"], a["irritation"] + 0.5)
    # ... but remembered irritation falls from (6 + 4) / 2 = 5 to (6 + 0.5) / 2 = 3.25:
    # scores 10 * (1 - 5 / 10) = 5 (detractor) and 10 * (1 - 3.25 / 10) = 6.75 -> 7 (passive)
    assert set(a["score"].tolist()) == {5}
    assert set(b["score"].tolist()) == {7}
    assert run_metrics(abrupt, abrupt_scenario)["nps"] == -100
    assert run_metrics(mild, mild_scenario)["nps"] == 0


def test_nps_classes():
    scores = np.zeros(11, dtype=int)
    scores[[0, 6, 7, 8, 9, 10]] = [1, 2, 3, 4, 5, 5]  # 3 detractors, 7 passives, 10 promoters
    assert nps_counts(scores) == (10, 7, 3, 100 * (10 - 3) / 20)


# ------------------------------------------------------------------ nothing changes when off


def test_a_loop_that_does_nothing_changes_nothing():
    steps = [
        {"name": "cart", "exit": 0.2, "duration": {"dist": "exponential", "mean": 2}},
        {"name": "form", "fields": 6, "errors": {"p": 0.2, "irritation": 1}},
        {"name": "pay", "capacity": 2, "wait_irritation": 0.5, "duration": 1},
    ]
    segments = one_segment({"dist": "exponential", "mean": 8})
    plain = run_once(make_scenario(steps=steps, segments=segments, horizon=600), 3)
    idle = run_once(
        make_scenario(
            steps=steps,
            segments=segments,
            horizon=600,
            word_of_mouth=dict.fromkeys(
                ("promoters", "passives", "detractors", "abandoners"), SILENT
            ),
            repeat={"promoters": 0, "passives": 0, "detractors": 0, "abandoners": 0},
        ),
        3,
    )
    for f in dataclasses.fields(plain):
        x, y = getattr(plain, f.name), getattr(idle, f.name)
        if isinstance(x, np.ndarray):
            assert np.array_equal(x, y), f.name
        else:
            assert x == y, f.name


# ------------------------------------------------------------------ referrals


def test_referral_arrivals_match_promoters_times_visit_times_mean_told():
    delay, horizon = 30.0, 3000.0
    scenario = make_scenario(
        horizon=horizon,
        segments=one_segment(100),  # nothing irritates: every buyer scores 10
        steps=[{"name": "only", "duration": {"dist": "exponential", "mean": 5}}],
        word_of_mouth={
            "delay": delay,
            "promoters": {"tell": {"dist": "poisson", "mean": 2}, "visit": 0.25},
        },
    )
    r = run_once(scenario, 11, record_customers=True)
    c = r.customers
    assert np.all(c["score"] == 10)
    # every promoter whose referrals fall inside the horizon, referred ones included
    promoters = int(np.sum((c["score"] >= 9) & (c["end"] + delay < horizon)))
    expected = promoters * 2 * 0.25
    observed = int(r.source_visitors[REFERRAL])
    # each promoter's referrals are Poisson(2 x 0.25); their sum is Poisson(expected)
    assert abs(observed - expected) <= 4 * math.sqrt(expected), (observed, expected)
    assert int(np.sum(c["source"] == REFERRAL)) == observed
    m = run_metrics(r, scenario)
    assert m["referral_visitors"] == m["referral_orders"] == observed
    assert m["referral_revenue"] == 50 * observed


def test_runaway_referrals_are_stopped_with_a_clear_error():
    scenario = make_scenario(
        horizon=2000,
        segments=one_segment(100),
        word_of_mouth={"delay": 1, "promoters": {"tell": 10, "visit": 1}},
    )
    with pytest.raises(SimulationError, match="grow without bound"):
        run_once(scenario)


# ------------------------------------------------------------------ negative word of mouth


def test_deterrence_removes_the_expected_organic_arrivals():
    horizon = 5000.0
    base = {
        "horizon": horizon,
        "segments": one_segment(1),
        "steps": [{"name": "wall", "irritation": 5}],  # everyone abandons for friction
    }
    plain = run_once(make_scenario(**base), 21)
    told = run_once(
        make_scenario(
            **base,
            word_of_mouth={"delay": 10, "abandoners": {"tell": 4, "deter": 0.5}},
        ),
        21,
        record_customers=True,
    )
    # the same organic arrival sequence: those not deterred are exactly the ones that came
    assert told.source_visitors[0] == plain.source_visitors[0] - told.prospects_lost
    assert told.prospects_lost > 0
    c = told.customers
    talkers = int(np.sum(c["end"] + 10 < horizon))  # abandoners whose deterrals fall inside
    # deterrals are Binomial(4 x talkers, 0.5): mean 2 x talkers, variance talkers
    deterrals = told.prospects_lost + told.deterrals_unused
    assert abs(deterrals - 2 * talkers) <= 4 * math.sqrt(talkers)
    m = run_metrics(told, make_scenario(**base))
    assert m["prospects_lost"] == told.prospects_lost
    assert m["lost_revenue_word_of_mouth"] == 0  # nobody here would have ordered


def test_deterred_prospects_cost_the_revenue_of_an_average_visitor():
    scenario = make_scenario(
        horizon=3000,
        segments=one_segment({"dist": "uniform", "low": 0, "high": 4}),
        steps=[{"name": "wall", "irritation": 2}],  # about half abandon
        word_of_mouth={"delay": 5, "abandoners": {"tell": 2, "deter": 0.5}},
    )
    r = run_once(scenario, 4)
    m = run_metrics(r, scenario)
    per_visitor = r.source_revenue[0] / r.source_visitors[0]
    assert m["lost_revenue_word_of_mouth"] == pytest.approx(r.prospects_lost * per_visitor)
    assert m["lost_revenue_word_of_mouth"] > 0


# ------------------------------------------------------------------ repeat customers


def test_customers_come_back_with_their_chance_and_saved_details():
    horizon, delay = 4000.0, 20.0
    scenario = make_scenario(
        horizon=horizon,
        segments=one_segment(8),
        # 10 fields at 1 point: 10 >= 8, every newcomer abandons at the form; a returning
        # customer has half of them saved (5 < 8) and orders
        steps=[{"name": "form", "fields": 10}],
        friction={"per_field": 1},
        repeat={
            "delay": delay,
            "abandoners": 0.3,
            "promoters": 0,  # buyers do not come back a second time here
            "passives": 0,
            "detractors": 0,
            "saved_fields": 0.5,
        },
    )
    r = run_once(scenario, 8, record_customers=True)
    assert r.source_orders[0] == 0
    returning = int(r.source_visitors[RETURNING])
    assert r.source_orders[RETURNING] == returning > 0
    # each organic abandoner inside the horizon comes back with chance 0.3 (binomial)
    c = r.customers
    eligible = int(np.sum((c["source"] == 0) & (c["end"] + delay < horizon)))
    sd = math.sqrt(eligible * 0.3 * 0.7)
    assert abs(returning - 0.3 * eligible) <= 4 * sd
    m = run_metrics(r, scenario)
    assert m["returning_visitors"] == m["returning_orders"] == returning
    assert m["repeat_revenue"] == 50 * returning


# ------------------------------------------------------------------ defects


def test_a_defect_turns_its_share_of_promoters_into_detractors():
    scenario = make_scenario(
        horizon=4000,
        segments=one_segment(10),
        steps=[
            {"name": "address", "defect": {"p": 0.2, "irritation": 10, "delay": "3d"}},
            {"name": "pay"},
        ],
    )
    r = run_once(scenario, 6)
    promoters, passives, detractors, _ = nps_counts(r.segment_scores.sum(axis=0))
    buyers = promoters + passives + detractors
    assert buyers == r.orders > 1000
    assert passives == 0  # nothing in between: flawless (10) or ruined (0)
    assert detractors == r.defects
    sd = math.sqrt(buyers * 0.2 * 0.8)
    assert abs(detractors - 0.2 * buyers) <= 4 * sd
    # defects surface days after the orders, but the run length is until the last
    # customer left (the checkout takes no time here)
    assert r.end_time < 4000


# ------------------------------------------------------------------ money


def test_profit_is_margin_on_revenue_less_step_costs():
    scenario = make_scenario(
        segments=one_segment({"dist": "exponential", "mean": 5}, order_value=80),
        steps=[{"name": "verify", "cost": 0.5, "irritation": 2}, {"name": "pay", "cost": 0.1}],
        economics={"margin": 0.25, "currency": "EUR"},
    )
    r = run_once(scenario, 2)
    m = run_metrics(r, scenario)
    costs = 0.5 * r.step_entered[0] + 0.1 * r.step_entered[1]
    assert m["step_costs"] == pytest.approx(costs)
    assert m["profit"] == pytest.approx(0.25 * r.revenue - costs)
    assert r.step_entered[0] > r.step_entered[1] > 0


def test_returning_customers_order_from_their_own_segment():
    segments = [
        {"name": "small", "share": 0.5, "tolerance": 100, "order_value": 1},
        {"name": "large", "share": 0.5, "tolerance": 100, "order_value": 1000},
    ]
    scenario = make_scenario(
        horizon=3000, segments=segments, repeat={"delay": 10, "promoters": 0.5}
    )
    r = run_once(scenario, 3)
    assert r.source_visitors[RETURNING] > 100
    # every order is worth its segment's value, whoever places it
    assert r.segment_revenue.tolist() == [1.0 * r.segment_orders[0], 1000.0 * r.segment_orders[1]]


@pytest.mark.parametrize(
    ("tell", "message"),
    [
        ({"dist": "exponential", "mean": 2}, "'exponential' is not a count of people"),
        (2.5, "a number of people must be a whole number"),
        ({"dist": "poisson", "mean": 1e300}, "at most 10,000"),
    ],
)
def test_tell_is_a_count_of_people(tell, message):
    with pytest.raises(ScenarioError, match=message):
        make_scenario(word_of_mouth={"promoters": {"tell": tell}})


@pytest.mark.parametrize(
    ("start", "message"),
    [(720, "got the number 720"), ("9999-12-31T23:59:59Z", "between 1970 and 2200")],
)
def test_start_is_a_date_time_that_event_logs_can_write(start, message):
    with pytest.raises(ScenarioError, match=message):
        make_scenario(start=start)
