"""Whatever ``validate`` accepts, ``run`` runs or refuses with one clear line.

Regression tests of the input side: a scenario that validates must run on
both engines without a traceback, a hang or gigabytes of memory, and a value
the engines cannot run must be refused by validation with a located message
that names the bound.
"""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner

from frictionsim.cli import cli
from frictionsim.engine import _has_cycle
from frictionsim.errors import ScenarioError
from frictionsim.scenario import parse_scenario

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


# ------------------------------------------------------------------ --set paths


def _problems(text: str, overrides: list[str] = ()) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "t.yaml", overrides)
    return [str(p) for p in info.value.problems]


def test_a_step_name_wins_over_an_index_in_set_paths():
    text = yaml.safe_dump(scenario_dict(steps=[{"name": "2"}, {"name": "1"}, {"name": "0"}]))
    changed = parse_scenario(text, "t.yaml", ["steps.1.irritation=5", "steps.0.fields=2"])
    assert [(s.name, s.irritation, s.fields) for s in changed.steps] == [
        ("2", 0, 0),
        ("1", 5, 0),
        ("0", 0, 2),
    ]
    # an index still works where no item has that name
    other = parse_scenario(text, "t.yaml", ["steps.2.irritation=1", "segments.0.sensitivity=2"])
    assert [s.irritation for s in other.steps] == [1, 0, 0]
    assert other.segments[0].sensitivity == 2


@pytest.mark.parametrize("segment", ["²", "٣", "１", "0x1", "+1", " 1"])
def test_only_ascii_digits_are_an_index_in_set_paths(segment):
    text = yaml.safe_dump(scenario_dict())
    assert _problems(text, [f"steps.{segment}.capacity=3"]) == [
        f"--set:1:7: steps.{segment}: no step named '{segment}'"
    ]


@pytest.mark.parametrize(
    ("segment", "message"),
    [
        ("-1", "no step at index -1 (indexes run from 0 to 0)"),
        ("99999999999999999999", "no step at index 99999999999999999999 (indexes run from 0 to 0)"),
    ],
)
def test_an_index_out_of_range_is_located(segment, message):
    text = yaml.safe_dump(scenario_dict())
    assert _problems(text, [f"steps.{segment}.capacity=3"]) == [
        f"--set:1:7: steps.{segment}: {message}"
    ]
