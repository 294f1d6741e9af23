"""The check ``precision.stall_scaling``: every optimiser of the practical suite, in every format.

The family, its instances and its tolerances are described in
:mod:`specdef.validation.checks.precision`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...engine.registry import Context, check
from ..common import defend, fmt_alpha, host, points_record
from .instances import FORMATS, MODELS, SHORT, stall_layer

__all__ = ["check_stall_scaling", "OPTIMISERS"]

CID = "precision.stall_scaling"
#: label -> (method of numerics.train_in_format, its options, theorem family).  ε = 1e-30 is
#: absorbed (below half an ulp of every |g̃| and |h̃| here), the theorem's hypothesis; the
#: default ε = 1e-8 of AdamW is the subject of ``precision.stall_threshold.adamw``.
OPTIMISERS = {
    "gd": ("gradient_descent", {}, "gd"),
    "sgd_nesterov": ("sgd_momentum", {"momentum": 0.9, "nesterov": True}, "sgd_momentum"),
    "adam": ("adam", {"eps": 1e-30}, "adam"),
    "muon": ("muon", {"eps": 1e-30}, "muon"),
    "sophia": ("sophia", {}, "sophia"),
    "sophia_newton": ("sophia", {"gamma": 1e8}, "sophia_unclipped"),
    "adahessian": ("adahessian", {"eps": 1e-30}, "adahessian"),
}
#: A gradient or Hessian entry this many times above the square root of the compute format's
#: smallest normal keeps its square and every product with the rules' constants (β's, γ,
#: 1/n ≥ 2⁻¹⁶) normal: the hypothesis "nothing underflows" of the scaling theorem, per point.
MARGIN = 2.0**16


def _alphas(ctx: Context) -> list[float]:
    return ctx.pick(small=[1.0, 2.0**4, 2.0**8], paper=[1.0, 2.0**4, 2.0**8, 2.0**12, 2.0**16])


def _formats(ctx: Context) -> tuple[str, ...]:
    return ctx.pick(small=("bfloat16", "float16", "float8_e4m3fn", "float32"), paper=FORMATS)


def _model(ctx: Context, W: np.ndarray, X: np.ndarray, Y: np.ndarray, alpha: float) -> Any:
    from specdef import numerics as nx

    Wt, C = (host(z) for z in defend(ctx, W, alpha, W.shape[0], dtype="float64"))
    return nx.SpecDefLayer(Wt, C, X, Y)


def _inside(nx: Any, model: Any, a: Any, fam: str, opts: dict) -> str | None:
    """Why the point is outside the theorem's hypothesis, or None (see :data:`MARGIN`)."""
    theta = a.store(model.theta0)
    if not np.all(np.isfinite(theta)):
        return "stored W̃ overflows"
    nW = model.block_shapes[0][0] * model.block_shapes[0][1]
    w = np.abs(theta[:nW])
    F, Cf = a.format, a.compute
    if np.min(w[w > 0]) < F.smallest_normal:
        return "a stored entry is subnormal (its spacing does not scale with it)"
    if a.compute == F and np.min(w[w > 0]) < F.smallest_normal * 2.0**F.precision:
        return "an update of half an ulp of a stored entry is subnormal in the format"
    arrays = [model.grad(nx.in_format(theta, a))[:nW]]
    if fam in ("sophia", "sophia_unclipped", "adahessian"):
        z = np.zeros_like(theta)
        z[:nW] = 1.0
        arrays.append(model.hvp(nx.in_format(theta, a), nx.in_format(z, a))[:nW])
    floor = MARGIN * math.sqrt(Cf.smallest_normal)  # squares (g², D², ‖M‖²) stay normal too
    for arr in arrays:
        v = np.abs(np.asarray(arr.view(np.ndarray)))
        if not np.all(np.isfinite(v)):
            return "the gradient or Hessian product overflows"
        if np.any((v > 0) & (v < floor)):
            return "a gradient or Hessian entry is within 2^16 of underflow (or its square)"
    eps = float(opts.get("eps", 0.0)) if fam in ("adam", "muon", "adahessian") else 0.0
    scale = min(float(np.min(np.abs(x.view(np.ndarray))[np.abs(x.view(np.ndarray)) > 0]))
                for x in arrays)
    if eps > Cf.unit_roundoff * scale / 2:
        return "ε is not absorbed (ε > u·min|g|/2)"
    return None


def _measure(nx: Any, model: Any, a: Any, method: str, opts: dict, fam: str
             ) -> tuple[float, str | None]:
    """``(η*, why)``: the first-step threshold and why the point is outside the hypothesis."""
    why = _inside(nx, model, a, fam, opts)
    if why == "stored W̃ overflows":
        return math.nan, why
    eta = nx.first_step_threshold(model, model.theta0, method, a.format, arithmetic=a.model,
                                  train=("W",), rng=0, rtol=1e-9, **opts)
    if math.isnan(eta):
        return eta, "the first step is not finite at any learning rate"
    if eta == math.inf:
        return eta, "no learning rate moves W̃"
    if eta == 0.0:
        return eta, "the smallest learning rate moves W̃"
    if why is None and not (a.compute.smallest_normal <= eta <= a.compute.max):
        why = "the threshold is not a normal number of the compute format"
    return eta, why


