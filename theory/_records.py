"""Small records of :mod:`theory`: hypotheses, quantified variables, verdicts.

:data:`BOUND` is the placeholder for a theorem's bound inside its claim.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import sympy as sp

from ._errors import TheoryError

__all__ = ["BOUND", "Assumption", "Over", "Verdict", "require", "require_integer"]

#: Placeholder for the theorem's bound inside claims; replaced by ``Theorem.bound``.
BOUND = sp.Symbol("BOUND", real=True)

KINDS = ("tight", "upper", "lower", "exact")
EXPECTATIONS = ("holds", "refuted")
STATUSES = ("proved", "refuted", "unproven")


@dataclass(frozen=True)
class Assumption:
    """A named hypothesis: ``predicate`` (a SymPy relation or a callable on a dict of values).

    The callable form receives ``{name: value}`` with floats, mpmath numbers or NumPy arrays and
    returns a truth value (elementwise for arrays); it is used where a relation cannot say it,
    e.g. integrality.  ``params`` names the parameters quoted when the hypothesis fails.
    """

    name: str
    predicate: Any
    message: str
    params: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.predicate, sp.Basic):
            names = tuple(sorted(str(s) for s in self.predicate.free_symbols))
            object.__setattr__(self, "_names", names)  # argument order of the lambdified form
            if not self.params:
                object.__setattr__(self, "params", names)
        elif not callable(self.predicate):
            raise TheoryError(f"Assumption: predicate of '{self.name}' must be a SymPy relation "
                              f"or a callable, got {type(self.predicate).__name__}")

    def holds(self, values: Mapping[str, Any], *, arrays: bool = False) -> Any:
        """Truth value of the hypothesis at ``values`` (elementwise when ``arrays``)."""
        missing = [p for p in self.params if p not in values]
        if missing:
            raise TheoryError(f"Assumption '{self.name}': missing parameter '{missing[0]}'")
        try:
            return self._holds(values, arrays)
        except (TypeError, KeyError) as exc:
            raise TheoryError(f"Assumption '{self.name}': parameters "
                              f"{', '.join(self.params)} must be real numbers, got "
                              f"{', '.join(f'{p}={values.get(p)!r:.30}' for p in self.params)} "
                              f"({type(exc).__name__})") from None

    def _holds(self, values: Mapping[str, Any], arrays: bool) -> Any:
        if not isinstance(self.predicate, sp.Basic):
            return self.predicate(values)
        names = self.__dict__["_names"]
        if not names:
            return bool(self.predicate)
        attr = "_fn_numpy" if arrays else "_fn_math"
        fn = self.__dict__.get(attr)
        if fn is None:
            symbols = sorted(self.predicate.free_symbols, key=str)
            fn = sp.lambdify(symbols, self.predicate, modules="numpy" if arrays else "math")
            object.__setattr__(self, attr, fn)  # per-instance lambdify cache
        return fn(*(values[n] for n in names))


def require(name: str, relation: str | sp.Basic, symbols: Mapping[str, sp.Symbol],
            message: str | None = None) -> Assumption:
    """An :class:`Assumption` from a relation such as ``"mu <= L"``.

    The default message is ``"<lhs> must be <op> <rhs>"``.
    """
    if not isinstance(symbols, Mapping):
        raise TheoryError(f"require: symbols must be a mapping of names to SymPy symbols, got "
                          f"{type(symbols).__name__}")
    # Plain symbols: with the theorem's (e.g. positive) symbols "mu > 0" would evaluate to True.
    plain = {name: sp.Symbol(name) for name in symbols}
    if isinstance(relation, str):
        try:
            rel = sp.sympify(relation, locals=plain)
        except Exception:  # SympifyError, and whatever the parser raises on malformed text
            raise TheoryError(f"require: relation of '{name}' must parse as a SymPy relation, "
                              f"got {relation!r:.60}") from None
    elif isinstance(relation, sp.Basic):
        rel = relation.subs({s: plain[k] for k, s in symbols.items()}, simultaneous=True)
    else:
        raise TheoryError(f"require: relation of '{name}' must be a string or a SymPy relation, "
                          f"got {type(relation).__name__}")
    if rel in (sp.true, sp.false):
        raise TheoryError(f"require: assumption '{name}' is constant ({rel})")
    if message is None:
        if not isinstance(rel, sp.core.relational.Relational):
            raise TheoryError(f"require: give a message for the compound assumption '{name}'")
        message = f"{rel.lhs} must be {rel.rel_op} {rel.rhs}"
    return Assumption(name, rel, message)


def require_integer(name: str, param: str, minimum: int) -> Assumption:
    """Hypothesis that ``param`` is an integer ``>= minimum`` (works elementwise on arrays)."""
    def predicate(values: Mapping[str, Any]) -> Any:
        v = values[param]
        return (v % 1 == 0) & (v >= minimum)

    return Assumption(name, predicate, f"{param} must be an integer >= {minimum}", (param,))


@dataclass(frozen=True)
class Over:
    """A universally quantified variable of a claim, ranging over ``[lower, upper]``.

    The limits may depend on the parameters and on earlier :class:`Over` variables.  ``scale``
    (``"lin"`` or ``"log"``) only shapes the numeric search grid.
    """

    symbol: sp.Symbol
    lower: sp.Expr
    upper: sp.Expr
    scale: str = "lin"

    @property
    def name(self) -> str:
        return self.symbol.name


@dataclass(frozen=True)
class Verdict:
    """Outcome of :meth:`Theorem.prove`.

    ``status`` is ``"proved"`` (SymPy decided the claim), ``"refuted"`` (a counterexample, whose
    point ``Theorem.violation`` re-evaluates to a positive violation) or ``"unproven"`` (SymPy could
    not decide; ``detail`` says what the high-precision numeric check found — "numerically
    verified", never "proved").
    """

    status: str
    method: str
    detail: str
    counterexample: dict[str, float] | None = None
    n_points: int | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise TheoryError(f"Verdict: status must be one of {STATUSES}, got {self.status!r}")

    def __str__(self) -> str:
        return f"{self.status} [{self.method}]: {self.detail}"
