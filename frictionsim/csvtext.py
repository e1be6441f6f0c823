"""Delimited text as analytics tools and spreadsheets write it.

A funnel export is a small table, but who wrote it decides how: a comma, a
semicolon or a tab between the columns, and a decimal point or a decimal comma
in the numbers (``63.58`` or ``63,58 %``), with thousands grouped or not. This
module reads such a table one physical line at a time, so that every cell
keeps its line and column for the messages, and reads the numbers in it:

* the **delimiter** is the one of ``,``, ``;`` and tab that splits the header
  line into the most columns (a comma when none splits it);
* the **decimal mark** is a comma when a cell shows one (``12,5``, ``63,58 %``:
  a comma followed by other than three digits, or in a percentage), a point
  when a cell shows one of those; otherwise a comma in semicolon-separated
  files (the spreadsheets of decimal-comma locales write those) and a point
  in the others. The other mark may group thousands (``14,946`` or
  ``14.946``).

Blank lines and lines starting with ``#`` (comments) are skipped; the first
other line is the header. Quoted cells may hold the delimiter; a quoted cell
may not span lines.
"""

from __future__ import annotations

import csv
import itertools
import math
import re
from dataclasses import dataclass

#: Column delimiters looked for, in order of preference when they split alike.
DELIMITERS = (",", ";", "\t")
#: How each delimiter is named in messages.
DELIMITER_NAMES = {",": "','", ";": "';'", "\t": "tab"}

_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " "})  # no-break and narrow spaces
_DECIMAL_COMMA = re.compile(r"^\s*[+-]?\d+,(\d{1,2}|\d{4,})\s*%?\s*$|^\s*[+-]?\d+,\d+\s*%\s*$")
_DECIMAL_POINT = re.compile(r"^\s*[+-]?\d*\.(\d{1,2}|\d{4,})\s*%?\s*$|^\s*[+-]?\d*\.\d+\s*%\s*$")


@dataclass(frozen=True)
class Record:
    """One content line of a table: its cells (stripped) and where each starts."""

    line: int
    cells: list[str]
    cols: list[int]
    length: int

    def col(self, k: int) -> int:
        """1-based column of cell ``k`` (1 when the line has fewer cells)."""
        return self.cols[k] if 0 <= k < len(self.cols) else 1


@dataclass(frozen=True)
class Table:
    """The header and the rows of a delimited text, and how its numbers are written."""

    delimiter: str
    decimal: str
    header: Record
    rows: list[Record]

    def number(self, cell: str) -> float | None:
        """The number in ``cell`` (a percentage as its fraction), or None."""
        return parse_number(cell, self.decimal)


def field_columns(line: str, delimiter: str) -> list[int]:
    """1-based start column of each field of ``line`` (delimiters in quotes do not count)."""
    cols, quoted = [1], False
    for i, ch in enumerate(line):
        if ch == '"':
            quoted = not quoted
        elif ch == delimiter and not quoted:
            cols.append(i + 2)
    return cols


def split_line(line: str, delimiter: str) -> list[str]:
    """The fields of one line of delimited text (quotes as the csv module reads them)."""
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:  # a field beyond the csv module's size limit: no quoting then
        return line.split(delimiter)


def sniff_delimiter(line: str) -> str:
    """The delimiter that splits ``line`` (a header) into the most fields; ',' if none."""
    best, most = ",", 1
    for d in DELIMITERS:
        n = len(split_line(line, d))
        if n > most:
            best, most = d, n
    return best


def _decimal_mark(cells: list[str], delimiter: str) -> str:
    comma = any(_DECIMAL_COMMA.match(c) for c in cells)
    point = any(_DECIMAL_POINT.match(c) for c in cells)
    if comma != point:
        return "," if comma else "."
    return "," if delimiter == ";" else "."


def read_table(text: str) -> Table | None:
    """The table in ``text``, or None when it has no content line (only blanks, comments)."""
    lines = text.splitlines()
    content = [k for k, ln in enumerate(lines) if ln.strip() and not ln.lstrip().startswith("#")]
    if not content:
        return None
    delimiter = sniff_delimiter(lines[content[0]])
    records = []
    for k in content:
        ln = lines[k]
        cells = [c.strip() for c in split_line(ln, delimiter)]
        records.append(Record(k + 1, cells, field_columns(ln, delimiter), len(ln)))
    values = [c for r in records[1:] for c in r.cells]
    return Table(delimiter, _decimal_mark(values, delimiter), records[0], records[1:])


#: A number with a decimal point or a decimal comma: sign, whole part (the other mark
#: or spaces may group it in threes), fraction.
_NUMBER = {
    d: re.compile(
        rf"([+-]?)(\d{{1,3}}(?:(?:{re.escape(g)}| )\d{{3}})+|\d*)(?:{re.escape(d)}(\d+))?"
    )
    for d, g in ((".", ","), (",", "."))
}
#: Digits of a count at most: more is no visitor count (and slow to convert).
MAX_DIGITS = 15


def _parts(cell: str, decimal: str) -> tuple[str, str, str, bool] | None:
    """Sign, whole digits, fraction digits and whether ``cell`` is a percentage."""
    s = cell.translate(_SPACES).strip()
    percent = s.endswith("%")
    if percent:
        s = s[:-1].rstrip()
    if len(s) > 4 * MAX_DIGITS:
        return None
    m = _NUMBER[decimal].fullmatch(s)
    if not m or not (m.group(2) or m.group(3)):
        return None
    return m.group(1), re.sub(r"\D", "", m.group(2)), m.group(3) or "", percent


