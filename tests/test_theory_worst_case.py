"""Done criterion of ``gd.quadratic.worst_case_value``: independent brute force and PEPit.

The brute force never uses the closed form: it locates candidate maxima of
``g(λ) = (λ/2)(1 − step·λ)^{2n}`` on a dense geometric + linear grid of ``[mu, L]`` (in
float64 logarithms, which do not underflow), refines each by golden-section search in mpmath
at 30 digits, and keeps the largest value (endpoints included).
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import mpmath
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the editable install may predate theory/__init__.py
    sys.path.insert(0, str(ROOT))

from specdef import theory  # noqa: E402

CASES = [(0.1, 1.0, 1.0), (1e-7, 1.0, 1.0), (0.5, 2.0, 0.9), (0.01, 1.0, 1.999999),
         (1e-3, 10.0, 0.05)]
NS = [1, 2, 3, 10, 100, 1000, 10**4, 10**5, 10**6]


def brute_force_max(mu: float, L: float, step: float, n: int, dps: int = 30) -> mpmath.mpf:
    lam = np.unique(np.concatenate([np.geomspace(mu, L, 4001), np.linspace(mu, L, 4001)]))
    with np.errstate(divide="ignore"):
        log_g = np.log(lam / 2) + 2 * n * np.log(np.abs(1 - step * lam))
    with mpmath.workdps(dps):
        s = mpmath.mpf(step)
        g = lambda x: (x / 2) * (1 - s * x) ** (2 * n)  # noqa: E731
        best = max(g(mpmath.mpf(mu)), g(mpmath.mpf(L)))
        invphi = (mpmath.sqrt(5) - 1) / 2
        for i in np.argsort(log_g)[::-1][:3]:
            a = mpmath.mpf(lam[max(i - 1, 0)])
            b = mpmath.mpf(lam[min(i + 1, len(lam) - 1)])
            for _ in range(160):
                c, d = b - invphi * (b - a), a + invphi * (b - a)
                if g(c) > g(d):
                    b = d
                else:
                    a = c
            best = max(best, g((a + b) / 2))
        return best


@pytest.mark.parametrize("mu, L, step", CASES)
@pytest.mark.parametrize("n", NS)
def test_worst_case_value_matches_brute_force(mu, L, step, n):
    th = theory.get("gd.quadratic.worst_case_value")
    brute = brute_force_max(mu, L, step, n)
    closed = th.evaluate_mp(30, mu=mu, L=L, step=step, n=n)
    with mpmath.workdps(30):
        assert abs(closed / brute - 1) <= mpmath.mpf("1e-9")
    if brute > mpmath.mpf("1e-300"):  # float64 evaluate, where the value is representable
        assert th.evaluate(mu=mu, L=L, step=step, n=n) == pytest.approx(float(brute), rel=1e-9)


def test_worst_case_value_vectorised_over_n():
    th = theory.get("gd.quadratic.worst_case_value")
    n = np.array([1.0, 10.0, 1e3, 1e6])
    out = th.evaluate(mu=1e-7, L=1.0, step=1.0, n=n)
    for ni, value in zip(n, out):
        assert value == pytest.approx(float(brute_force_max(1e-7, 1.0, 1.0, int(ni))), rel=1e-9)


@pytest.mark.parametrize("n", [1, 2, 5, 10])
def test_worst_case_value_matches_pepit(n):
    pytest.importorskip("PEPit")
    from PEPit.examples.unconstrained_convex_minimization import wc_gradient_descent_quadratics

    mu, L, gamma = 0.3, 3.0, 1.0 / 3.0
    kwargs = {"verbose": -1}
    if "wrapper" in inspect.signature(wc_gradient_descent_quadratics).parameters:
        kwargs["wrapper"] = "cvxpy"
    pepit_tau, _ = wc_gradient_descent_quadratics(mu=mu, L=L, gamma=gamma, n=n, **kwargs)
    value = theory.get("gd.quadratic.worst_case_value").evaluate(mu=mu, L=L, step=gamma, n=n)
    assert pepit_tau == pytest.approx(value, rel=1e-3, abs=1e-6)  # SDP-solver accuracy


def test_worst_case_value_matches_pepit_documented_example():
    # PEPit's docstring for wc_gradient_descent_quadratics (mu=0.3, L=3, gamma=1/L, n=4):
    # "PEPit guarantee: f(x_n)-f_* <= 0.0649574 ||x_0 - x_*||^2" (6 significant digits).
    value = theory.get("gd.quadratic.worst_case_value").evaluate(mu=0.3, L=3.0, step=1 / 3, n=4)
    assert value == pytest.approx(0.0649574, rel=1e-6)


@pytest.mark.parametrize("n", [10**4, 10**5, 10**6, 10**7])
def test_worst_case_value_float64_error_does_not_grow_with_n(n):
    # (1 − step·λ)^(2n) in float64 carries 2n·u relative error (9.5e-11 at n = 1e6); the float
    # form exp(y), y = 2n·log1p(−step·λ), carries |y|·u — the conditioning of exp, bounded by
    # |ln value| + |ln(λ/2)|, not by n — and at most the 1e-12
    th = theory.get("gd.quadratic.worst_case_value")
    for mu, L, step in CASES:
        exact = th.evaluate_mp(40, mu=mu, L=L, step=step, n=n)
        if exact < mpmath.mpf("1e-300"):
            continue
        value = th.evaluate(mu=mu, L=L, step=step, n=n)
        tol = 8 * np.finfo(float).eps * (1 + abs(float(mpmath.log(exact))))
        assert abs(value / exact - 1) <= min(tol, 1e-12), (mu, L, step, value)
