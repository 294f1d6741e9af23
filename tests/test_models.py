"""Models: derivatives against finite differences and against the Kronecker formulas of
docs/theory/hessian.rst.

Every kernel runs on NumPy and array_api_strict (``xp`` fixture).  References are computed on
the host with NumPy (``np.kron``, explicit commutation matrices), independently of the models.
"""

from __future__ import annotations

import numpy as np
import pytest

from specdef.numerics import (DeepLinear, InputError, LinearChain, LinearRegression, Quadratic,
                      SpecDefLayer, backend_name, finite_difference_hessian, to_host)

FD_RTOL = 1e-6  # central differences with h = eps^(1/3): O(h^2) + O(eps/h) ~ 1e-10, with margin


def H(a):
    return np.asarray(to_host(a), dtype=np.float64)


def vec(A):
    return A.T.reshape(-1)


def close(a, b, rtol, floor=1e-300):
    """max|a − b| <= rtol · max(max|b|, floor) (``floor`` guards quantities that vanish)."""
    a, b = H(a), H(b)
    scale = max(np.max(np.abs(b)), floor)
    assert np.max(np.abs(a - b)) <= rtol * scale, np.max(np.abs(a - b)) / scale


def commutation(r, c):
    """K with K vec(A) = vec(A^T) for A of shape (r, c)."""
    K = np.zeros((r * c, r * c))
    for i in range(r):
        for j in range(c):
            K[i * c + j, j * r + i] = 1.0
    return K


def specdef_pair(W, alpha, k):
    """SpecDef by hand (docs/theory/specdef.rst, full-U compensation): returns (W̃, C) with C W̃ =
    W."""
    U, s, Vt = np.linalg.svd(W, full_matrices=False)
    t = np.ones_like(s)
    t[:k] = alpha
    C = np.eye(W.shape[0]) + (U[:, :k] * (1 / alpha - 1)) @ U[:, :k].T
    return (U * (s * t)) @ Vt, C


def fd_grad(model, theta, h=1e-6):
    th = H(theta)
    xp = model.xp
    g = []
    for i in range(th.size):
        e = np.zeros_like(th)
        e[i] = h
        lp, lm = model.loss(xp.asarray(th + e)), model.loss(xp.asarray(th - e))
        g.append((float(lp) - float(lm)) / (2 * h))
    return np.array(g)


def check_derivatives(model, theta, rng):
    """grad vs FD(loss); hvp vs FD(grad) and dense Hessian; Hessian vs finite_difference_hessian;
    Gauss–Newton pieces consistent with the dense Jacobian."""
    xp = model.xp
    unit = max(1.0, float(model.loss(theta)))  # gradients vanish at zero residual
    close(model.grad(theta), fd_grad(model, theta), FD_RTOL, floor=unit)
    Hd = model.hessian(theta)
    close(Hd, H(Hd).T, 1e-13)
    close(Hd, finite_difference_hessian(model, theta), FD_RTOL)
    v = rng.standard_normal(model.n_params)
    close(model.hvp(theta, xp.asarray(v)), H(Hd) @ v, 1e-12)
    h = 1e-5
    fd = (H(model.grad(theta + xp.asarray(h * v)))
          - H(model.grad(theta - xp.asarray(h * v)))) / (2 * h)
    close(model.hvp(theta, xp.asarray(v)), fd, FD_RTOL)
    J, r = H(model.jacobian(theta)), H(model.residual(theta))
    assert J.shape == (model.n_residuals, model.n_params)
    u = rng.standard_normal(model.n_residuals)
    close(model.jvp(theta, xp.asarray(v)), J @ v, 1e-12)
    close(model.vjp(theta, xp.asarray(u)), J.T @ u, 1e-12)
    close(model.gnvp(theta, xp.asarray(v)), J.T @ (J @ v), 1e-12)
    close(model.grad(theta), J.T @ r, 1e-12, floor=unit)
    assert abs(float(model.loss(theta)) - 0.5 * r @ r) <= 1e-12 * max(1.0, 0.5 * r @ r)
    return H(Hd), J


# -- linear regression --------------------------------------------------------------------------
def test_linear_regression_matches_kron_formula(xp, rng):
    m, d, n = 3, 4, 9
    X, Y, P = rng.standard_normal((d, n)), rng.standard_normal((m, n)), rng.standard_normal((m, d))
    model = LinearRegression(xp.asarray(X), xp.asarray(Y), offset=xp.asarray(P))
    theta = xp.asarray(rng.standard_normal(m * d))
    Hd, J = check_derivatives(model, theta, rng)
    Sx = X @ X.T / n
    close(Hd, np.kron(Sx, np.eye(m)), 1e-12)
    close(J, np.kron(X.T, np.eye(m)) / np.sqrt(n), 1e-12)
    close(model.Sigma_x, Sx, 1e-13)
    W = H(model.unpack(theta)["W"])
    close(model.residual(theta), vec((W + P) @ X - Y) / np.sqrt(n), 1e-12)


