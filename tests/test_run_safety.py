"""Huge runs are estimated and refused before they start; results are never half-written."""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from frictionsim import execution, results
from frictionsim.cli import cli
from frictionsim.execution import (
    MAX_CUSTOMERS,
    MAX_ESTIMATED_SECONDS,
    THROUGHPUT_PER_CORE,
    check_run_size,
    estimate_run,
)
from frictionsim.results import MARKER, atomic, is_results_folder, sha256, write_folder
from frictionsim.scenario import MAX_HORIZON

from .conftest import make_scenario, scenario_dict


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def scenario_file(tmp_cwd):
    path = tmp_cwd / "s.yaml"
    path.write_text(yaml.safe_dump(scenario_dict(replications=2), sort_keys=False))
    return path


# ------------------------------------------------------------------ run estimates


def test_estimate_is_customers_over_measured_throughput():
    s = make_scenario(horizon=600, arrivals={"rate": 100}, replications=8)
    est = estimate_run(s, jobs=2)
    assert est.customers == pytest.approx(600 * 100 * 8)
    assert est.workers == 2
    assert est.seconds == pytest.approx(480_000 / (THROUGHPUT_PER_CORE * 2))
    # small runs stay in one process, and --replications overrides the scenario's
    small = estimate_run(s, replications=1, jobs=2)
    assert (small.customers, small.workers) == (60_000, 1)
    assert estimate_run(make_scenario(), jobs=4).workers == 1  # 180 customers: serial


def test_expected_visitors_of_a_huge_horizon_is_computed_at_once():
    profile = [0.5] * 12 + [1.5] * 12
    s = make_scenario(horizon=MAX_HORIZON, arrivals={"rate": 2, "profile": profile})
    start = time.perf_counter()
    assert s.expected_visitors == pytest.approx(2 * MAX_HORIZON)
    assert time.perf_counter() - start < 0.1
    # and it still follows the profile hour by hour (first 13.5 hours)
    s = make_scenario(horizon=13.5 * 60, arrivals={"rate": 1, "profile": profile})
    assert s.expected_visitors == pytest.approx(60 * (12 * 0.5 + 1.5 + 0.5 * 1.5))


@pytest.mark.parametrize(
    ("customers", "seconds", "refused"),
    [
        (MAX_CUSTOMERS, MAX_ESTIMATED_SECONDS, False),
        (MAX_CUSTOMERS * 1.01, 1, True),
        (1000, MAX_ESTIMATED_SECONDS * 1.01, True),
        (float("inf"), float("inf"), True),
    ],
)
def test_limits(customers, seconds, refused):
    est = execution.RunEstimate(customers, 10, 2, seconds)
    assert est.too_large is refused


def test_a_huge_run_is_refused_with_its_estimate(scenario_file):
    sets = ["--set", "horizon=10000d", "--set", "arrivals.rate=10"]
    result = invoke("run", scenario_file, *sets, "-r", "50", "-j", "2")
    assert result.exit_code == 1
    assert result.output == (
        "error: this run would simulate about 7,200,000,000 customers (50 replications) "
        "and 20.0 h on 2 workers, beyond the limits of 200,000,000 customers and 30 min; "
        "shorten the horizon or use fewer replications, or add --force to run it anyway\n"
    )
    assert not Path("results").exists()


def test_an_absurd_run_is_refused_quickly(scenario_file):
    start = time.perf_counter()
    # the largest horizon and rate a scenario may have (beyond, validation refuses them)
    sets = ["--set", "horizon=36525d", "--set", "arrivals.rate=1e12"]
    result = invoke("run", scenario_file, *sets)
    assert result.exit_code == 1
    assert "about 1.1e+20 customers" in result.output
    assert "longer than 30 years" in result.output
    assert time.perf_counter() - start < 5


def test_force_runs_beyond_the_limits(scenario_file, monkeypatch):
    monkeypatch.setattr(execution, "MAX_CUSTOMERS", 10)  # the tiny scenario is "huge" now
    refused = invoke("run", scenario_file, "--out", "o", "--no-charts")
    assert refused.exit_code == 1
    assert "add --force" in refused.output
    assert not Path("o").exists()
    forced = invoke("run", scenario_file, "--out", "o", "--no-charts", "--force", "-q")
    assert forced.exit_code == 0, forced.output
    assert Path("o/summary.json").is_file()


