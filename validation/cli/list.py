"""``specdef list``: the theorems (id, kind, expectation, verdict) or, with ``--checks``, the
checks in their registered order."""

from __future__ import annotations

import argparse

from .common import table

__all__ = ["add_parser", "cmd_list"]


def add_parser(sub) -> None:
    """Register ``list`` on the ``specdef`` sub-parser."""
    pl = sub.add_parser("list", help="list theorems (id, kind, expectation, verdict) or checks")
    pl.add_argument("--checks", action="store_true", help="list the checks instead")
    pl.add_argument("--no-prove", dest="prove", action="store_false",
                    help="skip the proof attempts (faster)")
    pl.set_defaults(func=cmd_list)


def cmd_list(args: argparse.Namespace) -> int:
    from specdef import theory

    if args.checks:
        from ..engine.registry import registered

        rows = [[c.id, c.claim, c.theorem, c.description] for c in registered()]
        print(table(rows, ["check", "claim", "theorem", "description"]))
        return 0
    rows = []
    for tid in theory.ids():
        th = theory.get(tid)
        v = th.prove() if args.prove else None
        rows.append([tid, th.kind, th.expectation, ", ".join(th.parameters),
                     f"{v.status} ({v.detail})" if v else "-"])
    print(table(rows, ["theorem", "kind", "expectation", "parameters", "verdict"]))
    return 0
