"""Learning-rate windows of GD on a SpecDef layer in bfloat16, float16, float8 and float32: the
rates that are both stable and effective, against α, closing at α*, with the paper's 10⁶ marked.

Reads checks ``precision.gd_window`` (the closing records: ``data = {"format", "alpha",
"eta_stable", "eta_stall", "eta_stable_theory", "eta_stall_theory", "alpha_star", "N", "S",
"alpha_paper"}``) and ``precision.paper_claim`` (one record per format, its ``status``).
"""

from __future__ import annotations

import math
import sys

from ._registry import main_for
from ._results import field, num, optional, records
from ._style import DOUBLE, PALETTE, empirical_kw, new_figure, proven_kw, styled

CAPTION = """Learning-rate windows of gradient descent on a SpecDef layer stored in a low-precision
format (weights in the format, compute in float32; C and W̃ trained jointly). For each format and
inflation factor α: blue, the largest stable learning rate 2/λ_max of the joint Hessian (markers
measured, dashed 2/(α²s)); vermillion, the smallest learning rate
whose first step changes any stored entry of W̃ (markers measured by bisection on the actual
rounded step, dashed u·α²·r, u the format's unit round-off, r = min |W/G| the weight-to-gradient
ratio of the undefended layer, s = σ₁(WΣₓWᵀ)). Learning rates between the two (green band) are both stable and effective;
the band closes at α* (green vertical line, measured), predicted where 2/(α²s) = u·α²·r, i.e.
α* = (2/(u r s))^¼, up to the factor 2^¼ of the binade position of the limiting weight. Dotted
horizontal lines: the format's smallest normal number N and half its smallest subnormal S/2; a
stable rate below S/2 rounds to 0. Dashed grey vertical: the paper's α = 10⁶. Panel titles give
the verdict of the check on the paper's claim that α ≥ 10⁶ pushes the feasible rate below the
smallest effective one, in the subnormal region. Conclusion: in every format the window closes by
absorption at α* of order 3 to 10² — long before 10⁶ — so the first half of the claim holds with a
wide margin; the subnormal part holds only for float16 and the float8 formats (where the stable
rate is even flushed to 0 well before 10⁶) and fails for bfloat16 and float32, whose exponent range
keeps 2/(α²s) ≈ 10⁻¹² a normal number at α = 10⁶."""

NAME = "precision"
CHECKS = ("precision.gd_window", "precision.paper_claim")
SIZE = (DOUBLE, 4.6)
ORDER = ("bfloat16", "float16", "float8_e4m3fn", "float8_e5m2", "float32")
TITLES = {"bfloat16": "bfloat16", "float16": "float16", "float8_e4m3fn": "float8 e4m3",
          "float8_e5m2": "float8 e5m2", "float32": "float32"}
YLIM = (1e-17, 1e9)
XLIM = (1.0, 1e8)


def _pos(values: list) -> list[float]:
    out = []
    for v in values:
        x = num(v)
        out.append(x if math.isfinite(x) and x > 0 else math.nan)
    return out


def _tex(v: float) -> str:
    """``v`` in mathtext: ``1.2\\cdot10^{-38}`` (plain for 0.01 ≤ v < 10⁴)."""
    if not math.isfinite(v) or v == 0 or 1e-2 <= abs(v) < 1e4:
        return f"{v:.3g}"
    e = math.floor(math.log10(abs(v)))
    m = v / 10.0**e
    return (rf"10^{{{e}}}" if abs(m - 1) < 5e-3 else rf"{m:.2g}\cdot10^{{{e}}}")


def _windows(results: dict) -> dict[str, dict]:
    recs = [r for r in records(results, CHECKS[0], NAME) if "alpha" in (r.get("data") or {})]
    if not recs:  # every record lacks the curves: name the first missing field
        field(records(results, CHECKS[0], NAME)[0], "alpha", NAME)
    out = {}
    for r in recs:
        fmt = str(field(r, "format", NAME))
        out[fmt] = {k: field(r, k, NAME) for k in (
            "alpha", "eta_stable", "eta_stall", "eta_stable_theory", "eta_stall_theory",
            "alpha_star", "N", "S", "alpha_paper")}
    verdicts = {}
    for r in records(results, CHECKS[1], NAME):
        verdicts[str(optional(r, "format", ""))] = (str(r.get("status", "")), r.get("passed"))
    for fmt, w in out.items():
        w["verdict"] = verdicts.get(fmt)
    return out


