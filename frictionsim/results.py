"""Results folders: written atomically, with provenance.

A run's folder holds ``summary.json`` (the contract), ``funnel.csv`` (one row
per step and replication), ``distributions.json`` (histograms behind the
irritation, waiting and checkout-time charts), ``scenario.resolved.yaml``
(every default filled in), ``run.json`` (seed, versions, command, runtime,
scenario hash), the PNG charts and ``report.md``/``report.html``. It is
assembled in a hidden sibling folder and renamed into place only when
complete, so an interrupted or failed run leaves either the previous folder or
the new one, never a half-written one. Ctrl-C and SIGTERM are held back for
the moment the previous folder is swapped for the new one, and hidden folders
left by a process that was killed outright (SIGKILL, power loss) are cleaned
up, or put back, by the next write. A folder that exists but is not a
frictionsim results folder (no ``run.json`` written by frictionsim) is never
overwritten.

:func:`write_report` redraws the charts and the report of an existing folder
from its stored documents, without simulating; each file it writes replaces
the previous one atomically (temporary file, then rename).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import platform
import re
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
#: Optional documents a report draws when present (written by other features).
OPTIONAL_DOCUMENTS = {
    "distributions": "distributions.json",
    "word_of_mouth": "word_of_mouth.json",
}


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


_NUMBER_LIST = re.compile(r"\[\s+([-+0-9.eE,\s]+?)\s+\]")


def json_text(data: Any, inline_number_lists: bool = False) -> str:
    """Stable JSON: fixed key order as given, no NaN (written as null). With
    ``inline_number_lists``, a list of numbers stays on one line (histograms)."""
    text = json.dumps(_no_nan(data), indent=2, allow_nan=False)
    if inline_number_lists:
        text = _NUMBER_LIST.sub(
            lambda m: "[" + ", ".join(x.strip() for x in m[1].split(",")) + "]", text
        )
    return text + "\n"


def _no_nan(value: Any) -> Any:
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_no_nan(v) for v in value]
    return value


#: Text that a spreadsheet would run as a formula (OWASP: CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def spreadsheet_safe(value: Any) -> Any:
    """A text cell that starts like a formula (``=``, ``+``, ``-``, ``@``, tab, CR), e.g.
    a ``--values`` item, prefixed with ``'`` so that spreadsheets show it as text.
    Numbers, and text that is a plain number (``-5``), are left alone."""
    if (
        isinstance(value, str)
        and value.startswith(_FORMULA_START)
        and not _PLAIN_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


def csv_text(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """CSV of ``rows`` in ``columns``: floats exactly (``repr``), text spreadsheet-safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([spreadsheet_safe(c) for c in columns])
    for row in rows:
        writer.writerow(
            [
                repr(v) if isinstance(v, float) else spreadsheet_safe(v)
                for v in (row.get(c, "") for c in columns)
            ]
        )
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
        shutil.rmtree(old, ignore_errors=True)  # interruptible: the new folder stands
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
    from .scenario import scenario_to_yaml
    from .stats import FUNNEL_COLUMNS, distributions, funnel_rows, word_of_mouth_data

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
                engine=getattr(run, "engine", None),
                runtime_seconds=round(run.runtime_seconds, 3),
            )
        ),
    }
    loop = None
    if run.scenario.word_of_mouth or run.scenario.repeat:
        loop = word_of_mouth_data(run.scenario, run.results)
        files[OPTIONAL_DOCUMENTS["word_of_mouth"]] = json_text(loop, inline_number_lists=True)
    dists = distributions(run.scenario, run.results)
    if dists is not None:
        files["distributions.json"] = json_text(dists, inline_number_lists=True)

    def extra(folder: Path) -> None:
        if event_log:
            from .eventlog import write_log
            from .experiment import event_part

            parts = [event_part(run.event_dir, k) for k in range(len(run.results))]
            write_log(run.scenario, parts, folder / f"events.{event_log}", event_log)
        if charts:
            from .report import render_report

            for name, content in render_report(run.summary, dists, loop).items():
                (folder / name).write_bytes(content)

    return write_folder(out, files, extra)


