"""Gradient descent on quadratics (THEORY.md §2, B1): contraction, step counts, worst-case value.

Every instance is ``L(w) = ½ (w − w*)ᵀ H (w − w*)`` with ``H = Q diag(λ) Qᵀ`` built by
:class:`numerics.Quadratic` (Haar ``Q`` drawn on the host), spectrum in ``[mu, L]`` with ``L = 1``
and ``mu = 1/κ``.  Fixing ``L`` lets one batched run (:func:`numerics.batched_gradient_descent`)
cover every κ and every step size at once: the steps ``1/L``, ``1.5/L`` and ``2/(mu_j + L)`` for
every κ_j are all stable (``< 2/L``) on every instance, so every (instance, step) pair is a valid
comparison with the theorem evaluated at that instance's ``(mu, L, step)``.

Checks
------
``gd.contraction.worst_case``  (``gd.quadratic.contraction``, tight)
    Starts on the extreme eigenvectors (:meth:`Quadratic.worst_case_start`, ``"min"`` and
    ``"max"``); the empirical contraction ``(‖e_T‖/‖e_0‖)^{1/T}`` of the worse start must equal
    ``ρ = max(|1 − η mu|, |1 − η L|)``.  ``T`` is the horizon cut where ``‖e_t‖²/‖e_0‖²`` falls
    below ``sqrt(tiny)`` of the dtype (no underflow).  ``data["curves"]`` holds, for each κ and its
    three canonical steps, the simulated loss gap and the proven envelope ``gap_0 · ρ^{2t}``
    (down to ``CURVE_DEPTH · gap_0``, at most 151 log-spaced t)
    (each eigen-component of ``e_t`` shrinks by at most ``ρ`` per step, so the gap by ``ρ²``;
    equality on the binding eigenvector, which is the start plotted).
``gd.contraction.random``  (same theorem, compared as ``upper``)
    Random spectra in ``[mu, L]`` containing both endpoints, Haar ``Q``, Gaussian starts.
``gd.steps_to_tolerance``  (``gd.quadratic.steps_to_tolerance``, exact)
    First ``t`` with ``‖e_t‖ ≤ eps‖e_0‖`` counted on the simulated history
    (:func:`numerics.batched_steps_to_tolerance`), worse of the two extreme starts.
``gd.worst_case_value``  (``gd.quadratic.worst_case_value``, tight)
    Direct search of ``max f(x_n) − f*`` over spectra in ``[mu, L]`` and ``‖x_0 − x*‖ = 1``: a
    log grid of one-eigenvalue quadratics refined by zooming around the best point, plus random
    diagonal spectra with random unit starts, evaluated with :func:`numerics.gd_closed_form`.
``gd.worst_case_value.pepit``  (same theorem; registered only when PEPit is importable)
    PEPit's semidefinite worst case at n = 1..5, to the solver accuracy ``PEPIT_RTOL``.

Tolerances.  A contraction measured from ``T`` steps carries the error of ``H`` itself
(``fl(Q Λ Qᵀ)`` moves an eigenvalue by about ``d·u·L``, the contraction by ``η d u L``):
``max(rtol(dtype), accumulated_rtol(dtype, d, 1/ρ))``.  A step count ``x = ln eps/ln ρ`` moves
by at most ``accumulated_rtol(dtype, d, 1/(1−ρ))·x`` steps (:func:`_unambiguous_eps`): far
below one step in float64, so counts must match exactly (an ``eps`` whose count sits within
round-off of flipping is moved by ``ρ^{1/2}``); in float32 at κ ≥ 100 several steps are allowed
(the record's detail says how many).

Configurations of ``gd.worst_case_value``: ``(mu, L, step) = (1e-7, 1, 1)`` (interior maximiser
``1/(step(2n+1))`` for every n ≤ 10⁶: the ``O(1/n)`` curve of Figure 7), ``(0.1, 1, 1)`` (the
maximiser clips to mu from n = 5) and ``(0.05, 1, 1.5)`` (the endpoint L wins at small n).
"""

from __future__ import annotations

import importlib.util
import math
from typing import Any

import numpy as np

