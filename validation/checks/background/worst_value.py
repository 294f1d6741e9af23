"""The ``gd.worst_case_value`` check: direct search of GD's worst-case value on quadratics.

The family and its configurations are described in :mod:`specdef.validation.checks.background`; this
module holds the grid-and-zoom search, the random-spectrum search and the check itself.
"""

from __future__ import annotations

import math

import numpy as np

from ...engine.registry import Context, check
from ...engine.tolerance import rtol as dtype_rtol
from ..common import host as _host, rows_record

__all__ = ["check_worst_case_value", "WORST"]

WORST = "gd.quadratic.worst_case_value"


# --------------------------------------------------------------------------- worst-case value
def _search_max(ctx: Context, mu: float, L: float, eta: float, n: int, zooms: int) -> float:
    """``max_λ (λ/2)(1 − ηλ)^{2n}`` by a log grid over [mu, L] refined ``zooms`` times."""
    from specdef.numerics import gd_closed_form

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
    from specdef.numerics import gd_closed_form

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
                               data=data).declare(
            "search: grid, zooms and random spectra over numerics.gd_closed_form",
            f"closed form: {WORST} (maximiser in closed form)"))
    return out