def test_linear_regression_optimum(xp, rng):
    m, d, n = 2, 3, 8
    X, Y, P = rng.standard_normal((d, n)), rng.standard_normal((m, n)), rng.standard_normal((m, d))
    model = LinearRegression(xp.asarray(X), xp.asarray(Y), offset=xp.asarray(P))
    Wls = np.linalg.lstsq(X.T, Y.T, rcond=None)[0].T - P
    close(model.theta_star, vec(Wls), 1e-10)
    assert np.max(np.abs(H(model.grad(model.theta_star)))) < 1e-12
    best = 0.5 / n * np.sum(((Wls + P) @ X - Y) ** 2)
    assert abs(model.loss_star - best) <= 1e-12 * best
    # n < d: Σ_x singular, no unique minimiser, but the data can be fitted exactly
    under = LinearRegression(xp.asarray(rng.standard_normal((5, 3))), xp.asarray(Y[:, :3]))
    assert under.theta_star is None and abs(under.loss_star) < 1e-25


# -- quadratic ------------------------------------------------------------------------------------
def test_quadratic_derivatives_and_worst_case(xp, rng):
    lam = np.array([0.5, 1.0, 2.0, 7.0])
    w_star = rng.standard_normal(4)
    q = Quadratic.from_spectrum(lam, rng=3, backend=backend_name(xp), w_star=w_star)
    Q = H(q.Q)
    close(Q.T @ Q, np.eye(4), 1e-14)
    theta = xp.asarray(rng.standard_normal(4))
    Hd, J = check_derivatives(q, theta, rng)
    close(Hd, (Q * lam) @ Q.T, 1e-13)
    close(J.T @ J, Hd, 1e-13)
    e = H(theta) - w_star
    assert abs(float(q.loss(theta)) - 0.5 * e @ Hd @ e) < 1e-13
    for which, lams in (("max", [7.0]), ("min", [0.5]), ("both", [0.5, 7.0])):
        e0 = H(q.worst_case_start(which, norm=2.0)) - w_star
        assert abs(np.linalg.norm(e0) - 2.0) < 1e-13
        comps = Q.T @ e0  # components on eigenvectors: only the chosen ones are nonzero
        on = np.isin(lam, lams)
        assert np.all(np.abs(comps[~on]) < 1e-13) and np.all(np.abs(comps[on]) > 0.1)
    diag = Quadratic(xp.asarray(lam))
    close(diag.hessian(diag.theta_star), np.diag(lam), 0)
    assert diag.loss_star == 0.0


def test_quadratic_singular_needs_opt_in(xp):
    with pytest.raises(InputError, match="eigenvalues"):
        Quadratic(xp.asarray([0.0, 1.0]))
    q = Quadratic(xp.asarray([0.0, 1.0]), allow_singular=True)
    assert q.n_params == 2


# -- SpecDef layer (docs/theory/hessian.rst) -------------------------------------------------------
@pytest.mark.parametrize("m,d,n", [(3, 3, 7), (2, 4, 6), (4, 2, 5)])
def test_specdef_frozen_blocks_match_kron(xp, rng, m, d, n):
    X, W, C = rng.standard_normal((d, n)), rng.standard_normal((m, d)), rng.standard_normal((m, m))
    Y = rng.standard_normal((m, n))  # off zero residual: frozen-factor Hessians do not depend on it
    Sx = X @ X.T / n
    a = [xp.asarray(t) for t in (W, C, X, Y)]
    mw = SpecDefLayer(*a, train="W")
    Hw, _ = check_derivatives(mw, xp.asarray(vec(W)), rng)
    close(Hw, np.kron(Sx, C.T @ C), 1e-12)
    mc = SpecDefLayer(*a, train=("C",))
    Hc, _ = check_derivatives(mc, xp.asarray(vec(C)), rng)
    close(Hc, np.kron(W @ Sx @ W.T, np.eye(m)), 1e-12)


