"""Whatever ``validate`` accepts, ``run`` runs or refuses with one clear line.

Regression tests of the input side: a scenario that validates must run on
both engines without a traceback, a hang or gigabytes of memory, and a value
the engines cannot run must be refused by validation with a located message
that names the bound.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from frictionsim.cli import cli
from frictionsim.engine import _has_cycle
from frictionsim.errors import ScenarioError
from frictionsim.scenario import parse_scenario
from frictionsim.userfiles import read_user_file

from .conftest import make_scenario, one_segment, scenario_dict


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
    data = _long_flow(1000)
    assert not _has_cycle(make_scenario(**data))
    # the last step goes back to the first half the time: a loop 1000 steps long
    data["steps"][-1]["next"] = [{"to": "s0", "p": 0.5}, {"to": "s999", "p": 0.0}]
    data["steps"].append({"name": "end"})
    data["steps"][-2]["next"][1]["to"] = "end"
    data["steps"][-2]["next"][1]["p"] = 0.5
    assert _has_cycle(make_scenario(**data))


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
    assert _problems(text, [f"steps.{segment}.capacity=3"]) == [
        f"--set:1:7: steps.{segment}: no step named '{segment}'"
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
