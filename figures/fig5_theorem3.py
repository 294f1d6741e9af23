"""Theorem 3: the displayed and corrected lower bounds against σ_1(ABC), on random,
adversarial and real Hessian cross-blocks; points above the line y = x are counterexamples.

Reads the records of the ``theorem3`` check family (``specdef.validation.checks.theorem3``):

``theorem3.{displayed,corrected}.{random,adversarial}``
    one record each: ``empirical = σ_1(ABC)`` and ``proven`` = the bound at the search's most
    extreme instance (for the displayed form, the shrunk counterexample); ``data`` holds
    ``n_violations`` and ``params`` the search size (``n_triples`` or ``n_starts``).
``theorem3.real_hessian_blocks``
    one record per block: ``empirical = σ_1(block)``, ``proven`` = corrected bound,
    ``data["displayed_bound"]`` the displayed form on the same factorisation.
``theorem3.network_blocks.{displayed,corrected}`` (optional)
    one record per model family and block; their status, ``data["family_label"]`` and
    ``data["n_instances"]`` give the scope lines under the counts.
"""

from __future__ import annotations

import math
import sys

from ._registry import main_for
from ._results import MissingDataError, field, num, optional, records
from ._style import PALETTE, SINGLE, new_figure, styled

CAPTION = """Theorem 3 (the paper's Hessian lower bound) tested on matrix products ABC. Each point is
one instance: x = σ_1(ABC), its largest singular value; y = the lower bound the theorem claims.
Filled vermillion: the displayed form σ_{r1}(A) σ_1(B) σ_{r2}(C) cos θ_1 cos θ_2; hollow blue: the
corrected form σ_{r1}(A) σ_{r2}(C) [σ_1(B) cos θ_1 cos θ_2 − σ_2(B) sin θ_1 sin θ_2], with θ_1
(θ_2) the angle between B's top left (right) singular vector and the span of A's top-r1 right
(C's top-r2 left) singular vectors — our reading of the angles. Marker shape: where the instance
came from (random triples, the worst point of an adversarial search, or cross-blocks of actual
Hessians). A valid lower bound lies on or below the diagonal y = x; the shaded region above it
means the bound is violated, and circled points are counterexamples (the ratio bound/σ_1 is
printed). A counterexample with ABC = 0 has σ_1 = 0, off the log scale: it is drawn on the left
edge with its source's marker and labelled. The text lists how many of all triples (search
starts) violated each form; the lines under them give the scope of the per-sample Hessian
cross-block searches (check theorem3.network_blocks: deep linear nets, 2- and 3-layer
ReLU/GELU/tanh MLPs, SpecDef layers; Gauss–Newton and whole block; random + adversarial, with
the number of instances searched per block). The bound is defined per sample only: with n > 1
samples a block is a sum Σ_s A_s B C_s, not of the theorem's form. Conclusion: under this
reading of the angles the displayed form is refuted on general triples and on 3-layer MLP
Hessian blocks (ReLU, GELU and tanh); it holds on deep-linear, 2-layer MLP and SpecDef blocks
(provably; each record's detail gives the proof); the corrected form was never violated."""

NAME = "theorem3"
SEARCHES = ("random", "adversarial")
FORMS = ("displayed", "corrected")
CHECKS = tuple(f"theorem3.{f}.{s}" for f in FORMS for s in SEARCHES) + (
    "theorem3.real_hessian_blocks",)
SIZE = (SINGLE, 3.2)
COLOR = {"displayed": PALETTE["vermillion"], "corrected": PALETTE["blue"]}
MARKER = {"random": "o", "adversarial": "^", "real": "s"}
SOURCE = {"random": "random triples", "adversarial": "adversarial search",
          "real": "real Hessian blocks"}


def _value(rec: dict, key: str) -> float:
    if rec.get(key) is None:
        raise MissingDataError(f"figure {NAME!r}: check {rec.get('check')!r} has no {key!r} "
                               f"value (status {rec.get('status')})")
    return num(rec[key])


