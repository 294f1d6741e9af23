"""How the smallest effective learning rate grows with α, per optimiser, number format and
arithmetic model: the measured first-step stall thresholds η*(α)/η*(α₀) against the theorem's
(α/α₀)^(1+d).

Reads check ``precision.stall_scaling``: one record per optimiser and arithmetic model,
``params = {"optimiser", "model", ...}`` and ``data = {"alpha", "thresholds",
"outside_hypothesis", "exponent", "alpha0", "optimiser", "arithmetic", ...}``, where
``thresholds`` maps a short format name (``bf16``, ``fp16``, ``e4m3``, ``e5m2``, ``fp32``) to η*
per α (``None`` where not finite) and ``outside_hypothesis`` maps it to strings
``"α=<value>: <reason>"`` naming the points outside the theorem's hypothesis; ``alpha0`` maps it
to the α₀ of its law (``None`` when no α is inside the hypothesis), or is one α₀ for every format.
"""

from __future__ import annotations

import math
import sys

from ._registry import main_for
from ._results import MissingDataError, field, num, records
from ._style import (COLORS, DOUBLE, MARKERS, PALETTE, empirical_kw, new_figure, proven_kw,
                     slope_text, styled)

CAPTION = """Smallest effective learning rate of seven optimisers on a SpecDef layer stored in a
low-precision format, against the inflation factor α (C = I/α frozen, W̃ = αW trained, α = 2^j).
Measured (markers): η*(α), the smallest learning rate whose first update changes a stored entry of
W̃, found by bisection (relative width 10⁻⁹) on one update computed by the optimiser's own code on
rounded operands; plotted as η*(α)/η*(α₀) against α/α₀, where α₀ is, per format, the smallest α of
the run inside the theorem's hypothesis (1, except for float8-e4m3, where some entries of W are
subnormal at α = 1, and for clipped Sophia, whose ratios are all clipped only from α₀ = 16 on). Proven (dashed grey): the theorem η*(α) = (α/α₀)^(1+d) η*(α₀), exact for powers of two as
long as nothing overflows or underflows, where the first step scales like α^(−d): 1 + d = 2 for
gradient descent and SGD with Nesterov momentum (0.9), 1 for Adam, Muon and Sophia with every ratio
clipped, 0 for Sophia with no ratio clipped (γ = 10⁸, Newton-like) and AdaHessian (Adam, Muon and
AdaHessian with ε = 10⁻³⁰, absorbed, as the theorem assumes). Columns: the storage formats; float8
formats are drawn only when one of their points lies inside the hypothesis. Rows: pure arithmetic
(gradient, optimiser state and update rounded to the format) and mixed arithmetic (computed in
float32, the updated weights stored in the format). Filled markers: the point and its base α₀ lie
inside the theorem's hypothesis (no overflow, no gradient or Hessian entry within 2¹⁶ of underflow,
half an ulp of every stored entry a normal number, Sophia in its regime) — these are the points the
check compares with the theorem; hollow markers: outside it, data without a verdict (e.g. float16
at small α, where half an ulp of a stored weight is subnormal); points whose η* or η*(α₀) is not
finite (no learning rate moves W̃, or the first step overflows, as for pure float16 Adam) are
omitted, and so is the anchor α = α₀, where the ratio is 1 by construction. Markers of optimisers
that share a law are set side by side (4.5 pt apart, centred on their α) so that coinciding values
stay visible. Legend: the slope of log η* against log α fitted through the anchor over all filled
markers of each optimiser, next to the proven 1 + d. Conclusion: every filled marker lies on its
theorem line (the check finds each within its tolerance 4·10⁻⁹), so in low precision the learning
rate SpecDef's inflation needs before a step survives rounding grows like α² for gradient descent
and momentum SGD, like α for Adam, Muon and clipped Sophia, and not at all for Newton-like Sophia
and AdaHessian, whose update grows with the stored weight it has to change."""

NAME = "stall_scaling"
CHECKS = ("precision.stall_scaling",)
SIZE = (DOUBLE, 4.6)
#: Optimiser labels of the check, in legend order, with their names on the figure.
OPTIMISERS = {"gd": "GD", "sgd_nesterov": "SGD (Nesterov)", "adam": "Adam", "muon": "Muon",
              "sophia": "Sophia (clipped)", "sophia_newton": "Sophia (Newton-like)",
              "adahessian": "AdaHessian"}
