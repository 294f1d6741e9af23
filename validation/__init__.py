"""Checks that compare empirical rates with proven bounds, the result records, and the CLI.

``specdef.validation`` is the only package that imports both :mod:`specdef.theory` and
:mod:`specdef.numerics`.  Its rooms: :mod:`.engine` (registry, runner, store, records,
tolerances), :mod:`.checks` (one subpackage per check family, found by the engine), :mod:`.cli`
(the ``specdef`` command, one module per subcommand).  The public names are the engine's.

Importing this package is free: the engine (and with it NumPy) loads on the first access to one
of its names (PEP 562), so the pytest plugin :mod:`.pytest_plugin`, which lives inside this
package, costs nothing to test suites that never use its fixtures.
"""

from __future__ import annotations

import importlib
from typing import Any


def _engine() -> Any:
    return importlib.import_module(f"{__name__}.engine")


def __getattr__(name: str) -> Any:
    if name.startswith("__") and name != "__all__":
        raise AttributeError(name)
    engine = _engine()
    if name == "__all__":
        return list(engine.__all__)
    if name in engine.__all__:
        return getattr(engine, name)
    raise AttributeError(f"module 'specdef.validation' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_engine().__all__))
