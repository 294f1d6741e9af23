"""SpecDef α sweep: σ_1(H), the smallest nonzero eigenvalue, GD steps and step sizes against α.

Reads four checks, each a sweep over α (one record per α or one record with lists):

``c1.spectrum.frozen``
    ``alpha, sigma1, lambda_min, lambda_min_theory, sigma1_theory`` (C frozen, W̃ trained).
``c1.spectrum.joint``
    ``alpha, sigma1, sigma1_lower_bound, lambda_min_nonzero, fitted_slope, proven_exponent``.
``c1.gd_steps.frozen``
    ``alpha, steps_defended, steps_undefended, steps_theory, fitted_slope, proven_exponent``.
``c1.gd_steps.joint``
    ``alpha, steps, largest_stable_step, step_ceiling, fitted_slope``.

Empirical values are markers, proven values dashed lines, on log-log axes; legends give the
fitted log-log slope next to the proven exponent.
"""

from __future__ import annotations

import math
import sys

from ._registry import main_for
from ._results import first, num, optional, records, sweep
from ._style import (DOUBLE, PALETTE, beyond_exact, clear_legends, empirical_kw,
                     exact_count_line, new_figure, proven_kw, sci, slope_text, styled)

CAPTION = """SpecDef α sweep on a linear-regression layer x ↦ C W̃ x (W̃ the weight with its top
singular values multiplied by α, C the compensation, C W̃ = W). Blue: C frozen, W̃ trained — the
Hessian is Σ_x ⊗ CᵀC (Σ_x = XXᵀ/n the data covariance). Vermillion: W̃ and C trained jointly on an
instance whose data is aligned with W's top right singular vector v_1; green: the same with a
random Σ_x. Markers are measured, dashed lines proven; legends give the fitted log-log slope next
to the proven exponent. (a) Largest Hessian eigenvalue σ_1(H): unchanged with C frozen; jointly it
grows like α², above the proven lower bound b = α² σ_1(W)² v_1ᵀΣ_x v_1. (b) Smallest nonzero
eigenvalue: λ_min(Σ_x)/α² exactly with C frozen. (c) GD steps at η = 1/λ_max: with C frozen, steps
until the distance to the optimum ‖w_t − w*‖ shrinks by the factor ε given on the panel (counted
in closed form for every α; hollow circles: GD actually run); jointly, steps of the best of a
sweep of step sizes until the relative loss gap is 10⁻⁶ (hollow squares: stopped at the step cap,
a lower bound). Counts above 2⁵³ (hollow triangles, if any) are closed-form values no run can
reach. (d) Largest step at which GD from the released point is stable, against the proven
ceiling 2/b (a step above 2/σ_1(H) diverges, and σ_1(H) ≥ b). Conclusion: SpecDef slows gradient
descent by α² — exactly with C frozen, at least that much jointly — because it shrinks the
usable step like α⁻² (joint) or the smallest curvature like α⁻² (frozen)."""

NAME = "specdef_alpha"
CHECKS = ("c1.spectrum.frozen", "c1.spectrum.joint", "c1.gd_steps.frozen", "c1.gd_steps.joint")
SIZE = (DOUBLE, 4.6)
FROZEN, JOINT, RANDOM = PALETTE["blue"], PALETTE["vermillion"], PALETTE["green"]
GREY = PALETTE["grey"]


def fit_slope(x: list[float], y: list[float]) -> float | None:
    """Least-squares slope of ``log y`` on ``log x`` over the finite, positive points."""
    pts = [(math.log(a), math.log(b)) for a, b in zip(x, y)
           if a > 0 and b > 0 and math.isfinite(a) and math.isfinite(b)]
    if len(pts) < 2:
        return None
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    if sxx == 0:
        return None
    return sum((p[0] - mx) * (p[1] - my) for p in pts) / sxx


def _slope(recs: list[dict], emp: tuple[list, list], key: str = "fitted_slope",
           proven: float | None = None) -> str:
    fitted = first(recs, key)
    fitted = num(fitted) if fitted is not None else fit_slope(*emp)
    exp = first(recs, "proven_exponent", proven)
    return slope_text(fitted, None if exp is None else num(exp))


def _panel(ax, letter: str, ylabel: str) -> None:
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"inflation factor $\alpha$")
    ax.set_ylabel(ylabel)
    ax.set_title(f"({letter})", loc="left", fontweight="bold")


