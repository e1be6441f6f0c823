"""Calibration to an observed funnel: recovery of known parameters, identifiability,
funnel CSV problems, and the command line."""

from __future__ import annotations

import hashlib
import importlib
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from scipy import stats

from frictionsim.cli import cli
from frictionsim.errors import CalibrationError, ScenarioError
from frictionsim.execution import Execution
from frictionsim.funnel_data import load_funnel, parse_funnel
from frictionsim.report import fit_chart_png
from frictionsim.scenario import load_scenario

from .conftest import external_references, make_scenario, page_images, run_once, scenario_dict

#: The module (``frictionsim.studies.calibrate`` is also the name of its function).
cal = importlib.import_module("frictionsim.studies.calibrate")

TOLERANCE = {"dist": "lognormal", "mean": 10, "sd": 8}


def three_steps(exits, irritations, horizon=1000, **changes):
    """Three steps a -> b -> c, 2 arrivals a minute (2,000 visitors in 1,000 minutes)."""
    steps = [{"name": n, "irritation": i, "exit": e} for n, e, i in zip("abc", exits, irritations)]
    segments = [{"name": "all", "share": 1, "tolerance": TOLERANCE, "order_value": 50}]
    fields = {"horizon": horizon, "arrivals": {"rate": 2}, "steps": steps, "segments": segments}
    return make_scenario(**{**fields, **changes})


def observed_csv(scenario, seed):
    """One replication of ``scenario`` as an analytics export: step,entered,completed."""
    r = run_once(scenario, seed)
    done = r.step_entered - r.step_abandoned_friction - r.step_abandoned_exit
    names = [s.name for s in scenario.steps]
    return "step,entered,completed\n" + "".join(
        f"{n},{e},{c}\n" for n, e, c in zip(names, r.step_entered, done)
    )


TRUE_EXITS = [0.2, 0.1, 0.15]
TRUE_IRRITATIONS = [1.0, 2.0, 1.5]


@pytest.fixture(scope="module")
def truth_csv():
    # 6,000 "observed" visitors with seed 1001; calibration simulates with seed 7
    # (independent draws), in replications of 2,000 visitors
    return observed_csv(three_steps(TRUE_EXITS, TRUE_IRRITATIONS, horizon=3000), 1001)


#: Half-width, in standard errors, of a two-sided interval with a 1e-4 false-alarm rate.
Z_1E4 = float(stats.norm.isf(0.5e-4))


def assert_recovered(result, truth, max_se):
    for p, value, se, true in zip(result.parameters, result.values, result.standard_errors, truth):
        assert 0 < se < max_se, f"{p.name}: SE {se} too large for the check to have power"
        # the truth within the two-sided 1e-4 normal interval of the fitted value
        assert abs(value - true) <= Z_1E4 * se, f"{p.name}: {value} ± {se}, truth {true}"
    assert result.warnings == []


@pytest.mark.slow
def test_recovers_exits_at_three_steps(truth_csv):
    start = three_steps([0.3, 0.05, 0.1], TRUE_IRRITATIONS)
    funnel = parse_funnel(truth_csv, "observed.csv", start)
    result = cal.calibrate(start, funnel, fit="exit", seed=7, sample=5)
    assert result.simulated_visitors >= 5 * funnel.visitors
    # SE of an exit from ~4,000-6,000 entries is about 0.006; 0.01 still detects a 0.03 miss
    assert_recovered(result, TRUE_EXITS, max_se=0.01)


def test_calibration_evaluations_share_one_pool(truth_csv, monkeypatch):
    """Every evaluation of a fit runs on the one pool of its command, started once, and
    the fit is the one a single process makes."""
    from frictionsim import execution

    monkeypatch.setattr(execution, "SERIAL_BELOW_CUSTOMERS", 0)  # really use the pool
    start = three_steps([0.3, 0.05, 0.1], TRUE_IRRITATIONS, horizon=300)
    funnel = parse_funnel(truth_csv, "observed.csv", start)
    with Execution(jobs=2) as ex:
        pooled = cal.calibrate(start, funnel, fit="exit:a", seed=7, sample=2, execution=ex)
        assert isinstance(ex.executor, execution.LocalExecutor)
        assert ex.executor.pools_started == 1
        assert ex.done > 3  # several evaluations went through that pool
    serial = cal.calibrate(start, funnel, fit="exit:a", seed=7, sample=2, jobs=1)
    assert pooled.values == serial.values


