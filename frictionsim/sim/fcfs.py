"""One step with ``capacity``: its first-come-first-served queue, customer by customer.

Taken in the order they reach the step, a customer starts at the later of their
arrival and the moment the earliest unit is free, unless their irritation
reaches their limit while they wait (``(limit - irritation) / wait rate`` after
joining): then they renege at that moment, never holding a unit. Otherwise
they hold it for every attempt, as the SimPy engine's customer does
(:mod:`.simpy_engine`), with the same float operations in the same order, so
the numbers are the SimPy engine's to the last bit.

:func:`walk` is plain Python over scalars. With numba installed
(``pip install 'frictionsim[fast]'``) the same function is compiled (no
``fastmath``: IEEE arithmetic, the same results); without it, it runs as
Python over lists. ``FRICTIONSIM_NUMBA=0`` keeps it in Python.
"""

from __future__ import annotations

import heapq
import os
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

#: What :func:`walk` returns in ``status`` per customer.
DONE, LOST = 0, 1


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
    cap: int,
) -> tuple:
    """Walk the customers (in the order they reach the step, times ascending) through
    the queue and their attempts.

    ``durs[a][k]`` and ``errs[a][k]`` are customer k's duration and error draw of
    attempt a (``durs`` unused when ``dur_const >= 0``; ``errs`` when not ``failing``).

    Returns per customer the moment they leave the step, their irritation then and
    ``DONE`` or ``LOST`` (friction at the step); the waits and the moments they
    ended (``n_waits`` of them); the times units were held and the moments they were
    released (``n_holds``); the reneging customers, failed attempts and the most
    units in use at once; and ``tie``: two events at the same instant, whose order
    only SimPy's event queue knows (the results are then not to be used).
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
    max_busy = 0
    units = [-np.inf for _ in range(cap)]  # when each unit is free next (a heap)
    held = [0.0]  # release times of the units in use (a heap; typed by its first item)
    held.pop()
    for k in range(n):
        t = arrive[k]
        x = irr_in[k]
        lim = lim_in[k]
        sn = sens_in[k]
        while len(held) > 0 and held[0] < t:
            heapq.heappop(held)
        if len(held) > 0 and held[0] == t:  # a unit is released as they arrive
            return end, irr_out, status, waits, wait_ends, 0, holds, releases, 0, 0, 0, 0, True
        free = units[0]
        handed = False
        if free < t:  # a unit is free: they take it
            start = t
        else:  # every unit is busy: they queue
            rate = wait_irr * sn
            if rate > 0:
                gives_up = t + (lim - x) / rate
                if gives_up < free:  # they renege, never holding a unit
                    waits[n_waits] = gives_up - t
                    wait_ends[n_waits] = gives_up
                    n_waits += 1
                    reneged += 1
                    end[k] = gives_up
                    irr_out[k] = lim
                    status[k] = LOST
                    continue
                if gives_up == free:
                    return (
                        end, irr_out, status, waits, wait_ends, 0, holds, releases, 0, 0, 0, 0,
                        True,
                    )  # fmt: skip
            start = free
            waits[n_waits] = free - t
            wait_ends[n_waits] = free
            n_waits += 1
            x += (free - t) * rate
            handed = True
        clock = start
        time_rate = time_irr * sn
        p = p_in[k]
        out = False
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
                if x >= lim or a == n_att - 1:
                    out = True
                    break
            else:
                break
        if handed:
            if clock == start:  # handed on and gone at the same instant
                return end, irr_out, status, waits, wait_ends, 0, holds, releases, 0, 0, 0, 0, True
            heapq.heapreplace(held, clock)
        else:
            heapq.heappush(held, clock)
            if len(held) > max_busy:
                max_busy = len(held)
        heapq.heapreplace(units, clock)
        holds[n_holds] = clock - start
        releases[n_holds] = clock
        n_holds += 1
        end[k] = clock
        irr_out[k] = x
        if out:
            status[k] = LOST
    return (
        end, irr_out, status, waits, wait_ends, n_waits, holds, releases, n_holds,
        reneged, failed, max_busy, False,
    )  # fmt: skip


def _compile() -> Callable[..., tuple] | None:
    if os.environ.get("FRICTIONSIM_NUMBA", "1") == "0":
        return None
    try:
        import numba
    except ImportError:
        return None
    return numba.njit(cache=True, nogil=True)(walk)


_compiled: list[Callable[..., tuple] | None] = []


def compiled() -> Callable[..., tuple] | None:
    """:func:`walk` compiled with numba, or ``None`` without numba (made once)."""
    if not _compiled:
        _compiled.append(_compile())
    return _compiled[0]


def run(
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
    cap: int,
    *,
    python: bool = False,
) -> tuple:
    """:func:`walk` over arrays (``durs``, ``errs``: attempts × customers, or ``None``),
    compiled where numba is installed unless ``python``; the numbers are the same."""
    n = arrive.size
    failing = errs is not None
    const = -1.0 if dur_const is None else float(dur_const)
    fast = None if python else compiled()
    if fast is not None:
        empty = np.zeros((1, max(n, 1)))
        with warnings.catch_warnings():  # e.g. no writable cache folder: compiled anyway
            warnings.simplefilter("ignore")
            return fast(
                np.ascontiguousarray(arrive, dtype=np.float64),
                np.ascontiguousarray(irr_in, dtype=np.float64),
                np.ascontiguousarray(lim_in, dtype=np.float64),
                np.ascontiguousarray(sens_in, dtype=np.float64),
                np.ascontiguousarray(p_in, dtype=np.float64),
                empty if durs is None else np.ascontiguousarray(durs, dtype=np.float64),
                const,
                empty if errs is None else np.ascontiguousarray(errs, dtype=np.float64),
                int(n_att),
                failing,
                float(wait_irr),
                float(time_irr),
                float(err_irr),
                int(cap),
            )
    return walk(
        arrive.tolist(),
        irr_in.tolist(),
        lim_in.tolist(),
        sens_in.tolist(),
        p_in.tolist(),
        None if durs is None else durs.tolist(),
        const,
        None if errs is None else errs.tolist(),
        n_att,
        failing,
        wait_irr,
        time_irr,
        err_irr,
        cap,
    )


__all__ = ["DONE", "LOST", "compiled", "run", "walk"]
