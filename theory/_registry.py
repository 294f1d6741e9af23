"""Registry of theorems, filled by the :func:`register` decorator of each family module.

A family module decorates a zero-argument factory with ``@register("<id>")``; the factory runs
(its SymPy derivations included) the first time :func:`get` asks for the id, and its result is
cached.  The set of ids is therefore whatever the imported family modules declare — there is no
second, hand-kept list.
"""

from __future__ import annotations

import re
from typing import Callable

from ._errors import TheoryError, UnknownTheoremError
from ._theorem import Theorem

__all__ = ["register", "get", "ids", "all_theorems"]

_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
_FACTORIES: dict[str, Callable[[], Theorem]] = {}
_BUILT: dict[str, Theorem] = {}


def register(theorem_id: str) -> Callable[[Callable[[], Theorem]], Callable[[], Theorem]]:
    """Decorator registering a factory ``() -> Theorem`` under ``theorem_id``."""
    if not _ID.match(theorem_id):
        raise TheoryError(f"register: id must be a dotted lower-case slug, got {theorem_id!r}")

    def decorate(factory: Callable[[], Theorem]) -> Callable[[], Theorem]:
        if theorem_id in _FACTORIES and _FACTORIES[theorem_id] is not factory:
            raise TheoryError(f"register: id {theorem_id!r} registered twice")
        _FACTORIES[theorem_id] = factory
        return factory

    return decorate


def ids() -> list[str]:
    """Sorted ids of every registered theorem."""
    return sorted(_FACTORIES)


def get(theorem_id: str) -> Theorem:
    """The theorem registered as ``theorem_id`` (built on first use, then cached).

    Raises
    ------
    UnknownTheoremError
        If no module registered ``theorem_id``.
    """
    if not isinstance(theorem_id, str) or theorem_id not in _FACTORIES:
        raise UnknownTheoremError(f"theory.get: unknown theorem id {theorem_id!r} "
                                  f"(see theory.ids())")
    if theorem_id not in _BUILT:
        th = _FACTORIES[theorem_id]()
        if th.id != theorem_id:
            raise TheoryError(f"register: factory for {theorem_id!r} built {th.id!r}")
        _BUILT[theorem_id] = th
    return _BUILT[theorem_id]


def all_theorems() -> list[Theorem]:
    """Every registered theorem, in id order."""
    return [get(i) for i in ids()]
