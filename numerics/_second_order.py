"""Second-order optimisers: Newton, Gauss–Newton, Levenberg–Marquardt, damped Newton, Newton-CG.

Each returns an :class:`~numerics._optim.OptResult` and uses the stopping convention of
:mod:`numerics._optim` (relative loss gap when ``loss_star`` is known, else relative gradient
norm; ``atol`` for absolute).  They exist to give claim C2 a precise meaning
(docs/theory/background.rst, B4): exact Newton and Gauss–Newton are affine invariant, so an
invertible reparameterisation cannot slow them; damping, truncated inner solves, singular curvature
and finite precision can.

Singular curvature.  Dense solves default to ``solver="pinv"``: the symmetric curvature
``A = QΛQᵀ`` (``eigh``) is inverted on the eigenvalues with ``|λ_i| > rcond · max|λ|`` and
the rest is dropped, i.e. the minimum-norm least-squares solution, as for ``numpy.linalg.pinv``;
``rcond`` defaults to ``p · eps`` (``eps`` of θ's dtype), the backward error of ``eigh``, below
which a curvature is not resolved from 0.  SpecDef's joint Hessian has a gauge null space, where
``xp.linalg.solve`` would return rounding noise amplified by ``1/u``.  :func:`newton` scales
the Hessian to unit diagonal first and also inverts an unresolved curvature whose eigenvector
the gradient loads above its rounding level (see its Notes); damped Newton and
Levenberg–Marquardt drop it (their steps are damped anyway), so for them modes with curvature
below ``rcond · λ_max`` are invisible.  ``solver="solve"`` uses LU (``xp.linalg.solve``) and
reports a singular matrix as status ``breakdown``.  Gauss–Newton and Levenberg–Marquardt on
``JᵀJ`` work from the thin SVD of ``J`` instead of forming ``JᵀJ``, which would square the
condition number.
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
    """Relative cutoff ``rcond``, default ``n·u``-order ``n·eps``: the backward error of the
    ``n×n`` ``eigh`` / ``n``-column SVD, below which a curvature is not resolved from 0."""
    return (n * eps(x.dtype)) if rcond is None else rcond


def _sym_solve(xp: Any, A: Any, g: Any, *, solver: str, rcond: float | None, shift: float = 0.0,
               absolute: bool = False, newton_rank: bool = False) -> Any:
    """Return ``−(A + shift·I)⁺ g`` (``|A|`` in place of ``A`` when ``absolute``).

    The pseudo-inverse drops the eigenvalues with ``|λ_i| <= _cutoff·max|λ|``.  With
    ``newton_rank`` (the rank decision of :func:`newton`) A is first scaled to unit diagonal,
    ``D^{-1/2} A D^{-1/2}`` with ``D = |diag A|`` (``p = D^{-1/2}·solve(D^{-1/2} g)``, the same
    step for an invertible A), a dropped eigenvalue is kept when the (scaled) gradient loads
    its eigenvector above the rounding level of ``Qᵀg``, ``|q_iᵀg| > n·eps·‖g‖``, and it is not
    exactly 0 (an unresolved curvature, not a null direction), and the step is finally
    projected off the null directions ``D^{-1/2}q_i`` of the dropped modes, so that it is the
    minimum-norm solution as without scaling.
    """
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
    A = 0.5 * (A + xp.matrix_transpose(A))
    scale = None
    if newton_rank and not shift:
        dg = xp.sqrt(xp.abs(xp.linalg.diagonal(A)))
        scale = xp.where(dg > 0, 1.0 / xp.where(dg > 0, dg, 1.0), 1.0)
        A = scale[:, None] * A * scale[None, :]
        g = scale * g
    w, Q = xp.linalg.eigh(A)
    w = w + shift
    if absolute:
        w = xp.abs(w)
    Qg = xp.matmul(xp.matrix_transpose(Q), g)
    keep = xp.abs(w) > _cutoff(g, n, rcond) * xp.max(xp.abs(w))
    if newton_rank and rcond is None:
        loaded = xp.abs(Qg) > n * eps(g.dtype) * xp.linalg.vector_norm(g)
        keep = (keep | loaded) & (w != 0)
    inv = xp.where(keep, 1.0 / xp.where(keep, w, 1.0), 0.0)
    p = -xp.matmul(Q, inv * Qg)
    if scale is None:
        return p
    p = scale * p
    dropped = ~keep
    if bool(xp.any(dropped)):  # minimum (Euclidean) norm: p ⟂ ker A = D^{-1/2}·(dropped modes)
        N = (scale[:, None] * Q) * xp.astype(dropped, Q.dtype)[None, :]
        U, S, _ = xp.linalg.svd(N, full_matrices=False)
        r = int(to_host(xp.sum(xp.astype(S > n * eps(S.dtype) * xp.max(S), xp.int64))))
        p = p - xp.matmul(U[:, :r], xp.matmul(xp.matrix_transpose(U[:, :r]), p))
    return p


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
        Relative eigenvalue cutoff of the pseudo-inverse.  Default: the rank decision of Notes;
        a given ``rcond`` drops every ``|λ_i| <= rcond·max|λ|``.

    Returns
    -------
    OptResult

    Notes
    -----
    Rank decision (``solver="pinv"``).  The Hessian is scaled to unit diagonal,
    ``S = D^{-1/2} H D^{-1/2}`` with ``D = |diag H|`` (Jacobi scaling: the step is unchanged for
    an invertible H, since Newton is affine invariant, but a graded H — SpecDef's blocks scale
    with α and 1/α — loses its spurious ill-conditioning).  ``eigh`` is backward stable: the
    computed pairs of S are exact for ``S + E`` with ``‖E‖ ≲ p·eps·‖S‖``, so an eigenvalue with
    ``|λ_i| <= p·eps·max|λ|`` is not resolved from 0.  With the default ``rcond`` it is
    dropped (a null direction) only when the scaled gradient does not load it either,
    ``|q_iᵀg| <= p·eps·‖g‖`` (the rounding of ``Qᵀg``); a mode that carries the gradient is
    inverted, as an LU solve would.  The step is then projected off the null directions of the
    dropped modes: the minimum-norm solution, as for ``numpy.linalg.pinv``.  SpecDef's joint
    Hessian away from the minimiser is the case in point: its gauge directions carry a soft
    curvature ``±O(residual)`` and a gradient at the rounding level, while its smallest range
    eigenvalue falls like ``α⁻⁴`` (``2e-17·‖H‖`` at α = 10⁴, m = 3, d = 4) and carries the
    error.  The unscaled ``p·eps`` cutoff dropped that mode and stalled at α = 10⁴ (40 steps);
    inverting it unscaled converged in 3 to 17 steps or not at all depending on the BLAS kernel;
    this rule converges in 2 to 5 steps at α = 10³ and 10⁴ on every kernel tried.

    On a strongly convex quadratic one step lands on the minimiser whatever ``κ`` is.  Newton is
    affine invariant: with ``θ = Pφ`` for invertible ``P``, ``∇_φ = Pᵀ∇_θ`` and
    ``∇²_φ = Pᵀ H P``, so ``φ⁺ = φ − P⁻¹H⁻¹∇L`` and ``Pφ_t = θ_t`` for all ``t``
    (docs/theory/background.rst, B4). Near a minimiser with ``H ⪰ μI`` and ``M``-Lipschitz Hessian,
    ``‖θ_{t+1} − θ*‖ <= (M/2μ)‖θ_t − θ*‖²``.  Indefinite Hessians are inverted as they are
    (saddle points attract); use :func:`damped_newton` for a descent method.
    """
    func = "newton"
    rcond = _check_solver(func, solver, rcond)

    def make(m: _Counted, xp: Any) -> _UpdateRule:
        def update(theta: Any, g: Any, L: float) -> tuple[Any, int]:
            p = _sym_solve(xp, m("hessian", theta), g, solver=solver, rcond=rcond,
                           newton_rank=True)
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
        Relative singular-value cutoff (default ``max(q, p) · eps``, the backward error of the
        SVD of J).

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
