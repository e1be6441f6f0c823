"""What the charts cost a run: whole processes with and without them, and each chart.

What is measured
----------------
``run``
    ``frictionsim run SCENARIO`` as a fresh process, with charts and with
    ``--no-charts``, alternating (so both see the same load), ``--rounds`` times
    (after an untimed run each); the median of each and the median of the paired
    differences: what the charts add to a run, as a user waits for it. With
    ``--against DIR`` (another checkout of the project), the same for that
    checkout's code in the same rounds.
``charts``
    in this process, each chart of that run's report drawn alone (best of
    ``--rounds``), beside the reference of the same run: a minimal chart at the same
    slide size and DPI (one bar series, a title, two axis labels), the least any
    chart costs in matplotlib here.

Usage::

    python benchmarks/bench_charts.py                         # the bundled baseline
    python benchmarks/bench_charts.py --rounds 9 --against /path/to/older/checkout
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_once(scenario: Path, out: Path, charts: bool, code: Path) -> float:
    """Seconds of one whole ``frictionsim run`` process, with the package at ``code``."""
    env = dict(os.environ, PYTHONPATH=str(code))  # and run there: -m puts the cwd first
    args = [sys.executable, "-m", "frictionsim", "run", str(scenario.resolve()), "--out", str(out),
            "--force", "--quiet", *([] if charts else ["--no-charts"])]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(args, env=env, check=True, stdout=subprocess.DEVNULL, cwd=code)
    return time.perf_counter() - started


def whole_runs(scenario: Path, rounds: int, codes: dict[str, Path], out: Path) -> dict:
    seconds: dict[tuple[str, bool], list[float]] = {}
    for label, code in codes.items():  # untimed: numba's cache written, files in the OS cache
        run_once(scenario, out / label, True, code)
    for _ in range(rounds):
        for label, code in codes.items():
            for charts in (True, False):
                t = run_once(scenario, out / label, charts, code)
                seconds.setdefault((label, charts), []).append(t)
    table = {}
    for label in codes:
        with_, without = seconds[(label, True)], seconds[(label, False)]
        table[label] = {
            "with_charts_s": statistics.median(with_),
            "no_charts_s": statistics.median(without),
            "charts_add_s": statistics.median(a - b for a, b in zip(with_, without)),
        }
    return table


def minimal(fig) -> None:
    ax = fig.add_subplot()
    ax.bar(range(7), [7, 6, 5, 4, 3, 2, 1])
    ax.set_title("A title")
    ax.set_xlabel("step")
    ax.set_ylabel("visitors")


def each_chart(folder: Path, rounds: int) -> dict[str, float]:
    sys.path.insert(0, str(ROOT))
    from frictionsim.report.common import render_png
    from frictionsim.report.run_charts import chart_plan

    summary = json.loads((folder / "summary.json").read_text())
    dists = json.loads((folder / "distributions.json").read_text())
    plan = [(name, draw) for name, _, _, draw in chart_plan(summary, dists)]
    plan.append(("(reference: a minimal chart)", minimal))
    best: dict[str, float] = {}
    for _ in range(rounds + 1):  # the first round loads the fonts
        for name, draw in plan:
            started = time.perf_counter()
            render_png(draw)
            t = time.perf_counter() - started
            best[name] = min(best.get(name, t), t)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios/checkout_baseline.yaml")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--against", type=Path, help="another checkout, measured alike")
    args = parser.parse_args()
    codes = {"this": ROOT, **({"against": args.against.resolve()} if args.against else {})}
    with tempfile.TemporaryDirectory() as tmp:
        table = whole_runs(args.scenario, args.rounds, codes, Path(tmp))
        charts = each_chart(Path(tmp) / "this", args.rounds)
    print(f"{args.scenario.name}, {args.rounds} rounds (medians, whole processes)")
    print(f"{'code':<10}{'with charts':>14}{'--no-charts':>14}{'charts add':>13}")
    for label, row in table.items():
        print(f"{label:<10}{row['with_charts_s']:>12.2f} s{row['no_charts_s']:>12.2f} s"
              f"{row['charts_add_s']:>11.2f} s")  # fmt: skip
    reference = charts.pop("(reference: a minimal chart)")
    print(f"\neach chart in one process (best of {args.rounds}), against a minimal chart")
    for name, t in charts.items():
        print(f"  {name:<22}{t:>7.3f} s  {t / reference:>5.1f}× the minimal chart")
    print(f"  {'all together':<22}{sum(charts.values()):>7.3f} s")
    print(f"  {'minimal chart':<22}{reference:>7.3f} s")


if __name__ == "__main__":
    main()
