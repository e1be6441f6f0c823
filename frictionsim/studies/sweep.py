"""The sweep study: one scenario, many parameter values, the same seeds.

A sweep runs a scenario at every value of one parameter (or every
combination of two: a grid). Values are applied through the same ``--set``
override machinery as ``frictionsim run --set``, so a bad path or value is
reported as a located ``--set:N:COL: path: message`` line before anything
runs. Every point uses the same replication seeds (common random numbers), so
the curve moves only because the parameter does, and is smooth.

A long sweep records each finished point in a hidden *partial file* next to
its output folder (one JSON line per point, after a fingerprint of the whole
sweep). Interrupted, it leaves that file and no results folder; run again
with ``resume=True`` and finished points are read back instead of simulated.
Per-replication metrics round-trip exactly through JSON, so a resumed sweep
writes the same bytes as an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation, Overflow, localcontext
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import OptionError, ScenarioError
from ..execution import Execution, Progress, open_execution, replication_seeds
from ..frames import FrameMixin
from ..metrics import check_path, check_path_everywhere, flat_values, paths
from ..scenario import Scenario, scenario_to_yaml, vary
from ..stats import describe

#: More points than this in one sweep is almost certainly a typo in ``--values``.
MAX_POINTS = 10_000
#: Scenario keys a sweep cannot vary: they say how the points are run, not what is run.
NOT_SWEPT = ("seed", "replications")
#: Bounds START, STOP and STEP of a ``--values`` range (any scenario value is far smaller).
MAX_VALUE = Decimal("1e15")


def check_metric(metric: str, scenario: Scenario | None = None) -> str:
    """``metric`` if it is the path of a metric in ``summary.json`` (of ``scenario``, when
    given: its steps and segments), else an :class:`OptionError` with the closest names."""
    return check_path(metric, scenario)


def parse_values(text: str) -> list[str]:
    """``--values``: a list ``5,10,15`` or an inclusive range ``START:STOP:STEP``.

    List items are kept as text (``120/h`` and ``2min`` are fine: the scenario
    validates them). A range is computed in decimal, so ``0:0.3:0.1`` gives
    ``0, 0.1, 0.2, 0.3`` exactly.
    """
    text = text.strip()
    if ":" in text and "," not in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise OptionError(f"--values '{text}': a range is START:STOP:STEP, e.g. 5:20:5")
        try:
            start, stop, step = (Decimal(p.strip()) for p in parts)
        except InvalidOperation:
            raise OptionError(
                f"--values '{_cut(text)}': START, STOP and STEP of a range must be numbers"
            ) from None
        if not all(x.is_finite() and x.copy_abs() <= MAX_VALUE for x in (start, stop, step)):
            raise OptionError(
                f"--values '{_cut(text)}': START, STOP and STEP must be finite numbers "
                f"of at most {MAX_VALUE:.0e} in size"
            )
        if step <= 0:
            raise OptionError(f"--values '{_cut(text)}': STEP must be a positive number")
        if stop < start:
            raise OptionError(f"--values '{_cut(text)}': STOP is below START")
        if stop - start >= step * MAX_POINTS:
            with localcontext() as ctx:
                ctx.traps[Overflow] = False  # a tiny STEP: the count is only shown
                many = (stop - start) / step + 1
            raise OptionError(
                f"--values '{_cut(text)}': {_count(many)} values, at most {MAX_POINTS}"
            )
        count = int((stop - start) / step) + 1
        return [_decimal_text(start + k * step) for k in range(count)]
    values = [v.strip() for v in text.split(",")]
    if not text or any(not v for v in values):
        raise OptionError(
            f"--values '{_cut(text)}': expected values like 5,10,15 or a range 5:20:5"
        )
    if len(values) > MAX_POINTS:
        raise OptionError(f"--values: {len(values)} values, at most {MAX_POINTS}")
    return values


def _cut(text: str, limit: int = 60) -> str:
    """``text`` as shown in a message: at most ``limit`` characters."""
    return text if len(text) <= limit else text[: limit - 1] + f"… ({len(text)} characters)"


def _count(x: Decimal) -> str:
    return (
        f"{int(x):,}" if x < 10**15 else "more than 1e+15" if x.is_infinite() else f"{float(x):.2g}"
    )


def _decimal_text(x: Decimal) -> str:
    text = format(x.normalize(), "f")
    return "0" if text in ("-0", "") else text


@dataclass
class Sweep(FrameMixin):
    """Every point of a sweep, described across its replications."""

    kind = "sweep"

    params: list[str]
    points: list[tuple[str, ...]]  # one value per parameter
    seed: int
    replications: int
    metric: str  # the one charted
    rows: list[list[dict[str, float]]]  # per point, per replication: every metric by path
    document: dict[str, Any]  # sweep.json
    runtime_seconds: float
    jobs: int
    resumed_points: int
    damaged_lines: int = 0  # partial-file lines that could not be used (simulated again)

    def replication_values(self) -> list[dict[str, Any]]:
        """Every metric of every point and replication, with the point's parameter values."""
        return [
            {**dict(zip(self.params, point)), "replication": k, **row}
            for point, reps in zip(self.points, self.rows)
            for k, row in enumerate(reps)
        ]


