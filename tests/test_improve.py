"""Fix this first: what removing or halving a step's friction is worth, against closed forms."""

from __future__ import annotations

import json
import math

import pytest
import yaml
from click.testing import CliRunner
from scipy import stats as st

from frictionsim.cli import cli
from frictionsim.errors import OptionError
from frictionsim.studies import improve
from frictionsim.studies.improve import MINUTES_PER_YEAR, friction_sets, has_friction

from .conftest import make_scenario, one_segment

MEAN_TOLERANCE = 10.0
X, Y = 4.0, 2.0  # irritation of steps a and b
VALUE = 50.0


def shop(**changes):
    data = {
        "horizon": 600,
        "arrivals": {"rate": 2},
        "segments": one_segment({"dist": "exponential", "mean": MEAN_TOLERANCE}, order_value=VALUE),
        "steps": [{"name": "a", "irritation": X}, {"name": "b", "irritation": Y}, {"name": "c"}],
    }
    return make_scenario(**{**data, **changes})


def covers(d, exact, replications, level=0.999):
    """The exact value inside the ``level`` Student-t interval of the paired differences."""
    half = st.t.ppf(0.5 + level / 2, replications - 1) * d["sd"] / math.sqrt(replications)
    return abs(d["mean"] - exact) <= half


@pytest.mark.parametrize(("change", "factor"), [("remove", 0.0), ("halve", 0.5)])
def test_the_revenue_recovered_is_the_closed_form(change, factor):
    # no exits, cumulative irritation against an exponential tolerance T:
    # P(order) = P(T > X + Y) = exp(-(X + Y) / m); with step a's friction scaled by f,
    # exp(-(f X + Y) / m). Expected revenue recovered = visitors x value x the difference.
    scenario, reps = shop(), 20
    result = improve(scenario, (change,), seed=4, replications=reps, jobs=1)
    rows = {r["step"]: r for r in result.document["improvements"]}
    assert set(rows) == {"a", "b"}  # c makes nobody feel anything
    visitors = 2 * 600
    gain = math.exp(-(factor * X + Y) / MEAN_TOLERANCE) - math.exp(-(X + Y) / MEAN_TOLERANCE)
    d = rows["a"]["differences"]["revenue"]
    assert d["sd"] / math.sqrt(reps) < 0.1 * visitors * VALUE * gain  # precise enough to fail
    assert covers(d, visitors * VALUE * gain, reps)
    yearly = rows["a"]["revenue_per_year"]["mean"]
    assert yearly == pytest.approx(d["mean"] * MINUTES_PER_YEAR / 600)
    assert rows["a"]["rank"] == 1  # X > Y: step a's friction costs more


def test_what_removing_friction_changes_and_what_it_keeps():
    scenario = shop(
        steps=[
            {"name": "a", "irritation": 3, "fields": 4, "exit": 0.1},
            {
                "name": "b",
                "capacity": 1,
                "wait_irritation": 2,
                "errors": {"p": 0.2, "irritation": 5},
            },
        ],
        friction={"per_field": 0.5},
    )
    assert friction_sets(scenario, 0, 0.0) == [
        "steps.0.irritation=0.0",
        "steps.0.per_field=0.0",
        "steps.0.wait_irritation=0.0",
        "steps.0.time_irritation=0.0",
    ]
    assert friction_sets(scenario, 1, 0.5)[-1] == "steps.1.errors.irritation=2.5"
    assert has_friction(scenario, 0)
    assert has_friction(scenario, 1)
    assert not has_friction(shop(), 2)


def test_nothing_to_remove_is_refused():
    with pytest.raises(OptionError, match="no step of 'micro' has friction"):
        improve(make_scenario(), replications=2)


def test_cli_improve_writes_a_folder_that_report_redraws(tmp_path):
    path = tmp_path / "shop.yaml"
    path.write_text(yaml.safe_dump(shop().model_dump(mode="json", exclude_none=True)))
    out = tmp_path / "o"
    result = CliRunner().invoke(cli, ["improve", str(path), "-r", "3", "--jobs", "1",
                                      "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "fix this first" in result.output
    doc = json.loads((out / "improvements.json").read_text())
    assert [r["rank"] for r in doc["improvements"]] == [1, 2, 3, 4]
    assert {r["change"] for r in doc["improvements"]} == {"remove", "halve"}
    chart = (out / "improvements.png").read_bytes()
    (out / "improvements.png").unlink()
    assert CliRunner().invoke(cli, ["report", str(out)]).exit_code == 0
    assert (out / "improvements.png").read_bytes() == chart
