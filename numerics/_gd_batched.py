"""Gradient descent on many small quadratics at once: the simulation the closed forms replace.

``e ← e − η H_b e`` for a batch of Hessians ``H_b`` and step sizes ``η``, one batched matrix
product per step; it checks :mod:`numerics._gd_quadratic` (closed forms, exact step counts)
where an independent simulation is wanted, and runs what has no closed form (divergence
detection, histories).  Stopping convention as in :mod:`numerics._gd_quadratic`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ._backend import (backend_name, eps, get_namespace, _one_of, require_matrix, require_positive,
                       to_host)
from ._errors import InputError
from ._gd_quadratic import _QUANTITIES, _quantity, _require_all, _to_xp

__all__ = ["BatchedGDResult", "batched_gradient_descent", "batched_steps_to_tolerance"]


@dataclass(frozen=True)
class BatchedGDResult:
    """Gradient descent on ``B`` quadratics for ``S`` step sizes at once.

    Attributes
    ----------
    errors : array, shape (B, S, d)
        Final errors ``e_T`` on the backend (frozen at divergence, see ``diverged_at``).
    loss : array, shape (R, B, S) or None
        ``½ e_tᵀ H_b e_t`` at the recorded steps, on the backend.
    distance : array, shape (R, B, S) or None
        ``‖e_t‖²`` at the recorded steps, on the backend.
    record_steps : numpy.ndarray of int64, shape (R,)
        The iteration of each record: ``0, k, 2k, …`` and always ``n_steps``.
    diverged_at : array of int64, shape (B, S)
        First step whose loss was non-finite or above ``divergence_factor × loss_0``; ``-1``
        if none.
    steps : numpy.ndarray, shape (S,)
        The step sizes.
    params : dict
    """

    errors: Any
    loss: Any
    distance: Any
    record_steps: np.ndarray
    diverged_at: Any
    steps: np.ndarray
    params: dict = field(default_factory=dict)


def _require_psd(func: str, xp: Any, H: Any) -> None:
    """Refuse a batch of Hessians that is not symmetric positive semidefinite (to rounding).

    ``λ_min(H_b) ≥ −tol_b`` with ``tol_b = d·√eps·max|H_b|``.  A batched Cholesky of
    ``H_b + tol_b·I`` proves it for the whole batch at a third of the cost of ``eigvalsh``;
    only when it fails (it raises on NumPy; CuPy returns a factor with NaN or a non-positive
    pivot, both checked) does ``eigvalsh`` decide, and name the failing problem.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        scale = xp.max(xp.abs(H), axis=(1, 2))
        Ht = xp.permute_dims(H, (0, 2, 1))
        asym = xp.max(xp.abs(H - Ht), axis=(1, 2))
        tol = H.shape[1] * math.sqrt(eps(H.dtype)) * scale
        bad = np.asarray(to_host(asym > tol), dtype=bool)
        if bad.any():
            b = int(np.argmax(bad))
            raise InputError(f"{func}: H must be symmetric, got max|H - H^T| = "
                             f"{float(to_host(asym[b])):.3g} in H[{b}]")
        sym = 0.5 * H + 0.5 * Ht
        try:
            eye = xp.eye(H.shape[1], dtype=H.dtype)
            chol = xp.linalg.cholesky(sym + tol[:, None, None] * eye)
            pivots = xp.linalg.diagonal(chol)
            if bool(xp.all(xp.isfinite(chol))) and bool(xp.all(pivots > 0)):
                return
        except ValueError:  # NumPy's LinAlgError; CuPy does not raise (its result is checked)
            pass
        lo = xp.min(xp.linalg.eigvalsh(sym), axis=1)
        bad = np.asarray(to_host(~(lo >= -tol)), dtype=bool)
    if bad.any():
        b = int(np.argmax(bad))
        raise InputError(f"{func}: H must be positive semidefinite, got lambda_min = "
                         f"{float(to_host(lo[b])):.3g} in H[{b}]")