from .._records import Status, compare
from .._registry import Context, check
from .._tolerance import accumulated_rtol, rtol as dtype_rtol

__all__ = ["rows_record", "log_subsample", "PEPIT_RTOL"]

CONTRACTION = "gd.quadratic.contraction"
STEPS = "gd.quadratic.steps_to_tolerance"
WORST = "gd.quadratic.worst_case_value"
#: PEPit's SDP accuracy: the relative precision its own test-suite allows for every example
#: (``tests/test_examples.py``: ``relative_precision = 10 ** -3``).  Not a dtype tolerance.
PEPIT_RTOL = 1e-3
L_SMOOTH = 1.0
#: Figure-1 curves stop where the loss gap has fallen by this factor (the contraction itself is
#: measured down to the dtype's underflow guard).
CURVE_DEPTH = 1e-30


# ------------------------------------------------------------------------------------ helpers
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


def _host(x: Any) -> np.ndarray:
    from numerics import to_host

    return np.asarray(to_host(x), dtype=np.float64)


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
    from numerics import Quadratic, batched_gradient_descent

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
                        data=dict(curves=curves))]


@check("gd.contraction.random", CONTRACTION,
       "GD contraction on random quadratics and random starts stays below max(|1-ηmu|, |1-ηL|)")
def check_contraction_random(ctx: Context) -> list:
    """Upper: random spectra in [mu, L] (endpoints included), Haar Q, Gaussian starts."""
    from numerics import Quadratic, batched_gradient_descent

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
                               f"{len(steps)} steps")]


# ------------------------------------------------------------------------------- step counts
@check("gd.steps_to_tolerance", STEPS,
       "simulated GD steps to ‖e_t‖ <= eps‖e_0‖ on worst-case starts equal ceil(ln eps/ln ρ)")
def check_steps_to_tolerance(ctx: Context) -> list:
    """Exact: counted on the simulated distance history, worse of the two extreme starts."""
    from numerics import batched_steps_to_tolerance

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
                        data=dict(max_slack_steps=slack))]


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


# --------------------------------------------------------------------------- worst-case value
def _search_max(ctx: Context, mu: float, L: float, eta: float, n: int, zooms: int) -> float:
    """``max_λ (λ/2)(1 − ηλ)^{2n}`` by a log grid over [mu, L] refined ``zooms`` times."""
    from numerics import gd_closed_form

    lo, hi = mu, L
    grid = np.geomspace(lo, hi, 2001)
    best = -math.inf
    for _ in range(zooms + 1):
        ones = ctx.asarray(np.ones((grid.size, 1)))
        vals = _host(gd_closed_form(ctx.asarray(grid[:, None]), ones, eta, n))
        i = int(np.argmax(vals))
        best = max(best, float(vals[i]))
        lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
        grid = np.linspace(lo, hi, 201)
    return best


def _random_max(ctx: Context, rng: np.random.Generator, mu: float, L: float, eta: float,
                ns: list[int], count: int, d: int) -> np.ndarray:
    """Best loss after each n over random diagonal spectra (endpoints included), unit starts."""
    from numerics import gd_closed_form

    lam = np.exp(rng.uniform(math.log(mu), math.log(L), (count, d)))
    lam[:, 0], lam[:, 1] = mu, L
    c = rng.standard_normal((count, d))
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    vals = _host(gd_closed_form(ctx.asarray(lam), ctx.asarray(c), eta, np.asarray(ns)))
    return vals.max(axis=1)


@check("gd.worst_case_value", WORST,
       "direct search of max f(x_n)-f* over quadratics with spectrum in [mu, L], ‖x0-x*‖=1")
