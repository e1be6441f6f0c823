"""Studies: the questions frictionsim answers, each from a ``Scenario`` to one document.

Each study plans its runs, simulates them through the executors with common random
numbers, and reduces the replications' metrics (by their ``summary.json`` paths) to
the document its results folder stores. ``optimize``: the best point of a grid
subject to constraints; ``improve``: the steps ranked by what their friction costs.
"""

from __future__ import annotations

from .improve import Improvements, improve
from .optimize import Optimum, optimize

__all__ = ["Improvements", "Optimum", "improve", "optimize"]
