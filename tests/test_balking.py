"""Balking (``steps[].balk_at``): a customer who finds that many or more waiting does not
join the queue; friction at the step. On both engines, against M/M/1/K."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from frictionsim.errors import ScenarioError
from frictionsim.execution import uses_fast_path
from frictionsim.sim import fastpath, simpy_engine
from frictionsim.studies import run, run_replications

from .conftest import make_scenario, one_segment
from .test_fastpath import assert_same

LAM, MU = 0.8, 1.0  # per minute


def desk(balk_at, **changes):
    changes = {"horizon": 20000, **changes}
    return make_scenario(
        arrivals={"rate": LAM},
        segments=one_segment({"dist": "fixed", "value": 1e9}),  # nobody reneges
        steps=[
            {
                "name": "desk",
                "capacity": 1,
                "balk_at": balk_at,
                "duration": {"dist": "exponential", "mean": 1 / MU},
            }
        ],
        **changes,
    )


@pytest.mark.parametrize("balk_at", [0, 2, 4])
def test_balking_is_the_m_m_1_k_queue(balk_at):
    # one served plus balk_at waiting: K = balk_at + 1 in the system; an arrival who
    # finds K there balks, with probability pi_K = rho^K (1 - rho) / (1 - rho^(K + 1))
    k, rho = balk_at + 1, LAM / MU
    exact = rho**k * (1 - rho) / (1 - rho ** (k + 1))
    scenario = desk(balk_at, horizon=5000)
    assert uses_fast_path(scenario)
    for engine in ("simpy", "fast"):
        results = run_replications(scenario, 3, 20, jobs=1, engine=engine)
        rates = np.asarray([r.step_balked[0] / r.visitors for r in results])
        se = rates.std(ddof=1) / math.sqrt(rates.size)
        assert se < 0.05 * exact  # sharp enough to catch a wrong queue
        # the exact value inside the 99.9 % Student-t interval of the replication means
        assert abs(rates.mean() - exact) <= stats.t.ppf(0.9995, rates.size - 1) * se, engine
        assert sum(r.abandoned_friction for r in results) == sum(
            int(r.step_balked[0]) for r in results
        )


@pytest.mark.parametrize("seed", [1, 2])
def test_balking_with_reneging_and_errors_equals_simpy(seed):
    scenario = make_scenario(
        horizon=1500,
        arrivals={"rate": 3},
        segments=one_segment({"dist": "exponential", "mean": 3}),
        steps=[
            {"name": "cart", "exit": 0.1},
            {
                "name": "desk",
                "capacity": 2,
                "balk_at": 3,
                "wait_irritation": 1,
                "duration": {"dist": "lognormal", "mean": 0.8, "sd": 0.5},
                "errors": {"p": 0.2, "irritation": 1, "max_attempts": 2},
            },
        ],
    )
    seq = np.random.SeedSequence(seed)
    slow = simpy_engine.simulate(scenario, seq)
    assert slow.step_balked[1] > 50
    assert slow.step_reneged[1] > 50
    assert_same(slow, fastpath.simulate(scenario, seq))


def test_balking_shows_in_the_summary_only_where_set():
    done = run(desk(2, replications=2, horizon=300), jobs=1)
    assert done.summary["steps"]["desk"]["balked"]["mean"] > 0
    plain = make_scenario(steps=[{"name": "desk", "capacity": 1, "duration": 1}])
    assert "balked" not in run(plain, jobs=1, replications=2).summary["steps"]["desk"]


def test_balk_at_needs_a_queue():
    with pytest.raises(ScenarioError, match="no `capacity`, so no queue to balk at"):
        make_scenario(steps=[{"name": "form", "balk_at": 3}])
