"""One step with ``capacity``: its first-come-first-served queue, customer by customer.

Taken in the order they reach the step, a customer starts at the later of their
arrival and the moment the earliest unit is free, unless their irritation
reaches their limit while they wait (``(limit - irritation) / wait rate`` after
joining): then they renege at that moment, never holding a unit. Otherwise
they hold it for every attempt, as the SimPy engine's customer does
(:mod:`.simpy_engine`), with the same float operations in the same order, so
the numbers are the SimPy engine's to the last bit. The queue's state (when
each unit is free next, which are in use) carries from one call to the next, so
the customers can come in batches: every batch after every customer who reached
the step before it.

:func:`walk` is plain Python over scalars. With numba installed
(``pip install 'frictionsim[fast]'``) the same function is compiled (no
``fastmath``: IEEE arithmetic, the same results); without it, it runs as
Python over lists. ``FRICTIONSIM_NUMBA=0`` keeps it in Python.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np


def _use_numba() -> bool:
    if os.environ.get("FRICTIONSIM_NUMBA", "1") == "0":
        return False
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def jit(function: Callable, **options: Any) -> Callable:
    """``function`` compiled by numba (``options`` as ``numba.njit``'s), its machine code
    cached on disk where numba finds a writable place (the package's ``__pycache__``,
    ``~/.cache`` or ``NUMBA_CACHE_DIR``), else compiled again in each process."""
    import numba

    try:
        return numba.njit(cache=True, **options)(function)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return numba.njit(cache=False, **options)(function)


if _use_numba():
    from numba.extending import register_jitable as _jitable
else:

    def _jitable(function: Callable) -> Callable:
        return function


#: What :func:`walk` returns in ``status`` per customer: completed the step, lost there
#: (friction), or failed every attempt and on to the step's fallback.
DONE, LOST, ROUTED = 0, 1, 2


@_jitable
def _sift_down(h: Any, n: int, pos: int) -> None:
    """Restore the min-heap ``h[:n]`` below ``pos`` (whose item may be too large)."""
    x = h[pos]
    while True:
        child = 2 * pos + 1
        if child >= n:
            break
        if child + 1 < n and h[child + 1] < h[child]:
            child += 1
        if h[child] < x:
            h[pos] = h[child]
            pos = child
        else:
            break
    h[pos] = x


@_jitable
def _sift_up(h: Any, pos: int) -> None:
    """Restore the min-heap ``h[:pos + 1]`` above ``pos`` (whose item may be too small)."""
    x = h[pos]
    while pos > 0:
        parent = (pos - 1) // 2
        if x < h[parent]:
            h[pos] = h[parent]
            pos = parent
        else:
            break
    h[pos] = x


@_jitable
def _push(h: Any, n: int, x: float) -> int:
    """Add ``x`` to the min-heap ``h[:n]`` (which has room); its new size."""
    h[n] = x
    _sift_up(h, n)
    return n + 1


@_jitable
def _pop(h: Any, n: int) -> int:
    """Drop the least item of the min-heap ``h[:n]``; its new size."""
    n -= 1
    h[0] = h[n]
    _sift_down(h, n, 0)
    return n


class State:
    """A queue between batches: when each unit is free next (``units``, a heap), the
    release times of the units in use (``held[:n_held]``, a heap), the most units in
    use at once and, where customers may balk, when each customer now waiting leaves
    the queue (``queued[:n_queued]``, a heap). Lists for the Python kernel, arrays for
    the compiled one."""

    def __init__(self, cap: int, python: bool) -> None:
        self.python = python
        self.units: Any = [-np.inf] * cap if python else np.full(cap, -np.inf)
        self.held: Any = [0.0] * cap if python else np.zeros(cap)
        self.n_held = 0
        self.max_busy = 0
        self.queued: Any = [] if python else np.zeros(0)
        self.n_queued = 0

    def room(self, more: int) -> None:
        """Make ``queued`` hold ``more`` customers beyond those waiting now."""
        need = self.n_queued + more
        if len(self.queued) >= need:
            return
        if self.python:
            self.queued.extend([0.0] * (need - len(self.queued)))
        else:
            grown = np.zeros(max(need, 2 * len(self.queued)))
            grown[: self.n_queued] = self.queued[: self.n_queued]
            self.queued = grown


def walk(
    arrive: Any,
    irr_in: Any,
    lim_in: Any,
    sens_in: Any,
    p_in: Any,
    durs: Any,
    dur_const: float,
    errs: Any,
    n_att: int,
    failing: bool,
    wait_irr: float,
    time_irr: float,
    err_irr: float,
    units: Any,
    held: Any,
    n_held: int,
    max_busy: int,
    balk_at: int,
    queued: Any,
    n_queued: int,
    fallback: bool,
) -> tuple:
    """Walk the customers (in the order they reach the step, times ascending) through
    the queue and their attempts, from the queue's state (``units`` and ``held`` are
    updated in place; see :class:`State`).

    ``durs[a][k]`` and ``errs[a][k]`` are customer k's duration and error draw of
    attempt a (``durs`` unused when ``dur_const >= 0``; ``errs`` when not ``failing``).

    Returns per customer the moment they leave the step, their irritation then and
    ``DONE`` or ``LOST`` (friction at the step); the waits and the moments they
    ended (``n_waits`` of them); the times units were held and the moments they were
    released (``n_holds``); the reneging customers, failed attempts, units in use
    and most in use at once; ``tie``: two events at the same instant, whose order
    only SimPy's event queue knows (nothing else returned is then to be used); and,
    with ``balk_at`` ≥ 0 (a customer who finds that many waiting does not join), the
    customers who balked and those still waiting (``queued`` has room for every
    customer of the call beyond them).
    """
    n = len(arrive)
    end = np.empty(n)
    irr_out = np.empty(n)
    status = np.zeros(n, dtype=np.int8)
    waits = np.empty(n)
    wait_ends = np.empty(n)
    holds = np.empty(n)
    releases = np.empty(n)
    n_waits = 0
    n_holds = 0
    reneged = 0
    failed = 0
    balked = 0
    tie = False
    for k in range(n):
        t = arrive[k]
        x = irr_in[k]
        lim = lim_in[k]
        sn = sens_in[k]
        while n_held > 0 and held[0] < t:  # units released before they arrive
            n_held = _pop(held, n_held)
        if n_held > 0 and held[0] == t:  # a unit is released as they arrive
            tie = True
            break
        if balk_at >= 0:
            while n_queued > 0 and queued[0] < t:  # left the queue before they arrive
                n_queued = _pop(queued, n_queued)
            if n_queued > 0 and queued[0] == t:
                tie = True
                break
        free = units[0]
        handed = False
        start = t
        if free >= t:  # every unit is busy: they queue
            if 0 <= balk_at <= n_queued:  # unless the queue is too long: they go
                balked += 1
                end[k] = t
                irr_out[k] = x
                status[k] = LOST
                continue
            rate = wait_irr * sn
            if rate > 0:
                gives_up = t + (lim - x) / rate
                if gives_up == free:
                    tie = True
                    break
                if gives_up < free:  # they renege, never holding a unit
                    if balk_at >= 0:
                        n_queued = _push(queued, n_queued, gives_up)
                    waits[n_waits] = gives_up - t
                    wait_ends[n_waits] = gives_up
                    n_waits += 1
                    reneged += 1
                    end[k] = gives_up
                    irr_out[k] = lim
                    status[k] = LOST
                    continue
            start = free
            if balk_at >= 0:
                n_queued = _push(queued, n_queued, free)
            waits[n_waits] = free - t
            wait_ends[n_waits] = free
            n_waits += 1
            x += (free - t) * rate
            handed = True
        clock = start
        time_rate = time_irr * sn
        p = p_in[k]
        out = False
        routed = False
        for a in range(n_att):
            d = dur_const if dur_const >= 0 else durs[a][k]
            if d > 0:
                if time_rate > 0:
                    if x + time_rate * d >= lim:  # the limit is reached mid-attempt
                        clock = clock + (lim - x) / time_rate
                        x = lim
                        out = True
                        break
                    clock = clock + d
                    x += time_rate * d
                else:
                    clock = clock + d
            if failing and p > 0 and errs[a][k] < p:
                failed += 1
                x += err_irr * sn
                if x >= lim or (a == n_att - 1 and not fallback):
                    out = True
                    break
                if a == n_att - 1:  # every attempt failed: on to the fallback
                    routed = True
                    break
            else:
                break
        if handed:
            if clock == start:  # handed on and gone at the same instant
                tie = True
                break
            held[0] = clock  # the unit passes on: its release is theirs now
            _sift_down(held, n_held, 0)
        else:
            n_held = _push(held, n_held, clock)
            if n_held > max_busy:
                max_busy = n_held
        units[0] = clock
        _sift_down(units, len(units), 0)
        holds[n_holds] = clock - start
        releases[n_holds] = clock
        n_holds += 1
        end[k] = clock
        irr_out[k] = x
        if out:
            status[k] = LOST
        elif routed:
            status[k] = ROUTED
    return (
        end, irr_out, status, waits, wait_ends, n_waits, holds, releases, n_holds,
        reneged, failed, n_held, max_busy, tie, balked, n_queued,
    )  # fmt: skip


def _compile() -> Callable[..., tuple] | None:
    if not _use_numba():
        return None
    return jit(walk, nogil=True)


_compiled: list[Callable[..., tuple] | None] = []


def compiled() -> Callable[..., tuple] | None:
    """:func:`walk` compiled with numba, or ``None`` without numba (made once)."""
    if not _compiled:
        _compiled.append(_compile())
    return _compiled[0]


def run(
    state: State,
    arrive: np.ndarray,
    irr_in: np.ndarray,
    lim_in: np.ndarray,
    sens_in: np.ndarray,
    p_in: np.ndarray,
    durs: np.ndarray | None,
    dur_const: float | None,
    errs: np.ndarray | None,
    n_att: int,
    wait_irr: float,
    time_irr: float,
    err_irr: float,
    balk_at: int = -1,
    fallback: bool = False,
) -> tuple:
    """:func:`walk` over arrays (``durs``, ``errs``: attempts × customers, or ``None``)
    from ``state`` (updated), compiled where numba is installed unless the state is
    Python's; the numbers are the same. Returns what :func:`walk` returns."""
    n = arrive.size
    failing = errs is not None
    const = -1.0 if dur_const is None else float(dur_const)
    fast = None if state.python else compiled()
    if balk_at >= 0:
        state.room(n)
    queued = state.queued if balk_at >= 0 or state.python else np.zeros(1)
    # the compiled kernel takes contiguous float arrays (an empty table for one not
    # given); the Python one lists, and None
    if fast is not None:
        empty = np.zeros((1, max(n, 1)))
        queued = queued if len(queued) else np.zeros(1)

        def col(a: np.ndarray) -> Any:
            return np.ascontiguousarray(a, dtype=np.float64)

        def table(a: np.ndarray | None) -> Any:
            return empty if a is None else col(a)
    else:

        def col(a: np.ndarray) -> Any:
            return a.tolist()

        def table(a: np.ndarray | None) -> Any:
            return None if a is None else a.tolist()

    args = (
        col(arrive), col(irr_in), col(lim_in), col(sens_in), col(p_in), table(durs), const,
        table(errs), int(n_att), failing, float(wait_irr), float(time_irr), float(err_irr),
        state.units, state.held, state.n_held, state.max_busy, int(balk_at), queued,
        state.n_queued, bool(fallback),
    )  # fmt: skip
    if fast is not None:
        with warnings.catch_warnings():  # e.g. no writable cache folder: compiled anyway
            warnings.simplefilter("ignore")
            out = fast(*args)
    else:
        out = walk(*args)
    state.n_held, state.max_busy = int(out[11]), int(out[12])
    state.n_queued = int(out[15])
    return out


__all__ = ["DONE", "LOST", "ROUTED", "State", "compiled", "run", "walk"]
