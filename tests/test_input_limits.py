"""Whatever ``validate`` accepts, ``run`` runs or refuses with one clear line.

Regression tests of the input side: a scenario that validates must run on
both engines without a traceback, a hang or gigabytes of memory, and a value
the engines cannot run must be refused by validation with a located message
that names the bound.
"""

from __future__ import annotations

import os
import threading
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from frictionsim.cli import cli
from frictionsim.errors import ScenarioError
from frictionsim.scenario import parse_scenario
from frictionsim.sim import fastpath
from frictionsim.sim.simpy_engine import simulate
from frictionsim.sim.streams import arrival_bin_width, arrival_bins
from frictionsim.userfiles import read_user_file

from .conftest import make_scenario, one_segment, run_once, scenario_dict


def _long_flow(n: int) -> dict:
    return {
        "steps": [{"name": f"s{i}", "irritation": 0.01} for i in range(n)],
        "segments": one_segment({"dist": "exponential", "mean": 5}),
        "horizon": 10,
    }


def test_a_flow_of_a_thousand_steps_validates_and_runs_on_both_engines(tmp_path):
    path = tmp_path / "long.yaml"
    path.write_text(yaml.safe_dump(scenario_dict(**_long_flow(1000))))
    runner = CliRunner()
    assert runner.invoke(cli, ["validate", str(path)]).exit_code == 0
    for engine in ("simpy", "fast"):
        out = tmp_path / engine
        args = ["run", str(path), "-r", "2", "--engine", engine, "--no-charts", "-q"]
        result = runner.invoke(cli, [*args, "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert (out / "summary.json").is_file()


def test_loops_are_found_in_long_flows_without_recursion():
    data = _long_flow(999)
    assert not make_scenario(**data).flow.has_cycle
    # the last step goes back to the first half the time: a loop 1000 steps long
    data["steps"][-1]["next"] = [{"to": "s0", "p": 0.5}, {"to": "end", "p": 0.5}]
    data["steps"].append({"name": "end"})
    assert make_scenario(**data).flow.has_cycle


# ------------------------------------------------------------------ --set paths


def _problems(text: str, overrides: list[str] = ()) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "t.yaml", overrides)
    return [str(p) for p in info.value.problems]


def test_a_step_name_wins_over_an_index_in_set_paths():
    text = yaml.safe_dump(scenario_dict(steps=[{"name": "2"}, {"name": "1"}, {"name": "0"}]))
    changed = parse_scenario(text, "t.yaml", ["steps.1.irritation=5", "steps.0.fields=2"])
    assert [(s.name, s.irritation, s.fields) for s in changed.steps] == [
        ("2", 0, 0),
        ("1", 5, 0),
        ("0", 0, 2),
    ]
    # an index still works where no item has that name
    other = parse_scenario(text, "t.yaml", ["steps.2.irritation=1", "segments.0.sensitivity=2"])
    assert [s.irritation for s in other.steps] == [1, 0, 0]
    assert other.segments[0].sensitivity == 2


@pytest.mark.parametrize("segment", ["²", "٣", "１", "0x1", "+1", " 1"])
def test_only_ascii_digits_are_an_index_in_set_paths(segment):
    text = yaml.safe_dump(scenario_dict())
    note = next((f"; '{c}' (U+{ord(c):04X}) is not ASCII" for c in segment if ord(c) > 127), "")
    assert _problems(text, [f"steps.{segment}.capacity=3"]) == [
        f"--set:1:7: steps.{segment}: no step named '{segment}'{note}"
    ]


@pytest.mark.parametrize(
    ("segment", "message"),
    [
        ("-1", "no step at index -1 (indexes run from 0 to 0)"),
        ("99999999999999999999", "no step at index 99999999999999999999 (indexes run from 0 to 0)"),
    ],
)
def test_an_index_out_of_range_is_located(segment, message):
    text = yaml.safe_dump(scenario_dict())
    assert _problems(text, [f"steps.{segment}.capacity=3"]) == [
        f"--set:1:7: steps.{segment}: {message}"
    ]


# ------------------------------------------------------------- files that never end

NOT_REGULAR = "1:1: (file): is not a regular file (a device, FIFO or socket)"


def _special_files(tmp_path: Path) -> dict[str, Path]:
    files = {}
    if Path("/dev/zero").exists():
        files["dev_zero"] = Path("/dev/zero")
        (tmp_path / "zero.yaml").symlink_to("/dev/zero")
        files["link_to_dev_zero"] = tmp_path / "zero.yaml"
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo.yaml")  # nobody writes: opening it would block forever
        files["fifo"] = tmp_path / "fifo.yaml"
    if not files:
        pytest.skip("no devices or FIFOs on this system")
    return files


def _invoke_with_deadline(args: list[str]) -> Any:
    """The command, in a thread: a FIFO that blocks fails the test instead of hanging it."""
    box: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: box.update(r=CliRunner().invoke(cli, args)))
    thread.daemon = True
    thread.start()
    thread.join(30)
    assert not thread.is_alive(), f"{args} did not finish within 30 s"
    return box["r"]


