"""The shared harness: warm-up, interleaved repeats, medians, the result record, the table.

Every benchmark times the toolkit and a baseline *side by side in one run*: after a warm-up of
each, the two are run alternately, so that a machine loaded by other work slows both alike, and
the median of the repetitions is quoted.  A call faster than :data:`MIN_TIME` is repeated
``number`` times inside one repetition (as :mod:`timeit` does) and the per-call time is quoted.
Nothing is reported without its accuracy: a :class:`BenchResult` carries both errors next to
both times.
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Callable

__all__ = ["BenchConfig", "BenchResult", "Timing", "compare", "interleave", "measure",
           "progress", "register", "registry", "sync"]

MIN_TIME = 0.02  # seconds: a repetition shorter than this is repeated `number` times
_REGISTRY: dict[str, Callable[..., list["BenchResult"]]] = {}


@dataclass(frozen=True)
class BenchConfig:
    """How to run: ``quick`` sizes, backend, repetitions, progress bar."""

    quick: bool = False
    backend: str = "numpy"
    repeats: int | None = None  # None: 3 (quick) or 5
    progress: bool = False

    @property
    def n_repeats(self) -> int:
        return self.repeats if self.repeats is not None else (3 if self.quick else 5)

    @property
    def slow_seconds(self) -> float | None:
        """A slow baseline stops repeating after this many seconds (quick runs only)."""
        return 20.0 if self.quick else None

    @property
    def xp(self) -> Any:
        from specdef.numerics import namespace_for

        return namespace_for(self.backend)


@dataclass
class BenchResult:
    """One row: a problem size, the toolkit against a baseline, both timed and both checked.

    Attributes
    ----------
    family, case : str
        Benchmark family (``gd_worst_case``, ...) and the row within it (``n=5``, ...).
    size : str
        The problem size in words (``"d=128: 32768-row Hessian"``).
    toolkit, baseline : str
        What was timed on each side (``baseline`` is ``None`` for a toolkit-alone row).
    t_toolkit, t_baseline : float
        Median seconds per call over ``repeats`` repetitions after a warm-up.
    ratio : float or None
        ``t_baseline / t_toolkit``: how many times faster the toolkit is.
    err_toolkit, err_baseline : float
        Error of each against ``reference`` (relative unless ``note`` says otherwise).
    reference : str
        The independent reference both were checked against.
    target, met : str, bool or None
        The target of the issue for this row and whether it was met (``None``: no target).
    """

    family: str
    case: str
    size: str
    toolkit: str
    baseline: str | None
    t_toolkit: float
    t_baseline: float | None
    err_toolkit: float
    err_baseline: float | None
    reference: str
    target: str = ""
    met: bool | None = None
    note: str = ""
    backend: str = "numpy"
    repeats: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.t_baseline is None or not self.t_toolkit > 0:
            return None
        return self.t_baseline / self.t_toolkit

    @classmethod
    def from_dict(cls, d: dict) -> "BenchResult":
        """Inverse of :meth:`to_dict` (``None`` times and errors become NaN where required)."""
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        for k in ("t_toolkit", "err_toolkit"):
            kw[k] = math.nan if kw.get(k) is None else kw[k]
        return cls(**kw)

    def to_dict(self) -> dict:
        """JSON-safe dict (non-finite floats become ``None``), with ``ratio`` included."""
        d = asdict(self)
        d["ratio"] = self.ratio
        return _json_safe(d)


def _json_safe(x: Any) -> Any:
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {str(k): _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    if hasattr(x, "item") and getattr(x, "ndim", 1) == 0:
        return _json_safe(x.item())
    return x


@dataclass(frozen=True)
class Timing:
    """Per-call times of the repetitions (seconds), their median, and the last value returned."""

    times: tuple[float, ...]
    number: int
    value: Any = None

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def register(name: str) -> Callable:
    """Decorator: add a benchmark family ``fn(cfg, **sizes) -> list[BenchResult]``."""

    def deco(fn: Callable) -> Callable:
        if name in _REGISTRY:
            raise ValueError(f"register: benchmark {name!r} is already registered")
        _REGISTRY[name] = fn
        return fn

    return deco


def registry() -> dict[str, Callable[..., list[BenchResult]]]:
    """The registered benchmark families, in registration order."""
    return dict(_REGISTRY)


def sync(xp: Any = None) -> None:
    """Wait for the device (CuPy) so that a timer measures finished work; no-op on NumPy."""
    if xp is not None and "cupy" in getattr(xp, "__name__", ""):
        import cupy

        cupy.cuda.Device().synchronize()


def _once(fn: Callable[[], Any], number: int, xp: Any) -> tuple[float, Any]:
    sync(xp)
    t0 = time.perf_counter()
    for _ in range(number):
        value = fn()
    sync(xp)
    return (time.perf_counter() - t0) / number, value


def _calibrate(fn: Callable[[], Any], xp: Any, warmup: bool) -> tuple[int, Any]:
    """Warm up (one call) and pick ``number`` so that a repetition lasts >= MIN_TIME."""
    t, value = _once(fn, 1, xp) if warmup else (math.inf, None)
    if t >= MIN_TIME:
        return 1, value
    t, value = _once(fn, 1, xp)  # the warm-up call may include one-off costs
    return max(1, min(100_000, math.ceil(MIN_TIME / max(t, 1e-9)))), value


def measure(fn: Callable[[], Any], *, repeats: int, xp: Any = None, warmup: bool = True,
            number: int | None = None) -> Timing:
    """Median-ready timing of ``fn()``: a warm-up, then ``repeats`` timed repetitions."""
    if number is None:
        number, _ = _calibrate(fn, xp, warmup)
    elif warmup:
        _once(fn, 1, xp)
    out = [_once(fn, number, xp) for _ in range(repeats)]
    return Timing(tuple(t for t, _ in out), number, out[-1][1])


def compare(toolkit: Callable[[], Any], baseline: Callable[[], Any] | None, *, repeats: int,
            xp: Any = None, warmup_toolkit: Callable[[], Any] | None = None,
            warmup_baseline: Callable[[], Any] | None = None,
            baseline_repeats: int | None = None,
            baseline_seconds: float | None = None) -> tuple[Timing, Timing | None]:
    """Time ``toolkit`` and ``baseline`` alternately (same load on both); return both timings.

    ``warmup_toolkit`` / ``warmup_baseline`` replace a side's warm-up call (a smaller problem
    through the same code paths) when one call costs seconds; that side is then timed one call
    per repetition.  ``baseline_repeats`` (default ``repeats``) caps the repetitions of a slow
    baseline, and ``baseline_seconds`` stops them once the baseline has used that many seconds
    (at least one repetition is always timed; ``Timing.times`` says how many were).
    """
    if warmup_toolkit is not None:
        warmup_toolkit()
        n_tk = 1
    else:
        n_tk, _ = _calibrate(toolkit, xp, True)
    n_bl = 1
    if baseline is not None:
        if warmup_baseline is not None:
            warmup_baseline()
        else:
            n_bl, _ = _calibrate(baseline, xp, True)
    r_bl = repeats if baseline_repeats is None else max(1, min(repeats, baseline_repeats))
    tk, bl = [], []
    for i in range(repeats):
        tk.append(_once(toolkit, n_tk, xp))
        spent = sum(t * n_bl for t, _ in bl)
        if baseline is not None and i < r_bl and (
                not bl or baseline_seconds is None or spent < baseline_seconds):
            bl.append(_once(baseline, n_bl, xp))
    t_tk = Timing(tuple(t for t, _ in tk), n_tk, tk[-1][1])
    t_bl = Timing(tuple(t for t, _ in bl), n_bl, bl[-1][1]) if bl else None
    return t_tk, t_bl


def interleave(fns: dict[str, Callable[[], Any]], *, repeats: int, xp: Any = None,
               warmups: dict[str, Callable[[], Any]] | None = None,
               max_seconds: float | None = None) -> dict[str, Timing]:
    """Time several callables round-robin (each repetition runs every one once).

    A name in ``warmups`` is warmed up by that callable instead of itself and timed one call
    per repetition; others are calibrated as in :func:`measure`.  A callable stops repeating
    once it has used ``max_seconds`` (after at least one repetition).
    """
    warmups = warmups or {}
    number = {}
    for name, fn in fns.items():
        if name in warmups:
            warmups[name]()
            number[name] = 1
        else:
            number[name], _ = _calibrate(fn, xp, True)
    runs: dict[str, list] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            spent = sum(t * number[name] for t, _ in runs[name])
            if runs[name] and max_seconds is not None and spent >= max_seconds:
                continue
            runs[name].append(_once(fn, number[name], xp))
    return {name: Timing(tuple(t for t, _ in r), number[name], r[-1][1])
            for name, r in runs.items()}


def progress(iterable: Any, cfg: BenchConfig, desc: str, total: int | None = None) -> Any:
    """``tqdm`` on stderr when ``cfg.progress``, else the iterable itself."""
    if not cfg.progress:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, desc=desc, total=total, file=sys.stderr, leave=False)
