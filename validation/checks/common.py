"""Helpers shared by several check families (never borrowed from a sibling family).

Host transfer and the defence: :func:`host` (the one host hop), :func:`defend` (``ctx.defence``
on the run's backend and dtype).

Records: :func:`points_record` reduces many comparison points to one record at the worst
resolved point (:func:`pick_worst`, :func:`resolution_limit`) — families ``specdef`` and ``c1``;
:func:`rows_record` does the same for rows of ``(emp, prv, tol)`` and :func:`log_subsample`
picks the curve points — families ``background``, ``c2`` and ``scale``.

Numbers of theorems and solvers: :func:`loglog_slope`, :func:`hvp_operator` and
:func:`evaluate_derived` (fitted exponents, eigensolvers, derived theorem values) — families
``specdef`` and ``c1``.

Fine-tuning (claims C2 and C3): :data:`FINETUNE_EPS`, :func:`data_matrix`, the closed form
:func:`kron_modes`, and the formatting helpers :func:`fmt_alpha` and :func:`finite_or_none`.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from ..engine.records import Status, compare
from ..engine.registry import Context
from ..engine.tolerance import rtol as dtype_rtol

__all__ = ["host", "defend", "resolution_limit", "pick_worst", "loglog_slope", "hvp_operator",
           "evaluate_derived", "points_record", "rows_record", "log_subsample", "FINETUNE_EPS",
           "fmt_alpha", "finite_or_none", "data_matrix", "kron_modes"]



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


# ------------------------------------------------------------ rows records and curves
def rows_record(ctx: Context, check_id: str, theorem: str, rows: list[dict], *, kind: str,
                params: dict, detail: str, data: dict | None = None, side: str = "upper"):
    """One record for many comparisons ``rows = [{emp, prv, tol, params}]``.

    The reported row is the one that decides the status: the farthest outside its tolerance,
    else the closest to its edge (``upper``: largest ``(emp − prv)/(tol·|prv|)``; ``lower``: the
    smallest; ``exact``: largest ``|·|``; ``tight``: a violating row first, else largest ``|·|``).
    ``data`` gains ``n_rows``, the count of each row status and the range of ``emp/prv``.
    """
    def score(r: dict) -> float:
        return (r["emp"] - r["prv"]) / (r["tol"] * (abs(r["prv"]) if r["prv"] != 0 else 1.0))

    key = {"upper": lambda s: s, "lower": lambda s: -s, "exact": abs,
           "tight": (lambda s: (s > 1, abs(s))) if side == "upper" else
           (lambda s: (s < -1, abs(s)))}[kind]
    worst = max(rows, key=lambda r: key(score(r)))
    counts: dict[str, int] = {}
    for r in rows:
        st = compare(kind, r["emp"], r["prv"], r["tol"], side=side)
        counts[st] = counts.get(st, 0) + 1
    ratios = [r["emp"] / r["prv"] for r in rows if r["prv"] != 0]
    out = dict(data or {})
    out.update(n_rows=len(rows), row_status=counts,
               ratio_range=[min(ratios), max(ratios)] if ratios else None)
    nbad = counts.get(Status.VIOLATED, 0) + counts.get(Status.LOOSE, 0)
    return ctx.result(check_id, theorem, {**params, **worst["params"]}, worst["emp"],
                      worst["prv"], rtol=worst["tol"], kind=kind, side=side,
                      detail=f"{detail}; {nbad} of {len(rows)} outside tolerance", data=out)


def log_subsample(T: int, n: int = 150) -> np.ndarray:
    """``0`` and about ``n`` log-spaced integers in ``[1, T]`` (always ``T``)."""
    if T <= 0:
        return np.zeros(1, dtype=np.int64)
    pts = np.unique(np.round(np.geomspace(1, T, n)).astype(np.int64))
    return np.concatenate([[0], pts])


# ------------------------------------------------------------------- fine-tuning (C2, C3)
#: Relative loss-gap target ε of the fine-tuning runs of claims C2 and C3, per dtype (well above
#: the loss floor).
FINETUNE_EPS = {"float64": 1e-8, "float32": 1e-4}


def fmt_alpha(a: float) -> str:
    """``1e4`` style for powers of ten, ``%g`` otherwise."""
    e = math.log10(a) if a > 0 else 0.0
    return f"1e{int(round(e))}" if a >= 100 and abs(e - round(e)) < 1e-9 else f"{a:g}"


def finite_or_none(x: Any) -> Any:
    """A float for JSON, ``None`` when not finite."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def data_matrix(rng: np.random.Generator, d: int, n: int, kappa_x: float) -> np.ndarray:
    """``X`` (d×n, host float64) with ``Σ_x = XXᵀ/n`` exactly of spectrum geomspace(1, κ_x)."""
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    Z = np.linalg.qr(rng.standard_normal((n, d)))[0].T * math.sqrt(n)  # Z Zᵀ = n I
    return Q @ (np.sqrt(np.geomspace(1.0, kappa_x, d))[:, None] * Z)


def kron_modes(A: np.ndarray, B: np.ndarray, E: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues and error coordinates of the quadratic with Hessian ``(AAᵀ) ⊗ (BᵀB)``.

    ``vec(E)`` (column-major, ``E`` of shape ``(cols(B), rows(A))``) has coordinate
    ``v_jᵀ E u_i`` on the eigenvector ``u_i ⊗ v_j`` with eigenvalue ``σ_i(A)² σ_j(B)²`` (``u_i``
    left singular vectors of A, ``v_j`` right singular vectors of B).  Taken from SVDs of the
    factors, never from ``AAᵀ`` or ``BᵀB`` (which would lose eigenvalues below ``u·λ_max``, e.g.
    ``1/α²`` of SpecDef's ``CᵀC``).  Host float64: a closed form.
    """
    Ua, sa, _ = np.linalg.svd(A, full_matrices=True)
    _, sb, Vbt = np.linalg.svd(B, full_matrices=True)
    sa = np.concatenate([sa, np.zeros(A.shape[0] - sa.size)])
    sb = np.concatenate([sb, np.zeros(B.shape[1] - sb.size)])
    coeffs = Vbt @ E @ Ua
    h = (sb ** 2)[:, None] * (sa ** 2)[None, :]
    return h.ravel(), coeffs.ravel()