@pytest.mark.parametrize("command", ["validate", "run", "calibrate-scenario", "calibrate-funnel"])
def test_devices_fifos_and_links_to_them_are_refused_without_reading(command, tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(scenario_dict()))
    funnel = tmp_path / "funnel.csv"
    funnel.write_text("step,entered,completed\nonly,10,5\n")
    for special in _special_files(tmp_path).values():
        args = {
            "validate": ["validate", str(special)],
            "run": ["run", str(special), "--out", str(tmp_path / "out")],
            "calibrate-scenario": ["calibrate", str(special), "--funnel", str(funnel)],
            "calibrate-funnel": ["calibrate", str(good), "--funnel", str(special)],
        }[command]
        if command.startswith("calibrate"):
            args += ["--out", str(tmp_path / "cal.yaml")]
        result = _invoke_with_deadline(args)
        assert result.exit_code == 2, result.output
        assert result.output.splitlines() == [f"{special}:{NOT_REGULAR}"]
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "cal.yaml").exists()


def test_reads_are_bounded_by_the_bytes_read_not_by_the_size_the_file_reports(tmp_path):
    # files in /proc report a size of 0 but have content: the size check alone lets them by
    proc = Path("/proc/self/maps")
    if not proc.is_file() or proc.stat().st_size != 0:
        pytest.skip("no /proc file with a size of 0 here")
    kwargs = {
        "kind": "a scenario file",
        "too_big": "file is {size} bytes; limited to {limit}",
        "encoding": "utf-8",
        "not_text": "not text",
        "locate_bad_byte": False,
    }
    with pytest.raises(ScenarioError) as info:
        read_user_file(proc, max_bytes=10, **kwargs)
    (problem,) = info.value.problems
    assert problem.message.startswith("file is ")
    assert problem.message.endswith(" bytes; limited to 10")
    assert int(problem.message.split()[2]) > 10
    small = tmp_path / "small.yaml"
    small.write_bytes(b"x" * 10)
    assert read_user_file(small, max_bytes=10, **kwargs) == (b"x" * 10, "x" * 10)


# ------------------------------------------------------------------ error lines


def test_long_values_are_cut_in_every_part_of_an_error_line():
    name = "x" * 500_000
    data = scenario_dict(steps=[{"name": "cart", "next": name}, {"name": name}])
    text = yaml.safe_dump(data, sort_keys=False, width=10**7)
    cut = "x" * 80 + "…"
    too_long = "must be at most 80 characters (got '{}' (500,000 characters))"
    assert _problems(text) == [
        f"t.yaml:14:9: steps.cart.next: {too_long.format(cut)}",
        f"t.yaml:15:9: steps.{cut} (500,000 characters).name: {too_long.format(cut)}",
    ]
    # the same name, where no step has it
    y_cut = "y" + cut[1:]
    assert _problems(text.replace("- name: x", "- name: y")) == [
        f"t.yaml:14:9: steps.cart.next: {too_long.format(cut)}",
        f"t.yaml:14:9: steps.cart.next: no step named '{cut}' (500,000 characters)",
        f"t.yaml:15:9: steps.{y_cut} (500,000 characters).name: {too_long.format(y_cut)}",
    ]


def test_a_long_override_is_cut_too():
    text = yaml.safe_dump(scenario_dict())
    (line,) = _problems(text, ["steps." + "y" * 10_000 + ".capacity=1"])
    assert line == "--set:1:7: steps." + "y" * 80 + "… (10,000 characters): no step named '" + (
        "y" * 80 + "…' (10,000 characters)"
    )


@pytest.mark.parametrize(
    ("char", "escaped"),
    [
        ("\u202e", "\\u202e"),  # right-to-left override
        ("\u2066", "\\u2066"),  # left-to-right isolate
        ("\u200b", "\\u200b"),  # zero-width space
        ("\ufeff", "\\ufeff"),  # byte-order mark
        ("\x1b", "\\x1b"),  # escape: terminal control sequences
        ("\u2028", "\\u2028"),  # line separator
        ("\u00a0", "\\xa0"),  # a space that is not ' '
        ("\U000e0041", "\\U000e0041"),  # tag character
    ],
)
def test_control_and_bidi_characters_are_escaped_in_paths_and_messages(char, escaped):
    key = f"ca{char}rt"
    data = scenario_dict()
    data["steps"][0][key] = 1
    (line,) = _problems(yaml.safe_dump(data, allow_unicode=True))
    assert f"steps.only.ca{escaped}rt: unknown key 'ca{escaped}rt'" in line
    assert line.isprintable()
    # and in an override's path, where a list item is looked up by name
    (line,) = _problems(yaml.safe_dump(scenario_dict()), [f"steps.{key}.capacity=1"])
    assert line == f"--set:1:7: steps.ca{escaped}rt: no step named 'ca{escaped}rt'"


