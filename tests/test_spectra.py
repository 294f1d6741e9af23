"""Spectra: structured formulas against ``eigh`` of dense Hessians, and the matrix-free solver.

Structured spectra run on NumPy and array_api_strict (``xp`` fixture); the SciPy eigensolver
wrapper is NumPy-only.  Dense references are ``numpy.linalg.eigvalsh`` of model Hessians.
"""

from __future__ import annotations


import numpy as np
import pytest

from specdef.numerics import (InputError, LinearRegression, Spectrum, SpecDefLayer, dense_spectrum,
                      extreme_eigenvalues, frozen_compensation_spectrum,
                      joint_spectrum_zero_residual, linear_regression_spectrum, to_host)


def H(a):
    return np.asarray(to_host(a), dtype=np.float64)


def specdef_pair(W, alpha, k, full=True):
    """SpecDef by hand (docs/theory/specdef.rst).  ``full``: C = I + U_k(1/α − 1)U_k^T (invertible);
    otherwise C = U Σ Σ̃^{-1} U^T with thin U (singular when m > d).  C W̃ = W either way."""
    U, s, Vt = np.linalg.svd(W, full_matrices=False)
    t = np.ones_like(s)
    t[:k] = alpha
    if full:
        C = np.eye(W.shape[0]) + (U[:, :k] * (1 / alpha - 1)) @ U[:, :k].T
    else:
        C = (U / t) @ U.T
    Wt = (U * (s * t)) @ Vt
    assert np.allclose(C @ Wt, W)
    return Wt, C


def assert_same_spectrum(spec, dense, rtol=1e-10):
    """Sorted eigenvalues agree to rtol·σ_max, and so does the count of (near-)zeros."""
    got = H(spec.expand())
    assert got.shape == dense.shape and spec.n_rows == dense.size
    assert np.all(np.diff(got) >= 0)
    scale = np.max(np.abs(dense))
    assert np.max(np.abs(got - dense)) <= rtol * scale, np.max(np.abs(got - dense)) / scale
    tol = 1e-9 * scale
    assert spec.with_rtol(1e-9).null_dim == int(np.sum(np.abs(dense) <= tol))
    pos = dense[dense > tol]
    if pos.size:
        assert abs(spec.with_rtol(1e-9).lambda_min_nonzero - pos[0]) <= rtol * scale


def test_spectrum_summaries():
    vals = np.array([0.0, 1e-20, 0.5, 2.0, 4.0])
    s = Spectrum(vals, [3, 1, 2, 1, 1], 8, rtol=1e-12)
    assert s.sigma_max == 4.0 and s.lambda_min == 0.0 and s.lambda_max == 4.0
    assert s.null_dim == 4 and s.lambda_min_nonzero == 0.5 and s.condition_number == 8.0
    assert s.with_rtol(0.0).null_dim == 3 and s.with_rtol(0.0).lambda_min_nonzero == 1e-20
    np.testing.assert_array_equal(H(s.expand()), np.repeat(vals, [3, 1, 2, 1, 1]))
    default = Spectrum(vals, [1] * 5, 5)  # rtol = n_rows·eps
    assert default.null_dim == 2
    with pytest.raises(InputError, match="multiplicities"):
        Spectrum(vals, [1, 1, 1, 1, 1], 6)
    assert np.isnan(Spectrum(np.zeros(2), [1, 1], 2).lambda_min_nonzero)


def test_dense_spectrum(xp, rng):
    G = rng.standard_normal((6, 4))
    A = G @ G.T  # rank 4 of 6
    s = dense_spectrum(xp.asarray(A))
    np.testing.assert_allclose(H(s.values), np.linalg.eigvalsh(A), atol=1e-13 * np.abs(A).max())
    assert s.null_dim == 2 and s.n_rows == 6
    with pytest.raises(InputError, match="dense_spectrum: H must be symmetric"):
        dense_spectrum(xp.asarray(G @ G.T + np.triu(np.ones((6, 6)), 1)))
    with pytest.raises(InputError, match="dense_spectrum: H must be square"):
        dense_spectrum(xp.asarray(G))


