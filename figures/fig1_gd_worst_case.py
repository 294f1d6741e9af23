"""GD on worst-case quadratics: empirical loss curves on the proven bound, for several κ
and step sizes.

Reads check ``gd.contraction.worst_case``: every record's ``data["curves"]`` is a list of
``{"kappa", "step", "t": [...], "loss": [...], "bound": [...]}`` (the loss gap
``L(w_t) − L*`` of GD started on the binding eigenvector, and the proven
``ρ^{2t}(L(w_0) − L*)``), optionally with ``step_name`` (``"1/L"``) and ``start``.  One panel
per κ, one colour per step size; one record may hold one curve or several.
"""

from __future__ import annotations

import math
import sys

from ._registry import main_for
from ._results import MissingDataError, field, num, records
from ._style import COLORS, DOUBLE, MARKERS, empirical_kw, new_figure, proven_kw, styled

CAPTION = """GD on worst-case quadratics. Each panel is one condition number κ = L/μ (spectrum of
the Hessian in [μ, L]); each colour one step size η. Markers: the measured loss gap L(w_t) − L*
of gradient descent started on the eigenvector that realises the contraction
ρ(η) = max(|1 − ημ|, |1 − ηL|); dashed: the proven value ρ^{2t}(L(w_0) − L*). Most runs start on
the λ_min eigenvector (L(w_0) − L* = μ/2 for a unit start). At η = 2/(μ + L) both ends of the
spectrum contract by the same ρ = (κ − 1)/(κ + 1), so either eigenvector realises it; a curve
annotated "start on λ_max" started on the top one, which is why it begins at L/2 instead of μ/2,
far above the others, with the same slope as the proven line. Conclusion: every marker sits on
its dashed line — the rate bound is attained (tight), and the best step 2/(μ + L) is the fastest
at every κ."""

NAME = "gd_worst_case"
CHECKS = ("gd.contraction.worst_case",)
SIZE = (DOUBLE, 2.3)
#: How a curve's ``start`` is named where it differs from the other curves' start.
START = {"max": "start on the $\\lambda_{\\max}$ eigenvector:\n$L(w_0) - L^\\star = L/2$, "
                "same $\\rho$",
         "min": "start on the $\\lambda_{\\min}$ eigenvector:\n$L(w_0) - L^\\star = \\mu/2$, "
                "same $\\rho$"}
#: Markers drawn per curve (the curve itself is a thin solid line through every point).
N_MARKERS = 12


def _curves(results: dict) -> list[dict]:
    out: list[dict] = []
    seen: set[tuple] = set()
    for r in records(results, CHECKS[0], NAME):
        curves = field(r, "curves", NAME)
        if not isinstance(curves, list) or not curves:
            raise MissingDataError(f"figure {NAME!r}: check {CHECKS[0]!r} has no curves")
        for c in curves:
            for key in ("kappa", "t", "loss", "bound"):
                if not isinstance(c, dict) or key not in c:
                    raise MissingDataError(f"figure {NAME!r}: a curve of check {CHECKS[0]!r} "
                                           f"lacks field {key!r}")
            if not len(c["t"]) == len(c["loss"]) == len(c["bound"]):
                raise MissingDataError(f"figure {NAME!r}: curve κ={c['kappa']} has t, loss and "
                                       f"bound of different lengths")
            key = (num(c["kappa"]), num(c.get("step")), str(c.get("start")))
            if key not in seen:  # a curve repeated on several records is drawn once
                seen.add(key)
                out.append(c)
    return sorted(out, key=lambda c: num(c["kappa"]))


def _kappa_label(kappa: float) -> str:
    e = math.log10(kappa) if kappa > 0 else math.nan
    if math.isfinite(e) and abs(e - round(e)) < 1e-9:
        return rf"$\kappa = 10^{{{int(round(e))}}}$"
    return rf"$\kappa = {kappa:g}$"


