"""Matrix-free extreme eigenvalues of a Hessian from Hessian-vector products (SciPy / CuPy).

This is the general-case tool for points away from the structure of
:mod:`numerics._spectra`.  It wraps a user ``hvp`` into a ``LinearOperator`` and calls the
library eigensolvers ``eigsh`` (Lanczos, ARPACK on the CPU) or ``lobpcg``.  It works on NumPy
arrays (``scipy.sparse.linalg``) and CuPy arrays (``cupyx.scipy.sparse.linalg``, imported only
when ``backend="cupy"`` or ``null_space`` is a CuPy array); it is not array-API generic.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ._backend import (asarray, eps, make_rng, namespace_for, _one_of, require_positive,
                       to_host)
from ._errors import InputError

__all__ = ["EigResult", "extreme_eigenvalues"]

_WHICH = ("largest", "smallest", "both", "smallest_nonzero")


@dataclass(frozen=True, eq=False)
class EigResult:
    """Extreme eigenpairs from :func:`extreme_eigenvalues`.

    Attributes
    ----------
    values : array, shape (K,)
        Eigenvalue estimates, ascending (NumPy or CuPy, like the operator).
    vectors : array, shape (n, K) or None
        Unit eigenvectors (columns, same order) when ``return_vectors=True``.
    residuals : numpy.ndarray, shape (K,)
        ``‖H v − λ v‖`` for each pair, recomputed with the original ``hvp``.
    n_matvecs : int
        Every Hessian-vector product the call made (the validation probe, solver runs, the
        shift estimate, residuals).
    converged : bool
        The solver reported convergence and every recomputed residual is within what the
        solver promises plus the rounding of recomputing it, with
        ``‖H‖est = max(max|λ|, shift, ‖H v₀‖/‖v₀‖)`` (v₀ the random start vector):
        ``eigsh`` (ARPACK stops at a Ritz estimate ``≤ tol·|θ|``, ``tol = 0`` meaning eps):
        ``≤ tol·‖H‖est + (n + ncv)·eps·‖H‖est``, the second term bounding the rounding of the
        Ritz vector (a combination of ``ncv`` Lanczos vectors) and of ``Hv − θv`` (n terms);
        ``lobpcg`` (stops at an absolute residual ``≤ tol``, SciPy's ``n·√eps`` for
        ``tol = 0``): ``≤ tol + n·eps·‖H‖est``.  A floor of ``eps·‖H‖`` is all a residual of a
        tiny eigenvalue can reach, so the test is against ‖H‖, not the eigenvalue.
    which, method : str
        The request.
    """

    values: Any
    vectors: Any
    residuals: np.ndarray
    n_matvecs: int
    converged: bool
    which: str
    method: str


def _library(backend: str) -> tuple[Any, Any]:
    if backend == "cupy":
        import cupy  # lazy by design
        import cupyx.scipy.sparse.linalg as sla

        return cupy, sla
    import scipy.sparse.linalg as sla

    return np, sla


def extreme_eigenvalues(hvp: Callable[[Any], Any], n: int, *, k: int = 1, which: str = "both",
                        tol: float = 1e-10, maxiter: int | None = None, method: str = "eigsh",
                        null_space: Any = None, dtype: Any = None, backend: str | None = None,
                        rng: Any = None, return_vectors: bool = False) -> EigResult:
    """k extreme eigenvalues of a symmetric operator given only ``v ↦ H v``.

    Parameters
    ----------
    hvp : callable
        ``v (n,) ↦ H v (n,)`` on NumPy (or CuPy) arrays; H must be symmetric.
    n : int
        Dimension.
    k : int
        Eigenvalues per end.
    which : {"largest", "smallest", "both", "smallest_nonzero"}
        Largest algebraic, smallest algebraic, both ends (2k values), or the smallest eigenvalues
        of H restricted to the orthogonal complement of ``null_space`` (see Notes).
    tol : float
        Solver tolerance (ARPACK: relative accuracy of Ritz values; LOBPCG: residual norm).
    maxiter : int, optional
        Solver iteration limit (solver default if None).
    method : {"eigsh", "lobpcg"}
    null_space : array, shape (n, r), or callable, optional
        Basis (any, not necessarily orthonormal; ``1 <= r < n`` finite, linearly independent
        columns — an exactly dependent one is refused) of a known subspace of ker H, or the
        orthogonal projector ``v ↦ P v`` onto it (eigsh only; checked for idempotence on one
        vector); required for ``"smallest_nonzero"``.  A callable does not say its backend: pass
        ``backend="cupy"`` for a CuPy projector.  For :class:`SpecDefLayer` at zero
        residual: ``gauge_projector(theta)`` (O(m²d) memory, about one Hessian-vector product per
        use) or ``gauge_basis(theta)`` (``2m²(m+d)·m`` numbers, QR-factorised here).
    dtype, backend, rng
        Operator dtype (default float64), ``"numpy"``/``"cupy"`` (default from ``null_space``),
        seed of the random start vector (runs are reproducible).
    return_vectors : bool

    Notes
    -----
    A shift-invert is not available matrix-free and plain Lanczos on a singular PSD H returns
    its (possibly huge) null space first, so ``"smallest_nonzero"`` deflates a known null space
    ``N`` (orthonormalised by QR; or the given projector ``N Nᵀ``): with ``P = I − N N^T`` and
    ``s = λ_max(H)`` (one extra largest-eigenvalue run), ``eigsh`` finds the smallest
    eigenvalues of ``P H P + s N N^T``,
    whose spectrum is that of H with the null directions moved to ``s``; ``lobpcg`` instead keeps
    its iterates orthogonal to N (its ``Y`` constraint).  If N spans all of ker H, the result is
    the smallest nonzero eigenvalue of H; if N misses part of ker H, zeros are returned (check
    against a structured spectrum).  Never take σ_min or κ from ``svds`` of a Gram matrix.
    """
    func = "extreme_eigenvalues"
    if not callable(hvp):
        raise InputError(f"{func}: hvp must be a callable v -> H v, got {type(hvp).__name__}")
    n = require_positive(func, "n", n, integer=True)
    k = require_positive(func, "k", k, integer=True)
    tol = require_positive(func, "tol", tol, allow_zero=True)
    if maxiter is not None:
        maxiter = require_positive(func, "maxiter", maxiter, integer=True)
    if dtype is not None and str(dtype) not in ("float64", "float32") and not any(
            str(dtype).endswith(w) or str(dtype).endswith(w + "'>") for w in ("float64",
                                                                              "float32")):
        raise InputError(f"{func}: dtype must be float64 or float32, got {dtype!r}")
    if not _one_of(which, _WHICH):
        raise InputError(f"{func}: which must be one of {', '.join(_WHICH)}, got {which!r}")
    if not _one_of(method, ("eigsh", "lobpcg")):
        raise InputError(f"{func}: method must be 'eigsh' or 'lobpcg', got {method!r}")
    if method == "eigsh" and k >= n:
        raise InputError(f"{func}: k must be < n={n} for eigsh, got {k}")
    if k > n:
        raise InputError(f"{func}: k must be <= n={n}, got {k}")
    if which == "smallest_nonzero" and null_space is None:
        raise InputError(f"{func}: null_space must be given for which='smallest_nonzero', got None")
    if backend is None:
        backend = "cupy" if null_space is not None and type(null_space).__module__.startswith(
            "cupy") else "numpy"
    if not _one_of(backend, ("numpy", "cupy")):
        raise InputError(f"{func}: backend must be 'numpy' or 'cupy', got {backend!r}")
    if backend == "cupy":
        namespace_for("cupy")  # a one-line BackendUnavailableError without CuPy or a GPU
    lib, sla = _library(backend)
    dt = np.dtype("float32" if dtype is not None and "float32" in str(dtype) else "float64")
    count = [0]

    def apply(v: Any) -> Any:
        count[0] += 1
        out = hvp(v)
        if count[0] == 1:  # validate the operator once, on its first product
            if getattr(out, "shape", None) != (n,):
                raise InputError(f"{func}: hvp must map shape ({n},) to shape ({n},), got "
                                 f"{getattr(out, 'shape', type(out).__name__)}")
            if not bool(lib.all(lib.isfinite(out))):
                raise InputError(f"{func}: hvp must return finite values, got NaN or inf")
        return out

    N, project = None, None
    if callable(null_space):
        if method != "eigsh":
            raise InputError(f"{func}: null_space must be a basis (an array) for method="
                             f"'lobpcg', got a callable")
        project = _checked_projector(func, null_space, n, lib, dt,
                                     make_rng(func, rng).standard_normal(n))
    elif null_space is not None:
        if backend == "numpy":
            null_space = asarray(null_space, xp=np, dtype=dt, func=func, name="null_space")
        N = lib.asarray(null_space, dtype=dt)
        if N.ndim != 2 or N.shape[0] != n or not 1 <= N.shape[1] < n:
            raise InputError(f"{func}: null_space must have shape ({n}, r) with 1 <= r < {n}, "
                             f"got {tuple(N.shape)}")
        if not bool(lib.all(lib.isfinite(N))):
            raise InputError(f"{func}: null_space must have finite entries, got NaN or inf")
        N, R = lib.linalg.qr(N, mode="reduced")
        if not float(to_host(lib.min(lib.abs(lib.diagonal(R))))) > 0:  # Q's column would be arbitrary
            raise InputError(f"{func}: null_space must have linearly independent columns, got "
                             f"a rank-deficient basis of {N.shape[1]} columns")
    if method == "lobpcg" and N is not None and which == "smallest_nonzero" \
            and n - N.shape[1] < 5 * k:
        # SciPy's LOBPCG switches to a dense solver there, which takes no constraints
        raise InputError(f"{func}: lobpcg with a null_space needs n - r >= 5k, got n={n}, "
                         f"r={N.shape[1]}, k={k} (use method='eigsh')")
    start = make_rng(func, rng).standard_normal((n, k if method == "lobpcg" else 1))
    ncv = min(n, max(2 * k + 1, 20))  # SciPy's default Lanczos basis size, named for the test
    # validate the operator on one product before any solver sees it (LOBPCG would wrap
    # the InputError into a bare Exception); ‖H v₀‖/‖v₀‖ also bounds ‖H‖ from below
    v0 = lib.asarray(start[:, 0], dtype=dt)
    h_est = float(to_host(lib.linalg.norm(apply(v0)) / lib.linalg.norm(v0)))
    if project is None and N is not None:
        project = lambda v: N @ (N.T @ v)  # noqa: E731

    def operator(shift: float | None) -> Any:
        if shift is None:
            mv = lambda v: apply(v.reshape(-1))  # noqa: E731
        else:
            def mv(v: Any) -> Any:
                v = v.reshape(-1)
                Pv = project(v)
                Hw = apply(v - Pv)
                return Hw - project(Hw) + shift * Pv
        return sla.LinearOperator((n, n), matvec=mv, rmatvec=mv, dtype=dt)

    def run(largest: bool, shift: float | None = None, constrain: bool = False) -> tuple:
        op = operator(shift)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                if method == "eigsh":
                    v0 = lib.asarray(start[:, 0], dtype=dt)
                    vals, vecs = sla.eigsh(op, k=k, which="LA" if largest else "SA", tol=tol,
                                           maxiter=maxiter, v0=v0, ncv=ncv)
                else:
                    X0 = lib.asarray(start, dtype=dt)
                    vals, vecs = sla.lobpcg(op, X0, Y=N if constrain else None, tol=tol or None,
                                            maxiter=maxiter or 200, largest=largest)
                ok = not any("not reaching the requested tolerance" in str(w.message)
                             or "converge" in str(w.message).lower() for w in caught)
            except InputError:
                raise
            except Exception as exc:  # ArpackNoConvergence carries the converged part
                vals = getattr(exc, "eigenvalues", None)
                vecs = getattr(exc, "eigenvectors", None)
                if vals is None:
                    if type(exc).__name__ != "ArpackError":
                        raise
                    # a breakdown (e.g. an invariant subspace of a zero operator): no pair
                    vals, vecs = lib.zeros(0, dtype=dt), lib.zeros((n, 0), dtype=dt)
                ok = False
        return lib.asarray(vals), lib.asarray(vecs), ok

    results, shift_est = [], None
    if which in ("largest", "both"):
        results.append(run(largest=True))
    if which in ("smallest", "both"):
        results.append(run(largest=False))
    if which == "smallest_nonzero":
        if method == "eigsh":
            top = run(largest=True)  # only a shift >= the target is needed, not convergence
            if top[0].shape[0]:
                shift_est = float(to_host(lib.max(top[0])))
                results.append(run(largest=False, shift=shift_est))
        else:
            results.append(run(largest=False, constrain=True))
    vals = lib.concatenate([lib.reshape(r[0], (-1,)) for r in results] or [lib.zeros(0, dt)])
    vecs = lib.concatenate([lib.reshape(r[1], (n, -1)) for r in results] or [lib.zeros((n, 0), dt)],
                           axis=1)
    if vals.shape[0] == 0:  # the solver stopped before any pair converged
        return EigResult(vals, vecs if return_vectors else None, np.zeros(0), count[0], False,
                         which, method)
    order = lib.argsort(vals)
    vals, vecs = vals[order], vecs[:, order]
    vecs = vecs / lib.linalg.norm(vecs, axis=0)[None, :]
    res = np.array([float(to_host(lib.linalg.norm(apply(vecs[:, i]) - vals[i] * vecs[:, i])))
                    for i in range(vals.shape[0])])
    scale = max(float(np.max(np.abs(to_host(vals)))), abs(shift_est or 0.0), h_est)
    if method == "eigsh":
        bound = (tol or eps(dt)) * scale + (n + ncv) * eps(dt) * scale
    else:
        bound = (tol or math.sqrt(eps(dt)) * n) + n * eps(dt) * scale
    ok = all(r[2] for r in results) and bool(np.all(res <= bound))
    return EigResult(vals, vecs if return_vectors else None, res, count[0], ok, which, method)


def _checked_projector(func: str, project: Callable[[Any], Any], n: int, lib: Any, dt: Any,
                       probe: np.ndarray) -> Callable[[Any], Any]:
    """``project`` after one check on ``probe``: shape ``(n,)``, finite, ``P(Pv) = Pv`` and
    ``⟨Pv, v − Pv⟩ = 0`` (orthogonal: an oblique one would make the deflated operator
    non-symmetric).

    Both tests are loose (``eps^(1/3)`` relative): they catch a callable that is not an
    orthogonal projector, not the rounding of an ill-conditioned one.
    """
    v = lib.asarray(probe, dtype=dt)
    p1 = project(v)
    if getattr(p1, "shape", None) != (n,) or not bool(lib.all(lib.isfinite(p1))):
        raise InputError(f"{func}: null_space projector must map shape ({n},) to finite values "
                         f"of shape ({n},), got {getattr(p1, 'shape', type(p1).__name__)}")
    gap = float(to_host(lib.linalg.norm(project(p1) - p1)))
    size = float(to_host(lib.linalg.norm(v)))
    loose = eps(dt) ** (1 / 3)
    if not gap <= loose * size:
        raise InputError(f"{func}: null_space projector must be idempotent (P(Pv) = Pv), got "
                         f"|P(Pv) - Pv| = {gap:.3g} for |v| = {size:.3g}")
    skew = abs(float(to_host(lib.sum(p1 * (v - p1)))))  # 0 for an orthogonal projector
    if not skew <= loose * size * size:
        raise InputError(f"{func}: null_space projector must be orthogonal (<Pv, v - Pv> = 0), "
                         f"got {skew:.3g} for |v|^2 = {size * size:.3g}")
    return project
