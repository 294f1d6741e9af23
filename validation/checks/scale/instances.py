"""The planted instances of the scale checks: a SpecDef layer with a known joint-Hessian
spectrum, and a batch of quadratics of which some attain GD's worst-case value.
"""

from __future__ import annotations

import math

import numpy as np

from ...engine.registry import Context

__all__ = ["GROWTH", "WORST"]

GROWTH = "specdef.hessian.sigma1_growth"
WORST = "gd.quadratic.worst_case_value"


def _householder2(rng: np.random.Generator, d: int) -> np.ndarray:
    """A dense orthogonal d×d matrix, ``(I − 2aaᵀ)(I − 2bbᵀ)``, in O(d²)."""
    a, b = rng.standard_normal(d), rng.standard_normal(d)
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    Q = np.eye(d) - 2.0 * np.outer(a, a)
    return Q - 2.0 * np.outer(Q @ b, b)


def _planted_layer(ctx: Context, rng: np.random.Generator, d: int, k: int, alpha: float) -> dict:
    """``(W̃, C, X)`` of a SpecDef layer with every joint-Hessian eigenvalue known.

    U and V are built on the host in O(d²); the O(d³) products run on the run's backend.
    """
    U, V = ctx.asarray(_householder2(rng, d)), ctx.asarray(_householder2(rng, d))
    s = np.linspace(1.0, 0.5, d)  # σ_1(W) = 1 = s_1, the largest
    x = np.concatenate([[1.5], rng.uniform(0.5, 1.0, d - 1)])  # v_1ᵀΣ_xv_1 = x_1² the largest
    t = np.where(np.arange(d) < k, alpha, 1.0)
    st2 = (s * t) ** 2
    lam = np.concatenate([x**2 * (alpha**-2 + st2), x**2 * (1.0 + st2)])
    return {"W_inflated": (U * ctx.asarray(s * t)) @ V.T, "C": (U / ctx.asarray(t)) @ U.T,
            "X": math.sqrt(d) * V * ctx.asarray(x), "sigma1_W": float(s[0]),
            "vSv": float(x[0] ** 2), "lambda_max": float(lam.max()),
            "lambda_min_nonzero": float(lam.min())}


def _worst_case_batch(rng: np.random.Generator, B: int, d: int, mu: float, L: float,
                      ns: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Hessians ``(B, d, d)`` with spectra in [mu, L] and unit starts; problem j < len(ns) is
    tight for ``n = ns[j]``."""
    H, E0 = np.empty((B, d, d)), np.empty((B, d))
    for b in range(B):
        lam = np.exp(rng.uniform(math.log(mu), math.log(L), d))
        lam[:2] = mu, L
        start = rng.standard_normal(d)
        if b < len(ns):  # the maximiser of (λ/2)(1 − λ/L)^{2n}, and the start on it
            lam[2] = min(max(L / (2 * ns[b] + 1), mu), L)
            start = np.eye(d)[2]
        Q = _householder2(rng, d)
        H[b] = (Q * lam) @ Q.T
        E0[b] = Q @ (start / np.linalg.norm(start))
    return 0.5 * (H + H.transpose(0, 2, 1)), E0
