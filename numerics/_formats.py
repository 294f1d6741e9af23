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
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._backend import _brief
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


def round_to_format(x: Any, fmt: Any) -> np.ndarray:
    """Round ``x`` to the format, returned as float64 values (exactly representable in it).

    Round to nearest, ties to even, gradual underflow through the subnormals, and the format's
    overflow (``±inf``; NaN for float8_e4m3fn).  NaN stays NaN.  Conversion goes straight from
    float64 to the format (no intermediate float32, which would round twice).
    """
    f = number_format(fmt)
    arr = np.asarray(x)
    if arr.dtype.kind in "cbSUMm":  # complex, boolean, strings, datetimes: refused
        raise InputError(f"round_to_format: x must be real numbers, got dtype {arr.dtype}")
    try:
        arr = arr.astype(np.float64)
    except (TypeError, ValueError):
        raise InputError(f"round_to_format: x must be real numbers, got {_brief(x)}") from None
    if f.name == "float64":
        return arr
    with np.errstate(over="ignore", invalid="ignore"):
        return arr.astype(f.dtype).astype(np.float64)


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
