"""Metrics of one replication and statistics across replications (pure numpy/scipy).

Every metric is first computed per replication, then described across
replications by its mean, sample standard deviation and a 95 % Student-t
confidence interval for the mean: ``mean ± t(0.975, n-1) · sd / sqrt(n)``.
Replications are independent, so this interval is exact for normal metrics
and accurate for the counts and rates here once there are ~10 replications.

What each metric is and how it is computed from a replication's counters is
the metric table, :mod:`frictionsim.metrics`; this module describes the values.

A rate whose denominator is 0 in a replication (a step nobody entered) is left
out of that metric's statistics; if no replication has it, it is ``null``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import special

from .metrics import bounds, nps_counts, run_values, segment_values, step_values
from .metrics import ratio as _ratio
from .scenario import Scenario
from .sim.codes import SOURCES
from .sim.result import RunResult


def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom (``df`` may be
    fractional, as Welch's is): ``scipy.stats.t.ppf``'s value, from ``scipy.special``,
    whose import is a second shorter than ``scipy.stats``'s on every command."""
    return float(special.stdtrit(df, p))


def t_cdf(t: float, df: float) -> float:
    """P(T ≤ ``t``) for Student's t with ``df`` degrees of freedom."""
    return float(special.stdtr(df, t))


def chi2_sf(x: float, df: float) -> float:
    """P(X > ``x``) for a chi-square with ``df`` degrees of freedom."""
    return float(special.chdtrc(df, x))


def run_metrics(result: RunResult, scenario: Scenario) -> dict[str, float]:
    """Every run-level metric of one replication (the table in :mod:`frictionsim.metrics`)."""
    return run_values(result, scenario)


def step_metrics(scenario: Scenario, result: RunResult) -> dict[str, dict[str, float]]:
    """Per-step metrics of one replication, keyed by step name."""
    return step_values(result, scenario)


def segment_metrics(scenario: Scenario, result: RunResult) -> dict[str, dict[str, float]]:
    """Per-segment metrics of one replication, keyed by segment name."""
    return segment_values(result, scenario)


def clip_interval(
    ci: Sequence[float] | None, bounds: tuple[float, float]
) -> tuple[list[float] | None, bool]:
    """``ci`` cut to ``bounds``, and whether it had to be (a CI of few replications,
    or of a rate near 0 or 1, reaches beyond what is possible)."""
    if ci is None:
        return None, False
    lo, hi = max(ci[0], bounds[0]), min(ci[1], bounds[1])
    return [lo, hi], (lo, hi) != (ci[0], ci[1])


