"""optimize: the best point of a grid under constraints, checked against Erlang-A."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from frictionsim.cli import cli
from frictionsim.errors import OptionError
from frictionsim.studies import optimize
from frictionsim.studies.optimize import _monotone, _unimodal
from frictionsim.theory import erlang_a

from .conftest import make_scenario, one_segment

LAM, MU, THETA = 9.0, 1.0, 0.5  # per minute: the Erlang-A queue of scenarios/mmc_queue.yaml


def desk(horizon: float, **economics) -> object:
    """M/M/n+M in frictionsim terms: exponential patience read as the tolerance, waiting
    costs 1 irritation per minute, nothing else irritates; orders worth 10."""
    return make_scenario(
        name="desk",
        horizon=horizon,
        arrivals={"rate": LAM},
        segments=one_segment({"dist": "exponential", "mean": 1 / THETA}, order_value=10),
        steps=[
            {
                "name": "desk",
                "duration": {"dist": "exponential", "mean": 1 / MU},
                "capacity": 10,
                "wait_irritation": 1,
            }
        ],
        friction={"per_field": 0, "wait_irritation": 0},
        economics=economics,
    )


CAPACITIES = [str(n) for n in range(6, 17)]


def test_the_fewest_agents_meeting_an_abandonment_target_is_the_erlang_a_answer():
    target = 0.03
    exact = {n: erlang_a(LAM, MU, THETA, n).p_abandon for n in range(6, 17)}
    answer = min(n for n, p in exact.items() if p <= target)
    # the test can fail: the answer's neighbours are well away from the target
    assert exact[answer] <= target - 0.008
    assert exact[answer - 1] >= target + 0.008
    result = optimize(
        desk(600),
        [("steps.desk.capacity", CAPACITIES)],
        "min:steps.desk.capacity",
        ["steps.desk.abandon_rate<=0.03"],
        seed=5,
        replications=4,
        jobs=1,
    )
    doc = result.document
    assert doc["best"] == {"steps.desk.capacity": answer}
    assert doc["search"] == "bisection"
    assert doc["evaluated_points"] < doc["grid_points"]  # not every point was needed
    (c,) = doc["optimum"]["constraints"]
    assert c["probability_holds"] > 0.95
    lo, hi = c["ci95"]
    assert lo <= exact[answer] <= hi + 0.004  # start-up from empty biases abandonment low
    below = next(p for p in doc["evaluated"] if p["values"]["steps.desk.capacity"] == answer - 1)
    assert not below["feasible"]


@pytest.mark.slow
def test_the_capacity_that_maximises_profit_is_the_erlang_a_answer():
    # profit per hour = 10 * lam * 60 * (1 - P_abandon(n)) - cost * n: exact argmax
    cost = 74.2  # per agent-hour: midway between the gains of the 12th and 13th agent
    exact = {
        n: 10 * LAM * 60 * (1 - erlang_a(LAM, MU, THETA, n).p_abandon) - cost * n
        for n in range(9, 16)
    }
    answer = max(exact, key=exact.get)
    assert answer == 12
    gaps = sorted(exact[answer] - v for n, v in exact.items() if n != answer)
    assert gaps[0] > 15  # per hour: 750 over the 3000-minute horizon, about 5 SE
    result = optimize(
        desk(3000, capacity_cost=f"{cost}/h"),
        [("steps.desk.capacity", [str(n) for n in range(9, 16)])],
        "max:profit",
        seed=3,
        replications=6,
    )
    doc = result.document
    assert doc["best"] == {"steps.desk.capacity": answer}
    assert doc["search"] == "ternary"
    assert all(n["objective_difference"]["mean"] < 0 for n in doc["optimum"]["neighbours"])


def test_search_and_exhaustive_evaluation_agree():
    args = ([("steps.desk.capacity", CAPACITIES)], "min:steps.desk.capacity",
            ["steps.desk.mean_wait<=0.2"])  # fmt: skip
    searched = optimize(desk(300), *args, seed=2, replications=3, jobs=1).document
    everything = optimize(desk(300), *args, seed=2, replications=3, jobs=1, exhaustive=True)
    assert everything.document["search"] == "exhaustive"
    assert everything.document["evaluated_points"] == len(CAPACITIES)
    assert searched["best"] == everything.document["best"]
    for point in searched["evaluated"]:  # the same seeds: the same numbers at every point
        same = next(p for p in everything.document["evaluated"] if p["values"] == point["values"])
        assert same["metrics"] == point["metrics"]


def test_no_feasible_point_is_reported_not_invented():
    result = optimize(desk(200), [("steps.desk.capacity", ["1", "2", "3", "4", "5"])],
                      "min:steps.desk.capacity", ["steps.desk.abandon_rate<=0.0001"],
                      seed=1, replications=2, jobs=1)  # fmt: skip
    assert result.document["best"] is None
    assert result.document["search"] == "exhaustive"  # infeasible at both ends: look everywhere
    assert result.document["evaluated_points"] == 5


@pytest.mark.parametrize(
    ("objective", "constraints", "message"),
    [
        ("maximise:profit", [], "expected max:METRIC or min:METRIC"),
        ("max:proft", [], "did you mean 'profit'"),
        ("min:steps.desk.capacity", ["steps.desk.abandon_rate=0.1"], "expected METRIC<=VALUE"),
        ("min:steps.desk.capacity", ["steps.desk.abandon_rate<=inf"], "finite number"),
        ("min:steps.desk.capacity", ["steps.dsk.abandon_rate<=0.1"], "did you mean"),
    ],
)
def test_bad_objectives_and_constraints_are_refused(objective, constraints, message):
    with pytest.raises(OptionError, match=message):
        optimize(desk(100), [("steps.desk.capacity", ["1", "2"])], objective, constraints)


def test_monotone_and_unimodal_checks():
    assert _monotone([0.3, 0.2, 0.2, 0.1])
    assert not _monotone([0.3, 0.1, 0.2])
    assert _unimodal([1, 3, 3, 2, 0])
    assert not _unimodal([1, 3, 2, 4])


def test_cli_optimize_writes_optimum_json_with_best_and_a_chart(tmp_path):
    path = tmp_path / "desk.yaml"
    import yaml

    path.write_text(yaml.safe_dump(desk(200).model_dump(mode="json", exclude_none=True)))
    out = tmp_path / "o"
    args = ["optimize", str(path), "--param", "steps.desk.capacity", "--values", "6:14:1",
            "--objective", "min:steps.desk.capacity", "--constraint",
            "steps.desk.abandon_rate<=0.05", "-r", "2", "--jobs", "1", "--out", str(out)]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "optimum.json").read_text())
    assert set(doc["best"]) == {"steps.desk.capacity"}
    assert isinstance(doc["best"]["steps.desk.capacity"], int)
    assert sorted(p.name for p in out.iterdir()) == [
        "optimum.csv", "optimum.json", "optimum.png", "report.html", "report.md", "run.json",
        "scenario.resolved.yaml",
    ]  # fmt: skip
    before = (out / "optimum.png").read_bytes()
    (out / "optimum.png").unlink()
    redrawn = CliRunner().invoke(cli, ["report", str(out)])
    assert redrawn.exit_code == 0, redrawn.output
    assert (out / "optimum.png").read_bytes() == before
    bad = CliRunner().invoke(cli, [*args[:-2], "--out", str(tmp_path / "p"), "--objective",
                                   "max:nope"])  # fmt: skip
    assert bad.exit_code == 2
    assert "unknown metric 'nope'" in bad.output
