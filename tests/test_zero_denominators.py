"""Every ratio of the report, the console and the charts copes with a zero denominator:
no visitors, no orders, nobody lost, nobody queueing, a single replication."""

from __future__ import annotations

import warnings

import pytest
import yaml

import frictionsim
from frictionsim import console, report, results
from frictionsim.studies import sensitivity, sweep

from .conftest import make_scenario, one_segment, scenario_dict

HUGE = 1_000_000  # a tolerance nobody reaches

#: name -> changes to the base scenario (one step, one segment, 60 minutes at 1/min)
CASES = {
    # the simplest scenario: one step, huge tolerance, no exits: nobody is lost
    "nobody-lost": {"segments": one_segment(HUGE)},
    "no-visitors": {"segments": one_segment(HUGE), "arrivals": {"rate": 1e-9}},
    "no-orders": {"segments": one_segment(HUGE), "steps": [{"name": "only", "exit": 1}]},
    "nobody-queues": {
        "segments": one_segment(HUGE),
        "steps": [{"name": "only", "capacity": 100, "wait_irritation": 1}],
    },
    "everyone-lost-to-friction": {"steps": [{"name": "only", "irritation": 20}]},
}


def _no_warnings():
    context = warnings.catch_warnings()
    context.__enter__()
    warnings.simplefilter("error")
    return context


@pytest.mark.parametrize("replications", [1, 3], ids=["one-replication", "three"])
@pytest.mark.parametrize("case", list(CASES))
def test_run_report_and_console_of_a_degenerate_scenario(case, replications, tmp_path, capsys):
    scenario = make_scenario(**CASES[case])
    run = frictionsim.run(scenario, replications=replications, jobs=1)
    context = _no_warnings()
    try:
        out = results.write_run(run, tmp_path / "out")
        results.write_report(out)
        console.print_summary(run.summary, out, 0.1)
    finally:
        context.__exit__(None, None, None)
    md = (out / "report.md").read_text()
    assert "**Revenue**" in md
    assert "nan" not in md.lower().replace("nancy", "")
    assert f"{replications} replication{'s' if replications > 1 else ''}, seed" in md
    assert "Traceback" not in capsys.readouterr().err


def test_key_numbers_when_nothing_is_lost():
    """The crash of the issue: ``friction / lost`` with lost == 0."""
    zero = {"mean": 0.0, "sd": 0.0, "ci95": [0.0, 0.0]}
    summary = {
        "scenario": "s",
        "replications": 2,
        "metrics": {
            "visitors": {"mean": 60.0, "sd": 1.0, "ci95": [50.0, 70.0]},
            "orders": {"mean": 60.0, "sd": 1.0, "ci95": [50.0, 70.0]},
            "conversion_rate": {"mean": 1.0, "sd": 0.0, "ci95": [1.0, 1.0]},
            "revenue": {"mean": 3000.0, "sd": 10.0, "ci95": [2900.0, 3100.0]},
            "lost_revenue": zero,
            "lost_revenue_friction": zero,
            "lost_revenue_exit": zero,
        },
        "steps": {"only": {"entered": zero, "abandoned_friction": zero, "abandoned_exit": zero}},
    }
    lines = report.key_numbers(summary)
    assert any(line.startswith("**Lost revenue**: 0, of which 0 (95% CI 0–0)") for line in lines)


def test_worst_step_nobody_entered_is_not_divided_by():
    summary = {
        "metrics": {"conversion_rate": {"mean": None}},
        "steps": {
            "a": {
                "entered": {"mean": 0.0},
                "abandoned_friction": {"mean": 1.0, "ci95": None},
                "abandoned_exit": {"mean": 0.0},
            }
        },
    }
    for key in ("visitors", "orders", "revenue", "lost_revenue"):
        summary["metrics"][key] = {"mean": None}
    summary["metrics"]["lost_revenue_friction"] = {"mean": None}
    summary["metrics"]["lost_revenue_exit"] = {"mean": None}
    assert any("who reach it" in line for line in report.key_numbers(summary))


def _degenerate_file(tmp_path, case):
    path = tmp_path / f"{case}.yaml"
    path.write_text(yaml.safe_dump(scenario_dict(**CASES[case]), sort_keys=False))
    return path


@pytest.mark.parametrize("case", ["no-visitors", "no-orders", "nobody-lost"])
def test_studies_of_a_degenerate_scenario(case, tmp_path):
    file = _degenerate_file(tmp_path, case)
    scenario = frictionsim.load_scenario(file)
    other = scenario.model_copy(update={"name": "other"})
    context = _no_warnings()
    try:
        comparison = frictionsim.compare([scenario, other], replications=2, jobs=1)
        results.write_comparison(comparison, tmp_path / "c")
        grid = [("steps.only.fields", ["0", "1"]), ("steps.only.irritation", ["0", "1"])]
        for params in (grid[:1], grid):
            done = sweep(scenario, params, replications=2, jobs=1)
            results.write_sweep(done, tmp_path / f"s{len(params)}")
        ranking = sensitivity(scenario, replications=2, jobs=1)
        results.write_sensitivity(ranking, tmp_path / "t")
        for folder in ("c", "s1", "s2", "t"):
            results.write_report(tmp_path / folder)
        console.print_comparison(comparison.document, tmp_path / "c", 0.1)
        console.print_sensitivity(ranking.document, tmp_path / "t", 0.1)
    finally:
        context.__exit__(None, None, None)


def test_a_sweep_takes_a_scenario_not_a_path(tmp_path):
    file = _degenerate_file(tmp_path, "nobody-lost")
    with pytest.raises(TypeError, match="load_scenario"):
        sweep(str(file), [("steps.only.fields", ["0", "1"])])
