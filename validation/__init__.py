"""Checks that compare empirical rates with proven bounds, the result records, and the CLI.

``validation`` is the only package that imports both :mod:`theory` and :mod:`numerics`.  Its
rooms: :mod:`.engine` (registry, runner, store, records, tolerances), :mod:`.checks` (one
subpackage per check family, found by the engine), :mod:`.cli` (the ``specdef`` command, one
module per subcommand).  The public names are the engine's.
"""

from . import engine
from .engine import *  # noqa: F401,F403

__all__ = list(engine.__all__)
