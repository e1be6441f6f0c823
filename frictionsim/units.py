"""Durations and rates with units.

The engine's clock unit is the **minute**. Scenario files may write a duration
as a bare number (minutes) or as a string with a unit (``45s``, ``3min``,
``2h``, ``7d``), and a rate as a bare number (per minute) or ``count/unit``
(``120/h``, ``2/min``, ``1.5/d``). These parsers turn both into minutes and
per-minute rates and raise :class:`ValueError` with a message that names the
accepted units (and the closest one, for typos such as ``5mins``).
"""

from __future__ import annotations

import difflib
import math
import re

#: Minutes per unit, for every unit a scenario may use.
MINUTES_PER_UNIT: dict[str, float] = {"s": 1 / 60, "min": 1.0, "h": 60.0, "d": 1440.0}

_MAGNITUDE = r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_NUMBER = rf"[+-]?{_MAGNITUDE}"
_DURATION_RE = re.compile(rf"^\s*({_NUMBER})\s*([A-Za-z]+)\s*$")
_RATE_RE = re.compile(rf"^\s*({_NUMBER})\s*/\s*([A-Za-z]+)\s*$")

#: The numbers a unit string may start with, by the sign its key allows: a key of 0 or
#: more refuses a minus sign, a key above 0 also a number without a digit 1-9 before
#: its exponent (``0s``, ``0.0e3/h``).
SIGNED_NUMBER = {
    "any": _NUMBER,
    "nonnegative": rf"\+?{_MAGNITUDE}",
    "positive": rf"\+?(?=[0.]*[1-9]){_MAGNITUDE}",
}


def duration_pattern(sign: str = "any") -> str:
    """JSON Schema pattern of a duration string (``45s``), so editors check it as
    researchers type; ``sign`` is a key of :data:`SIGNED_NUMBER`."""
    return rf"^\s*{SIGNED_NUMBER[sign]}\s*(s|min|h|d)\s*$"


def rate_pattern(sign: str = "any") -> str:
    """JSON Schema pattern of a rate string (``120/h``); ``sign`` as for
    :func:`duration_pattern`."""
    return rf"^\s*{SIGNED_NUMBER[sign]}\s*/\s*(s|min|h|d)\s*$"


#: Spellings people write, mapped to the unit they meant (for the error message only).
_MEANT = {
    "sec": "s",
    "secs": "s",
    "second": "s",
    "seconds": "s",
    "m": "min",
    "mins": "min",
    "minute": "min",
    "minutes": "min",
    "hr": "h",
    "hrs": "h",
    "hour": "h",
    "hours": "h",
    "day": "d",
    "days": "d",
}


def _unit_minutes(unit: str, text: str) -> float:
    if unit in MINUTES_PER_UNIT:
        return MINUTES_PER_UNIT[unit]
    meant = _MEANT.get(unit.lower())
    close = [meant] if meant else difflib.get_close_matches(unit, list(MINUTES_PER_UNIT), 1, 0.3)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise ValueError(f"unknown unit '{unit}' in '{text}'{hint}; use one of s, min, h, d")


def _finite(value: float, text: object) -> float:
    if not math.isfinite(value):
        raise ValueError(f"'{text}' is not a finite number")
    return value


def parse_duration(value: object) -> float:
    """Return a duration in minutes from a number (minutes) or a string with a unit."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration such as 90, '45s' or '2h', got {value!r}")
    if isinstance(value, (int, float)):
        return _finite(float(value), value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return _finite(float(text), value)
        except ValueError:
            pass
        match = _DURATION_RE.match(text)
        if match:
            number, unit = match.groups()
            return _finite(float(number) * _unit_minutes(unit, value), value)
        raise ValueError(
            f"'{value}' is not a duration; write minutes (90) or '45s', '3min', '2h', '7d'"
        )
    raise ValueError(f"expected a duration such as 90, '45s' or '2h', got {value!r}")


def parse_rate(value: object) -> float:
    """Return a rate per minute from a number (per minute) or ``'count/unit'``."""
    if isinstance(value, bool):
        raise ValueError(f"expected a rate such as 2, '120/h' or '1.5/d', got {value!r}")
    if isinstance(value, (int, float)):
        return _finite(float(value), value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return _finite(float(text), value)
        except ValueError:
            pass
        match = _RATE_RE.match(text)
        if match:
            number, unit = match.groups()
            return _finite(float(number) / _unit_minutes(unit, value), value)
        raise ValueError(
            f"'{value}' is not a rate; write per minute (2) or '120/h', '2/min', '1.5/d'"
        )
    raise ValueError(f"expected a rate such as 2, '120/h' or '1.5/d', got {value!r}")
