"""The flow of a checkout: which step leads where, worked out once.

A scenario's steps form a directed graph. Each step leads to the next listed
step, or to its ``next`` (one step, or branches ``{to, p}``); finishing the last
listed step ends the checkout, written :data:`END`. Everything that follows from
that graph lives here, computed once per scenario and shared by validation, both
engines, calibration and the run estimate:

- the **live** edges: branches of probability 0 are never taken, so they count
  for nothing below (a step reached only through them is never entered);
- **reachability** from the first step, and which steps **can end** the checkout
  (a loop with no way out is refused by validation);
- whether the flow has a **cycle** (the fast path needs none) and a
  **topological order** of the steps (the order the fast path processes them);
- the **linear path**, when every customer meets the steps in one order;
- the **expected visits** of each step by a customer who never leaves, from
  the Markov chain of the branch probabilities (loops make them large).

Every algorithm here is iterative: a flow of thousands of steps needs no deep
recursion.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

#: Where the last listed step leads: the order is complete.
END = -1

Edge = tuple[int, float]  # (step index or END, probability)


@dataclass(frozen=True)
class Flow:
    """The step graph of one scenario; ``successors[i]`` as written, ``p = 0`` included."""

    successors: tuple[tuple[Edge, ...], ...]
    #: Where a step sends those who failed every attempt (``errors.fallback``), and the
    #: chance of that (``p ** max_attempts``, irritation aside): live edges besides.
    fallbacks: tuple[tuple[Edge, ...], ...] = ()
    #: Where a step's ``recovery`` offer sends friction abandoners who take it: live
    #: edges, but no customer who never leaves takes them (so no expected visits).
    rescues: tuple[tuple[int, ...], ...] = ()
    live: tuple[tuple[int, ...], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        extra = self.fallbacks or ((),) * len(self.successors)
        rescues = self.rescues or ((),) * len(self.successors)
        live = tuple(
            tuple(j for j, p in edges if not p <= 0)
            + tuple(j for j, p in more if not p <= 0)
            + back
            for edges, more, back in zip(self.successors, extra, rescues)
        )
        object.__setattr__(self, "live", live)

    @classmethod
    def of_steps(cls, steps: Sequence[object], segments: Sequence[tuple[str, float]] = ()) -> Flow:
        """The flow of validated steps (objects with ``name`` and ``next``, and
        ``by_segment`` where segments branch with their own probabilities): a branch's
        probability is its mean over the ``(segment name, share)`` pairs."""
        index = {s.name: i for i, s in enumerate(steps)}  # type: ignore[attr-defined]
        succ = []
        for i, step in enumerate(steps):
            nxt = step.next  # type: ignore[attr-defined]
            if nxt is None:
                succ.append(((i + 1 if i + 1 < len(steps) else END, 1.0),))
                continue
            own = getattr(step, "by_segment", None) or {}
            ps = [b.p for b in nxt]
            if any(o.next is not None for o in own.values()):
                ps = [0.0] * len(nxt)
                for name, share in segments:
                    o = own.get(name)
                    branches = o.next if o is not None and o.next is not None else nxt
                    p_of = {b.to: b.p for b in branches}
                    for k, b in enumerate(nxt):
                        ps[k] += share * p_of[b.to]
            succ.append(tuple((index[b.to], p) for b, p in zip(nxt, ps)))
        fallbacks = []
        for step in steps:
            errors = getattr(step, "errors", None)
            target = getattr(errors, "fallback", None) if errors is not None else None
            p = float(errors.p) ** errors.max_attempts if target is not None else 0.0
            fallbacks.append(((index[target], p),) if target is not None else ())
        rescues = tuple(
            (index[r.to],) if (r := getattr(step, "recovery", None)) is not None and r.p > 0 else ()
            for step in steps
        )
        return cls(tuple(succ), tuple(fallbacks), rescues)

    @property
    def n(self) -> int:
        return len(self.successors)

    # ------------------------------------------------------------------ graph

    @cached_property
    def reachable(self) -> frozenset[int]:
        """Steps a customer can enter from the first one (:data:`END` included if it can end)."""
        return frozenset(closure([0], lambda i: self.live[i] if i != END else ()))

    @cached_property
    def can_end(self) -> frozenset[int]:
        """Steps from which some path reaches the end of the checkout (and :data:`END`)."""
        into: dict[int, list[int]] = {}
        for i, out in enumerate(self.live):
            for j in out:
                into.setdefault(j, []).append(i)
        return frozenset(closure([END], lambda i: into.get(i, ())))

    @property
    def topological_order(self) -> tuple[int, ...] | None:
        """Steps so that every live edge goes forward (Kahn's algorithm, first ready first),
        or None when the flow has a cycle. Steps reached only through ``p = 0`` branches
        have no live edge in, so they are ready at once; they are never entered."""
        order = self._kahn
        return order if len(order) == self.n else None

    @property
    def has_cycle(self) -> bool:
        """Whether some live path leads from a step back to itself."""
        return len(self._kahn) < self.n

    @cached_property
    def _kahn(self) -> tuple[int, ...]:
        indegree = [0] * self.n
        for out in self.live:
            for j in out:
                if j != END:
                    indegree[j] += 1
        ready = deque(i for i in range(self.n) if indegree[i] == 0)
        order: list[int] = []
        while ready:
            i = ready.popleft()
            order.append(i)
            for j in self.live[i]:
                if j != END:
                    indegree[j] -= 1
                    if indegree[j] == 0:
                        ready.append(j)
        return tuple(order)

    @cached_property
    def linear_path(self) -> tuple[int, ...] | None:
        """Step indices in the one order every customer meets them, or None (branches, loops)."""
        path: list[int] = []
        seen: set[int] = set()
        s = 0
        while s != END:
            succ = self.live[s]
            if len(succ) != 1 or s in seen:
                return None
            path.append(s)
            seen.add(s)
            s = succ[0]
        return tuple(path) if len(path) == self.n else None

    @cached_property
    def only_predecessor(self) -> dict[int, int]:
        """Steps that always lead to one step which nothing else leads to: ``{step: next}``."""
        into: dict[int, list[int]] = {}
        for i, out in enumerate(self.live):
            for j in out:
                if j != END:
                    into.setdefault(j, []).append(i)
        return {
            i: out[0]
            for i, out in enumerate(self.live)
            if len(out) == 1 and out[0] != END and into.get(out[0]) == [i]
        }

    def expected_visits(self) -> np.ndarray:
        """Visits of each step by a customer who never leaves: ``v = e_first + Qᵀ v``, with
        ``Q[i, j]`` the chance of going from step ``i`` to step ``j``. Infinite entries when
        the chain never ends (which validation refuses)."""
        q = np.zeros((self.n, self.n))
        for i, edges in enumerate(self.successors):
            fail = sum(p for _, p in self.fallbacks[i]) if self.fallbacks else 0.0
            for j, p in edges:
                if j != END:
                    q[i, j] += p * (1 - fail)
            for j, p in self.fallbacks[i] if self.fallbacks else ():
                q[i, j] += p
        first = np.zeros(self.n)
        first[0] = 1.0
        try:
            visits = np.linalg.solve(np.eye(self.n) - q.T, first)
        except np.linalg.LinAlgError:
            return np.full(self.n, np.inf)
        return visits


def closure(start: Iterable[int], neighbours: object) -> set[int]:
    """Every node reached from ``start`` by ``neighbours(node)`` (breadth first)."""
    seen = set(start)
    queue = deque(seen)
    while queue:
        for j in neighbours(queue.popleft()):  # type: ignore[operator]
            if j not in seen:
                seen.add(j)
                queue.append(j)
    return seen


__all__ = ["END", "Flow", "closure"]
