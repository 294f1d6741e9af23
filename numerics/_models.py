"""Quadratics and linear regression: least-squares models with closed-form Hessians.

Both follow the :class:`~numerics._model_base.LeastSquaresModel` protocol (flat θ, column-major
``vec`` blocks, exact ``hvp``/``hessian``, Gauss–Newton pieces).  The deep linear models are in
:mod:`numerics._deep_linear` and are re-exported here for ``from ._models import ...`` users.
"""

from __future__ import annotations

import math
from functools import cached_property
from typing import Any

import numpy as np

from ._backend import (asarray, eps, get_namespace, make_rng, namespace_for, _one_of,
                       require_matrix, require_positive, to_host)
from ._deep_linear import DeepLinear, LinearChain, SpecDefLayer  # noqa: F401  (re-export)
from ._errors import InputError
from ._model_base import LeastSquaresModel, _kron, _svd_rank, _unvec, _vec
from ._model_base import finite_difference_hessian  # noqa: F401  (re-export)

__all__ = ["Quadratic", "LinearRegression"]


class Quadratic(LeastSquaresModel):
    """Strictly convex quadratic ``L(w) = ½ (w − w*)^T H (w − w*)`` with ``H = Q diag(λ) Q^T``.

    Parameters
    ----------
    eigenvalues : array_like, shape (p,)
        Eigenvalues λ of H; must be > 0 (>= 0 with ``allow_singular=True``).
    Q : array, shape (p, p), optional
        Orthogonal eigenvector matrix; ``None`` means the identity (H diagonal).
    w_star : array, shape (p,), optional
        Minimiser; zero by default.
    xp, dtype
        Namespace (default: that of the array arguments, else NumPy) and dtype (default float64).

    Notes
    -----
    Residual ``r = Λ^{1/2} Q^T (w − w*)``, so ``J = Λ^{1/2} Q^T`` and ``J^T J = H``; the minimum is
    ``loss_star = 0`` at ``theta_star = w*``.  One parameter block named ``"w"``.
    """

    def __init__(self, eigenvalues: Any, Q: Any = None, w_star: Any = None, *, xp: Any = None,
                 dtype: Any = None, allow_singular: bool = False, max_dense: int = 4096) -> None:
        func = "Quadratic"
        max_dense = require_positive(func, "max_dense", max_dense, integer=True)
        if xp is None:
            xp = get_namespace(*(a for a in (eigenvalues, Q, w_star) if hasattr(a, "shape")),
                               func=func)
        if dtype is None and hasattr(eigenvalues, "dtype") and "float" in str(eigenvalues.dtype):
            dtype = eigenvalues.dtype
        lam = require_matrix(func, "eigenvalues", asarray(eigenvalues, xp=xp, dtype=dtype,
                                                          func=func, name="eigenvalues"), ndim=1)
        lam_h = to_host(lam)
        if np.any(lam_h < 0) or (not allow_singular and np.any(lam_h <= 0)):
            rel = ">= 0" if allow_singular else "> 0 (pass allow_singular=True for >= 0)"
            raise InputError(f"{func}: eigenvalues must all be {rel}, got min {lam_h.min()!r}")
        self.xp, self.dtype, self.max_dense = xp, lam.dtype, int(max_dense)
        p = self.n_params = self.n_residuals = lam.shape[0]
        self.block_names, self.block_shapes = ("w",), ((p,),)
        self.eigenvalues, self._sqrt_lam = lam, xp.sqrt(lam)
        if Q is not None:
            Q = require_matrix(func, "Q", asarray(Q, xp=xp, dtype=self.dtype, func=func, name="Q"))
            if Q.shape != (p, p):
                raise InputError(f"{func}: Q must have shape ({p}, {p}), got {tuple(Q.shape)}")
            dev = float(xp.max(xp.abs(Q.mT @ Q - xp.eye(p, dtype=self.dtype))))
            if dev > 100 * p * eps(self.dtype):
                raise InputError(f"{func}: Q must be orthogonal, got max|Q^T Q - I| = {dev:.3g}")
        self.Q = Q
        if w_star is None:
            w_star = xp.zeros(p, dtype=self.dtype)
        w_star = require_matrix(func, "w_star", asarray(w_star, xp=xp, dtype=self.dtype, func=func,
                                                        name="w_star"), ndim=1)
        self._check("__init__", w_star, name="w_star")
        self.theta_star = w_star

    @classmethod
    def from_spectrum(cls, eigenvalues: Any, *, rng: Any = None, backend: str | None = None,
                      dtype: Any = None, w_star: Any = None, **kw: Any) -> Quadratic:
        """Quadratic with given eigenvalues and a Haar-random orthogonal ``Q`` drawn from ``rng``.

        ``Q`` is drawn on the host (QR of a Gaussian matrix, signs fixed by ``diag(R)``) so the
        instance is bit-identical across backends.
        """
        func = "Quadratic.from_spectrum"
        lam = np.asarray(asarray(eigenvalues, xp=namespace_for("numpy"), func=func,
                                 name="eigenvalues"), dtype=np.float64)
        if lam.ndim != 1:
            raise InputError(f"{func}: eigenvalues must have 1 dimensions, got array of shape "
                             f"{lam.shape}")
        gen = make_rng(func, rng)
        Qh, R = np.linalg.qr(gen.standard_normal((lam.size, lam.size)))
        Qh = Qh * np.sign(np.diag(R))
        xp = namespace_for(backend)
        return cls(asarray(lam, xp=xp, dtype=dtype), asarray(Qh, xp=xp, dtype=dtype),
                   None if w_star is None else asarray(w_star, xp=xp, dtype=dtype), xp=xp, **kw)

    @property
    def loss_star(self) -> float:
        return 0.0

    def _qt(self, v: Any) -> Any:
        return v if self.Q is None else self.Q.mT @ v

    def _q(self, v: Any) -> Any:
        return v if self.Q is None else self.Q @ v

    def residual(self, theta: Any) -> Any:
        self._check("residual", theta)
        return self._sqrt_lam * self._qt(theta - self.theta_star)

    def jvp(self, theta: Any, v: Any) -> Any:
        self._check("jvp", v, name="v")
        return self._sqrt_lam * self._qt(v)

    def vjp(self, theta: Any, u: Any) -> Any:
        self._check("vjp", u, name="u")
        return self._q(self._sqrt_lam * u)

    def hvp(self, theta: Any, v: Any) -> Any:
        """``H v`` (independent of θ)."""
        self._check("hvp", v, name="v")
        return self._q(self.eigenvalues * self._qt(v))

    def grad(self, theta: Any) -> Any:
        self._check("grad", theta)
        return self.hvp(theta, theta - self.theta_star)

    @cached_property
    def H(self) -> Any:
        """Dense ``H = Q diag(λ) Q^T``."""
        self._require_dense("H", self.n_params)
        Q = self.Q if self.Q is not None else self.xp.eye(self.n_params, dtype=self.dtype)
        return (Q * self.eigenvalues[None, :]) @ Q.mT

    def hessian(self, theta: Any) -> Any:
        self._check("hessian", theta)
        return self.H

    def jacobian(self, theta: Any) -> Any:
        self._check("jacobian", theta)
        self._require_dense("jacobian", self.n_params)
        Q = self.Q if self.Q is not None else self.xp.eye(self.n_params, dtype=self.dtype)
        return self._sqrt_lam[:, None] * Q.mT

    def worst_case_start(self, which: str = "max", norm: float = 1.0) -> Any:
        """Start ``θ_0 = w* + e_0`` with ``e_0`` on the eigenvector(s) realising GD's contraction.

        Parameters
        ----------
        which : {"max", "min", "both"}
            ``e_0`` along the eigenvector of λ_max (binding for large steps,
            ``η > 2/(λ_min+λ_max)``), of λ_min (binding for ``η = 1/λ_max``), or ``(q_min + q_max)/√2`` (both ends).
        norm : float
            ``‖e_0‖``.

        Notes
        -----
        With ``e_0 = ‖e_0‖ q_i``, GD gives ``e_t = (1 − ηλ_i)^t e_0`` exactly, so the bound
        ``‖e_t‖ ≤ ρ(η)^t ‖e_0‖`` of B1 (docs/theory/background.rst) is attained when ``λ_i``
        realises ``ρ(η)``.
        """
        if not _one_of(which, ("max", "min", "both")):
            raise InputError(f"Quadratic.worst_case_start: which must be 'max', 'min' or 'both', "
                             f"got {which!r}")
        norm = require_positive("Quadratic.worst_case_start", "norm", norm)
        lam = to_host(self.eigenvalues)
        idx = {"max": [int(np.argmax(lam))], "min": [int(np.argmin(lam))],
               "both": sorted({int(np.argmin(lam)), int(np.argmax(lam))})}[which]
        e = sum(self._q(self._unit(i, self.n_params)) for i in idx) * (norm / math.sqrt(len(idx)))
        return self.theta_star + e