def points(results: dict) -> list[dict]:
    """Every plotted point: ``sigma1, bound, form, source, violates`` and the search counts."""
    pts = []
    for form in FORMS:
        for search in SEARCHES:
            for r in records(results, f"theorem3.{form}.{search}", NAME):
                s1, b = _value(r, "empirical"), _value(r, "proven")
                params = r.get("params") or {}
                total = params.get("n_triples", params.get("n_starts"))
                pts.append(dict(sigma1=s1, bound=b, form=form, source=search,
                                violates=r.get("status") in ("REFUTED", "VIOLATED"),
                                n_violations=num(field(r, "n_violations", NAME)),
                                n_total=num(total)))
    for r in records(results, "theorem3.real_hessian_blocks", NAME):
        s1, rtol = _value(r, "empirical"), num(r.get("rtol"))
        pts.append(dict(sigma1=s1, bound=_value(r, "proven"), form="corrected", source="real",
                        violates=r.get("status") in ("REFUTED", "VIOLATED")))
        db = num(field(r, "displayed_bound", NAME))
        holds = optional(r, "displayed_holds")  # the check's own verdict, when it gives one
        pts.append(dict(sigma1=s1, bound=db, form="displayed", source="real",
                        violates=(not holds) if isinstance(holds, bool) else
                        db > s1 * (1 + (rtol if math.isfinite(rtol) else 0.0))))
    return pts


def _summary(pts: list[dict]) -> str:
    lines = []
    for form in FORMS:
        parts = [f"{p['n_violations']:.0f}/{p['n_total']:.0f} "
                 + ("triples" if p["source"] == "random" else "starts")
                 for p in pts if p["form"] == form and "n_total" in p
                 and math.isfinite(p["n_total"])]
        if parts:
            lines.append(f"{form}: " + ", ".join(parts) + " violate")
    return "\n".join(lines)


def _families(labels: list[str]) -> str:
    """'ReLU-MLP (3 layers)', 'GELU-MLP (3 layers)' → '3-layer MLPs (ReLU/GELU)'; others kept."""
    import re

    groups: dict = {}
    out = []
    for lab in labels:
        m = re.fullmatch(r"(.+)-MLP \((\d+) layers\)", lab)
        if m:
            if m.group(2) not in groups:
                groups[m.group(2)] = []
                out.append(m.group(2))
            groups[m.group(2)].append(m.group(1))
        else:
            out.append(lab.replace(" W̃–C", ""))  # "SpecDef W̃–C" (the block) → "SpecDef"
    return ", ".join(f"{k}-layer MLPs ({'/'.join(groups[k])})" if k in groups else k
                     for k in out)


def _scope(results: dict) -> str:
    """The scope of the per-sample Hessian-block searches, from their records ('' if absent)."""
    import textwrap

    lines: list[str] = []
    for form in FORMS:
        recs = records(results, f"theorem3.network_blocks.{form}", NAME, required=False)
        if not recs:
            continue
        bad, good = [], []
        for r in recs:
            label = str(optional(r, "family_label", optional(r, "family", "?")))
            (bad if r.get("status") in ("REFUTED", "VIOLATED") else good).append(label)
        bad = list(dict.fromkeys(bad))
        good = [g for g in dict.fromkeys(good) if g not in bad]
        if not lines:
            n = min(num(optional(r, "n_instances")) for r in recs)
            lines.append(f"Hessian blocks, per sample (≥ {n:.0f} each):")
        text = (f"{form}: refuted on {_families(bad)}"
                + (f"; holds on {_families(good)}" if good else "")
                if bad else f"{form}: no counterexample")
        lines += textwrap.wrap(text, 40, break_on_hyphens=False)
    return "\n".join(lines)


