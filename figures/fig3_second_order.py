"""Second-order methods against α: steps of each Newton variant, with GD for reference.

Reads checks ``c2.newton``, ``c2.gauss_newton``, ``c2.levenberg_marquardt``,
``c2.damped_newton`` and ``c2.newton_cg``; a record is one method and parameterisation over an
α sweep (or one α): ``{"alpha", "steps", "method", "parameterisation": "frozen"|"joint"}`` plus,
when present, ``inner`` (Hessian-vector products of Newton-CG), ``damping_relative`` /
``damping`` (Levenberg–Marquardt, one record per damping), ``gd_steps`` (GD on the same
problem), ``status`` (``"max_steps"``: capped, a lower bound; ``null``: not run) and
``representable`` (``False`` where ``κ(H)·u`` exceeds the accuracy target).  One panel per
parameterisation (C frozen, or W̃ and C trained jointly).
"""

from __future__ import annotations

import math
import sys

from ._registry import main_for
from ._results import field, first, num, optional, records, series
from ._style import (COLORS, DOUBLE, MARKERS, PALETTE, beyond_exact, empirical_kw,
                     exact_count_line, new_figure, sci, styled)

CAPTION = """Second-order methods against the inflation factor α, fine-tuning a SpecDef layer
x ↦ C W̃ x to a relative loss gap ε (given in the legend). (a) C frozen, W̃ trained: a convex
quadratic whose Hessian Σ_x ⊗ CᵀC has condition number κ_x α². (b) W̃ and C trained jointly
(bilinear; the Hessian is singular along the gauge directions). Solid lines with filled markers:
outer iterations of each method (α = 1 is the undefended model); dash-dotted with hollow
markers: Hessian-vector products of Newton-CG's inner conjugate-gradient solves; grey crosses:
gradient-descent iterations on the same problem, for reference; hollow markers: a run that hit its
step cap (a lower bound). Levenberg–Marquardt's damping λ is given relative to σ_1, the largest
Hessian eigenvalue. Where several methods need exactly the same count, their markers are set side
by side (dodged by a few hundredths of a decade in α) so that none hides another. Shaded: α at
which κ(H)·u > √ε (u the unit round-off of the run's dtype), so that a backward-stable solve
cannot reach the target and counts are set by rounding rather than by the method. Conclusion:
exact Newton and Gauss–Newton (and damped Newton with C frozen) are not slowed — the
reparameterisation is invertible and they are affine invariant — while fixed damping
(Levenberg–Marquardt) is slowed like gradient descent (∝ α²) and Newton-CG's inner work grows
slowly with α."""

NAME = "second_order"
CHECKS = ("c2.newton", "c2.gauss_newton", "c2.levenberg_marquardt", "c2.damped_newton",
          "c2.newton_cg")
SIZE = (DOUBLE, 2.9)
LABELS = {"newton": "Newton", "gauss_newton": "Gauss–Newton",
          "levenberg_marquardt": "Levenberg–Marquardt", "damped_newton": "damped Newton",
          "newton_cg": "Newton-CG"}
PANELS = {"frozen": r"C frozen, $\tilde W$ trained", "joint": r"$\tilde W$ and C trained"}


def _series(results: dict) -> dict[str, list[dict]]:
    """``{parameterisation: [series]}``; a series is one record's α sweep of one method.

    Accepts a record per (method, parameterisation[, damping]) with list fields, or a record
    per α with scalars.  Each series: ``key, method, alpha, steps, capped, inner, gd,
    representable`` and a ``label``.
    """
    out: dict[str, dict[tuple, dict]] = {}
    for cid in CHECKS:
        for r in records(results, cid, NAME):
            method = str(field(r, "method", NAME))
            par = str(field(r, "parameterisation", NAME))
            damp = optional(r, "damping_relative", optional(r, "damping"))
            damp = num(damp) if damp is not None and not isinstance(damp, list) else math.nan
            cols = series([r], ["alpha", "steps"], NAME, sort=False)
            n = len(cols["alpha"])
            extra = {k: _column(r, k, n) for k in ("inner", "gd_steps", "status",
                                                     "representable")}
            key = (method, damp)
            row = out.setdefault(par, {}).setdefault(key, dict(
                key=key, method=method, label=_label(method, damp, r), alpha=[], steps=[],
                capped=[], inner=[], gd=[], representable=[]))
            row["alpha"] += cols["alpha"]
            row["steps"] += cols["steps"]
            row["inner"] += [num(v) for v in extra["inner"]]
            row["gd"] += [num(v) for v in extra["gd_steps"]]
            row["capped"] += [str(v) == "max_steps" for v in extra["status"]]
            row["representable"] += [v is not False for v in extra["representable"]]
    result = {}
    for par, rows in out.items():
        result[par] = []
        for row in rows.values():
            first_at = {a: i for i, a in reversed(list(enumerate(row["alpha"])))}
            order = sorted(first_at.values(), key=lambda i: row["alpha"][i])  # drop repeats
            for k in ("alpha", "steps", "capped", "inner", "gd", "representable"):
                row[k] = [row[k][i] for i in order]
            result[par].append(row)
    return result