def _step_label(c: dict) -> str:
    name = c.get("step_name")
    if isinstance(name, str) and name:
        name = name.split(" at ")[0].replace("mu", r"\mu")
        return rf"$\eta = {name}$"
    return rf"$\eta = {num(c.get('step')):.3g}$"


@styled
def make(results: dict):
    """Loss gap against iteration, one panel per κ, one colour per step size; the proven
    bound dashed under the markers.

    Parameters
    ----------
    results : dict
        A loaded results file (:func:`figures.load_results`).

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    With step ``η`` and spectrum ``[μ, L]`` the loss gap obeys
    ``L(w_t) − L* ≤ ρ^{2t} (L(w_0) − L*)``, ``ρ = max(|1 − ημ|, |1 − ηL|)``, with equality when
    ``w_0 − w*`` lies on the eigenvector realising ρ; the markers should sit on the dashed
    lines.  The y axis is logarithmic: the rate is geometric.
    """
    curves = _curves(results)
    kappas = sorted({num(c["kappa"]) for c in curves})
    fig, axs = new_figure(*SIZE, nrows=1, ncols=len(kappas))
    axs = list(axs) if len(kappas) > 1 else [axs]
    from matplotlib.lines import Line2D

    labels = list(dict.fromkeys(_step_label(c) for c in curves))
    style = {lab: (COLORS[i % len(COLORS)], MARKERS[i % len(MARKERS)])
             for i, lab in enumerate(labels)}
    starts = [str(c.get("start")) for c in curves]
    usual = max(set(starts), key=starts.count)  # the start most curves use
    for k, (ax, kappa) in enumerate(zip(axs, kappas)):
        for c in (c for c in curves if num(c["kappa"]) == kappa):
            col, mk = style[_step_label(c)]
            t = [num(v) for v in c["t"]]
            loss = [num(v) if num(v) > 0 else math.nan for v in c["loss"]]
            bound = [num(v) if num(v) > 0 else math.nan for v in c["bound"]]
            every = _marker_indices(t, N_MARKERS)
            ax.plot(t, bound, **proven_kw(col))
            ax.plot([t[i] for i in every], [loss[i] for i in every],
                    **empirical_kw(col, mk, filled=False))
            if str(c.get("start")) != usual and c.get("start") is not None:
                ax.annotate(START.get(str(c["start"]), f"start: {c['start']}"),
                            (t[0], loss[0]), xytext=(0.97, 0.97), textcoords="axes fraction",
                            ha="right", va="top", fontsize=6, color=col,
                            arrowprops=dict(arrowstyle="->", color=col, linewidth=0.6,
                                            shrinkB=4))
        ax.set_yscale("log")
        ax.set_xlim(left=0)
        ax.set_xlabel("GD iteration $t$")
        if k == 0:
            ax.set_ylabel(r"loss gap $L(w_t) - L^\star$")
        ax.set_title(f"({chr(97 + k)}) " + _kappa_label(kappa), loc="left")
    handles = [Line2D([], [], **empirical_kw(style[lab][0], style[lab][1], filled=False),
                      label=f"{lab}, measured") for lab in labels]
    handles.append(Line2D([], [], **proven_kw("0.3"),
                          label=r"proven $\rho^{2t}\,(L(w_0) - L^\star)$"))
    fig.legend(handles=handles, loc="outside right upper")
    return fig


def _marker_indices(t: list[float], n: int) -> list[int]:
    """About ``n`` indices evenly spread in ``t`` (the saved ``t`` may be log-spaced)."""
    if len(t) <= n:
        return list(range(len(t)))
    lo, hi = t[0], t[-1]
    want = [lo + (hi - lo) * j / (n - 1) for j in range(n)]
    idx = [min(range(len(t)), key=lambda i: abs(t[i] - w)) for w in want]
    return sorted(set(idx))


def main(argv: list[str] | None = None) -> int:
    """``python -m specdef.figures.fig1_gd_worst_case [--results PATH] [--out DIR]``."""
    return main_for(NAME, argv)


if __name__ == "__main__":
    sys.exit(main())
