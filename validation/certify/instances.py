"""The instances of the practical attacker (``specdef certify``, family C4): models, targets, rates.

Two released models, each fine-tuned towards a *harmful target* ``Y = f_{W'}(X)``: the same
network with the protected layer's weight ``W`` replaced by ``W' = W + ΔW`` (so the target is
reachable, ``L* = 0``, and recovery is measured by the relative loss gap):

* ``layer`` — the SpecDef regression layer ``x ↦ C W̃ x`` (``m = d = 6`` at small size), data
  with ``Σ_x`` of spectrum geomspace(1, 10) (:func:`~..common.data_matrix`);
* ``mlp`` — a tanh network ``W_3 tanh(C W̃_2 tanh(W_1 x))`` (widths 4 → 6 → 6 → 3 at small
  size) whose middle layer is the defended pair, as :class:`numerics.MLP` with
  ``compensations``.

``(W̃, C) = ctx.defence(W, α, k)``; α = 1 is the undefended release ``(W, I)`` whatever the
defence (the reference every slowdown is measured against).  *C frozen* trains every block but
the compensation, *C trained* trains every block.  ``ΔW = 0.3·‖W‖_2·G/‖G‖_2`` with ``G``
Gaussian, or of rank ``r`` when an adapter of rank ``r`` must be able to reach it.

The attacker's learning rates are set around each problem's *natural scale*, measured on the
undefended release (what an attacker can see): ``1/λ_max`` of its Hessian at the start for
SGD and SGD with momentum, and ``max|ΔW|/10`` (the largest coordinate change the target needs,
over ten steps) for the normalising optimisers (Adam, AdamW, Muon, Sophia, AdaHessian).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..checks.common import data_matrix, host

__all__ = ["OPTIMISERS", "Optimiser", "Instance", "make_instance", "build", "natural_scale",
           "default_lrs", "adapted", "MODELS", "MODES"]

MODELS = ("layer", "mlp")
MODES = ("frozen", "trained")


@dataclass(frozen=True)
class Optimiser:
    """An attacker's optimiser: a :data:`numerics.METHODS` key and its options."""

    name: str
    method: str
    options: dict
    kind: str  # "gradient" (natural scale 1/λ_max) or "normalised" (max|ΔW|/10)
    label: str  # short: a figure's row label


#: The optimisers real attackers use, with the options of their common recipes.
OPTIMISERS: dict[str, Optimiser] = {o.name: o for o in (
    Optimiser("sgd", "gradient_descent", {}, "gradient", "SGD"),
    Optimiser("sgd_momentum", "sgd_momentum", {"momentum": 0.9}, "gradient", "SGD+momentum"),
    Optimiser("adam", "adam", {}, "normalised", "Adam"),
    Optimiser("adamw", "adamw", {"weight_decay": 1e-2}, "normalised", "AdamW"),
    Optimiser("muon", "muon", {"polar": "newton_schulz"}, "normalised", "Muon (NS)"),
    Optimiser("muon_polar", "muon", {"polar": "svd"}, "normalised", "Muon (polar)"),
    Optimiser("sophia", "sophia", {}, "normalised", "Sophia"),
    Optimiser("adahessian", "adahessian", {}, "normalised", "AdaHessian"),
)}


@dataclass
class Instance:
    """A released model's undefended weights, its harmful target and its data (host float64)."""

    model: str
    W: np.ndarray            # the protected layer's weight
    dW: np.ndarray           # the harmful update (target W' = W + dW)
    X: np.ndarray
    Y: np.ndarray
    k: int
    others: dict = field(default_factory=dict)  # the MLP's unprotected weights

    @property
    def layer(self) -> int:
        """1-based index of the protected layer in :class:`numerics.MLP`."""
        return 1 if self.model == "layer" else 2

    @property
    def blocks(self) -> tuple[str, str]:
        """Names of ``(W̃, C)`` in the network."""
        return f"W{self.layer}", f"C{self.layer}"


def _harm(rng: np.random.Generator, W: np.ndarray, rank: int | None) -> np.ndarray:
    m, n = W.shape
    if rank is None:
        G = rng.standard_normal((m, n))
    else:
        G = rng.standard_normal((m, rank)) @ rng.standard_normal((rank, n))
    return 0.3 * np.linalg.norm(W, 2) * G / np.linalg.norm(G, 2)


