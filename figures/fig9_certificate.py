"""The certificate of a defence against the practical attacker: slowdown per recipe and learning
rate at the largest α, and each recipe's best count against α next to GD's α².

Reads the first record with a ``certificate`` in its ``data`` among the records of check
``c4.alpha_threshold`` (``specdef check c4``: the regression layer's certificate) or of
``certify`` (``specdef certify`` renders its own certificate this way).  The certificate's
``heatmap`` is ``{alpha, rows, lrs, log10_slowdown, status, best, min_slowdown}`` and its
``curves`` ``{alpha, series: [{label, mode, undefended, steps, lower_bound, defended_budget}],
gd_reference}``.
"""

from __future__ import annotations

import math
import sys

from ._registry import main_for
from ._results import num, records
from ._style import COLORS, DOUBLE, MARKERS, PALETTE, new_figure, proven_kw, styled

CAPTION = """Certificate of a defence against the practical attacker (specdef certify; in
specdef reproduce, SpecDef on the regression layer at small size, over the α of family c4). Left:
one row per recipe (optimiser, and whether the compensation C is frozen or trained), one cell per
learning rate (five decades around each optimiser's natural scale on the undefended model), at the
largest α at which some recipe breaks the defence (else the largest α of the run; the panel title
gives it). Colour: log₁₀ of the slowdown, the defended count to a relative loss gap of 10⁻² over
the same optimiser's best undefended count; the scale ends at the certificate's threshold log₁₀ 10
= 1, where a cell not recovered within its defended budget (10× the undefended best) sits as a
lower bound; hatched grey cells diverged; a white circle marks each recipe's best rate (none when
no rate recovered). Right: each recipe's best count against α (solid C frozen, dotted C trained;
open triangles: not recovered within the defended budget, a lower bound), the undefended count at
α = 1, and GD's α² growth from SGD's undefended count (dashed grey) for reference. The title says
at which α every recipe is slowed 10× and at which the defence is broken. Conclusion: on the
regression layer every recipe is slowed at least 10× from α = 10³ on, so the paper's α = 10⁴
holds there; at α = 10² Muon and Sophia with C trained still recover within 2 to 8× of undefended;
below the threshold the adaptive and curvature-aware optimisers grow far more slowly than GD's α²
(fitted exponents about 0.3 to 0.9 against SGD's 1.8), so SpecDef's margin against them is α,
not α²."""

NAME = "certificate"
CHECKS = ("c4.alpha_threshold", "certify")
SIZE = (DOUBLE, 3.6)
#: COLORS and one more (Tol's wine) so that eight optimisers get eight colours.
CYCLE = list(COLORS) + ["#882255"]


def _certificate(results: dict) -> dict:
    recs = records(results, CHECKS[0], NAME, required=False) + records(
        results, CHECKS[1], NAME, required=False)
    if not recs:
        records(results, CHECKS[0], NAME)  # raises, naming the figure and the check
    for r in recs:
        cert = (r.get("data") or {}).get("certificate")
        if isinstance(cert, dict) and "heatmap" in cert and "curves" in cert:
            return cert
    from ._results import field

    return field(recs[0], "certificate", NAME)


def _edges(xs: list[float]) -> list[float]:
    lx = [math.log10(x) for x in xs]
    if len(lx) == 1:
        return [10 ** (lx[0] - 0.25), 10 ** (lx[0] + 0.25)]
    mids = [(a + b) / 2 for a, b in zip(lx, lx[1:])]
    return [10 ** (2 * lx[0] - mids[0])] + [10 ** m for m in mids] + [10 ** (2 * lx[-1] - mids[-1])]


def _heatmap(ax, heat: dict) -> None:
    import matplotlib as mpl
    from matplotlib.patches import Rectangle

    top = math.log10(num(heat["min_slowdown"]))
    vals = [num(v) for row in heat["log10_slowdown"] for v in row if v is not None]
    lo = min([0.0] + vals)
    norm = mpl.colors.Normalize(vmin=lo, vmax=top)
    cmap = mpl.colormaps["viridis"]
    rows = heat["rows"]
    n = len(rows)
    for i, label in enumerate(rows):
        y = n - 1 - i
        edges = _edges([num(x) for x in heat["lrs"][i]])
        for j, (st, v) in enumerate(zip(heat["status"][i], heat["log10_slowdown"][i])):
            x0, x1 = edges[j], edges[j + 1]
            if st == "diverged" or v is None:
                ax.add_patch(Rectangle((x0, y - 0.5), x1 - x0, 1.0, facecolor="0.85",
                                       edgecolor="0.45", hatch="////", linewidth=0.0))
            else:
                ax.add_patch(Rectangle((x0, y - 0.5), x1 - x0, 1.0,
                                       facecolor=cmap(norm(min(num(v), top))),
                                       edgecolor="white", linewidth=0.3))
        b = heat["best"][i]
        if b is not None:
            x = num(heat["lrs"][i][b])
            ax.plot([x], [y], marker="o", markersize=3.5, markerfacecolor="white",
                    markeredgecolor="black", markeredgewidth=0.6, linestyle="none", zorder=4)
    allx = [num(x) for row in heat["lrs"] for x in row]
    ax.set_xscale("log")
    ax.set_xlim(min(allx) / 2.5, max(allx) * 2.5)
    ax.set_ylim(-0.5, n - 0.5)
    ax.set_yticks(range(n))
    ax.set_yticklabels([r.replace("momentum", "mom.") for r in reversed(rows)], fontsize=5.2)
    ax.set_xlabel(r"learning rate $\eta$")
    ax.set_title(rf"slowdown at $\alpha={_tex(num(heat['alpha']))}$", loc="left", fontsize=7.5)
    cb = ax.figure.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, fraction=0.05,
                            pad=0.02)
    cb.set_label(r"$\log_{10}$ slowdown", fontsize=6.5)
    cb.ax.tick_params(labelsize=6)


