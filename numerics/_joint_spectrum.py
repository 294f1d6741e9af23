"""Exact spectrum of the joint (W̃, C) Hessian of a SpecDef layer at zero residual
(docs/theory/hessian.rst).

The checked inputs and the factors ``F`` (``FFᵀ = Σ_x``) and ``W̃F`` are shared with
:mod:`numerics._joint_extremes`, which computes only the two ends of the same spectrum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._backend import get_namespace, require_matrix
from ._errors import InputError
from ._spectra import (Spectrum, _assemble, _check_group_tol, _data_factor, _float64,
                       _grouped_sq_singular_values, _squared_svdvals, _too_large)

__all__ = ["joint_spectrum_zero_residual"]


def joint_spectrum_zero_residual(W_inflated: Any, C: Any, X: Any, *,
                                 group_tol: float | None = None) -> Spectrum:
    """Exact spectrum of the joint (W̃, C) Hessian of ``(1/2n)‖C W̃ X − Y‖²`` at zero residual.

    Parameters
    ----------
    W_inflated : array, shape (m, d)
    C : array, shape (m, m)
    X : array, shape (d, n)
    group_tol : float, optional
        Absolute tolerance for merging equal singular values of C.

    Returns
    -------
    Spectrum
        ``n_rows = m·d + m²`` (the parameter count of :class:`SpecDefLayer`).

    Notes
    -----
    At zero residual ``H = J^T J`` and ``J J^T = (X^T X/n) ⊗ C C^T + (X^T W̃^T W̃ X/n) ⊗ I_m``.
    Diagonalising ``C C^T`` (eigenvalues ``c_j = σ_j(C)²``, j = 1..m) splits ``J J^T`` into m
    blocks ``X^T S_j X / n`` with ``S_j = c_j I_d + W̃^T W̃``, whose nonzero eigenvalues are those
    of the d×d matrix ``F^T S_j F`` (``F F^T = Σ_x``).  Since ``J^T J`` and ``J J^T`` share their
    nonzero eigenvalues, the full spectrum with multiplicities is, for any m, d, n and any C::

        eig(H) = ⊎_{distinct c} [ eig(F^T S_c F) repeated mult_C(c) times ]  ⊎  {0}^{m²}

    (m·d values from the blocks plus m² structural zeros = m·d + m² = n_params).  The number of
    nonzero eigenvalues is ``Σ_c mult_C(c) · rank(F^T S_c F)``; with C invertible every
    ``S_c ≻ 0``, so it is ``m · rank(Σ_x)`` and the null space has dimension
    ``m² + m·(d − rank Σ_x)`` (the m² gauge directions, plus unexcited inputs).  A singular C
    (``c = 0``) contributes ``rank(W̃ X)`` nonzeros for each zero singular value.

    ``eig(F^T S_c F) = σ(K_c F)²`` with ``K_c = [√c I_d ; W̃]``, computed by ``svdvals`` of the
    ``(d+m)×min(d,n)`` matrix ``[√c F ; W̃ F]`` (no square roots of matrices, no ``X X^T``);
    singular values below ``max(shape)·eps·σ_1`` (the backward error of the SVD) are set to
    exactly 0.  C's singular values are grouped as in :func:`frozen_compensation_spectrum`.
    Precision: every factorisation runs in float64 on the inputs as stored, whatever their
    dtype, and the eigenvalues are returned in the inputs' dtype: a float32 layer at large α
    keeps the small singular values of ``W̃F`` (``≈ σ_1/α``) that a float32 SVD would put below
    its resolution ``max(shape)·eps₃₂·σ_1`` and report as zeros (a wrong κ and null space).
    Cost: one QR of X and one SVD per distinct singular value of C (two for SpecDef).
    """
    return _joint_spectrum(_joint_inputs("joint_spectrum_zero_residual", W_inflated, C, X,
                                         group_tol))


def _joint_spectrum(j: "_JointInputs") -> Spectrum:
    """The spectrum of :func:`joint_spectrum_zero_residual` from checked inputs (errors name
    ``j.func``)."""
    parts = [(_squared_svdvals(K, j.xp, j.d), k) for K, k in j.blocks()]
    parts.append((j.xp.zeros(1, dtype=j.F.dtype), j.m * j.m))
    return _assemble(parts, j.m * j.d + j.m * j.m, j.xp, 0.0, j.func, j.inputs, j.dtype)


@dataclass(frozen=True, eq=False)
class _JointInputs:
    """Checked inputs of the zero-residual joint Hessian and its factors ``F``, ``B = W̃F``
    (computed in float64 from the stored inputs; ``dtype`` is the inputs' own)."""

    func: str
    xp: Any
    inputs: dict
    F: Any
    B: Any
    groups: list
    m: int
    d: int
    dtype: Any

    def blocks(self) -> Any:
        """``(K_c, mult_C(c))`` for each distinct ``c = σ(C)²``, ``K_c = [√c F ; W̃F]``."""
        xp = self.xp
        for c, k in self.groups:
            with np.errstate(over="ignore", invalid="ignore"):
                K = xp.concat([math.sqrt(c) * self.F, self.B], axis=0) if c > 0 else self.B
            if not (math.isfinite(c) and bool(xp.all(xp.isfinite(K)))):
                raise _too_large(self.func, self.inputs, xp, self.dtype)
            yield K, k


def _joint_inputs(func: str, W_inflated: Any, C: Any, X: Any, group_tol: Any) -> _JointInputs:
    W = require_matrix(func, "W_inflated", W_inflated)
    C, X = require_matrix(func, "C", C), require_matrix(func, "X", X)
    group_tol = _check_group_tol(func, group_tol)
    xp, (m, d) = get_namespace(W, C, X, func=func), W.shape
    if tuple(C.shape) != (m, m):
        raise InputError(f"{func}: C must have shape ({m}, {m}), got {tuple(C.shape)}")
    if X.shape[0] != d:
        raise InputError(f"{func}: X must have {d} rows (columns of W_inflated), "
                         f"got shape {tuple(X.shape)}")
    dt = xp.result_type(W, C, X)
    W, C, X = xp.astype(W, dt), xp.astype(C, dt), xp.astype(X, dt)
    inputs = {"W_inflated": W, "C": C, "X": X}
    W64, X64 = _float64(xp, W, X)
    F = _data_factor(X64, xp)
    with np.errstate(over="ignore", invalid="ignore"):
        B = W64 @ F
    if not bool(xp.all(xp.isfinite(B))):
        raise _too_large(func, inputs, xp, dt)
    return _JointInputs(func, xp, inputs, F, B, _grouped_sq_singular_values(C, m, group_tol),
                        m, d, dt)