@pytest.mark.parametrize("d,n", [(4, 9), (5, 3)])
def test_linear_regression_spectrum(xp, rng, d, n):
    m = 3
    X = rng.standard_normal((d, n))
    model = LinearRegression(xp.asarray(X), xp.asarray(rng.standard_normal((m, n))))
    dense = np.linalg.eigvalsh(H(model.hessian(xp.asarray(np.zeros(m * d)))))
    s = linear_regression_spectrum(xp.asarray(X), m)
    assert_same_spectrum(s, dense)
    assert s.null_dim == m * max(d - n, 0) and np.all(s.multiplicities == m)


@pytest.mark.parametrize("m,d,n,kind", [(4, 4, 9, "specdef"), (3, 5, 7, "specdef"),
                                        (5, 3, 8, "thin"), (3, 4, 6, "random"),
                                        (4, 3, 2, "random")])
def test_frozen_compensation_spectrum(xp, rng, m, d, n, kind):
    X, W = rng.standard_normal((d, n)), rng.standard_normal((m, d))
    Wt, C = (W, rng.standard_normal((m, m))) if kind == "random" else \
        specdef_pair(W, 4.0, 2, full=kind == "specdef")
    model = SpecDefLayer(xp.asarray(Wt), xp.asarray(C), xp.asarray(X),
                         xp.asarray(rng.standard_normal((m, n))), train="W")
    dense = np.linalg.eigvalsh(H(model.hessian(model.theta0)))
    s = frozen_compensation_spectrum(xp.asarray(X), xp.asarray(C))
    assert_same_spectrum(s, dense)
    if kind == "specdef":
        # C's values 1/α (k=2) and 1 are each equal up to the grouping tolerance, which is the
        # solver's backward error plus C's own rounding (not the last bits of one LAPACK
        # build), and 1 - 1/α is far above it: two groups, 2d values, on every BLAS
        assert s.values.shape[0] == 2 * d
        assert sorted(s.multiplicities.tolist()) == sorted([2] * d + [m - 2] * d)


@pytest.mark.parametrize("m, alpha", [(128, 1e5), (1024, 1e4)])
def test_float32_spectra_keep_the_small_eigenvalue_of_c(rng, m, alpha):
    """float32 C from SpecDef at large m·α: its eigenvalue 1/α (1e-5, 1e-4) is below a float32
    solver's resolution m·eps₃₂·σ_1 (1.5e-5, 1.2e-4), which used to zero it and report
    κ = κ(Σ_x) ≈ 6 with a null space of dimension k·d.  The stored C determines it, and the
    spectra factorise in float64: κ ≈ α²·κ(Σ_x), no null space, two groups of C's values."""
    from specdef.numerics import specdef

    d, n, k = 16, 64, 8
    W = rng.standard_normal((m, d)).astype(np.float32)
    Wt, C = specdef(W, alpha, k)
    X = rng.standard_normal((d, n)).astype(np.float32)
    assert C.dtype == np.float32
    lam = np.linalg.eigvalsh(X.astype(np.float64) @ X.T.astype(np.float64) / n)
    want = alpha**2 * lam[-1] / lam[0]  # κ of Σ_x ⊗ CᵀC for the exact SpecDef C
    s = frozen_compensation_spectrum(X, C)
    assert s.values.dtype == np.float32 and s.null_dim == 0
    assert s.condition_number >= (1e9 if alpha >= 1e5 else 1e8)  # was ≈ 6 for both
    assert abs(s.condition_number / want - 1) <= 0.05  # C's float32 rounding: ~1e-7 / (1/α)
    assert sorted(s.multiplicities.tolist()) == sorted([k] * d + [m - k] * d)
    j = joint_spectrum_zero_residual(Wt, C, X)
    assert j.null_dim == m * m and j.condition_number >= alpha**2


@pytest.mark.parametrize("m,d,n,kind", [(4, 4, 9, "specdef"), (3, 5, 7, "specdef"),
                                        (5, 3, 8, "specdef"), (5, 3, 8, "thin"),
                                        (3, 5, 4, "specdef"), (4, 4, 6, "random")])
