"""The records of claim C3 (:mod:`specdef.validation.checks.c3`): classification and results.

The recovery classification (:func:`classify`), the simulation-vs-closed-form agreement test,
count formatting, the Figure-4 data of every record, a theorem's derived quantity, the record of
the injection and fusion recovery, and the ERROR record when no α is usable.
"""

from __future__ import annotations

import math
from typing import Any

from ...engine.records import Status
from ...engine.registry import Context
from ...engine.tolerance import rtol as dtype_rtol, rtol_exact
from .runs import _Setup
from ..common import finite_or_none, fmt_alpha


def classify(steps_attack: list, exact: list, tol: float) -> str:
    """``exact`` / ``alpha-independent`` / ``absent`` (attacks docstring)."""
    if exact and all(exact):
        return "exact"
    fin = [v for v in steps_attack if v is not None and math.isfinite(v)]
    if len(fin) == len(steps_attack) and fin and max(fin) - min(fin) <= 1 + tol * max(fin):
        return "alpha-independent"
    return "absent"


def _disagreement(before: dict, rows: list) -> str | None:
    """Simulated counts must equal the closed form (one step of slack for a rounding-level
    crossing); returns what disagrees, or None."""
    pairs = [("before", before["steps"], before["closed_form"])] + [
        (f"α={fmt_alpha(r['alpha'])}", r["out"]["steps"], r["out"]["closed_form"]) for r in rows]
    bad = [f"{w}: simulated {a:g} vs closed form {b:g}" for w, a, b in pairs
           if not (math.isfinite(a) and abs(a - b) <= 1)]
    return "; ".join(bad) or None


def _fmt_counts(vals: list) -> str:
    return ", ".join(">2^53" if v is None else (f"{v:.4g}" if math.isfinite(v) else "inf")
                     for v in vals)


def _figure(alphas: list, before: dict, defended: list, attack: list, overhead: float,
            name: str, recovery: str) -> dict:
    return dict(alpha=list(alphas), steps_before=[before["steps"]] * len(alphas),
                steps_defended=defended, steps_attack=[finite_or_none(v) for v in attack],
                overhead=float(overhead), attack=name, recovery=recovery)


def _derived(ctx: Context, theorem: str, key: str, **params: Any) -> float:
    """A derived quantity of a theorem (e.g. its step ratio 1), with any planted perturbation."""
    import sympy as sp

    th = ctx.theorem(theorem)
    expr = sp.sympify(th.derived[key])
    val = float(expr.subs({th.symbols[k]: v for k, v in params.items() if k in th.symbols}))
    return val * float(ctx.perturb.get(theorem, 1.0))


def _recovery_record(ctx: Context, cid: str, theorem: str, name: str, s: _Setup, before: dict,
                     rows: list, dropped: list, overhead: float, extra_ok: bool = True,
                     extra_note: str = ""):
    alphas = [r["alpha"] for r in rows]
    steps = [r["out"]["steps"] for r in rows]
    recovery = classify(steps, [r["cmp"]["exact"] for r in rows], dtype_rtol(ctx.dtype))
    data = _figure(alphas, before, [r["defended"] for r in rows], steps, overhead, name,
                   recovery)
    data.update(step_before=before["step"], steps_attack_closed_form=[
        finite_or_none(r["out"]["closed_form"]) for r in rows],
        loss_difference=[r["cmp"]["dloss"] for r in rows],
        weight_difference=[r["cmp"]["dW"] for r in rows], tolerance=[r["cmp"]["tau"] for r in rows],
        loss_tolerance=[r["cmp"]["tau_loss"] for r in rows],
        loss_before=before["res"].loss[:200].tolist(), eps=s.eps)
    ratios = [v / before["steps"] for v in steps]
    i = max(range(len(rows)), key=lambda j: abs(ratios[j] - 1.0))
    proven = _derived(ctx, theorem, "steps_ratio")
    params = dict(alphas=alphas, eps=s.eps, m=s.m, d=s.d, k=s.k, kappa_x=s.kappa_x)
    bad = _disagreement(before, rows)
    if bad:
        return ctx.result(cid, theorem, params, ratios[i], proven, status=Status.ERROR,
                          data=data, detail=f"{name}: GD simulation disagrees with the closed "
                                            f"form ({bad})")
    # a count one off at a rounding-level crossing (attacks docstring) widens the comparison
    slack = max((abs(r["out"]["steps"] - before["steps"]) / before["steps"] for r in rows
                 if r["cmp"]["same_steps"]), default=0.0)
    tol = rtol_exact(ctx.dtype) + slack
    ok = recovery == "exact" and extra_ok and abs(ratios[i] - proven) <= tol * abs(proven)
    worst = max(rows, key=lambda r: r["cmp"]["dW"] / r["cmp"]["tau"])
    drop = f"; α={','.join(fmt_alpha(a) for a in dropped)} dropped (α·u too large)" if dropped \
        else ""
    detail = (f"{name}: recovery {recovery} at α={','.join(fmt_alpha(a) for a in alphas)} — "
              f"steps {before['steps']:g} before, {', '.join(f'{v:g}' for v in steps)} after "
              f"attack (defended, C frozen: {_fmt_counts([r['defended'] for r in rows])}); "
              f"max |ΔW|/‖W‖ {worst['cmp']['dW']:.2g} (τ_W {worst['cmp']['tau']:.2g}) at "
              f"α={fmt_alpha(worst['alpha'])}{extra_note}{drop}")
    return ctx.result(cid, theorem, params, ratios[i], proven,
                      status=Status.TIGHT if ok else Status.VIOLATED,
                      rtol=tol, detail=detail, data=data)


def _no_alpha(ctx: Context, cid: str, theorem: str, dropped: list):
    return [ctx.result(cid, theorem, {}, None, None, status=Status.ERROR,
                       detail=f"premise failed numerically: α·u·(m+d) > √ε for every α "
                              f"({','.join(fmt_alpha(a) for a in dropped)}) in {ctx.dtype}")]
