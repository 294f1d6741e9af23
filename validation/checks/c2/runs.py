"""The runs of claim C2 (:mod:`specdef.validation.checks.c2`): one method over the α sweep.

The optimiser dispatch and its cost, the models of both parameterisations, the condition numbers
that decide whether an α is representable in the run's dtype, the closed-form LM and GD counts
with C frozen, and the sweep over α of the undefended reference and the defended model.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import numpy as np

from ...engine.registry import Context
from ..common import host as _host, kron_modes
from .instances import FP_LIMIT, PREDICTION, VERIFY_BUDGET, _Setup, _Target


def _optimise(method: str, model: Any, theta0: Any, s: _Setup, param: str,
              damping: float | None) -> Any:
    from specdef import numerics as nm

    cap = {"frozen": 20, "joint": 40}[param]
    if method == "newton":
        return nm.newton(model, theta0, max_steps=cap, tol=s.eps)
    if method == "gauss_newton":
        return nm.gauss_newton(model, theta0, max_steps=cap, tol=s.eps)
    if method == "damped_newton":
        return nm.damped_newton(model, theta0, max_steps=cap, tol=s.eps)
    if method == "newton_cg":
        return nm.newton_cg(model, theta0, cg_tol=0.1, max_steps=cap, tol=s.eps)
    lm_cap = {"frozen": VERIFY_BUDGET + 1, "joint": s.lm_cap}[param]
    return nm.levenberg_marquardt(model, theta0, damping, max_steps=lm_cap, tol=s.eps)


def _cost(method: str, res: Any) -> float:
    if method == "newton_cg":
        return float(res.inner_iterations)
    if method == "damped_newton":
        return float(res.evaluations.get("line_search", 0))
    return float(res.steps)


def _models(s: _Setup, param: str, Wt: Any, C: Any, t: _Target):
    from specdef.numerics import LinearRegression, SpecDefLayer

    if param == "frozen":
        if C is None:  # undefended reference
            model = LinearRegression(s.X, t.Y)
            return model, model.pack(W=s.W)
        model = SpecDefLayer(Wt, C, s.X, t.Y, train="W")
        return model, model.theta0
    model = SpecDefLayer(Wt, C, s.X, t.Y, train=("W", "C"))
    return model, model.theta0


def _kappa(s: _Setup, method: str, param: str, Wt: Any, C: Any, targets: list
           ) -> tuple[float, float | None]:
    """``(κ_range, κ_soft)`` of the curvature the method inverts, in float64 whatever the dtype.

    ``κ_range``: the structured spectrum on its range — ``Σ_x ⊗ CᵀC`` (frozen) or the joint
    ``JᵀJ`` at zero residual.  ``κ_soft`` (joint, full-Hessian methods only, else None):
    ``max|λ|/min|λ|`` of the dense Hessian at the start, whose soft gauge directions (curvature
    of the order of the residual) Newton, damped Newton and Newton-CG invert.
    """
    from specdef.numerics import SpecDefLayer, frozen_compensation_spectrum, joint_spectrum_zero_residual

    Wt64, C64 = _host(Wt), _host(C)
    if param == "frozen":
        return float(frozen_compensation_spectrum(s.X64, C64).condition_number), None
    kap = float(joint_spectrum_zero_residual(Wt64, C64, s.X64).condition_number)
    if method in ("gauss_newton", "levenberg_marquardt"):
        return kap, None
    soft = 0.0
    for t in targets:
        model = SpecDefLayer(Wt64, C64, s.X64, t.Wp64 @ s.X64, train=("W", "C"))
        ev = np.abs(np.linalg.eigvalsh(_host(model.hessian(model.theta0))))
        soft = max(soft, float(ev.max() / ev.min()) if ev.min() > 0 else math.inf)
    return kap, soft


def _unit_diagonal(H: np.ndarray) -> np.ndarray:
    """``D^{-1/2} H D^{-1/2}`` with ``D = |diag H|``: the matrix :func:`numerics.newton`
    decomposes for its rank decision (a zero diagonal entry is left unscaled)."""
    dg = np.sqrt(np.abs(np.diag(H)))
    q = np.where(dg > 0, 1.0 / np.where(dg > 0, dg, 1.0), 1.0)
    return q[:, None] * H * q[None, :]


def _newton_kappa(s: _Setup, Wt: Any, C: Any, targets: list) -> tuple[float, float]:
    """``(κ_range, κ_soft)`` as in :func:`_kappa`, of the unit-diagonal Hessian Newton inverts.

    ``κ_range``: the dense zero-residual Hessian, scaled, on its range (the ``m²`` smallest
    |λ|, the gauge null space, left out); ``κ_soft``: ``max|λ|/min|λ|`` of the scaled Hessian
    at the start.  Newton's step is invariant under the scaling, its rounding is not:
    SpecDef's joint Hessian is graded (blocks scale with α and 1/α), which the scaling removes.
    """
    from specdef.numerics import SpecDefLayer

    Wt64, C64 = _host(Wt), _host(C)
    zero = SpecDefLayer(Wt64, C64, s.X64, C64 @ Wt64 @ s.X64, train=("W", "C"))
    ev = np.sort(np.abs(np.linalg.eigvalsh(_unit_diagonal(_host(zero.hessian(zero.theta0))))))
    ev = ev[s.m * s.m:]
    kap = float(ev[-1] / ev[0]) if ev[0] > 0 else math.inf
    soft = 0.0
    for t in targets:
        model = SpecDefLayer(Wt64, C64, s.X64, t.Wp64 @ s.X64, train=("W", "C"))
        es = np.abs(np.linalg.eigvalsh(_unit_diagonal(_host(model.hessian(model.theta0)))))
        soft = max(soft, float(es.max() / es.min()) if es.min() > 0 else math.inf)
    return kap, soft


def _representable(s: _Setup, kappas: tuple[float, float | None]) -> bool:
    """``κ_range·u <= √ε`` and ``κ_soft·u <= FP_LIMIT`` (second_order docstring)."""
    kap, soft = kappas
    return kap * s.u <= math.sqrt(s.eps) and (soft is None or soft * s.u <= FP_LIMIT)


def _frozen_modes(s: _Setup, C64: np.ndarray, Wt64: np.ndarray, t: _Target):
    E = Wt64 - np.linalg.solve(C64, t.Wp64)
    return kron_modes(s.X64 / math.sqrt(s.X64.shape[1]), C64, E)


def _lm_closed_form(s: _Setup, C64: np.ndarray, Wt64: np.ndarray, damping: float,
                    t: _Target) -> float:
    """Exact LM step count (C frozen): mode factor ``λ/(h+λ)`` = GD with step 1 on ``h/(h+λ)``."""
    from specdef.numerics import steps_to_tolerance_quadratic

    h, c = _frozen_modes(s, C64, Wt64, t)
    q = steps_to_tolerance_quadratic(h / (h + damping), c * np.sqrt(h + damping), 1.0, s.eps)
    return float(q.steps)


def _gd_closed_form(s: _Setup, C64: np.ndarray, Wt64: np.ndarray, t: _Target) -> float:
    """Exact GD steps at step ``1/λ_max`` (C frozen, loss criterion)."""
    from specdef.numerics import steps_to_tolerance_quadratic

    h, c = _frozen_modes(s, C64, Wt64, t)
    return float(steps_to_tolerance_quadratic(h, c, 1.0 / h.max(), s.eps).steps)


def _run_all(method: str, s: _Setup, param: str, damping: float | None, Wt: Any, C: Any,
             targets: list) -> SimpleNamespace:
    """Run on every target; counts are summed, the status is the first failure (if any)."""
    runs = []
    for t in targets:
        model, theta0 = _models(s, param, Wt, C, t)
        runs.append(_optimise(method, model, theta0, s, param, damping))
    bad = [r for r in runs if not r.converged]
    first = bad[0] if bad else runs[0]
    return SimpleNamespace(steps=float(sum(r.steps for r in runs)),
                           cost=float(sum(_cost(method, r) for r in runs)),
                           converged=not bad, status=first.status, message=first.message,
                           per_target=[_cost(method, r) for r in runs])


def _sweep(ctx: Context, s: _Setup, method: str, param: str, damping: float | None = None
           ) -> dict:
    """Run ``method`` on the undefended reference and on the defended model for every α."""
    eye = ctx.xp.eye(s.m, dtype=s.W.dtype)
    targets = s.for_run(method, param)
    closed = method == "levenberg_marquardt" and param == "frozen"
    budget = VERIFY_BUDGET
    verified = []
    C_ref = None if param == "frozen" else eye
    if closed:  # exact count; simulated only within the verification budget
        n_ref = sum(_lm_closed_form(s, np.eye(s.m), s.W64, damping, t) for t in targets)
        ref = SimpleNamespace(steps=n_ref, cost=n_ref, converged=math.isfinite(n_ref),
                              status="closed_form", message="closed form", per_target=[n_ref])
        if n_ref <= budget:
            res = _run_all(method, s, param, damping, s.W, C_ref, targets)
            budget -= res.steps
            verified.append((None, n_ref, res.steps, res.status))
    else:
        ref = _run_all(method, s, param, damping, s.W, C_ref, targets)
    out = dict(alpha=[], steps=[], cost=[], status=[], kappa_H=[], kappa_soft=[],
               representable=[],
               closed_form=[], verified=verified, ref=ref, ref_cost=ref.cost, per_target=[],
               ref_kappa=_kappa(s, method, param, s.W, eye, targets)[0], n_targets=len(targets))
    stop = False
    for a in s.alphas:
        Wt, C = ctx.defence(s.W, a, s.k)
        kaps = _kappa(s, method, param, Wt, C, targets)
        # what the method decomposes decides what rounding can resolve
        solve = _newton_kappa(s, Wt, C, targets) if (method, param) == ("newton", "joint") \
            else kaps
        rep = _representable(s, solve)
        out["alpha"].append(a)
        out["kappa_H"].append(kaps[0])
        out["kappa_soft"].append(kaps[1])
        out["representable"].append(bool(rep))
        if closed:
            n_cf = sum(_lm_closed_form(s, _host(C), _host(Wt), damping, t) for t in targets)
            out["closed_form"].append(n_cf)
            if rep and n_cf <= budget:
                res = _run_all(method, s, param, damping, Wt, C, targets)
                budget -= res.steps
                out["verified"].append((a, n_cf, res.steps, res.status))
            out["steps"].append(n_cf)
            out["cost"].append(n_cf)
            out["status"].append("closed_form")
            continue
        if stop:
            for key in ("steps", "cost", "status", "per_target"):
                out[key].append(None)
            continue
        res = _run_all(method, s, param, damping, Wt, C, targets)
        out["steps"].append(res.steps)
        out["cost"].append(res.cost)
        out["status"].append(res.status)
        out["per_target"].append(res.per_target)
        if PREDICTION[(method, param)] == "slowed" and not res.converged and rep:
            stop = True  # capped: larger α are only slower to simulate; recorded as None
    return out
