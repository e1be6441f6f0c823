"""Engine throughput and memory: customers simulated per second, peak RSS.

What is measured
----------------
Three cases, each for N = 10^4, 10^5 and 10^6 customers (about N: arrivals are
Poisson over a horizon of ``N / rate`` minutes, and the actual count is used):

``mmc-frictionsim``
    frictionsim on an M/M/c+M (Erlang-A) queue: λ = 9/min, c = 10, service
    exponential with mean 1 min, tolerance exponential with mean 2 min and
    ``wait_irritation: 1`` (so patience is exponential with mean 2 min,
    θ = 0.5/min), no other irritation. One step with ``capacity: 10``.
``mmc-simpy``
    The same queue as a minimal hand-written SimPy model (one ``Resource``,
    one generator per customer doing ``yield req | env.timeout(patience)``,
    Python ``random`` draws). This is the reference: what plain SimPy costs
    for the same queue on the same machine, in the same run.
``checkout7-frictionsim``
    frictionsim on a realistic 7-step checkout without capacity: lognormal
    durations, entry irritation and form fields, small non-friction exits, one
    branch (sign in or guest), and a payment step with errors and retries.
``checkout7-wom``
    the same checkout with word of mouth and repeat visits at their defaults
    (short delays): referral and returning visitors run through the flow too.

Each measurement runs in its own fresh child process
(``bench_engine.py --one CASE N``). The child imports what it needs and
builds the scenario, then times only the simulation call (wall clock,
``time.perf_counter``; CPU time is recorded too), and reports
``ru_maxrss`` of itself: the peak resident memory of a process that did
nothing but that one run. ``base MB`` is the peak just before the
simulation starts (interpreter, imports, scenario), so ``sim MB`` = peak −
base is what the simulation itself added.

Linux carries ``ru_maxrss`` across fork/exec: a child's value is at least the
parent's resident size when it was started. The parent therefore imports
nothing heavy (no numpy, no frictionsim) until every child has finished, and
each child also reads its own high-water mark ``VmHWM`` (reset at exec) from
``/proc/self/status``; a warning is printed if the two disagree.

How to read it
--------------
The machines this project runs on have 2 cores and are noisy (other jobs share
them), so absolute seconds move by tens of percent from one run to the next.
Compare *ratios measured in one run*: the cases are interleaved per N so that
mmc-frictionsim and mmc-simpy are measured seconds apart, and

* ``frictionsim / simpy`` (customers/s, per N) is the engine's overhead (or
  gain) over hand-written SimPy for the same queue;
* the growth from the smallest to the largest N should be ≈ 1 for customers/s
  (the cost of a customer does not depend on how many came before) and ≈ 1 for
  ``sim MB`` (memory is bounded by the customers in the system at once, not by
  the total). A ``sim MB`` that grows roughly in proportion to N is a leak.

The M/M/c+M cases also report their abandonment rate next to the exact
Erlang-A value (:func:`frictionsim.theory.erlang_a`), to show that both model
the same queue.

Usage::

    python benchmarks/bench_engine.py                 # 1e4, 1e5, 1e6 (a few minutes)
    python benchmarks/bench_engine.py --quick         # 1e4, 1e5
    python benchmarks/bench_engine.py --sizes 2e5 --json bench.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

# The M/M/c+M queue of cases mmc-*: rates per minute.
LAMBDA = 9.0
SERVERS = 10
MU = 1.0  # service rate (mean service 1 min)
THETA = 0.5  # abandonment rate (mean patience 2 min)
SEED = 1

MMC_YAML = """\
name: bench-mmc
horizon: {horizon!r}
arrivals: {{rate: {rate!r}}}
segments:
  - name: all
    share: 1
    tolerance: {{dist: exponential, mean: {patience!r}}}
    order_value: 1
steps:
  - name: desk
    capacity: {servers}
    wait_irritation: 1
    duration: {{dist: exponential, mean: {service!r}}}
"""

CHECKOUT_RATE = 20.0  # arrivals per minute
CHECKOUT_YAML = """\
name: bench-checkout7
horizon: {horizon!r}
arrivals: {{rate: {rate!r}}}
friction: {{per_field: 0.4}}
segments:
  - name: new
    share: 0.6
    tolerance: {{dist: lognormal, mean: 9, sd: 5}}
    order_value: {{dist: lognormal, mean: 55, sd: 40}}
  - name: returning
    share: 0.4
    sensitivity: 0.7
    tolerance: {{dist: lognormal, mean: 12, sd: 6}}
    order_value: {{dist: lognormal, mean: 80, sd: 60}}
