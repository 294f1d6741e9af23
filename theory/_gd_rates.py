"""Textbook first-order rates (docs/theory/background.rst, B2–B3): upper bounds and Nesterov's lower
bound.

Notes
-----
The upper bounds hold for every L-smooth (μ-strongly) convex function; what :meth:`prove` can
check is their restriction to quadratics, where ``e_t = (I − H/L)^t e_0`` and the worst case is a
single eigen-direction with curvature ``λ``:

* B2, strongly convex, step ``1/L``: loss ratio ``(1 − λ/L)^{2t} ≤ (1 − μ/L)^t`` for
  ``λ ∈ [μ, L]``; since ``1 − x ≤ e^{−x}``, ``T(ε) ≤ ⌈(L/μ) ln(1/ε)⌉`` for a loss ratio ε;
* B3, convex, step ``1/L``: ``(λ/2)(1 − λ/L)^{2t} R² ≤ L R²/(2t)`` for ``λ ∈ [0, L]``;
* B3, exact worst case (Drori & Teboulle 2014, Thm 3.1 and §3.3): over every L-smooth convex f
  and ``‖x_0 − x*‖ ≤ R``, GD with step ``1/L`` has ``f(x_t) − f* ≤ L R²/(4t + 2)``, with equality
  on the one-dimensional Huber function ``L·h_δ`` (``x²/2`` for ``|x| ≤ δ``, ``δ|x| − δ²/2``
  beyond) at ``δ = R/(2t+1)``, ``x_0 = R``.  No quadratic attains it: on ``λx²/2`` the gap is
  ``(λ/2)(1 − λ/L)^{2t}R²``, at most about ``L R²/(4et)``.  What :meth:`prove` checks is the
  Huber family: for ``δ ∈ (0, R/(t+1)]`` every step moves ``x`` by exactly ``δ`` (the iterate
  stays on the linear piece, ``x_{t−1} = R − (t−1)δ ≥ δ``), so
  ``f(x_t) = L(δR − (t + ½)δ²)``, whose supremum over δ is ``L R²/(4t+2)`` at ``δ = R/(2t+1)``;
* Nesterov's lower bound: for ``k = 2t + 1`` the chain quadratic
  ``f_k(x) = (L/4)(½[x_1² + Σ_{i<k}(x_i − x_{i+1})² + x_k²] − x_1)`` has minimiser
  ``x*_i = 1 − i/(k+1)`` and ``min f_k = (L/8)(1/(k+1) − 1)``; every method whose iterates lie in
  the span of past gradients has ``x_t ∈ span(e_1..e_t)`` from ``x_0 = 0``, where the least value
  is ``min f_t``.  Rescaled to ``‖x_0 − x*‖ = R`` the gap is
  ``R²(min f_t − min f_k)/‖x*‖² = 3 L R² / (4 (2t+1)(4t+3))``, which is ``≥ 3LR²/(32(t+1)²)``:
  the difference has numerator ``3LR²(6t + 5) > 0``.
"""

from __future__ import annotations

import sympy as sp

from ._registry import register
from ._records import Over, Verdict, require, require_integer
from ._theorem import Theorem

__all__ = ["derive_chain_quadratic"]

mu, L, R, eps, kappa = sp.symbols("mu L R eps kappa", positive=True)
t = sp.Symbol("t", positive=True, integer=True)
d = sp.Symbol("d", positive=True, integer=True)
lam = sp.Symbol("lam", positive=True)
_SYMS = {"mu": mu, "L": L, "R": R, "t": t, "d": d}


