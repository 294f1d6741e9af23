"""Number formats: absorbed updates, stall thresholds of SpecDef layers, the GD window.

Notes
-----
**Absorbed update.**  A binary format with ``p`` significand bits stores a normal ``w`` with
``2^e ≤ |w| < 2^(e+1)`` as ``w = M q``, ``q = 2^(e−p+1) = ulp(w)``, ``M`` an integer in
``[2^(p−1), 2^p)``.  Its neighbours are ``(M ± 1) q`` (below ``w = 2^e`` the neighbour is
``w − q/2``: the binade under it is twice as fine).  Round to nearest sends ``w + δ`` to ``w``
while ``|δ|`` is smaller than half the gap on its side: ``fl(w + δ) = w`` iff ``|δ| < ulp(w)/2``,
or ``|δ| = ulp(w)/2`` and ``M`` is even (ties to even); toward zero from a power of two the
radius is ``ulp(w)/4``.  So the largest absorbed ``|δ|`` over the binade is ``2^(e−p) = ulp/2``,
attained at even ``M``; relative to ``|w|`` it lies in ``(u/2, u]``, ``u = 2^−p``.

**Stall thresholds of a SpecDef layer.**  In the inflated directions a SpecDef layer stores
``w̃ = α w`` and (C frozen or trained jointly: ``∂L/∂W̃ = Cᵀ(∂L/∂(CW̃))``, and ``C`` shrinks
those directions by ``1/α``) sees the gradient ``g̃ = g/α``, where ``w, g`` are the undefended
layer's entry and gradient.  Write ``|w̃| = 2^E f`` with ``f ∈ [1, 2)``; then ``ulp(w̃)/2 =
u 2^E = u|w̃|/f``.  A step of size ``η·d`` is absorbed below ``ulp(w̃)/(2|d|)`` (away from zero;
half of it toward zero from ``f = 1``), so the smallest effective learning rate is

* GD, ``d = g̃``: ``η* = u α² (|w|/|g|)/f`` — growing like ``α²``; for ``α`` a power of two ``f``
  does not change with ``α`` and ``η*(α) = α² η*(1)`` exactly;
* Adam/AdamW without decay, first step (``m̂ = g̃``, ``v̂ = g̃²``), ``d = g̃/(|g̃| + ε)``:
  ``η* = u 2^E (1 + εα/|g|) = ulp(w̃)/2 · (1 + εα/|g|)`` with ``2^E = α|w|/f`` — growing like
  ``α`` only (through the binade ``2^E`` of ``α|w|``), whatever the gradient's scale.

If some inflated output directions are left out (``k < m``), ``C`` passes the gradient in the
other directions unshrunk while the entries are still of order ``α``: GD's threshold then grows
like ``α``, not ``α²``.

**The GD window.**  Joint training of ``(W̃, C)`` has ``σ_1(H) ≥ α² s`` with
``s = σ_1(W)² v_1ᵀΣ_x v_1`` (the SpecDef Hessian theorem), so a stable GD step needs
``η < 2/(α² s)``.  The window of learning rates that are both stable and effective,
``u α² r ≤ η < 2/(α² s)`` (``r`` the undefended layer's weight-to-gradient ratio, ``f = 1``),
closes at ``α* = (2/(u r s))^(1/4)``; with the binade factor ``f ∈ [1, 2)`` the closing point lies
in ``[α*, 2^(1/4) α*]``.  The stable rate itself falls below a level ``ℓ`` for
``α > (2/(s ℓ))^(1/2)``: below the smallest normal ``N`` (subnormal) at ``(2/(sN))^(1/2)``,
below half the smallest subnormal ``S`` (it rounds to 0) at ``(4/(sS))^(1/2)``.

**The paper's claim** that ``α ≥ 10⁶`` puts the feasible learning rate below the smallest effective
one, in the subnormal region, is read per format as ``max(α*, (2/(sN))^(1/2)) ≤ α`` for every
``α ≥ 10⁶`` and every layer with ``s, r ∈ [10⁻², 10²]``.  Both terms decrease in ``s`` and
``r``, so the worst layer is the corner ``s = r = 10⁻²``: there ``α* ≤ 1.2·10⁵`` even in float64,
while ``(2/(sN))^(1/2)`` is ``1.8·10³`` for float16 and float8-e5m2, ``1.1·10²`` for float8-e4m3 —
and ``1.3·10²⁰`` for bfloat16 and float32, whose exponent range keeps ``2/(α²s) ≈ 10⁻¹²`` a
normal number.  Expected: holds for float16 and both float8 formats (where the stable rate is in
fact flushed to 0 by ``α = 10⁶``), refuted for bfloat16 and float32 (the window is closed by
absorption, far below 10⁶, but nothing is subnormal).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Mapping

import sympy as sp

from ._errors import TheoryError
from ._prove import bound_equals
from ._registry import register
from ._records import BOUND, Assumption, Verdict, require, require_integer
from ._theorem import Theorem

__all__ = ["FORMAT_FACTS", "round_nearest_even", "paper_claim_formats"]

#: (p, u, smallest normal N, smallest subnormal S) of each format, exact.
FORMAT_FACTS = {
    "float64": (53, sp.Rational(1, 2**53), sp.Rational(1, 2**1022), sp.Rational(1, 2**1074)),
    "float32": (24, sp.Rational(1, 2**24), sp.Rational(1, 2**126), sp.Rational(1, 2**149)),
    "bfloat16": (8, sp.Rational(1, 2**8), sp.Rational(1, 2**126), sp.Rational(1, 2**133)),
    "float16": (11, sp.Rational(1, 2**11), sp.Rational(1, 2**14), sp.Rational(1, 2**24)),
    "float8_e4m3fn": (4, sp.Rational(1, 2**4), sp.Rational(1, 2**6), sp.Rational(1, 2**9)),
    "float8_e5m2": (3, sp.Rational(1, 2**3), sp.Rational(1, 2**14), sp.Rational(1, 2**16)),
}
#: The formats whose reading of the paper's claim is registered, with the expected verdict.
_CLAIM_EXPECT = {"bfloat16": "refuted", "float16": "holds", "float8_e4m3fn": "holds",
                 "float8_e5m2": "holds", "float32": "refuted"}
PAPER_ALPHA = 10**6
LAYER_BOX = (sp.Rational(1, 100), sp.Integer(100))  # s and r of a layer normalised near 1
_REF = "docs/theory/number_formats.rst; Higham (2002) Accuracy and Stability, §2.1"

p, e = sp.Symbol("p", positive=True, integer=True), sp.Symbol("e", integer=True)
alpha, u, ratio, f = sp.symbols("alpha u ratio f", positive=True)
E = sp.Symbol("E", integer=True)
w, g, eps, s, level = sp.symbols("w g eps s level", positive=True)
_SYMS = {"p": p, "e": e, "alpha": alpha, "u": u, "ratio": ratio, "f": f, "w": w, "g": g,
         "eps": eps, "s": s, "level": level, "E": E}


def paper_claim_formats() -> dict[str, str]:
    """Format -> expected verdict of the paper's α ≥ 10⁶ claim (from the module's derivation)."""
    return dict(_CLAIM_EXPECT)


# ----------------------------------------------------------------------------- exact rounding
def round_nearest_even(x: Fraction, bits: int) -> Fraction:
    """``x`` rounded to ``bits`` significand bits, ties to even, unbounded exponent range."""
    if x == 0:
        return Fraction(0)
    sign = -1 if x < 0 else 1
    a = abs(x)
    k = a.numerator.bit_length() - a.denominator.bit_length()
    if a < Fraction(2) ** k:
        k -= 1
    q = Fraction(2) ** (k - bits + 1)
    n, rem = divmod(a / q, 1)
    n = int(n)
    if rem > Fraction(1, 2) or (rem == Fraction(1, 2) and n % 2 == 1):
        n += 1
    return sign * n * q


def _threshold(bits: int, w_stored: Fraction, step: Any) -> Fraction:
    """inf{η > 0 : fl(w + η·step(η)) ≠ w}, by bisection on exact rationals (step > 0 moves up)."""
    lo, hi = Fraction(0), Fraction(1)
    while round_nearest_even(w_stored + hi * step, bits) == w_stored:
        hi *= 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if round_nearest_even(w_stored + mid * step, bits) == w_stored:
            lo = mid
        else:
            hi = mid
    return hi


def _rel_gap(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def _numeric_by_oracle(th: Theorem, points: list[dict], oracle: Any, what: str) -> Verdict:
    """Compare the bound with an exact-rounding oracle at ``points`` (a planted error shows)."""
    for pt in points:
        want = oracle(pt)
        got = float(th.evaluate_mp(40, **{k: pt[k] for k in th.parameters}))
        if _rel_gap(got, float(want)) > 1e-12:
            return Verdict("refuted", "exact rounding", f"{what}: bound {got:.12g} but exact "
                           f"rounding gives {float(want):.12g}", dict(pt))
    return Verdict("unproven", "exact rounding", f"numerically verified: bound equals the exact "
                   f"{what} at {len(points)} points", None, len(points))


#: Ranges in which the exact-rounding oracles compute (rationals of a few thousand bits).
_ORACLE_RANGE = {"p": (2, 113), "e": (-1100, 1100), "E": (-1100, 1100)}


def _oracle_violation(oracle: Any) -> Any:
    def violation(th: Theorem, point: Mapping[str, float]) -> float:
        th.check_assumptions({k: point[k] for k in th.parameters})
        for name, (lo, hi) in _ORACLE_RANGE.items():
            if name in point and not lo <= float(point[name]) <= hi:
                raise TheoryError(f"{th.id}: the exact-rounding oracle needs {name} in [{lo}, "
                                  f"{hi}], got {name}={point[name]!r}")
        want = float(oracle(point))
        got = float(th.evaluate_mp(40, **{k: point[k] for k in th.parameters}))
        return _rel_gap(got, want)
    return violation


# ----------------------------------------------------------------------------- (a) absorption
def derive_absorption_radius() -> dict[str, sp.Expr]:
    """Midpoint between ``w = M q`` and its upper neighbour ``(M+1) q``, ``q = 2^(e−p+1)``."""
    M, d = sp.symbols("M delta", positive=True)
    q = 2 ** (e - p + 1)
    (mid,) = sp.solve(sp.Eq(d, q - d), d)  # |w + δ − w| = |w + δ − (w + q)|
    (mid_low,) = sp.solve(sp.Eq(d, q / 2 - d), d)  # toward zero from w = 2^e: gap q/2
    return {"ulp": q, "radius": sp.simplify(mid), "radius_below_power_of_two":
            sp.simplify(mid_low), "relative_radius_max": 2 ** (e - p) / 2**e,
            "relative_radius_min": 2 ** (e - p) / 2 ** (e + 1)}


def _absorption_oracle(pt: Mapping[str, Any]) -> Fraction:
    """Largest absorbed |δ| over the binade (sup), by exact rounding at even and odd
    significands, on both sides, the power of two 2^e included."""
    bits, ee = int(pt["p"]), int(pt["e"])
    q = Fraction(2) ** (ee - bits + 1)
    return max(_threshold(bits, M * q, sign)
               for M in {2 ** (bits - 1), 2 ** (bits - 1) + 1, 2**bits - 2, 2**bits - 1}
               for sign in (1, -1))


def _absorption_points() -> list[dict]:
    return [{"p": pp, "e": ee} for pp in (2, 3, 4, 8, 11, 24) for ee in (-20, -1, 0, 7)]


def _prove_absorption(th: Theorem) -> Verdict | None:
    d = derive_absorption_radius()
    if not (bound_equals(th, d["radius"]) and sp.simplify(d["radius_below_power_of_two"]
                                                          - d["radius"] / 2) == 0):
        return None
    return Verdict("proved", "sympy", "w = M·2^(e-p+1): the midpoint to the upper neighbour is "
                   "2^(e-p) = ulp/2 (attained at even M by ties to even), toward zero from 2^e "
                   "the midpoint is ulp/4; so the sup of absorbed |δ| is the bound")


@register("precision.absorbed_update")
def _absorbed() -> Theorem:
    return Theorem(
        id="precision.absorbed_update",
        statement=r"\mathrm{fl}(w+\delta)=w \iff |\delta|<\tfrac{1}{2}\mathrm{ulp}(w)\ \text{or}\ "
                  r"(|\delta|=\tfrac{1}{2}\mathrm{ulp}(w),\ w\ \text{even});\quad "
                  r"\sup_{2^e\le|w|<2^{e+1}}\{|\delta|\ \text{absorbed}\} = 2^{e-p}",
        symbols={"p": p, "e": e},
        assumptions=(require_integer("p_integer", "p", 2),
                     require_integer("e_integer", "e", -(10**6))),
        bound=2 ** (e - p), kind="tight", expectation="holds", reference=_REF,
        parameters=("p", "e"), derived=derive_absorption_radius(),
        box={"p": (2, 53, "int"), "e": (-60, 60, "int")}, prover=_prove_absorption,
        numeric=lambda th: _numeric_by_oracle(th, _absorption_points(), _absorption_oracle,
                                              "largest absorbed update"),
        violation_fn=_oracle_violation(_absorption_oracle), n_points=24)


# ----------------------------------------------------------------------------- (b) stall
def derive_stall_thresholds() -> dict[str, sp.Expr]:
    """η* = (ulp(w̃)/2)/|d| with ulp(w̃)/2 = u 2^E = u|w̃|/f, for GD and Adam's first step."""
    wt, gt = alpha * w, g / alpha
    half_ulp = u * wt / f
    gd = sp.simplify((half_ulp / gt).subs(w, ratio * g))
    adam_dir = gt / (gt + eps)
    adam_w = sp.simplify(half_ulp / adam_dir)  # in the undefended entry w and its binade f
    adam = sp.simplify(adam_w.subs(w, f * 2**E / alpha))  # α|w| = 2^E f: f cancels
    return {"gd": gd, "adam": adam, "adam_in_w": adam_w, "gd_sup_over_f": gd.subs(f, 1),
            "gd_inf_over_f": gd.subs(f, 2), "gd_power_of_two_scaling": alpha**2,
            "adam_without_eps": sp.limit(adam, eps, 0), "adam_power_of_two_scaling": alpha}


