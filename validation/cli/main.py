"""The ``specdef`` command: list theorems and checks, run checks, make figures, reproduce, bench.

The entry point: builds the parser from the subcommand modules (:mod:`.list`, :mod:`.check`,
:mod:`.figures`, :mod:`.reproduce`, :mod:`.bench`, in that order in ``--help``) and turns usage
errors into one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import os
import sys

from . import bench, certify, check, figures, list as list_, reproduce
from .common import Parser, UsageError

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    from specdef.numerics import __version__

    p = Parser(prog="specdef", description="Numerical verification of convergence-rate "
               "control bounds (SpecDef): theorems, checks, figures.")
    p.add_argument("--version", action="version", version=f"specdef-toolkit {__version__}")
    sub = p.add_subparsers(dest="command", parser_class=Parser, metavar="COMMAND")
    sub.required = True
    for command in (list_, check, certify, figures, reproduce, bench):
        command.add_parser(sub)
    for action in sub._choices_actions:  # each subcommand's --help opens with its summary
        parser = sub.choices[action.dest]
        if not parser.description:
            parser.description = action.help[:1].upper() + action.help[1:] + "."
    return p


def _quiet_stdout() -> None:
    """After a closed pipe (``specdef list | head -1``): send what is left to /dev/null, so the
    interpreter's final flush does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        parser = build_parser()
        if not argv:  # bare `specdef`: the usage, not an error
            parser.print_help()
            return 0
        args = parser.parse_args(argv)
        if getattr(args, "resume", False) and not getattr(args, "out", None):
            raise UsageError("specdef check: --resume needs --out DIR")
        status = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler below
        return status
    except BrokenPipeError:  # the reader went away: the Unix convention is to stop quietly
        _quiet_stdout()
        return 0
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("specdef: interrupted; finished checks are saved (rerun with --resume)",
              file=sys.stderr)
        return 130
    except (ValueError, RuntimeError, OSError) as exc:
        if isinstance(exc, (ValueError, OSError)) or type(exc).__name__ == "LockedError":
            print(f"specdef: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
                  file=sys.stderr)
            return 2
        raise