def describe(
    values: Sequence[float],
    confidence: float = 0.95,
    metric: str | None = None,
    difference: bool = False,
) -> dict[str, Any]:
    """Mean, sample sd and Student-t CI of independent replications' values.

    Non-finite values (a rate with a zero denominator) are left out. With one
    value the sd and interval are unknown and reported as ``None``. Given the
    ``metric`` (of its values, or of paired differences of them with
    ``difference``), the interval is cut to the metric's possible values
    (:func:`~frictionsim.metrics.bounds`), and then ``"clipped": true`` is added beside it.
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return {"mean": None, "sd": None, "ci95": None}
    mean = float(x.mean())
    if x.size == 1:
        return {"mean": mean, "sd": None, "ci95": None}
    sd = float(x.std(ddof=1))
    half = t_quantile(0.5 + confidence / 2, x.size - 1) * sd / math.sqrt(x.size)
    ci, clipped = clip_interval([mean - half, mean + half], bounds(metric, difference))
    out: dict[str, Any] = {"mean": mean, "sd": sd, "ci95": ci}
    if clipped:
        out["clipped"] = True
    return out


def _describe_table(rows: Sequence[dict[str, float]], prefix: str = "") -> dict[str, Any]:
    """Each metric of ``rows`` described, its interval held to its possible values
    (``prefix``: the path of a step's or segment's metrics, ``steps.pay.``)."""
    keys = list(rows[0]) if rows else []
    return {k: describe([row[k] for row in rows], metric=prefix + k) for k in keys}


def summarize(
    scenario: Scenario, results: Sequence[RunResult], seed: int, version: str
) -> dict[str, Any]:
    """The ``summary.json`` document of a run (contract in DESIGN.md)."""
    steps = [step_metrics(scenario, r) for r in results]
    segments = [segment_metrics(scenario, r) for r in results]
    return {
        "scenario": scenario.name,
        "seed": seed,
        "replications": len(results),
        "frictionsim_version": version,
        "metrics": _describe_table([run_metrics(r, scenario) for r in results]),
        "steps": {
            s.name: _describe_table([row[s.name] for row in steps], f"steps.{s.name}.")
            for s in scenario.steps
        },
        "segments": {
            g.name: _describe_table([row[g.name] for row in segments], f"segments.{g.name}.")
            for g in scenario.segments
        },
    }


def word_of_mouth_data(scenario: Scenario, results: Sequence[RunResult]) -> dict[str, Any]:
    """The ``word_of_mouth.json`` document: visitors per bin of the horizon by source
    (organic, referral, returning; mean over replications and 95 % CI per bin) and the
    NPS, the data of the word-of-mouth chart."""
    bins = np.stack([r.arrivals_by_source for r in results]).astype(float)  # reps, src, bins
    width = results[0].arrival_bin_minutes
    sources = {}
    for k, name in enumerate(SOURCES):
        cols = [describe(bins[:, k, b], metric="visitors") for b in range(bins.shape[2])]
        sources[name] = {
            "mean": [c["mean"] for c in cols],
            "ci_low": [c["ci95"][0] if c["ci95"] else c["mean"] for c in cols],
            "ci_high": [c["ci95"][1] if c["ci95"] else c["mean"] for c in cols],
        }
    doc = {
        "scenario": scenario.name,
        "bin_minutes": width,
        "time": [b * width for b in range(bins.shape[2])],
        "sources": sources,
        "nps": describe(
            [nps_counts(r.segment_scores.sum(axis=0))[3] for r in results], metric="nps"
        ),
    }
    if scenario.base is not None and results[0].base_active is not None:
        doc["base"] = _base_data(scenario, results, width)
    return doc


def _series(rows: np.ndarray, metric: str) -> dict[str, list[float]]:
    """Mean and 95 % CI per column of ``rows`` (replications × times)."""
    cols = [describe(rows[:, b], metric=metric) for b in range(rows.shape[1])]
    return {
        "mean": [c["mean"] for c in cols],
        "ci_low": [c["ci95"][0] if c["ci95"] else c["mean"] for c in cols],
        "ci_high": [c["ci95"][1] if c["ci95"] else c["mean"] for c in cols],
    }


def _base_data(scenario: Scenario, results: Sequence[RunResult], width: float) -> dict[str, Any]:
    """The customer base over the horizon: members at the start of every bin and at the
    end, and the share of the minute-0 customers still in it (retention)."""
    base = scenario.base
    active = np.stack([r.base_active for r in results]).astype(float)
    retained = np.stack([r.base_retained for r in results]).astype(float)
    share = retained / base.customers if base.customers else np.full_like(retained, np.nan)
    return {
        "time": [b * width for b in range(active.shape[1])],
        "customers_at_start": base.customers,
        "lifetime_minutes": base.lifetime,
        "active": _series(active, "visitors"),
        "retained": _series(share, "conversion_rate") if base.customers else None,
    }


def distributions(scenario: Scenario, results: Sequence[RunResult]) -> dict[str, Any] | None:
    """The ``distributions.json`` document: histograms pooled over replications.

    ``irritation``: cumulative irritation on entering each step (after feeling
    the step's own irritation, i.e. the value compared with the tolerance),
    per step and segment, and the tolerances of the visitors per segment, on
    the same ``edges`` (irritation points; the last bin also counts everything
    above). ``wait``: minutes waited by the customers who found every unit of
    a step's capacity busy (steps with capacity only). ``checkout_time``:
    minutes from arrival to order, over orders. Time ``edges`` are in minutes
    (0, then log-spaced; the last bin also counts longer times). ``None`` when
    the results do not hold these histograms.
    """
    from .sim.result import TIME_EDGES, irritation_edges

    if not results or any(r.step_irritation_hist is None for r in results):
        return None

    def pooled(name: str) -> np.ndarray:
        return np.sum([getattr(r, name) for r in results], axis=0)

    irr, tol = pooled("step_irritation_hist"), pooled("segment_tolerance_hist")
    waits, checkout = pooled("step_wait_hist"), pooled("checkout_time_hist")
    segments = [g.name for g in scenario.segments]
    return {
        "scenario": scenario.name,
        "replications": len(results),
        "irritation": {
            "edges": irritation_edges(scenario).tolist(),
            "steps": {
                step.name: {g: irr[i, k].tolist() for k, g in enumerate(segments)}
                for i, step in enumerate(scenario.steps)
            },
            "tolerance": {g: tol[k].tolist() for k, g in enumerate(segments)},
        },
        "wait": {
            "edges": TIME_EDGES.tolist(),
            "steps": {
                step.name: waits[i].tolist()
                for i, step in enumerate(scenario.steps)
                if step.capacity
            },
        },
        "checkout_time": {"edges": TIME_EDGES.tolist(), "counts": checkout.tolist()},
    }


FUNNEL_COLUMNS = (
    "replication",
    "step",
    "entered",
    "completed",
    "abandoned_friction",
    "abandoned_exit",
    "reneged",
    "failed_attempts",
    "waited",
    "wait_total",
    "mean_wait",
)


def funnel_rows(scenario: Scenario, results: Sequence[RunResult]) -> list[dict[str, Any]]:
    """One row per step and replication (``funnel.csv``)."""
    rows = []
    for rep, r in enumerate(results):
        for i, step in enumerate(scenario.steps):
            entered = int(r.step_entered[i])
            friction = int(r.step_abandoned_friction[i])
            exits = int(r.step_abandoned_exit[i])
            wait = float(r.step_wait_total[i])
            rows.append(
                {
                    "replication": rep,
                    "step": step.name,
                    "entered": entered,
                    # not those who fell back, nor those a recovery offer sent on
                    "completed": int(r.step_passed[i]),
                    "abandoned_friction": friction,
                    "abandoned_exit": exits,
                    "reneged": int(r.step_reneged[i]),
                    "failed_attempts": int(r.step_failed_attempts[i]),
                    "waited": int(r.step_waited[i]),
                    "wait_total": wait,
                    "mean_wait": _ratio(wait, entered) if entered else "",
                }
            )
    return rows


def worst_step(summary: dict[str, Any]) -> str | None:
    """The step losing the most customers to friction (mean over replications)."""
    best, worst = -1.0, None
    for name, m in summary["steps"].items():
        value = m["abandoned_friction"]["mean"] or 0.0
        if value > best:
            best, worst = value, name
    return worst if best > 0 else None


# ------------------------------------------------------------------ comparisons


def welch_interval(a: Sequence[float], b: Sequence[float], confidence: float = 0.95):
    """Welch's interval for mean(b) − mean(a) of two independent samples (None if too small)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    if x.size < 2 or y.size < 2:
        return None
    vx, vy = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    diff = float(y.mean() - x.mean())
    se = math.sqrt(vx + vy)
    if se == 0:
        return [diff, diff]
    df = (vx + vy) ** 2 / (vx**2 / (x.size - 1) + vy**2 / (y.size - 1))
    half = t_quantile(0.5 + confidence / 2, df) * se
    return [diff - half, diff + half]


def difference(
    reference: Sequence[float],
    design: Sequence[float],
    paired: bool = True,
    metric: str | None = None,
) -> dict[str, Any]:
    """``design − reference`` across replications, with its 95 % CI.

    ``paired`` (common random numbers: replication k of both used the same
    seed): Student t on the per-replication differences, and also Welch's
    interval on the same values (``unpaired_ci95``: roughly what independent
    seeds would give). Otherwise Welch's interval. ``significant`` when the
    interval excludes 0; ``relative`` is the difference over the reference mean.
    Given the ``metric``, both intervals are cut to the possible differences of
    its values (``"clipped": true`` beside ``ci95`` when that one was cut).
    """
    ref = np.asarray(reference, dtype=float)
    des = np.asarray(design, dtype=float)
    unpaired, clipped = clip_interval(welch_interval(ref, des), bounds(metric, difference=True))
    if paired:
        keep = np.isfinite(ref) & np.isfinite(des)
        out = describe(des[keep] - ref[keep], metric=metric, difference=True)
        out["method"] = "paired-t"
        out["unpaired_ci95"] = unpaired
    else:
        ref_f, des_f = ref[np.isfinite(ref)], des[np.isfinite(des)]
        mean = float(des_f.mean() - ref_f.mean()) if ref_f.size and des_f.size else None
        out = {"mean": mean, "sd": None, "ci95": unpaired}
        if clipped:
            out["clipped"] = True
        out["method"] = "welch"
    ref_mean = float(ref[np.isfinite(ref)].mean()) if np.isfinite(ref).any() else math.nan
    mean, ci = out["mean"], out["ci95"]
    out["relative"] = mean / ref_mean if mean is not None and ref_mean else None
    out["significant"] = bool(ci is not None and (ci[0] > 0 or ci[1] < 0))
    return out
