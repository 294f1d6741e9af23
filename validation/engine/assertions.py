"""``assert_theorem``: the comparison the checks use, for users' own pytest suites."""

from __future__ import annotations

from typing import Any

from .records import Status, compare, passes
from .tolerance import rtol as default_rtol

__all__ = ["assert_theorem", "TheoremAssertionError"]


class TheoremAssertionError(AssertionError):
    """An empirical value does not meet a theorem's bound within the dtype tolerance."""


def assert_theorem(theorem_id: str, empirical: Any, *, dtype: str = "float64",
                   rtol: float | None = None, side: str = "upper", allow_loose: bool = False,
                   **params: Any) -> str:
    """Assert that ``empirical`` meets theorem ``theorem_id`` evaluated at ``params``.

    The theorem's kind decides the comparison: ``upper`` (empirical <= bound), ``lower``
    (empirical >= bound), ``exact`` (equal), ``tight`` (bound on ``side``, attained).  The
    tolerance is relative, one-sided for one-sided bounds, ``4·sqrt(eps(dtype))`` unless given.
    A tight bound that is respected but not attained (``LOOSE``) fails unless ``allow_loose``.

    Returns the status (``"TIGHT"`` or ``"HOLDS"``, or ``"LOOSE"`` with ``allow_loose``).

    Examples
    --------
    >>> assert_theorem("gd.quadratic.contraction", 0.5, mu=1.0, L=3.0, step=0.5)
    'TIGHT'
    """
    from specdef import theory

    th = theory.get(theorem_id)
    proven = float(th.evaluate(**params))
    tol = default_rtol(dtype) if rtol is None else float(rtol)
    status = compare(th.kind, float(empirical), proven, tol, side=side)
    ok = passes(status, "holds") or (allow_loose and status == Status.LOOSE)
    if not ok:
        raise TheoremAssertionError(
            f"{theorem_id} ({th.kind}): empirical {float(empirical):.10g} vs bound "
            f"{proven:.10g} at {params}: {status} (rtol {tol:.2g})")
    return status
