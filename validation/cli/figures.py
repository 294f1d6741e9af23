"""``specdef figures``: render the figures from a saved results file.

:mod:`specdef.figures` (and with it matplotlib) is imported only inside :func:`cmd_figures`, so
the other commands never pay for it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_parser", "cmd_figures"]


def add_parser(sub) -> None:
    """Register ``figures`` on the ``specdef`` sub-parser."""
    pf = sub.add_parser("figures", help="render the figures from a saved results file")
    pf.add_argument("--results", default=".", metavar="DIR",
                    help="directory holding results.json, or the file (default: .)")
    pf.add_argument("--out", default=None, metavar="DIR",
                    help="output directory (default: RESULTS_DIR/figures)")
    pf.add_argument("--only", nargs="+", default=None, metavar="NAME",
                    help="figure names (default: all; see --list)")
    pf.add_argument("--format", default="pdf,png", metavar="FMT[,FMT]",
                    help="comma-separated: pdf, png, svg (default: pdf,png)")
    pf.add_argument("--list", action="store_true", help="list the figures and exit")
    pf.set_defaults(func=cmd_figures)


def _names(only: list[str] | None) -> list[str] | None:
    if not only:
        return None
    return [n for item in only for n in item.split(",") if n]


def _results_dir(path: str) -> Path:
    p = Path(path)
    return p if p.is_dir() or p.suffix != ".json" else p.parent


def cmd_figures(args: argparse.Namespace) -> int:
    """Render figures; exit 2 (via ``ValueError``) on unknown names, bad files, missing data."""
    from specdef import figures

    if args.list:
        for spec in figures.figure_specs().values():
            print(f"{spec.name:24s} {spec.caption}")
        return 0
    fmts = figures.parse_formats(args.format)
    only = _names(args.only)
    for name in only or []:
        figures.get(name)  # unknown names fail before the results are even read
    try:
        results = figures.load_results(args.results)
    except ValueError as exc:
        if "no results file" not in str(exc):
            raise
        raise ValueError(f"{exc}; run `specdef check --out DIR` first, then "
                         f"`specdef figures --results DIR`") from None
    out = Path(args.out) if args.out else _results_dir(args.results) / "figures"
    made, failed = figures.render_all(results, out, only=only, formats=fmts)
    for name, paths in made.items():
        print(f"{name}: {', '.join(str(p) for p in paths)}")
    if failed:
        first = next(iter(failed.values()))
        more = f" ({len(failed) - 1} more figure(s) failed: {', '.join(list(failed)[1:])})" \
            if len(failed) > 1 else ""
        raise ValueError(f"{first}{more}")
    return 0
