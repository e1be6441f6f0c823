"""Long horizons: the journeys beyond the checkout, customers per second and memory.

What is measured
----------------
One replication of each bundled journey scenario on the SimPy engine, at a
horizon and at four times it, in a fresh child process each:

``bank``
    ``scenarios/bank_address_change.yaml`` (card requests, late address
    changes, a support queue on an office-hours schedule): 28 and 112 days.
``base``
    ``scenarios/customer_base.yaml`` (20,000 customers buying monthly, churn
    that follows their memory, new buyers joining): 45 and 180 days (six
    months).
``mmc-simpy``
    the reference of ``bench_engine.py``: a minimal hand-written SimPy
    M/M/10+M queue, with as many customers as the longest ``bank`` run.

"customers" counts every walk through a flow: checkout visitors (organic,
returning) and service contacts. Seconds are of the simulation call only; peak
memory is the child's ``ru_maxrss`` (and ``VmHWM``), ``sim MB`` the growth
during the simulation. Memory must not grow with the horizon beyond what the
scenario holds by design (a customer base's members: a few numbers each): the
``x4 horizon`` column of ``sim MB`` should be ≈ 1.

Usage::

    python benchmarks/bench_journeys.py            # the table
    python benchmarks/bench_journeys.py --json out.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench_engine import Measurement, peak_rss_mb, prepare_mmc_simpy, vm_hwm_mb

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = {
    "bank": ROOT / "scenarios" / "bank_address_change.yaml",
    "base": ROOT / "scenarios" / "customer_base.yaml",
}
HORIZONS = {"bank": (28, 112), "base": (45, 180)}  # days


def measure_one(case: str, days: int) -> Measurement:
    """One replication of ``case`` with a horizon of ``days`` (or the SimPy reference
    with ``days`` customers), in this process."""
    if case == "mmc-simpy":
        run = prepare_mmc_simpy(days)
        base = peak_rss_mb()
        wall0, cpu0 = time.perf_counter(), time.process_time()
        customers, abandon = run()
    else:
        import numpy as np

        from frictionsim.scenario import load_scenario
        from frictionsim.sim.simpy_engine import simulate

        scenario = load_scenario(SCENARIOS[case], [f"horizon={days}d"])
        base = peak_rss_mb()
        wall0, cpu0 = time.perf_counter(), time.process_time()
        result = simulate(scenario, np.random.SeedSequence(1))
        contacts = result.service.visitors if result.service is not None else 0
        customers, abandon = result.visitors + contacts, None
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return Measurement(case, days, customers, wall, cpu, peak_rss_mb(), base, abandon, vm_hwm_mb())


def run_child(case: str, n: int) -> Measurement:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--one", case, str(n)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"benchmark child failed: {' '.join(cmd)} (exit {proc.returncode})")
    return Measurement(**json.loads(proc.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--one", nargs=2, metavar=("CASE", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(dataclasses.asdict(measure_one(args.one[0], int(args.one[1])))))
        return 0
    rows: list[Measurement] = []
    for case, (short, long) in HORIZONS.items():
        rows += [run_child(case, short), run_child(case, long)]
    longest_bank = rows[1].customers
    reference = run_child("mmc-simpy", longest_bank)
    print(f"{'case':<10} {'horizon':>8} {'customers':>10} {'s':>7} {'cust/s':>9} "
          f"{'peak MB':>8} {'sim MB':>7}")  # fmt: skip
    for m in [*rows, reference]:
        horizon = f"{m.n} d" if m.case != "mmc-simpy" else "-"
        print(f"{m.case:<10} {horizon:>8} {m.customers:>10,} {m.seconds:>7.2f} "
              f"{m.per_second:>9,.0f} {m.peak_rss_mb:>8.0f} {m.sim_rss_mb:>7.1f}")  # fmt: skip
    print()
    for k, case in enumerate(HORIZONS):
        short, long = rows[2 * k], rows[2 * k + 1]
        speed, memory = (
            long.per_second / short.per_second,
            long.sim_rss_mb / max(short.sim_rss_mb, 0.1),
        )
        print(f"{case}: x4 horizon: customers/s x{speed:.2f}, sim MB x{memory:.2f}; customers/s "
              f"against minimal SimPy x{long.per_second / reference.per_second:.2f}")  # fmt: skip
    if args.json:
        doc: dict[str, Any] = {"rows": [dataclasses.asdict(m) for m in [*rows, reference]]}
        args.json.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
