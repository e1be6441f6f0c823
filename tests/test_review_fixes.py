"""Regressions found by a hostile review: each case once gave a traceback, an
internal error or a wrong refusal."""

from __future__ import annotations

import json

import yaml
from click.testing import CliRunner

from frictionsim.cli import cli

from .conftest import scenario_dict

SMALL = ["--replications", "2", "--no-charts", "--force"]


def write(tmp_path, **changes) -> str:
    data = scenario_dict(
        steps=[{"name": "cart", "irritation": 1}, {"name": "pay", "fields": 2}], **changes
    )
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_sweep_metric_missing_at_a_later_point_is_refused(tmp_path):
    file = write(tmp_path)
    result = invoke(
        "sweep", file, "--param", "steps.pay.name", "--values", "pay,other",
        "--metric", "steps.pay.entered", "--out", str(tmp_path / "o"), *SMALL,
    )  # fmt: skip
    assert result.exit_code == 2
    assert "unknown metric 'steps.pay.entered'" in result.output
    assert "at steps.pay.name=other" in result.output
    assert not (tmp_path / "o").exists()


def test_capacity_metric_of_a_step_given_capacity_by_the_param(tmp_path):
    file = write(tmp_path)
    for command, option in (("sweep", "--metric"), ("optimize", "--constraint")):
        out = tmp_path / command
        metric = "steps.cart.utilisation"
        extra = [option, metric if command == "sweep" else f"{metric}<=1"]
        if command == "optimize":
            extra += ["--objective", "max:orders"]
        result = invoke(
            command, file, "--param", "steps.cart.capacity", "--values", "1,2",
            *extra, "--out", str(out), *SMALL,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert out.is_dir()


def test_metric_of_a_step_renamed_with_a_dot(tmp_path):
    file = write(tmp_path)
    out = tmp_path / "o"
    result = invoke(
        "sweep", file, "--param", "steps.pay.name", "--values", "a.b",
        "--metric", "steps.a.b.entered", "--out", str(out), *SMALL,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads((out / "sweep.json").read_text())


def test_improve_repeated_change_runs_once(tmp_path):
    file = write(tmp_path)
    out = tmp_path / "o"
    result = invoke("improve", file, "--change", "remove", "--change", "remove",
                    "--out", str(out), *SMALL)  # fmt: skip
    assert result.exit_code == 0, result.output
    document = json.loads((out / "improvements.json").read_text())
    assert document["changes"] == ["remove"]
    rows = [(row["step"], row["change"]) for row in document["improvements"]]
    assert len(rows) == len(set(rows)) == 2


def test_improve_api_without_changes_is_refused():
    import pytest

    import frictionsim
    from frictionsim.errors import OptionError

    from .conftest import make_scenario

    with pytest.raises(OptionError, match="no change"):
        frictionsim.improve(make_scenario(), changes=(), replications=2)


def test_api_grid_values_may_be_numbers_or_one_text():
    import frictionsim

    from .conftest import make_scenario

    scenario = make_scenario(
        steps=[{"name": "desk", "duration": 1, "capacity": 1, "wait_irritation": 1}]
    )
    found = frictionsim.optimize(
        scenario, [("steps.desk.capacity", [1, 2])], "max:orders", replications=2
    )
    assert set(found.document["best"]) == {"steps.desk.capacity"}
    one = frictionsim.optimize(
        scenario, [("steps.desk.capacity", "12")], "max:orders", replications=2
    )
    assert one.document["best"] == {"steps.desk.capacity": 12}
    assert one.document["grid_points"] == 1


def test_set_reaches_steps_and_segments_with_dots_in_their_names(tmp_path):
    from frictionsim.scenario import load_scenario

    data = scenario_dict(
        steps=[{"name": "a.b"}, {"name": "a"}],
        segments=[{"name": "s.t", "share": 1, "tolerance": 10, "order_value": 5}],
    )
    path = tmp_path / "dots.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    scenario = load_scenario(path, ["steps.a.b.fields=3", "steps.a.fields=2",
                                    "segments.s.t.order_value=7"])  # fmt: skip
    assert [s.fields for s in scenario.steps] == [3, 2]
    out = tmp_path / "o"
    result = invoke("sweep", str(path), "--param", "steps.a.b.fields", "--values", "1,2",
                    "--metric", "steps.a.b.entered", "--out", str(out), *SMALL)  # fmt: skip
    assert result.exit_code == 0, result.output


def test_paths_and_names_are_printed_as_they_are(tmp_path, monkeypatch):
    """A folder name with rich markup in it ('[/x]' once ended a finished run with an
    internal error; '[bold]' vanished) or a newline (printed raw, two lines)."""
    monkeypatch.chdir(tmp_path)
    scenario = write(tmp_path)
    for out, shown in [("res[/x]", "res[/x]"), ("r[bold]s", "r[bold]s"), ("a\nb", "a\\nb")]:
        result = invoke("run", scenario, *SMALL, "--out", out)
        assert result.exit_code == 0, result.output
        assert result.output.splitlines()[-1].startswith(f"results in {shown}/ ("), result.output
        quiet = invoke("run", scenario, *SMALL, "--out", out, "-q")
        assert quiet.output == shown + "\n"
        assert (tmp_path / out / "summary.json").is_file()


def test_a_folder_that_cannot_be_made_is_refused_before_any_work(tmp_path, monkeypatch):
    """/proc says it is writable to root (os.access) but refuses a new folder: that used
    to be found only after the whole simulation."""
    import os

    import pytest

    from frictionsim.execution import Execution

    if not os.path.isdir("/proc/self"):
        pytest.skip("needs /proc")

    def no_work(*args, **kwargs):
        raise AssertionError("a refused run must not simulate")

    monkeypatch.setattr(Execution, "map", no_work)
    result = invoke("run", write(tmp_path), *SMALL, "--out", "/proc/frictionsim-x")
    assert result.exit_code == 1
    assert result.output.startswith("error: /proc: cannot write here (")
    assert len(result.output.splitlines()) == 1
