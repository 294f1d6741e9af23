"""Theorems of the number-format family, against rounding done by NumPy/ml_dtypes casts.

The simulations here use the dtypes directly (``x.astype(ml_dtypes.bfloat16)``), not
``numerics``, so that they stay independent of the kernels the checks compare with.
"""

from __future__ import annotations

import dataclasses
import math

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from specdef import theory
from specdef.theory import AssumptionError
from specdef.theory._precision import FORMAT_FACTS, paper_claim_formats

DTYPES = {"bfloat16": ml_dtypes.bfloat16, "float16": np.float16,
          "float8_e4m3fn": ml_dtypes.float8_e4m3fn, "float8_e5m2": ml_dtypes.float8_e5m2,
          "float32": np.float32}
IDS = ["precision.absorbed_update", "precision.stall_threshold.gd",
       "precision.stall_threshold.adam", "precision.gd_window.closing_alpha",
       "precision.gd_window.stable_rate_below"]


def fl(x: float, name: str) -> float:
    with np.errstate(over="ignore", invalid="ignore"):
        return float(np.array([x]).astype(DTYPES[name]).astype(np.float64)[0])


def first_change(w: float, step: float, name: str, lo: float = 0.0, hi: float = 1.0) -> float:
    """Smallest η with fl(w + η·step) ≠ w, by float64 bisection (60 halvings past hi)."""
    while fl(w + hi * step, name) == w:
        hi *= 2
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        lo, hi = (mid, hi) if fl(w + mid * step, name) == w else (lo, mid)
    return hi


# ----------------------------------------------------------------------------- registry, facts
def test_every_precision_theorem_is_registered_with_its_expectation():
    ids = set(theory.ids())
    assert set(IDS) <= ids
    for fmt, expect in paper_claim_formats().items():
        th = theory.get(f"precision.paper_claim.{fmt}")
        assert th.expectation == expect and th.kind == "upper"
    assert paper_claim_formats() == {"bfloat16": "refuted", "float16": "holds",
                                     "float8_e4m3fn": "holds", "float8_e5m2": "holds",
                                     "float32": "refuted"}


@pytest.mark.parametrize("name", sorted(DTYPES))
def test_format_facts_match_finfo(name):
    fi = ml_dtypes.finfo(DTYPES[name])
    p, u, N, S = FORMAT_FACTS[name]
    assert (p, float(u), float(N), float(S)) == (fi.nmant + 1, 2.0 ** -(fi.nmant + 1),
                                                 float(fi.smallest_normal),
                                                 float(fi.smallest_subnormal))


@pytest.mark.parametrize("theorem_id", IDS + [f"precision.paper_claim.{f}" for f in
                                              paper_claim_formats()])
def test_verdict_matches_expectation(theorem_id):
    th = theory.get(theorem_id)
    v = dataclasses.replace(th).prove()
    assert v.status == ("refuted" if th.expectation == "refuted" else "proved"), v
    if v.status == "refuted":
        assert th.violation(v.counterexample) > 0


@pytest.mark.parametrize("theorem_id", IDS)
@pytest.mark.parametrize("factor", [1.01, 0.99])
def test_planted_one_percent_error_is_refuted(theorem_id, factor):
    th = theory.get(theorem_id).with_bound(factor)
    v = th.prove()
    assert v.status == "refuted", v
    assert th.violation(v.counterexample) > 0.005


def test_planted_error_flips_a_holding_paper_claim():
    th = theory.get("precision.paper_claim.float16")
    assert th.with_bound(1e4).prove().status == "refuted"
    assert th.prove().status == "proved"


# ----------------------------------------------------------------------------- (a) absorption
@settings(max_examples=300)
@given(st.sampled_from(sorted(DTYPES)), st.data())
def test_absorbed_update_against_casts(name, data):
    p = FORMAT_FACTS[name][0]
    emin = int(math.log2(float(FORMAT_FACTS[name][2])))
    e = data.draw(st.integers(emin + 1, 6))
    M = data.draw(st.integers(2 ** (p - 1), 2**p - 1))
    w = M * 2.0 ** (e - p + 1)
    radius = theory.get("precision.absorbed_update").evaluate(p=p, e=e)
    up = first_change(w, 1.0, name)
    down = first_change(w, -1.0, name)
    assert up == pytest.approx(radius, rel=1e-12)  # upper side: ulp/2
    assert down == pytest.approx(radius / 2 if M == 2 ** (p - 1) else radius, rel=1e-12)
    assert (fl(w + radius, name) == w) == (M % 2 == 0)  # the tie goes to the even neighbour


# ----------------------------------------------------------------------------- (b) stall
@settings(max_examples=120)
@given(st.sampled_from(["bfloat16", "float16", "float32"]), st.integers(0, 12), st.data(),
       st.floats(1e-2, 1e2))
def test_gd_stall_threshold_against_casts(name, j, data, ratio):
    p = FORMAT_FACTS[name][0]
    M = data.draw(st.integers(2 ** (p - 1), 2**p - 1))
    f = M / 2 ** (p - 1)
    alpha = 2.0**j
    w_t = f * 2.0 ** data.draw(st.integers(-4, 4))  # the stored inflated entry
    g_t = w_t / (ratio * alpha**2)  # g̃ = g/α with |w|/|g| = ratio
    measured = first_change(w_t, g_t, name)  # the update moves away from zero
    th = theory.get("precision.stall_threshold.gd")
    rel = 2.0 ** (p - 50)  # w + η·g is formed in float64 before the cast
    assert measured == pytest.approx(th.evaluate(alpha=alpha, u=2.0**-p, ratio=ratio, f=f),
                                     rel=rel)