@pytest.mark.slow
def test_recovers_irritation_at_two_steps(truth_csv):
    start = three_steps(TRUE_EXITS, [1.0, 0.5, 4.0])
    funnel = parse_funnel(truth_csv, "observed.csv", start)
    result = cal.calibrate(start, funnel, fit="irritation:b+c", seed=7, sample=5)
    assert [p.name for p in result.parameters] == ["steps.b.irritation", "steps.c.irritation"]
    assert_recovered(result, TRUE_IRRITATIONS[1:], max_se=0.2)


def with_errors(p_b: float, horizon: float = 1000):
    """``three_steps`` with a failing attempt at b (chance ``p_b``, two attempts)."""
    scenario = three_steps(TRUE_EXITS, TRUE_IRRITATIONS, horizon=horizon)
    data = scenario.model_dump(mode="json", exclude_none=True)
    data["steps"][1]["errors"] = {"p": p_b, "irritation": 3, "max_attempts": 2}
    return type(scenario).model_validate(data)


def test_recovers_an_error_rate():
    truth = with_errors(0.3, horizon=3000)
    start = with_errors(0.1)
    funnel = parse_funnel(observed_csv(truth, 1001), "observed.csv", start)
    result = cal.calibrate(start, funnel, fit="errors:b", seed=7, sample=5)
    assert [p.name for p in result.parameters] == ["steps.b.errors.p"]
    assert_recovered(result, [0.3], max_se=0.05)
    section = result.scenario.uncertainty.parameters[0]
    assert (section.path, section.scale) == ("steps.b.errors.p", "logit")


@pytest.mark.parametrize(
    ("fit", "message"),
    [
        ("errors:a", "step 'a' has no `errors` to fit"),
        ("errors:b,exit:b", "cannot fit both errors and exit at step(s) b"),
    ],
)
def test_errors_that_cannot_be_fitted_are_refused(fit, message):
    start = with_errors(0.1)
    funnel = parse_funnel("step,entered,completed\na,100,\nb,80,\nc,60,50\n", "o.csv", start)
    with pytest.raises(CalibrationError, match=re.escape(message)):
        cal.free_parameters(start, funnel, fit)


def test_fits_the_arrival_rate_from_the_first_step_s_entries():
    truth = three_steps(TRUE_EXITS, TRUE_IRRITATIONS, arrivals={"rate": 2.5})
    start = three_steps([0.3, 0.1, 0.15], TRUE_IRRITATIONS)
    text = observed_csv(truth, 1001)
    entries = int(text.splitlines()[1].split(",")[1])
    funnel = parse_funnel(text, "observed.csv", start)
    result = cal.calibrate(start, funnel, fit="rate,exit:a", seed=7, sample=2)
    assert [p.name for p in result.parameters] == ["arrivals.rate", "steps.a.exit"]
    # the Poisson estimate: the scenario's rate times observed over expected entries
    assert result.values[0] == pytest.approx(2 * entries / start.expected_visitors, rel=1e-12)
    assert result.standard_errors[0] == pytest.approx(result.values[0] / entries**0.5)
    assert abs(result.values[0] - 2.5) <= Z_1E4 * result.standard_errors[0]
    assert result.scenario.arrivals.rate == result.values[0]
    unc = result.scenario.uncertainty
    assert unc.parameters[0].path == "arrivals.rate"
    assert unc.covariance[0][0] == pytest.approx(1 / entries)
    assert unc.covariance[0][1] == 0.0  # independent of the pass rates
    with pytest.raises(CalibrationError, match="the rate alone needs no simulation"):
        cal.calibrate(start, funnel, fit="rate", seed=7, sample=2)
    no_first = parse_funnel("step,entered,completed\nb,800,\nc,700,600\n", "o.csv", start)
    with pytest.raises(CalibrationError, match="no entries at the first step 'a'"):
        cal.calibrate(start, no_first, fit="rate,exit:b", seed=7, sample=2)