def _stall_points(kind: str) -> list[dict]:
    """Points with a stored significand ``M/2^(p−1)`` (GD: ``f``; Adam: the entry ``2^E·f``)."""
    out = []
    for bits in (3, 8, 11, 24):
        for j, a in enumerate((1, 2**5, 3 * 2**9, 1000)):
            M = 2 ** (bits - 1) + (j * 5 + 1) % 2 ** (bits - 1)
            fv = M / 2 ** (bits - 1)
            pt = {"alpha": a, "u": 2.0**-bits, "f": fv}
            if kind == "gd":
                pt["ratio"] = [0.37, 2.0, 11.0, 0.01][j]
            else:
                pt.pop("f")
                pt.update(E=[-3, 0, 4, 9][j], g=[1.0, 0.5, 3e-3, 2.0][j],
                          eps=[0.0, 1e-8, 1e-3, 1e-8][j], M=M)
            out.append(pt)
    return out


def _stall_oracle(kind: str) -> Any:
    def oracle(pt: Mapping[str, Any]) -> Fraction:
        bits = round(-math.log2(float(pt["u"])))
        a = Fraction(pt["alpha"])
        if kind == "gd":
            wt = Fraction(pt["f"])  # stored inflated entry in the binade [1, 2): the threshold
            gt = wt / (Fraction(pt["ratio"]) * a * a)  # depends on w/g only; g̃ = g/α
            return _threshold(bits, wt, gt)
        M = int(pt.get("M", 2 ** (bits - 1) + 1))  # any stored significand of the binade
        wt = Fraction(M, 2 ** (bits - 1)) * Fraction(2) ** int(pt["E"])  # the stored α·w
        gt = Fraction(pt["g"]) / a
        return _threshold(bits, wt, gt / (gt + Fraction(pt["eps"])))  # Adam's first direction
    return oracle


