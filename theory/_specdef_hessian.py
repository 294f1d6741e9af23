"""Hessians of a SpecDef layer and the GD slowdown they force (docs/theory/hessian.rst, claim C1).

Notes
-----
*C frozen, W̃ trained* on ``L = (1/2n)‖C W̃ X − Y‖²_F``: ``H = Σ_x ⊗ CᵀC``.  With
``Σ_x = QΛQᵀ`` and ``CᵀC = U D Uᵀ`` (``D = T^{-2}``, entries ``c_j² ∈ {1/α², 1}``), the mixed
product rule gives ``H = (Q⊗U)(Λ⊗D)(Q⊗U)ᵀ``, an eigendecomposition: ``eig(H) = {λ_i c_j²}``, so
``λ_min(H) = λ_min(Σ_x)/α²`` (k ≥ 1), ``σ_1(H) = λ_max(Σ_x)`` (k < m), ``κ(H) = κ(Σ_x)·α²``.

*GD slowdown.*  With step ``1/λ_max(H)`` the worst-case contraction is ``ρ = 1 − 1/κ(H)``
(B1: attained by ``e_0`` on the bottom eigenvector), and the worst-case step count to
``‖e_t‖ ≤ eps‖e_0‖`` is ``⌈ln eps / ln ρ⌉`` — exact, hence the ratio
``T_def/T_undef = ⌈ln eps/ln(1 − 1/(κα²))⌉ / ⌈ln eps/ln(1 − 1/κ)⌉`` is exact too.  Without the
ceilings the ratio ``r(κ, α) = ln(1 − 1/κ)/ln(1 − 1/(κα²))`` does not depend on eps; since
``−ln(1 − x)/x`` increases in x, ``r ≥ α²`` for every κ > 1, and ``r → α²`` as ``κ → ∞``
(``sympy.limit``).  For finite κ the ceilings move the integer ratio away from r by less than
``1/x_undef`` relative, ``x_undef = ln eps / ln(1 − 1/κ)`` (the eps-free undefended count).

*Both trained.*  ``σ_1(H_joint) ≥ σ_1(H_CC) = σ_1(W̃ Σ_x W̃ᵀ)`` (a principal block; interlacing),
and at the top left singular vector ``u_1``: ``W̃ᵀu_1 = α σ_1(W) v_1``, so the Rayleigh quotient
gives ``σ_1(W̃ Σ_x W̃ᵀ) ≥ α² σ_1(W)² v_1ᵀΣ_x v_1``; a stable step then needs
``step < 2/σ_1 ≤ 2/(α² σ_1(W)² v_1ᵀΣ_x v_1)``.  :meth:`prove` checks the Rayleigh step on the
2×2 family ``M = diag(ασ_1, s_2) Σ' diag(ασ_1, s_2)`` with ``Σ'`` any PSD matrix with
``Σ'_11 = vSv``: the characteristic polynomial at the bound is ``−M_12² ≤ 0``, so
``bound ≤ λ_max(M)``.
"""

from __future__ import annotations

from typing import Any, Mapping

import mpmath
import sympy as sp
from sympy.matrices.expressions.kronecker import KroneckerProduct, combine_kronecker

from ._errors import TheoryError
from ._gd_quadratic import ceiling_steps, contraction_expr, prove_ceiling_steps
from ._prove import bound_equals, certify_nonnegative
from ._registry import register
from ._specdef import prove_specdef_identities
from ._records import Over, Verdict, require
from ._theorem import Theorem

__all__ = ["prove_kronecker_spectrum", "derive_slowdown"]

lam_min, lam_max, alpha, kappa, eps = sp.symbols("lam_min lam_max alpha kappa eps", positive=True)
sigma1_W, vSv = sp.symbols("sigma1_W vSv", positive=True)
s2, w = sp.symbols("s2 w", nonnegative=True)
b = sp.Symbol("b", real=True)
e, a = sp.symbols("e a", positive=True)
_SYMS = {"lam_min": lam_min, "lam_max": lam_max, "alpha": alpha, "kappa": kappa, "eps": eps,
         "sigma1_W": sigma1_W, "vSv": vSv}
