"""The theorem record: a bound as data, evaluated by lambdify and checked by :func:`prove`.

A :class:`Theorem` carries everything a check needs: its SymPy symbols, its hypotheses as
:class:`Assumption` objects, the bound as a SymPy expression, and a machine-checkable *claim* —
how the bound relates to the true quantity.  The claim is stated with the placeholder symbol
:data:`BOUND`, substituted by ``Theorem.bound`` when it is decided, so a perturbed copy
(``th.with_bound(1.01)``, or ``dataclasses.replace(th, bound=1.01*th.bound)``, which drops a
:attr:`~Theorem.float_form` written for the old bound) is checked against its own, wrong, bound.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Mapping

import sympy as sp

from ._errors import AssumptionError, TheoryError
from ._records import BOUND, EXPECTATIONS, KINDS, Assumption, Over, Verdict
from ._values import _fmt, _nan_max, _nan_min, _real, _real_array

__all__ = ["Theorem"]


def _frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True, eq=False)
class Theorem:
    """A bound with its hypotheses, evaluable numerically and decidable by :meth:`prove`.

    Parameters
    ----------
    id, statement, reference : str
        Stable dotted slug, LaTeX statement, and source (paper section or textbook).
    symbols : Mapping[str, sympy.Symbol]
        Parameter name -> symbol (with SymPy assumptions such as ``positive=True``).
    assumptions : tuple of Assumption
        Hypotheses checked by :meth:`evaluate`, in order; the first that fails is reported.
    bound : sympy.Expr
        The value :meth:`evaluate` returns, in the parameter symbols.
    kind, expectation : str
        ``tight``/``upper``/``lower``/``exact`` and ``holds``/``refuted``.
    parameters : tuple of str
        Names :meth:`evaluate` needs, in a stable order.
    truth : sympy.Expr, optional
        The quantity the bound is compared with, in the parameters and the ``over`` variables:
        ``upper``: truth <= bound for all ``over``; ``lower``: truth >= bound; ``exact``:
        truth == bound; ``tight``: sup over ``over`` of truth == bound.
    claim : sympy.Boolean, optional
        Alternative to ``truth``: a relation (or ``And`` of relations) in the parameters, the
        ``over`` variables and :data:`BOUND`, to hold for all admissible values.
    over : tuple of Over
        Universally quantified variables of ``truth`` / ``claim``.
    derived : Mapping[str, sympy.Expr]
        Auxiliary derived expressions (optimal step, rate, limit, ...).
    box : Mapping[str, tuple]
        ``name -> (low, high, scale)`` with scale ``lin``/``log``/``int``/``logint``: the
        parameter box of the numeric check (points violating an assumption are skipped).
    positive : Mapping[str, sympy.Expr]
        A parametrisation of the admissible set by fresh positive symbols (``L -> mu + d``),
        enabling the positive-coefficient certificate in :meth:`prove`.
    prover, oracle, numeric, violation_fn : callable, optional
        Theorem-specific symbolic proof ``prover(th) -> Verdict | None``; independent numeric
        truth ``oracle(point) -> mpf`` (replaces ``truth``); replacement of the whole numeric
        check ``numeric(th) -> Verdict``; and of :meth:`violation`.
    n_points : int
        Parameter points of the numeric check.
    float_form : sympy.Expr, optional
        The bound rewritten for float64 (for example ``(1 − x)^(2n)`` as
        ``exp(2n·log1p(−x))``, whose rounding error does not grow with n).  :meth:`evaluate`
        uses it; :meth:`evaluate_mp`, :meth:`prove` and the numeric checks use ``bound``, and a
        test checks the two agree in mpmath.  It belongs to the bound it was given with: a copy
        whose ``bound`` is replaced (``dataclasses.replace``) drops it, :meth:`with_bound`
        scales both.
    """

    id: str
    statement: str
    symbols: Mapping[str, sp.Symbol]
    assumptions: tuple[Assumption, ...]
    bound: sp.Expr
    kind: str
    expectation: str
    reference: str
    parameters: tuple[str, ...]
    truth: sp.Expr | None = None
    claim: sp.Basic | None = None
    over: tuple[Over, ...] = ()
    derived: Mapping[str, sp.Expr] = field(default_factory=dict)
    box: Mapping[str, tuple] = field(default_factory=dict)
    positive: Mapping[str, sp.Expr] = field(default_factory=dict)
    prover: Callable[["Theorem"], Verdict | None] | None = None
    oracle: Callable[[Mapping[str, Any]], Any] | None = None
    numeric: Callable[["Theorem"], Verdict] | None = None
    violation_fn: Callable[["Theorem", Mapping[str, float]], float] | None = None
    n_points: int = 256
    float_form: sp.Expr | None = None
    float_form_of: sp.Expr | None = field(default=None, repr=False)
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        where = f"Theorem {self.id!r}"
        if self.kind not in KINDS:
            raise TheoryError(f"{where}: kind must be one of {KINDS}, got {self.kind!r}")
        if self.expectation not in EXPECTATIONS:
            raise TheoryError(f"{where}: expectation must be one of {EXPECTATIONS}, "
                              f"got {self.expectation!r}")
        for name in ("symbols", "derived", "box", "positive"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        object.__setattr__(self, "parameters", tuple(self.parameters))
        unknown = set(self.parameters) - set(self.symbols)
        if unknown or not all(p.isidentifier() for p in self.parameters):
            raise TheoryError(f"{where}: parameters must be identifiers with symbols, "
                              f"got {sorted(unknown) or self.parameters}")
        object.__setattr__(self, "bound", sp.sympify(self.bound))
        if self.float_form is not None:
            if self.float_form_of is None:
                object.__setattr__(self, "float_form_of", self.bound)
            elif self.float_form_of != self.bound:  # bound replaced, float form not: stale
                object.__setattr__(self, "float_form", None)
                object.__setattr__(self, "float_form_of", None)
        for name in ("bound", "float_form"):
            expr = getattr(self, name)
            if expr is None:
                continue
            expr = sp.sympify(expr)
            object.__setattr__(self, name, expr)
            free = {str(s) for s in expr.free_symbols} - set(self.parameters)
            if free:
                raise TheoryError(f"{where}: {name} uses symbols that are not parameters: "
                                  f"{sorted(free)}")

    # ------------------------------------------------------------------ evaluation
    def check_assumptions(self, params: Mapping[str, Any]) -> None:
        """Raise :class:`AssumptionError` for the first hypothesis that ``params`` violate.

        ``params`` maps every parameter to a real number (float, int, mpmath number) or a NumPy
        array; a missing or non-numeric one raises :class:`TheoryError`.
        """
        if not isinstance(params, Mapping):
            raise TheoryError(f"{self.id}: parameters must be a mapping of names to values, got "
                              f"{type(params).__name__}")
        for a in self.assumptions:
            for p in a.params:
                if p not in params:
                    raise TheoryError(f"{self.id}: missing parameter '{p}' "
                                      f"(expected {', '.join(self.parameters)})")
        for p, v in params.items():
            if not (hasattr(v, "shape") and getattr(v, "ndim", 0) > 0):
                _real(self.id, p, v)
        arrays = any(hasattr(v, "shape") and getattr(v, "ndim", 0) > 0 for v in params.values())
        for a in self.assumptions:
            ok = a.holds(params, arrays=arrays)
            if arrays:
                import numpy as np

                ok = np.broadcast_to(np.asarray(ok, dtype=bool),
                                     np.broadcast(*params.values()).shape)
                if not ok.all():
                    idx = tuple(int(i) for i in np.argwhere(~ok)[0])
                    vals = {p: np.broadcast_to(params[p], ok.shape)[idx] for p in a.params}
                    raise AssumptionError(self._violation_message(a, vals))
            elif not bool(ok):
                raise AssumptionError(self._violation_message(a, {p: params[p] for p in a.params}))

    def _violation_message(self, a: Assumption, vals: Mapping[str, Any]) -> str:
        order = sorted(vals, key=lambda p: (self.parameters.index(p) if p in self.parameters
                                            else len(self.parameters), p))
        got = ", ".join(f"{p}={_fmt(vals[p])}" for p in order)
        return f"{self.id}: assumption '{a.name}' violated: {a.message}, got {got}"

    def _bind(self, params: Mapping[str, Any]) -> dict[str, Any]:
        for p in params:
            if p not in self.parameters:
                raise TheoryError(f"{self.id}: unknown parameter '{p}' "
                                  f"(expected {', '.join(self.parameters)})")
        for p in self.parameters:
            if p not in params:
                raise TheoryError(f"{self.id}: missing parameter '{p}' "
                                  f"(expected {', '.join(self.parameters)})")
        return {p: params[p] for p in self.parameters}

    def _lambdified(self, modules: str) -> Callable[..., Any]:
        """The bound as a function of the parameters; float modules use :attr:`float_form`."""
        key = ("bound", modules)
        if key not in self._cache:
            syms = [self.symbols[p] for p in self.parameters]
            expr = self.bound if modules == "mpmath" or self.float_form is None \
                else self.float_form
            # Python's max(1, nan) is 1; NumPy's is nan, which evaluate then recomputes in mpmath
            mods = [{"max": _nan_max, "min": _nan_min}, "math"] if modules == "math" else modules
            self._cache[key] = sp.lambdify(syms, expr, modules=mods)
        return self._cache[key]

    def _evaluate_scalar(self, values: Mapping[str, Any]) -> float | None:
        """Fast path for scalar parameters: the bound lambdified to the ``math`` module.

        Returns None where Python's float arithmetic raises (overflow, log of 0) or gives NaN;
        :meth:`evaluate` then takes the NumPy path, which handles both.
        """
        try:
            out = float(self._lambdified("math")(*values.values()))
        except (ArithmeticError, ValueError, TypeError, NameError):  # NameError: no math twin
            return None
        return None if math.isnan(out) else out

    def evaluate(self, **params: Any) -> Any:
        """The bound at ``params`` (floats, ints or NumPy arrays, broadcast elementwise).

        Raises :class:`AssumptionError` naming the first violated hypothesis and
        :class:`TheoryError` (a ``ValueError``) for a missing, unknown, non-real (string,
        complex, boolean, ``None``) or non-finite parameter, or shapes that do not broadcast.
        Returns a float for scalar input.  Never NaN for admissible parameters: entries whose
        float64 evaluation overflows midway (``inf/inf``) are recomputed with
        :meth:`evaluate_mp`; a bound beyond the float64 range comes back as ``inf``.
        """
        import numpy as np

        values = self._bind(params)
        if not any(isinstance(v, (list, tuple)) or getattr(v, "ndim", 0) > 0
                   for v in values.values()):  # scalars: no NumPy round trip
            floats = {p: _real(self.id, p, v) for p, v in values.items()}
            for p, v in floats.items():
                if not math.isfinite(v):
                    raise TheoryError(f"{self.id}: parameter {p} must be finite, got {_fmt(v)}")
            self.check_assumptions(floats)
            out = self._evaluate_scalar(floats)
            if out is not None:
                return out
        arrs = {p: _real_array(self.id, p, v) for p, v in values.items()}
        for p, v in arrs.items():
            if not np.all(np.isfinite(v)):
                bad = v if v.ndim == 0 else v[~np.isfinite(v)][0]
                raise TheoryError(f"{self.id}: parameter {p} must be finite, got {_fmt(bad)}")
        try:
            np.broadcast_shapes(*(v.shape for v in arrs.values()))
        except ValueError:
            raise TheoryError(f"{self.id}: parameters must broadcast to one shape, got shapes "
                              + ", ".join(f"{p}={v.shape}" for p, v in arrs.items())) from None
        scalar = all(v.ndim == 0 for v in arrs.values())
        self.check_assumptions({p: float(v) for p, v in arrs.items()} if scalar else arrs)
        shaped = np.broadcast_arrays(*arrs.values()) if arrs else []
        with np.errstate(all="ignore"):
            out = self._lambdified("numpy")(*shaped)
        shape = shaped[0].shape if shaped else ()
        out = np.array(np.broadcast_to(np.asarray(out, dtype=float), shape))
        for idx in np.argwhere(np.isnan(out)):
            idx = tuple(idx)
            # float64 overflow inside the expression (inf/inf, inf - inf): same expression in
            # mpmath, which has no exponent range
            out[idx] = float(self.evaluate_mp(30, **{p: float(v[idx]) for p, v in
                                                     zip(values, shaped)}))
        return float(out) if scalar else out

    def evaluate_mp(self, dps: int = 50, **params: Any) -> Any:
        """The bound in mpmath at ``dps`` significant digits (scalar parameters only)."""
        import mpmath

        if isinstance(dps, bool) or not isinstance(dps, int) or dps < 1:
            raise TheoryError(f"{self.id}: dps must be an integer >= 1, got {dps!r}")
        values = self._bind(params)
        for p, v in values.items():
            if hasattr(v, "shape") and getattr(v, "ndim", 0) > 0:
                raise TheoryError(f"{self.id}: parameter {p} must be a scalar for evaluate_mp, "
                                  f"got an array of shape {v.shape}")
            if not math.isfinite(_real(self.id, p, v)):
                raise TheoryError(f"{self.id}: parameter {p} must be finite, got {_fmt(v)}")
        self.check_assumptions({p: float(v) for p, v in values.items()})
        with mpmath.workdps(dps):
            return self._lambdified("mpmath")(*(mpmath.mpf(v) for v in values.values()))

    # ------------------------------------------------------------------ claims and proofs
    def relations(self) -> list[tuple[sp.Expr, str, sp.Expr]]:
        """The claim as ``(lhs, op, rhs)`` triples with :data:`BOUND` replaced by the bound.

        From ``claim`` (a relation or an ``And`` of relations) if given, else from ``truth`` and
        ``kind`` (``tight`` with ``over`` contributes its pointwise part ``truth <= bound``).
        Substitution is done side by side so that no relation collapses to True/False.
        """
        if self.claim is not None:
            rels = self.claim.args if isinstance(self.claim, sp.And) else (self.claim,)
            return [(r.lhs.subs(BOUND, self.bound), r.rel_op, r.rhs.subs(BOUND, self.bound))
                    for r in rels]
        if self.truth is None:
            return []
        op = {"upper": "<=", "lower": ">=", "exact": "==",
              "tight": "<=" if self.over else "=="}[self.kind]
        return [(self.truth, op, self.bound)]

    def prove(self) -> Verdict:
        """Decide the claim: ``proved`` / ``refuted`` (with counterexample) / ``unproven``.

        Cached per instance.  SymPy is tried first (a theorem-specific proof, then equality by
        simplification and a positive-coefficient certificate); if it cannot decide, an mpmath
        check over the parameter box either finds a counterexample or reports how many points
        it verified.
        """
        if "verdict" not in self._cache:
            from ._prove import prove

            self._cache["verdict"] = prove(self)
        return self._cache["verdict"]

    def violation(self, point: Mapping[str, float]) -> float:
        """Relative amount by which the claim fails at ``point`` (> 0: violated).

        ``point`` holds the parameters and, for a pointwise check, the ``over`` variables; for a
        ``tight`` theorem given parameters only, the supremum over ``over`` is searched.
        """
        if not isinstance(point, Mapping):
            raise TheoryError(f"{self.id}: point must be a mapping of names to values, got "
                              f"{type(point).__name__}")
        for p in self.parameters:
            if p not in point:
                raise TheoryError(f"{self.id}: missing parameter '{p}' "
                                  f"(expected {', '.join(self.parameters)})")
        clean = {}
        for p, v in point.items():  # parameters, quantified variables, matrix entries
            if not math.isfinite(_real(self.id, str(p), v)):
                raise TheoryError(f"{self.id}: parameter {p} must be finite, got {_fmt(v)}")
            # NumPy scalars as Python numbers (mpmath does not take them)
            clean[p] = v.item() if type(v).__module__ == "numpy" else v
        point = clean
        if self.violation_fn is not None:
            return self.violation_fn(self, point)
        from ._check import violation

        return violation(self, point)

    def with_bound(self, factor: Any) -> "Theorem":
        """Copy whose bound is multiplied by ``factor`` (for planted-error tests)."""
        f = _real(self.id, "factor", factor)
        if not math.isfinite(f):
            raise TheoryError(f"{self.id}: factor must be finite, got {_fmt(factor)}")
        scale = sp.nsimplify(factor, rational=True)
        float_form = None if self.float_form is None else self.float_form * scale
        return dataclasses.replace(self, bound=self.bound * scale, float_form=float_form,
                                   float_form_of=None if float_form is None else
                                   self.bound * scale)

    def __repr__(self) -> str:
        return (f"Theorem({self.id!r}, kind={self.kind!r}, expectation={self.expectation!r}, "
                f"parameters={self.parameters})")