steps:
  - name: cart
    duration: {{dist: lognormal, mean: 0.8, sd: 0.6}}
    irritation: 0.5
    exit: 0.08
    next: [{{to: sign_in, p: 0.35}}, {{to: guest_details, p: 0.65}}]
  - name: sign_in
    duration: {{dist: lognormal, mean: 0.7, sd: 0.5}}
    irritation: 1.5
    fields: 2
    next: shipping
  - name: guest_details
    duration: {{dist: lognormal, mean: 1.5, sd: 0.9}}
    fields: 8
  - name: shipping
    duration: {{dist: lognormal, mean: 0.9, sd: 0.6}}
    irritation: 0.5
    fields: 3
    exit: 0.03
  - name: payment
    duration: {{dist: lognormal, mean: 1.2, sd: 0.7}}
    fields: 4
    errors: {{p: 0.08, irritation: 2.0, max_attempts: 3}}
  - name: review
    duration: {{dist: lognormal, mean: 0.5, sd: 0.4}}
    exit: 0.02
  - name: confirm
    duration: {{dist: lognormal, mean: 0.2, sd: 0.1}}
"""


@dataclass(frozen=True)
class Measurement:
    """One case at one size, as reported by its child process."""

    case: str
    n: int  # requested size
    customers: int  # customers who actually arrived
    seconds: float  # wall time of the simulation call only
    cpu_seconds: float  # CPU time of the simulation call only
    peak_rss_mb: float  # ru_maxrss of the child at the end
    base_rss_mb: float  # ru_maxrss of the child just before the simulation
    abandon_rate: float | None  # M/M/c+M cases only
    vm_hwm_mb: float | None  # VmHWM of the child at the end (Linux), to cross-check peak_rss_mb

    @property
    def per_second(self) -> float:
        return self.customers / self.seconds

    @property
    def sim_rss_mb(self) -> float:
        return self.peak_rss_mb - self.base_rss_mb


# ----------------------------------------------------------------------- cases
# Each case builds its model (untimed), then returns a callable that runs the
# simulation and returns (customers, abandonment rate or None). Imports happen
# inside, so a child only loads what its case needs.

Prepared = Callable[[], tuple[int, float | None]]


def prepare_mmc_frictionsim(n: int) -> Prepared:
    import numpy as np

    from frictionsim.scenario import parse_scenario
    from frictionsim.sim.simpy_engine import simulate

    scenario = parse_scenario(
        MMC_YAML.format(
            horizon=n / LAMBDA,
            rate=LAMBDA,
            patience=1 / THETA,
            servers=SERVERS,
            service=1 / MU,
        ),
        "bench-mmc.yaml",
    )

    def run() -> tuple[int, float | None]:
        result = simulate(scenario, np.random.SeedSequence(SEED))
        return result.visitors, result.abandoned_friction / result.visitors

    return run


def prepare_mmc_simpy(n: int) -> Prepared:
    import random
    from collections.abc import Generator

    import simpy

    def run() -> tuple[int, float | None]:
        rng = random.Random(SEED)
        env = simpy.Environment()
        desk = simpy.Resource(env, capacity=SERVERS)
        horizon = n / LAMBDA
        arrived = abandoned = 0

        def customer() -> Generator[simpy.Event, Any, None]:
            nonlocal abandoned
            patience = rng.expovariate(THETA)
            with desk.request() as req:  # leaving the block cancels or releases it
                results = yield req | env.timeout(patience)
                if req in results:
                    yield env.timeout(rng.expovariate(MU))
                else:
                    abandoned += 1

        def source() -> Generator[simpy.Event, Any, None]:
            nonlocal arrived
            while True:
                yield env.timeout(rng.expovariate(LAMBDA))
                if env.now >= horizon:
                    return
                arrived += 1
                env.process(customer())

        env.process(source())
        env.run()  # until every arrived customer has left, like frictionsim
        return arrived, abandoned / arrived

    return run


def prepare_checkout7_frictionsim(n: int) -> Prepared:
    import numpy as np

    from frictionsim.scenario import parse_scenario
    from frictionsim.sim.simpy_engine import simulate

    scenario = parse_scenario(
        CHECKOUT_YAML.format(horizon=n / CHECKOUT_RATE, rate=CHECKOUT_RATE),
        "bench-checkout7.yaml",
    )

    def run() -> tuple[int, float | None]:
        result = simulate(scenario, np.random.SeedSequence(SEED))
        return result.visitors, None

    return run


# Word of mouth and repeat visits on top of checkout7: referral and returning
# visitors are simulated too (counted in customers), deterred prospects skip
# organic arrivals. Delays are short so the loop is busy even at N = 10^4.
WOM_YAML = """\
word_of_mouth: {delay: {dist: exponential, mean: 1h}}
repeat: {delay: {dist: exponential, mean: 6h}}
"""


def prepare_checkout7_wom(n: int) -> Prepared:
    import numpy as np

    from frictionsim.scenario import parse_scenario
    from frictionsim.sim.simpy_engine import simulate

    scenario = parse_scenario(
        CHECKOUT_YAML.format(horizon=n / CHECKOUT_RATE, rate=CHECKOUT_RATE) + WOM_YAML,
        "bench-checkout7-wom.yaml",
    )

    def run() -> tuple[int, float | None]:
        result = simulate(scenario, np.random.SeedSequence(SEED))
        return result.visitors, None

    return run


def _mmc_scenario(n: int) -> Any:
    from frictionsim.scenario import parse_scenario

    return parse_scenario(
        MMC_YAML.format(
            horizon=n / LAMBDA, rate=LAMBDA, patience=1 / THETA, servers=SERVERS, service=1 / MU
        ),
        "bench-mmc.yaml",
    )


def prepare_mmc_fast(n: int) -> Prepared:
    """The M/M/10+M queue on the fast path (numba where installed), one replication."""
    import numpy as np

    from frictionsim.sim import fastpath

    scenario = _mmc_scenario(n)
    fastpath.simulate(_mmc_scenario(200), np.random.SeedSequence(SEED))  # compile, untimed

    def run() -> tuple[int, float | None]:
        result = fastpath.simulate(scenario, np.random.SeedSequence(SEED))
        return result.visitors, result.abandoned_friction / result.visitors

    return run


def prepare_mmc_ciw(n: int) -> Prepared:
    """The same queue in Ciw (``pip install ciw``; reneging since Ciw 2.3)."""
    import ciw

    def run() -> tuple[int, float | None]:
        network = ciw.create_network(
            arrival_distributions=[ciw.dists.Exponential(rate=LAMBDA)],
            service_distributions=[ciw.dists.Exponential(rate=MU)],
            number_of_servers=[SERVERS],
            reneging_time_distributions=[ciw.dists.Exponential(rate=THETA)],
        )
        ciw.seed(SEED)
        sim = ciw.Simulation(network)
        sim.simulate_until_max_time(n / LAMBDA)
        records = sim.get_all_records()
        reneged = sum(1 for r in records if r.record_type == "renege")
        return len(records), reneged / max(len(records), 1)

    return run


BASELINE = Path(__file__).resolve().parent.parent / "scenarios" / "checkout_baseline.yaml"


def _baseline(n: int) -> Any:
    """The bundled baseline checkout over a horizon in which about ``n`` customers arrive
    (90 an hour on average, its daily profile and payment queue included)."""
    from frictionsim.scenario import load_scenario

    return load_scenario(BASELINE, overrides=[f"horizon={n / 1.5!r}"])


def prepare_baseline_fast(n: int) -> Prepared:
    import numpy as np

    from frictionsim.sim import fastpath

    scenario = _baseline(n)
    fastpath.simulate(_baseline(300), np.random.SeedSequence(SEED))  # compile, untimed

    def run() -> tuple[int, float | None]:
        return fastpath.simulate(scenario, np.random.SeedSequence(SEED)).visitors, None

    return run


def _baseline_wom(n: int) -> Any:
    """:func:`_baseline` with word of mouth at its defaults but a delay of 1 to 7 days
    (uniform): a delay with a positive least value, which the fast path runs."""
    import yaml

    from frictionsim.scenario import parse_scenario

    doc = yaml.safe_load(BASELINE.read_text())
    doc["horizon"] = n / 1.5
    doc["word_of_mouth"] = {"delay": {"dist": "uniform", "low": "1d", "high": "7d"}}
    return parse_scenario(yaml.safe_dump(doc), "bench-baseline-wom.yaml")


def prepare_baseline_wom_fast(n: int) -> Prepared:
    import numpy as np

    from frictionsim.sim import fastpath

    scenario = _baseline_wom(n)
    assert fastpath.supports(scenario)
    fastpath.simulate(_baseline_wom(3000), np.random.SeedSequence(SEED))  # compile, untimed

    def run() -> tuple[int, float | None]:
        return fastpath.simulate(scenario, np.random.SeedSequence(SEED)).visitors, None

    return run


def prepare_baseline_wom_simpy(n: int) -> Prepared:
    import numpy as np

    from frictionsim.sim.simpy_engine import simulate

    scenario = _baseline_wom(n)

    def run() -> tuple[int, float | None]:
        return simulate(scenario, np.random.SeedSequence(SEED)).visitors, None

    return run


def prepare_baseline_simpy(n: int) -> Prepared:
    import numpy as np

    from frictionsim.sim.simpy_engine import simulate

    scenario = _baseline(n)

    def run() -> tuple[int, float | None]:
        return simulate(scenario, np.random.SeedSequence(SEED)).visitors, None

    return run


def prepare_checkout7_fast(n: int) -> Prepared:
    """``checkout7`` on the fast path (its numbers are the SimPy engine's)."""
    import numpy as np

    from frictionsim.scenario import parse_scenario
    from frictionsim.sim import fastpath

    def checkout7(customers: float) -> Any:
        return parse_scenario(
            CHECKOUT_YAML.format(horizon=customers / CHECKOUT_RATE, rate=CHECKOUT_RATE),
            "bench-checkout7.yaml",
        )

    scenario = checkout7(n)
    fastpath.simulate(checkout7(300), np.random.SeedSequence(SEED))  # compile, untimed

    def run() -> tuple[int, float | None]:
        return fastpath.simulate(scenario, np.random.SeedSequence(SEED)).visitors, None

    return run


def _lognormal(rng: Any, mean: float, sd: float, n: int) -> Any:
    import numpy as np

    sigma2 = np.log1p((sd / mean) ** 2)
    return rng.lognormal(np.log(mean) - sigma2 / 2, np.sqrt(sigma2), n)


def prepare_checkout7_numpy(n: int) -> Prepared:
    """``checkout7`` as a plain numpy funnel: the same draws (segment, tolerance, order
    value, a duration per attempt, exit, branch and error uniforms), cumulative
    irritation against tolerance, counts per step and revenue; no queue, no histograms,
    no remembered experience. What the fast path is measured against."""
    import numpy as np

    # step: (mean, sd of duration, entry irritation incl. fields x 0.4, exit, attempts, p)
    steps = {
        "cart": (0.8, 0.6, 0.5, 0.08, 1, 0.0),
        "sign_in": (0.7, 0.5, 1.5 + 2 * 0.4, 0.0, 1, 0.0),
        "guest_details": (1.5, 0.9, 8 * 0.4, 0.0, 1, 0.0),
        "shipping": (0.9, 0.6, 0.5 + 3 * 0.4, 0.03, 1, 0.0),
        "payment": (1.2, 0.7, 4 * 0.4, 0.0, 3, 0.08),
        "review": (0.5, 0.4, 0.0, 0.02, 1, 0.0),
        "confirm": (0.2, 0.1, 0.0, 0.0, 1, 0.0),
    }

    def run() -> tuple[int, float | None]:
        rng = np.random.default_rng(SEED)
        m = rng.poisson(n)
        now = np.cumsum(rng.exponential(1 / CHECKOUT_RATE, m))
        new = rng.random(m) < 0.6
        tol = np.where(new, _lognormal(rng, 9, 5, m), _lognormal(rng, 12, 6, m))
        value = np.where(new, _lognormal(rng, 55, 40, m), _lognormal(rng, 80, 60, m))
        sens = np.where(new, 1.0, 0.7)
        irr = np.zeros(m)
        alive = np.ones(m, dtype=bool)
        sign_in = rng.random(m) < 0.35
        entered = {}
        for name, (mean, sd, entry, exit_p, attempts, p_err) in steps.items():
            here = alive & (
                ~sign_in if name == "sign_in" else sign_in if name == "guest_details" else True
            )
            entered[name] = int(here.sum())
            irr = np.where(here, irr + entry * sens, irr)
            alive &= ~(here & (irr >= tol))
            if exit_p:
                alive &= ~(here & (rng.random(m) < exit_p))
            for a in range(attempts):
                now = np.where(here & alive, now + _lognormal(rng, mean, sd, m), now)
                if p_err:
                    fail = here & alive & (rng.random(m) < p_err)
                    irr = np.where(fail, irr + 2.0 * sens, irr)
                    alive &= ~(fail & ((irr >= tol) | (a == attempts - 1)))
        revenue = float(value[alive].sum())
        assert revenue > 0
        assert entered["cart"] == m
        return m, None

    return run


CASES: dict[str, Callable[[int], Prepared]] = {
    "mmc-frictionsim": prepare_mmc_frictionsim,
    "mmc-simpy": prepare_mmc_simpy,
    "checkout7-frictionsim": prepare_checkout7_frictionsim,
    "checkout7-wom": prepare_checkout7_wom,
    "mmc-fast": prepare_mmc_fast,
    "mmc-ciw": prepare_mmc_ciw,
    "baseline-fast": prepare_baseline_fast,
    "baseline-simpy": prepare_baseline_simpy,
    "baseline-wom-fast": prepare_baseline_wom_fast,
    "baseline-wom-simpy": prepare_baseline_wom_simpy,
    "checkout7-fast": prepare_checkout7_fast,
    "checkout7-numpy": prepare_checkout7_numpy,
}
#: Cases run without --cases (the original engine table).
DEFAULT_CASES = ["mmc-frictionsim", "mmc-simpy", "checkout7-frictionsim", "checkout7-wom"]
#: The ratios printed: (case, reference) measured at the same N in the same run.
RATIOS = [
    ("mmc-frictionsim", "mmc-simpy"),
    ("mmc-fast", "mmc-simpy"),
    ("mmc-fast", "mmc-ciw"),
    ("mmc-ciw", "mmc-simpy"),
    ("baseline-fast", "baseline-simpy"),
    ("baseline-wom-fast", "baseline-wom-simpy"),
    ("checkout7-fast", "checkout7-numpy"),
    ("checkout7-fast", "checkout7-frictionsim"),
]


# ----------------------------------------------------------------------- child


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (10^6 bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1e6 if sys.platform == "darwin" else peak * 1024 / 1e6  # bytes vs KiB


def vm_hwm_mb() -> float | None:
    """This process's own peak resident memory in MB from ``/proc`` (Linux), else None."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024 / 1e6  # kB
    except OSError:
        pass
    return None


def measure_one(case: str, n: int) -> Measurement:
    """Run one case once in this process; meant for a fresh child process."""
    run = CASES[case](n)
    base = peak_rss_mb()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    customers, abandon = run()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return Measurement(case, n, customers, wall, cpu, peak_rss_mb(), base, abandon, vm_hwm_mb())


# ---------------------------------------------------------------------- parent


def run_child(case: str, n: int) -> Measurement:
    """Measure ``case`` at size ``n`` in a fresh Python process."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--one", case, str(n)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"benchmark child failed: {' '.join(cmd)} (exit {proc.returncode})")
    return Measurement(**json.loads(proc.stdout.strip().splitlines()[-1]))


def parse_sizes(text: str) -> list[int]:
    sizes = [int(float(part)) for part in text.split(",") if part.strip()]
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected sizes like 1e4,1e5; got {text!r}")
    return sizes


def _find(results: Sequence[Measurement], case: str, n: int) -> Measurement | None:
    return next((m for m in results if m.case == case and m.n == n), None)


def summarize(results: Sequence[Measurement], sizes: Sequence[int]) -> dict[str, Any]:
    """The ratios to compare: frictionsim/simpy per N, and growth from min to max N."""
    vs_simpy: dict[str, float] = {}
    ratios: dict[str, dict[str, float]] = {}
    for n in sizes:
        a, b = _find(results, "mmc-frictionsim", n), _find(results, "mmc-simpy", n)
        if a and b:
            vs_simpy[str(n)] = a.per_second / b.per_second
        for case, ref in RATIOS:
            a, b = _find(results, case, n), _find(results, ref, n)
            if a and b:
                ratios.setdefault(f"{case} / {ref}", {})[str(n)] = a.per_second / b.per_second
    growth: dict[str, dict[str, float]] = {}
    lo, hi = min(sizes), max(sizes)
    if hi > lo:
        for case in CASES:
            first, last = _find(results, case, lo), _find(results, case, hi)
            if first and last:
                growth[case] = {
                    "customers_per_s": last.per_second / first.per_second,
                    "peak_rss": last.peak_rss_mb / first.peak_rss_mb,
                    "sim_rss_mb_added": last.sim_rss_mb - first.sim_rss_mb,
                }
    return {
        "frictionsim_over_simpy": vs_simpy,
        "ratios": ratios,
        "growth": growth,
        "from": lo,
        "to": hi,
    }


def print_report(
    results: Sequence[Measurement], summary: dict[str, Any], exact_abandon: float
) -> None:
    header = (
        f"{'case':<22} {'N':>9} {'customers':>10} {'seconds':>8} {'customers/s':>12} "
        f"{'peak MB':>8} {'base MB':>8} {'sim MB':>7} {'abandon':>8}"
    )
    print(header)
    print("-" * len(header))
    for m in results:
        abandon = f"{m.abandon_rate:.4f}" if m.abandon_rate is not None else "-"
        print(
            f"{m.case:<22} {m.n:>9,} {m.customers:>10,} {m.seconds:>8.2f} "
            f"{m.per_second:>12,.0f} {m.peak_rss_mb:>8.1f} {m.base_rss_mb:>8.1f} "
            f"{m.sim_rss_mb:>7.1f} {abandon:>8}"
        )
    for name, per_n in summary["ratios"].items():
        print()
        print(f"customers/s, {name} (same model, same run):")
        for n, ratio in per_n.items():
            print(f"  N={int(n):>9,}: {ratio:5.2f}x")
    if summary["growth"]:
        lo, hi = summary["from"], summary["to"]
        print()
        print(f"growth from N={lo:,} to N={hi:,} (1.00 = flat):")
        for case, g in summary["growth"].items():
            print(
                f"  {case:<22} customers/s x{g['customers_per_s']:.2f}   "
                f"peak RSS x{g['peak_rss']:.2f}   "
                f"sim MB {g['sim_rss_mb_added']:+.1f}"
            )
    print()
    print(
        f"abandonment, M/M/{SERVERS}+M with lambda={LAMBDA:g}, mu={MU:g}, theta={THETA:g}: "
        f"Erlang-A exact {exact_abandon:.4f}"
    )
    for m in results:
        if m.abandon_rate is not None:
            rel = (m.abandon_rate - exact_abandon) / exact_abandon
            print(f"  {m.case:<22} N={m.n:>9,}: {m.abandon_rate:.4f} ({rel:+.1%})")


def machine_info() -> dict[str, Any]:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 0
    import numpy
    import simpy

    import frictionsim

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cores": cores,
        "numpy": numpy.__version__,
        "simpy": simpy.__version__,
        "frictionsim": frictionsim.__version__,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Customers simulated per second and peak memory of the frictionsim engine, "
        "against a hand-written SimPy model of the same queue."
    )
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        default=parse_sizes("1e4,1e5,1e6"),
        help="comma-separated customer counts (default 1e4,1e5,1e6)",
    )
    parser.add_argument("--quick", action="store_true", help="only 1e4 and 1e5")
    parser.add_argument(
        "--cases",
        default=",".join(DEFAULT_CASES),
        help=f"comma-separated cases (default {','.join(DEFAULT_CASES)}; all: {','.join(CASES)})",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results here")
    parser.add_argument(
        "--one",
        nargs=2,
        metavar=("CASE", "N"),
        help=f"(internal) measure one case in this process; CASE is one of {', '.join(CASES)}",
    )
    args = parser.parse_args(argv)

    if args.one:
        case, n_text = args.one
        if case not in CASES:
            parser.error(f"unknown case {case!r}; choose from {', '.join(CASES)}")
        print(json.dumps(asdict(measure_one(case, int(float(n_text))))))
        return 0

    sizes: list[int] = [10_000, 100_000] if args.quick else args.sizes
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        parser.error(f"unknown case {unknown[0]!r}; choose from {', '.join(CASES)}")
    results: list[Measurement] = []
    # No heavy import before this loop: a child's ru_maxrss starts at this process's RSS.
    for n in sizes:  # cases interleaved per N, so compared cases are measured close in time
        for case in cases:
            print(f"... {case} N={n:,}", file=sys.stderr, flush=True)
            results.append(run_child(case, n))
    from frictionsim.theory import erlang_a

    exact = erlang_a(LAMBDA, MU, THETA, SERVERS).p_abandon
    summary = summarize(results, sizes)
    print_report(results, summary, exact)
    for m in results:
        if m.vm_hwm_mb is not None and abs(m.peak_rss_mb - m.vm_hwm_mb) > 1.0:
            print(
                f"warning: {m.case} N={m.n:,}: ru_maxrss {m.peak_rss_mb:.1f} MB but VmHWM "
                f"{m.vm_hwm_mb:.1f} MB; the peak may include the parent's memory",
                file=sys.stderr,
            )
    if args.json:
        payload = {
            "machine": machine_info(),
            "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "erlang_a_p_abandon": exact,
            "results": [{**asdict(m), "customers_per_s": m.per_second} for m in results],
            **summary,
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
