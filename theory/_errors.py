"""Exception hierarchy of :mod:`theory`.

Every message is a single line that names the theorem, the offending parameter and its value,
so that the CLI can print it as is (``specdef`` exits 2 on usage errors, without a traceback).
"""

from __future__ import annotations

__all__ = ["TheoryError", "AssumptionError", "UnknownTheoremError"]


class TheoryError(ValueError):
    """Base class of the errors raised by :mod:`theory` for bad input."""


class AssumptionError(TheoryError):
    """A hypothesis of a theorem is violated by the parameters passed to it.

    The message reads
    ``"<theorem id>: assumption '<name>' violated: <message>, got <param>=<value>"``.
    """


class UnknownTheoremError(TheoryError):
    """:func:`theory.get` was asked for an id that no module registered."""
