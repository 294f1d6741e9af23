"""The shared figure style: widths, palette, markers, and byte-stable saving.

Everything visual that two figures share lives here or in ``specdef.mplstyle`` (fonts, line
widths, grid, colour cycle).  Matplotlib is imported lazily, inside the functions, so that
``import figures`` stays light; the Agg backend is selected before :mod:`matplotlib.pyplot` is
ever imported.
"""

from __future__ import annotations

import functools
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

__all__ = ["SINGLE", "DOUBLE", "DPI", "FORMATS", "PALETTE", "COLORS", "MARKERS", "STYLE_FILE",
           "style", "styled", "new_figure", "freeze_layout", "save_figure", "producer",
           "proven_kw", "empirical_kw", "slope_text"]

#: Single- and double-column widths of a two-column journal page (inches).
SINGLE, DOUBLE = 3.4, 7.0
#: Raster resolution of the PNG files (dots per inch).
DPI = 300
#: File formats :func:`save_figure` writes.
FORMATS = ("pdf", "png", "svg")
#: Okabe & Ito (2008) colour-blind-safe palette.
PALETTE = {"blue": "#0072B2", "vermillion": "#D55E00", "green": "#009E73",
           "orange": "#E69F00", "purple": "#CC79A7", "sky": "#56B4E9", "black": "#000000",
           "yellow": "#F0E442", "grey": "#7F7F7F"}
#: The cycle order (yellow last: it is faint on white).
COLORS = [PALETTE[k] for k in ("blue", "vermillion", "green", "orange", "purple", "sky",
                               "black")]
#: Marker cycle, so that series stay apart in greyscale print too.
MARKERS = ["o", "s", "^", "D", "v", "P", "X"]
STYLE_FILE = Path(__file__).with_name("specdef.mplstyle")


def _matplotlib() -> Any:
    import matplotlib

    if matplotlib.get_backend().lower() != "agg":
        matplotlib.use("Agg", force=True)
    return matplotlib


@contextmanager
def style() -> Iterator[None]:
    """Context in which the toolkit's rcParams (``specdef.mplstyle``) are active."""
    mpl = _matplotlib()
    with mpl.rc_context(fname=str(STYLE_FILE)):
        yield


def new_figure(width: float, height: float, nrows: int = 1, ncols: int = 1,
               **subplot_kw: Any) -> tuple[Any, Any]:
    """A figure of exactly ``width`` × ``height`` inches (call inside :func:`style`).

    Returns ``(fig, axes)`` as :func:`matplotlib.pyplot.subplots` would, with constrained
    layout (the saved size is the requested size: no ``bbox_inches="tight"``).  No pyplot: the
    figure is not registered with a GUI manager and is freed with its last reference.
    """
    _matplotlib()
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=True, **subplot_kw)
    return fig, axes


def styled(make: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator: run a figure's ``make`` inside :func:`style` (rcParams are read at creation)."""

    @functools.wraps(make)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with style():
            return make(*args, **kwargs)

    return wrapper


def producer() -> str:
    """``"specdef-toolkit <version> (matplotlib <version>)"`` without importing the toolkit."""
    mpl = _matplotlib()
    try:
        from importlib.metadata import version

        ours = version("specdef-toolkit")
    except Exception:  # not installed (a source checkout): still deterministic
        ours = "unknown"
    return f"specdef-toolkit {ours} (matplotlib {mpl.__version__})"


def _metadata(fmt: str) -> dict:
    if fmt == "pdf":
        return {"Creator": "specdef-toolkit figures", "Producer": producer(),
                "CreationDate": None, "ModDate": None}
    if fmt == "png":
        return {"Software": producer()}
    if fmt == "svg":
        return {"Creator": producer(), "Date": None}
    raise ValueError(f"figures: format must be one of {', '.join(FORMATS)}, got {fmt!r}")


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def freeze_layout(fig: Any) -> None:
    """Run the layout engine once, canonically, then fix every axes where it put it.

    Constrained layout starts from the previous positions, so each ``savefig`` would refine
    the layout a little further and the bytes of a file would depend on which formats were
    saved before it.  One layout pass without rendering, then no engine, makes every format
    share one geometry, whatever the order.
    """
    if getattr(fig, "_specdef_frozen", False) or fig.get_layout_engine() is None:
        return
    with _matplotlib().rc_context(fname=str(STYLE_FILE)):
        fig.draw_without_rendering()
    fig.set_layout_engine("none")
    fig._specdef_frozen = True  # noqa: SLF001  (our own marker attribute)


def save_figure(fig: Any, path: str | os.PathLike, fmt: str | None = None) -> Path:
    """Save ``fig`` to ``path`` byte-reproducibly (fixed metadata, atomic rename).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure; its size in inches is kept (no tight bounding box).
    path : path-like
        Target file; its parent is created.
    fmt : {"pdf", "png", "svg"}, optional
        Defaults to the suffix of ``path``.

    Notes
    -----
    Dates are dropped from the metadata, the producer string names only versions, SVG ids
    are salted with a constant (``svg.hashsalt``), PNGs are written at :data:`DPI` and the
    layout is computed once before the first save (:func:`freeze_layout`), so two runs with
    the same software give identical bytes whatever formats they write, in whatever order.
    """
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    meta = _metadata(fmt)
    mpl = _matplotlib()
    freeze_layout(fig)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh, mpl.rc_context(fname=str(STYLE_FILE)):
            fig.savefig(fh, format=fmt, dpi=DPI, metadata=meta)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a figure is for sharing
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def proven_kw(color: str, **kw: Any) -> dict:
    """Line style of a proven (theory) curve: dashed, thin, no markers."""
    return dict(color=color, linestyle=(0, (4, 2)), linewidth=1.0, marker="none", **kw)


def empirical_kw(color: str, marker: str = "o", *, filled: bool = True, **kw: Any) -> dict:
    """Marker style of empirical values: markers only, drawn above the proven curves."""
    return dict(color=color, linestyle="none", marker=marker, zorder=3,
                markerfacecolor=color if filled else "white", markeredgecolor=color, **kw)


def slope_text(fitted: float | None, proven: float | None) -> str:
    """``"slope 2.00 (proven 2)"`` for a legend or an annotation."""
    import math

    def g(v: float | None, digits: int) -> str:
        if v is None or not math.isfinite(v):
            return "n/a"
        return f"{v:.{digits}f}" if abs(v - round(v)) > 1e-9 or digits == 2 else f"{v:g}"

    out = f"slope {g(fitted, 2)}"
    if proven is not None and math.isfinite(proven):
        out += f" (proven {g(proven, 0)})"
    return out