def _read_json(path: Path, folder: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultsError(f"{folder}: damaged results folder: {path.name} is missing") from None
    except UnicodeDecodeError:
        raise ResultsError(f"{path}: damaged, not UTF-8 text") from None
    except OSError as exc:
        raise ResultsError(f"{path}: cannot read it ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise ResultsError(
            f"{path}: damaged, not valid JSON (line {exc.lineno}, column {exc.colno})"
        ) from None


def read_results(folder: Path) -> dict[str, Any]:
    """The documents of a results folder: ``summary``, ``run`` and the optional
    ones of :data:`OPTIONAL_DOCUMENTS` (``None`` when absent).

    Raises :class:`ResultsError` with a one-line message for a missing folder,
    a folder that is not a results folder, and damaged or missing documents.
    """
    folder = Path(folder)
    if not folder.exists():
        raise ResultsError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise ResultsError(f"{folder}: is a file, not a results folder")
    if not (folder / MARKER).is_file():
        raise ResultsError(f"{folder}: not a frictionsim results folder (no {MARKER})")
    found: dict[str, Any] = {"run": _read_json(folder / MARKER, folder)}
    summary = _read_json(folder / "summary.json", folder)
    if not (
        isinstance(summary, dict)
        and isinstance(summary.get("metrics"), dict)
        and isinstance(summary.get("steps"), dict)
        and "scenario" in summary
    ):
        raise ResultsError(
            f"{folder / 'summary.json'}: damaged, lacks 'scenario', 'metrics' or 'steps'"
        )
    found["summary"] = summary
    for key, name in OPTIONAL_DOCUMENTS.items():
        path = folder / name
        found[key] = _read_json(path, folder) if path.exists() else None
    return found


def write_atomic(path: Path, content: bytes) -> None:
    """Replace ``path`` with ``content`` at once: write a temporary sibling, then rename."""
    tmp = path.parent / f".{path.name}.tmp-{os.getpid()}"
    try:
        tmp.write_bytes(content)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_report(folder: Path) -> list[Path]:
    """Redraw every chart and the report of a results folder from its stored
    documents (no simulation); return the files written."""
    from .report import CHART_FILES, render_report

    folder = Path(folder)
    if (folder / MARKER).is_file():
        for document, chart in STUDY_CHARTS.items():
            if (folder / document).is_file():
                return [_redraw_study(folder, document, chart)]
    found = read_results(folder)
    try:
        files = render_report(found["summary"], found["distributions"], found["word_of_mouth"])
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, ZeroDivisionError) as exc:
        raise ResultsError(
            f"{folder}: damaged results, cannot draw the report ({type(exc).__name__}: {exc})"
        ) from None
    written = []
    for name, content in files.items():
        write_atomic(folder / name, content)
        written.append(folder / name)
    for name in CHART_FILES:  # a chart whose data is gone must not outlive it
        if name not in files:
            (folder / name).unlink(missing_ok=True)
    return written


#: The document of a compare, sweep or sensitivity folder, and what draws its chart.
STUDY_CHARTS = {
    "comparison.json": "write_comparison_chart",
    "sweep.json": "write_sweep_chart",
    "sensitivity.json": "write_sensitivity_chart",
    "optimum.json": "write_optimum_chart",
    "improvements.json": "write_improvements_chart",
}


def _redraw_study(folder: Path, document: str, chart: str) -> Path:
    """Redraw the chart of a compare, sweep or sensitivity folder from its document."""
    import tempfile

    from . import report

    doc = _read_json(folder / document, folder)
    with tempfile.TemporaryDirectory(prefix=".redraw-", dir=folder) as tmp:
        try:
            drawn = getattr(report, chart)(doc, Path(tmp))
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            raise ResultsError(
                f"{folder / document}: damaged, cannot draw its chart ({type(exc).__name__}: {exc})"
            ) from None
        write_atomic(folder / drawn.name, drawn.read_bytes())
    return folder / drawn.name


COMPARISON_COLUMNS = (
    "design",
    "reference",
    "metric",
    "design_mean",
    "reference_mean",
    "difference",
    "ci_low",
    "ci_high",
    "relative",
    "significant",
    "method",
)


