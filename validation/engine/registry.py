"""Check registry and the context a check runs in.

A check is a function ``fn(ctx) -> list[Result]`` registered with :func:`check`.  The
registry is filled by the decorator as the family packages under
:mod:`specdef.validation.checks` are imported; there is no second, hand-kept list.

Registration goes one way: a family imports this module; this module never imports a family
by name.  :func:`registered` *discovers* the families by walking
:mod:`specdef.validation.checks` with :mod:`pkgutil` (every subpackage is a family; plain
modules such as ``common`` are shared helpers, not families) and imports each one.

Order.  Checks are listed and run in a stable, documented order:

1. by family, in ascending order of the family's ``ORDER`` constant (an ``int`` in its
   ``__init__``; every family must define one, and no two may share it), so the order does not
   depend on how the file system or :mod:`pkgutil` lists the packages;
2. within a family, in the order its checks were registered, which is the order in which the
   family's ``__init__`` imports its modules and, inside a module, the order of the decorators;
3. checks registered outside :mod:`specdef.validation.checks` (a test's, a user's) come last, in
   registration order.
"""

from __future__ import annotations

import fnmatch
import importlib
import pkgutil
import zlib
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Callable

import numpy as np

from .records import Result, Status, compare
from .tolerance import rtol as default_rtol

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
_FAMILY_OF: dict[str, str | None] = {}   # check id -> family package name (None: outside)
_FAMILIES: list[ModuleType] | None = None  # the discovered families, in ORDER


def _checks_package() -> ModuleType:
    from .. import checks

    return checks


def _family_of(module: str) -> str | None:
    """``"c1"`` for ``specdef.validation.checks.c1.steps``; ``None`` outside the checks."""
    prefix = _checks_package().__name__ + "."
    if not module.startswith(prefix):
        return None
    name = module[len(prefix):].split(".")[0]
    return name if name != "common" else None


def check(id: str, theorem: str, description: str, claim: str = "background"):
    """Register ``fn(ctx) -> list[Result]`` under a stable dotted ``id``."""

    def deco(fn):
        if id in _REGISTRY:
            raise RuntimeError(f"check id registered twice: {id}")
        _REGISTRY[id] = Check(id=id, theorem=theorem, fn=fn, description=description,
                              claim=claim)
        _FAMILY_OF[id] = _family_of(getattr(fn, "__module__", "") or "")
        return fn

    return deco


def families() -> list[ModuleType]:
    """The family packages under :mod:`specdef.validation.checks`, discovered and imported,
    in ascending ``ORDER``.

    Raises
    ------
    RuntimeError
        If a family has no integer ``ORDER`` or two families share one.
    """
    global _FAMILIES
    if _FAMILIES is None:
        pkg = _checks_package()
        found = [importlib.import_module(info.name)
                 for info in pkgutil.iter_modules(pkg.__path__, pkg.__name__ + ".")
                 if info.ispkg]
        seen: dict[int, str] = {}
        for mod in found:
            order = getattr(mod, "ORDER", None)
            if isinstance(order, bool) or not isinstance(order, int):
                raise RuntimeError(f"check family {mod.__name__} must define an integer ORDER "
                                   f"(its place in the list of checks), got {order!r}")
            if order in seen:
                raise RuntimeError(f"check families {seen[order]} and {mod.__name__} share "
                                   f"ORDER = {order}")
            seen[order] = mod.__name__
        _FAMILIES = sorted(found, key=lambda m: m.ORDER)
    return list(_FAMILIES)


def registered() -> list[Check]:
    """All checks, in the documented order (discovers and imports the families)."""
    rank = {m.__name__.rpartition(".")[2]: k for k, m in enumerate(families())}
    seq = {cid: k for k, cid in enumerate(_REGISTRY)}
    last = len(rank)
    return sorted(_REGISTRY.values(),
                  key=lambda c: (rank.get(_FAMILY_OF.get(c.id) or "", last), seq[c.id]))


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