def _prove_stall(kind: str) -> Any:
    def prover(th: Theorem) -> Verdict | None:
        if not bound_equals(th, derive_stall_thresholds()[kind]):
            return None
        return Verdict("proved", "sympy", "ulp(w̃)/2 = u|w̃|/f with w̃ = αw, g̃ = g/α; dividing "
                       "by the step's direction gives the bound (identity)")
    return prover


_STALL_BASE = (require("alpha_ge_1", "alpha >= 1", _SYMS),
               require("u_range", sp.And(sp.Symbol("u") > 0, sp.Symbol("u") <= sp.Rational(1, 2)),
                       _SYMS, "u must be in (0, 1/2]"),
               require("f_binade", sp.And(sp.Symbol("f") >= 1, sp.Symbol("f") < 2), _SYMS,
                       "f must be in [1, 2) (|w̃| = 2^E f)"))


@register("precision.stall_threshold.gd")
def _stall_gd() -> Theorem:
    d = derive_stall_thresholds()
    return Theorem(
        id="precision.stall_threshold.gd",
        statement=r"\inf\{\eta:\ \mathrm{fl}(\tilde w-\eta\tilde g)\ne\tilde w\} = "
                  r"\frac{u\,\alpha^2\,|w|/|g|}{f},\quad \tilde w=\alpha w,\ \tilde g=g/\alpha,\ "
                  r"|\tilde w|=2^E f",
        symbols={k: _SYMS[k] for k in ("alpha", "u", "ratio", "f")},
        assumptions=_STALL_BASE + (require("ratio_positive", "ratio > 0", _SYMS),),
        bound=d["gd"], kind="exact", expectation="holds", reference=_REF,
        parameters=("alpha", "u", "ratio", "f"),
        derived={k: d[k] for k in ("gd_sup_over_f", "gd_inf_over_f", "gd_power_of_two_scaling")},
        box={"alpha": (1.0, 1e6, "log"), "u": (2.0**-53, 0.125, "log"),
             "ratio": (1e-3, 1e3, "log"), "f": (1.0, 1.99, "lin")},
        prover=_prove_stall("gd"),
        numeric=lambda th: _numeric_by_oracle(th, _stall_points("gd"), _stall_oracle("gd"),
                                              "GD stall threshold"),
        violation_fn=_oracle_violation(_stall_oracle("gd")), n_points=16)


