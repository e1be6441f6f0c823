"""The files of each kind of study, and the one writer that picks them by ``kind``.

A run's folder holds ``summary.json`` (the contract), ``funnel.csv`` (one row per
step and replication), ``distributions.json`` (histograms behind the irritation,
waiting and checkout-time charts), ``scenario.resolved.yaml`` (every default filled
in), ``run.json`` (seed, versions, command, runtime, scenario hash, overrides, and
the list of the files frictionsim wrote there), the PNG charts and
``report.md``/``report.html`` (:func:`write_run`). A comparison, sweep,
sensitivity analysis, optimisation or ranking of improvements writes ``NAME.json``
(its document), ``NAME.csv`` (its table: :func:`comparison_rows`,
:func:`optimum_rows`, :func:`improvement_rows` and the ``*_COLUMNS``), the resolved
scenarios, ``run.json``, its chart and its ``report.md``/``report.html``. Each folder
is written atomically by :func:`~frictionsim.results.atomic.write_folder`, which lists
every file in ``run.json``.

A folder's identity (``*_identity``) is what its results are of: the resolved
scenarios, overrides and options, but not the seed or replications; the command
line computes it before any work to refuse a folder of other results.

:func:`write_study` writes any study's result where its ``kind`` goes: the writer of
each kind is named in :data:`WRITERS` and looked up in this module when called (a
calibration writes the calibrated scenario and its fit files instead).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .atomic import write_folder, writing
from .folders import OPTIONAL_DOCUMENTS, identity, provenance
from .texts import csv_text, json_text, sha256


def run_identity(resolved_yaml: str) -> str:
    """A run's identity: its resolved scenario (file content and overrides applied). It
    is ``run:`` + ``scenario_sha256``, so folders written before ``identity`` was
    recorded are recognised too."""
    return f"run:{sha256(resolved_yaml)}"


def write_run(
    run: Any,
    out: Path,
    scenario_file: str | None = None,
    charts: bool = True,
    event_log: str | None = None,
    overrides: Sequence[str] = (),
    force: bool = False,
    render: Any = None,
) -> Path:
    """Write the results folder of a completed :class:`~frictionsim.studies.run.Run`.

    ``render``: draws the charts and pages, called as
    :func:`~frictionsim.report.render_report` is (which it is by default).

    With ``event_log`` ("csv" or "xes"), the replications' event parts in
    ``run.event_dir`` are merged into ``events.csv`` or ``events.xes``.
    ``overrides`` (the ``--set`` values the scenario was loaded with) are recorded
    in ``run.json`` and shown in every chart title and the report. A folder of
    another scenario (or other overrides) is replaced only with ``force``.
    """
    from ..scenario import scenario_to_yaml
    from ..stats import FUNNEL_COLUMNS, distributions, funnel_rows, word_of_mouth_data

    resolved = scenario_to_yaml(run.scenario)
    files = {
        "summary.json": json_text(run.summary),
        "funnel.csv": csv_text(funnel_rows(run.scenario, run.results), FUNNEL_COLUMNS),
        "scenario.resolved.yaml": resolved,
    }
    marker = provenance(
        scenario=run.scenario.name,
        scenario_file=scenario_file,
        scenario_sha256=sha256(resolved),
        overrides=list(overrides),
        identity=run_identity(resolved),
        seed=run.seed,
        replications=len(run.results),
        jobs=run.jobs,
        engine=getattr(run, "engine", None),
        **({"simpy_replications": n} if (n := getattr(run, "simpy_replications", 0)) else {}),
        runtime_seconds=round(run.runtime_seconds, 3),
        **({"precision": run.precision} if getattr(run, "precision", None) else {}),
        **({"uncertainty": run.uncertainty} if getattr(run, "uncertainty", None) else {}),
    )
    loop = None
    if run.scenario.word_of_mouth or run.scenario.repeat or run.scenario.base:
        loop = word_of_mouth_data(run.scenario, run.results)
        files[OPTIONAL_DOCUMENTS["word_of_mouth"]] = json_text(loop, inline_number_lists=True)
    dists = distributions(run.scenario, run.results)
    if dists is not None:
        files["distributions.json"] = json_text(dists, inline_number_lists=True)

    def extra(folder: Path) -> None:
        if event_log:
            from ..eventlog import write_log
            from ..execution import event_part

            parts = [event_part(run.event_dir, k) for k in range(len(run.results))]
            with writing(folder / f"events.{event_log}"):
                write_log(run.scenario, parts, folder / f"events.{event_log}", event_log)
        if charts:
            from ..report.notes import run_notes

            draw = render
            if draw is None:  # here; the CLI's workers draw (no matplotlib in this process)
                from ..report import render_report as draw
            drawn = draw(run.summary, dists, loop, overrides=overrides, notes=run_notes(marker))
            for name, content in drawn.items():
                with writing(folder / name):
                    (folder / name).write_bytes(content)

    return write_folder(out, files, extra, marker, force)


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
    chart: str | None,
    more: dict[str, str] | None = None,
    overrides: Sequence[str] = (),
    force: bool = False,
    **run: Any,
) -> Path:
    """Write the results folder of a comparison, sweep or sensitivity study atomically:
    ``NAME.json`` (the document), ``NAME.csv`` (its ``table``), the ``more`` files,
    ``run.json`` (provenance with the ``run`` fields) and, given the ``chart`` kind,
    its drawing of the document and its report, ``report.md`` and ``report.html``
    (overrides in their titles)."""
    files = {f"{name}.json": json_text(document), f"{name}.csv": table, **(more or {})}

    def draw(folder: Path) -> None:
        from ..report import render_study_report

        for file, content in render_study_report(chart, document, overrides).items():
            with writing(folder / file):
                (folder / file).write_bytes(content)

    marker = provenance(overrides=list(overrides), **run)
    return write_folder(out, files, draw if chart else None, marker, force)


def study_identity(kind: str, scenario: Any, *options: Any) -> str:
    """The identity (:func:`identity`) of a study of ``scenario`` (or of several
    scenarios, for a comparison) with ``options``."""
    from ..scenario import scenario_to_yaml

    scenarios = scenario if isinstance(scenario, (list, tuple)) else [scenario]
    return identity(kind, [scenario_to_yaml(s) for s in scenarios], *options)


def write_comparison(
    comparison: Any,
    out: Path,
    files: Sequence[str] = (),
    charts: bool = True,
    overrides: Sequence[str] = (),
    force: bool = False,
) -> Path:
    """Write the results folder of a :class:`~frictionsim.studies.compare.Comparison` atomically
    (``overrides``: the ``--set`` values applied to every design)."""
    from ..scenario import scenario_to_yaml

    doc = comparison.document
    resolved = {design.name: scenario_to_yaml(design) for design in comparison.designs}
    return _write_study(
        out,
        "comparison",
        doc,
        csv_text(comparison_rows(doc), COMPARISON_COLUMNS),
        "comparison" if charts else None,
        more={f"{name}.resolved.yaml": text for name, text in resolved.items()},
        overrides=overrides,
        force=force,
        kind="compare",
        identity=study_identity("compare", comparison.designs),
        designs=[d.name for d in comparison.designs],
        scenario_files=list(files),
        scenario_sha256={name: sha256(text) for name, text in resolved.items()},
        seed=comparison.seed,
        replications=comparison.replications,
        common_random_numbers=comparison.common_random_numbers,
        jobs=comparison.jobs,
        runtime_seconds=round(comparison.runtime_seconds, 3),
    )


def sweep_identity(scenario: Any, params: Sequence[str], points: Sequence[Sequence[str]]) -> str:
    """A sweep's identity: the scenario (overrides applied), parameters and points."""
    return study_identity("sweep", scenario, list(params), [list(p) for p in points])