class LinearRegression(LeastSquaresModel):
    """Linear regression ``L(W) = (1/2n)‖(W + P) X − Y‖_F²`` with an optional fixed offset P.

    Parameters
    ----------
    X : array, shape (d, n)
        Inputs, one column per sample.
    Y : array, shape (m, n)
        Targets.
    offset : array, shape (m, d), optional
        Frozen matrix P added to the trainable W (the additive-injection attack: f = (P + Δ)x).

    Notes
    -----
    One block ``"W"`` (m×d), θ = vec(W).  Residual ``r = vec((W+P)X − Y)/√n``,
    ``J = (X^T ⊗ I_m)/√n``, gradient ``vec(R X^T)/n`` and Hessian ``H = Σ_x ⊗ I_m`` with
    ``Σ_x = X X^T / n`` (docs/theory/hessian.rst), independent of θ.  ``theta_star`` solves the
    normal equations ``(W+P) Σ_x = Y X^T/n`` when Σ_x is invertible; ``loss_star`` is
    ``‖Y (I − Π_X)‖²/(2n)`` with Π_X the projector on the row space of X.
    """

    def __init__(self, X: Any, Y: Any, offset: Any = None, *, max_dense: int = 4096) -> None:
        func = "LinearRegression"
        max_dense = require_positive(func, "max_dense", max_dense, integer=True)
        X, Y = require_matrix(func, "X", X), require_matrix(func, "Y", Y)
        if offset is not None:
            offset = require_matrix(func, "offset", offset)
        xp = self.xp = get_namespace(X, Y, offset, func=func)
        dt = self.dtype = xp.result_type(*(a for a in (X, Y, offset) if a is not None))
        (d, n), m = X.shape, Y.shape[0]
        if Y.shape[1] != n:
            raise InputError(f"{func}: Y must have {n} columns like X, got shape {tuple(Y.shape)}")
        if offset is not None and tuple(offset.shape) != (m, d):
            raise InputError(f"{func}: offset must have shape ({m}, {d}), "
                             f"got {tuple(offset.shape)}")
        self.X, self.Y = xp.astype(X, dt), xp.astype(Y, dt)
        self.offset = None if offset is None else xp.astype(offset, dt)
        self.n_params, self.n_residuals, self.max_dense = m * d, m * n, int(max_dense)
        self.block_names, self.block_shapes = ("W",), ((m, d),)
        self._m, self._d, self._n = m, d, n

    @cached_property
    def Sigma_x(self) -> Any:
        """Input covariance ``Σ_x = X X^T / n`` (d×d)."""
        return self.X @ self.X.mT / self._n

    def _R(self, theta: Any) -> Any:
        W = _unvec(theta, (self._m, self._d), self.xp)
        if self.offset is not None:
            W = W + self.offset
        return W @ self.X - self.Y

    def residual(self, theta: Any) -> Any:
        self._check("residual", theta)
        return _vec(self._R(theta), self.xp) / math.sqrt(self._n)

    def grad(self, theta: Any) -> Any:
        self._check("grad", theta)
        return _vec(self._R(theta) @ self.X.mT, self.xp) / self._n

    def jvp(self, theta: Any, v: Any) -> Any:
        self._check("jvp", v, name="v")
        return _vec(_unvec(v, (self._m, self._d), self.xp) @ self.X, self.xp) / math.sqrt(self._n)

    def vjp(self, theta: Any, u: Any) -> Any:
        self._check("vjp", u, self.n_residuals, name="u")
        U = _unvec(u, (self._m, self._n), self.xp)
        return _vec(U @ self.X.mT, self.xp) / math.sqrt(self._n)

    def hvp(self, theta: Any, v: Any) -> Any:
        """``(Σ_x ⊗ I_m) vec(V) = vec(V Σ_x)``."""
        self._check("hvp", v, name="v")
        return _vec(_unvec(v, (self._m, self._d), self.xp) @ self.Sigma_x, self.xp)

    def hessian(self, theta: Any) -> Any:
        self._check("hessian", theta)
        self._require_dense("hessian", self.n_params)
        return _kron(self.Sigma_x, self.xp.eye(self._m, dtype=self.dtype), self.xp)

    def jacobian(self, theta: Any) -> Any:
        self._check("jacobian", theta)
        self._require_dense("jacobian", self.n_residuals)
        eye = self.xp.eye(self._m, dtype=self.dtype)
        return _kron(self.X.mT, eye, self.xp) / math.sqrt(self._n)

    @cached_property
    def _row_basis(self) -> tuple[Any, int]:
        Vt = _svd_rank(self.X, self.xp)[2]
        return Vt, Vt.shape[0]

    @cached_property
    def theta_star(self) -> Any:  # type: ignore[override]
        """Unique minimiser when Σ_x is invertible (X has full row rank), else ``None``."""
        Vt, rank = self._row_basis
        if rank < self._d:
            return None
        W = self.xp.matrix_transpose(self.xp.linalg.solve(self.Sigma_x, self.X @ self.Y.mT))
        W = W / self._n - (0 if self.offset is None else self.offset)
        return _vec(W, self.xp)

    @property
    def loss_star(self) -> float:
        Vt, _ = self._row_basis
        R = self.Y - (self.Y @ Vt.mT) @ Vt
        return float(to_host(self.xp.sum(R * R))) / (2 * self._n)
