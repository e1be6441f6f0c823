"""Minutes in a step, per visit that went on: the engines' exact fixed-point counters
(hand-computed and queueing answers, both engines equal), the time columns of the
funnel formats, and ``calibrate --fit duration``."""

from __future__ import annotations

import importlib
import json
import math
import re

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import stats

from frictionsim.cli import cli
from frictionsim.csvtext import parse_seconds
from frictionsim.errors import CalibrationError, ScenarioError
from frictionsim.funnel_data import parse_funnel
from frictionsim.funnel_exports import parse_export
from frictionsim.metrics import step_values
from frictionsim.scenario import load_scenario
from frictionsim.sim import fastpath, simpy_engine
from frictionsim.sim.result import FIXED_CAP, THROUGH_SCALE, fixed, fixed_sum

from .conftest import make_scenario, run_once

cal = importlib.import_module("frictionsim.studies.calibrate")

ONE = [{"name": "all", "share": 1, "tolerance": 1e9, "order_value": 50}]


# ----------------------------------------------------------------------- fixed point


def test_fixed_point_sums_do_not_depend_on_the_order():
    rng = np.random.default_rng(5)
    x = rng.lognormal(0, 2, 10_000)
    total = fixed_sum(x)
    assert total == fixed_sum(x[::-1]) == fixed_sum(rng.permutation(x))
    assert total == sum(fixed(float(v)) for v in x)  # the SimPy engine adds them one by one
    assert abs(total / THROUGH_SCALE - math.fsum(x)) <= x.size / THROUGH_SCALE


def test_fixed_point_sums_do_not_overflow_at_the_cap():
    huge = np.full(1000, 1e300)  # each capped at 2**62 units: 1000 of them exceed int64
    assert fixed_sum(huge) == 1000 * int(FIXED_CAP) == sum(fixed(1e300) for _ in range(1000))


# ----------------------------------------------------------------------- the engines


def test_minutes_through_a_step_with_retries_by_hand():
    # every attempt takes 2 minutes; an attempt fails with p = 0.5, two attempts at most.
    # Who passes on the first attempt spends 2 minutes, on the second 4: the minutes summed
    # are exactly 2 × passed + 2 × (second-attempt passers), and the failures are one per
    # second-attempt passer and two per customer who gave up.
    steps = [{"name": "a", "duration": 2, "errors": {"p": 0.5, "max_attempts": 2}}]
    scenario = make_scenario(steps=steps, segments=ONE, horizon=4000)
    r = run_once(scenario, seed=3)
    gave_up = int(r.step_entered[0] - r.step_passed[0])
    second = int(r.step_failed_attempts[0]) - 2 * gave_up
    assert r.step_passed[0] == r.orders > 1000
    assert r.step_pass_minutes[0] == 2.0 * int(r.step_passed[0]) + 2.0 * second
    assert r.step_pass_minutes_sq[0] == 4.0 * int(r.step_passed[0]) + 12.0 * second
    # the mean is (0.5 × 2 + 0.25 × 4) / 0.75 = 8/3: the share of second-attempt passers
    # among passers is 1/3, a binomial count
    n = int(r.step_passed[0])
    lo, hi = stats.binom.interval(0.999, n, 1 / 3)
    assert lo <= second <= hi
    assert step_values(r, scenario)["a"]["mean_time_in_step"] == pytest.approx(
        (2 * n + 2 * second) / n
    )


@pytest.mark.parametrize("engine", ["simpy", "fast"])
def test_minutes_through_an_m_m_1_queue_are_the_sojourn_time(engine):
    # M/M/1, λ = 0.5, μ = 1: the sojourn time (wait + service) is exponential with rate
    # μ − λ = 0.5, so its mean is 2 minutes and its mean square 8
    steps = [{"name": "q", "duration": {"dist": "exponential", "mean": 1}, "capacity": 1}]
    scenario = make_scenario(steps=steps, segments=ONE, horizon=20_000, arrivals={"rate": 0.5})
    simulate = simpy_engine.simulate if engine == "simpy" else fastpath.simulate
    means, squares = [], []
    for seed in range(8):
        r = simulate(scenario, np.random.SeedSequence(seed))
        means.append(r.step_pass_minutes[0] / r.step_passed[0])
        squares.append(r.step_pass_minutes_sq[0] / r.step_passed[0])
    for values, expected in ((means, 2.0), (squares, 8.0)):
        half = stats.t.ppf(0.9995, len(values) - 1) * np.std(values, ddof=1) / len(values) ** 0.5
        assert abs(np.mean(values) - expected) < half, (np.mean(values), expected, half)


