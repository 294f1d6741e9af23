"""The C1 instances: theorem ids, ``W`` and ``X`` with a prescribed ``Σ_x``, α's proven exponent.

Shared by the spectrum checks (:mod:`.spectrum`) and the step-count checks
(:mod:`.steps`) of the family :mod:`specdef.validation.checks.c1`, which describes
the instances.
"""

from __future__ import annotations

import math

import numpy as np

from ...engine.registry import Context

__all__ = ["c1_instance", "alpha_exponent", "FROZEN", "GROWTH", "SLOWDOWN", "KAPPA_X"]

FROZEN = "specdef.hessian.frozen_compensation"
GROWTH = "specdef.hessian.sigma1_growth"
SLOWDOWN = "specdef.gd_slowdown.frozen_compensation"
KAPPA_X = 10.0      # κ(Σ_x) of every instance


# ---------------------------------------------------------------------------------- instances
def c1_instance(ctx: Context, salt: str, m: int, d: int, n: int, *, aligned: bool,
                s: np.ndarray | None = None) -> dict:
    """Host ``W`` (m×d), ``X`` (d×n) with ``Σ_x = Q diag(λ) Qᵀ``, ``λ`` geometric over ``κ = 10``.

    ``aligned``: ``Q = V`` (right singular vectors of W; singular values ``s`` if given), the
    tight instance of ``specdef.hessian.sigma1_growth``; otherwise Q is Haar-random.
    """
    rng = ctx.rng(salt)
    r = min(m, d)
    if s is None:
        s = np.linspace(1.0, 0.3, r)
    U = np.linalg.qr(rng.standard_normal((m, m)))[0][:, :r]
    Vfull = np.linalg.qr(rng.standard_normal((d, d)))[0]
    W = (U * s) @ Vfull[:, :r].T
    lam = np.logspace(0.0, -math.log10(KAPPA_X), d)
    Q = Vfull if aligned else np.linalg.qr(rng.standard_normal((d, d)))[0]
    P = np.linalg.qr(rng.standard_normal((n, d)))[0]
    X = (Q * np.sqrt(n * lam)) @ P.T
    Sx = X @ X.T / n
    w, Vh = np.linalg.svd(W)[1:]
    return dict(W=W, X=X, Sx=Sx, sigma1_W=float(w[0]), vSv=float(Vh[0] @ Sx @ Vh[0]), lam=lam,
                m=m, d=d, n=n)


def alpha_exponent(ctx: Context, theorem_id: str) -> int:
    """The proven exponent of α: ``derived["growth_exponent_alpha"]`` or the degree in α of
    ``derived["limit_kappa_to_infinity"]``."""
    import sympy as sp

    th = ctx.theorem(theorem_id)
    if "growth_exponent_alpha" in th.derived:
        return int(th.derived["growth_exponent_alpha"])
    return int(sp.degree(th.derived["limit_kappa_to_infinity"], th.symbols["alpha"]))


def _frozen_setup(ctx: Context) -> dict:
    m, d, n = ctx.pick(small=(4, 6, 12), paper=(16, 24, 48), large=(128, 256, 512))
    inst = c1_instance(ctx, "c1.frozen", m, d, n, aligned=False)
    inst["k"] = ctx.pick(small=1, paper=2, large=8)
    return inst

