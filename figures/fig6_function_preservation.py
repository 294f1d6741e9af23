"""Function preservation of SpecDef in floating point: relative error of ``C(W̃x)`` against
``Wx`` as α grows, for float32 and float64, with the ``c·α·u`` model dashed.

Reads check ``specdef.function_preservation``: ``data = {"alpha", "float32", "float64",
"model_float32", "model_float64"}`` (a sweep in one record, or one record per α; records
repeating the sweep are merged).
"""

from __future__ import annotations

import math
import sys

from ._registry import main_for
from ._results import records, sweep
from ._style import PALETTE, SINGLE, clear_legends, empirical_kw, new_figure, proven_kw, styled

CAPTION = """Function preservation of SpecDef in floating point. In exact arithmetic the defended
layer computes C(W̃x) = Wx; in floating point the product loses accuracy as the inflation factor α
grows. Markers: the measured relative error ‖C W̃ x − W x‖/‖W x‖ in
float32 and float64; dashed: the first-order model c·α·u, with u the unit round-off of the format
(2⁻²⁴ for float32, 2⁻⁵³ for float64) and c = (n + m)·√(m·r) a constant of the layer's shape (m×n,
rank r). The dotted line at 1 marks a result with no correct digit; exact results (error 0) cannot
be drawn on the log axis and are omitted. Conclusion: the error grows linearly in α and stays
under the model, so a defended model keeps only about −log₁₀(α·u) correct digits: a large α is
usable in float64, costly in float32, and in bfloat16 (u = 2⁻⁸) already α = 10² leaves almost no
correct digit."""

NAME = "function_preservation"
CHECKS = ("specdef.function_preservation",)
SIZE = (SINGLE, 2.6)
DTYPES = {"float64": (PALETTE["blue"], "o", r"$u = 2^{-53}$"),
          "float32": (PALETTE["vermillion"], "s", r"$u = 2^{-24}$")}


def _pos(values: list[float]) -> list[float]:
    return [v if math.isfinite(v) and v > 0 else math.nan for v in values]


@styled
def make(results: dict):
    """Log-log error against α; markers measured, dashed lines the ``c·α·u`` model.

    Parameters
    ----------
    results : dict
        A loaded results file.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    In exact arithmetic ``C W̃ = W``.  Computing ``fl(C fl(W̃x))`` loses about ``α·u``
    relative accuracy (u the unit round-off); the model ``c·α·u`` with
    ``c = (n+m)·sqrt(m·r)`` is a first-order upper bound.  The dotted line at 1 marks a
    complete loss of accuracy.  A zero error (exact cancellation) is not drawn on the log axis.
    """
    recs = records(results, CHECKS[0], NAME)
    s = sweep(recs, ["alpha", "float32", "float64", "model_float32", "model_float64"], NAME)
    fig, ax = new_figure(*SIZE)
    ax.axhline(1.0, color=PALETTE["grey"], linestyle=":", linewidth=0.9)
    for dt, (col, mk, ulab) in DTYPES.items():
        ax.plot(s["alpha"], _pos(s[f"model_{dt}"]),
                **proven_kw(col, label=rf"{dt}: model $c\,\alpha\,u$, {ulab}"))
        ax.plot(s["alpha"], _pos(s[dt]), **empirical_kw(col, mk, label=f"{dt}: measured"))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"inflation factor $\alpha$")
    ax.set_ylabel(r"relative error $\|C\tilde W x - Wx\| / \|Wx\|$")
    ymin = min([v for k in ("float32", "float64") for v in _pos(s[k]) if math.isfinite(v)]
               or [1e-16])
    ax.set_ylim(bottom=ymin / 10, top=max(10.0, ax.get_ylim()[1]))
    ax.annotate("no correct digits", (1, 1), xycoords=("axes fraction", "data"),
                xytext=(-2, 2), textcoords="offset points", ha="right", va="bottom",
                fontsize=6, color=PALETTE["grey"])
    if any(s[k][i] == 0 for k in DTYPES for i in range(len(s["alpha"]))):
        ax.text(0.98, 0.03, "exact results (error 0) are not drawn", transform=ax.transAxes,
                ha="right", va="bottom", fontsize=6, color=PALETTE["grey"])
    ax.legend(loc="upper left")
    ax.set_title("SpecDef function preservation", loc="left")
    clear_legends(fig)  # last: no legend over data
    return fig


def main(argv: list[str] | None = None) -> int:
    """``python -m specdef.figures.fig6_function_preservation [--results PATH] [--out DIR]``."""
    return main_for(NAME, argv)


if __name__ == "__main__":
    sys.exit(main())