def test_specdef_joint_hessian_zero_and_nonzero_residual(xp, rng):
    m, d, n = 3, 4, 7
    X, W, C = rng.standard_normal((d, n)), rng.standard_normal((m, d)), rng.standard_normal((m, m))
    Sx = X @ X.T / n
    zero = SpecDefLayer(xp.asarray(W), xp.asarray(C), xp.asarray(X), xp.asarray(C @ W @ X))
    th = zero.theta0
    Hd, J = check_derivatives(zero, th, rng)
    close(J.T @ J, Hd, 1e-12)  # Gauss–Newton is exact at zero residual
    close(Hd[: m * d, m * d:], np.kron(Sx @ W.T, C.T), 1e-12)
    assert float(zero.loss(th)) < 1e-25 and zero.loss_star is not None
    # off zero residual the cross block gains <R, dC dW X>/n; checked as a bilinear form
    Y = rng.standard_normal((m, n))
    off = SpecDefLayer(xp.asarray(W), xp.asarray(C), xp.asarray(X), xp.asarray(Y))
    Hd, J = check_derivatives(off, off.theta0, rng)
    assert np.max(np.abs(Hd - J.T @ J)) > 1e-3
    dW, dC = rng.standard_normal((m, d)), rng.standard_normal((m, m))
    R = C @ W @ X - Y
    want = (np.sum((dC @ W @ X) * (C @ dW @ X)) + np.sum(R * (dC @ dW @ X))) / n
    assert abs(vec(dW) @ Hd[: m * d, m * d:] @ vec(dC) - want) < 1e-12 * max(1, abs(want))


def test_specdef_gauge_directions_are_null_at_zero_residual(xp, rng):
    m, d, n = 3, 3, 8
    W, C = specdef_pair(rng.standard_normal((m, d)), 5.0, 1)
    X = rng.standard_normal((d, n))
    model = SpecDefLayer(xp.asarray(W), xp.asarray(C), xp.asarray(X), xp.asarray(C @ W @ X))
    G = model.gauge_basis(model.theta0)
    assert tuple(G.shape) == (model.n_params, m * m) and np.linalg.matrix_rank(H(G)) == m * m
    Hd = H(model.hessian(model.theta0))
    assert np.max(np.abs(Hd @ H(G))) < 1e-11 * np.max(np.abs(Hd))


# -- deep linear chains ---------------------------------------------------------------------------
def test_deep_linear_cross_block_formula(xp, rng):
    """docs/theory/hessian.rst, off zero residual:
    ∂²L/∂vec(θ3)∂vec(θ1)^T = (h⊗I) θ3 θ2 (x^T⊗I) + (θ2 ⊗ r x^T) K."""
    d0, d1, d2, d3 = 3, 4, 2, 3
    t1, t2, t3 = (rng.standard_normal(s) for s in ((d1, d0), (d2, d1), (d3, d2)))
    x, y = rng.standard_normal((d0, 1)), rng.standard_normal((d3, 1))
    model = DeepLinear([xp.asarray(t) for t in (t1, t2, t3)], xp.asarray(x), xp.asarray(y))
    Hd, _ = check_derivatives(model, model.theta0, rng)
    h, r = t2 @ t1 @ x, t3 @ t2 @ t1 @ x - y
    want = (np.kron(h, np.eye(d3)) @ t3 @ t2 @ np.kron(x.T, np.eye(d1))
            + np.kron(t2, r @ x.T) @ commutation(d1, d0))
    o1, o3 = 0, d1 * d0 + d2 * d1
    close(Hd[o3:, o1:d1 * d0], want, 1e-12)
    close(model.product(model.theta0), t3 @ t2 @ t1, 1e-14)


def test_chain_with_frozen_middle_and_depth_one(xp, rng):
    dims, n = [3, 4, 2, 3, 2], 6
    Ms = [rng.standard_normal((dims[i + 1], dims[i])) for i in range(4)]
    X, Y = rng.standard_normal((dims[0], n)), rng.standard_normal((dims[-1], n))
    chain = LinearChain([xp.asarray(M) for M in Ms], xp.asarray(X), xp.asarray(Y),
                        [True, False, True, True])
    assert chain.n_params == 12 + 6 + 6 and chain.block_names == ("M1", "M3", "M4")
    theta = xp.asarray(rng.standard_normal(chain.n_params))
    check_derivatives(chain, theta, rng)
    facs = chain.factors(theta)
    close(facs[1], Ms[1], 0)
    close(chain.pack(**chain.unpack(theta)), theta, 0)
    # depth one with all factors trainable is linear regression
    one = DeepLinear([xp.asarray(Ms[0])], xp.asarray(X), xp.asarray(rng.standard_normal((4, n))))
    lr = LinearRegression(one.X, one.Y)
    th = xp.asarray(rng.standard_normal(12))
    close(one.hessian(th), lr.hessian(th), 1e-13)
    close(one.grad(th), lr.grad(th), 1e-13)
    assert abs(one.loss_star - lr.loss_star) < 1e-13


