"""How numbers are written for people: money, counts, rates, minutes.

One set of formatters for the console, the report and verdict lines. Money is
abbreviated for slides (``950``, ``12.3k``, ``1.25M``) and carries the
scenario's currency when it has one (``economics.currency``; a known code gets
its symbol, any other code is written before the amount) and nothing otherwise:
never a symbol the scenario did not ask for.
"""

from __future__ import annotations

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


__all__ = ["CURRENCY_SYMBOLS", "currency_symbol", "money", "money_range"]
