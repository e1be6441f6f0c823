"""``frictionsim animate DIR``: an animation of a run folder's event log, written into the
folder (and listed in its ``run.json``, as every file frictionsim writes there) or to a
file elsewhere."""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Callable
from pathlib import Path

from .. import documents
from ..errors import OptionError, ResultsError, visible
from .atomic import check_replaceable, write_atomic
from .folders import MARKER, owned_files
from .reading import _check_folder, _check_redraw, _read_json, _replace_with_manifest

#: What ``animate`` writes.
SUFFIXES = (".gif", ".mp4")


def _steps_and_start(folder: Path) -> tuple[list[str], dt.datetime | None, str]:
    """Step names in the scenario's order, its start time and name, from the folder's
    ``scenario.resolved.yaml`` (or nothing, if it is gone: steps are then taken as met)."""
    from ..errors import FrictionsimError
    from ..scenario import load_scenario

    try:
        scenario = load_scenario(folder / "scenario.resolved.yaml")
    except (FrictionsimError, OSError):
        return [], None, folder.name
    return [s.name for s in scenario.steps], scenario.start, scenario.name


def write_animation(
    folder: Path,
    out: Path | None = None,
    seconds: float = 15.0,
    fps: int = 10,
    replication: int = 0,
    force: bool = False,
    announce: Callable[[str], None] | None = None,
) -> Path:
    """Animate replication ``replication`` of the run in ``folder`` (its ``events.csv``)
    as ``seconds`` of ``fps`` frames; write it to ``out`` (default
    ``folder/animation.gif``) and return where. ``announce`` hears what is being drawn,
    once everything is checked."""
    from ..report.animation import MAX_FRAMES, animation_bytes, occupancy

    folder = Path(folder)
    _check_folder(folder)
    marker = _read_json(folder / MARKER, folder, documents.RUN)
    log = folder / "events.csv"
    if not os.path.lexists(log):  # a link, a folder, a pipe there: the reader says so
        xes = (folder / "events.xes").is_file()
        raise ResultsError(
            f"{visible(str(folder))}: no events.csv"
            + (" (animate reads the CSV log, not events.xes)" if xes else "")
            + "; write one with `frictionsim run FILE --event-log csv --out "
            f"{visible(str(folder))}`"
        )
    out = Path(out) if out is not None else folder / "animation.gif"
    if out.suffix.lower() not in SUFFIXES:
        raise OptionError(f"--out: {visible(str(out))}: write a .gif or an .mp4")
    if not math.isfinite(seconds):
        raise OptionError(f"--seconds: {seconds} is not a number of seconds")
    frames = round(seconds * fps)
    if not 2 <= frames <= MAX_FRAMES:
        raise OptionError(f"--seconds × --fps makes {frames} frames; between 2 and {MAX_FRAMES}")
    if out.is_symlink() or out.is_dir():
        raise OptionError(f"--out: {visible(str(out))} is a link or a folder; name a file")
    if not out.parent.is_dir():
        raise OptionError(f"--out: {visible(str(out.parent))}: no such folder")
    check_replaceable(out)  # a device or a pipe is never replaced, even with --force
    if out.suffix.lower() == ".mp4":
        from ..report.animation import mp4_writer_available

        if not mp4_writer_available():
            raise OptionError(f"--out: {visible(str(out))}: an MP4 needs ffmpeg on PATH; "
                              "write a .gif instead")  # fmt: skip
    inside = out.parent.resolve() == folder.resolve()
    if inside:
        _check_redraw(folder, [out.name], owned_files(folder, marker))
    elif os.path.lexists(out) and not force:
        raise ResultsError(f"{visible(str(out))}: exists; add --force to replace it")
    steps, start, name = _steps_and_start(folder)
    occ = occupancy(log, steps, frames, replication, start)
    if announce is not None:
        announce(f"drawing {frames} frames of replication {replication}")
    data = animation_bytes(occ, out.suffix.lower(), name, fps)
    if inside:
        _replace_with_manifest(folder, marker, {out.name: data}, [])
    else:
        write_atomic(out, data)
    return out


__all__ = ["SUFFIXES", "write_animation"]
