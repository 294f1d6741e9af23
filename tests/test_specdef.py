"""SpecDef kernel against independent computations (library SVD / eigensolvers)."""

import numpy as np
import pytest

from specdef import numerics as nm
from specdef.numerics import InputError, to_host

U64 = np.finfo(np.float64).eps


def _svals(a):
    return np.linalg.svd(np.asarray(a), compute_uv=False)


@pytest.mark.parametrize("shape", [(6, 6), (7, 4), (3, 8), (1, 1), (5, 1)])
@pytest.mark.parametrize("alpha", [1.0, 10.0, 1e4, 1e8])
def test_spectra_and_reconstruction(xp, rng, shape, alpha):
    m, n = shape
    W_h = rng.standard_normal(shape)
    k = max(1, min(m, n) // 2)
    Wi, C = nm.specdef(xp.asarray(W_h), alpha, k)
    Wi_h, C_h = to_host(Wi), to_host(C)
    s, si = _svals(W_h), _svals(Wi_h)
    expect = s.copy()
    expect[:k] *= alpha
    expect = np.sort(expect)[::-1]
    # singular values of W̃ are computed by an SVD whose absolute error is ~ u·σ_1(W̃)
    np.testing.assert_allclose(si, expect, rtol=0, atol=64 * U64 * expect[0] + 1e-300)
    ev = np.linalg.eigvalsh(C_h)
    want = np.sort(np.r_[np.full(k, 1 / alpha), np.ones(m - k)])
    # storing eigenvalue 1/alpha next to eigenvalue 1 costs an absolute error ~ u
    np.testing.assert_allclose(ev, want, rtol=0, atol=64 * U64)
    np.testing.assert_allclose(C_h, C_h.T, rtol=0, atol=0)
    err = float(to_host(nm.reconstruction_error(xp.asarray(W_h), Wi, C)))
    assert err <= 16 * max(m, n) * alpha * U64


def test_alpha_one_is_identity(rng):
    W = rng.standard_normal((5, 3))
    Wi, C = nm.specdef(W, 1.0, 2)
    assert np.array_equal(Wi, W)
    np.testing.assert_allclose(C, np.eye(5), rtol=0, atol=4 * U64)


def test_batched_matches_loop(rng):
    W = rng.standard_normal((4, 5, 3))
    Wi, C = nm.specdef(W, 100.0, 2)
    for b in range(4):
        wi, c = nm.specdef(W[b], 100.0, 2)
        np.testing.assert_allclose(Wi[b], wi, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(C[b], c, rtol=1e-12, atol=1e-12)


def test_float32_keeps_dtype_and_shows_alpha_u(rng):
    W = rng.standard_normal((8, 8)).astype(np.float32)
    X = rng.standard_normal((8, 20)).astype(np.float32)
    Wi, C = nm.specdef(W, 1e4, 3)
    assert Wi.dtype == np.float32 and C.dtype == np.float32
    err = float(nm.reconstruction_error(W, Wi, C, X))
    u32 = np.finfo(np.float32).eps
    assert err <= 16 * 8 * 1e4 * u32
    assert err > u32  # float32 really loses accuracy at alpha = 1e4


def test_rotation_invariance(rng):
    """Metamorphic: SpecDef commutes with orthogonal rotations of input and output spaces."""
    W = rng.standard_normal((5, 4))
    P, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    Q, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    Wi, C = nm.specdef(W, 50.0, 2)
    Wi2, C2 = nm.specdef(P @ W @ Q, 50.0, 2)
    np.testing.assert_allclose(Wi2, P @ Wi @ Q, atol=1e-10)
    np.testing.assert_allclose(C2, P @ C @ P.T, atol=1e-12)


@pytest.mark.parametrize("kw, name", [
    (dict(alpha=-1.0), "alpha"), (dict(alpha=0.0), "alpha"), (dict(alpha=float("nan")), "alpha"),
    (dict(alpha=float("inf")), "alpha"), (dict(k=0), "k"), (dict(k=4), "k"), (dict(k=1.5), "k"),
    (dict(svd_dtype="float16"), "svd_dtype"),
])
def test_bad_parameters(kw, name):
    args = dict(W=np.ones((3, 5)), alpha=10.0, k=1) | kw
    with pytest.raises(InputError, match=f"specdef: {name}"):
        nm.specdef(args.pop("W"), **args)


@pytest.mark.parametrize("W", [np.full((2, 2), np.nan), np.ones(3), np.ones((0, 3)),
                               np.ones((2, 2), dtype=complex)])
def test_bad_weights(W):
    with pytest.raises(InputError, match="specdef: W"):
        nm.specdef(W, 10.0, 1)


def test_integer_weights_are_converted():
    Wi, C = nm.specdef(np.arange(6).reshape(2, 3), 10.0, 1)
    assert Wi.dtype == np.float64
    np.testing.assert_allclose(C @ Wi, np.arange(6).reshape(2, 3), atol=1e-12)
