"""The paper's certification process: sweep the attacker's recipes, certify the defence or not.

A *recipe* is an optimiser (with its C mode: frozen or trained), or LoRA of rank r (AdamW,
adapters only; on the defended layer's W̃ and C, against LoRA on the undefended W), at one
learning rate; the grid sweeps every recipe over the rates (five decades around its natural
scale, or ``--lrs``), the α of the defence and the seeds, batched (:func:`.grid.run_grid`).
A LoRA recipe of rank r is measured on the instance whose harmful update has rank r, so that it
can be recovered at all.

Every configuration gets a record (:func:`cell_records`): the cell's status over the seeds
(``converged`` / ``diverged`` / ``budget``), its median count and its *slowdown*, the count
over the undefended best count of the same recipe (``budget``: the lower bound ``defended
budget / undefended``, the defended budget being ``min_slowdown`` times the undefended best).
A recipe *breaks* the defence when some cell converges with a slowdown below ``min_slowdown``.

The certificate (:func:`build_certificate`): for each recipe, mode and α, the attacker's best
rate and its steps relative to undefended ("not within budget" when none recovered; "diverged"
when every rate diverged); the worst case over the grid; the recipes that break the defence;
and the heat map (recipe × rate at the largest α where some recipe breaks the defence, else
the largest α) and the steps-vs-α data Figure 9 draws.  It
*holds* when nothing breaks.  :func:`certify` runs it, writes ``DIR/certificate.json``
atomically after each recipe and resumes from it.
"""

from __future__ import annotations

import math
import time
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..engine.records import jsonable
from ..engine.store import DirectoryLock, atomic_write_json
from .grid import Grid, run_grid
from .instances import MODELS, MODES, OPTIMISERS, adapted, make_instance

__all__ = ["CertifyConfig", "certify", "build_certificate", "cell_records", "recipe_names",
           "CERTIFICATE_NAME", "CertificateFileError", "certificate_of_grid"]

CERTIFICATE_NAME = "certificate.json"


class CertificateFileError(ValueError):
    """``--resume`` with a certificate made with other options, or an unreadable one."""


@dataclass
class CertifyConfig:
    """The options of a certification run (``specdef certify``)."""

    model: str = "layer"
    alphas: list = field(default_factory=lambda: [1e4])
    k: int | None = None
    optimisers: list = field(default_factory=lambda: list(OPTIMISERS))
    lrs: list | None = None
    decades: tuple = (-3.0, 2.0)
    per_decade: int = 2
    clip: float | None = None
    lora_ranks: list = field(default_factory=list)
    budget: int = 400
    seeds: list = field(default_factory=lambda: [0])
    modes: tuple = MODES
    min_slowdown: float = 10.0
    tol: float = 1e-2
    size: str = "small"

    def __post_init__(self) -> None:
        func = "certify"
        if self.model not in MODELS:
            raise ValueError(f"{func}: model must be one of {', '.join(MODELS)}, got "
                             f"{self.model!r}")
        bad = [o for o in self.optimisers if o not in OPTIMISERS]
        if bad or not self.optimisers:
            raise ValueError(f"{func}: optimisers must be among {', '.join(OPTIMISERS)}, got "
                             f"{', '.join(map(str, bad)) or 'none'}")
        if not self.alphas or any(not (math.isfinite(a) and a > 1) for a in self.alphas):
            raise ValueError(f"{func}: alpha must be finite numbers > 1, got {self.alphas}")
        if self.lrs is not None and (not self.lrs or any(
                not (math.isfinite(x) and x > 0) for x in self.lrs)):
            raise ValueError(f"{func}: lrs must be finite numbers > 0, got {self.lrs}")
        if self.budget < 1:
            raise ValueError(f"{func}: budget must be an integer >= 1, got {self.budget}")
        if not self.seeds or any(s < 0 for s in self.seeds):
            raise ValueError(f"{func}: seeds must be integers >= 0, got {self.seeds}")
        if not (math.isfinite(self.min_slowdown) and self.min_slowdown > 1):
            raise ValueError(f"{func}: min_slowdown must be a finite number > 1, got "
                             f"{self.min_slowdown}")
        if self.clip is not None and not (math.isfinite(self.clip) and self.clip > 0):
            raise ValueError(f"{func}: clip must be a finite number > 0, got {self.clip}")
        if any(r < 1 for r in self.lora_ranks):
            raise ValueError(f"{func}: lora ranks must be integers >= 1, got {self.lora_ranks}")
        self.alphas = sorted(float(a) for a in self.alphas)

    def to_dict(self) -> dict:
        return jsonable(asdict(self))


