"""What the documents of a results folder must look like, checked when they are read back.

``frictionsim report DIR`` draws from files that anyone may have edited, truncated or
replaced. Each document is opened as a regular file of bounded size (not a folder, a
pipe, a device, a broken link), parsed, and checked against the shape its writer gives
it, so that a damaged one is reported as one line naming the file and the key, e.g.
``res/summary.json: damaged: metrics.visitors.mean: expected a number or null, got
text 'many'``, instead of a traceback from deep inside a chart. Keys the checks do not
know are allowed (newer versions add metrics); the keys the report reads are required.

This module reads and checks; it knows nothing of simulations or charts.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import stat
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .errors import ResultsError

#: A JSON document larger than this is refused unread.
MAX_DOCUMENT_BYTES = 64 * 2**20
#: ``funnel.csv`` (one row per step and replication) may be larger.
MAX_TABLE_BYTES = 1024 * 2**20
#: Steps, segments, designs, points, parameters, histogram bins: at most this many.
MAX_ITEMS = 100_000

#: Columns of ``funnel.csv`` (as ``stats.FUNNEL_COLUMNS``, which this layer cannot import).
FUNNEL_COLUMNS = (
    "replication",
    "step",
    "entered",
    "completed",
    "abandoned_friction",
    "abandoned_exit",
    "reneged",
    "failed_attempts",
    "waited",
    "wait_total",
    "mean_wait",
)


class Damaged(Exception):
    """A value that does not have the shape its document gives it (``where``: key path)."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}" if where else message)


# ------------------------------------------------------------------ reading files


