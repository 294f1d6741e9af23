"""The checks ``specdef.weight_spectrum`` and ``specdef.function_preservation``.

The family, its instances and its tolerances are described in
:mod:`specdef.validation.checks.specdef`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...engine.records import Status
from ...engine.registry import Context, check
from ...engine.tolerance import accumulated_rtol, rtol as dtype_rtol, unit_roundoff
from ..common import (defend, evaluate_derived, host, pick_worst, points_record,
                      resolution_limit)

__all__ = ["check_weight_spectrum", "check_function_preservation"]

WEIGHT, PRESERVE = "specdef.weight_spectrum", "specdef.function_preservation"


# ---------------------------------------------------------------------------------- instances
def _designed(rng: np.random.Generator, m: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``W = U diag(s) V^T`` with geometric ``s`` over two decades and a tie at ``r/2``."""
    r = min(m, n)
    s = np.logspace(0.0, -2.0, r)
    if r >= 2:
        s[r // 2] = s[r // 2 - 1]  # σ_{r/2} = σ_{r/2+1}: the top-(r/2) subspace is not unique
    U = np.linalg.qr(rng.standard_normal((m, m)))[0][:, :r]
    V = np.linalg.qr(rng.standard_normal((n, n)))[0][:, :r]
    return (U * s) @ V.T, s


def _shapes(ctx: Context) -> list[tuple[int, int]]:
    return ctx.pick(small=[(6, 6), (8, 5), (5, 8)], paper=[(32, 32), (48, 24), (24, 48)],
                    large=[(512, 512), (1024, 256), (256, 1024)])


def _alphas_spectrum(ctx: Context) -> list[float]:
    return ctx.pick(small=[1.0, 10.0, 1e2, 1e4, 1e6, 1e8],
                    paper=[1.0, 10.0, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8])


# ---------------------------------------------------------------------------------- check 1
@check(WEIGHT, WEIGHT, "σ_j(W̃) = T_jj σ_j(W) for every j and eig(C) = {1/α, 1}: square, tall "
       "and wide W, k ∈ {1, r/2, r}, α up to 1e8", claim="C1")
def check_weight_spectrum(ctx: Context) -> list:
    """Singular values of W̃ and eigenvalues of C against the theorem, worst point per record.

    SpecDef-specific: a user defence is run through it and may fail (informative).
    """
    rng = ctx.rng(WEIGHT)
    xp, dt = ctx.xp, ctx.dtype
    sv_pts, c_pts = [], []
    series: dict[str, list] = {"alpha": [], "sigma1_ratio": [], "sigma1_ratio_theory": [],
                               "c_min": [], "c_min_theory": [], "max_rel_err": []}
    alphas = _alphas_spectrum(ctx)
    instances = [(shape, *_designed(rng, *shape)) for shape in _shapes(ctx)]
    per_alpha_err = {a: 0.0 for a in alphas}
    for (m, n), W, s in instances:
        r = min(m, n)
        for alpha in alphas:
            for k in sorted({1, max(1, r // 2), r}):
                Wt, C = defend(ctx, W, alpha, k)
                sv = np.sort(host(xp.linalg.svdvals(Wt)))[::-1]
                Ch = host(C)
                sym = np.allclose(Ch, Ch.T, rtol=0, atol=4 * unit_roundoff(dt) * np.abs(Ch).max())
                ev = np.sort(np.linalg.eigvalsh(0.5 * (Ch + Ch.T)) if sym
                             else np.real(np.linalg.eigvals(Ch)))
                prv = [ctx.proven(WEIGHT, sigma=float(s[j]), alpha=alpha, j=j + 1, k=k)
                       for j in range(r)]
                top = max(prv) if prv else 1.0
                for j in range(r):
                    tol = accumulated_rtol(dt, max(m, n), kappa=top / prv[j])
                    sv_pts.append(dict(emp=float(sv[j]), prv=prv[j], rtol=tol, params=dict(
                        sigma=float(s[j]), alpha=alpha, j=j + 1, k=k, shape=[m, n]),
                        label=f"σ_{j + 1}(W̃) of a {m}×{n} W, k={k}, α={alpha:g}: "
                              f"{sv[j]:.10g} vs {prv[j]:.10g}"))
                    if tol <= resolution_limit():
                        per_alpha_err[alpha] = max(per_alpha_err[alpha],
                                                   abs(sv[j] - prv[j]) / prv[j])
                # eigenvalues of C, ascending, against 1/T_jj in direction order j = 1..m
                cth = sorted(1.0 / ctx.proven(WEIGHT, sigma=1.0, alpha=alpha, j=i + 1, k=k)
                             for i in range(m))
                for i in range(m):
                    c_pts.append(dict(emp=float(ev[i]), prv=cth[i], rtol=accumulated_rtol(
                        dt, m, kappa=1.0 / cth[i]), params=dict(alpha=alpha, k=k, i=i + 1,
                                                                 shape=[m, n]),
                        label=f"λ_{i + 1}(C) of a {m}×{n} W, k={k}, α={alpha:g}: "
                              f"{ev[i]:.10g} vs {cth[i]:.10g}"))
                if (m, n) == instances[0][0] and k == 1:
                    series["alpha"].append(alpha)
                    series["sigma1_ratio"].append(float(sv[0] / s[0]))
                    series["sigma1_ratio_theory"].append(prv[0] / float(s[0]))
                    series["c_min"].append(float(ev[0]))
                    series["c_min_theory"].append(cth[0])
    series["max_rel_err"] = [per_alpha_err[a] for a in series["alpha"]]
    shapes = [list(i[0]) for i in instances]
    common = dict(shapes=shapes, defence=ctx.defence_name)
    return [
        points_record(ctx, WEIGHT, WEIGHT, sv_pts, "exact", what="σ_j(W̃) values",
                data=dict(series, **common)).declare(
            "SVD: xp.linalg.svdvals of the defence's W̃", f"closed form: {WEIGHT}"),
        points_record(ctx, WEIGHT, WEIGHT, c_pts, "exact", what="eigenvalues of C",
                data=dict(alpha=series["alpha"], c_min=series["c_min"],
                          c_min_theory=series["c_min_theory"], **common)).declare(
            "eigensolver: numpy eigvalsh/eigvals of the defence's C",
            f"closed form: {WEIGHT} (1/T_jj)"),
    ]


# ---------------------------------------------------------------------------------- check 2
def _preservation_instance(ctx: Context) -> tuple[np.ndarray, np.ndarray, int]:
    """W (m×n, Gaussian) and a batch X: half random, half along W's top right singular vectors."""
    rng = ctx.rng(PRESERVE)
    m, n, B = ctx.pick(small=(16, 12, 32), paper=(64, 48, 256), large=(512, 384, 4096))
    W = rng.standard_normal((m, n)) / math.sqrt(n)
    k = max(1, min(m, n) // 4)
    V = np.linalg.svd(W)[2][:k].T  # top-k right singular vectors: W̃x is then α times larger
    X = rng.standard_normal((n, B))
    X[:, B // 2:] = V @ rng.standard_normal((k, B - B // 2)) + 1e-3 * X[:, B // 2:]
    return W, X, k


@check(PRESERVE, PRESERVE, "‖fl(C fl(W̃x)) − Wx‖/(‖W‖‖x‖) vs the first-order model c·α·u, "
       "float32 and float64, α = 1 … 1e12", claim="C1")
def check_function_preservation(ctx: Context) -> list:
    """Function-preservation error against ``c·α·u``, in float32 and float64 (any ctx.dtype).

    Records, per dtype:

    * *error vs model* (``upper``): the measured relative error at the α where it comes closest
      to ``ctx.proven(..., alpha, u, c)`` with the rigorous constant ``c = (n+m)√(m r)``.  Only
      points with ``α·u < 1`` are inside the first-order model; the others (float32 from
      α = 1e8) are recorded in ``data`` (``outside_model_<dtype>``) and left out of the verdict.
      The rigorous constant is far from attained by round-to-nearest (measured errors are a
      few ``α·u``), so this record alone cannot detect a 1 % change of the bound.
    * *model vs rigorous* (``MEASURED``: data, not a verdict — both sides are closed forms of the
      same theorem, so no measurement could make it fail): the theorem states
      ``c·α·u ≤ α·γ_c ≤ c·α·u·(1 + 2cu)`` with ``γ_c = cu/(1 − cu)`` (the bound is the first-order
      term of the rigorous Higham bound).  The record compares ``α·γ_c`` (the theorem's
      ``derived["rigorous"]``) with the proven value at the instance's ``(α, u, c)``, as a
      reference for the reader.

    Honest scope of the verdict.  The constant ``c`` is the rigorous worst case of the rounding
    analysis; round-to-nearest on these instances reaches a few ``α·u``
    (``data["measured_constant_<dtype>"]`` = max error/(α·u)), a factor ~100 below ``c·α·u``.
    The *error vs model* record is therefore HOLDS, never TIGHT, and only a bound lowered below
    the measured error (a factor ~100, not 1 %) flips it; the detail states the slack.

    ``data`` (on every record): ``alpha``, ``float32``, ``float64`` (measured errors, None where
    not finite), ``model_float32``, ``model_float64`` (``c·α·u``) and ``outside_model_*``.
    """
    from specdef.numerics import reconstruction_error

    W, X, k = _preservation_instance(ctx)
    m, n = W.shape
    r = min(m, n)
    c = (n + m) * math.sqrt(m * r)
    alphas = [10.0 ** e for e in range(0, 13)]
    norm_w, norm_x = float(np.linalg.norm(W, 2)), float(np.linalg.norm(X))
    norm_wx = float(np.linalg.norm(W @ X))
    data: dict[str, Any] = {"alpha": alphas, "c": c, "k": k, "shape": [m, n],
                            "batch": int(X.shape[1]), "defence": ctx.defence_name}
    out = []
    for dt in ("float32", "float64"):
        u = unit_roundoff(dt)
        Wd, Xd = ctx.asarray(W, dtype=dt), ctx.asarray(X, dtype=dt)
        errs, model, outside, pts = [], [], [], []
        for alpha in alphas:
            Wt, C = defend(ctx, W, alpha, k, dtype=dt)
            with np.errstate(all="ignore"):
                rel = float(host(reconstruction_error(Wd, Wt, C, Xd)))
            err = rel * norm_wx / (norm_w * norm_x)  # theorem normalisation ‖W‖_2 ‖X‖_F
            prv = ctx.proven(PRESERVE, alpha=alpha, u=u, c=c)
            errs.append(err if math.isfinite(err) else None)
            model.append(prv)
            outside.append(bool(alpha * u >= 1.0))
            if alpha * u < 1.0 and math.isfinite(err):
                pts.append(dict(emp=err, prv=prv, rtol=dtype_rtol(dt), resolved=True,
                                params=dict(alpha=alpha, u=u, c=c),
                                label=f"α={alpha:g}: error {err:.3g} vs c·α·u {prv:.3g} "
                                      f"(ratio {err / prv:.3g})"))
        data[dt], data[f"model_{dt}"], data[f"outside_model_{dt}"] = errs, model, outside
        out.append((dt, pts))
    records = []
    for dt, pts in out:
        u = unit_roundoff(dt)
        ratios = [p["emp"] / p["prv"] for p in pts if p["prv"] > 0]
        consts = [p["emp"] / (p["params"]["alpha"] * u) for p in pts]
        data[f"measured_constant_{dt}"] = max(consts) if consts else None
        rec = points_record(ctx, PRESERVE, PRESERVE, pts, "upper", what=f"{dt} in-model α values",
                      data=data)
        rec.dtype = dt
        rec.detail = (f"{dt} error vs c·α·u (c = (n+m)√(mr) = {c:.4g}, rigorous, not attained: "
                      f"measured error ≤ {max(consts) if consts else float('nan'):.3g}·α·u, "
                      f"max error/bound {max(ratios) if ratios else float('nan'):.3g}): "
                      + rec.detail)
        rec.declare("measurement: numerics.reconstruction_error of the defended layer",
                    f"closed form: {PRESERVE}")
        records.append(rec)
        worst = pick_worst(pts, "upper") or dict(params=dict(alpha=1.0, u=u, c=c))
        alpha = worst["params"]["alpha"]
        rigorous = evaluate_derived(ctx, PRESERVE, "rigorous", alpha=alpha, u=u, c=c)
        prv = ctx.proven(PRESERVE, alpha=alpha, u=u, c=c)
        rec2 = ctx.result(PRESERVE, PRESERVE, dict(alpha=alpha, u=u, c=c, relation="model vs "
                                                   "rigorous"), rigorous, prv, rtol=2 * c * u,
                          status=Status.MEASURED, data=data,
                          detail=f"{dt}: rigorous α·γ_c {rigorous:.6g} vs first-order c·α·u "
                                 f"{prv:.6g} (equal to O(u²), within 2cu = {2 * c * u:.2g}); "
                                 f"data, not a verdict: two closed forms of the theorem")
        rec2.declare(f"closed form: {PRESERVE} derived rigorous", f"closed form: {PRESERVE}")
        rec2.dtype = dt
        records.append(rec2)
    return records
