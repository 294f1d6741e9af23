"""Floating-point number formats: facts from ``finfo``, rounding to a format, ulp.

Formats: ``float64``, ``float32`` (NumPy), ``bfloat16``, ``float16``, ``float8_e4m3fn`` and
``float8_e5m2`` (NumPy dtypes of ``ml_dtypes``).  Every fact a check uses is derived from the
dtype's ``finfo`` and checked, when a :class:`NumberFormat` is built, against the values the
format's definition gives (:data:`KNOWN`); a disagreement raises instead of reporting wrong
bounds.

Notes
-----
A binary format with ``p`` significand bits (the hidden bit included) and minimum exponent
``e_min`` represents ``±M·2^(e−p+1)`` with integer ``M < 2^p``.  For a normal ``x`` with
``2^e ≤ |x| < 2^(e+1)`` the spacing of the format there is ``ulp(x) = 2^(e−p+1)``; below the
smallest normal ``2^e_min`` the spacing is constant, ``2^(e_min−p+1)`` (the smallest
subnormal).  The unit round-off is ``u = 2^−p``: round to nearest gives
``|fl(x) − x| ≤ ulp(x)/2 ≤ u|x|`` for normal ``x``.  Round to nearest, ties to even: a value
exactly halfway between two neighbours goes to the one whose last significand bit is 0.
Overflow follows the format: IEEE formats (float16/32/64, bfloat16, float8_e5m2) round values
of magnitude ``≥ max + ulp(max)/2`` to ``±inf``; float8_e4m3fn has no infinity and gives NaN
there (``ml_dtypes`` semantics, as in the OCP 8-bit specification's non-saturating mode).

Two rounding kernels give the same values (a test compares them bit for bit):

* on NumPy, a cast through the format's dtype (``ml_dtypes`` for bfloat16 and the float8
  formats), straight from float64;
* on any other namespace (CuPy on the GPU, ``array_api_strict``), or on NumPy when asked for
  with ``rounding="generic"``, arithmetic on float64 values only (:func:`_round_generic`).

CuPy has no dtype for the float8 formats, and none for bfloat16 up to CuPy 13 (a request has
been open on its issue tracker since 2023; experimental bfloat16 through ``ml_dtypes`` was
merged after CuPy 13, with some ufuncs, rounding among them, still missing).  So on CuPy
every format is emulated: values are kept as float64 arrays holding numbers representable in
the format, like everywhere in this package.  A float16 result could be stored as
``cupy.float16`` with an exact cast *after* the generic kernel has rounded it; CuPy's own
float64 → float16 conversion is never relied on, as it may round twice (through float32).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._backend import _brief, backend_name, get_namespace
from ._errors import InputError

__all__ = ["FORMAT_NAMES", "NumberFormat", "number_format", "round_to_format", "ulp"]

#: Canonical format names, widest first.
FORMAT_NAMES = ("float64", "float32", "bfloat16", "float16", "float8_e4m3fn", "float8_e5m2")

_ALIASES = {"fp64": "float64", "double": "float64", "fp32": "float32", "single": "float32",
            "bf16": "bfloat16", "fp16": "float16", "half": "float16",
            "float8-e4m3": "float8_e4m3fn", "float8_e4m3": "float8_e4m3fn", "e4m3": "float8_e4m3fn",
            "fp8-e4m3": "float8_e4m3fn", "float8-e5m2": "float8_e5m2", "e5m2": "float8_e5m2",
            "fp8-e5m2": "float8_e5m2"}

#: Reference values from each format's definition: (p, u, smallest normal, smallest subnormal,
#: max, overflow value).  p counts the hidden bit.
KNOWN = {
    "float64": (53, 2.0**-53, 2.0**-1022, 2.0**-1074, (2 - 2.0**-52) * 2.0**1023, "inf"),
    "float32": (24, 2.0**-24, 2.0**-126, 2.0**-149, (2 - 2.0**-23) * 2.0**127, "inf"),
    "bfloat16": (8, 2.0**-8, 2.0**-126, 2.0**-133, (2 - 2.0**-7) * 2.0**127, "inf"),
    "float16": (11, 2.0**-11, 2.0**-14, 2.0**-24, 65504.0, "inf"),
    "float8_e4m3fn": (4, 2.0**-4, 2.0**-6, 2.0**-9, 448.0, "nan"),
    "float8_e5m2": (3, 2.0**-3, 2.0**-14, 2.0**-16, 57344.0, "inf"),
}


@dataclass(frozen=True)
class NumberFormat:
    """A binary floating-point format and the facts the precision checks use.

    Attributes
    ----------
    name : str
        Canonical name (one of :data:`FORMAT_NAMES`).
    dtype : numpy.dtype
        The NumPy dtype storing it (an ``ml_dtypes`` dtype for bfloat16 and float8).
    precision : int
        Significand bits ``p``, hidden bit included.
    unit_roundoff : float
        ``u = 2^−p``: the relative error bound of round to nearest on normal numbers.
    smallest_normal, smallest_subnormal, max : float
        ``2^e_min``, ``2^(e_min−p+1)`` and the largest finite value.
    overflow : str
        What a value beyond ``max + ulp(max)/2`` becomes: ``"inf"`` or ``"nan"``.
    """

    name: str
    dtype: Any
    precision: int
    unit_roundoff: float
    smallest_normal: float
    smallest_subnormal: float
    max: float
    overflow: str

    @property
    def min_exponent(self) -> int:
        """``e_min``: the exponent of the smallest normal number."""
        return int(math.frexp(self.smallest_normal)[1]) - 1

    @property
    def bits(self) -> int:
        """Storage width in bits."""
        return int(np.dtype(self.dtype).itemsize * 8)

    def __repr__(self) -> str:
        return (f"NumberFormat({self.name!r}, p={self.precision}, u=2^{-self.precision}, "
                f"normal>={self.smallest_normal:.3g}, max={self.max:.6g})")


def _dtype_of(name: str) -> Any:
    if name in ("float64", "float32", "float16"):
        return np.dtype(name)
    import ml_dtypes

    return np.dtype(getattr(ml_dtypes, name))


def _finfo(dtype: Any) -> Any:
    if dtype in (np.dtype("float64"), np.dtype("float32"), np.dtype("float16")):
        return np.finfo(dtype)
    import ml_dtypes

    return ml_dtypes.finfo(dtype)


_CACHE: dict[str, NumberFormat] = {}


def number_format(fmt: Any) -> NumberFormat:
    """The :class:`NumberFormat` named ``fmt`` (a name, an alias such as ``"bf16"`` or
    ``"float8-e4m3"``, a dtype, or a :class:`NumberFormat`).

    The facts come from the dtype's ``finfo`` (``nmant``, ``smallest_normal``,
    ``smallest_subnormal``, ``max``) and are compared with :data:`KNOWN`; the overflow
    behaviour is read off by converting ``2·max``.
    """
    if isinstance(fmt, NumberFormat):
        return fmt
    name = None
    if isinstance(fmt, str):
        key = fmt.strip().lower()
        name = _ALIASES.get(key, key)
    elif isinstance(fmt, (np.dtype, type)):
        try:
            name = np.dtype(fmt).name
        except TypeError:
            name = None
    if name not in FORMAT_NAMES:
        raise InputError(f"number_format: fmt must be one of {', '.join(FORMAT_NAMES)} (or an "
                         f"alias such as bf16, fp16, e4m3, e5m2), got {_brief(fmt)}")
    if name in _CACHE:
        return _CACHE[name]
    dtype = _dtype_of(name)
    fi = _finfo(dtype)
    p = int(fi.nmant) + 1
    facts = (p, 2.0**-p, float(fi.smallest_normal), float(fi.smallest_subnormal), float(fi.max))
    with np.errstate(over="ignore", invalid="ignore"):
        big = float(np.array([2 * facts[4]], dtype=np.float64).astype(dtype).astype(np.float64)[0])
    overflow = "inf" if math.isinf(big) else "nan"
    if facts + (overflow,) != KNOWN[name]:
        raise InputError(f"number_format: finfo of {name} disagrees with the format's "
                         f"definition: got {facts + (overflow,)}, expected {KNOWN[name]}")
    out = NumberFormat(name, dtype, *facts, overflow)
    _CACHE[name] = out
    return out


#: Rounding kernels: ``"auto"`` (a dtype cast on NumPy, :func:`_round_generic` elsewhere) and
#: ``"generic"`` (:func:`_round_generic` on every namespace).
ROUNDINGS = ("auto", "generic")


def _is_host(x: Any) -> bool:
    """True for data that lives on the host: NumPy arrays and scalars, Python numbers, lists."""
    return isinstance(x, (np.ndarray, np.generic)) or not (hasattr(x, "shape")
                                                           and hasattr(x, "dtype"))


def _as_float64(func: str, xp: Any, x: Any) -> Any:
    """``x`` as a float64 array of namespace ``xp`` (host data is moved in with ``xp.asarray``).

    Real data (floating, integer) is converted; complex, boolean, string, datetime and object
    data raise :class:`InputError`, and so does an array of another device namespace than
    ``xp`` (moving it would be a hidden device-to-host or device-to-device copy).
    """
    if _is_host(x):
        arr = np.asarray(x)
        if arr.dtype.kind in "cbSUMm":  # complex, boolean, strings, datetimes: refused
            raise InputError(f"{func}: x must be real numbers, got dtype {arr.dtype}")
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise InputError(f"{func}: x must be real numbers, got {_brief(x)}") from None
        return arr if backend_name(xp) == "numpy" else xp.asarray(arr, dtype=xp.float64)
    have = backend_name(get_namespace(x, func=func))
    if have != backend_name(xp):
        raise InputError(f"{func}: x is an array of {have} but the namespace asked for is "
                         f"{backend_name(xp)}; move it with asarray or to_host first")
    kind = str(x.dtype)
    if "complex" in kind or "bool" in kind or ("float" not in kind and "int" not in kind):
        raise InputError(f"{func}: x must be real numbers, got dtype {kind}")
    return xp.astype(x, xp.float64)


def _quantum(xp: Any, a: Any, f: NumberFormat) -> Any:
    """``2^(max(e, e_min) − p + 1)`` for finite ``a ≥ 0`` with ``2^e ≤ a < 2^(e+1)`` (``a = 0``:
    the subnormal quantum ``2^(e_min − p + 1)``), as a float64 array.

    With ``frexp``/``ldexp`` (NumPy, CuPy) the exponent is read exactly off the float64 value.
    A namespace without them (``array_api_strict``: the array API standard has neither) uses
    ``e = ⌊log2 a⌋`` corrected by one in either direction against ``2^e`` (``pow`` of two to an
    integer is exact), on ``max(a, 2^e_min)`` so that only normal float64 values are looked at.
    """
    p, emin = f.precision, f.min_exponent
    if hasattr(xp, "frexp") and hasattr(xp, "ldexp"):
        _, e = xp.frexp(a)  # a = m·2^e with m in [1/2, 1): the binade is [2^(e-1), 2^e)
        return xp.ldexp(xp.ones_like(a), xp.maximum(e - 1, emin) - (p - 1))
    b = xp.maximum(a, xp.full_like(a, f.smallest_normal))
    two = xp.full_like(b, 2.0)
    e = xp.floor(xp.log2(b))
    t = xp.pow(two, e)
    e = xp.where(t > b, e - 1, xp.where(2 * t <= b, e + 1, e))
    return xp.pow(two, e - (p - 1))


def _round_generic(xp: Any, x: Any, f: NumberFormat) -> Any:
    r"""Round the float64 array ``x`` of namespace ``xp`` to the format ``f`` by float64
    arithmetic alone; returns float64 values representable in ``f``.

    Parameters
    ----------
    xp : namespace
        The array namespace of ``x`` (NumPy, CuPy or ``array_api_strict``); only elementwise
        functions of it are used (``frexp``, ``ldexp`` and ``rint`` where it has them).
    x : array
        float64 values.
    f : NumberFormat
        The target format.

    Returns
    -------
    array
        ``fl_f(x)``: round to nearest, ties to even, subnormals as ``f`` defines them, ``f``'s
        overflow (``±inf``; NaN for float8_e4m3fn), NaN kept, signed zeros kept.

    Notes
    -----
    For finite ``x`` with ``2^e ≤ |x| < 2^(e+1)`` the format's quantum there is
    ``q = 2^(max(e, e_min) − p + 1)`` (:func:`_quantum`), and

    .. math::

        \mathrm{fl}(x) = \operatorname{rint}(x / q)\, q,

    where ``rint`` rounds half to even.  Both operations are exact in float64: ``q`` is a
    normal float64 (``e_min − p + 1 ≥ −133`` for every format here), so ``x/q`` only shifts the
    exponent, and ``rint(x/q) ≤ 2^p`` has at most ``p + 1 ≤ 25`` bits.  The one rounding is
    therefore ``rint``'s, on the exact ratio — round to nearest even in the format, with gradual
    underflow because ``q`` stops shrinking below ``2^e_min``.  A value rounded up to the next
    binade (``rint(x/q) = 2^p``) is correct as it is.  Overflow: a result of magnitude
    ``> max`` becomes ``±inf`` (IEEE formats) or NaN (float8_e4m3fn).  The tie
    ``max + ulp(max)/2`` goes to the even neighbour: ``2^(e_max+1)``, hence ``inf``, in the
    IEEE formats (``65520 → inf`` in float16); ``448`` in float8_e4m3fn, whose next code would
    be ``480`` (``464 → 448``, everything above ``464`` → NaN, as ``ml_dtypes`` does).
    Infinite and NaN inputs use ``q = 2^(e_min − p + 1)``: ``±inf/q = ±inf`` passes through
    (then NaN for float8_e4m3fn, which has no infinity) and NaN stays NaN.  An overflow takes
    the sign of ``x``, the NaN of float8_e4m3fn too (as ``ml_dtypes`` stores ``−500`` as the
    code ``0xFF``); the sign of a NaN is not data, and a NaN input may come back with either
    sign (GPUs return a canonical NaN).  ``rint`` keeps the sign of a zero
    (``rint(−0.3) = −0``), as the formats store ``−0``.
    """
    if f.name == "float64":
        return x
    rint = getattr(xp, "rint", None) or xp.round  # both round half to even
    with np.errstate(all="ignore"):  # x·2^k overflowing to inf is the format's overflow
        finite = xp.isfinite(x)
        q = _quantum(xp, xp.where(finite, xp.abs(x), xp.zeros_like(x)), f)
        r = rint(x / q) * q
        big = xp.abs(r) > f.max  # False for NaN
        over = xp.full_like(r, math.inf if f.overflow == "inf" else math.nan)
        return xp.where(big, xp.copysign(over, x), r)


def round_to_format(x: Any, fmt: Any, *, xp: Any = None, rounding: str = "auto") -> Any:
    """Round ``x`` to the format, returned as float64 values (exactly representable in it).

    Parameters
    ----------
    x : array_like
        Real numbers: a NumPy, CuPy or array-API array, or host data (lists, scalars).
    fmt : str, dtype or NumberFormat
        The format (see :func:`number_format`).
    xp : namespace, optional
        The array namespace to compute and return in; default that of ``x`` (NumPy for host
        data).  Host data is moved into ``xp``; an array of another device namespace raises.
    rounding : {"auto", "generic"}
        ``"auto"``: a cast through the format's NumPy dtype on NumPy (``ml_dtypes``), the
        arithmetic kernel :func:`_round_generic` on every other namespace; ``"generic"``: that
        kernel on NumPy too (the code path CuPy runs, exercised on the CPU).

    Returns
    -------
    array
        float64 array of namespace ``xp``.

    Notes
    -----
    Round to nearest, ties to even, gradual underflow through the subnormals, and the format's
    overflow (``±inf``; NaN for float8_e4m3fn).  NaN stays NaN.  Conversion goes straight from
    float64 to the format (no intermediate float32, which would round twice).  The two kernels
    give the same values bit for bit (NaN up to its sign): the tests compare them on every code
    of the 8- and 16-bit formats, the ties between neighbours and the float64 values next to
    them, and on random draws against an integer-arithmetic reference.
    """
    f = number_format(fmt)
    if not (isinstance(rounding, str) and rounding in ROUNDINGS):
        raise InputError(f"round_to_format: rounding must be one of {', '.join(ROUNDINGS)}, "
                         f"got {_brief(rounding)}")
    if xp is None:
        xp = np if _is_host(x) else get_namespace(x, func="round_to_format")
    arr = _as_float64("round_to_format", xp, x)
    if f.name == "float64":
        return arr
    if rounding == "auto" and backend_name(xp) == "numpy":
        with np.errstate(over="ignore", invalid="ignore"):
            return arr.astype(f.dtype).astype(np.float64)
    return _round_generic(xp, arr, f)


def ulp(x: Any, fmt: Any) -> np.ndarray:
    """Spacing of the format at ``|x|``: ``2^(e−p+1)`` for ``2^e ≤ |x| < 2^(e+1)`` normal,
    the smallest subnormal below the smallest normal (``x = 0`` included).

    ``x`` should be representable in the format (round it first); the value returned is the
    gap to the next representable number away from zero.  Non-finite ``x`` gives NaN.
    """
    f = number_format(fmt)
    a = np.abs(np.asarray(x, dtype=np.float64))
    _, e = np.frexp(a)  # a = m·2^e with m in [0.5, 1): the binade is [2^(e-1), 2^e)
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.ldexp(1.0, e - f.precision)
        out = np.where(a < f.smallest_normal, f.smallest_subnormal, out)
        out = np.where(np.isfinite(a), out, np.nan)
    return out
