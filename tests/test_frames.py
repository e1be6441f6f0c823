"""Results as tables for a notebook: every replication's metrics, by their summary paths."""

from __future__ import annotations

import sys

import pytest

import frictionsim
from frictionsim.errors import FrictionsimError
from frictionsim.studies import compare, improve, optimize, run

from .conftest import make_scenario


def shop(name="shop", fields=4):
    return make_scenario(
        name=name,
        horizon=120,
        arrivals={"rate": 2},
        steps=[{"name": "cart", "exit": 0.2}, {"name": "form", "fields": fields}],
    )


def test_replication_values_hold_every_metric_of_every_replication():
    result = run(shop(), replications=3, jobs=1)
    rows = result.replication_values()
    assert [r["replication"] for r in rows] == [0, 1, 2]
    summary = result.summary
    for metric in ("conversion_rate", "nps", "profit"):
        mean = sum(r[metric] for r in rows) / 3
        assert mean == pytest.approx(summary["metrics"][metric]["mean"])
    mean = sum(r["steps.form.abandoned_friction"] for r in rows) / 3
    assert mean == pytest.approx(summary["steps"]["form"]["abandoned_friction"]["mean"])


def test_every_study_has_a_frame_with_its_own_keys():
    pd = pytest.importorskip("pandas")
    base = shop()
    frames = {
        "run": run(base, replications=2, jobs=1).to_frame(),
        "compare": compare([base, shop("b", 1)], replications=2, jobs=1).to_frame(),
        "optimize": optimize(
            base, [("steps.form.fields", ["0", "2", "4"])], "max:orders", replications=2, jobs=1
        ).to_frame(),
        "improve": improve(base, ("remove",), replications=2, jobs=1).to_frame(),
    }
    assert all(isinstance(f, pd.DataFrame) for f in frames.values())
    assert frames["run"].shape[0] == 2
    assert set(frames["compare"]["design"]) == {"shop", "b"}
    assert set(frames["optimize"]["steps.form.fields"]) == {0, 2, 4}
    assert set(frames["improve"]["step"]) == {"", "form"}
    assert "conversion_rate" in frames["improve"].columns


def test_without_pandas_to_frame_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas fails
    with pytest.raises(FrictionsimError, match=r"pip install 'frictionsim\[pandas\]'"):
        run(shop(), replications=2, jobs=1).to_frame()


def test_dir_lists_the_public_api():
    names = dir(frictionsim)
    assert {"load_scenario", "run", "compare", "sweep", "optimize", "improve", "to_frame"} <= set(
        names
    )
    assert "importlib" not in names
