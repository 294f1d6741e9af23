"""Hypothesis strategies for property tests of the theorems (needs ``hypothesis``).

Inputs are *constructed* to satisfy a theorem's hypotheses (SPD as ``Q diag(λ) Q^T`` with the
spectrum chosen exactly) instead of being filtered with ``assume``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

__all__ = ["orthogonal_matrices", "spectra", "spd_matrices", "quadratics", "specdef_instances"]


@st.composite
def orthogonal_matrices(draw: Any, n: int) -> np.ndarray:
    """A Haar-like random orthogonal ``n × n`` matrix (QR of a Gaussian, signs fixed)."""
    seed = draw(st.integers(0, 2**32 - 1))
    g = np.random.default_rng(seed).standard_normal((n, n))
    q, r = np.linalg.qr(g)
    return q * np.sign(np.diag(r))


@st.composite
def spectra(draw: Any, n: int | None = None, *, kappa: float | None = None,
            max_n: int = 8, max_kappa: float = 1e6, mu: float = 1.0,
            min_kappa: float = 1.0) -> np.ndarray:
    """Eigenvalues in ``[mu, mu·kappa]`` with both endpoints present (so ``κ`` is exact).

    ``kappa`` is drawn from ``[min_kappa, max_kappa]`` unless given.
    """
    n = draw(st.integers(2, max_n)) if n is None else n
    kappa = draw(st.floats(min_kappa, max_kappa)) if kappa is None else kappa
    inner = draw(st.lists(st.floats(0.0, 1.0), min_size=n - 2, max_size=n - 2))
    t = np.array([0.0, 1.0] + inner)
    return np.sort(mu * kappa ** t)


@st.composite
def spd_matrices(draw: Any, n: int | None = None, *, kappa: float | None = None,
                 max_n: int = 8, max_kappa: float = 1e6) -> np.ndarray:
    """A symmetric positive definite matrix with condition number exactly ``kappa``."""
    lam = draw(spectra(n, kappa=kappa, max_n=max_n, max_kappa=max_kappa))
    q = draw(orthogonal_matrices(lam.shape[0]))
    a = (q * lam) @ q.T
    return 0.5 * (a + a.T)


@st.composite
def quadratics(draw: Any, n: int | None = None, *, kappa: float | None = None,
               max_n: int = 8, max_kappa: float = 1e6, min_kappa: float = 1.0):
    """A :class:`numerics.Quadratic` with a prescribed spectrum (its ``eigenvalues``)."""
    from specdef.numerics import Quadratic

    lam = draw(spectra(n, kappa=kappa, max_n=max_n, max_kappa=max_kappa, min_kappa=min_kappa))
    q = draw(orthogonal_matrices(lam.shape[0]))
    return Quadratic(lam, Q=q)


@st.composite
def specdef_instances(draw: Any, *, max_dim: int = 6, alphas=(1.0, 1e12)) -> dict:
    """``{"W": (m, n) array, "alpha": float, "k": int}`` with ``1 <= k <= min(m, n)``."""
    m = draw(st.integers(1, max_dim))
    n = draw(st.integers(1, max_dim))
    seed = draw(st.integers(0, 2**32 - 1))
    W = np.random.default_rng(seed).standard_normal((m, n))
    alpha = draw(st.floats(alphas[0], alphas[1]))
    k = draw(st.integers(1, min(m, n)))
    return {"W": W, "alpha": alpha, "k": k}
