"""Errors that reach users.

Every problem with a scenario is a :class:`ScenarioProblem` that knows where it
is: the file, the 1-based line and column in that file, and the field path
(``steps.payment.capacity``). A :class:`ScenarioError` carries all problems of
one file at once, so a researcher fixes them in one pass instead of one per run.
The command line turns these into ``FILE:LINE:COL: field.path: message`` lines
and exit code 2; nothing else in the package formats errors for users.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


def did_you_mean(word: Any, options: Iterable[Any]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``options``, or nothing."""
    close = difflib.get_close_matches(str(word), [str(o) for o in options], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


@dataclass(frozen=True, order=True)
class ScenarioProblem:
    """One located problem in a scenario file or in a ``--set`` override."""

    file: str
    line: int
    col: int
    path: str
    message: str

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
