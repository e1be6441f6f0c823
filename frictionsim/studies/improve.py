"""Fix this first: every step ranked by what removing (or halving) its friction is worth.

**Friction at a step** is everything the step makes a customer feel: its entry
irritation (when positive; relief stays), its form fields' irritation
(``fields × per_field``), the irritation of waiting in its queue
(``wait_irritation``) and of each failed attempt (``errors.irritation``).
**Removing** it sets each of these to 0 at that step alone; **halving** it
multiplies each by 0.5. Nothing else changes: the step still takes its time, its
non-friction ``exit`` still loses the customers it loses, errors still happen
(and ``max_attempts`` failures still end the visit), and every other step is as
it was. So a step's value is what a redesign that makes the step painless (or
half as painful) recovers, with everything else held fixed.

Every variant runs with the base scenario's seeds (common random numbers), so
each difference from the base is paired replication by replication and its
95 % CI is the Student-t interval of those differences. Money is per simulated
horizon and, annualised at the horizon's rate, per year (``× 525,600 /
horizon minutes``; a horizon with a time-of-day or weekly pattern is taken as
representative of the year).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from .. import __version__
from ..errors import OptionError
from ..execution import Execution, Progress, open_execution, replication_seeds
from ..formats import MINUTES_PER_YEAR
from ..frames import FrameMixin
from ..metrics import flat_values
from ..scenario import Scenario, segment_error_p, vary
from ..stats import describe, difference

#: The changes a step's friction can get, and the factor each applies.
CHANGES = {"remove": 0.0, "halve": 0.5}
#: Metrics whose paired differences the ranking reports (money and people).
VALUES = ("revenue", "profit", "orders", "conversion_rate", "abandoned_friction")


def friction_sets(scenario: Scenario, i: int, factor: float) -> list[str]:
    """The ``--set`` overrides that scale the friction of step ``i`` by ``factor``."""
    step = scenario.steps[i]
    at = f"steps.{i}"
    per_field = scenario.friction.per_field if step.per_field is None else step.per_field
    sets = [
        f"{at}.irritation={max(step.irritation, 0) * factor + min(step.irritation, 0)!r}",
        f"{at}.per_field={per_field * factor!r}",
        f"{at}.wait_irritation={scenario.wait_irritation(step) * factor!r}",
        f"{at}.time_irritation={scenario.time_irritation(step) * factor!r}",
    ]
    if step.errors:
        sets.append(f"{at}.errors.irritation={step.errors.irritation * factor!r}")
    return sets


def has_friction(scenario: Scenario, i: int) -> bool:
    """Whether step ``i`` makes anyone feel anything (else removing it changes nothing)."""
    step = scenario.steps[i]
    return bool(
        step.irritation > 0
        or scenario.entry_irritation(step) - step.irritation > 0
        or (step.capacity and scenario.wait_irritation(step) > 0)
        or scenario.time_irritation(step) > 0
        or (
            step.errors is not None
            and step.errors.irritation > 0
            and any(segment_error_p(step, g.name) > 0 for g in scenario.segments)
        )
    )


@dataclass
class Improvements(FrameMixin):
    """Steps ranked by the revenue their friction costs."""

    kind = "improve"

    scenario: Scenario
    document: dict[str, Any]  # improvements.json
    seed: int
    replications: int
    runtime_seconds: float
    jobs: int
    values: dict[tuple[str, str], list[dict[str, float]]] = field(default_factory=dict)

    def replication_values(self) -> list[dict[str, Any]]:
        """Every metric of every variant (``step``, ``change``; the unchanged design has
        neither) and replication."""
        return [
            {"step": step, "change": change, "replication": k, **row}
            for (step, change), rows in self.values.items()
            for k, row in enumerate(rows)
        ]


def improve(
    scenario: Scenario,
    changes: tuple[str, ...] = ("remove", "halve"),
    seed: int | None = None,
    replications: int | None = None,
    jobs: int | None = None,
    progress: Progress | None = None,
    engine: str = "auto",
    scheduler: str | None = None,
    force: bool = False,
    execution: Execution | None = None,
) -> Improvements:
    """Rank the steps of ``scenario`` by the revenue recovered when their friction is
    removed (and halved), each difference paired with the base run. ``execution``: run
    in this open execution (its jobs, engine, progress, force)."""
    if isinstance(changes, str):
        changes = (changes,)
    changes = tuple(dict.fromkeys(changes))  # `--change remove --change remove`: once
    if not changes:
        raise OptionError(f"no change to try; choose from {', '.join(CHANGES)}")
    for change in changes:
        if change not in CHANGES:
            raise OptionError(f"unknown change '{change}'; choose from {', '.join(CHANGES)}")
    seed = scenario.seed if seed is None else seed
    replications = scenario.replications if replications is None else replications
    if replications < 2:
        raise OptionError("ranking improvements needs at least 2 replications (for CIs)")
    steps = [i for i in range(len(scenario.steps)) if has_friction(scenario, i)]
    if not steps:
        raise OptionError(f"no step of '{scenario.name}' has friction to remove")
    variants = [(i, c, vary(scenario, friction_sets(scenario, i, CHANGES[c]))) for i in steps
                for c in changes]  # fmt: skip
    runs = [scenario, *(v for _, _, v in variants)]
    start = time.perf_counter()
    with open_execution(execution, jobs, engine, scheduler, progress, force) as ex:
        ex.plan(
            [(r, replications) for r in runs],
            study="ranking of improvements",
            advice="use fewer replications or a shorter horizon (--set horizon=...)",
        )
        seeds = replication_seeds(seed, replications)
        flat = ex.map([t for r in runs for t in ex.tasks(r, seeds)])
        jobs = ex.jobs
    values = [
        [flat_values(r, runs[k]) for r in flat[k * replications : (k + 1) * replications]]
        for k in range(len(runs))
    ]
    base = values[0]
    per_year = MINUTES_PER_YEAR / scenario.horizon
    rows = []
    for k, (i, change, _) in enumerate(variants, start=1):
        diffs = {
            m: difference([row[m] for row in base], [row[m] for row in values[k]], metric=m)
            for m in VALUES
        }
        step = scenario.steps[i]
        rows.append(
            {
                "step": step.name,
                "change": change,
                "differences": diffs,
                "revenue_per_year": _scaled(diffs["revenue"], per_year),
                "profit_per_year": _scaled(diffs["profit"], per_year),
                "lost_to_friction": describe(
                    [row[f"steps.{step.name}.abandoned_friction"] for row in base],
                    metric=f"steps.{step.name}.abandoned_friction",
                ),
            }
        )
    rows.sort(key=lambda r: (-(r["differences"]["revenue"]["mean"] or 0.0), r["step"]))
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    costs = any(row["profit"] != row["revenue"] for row in base)
    document = {
        "scenario": scenario.name,
        "seed": seed,
        "replications": replications,
        "frictionsim_version": __version__,
        "horizon_minutes": scenario.horizon,
        "per_year_factor": per_year,
        "currency": scenario.economics.currency,
        "changes": list(changes),
        "profit_differs": costs,
        "base": {m: describe([row[m] for row in base], metric=m) for m in VALUES},
        "improvements": rows,
    }
    labels = [("", ""), *((scenario.steps[i].name, c) for i, c, _ in variants)]
    return Improvements(
        scenario,
        document,
        seed,
        replications,
        time.perf_counter() - start,
        jobs,
        dict(zip(labels, values)),
    )


def _scaled(d: dict[str, Any], factor: float) -> dict[str, Any]:
    """Mean and 95 % CI of a difference, times ``factor`` (per horizon -> per year)."""
    ci = d["ci95"]
    return {
        "mean": None if d["mean"] is None else d["mean"] * factor,
        "ci95": None if ci is None else [ci[0] * factor, ci[1] * factor],
    }


__all__ = ["CHANGES", "Improvements", "friction_sets", "has_friction", "improve"]
