"""Worst-case GD loss after n steps over quadratics with spectrum in [μ, L]: this toolkit's
exact value up to n = 10⁶, its numerical search, and PEPit's semidefinite values where PEPit
runs.

Reads check ``gd.worst_case_value``, one record per problem class ``(mu, L, step)`` (in
``data`` or ``params``): ``data = {"n": [...], "value": [...], "n_search": [...],
"search": [...]}`` (the closed form ``max_λ (λ/2)(1 − ηλ)^{2n}`` and a numerical maximisation
at a few n; ``theorem_search``, the closed form at ``n_search``, when present), and, when
present, check ``gd.worst_case_value.pepit``: ``data = {"n": [...], "pepit": [...],
"exact": [...]}``, drawn in the colour of the class with the same ``(mu, L, step)``.
"""

from __future__ import annotations

import math
import sys

from ._registry import main_for
from ._results import num, optional, records, series
from ._style import COLORS, PALETTE, SINGLE, empirical_kw, new_figure, proven_kw, sci, styled

CAPTION = """Worst-case loss of gradient descent after n steps, over all quadratics f whose Hessian
has its spectrum in [μ, L], started at distance ‖x_0 − x*‖ = 1 with step η; one colour per problem
class (μ, L, η). Dashed: this toolkit's exact value, the closed-form maximum over λ ∈ [μ, L] of
(λ/2)(1 − ηλ)^{2n}, cheap at any n (each curve stops where the value underflows or at n = 10⁶);
hollow circles: an independent numerical maximisation over spectra at a few n; filled squares:
PEPit's semidefinite-programming values, drawn only when the results hold them (PEPit comes with
the crosscheck extra). Bottom: relative difference of each numerical value to the exact one;
differences below 10⁻¹⁷ are drawn at that floor. Conclusion: the closed form agrees with the
search to rounding and with PEPit to the solver's accuracy, at a tiny fraction of PEPit's cost and
at step counts PEPit cannot reach."""

NAME = "worst_case_value"
CHECKS = ("gd.worst_case_value",)
OPTIONAL = ("gd.worst_case_value.pepit",)
SIZE = (SINGLE, 4.0)
#: Relative differences below this are drawn at this floor of the log axis.
FLOOR = 1e-17
#: The value axis spans at most this factor below the largest value (strongly convex classes
#: decay geometrically down to underflow; the curves continue below the axis).
DEPTH = 1e-18


def _reldiff(values: list[float], exact: list[float]) -> list[float]:
    out = []
    for v, e in zip(values, exact):
        d = abs(v - e) / abs(e) if math.isfinite(v) and math.isfinite(e) and e != 0 else math.nan
        out.append(max(d, FLOOR) if math.isfinite(d) else math.nan)
    return out


def _interp_loglog(n: float, ns: list[float], vs: list[float]) -> float:
    """The exact value at ``n``: the saved point, or log-log interpolation between points."""
    pts = [(a, b) for a, b in zip(ns, vs) if a > 0 and b > 0]
    for a, b in pts:
        if abs(a - n) <= 1e-9 * max(1.0, n):
            return b
    for (a0, b0), (a1, b1) in zip(pts, pts[1:]):
        if a0 < n < a1:
            w = (math.log(n) - math.log(a0)) / (math.log(a1) - math.log(a0))
            return math.exp((1 - w) * math.log(b0) + w * math.log(b1))
    return math.nan


def _config(rec: dict) -> tuple[float, float, float]:
    """``(mu, L, step)`` of a record, from ``data`` or else ``params`` (NaN when absent)."""
    src = {**(rec.get("params") or {}), **(rec.get("data") or {})}
    return tuple(num(src.get(k)) for k in ("mu", "L", "step"))  # type: ignore[return-value]


def _config_label(cfg: tuple[float, float, float]) -> str:
    mu, L, step = cfg
    bits = [rf"$\mu = {sci(mu)}$" if math.isfinite(mu) else "",
            rf"$L = {sci(L)}$" if math.isfinite(L) else "",
            rf"$\eta = {sci(step)}$" if math.isfinite(step) else ""]
    return ", ".join(b for b in bits if b) or "exact value"


def _same(a: tuple, b: tuple) -> bool:
    return all(math.isclose(x, y, rel_tol=1e-9) or (math.isnan(x) and math.isnan(y))
               for x, y in zip(a, b))


