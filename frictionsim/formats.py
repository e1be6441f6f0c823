"""How numbers are written for people: money, counts, rates, minutes.

One set of formatters for the console, the report and verdict lines. Money is
abbreviated for slides (``950``, ``12.3k``, ``1.25M``) and carries the
scenario's currency when it has one (``economics.currency``; a known code gets
its symbol, any other code is written before the amount) and nothing otherwise:
never a symbol the scenario did not ask for.
"""

from __future__ import annotations

from typing import Any

#: Symbols of common currency codes; other codes are written before the amount.
CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥"}

MINUS = "−"


def currency_symbol(code: str) -> str:
    """How ``economics.currency`` is written before an amount: ``€`` for ``EUR``,
    ``CHF `` for ``CHF``, nothing when the scenario names no currency."""
    code = code.strip()
    if not code:
        return ""
    return CURRENCY_SYMBOLS.get(code.upper(), f"{code} ")


def money(x: float, currency: str = "", signed: bool = False) -> str:
    """``x`` in currency units, abbreviated: ``€950``, ``12.3k``, ``+1.25M``; ``currency``
    is a symbol from :func:`currency_symbol`."""
    sign = MINUS if x < 0 else ("+" if signed else "")
    a = abs(x)
    if a >= 1e6:
        text = f"{a / 1e6:.2f}M"
    elif a >= 1e4:
        text = f"{a / 1e3:.0f}k"
    elif a >= 1e3:
        text = f"{a / 1e3:.1f}k"
    else:
        text = f"{a:.0f}"
    return f"{sign}{currency}{text}"


def money_range(lo: float, hi: float, currency: str = "") -> str:
    """A 95 % CI of money: ``12.3k–14.1k``, or ``−1.2k to 3.4k`` across zero."""
    dash = "–" if lo >= 0 or hi < 0 else " to "
    return f"{money(lo, currency)}{dash}{money(hi, currency)}"


#: Minutes in a year of 365 days: a figure per horizon times this over the horizon.
MINUTES_PER_YEAR = 365 * 24 * 60


def horizon_words(minutes: float) -> str:
    """``per simulated week`` for 7 days, ``per simulated 3 days`` for 3, ..."""
    named = {60.0: "hour", 1440.0: "day", 10080.0: "week"}
    if minutes in named:
        return f"per simulated {named[minutes]}"
    if minutes % 1440 == 0:
        return f"per simulated {minutes / 1440:g} days"
    if minutes % 60 == 0:
        return f"per simulated {minutes / 60:g} hours"
    return f"per simulated {minutes:g} minutes"


def verdict(
    design: str,
    reference: str,
    differences: dict[str, dict[str, Any]],
    horizon_minutes: float,
    currency: str = "",
) -> str:
    """One line a strategist can paste into a slide, from conversion and revenue
    differences: money per simulated horizon and, at the horizon's rate, per year."""
    conv, rev = differences["conversion_rate"], differences["revenue"]
    if conv["mean"] is None:
        return f"{design}: no visitors, nothing to compare with {reference}"
    pp = conv["mean"] * 100
    # "converts 12.6 pp less", never "-12.6 pp less"
    text = f"{design} converts {'+' if pp >= 0 else ''}{abs(pp):.1f} pp"
    if conv["ci95"]:
        lo, hi = (x * 100 for x in conv["ci95"])
        if pp < 0:  # the interval of the shortfall
            lo, hi = -hi, -lo
        dash = "–" if lo >= 0 else " to "
        text += f" (95% CI {lo:.1f}{dash}{hi:.1f})"
    text += f" {'more' if pp >= 0 else 'less'} than {reference}"
    if rev["mean"] is not None:
        text += f"; revenue {money(rev['mean'], currency, signed=True)}"
        text += f" {horizon_words(horizon_minutes)}"
        if rev["ci95"]:
            lo, hi = rev["ci95"]
            text += f" (95% CI {money(lo, currency, True)} to {money(hi, currency, True)})"
        yearly = rev["mean"] * MINUTES_PER_YEAR / horizon_minutes
        text += f", {money(yearly, currency, signed=True)} a year"
    if conv["significant"]:
        text += "; significant"
    else:
        text += "; not significant (the interval includes 0)"
    return text


__all__ = [
    "CURRENCY_SYMBOLS",
    "MINUTES_PER_YEAR",
    "currency_symbol",
    "horizon_words",
    "money",
    "money_range",
    "verdict",
]