def _in_regime(nx: Any, model: Any, opts: dict, fam: str) -> bool:
    """Sophia's regime in float64 with the same probes: every ratio clipped (``sophia``) or none
    (``sophia_unclipped``); the other families have a single regime."""
    if fam not in ("sophia", "sophia_unclipped"):
        return True
    res = nx.sophia(model, model.theta0, 1.0, max_steps=1, train=("W",), rng=0, tol=1e-300,
                    divergence_factor=1e300, **opts)
    nW = model.block_shapes[0][0] * model.block_shapes[0][1]
    D = np.abs(model.theta0 - res.theta)[:nW]
    clipped = np.abs(D - 1.0) <= 1e-12
    return bool(np.all(clipped)) if fam == "sophia" else bool(not np.any(clipped))


@check(CID, "precision.stall_scaling.gd", "first-step stall threshold of gd, sgd (Nesterov), "
       "adam, muon, sophia (clipped and Newton-like) and adahessian on SpecDef's stored W̃ (C "
       "frozen), per format and arithmetic model, α = 2^j: η*(α) vs α^(1+d)·η*(1)", claim="C1")
def check_stall_scaling(ctx: Context) -> list:
    """One record per optimiser and arithmetic model; points over formats and α = 2^j > 1.

    ``empirical``: :func:`numerics.first_step_threshold` at α (bisection, relative width
    ``1e-9``, on one update of :func:`numerics.train_in_format`: the optimiser's own code on
    rounded operands); ``proven``: ``precision.stall_scaling.<family>`` at ``α/α₀`` and the
    measured ``η*(α₀)``, α₀ per format the smallest α of the run inside the hypothesis (1 in
    most cases; 16 for float8-e4m3, whose smallest normal 2⁻⁶ makes some entries of W
    subnormal, and for clipped Sophia, whose ratios ``m/(γh) ∝ α`` are all clipped only from
    α = 16 on this layer).  ``data["alpha0"]`` maps each format to its α₀.  Tolerance ``4·10⁻⁹``: both thresholds are bisection brackets of relative width
    ``10⁻⁹`` around values whose ratio the theorem gives exactly.  Points outside the theorem's
    hypothesis (overflow, a value within 2¹⁶ of underflow, a subnormal update, Sophia out of its
    regime, a first step that is not finite) are kept in ``data`` without a verdict.
    """
    from specdef import numerics as nx

    W, X, Y = stall_layer(ctx)
    alphas = _alphas(ctx)
    models = {al: _model(ctx, W, X, Y, al) for al in alphas}
    out = []
    for label, (method, opts, fam) in OPTIMISERS.items():
        tid = f"precision.stall_scaling.{fam}"
        regime = {al: _in_regime(nx, models[al], opts, fam) for al in alphas}
        for mod in MODELS:
            pts, curves, outside, bases = [], {}, {}, {}
            for fmt in _formats(ctx):
                a = nx.arithmetic(fmt, mod)
                curve, base = [], None  # α₀: the first α inside the hypothesis, the law's anchor
                for al in alphas:
                    eta, why = _measure(nx, models[al], a, method, opts, fam)
                    if why is None and not regime[al]:
                        why = "Sophia's ratios are not all in the theorem's regime"
                    curve.append(None if not math.isfinite(eta) else eta)
                    if why is not None:
                        outside.setdefault(SHORT[fmt], []).append(f"α={fmt_alpha(al)}: {why}")
                    if base is None:
                        if why is None:
                            base, eta0 = al, eta
                        continue
                    if not math.isfinite(eta):
                        continue
                    prv = ctx.proven(tid, alpha=al / base, eta1=eta0)
                    pts.append(dict(emp=eta, prv=prv, rtol=4e-9, resolved=why is None,
                                    params=dict(alpha=al / base, eta1=eta0, format=fmt,
                                                model=mod, optimiser=label, alpha0=base),
                                    label=f"{SHORT[fmt]} α={fmt_alpha(al)}: η*={eta:.9g} vs "
                                          f"(α/α₀)^{1 + _degree(ctx, tid)}·η*(α₀="
                                          f"{fmt_alpha(base)})={prv:.9g}"))
                curves[SHORT[fmt]] = curve
                bases[SHORT[fmt]] = base
            data = dict(alpha=alphas, thresholds=curves, outside_hypothesis=outside,
                        optimiser=label, method=method, options=opts, arithmetic=mod,
                        exponent=1 + _degree(ctx, tid), alpha0=bases, shape=list(W.shape))
            if not any(p["resolved"] for p in pts):
                rec = ctx.result(CID, tid, dict(optimiser=label, model=mod), None, None,
                                 data=data, detail=f"{label} {mod}")
                rec.as_data("no (format, α) point inside the theorem's hypothesis")
                out.append(rec)
                continue
            rec = points_record(ctx, CID, tid, pts, "exact", what="(format, α) points",
                                data=data, extra_params=dict(optimiser=label, model=mod))
            rec.declare("simulation: numerics.first_step_threshold (bisection on one rounded "
                        "update of numerics.train_in_format, the optimiser's own code)",
                        f"closed form: {tid} (exact power-of-two scaling) at the measured η*(1)")
            rec.detail = (f"{label} {mod}: η* ∝ α^{1 + _degree(ctx, tid)}; "
                          + rec.detail.replace(f"unresolved in {ctx.dtype} left out",
                                               "outside the hypothesis left out"))
            out.append(rec)
    return out


def _degree(ctx: Context, tid: str) -> int:
    return int(ctx.theorem(tid).derived["degree"])
