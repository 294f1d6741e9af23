"""Low-rank adapters on a :class:`~numerics.Network`: LoRA on chosen maps, and parallel paths.

* :func:`lora` replaces a weight ``W`` (anywhere it appears, e.g. ``W̃`` or ``C`` of a SpecDef
  pair) by ``W + (s/r) B A`` with ``B = 0`` and ``A`` random, and trains only the adapters;
* :func:`parallel_adapter` adds a trainable path ``Δ x`` (full, from 0) or ``(s/r) B A x``
  (rank ``r``) next to a whole layer: the additive injection and its low-rank version.

Both start at exactly the released function (``B = 0``, ``Δ = 0``) and report the parameter
overhead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ._backend import _brief, make_rng, require_index, require_positive, to_host
from ._errors import InputError
from ._network import Network

__all__ = ["Adapted", "lora", "parallel_adapter"]


@dataclass(frozen=True)
class Adapted:
    """A network with adapters: the model to train, its start and the parameter overhead.

    Attributes
    ----------
    name : str
        ``"lora"`` or ``"parallel"``.
    model : Network
        Adapters trainable, every original parameter frozen (unless asked otherwise).
    theta0 : array
        Start: the adapters' initial values (the released function exactly).
    n_added : int
        Parameters added.
    n_original : int
        Size of the adapted maps (``m·n`` each); ``overhead = n_added / n_original``.
    n_model : int
        Parameters of the original network (all blocks, trainable or not).
    per_target : dict
        ``{target: (n_added, m·n)}``.
    """

    name: str
    model: Network
    theta0: Any
    n_added: int
    n_original: int
    n_model: int
    per_target: dict = field(default_factory=dict)

    @property
    def overhead(self) -> float:
        """``|added| / |adapted maps|`` (``r(m+n)/(mn)`` for one rank-r adapter)."""
        return self.n_added / self.n_original

    @property
    def model_overhead(self) -> float:
        """``|added| / |original network|``."""
        return self.n_added / self.n_model


def _require_network(func: str, model: Any) -> Network:
    if not isinstance(model, Network):
        raise InputError(f"{func}: model must be a Network (MLP, ...), got "
                         f"{type(model).__name__}")
    return model


def _labels_or_targets(model: Network) -> Any:
    return model.labels if model.loss_kind == "cross_entropy" else model.Y


def _init_A(gen: np.random.Generator, r: int, n: int) -> np.ndarray:
    # Kaiming-normal for a map from R^n: N(0, 1/n)
    return gen.standard_normal((r, n)) / math.sqrt(n)


def _rebuild(model: Network, params: dict, ops: list, train: list) -> Network:
    return Network(params, ops, model.X, _labels_or_targets(model), loss=model.loss_kind,
                   train=train, max_dense=model.max_dense)


def lora(model: Network, targets: Sequence[str], rank: int, *, scale: float | None = None,
         rng: Any = None, train_base: bool = False) -> Adapted:
    """Put a rank-``r`` LoRA adapter ``W + (s/r) B A`` on each target weight of a network.

    Parameters
    ----------
    model : Network
        For example an :class:`MLP` with a SpecDef pair (targets ``"W2"`` = W̃, ``"C2"`` = C).
    targets : sequence of str
        Matrix parameters to adapt (each appears at most once per term).
    rank : int
        ``1 <= r <= min(m, n)`` of each target.
    scale : float, optional
        ``s`` (LoRA's α); default ``r`` (factor 1).
    rng : seed or Generator, optional
        Draws ``A`` (``N(0, 1/n)`` entries), on the host.
    train_base : bool
        Also train the original parameters (default: adapters only).

    Returns
    -------
    Adapted
        Blocks ``"A_<target>"`` (``r × n``) and ``"B_<target>"`` (``m × r``, zero).

    Notes
    -----
    Every term ``s_τ ⋯ W ⋯`` of a linear operation holding ``W`` gains the term
    ``s_τ (s/r) ⋯ B A ⋯``, so the effective map is ``⋯ (W + (s/r) B A) ⋯`` and derivatives stay
    exact.  With ``B = 0`` the function is unchanged; the gradient in ``B`` is
    ``(s/r) ∇_W L · Aᵀ`` and in ``A`` it is 0 at the start.  Overhead ``r(m + n)`` per
    ``m × n`` target, ``r(m+n)/(mn)`` of it.  On a SpecDef pair, LoRA on ``C`` (``m × m``)
    gives ``C + (s/r)BA``: the effective layer ``(C + (s/r)BA) W̃``.
    """
    func = "lora"
    model = _require_network(func, model)
    if isinstance(targets, str):
        targets = (targets,)
    if not isinstance(targets, (list, tuple)) or not targets or any(
            t not in model.params0 or model.params0[t].ndim != 2 for t in targets) or len(
            set(targets)) != len(targets):
        raise InputError(f"{func}: targets must be distinct matrix parameters of the model "
                         f"{[k for k, v in model.params0.items() if v.ndim == 2]}, got "
                         f"{_brief(targets)}")
    gen = make_rng(func, rng)
    xp = model.xp
    params = dict(model.params0)
    ops = [op for op in model.ops]
    per, added = {}, 0
    for t in targets:
        m, n = model.params0[t].shape
        r = require_index(func, f"rank (min(m, n)={min(m, n)} for {t})", rank, 1, min(m, n))
        s = float(r) if scale is None else require_positive(func, "scale", scale)
        a, b = f"A_{t}", f"B_{t}"
        if a in params or b in params:
            raise InputError(f"{func}: targets must not already carry an adapter, got {t!r}")
        params[a] = xp.asarray(_init_A(gen, r, n), dtype=model.dtype)
        params[b] = xp.zeros((m, r), dtype=model.dtype)
        new_ops = []
        for op in ops:
            if op[0] != "linear":
                new_ops.append(op)
                continue
            terms = list(op[1])
            for sc, facs in op[1]:
                if facs.count(t) > 1:
                    raise InputError(f"{func}: targets must appear at most once per term, got "
                                     f"{t!r} in {list(facs)}")
                if t in facs:
                    k = facs.index(t)
                    terms.append((sc * s / r, facs[:k] + (a, b) + facs[k + 1:]))
            new_ops.append(("linear", tuple(terms)))
        ops = new_ops
        per[t] = (r * (m + n), m * n)
        added += r * (m + n)
    train = [k for k in params if k.startswith(("A_", "B_")) and k not in model.params0]
    if train_base:
        train = list(model.train) + train
    net = _rebuild(model, params, ops, train)
    n_model = sum(math.prod(v.shape) for v in model.params0.values())
    return Adapted("lora", net, net.theta0, added, sum(v[1] for v in per.values()), n_model, per)


def parallel_adapter(model: Network, factor: str, rank: int | None = None, *,
                     scale: float | None = None, rng: Any = None) -> Adapted:
    """Add a trainable path next to the linear layer holding ``factor``: ``x ↦ g(x) + Δx``.

    Parameters
    ----------
    model : Network
    factor : str
        A matrix parameter of the layer to bypass (e.g. ``"W2"`` of a SpecDef pair).
    rank : int, optional
        ``None``: a full ``Δ`` from 0 (the additive injection); else ``Δ = (s/r) B A`` with
        ``B = 0`` and random ``A`` (its low-rank version).
    scale : float, optional
        ``s``; default ``r``.
    rng : seed or Generator, optional

    Returns
    -------
    Adapted
        Only the new path trains; overhead ``1`` (full) or ``r(m+n)/(mn)`` of the layer's
        ``m × n`` end-to-end map.

    Notes
    -----
    The layer's map becomes ``Σ_τ s_τ Π F_τ + Δ``.  Because a defence such as SpecDef keeps the
    layer's function, training ``Δ`` from 0 sees the loss of the undefended network at
    ``W + Δ``: every first- and second-order trajectory (and every optimiser without weight
    decay, which acts on ``Δ``) is that of fine-tuning the undefended layer.  A rank-``r``
    path restores the rate whenever the harmful update has rank ``<= r``.
    """
    func = "parallel_adapter"
    model = _require_network(func, model)
    idx = [i for i, op in enumerate(model.ops) if op[0] == "linear" and any(
        factor in facs for _, facs in op[1])]
    if not isinstance(factor, str) or not idx:
        raise InputError(f"{func}: factor must name a matrix of a linear layer "
                         f"{[k for k, v in model.params0.items() if v.ndim == 2]}, got "
                         f"{_brief(factor)}")
    i = idx[0]
    op = model.ops[i]
    facs0 = op[1][0][1]
    n = model.params0[facs0[0]].shape[1]
    m = model.params0[facs0[-1]].shape[0]
    xp = model.xp
    params = dict(model.params0)
    tag = f"{factor}"
    if rank is None:
        name = f"Delta_{tag}"
        params[name] = xp.zeros((m, n), dtype=model.dtype)
        new_terms = ((1.0, (name,)),)
        added, train = m * n, [name]
    else:
        r = require_index(func, f"rank (min(m, n)={min(m, n)})", rank, 1, min(m, n))
        s = float(r) if scale is None else require_positive(func, "scale", scale)
        a, b = f"PA_{tag}", f"PB_{tag}"
        params[a] = xp.asarray(_init_A(make_rng(func, rng), r, n), dtype=model.dtype)
        params[b] = xp.zeros((m, r), dtype=model.dtype)
        new_terms = ((s / r, (a, b)),)
        added, train = r * (m + n), [a, b]
    ops = list(model.ops)
    ops[i] = ("linear", tuple(op[1]) + new_terms)
    net = _rebuild(model, params, ops, train)
    n_model = sum(math.prod(v.shape) for v in model.params0.values())
    return Adapted("parallel", net, net.theta0, added, m * n, n_model,
                   {factor: (added, m * n)})
