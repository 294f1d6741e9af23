"""Attacks that restore fast fine-tuning (docs/theory/attacks.rst, claim C3): exact statements.

Notes
-----
All three rest on the identity ``C W̃ = W`` (:mod:`theory._specdef`).

*(A) Additive injection.*  Keep each defended block ``x ↦ C W̃ x`` frozen and train a parallel
``Δ`` from 0: the block computes ``(C W̃ + Δ)x = (W + Δ)x``, so ``L_attack(Δ) = L(W + Δ)``
identically in Δ — same gradients, same Hessians, same trajectory for every first- or
second-order optimiser and every α.  Cost: one copy of each protected layer, i.e.
``|added|/|original| = n_protected/n_total ≤ 1`` (at most doubling: linear in model size).

*(B) Multiplicative bypass.*  Train B in ``x ↦ B C W̃ x = B W x`` from ``B = I``: the loss is least
squares in B with features ``z = W x``; its Hessian is ``(W Σ_x Wᵀ) ⊗ I`` (vec column-major),
free of α.  GD with step ``1/λ_max`` contracts by ``1 − 1/κ_z`` with ``κ_z = κ(W Σ_x Wᵀ)`` on
its range, so the worst-case step count is ``⌈ln eps/ln(1 − 1/κ_z)⌉`` — α-independent, but set by
``κ_z``, which lies between ``κ(Σ_x)/κ(W)²`` and ``κ(Σ_x)κ(W)²`` (square invertible W), not by
``κ(Σ_x)``.  Overhead ``m²`` per layer.

*(D) Fusion.*  Replace ``(W̃, C)`` by their product ``C W̃ = W``: the released model collapses to
the original one exactly — same steps as undefended, and ``n_compensation`` fewer parameters,
a relative change ``−n_compensation/(n_original + n_compensation)`` of the released size.
"""

from __future__ import annotations

import sympy as sp

from ._gd_quadratic import ceiling_steps, prove_ceiling_steps
from ._prove import bound_equals, symbolic_verdict
from ._registry import register
from ._specdef import specdef_matrices
from ._records import BOUND, Verdict, require
from ._theorem import Theorem

__all__ = ["prove_injection_identity", "prove_bypass_hessian"]

n_protected, n_total, n_comp, n_orig = sp.symbols("n_protected n_total n_compensation n_original",
                                                  positive=True)
kappa_z, eps, kappa_x, kappa_W = sp.symbols("kappa_z eps kappa_x kappa_W", positive=True)
e, p = sp.symbols("e p", positive=True)
_SYMS = {"n_protected": n_protected, "n_total": n_total, "n_compensation": n_comp,
         "n_original": n_orig, "kappa_z": kappa_z, "eps": eps}


def _refined(expr: sp.MatrixExpr, s: dict) -> sp.MatrixExpr:
    return sp.refine(expr, sp.Q.orthogonal(s["U"]) & sp.Q.orthogonal(s["V"])).doit()


def prove_injection_identity() -> bool:
    """``(C W̃ + Δ)X − Y − ((W + Δ)X − Y) = 0`` with matrix symbols and UᵀU = I."""
    s = specdef_matrices()
    rows, cols = s["W"].shape
    N = sp.Symbol("N", positive=True, integer=True)
    delta = sp.MatrixSymbol("Delta", rows, cols)
    X, Y = sp.MatrixSymbol("X", cols, N), sp.MatrixSymbol("Y", rows, N)
    residual_attack = (s["C"] * s["Wt"] + delta) * X - Y
    residual_shifted = (s["W"] + delta) * X - Y
    return sp.simplify(_refined(residual_attack - residual_shifted, s)) == sp.ZeroMatrix(rows, N)


def prove_bypass_hessian() -> bool:
    """``C W̃ = W`` and, on explicit 2x2 symbols, Hessian of ``½‖B W X − Y‖²/N`` in vec(B) is
    ``(W Σ_x Wᵀ) ⊗ I``."""
    s = specdef_matrices()
    if _refined(s["C"] * s["Wt"], s) != s["W"]:
        return False
    B = sp.Matrix(2, 2, sp.symbols("b0:4"))
    W = sp.Matrix(2, 2, sp.symbols("w0:4"))
    X = sp.Matrix(2, 3, sp.symbols("x0:6"))
    Y = sp.Matrix(2, 3, sp.symbols("y0:6"))
    R = B * W * X - Y
    loss = sum(r**2 for r in R) / (2 * 3)
    vec_b = [B[i, j] for j in range(2) for i in range(2)]  # column-major vec
    hess = sp.hessian(loss, vec_b)
    sigma_z = W * (X * X.T / 3) * W.T
    expected = sp.kronecker_product(sigma_z, sp.eye(2))
    return (hess - expected).expand() == sp.zeros(4, 4)


def _prove_injection(th: Theorem) -> Verdict | None:
    if not prove_injection_identity():
        return None
    certificate = symbolic_verdict(th)
    if certificate is None or certificate.status != "proved":
        return None
    return Verdict("proved", "sympy", "matrix symbols: (C·W̃ + Δ)X − Y ≡ (W + Δ)X − Y, so "
                   "L_attack(Δ) = L(W + Δ) for every Δ and α; overhead = n_protected/n_total "
                   "<= 1 (certificate)")


