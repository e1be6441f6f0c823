"""Data flows one way: later stages never pull in earlier ones they do not need."""

from __future__ import annotations

import subprocess
import sys

import pytest


def loaded_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("frictionsim.scenario", {"simpy", "matplotlib"}),
        ("frictionsim.sim.simpy_engine", {"matplotlib", "click", "rich"}),
        ("frictionsim.report", {"simpy", "frictionsim.sim.simpy_engine"}),
        ("frictionsim.stats", {"matplotlib"}),
        ("frictionsim.funnel_data", {"simpy", "matplotlib"}),
        ("frictionsim.studies.calibrate", {"matplotlib"}),
    ],
)
def test_module_does_not_import(module, forbidden):
    assert not forbidden & loaded_after(f"import {module}")


def test_python_dash_m_works():
    out = subprocess.run(
        [sys.executable, "-m", "frictionsim", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "frictionsim" in out.stdout
