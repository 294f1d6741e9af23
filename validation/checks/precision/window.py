"""The checks ``precision.gd_window`` and ``precision.paper_claim``.

The family, its instances and its tolerances are described in
:mod:`specdef.validation.checks.precision`.
"""

from __future__ import annotations

from ...engine.records import Status
from ...engine.registry import Context, check
from ..common import fmt_alpha
from .instances import FORMATS, PAPER_ALPHA, SHORT, window_measurements

__all__ = ["check_gd_window", "check_paper_claim"]

CLOSING, BELOW = "precision.gd_window.closing_alpha", "precision.gd_window.stable_rate_below"
#: the binade factor f ∈ [1, 2) of the arg-min entry moves the crossing by up to 2^(±1/4)
BINADE_RTOL = 2 ** 0.25 - 1


def _g(x: float) -> str:
    return fmt_alpha(x) if x >= 100 and abs(x - round(x)) < 1e-6 * x else f"{x:.3g}"


@check("precision.gd_window", CLOSING, "per format: the α* where GD's smallest effective "
       "learning rate meets its stable rate 2/λ_max (window closes), and the α where "
       "fl_F(2/λ_max) turns subnormal and 0, against (2/(u r s))^(1/4) and (2/(s ℓ))^(1/2)",
       claim="C1")
def check_gd_window(ctx: Context) -> list:
    """Three records per format: the closing α*, the subnormal α and the zero α.

    * closing (``exact``, rtol ``2^(1/4) − 1``): the measured crossing against
      ``(2/(u r s))^(1/4)`` with ``s = λ_max(α*)/α*²`` and ``r = η*(α*)/(u α*²)``, the layer's
      weight-to-gradient ratio as the format sees it at α* (in float8 the stored C and W̃ change
      the gradient itself by O(u_F) relative, so ``η*(1)/u`` — in ``data["r1"]`` — does not
      carry over); η* jumps by up to 2 where the arg-min entry changes binade, so the crossing
      is located within ``2^(1/4)``;
    * subnormal (``exact``, rtol ``2^−p``): the α where the stored stable rate drops below the
      smallest normal N against ``(2/(sN))^(1/2)`` — the stored rate rounds to N until the real
      one is below ``N − S/2``, a relative ``2^−p`` of N, i.e. ``2^−(p+1)`` in α;
    * zero (``exact``, rtol ``1e-6``): ``fl_F(2/λ_max) = 0`` exactly when ``2/λ_max ≤ S/2`` (the
      tie rounds to the even neighbour 0), against ``(2/(s·S/2))^(1/2)``.
    """
    out = []
    for fmt in FORMATS:
        m = window_measurements(ctx, fmt)
        base = dict(format=fmt, shape=m["shape"])
        prv = ctx.proven(CLOSING, u=m["u"], ratio=m["r_star"], s=m["s_star"])
        curves = {k: m[k] for k in ("alpha", "eta_stable", "eta_stall")}
        data = dict(curves, format=fmt, u=m["u"], r=m["r_star"], r1=m["r"], s=m["s_inf"],
                    N=m["N"], S=m["S"],
                    alpha_star=m["alpha_star"], alpha_star_theory=prv, alpha_sub=m["alpha_sub"],
                    alpha_zero=m["alpha_zero"], alpha_paper=PAPER_ALPHA,
                    overflow_alpha=m["overflow_alpha"],
                    eta_stable_theory=[2 / (a * a * m["s_inf"]) for a in m["alpha"]],
                    eta_stall_theory=[m["u"] * a * a * m["r_star"] for a in m["alpha"]])
        rec = ctx.result("precision.gd_window", CLOSING, dict(base, u=m["u"], ratio=m["r_star"],
                                                              s=m["s_star"]),
                         m["alpha_star"], prv, rtol=BINADE_RTOL, data=data)
        note = " (closed by overflow)" if m["alpha_star"] >= m["overflow_alpha"] else ""
        rec.detail = (f"{SHORT[fmt]}: window closes at α* = {_g(m['alpha_star'])}{note} vs "
                      f"(2/(u r s))^¼ = {_g(prv)} (r={m['r_star']:.3g}, s={m['s_star']:.3g})")
        out.append(rec)
        p = m["p"]
        for what, level, key, skey, tol in (
                ("subnormal", m["N"], "alpha_sub", "s_sub", 2.0 ** -p),
                ("zero", m["S"] / 2, "alpha_zero", "s_zero", 1e-6)):
            prv = ctx.proven(BELOW, s=m[skey], level=level)
            rec = ctx.result("precision.gd_window", BELOW, dict(base, s=m[skey], level=level,
                                                                what=what),
                             m[key], prv, rtol=tol, data=dict(format=fmt, what=what,
                                                              level=level, s=m[skey]))
            rec.detail = (f"{SHORT[fmt]}: fl(2/λ_max) {what} from α = {_g(m[key])} vs "
                          f"(2/(s·{'N' if what == 'subnormal' else 'S/2'}))^½ = {_g(prv)}")
            out.append(rec)
    return out


