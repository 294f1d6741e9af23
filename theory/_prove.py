"""Symbolic tactics of ``Theorem.prove`` and the order in which they are tried.

Notes
-----
``prove(th)`` tries, in order, and returns the first verdict it gets:

1. ``th.prover(th)`` — a theorem-specific SymPy argument (the derivation of the module), which
   returns ``None`` when it cannot conclude, e.g. because the bound was perturbed;
2. **identity**: an ``exact`` (or ``tight`` without ``over``) claim ``truth == bound`` with
   ``simplify(truth - bound) == 0``;
3. **positive-coefficient certificate**: with ``th.positive`` mapping every parameter and ``over``
   variable to an expression in fresh positive symbols that sweeps (a superset of) the admissible
   set, each inequality ``rhs - lhs >= 0`` is put over a common denominator; if numerator and
   denominator are polynomials whose coefficients all have one sign, the difference is
   nonnegative on the open orthant, hence, by continuity, on its closure;
4. the mpmath check of :mod:`theory._check` (or ``th.numeric``), which never says "proved".
"""

from __future__ import annotations

from typing import Iterable

import sympy as sp

from ._check import numeric_check
from ._errors import TheoryError
from ._records import Verdict
from ._theorem import Theorem

__all__ = ["certify_nonnegative", "sup_at_endpoints_if_convex", "bound_equals",
           "symbolic_verdict", "prove"]


def _positive_sqrt(e: sp.Expr) -> sp.Expr:
    """Rewrite ``sqrt(b)`` as ``sqrt(factor(b))`` so squares of positive terms come out."""
    return e.replace(lambda x: isinstance(x, sp.Pow) and x.exp == sp.S.Half,
                     lambda x: sp.sqrt(sp.factor(x.base)))


def certify_nonnegative(expr: sp.Expr, subs: dict | None = None) -> bool:
    """True if ``expr`` (after ``subs``) is provably >= 0 by a positive-coefficient certificate.

    Every free symbol left after substitution must be declared nonnegative (or positive);
    ``expr`` is written as ``num/den`` and both must be polynomials whose nonzero coefficients
    share one sign — then ``expr >= 0`` wherever it is defined on the closed orthant.
    """
    try:
        e = sp.sympify(expr, strict=isinstance(expr, (list, tuple, dict, set)) or expr is None)
    except Exception:  # SympifyError, and whatever the parser raises on malformed text
        raise TheoryError(f"certify_nonnegative: expr must be a SymPy expression, got "
                          f"{expr!r:.60}") from None
    if not isinstance(e, sp.Expr):
        raise TheoryError(f"certify_nonnegative: expr must be a SymPy expression, got "
                          f"{expr!r:.60}")
    if subs is not None and not isinstance(subs, dict):
        raise TheoryError(f"certify_nonnegative: subs must be a dict of old: new, got "
                          f"{subs!r:.60}")
    if subs:
        e = e.subs(subs, simultaneous=True)
    e = _positive_sqrt(e)
    gens = sorted(e.free_symbols, key=str)
    if not all(g.is_nonnegative for g in gens):
        return False
    num, den = sp.fraction(sp.together(e))
    try:
        pn = sp.Poly(sp.expand(num), *gens) if gens else None
        pd = sp.Poly(sp.expand(den), *gens) if gens else None
    except (sp.PolynomialError, sp.GeneratorsNeeded):
        return False
    if pn is None:
        return bool(e.is_nonnegative)
    if pd.is_zero:
        return False
    if pn.is_zero:
        return True

    def sign(coeffs: Iterable[sp.Expr]) -> int:
        cs = list(coeffs)
        if all(c.is_nonnegative for c in cs):
            return 1
        if all(c.is_nonpositive for c in cs):
            return -1
        return 0

    sn, sd = sign(pn.coeffs()), sign(pd.coeffs())
    return sn != 0 and sn == sd


def sup_at_endpoints_if_convex(truth: sp.Expr, var: sp.Symbol) -> bool:
    """True if ``truth`` is convex in ``var`` by structure: ``|affine|`` or affine in ``var``."""
    if isinstance(truth, sp.Abs):
        truth = truth.args[0]
    return sp.diff(truth, var, 2) == 0


def symbolic_verdict(th: Theorem) -> Verdict | None:
    """Generic SymPy decision: identity by ``simplify`` or positive-coefficient certificate."""
    rels = th.relations()
    if not rels:
        return None
    if all(op == "==" for _, op, _ in rels) and not th.over:
        if all(sp.simplify(lhs - rhs) == 0 for lhs, _, rhs in rels):
            return Verdict("proved", "sympy", "identity: simplify(truth - bound) == 0")
        return None
    if not th.positive or (th.kind == "tight" and th.over):
        return None  # attainment of a tight bound needs a theorem-specific argument
    subs = {th.symbols.get(k) or next(o.symbol for o in th.over if o.name == k): v
            for k, v in th.positive.items()}
    for lhs, op, rhs in rels:
        if op == "==":
            ok = sp.simplify((lhs - rhs).subs(subs, simultaneous=True)) == 0
        elif op in ("<=", "<"):
            ok = certify_nonnegative(rhs - lhs, subs)
        else:
            ok = certify_nonnegative(lhs - rhs, subs)
        if not ok:
            return None
    where = " for all " + ", ".join(o.name for o in th.over) if th.over else ""
    return Verdict("proved", "sympy certificate",
                   f"positive-coefficient certificate of every relation{where} under the "
                   f"parametrisation {', '.join(f'{k}={v}' for k, v in th.positive.items())}")


def prove(th: Theorem) -> Verdict:
    """Tri-state verdict for ``th`` (see the module notes for the order of tactics)."""
    if th.prover is not None:
        verdict = th.prover(th)
        if verdict is not None:
            return verdict
    verdict = symbolic_verdict(th)
    if verdict is not None:
        return verdict
    if th.numeric is not None:
        return th.numeric(th)
    return numeric_check(th)


def _probe(symbol: sp.Symbol, k: int) -> sp.Rational:
    """A value admissible for ``symbol``'s assumptions (positive/integer), varied with ``k``."""
    if symbol.is_integer:
        return sp.Integer(2 + 3 * k)
    return sp.Rational(7 + 5 * k, 11 + 2 * k)


def bound_equals(th: Theorem, expected: sp.Expr) -> bool:
    """Whether the (possibly perturbed) bound of ``th`` is identically ``expected``.

    Structural equality is accepted at once; a difference that is nonzero at an exact rational
    probe point is rejected at once; otherwise ``simplify`` must reduce it to 0.
    """
    if th.bound == expected:
        return True
    diff = th.bound - expected
    for k in range(3):
        value = diff.subs({s: _probe(s, k) for s in diff.free_symbols}).evalf(30)
        if value.is_number and value != 0 and abs(value) > 1e-25:
            return False
    return sp.simplify(diff) == 0
