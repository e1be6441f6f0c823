"""Event logs: CSV columns for process mining, IEEE 1849 XES structure, bounded memory."""

from __future__ import annotations

import collections
import copy
import csv
import datetime as dt
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from scipy import stats

from frictionsim import execution
from frictionsim.cli import cli
from frictionsim.eventlog import CSV_COLUMNS, PartWriter
from frictionsim.sim.simpy_engine import simulate

from .conftest import make_scenario, scenario_dict

XES = "{http://www.xes-standard.org/}"

SHOP = scenario_dict(
    name="shop",
    replications=2,
    horizon=240,
    start="2026-03-02T00:00:00Z",
    arrivals={"rate": 1},
    segments=[
        {
            "name": "all",
            "share": 1,
            "order_value": 30,
            "tolerance": {"dist": "exponential", "mean": 6},
        }
    ],
    steps=[
        {"name": "cart", "exit": 0.2, "duration": {"dist": "exponential", "mean": 1}},
        {"name": "form", "fields": 4, "errors": {"p": 0.3, "irritation": 1}, "duration": 1},
        {
            "name": "pay",
            "capacity": 1,
            "wait_irritation": 1,
            "duration": {"dist": "exponential", "mean": 1.2},
            "defect": {"p": 0.1, "irritation": 2, "delay": "1h"},
        },
    ],
    repeat={"delay": 30},
)


def run_with_log(tmp_path, fmt, *extra):
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "shop.yaml"
    path.write_text(yaml.safe_dump(SHOP, sort_keys=False))
    out = tmp_path / f"out-{fmt}"
    result = CliRunner().invoke(
        cli, ["run", str(path), "--out", str(out), "--event-log", fmt, "--quiet", *extra]
    )
    assert result.exit_code == 0, result.output
    return out


