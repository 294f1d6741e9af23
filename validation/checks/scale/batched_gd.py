"""The check ``scale.batched_gd``: 10⁴ quadratics run together by batched GD against the exact
worst-case value (described in :mod:`specdef.validation.checks.scale`).
"""

from __future__ import annotations

import numpy as np

from ...engine.registry import Context, check
from ...engine.tolerance import accumulated_rtol
from ..common import rows_record
from .instances import WORST, _worst_case_batch

__all__ = ["check_batched_gd"]


@check("scale.batched_gd", WORST,
       "10⁴ quadratics run together by batched GD: max f(x_n)-f* over the batch equals the "
       "exact worst case max_λ (λ/2)(1-λ/L)^{2n}")
def check_batched_gd(ctx: Context) -> list:
    """Tight: a planted problem per n attains the supremum; the others stay below it."""
    from specdef.numerics import batched_gradient_descent, to_host

    rng = ctx.rng("scale.batched_gd")
    B, d = ctx.pick(small=(512, 8), paper=(4096, 16), large=(10_000, 32))
    mu, L = 1e-3, 1.0
    ns = [1, 2, 5, 10, 20, 50, 100]
    H, E0 = _worst_case_batch(rng, B, d, mu, L, ns)
    res = batched_gradient_descent(ctx.asarray(H), ctx.asarray(E0), ctx.asarray([1.0 / L]),
                                   max(ns))
    loss = np.asarray(to_host(res.loss), dtype=np.float64)[:, :, 0]  # (T+1, B)
    rows = [dict(emp=float(loss[n].max()), prv=ctx.proven(WORST, mu=mu, L=L, step=1.0 / L, n=n),
                 params=dict(n=n, argmax=int(loss[n].argmax())),
                 tol=accumulated_rtol(ctx.dtype, n * d)) for n in ns]
    return [rows_record(ctx, "scale.batched_gd", WORST, rows, kind="tight",
                        params=dict(B=B, d=d, mu=mu, L=L, step=1.0 / L),
                        detail=f"max over {B} batched problems of f(x_n)-f* vs the exact worst "
                               f"case, n = {ns[0]} … {ns[-1]}",
                        data=dict(n=ns, max_loss=[r["emp"] for r in rows],
                                  bound=[r["prv"] for r in rows])).declare(
        "simulation: numerics.batched_gradient_descent (max over the batch)",
        f"closed form: {WORST}")]
