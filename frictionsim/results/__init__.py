"""Results folders: written atomically, with provenance, and never over someone's files.

One concern per module:

* :mod:`~frictionsim.results.folders`: where results go (``--out``, default folders
  and their slugs), what a folder's results are of (identities, ``run.json``) and
  whether it may be replaced (:func:`check_writable`: only a frictionsim results
  folder holding nothing but frictionsim's files, of the same study unless forced);
  the names of a folder's hidden siblings, the lock two writers take turns with,
  provenance.
* :mod:`~frictionsim.results.atomic`: how a folder or file is replaced at once
  (:func:`write_folder`, :func:`write_atomic`, :func:`replace_files`): assembled
  under a hidden name and renamed into place, signals held back during the swap,
  leftovers of a killed write cleaned up or put back, a failed write one line.
* :mod:`~frictionsim.results.texts`: the text of result files (stable JSON, exact
  and spreadsheet-safe CSV, digests).
* :mod:`~frictionsim.results.reading`: a folder's documents read back and checked
  (:func:`read_results`), and its charts and report redrawn from them without
  simulating (:func:`write_report`, the ``report`` command).
* :mod:`~frictionsim.results.writers`: the files of each kind of study
  (:func:`write_run`, :func:`write_comparison`, :func:`write_sweep`,
  :func:`write_sensitivity`, :func:`write_optimum`, :func:`write_improvements`),
  their identities, and :func:`write_study`, which writes any study's result where
  its ``kind`` goes.

Every name of these modules that other code uses is importable from
``frictionsim.results`` itself. A test that replaces one of them patches the module
that owns it (``frictionsim.results.writers.write_run``, for instance): that is
where it is looked up.
"""

from __future__ import annotations

from ..errors import ResultsError
from .atomic import (
    check_replaceable,
    event_folder,
    recover_stale,
    replace_files,
    write_atomic,
    write_error,
    write_folder,
    writing,
)
from .folders import (
    KNOWN_FILES,
    MARKER,
    MAX_DEFAULT_NAME,
    NAME_MAX,
    OPTIONAL_DOCUMENTS,
    SHOWN,
    SIBLING_KINDS,
    SYSTEM_FILES,
    check_writable,
    default_folder,
    folder_slug,
    foreign_files,
    hidden_name,
    identity,
    is_mount_point,
    is_results_folder,
    output_path,
    owned_files,
    provenance,
    recorded_identity,
    target_of,
    versions,
)
from .reading import STUDY_CHARTS, read_results, write_report
from .texts import csv_text, json_text, sha256, spreadsheet_safe
from .writers import (
    COMPARISON_COLUMNS,
    IMPROVEMENT_COLUMNS,
    OPTIMUM_COLUMNS,
    SENSITIVITY_COLUMNS,
    WRITERS,
    comparison_rows,
    improvement_rows,
    optimum_identity,
    optimum_rows,
    run_identity,
    sensitivity_identity,
    study_identity,
    sweep_identity,
    write_comparison,
    write_improvements,
    write_optimum,
    write_run,
    write_sensitivity,
    write_study,
    write_sweep,
)

__all__ = [
    "COMPARISON_COLUMNS",
    "IMPROVEMENT_COLUMNS",
    "KNOWN_FILES",
    "MARKER",
    "MAX_DEFAULT_NAME",
    "NAME_MAX",
    "OPTIMUM_COLUMNS",
    "OPTIONAL_DOCUMENTS",
    "SENSITIVITY_COLUMNS",
    "SHOWN",
    "SIBLING_KINDS",
    "STUDY_CHARTS",
    "SYSTEM_FILES",
    "WRITERS",
    "ResultsError",
    "check_replaceable",
    "check_writable",
    "comparison_rows",
    "csv_text",
    "default_folder",
    "event_folder",
    "folder_slug",
    "foreign_files",
    "hidden_name",
    "identity",
    "improvement_rows",
    "is_mount_point",
    "is_results_folder",
    "json_text",
    "optimum_identity",
    "optimum_rows",
    "output_path",
    "owned_files",
    "provenance",
    "read_results",
    "recorded_identity",
    "recover_stale",
    "replace_files",
    "run_identity",
    "sensitivity_identity",
    "sha256",
    "spreadsheet_safe",
    "study_identity",
    "sweep_identity",
    "target_of",
    "versions",
    "write_atomic",
    "write_comparison",
    "write_error",
    "write_folder",
    "write_improvements",
    "write_optimum",
    "write_report",
    "write_run",
    "write_sensitivity",
    "write_study",
    "write_sweep",
    "writing",
]
