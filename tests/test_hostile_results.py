"""``frictionsim report`` on damaged results: the corpus of ``tests/data/hostile_results``
(truncated, wrong types at every level, NaN, huge, deeply nested, empty, binary, a folder
or a link in place of a file) each gives exactly one expected line, exit code 1, and
changes nothing."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from frictionsim.cli import cli
from frictionsim.documents import MAX_DOCUMENT_BYTES

CORPUS = Path(__file__).parent / "data" / "hostile_results"
CASES = yaml.safe_load((CORPUS / "expected.yaml").read_text())


def report(folder: Path):
    return CliRunner().invoke(cli, ["report", str(folder)])


def _make(path: Path, how: str) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        path.unlink()
    if how == "nested":
        path.write_text("[" * 100_000 + "]" * 100_000)
    elif how == "many-steps":
        steps = ", ".join(f'"s{k}": {{}}' for k in range(100_001))
        metrics = json.loads((CORPUS / "base-run" / "summary.json").read_text())["metrics"]
        path.write_text(
            f'{{"scenario": "x", "metrics": {json.dumps(metrics)}, "steps": {{{steps}}}}}'
        )
    elif how == "huge":
        with path.open("wb") as f:  # sparse: no disk space taken
            f.truncate(MAX_DOCUMENT_BYTES + 1)
    elif how == "folder":
        path.mkdir()
        (path / "inside.json").write_text("{}")
    elif how == "fifo":
        os.mkfifo(path)
    elif how.startswith("symlink:"):
        path.symlink_to(how.removeprefix("symlink:"))
    elif how != "delete":
        raise ValueError(how)


def test_the_corpus_is_large_and_every_base_is_a_good_folder(tmp_path):
    assert len(CASES) >= 30
    for base in ("run", "compare", "sweep", "sensitivity"):
        folder = Path(shutil.copytree(CORPUS / f"base-{base}", tmp_path / base))
        result = report(folder)
        assert result.exit_code == 0, result.output


@pytest.mark.parametrize("case", list(CASES))
def test_damaged_results_get_one_line(case, tmp_path):
    spec = CASES[case]
    folder = Path(shutil.copytree(CORPUS / f"base-{spec['base']}", tmp_path / "res"))
    target = folder / spec["file"]
    if "make" in spec:
        if spec["make"] == "fifo" and not hasattr(os, "mkfifo"):
            pytest.skip("no named pipes here")
        _make(target, spec["make"])
    else:
        target.unlink()
        shutil.copyfile(CORPUS / "cases" / case / spec["file"], target)
    before = sorted(p.name for p in folder.iterdir())
    result = report(folder)
    assert (result.exit_code, result.output) == (1, spec["line"].format(dir=folder) + "\n")
    assert sorted(p.name for p in folder.iterdir()) == before  # nothing written, no leftovers
