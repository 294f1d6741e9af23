"""The ``gd.contraction.*`` and ``gd.steps_to_tolerance`` checks: batched GD on quadratics.

The family and its tolerances are described in :mod:`specdef.validation.checks.background`;
this module holds these three checks and the batched extreme-start runs and contraction
measurement they use.
"""

from __future__ import annotations

import math

import numpy as np

from ...engine.registry import Context, check
from ...engine.tolerance import accumulated_rtol, rtol as dtype_rtol
from ..common import host as _host, log_subsample, rows_record

__all__ = ["check_contraction_worst_case", "check_contraction_random", "check_steps_to_tolerance",
           "CONTRACTION", "STEPS", "L_SMOOTH", "CURVE_DEPTH"]

CONTRACTION = "gd.quadratic.contraction"
STEPS = "gd.quadratic.steps_to_tolerance"
L_SMOOTH = 1.0
#: Figure-1 curves stop where the loss gap has fallen by this factor (the contraction itself is
#: measured down to the dtype's underflow guard).
CURVE_DEPTH = 1e-30


# ------------------------------------------------------------------------------------ helpers
def _kappas(ctx: Context) -> list[float]:
    return ctx.pick(small=[10.0, 100.0, 1000.0], paper=[10.0, 100.0, 1000.0, 1e4],
                    large=[10.0, 100.0, 1000.0, 1e4, 1e5])


def _steps(kappas: list[float]) -> tuple[list[float], list[str]]:
    """``1/L``, ``1.5/L`` and ``2/(mu_j + L)`` for every κ_j (all ``< 2/L``)."""
    steps = [1.0 / L_SMOOTH, 1.5 / L_SMOOTH] + [2.0 / (L_SMOOTH / k + L_SMOOTH) for k in kappas]
    names = ["1/L", "1.5/L"] + [f"2/(mu+L) at kappa={k:g}" for k in kappas]
    return steps, names


def _extreme_start_run(ctx: Context, salt: str, kappas: list[float], d: int, n_steps: int,
                       record: tuple, record_every: int = 1):
    """Batched GD from the ``min`` and ``max`` eigenvector starts of one quadratic per κ.

    Problem ``2i`` / ``2i+1`` is κ_i from the λ_min / λ_max eigenvector; ``‖e_0‖ = 1``.
    """
    from specdef.numerics import Quadratic, batched_gradient_descent

    xp, rng = ctx.xp, ctx.rng(salt)
    H, E0 = [], []
    for k in kappas:
        lam = np.geomspace(L_SMOOTH / k, L_SMOOTH, d)
        q = Quadratic.from_spectrum(lam, rng=rng, backend=ctx.backend, dtype=ctx.dtype)
        for which in ("min", "max"):
            H.append(q.H)
            E0.append(q.worst_case_start(which) - q.theta_star)
    steps, names = _steps(kappas)
    res = batched_gradient_descent(xp.stack(H), xp.stack(E0), ctx.asarray(steps), n_steps,
                                   record=record, record_every=record_every)
    return res, steps, names