@register("precision.stall_threshold.adam")
def _stall_adam() -> Theorem:
    d = derive_stall_thresholds()
    return Theorem(
        id="precision.stall_threshold.adam",
        statement=r"\inf\{\eta:\ \mathrm{fl}(\tilde w-\eta\,\hat m/(\sqrt{\hat v}+\varepsilon))"
                  r"\ne\tilde w\} = u\,2^E(1+\varepsilon\alpha/|g|),\ "
                  r"2^E\le\alpha|w|<2^{E+1}\ \text{(first step)}",
        symbols={k: _SYMS[k] for k in ("alpha", "u", "E", "g", "eps")},
        assumptions=_STALL_BASE[:2] + (require_integer("E_integer", "E", -(10**6)),
                                       require("g_positive", "g > 0", _SYMS),
                                       require("eps_nonnegative", "eps >= 0", _SYMS)),
        bound=d["adam"], kind="exact", expectation="holds", reference=_REF + "; Kingma & Ba "
        "(2015); Loshchilov & Hutter (2019)",
        parameters=("alpha", "u", "E", "g", "eps"),
        derived={k: d[k] for k in ("adam_in_w", "adam_without_eps",
                                   "adam_power_of_two_scaling")},
        box={"alpha": (1.0, 1e6, "log"), "u": (2.0**-53, 0.125, "log"), "E": (-40, 40, "int"),
             "g": (1e-6, 10.0, "log"), "eps": (1e-12, 1e-6, "log")},
        prover=_prove_stall("adam"),
        numeric=lambda th: _numeric_by_oracle(th, _stall_points("adam"), _stall_oracle("adam"),
                                              "Adam stall threshold"),
        violation_fn=_oracle_violation(_stall_oracle("adam")), n_points=16)


