"""Deep linear networks ``f(x) = M_L ⋯ M_1 x`` with any subset of factors trainable.

Includes the SpecDef layer ``f(x) = C W̃ x`` (factors ``[W̃, C]``) and the all-trainable
:class:`DeepLinear`.  Derivatives are exact: gradients by reverse mode, Hessian-vector products
by forward-over-reverse written out by hand, including the residual-dependent cross terms.
"""

from __future__ import annotations

import math
from functools import cached_property
from typing import Any, Sequence

import numpy as np

from ._backend import get_namespace, require_matrix, require_positive, to_host
from ._errors import InputError
from ._model_base import LeastSquaresModel, _kron, _svd_rank, _unvec, _vec

__all__ = ["LinearChain", "SpecDefLayer", "DeepLinear"]


class LinearChain(LeastSquaresModel):
    """Deep linear chain ``L = (1/2n)‖M_L ⋯ M_1 X − Y‖_F²`` with a trainable mask.

    Parameters
    ----------
    factors : sequence of arrays
        ``M_1, …, M_L`` with ``M_l ∈ R^{d_l × d_{l-1}}``; the trainable ones give shapes and the
        initial point :attr:`theta0`, the frozen ones stay fixed.
    X : array, shape (d_0, n)
    Y : array, shape (d_L, n)
    trainable : sequence of bool, optional
        Which factors are parameters (default: all).  θ concatenates ``vec(M_l)`` of the
        trainable factors in the order ``M_1, M_2, …``.
    names : sequence of str, optional
        Block names (default ``"M1", …, "ML"``).

    Notes
    -----
    With ``h_0 = X``, ``h_l = M_l h_{l-1}``, ``R = h_L − Y`` and adjoints ``a_L = R/n``,
    ``a_{l-1} = M_l^T a_l``, the gradient block is ``∇_{M_l} L = a_l h_{l-1}^T``.  Along a
    direction ``V`` (zero on frozen factors) the tangents are ``ḣ_l = V_l h_{l-1} + M_l ḣ_{l-1}``
    and ``ȧ_L = ḣ_L/n``, ``ȧ_{l-1} = V_l^T a_l + M_l^T ȧ_l``, and the exact Hessian-vector
    product is ``(H v)_l = ȧ_l h_{l-1}^T + a_l ḣ_{l-1}^T``; the terms carrying ``a`` (which is
    proportional to the residual) are the cross terms ``Σ_k r_k ∇² r_k``.  The residual is
    ``vec(R)/√n`` with Jacobian block ``(h_{l-1}^T ⊗ M_L⋯M_{l+1})/√n``.
    """

    def __init__(self, factors: Sequence[Any], X: Any, Y: Any,
                 trainable: Sequence[bool] | None = None, *, names: Sequence[str] | None = None,
                 max_dense: int = 4096) -> None:
        func = type(self).__name__
        if not isinstance(factors, (list, tuple)) or len(factors) == 0:
            got = (f"{type(factors).__name__} of length {len(factors)}"
                   if isinstance(factors, (list, tuple)) else type(factors).__name__)
            raise InputError(f"{func}: factors must be a non-empty list of matrices, got {got}")
        L = len(factors)
        max_dense = require_positive(func, "max_dense", max_dense, integer=True)
        mats = [require_matrix(func, f"factors[{i}]", M) for i, M in enumerate(factors)]
        X, Y = require_matrix(func, "X", X), require_matrix(func, "Y", Y)
        xp = self.xp = get_namespace(*mats, X, Y, func=func)
        dims = [X.shape[0]] + [M.shape[0] for M in mats]
        for i, M in enumerate(mats):
            if M.shape[1] != dims[i]:
                raise InputError(f"{func}: factors[{i}] must have {dims[i]} columns to chain, "
                                 f"got shape {tuple(M.shape)}")
        if tuple(Y.shape) != (dims[-1], X.shape[1]):
            raise InputError(f"{func}: Y must have shape ({dims[-1]}, {X.shape[1]}), "
                             f"got {tuple(Y.shape)}")
        if trainable is not None and (not isinstance(trainable, (list, tuple, np.ndarray)) or not all(
                isinstance(t, (bool, np.bool_)) or (isinstance(t, (int, np.integer)) and t in (0, 1))
                for t in np.asarray(trainable, dtype=object).reshape(-1))):
            raise InputError(f"{func}: trainable must be {L} booleans with at least one True, "
                             f"got {trainable!r}")
        trainable = [True] * L if trainable is None else [bool(t) for t in trainable]
        if len(trainable) != L or not any(trainable):
            raise InputError(f"{func}: trainable must be {L} booleans with at least one True, "
                             f"got {trainable!r}")
        if names is not None and (isinstance(names, str) or not isinstance(names, (list, tuple))
                                  or not all(isinstance(n, str) for n in names)):
            raise InputError(f"{func}: names must be {L} distinct strings, got {names!r}")
        names = tuple(f"M{i + 1}" for i in range(L)) if names is None else tuple(names)
        if len(names) != L or len(set(names)) != L:
            raise InputError(f"{func}: names must be {L} distinct strings, got {names!r}")
        dt = self.dtype = xp.result_type(*mats, X, Y)
        self.factors0 = [xp.astype(M, dt) for M in mats]
        self.X, self.Y = xp.astype(X, dt), xp.astype(Y, dt)
        self.dims, self.trainable, self.names = tuple(dims), tuple(trainable), names
        self._train = [i for i in range(L) if trainable[i]]
        self.block_names = tuple(names[i] for i in self._train)
        self.block_shapes = tuple(tuple(mats[i].shape) for i in self._train)
        self.n_params = sum(math.prod(s) for s in self.block_shapes)
        self.n_residuals = dims[-1] * X.shape[1]
        self.max_dense, self._n = int(max_dense), X.shape[1]

    @property
    def theta0(self) -> Any:
        """θ of the factors given at construction."""
        return self.pack(**{self.names[i]: self.factors0[i] for i in self._train})

    def _blocks(self, v: Any) -> dict[int, Any]:
        out, start = {}, 0
        for i, shape in zip(self._train, self.block_shapes):
            size = math.prod(shape)
            out[i] = _unvec(v[start:start + size], shape, self.xp)
            start += size
        return out

    def factors(self, theta: Any) -> list[Any]:
        """All factors ``[M_1, …, M_L]`` at θ, frozen ones included."""
        self._check("factors", theta)
        blocks = self._blocks(theta)
        return [blocks.get(i, M) for i, M in enumerate(self.factors0)]

    def unpack(self, theta: Any) -> dict[str, Any]:
        """All factors by name (frozen ones included), in the order ``M_1, …, M_L``."""
        return dict(zip(self.names, self.factors(theta)))

    def pack(self, **mats: Any) -> Any:
        """θ from the trainable blocks; frozen blocks may be passed only with their fixed value."""
        for i, name in enumerate(self.names):
            if not self.trainable[i] and name in mats:
                M = mats.pop(name)
                if tuple(getattr(M, "shape", ())) != tuple(self.factors0[i].shape) or not bool(
                        self.xp.all(M == self.factors0[i])):
                    raise InputError(f"{type(self).__name__}.pack: {name} is frozen and must "
                                     f"equal its fixed value, got a different array")
        return super().pack(**mats)

    def product(self, theta: Any) -> Any:
        """End-to-end matrix ``M_L ⋯ M_1``."""
        P = None
        for M in self.factors(theta):
            P = M if P is None else M @ P
        return P

    def _forward(self, mats: list[Any]) -> list[Any]:
        hs = [self.X]
        for M in mats:
            hs.append(M @ hs[-1])
        return hs

    def _backward(self, mats: list[Any], hs: list[Any], a: Any) -> Any:
        out, lo = {}, self._train[0]
        for i in range(len(mats) - 1, lo - 1, -1):
            if self.trainable[i]:
                out[i] = a @ hs[i].mT
            if i > lo:
                a = mats[i].mT @ a
        return self.xp.concat([_vec(out[i], self.xp) for i in self._train])

    def residual(self, theta: Any) -> Any:
        hs = self._forward(self.factors(theta))
        return _vec(hs[-1] - self.Y, self.xp) / math.sqrt(self._n)

    def grad(self, theta: Any) -> Any:
        mats = self.factors(theta)
        hs = self._forward(mats)
        return self._backward(mats, hs, (hs[-1] - self.Y) / self._n)

    def vjp(self, theta: Any, u: Any) -> Any:
        self._check("vjp", u, self.n_residuals, name="u")
        mats = self.factors(theta)
        U = _unvec(u, (self.dims[-1], self._n), self.xp)
        return self._backward(mats, self._forward(mats), U / math.sqrt(self._n))

    def _tangents(self, mats: list[Any], hs: list[Any], V: dict[int, Any]) -> list[Any]:
        hds: list[Any] = [None]
        for i, M in enumerate(mats):
            t = None if hds[-1] is None else M @ hds[-1]
            if i in V:
                t = V[i] @ hs[i] if t is None else t + V[i] @ hs[i]
            hds.append(t)
        return hds

    def jvp(self, theta: Any, v: Any) -> Any:
        self._check("jvp", v, name="v")
        mats = self.factors(theta)
        hds = self._tangents(mats, self._forward(mats), self._blocks(v))
        return _vec(hds[-1], self.xp) / math.sqrt(self._n)

    def hvp(self, theta: Any, v: Any) -> Any:
        """Exact Hessian-vector product (forward-over-reverse; see class Notes)."""
        self._check("hvp", v, name="v")
        mats = self.factors(theta)
        hs, V = self._forward(mats), self._blocks(v)
        hds = self._tangents(mats, hs, V)
        a, ad = (hs[-1] - self.Y) / self._n, hds[-1] / self._n
        out, lo = {}, self._train[0]
        for i in range(len(mats) - 1, lo - 1, -1):
            if self.trainable[i]:
                out[i] = ad @ hs[i].mT if hds[i] is None else ad @ hs[i].mT + a @ hds[i].mT
            if i > lo:
                ad = mats[i].mT @ ad if i not in V else mats[i].mT @ ad + V[i].mT @ a
                a = mats[i].mT @ a
        return self.xp.concat([_vec(out[i], self.xp) for i in self._train])

    def jacobian(self, theta: Any) -> Any:
        """Dense Jacobian, block ``l`` = ``(h_{l-1}^T ⊗ M_L⋯M_{l+1}) / √n``."""
        self._check("jacobian", theta)
        self._require_dense("jacobian", self.n_residuals)
        mats = self.factors(theta)
        hs = self._forward(mats)
        A, cols = self.xp.eye(self.dims[-1], dtype=self.dtype), {}
        for i in range(len(mats) - 1, -1, -1):
            if self.trainable[i]:
                cols[i] = _kron(hs[i].mT, A, self.xp)
            A = A @ mats[i]
        return self.xp.concat([cols[i] for i in self._train], axis=1) / math.sqrt(self._n)

    @cached_property
    def _optimum(self) -> tuple[Any, float | None]:
        xp, n, L = self.xp, self._n, len(self.factors0)
        if len(self._train) == 1:  # linear least squares in the one trainable factor
            i = self._train[0]
            A = xp.eye(self.dims[-1], dtype=self.dtype)
            for M in self.factors0[i + 1:][::-1]:
                A = A @ M
            B = self._forward(self.factors0[:i])[-1]
            Ua, sa, Vta = _svd_rank(A, xp)
            Ub, sb, Vtb = _svd_rank(B, xp)
            core = Ua.mT @ self.Y @ Vtb.mT
            R = self.Y - Ua @ core @ Vtb
            theta = None
            if sa.shape[0] == A.shape[1] and sb.shape[0] == B.shape[0]:
                theta = _vec(Vta.mT @ (core / sa[:, None] / sb[None, :]) @ Ub.mT, xp)
            return theta, float(to_host(xp.sum(R * R))) / (2 * n)
        if len(self._train) == L:  # rank-constrained regression: min over rank <= min(dims)
            _, _, Vt = _svd_rank(self.X, xp)
            YV = self.Y @ Vt.mT
            R = self.Y - YV @ Vt
            s, r = xp.linalg.svdvals(YV), min(self.dims)
            tail = float(to_host(xp.sum(s[r:] ** 2))) if r < s.shape[0] else 0.0
            return None, (float(to_host(xp.sum(R * R))) + tail) / (2 * n)
        return None, None

    @property
    def theta_star(self) -> Any:  # type: ignore[override]
        """Unique minimiser when exactly one factor is trained and it is identifiable, else None."""
        return self._optimum[0]

    @property
    def loss_star(self) -> float | None:
        """Global minimum: closed form with one trainable factor or all trainable, else None.

        One trainable factor ``M_l``: ``‖Y − P_A Y P_B‖²/(2n)`` with ``A = M_L⋯M_{l+1}``,
        ``B = h_{l-1}``.  All trainable: ``(‖Y(I − Π_X)‖² + Σ_{i>r} σ_i(Y V)²)/(2n)`` with
        ``r = min_l d_l`` (Eckart–Young; deep linear nets have no spurious minima in value).
        """
        return self._optimum[1]


