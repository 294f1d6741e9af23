"""Result records and the comparison of an empirical value with a proven one.

A record is what every check returns (STYLE.md "Checks report data"): check id, theorem id,
parameters, empirical value, proven value, ratio, tolerance, status, backend, dtype, seed and
version, plus free-form ``detail``, an ``instance`` (for counterexamples) and ``data`` (series
the figures plot, proven curves included).

Verdicts and data.  A *verdict* record (``TIGHT``, ``HOLDS``, ``LOOSE``, ``VIOLATED``,
``REFUTED``, ``ERROR``) compares a measured quantity with an independently derived one; its
``data["provenance"]`` (:func:`provenance`) names where each side came from ("simulation",
"eigensolver", "closed form: <theorem id>", ...) and the two must differ.  A *data* record
(``MEASURED``: an overhead count, a reference value, a quantity no theorem predicts) is neither a
pass nor a fail: it never fails a run, is counted apart and is shown in its own table section.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

__all__ = ["Status", "Result", "compare", "passes", "is_verdict", "provenance", "jsonable"]


class Status:
    """The six outcomes of a comparison, and ``MEASURED`` for a record that is data."""

    TIGHT = "TIGHT"        # bound attained within tolerance
    HOLDS = "HOLDS"        # bound respected
    LOOSE = "LOOSE"        # a tight bound respected but not attained: the worst case is weak
    VIOLATED = "VIOLATED"  # bound broken beyond tolerance
    REFUTED = "REFUTED"    # a counterexample (instance attached)
    ERROR = "ERROR"        # the check could not run, or its premises failed numerically
    MEASURED = "MEASURED"  # data, not a verdict: a count, a reference value, not predicted
    VERDICTS = (TIGHT, HOLDS, LOOSE, VIOLATED, REFUTED, ERROR)
    ALL = (*VERDICTS, MEASURED)


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
    """Whether a status meets a theorem's expectation (``holds`` or ``refuted``).

    A ``MEASURED`` record is data, not a verdict: it never fails a run, so this returns ``True``
    for it; tables show it apart (:func:`is_verdict`), never as a pass.
    """
    if status == Status.MEASURED:
        return True
    if expectation == "refuted":
        return status == Status.REFUTED
    return status in (Status.TIGHT, Status.HOLDS)


def is_verdict(status: str) -> bool:
    """Whether a status is a verdict (pass or fail), i.e. anything but ``MEASURED``."""
    return status != Status.MEASURED


def provenance(empirical: str, proven: str) -> dict:
    """``{"empirical": ..., "proven": ...}``: where each side of a record comes from.

    Stored as ``data["provenance"]``.  Use a code path's name: ``"simulation: gradient_descent"``,
    ``"eigensolver: eigsh on HVPs"``, ``"closed form: <theorem id>"``, ``"count: model arrays"``.
    A verdict record's two sides must name different paths (``tests/test_verdicts.py``).

    Raises
    ------
    ValueError
        If either side is empty.
    """
    if not (isinstance(empirical, str) and empirical.strip() and isinstance(proven, str)
            and proven.strip()):
        raise ValueError(f"provenance: empirical and proven must be non-empty strings, got "
                         f"{empirical!r} and {proven!r}")
    return {"empirical": empirical, "proven": proven}


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
        """Meets the expectation; ``True`` for a data record (it never fails a run)."""
        return passes(self.status, self.expectation)

    def declare(self, empirical: str, proven: str) -> "Result":
        """Record where each side comes from (``data["provenance"]``, see :func:`provenance`);
        returns ``self``.  ``data`` is copied first (records may share one dict)."""
        self.data = dict(self.data, provenance=provenance(empirical, proven))
        return self

    def as_data(self, why: str) -> "Result":
        """Make this record ``MEASURED`` (data, not a verdict); ``why`` ends the detail."""
        self.status = Status.MEASURED
        self.detail = f"{self.detail}; data, not a verdict: {why}" if self.detail else why
        return self

    @property
    def is_data(self) -> bool:
        """A ``MEASURED`` record: data, not a verdict."""
        return not is_verdict(self.status)

    @property
    def verdict(self) -> str:
        """``"pass"``, ``"FAIL"`` or ``"data"`` (a ``MEASURED`` record)."""
        return "data" if self.is_data else "pass" if self.passed else "FAIL"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["ratio"] = self.ratio
        d["passed"] = self.passed
        d["verdict"] = self.verdict
        return jsonable(d)

    @classmethod
    def from_dict(cls, d: dict) -> "Result":
        names = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in names})
