"""Funnel exports of analytics tools, read into the same :class:`ObservedFunnel`.

Strategists do not write ``step,entered,completed`` by hand: they download the
funnel their analytics tool shows. This module reads those downloads as they
come and hands their counts to :func:`frictionsim.funnel_data.observed_funnel`,
which checks them against the scenario as it checks frictionsim's own CSV.

Formats (``--funnel-format``; ``auto`` tells them apart by their content):

* ``ga4``: a GA4 funnel exploration downloaded as CSV: ``#`` comment lines,
  then the funnel table, one row per step: ``Step``, ``Active users`` and,
  read when present, ``Abandonments`` or else ``Completion rate``; other
  columns are ignored.
* ``ga4-json``: the JSON response of the GA4 Data API's ``runFunnelReport``:
  its ``funnelTable``, dimension ``funnelStepName`` (and at most one breakdown
  dimension), metrics ``activeUsers`` and, when present,
  ``funnelStepAbandonments`` or else ``funnelStepCompletionRate``.
* ``posthog``: a PostHog funnel insight exported as CSV (the layout of PostHog's
  own CSV exporter): ``name``,
  ``breakdown_value``, ``action_id``, ``count`` (and conversion times, ignored),
  one row per step and breakdown value.
* ``amplitude``: an Amplitude funnel chart downloaded as CSV. Amplitude writes
  lines about the chart (its name, date range, segment) before the table; every
  line before the header is skipped. The header is the first line with a step
  column (``Step`` or ``Event``, any case) and a count column (``Users``,
  ``Uniques``, ``Count`` or ``Number of users``); each row after it is one step in
  funnel order (``Step`` names it; a leading ``Step 1:`` is dropped). Conversion
  and time columns are ignored: the counts give the completions.
* ``mixpanel``: the JSON response of Mixpanel's funnels query
  (``/api/query/funnels``): ``data`` by date, each with its ``steps``
  (``count``, ``step_label`` or ``event``); the counts of all dates are added.

**Steps.** Each step of the export is mapped to a scenario step: by
``--step-map 'Tool step=scenario_step'`` (``'Tool step='`` leaves it out),
else by name (compared without case, a leading ``1.`` and the difference
between spaces, ``_`` and ``-``), else by position when the export has as many
steps as the scenario. An export step after the one mapped to the scenario's
last step, matching none, counts the orders.

**Completions.** A step's ``entered`` is the export's count of visitors who
reached it. Its ``completed`` is what the export counts as going on from it
to its next step (GA4: active users minus abandonments, else the completion
rate times the active users, rounded), else the next step's count, when that
next step is the one the scenario step always leads to (or the orders, after
the scenario's last step). The export's last step gives no completions:
nothing follows it in the funnel. In an open funnel (visitors joining mid-way, so
entries can rise from one step to the next) only the first kind is right: a
rise where completions would come from the next step's count is refused,
with a message to export a closed funnel.

Every problem is a located line ``FILE:LINE:COL: column: message`` (for JSON the
column is the path of the value, ``funnelTable.rows.3.metricValues.0.value``).
"""

from __future__ import annotations

import bisect
import dataclasses
import difflib
import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .csvtext import (
    MAX_DIGITS,
    MAX_SECONDS,
    Record,
    Table,
    comma_hint,
    parse_count,
    parse_seconds,
    read_table,
    sniff_delimiter,
    split_line,
)
from .errors import MAX_SHOWN, ScenarioError, ScenarioProblem
from .funnel_data import CountRow, ObservedFunnel, observed_funnel, parse_funnel
from .scenario import END, Scenario

#: Every ``--funnel-format``; ``auto`` detects one of the others from the content.
FORMATS = ("auto", "frictionsim", "ga4", "ga4-json", "posthog", "amplitude", "mixpanel")
#: What each format is, for messages.
FORMAT_NAMES = {
    "frictionsim": "frictionsim's CSV (step,entered[,completed][,segment])",
    "ga4": "a GA4 funnel exploration CSV (Step,Active users,…)",
    "ga4-json": "a GA4 runFunnelReport JSON response (funnelTable)",
    "posthog": "a PostHog funnel CSV (name,breakdown_value,action_id,count,…)",
    "amplitude": "an Amplitude funnel chart CSV (chart lines, then Step,Users,…)",
    "mixpanel": "a Mixpanel funnels query JSON response (data … steps)",
}
#: Column names of the step and of its count in an Amplitude funnel CSV (lower case).
AMPLITUDE_STEP = ("step", "event", "step name", "event name")
AMPLITUDE_COUNT = ("users", "uniques", "count", "number of users", "user count")
_AMPLITUDE_PREFIX = re.compile(r"^\s*step\s+\d+\s*:\s*", re.IGNORECASE)
#: The breakdown value GA4 gives its rows of totals.
GA4_TOTAL = "RESERVED_TOTAL"
#: Distinct steps of an export at most (a GA4 funnel has up to 10).
MAX_EXPORT_STEPS = 100
#: JSON nested deeper than this is refused (a funnel response has about 6 levels).
MAX_JSON_DEPTH = 64

_ORDINAL = re.compile(r"^\s*(\d+)\.\s+")


def normalized(name: str) -> str:
    """``name`` as step names are compared: no case, no leading ``1.``, and spaces,
    ``_`` and ``-`` alike (``'2. Shipping address'`` is ``'shipping_address'``)."""
    name = _ORDINAL.sub("", name)
    return re.sub(r"[\s_-]+", "_", name.strip().casefold()).strip("_")