# ----------------------------------------------------------------------------- (c) the window
def closing_alpha_expr(u_: sp.Expr, ratio_: sp.Expr, s_: sp.Expr) -> sp.Expr:
    """``(2/(u r s))^(1/4)``: where GD's stable rate ``2/(α² s)`` meets ``u α² r``."""
    return (2 / (u_ * ratio_ * s_)) ** sp.Rational(1, 4)


def below_level_expr(s_: sp.Expr, level_: sp.Expr) -> sp.Expr:
    """``(2/(s ℓ))^(1/2)``: beyond it GD's stable rate ``2/(α² s)`` is below ``ℓ``."""
    return sp.sqrt(2 / (s_ * level_))


@register("precision.gd_window.closing_alpha")
def _closing() -> Theorem:
    a_ = sp.Symbol("a", positive=True)
    (sol,) = sp.solve(sp.Eq(2 / (a_**2 * s), u * a_**2 * ratio), a_)
    return Theorem(
        id="precision.gd_window.closing_alpha",
        statement=r"u\,\alpha^2 r \le \eta < \frac{2}{\alpha^2 s}\ \text{is empty iff}\ "
                  r"\alpha \ge \alpha^* = (2/(u r s))^{1/4}",
        symbols={"u": u, "ratio": ratio, "s": s},
        assumptions=(require("u_range", sp.And(sp.Symbol("u") > 0,
                                               sp.Symbol("u") <= sp.Rational(1, 2)), _SYMS,
                             "u must be in (0, 1/2]"),
                     require("ratio_positive", "ratio > 0", _SYMS),
                     require("s_positive", "s > 0", _SYMS)),
        bound=closing_alpha_expr(u, ratio, s), kind="exact", expectation="holds",
        reference=_REF + "; the SpecDef joint-Hessian bound σ_1(H) ≥ α² σ_1(W)² v_1ᵀΣ_x v_1",
        parameters=("u", "ratio", "s"),
        claim=sp.Eq(2 / (BOUND**2 * s), u * BOUND**2 * ratio),
        derived={"solved": sol, "closing_alpha_with_binade_factor":
                 2 ** sp.Rational(1, 4) * closing_alpha_expr(u, ratio, s),
                 "stable_rate": 2 / (sp.Symbol("alpha", positive=True) ** 2 * s),
                 "gd_stall_rate": u * sp.Symbol("alpha", positive=True) ** 2 * ratio},
        box={"u": (2.0**-53, 0.125, "log"), "ratio": (1e-3, 1e3, "log"), "s": (1e-3, 1e3, "log")},
        n_points=64)