def write_sweep(
    sweep: Any,
    out: Path,
    file: str | None = None,
    charts: bool = True,
    overrides: Sequence[str] = (),
    force: bool = False,
    scenario: Any = None,
) -> Path:
    """Write the results folder of a :class:`~frictionsim.studies.sweep.Sweep` atomically.
    ``scenario``: the swept scenario as loaded (overrides applied), for the folder's
    identity; without it a folder of another sweep is refused only for other points."""
    from ..studies.sweep import SWEEP_METRIC_COLUMNS, sweep_rows

    doc = sweep.document
    ident = (
        sweep_identity(scenario, sweep.params, sweep.points)
        if scenario is not None
        else identity("sweep", list(sweep.params), [list(p) for p in sweep.points])
    )
    return _write_study(
        out,
        "sweep",
        doc,
        csv_text(sweep_rows(doc), [*sweep.params, *SWEEP_METRIC_COLUMNS]),
        "sweep" if charts else None,
        overrides=overrides,
        force=force,
        kind="sweep",
        identity=ident,
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


def sensitivity_identity(
    scenario: Any, method: str, metric: str, delta: float, samples: int | None
) -> str:
    """A sensitivity analysis's identity: the scenario, method, metric, delta and (Sobol)
    samples."""
    return study_identity(
        "sensitivity",
        scenario,
        method,
        metric,
        float(delta),
        samples if method == "sobol" else None,
    )


def write_sensitivity(
    result: Any,
    out: Path,
    file: str | None = None,
    charts: bool = True,
    overrides: Sequence[str] = (),
    force: bool = False,
) -> Path:
    """Write the results folder of a
    :class:`~frictionsim.studies.sensitivity.Sensitivity` atomically."""
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
        "sensitivity" if charts else None,
        overrides=overrides,
        force=force,
        kind="sensitivity",
        identity=sensitivity_identity(
            result.scenario, result.method, result.metric, doc["delta_percent"], doc.get("samples")
        ),
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


def optimum_identity(scenario: Any, *options: Any) -> str:
    """An optimisation's identity: the scenario and the options that define it (the
    command passes its ``--param``, ``--values``, ``--objective`` and ``--constraint``)."""
    return study_identity("optimize", scenario, *options)


def _write_scenario_study(
    result: Any,
    out: Path,
    name: str,
    table: str,
    charts: bool,
    identity: str,
    file: str | None,
    overrides: Sequence[str],
    force: bool,
    **run: Any,
) -> Path:
    """The folder of a study of one scenario (optimize, improve): ``NAME.json``,
    ``NAME.csv``, the resolved scenario, provenance and, with ``charts``, the chart."""
    from ..scenario import scenario_to_yaml

    resolved = scenario_to_yaml(result.scenario)
    return _write_study(
        out,
        name,
        result.document,
        table,
        name if charts else None,
        more={"scenario.resolved.yaml": resolved},
        overrides=overrides,
        force=force,
        identity=identity,
        scenario=result.scenario.name,
        scenario_file=file,
        scenario_sha256=sha256(resolved),
        seed=result.seed,
        replications=result.replications,
        jobs=result.jobs,
        runtime_seconds=round(result.runtime_seconds, 3),
        **run,
    )


def write_optimum(
    result: Any,
    out: Path,
    file: str | None = None,
    charts: bool = True,
    overrides: Sequence[str] = (),
    force: bool = False,
    identity: str | None = None,
) -> Path:
    """Write the results folder of an :class:`~frictionsim.studies.optimize.Optimum`."""
    doc = result.document
    identity = identity or optimum_identity(
        result.scenario, doc["params"], doc["grid_points"], doc["objective"], doc["constraints"]
    )
    table = csv_text(optimum_rows(doc), OPTIMUM_COLUMNS)
    return _write_scenario_study(
        result, out, "optimum", table, charts, identity, file, overrides, force,
        kind="optimize", params=result.params,
    )  # fmt: skip


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
    result: Any,
    out: Path,
    file: str | None = None,
    charts: bool = True,
    overrides: Sequence[str] = (),
    force: bool = False,
    identity: str | None = None,
) -> Path:
    """Write the results folder of an :class:`~frictionsim.studies.improve.Improvements`."""
    doc = result.document
    identity = identity or study_identity("improve", result.scenario, sorted(set(doc["changes"])))
    table = csv_text(improvement_rows(doc), IMPROVEMENT_COLUMNS)
    return _write_scenario_study(
        result, out, "improvements", table, charts, identity, file, overrides, force,
        kind="improve",
    )  # fmt: skip