def sweep_points(
    source: Scenario,
    params: Sequence[tuple[str, Sequence[str]]],
    overrides: Sequence[str] = (),
) -> tuple[list[tuple[str, ...]], list[Scenario]]:
    """Every combination of the values, and its validated scenario: the ``source``
    scenario with ``overrides``, then each point's values (:func:`vary`: no file is
    read again).

    Raises one :class:`ScenarioError` with the problems of every point.
    """
    if not 1 <= len(params) <= 2:
        raise OptionError("a sweep takes one --param (a curve) or two (a grid)")
    names = [p for p, _ in params]
    if len(set(names)) != len(names):
        raise OptionError(f"--param {names[0]} is given twice")
    for name in names:
        if name.strip() in NOT_SWEPT:
            raise OptionError(
                f"--param {name.strip()}: every point of a sweep runs with the same seeds and "
                f"replications (common random numbers); choose them with "
                f"--{name.strip()}, or run one sweep per value"
            )
    params = [(p, grid_values(v)) for p, v in params]
    points = list(itertools.product(*(v for _, v in params)))
    if not points:
        raise OptionError("--values is empty")
    if len(points) > MAX_POINTS:
        raise OptionError(f"{len(points)} points; a sweep has at most {MAX_POINTS}")
    if not isinstance(source, Scenario):
        raise TypeError(
            f"a sweep takes a Scenario, not {type(source).__name__}: "
            "frictionsim.load_scenario(path) reads one"
        )
    base = vary(source, overrides)
    scenarios, problems = [], []
    for point in points:
        sets = [f"{name}={value}" for name, value in zip(names, point)]
        try:
            scenarios.append(vary(base, sets))
        except ScenarioError as exc:
            problems.extend(p for p in exc.problems if p not in problems)
    if problems:
        raise ScenarioError(problems)
    return points, scenarios


def grid_values(values: Any) -> list[str]:
    """The values of one parameter as ``--values`` gives them, text: a Python caller's
    numbers (``[1, 2]``) become ``"1"``, ``"2"``, and one text value stays one value
    (``"12"`` is twelve, not ``"1"`` and ``"2"``)."""
    if isinstance(values, (str, bytes, int, float)):
        values = [values]
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (str, int, float)):
            raise OptionError(f"--values: expected text or numbers, got {v!r:.60}")
        out.append(str(v))
    return out


def partial_path(out: Path) -> Path:
    """The hidden file next to ``out`` where a sweep records its finished points
    (``.NAME.partial.jsonl``; a digest of ``NAME`` when that is too long a file name)."""
    out = Path(out)
    name = f".{out.name}.partial.jsonl"
    if len(os.fsencode(name)) > 255:
        digest = hashlib.sha256(os.fsencode(out.name)).hexdigest()[:16]
        name = f".frictionsim-{digest}.partial.jsonl"
    return out.parent / name


