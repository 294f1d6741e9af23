"""Gradient descent on a strongly convex quadratic (docs/theory/background.rst, B1): exact, tight
rates.

Notes
-----
For ``L(w) = ½ (w − w*)ᵀ H (w − w*)`` with spectrum in ``[mu, L]`` the error obeys
``e_t = (I − step·H)^t e_0`` exactly, so everything reduces to scalar functions of one eigenvalue
``λ ∈ [mu, L]``:

* contraction ``ρ(step) = max_λ |1 − step·λ| = max(|1 − step·mu|, |1 − step·L|)`` (``|affine|``
  is convex in λ, so the max over an interval sits at an endpoint), attained with ``e_0`` on the
  eigenvector realising it; minimising over the step, ``1 − step·mu = step·L − 1`` gives
  ``step* = 2/(mu+L)`` and ``ρ* = (κ−1)/(κ+1)``; stability needs ``step < 2/L``;
* steps to ``‖e_t‖ ≤ eps‖e_0‖`` in the worst case: ``min{t : ρ^t ≤ eps} = ⌈ln eps / ln ρ⌉``;
* worst loss after n steps with ``‖e_0‖ = 1``: ``max_λ g(λ)``, ``g(λ) = (λ/2)(1 − step·λ)^{2n}``.
  ``g'(λ) = ½(1 − step·λ)^{2n−1}(1 − (2n+1)·step·λ)`` vanishes at ``λ₁ = 1/(step(2n+1))`` (a
  maximum) and at ``1/step`` (a zero of g); g rises on ``[0, λ₁]``, falls on ``[λ₁, 1/step]`` and
  rises after, so ``max_{[mu,L]} g = max(g(clip(λ₁, mu, L)), g(L))`` — Bousselmi, Hendrickx and
  Glineur (2023), Eq. (4.17), the value PEPit's ``wc_gradient_descent_quadratics`` computes.
"""

from __future__ import annotations

import sympy as sp
from sympy.codegen.cfunctions import log1p

from ._errors import TheoryError
from ._prove import bound_equals, certify_nonnegative, sup_at_endpoints_if_convex
from ._registry import register
from ._records import BOUND, Over, Verdict, require, require_integer
from ._theorem import Theorem

__all__ = ["derive_optimal_step", "derive_worst_case_value", "ceiling_steps",
           "prove_ceiling_steps", "prove_tight_by_convexity"]

mu, L, step, eps, kappa = sp.symbols("mu L step eps kappa", positive=True)
n = sp.Symbol("n", positive=True, integer=True)
lam = sp.Symbol("lam", positive=True)
_SYMS = {"mu": mu, "L": L, "step": step, "eps": eps, "n": n}
_BASE = (require("mu_positive", "mu > 0", _SYMS), require("mu_le_L", "mu <= L", _SYMS),
         require("step_positive", "step > 0", _SYMS))
_REF = "docs/theory/background.rst, B1; Nesterov (2018) Introductory Lectures, §2.1"


def contraction_expr(mu_: sp.Expr, L_: sp.Expr, step_: sp.Expr) -> sp.Expr:
    """``max(|1 − step·mu|, |1 − step·L|)``."""
    return sp.Max(sp.Abs(1 - step_ * mu_), sp.Abs(1 - step_ * L_))


def derive_optimal_step() -> dict[str, sp.Expr]:
    """Optimal step, optimal rate (also in κ) and stability limit of GD on a quadratic.

    Notes
    -----
    For ``0 < step < 2/L`` the contraction is ``1 − step·mu`` (decreasing in the step) until it
    meets ``step·L − 1`` (increasing); the minimum is where they cross.
    """
    (opt,) = sp.solve(sp.Eq(1 - step * mu, step * L - 1), step)
    rate = sp.factor(sp.simplify(1 - opt * mu))
    (limit,) = sp.solve(sp.Eq(step * L - 1, 1), step)
    return {"optimal_step": opt, "optimal_rate": rate,
            "optimal_rate_kappa": sp.factor(sp.simplify(rate.subs(L, kappa * mu))),
            "stability_limit": limit}


