"""Second-order background (docs/theory/background.rst, B4): Newton's local rate and affine
invariance.

Notes
-----
*Local quadratic rate.*  With ``∇²L ⪰ μI`` and an M-Lipschitz Hessian,
``‖θ⁺ − θ*‖ ≤ (M/2μ)‖θ − θ*‖²``.  The bound is attained in one dimension: take
``L'(θ* + s) = ∫_0^s (h + a(r − σ)) dσ`` on ``[0, r]`` (curvature ``h + a(r − s) ≥ h ≥ μ``,
Lipschitz constant ``a ≤ M``); Newton from ``θ* + r`` lands at distance ``a r²/(2h)``, which is
the bound at ``a = M``, ``h = μ``.  :meth:`prove` certifies ``a r²/(2h) ≤ M r²/(2μ)`` over
``a ∈ [0, M]``, ``h ≥ μ`` (a superset of the admissible family).

*Affine invariance.*  For invertible ``P`` and ``φ ↦ L(Pφ)`` (gradient ``Pᵀg``, Hessian
``PᵀHP``) the Newton step ``φ⁺ = φ − (PᵀHP)^{-1}Pᵀg`` satisfies ``Pφ⁺ = θ − H^{-1}g``: the
iterates map onto each other.  On a strongly convex quadratic ``θ − H^{-1}(Hθ − b) = H^{-1}b``:
one step from anywhere, for every κ.  SpecDef with C frozen is such a reparameterisation
(``vec W = (I ⊗ C) vec W̃``, C invertible), so the ratio of exact-Newton step counts, defended
over undefended, is exactly 1 whatever α and κ.
"""

from __future__ import annotations

import sympy as sp

from ._prove import bound_equals
from ._registry import register
from ._records import Over, Verdict, require
from ._theorem import Theorem

__all__ = ["prove_newton_affine_invariance"]

M, mu, r, alpha, kappa = sp.symbols("M mu r alpha kappa", positive=True)
a, h = sp.symbols("a h", positive=True)
w, e = sp.symbols("w e", positive=True)
_SYMS = {"M": M, "mu": mu, "r": r, "alpha": alpha, "kappa": kappa}


@register("newton.local_quadratic")
def _local() -> Theorem:
    return Theorem(
        id="newton.local_quadratic",
        statement=r"\|\theta_{t+1}-\theta_*\| \le \frac{M}{2\mu}\|\theta_t-\theta_*\|^2",
        symbols={"M": M, "mu": mu, "r": r},
        assumptions=(require("M_positive", "M > 0", _SYMS), require("mu_positive", "mu > 0", _SYMS),
                     require("r_nonnegative", "r >= 0", _SYMS)),
        bound=M * r**2 / (2 * mu), kind="upper", expectation="holds",
        reference="docs/theory/background.rst, B4; Nesterov (2018) Thm 1.2.5",
        parameters=("M", "mu", "r"), truth=a * r**2 / (2 * h),
        over=(Over(a, 0, M), Over(h, mu, mu + M * r)),
        box={"M": (0.01, 10.0, "log"), "mu": (0.01, 10.0, "log"), "r": (1e-3, 10.0, "log")},
        positive={"M": M, "mu": mu, "r": r, "a": M / (1 + w), "h": mu + e}, n_points=128)


def prove_newton_affine_invariance() -> bool:
    """Matrix-symbol check of ``Pφ⁺ = θ − H^{-1}g`` and of one-step convergence on a quadratic."""
    n = sp.Symbol("n", positive=True, integer=True)
    P, H = sp.MatrixSymbol("P", n, n), sp.MatrixSymbol("H", n, n)
    g, phi, b = (sp.MatrixSymbol(s, n, 1) for s in ("g", "phi", "b"))
    theta = sp.MatrixSymbol("theta", n, 1)
    mapped = sp.expand((P * (phi - (P.T * H * P).I * P.T * g)).doit())
    newton_theta = P * phi - H.I * g  # Newton from theta = P phi with gradient g
    one_step = sp.expand((theta - H.I * (H * theta - b)).doit())
    return sp.simplify(mapped - newton_theta) == sp.ZeroMatrix(n, 1) and one_step == H.I * b


def _prove_affine(th: Theorem) -> Verdict | None:
    if not (bound_equals(th, sp.Integer(1)) and prove_newton_affine_invariance()):
        return None
    return Verdict("proved", "sympy", "matrix symbols: P·φ⁺ = θ − H⁻¹g for invertible P, and "
                   "θ − H⁻¹(Hθ − b) = H⁻¹b (one step); so both parameterisations take 1 step")


@register("newton.affine_invariance")
def _affine() -> Theorem:
    return Theorem(
        id="newton.affine_invariance",
        statement=r"P\varphi_{t} = \theta_t\ \forall t \text{ (Newton on } \varphi\mapsto "
                  r"L(P\varphi)\text{)};\ "
                  r"T_{\mathrm{Newton}}(\text{SpecDef})/T_{\mathrm{Newton}} = 1",
        symbols={"alpha": alpha, "kappa": kappa},
        assumptions=(require("alpha_ge_1", "alpha >= 1", _SYMS),
                     require("kappa_ge_1", "kappa >= 1", _SYMS)),
        bound=sp.Integer(1), kind="exact", expectation="holds",
        reference="docs/theory/background.rst, B4; Nocedal & Wright (2006) §3.3",
        parameters=("alpha", "kappa"), truth=sp.Integer(1),
        derived={"newton_steps_quadratic": sp.Integer(1)},
        box={"alpha": (1.0, 1e6, "log"), "kappa": (1.0, 1e6, "log")},
        prover=_prove_affine, n_points=64)
