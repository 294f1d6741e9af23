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
from ._results import field, num, optional, records, series
from ._style import (COLORS, DOUBLE, MARKERS, PALETTE, empirical_kw, new_figure, styled)

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
    for k, (ax, par) in enumerate(zip(axs, pars)):
        if _shade_unrepresentable(ax, pts[par]):
            extra["shade"] = Patch(facecolor="0.5", alpha=0.25,
                                   label=r"$\kappa(H)\,u > \sqrt{\varepsilon}$: rounding-limited")
        for row in pts[par]:
            col, mk, size = style[row["key"]]
            ax.plot(row["alpha"], _pos(row["steps"]), color=col, linewidth=0.8, zorder=2)
            for capped in (False, True):
                xs = [a for a, c in zip(row["alpha"], row["capped"]) if c == capped]
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
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(min(a for r in pts[par] for a in r["alpha"]) / 2,
                    max(a for r in pts[par] for a in r["alpha"]) * 2)
        ax.set_xlabel(r"inflation factor $\alpha$")
        if k == 0:
            ax.set_ylabel("iterations to tolerance")
        ax.set_title(f"({chr(97 + k)}) {PANELS.get(par, par)}", loc="left")
    labels = {row["key"]: row["label"] for p in pars for row in pts[p]}
    handles = [Line2D([], [], color=style[k][0], marker=style[k][1], markersize=4,
                      linewidth=0.8, label=labels[k]) for k in keys]
    handles.append(Line2D([], [], color="0.3", marker="o", linestyle="none",
                          markerfacecolor="white", label="hit the step cap (lower bound)"))
    handles += [extra[k] for k in ("inner", "gd", "shade") if k in extra]
    fig.legend(handles=handles, loc="outside right upper")
    return fig


def main(argv: list[str] | None = None) -> int:
    """``python -m figures.fig3_second_order [--results PATH] [--out DIR]``."""
    return main_for(NAME, argv)


if __name__ == "__main__":
    sys.exit(main())
