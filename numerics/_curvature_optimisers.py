"""Curvature-aware first-order optimisers: Sophia and AdaHessian, and their diagonal estimators.

Both precondition by a stochastic estimate of ``diag(H)``: Hutchinson's ``z ⊙ Hz`` (Rademacher
``z``, one Hessian-vector product) or, for Sophia, the Gauss–Newton–Bartlett ``ĝ ⊙ ĝ`` (a
gradient at labels sampled from the model).  Probes are drawn on the host from ``rng``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._backend import _brief, _one_of, get_namespace, make_rng, require_matrix, require_positive
from ._errors import InputError
from ._optim_common import _Context, _Rule, _blocks, _require_betas, _run_rule
from ._optim_driver import OptResult, _require_model

__all__ = ["hutchinson_diagonal", "sophia", "adahessian"]


def hutchinson_diagonal(model: Any, theta: Any, n_samples: int = 1, *, rng: Any = None) -> Any:
    """Hutchinson's estimate of ``diag(∇²L(θ))``: the mean of ``z ⊙ H z`` over Rademacher probes.

    Parameters
    ----------
    model : model
        Needs ``n_params`` and ``hvp``.
    theta : array, shape (p,)
    n_samples : int
        Number of probes ``N >= 1``.
    rng : seed or Generator, optional

    Returns
    -------
    array, shape (p,)

    Notes
    -----
    For ``z`` with independent ±1 entries, ``E[z_i (Hz)_i] = Σ_j H_ij E[z_i z_j] = H_ii`` and
    ``Var[z_i (Hz)_i] = Σ_{j≠i} H_ij²``; the mean of ``N`` probes has error
    ``O(√(Σ_{j≠i} H_ij² / N))``: the ``1/√N`` rate.  Exact for a diagonal ``H`` with one probe.
    """
    func = "hutchinson_diagonal"
    _require_model(func, model, ("hvp",))
    theta = require_matrix(func, "theta", theta, ndim=1)
    p = int(model.n_params)
    if theta.shape[0] != p:
        raise InputError(f"{func}: theta must have shape ({p},), got {tuple(theta.shape)}")
    n = require_positive(func, "n_samples", n_samples, integer=True)
    gen = make_rng(func, rng)
    xp = get_namespace(theta, func=func)
    acc = xp.zeros_like(theta)
    for _ in range(n):
        z = xp.asarray(gen.integers(0, 2, p).astype(np.float64) * 2.0 - 1.0, dtype=theta.dtype)
        acc = acc + z * model.hvp(theta, z)
    return acc / n


class _SophiaRule(_Rule):
    name = "sophia"

    def __init__(self, betas: tuple[float, float], gamma: float, eps: float, weight_decay: float,
                 every: int, estimator: str) -> None:
        (self.b1, self.b2), self.gamma, self.eps = betas, gamma, eps
        self.wd, self.every, self.estimator = weight_decay, every, estimator
        self.needs = ("loss", "grad", "hvp") if estimator == "hutchinson" else ("loss", "grad")

    def params(self) -> dict:
        return {"betas": (self.b1, self.b2), "gamma": self.gamma, "eps": self.eps,
                "weight_decay": self.wd, "hessian_every": self.every,
                "estimator": self.estimator}

    def init(self, theta: Any, ctx: _Context) -> dict:
        return {"m": ctx.xp.zeros_like(theta), "h": ctx.xp.zeros_like(theta)}

    def step(self, state: dict, theta: Any, g: Any, t: int, ctx: _Context) -> tuple[Any, dict]:
        xp = ctx.xp
        m = self.b1 * state["m"] + (1 - self.b1) * g
        h = state["h"]
        if (t - 1) % self.every == 0:
            est = (ctx.hutchinson(theta) if self.estimator == "hutchinson"
                   else ctx.gauss_newton_bartlett(theta))
            h = self.b2 * h + (1 - self.b2) * est
        ratio = xp.clip(m / xp.maximum(self.gamma * h, self.eps), -1.0, 1.0)
        u = ratio + self.wd * theta if self.wd else ratio
        return u, {"m": m, "h": h}


def _sophia_rule(func: str, *, betas: Any = (0.965, 0.99), gamma: float = 0.01,
                 eps: float = 1e-12, weight_decay: float = 0.0, hessian_every: int = 10,
                 estimator: str = "hutchinson", model: Any = None) -> _SophiaRule:
    b = _require_betas(func, betas)
    gm = require_positive(func, "gamma", gamma)
    e = require_positive(func, "eps", eps)
    wd = require_positive(func, "weight_decay", weight_decay, allow_zero=True)
    k = require_positive(func, "hessian_every", hessian_every, integer=True)
    if not _one_of(estimator, ("hutchinson", "gnb")):
        raise InputError(f"{func}: estimator must be 'hutchinson' or 'gnb', got "
                         f"{_brief(estimator)}")
    if estimator == "gnb" and not hasattr(model, "sampled_grad") and not (
            hasattr(model, "vjp") and hasattr(model, "n_residuals")):
        raise InputError(f"{func}: model must provide sampled_grad, or vjp and n_residuals, "
                         f"for estimator 'gnb', got {type(model).__name__}")
    rule = _SophiaRule(b, gm, e, wd, k, estimator)
    return rule


def sophia(model: Any, theta0: Any, lr: float, *, betas: tuple[float, float] = (0.965, 0.99),
           gamma: float = 0.01, eps: float = 1e-12, weight_decay: float = 0.0,
           hessian_every: int = 10, estimator: str = "hutchinson", rng: Any = None,
           max_steps: int = 10_000, tol: float = 1e-8, atol: float | None = None,
           clip: float | None = None, schedule: Any = None, train: Any = None,
           record_every: int = 1, divergence_factor: float = 1e12) -> OptResult:
    """Sophia: momentum preconditioned by a clipped diagonal-Hessian EMA (Liu et al., 2023).

    Parameters
    ----------
    model : model
        Needs ``n_params``, ``loss``, ``grad``, and ``hvp`` (Hutchinson) or ``vjp`` with
        ``n_residuals`` (a least-squares model) or ``sampled_grad(θ, rng)`` (Gauss–Newton–
        Bartlett).
    theta0 : array, shape (p,)
    lr : float
        Learning rate ``η > 0``: the largest step any coordinate can take.
    betas : (float, float)
        ``β_1`` of the momentum, ``β_2`` of the curvature EMA.
    gamma : float
        ``γ > 0`` scaling the curvature.
    eps : float
        Floor ``ε > 0`` of the denominator.
    weight_decay : float
        Decoupled decay ``λ >= 0``.
    hessian_every : int
        Refresh the curvature estimate every ``k`` updates (at updates 1, k+1, 2k+1, …).
    estimator : {"hutchinson", "gnb"}
        ``z ⊙ Hz`` or the Gauss–Newton–Bartlett ``ĝ ⊙ ĝ``.
    rng : seed or Generator, optional
        Source of the probes.
    max_steps, tol, atol, clip, schedule, train, record_every, divergence_factor
        As :func:`adam`.

    Returns
    -------
    OptResult

    Notes
    -----
    .. math::

        m_t = β_1 m_{t-1} + (1-β_1) g_t, \\qquad
        h_t = β_2 h_{t-k} + (1-β_2) \\hat h_t \\;\\text{every } k \\text{ steps}, \\\\
        θ_{t+1} = θ_t − η_t\\bigl(\\mathrm{clip}(m_t / \\max(γ h_t, ε), −1, 1) + λ θ_t\\bigr).

    Every coordinate moves by at most ``η_t`` (plus the decay): the elementwise clip is what
    makes Sophia safe where ``h`` is tiny or negative.  Gauss–Newton–Bartlett: for a
    least-squares model ``L = ½‖r‖²`` with Jacobian ``J``, ``ĝ = Jᵀu`` with ``u ~ N(0, I)``
    (labels resampled from the model's Gaussian likelihood) has ``E[ĝ ⊙ ĝ] = diag(JᵀJ)``, the
    Gauss–Newton diagonal; models with another likelihood supply ``sampled_grad``.
    """
    func = "sophia"
    rule = _sophia_rule(func, betas=betas, gamma=gamma, eps=eps, weight_decay=weight_decay,
                        hessian_every=hessian_every, estimator=estimator, model=model)
    return _run_rule(func, model, theta0, lr, rule, schedule=schedule, clip=clip, train=train,
                     rng=rng, max_steps=max_steps, tol=tol, atol=atol,
                     record_every=record_every, divergence_factor=divergence_factor)


class _AdaHessianRule(_Rule):
    name = "adahessian"
    needs = ("loss", "grad", "hvp")

    def __init__(self, betas: tuple[float, float], eps: float, weight_decay: float,
                 power: float, every: int) -> None:
        (self.b1, self.b2), self.eps, self.wd, self.power, self.every = (betas, eps, weight_decay,
                                                                         power, every)

    def params(self) -> dict:
        return {"betas": (self.b1, self.b2), "eps": self.eps, "weight_decay": self.wd,
                "hessian_power": self.power, "hessian_every": self.every}

    def init(self, theta: Any, ctx: _Context) -> dict:
        xp = ctx.xp
        return {"m": xp.zeros_like(theta), "v": xp.zeros_like(theta), "D": xp.zeros_like(theta)}

    def step(self, state: dict, theta: Any, g: Any, t: int, ctx: _Context) -> tuple[Any, dict]:
        xp = ctx.xp
        D = ctx.hutchinson(theta) if (t - 1) % self.every == 0 else state["D"]
        m = self.b1 * state["m"] + (1 - self.b1) * g
        v = self.b2 * state["v"] + (1 - self.b2) * (D * D)
        bc1, bc2 = 1 - self.b1 ** t, 1 - self.b2 ** t
        denom = (xp.sqrt(v) / bc2 ** 0.5) ** self.power + self.eps
        u = (m / bc1) / denom
        if self.wd:
            u = u + self.wd * theta
        return u, {"m": m, "v": v, "D": D}


def _adahessian_rule(func: str, *, betas: Any = (0.9, 0.999), eps: float = 1e-4,
                     weight_decay: float = 0.0, hessian_power: float = 1.0,
                     hessian_every: int = 1) -> _AdaHessianRule:
    b = _require_betas(func, betas)
    e = require_positive(func, "eps", eps)
    wd = require_positive(func, "weight_decay", weight_decay, allow_zero=True)
    k = require_positive(func, "hessian_power", hessian_power, allow_zero=True)
    if k > 1:
        raise InputError(f"{func}: hessian_power must be in [0, 1], got {_brief(hessian_power)}")
    every = require_positive(func, "hessian_every", hessian_every, integer=True)
    rule = _AdaHessianRule(b, e, wd, k, every)
    return rule


def adahessian(model: Any, theta0: Any, lr: float, *, betas: tuple[float, float] = (0.9, 0.999),
               eps: float = 1e-4, weight_decay: float = 0.0, hessian_power: float = 1.0,
               hessian_every: int = 1, rng: Any = None, max_steps: int = 10_000,
               tol: float = 1e-8, atol: float | None = None, clip: float | None = None,
               schedule: Any = None, train: Any = None, record_every: int = 1,
               divergence_factor: float = 1e12) -> OptResult:
    """AdaHessian: Adam with the second moment of a Hutchinson diagonal (Yao et al., 2021).

    Parameters
    ----------
    model : model
        Needs ``n_params``, ``loss``, ``grad``, ``hvp``.
    theta0 : array, shape (p,)
    lr : float
        Learning rate ``η > 0``.
    betas : (float, float)
        ``β_1`` of the gradient momentum, ``β_2`` of the curvature second moment.
    eps : float
        ``ε > 0`` added to the denominator (reference default 10⁻⁴).
    weight_decay : float
        Decoupled decay ``λ >= 0``.
    hessian_power : float
        ``k ∈ [0, 1]``: 1 is AdaHessian, 0 makes it bias-corrected momentum SGD.
    hessian_every : int
        Refresh ``D`` every this many updates (reused in between).
    rng : seed or Generator, optional
    max_steps, tol, atol, clip, schedule, train, record_every, divergence_factor
        As :func:`adam`.

    Returns
    -------
    OptResult

    Notes
    -----
    With ``D_t = z ⊙ H z`` (Rademacher ``z``; no spatial averaging: every block is a matrix or
    vector of a dense layer):

    .. math::

        m_t = β_1 m_{t-1} + (1-β_1) g_t,\\quad v_t = β_2 v_{t-1} + (1-β_2) D_t^2,\\quad
        θ_{t+1} = θ_t − η_t\\Bigl(\\frac{m_t/(1-β_1^t)}{(\\sqrt{v_t/(1-β_2^t)})^{k} + ε}
        + λθ_t\\Bigr).

    With ``k = 0`` the denominator is ``1 + ε`` and, since ``m_t = (1−β_1) b_t`` for the heavy
    ball buffer ``b_t = β_1 b_{t-1} + g_t``, the run is :func:`sgd_momentum` with momentum
    ``β_1`` and learning rate ``η_t (1−β_1)/((1−β_1^t)(1+ε))``.
    """
    func = "adahessian"
    rule = _adahessian_rule(func, betas=betas, eps=eps, weight_decay=weight_decay,
                            hessian_power=hessian_power, hessian_every=hessian_every)
    return _run_rule(func, model, theta0, lr, rule, schedule=schedule, clip=clip, train=train,
                     rng=rng, max_steps=max_steps, tol=tol, atol=atol,
                     record_every=record_every, divergence_factor=divergence_factor)