_ALPHA = require("alpha_ge_1", "alpha >= 1", _SYMS)


def prove_kronecker_spectrum() -> bool:
    """``Σ_x ⊗ CᵀC = (Q⊗U)(Λ⊗D)(Q⊗U)ᵀ`` by the mixed-product rule (matrix symbols)."""
    p, q = sp.symbols("p q", positive=True, integer=True)
    Q, Lam = sp.MatrixSymbol("Q", p, p), sp.MatrixSymbol("Lambda", p, p)
    U, D = sp.MatrixSymbol("U", q, q), sp.MatrixSymbol("D", q, q)
    lhs = KroneckerProduct(Q * Lam * Q.T, U * D * U.T)
    rhs = KroneckerProduct(Q, U) * KroneckerProduct(Lam, D) * KroneckerProduct(Q, U).T
    return combine_kronecker(rhs) == lhs and prove_specdef_identities()["gram_C"]


def _prove_hessian(th: Theorem) -> Verdict | None:
    candidates = th.truth.args
    subs = {lam_max: lam_min + e, alpha: 1 + a}
    if not (prove_kronecker_spectrum() and any(bound_equals(th, x) for x in candidates)
            and all(certify_nonnegative(x - th.bound, subs) for x in candidates)):
        return None
    return Verdict("proved", "sympy", "mixed-product rule: Σ_x ⊗ CᵀC = (Q⊗U)(Λ⊗T⁻²)(Q⊗U)ᵀ, so "
                   "eig(H) = {λ_i c_j²}; the bound is one of them and certified <= all others")


@register("specdef.hessian.frozen_compensation")
def _hessian() -> Theorem:
    products = sp.Min(lam_min / alpha**2, lam_max / alpha**2, lam_min, lam_max, evaluate=False)
    return Theorem(
        id="specdef.hessian.frozen_compensation",
        statement=r"\mathrm{eig}(\Sigma_x\otimes C^TC) = \{\lambda_i(\Sigma_x)c_j^2\},\ "
                  r"\lambda_{\min}(H) = \lambda_{\min}(\Sigma_x)/\alpha^2",
        symbols={"lam_min": lam_min, "lam_max": lam_max, "alpha": alpha},
        assumptions=(require("lam_min_positive", "lam_min > 0", _SYMS),
                     require("lam_min_le_lam_max", "lam_min <= lam_max", _SYMS), _ALPHA),
        bound=lam_min / alpha**2, kind="exact", expectation="holds",
        reference="docs/theory/hessian.rst (SpecDef layer, C frozen)",
        parameters=("lam_min", "lam_max", "alpha"), truth=products,
        derived={"sigma1_H": lam_max, "kappa_H": lam_max * alpha**2 / lam_min},
        box={"lam_min": (1e-3, 1.0, "log"), "lam_max": (1e-3, 1e3, "log"),
             "alpha": (1.0, 1e6, "log")},
        prover=_prove_hessian, n_points=128)


def _resolve(expr: sp.Expr, subs: dict) -> sp.Expr:
    """Drop ``Abs`` and ``Max`` whose sign / largest argument a certificate decides."""
    def unabs(x: sp.Expr) -> sp.Expr:
        if certify_nonnegative(x, subs):
            return x
        return -x if certify_nonnegative(-x, subs) else sp.Abs(x)

    expr = expr.replace(sp.Abs, unabs)
    if isinstance(expr, sp.Max):
        for cand in expr.args:
            if all(certify_nonnegative(cand - o, subs) for o in expr.args if o is not cand):
                return cand
    return expr


