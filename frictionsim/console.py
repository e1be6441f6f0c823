"""Terminal output of the command line: the summary table and progress bars (rich)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from .stats import worst_step


@contextmanager
def progress_bar(
    label: str, total: int, quiet: bool = False, unit: str = "replications"
) -> Iterator[Callable[[int, int], None]]:
    """Progress on stderr: a bar on a terminal, a plain line per tenth of the work
    otherwise (logs of scripts and CI), nothing when ``quiet``."""
    if quiet:
        yield lambda done, total: None
        return
    if not sys.stderr.isatty():
        shown = [-1]

        def line(done: int, total: int) -> None:
            tenth = done * 10 // max(total, 1)
            if tenth > shown[0]:
                shown[0] = tenth
                print(f"{label}: {done}/{total} {unit}", file=sys.stderr, flush=True)

        yield line
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _fmt(m: dict[str, Any], kind: str) -> str:
    mean, ci = m["mean"], m["ci95"]
    if mean is None:
        return "n/a"

    def one(x: float) -> str:
        if kind == "pct":
            return f"{x:.1%}"
        if kind == "money":
            return f"{x:,.0f}"
        return f"{x:,.1f}"

    return one(mean) + (f"  ({one(ci[0])} – {one(ci[1])})" if ci else "")


def print_summary(summary: dict[str, Any], out: Path, runtime: float, quiet: bool = False) -> None:
    """The compact table a strategist reads after a run; one line when ``quiet``."""
    if quiet:
        print(out)
        return
    m = summary["metrics"]
    table = Table(
        title=f"{summary['scenario']}: {summary['replications']} replications, "
        f"seed {summary['seed']}",
        title_justify="left",
    )
    table.add_column("metric")
    table.add_column("mean  (95% CI)", justify="right")
    rows = [
        ("visitors", "visitors", "count"),
        ("orders", "orders", "count"),
        ("conversion", "conversion_rate", "pct"),
        ("revenue", "revenue", "money"),
        ("lost revenue: friction", "lost_revenue_friction", "money"),
        ("lost revenue: non-friction exits", "lost_revenue_exit", "money"),
    ]
    for label, key, kind in rows:
        table.add_row(label, _fmt(m[key], kind))
    worst = worst_step(summary)
    if worst:
        step = summary["steps"][worst]
        table.add_row(
            "lost to friction at worst step",
            f"{worst}: {_fmt(step['abandoned_friction'], 'count')}",
        )
    # the loop after the checkout, when the scenario has one
    if m.get("nps", {}).get("mean") is not None:
        table.add_row("NPS of buyers (-100 to 100)", _fmt(m["nps"], "count"))
    extra = [
        ("referral visitors", "referral_visitors", "count"),
        ("revenue from referrals", "referral_revenue", "money"),
        ("returning visitors", "returning_visitors", "count"),
        ("revenue from repeat orders", "repeat_revenue", "money"),
        ("prospects lost to word of mouth", "prospects_lost", "count"),
        ("revenue they would have brought", "lost_revenue_word_of_mouth", "money"),
    ]
    for label, key, kind in extra:
        if key in m and (m[key]["mean"] or 0) > 0:
            table.add_row(label, _fmt(m[key], kind))
    if "profit" in m and m["profit"]["mean"] != m["revenue"]["mean"]:
        table.add_row("profit (margin - step costs)", _fmt(m["profit"], "money"))
    console = Console()
    console.print(table)
    console.print(f"results in {out}/ ({runtime:.1f} s)")


def print_calibration(cal: Any, out: Path, runtime: float, quiet: bool = False) -> None:
    """Fitted parameters and observed vs simulated pass rates; one line when ``quiet``."""
    if quiet:
        print(out)
        return
    console = Console()
    params = Table(
        title=f"{cal.scenario.name}: fitted to {Path(cal.funnel_file).name} "
        f"({cal.evaluations} evaluations, seed {cal.seed})",
        title_justify="left",
    )
    params.add_column("parameter")
    params.add_column("start", justify="right")
    params.add_column("fitted ± SE", justify="right")
    for p, v, se in zip(cal.parameters, cal.values, cal.standard_errors):
        err = f"{se:.3g}" if se == se else "unknown"
        params.add_row(p.name, f"{p.start:.4g}", f"{v:.4g} ± {err}")
    console.print(params)
    fit = Table(title="pass rate per step (95% Wilson CI)", title_justify="left")
    fit.add_column("step")
    fit.add_column("entered", justify="right")
    fit.add_column("observed", justify="right")
    fit.add_column("simulated", justify="right")
    for r in cal.fit_rows:
        label = f"{r['segment']}: {r['step']}" if r["segment"] else r["step"]
        if r.get("fitted"):
            label += f"  (fitted: {r['fitted']})"

        def rate(kind: str, r: dict[str, Any] = r) -> str:
            m, lo, hi = r[f"{kind}_rate"], r[f"{kind}_ci_low"], r[f"{kind}_ci_high"]
            return "n/a" if m != m else f"{m:.1%}  ({lo:.1%} – {hi:.1%})"

        fit.add_row(label, f"{r['observed_entered']:,}", rate("observed"), rate("simulated"))
    console.print(fit)
    gof = f"deviance {cal.deviance:.2f} on {cal.degrees_of_freedom} degrees of freedom"
    if cal.p_value is not None:
        gof += f" (p = {cal.p_value:.3g})"
    console.print(f"goodness of fit: {gof}")
    console.print(f"calibrated scenario in {out} ({runtime:.1f} s)")
