"""The engine's bounded aggregates behind the report charts: exact bins in micro-scenarios,
and totals that agree with the counters in random ones."""

from __future__ import annotations

import numpy as np
import pytest

from frictionsim.sim.result import IRRITATION_BINS, TIME_BINS, TIME_EDGES, irritation_edges
from frictionsim.stats import distributions, summarize

from .conftest import make_scenario, run_once
from .test_cli import SMALL


def test_irritation_on_entry_and_times_fall_in_hand_computed_bins():
    # tolerance 10 (fixed) -> edges 0..10 in 100 bins of 0.1
    steps = [
        {"name": "a", "irritation": 2, "duration": 1},
        {"name": "b", "irritation": 3, "duration": 1, "capacity": 1},
        {"name": "c", "irritation": 6},
    ]
    scenario = make_scenario(steps=steps)
    edges = irritation_edges(scenario)
    assert (edges[0], edges[-1], edges.size) == (0.0, 10.0, IRRITATION_BINS + 1)
    # customer 0 orders? no: 2 + 3 + 6 = 11 >= 10 at c. Customer 1 arrives at 0.5 and
    # waits 0.5 min for b's single unit.
    r = run_once(scenario, arrivals=[0.0, 0.5])
    hist = r.step_irritation_hist[:, 0, :]
    assert hist.sum(axis=1).tolist() == r.step_entered.tolist() == [2, 2, 2]
    assert hist[0].nonzero()[0].tolist() == [20]  # irritation 2
    assert hist[1].nonzero()[0].tolist() == [50]  # 5
    assert hist[2].nonzero()[0].tolist() == [IRRITATION_BINS - 1]  # 11: above the cap
    assert r.segment_tolerance_hist.tolist() == [[0] * (IRRITATION_BINS - 1) + [2]]
    # the wait of 0.5 min lands in the bin whose edges hold it
    (k,) = r.step_wait_hist[1].nonzero()[0]
    assert r.step_wait_hist[1, k] == 1
    assert TIME_EDGES[k] <= 0.5 < TIME_EDGES[k + 1]
    assert r.checkout_time_hist.sum() == 0  # nobody ordered
    assert r.step_lost_revenue_friction.tolist() == [0.0, 0.0, 100.0]


def test_checkout_time_bin():
    steps = [{"name": "a", "irritation": 1, "duration": 2}]
    r = run_once(make_scenario(steps=steps), arrivals=[0.0])
    (k,) = r.checkout_time_hist.nonzero()[0]
    assert TIME_EDGES[k] <= 2.0 < TIME_EDGES[k + 1]
    assert r.checkout_time_hist.shape == (TIME_BINS,)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_aggregates_agree_with_counters(seed):
    scenario = make_scenario(**{k: v for k, v in SMALL.items() if k != "name"})
    r = run_once(scenario, seed=seed)
    assert r.step_irritation_hist.sum(axis=(1, 2)).tolist() == r.step_entered.tolist()
    assert r.segment_tolerance_hist.sum(axis=1).tolist() == r.segment_visitors.tolist()
    assert r.step_wait_hist.sum(axis=1).tolist() == r.step_waited.tolist()
    assert r.checkout_time_hist.sum() == r.orders
    assert np.isclose(r.step_lost_revenue_friction.sum(), r.lost_revenue_friction)
    assert np.isclose(r.step_lost_revenue_exit.sum(), r.lost_revenue_exit)


def test_distributions_document_pools_replications():
    scenario = make_scenario(**{k: v for k, v in SMALL.items() if k != "name"})
    results = [run_once(scenario, seed=s) for s in (1, 2)]
    doc = distributions(scenario, results)
    assert doc["replications"] == 2
    assert list(doc["wait"]["steps"]) == ["pay"]  # only steps with capacity
    assert sum(doc["checkout_time"]["counts"]) == sum(r.orders for r in results)
    entered = sum(sum(c) for c in doc["irritation"]["steps"]["cart"].values())
    assert entered == sum(int(r.step_entered[0]) for r in results)
    summary = summarize(scenario, results, 1, "x")
    assert summary["steps"]["form"]["lost_revenue_friction"]["mean"] == pytest.approx(
        np.mean([r.step_lost_revenue_friction[1] for r in results])
    )
    potential = summary["metrics"]["potential_revenue"]["mean"]
    m = summary["metrics"]
    assert potential == pytest.approx(m["revenue"]["mean"] + m["lost_revenue"]["mean"])
