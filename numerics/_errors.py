"""Exception hierarchy of :mod:`numerics`.

Every error raised for bad input is a :class:`ValueError` subclass whose message is a single
line of the form ``"<function>: <parameter> <requirement>, got <value>"``.  Numerical outcomes
(divergence, non-convergence, breakdown) are *not* errors: they are reported as statuses in
result records.
"""

from __future__ import annotations

__all__ = ["InputError", "BackendUnavailableError"]


class InputError(ValueError):
    """An argument violates a kernel's documented requirements (shape, finiteness, range)."""


class BackendUnavailableError(InputError):
    """A backend was requested that cannot run here (for example CuPy without a GPU)."""
