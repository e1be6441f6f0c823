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

from .errors import visible
from .formats import currency_symbol, money, money_range
from .metrics import TABLE, label, lookup
from .stats import worst_step


@contextmanager
def progress_bar(
    label: str, total: int | None = None, quiet: bool = False, unit: str = "replications"
) -> Iterator[Callable[[int, int], None]]:
    """Progress on stderr: a bar on a terminal, a plain line per tenth of the work
    otherwise (logs of scripts and CI), nothing when ``quiet``. The total is the one
    each update gives (a study knows it once it has planned its work); ``total`` is
    only what the bar shows before the first update."""
    if quiet:
        yield lambda done, total: None
        return
    if not sys.stderr.isatty():
        shown = [-1]

        def line(done: int, total: int) -> None:
            tenth = done * 10 // max(total, 1)
            if tenth > shown[0]:
                shown[0] = tenth
                print(f"{visible(label)}: {done}/{total} {unit}", file=sys.stderr, flush=True)

        yield line
        return
    columns = (
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit, markup=False),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True, markup=False), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _fmt(m: dict[str, Any], kind: str) -> str:
    """A described metric of the table's ``kind``: mean and 95 % CI (an interval cut at
    the metric's possible values says so)."""
    mean, ci = m["mean"], m["ci95"]
    if mean is None:
        return "n/a"

    def one(x: float) -> str:
        if kind == "rate":
            return f"{x:.1%}"
        if kind in ("money", "signed_money"):
            return f"{x:,.0f}"
        return f"{x:,.1f}"

    clipped = ", clipped" if m.get("clipped") else ""
    return one(mean) + (f"  ({one(ci[0])} – {one(ci[1])}{clipped})" if ci else "")


def _row(table: Table, m: dict[str, Any], name: str, label: str | None = None) -> None:
    metric = TABLE["run"][name]
    table.add_row(label or metric.label, _fmt(m[name], metric.kind))


#: The run metrics every summary table shows, and those it shows when they are not 0.
SUMMARY_ROWS = (
    "visitors",
    "orders",
    "conversion_rate",
    "revenue",
    "lost_revenue_friction",
    "lost_revenue_exit",
)
SUMMARY_WHEN_SET = (
    "referral_visitors",
    "referral_revenue",
    "returning_visitors",
    "repeat_revenue",
    "prospects_lost",
    "lost_revenue_word_of_mouth",
)


def print_precision(precision: dict[str, Any], quiet: bool = False) -> None:
    """One line per ``--precision`` target: the half-width reached, after how many
    replications; a target not reached within ``--max-replications`` is said so (stderr)."""
    n = precision["replications"]
    batches = " + ".join(
        str(b - a) for a, b in zip([0, *precision["batches"]], precision["batches"])
    )
    for metric, target in precision["targets"].items():
        width = precision["half_widths"][metric]
        ok = width is not None and width <= target
        if ok and quiet:
            continue
        if width is None:
            line = (
                f"precision: {metric} has a value in fewer than two of the {n} replications "
                f"({batches}); no interval"
            )
        else:
            line = (
                f"precision: {metric} ±{width:.4g} (95% CI half-width) "
                f"{'≤' if ok else '>'} {target:g} after {n} replications ({batches})"
            )
        if not ok:
            line += f"; not reached within --max-replications {precision['max_replications']}"
        print(visible(line), file=sys.stdout if ok else sys.stderr)


def print_summary(summary: dict[str, Any], out: Path, runtime: float, quiet: bool = False) -> None:
    """The compact table a strategist reads after a run; one line when ``quiet``."""
    if quiet:
        print(visible(out))
        return
    m = summary["metrics"]
    table = Table(
        title=f"{summary['scenario']}: {summary['replications']} replications, "
        f"seed {summary['seed']}",
        title_justify="left",
    )
    table.add_column("metric")
    table.add_column("mean  (95% CI)", justify="right")
    for name in SUMMARY_ROWS:
        _row(table, m, name)
    worst = worst_step(summary)
    if worst:
        step = summary["steps"][worst]
        table.add_row(
            "lost to friction at worst step",
            f"{worst}: {_fmt(step['abandoned_friction'], 'count')}",
        )
    # the loop after the checkout, when the scenario has one
    if m.get("nps", {}).get("mean") is not None:
        _row(table, m, "nps", "NPS of buyers (-100 to 100)")
    for name in SUMMARY_WHEN_SET:
        if name in m and (m[name]["mean"] or 0) > 0:
            _row(table, m, name)
    if "profit" in m and m["profit"]["mean"] != m["revenue"]["mean"]:
        _row(table, m, "profit", "profit (margin - step costs)")
    console = Console(markup=False)  # names and paths are the user's: printed as they are
    console.print(table)
    if summary["replications"] == 1:
        console.print("1 replication: too few replications for confidence intervals")
    console.print(f"results in {visible(out)}/ ({runtime:.1f} s)")


