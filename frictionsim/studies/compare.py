"""The compare study: designs side by side, with common random numbers.

Replication *k* of every design runs with the same seed, so the designs meet the same
customers and their differences are paired; the reduction is ``comparison.json``:
every metric of each design (by its ``summary.json`` path), the differences from the
first design, and a verdict.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .. import __version__
from ..errors import ComparisonError
from ..execution import Execution, Progress, open_execution, replication_seeds
from ..formats import currency_symbol, verdict
from ..frames import FrameMixin
from ..metrics import flat_values, kind
from ..scenario import Scenario
from ..sim.result import RunResult
from ..stats import describe, difference

#: What compared designs may differ in: the checkout itself, the shop's reminder
#: campaign, and how it is run (``uncertainty`` is what a fit left open; compare does
#: not read it). Every other key (horizon, start, arrivals, segments, experience, word
#: of mouth, repeat visits, economics) describes the customers or how they are valued,
#: so it must be the same for the comparison to be about the design.
MAY_DIFFER = (
    "name", "description", "seed", "replications", "steps", "friction", "reminders",
    "uncertainty",
)  # fmt: skip
COMPARABLE = tuple(k for k in Scenario.model_fields if k not in MAY_DIFFER)


def check_comparable(designs: Sequence[Scenario]) -> None:
    """Refuse designs that do not model the same customers (or share a name)."""
    if len(designs) < 2:
        raise ComparisonError("compare needs at least two designs")
    names = [d.name for d in designs]
    for name in names:
        if names.count(name) > 1:
            raise ComparisonError(
                f"two designs are named '{name}'; give each design its own `name:`"
            )
    ref = designs[0]
    for design in designs[1:]:
        for key in COMPARABLE:
            if getattr(design, key) != getattr(ref, key):
                raise ComparisonError(
                    f"'{design.name}' and '{ref.name}' are not comparable: their `{key}` "
                    f"differ ({_describe_difference(getattr(ref, key), getattr(design, key))}"
                    f"{' min' if key == 'horizon' else ''}); "
                    "compared designs must model the same customers the same way; only "
                    "their steps, friction and reminders may differ"
                )


def _describe_difference(a: Any, b: Any, path: str = "") -> str:
    """The first place where ``a`` and ``b`` differ, e.g. ``segments[0].share: 0.6 vs 0.5``."""
    a, b = (x.model_dump() if hasattr(x, "model_dump") else x for x in (a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        for key in [*a, *(k for k in b if k not in a)]:
            if a.get(key) != b.get(key):
                return _describe_difference(a.get(key), b.get(key), f"{path}.{key}")
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return _describe_difference(x, y, f"{path}[{i}]")
    where = f"{path.lstrip('.')}: " if path else ""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return f"{where}{len(a)} vs {len(b)} entries"
    shown = [
        "absent"
        if x is None
        else f"{x:g}"
        if isinstance(x, float)
        else x.isoformat()
        if isinstance(x, dt.datetime)
        else repr(x)
        for x in (a, b)
    ]
    text = f"{where}{shown[0]} vs {shown[1]}"
    return text if len(text) <= 120 else text[:119] + "…"


@dataclass
class Comparison(FrameMixin):
    """Designs run with the same seeds per replication, and their paired differences."""

    kind = "compare"

    designs: list[Scenario]
    seed: int
    replications: int
    common_random_numbers: bool
    results: list[list[RunResult]]  # per design, per replication
    document: dict[str, Any]  # comparison.json
    runtime_seconds: float
    jobs: int

    def replication_values(self) -> list[dict[str, Any]]:
        """Every metric of every design and replication, by its path in ``summary.json``."""
        return [
            {"design": d.name, "replication": k, **flat_values(r, d)}
            for d, rs in zip(self.designs, self.results)
            for k, r in enumerate(rs)
        ]


def compare(
    designs: Sequence[Scenario],
    seed: int | None = None,
    replications: int | None = None,
    jobs: int | None = None,
    progress: Progress | None = None,
    engine: str = "auto",
    scheduler: str | None = None,
    common_random_numbers: bool = True,
    force: bool = False,
    execution: Execution | None = None,
) -> Comparison:
    """Run every design with the same seeds (those of the first design unless given) and
    describe each one's differences from the first.

    With ``common_random_numbers`` (default) replication *k* of every design
    uses the same seed, so the same customers arrive and draw the same numbers
    at the steps the designs share; differences are then paired. Without it
    each design gets its own seeds (for measuring what pairing gains).
    ``force=False`` refuses a comparison beyond the size limits before it starts;
    ``execution``: run in this open execution (its jobs, engine, progress, force).
    """
    designs = list(designs)
    check_comparable(designs)
    ref = designs[0]
    seed = ref.seed if seed is None else seed
    replications = ref.replications if replications is None else replications
    start = time.perf_counter()
    with open_execution(execution, jobs, engine, scheduler, progress, force) as ex:
        ex.plan([(d, replications) for d in designs], study="comparison")
        tasks = []
        for k, design in enumerate(designs):
            base = seed if common_random_numbers or k == 0 else [seed, k]
            tasks += ex.tasks(design, replication_seeds(base, replications))
        flat = ex.map(tasks)
        jobs = ex.jobs
    results = [flat[k * replications : (k + 1) * replications] for k in range(len(designs))]
    document = comparison_document(designs, results, seed, common_random_numbers)
    return Comparison(
        designs,
        seed,
        replications,
        common_random_numbers,
        results,
        document,
        time.perf_counter() - start,
        jobs,
    )


def comparison_document(
    designs: Sequence[Scenario],
    results: Sequence[Sequence[RunResult]],
    seed: int,
    common_random_numbers: bool = True,
) -> dict[str, Any]:
    """The ``comparison.json`` document: each design's metrics (every metric of
    ``summary.json`` by its path), their differences from the first design and a verdict.

    A step (or segment) that only one of two designs has loses nobody and takes nothing
    in the other: its counts and money count as 0 there, so removing a step shows as
    the losses it no longer causes. Its rates and waits have no difference.
    """
    per_design = [[flat_values(r, d) for r in rs] for d, rs in zip(designs, results)]
    ref = designs[0]
    order = list(dict.fromkeys(p for rows in per_design for p in rows[0]))
    metrics = {
        d.name: {p: describe([row[p] for row in rows], metric=p) for p in rows[0]}
        for d, rows in zip(designs, per_design)
    }
    differences, verdicts = {}, {}
    for d, rows in zip(designs[1:], per_design[1:]):
        diffs = {}
        for path in order:
            in_both = path in rows[0] and path in per_design[0][0]
            if not in_both and kind(path) not in ("count", "money", "signed_money"):
                continue
            diffs[path] = difference(
                [row.get(path, 0.0) for row in per_design[0]],
                [row.get(path, 0.0) for row in rows],
                paired=common_random_numbers,
                metric=path,
            )
        differences[d.name] = diffs
        verdicts[d.name] = verdict(
            d.name, ref.name, diffs, ref.horizon, currency_symbol(ref.economics.currency)
        )
    return {
        "reference": ref.name,
        "designs": [d.name for d in designs],
        "seed": seed,
        "replications": len(results[0]),
        "common_random_numbers": common_random_numbers,
        "frictionsim_version": __version__,
        "horizon_minutes": ref.horizon,
        "metrics": metrics,
        "differences": differences,
        "verdicts": verdicts,
    }


__all__ = ["COMPARABLE", "Comparison", "check_comparable", "compare", "comparison_document"]
