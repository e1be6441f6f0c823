"""An animation of a run for a talk: customers moving through the steps, from the event log.

:func:`occupancy` reads ``events.csv`` (``frictionsim run --event-log csv``) once,
case by case, into counts per frame: customers at each step (performing it, or
waiting in its queue) and the orders, friction abandonments and exits so far.
Memory is one row of counts per frame, whatever the size of the log.
:func:`render_animation` draws those frames with matplotlib's animation writers:
a GIF (Pillow) or an MP4 (ffmpeg, where installed).
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ResultsError, visible
from .common import _RC, EXIT, FRICTION, PASSED

#: Orders: green, the one colour the charts do not use for anything else.
ORDERED = "#009E73"

#: Columns the event log must have.
COLUMNS = ("case:concept:name", "concept:name", "lifecycle:transition", "replication", "step",
           "minute")  # fmt: skip
#: Outcome activities, in the order of the counters.
OUTCOMES = ("order", "abandoned", "left")
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
    as the log groups them (a case's events are consecutive)."""
    try:
        yield from _read_cases(path, replication)
    except UnicodeDecodeError:
        raise ResultsError(f"{visible(str(path))}: not UTF-8 text; not an event log") from None
    except IsADirectoryError:
        raise ResultsError(f"{visible(str(path))}: a folder, not an event log") from None


def _read_cases(
    path: Path, replication: int
) -> Iterator[tuple[str, list[tuple[str, str, str, float]]]]:
    with open(path, newline="", encoding="utf-8-sig", errors="strict") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise ResultsError(f"{visible(str(path))}: empty; no events to animate")
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise ResultsError(
                f"{visible(str(path))}:1: missing column(s) {', '.join(missing)}; "
                "not an event log of frictionsim run --event-log csv"
            )
        col = {c: header.index(c) for c in COLUMNS}
        case, events = None, []
        for line, row in enumerate(reader, start=2):
            if len(row) != len(header):
                raise ResultsError(
                    f"{visible(str(path))}:{line}: {len(row)} fields, the header has {len(header)}"
                )
            try:
                rep = int(row[col["replication"]])
                minute = float(row[col["minute"]])
            except ValueError:
                raise ResultsError(
                    f"{visible(str(path))}:{line}: replication and minute must be numbers"
                ) from None
            if not math.isfinite(minute):
                raise ResultsError(f"{visible(str(path))}:{line}: minute: not a finite number")
            if rep != replication:
                continue
            name = row[col["case:concept:name"]]
            if name != case:
                if case is not None:
                    yield case, events
                case, events = name, []
            events.append(
                (
                    row[col["concept:name"]],
                    row[col["lifecycle:transition"]],
                    row[col["step"]],
                    minute,
                )
            )
        if case is not None:
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
                spans = np.concatenate((spans, np.zeros((2, 1, frames + 1), dtype=np.int64)), 1)
            f1 = min(frames, max(0, math.ceil((t1 - lo) / dt_frame - 1e-9)))
            if f1 > f0:
                spans[kind, index[name], f0] += 1
                spans[kind, index[name], f1] -= 1
    counts = np.cumsum(spans, axis=2)[:, :, :frames]
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
