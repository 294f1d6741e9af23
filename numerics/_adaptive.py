"""Momentum and adaptive first-order optimisers: SGD with (Nesterov) momentum, Adam, AdamW.

Conventions are those of ``torch.optim`` (and ``optax``, which computes the same): a momentum
buffer ``b ← μb + g``; bias-corrected Adam with ``ε`` added to ``√v̂``; AdamW's decoupled decay
``θ ← θ − ηλθ``.  Every run goes through the shared driver (result :class:`OptResult`, stopping
convention of :mod:`numerics._optim`) with clipping, schedules and trainable masks as described in
:mod:`numerics._optim_common`.
"""

from __future__ import annotations

from typing import Any

from ._backend import require_positive
from ._optim_common import _Context, _Rule, _require_betas, _require_unit, _run_rule
from ._optim_driver import OptResult

__all__ = ["sgd_momentum", "adam", "adamw"]


class _MomentumRule(_Rule):
    name = "sgd_momentum"

    def __init__(self, momentum: float, nesterov: bool, weight_decay: float) -> None:
        self.mu, self.nesterov, self.wd = momentum, nesterov, weight_decay

    def params(self) -> dict:
        return {"momentum": self.mu, "nesterov": self.nesterov, "weight_decay": self.wd}

    def init(self, theta: Any, ctx: _Context) -> dict:
        return {"b": ctx.xp.zeros_like(theta)}

    def step(self, state: dict, theta: Any, g: Any, t: int, ctx: _Context) -> tuple[Any, dict]:
        if self.wd:
            g = g + self.wd * theta
        b = g + self.mu * state["b"]
        u = g + self.mu * b if self.nesterov else b
        return u, {"b": b}


class _AdamRule(_Rule):
    name = "adam"

    def __init__(self, betas: tuple[float, float], eps: float, weight_decay: float = 0.0,
                 nesterov: bool = False) -> None:
        (self.b1, self.b2), self.eps, self.wd, self.nesterov = betas, eps, weight_decay, nesterov

    def params(self) -> dict:
        return {"betas": (self.b1, self.b2), "eps": self.eps, "weight_decay": self.wd,
                "nesterov": self.nesterov}

    def init(self, theta: Any, ctx: _Context) -> dict:
        return {"m": ctx.xp.zeros_like(theta), "v": ctx.xp.zeros_like(theta)}

    def direction(self, state: dict, theta: Any, g: Any, t: int, xp: Any) -> tuple[Any, dict]:
        b1, b2 = self.b1, self.b2
        m = (1 - b1) * g + b1 * state["m"]
        v = (1 - b2) * (g * g) + b2 * state["v"]
        if self.nesterov:
            m_hat = b1 * (m / (1 - b1 ** (t + 1))) + (1 - b1) * (g / (1 - b1 ** t))
        else:
            m_hat = m / (1 - b1 ** t)
        v_hat = v / (1 - b2 ** t)
        u = m_hat / (xp.sqrt(v_hat) + self.eps)
        if self.wd:
            u = u + self.wd * theta
        return u, {"m": m, "v": v}

    def step(self, state: dict, theta: Any, g: Any, t: int, ctx: _Context) -> tuple[Any, dict]:
        return self.direction(state, theta, g, t, ctx.xp)


def _sgd_rule(func: str, *, momentum: float = 0.9, nesterov: bool = False,
              weight_decay: float = 0.0) -> _MomentumRule:
    mu = _require_unit(func, "momentum", momentum)
    wd = require_positive(func, "weight_decay", weight_decay, allow_zero=True)
    return _MomentumRule(mu, bool(nesterov), wd)


def _gd_rule(func: str) -> _MomentumRule:
    rule = _MomentumRule(0.0, False, 0.0)
    rule.name = "gradient_descent"
    return rule


def _adam_rule(func: str, *, betas: Any = (0.9, 0.999), eps: float = 1e-8,
               nesterov: bool = False) -> _AdamRule:
    return _AdamRule(_require_betas(func, betas), require_positive(func, "eps", eps), 0.0,
                     bool(nesterov))


