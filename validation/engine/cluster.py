"""Run units on a Dask distributed cluster (``--scheduler ADDRESS``).

:func:`run_on_cluster` connects a :class:`distributed.Client` to a running scheduler, submits one
task per unit (:func:`.units.run_unit`, earlier units at higher priority) and hands each result to
the driver as it arrives; the driver alone writes the results file.  Workers need the same
environment as the driver (``pip install 'specdef-toolkit[dask]'`` and, for ``--defence``, the
defence's file or module reachable under the same path).

Faults are the scheduler's: a task whose worker dies is rescheduled on another worker, up to
Dask's ``distributed.scheduler.allowed-failures`` deaths (default 3), after which its future raises
:class:`distributed.KilledWorker` and the unit is recorded as ``ERROR``.  A unit that raises is
already an ``ERROR`` record (:func:`.units.run_unit`).

:mod:`distributed` is imported only here, only when a run asks for a scheduler.
"""

from __future__ import annotations

import uuid
from typing import Callable

from .units import WorkerContext, run_unit

__all__ = ["SchedulerError", "run_on_cluster"]

Unit = tuple[str, str, str]
Done = Callable[[Unit, "list[dict] | None", str], None]


class SchedulerError(ValueError):
    """``--scheduler`` cannot be used: Dask is not installed or the scheduler is unreachable."""


def run_on_cluster(units: list[Unit], wctx: WorkerContext, address: str, on_done: Done, *,
                   connect_timeout: float = 20.0) -> None:
    """Run ``units`` on the Dask cluster whose scheduler listens at ``address``; call
    ``on_done(unit, records, where)`` in the driver as each finishes (``records`` is ``None``
    with ``where`` the reason when the cluster could not run it).

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
        for k, unit in enumerate(units):
            fut = client.submit(run_unit, unit, wctx, key=f"specdef-{unit[0]}-{token}",
                                pure=False, priority=len(units) - k)
            futures[fut] = unit
        for fut in as_completed(list(futures), loop=client.loop):
            unit = futures[fut]
            try:
                records, where = fut.result()
            except Exception as exc:  # KilledWorker after repeated deaths, a pickling error
                reason = str(exc).splitlines()[0] if str(exc) else ""
                on_done(unit, None, f"{type(exc).__name__} on the cluster: {reason}")
            else:
                on_done(unit, records, f"{where['host']}:{where['pid']}")
    finally:
        if futures:
            try:
                client.cancel(list(futures))
            except Exception:  # the scheduler may be gone already
                pass
        client.close()
