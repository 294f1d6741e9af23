"""The unit of work: the checks of one module under one run's context, giving their records.

Checks of one module run together, in one worker, because they may share a per-process memo (the
attacker's grid of family c4 is computed once for its three checks, the precision window once for
two): split over workers, each worker would recompute it.  Each check still gets its own context
and its own records.

A unit runs the same way in the driver (``-j 1``), in a local worker process (``-j N``,
:mod:`.parallel`) or on a Dask worker (``--scheduler``, :mod:`.cluster`), and gives the same
records in all three, apart from ``elapsed_s``:

* the check is a pure function of its :class:`~.registry.Context`; a worker rebuilds that context
  from :class:`WorkerContext` (backend, dtype, seed, size, planted perturbations, defence,
  version), one fresh context per unit;
* every random draw comes from ``ctx.rng(salt)``, seeded by ``(run seed, crc32(salt))`` where the
  salt names the draw inside its check: a unit's randomness depends on the run's seed and the
  unit's identity, never on which process runs it, when, or after which other unit;
* a check that raises is recorded as one ``ERROR`` record carrying the exception's first line, so
  one bad unit never stops the others.

The defence.  A worker cannot receive the user's function by pickling when it lives in a file
(``--defence path/to/file.py:fn``), so a run with a user defence names a *defence loader*: a
picklable callable without arguments that returns the defence in the worker (the CLI passes one
that re-loads it from its ``--defence`` spec).  Loaded defences are cached per process.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from .records import Result, Status
from .registry import Check, Context

__all__ = ["WorkerContext", "run_check", "run_unit", "run_units", "unit_of", "error_result"]


def error_result(c: Check, ctx: Context | "WorkerContext", detail: str) -> Result:
    """One ``ERROR`` record for check ``c``: it could not run, ``detail`` says why."""
    return Result(check=c.id, theorem=c.theorem, params={}, empirical=None, proven=None,
                  rtol=0.0, status=Status.ERROR, backend=ctx.backend, dtype=ctx.dtype,
                  seed=ctx.seed, version=ctx.version, detail=detail)


def _one_line(exc: BaseException) -> str:
    msg = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {msg}"


def run_check(c: Check, ctx: Context) -> list[Result]:
    """Run one check in this process; an exception becomes one ``ERROR`` record."""
    t0 = time.perf_counter()
    try:
        out = c.fn(ctx)
        res = list(out) if isinstance(out, (list, tuple)) else [out]
        if not res:
            raise RuntimeError("the check returned no result")
    except Exception as exc:  # a check that crashes is reported, never hidden
        res = [error_result(c, ctx, _one_line(exc))]
    dt = time.perf_counter() - t0
    for r in res:
        r.elapsed_s = dt / len(res)
    return res


@dataclass(frozen=True)
class WorkerContext:
    """What a worker needs to rebuild a run's :class:`~.registry.Context`; picklable.

    ``defence`` is ``None`` (SpecDef), or a picklable callable without arguments that returns the
    defence in the worker (a loader), or — for programmatic runs without a loader — the defence
    itself, which must then pickle (a function importable by its module and name).
    """

    backend: str
    dtype: str
    seed: int
    size: str
    perturb: dict = field(default_factory=dict)
    defence_name: str = "specdef"
    version: str = ""
    defence: Callable[..., Any] | None = None
    defence_is_loader: bool = False

    @classmethod
    def of(cls, ctx: Context,
           defence_loader: Callable[[], Callable[..., Any]] | None = None) -> "WorkerContext":
        """The worker-side description of ``ctx``.

        Raises
        ------
        ValueError
            If ``ctx`` has a user defence, no ``defence_loader`` is given and the defence does
            not pickle by reference (a lambda, a closure, a function defined in a file loaded by
            path).
        """
        if defence_loader is not None:
            defence, is_loader = defence_loader, True
        elif ctx.defence_name == "specdef":
            defence, is_loader = None, False
        else:
            import pickle

            try:
                pickle.dumps(ctx.defence)
            except Exception as exc:
                raise ValueError(f"run_checks: workers cannot receive the defence "
                                 f"{ctx.defence_name!r} ({_one_line(exc)}); pass defence_loader "
                                 f"or a module-level function") from None
            defence, is_loader = ctx.defence, False
        return cls(backend=ctx.backend, dtype=ctx.dtype, seed=int(ctx.seed), size=ctx.size,
                   perturb=dict(ctx.perturb), defence_name=ctx.defence_name,
                   version=ctx.version, defence=defence, defence_is_loader=is_loader)

    def context(self) -> Context:
        """A fresh :class:`~.registry.Context` for one unit (the defence loaded once per
        process)."""
        kw: dict[str, Any] = dict(backend=self.backend, dtype=self.dtype, seed=self.seed,
                                  size=self.size, perturb=dict(self.perturb),
                                  defence_name=self.defence_name, version=self.version)
        if self.defence is not None:
            kw["defence"] = _loaded(self) if self.defence_is_loader else self.defence
        return Context(**kw)


_DEFENCES: dict[str, Callable[..., Any]] = {}
_DEFENCES_LOCK = threading.Lock()


def _loaded(wctx: WorkerContext) -> Callable[..., Any]:
    key = f"{wctx.defence_name}\0{wctx.defence!r}"
    with _DEFENCES_LOCK:
        if key not in _DEFENCES:
            _DEFENCES[key] = wctx.defence()
        return _DEFENCES[key]


def unit_of(c: Check) -> tuple[str, str, str]:
    """What a worker is sent for check ``c``: its id, theorem and defining module (the worker
    finds the check in its own registry by id, importing that module if need be)."""
    return (c.id, c.theorem, getattr(c.fn, "__module__", "") or "")


def _resolve(unit: tuple[str, str, str]) -> Check:
    """The check of ``unit`` in this process's registry: its module is imported first (a family
    module imports its whole family, nothing else), the other families only if that fails."""
    import importlib

    from . import registry

    cid, _, module = unit
    known = registry._REGISTRY
    if cid not in known and module and module not in ("__main__", "__mp_main__"):
        importlib.import_module(module)
    if cid not in known:
        registry.registered()  # discovers every family
    if cid not in known:
        raise LookupError(f"check {cid!r} is not registered in this worker "
                          f"(module {module!r} is not importable here)")
    return known[cid]


def run_unit(unit: tuple[str, str, str], wctx: WorkerContext) -> list[dict]:
    """The worker entry point: run the check ``unit`` (from :func:`unit_of`) under ``wctx``.

    Returns the records as dicts (plain data crosses process boundaries).  Never raises for a
    failure of the check or of setting it up (the check not found, the defence not loading):
    those become one ``ERROR`` record.
    """
    try:
        c = _resolve(unit)
        ctx = wctx.context()
    except Exception as exc:
        stub = Check(id=unit[0], theorem=unit[1], fn=_missing, description="", claim="")
        return [error_result(stub, wctx, f"cannot set up the check on {socket.gethostname()} "
                                         f"(pid {os.getpid()}): {_one_line(exc)}").to_dict()]
    return [r.to_dict() for r in run_check(c, ctx)]


def run_units(units: list[tuple[str, str, str]], wctx: WorkerContext) -> dict[str, list[dict]]:
    """Several checks in one worker, one after another (checks of one module, which may share a
    per-process memo such as family c4's attacker grid): ``{check id: records}``."""
    return {unit[0]: run_unit(unit, wctx) for unit in units}


def _missing(ctx: Context) -> list[Result]:  # pragma: no cover - never called
    raise LookupError("check not found")
