"""Instances, tolerances and measurements of the ``precision`` family.

Layers: ``W`` (m×n, Gaussian, ``σ_1(W) = 1``), data ``X`` (n×b, ``Σ_x = XXᵀ/b`` with
eigenvalues in ``[1/2, 1]``) and a relearning target ``Y = (W + 0.1·N)X``.  Every measurement runs
on the host: the formats live in NumPy (``ml_dtypes``), whatever ``ctx.backend``.

Tolerances of this family come from the *format* (the run's ``ctx.dtype`` is not the subject
here), one place, :func:`stall_rtol`:

* a stall threshold measured in the mixed model moves by the float32 rounding of ``w − δ``
  before the rounding to F (``2^(p−24)`` of the threshold): ``4·2^(p−24)``;
* in the pure model (and F = float32/64) the learning rate and the product ``fl(fl(η)·D)``
  are rounded in F: with the radius r a power of two, ``η ≥ η_pred(1 + 2u)(1 + u)`` gives
  ``fl(fl(η)|D|) ≥ r(1 + 2u) > r`` and ``η ≤ η_pred(1 − u/2)/(1 + u)`` gives ``< r``, so the
  measured threshold lies within ``(1+2u)(1+u) − 1 = 3u + 2u²`` of the prediction;
* the bisections run to ``1e-9`` relative; floors of ``1e-6`` absorb them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...engine.registry import Context
from ..common import defend

__all__ = ["FORMATS", "MODELS", "PAPER_ALPHA", "preservation_layer", "stall_layer", "stall_rtol",
           "binade_fraction", "window_measurements"]

#: Formats under test, in the order of the records.
FORMATS = ("bfloat16", "float16", "float8_e4m3fn", "float8_e5m2", "float32")
MODELS = ("pure", "mixed")
PAPER_ALPHA = 1e6
SHORT = {"bfloat16": "bf16", "float16": "fp16", "float8_e4m3fn": "e4m3", "float8_e5m2": "e5m2",
         "float32": "fp32", "float64": "fp64"}


def _layer(rng: np.random.Generator, m: int, n: int, b: int) -> tuple[np.ndarray, ...]:
    W = rng.standard_normal((m, n)) / math.sqrt(n)
    W /= np.linalg.norm(W, 2)
    Q = np.linalg.qr(rng.standard_normal((n, n)))[0]
    P = np.linalg.qr(rng.standard_normal((b, b)))[0][:n]  # orthonormal rows
    X = Q @ np.diag(np.sqrt(b * np.linspace(1.0, 0.5, n))) @ P  # Σ_x eigenvalues in [1/2, 1]
    Y = (W + 0.1 * rng.standard_normal((m, n))) @ X
    return W, X, Y


def preservation_layer(ctx: Context) -> tuple[np.ndarray, np.ndarray, int]:
    """``(W, X, k)``: a 4×8 layer with k = 1 (c = √r + √m + 3 = 7 keeps 2cu ≤ 1 down to e4m3)."""
    rng = ctx.rng("precision.function_preservation")
    b = ctx.pick(small=64, paper=512, large=4096)
    W, X, _ = _layer(rng, 4, 8, b)
    return W, X, 1


def stall_layer(ctx: Context) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(W, X, Y)`` for the stall thresholds and the window; SpecDef with k = m (C = I/α)."""
    rng = ctx.rng("precision.stall")
    m, n, b = ctx.pick(small=(4, 8, 32), paper=(8, 16, 128), large=(16, 32, 512))
    return _layer(rng, m, n, b)


def stall_rtol(arith: Any) -> float:
    """Tolerance of a measured stall threshold against the exact prediction (module notes)."""
    u = arith.format.unit_roundoff
    if arith.compute == arith.format:
        return max(3 * u + 2 * u * u, 1e-6)
    return max(4 * 2.0 ** (arith.format.precision - 24), 1e-6)


def binade_fraction(x: np.ndarray) -> np.ndarray:
    """``f ∈ [1, 2)`` with ``|x| = 2^E f`` (exact: frexp)."""
    m, _ = np.frexp(np.abs(x))
    return 2 * m