def read_bytes(path: Path, limit: int = MAX_DOCUMENT_BYTES) -> bytes:
    """The bytes of the regular file ``path``, or a :class:`ResultsError` saying why not."""
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise ResultsError(f"{path}: damaged, a broken symbolic link") from None
        raise ResultsError(
            f"{path.parent}: damaged results folder: {path.name} is missing"
        ) from None
    except OSError as exc:  # a link loop, a name too long, no permission
        raise ResultsError(f"{path}: cannot read it ({exc.strerror})") from None
    if stat.S_ISDIR(info.st_mode):
        raise ResultsError(f"{path}: damaged, a folder where a file should be")
    if not stat.S_ISREG(info.st_mode):
        raise ResultsError(f"{path}: damaged, not a regular file (a device, pipe or socket)")
    if info.st_size > limit:
        raise ResultsError(
            f"{path}: damaged, too large ({info.st_size:,} bytes; at most {limit:,})"
        )
    try:
        with path.open("rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise ResultsError(f"{path}: cannot read it ({exc.strerror})") from None
    if len(data) > limit:
        raise ResultsError(f"{path}: damaged, too large (more than {limit:,} bytes)")
    return data


def read_text(path: Path, limit: int = MAX_DOCUMENT_BYTES) -> str:
    data = read_bytes(path, limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ResultsError(f"{path}: damaged, not UTF-8 text (byte {exc.start + 1})") from None


def read_json(path: Path) -> Any:
    """The parsed JSON document ``path`` (any shape; :func:`check` says if it is right)."""
    text = read_text(path)
    if not text.strip():
        raise ResultsError(f"{path}: damaged, empty")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultsError(
            f"{path}: damaged, not valid JSON (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise ResultsError(f"{path}: damaged, lists or mappings nested too deeply") from None
    except ValueError as exc:
        if "integer string conversion" in str(exc):
            reason = "a number of more than 4,300 digits"  # Python's limit
        else:
            reason = " ".join(str(exc).split())[:80]
        raise ResultsError(f"{path}: damaged, not valid JSON ({reason})") from None


# ------------------------------------------------------------------ shapes

Check = Callable[[Any, str], None]


def _got(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
        if isinstance(value, int) and abs(value) > MAX_WHOLE:
            return f"a whole number of {len(str(abs(value)))} digits"
        return f"the number {value!r}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:40] + "…"
        return f"text {shown!r}"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _at(where: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{where}[{key}]"
    return f"{where}.{key}" if where else str(key)


#: Whole numbers beyond this are not what a results document holds (and a float
#: cannot hold them): refused as damaged rather than converted.
MAX_WHOLE = 2**63


def _is_number(value: Any) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        return abs(value) <= MAX_WHOLE
    return isinstance(value, float) and math.isfinite(value)


def number(minimum: float = -math.inf, *, null: bool = False, whole: bool = False) -> Check:
    """A finite number at least ``minimum`` (a whole one with ``whole``; or null)."""
    what = "a whole number" if whole else "a number"
    if minimum > -math.inf:
        what += f" of at least {minimum:g}"
    if null:
        what += " or null"

    def check(value: Any, where: str) -> None:
        if value is None and null:
            return
        ok = _is_number(value) and value >= minimum
        if ok and whole:
            ok = float(value).is_integer()
        if not ok:
            raise Damaged(where, f"expected {what}, got {_got(value)}")

    return check


def text(*, null: bool = False, choices: Sequence[str] = ()) -> Check:
    what = f"one of {', '.join(repr(c) for c in choices)}" if choices else "text"

    def check(value: Any, where: str) -> None:
        if value is None and null:
            return
        if not isinstance(value, str) or (choices and value not in choices):
            raise Damaged(where, f"expected {what}{' or null' if null else ''}, got {_got(value)}")

    return check


def boolean(value: Any, where: str) -> None:
    if not isinstance(value, bool):
        raise Damaged(where, f"expected true or false, got {_got(value)}")


def either(*checks: Check, what: str) -> Check:
    def check(value: Any, where: str) -> None:
        for c in checks:
            try:
                c(value, where)
                return
            except Damaged:
                continue
        raise Damaged(where, f"expected {what}, got {_got(value)}")

    return check


def nullable(of: Check) -> Check:
    """``null``, or a value passing ``of``."""

    def check(value: Any, where: str) -> None:
        if value is not None:
            of(value, where)

    return check


def items(of: Check, *, minimum: int = 0, length: int | None = None) -> Check:
    """A list of values each passing ``of``."""

    def check(value: Any, where: str) -> None:
        if not isinstance(value, list):
            raise Damaged(where, f"expected a list, got {_got(value)}")
        if length is not None and len(value) != length:
            raise Damaged(where, f"expected a list of {length}, got {_got(value)}")
        if len(value) < minimum:
            raise Damaged(where, f"expected a list of at least {minimum}, got {_got(value)}")
        if len(value) > MAX_ITEMS * 10:
            raise Damaged(where, f"a list of {len(value):,}; at most {MAX_ITEMS * 10:,}")
        for k, v in enumerate(value):
            of(v, _at(where, k))

    return check


def mapping(
    required: dict[str, Check] | None = None,
    optional: dict[str, Check] | None = None,
) -> Check:
    """A mapping with the ``required`` keys (and maybe the ``optional`` ones); other keys
    are allowed and not looked at."""
    required, optional = required or {}, optional or {}

    def check(value: Any, where: str) -> None:
        if not isinstance(value, dict):
            raise Damaged(where, f"expected a mapping of keys, got {_got(value)}")
        for key, c in required.items():
            if key not in value:
                raise Damaged(_at(where, key), "missing")
            c(value[key], _at(where, key))
        for key, c in optional.items():
            if key in value:
                c(value[key], _at(where, key))

    return check


def names(of: Check, *, minimum: int = 0, required: Sequence[str] = ()) -> Check:
    """A mapping of names (steps, segments, designs, metrics) to values passing ``of``."""

    def check(value: Any, where: str) -> None:
        if not isinstance(value, dict):
            raise Damaged(where, f"expected a mapping of names, got {_got(value)}")
        if len(value) < minimum:
            raise Damaged(
                where, f"expected at least {minimum} entr{'y' if minimum == 1 else 'ies'}"
            )
        if len(value) > MAX_ITEMS:
            raise Damaged(where, f"{len(value):,} entries; at most {MAX_ITEMS:,}")
        for key in required:
            if key not in value:
                raise Damaged(_at(where, key), "missing")
        for key, v in value.items():
            of(v, _at(where, key))

    return check


def _interval(value: Any, where: str) -> None:
    if value is None:
        return
    items(number(), length=2)(value, where)
    if value[0] > value[1]:
        raise Damaged(where, f"lower end {value[0]!r} above the upper end {value[1]!r}")


#: A metric over replications: ``{"mean", "sd", "ci95"}`` (and ``clipped``).
described = mapping(
    {"mean": number(null=True), "ci95": _interval},
    {"sd": number(0, null=True), "clipped": boolean},
)

#: Metrics the report reads from every ``summary.json``.
RUN_METRICS = (
    "visitors",
    "orders",
    "conversion_rate",
    "revenue",
    "lost_revenue",
    "lost_revenue_friction",
    "lost_revenue_exit",
)
STEP_METRICS = ("entered", "abandoned_friction", "abandoned_exit")

SUMMARY = mapping(
    {
        "scenario": text(),
        "metrics": names(described, required=RUN_METRICS),
        "steps": names(names(described, required=STEP_METRICS)),
    },
    {
        "seed": number(0, null=True, whole=True),
        "replications": number(1, null=True, whole=True),
        "frictionsim_version": text(null=True),
        "segments": names(names(described)),
    },
)

#: A metric's or a parameter's path: ``steps.payment.mean_wait``, ``arrivals.rate``.
_PATH = re.compile(r"[A-Za-z0-9_.\-]{1,300}")


def _path(value: Any, where: str) -> None:
    if not isinstance(value, str) or not _PATH.fullmatch(value):
        raise Damaged(where, f"expected a metric or parameter path, got {_got(value)}")


def _paths_to(of: Check) -> Check:
    """A mapping of metric paths to values passing ``of``."""

    def check(value: Any, where: str) -> None:
        names(of)(value, where)
        for key in value:
            _path(key, _at(where, key))

    return check


RUN = mapping(
    {"frictionsim_results": number(whole=True)},
    {
        "files": items(text()),
        "overrides": items(text()),
        "identity": text(null=True),
        "kind": text(null=True),
        "seed": number(whole=True, null=True),
        "replications": number(0, whole=True),
        "jobs": number(0, whole=True, null=True),
        "runtime_seconds": number(0, null=True),
        # run --precision: the targets, what was reached, and the batches run
        "precision": mapping(
            {
                "targets": _paths_to(number(0)),
                "reached": boolean,
                "replications": number(0, whole=True),
            },
            {
                "half_widths": _paths_to(number(0, null=True)),
                "max_replications": number(0, whole=True),
                "batches": items(number(0, whole=True)),
            },
        ),
        # run --uncertainty: the drawn parameters, and each replication's draws
        "uncertainty": mapping(
            {"parameters": items(_path, minimum=1)},
            {"draws": items(items(number()))},
        ),
    },
)

_counts = items(number(0))


def _edges(value: Any, where: str) -> None:
    items(number(0), minimum=2)(value, where)
    if len(value) > MAX_ITEMS + 1:
        raise Damaged(where, f"{len(value):,} edges; at most {MAX_ITEMS + 1:,}")
    for k in range(1, len(value)):
        if not value[k] > value[k - 1]:
            raise Damaged(_at(where, k), "the edges of a histogram must increase")


def _bins(edges: list[float], counts: Any, where: str) -> None:
    if len(counts) != len(edges) - 1:
        raise Damaged(
            where, f"{len(counts)} bins for {len(edges)} edges (expected {len(edges) - 1})"
        )


_DISTRIBUTIONS_SHAPE = mapping(
    {
        "irritation": mapping(
            {"edges": _edges, "steps": names(names(_counts)), "tolerance": names(_counts)}
        ),
        "wait": mapping({"edges": _edges, "steps": names(_counts)}),
        "checkout_time": mapping({"edges": _edges, "counts": _counts}),
    },
    {"replications": number(1, null=True, whole=True), "scenario": text(null=True)},
)


def distributions(value: Any, where: str = "") -> None:
    _DISTRIBUTIONS_SHAPE(value, where)
    irr = value["irritation"]
    for seg, counts in irr["tolerance"].items():
        _bins(irr["edges"], counts, _at(_at(_at(where, "irritation"), "tolerance"), seg))
    for step, by_segment in irr["steps"].items():
        here = _at(_at(_at(where, "irritation"), "steps"), step)
        for seg in irr["tolerance"]:
            if seg not in by_segment:
                raise Damaged(_at(here, seg), "missing (a segment of irritation.tolerance)")
        for seg, counts in by_segment.items():
            _bins(irr["edges"], counts, _at(here, seg))
    for step, counts in value["wait"]["steps"].items():
        _bins(value["wait"]["edges"], counts, _at(_at(_at(where, "wait"), "steps"), step))
    ct = value["checkout_time"]
    _bins(ct["edges"], ct["counts"], _at(_at(where, "checkout_time"), "counts"))


_series = items(number())
_WORD_OF_MOUTH_SHAPE = mapping(
    {
        "time": items(number(0), minimum=1),
        "sources": names(mapping({"mean": _series, "ci_low": _series, "ci_high": _series})),
    },
    {"bin_minutes": number(1e-9, null=True), "nps": described, "scenario": text(null=True)},
)


def word_of_mouth(value: Any, where: str = "") -> None:
    _WORD_OF_MOUTH_SHAPE(value, where)
    n = len(value["time"])
    for name, s in value["sources"].items():
        for key in ("mean", "ci_low", "ci_high"):
            if len(s[key]) != n:
                here = _at(_at(_at(where, "sources"), name), key)
                raise Damaged(here, f"{len(s[key])} values for {n} time bins")


#: The differences a comparison chart draws (as ``report.COMPARISON_PANELS``).
COMPARISON_METRICS = (
    "conversion_rate",
    "visitors",
    "orders",
    "abandoned_friction",
    "abandoned_exit",
    "revenue",
    "lost_revenue",
    "lost_revenue_friction",
    "lost_revenue_exit",
)
_difference = mapping({"mean": number(null=True), "ci95": _interval})
_COMPARISON_SHAPE = mapping(
    {
        "reference": text(),
        "replications": number(1, whole=True),
        "common_random_numbers": boolean,
        "differences": names(names(_difference, minimum=1), minimum=1),
    }
)


def comparison(value: Any, where: str = "") -> None:
    _COMPARISON_SHAPE(value, where)
    diffs = value["differences"]
    first = next(iter(diffs.values()))
    drawn = [m for m in COMPARISON_METRICS if m in first]
    if not drawn:
        raise Damaged(_at(where, "differences"), "no metric the chart draws")
    for name, d in diffs.items():
        for m in drawn:
            if m not in d:
                raise Damaged(_at(_at(_at(where, "differences"), name), m), "missing")


_value = either(text(), number(), what="text or a number")
_SWEEP_SHAPE = mapping(
    {
        "params": items(text(), minimum=1),
        "metric": text(),
        "replications": number(1, whole=True),
        "points": items(mapping({"values": names(_value), "metrics": names(described)}), minimum=1),
    },
    {"scenario": text(null=True)},
)


def sweep(value: Any, where: str = "") -> None:
    _SWEEP_SHAPE(value, where)
    params = value["params"]
    if len(params) > 2:
        raise Damaged(_at(where, "params"), f"{len(params)} parameters; a sweep has 1 or 2")
    if len(set(params)) != len(params):
        raise Damaged(_at(where, "params"), "a parameter given twice")
    for k, point in enumerate(value["points"]):
        here = _at(_at(where, "points"), k)
        for p in params:
            if p not in point["values"]:
                raise Damaged(_at(_at(here, "values"), p), "missing")
        if value["metric"] not in point["metrics"]:
            raise Damaged(_at(_at(here, "metrics"), value["metric"]), "missing")


_SENSITIVITY_SHAPE = mapping(
    {
        "method": text(choices=("oat", "sobol")),
        "metric": text(),
        "delta_percent": number(),
        "scenario": text(),
        "parameters": items(mapping({"parameter": text()})),
    }
)
_SOBOL_ROW = mapping(
    {
        "S1": number(null=True),
        "S1_conf": number(null=True),
        "ST": number(null=True),
        "ST_conf": number(null=True),
    }
)
_OAT_ROW = mapping(
    {
        "effect": number(null=True),
        "low_mean": number(null=True),
        "high_mean": number(null=True),
        "low": _value,
        "high": _value,
    }
)


def sensitivity(value: Any, where: str = "") -> None:
    _SENSITIVITY_SHAPE(value, where)
    sobol = value["method"] == "sobol"
    if sobol:
        number(0, whole=True)(value.get("evaluations"), _at(where, "evaluations"))
    else:
        number(1, whole=True)(value.get("replications"), _at(where, "replications"))
        described(value.get("base"), _at(where, "base"))
    for k, row in enumerate(value["parameters"]):
        here = _at(_at(where, "parameters"), k)
        (_SOBOL_ROW if sobol else _OAT_ROW)(row, here)
        if not sobol and row["effect"] is not None:
            for key in ("low_mean", "high_mean"):
                if row[key] is None:
                    raise Damaged(_at(here, key), "null although the effect is known")


_OPTIMUM_SHAPE = mapping(
    {
        "scenario": text(),
        "params": items(text(), minimum=1),
        "objective": mapping({"sense": text(choices=("max", "min")), "metric": text()}),
        "constraints": items(mapping({"metric": text(), "op": text(), "value": number()})),
        "replications": number(1, whole=True),
        "search": text(),
        "grid_points": number(0, whole=True),
        "evaluated_points": number(0, whole=True),
        "best": nullable(names(_value)),
        "evaluated": items(
            mapping({"values": names(_value), "metrics": names(described), "feasible": boolean})
        ),
    }
)


def optimum(value: Any, where: str = "") -> None:
    _OPTIMUM_SHAPE(value, where)
    params = value["params"]
    if len(params) > 2:
        raise Damaged(_at(where, "params"), f"{len(params)} parameters; at most 2")
    drawn = [value["objective"]["metric"], *(c["metric"] for c in value["constraints"])]
    for k, point in enumerate(value["evaluated"]):
        here = _at(_at(where, "evaluated"), k)
        for p in params:
            if p not in point["values"]:
                raise Damaged(_at(_at(here, "values"), p), "missing")
        for m in drawn:
            if m not in params and m not in point["metrics"]:
                raise Damaged(_at(_at(here, "metrics"), m), "missing")


_IMPROVEMENTS_SHAPE = mapping(
    {
        "scenario": text(),
        "replications": number(1, whole=True),
        "horizon_minutes": number(1e-9),
        "changes": items(text(choices=("remove", "halve")), minimum=1),
        "improvements": items(
            mapping(
                {
                    "step": text(),
                    "change": text(choices=("remove", "halve")),
                    "revenue_per_year": mapping({"mean": number(null=True), "ci95": _interval}),
                }
            )
        ),
    },
    {"currency": text(null=True)},
)


def improvements(value: Any, where: str = "") -> None:
    _IMPROVEMENTS_SHAPE(value, where)
    steps = {c: set() for c in value["changes"]}
    for row in value["improvements"]:
        steps.setdefault(row["change"], set()).add(row["step"])
    first = steps[value["changes"][0]]
    for change in value["changes"][1:]:
        missing = sorted(first - steps[change])
        if missing:
            raise Damaged(_at(where, "improvements"), f"no '{change}' row for step {missing[0]!r}")


def check(path: Path, value: Any, shape: Check) -> Any:
    """``value`` (read from ``path``) if it has ``shape``, else one :class:`ResultsError`."""
    try:
        shape(value, "")
    except Damaged as exc:
        raise ResultsError(f"{path}: damaged: {exc}") from None
    except RecursionError:
        raise ResultsError(f"{path}: damaged, lists or mappings nested too deeply") from None
    return value


def load(path: Path, shape: Check) -> Any:
    """Read the JSON document ``path`` and check its ``shape``."""
    return check(path, read_json(path), shape)


# ------------------------------------------------------------------ funnel.csv

_WHOLE = FUNNEL_COLUMNS[2:9]


def check_funnel(path: Path, steps: Sequence[str], replications: int | None) -> None:
    """``funnel.csv``: the header, and in every row a replication, a step of the
    summary and counts that are whole numbers of at least 0."""
    text_ = read_text(path, MAX_TABLE_BYTES)
    if "\x00" in text_:
        line = text_.count("\n", 0, text_.index("\x00")) + 1
        raise ResultsError(f"{path}:{line}: damaged, a NUL byte (binary data, not CSV text)")
    reader = csv.reader(io.StringIO(text_, newline=""))
    try:
        header = next(reader, None)
        if header != list(FUNNEL_COLUMNS):
            raise ResultsError(f"{path}:1: damaged, the header is not {','.join(FUNNEL_COLUMNS)}")
        known = set(steps)
        rows = 0
        for line, row in enumerate(reader, start=2):
            rows += 1
            if len(row) != len(FUNNEL_COLUMNS):
                raise ResultsError(
                    f"{path}:{line}: damaged, {len(row)} cells (expected {len(FUNNEL_COLUMNS)})"
                )
            cells = dict(zip(FUNNEL_COLUMNS, row))
            rep = _cell(path, line, cells, "replication", whole=True)
            if replications is not None and rep >= replications:
                raise ResultsError(
                    f"{path}:{line}: damaged, replication {rep:g} of a run of {replications}"
                )
            if cells["step"] not in known:
                raise ResultsError(
                    f"{path}:{line}: damaged, step {cells['step'][:40]!r} is not in summary.json"
                )
            for column in _WHOLE:
                _cell(path, line, cells, column, whole=True)
            _cell(path, line, cells, "wait_total")
            if cells["mean_wait"] != "":
                _cell(path, line, cells, "mean_wait")
        if rows == 0 and known:
            raise ResultsError(f"{path}: damaged, no rows")
    except csv.Error as exc:
        raise ResultsError(f"{path}: damaged, not CSV ({exc})") from None


def _cell(path: Path, line: int, cells: dict[str, str], column: str, whole: bool = False) -> float:
    raw = cells[column]
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0 and (not whole or value.is_integer())):
        what = "a whole number" if whole else "a number"
        raise ResultsError(
            f"{path}:{line}: damaged, {column}: expected {what} of at least 0, got {raw[:40]!r}"
        )
    return value


def exists(path: Path) -> bool:
    """Whether anything is at ``path``, a broken symbolic link included."""
    return os.path.lexists(path)