def _column(r: dict, key: str, n: int) -> list:
    v = optional(r, key)
    if isinstance(v, list) and len(v) == n:
        return v
    return [v] * n


def _label(method: str, damp: float, r: dict) -> str:
    lab = LABELS.get(method, method.replace("_", " "))
    if math.isfinite(damp):
        rel = optional(r, "damping_relative") is not None
        lab += rf", $\lambda = {damp:g}\,\sigma_1$" if rel else rf", $\lambda = {damp:g}$"
    return lab


def _pos(values: list[float]) -> list[float]:
    return [v if math.isfinite(v) and v > 0 else math.nan for v in values]


#: Horizontal offset between side-by-side markers of equal counts (decades of α).
DODGE = 0.12


def _dodged(rows: list[dict]) -> dict[tuple, list[float]]:
    """α of each row's markers, moved apart where several rows have the same count at one α.

    Returns ``{row key: [x, ...]}``; a group of ``n`` equal points is spread symmetrically by
    :data:`DODGE` decades.
    """
    groups: dict[tuple, list[tuple]] = {}
    for row in rows:
        for a, v in zip(row["alpha"], _pos(row["steps"])):
            if math.isfinite(v):
                groups.setdefault((a, round(math.log10(v), 9)), []).append(row["key"])
    out = {}
    for row in rows:
        xs = []
        for a, v in zip(row["alpha"], _pos(row["steps"])):
            g = groups.get((a, round(math.log10(v), 9)), [row["key"]]) if math.isfinite(v) \
                else [row["key"]]
            j = g.index(row["key"])
            xs.append(a * 10.0 ** (DODGE * (j - (len(g) - 1) / 2)))
        out[row["key"]] = xs
    return out


