"""Confidence intervals never leave what is possible: rates in [0, 1], counts, money and
minutes at least 0, NPS in [-100, 100]. A cut interval is marked ``"clipped": true``."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

import frictionsim
from frictionsim import console, results
from frictionsim.metrics import KINDS, METRICS, lookup
from frictionsim.metrics import bounds as metric_bounds
from frictionsim.stats import describe, difference

from .conftest import make_scenario, one_segment

WOM = {
    "word_of_mouth": {
        "delay": 5,
        "promoters": {"tell": 2, "visit": 0.5},
        "detractors": {"tell": 3, "deter": 0.1},
    },
    "repeat": {"delay": 10, "promoters": 0.5, "detractors": 0.1},
}


def _within(ci, bounds):
    return ci is None or (bounds[0] <= ci[0] <= ci[1] <= bounds[1])


def test_a_rate_near_one_is_cut_at_one_and_marked():
    d = describe([1.0, 0.9, 0.95, 0.6], metric="conversion_rate")
    assert d["ci95"][1] == 1.0
    assert d["ci95"][0] > 0.0  # only the impossible end moves
    assert d["clipped"] is True
    # the mean and sd are those of the values, untouched
    assert d["mean"] == pytest.approx(3.45 / 4)


@pytest.mark.parametrize(
    ("metric", "values", "bounds"),
    [
        ("visitors", [0, 0, 30], (0, math.inf)),
        ("revenue", [0, 1, 500], (0, math.inf)),
        ("steps.pay.mean_wait", [0.0, 0.0, 9.0], (0, math.inf)),
        ("nps", [-100, -100, 90], (-100, 100)),
        ("nps", [100, 100, -90], (-100, 100)),
    ],
)
def test_counts_money_minutes_and_nps_are_cut(metric, values, bounds):
    d = describe(values, metric=metric)
    assert _within(d["ci95"], bounds)
    assert d["clipped"] is True


def test_an_interval_inside_the_range_is_unmarked_and_signed_metrics_are_free():
    assert "clipped" not in describe([0.4, 0.5, 0.6], metric="conversion_rate")
    free = describe([-1e6, 0, 1e6], metric="profit")
    assert free["ci95"][0] < -1e6
    assert "clipped" not in free
    assert "clipped" not in describe([0.0, 0.0, 1.0])  # no metric: no bounds


def test_differences_are_cut_at_the_possible_differences():
    assert metric_bounds("conversion_rate", difference=True) == (-1.0, 1.0)
    assert metric_bounds("nps", difference=True) == (-200.0, 200.0)
    d = difference([0.0, 0.0, 0.0], [1.0, 1.0, 0.0], metric="conversion_rate")
    assert d["ci95"][1] == 1.0
    assert d["clipped"] is True
    assert _within(d["unpaired_ci95"], (-1, 1))
    welch = difference([0.0, 0.0, 0.0], [1.0, 1.0, 0.0], paired=False, metric="conversion_rate")
    assert welch["ci95"][1] == 1.0
    assert welch["clipped"] is True


@given(
    kind=st.sampled_from(["rate", "count", "money", "minutes", "score"]),
    raw=st.lists(st.floats(0, 1), min_size=2, max_size=8),
)
def test_any_feasible_values_give_a_feasible_interval(kind, raw):
    lo, hi = KINDS[kind]
    span = (hi if math.isfinite(hi) else 1e6) - lo
    values = [lo + x * span for x in raw]
    metric = next(m.name for m in METRICS if m.kind == kind and m.level == "run")
    d = describe(values, metric=metric)
    assert _within(d["ci95"], (lo, hi))


def test_every_metric_of_a_summary_has_bounds():
    """Every interval of summary.json is held by its metric's bounds (the metric table)."""
    s = make_scenario(
        steps=[{"name": "only", "capacity": 1, "wait_irritation": 1, "cost": 1}],
        economics={"margin": 0.5},
        **WOM,
    )
    summary = frictionsim.run(s, replications=2, jobs=1).summary
    paths = list(summary["metrics"])
    for level in ("steps", "segments"):
        for owner, metrics in summary[level].items():
            paths += [f"{level}.{owner}.{m}" for m in metrics]
    assert [p for p in paths if lookup(p) is None] == []
    assert metric_bounds("steps.only.p_wait") == (0.0, 1.0)
    assert metric_bounds("segments.all.nps") == (-100.0, 100.0)


def test_a_run_of_few_wild_replications_writes_only_possible_intervals(tmp_path, capsys):
    """The issue's example: 'conversion 92.5 % (51.5 %–133.5 %)'."""
    s = make_scenario(
        horizon=60,
        arrivals={"rate": 0.05},  # 3 visitors: conversion swings between 0 and 1
        segments=one_segment({"dist": "exponential", "mean": 2}),
        steps=[{"name": "only", "irritation": 1, "exit": 0.3}],
        **WOM,
    )
    run = frictionsim.run(s, replications=3, seed=5, jobs=1)
    out = results.write_run(run, tmp_path / "out")
    summary = json.loads((out / "summary.json").read_text())
    clipped = []
    for level, table in [("metrics", summary["metrics"])] + [
        (f"{lvl}.{name}", t) for lvl in ("steps", "segments") for name, t in summary[lvl].items()
    ]:
        for metric, d in table.items():
            path = metric if level == "metrics" else f"{level}.{metric}"
            assert _within(d["ci95"], metric_bounds(path)), (level, metric, d)
            if d.get("clipped"):
                clipped.append(metric)
    assert "conversion_rate" in clipped
    wom = json.loads((out / "word_of_mouth.json").read_text())
    assert all(x >= 0 for src in wom["sources"].values() for x in src["ci_low"])
    assert _within(wom["nps"]["ci95"], (-100, 100))
    md = (out / "report.md").read_text()
    assert "(95% CI " in md
    assert ", clipped)" in md
    assert "cut there" in md
    console.print_summary(run.summary, out, 0.1)
    assert ", clipped)" in capsys.readouterr().out


def test_one_replication_says_too_few_replications(tmp_path, capsys):
    run = frictionsim.run(make_scenario(), replications=1, jobs=1)
    console.print_summary(run.summary, tmp_path, 0.1)
    assert "too few replications for confidence intervals" in capsys.readouterr().out
    out = results.write_run(run, tmp_path / "out")
    assert "too few replications" in (out / "report.md").read_text()
