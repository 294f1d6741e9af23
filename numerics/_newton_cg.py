"""Truncated Newton (Newton-CG) and the Armijo line search it shares with damped Newton.

:func:`newton_cg` solves ``H p = −∇L`` inexactly by conjugate gradient with Hessian-vector
products, never forming the Hessian, and returns an :class:`~numerics._optim.OptResult` under the
stopping convention of :mod:`numerics._optim`.  The line search ``_armijo`` and the check of its
arguments are also used by :func:`~numerics._second_order.damped_newton`.
"""

from __future__ import annotations

import math
from typing import Any

from ._backend import eps, require_positive, to_host
from ._errors import InputError
from ._optim_driver import OptResult, _Breakdown, _Counted, _run, _UpdateRule

__all__ = ["newton_cg"]


def _armijo(m: _Counted, theta: Any, d: Any, L: float, slope: float, c1: float,
            backtrack: float, max_backtracks: int) -> Any:
    """Backtrack ``α = 1, β, β², …`` to ``L(θ + αd) <= L + c1·α·slope``; counts ``line_search``."""
    alpha = 1.0
    for _ in range(max_backtracks + 1):
        m.counts["line_search"] = m.counts.get("line_search", 0) + 1
        trial = theta + alpha * d
        Lt = float(to_host(m("loss", trial)))
        if math.isfinite(Lt) and Lt <= L + c1 * alpha * slope:
            return trial
        alpha *= backtrack
    raise _Breakdown(f"line search found no sufficient decrease in {max_backtracks} backtracks")


def _line_search_args(func: str, c1: float, backtrack: float, max_backtracks: int) -> tuple:
    c1 = require_positive(func, "c1", c1)
    backtrack = require_positive(func, "backtrack", backtrack)
    if c1 >= 1 or backtrack >= 1:
        bad, val = ("c1", c1) if c1 >= 1 else ("backtrack", backtrack)
        raise InputError(f"{func}: {bad} must be < 1, got {val!r}")
    return c1, backtrack, require_positive(func, "max_backtracks", max_backtracks, integer=True)



def _cg(m: _Counted, xp: Any, theta: Any, g: Any, rtol: float, maxiter: int) -> tuple[Any, int]:
    """Truncated CG on ``H z = −g`` from ``z = 0`` (Nocedal & Wright, Alg. 7.1); ``(z, #hvp)``.

    The curvature ``dᵀHd`` counts as positive only above the rounding of that dot product,
    ``n·eps·‖d‖·‖Hd‖``: below it its sign is not resolved (a null or gauge direction of H), and
    CG stops as for negative curvature instead of dividing by rounding noise.
    """
    gn = float(to_host(xp.linalg.vector_norm(g)))
    floor = g.shape[0] * eps(g.dtype)
    z = xp.zeros_like(g)
    r, d = g, -g
    rr = gn * gn
    for j in range(maxiter):
        Hd = m("hvp", theta, d)
        dHd = xp.vecdot(d, Hd)
        alpha = rr / dHd
        z_new = z + alpha * d
        r = r + alpha * Hd
        h = to_host(xp.stack([dHd, xp.vecdot(r, r), xp.vecdot(d, d), xp.vecdot(Hd, Hd)]))
        curv, rr_new = float(h[0]), float(h[1])
        if not curv > floor * math.sqrt(float(h[2]) * float(h[3])):
            # negative, zero or unresolved curvature: stop with the last positive-curvature z
            return (-g if j == 0 else z), j + 1
        z = z_new
        if math.sqrt(rr_new) <= rtol * gn:
            return z, j + 1
        d = -r + (rr_new / rr) * d
        rr = rr_new
    return z, maxiter


def newton_cg(model: Any, theta0: Any, *, cg_tol: float | None = None,
              cg_maxiter: int | None = None, line_search: bool = True, max_steps: int = 100,
              tol: float = 1e-8, atol: float | None = None, c1: float = 1e-4,
              backtrack: float = 0.5, max_backtracks: int = 60,
              divergence_factor: float = 1e12) -> OptResult:
    """Truncated Newton: inner conjugate gradient on ``H p = −∇L`` with Hessian-vector products.

    Parameters
    ----------
    model : model
        Needs ``hvp`` (never forms the Hessian).
    theta0 : array, shape (p,)
    cg_tol : float, optional
        Fixed relative inner tolerance ``‖Hp + g‖ <= cg_tol·‖g‖``; default the forcing term
        ``min(0.5, √‖g‖)`` (superlinear outer convergence).
    cg_maxiter : int, optional
        Most inner iterations per outer step (default ``p``).
    line_search : bool
        Armijo backtracking on the truncated step (else the unit step).
    max_steps, tol, atol, c1, backtrack, max_backtracks, divergence_factor
        As in :func:`damped_newton`.

    Returns
    -------
    OptResult
        ``inner_iterations`` counts every Hessian-vector product; ``inner_per_step`` per step.

    Notes
    -----
    CG stops when the residual meets the forcing term, at ``cg_maxiter``, or on non-positive
    curvature ``dᵀHd <= p·eps·‖d‖·‖Hd‖`` (the rounding of the dot product, below which its sign
    is not resolved; returning the last iterate, or ``−g`` on the first inner step),
    so every step is a descent direction.  On a quadratic CG needs at most ``p`` products in
    exact arithmetic and about ``½√κ·ln(2/cg_tol)`` for a spread spectrum: a second-order
    attacker that solves inexactly pays ``O(√κ)`` products per step (docs/theory/background.rst,
    B4), against
    ``O(κ)`` gradient steps for GD.
    """
    func = "newton_cg"
    c1, backtrack, max_backtracks = _line_search_args(func, c1, backtrack, max_backtracks)
    if cg_tol is not None:
        cg_tol = require_positive(func, "cg_tol", cg_tol)
    if cg_maxiter is not None:
        cg_maxiter = require_positive(func, "cg_maxiter", cg_maxiter, integer=True)

    def make(m: _Counted, xp: Any) -> _UpdateRule:
        maxiter = cg_maxiter if cg_maxiter is not None else int(m.model.n_params)

        def update(theta: Any, g: Any, L: float) -> tuple[Any, int]:
            gn = float(to_host(xp.linalg.vector_norm(g)))
            rtol = cg_tol if cg_tol is not None else min(0.5, math.sqrt(gn))
            p, k = _cg(m, xp, theta, g, rtol, maxiter)
            if not line_search:
                return theta + p, k
            slope = float(to_host(xp.vecdot(g, p)))
            return _armijo(m, theta, p, L, slope, c1, backtrack, max_backtracks), k
        return update

    return _run(func, model, theta0, make, max_steps=max_steps, tol=tol, atol=atol,
                divergence_factor=divergence_factor, needs=("loss", "grad", "hvp"),
                params={"cg_tol": cg_tol, "cg_maxiter": cg_maxiter, "line_search": line_search,
                        "forcing": "min(0.5, sqrt(|g|))" if cg_tol is None else "fixed"})
