"""Figures a reviewer would accept: captions, legends off the data, coinciding series told apart,
symbols in mathtext, counts beyond 2⁵³ marked.  Each test draws figures from the small results
fixture (or a copy edited to provoke the case) and inspects the matplotlib objects.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from specdef import figures
from specdef.figures._style import EXACT_COUNT, legend_overlaps, style

FIXTURE = Path(__file__).parent / "fixtures" / "results_small.json"
NAMES = figures.names()
OURS = ("gd_worst_case", "specdef_alpha", "second_order", "attacks", "theorem3",
        "function_preservation", "worst_case_value", "stall_scaling")


def doc() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def texts(fig) -> list[str]:
    """Every string drawn on ``fig``: texts, annotations, labels, titles, legend entries."""
    out = [t.get_text() for t in fig.texts]
    for leg in fig.legends:
        out += [t.get_text() for t in leg.get_texts()]
    for ax in fig.axes:
        out += [t.get_text() for t in ax.texts]
        out += [ax.get_xlabel(), ax.get_ylabel(), ax.get_title(loc="left")]
        if ax.get_legend() is not None:
            out += [t.get_text() for t in ax.get_legend().get_texts()]
    return out


@pytest.mark.parametrize("name", [n for n in OURS if n in NAMES])
def test_caption_says_what_is_shown_and_what_to_conclude(name):
    cap = figures.get(name).caption
    assert len(cap) > 400, cap
    assert "Conclusion:" in cap
    assert "THEORY" not in cap and "``" not in cap


@pytest.mark.parametrize("name", [n for n in OURS if n in NAMES])
def test_no_legend_covers_data(name):
    fig = figures.make(name, doc())
    with style():  # fonts and mathtext as when the figure is saved
        fig.draw_without_rendering()
        for ax in fig.axes:
            assert legend_overlaps(ax) == [], f"{name}: legend of {ax.get_title(loc='left')!r}"


@pytest.mark.parametrize("name", [n for n in OURS if n in NAMES])
def test_numbers_are_typeset_not_printed_in_e_notation(name):
    fig = figures.make(name, doc())
    bad = [t for t in texts(fig) if re.search(r"\de[+-]\d", t)]
    assert not bad, bad


def test_worst_case_value_without_pepit_has_no_pepit_legend_entry():
    d = doc()
    d["results"] = [r for r in d["results"] if r["check"] != "gd.worst_case_value.pepit"]
    fig = figures.make("worst_case_value", d)
    assert not [t for t in texts(fig) if "PEPit" in t]
    assert "PEPit" in figures.get("worst_case_value").caption
    fig = figures.make("worst_case_value", doc())
    assert "PEPit (SDP)" in texts(fig)


def test_small_mu_is_a_power_of_ten():
    d = doc()
    for r in d["results"]:
        if r["check"] == "gd.worst_case_value":
            (r.get("data") or r["params"])["mu"] = 1e-7
            break
    fig = figures.make("worst_case_value", d)
    assert any(r"\mu = 10^{-7}" in t for t in texts(fig))


def _marker_centres(ax) -> list[tuple[str, tuple[float, float]]]:
    out = []
    for line in ax.get_lines():
        if line.get_marker() in (None, "None", "none", "") or line.get_transform() != ax.transData:
            continue
        for xy in ax.transData.transform(line.get_xydata()):
            out.append((line.get_color(), (round(xy[0], 1), round(xy[1], 1))))
    return out


def test_second_order_equal_counts_are_set_side_by_side():
    fig = figures.make("second_order", doc())
    with style():
        fig.draw_without_rendering()
    for ax in fig.axes:
        seen: dict[tuple, set] = {}
        for colour, xy in _marker_centres(ax):
            seen.setdefault(xy, set()).add(colour)
        assert all(len(c) == 1 for c in seen.values()), "two series' markers coincide"
    assert any("Hessian-vector products" in fig.axes[0].get_ylabel() for _ in [0])


def test_attacks_defended_curves_are_neutral_and_labelled():
    fig = figures.make("attacks", doc())
    ax = fig.axes[0]
    dotted = [ln for ln in ax.get_lines() if ln.get_linestyle() == ":"]
    assert dotted and {ln.get_color() for ln in dotted} == {"0.35"}
    labels = [t.get_text() for t in ax.texts]
    assert any("(A)" in t and "(B)" in t and "(D)" in t for t in labels), labels


def test_attacks_defended_beyond_exact_counts_is_drawn_as_a_lower_bound():
    d = doc()
    for r in d["results"]:
        if r["check"] == "c3.fusion":
            r["data"]["steps_defended"][-1] = None
    fig = figures.make("attacks", d)
    tri = [ln for ln in fig.axes[0].get_lines() if ln.get_marker() == "^"]
    assert tri
    assert any("2^{53}" in t for t in texts(fig))


def test_counts_beyond_two_to_the_53_are_marked():
    d = doc()
    for r in d["results"]:
        if r["check"] == "c1.gd_steps.frozen":
            dat = r["data"]
            dat["alpha"] = list(dat["alpha"]) + [1e8]
            for k in ("steps_defended", "steps_theory", "steps_undefended"):
                dat[k] = list(dat[k]) + [dat[k][-1] if k == "steps_undefended" else 8e17]
    fig = figures.make("specdef_alpha", d)
    ax = fig.axes[2]
    assert any(ln.get_marker() == "^" and max(ln.get_ydata()) >= EXACT_COUNT
               for ln in ax.get_lines())
    assert any("2^{53}" in t for t in texts(fig))


def test_theorem3_off_scale_point_keeps_its_source_marker():
    fig = figures.make("theorem3", doc())
    ax = fig.axes[0]
    assert not [ln for ln in ax.get_lines() if ln.get_marker() in ("<", "v")]


def test_gd_worst_case_explains_a_different_start():
    d = copy.deepcopy(doc())
    for r in d["results"]:
        if r["check"] == "gd.contraction.worst_case":
            curves = r["data"]["curves"]
            for c in curves:
                c["start"] = "min"
            curves[-1]["start"] = "max"
    fig = figures.make("gd_worst_case", d)
    assert any("eigenvector" in t for t in texts(fig))
