"""Event logs for process mining: every customer's journey, one row per event.

While a replication runs, a :class:`PartWriter` receives the engine's events
and keeps only the visits still in progress; when a visit is over (including
the memory of it, for a defect that surfaces later) its events are written
to the replication's part file as one block. Memory is therefore bounded by
the customers in the shop at once, not by the number of customers, and the
part files of parallel replications never need sorting.

:func:`write_log` then streams the parts, in replication order, into the
results folder as CSV with the column names process-mining tools expect
(``case:concept:name``, ``concept:name``, ``lifecycle:transition``,
``time:timestamp``) or as XES (IEEE 1849-2016) with the concept, time and
lifecycle extensions. Timestamps are the scenario's ``start`` plus the
simulated minutes, in UTC with milliseconds.

Activities: ``arrival`` (``referral arrival``, ``return arrival`` for the other
sources); the step's name with lifecycle ``start`` on entering and
``complete`` on finishing it; ``<step> queue`` with ``start`` on joining the
queue and ``complete`` when served or ``withdraw`` when reneging;
``<step> error`` for a failed attempt; then the outcome: ``order``,
``abandoned`` (friction) or ``left`` (non-friction exit); and ``defect`` when a
post-purchase defect surfaces. A case is one visit: ``r<replication>-<source
initial><number>``, e.g. ``r0-o17`` (organic), ``r0-r3`` (referral), ``r0-b2``
(back: returning). ``customer`` links a person's visits: it is the case of their
first visit (a returning customer's is the visit they first came on, whatever
number of times they return; every other visit is its own customer's).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO
from xml.sax.saxutils import quoteattr

from .errors import SimulationError
from .scenario import Scenario
from .sim.codes import LOG_SOURCES

FORMATS = ("csv", "xes")
CSV_COLUMNS = (
    "case:concept:name",
    "concept:name",
    "lifecycle:transition",
    "time:timestamp",
    "replication",
    "source",
    "segment",
    "step",
    "irritation",
    "minute",
    "customer",
)
_CASE_PREFIX = {"organic": "o", "referral": "r", "returning": "b", "contact": "k"}


class PartWriter:
    """The event sink of one replication: writes finished visits to ``path``."""

    def __init__(self, path: Path, replication: int, segments: Sequence[str]) -> None:
        self.file: TextIO = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115
        self.replication = replication
        self.segments = list(segments)
        # per visit in progress: the fields every row of it shares, and its rows
        self.visits: dict[tuple[int, int], tuple[str, str, list[str]]] = {}
        self.most_open = 0  # the most visits held at once, for the memory bound
        self.persons: dict[tuple[int, int], str] = {}  # returning visits: their person's case

    def event(
        self,
        source: int,
        customer: int,
        segment: int,
        activity: str,
        lifecycle: str,
        minute: float,
        step: str,
        irritation: float,
    ) -> None:
        key = (source, customer)
        visit = self.visits.get(key)
        if visit is None:
            name = LOG_SOURCES[source]
            case = self._case(source, customer)
            person = self.persons.pop(key, case)
            shared = f"\t{self.replication}\t{name}\t{self.segments[segment]}\t{person}\t"
            visit = self.visits[key] = (case, shared, [])
            if len(self.visits) > self.most_open:
                self.most_open = len(self.visits)
        case, shared, rows = visit
        rows.append(f"{case}\t{activity}\t{lifecycle}\t{minute!r}{shared}{step}\t{irritation!r}\n")

    def _case(self, source: int, customer: int) -> str:
        return f"r{self.replication}-{_CASE_PREFIX[LOG_SOURCES[source]]}{customer}"

    def person(self, source: int, customer: int, person: tuple[int, int]) -> None:
        # a customer of the base (`base`) is a person before any visit: source -1
        case = f"r{self.replication}-c{person[1]}" if person[0] < 0 else self._case(*person)
        self.persons[(source, customer)] = case

    def done(self, source: int, customer: int) -> None:
        self.file.writelines(self.visits.pop((source, customer))[2])

    def close(self) -> None:
        for key in list(self.visits):  # nothing should be left; never lose events
            self.done(*key)
        self.file.close()


def _rows(parts: Sequence[Path]) -> Iterator[list[str]]:
    """The part files' rows, in replication order, as lists of fields."""
    for part in parts:
        with open(part, encoding="utf-8") as f:
            for line in f:
                yield line.rstrip("\n").split("\t")


def _timestamp(start: dt.datetime, minute: str) -> str:
    try:
        moment = start + dt.timedelta(minutes=float(minute))
    except OverflowError:
        raise SimulationError(
            f"an event at minute {float(minute):g} after {start.isoformat()} is beyond the "
            "year 9999 and cannot be written; use an earlier start or a shorter horizon"
        ) from None
    return moment.isoformat(timespec="milliseconds")


def write_log(scenario: Scenario, parts: Sequence[Path], out: Path, fmt: str) -> Path:
    """Stream ``parts`` into ``out`` as CSV or XES; returns ``out``."""
    start = scenario.start
    with open(out, "w", encoding="utf-8", newline="") as f:
        if fmt == "csv":
            f.write(",".join(CSV_COLUMNS) + "\n")
            for case, activity, life, minute, rep, source, seg, who, step, irr in _rows(parts):
                stamp = _timestamp(start, minute)
                f.write(
                    f"{case},{activity},{life},{stamp},{rep},{source},{seg},{step},{irr},{minute},"
                    f"{who}\n"
                )
        elif fmt == "xes":
            _write_xes(f, scenario, parts)
        else:
            raise ValueError(f"unknown event log format {fmt!r}")
    return out


_XES_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1849-2016" xes.features="" xmlns="http://www.xes-standard.org/">
  <extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
  <extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>
  <extension name="Lifecycle" prefix="lifecycle" uri="http://www.xes-standard.org/lifecycle.xesext"/>
  <global scope="trace">
    <string key="concept:name" value="UNKNOWN"/>
  </global>
  <global scope="event">
    <string key="concept:name" value="UNKNOWN"/>
    <string key="lifecycle:transition" value="complete"/>
    <date key="time:timestamp" value="1970-01-01T00:00:00.000+00:00"/>
  </global>
  <classifier name="Activity" keys="concept:name"/>
  <classifier name="Activity and lifecycle" keys="concept:name lifecycle:transition"/>
"""


def _write_xes(f: TextIO, scenario: Scenario, parts: Sequence[Path]) -> None:
    f.write(_XES_HEAD)
    f.write(f'  <string key="concept:name" value={quoteattr(scenario.name)}/>\n')
    current = None
    for case, activity, life, minute, rep, source, seg, who, step, irr in _rows(parts):
        if case != current:
            if current is not None:
                f.write("  </trace>\n")
            current = case
            f.write(
                f'  <trace>\n    <string key="concept:name" value="{case}"/>\n'
                f'    <int key="replication" value="{rep}"/>\n'
                f'    <string key="source" value="{source}"/>\n'
                f'    <string key="segment" value={quoteattr(seg)}/>\n'
                f'    <string key="customer" value="{who}"/>\n'
            )
        f.write(
            f"    <event>\n"
            f'      <string key="concept:name" value={quoteattr(activity)}/>\n'
            f'      <string key="lifecycle:transition" value="{life}"/>\n'
            f'      <date key="time:timestamp" value="{_timestamp(scenario.start, minute)}"/>\n'
            + (f'      <string key="step" value={quoteattr(step)}/>\n' if step else "")
            + f'      <float key="irritation" value="{irr}"/>\n'
            f"    </event>\n"
        )
    if current is not None:
        f.write("  </trace>\n")
    f.write("</log>\n")
