"""The check ``c4.clipping``: the first-step gradient-norm jump and what clipping at 1.0 does.

AdamW (weight decay 10⁻², the replication's optimiser) at the natural Adam rate of the instance
(:func:`~.instances.natural_scale`) for ``T`` updates (50 at small size) on the released model
at α ∈ {1, 10, 10², 10³, 10⁴}, C frozen and C trained, once without clipping and once with the
global gradient norm clipped at 1.0; one batched sweep over α per (model, mode, clip).

Measured: the jump ``‖∇L(θ_1)‖/‖∇L(θ_0)‖`` across the first update (the replication: 34 →
7,880, 232×, at α = 10⁴) and, with clipping, the loss trajectory relative to ``L(θ_0)``: its
peak, its final value, whether the harmful target was recovered (relative gap
:data:`~.runs.TOL`).  Two records per setting: ``grad_jump`` HOLDS iff the jump at α = 10⁴ is at
least 10×; ``clip_spike`` HOLDS iff, clipped, the loss rises at least 2× above its start and
ends below its peak without recovering the target (the replication's spike, then a new basin).
"""

from __future__ import annotations

import numpy as np

from ...engine.registry import Context, check
from ..common import fmt_alpha
from .attacker import SETTINGS
from .claims import claim_record, threshold
from ...certify.instances import OPTIMISERS, build, natural_scale
from .runs import PAPER_ALPHA, TOL, asarray_of, instance

__all__ = ["check_clipping", "CLIP_ALPHAS"]

CLIP_ALPHAS = (1.0, 10.0, 100.0, 1e3, 1e4)
JUMP = 10.0
SPIKE = 2.0


@check("c4.clipping", "claim.c4.grad_jump",
       "first-step gradient-norm jump vs α under AdamW, and the loss with clipping at 1.0",
       claim="C4")
def check_clipping(ctx: Context) -> list:
    from specdef.numerics import sweep_optimiser

    cid = "c4.clipping"
    T = int(ctx.pick(small=50, paper=200))
    jump_thr = threshold(ctx, cid, JUMP)
    spike_thr = threshold(ctx, cid, SPIKE)
    out = []
    for model, mode in SETTINGS:
        inst = instance(ctx, model)
        lr = natural_scale(inst, OPTIMISERS["adamw"], asarray_of(ctx))
        nets = [build(inst, asarray_of(ctx), ctx.defence, a, mode) for a in CLIP_ALPHAS]
        runs = {}
        for clip in (None, 1.0):
            r = sweep_optimiser(nets, [n.theta0 for n in nets], "adamw", [lr],
                                seeds=[ctx.seed], options={"weight_decay": 1e-2},
                                max_steps=T, tol=TOL, clip=clip)
            L, g = r.loss[:, :, 0, 0], r.grad_norm[:, :, 0, 0]
            runs[clip] = dict(
                grad0=g[0].tolist(), jump=(g[1] / g[0]).tolist(),
                peak=(L.max(axis=0) / L[0]).tolist(), final=(L[-1] / L[0]).tolist(),
                status=r.status[:, 0, 0].tolist(), steps=r.steps[:, 0, 0].tolist(),
                loss_at_max_alpha=(L[:, -1] / L[0, -1]).tolist())
        setting = f"{model}/{mode}"
        a = CLIP_ALPHAS.index(PAPER_ALPHA)
        jump = runs[None]["jump"][a]
        jumps = ", ".join(f"{fmt_alpha(al)}: {j:.3g}×" for al, j in zip(CLIP_ALPHAS,
                                                                        runs[None]["jump"]))
        data = dict(alpha=list(CLIP_ALPHAS), lr=lr, steps=T, unclipped=runs[None],
                    clipped=runs[1.0], jump_threshold=jump_thr, spike_threshold=spike_thr)
        out.append(claim_record(
            ctx, cid, "grad_jump", setting, holds=bool(jump >= jump_thr), empirical=jump,
            proven=jump_thr, data=data, params=dict(alpha=PAPER_ALPHA, lr=lr, optimiser="adamw"),
            detail=f"{setting}, AdamW at lr {lr:.3g}: ‖∇L(θ_1)‖/‖∇L(θ_0)‖ per α {jumps} "
                   f"(‖∇L(θ_0)‖ {runs[None]['grad0'][0]:.3g} → {runs[None]['grad0'][a]:.3g} "
                   f"from α=1 to 1e4; the replication: 232× at α=1e4)"))
        c = runs[1.0]
        peak, final, rec = c["peak"][a], c["final"][a], c["status"][a] == "converged"
        holds = bool(peak >= spike_thr and final < peak and not rec)
        out.append(claim_record(
            ctx, cid, "clip_spike", setting, holds=holds, empirical=peak, proven=spike_thr,
            data=data, params=dict(alpha=PAPER_ALPHA, lr=lr, clip=1.0, optimiser="adamw"),
            detail=f"{setting}, α=1e4, AdamW clipped at 1.0, {T} steps: L/L_0 peaks at "
                   f"{peak:.3g} and ends at {final:.3g} ("
                   + ("target recovered" if rec else "target not recovered")
                   + f"); unclipped: peak {runs[None]['peak'][a]:.3g}, end "
                     f"{runs[None]['final'][a]:.3g}"))
    return out
