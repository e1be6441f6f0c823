"""Results folders: written atomically, with provenance.

A run's folder holds ``summary.json`` (the contract), ``funnel.csv`` (one row
per step and replication), ``scenario.resolved.yaml`` (every default filled
in), ``run.json`` (seed, versions, command, runtime, scenario hash) and the
PNG charts. It is assembled in a hidden sibling folder and renamed into place
only when complete, so an interrupted or failed run leaves either the previous
folder or the new one, never a half-written one. A folder that exists but is
not a frictionsim results folder is never overwritten.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import platform
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .errors import ResultsError

#: The file that marks a folder as a frictionsim results folder.
MARKER = "run.json"


def check_writable(out: Path) -> None:
    """Refuse, before any work, an output path that must not be replaced."""
    if out.exists() and not out.is_dir():
        raise ResultsError(f"{out}: exists and is a file, not a results folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
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
    check_writable(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir()
        for name, text in files.items():
            (tmp / name).write_text(text, encoding="utf-8")
        if extra is not None:
            extra(tmp)
        if out.exists():
            out.rename(old)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not out.exists():
            old.rename(out)  # put the previous results back
        raise
    shutil.rmtree(old, ignore_errors=True)
    return out


def provenance(**fields: Any) -> dict[str, Any]:
    """The ``run.json`` document: what was run, with what, and how long it took."""
    return {
        "frictionsim_results": 1,
        **fields,
        "versions": versions(),
        "platform": platform.platform(),
        "command": sys.argv,
    }


def write_run(
    run: Any,
    out: Path,
    scenario_file: str | None = None,
    charts: bool = True,
    event_log: str | None = None,
) -> Path:
    """Write the results folder of a completed :class:`~frictionsim.experiment.Run`.

    With ``event_log`` ("csv" or "xes"), the replications' event parts in
    ``run.event_dir`` are merged into ``events.csv`` or ``events.xes``.
    """
    from .report import write_charts
    from .scenario import scenario_to_yaml
    from .stats import FUNNEL_COLUMNS, funnel_rows, word_of_mouth_data

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
    if run.scenario.word_of_mouth or run.scenario.repeat:
        files["word_of_mouth.json"] = json_text(word_of_mouth_data(run.scenario, run.results))

    def extra(folder: Path) -> None:
        if event_log:
            from .eventlog import write_log
            from .experiment import event_part

            parts = [event_part(run.event_dir, k) for k in range(len(run.results))]
            write_log(run.scenario, parts, folder / f"events.{event_log}", event_log)
        if charts:
            write_charts(run.summary, folder)

    return write_folder(out, files, extra)
