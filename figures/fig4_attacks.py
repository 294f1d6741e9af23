"""The attacker: GD steps before defence, after defence and after each attack against α, with
the parameter overhead of each attack.

Reads checks ``c3.additive_injection``, ``c3.bypass``, ``c3.factorisation`` and ``c3.fusion``;
a record holds one α or an α sweep of one attack: ``{"alpha", "steps_before",
"steps_defended", "steps_attack", "overhead", "attack", "recovery"}`` (``overhead`` = added
parameters over the original model's, negative when the attack shrinks the model;
``recovery`` one of ``exact``, ``alpha-independent``, ``absent``; optional ``cap``: the step cap
of runs saved as ``null``).  Repeated records of one check are merged.
"""

from __future__ import annotations

import math
import sys

from ._registry import main_for
from ._results import field, first, num, records, sweep
from ._style import COLORS, DOUBLE, MARKERS, PALETTE, empirical_kw, new_figure, styled

NAME = "attacks"
SIZE = (DOUBLE, 2.8)
LABELS = {"c3.additive_injection": "(A) additive injection",
          "c3.bypass": "(B) multiplicative bypass", "c3.factorisation": "(C) factorisation",
          "c3.fusion": "(D) fusion"}
CHECKS = tuple(LABELS)
RECOVERY = {"exact": "exact", "alpha_independent": r"$\alpha$-independent",
            "alpha-independent": r"$\alpha$-independent", "absent": "none", "none": "none"}


def _attacks(results: dict) -> dict[str, dict]:
    """``{check id: {"alpha", "before", "defended", "attack", "capped", "overhead", ...}}``.

    Every check may use its own model (its own undefended step count); repeated records of a
    check are merged by :func:`sweep`.  A ``null`` attack count with a ``cap`` in the data is a
    run stopped at the cap: drawn at the cap as a lower bound.
    """
    out: dict[str, dict] = {}
    for cid in CHECKS:
        recs = records(results, cid, NAME)
        sw = sweep(recs, ["alpha", "steps_before", "steps_defended", "steps_attack"], NAME)
        cap = num(first(recs, "cap"))
        capped = [not math.isfinite(v) and math.isfinite(cap) for v in sw["steps_attack"]]
        out[cid] = dict(
            alpha=sw["alpha"], before=sw["steps_before"], defended=sw["steps_defended"],
            attack=[cap if c else v for v, c in zip(sw["steps_attack"], capped)],
            capped=capped,
            overhead=[num(field(r, "overhead", NAME)) for r in recs],
            recovery=list(dict.fromkeys(str(field(r, "recovery", NAME)) for r in recs)),
            name=str(field(recs[0], "attack", NAME)))
    return out


def _ratio(values: list[float], base: list[float]) -> list[float]:
    return [v / b if math.isfinite(v) and math.isfinite(b) and b > 0 and v > 0 else math.nan
            for v, b in zip(values, base)]


def _pct(v: float) -> str:
    return f"{100 * v:+.0f} %".replace("-", "\u2212") if math.isfinite(v) else "n/a"


