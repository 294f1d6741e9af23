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
from ._style import (COLORS, DOUBLE, EXACT_COUNT, MARKERS, PALETTE, empirical_kw, new_figure,
                     styled)

CAPTION = """The attacker against SpecDef. (a) Gradient-descent steps to fine-tune a defended layer,
each divided by the steps the same task takes on the undefended model (given in the legend), so
1 (black line) is full recovery; every count is at the best step size of a sweep. Dotted grey with
crosses: the defended model without attack (C frozen, W̃ trained: steps grow like α²); models that
share one defended curve are drawn once and labelled with their letters — attacks (A), (B) and (D)
act on the same layer, so their curves coincide. Where the defended count exceeds 2⁵³ steps
(hollow grey triangles) no run or exact float64 count exists: the point is a lower bound drawn at
2⁵³. Solid lines with markers: after each attack; hollow markers: the attack hit its step cap (a
lower bound). (A) additive injection trains a parallel Δ in x ↦ C W̃ x + Δ x and reproduces
fine-tuning of the undefended model exactly, at any α; (B) the multiplicative bypass trains B in
x ↦ B C W̃ x, independent of α but at a rate set by W's own conditioning; (C) factorising W̃ does
not recover (a negative control); (D) fusion multiplies C into W̃ and undoes SpecDef. (b) Parameters
each attack adds, relative to the original model (negative: the model shrinks), and the kind of
recovery measured. Conclusion: an attacker who knows the defence restores the undefended rate at
a linear cost in model size (A), so convergence-rate control alone does not protect the weights."""

NAME = "attacks"
SIZE = (DOUBLE, 3.3)
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
    far = _draw_defended(ax, atk)
    for i, (cid, row) in enumerate(atk.items()):
        col, mk = COLORS[i % len(COLORS)], MARKERS[i % len(MARKERS)]
        size = max(2.5, 6.0 - 0.9 * i)
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
    handles += [Line2D([], [], color=DEFENDED, linestyle=":", marker="x", markersize=3.5,
                       label="defended, no attack (letters: which models)"),
                Line2D([], [], color=PALETTE["black"], linewidth=0.9, label="undefended (= 1)")]
    if any(c for row in atk.values() for c in row["capped"]):
        handles.append(Line2D([], [], color="0.3", marker="o", linestyle="none",
                              markerfacecolor="white", label="attack stopped at step cap"))
    if far:
        handles.append(Line2D([], [], color=DEFENDED, marker="^", linestyle="none",
                              markerfacecolor="white", markersize=5,
                              label=r"defended: more than $2^{53}$ steps (lower bound)"))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"inflation factor $\alpha$")
    ax.set_ylabel("GD steps / steps of the undefended model")
    ax.set_title("(a) fine-tuning cost before defence, after defence, after attack",
                 loc="left")
    fig.legend(handles=handles, loc="outside lower center", ncol=3, fontsize=6)

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


#: Colour of the defended (no attack) curves, shared by the models that have the same one.
DEFENDED = "0.35"


def _draw_defended(ax, atk: dict[str, dict]) -> bool:
    """The defended-model curves, one per distinct curve, labelled with the attacks' letters.

    Attacks measured on the same model share a defended curve; drawing it once per attack in
    the attack's colour would stack them and show only the last colour.  A defended count saved
    as ``null`` (more than 2⁵³ steps: no exact count) is drawn at 2⁵³ as a hollow triangle.
    Returns whether any such point was drawn.
    """
    curves: dict[str, list[tuple[float, float, bool]]] = {}
    far = False
    for cid, row in atk.items():
        ratio = _ratio(row["defended"], row["before"])
        ax.plot(row["alpha"], ratio, color=DEFENDED, linestyle=":", linewidth=1.0, marker="x",
                markersize=3.5, zorder=1.5)
        beyond = [(a, EXACT_COUNT / b) for a, d, b in zip(row["alpha"], row["defended"],
                                                          row["before"])
                  if not math.isfinite(d) and math.isfinite(b) and b > 0]
        if beyond:
            far = True
            ax.plot(*zip(*beyond), linestyle="none", marker="^", markersize=5,
                    markerfacecolor="white", markeredgecolor=DEFENDED, zorder=1.6)
        curves[cid] = [(a, r) for a, r in zip(row["alpha"], ratio) if math.isfinite(r)]
    groups: list[list[str]] = []  # curves that coincide on the plot share one label
    for cid, pts in curves.items():
        for g in groups:
            if _coincide(curves[g[0]], pts):
                g.append(cid)
                break
        else:
            groups.append([cid])
    for g in groups:
        if curves[g[0]]:
            a, r = curves[g[0]][-1]
            letters = "".join(LABELS.get(c, c).split(" ", 1)[0] for c in g)
            ax.annotate(letters, (a, r), xytext=(4, 0), textcoords="offset points",
                        ha="left", va="center", fontsize=6, color=DEFENDED)
    return far


def _coincide(p: list[tuple[float, float]], q: list[tuple[float, float]],
              decades: float = 0.05) -> bool:
    """Same α and values within ``decades`` (log10) at every point: one curve on the plot."""
    return len(p) == len(q) and all(
        math.isclose(a, b, rel_tol=1e-9) and abs(math.log10(r) - math.log10(s)) <= decades
        for (a, r), (b, s) in zip(p, q))


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
    """``python -m specdef.figures.fig4_attacks [--results PATH] [--out DIR]``."""
    return main_for(NAME, argv)


if __name__ == "__main__":
    sys.exit(main())
