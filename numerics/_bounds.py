"""Singular-value lower bounds for a Hessian cross-block ``A·B·C`` (docs/theory/theorem3.rst,
"Theorem 3").

Two forms are evaluated, with the angle reading of docs/theory/theorem3.rst (our reading; the paper
does not
define the angles in any readable source):

* ``cos θ_1(r1) = ‖P_{span(top-r1 right singular vectors of A)} u_1(B)‖``
* ``cos θ_2(r2) = ‖P_{span(top-r2 left singular vectors of C)} v_1(B)‖``

``displayed``:  ``sup_{r1,r2} σ_{r1}(A) σ_1(B) σ_{r2}(C) cos θ_1 cos θ_2``

``corrected``:  ``sup_{r1,r2} σ_{r1}(A) σ_{r2}(C) [σ_1(B) cos θ_1 cos θ_2 − σ_2(B) sin θ_1 sin θ_2]``

The corrected form is a theorem: take the unit vector ``w`` of ``span(U_C,r2) = C·span(V_C,r2)``
closest to ``v_1(B)`` and the unit ``y`` of ``span(V_A,r1)`` closest to ``u_1(B)``; then
``y^T B w ≥ σ_1 cos θ_1 cos θ_2 − σ_2 sin θ_1 sin θ_2`` and ``‖A B C c‖ ≥ σ_{r1}(A) |y^T B w|
‖C c‖ ≥ σ_{r1}(A) σ_{r2}(C) |y^T B w|`` for the unit ``c`` with ``C c ∝ w``.  The displayed
form drops the ``σ_2(B)`` term and fails on some instances (docs/theory/theorem3.rst).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._backend import get_namespace, _one_of, require_matrix, to_host
from ._errors import InputError

__all__ = ["CrossBlockBound", "CrossBlockTerms", "cross_block_bound", "cross_block_terms",
           "BOUND_VARIANTS"]

BOUND_VARIANTS = ("displayed", "corrected")


@dataclass(frozen=True)
class CrossBlockBound:
    """Value of a cross-block bound and the quantities it was built from (host floats).

    ``sigma1_ABC`` is the true ``σ_1(ABC)`` computed alongside, so ``value <= sigma1_ABC`` is
    what the theorem asserts.
    """

    variant: str
    value: float
    r1: int
    r2: int
    sA: float
    sB1: float
    sB2: float
    sC: float
    cos1: float
    cos2: float
    sigma1_ABC: float

    @property
    def ratio(self) -> float:
        """``value / σ_1(ABC)``: above 1 means the bound is violated (0/0 counts as 1).

        Never NaN: ``inf`` for a positive bound on a zero product, 1.0 when both are 0.
        """
        if self.sigma1_ABC > 0:
            return self.value / self.sigma1_ABC
        return float("inf") if self.value > 0 else 1.0


@dataclass(frozen=True)
class CrossBlockTerms:
    """Every ingredient of the bounds, for all ``r1`` and ``r2`` (host NumPy arrays).

    ``sA[r1-1] = σ_{r1}(A)``, ``cos1[r1-1] = cos θ_1(r1)``, ``sC[r2-1] = σ_{r2}(C)``,
    ``cos2[r2-1] = cos θ_2(r2)``; ``sB1, sB2`` are ``σ_1(B), σ_2(B)`` and ``sigma1_ABC`` the
    true ``σ_1(ABC)``.  Evaluating a bound expression on the outer grid and maximising gives
    the ``sup`` over ``r1, r2``.
    """

    sA: Any
    cos1: Any
    sC: Any
    cos2: Any
    sB1: float
    sB2: float
    sigma1_ABC: float


def cross_block_terms(A: Any, B: Any, C: Any) -> CrossBlockTerms:
    """Singular values and angle cosines of ``A``, ``B``, ``C`` for every ``r1, r2``.

    Notes
    -----
    ``r1`` ranges over ``1..min(p, q)`` and ``r2`` over ``1..min(s, t)`` (every index with a
    singular value; zero ones contribute 0).  ``σ_2(B) = 0`` when ``B`` has a single row or
    column.  All cosines come from cumulative sums of squared projections, so the grid costs
    three SVDs (and a fourth for ``σ_1(ABC)``).
    """
    return _terms("cross_block_terms", A, B, C)


def _terms(func: str, A: Any, B: Any, C: Any) -> CrossBlockTerms:
    A = require_matrix(func, "A", A)
    B = require_matrix(func, "B", B)
    C = require_matrix(func, "C", C)
    if A.shape[1] != B.shape[0] or B.shape[1] != C.shape[0]:
        raise InputError(f"{func}: shapes must chain as (p,q),(q,s),(s,t), got "
                         f"A{tuple(A.shape)}, B{tuple(B.shape)}, C{tuple(C.shape)}")
    xp = get_namespace(A, B, C, func=func)
    with np.errstate(over="ignore", invalid="ignore"):
        ABC = A @ (B @ C)
    if not bool(xp.all(xp.isfinite(ABC))):
        raise InputError(f"{func}: A, B, C must be small enough for A·B·C to be finite, got "
                         + ", ".join(f"max|{k}| = {float(to_host(xp.max(xp.abs(v)))):.3g}"
                                     for k, v in (("A", A), ("B", B), ("C", C))))
    _, sA, VhA = xp.linalg.svd(A, full_matrices=False)
    UB, sB, VhB = xp.linalg.svd(B, full_matrices=False)
    UC, sC, _ = xp.linalg.svd(C, full_matrices=False)
    # cos^2 θ_1(r1) = Σ_{i<=r1} <v_i(A), u_1(B)>^2 ; cos^2 θ_2(r2) = Σ_{j<=r2} <u_j(C), v_1(B)>^2
    c1sq = xp.clip(xp.cumulative_sum((VhA @ UB[:, 0]) ** 2), 0.0, 1.0)
    c2sq = xp.clip(xp.cumulative_sum((xp.matrix_transpose(UC) @ VhB[0, :]) ** 2), 0.0, 1.0)
    s1 = xp.linalg.svd(ABC, full_matrices=False)[1][0]
    sB_host = to_host(sB)
    return CrossBlockTerms(sA=to_host(sA), cos1=to_host(xp.sqrt(c1sq)), sC=to_host(sC),
                           cos2=to_host(xp.sqrt(c2sq)), sB1=float(sB_host[0]),
                           sB2=float(sB_host[1]) if sB_host.shape[0] > 1 else 0.0,
                           sigma1_ABC=float(to_host(s1)))


def cross_block_bound(A: Any, B: Any, C: Any, variant: str = "displayed") -> CrossBlockBound:
    """Evaluate the Theorem-3 lower bound on ``σ_1(A B C)``, maximised over ``r1, r2``.

    Parameters
    ----------
    A, B, C : arrays of shapes (p, q), (q, s), (s, t)
    variant : {"displayed", "corrected"}

    Returns
    -------
    CrossBlockBound
        The maximising ``r1, r2``, the singular values and cosines there, and ``σ_1(ABC)``.
        See :func:`cross_block_terms` for the grid.
    """
    if not _one_of(variant, BOUND_VARIANTS):
        raise InputError(f"cross_block_bound: variant must be one of {BOUND_VARIANTS}, "
                         f"got {variant!r}")
    t = _terms("cross_block_bound", A, B, C)

    c1, c2 = t.cos1[:, None], t.cos2[None, :]
    core = t.sB1 * c1 * c2
    if variant == "corrected":
        core = core - t.sB2 * np.sqrt(np.clip(1 - c1**2, 0, 1)) * np.sqrt(np.clip(1 - c2**2, 0, 1))
    with np.errstate(divide="ignore", over="ignore"):  # in logs: sA·sC may overflow, 0·inf not
        scale = np.log(t.sA)[:, None] + np.log(t.sC)[None, :] + np.log(np.abs(core))
        grid = np.where(core == 0, 0.0, np.sign(core) * np.exp(scale))
    if not np.all(np.isfinite(grid)):
        raise InputError(f"cross_block_bound: A, B, C must be small enough for the bound to be "
                         f"finite, got sA = {t.sA.max():.3g}, sB1 = {t.sB1:.3g}, "
                         f"sC = {t.sC.max():.3g}")
    i, j = divmod(int(grid.argmax()), grid.shape[1])
    return CrossBlockBound(variant=variant, value=float(grid[i, j]), r1=i + 1, r2=j + 1,
                           sA=float(t.sA[i]), sB1=t.sB1, sB2=t.sB2, sC=float(t.sC[j]),
                           cos1=float(t.cos1[i]), cos2=float(t.cos2[j]),
                           sigma1_ABC=t.sigma1_ABC)
