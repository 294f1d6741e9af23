"""The models of the Newton checks and their instances (numerics' model protocol, ``xp`` ops only).

:class:`LogCoshModel`, :class:`SquaresModel` and :class:`Reparameterised` are described in
:mod:`.newton`; :func:`_logcosh` builds a log-cosh instance with a prescribed spectrum of ``A``
from Haar-random orthogonal matrices (:func:`_orthogonal`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...engine.registry import Context

Z0 = math.atanh(1 / math.sqrt(3))


class LogCoshModel:
    """``½ eᵀAe + β Σ ψ(q_iᵀe)`` (newton module docstring); ``M = 4β/(3√3)``, ``mu = λ_min(A)``."""

    loss_star = 0.0

    def __init__(self, A: Any, Q: Any, beta: float, x_star: Any, xp: Any) -> None:
        self.A, self.Q, self.beta, self.theta_star, self.xp = A, Q, float(beta), x_star, xp
        self.dtype, self.n_params = A.dtype, A.shape[0]
        self.t0, self.c0 = math.tanh(Z0), math.cosh(Z0)
        self.M = 4 * self.beta / (3 * math.sqrt(3))

    def _e(self, theta: Any) -> tuple[Any, Any]:
        e = theta - self.theta_star
        return e, self.Q.mT @ e

    def loss(self, theta: Any) -> Any:
        xp, (e, d) = self.xp, self._e(theta)
        sh = xp.sinh(0.5 * d)
        psi = xp.log1p(2 * sh * sh + self.t0 * xp.sinh(d)) - self.t0 * d
        return 0.5 * xp.vecdot(e, self.A @ e) + self.beta * xp.sum(psi)

    def grad(self, theta: Any) -> Any:
        xp, (e, d) = self.xp, self._e(theta)
        return self.A @ e + self.beta * (self.Q @ (xp.sinh(d) / (xp.cosh(d + Z0) * self.c0)))

    def _sech2(self, theta: Any) -> Any:
        return 1.0 / self.xp.cosh(self._e(theta)[1] + Z0) ** 2

    def hvp(self, theta: Any, v: Any) -> Any:
        return self.A @ v + self.beta * (self.Q @ (self._sech2(theta) * (self.Q.mT @ v)))

    def hessian(self, theta: Any) -> Any:
        return self.A + self.beta * ((self.Q * self._sech2(theta)[None, :]) @ self.Q.mT)


class SquaresModel:
    """``r(θ) = B e + (γ/2)(Ce)²``, ``e = θ − θ*``: a zero-residual nonlinear least squares."""

    loss_star = 0.0

    def __init__(self, B: Any, C: Any, gamma: float, theta_star: Any, xp: Any) -> None:
        self.B, self.C, self.gamma, self.theta_star, self.xp = B, C, float(gamma), theta_star, xp
        self.dtype = B.dtype
        self.n_residuals, self.n_params = B.shape

    def _Ce(self, theta: Any) -> Any:
        return self.C @ (theta - self.theta_star)

    def residual(self, theta: Any) -> Any:
        Ce = self._Ce(theta)
        return self.B @ (theta - self.theta_star) + 0.5 * self.gamma * Ce * Ce

    def jacobian(self, theta: Any) -> Any:
        return self.B + self.gamma * self._Ce(theta)[:, None] * self.C

    def loss(self, theta: Any) -> Any:
        r = self.residual(theta)
        return 0.5 * self.xp.vecdot(r, r)

    def grad(self, theta: Any) -> Any:
        return self.jacobian(theta).mT @ self.residual(theta)

    def hessian(self, theta: Any) -> Any:
        J, r = self.jacobian(theta), self.residual(theta)
        return J.mT @ J + self.gamma * ((self.C.mT * r[None, :]) @ self.C)

    def hvp(self, theta: Any, v: Any) -> Any:
        return self.hessian(theta) @ v


class Reparameterised:
    """``φ ↦ model(Pφ)`` for an invertible ``P``; least-squares pieces when the model has them."""

    def __init__(self, model: Any, P: Any) -> None:
        self.model, self.P, self.xp, self.dtype = model, P, model.xp, model.dtype
        self.n_params = P.shape[1]
        if hasattr(model, "residual") and hasattr(model, "jacobian"):
            self.residual = lambda phi: model.residual(P @ phi)
            self.jacobian = lambda phi: model.jacobian(P @ phi) @ P

    @property
    def loss_star(self) -> Any:
        return self.model.loss_star

    def loss(self, phi: Any) -> Any:
        return self.model.loss(self.P @ phi)

    def grad(self, phi: Any) -> Any:
        return self.P.mT @ self.model.grad(self.P @ phi)

    def hvp(self, phi: Any, v: Any) -> Any:
        return self.P.mT @ self.model.hvp(self.P @ phi, self.P @ v)

    def hessian(self, phi: Any) -> Any:
        return self.P.mT @ self.model.hessian(self.P @ phi) @ self.P


def _orthogonal(rng: np.random.Generator, d: int) -> np.ndarray:
    Q, R = np.linalg.qr(rng.standard_normal((d, d)))
    return Q * np.sign(np.diag(R))


def _logcosh(ctx: Context, rng: np.random.Generator, d: int, spec: np.ndarray, beta: float,
             aligned: bool) -> LogCoshModel:
    Q = _orthogonal(rng, d)
    U = Q if aligned else _orthogonal(rng, d)
    A = (U * spec) @ U.T
    return LogCoshModel(ctx.asarray(0.5 * (A + A.T)), ctx.asarray(Q), beta,
                        ctx.asarray(np.zeros(d)), ctx.xp)