@register("precision.gd_window.stable_rate_below")
def _below() -> Theorem:
    return Theorem(
        id="precision.gd_window.stable_rate_below",
        statement=r"\frac{2}{\alpha^2 s} < \ell \iff \alpha > \sqrt{2/(s\ell)}\quad"
                  r"(\ell = N_F:\ \text{subnormal};\ \ell = S_F/2:\ \text{rounds to } 0)",
        symbols={"s": s, "level": level},
        assumptions=(require("s_positive", "s > 0", _SYMS),
                     require("level_positive", "level > 0", _SYMS)),
        bound=below_level_expr(s, level), kind="exact", expectation="holds",
        reference=_REF, parameters=("s", "level"),
        claim=sp.Eq(2 / (BOUND**2 * s), level),
        derived={f"{name}_{what}": below_level_expr(s, lv) for name, (_, _, N, S) in
                 FORMAT_FACTS.items() for what, lv in (("subnormal", N), ("zero", S / 2))},
        box={"s": (1e-3, 1e3, "log"), "level": (1e-300, 1.0, "log")}, n_points=64)


# ----------------------------------------------------------------------------- the paper's claim
def claim_alpha_expr(fmt: str) -> sp.Expr:
    """``max(α*, (2/(s N_F))^(1/2))``: beyond it GD's stable rate is absorbed and subnormal."""
    _, uf, N, _ = FORMAT_FACTS[fmt]
    return sp.Max(closing_alpha_expr(uf, ratio, s), below_level_expr(s, N))