@pytest.mark.parametrize(
    ("command", "study"),
    [
        (["compare", "{f}", "{g}"], "comparison"),
        (["sweep", "{f}", "--param", "steps.only.exit", "--values", "0.1,0.2"], "sweep"),
        (["sensitivity", "{f}"], "sensitivity analysis"),
        (["calibrate", "{f}", "--funnel", "{funnel}", "--out", "cal.yaml"], "calibration"),
    ],
)
def test_every_study_is_estimated_and_refused_like_run(tmp_cwd, monkeypatch, command, study):
    data = scenario_dict(replications=2)
    f, g = tmp_cwd / "f.yaml", tmp_cwd / "g.yaml"
    f.write_text(yaml.safe_dump(data, sort_keys=False))
    g.write_text(yaml.safe_dump({**data, "name": "other"}, sort_keys=False))
    funnel = tmp_cwd / "funnel.csv"
    funnel.write_text("step,entered,completed\nonly,100,80\n")
    args = [a.format(f=f, g=g, funnel=funnel) for a in command]
    monkeypatch.setattr(execution, "MAX_CUSTOMERS", 10)  # the tiny scenario is "huge" now
    refused = invoke(*args, "--jobs", "1")
    assert refused.exit_code == 1, refused.output
    assert refused.output.startswith(f"error: this {study} would simulate about ")
    assert "add --force to run it anyway" in refused.output
    assert sorted(p.name for p in tmp_cwd.iterdir()) == ["f.yaml", "funnel.csv", "g.yaml"]
    monkeypatch.setattr(execution, "MAX_CUSTOMERS", 1e12)
    quiet = ["-q"] if study == "calibration" else ["--no-charts", "-q"]
    result = invoke(*args, "--jobs", "1", *quiet)
    assert result.exit_code == 0, result.output


def test_a_calibration_to_a_huge_funnel_is_refused_at_once(tmp_cwd):
    f = tmp_cwd / "f.yaml"
    f.write_text(yaml.safe_dump(scenario_dict(replications=2), sort_keys=False))
    funnel = tmp_cwd / "funnel.csv"
    funnel.write_text(f"step,entered,completed\nonly,{10**12},{10**11}\n")
    start = time.perf_counter()
    result = invoke("calibrate", f, "--funnel", funnel, "--out", "c.yaml")
    assert result.exit_code == 1
    assert "this calibration would simulate about" in result.output
    assert time.perf_counter() - start < 10
    assert not (tmp_cwd / "c.yaml").exists()


def test_check_run_size_accepts_ordinary_runs():
    check_run_size(estimate_run(make_scenario(horizon=7 * 1440, replications=20)))


# ------------------------------------------------------------------ results folders


def test_run_json_records_hash_versions_and_seed(scenario_file, tmp_cwd):
    assert invoke("run", scenario_file, "--out", "o", "--no-charts", "-q").exit_code == 0
    run = json.loads((tmp_cwd / "o" / MARKER).read_text())
    resolved = (tmp_cwd / "o" / "scenario.resolved.yaml").read_text()
    assert run["scenario_sha256"] == sha256(resolved)
    assert run["seed"] == 7
    assert run["replications"] == 2
    assert {"frictionsim", "python", "numpy", "simpy", "pydantic"} <= set(run["versions"])
    assert is_results_folder(tmp_cwd / "o")


@pytest.mark.parametrize(
    "marker",
    [None, "not json", '["a list"]', '{"tool": "someone else"}'],
    ids=["no-run-json", "not-json", "json-list", "foreign-run-json"],
)
def test_a_folder_that_is_not_ours_is_never_overwritten(scenario_file, tmp_cwd, marker):
    foreign = tmp_cwd / "thesis"
    foreign.mkdir()
    (foreign / "chapter1.tex").write_text("precious")
    if marker is not None:
        (foreign / MARKER).write_text(marker)
    before = sorted(p.name for p in foreign.iterdir())
    result = invoke("run", scenario_file, "--out", foreign, "--no-charts")
    assert result.exit_code == 1
    assert "is not a frictionsim results folder" in result.output
    assert sorted(p.name for p in foreign.iterdir()) == before
    assert (foreign / "chapter1.tex").read_text() == "precious"
    with pytest.raises(results.ResultsError):
        write_folder(foreign, {"summary.json": "{}"})


def test_a_file_in_the_way_is_never_overwritten(scenario_file, tmp_cwd):
    (tmp_cwd / "o").write_text("a file")
    result = invoke("run", scenario_file, "--out", "o", "--no-charts")
    assert result.exit_code == 1
    assert (tmp_cwd / "o").read_text() == "a file"


