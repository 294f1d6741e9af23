"""Portability: decisions on computed values survive perturbations at the backward-error level.

Every decision numerics takes on computed values — grouping C's equal singular values, a
numerical rank, a null-space dimension, Newton's rank decision and status, the fallback of the
QR + Lanczos path, an eigensolver's "converged", the gauge projector's refusal — uses a tolerance
derived from the backward error of the routine that produced the values.  A different CPU,
BLAS kernel or GPU changes the last bits of those values by about as much as the perturbations
here: a random orthogonal similarity, a relative nudge of 10·eps to every entry, a transposition.
So each test expects the *same* decision after them.  Each test also checks that the
perturbation really moves the computed values (a decision taken with no tolerance, or with the
old machine-tuned one, would flip), so a tolerance that is too tight makes it fail.
"""

from __future__ import annotations

import numpy as np
import pytest

from specdef.numerics import (SpecDefLayer, dense_spectrum, extreme_eigenvalues,
                              frozen_compensation_spectrum, gauge_projector,
                              joint_extremes_zero_residual, joint_spectrum_zero_residual,
                              linear_regression_spectrum, newton, specdef, to_host)


def H(a):
    return np.asarray(to_host(a), dtype=np.float64)


def nudge(A, rng, ulps=10.0):
    """``A ∘ (1 + ulps·eps·U(−1, 1))`` in A's dtype: a relative backward error of ``ulps·eps``."""
    eps = np.finfo(A.dtype).eps
    return (A.astype(np.float64) * (1 + ulps * eps * rng.uniform(-1, 1, A.shape))).astype(A.dtype)


def orthogonal(rng, n):
    return np.linalg.qr(rng.standard_normal((n, n)))[0]


def similar(C, Q):
    """``Q C Qᵀ`` formed in float64 and stored in C's dtype (not exactly symmetric)."""
    return (Q @ C.astype(np.float64) @ Q.T).astype(C.dtype)


def perturbations(C, rng):
    """``(name, C')`` for each backward-error-level perturbation of C."""
    Q = orthogonal(rng, C.shape[0])
    nudged = nudge(C, rng)
    return [("similarity", similar(C, Q)), ("nudge", nudged), ("transpose", nudged.T.copy())]


def sigma64(C):
    return np.linalg.svd(C.astype(np.float64), compute_uv=False)