class SpecDefLayer(LinearChain):
    """SpecDef layer ``f(x) = C W̃ x``: a two-factor chain ``[W̃, C]`` with blocks ``"W"``, ``"C"``.

    Parameters
    ----------
    W_inflated : array, shape (m, d)
        Inflated weight W̃.
    C : array, shape (m', m)
        Compensation (m' = m for SpecDef).
    X, Y : arrays, shapes (d, n) and (m', n)
    train : subset of {"W", "C"}
        Which blocks are parameters (θ = [vec(W̃); vec(C)] for both).

    Notes
    -----
    docs/theory/hessian.rst: ``H_W̃W̃ = Σ_x ⊗ C^T C``, ``H_CC = (W̃ Σ_x W̃^T) ⊗ I``, and at zero
    residual
    ``H_W̃C = (Σ_x W̃^T) ⊗ C^T``.  With both trained the gauge ``(W̃, C) → (A W̃, C A^{-1})`` leaves
    the loss unchanged; its tangents span :meth:`gauge_basis` and lie in the Hessian's null space
    at any critical point.
    """

    def __init__(self, W_inflated: Any, C: Any, X: Any, Y: Any,
                 train: Sequence[str] = ("W", "C"), *, max_dense: int = 4096) -> None:
        func = "SpecDefLayer"
        if not isinstance(train, (str, list, tuple)):
            raise InputError(f"{func}: train must be a non-empty subset of ('W', 'C'), "
                             f"got {train!r}")
        train = (train,) if isinstance(train, str) else tuple(train)
        if not train or any(t not in ("W", "C") for t in train):
            raise InputError(f"{func}: train must be a non-empty subset of ('W', 'C'), "
                             f"got {train!r}")
        W, C = require_matrix(func, "W_inflated", W_inflated), require_matrix(func, "C", C)
        if C.shape[1] != W.shape[0]:
            raise InputError(f"{func}: C must have {W.shape[0]} columns (rows of W_inflated), "
                             f"got shape {tuple(C.shape)}")
        super().__init__([W, C], X, Y, trainable=["W" in train, "C" in train], names=("W", "C"),
                         max_dense=max_dense)

    def gauge_basis(self, theta: Any) -> Any:
        """Columns ``[vec(E W̃); vec(−C E)]`` for ``E = e_i e_j^T``: shape ``(n_params, m²)``.

        Equals ``[W̃^T ⊗ I_m ; −(I_m ⊗ C)]``.  Not orthonormal; the columns are independent when
        C has full column rank.  Needs both blocks trained.
        """
        if self.trainable != (True, True):
            raise InputError("SpecDefLayer.gauge_basis: train must be ('W', 'C'), "
                             f"got {tuple(b for b in self.block_names)}")
        W, C = self.factors(theta)
        m = W.shape[0]
        if self.n_params * m * m > self.max_dense ** 2:
            raise InputError(f"SpecDefLayer.gauge_basis: n_params*m^2 must be <= max_dense**2, "
                             f"got {self.n_params * m * m}")
        eye = self.xp.eye(m, dtype=self.dtype)
        return self.xp.concat([_kron(W.mT, eye, self.xp), -_kron(eye, C, self.xp)], axis=0)

    def gauge_projector(self, theta: Any) -> Any:
        """Matrix-free orthogonal projector onto the span of :meth:`gauge_basis` (flat θ).

        See :func:`numerics.gauge_projector`; pass it as ``null_space`` to
        :func:`numerics.extreme_eigenvalues`.  Needs both blocks trained.
        """
        from ._gauge import gauge_projector

        if self.trainable != (True, True):
            raise InputError("SpecDefLayer.gauge_projector: train must be ('W', 'C'), "
                             f"got {tuple(b for b in self.block_names)}")
        return gauge_projector(*self.factors(theta))


class DeepLinear(LinearChain):
    """Deep linear network with every factor trainable (depth ≥ 1); see :class:`LinearChain`."""

    def __init__(self, factors: Sequence[Any], X: Any, Y: Any, *, max_dense: int = 4096) -> None:
        super().__init__(factors, X, Y, trainable=None, max_dense=max_dense)