def derive_chain_quadratic() -> dict[str, sp.Expr]:
    """Nesterov's chain quadratic: minimiser, minima, norm and the resulting lower bound.

    Notes
    -----
    ``x_i = 1 − i/(j+1)`` zeroes the gradient of ``f_j`` (interior rows ``2x_i − x_{i−1} −
    x_{i+1} = 0``, first row ``2x_1 − x_2 − 1 = 0``, last row ``2x_j − x_{j−1} = 0``); the value
    and ``‖x*‖²`` follow by symbolic summation.
    """
    i, j = sp.symbols("i j", positive=True, integer=True)
    x = lambda i_: 1 - i_ / (j + 1)  # noqa: E731
    stationary = [sp.simplify(2 * x(i) - x(i - 1) - x(i + 1)), sp.simplify(2 * x(1) - x(2) - 1),
                  sp.simplify(2 * x(j) - x(j - 1))]
    inner = sp.summation((x(i) - x(i + 1)) ** 2, (i, 1, j - 1))
    fmin = sp.simplify(L / 4 * (sp.Rational(1, 2) * (x(1) ** 2 + inner + x(j) ** 2) - x(1)))
    norm_sq = sp.factor(sp.summation(x(i) ** 2, (i, 1, j)))
    k = 2 * t + 1
    gap = sp.factor(sp.simplify(fmin.subs(j, t) - fmin.subs(j, k)))
    value = sp.factor(sp.simplify(R**2 * gap / norm_sq.subs(j, k)))
    return {"stationarity": sp.Tuple(*stationary), "min_value": fmin, "norm_sq": norm_sq,
            "krylov_gap": gap, "chain_value": value}


@register("gd.strongly_convex.linear_rate")
def _linear_rate() -> Theorem:
    return Theorem(
        id="gd.strongly_convex.linear_rate",
        statement=r"f(\theta_t)-f_* \le (1-\mu/L)^t\,(f(\theta_0)-f_*),\ \eta=1/L",
        symbols={"mu": mu, "L": L, "t": t},
        assumptions=(require("mu_positive", "mu > 0", _SYMS), require("mu_le_L", "mu <= L", _SYMS),
                     require_integer("t_integer", "t", 0)),
        bound=(1 - mu / L) ** t, kind="upper", expectation="holds",
        reference="docs/theory/background.rst, B2; Nesterov (2018) Thm 2.1.15; checked on "
                  "quadratics",
        parameters=("mu", "L", "t"), truth=(1 - lam / L) ** (2 * t),
        over=(Over(lam, mu, L, "log"),),
        derived={"steps_upper": sp.ceiling(kappa * sp.log(1 / eps)),
                 "rate_kappa": 1 - 1 / kappa},
        box={"mu": (0.01, 1.0, "log"), "L": (0.01, 100.0, "log"), "t": (0, 300, "int")},
        n_points=96)


@register("gd.smooth_convex.sublinear")
def _sublinear() -> Theorem:
    return Theorem(
        id="gd.smooth_convex.sublinear",
        statement=r"f(\theta_t)-f_* \le \frac{L\|\theta_0-\theta_*\|^2}{2t},\ \eta=1/L",
        symbols={"L": L, "t": t, "R": R},
        assumptions=(require("L_positive", "L > 0", _SYMS), require_integer("t_integer", "t", 1),
                     require("R_positive", "R > 0", _SYMS)),
        bound=L * R**2 / (2 * t), kind="upper", expectation="holds",
        reference="docs/theory/background.rst, B3; Nesterov (2018) Cor. 2.1.2; checked on "
                  "quadratics",
        parameters=("L", "t", "R"), truth=lam / 2 * (1 - lam / L) ** (2 * t) * R**2,
        over=(Over(lam, 0, L, "lin"),),
        box={"L": (0.01, 100.0, "log"), "t": (1, 1000, "logint"), "R": (0.1, 10.0, "log")},
        n_points=96)


_delta = sp.Symbol("delta", positive=True)