def test_both_engines_count_the_same_minutes_on_the_bundled_baseline():
    scenario = load_scenario("scenarios/checkout_baseline.yaml")
    slow = simpy_engine.simulate(scenario, np.random.SeedSequence(11))
    fast = fastpath.simulate(scenario, np.random.SeedSequence(11))
    for name in ("step_passed", "step_pass_minutes", "step_pass_minutes_sq"):
        assert np.array_equal(getattr(slow, name), getattr(fast, name)), name
    assert (slow.step_passed > 0).all()


# ----------------------------------------------------------------------- funnel files


def three_steps():
    steps = [{"name": n, "duration": 1, "exit": 0.1} for n in "abc"]
    return make_scenario(steps=steps, horizon=1000, arrivals={"rate": 2})


@pytest.mark.parametrize(
    ("cell", "minutes"), [("1.5", 1.5), ("1m 30s", 1.5), ("0:01:30", 1.5), ("", None)]
)
def test_the_funnel_csv_reads_mean_minutes(cell, minutes):
    text = f"step,entered,completed,mean_minutes\na,100,80,{cell}\nb,80,60,\nc,60,50,2\n"
    funnel = parse_funnel(text, "o.csv", three_steps())
    assert [r.minutes for r in funnel.rows] == [minutes, None, 2.0]


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("soon", "o.csv:2:10: mean_minutes: expected minutes (a number, or like 1m 2s"),
        ("-2", "o.csv:2:10: mean_minutes: a time must not be negative (got -2)"),
        ("99999999", "o.csv:2:10: mean_minutes: at most 1.67e+07 minutes (got 99999999)"),
        ("9" * 12 + "s", "o.csv:2:10: mean_minutes: too long for a mean time"),
        ("50%", "o.csv:2:10: mean_minutes: expected minutes"),
    ],
)
def test_a_bad_mean_time_is_one_located_line(cell, message):
    text = f"step,entered,completed,mean_minutes\na,100,80,{cell}\nb,80,60,\nc,60,50,\n"
    with pytest.raises(ScenarioError) as err:
        parse_funnel(text, "o.csv", three_steps())
    assert str(err.value).startswith(message), str(err.value)


BASELINE = "scenarios/checkout_baseline.yaml"
#: The synthetic exports' times to convert are the baseline's mean minutes per step in
#: the simulation that made their counts (scenarios/data/README).
EXPORTS = ["posthog_funnel.csv", "amplitude_funnel.csv", "mixpanel_funnel.json"]


@pytest.mark.parametrize("name", EXPORTS)
def test_exports_give_each_step_the_time_to_convert_to_the_next(name):
    path = f"scenarios/data/exports/{name}"
    with open(path, encoding="utf-8") as f:
        funnel = parse_export(f.read(), path, load_scenario(BASELINE))
    minutes = {r.step: r.minutes for r in funnel.rows}
    # PostHog and Amplitude give the account row 45 s from the cart: the cart's time
    assert minutes["cart"] == pytest.approx(0.75, abs=0.01)
    assert minutes["review"] == pytest.approx(0.5, abs=0.01)  # to the purchase after it
    assert all(m is not None and m > 0 for m in minutes.values())


def test_ga4_reads_an_elapsed_time_column_when_it_is_there():
    text = (
        "Step,Active users,Abandonments,Elapsed time\n"
        "1. a,100,20,\n2. b,80,20,1m 6s\n3. c,60,10,30s\n4. purchase,50,,\n"
    )
    funnel = parse_export(text, "g.csv", three_steps(), "ga4")
    assert [r.minutes for r in funnel.rows] == [1.1, 0.5, None]


def test_a_bad_time_in_an_export_is_located():
    text = "name,breakdown_value,action_id,count,average_conversion_time (seconds)\n"
    text += "A,,a,100,\nB,,b,80,quick\nC,,c,60,12\n"
    with pytest.raises(ScenarioError) as err:
        parse_export(text, "p.csv", three_steps(), "posthog")
    assert str(err.value).startswith(
        "p.csv:3:9: average_conversion_time (seconds): expected a time"
    ), str(err.value)