def comparison_rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per design (other than the reference) and metric: every metric of
    ``summary.json`` by its path, step and segment metrics included."""
    ref = document["reference"]
    rows = []
    for name, diffs in document["differences"].items():
        for metric, d in diffs.items():
            ci = d["ci95"] or ["", ""]
            rows.append(
                {
                    "design": name,
                    "reference": ref,
                    "metric": metric,
                    "design_mean": _level(document, name, metric),
                    "reference_mean": _level(document, ref, metric),
                    "difference": _blank(d["mean"]),
                    "ci_low": ci[0],
                    "ci_high": ci[1],
                    "relative": _blank(d["relative"]),
                    "significant": d["significant"],
                    "method": d["method"],
                }
            )
    return rows


def _level(document: dict[str, Any], design: str, metric: str) -> Any:
    """A design's mean of ``metric`` in a comparison; 0 for a count or money of a step
    the design does not have (nobody is lost there), blank otherwise."""
    described = document["metrics"][design].get(metric)
    return _blank(described["mean"]) if described else 0.0


def _blank(x: Any) -> Any:
    return "" if x is None or (isinstance(x, float) and x != x) else x


def _write_study(
    out: Path,
    name: str,
    document: dict[str, Any],
    table: str,
    chart: Callable[[dict[str, Any], Path], Any] | None,
    more: dict[str, str] | None = None,
    **run: Any,
) -> Path:
    """Write the results folder of a comparison, sweep or sensitivity study atomically:
    ``NAME.json`` (the document), ``NAME.csv`` (its ``table``), the ``more`` files,
    ``run.json`` (provenance with the ``run`` fields) and, given ``chart``, its
    drawing of the document."""
    files = {f"{name}.json": json_text(document), f"{name}.csv": table, **(more or {})}
    files[MARKER] = json_text(provenance(**run))
    return write_folder(out, files, (lambda d: chart(document, d)) if chart else None)


def write_comparison(comparison: Any, out: Path, files: Sequence[str] = (), charts: bool = True):
    """Write the results folder of a :class:`~frictionsim.experiment.Comparison` atomically."""
    from .report import write_comparison_chart
    from .scenario import scenario_to_yaml

    doc = comparison.document
    resolved = {design.name: scenario_to_yaml(design) for design in comparison.designs}
    return _write_study(
        out,
        "comparison",
        doc,
        csv_text(comparison_rows(doc), COMPARISON_COLUMNS),
        write_comparison_chart if charts else None,
        more={f"{name}.resolved.yaml": text for name, text in resolved.items()},
        kind="compare",
        designs=[d.name for d in comparison.designs],
        scenario_files=list(files),
        scenario_sha256={name: sha256(text) for name, text in resolved.items()},
        seed=comparison.seed,
        replications=comparison.replications,
        common_random_numbers=comparison.common_random_numbers,
        jobs=comparison.jobs,
        runtime_seconds=round(comparison.runtime_seconds, 3),
    )


def write_sweep(sweep: Any, out: Path, file: str | None = None, charts: bool = True) -> Path:
    """Write the results folder of a :class:`~frictionsim.sweeps.Sweep` atomically."""
    from .report import write_sweep_chart
    from .sweeps import SWEEP_METRIC_COLUMNS, sweep_rows

    doc = sweep.document
    return _write_study(
        out,
        "sweep",
        doc,
        csv_text(sweep_rows(doc), [*sweep.params, *SWEEP_METRIC_COLUMNS]),
        write_sweep_chart if charts else None,
        kind="sweep",
        scenario_file=file,
        params=sweep.params,
        points=len(sweep.points),
        seed=sweep.seed,
        replications=sweep.replications,
        jobs=sweep.jobs,
    )


SENSITIVITY_COLUMNS = {
    "oat": (
        "rank",
        "parameter",
        "value",
        "low",
        "high",
        "low_mean",
        "high_mean",
        "effect",
        "ci_low",
        "ci_high",
        "significant",
    ),
    "sobol": ("rank", "parameter", "value", "low", "high", "S1", "S1_conf", "ST", "ST_conf"),
}


def write_sensitivity(result: Any, out: Path, file: str | None = None, charts: bool = True):
    """Write the results folder of a :class:`~frictionsim.sweeps.Sensitivity` atomically."""
    from .report import write_sensitivity_chart

    doc = result.document
    columns = SENSITIVITY_COLUMNS[doc["method"]]
    rows = []
    for r in doc["parameters"]:
        row = {k: r[k] for k in columns if k in r}
        if "ci95" in r:
            row["ci_low"], row["ci_high"] = r["ci95"] or ["", ""]
        rows.append(row)
    return _write_study(
        out,
        "sensitivity",
        doc,
        csv_text(rows, columns),
        write_sensitivity_chart if charts else None,
        kind="sensitivity",
        scenario=result.scenario.name,
        scenario_file=file,
        method=result.method,
        metric=result.metric,
        seed=result.seed,
        jobs=result.jobs,
        runtime_seconds=round(result.runtime_seconds, 3),
    )


OPTIMUM_COLUMNS = ("point", "feasible", "metric", "mean", "sd", "ci_low", "ci_high")


def optimum_rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    """``optimum.csv``: one row per evaluated point and metric (objective, constraints)."""
    rows = []
    for point in document["evaluated"]:
        label = ";".join(f"{p}={v}" for p, v in point["values"].items())
        for metric, d in point["metrics"].items():
            ci = d["ci95"] or ["", ""]
            rows.append(
                {
                    "point": label,
                    "feasible": point["feasible"],
                    "metric": metric,
                    "mean": _blank(d["mean"]),
                    "sd": _blank(d["sd"]),
                    "ci_low": ci[0],
                    "ci_high": ci[1],
                }
            )
    return rows


def write_optimum(result: Any, out: Path, file: str | None = None, charts: bool = True) -> Path:
    """Write the results folder of an :class:`~frictionsim.studies.optimize.Optimum`."""
    from .report import write_optimum_chart
    from .scenario import scenario_to_yaml

    doc = result.document
    resolved = scenario_to_yaml(result.scenario)
    return _write_study(
        out,
        "optimum",
        doc,
        csv_text(optimum_rows(doc), OPTIMUM_COLUMNS),
        write_optimum_chart if charts else None,
        more={"scenario.resolved.yaml": resolved},
        kind="optimize",
        scenario=result.scenario.name,
        scenario_file=file,
        scenario_sha256=sha256(resolved),
        params=result.params,
        seed=result.seed,
        replications=result.replications,
        jobs=result.jobs,
        runtime_seconds=round(result.runtime_seconds, 3),
    )


IMPROVEMENT_COLUMNS = (
    "rank",
    "step",
    "change",
    "metric",
    "difference",
    "ci_low",
    "ci_high",
    "per_year",
    "per_year_ci_low",
    "per_year_ci_high",
    "significant",
)


def improvement_rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    """``improvements.csv``: one row per step, change and metric (differences from the
    unchanged design; money also per year)."""
    factor = document["per_year_factor"]
    rows = []
    for r in document["improvements"]:
        for metric, d in r["differences"].items():
            ci = d["ci95"] or ["", ""]
            money = metric in ("revenue", "profit")
            rows.append(
                {
                    "rank": r["rank"],
                    "step": r["step"],
                    "change": r["change"],
                    "metric": metric,
                    "difference": _blank(d["mean"]),
                    "ci_low": ci[0],
                    "ci_high": ci[1],
                    "per_year": _blank(d["mean"] * factor) if money and d["mean"] else "",
                    "per_year_ci_low": ci[0] * factor if money and d["ci95"] else "",
                    "per_year_ci_high": ci[1] * factor if money and d["ci95"] else "",
                    "significant": d["significant"],
                }
            )
    return rows


def write_improvements(
    result: Any, out: Path, file: str | None = None, charts: bool = True
) -> Path:
    """Write the results folder of an :class:`~frictionsim.studies.improve.Improvements`."""
    from .report import write_improvements_chart
    from .scenario import scenario_to_yaml

    doc = result.document
    resolved = scenario_to_yaml(result.scenario)
    return _write_study(
        out,
        "improvements",
        doc,
        csv_text(improvement_rows(doc), IMPROVEMENT_COLUMNS),
        write_improvements_chart if charts else None,
        more={"scenario.resolved.yaml": resolved},
        kind="improve",
        scenario=result.scenario.name,
        scenario_file=file,
        scenario_sha256=sha256(resolved),
        seed=result.seed,
        replications=result.replications,
        jobs=result.jobs,
        runtime_seconds=round(result.runtime_seconds, 3),
    )
