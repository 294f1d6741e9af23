"""What a benchmark ran on: machine, library versions, BLAS threads, load; results as JSON.

BLAS threads are read and set through ``threadpoolctl``, which finds the BLAS libraries already
loaded in the process (NumPy's and SciPy's OpenBLAS, or MKL), so that ``specdef bench --threads 1``
works after NumPy has been imported.
"""

from __future__ import annotations

import datetime
import os
import platform
import sys
from importlib import metadata
from typing import Any

__all__ = ["machine_info", "blas_threads", "set_blas_threads"]

def _blas_pools() -> list[dict[str, Any]]:
    import numpy  # noqa: F401  (loads NumPy's BLAS)
    import scipy.linalg  # noqa: F401  (SciPy may bundle its own)
    from threadpoolctl import threadpool_info

    return [p for p in threadpool_info() if p.get("user_api") == "blas"]


def blas_threads() -> list[int]:
    """Thread counts of the loaded BLAS libraries (empty if none was found)."""
    return [int(p["num_threads"]) for p in _blas_pools()]


def set_blas_threads(n: int) -> bool:
    """Set every loaded BLAS to ``n`` threads; False (and a warning) if none was found."""
    import warnings

    from threadpoolctl import threadpool_limits

    if not _blas_pools():
        warnings.warn("benchmarks: no BLAS library found to set the thread count; "
                      "set OPENBLAS_NUM_THREADS before starting Python instead", stacklevel=2)
        return False
    threadpool_limits(limits=int(n), user_api="blas")  # applied until the process ends
    return True


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _gpu(backend: str) -> str | None:
    if backend != "cupy":
        return None
    import cupy

    props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
    name = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
    return f"{name} ({props['totalGlobalMem'] / 2**30:.0f} GiB), CUDA runtime " \
           f"{cupy.cuda.runtime.runtimeGetVersion()}"


def machine_info(backend: str = "numpy", argv: list[str] | None = None) -> dict:
    """Date, machine (cores, CPU model, GPU when used), versions, BLAS threads, load, command."""
    try:
        load = list(os.getloadavg())
    except OSError:
        load = None
    versions = {d: _version(d) for d in ("specdef-toolkit", "numpy", "scipy", "sympy", "mpmath",
                                          "cupy", "cupy-cuda12x", "pepit", "cvxpy", "tqdm")}
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "gpu": _gpu(backend),
        "backend": backend,
        "python": platform.python_version(),
        "versions": {k: v for k, v in versions.items() if v is not None},
        "blas_threads": blas_threads(),
        "load_average": load,
        "command": " ".join(["specdef"] + list(sys.argv[1:] if argv is None else argv)),
    }