def test_mixpanel_times_are_weighted_by_each_date_s_count():
    def day(counts, times):
        return {"steps": [{"count": c, "avg_time": t, "event": e}
                          for c, t, e in zip(counts, times, ["a", "b", "c", "purchase"])]}  # fmt: skip

    doc = {"data": {"d1": day([100, 80, 60, 50], [0, 60, 30, 10]),
                    "d2": day([100, 40, 30, 20], [0, 120, 30, 10])}}  # fmt: skip
    funnel = parse_export(json.dumps(doc), "m.json", three_steps(), "mixpanel")
    # a: (80 × 60 + 40 × 120) / 120 s = 80 s; b: 30 s
    assert [r.minutes for r in funnel.rows][:2] == [pytest.approx(80 / 60), pytest.approx(0.5)]


# ----------------------------------------------------------------------- calibrate


def two_steps(mean_b: float):
    steps = [
        {"name": "a", "duration": 1, "exit": 0.1},
        {"name": "b", "duration": {"dist": "lognormal", "mean": mean_b, "sd": mean_b / 2},
         "time_irritation": 0.5, "exit": 0.05},
    ]  # fmt: skip
    segments = [{"name": "all", "share": 1, "order_value": 50,
                 "tolerance": {"dist": "lognormal", "mean": 10, "sd": 5}}]  # fmt: skip
    return make_scenario(steps=steps, segments=segments, horizon=2000, arrivals={"rate": 2})


def timed_csv(scenario, seed):
    r = run_once(scenario, seed)
    done = r.step_entered - r.step_abandoned_friction - r.step_abandoned_exit
    rows = "".join(
        f"{s.name},{e},{c},{float(m / n)!r}\n"
        for s, e, c, m, n in zip(
            scenario.steps, r.step_entered, done, r.step_pass_minutes, r.step_passed
        )
    )
    return "step,entered,completed,mean_minutes\n" + rows


def test_recovers_a_step_duration_from_its_time_to_convert():
    truth, start = two_steps(3.0), two_steps(1.5)
    funnel = parse_funnel(timed_csv(truth, 1001), "observed.csv", start)
    result = cal.calibrate(start, funnel, fit="duration:b", seed=7, sample=5)
    assert [p.name for p in result.parameters] == ["steps.b.duration"]
    (value,), (se,) = result.values, result.standard_errors
    # the SE is that of a mean of ~3,000 lognormal times (sd ≈ 1.5): about 0.03 minutes
    assert 0.01 < se < 0.06
    # the simulation's own noise adds 1/sample of the data's variance
    assert abs(value - 3.0) < 3.29 * se * (1 + 1 / 5) ** 0.5
    assert result.scenario.steps[1].duration.expectation == pytest.approx(value)
    section = result.scenario.uncertainty.parameters[0]
    assert (section.path, section.scale) == ("steps.b.duration", "log")
    assert result.fit_rows[1]["observed_minutes"] == funnel.rows[1].minutes
    assert result.fit_rows[1]["simulated_minutes"] == pytest.approx(funnel.rows[1].minutes, 0.05)


@pytest.mark.parametrize(
    ("text", "fit", "message"),
    [
        ("step,entered,completed\na,100,80\nb,80,60\n", "duration",
         "--fit duration: o.csv gives no times"),
        ("step,entered,completed,mean_minutes\na,100,80,1\nb,80,60,\n", "duration:b",
         "--fit duration: step 'b' has no observed time in o.csv"),
    ],
)  # fmt: skip
def test_durations_without_times_are_refused(text, fit, message):
    start = two_steps(1.5)
    funnel = parse_funnel(text, "o.csv", start)
    with pytest.raises(CalibrationError, match=re.escape(message)):
        cal.free_parameters(start, funnel, fit)


def test_a_step_that_takes_no_time_has_no_duration_to_fit():
    start = make_scenario(steps=[{"name": "a"}, {"name": "b", "duration": 1}])
    funnel = parse_funnel("step,entered,completed,mean_minutes\na,10,8,1\nb,8,6,1\n", "o", start)
    with pytest.raises(CalibrationError, match="step 'a' takes no time"):
        cal.free_parameters(start, funnel, "duration")


def test_a_drawn_duration_scales_the_step_s_distribution():
    scenario = two_steps(2.0)
    data = scenario.model_dump(mode="json", exclude_none=True)
    data["uncertainty"] = {
        "parameters": [{"path": "steps.b.duration", "value": 2.0, "scale": "log"}],
        "covariance": [[0.01]],
    }
    drawn, values = cal.uncertain_scenario(
        type(scenario).model_validate(data), np.random.default_rng(1)
    )
    dur = drawn.steps[1].duration
    assert dur.expectation == pytest.approx(values[0])
    assert dur.variance**0.5 / dur.expectation == pytest.approx(0.5)  # the shape is kept


