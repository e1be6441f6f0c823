"""Observed funnels: an analytics export of entries and completions per step.

Teams know how many visitors entered each checkout step and how many
completed it. This module reads frictionsim's own funnel CSV, checks counts
from any format against a scenario (:func:`observed_funnel`, which the
analytics exports of :mod:`frictionsim.funnel_exports` go through too), so
:mod:`frictionsim.studies.calibrate` can fit the scenario to them.

The format (documented in ``scenarios/README.md``)::

    step,entered,completed
    cart,20000,14030
    account,14030,

* ``step`` (required): a step name of the scenario.
* ``entered`` (required): visitors who entered the step, a whole number ≥ 0.
* ``completed`` (optional column, and may be left empty in a row): visitors
  who finished the step. When empty it is taken from the flow: the visitors
  who entered the next step, when this step always leads there and nothing
  else leads there. The last step's completions are the orders and must be
  given.
* ``segment`` (optional column): the segment the row counts; then every row
  names one, and each segment has its own rows.
* ``mean_minutes`` (optional column, may be left empty): the mean minutes from
  entering the step to going on from it, over those who completed it (an
  analytics tool's time to convert to the next step); ``calibrate --fit
  duration`` fits step durations to it.

Columns may be separated by commas, semicolons or tabs, and numbers may use a
decimal comma (:mod:`frictionsim.csvtext`). More visitors entering a step than
completed the only step before it is read as an **open funnel** (visitors
joining mid-way) when that step's completions are given: each step's pass rate
is then its own completed / entered, and the funnel carries a warning. Where
the completions would have to come from the next step's entries, that rise is
refused.

Every problem is reported at once as ``FILE:LINE:COL: column: message``;
nothing here raises a traceback at users.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .csvtext import MAX_SECONDS, Record, comma_hint, parse_count, parse_seconds, read_table
from .errors import ScenarioError, ScenarioProblem, did_you_mean
from .scenario import END, Scenario
from .userfiles import read_user_file

#: Columns an observed funnel may have.
COLUMNS = ("segment", "step", "entered", "completed", "mean_minutes")
#: A time written with units or as a clock (not a plain number of minutes).
_CLOCKLIKE = re.compile(r"[:a-zA-Z]")
#: Funnel files larger than this are refused before parsing.
MAX_FUNNEL_BYTES = 5_000_000


@dataclass(frozen=True)
class Observation:
    """Visitors who entered and completed one step (of one segment, or of all)."""

    step: str
    segment: str | None
    entered: int
    completed: int
    line: int
    #: Mean minutes from entering the step to going on from it, over those who completed
    #: it (an analytics tool's time to convert), where the data gives it.
    minutes: float | None = None


@dataclass(frozen=True)
class ObservedFunnel:
    """A checked funnel export: its rows, where they came from, the format they were
    read as, and warnings about them (located lines, e.g. an open funnel)."""

    file: str
    sha256: str
    rows: tuple[Observation, ...]
    format: str = "frictionsim"
    warnings: tuple[str, ...] = ()

    @property
    def by_segment(self) -> bool:
        return any(r.segment is not None for r in self.rows)

    @property
    def visitors(self) -> int:
        """Visitors behind the data: the largest entry count, summed over segments."""
        most: dict[str | None, int] = {}
        for r in self.rows:
            most[r.segment] = max(most.get(r.segment, 0), r.entered)
        return sum(most.values())

    @property
    def steps(self) -> list[str]:
        """Observed step names, first seen first."""
        return list(dict.fromkeys(r.step for r in self.rows))


@dataclass(frozen=True)
class CountRow:
    """One row of counts on its way into an :class:`ObservedFunnel`, read from any
    format: a scenario step, its counts, and where each value sits in the file."""

    line: int
    step: str
    segment: str | None
    entered: int
    completed: int | None
    step_col: int = 1
    entered_col: int = 1
    completed_col: int = 1
    step_path: str = "step"
    entered_path: str = "entered"
    completed_path: str = "completed"
    minutes: float | None = None  # mean minutes to go on from the step (time to convert)


def only_predecessor(scenario: Scenario) -> dict[int, int]:
    """Steps that always lead to one step which nothing else leads to: ``{step: next}``."""
    return scenario.flow.only_predecessor


def observed_funnel(
    rows: list[CountRow],
    file: str,
    scenario: Scenario,
    sha256: str,
    funnel_format: str = "frictionsim",
) -> ObservedFunnel:
    """Check ``rows`` against the flow of ``scenario``; raise :class:`ScenarioError`.

    Fills each missing completion from the next step's entries (where this step
    always leads there and nothing else does), and refuses counts the flow makes
    impossible. More visitors entering a step than completed the only step before
    it is an open funnel (visitors joining mid-way): accepted, with a warning, where
    that step's completions are given; refused where they would come from the
    entries that rose. ``funnel_format`` other than ``frictionsim`` words the
    messages for an analytics export."""
    export = funnel_format != "frictionsim"
    problems: list[ScenarioProblem] = []
    warnings: list[str] = []

    def problem(line: int, col: int, path: str, message: str) -> None:
        problems.append(ScenarioProblem(file, line, col, path, message))

    step_names = [s.name for s in scenario.steps]
    raw: dict[tuple[str | None, str], CountRow] = {}
    for row in rows:
        key = (row.segment, row.step)
        if key in raw:
            who = f" for segment '{row.segment}'" if row.segment else ""
            hint = " (a breakdown? export the funnel without one)" if export else ""
            problem(
                row.line,
                row.step_col,
                row.step_path,
                f"step '{row.step}'{who} repeats line {raw[key].line}{hint}",
            )
            continue
        raw[key] = row
    if problems:
        raise ScenarioError(problems)
    if not raw:
        raise ScenarioError([ScenarioProblem(file, 1, 1, "(file)", "no rows of counts")])

    into_only = only_predecessor(scenario)
    out = []
    for (segment, step), row in raw.items():
        i = step_names.index(step)
        nxt = into_only.get(i)
        following = raw.get((segment, step_names[nxt])) if nxt is not None else None
        completed = row.completed
        if completed is None:
            if following is None:
                problem(
                    row.line,
                    row.completed_col,
                    row.completed_path,
                    _no_completions(scenario, i, nxt, export),
                )
                continue
            completed = following.entered
            if completed > row.entered:
                problem(
                    following.line,
                    following.entered_col,
                    following.entered_path,
                    f"more visitors entered '{following.step}' ({completed}) than entered "
                    f"'{step}' ({row.entered}), and only '{step}' leads there; an open "
                    "funnel (visitors joining mid-way) needs each step's own completions: "
                    + (
                        "export a closed funnel"
                        if export
                        else "give them, or export a closed funnel"
                    ),
                )
                continue
        elif following is not None and following.entered > completed:
            warnings.append(
                str(
                    ScenarioProblem(
                        file,
                        following.line,
                        following.entered_col,
                        following.entered_path,
                        f"more visitors entered '{following.step}' ({following.entered}) than "
                        f"completed '{step}' ({completed}), and only '{step}' leads there: read "
                        f"as an open funnel (visitors joining at '{following.step}'); each "
                        "step's pass rate is its own completed / entered",
                    )
                )
            )
        minutes = row.minutes if completed > 0 else None  # nobody went on: no mean time
        if minutes is not None and minutes > scenario.horizon:
            warnings.append(
                str(
                    ScenarioProblem(
                        file,
                        row.line,
                        1,
                        "mean_minutes",
                        f"a mean time to go on from '{step}' of {minutes:g} minutes is longer "
                        f"than the scenario's horizon ({scenario.horizon:g} minutes): are the "
                        "units right? (in a ';' file a point groups thousands unless the "
                        "file's numbers show it is the decimal mark)",
                    )
                )
            )
        out.append(Observation(step, segment, row.entered, completed, row.line, minutes))
    if problems:
        raise ScenarioError(problems)
    if any(r.segment is not None for r in out):
        order = {s.name: k for k, s in enumerate(scenario.segments)}
        out.sort(key=lambda r: (order[r.segment or ""], step_names.index(r.step)))
    else:
        out.sort(key=lambda r: step_names.index(r.step))
    return ObservedFunnel(file, sha256, tuple(out), funnel_format, tuple(warnings))


def _no_completions(scenario: Scenario, i: int, nxt: int | None, export: bool) -> str:
    """Why the completions of step ``i`` cannot be had, and what to do."""
    step = scenario.steps[i].name
    if scenario.successors(i) == [(END, 1.0)]:
        if export:
            return (
                f"'{step}' is the scenario's last step, and the export counts no orders "
                f"after it: add the order step (e.g. purchase) to the funnel after '{step}'"
            )
        return f"empty, and '{step}' is the last step: give its completions (the orders)"
    if nxt is None:
        if export:
            return (
                f"cannot tell how many completed '{step}': the flow after it branches or "
                "joins, and the export's next step is not the one it always leads to"
            )
        return (
            f"empty, and the flow after '{step}' branches or joins, so its completions "
            "cannot be read from the next step; give them"
        )
    name = scenario.steps[nxt].name
    if export:
        return f"cannot tell how many completed '{step}': the export has no step for '{name}'"
    return f"empty, and no row for the next step '{name}'; give the completions"


def parse_funnel(
    text: str, file: str, scenario: Scenario, sha256: str | None = None
) -> ObservedFunnel:
    """Check funnel CSV ``text`` (frictionsim's own columns) against ``scenario``; raise
    :class:`ScenarioError`. Columns may be separated by commas, semicolons or tabs.

    ``sha256`` is the file's (its bytes); by default that of ``text``."""
    problems: list[ScenarioProblem] = []

    def problem(line: int, col: int, path: str, message: str) -> None:
        problems.append(ScenarioProblem(file, line, col, path, message))

    table = read_table(text.removeprefix("\ufeff"))
    if table is None:
        raise ScenarioError(
            [
                ScenarioProblem(
                    file, 1, 1, "(file)", "empty; expected a header: step,entered[,completed]"
                )
            ]
        )
    header = [name.lower() for name in table.header.cells]
    h = table.header
    where: dict[str, int] = {}
    for k, name in enumerate(header):
        if name in where:
            problem(h.line, h.col(k), name, f"duplicate column '{name}'")
        elif name not in COLUMNS:
            problem(
                h.line,
                h.col(k),
                name or "(empty)",
                f"unknown column '{name}'{did_you_mean(name, list(COLUMNS))}; "
                f"allowed: {', '.join(COLUMNS)}",
            )
        else:
            where[name] = k
    for needed in ("step", "entered"):
        if needed not in where:
            problem(h.line, 1, needed, f"missing required column '{needed}'")
    if problems:
        raise ScenarioError(problems)

    step_names = [s.name for s in scenario.steps]
    segment_names = [s.name for s in scenario.segments]
    rows: list[CountRow] = []
    for record in table.rows:
        n, cells = record.line, record.cells
        if len(cells) != len(header):
            problem(
                n,
                1,
                "(row)",
                f"has {len(cells)} fields; the header has {len(header)}"
                + comma_hint(record, table),
            )
            continue

        def cell(name: str, cells: list[str] = cells) -> str:
            return cells[where[name]] if name in where else ""

        def col(name: str, record: Record = record) -> int:
            return record.col(where[name]) if name in where else 1

        ok = True
        step = cell("step")
        if not step:
            problem(n, col("step"), "step", "empty step name")
            ok = False
        elif step not in step_names:
            problem(
                n,
                col("step"),
                "step",
                f"no step named '{step}' in scenario '{scenario.name}'"
                f"{did_you_mean(step, step_names)}",
            )
            ok = False
        segment: str | None = None
        if "segment" in where:
            segment = cell("segment")
            if not segment:
                problem(
                    n, col("segment"), "segment", "empty segment (the file has a segment column)"
                )
                ok = False
            elif segment not in segment_names:
                problem(
                    n,
                    col("segment"),
                    "segment",
                    f"no segment named '{segment}' in scenario '{scenario.name}'"
                    f"{did_you_mean(segment, segment_names)}",
                )
                ok = False
        counts: dict[str, int | None] = {}
        for name in ("entered", "completed"):
            value = cell(name)
            if name == "completed" and not value:
                counts[name] = None
                continue
            number, message = parse_count(value, table.decimal)
            if message:
                problem(n, col(name), name, message)
                ok = False
            counts[name] = number
        entered, completed = counts.get("entered"), counts.get("completed")
        minutes = None
        if "mean_minutes" in where:
            text = cell("mean_minutes")
            seconds, message = parse_seconds(text, table.decimal)
            if seconds is not None:  # a plain number is minutes here; 1m 2s, 0:01:02 say so
                minutes = seconds / 60 if _CLOCKLIKE.search(text) else seconds
                if minutes > MAX_SECONDS / 60:
                    message = f"at most {MAX_SECONDS / 60:.3g} minutes (got {text.strip()})"
            if message:
                message = message.replace("a time (seconds,", "minutes (a number,")
                problem(n, col("mean_minutes"), "mean_minutes", message)
                ok = False
        if entered is not None and completed is not None and completed > entered:
            problem(
                n,
                col("completed"),
                "completed",
                f"completed ({completed}) exceeds entered ({entered})",
            )
            ok = False
        if ok and entered is not None:
            rows.append(
                CountRow(
                    n,
                    step,
                    segment,
                    entered,
                    completed,
                    col("step"),
                    col("entered"),
                    record.length + 1 if completed is None else col("completed"),
                    minutes=minutes,
                )
            )
    if problems:
        raise ScenarioError(problems)
    digest = sha256 or hashlib.sha256(text.encode()).hexdigest()
    return observed_funnel(rows, file, scenario, digest)


def load_funnel(
    path: str | Path,
    scenario: Scenario,
    funnel_format: str = "auto",
    step_map: Sequence[str] = (),
) -> ObservedFunnel:
    """Read and check the funnel at ``path``: frictionsim's CSV or an analytics export
    (:mod:`frictionsim.funnel_exports`; ``funnel_format`` ``auto`` tells them apart by
    their content). ``step_map`` entries (``'Tool step=scenario_step'``) name the
    scenario step of an export's step."""
    from .funnel_exports import parse_export  # it builds on this module

    raw, text = read_user_file(
        path,
        kind="a funnel file",
        max_bytes=MAX_FUNNEL_BYTES,
        too_big="larger than {limit} bytes; refused",
        encoding="utf-8-sig",
        not_text="not UTF-8 text (is this a CSV or JSON export?)",
        locate_bad_byte=False,
    )
    digest = hashlib.sha256(raw).hexdigest()
    return parse_export(text, str(path), scenario, funnel_format, step_map, digest)


@dataclass(frozen=True)
class HourlyEntries:
    """Visitors who entered the first step in each hour of the day (0 = midnight),
    summed over the period of the data: the arrival profile's evidence."""

    file: str
    sha256: str
    entered: tuple[int, ...]  # 24 counts

    @property
    def total(self) -> int:
        return sum(self.entered)


def parse_hourly(text: str, file: str, digest: str = "") -> HourlyEntries:
    """An ``hour,entered`` table (hour 0–23, each once), or a located :class:`ScenarioError`."""
    table = read_table(text)
    if table is None:
        raise ScenarioError([ScenarioProblem(file, 1, 1, "(file)", "empty; expected hour,entered")])
    names = [c.lower() for c in table.header.cells]
    missing = [c for c in ("hour", "entered") if c not in names]
    if missing:
        message = f"missing column(s) {', '.join(missing)}; expected hour,entered"
        if table.delimiter != ",":
            message += f" (columns read as separated by {table.delimiter!r})"
        raise ScenarioError([ScenarioProblem(file, table.header.line, 1, "(header)", message)])
    h_col, n_col = names.index("hour"), names.index("entered")
    counts: dict[int, int] = {}
    problems = []
    for row in table.rows:
        cell = row.cells[h_col] if h_col < len(row.cells) else ""
        hour, bad = parse_count(cell, table.decimal)
        if bad or hour is None or not 0 <= hour <= 23:
            problems.append(ScenarioProblem(file, row.line, row.col(h_col), "hour",
                                            f"expected an hour 0-23, got {cell!r}"))  # fmt: skip
            continue
        if hour in counts:
            problems.append(ScenarioProblem(file, row.line, row.col(h_col), "hour",
                                            f"hour {hour} is listed twice"))  # fmt: skip
            continue
        cell = row.cells[n_col] if n_col < len(row.cells) else ""
        number, bad = parse_count(cell, table.decimal)
        if bad or number is None:
            problems.append(ScenarioProblem(file, row.line, row.col(n_col), "entered",
                                            bad or "missing"))  # fmt: skip
            continue
        counts[hour] = number
    if not problems:
        absent = [h for h in range(24) if h not in counts]
        if absent:
            problems.append(ScenarioProblem(file, 1, 1, "hour", "every hour 0-23 needs a row; "
                                            f"missing: {', '.join(map(str, absent))}"))  # fmt: skip
        elif sum(counts.values()) == 0:
            problems.append(ScenarioProblem(file, 1, 1, "entered", "no visitors in any hour"))
    if problems:
        raise ScenarioError(problems)
    return HourlyEntries(file, digest, tuple(counts[h] for h in range(24)))


def load_hourly(path: str | Path) -> HourlyEntries:
    """Read and check the hourly entries at ``path`` (:func:`parse_hourly`)."""
    raw, text = read_user_file(
        path,
        kind="an hourly file",
        max_bytes=MAX_FUNNEL_BYTES,
        too_big="larger than {limit} bytes; refused",
        encoding="utf-8-sig",
        not_text="not UTF-8 text (is this a CSV?)",
        locate_bad_byte=False,
    )
    return parse_hourly(text, str(path), hashlib.sha256(raw).hexdigest())


__all__ = [
    "COLUMNS",
    "CountRow",
    "HourlyEntries",
    "Observation",
    "ObservedFunnel",
    "load_funnel",
    "load_hourly",
    "observed_funnel",
    "parse_funnel",
    "parse_hourly",
]