def test_a_lone_surrogate_escape_is_refused_where_it_is_written():
    text = 'description: "a\\ud800"\n' + yaml.safe_dump(scenario_dict())
    assert _problems(text) == [
        "t.yaml:1:14: description: '\\ud800' is half of a UTF-16 surrogate pair, not a "
        "character; write the character itself"
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("a\udcffb", "the byte 0xFF is not UTF-8 text"),  # how Python passes a bad byte of argv
        ("a\x07b", "control character U+0007 is not allowed in a --set value"),
    ],
)
def test_set_values_refuse_what_files_refuse(value, message):
    text = yaml.safe_dump(scenario_dict())
    assert _problems(text, [f"description={value}"]) == [f"--set:1:13: description: {message}"]


def test_error_lines_of_other_errors_are_one_clean_line(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(scenario_dict()))
    result = CliRunner().invoke(cli, ["run", str(path), "--engine", "fast\u202e"])
    assert result.exit_code != 0
    assert "\u202e" not in result.output


# ------------------------------------------------ numbers the engines cannot run

LOGNORMAL = "{dist: lognormal, mean: 1e-150, sd: 1e10}"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "steps.only.fields=" + "1" * 90,
            "must be at most 10000 (got " + "1" * 80 + "… (90 characters))",
        ),
        ("steps.only.fields=10001", "must be at most 10000 (got 10001)"),
        ("steps.only.capacity=1000001", "must be at most 1000000 (got 1000001)"),
        ("steps.only.irritation=1.7e308", "must be at most 1e+12 (got 1.7e+308)"),
        ("steps.only.per_field=1e13", "must be at most 1e+12 (got 1e+13)"),
        ("steps.only.cost=1e300", "must be at most 1e+12 (got 1e+300)"),
        ("steps.only.wait_irritation=1e13", "must be at most 1e+12 (got 1e+13)"),
        ("steps.only.errors={p: 0.5, irritation: 1e300}", None),
        ("steps.only.defect={p: 0.5, irritation: 1, delay: 1e13}", None),
        ("segments.all.sensitivity=1e300", "must be at most 1e+12 (got 1e+300)"),
        ("arrivals.rate=1e13", "must be at most 1e+12 (got 1e+13)"),
        ("experience.scale=1e13", "must be at most 1e+12 (got 1e+13)"),
        ("friction.per_field=1e300", "must be at most 1e+12 (got 1e+300)"),
        ("horizon=1e12min", "must be at most 100 years (52,596,000 minutes), got 1e+12 minutes"),
        (
            "horizon=36525.01d",
            "must be at most 100 years (52,596,000 minutes), got 52,596,014 minutes",
        ),
        (
            f"segments.all.tolerance={LOGNORMAL}",
            "sd 1e+10 is 1e+160 times the mean 1e-150; a lognormal's sd may be at most 1e+150 "
            "times its mean (its parameters overflow beyond)",
        ),
        (
            "steps.only.duration={dist: gamma, mean: 1e-150, sd: 1e10}",
            "sd 1e+10 is 1e+160 times the mean 1e-150; a gamma's sd may be at most 1e+150 "
            "times its mean (its parameters overflow beyond)",
        ),
        (
            "segments.all.order_value={dist: gamma, mean: 1, sd: 1e-300}",
            "mean 1 is 1e+300 times the sd 1e-300; a gamma's mean may be at most 1e+150 times "
            "its sd (its shape (mean/sd)² overflows beyond)",
        ),
    ],
)
def test_numbers_the_engines_cannot_run_are_refused_naming_the_bound(override, message):
    text = yaml.safe_dump(scenario_dict())
    (line,) = _problems(text, [override])
    path = override.split("=")[0]
    if message is None:  # a key inside the mapping
        assert "must be at most 1e+12" in line
        assert line.startswith(f"--set:1:{len(path) + 2}: {path}.")
    else:
        assert line == f"--set:1:{len(path) + 2}: {path}: {message}"


def test_empirical_weights_whose_sum_overflows_are_refused_at_the_weight():
    text = yaml.safe_dump(scenario_dict())
    override = "segments.all.tolerance={dist: empirical, values: [1, 2], weights: [1e308, 1e308]}"
    assert _problems(text, [override]) == [
        "--set:1:24: segments.all.tolerance.weights[0]: must be at most 1e+12 (got 1e+308)",
        "--set:1:24: segments.all.tolerance.weights[1]: must be at most 1e+12 (got 1e+308)",
    ]


