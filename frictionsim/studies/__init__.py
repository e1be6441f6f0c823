"""Studies: the questions frictionsim answers, each from a ``Scenario`` to one result.

Every study follows one protocol. It takes a :class:`~frictionsim.scenario.Scenario`
(and its options), says what it will run before any work through an
:class:`~frictionsim.execution.Execution` (engines decided once per scenario, the size
estimated and refused beyond the limits unless forced, the progress total set), maps
its tasks through that execution's one pool with common random numbers, and reduces
the replications' metrics (by their ``summary.json`` paths) to the document of its
results folder. It returns one result object: its ``kind`` names the folder the
results writer makes (:func:`frictionsim.results.write_study`) and the chart the report
draws; ``document`` is the folder's JSON, ``replication_values()`` every metric of every
replication, ``to_frame()`` the same as a DataFrame.

``run``: replications of one scenario; ``compare``: designs side by side;
``sweep``: a grid of parameter values; ``sensitivity``: parameters ranked by their
effect; ``optimize``: the best grid point subject to constraints; ``improve``: the
steps ranked by what their friction costs; ``calibrate``: parameters fitted to an
observed funnel.
"""

from __future__ import annotations

from .calibrate import Calibration, calibrate
from .compare import Comparison, check_comparable, compare
from .improve import Improvements, improve
from .optimize import Optimum, optimize
from .run import Run, run, run_replications
from .sensitivity import Sensitivity, sensitivity
from .sweep import Sweep, sweep

__all__ = [
    "Calibration",
    "Comparison",
    "Improvements",
    "Optimum",
    "Run",
    "Sensitivity",
    "Sweep",
    "calibrate",
    "check_comparable",
    "compare",
    "improve",
    "optimize",
    "run",
    "run_replications",
    "sensitivity",
    "sweep",
]
