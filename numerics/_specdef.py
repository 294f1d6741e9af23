"""SpecDef: function-preserving spectral inflation of a linear layer (docs/theory/specdef.rst).

For ``W ∈ R^{m×n}`` with thin SVD ``W = U Σ V^T`` the defence multiplies the top ``k``
singular values by ``alpha`` and appends a compensation layer ``C`` so that ``C W̃ = W``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._backend import (eps, get_namespace, _one_of, require_index, require_matrix, require_positive,
                       to_host)
from ._errors import InputError

__all__ = ["specdef", "reconstruction_error"]


def _dtype_name(dtype: Any) -> str:
    return str(dtype).rsplit(".", 1)[-1]


def _check_k(k: Any, r: int) -> int:
    return require_index("specdef", f"k (min(m, n)={r})", k, 1, r)


def specdef(W: Any, alpha: float, k: int, *, svd_dtype: str | None = "float64") -> tuple[Any, Any]:
    """Inflate the top-``k`` singular values of ``W`` by ``alpha``; return ``(W_inflated, C)``.

    Parameters
    ----------
    W : array, shape (..., m, n)
        Weight matrix, or a batch of them along leading axes.  Integer input is converted to
        float64; complex input is refused.
    alpha : float
        Inflation factor, finite and > 0 (``alpha = 1`` is the identity map; the paper uses
        ``alpha >= 10^3``).
    k : int
        Number of singular values inflated, ``1 <= k <= min(m, n)``.
    svd_dtype : {"float64", None}
        Precision of the SVD (default float64 whatever ``W``'s dtype); ``None`` uses ``W``'s dtype
        (float64 for float16, which LAPACK lacks).
        The outputs always have ``W``'s dtype.

    Returns
    -------
    W_inflated : array, shape (..., m, n)
        ``W̃ = U Σ̃ V^T`` with ``σ_j(W̃) = alpha σ_j(W)`` for ``j <= k``.
    C : array, shape (..., m, m)
        Symmetric compensation, eigenvalues ``1/alpha`` (k times) and 1 (m - k times).

    Notes
    -----
    With ``U_k, Σ_k, V_k`` the top-``k`` singular triplets,

    .. math::

        \\tilde W = W + (\\alpha - 1) U_k Σ_k V_k^T, \\qquad
        C = I_m + (\\alpha^{-1} - 1) U_k U_k^T,

    which is ``U Σ̃ V^T`` and ``U Σ Σ̃^{-1} U^T`` of docs/theory/specdef.rst, completed to a
    full-rank
    ``m × m`` matrix when ``m > n``.  Then ``C \\tilde W = W`` exactly in exact arithmetic
    (the coefficient of ``U_k Σ_k V_k^T`` is ``(α-1) + (α^{-1}-1) + (α^{-1}-1)(α-1) = 0``).
    In floating point ``C(\\tilde W x)`` carries a relative error of order ``α u``.  Writing
    ``W̃`` as a rank-k update keeps the uninflated part of ``W`` bit-exact, so ``alpha = 1``
    returns ``W`` unchanged and ``C = I``.
    """
    W = require_matrix("specdef", "W", W, ndim=tuple(range(2, 8)), half=True)
    alpha = require_positive("specdef", "alpha", alpha)
    xp = get_namespace(W)
    m, n = W.shape[-2], W.shape[-1]
    k = _check_k(k, min(m, n))
    if not _one_of(svd_dtype, ("float64", None)):
        raise InputError(f"specdef: svd_dtype must be 'float64' or None, got {svd_dtype!r}")
    fi = xp.finfo(W.dtype)
    if not float(fi.smallest_normal) <= 1.0 / alpha <= float(fi.max):
        # C's eigenvalue 1/alpha must be a normal number of W's dtype, else C W̃ != W
        raise InputError(f"specdef: alpha must be in [1/max, 1/smallest_normal] = "
                         f"[{1 / float(fi.max):.3g}, {1 / float(fi.smallest_normal):.3g}] for "
                         f"{_dtype_name(W.dtype)}, got {alpha!r}")
    Ws = xp.astype(W, xp.float64 if svd_dtype == "float64" or "float16" in str(W.dtype)
                   else W.dtype)
    U, S, _Vh = xp.linalg.svd(Ws, full_matrices=False)
    Uk = U[..., :, :k]
    # U_k Σ_k V_k^T = U_k U_k^T W, cheaper and exact in the span.
    UkT = xp.matrix_transpose(Uk)
    top = Uk @ (UkT @ Ws)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below
        if alpha >= 1.0:
            W_inflated = Ws + (alpha - 1.0) * top
        else:  # deflation: W + (α − 1)·top would cancel to 0 for α below eps
            W_inflated = (Ws - top) + alpha * top
    eye = xp.eye(m, dtype=Ws.dtype)
    C = eye + (1.0 / alpha - 1.0) * (Uk @ UkT)
    C = 0.5 * C + 0.5 * xp.matrix_transpose(C)  # halves first: 1/alpha near max must not overflow
    with np.errstate(over="ignore", invalid="ignore"):
        W_inflated, C = xp.astype(W_inflated, W.dtype), xp.astype(C, W.dtype)
    if not bool(xp.all(xp.isfinite(W_inflated))):
        s1 = float(to_host(xp.max(S)))
        raise InputError(f"specdef: alpha*sigma_1(W) must be <= the largest "
                         f"{_dtype_name(W.dtype)} ({float(fi.max):.3g}), got alpha={alpha!r} with "
                         f"sigma_1(W)={s1:.6g}")
    return W_inflated, C


def reconstruction_error(W: Any, W_inflated: Any, C: Any, X: Any | None = None) -> Any:
    """Relative function-preservation error ``‖C(W̃X) − WX‖_F / ‖WX‖_F`` in the inputs' dtype.

    With ``X=None`` the error of the matrices, ``‖C W̃ − W‖_F / ‖W‖_F``, is returned.
    Evaluated in the arrays' own dtype, so float32 inputs report float32 round-off, which is
    what a deployed model sees.  Returns a 0-d array (or one value per batch entry).
    """
    func = "reconstruction_error"
    nd = tuple(range(2, 8))
    W = require_matrix(func, "W", W, ndim=nd, half=True)
    W_inflated = require_matrix(func, "W_inflated", W_inflated, ndim=nd, half=True)
    C = require_matrix(func, "C", C, ndim=nd, half=True)
    m, n = W.shape[-2], W.shape[-1]
    if tuple(W_inflated.shape[-2:]) != (m, n):
        raise InputError(f"{func}: W_inflated must be {m}x{n} like W, got shape "
                         f"{tuple(W_inflated.shape)}")
    if tuple(C.shape[-2:]) != (m, m):
        raise InputError(f"{func}: C must be {m}x{m}, got shape {tuple(C.shape)}")
    if X is not None:
        X = require_matrix(func, "X", X, ndim=nd, half=True)
        if X.shape[-2] != n:
            raise InputError(f"{func}: X must have {n} rows (columns of W), got shape "
                             f"{tuple(X.shape)}")
    try:
        np.broadcast_shapes(*(tuple(a.shape[:-2]) for a in (W, W_inflated, C, X)
                              if a is not None))
    except ValueError:
        raise InputError(f"{func}: the batch axes of W, W_inflated, C and X must broadcast, got "
                         f"shapes {[tuple(a.shape) for a in (W, W_inflated, C, X) if a is not None]}"
                         ) from None
    xp = get_namespace(W, W_inflated, C, X, func=func)
    if X is None:
        num = C @ W_inflated - W
        den = W
    else:
        num = C @ (W_inflated @ X) - W @ X
        den = W @ X
    nrm = xp.linalg.matrix_norm(num) if hasattr(xp.linalg, "matrix_norm") else xp.sqrt(
        xp.sum(num * num, axis=(-2, -1)))
    dnm = xp.linalg.matrix_norm(den) if hasattr(xp.linalg, "matrix_norm") else xp.sqrt(
        xp.sum(den * den, axis=(-2, -1)))
    tiny = eps(W.dtype) ** 2
    with np.errstate(over="ignore", invalid="ignore"):
        out = nrm / xp.maximum(dnm, xp.asarray(tiny, dtype=dnm.dtype))
    if not bool(xp.all(xp.isfinite(out))):
        raise InputError(f"{func}: W, W_inflated, C and X must be small enough for their "
                         f"products to be finite in {_dtype_name(W.dtype)}, got a non-finite "
                         f"norm")
    return out
