"""The real command in a child process: interrupted runs and peak memory.

These start ``python -m frictionsim run`` as users do, so signal handling,
worker processes and process exit are tested for real, not through CliRunner.
"""

from __future__ import annotations

import json
import math
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from .conftest import scenario_dict

ROOT = Path(__file__).parent.parent
#: A leak the memory test must catch: bytes kept per customer.
LEAK_BYTES = 64

# About 60,000 customers per replication (a fraction of a second each), 40
# replications: several seconds of work, so a signal lands in the middle.
LONG = scenario_dict(
    name="long",
    replications=40,
    horizon=1000,
    arrivals={"rate": 60},
    steps=[
        {"name": "cart", "duration": {"dist": "exponential", "mean": 1}, "exit": 0.1},
        {"name": "pay", "capacity": 70, "wait_irritation": 1, "fields": 3},
    ],
)


def _interruptible() -> None:
    """In the child: Ctrl-C as a terminal gives it. A test run started in the background
    by a shell without job control inherits SIGINT ignored (the Unix convention for
    background jobs, which frictionsim keeps), and the child would ignore it too."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def frictionsim(*args: str, cwd: Path, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "frictionsim", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_interruptible,
        **kwargs,
    )


def wait_for_progress(proc: subprocess.Popen, deadline: float) -> str:
    """Read stderr until the first progress line: the run is under way."""
    seen = ""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stderr], [], [], 0.1)
        if ready:
            line = proc.stderr.readline()
            seen += line
            if "replications" in line:
                return seen
            if not line:
                break
    raise AssertionError(f"no progress line; stderr so far: {seen!r}")


def processes_running(marker: str) -> list[int]:
    """Pids whose command line mentions ``marker`` (workers left behind)."""
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


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc (Linux)")
@pytest.mark.parametrize("jobs", ["1", "2"], ids=["serial", "two-workers"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_run_leaves_the_previous_folder(tmp_path, signum, jobs):
    scenario = tmp_path / f"long-{signum.name}-{jobs}.yaml"
    scenario.write_text(yaml.safe_dump(LONG, sort_keys=False))
    out = tmp_path / "out"

    # a previous, complete results folder (short run)
    first = frictionsim(
        "run",
        str(scenario),
        "--out",
        "out",
        "-r",
        "2",
        "--set",
        "horizon=10",
        "--no-charts",
        "-q",
        cwd=tmp_path,
    )
    assert first.wait(timeout=60) == 0, first.stderr.read()
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    # another horizon than the folder's: replacing it needs --force
    proc = frictionsim("run", str(scenario), "--out", "out", "-j", jobs, "--force", cwd=tmp_path)
    try:
        wait_for_progress(proc, time.monotonic() + 60)
        time.sleep(0.3)
        assert proc.poll() is None, "the run finished before the signal; make LONG longer"
        proc.send_signal(signum)
        sent = time.monotonic()
        code = proc.wait(timeout=30)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
    stderr = proc.stderr.read()
    stdout = proc.stdout.read()

    assert code == 130, stderr
    assert stderr.strip().endswith("interrupted; nothing was written")
    assert "Traceback" not in stderr + stdout
    assert took < 10, f"took {took:.1f} s to stop"
    # the previous folder, byte for byte, and nothing else: no hidden temp folders
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["out", scenario.name])
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    # no worker left running
    time.sleep(0.2)
    assert processes_running(scenario.name) == []


@pytest.mark.slow
def test_an_interrupted_first_run_writes_nothing(tmp_path):
    scenario = tmp_path / "long.yaml"
    scenario.write_text(yaml.safe_dump(LONG, sort_keys=False))
    proc = frictionsim("run", str(scenario), "-j", "1", cwd=tmp_path)
    wait_for_progress(proc, time.monotonic() + 60)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 130
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.yaml"]  # not even results/


# ------------------------------------------------------------------ peak memory

PEAK = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def peak_rss_mb(tmp_path: Path, customers: int) -> float:
    """Peak resident memory of ``frictionsim run`` simulating about ``customers``."""
    minutes = customers / 9  # mmc_queue.yaml: 9 arrivals per minute
    out = tmp_path / f"out-{customers}"
    command = [
        sys.executable, "-m", "frictionsim", "run", str(ROOT / "scenarios" / "mmc_queue.yaml"),
        "--set", f"horizon={minutes}", "-r", "1", "-j", "1", "--out", str(out), "-q",
    ]  # fmt: skip
    # a fresh, small parent: ru_maxrss of children is the largest child's, and the
    # child's starts from the parent's size at fork, so the parent must stay small
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", PEAK, *command], capture_output=True, text=True, env=env
    )
    code, kib = result.stdout.split()
    assert code == "0", result.stderr
    visitors = json.loads((out / "summary.json").read_text())["metrics"]["visitors"]["mean"]
    assert abs(visitors - customers) <= 4 * math.sqrt(customers)  # Poisson count
    return int(kib) / 1024


@pytest.mark.slow
def test_ten_times_more_customers_use_about_the_same_peak_memory(tmp_path):
    """1e5 and 1e6 customers through a queue with reneging, charts included.

    Measured on the project's machines: about 150 MB for both (the interpreter,
    numpy, pydantic, matplotlib and the chart; the simulation itself holds only
    the customers in the system at once). Anything kept per customer, even 100
    bytes, would add 90 MB or more at 1e6. The allowed growth is half of what a
    leak of LEAK_BYTES per customer would add over the 9e5 extra customers, so
    such a leak fails while allocator noise (a few MB) passes.
    """
    small = peak_rss_mb(tmp_path, 100_000)
    large = peak_rss_mb(tmp_path, 1_000_000)
    print(f"peak RSS: 1e5 customers {small:.0f} MB, 1e6 customers {large:.0f} MB")
    assert large - small <= 0.5 * 900_000 * LEAK_BYTES / 2**20
