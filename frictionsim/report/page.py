"""The one-page report of a run: its key numbers in words, ``report.md`` and
``report.html``.

:func:`key_numbers` writes what a strategist reads first (conversion, revenue,
lost revenue split into friction and non-friction exits, the worst step, queues,
NPS, word of mouth, profit), each with its 95 % CI. :func:`render_report` draws
every chart :func:`~frictionsim.report.run_charts.chart_plan` allows and the page
around them, in Markdown and in HTML with the same words. It returns bytes by
file name and writes nothing: :mod:`frictionsim.results` writes the files
atomically.
"""

from __future__ import annotations

import html
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
from .run_charts import chart_plan

# -- key numbers ------------------------------------------------------------------------------


def key_numbers(summary: dict[str, Any]) -> list[str]:
    """The key numbers of a run in words (Markdown bullets without the dash)."""
    m = summary["metrics"]
    lines = []

    def ci_words(metric: dict[str, Any], f: Callable[[float], str], more: str = "") -> str:
        ci = _ci(metric)
        ci_text = f"95% CI {f(ci[0])}–{f(ci[1])}{_clipped(metric)}" if ci else ""
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
        signed = lambda x: f"{x:+.1f}"  # noqa: E731
        lines.append(
            f"**NPS of buyers**: {signed(nps['mean'])}{ci_words(nps, lambda x: f'{x:.1f}')}: "
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
    if "profit" in m and _mean(m["profit"]) != revenue:
        lines.append(
            f"**Profit**: {money(_mean(m['profit']))}{ci_words(m['profit'], money)} "
            f"after margin and step costs ({money(_mean(m['step_costs']))})."
        )
    return lines


# -- report.md and report.html ----------------------------------------------------------------


def _about(summary: dict[str, Any]) -> str:
    """The report's first sentence: what the figures are."""
    text = (
        f"{_reps(summary)}, seed {summary.get('seed')}, "
        f"frictionsim {summary.get('frictionsim_version')}. Figures are means per "
        "replication (one simulated horizon) with 95% confidence intervals; money is in "
        "the scenario's currency units."
    )
    if summary.get("replications") == 1:
        text += " One replication is too few replications for confidence intervals."
    elif any(isinstance(m, dict) and m.get("clipped") for m in summary["metrics"].values()):
        text += (
            " An interval marked clipped reached beyond the metric's possible values "
            "(too few replications for its spread) and is cut there."
        )
    return text


def _markdown(summary: dict[str, Any], lines: list[str], charts: list[tuple[str, str, str]]) -> str:
    head = f"# {summary['scenario']}: checkout report\n\n{_about(summary)}\n\n"
    bullets = "".join(f"- {line}\n" for line in lines)
    body = "".join(
        f"\n## {title}\n\n{caption}\n\n![{title}]({file})\n" for file, title, caption in charts
    )
    return head + bullets + body


def _html(summary: dict[str, Any], lines: list[str], charts: list[tuple[str, str, str]]) -> str:
    def inline(text: str) -> str:
        parts = html.escape(text).split("**")
        return "".join(f"<strong>{p}</strong>" if i % 2 else p for i, p in enumerate(parts))

    e = html.escape
    title = f"{summary['scenario']}: checkout report"
    items = "".join(f"<li>{inline(line)}</li>\n" for line in lines)
    figures = "".join(
        f'<h2>{e(t)}</h2>\n<p>{e(c)}</p>\n<img src="{e(f)}" alt="{e(t)}" '
        f'width="{PIXELS[0]}" height="{PIXELS[1]}">\n'
        for f, t, c in charts
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{e(title)}</title>\n"
        "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em}"
        "img{max-width:100%;height:auto}</style>\n</head>\n<body>\n"
        f"<h1>{e(title)}</h1>\n<p>{e(_about(summary), quote=False)}</p>\n"
        f"<ul>\n{items}</ul>\n{figures}</body>\n</html>\n"
    )


def render_report(
    summary: dict[str, Any],
    distributions: dict[str, Any] | None = None,
    word_of_mouth: dict[str, Any] | None = None,
    overrides: Sequence[str] = (),
    part: int = 0,
    parts: int = 1,
) -> dict[str, bytes]:
    """Every chart the data allows (PNG), ``report.md`` and ``report.html``, by file name.
    ``overrides``: the ``--set`` values of the run, shown in every title and the report.

    ``part`` of ``parts``: only every ``parts``-th chart from the ``part``-th (the
    pages with the first part), so that processes can draw a report together;
    :func:`frictionsim.results.drawing.merge_parts` puts their files back in order."""
    plan = chart_plan(summary, distributions, word_of_mouth, overrides)
    files = {name: render_png(draw) for name, _, _, draw in plan[part::parts]}
    if part != 0:
        return files
    listed = [(name, title, caption) for name, title, caption, _ in plan]
    summary = _labelled(summary, overrides)
    lines = key_numbers(summary)
    if overrides:
        lines.insert(0, f"**Overrides**: {', '.join(f'--set {o}' for o in overrides)}.")
    files["report.md"] = _markdown(summary, lines, listed).encode()
    files["report.html"] = _html(summary, lines, listed).encode()
    return files