def ceiling_steps(rho: sp.Expr, eps_: sp.Expr) -> sp.Expr:
    """``min{t ∈ ℕ : rho^t ≤ eps}`` for ``0 ≤ rho < 1``, ``0 < eps < 1``.

    A contraction written ``1 + x`` (e.g. ``1 − 1/κ``) uses ``log1p(x)``, so that float64
    evaluation keeps full relative accuracy when ``rho`` is within 1e-8 of 1.
    """
    try:
        rho, eps_ = sp.sympify(rho, strict=True), sp.sympify(eps_, strict=True)
        if not (isinstance(rho, sp.Expr) and isinstance(eps_, sp.Expr)):
            raise TypeError("not an expression")
    except (sp.SympifyError, TypeError, ValueError):
        raise TheoryError(f"ceiling_steps: rho and eps must be SymPy expressions or numbers, "
                          f"got rho={rho!r:.40}, eps={eps_!r:.40}") from None
    return sp.Piecewise((1, sp.Eq(rho, 0)), (sp.ceiling(sp.log(eps_) / _log_contraction(rho)), True))


def _log_contraction(rho: sp.Expr) -> sp.Expr:
    """``log rho`` accurate when ``rho`` is within rounding of 1.

    ``1 + x`` gives ``log1p(x)``; ``max_i |1 − x_i|`` (the contraction of
    :func:`contraction_expr`) gives ``max_i log|1 − x_i|`` with ``log1p(−x_i)`` for
    ``x_i < 1``, so a tiny ``step·mu`` (κ beyond 1/eps) still yields a finite, positive count
    instead of ``log(1.0) = 0``.
    """
    rho = sp.sympify(rho)
    const, rest = rho.as_coeff_Add()
    if const == 1:
        return log1p(rest)
    if isinstance(rho, sp.Max) and all(isinstance(a, sp.Abs) for a in rho.args):
        logs = []
        for a in rho.args:
            c0, r0 = a.args[0].as_coeff_Add()
            if c0 not in (1, -1):
                return sp.log(rho)
            x = -r0 if c0 == 1 else r0  # the argument is 1 - x or x - 1
            logs.append(_log_abs_one_minus(x))
        return sp.Max(*logs)
    return sp.log(rho)


def _log_abs_one_minus(x: sp.Expr) -> sp.Expr:
    """``log|1 − x|`` with ``log1p(−x)`` for ``x < 1`` (no rounding of ``1 − x`` first).

    ``x = 1`` gives ``−oo`` explicitly: Python's ``math.log(0)`` raises instead.
    """
    return sp.Piecewise((log1p(-x), x < 1), (-sp.oo, sp.Eq(x, 1)), (sp.log(x - 1), True))


def prove_ceiling_steps() -> bool:
    """Check with SymPy the two facts behind :func:`ceiling_steps`.

    ``d/dt r^t = r^t ln r < 0`` for ``0 < r < 1`` (written ``r = 1/(1+p)``, ``p > 0``), and
    ``r^x = eps`` at ``x = ln eps / ln r``: so ``r^t ≤ eps`` iff ``t ≥ x``, and the least integer
    is ``⌈x⌉``.  (For ``r = 0``: ``r^0 = 1 > eps`` and ``r^1 = 0``, one step.)
    """
    p, t = sp.symbols("p t", positive=True)
    r = 1 / (1 + p)
    decreasing = sp.expand_log(sp.diff(r**t, t), force=True).is_negative
    x = sp.log(eps) / sp.log(r)
    crossing = sp.simplify(sp.powsimp(sp.exp(x * sp.log(r))) - eps) == 0
    return bool(decreasing) and crossing


