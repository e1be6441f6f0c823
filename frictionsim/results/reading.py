"""Reading a results folder back, checked, and redrawing its charts from it.

:func:`read_results` gives the documents of a run's folder, each checked first
(:mod:`frictionsim.documents`): a missing folder, a folder that is not a results
folder and a damaged or missing document are one-line errors.

:func:`write_report` (the ``report`` command) redraws the charts and the report
(``report.md``, ``report.html``) of an existing folder from its stored documents,
without simulating: a run's, or a study's (:data:`STUDY_CHARTS`). It never replaces a
file that frictionsim did not write, removes a chart whose data is gone, keeps the
list of files in ``run.json`` up to date, and writes all its files under temporary
names first, then renames them (:func:`~frictionsim.results.atomic.replace_files`),
so a full disk leaves the previous files.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import documents
from ..errors import ResultsError
from .atomic import _remove_stale_temporaries, replace_files
from .folders import MARKER, OPTIONAL_DOCUMENTS, _listing, owned_files
from .texts import json_text


def _read_json(path: Path, folder: Path, shape: documents.Check | None = None) -> Any:
    """The JSON document ``path`` of results ``folder``, checked against ``shape``."""
    data = documents.read_json(path)
    return data if shape is None else documents.check(path, data, shape)


def read_results(folder: Path) -> dict[str, Any]:
    """The documents of a run's results folder, each checked: ``summary``, ``run`` and
    the optional ones of :data:`OPTIONAL_DOCUMENTS` (``None`` when absent). ``funnel.csv``
    is checked too, though no chart draws it.

    Raises :class:`ResultsError` with a one-line message for a missing folder,
    a folder that is not a results folder, and damaged or missing documents.
    """
    folder = Path(folder)
    _check_folder(folder)
    found: dict[str, Any] = {"run": _read_json(folder / MARKER, folder, documents.RUN)}
    summary = _read_json(folder / "summary.json", folder, documents.SUMMARY)
    found["summary"] = summary
    shapes = {"distributions": documents.distributions, "word_of_mouth": documents.word_of_mouth}
    for key, name in OPTIONAL_DOCUMENTS.items():
        path = folder / name
        found[key] = _read_json(path, folder, shapes[key]) if os.path.lexists(path) else None
    if os.path.lexists(folder / "funnel.csv"):
        documents.check_funnel(
            folder / "funnel.csv", list(summary["steps"]), summary.get("replications")
        )
    return found


def _check_folder(folder: Path) -> None:
    if not os.path.lexists(folder):
        raise ResultsError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise ResultsError(f"{folder}: is a file, not a results folder")
    marker = folder / MARKER
    if not os.path.lexists(marker):
        raise ResultsError(f"{folder}: not a frictionsim results folder (no {MARKER})")


def _check_redraw(folder: Path, names: Sequence[str], owned: set[str]) -> None:
    """Refuse to replace a file frictionsim did not write there (a user's chart of the
    same name, a link, a folder) before anything is drawn."""
    clash = [
        n
        for n in names
        if os.path.lexists(folder / n)
        and (n not in owned or (folder / n).is_symlink() or not (folder / n).is_file())
    ]
    if clash:
        raise ResultsError(
            f"{folder}: the report would replace {_listing(clash, 0)}, which frictionsim "
            "did not write there; move them out of the folder, or redraw a copy of it"
        )
    if not os.access(folder, os.W_OK):
        raise ResultsError(
            f"{folder}: cannot write here (read-only or no permission); "
            "copy the folder elsewhere to redraw it"
        )


def _overrides(marker: dict[str, Any]) -> list[str]:
    return list(marker.get("overrides") or [])


def write_report(folder: Path) -> list[Path]:
    """Redraw every chart and the report of a results folder from its stored
    documents (no simulation); return the files written.

    Every document is checked first; only files frictionsim wrote there are
    replaced, and the files are replaced all together (:func:`replace_files`).
    """
    from ..report import CHART_FILES, render_report
    from ..report.notes import run_notes

    folder = Path(folder)
    _check_folder(folder)
    marker = _read_json(folder / MARKER, folder, documents.RUN)
    for document, chart in STUDY_CHARTS.items():
        if os.path.lexists(folder / document):
            return _redraw_study(folder, document, chart, marker)
    found = read_results(folder)
    owned = owned_files(folder, marker)
    _remove_stale_temporaries(folder, owned)
    planned = _report_names(found)
    _check_redraw(folder, planned, owned)
    try:
        files = render_report(
            found["summary"],
            found["distributions"],
            found["word_of_mouth"],
            overrides=_overrides(marker),
            notes=run_notes(marker),
        )
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, ArithmeticError) as exc:
        raise ResultsError(
            f"{folder}: damaged results, cannot draw the report ({type(exc).__name__}: {exc})"
        ) from None
    _check_redraw(folder, list(files), owned)
    # a chart whose data is gone must not outlive it (only one frictionsim wrote)
    remove = [
        n
        for n in CHART_FILES
        if n not in files
        and n in owned
        and (folder / n).is_file()
        and not (folder / n).is_symlink()
    ]
    _replace_with_manifest(folder, marker, files, remove)
    return [folder / name for name in files]


def _report_names(found: dict[str, Any]) -> list[str]:
    """The files a report of ``found`` draws, known before drawing them."""
    from ..report import chart_plan

    plan = chart_plan(found["summary"], found["distributions"], found["word_of_mouth"])
    return [name for name, *_ in plan] + ["report.md", "report.html"]


def _replace_with_manifest(
    folder: Path, marker: dict[str, Any], files: dict[str, bytes], remove: Sequence[str]
) -> None:
    """:func:`replace_files`, and the list of files in ``run.json`` kept up to date."""
    listed = marker.get("files")
    if isinstance(listed, list):
        now = sorted((set(listed) | set(files) | {MARKER}) - set(remove))
        if now != sorted(listed):
            files = {**files, MARKER: json_text({**marker, "files": now}).encode()}
    replace_files(folder, files, remove)


#: The document of a study's folder (compare, sweep, sensitivity, optimize, improve), and
#: the kind of its chart and report.
STUDY_CHARTS = {
    "comparison.json": "comparison",
    "sweep.json": "sweep",
    "sensitivity.json": "sensitivity",
    "optimum.json": "optimum",
    "improvements.json": "improvements",
}


_STUDY_SHAPES = {
    "comparison": documents.comparison,
    "sweep": documents.sweep,
    "sensitivity": documents.sensitivity,
    "optimum": documents.optimum,
    "improvements": documents.improvements,
}


def _redraw_study(folder: Path, document: str, kind: str, marker: dict[str, Any]) -> list[Path]:
    """Redraw the chart and the report of a study's folder from its document."""
    from ..report import render_study_report

    doc = _read_json(folder / document, folder, _STUDY_SHAPES[kind])
    owned = owned_files(folder, marker)
    _remove_stale_temporaries(folder, owned)
    try:
        files = render_study_report(kind, doc, _overrides(marker))
    except (
        KeyError,
        TypeError,
        ValueError,
        IndexError,
        AttributeError,
        ArithmeticError,
        StopIteration,
    ) as exc:
        raise ResultsError(
            f"{folder / document}: damaged, cannot draw its chart ({type(exc).__name__}: {exc})"
        ) from None
    _check_redraw(folder, list(files), owned)
    _replace_with_manifest(folder, marker, files, ())
    return [folder / name for name in files]
