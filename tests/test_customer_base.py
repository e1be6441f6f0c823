"""A customer base over months (``base``): its size against the closed form of constant
join and churn rates, retention, memory moving the hazard, and the revenue split."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from frictionsim.errors import ScenarioError
from frictionsim.execution import uses_fast_path
from frictionsim.metrics import run_values, segment_values
from frictionsim.studies import run_replications

from .conftest import make_scenario, one_segment, run_once

DAY = 1440.0


def shop(base, horizon="120d", rate=0.002, steps=None, **changes):
    return make_scenario(
        horizon=horizon,
        arrivals={"rate": rate},
        segments=one_segment({"dist": "fixed", "value": 1e9}, 40),
        steps=steps or [{"name": "buy"}],
        base=base,
        **changes,
    )


def test_the_base_is_the_closed_form_of_constant_join_and_churn():
    # nobody is irritated (memory 0), so the hazard is 1 / lifetime for everyone and
    # every visitor orders: new customers join at the arrival rate λ. The expected base
    # at t is N0 e^{-μt} + (λ/μ)(1 - e^{-μt}); of the N0 at the start, N0 e^{-μt}
    # remain (a binomial count).
    n0, lam, life = 3000, 0.002, 200 * DAY
    scenario = shop({"customers": n0, "between_purchases": "20d", "lifetime": life})
    results = run_replications(scenario, 3, 8, jobs=2, engine="simpy")
    t = scenario.horizon
    mu = 1 / life
    retained = np.asarray([r.base_retained[-1] for r in results], dtype=float)
    p = math.exp(-mu * t)
    lo, hi = stats.binom.interval(0.999, n0, p)
    assert lo <= retained.min()
    assert retained.max() <= hi
    final = np.asarray([r.base_active[-1] for r in results], dtype=float)
    exact = n0 * p + lam / mu * (1 - p)
    se = final.std(ddof=1) / math.sqrt(final.size)
    assert abs(final.mean() - exact) <= stats.t.ppf(0.9995, final.size - 1) * se
    assert se < 0.01 * exact  # sharp enough to see a wrong join or churn rate
    r = results[0]
    assert r.base_joined == r.source_visitors[0]  # every organic visitor ordered and joined
    assert r.base_active[0] == n0
    assert r.base_active[-1] == n0 + r.base_joined - r.base_churned


def test_members_buy_at_their_rate_and_the_revenue_splits():
    # no churn to speak of: N0 members buying every 10 days over 100 days make about
    # 10 visits each (Poisson)
    n0 = 500
    scenario = shop(
        {"customers": n0, "between_purchases": "10d", "lifetime": "100000d", "join": False},
        horizon="100d",
    )
    r = run_once(scenario, 4)
    visits = int(r.source_visitors[2])
    expected = n0 * 10 * (1 - 1e-3)  # a member leaves within 100 days with chance ~0.1 %
    assert abs(visits - expected) <= 4 * math.sqrt(expected)
    values = run_values(r, scenario)
    assert values["base_revenue"] == pytest.approx(r.source_revenue[2])
    assert values["base_revenue"] + values["new_customer_revenue"] == pytest.approx(r.revenue)
    per = segment_values(r, scenario)["all"]["base_revenue_per_customer"]
    assert per == pytest.approx(values["base_revenue"] / n0)


def test_bad_memories_make_customers_leave_sooner():
    # a 10-field form costs 4 points against a tolerance of 10: every visit is
    # remembered at 0.4 of the tolerance; churn_per_point 5 makes the hazard 3×
    irritating = [{"name": "form", "fields": 10}]
    calm = {"customers": 4000, "between_purchases": "5d", "lifetime": "300d"}
    churned = []
    for c in (0.0, 5.0):
        scenario = make_scenario(
            horizon="60d",
            arrivals={"rate": 0.0001},
            segments=one_segment({"dist": "fixed", "value": 10}, 40),
            steps=irritating,
            base={**calm, "churn_per_point": c, "recent": 1.0},
        )
        churned.append(run_once(scenario, 2).base_churned)
    assert churned[1] > 1.8 * churned[0]


def test_a_visit_moves_memory_by_its_weight():
    from frictionsim.sim import simpy_engine

    scenario = shop({"customers": 1, "between_purchases": "1d", "lifetime": "1d", "recent": 0.25})
    sim = simpy_engine._Simulation(scenario, np.random.SeedSequence(1), False)
    sim.next_of = lambda person: None  # only the memory
    sim.members[(-1, 0)] = [0, 10.0, 0.2, True]
    sim.base_visit((-1, 0), 1.0)
    assert sim.members[(-1, 0)][2] == pytest.approx(0.2 + 0.25 * (1.0 - 0.2))


def test_without_join_only_the_first_customers_are_the_base():
    scenario = shop(
        {"customers": 100, "between_purchases": "10d", "lifetime": "50d", "join": False}
    )
    r = run_once(scenario, 1)
    assert r.base_joined == 0
    assert r.base_active[-1] == r.base_retained[-1] == 100 - r.base_churned


def test_the_base_runs_on_simpy_and_is_off_by_default():
    assert not uses_fast_path(shop({"between_purchases": "10d", "lifetime": "50d"}))
    plain = make_scenario()
    values = run_values(run_once(plain), plain)
    assert values["base_customers_end"] == values["base_joined"] == 0
    assert values["new_customer_revenue"] == values["revenue"]


@pytest.mark.parametrize(
    ("base", "extra", "message"),
    [
        ({"between_purchases": "10d", "lifetime": "50d"}, {"repeat": {}},
         "base: a customer base brings its customers back itself: remove `repeat`"),
        ({"between_purchases": "10d", "lifetime": "50d"}, {"reminders": {"exit": 1}},
         "base: a customer base brings its customers back itself: remove `reminders`"),
        ({"between_purchases": "10d", "lifetime": 0}, {}, "base.lifetime: "),
        ({"between_purchases": "10d", "lifetime": "5d", "customers": -1}, {}, "base.customers: "),
        ({"lifetime": "5d"}, {}, "base.between_purchases: "),
        ({"between_purchases": "10d", "lifetime": "5d", "recent": 0}, {}, "base.recent: "),
    ],
)  # fmt: skip
def test_bad_bases_are_refused_with_their_field(base, extra, message):
    with pytest.raises(ScenarioError) as err:
        make_scenario(base=base, **extra)
    assert message in str(err.value)
