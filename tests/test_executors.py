"""One executor abstraction: local processes and a Dask cluster give the same results."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from frictionsim import execution
from frictionsim.errors import OptionError, SimulationError
from frictionsim.execution import (
    DaskExecutor,
    LocalExecutor,
    Task,
    make_executor,
    replication_seeds,
)
from frictionsim.studies import run

from .conftest import make_scenario
from .test_fastpath import SCENARIOS, assert_same


def tasks():
    fast = make_scenario(**SCENARIOS["branches-errors-exits"])
    queue = make_scenario(
        steps=[{"name": "desk", "capacity": 1, "wait_irritation": 1, "duration": 1}]
    )
    seeds = replication_seeds(3, 3)
    return [Task(fast, s) for s in seeds] + [Task(queue, s) for s in seeds]


def test_local_pool_equals_serial_and_reports_every_result(monkeypatch):
    monkeypatch.setattr(execution, "SERIAL_BELOW_CUSTOMERS", 0)  # really use the pool
    seen, progress = [], []
    pooled = LocalExecutor(2).map(
        tasks(),
        progress=lambda d, t: progress.append((d, t)),
        on_result=lambda k, r: seen.append(k),
    )
    serial = LocalExecutor(1).map(tasks())
    for a, b in zip(pooled, serial):
        assert_same(a, b)
    assert sorted(seen) == list(range(6))
    assert progress[-1] == (6, 6)


def test_one_pool_serves_every_batch_of_a_command_until_closed(monkeypatch):
    monkeypatch.setattr(execution, "SERIAL_BELOW_CUSTOMERS", 0)
    serial = LocalExecutor(1).map(tasks())
    with LocalExecutor(2) as executor:
        first = executor.map(tasks())
        second = executor.map(tasks())
        monkeypatch.setattr(execution, "run_task", worker_pid)
        pids = [set(executor.map(tasks())) for _ in range(3)]
        assert executor.pools_started == 1
    assert executor._pool is None  # closed on leaving the block
    assert os.getpid() not in pids[0]  # the work ran in worker processes...
    assert len(pids[0] | pids[1] | pids[2]) <= 2  # ...the same two, every time
    for a, b, c in zip(first, second, serial):
        assert_same(a, b)
        assert_same(a, c)


def worker_pid(task: Task) -> int:
    """A task's "result": the process that ran it (importable, so a worker can run it)."""
    time.sleep(0.05)  # long enough that both workers take tasks
    return os.getpid()


def test_a_calibration_starts_one_pool_for_all_its_evaluations(monkeypatch):
    from frictionsim.funnel_data import parse_funnel
    from frictionsim.studies import calibrate

    monkeypatch.setattr(execution, "SERIAL_BELOW_CUSTOMERS", 0)
    started = []
    real = LocalExecutor._workers

    def counted(self):
        if self._pool is None:
            started.append(1)
        return real(self)

    monkeypatch.setattr(LocalExecutor, "_workers", counted)
    scenario = make_scenario(horizon=300, steps=[{"name": "a", "exit": 0.3}, {"name": "b"}])
    funnel = parse_funnel("step,entered,completed\na,600,400\nb,400,400\n", "f.csv", scenario)
    result = calibrate(scenario, funnel, "exit:a", seed=1, max_evaluations=12, jobs=2)
    assert result.evaluations > 3
    assert started == [1]


def test_scheduler_from_environment(monkeypatch):
    monkeypatch.setenv("FRICTIONSIM_SCHEDULER", "tcp://example:8786")
    assert isinstance(make_executor(2), DaskExecutor)
    monkeypatch.delenv("FRICTIONSIM_SCHEDULER")
    assert isinstance(make_executor(2), LocalExecutor)


@pytest.mark.parametrize(
    "address",
    [
        "file:///etc/passwd",
        "http://h:80",
        "tcp://h",
        "tcp://h:0",
        "tcp://h:99999",
        "h",
        "",
        "a b:1",
    ],
)
def test_a_scheduler_address_that_is_not_one_is_refused_before_connecting(address):
    with pytest.raises(OptionError, match="expected a Dask scheduler address like tcp://HOST"):
        make_executor(2, address or " ")


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:8786", "localhost:8786", "tls://[::1]:1"])
def test_scheduler_addresses_dask_accepts_pass(address):
    assert isinstance(make_executor(2, address), DaskExecutor)


def test_unreachable_scheduler_is_a_clean_error():
    pytest.importorskip("distributed")
    with pytest.raises(SimulationError, match="cannot reach the Dask scheduler"):
        DaskExecutor("tcp://127.0.0.1:9", timeout=1).map(tasks()[:1])


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None
    ) as local:
        yield local.scheduler_address


def test_dask_cluster_gives_the_local_results(cluster):
    work = tasks()
    remote = DaskExecutor(cluster).map(work)
    local = LocalExecutor(1).map(work)
    for a, b in zip(remote, local):
        assert_same(a, b)