#: Short format names of the check, in column order, with their titles.
FORMATS = {"bf16": "bfloat16", "fp16": "float16", "e4m3": "float8 e4m3", "e5m2": "float8 e5m2",
           "fp32": "float32"}
FLOAT8 = ("e4m3", "e5m2")
MODELS = {"pure": "pure", "mixed": "mixed"}
KEYS = ("alpha", "thresholds", "outside_hypothesis", "exponent", "alpha0")
#: Side-by-side offset between the markers of optimisers sharing a law (points, 1/72 inch).
DODGE = 4.5
#: Room right of the data for the labels of the theorem's lines (points).
LABEL_ROOM = 28.0


def _pos(v: object) -> float:
    x = num(v)
    return x if math.isfinite(x) and x > 0 else math.nan


def _outside(rec: dict, fmt: str, alphas: list[float]) -> set[int]:
    """Indices of ``alphas`` named in ``outside_hypothesis[fmt]`` (``"α=16: reason"``)."""
    notes = field(rec, "outside_hypothesis", NAME)
    if not isinstance(notes, dict):
        raise MissingDataError(f"figure {NAME!r}: check {rec.get('check')!r} has a "
                               f"non-object 'outside_hypothesis'")
    out: set[int] = set()
    for note in notes.get(fmt, []) or []:
        head = str(note).split(":", 1)[0]
        try:
            a = float(head.split("=", 1)[1])
        except (IndexError, ValueError):
            a = math.nan
        if not (math.isfinite(a) and a > 0):
            raise MissingDataError(f"figure {NAME!r}: check {rec.get('check')!r}: entry "
                                   f"{note!r} of 'outside_hypothesis' names no α")
        near = [i for i, al in enumerate(alphas) if abs(math.log(al / a)) < 1e-4]
        if not near:
            raise MissingDataError(f"figure {NAME!r}: check {rec.get('check')!r}: entry "
                                   f"{note!r} of 'outside_hypothesis' names an α not in 'alpha'")
        out.update(near)
    return out


def _series(results: dict) -> list[dict]:
    """One entry per record: optimiser, model, exponent and, per format, the normalised points
    ``(x = α/α₀, y = η*/η*(α₀), inside)``."""
    recs = records(results, CHECKS[0], NAME)
    have = [r for r in recs if all(k in (r.get("data") or {}) for k in KEYS)]
    if not have:
        best = max(recs, key=lambda r: sum(k in (r.get("data") or {}) for k in KEYS))
        for k in KEYS:
            field(best, k, NAME)  # raises, naming the first missing field
    out = []
    for r in have:
        params = r.get("params") or {}
        data = r["data"]
        opt = str(params.get("optimiser", data.get("optimiser", "?")))
        model = str(params.get("model", data.get("arithmetic", "?")))
        raw = field(r, "alpha", NAME)
        alphas = [num(a) for a in raw] if isinstance(raw, list) else []
        if not alphas or not all(math.isfinite(a) and a > 0 for a in alphas):
            raise MissingDataError(f"figure {NAME!r}: check {r.get('check')!r} has an "
                                   f"'alpha' that is not a list of positive numbers")
        anchor = field(r, "alpha0", NAME)  # per format ({short name: α₀}) or one α₀ for all
        curves = field(r, "thresholds", NAME)
        if not isinstance(curves, dict):
            raise MissingDataError(f"figure {NAME!r}: check {r.get('check')!r} has a "
                                   f"non-object 'thresholds'")
        pts: dict[str, list[tuple[float, float, bool]]] = {}
        for fmt, etas in curves.items():
            base = num(anchor.get(fmt) if isinstance(anchor, dict) else anchor)
            i0 = next((i for i, a in enumerate(alphas)
                       if math.isfinite(base) and abs(math.log(a / base)) < 1e-9), None)
            etas = [_pos(e) for e in etas] if isinstance(etas, list) else []
            if len(etas) != len(alphas):
                raise MissingDataError(f"figure {NAME!r}: check {r.get('check')!r} has "
                                       f"{len(etas)} thresholds for {fmt}, expected "
                                       f"{len(alphas)}")
            pts[fmt] = []
            if i0 is None or not math.isfinite(etas[i0]):
                continue
            bad = _outside(r, fmt, alphas)
            for i, (a, eta) in enumerate(zip(alphas, etas)):
                if i == i0 or not math.isfinite(eta):
                    continue
                inside = i not in bad and i0 not in bad and a > alphas[i0]
                pts[fmt].append((a / alphas[i0], eta / etas[i0], inside))
        out.append(dict(optimiser=opt, model=model, exponent=num(field(r, "exponent", NAME)),
                        points=pts))
    return out


