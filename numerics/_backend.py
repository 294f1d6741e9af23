"""Array backends: one namespace per call, CuPy imported lazily, one host-transfer helper.

Kernels never call ``np.`` on an array argument.  They ask :func:`get_namespace` once for the
namespace ``xp`` of their inputs (NumPy, CuPy or any array-API-compatible library such as
``array_api_strict``) and pass it down as a keyword.  Host transfer happens in
:func:`to_host` only, at reporting boundaries.
"""

from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np

from ._errors import BackendUnavailableError, InputError

__all__ = [
    "BACKENDS",
    "get_namespace",
    "namespace_for",
    "to_host",
    "asarray",
    "backend_name",
    "resolve_dtype",
    "require_finite",
    "require_index",
    "require_matrix",
    "require_positive",
    "eps",
    "make_rng",
]

BACKENDS = ("numpy", "cupy", "array_api_strict")


def _one_of(value: Any, options: tuple) -> bool:
    """``value in options`` for a string (or ``None``) option; False for anything else.

    Arrays and other objects never compare equal to an option (``array in (...)`` would raise).
    """
    return (value is None or isinstance(value, str)) and value in options


def namespace_for(backend: str | None) -> Any:
    """Return the array namespace for a backend name (``None`` means NumPy).

    CuPy is imported here and only here, on demand.  Asking for it without a usable GPU raises
    :class:`BackendUnavailableError` with a one-line reason.
    """
    import array_api_compat

    if not _one_of(backend, (None, *BACKENDS)):
        raise InputError(f"backend: must be one of {', '.join(BACKENDS)}, got {_brief(backend)}")
    if backend is None or backend == "numpy":
        return array_api_compat.array_namespace(np.empty(0))
    if backend == "cupy":
        try:
            import cupy  # noqa: F401  (lazy by design)

            n = cupy.cuda.runtime.getDeviceCount()
        except Exception as exc:  # ImportError, CUDARuntimeError, ...
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise BackendUnavailableError(
                f"backend: 'cupy' needs CuPy and a CUDA GPU, which are not available here ({reason})"
            ) from None
        if n < 1:
            raise BackendUnavailableError("backend: 'cupy' needs a CUDA GPU, found 0 devices")
        return array_api_compat.array_namespace(cupy.empty(0))
    if backend == "array_api_strict":
        import array_api_strict

        return array_api_strict
    raise InputError(f"backend: must be one of {', '.join(BACKENDS)}, got {backend!r}")


def get_namespace(*arrays: Any, backend: str | None = None, func: str = "get_namespace") -> Any:
    """Namespace of the given arrays, or of ``backend`` when it is given.

    Python scalars and ``None`` are ignored.  With no arrays and no backend this is NumPy.
    Anything else that is not an array, or arrays of different namespaces, raise
    :class:`InputError` (prefixed with ``func``, the caller's name).
    """
    if backend is not None:
        return namespace_for(backend)
    import array_api_compat

    arrs = [a for a in arrays if a is not None and not isinstance(a, (int, float, complex, bool))]
    if not arrs:
        return namespace_for("numpy")
    try:
        return array_api_compat.array_namespace(*arrs)
    except TypeError:
        kinds = sorted({f"{type(a).__module__.split('.')[0]}.{type(a).__name__}" for a in arrs})
        raise InputError(f"{func}: arrays must be arrays of one namespace (NumPy, CuPy or "
                         f"array-API), got {', '.join(kinds)}") from None


def backend_name(xp: Any) -> str:
    """Short name of a namespace: ``numpy``, ``cupy``, ``array_api_strict`` or its module name."""
    name = getattr(xp, "__name__", str(xp))
    for b in BACKENDS:
        if b in name:
            return b
    return name