def test_recovers_the_tolerance_scale():
    # truth: every tolerance 1.5 times the scenario's (lognormal mean 15, sd 12)
    wider = {"dist": "lognormal", "mean": 15, "sd": 12}
    segments = [{"name": "all", "share": 1, "tolerance": wider, "order_value": 50}]
    truth = three_steps(TRUE_EXITS, TRUE_IRRITATIONS, horizon=3000, segments=segments)
    start = three_steps(TRUE_EXITS, TRUE_IRRITATIONS)
    funnel = parse_funnel(observed_csv(truth, 1001), "observed.csv", start)
    result = cal.calibrate(start, funnel, fit="tolerance", seed=7, sample=5)
    assert [p.name for p in result.parameters] == ["tolerance scale"]
    assert_recovered(result, [1.5], max_se=0.15)
    assert result.scenario.segments[0].tolerance.mean == pytest.approx(10 * result.values[0])


def test_same_seed_gives_the_same_calibration(truth_csv):
    start = three_steps(TRUE_EXITS, TRUE_IRRITATIONS)
    funnel = parse_funnel(truth_csv, "observed.csv", start)
    runs = [
        cal.calibrate(start, funnel, fit="exit:a", seed=3, sample=1, max_evaluations=12)
        for _ in range(2)
    ]
    assert runs[0].values == runs[1].values
    assert runs[0].fit_rows == runs[1].fit_rows


def test_tolerance_scale_multiplies_every_draw():
    base = make_scenario(
        segments=[
            {"name": "x", "share": 0.5, "tolerance": TOLERANCE, "order_value": 1},
            {
                "name": "y",
                "share": 0.5,
                "tolerance": {"dist": "uniform", "low": 2, "high": 4},
                "order_value": 1,
            },
        ]
    )
    param = cal.Parameter("tolerance", None, 1.0)
    scaled = cal.with_parameters(base, [param], [2.0])
    rng = [np.random.default_rng(5) for _ in range(4)]
    for k in range(2):
        a = base.segments[k].tolerance.sample(rng[2 * k], 1000)
        b = scaled.segments[k].tolerance.sample(rng[2 * k + 1], 1000)
        np.testing.assert_allclose(b, 2 * a, rtol=1e-12)


# ---------------------------------------------------------------- identifiability


def test_exit_and_irritation_at_the_same_step_are_refused(truth_csv):
    start = three_steps(TRUE_EXITS, TRUE_IRRITATIONS)
    funnel = parse_funnel(truth_csv, "observed.csv", start)
    with pytest.raises(CalibrationError, match=r"both exit and irritation at step\(s\) a, b, c"):
        cal.free_parameters(start, funnel, "exit,irritation")
    # fixing one of them at each step is allowed
    params = cal.free_parameters(start, funnel, "exit:a+b,irritation:c")
    assert [p.name for p in params] == ["steps.a.exit", "steps.b.exit", "steps.c.irritation"]


def test_an_empty_funnel_is_refused():
    start = three_steps(TRUE_EXITS, TRUE_IRRITATIONS)
    empty = parse_funnel("step,entered,completed\na,0,0\nb,0,0\nc,0,0\n", "empty.csv", start)
    with pytest.raises(CalibrationError, match="every step has 0 entries"):
        cal.calibrate(start, empty, "exit")


