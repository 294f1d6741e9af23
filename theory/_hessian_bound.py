"""The paper's Hessian lower bound ("Theorem 3", docs/theory/theorem3.rst): displayed and corrected
forms.

Notes
-----
For a cross-block ``A·B·C`` of the Hessian, with ``sA = σ_{r1}(A)``, ``sB1, sB2 = σ_1(B), σ_2(B)``,
``sC = σ_{r2}(C)`` and our reading of the angles, ``cos θ_1 = ‖P_{top-r1 right sing. vectors of A}
u_1(B)‖`` and ``cos θ_2 = ‖P_{top-r2 left sing. vectors of C} v_1(B)‖``:

* displayed: ``σ_1(ABC) ≥ sA·sB1·sC·cos θ_1·cos θ_2`` — **false** under this reading.  Exact
  counterexample: ``A = e_1 aᵀ``, ``B = diag(2, 1)``, ``C = c e_1ᵀ`` with ``a = (3/5, 4/5)``,
  ``c = (3/5, −4/5)``: ``ABC = (aᵀBc) e_1e_1ᵀ``, ``aᵀBc = 18/25 − 16/25``, so
  ``σ_1(ABC) = 2/25 < 18/25``.
* corrected: ``σ_1(ABC) ≥ sA·sC·(sB1 cos θ_1 cos θ_2 − sB2 sin θ_1 sin θ_2)``.  Proof sketch: pick
  unit ``p`` in the top-r1 right singular space of A with ``⟨p, u_1⟩ = cos θ_1`` and ``x`` with
  ``xᵀA = s pᵀ``, ``s ≥ sA``; likewise ``q``, ``y`` with ``Cy = s' q``, ``s' ≥ sC``; writing
  ``p = cos θ_1 u_1 + sin θ_1 p_⊥``, ``q = cos θ_2 v_1 + sin θ_2 q_⊥`` the cross terms vanish and
  ``|p_⊥ᵀBq_⊥| ≤ sB2``.  The scalars alone cannot decide ``σ_1(ABC)``, so :meth:`prove` proves
  what it can symbolically (corrected ≤ displayed ≤ sA·sB1·sC, equality when ``sB2 = 0`` or an
  angle is 0, equality with σ_1(ABC) on the exact instance above) and checks the matrix
  inequality numerically on random triples; it reports ``unproven``, never ``proved``.  The
  adversarial counterexample search lives in ``specdef check``.
"""

from __future__ import annotations

import random
from typing import Any, Mapping

import mpmath
import sympy as sp

from ._mpmatrix import gaussian, projector_norm, svd_sorted
from ._errors import TheoryError
from ._prove import bound_equals, certify_nonnegative
from ._registry import register
from ._records import Verdict, require
from ._theorem import Theorem

__all__ = ["theorem3_scalars", "exact_counterexample"]

sA, sB1, sB2, sC, cos1, cos2 = sp.symbols("sA sB1 sB2 sC cos1 cos2", nonnegative=True)
_SYMS = {"sA": sA, "sB1": sB1, "sB2": sB2, "sC": sC, "cos1": cos1, "cos2": cos2}
_PARAMS = ("sA", "sB1", "sB2", "sC", "cos1", "cos2")
_ALPHA = sp.Symbol("alpha", positive=True)
sin1, sin2 = sp.sqrt(1 - cos1**2), sp.sqrt(1 - cos2**2)
DISPLAYED = sA * sB1 * sC * cos1 * cos2
CORRECTED = sA * sC * (sB1 * cos1 * cos2 - sB2 * sin1 * sin2)
_ASSUMPTIONS = tuple(require(n, rel, _SYMS) for n, rel in (
    ("sA_nonnegative", "sA >= 0"), ("sB2_nonnegative", "sB2 >= 0"), ("sB2_le_sB1", "sB2 <= sB1"),
    ("sC_nonnegative", "sC >= 0"), ("cos1_nonnegative", "cos1 >= 0"), ("cos1_le_1", "cos1 <= 1"),
    ("cos2_nonnegative", "cos2 >= 0"), ("cos2_le_1", "cos2 <= 1")))
