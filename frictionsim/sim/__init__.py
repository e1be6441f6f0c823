"""The simulation: one replication of one scenario, by either of two engines.

Minutes are the one clock unit here: arrivals, durations, waits, horizons and
every time in a result (scenario files may write other units; the scenario
layer converts them). One call to an engine's ``simulate(scenario, seq)`` runs
one replication with the random streams of the ``numpy.random.SeedSequence``
``seq`` and returns its raw counters; statistics over replications are made
downstream, by :mod:`frictionsim.stats` and :mod:`frictionsim.metrics`.

Each module owns one concept:

* :mod:`.codes`: the small integers of outcomes (order, friction, exit),
  sources of visitors (organic, referral, returning) and remembered
  experiences, with the names results and event logs show. It imports nothing,
  so the report and the metric table use the codes without loading an engine.
* :mod:`.result`: :class:`RunResult`, the counters of one replication that both
  engines return, and the fixed bins of its histograms (``IRRITATION_BINS``,
  ``irritation_edges``, ``TIME_EDGES``).
* :mod:`.streams`: the random-number contract both engines keep — substreams
  keyed by purpose and name, drawn in blocks of ``BLOCK`` customers, one row
  per customer (common random numbers), the per-step plan both walk, and the
  arrivals with the bins over time they are counted in.
* :mod:`.simpy_engine`: the discrete-event engine (SimPy), for every scenario;
  the only module of the package that imports SimPy. Its :func:`simulate` is
  the one exported here.
* :mod:`.fastpath`: the same replication vectorized with numpy for flows
  without loops (a queue walked in the order customers reach it), giving
  exactly the SimPy engine's result; ``unsupported_reason`` says when it cannot, and
  :mod:`frictionsim.execution` then uses the SimPy engine. :mod:`.fcfs` walks its
  queues, :mod:`.plain` the steps without capacity (both compiled where numba is), and
  :mod:`.talking` adds word of mouth and returns, in windows of time shorter than their
  least delay.

Modules of the package import a name from the module that owns it. Callers can
use the names below; they are imported on first use, so importing
``frictionsim.sim.codes`` (or this package) loads neither numpy nor SimPy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .codes import EXIT, FRICTION, ORDER, ORGANIC, OUTCOMES, REFERRAL, RETURNING, SOURCES

if TYPE_CHECKING:
    from .result import RunResult
    from .simpy_engine import EventSink, simulate

_EXPORTS = {
    "RunResult": "result",
    "simulate": "simpy_engine",
    "EventSink": "simpy_engine",
}

__all__ = [
    "EXIT",
    "FRICTION",
    "ORDER",
    "ORGANIC",
    "OUTCOMES",
    "REFERRAL",
    "RETURNING",
    "SOURCES",
    "EventSink",
    "RunResult",
    "simulate",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'frictionsim.sim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
