"""Run checks (here, in local worker processes or on a Dask cluster), persist each finished one
at once, resume after an interruption."""

from __future__ import annotations

import datetime as _dt
import platform
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .records import Result
from .registry import Check, Context
from .store import RESULTS_NAME, DirectoryLock, ResultsFileError, atomic_write_json, load_results
from .units import WorkerContext, error_result, run_check, run_units, unit_of

__all__ = ["RunReport", "run_checks", "run_meta"]

_META_KEYS = ("backend", "dtype", "seed", "size", "defence")


def _git_commit() -> str | None:
    try:
        here = Path(__file__).resolve().parents[2]
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True,
                             text=True, timeout=5)
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def run_meta(ctx: Context) -> dict:
    """The ``meta`` block: what is needed to rerun and to judge the run."""
    import numpy
    import scipy
    import sympy

    return {"version": ctx.version, "git_commit": _git_commit(), "backend": ctx.backend,
            "dtype": ctx.dtype, "seed": ctx.seed, "size": ctx.size,
            "defence": ctx.defence_name, "platform": platform.platform(),
            "python": sys.version.split()[0], "numpy": numpy.__version__,
            "scipy": scipy.__version__, "sympy": sympy.__version__,
            "start_time": _now(), "end_time": None}


@dataclass
class RunReport:
    meta: dict
    results: list[Result] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)


def run_checks(checks: list[Check], ctx: Context, *, out: str | Path | None = None,
               resume: bool = False, progress: bool = True, jobs: int = 1,
               scheduler: str | None = None,
               defence_loader: Callable[[], Callable[..., Any]] | None = None) -> RunReport:
    """Run ``checks``; with ``out``, write ``out/results.json`` after each finished check.

    With ``resume`` the checks already recorded in ``out/results.json`` are skipped (the file
    must come from a run with the same backend, dtype, seed, size and defence), whichever way
    either run was executed.

    Where the checks run.  By default one after another in this process.  ``jobs = N > 1`` runs
    them in N local worker processes (:mod:`.parallel`), ``scheduler`` (a Dask scheduler's
    address) on a Dask cluster (:mod:`.cluster`).  A check's records depend on the run's context
    and its own identity only, so every way gives the same records, apart from ``elapsed_s``;
    the checks of one module form one unit of work (they may share a per-process memo,
    :mod:`.units`).  Units finish in any order; the results file always lists
    records, and ``completed``, in the order of ``checks``, and is rewritten atomically as each
    unit finishes, so a kill loses only the units in flight.  ``defence_loader`` is how workers
    obtain a user defence (see :class:`.units.WorkerContext`).
    """
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"run_checks: jobs must be an integer >= 1, got {jobs!r}")
    meta = run_meta(ctx)
    meta["workers"] = (f"dask scheduler {scheduler}" if scheduler else
                       f"{jobs} local processes" if jobs > 1 else "this process")
    report = RunReport(meta=meta)
    done: dict[str, list[dict]] = {}
    lock = None
    path = None
    if out is not None:
        path = Path(out) / RESULTS_NAME
        lock = DirectoryLock(out).acquire()
    try:
        if resume and path is not None and path.exists():
            doc = load_results(path)
            for key in _META_KEYS:
                if doc["meta"].get(key) != meta.get(key):
                    raise ResultsFileError(
                        f"resume: {path} was made with {key}={doc['meta'].get(key)!r}, this run "
                        f"has {key}={meta.get(key)!r}")
            meta["start_time"] = doc["meta"].get("start_time", meta["start_time"])
            completed = set(doc.get("completed", []))
            for rec in doc["results"]:
                if rec["check"] in completed:
                    done.setdefault(rec["check"], []).append(rec)
        kept = {c.id: [Result.from_dict(r) for r in done[c.id]] for c in checks if c.id in done}
        extra = [r for cid, recs in done.items() if cid not in kept for r in recs]
        extra_ids = list(dict.fromkeys(r["check"] for r in extra))

        def persist(final: bool = False) -> None:
            if path is None:
                return
            if final:
                meta["end_time"] = _now()
            ordered = [c.id for c in checks if c.id in kept]
            results = [r.to_dict() for cid in ordered for r in kept[cid]]
            atomic_write_json(path, {"meta": meta, "completed": ordered + extra_ids,
                                     "results": results + extra})

        todo = [c for c in checks if c.id not in kept]
        report.skipped = [c.id for c in checks if c.id in kept]
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc="specdef check", unit="check", file=sys.stderr,
                   delay=2.0, disable=not progress, leave=False)

        groups: dict[str, list[Check]] = {}  # the checks of one module: one unit
        for c in todo:
            groups.setdefault(getattr(c.fn, "__module__", None) or c.id, []).append(c)

        def finished(key: str, records: dict[str, list[dict]] | None,
                     failure: str | None) -> None:
            for c in groups[key]:
                kept[c.id] = ([Result.from_dict(r) for r in records[c.id]] if failure is None
                              else [error_result(c, ctx, failure)])
            persist()
            bar.set_postfix_str(key, refresh=False)
            bar.update(len(groups[key]))

        if todo and (scheduler or jobs > 1):
            wctx = WorkerContext.of(ctx, defence_loader)
            tasks = [(key, ([unit_of(c) for c in cs], wctx)) for key, cs in groups.items()]
            if scheduler:
                from .cluster import run_on_cluster

                run_on_cluster(run_units, tasks, scheduler, finished)
            else:
                from .parallel import run_in_processes

                run_in_processes(run_units, tasks, jobs, finished)
        else:
            for c in todo:
                bar.set_postfix_str(c.id, refresh=False)
                kept[c.id] = run_check(c, ctx)
                persist()
                bar.update()
        bar.close()
        persist(final=True)
        report.results = [r for c in checks for r in kept.get(c.id, [])]
        return report
    finally:
        if lock is not None:
            lock.release()
