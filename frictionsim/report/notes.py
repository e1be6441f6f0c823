"""How a run's replications were chosen, in words, for its report: plain text from
``run.json``, imported without matplotlib (the process that simulates writes these lines
while its workers draw the charts)."""

from __future__ import annotations

from typing import Any


def run_notes(marker: dict[str, Any]) -> list[str]:
    """How the replications were chosen, in words, from a run's ``run.json`` (``marker``):
    run to a precision (``--precision``), and with drawn parameters (``--uncertainty``)."""
    lines = []
    precision = marker.get("precision")
    if isinstance(precision, dict) and isinstance(precision.get("targets"), dict):
        reached = precision.get("half_widths") or {}
        targets = ", ".join(
            f"{name} ± {target:g}"
            + (
                f" (reached ± {reached[name]:.3g})"
                if isinstance(reached.get(name), (int, float))
                else " (no value to measure)"
            )
            for name, target in precision["targets"].items()
        )
        totals = [str(b) for b in precision.get("batches") or []]
        batches = f" (in batches, to {' → '.join(totals)})" if len(totals) > 1 else ""
        if precision.get("reached"):
            how = "run until every 95% CI half-width was at most its target"
        else:
            cap = precision.get("max_replications")
            at_cap = f" at the cap of {cap} replications" if cap is not None else ""
            how = f"stopped{at_cap} before every 95% CI half-width reached its target"
        lines.append(
            f"**Precision** (--precision): {precision.get('replications')} replications"
            f"{batches}, {how}: {targets}."
        )
    uncertainty = marker.get("uncertainty")
    if isinstance(uncertainty, dict) and uncertainty.get("parameters"):
        names = ", ".join(str(p) for p in uncertainty["parameters"])
        lines.append(
            "**Parameter uncertainty** (--uncertainty): each replication drew "
            f"{names} from the scenario's fitted distribution, so the intervals include "
            "what the calibration data did not pin down."
        )
    return lines


__all__ = ["run_notes"]
