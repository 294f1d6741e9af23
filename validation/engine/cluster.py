"""Run units of work on a Dask distributed cluster (``--scheduler ADDRESS``).

:func:`run_on_cluster` connects a :class:`distributed.Client` to a running scheduler, submits one
task per unit (``fn(*args)`` under a key, earlier units at higher priority, one BLAS thread per
task) and hands each result to the driver as it arrives; the driver alone writes the results.  Workers need the same
environment as the driver (``pip install 'specdef-toolkit[dask]'`` and, for ``--defence``, the
defence's file or module reachable under the same path).

Faults are the scheduler's: a task whose worker dies is rescheduled on another worker, up to
Dask's ``distributed.scheduler.allowed-failures`` deaths (default 3), after which its future raises
:class:`distributed.KilledWorker` and the unit is given up (a check records it as ``ERROR``).  An
exception raised by ``fn`` is handed to the callback as the unit's failure; the rest go on.

:mod:`distributed` is imported only here, only when a run asks for a scheduler.
"""

from __future__ import annotations

import uuid
from typing import Any, Callable, Hashable

from .parallel import pinned_call

__all__ = ["SchedulerError", "run_on_cluster"]

Task = tuple[Hashable, tuple]
Done = Callable[[Hashable, Any, "str | None"], None]


class SchedulerError(ValueError):
    """``--scheduler`` cannot be used: Dask is not installed or the scheduler is unreachable."""


def run_on_cluster(fn: Callable[..., Any], tasks: list[Task], address: str, on_done: Done, *,
                   connect_timeout: float = 20.0) -> None:
    """Run ``fn(*args)`` for every ``(key, args)`` of ``tasks`` on the Dask cluster whose
    scheduler listens at ``address``; call ``on_done(key, result, None)`` in the driver as each
    finishes, or ``on_done(key, None, reason)`` when it failed (``fn`` raised, or its workers
    died too often).

    Raises
    ------
    SchedulerError
        If :mod:`distributed` is missing or no scheduler answers at ``address`` within
        ``connect_timeout`` seconds.
    """
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise SchedulerError("--scheduler needs Dask: pip install 'specdef-toolkit[dask]'"
                             ) from None
    try:
        client = Client(address, timeout=connect_timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SchedulerError(f"--scheduler {address!r}: no Dask scheduler answers there "
                             f"({reason})") from None
    token = uuid.uuid4().hex[:8]
    futures = {}
    try:
        for k, (key, args) in enumerate(tasks):
            fut = client.submit(pinned_call, fn, *args, key=f"specdef-{key}-{token}",
                                pure=False, priority=len(tasks) - k)
            futures[fut] = key
        for fut in as_completed(list(futures), loop=client.loop):
            key = futures[fut]
            try:
                result = fut.result()
            except Exception as exc:  # fn raised; KilledWorker after repeated deaths
                reason = str(exc).splitlines()[0] if str(exc) else ""
                on_done(key, None, f"{type(exc).__name__} on the cluster: {reason}")
            else:
                on_done(key, result, None)
    finally:
        if futures:
            try:
                client.cancel(list(futures))
            except Exception:  # the scheduler may be gone already
                pass
        client.close()
