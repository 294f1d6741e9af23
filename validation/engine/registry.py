"""Check registry and the context a check runs in.

A check is a function ``fn(ctx) -> list[Result]`` registered with :func:`check`.  The
registry is filled by the decorator as the modules of :mod:`validation.checks` are imported;
there is no second, hand-kept list.
"""

from __future__ import annotations

import fnmatch
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ._records import Result, Status, compare
from ._tolerance import rtol as default_rtol

__all__ = ["Check", "Context", "check", "registered", "select", "UnknownCheckError", "SIZES"]

SIZES = ("small", "paper", "large")


class UnknownCheckError(ValueError):
    """A check id or prefix matched nothing."""


@dataclass(frozen=True)
class Check:
    id: str
    theorem: str
    fn: Callable[["Context"], list[Result]]
    description: str
    claim: str


_REGISTRY: dict[str, Check] = {}


def check(id: str, theorem: str, description: str, claim: str = "background"):
    """Register ``fn(ctx) -> list[Result]`` under a stable dotted ``id``."""

    def deco(fn):
        if id in _REGISTRY:
            raise RuntimeError(f"check id registered twice: {id}")
        _REGISTRY[id] = Check(id=id, theorem=theorem, fn=fn, description=description,
                              claim=claim)
        return fn

    return deco


def registered() -> list[Check]:
    """All checks, in registration order (imports :mod:`validation.checks`)."""
    from . import checks  # noqa: F401  (populates the registry)

    return list(_REGISTRY.values())


def select(patterns: list[str] | None) -> list[Check]:
    """Checks whose id equals, starts with (``prefix`` or ``prefix.``) or globs a pattern."""
    allc = registered()
    if not patterns:
        return allc
    out: list[Check] = []
    for pat in patterns:
        hit = [c for c in allc if c.id == pat or c.id.startswith(pat.rstrip(".") + ".")
               or fnmatch.fnmatchcase(c.id, pat)]
        if not hit:
            raise UnknownCheckError(f"check: unknown check id or prefix {pat!r} "
                                    f"(see 'specdef list --checks')")
        out.extend(c for c in hit if c not in out)
    return out


def _default_defence(W, alpha, k):
    from specdef.numerics import specdef

    return specdef(W, alpha, k)


@dataclass
class Context:
    """Everything a check may depend on; a check must not read any other global state."""

    backend: str = "numpy"
    dtype: str = "float64"
    seed: int = 0
    size: str = "small"
    perturb: dict[str, float] = field(default_factory=dict)
    defence: Callable[..., Any] = _default_defence
    defence_name: str = "specdef"
    version: str = ""

    def __post_init__(self) -> None:
        if self.backend not in ("numpy", "cupy", "array_api_strict"):
            raise ValueError(f"check: backend must be numpy, cupy or array_api_strict, "
                             f"got {self.backend!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) \
                or self.seed < 0:
            raise ValueError(f"check: seed must be an integer >= 0, got {self.seed!r}")
        if not callable(self.defence):
            raise ValueError(f"check: defence must be a callable (W, alpha, k) -> (W_inflated, C), "
                             f"got {type(self.defence).__name__}")
        if self.size not in SIZES:
            raise ValueError(f"check: size must be one of {', '.join(SIZES)}, got {self.size!r}")
        if self.dtype not in ("float64", "float32"):
            raise ValueError(f"check: dtype must be float64 or float32, got {self.dtype!r}")
        if not self.version:
            from specdef.numerics import __version__

            self.version = __version__

    @property
    def xp(self) -> Any:
        from specdef.numerics import namespace_for

        return namespace_for(self.backend)

    def pick(self, small: Any, paper: Any, large: Any | None = None) -> Any:
        """The value for this run's size."""
        return {"small": small, "paper": paper, "large": large if large is not None else paper}[
            self.size]

    def rng(self, salt: str) -> np.random.Generator:
        """A generator seeded by (seed, salt): checks are independent of the order they run in."""
        return np.random.default_rng([self.seed, zlib.crc32(salt.encode())])

    def asarray(self, x: Any, dtype: str | None = None) -> Any:
        """Host data onto this run's backend in this run's dtype (or ``dtype``)."""
        from specdef.numerics import asarray

        return asarray(x, xp=self.xp, dtype=dtype or self.dtype)

    def theorem(self, theorem_id: str):
        from specdef import theory

        return theory.get(theorem_id)

    def proven(self, theorem_id: str, **params: Any) -> float:
        """The theorem's bound at ``params``, times any planted perturbation for that theorem."""
        value = self.theorem(theorem_id).evaluate(**params)
        return float(value) * float(self.perturb.get(theorem_id, 1.0))

    def result(self, check: str, theorem: str, params: dict, empirical: Any, proven: Any, *,
               rtol: float | None = None, status: str | None = None, side: str = "upper",
               kind: str | None = None, **extra: Any) -> Result:
        """Build a record; the status follows from the theorem's kind unless given."""
        th = self.theorem(theorem)
        tol = default_rtol(self.dtype) if rtol is None else float(rtol)
        emp = None if empirical is None else float(empirical)
        prv = None if proven is None else float(proven)
        if status is None:
            if emp is None or prv is None:
                status = Status.ERROR
            else:
                status = compare(kind or th.kind, emp, prv, tol, side=side)
        expectation = extra.pop("expectation", th.expectation)
        return Result(check=check, theorem=theorem, params=dict(params), empirical=emp,
                      proven=prv, rtol=tol, status=status, expectation=expectation,
                      backend=self.backend, dtype=self.dtype, seed=self.seed,
                      version=self.version, **extra)