def test_too_many_steps_segments_or_draws_are_refused_at_steps():
    steps = [{"name": f"s{i}"} for i in range(1001)]
    assert _problems(yaml.safe_dump(scenario_dict(steps=steps)))[0].endswith(
        "steps: needs at most 1000 items, got 1001"
    )
    segments = [
        {"name": f"g{k}", "share": 0.01, "tolerance": 5, "order_value": 1} for k in range(100)
    ]
    text = yaml.safe_dump(scenario_dict(steps=steps[:101], segments=segments))
    (line,) = _problems(text)
    assert line.endswith(
        ":1: steps: 101 steps × 100 segments = 10,100; at most 10,000 (results keep "
        "an irritation histogram per step and segment)"
    )
    many = [
        {"name": f"s{i}", "duration": {"dist": "exponential", "mean": 1},
         "errors": {"p": 0.5, "max_attempts": 100}}
        for i in range(6)
    ]  # fmt: skip
    text = yaml.safe_dump(scenario_dict(steps=many), sort_keys=False)
    (line,) = _problems(text)
    assert line.endswith(
        "steps: the steps draw 1,203 random numbers per customer (exits, branches, defects, "
        "and a duration and an error draw per attempt); at most 1,000: use fewer "
        "errors.max_attempts, or fixed durations"
    )
    make_scenario(steps=many[:4])  # 803 draws: fine


def test_a_scenario_at_the_draw_limit_runs_in_bounded_memory():
    steps = [
        {"name": f"s{i}", "duration": {"dist": "exponential", "mean": 0.01},
         "errors": {"p": 0.9, "max_attempts": 4}}
        for i in range(124)
    ]  # fmt: skip
    scenario = make_scenario(steps=steps, horizon=2, arrivals={"rate": 2})
    assert 990 < scenario.draws_per_customer() <= 1000
    tracemalloc.start()
    try:
        for engine in (simulate, fastpath.simulate):
            result = engine(scenario, np.random.SeedSequence(1))
            assert result.visitors == (
                result.orders + result.abandoned_friction + result.abandoned_exit
            )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # a block of 4096 customers × 1000 draws is 33 MB as packed doubles (131 MB as lists);
    # the fast path draws at most 64 MB at once
    assert peak < 150e6


@pytest.mark.parametrize(
    "tolerance",
    [
        5e-324,
        {"dist": "exponential", "mean": 5e-324},
        {"dist": "lognormal", "mean": 1e-140, "sd": 1},
        {"dist": "gamma", "mean": 1e-140, "sd": 1},
        {"dist": "empirical", "values": [5e-324, 1e12]},
        {"dist": "uniform", "low": 0, "high": 5e-324},
    ],
)
@pytest.mark.parametrize("scale", [0.5, 1e-300])
def test_tolerances_near_zero_run_on_both_engines(tolerance, scale):
    scenario = make_scenario(
        segments=one_segment(tolerance),
        steps=[{"name": "a", "exit": 0.1}, {"name": "b", "irritation": 1e-320}],
        experience={"best": 10, "scale": scale},
        horizon=30,
    )
    results = [run_once(scenario), fastpath.simulate(scenario, np.random.SeedSequence(1))]
    for r in results:
        assert r.visitors == r.orders + r.abandoned_friction + r.abandoned_exit
        assert r.segment_scores.sum() == r.orders
    assert results[0].segment_scores.tolist() == results[1].segment_scores.tolist()


def test_the_longest_horizon_keeps_at_most_1000_arrival_bins():
    scenario = make_scenario(horizon="36525d", arrivals={"rate": "1e-5/min"})
    assert arrival_bins(scenario) <= 1000
    assert arrival_bin_width(scenario) == 37 * 1440
    for engine in (simulate, fastpath.simulate):
        result = engine(scenario, np.random.SeedSequence(1))
        assert result.arrivals_by_source.shape == (3, arrival_bins(scenario))
        assert result.arrivals_by_source.sum() == result.visitors
    # up to 1000 days, bins are days as before
    assert arrival_bin_width(make_scenario(horizon="1000d")) == 1440


def test_the_fast_path_takes_replications_of_millions_of_customers():
    # it walks them chunk by chunk, so its memory does not grow with them
    # (tests/test_fastpath_queues.py measures it)
    scenario = make_scenario(horizon="20d", arrivals={"rate": "1000/min"})
    assert scenario.expected_visitors > 2e7
    assert fastpath.supports(scenario)


def test_a_rate_whose_product_with_the_profile_underflows_brings_no_customers():
    profile = [5e-324] * 24
    scenario = make_scenario(arrivals={"rate": 5e-324, "profile": profile})
    assert scenario.expected_visitors == 0
    for engine in (simulate, fastpath.simulate):
        assert engine(scenario, np.random.SeedSequence(1)).visitors == 0
