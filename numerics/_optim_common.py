"""Shared pieces of the practical optimisers: schedules, clipping, trainable masks, the step loop.

Every optimiser of :mod:`numerics._adaptive`, :mod:`numerics._muon` and
:mod:`numerics._curvature_optimisers` is an *update rule*: ``init(θ, ctx)`` builds its state and
``step(state, θ, g, t, ctx)`` returns a direction ``u`` with ``θ_{t+1} = θ_t − η_t u``.  The rules
work on arrays of shape ``(..., p)``, so the same rule runs one configuration (through the shared
driver :func:`numerics._optim_driver._run`, which records the trajectory and applies the stopping
convention of :mod:`numerics._optim`) or a whole grid of configurations along a leading axis
(:func:`numerics.sweep_optimiser`).

Around every rule, in this order: the gradient of frozen parameters is set to 0 (``train``); the
gradient is clipped to global norm ``c`` (``clip``); the rule's direction is scaled by the
learning rate of the schedule; frozen parameters keep their value bit for bit; a run whose update
changed no parameter (with a positive learning rate) stops with status ``stalled``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from ._backend import _brief, get_namespace, make_rng, require_positive, to_host
from ._errors import InputError
from ._optim_driver import OptResult, _Counted, _run, _Stalled, _UpdateRule

__all__ = ["ConstantSchedule", "WarmupCosineSchedule", "constant_schedule",
           "warmup_cosine_schedule", "clip_by_global_norm"]


# ----------------------------------------------------------------------------- schedules

@dataclass(frozen=True)
class ConstantSchedule:
    """Learning-rate multiplier 1 at every update."""

    def __call__(self, k: int) -> float:
        return 1.0


@dataclass(frozen=True)
class WarmupCosineSchedule:
    """Linear warm-up then cosine decay; see :func:`warmup_cosine_schedule`."""

    warmup_steps: int
    total_steps: int
    final: float = 0.0

    def __call__(self, k: int) -> float:
        if k < self.warmup_steps:
            return (k + 1) / self.warmup_steps
        span = self.total_steps - self.warmup_steps
        prog = min(1.0, (k - self.warmup_steps) / span) if span > 0 else 1.0
        return self.final + (1.0 - self.final) * 0.5 * (1.0 + math.cos(math.pi * prog))


def constant_schedule() -> ConstantSchedule:
    """The constant learning-rate schedule (multiplier 1); the default of every optimiser.

    Returns
    -------
    ConstantSchedule
        A callable ``k -> 1.0``.

    Notes
    -----
    A schedule is a callable ``s(k)`` of the update index ``k = t − 1 = 0, 1, …``; update ``t``
    uses the learning rate ``η_t = η · s(t − 1)`` (the ``count`` convention of optax, the
    ``last_epoch`` convention of ``torch.optim.lr_scheduler`` stepped once per update).
    """
    return ConstantSchedule()


def warmup_cosine_schedule(warmup_steps: int, total_steps: int, *,
                           final: float = 0.0) -> WarmupCosineSchedule:
    """Linear warm-up over ``warmup_steps`` updates, then cosine decay to ``final`` at ``total_steps``.

    Parameters
    ----------
    warmup_steps : int
        Updates of linear warm-up (``>= 0``).
    total_steps : int
        Update index at which the cosine reaches ``final`` (``>= warmup_steps``); constant after.
    final : float
        Final multiplier, in ``[0, 1]``.

    Returns
    -------
    WarmupCosineSchedule
        A callable ``k -> multiplier``.

    Notes
    -----
    With ``W = warmup_steps`` and ``T = total_steps``,

    .. math::

        s(k) = \\frac{k + 1}{W} \\quad (k < W), \\qquad
        s(k) = f + (1 - f)\\,\\tfrac12\\bigl(1 + \\cos(\\pi \\min(1, (k - W)/(T - W)))\\bigr)
        \\quad (k \\ge W).

    The warm-up starts at ``η/W``, not at 0, so the first update moves the parameters (a zero
    learning rate would make every rule a no-op).
    """
    func = "warmup_cosine_schedule"
    W = require_positive(func, "warmup_steps", warmup_steps, allow_zero=True, integer=True)
    T = require_positive(func, "total_steps", total_steps, allow_zero=True, integer=True)
    if T < W:
        raise InputError(f"{func}: total_steps must be >= warmup_steps={W}, got {total_steps!r}")
    f = require_positive(func, "final", final, allow_zero=True)
    if f > 1:
        raise InputError(f"{func}: final must be in [0, 1], got {final!r}")
    return WarmupCosineSchedule(W, T, f)


def _require_schedule(func: str, schedule: Any) -> Callable[[int], float]:
    if schedule is None:
        return ConstantSchedule()
    if not callable(schedule):
        raise InputError(f"{func}: schedule must be None or a callable k -> multiplier, got "
                         f"{_brief(schedule)}")
    return schedule


def _multiplier(func: str, schedule: Callable[[int], float], k: int) -> float:
    try:
        s = float(schedule(k))
    except (TypeError, ValueError):
        s = math.nan
    if not (math.isfinite(s) and s >= 0):
        raise InputError(f"{func}: schedule must return a finite multiplier >= 0, got "
                         f"{_brief(schedule(k))} at k={k}")
    return s


# ----------------------------------------------------------------------------- clipping

def clip_by_global_norm(g: Any, max_norm: float) -> Any:
    """Scale ``g`` (each row of a ``(..., p)`` stack) to global norm at most ``max_norm``.

    Parameters
    ----------
    g : array, shape (..., p)
        Gradient (all parameters concatenated); leading axes are independent configurations.
    max_norm : float
        The clipping threshold ``c > 0``.

    Returns
    -------
    array, shape (..., p)

    Notes
    -----
    ``g ← g`` if ``‖g‖ < c``, else ``(g/‖g‖)·c`` — ``g·min(1, c/‖g‖)`` written as
    ``optax.clip_by_global_norm`` does (``torch.nn.utils.clip_grad_norm_`` divides by
    ``‖g‖ + 10⁻⁶`` instead, a relative difference of ``10⁻⁶/‖g‖``).
    """
    func = "clip_by_global_norm"
    if not hasattr(g, "shape") or getattr(g, "ndim", 0) < 1:
        raise InputError(f"{func}: g must be an array with at least 1 dimension, got "
                         f"{_brief(g)}")
    c = require_positive(func, "max_norm", max_norm)
    xp = get_namespace(g, func=func)
    return _clip(xp, g, c)


def _clip(xp: Any, g: Any, c: float) -> Any:
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        n = xp.linalg.vector_norm(g, axis=-1, keepdims=True)
        return xp.where(n < c, g, (g / n) * c)


# ----------------------------------------------------------------------------- layout and masks

@dataclass(frozen=True)
class _Block:
    name: str
    start: int
    stop: int
    shape: tuple[int, ...]


def _blocks(model: Any, p: int) -> list[_Block]:
    """Parameter blocks of θ from ``model.block_names``/``block_shapes``, else one vector."""
    names = getattr(model, "block_names", None)
    shapes = getattr(model, "block_shapes", None)
    if names is not None and shapes is not None and len(names) == len(shapes):
        out, start = [], 0
        for n, s in zip(names, shapes):
            size = math.prod(s)
            out.append(_Block(str(n), start, start + size, tuple(int(d) for d in s)))
            start += size
        if start == p:
            return out
    return [_Block("theta", 0, p, (p,))]


def _train_mask(func: str, model: Any, train: Any, xp: Any, p: int) -> Any:
    """Boolean mask (p,) of trainable entries, or ``None`` for all of θ."""
    if train is None:
        return None
    blocks = _blocks(model, p)
    names = [b.name for b in blocks]
    if isinstance(train, str):
        train = (train,)
    if isinstance(train, (list, tuple)) and all(isinstance(t, str) for t in train):
        bad = [t for t in train if t not in names]
        if bad or not train:
            raise InputError(f"{func}: train must name blocks of the model {names}, got "
                             f"{_brief(list(train))}")
        host = np.zeros(p, dtype=bool)
        for b in blocks:
            if b.name in train:
                host[b.start:b.stop] = True
    else:
        try:
            host = np.asarray(to_host(train))
        except (TypeError, ValueError):
            host = np.zeros(0)
        if host.shape != (p,) or host.dtype.kind != "b":
            raise InputError(f"{func}: train must be None, block names {names} or a boolean "
                             f"mask of shape ({p},), got {_brief(train)}")
    if not host.any():
        raise InputError(f"{func}: train must select at least one parameter, got "
                         f"{_brief(train)}")
    return xp.asarray(host)


# ----------------------------------------------------------------------------- rules

class _Context:
    """What a rule may ask of the run: namespace, blocks, Hessian products, random probes.

    ``rngs`` is one generator for a single run, or a list of one generator per row of a batch;
    probes are drawn on the host (bit-identical across backends) and moved with ``xp.asarray``.
    """

    def __init__(self, xp: Any, dtype: Any, blocks: list[_Block], mask: Any, rngs: Any,
                 hvp: Callable | None = None, sampled_grad: Callable | None = None,
                 vjp: Callable | None = None, n_residuals: int | None = None) -> None:
        self.xp, self.dtype, self.blocks, self.mask, self.rngs = xp, dtype, blocks, mask, rngs
        self._hvp, self._sampled_grad, self._vjp = hvp, sampled_grad, vjp
        self.n_residuals = n_residuals

    def _draw(self, kind: str, shape: tuple[int, ...], masked: bool = True) -> Any:
        gens = self.rngs if isinstance(self.rngs, list) else None

        def one(g: np.random.Generator, n: int) -> np.ndarray:
            if kind == "rademacher":
                return g.integers(0, 2, n).astype(np.float64) * 2.0 - 1.0
            return g.standard_normal(n)

        if gens is None:
            host = one(self.rngs, shape[-1])
        else:
            host = np.stack([one(g, shape[-1]) for g in gens])
        z = self.xp.asarray(host, dtype=self.dtype)
        if masked and self.mask is not None:
            z = self.xp.where(self.mask, z, self.xp.zeros_like(z))
        return z

    def hvp(self, theta: Any, v: Any) -> Any:
        return self._hvp(theta, v)

    def hutchinson(self, theta: Any) -> Any:
        """``z ⊙ H z`` for a Rademacher ``z`` (zero on frozen entries)."""
        z = self._draw("rademacher", tuple(theta.shape))
        return z * self.hvp(theta, z)

    def gauss_newton_bartlett(self, theta: Any) -> Any:
        """``ĝ ⊙ ĝ`` with ``ĝ`` a gradient at labels sampled from the model (``E = diag(G)``)."""
        if self._sampled_grad is not None:
            gh = self._sampled_grad(theta, self.rngs)
        else:
            u = self._draw("normal", (*theta.shape[:-1], self.n_residuals), masked=False)
            gh = self._vjp(theta, u)
        if self.mask is not None:
            gh = self.xp.where(self.mask, gh, self.xp.zeros_like(gh))
        return gh * gh


class _Rule:
    """An update rule on ``(..., p)`` stacks: ``θ_{t+1} = θ_t − η_t · step(...)``."""

    name = "rule"
    needs: tuple[str, ...] = ("loss", "grad")

    def params(self) -> dict:
        return {}

    def init(self, theta: Any, ctx: _Context) -> dict:
        raise NotImplementedError

    def step(self, state: dict, theta: Any, g: Any, t: int, ctx: _Context) -> tuple[Any, dict]:
        raise NotImplementedError


def _require_betas(func: str, betas: Any) -> tuple[float, float]:
    try:
        b1, b2 = (float(b) for b in betas)
    except (TypeError, ValueError):
        raise InputError(f"{func}: betas must be two numbers in [0, 1), got "
                         f"{_brief(betas)}") from None
    if not (0 <= b1 < 1 and 0 <= b2 < 1):
        raise InputError(f"{func}: betas must be two numbers in [0, 1), got {_brief(betas)}")
    return b1, b2


def _require_unit(func: str, name: str, value: Any) -> float:
    v = require_positive(func, name, value, allow_zero=True)
    if v >= 1:
        raise InputError(f"{func}: {name} must be in [0, 1), got {_brief(value)}")
    return v


def _run_rule(func: str, model: Any, theta0: Any, lr: Any, rule: _Rule, *, schedule: Any,
              clip: Any, train: Any, rng: Any, max_steps: Any, tol: Any, atol: Any,
              record_every: Any, divergence_factor: Any,
              store: Callable[[Any], Any] | None = None) -> OptResult:
    """Run ``rule`` through the shared driver with clipping, schedule, mask and stall test.

    ``store`` (optional) maps each updated θ to the values kept (rounding to a storage format,
    :func:`numerics.train_in_format`); it is applied before the mask and the stall test.
    """
    eta = require_positive(func, "lr", lr)
    sched = _require_schedule(func, schedule)
    c = None if clip is None else require_positive(func, "clip", clip)
    gen = make_rng(func, rng)

    def make(m: _Counted, xp: Any) -> _UpdateRule:
        p = int(model.n_params)
        mask = _train_mask(func, model, train, xp, p)
        ctx = _Context(xp, None, _blocks(model, p), mask, gen,
                       hvp=lambda th, v: m("hvp", th, v),
                       sampled_grad=(None if not hasattr(model, "sampled_grad") else
                                     lambda th, g: m("sampled_grad", th, g)),
                       vjp=(lambda th, u: m("vjp", th, u)) if hasattr(model, "vjp") else None,
                       n_residuals=getattr(model, "n_residuals", None))
        box: dict = {"t": 0, "state": None}

        def update(theta: Any, g: Any, L: float) -> tuple[Any, int]:
            t = box["t"] = box["t"] + 1
            if box["state"] is None:
                ctx.dtype = theta.dtype
                box["state"] = rule.init(theta, ctx)
            lr_t = eta * _multiplier(func, sched, t - 1)
            if mask is not None:
                g = xp.where(mask, g, xp.zeros_like(g))
            if c is not None:
                g = _clip(xp, g, c)
            u, box["state"] = rule.step(box["state"], theta, g, t, ctx)
            new = theta - lr_t * u
            if store is not None:
                new = store(new)
            if mask is not None:
                new = xp.where(mask, new, theta)
            if lr_t > 0 and not bool(xp.any(new != theta)):
                raise _Stalled(f"update {t} changed no parameter (the step was absorbed by "
                               f"rounding)")
            return new, 0
        return update

    params = {"lr": eta, "schedule": repr(sched), "clip": c,
              "train": train if train is None or isinstance(train, (str, list, tuple))
              else "mask", **rule.params()}
    res = _run(func, model, theta0, make, max_steps=max_steps, tol=tol, atol=atol,
               divergence_factor=divergence_factor, record_every=record_every, params=params,
               needs=rule.needs)
    return res


def _batch_unvec(v: Any, shape: tuple[int, int], xp: Any) -> Any:
    """Column-major ``(..., m·n)`` → ``(..., m, n)``."""
    m, n = shape
    return xp.matrix_transpose(xp.reshape(v, (*v.shape[:-1], n, m)))


def _batch_vec(M: Any, xp: Any) -> Any:
    """``(..., m, n)`` → column-major ``(..., m·n)``."""
    Mt = xp.matrix_transpose(M)
    return xp.reshape(Mt, (*M.shape[:-2], M.shape[-1] * M.shape[-2]))