def test_joint_spectrum_matches_dense_hessian(xp, rng, m, d, n, kind):
    X, W = rng.standard_normal((d, n)), rng.standard_normal((m, d))
    Wt, C = (W, rng.standard_normal((m, m))) if kind == "random" else \
        specdef_pair(W, 3.0, 1, full=kind == "specdef")
    model = SpecDefLayer(xp.asarray(Wt), xp.asarray(C), xp.asarray(X), xp.asarray(C @ Wt @ X))
    dense = np.linalg.eigvalsh(H(model.hessian(model.theta0)))
    s = joint_spectrum_zero_residual(xp.asarray(Wt), xp.asarray(C), xp.asarray(X))
    assert s.n_rows == model.n_params == m * d + m * m
    assert_same_spectrum(s, dense)
    # multiplicity formula: invertible C -> null dim m^2 + m (d - rank Σ_x)
    if kind != "thin":
        assert s.null_dim == m * m + m * (d - min(d, n))
    if kind == "specdef":  # CC^T has two distinct eigenvalues: d values each + one zero entry
        assert s.values.shape[0] == 2 * d + 1


def test_joint_spectrum_rotation_invariant(xp, rng):
    """Metamorphic: rotating the samples (X → X Q_n) and the output basis ((W̃, C) →
    (Q_m W̃, Q_m C Q_m^T), an orthogonal map of θ) leave the Hessian spectrum unchanged."""
    m, d, n = 3, 4, 6
    X, W = rng.standard_normal((d, n)), rng.standard_normal((m, d))
    Wt, C = specdef_pair(W, 10.0, 1)
    Qn, _ = np.linalg.qr(rng.standard_normal((n, n)))
    Qm, _ = np.linalg.qr(rng.standard_normal((m, m)))
    a = H(joint_spectrum_zero_residual(xp.asarray(Wt), xp.asarray(C), xp.asarray(X)).expand())
    b = H(joint_spectrum_zero_residual(xp.asarray(Qm @ Wt), xp.asarray(Qm @ C @ Qm.T),
                                       xp.asarray(X @ Qn)).expand())
    assert np.max(np.abs(a - b)) <= 1e-12 * a[-1]


def test_joint_spectrum_bad_input(xp, rng):
    W, C, X = rng.standard_normal((3, 4)), rng.standard_normal((3, 3)), rng.standard_normal((4, 5))
    with pytest.raises(InputError,
                       match=r"joint_spectrum_zero_residual: C must have shape \(3, 3\)"):
        joint_spectrum_zero_residual(xp.asarray(W), xp.asarray(C[:, :2]), xp.asarray(X))
    with pytest.raises(InputError, match=r"joint_spectrum_zero_residual: X must have 4 rows"):
        joint_spectrum_zero_residual(xp.asarray(W), xp.asarray(C), xp.asarray(X[:3]))
    Xn = X.copy()
    Xn[1, 2] = np.nan
    with pytest.raises(InputError, match=r"frozen_compensation_spectrum: X must have finite"):
        frozen_compensation_spectrum(xp.asarray(Xn), xp.asarray(C))
    with pytest.raises(InputError, match=r"linear_regression_spectrum: m must be an integer"):
        linear_regression_spectrum(xp.asarray(X), 2.5)


# -- matrix-free (SciPy; NumPy only) ---------------------------------------------------------------
def test_joint_spectrum_vs_lanczos_d32(rng):
    """Largest and smallest nonzero eigenvalue at d = 32 (2048 parameters, 1024-dim null space)."""
    m = d = 32
    Q1, _ = np.linalg.qr(rng.standard_normal((m, m)))
    Q2, _ = np.linalg.qr(rng.standard_normal((d, d)))
    Wt, C = specdef_pair((Q1 * np.linspace(1.0, 2.0, d)) @ Q2.T, 3.0, 3)
    X = rng.standard_normal((d, 2 * d))
    model = SpecDefLayer(Wt, C, X, C @ Wt @ X)
    th = model.theta0
    s = joint_spectrum_zero_residual(Wt, C, X)
    assert s.null_dim == m * m
    top = extreme_eigenvalues(lambda v: model.hvp(th, v), model.n_params, which="largest", rng=0)
    low = extreme_eigenvalues(lambda v: model.hvp(th, v), model.n_params, tol=1e-12, rng=0,
                              which="smallest_nonzero", null_space=model.gauge_basis(th))
    assert top.converged and low.converged
    assert abs(top.values[0] - s.lambda_max) <= 1e-8 * s.lambda_max
    assert abs(low.values[0] - s.lambda_min_nonzero) <= 1e-8 * s.lambda_min_nonzero
    assert np.all(low.residuals <= 1e-8 * s.lambda_max)