def print_calibration(cal: Any, out: Path, runtime: float, quiet: bool = False) -> None:
    """Fitted parameters and observed vs simulated pass rates; one line when ``quiet``."""
    if quiet:
        print(visible(out))
        return
    console = Console(markup=False)  # names and paths are the user's: printed as they are
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
    fit = Table(
        title="pass rate per step, % (95% Wilson CI); fitted parameters in ()", title_justify="left"
    )
    fit.add_column("step")
    fit.add_column("entered", justify="right")
    fit.add_column("observed", justify="right")
    fit.add_column("simulated", justify="right")
    timed = any(r["observed_minutes"] != "" for r in cal.fit_rows)
    if timed:
        fit.title = f"{fit.title}; minutes to go on from the step"
        fit.add_column("observed min", justify="right")
        fit.add_column("simulated min", justify="right")
    for r in cal.fit_rows:
        label = f"{r['segment']}: {r['step']}" if r["segment"] else r["step"]
        if r.get("fitted"):
            label += f" ({r['fitted']})"

        def rate(kind: str, r: dict[str, Any] = r) -> str:
            m, lo, hi = r[f"{kind}_rate"], r[f"{kind}_ci_low"], r[f"{kind}_ci_high"]
            return "n/a" if m != m else f"{m:.1%} ({100 * lo:.1f}–{100 * hi:.1f})"

        cells = [label, f"{r['observed_entered']:,}", rate("observed"), rate("simulated")]
        if timed:
            cells += [f"{m:.3g}" if m != "" else "" for m in
                      (r["observed_minutes"], r["simulated_minutes"])]  # fmt: skip
        fit.add_row(*cells)
    console.print(fit)
    gof = f"deviance {cal.deviance:.2f} on {cal.degrees_of_freedom} degrees of freedom"
    if cal.p_value is not None:
        gof += f" (p = {cal.p_value:.3g})"
    console.print(f"goodness of fit: {gof}")
    console.print(f"calibrated scenario in {visible(out)} ({runtime:.1f} s)")


def _fmt_diff(d: dict[str, Any], kind: str) -> str:
    """A described difference of a metric of the table's ``kind``: ``+12.7 (11.7…13.7) pp``,
    rates in percentage points; ``n.s.`` when the interval includes 0."""
    if d["mean"] is None:
        return "n/a"
    scale, unit, digits = (100, " pp", 1) if kind == "rate" else (1, "", None)

    def one(x: float, sign: str = "+") -> str:
        x *= scale
        if digits is not None:
            return f"{x:{sign}.{digits}f}"
        if kind in ("money", "signed_money") or abs(x) >= 100:
            return f"{x:{sign},.0f}"
        return f"{x:{sign},.1f}"

    text = one(d["mean"])
    if d["ci95"]:
        text += f" ({one(d['ci95'][0], '')}…{one(d['ci95'][1], '')})"
    return text + unit + ("" if d["significant"] else " n.s.")


#: The run metrics a comparison table shows (NPS and profit are added when modelled).
COMPARISON_ROWS = (
    "conversion_rate",
    "orders",
    "revenue",
    "lost_revenue_friction",
    "lost_revenue_exit",
    "abandoned_friction",
)


def _level(d: dict[str, Any] | None, kind: str) -> str:
    if d is None or d["mean"] is None:
        return "n/a"
    x = d["mean"]
    if kind == "rate":
        return f"{x:.1%}"
    return f"{x:,.0f}" if kind in ("money", "signed_money") or abs(x) >= 100 else f"{x:,.1f}"


def comparison_metrics(document: dict[str, Any]) -> list[str]:
    """The run metrics the console shows for a comparison: the headline ones, NPS when some
    design has buyers, profit when margin or step costs make it differ from revenue."""
    rows = list(COMPARISON_ROWS)
    levels = document["metrics"]
    if any((m.get("nps") or {}).get("mean") is not None for m in levels.values()):
        rows.append("nps")
    if any(m["profit"]["mean"] != m["revenue"]["mean"] for m in levels.values()):
        rows.append("profit")
    return rows


