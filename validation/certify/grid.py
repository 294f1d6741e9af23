"""The attacker's grid: optimisers × C frozen/trained × α × learning rates × seeds.

One batched :func:`numerics.sweep_optimiser` per optimiser and C mode runs every α and every
learning rate and seed of that optimiser as one array program.  The undefended release (α = 1,
``(W, I)`` with C frozen: the plain model) gets a sweep of its own first, and is the α = 1 row of
the C-frozen results; every slowdown divides by the undefended best count of the same optimiser.

A *cell* is one (optimiser, mode, α, learning rate) over the seeds: ``converged`` when every seed
reached the relative loss gap ``tol`` within the budget (its count is the median over seeds),
``diverged`` when a seed diverged, ``budget`` otherwise (``max_steps`` or ``stalled``: not recovered
within the budget). The undefended sweep gets ``budget`` updates; a defended sweep gets
``ceil(min_slowdown·s_0)`` (``s_0`` the optimiser's undefended best count), exactly what it takes to
decide whether a recipe is slowed ``min_slowdown``-fold, so slowdowns are resolved up to
``min_slowdown`` and reported as that lower bound beyond. :class:`Grid` is plain data (lists), JSON
as it stands. """

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from .instances import OPTIMISERS, Instance, build, default_lrs, natural_scale

__all__ = ["Grid", "run_grid", "cell_status"]


def cell_status(status: Sequence[str]) -> str:
    """``converged`` / ``diverged`` / ``budget`` of one cell's per-seed statuses."""
    st = list(status)
    if st and all(s == "converged" for s in st):
        return "converged"
    if any(s == "diverged" for s in st):
        return "diverged"
    return "budget"


def _cells(status: np.ndarray, steps: np.ndarray) -> tuple[list, list]:
    """Per (α, lr): cell status and median steps (``None`` unless converged)."""
    A, L, _ = status.shape
    cs = [[cell_status(status[a, l]) for l in range(L)] for a in range(A)]
    ns = [[float(np.median(steps[a, l])) if cs[a][l] == "converged" else None
           for l in range(L)] for a in range(A)]
    return cs, ns


@dataclass
class Grid:
    """Results of :func:`run_grid` (module docstring); every field is JSON data."""

    model: str
    alphas: list
    modes: list
    budget: int
    tol: float
    seeds: list
    clip: float | None
    min_slowdown: float = 10.0
    optimisers: dict = field(default_factory=dict)
    # optimisers[name] = {label, method, options, natural, lrs, defended_budget,
    #                     baseline: {status: [L], steps: [L]},
    #                     modes: {mode: {status: [A][L], steps: [A][L]}}}

    def baseline(self, name: str) -> tuple[float | None, float]:
        """Undefended best ``(lr, steps)`` of optimiser ``name`` (``steps = inf`` if none)."""
        b = self.optimisers[name]["baseline"]
        return _best(self.optimisers[name]["lrs"], b["status"], b["steps"])

    def best(self, name: str, mode: str, alpha: float) -> tuple[float | None, float]:
        """The attacker's best ``(lr, steps)`` at ``alpha`` (``steps = inf``: none recovered)."""
        o = self.optimisers[name]
        m = o["modes"][mode]
        a = self.alphas.index(alpha)
        return _best(o["lrs"], m["status"][a], m["steps"][a])

    def slowdown(self, name: str, mode: str, alpha: float) -> tuple[float, bool]:
        """``(best defended steps / best undefended steps, is_lower_bound)``; a lower bound
        ``defended budget/undefended`` when no rate recovered within the defended budget;
        ``nan`` when the undefended release was not recovered (no reference)."""
        _, s0 = self.baseline(name)
        _, s = self.best(name, mode, alpha)
        if not math.isfinite(s0) or s0 <= 0:
            return math.nan, False
        if math.isfinite(s):
            return s / s0, False
        return self.optimisers[name]["defended_budget"] / s0, True

    def cell_slowdown(self, name: str, mode: str, alpha: float, li: int
                      ) -> tuple[str, float | None]:
        """One cell: ``(status, slowdown)``, the slowdown ``steps/s_0`` (converged), the lower
        bound ``defended budget/s_0`` (``budget``) or ``None`` (diverged, or no reference)."""
        _, s0 = self.baseline(name)
        o = self.optimisers[name]
        a = self.alphas.index(alpha)
        st, n = o["modes"][mode]["status"][a][li], o["modes"][mode]["steps"][a][li]
        if not math.isfinite(s0) or st == "diverged":
            return st, None
        return st, (n if st == "converged" else o["defended_budget"]) / s0

    def to_dict(self) -> dict:
        return dict(model=self.model, alphas=self.alphas, modes=self.modes, budget=self.budget,
                    tol=self.tol, seeds=self.seeds, clip=self.clip,
                    min_slowdown=self.min_slowdown, optimisers=self.optimisers)

    @classmethod
    def from_dict(cls, d: dict) -> "Grid":
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in names})


