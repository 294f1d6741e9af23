"""Parameter values of :class:`theory.Theorem`: real-number checks, short formatting, and the
NaN-propagating ``max``/``min`` of its ``math``-module evaluation."""

from __future__ import annotations

from typing import Any

from ._errors import TheoryError


def _nan_max(*args: float) -> float:
    """``max`` that returns NaN when any argument is NaN (as ``numpy.maximum`` does)."""
    return float("nan") if any(a != a for a in args) else max(args)


def _nan_min(*args: float) -> float:
    """``min`` that returns NaN when any argument is NaN (as ``numpy.minimum`` does)."""
    return float("nan") if any(a != a for a in args) else min(args)


def _real(theorem_id: str, name: str, v: Any) -> float:
    """``float(v)`` for a real scalar; :class:`TheoryError` naming ``name`` otherwise."""
    numpy_kind = getattr(getattr(v, "dtype", None), "kind", "f") if type(v).__module__ == \
        "numpy" else "f"
    if v is None or isinstance(v, (bool, str, bytes, complex)) or numpy_kind not in "fiu" \
            or type(v).__name__ == "mpc":
        raise TheoryError(f"{theorem_id}: parameter {name} must be a real number, "
                          f"got {_fmt_short(v)}")
    try:
        return float(v)
    except OverflowError:  # a Python int beyond the float range
        return float("inf")
    except (TypeError, ValueError):
        raise TheoryError(f"{theorem_id}: parameter {name} must be a real number, "
                          f"got {_fmt_short(v)}") from None


def _real_array(theorem_id: str, name: str, v: Any) -> Any:
    """``v`` as a float NumPy array; :class:`TheoryError` for non-real data."""
    import numpy as np

    if not isinstance(v, (list, tuple)) and (not hasattr(v, "shape")
                                             or getattr(v, "ndim", 0) == 0):
        return np.asarray(_real(theorem_id, name, v), dtype=float)
    try:
        a = np.asarray(v)
    except (TypeError, ValueError):
        a = np.asarray([], dtype=object)
    if a.dtype.kind not in "fiu":
        raise TheoryError(f"{theorem_id}: parameter {name} must be real numbers, got an array "
                          f"of dtype {a.dtype}")
    return a.astype(float)


def _fmt_short(v: Any) -> str:
    r = repr(v).replace("\n", " ")
    return r if len(r) <= 40 else r[:37] + "..."


def _fmt(v: Any) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError, OverflowError):
        return _fmt_short(v)
    return repr(f)
