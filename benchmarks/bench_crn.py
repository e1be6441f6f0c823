"""How much common random numbers narrow the confidence intervals of a comparison.

Runs ``frictionsim compare`` on two designs twice, through the Python API:

``paired``       common random numbers: replication k of both designs uses the
                 same seed, differences are paired (Student t on the
                 per-replication differences);
``independent``  each design its own seeds (``--independent``), Welch's interval
                 for the difference of the means.

For every headline metric it prints the half-width of both 95 % intervals and
their ratio (independent / paired: how many times narrower pairing makes the
interval; the square of it is how many more replications independent seeds
would need for the same precision).

Usage (the defaults are the bundled designs, 20 replications, seed 42)::

    python benchmarks/bench_crn.py
    python benchmarks/bench_crn.py A.yaml B.yaml --replications 40 --json out.json

The same figures from the command line::

    frictionsim compare scenarios/checkout_baseline.yaml scenarios/checkout_streamlined.yaml
    frictionsim compare scenarios/checkout_baseline.yaml scenarios/checkout_streamlined.yaml \\
        --independent --out results/compare-independent
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def half_width(ci: list[float] | None) -> float:
    return (ci[1] - ci[0]) / 2 if ci else float("nan")


def main(argv: list[str] | None = None) -> int:
    from frictionsim.metrics import HEADLINE
    from frictionsim.scenario import load_scenario
    from frictionsim.studies import compare

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "files",
        nargs="*",
        default=[
            ROOT / "scenarios" / "checkout_baseline.yaml",
            ROOT / "scenarios" / "checkout_streamlined.yaml",
        ],
    )
    parser.add_argument("--replications", "-r", type=int, default=None)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    designs = [load_scenario(f) for f in args.files]
    other = designs[1].name
    paired = compare(designs, args.seed, args.replications)
    independent = compare(designs, args.seed, args.replications, common_random_numbers=False)
    print(
        f"{designs[0].name} vs {other}: {paired.replications} replications, seed {paired.seed}; "
        f"runtime {paired.runtime_seconds:.1f} s paired, "
        f"{independent.runtime_seconds:.1f} s independent"
    )
    print(f"{'metric':24} {'difference':>14} {'± paired':>12} {'± indep.':>12} {'ratio':>7}")
    rows = []
    for metric in HEADLINE:
        p = paired.document["differences"][other][metric]
        q = independent.document["differences"][other][metric]
        hp, hq = half_width(p["ci95"]), half_width(q["ci95"])
        ratio = hq / hp if hp > 0 else float("inf")
        rows.append(
            {
                "metric": metric,
                "paired_difference": p["mean"],
                "paired_half_width": hp,
                "independent_difference": q["mean"],
                "independent_half_width": hq,
                "ratio": ratio,
            }
        )
        print(f"{metric:24} {p['mean']:>14.6g} {hp:>12.4g} {hq:>12.4g} {ratio:>7.1f}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