# ------------------------------------------------------------------- grouping of C's values
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("m, alpha", [(4, 1.5), (9, 7.0), (16, 1e3), (40, 1e6)])
def test_grouping_of_specdef_values_survives_backward_error_perturbations(xp, rng, dtype, m,
                                                                         alpha):
    """SpecDef's C has the values {1/α (k times), 1 (m − k times)}: Σ_x ⊗ CᵀC has 2d distinct
    eigenvalues with multiplicities k and m − k, before and after every perturbation."""
    d, k = 3, max(1, m // 4)
    Wt, C = specdef(rng.standard_normal((m, m)).astype(dtype), alpha, k)
    X = rng.standard_normal((d, 2 * d)).astype(dtype)
    want = sorted([k] * d + [m - k] * d)
    base = frozen_compensation_spectrum(xp.asarray(X), xp.asarray(C))
    assert sorted(base.multiplicities.tolist()) == want and base.null_dim == 0
    for name, Cp in perturbations(C, rng):
        assert not np.array_equal(sigma64(Cp), sigma64(C)), name  # the values did move
        s = frozen_compensation_spectrum(xp.asarray(X), xp.asarray(Cp))
        assert sorted(s.multiplicities.tolist()) == want, name
        assert s.null_dim == 0, name
        # values agree to their documented absolute accuracy (C's values to ~2m·eps·σ_1)
        atol = 8 * m * np.finfo(dtype).eps * base.sigma_max
        np.testing.assert_allclose(H(s.values), H(base.values), rtol=0, atol=atol, err_msg=name)


def test_a_tolerance_free_grouping_would_flip(rng):
    """The planted error: grouping with ``group_tol=0`` (equal bits only) splits C's repeated
    values, and differently after a nudge, so the tests above test the tolerance."""
    m, d = 16, 3
    _, C = specdef(rng.standard_normal((m, d + 2)), 1e3, 4)
    X = rng.standard_normal((d, 2 * d))
    counts = {len(frozen_compensation_spectrum(X, Cp, group_tol=0.0).values)
              for Cp in [C] + [c for _, c in perturbations(C, rng)]}
    assert max(counts) > 2 * d


# --------------------------------------------------------- null spaces of the joint Hessian
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("alpha", [7.0, 1e4])
def test_joint_null_space_survives_rotation_and_nudges(rng, dtype, alpha):
    """Null dimension m² (the gauge) and 2d + 1 distinct values, for (QW̃, QCQᵀ, X) and nudges
    of W̃, C and X."""
    m, d, n = 6, 4, 10
    Wt, C = specdef(rng.standard_normal((m, d)).astype(dtype), alpha, 2)
    X = rng.standard_normal((d, n)).astype(dtype)
    Q = orthogonal(rng, m)
    cases = [("base", Wt, C, X),
             ("rotation", (Q @ Wt.astype(np.float64)).astype(dtype), similar(C, Q), X),
             ("nudge", nudge(Wt, rng), nudge(C, rng), nudge(X, rng))]
    for name, W_, C_, X_ in cases:
        s = joint_spectrum_zero_residual(W_, C_, X_)
        assert s.null_dim == m * m, name
        assert s.values.shape[0] == 2 * d + 1, name


# ------------------------------------------------------------------------- numerical ranks
def test_numerical_rank_of_the_data_survives_perturbations(xp, rng):
    """X with an exactly repeated row has rank d − 1: Σ_x's null space (m·1 zeros of the
    regression Hessian) stays under a nudge, a rotation of the samples and of the features."""
    d, n, m = 5, 40, 3
    X = rng.standard_normal((d, n))
    X[-1] = X[0]
    Qd, Qn = orthogonal(rng, d), orthogonal(rng, n)
    for name, Xp in [("base", X), ("nudge", nudge(X, rng)), ("samples", X @ Qn),
                     ("features", Qd @ X)]:
        s = linear_regression_spectrum(xp.asarray(Xp), m)
        assert s.null_dim == m, name
        assert s.lambda_min_nonzero > 0, name
    # the repeated row's singular value is rounding, not 0, once nudged: a decision at σ > 0
    # would flip
    assert np.linalg.svd(nudge(X, rng), compute_uv=False)[-1] > 0


def test_dense_null_space_survives_orthogonal_similarity(rng):
    G = rng.standard_normal((8, 5))
    A = G @ G.T  # rank 5 of 8
    for _ in range(3):
        Q = orthogonal(rng, 8)
        B = Q @ A @ Q.T
        s = dense_spectrum(0.5 * (B + B.T))
        assert s.null_dim == 3 and s.lambda_min_nonzero > 1e-8 * s.sigma_max
        assert np.abs(H(s.values)[:3]).max() > 0  # the zeros are rounding, not exact


# ------------------------------------------------------------------ Newton's rank decision
def _joint_problem(rng, alpha, m=3, d=4, n=16, pert=1e-3):
    X = rng.standard_normal((d, n)) * np.geomspace(1.0, np.sqrt(10.0), d)[:, None]
    W = rng.standard_normal((m, d))
    Y = (W + pert * rng.standard_normal((m, d))) @ X
    Wt, C = specdef(W, alpha, 1)
    return Wt, C, X, Y


@pytest.mark.parametrize("alpha", [1e3, 1e4])
def test_newton_status_on_the_joint_layer_survives_perturbations(rng, alpha):
    """Newton on the joint SpecDef layer away from its minimiser converges in a few steps at
    α = 10³ and 10⁴, also for a rotated output basis and nudged data: the rank decision keeps
    the unresolved range mode that carries the gradient (``|λ| ≈ 2e-17·‖H‖`` at 10⁴)."""
    Wt, C, X, Y = _joint_problem(rng, alpha)
    Q = orthogonal(rng, 3)
    eps = np.finfo(np.float64).eps
    cases = [("base", Wt, C, X, Y), ("rotation", Q @ Wt, similar(C, Q), X, Q @ Y),
             ("nudge", nudge(Wt, rng), nudge(C, rng), nudge(X, rng), Y)]
    for name, W_, C_, X_, Y_ in cases:
        model = SpecDefLayer(W_, C_, X_, Y_, train=("W", "C"))
        res = newton(model, model.theta0, max_steps=40, tol=eps)
        assert res.status == "converged" and res.steps <= 6, (name, res.status, res.steps)


def test_a_pure_eigenvalue_cutoff_stalls_newton(rng):
    """The planted error: the old rank decision — ``eigh`` of the unscaled Hessian, every
    ``|λ| <= p·eps·max|λ|`` dropped — is what Levenberg–Marquardt with zero damping on the
    Hessian still does; it drops the mode that carries the error and stalls at α = 10⁴."""
    from specdef.numerics import levenberg_marquardt

    Wt, C, X, Y = _joint_problem(rng, 1e4)
    model = SpecDefLayer(Wt, C, X, Y, train=("W", "C"))
    eps = np.finfo(np.float64).eps
    old = levenberg_marquardt(model, model.theta0, 0.0, curvature="hessian", max_steps=40,
                              tol=eps)
    assert old.status != "converged"
    assert newton(model, model.theta0, max_steps=40, tol=eps).status == "converged"


# ------------------------------------------------------- Lanczos fallback and convergence
def _closed_form_layer(rng, d, k, alpha):
    U, V = orthogonal(rng, d), orthogonal(rng, d)
    s, x = np.linspace(2.0, 1.0, d), rng.uniform(1.0, 2.0, d)
    t = np.ones(d)
    t[:k] = alpha
    Wt, C, X = (U * (s * t)) @ V.T, (U / t) @ U.T, np.sqrt(d) * V * x
    return Wt, 0.5 * (C + C.T), X


def test_lanczos_path_decision_survives_perturbations(rng):
    """Full-rank blocks keep the QR + Lanczos path; a block made singular by a repeated data
    row falls back to the full spectrum, nudged or not."""
    d = 40
    Wt, C, X = _closed_form_layer(rng, d, 5, 100.0)
    Q = orthogonal(rng, d)
    for W_, C_, X_ in [(Wt, C, X), (Q @ Wt, similar(C, Q), X),
                       (nudge(Wt, rng), nudge(C, rng), nudge(X, rng))]:
        assert joint_extremes_zero_residual(W_, C_, X_, method="lanczos").method == "lanczos"
    Xs = X.copy()
    Xs[-1] = Xs[0]
    for X_ in (Xs, nudge(Xs, rng)):
        assert joint_extremes_zero_residual(Wt, C, X_, method="lanczos").method == "full"


def test_eigensolver_convergence_survives_orthogonal_similarity(rng):
    """``converged`` is judged against ‖H‖, so rotating the operator (which changes every
    rounding in the products) leaves it True, and the values within their residuals."""
    n = 120
    lam = np.concatenate([[1e-12], np.geomspace(1e-2, 10.0, n - 1)])
    residuals = []
    for _ in range(3):
        Q = orthogonal(rng, n)
        A = (Q * lam) @ Q.T
        r = extreme_eigenvalues(lambda v: A @ v, n, which="both", tol=1e-12, rng=0)
        assert r.converged
        assert np.all(np.abs(H(r.values) - [lam[0], lam[-1]]) <= r.residuals + 1e-12 * lam[-1])
        residuals.append(tuple(r.residuals))
    assert len(set(residuals)) > 1  # the rotations did change the rounding


def test_gauge_projector_refusal_survives_nudges(rng):
    """Dependent gauge directions (C and W̃ᵀ share a null vector) are refused, also after an
    additive nudge of 10·eps·max|entry|; SpecDef's pair at α = 10⁶ is accepted, nudged or not."""
    eps = np.finfo(np.float64).eps
    W = np.array([[0.0, 0.0], [0.0, 1.0]])
    C = np.diag([1.0, 0.0])
    for _ in range(3):
        Wn = W + 10 * eps * rng.uniform(-1, 1, W.shape)
        Cn = C + 10 * eps * rng.uniform(-1, 1, C.shape)
        with pytest.raises(ValueError, match="gauge directions must be independent"):
            gauge_projector(Wn, Cn)
    Wt, Cs = specdef(rng.standard_normal((4, 5)), 1e6, 2)
    for W_, C_ in [(Wt, Cs), (nudge(Wt, rng), nudge(Cs, rng)), (Wt, similar(Cs, np.eye(4)))]:
        gauge_projector(W_, C_)