def _closest(word: str, options: Sequence[str]) -> str:
    """`` (did you mean 'x'?)`` for the option closest to ``word`` once normalized."""
    if len(word) > MAX_SHOWN:
        return ""
    by_norm = {normalized(o): o for o in options if len(o) <= MAX_SHOWN}
    close = difflib.get_close_matches(normalized(word), list(by_norm), n=1, cutoff=0.6)
    return f" (did you mean '{by_norm[close[0]]}'?)" if close else ""


# ----------------------------------------------------------------------- what a reader gives


@dataclass(frozen=True)
class At:
    """Where a value sits: line, column, and the column's name (or the JSON path)."""

    line: int
    col: int
    path: str


@dataclass(frozen=True)
class StepCount:
    """One step of an export (of one breakdown value): visitors who reached it, and
    those the export counts as going on to its next step (None: not given)."""

    name: str
    at: At
    entered: int
    entered_at: At
    continued: int | None
    continued_at: At
    #: Mean seconds from the export's previous step to this one, over those who reached
    #: it from there (the tool's time to convert), where the export gives it.
    seconds: float | None = None
    seconds_at: At | None = None


@dataclass
class Export:
    """The counts of an export, by breakdown value (None: no breakdown), each in funnel
    order; ``total`` names the breakdown value that holds totals (GA4), if any."""

    format: str
    groups: dict[str | None, list[StepCount]] = field(default_factory=dict)
    group_at: dict[str | None, At] = field(default_factory=dict)
    total: str | None = None


class _Bad(Exception):
    """The shape of an export is not what its format gives (stops reading it)."""

    def __init__(self, at: At, message: str) -> None:
        super().__init__(message)
        self.at, self.message = at, message


class _Problems(list):
    def add(self, file: str, at: At, message: str) -> None:
        self.append(ScenarioProblem(file, at.line, at.col, at.path, message))


def _in_order(counts: list[StepCount]) -> list[StepCount]:
    """Steps by their ``N.`` prefix when every name has one (GA4 numbers its steps)."""
    numbers = [_ORDINAL.match(c.name) for c in counts]
    if not counts or not all(numbers):
        return counts
    keys = [int(m.group(1)) for m in numbers if m]
    return [counts[k] for k in sorted(range(len(counts)), key=keys.__getitem__)]


def _continued(
    entered: int,
    abandoned: int | None,
    rate: float | None,
    problems: _Problems,
    file: str,
    at: At,
) -> int | None:
    """Visitors going on from a step: entered minus abandonments, else entered × rate."""
    if abandoned is not None:
        if abandoned > entered:
            problems.add(file, at, f"abandonments ({abandoned}) exceed active users ({entered})")
            return None
        return entered - abandoned
    if rate is not None:
        if not 0 <= rate <= 1:
            problems.add(file, at, f"a completion rate must be 0 to 100 % (got {rate:.4g})")
            return None
        return round(entered * rate)
    return None


def _rate(value: float | None, cell: str) -> float | None:
    """A rate as a fraction: ``63.5 %`` and ``0.635`` alike; ``63.5`` (over 1, no %) too."""
    if value is None:
        return None
    return value / 100 if value > 1 and not cell.strip().endswith("%") else value


# ----------------------------------------------------------------------- CSV readers


def _header(table: Table) -> dict[str, int]:
    """Columns by their name in lower case, spaces collapsed (first of repeated names)."""
    where: dict[str, int] = {}
    for k, name in enumerate(table.header.cells):
        where.setdefault(" ".join(name.casefold().split()), k)
    return where


def _require(
    table: Table, where: dict[str, int], names: Sequence[str], file: str, layout: str
) -> None:
    missing = [n for n in names if n not in where]
    if missing:
        h = table.header
        raise ScenarioError(
            [
                ScenarioProblem(
                    file,
                    h.line,
                    1,
                    n,
                    f"missing column '{n}' ({layout}); the header has "
                    f"{', '.join(repr(c) for c in h.cells)}",
                )
                for n in missing
            ]
        )


def _located(record: Record, where: dict[str, int], labels: list[str]) -> Callable[[str], At]:
    """Where the cell of a named column of ``record`` is."""
    return lambda name: At(record.line, record.col(where[name]), labels[where[name]])


def _cells(record: Record, where: dict[str, int]) -> Callable[[str], str]:
    """The cell of a named column of ``record`` ('' for a column it lacks)."""

    def cell(name: str) -> str:
        k = where.get(name)
        return record.cells[k] if k is not None and k < len(record.cells) else ""

    return cell


def _time_column(where: dict[str, int], *words: str) -> str | None:
    """The column of mean times to convert: the first whose name has every one of
    ``words`` and is not a median."""
    return next((n for n in where if all(w in n for w in words) and "median" not in n), None)


def _seconds(
    cell: Callable[[str], str], at: Callable[[str], At], column: str | None, table: Table,
    problems: _Problems, file: str,
) -> tuple[float | None, At | None, bool]:  # fmt: skip
    """The mean seconds to convert in ``column`` of a row, where it is; False when the
    cell is not a time (a problem is added)."""
    if column is None:
        return None, None, True
    seconds, message = parse_seconds(cell(column), table.decimal)
    if message:
        problems.add(file, at(column), message)
        return None, None, False
    return seconds, at(column), True


def _bad_width(
    record: Record, table: Table, problems: _Problems, file: str, exact: bool = False
) -> bool:
    """Whether ``record`` has more fields than the header (or, ``exact``, another number
    of them): then a problem is added, with a hint where a number's comma split it."""
    have, header = len(record.cells), len(table.header.cells)
    if (have == header) if exact else (have <= header):
        return False
    problems.add(
        file,
        At(record.line, 1, "(row)"),
        f"has {have} fields; the header has {header}" + comma_hint(record, table),
    )
    return True


def _table(text: str, file: str, expected: str) -> Table:
    table = read_table(text)
    if table is None:
        raise ScenarioError([ScenarioProblem(file, 1, 1, "(file)", f"empty; expected {expected}")])
    return table