@styled
def make(results: dict):
    """Log-log scatter of the bound against ``σ_1(ABC)``, colour = form, marker = source.

    Parameters
    ----------
    results : dict
        A loaded results file.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    A lower bound must lie on or below ``y = x``.  Circled points are counterexamples (status
    ``REFUTED``/``VIOLATED``, or a displayed bound above ``σ_1`` on a real block); the text
    gives how many of all searched triples (starts) violated each form.  Off-scale values are
    drawn on the edge with their source's marker and said so: ``σ_1(ABC) = 0`` (a
    counterexample with ``ABC = 0``) on the left edge (annotated), a bound ``≤ 0`` (the
    corrected form can be negative) on the bottom edge (listed in the legend).
    """
    pts = points(results)
    fig, ax = new_figure(*SIZE)
    vals = [v for p in pts for v in (p["sigma1"], p["bound"]) if math.isfinite(v) and v > 0]
    if not vals:
        raise MissingDataError(f"figure {NAME!r}: no positive σ_1 or bound to plot")
    lo, hi = min(vals) / 2.5, max(vals) * 2.5
    ax.fill_between([lo, hi], [lo, hi], [hi, hi], color=PALETTE["vermillion"], alpha=0.07,
                    linewidth=0, zorder=0)
    ax.plot([lo, hi], [lo, hi], color="0.2", linewidth=0.8, zorder=1)
    for p in pts:
        # off-scale values (σ_1 = 0, bound ≤ 0) sit on the edge, marker pointing off the axes
        x = p["sigma1"] if p["sigma1"] > 0 else lo
        y = p["bound"] if p["bound"] > 0 else lo
        mk = MARKER[p["source"]]  # off-scale points keep their source's marker
        hollow = p["form"] == "corrected"  # drawn on top, see-through: coincident points show
        ax.plot(x, y, linestyle="none", marker=mk, markersize=6 if hollow else 5,
                color=COLOR[p["form"]], markerfacecolor="none" if hollow else COLOR[p["form"]],
                markeredgewidth=1.1 if hollow else 1.0, zorder=3.5 if hollow else 3,
                clip_on=False)
        if p["violates"]:
            ax.plot(x, y, linestyle="none", marker="o", markersize=10, markerfacecolor="none",
                    markeredgecolor=PALETTE["black"], markeredgewidth=0.8, zorder=4,
                    clip_on=False)
            edge = p["sigma1"] <= 0
            what = ("$\\sigma_1(ABC) = 0$ (off the log scale,\ndrawn on the edge)" if edge else
                    rf"bound/$\sigma_1$ = {p['bound'] / p['sigma1']:.3g}")
            ax.annotate(what, (x, y), xytext=(6, 8) if edge else (8, 0),
                        textcoords="offset points", ha="left",
                        va="bottom" if edge else "center", fontsize=6, zorder=5,
                        bbox=dict(boxstyle="square,pad=0.1", fc="white", ec="none", alpha=0.8))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel(r"$\sigma_1(ABC)$ (largest singular value of the block)")
    ax.set_ylabel(r"Theorem-3 lower bound on $\sigma_1(ABC)$")
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Line2D([], [], linestyle="none", marker="s", color=COLOR[f],
                      markerfacecolor=COLOR[f] if f == "displayed" else "none",
                      label=f"{f} form") for f in FORMS]
    handles += [Line2D([], [], linestyle="none", marker=MARKER[s], color="0.35",
                       markerfacecolor="white", label=SOURCE[s]) for s in MARKER]
    handles.append(Line2D([], [], linestyle="none", marker="o", markersize=9,
                          markerfacecolor="none", markeredgecolor="k", label="counterexample"))
    handles.append(Patch(facecolor=PALETTE["vermillion"], alpha=0.15, edgecolor="0.2",
                         linewidth=0.6, label=r"bound $> \sigma_1$: violated"))
    ax.legend(handles=handles, loc="upper left", fontsize=6)
    scope = _scope(results)  # the per-sample Hessian-block searches, under the counts
    summary = "\n".join(t for t in (_summary(pts), scope) if t)
    if summary:
        y = 0.02 if scope else 0.14
        ax.text(0.98, y, summary, transform=ax.transAxes, ha="right", va="bottom",
                fontsize=5.8, color="0.25", linespacing=1.3)
    return fig


def main(argv: list[str] | None = None) -> int:
    """``python -m specdef.figures.fig5_theorem3 [--results PATH] [--out DIR]``."""
    return main_for(NAME, argv)


if __name__ == "__main__":
    sys.exit(main())
