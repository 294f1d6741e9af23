"""``specdef check``: run checks, print the verdict table (or JSON), save and resume."""

from __future__ import annotations

import argparse
import json
import sys

from .common import (UsageError, add_run_options, context, print_report, run_options,
                     show_progress)

__all__ = ["add_parser", "cmd_check"]


def add_parser(sub) -> None:
    """Register ``check`` on the ``specdef`` sub-parser."""
    pc = sub.add_parser("check", help="run checks and compare empirical values with bounds",
                        description="Run checks (all, or those whose id starts with an ID "
                        "given) and print the verdict table: each record compares a measured "
                        "value with a proven one. Exit 0 when every record meets its "
                        "expectation, 1 otherwise, 2 for a usage error. With --out DIR the "
                        "records are saved to DIR/results.json as each check finishes; "
                        "render them with `specdef figures --results DIR`.")
    pc.add_argument("ids", nargs="*", metavar="ID", help="check ids or prefixes (default: all)")
    add_run_options(pc)
    pc.add_argument("--out", metavar="DIR", default=None,
                    help="save the records to DIR/results.json (not saved without it)")
    pc.add_argument("--json", action="store_true", help="print records as JSON on stdout")
    pc.add_argument("--resume", action="store_true", help="skip checks already in DIR")
    pc.set_defaults(func=cmd_check)


def cmd_check(args: argparse.Namespace) -> int:
    from ..engine import registry
    from ..engine.runner import run_checks

    ctx = context(args)
    checks = registry.select(args.ids)
    try:
        report = run_checks(checks, ctx, out=args.out, resume=args.resume,
                            progress=show_progress(args), **run_options(args))
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
        print(f"results saved to {args.out}/results.json; figures: "
              f"specdef figures --results {args.out}", file=sys.stderr if args.json else sys.stdout)
    else:
        print("results not saved: add --out DIR to save them (then specdef figures "
              "--results DIR)", file=sys.stderr if args.json else sys.stdout)
    return 0 if report.passed else 1