@styled
def make(results: dict):
    """Top: worst-case loss against n (log-log); bottom: relative difference to the exact value.

    Parameters
    ----------
    results : dict
        A loaded results file.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    One colour per problem class ``(μ, L, η)`` (one record each).  The exact value is a
    one-dimensional maximisation with a closed form (interior stationary point
    ``λ = 1/(η(2n+1))`` clipped to ``[μ, L]``), so it is cheap at any n (the saved curve stops
    where the value underflows); PEPit solves a semidefinite program per n, slowly and to
    solver accuracy.  The search markers check the closed form; differences below ``1e-17``
    are drawn at that floor.  The value axis stops :data:`DEPTH` below the largest value.
    """
    recs = records(results, CHECKS[0], NAME)
    pep_recs = records(results, OPTIONAL[0], NAME, required=False)
    fig, (ax, bx) = new_figure(*SIZE, nrows=2, ncols=1, sharex=True, height_ratios=[2.2, 1.0])
    floor_used = False
    configs = []
    for r in recs:
        cfg = _config(r)
        if any(_same(cfg, c) for c, _ in configs):
            continue  # the same class repeated on another record
        col = COLORS[len(configs) % len(COLORS)]
        configs.append((cfg, col))
        ex = series([r], ["n", "value"], NAME)
        se = series([r], ["n_search", "search"], NAME)
        th = optional(r, "theorem_search")
        se_exact = ([num(v) for v in th] if isinstance(th, list) and len(th) == len(se["search"])
                    else [_interp_loglog(n, ex["n"], ex["value"]) for n in se["n_search"]])
        ax.plot(ex["n"], ex["value"], **proven_kw(col, label=_config_label(cfg)))
        ax.plot(se["n_search"], se["search"], **empirical_kw(col, "o", filled=False))
        rd = _reldiff(se["search"], se_exact)
        floor_used |= FLOOR in rd
        bx.plot(se["n_search"], rd, **empirical_kw(col, "o", filled=False))
    for r in pep_recs:
        pep = series([r], ["n", "pepit", "exact"], NAME)
        col = next((c for cfg, c in configs if _same(cfg, _config(r))), PALETTE["black"])
        ax.plot(pep["n"], pep["pepit"], **empirical_kw(col, "s", markersize=5))
        rd = _reldiff(pep["pepit"], pep["exact"])
        floor_used |= FLOOR in rd
        bx.plot(pep["n"], rd, **empirical_kw(col, "s", markersize=5))
    from matplotlib.lines import Line2D

    handles, _ = ax.get_legend_handles_labels()
    handles = [Line2D([], [], **proven_kw("0.3"), label="exact value (closed form)")] + handles
    handles.append(Line2D([], [], **empirical_kw("0.3", "o", filled=False),
                          label="numerical search over spectra"))
    if pep_recs:  # absent PEPit is said once, in the caption, not as a legend entry
        handles.append(Line2D([], [], **empirical_kw("0.3", "s", markersize=5),
                              label="PEPit (SDP)"))
    if floor_used:
        bx.text(0.98, 0.06, f"equal values drawn at ${sci(FLOOR)}$", transform=bx.transAxes,
                ha="right", va="bottom", fontsize=6, color=PALETTE["grey"])
    for a in (ax, bx):
        a.set_xscale("log")
        a.set_yscale("log")
    top = max((v for line in ax.lines for v in line.get_ydata() if math.isfinite(v) and v > 0),
              default=1.0)
    low = min((v for line in ax.lines for v in line.get_ydata() if math.isfinite(v) and v > 0),
              default=top * 1e-3)
    ax.set_ylim(max(low / 3, top * DEPTH), top * 3)
    ax.set_ylabel(r"worst-case $f(x_n) - f^\star$")
    fig.legend(handles=handles, loc="outside upper center", ncol=2, fontsize=6,
               title=r"GD, worst case over quadratics with $\|x_0 - x^\star\| = 1$")
    bx.set_xlabel("number of GD steps $n$")
    bx.set_ylabel("relative difference\nto exact value")
    return fig


def main(argv: list[str] | None = None) -> int:
    """``python -m specdef.figures.fig7_worst_case_value [--results PATH] [--out DIR]``."""
    return main_for(NAME, argv)


if __name__ == "__main__":
    sys.exit(main())
