"""Faults, for real: the command in child processes, killed outright (SIGKILL) at random
moments, on a full disk, on a read-only folder, and twice at once into one folder.

After each fault the disk holds the previous folder (or none) or a complete new one,
never a half-written one; no worker process outlives a killed run; and the next run
works and leaves no hidden leftovers. Kill moments come from a seeded generator, so a
failure can be replayed.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from .conftest import read_only, scenario_dict, small_disk

ROOT = Path(__file__).parent.parent
pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc (Linux)")

#: About 60,000 customers per replication through a queue (SimPy, a fraction of a second
#: each): 6 replications are a few seconds of work on 2 workers.
WORK = scenario_dict(
    name="work",
    replications=6,
    horizon=1000,
    arrivals={"rate": 60},
    steps=[
        {"name": "cart", "duration": {"dist": "exponential", "mean": 1}, "exit": 0.1},
        {"name": "pay", "capacity": 70, "wait_irritation": 1, "fields": 3},
    ],
)


def start(*args: str, cwd: Path) -> subprocess.Popen:
    """``python -m frictionsim ARGS`` as users start it (the safety net on)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("FRICTIONSIM_DEBUG", None)
    return subprocess.Popen(
        [sys.executable, "-m", "frictionsim", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen, timeout: float = 120) -> tuple[int, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out + err


def processes_mentioning(marker: str) -> list[int]:
    """Pids whose command line mentions ``marker`` (a killed run's workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if marker in cmdline:
                found.append(int(entry.name))
    return found


def no_orphans(marker: str, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while processes_mentioning(marker):
        assert time.monotonic() < deadline, f"processes left: {processes_mentioning(marker)}"
        time.sleep(0.1)


def kill_at(proc: subprocess.Popen, seconds: float) -> bool:
    """SIGKILL ``proc`` after ``seconds`` unless it ended first; whether it was killed."""
    try:
        proc.wait(timeout=seconds)
        return False
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
        proc.stderr.close()
        return True


def tree(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def complete(folder: Path, replications: int | None = None) -> None:
    """A whole results folder: every file run.json lists, nothing else, and documents that
    agree with each other."""
    run = json.loads((folder / "run.json").read_text())
    assert run["files"] == sorted(p.name for p in folder.iterdir())
    if "summary.json" in run["files"]:
        summary = json.loads((folder / "summary.json").read_text())
        if replications is not None:
            assert summary["replications"] == replications
        rows = (folder / "funnel.csv").read_text().splitlines()
        assert len(rows) == 1 + summary["replications"] * len(summary["steps"])


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.fixture
def work(tmp_path):
    """A scenario file named for the test (its workers are found by that name)."""
    path = tmp_path / f"work-{os.getpid()}-{time.monotonic_ns()}.yaml"
    path.write_text(yaml.safe_dump(WORK, sort_keys=False))
    return path


@pytest.fixture
def light(tmp_path):
    """The same checkout with a tenth of the customers: quick runs."""
    path = tmp_path / f"light-{os.getpid()}-{time.monotonic_ns()}.yaml"
    path.write_text(yaml.safe_dump({**WORK, "name": "work", "horizon": 100}, sort_keys=False))
    return path


def _previous(work: Path, out: str) -> dict[str, bytes]:
    code, output = finish(start("run", str(work), "--out", out, "-r", "2", "-q", cwd=work.parent))
    assert code == 0, output
    return tree(work.parent / out)


# ------------------------------------------------------------------ kill -9


def test_workers_die_with_a_killed_run(work):
    """The issue: kill -9 of the main process left both workers computing, then waiting."""
    proc = start("run", str(work), "--out", "o", "-j", "2", "--no-charts", cwd=work.parent)
    deadline = time.monotonic() + 60
    while len(processes_mentioning(work.name)) < 3:  # the main process and two workers
        assert proc.poll() is None, finish(proc)[1]
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert kill_at(proc, 0.3)
    no_orphans(work.name, within=3)
    assert not (work.parent / "o").exists()


@pytest.mark.slow
def test_run_killed_at_random_moments(work):
    rng = random.Random(20260105)
    folder = work.parent / "o"
    previous = _previous(work, "o")
    for moment in sorted(rng.uniform(0.3, 5.0) for _ in range(4)):
        proc = start("run", str(work), "--out", "o", "-j", "2", "-q", cwd=work.parent)
        killed = kill_at(proc, moment)
        no_orphans(work.name)
        if folder.exists():
            if tree(folder) != previous:  # then it is the new folder, whole
                complete(folder, 6)
        else:  # killed between the two renames: the previous folder is set aside whole
            (old,) = [p for p in work.parent.iterdir() if p.name.startswith(".o.old-")]
            assert tree(old) == previous
        # the next run puts things right, and leaves nothing hidden
        rerun = ["run", str(work), "--out", "o", "-r", "1", "--no-charts", "-q"]
        code, output = finish(start(*rerun, cwd=work.parent))
        assert code == 0, output
        complete(folder, 1)
        assert hidden(work.parent) == [], (moment, killed)
        previous = tree(folder)


@pytest.mark.slow
def test_event_log_of_a_killed_run_is_removed_by_the_next(work):
    proc = start("run", str(work), "--out", "o", "-j", "2", "--event-log", "csv", cwd=work.parent)
    deadline = time.monotonic() + 60
    while not [p for p in work.parent.iterdir() if ".events-" in p.name]:
        assert proc.poll() is None
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert kill_at(proc, 1.0)
    no_orphans(work.name)
    assert [p.name for p in work.parent.iterdir() if p.name.startswith(".o.events-")]
    code, output = finish(start("run", str(work), "--out", "o", "-r", "1", "-q", cwd=work.parent))
    assert code == 0, output
    assert hidden(work.parent) == []


@pytest.mark.slow
def test_sweep_killed_at_random_moments(work):
    rng = random.Random(7)
    sweep = ["sweep", str(work), "--param", "steps.cart.exit", "--values", "0.1,0.2,0.3"]
    sweep += ["--set", "horizon=300", "-r", "2", "-j", "2", "--out", "s", "-q"]
    for moment in sorted(rng.uniform(0.3, 3.5) for _ in range(3)):
        killed = kill_at(start(*sweep, cwd=work.parent), moment)
        no_orphans(work.name)
        folder = work.parent / "s"
        if folder.exists():
            complete(folder)
        # the same sweep again, from the start: works and leaves nothing behind
        code, output = finish(start(*sweep, cwd=work.parent))
        assert code == 0, output
        complete(folder)
        assert hidden(work.parent) == [], (moment, killed)


@pytest.mark.slow
def test_report_killed_at_random_moments(light):
    work = light
    rng = random.Random(11)
    code, output = finish(start("run", str(work), "--out", "o", "-r", "2", "-q", cwd=work.parent))
    assert code == 0, output
    folder = work.parent / "o"
    drawn = tree(folder)
    charts = [n for n in drawn if n.endswith(".png")]
    for moment in sorted(rng.uniform(0.2, 2.5) for _ in range(3)):
        for name in charts[:2]:
            (folder / name).unlink()
        kill_at(start("report", "o", cwd=work.parent), moment)
        for name, content in tree(folder).items():  # every file whole: old or redrawn
            if not name.startswith("."):
                assert content == drawn[name], (moment, name)
        code, output = finish(start("report", "o", cwd=work.parent))
        assert code == 0, output
        assert tree(folder) == drawn
        assert hidden(folder) == []
    code, output = finish(start("run", str(work), "--out", "o", "-r", "2", "-q", cwd=work.parent))
    assert code == 0, output


# ------------------------------------------------------------------ environments


def test_a_full_disk_is_one_line_and_keeps_the_previous_folder(work):
    with small_disk(work.parent / "disk", "1m"):
        run = ["run", str(work), "--out", "disk/o", "--set", "horizon=1", "-q"]
        code, output = finish(start(*run, "-r", "2", cwd=work.parent))
        assert code == 0, output
        previous = tree(work.parent / "disk" / "o")
        code, output = finish(start(*run, "-r", "3000", "--event-log", "csv", cwd=work.parent))
        assert code == 1
        assert output.startswith("error: no space left on device while writing disk/o/")
        assert len(output.splitlines()) == 1
        assert tree(work.parent / "disk" / "o") == previous
        assert sorted(p.name for p in (work.parent / "disk").iterdir()) == ["o"]


def test_report_on_a_read_only_folder(light):
    work = light
    code, output = finish(start("run", str(work), "--out", "o", "-r", "2", "-q", cwd=work.parent))
    assert code == 0, output
    (work.parent / "o" / "funnel.png").unlink()
    before = tree(work.parent / "o")
    with read_only(work.parent / "o"):
        code, output = finish(start("report", "o", cwd=work.parent))
    assert code == 1
    assert output.strip() == (
        "error: o: cannot write here (read-only or no permission); "
        "copy the folder elsewhere to redraw it"
    )
    assert tree(work.parent / "o") == before


@pytest.mark.parametrize("same", [True, False], ids=["same-run", "other-scenario"])
def test_two_runs_into_one_folder_at_once(light, same):
    work = light
    other = work.with_name("other-" + work.name)
    shutil.copy(work, other)
    if not same:
        other.write_text(work.read_text().replace("exit: 0.1", "exit: 0.2"))
    args = ["--out", "o", "-r", "3", "-j", "1", "--no-charts", "-q"]
    for _ in range(3 if same else 1):
        first = start("run", str(work), *args, cwd=work.parent)
        second = start("run", str(other), *args, cwd=work.parent)
        results = [finish(first), finish(second)]
        codes = sorted(code for code, _ in results)
        assert codes == [0, 0] or not same, results
    if same:
        assert codes == [0, 0], results  # they take turns: the later replaces the earlier
    else:  # the one that finished second is refused: the folder holds another run's results
        assert codes == [0, 1], results
        (refused,) = [output for code, output in results if code == 1]
        assert "holds the results of another run" in refused
    folder = work.parent / "o"
    complete(folder, 3)
    winner = [work, other][[code for code, _ in results].index(0)] if not same else None
    if winner is not None:
        exits = "exit: 0.2" in (folder / "scenario.resolved.yaml").read_text()
        assert exits == (winner == other)
    assert hidden(work.parent) == []


def test_the_folder_check_waits_for_a_swap_beside_it(tmp_path):
    """A writer swapping folders holds the lock on their parent; a check meanwhile waits
    and then sees the new folder, never the moment between the two renames (when the
    old one is gone and the new one not yet there: that was refused as "not a results
    folder" when two runs finished together)."""
    import fcntl
    import threading

    from frictionsim import results

    target = tmp_path / "o"
    for folder in (target, tmp_path / "new"):
        folder.mkdir()
        (folder / results.MARKER).write_text('{"frictionsim_results": 1}')
    outcome: list[object] = []

    def check() -> None:
        try:
            results.check_writable(target)
            outcome.append("ok")
        except Exception as exc:  # the test reports what was raised
            outcome.append(exc)

    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        checker = threading.Thread(target=check)
        checker.start()
        checker.join(0.3)
        assert checker.is_alive()  # waiting for the swap
        assert outcome == []
        target.rename(tmp_path / "old")  # the swap, halfway...
        time.sleep(0.1)
        (tmp_path / "new").rename(target)  # ...and done
    finally:
        os.close(fd)
    checker.join(10)
    assert outcome == ["ok"]
