"""High-precision numeric check of a claim over its parameter box (the fallback of ``prove``).

Notes
-----
Parameter points come from a Halton sequence mapped into ``Theorem.box`` (plus the box corners),
keeping those that satisfy every assumption.  At each point the claim is evaluated in mpmath at
:data:`DPS` digits:

* pointwise relations (``upper``, ``lower``, ``exact``, explicit ``claim``) on a grid of the
  ``over`` variables (linear and geometric for one variable, Halton points for several);
* ``tight``: additionally the supremum over the single ``over`` variable, from the grid refined by
  golden-section search around the two best grid maxima, must reach the bound.

A relation fails when it is violated by more than :data:`RTOL` relative (strict and non-strict
relations are treated alike); attainment fails below :data:`ATTAIN_RTOL`.  A counterexample found
this way is re-evaluated at its float coordinates before it is reported.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Iterator, Mapping

import mpmath
import sympy as sp

from ._errors import TheoryError
from ._records import Verdict
from ._theorem import Theorem

DPS = 40
RTOL = mpmath.mpf("1e-20")
ATTAIN_RTOL = mpmath.mpf("1e-9")
_PRIMES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37)


def halton(index: int, base: int) -> float:
    """Radical inverse of ``index`` in ``base`` (a low-discrepancy coordinate in [0, 1))."""
    f, r = 1.0, 0.0
    while index > 0:
        f /= base
        r += f * (index % base)
        index //= base
    return r


def _scaled(u: float, lo: float, hi: float, scale: str) -> float:
    if scale in ("log", "logint"):
        v = math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
    else:
        v = lo + u * (hi - lo)
    if scale in ("int", "logint"):
        v = float(min(max(round(v), math.ceil(lo)), math.floor(hi)))
    return v


def sample_parameters(th: Theorem, n: int | None = None) -> list[dict[str, float]]:
    """Up to ``n`` admissible points of the box (corners first, then Halton points)."""
    n = th.n_points if n is None else n
    names = list(th.parameters)
    missing = [p for p in names if p not in th.box]
    if missing:
        raise ValueError(f"{th.id}: numeric check needs a box for {', '.join(missing)}")
    spec = [th.box[p] for p in names]
    candidates: list[dict[str, float]] = []
    for corner in itertools.product((0.0, 1.0), repeat=min(len(names), 6)):
        u = list(corner) + [0.5] * (len(names) - len(corner))
        candidates.append({p: _scaled(ui, *s[:2], s[2] if len(s) > 2 else "lin")
                           for p, ui, s in zip(names, u, spec)})
    out: list[dict[str, float]] = []
    seen: set[tuple] = set()
    index = 1
    while len(out) < n and index < 40 * n + 64:
        if candidates:
            point = candidates.pop(0)
        else:
            point = {p: _scaled(halton(index, _PRIMES[i]), *s[:2], s[2] if len(s) > 2 else "lin")
                     for i, (p, s) in enumerate(zip(names, spec))}
            index += 1
        key = tuple(point.values())
        if key in seen:
            continue
        seen.add(key)
        try:
            th.check_assumptions(point)
        except ValueError:
            continue
        out.append(point)
    return out


class _Fns:
    """mpmath-lambdified pieces of a theorem (bound, truth, claim relations, over limits)."""

    def __init__(self, th: Theorem) -> None:
        self.names = list(th.parameters) + [o.name for o in th.over]
        syms = [th.symbols[p] for p in th.parameters] + [o.symbol for o in th.over]
        lam = lambda e: sp.lambdify(syms, e, modules="mpmath")  # noqa: E731
        self.bound = lam(th.bound)
        self.truth = lam(th.truth) if th.truth is not None else None
        self.relations = []
        if th.claim is not None:
            self.relations = [(lam(lhs), lam(rhs), op) for lhs, op, rhs in th.relations()]
        self.limits = [(lam(o.lower), lam(o.upper), o.scale) for o in th.over]

    def args(self, point: Mapping[str, Any]) -> list[Any]:
        return [mpmath.mpf(point.get(n, 0)) for n in self.names]


def _rel(a: Any, b: Any) -> Any:
    """Relative excess of ``a`` over ``b``."""
    return (a - b) / max(abs(a), abs(b), mpmath.mpf("1e-300"))


def _pointwise(th: Theorem, fns: _Fns, point: Mapping[str, Any]) -> tuple[Any, str]:
    """Largest relative violation of the pointwise relations at ``point``, and a description."""
    args = fns.args(point)
    if fns.relations:
        worst, text = mpmath.mpf(-1), ""
        for lhs, rhs, op in fns.relations:
            a, b = lhs(*args), rhs(*args)
            if op in ("<=", "<"):
                v = _rel(a, b)
            else:
                v = _rel(b, a) if op in (">=", ">") else abs(_rel(a, b))
            if v > worst:
                worst, text = v, f"{mpmath.nstr(a, 12)} {op} {mpmath.nstr(b, 12)} fails"
        return worst, text
    bound = fns.bound(*args)
    truth = th.oracle(point) if th.oracle is not None else fns.truth(*args)
    if th.kind == "upper" or (th.kind == "tight" and th.over):
        v, op = _rel(truth, bound), "<="
    elif th.kind == "lower":
        v, op = _rel(bound, truth), ">="
    else:
        v, op = abs(_rel(truth, bound)), "=="
    return v, f"truth {mpmath.nstr(truth, 12)} {op} bound {mpmath.nstr(bound, 12)} fails"


def over_points(th: Theorem, fns: _Fns, point: Mapping[str, Any], n: int = 33) -> Iterator[dict]:
    """Grid of the ``over`` variables at a parameter point (empty ranges are skipped)."""
    if not th.over:
        yield dict(point)
        return
    if len(th.over) == 1:
        lo_f, hi_f, scale = fns.limits[0]
        lo, hi = lo_f(*fns.args(point)), hi_f(*fns.args(point))
        if hi < lo:
            return
        grid = {lo + (hi - lo) * mpmath.mpf(i) / (n - 1) for i in range(n)}
        if scale == "log" and lo > 0:
            grid |= {lo * (hi / lo) ** (mpmath.mpf(i) / (n - 1)) for i in range(n)}
        for x in sorted(grid):
            yield {**point, th.over[0].name: x}
        return
    for i in range(2 * n):
        q = dict(point)
        for k, (o, (lo_f, hi_f, _)) in enumerate(zip(th.over, fns.limits)):
            lo, hi = lo_f(*fns.args(q)), hi_f(*fns.args(q))
            if hi < lo:
                break
            u = (0.0 if i % 2 == 0 else 1.0) if i < 2 else halton(i, _PRIMES[k])
            if i < 2 and k % 2 == 1:
                u = 1.0 - u
            q[o.name] = lo + (hi - lo) * mpmath.mpf(u)
        else:
            yield q


def supremum(th: Theorem, fns: _Fns, point: Mapping[str, Any],
             grid: list[tuple[Any, Any]] | None = None) -> tuple[Any, Any]:
    """(sup, argmax) of ``truth`` over the single ``over`` variable: grid + golden section.

    ``grid`` is an optional precomputed list of ``(x, truth(x))`` in increasing ``x``.
    """
    name = th.over[0].name
    if grid is None:
        grid = [(q[name], fns.truth(*fns.args(q))) for q in over_points(th, fns, point, 41)]
    if not grid:
        return mpmath.mpf("-inf"), None
    order = sorted(range(len(grid)), key=lambda i: grid[i][1], reverse=True)[:2]
    best_x, best = grid[order[0]]
    invphi = (mpmath.sqrt(5) - 1) / 2
    for i in order:
        a, b = grid[max(i - 1, 0)][0], grid[min(i + 1, len(grid) - 1)][0]
        f = lambda x: fns.truth(*fns.args({**point, name: x}))  # noqa: E731
        c, d = b - invphi * (b - a), a + invphi * (b - a)
        fc, fd = f(c), f(d)
        for _ in range(32):
            if fc > fd:
                b, d, fd = d, c, fc
                c = b - invphi * (b - a)
                fc = f(c)
            else:
                a, c, fc = c, d, fd
                d = a + invphi * (b - a)
                fd = f(d)
        for x, fx in ((c, fc), (d, fd)):
            if fx > best:
                best_x, best = x, fx
    return best, best_x


def violation(th: Theorem, point: Mapping[str, float]) -> float:
    """Relative violation of ``th``'s claim at ``point`` (> 0: violated).

    See :meth:`Theorem.violation`.
    """
    with mpmath.workdps(DPS):
        fns = _Fns(th)
        params = {p: point[p] for p in th.parameters}
        th.check_assumptions(params)
        if th.kind == "tight" and th.over and not all(o.name in point for o in th.over):
            sup, _ = supremum(th, fns, params)
            return float(_rel(fns.bound(*fns.args(params)), sup))
        if th.over and not all(o.name in point for o in th.over):
            return float(max(_pointwise(th, fns, q)[0] for q in over_points(th, fns, params)))
        args = fns.args(point)
        for o, (lo_f, hi_f, _) in zip(th.over, fns.limits):
            lo, hi, v = lo_f(*args), hi_f(*args), mpmath.mpf(point[o.name])
            slack = mpmath.mpf("1e-9") * (abs(lo) + abs(hi)) + mpmath.mpf("1e-300")  # float I/O
            if not lo - slack <= v <= hi + slack:
                raise TheoryError(f"{th.id}: {o.name} must be in [{o.lower}, {o.upper}] = "
                                  f"[{mpmath.nstr(lo, 8)}, {mpmath.nstr(hi, 8)}], got "
                                  f"{o.name}={point[o.name]!r}")
        try:
            return float(_pointwise(th, fns, point)[0])
        except (ZeroDivisionError, ValueError, TypeError) as exc:  # e.g. 0/0 at a boundary
            raise TheoryError(f"{th.id}: the claim cannot be evaluated at {dict(point)!r:.120} "
                              f"({type(exc).__name__})") from None


def _as_floats(point: Mapping[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in point.items()}


def numeric_check(th: Theorem) -> Verdict:
    """mpmath search of the parameter box: ``refuted`` with a counterexample, else ``unproven``."""
    method = "mpmath grid"
    points = sample_parameters(th)
    n_over = 0
    with mpmath.workdps(DPS):
        fns = _Fns(th)
        tight = th.kind == "tight" and len(th.over) == 1 and fns.truth is not None
        for p in points:
            grid = []
            for q in over_points(th, fns, p, 41 if tight else 33):
                n_over += 1
                v, text = _pointwise(th, fns, q)
                if tight:
                    grid.append((q[th.over[0].name], fns.truth(*fns.args(q))))
                if v > RTOL:
                    cex = _as_floats(q)
                    if violation(th, cex) > float(RTOL):
                        return Verdict("refuted", method, f"counterexample: {text} "
                                       f"(relative violation {float(v):.3g})", cex, len(points))
            if tight:
                sup, arg = supremum(th, fns, p, grid)
                bound = fns.bound(*fns.args(p))
                if _rel(bound, sup) > ATTAIN_RTOL:
                    return Verdict("refuted", method, "bound not attained: sup over "
                                   f"{th.over[0].name} is {mpmath.nstr(sup, 12)} at "
                                   f"{th.over[0].name}={mpmath.nstr(arg, 12)} < bound "
                                   f"{mpmath.nstr(bound, 12)}", _as_floats(p), len(points))
    if not points:
        return Verdict("unproven", method, "no admissible point in the box: nothing checked",
                       None, 0)
    names = "/".join(o.name for o in th.over)
    extra = f" x {n_over // len(points)} {names}-samples" if th.over else ""
    return Verdict("unproven", method, f"numerically verified on {len(points)} points{extra} "
                   f"(mpmath, {DPS} digits); not proved", None, len(points))
