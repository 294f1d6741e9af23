"""Shared helpers of the SpecDef and C1 checks: host transfer, the defence, worst-point records.

:func:`defend` applies ``ctx.defence`` on the run's backend and dtype; :func:`points_record`
reduces many comparison points to one record at the worst resolved point (:func:`pick_worst`,
:func:`resolution_limit`); :func:`loglog_slope`, :func:`hvp_operator` and
:func:`evaluate_derived` serve the fitted exponents, eigensolvers and derived theorem values of
:mod:`validation.checks.c1`.  Re-exported by :mod:`validation.checks.specdef`.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from .._records import Status
from .._registry import Context
from .._tolerance import rtol as dtype_rtol


def host(x: Any) -> np.ndarray:
    """A backend array as a float64 NumPy array (the one host hop)."""
    from specdef.numerics import to_host

    return np.asarray(to_host(x), dtype=np.float64)


def defend(ctx: Context, W: np.ndarray, alpha: float, k: int, dtype: str | None = None
           ) -> tuple[Any, Any]:
    """``ctx.defence`` applied to host ``W`` in ``dtype`` (default the run's): ``(W̃, C)``.

    The defence receives W on the run's backend in that dtype (what a deployed model stores) and
    its outputs are brought back onto the backend in that dtype, whatever it returned.
    """
    dt = dtype or ctx.dtype
    Wt, C = ctx.defence(ctx.asarray(W, dtype=dt), alpha, k)
    return ctx.asarray(host(Wt), dtype=dt), ctx.asarray(host(C), dtype=dt)


def resolution_limit() -> float:
    """Largest per-point tolerance still used for a verdict: ``rtol("float32")`` (1.4e-3)."""
    return dtype_rtol("float32")


def pick_worst(points: Sequence[dict], kind: str) -> dict | None:
    """The resolved point with the largest normalised deviation, or ``None`` if none resolved.

    Each point has ``emp``, ``prv``, ``rtol``.  Score ``(emp − prv)/(rtol·|prv|)`` for an
    ``upper`` bound, its negative for ``lower``, its absolute value for ``exact``/``tight``.
    """
    lim = resolution_limit()
    best, best_score = None, -math.inf
    for p in points:
        if not p.get("resolved", p["rtol"] <= lim):
            continue
        dev = (p["emp"] - p["prv"]) / (p["rtol"] * abs(p["prv"]) if p["prv"] != 0 else p["rtol"])
        score = dev if kind == "upper" else -dev if kind == "lower" else abs(dev)
        if not math.isfinite(score):
            score = math.inf
        if best is None or score > best_score:
            best, best_score = p, score
    return best


def loglog_slope(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Least-squares slope of ``log y`` against ``log x`` (None with fewer than 2 points)."""
    pts = [(math.log(a), math.log(b)) for a, b in zip(x, y)
           if a is not None and b is not None and a > 0 and b > 0 and math.isfinite(b)]
    if len(pts) < 2 or len({p[0] for p in pts}) < 2:
        return None
    return float(np.polyfit([p[0] for p in pts], [p[1] for p in pts], 1)[0])


def hvp_operator(ctx: Context, model: Any, theta: Any) -> tuple[Any, str]:
    """``(v ↦ H v, backend)`` for :func:`numerics.extreme_eigenvalues` (NumPy or CuPy arrays)."""
    if ctx.backend == "cupy":
        return (lambda v: model.hvp(theta, v)), "cupy"
    if ctx.backend == "numpy":
        return (lambda v: model.hvp(theta, ctx.xp.asarray(v, dtype=model.dtype))), "numpy"
    return (lambda v: host(model.hvp(theta, ctx.asarray(v)))), "numpy"


def evaluate_derived(ctx: Context, theorem_id: str, name: str, **params: float) -> float:
    """A theorem's ``derived[name]`` at ``params`` (SymPy substitution, unperturbed)."""
    th = ctx.theorem(theorem_id)
    expr = th.derived[name]
    subs = {th.symbols[p]: v for p, v in params.items() if p in th.symbols}
    return float(expr.subs(subs).evalf())


def points_record(ctx: Context, check_id: str, theorem: str, points: list[dict], kind: str, *,
            what: str, data: dict, extra_params: dict | None = None, **kw: Any):
    """One record for many comparison points: the worst resolved one (:func:`pick_worst`).

    Each point is ``{emp, prv, rtol, params, label}`` (``resolved`` optional, default
    ``rtol <= resolution_limit()``).  With no resolved point the record is ``ERROR`` with a
    "premise failed numerically" detail.  ``data`` gains ``n_points`` and ``n_resolved``.
    """
    n_res = sum(p.get("resolved", p["rtol"] <= resolution_limit()) for p in points)
    worst = pick_worst(points, kind)
    data = dict(data, n_points=len(points), n_resolved=int(n_res))
    if worst is None:
        return ctx.result(check_id, theorem, dict(extra_params or {}), None, None,
                          status=Status.ERROR, kind=kind, data=data,
                          detail=f"premise failed numerically: none of {len(points)} {what} is "
                                 f"resolved in {ctx.dtype} (tolerance > {resolution_limit():.2g})",
                          **kw)
    params = dict(worst["params"], **(extra_params or {}))
    rec = ctx.result(check_id, theorem, params, worst["emp"], worst["prv"], rtol=worst["rtol"],
                     kind=kind, data=data, **kw)
    unres = len(points) - n_res
    rec.detail = (f"worst of {n_res} {what}" + (f" ({unres} unresolved in {ctx.dtype} left out)"
                                                if unres else "") + f": {worst['label']}")
    return rec