def _fitted_slope(series: list[dict], opt: str) -> float | None:
    """Slope of log y on log x through the anchor (1, 1) over the filled points of ``opt``."""
    sxy = sxx = 0.0
    for s in series:
        if s["optimiser"] != opt:
            continue
        for pts in s["points"].values():
            for x, y, inside in pts:
                if inside:
                    lx = math.log2(x)
                    sxy += lx * math.log2(y)
                    sxx += lx * lx
    return sxy / sxx if sxx > 0 else None


def _pow2_ticks(lo: float, hi: float, most: int = 6) -> list[float]:
    """Powers of two in ``[lo, hi]``, every ``k`` octaves with ``k`` a multiple of 4."""
    a, b = math.ceil(math.log2(lo)), math.floor(math.log2(hi))
    step = 4
    while (b - a) // step + 1 > most:
        step += 4
    start = math.ceil(a / step) * step
    return [2.0 ** k for k in range(start, b + 1, step)]


def _pow2_label(v: float, _pos: object = None) -> str:
    k = round(math.log2(v))
    return "$1$" if k == 0 else f"$2^{{{k}}}$"


@styled
def make(results: dict):
    """One log-log panel per format (columns) and arithmetic model (rows): η*(α)/η*(α₀).

    Parameters
    ----------
    results : dict
        A loaded results file.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    For ``α = 2^j`` the stored weights, gradients and Hessian diagonals scale exactly, so the
    first step of an optimiser whose direction scales like ``α^{-d}`` is absorbed below
    ``η*(α) = (α/α₀)^{1+d} η*(α₀)``.  Markers of optimisers with the same ``1 + d`` are set
    :data:`DODGE` points apart, centred on their α; the legend sits below the panels.
    """
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter, NullLocator
    from matplotlib.transforms import ScaledTranslation
    import numpy as np

    series = _series(results)
    opts = list(OPTIMISERS) + [s["optimiser"] for s in series if s["optimiser"] not in OPTIMISERS]
    opts = list(dict.fromkeys(o for o in opts if any(s["optimiser"] == o for s in series)))
    models = list(MODELS) + [s["model"] for s in series if s["model"] not in MODELS]
    models = list(dict.fromkeys(m for m in models if any(s["model"] == m for s in series)))
    present = {f for s in series for f in s["points"]}
    fmts = [f for f in FORMATS if f in present] + sorted(present - set(FORMATS))
    fmts = [f for f in fmts if f not in FLOAT8
            or any(inside for s in series for _, _, inside in s["points"].get(f, []))]
    if not fmts:
        raise MissingDataError(f"figure {NAME!r}: check {CHECKS[0]!r} has no format with "
                               f"a finite threshold")

    exponent = {o: next(s["exponent"] for s in series if s["optimiser"] == o) for o in opts}
    style = {o: (COLORS[i % len(COLORS)], MARKERS[i % len(MARKERS)]) for i, o in enumerate(opts)}
    shift = {}
    for o in opts:  # side by side within a law, centred on the true α
        same = [p for p in opts if exponent[p] == exponent[o]]
        shift[o] = DODGE * (same.index(o) - (len(same) - 1) / 2)

    xs = [x for s in series for pts in s["points"].values() for x, _, _ in pts] + [1.0]
    ys = [y for s in series for pts in s["points"].values() for _, y, _ in pts] + [1.0]
    x_lo, x_hi = min(xs), max(xs)
    laws = sorted({e for e in exponent.values() if math.isfinite(e)}, reverse=True)
    for e in laws:
        ys += [x_lo ** e, x_hi ** e]
    y_lo, y_hi = min(ys), max(ys)
    # room on the right for the laws' labels (about LABEL_ROOM points in a panel of `width`)
    width = (SIZE[0] * 72 - 40) / len(fmts)
    span = math.log2(x_hi / x_lo) + 1.5
    xlim = (x_lo / 2.0 ** 1.5, x_hi * 2.0 ** (LABEL_ROOM * span / (width - LABEL_ROOM)))
    ylim = (y_lo / 2.0 ** 2, y_hi * 2.0 ** 2)

    fig, axes = new_figure(*SIZE, nrows=len(models), ncols=len(fmts), sharex=True, sharey=True)
    axes = np.asarray(axes, dtype=object).reshape(len(models), len(fmts))
    for row, model in enumerate(models):
        for col, fmt in enumerate(fmts):
            ax = axes[row][col]
            grid = [x_lo, x_hi]
            for e in laws:
                ax.plot(grid, [g ** e for g in grid], **proven_kw(PALETTE["grey"]))
                label = {2.0: r"$\propto\alpha^2$", 1.0: r"$\propto\alpha$",
                         0.0: r"const."}.get(e, rf"$\propto\alpha^{{{e:g}}}$")
                ax.annotate(label, (x_hi, x_hi ** e), xytext=(DODGE + 6, 0),
                            textcoords="offset points", ha="left", va="center", fontsize=6,
                            color="0.35")
            for s in series:
                if s["model"] != model:
                    continue
                o = s["optimiser"]
                colour, marker = style[o]
                pts = s["points"].get(fmt, [])
                moved = ax.transData + ScaledTranslation(shift[o] / 72, 0, fig.dpi_scale_trans)
                for filled in (True, False):
                    sel = [(x, y) for x, y, inside in pts if inside is filled]
                    if sel:
                        ax.plot([p[0] for p in sel], [p[1] for p in sel], transform=moved,
                                **empirical_kw(colour, marker, filled=filled, markersize=4))
            if not any(s["points"].get(fmt) for s in series if s["model"] == model):
                ax.text(0.5, 0.12, "no α inside the hypothesis\n(stored weights or updates\n"
                        "subnormal, or a first step not finite)", transform=ax.transAxes,
                        ha="center", va="bottom", fontsize=6, color="0.35",
                        bbox=dict(facecolor="white", edgecolor="none", pad=1.5))
            ax.set_xscale("log", base=2)
            ax.set_yscale("log", base=2)
            ax.set_xlim(*xlim)
            ax.set_ylim(*ylim)
            ax.set_xticks(_pow2_ticks(xlim[0], x_hi, most=5))
            ax.set_yticks(_pow2_ticks(*ylim, most=6))
            for axis in (ax.xaxis, ax.yaxis):
                axis.set_major_formatter(FuncFormatter(_pow2_label))
                axis.set_minor_locator(NullLocator())
            ax.set_title(f"{FORMATS.get(fmt, fmt)}, {MODELS.get(model, model)}", loc="left",
                         fontsize=7.5)
            if col == 0:
                ax.set_ylabel(r"$\eta^{\ast}(\alpha)\,/\,\eta^{\ast}(\alpha_0)$")
            if row == len(models) - 1:
                ax.set_xlabel(r"$\alpha/\alpha_0$")

    handles = []
    for o in opts:
        colour, marker = style[o]
        text = f"{OPTIMISERS.get(o, o)}: {slope_text(_fitted_slope(series, o), exponent[o])}"
        handles.append(Line2D([], [], **empirical_kw(colour, marker, markersize=4), label=text))
    handles += [
        Line2D([], [], **proven_kw(PALETTE["grey"]),
               label=r"theorem: $(\alpha/\alpha_0)^{1+d}$"),
        Line2D([], [], **empirical_kw("0.3", "o", filled=False, markersize=4),
               label="hollow: outside the hypothesis"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, frameon=False,
               fontsize=6.5)
    return fig


def main(argv: list[str] | None = None) -> int:
    """``python -m figures.fig10_stall_scaling [--results PATH] [--out DIR]``."""
    return main_for(NAME, argv)


if __name__ == "__main__":
    sys.exit(main())
