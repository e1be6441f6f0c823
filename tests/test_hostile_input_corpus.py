"""A hostile corpus: numbers at every limit, unicode, YAML features, wrong types, odd
``--set`` paths and values. Each case gets exactly its located lines, or, when it
validates, runs cleanly on both engines.

The corpus lives in ``tests/data/hostile_input/``: one file per case and
``expected.yaml`` (the format of ``tests/data/bad/expected.yaml``) with every
line each must produce; ``[]`` marks a case that validates. To add a case, add
a file (or a ``set`` entry on ``good.yaml``), run ``frictionsim validate`` (or
``frictionsim run --set``) on it, check that each line names the right line,
column and field and that nothing is echoed raw or whole, and paste the lines.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from frictionsim.cli import cli
from frictionsim.scenario import load_scenario

CORPUS = Path(__file__).parent / "data" / "hostile_input"
EXPECTED: dict = yaml.safe_load((CORPUS / "expected.yaml").read_text(encoding="utf-8"))
FILES = {k: v for k, v in EXPECTED.items() if isinstance(v, list)}
OVERRIDES = {k: v for k, v in EXPECTED.items() if isinstance(v, dict)}


def _set_args(sets: list[str]) -> list[str]:
    return [arg for value in sets for arg in ("--set", value)]


def _runs_cleanly(path: Path, sets: list[str], tmp_path: Path) -> None:
    """Both engines: a results folder, or (the fast path declining, the run-size estimate
    refusing) one ``error:`` line with exit code 1; never a traceback."""
    for engine in ("simpy", "fast"):
        out = tmp_path / engine
        args = ["run", str(path), *_set_args(sets), "--engine", engine, "-r", "1"]
        result = CliRunner().invoke(cli, [*args, "--no-charts", "-q", "--out", str(out)])
        assert "Traceback" not in result.output
        if result.exit_code == 0:
            assert (out / "summary.json").is_file()
            continue
        assert result.exit_code == 1, result.output
        (line,) = result.output.splitlines()
        assert line.startswith("error: ")
        assert engine == "fast" or "this run would simulate" in line, line
        assert not out.exists()


def test_the_corpus_is_large_and_complete():
    assert len(EXPECTED) >= 50
    on_disk = {p.name for p in CORPUS.iterdir()} - {"expected.yaml", "good.yaml"}
    assert on_disk == set(FILES), "every file has its expectations"
    load_scenario(CORPUS / "good.yaml")
    assert {case["file"] for case in OVERRIDES.values()} <= on_disk | {"good.yaml"}


@pytest.mark.parametrize("name", sorted(FILES))
def test_each_file_gets_exactly_its_lines_from_validate(name):
    path = CORPUS / name
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert "Traceback" not in result.output
    if not FILES[name]:
        assert result.exit_code == 0, result.output
        assert result.output == f"{path}: ok\n"
        return
    assert result.exit_code == 2
    assert result.output.splitlines() == [f"{path}:{line}" for line in FILES[name]]
    assert all(line.isprintable() for line in result.output.splitlines())


@pytest.mark.parametrize("name", sorted(n for n, lines in FILES.items() if not lines))
def test_each_file_that_validates_runs_cleanly(name, tmp_path):
    _runs_cleanly(CORPUS / name, [], tmp_path)


@pytest.mark.parametrize("name", sorted(OVERRIDES))
def test_each_override_gets_exactly_its_lines_or_runs_cleanly(name, tmp_path):
    case = OVERRIDES[name]
    path = CORPUS / case["file"]
    if not case["expect"]:
        _runs_cleanly(path, case["set"], tmp_path)
        return
    out = tmp_path / "out"
    args = ["run", str(path), *_set_args(case["set"]), "--out", str(out)]
    result = CliRunner().invoke(cli, args)
    assert "Traceback" not in result.output
    assert result.exit_code == 2
    expected = [line.replace("{file}", str(path)) for line in case["expect"]]
    assert result.output.splitlines() == expected
    assert all(line.isprintable() for line in result.output.splitlines())
    assert not out.exists()


def test_a_name_wins_over_an_index_in_the_corpus():
    case = OVERRIDES["set_name_wins_over_index"]
    scenario = load_scenario(CORPUS / case["file"], case["set"])
    assert [(s.name, s.irritation, s.fields) for s in scenario.steps] == [
        ("2", 0, 0),
        ("1", 5, 3),
        ("0", 0, 2),
    ]
