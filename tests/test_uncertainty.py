"""Parameter uncertainty: ``calibrate`` writes what it fitted with the covariance of the
estimates into the calibrated scenario (``uncertainty``), and ``run --uncertainty``
draws each replication's parameters from that distribution."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from frictionsim.cli import cli
from frictionsim.errors import ScenarioError
from frictionsim.scenario import load_scenario, parse_scenario
from frictionsim.studies.calibrate import uncertain_scenario

from .conftest import scenario_dict
from .test_calibrate import files  # noqa: F401  (the fixture: a tiny scenario and funnel)

SECTION = {
    "parameters": [
        {"path": "steps.cart.exit", "value": 0.3, "scale": "logit"},
        {"path": "steps.form.irritation", "value": 2.0, "scale": "log"},
        {"path": "tolerance", "value": 1.0, "scale": "log"},
    ],
    "covariance": [[0.04, 0.01, 0.0], [0.01, 0.09, 0.0], [0.0, 0.0, 0.01]],
}
STEPS = [{"name": "cart", "exit": 0.3}, {"name": "form", "irritation": 2.0, "fields": 3}]


def uncertain(**changes):
    data = scenario_dict(
        horizon=600,
        arrivals={"rate": 2},
        segments=[
            {
                "name": "a",
                "share": 1,
                "tolerance": {"dist": "exponential", "mean": 4},
                "order_value": 10,
            }
        ],
        steps=STEPS,
        uncertainty=SECTION,
        replications=4,
    )
    data.update(changes)
    return data


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_draws_follow_the_fitted_distribution_on_their_scales():
    scenario = parse_scenario(yaml.safe_dump(uncertain()), "u.yaml")
    rng = np.random.default_rng(5)
    n = 4000
    draws = np.asarray([uncertain_scenario(scenario, rng)[1] for _ in range(n)])
    free = np.column_stack(
        [np.log(draws[:, 0] / (1 - draws[:, 0])), np.log(draws[:, 1]), np.log(draws[:, 2])]
    )
    centre = [math.log(0.3 / 0.7), math.log(2.0), 0.0]
    cov = np.asarray(SECTION["covariance"])
    se = np.sqrt(np.diag(cov) / n)
    assert np.all(np.abs(free.mean(axis=0) - centre) < 4 * se)
    # the sample variance of a normal has sd var * sqrt(2 / (n - 1))
    var = free.var(axis=0, ddof=1)
    assert np.all(np.abs(var - np.diag(cov)) < 4 * np.diag(cov) * math.sqrt(2 / (n - 1)))
    corr = np.corrcoef(free[:, 0], free[:, 1])[0, 1]
    assert abs(corr - 0.01 / math.sqrt(0.04 * 0.09)) < 4 / math.sqrt(n)
    variant = uncertain_scenario(scenario, np.random.default_rng(1))[0]
    assert variant.steps[0].exit != 0.3  # the draw is applied ...
    assert variant.segments[0].tolerance.mean != 4  # ... the tolerance scaled too


def test_each_replication_is_a_plain_run_with_its_drawn_values(tmp_cwd):
    data = uncertain(uncertainty={"parameters": SECTION["parameters"][:2],
                                  "covariance": [[0.04, 0.01], [0.01, 0.09]]})  # fmt: skip
    path = tmp_cwd / "u.yaml"
    path.write_text(yaml.safe_dump(data))
    result = invoke("run", path, "--uncertainty", "-o", "u", "-q", "--no-charts")
    assert result.exit_code == 0, result.output
    drawn = json.loads((tmp_cwd / "u" / "run.json").read_text())["uncertainty"]
    assert drawn["parameters"] == ["steps.cart.exit", "steps.form.irritation"]
    assert len(drawn["draws"]) == 4
    rows = list(csv.DictReader(io.StringIO((tmp_cwd / "u" / "funnel.csv").read_text())))
    for k, (exit_p, irritation) in enumerate(drawn["draws"]):
        sets = [
            "--set",
            f"steps.cart.exit={exit_p!r}",
            "--set",
            f"steps.form.irritation={irritation!r}",
        ]
        plain = invoke("run", path, *sets, "-o", f"p{k}", "-q", "--no-charts")
        assert plain.exit_code == 0, plain.output
        mine = list(csv.DictReader(io.StringIO((tmp_cwd / f"p{k}" / "funnel.csv").read_text())))
        assert [r for r in rows if r["replication"] == str(k)] == [
            r for r in mine if r["replication"] == str(k)
        ]


def test_without_the_flag_the_section_changes_nothing(tmp_cwd):
    with_section = tmp_cwd / "a.yaml"
    with_section.write_text(yaml.safe_dump(uncertain()))
    without = tmp_cwd / "b.yaml"
    data = uncertain()
    del data["uncertainty"]
    without.write_text(yaml.safe_dump(data))
    for name, path in (("a", with_section), ("b", without)):
        assert invoke("run", path, "-o", name, "-q", "--no-charts").exit_code == 0
    a = json.loads((tmp_cwd / "a" / "summary.json").read_text())
    b = json.loads((tmp_cwd / "b" / "summary.json").read_text())
    assert a["metrics"] == b["metrics"]


def test_the_intervals_include_what_the_data_did_not_pin_down(tmp_cwd):
    path = tmp_cwd / "u.yaml"
    path.write_text(yaml.safe_dump(uncertain(replications=30)))
    for name, flag in (("plain", []), ("unc", ["--uncertainty"])):
        assert invoke("run", path, *flag, "-o", name, "-q", "--no-charts").exit_code == 0
    sd = {
        name: json.loads((tmp_cwd / name / "summary.json").read_text())["metrics"][
            "conversion_rate"
        ]["sd"]
        for name in ("plain", "unc")
    }
    # an exit's logit sd of 0.2 alone moves conversion by several points between draws:
    # the variance ratio beyond the 99.9 % point of F(29, 29)
    from scipy import stats

    assert (sd["unc"] / sd["plain"]) ** 2 > stats.f.ppf(0.999, 29, 29)


def test_run_uncertainty_needs_the_section(tmp_cwd):
    data = uncertain()
    del data["uncertainty"]
    path = tmp_cwd / "plain.yaml"
    path.write_text(yaml.safe_dump(data))
    result = invoke("run", path, "--uncertainty", "-o", "x")
    assert result.exit_code == 2
    assert "has no `uncertainty` section" in result.output
    assert not (tmp_cwd / "x").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"covariance": [[0.04, 0.01], [0.01, 0.09]]}, "covariance must be 3 × 3"),
        ({"covariance": [[0.04, 0.02, 0], [0.01, 0.09, 0], [0, 0, 0.01]]}, "symmetric"),
        ({"covariance": [[0.01, 0.5, 0], [0.5, 0.01, 0], [0, 0, 0.01]]}, "positive semi-definite"),
        ({"covariance": [[".inf", 0, 0], [0, 1, 0], [0, 0, 1]]}, "finite"),
    ],
)
def test_a_bad_covariance_is_refused(change, message):
    data = uncertain(uncertainty={**SECTION, **change})
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(yaml.safe_dump(data).replace("'.inf'", ".inf"), "u.yaml")


def test_a_parameter_of_no_step_or_on_the_wrong_scale_is_located():
    params = [
        {"path": "steps.crat.exit", "value": 0.3, "scale": "logit"},
        {"path": "steps.form.irritation", "value": 2.0, "scale": "logit"},
        {"path": "tolerance", "value": 1.0, "scale": "log"},
    ]
    text = yaml.safe_dump(uncertain(uncertainty={**SECTION, "parameters": params}))
    with pytest.raises(ScenarioError) as err:
        parse_scenario(text, "u.yaml")
    lines = str(err.value).splitlines()
    assert any("uncertainty.parameters[0].path: no step named 'crat'" in x for x in lines)
    assert any("did you mean 'cart'" in x for x in lines)
    assert any(
        "parameters[1].scale: the scale of 'steps.form.irritation' is 'log'" in x for x in lines
    )


def test_calibrate_writes_the_section_its_run_uses(files, tmp_cwd):  # noqa: F811
    scenario, funnel = files
    args = ("calibrate", scenario, "--funnel", funnel, "--sample", 1, "--max-evaluations", 30)
    result = invoke(*args, "--fit", "exit:a+b", "--out", "cal.yaml")
    assert result.exit_code == 0, result.output
    cal = load_scenario(tmp_cwd / "cal.yaml")
    unc = cal.uncertainty
    assert [p.path for p in unc.parameters] == ["steps.a.exit", "steps.b.exit"]
    assert [p.scale for p in unc.parameters] == ["logit", "logit"]
    header = (tmp_cwd / "cal.yaml").read_text()
    for p, row in zip(unc.parameters, unc.covariance):
        k = unc.parameters.index(p)
        se = math.sqrt(row[k]) * p.value * (1 - p.value)  # the delta method, as the header
        assert f"{p.path} = " in header
        shown = header.split(f"{p.path} = ")[1].split("±")[1].split()[0]
        assert float(shown) == pytest.approx(se, rel=5e-3)
    again = invoke(
        "run", tmp_cwd / "cal.yaml", "--uncertainty", "-r", 3, "-o", "r", "-q", "--no-charts"
    )
    assert again.exit_code == 0, again.output


def test_a_draw_beyond_a_scenario_s_limits_is_one_line(tmp_cwd):
    wide = {"parameters": [{"path": "steps.form.irritation", "value": 2.0, "scale": "log"}],
            "covariance": [[1e12]]}  # fmt: skip
    path = tmp_cwd / "wide.yaml"
    path.write_text(yaml.safe_dump(uncertain(uncertainty=wide)))
    result = invoke("run", path, "--uncertainty", "-o", "w", "--force")
    assert result.exit_code == 2
    assert "the uncertainty section's covariance is too wide" in result.output
    assert not (tmp_cwd / "w").exists()


def test_a_set_of_a_drawn_parameter_is_refused(tmp_cwd):
    path = tmp_cwd / "u.yaml"
    path.write_text(yaml.safe_dump(uncertain()))
    result = invoke("run", path, "--uncertainty", "--set", "steps.cart.exit=0.1", "-o", "x")
    assert result.exit_code == 2
    assert "steps.cart.exit is 0.1 but the uncertainty section's estimate is 0.3" in result.output


def test_a_path_that_is_no_fitted_parameter_says_which_are():
    params = [{"path": "segments.a.share", "value": 1.0, "scale": "log"}]
    text = yaml.safe_dump(uncertain(uncertainty={"parameters": params, "covariance": [[0.01]]}))
    with pytest.raises(ScenarioError) as err:
        parse_scenario(text, "u.yaml")
    lines = str(err.value).splitlines()
    assert len(lines) == 1
    assert "a fitted parameter is steps.<step>.exit" in lines[0]


def test_the_report_names_the_drawn_parameters(tmp_cwd):
    data = uncertain(uncertainty={"parameters": SECTION["parameters"][:1],
                                  "covariance": [[0.04]]})  # fmt: skip
    path = tmp_cwd / "u.yaml"
    path.write_text(yaml.safe_dump(data))
    result = invoke("run", path, "--uncertainty", "-o", "u", "-q", "--jobs", "1")
    assert result.exit_code == 0, result.output
    text = (tmp_cwd / "u" / "report.md").read_text()
    assert "Parameter uncertainty" in text
    assert "drew steps.cart.exit" in text
