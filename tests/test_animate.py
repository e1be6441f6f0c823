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


def test_a_pipe_is_never_replaced_even_with_force(run_folder, tmp_path):
    import os

    pipe = tmp_path / "pipe.gif"
    os.mkfifo(pipe)
    result = invoke("animate", run_folder, "-o", pipe, "--seconds", 1, "--fps", 2, "--force")
    assert result.exit_code == 1, result.output
    assert "pipe.gif: is a device, a pipe or a socket, not a file frictionsim may" in result.output
    assert pipe.is_fifo()


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


def test_a_real_log_with_queues_is_animated(tmp_path):
    scenario = Path(__file__).parent.parent / "scenarios" / "mmc_queue.yaml"
    folder = tmp_path / "mmc"
    assert invoke("run", scenario, "-r", 2, "--set", "horizon=30min", "--event-log", "csv",
                  "--no-charts", "-q", "-o", folder).exit_code == 0  # fmt: skip
    assert "queue queue,withdraw" in (folder / "events.csv").read_text()
    occ = occupancy(folder / "events.csv", ["queue"], frames=20, replication=1)
    assert occ.waiting.max() > 0
    assert occ.outcomes[-1].sum() > 0
    for rep in (0, 1):
        result = invoke("animate", folder, "--seconds", 1, "--fps", 4, "--replication", rep)
        assert result.exit_code == 0, result.output


def rows_of(run_folder: Path) -> list[list[str]]:
    return [line.split(",") for line in (run_folder / "events.csv").read_text().splitlines()]


def cases_of(rows: list[list[str]]) -> list[list[int]]:
    """The row numbers (0 the header) of each case, in order."""
    cases: list[list[int]] = []
    for k in range(1, len(rows)):
        if k == 1 or rows[k][0] != rows[k - 1][0]:
            cases.append([])
        cases[-1].append(k)
    return cases


def col(name: str) -> int:
    return HEADER_FULL.index(name)


HEADER_FULL = [*HEADER.strip().split(","), "customer"]


def refused(run_folder: Path, tmp_path: Path, content: str | bytes) -> str:
    import shutil

    folder = tmp_path / "bad"
    shutil.copytree(run_folder, folder)
    log = folder / "events.csv"
    if isinstance(content, str):
        log.write_text(content, encoding="utf-8")
    else:
        log.write_bytes(content)
    return refused_folder(folder)


def refused_folder(folder: Path) -> str:
    result = invoke("animate", folder, "--seconds", 1, "--fps", 2)
    assert result.exit_code == 1, result.output
    assert "internal error" not in result.output
    assert "Traceback" not in result.output
    assert result.output.count("\n") == 1, result.output
    return result.output


def text(rows: list[list[str]]) -> str:
    return "".join(",".join(r) + "\n" for r in rows)


def first_row(rows, activity, transition=None) -> int:
    for k, r in enumerate(rows[1:], start=1):
        if activity(r) and (transition is None or r[2] == transition):
            return k
    raise AssertionError("no such row")


def _set(rows, k, column, value):
    rows = [list(r) for r in rows]
    rows[k][col(column)] = value
    return rows


def test_the_real_log_has_the_writer_s_header(run_folder):
    assert rows_of(run_folder)[0] == HEADER_FULL


def is_step(r):
    return r[1] == r[col("step")] != ""


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda rows, k: _set(rows, k, "concept:name", "teleport"),
         "unknown activity 'teleport' at step 'cart'"),
        (lambda rows, k: _set(rows, k, "lifecycle:transition", "resume"),
         "lifecycle:transition 'resume': not start, complete or withdraw"),
        (lambda rows, k: _set(rows, k, "lifecycle:transition", "withdraw"),
         "'cart' withdraw: the log writes it start or complete"),
        (lambda rows, k: _set(_set(rows, k, "concept:name", "cart queue"), k, "step", ""),
         "'cart queue' with an empty step; the log names its step"),
        (lambda rows, k: _set(rows, k, "replication", "0.5"),
         "replication '0.5': not a whole number"),
        (lambda rows, k: _set(rows, k, "replication", "-1"),
         "replication '-1': not a whole number"),
        (lambda rows, k: _set(rows, k, "minute", "1e300"),
         "minute 1e+300: not between 0 and 105,192,000 (twice the longest horizon)"),
        (lambda rows, k: _set(rows, k, "minute", "-5"), "minute -5: not between 0 and"),
        (lambda rows, k: _set(rows, k, "minute", "nan"), "minute: not a finite number"),
        (lambda rows, k: _set(rows, k, "minute", "inf"), "minute: not a finite number"),
        (lambda rows, k: _set(rows, k, "minute", "1_0"), "minute '1_0': not a number"),
        (lambda rows, k: _set(rows, k, "concept:name", "x" * 200_000),
         "field larger than field limit (131072)"),
        (lambda rows, k: _set(rows, k, "source", "referral"),
         "source, segment or customer differs from its first row"),
        (lambda rows, k: _set(rows, k, "step", "a b"), "step 'a b': not a step name"),
    ],
)  # fmt: skip
def test_a_row_the_writer_never_writes_is_one_located_line(run_folder, tmp_path, edit, message):
    rows = rows_of(run_folder)
    k = first_row(rows, is_step, "start")  # a customer entering the cart
    output = refused(run_folder, tmp_path, text(edit(rows, k)))
    assert f"events.csv:{k + 1}: " in output
    assert message in output


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("r1-o3", "case 'r1-o3' in replication 0: not one of its cases"),
        ("A", "case 'A': not a case of the log (r<replication>-<o, r, b or k><number>)"),
        ("r0-k3", "source 'organic' of case 'r0-k3': not its source"),
    ],
)
def test_a_case_name_the_writer_never_writes_is_refused(run_folder, tmp_path, name, message):
    rows = rows_of(run_folder)
    first = cases_of(rows)[0]
    for k in first:
        rows[k][0] = name
    assert f"events.csv:2: {message}" in refused(run_folder, tmp_path, text(rows))