def read_ga4_csv(text: str, file: str) -> Export:
    """A GA4 funnel exploration table: ``Step``, ``Active users`` and, when present,
    ``Abandonments`` or else ``Completion rate``."""
    table = _table(text, file, FORMAT_NAMES["ga4"])
    where = _header(table)
    layout = "GA4 funnel table: Step, Active users, Completion rate, Abandonments, …"
    _require(table, where, ("step", "active users"), file, layout)
    labels = table.header.cells
    problems = _Problems()
    counts: list[StepCount] = []
    times = _time_column(where, "elapsed time")
    for record in table.rows:
        at, cell = _located(record, where, labels), _cells(record, where)
        if _bad_width(record, table, problems, file):
            continue
        name = cell("step")
        if not name:
            problems.add(file, at("step"), "empty step name")
            continue
        entered, message = parse_count(cell("active users"), table.decimal)
        if message:
            problems.add(file, at("active users"), message)
            continue
        abandoned, rate, rate_at = None, None, at("step")
        if cell("abandonments") not in ("", "-", "—"):
            rate_at = at("abandonments")
            abandoned, message = parse_count(cell("abandonments"), table.decimal)
            if message:
                problems.add(file, rate_at, message)
                continue
        elif cell("completion rate") not in ("", "-", "—"):
            rate_at = at("completion rate")
            rate = _rate(table.number(cell("completion rate")), cell("completion rate"))
            if rate is None:
                problems.add(
                    file, rate_at, f"expected a percentage, got {cell('completion rate')!r}"
                )
                continue
        go_on = _continued(entered or 0, abandoned, rate, problems, file, rate_at)
        seconds, seconds_at, ok = _seconds(cell, at, times, table, problems, file)
        if ok:
            counts.append(
                StepCount(
                    name,
                    at("step"),
                    entered or 0,
                    at("active users"),
                    go_on,
                    rate_at,
                    seconds,
                    seconds_at,
                )
            )
    if problems:
        raise ScenarioError(problems)
    return Export("ga4", {None: _in_order(counts)})


def read_posthog_csv(text: str, file: str) -> Export:
    """A PostHog funnel insight CSV: one row per step (and breakdown value), in order."""
    table = _table(text, file, FORMAT_NAMES["posthog"])
    where = _header(table)
    layout = "PostHog funnel CSV: name, breakdown_value, action_id, count, …"
    _require(table, where, ("count",), file, layout)
    if "name" not in where and "action_id" not in where:
        _require(table, where, ("name",), file, layout)
    labels = table.header.cells
    problems = _Problems()
    export = Export("posthog")
    times = _time_column(where, "average_conversion_time")
    for record in table.rows:
        at, cell = _located(record, where, labels), _cells(record, where)
        if _bad_width(record, table, problems, file, exact=True):
            continue
        name_col = "name" if cell("name") or "action_id" not in where else "action_id"
        name = cell(name_col)
        if not name:
            problems.add(file, at(name_col), "empty step name")
            continue
        entered, message = parse_count(cell("count"), table.decimal)
        if message:
            problems.add(file, at("count"), message)
            continue
        seconds, seconds_at, ok = _seconds(cell, at, times, table, problems, file)
        if not ok:
            continue
        group = cell("breakdown_value") or None
        if group not in export.groups:
            export.groups[group] = []
            export.group_at[group] = at("breakdown_value") if group else at(name_col)
        export.groups[group].append(
            StepCount(
                name,
                at(name_col),
                entered or 0,
                at("count"),
                None,
                at(name_col),
                seconds,
                seconds_at,
            )
        )
    if problems:
        raise ScenarioError(problems)
    if not export.groups:
        raise ScenarioError([ScenarioProblem(file, 1, 1, "(file)", "no rows of counts")])
    return export


def _amplitude_header(line: str) -> bool:
    names = {" ".join(c.casefold().split()) for c in split_line(line, sniff_delimiter(line))}
    return bool(names & set(AMPLITUDE_STEP)) and bool(names & set(AMPLITUDE_COUNT))


def read_amplitude_csv(text: str, file: str) -> Export:
    """An Amplitude funnel chart CSV: chart lines, then one row per step, in order."""
    lines = text.splitlines()
    start = next((k for k, ln in enumerate(lines) if _amplitude_header(ln)), None)
    if start is None and not text.strip():
        _table(text, file, FORMAT_NAMES["amplitude"])  # its message for an empty file
    if start is None:
        raise ScenarioError(
            [
                ScenarioProblem(
                    file,
                    1,
                    1,
                    "(file)",
                    "no table header with a step column (Step or Event) and a count column "
                    f"({', '.join(c.title() for c in AMPLITUDE_COUNT)}); expected "
                    + FORMAT_NAMES["amplitude"],
                )
            ]
        )
    # the chart lines before the header are blanked, so the table keeps its line numbers
    table = _table("\n" * start + "\n".join(lines[start:]), file, FORMAT_NAMES["amplitude"])
    where = _header(table)
    name_col = next(n for n in AMPLITUDE_STEP if n in where)
    count_col = next(n for n in AMPLITUDE_COUNT if n in where)
    times = _time_column(where, "time to convert")
    labels = table.header.cells
    problems = _Problems()
    counts: list[StepCount] = []
    for record in table.rows:
        at, cell = _located(record, where, labels), _cells(record, where)
        if _bad_width(record, table, problems, file):
            continue
        name = _AMPLITUDE_PREFIX.sub("", cell(name_col)).strip()
        if not name:
            problems.add(file, at(name_col), "empty step name")
            continue
        entered, message = parse_count(cell(count_col), table.decimal)
        if message:
            problems.add(file, at(count_col), message)
            continue
        seconds, seconds_at, ok = _seconds(cell, at, times, table, problems, file)
        if ok:
            counts.append(
                StepCount(
                    name,
                    at(name_col),
                    entered or 0,
                    at(count_col),
                    None,
                    at(name_col),
                    seconds,
                    seconds_at,
                )
            )
    if problems:
        raise ScenarioError(problems)
    if not counts:
        raise ScenarioError(
            [ScenarioProblem(file, table.header.line, 1, "(file)", "no rows of counts")]
        )
    return Export("amplitude", {None: counts})