def test_chain_optimum(xp, rng):
    dims, n = [4, 2, 3], 9  # bottleneck r = 2
    X, Y = rng.standard_normal((4, n)), rng.standard_normal((3, n))
    Ms = [rng.standard_normal((dims[i + 1], dims[i])) for i in range(2)]
    deep = DeepLinear([xp.asarray(M) for M in Ms], xp.asarray(X), xp.asarray(Y))
    # independent optimum: best rank-2 P with P X ≈ Y  (whitened Eckart–Young), factored as B A
    Pls = np.linalg.lstsq(X.T, Y.T, rcond=None)[0].T
    Lx = np.linalg.cholesky(X @ X.T)
    U, s, Vt = np.linalg.svd(Pls @ Lx)
    P2 = (U[:, :2] * s[:2]) @ Vt[:2] @ np.linalg.inv(Lx)
    A, B = np.linalg.pinv(U[:, :2]) @ P2, U[:, :2]
    best = deep.loss(deep.pack(M1=xp.asarray(A), M2=xp.asarray(B)))
    assert abs(deep.loss_star - float(best)) < 1e-12 and deep.theta_star is None
    # one trainable factor: unique minimiser, gradient zero there
    one = LinearChain([xp.asarray(M) for M in Ms], xp.asarray(X), xp.asarray(Y), [True, False])
    assert np.max(np.abs(H(one.grad(one.theta_star)))) < 1e-12
    assert abs(float(one.loss(one.theta_star)) - one.loss_star) < 1e-12
    assert LinearChain([xp.asarray(M) for M in Ms + [np.eye(3)]], xp.asarray(X), xp.asarray(Y),
                       [True, True, False]).loss_star is None


def test_float32_stays_float32(xp, rng):
    X, W, C = (rng.standard_normal(s).astype(np.float32) for s in ((3, 5), (2, 3), (2, 2)))
    model = SpecDefLayer(xp.asarray(W), xp.asarray(C), xp.asarray(X), xp.asarray(C @ W @ X))
    assert model.dtype == xp.float32
    assert model.hvp(model.theta0, model.theta0).dtype == xp.float32


# -- bad input -----------------------------------------------------------------------------------
def test_bad_input_names_the_parameter(xp, rng):
    X, Y = rng.standard_normal((3, 5)), rng.standard_normal((2, 5))
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(InputError, match=r"LinearRegression: X must have finite"):
        LinearRegression(xp.asarray(bad), xp.asarray(Y))
    with pytest.raises(InputError, match=r"LinearRegression: Y must have 5 columns"):
        LinearRegression(xp.asarray(X), xp.asarray(Y[:, :4]))
    with pytest.raises(InputError, match=r"Quadratic: eigenvalues must all be > 0"):
        Quadratic(xp.asarray([1.0, -2.0]))
    with pytest.raises(InputError, match=r"Quadratic: eigenvalues must have finite"):
        Quadratic(xp.asarray([1.0, np.nan]))
    with pytest.raises(InputError, match=r"Quadratic: Q must be orthogonal"):
        Quadratic(xp.asarray([1.0, 2.0]), Q=xp.asarray([[1.0, 1.0], [0.0, 1.0]]))
    model = LinearRegression(xp.asarray(X), xp.asarray(Y))
    with pytest.raises(InputError, match=r"LinearRegression.grad: theta must have shape \(6,\)"):
        model.grad(xp.asarray(np.zeros(5)))
    W, C = rng.standard_normal((2, 3)), rng.standard_normal((2, 2))
    with pytest.raises(InputError, match=r"SpecDefLayer: C must have 2 columns"):
        SpecDefLayer(xp.asarray(W), xp.asarray(C[:, :1]), xp.asarray(X), xp.asarray(Y))
    with pytest.raises(InputError, match=r"SpecDefLayer: train must be"):
        SpecDefLayer(xp.asarray(W), xp.asarray(C), xp.asarray(X), xp.asarray(Y), train=("B",))
    with pytest.raises(InputError, match=r"LinearChain: factors\[1\] must have 2 columns"):
        LinearChain([xp.asarray(W), xp.asarray(C[:, :1])], xp.asarray(X), xp.asarray(Y))
    with pytest.raises(InputError, match=r"LinearChain: trainable must be 2 booleans"):
        LinearChain([xp.asarray(W), xp.asarray(C)], xp.asarray(X), xp.asarray(Y), [False, False])
    frozen = SpecDefLayer(xp.asarray(W), xp.asarray(C), xp.asarray(X), xp.asarray(Y), train="W")
    with pytest.raises(InputError, match=r"SpecDefLayer.pack: C is frozen"):
        frozen.pack(W=xp.asarray(W), C=xp.asarray(C + 1.0))
    with pytest.raises(InputError, match=r"max_dense"):
        LinearRegression(xp.asarray(X), xp.asarray(Y), max_dense=5).hessian(xp.asarray(np.zeros(6)))