def _best(lrs: list, status: list, steps: list) -> tuple[float | None, float]:
    best_lr, best = None, math.inf
    for lr, st, n in zip(lrs, status, steps):
        if st == "converged" and n is not None and n < best:
            best_lr, best = lr, n
    return best_lr, best


def run_grid(inst: Instance, *, asarray: Callable[[Any], Any], defence: Callable,
             optimisers: Sequence[str], alphas: Sequence[float], modes: Sequence[str],
             budget: int, tol: float, seeds: Sequence[int], min_slowdown: float = 10.0,
             clip: float | None = None, lrs: Sequence[float] | None = None,
             decades: tuple[float, float] = (-3.0, 2.0), per_decade: int = 2,
             adapters: Callable | None = None, progress: Callable | None = None) -> Grid:
    """Run the grid (module docstring).

    The undefended release gets ``budget`` updates; each defended sweep gets
    ``ceil(min_slowdown · s_0)`` (``s_0`` the optimiser's undefended best count, ``budget``
    when none recovered): enough to decide whether a recipe is slowed ``min_slowdown``-fold, so a
    cell that is not recovered within it is slowed at least that much (a lower bound).
    ``lrs`` fixes the learning rates of every optimiser; by default each gets
    :func:`~.instances.default_lrs` around its natural scale.  ``adapters(net, alpha) ->
    Adapted``, when given, replaces each network by an adapted one (LoRA recipes).
    ``progress(name)`` is called before each optimiser.
    """
    from specdef.numerics import sweep_optimiser

    alphas = [float(a) for a in alphas]
    if 1.0 not in alphas:
        alphas = [1.0] + alphas
    grid = Grid(model=inst.model, alphas=alphas, modes=list(modes), budget=int(budget),
                tol=float(tol), seeds=[int(s) for s in seeds], clip=clip,
                min_slowdown=float(min_slowdown))

    def nets(mode: str, al: Sequence[float]) -> tuple[list, list]:
        ms, ths = [], []
        for a in al:
            net = build(inst, asarray, defence, a, mode)
            if adapters is not None:
                ad = adapters(net, a)
                net = ad.model
                ms.append(net)
                ths.append(ad.theta0)
            else:
                ms.append(net)
                ths.append(net.theta0)
        return ms, ths

    def sweep(ms, ths, opt, rates, steps):
        return sweep_optimiser(ms, ths, opt.method, rates, seeds=list(seeds),
                               options=dict(opt.options), max_steps=int(steps), tol=tol,
                               clip=clip)

    for name in optimisers:
        if progress is not None:
            progress(name)
        opt = OPTIMISERS[name]
        nat = natural_scale(inst, opt, asarray)
        rates = np.asarray(lrs, dtype=float) if lrs is not None else default_lrs(
            nat, decades, per_decade)
        entry: dict = dict(label=opt.label, method=opt.method, options=dict(opt.options),
                           natural=nat, lrs=[float(x) for x in rates], modes={})
        r0 = sweep(*nets("frozen", [1.0]), opt, rates, budget)
        cs, ns = _cells(r0.status, r0.steps)
        entry["baseline"] = dict(status=cs[0], steps=ns[0])
        _, s0 = _best(entry["lrs"], cs[0], ns[0])
        cap = int(math.ceil(min_slowdown * s0)) if math.isfinite(s0) else int(budget)
        entry["defended_budget"] = max(cap, 1)
        defended = [a for a in alphas if a != 1.0]
        for mode in modes:
            al = defended if mode == "frozen" else alphas
            r = sweep(*nets(mode, al), opt, rates, entry["defended_budget"])
            cs_m, ns_m = _cells(r.status, r.steps)
            if mode == "frozen":  # α = 1 with C frozen is the undefended release itself
                cs_m, ns_m = [cs[0]] + cs_m, [ns[0]] + ns_m
            entry["modes"][mode] = dict(status=cs_m, steps=ns_m)
        grid.optimisers[name] = entry
    return grid