def check_worst_case_value(ctx: Context) -> list:
    """Tight: the searched maximum equals the theorem's value, one record per (mu, L, step)."""
    configs = [dict(mu=1e-7, L=1.0, step=1.0), dict(mu=0.1, L=1.0, step=1.0),
               dict(mu=0.05, L=1.0, step=1.5)]
    ns = ctx.pick(small=[1, 2, 3, 5, 10, 20, 50, 100],
                  paper=[1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000],
                  large=[1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000, 10000])
    zooms = ctx.pick(small=3, paper=4, large=5)
    n_rand, d_rand = ctx.pick(small=(200, 16), paper=(2000, 32), large=(20000, 64))
    n_fig = np.unique(np.round(np.logspace(0, 6, 61)).astype(np.int64))
    rng = ctx.rng("gd.worst_case_value")
    out = []
    for cfg in configs:
        mu, L, eta = cfg["mu"], cfg["L"], cfg["step"]
        rand = _random_max(ctx, rng, mu, L, eta, ns, n_rand, d_rand)
        search, rows = [], []
        for j, n in enumerate(ns):
            emp = max(_search_max(ctx, mu, L, eta, n, zooms), float(rand[j]))
            prv = ctx.proven(WORST, mu=mu, L=L, step=eta, n=n)
            search.append(emp)
            rows.append(dict(emp=emp, prv=prv, tol=dtype_rtol(ctx.dtype), params=dict(n=n)))
        value = [ctx.proven(WORST, mu=mu, L=L, step=eta, n=int(n)) for n in n_fig]
        keep = [i for i, v in enumerate(value) if v > 0.0]  # cut where it underflows
        data = dict(mu=mu, L=L, step=eta, n=[int(n_fig[i]) for i in keep],
                    value=[value[i] for i in keep], n_search=list(ns), search=search,
                    theorem_search=[r["prv"] for r in rows], random_search=rand.tolist())
        out.append(rows_record(ctx, "gd.worst_case_value", WORST, rows, kind="tight",
                               params=dict(cfg, zooms=zooms, n_random=n_rand, d_random=d_rand),
                               detail=f"searched max over λ∈[{mu:g},{L:g}] (grid + {zooms} zooms) "
                                      f"and {n_rand} random spectra, step {eta:g}, "
                                      f"{len(ns)} values of n",
                               data=data))
    return out


# ------------------------------------------------------------------------------------ PEPit
def pepit_worst_case(mu: float, L: float, step: float, n: int) -> float:
    """PEPit's worst ``f(x_n) − f*`` of GD on ``mu``-strongly convex ``L``-smooth quadratics.

    The PEP of ``PEPit.examples.unconstrained_convex_minimization.
    wc_gradient_descent_quadratics``, built with PEPit's documented API.
    """
    from PEPit import PEP
    from PEPit.functions import SmoothStronglyConvexQuadraticFunction

    problem = PEP()
    func = problem.declare_function(SmoothStronglyConvexQuadraticFunction, mu=mu, L=L)
    xs = func.stationary_point()
    fs = func(xs)
    x0 = problem.set_initial_point()
    problem.set_initial_condition((x0 - xs) ** 2 <= 1)
    x = x0
    for _ in range(n):
        x = x - step * func.gradient(x)
    problem.set_performance_metric(func(x) - fs)
    return float(problem.solve(verbose=0))


if importlib.util.find_spec("PEPit") is not None:
    @check("gd.worst_case_value.pepit", WORST,
           "PEPit's SDP worst case of GD on quadratics vs the closed form", claim="crosscheck")
    def check_worst_case_value_pepit(ctx: Context) -> list:
        """Tight to PEPit's solver accuracy (``PEPIT_RTOL``), float64 on the host."""
        mu, L, eta = 0.1, 1.0, 1.0
        ns = ctx.pick(small=[1, 2, 3], paper=[1, 2, 3, 4, 5], large=[1, 2, 3, 4, 5])
        rows, pep, exact = [], [], []
        for n in ns:
            v = pepit_worst_case(mu, L, eta, n)
            prv = ctx.proven(WORST, mu=mu, L=L, step=eta, n=n)
            pep.append(v)
            exact.append(prv)
            rows.append(dict(emp=v, prv=prv, tol=PEPIT_RTOL, params=dict(n=n)))
        return [rows_record(ctx, "gd.worst_case_value.pepit", WORST, rows, kind="tight",
                            params=dict(mu=mu, L=L, step=eta),
                            detail=f"PEPit SDP worst case at n={ns} vs closed form "
                                   f"(solver rtol {PEPIT_RTOL:g})",
                            data=dict(n=list(ns), pepit=pep, exact=exact))]
