"""The model protocol: least-squares models with exact derivatives on flat parameter vectors.

Every model is a :class:`LeastSquaresModel`: ``loss(θ) = ½‖r(θ)‖²`` on a flat parameter vector
θ whose matrix blocks are stored as column-major ``vec`` (``vec(W) = reshape(W^T, (-1,))``), so
dense Hessians match the Kronecker formulas ``vec(A X B) = (B^T ⊗ A) vec(X)`` entry by entry.
Concrete models: :mod:`numerics._models` (quadratics, linear regression) and
:mod:`numerics._deep_linear` (deep linear chains, the SpecDef layer).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._backend import backend_name, eps, require_positive, to_host
from ._errors import InputError

__all__ = ["LeastSquaresModel", "finite_difference_hessian"]


def _vec(W: Any, xp: Any) -> Any:
    """Column-major vec of a matrix (identity on vectors)."""
    return W if W.ndim == 1 else xp.reshape(xp.matrix_transpose(W), (-1,))


def _unvec(v: Any, shape: tuple[int, ...], xp: Any) -> Any:
    """Inverse of :func:`_vec` for a block of the given shape."""
    return v if len(shape) == 1 else xp.matrix_transpose(xp.reshape(v, (shape[1], shape[0])))


def _kron(A: Any, B: Any, xp: Any) -> Any:
    """Kronecker product of two matrices with reshapes (no ``np.kron`` on backend arrays)."""
    (a1, a2), (b1, b2) = A.shape, B.shape
    return xp.reshape(A[:, None, :, None] * B[None, :, None, :], (a1 * b1, a2 * b2))


def _svd_rank(M: Any, xp: Any) -> tuple[Any, Any, Any]:
    """Thin SVD truncated to the numerical rank (``σ > max(shape)·eps·σ_1``).

    ``max(shape)·eps·σ_1`` is the backward error of the SVD: each computed σ is within it of an
    exact one (Weyl), so a smaller one is not resolved from 0 (the ``matrix_rank`` convention).
    """
    U, s, Vt = xp.linalg.svd(M, full_matrices=False)
    s_h = to_host(s)
    r = int(np.sum(s_h > max(M.shape) * eps(M.dtype) * s_h[0])) if s_h[0] > 0 else 0
    return U[:, :r], s[:r], Vt[:r, :]


class LeastSquaresModel:
    """Common protocol of all models: ``loss(θ) = ½‖r(θ)‖²`` with exact first and second order.

    Attributes
    ----------
    n_params, n_residuals : int
        Length of θ and of the residual r(θ).
    xp, dtype
        Array namespace and floating dtype of every array the model returns.
    block_names, block_shapes : tuple
        Named parameter blocks, concatenated in this order in θ.
    theta_star, loss_star
        A minimiser (``None`` when unknown or not unique) and the minimum value (``None`` if
        unknown).
    max_dense : int
        Largest ``n_params`` for which :meth:`hessian` / :meth:`jacobian` build dense matrices.

    Notes
    -----
    Subclasses implement ``residual``, ``jvp`` (``J v``), ``vjp`` (``J^T u``) and ``hvp``; the
    base class derives ``loss``, ``grad = J^T r``, the Gauss–Newton product ``J^T J v`` and dense
    matrices from unit vectors.  ``hvp`` is the exact Hessian ``J^T J + Σ_k r_k ∇²r_k``.
    """

    xp: Any
    dtype: Any
    n_params: int
    n_residuals: int
    block_names: tuple[str, ...]
    block_shapes: tuple[tuple[int, ...], ...]
    max_dense: int = 4096
    theta_star: Any = None

    @property
    def loss_star(self) -> float | None:
        return None

    def _check(self, func: str, theta: Any, size: int | None = None, name: str = "theta") -> None:
        size = self.n_params if size is None else size
        if getattr(theta, "shape", None) != (size,):
            got = getattr(theta, "shape", type(theta).__name__)
            raise InputError(f"{type(self).__name__}.{func}: {name} must have shape ({size},), "
                             f"got {got}")

    def _require_dense(self, func: str, rows: int) -> None:
        if self.n_params > self.max_dense or rows * self.n_params > self.max_dense ** 2:
            raise InputError(f"{type(self).__name__}.{func}: n_params must be <= max_dense="
                             f"{self.max_dense} (and rows*n_params <= max_dense**2) for a dense "
                             f"matrix, got n_params={self.n_params}, rows={rows}")

    def _unit(self, i: int, size: int) -> Any:
        return self.xp.reshape(self.xp.eye(1, size, k=i, dtype=self.dtype), (size,))

    def residual(self, theta: Any) -> Any:
        raise NotImplementedError

    def jvp(self, theta: Any, v: Any) -> Any:
        raise NotImplementedError

    def vjp(self, theta: Any, u: Any) -> Any:
        raise NotImplementedError

    def hvp(self, theta: Any, v: Any) -> Any:
        raise NotImplementedError

    def loss(self, theta: Any) -> Any:
        """``½‖r(θ)‖²`` as a 0-d array."""
        r = self.residual(theta)
        return 0.5 * self.xp.vecdot(r, r)

    def grad(self, theta: Any) -> Any:
        """Exact gradient ``J(θ)^T r(θ)``."""
        return self.vjp(theta, self.residual(theta))

    def gnvp(self, theta: Any, v: Any) -> Any:
        """Gauss–Newton product ``J^T J v`` (the Hessian at zero residual)."""
        return self.vjp(theta, self.jvp(theta, v))

    def hessian(self, theta: Any) -> Any:
        """Dense exact Hessian, column ``i`` = ``hvp(θ, e_i)``; refuses ``n_params > max_dense``."""
        self._check("hessian", theta)
        self._require_dense("hessian", self.n_params)
        cols = [self.hvp(theta, self._unit(i, self.n_params)) for i in range(self.n_params)]
        return self.xp.stack(cols, axis=1)

    def jacobian(self, theta: Any) -> Any:
        """Dense Jacobian of the residual, shape ``(n_residuals, n_params)``."""
        self._check("jacobian", theta)
        self._require_dense("jacobian", self.n_residuals)
        cols = [self.jvp(theta, self._unit(i, self.n_params)) for i in range(self.n_params)]
        return self.xp.stack(cols, axis=1)

    def pack(self, **mats: Any) -> Any:
        """Concatenate named blocks (column-major vec of each) into θ."""
        missing = [b for b in self.block_names if b not in mats]
        extra = [b for b in mats if b not in self.block_names]
        if missing or extra:
            raise InputError(f"{type(self).__name__}.pack: blocks must be exactly "
                             f"{list(self.block_names)}, got {sorted(mats)}")
        parts = []
        for name, shape in zip(self.block_names, self.block_shapes):
            M = mats[name]
            if tuple(getattr(M, "shape", ())) != shape:
                raise InputError(f"{type(self).__name__}.pack: {name} must have shape {shape}, "
                                 f"got {getattr(M, 'shape', type(M).__name__)}")
            try:
                M = self.xp.astype(M, self.dtype)
            except (TypeError, ValueError):
                raise InputError(f"{type(self).__name__}.pack: {name} must be a real array of the "
                                 f"model's namespace ({backend_name(self.xp)}), got "
                                 f"{type(M).__module__}.{type(M).__name__} of dtype "
                                 f"{getattr(M, 'dtype', '?')}") from None
            parts.append(_vec(M, self.xp))
        return self.xp.concat(parts)

    def unpack(self, theta: Any) -> dict[str, Any]:
        """Split θ into its named blocks (matrices reshaped back from column-major vec)."""
        self._check("unpack", theta)
        out, start = {}, 0
        for name, shape in zip(self.block_names, self.block_shapes):
            size = math.prod(shape)
            out[name] = _unvec(theta[start:start + size], shape, self.xp)
            start += size
        return out



def finite_difference_hessian(model: LeastSquaresModel, theta: Any, h: float | None = None) -> Any:
    """Dense Hessian by central differences of ``model.grad`` (an independent reference).

    Parameters
    ----------
    model : LeastSquaresModel
    theta : array, shape (n_params,)
    h : float, optional
        Step; default ``eps^{1/3} · max(1, max|θ|)`` (balances O(h²) truncation and eps/h rounding).

    Returns
    -------
    array, shape (n_params, n_params)
        ``½(D + D^T)`` with column ``i`` of D equal to ``(g(θ + h e_i) − g(θ − h e_i)) / (2h)``.
    """
    if not isinstance(model, LeastSquaresModel):
        raise InputError(f"finite_difference_hessian: model must be a LeastSquaresModel, got "
                         f"{type(model).__name__}")
    model._check("finite_difference_hessian", theta)
    model._require_dense("finite_difference_hessian", model.n_params)
    xp = model.xp
    if h is None:
        h = eps(model.dtype) ** (1 / 3) * max(1.0, float(to_host(xp.max(xp.abs(theta)))))
    h = require_positive("finite_difference_hessian", "h", h)
    cols = []
    with np.errstate(over="ignore", invalid="ignore"):
        for i in range(model.n_params):
            e = model._unit(i, model.n_params) * h
            cols.append((model.grad(theta + e) - model.grad(theta - e)) / (2 * h))
    D = xp.stack(cols, axis=1)
    if not bool(xp.all(xp.isfinite(D))):
        raise InputError(f"finite_difference_hessian: theta must be a point where the model's "
                         f"gradient is finite within h={h:.3g}, got a non-finite gradient")
    return 0.5 * (D + D.mT)