def recipe_names(config: CertifyConfig) -> list[str]:
    """The recipes of a run, in order: the optimisers, then ``lora<r>`` per rank."""
    return list(config.optimisers) + [f"lora{r}" for r in config.lora_ranks]


def _rng(seed: int, salt: str) -> np.random.Generator:
    """The generator of family C4's instance with this salt (the same models as the checks)."""
    return np.random.default_rng([seed, zlib.crc32(salt.encode())])


def _run_recipe(name: str, config: CertifyConfig, defence: Callable, rng_seed: int) -> Grid:
    asarray = np.asarray
    if name.startswith("lora"):
        from specdef.numerics import lora

        r = int(name[4:])
        inst = make_instance(config.model, _rng(rng_seed, f"c4.{config.model}.rank{r}"),
                             size=config.size, rank=r, k=config.k)
        m = min(inst.W.shape)
        if r > m:
            raise ValueError(f"certify: lora rank must be <= {m} for this model, got {r}")
        wb, cb = inst.blocks

        def adapters(net: Any, alpha: float):
            return adapted(lora(net, [wb] if alpha == 1.0 else [wb, cb], r, rng=rng_seed), net)

        return run_grid(inst, asarray=asarray, defence=defence, optimisers=["adamw"],
                        alphas=config.alphas, modes=("frozen",), budget=config.budget,
                        tol=config.tol, seeds=config.seeds, min_slowdown=config.min_slowdown,
                        clip=config.clip, lrs=config.lrs, decades=tuple(config.decades),
                        per_decade=config.per_decade, adapters=adapters)
    inst = make_instance(config.model, _rng(rng_seed, f"c4.{config.model}"), size=config.size,
                         k=config.k)
    return run_grid(inst, asarray=asarray, defence=defence, optimisers=[name],
                    alphas=config.alphas, modes=tuple(config.modes), budget=config.budget,
                    tol=config.tol, seeds=config.seeds, min_slowdown=config.min_slowdown,
                    clip=config.clip, lrs=config.lrs, decades=tuple(config.decades),
                    per_decade=config.per_decade)


def _label(recipe: str, grid: Grid) -> str:
    if recipe.startswith("lora"):
        return f"LoRA r={recipe[4:]} (AdamW)"
    return OPTIMISERS[recipe].label


def cell_records(recipe: str, grid: Grid, min_slowdown: float) -> list[dict]:
    """One record per (mode, α > 1, rate) configuration of a recipe (module docstring)."""
    opt = next(iter(grid.optimisers))
    o = grid.optimisers[opt]
    lr0, s0 = grid.baseline(opt)
    out = []
    for mode in grid.modes:
        for alpha in grid.alphas:
            if alpha == 1.0:
                continue
            for li, lr in enumerate(o["lrs"]):
                st, slow = grid.cell_slowdown(opt, mode, alpha, li)
                steps = o["modes"][mode]["steps"][grid.alphas.index(alpha)][li]
                out.append(dict(
                    recipe=recipe, optimiser=opt, mode=mode, alpha=alpha, lr=lr, status=st,
                    steps=steps, slowdown=slow, lower_bound=st == "budget",
                    steps_undefended=s0 if math.isfinite(s0) else None,
                    breaks=bool(st == "converged" and slow is not None and slow < min_slowdown)))
    return out


def _verdict(grid: Grid, opt: str, mode: str, alpha: float, min_slowdown: float) -> dict:
    lr, s = grid.best(opt, mode, alpha)
    slow, lower = grid.slowdown(opt, mode, alpha)
    st = grid.optimisers[opt]["modes"][mode]["status"][grid.alphas.index(alpha)]
    if math.isfinite(s):
        verdict = "breaks" if slow < min_slowdown else "slowed"
    elif all(x == "diverged" for x in st):
        verdict = "diverged"
    else:
        verdict = "not within budget"
    return dict(best_lr=lr, best_steps=s if math.isfinite(s) else None,
                slowdown=None if slow != slow else slow, lower_bound=bool(lower),
                verdict=verdict, diverged=sum(x == "diverged" for x in st), n_lrs=len(st))


