"""Second-order optimisers: Newton, Gauss–Newton, Levenberg–Marquardt, damped Newton, Newton-CG.

Each returns an :class:`~numerics._optim.OptResult` and uses the stopping convention of
:mod:`numerics._optim` (relative loss gap when ``loss_star`` is known, else relative gradient
norm; ``atol`` for absolute).  They exist to give claim C2 a precise meaning (THEORY B4): exact
Newton and Gauss–Newton are affine invariant, so an invertible reparameterisation cannot slow
them; damping, truncated inner solves, singular curvature and finite precision can.

Singular curvature.  Dense solves default to ``solver="pinv"``: the symmetric curvature
``A = QΛQᵀ`` (``eigh``) is inverted on the eigenvalues with ``|λ_i| > rcond · max|λ|`` and
the rest is dropped, i.e. the minimum-norm least-squares solution, as for ``numpy.linalg.pinv``;
``rcond`` defaults to ``p · u`` (``u`` the unit round-off of θ's dtype).  SpecDef's joint
Hessian has a gauge null space, where ``xp.linalg.solve`` would return rounding noise amplified
by ``1/u``.  The cutoff is also where finite precision bites: modes with curvature below
``rcond · λ_max`` are invisible to these methods.  ``solver="solve"`` uses LU
(``xp.linalg.solve``) and reports a singular matrix as status ``breakdown``.  Gauss–Newton
and Levenberg–Marquardt on ``JᵀJ`` work from the thin SVD of ``J`` instead of forming ``JᵀJ``,
which would square the condition number.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _newton_cg
from ._backend import eps, _one_of, require_positive, to_host
from ._errors import InputError
from ._newton_cg import *  # noqa: F401,F403  (truncated Newton)
from ._newton_cg import _armijo, _line_search_args
from ._optim_driver import OptResult, _Breakdown, _Counted, _run, _UpdateRule

__all__ = ["newton", "gauss_newton", "levenberg_marquardt", "damped_newton", *_newton_cg.__all__]


_SOLVERS = ("pinv", "solve")


def _check_solver(func: str, solver: str, rcond: float | None) -> float | None:
    if not _one_of(solver, _SOLVERS):
        raise InputError(f"{func}: solver must be 'pinv' or 'solve', got {solver!r}")
    return None if rcond is None else require_positive(func, "rcond", rcond)


def _cutoff(x: Any, n: int, rcond: float | None) -> float:
    return (n * eps(x.dtype)) if rcond is None else rcond


def _sym_solve(xp: Any, A: Any, g: Any, *, solver: str, rcond: float | None, shift: float = 0.0,
               absolute: bool = False) -> Any:
    """Return ``−(A + shift·I)⁺ g`` (``|A|`` in place of ``A`` when ``absolute``)."""
    n = g.shape[0]
    if solver == "solve" and not absolute:
        M = A + shift * xp.eye(n, dtype=A.dtype) if shift else A
        try:
            p = -xp.linalg.solve(M, g[:, None])[:, 0]
        except np.linalg.LinAlgError as exc:
            raise _Breakdown(f"linear solve failed: {exc}") from None
        if not bool(xp.all(xp.isfinite(p))):
            raise _Breakdown("linear solve returned non-finite values (singular matrix)")
        return p
    w, Q = xp.linalg.eigh(0.5 * (A + xp.matrix_transpose(A)))
    w = w + shift
    if absolute:
        w = xp.abs(w)
    keep = xp.abs(w) > _cutoff(g, n, rcond) * xp.max(xp.abs(w))
    inv = xp.where(keep, 1.0 / xp.where(keep, w, 1.0), 0.0)
    return -xp.matmul(Q, inv * xp.matmul(xp.matrix_transpose(Q), g))


def _lsq_solve(xp: Any, J: Any, r: Any, *, damping: float, rcond: float | None) -> Any:
    """Return ``−(JᵀJ + λI)⁺ Jᵀ r`` from the thin SVD ``J = U S Vᵀ``: ``−V·S/(S²+λ)·Uᵀr``."""
    U, S, Vh = xp.linalg.svd(J, full_matrices=False)
    if damping > 0:
        f = S / (S * S + damping)
    else:
        keep = S > _cutoff(r, max(J.shape), rcond) * xp.max(S)
        f = xp.where(keep, 1.0 / xp.where(keep, S, 1.0), 0.0)
    return -xp.matmul(xp.matrix_transpose(Vh), f * xp.matmul(xp.matrix_transpose(U), r))


def _nonzero(xp: Any, p: Any) -> Any:
    if float(to_host(xp.linalg.vector_norm(p))) == 0.0:
        raise _Breakdown("zero step: the gradient lies in the null space of the curvature")
    return p


def newton(model: Any, theta0: Any, *, max_steps: int = 100, tol: float = 1e-8,
           atol: float | None = None, solver: str = "pinv", rcond: float | None = None,
           divergence_factor: float = 1e12) -> OptResult:
    """Exact Newton's method ``θ⁺ = θ − H(θ)⁻¹ ∇L(θ)`` with the dense Hessian.

    Parameters
    ----------
    model : model
        Needs ``hessian`` besides ``loss`` and ``grad``.
    theta0 : array, shape (p,)
    max_steps, tol, atol, divergence_factor
        See :mod:`numerics._optim`.
    solver : {"pinv", "solve"}
        Pseudo-inverse through ``eigh`` (default; handles singular Hessians) or LU.
    rcond : float, optional
        Relative eigenvalue cutoff of the pseudo-inverse (default ``p · u``).

    Returns
    -------
    OptResult

    Notes
    -----
    On a strongly convex quadratic one step lands on the minimiser whatever ``κ`` is.  Newton is
    affine invariant: with ``θ = Pφ`` for invertible ``P``, ``∇_φ = Pᵀ∇_θ`` and
    ``∇²_φ = Pᵀ H P``, so ``φ⁺ = φ − P⁻¹H⁻¹∇L`` and ``Pφ_t = θ_t`` for all ``t`` (THEORY B4).
    Near a minimiser with ``H ⪰ μI`` and ``M``-Lipschitz Hessian,
    ``‖θ_{t+1} − θ*‖ <= (M/2μ)‖θ_t − θ*‖²``.  Indefinite Hessians are inverted as they are
    (saddle points attract); use :func:`damped_newton` for a descent method.
    """
    func = "newton"
    rcond = _check_solver(func, solver, rcond)

    def make(m: _Counted, xp: Any) -> _UpdateRule:
        def update(theta: Any, g: Any, L: float) -> tuple[Any, int]:
            p = _sym_solve(xp, m("hessian", theta), g, solver=solver, rcond=rcond)
            return theta + _nonzero(xp, p), 0
        return update

    return _run(func, model, theta0, make, max_steps=max_steps, tol=tol, atol=atol,
                divergence_factor=divergence_factor, needs=("loss", "grad", "hessian"),
                params={"solver": solver, "rcond": rcond})


def gauss_newton(model: Any, theta0: Any, *, max_steps: int = 100, tol: float = 1e-8,
                 atol: float | None = None, rcond: float | None = None,
                 divergence_factor: float = 1e12) -> OptResult:
    """Gauss–Newton ``θ⁺ = θ − (JᵀJ)⁺ Jᵀ r`` for a least-squares model ``L = ½‖r(θ)‖²``.

    Parameters
    ----------
    model : least-squares model
        Needs ``residual`` and ``jacobian``.
    theta0 : array, shape (p,)
    max_steps, tol, atol, divergence_factor
        See :mod:`numerics._optim`.
    rcond : float, optional
        Relative singular-value cutoff (default ``max(q, p) · u``).

    Returns
    -------
    OptResult

    Notes
    -----
    The step is the minimum-norm solution of ``min_p ‖J p + r‖``, computed from the thin SVD of
    ``J`` (never from ``JᵀJ``).  Affine invariant like Newton (``J_φ = J P``); converges
    quadratically on zero-residual problems with ``J`` of full column rank, and solves a linear
    least-squares problem in one step.
    """
    func = "gauss_newton"
    rcond = None if rcond is None else require_positive(func, "rcond", rcond)

    def make(m: _Counted, xp: Any) -> _UpdateRule:
        def update(theta: Any, g: Any, L: float) -> tuple[Any, int]:
            p = _lsq_solve(xp, m("jacobian", theta), m("residual", theta), damping=0.0,
                           rcond=rcond)
            return theta + _nonzero(xp, p), 0
        return update

    return _run(func, model, theta0, make, max_steps=max_steps, tol=tol, atol=atol,
                divergence_factor=divergence_factor,
                needs=("loss", "grad", "residual", "jacobian"), params={"rcond": rcond})


def levenberg_marquardt(model: Any, theta0: Any, damping: float, *,
                        curvature: str = "gauss_newton", max_steps: int = 100,
                        tol: float = 1e-8, atol: float | None = None, rcond: float | None = None,
                        divergence_factor: float = 1e12) -> OptResult:
    """Levenberg–Marquardt with fixed damping: ``θ⁺ = θ − (C + λI)⁻¹ ∇L``.

    Parameters
    ----------
    model : model
        ``curvature="gauss_newton"`` (``C = JᵀJ``) needs ``residual`` and ``jacobian``;
        ``curvature="hessian"`` (``C = ∇²L``) needs ``hessian``.
    theta0 : array, shape (p,)
    damping : float
        ``λ >= 0``, held fixed (no adaptive schedule, so its effect can be measured).
    curvature : {"gauss_newton", "hessian"}
    max_steps, tol, atol, rcond, divergence_factor
        As in :func:`newton` / :func:`gauss_newton` (``rcond`` only matters when ``λ = 0``).

    Returns
    -------
    OptResult

    Notes
    -----
    In the eigenbasis of ``C`` the step scales mode ``i`` of the gradient by ``1/(c_i + λ)``:
    ``λ → 0`` gives Gauss–Newton / Newton, ``λ ≫ c_max`` gives gradient descent with step
    ``1/λ``.  So a fixed damping makes LM a preconditioned GD whose contraction on mode ``i`` of
    a quadratic is ``λ/(c_i + λ)``: modes with ``c_i ≪ λ`` converge in about ``(λ/c_i)·ln(1/ε)``
    steps, which is how an inflated spectrum can slow a damped second-order attacker.
    """
    func = "levenberg_marquardt"
    damping = require_positive(func, "damping", damping, allow_zero=True)
    if not _one_of(curvature, ("gauss_newton", "hessian")):
        raise InputError(f"{func}: curvature must be 'gauss_newton' or 'hessian', got "
                         f"{curvature!r}")
    rcond = None if rcond is None else require_positive(func, "rcond", rcond)
    needs = ("residual", "jacobian") if curvature == "gauss_newton" else ("hessian",)

    def make(m: _Counted, xp: Any) -> _UpdateRule:
        def update(theta: Any, g: Any, L: float) -> tuple[Any, int]:
            if curvature == "gauss_newton":
                p = _lsq_solve(xp, m("jacobian", theta), m("residual", theta), damping=damping,
                               rcond=rcond)
            else:
                p = _sym_solve(xp, m("hessian", theta), g, solver="pinv", rcond=rcond,
                               shift=damping)
            return theta + _nonzero(xp, p), 0
        return update

    return _run(func, model, theta0, make, max_steps=max_steps, tol=tol, atol=atol,
                divergence_factor=divergence_factor, needs=("loss", "grad", *needs),
                params={"damping": damping, "curvature": curvature, "rcond": rcond})


def damped_newton(model: Any, theta0: Any, *, max_steps: int = 100, tol: float = 1e-8,
                  atol: float | None = None, c1: float = 1e-4, backtrack: float = 0.5,
                  max_backtracks: int = 60, rcond: float | None = None,
                  divergence_factor: float = 1e12) -> OptResult:
    """Newton's method with an Armijo backtracking line search (a descent method).

    Parameters
    ----------
    model : model
        Needs ``hessian``.
    theta0 : array, shape (p,)
    c1, backtrack, max_backtracks
        Armijo constant ``0 < c1 < 1``, shrink factor ``0 < β < 1`` and most halvings per step.
    max_steps, tol, atol, rcond, divergence_factor
        As in :func:`newton`.

    Returns
    -------
    OptResult
        ``evaluations["line_search"]`` is the total number of trial-point loss evaluations.

    Notes
    -----
    Direction ``d = −Q|Λ|⁺Qᵀ∇L`` (eigenvalues replaced by their absolute values, cutoff as in
    :func:`newton`), which equals the Newton step where ``H ≻ 0`` and is a descent direction
    everywhere; if ``∇Lᵀd = 0`` it falls back to ``d = −∇L``.  Step ``α`` is the first of
    ``1, β, β², …`` with ``L(θ + αd) <= L(θ) + c1·α·∇Lᵀd``; near a strong minimiser ``α = 1``
    is accepted and the quadratic rate of Newton returns.
    """
    func = "damped_newton"
    c1, backtrack, max_backtracks = _line_search_args(func, c1, backtrack, max_backtracks)
    rcond = None if rcond is None else require_positive(func, "rcond", rcond)

    def make(m: _Counted, xp: Any) -> _UpdateRule:
        def update(theta: Any, g: Any, L: float) -> tuple[Any, int]:
            d = _sym_solve(xp, m("hessian", theta), g, solver="pinv", rcond=rcond, absolute=True)
            slope = float(to_host(xp.vecdot(g, d)))
            if not slope < 0:
                d = -g
                slope = -float(to_host(xp.vecdot(g, g)))
            return _armijo(m, theta, d, L, slope, c1, backtrack, max_backtracks), 0
        return update

    return _run(func, model, theta0, make, max_steps=max_steps, tol=tol, atol=atol,
                divergence_factor=divergence_factor, needs=("loss", "grad", "hessian"),
                params={"c1": c1, "backtrack": backtrack, "max_backtracks": max_backtracks,
                        "rcond": rcond})
