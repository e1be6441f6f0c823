"""Data flows one way: later stages never pull in earlier ones they do not need."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "frictionsim"


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
        ("frictionsim.funnel_exports", {"simpy", "matplotlib"}),
        ("frictionsim.studies.calibrate", {"matplotlib"}),
        ("frictionsim.report", {"matplotlib"}),  # names imported on first use
        ("frictionsim.report.html_page", {"matplotlib"}),
        ("frictionsim.results.drawing", {"matplotlib"}),
        ("frictionsim.report.notes", {"matplotlib"}),
        ("frictionsim.cli", {"scipy.stats", "scipy.optimize", "matplotlib"}),
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


#: A library and the one part of the package that may import it (a file, or a folder
#: ending in "/"), relative to frictionsim/.
LIBRARY_LAYER = {
    "simpy": "sim/simpy_engine.py",
    "matplotlib": "report/",
    "yaml": "scenario/",
}


def imported_libraries(tree: ast.AST) -> set[str]:
    """Top-level names of everything a module imports, anywhere in it (functions and
    ``TYPE_CHECKING`` blocks too), including ``importlib.import_module("name")``."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and not node.args[0].value.startswith(".")
        ):
            found.add(node.args[0].value.split(".")[0])
    return found


def test_each_library_is_imported_by_its_own_layer_only():
    """By reading the source: SimPy only in the SimPy engine, matplotlib only in the
    report, YAML only in the scenario package (the import test above sees only what
    one import loads; this sees every module and every import in it)."""
    importers: dict[str, list[str]] = {library: [] for library in LIBRARY_LAYER}
    for source in sorted(PACKAGE.rglob("*.py")):
        where = source.relative_to(PACKAGE).as_posix()
        for library in imported_libraries(ast.parse(source.read_text(), str(source))):
            if library in importers:
                importers[library].append(where)
    wrong = [
        f"frictionsim/{where} imports {library} (only frictionsim/{LIBRARY_LAYER[library]} may)"
        for library, wheres in importers.items()
        for where in wheres
        if not where.startswith(LIBRARY_LAYER[library])
    ]
    assert not wrong
    assert all(importers.values()), importers  # each rule is about a real import


def test_the_import_reader_sees_every_form_of_import():
    tree = ast.parse(
        "import simpy.core\n"
        "from matplotlib import figure\n"
        "from . import yaml_doc\n"
        "def f():\n"
        "    import importlib\n"
        "    return importlib.import_module('yaml')\n"
    )
    assert imported_libraries(tree) == {"simpy", "matplotlib", "importlib", "yaml"}


def test_a_run_whose_charts_the_workers_draw_loads_neither_matplotlib_nor_scipy_stats(tmp_path):
    """The process that simulates and writes the folder (its workers drawing) imports
    neither: they cost a second of start-up on every command."""
    code = (
        "from frictionsim.scenario import load_scenario\n"
        "from frictionsim.studies import run\n"
        "from frictionsim.results import write_study\n"
        "r = run(load_scenario('scenarios/checkout_baseline.yaml', ['horizon=60']), 1, 2)\n"
        "calls = []\n"
        "def render(summary, *a, notes=(), **k):\n"
        "    calls.append(notes)\n"
        "    return {'report.md': b'drawn elsewhere'}\n"
        f"write_study(r, __import__('pathlib').Path({str(tmp_path / 'out')!r}), 'x.yaml', "
        "True, (), False, render=render)\n"
        "assert calls == [[]], calls\n"
    )
    loaded = loaded_after(f"exec({code!r})")
    assert not {"matplotlib", "scipy.stats"} & loaded
    assert (tmp_path / "out" / "report.md").read_bytes() == b"drawn elsewhere"


def test_a_report_drawn_in_parts_is_finished_without_matplotlib():
    """merge_parts puts the charts of the other parts into report.html in the process that
    simulated, which never loads matplotlib (the workers draw)."""
    code = (
        "from frictionsim.results.drawing import merge_parts\n"
        'page = b\'<img src="a.png" alt="a"><img src="b.png" alt="b">\'\n'
        "out = merge_parts([{'a.png': b'A', 'report.html': page}, {'b.png': b'B'}])\n"
        "assert b'src=\"a.png\"' not in out['report.html'], out\n"
        "assert b'data:image/png;base64,Qg==' in out['report.html'], out\n"
        "assert list(out) == ['a.png', 'b.png', 'report.html']\n"
    )
    assert "matplotlib" not in loaded_after(f"exec({code!r})")