def _fingerprint(
    params: Sequence[str], points: Sequence[tuple[str, ...]], scenarios, seed, replications
) -> str:
    h = hashlib.sha256()
    h.update(json.dumps([list(params), [list(p) for p in points], seed, replications]).encode())
    for scenario in scenarios:
        h.update(scenario_to_yaml(scenario).encode())
    return h.hexdigest()


def _read_partial(
    path: Path, fingerprint: str, required: Sequence[set[str]], replications: int
) -> tuple[dict[int, list[dict[str, float]]], int]:
    """Finished points recorded in ``path``, and how many lines could not be used.

    A line that is not a finished point of this sweep (the line being written when
    the sweep was stopped, or a damaged one) is skipped: its point is simulated
    again, with the same seeds, so the results are the same either way.
    """
    done: dict[int, list[dict[str, float]]] = {}
    if not path.exists():
        return done, 0
    try:
        if not path.is_file():
            raise OSError(0, "not a regular file")
        lines = path.read_bytes().decode("utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise OptionError(
            f"{path}: cannot read the sweep's partial file ({exc.strerror}); "
            "delete it or run without --resume"
        ) from None
    try:
        head = json.loads(lines[0]) if lines else {}
    except (ValueError, RecursionError):
        head = {}
    if not isinstance(head, dict) or head.get("sweep") != fingerprint:
        raise OptionError(
            f"{path} records a different sweep (another scenario, --param, --values, seed or "
            "replications) or is damaged; delete it or run without --resume"
        )
    skipped = 0
    for line in lines[1:]:
        rows = _finished_point(line, required, replications)
        if rows is None:
            skipped += 1
        else:
            done[rows[0]] = rows[1]
    return done, skipped


def _finished_point(
    line: str, required: Sequence[set[str]], replications: int
) -> tuple[int, list[dict[str, float]]] | None:
    """``(point, metrics per replication)`` of one partial-file line, or None if damaged."""
    try:
        entry = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if not isinstance(entry, dict):
        return None
    k, rows = entry.get("point"), entry.get("metrics")
    if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k < len(required):
        return None
    if not isinstance(rows, list) or len(rows) != replications:
        return None
    for row in rows:
        if not isinstance(row, dict) or not required[k] <= set(row):
            return None
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in row.values()):
            return None
    return k, rows


def _append(path: Path, entry: dict[str, Any]) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")
        f.flush()
        os.fsync(f.fileno())


def sweep(
    scenario: Scenario,
    params: Sequence[tuple[str, Sequence[str]]],
    overrides: Sequence[str] = (),
    seed: int | None = None,
    replications: int | None = None,
    metric: str = "conversion_rate",
    jobs: int | None = None,
    progress: Progress | None = None,
    engine: str = "auto",
    scheduler: str | None = None,
    partial: Path | None = None,
    resume: bool = False,
    force: bool = False,
    execution: Execution | None = None,
) -> Sweep:
    """Run ``scenario`` at every point of ``params`` (``[(path, values)]``); each point
    is the scenario varied by :func:`~frictionsim.scenario.vary`.

    Seed and replications default to those of the scenario as loaded (first
    point). ``partial``: where finished points are recorded as they complete;
    with ``resume`` the points already there are not simulated again (and count as
    done in the progress). ``force`` runs a sweep beyond the size limits;
    ``execution``: run in this open execution (its jobs, engine, progress, force).
    """
    points, scenarios = sweep_points(scenario, params, overrides)
    names = [p for p, _ in params]
    labels = [", ".join(f"{n}={v}" for n, v in zip(names, p)) for p in points]
    check_path_everywhere(metric, scenarios, labels)
    seed = scenarios[0].seed if seed is None else seed
    replications = scenarios[0].replications if replications is None else replications
    with open_execution(execution, jobs, engine, scheduler, progress, force) as ex:
        ex.plan(
            [(s, replications) for s in scenarios],
            study="sweep",
            advice="use fewer --values or replications",
            labels=labels,
        )
        return _sweep(ex, names, points, scenarios, seed, replications, metric, partial, resume)


