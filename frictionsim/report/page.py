"""The one-page report of a run: its key numbers in words, ``report.md`` and
``report.html``.

:func:`key_numbers` writes what a strategist reads first (conversion, revenue,
lost revenue split into friction and non-friction exits, the worst step, queues,
NPS, word of mouth, profit), each with its 95 % CI. :func:`render_report` draws
every chart :func:`~frictionsim.report.run_charts.chart_plan` allows and the page
around them, in Markdown (which links the PNG files beside it) and in HTML with
the same words (one self-contained file, the charts inside it:
:mod:`~frictionsim.report.html_page`); :func:`page_files` lays out the pages of
any report, a study's too. It returns bytes by file name and writes nothing:
:mod:`frictionsim.results` writes the files atomically.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..formats import money
from .common import (
    PIXELS,
    _ci,
    _clipped,
    _labelled,
    _mean,
    _reps,
    fmt_count,
    fmt_minutes,
    fmt_pct,
    render_png,
)
from .html_page import GENERATOR, embed_charts, html_page, png_size
from .parts import share
from .run_charts import chart_plan

# -- key numbers ------------------------------------------------------------------------------


def ci_range(lo: float, hi: float, f: Callable[[float], str]) -> str:
    """A 95 % CI written by ``f``: ``26.2%–33.7%``, or ``−22.1 to −11.4`` when it starts
    below 0 (a dash beside a minus sign reads as a double sign)."""
    return f"{f(lo)}{'–' if lo >= 0 else ' to '}{f(hi)}"


def fmt_score(x: float, signed: bool = False) -> str:
    """An NPS (−100..100) with one decimal: ``−16.7``, ``+12.5`` when ``signed``."""
    return (f"{x:+.1f}" if signed else f"{x:.1f}").replace("-", "−")


def key_numbers(summary: dict[str, Any]) -> list[str]:
    """The key numbers of a run in words (Markdown bullets without the dash)."""
    m = summary["metrics"]
    lines = []

    def ci_words(metric: dict[str, Any], f: Callable[[float], str], more: str = "") -> str:
        ci = _ci(metric)
        ci_text = f"95% CI {ci_range(*ci, f)}{_clipped(metric)}" if ci else ""
        parts = [p for p in (more, ci_text) if p]
        return f" ({'; '.join(parts)})" if parts else ""

    conv = m["conversion_rate"]
    if conv["mean"] is not None:
        lines.append(
            f"**Conversion**: {fmt_pct(conv['mean'])}{ci_words(conv, fmt_pct)} of "
            f"{fmt_count(_mean(m['visitors']))} visitors ordered "
            f"({fmt_count(_mean(m['orders']))} orders)."
        )
    revenue, lost = _mean(m["revenue"]), _mean(m["lost_revenue"])
    friction, exits = _mean(m["lost_revenue_friction"]), _mean(m["lost_revenue_exit"])
    potential = revenue + lost
    lines.append(
        f"**Revenue**: {money(revenue)}{ci_words(m['revenue'], money)} realised, "
        f"out of {money(potential)} if every visitor had ordered."
    )
    if potential > 0:
        share = f"{friction / lost:.0%}" if lost > 0 else ""
        lines.append(
            f"**Lost revenue**: {money(lost)}, of which {money(friction)}"
            f"{ci_words(m['lost_revenue_friction'], money, share)} "
            "to friction, which a better design can recover, and "
            f"{money(exits)}{ci_words(m['lost_revenue_exit'], money)} "
            "to non-friction exits (browsing, comparing prices)."
        )
    # as stats.worst_step, which this module cannot import (stats pulls in the engine)
    worst, worst_value = None, 0.0
    for name, s in summary["steps"].items():
        if _mean(s["abandoned_friction"]) > worst_value:
            worst, worst_value = name, _mean(s["abandoned_friction"])
    if worst is not None:
        s = summary["steps"][worst]
        entered = _mean(s["entered"])
        share = (
            f"{worst_value / entered:.0%} of the {fmt_count(entered)} who reach it"
            if entered > 0
            else "of the customers who reach it"
        )
        worth = ""
        if "lost_revenue_friction" in s:
            worth = f", worth {money(_mean(s['lost_revenue_friction']))} in order value"
        lines.append(
            f"**Worst step**: {worst} loses {fmt_count(worst_value)} customers to friction"
            f"{ci_words(s['abandoned_friction'], fmt_count)}, {share}{worth}."
        )
    for name, s in summary["steps"].items():
        if _mean(s["entered"]) > 0 and (s.get("utilisation") or {}).get("mean") is not None:
            p_wait = s.get("p_wait", {}).get("mean")
            wait_text = f"{fmt_pct(p_wait)} of entrants wait, " if p_wait is not None else ""
            lines.append(
                f"**Queue at {name}**: {wait_text}mean wait "
                f"{fmt_minutes(_mean(s['mean_wait']))} over all entrants, capacity "
                f"{fmt_pct(_mean(s['utilisation']))} busy."
            )
    nps = m.get("nps")
    if nps and nps.get("mean") is not None:
        lines.append(
            f"**NPS of buyers**: {fmt_score(nps['mean'], True)}{ci_words(nps, fmt_score)}: "
            f"{fmt_count(_mean(m['promoters']))} promoters, {fmt_count(_mean(m['passives']))} "
            f"passives, {fmt_count(_mean(m['detractors']))} detractors (peak–end memory)."
        )
    loop = [
        ("referral_visitors", "referral_revenue", "referral visitors", "revenue"),
        ("returning_visitors", "repeat_revenue", "returning visitors", "revenue"),
        ("prospects_lost", "lost_revenue_word_of_mouth", "prospects deterred", "revenue lost"),
    ]
    parts = [
        f"{fmt_count(_mean(m[count]))} {label} ({what} {money(_mean(m[value]))})"
        for count, value, label, what in loop
        if count in m and _mean(m[count]) > 0
    ]
    if parts:
        lines.append(f"**Word of mouth and returns**: {'; '.join(parts)}.")
    contacts = _mean(m.get("contacts")) if "contacts" in m else 0.0
    if contacts:
        rate, wait = m["resolution_rate"], m["contact_mean_wait"]
        lines.append(
            f"**Service journey**: {fmt_count(contacts)} contacts, "
            f"{fmt_pct(_mean(rate))}{ci_words(rate, fmt_pct)} resolved, "
            f"{fmt_count(_mean(m['contacts_unresolved']))} unresolved and "
            f"{fmt_count(_mean(m['contacts_abandoned']))} abandoned; a contact waited "
            f"{fmt_minutes(_mean(wait))} on average; service costs "
            f"{money(_mean(m['service_costs']))} ({money(_mean(m['cost_per_contact']))} a "
            f"contact), remediation {money(_mean(m['remediation_costs']))}."
        )
    if "profit" in m and _mean(m["profit"]) != revenue:
        costs = [
            f"{m_label} {money(_mean(m[key]))}"
            for key, m_label in (
                ("step_costs", "step costs"),
                ("capacity_costs", "capacity"),
                ("reminder_costs", "reminders"),
                ("recovery_costs", "recovery offers"),
                ("service_costs", "service"),
                ("remediation_costs", "remediation"),
            )
            if key in m and _mean(m[key])
        ]
        lines.append(
            f"**Profit**: {money(_mean(m['profit']))}{ci_words(m['profit'], money)} "
            f"after margin{' and costs: ' + ', '.join(costs) if costs else ''}."
        )
    return lines


# -- report.md and report.html ----------------------------------------------------------------


def _about(summary: dict[str, Any]) -> tuple[str, str]:
    """What was run (replications, seed, version) and what the figures are."""
    facts = (
        f"{_reps(summary)}, seed {summary.get('seed')}, "
        f"frictionsim {summary.get('frictionsim_version')}."
    )
    text = (
        "Figures are means per replication (one simulated horizon) with 95% confidence "
        "intervals; money is in the scenario's currency units."
    )
    if summary.get("replications") == 1:
        text += " One replication is too few replications for confidence intervals."
    elif any(isinstance(m, dict) and m.get("clipped") for m in summary["metrics"].values()):
        text += (
            " An interval marked clipped reached beyond the metric's possible values "
            "(too few replications for its spread) and is cut there."
        )
    return facts, text


def page_files(
    title: str,
    facts: str,
    about: str,
    lines: Sequence[str],
    charts: Sequence[tuple[str, str, str]],
    drawn: dict[str, bytes],
    names: tuple[str | None, str] = ("report.md", "report.html"),
    generator: str = GENERATOR,
) -> dict[str, bytes]:
    """The pages of a report, by file name (``names``: of the Markdown and the HTML
    page, the Markdown's ``None`` for none): ``title``, ``facts`` (what was run),
    ``about`` (what the figures are), the key numbers (``lines``, Markdown without the
    dash) and the ``charts`` (file, title, caption) in order. The Markdown links the
    chart files beside it; the HTML page holds every chart of ``drawn`` (file name →
    PNG bytes) inside it (:func:`~frictionsim.report.html_page.embed_charts`)."""
    md_name, html_name = names
    files = {}
    if md_name is not None:
        bullets = "".join(f"- {line}\n" for line in lines)
        key = f"## Key numbers\n\n{bullets}" if lines else ""
        body = "".join(
            f"\n## {title_}\n\n{caption}\n\n![{title_}]({file})\n"
            for file, title_, caption in charts
        )
        files[md_name] = f"# {title}\n\n{facts} {about}\n\n{key}{body}".encode()
    sizes = {file: png_size(drawn[file]) if file in drawn else PIXELS for file, *_ in charts}
    shown = [(file, t, c, sizes[file]) for file, t, c in charts]
    page = html_page(title, facts, about, lines, shown, generator)
    files[html_name] = embed_charts(page, drawn).encode()
    return files


def render_report(
    summary: dict[str, Any],
    distributions: dict[str, Any] | None = None,
    word_of_mouth: dict[str, Any] | None = None,
    overrides: Sequence[str] = (),
    part: int = 0,
    parts: int = 1,
    notes: Sequence[str] = (),
) -> dict[str, bytes]:
    """Every chart the data allows (PNG), ``report.md`` and ``report.html``, by file name.
    ``overrides``: the ``--set`` values of the run, shown in every title and the report;
    ``notes``: lines about how its replications were chosen
    (:func:`~frictionsim.report.notes.run_notes`).

    ``report.html`` is one self-contained file, every chart inside it.

    ``part`` of ``parts``: only the charts :func:`~frictionsim.report.parts.share` gives
    that part (the pages with the first part, ``report.html`` holding that part's charts
    only), so that processes can draw a report together;
    :func:`frictionsim.results.drawing.merge_parts` puts their files back in order and
    the other charts into ``report.html``."""
    plan = chart_plan(summary, distributions, word_of_mouth, overrides)
    mine = set(share([name for name, *_ in plan], parts)[part])
    files = {name: render_png(draw) for name, _, _, draw in plan if name in mine}
    if part != 0:
        return files
    listed = [(name, title, caption) for name, title, caption, _ in plan]
    summary = _labelled(summary, overrides)
    lines = key_numbers(summary)
    if overrides:
        lines.insert(0, f"**Overrides**: {', '.join(f'--set {o}' for o in overrides)}.")
    lines.extend(notes)
    title = f"{summary['scenario']}: checkout report"
    return {**files, **page_files(title, *_about(summary), lines, listed, files)}
