"""The figure registry: every public module of :mod:`figures` is one figure.

A figure module defines ``NAME`` (the name ``--only`` takes), ``CHECKS`` (the check ids it
reads), ``SIZE`` (width, height in inches), ``make(results) -> Figure`` and ``main()``.  Its
caption is ``CAPTION`` when the module defines it (what the figure shows, every symbol and
tolerance on it, and what to conclude: ``report.md`` prints it under the figure), else the first
paragraph of its docstring.  The registry is found by scanning the package, never
kept by hand; modules are ordered by their figure number (``fig1_…``, ``fig2_…``, …, ``fig10_…``).
"""

from __future__ import annotations

import argparse
import importlib
import math
import pkgutil
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from ._results import load_results
from ._style import FORMATS, save_figure

__all__ = ["FigureSpec", "figure_specs", "names", "get", "make", "render", "render_all",
           "parse_formats", "main_for"]


def _order(module: str) -> tuple:
    """Sort key: the figure number of ``figN_…`` (so fig2 comes before fig10), then the name."""
    m = re.match(r"fig(\d+)_", module)
    return (int(m[1]) if m else math.inf, module)


@dataclass(frozen=True)
class FigureSpec:
    """One registered figure."""

    name: str
    module: str
    caption: str
    checks: tuple[str, ...]
    size: tuple[float, float]
    make: Callable[[dict], Any]


_SPECS: dict[str, FigureSpec] | None = None


def _caption(doc: str) -> str:
    """The first paragraph of a module docstring on one line, without reST literal quotes."""
    para = doc.strip().split("\n\n", 1)[0]
    return " ".join(para.split()).replace("``", "")


def figure_specs() -> dict[str, FigureSpec]:
    """All figures by name, in module order (scans the package once)."""
    global _SPECS
    if _SPECS is None:
        pkg = importlib.import_module(__package__)
        specs: dict[str, FigureSpec] = {}
        for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: _order(m.name)):
            if info.name.startswith("_") or info.ispkg:
                continue
            mod = importlib.import_module(f"{__package__}.{info.name}")
            missing = [a for a in ("NAME", "CHECKS", "SIZE", "make", "main")
                       if not hasattr(mod, a)]
            if missing:
                raise RuntimeError(f"figures: module {info.name} lacks {', '.join(missing)}")
            if mod.NAME in specs:
                raise RuntimeError(f"figures: figure name {mod.NAME!r} defined twice")
            caption = (" ".join(str(mod.CAPTION).split()) if getattr(mod, "CAPTION", None)
                       else _caption(mod.__doc__ or mod.NAME))
            specs[mod.NAME] = FigureSpec(name=mod.NAME, module=mod.__name__, caption=caption,
                                         checks=tuple(mod.CHECKS), size=tuple(mod.SIZE),
                                         make=mod.make)
        _SPECS = specs
    return _SPECS


def names() -> list[str]:
    """Figure names, in order."""
    return list(figure_specs())


def get(name: str) -> FigureSpec:
    """The figure called ``name``; ``ValueError`` (one line, listing the names) otherwise."""
    specs = figure_specs()
    if name not in specs:
        raise ValueError(f"figures: unknown figure {name!r} (choose from {', '.join(specs)})")
    return specs[name]


def _as_results(results: Any) -> dict:
    return results if isinstance(results, dict) else load_results(results)


def make(name: str, results: Any) -> Any:
    """``get(name).make(results)``; ``results`` is a loaded dict or a path to load."""
    return get(name).make(_as_results(results))


def render(name: str, results: Any, out: str | Path,
           formats: Sequence[str] = ("pdf", "png")) -> list[Path]:
    """Make figure ``name`` and save ``out/<name>.<fmt>`` for each format; return the paths."""
    fig = make(name, results)
    try:
        return [save_figure(fig, Path(out) / f"{name}.{fmt}", fmt) for fmt in formats]
    finally:
        fig.clear()


def render_all(results: Any, out: str | Path, only: Iterable[str] | None = None,
               formats: Sequence[str] = ("pdf", "png")
               ) -> tuple[dict[str, list[Path]], dict[str, str]]:
    """Render every figure (or those in ``only``): ``(made, failed)``.

    ``made`` maps a name to its files; ``failed`` maps a name to the one-line reason
    (``ValueError`` from a figure whose data is missing).  Unknown names in ``only`` raise at
    once, before anything is drawn.
    """
    results = _as_results(results)
    todo = [get(n).name for n in only] if only else names()
    made: dict[str, list[Path]] = {}
    failed: dict[str, str] = {}
    for name in dict.fromkeys(todo):
        try:
            made[name] = render(name, results, out, formats)
        except ValueError as exc:
            failed[name] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return made, failed


def parse_formats(text: str) -> tuple[str, ...]:
    """``"pdf,png"`` → ``("pdf", "png")``; unknown formats raise ``ValueError``."""
    fmts = tuple(dict.fromkeys(f.strip().lower() for f in text.split(",") if f.strip()))
    bad = [f for f in fmts if f not in FORMATS]
    if bad or not fmts:
        raise ValueError(f"figures: --format takes a comma-separated list of "
                         f"{', '.join(FORMATS)}, got {text!r}")
    return fmts


def main_for(name: str, argv: list[str] | None = None) -> int:
    """Command line of one figure module: ``python -m specdef.figures.<module> [--results] [--out]``."""
    p = argparse.ArgumentParser(prog=f"python -m {get(name).module}",
                                description=get(name).caption)
    p.add_argument("--results", default=".", metavar="PATH",
                   help="results.json or the directory holding it (default: .)")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="output directory (default: <results dir>/figures)")
    p.add_argument("--format", default="pdf,png", help="comma-separated: pdf, png, svg")
    args = p.parse_args(argv)
    try:
        res = Path(args.results)
        out = Path(args.out) if args.out else (res if res.is_dir() else res.parent) / "figures"
        for path in render(name, load_results(res), out, parse_formats(args.format)):
            print(path)
    except ValueError as exc:
        print(str(exc).splitlines()[0], file=sys.stderr)
        return 2
    return 0
