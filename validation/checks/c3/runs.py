"""The runs of claim C3 (:mod:`specdef.validation.checks.c3`): instance, sweeps and comparisons.

The fine-tuning instance and its usable α, the attacker's best step in closed form, the
undefended, defended (C frozen) and quadratic-attack runs, the exact-recovery comparison against
the undefended run, the shared α sweep of the injection and fusion checks, the worst-case bypass
run, and ``λ_max`` of a Hessian for the simulated factorisation sweep.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...engine.registry import Context
from ...engine.tolerance import accumulated_rtol, unit_roundoff
from ..common import FINETUNE_EPS as EPS, data_matrix, finite_or_none, host as _host, kron_modes

GRID = np.geomspace(0.25, 1.98, 16)          # η·λ_max, closed-form sweeps
SIM_GRID = (0.9, 0.6, 0.35)                  # η·λ_max, simulated sweep (factorisation)


@dataclass
class _Setup:
    X: Any
    W: Any
    Y: Any
    X64: np.ndarray
    W64: np.ndarray
    Wp64: np.ndarray
    Xs: np.ndarray  # X/√n: Σ_x = Xs Xsᵀ
    m: int
    d: int
    k: int
    kappa_x: float
    eps: float
    u: float


def _setup(ctx: Context, salt: str, *, m: int | None = None, kappa_x: float = 10.0,
           eps: float | None = None) -> _Setup:
    n_m, k = ctx.pick(small=(4, 1), paper=(8, 2), large=(24, 4))
    m = n_m if m is None else m
    rng = ctx.rng(salt)
    X = data_matrix(rng, m, 4 * m, kappa_x)
    U, _ = np.linalg.qr(rng.standard_normal((m, m)))
    V, _ = np.linalg.qr(rng.standard_normal((m, m)))
    W = U @ np.diag(np.geomspace(2.0, 1.0, m)) @ V.T
    Wp = W + 0.3 * rng.standard_normal((m, m))
    return _Setup(X=ctx.asarray(X), W=ctx.asarray(W), Y=ctx.asarray(Wp @ X), X64=X, W64=W,
                  Wp64=Wp, Xs=X / math.sqrt(X.shape[1]), m=m, d=m, k=k, kappa_x=kappa_x,
                  eps=EPS[ctx.dtype] if eps is None else eps, u=unit_roundoff(ctx.dtype))


def _alphas(ctx: Context, s: _Setup, alphas: tuple) -> tuple[list, list]:
    keep = [a for a in alphas if a * s.u * (s.m + s.d) <= math.sqrt(s.eps)]
    return keep, [a for a in alphas if a not in keep]


def _best_closed_form(h: np.ndarray, c: np.ndarray, eps: float) -> tuple[float | None, float]:
    """Attacker's best step over ``GRID/λ_max`` and its exact count (closed form)."""
    from specdef.numerics import best_step_sweep, steps_to_tolerance_quadratic

    grid = GRID / h.max()
    counts = steps_to_tolerance_quadratic(h, c, grid, eps).steps
    table = {float(g): float(n) for g, n in zip(grid, counts)}
    sw = best_step_sweep(lambda eta: table[float(eta)], grid)
    return sw.best_step, sw.best_n_steps


def _crossing_ok(Ta: float, Tb: float, loss: np.ndarray, thr: float, tol_abs: float) -> bool:
    """Counts agree, or differ only across steps whose loss is within ``tol_abs`` of ``thr``."""
    if Ta == Tb:
        return True
    lo, hi = int(min(Ta, Tb)), int(max(Ta, Tb))
    if hi >= loss.size + 1:
        return False
    return all(abs(loss[t] - thr) <= tol_abs for t in range(lo, min(hi, loss.size)))


def _before(ctx: Context, s: _Setup) -> dict:
    from specdef.numerics import LinearRegression, gradient_descent

    h, c = kron_modes(s.Xs, np.eye(s.m), s.W64 - s.Wp64)
    eta, n_cf = _best_closed_form(h, c, s.eps)
    model = LinearRegression(s.X, s.Y)
    res = gradient_descent(model, model.pack(W=s.W), eta, max_steps=int(4 * n_cf) + 10,
                           tol=s.eps)
    star = float(model.loss_star)
    return dict(step=eta, steps=float(res.steps), closed_form=n_cf, res=res,
                W_T=_host(model.unpack(res.theta)["W"]), L0=float(res.loss[0]),
                thr=star + s.eps * (float(res.loss[0]) - star))


def _defended(s: _Setup, Wt: Any, C: Any) -> float | None:
    C64, Wt64 = _host(C), _host(Wt)
    h, c = kron_modes(s.Xs, C64, Wt64 - np.linalg.solve(C64, s.Wp64))
    return finite_or_none(_best_closed_form(h, c, s.eps)[1])