def _prove_exact_worst_case(th: Theorem) -> Verdict | None:
    """bound − truth is ``L(t + ½)(δ − R/(2t+1))²`` (≥ 0) and vanishes at ``δ = R/(2t+1)``,
    which lies in ``(0, R/(t+1)]``: the supremum over the Huber family is the bound."""
    (o,) = th.over
    at = R / (2 * t + 1)
    gap = sp.expand(th.bound - th.truth)
    square = sp.expand(L * (t + sp.Rational(1, 2)) * (o.symbol - at) ** 2)
    inside = sp.simplify(o.upper - at)  # R/(t+1) − R/(2t+1) = R t/((t+1)(2t+1)) >= 0
    if sp.simplify(gap - square) != 0 or not (inside.is_nonnegative or sp.factor(inside)
                                               .is_nonnegative):
        return None
    return Verdict("proved", "sympy", "bound − truth = L(t+1/2)(delta − R/(2t+1))² >= 0, zero at "
                   "delta = R/(2t+1) <= R/(t+1): the sup over the Huber family equals the bound "
                   "(that no other L-smooth convex f does worse is Drori & Teboulle's theorem)")


@register("gd.smooth_convex.exact_worst_case")
def _exact_worst_case() -> Theorem:
    delta = _delta
    return Theorem(
        id="gd.smooth_convex.exact_worst_case",
        statement=r"\sup\{f(\theta_t)-f_*:\ f\ L\text{-smooth convex},\ "
                  r"\|\theta_0-\theta_*\|\le R\} = \frac{L R^2}{4t+2},\ \eta=1/L",
        symbols={"L": L, "t": t, "R": R},
        assumptions=(require("L_positive", "L > 0", _SYMS), require_integer("t_integer", "t", 1),
                     require("R_positive", "R > 0", _SYMS)),
        bound=L * R**2 / (4 * t + 2), kind="tight", expectation="holds",
        reference="docs/theory/background.rst, B3; Drori & Teboulle (2014) Math. Program. 145, "
                  "Thm 3.1 and "
                  "§3.3 (attained by a Huber function); checked on the Huber family",
        parameters=("L", "t", "R"), truth=L * (delta * R - (t + sp.Rational(1, 2)) * delta**2),
        over=(Over(delta, 0, R / (t + 1), "lin"),),
        derived={"huber_delta": R / (2 * t + 1), "huber_final_point": R * (t + 1) / (2 * t + 1),
                 "ratio_to_sublinear": 2 * t / (4 * t + 2)},
        box={"L": (0.01, 100.0, "log"), "t": (1, 1000, "logint"), "R": (0.1, 10.0, "log")},
        prover=_prove_exact_worst_case, n_points=96)


@register("first_order.nesterov_lower_bound")
def _nesterov() -> Theorem:
    chain = derive_chain_quadratic()
    return Theorem(
        id="first_order.nesterov_lower_bound",
        statement=r"\exists f\ L\text{-smooth convex quadratic on }\mathbb{R}^d,\ "
                  r"t\le\tfrac{d-1}{2}:"
                  r"\ f(x_t)-f_* \ge \frac{3L\|x_0-x_*\|^2}{32(t+1)^2}\ \forall x_t\in x_0+"
                  r"\mathrm{span}\{\nabla f(x_0),\dots,\nabla f(x_{t-1})\}",
        symbols={"L": L, "t": t, "R": R, "d": d},
        assumptions=(require("L_positive", "L > 0", _SYMS), require_integer("t_integer", "t", 1),
                     require("R_positive", "R > 0", _SYMS),
                     require_integer("d_integer", "d", 1),
                     require("d_large", "d >= 2*t + 1", _SYMS, "d must be >= 2t + 1")),
        bound=3 * L * R**2 / (32 * (t + 1) ** 2), kind="lower", expectation="holds",
        reference="docs/theory/background.rst, B3; Nesterov (2018) Thm 2.1.7",
        parameters=("L", "t", "R", "d"), truth=chain["chain_value"], derived=chain,
        box={"L": (0.01, 100.0, "log"), "t": (1, 1000, "logint"), "R": (0.1, 10.0, "log"),
             "d": (3, 5000, "logint")},
        positive={"L": L, "t": t, "R": R})