@styled
def make(results: dict):
    """(a) GD steps relative to the undefended model against α; (b) parameter overhead.

    Parameters
    ----------
    results : dict
        A loaded results file.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Each attack is measured on its own model, so steps are shown relative to that model's
    undefended count (given in the legend): 1 is full recovery.  Dotted: the defended model
    without attack; solid with markers: after the attack (at the attacker's best step size);
    hollow markers: stopped at the step cap (a lower bound).  Additive injection trains ``Δ``
    in ``x ↦ C W̃ x + Δ x`` and reproduces fine-tuning of the undefended model exactly for any
    α; the bypass is α-independent but at another rate; factorisation does not recover (a
    negative control); fusion undoes SpecDef and shrinks the model.  A defended count saved as
    ``null`` (not computable at that α) is not drawn.
    """
    atk = _attacks(results)
    fig, (ax, bx) = new_figure(*SIZE, nrows=1, ncols=2, width_ratios=[1.9, 1.0])
    ax.axhline(1.0, color=PALETTE["black"], linewidth=0.9, zorder=1)
    for i, (cid, row) in enumerate(atk.items()):
        col, mk = COLORS[i % len(COLORS)], MARKERS[i % len(MARKERS)]
        size = max(2.5, 6.0 - 0.9 * i)
        ax.plot(row["alpha"], _ratio(row["defended"], row["before"]), color=col,
                linestyle=":", linewidth=1.0, marker="x", markersize=3.5)
        ratio = _ratio(row["attack"], row["before"])
        ax.plot(row["alpha"], ratio, color=col, linewidth=0.9, zorder=2)
        for capped in (False, True):
            pts = [(a, r) for a, r, c in zip(row["alpha"], ratio, row["capped"]) if c == capped]
            if pts:
                ax.plot(*zip(*pts), markersize=size, **empirical_kw(col, mk, filled=not capped))
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=COLORS[i % len(COLORS)], marker=MARKERS[i % len(MARKERS)],
                      linewidth=0.9, label=f"{LABELS.get(cid, cid)} "
                      f"({_fmt_steps(row['before'])} steps undefended)")
               for i, (cid, row) in enumerate(atk.items())]
    handles += [Line2D([], [], color="0.3", linestyle=":", marker="x", markersize=3.5,
                       label="defended, no attack"),
                Line2D([], [], color=PALETTE["black"], linewidth=0.9, label="undefended (= 1)")]
    if any(c for row in atk.values() for c in row["capped"]):
        handles.append(Line2D([], [], color="0.3", marker="o", linestyle="none",
                              markerfacecolor="white", label="attack stopped at step cap"))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"inflation factor $\alpha$")
    ax.set_ylabel("GD steps / steps of the undefended model")
    ax.set_title("(a) fine-tuning cost before defence, after defence, after attack",
                 loc="left")
    ax.legend(handles=handles, loc="center right", fontsize=6)

    names = list(atk)
    ys = list(range(len(names)))[::-1]
    all_ov = [v for cid in names for v in atk[cid]["overhead"] if math.isfinite(v)]
    for i, (cid, y) in enumerate(zip(names, ys)):
        ov = [v for v in atk[cid]["overhead"] if math.isfinite(v)]
        val = max(ov, key=abs) if ov else math.nan
        bx.barh(y, val if math.isfinite(val) else 0.0, color=COLORS[i % len(COLORS)],
                height=0.6)
        rec = ", ".join(RECOVERY.get(r, r) for r in atk[cid]["recovery"])
        bx.annotate(f"{_pct(val)}\nrecovery: {rec}", (max(val, 0.0) if math.isfinite(val)
                                                     else 0.0, y), xytext=(3, 0),
                    textcoords="offset points", va="center", ha="left", fontsize=6.5)
    bx.axvline(0, color="0.3", linewidth=0.6)
    bx.set_yticks(ys, [LABELS.get(cid, cid).split(" ", 1)[0] for cid in names])
    bx.set_xlabel(r"parameter overhead $|\mathrm{added}|/|\mathrm{original}|$")
    lo, hi = min([0.0] + all_ov), max([0.0] + all_ov)
    span = max(hi - lo, 1e-9)
    bx.set_xlim(lo - 0.08 * span, hi + 1.2 * span)
    bx.set_ylim(-0.6, len(names) - 0.4)
    bx.grid(axis="y", visible=False)
    bx.set_xticks(_nice_ticks(lo, hi))
    bx.xaxis.set_major_formatter(_percent_formatter())
    bx.set_title("(b) cost of each attack", loc="left")
    return fig


def _fmt_steps(before: list[float]) -> str:
    vals = sorted({v for v in before if math.isfinite(v)})
    if not vals:
        return "n/a"
    return f"{vals[0]:.0f}" if len(vals) == 1 else f"{vals[0]:.0f}–{vals[-1]:.0f}"


def _nice_ticks(lo: float, hi: float) -> list[float]:
    """Ticks covering the data range ``[lo, hi]`` only (the rest of the axis holds labels)."""
    from matplotlib.ticker import MaxNLocator

    return [t for t in MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi)
            if lo - 1e-9 <= t <= hi + 1e-9]


def _percent_formatter():
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _: f"{100 * v:.0f} %".replace("-", "\u2212"))


def main(argv: list[str] | None = None) -> int:
    """``python -m figures.fig4_attacks [--results PATH] [--out DIR]``."""
    return main_for(NAME, argv)


if __name__ == "__main__":
    sys.exit(main())
