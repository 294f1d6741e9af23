"""Function-preserving layer maps to run the C1–C3 checks on, besides SpecDef.

A *defence* is any function ``defence(W, alpha, k) -> (W_inflated, C)`` with ``C @ W_inflated
== W`` (up to round-off): the released model computes ``x ↦ C (W_inflated x)``.  Pass one to
the checks with ``specdef check --defence module:function`` (or ``Context(defence=...)``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["diagonal_rescaling"]


def diagonal_rescaling(W: Any, alpha: float, k: int) -> tuple[Any, Any]:
    """Rescale the first ``k`` output units by ``alpha`` and undo it in the next layer.

    ``W_inflated = D W`` and ``C = D^{-1}`` with ``D = diag(alpha, …, alpha, 1, …, 1)``
    (``k`` entries ``alpha``).  This is the classical rescaling symmetry of ReLU networks
    (positive diagonal scalings commute with ReLU), so unlike SpecDef it could be folded back
    by an attacker even with a nonlinearity between the layers.  It inflates the rows of W,
    not its top singular directions: ``σ_1(W_inflated)`` grows by at most ``alpha``.

    Examples
    --------
    ``specdef check c1 c3 --defence specdef.validation.defences:diagonal_rescaling``
    """
    from specdef.numerics import get_namespace, require_index, require_matrix, require_positive

    W = require_matrix("diagonal_rescaling", "W", W)
    alpha = require_positive("diagonal_rescaling", "alpha", alpha)
    m = W.shape[0]
    k = require_index("diagonal_rescaling", f"k (m={m})", k, 1, m)
    xp = get_namespace(W)
    d = xp.concat([xp.full(k, alpha, dtype=W.dtype), xp.ones(m - k, dtype=W.dtype)])
    return d[:, None] * W, xp.eye(m, dtype=W.dtype) / d[None, :]
