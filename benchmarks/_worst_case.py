"""Benchmark 1: worst-case loss of gradient descent on quadratics (docs/theory/background.rst, B1).

``max_{λ∈[μ,L]} (λ/2)(1 − ηλ)^{2n}`` is what PEPit's ``wc_gradient_descent_quadratics`` computes
by a semidefinite program; the toolkit evaluates the proven closed form
(``theory.get("gd.quadratic.worst_case_value").evaluate``).  Baselines: PEPit when it is
installed, and always a brute-force maximisation (dense λ grid refined by golden section) in
float64.  Reference: the same brute force in mpmath at 40 digits, which shares no code with the
closed form.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

from ._harness import BenchConfig, BenchResult, compare, progress, register

__all__ = ["bench_gd_worst_case", "brute_force_worst_case", "pepit_worst_case"]

FAMILY = "gd_worst_case"
MU, L_SMOOTH, STEP = 1e-8, 1.0, 1.0  # interior maximiser 1/(η(2n+1)) inside [μ, L] for n <= 1e7
_INVPHI = (math.sqrt(5) - 1) / 2


def _golden(g: Callable[[Any], Any], a: Any, b: Any, tol: Any, one: Any,
            max_iter: int = 200) -> Any:
    """Maximise a unimodal ``g`` on ``[a, b]`` by golden-section search; return the max value."""
    r = _INVPHI * one
    c, d = b - r * (b - a), a + r * (b - a)
    gc, gd = g(c), g(d)
    for _ in range(max_iter):
        if not b - a > tol:
            break
        if gc > gd:
            b, d, gd = d, c, gc
            c = b - r * (b - a)
            gc = g(c)
        else:
            a, c, gc = c, d, gd
            d = a + r * (b - a)
            gd = g(d)
    return max(gc, gd)


def brute_force_worst_case(mu: float, L: float, step: float, n: int, *, grid: int = 4097,
                           precision: str = "float64", xp: Any = None) -> float:
    """``max_{[mu, L]} (λ/2)(1 − step·λ)^{2n}`` by a log-spaced grid, then golden section.

    The grid (on ``xp``, in log space so nothing underflows) brackets the maximiser between two
    grid points; golden section then refines it in float64 (``precision="float64"``) or in
    mpmath at 40 significant digits (``"mpmath"``).  The endpoints are always compared.
    """
    import numpy as np

    if xp is None:
        xp = np
    lam = xp.exp(xp.linspace(math.log(mu), math.log(L), grid, dtype=xp.float64))
    with np.errstate(divide="ignore"):
        lg = xp.log(lam / 2) + (2 * n) * xp.log(xp.abs(1 - step * lam))
    i = int(xp.argmax(lg))
    lo, hi = float(lam[max(i - 1, 0)]), float(lam[min(i + 1, grid - 1)])
    if precision == "mpmath":
        import mpmath

        with mpmath.workdps(40):
            s, one = mpmath.mpf(step), mpmath.mpf(1)
            g = lambda x: x / 2 * (1 - s * x) ** (2 * n)  # noqa: E731
            a, b = max(mpmath.mpf(lo), mpmath.mpf(mu)), min(mpmath.mpf(hi), mpmath.mpf(L))
            best = _golden(g, a, b, mpmath.mpf(10) ** -22 * b, one)
            return float(max(best, g(mpmath.mpf(mu)), g(mpmath.mpf(L))))
    g = lambda x: x / 2 * (1 - step * x) ** (2 * n)  # noqa: E731
    a, b = max(lo, mu), min(hi, L)
    return float(max(_golden(g, a, b, 1e-15 * b, 1.0), g(mu), g(L)))


def pepit_worst_case(mu: float, L: float, step: float, n: int) -> float:
    """PEPit's SDP value (raises ImportError when PEPit is not installed)."""
    from PEPit.examples.unconstrained_convex_minimization import wc_gradient_descent_quadratics

    try:
        tau, _ = wc_gradient_descent_quadratics(mu=mu, L=L, gamma=step, n=n, verbose=-1)
    except TypeError:  # releases without verbose=-1
        tau, _ = wc_gradient_descent_quadratics(mu=mu, L=L, gamma=step, n=n, verbose=0)
    return float(tau)


def _pepit_available() -> str | None:
    try:
        import PEPit  # noqa: F401
        from PEPit.examples.unconstrained_convex_minimization import (  # noqa: F401
            wc_gradient_descent_quadratics)
    except Exception as exc:  # ImportError, or a broken solver stack
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return None


def _rel(x: float | None, ref: float) -> float | None:
    return None if x is None else abs(x - ref) / abs(ref)