# ----------------------------------------------------------------------- JSON readers


class J(NamedTuple):
    """A JSON value with where it starts (objects: dict of J, arrays: list of J)."""

    value: Any
    line: int
    col: int


#: A JSON string token and a JSON number token (RFC 8259's grammar), to walk a document
#: :func:`json.loads` has accepted and keep where each value starts.
_JSON_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\.)*"')
_JSON_NUMBER = re.compile(r"(-?(?:0|[1-9]\d*))(\.\d+)?([eE][-+]?\d+)?")


def _string(text: str, i: int) -> tuple[str, int]:
    """The JSON string whose opening quote is at ``i``, decoded, and the index after it."""
    m = _JSON_STRING.match(text, i)
    if m is None:  # json.loads accepted the document, so this does not happen
        raise ValueError(f"no JSON string at {i}")
    return json.loads(m.group()), m.end()


class _Marked:
    """JSON text parsed again, valid as :func:`json.loads` found it, keeping positions."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0, *(m.end() for m in re.finditer("\n", text))]

    def at(self, i: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.starts, i)
        return line, i - self.starts[line - 1] + 1

    def _skip(self, i: int) -> int:
        while i < len(self.text) and self.text[i] in " \t\r\n":
            i += 1
        return i

    def value(self, i: int, depth: int = 0) -> tuple[J, int]:
        i = self._skip(i)
        line, col = self.at(i)
        if depth > MAX_JSON_DEPTH:
            raise _Bad(At(line, col, "(json)"), f"nested deeper than {MAX_JSON_DEPTH} levels")
        c, text = self.text[i], self.text
        if c == "{":
            obj: dict[str, J] = {}
            i = self._skip(i + 1)
            while text[i] != "}":
                key, i = _string(text, self._skip(i))
                i = self._skip(self._skip(i) + 1)  # the colon
                obj[key], i = self.value(i, depth + 1)
                i = self._skip(i)
                if text[i] == ",":
                    i = self._skip(i + 1)
            return J(obj, line, col), i + 1
        if c == "[":
            items: list[J] = []
            i = self._skip(i + 1)
            while text[i] != "]":
                item, i = self.value(i, depth + 1)
                items.append(item)
                i = self._skip(i)
                if text[i] == ",":
                    i = self._skip(i + 1)
            return J(items, line, col), i + 1
        if c == '"':
            s, end = _string(text, i)
            return J(s, line, col), end
        for word, val in (("true", True), ("false", False), ("null", None)):
            if text.startswith(word, i):
                return J(val, line, col), i + len(word)
        m = _JSON_NUMBER.match(text, i)
        if m is None:  # json.loads accepted it, so this is NaN or Infinity
            raise _Bad(At(line, col, "(json)"), "not a number (NaN or Infinity)")
        integer, frac, exp = m.groups()
        if len(integer.lstrip("-")) > MAX_DIGITS:
            raise _Bad(
                At(line, col, "(json)"),
                f"a number of {len(integer.lstrip('-')):,} digits: too large for a count",
            )
        number = float(integer + (frac or "") + (exp or "")) if frac or exp else int(integer)
        if number in (float("inf"), float("-inf")):
            raise _Bad(At(line, col, "(json)"), f"{m.group()} is beyond any number of visitors")
        return J(number, line, col), m.end()


def load_json(text: str, file: str) -> J:
    """The JSON document in ``text`` with positions, or a located :class:`ScenarioError`."""

    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not a number JSON allows")

    try:
        # integers too long for int() are told where they are by the second pass
        json.loads(text, parse_constant=refuse, parse_int=lambda s: 0 if len(s) > 50 else int(s))
    except json.JSONDecodeError as exc:
        raise ScenarioError(
            [ScenarioProblem(file, exc.lineno, exc.colno, "(json)", f"not valid JSON: {exc.msg}")]
        ) from None
    except (ValueError, RecursionError) as exc:
        message = str(exc) if isinstance(exc, ValueError) else "nested too deeply"
        raise ScenarioError([ScenarioProblem(file, 1, 1, "(json)", message)]) from None
    try:
        return _Marked(text).value(0)[0]
    except _Bad as exc:
        raise ScenarioError(
            [ScenarioProblem(file, exc.at.line, exc.at.col, exc.at.path, exc.message)]
        ) from None


def _here(node: J, path: str) -> At:
    return At(node.line, node.col, path or "(json)")


def _key(node: J, key: str, path: str, kind: type | tuple[type, ...] = object) -> J:
    """``node[key]`` of the type ``kind``, or :class:`_Bad` saying what is missing."""
    if not isinstance(node.value, dict):
        raise _Bad(_here(node, path), f"expected an object with '{key}'")
    if key not in node.value:
        raise _Bad(_here(node, path), f"no '{key}' here")
    found = node.value[key]
    if kind is not object and (not isinstance(found.value, kind) or isinstance(found.value, bool)):
        raise _Bad(_here(found, _join(path, key)), f"'{key}' is not {_kind_name(kind)}")
    return found


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {dict: "an object", list: "a list", str: "a text", int: "a number"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _json_count(node: J, path: str, problems: _Problems, file: str) -> int | None:
    """A count given as a JSON number or a text of digits (GA4 writes texts)."""
    value = node.value
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        problems.add(file, _here(node, path), f"expected a whole number of visitors, got {value!r}")
        return None
    number, message = parse_count(str(value) if not isinstance(value, float) else repr(value))
    if message:
        problems.add(file, _here(node, path), message)
    return number


def _value(items: J, k: int, path: str, what: str) -> tuple[J, str]:
    """The ``value`` of item ``k`` of GA4's ``dimensionValues`` or ``metricValues``."""
    if k >= len(items.value):
        raise _Bad(_here(items, path), f"has no {what} (value {k + 1})")
    return _key(items.value[k], "value", _join(path, k)), _join(path, f"{k}.value")