def batched_gradient_descent(H: Any, e0: Any, steps: Any, n_steps: int, *,
                             record: Sequence[str] = ("loss",), record_every: int = 1,
                             divergence_factor: float = 1e12) -> BatchedGDResult:
    """Run ``e ← e − η H_b e`` for every problem ``b`` and step size ``η`` simultaneously.

    Parameters
    ----------
    H : array, shape (B, d, d)
        Symmetric positive semidefinite Hessians.
    e0 : array, shape (B, d)
        Initial errors ``w_0 − w*``.
    steps : array, shape (S,)
        Step sizes ``η > 0``.
    n_steps : int
        Iterations (``>= 0``).
    record : sequence of {"loss", "distance"}
        Histories to keep on the device.
    record_every : int
        Keep every ``k``-th iterate (and the last).
    divergence_factor : float
        A run whose loss exceeds this multiple of its initial loss (or becomes non-finite) is
        marked diverged and frozen.

    Returns
    -------
    BatchedGDResult

    Notes
    -----
    The state is stored as ``(B, d, S)`` so each step is one batched matrix product
    ``H @ E`` (``B`` GEMMs of ``d×d`` by ``d×S``), whose result also gives the loss
    ``½ Σ_j E_j (HE)_j`` at no extra product; there is no host synchronisation inside the loop.
    Memory: about ``4·B·d·S`` state entries plus ``(n_steps // record_every + 2)·B·S`` entries
    per recorded history (float64: 8 bytes each).  A diverged run keeps its last finite iterate
    (the first one past the divergence threshold, if finite), so histories never hold NaN.
    """
    func = "batched_gradient_descent"
    H = require_matrix(func, "H", H, ndim=3)
    xp = get_namespace(H, func=func)
    B, d, d2 = H.shape
    if d != d2:
        raise InputError(f"{func}: H must have shape (B, d, d), got shape {tuple(H.shape)}")
    dtype = H.dtype
    _require_psd(func, xp, H)
    e0 = require_matrix(func, "e0", _to_xp(xp, e0, dtype, func, "e0"), ndim=2, xp=xp)
    if tuple(e0.shape) != (B, d):
        raise InputError(f"{func}: e0 must have shape ({B}, {d}) to match H, got shape "
                         f"{tuple(e0.shape)}")
    eta = require_matrix(func, "steps", _to_xp(xp, steps, dtype, func, "steps"), ndim=1, xp=xp)
    _require_all(func, "steps", eta > 0, eta, "> 0")
    n_steps = require_positive(func, "n_steps", n_steps, allow_zero=True, integer=True)
    record_every = require_positive(func, "record_every", record_every, integer=True)
    divergence_factor = require_positive(func, "divergence_factor", divergence_factor)
    if not isinstance(record, (str, list, tuple)):
        raise InputError(f"{func}: record must contain only 'loss' and 'distance', got {record!r}")
    record = (record,) if isinstance(record, str) else tuple(record)
    if any(not _one_of(q, _QUANTITIES) for q in record):
        raise InputError(f"{func}: record must contain only 'loss' and 'distance', got {record!r}")
    S = eta.shape[0]
    etab = xp.reshape(eta, (1, 1, S))
    E = e0[:, :, None] * xp.ones((1, 1, S), dtype=dtype)
    with np.errstate(over="ignore", invalid="ignore"):
        HE = xp.matmul(H, E)
        L = 0.5 * xp.sum(E * HE, axis=1)
    if not bool(xp.all(xp.isfinite(L))):
        raise InputError(f"{func}: H and e0 must be small enough for the initial loss "
                         f"½ e0ᵀ H e0 to be finite, got max|H| = "
                         f"{float(to_host(xp.max(xp.abs(H)))):.3g}, max|e0| = "
                         f"{float(to_host(xp.max(xp.abs(e0)))):.3g}")
    chunk = _chunk_size(xp, B, d, dtype)
    runs = [_iterate(xp, H[a:a + chunk, ...], E[a:a + chunk, ...], HE[a:a + chunk, ...],
                     L[a:a + chunk, ...], etab, n_steps, record, record_every, divergence_factor)
            for a in range(0, B, chunk)]
    join = (lambda parts, axis: parts[0]) if len(runs) == 1 else xp.concat
    stacked = {q: join([r[2][q] for r in runs], 1) for q in record}
    params = {"n_steps": n_steps, "record": record, "record_every": record_every,
              "divergence_factor": divergence_factor}
    return BatchedGDResult(errors=xp.permute_dims(join([r[0] for r in runs], 0), (0, 2, 1)),
                           loss=stacked.get("loss"), distance=stacked.get("distance"),
                           record_steps=np.asarray(runs[0][3], dtype=np.int64),
                           diverged_at=join([r[1] for r in runs], 0),
                           steps=np.asarray(to_host(eta), dtype=np.float64), params=params)