def _capped(recs: list[dict], alpha: list[float]) -> list[bool]:
    """Whether the run at each α stopped at its step cap (``status == "max_steps"``)."""
    status: dict[float, str] = {}
    for r in recs:
        a, st = optional(r, "alpha"), optional(r, "status")
        if isinstance(a, list) and isinstance(st, list) and len(a) == len(st):
            status.update({num(x): str(y) for x, y in zip(a, st)})
    return [status.get(a) == "max_steps" for a in alpha]


def _split(x: list[float], y: list[float], mask: list[bool]) -> tuple[tuple, tuple]:
    keep = [(a, b) for a, b, m in zip(x, y, mask) if not m]
    cap = [(a, b) for a, b, m in zip(x, y, mask) if m]
    return tuple(zip(*keep)) or ((), ()), tuple(zip(*cap)) or ((), ())


@styled
def make(results: dict):
    """Four log-log panels: (a) ``σ_1(H)``, (b) smallest nonzero eigenvalue, (c) GD steps to
    tolerance, (d) the largest stable GD step against its proven ceiling.

    Parameters
    ----------
    results : dict
        A loaded results file.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    With C frozen the Hessian is ``Σ_x ⊗ CᵀC``: ``σ_1`` stays ``λ_max(Σ_x)``,
    ``λ_min = λ_min(Σ_x)/α²`` and GD needs ``∝ α²`` steps (exact).  Trained jointly,
    ``σ_1(H) ≥ α² σ_1(W)² v_1ᵀΣ_x v_1`` (dashed), which caps the stable step at ``2/bound``.
    Optional series are drawn when the records carry them: a second (random-``Σ_x``) joint
    instance (``*_random``), simulated GD counts (``sim_alpha``, ``sim_steps_defended``) and
    runs stopped at their step cap (``status == "max_steps"``, hollow: a lower bound).
    """
    sf = records(results, CHECKS[0], NAME)
    sj = records(results, CHECKS[1], NAME)
    gf = records(results, CHECKS[2], NAME)
    gj = records(results, CHECKS[3], NAME)
    a = sweep(sf, ["alpha", "sigma1", "sigma1_theory", "lambda_min", "lambda_min_theory"], NAME)
    b = sweep(sj, ["alpha", "sigma1", "sigma1_lower_bound", "lambda_min_nonzero"], NAME,
              optional_keys=["sigma1_random", "sigma1_lower_bound_random",
                             "lambda_min_nonzero_random"])
    c = sweep(gf, ["alpha", "steps_defended", "steps_undefended", "steps_theory"], NAME)
    d = sweep(gj, ["alpha", "steps", "largest_stable_step", "step_ceiling"], NAME)
    has_random = any(math.isfinite(v) for v in b["sigma1_random"])
    sim = sweep(gf, ["sim_alpha", "sim_steps_defended"], NAME) \
        if any("sim_alpha" in (r.get("data") or {}) for r in gf) else None

    fig, axs = new_figure(*SIZE, nrows=2, ncols=2)
    (ax1, ax2), (ax3, ax4) = axs

    _panel(ax1, "a", r"largest Hessian eigenvalue $\sigma_1(H)$")
    ax1.plot(a["alpha"], a["sigma1_theory"], **proven_kw(FROZEN, label=r"C frozen: proven "
                                                          r"$\lambda_{\max}(\Sigma_x)$"))
    ax1.plot(a["alpha"], a["sigma1"], **empirical_kw(FROZEN, "o", label="C frozen: measured"))
    ax1.plot(b["alpha"], b["sigma1_lower_bound"], **proven_kw(
        JOINT, label=r"joint: proven lower bound $b = \alpha^2\sigma_1(W)^2 v_1^\top\Sigma_x v_1$"))
    ax1.plot(b["alpha"], b["sigma1"], **empirical_kw(
        JOINT, "s", label="joint: measured, " + _slope(sj, (b["alpha"], b["sigma1"]))))
    if has_random:
        ax1.plot(b["alpha"], b["sigma1_lower_bound_random"], **proven_kw(RANDOM))
        ax1.plot(b["alpha"], b["sigma1_random"], **empirical_kw(
            RANDOM, "D", filled=False, label=r"joint, random $\Sigma_x$: measured (dashed: "
                                             r"bound), " + slope_text(
                fit_slope(b["alpha"], b["sigma1_random"]), None)))
    ax1.legend(loc="upper left")

    _panel(ax2, "b", r"smallest nonzero eigenvalue of $H$")
    lf = (a["alpha"], a["lambda_min"])
    ax2.plot(a["alpha"], a["lambda_min_theory"], **proven_kw(
        FROZEN, label=r"C frozen: proven $\lambda_{\min}(\Sigma_x)/\alpha^2$"))
    ax2.plot(*lf, **empirical_kw(FROZEN, "o", label="C frozen: measured, " + slope_text(
        fit_slope(*lf), fit_slope(a["alpha"], a["lambda_min_theory"]))))
    ax2.plot(b["alpha"], b["lambda_min_nonzero"], **empirical_kw(
        JOINT, "s", markersize=3, label="joint: measured, " + slope_text(
            fit_slope(b["alpha"], b["lambda_min_nonzero"]), None)))
    if has_random:
        ax2.plot(b["alpha"], b["lambda_min_nonzero_random"], **empirical_kw(
            RANDOM, "D", filled=False, label=r"joint, random $\Sigma_x$: measured, "
            + slope_text(fit_slope(b["alpha"], b["lambda_min_nonzero_random"]), None)))
    ax2.legend(loc="lower left")

    _panel(ax3, "c", "GD steps to tolerance")
    eps = first(gf, "eps")
    ax3.plot(c["alpha"], c["steps_undefended"], color=GREY, linestyle=":", linewidth=1.0,
             label="undefended")
    ax3.plot(c["alpha"], c["steps_theory"], **proven_kw(FROZEN, label="C frozen: proven"))
    ax3.plot(c["alpha"], c["steps_defended"], **empirical_kw(
        FROZEN, "o", label="C frozen: counted, " + _slope(gf, (c["alpha"],
                                                              c["steps_defended"]))))
    if sim is not None:
        ax3.plot(sim["sim_alpha"], sim["sim_steps_defended"], **empirical_kw(
            FROZEN, "o", filled=False, markersize=6.5, label="C frozen: simulated GD"))
    (jx, jy), (cx, cy) = _split(d["alpha"], d["steps"], _capped(gj, d["alpha"]))
    ax3.plot(jx, jy, **empirical_kw(
        JOINT, "s", label="joint: measured, " + _slope(gj, (d["alpha"], d["steps"]))))
    if cx:
        ax3.plot(cx, cy, **empirical_kw(JOINT, "s", filled=False,
                                        label="joint: stopped at step cap (lower bound)"))
    far = beyond_exact(ax3, c["alpha"], c["steps_theory"], FROZEN)
    far |= beyond_exact(ax3, c["alpha"], c["steps_defended"], FROZEN)
    far |= beyond_exact(ax3, d["alpha"], d["steps"], JOINT)
    if far:
        exact_count_line(ax3)
        ax3.plot([], [], linestyle="none", marker="^", markerfacecolor="white",
                 markeredgecolor=GREY, label=r"beyond $2^{53}$ steps: closed form, no run")
    if eps is not None and math.isfinite(num(eps)):
        ax3.text(0.98, 0.12, "C frozen: until $\\|w_t - w^\\star\\|$ shrinks by "
                 f"$\\varepsilon = {sci(num(eps))}$\njoint: until relative loss gap "
                 "$\\leq 10^{-6}$", transform=ax3.transAxes, ha="right", va="bottom",
                 fontsize=6, color="0.25", linespacing=1.3)
    ax3.legend(loc="upper left")

    _panel(ax4, "d", r"GD step size $\eta$")
    ax4.plot(d["alpha"], d["step_ceiling"], **proven_kw(
        JOINT, label=r"joint: proven ceiling $2/b$ ($b$: lower bound on $\sigma_1(H)$ in (a))"))
    ax4.plot(d["alpha"], d["largest_stable_step"], **empirical_kw(
        JOINT, "s", label="joint: largest stable step, " + slope_text(
            fit_slope(d["alpha"], d["largest_stable_step"]), None)))
    ax4.legend(loc="lower left")
    clear_legends(fig)  # last: no legend over data
    return fig


def main(argv: list[str] | None = None) -> int:
    """``python -m specdef.figures.fig2_specdef_alpha [--results PATH] [--out DIR]``."""
    return main_for(NAME, argv)


if __name__ == "__main__":
    sys.exit(main())
