"""Recovery offers (``steps[].recovery``): friction abandoners shown an offer, some of
whom go on to the offer's step with the step's irritation forgiven. Hand-computed
micro-scenarios, and the counts every funnel keeps."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from frictionsim.errors import ScenarioError
from frictionsim.execution import uses_fast_path
from frictionsim.metrics import run_values, step_values
from frictionsim.stats import funnel_rows

from .conftest import make_scenario, one_segment, run_once


def offer(p, to="offer", cost=0.0, **first):
    """Everyone abandons at `form` (irritation 5 > tolerance 4) unless the offer brings
    them back; the offer's step asks nothing, so whoever takes it orders."""
    return make_scenario(
        horizon=2000,
        segments=one_segment({"dist": "fixed", "value": 4}),
        steps=[
            {
                "name": "form",
                "irritation": 5,
                "recovery": {"to": to, "p": p, "cost": cost},
                "next": "pay",
                **first,
            },
            {"name": "offer", "irritation": -1, "next": "pay"},
            {"name": "pay", "irritation": 1},
        ],
        economics={"margin": 0.2},
    )


def test_an_offer_brings_back_its_share_of_friction_abandoners():
    scenario = offer(0.3, cost=0.5)
    r = run_once(scenario, 3)
    n = r.visitors
    # every visitor is shown the offer once; those who take it order via `offer` and `pay`
    # (irritation 0 after the forgiven form, relief to 0, then 1 < 4)
    assert r.step_recovery_offers[0] == n
    assert r.orders == r.step_recovered[0] == r.step_entered[1]
    assert r.abandoned_friction == n - r.orders == r.step_abandoned_friction[0]
    # Binomial(n, 0.3): the count inside its 99.9 % interval, which excludes 0.25 and 0.35
    lo, hi = stats.binom.interval(0.999, n, 0.3)
    assert lo <= r.orders <= hi
    assert not lo <= 0.25 * n <= hi
    assert not lo <= 0.35 * n <= hi
    values = run_values(r, scenario)
    assert values["recovered"] == r.orders
    assert values["recovery_costs"] == pytest.approx(0.5 * n)
    assert values["profit"] == pytest.approx(0.2 * r.revenue - 0.5 * n)
    steps = step_values(r, scenario)
    assert steps["form"]["completed"] == 0  # sent on by the offer is not completing the form
    assert steps["form"]["recovered"] == r.orders
    assert "recovered" not in steps["pay"]


def test_the_offer_is_made_once_a_visit():
    # an offer back to the form itself: the form irritates again (5 > 4) and there is no
    # second offer, so everyone abandons there after entering it twice
    scenario = make_scenario(
        horizon=2000,
        segments=one_segment({"dist": "fixed", "value": 4}),
        steps=[
            {"name": "form", "irritation": 5, "recovery": {"to": "form", "p": 1}},
            {"name": "pay", "irritation": 1},
        ],
    )
    r = run_once(scenario, 1)
    n = r.visitors
    assert r.orders == 0
    assert r.step_entered[0] == 2 * n
    assert r.step_recovery_offers[0] == r.step_recovered[0] == n
    assert r.step_abandoned_friction[0] == n


def test_the_irritation_of_the_step_is_forgiven_not_what_came_before():
    # 3 points before the form (3 < 4), then the form (3 + 5 ≥ 4): taken back to 3 by the
    # offer; the offer's relief (−1) gives 2, pay (+1) gives 3 < 4: all order. With 4
    # points before, the customer never reaches the form.
    for before, orders in ((3, True), (4, False)):
        scenario = make_scenario(
            horizon=500,
            segments=one_segment({"dist": "fixed", "value": 4}),
            steps=[
                {"name": "start", "irritation": before},
                {
                    "name": "form",
                    "irritation": 5,
                    "recovery": {"to": "offer", "p": 1},
                    "next": "pay",
                },
                {"name": "offer", "irritation": -1, "next": "pay"},
                {"name": "pay", "irritation": 1},
            ],
        )
        r = run_once(scenario, 2)
        assert (r.orders == r.visitors) is orders
        assert r.orders == r.step_recovered[1]


