"""Run units of work in N local worker processes (``-j N``), surviving the death of a worker.

A unit is ``fn(*args)`` under a key (a check id, a certify recipe); the driver gets each result
through a callback as it arrives, and writes it.  :func:`run_in_processes` hands units to a :class:`concurrent.futures.ProcessPoolExecutor` of
``jobs`` workers (forked from a clean ``forkserver`` process, never from the driver with its
threads and BLAS state; spawned where there is no forkserver), each pinned to one BLAS thread
(:func:`.units.pin_blas`).  At most ``jobs`` units are in flight, so the units a dead worker
takes down are exactly those that were running.

Faults.  A worker killed mid-task (``SIGKILL``, the out-of-memory killer) breaks the whole pool
(:class:`~concurrent.futures.process.BrokenProcessPool`): every unit that had finished is kept,
the ones in flight are resubmitted to a new pool, and a unit in flight at ``max_attempts`` deaths
is given up ("the worker process died ...": a check records it as ``ERROR``) so that a unit that
kills its worker cannot stall the run.  An exception raised by ``fn`` is handed to the callback
as the unit's failure; the other units go on.

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
from typing import Any, Callable, Hashable

__all__ = ["run_in_processes", "pin_blas"]

Task = tuple[Hashable, tuple]
Done = Callable[[Hashable, Any, "str | None"], None]

_PINNED = False


def pin_blas() -> None:
    """One BLAS/OpenMP thread in this process, so N workers use N cores, not N × cores.

    Sets the usual environment variables (read by libraries loaded later), loads SciPy's linear
    algebra (its own OpenBLAS in wheels) and limits every loaded thread pool with threadpoolctl;
    later calls re-apply the limit (a unit may have loaded another BLAS since).
    """
    global _PINNED
    if not _PINNED:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
            os.environ[var] = "1"
        import scipy.linalg  # noqa: F401  (load the BLAS that the checks will call)
        import scipy.sparse.linalg  # noqa: F401
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
    _PINNED = True


def pinned_call(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` with one BLAS thread in this process (what a Dask task runs)."""
    pin_blas()
    return fn(*args)


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
        mp.set_forkserver_preload(["specdef.validation.engine", "scipy.linalg",
                                   "scipy.sparse.linalg"])
        return mp
    return multiprocessing.get_context("spawn")


def _terminate(pool: ProcessPoolExecutor) -> None:
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        if proc.is_alive():
            proc.terminate()
    pool.shutdown(wait=False, cancel_futures=True)


def run_in_processes(fn: Callable[..., Any], tasks: list[Task], jobs: int, on_done: Done, *,
                     max_attempts: int = 3) -> None:
    """Run ``fn(*args)`` for every ``(key, args)`` of ``tasks`` in ``jobs`` worker processes;
    call ``on_done(key, result, None)`` in the driver as each finishes, or
    ``on_done(key, None, reason)`` when it failed (``fn`` raised, its arguments or result did
    not pickle, or its worker died ``max_attempts`` times).

    Parameters
    ----------
    fn : callable
        Picklable (a module-level function); so must be the arguments and the results.
    tasks : list of (key, args)
        In the order to submit them (keys distinct).
    jobs : int
        Worker processes (>= 1).
    on_done : callable
        Called in the driver, in completion order, once per task.
    max_attempts : int
        How many worker deaths a task in flight may see before it is given up.
    """
    if jobs < 1:
        raise ValueError(f"run_in_processes: jobs must be >= 1, got {jobs!r}")
    pending = deque(tasks)
    deaths: dict[Hashable, int] = {}
    mp = _mp_context()
    while pending:
        pool = ProcessPoolExecutor(max_workers=min(jobs, len(pending)), mp_context=mp,
                                   initializer=_init_worker, initargs=(os.getpid(),))
        inflight: dict[Future, Task] = {}
        broken = False
        try:
            while (pending or inflight) and not broken:
                while pending and len(inflight) < jobs:
                    task = pending.popleft()
                    try:
                        inflight[pool.submit(fn, *task[1])] = task
                    except BrokenProcessPool:
                        pending.appendleft(task)
                        broken = True
                        break
                if not inflight:
                    break
                done, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
                for fut in done:
                    exc = fut.exception()
                    if isinstance(exc, BrokenProcessPool):
                        broken = True
                        continue
                    key = inflight.pop(fut)[0]
                    if exc is not None:
                        on_done(key, None, _reason(exc))
                    else:
                        on_done(key, fut.result(), None)
            if broken:  # keep what finished, resubmit what was running
                retry = []
                for fut, task in list(inflight.items()):
                    if fut.done() and not fut.cancelled() and fut.exception() is None:
                        on_done(task[0], fut.result(), None)
                        continue
                    deaths[task[0]] = deaths.get(task[0], 0) + 1
                    if deaths[task[0]] >= max_attempts:
                        on_done(task[0], None, f"the worker process died while running it "
                                               f"({deaths[task[0]]} times); not retried")
                    else:
                        retry.append(task)
                pending.extendleft(reversed(retry))
        except BaseException:
            _terminate(pool)
            raise
        pool.shutdown(wait=True, cancel_futures=True)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
