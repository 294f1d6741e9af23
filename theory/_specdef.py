"""The SpecDef map itself (docs/theory/specdef.rst): spectra of W̃ and C, and function preservation.

Notes
-----
With the full SVD ``W = U Σ Vᵀ`` (U, V orthogonal) and ``T = diag(α,…,α, 1,…,1)`` (k entries α):
``W̃ = U T Σ Vᵀ`` and ``C = U T^{-1} Uᵀ`` (symmetric, m×m).  Then

* ``C W̃ = U T^{-1} UᵀU T Σ Vᵀ = U Σ Vᵀ = W`` — the forward pass is unchanged;
* ``W̃ᵀW̃ = V (TΣ)ᵀ(TΣ) Vᵀ`` is an eigendecomposition, so ``σ_j(W̃) = T_jj σ_j``: α σ_j for
  ``j ≤ k``, σ_j after — still in decreasing order because α ≥ 1 multiplies the *top* k;
* ``C`` has eigenvalues ``1/T_jj``: 1/α (k times) and 1; ``κ(C) = α`` when ``0 < k < m``.

In floating point, ``fl(C fl(W̃x))`` has error at most ``γ_c ‖|C|‖‖|W̃|‖‖x‖`` with
``γ_c = c u/(1 − c u)`` (Higham 2002, Lemma 3.3 and §3.5): with ``c = (n + m)·√(m r)`` absorbing
the inner dimensions and the ``‖|A|‖ ≤ √rank ‖A‖`` conversion, ``‖C‖ = 1`` and ``‖W̃‖ = α σ_1(W)``,
the relative error is at most ``α γ_c``.  Its first-order term is the model ``c·α·u`` that
:meth:`evaluate` returns; :meth:`prove` certifies ``cαu ≤ αγ_c ≤ cαu(1 + 2cu)`` for ``cu ≤ ½``.
Measured errors are usually far smaller (random rounding gives ``c = O(√n)``).
"""

from __future__ import annotations

import random
from typing import Any, Mapping

import mpmath
import sympy as sp

from ._mpmatrix import diag, orthogonal, svd_sorted
from ._errors import TheoryError
from ._prove import bound_equals
from ._registry import register
from ._records import BOUND, Verdict, require, require_integer
from ._theorem import Theorem

__all__ = ["specdef_matrices", "prove_specdef_identities"]

sigma, alpha, u, c = sp.symbols("sigma alpha u c", positive=True)
j = sp.Symbol("j", positive=True, integer=True)
k = sp.Symbol("k", nonnegative=True, integer=True)
m = sp.Symbol("m", positive=True, integer=True)
v = sp.Symbol("v", positive=True)
_SYMS = {"sigma": sigma, "alpha": alpha, "u": u, "c": c, "j": j, "k": k}


def specdef_matrices() -> dict[str, sp.MatrixExpr]:
    """Matrix-symbol SpecDef of ``W = U Σ Vᵀ``: ``W``, ``W̃``, ``C`` (U, V orthogonal, T diag)."""
    mm, nn = sp.symbols("m n", positive=True, integer=True)
    U, V = sp.MatrixSymbol("U", mm, mm), sp.MatrixSymbol("V", nn, nn)
    T, S = sp.MatrixSymbol("T", mm, mm), sp.MatrixSymbol("Sigma", mm, nn)
    return {"U": U, "V": V, "T": T, "Sigma": S, "W": U * S * V.T, "Wt": U * T * S * V.T,
            "C": U * T.I * U.T}


def prove_specdef_identities() -> dict[str, bool]:
    """Check ``C W̃ = W``, ``W̃ᵀW̃ = V (TΣ)ᵀ(TΣ) Vᵀ`` and ``CᵀC = U T⁻ᵀT⁻¹ Uᵀ`` with UᵀU = I."""
    s = specdef_matrices()
    U, V, T, S = s["U"], s["V"], s["T"], s["Sigma"]
    orth = sp.Q.orthogonal(U) & sp.Q.orthogonal(V)
    ref = lambda e: sp.refine(e, orth).doit()  # noqa: E731
    return {"CWt_equals_W": ref(s["C"] * s["Wt"]) == s["W"],
            "gram_Wt": ref(s["Wt"].T * s["Wt"]) == V * S.T * T.T * T * S * V.T,
            "gram_C": ref(s["C"].T * s["C"]) == U * T.T.I * T.I * U.T}


def _t_jj() -> sp.Expr:
    return sp.Piecewise((alpha, j <= k), (1, True))


