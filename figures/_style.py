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
           "proven_kw", "empirical_kw", "slope_text", "sci", "EXACT_COUNT", "clear_legend", "clear_legends",
           "beyond_exact", "exact_count_line"]

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


#: Iteration counts above this (2⁵³) are not exact float64 integers and no run reaches them:
#: they are closed-form values, drawn as such (:func:`beyond_exact`).
EXACT_COUNT = 2.0 ** 53


def sci(v: float, digits: int = 2) -> str:
    r"""``v`` as mathtext without the ``$``: ``1e-07`` → ``10^{-7}``, ``5e-4`` → ``5\cdot10^{-4}``.

    Numbers between 0.01 and 10⁴ are written plainly (``0.1``, ``1.5``); others as a power of
    ten, with a mantissa only when it is not 1.

    >>> sci(1e-07), sci(0.1), sci(5.011e-4), sci(2.0 ** 53)
    ('10^{-7}', '0.1', '5.01\\cdot10^{-4}', '9.01\\cdot10^{15}')
    """
    import math

    if not math.isfinite(v) or v == 0 or 1e-2 <= abs(v) < 1e4:
        return f"{v:g}"
    e = math.floor(math.log10(abs(v)))
    m = v / 10.0 ** e
    if abs(abs(m) - 1) < 10.0 ** -(digits + 1):
        return f"{'-' if m < 0 else ''}10^{{{e}}}"
    return f"{m:.{digits}f}".rstrip("0").rstrip(".") + rf"\cdot10^{{{e}}}"


def _data_points(ax: Any) -> list[tuple[float, float]]:
    """Every drawn data point of ``ax`` in axes fractions; lines are sampled between vertices.

    Lines and collections in data coordinates only (``axhline`` and shaded spans are
    background, not data).
    """
    import numpy as np

    to_axes = ax.transAxes.inverted()
    pts: list[np.ndarray] = []
    for line in ax.get_lines():
        if line.get_transform() != ax.transData or not line.get_visible():
            continue
        xy = np.asarray(line.get_xydata(), dtype=float)
        if xy.size == 0:
            continue
        disp = ax.transData.transform(xy)
        ok = np.all(np.isfinite(disp), axis=1)
        if line.get_linestyle() not in ("None", "none", "", " ") and len(disp) > 1:
            seg = []
            for a, b, oa, ob in zip(disp[:-1], disp[1:], ok[:-1], ok[1:]):
                if oa and ob:
                    seg.append(a + np.linspace(0.0, 1.0, 16)[:, None] * (b - a))
            if seg:
                pts.append(np.concatenate(seg))
        pts.append(disp[ok])
    for coll in ax.collections:
        if coll.get_offset_transform() == ax.transData and len(coll.get_offsets()):
            disp = ax.transData.transform(np.asarray(coll.get_offsets(), dtype=float))
            pts.append(disp[np.all(np.isfinite(disp), axis=1)])
    if not pts:
        return []
    frac = to_axes.transform(np.concatenate(pts))
    return [(float(x), float(y)) for x, y in frac]


def _legend_box(ax: Any, legend: Any) -> Any:
    return legend.get_window_extent().transformed(ax.transAxes.inverted())


def legend_overlaps(ax: Any, legend: Any | None = None, pad: float = 0.0) -> list:
    """The data points of ``ax`` (axes fractions) that lie under its legend (after a draw)."""
    legend = legend or ax.get_legend()
    if legend is None:
        return []
    box = _legend_box(ax, legend)
    return [(x, y) for x, y in _data_points(ax)
            if box.x0 - pad <= x <= box.x1 + pad and box.y0 - pad <= y <= box.y1 + pad
            and 0 <= x <= 1 and 0 <= y <= 1]


def clear_legend(ax: Any, legend: Any | None = None, pad: float = 0.03,
                 max_rounds: int = 5) -> None:
    """Widen the y range of ``ax`` on the legend's side until no data lies under the legend.

    A legend in the upper half raises the top limit, one in the lower half lowers the bottom
    limit (on the axis's own scale: decades on a log axis), so the legend sits in empty space
    and never hides a point or a proven curve.  The data itself is not moved.
    """
    legend = legend or ax.get_legend()
    if legend is None:
        return
    import math

    fig = ax.figure
    log = ax.get_yscale() == "log"
    fwd = math.log10 if log else float
    inv = (lambda v: 10.0 ** v) if log else float
    for _ in range(max_rounds):
        fig.draw_without_rendering()
        if not legend_overlaps(ax, legend, pad):
            return
        box = _legend_box(ax, legend)
        span = [y for x, y in _data_points(ax) if box.x0 - pad <= x <= box.x1 + pad
                and 0 <= y <= 1]
        lo, hi = (fwd(v) for v in ax.get_ylim())
        if box.y0 + box.y1 > 1:  # legend in the upper half: room above the data
            need = max(span)
            frac = max(box.y0 - 1.5 * pad, 0.2)
            new_hi = lo + (hi - lo) * need / frac
            lims = (lo, max(new_hi, hi))
        else:  # lower half: room below the data
            need = min(span)
            frac = min(box.y1 + 1.5 * pad, 0.8)
            new_lo = hi - (hi - lo) * (1 - need) / (1 - frac)
            lims = (min(new_lo, lo), hi)
        ax.set_ylim(*(inv(v) for v in lims))


def clear_legends(fig: Any, rounds: int = 4) -> None:
    """:func:`clear_legend` on every axes of ``fig`` that has a legend, repeated until a whole
    pass changes nothing (the layout moves axes when another panel's limits change).

    Call it last in ``make``, after titles and labels, which also move the axes.
    """
    for _ in range(rounds):
        fig.draw_without_rendering()
        todo = [ax for ax in fig.axes if ax.get_legend() is not None
                and legend_overlaps(ax, pad=0.01)]
        if not todo:
            return
        for ax in todo:
            clear_legend(ax)


def beyond_exact(ax: Any, x: list[float], y: list[float], color: str, marker: str = "^",
                 scale: float = 1.0) -> bool:
    """Mark counts above :data:`EXACT_COUNT` (2⁵³ steps): a dotted level line and hollow
    up-pointing markers over the points beyond it.

    ``y`` are the plotted values; ``scale`` converts them to step counts (``count = y·scale``;
    for a ratio to a baseline count, ``scale`` is that baseline).  Returns whether any point
    was beyond (the caller adds the legend entry).
    """
    import math

    xs = [a for a, b in zip(x, y) if math.isfinite(b) and b * scale >= EXACT_COUNT]
    ys = [b for b in y if math.isfinite(b) and b * scale >= EXACT_COUNT]
    if not xs:
        return False
    ax.plot(xs, ys, linestyle="none", marker=marker, markersize=6.5, markerfacecolor="white",
            markeredgecolor=color, markeredgewidth=0.9, zorder=3.6)
    return True


def exact_count_line(ax: Any, scale: float = 1.0) -> None:
    """The level of 2⁵³ steps (``EXACT_COUNT / scale`` in plotted units), dotted and labelled."""
    y = EXACT_COUNT / scale
    ax.axhline(y, color=PALETTE["grey"], linestyle=(0, (1, 2)), linewidth=0.7, zorder=1)
    ax.annotate(r"$2^{53}$ steps", (0.01, y), xycoords=("axes fraction", "data"),
                xytext=(0, 2), textcoords="offset points", ha="left", va="bottom", fontsize=6,
                color=PALETTE["grey"])