def build_certificate(grids: dict[str, Grid], *, defence: str, config: CertifyConfig,
                      elapsed_s: float = 0.0) -> dict:
    """The certificate of finished recipe grids (module docstring)."""
    c = config.min_slowdown
    recipes, records, broken, no_ref = {}, [], [], []
    # the heat map's α: the largest at which some recipe breaks the defence (where it
    # breaks is what a defender needs to see), else the largest of the run
    breaking = [a for name, grid in grids.items() for a in grid.alphas if a != 1.0 and any(
        r["breaks"] for r in cell_records(name, grid, c) if r["alpha"] == a)]
    heat = dict(alpha=max(breaking) if breaking else max(config.alphas), rows=[], lrs=[],
                log10_slowdown=[], status=[], best=[], min_slowdown=c,
                largest_alpha=max(config.alphas))
    curves = dict(alpha=list(config.alphas), series=[])
    for name, grid in grids.items():
        opt = next(iter(grid.optimisers))
        o = grid.optimisers[opt]
        lr0, s0 = grid.baseline(opt)
        entry = dict(label=_label(name, grid), optimiser=opt, lrs=o["lrs"],
                     undefended=dict(best_lr=lr0, best_steps=s0 if math.isfinite(s0) else None),
                     defended_budget=o["defended_budget"], modes={})
        recs = cell_records(name, grid, c)
        records += recs
        if not math.isfinite(s0):
            no_ref.append(name)
        for mode in grid.modes:
            entry["modes"][mode] = {f"{a:g}": _verdict(grid, opt, mode, a, c)
                                    for a in grid.alphas if a != 1.0}
            row = [r for r in recs if r["mode"] == mode and r["alpha"] == heat["alpha"]]
            heat["rows"].append(f"{entry['label']}, C {mode}" if not name.startswith("lora")
                                else entry["label"])
            heat["lrs"].append([r["lr"] for r in row])
            heat["log10_slowdown"].append([None if r["slowdown"] is None or r["slowdown"] <= 0
                                           else math.log10(r["slowdown"]) for r in row])
            heat["status"].append([r["status"] for r in row])
            bl, _ = grid.best(opt, mode, heat["alpha"])
            heat["best"].append(None if bl is None else o["lrs"].index(bl))
            curves["series"].append(dict(
                label=heat["rows"][-1], recipe=name, mode=mode, undefended=entry["undefended"],
                steps=[grid.best(opt, mode, a)[1] if math.isfinite(grid.best(opt, mode, a)[1])
                       else None for a in config.alphas],
                lower_bound=[not math.isfinite(grid.best(opt, mode, a)[1])
                             for a in config.alphas],
                defended_budget=o["defended_budget"]))
        recipes[name] = entry
    broken = [r for r in records if r["breaks"]]
    resolved = [r for r in records if r["slowdown"] is not None]
    worst = min(resolved, key=lambda r: (r["slowdown"], not r["lower_bound"]), default=None)
    gd = grids.get("sgd")
    ref = None
    if gd is not None and math.isfinite(gd.baseline("sgd")[1]):
        ref = dict(label="GD α² (from SGD's undefended count)",
                   steps=[gd.baseline("sgd")[1] * a * a for a in config.alphas])
    curves["gd_reference"] = ref
    return jsonable(dict(
        defence=defence, model=config.model, config=config.to_dict(),
        holds=not broken, min_slowdown=c, recipes=recipes,
        broken=[dict(recipe=r["recipe"], mode=r["mode"], alpha=r["alpha"], lr=r["lr"],
                     steps=r["steps"], slowdown=r["slowdown"]) for r in broken],
        worst_case=worst, no_reference=no_ref, records=records, heatmap=heat, curves=curves,
        elapsed_s=elapsed_s))


def certificate_of_grid(grid: Grid, defence: str, *, size: str = "small") -> dict:
    """The certificate of a multi-optimiser grid (the checks' :func:`.runs.attacker_grid`),
    without the per-configuration records (kept short for a results file)."""
    per = {}
    for name, entry in grid.optimisers.items():
        g = Grid.from_dict(dict(grid.to_dict(), optimisers={name: entry}))
        per[name] = g
    config = CertifyConfig(model=grid.model, alphas=[a for a in grid.alphas if a != 1.0],
                           optimisers=list(grid.optimisers), budget=grid.budget,
                           seeds=list(grid.seeds), modes=tuple(grid.modes),
                           min_slowdown=grid.min_slowdown, tol=grid.tol, size=size)
    cert = build_certificate(per, defence=defence, config=config)
    cert["n_records"] = len(cert.pop("records"))
    cert["broken"] = cert["broken"][:20]
    return cert