@check("precision.paper_claim", "precision.paper_claim.float16", "the paper's 'α ≥ 10⁶ puts "
       "the feasible learning rate below the smallest effective one (subnormal region)', per "
       "format: measured max(α*, α_subnormal) against 10⁶", claim="C1")
def check_paper_claim(ctx: Context) -> list:
    """One record per format: REFUTED when the measured layer is a counterexample.

    ``empirical`` is ``max(α*, α_sub)`` — the α from which GD's stable rate is both absorbed
    (below the smallest effective rate) and subnormal in the format — measured on the
    instance; ``proven`` is the paper's α (10⁶, times any planted perturbation of the format's
    claim theorem).  Status ``HOLDS`` when ``empirical ≤ proven``, ``REFUTED`` otherwise (the
    instance is the counterexample); the expectation is the theorem's
    (``precision.paper_claim.<format>``), derived in :mod:`theory`.
    """
    out = []
    for fmt in FORMATS:
        tid = f"precision.paper_claim.{fmt}"
        m = window_measurements(ctx, fmt)
        paper = PAPER_ALPHA * float(ctx.perturb.get(tid, 1.0))
        emp = max(m["alpha_star"], m["alpha_sub"])
        holds = emp <= paper
        th = ctx.theorem(tid)
        inside = all(1e-2 <= v <= 1e2 for v in (m["s_inf"], m["r"]))
        theory_alpha = th.evaluate(s=m["s_inf"], ratio=m["r"], alpha=PAPER_ALPHA) if inside \
            else None
        rec = ctx.result("precision.paper_claim", tid, dict(format=fmt, s=m["s_inf"], ratio=m["r"],
                                                            alpha=PAPER_ALPHA),
                         emp, paper, rtol=0.0, status=Status.HOLDS if holds else Status.REFUTED,
                         data=dict(format=fmt, alpha_star=m["alpha_star"],
                                   alpha_sub=m["alpha_sub"], alpha_zero=m["alpha_zero"],
                                   alpha_paper=paper, theory_claim_alpha=theory_alpha,
                                   layer_in_theorem_box=inside),
                         instance=None if holds else dict(
                             format=fmt, shape=m["shape"], s=m["s_inf"], r=m["r"],
                             alpha=PAPER_ALPHA, stable_rate=2 / (PAPER_ALPHA**2 * m["s_inf"])))
        zero = f", 0 from {_g(m['alpha_zero'])}" if m["alpha_zero"] <= paper else ""
        rec.detail = (f"{SHORT[fmt]}: α* = {_g(m['alpha_star'])}, subnormal from "
                      f"{_g(m['alpha_sub'])}{zero}: claim "
                      + ("holds" if holds else f"refuted (stable rate normal at α = "
                         f"{fmt_alpha(paper)})"))
        out.append(rec)
    return out