def to_host(x: Any) -> Any:
    """Return ``x`` as a NumPy array (or Python scalar unchanged); the only device-to-host hop."""
    if x is None or isinstance(x, (int, float, complex, bool, np.generic)):
        return x
    if isinstance(x, np.ndarray):
        return x
    mod = type(x).__module__
    if mod.startswith("cupy"):
        return x.get()
    if mod.startswith("array_api_strict"):
        import array_api_strict

        return np.asarray(array_api_strict.to_device(x, "CPU_DEVICE")) if hasattr(
            array_api_strict, "to_device") else np.asarray(x)
    return np.asarray(x)


def resolve_dtype(xp: Any, dtype: Any) -> Any:
    """Map ``"float64"``/``"float32"`` (or a real floating dtype object) to the namespace's dtype.

    Other names and non-floating dtypes (integer, complex, non-dtypes) raise
    :class:`InputError`.
    """
    if dtype is None:
        return xp.float64
    if isinstance(dtype, str):
        if dtype not in ("float64", "float32"):
            raise InputError(f"dtype: must be 'float64' or 'float32', got {dtype!r}")
        return getattr(xp, dtype)
    name = str(dtype)
    if "float" not in name or "complex" in name:
        raise InputError(f"dtype: must be 'float64', 'float32' or a real floating dtype, "
                         f"got {dtype!r}")
    return dtype


def asarray(x: Any, *, xp: Any = None, backend: str | None = None, dtype: Any = None,
            func: str = "asarray", name: str = "x") -> Any:
    """Move host data into a namespace as a floating array (float64 by default).

    A conversion, not a validator: NaN and inf pass through (kernels check finiteness).
    Real numeric data (floating, integer) is converted; complex, boolean, string and object
    data raise :class:`InputError` (``"<func>: <name> ..."``).
    """
    if xp is None:
        xp = namespace_for(backend)
    try:
        host = np.asarray(to_host(x))
    except (TypeError, ValueError) as exc:  # ragged nesting, unconvertible objects
        raise InputError(f"{func}: {name} must be real numeric data, got {type(x).__name__} "
                         f"({str(exc).splitlines()[0] if str(exc) else 'not an array'})") from None
    if host.dtype.kind not in "fiu":
        raise InputError(f"{func}: {name} must be real numeric data, got dtype {host.dtype}")
    try:
        dt = resolve_dtype(xp, dtype)
    except InputError as exc:
        raise InputError(f"{func}: {exc}") from None
    return xp.asarray(host, dtype=dt)


def eps(dtype: Any) -> float:
    """Machine epsilon of a floating dtype (works for every namespace's dtype objects)."""
    name = str(dtype)
    if "complex" in name or "float" not in name:
        raise InputError(f"eps: dtype must be a real floating dtype, got {dtype!r}")
    if "float32" in name:
        return float(np.finfo(np.float32).eps)
    if "float16" in name:
        return float(np.finfo(np.float16).eps)
    return float(np.finfo(np.float64).eps)


def make_rng(func: str, rng: Any) -> np.random.Generator:
    """``np.random.default_rng(rng)``, with a bad seed reported as :class:`InputError`."""
    try:
        return np.random.default_rng(rng)
    except (TypeError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{func}: rng must be None, a seed (int >= 0) or a Generator, "
                         f"got {_brief(rng)} ({reason})") from None


def _brief(value: Any, limit: int = 40) -> str:
    """``repr(value)`` cut to ``limit`` characters (messages stay one short line)."""
    r = repr(value).replace("\n", " ")
    return r if len(r) <= limit else r[:limit - 3] + "..."


def _short(x: Any) -> str:
    try:
        shape = tuple(x.shape)
        return f"array of shape {shape}"
    except AttributeError:
        return repr(x)


