"""pytest plugin (entry point ``pytest11``): fixtures for users' own theorem checks.

Installed with the toolkit, it gives every pytest session the fixture ``assert_theorem``
(the comparison the toolkit's checks use) and ``specdef_rng`` (a seeded generator).  The
hypothesis strategies live in :mod:`validation.strategies`.  This module imports nothing heavy
at load, so it costs nothing to test suites that do not use it.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def assert_theorem():
    """The :func:`validation.assert_theorem` helper (stateless, so session-scoped: usable
    inside hypothesis ``@given`` tests)."""
    from .engine.assertions import assert_theorem as fn

    return fn


@pytest.fixture
def specdef_rng():
    """``numpy.random.default_rng(0)``: reproducible draws for property checks."""
    import numpy as np

    return np.random.default_rng(0)