def test_an_outcome_without_its_step_is_refused(run_folder, tmp_path):
    rows = rows_of(run_folder)
    k = first_row(rows, lambda r: r[1] == "left")
    output = refused(run_folder, tmp_path, text(_set(rows, k, "step", "")))
    assert f"events.csv:{k + 1}: 'left' with an empty step; the log names its step" in output


def test_time_going_backwards_in_a_case_is_refused(run_folder, tmp_path):
    rows = rows_of(run_folder)
    case = next(c for c in cases_of(rows) if float(rows[c[-1]][col("minute")]) > 2 > 1 <
                float(rows[c[0]][col("minute")]))  # fmt: skip
    output = refused(run_folder, tmp_path, text(_set(rows, case[-1], "minute", "1.0")))
    assert f"events.csv:{case[-1] + 1}: case '{rows[case[0]][0]}': minute 1.0 is before" in output


def test_a_scattered_case_is_refused(run_folder, tmp_path):
    rows = rows_of(run_folder)
    first, second = cases_of(rows)[:2]
    # its events after the arrival moved after the next case: cut short where it stops
    moved = [rows[0], rows[first[0]]] + [rows[k] for k in second] + [rows[k] for k in first[1:]]
    moved += rows[second[-1] + 1 :]
    output = refused(run_folder, tmp_path, text(moved))
    assert f"events.csv:2: case '{rows[first[0]][0]}' stops before its outcome" in output
    assert "are its rows scattered or cut?" in output
    # the whole case again, further down: after a case that ended later than it
    cases = cases_of(rows)
    again = rows[: cases[2][0]] + [rows[k] for k in cases[0]] + rows[cases[2][0] :]
    output = refused(run_folder, tmp_path / "2", text(again))
    line = cases[2][0] + len(cases[0])  # its last row
    assert f"events.csv:{line}: case '{rows[cases[0][0]][0]}' ends at minute" in output
    assert "are rows moved or scattered?" in output
    # or right after itself: one case with two arrivals
    twice = rows[: cases[1][0]] + [rows[k] for k in cases[0]] + rows[cases[1][0] :]
    output = refused(run_folder, tmp_path / "3", text(twice))
    assert f"events.csv:{cases[1][0] + 1}: case " in output
    assert "a second arrival; a case is one visit" in output
    # or starting mid-visit
    output = refused(run_folder, tmp_path / "4", text([rows[0], *rows[2:]]))
    assert "events.csv:2: case" in output
    assert "not its arrival; are its rows scattered?" in output


def test_a_header_the_writer_never_writes_is_refused(run_folder, tmp_path):
    rows = rows_of(run_folder)
    twice = [["minute" if c == "irritation" else c for c in rows[0]], *rows[1:]]
    assert "events.csv:1: column 'minute' twice" in refused(run_folder, tmp_path, text(twice))
    other = [["colour" if c == "irritation" else c for c in rows[0]], *rows[1:]]
    output = refused(run_folder, tmp_path / "2", text(other))
    assert "events.csv:1: unknown column 'colour'" in output
    only = refused(run_folder, tmp_path / "3", text(rows[:1]))
    assert "events.csv:1: only a header; no events to animate" in only


