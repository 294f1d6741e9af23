"""Shared fixtures: every array kernel runs on NumPy and array_api_strict (and CuPy with a GPU)."""

from __future__ import annotations

import importlib.util
import os

# Small dense problems: extra BLAS threads only contend on a loaded 2-core machine (measured:
# a d = 1024 spectrum test took 2 s with one OpenBLAS thread, 18-44 s with two).  The variables
# reach subprocesses; threadpoolctl limits this process, whose NumPy a plugin loaded already.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
from threadpoolctl import threadpool_limits  # noqa: E402

threadpool_limits(limits=1)

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "default", derandomize=True, deadline=None, max_examples=40,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "ci", derandomize=False, deadline=None, max_examples=60,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "fuzz_long", derandomize=False, deadline=None, max_examples=10_000,
    suppress_health_check=list(HealthCheck),
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def _gpu_available() -> bool:
    if importlib.util.find_spec("cupy") is None:
        return False
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


BACKEND_PARAMS = [
    pytest.param("numpy", id="numpy"),
    pytest.param("array_api_strict", id="strict"),
    pytest.param("cupy", id="cupy", marks=[
        pytest.mark.gpu,
        pytest.mark.skipif(not _gpu_available(), reason="needs CuPy and a CUDA GPU"),
    ]),
]


@pytest.fixture(params=BACKEND_PARAMS)
def xp(request):
    """Array namespace of each backend under test."""
    from specdef.numerics import namespace_for

    return namespace_for(request.param)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def pytest_collection_modifyitems(config, items):
    """The ``fuzz_long`` tests run only under ``HYPOTHESIS_PROFILE=fuzz_long``.

    The default run deselects them (as ``-m "not fuzz_long"`` would); asking for them with
    ``-m fuzz_long`` but another profile skips them with the command to use.
    """
    if os.environ.get("HYPOTHESIS_PROFILE") == "fuzz_long":
        return
    long = [item for item in items if "fuzz_long" in item.keywords]
    if not long:
        return
    if "fuzz_long" in (config.getoption("markexpr", "") or ""):
        skip = pytest.mark.skip(reason="long fuzzing needs HYPOTHESIS_PROFILE=fuzz_long "
                                "(HYPOTHESIS_PROFILE=fuzz_long pytest -m fuzz_long)")
        for item in long:
            item.add_marker(skip)
        return
    config.hook.pytest_deselected(items=long)
    items[:] = [item for item in items if "fuzz_long" not in item.keywords]