def test_near_singular_information_names_the_parameters_that_move_together():
    params = [
        cal.Parameter("tolerance", None, 1),
        cal.Parameter("irritation", "a", 1),
        cal.Parameter("irritation", "b", 1),
        cal.Parameter("exit", "c", 0.1),
    ]
    # Jacobian columns: tolerance = -(irritation a + irritation b); exit c on its own
    jac = np.array([[-1.0, 0.5, 0.5, 0.0], [-2.0, 1.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    jac[1, 1] += 0.3  # a and b are told apart by the second step
    jac[1, 2] -= 0.3
    jac[:, 0] = -(jac[:, 1] + jac[:, 2])
    info = jac.T @ np.diag([1000.0, 800.0, 600.0]) @ jac
    _, warnings = cal._near_singular(info, params)
    assert len(warnings) == 1
    assert "tolerance scale, steps.a.irritation, steps.b.irritation" in warnings[0]
    assert "steps.c.exit" not in warnings[0]
    cov, warnings = cal._near_singular(np.diag([100.0, 50.0, 20.0, 10.0]), params)
    assert warnings == []
    np.testing.assert_allclose(np.diag(cov), [0.01, 0.02, 0.05, 0.1])


def test_tolerance_with_every_irritation_is_flagged_as_unidentifiable(truth_csv):
    # no form fields and no other irritation: scaling tolerance and every irritation
    # together leaves every customer's fate unchanged
    start = three_steps(TRUE_EXITS, TRUE_IRRITATIONS, horizon=500)
    funnel = parse_funnel(truth_csv, "observed.csv", start)
    result = cal.calibrate(
        start, funnel, fit="irritation,tolerance", seed=3, sample=1, max_evaluations=10
    )
    flagged = [w for w in result.warnings if "near-singular" in w]
    assert flagged
    for name in ("tolerance scale", "steps.a.irritation", "steps.b.irritation"):
        assert name in flagged[0]


# ---------------------------------------------------------------- funnel CSV problems


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("step,entered\n", "funnel.csv:1:1: (file): no rows of counts"),
        ("", "funnel.csv:1:1: (file): empty; expected a header"),
        ("step,enterd\na,10\n", "funnel.csv:1:6: enterd: unknown column 'enterd' (did you mean"),
        ("step,completed\na,10\n", "funnel.csv:1:1: entered: missing required column"),
        (
            "step,entered,completed\ncart,10,5\n",
            "funnel.csv:2:1: step: no step named 'cart' in scenario 'micro'",
        ),
        (
            "step,entered,completed\nbb,10,5\n",
            "no step named 'bb' in scenario 'micro' (did you mean 'b'?)",
        ),
        (
            "step,entered,completed\na,-3,0\n",
            "funnel.csv:2:3: entered: must not be negative (got -3)",
        ),
        ("step,entered,completed\na,ten,0\n", "funnel.csv:2:3: entered: expected a whole number"),
        (
            "step,entered,completed\na,10,12\n",
            "funnel.csv:2:6: completed: completed (12) exceeds entered (10)",
        ),
        ("step,entered,completed\na,10,5,1\n", "funnel.csv:2:1: (row): has 4 fields"),
        (
            "step,entered\na,10\nb,12\n",
            "funnel.csv:3:3: entered: more visitors entered 'b' (12) than entered 'a' (10)",
        ),
        (
            "step,entered\na,10\nb,8\nc,6\n",
            "funnel.csv:4:4: completed: empty, and 'c' is the last step",
        ),
        (
            "step,entered,completed\na,10,5\na,10,5\n",
            "funnel.csv:3:1: step: step 'a' repeats line 2",
        ),
        (
            "segment,step,entered,completed\nmobil,a,10,5\n",
            "funnel.csv:2:1: segment: no segment named 'mobil' in scenario 'micro' (did you mean 'mobile'?)",
        ),
    ],
)
def test_funnel_problems_are_located(text, expected):
    scenario = three_steps(
        TRUE_EXITS,
        TRUE_IRRITATIONS,
        segments=[
            {"name": "mobile", "share": 0.5, "tolerance": 5, "order_value": 1},
            {"name": "desktop", "share": 0.5, "tolerance": 5, "order_value": 1},
        ],
    )
    with pytest.raises(ScenarioError) as info:
        parse_funnel(text, "funnel.csv", scenario)
    assert expected in str(info.value)


def test_entries_above_the_completions_before_are_an_open_funnel_with_a_warning():
    # a closed funnel cannot have them; with each step's completions given, they are
    # visitors joining mid-way, and each step's pass rate is its own
    funnel = parse_funnel(
        "step,entered,completed\na,10,5\nb,7,3\nc,3,2\n",
        "funnel.csv",
        three_steps(TRUE_EXITS, TRUE_IRRITATIONS),
    )
    assert [(r.entered, r.completed) for r in funnel.rows] == [(10, 5), (7, 3), (3, 2)]
    (warning,) = funnel.warnings
    assert warning.startswith(
        "funnel.csv:3:3: entered: more visitors entered 'b' (7) than completed 'a' (5), and "
        "only 'a' leads there: read as an open funnel"
    )


def test_completions_come_from_the_next_step_and_comments_are_skipped():
    scenario = three_steps(TRUE_EXITS, TRUE_IRRITATIONS)
    text = "# export\nstep,entered,completed\n# 2026-11\na,100,\n\nb,80,\nc,60,50\n"
    funnel = parse_funnel(text, "f.csv", scenario)
    assert [(r.step, r.entered, r.completed, r.line) for r in funnel.rows] == [
        ("a", 100, 80, 4),
        ("b", 80, 60, 6),
        ("c", 60, 50, 7),
    ]
    assert funnel.visitors == 100


def test_per_segment_counts_add_up_to_the_totals():
    scenario = three_steps(
        TRUE_EXITS,
        TRUE_IRRITATIONS,
        horizon=300,
        segments=[
            {"name": "mobile", "share": 0.6, "tolerance": TOLERANCE, "order_value": 1},
            {"name": "desktop", "share": 0.4, "tolerance": 20, "order_value": 1},
        ],
    )
    with Execution(1) as ex:
        per = cal._simulate_funnel(scenario, 4, 2, ex, by_segment=True)
        total = cal._simulate_funnel(scenario, 4, 2, ex)
    np.testing.assert_array_equal(per.entered.sum(axis=0), total.entered[0])
    np.testing.assert_array_equal(per.completed.sum(axis=0), total.completed[0])
    assert per.entered[0, 0] > per.entered[1, 0] > 0


# ---------------------------------------------------------------- command line


@pytest.fixture
def files(tmp_cwd):
    scenario = scenario_dict(
        name="tiny",
        horizon=500,
        arrivals={"rate": 2},
        segments=[{"name": "all", "share": 1, "tolerance": TOLERANCE, "order_value": 50}],
        steps=[
            {"name": n, "irritation": i, "exit": e}
            for n, e, i in zip("abc", TRUE_EXITS, TRUE_IRRITATIONS)
        ],
    )
    path = tmp_cwd / "tiny.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False))
    funnel = tmp_cwd / "observed.csv"
    funnel.write_text("step,entered,completed\na,1000,\nb,790,\nc,700,600\n")
    return path, funnel


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_cli_writes_a_loadable_calibrated_scenario_with_fit_files(files, tmp_cwd):
    scenario, funnel = files
    args = ("calibrate", scenario, "--funnel", funnel, "--fit", "exit:a", "--sample", 1)
    result = invoke(*args, "--max-evaluations", 10, "--out", "cal/calibrated.yaml")
    assert result.exit_code == 0, result.output
    out = tmp_cwd / "cal" / "calibrated.yaml"
    text = out.read_text()
    digest = hashlib.sha256(funnel.read_bytes()).hexdigest()
    assert f"# to the observed funnel: {funnel}\n#   sha256 {digest}\n" in text
    assert "# seed 7, " in text
    assert re.search(r"#   steps\.a\.exit = 0\.\d+ ± 0\.\d+", text)
    loaded = load_scenario(out)
    assert loaded.steps[0].exit != TRUE_EXITS[0]  # fitted, written back
    assert loaded.steps[1].exit == TRUE_EXITS[1]  # left alone
    rows = (tmp_cwd / "cal" / "calibrated.fit.csv").read_text().splitlines()
    assert rows[0].startswith("segment,step,observed_entered,observed_completed,observed_rate")
    assert len(rows) == 4
    assert rows[0].endswith(",fitted,observed_minutes,simulated_minutes")
    assert rows[1].startswith(",a,1000,790,")
    cells = [r.split(",") for r in rows]
    # a: exit fitted; no observed time, the simulated one given (each step takes no time)
    assert cells[1][-3:] == ["exit", "", "0.0"]
    assert cells[2][-3] == ""  # b: nothing fitted
    png = (tmp_cwd / "cal" / "calibrated.fit.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    page = (tmp_cwd / "cal" / "calibrated.report.html").read_text()  # one file, chart inside
    assert [data for _, data, _ in page_images(page)] == [png]
    assert external_references(page) == []
    assert re.search(r"<strong>steps\.a\.exit</strong> = 0\.\d+ ± 0\.\d+", page)
    assert "<strong>Goodness of fit</strong>: deviance " in page
    assert cal.written_by_calibrate(tmp_cwd / "cal" / "calibrated.report.html")
    assert "pass rate per step" in result.output
    assert not [p for p in (tmp_cwd / "cal").iterdir() if p.name.startswith(".")]


def test_fit_chart_is_byte_identical_for_identical_rows():
    rows = [
        {
            "segment": "",
            "step": s,
            "observed_entered": 100,
            "observed_rate": 0.8,
            "observed_ci_low": 0.71,
            "observed_ci_high": 0.87,
            "simulated_rate": 0.78,
            "simulated_ci_low": 0.75,
            "simulated_ci_high": 0.81,
        }
        for s in "abc"
    ]
    assert fit_chart_png(rows, "t") == fit_chart_png(rows, "t")


def test_cli_refuses_to_overwrite_an_input(files):
    scenario, funnel = files
    result = invoke("calibrate", scenario, "--funnel", funnel, "--out", scenario)
    assert result.exit_code == 2
    assert "would overwrite the input" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("kind", ["fifo", "link", "socket"])
def test_cli_never_replaces_what_is_not_a_file_even_with_force(files, tmp_cwd, kind):
    """A pipe, a link or a device where a written file would go is refused before the
    fit, with or without --force: it is never replaced by a regular file."""
    import os

    scenario, funnel = files
    out = tmp_cwd / "cal.yaml"
    target = tmp_cwd / "cal.fit.png"  # a companion file: refused as well as the scenario
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "link":
        (tmp_cwd / "mine.txt").write_text("mine")
        target.symlink_to("mine.txt")
    else:  # (not /dev/null: a regression must not replace the machine's)
        import socket

        server = socket.socket(socket.AF_UNIX)
        server.bind("cal.fit.png")  # relative: the socket path limit is ~108 bytes
        server.close()
    result = invoke("calibrate", scenario, "--funnel", funnel, "--fit", "exit:a", "--out", out,
                    "--force", "--max-evaluations", 10)  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "not a file frictionsim may replace" in result.output
    assert result.output.count("\n") == 1
    assert not os.path.lexists(out)  # refused before the fit: nothing written
    if kind == "link":
        assert target.is_symlink()
        assert (tmp_cwd / "mine.txt").read_text() == "mine"
    if kind == "socket":
        assert target.is_socket()


def test_cli_refuses_a_name_too_long_before_the_fit(files, tmp_cwd):
    scenario, funnel = files
    out = "a" * 250 + ".yaml"  # its .report.html would be 262 bytes
    result = invoke("calibrate", scenario, "--funnel", funnel, "--fit", "exit:a", "--out", out)
    assert result.exit_code == 1, result.output
    assert "the file name is too long" in result.output
    assert list(tmp_cwd.glob("a*")) == []


def test_a_full_disk_leaves_no_calibrated_scenario_without_its_fit(files, tmp_cwd, monkeypatch):
    """The four files are written all or none: a disk that fills up at the chart leaves
    none of them (and no temporary file)."""
    import errno

    scenario, funnel = files
    real = Path.write_bytes

    def full_at_the_chart(self, data):
        if ".fit.png" in self.name:
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full_at_the_chart)
    result = invoke("calibrate", scenario, "--funnel", funnel, "--fit", "exit:a", "--sample", 1,
                    "--max-evaluations", 10, "--out", "cal/c.yaml")  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "no space left on device while writing cal/c.fit.png" in result.output
    assert sorted(p.name for p in (tmp_cwd / "cal").iterdir()) == []


def test_cli_refuses_an_empty_out_in_one_line(files):
    scenario, funnel = files
    result = invoke("calibrate", scenario, "--funnel", funnel, "--out", "")
    assert result.exit_code == 1, result.output
    assert "give a file name such as calibrated.yaml" in result.output
    assert "internal error" not in result.output


def test_cli_refuses_exit_and_irritation_at_the_same_step(files):
    scenario, funnel = files
    result = invoke(
        "calibrate", scenario, "--funnel", funnel, "--fit", "exit,irritation", "--out", "o.yaml"
    )
    assert result.exit_code == 2
    assert "cannot fit both exit and irritation at step(s) a, b, c" in result.output
    assert "Traceback" not in result.output


def test_cli_reports_funnel_problems_with_their_lines(files):
    scenario, funnel = files
    funnel.write_text("step,entered,completed\naa,1000,\nb,-790,\nc,700,800\n")
    result = invoke("calibrate", scenario, "--funnel", funnel, "--out", "o.yaml")
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert f"{funnel}:2:1: step: no step named 'aa' in scenario 'tiny' (did you mean 'a'?)" in lines
    assert f"{funnel}:3:3: entered: must not be negative (got -790)" in lines
    assert f"{funnel}:4:7: completed: completed (800) exceeds entered (700)" in lines
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("--fit", "exits"), "unknown parameter kind 'exits' (did you mean 'exit'?)"),
        (("--steps", "bb"), "--steps: no step named 'bb' (did you mean 'b'?)"),
        (("--fit", "tolerance:a"), "takes no steps"),
    ],
)
def test_cli_refuses_bad_fit_options(files, options, message):
    scenario, funnel = files
    result = invoke("calibrate", scenario, "--funnel", funnel, *options, "--out", "o.yaml")
    assert result.exit_code == 2
    assert message in result.output