def _householder2(rng, d):
    """Dense orthogonal matrix (product of two reflectors) in O(d²)."""
    Q = np.eye(d)
    for _ in range(2):
        u = rng.standard_normal(d)
        u /= np.linalg.norm(u)
        Q -= 2 * np.outer(Q @ u, u)
    return Q


def test_joint_spectrum_d1024_closed_form(rng):
    """2·1024² = 2 097 152 Hessian rows at α = 10⁴.  With W = U diag(s) V^T and Σ_x = V diag(x²) V^T
    sharing V, every eigenvalue is known: x_i²(c + s̃_i²) for c ∈ {α⁻² (k times), 1 (m−k times)},
    plus m² zeros.  All of them, the smallest included (κ ≈ 1.5e9), must match to 1e-9 relative.
    Measured: 1.4 s with 2 idle cores, ~3 s single-threaded under load."""
    d = m = 1024
    k, alpha = 16, 1e4
    U, V = _householder2(rng, d), _householder2(rng, d)
    s, x = np.linspace(2.0, 1.0, d), rng.uniform(1.0, 2.0, d)
    t = np.ones(d)
    t[:k] = alpha
    Wt, C, X = (U * (s * t)) @ V.T, (U / t) @ U.T, np.sqrt(d) * V * x  # Σ_x = V diag(x²) V^T
    spec = joint_spectrum_zero_residual(Wt, C, X)  # timed in benchmarks/, not here
    assert spec.n_rows == 2 * d * d and int(spec.multiplicities.sum()) == spec.n_rows
    assert spec.null_dim == m * m and spec.values.shape[0] == 2 * d + 1
    st2 = (s * t) ** 2
    want = np.sort(np.concatenate([np.repeat(x**2 * (alpha**-2 + st2), k),
                                   np.repeat(x**2 * (1.0 + st2), m - k)]))
    got = H(spec.expand())[m * m:]
    assert np.max(np.abs(got - want) / want) < 1e-9
    assert abs(spec.condition_number / (want[-1] / want[0]) - 1) < 1e-9


@pytest.mark.parametrize("method", ["eigsh", "lobpcg"])
def test_extreme_eigenvalues_known_spectrum(rng, method):
    n = 300
    lam = np.concatenate([np.zeros(20), [1e-2], np.geomspace(1e-1, 10.0, n - 21)])
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    A = (Q * lam) @ Q.T
    calls = [0]

    def hvp(v):
        calls[0] += 1
        return A @ v

    kw = dict(tol=1e-10 if method == "eigsh" else 1e-8, method=method, rng=1,
              maxiter=None if method == "eigsh" else 3000)
    # both ends for Lanczos; LOBPCG (block of 2) stalls near 1e-8 against a 20-fold zero
    # eigenvalue, so it is asked for the top end only and meets the null space via its constraint
    which = "both" if method == "eigsh" else "largest"
    both = extreme_eigenvalues(hvp, n, k=2, which=which, **kw)
    assert both.converged and both.n_matvecs == calls[0]
    np.testing.assert_allclose(both.values[-2:], [lam[-2], lam[-1]], atol=1e-7, rtol=1e-7)
    if method == "eigsh":
        # single-vector Lanczos promises Ritz values that lie in the spectrum and the extreme
        # one, not every copy of the 20-fold 0: the second value is another 0 or the next
        # distinct eigenvalue 1e-2, depending on rounding
        low2 = H(both.values[:2])
        assert abs(low2[0]) <= 1e-7
        assert min(abs(low2[1]), abs(low2[1] - 1e-2)) <= 1e-7
        assert np.all(np.min(np.abs(H(both.values)[:, None] - lam[None, :]), axis=1)
                      <= both.residuals + 1e-12)
    low = extreme_eigenvalues(hvp, n, which="smallest_nonzero", null_space=Q[:, :20] @
                              rng.standard_normal((20, 20)), return_vectors=True, **kw)
    assert low.converged and abs(low.values[0] - 1e-2) <= 1e-7
    assert low.vectors.shape == (n, 1) and low.residuals[0] <= 1e-6


