"""The checks ``c2.newton``, ``c2.gauss_newton``, ``c2.levenberg_marquardt``, ``c2.damped_newton``,
``c2.newton_cg``: cost of each second-order method vs α, and its verdict.

The setting, costs, verdicts and finite-precision rules are described in
:mod:`specdef.validation.checks.c2`.
"""

from __future__ import annotations

import math

import numpy as np

from ...engine.records import Status
from ...engine.registry import Context, check
from ...engine.tolerance import rtol as dtype_rtol, rtol_exact
from ..common import finite_or_none, fmt_alpha, host as _host
from .instances import COST_NAME, FP_LIMIT, METHODS, PARAMS, PREDICTION, THEOREM, _Setup, _setup
from .runs import _gd_closed_form, _sweep

__all__ = ["METHODS", "PREDICTION", "THEOREM"]


# ------------------------------------------------------------------------------- records
def _fit_exponent(alphas: list, costs: list) -> float | None:
    pts = [(math.log(a), math.log(c)) for a, c in zip(alphas, costs)
           if c is not None and c > 0 and a >= 1]
    if len(pts) < 2 or len({p[0] for p in pts}) < 2:
        return None
    x, y = np.array(pts).T
    return float(np.polyfit(x, y, 1)[0])


def _record(ctx: Context, s: _Setup, cid: str, method: str, param: str, sw: dict,
            damping: float | None = None, extra: dict | None = None):
    pred = PREDICTION[(method, param)]
    what = COST_NAME[method]
    alphas, costs, reps = sw["alpha"], sw["cost"], sw["representable"]
    conv = [st in ("converged", "closed_form") for st in sw["status"]]
    data = dict(alpha=alphas, steps=[finite_or_none(v) for v in sw["steps"]],
                steps_undefended=float(sw["ref"].steps), cost=[finite_or_none(v) for v in costs],
                cost_undefended=sw["ref_cost"], cost_name=what, method=method,
                parameterisation=param, prediction=pred, status=sw["status"],
                representable=reps, kappa_H=sw["kappa_H"], kappa_H_undefended=sw["ref_kappa"],
                kappa_soft=sw["kappa_soft"],
                n_targets=sw["n_targets"], per_target=sw["per_target"],
                per_target_undefended=sw["ref"].per_target,
                unit_roundoff=s.u, eps=s.eps, **(extra or {}))
    if method == "newton_cg":
        data["inner"] = [finite_or_none(v) for v in costs]
    if method == "damped_newton":
        data["evaluations"] = data.pop("cost")
    if damping is not None:
        data["damping"] = damping
        data["damping_relative"] = damping / s.sigma1
    tag = f"{method} ({param}{'' if damping is None else f', λ={damping / s.sigma1:g}·σ₁'})"
    params = dict(method=method, parameterisation=param, kappa_x=s.kappa_x, eps=s.eps, m=s.m,
                  d=s.d, k=s.k, alphas=list(alphas))
    if damping is not None:
        params["damping"] = damping
    fp = [fmt_alpha(a) for a, r in zip(alphas, reps) if not r]
    why = "κ·u > √ε" + ("" if sw["kappa_soft"][0] is None else f" or κ_soft·u > {FP_LIMIT:g}")
    fp_note = (f"; finite-precision regime ({why}) at α={','.join(fp)}: excluded"
               if fp else "")
    if not sw["ref"].converged:
        return ctx.result(cid, THEOREM, params, None, None, status=Status.ERROR, data=data,
                          detail=f"{tag}: premise failed — undefended run did not converge "
                                 f"({sw['ref'].status}: {sw['ref'].message})")
    usable = [i for i, r in enumerate(reps) if r and costs[i] is not None]
    if not any(alphas[i] > 1 for i in usable):
        return ctx.result(cid, THEOREM, params, None, None, status=Status.ERROR, data=data,
                          detail=f"{tag}: premise failed numerically — {why} at every α > 1 "
                                 f"(dtype {ctx.dtype}){fp_note}")
    ref = sw["ref_cost"]
    if pred == "invariant":
        ratios = {i: costs[i] / ref for i in usable}
        i = max(usable, key=lambda j: (abs(ratios[j] - 1.0), alphas[j]))
        proven = ctx.proven(THEOREM, alpha=alphas[i], kappa=sw["kappa_H"][i])
        bad = [fmt_alpha(alphas[j]) for j in usable if not conv[j]]
        note = f"; not converged at α={','.join(bad)}" if bad else ""
        rs = ", ".join(f"{costs[j]:g}" for j in usable)
        detail = (f"{tag}: {what} {ref:g} undefended vs [{rs}] over α≤"
                  f"{fmt_alpha(alphas[usable[-1]])}; worst ratio {ratios[i]:.4g} at "
                  f"α={fmt_alpha(alphas[i])} (exact invariance predicts 1){note}{fp_note}")
        return ctx.result(cid, THEOREM, {**params, "alpha": alphas[i]}, ratios[i], proven,
                          rtol=rtol_exact(ctx.dtype), kind="exact", detail=detail, data=data)
    i = usable[-1]
    slowdown = costs[i] / ref
    proven = ctx.proven(THEOREM, alpha=alphas[i], kappa=sw["kappa_H"][i])
    tol = dtype_rtol(ctx.dtype)
    slowed = slowdown > proven * (1.0 + tol)
    capped = not conv[i]
    expo = _fit_exponent([alphas[j] for j in usable if conv[j]],
                         [costs[j] for j in usable if conv[j]])
    fit = "" if expo is None else f"; {what} ∝ α^{expo:.2f}"
    if method == "newton_cg" and expo is not None:
        fit += " (√κ bound predicts α^1)"
    skipped = [fmt_alpha(a) for a, c in zip(alphas, costs) if c is None]
    skip = f"; α={','.join(skipped)} not run (cap reached)" if skipped else ""
    verified = sw.get("verified") or []
    ver = ""
    if verified:
        ok = all(st == "converged" and v == cf for _, cf, v, st in verified)
        ver = (f"; closed form {'matches' if ok else 'DISAGREES WITH'} simulation at "
               + ",".join("undefended" if a is None else f"α={fmt_alpha(a)}"
                          for a, _, _, _ in verified))
        if not ok:
            return ctx.result(cid, THEOREM, params, slowdown, proven, status=Status.ERROR,
                              data=data, detail=f"{tag}: closed-form LM count disagrees with "
                                                f"simulation {verified}")
    head = (f"slowed ×{slowdown:.3g}{' (lower bound: capped)' if capped else ''}" if slowed
            else f"not slowed (ratio {slowdown:.3g}) — predicted slowed")
    detail = (f"{tag}: {head} at α={fmt_alpha(alphas[i])}, {what} {ref:g} → "
              f"{costs[i]:g}{fit}{skip}{ver}{fp_note}")
    data["slowdown"] = slowdown
    data["fitted_exponent"] = expo
    return ctx.result(cid, THEOREM, {**params, "alpha": alphas[i]}, slowdown, proven,
                      status=Status.HOLDS if slowed else Status.VIOLATED, rtol=tol,
                      detail=detail, data=data)


