"""frictionsim: a purchase-flow friction simulator.

Simulated customers walk the steps of a checkout (SimPy); every step costs
time and irritation, and a customer abandons when irritation reaches their
tolerance. The Python API mirrors the command line::

    import frictionsim
    scenario = frictionsim.load_scenario("scenarios/checkout_baseline.yaml")
    run = frictionsim.run(scenario, replications=10)
    print(run.summary["metrics"]["conversion_rate"])
    frictionsim.write_run(run, "results/baseline")

Names are imported on first use, so ``import frictionsim.report`` does not
load the engine (each stage only knows the stages before it).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "FrictionsimError": "errors",
    "ResultsError": "errors",
    "ScenarioError": "errors",
    "ScenarioProblem": "errors",
    "ComparisonError": "errors",
    "OptionError": "errors",
    "Comparison": "studies",
    "compare": "studies",
    "Sweep": "studies",
    "sweep": "studies",
    "sensitivity": "studies",
    "Optimum": "studies",
    "optimize": "studies",
    "Improvements": "studies",
    "improve": "studies",
    "write_improvements": "results",
    "write_optimum": "results",
    "vary": "scenario",
    "write_comparison": "results",
    "write_sweep": "results",
    "write_sensitivity": "results",
    "Run": "studies",
    "run": "studies",
    "run_replications": "studies",
    "write_run": "results",
    "Scenario": "scenario",
    "load_scenario": "scenario",
    "parse_scenario": "scenario",
    "to_frame": "frames",
    "Sensitivity": "studies",
    "Calibration": "studies",
    "calibrate": "studies",
    "write_calibration": "studies.calibrate",
    "load_funnel": "funnel_data",
    "Execution": "execution",
    "write_study": "results",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'frictionsim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
