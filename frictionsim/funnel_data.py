"""Observed funnels: an analytics export of entries and completions per step.

Teams know how many visitors entered each checkout step and how many
completed it. This module reads such an export (CSV) and checks it against a
scenario, so :mod:`frictionsim.studies.calibrate` can fit the scenario to it.

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

Every problem is reported at once as ``FILE:LINE:COL: column: message``;
nothing here raises a traceback at users.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

from .errors import ScenarioError, ScenarioProblem, did_you_mean
from .scenario import END, Scenario
from .userfiles import read_user_file

#: Columns an observed funnel may have.
COLUMNS = ("segment", "step", "entered", "completed")
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


@dataclass(frozen=True)
class ObservedFunnel:
    """A checked funnel export: its rows, and where they came from."""

    file: str
    sha256: str
    rows: tuple[Observation, ...]

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


def _columns_of(line: str) -> list[int]:
    """1-based start column of each comma-separated field (plain lines; 1s if quoted)."""
    if '"' in line:
        return []
    cols, at = [], 1
    for part in line.split(","):
        cols.append(at)
        at += len(part) + 1
    return cols


def only_predecessor(scenario: Scenario) -> dict[int, int]:
    """Steps that always lead to one step which nothing else leads to: ``{step: next}``."""
    return scenario.flow.only_predecessor


def parse_funnel(
    text: str, file: str, scenario: Scenario, sha256: str | None = None
) -> ObservedFunnel:
    """Check funnel CSV ``text`` against ``scenario``; raise :class:`ScenarioError`.

    ``sha256`` is the file's (its bytes); by default that of ``text``."""
    problems: list[ScenarioProblem] = []
    lines = text.splitlines()

    def problem(line: int, col: int, path: str, message: str) -> None:
        problems.append(ScenarioProblem(file, line, col, path, message))

    # one record per physical line, so every problem has its line number;
    # blank lines and lines starting with '#' (comments) are skipped
    records = [next(csv.reader([ln]), []) for ln in lines]
    content = [
        k
        for k, rec in enumerate(records)
        if any(f.strip() for f in rec) and not rec[0].lstrip().startswith("#")
    ]
    if not content:
        raise ScenarioError(
            [
                ScenarioProblem(
                    file, 1, 1, "(file)", "empty; expected a header: step,entered[,completed]"
                )
            ]
        )
    h = content[0]
    header = [name.strip().lower() for name in records[h]]
    header_cols = _columns_of(lines[h]) or [1] * len(header)
    where: dict[str, int] = {}
    for k, name in enumerate(header):
        if name in where:
            problem(h + 1, header_cols[k], name, f"duplicate column '{name}'")
        elif name not in COLUMNS:
            problem(
                h + 1,
                header_cols[k],
                name or "(empty)",
                f"unknown column '{name}'{did_you_mean(name, list(COLUMNS))}; "
                f"allowed: {', '.join(COLUMNS)}",
            )
        else:
            where[name] = k
    for needed in ("step", "entered"):
        if needed not in where:
            problem(h + 1, 1, needed, f"missing required column '{needed}'")
    if problems:
        raise ScenarioError(problems)

    step_names = [s.name for s in scenario.steps]
    segment_names = [s.name for s in scenario.segments]
    raw: dict[tuple[str | None, str], tuple[int, int | None, int]] = {}
    for k in content[1:]:
        n, record = k + 1, records[k]
        cols = _columns_of(lines[n - 1]) or [1] * len(record)
        if len(record) != len(header):
            problem(n, 1, "(row)", f"has {len(record)} fields; the header has {len(header)}")
            continue

        def cell(name: str, record: list[str] = record) -> str:
            return record[where[name]].strip() if name in where else ""

        def col(name: str, cols: list[int] = cols) -> int:
            return cols[where[name]] if name in where and where[name] < len(cols) else 1

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
            try:
                number = int(value)
            except ValueError:
                problem(n, col(name), name, f"expected a whole number of visitors, got {value!r}")
                ok = False
                continue
            if number < 0:
                problem(n, col(name), name, f"must not be negative (got {number})")
                ok = False
            counts[name] = number
        entered, completed = counts.get("entered"), counts.get("completed")
        if entered is not None and completed is not None and completed > entered:
            problem(
                n,
                col("completed"),
                "completed",
                f"completed ({completed}) exceeds entered ({entered})",
            )
            ok = False
        key = (segment, step)
        if ok and key in raw:
            who = f" for segment '{segment}'" if segment else ""
            problem(n, col("step"), "step", f"step '{step}'{who} repeats line {raw[key][2]}")
            ok = False
        if ok and entered is not None:
            raw[key] = (entered, completed, n)
    if problems:
        raise ScenarioError(problems)
    if not raw:
        raise ScenarioError([ScenarioProblem(file, 1, 1, "(file)", "no rows of counts")])

    # completions from the flow, and counts the flow makes impossible
    into_only = only_predecessor(scenario)
    rows = []
    for (segment, step), (entered, completed, n) in raw.items():
        i = step_names.index(step)
        nxt = into_only.get(i)
        following = raw.get((segment, step_names[nxt])) if nxt is not None else None
        if completed is None:
            if following is None:
                if scenario.successors(i) == [(END, 1.0)]:
                    why = f"'{step}' is the last step: give its completions (the orders)"
                elif nxt is None:
                    why = (
                        f"the flow after '{step}' branches or joins, so its completions "
                        "cannot be read from the next step; give them"
                    )
                else:
                    why = f"no row for the next step '{step_names[nxt]}'; give the completions"
                problem(n, len(lines[n - 1]) + 1, "completed", f"empty, and {why}")
                continue
            completed = following[0]
            if completed > entered:
                problem(
                    following[2],
                    1,
                    "entered",
                    f"more visitors entered '{step_names[nxt]}' ({completed}) than entered "
                    f"'{step}' ({entered}), and only '{step}' leads there",
                )
                continue
        elif following is not None and following[0] > completed:
            problem(
                following[2],
                1,
                "entered",
                f"more visitors entered '{step_names[nxt]}' ({following[0]}) than completed "
                f"'{step}' ({completed}), and only '{step}' leads there",
            )
        rows.append(Observation(step, segment, entered, completed, n))
    if problems:
        raise ScenarioError(problems)
    if "segment" in where:
        order = {name: k for k, name in enumerate(segment_names)}
        rows.sort(key=lambda r: (order[r.segment or ""], step_names.index(r.step)))
    else:
        rows.sort(key=lambda r: step_names.index(r.step))
    digest = sha256 or hashlib.sha256(text.encode()).hexdigest()
    return ObservedFunnel(file, digest, tuple(rows))


def load_funnel(path: str | Path, scenario: Scenario) -> ObservedFunnel:
    """Read and check the funnel CSV at ``path``."""
    raw, text = read_user_file(
        path,
        kind="a funnel CSV file",
        max_bytes=MAX_FUNNEL_BYTES,
        too_big="larger than {limit} bytes; refused",
        encoding="utf-8-sig",
        not_text="not UTF-8 text (is this a CSV file?)",
        locate_bad_byte=False,
    )
    return parse_funnel(text, str(path), scenario, hashlib.sha256(raw).hexdigest())


__all__ = ["COLUMNS", "Observation", "ObservedFunnel", "load_funnel", "parse_funnel"]