def _index(names: list[str], name: str) -> int | None:
    return names.index(name) if name in names else None


def read_ga4_json(text: str, file: str) -> Export:
    """A GA4 ``runFunnelReport`` response (or its ``funnelTable`` alone)."""
    root = load_json(text, file)
    problems = _Problems()
    try:
        if isinstance(root.value, dict) and "funnelTable" in root.value:
            table, base = _key(root, "funnelTable", "", dict), "funnelTable"
        elif isinstance(root.value, dict) and "dimensionHeaders" in root.value:
            table, base = root, ""
        else:
            raise _Bad(_here(root, ""), "no 'funnelTable': not a GA4 runFunnelReport response")
        dims = _names(_key(table, "dimensionHeaders", base, list), _join(base, "dimensionHeaders"))
        metrics = _names(_key(table, "metricHeaders", base, list), _join(base, "metricHeaders"))
        step_dim, users = _index(dims, "funnelStepName"), _index(metrics, "activeUsers")
        if step_dim is None or users is None:
            missing = "dimension 'funnelStepName'" if step_dim is None else "metric 'activeUsers'"
            raise _Bad(_here(table, base), f"no {missing}")
        others = [k for k in range(len(dims)) if k != step_dim]
        if len(others) > 1:
            raise _Bad(
                _here(table, _join(base, "dimensionHeaders")),
                f"dimensions {', '.join(dims)}: funnelStepName and at most one breakdown are "
                "read (export one date range, without segments or next actions)",
            )
        aband = _index(metrics, "funnelStepAbandonments")
        rated = _index(metrics, "funnelStepCompletionRate")
        export = Export("ga4-json", total=GA4_TOTAL if others else None)
        rows_path = _join(base, "rows")
        rows = table.value.get("rows", J([], table.line, table.col))
        if not isinstance(rows.value, list):
            raise _Bad(_here(rows, rows_path), "'rows' is not a list")
        for r, row in enumerate(rows.value):
            path = _join(rows_path, r)
            dv_path, mv_path = _join(path, "dimensionValues"), _join(path, "metricValues")
            dvalues = _key(row, "dimensionValues", path, list)
            mvalues = _key(row, "metricValues", path, list)
            name, name_path = _value(dvalues, step_dim, dv_path, "funnelStepName")
            if isinstance(name.value, (int, float)) and not isinstance(name.value, bool):
                name = J(str(name.value), name.line, name.col)  # a step named by a number
            if not isinstance(name.value, str):
                problems.add(
                    file,
                    _here(name, name_path),
                    f"expected a step name (a text), got {_json_kind(name.value)}",
                )
                continue
            if not name.value.strip():
                problems.add(file, _here(name, name_path), "empty step name")
                continue
            group, group_at = None, _here(name, name_path)
            if others:
                node, node_path = _value(dvalues, others[0], dv_path, "breakdown value")
                group, group_at = str(node.value), _here(node, node_path)
            users_node, users_path = _value(mvalues, users, mv_path, "activeUsers")
            entered = _json_count(users_node, users_path, problems, file)
            if entered is None:
                continue
            abandoned, rate, go_at = None, None, _here(name, name_path)
            if aband is not None and aband < len(mvalues.value):
                node, node_path = _value(mvalues, aband, mv_path, "funnelStepAbandonments")
                go_at = _here(node, node_path)
                abandoned = _json_count(node, node_path, problems, file)
                if abandoned is None:
                    continue
            elif rated is not None and rated < len(mvalues.value):
                node, node_path = _value(mvalues, rated, mv_path, "funnelStepCompletionRate")
                go_at = _here(node, node_path)
                try:
                    rate = float(node.value)
                except (TypeError, ValueError):
                    problems.add(file, go_at, f"expected a rate, got {node.value!r}")
                    continue
            go_on = _continued(entered, abandoned, rate, problems, file, go_at)
            if group not in export.groups:
                export.groups[group], export.group_at[group] = [], group_at
            at = _here(name, name_path)
            export.groups[group].append(
                StepCount(
                    name.value.strip(), at, entered, _here(users_node, users_path), go_on, go_at
                )
            )
    except _Bad as exc:
        problems.add(file, exc.at, exc.message)
        raise ScenarioError(problems) from None
    if problems:
        raise ScenarioError(problems)
    if not export.groups:
        raise ScenarioError(
            [ScenarioProblem(file, root.line, root.col, "(json)", "no rows of counts")]
        )
    export.groups = {g: _in_order(c) for g, c in export.groups.items()}
    return export