def _defended(ctx: Context, W: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    Wt, C = defend(ctx, W, alpha, W.shape[0], dtype="float64")
    from ..common import host

    return host(Wt), host(C)


def _bisect(pred, lo: float, hi: float, rtol: float = 1e-9) -> float:
    """Smallest x in (lo, hi] with pred(x) True, pred(lo) False and pred(hi) True (geometric)."""
    from specdef.numerics import geometric_bisection

    return geometric_bisection(pred, lo, hi, rtol)


def window_measurements(ctx: Context, fmt: str) -> dict:
    """Everything the window, stable-rate and paper-claim records of one format need.

    Measured in the mixed model with GD (C and W̃ trained jointly, the stability ceiling
    ``2/λ_max`` of the joint Hessian at the released point):

    * ``alpha_star``: the α where the smallest effective GD rate (:func:`numerics.stall_threshold`
      on the stored W̃) first exceeds the stable rate;
    * ``alpha_sub``, ``alpha_zero``: the α where ``fl_F(2/λ_max)`` becomes subnormal, then 0;
    * the undefended layer's ``s_closed = σ_1(WΣ_xWᵀ)`` and ``r_closed = min|W/G|`` (float64),
      ``r_measured = η*(1)/u`` in the format, ``‖Σ_x‖``, ``ρ = ‖WX − Y‖/‖WX‖``, and the curves
      for the figure.
    """
    key = (fmt, ctx.seed, ctx.size, id(ctx.defence))
    if key not in _CACHE:  # the window and paper-claim checks share one measurement
        _CACHE[key] = _window(ctx, fmt)
    return _CACHE[key]


_CACHE: dict[tuple, dict] = {}


def _window(ctx: Context, fmt: str) -> dict:
    from specdef import numerics as nx

    W, X, Y = stall_layer(ctx)
    a = nx.arithmetic(fmt, "mixed")
    F = a.format
    rule = nx.gd_rule()

    def lam_max(alpha: float) -> float:
        Wt, C = _defended(ctx, W, alpha)
        return float(nx.joint_extremes_zero_residual(Wt, C, X).lambda_max)

    def stall(alpha: float) -> float:
        Wt, C = _defended(ctx, W, alpha)
        if not np.all(np.isfinite(a.store(Wt))):
            return math.inf  # the stored weights overflowed: nothing is effective
        G, _ = nx.specdef_gradient(Wt, C, X, Y, a)
        if not np.all(np.isfinite(G)) or not np.any(G):
            return math.inf  # the gradient overflowed, or C = I/α underflowed to 0 in F
        return nx.stall_threshold(Wt, G, rule, a, rtol=1e-9)

    def closed(alpha: float) -> bool:
        return stall(alpha) >= 2.0 / lam_max(alpha)

    overflow_alpha = F.max / float(np.max(np.abs(W)))  # beyond it some W̃ entry overflows
    hi = 2.0
    while not closed(hi) and hi < 1e30:
        hi *= 4.0
    alpha_star = _bisect(closed, 1.0, hi) if not closed(1.0) else 1.0

    def stored_rate(alpha: float) -> float:
        return float(nx.round_to_format(np.array([2.0 / lam_max(alpha)]), F)[0])

    alpha_sub = _bisect(lambda al: stored_rate(al) < F.smallest_normal, 1.0, 1e40)
    alpha_zero = _bisect(lambda al: stored_rate(al) == 0.0, 1.0, 1e40)
    eta1 = stall(1.0)
    grid = [float(x) for x in np.geomspace(1.0, 1e8, 33)]
    curves = {"alpha": grid, "eta_stable": [2.0 / lam_max(al) for al in grid],
              "eta_stall": [stall(al) if al < overflow_alpha else None for al in grid]}
    Sx = X @ X.T / X.shape[1]
    s_closed = float(np.linalg.eigvalsh(W @ Sx @ W.T)[-1])  # σ_1(WΣ_xWᵀ): C-block of H is α²·that
    rel_residual = float(np.linalg.norm(W @ X - Y) / np.linalg.norm(W @ X))
    G0 = (W @ X - Y) @ X.T / X.shape[1]  # the undefended layer's gradient, float64
    moving = G0 != 0
    r_closed = float(np.min(np.abs(W[moving]) / np.abs(G0[moving])))
    return dict(alpha_star=alpha_star, alpha_sub=alpha_sub, alpha_zero=alpha_zero,
                s_closed=s_closed, r_closed=r_closed, sigma_x=float(np.linalg.eigvalsh(Sx)[-1]),
                rel_residual=rel_residual,
                r_measured=eta1 / F.unit_roundoff, u=F.unit_roundoff, N=F.smallest_normal,
                S=F.smallest_subnormal, p=F.precision, overflow_alpha=overflow_alpha,
                shape=list(W.shape), **curves)