_REF = "docs/theory/theorem3.rst (paper's Theorem 3, our angle reading)"


def _decompose(A: Any, B: Any, C: Any) -> tuple:
    """SVDs of A, B, C and σ_1(ABC), computed once per triple."""
    return svd_sorted(A), svd_sorted(B), svd_sorted(C), svd_sorted(A * B * C)[1][0]


def _scalars(dec: tuple, r1: int, r2: int) -> dict[str, Any]:
    (_, s_a, v_a), (u_b, s_b, v_b), (u_c, s_c, _), top = dec
    col = lambda m, k: [m[i, k] for i in range(m.rows)]  # noqa: E731
    return {"sA": s_a[r1 - 1], "sB1": s_b[0], "sB2": s_b[1] if len(s_b) > 1 else mpmath.mpf(0),
            "sC": s_c[r2 - 1], "cos1": min(projector_norm(v_a, r1, col(u_b, 0)), 1),
            "cos2": min(projector_norm(u_c, r2, col(v_b, 0)), 1), "sigma1_ABC": top}


def theorem3_scalars(A: Any, B: Any, C: Any, r1: int, r2: int) -> dict[str, Any]:
    """The six scalars of the bound and ``sigma1_ABC`` for mpmath matrices A, B, C.

    ``A, B, C`` must chain (``(p,q), (q,s), (s,t)``); ``1 <= r1 <= min(p, q)`` and
    ``1 <= r2 <= min(s, t)``; otherwise :class:`TheoryError`.
    """
    func = "theorem3_scalars"
    for name, m in (("A", A), ("B", B), ("C", C)):
        if not isinstance(m, mpmath.matrix):
            raise TheoryError(f"{func}: {name} must be an mpmath matrix, got {type(m).__name__}")
    if A.cols != B.rows or B.cols != C.rows:
        raise TheoryError(f"{func}: shapes must chain as (p,q),(q,s),(s,t), got A({A.rows}, "
                          f"{A.cols}), B({B.rows}, {B.cols}), C({C.rows}, {C.cols})")
    for name, r, top in (("r1", r1, min(A.rows, A.cols)), ("r2", r2, min(C.rows, C.cols))):
        if isinstance(r, bool) or not isinstance(r, int) or not 1 <= r <= top:
            raise TheoryError(f"{func}: {name} must be an integer in [1, {top}], got {r!r}")
    return _scalars(_decompose(A, B, C), r1, r2)


def exact_counterexample() -> dict[str, Any]:
    """The rank-one instance of the module notes, with its scalars computed exactly by SymPy."""
    a, c = sp.Matrix([sp.Rational(3, 5), sp.Rational(4, 5)]), sp.Matrix([sp.Rational(3, 5),
                                                                         -sp.Rational(4, 5)])
    e1 = sp.Matrix([1, 0])
    A, B, C = e1 * a.T, sp.diag(2, 1), c * e1.T

    def top(sym: sp.Matrix) -> list[tuple[sp.Expr, sp.Matrix]]:
        pairs = [(val, vec / vec.norm()) for val, _, vecs in sym.eigenvects() for vec in vecs]
        return sorted(pairs, key=lambda t: -t[0])

    right_a, left_c = top(A.T * A), top(C * C.T)
    u1, v1 = top(B * B.T)[0][1], top(B.T * B)[0][1]
    s_b = [sp.sqrt(val) for val, _ in top(B.T * B)]
    abc = A * B * C
    return {"A": A, "B": B, "C": C, "r1": 1, "r2": 1, "sA": sp.sqrt(right_a[0][0]),
            "sB1": s_b[0], "sB2": s_b[1], "sC": sp.sqrt(left_c[0][0]),
            "cos1": sp.Abs((right_a[0][1].T * u1)[0]), "cos2": sp.Abs((left_c[0][1].T * v1)[0]),
            "sigma1_ABC": sp.sqrt(max(val for val, _ in top(abc.T * abc)))}


