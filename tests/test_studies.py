"""The study protocol: every study plans its work through one ``Execution`` before it
starts (engines, size, progress total), shares that execution's pool, and returns one
result with a ``kind`` that ``write_study`` writes where it goes."""

from __future__ import annotations

import json

import pytest

import frictionsim
from frictionsim import execution, results
from frictionsim.errors import RunTooLargeError, SimulationError
from frictionsim.execution import Execution, LocalExecutor
from frictionsim.studies import (
    compare,
    improve,
    optimize,
    run,
    sensitivity,
    sweep,
)

from .conftest import make_scenario

SHOP = {
    "name": "shop",
    "replications": 3,
    "horizon": 240,
    "arrivals": {"rate": 2},
    "steps": [{"name": "cart", "exit": 0.2}, {"name": "form", "fields": 6}],
}


def shop(**changes):
    return make_scenario(**{**SHOP, **changes})


def studies(scenario):
    """Every study of one scenario, as the Python API calls it."""
    other = make_scenario(**{**SHOP, "name": "other", "steps": [{"name": "cart", "exit": 0.1}]})
    grid = [("steps.form.fields", [2, 6])]
    return {
        "run": lambda **kw: run(scenario, **kw),
        "compare": lambda **kw: compare([scenario, other], **kw),
        "sweep": lambda **kw: sweep(scenario, grid, **kw),
        "sensitivity": lambda **kw: sensitivity(scenario, **kw),
        "optimize": lambda **kw: optimize(scenario, grid, "max:conversion_rate", **kw),
        "improve": lambda **kw: improve(scenario, ("remove",), **kw),
    }


@pytest.mark.parametrize("kind", list(studies(shop())))
def test_every_study_knows_its_total_before_any_work_and_ends_at_it(kind):
    calls = []
    with Execution(jobs=1, progress=lambda d, t: calls.append((d, t))) as ex:
        result = studies(shop())[kind](execution=ex)
    assert result.kind == kind
    assert calls[0][0] == 0  # said before the first replication finished
    total = calls[0][1]
    assert total > 0
    assert all(t == total for _, t in calls)  # the total never changes on the way
    assert calls[-1] == (total, total)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert result.replication_values()  # every study keeps every replication's metrics


def test_studies_share_one_pool(monkeypatch):
    monkeypatch.setattr(execution, "SERIAL_BELOW_CUSTOMERS", 0)  # really use the pool
    with Execution(jobs=2) as ex:
        a = run(shop(), execution=ex)
        b = improve(shop(), ("remove",), execution=ex)
        assert isinstance(ex.executor, LocalExecutor)
        assert ex.executor.pools_started == 1
    assert run(shop(), jobs=1).summary == a.summary  # the same numbers whatever the pool
    assert improve(shop(), ("remove",), jobs=1).document == b.document


def test_the_engine_is_decided_once_per_scenario(monkeypatch):
    decided = []
    real = execution.uses_fast_path

    def counted(scenario, engine="auto", where=""):
        decided.append(scenario.name)
        return real(scenario, engine, where)

    monkeypatch.setattr(execution, "uses_fast_path", counted)
    run(shop(replications=7), jobs=1)
    assert decided == ["shop"]  # not once per replication


def test_an_engine_that_cannot_run_a_study_is_refused_before_any_work():
    queue = shop(
        steps=[
            {"name": "desk", "capacity": 1, "duration": 1},
            {"name": "back", "next": [{"to": "desk", "p": 0.1}, {"to": "done", "p": 0.9}]},
            {"name": "done"},
        ]
    )  # a loop: the fast path cannot run it
    calls = []
    with pytest.raises(SimulationError, match="--engine fast cannot run 'shop'"):
        run(queue, engine="fast", progress=lambda d, t: calls.append(d))
    assert calls == []


def test_a_study_names_the_point_the_fast_engine_cannot_run():
    """A sweep point (or a sensitivity move) that the fast path cannot run is named in
    the refusal, before any work: the base scenario runs there, the point does not."""
    queue = shop(steps=[{"name": "desk", "capacity": 1, "duration": 1, "wait_irritation": 1}])
    params = [("steps.desk.duration", ["1", "0"])]
    with pytest.raises(SimulationError) as caught:
        sweep(queue, params, replications=1, engine="fast", jobs=1)
    assert "cannot run 'shop' at steps.desk.duration=0: steps.desk has capacity and takes no" \
        in str(caught.value)  # fmt: skip
    assert sweep(queue, [("steps.desk.duration", ["1", "2"])], replications=1, engine="fast",
                 jobs=1).points  # fmt: skip


@pytest.mark.parametrize("kind", list(studies(shop())))
def test_every_study_refuses_work_beyond_the_limits_unless_forced(kind, monkeypatch):
    monkeypatch.setattr(execution, "MAX_CUSTOMERS", 10)  # a few hundred visitors is too many

    def no_work(*args, **kwargs):
        raise AssertionError("a refused study must not simulate")

    monkeypatch.setattr(Execution, "map", no_work)
    with pytest.raises(RunTooLargeError, match="add --force"):
        studies(shop())[kind]()


def test_sensitivity_keeps_every_run_as_a_frame():
    pytest.importorskip("pandas")
    result = sensitivity(shop(), metric="revenue")
    frame = result.to_frame()
    params = {p["parameter"] for p in result.document["parameters"]}
    assert set(frame["parameter"]) == {"", *params}
    assert len(frame) == (1 + 2 * len(params)) * 3
    base = frame[frame["move"] == "base"]["revenue"]
    assert base.mean() == pytest.approx(result.document["base"]["mean"])
    for row in result.document["parameters"]:
        moved = frame[frame["parameter"] == row["parameter"]]
        low = moved[moved["move"] == "low"]
        assert (low["value"] == row["low"]).all()
        assert low["revenue"].mean() == pytest.approx(row["low_mean"])


def test_write_study_writes_every_kind_where_it_goes(tmp_path):
    for kind, study in studies(shop()).items():
        result = study(jobs=1)
        folder = results.write_study(result, tmp_path / kind, "shop.yaml", charts=False)
        marker = json.loads((folder / "run.json").read_text())
        assert marker.get("kind", "run") == kind
    with pytest.raises(TypeError, match="not a study result"):
        results.write_study(object(), tmp_path / "x")


def test_the_api_lists_the_protocol():
    for name in ("Execution", "write_study", "calibrate", "Sensitivity", "load_funnel"):
        assert name in dir(frictionsim)
        assert getattr(frictionsim, name) is not None