BASELINE = Path(__file__).parent.parent / "scenarios" / "checkout_baseline.yaml"
EXAMPLE = Path(__file__).parent.parent / "scenarios" / "data" / "observed_funnel.csv"


def test_bundled_observed_funnel_fits_the_baseline_scenario():
    funnel = load_funnel(EXAMPLE, load_scenario(BASELINE))
    assert [(r.step, r.entered, r.completed) for r in funnel.rows][-2:] == [
        ("payment", 4062, 3997),
        ("review", 3997, 3617),
    ]
    assert funnel.sha256 == hashlib.sha256(EXAMPLE.read_bytes()).hexdigest()


def test_cli_fits_per_segment_rows(files, tmp_cwd):
    scenario, funnel = files
    data = yaml.safe_load(scenario.read_text())
    data["segments"] = [
        {"name": "mobile", "share": 0.6, "tolerance": TOLERANCE, "order_value": 1},
        {"name": "desktop", "share": 0.4, "tolerance": 20, "order_value": 1},
    ]
    scenario.write_text(yaml.safe_dump(data, sort_keys=False))
    funnel.write_text(
        "segment,step,entered,completed\n"
        "desktop,a,400,\ndesktop,b,330,300\n"
        "mobile,a,600,\nmobile,b,450,380\n"
    )
    args = ("calibrate", scenario, "--funnel", funnel, "--sample", 1, "--max-evaluations", 10)
    result = invoke(*args, "--fit", "exit:a", "--out", "seg.yaml")
    assert result.exit_code == 0, result.output
    rows = (tmp_cwd / "seg.fit.csv").read_text().splitlines()
    assert [r.split(",")[:3] for r in rows[1:]] == [
        ["mobile", "a", "600"],
        ["mobile", "b", "450"],
        ["desktop", "a", "400"],
        ["desktop", "b", "330"],
    ]