def _tex(v: float) -> str:
    if v <= 0 or not math.isfinite(v):
        return f"{v:g}"
    e = math.log10(v)
    return rf"10^{{{int(round(e))}}}" if abs(e - round(e)) < 1e-9 and v >= 100 else f"{v:g}"


def _curves(ax, curves: dict) -> list:
    from matplotlib.lines import Line2D

    alphas = [num(a) for a in curves["alpha"]]
    handles, colours = [], {}
    for s in curves["series"]:
        key = s["label"].split(", C ")[0]
        k = colours.setdefault(key, len(colours))
        col, mk = CYCLE[k % len(CYCLE)], MARKERS[k % len(MARKERS)]
        style = ":" if s.get("mode") == "trained" else "-"
        und = num((s.get("undefended") or {}).get("best_steps"))
        xs = [1.0] + alphas
        ys = [und] + [num(v) if v is not None else math.nan for v in s["steps"]]
        ax.plot(xs, ys, color=col, linestyle=style, linewidth=0.9, marker=mk, markersize=2.5)
        low = [(a, num(s["defended_budget"])) for a, lb in zip(alphas, s["lower_bound"]) if lb]
        if low:
            ax.plot([a for a, _ in low], [b for _, b in low], linestyle="none", marker="^",
                    markersize=3, markerfacecolor="white", markeredgecolor=col,
                    markeredgewidth=0.6)
        if style == "-" or key not in [h.get_label() for h in handles]:
            if key not in [h.get_label() for h in handles]:
                handles.append(Line2D([], [], color=col, marker=mk, markersize=2.5,
                                      linewidth=0.9, label=key))
    ref = curves.get("gd_reference")
    if ref:
        ax.plot(alphas, [num(v) for v in ref["steps"]], **proven_kw(PALETTE["grey"]))
        handles.append(Line2D([], [], **proven_kw(PALETTE["grey"]),
                              label=r"GD: undefended $\times\,\alpha^2$"))
    handles += [Line2D([], [], color="black", linestyle="-", linewidth=0.9, label="C frozen"),
                Line2D([], [], color="black", linestyle=":", linewidth=0.9, label="C trained"),
                Line2D([], [], linestyle="none", marker="^", markerfacecolor="white",
                       markeredgecolor="black", markersize=3,
                       label="not recovered within\n10× undefended (lower bound)")]
    ax.set_xscale("log")
    ax.set_yscale("log")
    ys = [num(v) for s in curves["series"] for v in s["steps"] if v is not None] + [
        num(s["defended_budget"]) for s in curves["series"]] + [
        num((s.get("undefended") or {}).get("best_steps")) for s in curves["series"]]
    ys = [y for y in ys if math.isfinite(y) and y > 0]
    if ys:
        ax.set_ylim(min(ys) / 2, max(ys) * 4)
    ax.set_xlabel(r"inflation factor $\alpha$")
    ax.set_ylabel("best count (steps)")
    ax.set_title("attacker's best count", loc="left", fontsize=7.5)
    return handles


@styled
def make(results: dict):
    """Heat map of the certificate and the steps-vs-α curves (module docstring).

    Parameters
    ----------
    results : dict
        A loaded results file (or ``{"meta": {}, "results": [record]}`` from certify).

    Returns
    -------
    matplotlib.figure.Figure
    """
    cert = _certificate(results)
    fig, axes = new_figure(*SIZE, nrows=1, ncols=3,
                           gridspec_kw={"width_ratios": [1.6, 1.0, 0.62]})
    ax_h, ax_c, ax_l = axes
    _heatmap(ax_h, cert["heatmap"])
    handles = _curves(ax_c, cert["curves"])
    ax_l.axis("off")
    ax_l.legend(handles=handles, loc="center", frameon=False, fontsize=5.5)
    fig.suptitle(_verdicts(cert), fontsize=7.5, x=0.01, ha="left")
    fig.get_layout_engine().set(rect=(0.025, 0.0, 0.975, 1.0))  # room for the row labels
    return fig


def _verdicts(cert: dict) -> str:
    """``defence …, … model: every recipe slowed ≥10× at α = …; broken at α = …``."""
    held, broken = [], []
    for a in cert["curves"]["alpha"]:
        key = f"{num(a):g}"
        bad = any(per.get(key, {}).get("verdict") == "breaks"
                  for r in cert.get("recipes", {}).values() for per in r["modes"].values())
        (broken if bad else held).append(rf"${_tex(num(a))}$")
    c = f"{num(cert.get('min_slowdown', 10)):g}"
    out = f"defence {cert.get('defence', '?')}, {cert.get('model', '?')} model: "
    if held:
        out += rf"every recipe slowed $\geq{c}\times$ at $\alpha$ = {', '.join(held)}"
    if broken:
        out += ("; " if held else "") + rf"broken at $\alpha$ = {', '.join(broken)}"
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m figures.fig9_certificate [--results PATH] [--out DIR]``."""
    return main_for(NAME, argv)


if __name__ == "__main__":
    sys.exit(main())
