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
from ._spectra import _joint_inputs, joint_spectrum_zero_residual

__all__ = ["JointExtremes", "joint_extremes_zero_residual"]

_METHODS = ("auto", "lanczos", "full")
_AUTO_MIN = 256  # fewer columns: the full spectrum is faster (measured crossover ~200, 1 thread)


@dataclass(frozen=True)
class JointExtremes:
    """``λ_max`` and ``λ_min⁺`` of the joint Hessian, and how they were computed.

    ``method`` is ``"lanczos"`` (QR + Lanczos on the triangular factors) or ``"full"`` (the
    full structured spectrum); ``n_solves`` counts the triangular products or solve pairs.
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
    full path (``max(shape)·eps·σ_max``) has a zero eigenvalue that is not structural; the full
    spectrum then decides which value is the smallest nonzero one.
    """
    func = "joint_extremes_zero_residual"
    if not _one_of(method, _METHODS):
        raise InputError(f"{func}: method must be one of {', '.join(_METHODS)}, got {method!r:.40}")
    tol = require_positive(func, "tol", tol)
    j = _joint_inputs(func, W_inflated, C, X, group_tol)
    xp, r = j.xp, j.F.shape[1]
    backend = backend_name(xp)

    def full() -> JointExtremes:
        s = joint_spectrum_zero_residual(*j.inputs.values(), group_tol=group_tol)
        return JointExtremes(s.lambda_max, s.lambda_min_nonzero(), "full")

    if method == "full" or backend not in ("numpy", "cupy") or r < 3 or (
            method == "auto" and r < _AUTO_MIN):
        return full()
    lib, solve = _library(backend)
    top, low, n_solves = 0.0, math.inf, 0
    for K, _ in j.blocks():
        if K.shape[0] < K.shape[1]:
            return full()
        R = lib.linalg.qr(K, mode="r")
        if not bool(lib.all(lib.abs(lib.diagonal(R)) > 0)):
            return full()  # exactly singular: σ_min ≤ min |R_ii| = 0
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
        if not math.isfinite(s_min2) or math.sqrt(s_min2) <= max(K.shape) * eps(R.dtype) * \
                math.sqrt(s_max2):
            return full()  # numerically rank-deficient block
        top, low = max(top, s_max2), min(low, s_min2)
    return JointExtremes(top, low, "lanczos", n_solves)
