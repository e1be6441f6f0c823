"""sensitivity: which parameters are moved, how, and the ranking they get."""

from __future__ import annotations

import csv
import json

import pytest
import yaml
from click.testing import CliRunner
from matplotlib.container import BarContainer
from matplotlib.figure import Figure

from frictionsim.cli import cli
from frictionsim.errors import OptionError
from frictionsim.report import draw_sensitivity
from frictionsim.studies.sensitivity import Parameter, numeric_parameters, sensitivity

from .conftest import make_scenario, one_segment, png_size, scenario_dict

SHOP = scenario_dict(
    name="shop",
    replications=4,
    horizon=600,
    arrivals={"rate": 2},
    segments=one_segment({"dist": "exponential", "mean": 10}),
    steps=[
        {"name": "cart", "exit": 0.3},
        {"name": "form", "fields": 10, "duration": {"dist": "exponential", "mean": 2}},
        {"name": "pay", "irritation": 0.2},
    ],
)


def test_numeric_parameters_skip_zeros_shares_and_branches():
    scenario = make_scenario(**{k: v for k, v in SHOP.items() if k != "name"})
    paths = [p.path for p in numeric_parameters(scenario)]
    assert paths == [
        "arrivals.rate",
        "segments.all.sensitivity",
        "segments.all.tolerance.mean",
        "segments.all.order_value.value",
        "steps.cart.exit",
        "steps.form.fields",
        "steps.form.duration.mean",
        "steps.pay.irritation",
        "friction.per_field",
    ]


@pytest.mark.parametrize(
    ("path", "value", "delta", "moved"),
    [
        ("steps.a.fields", 10, 0.1, 11),
        ("steps.a.fields", 3, -0.1, 2),  # whole numbers move by at least one
        ("steps.a.capacity", 1, -0.1, 1),  # at least one server
        ("steps.a.exit", 0.95, 0.1, 1.0),  # a probability stays at most 1
        ("arrivals.rate", 2.0, -0.25, 1.5),
        ("segments.a.tolerance.mean", 37.0, -0.1, 33.3),  # no float noise in the files
    ],
)
def test_parameter_moves(path, value, delta, moved):
    assert Parameter(path, value).moved(delta) == moved


def test_one_at_a_time_ranks_the_strongest_parameter_first():
    scenario = make_scenario(**{k: v for k, v in SHOP.items() if k != "name"})
    result = sensitivity(scenario, delta=20, seed=3)
    rows = {r["parameter"]: r for r in result.document["parameters"]}
    # more fields, more irritation: fewer orders; a more tolerant customer: more orders
    assert rows["steps.form.fields"]["effect"] < 0
    assert rows["segments.all.tolerance.mean"]["effect"] > 0
    assert rows["steps.cart.exit"]["effect"] < 0
    # order value and arrival rate do not move conversion with the same customers' draws
    assert rows["segments.all.order_value.value"]["effect"] == 0.0
    ranked = [r["parameter"] for r in result.document["parameters"]]
    assert ranked.index("segments.all.tolerance.mean") < ranked.index("steps.pay.irritation")
    assert [r["rank"] for r in result.document["parameters"]] == list(range(1, len(ranked) + 1))


def test_sobol_indices_single_out_the_parameter_that_matters():
    pytest.importorskip("SALib")
    scenario = make_scenario(
        horizon=600,
        arrivals={"rate": 2},
        segments=one_segment({"dist": "exponential", "mean": 10}),
        steps=[{"name": "cart", "exit": 0.4}, {"name": "pay", "irritation": 0.5}],
    )
    result = sensitivity(scenario, method="sobol", samples=32, delta=50, seed=1)
    rows = {r["parameter"]: r for r in result.document["parameters"]}
    assert result.document["parameters"][0]["parameter"] == "steps.cart.exit"
    assert rows["steps.cart.exit"]["ST"] > 0.5
    # conversion does not depend on the order value, and every run shares its seed
    assert rows["segments.all.order_value.value"]["ST"] == 0.0
    ax = draw_sensitivity(Figure(), result.document)
    total, first = [c for c in ax.containers if isinstance(c, BarContainer)]
    ranked = result.document["parameters"]
    assert [p.get_width() for p in total.patches] == pytest.approx([r["ST"] for r in ranked])
    assert [p.get_width() for p in first.patches] == pytest.approx([r["S1"] for r in ranked])
    assert ax.get_title("left").startswith(f"{scenario.name}: Sobol indices")