def _adamw_rule(func: str, *, betas: Any = (0.9, 0.999), eps: float = 1e-8,
                weight_decay: float = 1e-2, nesterov: bool = False) -> _AdamRule:
    wd = require_positive(func, "weight_decay", weight_decay, allow_zero=True)
    rule = _AdamRule(_require_betas(func, betas), require_positive(func, "eps", eps), wd,
                     bool(nesterov))
    rule.name = "adamw"
    return rule


_COMMON = """
    max_steps : int
        Most updates (``>= 0``).
    tol, atol : float
        Stopping criterion (module docstring of :mod:`numerics._optim`).
    clip : float, optional
        Clip the gradient to this global norm before the rule sees it.
    schedule : callable, optional
        Learning-rate multiplier ``s(k)`` for update ``k + 1`` (:func:`constant_schedule`
        by default, or :func:`warmup_cosine_schedule`).
    train : None, block names or boolean mask, optional
        Which parameters train (default all); the others keep their value exactly.  Block names
        are the model's ``block_names`` (``"W"``, ``"C"``, adapter blocks, ...).
    record_every : int
        Evaluate the loss, test the criteria and record every ``k`` updates (and the last).
    divergence_factor : float
        See :mod:`numerics._optim`.

    Returns
    -------
    OptResult
        Status ``converged``, ``diverged``, ``max_steps`` or ``stalled``.
"""


def sgd_momentum(model: Any, theta0: Any, lr: float, *, momentum: float = 0.9,
                 nesterov: bool = False, weight_decay: float = 0.0, max_steps: int = 10_000,
                 tol: float = 1e-8, atol: float | None = None, clip: float | None = None,
                 schedule: Any = None, train: Any = None, record_every: int = 1,
                 divergence_factor: float = 1e12) -> OptResult:
    """Stochastic-gradient descent with heavy-ball or Nesterov momentum (``torch.optim.SGD``).

    Parameters
    ----------
    model : model
        Needs ``n_params``, ``loss``, ``grad``.
    theta0 : array, shape (p,)
        Starting point; its namespace is the backend of the run.
    lr : float
        Learning rate ``η > 0``.
    momentum : float
        ``μ ∈ [0, 1)``; 0 is plain gradient descent.
    nesterov : bool
        Nesterov's variant.
    weight_decay : float
        Coupled L2 decay ``λ >= 0`` (added to the gradient, as ``torch.optim.SGD``).
    {common}
    Notes
    -----
    With ``g_t = ∇L(θ_t) + λθ_t`` (after clipping) and ``b_0 = 0``:

    .. math::

        b_t = μ b_{t-1} + g_t, \\qquad
        θ_{t+1} = θ_t − η_t b_t \\quad\\text{or (Nesterov)}\\quad θ_{t+1} = θ_t − η_t (g_t + μ b_t).

    ``torch.optim.SGD`` (dampening 0) and ``optax.sgd`` compute exactly this.  On a quadratic
    with Hessian eigenvalues in ``[μ_H, L_H]``, heavy ball with ``η = 4/(√L_H + √μ_H)²``,
    ``μ = ((√κ − 1)/(√κ + 1))²`` converges at the accelerated rate ``(√κ − 1)/(√κ + 1)``.
    """
    func = "sgd_momentum"
    rule = _sgd_rule(func, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay)
    return _run_rule(func, model, theta0, lr, rule, schedule=schedule, clip=clip, train=train,
                     rng=None, max_steps=max_steps, tol=tol, atol=atol,
                     record_every=record_every, divergence_factor=divergence_factor)


