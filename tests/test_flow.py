"""The step graph, worked out once: reachability, order, loops and expected visits."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from frictionsim.flow import END, Flow

from .conftest import make_scenario


def chain(n: int) -> Flow:
    return Flow(tuple(((i + 1 if i + 1 < n else END, 1.0),) for i in range(n)))


def test_a_flow_of_many_steps_needs_no_deep_recursion():
    n = 5 * sys.getrecursionlimit()
    flow = chain(n)
    assert flow.topological_order == tuple(range(n))
    assert not flow.has_cycle
    assert flow.linear_path == tuple(range(n))
    assert flow.reachable == frozenset([*range(n), END])
    assert flow.can_end == flow.reachable
    assert np.array_equal(flow.expected_visits(), np.ones(n))


def test_a_loop_is_a_cycle_and_its_visits_follow_the_geometric_series():
    # 0 -> 1; 1 -> 0 with q, else END: each step is visited 1 / (1 - q) times
    q = 0.25
    flow = Flow((((1, 1.0),), ((0, q), (END, 1 - q))))
    assert flow.has_cycle
    assert flow.topological_order is None
    assert flow.linear_path is None
    assert np.allclose(flow.expected_visits(), [1 / (1 - q)] * 2)


def test_a_branch_of_probability_zero_is_never_taken():
    # 0 -> 1 (p=1) or 2 (p=0); 1 -> END; 2 -> 0 (a loop only through the p = 0 branch)
    flow = Flow((((1, 1.0), (2, 0.0)), ((END, 1.0),), ((0, 1.0),)))
    assert flow.live == ((1,), (END,), (0,))
    assert flow.reachable == frozenset([0, 1, END])
    assert not flow.has_cycle
    assert flow.topological_order == (2, 0, 1)  # step 2 has no live edge in: ready at once
    assert flow.linear_path is None  # step 2 is never met, so no order covers every step
    assert flow.only_predecessor == {0: 1, 2: 0}


def test_steps_that_cannot_end_are_found():
    # 0 -> 1 or 2; 1 -> END; 2 -> 2 (a loop with no way out)
    flow = Flow((((1, 0.5), (2, 0.5)), ((END, 1.0),), ((2, 1.0),)))
    assert flow.can_end == frozenset([0, 1, END])
    assert flow.has_cycle


def test_the_scenario_flow_follows_next_and_the_listed_order():
    scenario = make_scenario(
        steps=[
            {"name": "a", "next": [{"to": "b", "p": 0.7}, {"to": "c", "p": 0.3}]},
            {"name": "b", "next": "d"},
            {"name": "c"},
            {"name": "d"},
        ]
    )
    flow = scenario.flow
    assert flow.successors == (((1, 0.7), (2, 0.3)), ((3, 1.0),), ((3, 1.0),), ((END, 1.0),))
    assert scenario.flow is flow  # computed once
    assert flow.topological_order == (0, 1, 2, 3)
    assert np.allclose(flow.expected_visits(), [1, 0.7, 0.3, 1])
    assert flow.only_predecessor == {}


@pytest.mark.parametrize("n", [1, 2, 50])
def test_a_validated_chain_scenario_is_linear(n):
    scenario = make_scenario(steps=[{"name": f"s{i}"} for i in range(n)])
    assert scenario.flow.linear_path == tuple(range(n))
