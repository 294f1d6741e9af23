"""Batched optimiser sweeps: a grid of models × learning rates × seeds as one array program.

Every configuration is a row of a ``(B, p)`` parameter stack; the update rules of the practical
optimisers and the derivatives of :class:`~numerics.Network` work on such stacks, so one step of
the whole grid is one pass of batched array operations.  Each row follows the stopping and
divergence convention of :mod:`numerics._optim` on its own: a configuration that converges,
diverges or stalls is frozen at its step (its θ and state stop changing, its loss stays the last
finite value) and never affects the others.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ._adaptive import _adam_rule, _adamw_rule, _gd_rule, _sgd_rule
from ._backend import _brief, backend_name, get_namespace, require_matrix, require_positive, to_host
from ._curvature_optimisers import _adahessian_rule, _sophia_rule
from ._deep_linear import LinearChain
from ._errors import InputError
from ._models import LinearRegression
from ._muon import _muon_rule
from ._network import Network
from ._optim_common import (_blocks, _clip, _Context, _multiplier, _require_schedule,
                            _train_mask)

__all__ = ["GridResult", "METHODS", "as_network", "sweep_optimiser"]

#: Optimisers :func:`sweep_optimiser` runs, with the builder of their update rule.
METHODS = {
    "gradient_descent": lambda f, **kw: _gd_rule(f, **kw),
    "sgd_momentum": lambda f, **kw: _sgd_rule(f, **kw),
    "adam": lambda f, **kw: _adam_rule(f, **kw),
    "adamw": lambda f, **kw: _adamw_rule(f, **kw),
    "muon": lambda f, **kw: _muon_rule(f, **kw),
    "sophia": lambda f, **kw: _sophia_rule(f, **kw),
    "adahessian": lambda f, **kw: _adahessian_rule(f, **kw),
}


def as_network(model: Any) -> Network:
    """The same loss as a :class:`Network` (whose methods accept stacks of θ).

    Parameters
    ----------
    model : Network, LinearChain (SpecDefLayer, DeepLinear) or LinearRegression

    Returns
    -------
    Network
        Same blocks, same θ layout, same loss ``(1/2n)‖f(X) − Y‖_F²`` and ``loss_star``.

    Notes
    -----
    A chain ``M_L ⋯ M_1`` becomes one linear operation with the single term ``[M_1, …, M_L]``;
    a regression ``(W + P) X`` the terms ``[W] + [P]`` with ``P`` frozen (``W``'s reference
    value is 0: pass the starting point as ``theta0``).
    """
    func = "as_network"
    if isinstance(model, Network):
        return model
    if isinstance(model, LinearChain):
        params = dict(zip(model.names, model.factors0))
        train = [model.names[i] for i in range(len(model.names)) if model.trainable[i]]
        return Network(params, [("linear", [(1.0, list(model.names))])], model.X, model.Y,
                       train=train, loss_star=model.loss_star, max_dense=model.max_dense)
    if isinstance(model, LinearRegression):
        xp = model.xp
        m, d = model.block_shapes[0]
        params = {"W": xp.zeros((m, d), dtype=model.dtype)}
        terms = [(1.0, ["W"])]
        if model.offset is not None:
            params["P"] = model.offset
            terms.append((1.0, ["P"]))
        return Network(params, [("linear", terms)], model.X, model.Y, train=["W"],
                       loss_star=model.loss_star, max_dense=model.max_dense)
    raise InputError(f"{func}: model must be a Network, LinearChain or LinearRegression, got "
                     f"{type(model).__name__}")


@dataclass(frozen=True)
class GridResult:
    """A batched sweep: one record per (model, learning rate, seed) configuration.

    Attributes
    ----------
    method : str
    lrs : numpy.ndarray, shape (L,)
    seeds : numpy.ndarray, shape (S,)
    n_models : int
        ``A``: models stacked on the first axis (for example one per α).
    status : numpy.ndarray of str, shape (A, L, S)
        ``converged``, ``diverged``, ``max_steps`` or ``stalled``.
    steps : numpy.ndarray of int64, shape (A, L, S)
        Updates until the criterion, divergence or ``max_steps`` (the update before a stall).
    diverged_at : numpy.ndarray of int64, shape (A, L, S)
        Step of divergence, ``-1`` if none.
    loss, grad_norm : numpy.ndarray, shape (R, A, L, S)
        At ``record_steps``; a stopped configuration repeats its last finite values.
    record_steps : numpy.ndarray of int64, shape (R,)
    theta : array, shape (A, L, S, p)
        Last finite iterate of each configuration, on the run's backend.
    params : dict
    """

    method: str
    lrs: np.ndarray
    seeds: np.ndarray
    n_models: int
    status: np.ndarray
    steps: np.ndarray
    diverged_at: np.ndarray
    loss: np.ndarray
    grad_norm: np.ndarray
    record_steps: np.ndarray
    theta: Any
    params: dict = field(default_factory=dict)

    @property
    def steps_to_tolerance(self) -> np.ndarray:
        """``steps`` where converged, ``inf`` elsewhere, shape (A, L, S)."""
        return np.where(self.status == "converged", self.steps.astype(np.float64), np.inf)

    @property
    def best(self) -> list[dict]:
        """Per model: the learning rate with the fewest median steps over seeds (ties: smaller).

        A rate counts only if every seed converged; returns ``{"lr": None, "steps": inf}`` when
        none did.
        """
        n = self.steps_to_tolerance
        med = np.where(np.all(np.isfinite(n), axis=2), np.median(n, axis=2), np.inf)
        out = []
        for a in range(self.n_models):
            if np.isfinite(med[a]).any():
                i = int(np.flatnonzero(med[a] == med[a].min())[0])
                out.append({"lr": float(self.lrs[i]), "steps": float(med[a, i])})
            else:
                out.append({"lr": None, "steps": math.inf})
        return out

    def __repr__(self) -> str:
        counts = {st: int(np.sum(self.status == st)) for st in
                  dict.fromkeys(self.status.ravel().tolist())}
        return (f"GridResult(method={self.method!r}, models={self.n_models}, "
                f"lrs={self.lrs.size}, seeds={self.seeds.size}, "
                f"steps_recorded={self.record_steps.size}, status={counts})")


#: Bytes of one ``(rows, p)`` state array per block of configurations on NumPy: blocks run all
#: their steps before the next starts, so their state stays in the L2 cache.
_CACHE_BYTES = 2**17


def _slice_rows(run: Network, net: Network, lo: int, hi: int, xp: Any) -> Network:
    """The row-stacked network restricted to configurations ``lo:hi``."""
    out = copy.copy(run)
    out.params0 = {k: (v if k in net.train else v[lo:hi, ...]) for k, v in run.params0.items()}
    out.X, out.Y, out._Xin, out._Yin = (a[lo:hi, ...] for a in (run.X, run.Y, run._Xin,
                                                                  run._Yin))
    out._c = run._c[lo:hi]
    out._Q = None if run._Q is None else run._Q[lo:hi, ...]
    return out


def _where_tree(xp: Any, keep: Any, new: Any, old: Any) -> Any:
    if isinstance(new, dict):
        return {k: _where_tree(xp, keep, new[k], old[k]) for k in new}
    return xp.where(keep, new, old)


def _theta_stack(func: str, theta0: Any, A: int, S: int, p: int, xp: Any) -> list:
    """One ``(S, p)`` stack per model."""
    items = theta0 if isinstance(theta0, (list, tuple)) else [theta0] * A
    if len(items) != A:
        raise InputError(f"{func}: theta0 must be an array or a list of {A} arrays (one per "
                         f"model), got a list of {len(items)}")
    out = []
    for a, th in enumerate(items):
        th = require_matrix(func, "theta0", th, ndim=(1, 2))
        if th.shape[-1] != p or (th.ndim == 2 and th.shape[0] != S):
            raise InputError(f"{func}: theta0 must have shape ({p},) or ({S}, {p}) (one row "
                             f"per seed), got {tuple(th.shape)}")
        if th.ndim == 1:
            th = xp.broadcast_to(th[None, :], (S, p))
        out.append(th)
    return out


def sweep_optimiser(model: Any, theta0: Any, method: str, lrs: Any, *,
                    seeds: Sequence[int] = (0,), options: dict | None = None,
                    max_steps: int = 1000, tol: float = 1e-8, atol: float | None = None,
                    clip: float | None = None, schedule: Any = None, train: Any = None,
                    record_every: int = 1, divergence_factor: float = 1e12,
                    chunk: int | None = None) -> GridResult:
    """Run one optimiser over a grid of models × learning rates × seeds as one batched program.

    Parameters
    ----------
    model : model or list of models
        A :class:`Network`, ``LinearChain`` (``SpecDefLayer``) or ``LinearRegression``
        (converted by :func:`as_network`), or ``A`` of them with the same trainable blocks
        (for example SpecDef at several α): their frozen parameters, ``X`` and ``Y`` may differ.
    theta0 : array or list of arrays
        ``(p,)`` or ``(S, p)`` (one start per seed), or a list of ``A`` of these.
    method : str
        A key of :data:`METHODS`.
    lrs : array_like, shape (L,)
        Learning rates ``> 0``.
    seeds : sequence of int
        ``S`` seeds: the probe stream of Sophia/AdaHessian (``np.random.default_rng(seed)``,
        the same stream as ``rng=seed`` in a single run) and the row of ``theta0`` when it has
        one per seed.
    options : dict, optional
        Keyword arguments of the single-run optimiser (``momentum``, ``betas``, ``polar``, …).
    max_steps, tol, atol, clip, schedule, train, record_every, divergence_factor
        As the single-run optimisers, applied to every configuration.
    chunk : int, optional
        Configurations per block; each block runs all its steps before the next (default: all
        of them on a GPU; on NumPy as many as keep a ``(rows, p)`` array within 128 KiB, so the
        state stays in cache).  Results do not depend on it.

    Returns
    -------
    GridResult

    Notes
    -----
    The ``B = A·L·S`` configurations are rows of ``θ ∈ R^{B×p}``; an update costs one batched
    gradient (plus one batched Hessian-vector product for the curvature methods), one batched
    rule step and, on recorded steps, one batched loss and a transfer of ``2B`` numbers to the
    host; the stall test moves ``B`` booleans per step.  Rows are independent: a diverged row is
    reset to its last finite iterate and masked out, so NaN or overflow in one configuration
    never reaches another.  Row ``b = (a·L + l)·S + s`` reproduces the single run
    ``method(model[a], theta0[a][s], lrs[l], rng=seeds[s], **options)``.
    """
    func = "sweep_optimiser"
    if not isinstance(method, str) or method not in METHODS:
        raise InputError(f"{func}: method must be one of {sorted(METHODS)}, got "
                         f"{_brief(method)}")
    models = list(model) if isinstance(model, (list, tuple)) else [model]
    if not models:
        raise InputError(f"{func}: model must be a model or a non-empty list, got []")
    nets = [as_network(m) for m in models]
    net = nets[0]
    for k, other in enumerate(nets[1:], 1):
        if other.block_names != net.block_names or other.block_shapes != net.block_shapes or (
                other.ops != net.ops) or other.loss_kind != net.loss_kind:
            raise InputError(f"{func}: model must be a list of models of one structure, got "
                             f"model[{k}] with blocks {other.block_names}")
    opts = dict(options or {})
    if "model" in opts or "rng" in opts:
        raise InputError(f"{func}: options must not contain 'model' or 'rng', got "
                         f"{sorted(opts)}")
    try:
        rule = METHODS[method](func, **({"model": net, **opts} if method == "sophia" else opts))
    except TypeError as exc:
        raise InputError(f"{func}: options must be keyword arguments of {method}, got "
                         f"{sorted(opts)} ({str(exc).splitlines()[0]})") from None
    xp = net.xp
    try:
        lr_h = np.asarray(to_host(lrs), dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise InputError(f"{func}: lrs must be a sequence of numbers > 0, got "
                         f"{_brief(lrs)}") from None
    if lr_h.size == 0 or not np.all(np.isfinite(lr_h) & (lr_h > 0)):
        raise InputError(f"{func}: lrs must be a non-empty sequence of finite numbers > 0, got "
                         f"{_brief(lrs)}")
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, (list, tuple, range, np.ndarray)):
        raise InputError(f"{func}: seeds must be a sequence of integers >= 0, got "
                         f"{_brief(seeds)}")
    seeds_h = [int(require_positive(func, "seeds", s, allow_zero=True, integer=True))
               for s in seeds]
    if not seeds_h:
        raise InputError(f"{func}: seeds must be non-empty, got {_brief(seeds)}")
    max_steps = require_positive(func, "max_steps", max_steps, allow_zero=True, integer=True)
    tol = require_positive(func, "tol", tol)
    atol = None if atol is None else require_positive(func, "atol", atol)
    factor = require_positive(func, "divergence_factor", divergence_factor)
    record_every = require_positive(func, "record_every", record_every, integer=True)
    if chunk is not None:
        chunk = require_positive(func, "chunk", chunk, integer=True)
    sched = _require_schedule(func, schedule)
    c = None if clip is None else require_positive(func, "clip", clip)
    A, L, S, p = len(nets), lr_h.size, len(seeds_h), net.n_params
    B = A * L * S
    starts = _theta_stack(func, theta0, A, S, p, xp)
    T_all = xp.concat([xp.broadcast_to(st[None, :, :], (L, S, p)) for st in starts], axis=0)
    T_all = xp.reshape(xp.astype(T_all, net.dtype), (B, p))
    mask = _train_mask(func, net, train, xp, p)
    if A > 1:  # frozen parameters, X and Y differ per model: stack them along the rows
        run_all = copy.copy(net)
        rep = L * S

        def stack(arrs: list) -> Any:
            st = xp.stack(arrs, axis=0)
            return xp.reshape(xp.broadcast_to(st[:, None, ...], (A, rep, *arrs[0].shape)),
                              (B, *arrs[0].shape))

        run_all.params0 = {k: (v if k in net.train else stack([n.params0[k] for n in nets]))
                           for k, v in net.params0.items()}
        run_all.X, run_all.Y = stack([n.X for n in nets]), stack([n.Y for n in nets])
        run_all._Xin = stack([n._Xin for n in nets])
        run_all._Yin = stack([n._Yin for n in nets])
        run_all._c = xp.reshape(stack([xp.asarray(n._c, dtype=net.dtype) for n in nets]), (B,))
        run_all._Q = None if net._Q is None else stack([n._Q for n in nets])
    else:
        run_all = net
    loss_star = [n.loss_star for n in nets]
    use_gap = all(ls is not None for ls in loss_star)
    lr_all = np.repeat(np.tile(lr_h, A), S)  # row b = (a·L + l)·S + s
    ref_all = np.repeat(np.asarray([ls if use_gap else 0.0 for ls in loss_star], dtype=float),
                        L * S)

    def rows(lo: int, hi: int) -> tuple:
        """Run configurations ``lo:hi`` through all steps (one cache-sized block)."""
        run = run_all if A == 1 else _slice_rows(run_all, net, lo, hi, xp)
        T = T_all[lo:hi, ...]
        ref = ref_all[lo:hi]
        gens = [np.random.default_rng(seeds_h[b % S]) for b in range(lo, hi)]
        ctx = _Context(xp, net.dtype, _blocks(net, p), mask, gens, hvp=run.hvp,
                       sampled_grad=run.sampled_grad)
        lr_rows = lr_all[lo:hi]

        def host2(Lv: Any, g: Any) -> tuple[np.ndarray, np.ndarray]:
            gn = xp.linalg.vector_norm(g, axis=-1)
            h = np.asarray(to_host(xp.stack([xp.astype(Lv, gn.dtype), gn])), dtype=np.float64)
            return h[0], h[1]

        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            g = run.grad(T)
            Lh, gnh = host2(run.loss(T), g)
        status = np.full(hi - lo, "max_steps", dtype=object)
        steps = np.full(hi - lo, max_steps, dtype=np.int64)
        div_at = np.full(hi - lo, -1, dtype=np.int64)
        active = np.isfinite(Lh) & np.isfinite(gnh)
        status[~active], steps[~active], div_at[~active] = "diverged", 0, 0
        dev0 = np.abs(Lh - ref)
        val0 = (Lh - ref) if use_gap else gnh

        def met(Lv: np.ndarray, gv: np.ndarray) -> np.ndarray:
            val = (Lv - ref) if use_gap else gv
            bound = atol if atol is not None else tol * val0
            return val <= bound

        done0 = active & met(Lh, gnh)
        status[done0], steps[done0] = "converged", 0
        active &= ~done0
        L_ok, gn_ok = np.where(np.isfinite(Lh), Lh, 0.0), np.where(np.isfinite(gnh), gnh, 0.0)
        hist_L, hist_g, rsteps = [L_ok.copy()], [gn_ok.copy()], [0]
        T_ok = T
        state = rule.init(T, ctx)
        t = 0
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            while t < max_steps and active.any():
                t += 1
                lr_t = lr_rows * _multiplier(func, sched, t - 1)
                gm = g if mask is None else xp.where(mask, g, xp.zeros_like(g))
                if c is not None:
                    gm = _clip(xp, gm, c)
                u, new_state = rule.step(state, T, gm, t, ctx)
                new = T - xp.asarray(lr_t[:, None], dtype=net.dtype) * u
                if mask is not None:
                    new = xp.where(mask, new, T)
                changed = np.asarray(to_host(xp.any(new != T, axis=-1)), dtype=bool)
                stalled = active & ~changed & (lr_t > 0)
                status[stalled], steps[stalled] = "stalled", t - 1
                active &= ~stalled
                if active.all():  # the common case: no row to hold back
                    T, state = new, new_state
                else:
                    keep = xp.asarray(active)[:, None]
                    T = xp.where(keep, new, T)
                    state = _where_tree(xp, keep, new_state, state)
                g = run.grad(T)
                if t % record_every and t != max_steps:
                    continue
                Lh, gnh = host2(run.loss(T), g)
                finite = np.isfinite(Lh) & np.isfinite(gnh)
                bad = active & ~finite
                blown = active & finite & (dev0 > 0) & (np.abs(Lh - ref) > factor * dev0)
                gone = bad | blown
                status[gone], steps[gone], div_at[gone] = "diverged", t, t
                ok = active & finite
                L_ok, gn_ok = np.where(ok, Lh, L_ok), np.where(ok, gnh, gn_ok)
                T_ok = T if ok.all() else xp.where(xp.asarray(ok)[:, None], T, T_ok)
                conv = active & ~gone & met(Lh, gnh)
                status[conv], steps[conv] = "converged", t
                active &= ~(gone | conv)
                if gone.any():  # diverged rows restart from their last finite iterate, frozen
                    T = xp.where(xp.asarray(gone)[:, None], T_ok, T)
                    g = xp.where(xp.asarray(gone)[:, None], xp.zeros_like(g), g)
                hist_L.append(L_ok.copy())
                hist_g.append(gn_ok.copy())
                rsteps.append(t)
        T_fin = xp.where(xp.asarray(status != "diverged")[:, None], T, T_ok)
        return status, steps, div_at, hist_L, hist_g, rsteps, T_fin

    if chunk is None:
        chunk = B if backend_name(xp) != "numpy" else max(1, _CACHE_BYTES // (8 * p))
    outs = [rows(lo, min(B, lo + chunk)) for lo in range(0, B, chunk)]
    n_rec = max(len(o[5]) for o in outs)
    rsteps = max((o[5] for o in outs), key=len)
    status = np.concatenate([o[0] for o in outs])
    steps = np.concatenate([o[1] for o in outs])
    div_at = np.concatenate([o[2] for o in outs])
    hist_L = np.concatenate([np.stack(o[3] + [o[3][-1]] * (n_rec - len(o[3]))) for o in outs],
                            axis=1)
    hist_g = np.concatenate([np.stack(o[4] + [o[4][-1]] * (n_rec - len(o[4]))) for o in outs],
                            axis=1)
    T_fin = outs[0][6] if len(outs) == 1 else xp.concat([o[6] for o in outs], axis=0)
    shape = (A, L, S)
    params = {"max_steps": max_steps, "tol": tol, "atol": atol, "record_every": record_every,
              "divergence_factor": factor, "clip": c, "schedule": repr(sched),
              "train": train if train is None or isinstance(train, (str, list, tuple))
              else "mask", "criterion": ("loss gap" if use_gap else "gradient norm"),
              "options": opts, **rule.params()}
    return GridResult(
        method=method, lrs=lr_h, seeds=np.asarray(seeds_h, dtype=np.int64), n_models=A,
        status=np.asarray(status.astype(str)).reshape(shape), steps=steps.reshape(shape),
        diverged_at=div_at.reshape(shape),
        loss=hist_L.reshape((-1, *shape)), grad_norm=hist_g.reshape((-1, *shape)),
        record_steps=np.asarray(rsteps, dtype=np.int64),
        theta=xp.reshape(T_fin, (A, L, S, p)), params=params)
