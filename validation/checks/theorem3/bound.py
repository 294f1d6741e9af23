"""The Theorem-3 bound on ``(A, B, C)`` triples: evaluation, cross-check and formatting.

:func:`evaluate_bounds` maximises a form of :mod:`specdef.validation.checks.theorem3` over the
``(r1, r2)`` grid through the theory registry and cross-checks the kernel
:func:`numerics.cross_block_bound`; :class:`BoundEvaluation` holds the result with its round-off
allowance ``atol`` (see :mod:`specdef.validation.checks.theorem3`), :func:`format_instance` turns
a triple into a record's ``instance``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...engine.registry import Context
from ...engine.tolerance import eps_of, rtol_exact

THEOREMS = {"displayed": "hessian_bound.displayed", "corrected": "hessian_bound.corrected"}


@dataclass(frozen=True)
class BoundEvaluation:
    """The bound at its maximising ``(r1, r2)`` and ``σ_1(ABC)`` for one triple."""

    variant: str
    bound: float          # theorem value (times any planted perturbation)
    sigma1: float         # σ_1(ABC)
    atol: float           # round-off allowance (theorem3 docstring)
    r1: int
    r2: int
    params: dict          # sA, sB1, sB2, sC, cos1, cos2 at (r1, r2)
    scale: float          # σ_1(A) σ_1(B) σ_1(C)

    @property
    def ratio(self) -> float:
        """``bound / σ_1(ABC)``."""
        return self.bound / self.sigma1 if self.sigma1 > 0 else math.inf * (self.bound > 0)

    @property
    def excess(self) -> float:
        """Conservative ratio ``(bound − atol)/σ_1(ABC)``: above ``1 + rtol`` is a violation."""
        num = self.bound - self.atol
        if self.sigma1 > 0:
            return num / self.sigma1
        return math.inf if num > 0 else 0.0


def _atol(scale: float, n: int, dtype: str) -> float:
    e = eps_of(dtype)
    return scale * (2 * math.sqrt(8 * n * e) + 16 * n * e)


#: Provenance of the two sides of a Theorem-3 record (``Result.declare``): σ1 is measured by an SVD
#: of a matrix product; the bound is the theorem's SymPy expression on singular values and angles.
EMPIRICAL = "linear algebra: σ1(A·B·C) by SVD of the product"
PROVEN = ("closed form: theory bound theorem3 {v} (Theorem.evaluate on σ_r(A), σ(B), σ_r(C) "
          "and the angles of their singular subspaces, maximised over r1, r2)")


def evaluate_bounds(ctx: Context, variant: str, triples: list, *,
                    cross_check: bool = True) -> list[BoundEvaluation]:
    """Theorem-3 bound of ``variant`` on many triples, each maximised over ``(r1, r2)``.

    The ``(r1, r2)`` grids of all triples are padded into one array and evaluated by a single
    ``Theorem.evaluate`` call (NumPy broadcasting; padded cells are masked out) to find each
    maximiser; the bound there comes from ``ctx.proven`` (so planted perturbations apply).  With
    ``cross_check`` the kernel's :func:`numerics.cross_block_bound` must agree with the
    unperturbed theorem value to ``max(1e-12, 64 eps)`` relative to ``σ_1(A)σ_1(B)σ_1(C)``; a
    disagreement raises ``RuntimeError`` (the runner records it as ``ERROR``).
    """
    from specdef.numerics import cross_block_bound, cross_block_terms

    tid = THEOREMS[variant]
    terms = [cross_block_terms(*T) for T in triples]
    if not terms:
        return []
    R1, R2 = max(t.sA.shape[0] for t in terms), max(t.sC.shape[0] for t in terms)
    N = len(terms)
    pad = {k: np.zeros((N, R1 if k in ("sA", "cos1") else R2)) for k in ("sA", "cos1", "sC",
                                                                            "cos2")}
    mask = np.zeros((N, R1, R2), dtype=bool)
    for k, t in enumerate(terms):
        r1, r2 = t.sA.shape[0], t.sC.shape[0]
        for key in pad:
            pad[key][k, :r1 if key in ("sA", "cos1") else r2] = getattr(t, key)
        mask[k, :r1, :r2] = True
    col = lambda v: np.asarray(v, dtype=float)[:, None, None]  # noqa: E731
    grid = ctx.theorem(tid).evaluate(
        sA=pad["sA"][:, :, None], cos1=pad["cos1"][:, :, None], sC=pad["sC"][:, None, :],
        cos2=pad["cos2"][:, None, :], sB1=col([t.sB1 for t in terms]),
        sB2=col([t.sB2 for t in terms]))
    grid = np.where(mask, np.broadcast_to(np.asarray(grid, dtype=float), mask.shape), -np.inf)
    if not np.all(np.isfinite(grid[mask])):
        raise RuntimeError(f"theorem3: {tid} is not finite on an (r1, r2) grid")
    out = []
    for k, ((A, B, C), t) in enumerate(zip(triples, terms)):
        i, j = divmod(int(np.argmax(grid[k])), R2)
        params = dict(sA=float(t.sA[i]), sB1=float(t.sB1), sB2=float(t.sB2),
                      sC=float(t.sC[j]), cos1=float(t.cos1[i]), cos2=float(t.cos2[j]))
        scale = float(t.sA[0]) * float(t.sB1) * float(t.sC[0])
        dt = str(getattr(A, "dtype", "float64"))
        if cross_check:
            kb, val = cross_block_bound(A, B, C, variant), float(grid[k, i, j])
            tol = max(1e-12, rtol_exact(dt)) * max(scale, abs(val), 1e-300)
            if not abs(kb.value - val) <= tol:
                raise RuntimeError(f"theorem3: numerics.cross_block_bound gives {kb.value!r}, "
                                   f"{tid} gives {val!r} (|diff| > {tol:.2g})")
        out.append(BoundEvaluation(variant=variant, bound=ctx.proven(tid, **params),
                                   sigma1=float(t.sigma1_ABC),
                                   atol=_atol(scale, max(*A.shape, *C.shape), dt),
                                   r1=i + 1, r2=j + 1, params=params, scale=scale))
    return out


def evaluate_bound(ctx: Context, variant: str, A: Any, B: Any, C: Any, *,
                   cross_check: bool = True) -> BoundEvaluation:
    """:func:`evaluate_bounds` for one triple."""
    return evaluate_bounds(ctx, variant, [(A, B, C)], cross_check=cross_check)[0]


def _kernel_excess(variant: str, A: np.ndarray, B: np.ndarray, C: np.ndarray) -> float:
    """Conservative ratio from the kernel alone: the cheap inner loop of the adversarial search."""
    from specdef.numerics import cross_block_bound

    b = cross_block_bound(A, B, C, variant)
    scale = float(np.linalg.norm(A, 2) * b.sB1 * np.linalg.norm(C, 2))
    num = b.value - _atol(scale, max(*A.shape, *C.shape), "float64")
    return num / b.sigma1_ABC if b.sigma1_ABC > 0 else (math.inf if num > 0 else 0.0)


def _fmt_matrix(M: np.ndarray) -> str:
    return "[" + ",".join("[" + ",".join(f"{v:g}" for v in row) + "]" for row in M.tolist()) + "]"


def format_instance(A: Any, B: Any, C: Any, ev: BoundEvaluation) -> dict:
    """``{"text": "A=[[1,0]] B=… C=…", "instance": {...}}`` for a record (host values)."""
    from specdef.numerics import to_host

    A, B, C = (np.asarray(to_host(m), dtype=float) for m in (A, B, C))
    inst = dict(A=A.tolist(), B=B.tolist(), C=C.tolist(), variant=ev.variant, r1=ev.r1,
                r2=ev.r2, **ev.params, sigma1_ABC=ev.sigma1, bound=ev.bound,
                ratio_bound_over_sigma1=ev.ratio, atol=ev.atol)
    text = f"A={_fmt_matrix(A)} B={_fmt_matrix(B)} C={_fmt_matrix(C)}"
    return {"text": text, "instance": inst}
