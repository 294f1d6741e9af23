"""Tolerances, all derived from the dtype in one place.

* ``rtol(dtype)`` — comparison of two computed quantities: ``4·sqrt(eps)``.
* ``accumulated_rtol(dtype, n, kappa)`` — error that grows with ``n`` operations on a problem of
  condition ``kappa``: ``c·n·eps·kappa`` (floored at ``rtol_exact``).
* ``rtol_exact(dtype)`` — quantities computed in closed form on both sides: ``64·eps``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["eps_of", "rtol", "rtol_exact", "accumulated_rtol", "unit_roundoff"]


def eps_of(dtype: Any) -> float:
    """Machine epsilon of ``"float64"``/``"float32"`` or any dtype object whose name says so."""
    return float(np.finfo(np.float32 if "float32" in str(dtype) else np.float64).eps)


def unit_roundoff(dtype: Any) -> float:
    """``u = eps/2`` (2^-53 for float64, 2^-24 for float32)."""
    return eps_of(dtype) / 2.0


def rtol(dtype: Any) -> float:
    """``4·sqrt(eps)``: 6e-8 in float64, 1.4e-3 in float32."""
    return 4.0 * math.sqrt(eps_of(dtype))


def rtol_exact(dtype: Any) -> float:
    """``64·eps``: for values that both sides compute from closed forms."""
    return 64.0 * eps_of(dtype)


def accumulated_rtol(dtype: Any, n: float, kappa: float = 1.0, c: float = 4.0) -> float:
    """``c·n·eps·kappa``, never below :func:`rtol_exact`, never above 0.5."""
    return float(min(0.5, max(rtol_exact(dtype), c * max(n, 1.0) * eps_of(dtype) * kappa)))
