"""Fast path vs SimPy engine: customers per second, the ratio, and peak memory.

What is measured
----------------
The realistic 7-step checkout of ``bench_engine.py`` (case ``checkout7``: two
segments, lognormal durations, fields, exits, one branch, payment errors with
retries, no capacity), simulated for about N customers by

``fast``   :func:`frictionsim.sim.fastpath.simulate` (vectorized numpy), and
``simpy``  :func:`frictionsim.sim.simpy_engine.simulate` (one SimPy process per customer),

each measurement in a fresh child process (``bench_fastpath.py --one ENGINE N``)
that times only the simulation call and reports its peak resident memory
(``ru_maxrss``) and the memory before the call, as ``bench_engine.py`` does.
For every N where both engines run, the parent also checks that the two
``RunResult`` s are identical (same seed), and reports the ratio of their
customers/s measured in the same run, seconds apart.

The fast path keeps a few arrays per customer (its memory grows linearly with
N, about 100-150 bytes per customer); the SimPy engine's memory is bounded by
the customers in the system at once. ``sim MB`` per million customers shows it.

Usage::

    python benchmarks/bench_fastpath.py                  # fast 1e4..1e6, SimPy 1e4..1e5
    python benchmarks/bench_fastpath.py --simpy-max 1e6  # SimPy at 1e6 too (~10-20 s)
    python benchmarks/bench_fastpath.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_engine import (  # noqa: E402  (the sibling benchmark; imports nothing heavy)
    CHECKOUT_RATE,
    CHECKOUT_YAML,
    SEED,
    machine_info,
    parse_sizes,
    peak_rss_mb,
)


def measure_one(engine: str, n: int) -> dict:
    """Run one engine once in this (fresh) process."""
    import numpy as np

    from frictionsim.scenario import parse_scenario
    from frictionsim.sim import fastpath, simpy_engine

    scenario = parse_scenario(
        CHECKOUT_YAML.format(horizon=n / CHECKOUT_RATE, rate=CHECKOUT_RATE), "bench.yaml"
    )
    simulate = fastpath.simulate if engine == "fast" else simpy_engine.simulate
    base = peak_rss_mb()
    wall0 = time.perf_counter()
    result = simulate(scenario, np.random.SeedSequence(SEED))
    wall = time.perf_counter() - wall0
    fingerprint = [
        result.visitors,
        result.orders,
        result.abandoned_friction,
        result.abandoned_exit,
        repr(result.revenue),
        repr(result.lost_revenue_friction),
        repr(result.checkout_time_total),
        repr(result.end_time),
        result.step_entered.tolist(),
        result.step_failed_attempts.tolist(),
        [repr(x) for x in result.segment_revenue],
    ]
    return {
        "engine": engine,
        "n": n,
        "customers": result.visitors,
        "seconds": wall,
        "peak_rss_mb": peak_rss_mb(),
        "base_rss_mb": base,
        "fingerprint": fingerprint,
    }


def run_child(engine: str, n: int) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--one", engine, str(n)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"benchmark child failed: {' '.join(cmd)}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=parse_sizes, default=[10**4, 10**5, 10**6])
    parser.add_argument("--simpy-max", type=float, default=1e5, help="largest N for SimPy")
    parser.add_argument("--json", type=Path, metavar="PATH")
    parser.add_argument("--one", nargs=2, metavar=("ENGINE", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure_one(args.one[0], int(args.one[1]))))
        return 0
    rows = []
    print(f"{'engine':6} {'N':>9} {'customers':>10} {'s':>7} {'cust/s':>11} {'sim MB':>7}")
    for n in args.sizes:
        engines = ["fast", "simpy"] if n <= args.simpy_max else ["fast"]
        found = {}
        for engine in engines:
            m = run_child(engine, n)
            found[engine] = m
            m["per_second"] = m["customers"] / m["seconds"]
            m["sim_mb"] = m["peak_rss_mb"] - m["base_rss_mb"]
            rows.append(m)
            print(
                f"{engine:6} {n:>9,} {m['customers']:>10,} {m['seconds']:>7.2f} "
                f"{m['per_second']:>11,.0f} {m['sim_mb']:>7.1f}"
            )
        if len(found) == 2:
            same = found["fast"]["fingerprint"] == found["simpy"]["fingerprint"]
            ratio = found["fast"]["per_second"] / found["simpy"]["per_second"]
            print(f"{'':6} {n:>9,} fast/simpy = {ratio:.1f}x, identical results: {same}")
            if not same:
                print("RESULTS DIFFER", file=sys.stderr)
                return 1
    if args.json:
        for m in rows:
            m.pop("fingerprint")
        args.json.write_text(json.dumps({"machine": machine_info(), "results": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
