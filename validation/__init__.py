"""Checks that compare empirical rates with proven bounds, the result records, and the CLI.

``validation`` is the only package that imports both :mod:`theory` and :mod:`numerics`.
"""

from . import _assertions, _records, _registry, _runner, _store, _tolerance
from ._assertions import *  # noqa: F401,F403
from ._records import *  # noqa: F401,F403
from ._registry import *  # noqa: F401,F403
from ._runner import *  # noqa: F401,F403
from ._store import *  # noqa: F401,F403
from ._tolerance import *  # noqa: F401,F403

__all__ = [*_assertions.__all__, *_records.__all__, *_registry.__all__, *_runner.__all__,
           *_store.__all__, *_tolerance.__all__]