def test_extreme_eigenvalues_reports_non_convergence_and_bad_input(rng):
    n = 200
    lam = np.geomspace(1e-6, 1.0, n)
    res = extreme_eigenvalues(lambda v: lam * v, n, which="smallest", maxiter=2, tol=1e-14, rng=0)
    assert not res.converged
    with pytest.raises(InputError, match="extreme_eigenvalues: which must be one of"):
        extreme_eigenvalues(lambda v: v, n, which="middle")
    with pytest.raises(InputError, match="extreme_eigenvalues: null_space must be given"):
        extreme_eigenvalues(lambda v: v, n, which="smallest_nonzero")
    with pytest.raises(InputError, match="extreme_eigenvalues: k must be < n=3"):
        extreme_eigenvalues(lambda v: v, 3, k=3)


def test_gauge_projector_is_the_dense_orthogonal_projector(xp, rng):
    """Against ``N (NᵀN)⁻¹ Nᵀ`` from the explicit basis, m' = m and m' > m (thin C)."""
    from specdef.numerics import gauge_projector

    for m, d, thin in [(4, 5, False), (3, 4, True)]:
        W = rng.standard_normal((m, d))
        Wt, C = (W, rng.standard_normal((m + 2, m))) if thin else specdef_pair(W, 30.0, 2)
        layer = SpecDefLayer(xp.asarray(Wt), xp.asarray(C), xp.asarray(rng.standard_normal(
            (d, 7))), xp.asarray(C @ Wt @ rng.standard_normal((d, 7))))
        N = H(layer.gauge_basis(layer.theta0))
        dense = N @ np.linalg.solve(N.T @ N, N.T)
        P = layer.gauge_projector(layer.theta0)
        V = rng.standard_normal((layer.n_params, 4))
        got = np.stack([H(P(xp.asarray(V[:, i]))) for i in range(4)], axis=1)
        # both sides solve with NᵀN: agreement to eps·κ(NᵀN)
        tol = 10 * np.finfo(float).eps * np.linalg.cond(N.T @ N)
        np.testing.assert_allclose(got, dense @ V, atol=tol * np.abs(V).max())
        again = np.stack([H(P(xp.asarray(got[:, i]))) for i in range(4)], axis=1)
        np.testing.assert_allclose(again, got, atol=tol * np.abs(V).max())  # idempotent
        # a planted error: the projector of a perturbed layer is caught at this tolerance
        other = gauge_projector(xp.asarray(Wt * 1.01), xp.asarray(C))
        assert np.abs(H(other(xp.asarray(V[:, 0]))) - dense @ V[:, 0]).max() > \
            100 * tol * np.abs(V).max()
    nm_only = SpecDefLayer(xp.asarray(Wt), xp.asarray(C), xp.asarray(np.ones((d, 3))),
                           xp.asarray(np.ones((m + 2, 3))), train=("W",))
    with pytest.raises(InputError, match="SpecDefLayer.gauge_projector: train"):
        nm_only.gauge_projector(nm_only.theta0)


def test_gauge_projector_refuses_dependent_directions_and_bad_vectors():
    from specdef.numerics import gauge_projector

    W = np.array([[0.0, 0.0], [0.0, 1.0]])  # W̃ᵀ e₁ = 0 and C e₂ = 0: E = e₂e₁ᵀ is no direction
    C = np.diag([1.0, 0.0])
    with pytest.raises(InputError, match="gauge_projector: the gauge directions must be "
                                         "independent"):
        gauge_projector(W, C)
    with pytest.raises(InputError, match="gauge_projector: C must have 2 columns"):
        gauge_projector(W, np.ones((2, 3)))
    P = gauge_projector(W, np.eye(2))
    with pytest.raises(InputError, match=r"gauge_projector: v must have shape \(8,\)"):
        P(np.ones(3))


