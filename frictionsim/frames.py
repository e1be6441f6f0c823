"""Study results as tables for a notebook: one row per replication, a column per metric.

Every result (:class:`~frictionsim.studies.run.Run`, ``Comparison``, ``Sweep``,
``Sensitivity``, ``Optimum``, ``Improvements``) has ``replication_values()``: a list of plain
dicts, one per replication (and design, point or variant), holding every metric
by its path in ``summary.json``; ``to_frame()`` turns them into a
:class:`pandas.DataFrame`. pandas is an optional extra
(``pip install 'frictionsim[pandas]'``); nothing else needs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .errors import FrictionsimError


def to_frame(rows: Sequence[dict[str, Any]]) -> Any:
    """``rows`` as a :class:`pandas.DataFrame` (columns in first-seen order)."""
    try:
        import pandas as pd
    except ImportError:
        raise FrictionsimError(
            "to_frame() needs pandas: pip install 'frictionsim[pandas]'"
        ) from None
    columns = list(dict.fromkeys(k for row in rows for k in row))
    return pd.DataFrame.from_records(list(rows), columns=columns)


class FrameMixin:
    """``to_frame()`` for a result that has ``replication_values()``."""

    def replication_values(self) -> list[dict[str, Any]]:  # pragma: no cover - overridden
        raise NotImplementedError

    def to_frame(self) -> Any:
        """Every replication's metrics as a pandas DataFrame (needs frictionsim[pandas])."""
        return to_frame(self.replication_values())


__all__ = ["FrameMixin", "to_frame"]
