"""Results folders: written atomically, with provenance.

A run's folder holds ``summary.json`` (the contract), ``funnel.csv`` (one row
per step and replication), ``scenario.resolved.yaml`` (every default filled
in), ``run.json`` (seed, versions, command, runtime, scenario hash) and the
PNG charts. It is assembled in a hidden sibling folder and renamed into place
only when complete, so an interrupted or failed run leaves either the previous
folder or the new one, never a half-written one. Ctrl-C and SIGTERM are held
back for the moment the previous folder is swapped for the new one, and hidden
folders left by a process that was killed outright (SIGKILL, power loss) are
cleaned up, or put back, by the next write. A folder that exists but is not a
frictionsim results folder (no ``run.json`` written by frictionsim) is never
overwritten.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import platform
import shutil
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import ResultsError

#: The file that marks a folder as a frictionsim results folder.
MARKER = "run.json"


def is_results_folder(folder: Path) -> bool:
    """Whether ``folder`` holds a ``run.json`` written by frictionsim."""
    try:
        data = json.loads((Path(folder) / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "frictionsim_results" in data


def check_writable(out: Path) -> None:
    """Refuse, before any work, an output path that must not be replaced."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ResultsError(f"{out}: exists and is a file, not a results folder")
    if out.is_dir() and any(out.iterdir()) and not is_results_folder(out):
        raise ResultsError(
            f"{out}: exists and is not a frictionsim results folder (no {MARKER}); "
            "refusing to overwrite it, choose another --out"
        )
    parent = out.parent if out.parent != Path("") else Path(".")
    if parent.exists() and not os.access(parent, os.W_OK):
        raise ResultsError(f"{parent}: cannot write here")


def json_text(data: Any) -> str:
    """Stable JSON: fixed key order as given, no NaN (written as null)."""
    return json.dumps(_no_nan(data), indent=2, allow_nan=False) + "\n"


def _no_nan(value: Any) -> Any:
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_no_nan(v) for v in value]
    return value


def csv_text(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: repr(v) if isinstance(v, float) else v for k, v in row.items()})
    return buffer.getvalue()


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def versions() -> dict[str, str]:
    """Versions of frictionsim, Python and the libraries that shape results."""
    from importlib.metadata import PackageNotFoundError, version

    from . import __version__

    found = {"frictionsim": __version__, "python": platform.python_version()}
    for name in ("numpy", "simpy", "scipy", "pydantic", "matplotlib"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "unknown"
    return found


def write_folder(
    out: Path, files: dict[str, str], extra: Callable[[Path], Any] | None = None
) -> Path:
    """Write ``files`` (name → text) and ``extra(folder)`` output into ``out`` atomically."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    recover_stale(out)
    check_writable(out)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    swapped = False
    try:
        tmp.mkdir()
        for name, text in files.items():
            (tmp / name).write_text(text, encoding="utf-8")
        if extra is not None:
            extra(tmp)
        with _signals_held():
            if out.exists():
                out.rename(old)
            tmp.rename(out)
            swapped = True
            shutil.rmtree(old, ignore_errors=True)
    except KeyboardInterrupt:
        if swapped:  # held back during the swap: the new folder is complete, so it stands
            shutil.rmtree(old, ignore_errors=True)
            return out
        shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not out.exists():
            old.rename(out)
        raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not out.exists():
            old.rename(out)  # put the previous results back
        raise
    return out


def _stale_folders(out: Path) -> Iterator[tuple[Path, str, int]]:
    """Hidden ``.NAME.tmp-PID`` / ``.NAME.old-PID`` siblings of ``out``."""
    prefix = f".{out.name}."
    for path in out.parent.iterdir():
        kind, _, pid = path.name.removeprefix(prefix).partition("-")
        if path.name.startswith(prefix) and kind in ("tmp", "old") and pid.isdigit():
            yield path, kind, int(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def recover_stale(out: Path) -> None:
    """Clean up after a write that was killed outright (no chance to tidy up).

    A ``.old`` folder with no ``out`` beside it is the previous results, moved
    aside just before the kill: it is put back. Everything else of a process
    that no longer runs is a half-written folder and is removed.
    """
    out = Path(out)
    if not out.parent.is_dir():
        return
    for path, kind, pid in sorted(_stale_folders(out), key=lambda t: t[1]):
        if pid == os.getpid() or _alive(pid):
            continue  # another run writing the same folder right now
        if kind == "old" and not out.exists() and is_results_folder(path):
            path.rename(out)
        else:
            shutil.rmtree(path, ignore_errors=True)


@contextmanager
def _signals_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back while the old folder is swapped for the new one."""
    signals = {signal.SIGINT, signal.SIGTERM}
    try:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    except (AttributeError, ValueError, OSError):  # not POSIX, or not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def provenance(**fields: Any) -> dict[str, Any]:
    """The ``run.json`` document: what was run, with what, and how long it took."""
    return {
        "frictionsim_results": 1,
        **fields,
        "versions": versions(),
        "platform": platform.platform(),
        "command": sys.argv,
    }


def write_run(run: Any, out: Path, scenario_file: str | None = None, charts: bool = True) -> Path:
    """Write the results folder of a completed :class:`~frictionsim.experiment.Run`."""
    from .report import write_charts
    from .scenario import scenario_to_yaml
    from .stats import FUNNEL_COLUMNS, funnel_rows

    resolved = scenario_to_yaml(run.scenario)
    files = {
        "summary.json": json_text(run.summary),
        "funnel.csv": csv_text(funnel_rows(run.scenario, run.results), FUNNEL_COLUMNS),
        "scenario.resolved.yaml": resolved,
        MARKER: json_text(
            provenance(
                scenario=run.scenario.name,
                scenario_file=scenario_file,
                scenario_sha256=sha256(resolved),
                seed=run.seed,
                replications=len(run.results),
                jobs=run.jobs,
                runtime_seconds=round(run.runtime_seconds, 3),
            )
        ),
    }
    return write_folder(out, files, (lambda d: write_charts(run.summary, d)) if charts else None)