def _identical(rows: list[dict]) -> list[list[dict]]:
    """Groups of two or more rows whose counts are equal at every α (same α grid)."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        sig = tuple((a, round(math.log10(v), 9) if math.isfinite(v) else None)
                    for a, v in zip(row["alpha"], _pos(row["steps"])))
        groups.setdefault(sig, []).append(row)
    return [g for g in groups.values() if len(g) > 1]


def _shade_unrepresentable(ax, rows: list[dict]) -> bool:
    """Grey out α where ``κ(H)·u > sqrt(ε)`` (counts are set by rounding there)."""
    bad = sorted({a for r in rows for a, ok in zip(r["alpha"], r["representable"]) if not ok})
    good = sorted({a for r in rows for a, ok in zip(r["alpha"], r["representable"]) if ok})
    if not bad:
        return False
    left = bad[0]
    below = [a for a in good if a < left]
    if below and below[-1] > 0:
        left = math.sqrt(below[-1] * left)
    ax.axvspan(left, bad[-1] * 10, color="0.5", alpha=0.13, linewidth=0, zorder=0)
    return True


@styled
def make(results: dict):
    """Cost to tolerance against α, per method and parameterisation.

    Parameters
    ----------
    results : dict
        A loaded results file.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Exact Newton and Gauss–Newton are affine invariant, so an invertible reparameterisation
    (SpecDef with C frozen) cannot slow them; damping, truncated inner solves and the singular
    Hessian of the joint parameterisation can.  Filled markers: outer iterations of the defended
    model (α = 1 is the undefended one); hollow markers: a run that hit its step cap (a lower
    bound); dash-dotted: Hessian-vector products of Newton-CG; grey crosses: GD on the same
    problem; shaded: α where ``κ(H)·u`` exceeds the accuracy target, so counts are set by
    rounding rather than by the method.
    """
    pts = _series(results)
    pars = sorted(pts, key=lambda p: (list(PANELS).index(p) if p in PANELS else 99, p))
    fig, axs = new_figure(*SIZE, nrows=1, ncols=len(pars), sharey=True)
    axs = list(axs) if len(pars) > 1 else [axs]
    keys = list(dict.fromkeys(row["key"] for p in pars for row in pts[p]))
    style = {k: (COLORS[i % len(COLORS)], MARKERS[i % len(MARKERS)],
                 max(2.5, 6.5 - 0.65 * i))  # shrinking: coinciding markers stay visible
             for i, k in enumerate(keys)}
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    extra = {}
    low = math.inf  # room below the lowest annotated group
    recs = [r for cid in CHECKS for r in records(results, cid, NAME)]
    u, eps = num(first(recs, "unit_roundoff")), num(first(recs, "eps"))
    values = (rf" ($u = {_pow2(u)}$, $\varepsilon = {sci(eps)}$)"
              if math.isfinite(u) and math.isfinite(eps) else "")
    for k, (ax, par) in enumerate(zip(axs, pars)):
        if _shade_unrepresentable(ax, pts[par]):
            extra["shade"] = Patch(facecolor="0.5", alpha=0.25,
                                   label=r"$\kappa(H)\,u > \sqrt{\varepsilon}$: rounding-limited"
                                   + values)
        dodged = _dodged(pts[par])
        for row in pts[par]:
            col, mk, size = style[row["key"]]
            xd = dodged[row["key"]]
            ax.plot(xd, _pos(row["steps"]), color=col, linewidth=0.8, zorder=2)
            if beyond_exact(ax, xd, _pos(row["steps"]), col):
                extra["far"] = Line2D([], [], color="0.3", marker="^", linestyle="none",
                                      markerfacecolor="white",
                                      label=r"beyond $2^{53}$ iterations: closed form, no run")
            for capped in (False, True):
                xs = [a for a, c in zip(xd, row["capped"]) if c == capped]
                ys = [v for v, c in zip(_pos(row["steps"]), row["capped"]) if c == capped]
                if xs:
                    ax.plot(xs, ys, markersize=size, **empirical_kw(col, mk, filled=not capped))
            if any(math.isfinite(v) for v in _pos(row["inner"])):
                ax.plot(row["alpha"], _pos(row["inner"]), color=col, linestyle="-.",
                        linewidth=0.7, marker=mk, markersize=size - 0.5,
                        markerfacecolor="white", markeredgecolor=col)
                extra["inner"] = Line2D([], [], color=col, linestyle="-.", linewidth=0.7,
                                        marker=mk, markerfacecolor="white",
                                        label=f"{row['label']}: Hessian-vector products")
            if any(math.isfinite(v) for v in _pos(row["gd"])):
                ax.plot(row["alpha"], _pos(row["gd"]), color=PALETTE["grey"], marker="x",
                        linewidth=0.8, zorder=1)
                extra["gd"] = Line2D([], [], color=PALETTE["grey"], marker="x", linewidth=0.8,
                                     label="gradient descent (reference)")
                if beyond_exact(ax, row["alpha"], _pos(row["gd"]), PALETTE["grey"]):
                    extra["far"] = Line2D([], [], color="0.3", marker="^", linestyle="none",
                                          markerfacecolor="white", label=r"beyond $2^{53}$ "
                                          "iterations: closed form, no run")
        for group in _identical(pts[par]):
            start = min(range(len(group[0]["alpha"])), key=lambda i: group[0]["alpha"][i])
            at = _pos(group[0]["steps"])[start]
            ax.annotate(" = ".join(g["label"] for g in group) + " (every α)",
                        (group[0]["alpha"][start], at), xytext=(-4, -6),
                        textcoords="offset points", ha="left", va="top", fontsize=5.8,
                        color="0.25")
            low = min(low, at)
        if "far" in extra:
            exact_count_line(ax)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(min(a for r in pts[par] for a in r["alpha"]) / 2,
                    max(a for r in pts[par] for a in r["alpha"]) * 2)
        ax.set_xlabel(r"inflation factor $\alpha$")
        if k == 0:
            ax.set_ylabel("count to tolerance: outer iterations (solid),\n"
                          "Hessian-vector products (dash-dot)")
        ax.set_title(f"({chr(97 + k)}) {PANELS.get(par, par)}", loc="left")
    if math.isfinite(low):  # room for the label: 16 pt below the lowest annotated group
        ax0 = axs[0]
        h_pt = ax0.get_position().height * fig.get_figheight() * 72 * 0.85
        top = math.log10(ax0.get_ylim()[1])
        f = 16.0 / h_pt
        bottom = (math.log10(low) - f * top) / (1 - f)
        ax0.set_ylim(bottom=min(10.0 ** bottom, ax0.get_ylim()[0]))
    labels = {row["key"]: row["label"] for p in pars for row in pts[p]}
    handles = [Line2D([], [], color=style[k][0], marker=style[k][1], markersize=4,
                      linewidth=0.8, label=labels[k]) for k in keys]
    handles.append(Line2D([], [], color="0.3", marker="o", linestyle="none",
                          markerfacecolor="white", label="hit the step cap (lower bound)"))
    handles += [extra[k] for k in ("inner", "gd", "far", "shade") if k in extra]
    fig.legend(handles=handles, loc="outside right upper")
    return fig


def _pow2(u: float) -> str:
    """``2^{-53}`` for a power of two, else :func:`sci`."""
    e = math.log2(u) if u > 0 else math.nan
    return f"2^{{{int(round(e))}}}" if math.isfinite(e) and abs(e - round(e)) < 1e-9 else sci(u)


def main(argv: list[str] | None = None) -> int:
    """``python -m specdef.figures.fig3_second_order [--results PATH] [--out DIR]``."""
    return main_for(NAME, argv)


if __name__ == "__main__":
    sys.exit(main())
