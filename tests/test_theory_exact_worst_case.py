"""``gd.smooth_convex.exact_worst_case``: the exact worst case of GD with step 1/L on L-smooth
convex functions, ``L R²/(4t+2)`` (Drori & Teboulle 2014), attained by a Huber function."""

from __future__ import annotations

import math

import pytest

from specdef import theory

TID = "gd.smooth_convex.exact_worst_case"


def huber_gd_gap(L: float, R: float, t: int, delta: float) -> float:
    """``f(x_t)`` for GD with step 1/L on ``L·h_δ`` from ``x_0 = R`` (plain Python floats)."""
    x = R
    for _ in range(t):
        x -= max(-delta, min(delta, x))  # gradient / L = clip(x, ±δ)
    a = abs(x)
    return L * (0.5 * a * a if a <= delta else delta * a - 0.5 * delta * delta)


@pytest.mark.parametrize("L, R, t", [(1.0, 1.0, 1), (2.0, 3.0, 4), (0.5, 2.0, 10), (3.0, 0.7, 50)])
def test_value_and_attainment(L, R, t):
    th = theory.get(TID)
    assert th.kind == "tight" and th.expectation == "holds"
    value = th.evaluate(L=L, t=t, R=R)
    assert math.isclose(value, L * R * R / (4 * t + 2), rel_tol=1e-14)
    delta = R / (2 * t + 1)
    assert math.isclose(huber_gd_gap(L, R, t, delta), value, rel_tol=1e-12)
    # other thresholds do no better: the Huber family peaks at δ = R/(2t+1)
    for f in (0.5, 0.9, 1.1, 1.5):
        assert huber_gd_gap(L, R, t, f * delta) < value
    # and it is about half of the textbook L R²/(2t)
    assert math.isclose(value / theory.get("gd.smooth_convex.sublinear").evaluate(L=L, t=t, R=R),
                        2 * t / (4 * t + 2), rel_tol=1e-12)


def test_derived_quantities():
    th = theory.get(TID)
    L, R, t = th.symbols["L"], th.symbols["R"], th.symbols["t"]
    vals = {L: 2, R: 3, t: 4}
    assert float(th.derived["huber_delta"].subs(vals)) == pytest.approx(3 / 9)
    assert float(th.derived["huber_final_point"].subs(vals)) == pytest.approx(3 * 5 / 9)
    assert float(th.derived["ratio_to_sublinear"].subs(vals)) == pytest.approx(8 / 18)
    truth = th.truth.subs(vals).subs(th.over[0].symbol, 3 / 9)
    assert float(truth) == pytest.approx(th.evaluate(L=2, t=4, R=3))
    assert float(th.over[0].upper.subs(vals)) == pytest.approx(3 / 5)
    assert float(th.over[0].lower) == 0.0


def test_proved_symbolically_and_a_wrong_bound_is_not():
    th = theory.get(TID)
    v = th.prove()
    assert v.status == "proved" and v.method == "sympy"
    for factor in (1.01, 0.99):
        wrong = th.with_bound(factor)
        assert wrong.prove().status != "proved"