@register("attack.additive_injection.recovery")
def _injection() -> Theorem:
    overhead = n_protected / n_total
    return Theorem(
        id="attack.additive_injection.recovery",
        statement=r"L_{\mathrm{attack}}(\Delta) = L(\theta+\Delta)\ \forall\Delta;\ "
                  r"\frac{|\mathrm{added}|}{|\theta|} = \frac{\sum_i|\theta_i|}{|\theta|} \le 1",
        symbols={"n_protected": n_protected, "n_total": n_total},
        assumptions=(require("n_protected_positive", "n_protected > 0", _SYMS),
                     require("n_protected_le_n_total", "n_protected <= n_total", _SYMS,
                             "n_protected must be <= n_total")),
        bound=overhead, kind="exact", expectation="holds", reference="docs/theory/attacks.rst (A)",
        parameters=("n_protected", "n_total"),
        claim=sp.And(sp.Eq(BOUND, overhead), BOUND <= 1),
        derived={"steps_ratio": sp.Integer(1), "loss_difference": sp.Integer(0)},
        box={"n_protected": (1, 1e9, "logint"), "n_total": (1, 1e10, "logint")},
        positive={"n_protected": n_protected, "n_total": n_protected + e},
        prover=_prove_injection, n_points=128)


def _prove_bypass(th: Theorem) -> Verdict | None:
    expected = ceiling_steps(1 - 1 / kappa_z, eps)
    if not (bound_equals(th, expected) and prove_ceiling_steps() and prove_bypass_hessian()):
        return None
    return Verdict("proved", "sympy", "B·C·W̃ = B·W, Hessian in vec(B) = (WΣ_xWᵀ) ⊗ I (no α); "
                   "GD at step 1/λ_max contracts by 1 − 1/κ_z; least t with rho^t <= eps is the "
                   "ceiling")


@register("attack.bypass.rate")
def _bypass() -> Theorem:
    rho = 1 - 1 / kappa_z
    return Theorem(
        id="attack.bypass.rate",
        statement=r"T_{\mathrm{bypass}}(\varepsilon) = "
                  r"\lceil\ln\varepsilon/\ln(1-1/\kappa_z)\rceil,"
                  r"\ \kappa_z = \kappa(W\Sigma_xW^T),\ \text{independent of }\alpha",
        symbols={"kappa_z": kappa_z, "eps": eps},
        assumptions=(require("kappa_z_ge_1", "kappa_z >= 1", _SYMS),
                     require("eps_range", sp.And(sp.Symbol("eps") > 0, sp.Symbol("eps") < 1),
                             _SYMS, "eps must be in (0, 1)")),
        bound=ceiling_steps(rho, eps), kind="exact", expectation="holds",
        reference="docs/theory/attacks.rst (B) with docs/theory/background.rst, B1",
        parameters=("kappa_z", "eps"),
        claim=sp.And(rho**BOUND <= eps, rho ** (BOUND - 1) > eps),
        derived={"rho": rho, "d_steps_d_alpha": sp.Integer(0),
                 "kappa_z_upper": kappa_x * kappa_W**2, "kappa_z_lower": kappa_x / kappa_W**2},
        box={"kappa_z": (1.0, 1e5, "log"), "eps": (1e-12, 0.5, "log")},
        prover=_prove_bypass, n_points=192)


def _prove_fusion(th: Theorem) -> Verdict | None:
    s = specdef_matrices()
    if _refined(s["C"] * s["Wt"], s) != s["W"]:
        return None
    certificate = symbolic_verdict(th)
    if certificate is None or certificate.status != "proved":
        return None
    return Verdict("proved", "sympy", "matrix symbols: C·W̃ = W, so the fused model is the "
                   "original; size change -n_compensation/(n_original + n_compensation)")


@register("attack.fusion")
def _fusion() -> Theorem:
    change = -n_comp / (n_orig + n_comp)
    released = n_orig + n_comp
    return Theorem(
        id="attack.fusion",
        statement=r"C\tilde W = W:\ \text{fused model} = \text{original};\ "
                  r"\frac{|\mathrm{fused}|-|\mathrm{released}|}{|\mathrm{released}|} = "
                  r"-\frac{n_C}{n_{\mathrm{orig}}+n_C}",
        symbols={"n_compensation": n_comp, "n_original": n_orig},
        assumptions=(require("n_compensation_positive", "n_compensation > 0", _SYMS),
                     require("n_original_positive", "n_original > 0", _SYMS)),
        bound=change, kind="exact", expectation="holds", reference="docs/theory/attacks.rst (D)",
        parameters=("n_compensation", "n_original"),
        claim=sp.Eq(BOUND, (n_orig - released) / released),
        derived={"steps_ratio": sp.Integer(1), "overhead_vs_original": sp.Integer(0)},
        box={"n_compensation": (1, 1e8, "logint"), "n_original": (1, 1e10, "logint")},
        positive={"n_compensation": n_comp, "n_original": n_orig},
        prover=_prove_fusion, n_points=64)
