"""The command's last safety net: no traceback, whatever goes wrong."""

from __future__ import annotations

import errno
from concurrent.futures.process import BrokenProcessPool

import pytest
import yaml
from click.testing import CliRunner

from frictionsim.cli import cli
from frictionsim.results import writers

from .conftest import scenario_dict


@pytest.fixture
def scenario_file(tmp_cwd):
    path = tmp_cwd / "s.yaml"
    path.write_text(yaml.safe_dump(scenario_dict(replications=2), sort_keys=False))
    return path


def _broken(exc):
    def fail(*args, **kwargs):
        raise exc

    return fail


@pytest.mark.parametrize(
    ("exc", "line"),
    [
        (
            PermissionError(errno.EACCES, "Permission denied", "o/summary.json"),
            "error: o/summary.json: Permission denied",
        ),
        (
            OSError(errno.ENOSPC, "No space left on device", "o/funnel.png"),
            "error: no space left on device while writing o/funnel.png",
        ),
        (OSError(errno.EIO, "Input/output error"), "error: Input/output error"),
        (
            TypeError("unsupported operand\ntype(s)"),
            "error: internal error (TypeError: unsupported operand type(s)); please report it",
        ),
        (
            MemoryError(),
            "error: out of memory; try fewer replications or a shorter horizon",
        ),
        (
            BrokenProcessPool("A process in the process pool was terminated abruptly"),
            "error: a worker process ended abruptly (killed, or out of memory); nothing was "
            "written; try again, or --jobs 1",
        ),
    ],
    ids=["permission", "no-space", "no-file-name", "bug", "memory", "worker-killed"],
)
def test_unexpected_errors_are_one_line_and_exit_1(scenario_file, monkeypatch, exc, line):
    monkeypatch.delenv("FRICTIONSIM_DEBUG")
    monkeypatch.setattr(writers, "write_run", _broken(exc))
    result = CliRunner().invoke(cli, ["run", str(scenario_file), "--out", "o", "-q"])
    assert (result.exit_code, result.output) == (1, line + "\n")


def test_debug_raises_the_error_itself(scenario_file, monkeypatch):
    monkeypatch.setattr(writers, "write_run", _broken(TypeError("a bug")))
    result = CliRunner().invoke(cli, ["run", str(scenario_file), "--out", "o", "-q"])
    assert isinstance(result.exception, TypeError)


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["run", "S", "--jobs", "0"], "error: Invalid value for '--jobs' / '-j': 0 is not in "
         "the range 1<=x<=1024; see 'cli run --help'"),
        (["run"], "error: Missing argument 'FILE'; see 'cli run --help'"),
        (["nosuch"], "error: No such command 'nosuch'; see 'cli --help'"),
        (["--bogus"], "error: No such option: --bogus; see 'cli --help'"),
        (["sweep", "S", "--param", "x"], "error: Missing option '--values'; see 'cli sweep --help'"),
    ],
)  # fmt: skip
def test_usage_errors_are_one_line_with_exit_2(scenario_file, monkeypatch, args, line):
    monkeypatch.delenv("FRICTIONSIM_DEBUG")
    args = [str(scenario_file) if a == "S" else a for a in args]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert result.output.replace("No such option '--bogus'", "No such option: --bogus") == (
        line + "\n"
    )  # (click words it either way, by version)


def test_an_interrupt_after_the_results_are_written_says_they_are(scenario_file, monkeypatch):
    """A Ctrl-C once the folder is written in full (here while the summary is printed)
    does not say "nothing was written": it says where the complete results are."""
    from frictionsim import console

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(console, "print_summary", interrupted)
    result = CliRunner().invoke(cli, ["run", str(scenario_file), "--out", "o", "-q"])
    assert result.exit_code == 130
    assert result.output == "interrupted after the results were written in full to o\n"
    assert (scenario_file.parent / "o" / "summary.json").is_file()
    again = CliRunner().invoke(cli, ["validate", str(scenario_file)])  # a later command
    assert again.exit_code == 0  # starts with nothing written


def test_a_killed_chart_child_is_a_worker_that_ended_not_an_internal_error(
    scenario_file, monkeypatch
):
    from frictionsim.results import drawing

    monkeypatch.delenv("FRICTIONSIM_DEBUG")
    if drawing._fork_context() is None:
        pytest.skip("no fork on this platform")

    def killed(*args):
        if args[4] == 1:  # the forked child's part: it dies without a word
            import os

            os._exit(9)
        return {}  # this process's part: drawn

    monkeypatch.setattr(drawing, "draw_part", killed)
    with pytest.raises(BrokenProcessPool, match="ended with code 9"):
        drawing.draw_split({"scenario": "x"}, None, None, (), ())


def _add_one(x):
    return x + 1


def test_numba_without_a_writable_cache_still_compiles(monkeypatch):
    """Neither the package's folder nor $HOME writable (a system user): numba cannot
    cache the compiled code, so it is compiled in each process instead of failing."""
    numba = pytest.importorskip("numba")
    from frictionsim.sim import fcfs

    real, asked = numba.njit, []

    def no_locator(*args, cache=False, **options):
        asked.append(cache)
        if cache:
            raise RuntimeError("cannot cache function '_add_one': no locator available")
        return real(*args, **options)

    monkeypatch.setattr(numba, "njit", no_locator)
    assert fcfs.jit(_add_one, nogil=True)(41) == 42
    assert asked[:2] == [True, False]  # (numba calls njit itself for what it compiles)


def test_matplotlib_s_notes_on_an_unwritable_home_stay_off_stderr(tmp_path):
    """With $HOME a file, matplotlib makes a temporary config folder and logs that it
    did; a command's stderr keeps to its one line."""
    import os
    import subprocess
    import sys

    home = tmp_path / "home"
    home.write_text("not a folder")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MPL", "XDG_"))}
    code = "import frictionsim.report.common"
    done = subprocess.run([sys.executable, "-c", code], env={**env, "HOME": str(home)},
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
