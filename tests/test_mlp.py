"""Nonlinear networks: exact gradients, Hessian-vector and Gauss–Newton products, Theorem-3 factors.

References are independent of the hand-derived passes: central finite differences of the loss
and of the gradient, the dense Hessian assembled column by column, and the SpecDef layer of
:mod:`numerics._deep_linear` (a linear network must agree with it exactly).
"""

from __future__ import annotations

import numpy as np
import pytest

from specdef import numerics as nm
from specdef.numerics import InputError, to_host

ACTS = ["relu", "gelu", "tanh"]
LOSSES = ["squared", "cross_entropy"]


def _mlp(xp=None, act="tanh", loss="squared", depth=3, seed=0, n=6, comp=(2,), bias=True,
         zero_residual=False):
    rng = np.random.default_rng(seed)
    dims = [3, 4, 5, 2][:depth + 1] if depth < 3 else [3, 4, 5, 2]
    Ws = [rng.standard_normal((dims[i + 1], dims[i])) for i in range(depth)]
    bs = [rng.standard_normal(dims[i + 1]) for i in range(depth)] if bias else None
    comps = {l: np.eye(dims[l]) + 0.3 * rng.standard_normal((dims[l], dims[l])) for l in comp}
    X = rng.standard_normal((dims[0], n))
    Y = rng.standard_normal((dims[-1], n)) if loss == "squared" else rng.integers(0, dims[-1], n)
    if zero_residual:
        Y = nm.MLP(Ws, X, Y, activation=act, biases=bs, compensations=comps).predict(
            nm.MLP(Ws, X, Y, activation=act, biases=bs, compensations=comps).theta0)
    if xp is not None:
        Ws = [xp.asarray(W) for W in Ws]
        bs = None if bs is None else [xp.asarray(b) for b in bs]
        comps = {k: xp.asarray(v) for k, v in comps.items()}
        X = xp.asarray(X)
        Y = xp.asarray(Y) if loss == "squared" else Y
    return nm.MLP(Ws, X, Y, activation=act, loss=loss, biases=bs, compensations=comps)


def _fd_grad(m, th, h=1e-6):
    E = np.eye(m.n_params)
    return np.array([(float(m.loss(th + h * E[i])) - float(m.loss(th - h * E[i]))) / (2 * h)
                     for i in range(m.n_params)])


def _fd_hess(m, th, h=1e-6):
    E = np.eye(m.n_params)
    return np.array([(m.grad(th + h * E[i]) - m.grad(th - h * E[i])) / (2 * h)
                     for i in range(m.n_params)])


