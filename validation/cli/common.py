"""What the ``specdef`` subcommands share: usage errors, the parser class, table formatting,
the run options and the :class:`~specdef.validation.engine.registry.Context` they build, and the
verdict table of a run.

Subcommand modules import this module, never each other or the entry point (:mod:`.main`).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable

__all__ = ["UsageError", "Parser", "fmt", "table", "load_defence", "context", "print_report",
           "seed", "add_run_options"]


class UsageError(Exception):
    """A bad command line: one line on stderr, exit status 2."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit status 2 (:class:`UsageError`)."""

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


def load_defence(spec: str | None) -> tuple[Callable[..., Any] | None, str]:
    """``--defence MODULE:FUNCTION``: the callable and its name (``None, "specdef"`` if unset)."""
    if not spec:
        return None, "specdef"
    import importlib

    mod, sep, fn = spec.partition(":")
    if not sep or not mod or not fn:
        raise UsageError(f"specdef check: --defence must look like module:function, got {spec!r}")
    try:
        obj = getattr(importlib.import_module(mod), fn)
    except (ImportError, AttributeError) as exc:
        raise UsageError(f"specdef check: --defence {spec!r} cannot be loaded ({exc})") from None
    if not callable(obj):
        raise UsageError(f"specdef check: --defence {spec!r} is not callable")
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


def print_report(report, *, file=sys.stdout) -> None:
    """The verdict table of a run and its one-line summary."""
    rows = [[r.check, r.status, "pass" if r.passed else "FAIL", fmt(r.empirical),
             fmt(r.proven), fmt(r.ratio), fmt(r.rtol), r.detail[:70]]
            for r in report.results]
    print(table(rows, ["check", "status", "verdict", "empirical", "proven", "ratio", "rtol",
                        "detail"]), file=file)
    n_pass = sum(r.passed for r in report.results)
    print(f"\n{n_pass} of {len(report.results)} results match their expectation "
          f"({len({r.check for r in report.results})} checks; backend={report.meta['backend']}, "
          f"dtype={report.meta['dtype']}, size={report.meta['size']}, "
          f"seed={report.meta['seed']})", file=file)


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
    """The options of a run of checks: backend, dtype, seed, size, defence, progress."""
    p.add_argument("--backend", choices=("numpy", "cupy"), default="numpy")
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--size", choices=("small", "paper", "large"), default="small")
    p.add_argument("--defence", metavar="MODULE:FUNCTION", default=None,
                   help="a function (W, alpha, k) -> (W_inflated, C) replacing SpecDef")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
