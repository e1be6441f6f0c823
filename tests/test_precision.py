"""``run --precision METRIC=HALFWIDTH``: replications in batches until the 95 % CI
half-width of every metric is at most its target, reusing earlier replications
exactly, so the result is a plain run with the final number of replications."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from scipy import stats

from frictionsim.cli import cli
from frictionsim.studies import run
from frictionsim.studies.run import half_width

from .conftest import make_scenario, one_segment, scenario_dict

SHOP = {
    "horizon": 300,
    "arrivals": {"rate": 2},
    "replications": 3,
    "segments": one_segment({"dist": "exponential", "mean": 6}),
    "steps": [{"name": "cart", "exit": 0.3}, {"name": "form", "fields": 10}],
}


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])  # output: stdout and stderr


@pytest.fixture
def shop(tmp_cwd):
    path = tmp_cwd / "shop.yaml"
    path.write_text(yaml.safe_dump(scenario_dict(**SHOP), sort_keys=False))
    return path


def test_the_half_width_is_student_t_over_the_defined_values():
    x = [0.2, 0.25, 0.3, 0.4]
    expected = stats.t.ppf(0.975, 3) * np.std(x, ddof=1) / 2
    assert half_width(x) == pytest.approx(expected, rel=1e-12)
    assert half_width([*x, None, math.nan]) == half_width(x)  # undefined ones left out
    assert half_width([0.3]) == math.inf


def test_a_precise_run_is_the_plain_run_of_its_final_replications(shop, tmp_cwd):
    result = invoke("run", shop, "--precision", "conversion_rate=0.01", "-o", "p", "-q",
                    "--no-charts")  # fmt: skip
    assert result.exit_code == 0, result.output
    reached = json.loads((tmp_cwd / "p" / "run.json").read_text())["precision"]
    n = reached["replications"]
    assert reached["reached"]
    assert reached["half_widths"]["conversion_rate"] <= 0.01
    assert reached["batches"][0] == 3  # the scenario's replications first
    assert reached["batches"][-1] == n > 3  # the target needed more than those
    plain = invoke("run", shop, "-r", n, "-o", "plain", "-q", "--no-charts")
    assert plain.exit_code == 0, plain.output
    for name in ("summary.json", "funnel.csv"):
        assert (tmp_cwd / "p" / name).read_bytes() == (tmp_cwd / "plain" / name).read_bytes()
    ci = json.loads((tmp_cwd / "p" / "summary.json").read_text())["metrics"]["conversion_rate"]
    assert (ci["ci95"][1] - ci["ci95"][0]) / 2 <= 0.01 + 1e-12


def test_every_target_must_hold():
    scenario = make_scenario(**SHOP)
    done = run(scenario, precision=[("conversion_rate", 0.02), ("orders", 5.0)], jobs=1)
    assert done.precision["reached"]
    assert all(done.precision["half_widths"][m] <= h for m, h in [("conversion_rate", 0.02),
                                                                    ("orders", 5.0)])  # fmt: skip
    fewer = run(scenario, precision=[("conversion_rate", 0.02)], jobs=1)
    assert len(done.results) > len(fewer.results)  # the tighter target decided


def test_a_target_not_reached_within_the_cap_is_said_and_recorded(shop, tmp_cwd):
    result = invoke("run", shop, "--precision", "conversion_rate=0.00001", "--max-replications",
                    8, "-o", "p", "--no-charts")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "not reached within --max-replications 8" in result.output
    reached = json.loads((tmp_cwd / "p" / "run.json").read_text())["precision"]
    assert reached["replications"] == 8
    assert reached["reached"] is False


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--precision", "conversion_rate"], "expected METRIC=HALFWIDTH"),
        (["--precision", "conversion_rat=0.01"], "did you mean 'conversion_rate'"),
        (["--precision", "conversion_rate=0"], "the half-width must be a number above 0"),
        (["--precision", "conversion_rate=inf"], "the half-width must be a number above 0"),
        (["--precision", "=0.1"], "expected METRIC=HALFWIDTH"),
        (["--max-replications", "9"], "give --precision too"),
    ],
)
def test_bad_precision_options_are_one_line_and_exit_2(shop, options, message):
    result = invoke("run", shop, *options, "-o", "p", "--no-charts")
    assert result.exit_code == 2
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (shop.parent / "p").exists()


def test_a_metric_without_values_gets_no_interval_and_no_crash(tmp_cwd):
    data = scenario_dict(**{**SHOP, "segments": one_segment({"dist": "fixed", "value": 0.1})})
    data["steps"] = [{"name": "form", "fields": 10}]  # nobody buys: no NPS
    path = tmp_cwd / "nobody.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    result = invoke("run", path, "--precision", "nps=0.1", "--max-replications", 6, "-o", "n",
                    "--no-charts")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "has a value in fewer than two" in result.output
    reached = json.loads((tmp_cwd / "n" / "run.json").read_text())["precision"]
    assert reached["half_widths"]["nps"] is None
    assert reached["reached"] is False


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--precision", "orders=5", "--precision", "orders=6"], "orders is given twice"),
        (["--precision", "orders=5", "-r", 10, "--max-replications", 5], "is below the 10"),
    ],
)
def test_precision_options_that_would_lose_what_was_asked_are_refused(shop, options, message):
    result = invoke("run", shop, *options, "-o", "p", "--no-charts")
    assert result.exit_code == 2
    assert message in result.output


def test_the_report_says_how_the_replications_were_chosen(shop, tmp_cwd):
    result = invoke("run", shop, "--precision", "conversion_rate=0.00001", "--max-replications",
                    5, "-o", "p", "--jobs", 1)  # fmt: skip
    assert result.exit_code == 0, result.output
    for page in ("report.md", "report.html"):
        text = (tmp_cwd / "p" / page).read_text()
        assert "5 replications (in batches, to 3 → 5)" in text, page
        assert "stopped at the cap of 5 replications" in text
    # redrawn from the folder, the words stay
    before = (tmp_cwd / "p" / "report.md").read_bytes()
    assert invoke("report", tmp_cwd / "p").exit_code == 0
    assert (tmp_cwd / "p" / "report.md").read_bytes() == before


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"targets": {"conversion_rate": "tight"}}, "precision.targets.conversion_rate: expected"),
        ({"targets": {}, "reached": "yes", "replications": 3},
         "precision.reached: expected true or false"),
        ({"targets": {}, "reached": True, "replications": 3, "batches": [3, -1]},
         "precision.batches[1]: expected a whole number"),
        ({"targets": {"conversion_rate": 0.01}}, "precision.reached: missing"),
        # refused before it reaches the page: markup as a metric, a number beyond a float
        ({"targets": {"<script>": 0.01}, "reached": True, "replications": 3},
         "precision.targets.<script>: expected a metric or parameter path"),
        ({"targets": {}, "reached": True, "replications": 10**400},
         "precision.replications: expected a whole number of at least 0, got a whole number "
         "of 401 digits"),
    ],
)  # fmt: skip
def test_a_damaged_precision_record_is_one_line(shop, tmp_cwd, change, message):
    assert invoke("run", shop, "-o", "p", "--no-charts", "-q").exit_code == 0
    marker = tmp_cwd / "p" / "run.json"
    data = json.loads(marker.read_text())
    data["precision"] = change
    marker.write_text(json.dumps(data))
    result = invoke("report", tmp_cwd / "p")
    assert result.exit_code == 1  # damaged results, as for any other document
    assert "run.json: damaged: " + message in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1