def print_comparison(document: dict[str, Any], out: Path, runtime: float, quiet: bool = False):
    """Each design's level beside its difference from the reference, where the difference
    comes from (step by step), then the verdicts."""
    if quiet:
        print(visible(out))
        return
    ref = document["reference"]
    how = "paired, common random numbers" if document["common_random_numbers"] else "independent"
    table = Table(
        title=f"{ref} vs {', '.join(document['differences'])}: {document['replications']} "
        f"replications, seed {document['seed']} ({how}); difference (95% CI)",
        title_justify="left",
    )
    table.add_column("metric")
    table.add_column(ref, justify="right")
    names = list(document["differences"])
    for name in names:
        table.add_column(name, justify="right")
    levels = document["metrics"]
    for key in comparison_metrics(document):
        metric = TABLE["run"][key]
        cells = [
            f"{_level(levels[n].get(key), metric.kind)}  "
            f"{_fmt_diff(document['differences'][n][key], metric.kind)}"
            for n in names
        ]
        table.add_row(metric.label, _level(levels[ref].get(key), metric.kind), *cells)
    console = Console(markup=False)  # names and paths are the user's: printed as they are
    console.print(table)
    console.print(_step_breakdown(document))
    for name in names:
        console.print(document["verdicts"][name], highlight=False)
    console.print(f"results in {visible(out)}/ ({runtime:.1f} s)")


def _step_breakdown(document: dict[str, Any]) -> Table:
    """Per step, the change in customers lost there (friction and exits) and in the order
    value they take away: where a design gains or loses against the reference."""
    names = list(document["differences"])
    steps = list(
        dict.fromkeys(
            p.split(".", 1)[1].rsplit(".", 1)[0]
            for n in names
            for p in document["differences"][n]
            if p.startswith("steps.") and p.endswith(".abandoned_friction")
        )
    )
    table = Table(
        title="where the difference comes from: change in customers lost at each step "
        "(friction + exits) and in their order value",
        title_justify="left",
    )
    table.add_column("step")
    for name in names:
        table.add_column(f"{name}: lost", justify="right")
        table.add_column(f"{name}: order value", justify="right")
    for step in steps:
        cells = []
        for name in names:
            d = document["differences"][name]
            lost = [d.get(f"steps.{step}.abandoned_{k}") for k in ("friction", "exit")]
            money = [d.get(f"steps.{step}.lost_revenue_{k}") for k in ("friction", "exit")]
            cells.append(_sum_means(lost, "count"))
            cells.append(_sum_means(money, "money"))
        table.add_row(step, *cells)
    return table


def _sum_means(diffs: list[dict[str, Any] | None], kind: str) -> str:
    means = [d["mean"] for d in diffs if d is not None and d["mean"] is not None]
    if not means:
        return "n/a"
    total = sum(means)
    return f"{total:+,.0f}" if kind == "money" or abs(total) >= 100 else f"{total:+,.1f}"


def print_sensitivity(
    document: dict[str, Any], out: Path, runtime: float, quiet: bool = False, top: int = 10
) -> None:
    """The parameters that matter most, in order."""
    if quiet:
        print(visible(out))
        return
    table = Table(
        title=f"{document['scenario']}: what moves {document['metric']} "
        f"(±{document['delta_percent']:g}%, {document['method']})",
        title_justify="left",
    )
    table.add_column("#", justify="right")
    table.add_column("parameter")
    table.add_column("value", justify="right")
    if document["method"] == "sobol":
        table.add_column("total index ST", justify="right")
        table.add_column("first order S1", justify="right")
        for r in document["parameters"][:top]:
            table.add_row(
                str(r["rank"]),
                r["parameter"],
                f"{r['value']:g}",
                f"{r['ST']:.3f}",
                f"{r['S1']:.3f}",
            )
    else:
        table.add_column("effect, down → up  (95% CI)", justify="right")
        pct = document["metric"] == "conversion_rate"
        for r in document["parameters"][:top]:
            eff = r["effect"] or 0.0
            text = f"{eff * 100:+.2f} pp" if pct else f"{eff:+,.4g}"
            if r["ci95"]:
                lo, hi = r["ci95"]
                text += (
                    f"  ({lo * 100:+.2f} … {hi * 100:+.2f})"
                    if pct
                    else f"  ({lo:+,.4g} … {hi:+,.4g})"
                )
            table.add_row(str(r["rank"]), r["parameter"], f"{r['value']:g}", text)
    console = Console(markup=False)  # names and paths are the user's: printed as they are
    console.print(table)
    console.print(f"results in {visible(out)}/ ({runtime:.1f} s)")