def test_a_drawn_duration_of_a_step_that_takes_no_time_is_refused(tmp_cwd):
    data = make_scenario(steps=[{"name": "a"}, {"name": "b", "duration": 1}]).model_dump(
        mode="json", exclude_none=True
    )
    data["uncertainty"] = {
        "parameters": [{"path": "steps.a.duration", "value": 1.0, "scale": "log"}],
        "covariance": [[0.01]],
    }
    (tmp_cwd / "u.yaml").write_text(json.dumps(data))
    for command in (["validate", "u.yaml"], ["run", "u.yaml", "--uncertainty", "-o", "o"]):
        result = CliRunner().invoke(cli, command)
        assert result.exit_code == 2
        assert result.output.strip().endswith(
            "uncertainty.parameters[0].path: step 'a' takes no time (duration 0): "
            "no duration to draw"
        ), result.output
    assert not (tmp_cwd / "o").exists()
    # ... and one made to take no time by --set is refused by the run
    result = CliRunner().invoke(cli, ["run", "u.yaml", "--uncertainty", "-o", "o", "--set",
                                      "steps.a.duration=0"])  # fmt: skip
    assert result.exit_code == 2


def calibrate_cli(folder, scenario, funnel, *options):
    """``frictionsim calibrate`` of ``scenario`` (written to ``s.yaml`` in ``folder``) to
    the funnel file ``funnel``, out to ``c.yaml``, on a wide terminal."""
    (folder / "s.yaml").write_text(json.dumps(scenario.model_dump(mode="json", exclude_none=True)))
    args = ["calibrate", "s.yaml", "--funnel", str(funnel), "--out", "c.yaml", *options]
    return CliRunner().invoke(cli, args, env={"COLUMNS": "200"})


def test_the_command_shows_observed_and_simulated_minutes(tmp_cwd):
    (tmp_cwd / "o.csv").write_text(timed_csv(two_steps(3.0), 1001))
    result = calibrate_cli(
        tmp_cwd, two_steps(1.5), "o.csv", "--fit", "duration:b", "--sample", "2", "--seed", "3"
    )
    assert result.exit_code == 0, result.output
    assert "simulated min" in result.output
    header = (tmp_cwd / "c.fit.csv").read_text().splitlines()[0]
    assert header.endswith(",observed_minutes,simulated_minutes")
    assert "steps.b.duration" in (tmp_cwd / "c.yaml").read_text()
    page = (tmp_cwd / "c.report.html").read_text()
    assert "Minutes to go on from a step" in page
    assert re.search(r"b \d\.\d+ vs \d\.\d+", page)


def test_the_squares_of_short_times_are_fine_enough_for_their_variance():
    # a step of 1.2 s ± 0.3 s: its variance, (0.005 min)², must come out of the sums
    # (at 1/1024 square minutes it rounded to 0). Bounds: 4 standard errors of a mean,
    # σ / √n, and of a variance, σ² √((β₂ − 1) / n), β₂ the lognormal's kurtosis
    m, sd = 0.02, 0.005
    steps = [{"name": "a", "duration": {"dist": "lognormal", "mean": "1.2s", "sd": "0.3s"}}]
    r = run_once(make_scenario(steps=steps, segments=ONE, horizon=1000, arrivals={"rate": 2}))
    n = int(r.step_passed[0])
    mean = r.step_pass_minutes[0] / n
    var = r.step_pass_minutes_sq[0] / n - mean**2
    s2 = math.log1p((sd / m) ** 2)
    kurtosis = math.exp(4 * s2) + 2 * math.exp(3 * s2) + 3 * math.exp(2 * s2) - 3
    assert abs(mean - m) < 4 * sd / math.sqrt(n)
    assert abs(var - sd**2) < 4 * sd**2 * math.sqrt((kurtosis - 1) / n)


def test_a_fixed_duration_is_not_fitted():
    start = make_scenario(steps=[{"name": "a", "duration": 1}, {"name": "b", "duration": 1}])
    funnel = parse_funnel("step,entered,completed,mean_minutes\na,10,8,2\nb,8,6,1\n", "o", start)
    with pytest.raises(CalibrationError, match="step 'a' has a fixed duration"):
        cal.free_parameters(start, funnel, "duration:a")


# ----------------------------------------------------------------------- review findings


