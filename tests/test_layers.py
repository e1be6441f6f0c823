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
        ("frictionsim.sim", {"numpy", "simpy"}),  # names imported on first use
        ("frictionsim.sim.simpy_engine", {"matplotlib", "click", "rich"}),
        ("frictionsim.sim.fastpath", {"simpy", "matplotlib", "click", "rich"}),
        ("frictionsim.sim.result", {"simpy", "frictionsim.scenario"}),
        (
            "frictionsim.report",
            {"simpy", "frictionsim.sim.simpy_engine", "frictionsim.sim.fastpath"},
        ),
        ("frictionsim.stats", {"matplotlib", "simpy"}),
        ("frictionsim.funnel_data", {"simpy", "matplotlib"}),
        ("frictionsim.studies.calibrate", {"matplotlib"}),
    ],
)
def test_module_does_not_import(module, forbidden):
    assert not forbidden & loaded_after(f"import {module}")


def test_the_sim_package_gives_the_names_callers_use():
    import frictionsim.sim as sim
    from frictionsim.sim import codes, result, simpy_engine

    assert sim.simulate is simpy_engine.simulate
    assert sim.RunResult is result.RunResult
    assert sim.EventSink is simpy_engine.EventSink
    assert (sim.ORDER, sim.SOURCES) == (codes.ORDER, codes.SOURCES)
    assert set(sim.__all__) <= set(dir(sim))
    with pytest.raises(AttributeError, match="no attribute 'engine'"):
        _ = sim.engine


def test_python_dash_m_works():
    out = subprocess.run(
        [sys.executable, "-m", "frictionsim", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "frictionsim" in out.stdout
