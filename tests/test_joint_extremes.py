"""``joint_extremes_zero_residual``: the QR + Lanczos ends against closed forms and full spectra.

References are independent of the QR path: the closed-form spectrum of a layer whose W and Σ_x
share their right singular vectors, the full structured spectrum (one SVD per block), and
``eigvalsh`` of the dense Hessian of :class:`SpecDefLayer`.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st

from specdef.numerics import (InputError, SpecDefLayer, joint_extremes_zero_residual,
                      joint_spectrum_zero_residual, specdef, to_host)

EPS = np.finfo(np.float64).eps


def closed_form_layer(rng, d, k, alpha):
    """``(W̃, C, X, λ_max, λ_min⁺)`` with every eigenvalue known: ``x_i²(c + s̃_i²)``."""
    U = np.linalg.qr(rng.standard_normal((d, d)))[0]
    V = np.linalg.qr(rng.standard_normal((d, d)))[0]
    s, x = np.linspace(2.0, 1.0, d), rng.uniform(1.0, 2.0, d)
    t = np.ones(d)
    t[:k] = alpha
    Wt, C, X = (U * (s * t)) @ V.T, (U / t) @ U.T, np.sqrt(d) * V * x
    st2 = (s * t) ** 2
    # each c ∈ {α⁻² (k times), 1 (d − k times)} pairs with every i
    lam = np.concatenate([x**2 * (alpha**-2 + st2), x**2 * (1.0 + st2)])
    return Wt, 0.5 * (C + C.T), X, lam.max(), lam.min()


@pytest.mark.parametrize("d, alpha", [(64, 10.0), (96, 1e4), (128, 1e2)])
def test_lanczos_ends_match_the_closed_form(rng, d, alpha):
    Wt, C, X, top, low = closed_form_layer(rng, d, max(1, d // 8), alpha)
    r = joint_extremes_zero_residual(Wt, C, X, method="lanczos")
    assert r.method == "lanczos" and r.n_solves > 0
    # QR is backward stable: λ_min⁺ carries u·√κ (an SVD's accuracy), plus the Lanczos tol
    kappa = top / low
    assert abs(r.lambda_max / top - 1) <= 1e3 * EPS + 1e-12
    assert abs(r.lambda_min_nonzero / low - 1) <= 1e3 * EPS * np.sqrt(kappa) + 1e-12
    assert r.condition_number == pytest.approx(kappa, rel=1e-10)


def test_lanczos_matches_the_dense_hessian_and_the_full_path(rng):
    m, d, n = 4, 6, 9
    Wt, C = specdef(rng.standard_normal((m, d)), 30.0, 2)
    X = rng.standard_normal((d, n))
    model = SpecDefLayer(Wt, C, X, C @ Wt @ X)
    dense = np.linalg.eigvalsh(np.asarray(to_host(model.hessian(model.theta0))))
    nonzero = dense[dense > model.n_params * EPS * dense[-1]]
    fast = joint_extremes_zero_residual(Wt, C, X, method="lanczos")
    full = joint_extremes_zero_residual(Wt, C, X, method="full")
    assert fast.method == "lanczos" and full.method == "full"
    for r in (fast, full):
        assert r.lambda_max == pytest.approx(dense[-1], rel=1e-10)
        assert r.lambda_min_nonzero == pytest.approx(nonzero[0], rel=1e-8)


def test_rank_deficient_block_falls_back_to_the_full_spectrum(rng):
    d = 8
    Wt, C = specdef(rng.standard_normal((d, d)), 5.0, 2)
    X = rng.standard_normal((d, 3 * d))
    X[-1] = X[0]  # Σ_x singular: each block has a zero that is not a gauge direction
    r = joint_extremes_zero_residual(Wt, C, X, method="lanczos")
    s = joint_spectrum_zero_residual(Wt, C, X)
    assert r.method == "full"
    assert (r.lambda_max, r.lambda_min_nonzero) == (s.lambda_max, s.lambda_min_nonzero)


def test_auto_uses_the_full_spectrum_for_small_layers_and_strict_arrays(rng):
    import array_api_strict as xs

    Wt, C, X, top, low = closed_form_layer(rng, 16, 2, 10.0)
    assert joint_extremes_zero_residual(Wt, C, X).method == "full"
    strict = joint_extremes_zero_residual(xs.asarray(Wt), xs.asarray(C), xs.asarray(X),
                                          method="lanczos")
    assert strict.method == "full" and strict.lambda_max == pytest.approx(top, rel=1e-12)
    Wt, C, X, top, low = closed_form_layer(rng, 260, 9, 10.0)
    ends = joint_extremes_zero_residual(Wt, C, X)
    assert ends.method == "lanczos" and ends.lambda_min_nonzero == pytest.approx(low, rel=1e-10)


@given(d=st.integers(3, 10), extra=st.integers(0, 6), k=st.integers(1, 3),
       alpha=st.floats(1.0, 1e3), seed=st.integers(0, 2**32 - 1))
def test_lanczos_agrees_with_the_full_path_on_random_layers(d, extra, k, alpha, seed):
    rng = np.random.default_rng(seed)
    Wt, C = specdef(rng.standard_normal((d, d)), alpha, min(k, d))
    X = rng.standard_normal((d, d + extra))
    fast = joint_extremes_zero_residual(Wt, C, X, method="lanczos")
    full = joint_extremes_zero_residual(Wt, C, X, method="full")
    assert fast.method == "lanczos"  # full rank: no fallback
    assert fast.lambda_max == pytest.approx(full.lambda_max, rel=1e-10)
    tol = 1e3 * EPS * np.sqrt(full.condition_number) + 1e-10
    assert fast.lambda_min_nonzero == pytest.approx(full.lambda_min_nonzero, rel=tol)


@pytest.mark.parametrize("kw, name", [({"method": "fast"}, "method"), ({"tol": 0.0}, "tol"),
                                      ({"tol": float("nan")}, "tol"),
                                      ({"group_tol": -1.0}, "group_tol")])
def test_bad_options_name_the_parameter(rng, kw, name):
    Wt, C, X, _, _ = closed_form_layer(rng, 8, 1, 2.0)
    with pytest.raises(InputError, match=f"joint_extremes_zero_residual: {name}"):
        joint_extremes_zero_residual(Wt, C, X, **kw)


@pytest.mark.parametrize("m, d, n", [(12, 12, 30), (15, 12, 12), (12, 12, 9), (9, 12, 30)])
def test_triangular_factors_have_the_singular_values_of_each_block(rng, m, d, n):
    """The stacked-triangle QR (n ≥ d, m ≥ d) and the plain QR of K_c (otherwise) both give
    σ(R_c) = σ(K_c), against an SVD of the explicitly stacked K_c = [√c F ; W̃F]."""
    import numpy
    from specdef.numerics._joint_extremes import _r_factors
    from specdef.numerics._joint_spectrum import _joint_inputs

    W = rng.standard_normal((m, d))
    Wt, C = specdef(W, 7.0, 2)
    j = _joint_inputs("test", Wt, C, rng.standard_normal((d, n)), None)
    blocks = [K for K, _ in j.blocks()]
    factors = list(_r_factors(j, numpy, "numpy"))
    assert len(factors) == len(blocks) == len(j.groups)
    # C's values {1/7, 1} are grouped within their computed accuracy (not the last bits of one
    # BLAS), which 1 - 1/7 exceeds by far: two blocks, with multiplicities k and m - k
    assert sorted(k for _, k in j.groups) == sorted([2, m - 2])
    for K, (R, rows) in zip(blocks, factors):
        if K.shape[0] < K.shape[1]:
            assert R is None
            continue
        assert rows == K.shape[0] and np.allclose(R, np.triu(R))
        np.testing.assert_allclose(np.linalg.svd(R, compute_uv=False),
                                   np.linalg.svd(K, compute_uv=False), rtol=1e3 * EPS)


def test_overflowing_factors_fall_back_to_the_full_path_error(rng):
    Wt, C, X, _, _ = closed_form_layer(rng, 8, 1, 2.0)
    with pytest.raises(InputError, match="joint_extremes_zero_residual: .*small enough"):
        joint_extremes_zero_residual(Wt * 1e80, C, X * 1e80, method="lanczos")


def test_every_backend_matches_the_closed_form(xp, rng):
    """NumPy and CuPy take the QR + Lanczos path (CuPy: cupy.linalg.qr and cupyx triangular
    solves, no tpqrt); array_api_strict, which has no SciPy, falls back to the full spectrum."""
    Wt, C, X, top, low = closed_form_layer(rng, 40, 5, 100.0)
    got = joint_extremes_zero_residual(xp.asarray(Wt), xp.asarray(C), xp.asarray(X),
                                       method="lanczos")
    from specdef.numerics import backend_name

    want = "full" if backend_name(xp) == "array_api_strict" else "lanczos"
    assert got.method == want
    assert got.lambda_max == pytest.approx(top, rel=1e-12)
    assert got.lambda_min_nonzero == pytest.approx(low, rel=1e3 * EPS * np.sqrt(top / low))