def _prove_claim(fmt: str) -> Any:
    def prover(th: Theorem) -> Verdict | None:
        expr = th.bound
        # decreasing in s and ratio (negative powers under Max): the worst layer is the corner
        for var in (s, ratio):
            for arg in (expr.args if isinstance(expr, sp.Max) else (expr,)):
                if not sp.simplify(sp.diff(arg, var)).is_nonpositive:
                    return None
        lo = LAYER_BOX[0]
        worst = expr.subs({s: lo, ratio: lo})
        point = {"s": float(lo), "ratio": float(lo), "alpha": float(PAPER_ALPHA)}
        holds = bool(worst <= PAPER_ALPHA)
        where = f"worst layer s = ratio = {lo}: closing alpha = {sp.N(worst, 6)}"
        if holds:
            return Verdict("proved", "sympy", f"the bound decreases in s and ratio; {where} <= "
                           f"{PAPER_ALPHA}, and alpha >= {PAPER_ALPHA}")
        return Verdict("refuted", "sympy", f"{where} > {PAPER_ALPHA}: at alpha = 1e6 the stable "
                       f"rate 2/(alpha^2 s) is still a normal {fmt} number", point)
    return prover


def _in_box(name: str) -> Assumption:
    lo, hi = LAYER_BOX
    return require(f"{name}_normalised", sp.And(sp.Symbol(name) >= lo, sp.Symbol(name) <= hi),
                   _SYMS, f"{name} must be in [{lo}, {hi}] (a layer normalised near 1)")


def _claim_theorem(fmt: str) -> Theorem:
    tid = f"precision.paper_claim.{fmt}"
    return Theorem(
        id=tid,
        statement=r"\alpha\ge 10^6 \Rightarrow \frac{2}{\alpha^2 s} < \min(u_F\alpha^2 r,\ "
                  r"N_F)\quad\text{(" + fmt.replace("_", r"\_") + r")}",
        symbols={"s": s, "ratio": ratio, "alpha": alpha},
        assumptions=(_in_box("s"), _in_box("ratio"),
                     require("alpha_paper", f"alpha >= {PAPER_ALPHA}", _SYMS)),
        bound=claim_alpha_expr(fmt), kind="upper", expectation=_CLAIM_EXPECT[fmt],
        reference="paper (α ≥ 10⁶ advice, 'subnormal floating-point region'); " + _REF,
        parameters=("s", "ratio", "alpha"), claim=BOUND <= alpha,
        derived={"closing_alpha": closing_alpha_expr(FORMAT_FACTS[fmt][1], ratio, s),
                 "subnormal_alpha": below_level_expr(s, FORMAT_FACTS[fmt][2]),
                 "zero_alpha": below_level_expr(s, FORMAT_FACTS[fmt][3] / 2)},
        box={"s": (0.01, 100.0, "log"), "ratio": (0.01, 100.0, "log"),
             "alpha": (1e6, 1e9, "log")},
        prover=_prove_claim(fmt), n_points=64)


for _fmt in _CLAIM_EXPECT:
    register(f"precision.paper_claim.{_fmt}")(lambda _f=_fmt: _claim_theorem(_f))