def _panel(ax, fmt: str, w: dict) -> None:
    a = [num(x) for x in w["alpha"]]
    stable, stall = _pos(w["eta_stable"]), _pos(w["eta_stall"])
    ax.plot(a, _pos(w["eta_stable_theory"]), **proven_kw(PALETTE["blue"]))
    ax.plot(a, _pos(w["eta_stall_theory"]), **proven_kw(PALETTE["vermillion"]))
    ax.plot(a, stable, **empirical_kw(PALETTE["blue"], "o", markersize=2.5))
    ax.plot(a, stall, **empirical_kw(PALETTE["vermillion"], "s", markersize=2.5))
    lo = [s if math.isfinite(s) else YLIM[1] for s in stall]
    ax.fill_between(a, lo, stable, where=[x < y for x, y in zip(lo, stable)],
                    color=PALETTE["green"], alpha=0.25, linewidth=0, interpolate=True)
    star, paper = num(w["alpha_star"]), num(w["alpha_paper"])
    ax.axvline(star, color=PALETTE["green"], linewidth=1.0)
    ax.axvline(paper, color=PALETTE["grey"], linestyle=(0, (3, 2)), linewidth=0.9)
    for level, col in ((num(w["N"]), PALETTE["orange"]), (num(w["S"]) / 2, PALETTE["purple"])):
        if YLIM[0] < level < YLIM[1]:
            ax.axhline(level, color=col, linestyle=":", linewidth=1.0)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(*XLIM)
    ax.set_ylim(*YLIM)
    ax.set_xticks([1, 1e2, 1e4, 1e6, 1e8])
    ax.set_yticks([1e-15, 1e-10, 1e-5, 1, 1e5])
    ax.text(star * 1.3, 10 ** -14.8, rf"$\alpha^*={_tex(star)}$", fontsize=6.5,
            color=PALETTE["green"], ha="left", va="bottom")
    off = [name for name, lv in (("N", num(w["N"])), ("S/2", num(w["S"]) / 2))
           if not YLIM[0] < lv < YLIM[1]]
    if off:  # in the empty right-middle of the panel (the rates cross far to the left)
        ax.text(0.97, 0.5, "\n".join(
            rf"${n}={_tex(num(w['N']) if n == 'N' else num(w['S']) / 2)}$" for n in off)
            + "\n(off scale)", transform=ax.transAxes, fontsize=5.5, color=PALETTE["grey"],
            ha="right", va="center", bbox=dict(facecolor="white", edgecolor="none", pad=1.0))
    verdict = w.get("verdict")
    tail = ""
    if verdict:
        tail = {"REFUTED": ": claim refuted", "HOLDS": ": claim holds"}.get(verdict[0], "")
    ax.set_title(TITLES.get(fmt, fmt) + tail, loc="left", fontsize=7.5)


@styled
def make(results: dict):
    """One log-log panel per format: stable and effective learning rates against α.

    Parameters
    ----------
    results : dict
        A loaded results file.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    GD is stable below ``2/λ_max`` with ``λ_max ≈ α² s`` and effective (changes a stored
    weight) above ``u α² r``; the band between them closes at ``α* = (2/(u r s))^(1/4)``.  The
    sixth panel holds the legend, so no legend covers data.
    """
    wins = _windows(results)
    fig, axes = new_figure(*SIZE, nrows=2, ncols=3)
    flat = list(axes.flat)
    fmts = [f for f in ORDER if f in wins] + [f for f in wins if f not in ORDER]
    for ax, fmt in zip(flat, fmts[:5]):
        _panel(ax, fmt, wins[fmt])
    for ax in flat[len(fmts[:5]):]:
        ax.axis("off")
    for ax in flat[:len(fmts[:5])]:
        if ax in (flat[0], flat[3]):
            ax.set_ylabel(r"learning rate $\eta$")
        if ax in flat[3:] or ax is flat[2]:
            ax.set_xlabel(r"inflation factor $\alpha$")
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [
        Line2D([], [], **empirical_kw(PALETTE["blue"], "o", markersize=3),
               label=r"stable: $2/\lambda_{\max}$ (measured)"),
        Line2D([], [], **proven_kw(PALETTE["blue"]), label=r"$2/(\alpha^2 s)$"),
        Line2D([], [], **empirical_kw(PALETTE["vermillion"], "s", markersize=3),
               label="effective: smallest rate that\nchanges a stored weight (measured)"),
        Line2D([], [], **proven_kw(PALETTE["vermillion"]), label=r"$u\,\alpha^2 r$"),
        Patch(color=PALETTE["green"], alpha=0.25, label="stable and effective"),
        Line2D([], [], color=PALETTE["green"], linewidth=1.0,
               label=r"$\alpha^*$: the window closes (measured)"),
        Line2D([], [], color=PALETTE["grey"], linestyle=(0, (3, 2)), linewidth=0.9,
               label=r"paper: $\alpha=10^6$"),
        Line2D([], [], color=PALETTE["orange"], linestyle=":", label=r"smallest normal $N$"),
        Line2D([], [], color=PALETTE["purple"], linestyle=":",
               label=r"$S/2$: rates below round to 0"),
    ]
    host = flat[5] if len(fmts) <= 5 else None
    if host is not None:
        host.legend(handles=handles, loc="center", frameon=False, fontsize=6.5)
    return fig


def main(argv: list[str] | None = None) -> int:
    """``python -m figures.fig8_precision [--results PATH] [--out DIR]``."""
    return main_for(NAME, argv)


if __name__ == "__main__":
    sys.exit(main())