def derive_slowdown() -> dict[str, sp.Expr]:
    """Contractions, exact step counts, their ratio, the eps-free ratio and its κ → ∞ limit."""
    # step 1/lam_max(H) on spectrum [lam_min/alpha^2, lam_max], lam_max = kappa*lam_min,
    # resolved under kappa = 1 + p > 1, alpha = 1 + q >= 1
    p, q = sp.symbols("p q", positive=True)
    subs = {kappa: 1 + p, alpha: 1 + q}
    rho_def = sp.simplify(_resolve(contraction_expr(lam_min / alpha**2, kappa * lam_min,
                                                    1 / (kappa * lam_min)), subs))
    rho_und = sp.simplify(_resolve(contraction_expr(lam_min, kappa * lam_min,
                                                    1 / (kappa * lam_min)), subs))
    # keep the "1 - x" form when it is the same expression: ceiling_steps then uses log1p
    prefer = lambda got, form: form if sp.simplify(got - form) == 0 else got  # noqa: E731
    rho_def = prefer(rho_def, 1 - 1 / (kappa * alpha**2))
    rho_und = prefer(rho_und, 1 - 1 / kappa)
    steps_def, steps_und = ceiling_steps(rho_def, eps), ceiling_steps(rho_und, eps)
    ratio = sp.log(rho_und) / sp.log(rho_def)
    return {"rho_defended": rho_def, "rho_undefended": rho_und, "steps_defended": steps_def,
            "steps_undefended": steps_und, "ratio": steps_def / steps_und,
            "continuous_ratio": ratio, "limit_kappa_to_infinity": sp.limit(ratio, kappa, sp.oo)}


def _steps_oracle(rho: Any, eps_: Any) -> int:
    """Least integer t with rho^t <= eps, by doubling and bisection (independent of ⌈·⌉)."""
    if rho == 0:
        return 1
    if not rho < 1:
        raise TheoryError(f"_steps_oracle: rho must be < 1 at the working precision, got {rho}")
    log_rho = mpmath.log(rho)  # rho^t as exp(t ln rho): fast for t ~ 1e300, no t-fold product
    hi = 1
    while mpmath.exp(hi * log_rho) > eps_:
        hi *= 2
    lo = hi // 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if mpmath.exp(mid * log_rho) <= eps_ else (mid, hi)
    return hi


def _slowdown_oracle(point: Mapping[str, Any]) -> Any:
    # carry enough digits that 1 - 1/(κα²) does not round to 1 (the doubling would not stop)
    digits = int(mpmath.log10(mpmath.mpf(point["kappa"]) * mpmath.mpf(point["alpha"]) ** 2)) + 30
    with mpmath.workdps(max(mpmath.mp.dps, digits)):
        k_, a_, e_ = (mpmath.mpf(point[n]) for n in ("kappa", "alpha", "eps"))
        return (mpmath.mpf(_steps_oracle(1 - 1 / (k_ * a_**2), e_))
                / _steps_oracle(1 - 1 / k_, e_))


def _prove_slowdown(th: Theorem) -> Verdict | None:
    d = derive_slowdown()
    same = lambda x, y: sp.simplify(x - y) == 0  # noqa: E731
    if not (same(d["rho_defended"], 1 - 1 / (kappa * alpha**2))
            and same(d["rho_undefended"], 1 - 1 / kappa)
            and bound_equals(th, d["ratio"]) and prove_ceiling_steps()):
        return None
    return Verdict("proved", "sympy", "rho = 1 - 1/(κα²) and 1 - 1/κ at step 1/λ_max (tight "
                   "contractions); each count is the least t with rho^t <= eps; limit of the "
                   f"eps-free ratio as κ→∞: {d['limit_kappa_to_infinity']}")


