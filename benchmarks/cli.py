"""``specdef bench`` (filled in by the benchmarks change)."""

from __future__ import annotations


def add_commands(sub) -> None:
    """Register the benchmark command on the ``specdef`` sub-parser (none yet)."""
