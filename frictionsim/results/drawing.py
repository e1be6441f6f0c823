"""A run's report drawn by the execution's local workers, with the bytes of one call
of :func:`frictionsim.report.render_report`.

Nothing here loads matplotlib in this process. While the simulation runs here, one
worker loads it (:func:`warm`) and waits (:meth:`~frictionsim.execution.Execution.hold`);
given the run's documents it draws half the charts and a child forked from it, ready
too, the other half (:func:`draw_split`), which :func:`merge_parts` puts back in order,
and into the self-contained ``report.html``. Warming one worker leaves the other core
to the simulation; where the replications need every worker, the hold is released and
each worker warms and draws a part (:func:`render_shared`).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
from collections.abc import Sequence
from concurrent.futures.process import BrokenProcessPool
from typing import Any

#: The pages of a report, after its charts.
PAGES = ("report.md", "report.html")


def warm() -> None:
    """Load what drawing needs (matplotlib, its fonts), e.g. in a worker process."""
    from ..report.common import render_png

    render_png(lambda fig: fig.add_subplot().set_title("0.0"), size=(2, 1), dpi=40)


def draw_part(*args: Any) -> dict[str, bytes]:
    """:func:`~frictionsim.report.render_report` with ``args`` (in a worker)."""
    from ..report import render_report

    return render_report(*args)


def _fork_context() -> Any:
    """The ``fork`` start method where the platform has it (a child that has what its
    parent loaded), else ``None``."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return None
    return multiprocessing.get_context("fork")


def _draw_child(reader: Any, writer: Any, args: tuple) -> None:
    """In the forked child: draw ``args``'s part and send its files, or the error (as
    itself where it survives pickling, else as a :class:`RuntimeError` saying what it
    was). The child holds no end to read from: if its parent stops reading, sending
    fails instead of waiting for ever."""
    from ..execution import _die_with_parent

    reader.close()
    _die_with_parent(os.getppid())
    try:
        message: tuple = ("files", draw_part(*args))
    except BaseException as exc:  # the parent raises it
        message = ("error", _portable(exc))
    with contextlib.suppress(OSError):  # the parent has gone, or stopped listening
        writer.send(message)
    writer.close()


def _portable(exc: BaseException) -> BaseException:
    """``exc``, or a :class:`RuntimeError` with its type and text if it would not come
    back whole from pickling."""
    try:
        back = pickle.loads(pickle.dumps(exc))
        if type(back) is type(exc):
            return exc
    except Exception:  # any failure to round-trip: say it in words
        pass
    return RuntimeError(f"{type(exc).__name__}: {exc}")


def draw_split(*args: Any) -> dict[str, bytes]:
    """Every file of :func:`~frictionsim.report.render_report` for ``args`` (without
    ``part`` and ``parts``: ``summary, distributions, word_of_mouth, overrides, notes``):
    half of the charts drawn here, half in a child forked from this (warm) process where
    the platform forks; here alone elsewhere."""
    *head, notes = args
    context = _fork_context()
    if context is None:
        return draw_part(*head, 0, 1, notes)
    reader, writer = context.Pipe(duplex=False)
    child = context.Process(target=_draw_child, args=(reader, writer, (*head, 1, 2, notes)))
    child.start()
    writer.close()
    try:
        mine = draw_part(*head, 0, 2, notes)
        try:
            kind, theirs = reader.recv()
        except EOFError:
            child.join()
            raise BrokenProcessPool(  # said like a worker that ended: killed, out of memory
                f"the process drawing half the charts ended with code {child.exitcode}"
            ) from None
    except BaseException:
        child.kill()  # its half is of no use now: do not wait for it
        raise
    finally:
        reader.close()
        child.join()
    if kind == "error":
        raise theirs
    return merge_parts([mine, theirs])


def merge_parts(drawn: Sequence[dict[str, bytes]]) -> dict[str, bytes]:
    """The files of :func:`~frictionsim.report.render_report`'s parts (``drawn[k]`` is
    part k of ``len(drawn)``), in the order one call of it gives them: the pages come
    with the first part, and ``report.html`` gets the other parts' charts put in
    (:func:`~frictionsim.report.html_page.embed_charts`, plain text: no matplotlib)."""
    from ..report.html_page import embed_charts
    from ..report.parts import report_order

    charts = {n: b for d in drawn for n, b in d.items() if n not in PAGES}
    out = {name: charts[name] for name in report_order(list(charts))}
    pages = {n: b for n, b in drawn[0].items() if n in PAGES}
    if "report.html" in pages:
        pages["report.html"] = embed_charts(pages["report.html"].decode(), out).encode()
    out.update(pages)
    return out


def render_shared(
    execution: Any,
    summary: dict[str, Any],
    distributions: dict[str, Any] | None = None,
    word_of_mouth: dict[str, Any] | None = None,
    overrides: Sequence[str] = (),
    notes: Sequence[str] = (),
) -> dict[str, bytes]:
    """:func:`~frictionsim.report.render_report`, its charts drawn by the worker that
    holds :func:`draw_split` (:meth:`~frictionsim.execution.Execution.hold`), or else in
    parts by ``execution``'s local workers
    (:meth:`~frictionsim.execution.Execution.call_each`)."""
    if execution.holding():
        return execution.deliver(summary, distributions, word_of_mouth, tuple(overrides),
                                 tuple(notes))  # fmt: skip
    parts = max(1, min(2, execution.jobs))
    calls = [
        (summary, distributions, word_of_mouth, tuple(overrides), k, parts, tuple(notes))
        for k in range(parts)
    ]
    return merge_parts(execution.call_each(draw_part, calls))


__all__ = ["PAGES", "draw_part", "draw_split", "merge_parts", "render_shared", "warm"]