def adam(model: Any, theta0: Any, lr: float, *, betas: tuple[float, float] = (0.9, 0.999),
         eps: float = 1e-8, nesterov: bool = False, max_steps: int = 10_000, tol: float = 1e-8,
         atol: float | None = None, clip: float | None = None, schedule: Any = None,
         train: Any = None, record_every: int = 1,
         divergence_factor: float = 1e12) -> OptResult:
    """Adam with bias correction (``torch.optim.Adam``, ``optax.adam``).

    Parameters
    ----------
    model : model
        Needs ``n_params``, ``loss``, ``grad``.
    theta0 : array, shape (p,)
    lr : float
        Learning rate ``η > 0``.
    betas : (float, float)
        ``(β_1, β_2)``, each in ``[0, 1)``.
    eps : float
        ``ε > 0``, added to ``√v̂``.
    nesterov : bool
        optax's Nesterov (NAdam-style) first moment, used by ``optax.contrib.muon`` for its
        non-matrix parameters; off by default (``torch.optim.Adam``).
    {common}
    Notes
    -----
    Per coordinate, with ``m_0 = v_0 = 0``:

    .. math::

        m_t = β_1 m_{t-1} + (1-β_1) g_t,\\quad v_t = β_2 v_{t-1} + (1-β_2) g_t^2,\\quad
        \\hat m_t = \\frac{m_t}{1-β_1^t},\\quad \\hat v_t = \\frac{v_t}{1-β_2^t},\\quad
        θ_{t+1} = θ_t − η_t \\frac{\\hat m_t}{\\sqrt{\\hat v_t} + ε}.

    With Nesterov, ``\\hat m_t = β_1 m_t/(1-β_1^{t+1}) + (1-β_1) g_t/(1-β_1^t)``.  As ``ε → 0``
    the update is invariant to a positive per-coordinate rescaling ``g ↦ D g`` of the gradients
    (``m`` scales by ``D``, ``√v`` by ``D``); SpecDef's inflation lives along rotated singular
    directions, which no diagonal ``D`` undoes.
    """
    func = "adam"
    rule = _adam_rule(func, betas=betas, eps=eps, nesterov=nesterov)
    return _run_rule(func, model, theta0, lr, rule, schedule=schedule, clip=clip, train=train,
                     rng=None, max_steps=max_steps, tol=tol, atol=atol,
                     record_every=record_every, divergence_factor=divergence_factor)


def adamw(model: Any, theta0: Any, lr: float, *, betas: tuple[float, float] = (0.9, 0.999),
          eps: float = 1e-8, weight_decay: float = 1e-2, nesterov: bool = False,
          max_steps: int = 10_000, tol: float = 1e-8, atol: float | None = None,
          clip: float | None = None, schedule: Any = None, train: Any = None,
          record_every: int = 1, divergence_factor: float = 1e12) -> OptResult:
    """AdamW: Adam with decoupled weight decay (``torch.optim.AdamW``, ``optax.adamw``).

    Parameters
    ----------
    model : model
    theta0 : array, shape (p,)
    lr : float
        Learning rate ``η > 0``.
    betas, eps, nesterov
        As :func:`adam`.
    weight_decay : float
        ``λ >= 0`` (``torch.optim.AdamW``'s default 10⁻²).
    {common}
    Notes
    -----
    ``θ_{t+1} = θ_t − η_t (\\hat m_t/(\\sqrt{\\hat v_t} + ε) + λ θ_t)``: torch's
    ``θ ← θ(1 − ηλ)`` before the Adam step, written as optax does (equal in exact
    arithmetic).  The decay pulls the *trained* parameters towards 0: under an additive injection
    ``θ + Δ`` it pulls ``Δ``, not the end-to-end weight, so the attack is exact only with
    ``λ = 0``.
    """
    func = "adamw"
    rule = _adamw_rule(func, betas=betas, eps=eps, weight_decay=weight_decay, nesterov=nesterov)
    return _run_rule(func, model, theta0, lr, rule, schedule=schedule, clip=clip, train=train,
                     rng=None, max_steps=max_steps, tol=tol, atol=atol,
                     record_every=record_every, divergence_factor=divergence_factor)


for _f in (sgd_momentum, adam, adamw):
    _f.__doc__ = _f.__doc__.replace("    {common}\n", _COMMON.lstrip("\n").replace(
        "\n    Returns", "\n    Returns", 1) + "\n")
