"""The Theorem-3 bound on stacks of triples: one array program over a leading batch axis.

:func:`evaluate_batch` computes, for ``N`` triples of one shape at once, the ingredients of
:func:`numerics.cross_block_terms` (batched SVDs, cumulative squared projections), evaluates a
form of the bound through the theory registry on the whole ``(N, r1, r2)`` grid in one
``Theorem.evaluate`` call, and returns the ``sup`` over ``(r1, r2)``, ``σ_1(ABC)``, the round-off
allowance ``atol`` of :mod:`specdef.validation.checks.theorem3` and the conservative ratio
``(bound − atol)/σ_1(ABC)``.  A planted perturbation of the theorem (``ctx.perturb``) multiplies
every bound.  The searches over network blocks rank millions of candidates with it; every
instance they report is re-evaluated one by one by :func:`.bound.evaluate_bound` (theorem and
kernel cross-checked).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...engine.registry import Context
from .bound import THEOREMS, _atol


@dataclass(frozen=True)
class BatchBound:
    """Bounds of ``N`` triples (host float64 arrays of shape ``(N,)``)."""

    bound: np.ndarray
    sigma1: np.ndarray
    atol: np.ndarray
    sB1: np.ndarray
    sB2: np.ndarray

    @property
    def excess(self) -> np.ndarray:
        """``(bound − atol)/σ_1(ABC)``; ``inf`` for a positive numerator on a zero product."""
        num = self.bound - self.atol
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(self.sigma1 > 0, num / np.where(self.sigma1 > 0, self.sigma1, 1.0),
                           np.where(num > 0, np.inf, 0.0))
        return out

    @property
    def rank_b_ge_2(self) -> np.ndarray:
        """``σ_2(B) > 1e-6 σ_1(B)``: the correction term of the corrected form is in play."""
        return self.sB2 > 1e-6 * self.sB1


def _terms(A: np.ndarray, B: np.ndarray, C: np.ndarray) -> dict:
    A, B, C = (np.asarray(M, dtype=np.float64) for M in (A, B, C))
    N = A.shape[0]
    _, sA, VhA = np.linalg.svd(A, full_matrices=False)
    UB, sB, VhB = np.linalg.svd(B, full_matrices=False)
    UC, sC, _ = np.linalg.svd(C, full_matrices=False)
    c1 = np.sqrt(np.clip(np.cumsum(np.einsum("nij,nj->ni", VhA, UB[:, :, 0]) ** 2, axis=1), 0, 1))
    c2 = np.sqrt(np.clip(np.cumsum(np.einsum("nji,nj->ni", UC, VhB[:, 0, :]) ** 2, axis=1), 0, 1))
    sB2 = sB[:, 1] if sB.shape[1] > 1 else np.zeros(N)
    n = max(*A.shape[1:], *C.shape[1:])
    return dict(sA=sA, c1=c1, sC=sC, c2=c2, sB1=sB[:, 0], sB2=np.minimum(sB2, sB[:, 0]),
                sigma1=np.linalg.svd(A @ (B @ C), compute_uv=False)[:, 0],
                atol=_atol(1.0, n, "float64") * (sA[:, 0] * sB[:, 0] * sC[:, 0]))


def evaluate_batches(ctx: Context, variant: str, triples: list) -> list[BatchBound]:
    """:func:`evaluate_batch` on several stacks (each of one shape) with one theorem call.

    The ``(r1, r2)`` grids of all stacks are zero-padded to one shape (a zero ``σ_{r}`` makes
    the bound 0 there) and masked out of the maximum.
    """
    tid = THEOREMS[variant]
    terms = [_terms(*T) for T in triples]
    R1 = max(t["sA"].shape[1] for t in terms)
    R2 = max(t["sC"].shape[1] for t in terms)

    Ns = [t["sA"].shape[0] for t in terms]
    sA, c1 = np.zeros((sum(Ns), R1)), np.zeros((sum(Ns), R1))
    sC, c2 = np.zeros((sum(Ns), R2)), np.zeros((sum(Ns), R2))
    mask = np.zeros((sum(Ns), R1, R2), dtype=bool)
    start = 0
    for t, N in zip(terms, Ns):
        r1, r2 = t["sA"].shape[1], t["sC"].shape[1]
        sl = slice(start, start + N)
        sA[sl, :r1], c1[sl, :r1], sC[sl, :r2], c2[sl, :r2] = t["sA"], t["c1"], t["sC"], t["c2"]
        mask[sl, :r1, :r2] = True
        start += N
    flat = lambda key: np.concatenate([t[key] for t in terms])  # noqa: E731
    sB1, sB2 = flat("sB1"), flat("sB2")
    grid = np.asarray(ctx.theorem(tid).evaluate(
        sA=sA[:, :, None], cos1=c1[:, :, None], sC=sC[:, None, :], cos2=c2[:, None, :],
        sB1=sB1[:, None, None], sB2=sB2[:, None, None]), dtype=float)
    grid = np.where(mask, np.broadcast_to(grid, mask.shape), -np.inf)
    bound = grid.reshape(grid.shape[0], -1).max(axis=1) * float(ctx.perturb.get(tid, 1.0))
    out, start = [], 0
    for t in terms:
        sl = slice(start, start + t["sA"].shape[0])
        start = sl.stop
        out.append(BatchBound(bound=bound[sl], sigma1=t["sigma1"], atol=t["atol"],
                              sB1=t["sB1"], sB2=t["sB2"]))
    return out


def evaluate_batch(ctx: Context, variant: str, A: np.ndarray, B: np.ndarray,
                   C: np.ndarray) -> BatchBound:
    """Bound of ``variant`` (``sup`` over ``r1, r2``) on the stacked triples ``A[k], B[k], C[k]``.

    Parameters
    ----------
    ctx : Context
        Supplies the theorem (and any planted perturbation of it).
    variant : {"displayed", "corrected"}
    A, B, C : arrays of shapes (N, p, q), (N, q, s), (N, s, t), float64 on the host

    Notes
    -----
    ``cos² θ_1(r1) = Σ_{i ≤ r1} ⟨v_i(A), u_1(B)⟩²`` and ``cos² θ_2(r2) = Σ_{j ≤ r2}
    ⟨u_j(C), v_1(B)⟩²`` as in :func:`numerics.cross_block_terms`.  Where singular values are
    repeated (ReLU's 0/1 activation derivatives, Kronecker factors with an identity) the
    singular vectors inside a cluster are arbitrary, but the ``sup`` is not: it is attained at
    the end of the cluster, where the projection covers the whole cluster.
    """
    return evaluate_batches(ctx, variant, [(A, B, C)])[0]


def excess_of(bound: float, atol: float, sigma1: float) -> float:
    """The conservative ratio of one instance (as :attr:`BatchBound.excess`)."""
    num = bound - atol
    if sigma1 > 0:
        return num / sigma1
    return math.inf if num > 0 else 0.0
