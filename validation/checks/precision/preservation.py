"""The check ``precision.function_preservation``.

The family, its instances and its tolerances are described in
:mod:`specdef.validation.checks.precision`.
"""

from __future__ import annotations

import math

from specdef.theory import AssumptionError

from ...engine.registry import Context, check
from ..common import defend, fmt_alpha, host, points_record
from .instances import FORMATS, MODELS, SHORT, preservation_layer

__all__ = ["check_function_preservation"]

CID, THEOREM = "precision.function_preservation", "specdef.function_preservation"
#: Formats whose first-order model is outside its hypothesis 2cu <= 1 for c = 7 (u = 1/8).
OUTSIDE = ("float8_e5m2",)


def _alphas(ctx: Context) -> list[float]:
    return ctx.pick(small=[1.0, 10.0, 1e2, 1e3, 1e4, 1e5, 1e6],
                    paper=[float(a) for a in (1, 3, 10, 30, 1e2, 3e2, 1e3, 3e3, 1e4, 3e4, 1e5,
                                              3e5, 1e6)])


@check(CID, THEOREM, "‖fl(C fl(W̃x)) − Wx‖/(‖W‖‖x‖) in bfloat16, float16, float8-e4m3 and "
       "float32, pure and mixed arithmetic, vs c·α·u_F, α = 1 … 1e6", claim="C1")
def check_function_preservation(ctx: Context) -> list:
    """Function-preservation error per format and arithmetic model against ``c·α·u_F``.

    One record per (format, model): the worst point over α (largest error/bound).  ``c =
    √r + √m + 3`` (first order, see :func:`numerics.preservation_error`).  Points where the
    stored W̃ overflows (error ``inf``; float8-e4m3 from α ≈ 2·10³) are outside the bound's
    hypothesis and reported in ``data["overflow"]``; float8-e5m2 (``2cu > 1``) is measured and
    reported in ``data["outside_model"]`` of every record, without a verdict.
    """
    from specdef import numerics as nx

    W, X, k = preservation_layer(ctx)
    m, n = W.shape
    c = math.sqrt(min(m, n)) + math.sqrt(m) + 3
    alphas = _alphas(ctx)
    layers = {a: tuple(host(z) for z in defend(ctx, W, a, k, dtype="float64")) for a in alphas}
    errors = {(f, mod): [nx.preservation_error(W, *layers[a], X, nx.arithmetic(f, mod))
                         for a in alphas] for f in FORMATS for mod in MODELS}
    outside = {f"{SHORT[f]}_{mod}": [e if math.isfinite(e) else None for e in errors[(f, mod)]]
               for f in OUTSIDE for mod in MODELS}
    out = []
    for fmt in FORMATS:
        if fmt in OUTSIDE:
            continue
        u = nx.number_format(fmt).unit_roundoff
        for mod in MODELS:
            errs = errors[(fmt, mod)]
            pts, overflow, model = [], [], []
            for a, e in zip(alphas, errs):
                try:
                    prv = ctx.proven(THEOREM, alpha=a, u=u, c=c)
                except AssumptionError:  # never for these formats (2cu <= 0.44)
                    prv = math.nan
                model.append(prv)
                if not math.isfinite(e):
                    overflow.append(a)
                    continue
                pts.append(dict(emp=e, prv=prv, rtol=1e-9, resolved=True,
                                params=dict(alpha=a, u=u, c=c, format=fmt, model=mod),
                                label=f"α={fmt_alpha(a)}: {e:.3g} vs c·α·u={prv:.3g}"))
            at4 = errs[alphas.index(1e4)] if 1e4 in alphas else math.nan
            data = dict(alpha=alphas, error=[e if math.isfinite(e) else None for e in errs],
                        model=model, ratio_to_alpha_u=[e / (a * u) if math.isfinite(e) else None
                                                       for a, e in zip(alphas, errs)],
                        format=fmt, arithmetic=mod, u=u, c=c, shape=[m, n], k=k,
                        overflow=overflow, error_at_1e4=at4 if math.isfinite(at4) else "inf",
                        outside_model=outside)
            rec = points_record(ctx, CID, THEOREM, pts, "upper", what="α points", data=data,
                                extra_params=dict(format=fmt, model=mod))
            rec.declare(f"measurement: numerics.preservation_error in {fmt} ({mod}), "
                        f"ml_dtypes rounding", f"closed form: {THEOREM} c·α·u")
            head = (f"{SHORT[fmt]} {mod}: err(α=1e4) = "
                    + (f"{at4:.3g} ({at4 / (1e4 * u):.2g}·α·u)" if math.isfinite(at4)
                       else "inf (W̃ overflows)"))
            rec.detail = head + "; " + rec.detail
            out.append(rec)
    return out
