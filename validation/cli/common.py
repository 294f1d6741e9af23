"""What the ``specdef`` subcommands share: usage errors, the parser class, table formatting,
the run options and the :class:`~specdef.validation.engine.registry.Context` they build, and the
verdict table of a run.

Subcommand modules import this module, never each other or the entry point (:mod:`.main`).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable

__all__ = ["UsageError", "Parser", "fmt", "table", "load_defence", "validate_defence", "context",
           "print_report", "seed", "jobs", "add_run_options", "add_placement_options",
           "run_options", "show_progress", "plural"]


class UsageError(Exception):
    """A bad command line: one line on stderr, exit status 2."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit status 2 (:class:`UsageError`),
    and whose ``--help`` shows every option's default."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.ArgumentDefaultsHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # one line, exit 2, no usage dump
        raise UsageError(f"{self.prog}: {message}")


def fmt(x: Any) -> str:
    """A table cell: ``-`` for ``None``, four significant digits for a float."""
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


def table(rows: list[list[str]], header: list[str]) -> str:
    """Left-aligned columns under a header and a rule."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    line = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def _import_defence_module(target: str, spec: str) -> Any:
    """The module named by the part of ``--defence`` before the colon: a ``.py`` file path, or
    a module importable from the current directory or the installed packages."""
    import importlib
    import importlib.util
    import os
    from pathlib import Path

    if target.endswith(".py") or "/" in target or os.sep in target:
        path = Path(target)
        if not path.is_file():
            raise UsageError(f"specdef: --defence {spec!r}: no such file {target!r}")
        name = f"specdef_user_defence_{abs(hash(str(path.resolve())))}"
        loader_spec = importlib.util.spec_from_file_location(name, path)
        if loader_spec is None or loader_spec.loader is None:
            raise UsageError(f"specdef: --defence {spec!r}: {target!r} is not a Python file")
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[name] = module
        loader_spec.loader.exec_module(module)
        return module
    cwd = os.getcwd()
    if "" not in sys.path and cwd not in sys.path:  # `python -m` and scripts differ here
        sys.path.insert(0, cwd)
    return importlib.import_module(target)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def validate_defence(defence: Callable[..., Any], spec: str) -> None:
    """Run ``defence`` once on a small fixed layer and refuse (:class:`UsageError`, one line)
    anything but a pair of finite arrays ``(W_inflated, C)`` of shapes ``(m, n)`` and ``(m, m)``.

    A pair that does not preserve the function is accepted here: the check
    ``specdef.function_preservation`` measures and reports it.
    """
    import numpy as np

    m, n, alpha, k = 6, 4, 10.0, 2
    W = np.random.default_rng(0).standard_normal((m, n))
    where = f"specdef: --defence {spec!r}"
    try:
        out = defence(W.copy(), alpha, k)
    except Exception as exc:  # a user's function: any failure is a usage error, one line
        raise UsageError(f"{where} raised {_one_line(exc)} on a {m}x{n} layer "
                         f"(alpha={alpha:g}, k={k})") from None
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise UsageError(f"{where} must return a pair (W_inflated, C), got "
                         f"{type(out).__name__}{'' if out is None else ' ' + repr(out)[:40]}")
    expected = {"W_inflated": (m, n), "C": (m, m)}
    for (label, shape), value in zip(expected.items(), out):
        try:
            arr = np.asarray(getattr(value, "get", lambda: value)(), dtype=float)
        except (TypeError, ValueError):
            raise UsageError(f"{where}: {label} must be a numeric array, got "
                             f"{type(value).__name__}") from None
        if arr.shape != shape:
            raise UsageError(f"{where}: {label} must have shape {shape} for a {m}x{n} W, "
                             f"got {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise UsageError(f"{where}: {label} has non-finite entries")


def load_defence(spec: str | None) -> tuple[Callable[..., Any] | None, str]:
    """``--defence TARGET:FUNCTION``: the callable and its name (``None, "specdef"`` if unset).

    ``TARGET`` is a ``.py`` file (``./mydef.py``, ``path/to/defence.py``) or a module importable
    from the current directory or the environment (``mydef``, ``pkg.defences``).  The function is
    called once on a small layer and its output validated (:func:`validate_defence`) before any
    check runs.
    """
    if not spec:
        return None, "specdef"
    target, sep, fn = spec.rpartition(":")
    if not sep or not target or not fn:
        raise UsageError(f"specdef: --defence must look like module:function or "
                         f"path/to/file.py:function, got {spec!r}")
    try:
        module = _import_defence_module(target, spec)
        obj = getattr(module, fn)
    except UsageError:
        raise
    except AttributeError:
        raise UsageError(f"specdef: --defence {spec!r}: {target!r} has no function "
                         f"{fn!r}") from None
    except Exception as exc:  # ImportError, or anything the user's module raises on import
        raise UsageError(f"specdef: --defence {spec!r} cannot be loaded "
                         f"({_one_line(exc)})") from None
    if not callable(obj):
        raise UsageError(f"specdef: --defence {spec!r} is not callable")
    validate_defence(obj, spec)
    return obj, spec


def context(args: argparse.Namespace):
    """The :class:`~specdef.validation.engine.registry.Context` of the run options in ``args``."""
    from ..engine.registry import Context

    defence, name = load_defence(getattr(args, "defence", None))
    if args.backend == "cupy":
        from specdef.numerics import namespace_for

        namespace_for("cupy")  # raises a one-line BackendUnavailableError
    kw = dict(backend=args.backend, dtype=args.dtype, seed=args.seed, size=args.size,
              defence_name=name)
    if defence is not None:
        kw["defence"] = defence
    return Context(**kw)


def print_report(report, *, file=None) -> None:
    """The verdict table of a run, the data records apart, and a one-line summary.

    Verdict records (pass or FAIL) come first; ``MEASURED`` records (data, not verdicts: counts,
    reference values, quantities no theorem predicts) follow under "data (not verdicts)" with
    no verdict column, so a data record never reads as a pass.
    """
    file = sys.stdout if file is None else file  # the stream of the moment (capture)
    verdicts = [r for r in report.results if not r.is_data]
    data = [r for r in report.results if r.is_data]
    rows = [[r.check, r.status, "pass" if r.passed else "FAIL", fmt(r.empirical),
             fmt(r.proven), fmt(r.ratio), fmt(r.rtol), r.detail]
            for r in verdicts]
    print(table(rows, ["check", "status", "verdict", "empirical", "proven", "ratio", "rtol",
                        "detail"]), file=file)
    if data:
        print("\ndata (not verdicts)", file=file)
        rows = [[r.check, r.status, fmt(r.empirical), fmt(r.proven), r.detail]
                for r in data]
        print(table(rows, ["check", "status", "measured", "reference", "detail"]), file=file)
    n_pass = sum(r.passed for r in verdicts)
    n_checks = plural(len({r.check for r in report.results}), "check")
    print(f"\n{n_pass} of {plural(len(verdicts), 'verdict')} match their expectation"
          + (f", {plural(len(data), 'data record')}" if data else "")
          + f" ({n_checks}; backend={report.meta['backend']}, "
          f"dtype={report.meta['dtype']}, size={report.meta['size']}, "
          f"seed={report.meta['seed']})", file=file)


def show_progress(args: argparse.Namespace) -> bool:
    """Progress bars only on a terminal, and never with ``--no-progress``."""
    return not getattr(args, "no_progress", False) and sys.stderr.isatty()


def plural(n: int, word: str) -> str:
    """``1 check``, ``2 checks``."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def seed(text: str) -> int:
    """``--seed``: an integer >= 0 (what ``numpy.random.default_rng`` accepts)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text!r}")
    return value


def add_run_options(p: argparse.ArgumentParser) -> None:
    """The options of a run of checks: backend, dtype, seed, size, defence, progress, and where
    the checks run (``-j N`` local worker processes or ``--scheduler`` a Dask cluster)."""
    p.add_argument("--backend", choices=("numpy", "cupy"), default="numpy",
                   help="array backend (cupy needs a CUDA GPU)")
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                   help="working precision of the kernels")
    p.add_argument("--seed", type=seed, default=0, help="seed of every random instance")
    p.add_argument("--size", choices=("small", "paper", "large"), default="small",
                   help="small: reduced grids, a few minutes for every check on 2 cores; "
                   "paper: the paper's parameter grids, several times longer; large: the "
                   "largest instances (joint Hessians up to d = 8192), for a GPU or a long run")
    p.add_argument("--defence", metavar="TARGET:FUNCTION", default=None,
                   help="a function (W, alpha, k) -> (W_inflated, C) replacing SpecDef; TARGET "
                   "is a module (importable from here) or a path/to/file.py")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar (bars are shown only when stderr is a terminal)")
    add_placement_options(p)


def add_placement_options(p: argparse.ArgumentParser, unit: str = "checks") -> None:
    """``-j N`` (local worker processes) or ``--scheduler ADDRESS`` (a Dask cluster): where the
    independent ``unit`` of a run go (read back by :func:`run_options`)."""
    where = p.add_mutually_exclusive_group()
    where.add_argument("-j", "--jobs", type=jobs, default=1, metavar="N",
                       help=f"run independent {unit} in N worker processes, one BLAS thread "
                       "each (the results are the same for every N)")
    where.add_argument("--scheduler", metavar="ADDRESS", default=None,
                       help=f"run the {unit} on the Dask cluster whose scheduler listens at "
                       "ADDRESS (e.g. tcp://host:8786; needs the 'dask' extra); this process "
                       "alone writes the results")


def jobs(text: str) -> int:
    """``-j``: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return value


def _worker_defence(spec: str) -> Callable[..., Any]:
    """The defence of ``--defence spec``, loaded again inside a worker process (cached)."""
    if spec not in _WORKER_DEFENCES:
        _WORKER_DEFENCES[spec] = load_defence(spec)[0]
    return _WORKER_DEFENCES[spec]


_WORKER_DEFENCES: dict[str, Callable[..., Any]] = {}


def run_options(args: argparse.Namespace) -> dict:
    """Where the checks of a run go: the ``jobs``, ``scheduler`` and ``defence_loader``
    arguments of :func:`~specdef.validation.engine.runner.run_checks` for ``-j``, ``--scheduler``
    and ``--defence`` (which workers re-load from its spec, a file path made absolute)."""
    import functools
    import os

    spec = getattr(args, "defence", None)
    loader = None
    if spec:
        target, _, fn = spec.rpartition(":")
        if target.endswith(".py") or "/" in target or os.sep in target:
            target = os.path.abspath(target)
        loader = functools.partial(_worker_defence, f"{target}:{fn}")
    return {"jobs": getattr(args, "jobs", 1), "scheduler": getattr(args, "scheduler", None),
            "defence_loader": loader}