def test_run_on_dask_gives_the_same_summary(cluster):
    scenario = make_scenario(**SCENARIOS["branches-errors-exits"])
    remote = run(scenario, seed=9, replications=3, scheduler=cluster)
    local = run(scenario, seed=9, replications=3, jobs=1)
    assert remote.summary == local.summary
    assert np.isfinite(remote.summary["metrics"]["conversion_rate"]["mean"])


def test_cli_engine_and_scheduler_errors_are_clean_lines(tmp_cwd, monkeypatch):
    import yaml
    from click.testing import CliRunner

    from frictionsim.cli import cli

    from .conftest import scenario_dict

    path = tmp_cwd / "queue.yaml"
    steps = [
        {"name": "desk", "capacity": 1, "duration": 1},
        {"name": "back", "next": [{"to": "desk", "p": 0.1}, {"to": "done", "p": 0.9}]},
        {"name": "done"},
    ]
    path.write_text(yaml.safe_dump(scenario_dict(steps=steps), sort_keys=False))
    result = CliRunner().invoke(cli, ["run", str(path), "--engine", "fast"])
    assert result.exit_code == 1
    assert result.output.strip() == "error: --engine fast cannot run 'micro': the flow has a loop"
    fine = CliRunner().invoke(cli, ["run", str(path), "--engine", "simpy", "-q", "--no-charts"])
    assert fine.exit_code == 0, fine.output
    pytest.importorskip("distributed")
    monkeypatch.setattr(execution, "DASK_CONNECT_TIMEOUT", 1.0)
    result = CliRunner().invoke(
        cli, ["run", str(path), "--out", "x"], env={"FRICTIONSIM_SCHEDULER": "tcp://127.0.0.1:9"}
    )
    assert result.exit_code == 1
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_cwd / "x").exists()


_PREPARED: list[int] = []


def prepare_here() -> None:
    """A held call's preparation (in a worker): remember which process prepared."""
    _PREPARED.append(os.getpid())


def finish_here(a: int, b: int) -> tuple[int, list[int], int]:
    """A held call's finish: the process it runs in, who prepared there, and a result."""
    return os.getpid(), list(_PREPARED), a * b


def test_a_held_call_is_finished_by_the_worker_that_prepared_it():
    with LocalExecutor(2) as executor:
        assert executor.hold(prepare_here, finish_here)
        assert executor.holding
        assert not executor.hold(prepare_here, finish_here)  # one at a time
        pid, prepared, product = executor.deliver(6, 7)
        assert not executor.holding
        with pytest.raises(RuntimeError, match="no call is held"):
            executor.deliver(1, 2)
    assert product == 42
    assert pid != os.getpid()
    assert prepared == [pid]


def test_no_worker_holds_without_workers_and_closing_a_hold_ends_it():
    assert not LocalExecutor(1).hold(prepare_here, finish_here)
    executor = LocalExecutor(2)
    assert executor.hold(prepare_here, finish_here)
    started = time.monotonic()
    executor.close()  # the held worker is let go: no wait for a delivery that never comes
    assert executor._pool is None
    assert not executor.holding
    assert time.monotonic() - started < 30


def test_replications_that_need_every_worker_release_the_hold(monkeypatch):
    monkeypatch.setattr(execution, "SERIAL_BELOW_CUSTOMERS", 0)
    serial = LocalExecutor(1).map(tasks())
    with LocalExecutor(2) as executor:
        assert executor.hold(prepare_here, finish_here)
        pooled = executor.map(tasks())  # both workers simulate: not one of them waiting
        assert not executor.holding
        monkeypatch.setattr(execution, "run_task", worker_pid)
        pids = set(executor.map(tasks()))
        assert executor.pools_started == 1
    assert len(pids) == 2
    for a, b in zip(pooled, serial):
        assert_same(a, b)


def signal_handlers() -> tuple:
    """In a worker: what SIGINT and SIGTERM do there."""
    import signal

    return signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)


def test_workers_leave_ctrl_c_to_the_pool_owner_and_die_quietly_on_sigterm():
    """A Ctrl-C reaches every process of the terminal's group: the workers ignore it (the
    owner stops them), and a SIGTERM ends a worker at once instead of running the
    owner's handler it inherited, so the user sees one line, not a traceback per worker."""
    import signal

    with LocalExecutor(2) as executor:
        got = executor.call_each(signal_handlers, [(), ()])
    assert got == [(signal.SIG_IGN, signal.SIG_DFL)] * 2


def sleep_long() -> None:
    time.sleep(120)


def test_leaving_an_execution_by_an_error_stops_its_workers_at_once():
    """An error (or an interrupt) ends the work: the workers are stopped, not waited for
    (here one still preparing a held call that would take two minutes)."""

    def work() -> None:
        with execution.Execution(jobs=2) as ex:
            assert ex.hold(sleep_long, finish_here)
            raise ValueError("stop")

    started = time.monotonic()
    with pytest.raises(ValueError, match="stop"):
        work()
    assert time.monotonic() - started < 60