def _ours(folder: Path, tag: str) -> None:
    folder.mkdir()
    (folder / MARKER).write_text(json.dumps({"frictionsim_results": 1, "tag": tag}))


def test_an_interrupt_at_the_swap_puts_the_previous_folder_back(tmp_path, monkeypatch):
    out = tmp_path / "o"
    _ours(out, "previous")
    real_rename = Path.rename
    calls = []

    def rename(self, target):
        calls.append(self.name)
        if self.name.startswith(".o.tmp-"):
            raise KeyboardInterrupt  # after the previous folder was moved aside
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", rename)
    with pytest.raises(KeyboardInterrupt):
        write_folder(out, {MARKER: json.dumps({"frictionsim_results": 1, "tag": "new"})})
    assert calls[0] == "o"
    assert json.loads((out / MARKER).read_text())["tag"] == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]


def test_leftovers_of_a_killed_write_are_cleaned_up(tmp_path):
    """SIGKILL leaves no chance to tidy up; the next write does it."""
    dead = 2**22 + 12345  # above the default pid_max, so no process has it
    out = tmp_path / "o"
    _ours(out, "previous")
    (tmp_path / f".o.tmp-{dead}").mkdir()
    (tmp_path / f".o.tmp-{dead}" / "summary.json").write_text("{half")
    (tmp_path / f".o.old-{dead}").mkdir()
    (tmp_path / ".other.tmp-1").mkdir()  # another folder's: not ours to touch
    write_folder(out, {MARKER: json.dumps({"frictionsim_results": 1, "tag": "new"})})
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.tmp-1", "o"]
    assert json.loads((out / MARKER).read_text())["tag"] == "new"


def test_previous_results_moved_aside_by_a_killed_write_are_put_back(tmp_path):
    dead = 2**22 + 12345
    out = tmp_path / "o"
    _ours(tmp_path / f".o.old-{dead}", "previous")  # killed between the two renames
    results.recover_stale(out)
    assert json.loads((out / MARKER).read_text())["tag"] == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]


def test_a_running_writer_s_folders_are_left_alone(tmp_path):
    parent = os.getppid()  # alive for the whole test
    (tmp_path / f".o.tmp-{parent}").mkdir()
    results.recover_stale(tmp_path / "o")
    assert (tmp_path / f".o.tmp-{parent}").is_dir()


def test_an_interrupt_held_back_during_the_swap_keeps_the_complete_new_folder(
    tmp_path, monkeypatch
):
    """Ctrl-C during the swap is delivered when signals are unblocked: too late to undo."""
    out = tmp_path / "o"
    _ours(out, "previous")
    real = atomic._signals_held
    delivered = []

    @contextlib.contextmanager
    def delivered_on_exit():
        with real():
            yield
        delivered.append(True)
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic, "_signals_held", delivered_on_exit)
    assert write_folder(out, {MARKER: json.dumps({"frictionsim_results": 1, "tag": "new"})}) == out
    assert delivered  # the interrupt was raised after the swap
    assert json.loads((out / MARKER).read_text())["tag"] == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]


def test_loops_and_retries_count_in_the_estimate():
    loop = [
        {"name": "a"},
        {"name": "b", "next": [{"to": "a", "p": 0.99}, {"to": "c", "p": 0.01}]},
        {"name": "c", "errors": {"p": 0.5, "max_attempts": 3}},
    ]
    s = make_scenario(steps=loop)
    # a and b are visited 1 / (1 - 0.99) = 100 times each; c once, 1 + 0.5 + 0.25 attempts
    assert execution.step_attempts_per_customer(s) == pytest.approx(200 + 1.75)
    est = estimate_run(s, jobs=1)
    assert est.seconds == pytest.approx(180 * 201.75 / 7 / THROUGHPUT_PER_CORE)
    assert "(3 replications, 202 step attempts each)" in est.describe()


def test_a_loop_customers_rarely_leave_is_refused_even_with_few_customers(scenario_file):
    loop = "[{name: a}, {name: b, next: [{to: a, p: 0.9999999}, {to: c, p: 0.0000001}]}, {name: c}]"
    result = invoke("run", scenario_file, "--set", f"steps={loop}")
    assert result.exit_code == 1
    assert "about 120 customers (2 replications, 20,000,001 step attempts each)" in result.output
    assert "add --force" in result.output