def _json_kind(value: Any) -> str:
    """What a JSON value is, in words (its value for true, false and null)."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return json.dumps(value)


def _names(headers: J, path: str) -> list[str]:
    names = []
    for k, h in enumerate(headers.value):
        name = _key(h, "name", _join(path, k), str)
        names.append(name.value)
    return names


def read_mixpanel_json(text: str, file: str) -> Export:
    """A Mixpanel funnels query response: the counts of every date, added step by step."""
    root = load_json(text, file)
    problems = _Problems()
    totals: list[StepCount] = []
    # per step, over the dates that give its avg_time: Σ count × avg_time, Σ count, and
    # where the first of them is
    time_sum: list[float] = []
    time_n: list[int] = []
    time_at: list[At | None] = []
    try:
        data = _key(root, "data", "", dict)
        if not data.value:
            raise _Bad(_here(data, "data"), "no dates in 'data'")
        for d, (date, day) in enumerate(data.value.items()):
            path = _join("data", date)
            if isinstance(day.value, dict) and "steps" not in day.value:
                raise _Bad(
                    _here(day, path),
                    "no 'steps': a funnel segmented by a property ('on') is not read; "
                    "query it without segmentation",
                )
            steps = _key(day, "steps", path, list)
            if d and len(steps.value) != len(totals):
                raise _Bad(
                    _here(steps, _join(path, "steps")),
                    f"has {len(steps.value)} steps; the first date has {len(totals)}",
                )
            for k, step in enumerate(steps.value):
                spath = _join(_join(path, "steps"), k)
                label = _label(step)
                if label is None:
                    raise _Bad(_here(step, spath), "no step name (step_label, event or goal)")
                count = _json_count(
                    _key(step, "count", spath), _join(spath, "count"), problems, file
                )
                if count is None and d:
                    continue
                avg = step.value.get("avg_time") if isinstance(step.value, dict) else None
                apath = _join(spath, "avg_time")
                if avg is not None and avg.value is not None:
                    seconds = avg.value
                    wrong = None
                    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
                        wrong = f"expected seconds (a number), got {_json_kind(seconds)}"
                    elif not 0 <= seconds <= MAX_SECONDS:
                        wrong = f"expected 0 to {MAX_SECONDS:.0e} seconds, got {seconds}"
                    if wrong:
                        problems.add(file, _here(avg, apath), wrong)
                        avg = None
                if d == 0:
                    time_sum.append(0.0)
                    time_n.append(0)
                    time_at.append(None)
                if k < len(time_sum) and avg is not None and avg.value is not None and count:
                    time_sum[k] += count * float(avg.value)
                    time_n[k] += count
                    time_at[k] = time_at[k] or _here(avg, apath)
                if d == 0:  # a bad count (already a problem) keeps its place as 0
                    totals.append(
                        StepCount(
                            label.value.strip(),
                            _here(label, spath),
                            count or 0,
                            _here(step.value["count"], _join(spath, "count")),
                            None,
                            _here(label, spath),
                        )
                    )
                elif k < len(totals):
                    if normalized(label.value) != normalized(totals[k].name):
                        raise _Bad(
                            _here(label, spath),
                            f"step {k + 1} is '{label.value}' here but '{totals[k].name}' "
                            "on the first date",
                        )
                    t = totals[k]
                    totals[k] = StepCount(t.name, t.at, t.entered + count, t.entered_at, None, t.at)
    except _Bad as exc:
        problems.add(file, exc.at, exc.message)
        raise ScenarioError(problems) from None
    if problems:
        raise ScenarioError(problems)
    for k in range(1, len(time_sum)):  # the first step has no time from a step before it
        if time_n[k]:
            totals[k] = dataclasses.replace(
                totals[k], seconds=time_sum[k] / time_n[k], seconds_at=time_at[k]
            )
    return Export("mixpanel", {None: totals})


def _label(step: J) -> J | None:
    """The name of a Mixpanel step: its ``step_label``, else its ``event``, else ``goal``."""
    if not isinstance(step.value, dict):
        return None
    for key in ("step_label", "event", "goal"):
        node = step.value.get(key)
        if node is not None and isinstance(node.value, str) and node.value.strip():
            return node
    return None


READERS = {
    "ga4": read_ga4_csv,
    "ga4-json": read_ga4_json,
    "posthog": read_posthog_csv,
    "amplitude": read_amplitude_csv,
    "mixpanel": read_mixpanel_json,
}


# ----------------------------------------------------------------------- detection


def detect_format(text: str) -> str | None:
    """The format of ``text`` told by its content, or None."""
    start = text.lstrip(" \t\r\n")
    if start[:1] in ("{", "["):
        if '"funnelTable"' in text or '"funnelStepName"' in text:
            return "ga4-json"
        if '"data"' in text and '"steps"' in text:
            return "mixpanel"
        return None
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            break
    else:
        return None
    cells = split_line(line, sniff_delimiter(line))
    names = {" ".join(c.casefold().split()) for c in cells}
    if {"step", "active users"} <= names:
        return "ga4"
    if "count" in names and names & {"action_id", "breakdown_value"}:
        return "posthog"
    if any(_amplitude_header(ln) for ln in text.splitlines()[:50]) and not (
        names & {"entered", "completed", "segment"}
    ):
        return "amplitude"
    if names & {"step", "entered", "completed", "segment"}:
        return "frictionsim"
    return None


def _header_line(text: str) -> tuple[int, str]:
    for k, line in enumerate(text.splitlines()):
        if line.strip() and not line.lstrip().startswith("#"):
            return k + 1, line
    return 1, ""


# ----------------------------------------------------------------------- steps and segments


def map_steps(
    steps: list[StepCount],
    scenario: Scenario,
    step_map: Sequence[str],
    file: str,
) -> dict[str, str | None]:
    """The scenario step of each export step (None: left out), or a :class:`ScenarioError`
    naming each export step that has none. See the module docstring for the rules."""
    names = [s.name for s in steps]
    where = {s.name: s.at for s in steps}
    scenario_steps = [s.name for s in scenario.steps]
    by_norm = {normalized(s): s for s in scenario_steps}
    problems: list[ScenarioProblem] = []
    target: dict[str, str | None] = {}
    mapped_by: dict[str, int] = {}  # export step -> the --step-map entry that maps it

    for k, entry in enumerate(step_map, start=1):
        key, sep, value = entry.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            problems.append(
                ScenarioProblem(
                    "--step-map",
                    k,
                    1,
                    entry,
                    "expected 'Tool step name=scenario_step' "
                    "(or 'Tool step name=' to leave it out)",
                )
            )
            continue
        matches = [n for n in names if n == key] or [
            n for n in names if normalized(n) == normalized(key)
        ]
        if not matches:
            problems.append(
                ScenarioProblem(
                    "--step-map",
                    k,
                    1,
                    key,
                    f"the export has no step '{key}'"
                    f"{_closest(key, names)}; its steps: {', '.join(names)}",
                )
            )
        mapped = value if value in scenario_steps else by_norm.get(normalized(value))
        if value and mapped is None:
            problems.append(
                ScenarioProblem(
                    "--step-map",
                    k,
                    len(key) + 2,
                    value,
                    f"scenario '{scenario.name}' has no "
                    f"step '{value}'{_closest(value, scenario_steps)}",
                )
            )
        for n in matches:
            if n in mapped_by:
                problems.append(
                    ScenarioProblem(
                        "--step-map",
                        k,
                        1,
                        key,
                        f"maps export step '{n}' again (--step-map {mapped_by[n]} "
                        f"'{step_map[mapped_by[n] - 1]}' maps it too); map each export step once",
                    )
                )
                continue
            mapped_by[n] = k
            target[n] = mapped if value else None
    if problems:
        raise ScenarioError(problems)

    repeated = Counter(normalized(n) for n in names)
    for n in names:
        if n not in target and repeated[normalized(n)] == 1 and normalized(n) in by_norm:
            target[n] = by_norm[normalized(n)]

    if any(n not in target for n in names):
        # by position, when the counts agree (an extra last step may be the orders)
        lead = names
        if len(names) == len(scenario_steps) + 1 and names[-1] not in target:
            lead = names[:-1]
        if len(lead) == len(scenario_steps) and all(
            target[n] == scenario_steps[k] for k, n in enumerate(lead) if n in target
        ):
            for k, n in enumerate(lead):
                target.setdefault(n, scenario_steps[k])

    if len(names) > 1 and names[-1] not in target:
        before = [t for n in names[:-1] if (t := target.get(n)) is not None]
        last = scenario.step_index(before[-1]) if before else None
        if last is not None and scenario.successors(last) == [(END, 1.0)]:
            target[names[-1]] = None  # the orders: it completes the step before it
    unmatched = [n for n in names if n not in target]
    for n in unmatched:
        problems.append(
            ScenarioProblem(
                file,
                where[n].line,
                where[n].col,
                where[n].path,
                f"export step '{n}' matches no step of scenario '{scenario.name}'"
                f"{_closest(n, scenario_steps)}; map it with --step-map '{n}=STEP', or leave "
                f"it out with --step-map '{n}='",
            )
        )
    first: dict[str, str] = {}
    for n in names:
        t = target.get(n)
        if t is None:
            continue
        if t in first:
            problems.append(
                ScenarioProblem(
                    file,
                    where[n].line,
                    where[n].col,
                    where[n].path,
                    f"export steps '{first[t]}' and '{n}' both map to step '{t}' "
                    + _how_mapped(first[t], n, mapped_by, step_map)
                    + f"; leave one out with --step-map '{n}=' (or '{first[t]}=')",
                )
            )
        else:
            first[t] = n
    if problems:
        raise ScenarioError(problems)
    return target


def _how_mapped(a: str, b: str, mapped_by: dict[str, int], step_map: Sequence[str]) -> str:
    """How two export steps came to one scenario step: the --step-map entries, or names."""
    how = [
        f"--step-map {mapped_by[n]} '{step_map[mapped_by[n] - 1]}'" if n in mapped_by else "by name"
        for n in (a, b)
    ]
    return f"({how[0]}; {how[1]})"


def _segments(export: Export, scenario: Scenario, file: str) -> dict[str | None, str | None]:
    """The scenario segment of each breakdown value read (GA4 totals, when the values
    are not the segments); a :class:`ScenarioError` when they are not and no totals are."""
    groups = [g for g in export.groups if g != export.total]
    if groups == [None]:
        return {None: None}
    by_norm = {normalized(s.name): s.name for s in scenario.segments}
    matched = {g: by_norm.get(normalized(g or "")) for g in groups}
    if groups and all(matched.values()):
        return matched
    if export.total in export.groups:
        return {export.total: None}
    names = [s.name for s in scenario.segments]
    raise ScenarioError(
        [
            ScenarioProblem(
                file,
                export.group_at[g].line,
                export.group_at[g].col,
                export.group_at[g].path,
                f"breakdown value '{g}' names no segment of scenario '{scenario.name}'"
                f"{_closest(g or '', names)}: export the funnel without a breakdown, or by a "
                "property whose values are the segment names",
            )
            for g in groups
            if not matched[g]
        ]
    )


def count_rows(
    export: Export, scenario: Scenario, step_map: Sequence[str], file: str
) -> list[CountRow]:
    """The rows of counts of ``export`` as frictionsim's CSV would give them."""
    segments = _segments(export, scenario, file)
    sequence: list[StepCount] = []
    seen: set[str] = set()
    for group in segments:
        for c in export.groups[group]:
            if c.name not in seen:
                seen.add(c.name)
                sequence.append(c)
    if len(sequence) > MAX_EXPORT_STEPS:
        extra = sequence[MAX_EXPORT_STEPS]
        raise ScenarioError(
            [
                ScenarioProblem(
                    file,
                    extra.at.line,
                    extra.at.col,
                    extra.at.path,
                    f"the export has {len(sequence):,} steps, more than {MAX_EXPORT_STEPS}: "
                    "a funnel has a few; is this a funnel export?",
                )
            ]
        )
    target = map_steps(sequence, scenario, step_map, file)
    names = [c.name for c in sequence]
    problems: list[ScenarioProblem] = []
    rows = []
    for group, segment in segments.items():
        counts: dict[str, StepCount] = {}
        for c in export.groups[group]:
            if c.name in counts:
                problems.append(
                    ScenarioProblem(
                        file,
                        c.at.line,
                        c.at.col,
                        c.at.path,
                        f"step '{c.name}' repeats line {counts[c.name].at.line} (a breakdown? "
                        "export the funnel without one)",
                    )
                )
            counts.setdefault(c.name, c)
        for k, name in enumerate(names):
            step = target[name]
            if step is None or name not in counts:
                continue
            c = counts[name]
            completed = None
            if k + 1 < len(names) and _leads(scenario, step, names[k + 1 :], target):
                nxt = counts.get(names[k + 1])
                if c.continued is not None:
                    completed = c.continued
                elif nxt is not None:
                    completed = nxt.entered
                    if nxt.entered > c.entered:
                        problems.append(
                            ScenarioProblem(
                                file,
                                nxt.entered_at.line,
                                nxt.entered_at.col,
                                nxt.entered_at.path,
                                f"more visitors reached '{nxt.name}' ({nxt.entered}) than "
                                f"'{name}' ({c.entered}), the step before it: an open funnel "
                                "(visitors joining mid-way)? this export gives no completions "
                                "per step, so export a closed funnel",
                            )
                        )
                        continue
            # the mean time to go on: the next step's time to convert, where it follows
            minutes = None
            if k + 1 < len(names) and _leads(scenario, step, names[k + 1 :], target):
                nxt = counts.get(names[k + 1])
                if nxt is not None and nxt.seconds is not None:
                    minutes = nxt.seconds / 60
            # a completion the export does not give is missed at the step's name
            done_at = c.continued_at if completed is not None else c.at
            rows.append(
                CountRow(
                    c.at.line,
                    step,
                    segment,
                    c.entered,
                    completed,
                    c.at.col,
                    c.entered_at.col,
                    done_at.col,
                    c.at.path,
                    c.entered_at.path,
                    done_at.path,
                    minutes,
                )
            )
    if problems:
        raise ScenarioError(problems)
    return rows