def _attack_quadratic(ctx: Context, s: _Setup, name: str, Wt: Any, C: Any) -> dict:
    """Closed-form sweep of a quadratic attack, then one simulation at its best step."""
    from specdef import numerics as nm

    att = nm.ATTACKS[name](Wt, C, s.X, s.Y)
    P = _host(C @ Wt)
    if name == "multiplicative_bypass":
        F = P @ s.Xs  # (PΣ_xPᵀ) = F Fᵀ; B* = W'X (PX)⁺ (least squares in B)
        Bstar = np.linalg.lstsq(F.T, (s.Wp64 @ s.Xs).T, rcond=None)[0].T
        h, c = kron_modes(F, np.eye(s.m), np.eye(s.m) - Bstar)
    else:
        start = _host(att.weight(att.theta0))
        h, c = kron_modes(s.Xs, np.eye(s.m), start - s.Wp64)
    eta, n_cf = _best_closed_form(h, c, s.eps)
    res = nm.gradient_descent(att.model, att.theta0, eta, max_steps=int(4 * n_cf) + 10,
                              tol=s.eps)
    return dict(attack=att, step=eta, steps=float(res.steps) if res.converged else math.inf,
                closed_form=n_cf, res=res, W_T=_host(att.weight(res.theta)))


def _compare(ctx: Context, s: _Setup, before: dict, out: dict, alpha: float) -> dict:
    """Exact-recovery test of one attack run against the undefended run (attacks docstring)."""
    rb, ra = before["res"], out["res"]
    T = max(rb.steps, ra.steps)
    ratio = np.linalg.norm(s.W64) / np.linalg.norm(s.W64 - s.Wp64)
    tau_w = accumulated_rtol(ctx.dtype, T + s.m + s.d, max(alpha, 1.0))
    tau_l = accumulated_rtol(ctx.dtype, T + s.m + s.d, max(alpha, 1.0) * s.kappa_x * ratio)
    n = min(rb.loss.size, ra.loss.size)
    dloss = float(np.max(np.abs(rb.loss[:n] - ra.loss[:n]))) / before["L0"]
    dW = float(np.linalg.norm(out["W_T"] - before["W_T"]) / np.linalg.norm(before["W_T"]))
    same = _crossing_ok(ra.steps, rb.steps, rb.loss, before["thr"], tau_l * before["L0"])
    exact = dloss <= tau_l and same and (ra.steps != rb.steps or dW <= tau_w)
    return dict(exact=bool(exact and ra.converged), dloss=dloss, dW=dW, tau=tau_w, tau_loss=tau_l,
                same_steps=bool(same))


def _recovery_run(ctx: Context, cid: str, name: str, salt: str) -> tuple:
    """Shared body of the injection and fusion checks: sweep α, compare, classify."""
    s = _setup(ctx, salt)
    alphas, dropped = _alphas(ctx, s, ctx.pick(small=(10.0, 1e3, 1e6, 1e10),
                                               paper=(10.0, 1e2, 1e3, 1e4, 1e6, 1e8, 1e10)))
    if not alphas:
        return s, None, dropped
    before = _before(ctx, s)
    rows = []
    for a in alphas:
        Wt, C = ctx.defence(s.W, a, s.k)
        out = _attack_quadratic(ctx, s, name, Wt, C)
        rows.append(dict(alpha=a, defended=_defended(s, Wt, C), out=out,
                         cmp=_compare(ctx, s, before, out, a)))
    return s, (before, rows), dropped


def _worst_case_bypass(ctx: Context, s: _Setup, Wt: Any, C: Any, eps_dist: float) -> dict:
    """GD at step 1/λ_max on the bypass from a start on the slowest mode of ``(PΣ_xPᵀ) ⊗ I``."""
    from specdef import numerics as nm

    P = _host(C @ Wt)
    Q, sv, _ = np.linalg.svd(P @ s.Xs)
    lam, Q = (sv ** 2)[::-1], Q[:, ::-1]  # eigenpairs of PΣ_xPᵀ, ascending
    a = np.ones(s.m) / math.sqrt(s.m)
    Bstar = np.eye(s.m) + np.outer(a, Q[:, 0])  # B0 − B* = −a q_minᵀ: one eigen-mode
    Y = ctx.asarray(Bstar @ P @ s.X64)
    att = nm.multiplicative_bypass(Wt, C, s.X, Y)
    kz = float(lam[-1] / lam[0])
    res = nm.gradient_descent(att.model, att.theta0, 1.0 / float(lam[-1]), tol=eps_dist ** 2,
                              max_steps=int(3 * kz * math.log(1 / eps_dist)) + 10)
    cf = nm.steps_to_tolerance_quadratic(lam, np.eye(s.m)[0], 1.0 / float(lam[-1]), eps_dist,
                                         quantity="distance")
    return dict(kappa_z=kz, steps=float(res.steps) if res.converged else math.inf,
                closed_form=float(cf.steps[()]), status=res.status)


def _lam_max(ctx: Context, model: Any, theta: Any) -> float:
    """``λ_max`` of the Hessian at θ: dense for small models, else matrix-free (Lanczos)."""
    if model.n_params <= 600:
        return float(np.linalg.eigvalsh(_host(model.hessian(theta)))[-1])
    from specdef.numerics import extreme_eigenvalues

    res = extreme_eigenvalues(lambda v: model.hvp(theta, v), model.n_params, which="largest",
                              backend=ctx.backend, dtype=ctx.dtype, rng=ctx.seed)
    return float(np.max(_host(res.values)))