def _recipe_in_worker(name: str, config: CertifyConfig, defence: Callable, is_loader: bool,
                      rng_seed: int) -> Grid:
    """One recipe in a worker process; ``defence`` is the defence or, with ``is_loader``, a
    callable without arguments that returns it there."""
    return _run_recipe(name, config, defence() if is_loader else defence, rng_seed)


def certify(config: CertifyConfig, defence: Callable, defence_name: str, *,
            out: str | Path | None = None, resume: bool = False,
            progress: Callable[[str], None] | None = None, jobs: int = 1,
            scheduler: str | None = None,
            defence_loader: Callable[[], Callable] | None = None) -> dict:
    """Run every recipe of ``config`` against ``defence`` and return the certificate.

    With ``out``, ``out/certificate.json`` is written atomically after each recipe (the
    partial grids under ``grids``, the finished recipes under ``completed``); with ``resume``
    the finished recipes of a file made with the same options and defence are kept, not rerun.

    Each recipe is one unit of work, its instance seeded by the run's seed and its name only:
    ``jobs = N > 1`` runs the recipes in N local worker processes, ``scheduler`` (a Dask
    scheduler's address) on a Dask cluster, and both give the serial certificate (recipes in
    their order whatever order they finish in; ``elapsed_s`` aside).  Workers obtain a user
    defence from ``defence_loader`` (see :func:`specdef.validation.engine.runner.run_checks`);
    without one, ``defence`` itself must pickle.  A recipe that fails in a worker raises
    :class:`ValueError` after the others finish (the finished ones are saved).

    Raises
    ------
    CertificateFileError
        ``resume`` with a file made with other options or another defence, or unreadable.
    """
    import json

    t0 = time.perf_counter()
    path = None if out is None else Path(out) / CERTIFICATE_NAME
    grids: dict[str, Grid] = {}
    spent = 0.0
    lock = DirectoryLock(out).acquire() if out is not None else None
    try:
        if resume and path is not None and path.exists():
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise CertificateFileError(f"certify: --resume: {path} cannot be read "
                                           f"({exc})") from None
            if doc.get("config") != config.to_dict() or doc.get("defence") != defence_name:
                raise CertificateFileError(
                    f"certify: --resume: {path} was made with other options or another "
                    f"defence ({doc.get('defence')!r}); rerun without --resume or with the "
                    f"same options")
            for name in doc.get("completed", []):
                if name in doc.get("grids", {}):
                    grids[name] = Grid.from_dict(doc["grids"][name])
            spent = float(doc.get("elapsed_s", 0.0))

        def persist() -> dict:
            ordered = {n: grids[n] for n in recipe_names(config) if n in grids}
            cert = build_certificate(ordered, defence=defence_name, config=config,
                                     elapsed_s=spent + time.perf_counter() - t0)
            cert["completed"] = list(ordered)
            cert["grids"] = {k: g.to_dict() for k, g in ordered.items()}
            if path is not None:
                atomic_write_json(path, jsonable(cert))
            return cert

        cert = None
        todo = [name for name in recipe_names(config) if name not in grids]
        if todo and (scheduler or jobs > 1):
            failed: dict[str, str] = {}
            worker_defence, is_loader = (defence_loader, True) if defence_loader else (
                defence, False)
            tasks = [(name, (name, config, worker_defence, is_loader, int(config.seeds[0])))
                     for name in todo]

            def finished(name: str, grid: Grid | None, failure: str | None) -> None:
                nonlocal cert
                if failure is not None:
                    failed[name] = failure
                    return
                grids[name] = grid
                cert = persist()
                if progress is not None:
                    progress(name)

            if scheduler:
                from ..engine.cluster import run_on_cluster

                run_on_cluster(_recipe_in_worker, tasks, scheduler, finished)
            else:
                from ..engine.parallel import run_in_processes

                run_in_processes(_recipe_in_worker, tasks, jobs, finished)
            if failed:
                raise ValueError("certify: " + "; ".join(f"recipe {n} failed: {why}"
                                                           for n, why in failed.items()))
            todo = []
        for name in todo:
            if progress is not None:
                progress(name)
            grids[name] = _run_recipe(name, config, defence, int(config.seeds[0]))
            cert = persist()
        return cert if cert is not None else persist()
    finally:
        if lock is not None:
            lock.release()