def _leads(scenario: Scenario, step: str, after: list[str], target: dict[str, str | None]) -> bool:
    """Whether reaching the export's next step (``after[0]``) completes ``step``: it is
    the step ``step`` always leads to, or, after the scenario's last step, the orders
    (the first of export steps left out up to the end)."""
    successors = scenario.successors(scenario.step_index(step))
    nxt = target[after[0]]
    if nxt is None:
        return successors == [(END, 1.0)] and all(target[n] is None for n in after)
    return successors == [(scenario.step_index(nxt), 1.0)]


# ----------------------------------------------------------------------- the entry point


def parse_export(
    text: str,
    file: str,
    scenario: Scenario,
    funnel_format: str = "auto",
    step_map: Sequence[str] = (),
    sha256: str | None = None,
) -> ObservedFunnel:
    """Read ``text`` as ``funnel_format`` (``auto``: told by its content) and check it
    against ``scenario``; raise :class:`ScenarioError` with every located problem."""
    text = text.removeprefix("\ufeff")
    digest = sha256 or hashlib.sha256(text.encode()).hexdigest()
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        col = nul - (text.rfind("\n", 0, nul) + 1) + 1
        raise ScenarioError(
            [
                ScenarioProblem(
                    file, line, col, "(file)", "binary data (a NUL byte), not a funnel export"
                )
            ]
        )
    if funnel_format not in FORMATS:
        raise ScenarioError(
            [
                ScenarioProblem(
                    file,
                    1,
                    1,
                    "(file)",
                    f"unknown funnel format '{funnel_format}'; choose from {', '.join(FORMATS)}",
                )
            ]
        )
    fmt = funnel_format
    if fmt == "auto":
        if not text.strip() or all(
            ln.lstrip().startswith("#") for ln in text.splitlines() if ln.strip()
        ):
            return parse_funnel(text, file, scenario, digest)  # its message for an empty file
        fmt = detect_format(text) or ""
        if not fmt:
            line, header = _header_line(text)
            shown = header if len(header) <= MAX_SHOWN else header[:MAX_SHOWN] + "…"
            raise ScenarioError(
                [
                    ScenarioProblem(
                        file,
                        line,
                        1,
                        "(file)",
                        f"cannot tell which funnel export this is "
                        f"(it starts {shown!r}); expected "
                        + "; ".join(FORMAT_NAMES.values())
                        + ". Name it with --funnel-format",
                    )
                ]
            )
    if fmt == "frictionsim":
        if step_map:
            raise ScenarioError(
                [
                    ScenarioProblem(
                        "--step-map",
                        1,
                        1,
                        step_map[0],
                        "maps the steps of an analytics "
                        "export; frictionsim's CSV names the scenario's steps itself",
                    )
                ]
            )
        return parse_funnel(text, file, scenario, digest)
    export = READERS[fmt](text, file)
    rows = count_rows(export, scenario, step_map, file)
    return observed_funnel(rows, file, scenario, digest, fmt)


__all__ = [
    "FORMATS",
    "Export",
    "StepCount",
    "count_rows",
    "detect_format",
    "load_json",
    "map_steps",
    "normalized",
    "parse_export",
    "read_amplitude_csv",
    "read_ga4_csv",
    "read_ga4_json",
    "read_mixpanel_json",
    "read_posthog_csv",
]