def test_sobol_without_salib_is_a_clear_message(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_salib(name, *args, **kwargs):
        if name.startswith("SALib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_salib)
    with pytest.raises(OptionError, match=r"needs SALib: pip install 'frictionsim\[sobol\]'"):
        sensitivity(make_scenario(steps=[{"name": "a", "exit": 0.2}]), method="sobol")


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_cli_sensitivity_writes_ranking_and_tornado(tmp_cwd):
    path = tmp_cwd / "shop.yaml"
    path.write_text(yaml.safe_dump(SHOP, sort_keys=False))
    result = invoke("sensitivity", path, "-r", 2, "--metric", "revenue")
    assert result.exit_code == 0, result.output
    out = tmp_cwd / "results" / "sensitivity-shop--metric=revenue"  # not the default metric
    assert sorted(p.name for p in out.iterdir()) == [
        "report.html",
        "report.md",
        "run.json",
        "sensitivity.csv",
        "sensitivity.json",
        "tornado.png",
    ]
    doc = json.loads((out / "sensitivity.json").read_text())
    assert doc["metric"] == "revenue"
    assert png_size((out / "tornado.png").read_bytes()) == (1600, 900)
    ax = draw_sensitivity(Figure(), doc)
    assert ax.get_title("left").startswith("shop: revenue, each parameter ±10%")
    base = doc["base"]["mean"]
    drawn = [r for r in doc["parameters"] if r["effect"] is not None]
    # not drawn: a parameter without any effect (the form's duration: nothing depends on it)
    drawn = [r for r in drawn if not r["low_mean"] == r["high_mean"] == base]
    widest = sorted(drawn, key=lambda r: -abs(r["high_mean"] - r["low_mean"]))
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [r["parameter"] for r in widest]
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    top = widest[0]
    assert bars[0].patches[0].get_width() == pytest.approx(top["low_mean"] - doc["base"]["mean"])
    assert bars[1].patches[0].get_width() == pytest.approx(top["high_mean"] - doc["base"]["mean"])
    rows = list(csv.DictReader((out / "sensitivity.csv").open()))
    assert rows[0]["rank"] == "1"
    assert len(rows) == 9
    bad = invoke("sensitivity", path, "--metric", "revenu")
    assert bad.exit_code == 2
    assert "unknown metric 'revenu' of 'shop' (did you mean 'revenue'?)" in bad.output
    bad = invoke("sensitivity", path, "--delta", "150")
    assert bad.exit_code == 2
    assert "--delta 150" in bad.output
    assert "Traceback" not in bad.output


def test_parameters_of_a_step_with_a_dot_in_its_name_are_reachable():
    from frictionsim.studies.sensitivity import numeric_parameters

    scenario = make_scenario(steps=[{"name": "cart"}, {"name": "de.tails", "fields": 8}])
    paths = [p.path for p in numeric_parameters(scenario)]
    assert "steps.1.fields" in paths
    assert not any("de.tails" in p for p in paths)


@pytest.mark.parametrize(
    "metric", ["nps", "profit", "steps.form.friction_rate", "segments.all.orders"]
)
def test_sensitivity_ranks_by_any_metric_of_summary_json(metric):
    scenario = make_scenario(**{k: v for k, v in SHOP.items() if k != "name"})
    result = sensitivity(scenario, metric=metric, delta=20, seed=3, replications=2)
    rows = {r["parameter"]: r for r in result.document["parameters"]}
    assert result.document["metric"] == metric
    if metric in ("steps.form.friction_rate",):
        assert rows["steps.form.fields"]["effect"] > 0  # more fields, more lost at the form
    if metric == "segments.all.orders":
        assert rows["steps.form.fields"]["effect"] < 0
