"""Extreme eigenvalues of the zero-residual joint SpecDef Hessian without its full spectrum.

:func:`numerics.joint_spectrum_zero_residual` returns every eigenvalue, at the price of one
``(d+m)×d`` SVD per distinct singular value of C: a bidiagonalisation, half of it matrix-vector
work that streams the matrix from memory, ~100 s at d = 4096 on one core.  The condition number
needs only the two ends, and those come from a QR factorisation (matrix-matrix work) and a few
dozen triangular products and solves per end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ._backend import backend_name, eps, require_positive, _one_of, to_host
from ._eigsolve import extreme_eigenvalues
from ._errors import InputError
from ._joint_spectrum import _joint_inputs, _joint_spectrum
from ._spectra import _too_large

__all__ = ["JointExtremes", "joint_extremes_zero_residual"]

_METHODS = ("auto", "lanczos", "full")
_AUTO_MIN = 256  # fewer columns: the full spectrum is faster (measured crossover ~200, 1 thread)


@dataclass(frozen=True)
class JointExtremes:
    """``λ_max`` and ``λ_min⁺`` of the joint Hessian, and how they were computed.

    ``method`` is ``"lanczos"`` (QR + Lanczos on the triangular factors) or ``"full"`` (the
    full structured spectrum); ``n_solves`` counts the triangular products or solve pairs of a
    Lanczos run (0 for ``"full"``, also after a fallback).
    """

    lambda_max: float
    lambda_min_nonzero: float
    method: str
    n_solves: int = 0

    @property
    def condition_number(self) -> float:
        """``λ_max / λ_min⁺``."""
        return self.lambda_max / self.lambda_min_nonzero


def _library(backend: str) -> tuple[Any, Any]:
    """The array library itself (its ``qr`` has ``mode="r"``) and its triangular solver."""
    if backend == "cupy":
        import cupy  # lazy by design
        from cupyx.scipy.linalg import solve_triangular

        return cupy, solve_triangular
    import numpy
    from scipy.linalg import solve_triangular

    return numpy, solve_triangular


def _r_factors(j: Any, lib: Any, backend: str) -> Any:
    """``(R_c, rows of K_c)`` for each distinct c: ``K_c Π = Q R_c`` (Π a column permutation,
    which leaves the singular values alone); ``(None, rows)`` where K_c has fewer rows than
    columns.

    On NumPy with n ≥ d samples and m ≥ d outputs, F is lower triangular (from the QR of Xᵀ), so with the reversal
    permutation J, ``J F J`` is upper triangular; one QR of ``W̃FJ`` (shared by every c) leaves
    ``[√c·JFJ ; R_B]``, two stacked triangles, which LAPACK's ``tpqrt`` factorises in ~⅔d³ flops
    against ~10/3·d³ for a QR of the (2d)×d block (measured 1.7 s → 0.74 s once + 0.49 s per c at
    d = 2048).  Elsewhere, a Householder QR of each ``K_c``.
    """
    F, B = j.F, j.B
    r = F.shape[1]
    tpqrt = None
    if backend == "numpy" and F.shape[0] == r and B.shape[0] >= r:
        import numpy as np
        from scipy.linalg import get_lapack_funcs

        tpqrt = get_lapack_funcs(("tpqrt",), (F,))[0]
    if tpqrt is None:
        for K, _ in j.blocks():
            yield (None if K.shape[0] < K.shape[1] else lib.linalg.qr(K, mode="r")), K.shape[0]
        return
    upper = F[::-1, ::-1]
    RB = np.linalg.qr(B[:, ::-1], mode="r")
    for c, _ in j.groups:
        if c == 0:
            yield RB, B.shape[0]
            continue
        with np.errstate(over="ignore"):
            A = math.sqrt(c) * upper
        if not (math.isfinite(c) and np.all(np.isfinite(A))):
            raise _too_large(j.func, j.inputs, lib, j.dtype)
        a, _, _, info = tpqrt(r, min(r, 64), np.asfortranarray(A), np.asfortranarray(RB))
        if info != 0:
            yield None, r + B.shape[0]
            continue
        yield np.triu(a), r + B.shape[0]


def joint_extremes_zero_residual(W_inflated: Any, C: Any, X: Any, *, method: str = "auto",
                                 tol: float = 1e-13,
                                 group_tol: float | None = None) -> JointExtremes:
    """Largest and smallest nonzero eigenvalue of the joint (W̃, C) Hessian at zero residual.

    Parameters
    ----------
    W_inflated, C, X
        As in :func:`joint_spectrum_zero_residual`.
    method : {"auto", "lanczos", "full"}
        ``"full"``: the ends of :func:`joint_spectrum_zero_residual`.  ``"lanczos"``: see Notes
        (falls back to ``"full"`` where a block is rank-deficient, has fewer rows than columns or
        fewer than 3 columns, Lanczos does not converge, or the backend has no SciPy, e.g.
        array_api_strict; ``method`` of the result says which ran).  ``"auto"``:
        ``"lanczos"`` from 256 columns of F (``min(d, n)``) on.
    tol : float
        Relative accuracy asked of the Lanczos runs (ARPACK's ``tol``).
    group_tol : float, optional
        As in :func:`joint_spectrum_zero_residual`.

    Notes
    -----
    The nonzero eigenvalues are ``σ(K_c)²`` over the distinct ``c = σ_j(C)²``, with
    ``K_c = [√c F ; W̃F]`` and ``FFᵀ = Σ_x`` (see :func:`joint_spectrum_zero_residual`).  With
    ``K_c = Q R`` (Householder QR, R r×r upper triangular), ``σ(K_c) = σ(R)``, so
    ``σ_max(K_c)² = λ_max(RᵀR)`` (Lanczos on ``v ↦ Rᵀ(Rv)``) and
    ``σ_min(K_c)² = 1/λ_max((RᵀR)⁻¹)`` (Lanczos on two triangular solves).  QR is backward
    stable (``‖δK‖ ≲ u‖K‖``), so both ends carry the accuracy of an SVD of K_c — relative
    ``u·√κ`` for ``λ_min⁺``, where eigenvalues of the Gram matrix ``K_cᵀK_c`` would give ``u·κ``
    — plus the Lanczos tolerance.  A block whose ``σ_min`` is below the rank threshold of the
    full path (``max(shape)·eps·σ_max``, the backward error of QR and SVD alike) has a zero
    eigenvalue that is not structural; the full spectrum then decides which value is the
    smallest nonzero one.  A Lanczos run counts only if :func:`extreme_eigenvalues` reports it
    converged (residuals within ARPACK's promise plus their rounding, against ‖operator‖).
    Like the full spectrum, the factors are computed in float64 from the inputs as stored.
    """
    func = "joint_extremes_zero_residual"
    if not _one_of(method, _METHODS):
        raise InputError(f"{func}: method must be one of {', '.join(_METHODS)}, got {method!r:.40}")
    tol = require_positive(func, "tol", tol)
    j = _joint_inputs(func, W_inflated, C, X, group_tol)
    xp, r = j.xp, j.F.shape[1]
    backend = backend_name(xp)

    def full() -> JointExtremes:
        s = _joint_spectrum(j)
        return JointExtremes(s.lambda_max, s.lambda_min_nonzero, "full")

    if method == "full" or backend not in ("numpy", "cupy") or r < 3 or (
            method == "auto" and r < _AUTO_MIN):
        return full()
    lib, solve = _library(backend)
    big = float(lib.finfo(j.dtype).max) / 4
    top, low, n_solves = 0.0, math.inf, 0
    for R, rows in _r_factors(j, lib, backend):
        if R is None:
            return full()
        if not bool(lib.all(lib.abs(lib.diagonal(R)) > 0)):
            return full()  # exactly singular: σ_min ≤ min |R_ii| = 0
        if float(to_host(lib.max(lib.abs(R)))) > math.sqrt(big / r):
            return full()  # RᵀR v would overflow: the full path reports the inputs' magnitude
        hi = extreme_eigenvalues(lambda v: R.T @ (R @ v), r, which="largest", tol=tol,
                                 backend=backend, dtype=R.dtype, rng=0)
        inv = extreme_eigenvalues(lambda v: solve(R, solve(R, v, trans="T", check_finite=False),
                                                         check_finite=False), r,
                                  which="largest", tol=tol, backend=backend, dtype=R.dtype,
                                  rng=0)
        n_solves += hi.n_matvecs + inv.n_matvecs
        if not (hi.converged and inv.converged):
            return full()
        s_max2 = float(to_host(hi.values[-1]))
        s_min2 = 1.0 / float(to_host(inv.values[-1]))
        if not math.isfinite(s_min2) or math.sqrt(s_min2) <= max(rows, r) * eps(R.dtype) * \
                math.sqrt(s_max2):
            return full()  # numerically rank-deficient block
        top, low = max(top, s_max2), min(low, s_min2)
    return JointExtremes(top, low, "lanczos", n_solves)