def test_per_segment_rows_need_a_checkout_without_branches():
    steps = [
        {"name": "a", "next": [{"to": "b", "p": 0.5}, {"to": "c", "p": 0.5}]},
        {"name": "b", "next": "c"},
        {"name": "c"},
    ]
    scenario = make_scenario(steps=steps)
    funnel = parse_funnel("segment,step,entered,completed\nall,a,10,9\n", "f.csv", scenario)
    with pytest.raises(CalibrationError, match="per-segment rows need a checkout"):
        cal.calibrate(scenario, funnel, fit="exit")


def test_the_calibrated_scenario_gets_its_own_name(files, tmp_cwd):
    scenario, funnel = files
    args = ("calibrate", scenario, "--funnel", funnel, "--fit", "exit:a", "--sample", 1)
    result = invoke(*args, "--max-evaluations", 10, "--out", "cal.yaml", "-q")
    assert result.exit_code == 0, result.output
    text = (tmp_cwd / "cal.yaml").read_text()
    assert text.startswith("# calibrated scenario 'tiny-calibrated', written by frictionsim")
    assert load_scenario(tmp_cwd / "cal.yaml").name == "tiny-calibrated"
    assert cal.calibrated_name("x" * 80) == "x" * 69 + "-calibrated"  # names have 80 characters
    # a second calibration replaces its own files without --force
    result = invoke(*args, "--max-evaluations", 10, "--out", "cal.yaml", "-q", "--seed", 3)
    assert result.exit_code == 0, result.output
    assert "# seed 3, " in (tmp_cwd / "cal.yaml").read_text()