@register(FAMILY)
def bench_gd_worst_case(cfg: BenchConfig, *, ns: Sequence[int] = (5, 10, 20),
                        big_n: int = 10**6, sweep: int | None = None,
                        pepit: bool = True) -> list[BenchResult]:
    """The closed form against PEPit (if installed) and a brute force, at each ``n``.

    Targets (issue "Scale and speed"): at least 1000x faster than PEPit and exact to 1e-12 at
    n = 5, 10, 20; the toolkit alone at ``big_n`` (compared with the float64 brute force).  A
    last row evaluates ``n = 1..sweep`` in one vectorised call (default 100, or 1000 without
    ``quick``) against the brute force called once per ``n``.
    """
    from specdef import theory

    th = theory.get("gd.quadratic.worst_case_value")
    xp, reps = cfg.xp, cfg.n_repeats
    mu, L, step = MU, L_SMOOTH, STEP
    params = f"mu={mu:g}, L={L:g}, step={step:g}"
    missing = _pepit_available() if pepit else "skipped (pepit=False)"
    out: list[BenchResult] = []
    for n in progress([*ns, big_n], cfg, FAMILY):
        ref = brute_force_worst_case(mu, L, step, n, precision="mpmath")
        tk = lambda: th.evaluate(mu=mu, L=L, step=step, n=n)  # noqa: E731
        common = dict(family=FAMILY, size=f"n={n} GD steps ({params})",
                      toolkit="theory gd.quadratic.worst_case_value .evaluate (closed form)",
                      reference="brute force in mpmath, 40 digits (grid + golden section)",
                      backend=cfg.backend)
        if n in ns:
            if missing is None:
                t_tk, t_pp = compare(tk, lambda: pepit_worst_case(mu, L, step, n), repeats=reps,
                                     warmup_baseline=lambda: pepit_worst_case(mu, L, step, 1),
                                     baseline_repeats=3)
                e_tk, e_pp = _rel(t_tk.value, ref), _rel(t_pp.value, ref)
                out.append(BenchResult(case=f"n={n} vs PEPit", baseline="PEPit "
                                       "wc_gradient_descent_quadratics (SDP)",
                                       t_toolkit=t_tk.median, t_baseline=t_pp.median,
                                       err_toolkit=e_tk, err_baseline=e_pp,
                                       target=">=1000x, err<=1e-12", repeats=reps, **common))
                out[-1].met = bool(out[-1].ratio >= 1000 and e_tk <= 1e-12)
            else:
                t_tk, _ = compare(tk, None, repeats=reps)
                out.append(BenchResult(case=f"n={n} vs PEPit", baseline=None,
                                       t_toolkit=t_tk.median, t_baseline=None,
                                       err_toolkit=_rel(t_tk.value, ref), err_baseline=None,
                                       target=">=1000x, err<=1e-12", met=None, repeats=reps,
                                       note=f"PEPit not installed ({missing}); "
                                            "`pip install pepit` to run the SDP side", **common))
        bf = lambda: brute_force_worst_case(mu, L, step, n, xp=xp)  # noqa: E731
        t_tk, t_bf = compare(tk, bf, repeats=reps, xp=xp)
        e_tk, e_bf = _rel(t_tk.value, ref), _rel(t_bf.value, ref)
        big = n == big_n
        note = ""
        if big and e_tk > 1e-12:
            note = (f"n={n}: the float form exp(2n*log1p(-step*lam)) should carry |ln value|*u "
                    f"= {abs(math.log(t_tk.value)) * 2**-53:.1e}, not {e_tk:.1e}: a regression "
                    "(RESULTS.md, T1)")
        out.append(BenchResult(case=f"n={n} vs brute force", t_toolkit=t_tk.median,
                               baseline="brute force, float64 (4097-point grid + golden section)",
                               t_baseline=t_bf.median, err_toolkit=e_tk, err_baseline=e_bf,
                               target="err<=1e-12", met=bool(e_tk <= 1e-12), note=note,
                               repeats=reps, **common))
    out.append(_sweep_row(cfg, th, sweep if sweep is not None else (100 if cfg.quick else 1000)))
    return out


def _sweep_row(cfg: BenchConfig, th: Any, sweep: int) -> BenchResult:
    """One vectorised ``evaluate`` over ``n = 1..sweep`` against a brute force per ``n``."""
    import numpy as np

    mu, L, step, xp = MU, L_SMOOTH, STEP, cfg.xp
    ns = np.arange(1, sweep + 1)
    ref = np.array([brute_force_worst_case(mu, L, step, int(n), precision="mpmath")
                    for n in progress(ns, cfg, f"{FAMILY} reference")])
    tk = lambda: th.evaluate(mu=mu, L=L, step=step, n=ns)  # noqa: E731
    bf = lambda: np.array([brute_force_worst_case(mu, L, step, int(n), xp=xp)  # noqa: E731
                           for n in ns])
    t_tk, t_bf = compare(tk, bf, repeats=cfg.n_repeats, xp=xp)
    err = lambda v: float(np.max(np.abs(np.asarray(v) - ref) / ref))  # noqa: E731
    e_tk = err(t_tk.value)
    return BenchResult(family=FAMILY, case=f"sweep n=1..{sweep}",
                       size=f"{sweep} worst-case values, one call (mu={mu:g}, L={L:g}, "
                            f"step={step:g})",
                       toolkit="theory gd.quadratic.worst_case_value .evaluate (closed form)",
                       baseline="brute force, float64 (4097-point grid + golden section)",
                       t_toolkit=t_tk.median, t_baseline=t_bf.median, err_toolkit=e_tk,
                       err_baseline=err(t_bf.value),
                       reference="brute force in mpmath, 40 digits (grid + golden section)",
                       target="err<=1e-12", met=bool(e_tk <= 1e-12), backend=cfg.backend,
                       repeats=cfg.n_repeats, note="errors are the max over the sweep")