def require_matrix(func: str, name: str, x: Any, *, ndim: int | tuple[int, ...] = 2,
                   xp: Any = None, floating: bool = True, half: bool = False) -> Any:
    """Check that ``x`` is a non-empty, finite, real array with ``ndim`` dimensions.

    Integer arrays are converted to float64 and float16 ones to float32 (the linear-algebra
    libraries take neither), unless ``half`` keeps float16 for a caller that needs no
    factorisation; complex, boolean and non-numeric (string, object, datetime) arrays are
    refused.  Returns the (possibly converted) array.
    """
    if not hasattr(x, "shape") or not hasattr(x, "dtype") or not hasattr(x, "ndim"):
        raise InputError(f"{func}: {name} must be an array, got {type(x).__name__}")
    if xp is None:
        xp = get_namespace(x, func=func)
    ndims = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if x.ndim not in ndims:
        want = " or ".join(str(d) for d in ndims)
        raise InputError(f"{func}: {name} must have {want} dimensions, got {_short(x)}")
    if any(s == 0 for s in x.shape):
        raise InputError(f"{func}: {name} must be non-empty, got {_short(x)}")
    kind = str(x.dtype)
    if "complex" in kind or "bool" in kind or ("float" not in kind and "int" not in kind):
        raise InputError(f"{func}: {name} must be real floating, got dtype {kind}")
    if floating and "float" not in kind:
        x = xp.astype(x, xp.float64)
    elif floating and "float16" in kind and not half:
        x = xp.astype(x, xp.float32)
    if not bool(xp.all(xp.isfinite(x))):
        raise InputError(f"{func}: {name} must have finite entries, got NaN or inf in {_short(x)}")
    return x


def _real_scalar(func: str, name: str, value: Any) -> float:
    """``float(value)`` for a real scalar (int beyond the float range: inf); else InputError."""
    kind = getattr(getattr(value, "dtype", None), "kind", "f")
    if isinstance(value, (bool, complex, str, bytes)) or value is None or kind not in "fiu" or (
            getattr(value, "ndim", 0) != 0):
        raise InputError(f"{func}: {name} must be a real number, got {_brief(value)}")
    try:
        return float(value)
    except OverflowError:  # an int beyond the float range
        return math.inf
    except (TypeError, ValueError):
        raise InputError(f"{func}: {name} must be a real number, got {_brief(value)}") from None


def require_positive(func: str, name: str, value: Any, *, allow_zero: bool = False,
                     integer: bool = False) -> Any:
    """Check a scalar parameter is finite and > 0 (>= 0 with ``allow_zero``).

    With ``integer`` it must also be integral (``2.0`` is, ``True`` is not) and ``<= 2**53``.
    """
    v = _real_scalar(func, name, value)
    if integer and (isinstance(value, bool) or not math.isfinite(v) or v != int(v)):
        raise InputError(f"{func}: {name} must be an integer, got {_brief(value)}")
    if integer and v > 2**53:  # beyond exact float64 integers: no count is meant to be that big
        raise InputError(f"{func}: {name} must be <= 2**53, got {_brief(value)}")
    ok = math.isfinite(v) and (v >= 0 if allow_zero else v > 0)
    if not ok:
        rel = ">= 0" if allow_zero else "> 0"
        raise InputError(f"{func}: {name} must be finite and {rel}, got {_brief(value)}")
    return int(v) if integer else v


def require_index(func: str, name: str, value: Any, lo: int, hi: int) -> int:
    """Check ``value`` is an integer (``int`` or NumPy integer scalar) in ``[lo, hi]``.

    Floats, bools, strings and arrays with a dimension are refused, whatever their value (0-d
    integer arrays pass, as ``operator.index`` takes them): an index such as a rank or a factor
    count is never meant to be ``2.0``.
    """
    try:
        if isinstance(value, bool):
            raise TypeError("bool")
        v = operator.index(value)
    except TypeError:
        v = None
    if v is None or not lo <= v <= hi:
        raise InputError(f"{func}: {name} must be an integer in [{lo}, {hi}], "
                         f"got {_brief(value)}")
    return v


def require_finite(func: str, name: str, value: Any) -> float:
    """Check a scalar parameter is a finite real number."""
    v = _real_scalar(func, name, value)
    if not math.isfinite(v):
        raise InputError(f"{func}: {name} must be finite, got {_brief(value)}")
    return v
