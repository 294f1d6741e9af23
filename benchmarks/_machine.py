"""What a benchmark ran on: machine, library versions, BLAS threads, load; results as JSON.

BLAS threads are set through the OpenBLAS libraries already loaded in the process (found in
``/proc/self/maps``, called through ``ctypes``), the way ``threadpoolctl`` does it, so that
``specdef bench --threads 1`` works after NumPy has been imported.
"""

from __future__ import annotations

import ctypes
import datetime
import os
import platform
import sys
from importlib import metadata
from typing import Any

__all__ = ["machine_info", "blas_threads", "set_blas_threads"]

_SETTERS = ("openblas_set_num_threads", "scipy_openblas_set_num_threads64_",
            "scipy_openblas_set_num_threads")
_GETTERS = ("openblas_get_num_threads", "scipy_openblas_get_num_threads64_",
            "scipy_openblas_get_num_threads")


def _openblas_libs() -> list[Any]:
    paths = []
    try:
        with open("/proc/self/maps") as fh:
            for line in fh:
                parts = line.split()
                base = os.path.basename(parts[-1]).lower() if len(parts) >= 6 else ""
                if "openblas" in base and ".so" in base and parts[-1] not in paths:
                    paths.append(parts[-1])
    except OSError:
        return []
    libs = []
    for p in paths:
        try:
            libs.append(ctypes.CDLL(p, mode=os.RTLD_NOLOAD | os.RTLD_GLOBAL))
        except OSError:
            continue
    return libs


def _call(lib: Any, names: tuple[str, ...], *args: int) -> int | None:
    for name in names:
        fn = getattr(lib, name, None)
        if fn is not None:
            return fn(*args)
    return None


def blas_threads() -> list[int]:
    """Thread counts of the loaded OpenBLAS libraries (empty if none could be queried)."""
    import numpy  # noqa: F401  (loads NumPy's OpenBLAS)

    out = []
    for lib in _openblas_libs():
        n = _call(lib, _GETTERS)
        if n is not None:
            out.append(int(n))
    return out


def set_blas_threads(n: int) -> bool:
    """Set every loaded OpenBLAS to ``n`` threads; False (and a warning) if none was found."""
    import warnings

    import numpy  # noqa: F401
    import scipy.linalg  # noqa: F401  (SciPy bundles its own OpenBLAS)

    done = False
    for lib in _openblas_libs():
        for name in _SETTERS:
            fn = getattr(lib, name, None)
            if fn is not None:
                fn(int(n))
                done = True
                break
    if not done:
        warnings.warn("benchmarks: no OpenBLAS library found to set the thread count; "
                      "set OPENBLAS_NUM_THREADS before starting Python instead", stacklevel=2)
    return done


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