def test_extreme_eigenvalues_with_a_projector_matches_basis_and_structure(rng):
    m, d, n = 4, 5, 9
    Wt, C = specdef_pair(rng.standard_normal((m, d)), 100.0, 2)
    X = rng.standard_normal((d, n))
    layer = SpecDefLayer(Wt, C, X, C @ Wt @ X)
    theta = layer.theta0
    hvp = lambda v: layer.hvp(theta, v)  # noqa: E731
    want = joint_spectrum_zero_residual(Wt, C, X).lambda_min_nonzero
    for null in (layer.gauge_projector(theta), layer.gauge_basis(theta)):
        low = extreme_eigenvalues(hvp, layer.n_params, which="smallest_nonzero",
                                  null_space=null, tol=1e-12, rng=0)
        # a Ritz value lies within its residual ‖Hv − λv‖ of the spectrum (κ ≈ 1e9 here); a
        # residual is only promised relative to ‖H‖ (its floor is eps·‖H‖, whatever BLAS)
        assert low.converged and abs(low.values[0] - want) <= low.residuals[0] + 1e-12 * want
        top = joint_spectrum_zero_residual(Wt, C, X).lambda_max
        assert low.residuals[0] <= 100 * 1e-12 * top
    with pytest.raises(InputError, match="extreme_eigenvalues: null_space must be a basis"):
        extreme_eigenvalues(hvp, layer.n_params, which="smallest_nonzero", method="lobpcg",
                            null_space=layer.gauge_projector(theta))
    with pytest.raises(InputError, match="null_space projector must be idempotent"):
        extreme_eigenvalues(hvp, layer.n_params, which="smallest_nonzero",
                            null_space=lambda v: 2 * v)
    with pytest.raises(InputError, match="null_space projector must map shape"):
        extreme_eigenvalues(hvp, layer.n_params, which="smallest_nonzero",
                            null_space=lambda v: v[:3])


def test_converged_is_judged_against_the_operator_norm_not_a_tiny_eigenvalue(rng):
    """A residual of eps·‖H‖ is all a 1e-12 eigenvalue can get; that is convergence."""
    n = 60
    lam = np.concatenate([[1e-12], np.linspace(1.0, 2.0, n - 1)])
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    A = (Q * lam) @ Q.T
    low = extreme_eigenvalues(lambda v: A @ v, n, which="smallest", tol=1e-12, rng=0)
    assert low.converged and abs(low.values[0] - 1e-12) <= 1e-13
    assert low.residuals[0] > 100 * 1e-12 * 1e-12  # the old test, relative to λ, would fail


@pytest.mark.parametrize("alpha", [1e4, 1e6])
def test_gauge_projector_error_grows_like_cond_not_its_square(rng, alpha):
    """Against ``QQᵀ`` from a Householder QR of the explicit basis (error ~ eps·κ(N)).  Building
    the projector from ``eigh`` of the Gram matrices ``CᵀC``, ``W̃W̃ᵀ`` errs by ~eps·κ(N)²
    (measured 2.5e-7 at α = 1e4 and 9e-3 at α = 1e6 on a 4×5 layer), far outside it."""
    m, d = 4, 5
    Wt, C = specdef_pair(rng.standard_normal((m, d)), alpha, 2)
    layer = SpecDefLayer(Wt, C, rng.standard_normal((d, 9)), rng.standard_normal((m, 9)))
    N = H(layer.gauge_basis(layer.theta0))
    Q = np.linalg.qr(N)[0]
    P = layer.gauge_projector(layer.theta0)
    v = rng.standard_normal(layer.n_params)
    tol = 100 * np.finfo(float).eps * np.linalg.cond(N) * np.abs(v).max()
    assert np.abs(H(P(v)) - Q @ (Q.T @ v)).max() <= tol
