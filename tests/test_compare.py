"""compare: common random numbers, paired differences, verdicts, refusals, files."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from matplotlib.container import BarContainer
from matplotlib.figure import Figure

from frictionsim.cli import cli
from frictionsim.errors import ComparisonError
from frictionsim.formats import horizon_words, verdict
from frictionsim.metrics import TABLE
from frictionsim.report import COMPARISON_PANELS, draw_comparison
from frictionsim.stats import difference
from frictionsim.studies import compare

from .conftest import make_scenario, png_size, scenario_dict

SEGMENTS = [
    {
        "name": "all",
        "share": 1,
        "tolerance": {"dist": "lognormal", "mean": 10, "sd": 5},
        "order_value": {"dist": "lognormal", "mean": 60, "sd": 30},
    }
]


def design(name, fields, **changes):
    data = {
        "name": name,
        "horizon": 600,
        "replications": 8,
        "arrivals": {"rate": 2},
        "segments": SEGMENTS,
        "steps": [
            {"name": "cart", "irritation": 1, "exit": 0.2, "duration": 1},
            {"name": "form", "fields": fields, "duration": {"dist": "exponential", "mean": 2}},
            {"name": "pay", "errors": {"p": 0.1, "irritation": 2}},
        ],
        **changes,
    }
    return make_scenario(**data)


def test_identical_designs_differ_by_exactly_zero():
    result = compare([design("a", 8), design("b", 8)], seed=3)
    undefined = {"resolution_rate", "contact_mean_wait", "service_utilisation", "cost_per_contact",
                 "segments.all.base_revenue_per_customer"}  # no contacts, no base: no value  # fmt: skip
    for metric, d in result.document["differences"]["b"].items():
        assert d["mean"] == (None if metric in undefined else 0.0), metric
        assert d["significant"] is False


def test_fewer_fields_convert_more_and_pairing_narrows_the_interval():
    result = compare([design("long", 12), design("short", 4)], seed=5)
    conv = result.document["differences"]["short"]["conversion_rate"]
    assert conv["mean"] > 0
    assert conv["significant"]
    assert conv["method"] == "paired-t"
    paired = conv["ci95"][1] - conv["ci95"][0]
    unpaired = conv["unpaired_ci95"][1] - conv["unpaired_ci95"][0]
    assert paired < 0.85 * unpaired  # the same customers meet both designs
    # the paired mean difference is the difference of the designs' means
    m = result.document["metrics"]
    assert conv["mean"] == pytest.approx(
        m["short"]["conversion_rate"]["mean"] - m["long"]["conversion_rate"]["mean"], abs=1e-12
    )
    assert result.document["verdicts"]["short"].startswith("short converts +")
    assert "significant" in result.document["verdicts"]["short"]


def test_independent_seeds_use_welch_and_other_customers():
    result = compare([design("long", 12), design("short", 4)], seed=5, common_random_numbers=False)
    conv = result.document["differences"]["short"]["conversion_rate"]
    assert conv["method"] == "welch"
    visitors = result.document["differences"]["short"]["visitors"]
    assert visitors["mean"] != 0.0  # different arrivals


def test_paired_difference_matches_a_hand_computed_t_interval():
    ref = [1.0, 2.0, 3.0, 4.0]
    des = [1.5, 2.0, 4.0, 4.5]
    d = difference(ref, des)
    diffs = np.array([0.5, 0.0, 1.0, 0.5])
    half = 3.182446305284263 * diffs.std(ddof=1) / 2  # t(0.975, 3) * sd / sqrt(4)
    assert d["mean"] == pytest.approx(0.5)
    assert d["ci95"] == pytest.approx([0.5 - half, 0.5 + half])
    assert d["relative"] == pytest.approx(0.2)
    assert d["significant"] is False


def test_verdict_wording():
    diffs = {
        "conversion_rate": {"mean": -0.021, "ci95": [-0.025, -0.017], "significant": True},
        "revenue": {"mean": -5210.0, "ci95": [-6000.0, -4420.0], "significant": True},
    }
    text = verdict("b", "a", diffs, 10080, "€")
    assert text == (
        "b converts 2.1 pp (95% CI 1.7–2.5) less than a; revenue −€5.2k per simulated"
        " week (95% CI −€6.0k to −€4.4k), −€272k a year; significant"  # 5210 × 52.14
    )
    assert "revenue −5.2k per simulated week" in verdict("b", "a", diffs, 10080)
    assert horizon_words(3 * 1440) == "per simulated 3 days"


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"horizon": 300}, "horizon"),
        ({"arrivals": {"rate": 3}}, "arrivals"),
        ({"segments": [{**SEGMENTS[0], "sensitivity": 1.2}]}, "segments"),
        ({"start": "2026-02-01"}, "start"),
        ({"experience": {"best": 9}}, "experience"),
        ({"word_of_mouth": {}}, "word_of_mouth"),
        ({"repeat": {}}, "repeat"),
        ({"economics": {"margin": 0.3}}, "economics"),
        ({"economics": {"currency": "EUR"}}, "economics"),
    ],
)
def test_designs_for_other_customers_are_refused(changes, key):
    with pytest.raises(ComparisonError, match=f"`{key}` differ"):
        compare([design("a", 8), design("b", 8, **changes)])


def test_the_refusal_names_the_first_value_that_differs():
    a = design("a", 8, economics={"margin": 0.3})
    b = design("b", 8, economics={"margin": 0.4})
    with pytest.raises(ComparisonError, match=r"\(margin: 0.3 vs 0.4\)"):
        compare([a, b])
    with pytest.raises(ComparisonError, match=r"\(absent vs "):
        compare([design("a", 8), design("b", 8, repeat={})])


def test_designs_may_differ_in_steps_friction_description_seed_and_replications():
    a = design("a", 8)
    b = design("b", 4, friction={"per_field": 0.5}, description="x", seed=5, replications=3)
    assert len(compare([a, b], replications=2).document["designs"]) == 2


def test_same_name_is_refused():
    with pytest.raises(ComparisonError, match="two designs are named 'a'"):
        compare([design("a", 8), design("a", 4)])


# ------------------------------------------------------------------ command line


def write(path, name, fields, **changes):
    fields_ = {
        "name": name,
        "horizon": 600,
        "replications": 4,
        "arrivals": {"rate": 2},
        "segments": SEGMENTS,
        "steps": [
            {"name": "cart", "irritation": 1, "exit": 0.2},
            {"name": "form", "fields": fields},
        ],
    }
    data = scenario_dict(**{**fields_, **changes})
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_cli_compare_writes_identical_files_twice(tmp_cwd):
    a = write(tmp_cwd / "a.yaml", "long", 12)
    b = write(tmp_cwd / "b.yaml", "short", 4)
    first = invoke("compare", a, b)
    assert first.exit_code == 0, first.output
    out = tmp_cwd / "results" / "compare-long-short"
    assert sorted(p.name for p in out.iterdir()) == [
        "comparison.csv",
        "comparison.json",
        "differences.png",
        "long.resolved.yaml",
        "report.html",
        "report.md",
        "run.json",
        "short.resolved.yaml",
    ]
    assert "short converts +" in first.output
    doc = json.loads((out / "comparison.json").read_text())
    assert doc["reference"] == "long"
    assert doc["replications"] == 4
    rows = list(csv.DictReader((out / "comparison.csv").open()))
    # every metric of summary.json, by its path: run, step and segment level
    assert [r["metric"] for r in rows] == list(doc["differences"]["short"])
    assert {
        "conversion_rate",
        "nps",
        "profit",
        "steps.form.friction_rate",
        "steps.cart.exit_rate",
        "segments.all.conversion_rate",
    } <= {r["metric"] for r in rows}
    again = invoke("compare", a, b, "--out", "again")
    assert again.exit_code == 0, again.output
    for name in ("comparison.json", "comparison.csv", "differences.png"):
        assert (out / name).read_bytes() == (tmp_cwd / "again" / name).read_bytes(), name
    assert png_size((out / "differences.png").read_bytes()) == (1600, 900)


def test_difference_chart_draws_each_metric_of_the_document(tmp_cwd):
    a = write(tmp_cwd / "a.yaml", "long", 12)
    b = write(tmp_cwd / "b.yaml", "short", 4)
    assert invoke("compare", a, b, "--out", "c").exit_code == 0
    doc = json.loads((tmp_cwd / "c" / "comparison.json").read_text())
    axes = draw_comparison(Figure(), doc)
    # the headline metrics but those no design changes in any replication: visitors (the
    # same arrivals, common random numbers) and exits (the same customers leave at cart,
    # before the designs differ)
    moved = [m for m in COMPARISON_PANELS if doc["differences"]["short"][m]["ci95"] != [0, 0]]
    assert "visitors" not in moved
    assert len(axes) == len(moved) == 6
    assert "long" in axes[0].figure.get_suptitle()
    for ax in axes:
        metric = next(
            m for m, d in TABLE["run"].items() if d.label == ax.get_title("left").replace("\n", " ")
        )
        d = doc["differences"]["short"][metric]
        (container,) = [c for c in ax.containers if isinstance(c, BarContainer)]
        assert container.patches[0].get_width() == pytest.approx(d["mean"]), metric


def test_a_step_only_one_design_has_counts_as_losing_nobody_in_the_other():
    a = design("a", 8)
    b = design(
        "b",
        8,
        steps=[
            {"name": "cart", "irritation": 1, "exit": 0.2, "duration": 1},
            {"name": "pay", "errors": {"p": 0.1, "irritation": 2}},
        ],
    )
    doc = compare([a, b], replications=3).document
    diffs = doc["differences"]["b"]
    lost = doc["metrics"]["a"]["steps.form.abandoned_friction"]["mean"]
    assert lost > 0
    assert diffs["steps.form.abandoned_friction"]["mean"] == pytest.approx(-lost)
    assert "steps.form.friction_rate" not in diffs  # a rate of a step b lacks: no difference
    assert "steps.form.friction_rate" in doc["metrics"]["a"]


def test_report_redraws_a_compare_folder(tmp_cwd):
    a = write(tmp_cwd / "a.yaml", "long", 12)
    b = write(tmp_cwd / "b.yaml", "short", 4)
    assert invoke("compare", a, b, "--out", "drawn").exit_code == 0
    assert invoke("compare", a, b, "--out", "bare", "--no-charts").exit_code == 0
    assert not (tmp_cwd / "bare" / "differences.png").exists()
    redraw = invoke("report", "bare")
    assert redraw.exit_code == 0, redraw.output
    drawn = (tmp_cwd / "drawn" / "differences.png").read_bytes()
    assert (tmp_cwd / "bare" / "differences.png").read_bytes() == drawn


def test_cli_compare_refuses_mismatched_designs_and_bad_out(tmp_cwd):
    a = write(tmp_cwd / "a.yaml", "long", 12)
    other = write(tmp_cwd / "c.yaml", "short", 4, horizon=60)
    result = invoke("compare", a, other)
    assert result.exit_code == 1
    assert "not comparable" in result.output
    assert "horizon" in result.output
    assert "Traceback" not in result.output
    (tmp_cwd / "file").write_text("x")
    b = write(tmp_cwd / "b.yaml", "short", 4)
    result = invoke("compare", a, b, "--out", "file")
    assert result.exit_code == 1
    assert "is a file" in result.output
    result = invoke("compare", a)
    assert result.exit_code == 1
    assert "at least two designs" in result.output
    assert not (tmp_cwd / "results").exists()


def test_verdict_money_uses_the_scenario_currency():
    usd = {"economics": {"currency": "USD"}}
    result = compare([design("long", 12, **usd), design("short", 4, **usd)], seed=5)
    assert "revenue +$" in result.document["verdicts"]["short"]
    plain = compare([design("long", 12), design("short", 4)], seed=5)
    assert "revenue +" in plain.document["verdicts"]["short"]
    assert "€" not in plain.document["verdicts"]["short"]  # no currency: no symbol invented


def test_cli_compare_applies_set_to_every_design_and_shows_levels_and_steps(tmp_cwd):
    a = write(tmp_cwd / "a.yaml", "long", 12)
    b = write(tmp_cwd / "b.yaml", "short", 4)
    result = invoke("compare", a, b, "--set", "horizon=300", "--set", "steps.form.exit=0.5",
                    "--out", "c", "--no-charts", "-r", "3")  # fmt: skip
    assert result.exit_code == 0, result.output
    for name in ("long", "short"):
        resolved = yaml.safe_load((tmp_cwd / "c" / f"{name}.resolved.yaml").read_text())
        assert resolved["horizon"] == 300
        assert resolved["steps"][1]["exit"] == 0.5
    doc = json.loads((tmp_cwd / "c" / "comparison.json").read_text())
    level = doc["metrics"]["long"]["conversion_rate"]["mean"]
    assert f"{level:.1%}" in result.output  # the reference's level beside the differences
    assert "where the difference comes from" in result.output
    assert "NPS of buyers" in result.output
    bad = invoke("compare", a, b, "--set", "steps.nope.exit=0.5", "--out", "d")
    assert bad.exit_code == 2
    assert "--set:1:7: steps.nope: no step named 'nope'" in bad.output


def test_designs_with_another_start_are_refused_with_readable_dates():
    from frictionsim.errors import ComparisonError
    from frictionsim.studies import check_comparable

    from .conftest import make_scenario

    a = make_scenario(name="a")
    b = make_scenario(name="b", start="2026-03-01")
    with pytest.raises(ComparisonError, match=r"2026-01-05T00:00:00\+00:00 vs 2026-03-01T00"):
        check_comparable([a, b])
