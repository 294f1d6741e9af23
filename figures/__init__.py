"""Publication figures rendered from saved results files, byte for byte reproducible.

One module per figure (``fig1_…`` to ``fig7_…``), each with ``NAME``, ``CHECKS`` (the check
ids it reads), ``SIZE`` (inches), ``make(results) -> Figure`` and ``main()``.  A figure reads a
``results.json`` only and never reruns an experiment: each record carries the proven values it
plots.  This package imports no other package of the toolkit, and imports matplotlib (Agg
backend) only when a figure is drawn.

>>> from specdef import figures
>>> figures.names()[:2]
['gd_worst_case', 'specdef_alpha']
>>> made, failed = figures.render_all("reproduce/results.json", "out")  # doctest: +SKIP

Command line: ``specdef figures [--results DIR] [--out DIR] [--only NAME ...]
[--format pdf,png]``, or ``python -m specdef.figures.<module>`` for one figure.
"""

from __future__ import annotations

from ._registry import (FigureSpec, figure_specs, get, main_for, make, names, parse_formats,
                        render, render_all)
from ._results import MissingDataError, load_results
from ._style import COLORS, DOUBLE, DPI, FORMATS, MARKERS, PALETTE, SINGLE, save_figure

__all__ = ["FigureSpec", "figure_specs", "get", "main_for", "make", "names", "parse_formats",
           "render", "render_all", "MissingDataError", "load_results", "COLORS", "DOUBLE",
           "DPI", "FORMATS", "MARKERS", "PALETTE", "SINGLE", "save_figure"]
