"""sweep: values and ranges, common random numbers across points, resume, CLI messages."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from matplotlib.figure import Figure

from frictionsim.cli import cli
from frictionsim.errors import OptionError, ScenarioError
from frictionsim.report import draw_sweep, write_sweep_chart
from frictionsim.results import write_sweep
from frictionsim.scenario import load_scenario
from frictionsim.studies import sweep
from frictionsim.studies.sweep import parse_values, partial_path

from .conftest import png_size, scenario_dict

SCENARIO = scenario_dict(
    name="shop",
    replications=3,
    horizon=300,
    arrivals={"rate": 2},
    segments=[
        {
            "name": "all",
            "share": 1,
            "tolerance": {"dist": "lognormal", "mean": 8, "sd": 4},
            "order_value": {"dist": "lognormal", "mean": 60, "sd": 30},
        }
    ],
    steps=[
        {
            "name": "cart",
            "irritation": 1,
            "exit": 0.2,
            "duration": {"dist": "exponential", "mean": 1},
        },
        {"name": "account", "fields": 5},
        {"name": "pay", "errors": {"p": 0.1, "irritation": 2}},
    ],
)


@pytest.fixture
def shop(tmp_cwd):
    path = tmp_cwd / "shop.yaml"
    path.write_text(yaml.safe_dump(SCENARIO, sort_keys=False))
    return path


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("5,10,15", ["5", "10", "15"]),
        ("5:20:5", ["5", "10", "15", "20"]),
        ("5:19:5", ["5", "10", "15"]),
        ("0:0.3:0.1", ["0", "0.1", "0.2", "0.3"]),
        ("60/h, 2/min", ["60/h", "2/min"]),
        ("7", ["7"]),
    ],
)
def test_parse_values(text, values):
    assert parse_values(text) == values


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("5:x:5", "must be numbers"),
        ("5:20:0", "STEP must be a positive"),
        ("20:5:5", "STOP is below START"),
        ("5:20", "START:STOP:STEP"),
        ("5,,6", "expected values like"),
        ("", "expected values like"),
        ("0:1e9:1", "at most"),
        ("0:1e999999999:1", "must be finite numbers of at most 1e\\+15"),
        ("-1e16:0:1", "must be finite numbers"),
        ("0:1:1e-999999999", "more than 1e\\+15 values, at most 10000"),
        ("0:10:1e-20", "1e\\+21 values"),
        ("0:1:0.0001", "10,001 values, at most 10000"),
        (",".join(["1"] * 10_001), "10001 values, at most 10000"),
        ("x" * 500 + ":1:1", "characters\\)': START, STOP and STEP"),
    ],
)
def test_bad_values_are_refused(text, message):
    with pytest.raises(OptionError, match=message):
        parse_values(text)


def test_points_share_seeds_so_more_fields_never_convert_more(shop):
    result = sweep(load_scenario(shop), [("steps.account.fields", ["0", "5", "10", "20"])], seed=4)
    visitors = [[r["visitors"] for r in point] for point in result.rows]
    assert all(v == visitors[0] for v in visitors)  # the same customers at every point
    for rep in range(3):
        orders = [point[rep]["orders"] for point in result.rows]
        assert orders == sorted(orders, reverse=True)  # same customers, more irritation
        assert orders[0] > orders[-1]


def test_grid_has_every_combination(shop, tmp_cwd):
    result = sweep(
        load_scenario(shop),
        [("steps.account.fields", ["0", "10"]), ("arrivals.rate", ["1", "120/h", "3"])],
        replications=2,
    )
    assert len(result.points) == 6
    write_sweep(result, tmp_cwd / "grid")
    rows = list(csv.DictReader((tmp_cwd / "grid" / "sweep.csv").open()))
    assert {(r["steps.account.fields"], r["arrivals.rate"]) for r in rows} == {
        (f, r) for f in ("0", "10") for r in ("1", "120/h", "3")
    }
    assert png_size((tmp_cwd / "grid" / "sweep.png").read_bytes()) == (1600, 900)
    doc = result.document
    assert doc["scenario"] == "shop"
    ax = draw_sweep(Figure(), doc)
    cells = np.asarray(ax.images[0].get_array())  # rows: fields, columns: rate
    expected = [
        [p["metrics"]["conversion_rate"]["mean"] for p in doc["points"] if p["values"][f] == v]
        for f, v in [("steps.account.fields", "0"), ("steps.account.fields", "10")]
    ]
    assert cells == pytest.approx(np.asarray(expected))
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "120/h", "3"]
    assert ax.get_title("left").startswith("shop: conversion rate by steps.account.fields")


def test_sweep_curve_is_the_mean_of_each_point(shop, tmp_cwd):
    result = sweep(
        load_scenario(shop), [("steps.account.fields", ["0", "5", "10"])], replications=2
    )
    ax = draw_sweep(Figure(), result.document)
    (line,) = ax.get_lines()
    assert list(line.get_xdata()) == [0.0, 5.0, 10.0]
    stats = [p["metrics"]["conversion_rate"] for p in result.document["points"]]
    assert line.get_ydata() == pytest.approx([s["mean"] for s in stats])
    band = ax.collections[0].get_paths()[0].vertices
    assert band[:, 1].min() == pytest.approx(min(s["ci95"][0] for s in stats))
    assert ax.get_title("left").startswith("shop: conversion rate vs steps.account.fields")
    path = write_sweep_chart(result.document, tmp_cwd)
    assert png_size(path.read_bytes()) == (1600, 900)


def test_bad_path_is_located_like_set(shop):
    with pytest.raises(ScenarioError) as err:
        sweep(load_scenario(shop), [("steps.acount.fields", ["1", "2"])])
    assert [str(p) for p in err.value.problems] == [
        "--set:1:7: steps.acount: no step named 'acount' (did you mean 'account'?)"
    ]
    with pytest.raises(ScenarioError, match=r"steps\.account\.fields"):
        sweep(load_scenario(shop), [("steps.account.fields", ["1", "-2"])])


class Stop(KeyboardInterrupt):
    pass


def test_resumed_sweep_writes_the_same_bytes(shop, tmp_cwd):
    grid = [("steps.account.fields", ["0", "4", "8", "12"])]
    whole = sweep(load_scenario(shop), grid, seed=2)
    write_sweep(whole, tmp_cwd / "whole")

    out = tmp_cwd / "resumed"
    partial = partial_path(out)

    def interrupt_after_seven(done, total):
        if done == 7:  # points 0 and 1 finished (3 replications each), point 2 started
            raise Stop

    with pytest.raises(Stop):
        sweep(load_scenario(shop), grid, seed=2, progress=interrupt_after_seven, partial=partial)
    assert not out.exists()
    recorded = partial.read_text().splitlines()
    assert len(recorded) == 1 + 2
    with partial.open("a") as f:
        f.write('{"point": 2, "metr')  # a line cut short by the interruption
    calls = []
    resumed = sweep(
        load_scenario(shop),
        grid,
        seed=2,
        partial=partial,
        resume=True,
        progress=lambda d, t: calls.append(d),
    )
    assert resumed.resumed_points == 2
    # the two points read back count as done at once; only the two missing ones were
    # simulated, one progress step per replication
    assert calls == [0, 2 * 3, *range(2 * 3 + 1, 4 * 3 + 1)]
    write_sweep(resumed, out)
    for name in ("sweep.json", "sweep.csv", "sweep.png"):
        assert (out / name).read_bytes() == (tmp_cwd / "whole" / name).read_bytes(), name


@pytest.mark.parametrize(
    "damage",
    [
        "[]",
        '"x"',
        "null",
        '{"point": 1, "metrics": null}',
        '{"point": true, "metrics": []}',
        '{"point": 99, "metrics": []}',
        '{"point": 1, "metrics": [1, 2, 3]}',
        '{"point": 1, "metrics": [{}, {}, {}]}',
        '{"point": 1, "metrics": "abc"}',
        "[" * 100_000,
        "\udcff binary \x00",
    ],
)
def test_resume_simulates_again_the_points_of_damaged_lines(shop, tmp_cwd, damage):
    grid = [("steps.account.fields", ["0", "4"])]
    partial = tmp_cwd / ".x.partial.jsonl"
    whole = sweep(load_scenario(shop), grid, seed=2, partial=partial)
    head, first, second = partial.read_text().splitlines()
    point_one = first if '"point": 1' in first else second
    partial.write_text(f"{head}\n{damage}\n{point_one}\n", errors="surrogateescape")
    resumed = sweep(load_scenario(shop), grid, seed=2, partial=partial, resume=True)
    assert (resumed.resumed_points, resumed.damaged_lines) == (1, 1)
    assert resumed.document == whole.document


@pytest.mark.parametrize("head", ["[]", "null", '"x"', "{", ""])
def test_resume_refuses_a_partial_file_with_a_damaged_head(shop, tmp_cwd, head):
    partial = tmp_cwd / ".x.partial.jsonl"
    partial.write_text(head + "\n")
    with pytest.raises(OptionError, match=r"records a different sweep .* or is damaged"):
        sweep(
            load_scenario(shop),
            [("steps.account.fields", ["0", "4"])],
            partial=partial,
            resume=True,
        )


def test_resume_from_a_folder_in_place_of_the_partial_file_is_one_line(shop, tmp_cwd):
    partial = tmp_cwd / ".x.partial.jsonl"
    partial.mkdir()
    with pytest.raises(OptionError, match="cannot read the sweep's partial file"):
        sweep(
            load_scenario(shop),
            [("steps.account.fields", ["0", "4"])],
            partial=partial,
            resume=True,
        )


@pytest.mark.parametrize("param", ["seed", "replications", " seed"])
def test_seed_and_replications_cannot_be_swept(shop, param):
    with pytest.raises(OptionError, match="same seeds and replications"):
        sweep(load_scenario(shop), [(param, ["1", "2"])])


def test_resume_refuses_a_partial_file_of_another_sweep(shop, tmp_cwd):
    partial = tmp_cwd / ".x.partial.jsonl"
    sweep(load_scenario(shop), [("steps.account.fields", ["0", "4"])], partial=partial)
    with pytest.raises(OptionError, match="records a different sweep"):
        sweep(
            load_scenario(shop),
            [("steps.account.fields", ["0", "5"])],
            partial=partial,
            resume=True,
        )


# ------------------------------------------------------------------ command line


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_cli_sweep_writes_folder_and_removes_partial(shop, tmp_cwd):
    result = invoke("sweep", shop, "--param", "steps.account.fields", "--values", "0:10:5", "-q")
    assert result.exit_code == 0, result.output
    # the default folder names the swept parameter and its values
    out = tmp_cwd / "results" / "sweep-shop--steps.account.fields=0_10_5"
    assert sorted(p.name for p in out.iterdir()) == [
        "report.html",
        "report.md",
        "run.json",
        "sweep.csv",
        "sweep.json",
        "sweep.png",
    ]
    doc = json.loads((out / "sweep.json").read_text())
    assert [p["values"]["steps.account.fields"] for p in doc["points"]] == ["0", "5", "10"]
    assert not partial_path(out).exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--param", "steps.account.fields", "--values", "1:x"], "a range is START:STOP:STEP"),
        (
            ["--param", "steps.account.fields", "--values", "1,2", "--metric", "conversion"],
            "unknown metric 'conversion' of 'shop' (did you mean 'conversion_rate'?)",
        ),
        (["--param", "a", "--param", "b", "--values", "1"], "one --values for each --param"),
        (
            ["--param", "steps.nope.fields", "--values", "1,2"],
            "--set:1:7: steps.nope: no step named 'nope'",
        ),
    ],
)
def test_cli_sweep_bad_input_is_one_clean_line(shop, args, message):
    result = invoke("sweep", shop, *args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_cli_interrupted_sweep_keeps_partial_and_writes_no_folder(shop, tmp_cwd, monkeypatch):
    import frictionsim.studies as studies

    real = studies.sweep

    def stopped(*args, **kwargs):
        def boom(done, total):
            if done == 4:
                raise KeyboardInterrupt

        kwargs["execution"].progress = boom
        return real(*args, **kwargs)

    monkeypatch.setattr(studies, "sweep", stopped)
    out = tmp_cwd / "results" / "sweep-shop--steps.account.fields=0_10_5"
    result = invoke("sweep", shop, "--param", "steps.account.fields", "--values", "0:10:5")
    assert result.exit_code == 130
    assert result.output.splitlines() == [
        f"interrupted; no results folder was written, finished points are kept in "
        f"{partial_path(Path('results') / out.name)}: add --resume to go on"
    ]
    assert not out.exists()
    assert partial_path(out).is_file()
    monkeypatch.setattr(studies, "sweep", real)
    result = invoke(
        "sweep", shop, "--param", "steps.account.fields", "--values", "0:10:5", "--resume"
    )
    assert result.exit_code == 0, result.output
    assert "1 resumed" in result.output
    assert not partial_path(out).exists()


def test_a_sweep_charts_any_metric_of_summary_json_by_its_path(shop):
    grid = [("steps.account.fields", ["0", "10"])]
    result = sweep(load_scenario(shop), grid, seed=3, metric="steps.account.friction_rate")
    low, high = (
        p["metrics"]["steps.account.friction_rate"]["mean"] for p in result.document["points"]
    )
    assert low < high  # more fields at the account step lose more customers there
    first = result.document["points"][0]["metrics"]
    assert {"nps", "profit", "steps.pay.failed_attempts", "segments.all.nps"} <= set(first)
    # per replication, a step's figures add up to the run's: friction losses over the steps
    for reps in result.rows:
        for r in reps:
            steps = sum(r[f"steps.{s}.abandoned_friction"] for s in ("cart", "account", "pay"))
            assert steps == r["abandoned_friction"]


@pytest.mark.parametrize(
    ("metric", "message"),
    [
        ("steps.acount.friction_rate", "did you mean 'steps.account.friction_rate'"),
        ("steps.pay.p_wait", "'steps.pay.p_wait' is a metric of steps with capacity only"),
        ("segments.all.nope", "unknown metric 'segments.all.nope' of 'shop'"),
        ("conversion", "did you mean 'conversion_rate'"),
    ],
)
def test_a_metric_the_scenario_does_not_have_is_refused_before_work(shop, metric, message):
    result = invoke("sweep", shop, "--param", "steps.account.fields", "--values", "1,2",
                    "--metric", metric)  # fmt: skip
    assert result.exit_code == 2
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1
