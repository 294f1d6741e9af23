"""Result records and the comparison of an empirical value with a proven one.

A record is what every check returns (STYLE.md "Checks report data"): check id, theorem id,
parameters, empirical value, proven value, ratio, tolerance, status, backend, dtype, seed and
version, plus free-form ``detail``, an ``instance`` (for counterexamples) and ``data`` (series
the figures plot, proven curves included).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

__all__ = ["Status", "Result", "compare", "passes", "jsonable"]


class Status:
    """The six outcomes of a comparison."""

    TIGHT = "TIGHT"        # bound attained within tolerance
    HOLDS = "HOLDS"        # bound respected
    LOOSE = "LOOSE"        # a tight bound respected but not attained: the worst case is weak
    VIOLATED = "VIOLATED"  # bound broken beyond tolerance
    REFUTED = "REFUTED"    # a counterexample (instance attached)
    ERROR = "ERROR"        # the check could not run, or its premises failed numerically
    ALL = (TIGHT, HOLDS, LOOSE, VIOLATED, REFUTED, ERROR)


def compare(kind: str, empirical: float, proven: float, rtol: float, *,
            side: str = "upper") -> str:
    """Status of ``empirical`` against ``proven`` for a theorem of the given kind.

    ``kind`` is ``upper`` (empirical <= proven), ``lower`` (empirical >= proven), ``exact``
    (equal within rtol) or ``tight`` (a bound on ``side`` that must also be attained).
    Tolerances are one-sided for one-sided bounds and relative to ``|proven|`` (absolute
    ``rtol`` when ``proven`` is 0).
    """
    e, p = float(empirical), float(proven)
    if not (math.isfinite(e) and math.isfinite(p)):
        if kind == "exact" and e == p:
            return Status.TIGHT
        return Status.ERROR
    scale = abs(p) if p != 0 else 1.0
    close = abs(e - p) <= rtol * scale
    if kind == "exact":
        return Status.TIGHT if close else Status.VIOLATED
    if kind == "tight":
        kind_side = side
    else:
        kind_side = kind
    if kind_side == "upper":
        ok = e <= p + rtol * scale
    elif kind_side == "lower":
        ok = e >= p - rtol * scale
    else:
        raise ValueError(f"compare: kind must be upper, lower, exact or tight, got {kind!r}")
    if not ok:
        return Status.VIOLATED
    if close:
        return Status.TIGHT
    return Status.LOOSE if kind == "tight" else Status.HOLDS


def passes(status: str, expectation: str) -> bool:
    """Whether a status meets a theorem's expectation (``holds`` or ``refuted``)."""
    if expectation == "refuted":
        return status == Status.REFUTED
    return status in (Status.TIGHT, Status.HOLDS)


def jsonable(x: Any) -> Any:
    """Convert to JSON-safe Python objects; non-finite floats become ``None`` or ``"inf"``."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if hasattr(x, "shape") and not isinstance(x, np.ndarray) and type(x).__module__.startswith(
            ("cupy", "array_api_strict")):
        from specdef.numerics import to_host

        x = to_host(x)
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if isinstance(x, (np.floating, float)):
        v = float(x)
        if math.isnan(v):
            return None
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return v
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


@dataclass
class Result:
    """One comparison of an empirical value with a proven one."""

    check: str
    theorem: str
    params: dict
    empirical: float | None
    proven: float | None
    rtol: float
    status: str
    expectation: str = "holds"
    backend: str = "numpy"
    dtype: str = "float64"
    seed: int = 0
    version: str = ""
    detail: str = ""
    instance: dict | None = None
    data: dict = field(default_factory=dict)
    elapsed_s: float = 0.0

    @property
    def ratio(self) -> float | None:
        if self.empirical is None or self.proven is None or self.proven == 0:
            return None
        return float(self.empirical) / float(self.proven)

    @property
    def passed(self) -> bool:
        return passes(self.status, self.expectation)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["ratio"] = self.ratio
        d["passed"] = self.passed
        return jsonable(d)

    @classmethod
    def from_dict(cls, d: dict) -> "Result":
        names = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in names})
