"""Reminder and recovery campaigns (``reminders``): customers who left are reminded, and
some come back, at a cost per reminder."""

from __future__ import annotations

import math

import pytest

from frictionsim.errors import ScenarioError
from frictionsim.execution import uses_fast_path
from frictionsim.sim.codes import ORGANIC, RETURNING
from frictionsim.studies import run, run_replications

from .conftest import make_scenario, one_segment

Q = 0.6  # chance a reminded browser comes back


def browsing(**reminders):
    return make_scenario(
        horizon=2000,
        arrivals={"rate": 5},
        segments=one_segment({"dist": "fixed", "value": 1e9}, order_value=10),
        steps=[{"name": "cart", "exit": 0.5}],
        reminders={"exit": Q, "delay": 1, "cost": 0.1, **reminders},
    )


def test_a_reminded_browser_comes_back_as_the_geometric_series_says():
    # every visit exits with 0.5 and is reminded; a reminded one returns with Q: per
    # person, visits 1 / (1 - 0.5 Q), exits (= reminders) 0.5 / (1 - 0.5 Q)
    scenario = browsing()
    assert not uses_fast_path(scenario)  # the SimPy engine runs campaigns
    results = run_replications(scenario, 1, 4, jobs=1)
    organic = sum(int(r.source_visitors[ORGANIC]) for r in results)
    back = sum(int(r.source_visitors[RETURNING]) for r in results)
    sent = sum(r.reminders_sent for r in results)
    g = 0.5 * Q
    assert sent == sum(r.abandoned_exit for r in results)  # every leaver is reached
    # returns per person are geometric: P(R = k) = (1 - g) g^k, sd sqrt(g) / (1 - g);
    # reminders per person S: S = 0 with chance 1/2, else 1 + a geometric number more
    # (each further one with chance g), so E[S] = (1/2) / (1 - g) and
    # E[S^2] = (1/2) (1 + g) / (1 - g)^2
    sd_back = math.sqrt(g) / (1 - g)
    mean_sent = 0.5 / (1 - g)
    sd_sent = math.sqrt(0.5 * (1 + g) / (1 - g) ** 2 - mean_sent**2)
    assert abs(back / organic - g / (1 - g)) <= 4 * sd_back / math.sqrt(organic)
    assert abs(sent / organic - mean_sent) <= 4 * sd_sent / math.sqrt(organic)
    summary = run(scenario, jobs=1, replications=2).summary["metrics"]
    assert summary["reminder_costs"]["mean"] == pytest.approx(
        0.1 * summary["reminders_sent"]["mean"]
    )
    assert summary["profit"]["mean"] == pytest.approx(
        summary["revenue"]["mean"] - summary["reminder_costs"]["mean"]
    )


def test_only_those_reached_get_a_reminder_and_friction_has_its_own_chance():
    scenario = make_scenario(
        horizon=2000,
        arrivals={"rate": 5},
        segments=one_segment({"dist": "exponential", "mean": 2}),
        steps=[{"name": "form", "irritation": 1}],
        reminders={"reached": 0.5, "friction": 1.0, "exit": 0.0, "delay": 0.01},
    )
    results = run_replications(scenario, 2, 2, jobs=1)
    left = sum(r.abandoned_friction for r in results)
    sent = sum(r.reminders_sent for r in results)
    back = sum(int(r.source_visitors[RETURNING]) for r in results)
    assert abs(sent / left - 0.5) <= 4 * math.sqrt(0.25 / left)
    # every reminded abandoner comes back, but those reminded in the last 0.01 minute
    # (after the horizon): about 10 visits a minute, so 0.1 expected; 5 is far out
    assert 0 <= sent - back <= 5


def test_without_reminders_nothing_changes():
    plain = make_scenario(steps=[{"name": "cart", "exit": 0.5}])
    r = run_replications(plain, 1, 1, jobs=1)[0]
    assert r.reminders_sent == 0
    assert r.source_visitors[RETURNING] == 0


def test_a_bad_reminder_key_is_located():
    with pytest.raises(ScenarioError, match=r"reminders\.exit"):
        browsing(exit=1.5)


def test_a_campaign_is_compared_by_its_net_value(tmp_cwd):
    import yaml
    from click.testing import CliRunner

    from frictionsim.cli import cli

    from .conftest import scenario_dict

    base = scenario_dict(
        name="without",
        horizon=1000,
        arrivals={"rate": 2},
        steps=[{"name": "cart", "exit": 0.5}],
    )
    (tmp_cwd / "a.yaml").write_text(yaml.safe_dump(base))
    (tmp_cwd / "b.yaml").write_text(
        yaml.safe_dump({**base, "name": "with", "reminders": {"exit": 0.5, "cost": 1, "delay": 1}})
    )
    result = CliRunner().invoke(
        cli, ["compare", "a.yaml", "b.yaml", "-o", "c", "-q", "--no-charts"]
    )
    assert result.exit_code == 0, result.output