@pytest.mark.parametrize(
    ("cell", "seconds"),
    [("1m 2s", 62.0), ("1d 3h", 97200.0), ("75:00", 4500.0), ("1:00:00.5", 3600.5),
     ("2,5m", 150.0), ("5 min", 300.0)],
)  # fmt: skip
def test_times_are_read_in_their_own_units(cell, seconds):
    assert parse_seconds(cell, "," if cell == "2,5m" else ".") == (seconds, None)


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("1m 2s 3s", "expected a time"),  # a unit twice
        ("2s 1m", "expected a time"),  # smallest first
        ("1h 1d", "expected a time"),
        ("1:2", "expected a time"),  # seconds of a clock have two digits
        ("1:99", "a clock time's minutes and seconds must be below 60 (got 1:99)"),
        ("0:99:30", "a clock time's minutes and seconds must be below 60"),
        ("1m" + "1" * 40_000 + "x", "expected a time"),  # refused unread, not a regex's hour
    ],
)
def test_malformed_times_are_refused(cell, message):
    value, problem = parse_seconds(cell)
    assert value is None
    assert problem.startswith(message), problem


def test_a_pass_rate_of_0_or_1_keeps_its_interval_around_it():
    for n in range(1, 5000):
        assert cal.wilson(n, n)[1] >= 1.0
        assert cal.wilson(0, n)[0] <= 0.0


def test_a_step_everyone_completes_is_fitted_and_drawn(tmp_cwd):
    truth = two_steps(3.0)
    text = timed_csv(truth, 1001).splitlines()
    name, entered, _, minutes = text[2].split(",")
    text[2] = f"{name},{entered},{entered},{minutes}"  # b: nobody lost
    (tmp_cwd / "o.csv").write_text("\n".join(text) + "\n")
    result = calibrate_cli(tmp_cwd, truth, "o.csv", "--fit", "exit:a", "--sample", "1")
    assert result.exit_code == 0, result.output
    assert (tmp_cwd / "c.fit.png").exists()


def test_a_mean_time_too_short_to_fit_is_refused_at_its_line():
    start = two_steps(1.5)
    funnel = parse_funnel("step,entered,completed,mean_minutes\na,10,8,1\nb,8,6,0\n", "o", start)
    with pytest.raises(CalibrationError, match=r"o:3: step 'b': a mean time to go on of 0 "):
        cal.free_parameters(start, funnel, "duration:b")


def test_a_trial_duration_beyond_a_scenario_s_limits_is_not_an_internal_error():
    # sd 9e11 minutes: scaled by the first simplex step it passes the 1e12 limit
    data = two_steps(2.0).model_dump(mode="json", exclude_none=True)
    data["steps"][1]["duration"] = {"dist": "lognormal", "mean": 2.0, "sd": 9e11}
    start = type(two_steps(2.0)).model_validate(data)
    funnel = parse_funnel(timed_csv(two_steps(3.0), 1001), "observed.csv", start)
    # the search stays inside; the standard error's step beyond it is one line
    with pytest.raises(CalibrationError, match=r"steps\.b\.duration: the fit ends next to what "
                       r"a scenario may hold \(steps\.b\.duration = [\d.]+ is beyond it\)"):  # fmt: skip
        cal.calibrate(start, funnel, fit="duration:b", seed=7, sample=1, max_evaluations=30)


def test_a_long_mean_time_is_warned_about():
    text = "step,entered,completed,mean_minutes\na,100,80,1\nb,80,60,5000\n"
    funnel = parse_funnel(text, "o.csv", two_steps(1.5))
    assert any("o.csv:3:1: mean_minutes: a mean time to go on from 'b' of 5000 minutes is "
               "longer than the scenario's horizon (2000 minutes)" in w for w in funnel.warnings)  # fmt: skip


def test_a_funnel_file_name_with_a_newline_stays_in_its_comment(tmp_cwd):
    funnel = tmp_cwd / "x\nseed: 99\n.csv"
    funnel.write_text(timed_csv(two_steps(3.0), 1001))
    result = calibrate_cli(tmp_cwd, two_steps(1.5), funnel, "--fit", "duration:b", "--sample", "1")
    assert result.exit_code == 0, result.output
    assert "\nseed: 99" not in (tmp_cwd / "c.yaml").read_text()
    assert CliRunner().invoke(cli, ["validate", "c.yaml"]).exit_code == 0


def test_a_file_with_a_utf8_bom_and_a_bad_byte_gets_no_latin1_hint(tmp_path):
    from frictionsim.funnel_data import load_funnel

    path = tmp_path / "o.csv"
    path.write_bytes(b"\xef\xbb\xbfstep,entered\ncaf\xe9,1\n")
    with pytest.raises(ScenarioError) as err:
        load_funnel(path, two_steps(1.5))
    assert "not UTF-8 text" in str(err.value)
    assert "Latin-1" not in str(err.value)
