"""Shrinking a counterexample ``(A, B, C)`` to a Theorem-3 bound into a small, printable one.

A counterexample is any triple whose *conservative* ratio ``(bound − atol)/σ_1(ABC)`` (see
:mod:`specdef.validation.checks.theorem3`) exceeds ``1 + margin``.  Its robustness is the scale-free
*gap* ``(bound − atol − σ_1(ABC)) / (σ_1(A)σ_1(B)σ_1(C))``: perturbing the entries by a relative
``δ`` moves both sides by about ``δ`` times the scale.  Shrinking keeps the violation and a gap
of at least ``keep`` times the input's at every step (so it cannot trade the violation away for
short digits), and goes, greedily:

1. dimensions: delete a row of ``A``, a column of ``C``, or an inner index (a column of ``A``
   with the row of ``B``, or a column of ``B`` with the row of ``C``), keeping the deletion
   with the largest gap, until none keeps the invariant;
2. scale: divide each matrix by its largest entry in absolute value (both sides of the bound
   are homogeneous of degree one in each matrix, so the ratio does not change);
3. digits: round every entry to 1, 2, 3, … significant digits, keeping the first that violates;
4. entries: try each entry at 0, then at fewer significant digits; then steps 1 and 4 again;
5. verify: rebuild the arrays from the decimal entries and recompute the ratio from scratch.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

__all__ = ["shrink_counterexample", "round_sig", "sig_digits"]

Triple = tuple[np.ndarray, np.ndarray, np.ndarray]


def round_sig(x: float, digits: int) -> float:
    """``x`` rounded to ``digits`` significant decimal digits (an exact short decimal)."""
    return float(f"{float(x):.{int(digits)}g}")


def sig_digits(x: float) -> int:
    """Fewest significant digits that reproduce ``x`` exactly (0 for 0, at most 17)."""
    if x == 0:
        return 0
    for d in range(1, 18):
        if round_sig(x, d) == x:
            return d
    return 17


def _deletions(T: Triple) -> list[Triple]:
    A, B, C = T
    (p, q), s, t = A.shape, B.shape[1], C.shape[1]
    out: list[Triple] = []
    out += [(np.delete(A, i, 0), B, C) for i in range(p)] if p > 1 else []
    out += [(A, B, np.delete(C, j, 1)) for j in range(t)] if t > 1 else []
    out += [(np.delete(A, k, 1), np.delete(B, k, 0), C) for k in range(q)] if q > 1 else []
    out += [(A, np.delete(B, k, 1), np.delete(C, k, 0)) for k in range(s)] if s > 1 else []
    return out


Score = Callable[[Triple], float]


def _shrink_dims(T: Triple, ok: Score) -> Triple:
    while True:
        scored = [(ok(c), c) for c in _deletions(T)]
        scored = [sc for sc in scored if sc[0] > 0]
        if not scored:
            return T
        T = max(scored, key=lambda sc: sc[0])[1]


def _shrink_entries(T: Triple, ok: Score) -> Triple:
    T = tuple(np.array(m, dtype=float) for m in T)
    changed = True
    while changed:
        changed = False
        for m in range(3):
            for idx in np.ndindex(T[m].shape):
                v = float(T[m][idx])
                for cand in [0.0] + [round_sig(v, d) for d in range(1, sig_digits(v))]:
                    if cand == v:
                        continue
                    trial = tuple(M.copy() for M in T)
                    trial[m][idx] = cand
                    if ok(trial) > 0:
                        T, changed = trial, True
                        break
    return T


def shrink_counterexample(A: Any, B: Any, C: Any, variant: str = "displayed", *,
                          ctx: Any = None, margin: float = 1e-6, keep: float = 0.5,
                          evaluate: Callable[[Any, Any, Any], Any] | None = None) -> Triple:
    """Shrink a counterexample to a Theorem-3 bound; return host float64 ``(A, B, C)``.

    Parameters
    ----------
    A, B, C : arrays of shapes (p, q), (q, s), (s, t)
        A triple that violates the ``variant`` bound by more than ``margin``.
    variant : {"displayed", "corrected"}
    ctx : validation.Context, optional
        Context whose ``proven`` evaluates the bound (default: a fresh one, no perturbation).
    margin : float
        Every step keeps ``(bound − atol)/σ_1(ABC) > 1 + margin`` ...
    keep : float
        ... and a gap of at least ``keep`` times the input's (``0 <= keep < 1``).
    evaluate : callable, optional
        ``(A, B, C) -> BoundEvaluation`` (anything with ``excess``, ``bound``, ``atol``,
        ``sigma1`` and ``scale``); overrides ``ctx`` and ``variant``.

    Returns
    -------
    tuple of ndarray
        The shrunk triple, whose entries are short decimals; it is re-verified from scratch.

    Raises
    ------
    ValueError
        If the input does not violate the bound by ``margin``, or the re-verification fails.
    """
    if evaluate is None:
        from ...engine.registry import Context
        from .bound import THEOREMS, evaluate_bound

        if variant not in THEOREMS:
            raise ValueError(f"shrink_counterexample: variant must be one of {tuple(THEOREMS)}, "
                             f"got {variant!r}")
        ctx = Context() if ctx is None else ctx
        evaluate = lambda A_, B_, C_: evaluate_bound(  # noqa: E731
            ctx, variant, A_, B_, C_, cross_check=False)
    if not (np.isfinite(margin) and margin >= 0):
        raise ValueError(f"shrink_counterexample: margin must be finite and >= 0, got {margin!r}")
    if not 0 <= keep < 1:
        raise ValueError(f"shrink_counterexample: keep must be in [0, 1), got {keep!r}")
    from specdef.numerics import to_host

    T: Triple = tuple(np.array(to_host(m), dtype=float) for m in (A, B, C))  # type: ignore

    def gap(t: Triple) -> tuple[float, float]:
        try:
            ev = evaluate(*t)
        except (ValueError, RuntimeError):  # e.g. a zero matrix after a deletion
            return -np.inf, -np.inf
        g = (ev.bound - ev.atol - ev.sigma1) / ev.scale if ev.scale > 0 else -np.inf
        return float(ev.excess), float(g)

    x0, g0 = gap(T)
    if not x0 > 1 + margin:
        raise ValueError(f"shrink_counterexample: the triple must violate the {variant} bound "
                         f"by more than margin={margin:g}, got (bound-atol)/σ1 = {x0:.9g}")
    floor = keep * g0

    def ok(t: Triple) -> float:
        """The gap above ``floor`` when ``t`` keeps the invariant, else <= 0."""
        x, g = gap(t)
        return g - floor if x > 1 + margin and g > floor else -1.0

    T = _shrink_dims(T, ok)
    T = tuple(m / np.max(np.abs(m)) if np.max(np.abs(m)) > 0 else m for m in T)
    for d in range(1, 18):
        R = tuple(np.vectorize(round_sig)(m, d) for m in T)
        if ok(R) > 0:
            T = R
            break
    T = _shrink_entries(_shrink_dims(_shrink_entries(T, ok), ok), ok)
    final = tuple(np.array([[float(repr(v)) for v in row] for row in m.tolist()]) for m in T)
    if not ok(final) > 0:
        raise ValueError(f"shrink_counterexample: re-verification failed: (bound-atol)/σ1, gap "
                         f"= {gap(final)}")
    return final  # type: ignore[return-value]