#: Bytes of Hessians per chunk on NumPy: half of a 2 MiB L2 cache, leaving room for the state.
_CACHE_BYTES = 2**20


def _chunk_size(xp: Any, B: int, d: int, dtype: Any) -> int:
    """Problems per chunk: all of them on a GPU; on NumPy, as many as fit in ``_CACHE_BYTES``.

    Every step reads all of H once (0.25 flop per byte): from DRAM for a batch larger than the
    cache, from L2 when a chunk runs all its steps before the next starts (measured 1.46x at
    B = 1024, d = 64).  Problems are independent, so the results do not depend on the chunking.
    """
    if backend_name(xp) != "numpy":
        return B
    itemsize = 4 if "float32" in str(dtype) else 8
    return max(1, min(B, _CACHE_BYTES // (d * d * itemsize)))


def _iterate(xp: Any, H: Any, E: Any, HE: Any, L: Any, etab: Any, n_steps: int,
             record: tuple, record_every: int, divergence_factor: float) -> tuple:
    """The loop of :func:`batched_gradient_descent` on one chunk of problems.

    Returns the final state ``E (b, d, S)``, ``diverged_at (b, S)``, the histories stacked as
    ``(n_recorded, b, S)`` and the recorded step numbers.
    """
    B, _, S = E.shape
    with np.errstate(over="ignore", invalid="ignore"):
        limit = xp.where(L > 0, divergence_factor * L, math.inf)
        active = xp.isfinite(L)
        div_at = xp.full((B, S), -1, dtype=xp.int64)
        hist: dict[str, list] = {q: [] for q in record}
        rec_steps = []

        def keep(t: int) -> None:
            rec_steps.append(t)
            if "loss" in hist:
                hist["loss"].append(L)
            if "distance" in hist:
                hist["distance"].append(xp.sum(E * E, axis=1))

        keep(0)
        for t in range(1, n_steps + 1):
            E_new = E - etab * HE
            HE_new = xp.matmul(H, E_new)
            L_new = 0.5 * xp.sum(E_new * HE_new, axis=1)
            finite = xp.isfinite(L_new)
            accept = active & finite
            gone = active & (~finite | (L_new > limit))
            div_at = xp.where(gone, xp.asarray(t, dtype=xp.int64), div_at)
            active = active & ~gone
            E = xp.where(accept[:, None, :], E_new, E)
            HE = xp.where(accept[:, None, :], HE_new, HE)
            L = xp.where(accept, L_new, L)
            if t % record_every == 0 or t == n_steps:
                keep(t)
    return E, div_at, {q: xp.stack(v, axis=0) for q, v in hist.items()}, rec_steps


def batched_steps_to_tolerance(result: BatchedGDResult, tol: float = 1e-8, *,
                               quantity: str = "loss") -> np.ndarray:
    """First recorded step of a batched run meeting the relative criterion, shape (B, S), host.

    ``gap_t <= tol · gap_0`` (loss) or ``‖e_t‖ <= tol · ‖e_0‖`` (distance); ``inf`` where never
    met within the run.  Exact (equal to :func:`steps_to_tolerance_quadratic`) when
    ``record_every == 1``; otherwise rounded up to the next recorded step.
    """
    func = "batched_steps_to_tolerance"
    if not isinstance(result, BatchedGDResult):
        raise InputError(f"{func}: result must be a BatchedGDResult, got {type(result).__name__}")
    quantity = _quantity(func, quantity)
    tol = require_positive(func, "tol", tol)
    hist = result.loss if quantity == "loss" else result.distance
    if hist is None:
        raise InputError(f"{func}: result must have recorded {quantity!r}, got record="
                         f"{result.params.get('record')!r}")
    xp = get_namespace(hist)
    thr = (tol if quantity == "loss" else tol * tol) * hist[0, ...]
    met = hist <= thr
    first = xp.argmax(xp.astype(met, xp.int8), axis=0)
    anyh = np.asarray(to_host(xp.any(met, axis=0)), dtype=bool)
    idx = np.asarray(to_host(first), dtype=np.int64)
    return np.where(anyh, result.record_steps[idx].astype(np.float64), np.inf)