def _prove_spectrum(th: Theorem) -> Verdict | None:
    facts = prove_specdef_identities()
    if not (all(facts.values()) and bound_equals(th, _t_jj() * sigma)):
        return None
    return Verdict("proved", "sympy", "matrix symbols with UᵀU = VᵀV = I: C·W̃ = W and "
                   "W̃ᵀW̃ = V(TΣ)ᵀ(TΣ)Vᵀ, an eigendecomposition, so σ_j(W̃) = T_jj·σ_j (the bound)")


def _spectrum_oracle(point: Mapping[str, Any]) -> Any:
    """σ_j(W̃) from an explicit 5×4 instance built with σ_j(W) = sigma, via two mpmath SVDs."""
    jj, kk = int(point["j"]), int(point["k"])
    if jj > 4:  # the explicit instance has 4 singular values
        raise TheoryError(f"specdef.weight_spectrum: the oracle's 5x4 instance needs j <= 4, "
                          f"got j={point['j']!r}")
    rng = random.Random(hash((float(point["sigma"]), float(point["alpha"]), jj, kk)) & 0xFFFF)
    rows, cols, s0 = 5, 4, mpmath.mpf(point["sigma"])
    values = [s0 * mpmath.mpf(2) ** (jj - 1 - i) for i in range(cols)]  # σ_j = sigma, decreasing
    w = orthogonal(rng, rows) * diag(values, rows, cols) * orthogonal(rng, cols).T
    uu, s, vv = svd_sorted(w)
    t = [mpmath.mpf(point["alpha"]) if i < kk else 1 for i in range(len(s))]
    wt = uu * diag([ti * si for ti, si in zip(t, s)], len(s), len(s)) * vv.T
    return svd_sorted(wt)[1][jj - 1]


@register("specdef.weight_spectrum")
def _spectrum() -> Theorem:
    return Theorem(
        id="specdef.weight_spectrum",
        statement=r"\sigma_j(\tilde W) = \alpha\sigma_j(W)\ (j\le k),\ \sigma_j(W)\ (j>k);\ "
                  r"\mathrm{eig}(C) = \{1/\alpha\ (k\times),\ 1\};\ C\tilde W = W",
        symbols={"sigma": sigma, "alpha": alpha, "j": j, "k": k},
        assumptions=(require("sigma_positive", "sigma > 0", _SYMS),
                     require("alpha_ge_1", "alpha >= 1", _SYMS),
                     require_integer("j_integer", "j", 1), require_integer("k_integer", "k", 0)),
        bound=_t_jj() * sigma, kind="exact", expectation="holds",
        reference="docs/theory/specdef.rst (SpecDef construction, steps 1-4)",
        parameters=("sigma", "alpha", "j", "k"), oracle=_spectrum_oracle,
        derived={"C_eigenvalue": 1 / _t_jj(), "kappa_C": alpha, "sigma1_ratio": alpha,
                 "params_added": m**2},
        box={"sigma": (0.1, 10.0, "log"), "alpha": (1.0, 1e6, "log"), "j": (1, 4, "int"),
             "k": (0, 4, "int")},
        prover=_prove_spectrum, n_points=48)


@register("specdef.function_preservation")
def _preservation() -> Theorem:
    rigorous = c * alpha * u / (1 - c * u)
    return Theorem(
        id="specdef.function_preservation",
        statement=r"\frac{\|\mathrm{fl}(C\,\mathrm{fl}(\tilde W x)) - Wx\|}{\|W\|\|x\|} \le "
                  r"\alpha\gamma_c = c\,\alpha\,u + O(u^2)",
        symbols={"alpha": alpha, "u": u, "c": c},
        assumptions=(require("alpha_ge_1", "alpha >= 1", _SYMS),
                     require("u_positive", "u > 0", _SYMS),
                     require("c_ge_1", "c >= 1", _SYMS),
                     require("cu_small", "2*c*u <= 1", _SYMS, "c*u must be <= 1/2")),
        bound=c * alpha * u, kind="upper", expectation="holds",
        reference="docs/theory/specdef.rst; Higham (2002) Accuracy and Stability, Lemma 3.3, §3.5",
        parameters=("alpha", "u", "c"),
        claim=sp.And(BOUND <= rigorous, rigorous <= BOUND * (1 + 2 * c * u)),
        derived={"rigorous": rigorous,
                 "first_order_ratio": sp.limit(rigorous / (c * alpha * u), u, 0),
                 "exact_arithmetic_error": sp.Integer(0)},
        box={"alpha": (1.0, 1e9, "log"), "u": (2.0**-53, 2.0**-8, "log"), "c": (1.0, 1e4, "log")},
        positive={"alpha": alpha, "c": c, "u": v / (2 * c * (1 + v))}, n_points=128)
