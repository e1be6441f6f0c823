"""Errors that reach users.

Every problem with a scenario is a :class:`ScenarioProblem` that knows where it
is: the file, the 1-based line and column in that file, and the field path
(``steps.payment.capacity``). A :class:`ScenarioError` carries all problems of
one file at once, so a researcher fixes them in one pass instead of one per run.
The command line turns these into ``FILE:LINE:COL: field.path: message`` lines
and exit code 2; nothing else in the package formats errors for users.

A problem echoes what the file said (a key, a name, a value), and a hostile
file may say anything: :func:`one_line` makes every problem, as it is created,
one readable line — a value longer than :data:`MAX_SHOWN` characters is cut
(``aaaa… (500,000 characters)``), and control, format (bidi overrides,
zero-width characters) and other invisible characters are shown escaped
(``\u202e``), so no message can reorder or hide what the terminal shows.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

#: Characters of a value shown in a message; longer values are cut.
MAX_SHOWN = 80
#: Characters of a file path shown in a message (the whole message is still bounded).
MAX_PATH_SHOWN = 400
#: Characters of a whole message, beyond which it is cut as a last resort.
MAX_MESSAGE = 1000
#: Unicode categories shown escaped: control, format (bidi, zero-width), surrogate,
#: private-use, unassigned, line and paragraph separators, and spaces other than ' '.
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"})
_SHORT_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
#: The values within a message: a quoted text (not an apostrophe within a word),
#: or a run of characters without spaces, quotes or brackets.
_PIECE = re.compile(r"""(?<!\w)'[^'\n]*'(?!\w)|(?<!\w)"[^"\n]*"(?!\w)|[^\s'"()\[\]{},;]+""")


def _escape(char: str) -> str:
    if char == " " or unicodedata.category(char) not in _INVISIBLE:
        return char
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    code = ord(char)
    return (
        f"\\x{code:02x}"
        if code < 0x100
        else f"\\u{code:04x}"
        if code < 0x10000
        else f"\\U{code:08x}"
    )


def _cut(text: str, limit: int = MAX_SHOWN) -> str:
    """``text``, or its first ``limit`` characters, '…' and its length (inside its quotes)."""
    quoted = len(text) > 1 and text[0] in "'\"" and text[-1] == text[0]
    inner = text[1:-1] if quoted else text
    if len(inner) <= limit:
        return text
    quote = text[0] if quoted else ""
    return f"{quote}{inner[:limit]}…{quote} ({len(inner):,} characters)"


def _limit(piece: str) -> int:
    """How much of an unquoted piece a message shows: a file path (it names where the
    problem is) up to :data:`MAX_PATH_SHOWN`, any other value :data:`MAX_SHOWN`."""
    return MAX_PATH_SHOWN if "/" in piece and piece[0] not in "'\"" else MAX_SHOWN


def _cut_piece(piece: str) -> str:
    """A piece of a message cut by :func:`_limit`, keeping a colon that ends it."""
    colon = ":" if piece.endswith(":") and len(piece) > 1 else ""
    body = piece[: len(piece) - len(colon)]
    return _cut(body, _limit(body)) + colon


def visible(text: Any) -> str:
    """``text`` with its invisible characters (newlines, control, bidi) escaped, as it is
    printed on a line of its own: a file name the user chose, shown whole."""
    return "".join(map(_escape, str(text)))


def one_line(text: str, sep: str | None = None) -> str:
    """``text`` as one readable line: each value longer than :data:`MAX_SHOWN` cut,
    invisible characters escaped. With ``sep`` (a field path), each part between
    separators is a value."""
    if sep is not None:
        text = sep.join(_cut(part) for part in text.split(sep))
    else:
        text = _PIECE.sub(lambda m: _cut_piece(m.group()), text)
    text = "".join(map(_escape, text))
    return text if len(text) <= MAX_MESSAGE else _cut(text, MAX_MESSAGE)


def did_you_mean(word: Any, options: Iterable[Any]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``options``, or nothing.

    Words longer than :data:`MAX_SHOWN` are never close to anything: comparing long
    texts takes time that grows with the product of their lengths."""
    word = str(word)
    if len(word) > MAX_SHOWN:
        return ""
    shortlist = [str(o) for o in options if len(str(o)) <= MAX_SHOWN]
    close = difflib.get_close_matches(word, shortlist, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


@dataclass(frozen=True, order=True)
class ScenarioProblem:
    """One located problem in a scenario file or in a ``--set`` override."""

    file: str
    line: int
    col: int
    path: str
    message: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "file", one_line(str(self.file), sep="/"))
        object.__setattr__(self, "path", one_line(str(self.path), sep="."))
        object.__setattr__(self, "message", one_line(str(self.message)))

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.path}: {self.message}"


class FrictionsimError(Exception):
    """Base class of the errors the command line reports without a traceback, as one
    line and with their ``exit_code``."""

    exit_code = 1


class ScenarioError(FrictionsimError):
    """A scenario that cannot be used, with every problem found in it."""

    def __init__(self, problems: list[ScenarioProblem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ResultsError(FrictionsimError):
    """A results folder that cannot be written or read."""


class SimulationError(FrictionsimError):
    """A simulation that could not be completed."""


class CalibrationError(FrictionsimError):
    """A calibration that cannot be done as asked (a bad option, parameters the data
    cannot tell apart); the command line exits with code 2, like a bad scenario."""

    exit_code = 2


class ComparisonError(FrictionsimError):
    """Designs that cannot be compared (they do not model the same customers)."""


class OptionError(FrictionsimError):
    """An option or argument that cannot be used (an unknown metric, bad ``--values``)."""

    exit_code = 2


class RunTooLargeError(FrictionsimError):
    """A run estimated to take too long or too many customers; ``--force`` runs it anyway."""
