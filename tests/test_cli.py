"""The command line through click's CliRunner: exit codes, messages, files written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from frictionsim import execution
from frictionsim.cli import cli

from .conftest import scenario_dict

SMALL = scenario_dict(
    name="tiny",
    replications=4,
    horizon=120,
    arrivals={"rate": 2},
    steps=[
        {
            "name": "cart",
            "irritation": 1,
            "exit": 0.2,
            "duration": {"dist": "exponential", "mean": 1},
        },
        {"name": "form", "fields": 8},
        {
            "name": "pay",
            "capacity": 2,
            "wait_irritation": 1,
            "duration": {"dist": "exponential", "mean": 1},
            "errors": {"p": 0.1, "irritation": 2},
        },
    ],
    segments=[
        {
            "name": "all",
            "share": 1,
            "order_value": 40,
            "tolerance": {"dist": "exponential", "mean": 8},
        }
    ],
)


@pytest.fixture
def scenario_file(tmp_cwd):
    path = tmp_cwd / "tiny.yaml"
    path.write_text(yaml.safe_dump(SMALL, sort_keys=False))
    return path


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_validate_ok_and_problems(scenario_file, tmp_cwd):
    ok = invoke("validate", scenario_file)
    assert ok.exit_code == 0
    assert ok.output == f"{scenario_file}: ok\n"
    bad = tmp_cwd / "bad.yaml"
    bad.write_text(scenario_file.read_text().replace("capacity: 2", "capcity: 2"))
    result = invoke("validate", scenario_file, bad)
    assert result.exit_code == 2
    assert f"{bad}:" in result.output
    assert "steps.pay.capcity: unknown key 'capcity' (did you mean 'capacity'?)" in result.output
    assert "Traceback" not in result.output


def test_run_writes_complete_results_folder(scenario_file, tmp_cwd):
    result = invoke("run", scenario_file)
    assert result.exit_code == 0, result.output
    out = tmp_cwd / "results" / "tiny"
    assert sorted(p.name for p in out.iterdir()) == [
        "checkout_time.png",
        "distributions.json",
        "funnel.csv",
        "funnel.png",
        "irritation.png",
        "lost_revenue.png",
        "report.html",
        "report.md",
        "run.json",
        "scenario.resolved.yaml",
        "summary.json",
        "waiting.png",
    ]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scenario"] == "tiny"
    assert summary["replications"] == 4
    assert set(summary["metrics"]) >= {
        "visitors",
        "orders",
        "conversion_rate",
        "revenue",
        "lost_revenue",
        "lost_revenue_friction",
        "lost_revenue_exit",
        "abandoned_friction",
        "abandoned_exit",
    }
    assert set(summary["steps"]["pay"]) >= {
        "entered",
        "abandoned_friction",
        "abandoned_exit",
        "abandon_rate",
        "mean_wait",
    }
    for m in summary["metrics"].values():
        assert set(m) - {"clipped"} == {"mean", "sd", "ci95"}  # clipped: at a bound
    rows = (out / "funnel.csv").read_text().splitlines()
    assert len(rows) == 1 + 4 * 3
    provenance = json.loads((out / "run.json").read_text())
    assert provenance["seed"] == 7
    assert provenance["versions"]["frictionsim"] == summary["frictionsim_version"]
    assert (out / "funnel.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "conversion" in result.output
    assert not list(tmp_cwd.glob("results/.*"))  # no temporary folders left behind


def test_results_are_identical_whatever_the_number_of_jobs(scenario_file, tmp_cwd, monkeypatch):
    monkeypatch.setattr(execution, "SERIAL_BELOW_CUSTOMERS", 0)  # really use the pool
    for jobs in (1, 2):
        result = invoke("run", scenario_file, "--jobs", jobs, "--out", f"j{jobs}", "--no-charts")
        assert result.exit_code == 0, result.output
    for name in ("summary.json", "funnel.csv", "scenario.resolved.yaml", "distributions.json"):
        assert (tmp_cwd / "j1" / name).read_bytes() == (tmp_cwd / "j2" / name).read_bytes()


def test_seed_replications_and_set_override(scenario_file, tmp_cwd):
    result = invoke(
        "run",
        scenario_file,
        "--seed",
        3,
        "-r",
        2,
        "--set",
        "steps.pay.capacity=5",
        "--out",
        "o",
        "--no-charts",
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_cwd / "o" / "summary.json").read_text())
    assert (summary["seed"], summary["replications"]) == (3, 2)
    resolved = yaml.safe_load((tmp_cwd / "o" / "scenario.resolved.yaml").read_text())
    assert resolved["steps"][2]["capacity"] == 5


def test_bad_override_is_located(scenario_file):
    result = invoke("run", scenario_file, "--set", "steps.pya.capacity=5")
    assert result.exit_code == 2
    assert (
        result.output.strip() == "--set:1:7: steps.pya: no step named 'pya' (did you mean 'pay'?)"
    )


def test_bad_options_exit_non_zero_without_traceback(scenario_file):
    for args in (["--replications", "0"], ["--jobs", "0"], ["--seed", "-1"]):
        result = invoke("run", scenario_file, *args)
        assert result.exit_code == 2
        assert "Traceback" not in result.output


def test_missing_file_is_a_located_problem(tmp_cwd):
    result = invoke("run", tmp_cwd / "nope.yaml")
    assert result.exit_code == 2
    assert result.output.strip() == f"{tmp_cwd / 'nope.yaml'}:1:1: (file): no such file"


def test_a_foreign_folder_is_never_overwritten(scenario_file, tmp_cwd):
    foreign = tmp_cwd / "thesis"
    foreign.mkdir()
    (foreign / "chapter1.tex").write_text("precious")
    result = invoke("run", scenario_file, "--out", foreign)
    assert result.exit_code == 1
    assert "not a frictionsim results folder" in result.output
    assert [p.name for p in foreign.iterdir()] == ["chapter1.tex"]


def test_rerun_replaces_previous_results(scenario_file, tmp_cwd):
    assert invoke("run", scenario_file, "--out", "o").exit_code == 0
    assert invoke("run", scenario_file, "--out", "o", "--no-charts", "--seed", 9).exit_code == 0
    assert not (tmp_cwd / "o" / "funnel.png").exists()  # the previous run's charts are gone
    assert json.loads((tmp_cwd / "o" / "summary.json").read_text())["seed"] == 9


def test_rerun_never_deletes_a_file_the_user_added(scenario_file, tmp_cwd):
    assert invoke("run", scenario_file, "--out", "o", "--no-charts").exit_code == 0
    (tmp_cwd / "o" / "stale.txt").write_text("mine")
    result = invoke("run", scenario_file, "--out", "o", "--no-charts", "--seed", 9)
    assert result.exit_code == 1
    assert "holds files that frictionsim did not write (stale.txt)" in result.output
    assert (tmp_cwd / "o" / "stale.txt").read_text() == "mine"


def test_failed_run_leaves_previous_results(scenario_file, tmp_cwd, monkeypatch):
    assert invoke("run", scenario_file, "--out", "o", "--no-charts").exit_code == 0
    before = (tmp_cwd / "o" / "summary.json").read_bytes()

    def broken(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("frictionsim.report.render_report", broken)
    result = invoke("run", scenario_file, "--out", "o", "--seed", 99)
    assert result.exit_code == 130
    assert "nothing was written" in result.output
    assert (tmp_cwd / "o" / "summary.json").read_bytes() == before
    assert sorted(p.name for p in tmp_cwd.iterdir()) == ["o", "tiny.yaml"]


def test_schema_is_json(tmp_cwd):
    result = invoke("schema")
    assert result.exit_code == 0
    assert "steps" in json.loads(result.output)["properties"]


BUNDLED = sorted((Path(__file__).parent.parent / "scenarios").glob("*.yaml"))


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.name)
def test_bundled_scenarios_validate_and_run(path, tmp_cwd):
    assert invoke("validate", path).exit_code == 0
    out = tmp_cwd / "out"
    result = invoke("run", path, "--set", "horizon=2h", "-r", "2", "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["replications"] == 2
    assert summary["metrics"]["visitors"]["mean"] > 0


CONTRACT_WOM = (
    "nps",
    "promoters",
    "passives",
    "detractors",
    "referral_visitors",
    "referral_orders",
    "referral_revenue",
    "returning_visitors",
    "returning_orders",
    "repeat_revenue",
    "prospects_lost",
    "lost_revenue_word_of_mouth",
)


def test_word_of_mouth_outputs_and_a_smoother_flow_earns_more_referrals(tmp_cwd):
    path = Path(__file__).parent.parent / "scenarios" / "word_of_mouth.yaml"
    short = ["--set", "horizon=14d", "-r", "3", "--quiet"]
    assert invoke("run", path, *short, "--out", "smooth").exit_code == 0
    harsh = ["--set", "steps.account.irritation=7", "--set", "steps.account.fields=5"]
    assert invoke("run", path, *short, *harsh, "--out", "harsh").exit_code == 0
    smooth = json.loads((tmp_cwd / "smooth" / "summary.json").read_text())
    rough = json.loads((tmp_cwd / "harsh" / "summary.json").read_text())
    for key in CONTRACT_WOM:
        assert smooth["metrics"][key]["mean"] is not None, key
    for segment in smooth["segments"].values():
        assert {"nps", "promoters", "passives", "detractors"} <= set(segment)
    loop = json.loads((tmp_cwd / "smooth" / "word_of_mouth.json").read_text())
    assert loop["bin_minutes"] == 1440
    assert len(loop["sources"]["referral"]["mean"]) == len(loop["time"]) == 14
    assert (tmp_cwd / "smooth" / "word_of_mouth.png").is_file()
    report = (tmp_cwd / "smooth" / "report.md").read_text()
    nps = smooth["metrics"]["nps"]["mean"]
    assert f"**NPS of buyers**: {nps:+.1f}".replace("-", "−") in report
    assert "referral visitors (revenue" in report
    # the harsh account step: fewer promoters, fewer referrals (CIs do not overlap)
    for key in ("nps", "referral_visitors"):
        assert smooth["metrics"][key]["ci95"][0] > rough["metrics"][key]["ci95"][1], key
