"""Exact results of queueing theory, to validate the engine against.

Notation: arrival rate ``lam``, service rate ``mu`` per server, ``n`` servers,
abandonment rate ``theta`` (mean patience ``1/theta``), offered load
``a = lam / mu``. Erlang-A (M/M/n+M) values come from the birth–death chain
of the number in system (Garnett, Mandelbaum & Reiman 2002; Mandelbaum &
Zeltyn, "The Palm/Erlang-A queue"): states ``k = 0..K``, birth ``lam``, death
``min(k, n) * mu + max(k - n, 0) * theta``. By PASTA an arrival waits with
probability ``P(N >= n)``; ``E[Lq] = sum((k - n)+ * pi_k)``, ``P(abandon) =
theta * E[Lq] / lam`` and the mean wait over all arrivals is ``E[Lq] / lam``.

In frictionsim terms: a step with ``capacity: n``, exponential duration of
mean ``1/mu``, ``wait_irritation: 1`` and a segment whose tolerance is
exponential with mean ``1/theta`` (no other irritation) is this queue.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class QueueMetrics:
    p_wait: float  # P(an arrival waits)
    p_abandon: float  # P(an arrival abandons while waiting)
    mean_wait: float  # mean time in queue over all arrivals (abandoners included)
    mean_queue: float  # E[Lq]


def erlang_b(a: float, n: int) -> float:
    """Blocking probability of M/M/n/n with offered load ``a``."""
    b = 1.0
    for k in range(1, n + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(lam: float, mu: float, n: int) -> QueueMetrics:
    """M/M/n with infinite patience (requires ``lam < n * mu``)."""
    a = lam / mu
    if a >= n:
        raise ValueError(f"unstable: offered load {a} >= {n} servers")
    b = erlang_b(a, n)
    c = n * b / (n - a * (1 - b))
    wq = c / (n * mu - lam)
    return QueueMetrics(p_wait=c, p_abandon=0.0, mean_wait=wq, mean_queue=lam * wq)


def erlang_a(lam: float, mu: float, theta: float, n: int, tail: float = 1e-15) -> QueueMetrics:
    """M/M/n+M: Poisson arrivals, exponential service and exponential patience."""
    if theta <= 0:
        return erlang_c(lam, mu, n)
    # unnormalised log-probabilities of the birth-death chain, until the tail is negligible
    logp = [0.0]
    k = 0
    while True:
        k += 1
        death = min(k, n) * mu + max(k - n, 0) * theta
        logp.append(logp[-1] + np.log(lam / death))
        if k > n + lam / theta and logp[-1] - max(logp) < np.log(tail):
            break
    p = np.exp(np.asarray(logp) - max(logp))
    p /= p.sum()
    states = np.arange(p.size)
    lq = float(np.sum(np.maximum(states - n, 0) * p))
    return QueueMetrics(
        p_wait=float(p[n:].sum()),
        p_abandon=theta * lq / lam,
        mean_wait=lq / lam,
        mean_queue=lq,
    )