def _write_calibration(
    result: Any,
    out: Path,
    file: str | None = None,
    charts: bool = True,
    overrides: Sequence[str] = (),  # recorded in the calibrated scenario's values already
    force: bool = False,
) -> list[Path]:
    from ..studies.calibrate import write_calibration

    return write_calibration(result, out, file, chart=charts, force=force)


#: The writer of each kind of study result (its ``kind``), by name in this module.
WRITERS: dict[str, str] = {
    "run": "write_run",
    "compare": "write_comparison",
    "sweep": "write_sweep",
    "sensitivity": "write_sensitivity",
    "optimize": "write_optimum",
    "improve": "write_improvements",
    "calibrate": "_write_calibration",
}


def write_study(
    result: Any,
    out: Path,
    source: str | Sequence[str] | None = None,
    charts: bool = True,
    overrides: Sequence[str] = (),
    force: bool = False,
    **options: Any,
) -> Any:
    """Write any study's result (:mod:`frictionsim.studies`) where its ``kind`` goes: a
    results folder (atomically), or for a calibration the calibrated scenario and its
    fit files. ``source``: the scenario file (the files, for a comparison) recorded as
    provenance; ``overrides``: the ``--set`` values it was loaded with; ``options``:
    what one kind takes besides (``event_log`` of a run, the ``scenario`` of a sweep,
    the ``identity`` of an optimisation or ranking)."""
    kind = getattr(result, "kind", None)
    if kind not in WRITERS:
        raise TypeError(f"not a study result: {type(result).__name__}")
    writer = globals()[WRITERS[kind]]
    done = writer(result, out, source, charts, overrides=overrides, force=force, **options)
    WRITTEN.append(out)
    return done


#: What :func:`write_study` wrote in full, in order (the command says so when it is
#: interrupted afterwards).
WRITTEN: list[Path] = []
