"""Attacks on a defended layer, against independent computations."""

import numpy as np
import pytest

from specdef import numerics as nm
from specdef.numerics import InputError, to_host

EPS = np.finfo(np.float64).eps


def _problem(rng, m=4, n=3, N=30):
    X = rng.standard_normal((n, N)) * np.array([1.0, 2.0, 0.5])[:n, None]
    W = rng.standard_normal((m, n))
    Y = (W + 0.3 * rng.standard_normal((m, n))) @ X
    return X, W, Y


@pytest.mark.parametrize("alpha", [10.0, 1e3, 1e6, 1e10])
def test_additive_injection_reproduces_undefended_gd(rng, alpha):
    X, W, Y = _problem(rng)
    Wi, C = nm.specdef(W, alpha, 2)
    att = nm.additive_injection(Wi, C, X, Y)
    base = nm.LinearRegression(X, Y)
    step = 1.0 / float(np.linalg.eigvalsh(X @ X.T / X.shape[1])[-1])
    r_att = nm.gradient_descent(att.model, att.theta0, step, max_steps=300, tol=1e-10)
    r_base = nm.gradient_descent(base, base.pack(W=W), step, max_steps=300, tol=1e-10)
    assert att.overhead == 1.0
    assert r_att.steps == r_base.steps and r_att.status == r_base.status == "converged"
    tol = 64 * alpha * EPS
    np.testing.assert_allclose(r_att.loss, r_base.loss, rtol=tol, atol=tol * r_base.loss[0])
    W_att = to_host(att.weight(r_att.theta))
    W_base = to_host(base.unpack(r_base.theta)["W"])
    np.testing.assert_allclose(W_att, W_base, rtol=0, atol=tol * np.abs(W).max())


def test_bypass_hessian_is_W_sigma_W(rng):
    X, W, Y = _problem(rng)
    Wi, C = nm.specdef(W, 1e3, 1)
    att = nm.multiplicative_bypass(Wi, C, X, Y)
    H = to_host(att.model.hessian(att.theta0))
    S = X @ X.T / X.shape[1]
    # H_BB = (P Σ_x P^T) ⊗ I at any B, with P = C W̃ = W (up to α u)
    want = np.kron(W @ S @ W.T, np.eye(W.shape[0]))
    np.testing.assert_allclose(H, want, rtol=0, atol=1e-9 * np.abs(want).max())
    assert att.overhead == pytest.approx(W.shape[0] / W.shape[1])


@pytest.mark.parametrize("L", [2, 3])
def test_factorisation_reconstructs_and_keeps_c_frozen(rng, L):
    X, W, Y = _problem(rng)
    Wi, C = nm.specdef(W, 100.0, 2)
    att = nm.balanced_factorisation(Wi, C, X, Y, n_factors=L)
    np.testing.assert_allclose(to_host(att.weight(att.theta0)), W, atol=1e-10)
    facs = att.model.factors(att.theta0)
    np.testing.assert_array_equal(to_host(facs[-1]), C)
    # balanced: all trainable factors carry the same singular values
    sv = [np.linalg.svd(to_host(F), compute_uv=False)[:2] for F in facs[:-1]]
    for s in sv[1:]:
        np.testing.assert_allclose(s, sv[0], rtol=1e-10)


def test_fusion_recovers_w(rng, xp):
    X, W, Y = _problem(rng)
    Wi, C = nm.specdef(W, 1e4, 2)
    att = nm.fusion(xp.asarray(Wi), xp.asarray(C), xp.asarray(X), xp.asarray(Y))
    np.testing.assert_allclose(to_host(att.weight(att.theta0)), W, atol=64 * 1e4 * EPS * 10)
    assert att.overhead == 0.0


def test_attacks_compute_the_released_function(rng, xp):
    X, W, Y = _problem(rng)
    Wi, C = nm.specdef(W, 1e3, 2)
    args = [xp.asarray(a) for a in (Wi, C, X, Y)]
    base = float(to_host(nm.LinearRegression(xp.asarray(X), xp.asarray(Y)).loss(
        xp.asarray(W.T.reshape(-1)))))
    for name, f in nm.ATTACKS.items():
        att = f(*args)
        assert float(to_host(att.model.loss(att.theta0))) == pytest.approx(base, rel=1e-9), name


def test_bad_inputs(rng):
    X, W, Y = _problem(rng)
    Wi, C = nm.specdef(W, 10.0, 1)
    with pytest.raises(InputError, match="additive_injection: C"):
        nm.additive_injection(Wi, C[:2], X, Y)
    with pytest.raises(InputError, match="n_factors"):
        nm.balanced_factorisation(Wi, C, X, Y, n_factors=1)
    with pytest.raises(InputError, match="W_inflated"):
        nm.fusion(np.full_like(Wi, np.nan), C, X, Y)
