"""The checks ``precision.stall_threshold.gd`` and ``precision.stall_threshold.adamw``.

The family, its instances and its tolerances are described in
:mod:`specdef.validation.checks.precision`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...engine.registry import Context, check
from ..common import defend, evaluate_derived, fmt_alpha, host, loglog_slope, points_record
from .instances import FORMATS, MODELS, SHORT, binade_fraction, stall_layer, stall_rtol

__all__ = ["check_stall_gd", "check_stall_adamw"]

GD, ADAM = "precision.stall_threshold.gd", "precision.stall_threshold.adam"
ABSORB = "precision.absorbed_update"


def _alphas(ctx: Context) -> list[float]:
    return ctx.pick(small=[1.0, 2.0**4, 2.0**8, 1e4, 2.0**16],
                    paper=[1.0, 2.0**2, 2.0**4, 2.0**6, 2.0**8, 2.0**10, 1e4, 2.0**14, 2.0**16])


def _predicted(ctx: Context, theorem: str, fmt: Any, alpha: float, Ws: np.ndarray,
               D: np.ndarray, G: np.ndarray, eps: float) -> tuple[float, float]:
    """min over entries of the theorem's threshold (the layer changes when its first entry does).

    Normal entries: the stall theorem with ``f`` (GD) or ``E`` (Adam) the binade fraction or the
    exponent of the stored entry, halved
    where the step moves a power of two above the smallest normal toward zero (``derived`` of the
    absorbed-update theorem: the gap below ``2^e`` is half as wide; below N it is S = ulp(N)).
    Subnormal entries: the absorbed-update radius at the smallest normal exponent over ``|D|``.
    Entries with ``D = 0`` never move.

    Returns ``(threshold, delta)``: the predicted threshold and the smallest update size
    ``η_ij·|D_ij|`` among the entries whose threshold is within a factor 2 of it (the updates a
    pure-model step must round; subnormal ones round with more than ``u`` relative error).
    """
    F = fmt
    moving = D != 0
    aw = np.abs(Ws)
    normal = moving & (aw >= F.smallest_normal)
    sub = moving & ~normal
    f = binade_fraction(Ws)
    scale = float(ctx.perturb.get(theorem, 1.0))
    out = []
    if normal.any():
        if theorem == GD:
            ratio = (aw[normal] / alpha) / (alpha * np.abs(D[normal]))
            v = ctx.theorem(GD).evaluate(alpha=np.full(ratio.shape, alpha),
                                         u=np.full(ratio.shape, F.unit_roundoff), ratio=ratio,
                                         f=f[normal])
        else:
            g = alpha * np.abs(G[normal])
            E = np.frexp(aw[normal])[1] - 1.0  # 2^E <= |w̃| < 2^(E+1)
            v = ctx.theorem(ADAM).evaluate(alpha=np.full(g.shape, alpha),
                                           u=np.full(g.shape, F.unit_roundoff), E=E, g=g,
                                           eps=np.full(g.shape, eps))
        toward_zero = np.sign(D[normal]) == np.sign(Ws[normal])  # the step is −lr·D
        e = int(math.frexp(1.0)[1])  # any binade: the ratio of the two radii is exponent-free
        half = (evaluate_derived(ctx, ABSORB, "radius_below_power_of_two", p=F.precision, e=e)
                / evaluate_derived(ctx, ABSORB, "radius", p=F.precision, e=e))
        # at the smallest normal N the gap below is the subnormal spacing S = ulp(N): no halving
        power = (f[normal] == 1.0) & (aw[normal] > F.smallest_normal)
        v = np.where(toward_zero & power, half * v, v)
        out.append((v, np.abs(D[normal])))
    if sub.any():
        radius = ctx.proven(ABSORB, p=F.precision, e=F.min_exponent)
        out.append((radius / np.abs(D[sub]), np.abs(D[sub])))
    if not out:
        return math.inf, math.inf
    v = np.concatenate([o[0] for o in out])
    d = np.concatenate([o[1] for o in out])
    best = float(np.min(v))
    return best * scale, float(np.min((v * d)[v <= 2 * best]))


def _run(ctx: Context, cid: str, theorem: str, rule_name: str) -> list:
    from specdef import numerics as nx

    W, X, Y = stall_layer(ctx)
    m = W.shape[0]
    alphas = _alphas(ctx)
    eps = 1e-8
    layers = {a: tuple(host(z) for z in defend(ctx, W, a, m, dtype="float64")) for a in alphas}
    models = MODELS if rule_name == "gd" else ("mixed",)
    out: list = []
    notes: dict[str, str] = {}  # a model without a verdict, reported on the next record
    for fmt in FORMATS:
        for mod in models:
            a = nx.arithmetic(fmt, mod)
            rule = nx.gd_rule() if rule_name == "gd" else nx.adamw_rule(eps=eps)
            tol = stall_rtol(a)
            pts, measured, predicted, overflow, outside, frozen = [], [], [], [], [], []
            for alpha in alphas:
                Wt, C = layers[alpha]
                Ws = a.store(Wt)
                if not np.all(np.isfinite(Ws)):
                    overflow.append(alpha)
                    measured.append(None)
                    predicted.append(None)
                    continue
                G, _ = nx.specdef_gradient(Wt, C, X, Y, a)
                if not np.all(np.isfinite(G)):  # the forward pass or the gradient overflowed
                    overflow.append(alpha)
                    measured.append(None)
                    predicted.append(None)
                    continue
                D, _ = rule.direction(a.fl(G), Ws, rule.init(Ws), a)
                emp = nx.stall_threshold(Wt, G, rule, a, rtol=1e-9)
                prv, delta = _predicted(ctx, theorem, a.format, alpha, Ws, D, a.fl(G), eps)
                if not math.isfinite(prv):  # no entry moves: C = I/α underflowed to 0 in F
                    frozen.append(alpha)
                    measured.append(emp)
                    predicted.append(None)
                    continue
                measured.append(emp)
                predicted.append(prv)
                # pure model: the update fl(fl(η)·D) is itself a value of F; the theorem needs it
                # normal (else its rounding error exceeds u) and η representable (<= max)
                inside = a.compute != a.format or (delta >= a.format.smallest_normal
                                                   and prv <= a.format.max)
                if not inside:
                    outside.append(alpha)
                pts.append(dict(emp=emp, prv=prv, rtol=tol, resolved=inside,
                                params=dict(alpha=alpha, format=fmt, model=mod, rule=rule_name),
                                label=f"α={fmt_alpha(alpha)}: η*={emp:.6g} vs {prv:.6g}"))
            ok = [(al, e) for al, e, pr in zip(alphas, measured, predicted) if e and pr]
            slope = loglog_slope([x for x, _ in ok], [e for _, e in ok]) if len(ok) > 1 else None
            data = dict(alpha=alphas, measured=measured, predicted=predicted, format=fmt,
                        arithmetic=mod, rule=rule_name, overflow=overflow,
                        outside_hypothesis=outside, frozen=frozen, loglog_slope=slope,
                        slope_theory=2.0 if rule_name == "gd" else 1.0, shape=list(W.shape),
                        eps=eps if rule_name == "adamw" else None)
            if rule_name == "adamw":
                data["pure_model"] = _pure_adam_note(fmt)
            if not any(p["resolved"] for p in pts):  # nothing inside the hypothesis: no verdict
                notes[fmt] = (f"{mod}: every α point outside the theorem's hypothesis "
                              f"(subnormal updates, overflow, or C underflowed); measured "
                              f"{[None if e is None else float(e) for e in measured]}")
                continue
            if fmt in notes:
                data["other_model"] = notes.pop(fmt)
            rec = points_record(ctx, cid, theorem, pts, "exact", what="α points", data=data,
                                extra_params=dict(format=fmt, model=mod))
            rec.declare("simulation: numerics.stall_threshold (bisection on the rounded "
                        "update_step of the stored W̃)",
                        f"closed form: {theorem} per entry of the stored W̃ and direction")
            head = f"{SHORT[fmt]} {mod}: slope {slope:.3g}" if slope is not None else \
                f"{SHORT[fmt]} {mod}"
            rec.detail = head + "; " + rec.detail.replace(
                f"unresolved in {ctx.dtype} left out", "outside the hypothesis left out")
            out.append(rec)
    return out


def _pure_adam_note(fmt: str) -> str:
    from specdef import numerics as nx

    F = nx.number_format(fmt)
    if F.name in ("float32", "float64"):
        return "pure = mixed"
    return (f"not run: in pure {fmt} eps = 1e-8 rounds to "
            f"{float(nx.round_to_format(np.array([1e-8]), F)[0]):g} and g² underflows "
            f"below {F.smallest_subnormal:g}, so the first AdamW step is ±inf/NaN")


@check(GD, GD, "smallest GD learning rate that changes SpecDef's stored W̃ (k = m), measured "
       "by bisection per format and arithmetic model, vs u·α²·|w|/|g|/f per entry",
       claim="C1")
def check_stall_gd(ctx: Context) -> list:
    """GD stall threshold against the theorem, per format and model (slope 2 in α)."""
    return _run(ctx, GD, GD, "gd")


@check("precision.stall_threshold.adamw", ADAM, "smallest AdamW (no decay, first step) learning "
       "rate that changes SpecDef's stored W̃, mixed model, vs u·2^E(1+εα/|g|) per entry",
       claim="C1")
def check_stall_adamw(ctx: Context) -> list:
    """AdamW stall threshold against the theorem, per format, mixed model (slope 1 in α)."""
    return _run(ctx, "precision.stall_threshold.adamw", ADAM, "adamw")
