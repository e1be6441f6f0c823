"""``frictionsim animate DIR``: counts per frame from the event log, and the GIF."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from frictionsim.cli import cli
from frictionsim.report.animation import occupancy

HEADER = (
    "case:concept:name,concept:name,lifecycle:transition,time:timestamp,replication,"
    "source,segment,step,irritation,minute\n"
)


def log(tmp_path: Path, rows: list[tuple]) -> Path:
    path = tmp_path / "events.csv"
    lines = [f"{c},{a},{t},,{r},organic,all,{s},0,{m}\n" for c, a, t, r, s, m in rows]
    path.write_text(HEADER + "".join(lines))
    return path


def test_counts_per_frame_follow_each_customer(tmp_path):
    # A: cart 0-2, pay: waits 2-5, served 5-6, orders at 6.  B: cart 1-4, leaves at 4.
    # (the log lists visits as they end: B, then A; each from its arrival to its outcome)
    path = log(
        tmp_path,
        [
            ("r0-o2", "arrival", "complete", 0, "", 1),
            ("r0-o2", "cart", "start", 0, "cart", 1),
            ("r0-o2", "left", "complete", 0, "cart", 4),
            ("r0-o1", "arrival", "complete", 0, "", 0),
            ("r0-o1", "cart", "start", 0, "cart", 0),
            ("r0-o1", "cart", "complete", 0, "cart", 2),
            ("r0-o1", "pay", "start", 0, "pay", 2),
            ("r0-o1", "pay queue", "start", 0, "pay", 2),
            ("r0-o1", "pay queue", "complete", 0, "pay", 5),
            ("r0-o1", "pay", "complete", 0, "pay", 6),
            ("r0-o1", "order", "complete", 0, "", 6),
            ("r1-o1", "arrival", "complete", 1, "", 0.5),  # another replication: not counted
            ("r1-o1", "cart", "start", 1, "cart", 0.5),
            ("r1-o1", "left", "complete", 1, "cart", 1),
        ],
    )
    occ = occupancy(path, ["cart", "pay"], frames=7)  # frames at minutes 0, 1, ..., 6
    assert occ.minutes.tolist() == [0, 1, 2, 3, 4, 5, 6]
    assert occ.at[:, 0].tolist() == [1, 2, 1, 1, 0, 0, 0]  # cart: A 0-2, B 1-4
    assert occ.waiting[:, 1].tolist() == [0, 0, 1, 1, 1, 0, 0]  # A waits 2-5
    assert occ.at[:, 1].tolist() == [0, 0, 0, 0, 0, 1, 0]  # A served 5-6
    assert occ.outcomes[:, 0].tolist() == [0, 0, 0, 0, 0, 0, 1]  # orders so far
    assert occ.outcomes[:, 2].tolist() == [0, 0, 0, 0, 1, 1, 1]  # exits so far


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    base = tmp_path_factory.mktemp("animate")
    scenario = Path(__file__).parent.parent / "scenarios" / "checkout_baseline.yaml"
    result = invoke("run", scenario, "-r", 1, "--set", "horizon=3h", "--event-log", "csv",
                    "--no-charts", "-q", "-o", base / "run")  # fmt: skip
    assert result.exit_code == 0, result.output
    return base / "run"


def test_animate_writes_a_gif_into_the_folder_and_lists_it(run_folder):
    result = invoke("animate", run_folder, "--seconds", 2, "--fps", 5)
    assert result.exit_code == 0, result.output
    gif = run_folder / "animation.gif"
    with Image.open(gif) as image:
        assert image.size == (1024, 576)
        assert image.n_frames == 10
        image.seek(9)
        last = np.asarray(image.convert("RGB"))
    assert last.std() > 10  # something is drawn
    assert "animation.gif" in json.loads((run_folder / "run.json").read_text())["files"]
    again = invoke("animate", run_folder, "--seconds", 1, "--fps", 4)  # its own file: replaced
    assert again.exit_code == 0, again.output
    with Image.open(gif) as image:
        assert image.n_frames == 4


def test_a_user_s_file_of_that_name_is_never_replaced(run_folder, tmp_path):
    mine = run_folder / "mine.gif"
    mine.write_bytes(b"GIF89a mine")
    result = invoke("animate", run_folder, "-o", mine, "--seconds", 1, "--fps", 2)
    assert result.exit_code == 1
    assert "did not write" in result.output
    assert mine.read_bytes() == b"GIF89a mine"
    mine.unlink()
    elsewhere = tmp_path / "talk.gif"
    elsewhere.write_bytes(b"x")
    refused = invoke("animate", run_folder, "-o", elsewhere, "--seconds", 1, "--fps", 2)
    assert refused.exit_code == 1
    assert "add --force" in refused.output
    forced = invoke("animate", run_folder, "-o", elsewhere, "--seconds", 1, "--fps", 2, "--force")
    assert forced.exit_code == 0, forced.output
    assert elsewhere.read_bytes()[:6] == b"GIF89a"


@pytest.mark.parametrize(
    ("options", "code", "message"),
    [
        (["-o", "x.txt"], 2, "write a .gif or an .mp4"),
        (["--seconds", 600, "--fps", 50], 2, "frames; between 2 and 1500"),
        (["--replication", 5], 1, "no events of replication 5"),
    ],
)
def test_bad_options_get_one_line(run_folder, options, code, message):
    result = invoke("animate", run_folder, *options)
    assert result.exit_code == code
    assert message in result.output


def test_a_folder_without_an_event_log_says_how_to_write_one(tmp_cwd):
    scenario = Path(__file__).parent.parent / "scenarios" / "mmc_queue.yaml"
    assert invoke("run", scenario, "-r", 1, "--set", "horizon=30min", "-q", "--no-charts",
                  "-o", "plain").exit_code == 0  # fmt: skip
    result = invoke("animate", "plain")
    assert result.exit_code == 1
    assert "no events.csv" in result.output
    assert "--event-log csv" in result.output


def test_a_damaged_log_or_option_gets_one_line(run_folder, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(run_folder, broken)
    (broken / "events.csv").write_bytes(bytes(range(256)) * 4)
    result = invoke("animate", broken)
    assert result.exit_code == 1
    assert "not UTF-8 text" in result.output
    nan = invoke("animate", run_folder, "--seconds", "nan")
    assert nan.exit_code == 2
    assert "not a number of seconds" in nan.output
    elsewhere = invoke("animate", run_folder, "-o", tmp_path / "no" / "such" / "a.gif")
    assert elsewhere.exit_code == 2
    assert "no such folder" in elsewhere.output
