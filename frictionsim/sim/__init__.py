"""The simulation of one replication (provisional: see the next commit)."""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {"RunResult": "simpy_engine", "simulate": "simpy_engine"}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'frictionsim.sim' has no attribute {name!r}")
