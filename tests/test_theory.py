"""The exact queueing formulas used for validation, checked against published values."""

from __future__ import annotations

import math

import pytest

from frictionsim.theory import erlang_a, erlang_b, erlang_c

# REFERENCE: Erlang-A table (birth-death chain), six decimals
ERLANG_A_TABLE = [
    # lam, mu, theta, n, P(W>0), P(abandon), E[W]
    (1, 1, 1, 1, 0.632121, 0.367879, 0.367879),
    (0.9, 1, 0.5, 1, 0.643539, 0.284956, 0.569912),
    (2, 1, 1, 2, 0.593994, 0.270671, 0.270671),
    (9, 1, 1, 10, 0.412592, 0.085912, 0.085912),
    (10, 1, 0.5, 10, 0.619655, 0.103913, 0.207826),
    (48, 1, 0.25, 50, 0.525347, 0.023061, 0.092245),
    (100, 1, 1, 100, 0.513299, 0.039861, 0.039861),
    (110, 1, 0.1, 100, 0.999264, 0.090948, 0.909476),
]


@pytest.mark.parametrize(("lam", "mu", "theta", "n", "p_wait", "p_ab", "wait"), ERLANG_A_TABLE)
def test_erlang_a_matches_published_values(lam, mu, theta, n, p_wait, p_ab, wait):
    m = erlang_a(lam, mu, theta, n)
    assert m.p_wait == pytest.approx(p_wait, abs=1e-6)
    assert m.p_abandon == pytest.approx(p_ab, abs=1e-6)
    assert m.mean_wait == pytest.approx(wait, abs=1e-6)


def test_erlang_a_with_theta_equal_mu_is_poisson():
    # with theta = mu every customer in the system leaves at rate mu: N ~ Poisson(a)
    lam, n = 7.0, 5
    m = erlang_a(lam, 1.0, 1.0, n)
    tail = 1 - sum(math.exp(-lam) * lam**k / math.factorial(k) for k in range(n))
    assert m.p_wait == pytest.approx(tail, abs=1e-12)


@pytest.mark.parametrize(
    ("a", "n", "c", "wq"), [(2, 3, 0.444444, None), (8, 10, 0.409180, 0.204590)]
)
def test_erlang_c_matches_published_values(a, n, c, wq):
    m = erlang_c(a, 1.0, n)
    assert m.p_wait == pytest.approx(c, abs=1e-6)
    if wq is not None:
        assert m.mean_wait == pytest.approx(wq, abs=1e-6)


def test_erlang_a_tends_to_erlang_c_as_patience_grows():
    assert erlang_a(8, 1, 1e-4, 10).p_wait == pytest.approx(erlang_c(8, 1, 10).p_wait, rel=1e-3)


def test_erlang_b_recursion():
    assert erlang_b(1.0, 1) == pytest.approx(0.5)
    assert erlang_b(2.0, 2) == pytest.approx(0.4)


def test_erlang_c_refuses_unstable_load():
    with pytest.raises(ValueError, match="unstable"):
        erlang_c(10, 1, 10)