def prove_tight_by_convexity(th: Theorem) -> Verdict | None:
    """``sup_{[lo, hi]} truth`` for a truth convex in its single ``over`` variable."""
    if not isinstance(th, Theorem) or len(th.over) != 1 or th.truth is None:
        raise TheoryError(f"prove_tight_by_convexity: th must be a Theorem with a truth and one "
                          f"'over' variable, got {th!r:.60}")
    (o,) = th.over
    if not sup_at_endpoints_if_convex(th.truth, o.symbol):
        return None
    sup = sp.Max(th.truth.subs(o.symbol, o.lower), th.truth.subs(o.symbol, o.upper))
    if not bound_equals(th, sup):
        return None
    return Verdict("proved", "sympy", f"truth is convex (|affine|) in {o.name}, so its sup over "
                   f"[{o.lower}, {o.upper}] is attained at an endpoint and equals the bound")


@register("gd.quadratic.contraction")
def _contraction() -> Theorem:
    derived = derive_optimal_step()
    return Theorem(
        id="gd.quadratic.contraction",
        statement=r"\max_{\lambda\in[\mu,L]}|1-\eta\lambda| = \max(|1-\eta\mu|,|1-\eta L|),"
                  r"\quad \eta^*=\tfrac{2}{\mu+L},\ \rho^*=\tfrac{\kappa-1}{\kappa+1}",
        symbols={"mu": mu, "L": L, "step": step}, assumptions=_BASE,
        bound=contraction_expr(mu, L, step), kind="tight", expectation="holds", reference=_REF,
        parameters=("mu", "L", "step"), truth=sp.Abs(1 - step * lam),
        over=(Over(lam, mu, L, "log"),), derived=derived,
        box={"mu": (0.01, 1.0, "log"), "L": (0.01, 100.0, "log"), "step": (1e-3, 3.0, "log")},
        prover=prove_tight_by_convexity, n_points=96)


def _prove_steps(th: Theorem) -> Verdict | None:
    expected = ceiling_steps(contraction_expr(mu, L, step), eps)
    if not (bound_equals(th, expected) and prove_ceiling_steps()):
        return None
    return Verdict("proved", "sympy", "rho^t is strictly decreasing in t and equals eps at "
                   "t = ln(eps)/ln(rho), so the least integer t with rho^t <= eps is the ceiling "
                   "(1 when rho = 0); rho is the tight contraction")


@register("gd.quadratic.steps_to_tolerance")
def _steps() -> Theorem:
    rho = contraction_expr(mu, L, step)
    return Theorem(
        id="gd.quadratic.steps_to_tolerance",
        statement=r"\min\{t:\ \|e_t\|\le\varepsilon\|e_0\|\ \forall e_0\} = "
                  r"\lceil \ln\varepsilon / \ln\rho \rceil,\ \rho=\max(|1-\eta\mu|,|1-\eta L|)",
        symbols={"mu": mu, "L": L, "step": step, "eps": eps},
        assumptions=_BASE + (
            require("step_stable", "step*L < 2", _SYMS, "step must be < 2/L for convergence"),
            # plain symbol: with the positive ``eps``, ``eps > 0`` would collapse to True
            require("eps_range", sp.And(sp.Symbol("eps") > 0, sp.Symbol("eps") < 1), _SYMS,
                    "eps must be in (0, 1)")),
        bound=ceiling_steps(rho, eps), kind="exact", expectation="holds", reference=_REF,
        parameters=("mu", "L", "step", "eps"),
        claim=sp.And(rho**BOUND <= eps, rho**(BOUND - 1) > eps),
        derived={"rho": rho, "continuous_steps": sp.log(eps) / sp.log(rho)},
        box={"mu": (0.01, 1.0, "log"), "L": (0.01, 100.0, "log"),
             "step": (1e-3, 0.2, "log"), "eps": (1e-12, 0.5, "log")},
        prover=_prove_steps, n_points=256)


