"""Run units in N local worker processes (``-j N``), surviving the death of a worker.

:func:`run_in_processes` hands units to a :class:`concurrent.futures.ProcessPoolExecutor` of
``jobs`` workers (forked from a clean ``forkserver`` process, never from the driver with its
threads and BLAS state; spawned where there is no forkserver), each pinned to one BLAS thread
(:func:`.units.pin_blas`).  At most ``jobs`` units are in flight, so the units a dead worker
takes down are exactly those that were running.

Faults.  A worker killed mid-task (``SIGKILL``, the out-of-memory killer) breaks the whole pool
(:class:`~concurrent.futures.process.BrokenProcessPool`): every unit that had finished is kept,
the ones in flight are resubmitted to a new pool, and a unit in flight at ``max_attempts`` deaths
is recorded as ``ERROR`` ("the worker process died ...") so that a unit that kills its worker
cannot stall the run.  A unit that raises is already an ``ERROR`` record (:func:`.units.run_unit`).

Workers exit by themselves within a second when the driver dies (a watchdog thread polls it), and
the forkserver with them, so a ``kill -9`` of the driver leaves no orphan processes behind.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Callable

from .units import WorkerContext, pin_blas, run_unit

__all__ = ["run_in_processes"]

Unit = tuple[str, str, str]
Done = Callable[[Unit, "list[dict] | None", str], None]


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except (OSError, IndexError):
        return True  # no /proc: os.kill is all we know


def _watch_driver(driver: int) -> None:
    while True:
        time.sleep(0.5)
        if not _alive(driver):
            os._exit(1)


def _init_worker(driver: int) -> None:
    # Watch the driver itself: a forkserver's children hold its "alive" pipe open, so the
    # forkserver outlives a killed driver for as long as they do.
    threading.Thread(target=_watch_driver, args=(driver,), daemon=True,
                     name="specdef-driver-watch").start()
    pin_blas()


def _mp_context() -> multiprocessing.context.BaseContext:
    """``forkserver`` where there is one: each worker is forked from a clean server process that
    has imported the engine and SciPy once (a pool rebuilt after a worker's death starts in
    milliseconds); ``spawn`` elsewhere.  Neither forks the driver's threads."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        mp = multiprocessing.get_context("forkserver")
        mp.set_forkserver_preload(["specdef.validation.engine.units", "scipy.linalg",
                                   "scipy.sparse.linalg"])
        return mp
    return multiprocessing.get_context("spawn")


def _terminate(pool: ProcessPoolExecutor) -> None:
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        if proc.is_alive():
            proc.terminate()
    pool.shutdown(wait=False, cancel_futures=True)


def run_in_processes(units: list[Unit], wctx: WorkerContext, jobs: int, on_done: Done, *,
                     max_attempts: int = 3) -> None:
    """Run ``units`` in ``jobs`` worker processes; call ``on_done(unit, records, where)`` in the
    driver as each finishes (``records`` is ``None`` with ``where`` the reason when the unit could
    not be run: its worker died ``max_attempts`` times, or it could not be sent).

    Parameters
    ----------
    units : list of tuple
        From :func:`.units.unit_of`, in the order to submit them.
    wctx : WorkerContext
        The run's context, as workers rebuild it.
    jobs : int
        Worker processes (>= 1).
    on_done : callable
        Called in the driver, in completion order, once per unit.
    max_attempts : int
        How many worker deaths a unit in flight may see before it is recorded as ``ERROR``.
    """
    if jobs < 1:
        raise ValueError(f"run_in_processes: jobs must be >= 1, got {jobs!r}")
    pending = deque(units)
    deaths: dict[Unit, int] = {}
    mp = _mp_context()
    while pending:
        pool = ProcessPoolExecutor(max_workers=min(jobs, len(pending)), mp_context=mp,
                                   initializer=_init_worker, initargs=(os.getpid(),))
        inflight: dict[Future, Unit] = {}
        broken = False
        try:
            while (pending or inflight) and not broken:
                while pending and len(inflight) < jobs:
                    unit = pending.popleft()
                    try:
                        inflight[pool.submit(run_unit, unit, wctx)] = unit
                    except BrokenProcessPool:
                        pending.appendleft(unit)
                        broken = True
                        break
                if not inflight:
                    break
                done, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
                for fut in done:
                    if isinstance(fut.exception(), BrokenProcessPool):
                        broken = True
                        continue
                    unit = inflight.pop(fut)
                    if fut.exception() is not None:  # the unit or its result did not pickle
                        exc = fut.exception()
                        on_done(unit, None, f"{type(exc).__name__}: {exc}")
                    else:
                        records, where = fut.result()
                        on_done(unit, records, f"{where['host']}:{where['pid']}")
            if broken:  # keep what finished, resubmit what was running
                retry = []
                for fut, unit in list(inflight.items()):
                    if fut.done() and not fut.cancelled() and fut.exception() is None:
                        records, where = fut.result()
                        on_done(unit, records, f"{where['host']}:{where['pid']}")
                        continue
                    deaths[unit] = deaths.get(unit, 0) + 1
                    if deaths[unit] >= max_attempts:
                        on_done(unit, None, f"the worker process died while running it "
                                            f"({deaths[unit]} times); not retried")
                    else:
                        retry.append(unit)
                pending.extendleft(reversed(retry))
        except BaseException:
            _terminate(pool)
            raise
        pool.shutdown(wait=True, cancel_futures=True)