def print_optimum(document: dict[str, Any], out: Path, runtime: float, quiet: bool = False):
    """The optimum, its objective and how sure each constraint is; one line when ``quiet``."""
    if quiet:
        print(visible(out))
        return
    console = Console(markup=False)  # names and paths are the user's: printed as they are
    objective = document["objective"]
    how = (
        f"{document['evaluated_points']} of {document['grid_points']} points evaluated "
        f"({document['search']}), {document['replications']} replications each"
    )
    if document["best"] is None:
        console.print(f"{document['scenario']}: no evaluated point meets every constraint ({how})")
        console.print(f"results in {visible(out)}/ ({runtime:.1f} s)")
        return
    table = Table(
        title=f"{document['scenario']}: {objective['sense']}imise {objective['metric']}; {how}",
        title_justify="left",
    )
    table.add_column("")
    table.add_column("value  (95% CI)", justify="right")
    for path, value in document["best"].items():
        table.add_row(f"best {path}", str(value))
    optimum = document["optimum"]
    if objective["metric"] not in document["best"]:
        metric = lookup(objective["metric"])
        table.add_row(
            f"objective: {label(objective['metric'])}",
            _fmt(optimum["objective"], metric.kind if metric else "count"),
        )
    for c in optimum["constraints"]:
        metric = lookup(c["metric"])
        sure = c["probability_holds"]
        shown = "n/a" if sure is None else f"{sure:.1%}"
        table.add_row(
            f"{label(c['metric'])} {c['op']} {c['value']:g}",
            f"{_fmt(c, metric.kind if metric else 'count')}  P(holds) {shown}",
        )
    points = {tuple(p["values"].items()): p for p in document["evaluated"]}
    for n in optimum["neighbours"]:
        where = ", ".join(f"{p} = {v}" for p, v in n["values"].items())
        state = "" if n["feasible"] else " (infeasible)"
        cells = []
        if objective["metric"] not in document["best"]:
            metric = lookup(objective["metric"])
            diff = _fmt_diff(n["objective_difference"], metric.kind if metric else "count")
            cells.append(f"objective {diff}")
        for c in optimum["constraints"]:
            metric = lookup(c["metric"])
            level = points[tuple(n["values"].items())]["metrics"][c["metric"]]
            cells.append(_level(level, metric.kind if metric else "count"))
        table.add_row(f"neighbour {where}{state}", "; ".join(cells))
    console.print(table)
    console.print(f"results in {visible(out)}/ ({runtime:.1f} s)")


def print_improvements(document: dict[str, Any], out: Path, runtime: float, quiet: bool = False):
    """Steps ranked by the revenue a year their friction costs; one line when ``quiet``."""
    if quiet:
        print(visible(out))
        return
    symbol = currency_symbol(document.get("currency") or "")
    unit = document.get("currency") or "currency units"
    table = Table(
        title=f"{document['scenario']}: fix this first — revenue recovered per year "
        f"({unit}; 95% CI, paired with the unchanged design), "
        f"{document['replications']} replications",
        title_justify="left",
    )
    table.add_column("#", justify="right")
    table.add_column("step")
    table.add_column("friction", justify="left")
    table.add_column("revenue / year", justify="right")
    if document["profit_differs"]:
        table.add_column("profit / year", justify="right")
    table.add_column("conversion", justify="right")
    for r in document["improvements"]:
        cells = [str(r["rank"]), r["step"], "removed" if r["change"] == "remove" else "halved"]
        cells.append(_fmt_yearly(r["revenue_per_year"], symbol))
        if document["profit_differs"]:
            cells.append(_fmt_yearly(r["profit_per_year"], symbol))
        cells.append(_fmt_diff(r["differences"]["conversion_rate"], "rate"))
        table.add_row(*cells)
    console = Console(markup=False)  # names and paths are the user's: printed as they are
    console.print(table)
    console.print(f"results in {visible(out)}/ ({runtime:.1f} s)")


def _fmt_yearly(d: dict[str, Any], symbol: str) -> str:
    if d["mean"] is None:
        return "n/a"
    text = money(d["mean"], symbol, signed=True)
    if d["ci95"]:
        text += f" ({money_range(*d['ci95'], symbol)})"
    return text