@pytest.mark.parametrize("which", ["cal.yaml", "cal.fit.csv", "cal.fit.png", "cal.report.html"])
def test_a_file_calibrate_did_not_write_is_replaced_only_with_force(files, tmp_cwd, which):
    scenario, funnel = files
    (tmp_cwd / which).write_text("name: my-hand-made-scenario\n")
    args = ("calibrate", scenario, "--funnel", funnel, "--fit", "exit:a", "--sample", 1)
    result = invoke(*args, "--max-evaluations", 10, "--out", "cal.yaml")
    assert result.exit_code == 1
    assert result.output == (
        f"error: {which}: exists and was not written by frictionsim calibrate; add --force "
        "to replace it, or choose another --out\n"
    )
    assert (tmp_cwd / which).read_text() == "name: my-hand-made-scenario\n"
    result = invoke(*args, "--max-evaluations", 10, "--out", "cal.yaml", "--force", "-q")
    assert result.exit_code == 0, result.output
    assert cal.written_by_calibrate(tmp_cwd / which)


def test_fits_the_arrival_profile_to_hourly_entries(tmp_cwd):
    from frictionsim.funnel_data import parse_hourly

    truth = [0.5] * 8 + [1.5] * 8 + [1.0] * 8  # mean 1
    rng = np.random.default_rng(4)
    counts = rng.poisson(np.asarray(truth) * 300)
    text = "hour,entered\n" + "".join(f"{h},{n}\n" for h, n in enumerate(counts))
    hourly = parse_hourly(text, "hourly.csv")
    start = three_steps(TRUE_EXITS, TRUE_IRRITATIONS)
    funnel = parse_funnel(observed_csv(start, 1001), "observed.csv", start)
    result = cal.calibrate(start, funnel, fit="exit:a", seed=7, sample=1, hourly=hourly)
    profile, se = np.asarray(result.profile), np.asarray(result.profile_se)
    assert profile.mean() == pytest.approx(1.0)
    assert np.all(np.abs(profile - truth) <= Z_1E4 * se)
    assert result.scenario.arrivals.profile == tuple(profile)
    scenario_file = tmp_cwd / "tiny.yaml"
    scenario_file.write_text(yaml.safe_dump(start.model_dump(mode="json", exclude_none=True)))
    (tmp_cwd / "observed.csv").write_text(observed_csv(start, 1001))
    (tmp_cwd / "hourly.csv").write_text(text)
    args = ("calibrate", scenario_file, "--funnel", "observed.csv", "--fit", "exit:a",
            "--sample", 1, "--max-evaluations", 10, "--out", "cal.yaml")  # fmt: skip
    ok = invoke(*args, "--hourly", "hourly.csv")
    assert ok.exit_code == 0, ok.output
    assert "arrivals.profile fitted to the hourly entries" in (tmp_cwd / "cal.yaml").read_text()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hour,visits\n0,1\n", "missing column(s) entered"),
        ("hour,entered\n0,1\n0,2\n", "hour 0 is listed twice"),
        ("hour,entered\n24,1\n", "expected an hour 0-23"),
        ("hour,entered\n" + "".join(f"{h},1\n" for h in range(23)), "missing: 23"),
        ("hour,entered\n" + "".join(f"{h},0\n" for h in range(24)), "no visitors in any hour"),
        ("hour;entered\n0;1\n", "missing"),
        ("hour,entered\n0,-3\n", "must not be negative"),
    ],
)
def test_bad_hourly_entries_are_located(text, message):
    from frictionsim.funnel_data import parse_hourly

    with pytest.raises(ScenarioError, match=re.escape(message)):
        parse_hourly(text, "hourly.csv")
