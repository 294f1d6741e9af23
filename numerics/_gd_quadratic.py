"""Gradient descent on quadratics without simulation: closed form, exact step counts, batches.

On ``L(w) = ½ (w − w*)ᵀ H (w − w*)`` with ``H = Q Λ Qᵀ ⪰ 0`` and error ``e_t = w_t − w*``,
fixed-step gradient descent is ``e_t = (I − ηH)^t e_0`` exactly (docs/theory/background.rst, B1).
In the eigenbasis, with ``c_i = ⟨q_i, e_0⟩``, every quantity is a sum of exponentials in ``t``; this
module evaluates those sums in log space and finds the exact integer step count to a tolerance by
exponential search and bisection (vectorised over many spectra and step sizes at once).  Simulation
of many small quadratics at once is in :mod:`numerics._gd_batched`.

Stopping convention (shared with :mod:`numerics._optim`): the loss criterion is the relative
gap ``L(w_t) − L* ≤ tol · (L(w_0) − L*)``; the distance criterion is ``‖e_t‖ ≤ tol · ‖e_0‖`` (the
norm, not its square); ``atol`` replaces either by the absolute test ``L(w_t) − L* ≤ atol`` or
``‖e_t‖ ≤ atol``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._backend import get_namespace, _one_of, require_matrix, require_positive, to_host
from ._errors import InputError

__all__ = [
    "QuadraticSteps",
    "gd_closed_form",
    "steps_to_tolerance_quadratic",
]

_QUANTITIES = ("loss", "distance")
_MAX_EXACT_INT = 2**53


def _to_xp(xp: Any, x: Any, dtype: Any, func: str = "_to_xp", name: str = "x") -> Any:
    """``x`` (host data, scalar or array of any namespace) as a ``dtype`` array of ``xp``.

    Real numeric data only: complex, boolean, string and object data raise :class:`InputError`.
    """
    if hasattr(x, "shape") and not isinstance(x, (np.ndarray, np.generic)):
        kind = str(getattr(x, "dtype", ""))
        if "complex" in kind or "bool" in kind:
            raise InputError(f"{func}: {name} must be real, got dtype {kind}")
        if get_namespace(x, func=func) is xp:
            return xp.astype(x, dtype)
        x = to_host(x)
    try:
        h = np.asarray(x)
    except (TypeError, ValueError):
        raise InputError(f"{func}: {name} must be real numeric data, got "
                         f"{type(x).__name__}") from None
    if h.dtype.kind not in "fiu":
        raise InputError(f"{func}: {name} must be real numeric data, got dtype {h.dtype}")
    return xp.asarray(h.astype(np.float64), dtype=dtype)


def _require_all(func: str, name: str, ok: Any, x: Any, requirement: str) -> None:
    """Raise a one-line :class:`InputError` unless the boolean array ``ok`` is all true."""
    if not bool(get_namespace(ok).all(ok)):
        h = np.asarray(to_host(x), dtype=np.float64)
        got = repr(float(h)) if h.ndim == 0 else f"array with range [{h.min():.6g}, {h.max():.6g}]"
        raise InputError(f"{func}: {name} must be {requirement}, got {got}")


def _quantity(func: str, quantity: str) -> str:
    if not _one_of(quantity, _QUANTITIES):
        raise InputError(f"{func}: quantity must be 'loss' or 'distance', got {quantity!r}")
    return quantity


def _prepare(func: str, eigenvalues: Any, coeffs: Any, step: Any):
    """Validate; broadcast ``λ, c`` to ``batch + (d,)`` and ``η`` to ``batch + (1,)``."""
    xp = get_namespace(eigenvalues) if hasattr(eigenvalues, "shape") else get_namespace()
    if not hasattr(eigenvalues, "shape"):
        eigenvalues = _to_xp(xp, eigenvalues, xp.float64, func, "eigenvalues")
    dims = tuple(range(1, 9))
    lam = require_matrix(func, "eigenvalues", eigenvalues, ndim=dims, xp=xp)
    dtype = lam.dtype
    c = require_matrix(func, "coeffs", _to_xp(xp, coeffs, dtype, func, "coeffs"), ndim=dims, xp=xp)
    if c.shape[-1] != lam.shape[-1]:
        raise InputError(f"{func}: coeffs must have last dimension {lam.shape[-1]} like "
                         f"eigenvalues, got shape {tuple(c.shape)}")
    _require_all(func, "eigenvalues", lam >= 0, lam, ">= 0 (a positive semidefinite Hessian)")
    eta = _to_xp(xp, step, dtype, func, "step")
    _require_all(func, "step", xp.isfinite(eta) & (eta > 0), eta, "finite and > 0")
    try:
        batch = np.broadcast_shapes(tuple(lam.shape[:-1]), tuple(c.shape[:-1]), tuple(eta.shape))
    except ValueError:
        raise InputError(f"{func}: step must broadcast against the leading axes of eigenvalues "
                         f"{tuple(lam.shape[:-1])} and coeffs {tuple(c.shape[:-1])}, got shape "
                         f"{tuple(eta.shape)}") from None
    d = lam.shape[-1]
    lam = xp.broadcast_to(lam, batch + (d,))
    c = xp.broadcast_to(c, batch + (d,))
    eta = xp.broadcast_to(eta, batch)[..., None]
    return xp, lam, c, eta, batch


def _log_terms(xp: Any, lam: Any, c: Any, eta: Any, quantity: str):
    """Return ``(a, r)`` with term ``i`` of the quantity at step t equal to ``exp(a_i + t r_i)``.

    ``a_i = log w_i`` (``-inf`` for zero weight), ``w_i = ½ λ_i c_i²`` (loss) or ``c_i²``
    (distance), formed as a sum of logs so that ``|c_i| ~ 1e-200`` does not underflow; ``r_i = 2 log|1 − ηλ_i|`` via ``log1p`` (accurate for tiny ``ηλ``), clamped at
    ``-finfo.max/4`` so that ``0 · r_i = 0`` at ``t = 0`` when ``ηλ_i = 1``.
    """
    with np.errstate(over="ignore"):
        x = eta * lam
    small = x < 1
    with np.errstate(divide="ignore", invalid="ignore"):
        r_lo = xp.log1p(-xp.where(small, x, 0.0))
        r_hi = xp.log(xp.abs(xp.where(small, 2.0, x) - 1.0))
        # ηλ beyond the float range: log|1 − ηλ| = log η + log λ (to relative 1/(ηλ))
        r_hi = xp.where(xp.isfinite(x), r_hi, xp.log(xp.where(small, 1.0, eta))
                        + xp.log(xp.where(small, 1.0, lam)))
        r = 2.0 * xp.where(small, r_lo, r_hi)
        big = float(xp.finfo(lam.dtype).max) / 4
        r = xp.clip(r, -big, big)  # 0 · r = 0 at t = 0 even when ηλ_i is 1 or overflows
        # log w_i = 2 log|c_i| (+ log ½λ_i), summed as logs so tiny coefficients do not underflow
        ac = xp.abs(c)
        pos = ac > 0
        if quantity == "loss":
            pos = pos & (lam > 0)
        a = 2.0 * xp.log(xp.where(pos, ac, 1.0))
        if quantity == "loss":
            a = a + xp.log(xp.where(pos, 0.5 * lam, 1.0))
        a = xp.where(pos, a, -math.inf)
    return a, r


def _logsumexp(xp: Any, x: Any) -> Any:
    """``log Σ exp(x)`` over the last axis; ``-inf`` for an all ``-inf`` row, never NaN."""
    m = xp.max(x, axis=-1, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        s = xp.sum(xp.exp(x - m), axis=-1)
        return xp.log(s) + m[..., 0]


def gd_closed_form(eigenvalues: Any, coeffs: Any, step: Any, t: Any, *,
                   quantity: str = "loss", log: bool = False) -> Any:
    """Loss gap or squared distance of gradient descent on a quadratic after ``t`` steps, exactly.

    Parameters
    ----------
    eigenvalues : array, shape (..., d)
        Eigenvalues ``λ_i >= 0`` of the Hessian; leading axes are a batch of problems.
    coeffs : array, shape (..., d)
        Coordinates ``c_i = ⟨q_i, e_0⟩`` of the initial error in the eigenbasis (broadcast with
        ``eigenvalues``).
    step : float or array
        Step size(s) ``η > 0``, broadcast against the batch shape (pass ``steps[:, None]`` to
        sweep step sizes over a batch of spectra).
    t : int or array of int
        Iteration counts ``t >= 0``.
    quantity : {"loss", "distance"}
        ``L(w_t) − L*`` or ``‖e_t‖²``.
    log : bool
        Return the natural logarithm (finite even where the value underflows).

    Returns
    -------
    array, shape ``t.shape + batch``
        On the namespace of ``eigenvalues``.  Never NaN; an unstable step (``ηλ_i >= 2``) run
        for long enough overflows to ``inf`` (the true value exceeds the dtype's range), where
        ``log=True`` stays finite — unless the logarithm itself, ``2t·log|1 − ηλ_i|``, is
        beyond the range too (t near 1e308), and is ``inf`` as well.

    Notes
    -----
    ``L(w_t) − L* = ½ Σ_i λ_i (1 − ηλ_i)^{2t} c_i²`` and ``‖e_t‖² = Σ_i (1 − ηλ_i)^{2t} c_i²``
    (docs/theory/background.rst, B1).  Each term is evaluated as ``exp(log w_i + 2t log|1 − ηλ_i|)``
    and the sum by a log-sum-exp, so ``t = 10⁶`` or ``10¹²`` neither overflows nor loses the slow
    modes; the relative error is about ``(|log w_i| + 2t|log|1 − ηλ_i||)·u``.  Non-integer ``t``
    gives the continuous interpolation ``|1 − ηλ_i|^{2t}``.
    """
    func = "gd_closed_form"
    quantity = _quantity(func, quantity)
    xp, lam, c, eta, batch = _prepare(func, eigenvalues, coeffs, step)
    tt = _to_xp(xp, t, lam.dtype, func, "t")
    _require_all(func, "t", xp.isfinite(tt) & (tt >= 0), tt, "finite and >= 0")
    a, r = _log_terms(xp, lam, c, eta, quantity)
    tshape = tuple(tt.shape)
    tt = xp.reshape(tt, tshape + (1,) * (len(batch) + 1))
    with np.errstate(over="ignore", invalid="ignore"):
        # a zero-weight mode stays at -inf even where t·r overflows to +inf
        lg = _logsumexp(xp, xp.where(a > -math.inf, a + tt * r, -math.inf))
        return lg if log else xp.exp(lg)


@dataclass(frozen=True)
class QuadraticSteps:
    """Exact gradient-descent step counts to a tolerance on quadratics (host arrays).

    Attributes
    ----------
    steps : numpy.ndarray of float64, shape batch
        Smallest ``t`` meeting the criterion (integer valued), ``inf`` where not met.
    status : numpy.ndarray of str, shape batch
        ``"converged"``, ``"diverged"`` (never met and ``ηλ_i >= 2`` on a mode with non-zero
        weight) or ``"max_steps"`` (not met within ``max_steps``).
    contraction : numpy.ndarray of float64, shape batch
        ``ρ(η) = max |1 − ηλ_i|`` over the modes with non-zero weight (0 when there are none;
        ``inf`` when ``ηλ_i`` overflows).
    params : dict
        The criterion and its parameters.
    """

    steps: np.ndarray
    status: np.ndarray
    contraction: np.ndarray
    params: dict = field(default_factory=dict)


def steps_to_tolerance_quadratic(eigenvalues: Any, coeffs: Any, step: Any, tol: float = 1e-8, *,
                                 quantity: str = "loss", atol: float | None = None,
                                 max_steps: int = 10**15) -> QuadraticSteps:
    """Exact number of gradient-descent steps to a tolerance on quadratics, without simulating.

    Parameters
    ----------
    eigenvalues, coeffs, step
        As in :func:`gd_closed_form` (batched and broadcast the same way).
    tol : float
        Relative tolerance: ``gap_t <= tol · gap_0`` (loss) or ``‖e_t‖ <= tol · ‖e_0‖`` (distance).
    quantity : {"loss", "distance"}
    atol : float, optional
        Absolute tolerance replacing ``tol``: ``gap_t <= atol`` or ``‖e_t‖ <= atol``.
    max_steps : int
        Largest count searched (at most ``2**53``, where float64 integers stop being exact).

    Returns
    -------
    QuadraticSteps

    Notes
    -----
    ``f(t) = Σ_i exp(a_i + t r_i)`` (see :func:`gd_closed_form`) is convex in ``t`` as a sum of
    exponentials of affine functions, so ``{t : f(t) <= c}`` is an interval and the predicate
    ``P(t) = [f(t) <= c] or [f'(t) >= 0]`` is monotone in ``t``: false before the first crossing,
    true from it on, and true from the minimiser on when there is no crossing.  The first integer
    with ``P`` true is found by doubling then bisection (about ``2 log₂ T`` closed-form
    evaluations, each vectorised over the whole batch); the answer is that integer if ``f <= c``
    there, else the tolerance is never met.  This is the first crossing, exactly what a
    step-by-step simulation reports, also for unstable steps (``η >= 2/λ_max``) whose
    divergent mode carries so little weight that the tolerance is met before it grows; when
    ``η < 2/λ_max`` every term decays and ``f`` is non-increasing.  The sign of ``f'`` is taken
    in log space (``Σ_{r_i>0} r_i e^{…}`` against ``Σ_{r_i<0} |r_i| e^{…}``): it never
    underflows.
    """
    func = "steps_to_tolerance_quadratic"
    quantity = _quantity(func, quantity)
    tol = require_positive(func, "tol", tol)
    if atol is not None:
        atol = require_positive(func, "atol", atol)
    max_steps = require_positive(func, "max_steps", max_steps, allow_zero=True, integer=True)
    if max_steps > _MAX_EXACT_INT:
        raise InputError(f"{func}: max_steps must be <= 2**53, got {max_steps}")
    xp, lam, c, eta, batch = _prepare(func, eigenvalues, coeffs, step)
    # float64 throughout: iteration counts up to 2**53 must be exact integers
    lam, c, eta = (xp.astype(v, xp.float64) for v in (lam, c, eta))
    a, r = _log_terms(xp, lam, c, eta, quantity)
    power = 2.0 if quantity == "distance" else 1.0  # the distance terms are squared norms
    if atol is not None:
        logc = xp.full(batch, power * math.log(atol), dtype=lam.dtype)
    else:
        logc = _logsumexp(xp, a) + power * math.log(tol)
    with np.errstate(divide="ignore", invalid="ignore"):
        lr_pos = xp.where(r > 0, xp.log(xp.where(r > 0, r, 1.0)), -math.inf)
        lr_neg = xp.where(r < 0, xp.log(xp.where(r < 0, -r, 1.0)), -math.inf)

    def predicate(t: Any):
        with np.errstate(over="ignore", invalid="ignore"):
            x = xp.where(a > -math.inf, a + t[..., None] * r, -math.inf)
            reached = _logsumexp(xp, x) <= logc
            rising = _logsumexp(xp, lr_pos + x) >= _logsumexp(xp, lr_neg + x)
        return reached | rising, reached

    p0, _ = predicate(xp.zeros(batch, dtype=lam.dtype))
    found = p0
    hi = xp.zeros(batch, dtype=lam.dtype)
    lo = xp.where(p0, -1.0, hi)
    active = ~p0
    cand = 1.0
    while bool(xp.any(active)):  # doubling: lo = last false, hi = first true
        cur = min(cand, float(max_steps))
        p, _ = predicate(xp.full(batch, cur, dtype=lam.dtype))
        hi = xp.where(active & p, cur, hi)
        lo = xp.where(active & ~p, cur, lo)
        found = found | (active & p)
        active = active & ~p & (cur < max_steps)
        cand *= 2.0
    while True:  # bisection on (lo, hi]
        need = found & (hi - lo > 1)
        if not bool(xp.any(need)):
            break
        mid = xp.floor((lo + hi) / 2)
        p, _ = predicate(xp.where(need, mid, hi))
        hi = xp.where(need & p, mid, hi)
        lo = xp.where(need & ~p, mid, lo)
    _, reached = predicate(hi)
    converged = found & reached
    weighted = a > -math.inf
    with np.errstate(over="ignore"):  # ηλ beyond the float range: rho = inf, still "diverged"
        unstable = xp.any(weighted & (eta * lam >= 2), axis=-1)
        rho = xp.max(xp.where(weighted, xp.abs(1 - eta * lam), 0.0), axis=-1)
    steps = np.asarray(to_host(xp.where(converged, hi, math.inf)), dtype=np.float64)
    conv_h = np.asarray(to_host(converged), dtype=bool)
    status = np.where(conv_h, "converged",
                      np.where(np.asarray(to_host(unstable), dtype=bool), "diverged", "max_steps"))
    params = {"quantity": quantity, "tol": tol, "atol": atol, "max_steps": max_steps,
              "criterion": ("absolute" if atol is not None else "relative") + f" {quantity}"}
    return QuadraticSteps(steps=steps, status=status.astype(str),
                          contraction=np.asarray(to_host(rho), dtype=np.float64), params=params)
