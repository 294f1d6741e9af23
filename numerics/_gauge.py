"""The gauge directions of a SpecDef layer ``(W̃, C)``, as a matrix-free orthogonal projector.

The loss of ``f(x) = C W̃ x`` is unchanged by ``(W̃, C) → (A W̃, C A⁻¹)`` for invertible A
(m×m), so the tangents ``N vec(E) = [vec(E W̃); vec(−C E)]`` (E ∈ R^{m×m}) lie in the null space
of the Hessian at any critical point (docs/theory/hessian.rst).  :meth:`SpecDefLayer.gauge_basis`
stores N (``(md + m'm) × m²`` numbers); this module applies ``P = N (NᵀN)⁻¹ Nᵀ`` without it.
"""

from __future__ import annotations

from typing import Any, Callable

from ._backend import eps, get_namespace, require_matrix, to_host
from ._errors import InputError

__all__ = ["gauge_projector"]


def gauge_projector(W_inflated: Any, C: Any) -> Callable[[Any], Any]:
    """``v ↦ P v``: orthogonal projection of a flat ``θ = [vec(W̃); vec(C)]`` onto the gauge.

    Parameters
    ----------
    W_inflated : array, shape (m, d)
    C : array, shape (m', m)

    Returns
    -------
    callable
        Maps an array of shape ``(m·d + m'·m,)`` (column-major vec, as the models flatten
        their factors) to its projection, on the same backend.

    Notes
    -----
    ``Nᵀ [vec(A); vec(B)] = vec(A W̃ᵀ − Cᵀ B)`` and ``NᵀN vec(E) = vec(CᵀC E + E W̃W̃ᵀ)``, a
    Sylvester operator; with ``CᵀC = P₁ diag(p) P₁ᵀ`` and ``W̃W̃ᵀ = Q₁ diag(q) Q₁ᵀ`` its inverse
    is ``G ↦ P₁ [(P₁ᵀ G Q₁) / (p_i + q_j)] Q₁ᵀ``.  ``P₁, p`` and ``Q₁, q`` come from the SVDs of
    C and W̃ (``p = σ(C)²``, ``q = σ(W̃)²``, zero-padded), not from ``eigh`` of the Gram matrices,
    whose errors would grow like ``κ(N)²``.  Two SVDs once, then O(m²(m + d)) per application —
    about one Hessian-vector product.  N has independent columns iff every ``p_i + q_j > 0``:
    it loses rank exactly when C and W̃ᵀ *both* have a nontrivial null space (``E = uvᵀ`` with
    ``Cu = 0``, ``W̃ᵀv = 0`` is then no direction); below ``m·eps·max(p + q)`` the projector is
    refused.  That threshold is the backward error of the two SVDs (each ``σ²`` is computed to
    about ``m·eps·σ_1²``), so ``min(p_i + q_j)`` below it is not resolved from 0.
    """
    func = "gauge_projector"
    W = require_matrix(func, "W_inflated", W_inflated)
    C = require_matrix(func, "C", C)
    xp = get_namespace(W, C, func=func)
    (m, d), m2 = W.shape, C.shape[0]
    if C.shape[1] != m:
        raise InputError(f"{func}: C must have {m} columns (rows of W_inflated), "
                         f"got shape {tuple(C.shape)}")
    dt = xp.result_type(W, C)
    W, C = xp.astype(W, dt), xp.astype(C, dt)
    _, sc, Vh = xp.linalg.svd(C, full_matrices=True)   # CᵀC = V diag(sc², 0…) Vᵀ, V m×m
    Uw, sw, _ = xp.linalg.svd(W, full_matrices=True)   # W̃W̃ᵀ = U diag(sw², 0…) Uᵀ, U m×m
    P1, Q1 = Vh.mT, Uw
    p = xp.concat([sc * sc, xp.zeros(m - sc.shape[0], dtype=dt)])
    q = xp.concat([sw * sw, xp.zeros(m - sw.shape[0], dtype=dt)])
    den = p[:, None] + q[None, :]
    top = float(to_host(xp.max(den)))
    if not float(to_host(xp.min(den))) > m * eps(dt) * top:
        raise InputError(f"{func}: the gauge directions must be independent (C and W_inflated^T "
                         f"must not both have a null space), got min(σ_i(C)² + σ_j(W̃)²) = "
                         f"{float(to_host(xp.min(den))):.3g} against max {top:.3g}")
    n = m * d + m2 * m

    def project(v: Any) -> Any:
        if getattr(v, "shape", None) != (n,):
            raise InputError(f"{func}: v must have shape ({n},), got "
                             f"{getattr(v, 'shape', type(v).__name__)}")
        A = xp.reshape(v[:m * d], (d, m)).mT  # column-major vec
        B = xp.reshape(v[m * d:], (m, m2)).mT
        E = P1 @ (((P1.mT @ (A @ W.mT - C.mT @ B)) @ Q1) / den) @ Q1.mT
        return xp.concat([xp.reshape((E @ W).mT, (-1,)), xp.reshape((-(C @ E)).mT, (-1,))])

    return project
