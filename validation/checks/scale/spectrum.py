"""The check ``scale.joint_spectrum``: σ_1 of the joint Hessian of a planted SpecDef layer at GPU
sizes (described in :mod:`specdef.validation.checks.scale`).
"""

from __future__ import annotations

import dataclasses
import math

from ...engine.records import Status
from ...engine.registry import Context, check
from ...engine.tolerance import accumulated_rtol, eps_of
from ..common import rows_record
from .instances import GROWTH, _planted_layer

__all__ = ["check_joint_spectrum"]


@check("scale.joint_spectrum", GROWTH,
       "both trained, zero residual, d up to 8192 (2d² Hessian rows): σ_1(H) ≥ α²σ_1(W)²v_1ᵀΣ_xv_1 "
       "by QR + Lanczos, ends checked against a planted closed form", claim="C1")
def check_joint_spectrum(ctx: Context) -> list:
    """Lower bound, tight to 1/(α²s_1²); the solver is validated against the closed form."""
    from specdef.numerics import joint_extremes_zero_residual

    rng = ctx.rng("scale.joint_spectrum")
    d = ctx.pick(small=64, paper=1024, large=8192)
    k = max(1, d // 8)
    rows, ends, worst_gap = [], [], 0.0
    for alpha in (10.0, 1e2, 1e3, 1e4):
        inst = _planted_layer(ctx, rng, d, k, alpha)
        # the Lanczos path at every size (auto would take the full spectrum below 256 columns)
        got = joint_extremes_zero_residual(inst["W_inflated"], inst["C"], inst["X"],
                                           method="lanczos")
        kappa = inst["lambda_max"] / inst["lambda_min_nonzero"]
        gap = max(abs(got.lambda_max / inst["lambda_max"] - 1),
                  abs(got.lambda_min_nonzero / inst["lambda_min_nonzero"] - 1))
        allowed = 64 * d * eps_of(ctx.dtype) * math.sqrt(kappa)
        worst_gap = max(worst_gap, gap / allowed)
        ends.append(dict(alpha=alpha, sigma_1=got.lambda_max, lambda_min_nonzero=
                         got.lambda_min_nonzero, closed_form=[inst["lambda_max"],
                                                              inst["lambda_min_nonzero"]],
                         relative_gap=gap, allowed=allowed, method=got.method,
                         n_solves=got.n_solves))
        rows.append(dict(emp=got.lambda_max,
                         prv=ctx.proven(GROWTH, alpha=alpha, sigma1_W=inst["sigma1_W"],
                                        vSv=inst["vSv"]),
                         params=dict(alpha=alpha), tol=accumulated_rtol(ctx.dtype, d)))
    rec = rows_record(ctx, "scale.joint_spectrum", GROWTH, rows, kind="lower",
                      params=dict(d=d, m=d, k=k, n_rows=2 * d * d),
                      detail=f"σ_1(H) of the {2 * d * d:,}-row joint Hessian vs α²σ_1(W)²v_1ᵀΣ_xv_1, "
                             f"α = 10 … 1e4", data=dict(ends=ends))
    if worst_gap > 1:  # not a measurement of σ_1: no verdict on the theorem
        rec = dataclasses.replace(
            rec, status=Status.ERROR,
            detail=f"premise failed: the structured ends differ from the planted closed form by "
                   f"{worst_gap:.3g}x the allowed 64·d·u·√κ; " + rec.detail)
    return [rec.declare("eigensolver: numerics.joint_extremes_zero_residual (QR + Lanczos)",
                        f"closed form: {GROWTH}")]
