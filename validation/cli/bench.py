"""``specdef bench``: the side-by-side benchmarks; the subcommand itself lives in
:mod:`specdef.benchmarks.cli`, imported only when the parser is built.
"""

from __future__ import annotations

__all__ = ["add_parser"]


def add_parser(sub) -> None:
    """Register ``bench`` on the ``specdef`` sub-parser."""
    from specdef.benchmarks import cli as bench_cli

    bench_cli.add_commands(sub)
