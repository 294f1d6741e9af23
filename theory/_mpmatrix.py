"""Small mpmath matrix helpers for the independent numeric oracles of :mod:`theory`.

These are deliberately plain (no NumPy): random Gaussian and orthogonal matrices from a local
``random.Random``, and singular value decompositions with values sorted in decreasing order.
"""

from __future__ import annotations

import random
from typing import Any

import mpmath

__all__ = ["gaussian", "orthogonal", "svd_sorted", "diag", "projector_norm"]


def gaussian(rng: random.Random, rows: int, cols: int) -> Any:
    """``rows x cols`` matrix of standard normal entries."""
    return mpmath.matrix([[mpmath.mpf(rng.gauss(0.0, 1.0)) for _ in range(cols)]
                          for _ in range(rows)])


def orthogonal(rng: random.Random, size: int) -> Any:
    """A random orthogonal matrix (Q factor of a Gaussian matrix)."""
    q, _ = mpmath.qr(gaussian(rng, size, size))
    return q


def diag(values: list[Any], rows: int, cols: int) -> Any:
    """``rows x cols`` matrix with ``values`` on the diagonal."""
    m = mpmath.zeros(rows, cols)
    for i, v in enumerate(values):
        m[i, i] = v
    return m


def svd_sorted(a: Any) -> tuple[Any, list[Any], Any]:
    """``(U, s, V)`` with ``a = U diag(s) Vᵀ``, ``s`` decreasing; U is m×r, V is n×r."""
    u, s, vt = mpmath.svd_r(a, full_matrices=False, compute_uv=True)
    order = sorted(range(len(s)), key=lambda i: s[i], reverse=True)
    r = len(order)
    uu = mpmath.matrix(a.rows, r)
    vv = mpmath.matrix(a.cols, r)
    for k, i in enumerate(order):
        for row in range(a.rows):
            uu[row, k] = u[row, i]
        for row in range(a.cols):
            vv[row, k] = vt[i, row]
    return uu, [s[i] for i in order], vv


def projector_norm(basis: Any, count: int, x: Any) -> Any:
    """``‖P x‖ / ‖x‖`` with P the orthogonal projector onto the first ``count`` columns of
    ``basis`` (orthonormal columns)."""
    total = mpmath.mpf(0)
    for k in range(count):
        c = mpmath.fsum(basis[i, k] * x[i] for i in range(basis.rows))
        total += c * c
    return mpmath.sqrt(total) / mpmath.norm(x)
