"""The text of result files: stable JSON, exact and spreadsheet-safe CSV, digests.

Every document frictionsim writes goes through here, so identical results give
identical bytes: JSON keeps the key order it is given and writes NaN as ``null``
(a histogram's list of numbers may stay on one line); CSV writes floats exactly
(``repr``) and prefixes text that a spreadsheet would run as a formula with ``'``
(OWASP: CSV injection). :func:`sha256` is the digest of a text recorded as
provenance (``scenario_sha256``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Sequence
from typing import Any

_NUMBER_LIST = re.compile(r"\[\s+([-+0-9.eE,\s]+?)\s+\]")


def json_text(data: Any, inline_number_lists: bool = False) -> str:
    """Stable JSON: fixed key order as given, no NaN (written as null). With
    ``inline_number_lists``, a list of numbers stays on one line (histograms)."""
    text = json.dumps(_no_nan(data), indent=2, allow_nan=False)
    if inline_number_lists:
        text = _NUMBER_LIST.sub(
            lambda m: "[" + ", ".join(x.strip() for x in m[1].split(",")) + "]", text
        )
    return text + "\n"


def _no_nan(value: Any) -> Any:
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_no_nan(v) for v in value]
    return value


#: Text that a spreadsheet would run as a formula (OWASP: CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def spreadsheet_safe(value: Any) -> Any:
    """A text cell that starts like a formula (``=``, ``+``, ``-``, ``@``, tab, CR), e.g.
    a ``--values`` item, prefixed with ``'`` so that spreadsheets show it as text.
    Numbers, and text that is a plain number (``-5``), are left alone."""
    if (
        isinstance(value, str)
        and value.startswith(_FORMULA_START)
        and not _PLAIN_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


def csv_text(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """CSV of ``rows`` in ``columns``: floats exactly (``repr``), text spreadsheet-safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([spreadsheet_safe(c) for c in columns])
    for row in rows:
        writer.writerow(
            [
                repr(v) if isinstance(v, float) else spreadsheet_safe(v)
                for v in (row.get(c, "") for c in columns)
            ]
        )
    return buffer.getvalue()


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