def _rel(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("depth", [2, 3])
def test_gradient_and_hessian_against_finite_differences(act, loss, depth):
    m = _mlp(act=act, loss=loss, depth=depth, comp=(1,) if depth == 2 else (2,))
    th = m.theta0
    assert _rel(m.grad(th), _fd_grad(m, th)) < 1e-8
    H = m.hessian(th)
    assert _rel(H, _fd_hess(m, th)) < 1e-8
    v = np.random.default_rng(1).standard_normal(m.n_params)
    assert _rel(m.hvp(th, v), H @ v) < 1e-12
    # the raw columns are symmetric without the symmetrisation of hessian()
    raw = m.hvp(th, np.eye(m.n_params))
    assert _rel(raw, raw.T) < 1e-12
    # Gauss–Newton: symmetric positive semidefinite
    Gn = m.gauss_newton(th)
    assert np.linalg.eigvalsh(Gn).min() > -1e-12 * np.abs(Gn).max()


@pytest.mark.parametrize("act", ACTS)
def test_gauss_newton_equals_hessian_at_zero_residual(act):
    m = _mlp(act=act, zero_residual=True, seed=3)
    th = m.theta0
    assert float(m.loss(th)) < 1e-28
    assert _rel(m.gauss_newton(th), m.hessian(th)) < 1e-12
    m2 = _mlp(act=act, seed=3)  # away from it they differ (the residual term)
    assert _rel(m2.gauss_newton(m2.theta0), m2.hessian(m2.theta0)) > 1e-3


def test_backends_agree(xp):
    ref = _mlp(act="gelu", loss="cross_entropy")
    m = _mlp(xp, act="gelu", loss="cross_entropy")
    th = m.theta0
    v = xp.asarray(np.random.default_rng(2).standard_normal(m.n_params))
    np.testing.assert_allclose(np.asarray(to_host(m.loss(th))), float(ref.loss(ref.theta0)),
                               rtol=1e-13)
    for name in ("grad",):
        np.testing.assert_allclose(to_host(getattr(m, name)(th)),
                                   getattr(ref, name)(ref.theta0), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(to_host(m.hvp(th, v)), ref.hvp(ref.theta0, to_host(v)),
                               rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(to_host(m.gnvp(th, v)), ref.gnvp(ref.theta0, to_host(v)),
                               rtol=1e-12, atol=1e-14)


def test_batched_theta_equals_per_row():
    m = _mlp(act="tanh", loss="cross_entropy")
    rng = np.random.default_rng(5)
    T = m.theta0 + 0.1 * rng.standard_normal((4, m.n_params))
    V = rng.standard_normal((4, m.n_params))
    L, G, Hv = m.loss(T), m.grad(T), m.hvp(T, V)
    for b in range(4):
        assert abs(L[b] - m.loss(T[b])) <= 1e-14 * abs(L[b])
        np.testing.assert_allclose(G[b], m.grad(T[b]), rtol=1e-13, atol=1e-16)
        np.testing.assert_allclose(Hv[b], m.hvp(T[b], V[b]), rtol=1e-12, atol=1e-15)


def test_linear_network_matches_the_specdef_layer():
    """No activation, squared loss: a one-layer MLP with compensation is SpecDefLayer."""
    rng = np.random.default_rng(6)
    W = rng.standard_normal((3, 4))
    X, Y = rng.standard_normal((4, 7)), rng.standard_normal((3, 7))
    Wt, C = nm.specdef(W, 5.0, 1)
    a = nm.MLP([Wt], X, Y, compensations={1: C})
    b = nm.SpecDefLayer(Wt, C, X, Y)
    th = b.theta0
    assert np.array_equal(a.theta0, th)
    np.testing.assert_allclose(a.loss(th), b.loss(th), rtol=1e-14)
    np.testing.assert_allclose(a.grad(th), b.grad(th), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(a.hessian(th), b.hessian(th), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("comp", [(), (2,)])
def test_theorem3_block_equals_A_B_C_at_zero_residual(act, comp):
    for seed in range(3):
        m = _mlp(act=act, n=1, comp=comp, seed=seed + 10, zero_residual=True)
        th = m.theta0
        H = m.hessian(th)
        sl, s = {}, 0
        for k, sh in zip(m.block_names, m.block_shapes):
            sl[k] = slice(s, s + int(np.prod(sh)))
            s += int(np.prod(sh))
        f = m.theorem3_factors(th)
        blk = H[sl["W3"], sl["W1"]]
        np.testing.assert_allclose(f["A"] @ f["B"] @ f["C"], blk, atol=1e-13 * max(
            1.0, np.abs(blk).max()))
        assert f["A"].shape == (2 * 5, 5) and f["B"].shape == (5, 4) and f["C"].shape == (4, 12)


def test_theorem3_block_is_nonzero_for_some_relu_instance():
    found = False
    for seed in range(20):
        m = _mlp(act="relu", n=1, comp=(), seed=seed, zero_residual=True)
        f = m.theorem3_factors(m.theta0)
        if np.abs(f["A"] @ f["B"] @ f["C"]).max() > 0:
            found = True
            assert set(np.unique(f["D1"])) <= {0.0, 1.0}
            break
    assert found


def test_sampled_grad_is_unbiased_for_the_gauss_newton_diagonal():
    for loss in LOSSES:
        m = _mlp(act="tanh", loss=loss, n=4)
        th = m.theta0
        exact = np.diag(m.gauss_newton(th))
        rng = np.random.default_rng(0)
        est = np.mean([m.sampled_grad(th, rng) ** 2 for _ in range(3000)], axis=0)
        np.testing.assert_allclose(est, exact, rtol=0.2, atol=0.03 * exact.max())


def test_optimisers_run_on_the_mlp():
    m = _mlp(act="gelu", loss="cross_entropy")
    for fn, kw in ((nm.adamw, {}), (nm.muon, {}), (nm.sophia, {"estimator": "gnb", "rng": 0}),
                   (nm.adahessian, {"rng": 0})):
        r = fn(m, m.theta0, 1e-2, max_steps=50, tol=1e-300, **kw)
        assert r.status == "max_steps" and r.loss[-1] < r.loss[0], (fn.__name__, r)
    r = nm.adam(m, m.theta0, 1e-2, max_steps=20, train=("C2",), tol=1e-300)
    P0, P1 = m.unpack(m.theta0), m.unpack(r.theta)
    assert np.array_equal(P0["W2"], P1["W2"]) and not np.array_equal(P0["C2"], P1["C2"])


@pytest.mark.parametrize("call, param, value", [
    (lambda: nm.MLP([], np.ones((2, 3)), np.ones((2, 3))), "weights", "[]"),
    (lambda: nm.MLP([np.ones((2, 2))], np.ones((2, 3)), np.ones((2, 3)), activation="elu"),
     "activation", "elu"),
    (lambda: nm.MLP([np.ones((2, 2))], np.ones((2, 3)), np.ones((2, 3)), loss="l1"), "loss",
     "l1"),
    (lambda: nm.MLP([np.ones((2, 2))], np.ones((2, 3)), np.ones((3, 3))), "Y", "(3, 3)"),
    (lambda: nm.MLP([np.ones((2, 2))], np.ones((2, 3)), [0, 1, 5], loss="cross_entropy"), "Y",
     "5"),
    (lambda: nm.MLP([np.ones((2, 3))], np.ones((2, 3)), np.ones((2, 3))), "W1", "(2, 3)"),
    (lambda: nm.MLP([np.ones((2, 2))], np.ones((2, 3)), np.ones((2, 3)),
                    compensations={3: np.eye(2)}), "compensations", "3"),
    (lambda: nm.MLP([np.ones((2, 2))], np.ones((2, 3)), np.ones((2, 3)), train=["W9"]), "train",
     "W9"),
    (lambda: _mlp(depth=2).theorem3_factors(_mlp(depth=2).theta0), "3-layer", "depth 2"),
    (lambda: _mlp().theorem3_factors(_mlp().theta0, sample=99), "sample", "99"),
])
def test_bad_input(call, param, value):
    with pytest.raises(InputError) as info:
        call()
    msg = str(info.value)
    assert "\n" not in msg and param in msg and value in msg, msg