def test_csv_event_log_tells_every_visit_completely(tmp_path):
    out = run_with_log(tmp_path, "csv")
    with open(out / "events.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == CSV_COLUMNS
    cases = collections.defaultdict(list)
    for row in rows:
        cases[row["case:concept:name"]].append(row)
    start = dt.datetime(2026, 3, 2, tzinfo=dt.timezone.utc)
    counts = collections.Counter()
    for events in cases.values():
        # one visit: an arrival first, exactly one outcome, time never goes back
        assert events[0]["concept:name"].endswith("arrival")
        outcomes = [e for e in events if e["concept:name"] in ("order", "abandoned", "left")]
        assert len(outcomes) == 1
        times = [dt.datetime.fromisoformat(e["time:timestamp"]) for e in events]
        assert times == sorted(times)
        assert times[0] >= start
        # the timestamp is the start plus the simulated minutes
        minute = float(events[-1]["minute"])
        assert abs((times[-1] - start).total_seconds() - 60 * minute) < 0.001
        for e in events:
            counts[(e["replication"], e["concept:name"], e["lifecycle:transition"])] += 1
    # the log agrees with the counters of funnel.csv, replication by replication
    with open(out / "funnel.csv", newline="") as f:
        funnel = {(r["replication"], r["step"]): r for r in csv.DictReader(f)}
    for rep in ("0", "1"):
        for step in ("cart", "form", "pay"):
            row = funnel[(rep, step)]
            assert counts[(rep, step, "start")] == int(row["entered"])
            assert counts[(rep, step, "complete")] == int(row["completed"])
        assert counts[(rep, "form error", "complete")] == int(
            funnel[(rep, "form")]["failed_attempts"]
        )
        assert counts[(rep, "pay queue", "withdraw")] == int(funnel[(rep, "pay")]["reneged"])
        assert counts[(rep, "pay queue", "start")] == int(funnel[(rep, "pay")]["waited"])
    assert sum(v for (_, a, _), v in counts.items() if a == "return arrival") > 0
    assert sum(v for (_, a, _), v in counts.items() if a == "defect") > 0


def test_xes_event_log_follows_ieee_1849(tmp_path):
    out = run_with_log(tmp_path, "xes")
    root = ET.parse(out / "events.xes").getroot()
    assert root.tag == f"{XES}log"
    assert root.get("xes.version") == "1849-2016"
    extensions = {e.get("prefix"): e.get("uri") for e in root.findall(f"{XES}extension")}
    assert extensions == {
        "concept": "http://www.xes-standard.org/concept.xesext",
        "time": "http://www.xes-standard.org/time.xesext",
        "lifecycle": "http://www.xes-standard.org/lifecycle.xesext",
    }
    traces = root.findall(f"{XES}trace")
    names = [t.find(f"{XES}string[@key='concept:name']").get("value") for t in traces]
    assert len(names) == len(set(names)) > 50  # one trace per visit
    for trace in traces:
        events = trace.findall(f"{XES}event")
        assert events
        stamps = []
        for event in events:
            keys = {a.get("key"): (a.tag, a.get("value")) for a in event}
            assert keys["concept:name"][0] == f"{XES}string"
            assert keys["lifecycle:transition"][1] in ("start", "complete", "withdraw")
            assert keys["time:timestamp"][0] == f"{XES}date"
            stamps.append(dt.datetime.fromisoformat(keys["time:timestamp"][1]))
        assert stamps == sorted(stamps)
    summary = yaml.safe_load((out / "summary.json").read_text())
    assert len(traces) == 2 * summary["metrics"]["visitors"]["mean"]


def test_xes_reads_in_pm4py_when_installed(tmp_path):
    pm4py = pytest.importorskip("pm4py")
    out = run_with_log(tmp_path, "xes")
    log = pm4py.read_xes(str(out / "events.xes"))
    assert {"case:concept:name", "concept:name", "time:timestamp"} <= set(log.columns)
    traces = ET.parse(out / "events.xes").getroot().findall(f"{XES}trace")
    assert log["case:concept:name"].nunique() == len(traces)
    assert len(log) == sum(len(t.findall(f"{XES}event")) for t in traces)


def test_event_log_bytes_do_not_depend_on_jobs(tmp_path, monkeypatch):
    monkeypatch.setattr(execution, "SERIAL_BELOW_CUSTOMERS", 0)
    one = run_with_log(tmp_path / "a", "csv", "--jobs", "1")
    two = run_with_log(tmp_path / "b", "csv", "--jobs", "2")
    assert (one / "events.csv").read_bytes() == (two / "events.csv").read_bytes()


def test_the_writer_holds_only_visits_in_progress(tmp_path):
    scenario = make_scenario(
        horizon=20_000,
        arrivals={"rate": 1},
        steps=[{"name": "a", "duration": {"dist": "exponential", "mean": 2}}, {"name": "b"}],
    )
    writer = PartWriter(tmp_path / "part.tsv", 0, ["all"])
    result = simulate(scenario, np.random.SeedSequence(1), events=writer)
    writer.close()
    assert result.visitors > 19_000
    # customers in the shop at once: Poisson with mean 2 (rate 1 x 2 minutes), seen by
    # every arrival (PASTA), plus the arriving one; a 1e-4 bound over all arrivals
    assert 1 <= writer.most_open <= stats.poisson.isf(1e-4 / result.visitors, 2) + 1
    assert not writer.visits
    lines = (tmp_path / "part.tsv").read_text().count("\n")
    assert lines == result.visitors * 6  # arrival, a start/complete, b start/complete, order


def test_the_customer_column_links_a_person_s_visits(tmp_path):
    """A returning visit's customer is the case of that person's first visit (also
    after several returns); every other visit is its own customer's."""
    shop = {**SHOP, "repeat": {"delay": 20, "promoters": 0.9, "passives": 0.9,
                               "detractors": 0.9, "abandoners": 0.9}}  # fmt: skip
    path = tmp_path / "shop.yaml"
    path.write_text(yaml.safe_dump(shop, sort_keys=False))
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["run", str(path), "-o", str(out), "--event-log", "csv",
                                      "-q", "--no-charts", "-r", "1"])  # fmt: skip
    assert result.exit_code == 0, result.output
    with open(out / "events.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[-1] == "customer"
    first_seen: dict[str, float] = {}
    customer_of: dict[str, str] = {}
    for row in rows:
        case = row["case:concept:name"]
        first_seen.setdefault(case, float(row["minute"]))
        assert customer_of.setdefault(case, row["customer"]) == row["customer"]  # one per case
    returning = [c for c in customer_of if c.startswith("r0-b")]
    assert len(returning) > 20
    for case, person in customer_of.items():
        if case in returning:
            assert not person.startswith("r0-b")  # the first visit, not another return
            assert first_seen[person] < first_seen[case]
        else:
            assert person == case
    visits = collections.Counter(customer_of.values())
    assert max(visits.values()) >= 3  # people who came back more than once are one customer


def test_the_csv_log_of_defects_returns_and_queues_reads_back_in_animate(tmp_path):
    from frictionsim.report.animation import occupancy

    out = run_with_log(tmp_path, "csv", "-r", "2")
    text = (out / "events.csv").read_text()
    assert ",defect," in text
    assert ",return arrival," in text
    assert " queue," in text
    for rep in (0, 1):
        occ = occupancy(out / "events.csv", ["cart", "form", "pay"], frames=10, replication=rep)
        assert occ.outcomes[-1].sum() > 0


@pytest.mark.parametrize("name", ["pay,now", 'pay"now', "pay\nnow", "pay now", ""])
@pytest.mark.parametrize("where", ["step", "segment"])
def test_names_the_csv_writes_unquoted_cannot_need_quoting(tmp_path, name, where):
    """The CSV writer joins fields with commas, unquoted: the scenario's names (steps,
    segments) must never hold a comma, a quote, a newline (or a space: `STEP queue`)."""
    from frictionsim.errors import ScenarioError
    from frictionsim.scenario import load_scenario

    shop = copy.deepcopy(SHOP)
    if where == "step":
        shop["steps"][0]["name"] = name
    else:
        shop["segments"][0]["name"] = name
    path = tmp_path / "shop.yaml"
    path.write_text(yaml.safe_dump(shop, sort_keys=False))
    with pytest.raises(ScenarioError) as refused:
        load_scenario(path)
    assert any(".name" in str(problem) for problem in refused.value.problems)


def test_the_fast_engine_refuses_an_event_log_before_writing_anything(tmp_path):
    """The fast path keeps no events of each customer: ``--engine fast --event-log`` is
    refused in one line (not run on SimPy behind the user's back), no folder made."""
    path = tmp_path / "shop.yaml"
    path.write_text(yaml.safe_dump(SHOP, sort_keys=False))
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli, ["run", str(path), "-o", str(out), "--event-log", "csv", "--engine", "fast"]
    )
    assert result.exit_code == 2, result.output
    assert "--event-log: the fast path keeps no events" in result.output
    assert result.output.count("\n") == 1
    assert "Traceback" not in result.output
    assert not out.exists()


def test_the_library_refuses_an_event_log_on_the_fast_engine(tmp_path):
    from frictionsim.errors import SimulationError
    from frictionsim.studies import run

    with pytest.raises(SimulationError, match="fast path keeps no events"):
        run(make_scenario(replications=1), engine="fast", event_dir=tmp_path, jobs=1)
    assert list(tmp_path.iterdir()) == []
