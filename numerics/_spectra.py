"""Hessian spectra: a :class:`Spectrum` record, dense ``eigh``, and exact structured spectra.

The structured spectra of docs/theory/hessian.rst come from small eigenproblems (d×d or (d+m)×d),
never from the Hessian itself: linear regression (``Σ_x ⊗ I_m``), SpecDef with C frozen (``Σ_x ⊗ C^T
C``) and SpecDef with both factors trained at zero residual (``J^T J``, in
:mod:`numerics._joint_spectrum`).  Matrix-free eigensolvers for the general case are in
:mod:`numerics._eigsolve`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import numpy as np

from ._backend import eps, get_namespace, require_matrix, require_positive, to_host
from ._errors import InputError

__all__ = ["Spectrum", "dense_spectrum", "linear_regression_spectrum",
           "frozen_compensation_spectrum"]


@dataclass(frozen=True, eq=False)
class Spectrum:
    """Eigenvalues of a symmetric matrix with ``n_rows`` rows, as values with multiplicities.

    Attributes
    ----------
    values : array, shape (k,)
        Eigenvalues in ascending order, on the backend (entries may repeat).
    multiplicities : numpy.ndarray of int, shape (k,)
        How often each value occurs; sums to ``n_rows``.
    n_rows : int
        Dimension of the matrix.
    rtol : float, optional
        Default relative zero threshold: ``|λ| ≤ rtol·σ_max`` counts as zero.  ``None`` means
        ``n_rows · eps(dtype)``, the backward error of a dense ``eigh`` (each computed λ is
        within ``≈ n·eps·‖H‖`` of an exact one, so a smaller ``|λ|`` is not resolved from 0; the
        ``matrix_rank`` convention).  The structured constructors set exact zeros themselves,
        using the backward error of the small problem they solved, and store ``rtol = 0.0``.

    Notes
    -----
    All summaries are host floats.  ``condition_number`` is ``σ_max / λ_min⁺``, the condition
    number of the matrix restricted to its range; it is meant for positive semidefinite matrices.
    """

    values: Any
    multiplicities: Any
    n_rows: int
    rtol: float | None = None

    def __post_init__(self) -> None:
        if not hasattr(self.values, "shape") or not hasattr(self.values, "ndim"):
            raise InputError(f"Spectrum: values must be an array, got {type(self.values).__name__}")
        if isinstance(self.n_rows, bool) or not isinstance(self.n_rows, (int, np.integer)) \
                or self.n_rows < 1:
            raise InputError(f"Spectrum: n_rows must be an integer >= 1, got {self.n_rows!r}")
        try:
            raw = np.asarray(self.multiplicities)
            mult = raw.astype(np.int64).reshape(-1)
        except (TypeError, ValueError):
            raise InputError(f"Spectrum: multiplicities must be integers, got "
                             f"{self.multiplicities!r}") from None
        if raw.dtype.kind not in "iu" and not np.array_equal(mult, raw.reshape(-1)):
            raise InputError(f"Spectrum: multiplicities must be integers, got "
                             f"{self.multiplicities!r}")
        object.__setattr__(self, "multiplicities", mult)
        if self.values.ndim != 1 or mult.shape[0] != self.values.shape[0]:
            raise InputError(f"Spectrum: multiplicities must match values in length, got "
                             f"{mult.shape[0]} and shape {tuple(self.values.shape)}")
        if np.any(mult < 1) or int(mult.sum()) != self.n_rows:
            raise InputError(f"Spectrum: multiplicities must be >= 1 and sum to n_rows="
                             f"{self.n_rows}, got sum {int(mult.sum())}")
        if self.rtol is not None:
            require_positive("Spectrum", "rtol", self.rtol, allow_zero=True)
        if not np.all(np.isfinite(self._host)):
            raise InputError(f"Spectrum: values must be finite, got NaN or inf in "
                             f"{self.values.shape[0]} values")

    @cached_property
    def _host(self) -> np.ndarray:
        return np.asarray(to_host(self.values), dtype=np.float64)

    def _tol(self, rtol: float | None) -> float:
        if rtol is None:
            rtol = self.rtol if self.rtol is not None else self.n_rows * eps(self.values.dtype)
        return require_positive("Spectrum", "rtol", rtol, allow_zero=True) * self.sigma_max

    @property
    def sigma_max(self) -> float:
        """Largest ``|λ|`` (spectral norm)."""
        return float(np.max(np.abs(self._host)))

    @property
    def lambda_max(self) -> float:
        return float(self._host[-1])

    @property
    def lambda_min(self) -> float:
        """Smallest eigenvalue (zero for a singular PSD matrix)."""
        return float(self._host[0])

    @property
    def lambda_min_nonzero(self) -> float:
        """Smallest eigenvalue ``> rtol·σ_max`` (NaN if there is none); see class ``rtol``."""
        pos = self._host[self._host > self._tol(None)]
        return float(pos[0]) if pos.size else math.nan

    @property
    def null_dim(self) -> int:
        """Number of eigenvalues (with multiplicity) with ``|λ| ≤ rtol·σ_max``."""
        return int(self.multiplicities[np.abs(self._host) <= self._tol(None)].sum())

    @property
    def condition_number(self) -> float:
        """``σ_max / lambda_min_nonzero``: the condition number restricted to the range."""
        return self.sigma_max / self.lambda_min_nonzero

    def with_rtol(self, rtol: float) -> "Spectrum":
        """The same spectrum judged with another zero threshold ``rtol`` (class ``rtol``).

        Every derived quantity is a property; ``spec.with_rtol(0.0).null_dim`` counts exact
        zeros only.
        """
        require_positive("Spectrum", "rtol", rtol, allow_zero=True)
        return replace(self, rtol=float(rtol))

    def expand(self) -> Any:
        """All ``n_rows`` eigenvalues, ascending, on the backend."""
        xp = get_namespace(self.values)
        return xp.repeat(self.values, xp.asarray(self.multiplicities))


def _too_large(func: str, inputs: dict[str, Any], xp: Any, dtype: Any) -> InputError:
    """The error for finite inputs whose Hessian eigenvalues overflow ``dtype``."""
    sizes = ", ".join(f"max|{k}| = {float(to_host(xp.max(xp.abs(v)))):.3g}"
                      for k, v in inputs.items())
    return InputError(f"{func}: {', '.join(inputs)} must be small enough for the Hessian "
                      f"eigenvalues to be finite in {str(dtype).rsplit('.', 1)[-1]}, got {sizes}")


def _assemble(parts: list[tuple[Any, int]], n_rows: int, xp: Any, rtol: float | None,
              func: str, inputs: dict[str, Any], dtype: Any = None) -> Spectrum:
    """Sort ``(values, multiplicity)`` groups into one ascending :class:`Spectrum`.

    Values are cast to ``dtype`` (the inputs' dtype; default: as computed).  Eigenvalues that
    overflow it (finite inputs whose squares do not fit) are reported as an
    :class:`InputError` naming ``inputs``.
    """
    vals = xp.concat([v for v, _ in parts])
    if dtype is not None and vals.dtype != dtype:
        with np.errstate(over="ignore"):  # overflow is reported below
            vals = xp.astype(vals, dtype)
    if not bool(xp.all(xp.isfinite(vals))):
        raise _too_large(func, inputs, xp, vals.dtype)
    mult = np.concatenate([np.full(v.shape[0], k, dtype=np.int64) for v, k in parts])
    order = xp.argsort(vals, stable=True)
    return Spectrum(xp.take(vals, order), mult[np.asarray(to_host(order))], n_rows, rtol)


def _float64(xp: Any, *arrays: Any) -> list[Any]:
    """The arrays in float64 (exact for float32 entries): the structured spectra factorise the
    inputs as stored in float64, so a float32 input cannot lose a small eigenvalue that its
    stored entries determine to a float32 solver's error ``max(shape)·eps₃₂·σ_1``."""
    return [a if a.dtype == xp.float64 else xp.astype(a, xp.float64) for a in arrays]


def _squared_svdvals(M: Any, xp: Any, pad_to: int) -> Any:
    """``σ_i(M)²`` with ``σ_i ≤ max(shape)·eps·σ_1`` set to exactly 0, zero-padded to ``pad_to``.

    ``max(shape)·eps·σ_1`` is the backward error of ``svdvals`` (each computed σ_i is within it
    of an exact one, by Weyl's inequality): below it a value is not resolved from 0, and the
    numerical rank is the ``matrix_rank`` one.
    """
    s = xp.linalg.svdvals(M)
    s = xp.where(s > max(M.shape) * eps(M.dtype) * xp.max(s), s, xp.zeros_like(s))
    extra = pad_to - s.shape[0]
    with np.errstate(over="ignore"):  # overflow is reported by _assemble
        sq = s * s
    return xp.concat([sq, xp.zeros(extra, dtype=s.dtype)]) if extra > 0 else sq


def _data_factor(X: Any, xp: Any) -> Any:
    """``F`` (d×min(d,n)) with ``F F^T = Σ_x = X X^T/n``, without forming ``X X^T``.

    ``n ≥ d``: ``F = R^T/√n`` from the QR factorisation ``X^T = Q R``; otherwise ``F = X/√n``.
    """
    d, n = X.shape
    if n < d:
        return X / math.sqrt(n)
    return xp.linalg.qr(X.mT, mode="reduced")[1].mT / math.sqrt(n)


def _c_singular_values(C: Any) -> tuple[np.ndarray, float, float]:
    """``σ(C)`` ascending on the host, computed in float64, with its two error scales.

    Returns ``(s, resolved, spread)``: ``resolved = max(shape)·eps₆₄·σ_1`` bounds the error of
    each computed value (the backward error of a float64 ``svdvals`` / ``eigvalsh``, by Weyl's
    inequality), and ``spread = resolved + max(shape)·eps(C.dtype)·σ_1`` adds the error with
    which C itself was produced and stored in its dtype by a backward-stable routine (SpecDef's
    ``I + (α⁻¹ − 1)U_kU_kᵀ``).  The entries of C convert to float64 exactly, so the values
    are those of C as stored, whatever its dtype.
    """
    xp = get_namespace(C)
    C64 = xp.astype(C, xp.float64)
    if C.shape[0] == C.shape[1] and bool(xp.all(C == C.mT)):
        # symmetric C (SpecDef's is symmetrised): σ = |λ|, and eigvalsh is ~3x cheaper than
        # an SVD (0.13 s against 0.38 s at 1024×1024, one thread)
        s = np.sort(np.abs(np.asarray(to_host(xp.linalg.eigvalsh(C64)), dtype=np.float64)))
    else:
        s = np.sort(np.asarray(to_host(xp.linalg.svdvals(C64)), dtype=np.float64))
    top = float(s[-1]) if s.size else 0.0
    n = max(C.shape)
    resolved = n * eps(np.float64) * top
    return s, resolved, resolved + n * eps(C.dtype) * top


def _grouped_sq_singular_values(C: Any, pad_to: int,
                                group_tol: float | None) -> list[tuple[float, int]]:
    """Distinct values of ``σ_j(C)²`` (zero-padded to ``pad_to`` values) with their counts.

    The singular values are computed in float64 from C as stored (:func:`_c_singular_values`),
    so a small one is resolved whatever C's dtype: a float32 SpecDef C keeps its eigenvalue
    ``1/α`` down to ``1/α ≈ max(shape)·eps₆₄``, where a float32 solver would lose it below
    ``max(shape)·eps₃₂``.  Values ``≤ resolved = max(shape)·eps₆₄·σ_1`` (the float64 solver's
    error bound) are exact zeros.  Nonzero values whose gap to their neighbour is at most
    ``2·spread``, ``spread = resolved + max(shape)·eps(C.dtype)·σ_1`` (two values equal in exact
    arithmetic each lie within ``spread`` of it), are merged (chained) and represented by their
    mean; zeros are never merged with nonzero values.  SpecDef's values ``{1/α, 1}`` therefore
    form two groups for every α with ``|1 − 1/α| > 2·spread`` (≈ 4·max(shape)·eps in float64)
    and every ``1/α > resolved``.  ``group_tol`` replaces both thresholds by one absolute value.
    """
    s, resolved, spread = _c_singular_values(C)
    zero, gap = (resolved, 2.0 * spread) if group_tol is None else (group_tol, group_tol)
    s = np.concatenate([np.zeros(pad_to - s.size), np.where(s > zero, s, 0.0)])
    groups: list[list[float]] = [[s[0]]]
    for v in s[1:]:
        if v - groups[-1][-1] <= gap and (v == 0.0) == (groups[-1][-1] == 0.0):
            groups[-1].append(v)
        else:
            groups.append([v])
    with np.errstate(over="ignore"):  # overflow is reported by _assemble
        return [(float(np.square(np.mean(g))), len(g)) for g in groups]


def _check_group_tol(func: str, group_tol: Any) -> float | None:
    if group_tol is None:
        return None
    return require_positive(func, "group_tol", group_tol, allow_zero=True)


def dense_spectrum(H: Any) -> Spectrum:
    """Spectrum of a dense symmetric matrix by ``eigh`` (symmetrised; all multiplicities 1).

    Raises :class:`InputError` if ``H`` is not square or ``max|H − H^T| > √eps·max|H|``.
    """
    H = require_matrix("dense_spectrum", "H", H)
    xp = get_namespace(H)
    if H.shape[0] != H.shape[1]:
        raise InputError(f"dense_spectrum: H must be square, got shape {tuple(H.shape)}")
    asym = float(to_host(xp.max(xp.abs(H - H.mT))))
    scale = float(to_host(xp.max(xp.abs(H))))
    if asym > math.sqrt(eps(H.dtype)) * scale:
        raise InputError(f"dense_spectrum: H must be symmetric, got max|H - H^T| = {asym:.3g}")
    vals = xp.linalg.eigvalsh(0.5 * H + 0.5 * H.mT)
    if not bool(xp.all(xp.isfinite(vals))):
        raise InputError(f"dense_spectrum: H must be small enough for its eigenvalues to be "
                         f"finite, got max|H| = {scale:.3g}")
    return Spectrum(vals, np.ones(H.shape[0], dtype=np.int64), H.shape[0])


def linear_regression_spectrum(X: Any, m: int) -> Spectrum:
    """Exact spectrum of ``H = Σ_x ⊗ I_m``: each eigenvalue of ``Σ_x`` with multiplicity m.

    Parameters
    ----------
    X : array, shape (d, n)
    m : int
        Number of outputs (rows of W).

    Notes
    -----
    ``λ_i(Σ_x) = σ_i(F)²`` with ``F F^T = Σ_x`` (see ``_data_factor``); squaring singular values
    of a factor keeps small eigenvalues accurate to about ``eps·√κ`` relative, where an ``eigh`` of
    ``X X^T/n`` gives ``eps·κ``.  Eigenvalues below the rank threshold are exactly 0.
    """
    X = require_matrix("linear_regression_spectrum", "X", X)
    m = require_positive("linear_regression_spectrum", "m", m, integer=True)
    xp, d = get_namespace(X), X.shape[0]
    lam = _squared_svdvals(_data_factor(*_float64(xp, X), xp), xp, d)
    return _assemble([(lam, m)], d * m, xp, 0.0, "linear_regression_spectrum", {"X": X},
                     X.dtype)


def frozen_compensation_spectrum(X: Any, C: Any, *, group_tol: float | None = None) -> Spectrum:
    """Exact spectrum of ``H = Σ_x ⊗ C^T C`` (SpecDef with C frozen, W̃ ∈ R^{m×d} trained).

    Parameters
    ----------
    X : array, shape (d, n)
    C : array, shape (m', m)
    group_tol : float, optional
        Absolute tolerance for merging equal singular values of C (see Notes).

    Notes
    -----
    ``eig(H) = {λ_i(Σ_x) · c_j}`` with ``c_j = σ_j(C)²`` (m values, zero-padded if m' < m).
    Equal ``c_j`` are grouped within the error of the computed singular values (the float64
    solver's backward error plus C's own rounding, ``≈ 2·max(m',m)·(eps₆₄ + eps(C))·σ_1(C)``;
    see ``_grouped_sq_singular_values``), so SpecDef's C gives 2d values with multiplicities k
    and m − k for every α with ``|1 − 1/α|`` above it.  Values of C at or below
    ``max(m',m)·eps₆₄·σ_1(C)`` are zero.

    Precision: X and C are factorised in float64 from their stored entries, whatever their
    dtype, and the eigenvalues are returned in ``result_type(X, C)``.  So the spectrum is that
    of the stored inputs: a float32 SpecDef C keeps its eigenvalue 1/α (``m = 128``,
    ``α = 10⁵``: κ ≈ 7e10 with Σ_x's κ ≈ 7, where a float32 ``eigvalsh`` would put 1/α below its
    resolution ``m·eps₃₂ ≈ 1.5e-5`` and report κ ≈ 7).  Cost: one factorisation of X and one
    ``svdvals`` (or ``eigvalsh`` for a symmetric C) of C.
    """
    func = "frozen_compensation_spectrum"
    X, C = require_matrix(func, "X", X), require_matrix(func, "C", C)
    group_tol = _check_group_tol(func, group_tol)
    xp, d, m = get_namespace(X, C, func=func), X.shape[0], C.shape[1]
    lam = _squared_svdvals(_data_factor(*_float64(xp, X), xp), xp, d)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported by _assemble
        parts = [(lam * c, k) for c, k in _grouped_sq_singular_values(C, m, group_tol)]
    return _assemble(parts, d * m, xp, 0.0, func, {"X": X, "C": C}, xp.result_type(X, C))
