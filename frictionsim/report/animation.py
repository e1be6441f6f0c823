"""An animation of a run for a talk: customers moving through the steps, from the event log.

:func:`occupancy` reads ``events.csv`` (``frictionsim run --event-log csv``) once,
case by case, into counts per frame: customers at each step (performing it, or
waiting in its queue) and the orders, friction abandonments and exits so far.
Memory is one row of counts per frame, whatever the size of the log.
:func:`render_animation` draws those frames with matplotlib's animation writers:
a GIF (Pillow) or an MP4 (ffmpeg, where installed).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import math
import operator
import os
import re
import stat
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..errors import ResultsError, visible
from ..scenario.model import MAX_NAME, NAME_PATTERN
from ..sim.codes import (
    ARRIVAL_ACTIVITY,
    CONTACT_ACTIVITY,
    CONTACT_OUTCOME_ACTIVITY,
    ORDER,
    OUTCOME_ACTIVITY,
)
from .common import _RC, EXIT, FRICTION, PASSED

#: Orders: green, the one colour the charts do not use for anything else.
ORDERED = "#009E73"

#: Columns the event log must have.
COLUMNS = ("case:concept:name", "concept:name", "lifecycle:transition", "replication", "step",
           "minute")  # fmt: skip
#: Columns each row of a case repeats.
SHARED = ("source", "segment", "customer")
#: Outcome activities, in the order of the counters.
OUTCOMES = ("order", "abandoned", "left")
#: What the log's rows may say (frictionsim/eventlog.py): the lifecycle transitions,
TRANSITIONS = ("start", "complete", "withdraw")
#: the arrivals (a contact of the service arrives as ``contact``),
ARRIVALS = (*ARRIVAL_ACTIVITY, CONTACT_ACTIVITY["arrival"])
#: outcomes written without a step (an order, a resolved contact) and at the step,
ORDER_ACTIVITY = OUTCOME_ACTIVITY[ORDER]
ENDS_WITHOUT_STEP = (ORDER_ACTIVITY, CONTACT_ACTIVITY["order"])
ENDS_AT_STEP = (*OUTCOME_ACTIVITY[1:], *dict.fromkeys(CONTACT_OUTCOME_ACTIVITY.values()))
#: and a post-purchase defect, after the order.
DEFECT = "defect"
#: Most events of one case: a visit has a few at each step it passes (retries included).
MAX_CASE_EVENTS = 100_000
#: Longest line: the writer's are a few hundred bytes.
MAX_LINE = 1 << 20
_NAME = re.compile(NAME_PATTERN)  # a step name, at most MAX_NAME characters
_WHOLE = re.compile(r"[0-9]{1,9}")
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|nan|inf|-inf")
_CASE = re.compile(r"r([0-9]{1,9})-([orbk])[0-9]{1,19}")
_PERSON = re.compile(r"r([0-9]{1,9})-[orbkc][0-9]{1,19}")
#: Dots per inch of a frame: 1024 × 576 pixels at the default size, readable on a slide.
DPI_MOVIE = 80
#: Most frames an animation may have (a minute of 25 frames a second).
MAX_FRAMES = 1500


@dataclass
class Occupancy:
    """Counts per frame: ``at[f, s]`` customers performing step ``s``, ``waiting[f, s]``
    in its queue, ``outcomes[f, k]`` orders / abandonments / exits so far."""

    steps: list[str]
    minutes: np.ndarray  # the time of each frame, minutes from the run's start
    at: np.ndarray
    waiting: np.ndarray
    outcomes: np.ndarray
    start: dt.datetime | None


def _cases(path: Path, replication: int) -> Iterator[tuple[str, list[tuple[str, str, str, float]]]]:
    """Each case's events ``(activity, transition, step, minute)`` of one replication,
    as the log groups them (a case's events are consecutive). Every row of the log, of
    every replication, is checked against what ``frictionsim run --event-log csv``
    writes; the first that is not is one located :class:`ResultsError`."""
    where = visible(str(path))
    try:
        info = os.lstat(path)
    except OSError as exc:
        raise ResultsError(f"{where}: {exc.strerror or exc}") from None
    if stat.S_ISLNK(info.st_mode):
        raise ResultsError(f"{where}: a link, not the event log frictionsim wrote")
    if stat.S_ISDIR(info.st_mode):
        raise ResultsError(f"{where}: a folder, not an event log")
    if not stat.S_ISREG(info.st_mode):
        raise ResultsError(f"{where}: not a regular file (a pipe or a device); not an event log")
    try:  # no links followed, and a pipe put there since never waited for
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise ResultsError(f"{where}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ResultsError(f"{where}: not a regular file; not an event log")
        reader = csv.reader(_lines(handle, where))
        try:
            yield from _read_cases(reader, where, replication)
        except csv.Error as exc:
            raise ResultsError(f"{where}:{reader.line_num}: {exc}") from None


def _lines(handle: BinaryIO, where: str) -> Iterator[str]:
    """The file's lines as text, each at most :data:`MAX_LINE` bytes (memory stays
    bounded whatever the file holds)."""
    number = 0
    while raw := handle.readline(MAX_LINE + 1):
        number += 1
        if len(raw) > MAX_LINE:
            raise ResultsError(
                f"{where}:{number}: a line longer than {MAX_LINE:,} bytes; not an event log"
            )
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        if b"\0" in raw:
            raise ResultsError(f"{where}:{number}: binary (a NUL byte), not UTF-8 text")
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ResultsError(f"{where}:{number}: not UTF-8 text; not an event log") from None


def _q(text: str) -> str:
    """A value of the log as a message shows it: quoted, cut, invisible characters escaped."""
    return visible(repr(text if len(text) <= 60 else text[:60] + "…"))


def _kind(activity: str, transition: str, step: str, steps: set[str]) -> str:
    """What a row of the writer is: ``arrival``, ``step`` (a step's start or complete),
    ``visit`` (in a step: its queue, an error, a recovery), ``end`` (the outcome),
    ``end?`` (a step's complete that is also an outcome's name), ``defect``; or a
    ``ValueError`` saying why the writer never writes it. ``steps``: the steps met."""
    if transition not in TRANSITIONS:
        raise ValueError(f"lifecycle:transition {_q(transition)}: not start, complete or withdraw")
    if not step:
        kind = (
            "arrival" if activity in ARRIVALS
            else "end" if activity in ENDS_WITHOUT_STEP
            else "defect" if activity == DEFECT
            else None
        )  # fmt: skip
        if kind is None:
            named = activity.endswith((" queue", " error", " recovery")) or activity in steps
            if named or activity in ENDS_AT_STEP:
                raise ValueError(f"{_q(activity)} with an empty step; the log names its step")
            raise ValueError(f"unknown activity {_q(activity)}")
        allowed: tuple[str, ...] = ("complete",)
    else:
        if len(step) > MAX_NAME or not _NAME.fullmatch(step):
            raise ValueError(f"step {_q(step)}: not a step name")
        if activity == step:
            kind, allowed = "step", ("start", "complete")
            if activity in ENDS_AT_STEP and transition == "complete":
                kind = "end?"  # a step named like an outcome: the log cannot tell them apart
        elif activity == f"{step} queue":
            kind, allowed = "visit", TRANSITIONS
        elif activity in (f"{step} error", f"{step} recovery"):
            kind, allowed = "visit", ("complete",)
        elif activity in ENDS_AT_STEP:
            kind, allowed = "end", ("complete",)
        elif activity in ARRIVALS or activity in ENDS_WITHOUT_STEP or activity == DEFECT:
            raise ValueError(f"{_q(activity)} at step {_q(step)}; the log writes it without one")
        else:
            raise ValueError(
                f"unknown activity {_q(activity)} at step {_q(step)}: not the step, "
                "its queue, error or recovery, an arrival or an outcome"
            )
    if transition not in allowed:
        raise ValueError(f"{_q(activity)} {transition}: the log writes it {' or '.join(allowed)}")
    return kind


def _read_cases(
    reader: Iterator[list[str]], where: str, replication: int
) -> Iterator[tuple[str, list[tuple[str, str, str, float]]]]:
    from ..eventlog import _CASE_PREFIX as _PREFIX
    from ..eventlog import CSV_COLUMNS
    from ..scenario.model import MAX_HORIZON, MAX_STEPS

    most_steps, latest = 2 * MAX_STEPS, 2 * MAX_HORIZON  # a flow's steps and its service's
    header = next(reader, None)
    if header is None:
        raise ResultsError(f"{where}: empty; no events to animate")
    for k, name in enumerate(header):
        if name in header[:k]:
            raise ResultsError(f"{where}:1: column {_q(name)} twice")
        if name not in CSV_COLUMNS:
            raise ResultsError(
                f"{where}:1: unknown column {_q(name)}; "
                "not an event log of frictionsim run --event-log csv"
            )
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise ResultsError(
            f"{where}:1: missing column(s) {', '.join(missing)}; "
            "not an event log of frictionsim run --event-log csv"
        )
    width = len(header)
    c_case, c_act, c_life, c_rep, c_step, c_min = (header.index(c) for c in COLUMNS)
    # the columns every row of a case shares (the writer writes them once a visit)
    shared = operator.itemgetter(*(header.index(c) for c in COLUMNS[:1] + SHARED if c in header))
    c_source = header.index("source") if "source" in header else None
    c_who = header.index("customer") if "customer" in header else None
    kinds: dict[tuple[str, str, str], str] = {}  # rows met: a few per step
    steps: set[str] = set()
    rep_text, rep = "", -1
    case, first, events = None, None, []
    count, state, last_kind, end = 0, "", "", ""
    before, before_case, prev, last_line = -math.inf, "", -math.inf, 1

    def finish() -> None:  # checks of a case as a whole, once its last row is read
        nonlocal before, before_case
        if state != "ended" and last_kind != "end?":
            raise ResultsError(
                f"{where}:{last_line}: case {_q(case)} stops before its outcome (order, "
                "abandoned, left...); are its rows scattered or cut?"
            )
        # Visits are written as they end, so a case ends no earlier than those above
        # it; a buyer's defect may keep the visit open longer (its contact, unlogged).
        if last_kind != "defect" and prev < before:
            raise ResultsError(
                f"{where}:{last_line}: case {_q(case)} ends at minute {prev:g}, before "
                f"case {_q(before_case)} above it ({before:g}); are rows moved or scattered?"
            )
        if prev >= before:
            before, before_case = prev, case

    for row in reader:
        line = reader.line_num  # type: ignore[attr-defined]
        if len(row) != width:
            raise ResultsError(f"{where}:{line}: {len(row)} fields, the header has {width}")
        if row[c_rep] != rep_text:
            text = row[c_rep]
            if not _WHOLE.fullmatch(text):
                raise ResultsError(f"{where}:{line}: replication {_q(text)}: not a whole number")
            if int(text) < rep:
                raise ResultsError(f"{where}:{line}: replication {int(text)} after {rep}; "
                                   "the log lists replications in order")  # fmt: skip
            if case is not None:
                finish()
                if rep == replication:
                    yield case, events
                case = None
            rep_text, rep = text, int(text)
            before, before_case = -math.inf, ""
        text = row[c_min]
        if not _NUMBER.fullmatch(text):
            raise ResultsError(f"{where}:{line}: minute {_q(text)}: not a number")
        minute = float(text)
        if not math.isfinite(minute):
            raise ResultsError(f"{where}:{line}: minute: not a finite number")
        if not 0 <= minute <= latest:
            raise ResultsError(
                f"{where}:{line}: minute {minute:g}: not between 0 and {latest:,.0f} "
                "(twice the longest horizon)"
            )
        name = row[c_case]
        if name != case:
            if case is not None:
                finish()
                if rep == replication:
                    yield case, events
            match = _CASE.fullmatch(name)
            if match is None:
                raise ResultsError(f"{where}:{line}: case {_q(name)}: not a case of the log "
                                   "(r<replication>-<o, r, b or k><number>)")  # fmt: skip
            if match[1] != str(rep):
                raise ResultsError(
                    f"{where}:{line}: case {_q(name)} in replication {rep}: not one of its cases"
                )
            if c_source is not None and _PREFIX.get(row[c_source]) != match[2]:
                raise ResultsError(f"{where}:{line}: source {_q(row[c_source])} of case "
                                   f"{_q(name)}: not its source")  # fmt: skip
            if c_who is not None:
                who = _PERSON.fullmatch(row[c_who])
                if who is None or who[1] != str(rep):
                    raise ResultsError(f"{where}:{line}: customer {_q(row[c_who])}: not a "
                                       f"case of replication {rep}")  # fmt: skip
            case, first, events = name, shared(row), []
            count, state, end, prev = 0, "", "", -math.inf
        elif shared(row) != first:
            raise ResultsError(f"{where}:{line}: case {_q(name)}: source, segment or customer "
                               "differs from its first row")  # fmt: skip
        activity, transition, step = row[c_act], row[c_life], row[c_step]
        kind = kinds.get((activity, transition, step))
        if kind is None:
            try:
                kind = _kind(activity, transition, step, steps)
            except ValueError as exc:
                raise ResultsError(f"{where}:{line}: {exc}") from None
            if step and step not in steps:
                if len(steps) >= most_steps:
                    raise ResultsError(
                        f"{where}:{line}: more than {most_steps:,} step names; a scenario "
                        f"has at most {MAX_STEPS:,} (and its service as many)"
                    )
                steps.add(step)
            kinds[(activity, transition, step)] = kind
        if minute < prev:
            raise ResultsError(f"{where}:{line}: case {_q(name)}: minute {text} is before "
                               f"its previous event's ({prev!r})")  # fmt: skip
        if count == 0:
            if kind != "arrival":
                raise ResultsError(
                    f"{where}:{line}: case {_q(name)} starts with {_q(activity)}, "
                    "not its arrival; are its rows scattered?"
                )
        elif kind == "arrival":
            raise ResultsError(f"{where}:{line}: case {_q(name)}: a second arrival; "
                               "a case is one visit")  # fmt: skip
        elif state == "ended" and not (kind == "defect" and end == ORDER_ACTIVITY):
            raise ResultsError(f"{where}:{line}: case {_q(name)}: {_q(activity)} after "
                               f"its outcome {_q(end)}")  # fmt: skip
        elif kind == "defect" and state != "ended":
            raise ResultsError(f"{where}:{line}: case {_q(name)}: a defect before its order")
        if kind == "end":
            state, end = "ended", activity
        elif kind == "defect":
            end = DEFECT  # nothing after it
        count += 1
        if count > MAX_CASE_EVENTS:
            raise ResultsError(
                f"{where}:{line}: case {_q(name)}: more than {MAX_CASE_EVENTS:,} events; "
                "a visit has a few a step"
            )
        prev, last_kind, last_line = minute, kind, line
        if rep == replication:
            events.append((activity, transition, step, minute))
    if case is None:
        if rep < 0:
            raise ResultsError(f"{where}:1: only a header; no events to animate")
        return
    finish()
    if rep == replication:
        yield case, events


def _intervals(
    events: Sequence[tuple[str, str, str, float]],
) -> Iterator[tuple[str, int, float, float]]:
    """A case's spans ``(step, kind, from, to)``: kind 0 performing, 1 waiting; and
    ``(outcome, 2, at, at)`` for how the visit ended."""
    current: tuple[str, int, float] | None = None
    for activity, transition, step, minute in events:
        if activity in OUTCOMES and transition == "complete":
            if current is not None:
                yield (current[0], current[1], current[2], minute)
            yield (activity, 2, minute, minute)
            return
        if activity == step and transition == "start":  # enters a step
            if current is not None:
                yield (current[0], current[1], current[2], minute)
            current = (step, 0, minute)
        elif activity == f"{step} queue" and transition == "start":
            if current is not None:
                yield (current[0], current[1], current[2], minute)
            current = (step, 1, minute)
        elif activity == f"{step} queue" and transition == "complete":
            if current is not None:
                yield (current[0], current[1], current[2], minute)
            current = (step, 0, minute)
    # a case whose outcome is missing (a damaged log) simply stops being counted


def occupancy(
    path: Path,
    steps: Sequence[str],
    frames: int,
    replication: int = 0,
    start: dt.datetime | None = None,
) -> Occupancy:
    """Counts per frame of ``frames`` evenly spaced over the replication's events."""
    lo, hi = math.inf, -math.inf
    for _, events in _cases(path, replication):  # first pass: the time span
        lo = min(lo, events[0][3])
        hi = max(hi, events[-1][3])
    if not math.isfinite(lo):
        raise ResultsError(f"{visible(str(path))}: no events of replication {replication}")
    hi = max(hi, lo + 1e-9)
    dt_frame = (hi - lo) / (frames - 1) if frames > 1 else 1.0
    index = {s: k for k, s in enumerate(steps)}
    spans = np.zeros((2, len(steps), frames + 1), dtype=np.int64)
    ends = np.zeros((len(OUTCOMES), frames + 1), dtype=np.int64)
    for _, events in _cases(path, replication):
        for name, kind, t0, t1 in _intervals(events):
            f0 = min(frames, max(0, math.ceil((t0 - lo) / dt_frame - 1e-9)))
            if kind == 2:
                ends[OUTCOMES.index(name), f0] += 1
                continue
            if name not in index:
                index[name] = len(index)  # a step the scenario file does not list
                if len(index) > spans.shape[1]:  # room for as many again: no copy a step
                    room = np.zeros((2, len(index), frames + 1), dtype=np.int64)
                    spans = np.concatenate((spans, room), 1)
            f1 = min(frames, max(0, math.ceil((t1 - lo) / dt_frame - 1e-9)))
            if f1 > f0:
                spans[kind, index[name], f0] += 1
                spans[kind, index[name], f1] -= 1
    counts = np.cumsum(spans[:, : len(index)], axis=2)[:, :, :frames]
    names = list(index)
    return Occupancy(
        steps=names,
        minutes=lo + dt_frame * np.arange(frames),
        at=counts[0].T,
        waiting=counts[1].T,
        outcomes=np.cumsum(ends, axis=1)[:, :frames].T,
        start=start,
    )


def mp4_writer_available() -> bool:
    """Whether matplotlib can write an MP4 here (ffmpeg on PATH)."""
    from matplotlib import animation

    return bool(animation.FFMpegWriter.isAvailable())


def render_animation(
    occ: Occupancy, out: Path, title: str, fps: int, size: tuple[float, float] = (12.8, 7.2)
) -> None:
    """Draw ``occ`` into ``out`` (``.gif`` with Pillow, ``.mp4`` with ffmpeg)."""
    import matplotlib as mpl
    from matplotlib import animation
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    suffix = out.suffix.lower()
    if suffix == ".mp4" and not animation.FFMpegWriter.isAvailable():
        raise ResultsError(
            f"{visible(str(out))}: an MP4 needs ffmpeg on PATH; write a .gif instead"
        )
    n_steps = len(occ.steps)
    top = max(1, int((occ.at + occ.waiting).max()))
    done = max(1, int(occ.outcomes[-1].max()))
    with mpl.rc_context(_RC):
        fig = Figure(figsize=size, dpi=DPI_MOVIE, layout="constrained")
        FigureCanvasAgg(fig)
        grid = fig.add_gridspec(1, 2, width_ratios=[3, 1.4])
        ax = fig.add_subplot(grid[0])
        side = fig.add_subplot(grid[1])
        y = np.arange(n_steps)[::-1]
        served = ax.barh(y, occ.at[0], color=PASSED, label="in the step")
        queued = ax.barh(y, occ.waiting[0], left=occ.at[0], color=FRICTION, alpha=0.6,
                         label="waiting in its queue")  # fmt: skip
        ax.set_yticks(y, occ.steps)
        ax.set_xlim(0, top * 1.15)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # whole customers
        ax.set_xlabel("customers at the step now")
        ax.legend(loc="lower right", frameon=False)
        labels = ["orders", "abandoned (friction)", "left (other reasons)"]
        colors = [ORDERED, FRICTION, EXIT]
        ends = side.bar(range(3), occ.outcomes[0], color=colors)
        side.set_xticks(range(3), labels, rotation=20, ha="right")
        side.set_ylim(0, done * 1.15)
        side.yaxis.set_major_locator(MaxNLocator(integer=True))
        side.set_title("so far", loc="left", fontsize=11)
        texts = [side.text(k, 0, "", ha="center", va="bottom") for k in range(3)]
        heading = fig.suptitle("", x=0.01, ha="left", fontsize=13, fontweight="bold")

        def clock(minute: float) -> str:
            if occ.start is None:
                return f"minute {minute:,.0f}"
            t = occ.start + dt.timedelta(minutes=float(minute))
            return t.strftime("%a %H:%M")

        def draw(f: int) -> list:
            for k, (a, b) in enumerate(zip(served, queued)):
                a.set_width(occ.at[f, k])
                b.set_width(occ.waiting[f, k])
                b.set_x(occ.at[f, k])
            for k, bar in enumerate(ends):
                value = occ.outcomes[f, k]
                bar.set_height(value)
                texts[k].set_position((k, value))
                texts[k].set_text(f"{value:,}")
            heading.set_text(f"{title} · {clock(occ.minutes[f])}")
            return [*served, *queued, *ends, *texts, heading]

        draw(len(occ.minutes) - 1)  # the widest labels: lay the figure out once, for them
        fig.canvas.draw()
        fig.set_layout_engine("none")  # and keep that layout: every frame the same places
        movie = animation.FuncAnimation(fig, draw, frames=len(occ.minutes), blit=False)
        writer = (
            animation.PillowWriter(fps=fps) if suffix == ".gif" else animation.FFMpegWriter(fps=fps)
        )
        movie.save(str(out), writer=writer, dpi=DPI_MOVIE)


def animation_bytes(occ: Occupancy, suffix: str, title: str, fps: int) -> bytes:
    """:func:`render_animation` into memory (through a temporary file)."""
    with tempfile.TemporaryDirectory(prefix="frictionsim-animate-") as tmp:
        path = Path(tmp) / f"animation{suffix}"
        render_animation(occ, path, title, fps)
        return path.read_bytes()


__all__ = [
    "MAX_FRAMES",
    "Occupancy",
    "animation_bytes",
    "mp4_writer_available",
    "occupancy",
    "render_animation",
]
