"""The ``specdef`` command: list theorems and checks, run checks, make figures, reproduce."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable

__all__ = ["main", "build_parser"]


class UsageError(Exception):
    """A bad command line: one line on stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, no usage dump
        raise UsageError(f"{self.prog}: {message}")


def _fmt(x: Any) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    line = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def cmd_list(args: argparse.Namespace) -> int:
    from specdef import theory

    if args.checks:
        from ._registry import registered

        rows = [[c.id, c.claim, c.theorem, c.description] for c in registered()]
        print(_table(rows, ["check", "claim", "theorem", "description"]))
        return 0
    rows = []
    for tid in theory.ids():
        th = theory.get(tid)
        v = th.prove() if args.prove else None
        rows.append([tid, th.kind, th.expectation, ", ".join(th.parameters),
                     f"{v.status} ({v.detail})" if v else "-"])
    print(_table(rows, ["theorem", "kind", "expectation", "parameters", "verdict"]))
    return 0


def _load_defence(spec: str | None) -> tuple[Callable[..., Any] | None, str]:
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


def _context(args: argparse.Namespace):
    from ._registry import Context

    defence, name = _load_defence(getattr(args, "defence", None))
    if args.backend == "cupy":
        from specdef.numerics import namespace_for

        namespace_for("cupy")  # raises a one-line BackendUnavailableError
    kw = dict(backend=args.backend, dtype=args.dtype, seed=args.seed, size=args.size,
              defence_name=name)
    if defence is not None:
        kw["defence"] = defence
    return Context(**kw)


def print_report(report, *, file=sys.stdout) -> None:
    rows = [[r.check, r.status, "pass" if r.passed else "FAIL", _fmt(r.empirical),
             _fmt(r.proven), _fmt(r.ratio), _fmt(r.rtol), r.detail[:70]]
            for r in report.results]
    print(_table(rows, ["check", "status", "verdict", "empirical", "proven", "ratio", "rtol",
                        "detail"]), file=file)
    n_pass = sum(r.passed for r in report.results)
    print(f"\n{n_pass} of {len(report.results)} results match their expectation "
          f"({len({r.check for r in report.results})} checks; backend={report.meta['backend']}, "
          f"dtype={report.meta['dtype']}, size={report.meta['size']}, "
          f"seed={report.meta['seed']})", file=file)


def cmd_check(args: argparse.Namespace) -> int:
    from ._registry import select
    from ._runner import run_checks

    ctx = _context(args)
    checks = select(args.ids)
    try:
        report = run_checks(checks, ctx, out=args.out, resume=args.resume,
                            progress=not args.no_progress)
    except OSError as exc:  # the output directory cannot be created, locked or written
        reason = exc.strerror or (str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        raise UsageError(f"specdef check: --out {args.out!r} cannot be used: {reason}"
                         f"{where}") from None
    if report.skipped:
        print(f"specdef: resumed; {len(report.skipped)} finished checks kept, not rerun: "
              f"{', '.join(report.skipped)}", file=sys.stderr)
    if args.json:
        json.dump({"meta": report.meta, "results": [r.to_dict() for r in report.results]},
                  sys.stdout, indent=1, allow_nan=False)
        print()
    else:
        print_report(report)
        if args.out:
            print(f"results: {args.out}/results.json")
    return 0 if report.passed else 1


def _seed(text: str) -> int:
    """``--seed``: an integer >= 0 (what ``numpy.random.default_rng`` accepts)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text!r}")
    return value


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", choices=("numpy", "cupy"), default="numpy")
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    p.add_argument("--seed", type=_seed, default=0)
    p.add_argument("--size", choices=("small", "paper", "large"), default="small")
    p.add_argument("--defence", metavar="MODULE:FUNCTION", default=None,
                   help="a function (W, alpha, k) -> (W_inflated, C) replacing SpecDef")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def build_parser() -> argparse.ArgumentParser:
    from specdef.numerics import __version__

    p = _Parser(prog="specdef", description="Numerical verification of convergence-rate "
                "control bounds (SpecDef): theorems, checks, figures.")
    p.add_argument("--version", action="version", version=f"specdef-toolkit {__version__}")
    sub = p.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")
    sub.required = True

    pl = sub.add_parser("list", help="list theorems (id, kind, expectation, verdict) or checks")
    pl.add_argument("--checks", action="store_true", help="list the checks instead")
    pl.add_argument("--no-prove", dest="prove", action="store_false",
                    help="skip the proof attempts (faster)")
    pl.set_defaults(func=cmd_list)

    pc = sub.add_parser("check", help="run checks and compare empirical values with bounds")
    pc.add_argument("ids", nargs="*", metavar="ID", help="check ids or prefixes (default: all)")
    _add_run_options(pc)
    pc.add_argument("--out", metavar="DIR", default=None, help="write DIR/results.json")
    pc.add_argument("--json", action="store_true", help="print records as JSON on stdout")
    pc.add_argument("--resume", action="store_true", help="skip checks already in DIR")
    pc.set_defaults(func=cmd_check)

    from . import _cli_figures

    _cli_figures.add_commands(sub, _add_run_options)
    from specdef.benchmarks import cli as _bench_cli

    _bench_cli.add_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if getattr(args, "resume", False) and not getattr(args, "out", None):
            raise UsageError("specdef check: --resume needs --out DIR")
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("specdef: interrupted; finished checks are saved (rerun with --resume)",
              file=sys.stderr)
        return 130
    except (ValueError, RuntimeError, OSError) as exc:
        from ._store import LockedError, ResultsFileError  # noqa: F401

        if isinstance(exc, (ValueError, OSError)) or type(exc).__name__ == "LockedError":
            print(f"specdef: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
                  file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