def synthetic(events: list[tuple[str, str, str]]) -> str:
    """One case of the given ``(activity, transition, step)`` rows, at minute 1."""
    rows = [("arrival", "complete", ""), *events, ("order", "complete", "")]
    return (
        HEADER.rstrip("\n")
        + ",customer\n"
        + "".join(f"r0-o1,{a},{t},,0,organic,all,{s},0.0,1.0,r0-o1\n" for a, t, s in rows)
    )


def test_the_steps_and_the_events_of_a_case_are_bounded(run_folder, tmp_path):
    many = [(f"s{k}", t, f"s{k}") for k in range(2001) for t in ("start", "complete")]
    output = refused(run_folder, tmp_path, synthetic(many))
    assert "events.csv:4003: more than 2,000 step names; a scenario has at most 1,000" in output
    long = [("cart", "start", "cart")] + [("cart error", "complete", "cart")] * 100_000
    output = refused(run_folder, tmp_path / "2", synthetic(long))
    assert "events.csv:100002: case 'r0-o1': more than 100,000 events" in output
    fine = synthetic([("cart", "start", "cart"), ("cart", "complete", "cart")])
    occ = occupancy(_write(tmp_path / "ok.csv", fine), ["cart"], frames=2)
    assert occ.outcomes[-1].tolist() == [1, 0, 0]


def _write(path: Path, content: str) -> Path:
    path.write_text(content)
    return path


def test_a_long_line_or_binary_data_is_refused(run_folder, tmp_path):
    rows = rows_of(run_folder)
    output = refused(run_folder, tmp_path, text(rows[:3]) + "x" * (1 << 21) + "\n")
    assert "events.csv:4: a line longer than 1,048,576 bytes" in output
    binary = refused(run_folder, tmp_path / "2", text(rows[:3]).encode() + b"\xff\xfe\n")
    assert "events.csv:4: not UTF-8 text; not an event log" in binary
    nul = refused(run_folder, tmp_path / "3", b"\0" * 10)
    assert "events.csv:1: binary (a NUL byte), not UTF-8 text" in nul


def test_a_log_with_a_bom_is_read_as_without(run_folder, tmp_path):
    log = (run_folder / "events.csv").read_bytes()
    plain = occupancy(run_folder / "events.csv", [], frames=5)
    with_bom = occupancy(_write_bytes(tmp_path / "events.csv", b"\xef\xbb\xbf" + log), [], 5)
    assert plain.steps == with_bom.steps
    assert (plain.at == with_bom.at).all()
    assert (plain.outcomes == with_bom.outcomes).all()


def _write_bytes(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def test_a_folder_link_or_pipe_named_events_csv_is_refused(run_folder, tmp_path):
    import os
    import shutil

    for kind, message in [("folder", "a folder, not an event log"),
                          ("link", "a link, not the event log frictionsim wrote"),
                          ("pipe", "not a regular file (a pipe or a device)")]:  # fmt: skip
        folder = tmp_path / kind
        shutil.copytree(run_folder, folder)
        log = folder / "events.csv"
        log.rename(folder / "real.csv")
        if kind == "folder":
            log.mkdir()
        elif kind == "link":
            log.symlink_to(folder / "real.csv")
        else:
            os.mkfifo(log)  # never opened for reading: nothing blocks
        assert f"events.csv: {message}" in refused_folder(folder)


def test_rows_out_of_the_writer_s_order_are_refused(run_folder, tmp_path):
    rows = rows_of(run_folder)
    cases = cases_of(rows)
    later = [list(r) for r in rows]
    for k in cases[0]:  # the first case put in replication 1, before the rest of 0
        later[k][0] = later[k][0].replace("r0-", "r1-")
        later[k][col("customer")] = later[k][col("customer")].replace("r0-", "r1-")
        later[k][col("replication")] = "1"
    output = refused(run_folder, tmp_path, text(later))
    assert f"events.csv:{cases[1][0] + 1}: replication 0 after 1; the log lists" in output
    order = next(c for c in cases if rows[c[-1]][1] == "order")
    after = [list(r) for r in rows]
    after.insert(order[-1] + 1, [*after[order[-2]]])  # a step again after the order
    output = refused(run_folder, tmp_path / "2", text(after))
    assert f"events.csv:{order[-1] + 2}: case '{rows[order[0]][0]}': " in output
    assert "after its outcome 'order'" in output
    defect = [list(r) for r in rows]
    defect.insert(order[-1], [*defect[order[-1]]])
    defect[order[-1]][1], defect[order[-1]][col("step")] = "defect", ""
    output = refused(run_folder, tmp_path / "3", text(defect))
    assert f"events.csv:{order[-1] + 1}: case '{rows[order[0]][0]}': a defect before" in output
