"""What runs any check: the registry and :class:`Context`, the runner, the store, the records.

* :mod:`.registry` — :func:`check` (the decorator a family registers with), :class:`Check`,
  :class:`Context`, :func:`registered` and :func:`select`; it discovers the families under
  :mod:`specdef.validation.checks` by walking that package (it never names them);
* :mod:`.runner` — :func:`run_checks`: run, persist each finished check, resume;
* :mod:`.units` — the unit of work (one check under one context) as workers run it;
  :mod:`.parallel` runs units in local worker processes (``-j N``), :mod:`.cluster` on a Dask
  cluster (``--scheduler``; :mod:`distributed` is imported only then);
* :mod:`.store` — atomic results files, their validation on load, the directory lock;
* :mod:`.records` — :class:`Status`, :class:`Result`, :func:`compare`, :func:`passes`;
* :mod:`.tolerance` — every tolerance, derived from the dtype;
* :mod:`.assertions` — :func:`assert_theorem`, the assertion behind the pytest fixture.

The engine imports no family; families import the engine.
"""

from . import assertions, cluster, parallel, records, registry, runner, store, tolerance, units
from .assertions import *  # noqa: F401,F403
from .cluster import SchedulerError  # noqa: F401
from .records import *  # noqa: F401,F403
from .registry import *  # noqa: F401,F403
from .runner import *  # noqa: F401,F403
from .store import *  # noqa: F401,F403
from .tolerance import *  # noqa: F401,F403

__all__ = [*assertions.__all__, *records.__all__, *registry.__all__, *runner.__all__,
           *store.__all__, *tolerance.__all__, "SchedulerError"]