def _sweep(
    ex: Execution,
    names: list[str],
    points: list[tuple[str, ...]],
    scenarios: list[Scenario],
    seed: int,
    replications: int,
    metric: str,
    partial: Path | None,
    resume: bool,
) -> Sweep:
    start = time.perf_counter()
    fingerprint = _fingerprint(names, points, scenarios, seed, replications)
    done: dict[int, list[dict[str, float]]] = {}
    damaged = 0
    if partial is not None:
        if resume:
            required = [set(paths(s)) for s in scenarios]
            done, damaged = _read_partial(partial, fingerprint, required, replications)
        if not resume or not partial.is_file():
            partial.parent.mkdir(parents=True, exist_ok=True)
            partial.write_text(json.dumps({"sweep": fingerprint}) + "\n", encoding="utf-8")
    resumed = len(done)
    ex.report(ex.done + resumed * replications)
    seeds = replication_seeds(seed, replications)
    todo = [k for k in range(len(points)) if k not in done]
    tasks = [t for k in todo for t in ex.tasks(scenarios[k], seeds)]
    pending: dict[int, dict[int, dict[str, float]]] = {}

    def on_result(i: int, result: Any) -> None:
        k, rep = todo[i // replications], i % replications
        pending.setdefault(k, {})[rep] = flat_values(result, scenarios[k])
        if len(pending[k]) == replications:
            finished = pending.pop(k)
            done[k] = [finished[r] for r in range(replications)]
            if partial is not None:
                _append(partial, {"point": k, "metrics": done[k]})

    ex.map(tasks, on_result)
    rows = [done[k] for k in range(len(points))]
    document = sweep_document(names, points, rows, seed, metric, scenarios[0].name)
    return Sweep(
        names,
        points,
        seed,
        replications,
        metric,
        rows,
        document,
        time.perf_counter() - start,
        ex.jobs,
        resumed,
        damaged,
    )


def sweep_document(
    params: Sequence[str],
    points: Sequence[tuple[str, ...]],
    rows: Sequence[Sequence[dict[str, float]]],
    seed: int,
    metric: str,
    scenario: str | None = None,
) -> dict[str, Any]:
    """The ``sweep.json`` document: every point's metrics across replications.
    ``scenario``: the name of the swept scenario (for chart titles)."""
    return {
        "scenario": scenario,
        "params": list(params),
        "seed": seed,
        "replications": len(rows[0]),
        "metric": metric,
        "frictionsim_version": __version__,
        "points": [
            {
                "values": dict(zip(params, point)),
                "metrics": {
                    m: describe([r.get(m, math.nan) for r in reps], metric=m) for m in reps[0]
                },
            }
            for point, reps in zip(points, rows)
        ],
    }


SWEEP_METRIC_COLUMNS = ("metric", "mean", "sd", "ci_low", "ci_high")


def sweep_rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    """``sweep.csv``: one row per point and metric."""
    rows = []
    for point in document["points"]:
        for metric, d in point["metrics"].items():
            ci = d["ci95"] or ["", ""]
            rows.append(
                {
                    **point["values"],
                    "metric": metric,
                    "mean": "" if d["mean"] is None else d["mean"],
                    "sd": "" if d["sd"] is None else d["sd"],
                    "ci_low": ci[0],
                    "ci_high": ci[1],
                }
            )
    return rows


__all__ = [
    "Sweep",
    "check_metric",
    "grid_values",
    "parse_values",
    "partial_path",
    "sweep",
    "sweep_document",
    "sweep_points",
    "sweep_rows",
]