def parse_number(cell: str, decimal: str = ".") -> float | None:
    """The number written in ``cell`` with ``decimal`` as its decimal mark, or None.

    The other mark (and spaces) may group thousands in threes; a trailing ``%``
    makes it a percentage, returned as its fraction (``63,5 %`` is 0.635)."""
    parts = _parts(cell, decimal)
    if parts is None:
        return None
    sign, whole, fraction, percent = parts
    value = float(f"{sign}{whole or '0'}.{fraction or '0'}")
    return value / 100 if percent else value


def parse_count(cell: str, decimal: str = ".") -> tuple[int | None, str | None]:
    """A count of visitors in ``cell``: ``(number, None)``, or ``(None, message)``.

    A whole number: ``14946``, ``14,946`` (or ``14.946`` with a decimal comma),
    ``14946.0``; not a fraction, a percentage, a negative number or one of more
    than :data:`MAX_DIGITS` digits."""
    shown = cell.strip()
    parts = _parts(cell, decimal)
    if parts is None or parts[3]:
        return None, f"expected a whole number of visitors, got {cell!r}"
    sign, whole, fraction, _ = parts
    if fraction.strip("0"):
        return None, f"must be a whole number of visitors (got {shown})"
    number = int(whole or "0") if len(whole) <= MAX_DIGITS else None
    if number is None:
        return None, f"too large for a count of visitors ({len(whole)} digits)"
    if sign == "-" and number:
        return None, f"must not be negative (got {shown})"
    return number, None


#: Mean times longer than this (about 32 years) are refused as not a time to convert.
MAX_SECONDS = 1e9
#: Longest cell read as a time (anything longer is not one; checked before any regex).
MAX_TIME_CHARS = 64
_TIME_NUMBER = r"(\d{1,15}(?:[.,]\d{1,15})?)"
#: Parts with units, each at most once and largest first: ``1d 3h``, ``1m 2s``, ``45s``.
_TIME_PARTS = re.compile(
    rf"(?:{_TIME_NUMBER}\s*d)?\s*(?:{_TIME_NUMBER}\s*h)?\s*(?:{_TIME_NUMBER}\s*(?:min|m))?\s*"
    rf"(?:{_TIME_NUMBER}\s*(?:sec|s))?",
    re.IGNORECASE,
)
_UNIT_SECONDS = (86400.0, 3600.0, 60.0, 1.0)
#: A clock: ``m:ss`` or ``h:mm:ss`` (seconds may have a fraction).
_CLOCK = re.compile(r"(?:(\d{1,9}):)?(\d{1,9}):(\d{2}(?:[.,]\d{1,9})?)")
#: Cells that give no time (a step nobody went on from).
NO_VALUE = ("", "-", "—", "n/a", "N/A")


def parse_seconds(cell: str, decimal: str = ".") -> tuple[float | None, str | None]:
    """A mean time in ``cell``, in seconds: ``(seconds, None)``, ``(None, message)``, or
    ``(None, None)`` for an empty cell (or ``-``).

    A number of seconds (``61.5``, with the table's decimal mark), parts with units,
    each at most once and largest first (``1m 2s``, ``2h 5m``, ``1d 3h``), or a clock
    (``1:02`` as m:ss, ``0:01:02`` as h:mm:ss, two-digit fields below 60 after the
    first); at most :data:`MAX_TIME_CHARS` characters and :data:`MAX_SECONDS`."""
    text = cell.strip()
    if text in NO_VALUE:
        return None, None
    shown = text if len(text) <= MAX_TIME_CHARS else text[:MAX_TIME_CHARS] + "…"
    expected = f"expected a time (seconds, or like 1m 2s or 0:01:02), got {shown!r}"
    if len(text) > MAX_TIME_CHARS:
        return None, expected
    clock = _CLOCK.fullmatch(text)
    parts = None if clock else _TIME_PARTS.fullmatch(text)
    if clock:
        h, m, s = clock.group(1), clock.group(2), float(clock.group(3).replace(",", "."))
        if s >= 60 or (h is not None and int(m) >= 60):
            return None, f"a clock time's minutes and seconds must be below 60 (got {shown})"
        value = int(h or 0) * 3600.0 + int(m) * 60.0 + s
    elif parts and any(parts.groups()):
        value = sum(
            float(g.replace(",", ".")) * unit
            for g, unit in zip(parts.groups(), _UNIT_SECONDS)
            if g is not None
        )
    else:
        parts = _parts(cell, decimal)
        if parts is None or parts[3]:
            return None, expected
        if parts[0] == "-" and (parts[1] + parts[2]).strip("0"):
            return None, f"a time must not be negative (got {text})"
        value = parse_number(cell, decimal) or 0.0
    if not math.isfinite(value) or value > MAX_SECONDS:
        return None, f"too long for a mean time (got {text})"
    return value, None


def comma_hint(record: Record, table: Table) -> str:
    """A hint for a row with more fields than its header, when a number's comma split it."""
    if table.delimiter != "," or len(record.cells) <= len(table.header.cells):
        return ""
    cells = record.cells
    if any(a[-1:].isdigit() and b[:1].isdigit() for a, b in itertools.pairwise(cells)):
        return (
            " (a number with a comma in a comma-separated file, like 12,5 or 1,000? "
            "quote such numbers, or separate the columns with ';')"
        )
    return ""


__all__ = [
    "DELIMITERS",
    "DELIMITER_NAMES",
    "Record",
    "Table",
    "comma_hint",
    "field_columns",
    "parse_count",
    "parse_number",
    "parse_seconds",
    "read_table",
    "sniff_delimiter",
    "split_line",
]
