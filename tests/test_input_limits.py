"""Whatever ``validate`` accepts, ``run`` runs or refuses with one clear line.

Regression tests of the input side: a scenario that validates must run on
both engines without a traceback, a hang or gigabytes of memory, and a value
the engines cannot run must be refused by validation with a located message
that names the bound.
"""

from __future__ import annotations

import yaml
from click.testing import CliRunner

from frictionsim.cli import cli
from frictionsim.engine import _has_cycle

from .conftest import make_scenario, one_segment, scenario_dict


def _long_flow(n: int) -> dict:
    return {
        "steps": [{"name": f"s{i}", "irritation": 0.01} for i in range(n)],
        "segments": one_segment({"dist": "exponential", "mean": 5}),
        "horizon": 10,
    }


def test_a_flow_of_a_thousand_steps_validates_and_runs_on_both_engines(tmp_path):
    path = tmp_path / "long.yaml"
    path.write_text(yaml.safe_dump(scenario_dict(**_long_flow(1000))))
    runner = CliRunner()
    assert runner.invoke(cli, ["validate", str(path)]).exit_code == 0
    for engine in ("simpy", "fast"):
        out = tmp_path / engine
        args = ["run", str(path), "-r", "2", "--engine", engine, "--no-charts", "-q"]
        result = runner.invoke(cli, [*args, "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert (out / "summary.json").is_file()


def test_loops_are_found_in_long_flows_without_recursion():
    data = _long_flow(1000)
    assert not _has_cycle(make_scenario(**data))
    # the last step goes back to the first half the time: a loop 1000 steps long
    data["steps"][-1]["next"] = [{"to": "s0", "p": 0.5}, {"to": "s999", "p": 0.0}]
    data["steps"].append({"name": "end"})
    data["steps"][-2]["next"][1]["to"] = "end"
    data["steps"][-2]["next"][1]["p"] = 0.5
    assert _has_cycle(make_scenario(**data))