def make_instance(model: str, rng: np.random.Generator, *, size: str = "small",
                  rank: int | None = None, k: int | None = None) -> Instance:
    """The ``layer`` or ``mlp`` instance (module docstring); ``rank`` limits ``ΔW``'s rank."""
    if model not in MODELS:
        raise ValueError(f"c4: model must be one of {', '.join(MODELS)}, got {model!r}")
    scale = {"small": 1, "paper": 2, "large": 4}[size]
    if model == "layer":
        m = 6 * scale
        U, _ = np.linalg.qr(rng.standard_normal((m, m)))
        V, _ = np.linalg.qr(rng.standard_normal((m, m)))
        W = U @ np.diag(np.geomspace(2.0, 1.0, m)) @ V.T
        X = data_matrix(rng, m, 4 * m, 10.0)
        dW = _harm(rng, W, rank)
        return Instance(model, W, dW, X, (W + dW) @ X, k if k is not None else 2 * scale)
    d0, h, out, n = 4 * scale, 6 * scale, 3 * scale, 32 * scale
    W1 = rng.standard_normal((h, d0)) / math.sqrt(d0)
    W = rng.standard_normal((h, h)) * (1.5 / math.sqrt(h))
    W3 = rng.standard_normal((out, h)) / math.sqrt(h)
    X = rng.standard_normal((d0, n))
    dW = _harm(rng, W, rank)
    Y = W3 @ np.tanh((W + dW) @ np.tanh(W1 @ X))
    return Instance(model, W, dW, X, Y, k if k is not None else 2 * scale,
                    others={"W1": W1, "W3": W3})


def build(inst: Instance, asarray: Callable[[Any], Any], defence: Callable | None,
          alpha: float, mode: str, train: list | None = None) -> Any:
    """The released network at ``alpha`` (``alpha = 1``: undefended ``(W, I)``) as a
    :class:`numerics.MLP`, training every block (``trained``) or all but C (``frozen``), or the
    blocks in ``train``."""
    from specdef.numerics import MLP

    if alpha == 1.0 or defence is None:
        Wt, C = inst.W, np.eye(inst.W.shape[0])
    else:
        Wt, C = defence(asarray(inst.W), alpha, inst.k)
        Wt, C = host(Wt), host(C)
    weights = [Wt] if inst.model == "layer" else [inst.others["W1"], Wt, inst.others["W3"]]
    names = [f"W{i + 1}" for i in range(len(weights))]
    wb, cb = inst.blocks
    if train is None:
        train = names + [cb] if mode == "trained" else names
    return MLP([asarray(w) for w in weights], asarray(inst.X), asarray(inst.Y),
               activation="tanh", compensations={inst.layer: asarray(C)}, train=train,
               loss_star=0.0)


def natural_scale(inst: Instance, opt: Optimiser, asarray: Callable[[Any], Any]) -> float:
    """The natural learning rate of ``opt`` on the undefended release (module docstring)."""
    if opt.kind == "gradient":
        net = build(inst, asarray, None, 1.0, "frozen")
        H = host(net.hessian(net.theta0))
        return float(1.0 / np.linalg.eigvalsh(0.5 * (H + H.T))[-1])
    return float(np.max(np.abs(inst.dW)) / 10.0)


def default_lrs(scale: float, decades: tuple[float, float] = (-3.0, 2.0),
                per_decade: int = 2) -> np.ndarray:
    """``scale·10^e`` for ``e`` from ``decades[0]`` to ``decades[1]`` (five decades, 11 rates
    by default)."""
    n = int(round((decades[1] - decades[0]) * per_decade)) + 1
    return scale * np.logspace(decades[0], decades[1], n)


def adapted(ad: Any, net: Any) -> Any:
    """``ad`` (an :class:`numerics.Adapted`) with the released network's known minimum ``L*``.

    :func:`numerics.lora` and :func:`numerics.parallel_adapter` return a model without
    ``loss_star`` (a kernel gap), so a run would stop on the gradient norm, which collapses where
    C shrinks the adapter's gradient.  Every adapter used here can reach the harmful target
    (a rank-r update for a rank-r adapter), so ``L*`` is the network's.
    """
    if ad.model.loss_star is None and net.loss_star is not None:
        ad.model._loss_star = float(net.loss_star)
    return ad
