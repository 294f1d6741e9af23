"""``specdef figures`` and ``specdef reproduce`` (filled in by the figures change)."""

from __future__ import annotations


def add_commands(sub, add_run_options) -> None:
    """Register the figure commands on the ``specdef`` sub-parser (none yet)."""
