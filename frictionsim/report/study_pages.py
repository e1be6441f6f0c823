"""The reports of studies: their key numbers in words, around their charts.

Every results folder gets a ``report.md`` and a self-contained ``report.html``, not
only a run's. What a strategist reads first, for each kind of study:

* a comparison: each design's difference from the reference in conversion and
  revenue (and profit, NPS when modelled), each with its 95 % CI and whether it is
  significant, and the step where the design changes most;
* a sweep: the best and the worst point of its metric (the highest and lowest when
  the metric has no better direction), and whether the sweep tells them apart;
* a sensitivity analysis: the base value and the parameters that move the metric
  most (one at a time: their effects with CIs; Sobol: their indices);
* an optimisation: the optimum, its objective, and how probable it is that each
  constraint holds there;
* a ranking of improvements: the steps to fix first, with the revenue a year each
  recovers;
* a calibration: each fitted value ± its standard error and the goodness of fit
  (``NAME.report.html`` beside the calibrated scenario, :func:`calibration_report`).

The documents are the study's JSON (``comparison.json``, ...), read back checked by
:mod:`frictionsim.documents`; a key a document may lack (an older folder) is read with
a default, so a folder that draws its chart also gets its report. Nothing here writes
a file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .. import metrics
from ..formats import MINUTES_PER_YEAR, currency_symbol, horizon_words, money
from .common import FORMATS, KIND_FORMAT, _ci, _clipped, _labelled, fmt_pct, scenario_label
from .page import ci_range, fmt_score, page_files
from .study_charts import comparison_panels, render_study_chart

#: The parameters (sensitivity), steps (improvements) a report names, at most.
TOP = 5


# -- words for numbers ------------------------------------------------------------------------


def _format(metric: str, difference: bool = False) -> Callable[[float], str]:
    """How the report writes the metric at ``metric`` (its path), or a difference of it
    (signed, a rate's in percentage points)."""
    if metrics.lookup(metric) is not None and metrics.kind(metric) == "score":
        return (lambda x: fmt_score(x, True)) if difference else fmt_score
    known = metrics.lookup(metric)
    kind = KIND_FORMAT[known.kind] if known else "number"
    if difference:
        kind = "pp" if kind == "pct" else f"+{kind}"
    return FORMATS[kind]


def _described(d: dict[str, Any] | None, f: Callable[[float], str]) -> str:
    """A mean with its 95 % CI: ``30.8% (95% CI 25.9%–35.8%)``; ``n/a`` without a value."""
    if not d or d.get("mean") is None:
        return "n/a"
    ci = _ci(d)
    return f(float(d["mean"])) + (f" (95% CI {ci_range(*ci, f)}{_clipped(d)})" if ci else "")


def _change(d: dict[str, Any] | None, f: Callable[[float], str], unit: str = "") -> str:
    """A difference with its 95 % CI and whether it is significant: ``+17.0 pp (95% CI
    +16.5 pp to +17.4 pp), significant``; ``unit`` follows the mean (``per day``)."""
    if not d or d.get("mean") is None:
        return "n/a"
    ci = _ci(d)
    text = f(float(d["mean"])) + (f" {unit}" if unit else "")
    if ci:
        text += f" (95% CI {f(ci[0])} to {f(ci[1])}{_clipped(d)})"
    sure = d.get("significant")
    if sure is True:
        text += ", significant"
    elif sure is False:
        text += ", not significant (the interval includes 0)"
    return text


#: A constraint's operator in words.
_OPS = {"<=": "≤", ">=": "≥", "<": "<", ">": ">"}


def _bound(c: dict[str, Any]) -> str:
    """A constraint in words: ``queue: abandon rate ≤ 3.0%``."""
    op = _OPS.get(c["op"], c["op"])
    return f"{metrics.label(c['metric'])} {op} {_format(c['metric'])(float(c['value']))}"


def _value(x: Any) -> str:
    return f"{x:.4g}" if isinstance(x, float) else str(x)


def _point(values: dict[str, Any]) -> str:
    return ", ".join(f"{p} = {_value(v)}" for p, v in values.items())


def _version(document: dict[str, Any]) -> str:
    return f"frictionsim {document.get('frictionsim_version') or 'unknown'}"


def _seed(document: dict[str, Any]) -> str:
    seed = document.get("seed")
    return f"seed {seed}" if seed is not None else "seed unknown"


def _reps(n: Any, each: str = "") -> str:
    if n is None:
        return "replications"
    return f"{n} replication{'' if n == 1 else 's'}{each}"


# -- comparison -------------------------------------------------------------------------------


def _comparison(doc: dict[str, Any]) -> tuple[str, str, str, list[str]]:
    ref, diffs = doc["reference"], doc["differences"]
    levels = doc.get("metrics") or {}
    horizon = doc.get("horizon_minutes")
    per = horizon_words(horizon) if horizon else "per simulated horizon"
    crn = doc["common_random_numbers"]
    designs = doc.get("designs") or [ref, *diffs]
    title = f"{' vs '.join(str(d) for d in designs)}: comparison report"
    facts = (
        f"{len(designs)} designs, {_reps(doc['replications'], ' each')}, {_seed(doc)}, "
        f"{'common random numbers' if crn else 'independent seeds'}, {_version(doc)}."
    )
    about = (
        f"Each difference is a design minus {ref}, "
        + ("paired replication by replication" if crn else "from independent replications")
        + f", with its 95% confidence interval; significant: the interval excludes 0. Money "
        f"is in the scenario's currency units, {per}."
    )
    show_nps = any((m.get("nps") or {}).get("mean") is not None for m in levels.values())
    show_profit = any(
        (m.get("profit") or {}).get("mean") != (m.get("revenue") or {}).get("mean")
        for m in levels.values()
    )
    lines = []
    for name, d in diffs.items():
        conv = d.get("conversion_rate")
        if conv is None or conv.get("mean") is None:
            lines.append(f"**{name}**: no visitors, nothing to compare with {ref}.")
            continue
        money_f = _format("revenue", difference=True)
        text = (
            f"**{name}** vs {ref}: conversion {_change(conv, _format('conversion_rate', True))}; "
            f"revenue {_change(d.get('revenue'), money_f, per)}"
        )
        rev = (d.get("revenue") or {}).get("mean")
        if rev is not None and horizon:
            text += f", {money(rev * MINUTES_PER_YEAR / horizon, signed=True)} a year"
        lines.append(text + ".")
        more = [f"revenue lost to friction {_change(d.get('lost_revenue_friction'), money_f)}"]
        if show_profit and "profit" in d:
            more.append(f"profit {_change(d['profit'], money_f)}")
        if show_nps and "nps" in d:
            more.append(f"NPS {_change(d['nps'], _format('nps', True))}")
        lines.append(f"**{name}, other differences**: {'; '.join(more)}.")
        where = _largest_step_change(d)
        if where is not None:
            step, lost = where
            lines.append(
                f"**{name}, where**: the largest change is at {step}, "
                f"{FORMATS['+count'](lost)} customers lost there (friction and exits)."
            )
    _, same = comparison_panels(doc)
    if same:
        lines.append(
            f"**No difference in any replication** (not drawn): "
            f"{'; '.join(metrics.label(m) for m in same)}."
        )
    return title, facts, about, lines


def _largest_step_change(d: dict[str, Any]) -> tuple[str, float] | None:
    """The step whose customers lost (friction and exits) change most, and by how much."""
    changes: dict[str, float] = {}
    for path, diff in d.items():
        for cause in ("abandoned_friction", "abandoned_exit"):
            if path.startswith("steps.") and path.endswith(f".{cause}"):
                step = path[len("steps.") : -len(cause) - 1]
                changes[step] = changes.get(step, 0.0) + float(diff.get("mean") or 0.0)
    moved = {s: v for s, v in changes.items() if v != 0}
    if not moved:
        return None
    step = max(moved, key=lambda s: abs(moved[s]))
    return step, moved[step]


# -- sweep ------------------------------------------------------------------------------------


def _sweep(doc: dict[str, Any]) -> tuple[str, str, str, list[str]]:
    metric, params = doc["metric"], doc["params"]
    label, f = metrics.label(metric), _format(metric)
    name = doc.get("scenario") or "sweep"
    title = f"{name}: sweep of {' and '.join(params)}"
    points = doc["points"]
    facts = (
        f"{len(points)} points, {_reps(doc['replications'], ' each')} (the same seeds at "
        f"every point), {_seed(doc)}, {_version(doc)}."
    )
    about = (
        f"{label[:1].upper()}{label[1:]} at each point: the mean over replications with its 95% CI."
    )
    valued = [p for p in points if p["metrics"][metric].get("mean") is not None]
    lines: list[str] = []
    if not valued:
        return title, facts, about, [f"**No value**: no point has a value of {label}."]
    better = metrics.better(metric)
    high = max(valued, key=lambda p: p["metrics"][metric]["mean"])
    low = min(valued, key=lambda p: p["metrics"][metric]["mean"])
    best, worst = (low, high) if better == "lower" else (high, low)
    words = ("Best", "Worst") if better else ("Highest", "Lowest")
    for word, p in zip(words, (best, worst)):
        lines.append(
            f"**{word}**: {label} {_described(p['metrics'][metric], f)} at {_point(p['values'])}."
        )
    a, b = best["metrics"][metric], worst["metrics"][metric]
    span = float(a["mean"]) - float(b["mean"])
    apart = ""
    ci_a, ci_b = _ci(a), _ci(b)
    if ci_a and ci_b:
        overlap = ci_a[0] <= ci_b[1] and ci_b[0] <= ci_a[1]
        apart = (
            "; their intervals overlap, so the sweep does not tell them apart"
            if overlap
            else "; their intervals do not overlap"
        )
    lines.append(
        f"**Range**: {label} differs by {_format(metric, True)(abs(span)).lstrip('+')} "
        f"between the two{apart}."
    )
    missing = len(points) - len(valued)
    if missing:
        lines.append(f"**No value** at {missing} of {len(points)} points (no visitors there).")
    return title, facts, about, lines


# -- sensitivity ------------------------------------------------------------------------------


def _sensitivity(doc: dict[str, Any]) -> tuple[str, str, str, list[str]]:
    metric = doc["metric"]
    label, f = metrics.label(metric), _format(metric)
    rows = doc["parameters"]
    title = f"{doc['scenario']}: sensitivity of {label}"
    delta = f"{doc['delta_percent']:g}%"
    if doc["method"] == "sobol":
        facts = (
            f"{len(rows)} parameters varied together within ±{delta} (Sobol), "
            f"{doc.get('evaluations')} runs, {_seed(doc)}, {_version(doc)}."
        )
        about = (
            f"The share of the variance of {label} each parameter explains: alone (first "
            "order, S1) and with its interactions (total, ST), each ± its 95% confidence "
            "half-width; strongest first."
        )

        def idx(x: Any) -> str:
            return "n/a" if x is None else f"{x:.2f}"

        lines = [
            f"**{r.get('rank', k + 1)}. {r['parameter']}**: total ST {idx(r['ST'])} ± "
            f"{idx(r['ST_conf'])}, first order S1 {idx(r['S1'])} ± {idx(r['S1_conf'])}."
            for k, r in enumerate(rows[:TOP])
        ]
        return title, facts, about, lines
    facts = (
        f"{len(rows)} parameters, each {delta} down and up with the others at base, "
        f"{_reps(doc.get('replications'), ' per run')} (the same seeds), {_seed(doc)}, "
        f"{_version(doc)}."
    )
    about = (
        f"Effect: {label} with the parameter up minus with it down, paired replication by "
        "replication, with its 95% CI; significant: the interval excludes 0. Largest "
        "effects first."
    )
    lines = [f"**Base**: {label} {_described(doc.get('base'), f)}."]
    known = [r for r in rows if r["effect"] is not None]
    diff = _format(metric, True)
    for k, r in enumerate(known[:TOP]):
        lines.append(
            f"**{r.get('rank', k + 1)}. {r['parameter']}** ({_value(r['low'])} → "
            f"{_value(r['high'])}): {label} {f(r['low_mean'])} → {f(r['high_mean'])}, "
            f"effect {_change({**r, 'mean': r['effect']}, diff)}."
        )
    significant = sum(1 for r in known if r.get("significant"))
    lines.append(
        f"**Significant**: {significant} of {len(rows)} parameters move {label} (95% CI "
        "excludes 0)."
    )
    skipped = doc.get("skipped") or []
    if skipped:
        lines.append(
            f"**Not varied**: {len(skipped)} parameters whose moved value is not valid "
            f"({', '.join(map(str, skipped[:TOP]))}{', ...' if len(skipped) > TOP else ''})."
        )
    return title, facts, about, lines


# -- optimisation -----------------------------------------------------------------------------


def _optimum(doc: dict[str, Any]) -> tuple[str, str, str, list[str]]:
    objective, params, best = doc["objective"], doc["params"], doc["best"]
    goal = f"{objective['sense']}imise {metrics.label(objective['metric'])}"
    title = f"{doc['scenario']}: optimisation report"
    facts = (
        f"{doc['evaluated_points']} of {doc['grid_points']} points evaluated "
        f"({doc['search']}), {_reps(doc['replications'], ' each')} (the same seeds), "
        f"{_seed(doc)}, {_version(doc)}."
    )
    bounds = "; ".join(_bound(c) for c in doc["constraints"])
    about = (
        f"Objective: {goal}"
        + (f", subject to {bounds}" if bounds else "")
        + ". A point is feasible when the means of its constrained metrics meet their "
        "bounds; figures are means with 95% confidence intervals."
    )
    if not best:
        return (
            title,
            facts,
            about,
            [
                f"**No feasible point**: none of the {doc['evaluated_points']} evaluated points "
                "meets every constraint."
            ],
        )
    lines = [f"**Optimum**: {_point(best)}."]
    optimum = doc.get("optimum") or {}
    if objective["metric"] not in params and optimum.get("objective"):
        f = _format(objective["metric"])
        lines.append(
            f"**Objective**: {metrics.label(objective['metric'])} "
            f"{_described(optimum['objective'], f)}."
        )
    for c in optimum.get("constraints") or []:
        f = _format(c["metric"])
        sure = c.get("probability_holds")
        chance = "" if sure is None else f"; the probability that it holds is {sure:.1%}"
        lines.append(f"**Constraint {_bound(c)}**: {_described(c, f)} at the optimum{chance}.")
    for n in optimum.get("neighbours") or []:
        state = "feasible" if n.get("feasible") else "infeasible"
        text = f"**Next to it**, {_point(n['values'])}: {state}"
        if objective["metric"] not in params and n.get("objective_difference"):
            diff = _format(objective["metric"], True)
            text += f"; objective {_change(n['objective_difference'], diff)}"
        lines.append(text + ".")
    return title, facts, about, lines


# -- improvements -----------------------------------------------------------------------------


def _improvements(doc: dict[str, Any]) -> tuple[str, str, str, list[str]]:
    symbol = currency_symbol(doc.get("currency") or "")
    title = f"{doc['scenario']}: which step to fix first"
    rows = doc["improvements"]
    steps = list(dict.fromkeys(r["step"] for r in rows))
    changes = " and ".join("removed" if c == "remove" else "halved" for c in doc["changes"])
    horizon = doc["horizon_minutes"]
    facts = (
        f"{len(steps)} steps with friction, each with its friction {changes}, "
        f"{_reps(doc['replications'], ' each')} paired with the unchanged design, "
        f"{_seed(doc)}, {_version(doc)}."
    )
    about = (
        "Revenue recovered per year: the revenue of the changed design minus the "
        f"unchanged one's, {horizon_words(horizon)}, annualised; with its 95% CI; "
        "significant: the interval excludes 0."
    )
    lines = []
    base = doc.get("base") or {}
    if base.get("revenue") and base.get("conversion_rate"):
        lines.append(
            f"**Now**: revenue {_described(base['revenue'], lambda x: money(x, symbol))} "
            f"{horizon_words(horizon)}, conversion {_described(base['conversion_rate'], fmt_pct)}."
        )
    ranked = sorted(rows, key=lambda r: r.get("rank") or len(rows))
    yearly = lambda x: money(x, symbol, signed=True)  # noqa: E731
    for k, r in enumerate(ranked[:TOP]):
        d = r.get("differences") or {}
        per_year = {
            **r["revenue_per_year"],
            "significant": (d.get("revenue") or {}).get("significant"),
        }
        text = (
            f"**{r.get('rank', k + 1)}. {r['step']}, friction "
            f"{'removed' if r['change'] == 'remove' else 'halved'}**: revenue "
            f"{_change(per_year, yearly, 'a year')}"
        )
        if d.get("conversion_rate"):
            conv = {**d["conversion_rate"], "significant": None}
            text += f"; conversion {_change(conv, FORMATS['pp'])}"
        if doc.get("profit_differs") and r.get("profit_per_year"):
            text += f"; profit {_change(r['profit_per_year'], yearly, 'a year')}"
        lines.append(text + ".")
    return title, facts, about, lines


# -- the report of a study --------------------------------------------------------------------


_KEY_NUMBERS = {
    "comparison": _comparison,
    "sweep": _sweep,
    "sensitivity": _sensitivity,
    "optimum": _optimum,
    "improvements": _improvements,
}

#: The title and caption of each study's chart in its report.
_CHARTS = {
    "comparison": (
        "Differences from the reference",
        "Each headline metric's difference from the reference, a bar per design with its "
        "95% CI: blue where the design is better, vermilion where it is worse, pale where "
        "the difference is not significant.",
    ),
    "sweep": (
        "The metric across the sweep",
        "The metric at every point, mean and 95% CI (a curve with its band, or a heatmap "
        "over a grid of two parameters).",
    ),
    "sensitivity": (
        "What moves the metric",
        "The strongest parameters, widest effect on top.",
    ),
    "optimum": (
        "The search",
        "The objective and each constrained metric at every evaluated point, mean and 95% "
        "CI, the bounds dashed and the optimum dotted.",
    ),
    "improvements": (
        "Which step to fix first",
        "Revenue recovered per year by removing (and halving) each step's friction, with "
        "its 95% CI, best first.",
    ),
}


def study_key_numbers(kind: str, document: dict[str, Any]) -> list[str]:
    """The key numbers of a study's ``document`` in words (Markdown bullets without the
    dash); ``kind``: ``comparison``, ``sweep``, ``sensitivity``, ``optimum`` or
    ``improvements``."""
    return _KEY_NUMBERS[kind](document)[3]


def render_study_report(
    kind: str, document: dict[str, Any], overrides: Sequence[str] = ()
) -> dict[str, bytes]:
    """The chart of a study's ``document`` (:func:`render_study_chart`), its
    ``report.md`` and its self-contained ``report.html``, by file name; ``overrides``
    (the ``--set`` values of the study) follow the scenario's name everywhere."""
    name, png = render_study_chart(kind, document, overrides)
    shown = _labelled(document, overrides)
    if kind == "comparison" and overrides:
        shown = {**shown, "reference": scenario_label(shown["reference"], overrides)}
    title, facts, about, lines = _KEY_NUMBERS[kind](shown)
    if overrides:
        lines.insert(0, f"**Overrides**: {', '.join(f'--set {o}' for o in overrides)}.")
    chart_title, caption = _CHARTS[kind]
    return {
        name: png,
        **page_files(title, facts, about, lines, [(name, chart_title, caption)], {name: png}),
    }


# -- calibration ------------------------------------------------------------------------------


def calibration_key_numbers(document: dict[str, Any]) -> list[str]:
    """The key numbers of a calibration in words: each fitted value ± its standard error,
    the goodness of fit, the step fitted worst, and the warnings (a fit that did not
    converge among them)."""
    lines = []
    for p in document["parameters"]:
        se = p.get("se")
        err = f"{se:.3g}" if isinstance(se, float) and se == se else "unknown"
        what = " (multiplies every segment's tolerance)" if p.get("kind") == "tolerance" else ""
        lines.append(
            f"**{p['name']}** = {p['value']:.4g} ± {err} (standard error){what}; it started "
            f"at {p['start']:.4g}."
        )
    dof, p_value = document["degrees_of_freedom"], document.get("p_value")
    gof = f"deviance {document['deviance']:.2f} on {dof} degrees of freedom"
    if p_value is None:
        verdict = "no degrees of freedom are left to test the fit"
    elif p_value >= 0.05:
        verdict = f"p = {p_value:.3g}: the observed pass rates are consistent with the model"
    else:
        verdict = f"p = {p_value:.3g}: the model misses some of the observed pass rates"
    lines.append(f"**Goodness of fit**: {gof}, {verdict}.")
    gaps = [
        r
        for r in document["rows"]
        if r["observed_rate"] == r["observed_rate"] and r["simulated_rate"] == r["simulated_rate"]
    ]
    if gaps:
        r = max(gaps, key=lambda r: abs(r["observed_rate"] - r["simulated_rate"]))
        where = f"{r['segment']}: {r['step']}" if r.get("segment") else r["step"]
        lines.append(
            f"**Largest gap**: at {where}, observed pass rate {fmt_pct(r['observed_rate'])} "
            f"vs simulated {fmt_pct(r['simulated_rate'])}."
        )
    timed = {p.get("name", "").removeprefix("steps.").removesuffix(".duration")
             for p in document["parameters"] if p.get("kind") == "duration"}  # fmt: skip
    times = [
        f"{r['step']} {r['observed_minutes']:.3g} vs {r['simulated_minutes']:.3g}"
        for r in document["rows"]
        if r["step"] in timed
        and isinstance(r.get("observed_minutes"), float)
        and isinstance(r.get("simulated_minutes"), float)
    ]
    if times:
        lines.append(
            "**Minutes to go on from a step** (observed vs simulated, where durations were "
            f"fitted): {'; '.join(times)}."
        )
    # the warnings say when the optimiser did not converge, and what to do
    lines += [f"**Warning**: {w}." for w in document.get("warnings") or []]
    return lines


def calibration_report(
    document: dict[str, Any], fit_chart: str, fit_png: bytes, generator: str
) -> bytes:
    """The self-contained HTML report of a calibration: its key numbers and the fit
    chart (``fit_chart``, the chart's file name, and ``fit_png``, its bytes) inside it;
    ``generator``, the page's ``<meta name="generator">``, says who wrote it.
    ``document``: ``scenario``, ``out`` (the calibrated scenario's file name),
    ``funnel_file``, ``seed``, ``replications``, ``simulated_visitors``,
    ``evaluations``, ``converged``, ``frictionsim_version``, ``parameters`` (``name``,
    ``kind``, ``start``, ``value``, ``se``), ``deviance``, ``degrees_of_freedom``,
    ``p_value``, ``warnings`` and ``rows`` (those of ``NAME.fit.csv``)."""
    title = f"{document['scenario']}: calibration report"
    facts = (
        f"Calibrated scenario {document['out']}, fitted to {document['funnel_file']}; "
        f"{_seed(document)}, {document['evaluations']} evaluations of "
        f"{_reps(document['replications'])} ({document['simulated_visitors']:,} simulated "
        f"visitors), {_version(document)}."
    )
    about = (
        "Each fitted value ± its standard error, from the Fisher information of the "
        "observed counts; pass rate = completed / entered, with 95% Wilson intervals."
    )
    chart = (
        fit_chart,
        "Observed vs simulated",
        "Pass rate of each observed step, observed and simulated with the fitted values, "
        "each with its 95% Wilson interval; n is the observed entries.",
    )
    files = page_files(
        title, facts, about, calibration_key_numbers(document), [chart], {fit_chart: fit_png},
        names=(None, "report.html"), generator=generator,
    )  # fmt: skip
    return files["report.html"]


__all__ = [
    "TOP",
    "calibration_key_numbers",
    "calibration_report",
    "render_study_report",
    "study_key_numbers",
]