def derive_worst_case_value() -> dict[str, sp.Expr]:
    """Stationary analysis of ``g(λ) = (λ/2)(1 − step·λ)^{2n}``; returns the pieces and the max."""
    g = lam / 2 * (1 - step * lam) ** (2 * n)
    dg = sp.diff(g, lam)
    factored = sp.Rational(1, 2) * (1 - step * lam) ** (2 * n - 1) * (1 - (2 * n + 1) * step * lam)
    (lam1,) = sp.solve(sp.Eq(1 - (2 * n + 1) * step * lam, 0), lam)
    (zero,) = sp.solve(sp.Eq(1 - step * lam, 0), lam)
    clip = sp.Min(sp.Max(lam1, mu), L)
    # float64 form: (1 − step·λ)^(2n) rounds 1 − step·λ and then multiplies its error by 2n
    # (9.5e-11 at n = 1e6); exp(y), y = 2n·log1p(−step·λ), carries |y|·u — the conditioning of
    # exp, about |ln value|·u (7e-17 at n = 1e6 in the benchmark), not 2n·u.  That accuracy is
    # for the product fl(step·λ) as stored: the value's relative sensitivity to step or to λ
    # (= L at the maximiser) is 2n·step·λ/|1 − step·λ|, so the rounding of step and L
    # themselves (u each) can move it by ~2n·u relative, which no evaluation can undo
    g_float = lam / 2 * sp.exp(2 * n * _log_abs_one_minus(step * lam))
    return {"g": g, "dg": dg, "dg_factored": factored, "stationary_point": lam1,
            "zero_of_g": zero, "clipped_point": clip,
            "value": sp.Max(g.subs(lam, clip), g.subs(lam, L)),
            "value_float": sp.Max(g_float.subs(lam, clip), g_float.subs(lam, L))}


def _prove_worst_case(th: Theorem) -> Verdict | None:
    d = derive_worst_case_value()
    w = sp.Symbol("w", positive=True)  # w = 1 - step*lam; n is an integer, so this is polynomial
    facts = [
        sp.simplify((d["dg"] - d["dg_factored"]).subs(lam, (1 - w) / step)) == 0,  # g' factorises
        sp.simplify(d["g"].subs(lam, d["zero_of_g"])) == 0,       # g(1/step) = 0
        certify_nonnegative(d["zero_of_g"] - d["stationary_point"]),  # λ₁ < 1/step
        bound_equals(th, d["value"]),
    ]
    if not all(facts):
        return None
    return Verdict("proved", "sympy", "g' = ½(1-step·λ)^(2n-1)(1-(2n+1)step·λ): g rises to "
                   "λ₁ = 1/(step(2n+1)), falls to its zero 1/step > λ₁, rises after; so the max "
                   "over [mu, L] is max(g(clip(λ₁)), g(L)), which is the bound")


@register("gd.quadratic.worst_case_value")
def _worst_case() -> Theorem:
    d = derive_worst_case_value()
    return Theorem(
        id="gd.quadratic.worst_case_value",
        statement=r"\sup\{f(x_n)-f_*:\ \mu I\preceq H\preceq LI,\ \|x_0-x_*\|=1\} = "
                  r"\max_{\lambda\in[\mu,L]}\tfrac{\lambda}{2}(1-\eta\lambda)^{2n}",
        symbols={"mu": mu, "L": L, "step": step, "n": n},
        assumptions=_BASE + (require_integer("n_integer", "n", 1),),
        bound=d["value"], kind="tight", expectation="holds",
        reference=_REF + "; Bousselmi, Hendrickx, Glineur (2023) Eq. (4.17)",
        parameters=("mu", "L", "step", "n"), truth=d["g"], over=(Over(lam, mu, L, "log"),),
        derived={k: d[k] for k in ("stationary_point", "clipped_point", "dg_factored")},
        box={"mu": (0.01, 1.0, "log"), "L": (0.05, 10.0, "log"), "step": (0.01, 2.0, "log"),
             "n": (1, 60, "logint")},
        prover=_prove_worst_case, n_points=64, float_form=d["value_float"])