@register("specdef.gd_slowdown.frozen_compensation")
def _slowdown() -> Theorem:
    d = derive_slowdown()
    return Theorem(
        id="specdef.gd_slowdown.frozen_compensation",
        statement=r"\frac{T_{\mathrm{def}}}{T_{\mathrm{undef}}} = \frac{\lceil\ln\varepsilon/"
                  r"\ln(1-1/(\kappa\alpha^2))\rceil}{\lceil\ln\varepsilon/\ln(1-1/\kappa)\rceil}"
                  r"\ \xrightarrow[\kappa\to\infty]{}\ \alpha^2",
        symbols={"kappa": kappa, "alpha": alpha, "eps": eps},
        assumptions=(require("kappa_gt_1", "kappa > 1", _SYMS), _ALPHA,
                     require("eps_range", sp.And(sp.Symbol("eps") > 0, sp.Symbol("eps") < 1),
                             _SYMS, "eps must be in (0, 1)")),
        bound=d["ratio"], kind="tight", expectation="holds",
        reference="docs/theory/hessian.rst (C frozen) with docs/theory/background.rst, B1",
        parameters=("kappa", "alpha", "eps"), oracle=_slowdown_oracle,
        derived={k_: d[k_] for k_ in ("rho_defended", "rho_undefended", "steps_defended",
                                      "steps_undefended", "continuous_ratio",
                                      "limit_kappa_to_infinity")},
        box={"kappa": (1.01, 1e4, "log"), "alpha": (1.0, 100.0, "log"), "eps": (1e-10, 0.5, "log")},
        prover=_prove_slowdown, n_points=128)


def _rayleigh_matrix() -> sp.Matrix:
    sig = sp.Matrix([[vSv, b], [b, b**2 / vSv + w]])  # PSD with Σ'_11 = vSv
    t = sp.diag(alpha * sigma1_W, s2)
    return t * sig * t


def _prove_growth(th: Theorem) -> Verdict | None:
    m_ = _rayleigh_matrix()
    x = sp.Symbol("x")
    p_at_bound = (x * sp.eye(2) - m_).det().subs(x, th.bound)
    if not sp.factor(sp.expand(-p_at_bound)).is_nonnegative:
        return None
    from ._check import numeric_check

    num = numeric_check(th)
    if num.status != "unproven":
        return num
    return Verdict("unproven", "sympy (2x2 reduction) + " + num.method,
                   "SymPy shows the 2x2 reduction only (det(bound·I − M) = −M12² <= 0, the n×n "
                   "step is the Rayleigh principle at u1, not machine-checked); " + num.detail,
                   None, num.n_points)


@register("specdef.hessian.sigma1_growth")
def _growth() -> Theorem:
    m_ = _rayleigh_matrix()
    lam_top = (m_[0, 0] + m_[1, 1]) / 2 + sp.sqrt((m_[0, 0] - m_[1, 1]) ** 2 / 4 + m_[0, 1] ** 2)
    bound = alpha**2 * sigma1_W**2 * vSv
    return Theorem(
        id="specdef.hessian.sigma1_growth",
        statement=r"\sigma_1(H_{\mathrm{joint}}) \ge \sigma_1(\tilde W\Sigma_x\tilde W^T) \ge "
                  r"\alpha^2\sigma_1(W)^2\,v_1^T\Sigma_x v_1,\quad \eta < 2/\sigma_1(H)",
        symbols={"alpha": alpha, "sigma1_W": sigma1_W, "vSv": vSv},
        assumptions=(_ALPHA, require("sigma1_W_positive", "sigma1_W > 0", _SYMS),
                     require("vSv_positive", "vSv > 0", _SYMS)),
        bound=bound, kind="lower", expectation="holds",
        reference="docs/theory/hessian.rst (both trained); Horn & Johnson (2013) Thm 4.2.2, 4.3.28",
        parameters=("alpha", "sigma1_W", "vSv"), truth=lam_top,
        over=(Over(s2, 0, sigma1_W), Over(b, -2 * vSv, 2 * vSv), Over(w, 0, 2 * vSv)),
        derived={"step_ceiling": 2 / bound, "growth_exponent_alpha": sp.Integer(2)},
        box={"alpha": (1.0, 1e4, "log"), "sigma1_W": (0.1, 10.0, "log"),
             "vSv": (0.01, 10.0, "log")},
        prover=_prove_growth, n_points=96)