@settings(max_examples=120)
@given(st.sampled_from(["bfloat16", "float16", "float32"]), st.integers(0, 12), st.data(),
       st.floats(1e-3, 1e1), st.sampled_from([0.0, 1e-8, 1e-4]))
def test_adam_first_step_stall_threshold_against_casts(name, j, data, g, eps):
    p = FORMAT_FACTS[name][0]
    M = data.draw(st.integers(2 ** (p - 1), 2**p - 1))
    f = M / 2 ** (p - 1)
    alpha = 2.0**j
    E = data.draw(st.integers(-3, 3))
    w = f * 2.0**E / alpha  # α·w = 2^E f, stored exactly
    g_t = g / alpha
    d = g_t / (math.sqrt(g_t * g_t) + eps)  # m̂/(√v̂ + eps) at the first step
    measured = first_change(alpha * w, d, name)
    th = theory.get("precision.stall_threshold.adam")
    rel = 2.0 ** (p - 50)  # w + η·d is formed in float64 before the cast
    assert measured == pytest.approx(th.evaluate(alpha=alpha, u=2.0**-p, E=E, g=g, eps=eps),
                                     rel=rel)
    from specdef.theory import _precision as P

    in_w = th.derived["adam_in_w"].subs({P.alpha: alpha, P.u: 2.0**-p, P.g: g, P.eps: eps,
                                         P.w: w, P.f: f})
    assert float(in_w) == pytest.approx(measured, rel=rel)  # the same law written in w and f


def test_gd_threshold_grows_like_alpha_squared_adam_like_alpha():
    gd, adam = theory.get("precision.stall_threshold.gd"), theory.get(
        "precision.stall_threshold.adam")
    a1 = gd.evaluate(alpha=1, u=2.0**-8, ratio=1.0, f=1.25)
    a2 = gd.evaluate(alpha=2.0**10, u=2.0**-8, ratio=1.0, f=1.25)
    assert a2 / a1 == 2.0**20
    b1 = adam.evaluate(alpha=1, u=2.0**-8, E=0, g=1.0, eps=0.0)  # |w| = 1.25: binade 2^0
    b2 = adam.evaluate(alpha=2.0**10, u=2.0**-8, E=10, g=1.0, eps=0.0)  # α|w|: binade 2^10
    assert b2 / b1 == 2.0**10


def test_adam_theorem_refuses_a_fractional_exponent():
    with pytest.raises(AssumptionError) as info:
        theory.get("precision.stall_threshold.adam").evaluate(alpha=2, u=0.25, E=0.5, g=1,
                                                              eps=0)
    assert "E_integer" in str(info.value) and "\n" not in str(info.value)


def test_binade_fraction_out_of_range_is_refused():
    with pytest.raises(AssumptionError) as info:
        theory.get("precision.stall_threshold.gd").evaluate(alpha=2, u=0.25, ratio=1, f=2.5)
    assert "f_binade" in str(info.value)


# ----------------------------------------------------------------------------- (c) the window
@settings(max_examples=100)
@given(st.sampled_from(sorted(DTYPES)), st.floats(1e-2, 1e2), st.floats(1e-2, 1e2))
def test_window_closes_at_alpha_star(name, ratio, s):
    u = float(FORMAT_FACTS[name][1])
    a = theory.get("precision.gd_window.closing_alpha").evaluate(u=u, ratio=ratio, s=s)
    stable = lambda al: 2 / (al**2 * s)  # noqa: E731
    stall = lambda al: u * al**2 * ratio  # noqa: E731
    assert stable(a) == pytest.approx(stall(a), rel=1e-12)
    assert stable(0.99 * a) > stall(0.99 * a) and stable(1.01 * a) < stall(1.01 * a)


@pytest.mark.parametrize("name", sorted(DTYPES))
def test_stable_rate_turns_subnormal_then_zero_in_the_format(name):
    _, _, N, S = FORMAT_FACTS[name]
    th = theory.get("precision.gd_window.stable_rate_below")
    s = 0.5
    a_sub = th.evaluate(s=s, level=float(N))
    a_zero = th.evaluate(s=s, level=float(S) / 2)
    eta = lambda al: 2 / (al**2 * s)  # noqa: E731
    assert eta(a_sub * 0.999) > float(N) > eta(a_sub * 1.001)  # the real rate crosses N
    assert fl(eta(a_sub * 0.999), name) >= float(N) > fl(eta(a_sub * 1.5), name) > 0
    assert fl(eta(a_zero * 0.999), name) > 0 and fl(eta(a_zero * 1.001), name) == 0.0


@pytest.mark.parametrize("name", sorted(DTYPES))
def test_paper_claim_verdict_matches_a_direct_simulation(name):
    """At α = 10⁶ with the worst normalised layer, is the stable rate absorbed and subnormal?"""
    s = ratio = 1e-2
    alpha = 1e6
    u, N = float(FORMAT_FACTS[name][1]), float(FORMAT_FACTS[name][2])
    eta = 2 / (alpha**2 * s)
    absorbed = eta < u * alpha**2 * ratio / 2  # below the stall rate for every f in [1, 2)
    subnormal = fl(eta, name) < N
    holds = absorbed and subnormal
    assert holds == (paper_claim_formats()[name] == "holds")
