"""Charts and the report: every chart of every bundled scenario, read back from the Axes.

Charts are checked by the numbers they draw (bar lengths, line and step data
taken back from matplotlib's artists), not only by the files they produce, and
each render must be a 1600 × 900 PNG identical byte for byte to the next one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.colors import to_rgb, to_rgba
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.patches import StepPatch

import frictionsim
from frictionsim import report as R
from frictionsim.stats import distributions

from .conftest import png_size

SCENARIOS = sorted((Path(__file__).parent.parent / "scenarios").glob("*.yaml"))


@pytest.fixture(scope="module", params=SCENARIOS, ids=lambda p: p.stem)
def bundled(request):
    """summary and distributions of a bundled scenario on a short horizon."""
    scenario = frictionsim.load_scenario(request.param, ["horizon=3h"])
    run = frictionsim.run(scenario, replications=3, jobs=1)
    return run.summary, distributions(run.scenario, run.results)


def bars(ax):
    return [c for c in ax.containers if isinstance(c, BarContainer)]


# -- every chart of every bundled scenario -------------------------------------------------------


def test_every_chart_is_a_slide_size_png_and_renders_identically(bundled):
    summary, dists = bundled
    first = R.render_report(summary, dists)
    second = R.render_report(summary, dists)
    assert first == second  # byte-identical
    expected = {"funnel.png", "lost_revenue.png", "checkout_time.png"}
    if R.irritation_bands(dists):  # not when only waiting irritates (mmc_queue)
        expected.add("irritation.png")
    if dists["wait"]["steps"]:
        expected.add("waiting.png")
    if summary["metrics"]["contacts"]["mean"]:  # a service journey with contacts
        expected.add("service.png")
    assert {n for n in first if n.endswith(".png")} == expected
    for name in expected:
        assert png_size(first[name]) == R.PIXELS == (1600, 900), name
    assert b"matplotlib" not in first["funnel.png"]  # no version in the metadata
    md = first["report.md"].decode()
    for name in expected:
        assert f"]({name})" in md
    html = first["report.html"].decode()
    assert html.count("<img ") == len(expected)


def test_funnel_bars_are_the_summary(bundled):
    summary, _ = bundled
    ax = Figure().add_subplot()
    R.plot_funnel(ax, summary)
    passed, friction, exits = bars(ax)
    for k, m in enumerate(summary["steps"].values()):
        e, f, x = (m[key]["mean"] for key in ("entered", "abandoned_friction", "abandoned_exit"))
        assert passed.patches[k].get_width() == pytest.approx(e - f - x)
        assert friction.patches[k].get_width() == pytest.approx(f)
        assert exits.patches[k].get_width() == pytest.approx(x)
        assert exits.patches[k].get_x() + x == pytest.approx(e)
    assert [t.get_text() for t in ax.get_yticklabels()] == list(summary["steps"])
    assert summary["scenario"] in ax.get_title(loc="left")


def test_lost_revenue_waterfall_adds_up(bundled):
    summary, _ = bundled
    ax = Figure().add_subplot()
    R.plot_lost_revenue(ax, summary)
    patches = [p for c in bars(ax) for p in c.patches]
    m = summary["metrics"]
    heights = [p.get_height() for p in patches]
    bottoms = [p.get_y() for p in patches]
    losses = {s: v["lost_revenue_friction"]["mean"] for s, v in summary["steps"].items()}
    shown = [s for s, v in losses.items() if v > 0]
    assert heights[0] == pytest.approx(m["potential_revenue"]["mean"])
    assert heights[1:-2] == pytest.approx([losses[s] for s in shown])
    assert heights[-2] == pytest.approx(m["lost_revenue_exit"]["mean"])
    assert heights[-1] == pytest.approx(m["revenue"]["mean"])
    # each drop starts where the previous one ended; the last lands on the revenue
    level = heights[0]
    for h, b in zip(heights[1:-1], bottoms[1:-1]):
        assert b + h == pytest.approx(level)
        level = b
    assert level == pytest.approx(m["revenue"]["mean"], rel=1e-9)
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[1:-2] == shown


def test_irritation_medians_are_the_histogram_medians(bundled):
    _, dists = bundled
    bands = R.irritation_bands(dists)
    if not bands:
        pytest.skip("only waiting irritates: no panel")
    fig = Figure()
    axes = R.plot_irritation(fig, dists)
    assert [ax.get_title() for ax in axes] == list(bands)
    for ax, b in zip(axes, bands.values()):
        (medians,) = [line for line in ax.get_lines() if line.get_marker() == "D"]
        assert medians.get_ydata() == pytest.approx(b["quantiles"][:, 2])
        dashed = next(line for line in ax.get_lines() if line.get_linestyle() == "--")
        tolerance = dashed.get_ydata()[0]
        assert tolerance == pytest.approx(b["tolerance"][2])
        assert [t.get_text() for t in ax.get_xticklabels()] == b["steps"]


def test_checkout_time_histogram_and_mean(bundled):
    summary, dists = bundled
    ax = Figure().add_subplot()
    R.plot_checkout_time(ax, summary, dists)
    (step,) = [p for p in ax.patches if isinstance(p, StepPatch)]
    values, edges, _ = step.get_data()
    reps = summary["replications"]
    assert values == pytest.approx(np.asarray(dists["checkout_time"]["counts"][1:]) / reps)
    assert edges == pytest.approx(dists["checkout_time"]["edges"][1:])
    mean = summary["metrics"]["mean_checkout_time"]["mean"]
    assert any(line.get_xdata()[0] == pytest.approx(mean) for line in ax.get_lines())
    assert ax.get_xscale() == "log"


def test_waiting_utilisation_and_waits(bundled):
    summary, dists = bundled
    if not dists["wait"]["steps"]:
        pytest.skip("no step with capacity")
    steps = list(dists["wait"]["steps"])
    axes = R.plot_waiting(Figure(), summary, dists)
    if not any(sum(dists["wait"]["steps"][s]) for s in steps):
        (right,) = axes  # nobody waited: no panel of waits
        left = Figure().add_subplot()
    else:
        left, right = axes
    (util,) = bars(right)
    assert [p.get_height() for p in util.patches] == pytest.approx(
        [summary["steps"][s]["utilisation"]["mean"] for s in steps]
    )
    stairs = [p for p in left.patches if isinstance(p, StepPatch)]
    for s, patch in zip(steps, stairs):
        values = patch.get_data()[0]
        expected = np.asarray(dists["wait"]["steps"][s][1:]) / summary["replications"]
        assert values == pytest.approx(expected)


# -- charts of plain data -----------------------------------------------------------------------


def test_comparison_bars_are_the_means():
    ax = Figure().add_subplot()
    R.plot_comparison(
        ax,
        ["B − A", "C − A"],
        [0.12, -0.03],
        [0.11, -0.04],
        [0.13, -0.02],
        metric="conversion difference",
        title="t",
        kind="pp",
        reference=0.0,
        better="higher",
    )
    (container,) = bars(ax)
    assert [p.get_width() for p in container.patches] == pytest.approx([0.12, -0.03])
    colours = [p.get_facecolor()[:3] for p in container.patches]
    assert colours == [to_rgb(R.PASSED), to_rgb(R.FRICTION)]  # better blue, worse vermilion
    assert "+12.0 pp" in [t.get_text().split(" (")[0] for t in ax.texts]


@pytest.mark.parametrize(
    ("better", "expected"),
    [
        ("higher", ["PASSED", "FRICTION", "hollow"]),
        ("lower", ["FRICTION", "PASSED", "hollow"]),  # a fall in lost revenue is good
        (None, ["hollow", "hollow", "hollow"]),  # neither way is better
    ],
)
def test_a_difference_is_coloured_good_or_bad_whatever_its_sign(better, expected):
    ax = Figure().add_subplot()
    R.plot_comparison(ax, ["rise", "fall", "same"], [5.0, -5.0, 0.0], [4.0, -6.0, 0.0],
                      [6.0, -4.0, 0.0], metric="m", title="t", kind="money", reference=0.0,
                      better=better)  # fmt: skip
    (container,) = bars(ax)
    colours = {"PASSED": to_rgba(R.PASSED), "FRICTION": to_rgba(R.FRICTION),
               "hollow": to_rgba("white")}  # fmt: skip
    assert [p.get_facecolor() for p in container.patches] == [colours[e] for e in expected]


def test_a_difference_that_is_not_significant_is_pale():
    ax = Figure().add_subplot()
    R.plot_comparison(ax, ["sure", "unsure"], [5.0, 1.0], [4.0, -1.0], [6.0, 3.0], metric="m",
                      title="t", kind="money", reference=0.0, better="higher",
                      significant=[True, False])  # fmt: skip
    (container,) = bars(ax)
    alphas = [p.get_facecolor()[3] for p in container.patches]
    assert alphas[0] == 1.0
    assert alphas[1] < 0.5


def test_sweep_line_and_band():
    ax = Figure().add_subplot()
    R.plot_sweep(
        ax,
        [1, 2, 4],
        [0.2, 0.3, 0.32],
        [0.19, 0.29, 0.31],
        [0.21, 0.31, 0.33],
        param="capacity",
        metric="conversion",
        title="t",
    )
    (line,) = ax.get_lines()
    assert list(line.get_xdata()) == [1, 2, 4]
    assert line.get_ydata() == pytest.approx([0.2, 0.3, 0.32])
    band = ax.collections[0].get_paths()[0].vertices
    assert band[:, 1].min() == pytest.approx(0.19)
    assert band[:, 1].max() == pytest.approx(0.33)


def test_heatmap_cells_and_labels():
    fig = Figure()
    grid = [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]
    ax = R.plot_heatmap(
        fig,
        [2, 3, 4],
        ["low", "high"],
        grid,
        x_label="x",
        y_label="y",
        metric="conversion",
        title="t",
        ci_half_width=[[0.01] * 3] * 2,
    )
    assert np.asarray(ax.images[0].get_array()) == pytest.approx(np.asarray(grid))
    assert [t.get_text() for t in ax.texts][:2] == ["10.0%\n± 1.0%", "20.0%\n± 1.0%"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["low", "high"]


def test_tornado_widest_swing_on_top():
    ax = Figure().add_subplot()
    R.plot_tornado(
        ax,
        ["small", "big"],
        [0.29, 0.20],
        [0.31, 0.40],
        0.30,
        metric="conversion",
        title="t",
        low_labels=["1", "2"],
        high_labels=["3", "4"],
    )
    assert [t.get_text() for t in ax.get_yticklabels()] == ["big", "small"]
    widths = [c.patches[0].get_width() for c in bars(ax)]
    assert widths == pytest.approx([0.20 - 0.30, 0.40 - 0.30, 0.29 - 0.30, 0.31 - 0.30])
    assert all(c.patches[0].get_x() == pytest.approx(0.30) for c in bars(ax))


def test_compact_comparison_panel_labels_means_only():
    ax = Figure().add_subplot()
    R.plot_comparison(
        ax,
        ["B"],
        [-1500.0],
        [-1600.0],
        [-1400.0],
        metric="m",
        title="t",
        kind="count",
        reference=0.0,
        compact=True,
    )
    (container,) = bars(ax)
    assert container.patches[0].get_width() == pytest.approx(-1500.0)
    assert [t.get_text() for t in ax.texts] == ["−1,500"]
    assert ax.get_xlabel() == ""


def test_heatmap_leaves_a_point_without_value_empty():
    fig = Figure()
    ax = R.plot_heatmap(
        fig,
        [1, 2],
        [1],
        [[0.1, float("nan")]],
        x_label="x",
        y_label="y",
        metric="m",
        title="t",
        ci_half_width=[[float("nan"), float("nan")]],
    )
    assert [t.get_text() for t in ax.texts] == ["10.0%"]


def test_sobol_indices_bars_are_the_indices():
    ax = Figure().add_subplot()
    R.plot_sobol_indices(
        ax, ["a", "b"], [0.5, 0.1], [0.05, 0.02], [0.6, 0.2], [0.06, 0.03], metric="m", title="t"
    )
    total, first = bars(ax)
    assert [p.get_width() for p in total.patches] == pytest.approx([0.6, 0.2])
    assert [p.get_width() for p in first.patches] == pytest.approx([0.5, 0.1])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]


WORD_OF_MOUTH = {
    "scenario": "s",
    "bin_minutes": 1440,
    "time": [0, 1440, 2880, 4320],
    "sources": {
        "organic": {
            "mean": [10, 11, 12, 11],
            "ci_low": [9, 10, 11, 10],
            "ci_high": [11, 12, 13, 12],
        },
        "referral": {
            "mean": [0, 1, 2, 3],
            "ci_low": [0, 0.5, 1.5, 2.5],
            "ci_high": [0, 1.5, 2.5, 3.5],
        },
        "returning": {"mean": [0, 2, 3, 4], "ci_low": [0, 1, 2, 3], "ci_high": [0, 3, 4, 5]},
    },
    "nps": {"mean": -12.5, "ci95": [-15.0, -10.0]},
}


def test_word_of_mouth_lines_per_source_and_nps():
    ax = Figure().add_subplot()
    R.plot_word_of_mouth(ax, WORD_OF_MOUTH)
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["organic", "referral", "returning"]
    assert lines[1].get_ydata() == pytest.approx([0, 1, 2, 3])
    assert lines[0].get_xdata() == pytest.approx([0.5, 1.5, 2.5, 3.5])  # bin middles, days
    assert "NPS −12.5 (95% CI −15.0 to −10.0)" in ax.get_title(loc="left")


def test_word_of_mouth_is_drawn_only_when_given(bundled):
    summary, dists = bundled
    assert "word_of_mouth.png" not in [name for name, *_ in R.chart_plan(summary, dists)]
    plan = {name: draw for name, _, _, draw in R.chart_plan(summary, dists, WORD_OF_MOUTH)}
    assert "word_of_mouth.png" in plan
    assert png_size(R.render_png(plan["word_of_mouth.png"])) == (1600, 900)


def test_old_summary_without_new_data_draws_the_funnel_only(bundled):
    summary, _ = bundled
    old = {
        **summary,
        "steps": {
            s: {k: v for k, v in m.items() if not k.startswith("lost_revenue")}
            for s, m in summary["steps"].items()
        },
    }
    old["metrics"] = {k: v for k, v in summary["metrics"].items() if not k.startswith("contact")}
    files = R.render_report(old, None)
    assert sorted(files) == ["funnel.png", "report.html", "report.md"]


def test_hist_quantiles_interpolate_inside_bins():
    assert R.hist_quantiles([0, 10, 0], [0, 1, 2, 3], [0.5]) == pytest.approx([1.5])
    assert R.hist_quantiles([5, 5], [0, 1, 2], [0.25, 0.5, 0.75]) == pytest.approx([0.5, 1, 1.5])
    assert np.isnan(R.hist_quantiles([0, 0], [0, 1, 2], [0.5])[0])


def test_key_numbers_in_words(bundled):
    summary, _ = bundled
    words = "\n".join(R.key_numbers(summary))
    conv = summary["metrics"]["conversion_rate"]
    assert f"**Conversion**: {conv['mean']:.1%}" in words
    assert "to friction" in words
    assert "non-friction exits" in words


def test_a_run_without_visitors_draws_the_funnel_only():
    scenario = frictionsim.load_scenario(SCENARIOS[0], ["horizon=1s"])
    run = frictionsim.run(scenario, replications=2, jobs=1)
    assert run.summary["metrics"]["visitors"]["mean"] == 0
    files = R.render_report(run.summary, distributions(run.scenario, run.results))
    assert sorted(files) == ["funnel.png", "report.html", "report.md"]
    assert png_size(files["funnel.png"]) == (1600, 900)


def test_a_long_panel_title_wraps_instead_of_running_off_the_slide():
    from matplotlib.figure import Figure

    from frictionsim.report.study_charts import COMPACT_TITLE, plot_comparison

    ax = Figure().subplots()
    title = "lost revenue: non-friction exits"
    plot_comparison(ax, ["b"], [-3.0], [-4.0], [-2.0], metric="m", title=title,
                    kind="money", reference=0.0, compact=True)  # fmt: skip
    shown = ax.get_title("left")
    assert shown.replace("\n", " ") == title
    assert max(len(line) for line in shown.splitlines()) <= COMPACT_TITLE


# -- no panel that is always zero ---------------------------------------------------------------


def test_a_queue_nobody_waited_in_draws_its_utilisation_only():
    from .conftest import make_scenario

    scenario = make_scenario(steps=[{"name": "pay", "capacity": 50, "duration": 1}])
    run = frictionsim.run(scenario, replications=2, jobs=1)
    dists = distributions(run.scenario, run.results)
    assert sum(dists["wait"]["steps"]["pay"]) == 0
    fig = Figure()
    (util,) = R.plot_waiting(fig, run.summary, dists)
    assert util.get_title() == "utilisation (error bars: 95% CI)"
    assert "nobody waited" in fig.get_suptitle()
    assert "waiting.png" in [name for name, *_ in R.chart_plan(run.summary, dists)]


def test_a_segment_that_feels_nothing_on_entering_any_step_has_no_irritation_panel():
    edges = [0.0, 1.0, 2.0, 3.0]
    dists = {
        "irritation": {
            "edges": edges,
            "steps": {"a": {"calm": [9, 0, 0], "cross": [2, 5, 2]}},
            "tolerance": {"calm": [1, 4, 4], "cross": [1, 4, 4]},
        }
    }
    assert list(R.irritation_bands(dists)) == ["cross"]
    dists["irritation"]["steps"]["a"]["cross"] = [9, 0, 0]
    assert R.irritation_bands(dists) == {}


def test_a_source_without_visitors_is_named_not_drawn():
    data = {**WORD_OF_MOUTH, "sources": dict(WORD_OF_MOUTH["sources"])}
    data["sources"]["returning"] = {"mean": [0] * 4, "ci_low": [0] * 4, "ci_high": [0] * 4}
    ax = Figure().add_subplot()
    R.plot_word_of_mouth(ax, data)
    assert [line.get_label() for line in ax.get_lines()] == ["organic", "referral"]
    assert "no returning visitors" in ax.get_legend().get_title().get_text()


def test_a_comparison_panel_no_design_changes_is_left_out_and_named():
    same = {"mean": 0.0, "ci95": [0.0, 0.0], "significant": False}
    moved = {"mean": 0.1, "ci95": [0.05, 0.15], "significant": True}
    differences = {m: dict(moved) for m in R.COMPARISON_PANELS}
    differences["visitors"] = same
    doc = {"reference": "a", "replications": 3, "common_random_numbers": True,
           "differences": {"b": differences}}  # fmt: skip
    fig = Figure()
    axes = R.draw_comparison(fig, doc)
    titles = [ax.get_title("left").replace("\n", " ") for ax in axes]
    assert "visitors" not in titles
    assert len(axes) == len(R.COMPARISON_PANELS) - 1
    notes = [t.get_text() for ax in fig.axes for t in ax.texts if "No panel" in t.get_text()]
    assert "visitors" not in fig.get_suptitle()  # said in the spare cell instead
    (note,) = notes
    assert "visitors" in note.replace("\n", " ")
    # lost revenue falling is good: blue; conversion rising is good: blue
    down = {**moved, "mean": -0.1, "ci95": [-0.15, -0.05]}
    doc["differences"]["b"]["lost_revenue"] = down
    axes = R.draw_comparison(Figure(), doc)
    colour = {ax.get_title("left").replace("\n", " "): bars(ax)[0].patches[0].get_facecolor()
              for ax in axes}  # fmt: skip
    assert colour["lost revenue"] == colour["conversion rate"] == to_rgba(R.PASSED)


def test_panels_left_out_are_named_in_the_title_when_no_cell_is_spare():
    same = {"mean": 0.0, "ci95": [0.0, 0.0], "significant": False}
    moved = {"mean": 0.1, "ci95": [0.05, 0.15], "significant": True}
    differences = {
        m: dict(same if k % 3 == 1 else moved) for k, m in enumerate(R.COMPARISON_PANELS)
    }
    doc = {"reference": "a", "replications": 3, "common_random_numbers": True,
           "differences": {"b": differences}}  # fmt: skip
    fig = Figure()
    assert len(R.draw_comparison(fig, doc)) == 6
    title = fig.get_suptitle()
    assert "No panel" in title
    assert "visitors" in title
    assert max(len(line) for line in title.splitlines()) <= 95


@pytest.mark.parametrize(("better", "low", "high"), [("higher", "FRICTION", "PASSED"),
                                                     ("lower", "PASSED", "FRICTION")])  # fmt: skip
def test_a_tornado_bar_is_blue_where_the_metric_is_better_than_at_base(better, low, high):
    ax = Figure().add_subplot()
    R.plot_tornado(ax, ["p"], [0.2], [0.4], 0.3, metric="m", title="t", better=better)
    faces = [c.patches[0].get_facecolor() for c in bars(ax)]
    assert faces == [to_rgba(getattr(R, low)), to_rgba(getattr(R, high))]


def test_a_parameter_without_any_effect_gets_no_tornado_row():
    row = {"low": 1, "high": 2, "effect": 0.1, "low_mean": 0.25, "high_mean": 0.35}
    doc = {"scenario": "s", "method": "oat", "metric": "conversion_rate", "delta_percent": 10,
           "replications": 2, "base": {"mean": 0.3},
           "parameters": [{**row, "parameter": "moves"},
                          {**row, "parameter": "still", "effect": 0.0, "low_mean": 0.3,
                           "high_mean": 0.3}]}  # fmt: skip
    fig = Figure()
    ax = R.draw_sensitivity(fig, doc)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["moves"]
    assert "1 parameter without any effect not drawn" in ax.get_title("left")


@pytest.mark.parametrize(
    ("mean", "lo", "hi", "expected"),
    [
        (5 / 60, 0.0768, 0.0873, ("5.0 s", "4.6–5.2 s")),  # not 4–5 s: a decimal more
        (5 / 60, 0.05, 0.1, ("5 s", "3–6 s")),
        (0.5, 0.3, 0.7, ("30 s", "18–42 s")),
        (8.9, 8.88, 8.91, ("8.90 min", "8.88–8.91 min")),
        (45.0, 40.0, 50.0, ("45 min", "40–50 min")),
        (90.0, 80.0, 100.0, ("1.5 h", "1.3–1.7 h")),
        (2880.0, 2870.0, 2890.0, ("2.00 d", "1.99–2.01 d")),
    ],
)
def test_a_mean_and_its_interval_share_one_unit_and_their_decimals(mean, lo, hi, expected):
    from frictionsim.report.run_charts import _mean_and_range

    assert _mean_and_range(mean, lo, hi) == expected


def test_the_waiting_legend_gives_the_mean_wait_and_its_interval_in_one_unit():
    """A mean wait of seconds: its interval in seconds too (it was in minutes)."""
    import re

    from .conftest import make_scenario

    scenario = make_scenario(
        arrivals={"rate": 2}, horizon=600,
        steps=[{"name": "pay", "capacity": 2, "duration": {"dist": "exponential", "mean": 0.3},
                "wait_irritation": 1}],
    )  # fmt: skip
    run = frictionsim.run(scenario, replications=3, jobs=1)
    fig = Figure()
    left, _ = R.plot_waiting(fig, run.summary, distributions(run.scenario, run.results))
    (label,) = [t.get_text() for t in left.get_legend().get_texts()]
    found = re.search(r"entrants ([\d.]+) (\w+) \(95% CI ([\d.]+)–([\d.]+) (\w+)\)", label)
    assert found, label
    mean, unit, lo, hi, ci_unit = found.groups()
    assert unit == ci_unit
    assert float(lo) <= float(mean) <= float(hi)
    assert len(mean.partition(".")[2]) == len(lo.partition(".")[2]) == len(hi.partition(".")[2])