def _point(inst: Mapping[str, Any]) -> dict[str, float]:
    out = {k: float(inst[k]) for k in _PARAMS + ("r1", "r2", "sigma1_ABC")}
    for name in ("A", "B", "C"):
        m = inst[name]
        for i in range(m.rows):
            for j in range(m.cols):
                out[f"{name}[{i},{j}]"] = float(m[i, j])
    return out


def _matrix(point: Mapping[str, float], name: str) -> Any:
    keys = [k for k in point if k.startswith(name + "[")]
    rows = 1 + max(int(k[len(name) + 1:-1].split(",")[0]) for k in keys)
    cols = 1 + max(int(k[len(name) + 1:-1].split(",")[1]) for k in keys)
    return mpmath.matrix([[point[f"{name}[{i},{j}]"] for j in range(cols)] for i in range(rows)])


def _violation(th: Theorem, point: Mapping[str, float]) -> float:
    """Relative excess of the bound over σ_1(ABC), recomputed from the matrices if present."""
    with mpmath.workdps(30):
        if any(k.startswith("A[") for k in point):
            try:
                mats = [_matrix(point, name) for name in ("A", "B", "C")]
                r1, r2 = int(point["r1"]), int(point["r2"])
            except (KeyError, ValueError, TypeError, IndexError) as exc:
                raise TheoryError(f"{th.id}: point must hold every entry A[i,j], B[i,j], C[i,j] "
                                  f"and integers r1, r2 ({type(exc).__name__}: "
                                  f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
            scal = theorem3_scalars(*mats, r1, r2)
        else:
            if "sigma1_ABC" not in point:
                raise TheoryError(f"{th.id}: point must hold sigma1_ABC (or the matrices "
                                  f"A[i,j], B[i,j], C[i,j] with r1, r2) besides the parameters, "
                                  f"got {', '.join(sorted(point))}")
            scal = {k: mpmath.mpf(point[k]) for k in _PARAMS + ("sigma1_ABC",)}
        bound = th.evaluate_mp(30, **{k: scal[k] for k in _PARAMS})
        top = scal["sigma1_ABC"]
        return float((bound - top) / max(abs(bound), abs(top), mpmath.mpf("1e-300")))


def _random_search(th: Theorem, triples: int = 36) -> Verdict:
    """σ_1(ABC) >= bound on random 2x2/3x3 triples, half of A and C of rank one (20 digits)."""
    rng, checked = random.Random(2602_18868), 0
    bound_fn = th._lambdified("mpmath")
    tiny = mpmath.mpf("1e-12")
    with mpmath.workdps(20):
        for i in range(triples):
            p, q, s, t = (rng.choice((2, 3)) for _ in range(4))
            A = gaussian(rng, p, 1) * gaussian(rng, 1, q) if i % 2 == 0 else gaussian(rng, p, q)
            C = gaussian(rng, s, 1) * gaussian(rng, 1, t) if i % 4 < 2 else gaussian(rng, s, t)
            B = gaussian(rng, q, s)
            dec = _decompose(A, B, C)
            rank_a = sum(1 for x in dec[0][1] if x > tiny)
            rank_c = sum(1 for x in dec[2][1] if x > tiny)
            for r1 in range(1, rank_a + 1):
                for r2 in range(1, rank_c + 1):
                    checked += 1
                    scal = _scalars(dec, r1, r2)
                    bound = bound_fn(*(scal[k] for k in _PARAMS))
                    if bound <= scal["sigma1_ABC"] * (1 + tiny):
                        continue
                    point = {f"{n}[{a},{b}]": float(m[a, b]) for n, m in (("A", A), ("B", B),
                             ("C", C)) for a in range(m.rows) for b in range(m.cols)}
                    point.update(r1=r1, r2=r2)
                    if _violation(th, point) > 1e-12:  # re-evaluated at the float entries
                        point.update({k: float(v) for k, v in scal.items()})
                        return Verdict("refuted", "mpmath random matrices", f"counterexample "
                                       f"(triple {i}, r1={r1}, r2={r2}): bound exceeds "
                                       f"sigma1(ABC) = {float(scal['sigma1_ABC']):.6g}",
                                       point, checked)
    return Verdict("unproven", "mpmath random matrices", f"numerically verified on {checked} "
                   f"(triple, r1, r2) cases", None, checked)


def _exact_refutation(th: Theorem) -> Verdict | None:
    inst = exact_counterexample()
    bound = th.bound.subs({_SYMS[k]: inst[k] for k in _PARAMS})
    if sp.simplify(bound - inst["sigma1_ABC"]).is_positive:
        return Verdict("refuted", "sympy exact instance", f"A = e1·(3/5, 4/5)ᵀ, B = diag(2, 1), "
                       f"C = (3/5, -4/5)·e1ᵀ: bound {bound} > sigma1(ABC) = {inst['sigma1_ABC']}",
                       _point(inst), 1)
    return None


def _prove_displayed(th: Theorem) -> Verdict:
    return _exact_refutation(th) or _random_search(th)


def _prove_corrected(th: Theorem) -> Verdict:
    refuted = _exact_refutation(th)
    if refuted is not None:
        return refuted
    f, p1, p2 = sp.symbols("f p1 p2", positive=True)
    subs = {sB1: sB2 + f, cos1: (1 - p1**2) / (1 + p1**2), cos2: (1 - p2**2) / (1 + p2**2)}
    inst = exact_counterexample()
    facts = {
        "bound <= displayed": certify_nonnegative(DISPLAYED - th.bound, subs),
        "bound <= sA*sB1*sC": certify_nonnegative(sA * sB1 * sC - th.bound, subs),
        "= displayed at sB2 = 0": bound_equals(th, CORRECTED)
        and CORRECTED.subs(sB2, 0) == DISPLAYED,
        "= displayed at cos1 = 1": bound_equals(th, CORRECTED)
        and CORRECTED.subs(cos1, 1) == DISPLAYED.subs(cos1, 1),
        "= sigma1(ABC) on the exact rank-1 instance": sp.simplify(
            th.bound.subs({_SYMS[k]: inst[k] for k in _PARAMS}) - inst["sigma1_ABC"]) == 0,
    }
    numeric = _random_search(th)
    if numeric.status == "refuted":
        return numeric
    proved = "; ".join(k for k, ok in facts.items() if ok) or "nothing"
    return Verdict("unproven", "sympy + mpmath random matrices", f"sympy proved: {proved}; "
                   f"sigma1(ABC) >= bound {numeric.detail}; adversarial search: specdef check",
                   None, numeric.n_points)


def _make(theorem_id: str, bound: sp.Expr, expectation: str, prover: Any,
          statement: str) -> Theorem:
    return Theorem(
        id=theorem_id, statement=statement, symbols=_SYMS, assumptions=_ASSUMPTIONS, bound=bound,
        kind="lower", expectation=expectation, reference=_REF, parameters=_PARAMS,
        derived={"sin1": sin1, "sin2": sin2, "alpha_scaling": sp.simplify(
            bound.subs({sB1: _ALPHA * sB1, sB2: _ALPHA * sB2}, simultaneous=True) / bound)},
        box={"sA": (0.1, 10.0, "log"), "sB1": (0.1, 10.0, "log"), "sB2": (0.0, 5.0, "lin"),
             "sC": (0.1, 10.0, "log"), "cos1": (0.0, 1.0, "lin"), "cos2": (0.0, 1.0, "lin")},
        prover=prover, violation_fn=_violation)


@register("hessian_bound.displayed")
def _displayed() -> Theorem:
    return _make("hessian_bound.displayed", DISPLAYED, "refuted", _prove_displayed,
                 r"\sigma_1(ABC) \ge \sigma_{r_1}(A)\,\sigma_1(B)\,\sigma_{r_2}(C)\cos\theta_1"
                 r"\cos\theta_2")


@register("hessian_bound.corrected")
def _corrected() -> Theorem:
    return _make("hessian_bound.corrected", CORRECTED, "holds", _prove_corrected,
                 r"\sigma_1(ABC) \ge \sigma_{r_1}(A)\,\sigma_{r_2}(C)\,[\sigma_1(B)\cos\theta_1"
                 r"\cos\theta_2 - \sigma_2(B)\sin\theta_1\sin\theta_2]")
