"""A run's report drawn by the execution's local workers, with the bytes of one call
of :func:`frictionsim.report.render_report`.

Nothing here loads matplotlib in this process: the workers do, ahead of time
(:func:`warm`, while the simulation runs), and each draws every other chart
(:func:`render_shared`), which :func:`merge_parts` puts back in order, and into the
self-contained ``report.html``.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    """:func:`~frictionsim.report.render_report`, its charts drawn in parts by
    ``execution``'s local workers (:meth:`~frictionsim.execution.Execution.call_each`)."""
    parts = max(1, min(2, execution.jobs))
    calls = [
        (summary, distributions, word_of_mouth, tuple(overrides), k, parts, tuple(notes))
        for k in range(parts)
    ]
    return merge_parts(execution.call_each(draw_part, calls))


__all__ = ["PAGES", "draw_part", "merge_parts", "render_shared", "warm"]