def _contraction(dist: np.ndarray, rec: np.ndarray, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-step contraction ``(‖e_T‖²/‖e_0‖²)^{1/2T}`` and its horizon ``T`` for each run.

    ``T`` is the last recorded step with ``‖e_t‖²/‖e_0‖² ≥ sqrt(tiny)`` (at least the first).
    """
    floor = math.sqrt(float(np.finfo(np.float32 if dtype == "float32" else np.float64).tiny))
    ratio = dist / dist[0]
    idx = np.clip(np.sum(ratio >= floor, axis=0) - 1, 1, len(rec) - 1)
    T = rec[idx]
    r_T = np.take_along_axis(ratio, idx[None], axis=0)[0]
    with np.errstate(divide="ignore"):
        return np.maximum(r_T, 0.0) ** (0.5 / T), T


def _contraction_tol(dtype: str, d: int, rho: float) -> float:
    return max(dtype_rtol(dtype), accumulated_rtol(dtype, d, 1.0 / max(rho, 1e-300)))


# ------------------------------------------------------------------------------- contraction
@check("gd.contraction.worst_case", CONTRACTION,
       "GD contraction on extreme-eigenvector starts equals max(|1-ηmu|, |1-ηL|)")
def check_contraction_worst_case(ctx: Context) -> list:
    """Tight: the worse of the two extreme starts attains ρ for every (κ, step)."""
    kappas = _kappas(ctx)
    d = ctx.pick(small=8, paper=32, large=512)
    n_steps = ctx.pick(small=3000, paper=20000, large=100000)
    every = ctx.pick(small=1, paper=1, large=10)
    res, steps, names = _extreme_start_run(ctx, "gd.contraction.worst_case", kappas, d, n_steps,
                                           ("loss", "distance"), every)
    dist, loss, rec = _host(res.distance), _host(res.loss), res.record_steps
    emp, T = _contraction(dist, rec, ctx.dtype)
    rows, curves = [], []
    for i, k in enumerate(kappas):
        mu = L_SMOOTH / k
        for s, (eta, name) in enumerate(zip(steps, names)):
            rho = ctx.proven(CONTRACTION, mu=mu, L=L_SMOOTH, step=eta)
            b = 2 * i + int(emp[2 * i + 1, s] > emp[2 * i, s])  # the worse start
            rows.append(dict(emp=float(emp[b, s]), prv=rho, tol=_contraction_tol(ctx.dtype, d, rho),
                             params=dict(kappa=k, step=eta, step_name=name,
                                         start="max" if b % 2 else "min", horizon=int(T[b, s]))))
            if s in (0, 1, 2 + i):  # the canonical steps of this κ: the figure's curves
                t_end = int(np.sum(loss[:, b, s] >= CURVE_DEPTH * loss[0, b, s])) - 1
                t_idx = np.searchsorted(rec, log_subsample(int(rec[max(t_end, 1)]), 150))
                t = rec[np.unique(t_idx)]
                curves.append(dict(kappa=k, step=eta, step_name=name.split(" at")[0],
                                   start=rows[-1]["params"]["start"], t=t.tolist(),
                                   loss=loss[np.unique(t_idx), b, s].tolist(),
                                   bound=(loss[0, b, s] * rho ** (2.0 * t)).tolist()))
    return [rows_record(ctx, "gd.contraction.worst_case", CONTRACTION, rows, kind="tight",
                        params=dict(kappas=kappas, d=d, n_steps=n_steps, L=L_SMOOTH),
                        detail=f"max over min/max eigenvector starts of (‖e_T‖/‖e_0‖)^(1/T), "
                               f"{len(kappas)} κ × {len(steps)} steps",
                        data=dict(curves=curves)).declare(
        "simulation: numerics.batched_gradient_descent", f"closed form: {CONTRACTION}")]


@check("gd.contraction.random", CONTRACTION,
       "GD contraction on random quadratics and random starts stays below max(|1-ηmu|, |1-ηL|)")
def check_contraction_random(ctx: Context) -> list:
    """Upper: random spectra in [mu, L] (endpoints included), Haar Q, Gaussian starts."""
    from specdef.numerics import Quadratic, batched_gradient_descent

    kappas = _kappas(ctx)
    d = ctx.pick(small=12, paper=32, large=512)
    per_kappa = ctx.pick(small=4, paper=8, large=200)
    n_steps = ctx.pick(small=2000, paper=10000, large=50000)
    rng = ctx.rng("gd.contraction.random")
    H, E0, mus = [], [], []
    for k in kappas:
        for _ in range(per_kappa):
            lam = np.concatenate([[L_SMOOTH / k, L_SMOOTH],
                                  np.exp(rng.uniform(math.log(L_SMOOTH / k), 0.0, d - 2))])
            q = Quadratic.from_spectrum(lam, rng=rng, backend=ctx.backend, dtype=ctx.dtype)
            H.append(q.H)
            E0.append(ctx.asarray(rng.standard_normal(d)))
            mus.append(L_SMOOTH / k)
    steps, names = _steps(kappas)
    every = ctx.pick(small=1, paper=1, large=10)
    res = batched_gradient_descent(ctx.xp.stack(H), ctx.xp.stack(E0), ctx.asarray(steps),
                                   n_steps, record=("distance",), record_every=every)
    emp, T = _contraction(_host(res.distance), res.record_steps, ctx.dtype)
    rows = []
    for b, mu in enumerate(mus):
        for s, (eta, name) in enumerate(zip(steps, names)):
            rho = ctx.proven(CONTRACTION, mu=mu, L=L_SMOOTH, step=eta)
            rows.append(dict(emp=float(emp[b, s]), prv=rho, tol=_contraction_tol(ctx.dtype, d, rho),
                             params=dict(kappa=L_SMOOTH / mu, step=eta, step_name=name,
                                         problem=b, horizon=int(T[b, s]))))
    return [rows_record(ctx, "gd.contraction.random", CONTRACTION, rows, kind="upper",
                        params=dict(kappas=kappas, d=d, per_kappa=per_kappa, n_steps=n_steps),
                        detail=f"max (‖e_T‖/‖e_0‖)^(1/T) over {len(mus)} random quadratics × "
                               f"{len(steps)} steps").declare(
        "simulation: numerics.batched_gradient_descent", f"closed form: {CONTRACTION}")]


# ------------------------------------------------------------------------------- step counts
@check("gd.steps_to_tolerance", STEPS,
       "simulated GD steps to ‖e_t‖ <= eps‖e_0‖ on worst-case starts equal ceil(ln eps/ln ρ)")
def check_steps_to_tolerance(ctx: Context) -> list:
    """Exact: counted on the simulated distance history, worse of the two extreme starts."""
    from specdef.numerics import batched_steps_to_tolerance

    kappas = _kappas(ctx)[:ctx.pick(small=3, paper=3, large=4)]
    d = ctx.pick(small=8, paper=32, large=256)
    epss = ctx.pick(small=[1e-2, 1e-4, 1e-6], paper=[1e-2, 1e-4, 1e-8, 1e-12],
                    large=[1e-2, 1e-4, 1e-8, 1e-12])
    if ctx.dtype == "float32":  # ‖e_t‖ below ~sqrt(eps32)·‖e_0‖ is rounding, not GD
        epss = [e for e in epss if e >= 1e-6]
    # horizon: every step used has ρ <= 1 - 1/κ_max, so κ_max ln(1/eps) steps suffice
    n_steps = int(math.ceil(max(kappas) * math.log(1.0 / min(epss)))) + 2
    res, steps, names = _extreme_start_run(ctx, "gd.steps_to_tolerance", kappas, d, n_steps,
                                           ("distance",))
    counts: dict[float, np.ndarray] = {}
    rows = []
    for e_nominal in epss:
        for i, k in enumerate(kappas):
            for s, (eta, name) in enumerate(zip(steps, names)):
                rho = ctx.theorem(CONTRACTION).evaluate(mu=L_SMOOTH / k, L=L_SMOOTH, step=eta)
                e, slack, exact = _unambiguous_eps(ctx.dtype, e_nominal, rho, d)
                if e not in counts:
                    counts[e] = batched_steps_to_tolerance(res, tol=e, quantity="distance")
                n_sim = float(max(counts[e][2 * i, s], counts[e][2 * i + 1, s]))
                n_th = ctx.proven(STEPS, mu=L_SMOOTH / k, L=L_SMOOTH, step=eta, eps=e)
                rows.append(dict(emp=n_sim, prv=n_th, tol=slack / max(n_th, 1.0),
                                 params=dict(kappa=k, step=eta, step_name=name, eps=e,
                                             eps_nominal=e_nominal, exact=exact)))
    slack = max(r["tol"] * max(r["prv"], 1.0) for r in rows)
    return [rows_record(ctx, "gd.steps_to_tolerance", STEPS, rows, kind="exact",
                        params=dict(kappas=kappas, epss=epss, d=d, n_steps=n_steps),
                        detail=f"simulated first t with ‖e_t‖<=eps‖e_0‖ vs ceil(ln eps/ln ρ), "
                               f"{len(rows)} (κ, step, eps); round-off allows ±{slack:.3g} steps",
                        data=dict(max_slack_steps=slack)).declare(
        "simulation: numerics.batched_steps_to_tolerance on GD histories",
        f"closed form: {STEPS}")]


def _unambiguous_eps(dtype: str, eps: float, rho: float, d: int) -> tuple[float, float, bool]:
    """``(eps', slack, exact)``: a tolerance whose step count round-off cannot flip.

    The continuous count ``x = ln eps/ln ρ`` moves by a relative ``≈ (2d + 1)·u·cond``
    (``cond = 1/(1 − ρ)``: ``fl(H)`` shifts ρ by ``≲ d·u·ηL``, the T roundings shift
    ``ln‖e_T‖`` by ``≲ T·u``), at most ``slack = accumulated_rtol(dtype, d, cond)·x`` steps.
    If ``ceil(x)`` is within ``slack`` of flipping, ``eps`` is moved to ``ρ^{⌊x⌋+1/2}`` (same
    count, margin ½).  When even ½ is inside the slack (float32, large cond) the integer count is
    only determined to ``±⌈slack⌉`` and that is the tolerance (``exact`` is then False).
    """
    x = math.log(eps) / math.log(rho) if 0 < rho < 1 else 1.0
    slack = accumulated_rtol(dtype, d, 1.0 / (1.0 - rho)) * x
    margin = min(x - math.floor(x), math.ceil(x) - x)
    if margin > slack:
        return eps, slack, True
    if slack < 0.5:
        return float(rho ** (math.floor(x) + 0.5)), slack, True
    return eps, float(math.ceil(slack)), False

