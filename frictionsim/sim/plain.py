"""A step without ``capacity`` for a batch of the fast path, customer by customer, compiled.

:func:`walk` does for the customers at one step what the fast path's array code does
(:func:`frictionsim.sim.fastpath._walk`): entry irritation, the irritation histogram,
leaving at the limit or by the step's exit, every attempt's duration (irritation
growing with the time where ``time_irritation`` is set), errors and retries, the
fallback, commitment, the remembered moment, the minutes in the step (exact fixed-point
sums, :func:`~frictionsim.sim.result.fixed_sum`) and the branch taken. It does the same
float operations on each customer in the same order, so the numbers are the same to the
last bit; counts and fixed-point sums do not depend on the order customers are taken in.

It is used only where numba compiles it (``pip install 'frictionsim[fast]'``; no
``fastmath``: IEEE arithmetic). Without numba, or with ``FRICTIONSIM_NUMBA=0``, the
array code runs instead, with the same results (the tests run both).
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from .codes import EXIT, FRICTION
from .result import (
    FIXED_CAP,
    LOW_BITS,
    LOW_MASK,
    SQ_FINE,
    SQ_SPLIT,
    THROUGH_SCALE,
    THROUGH_SQ_SCALE,
)

#: Slots of ``counts`` (per step, added to the run's counters).
ENTERED, ABANDONED_EXIT, ABANDONED_FRICTION, FAILED, FELL_BACK = range(5)
#: Slots of ``sums``: high and low bits of the fixed-point minutes, fine squares, coarse.
N_SUMS = 6


def walk(  # pragma: no cover - compiled; the array code is its reference
    idx: Any, seg: Any, now: Any, irr: Any, limit: Any, start: Any, peak: Any, last: Any,
    where: Any, outcome: Any, lost_at: Any, entered_at: Any, sens_of: Any, commit_of: Any,
    exit_u: Any, dur: Any, err: Any, branch_u: Any, i: int, entry: float, irr_scale: float,
    top: int, exits: bool, exit_of: Any, exit_slope: float, attempts: int, constant: bool,
    dur_const: float, time_irr: float, failing: bool, err_p_of: Any, err_irr: float,
    fallback: int, commits: bool, single: bool, next_single: int, next_to: Any, cum: Any,
    hist: Any,
    counts: Any, sums: Any,
) -> None:  # fmt: skip
    """Customers ``idx`` (rows of the batch's columns) through step ``i``; the columns,
    ``hist`` (segment × bin), ``counts`` and ``sums`` are updated in place."""
    counts[ENTERED] += idx.size
    for k in range(idx.size):
        j = idx[k]
        g = seg[j]
        sens = sens_of[g]
        start[j] = irr[j]
        entered_at[j] = now[j]
        x = irr[j] + entry * sens
        if entry < 0 and x < 0.0:  # relief lowers irritation, never below 0
            x = 0.0
        irr[j] = x
        b = x * irr_scale
        if b > top:
            b = top
        hist[g, np.int64(b)] += 1
        lost = x >= limit[j]
        gone = False  # left by the exit
        if not lost and exits:
            p = exit_of[g]
            if exit_slope:
                p = min(1.0, p + exit_slope * x)
            gone = exit_u[j] < p
        routed = False
        if not lost and not gone:
            rate = time_irr * sens
            passed = False
            for a in range(attempts):
                d = dur_const if constant else dur[j, a]
                if time_irr > 0:
                    if d > 0:
                        felt = irr[j] + rate * d
                        if felt >= limit[j]:  # the limit is reached mid-attempt
                            now[j] = now[j] + (limit[j] - irr[j]) / rate
                            irr[j] = limit[j]
                            lost = True
                            break
                        now[j] = now[j] + d
                        irr[j] = felt
                elif constant:
                    if dur_const > 0:
                        now[j] = now[j] + dur_const
                elif d > 0:
                    now[j] = now[j] + d
                if not failing:
                    passed = True
                    break
                if not err[j, a] < err_p_of[g]:
                    passed = True
                    break
                counts[FAILED] += 1
                irr[j] = irr[j] + err_irr * sens
                if a == attempts - 1:
                    if fallback < 0:
                        lost = True  # max_attempts failures: they give up
                    elif irr[j] >= limit[j]:
                        lost = True
                    else:
                        routed = True  # on to the fallback
                    break
                if irr[j] >= limit[j]:
                    lost = True
                    break
            if passed:  # minutes and their square in fixed point, as result.fixed_sum
                took = now[j] - entered_at[j]  # rounds them: high and low bits apart
                y = took * THROUGH_SCALE
                if y > FIXED_CAP:
                    y = FIXED_CAP
                q = np.int64(np.rint(y))
                sums[0] += q >> LOW_BITS
                sums[1] += q & LOW_MASK
                sq = took * took
                at = 2 if sq < SQ_SPLIT else 4  # the fine tier, or the coarse one
                y = sq * (SQ_FINE if sq < SQ_SPLIT else THROUGH_SQ_SCALE)
                if y > FIXED_CAP:
                    y = FIXED_CAP
                q = np.int64(np.rint(y))
                sums[at] += q >> LOW_BITS
                sums[at + 1] += q & LOW_MASK
                if commits:
                    limit[j] = limit[j] + commit_of[g]
        if lost or gone:
            outcome[j] = FRICTION if lost else EXIT
            where[j] = -2
            lost_at[j] = i
            counts[ABANDONED_FRICTION if lost else ABANDONED_EXIT] += 1
            continue
        felt = irr[j] - start[j]  # completed, or on to the fallback: a moment
        if felt != 0.0:
            if felt > peak[j]:
                peak[j] = felt
            last[j] = felt
        if routed:
            counts[FELL_BACK] += 1
            where[j] = fallback
        elif single:  # one way on (END included)
            where[j] = next_single
        else:
            where[j] = next_to[np.searchsorted(cum[g], branch_u[j], side="right")]


def _compile() -> Callable[..., None] | None:
    from .fcfs import _use_numba, jit  # numba is loaded here, when first needed

    if not _use_numba():
        return None
    return jit(walk, nogil=True)


_compiled: list[Callable[..., None] | None] = []
_compiling = threading.Lock()  # threads of one worker (a Dask worker's) compile it once


def compiled() -> Callable[..., None] | None:
    """:func:`walk` compiled with numba, or ``None`` without numba (made once)."""
    if not _compiled:
        with _compiling:
            if not _compiled:
                with warnings.catch_warnings():  # e.g. no writable cache folder: compiled
                    warnings.simplefilter("ignore")
                    _compiled.append(_compile())
    return _compiled[0]


__all__ = ["N_SUMS", "compiled", "walk"]