def _gd_reference(ctx: Context, s: _Setup) -> dict:
    """GD steps at step ``1/λ_max`` (C frozen) from the closed form, for Figure 3."""
    gd, t = [], s.for_run("gradient_descent", "frozen")[0]
    for a in s.alphas:
        Wt, C = ctx.defence(s.W, a, s.k)
        gd.append(finite_or_none(_gd_closed_form(s, _host(C), _host(Wt), t)))
    und = _gd_closed_form(s, np.eye(s.m), s.W64, t)
    return {"gd_steps": gd, "gd_steps_undefended": finite_or_none(und)}


def _make(method: str, description: str):
    cid = f"c2.{method}"

    @check(cid, THEOREM, description, claim="C2")
    def run(ctx: Context) -> list:
        s = _setup(ctx)
        out = []
        for param in PARAMS:
            if method == "levenberg_marquardt":
                rel = (1e-3, 1e-1, 10.0) if param == "frozen" else ctx.pick(
                    small=(1e-3, 1e-1), paper=(1e-3, 1e-1, 10.0))
                for r in rel:
                    sw = _sweep(ctx, s, method, param, damping=r * s.sigma1)
                    out.append(_record(ctx, s, cid, method, param, sw, damping=r * s.sigma1))
                continue
            extra = _gd_reference(ctx, s) if method == "newton" and param == "frozen" else None
            out.append(_record(ctx, s, cid, method, param, _sweep(ctx, s, method, param),
                               extra=extra))
        return out

    run.__name__ = f"check_{method}"
    return run


_make("newton", "exact Newton steps vs α (C frozen and joint): affine invariance, ratio 1")
_make("gauss_newton", "Gauss–Newton steps vs α (C frozen and joint): affine invariance, ratio 1")
_make("levenberg_marquardt", "LM with fixed damping (1e-3, 1e-1, 10 × σ₁(H)): slowed by α")
_make("damped_newton", "damped Newton (Armijo): invariant with C frozen, slowed when joint")
_make("newton_cg", "Newton-CG: Hessian-vector products grow with α (√κ prediction)")
