"""Run checks, persist each finished one at once, resume after an interruption."""

from __future__ import annotations

import datetime as _dt
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .records import Result, Status
from .registry import Check, Context
from .store import RESULTS_NAME, DirectoryLock, ResultsFileError, atomic_write_json, load_results

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


def _run_one(c: Check, ctx: Context) -> list[Result]:
    t0 = time.perf_counter()
    try:
        out = c.fn(ctx)
        res = list(out) if isinstance(out, (list, tuple)) else [out]
        if not res:
            raise RuntimeError("the check returned no result")
    except Exception as exc:  # a check that crashes is reported, never hidden
        msg = str(exc).splitlines()[0] if str(exc) else ""
        res = [Result(check=c.id, theorem=c.theorem, params={}, empirical=None, proven=None,
                      rtol=0.0, status=Status.ERROR, backend=ctx.backend, dtype=ctx.dtype,
                      seed=ctx.seed, version=ctx.version,
                      detail=f"{type(exc).__name__}: {msg}")]
    dt = time.perf_counter() - t0
    for r in res:
        r.elapsed_s = dt / len(res)
    return res


def run_checks(checks: list[Check], ctx: Context, *, out: str | Path | None = None,
               resume: bool = False, progress: bool = True) -> RunReport:
    """Run ``checks`` in order; with ``out``, write ``out/results.json`` after each check.

    With ``resume`` the checks already recorded in ``out/results.json`` are skipped (the file
    must come from a run with the same backend, dtype, seed, size and defence).
    """
    meta = run_meta(ctx)
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
        completed_ids = list(kept)

        def persist(final: bool = False) -> None:
            if path is None:
                return
            if final:
                meta["end_time"] = _now()
            results = [r.to_dict() for c in checks if c.id in kept for r in kept[c.id]]
            atomic_write_json(path, {"meta": meta, "completed": completed_ids + [
                r["check"] for r in extra if r["check"] not in completed_ids],
                "results": results + extra})

        todo = [c for c in checks if c.id not in kept]
        report.skipped = [c.id for c in checks if c.id in kept]
        from tqdm import tqdm

        bar = tqdm(todo, desc="specdef check", unit="check", file=sys.stderr, delay=2.0,
                   disable=not progress, leave=False)
        for c in bar:
            bar.set_postfix_str(c.id, refresh=False)
            kept[c.id] = _run_one(c, ctx)
            completed_ids.append(c.id)
            persist()
        bar.close()
        persist(final=True)
        report.results = [r for c in checks for r in kept.get(c.id, [])]
        return report
    finally:
        if lock is not None:
            lock.release()