@pytest.mark.parametrize(
    "where",
    [
        {"capacity": 1, "duration": 10, "balk_at": 0, "irritation": 0},  # balking
        {"capacity": 1, "duration": 10, "wait_irritation": 1, "irritation": 0},  # reneging
        {"duration": 10, "time_irritation": 1, "irritation": 0},  # mid-attempt
        {"errors": {"p": 1, "max_attempts": 2}, "irritation": 0},  # failing every attempt
    ],
)
def test_every_kind_of_friction_abandonment_is_offered_the_recovery(where):
    scenario = offer(1.0, **where)
    r = run_once(scenario, 4)
    lost = r.step_abandoned_friction[0]
    offers = r.step_recovery_offers[0]
    assert offers > 0
    assert lost == 0  # p = 1: everyone shown the offer takes it
    assert r.step_recovered[0] == offers
    assert r.step_balked[0] == r.step_reneged[0] == 0  # counted only for who left
    assert r.orders == r.visitors - r.abandoned_friction - r.abandoned_exit


def test_funnel_rows_add_up_with_recovered_customers():
    scenario = offer(0.5)
    r = run_once(scenario, 5)
    for row in funnel_rows(scenario, [r]):
        gone = row["abandoned_friction"] + row["abandoned_exit"] + row["completed"]
        recovered = int(r.step_recovered[scenario.step_index(row["step"])])
        assert gone + recovered == row["entered"]


def test_offers_run_on_the_simpy_engine_only_and_are_off_by_default():
    assert not uses_fast_path(offer(0.3))
    plain = make_scenario(steps=[{"name": "a", "irritation": 1}])
    r = run_once(plain, 1)
    assert not r.step_recovery_offers.any()
    assert "recovered" not in step_values(r, plain)["a"]


@pytest.mark.parametrize(
    ("recovery", "message"),
    [
        ({"to": "ofer", "p": 0.5}, "steps.form.recovery.to: no step named 'ofer' (did you mean 'offer'?)"),
        ({"to": "offer", "p": 1.5}, "steps.form.recovery.p: "),
        ({"to": "offer"}, "steps.form.recovery.p: "),
        ({"to": "offer", "p": 0.5, "cost": -1}, "steps.form.recovery.cost: "),
    ],
)  # fmt: skip
def test_bad_offers_are_refused_with_their_field(recovery, message):
    with pytest.raises(ScenarioError) as err:
        make_scenario(
            steps=[
                {"name": "form", "recovery": recovery, "next": "pay"},
                {"name": "offer", "next": "pay"},
                {"name": "pay"},
            ]
        )
    assert message in str(err.value)


def test_a_step_reached_only_through_an_offer_is_reachable():
    # without the offer, `offer` is never reached; with it the file is valid
    with pytest.raises(ScenarioError, match="never reached"):
        make_scenario(
            steps=[
                {"name": "form", "next": "pay"},
                {"name": "offer", "next": "pay"},
                {"name": "pay"},
            ]
        )
    assert offer(0.5).flow.reachable >= {0, 1, 2}


def test_a_step_offer_stream_leaves_the_other_draws_alone():
    # the same seed with and without an offer: organic customers keep their rows
    plain = make_scenario(
        horizon=2000,
        segments=one_segment({"dist": "exponential", "mean": 4}),
        steps=[{"name": "form", "irritation": 2, "exit": 0.2}, {"name": "pay", "irritation": 1}],
    )
    r0 = run_once(plain, 9)
    with_offer = make_scenario(
        horizon=2000,
        segments=one_segment({"dist": "exponential", "mean": 4}),
        steps=[
            {"name": "form", "irritation": 2, "exit": 0.2, "recovery": {"to": "pay", "p": 0.0}},
            {"name": "pay", "irritation": 1},
        ],
    )
    r1 = run_once(with_offer, 9)
    assert r1.visitors == r0.visitors
    assert r1.orders == r0.orders  # p = 0: nobody taken back, nothing else changed
    assert np.array_equal(r1.step_abandoned_exit, r0.step_abandoned_exit)
    assert math.isclose(r1.revenue, r0.revenue)
